#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

    /usr/bin/python3 tests/fuzz/gen-corpus.py          (needs `minisign`)

Each seed is small: a valid example of what the target parses, or an
edge case that the library must refuse cleanly. The seeds that are signed
use a key made for the run, so running the script again changes them.
Known crashes do not belong here (see crashers/ and README.md).
"""
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import warnings
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'corpus')
SEP = b'\0\0RB\0'   # FUZZ_SEPARATOR in fuzz-util.h

# As in fuzz-manifest.c.
LIB_NAME = 'lib/linux-x86_64/release/libfuzz.so'
LIB_CONTENT = b'not really an ELF file\n'
SCHEMA_NAME = 'schema/messages.json'
SCHEMA_CONTENT = b'{"type":"object"}\n'


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


class Key:
    def __init__(self, tmp, name='k'):
        self.tmp = tmp
        self.pub = os.path.join(tmp, name + '.pub')
        self.sec = os.path.join(tmp, name + '.key')
        subprocess.run(['minisign', '-G', '-W', '-p', self.pub, '-s', self.sec], check=True,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        with open(self.pub, 'rb') as f:
            self.pub_file = f.read()
        self.line = self.pub_file.splitlines()[1].decode()

    def sign(self, data, comment='fuzz seed', legacy=False):
        path = os.path.join(self.tmp, 'signed')
        with open(path, 'wb') as f:
            f.write(data)
        cmd = ['minisign', '-S', '-s', self.sec, '-m', path, '-x', path + '.minisig', '-t', comment]
        if legacy:
            cmd.append('-l')
        subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        with open(path + '.minisig', 'rb') as f:
            return f.read()


# ---- json-validate and config -------------------------------------------

def json_seeds():
    seeds = {
        'object': b'{"a":[1,-2.5e+3,true,false,null],"b":{"c":"\\u00e9\\n"}}',
        'string-escapes': b'"\\"\\\\\\/\\b\\f\\n\\r\\t\\ud83d\\ude00"',
        'numbers': b'[0,-0,1.0e-5,123456789012345678901234567890,1E400]',
        'white-space': b' \t\r\n[ ] \n',
        'utf8': '["é€😀"]'.encode(),
        'lone-surrogate': b'"\\ud800"',
        'bad-escape': b'"\\x"',
        'trailing-comma': b'[1,]',
        'two-values': b'{} {}',
        'nested': b'[' * 40 + b']' * 40,
        'control-char': b'"\x01"',
        'invalid-utf8': b'"\xc3\x28"',
    }
    for name, data in seeds.items():
        write('json-validate', name, data)

    configs = {
        'empty': b'{}',
        'full': json.dumps({
            'log_level': 'debug', 'worker_threads': 4, 'max_concurrent_ops': 100,
            'shutdown_timeout_ms': 5000, 'max_queued_calls': 10,
            'data': {'key': [1, 2, {'x': None}]}, 'init_params': {'key': 'v', 'n': 1.5},
        }).encode(),
        'log-level-int': b'{"log_level":3}',
        'log-level-bad': b'{"log_level":"loud"}',
        'negative': b'{"worker_threads":-1}',
        'huge': b'{"max_concurrent_ops":99999999999999999999}',
        'float': b'{"shutdown_timeout_ms":1.5}',
        'wrong-type': b'{"data":[1]}',
        'nulls': b'{"log_level":null,"data":null,"init_params":null}',
        'not-object': b'[1,2]',
        'string': b'"text"',
        'duplicate': b'{"worker_threads":1,"worker_threads":2}',
        'escaped-key': b'{"da\\u0074a":{"k\\u00e9":true}}',
        'invalid': b'{"a":',
    }
    for name, data in configs.items():
        write('config', name, data)


# ---- envelope -------------------------------------------------------------

RAW, EXPLICIT, NULL_DATA, JSON_NODE, NULL_ERROR = 1, 2, 4, 8, 16


def envelope(flags, code, data, len_cap=None):
    out = bytes([flags]) + struct.pack('<I', code)
    if len_cap is not None:
        out += struct.pack('<HH', *len_cap)
    return out + data


def envelope_seeds():
    ok = b'{"status":"success","payload":{"greeting":"hello","n":[1,2.5,true,null]}}'
    err = b'{"status":"error","error_code":7,"error_message":"Handler failed: nope"}'
    seeds = {
        'success': envelope(0, 0, ok),
        'success-json-node': envelope(JSON_NODE, 0, ok),
        'success-scalar': envelope(0, 0, b'{"status":"success","payload":42}'),
        'success-slow-order': envelope(0, 0, b'{ "payload" : [1], "status" : "success" }'),
        'success-no-payload': envelope(0, 0, b'{"status":"success"}'),
        'success-bad-payload': envelope(0, 0, b'{"status":"success","payload":[1,}'),
        'success-status-error': envelope(0, 0, err),
        'empty': envelope(0, 0, b''),
        'error-envelope': envelope(0, 7, err),
        'error-code-mismatch': envelope(0, 3, err),
        'error-unknown-code': envelope(0, 999, b'{"status":"error","error_code":999,"error_message":"x"}'),
        'error-code-negative': envelope(0, 1, b'{"status":"error","error_code":-5}'),
        'error-plain-text': envelope(0, 5, b'plugin exploded'),
        'error-invalid-utf8': envelope(0, 2, b'bad \xff\xfe text'),
        'error-empty': envelope(0, 11, b''),
        'error-nul': envelope(0, 4, b'before\0after'),
        'explicit-len-less': envelope(EXPLICIT, 0, ok + b'garbage', (len(ok), len(ok) + 7)),
        'explicit-equal': envelope(EXPLICIT, 0, ok, (len(ok), len(ok))),
        'null-data': envelope(NULL_DATA, 0, b'', None),
        'null-data-error': envelope(NULL_DATA | EXPLICIT, 9, b'', (10, 0)),
        'raw-success': envelope(RAW, 0, bytes(range(16))),
        'raw-empty': envelope(RAW, 0, b''),
        'raw-error-text': envelope(RAW, 6, b'raw handler failed\0'),
        'raw-error-envelope': envelope(RAW, 7, err + b'\0'),
        'raw-explicit': envelope(RAW | EXPLICIT, 0, bytes(24), (24, 32)),
        'null-gerror': envelope(NULL_ERROR, 7, err),
        'null-gerror-raw': envelope(NULL_ERROR | RAW, 6, b'failed\0'),
    }
    for name, data in seeds.items():
        write('envelope', name, data)


# ---- minisign -------------------------------------------------------------

def minisign_seeds(key, other):
    data = b'the signed file\n'
    sig = key.sign(data)
    legacy = key.sign(data, legacy=True)
    seeds = {
        'valid-prehashed': key.pub_file + SEP + sig + SEP + data,
        'valid-legacy': key.pub_file + SEP + legacy + SEP + data,
        'key-line-only': key.line.encode() + SEP + sig + SEP + data,
        'wrong-data': key.pub_file + SEP + sig + SEP + b'another file\n',
        'other-key': other.pub_file + SEP + sig + SEP + data,
        'crlf': key.pub_file + SEP + sig.replace(b'\n', b'\r\n') + SEP + data,
        'edited-comment': key.pub_file + SEP + sig.replace(b'trusted comment: ', b'trusted comment: X') + SEP + data,
        'three-lines': key.pub_file + SEP + b'\n'.join(sig.split(b'\n')[:3]) + SEP + data,
        'bad-base64': key.pub_file + SEP + sig.replace(sig.split(b'\n')[1], b'!!!!') + SEP + data,
        'empty-data': key.pub_file + SEP + key.sign(b'') + SEP,
        'key-only': key.pub_file,
    }
    for name, d in seeds.items():
        write('minisign', name, d)


# ---- archive --------------------------------------------------------------

def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, 'w', compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.external_attr = (0o40755 if name.endswith('/') else 0o100644) << 16
            z.writestr(info, data)
    return buf.getvalue()


def make_bundle(tmp, key, extra=()):
    lib = os.path.join(tmp, 'libfuzz.so')
    with open(lib, 'wb') as f:
        f.write(LIB_CONTENT)
    out = os.path.join(tmp, 'b.rbp')
    cmd = [sys.executable, os.path.join(TOP, 'tests', 'bundle', 'rb-make-bundle.py'), out, '--library', lib,
           '--name', 'fuzz', '--version', '1.0.0']
    if key is not None:
        cmd += ['--sign', key.sec, '--public-key', key.pub]
    subprocess.run(cmd + list(extra), check=True, stdout=subprocess.DEVNULL)
    with open(out, 'rb') as f:
        return f.read()


def archive_seeds(tmp, key):
    seeds = {
        'stored': zip_bytes([('a.txt', b'hello\n'), ('dir/b.bin', bytes(range(64)))], zipfile.ZIP_STORED),
        'deflated': zip_bytes([('a.txt', b'hello ' * 50), ('docs/', b''), ('docs/r.md', b'# r\n')]),
        'utf8-name': zip_bytes([('docs/é.txt', b'x')]),
        'empty-entry': zip_bytes([('empty', b'')], zipfile.ZIP_STORED),
        'unsafe-name': zip_bytes([('../evil', b'x')], zipfile.ZIP_STORED),
        'duplicate': zip_bytes([('a', b'1'), ('a', b'2')], zipfile.ZIP_STORED),
        'no-entries': zip_bytes([]),
        'bundle-signed': make_bundle(tmp, key),
        'bundle-unsigned': make_bundle(tmp, None),
        'bundle-zip64-end': make_bundle(tmp, None, ['--zip64-end']),
        'truncated': zip_bytes([('a.txt', b'hello\n')])[:-10],
    }
    for name, d in seeds.items():
        write('archive', name, d)


# ---- manifest -------------------------------------------------------------

def manifest_seeds(tmp, key, other):
    lib_sum = 'sha256:' + hashlib.sha256(LIB_CONTENT).hexdigest()
    schema_sum = hashlib.sha256(SCHEMA_CONTENT).hexdigest()
    minimal = {
        'bundle_version': '1.0',
        'plugin': {'name': 'fuzz', 'version': '1.0.0'},
        'platforms': {'linux-x86_64': {'variants': {'release': {'library': LIB_NAME, 'checksum': lib_sum}}}},
    }
    full = {
        'bundle_version': '1.0',
        'plugin': {'name': 'fuzz', 'version': '1.2.3', 'description': 'seed', 'license': 'MIT',
                   'repository': 'https://example.invalid/fuzz', 'authors': ['A <a@example.invalid>', 'B']},
        'platforms': {
            'linux-x86_64': {'variants': {
                'release': {'library': LIB_NAME, 'checksum': lib_sum, 'build': {'profile': 'release'}},
                'debug': {'library': LIB_NAME, 'checksum': lib_sum.upper().replace('SHA256', 'sha256')},
            }, 'default_variant': 'debug'},
            'darwin-aarch64': {'variants': {'release': {'library': 'lib/darwin-aarch64/release/libfuzz.dylib',
                                                        'checksum': 'sha256:' + '0' * 64}}},
        },
        'public_key': key.line,
        'build_info': {'built_by': 'seed', 'built_at': '2024-01-02T03:04:05Z', 'host': 'x86_64-linux',
                       'compiler': 'rustc 1.70', 'rustbridge_version': '0.7.0',
                       'git': {'commit': 'abc123', 'branch': 'main', 'tag': 'v1.2.3', 'dirty': False},
                       'custom': {'k': 'v'}},
        'sbom': {'cyclonedx': 'sbom/bom.cdx.json', 'spdx': 'sbom/bom.spdx.json'},
        'schemas': {'messages': {'path': SCHEMA_NAME, 'checksum': schema_sum, 'format': 'json-schema',
                                 'description': 'messages'}},
        'notices': 'legal/NOTICES', 'license_file': 'legal/LICENSE',
        'api': {'min_rustbridge_version': '0.7.0', 'transports': ['json', 'cstruct'],
                'messages': [
                    {'type_tag': 'greet', 'message_id': 1, 'description': 'hello', 'transport': 'json',
                     'request_schema': '#/greet/req', 'response_schema': '#/greet/resp'},
                    {'type_tag': 'add', 'message_id': 2, 'transport': 'cstruct',
                     'cstruct_request': 'AddRequest', 'cstruct_response': 'AddResponse'},
                ]},
        'bridges': {'jni': {}},
    }
    legacy = {
        'bundle_version': '1.0',
        'plugin': {'name': 'fuzz', 'version': '1.0.0'},
        'platforms': {'linux-x86_64': {'library': LIB_NAME, 'checksum': lib_sum[7:]}},
    }
    lib_sig = key.sign(LIB_CONTENT)
    seeds = {}
    for name, m in (('minimal', minimal), ('full', full), ('legacy-platform', legacy)):
        text = json.dumps(m, indent=1).encode()
        seeds[name + '-unsigned'] = text
        seeds[name + '-signed'] = text + SEP + key.sign(text) + SEP + lib_sig + SEP + key.line.encode()
    text = json.dumps(full).encode()
    seeds['full-signed-embedded-key'] = text + SEP + key.sign(text) + SEP + lib_sig
    seeds['full-legacy-signatures'] = (text + SEP + key.sign(text, legacy=True) + SEP +
                                       key.sign(LIB_CONTENT, legacy=True))
    seeds['full-other-key'] = text + SEP + key.sign(text) + SEP + lib_sig + SEP + other.line.encode()
    seeds['full-unsigned-library'] = text + SEP + key.sign(text)
    seeds['bad-checksum'] = json.dumps(minimal).replace(lib_sum[-8:], '00000000').encode()
    seeds['bundle-version-2'] = json.dumps(dict(minimal, bundle_version='2.0')).encode()
    seeds['no-platforms'] = json.dumps(dict(minimal, platforms={})).encode()
    seeds['not-object'] = b'[]'
    seeds['invalid-json'] = b'{"bundle_version":'
    seeds['unsafe-library-path'] = json.dumps(minimal).replace(LIB_NAME, '../../etc/passwd').encode()
    seeds['raw-bundle'] = make_bundle(tmp, key, ['--schema', 'messages=' + os.path.join(tmp, 'libfuzz.so')])
    for name, d in seeds.items():
        write('manifest', name, d)


def main():
    warnings.filterwarnings('ignore', 'Duplicate name')
    if shutil.which('minisign') is None:
        sys.exit('gen-corpus.py needs minisign (apt install minisign)')
    for t in ('json-validate', 'config', 'envelope', 'minisign', 'archive', 'manifest'):
        shutil.rmtree(os.path.join(CORPUS, t), ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        key = Key(tmp, 'k')
        other = Key(tmp, 'other')
        json_seeds()
        envelope_seeds()
        minisign_seeds(key, other)
        archive_seeds(tmp, key)
        manifest_seeds(tmp, key, other)


if __name__ == '__main__':
    main()
