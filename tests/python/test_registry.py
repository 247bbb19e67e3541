# SPDX-License-Identifier: LGPL-2.1-or-later
"""RbRegistry from Python: the list model and its items-changed positions,
availability reasons, loading by name, enabled-plugins bound to GSettings."""
import shutil
import subprocess

import pytest
from gi.repository import Gio, GLib, RustBridge

from conftest import iterate_for, iterate_until
from test_bundle import make_bundle

pytestmark = pytest.mark.skipif(shutil.which('minisign') is None, reason='minisign not installed')

APP_ID = 'org.rustbridge.PyRegistryTest'


@pytest.fixture(scope='module')
def store(publisher):
    d, key, pub, keys = publisher
    return {
        'keys': keys,
        'alpha': make_bundle(d / 'alpha.rbp', key, pub, '--name', 'alpha', '--version', '1.0.0'),
        'alpha2': make_bundle(d / 'alpha2.rbp', key, pub, '--name', 'alpha', '--version', '2.0.0'),
        'beta': make_bundle(d / 'beta.rbp', key, pub, '--name', 'beta', '--version', '1.0.0'),
        'unsigned': make_bundle(d / 'unsigned.rbp', None, None, '--name', 'gamma'),
    }


@pytest.fixture
def registry(store, tmp_path):
    plugins = tmp_path / 'plugins'
    plugins.mkdir()
    r = RustBridge.Registry.new(APP_ID)
    r.props.trusted_keys_dir = str(store['keys'])
    r.add_search_path(str(plugins))
    r.plugins = plugins
    return r


def names(model):
    return [f'{b.props.name}-{b.props.version}' for b in model]


def test_model_and_positions(store, registry):
    changes = []
    registry.connect('items-changed', lambda m, pos, removed, added: changes.append((pos, removed, added)))
    assert registry.get_item_type() == RustBridge.Bundle.__gtype__
    assert str(registry.plugins) in registry.props.search_paths
    shutil.copy(store['beta'], registry.plugins / 'beta.rbp')
    registry.rescan(None)
    shutil.copy(store['alpha'], registry.plugins / 'alpha.rbp')
    registry.rescan(None)
    shutil.copy(store['alpha2'], registry.plugins / 'alpha2.rbp')
    registry.rescan(None)
    assert names(registry) == ['alpha-1.0.0', 'alpha-2.0.0', 'beta-1.0.0']
    (registry.plugins / 'alpha.rbp').unlink()
    registry.rescan(None)
    registry.rescan(None)                       # nothing changed: no signal
    assert changes == [(0, 0, 1), (0, 0, 1), (1, 0, 1), (0, 1, 0)]
    assert registry.props.n_items == 2
    assert registry.lookup_bundle('alpha').props.version == '2.0.0'


def test_availability(store, registry):
    shutil.copy(store['unsigned'], registry.plugins / 'gamma.rbp')
    shutil.copy(store['beta'], registry.plugins / 'beta.rbp')
    registry.rescan(None)
    beta, gamma = list(registry)
    assert beta.props.available and beta.get_unavailable_reason() is None
    assert not gamma.props.available
    reason = gamma.get_unavailable_reason()
    assert reason.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_MISSING)
    with pytest.raises(GLib.Error) as info:
        registry.load_plugin('gamma', None, None)
    assert info.value.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_MISSING)
    with pytest.raises(GLib.Error) as info:
        registry.load_plugin('nothing', None, None)
    assert info.value.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.NOT_FOUND)


def test_load_unload(store, registry):
    shutil.copy(store['beta'], registry.plugins / 'beta.rbp')
    registry.rescan(None)
    events = []
    registry.connect('plugin-loaded', lambda r, b, p: events.append(('loaded', b.props.name)))
    registry.connect('plugin-unloaded', lambda r, b, p: events.append(('unloaded', b.props.name)))
    plugin = registry.load_plugin('beta', None, None)
    assert registry.get_plugin('beta') is plugin
    assert registry.props.loaded_plugins == ['beta']
    assert registry.unload_plugin('beta', None)
    assert plugin.props.state == RustBridge.LifecycleState.STOPPED
    assert registry.props.loaded_plugins == []
    assert events == [('loaded', 'beta'), ('unloaded', 'beta')]


def test_enabled_plugins_gsettings(store, registry, tmp_path):
    schemas = tmp_path / 'schemas'
    schemas.mkdir()
    (schemas / 'test.gschema.xml').write_text(
        '<schemalist><schema id="org.rustbridge.PyRegistryTest" path="/org/rustbridge/PyRegistryTest/">'
        '<key name="enabled-plugins" type="as"><default>[]</default></key></schema></schemalist>')
    subprocess.run(['glib-compile-schemas', str(schemas)], check=True)
    source = Gio.SettingsSchemaSource.new_from_directory(str(schemas), None, False)
    settings = Gio.Settings.new_full(source.lookup(APP_ID, False), Gio.memory_settings_backend_new(), None)

    shutil.copy(store['alpha'], registry.plugins / 'alpha.rbp')
    shutil.copy(store['beta'], registry.plugins / 'beta.rbp')
    registry.rescan(None)
    settings.bind('enabled-plugins', registry, 'enabled-plugins', Gio.SettingsBindFlags.DEFAULT)
    context = GLib.MainContext.default()

    settings.set_strv('enabled-plugins', ['alpha', 'beta'])
    while registry.props.loaded_plugins != ['alpha', 'beta']:
        context.iteration(True)
    unloaded = []
    registry.connect('plugin-unloaded', lambda r, b, p: unloaded.append(b.props.name))
    settings.set_strv('enabled-plugins', ['beta'])
    assert registry.props.loaded_plugins == ['beta']
    while unloaded != ['alpha']:
        context.iteration(True)
    registry.props.enabled_plugins = []
    assert settings.get_strv('enabled-plugins') == []
    while unloaded != ['alpha', 'beta']:
        context.iteration(True)
    Gio.Settings.unbind(registry, 'enabled-plugins')


def test_watch_adds_and_removes(store, registry):
    """With watch on, a bundle copied into a search path appears and one
    removed disappears, each with one exact items-changed, without rescan."""
    shutil.copy(store['beta'], registry.plugins / 'beta.rbp')
    registry.rescan(None)
    assert names(registry) == ['beta-1.0.0']
    changes = []
    registry.connect('items-changed', lambda m, pos, removed, added: changes.append((pos, removed, added)))
    assert registry.props.watch is False
    registry.props.watch = True
    assert registry.get_watch()

    shutil.copy(store['alpha'], registry.plugins / 'alpha.rbp')
    iterate_until(lambda: changes)
    assert changes == [(0, 0, 1)]                   # alpha sorts before beta
    assert names(registry) == ['alpha-1.0.0', 'beta-1.0.0']

    shutil.copy(store['unsigned'], registry.plugins / 'gamma.rbp')
    iterate_until(lambda: len(changes) == 2)
    assert changes[1] == (2, 0, 1)
    assert not registry.get_item(2).props.available

    (registry.plugins / 'alpha.rbp').unlink()
    iterate_until(lambda: len(changes) == 3)
    assert changes[2] == (0, 1, 0)
    assert names(registry) == ['beta-1.0.0', 'gamma-2.3.4']

    # Watching off: changes wait for a rescan.
    registry.props.watch = False
    (registry.plugins / 'beta.rbp').unlink()
    iterate_for(300)
    assert len(changes) == 3
    registry.rescan(None)
    assert changes[3:] == [(0, 1, 0)]
