# SPDX-License-Identifier: LGPL-2.1-or-later
"""RbBundle through introspection: open, inspect, verify, extract and load
(bundles are made with tests/bundle/rb-make-bundle.py and minisign)."""
import json
import os
import shutil
import subprocess

import pytest
from gi.repository import Gio, GLib, RustBridge

from conftest import iterate_until

TOOL = os.environ.get('RB_MAKE_BUNDLE') or os.path.join(
    os.path.dirname(__file__), '..', 'bundle', 'rb-make-bundle.py')

pytestmark = pytest.mark.skipif(shutil.which('minisign') is None, reason='minisign not installed')

BundleError = RustBridge.BundleError


def make_key(d, name):
    subprocess.run(['minisign', '-G', '-W', '-p', f'{name}.pub', '-s', f'{name}.key'], cwd=d,
                   check=True, stdout=subprocess.DEVNULL)
    return d / f'{name}.key', d / f'{name}.pub'


def make_bundle(out, key=None, pub=None, *extra):
    args = ['/usr/bin/python3', TOOL, str(out), '--library', os.environ['RB_FIXTURE_PLUGIN'],
            '--platform', RustBridge.Bundle.get_current_platform(),
            '--name', 'py-plugin', '--version', '2.3.4']
    if key:
        args += ['--sign', str(key), '--public-key', str(pub)]
    subprocess.run(args + list(extra), check=True)
    return out


@pytest.fixture(scope='module')
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp('keys')
    return make_key(d, 'good'), make_key(d, 'other')


@pytest.fixture(scope='module')
def signed(tmp_path_factory, keys):
    (key, pub), _ = keys
    d = tmp_path_factory.mktemp('bundle')
    schema = d / 'echo.schema.json'
    schema.write_text('{"type":"object"}')
    out = make_bundle(d / 'plugin.rbp', key, pub, '--schema', f'echo={schema}')
    return out, pub.read_text()


_resource_count = [0]


def open_from_resource(path):
    """Compiles a GResource holding a copy of @path, registers it and opens
    the bundle through rb_bundle_new_for_resource()."""
    import tempfile
    _resource_count[0] += 1
    prefix = f'/org/rustbridge/PyTest/{_resource_count[0]}'
    with tempfile.TemporaryDirectory() as d:
        shutil.copy(path, os.path.join(d, 'bundle.rbp'))
        with open(os.path.join(d, 'r.gresource.xml'), 'w') as f:
            f.write(f'<gresources><gresource prefix="{prefix}"><file>bundle.rbp</file>'
                    '</gresource></gresources>')
        subprocess.run(['glib-compile-resources', '--sourcedir', d, '--target',
                        os.path.join(d, 'r.gresource'), os.path.join(d, 'r.gresource.xml')],
                       check=True)
        resource = Gio.Resource.load(os.path.join(d, 'r.gresource'))
    resource._register()
    try:
        return RustBridge.Bundle.new_for_resource(f'{prefix}/bundle.rbp')
    finally:
        resource._unregister()


OPENERS = {
    'path': lambda path: RustBridge.Bundle.new_for_path(str(path)),
    'bytes': lambda path: RustBridge.Bundle.new_for_bytes(GLib.Bytes.new(open(path, 'rb').read())),
    'resource': open_from_resource,
}


@pytest.fixture(params=sorted(OPENERS))
def open_bundle(request):
    """The hostile cases run against every constructor."""
    return OPENERS[request.param]


def trusted_key(pub_text):
    return [line for line in pub_text.splitlines() if line and not line.startswith('untrusted')][0]


def test_open_and_inspect(signed):
    path, _ = signed
    bundle = RustBridge.Bundle.new_for_path(str(path))
    assert isinstance(bundle, RustBridge.Bundle)
    assert bundle.props.name == 'py-plugin' == bundle.get_name()
    assert bundle.get_version() == '2.3.4'
    assert bundle.props.description == 'A test plugin'
    assert bundle.props.license == 'MIT'
    assert list(bundle.props.authors) == ['Ada', 'Grace'] == bundle.get_authors()
    assert bundle.props.bundle_version == '1.0'
    assert bundle.list_platforms() == [RustBridge.Bundle.get_current_platform()]
    assert bundle.list_variants(None) == ['release']
    assert bundle.dup_default_variant(None) == 'release' == bundle.get_default_variant(None)
    assert bundle.get_manifest_json() == bundle.dup_manifest_json()
    assert 'manifest.json' in bundle.list_files()
    assert [m.get_type_tag() for m in bundle.list_api_messages()] == ['echo', 'math.add']
    assert bundle.list_schemas() == ['echo']
    assert bundle.props.verify_mode == RustBridge.VerifyMode.STRICT
    assert bundle.get_git_commit() == 'abc123'
    assert bundle.get_build_info_string('custom.ci_job') == '42'
    assert bundle.get_sbom_path('cyclonedx') == 'sbom/sbom.cdx.json'
    assert bundle.get_sbom_path('spdx') is None
    assert json.loads(bundle.dup_manifest_json())['plugin']['name'] == 'py-plugin'
    assert bundle.get_file().get_path() == str(path)


@pytest.mark.parametrize('opener', ['bytes', 'resource'])
def test_load_from_memory_writes_no_files(signed, tmp_path, opener, monkeypatch):
    path, pub = signed
    bundle = OPENERS[opener](path)
    bundle.props.public_key = trusted_key(pub)
    assert (bundle.props.file is None) == (opener == 'bytes')
    if opener == 'resource':
        assert bundle.props.file.get_uri().startswith('resource:///org/rustbridge/PyTest/')
    with bundle.load_plugin(None, None, None) as plugin:
        assert plugin.props.path.startswith('/proc/self/fd/')
        assert plugin.call('payload.array') == '[1,2,3]'
    # The fallback, forced, into extraction-dir: removed once mapped.
    monkeypatch.setenv('RUSTBRIDGE_NO_MEMFD', '1')
    lib = tmp_path / 'libunique.so'
    lib.write_bytes(open(os.environ['RB_FIXTURE_PLUGIN'], 'rb').read() + opener.encode())
    other = make_bundle(tmp_path / 'unique.rbp', None, None, '--library', str(lib))
    extract = tmp_path / 'extract'
    extract.mkdir()
    bundle = OPENERS[opener](other)
    bundle.props.verify_mode = RustBridge.VerifyMode.SKIP
    bundle.props.extraction_dir = str(extract)
    with bundle.load_plugin(None, None, None) as plugin:
        assert plugin.props.path.startswith(str(extract))
    assert list(extract.iterdir()) == []


def test_new_for_file(signed):
    path, _ = signed
    bundle = RustBridge.Bundle.new_for_file(Gio.File.new_for_path(str(path)), None)
    assert bundle.props.file.get_path() == str(path)


def test_load_with_trusted_key(signed):
    path, pub = signed
    bundle = RustBridge.Bundle.new_for_path(str(path))
    bundle.props.public_key = pub     # a whole .pub file, or just its key line
    assert bundle.verify(None, None)
    with bundle.load_plugin(None, None, None) as plugin:
        assert plugin.call_obj('echo', {'message': 'bundled'}) == {'message': 'bundled', 'length': 7}
        assert plugin.props.bundle_name == 'py-plugin'
        assert plugin.props.bundle_version == '2.3.4'
        assert plugin.props.state == RustBridge.LifecycleState.ACTIVE
    assert plugin.props.state == RustBridge.LifecycleState.STOPPED


def test_load_plugin_async(signed):
    path, pub = signed
    bundle = RustBridge.Bundle.new_for_path(str(path))
    bundle.props.public_key = pub
    config = RustBridge.PluginConfig(log_level=RustBridge.LogLevel.DEBUG)
    out = []
    bundle.load_plugin_async(None, config, None, lambda b, res: out.append(b.load_plugin_finish(res)))
    iterate_until(lambda: out)
    with out[0] as plugin:
        assert plugin.props.log_level == RustBridge.LogLevel.DEBUG
        assert plugin.call_obj('math.add', {'a': 1, 'b': 1}) == {'result': 2}


def test_start_up_events_of_an_async_bundle_load(signed):
    """Handlers connected in the load callback get the start-up log
    message and state changes, in order."""
    path, pub = signed
    bundle = RustBridge.Bundle.new_for_path(str(path))
    bundle.props.public_key = pub
    events, out = [], []

    def loaded(b, res):
        plugin = b.load_plugin_finish(res)
        plugin.connect('log', lambda p, level, target, message: events.append(message) or True)
        plugin.connect('state-changed', lambda p, old, new: events.append(new.value_nick))
        out.append(plugin)

    bundle.load_plugin_async(None, None, None, loaded)
    iterate_until(lambda: out and len(events) == 3)
    with out[0]:
        assert events[0] == 'starting'
        assert events[1].endswith(' plugin started')
        assert events[2] == 'active'


def test_wrong_key_is_refused(signed, keys, open_bundle):
    path, _ = signed
    _, (_, other_pub) = keys
    bundle = open_bundle(path)
    bundle.props.public_key = trusted_key(other_pub.read_text())
    with pytest.raises(GLib.Error) as info:
        bundle.load_plugin(None, None, None)
    assert info.value.matches(RustBridge.bundle_error_quark(), BundleError.SIGNATURE_INVALID)
    assert info.value.domain == 'rb-bundle-error-quark'


def test_unsigned_bundle_and_verify_modes(tmp_path, open_bundle):
    path = make_bundle(tmp_path / 'unsigned.rbp')
    bundle = open_bundle(path)
    with pytest.raises(GLib.Error) as info:
        bundle.verify(None, None)
    assert info.value.code in (BundleError.SIGNATURE_MISSING, BundleError.NO_PUBLIC_KEY)
    bundle.props.verify_mode = RustBridge.VerifyMode.SKIP
    assert bundle.verify(None, None)
    with bundle.load_plugin() as plugin:
        assert plugin.call('payload.array') == '[1,2,3]'


def test_tampered_library(tmp_path, keys, open_bundle):
    (key, pub), _ = keys
    path = make_bundle(tmp_path / 'tampered.rbp', key, pub, '--tamper', 'library')
    bundle = open_bundle(path)
    bundle.props.verify_mode = RustBridge.VerifyMode.SKIP    # checksums are still checked
    with pytest.raises(GLib.Error) as info:
        bundle.load_plugin(None, None, None)
    assert info.value.code == BundleError.CHECKSUM_MISMATCH


def test_extract_library_and_schema(signed, tmp_path):
    path, pub = signed
    bundle = RustBridge.Bundle.new_for_path(str(path))
    bundle.props.public_key = trusted_key(pub)
    dest = Gio.File.new_for_path(str(tmp_path))
    library = bundle.extract_library(None, dest, None)
    assert library.get_parent().get_path() == str(tmp_path)
    with open(library.get_path(), 'rb') as f, open(os.environ['RB_FIXTURE_PLUGIN'], 'rb') as g:
        assert f.read() == g.read()
    with pytest.raises(GLib.Error) as info:
        bundle.extract_library(None, dest, None)
    assert info.value.code == BundleError.EXISTS
    private = bundle.extract_library(None, None, None)     # a new private directory
    try:
        assert private.query_exists(None) and private.get_path() != library.get_path()
        assert os.stat(os.path.dirname(private.get_path())).st_mode & 0o777 == 0o700
    finally:                                  # the caller's to remove
        os.unlink(private.get_path())
        os.rmdir(os.path.dirname(private.get_path()))
    with RustBridge.Plugin.new(library.get_path(), None, None) as plugin:
        assert plugin.call_obj('echo', {'message': 'x'})['length'] == 1

    schema = bundle.read_schema('echo')
    assert isinstance(schema, GLib.Bytes)
    assert json.loads(schema.get_data()) == {'type': 'object'}
    written = bundle.extract_schema('echo', dest)
    assert written.load_contents(None)[1] == schema.get_data()
    with pytest.raises(GLib.Error) as info:
        bundle.read_schema('missing')
    assert info.value.domain == 'rb-bundle-error-quark'


def test_errors_have_bundle_codes(tmp_path, signed, open_bundle):
    path, _ = signed
    with pytest.raises(GLib.Error) as info:
        RustBridge.Bundle.new_for_path(str(tmp_path / 'missing.rbp'))
    assert info.value.code == BundleError.NOT_FOUND
    with pytest.raises(GLib.Error) as info:
        RustBridge.Bundle.new_for_resource('/org/rustbridge/PyTest/missing.rbp')
    assert info.value.code == BundleError.NOT_FOUND
    junk = tmp_path / 'junk.rbp'
    junk.write_bytes(b'not a zip archive')
    with pytest.raises(GLib.Error) as info:
        open_bundle(junk)
    assert info.value.code == BundleError.INVALID_ARCHIVE
    bundle = open_bundle(path)
    with pytest.raises(GLib.Error) as info:
        bundle.load_plugin('nope', None, None)
    assert info.value.code == BundleError.VARIANT_NOT_FOUND
    assert 'nope' in info.value.message
    with pytest.raises(GLib.Error) as info:
        bundle.list_variants('plan9-mips')
    assert info.value.code == BundleError.UNSUPPORTED_PLATFORM


def test_failed_init_refuses_calls(tmp_path):
    """A bundle whose init() failed half-way (the manifest was read, not
    validated) answers every call with an empty value, never a crash."""
    path = make_bundle(tmp_path / 'bad-notices.rbp', None, None, '--set', 'notices=5')
    bundle = RustBridge.Bundle(file=Gio.File.new_for_path(str(path)))
    with pytest.raises(GLib.Error) as info:
        bundle.init(None)
    assert info.value.code == BundleError.INVALID_MANIFEST
    # Each call logs a critical (a programming error) and returns nothing.
    assert bundle.list_api_messages() == []
    assert bundle.list_api_messages() == []              # NULL, as an empty list
    assert bundle.lookup_api_message('echo') is None
    assert bundle.get_api_transports() == []
    assert bundle.get_name() is None
    assert bundle.props.name is None


def test_typed_accessors(tmp_path, keys):
    (key, pub), _ = keys
    notices = tmp_path / 'NOTICES'
    notices.write_text('Third-party notices')
    path = make_bundle(tmp_path / 'accessors.rbp', key, pub, '--file', f'legal/NOTICES={notices}',
                       '--set', 'notices="legal/NOTICES"')
    bundle = RustBridge.Bundle.new_for_path(str(path))
    assert bundle.get_git_branch() == 'main'
    assert bundle.get_git_tag() == 'v1.0.0'
    assert bundle.get_git_dirty() is False
    assert bundle.dup_built_at().format_iso8601() == '2026-11-24T00:00:00Z'
    assert bundle.get_api_transports() == ['json', 'cstruct']

    messages = bundle.list_api_messages()
    assert [m.get_type_tag() for m in messages] == ['echo', 'math.add']
    echo = bundle.lookup_api_message('echo')
    assert isinstance(echo, RustBridge.BundleMessage)
    assert echo.get_message_id() == 1
    assert echo.get_transport() == 'json'
    assert echo.get_cstruct_request() == 'FixtureRawEchoRequest'
    assert echo.get_response_schema() is None
    assert bundle.lookup_api_message_by_id(1).get_type_tag() == 'echo'
    assert bundle.lookup_api_message('math.add').get_message_id() == -1
    assert bundle.lookup_api_message('nope') is None
    assert bundle.lookup_api_message_by_id(99) is None

    assert bundle.read_file(bundle.get_notices_path()).get_data() == b'Third-party notices'
    assert b'CycloneDX' in bundle.read_file(bundle.get_sbom_path('cyclonedx')).get_data()
    assert bundle.get_license_file_path() is None
    with pytest.raises(GLib.Error) as info:
        bundle.read_file('legal/LICENSE')
    assert info.value.code == BundleError.ENTRY_NOT_FOUND


def test_bad_api_messages_are_refused(tmp_path, open_bundle):
    path = make_bundle(tmp_path / 'bad-api.rbp', None, None,
                       '--set', 'api={"messages":[{"type_tag":"a","message_id":"one"}]}')
    with pytest.raises(GLib.Error) as info:
        open_bundle(path)
    assert info.value.code == BundleError.INVALID_MANIFEST
    assert 'api.messages[0].message_id' in info.value.message
