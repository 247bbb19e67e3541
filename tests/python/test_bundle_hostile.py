# SPDX-License-Identifier: LGPL-2.1-or-later
"""Hostile bundles, each opened three ways: from its path,
rb_bundle_new_for_bytes() and rb_bundle_new_for_resource() (a GResource
compiled at test time). Every case must fail with the same error domain
and code, and a message naming the problem, whatever the constructor."""
import shutil

import pytest
from gi.repository import GLib, RustBridge

from test_bundle import OPENERS, make_bundle, make_key

pytestmark = pytest.mark.skipif(shutil.which('minisign') is None, reason='minisign not installed')

E = RustBridge.BundleError

# Refused when opened: (case, rb-make-bundle.py options, code, message needle).
# The needle None: the code is all the C tests check either.
OPEN_CASES = [
    # entries that would escape or are not regular files
    ('dotdot', ['--raw-entry', '../escaped.txt=@EVIL@'], E.UNSAFE_PATH, '../escaped.txt'),
    ('nested-dotdot', ['--raw-entry', 'docs/../../escaped.txt=@EVIL@'], E.UNSAFE_PATH, 'escaped.txt'),
    ('absolute', ['--raw-entry', '/tmp/escaped.txt=@EVIL@'], E.UNSAFE_PATH, '/tmp/escaped.txt'),
    ('backslash', ['--raw-entry', 'docs\\..\\escaped.txt=@EVIL@'], E.UNSAFE_PATH, 'escaped.txt'),
    ('colon', ['--raw-entry', 'C:/escaped.txt=@EVIL@'], E.UNSAFE_PATH, 'C:/escaped.txt'),
    ('symlink', ['--symlink', 'docs/link=/etc/passwd'], E.UNSAFE_PATH, 'docs/link'),
    ('device', ['--device', 'docs/null'], E.UNSAFE_PATH, 'docs/null'),
    ('duplicate', ['--duplicate', 'manifest.json'], E.INVALID_ARCHIVE, 'manifest.json'),
    # a ZIP structure that lies
    ('overlap', ['--zip-edit', 'manifest.json:csize=+64'], E.INVALID_ARCHIVE, 'overlap'),
    ('local-name', ['--zip-edit', 'manifest.json:local_name=manifest.jsoN'], E.INVALID_ARCHIVE,
     'the local header of “manifest.json” names another file'),
    ('local-offset', ['--zip-edit', 'manifest.json:offset=+1'], E.INVALID_ARCHIVE,
     '“manifest.json” has no local header at offset 1'),
    ('prefix', ['--zip-prefix', '2'], E.INVALID_ARCHIVE, 'bytes of data before the first entry'),
    ('encrypted', ['--zip-edit', 'manifest.json:flags=1'], E.INVALID_ARCHIVE,
     '“manifest.json” is encrypted'),
    ('encrypted-local', ['--zip-edit', 'sbom/sbom.cdx.json:local_flags=0x41'], E.INVALID_ARCHIVE,
     '“sbom/sbom.cdx.json” is encrypted'),
    ('method', ['--zip-edit', 'sbom/sbom.cdx.json:method=12'], E.INVALID_ARCHIVE,
     '“sbom/sbom.cdx.json” uses compression method 12'),
    ('local-method', ['--zip-edit', 'sbom/sbom.cdx.json:local_method=0'], E.INVALID_ARCHIVE,
     'the local header of “sbom/sbom.cdx.json” does not match'),
    ('not-utf8', ['--zip-edit', 'sbom/sbom.cdx.json:name=sbom/\\xff.json'], E.UNSAFE_PATH,
     'the name is not UTF-8'),
    ('nul', ['--zip-edit', 'sbom/sbom.cdx.json:name=sbom/a\\x00.json'], E.UNSAFE_PATH,
     'the name has a NUL byte'),
    ('control', ['--zip-edit', 'sbom/sbom.cdx.json:name=sbom/a\\x1bb.json'], E.UNSAFE_PATH,
     'the name has a control character'),
    ('dir-no-slash', ['--zip-edit', 'sbom/sbom.cdx.json:external=0x10'], E.INVALID_ARCHIVE,
     'directory entry “sbom/sbom.cdx.json” has no trailing slash'),
    ('dir-data', ['--zip-edit', 'sbom/sbom.cdx.json:name=sbom/'], E.UNSAFE_PATH,
     'unsafe entry “sbom/”: a directory with data'),
    ('local-xl', ['--zip-edit',
                  'sbom/sbom.cdx.json:local_extra=xl\\x07\\x00\\x05\\x00\\x03\\x00\\x00\\xff\\xa1'],
     E.UNSAFE_PATH, '“sbom/sbom.cdx.json”: not a regular file or directory'),
    ('count-less', ['--zip-count-delta', '-1'], E.INVALID_ARCHIVE, 'entries the end record counts'),
    ('count-more', ['--zip-count-delta', '1'], E.INVALID_ARCHIVE, 'truncated central directory'),
    ('cd-small', ['--zip-count-delta', '1000'], E.INVALID_ARCHIVE,
     'the central directory is too small for'),
    ('trailer', ['--zip-trailer', 'junk after the archive'], E.INVALID_ARCHIVE,
     'no end of central directory record at the end'),
    ('comment-sig', ['--zip-comment', 'PK\\x05\\x06 followed by more than twenty-two bytes'],
     E.INVALID_ARCHIVE, 'the archive comment holds an end of central directory signature'),
    ('comment-long', ['--zip-comment', 'c' * 5000], E.INVALID_ARCHIVE,
     'the archive comment has 5000 bytes (at most 4096 are allowed)'),
    ('stored-size', ['--zip-edit', 'sbom/sbom.cdx.json:method=0',
                     '--zip-edit', 'sbom/sbom.cdx.json:usize=+1'], E.INVALID_ARCHIVE,
     '“sbom/sbom.cdx.json” is stored, but its stored and declared sizes differ'),
    ('zip64-disagree', ['--zip64-end', '--zip-count-delta', '-1'], E.INVALID_ARCHIVE,
     'the ZIP64 and the classic end of central directory records disagree'),
    ('zip64-locator', ['--zip64-end', '--zip-end', 'loc.offset=+1'], E.INVALID_ARCHIVE,
     'bad ZIP64 end of central directory locator'),
    ('zip64-record-sig', ['--zip64-end', '--zip-end', 'end64.sig=0x06064b51'], E.INVALID_ARCHIVE,
     'bad ZIP64 end of central directory record'),
    ('zip64-no-record', ['--zip-end', 'end.cd_offset=0xffffffff'], E.INVALID_ARCHIVE,
     'ZIP64 values without a ZIP64 end of central directory record'),
    ('volumes', ['--zip-end', 'end.disk=1'], E.INVALID_ARCHIVE,
     'multi-volume archives are not supported'),
    ('volumes-entry', ['--zip-edit', 'sbom/sbom.cdx.json:disk=1'], E.INVALID_ARCHIVE,
     '“sbom/sbom.cdx.json” is on another volume'),
    ('cd-offset', ['--zip-end', 'end.cd_offset=-1'], E.INVALID_ARCHIVE,
     'the central directory is not where the end record says'),
    ('into-cd', ['--zip-edit', 'sbom/sbom.cdx.json:csize=+1000'], E.INVALID_ARCHIVE,
     'the data of “sbom/sbom.cdx.json” runs into the central directory'),
    ('extra-long', ['--zip-edit', 'manifest.json:extra=UT\\x09\\x00\\x01'], E.INVALID_ARCHIVE,
     '“manifest.json” has a malformed extra field'),
    # manifests
    ('manifest-not-json', ['--raw-manifest', '@NOT_JSON@'], E.INVALID_MANIFEST, 'manifest.json'),
    ('manifest-huge', ['--raw-manifest', '@HUGE@'], E.TOO_LARGE, 'manifest.json'),
    ('manifest-empty', ['--empty', 'manifest.json'], E.INVALID_MANIFEST, 'manifest.json'),
    ('bundle-version', ['--set', 'bundle_version="2.0"'], E.UNSUPPORTED_VERSION, '2.0'),
    ('plugin-name-type', ['--set', 'plugin={"name":5,"version":"1"}'], E.INVALID_MANIFEST,
     'plugin.name'),
    ('platforms-type', ['--set', 'platforms=[]'], E.INVALID_MANIFEST, 'platforms'),
    ('library-path', ['--set', 'platforms={"linux-x86_64":{"variants":{"release":{"library":'
                      '"../x.so","checksum":"sha256:' + '0' * 64 + '"}}}}'],
     E.INVALID_MANIFEST, 'unsafe library path'),
    ('api-message-id', ['--set', 'api={"messages":[{"type_tag":"a","message_id":"one"}]}'],
     E.INVALID_MANIFEST, 'api.messages[0].message_id'),
    ('notices-type', ['--set', 'notices=5'], E.INVALID_MANIFEST, None),
]

# Opened, then refused by verify() and load_plugin() in STRICT mode with the
# publisher's key: (case, options, code, needle).
LOAD_CASES = [
    ('tampered-library', ['--tamper', 'library'], E.CHECKSUM_MISMATCH, 'librbfixture.so'),
    ('tampered-manifest', ['--tamper', 'manifest'], E.SIGNATURE_INVALID, 'manifest.json.minisig'),
    ('tampered-comment', ['--tamper', 'trusted-comment'], E.SIGNATURE_INVALID, 'trusted comment'),
    ('comment-space', ['--tamper', 'trusted-comment-space'], E.SIGNATURE_INVALID, None),
    ('signature-trailing-line', ['--tamper', 'signature-trailing-line'], E.SIGNATURE_INVALID,
     'after the global signature'),
    ('unsigned-library', ['--unsigned-library'], E.SIGNATURE_MISSING, 'librbfixture.so'),
    ('empty-manifest-signature', ['--empty', 'manifest.json.minisig'], E.SIGNATURE_INVALID,
     '“manifest.json.minisig”: the file is empty'),
    ('empty-library', ['--empty', 'lib/@PLATFORM@/release/librbfixture.so'], E.CHECKSUM_MISMATCH,
     'librbfixture.so'),
    ('legacy-tampered', ['--legacy-signatures', '--tamper', 'manifest'], E.SIGNATURE_INVALID, None),
]


@pytest.fixture(scope='module')
def workdir(tmp_path_factory):
    d = tmp_path_factory.mktemp('hostile')
    (d / 'evil.txt').write_text('evil')
    (d / 'not-json.txt').write_text('{this is not json')
    (d / 'huge.json').write_text('{"bundle_version":"1.0","padding":"' + 'x' * (2 << 20) + '"}')
    key, pub = make_key(d, 'publisher')
    _, stranger = make_key(d, 'stranger')
    return d, key, pub, stranger


def hostile(workdir, name, options, signed):
    """Makes (once per module) the bundle of case @name."""
    d, key, pub, _ = workdir
    out = d / f'{name}.rbp'
    if not out.exists():
        subst = {'@EVIL@': d / 'evil.txt', '@NOT_JSON@': d / 'not-json.txt',
                 '@HUGE@': d / 'huge.json', '@PLATFORM@': RustBridge.Bundle.get_current_platform()}
        args = []
        for a in options:
            for token, value in subst.items():
                a = a.replace(token, str(value))
            args.append(a)
        make_bundle(out, key if signed else None, pub if signed else None, *args)
    return out


@pytest.fixture(params=sorted(OPENERS))
def opener(request):
    return request.param


def expect(info, code, needle):
    error = info.value
    assert error.matches(RustBridge.bundle_error_quark(), code), (error.code, error.message)
    assert error.domain == 'rb-bundle-error-quark'
    if needle is not None:
        assert needle in error.message


@pytest.mark.parametrize('name,options,code,needle', OPEN_CASES, ids=[c[0] for c in OPEN_CASES])
def test_refused_at_open(workdir, opener, name, options, code, needle):
    path = hostile(workdir, name, options, signed=False)
    with pytest.raises(GLib.Error) as info:
        OPENERS[opener](path)
    expect(info, code, needle)
    # Nothing of the archive was written anywhere.
    assert not (workdir[0].parent / 'escaped.txt').exists()
    assert not GLib.file_test('/tmp/escaped.txt', GLib.FileTest.EXISTS)


@pytest.mark.parametrize('name,options,code,needle', LOAD_CASES, ids=[c[0] for c in LOAD_CASES])
def test_refused_at_verify_and_load(workdir, opener, name, options, code, needle):
    _, _, pub, _ = workdir
    path = hostile(workdir, name, options, signed=True)
    bundle = OPENERS[opener](path)
    bundle.props.public_key = pub.read_text()
    with pytest.raises(GLib.Error) as info:
        bundle.verify(None, None)
    expect(info, code, needle)
    with pytest.raises(GLib.Error) as info:
        bundle.load_plugin(None, None, None)
    expect(info, code, needle)


def test_the_same_bundle_loads_with_every_constructor(workdir, opener):
    """The control case: the cases above fail for what they break."""
    _, _, pub, _ = workdir
    bundle = OPENERS[opener](hostile(workdir, 'good', [], signed=True))
    bundle.props.public_key = pub.read_text()
    assert bundle.verify(None, None)
    with bundle.load_plugin(None, None, None) as plugin:
        assert plugin.call_obj('math.add', {'a': 2, 'b': 2}) == {'result': 4}


def test_stranger_key(workdir, opener):
    _, _, _, stranger = workdir
    bundle = OPENERS[opener](hostile(workdir, 'good', [], signed=True))
    bundle.props.public_key = stranger.read_text()
    with pytest.raises(GLib.Error) as info:
        bundle.load_plugin(None, None, None)
    expect(info, E.SIGNATURE_INVALID, None)
