#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a rustbridge .rbp bundle (spec/BUNDLE.md) around a plugin library.

Signing uses Debian's `minisign` tool with a password-less key
(`minisign -G -W -p k.pub -s k.key`). The --tamper/--raw-* options make
deliberately broken bundles for tests.

    rb-make-bundle.py OUT.rbp --library libfoo.so --name foo --version 1.0.0 \
        [--sign k.key --public-key k.pub]
"""
import argparse
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import zipfile


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sign(key, path, comment, legacy):
    cmd = ['minisign', '-S', '-s', key, '-m', path, '-x', path + '.minisig', '-t', comment]
    if legacy:
        cmd.append('-l')
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    with open(path + '.minisig', 'rb') as f:
        return f.read()


def public_key_line(path):
    with open(path, encoding='ascii') as f:
        lines = [l.strip() for l in f if l.strip() and not l.startswith('untrusted comment:')]
    return lines[0]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('out')
    p.add_argument('--library', required=True, help='the release library')
    p.add_argument('--name', default='test-plugin')
    p.add_argument('--version', default='1.0.0')
    p.add_argument('--platform', default='linux-x86_64')
    p.add_argument('--variant', action='append', default=[], metavar='NAME=PATH',
                   help='another variant of the same platform')
    p.add_argument('--default-variant')
    p.add_argument('--legacy-platform', action='store_true', help='library/checksum on the platform')
    p.add_argument('--bare-checksum', action='store_true', help='checksums without "sha256:"')
    p.add_argument('--schema', action='append', default=[], metavar='NAME=PATH')
    p.add_argument('--file', action='append', default=[], metavar='NAME=PATH', help='extra entry')
    p.add_argument('--sign', metavar='KEY', help='minisign secret key (password-less)')
    p.add_argument('--public-key', metavar='PUB', help='embed this key in the manifest')
    p.add_argument('--legacy-signatures', action='store_true')
    p.add_argument('--unsigned-library', action='store_true', help='sign only the manifest')
    p.add_argument('--trusted-comment', default='rustbridge-glib test bundle')
    p.add_argument('--set', action='append', default=[], metavar='KEY=JSON',
                   help='set a top-level manifest member (JSON value; "null" removes it)')
    p.add_argument('--raw-manifest', metavar='PATH', help='use this file as manifest.json, unchecked')
    p.add_argument('--tamper', choices=['library', 'manifest', 'trusted-comment', 'trusted-comment-space'])
    p.add_argument('--crlf-signatures', action='store_true', help='CRLF line ends in .minisig files')
    p.add_argument('--raw-entry', action='append', default=[], metavar='NAME=PATH',
                   help='an entry with any name (unsafe names for tests)')
    p.add_argument('--symlink', action='append', default=[], metavar='NAME=TARGET')
    p.add_argument('--device', action='append', default=[], metavar='NAME',
                   help='a character-device entry')
    p.add_argument('--duplicate', action='append', default=[], metavar='NAME')
    p.add_argument('--many-entries', type=int, default=0)
    args = p.parse_args()

    def checksum(data):
        return sha256(data) if args.bare_checksum else 'sha256:' + sha256(data)

    variants = {'release': args.library}
    for v in args.variant:
        name, path = v.split('=', 1)
        variants[name] = path

    entries = []  # (name, bytes)
    platform = {}
    libs = {}
    for name, path in variants.items():
        with open(path, 'rb') as f:
            data = f.read()
        entry = f'lib/{args.platform}/{name}/{os.path.basename(path)}'
        libs[entry] = data
        platform.setdefault('variants', {})[name] = {'library': entry, 'checksum': checksum(data),
                                                     'build': {'profile': name}}
    if args.legacy_platform:
        release = platform['variants']['release']
        platform = {'library': release['library'], 'checksum': release['checksum']}
    if args.default_variant:
        platform['default_variant'] = args.default_variant

    manifest = {
        'bundle_version': '1.0',
        'plugin': {'name': args.name, 'version': args.version, 'description': 'A test plugin',
                   'license': 'MIT', 'repository': 'https://example.invalid/repo',
                   'authors': ['Ada', 'Grace']},
        'platforms': {args.platform: platform},
        'build_info': {'built_by': 'rb-make-bundle', 'built_at': '2026-11-24T00:00:00Z',
                       'host': 'x86_64-unknown-linux-gnu', 'compiler': 'rustc',
                       'rustbridge_version': '0.7.0',
                       'git': {'commit': 'abc123', 'branch': 'main', 'dirty': False},
                       'custom': {'ci_job': '42'}},
        'sbom': {'cyclonedx': 'sbom/sbom.cdx.json'},
        'api': {'min_rustbridge_version': '0.7.0', 'transports': ['json', 'cstruct'],
                'messages': [{'type_tag': 'echo', 'description': 'Echo'},
                             {'type_tag': 'math.add', 'description': 'Add'}]},
    }
    if args.public_key:
        manifest['public_key'] = public_key_line(args.public_key)
    schemas = {}
    for s in args.schema:
        name, path = s.split('=', 1)
        with open(path, 'rb') as f:
            data = f.read()
        entry = f'schema/{os.path.basename(path)}'
        entries.append((entry, data))
        # The official tool writes schema checksums bare.
        schemas[name] = {'path': entry, 'checksum': sha256(data), 'format': 'json-schema'}
    if schemas:
        manifest['schemas'] = schemas
    for s in args.set:
        key, value = s.split('=', 1)
        value = json.loads(value)
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value

    with tempfile.TemporaryDirectory() as tmp:
        if args.raw_manifest:
            with open(args.raw_manifest, 'rb') as f:
                manifest_bytes = f.read()
        else:
            manifest_bytes = json.dumps(manifest, indent=2).encode()
        mpath = os.path.join(tmp, 'manifest.json')
        with open(mpath, 'wb') as f:
            f.write(manifest_bytes)
        entries.insert(0, ('manifest.json', manifest_bytes))
        if args.sign:
            entries.insert(1, ('manifest.json.minisig',
                               sign(args.sign, mpath, args.trusted_comment, args.legacy_signatures)))
        for entry, data in libs.items():
            entries.append((entry, data))
            if args.sign and not args.unsigned_library:
                lpath = os.path.join(tmp, os.path.basename(entry))
                with open(lpath, 'wb') as f:
                    f.write(data)
                entries.append((entry + '.minisig',
                                sign(args.sign, lpath, args.trusted_comment, args.legacy_signatures)))
                os.unlink(lpath)
                os.unlink(lpath + '.minisig')
        entries.append(('sbom/sbom.cdx.json', b'{"bomFormat":"CycloneDX"}'))
        for f_ in args.file:
            name, path = f_.split('=', 1)
            with open(path, 'rb') as f:
                entries.append((name, f.read()))

        if args.tamper == 'library':
            entries = [(n, (d[:-1] + bytes([d[-1] ^ 1])) if n in libs else d) for n, d in entries]
        elif args.tamper == 'manifest':
            entries = [(n, d.replace(b'A test plugin', b'A evil plugin') if n == 'manifest.json' else d)
                       for n, d in entries]
        elif args.tamper in ('trusted-comment', 'trusted-comment-space'):
            def edit(d):
                lines = d.split(b'\n')
                if args.tamper == 'trusted-comment':
                    lines[2] = b'trusted comment: edited by someone else'
                else:
                    lines[2] += b' '  # white space is signed too
                return b'\n'.join(lines)
            entries = [(n, edit(d) if n.endswith('.minisig') else d) for n, d in entries]
        if args.crlf_signatures:
            entries = [(n, d.replace(b'\n', b'\r\n') if n.endswith('.minisig') else d) for n, d in entries]

        tmp_out = args.out + '.tmp'
        with zipfile.ZipFile(tmp_out, 'w', zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                z.writestr(name, data)
            for r in args.raw_entry:
                name, path = r.split('=', 1)
                with open(path, 'rb') as f:
                    z.writestr(zipfile.ZipInfo(name), f.read())
            for s in args.symlink:
                name, target = s.split('=', 1)
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, target)
            for name in args.device:
                info = zipfile.ZipInfo(name)
                info.create_system = 3
                info.external_attr = (stat.S_IFCHR | 0o644) << 16
                z.writestr(info, b'')
            for name in args.duplicate:
                import warnings
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore')
                    z.writestr(name, b'duplicate')
            for i in range(args.many_entries):
                z.writestr(f'docs/filler-{i}.txt', b'x')
        os.replace(tmp_out, args.out)


if __name__ == '__main__':
    sys.exit(main())
