# SPDX-License-Identifier: LGPL-2.1-or-later
"""Which key RbBundle trusts in STRICT mode: public-key, trusted-keys-dir,
the user's and the system's trusted-keys directories (in a child process,
as GLib reads XDG_* once), or, only when asked, the key the bundle
carries (integrity, not origin). The in-process cases open the bundle
from its path, from bytes and from a GResource."""
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from gi.repository import GLib, RustBridge

from test_bundle import make_bundle, make_key, open_bundle  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(shutil.which('minisign') is None, reason='minisign not installed')

BundleError = RustBridge.BundleError


@pytest.fixture(scope='module')
def trust_bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp('trust')
    key, pub = make_key(d, 'publisher')
    _, other_pub = make_key(d, 'stranger')
    return make_bundle(d / 'trust.rbp', key, pub), pub, other_pub


def no_key_error(bundle):
    with pytest.raises(GLib.Error) as info:
        bundle.verify(None, None)
    assert info.value.matches(RustBridge.bundle_error_quark(), BundleError.NO_PUBLIC_KEY)
    return info.value.message


def test_strict_without_trusted_key_says_how_to_fix(trust_bundle, tmp_path, open_bundle):
    path, _, _ = trust_bundle
    bundle = open_bundle(path)
    bundle.props.trusted_keys_dir = str(tmp_path)          # empty
    message = no_key_error(bundle)
    for needle in ('public-key', 'trust-embedded-key', str(tmp_path), 'rustbridge/trusted-keys', '.pub'):
        assert needle in message
    with pytest.raises(GLib.Error):
        bundle.load_plugin(None, None, None)


def test_public_key(trust_bundle, open_bundle):
    path, pub, _ = trust_bundle
    bundle = open_bundle(path)
    bundle.props.public_key = pub.read_text()
    assert bundle.verify(None, None)


def test_trusted_keys_dir_picks_by_key_id(trust_bundle, tmp_path, open_bundle):
    path, pub, other_pub = trust_bundle
    (tmp_path / 'a-garbage.pub').write_text('not a key\n')
    (tmp_path / 'stranger.pub').write_text(other_pub.read_text())
    bundle = open_bundle(path)
    bundle.props.trusted_keys_dir = str(tmp_path)
    assert bundle.get_trusted_keys_dir() == str(tmp_path)
    no_key_error(bundle)
    (tmp_path / 'publisher.pub').write_text(pub.read_text())
    assert bundle.verify(None, None)
    with bundle.load_plugin(None, None, None) as plugin:
        assert plugin.call_obj('math.add', {'a': 2, 'b': 3}) == {'result': 5}


def test_trust_embedded_key_is_explicit(trust_bundle, tmp_path, open_bundle):
    path, _, _ = trust_bundle
    bundle = open_bundle(path)
    bundle.props.trusted_keys_dir = str(tmp_path)
    assert bundle.props.trust_embedded_key is False
    no_key_error(bundle)
    bundle.props.trust_embedded_key = True
    assert bundle.get_trust_embedded_key()
    assert bundle.verify(None, None)


CHILD = textwrap.dedent('''
    import sys
    import gi
    gi.require_version('RustBridge', '1.0')
    from gi.repository import GLib, RustBridge
    bundle = RustBridge.Bundle.new_for_path(sys.argv[1])
    try:
        bundle.verify(None, None)
        print('verified')
    except GLib.Error as e:
        print('error', e.code)
''')


def verify_in_child(path, config_home, data_dirs):
    env = dict(os.environ, XDG_CONFIG_HOME=str(config_home),
               XDG_DATA_DIRS=os.pathsep.join(str(d) for d in data_dirs))
    out = subprocess.run(['/usr/bin/python3', '-c', CHILD, str(path)], env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


@pytest.mark.parametrize('where', ['user', 'system'])
def test_xdg_trusted_keys_dirs(trust_bundle, tmp_path, where):
    path, pub, _ = trust_bundle
    config, data1, data2 = tmp_path / 'config', tmp_path / 'data1', tmp_path / 'data2'
    no_key = f'error {int(BundleError.NO_PUBLIC_KEY)}'
    assert verify_in_child(path, config, [data1, data2]) == no_key
    keys_dir = (config if where == 'user' else data2) / 'rustbridge' / 'trusted-keys'
    keys_dir.mkdir(parents=True)
    (keys_dir / 'publisher.pub').write_text(pub.read_text())
    assert verify_in_child(path, config, [data1, data2]) == 'verified'
