#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes a rustbridge .rbp bundle (doc/bundle-format.md) around a plugin library.

Signing uses Debian's `minisign` tool with a password-less key
(`minisign -G -W -p k.pub -s k.key`). The --tamper/--raw-*/--zip-* options make
deliberately broken bundles for tests; the --zip-* ones rewrite the ZIP
layout itself (local headers, central directory, end records).

    rb-make-bundle.py OUT.rbp --library libfoo.so --name foo --version 1.0.0 \
        [--sign k.key --public-key k.pub]
"""
import argparse
import codecs
import hashlib
import json
import os
import stat
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def sign(key, path, comment, legacy):
    cmd = ['minisign', '-S', '-s', key, '-m', path, '-x', path + '.minisig', '-t', comment]
    if legacy:
        cmd.append('-l')
    subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    with open(path + '.minisig', 'rb') as f:
        return f.read()


LOCAL = struct.Struct('<IHHHHHIIIHH')            # local file header
CENTRAL = struct.Struct('<IHHHHHHIIIHHHHHII')    # central directory entry
END = struct.Struct('<IHHHHIIH')                 # end of central directory
END64 = struct.Struct('<IQHHIIQQQQ')             # ZIP64 end record
END64_LOC = struct.Struct('<IIQI')               # ZIP64 end locator


def read_zip(data):
    """The entries of a ZIP written by zipfile, as dicts of their fields."""
    end = data.rindex(b'PK\x05\x06')
    _, _, _, _, count, _, cd_offset, _ = END.unpack_from(data, end)
    entries, pos = [], cd_offset
    for _ in range(count):
        (_, made_by, version, flags, method, mtime, mdate, crc, csize, usize, nlen, xlen, clen,
         _, iattr, external, offset) = CENTRAL.unpack_from(data, pos)
        name = data[pos + CENTRAL.size:pos + CENTRAL.size + nlen]
        extra = data[pos + CENTRAL.size + nlen:pos + CENTRAL.size + nlen + xlen]
        pos += CENTRAL.size + nlen + xlen + clen
        lflags, lmethod, lnlen, lxlen = (LOCAL.unpack_from(data, offset)[i] for i in (2, 3, 9, 10))
        start = offset + LOCAL.size
        entries.append({
            'made_by': made_by, 'version': version, 'flags': flags, 'method': method,
            'mtime': mtime, 'mdate': mdate, 'crc': crc, 'csize': csize, 'usize': usize,
            'iattr': iattr, 'external': external, 'name': name, 'extra': extra,
            'offset': 0, 'zip64': False, 'disk': 0, 'hole': 0,
            'local_flags': lflags, 'local_method': lmethod, 'local_name': data[start:start + lnlen],
            'local_extra': data[start + lnlen:start + lnlen + lxlen],
            'data': data[start + lnlen + lxlen:start + lnlen + lxlen + csize],
        })
    return entries


# The fields --zip-end can change: end record, ZIP64 end record, ZIP64 locator.
END_FIELDS = {
    'end': ['sig', 'disk', 'cd_disk', 'disk_count', 'count', 'cd_size', 'cd_offset', 'comment_len'],
    'end64': ['sig', 'size', 'made_by', 'needed', 'disk', 'cd_disk', 'disk_count', 'count', 'cd_size',
              'cd_offset'],
    'loc': ['sig', 'disk', 'offset', 'disks'],
}


def edited(values, record, edits):
    """*values* of *record* with the --zip-end edits applied ("+N" adds)."""
    values = list(values)
    for field, value in edits.get(record, {}).items():
        i = END_FIELDS[record].index(field)
        values[i] = values[i] + int(value) if value.startswith(('+', '-')) else int(value, 0)
    return values


def zeros_crc(size):
    crc, block = 0, bytes(1 << 20)
    while size:
        n = min(size, len(block))
        crc = zlib.crc32(block[:n], crc)
        size -= n
    return crc


def write_zip(f, entries, prefix=b'', reverse_cd=False, zip64_end=False, count_delta=0,
              comment=b'', trailer=b'', end_edits=None):
    """Lays *entries* out again into the file *f*. An entry's 'offset' is
    added to its real local header offset in the central directory; 'zip64'
    moves its sizes and offset into a ZIP64 extra field; 'hole' is a size of
    zeros written as a hole (a sparse file), in place of 'data'."""
    end_edits = end_edits or {}
    cd = bytearray()
    places = []
    f.write(prefix)
    for e in entries:
        places.append(f.tell())
        size = e['hole'] or len(e['data'])
        f.write(LOCAL.pack(0x04034b50, e['version'], e['local_flags'], e['local_method'], e['mtime'],
                           e['mdate'], e['crc'], size, min(e['usize'], 0xffffffff), len(e['local_name']),
                           len(e['local_extra'])))
        f.write(e['local_name'] + e['local_extra'] + e['data'])
        if e['hole']:
            f.seek(e['hole'], os.SEEK_CUR)
    cd_offset = f.tell()
    order = list(zip(entries, places))
    for e, place in reversed(order) if reverse_cd else order:
        csize, usize, offset, extra = e['csize'], e['usize'], place + e['offset'], e['extra']
        if e['zip64']:
            extra = struct.pack('<HHQQQ', 1, 24, usize, csize, offset) + extra
            csize = usize = offset = 0xffffffff
        cd += CENTRAL.pack(0x02014b50, e['made_by'], e['version'], e['flags'], e['method'], e['mtime'],
                           e['mdate'], e['crc'], csize, usize, len(e['name']), len(extra), 0, e['disk'],
                           e['iattr'], e['external'], offset)
        cd += e['name'] + extra
    f.write(cd)
    cd_size = len(cd)
    if zip64_end:
        end64 = f.tell()
        f.write(END64.pack(*edited([0x06064b50, END64.size - 12, 45, 45, 0, 0, len(entries), len(entries),
                                    cd_size, cd_offset], 'end64', end_edits)))
        f.write(END64_LOC.pack(*edited([0x07064b50, 0, end64, 1], 'loc', end_edits)))
    count = len(entries) + count_delta
    f.write(END.pack(*edited([0x06054b50, 0, 0, count, count, cd_size, cd_offset, len(comment)], 'end',
                             end_edits)))
    f.write(comment + trailer)
    f.truncate()


def escaped(text):
    """Bytes from text with Python escapes (\\xff, \\x00, ...)."""
    return codecs.escape_decode(os.fsencode(text))[0]


def relayout(path, args):
    with open(path, 'rb') as f:
        entries = read_zip(f.read())
    by_name = {e['name']: e for e in entries}
    for edit in args.zip_edit:
        name, _, assignment = edit.partition(':')
        field, _, value = assignment.partition('=')
        e = by_name[name.encode()]
        if field == 'zip64':
            e['zip64'] = True
        elif field in ('name', 'local_name', 'local_extra', 'extra'):
            e[field] = escaped(value)
            if field == 'name':
                e['local_name'] = e['name']
        elif value.startswith(('+', '-')):
            e[field] += int(value)
        else:
            e[field] = int(value, 0)
            if field in ('flags', 'method'):
                e['local_' + field] = e[field]
    end_edits = {}
    for edit in args.zip_end:
        field, _, value = edit.partition('=')
        record, _, name = field.partition('.')
        if name not in END_FIELDS.get(record, []):
            sys.exit(f'--zip-end: no field {field}')
        end_edits.setdefault(record, {})[name] = value
    prefix = b'#!/bin/sh\n' * args.zip_prefix
    if args.zip_pad_to_cd:
        # A stored entry of zeros that ends where the central directory
        # should start, written as a hole: large offsets cost no disk.
        name = b'docs/padding.bin'
        start = len(prefix) + sum(LOCAL.size + len(e['local_name']) + len(e['local_extra']) + len(e['data'])
                                  for e in entries)
        size = args.zip_pad_to_cd - start - LOCAL.size - len(name)
        if size < 0:
            sys.exit('--zip-pad-to-cd: the entries already end after that offset')
        entries.append({
            'made_by': 0x031e, 'version': 20, 'flags': 0, 'method': 0, 'mtime': 0, 'mdate': 0x21,
            'crc': zeros_crc(size), 'csize': size, 'usize': size, 'iattr': 0, 'external': 0o100644 << 16,
            'name': name, 'extra': b'', 'offset': 0, 'zip64': False, 'disk': 0, 'hole': size,
            'local_flags': 0, 'local_method': 0, 'local_name': name, 'local_extra': b'', 'data': b''})
    with open(path, 'r+b') as f:
        write_zip(f, entries, prefix=prefix, reverse_cd=args.zip_reverse_cd,
                  zip64_end=args.zip64_end, count_delta=args.zip_count_delta,
                  comment=escaped(args.zip_comment), trailer=escaped(args.zip_trailer), end_edits=end_edits)


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
    p.add_argument('--tamper', choices=['library', 'manifest', 'trusted-comment', 'trusted-comment-space',
                                        'signature-trailing-line'])
    p.add_argument('--empty', action='append', default=[], metavar='NAME',
                   help='store entry NAME with no bytes (after signing)')
    p.add_argument('--crlf-signatures', action='store_true', help='CRLF line ends in .minisig files')
    p.add_argument('--raw-entry', action='append', default=[], metavar='NAME=PATH',
                   help='an entry with any name (unsafe names for tests)')
    p.add_argument('--symlink', action='append', default=[], metavar='NAME=TARGET')
    p.add_argument('--device', action='append', default=[], metavar='NAME',
                   help='a character-device entry')
    p.add_argument('--duplicate', action='append', default=[], metavar='NAME')
    p.add_argument('--many-entries', type=int, default=0)
    p.add_argument('--zip-edit', action='append', default=[], metavar='NAME:FIELD=VALUE',
                   help='change an entry: flags, method (both headers), csize, usize, offset, disk '
                   '(central directory; "+N" adds), local_flags, local_method, name (both headers), '
                   'local_name, extra, local_extra (escapes allowed), or "zip64" (ZIP64 extra field)')
    p.add_argument('--zip-end', action='append', default=[], metavar='RECORD.FIELD=VALUE',
                   help='change a field of the end records ("+N" adds): ' + '; '.join(
                       f'{r}.{{{",".join(fs)}}}' for r, fs in END_FIELDS.items()))
    p.add_argument('--zip-pad-to-cd', type=lambda v: int(v, 0), default=0, metavar='OFFSET',
                   help='a last stored entry of zeros (a hole) that puts the central directory at OFFSET')
    p.add_argument('--zip-prefix', type=int, default=0, metavar='N', help='N lines of shell script first')
    p.add_argument('--zip-reverse-cd', action='store_true', help='central directory in reverse order')
    p.add_argument('--zip64-end', action='store_true', help='ZIP64 end records too')
    p.add_argument('--zip-count-delta', type=int, default=0, help='added to the classic entry count')
    p.add_argument('--zip-comment', default='', help='archive comment (escapes allowed)')
    p.add_argument('--zip-trailer', default='', help='bytes after the comment (escapes allowed)')
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
                       'git': {'commit': 'abc123', 'branch': 'main', 'tag': 'v1.0.0', 'dirty': False},
                       'custom': {'ci_job': '42'}},
        'sbom': {'cyclonedx': 'sbom/sbom.cdx.json'},
        'api': {'min_rustbridge_version': '0.7.0', 'transports': ['json', 'cstruct'],
                'messages': [{'type_tag': 'echo', 'description': 'Echo', 'message_id': 1,
                              'transport': 'json', 'request_schema': 'echo',
                              'cstruct_request': 'FixtureRawEchoRequest',
                              'cstruct_response': 'FixtureRawEchoResponse'},
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
        elif args.tamper in ('trusted-comment', 'trusted-comment-space', 'signature-trailing-line'):
            def edit(d):
                lines = d.split(b'\n')
                if args.tamper == 'trusted-comment':
                    lines[2] = b'trusted comment: edited by someone else'
                elif args.tamper == 'trusted-comment-space':
                    lines[2] += b' '  # white space is signed too
                else:
                    lines.insert(4, b'a fifth line')  # after the global signature
                return b'\n'.join(lines)
            entries = [(n, edit(d) if n.endswith('.minisig') else d) for n, d in entries]
        missing = set(args.empty) - {n for n, _ in entries}
        if missing:
            sys.exit(f'--empty: no entry {", ".join(sorted(missing))}')
        entries = [(n, b'' if n in args.empty else d) for n, d in entries]
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
        if any(getattr(args, a) for a in vars(args) if a.startswith('zip')):
            relayout(tmp_out, args)
        os.replace(tmp_out, args.out)


if __name__ == '__main__':
    sys.exit(main())
