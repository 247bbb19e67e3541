# SPDX-License-Identifier: LGPL-2.1-or-later
"""RbBundle through introspection: open, inspect, verify and load."""
import os
import shutil
import subprocess

import pytest
from gi.repository import GLib, RustBridge

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'rb-make-bundle.py')

pytestmark = pytest.mark.skipif(shutil.which('minisign') is None, reason='minisign not installed')


@pytest.fixture(scope='module')
def signed(tmp_path_factory):
    d = tmp_path_factory.mktemp('bundle')
    subprocess.run(['minisign', '-G', '-W', '-p', 'k.pub', '-s', 'k.key'], cwd=d, check=True,
                   stdout=subprocess.DEVNULL)
    out = d / 'plugin.rbp'
    subprocess.run(['/usr/bin/python3', TOOL, str(out), '--library', os.environ['RB_FIXTURE_PLUGIN'],
                    '--platform', RustBridge.Bundle.get_current_platform(),
                    '--sign', str(d / 'k.key'), '--public-key', str(d / 'k.pub'),
                    '--name', 'py-plugin', '--version', '2.3.4'], check=True)
    return out, (d / 'k.pub').read_text()


def test_open_and_inspect(signed):
    path, _ = signed
    with RustBridge.Bundle.new_for_path(str(path)) as bundle:
        assert bundle.props.name == 'py-plugin'
        assert bundle.get_version() == '2.3.4'
        assert list(bundle.props.authors) == ['Ada', 'Grace']
        assert bundle.list_platforms() == [RustBridge.Bundle.get_current_platform()]
        assert bundle.list_variants(None) == ['release']
        assert 'manifest.json' in bundle.list_files()
        assert bundle.list_api_message_tags() == ['echo', 'math.add']
        assert bundle.props.verify_mode == RustBridge.VerifyMode.STRICT


def test_load_with_trusted_key(signed):
    path, key = signed
    bundle = RustBridge.Bundle.new_for_path(str(path))
    bundle.props.public_key = key
    assert bundle.verify(None, None)
    with bundle.load_plugin(None, None, None) as plugin:
        assert plugin.call_obj('echo', {'message': 'bundled'}) == {'message': 'bundled', 'length': 7}
        assert plugin.props.bundle_name == 'py-plugin'
        assert plugin.props.bundle_version == '2.3.4'


def test_errors_have_bundle_codes(tmp_path, signed):
    path, _ = signed
    with pytest.raises(GLib.Error) as info:
        RustBridge.Bundle.new_for_path(str(tmp_path / 'missing.rbp'))
    assert info.value.code == RustBridge.BundleError.NOT_FOUND
    bundle = RustBridge.Bundle.new_for_path(str(path))
    with pytest.raises(GLib.Error) as info:
        bundle.load_plugin('nope', None, None)
    assert info.value.code == RustBridge.BundleError.VARIANT_NOT_FOUND
    assert 'nope' in info.value.message
