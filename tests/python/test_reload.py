# SPDX-License-Identifier: LGPL-2.1-or-later
"""RustBridge.Plugin.reload() and the registry's live reload from Python:
the same object after a reload, its handlers, the state-changed sequence,
a failed reload, plugin-reloaded when the installed bundle is replaced."""
import json
import os
import shutil
import threading

import pytest
from gi.repository import GLib, RustBridge

from test_bundle import make_bundle

pytestmark = pytest.mark.skipif(shutil.which('minisign') is None, reason='minisign not installed')

APP_ID = 'org.rustbridge.PyReloadTest'


@pytest.fixture(scope='module')
def store(publisher):
    d, key, pub, keys = publisher
    return {
        'keys': keys,
        'v1': make_bundle(d / 'v1.rbp', key, pub, '--name', 'reloaded', '--version', '1.0.0'),
        'v2': make_bundle(d / 'v2.rbp', key, pub, '--name', 'reloaded', '--version', '2.0.0',
                          '--library', os.environ['RB_FIXTURE_V2_PLUGIN']),
        'unsigned': make_bundle(d / 'unsigned.rbp', None, None, '--name', 'reloaded',
                                '--version', '3.0.0'),
    }


def open_bundle(store, name):
    bundle = RustBridge.Bundle.new_for_path(str(store[name]), None)
    bundle.props.trusted_keys_dir = str(store['keys'])
    return bundle


def version(plugin):
    return json.loads(plugin.call('fixture.version'))['version']


def iterate(ms=50):
    context = GLib.MainContext.default()
    deadline = GLib.get_monotonic_time() + ms * 1000
    while GLib.get_monotonic_time() < deadline:
        context.iteration(False)


@pytest.mark.parametrize('isolation', [RustBridge.Isolation.NONE, RustBridge.Isolation.PROCESS])
def test_reload_same_object(store, isolation):
    config = RustBridge.PluginConfig(isolation=isolation)
    plugin = RustBridge.Plugin.new(os.environ['RB_FIXTURE_PLUGIN'], config, None)
    iterate()
    states, versions = [], []
    plugin.connect('state-changed', lambda p, old, new: states.append(new.value_nick))
    plugin.connect('notify::bundle-version', lambda p, _: versions.append(p.props.bundle_version))
    assert version(plugin) == 1

    assert plugin.reload(open_bundle(store, 'v2'), None)
    assert version(plugin) == 2
    assert plugin.props.bundle_name == 'reloaded'
    iterate()
    assert states == ['starting', 'active']
    assert versions == ['2.0.0']

    # The same source again: a fresh instance.
    if isolation == RustBridge.Isolation.NONE:
        assert plugin.reload(None, None)
        assert version(plugin) == 2

    # A failed reload: the error, and the old instance keeps serving.
    with pytest.raises(GLib.Error) as info:
        plugin.reload(open_bundle(store, 'unsigned'), None)
    assert info.value.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_MISSING)
    assert plugin.props.state == RustBridge.LifecycleState.ACTIVE
    assert version(plugin) == 2
    plugin.shutdown(None)


def test_reload_async_under_calls(store):
    plugin = RustBridge.Plugin.new(os.environ['RB_FIXTURE_PLUGIN'], None, None)
    stop = threading.Event()
    seen, errors = set(), []

    def caller():
        while not stop.is_set():
            try:
                seen.add(version(plugin))
            except GLib.Error as e:
                errors.append(e)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    loop = GLib.MainLoop()
    results = []
    for name in ('v2', 'v1', 'v2'):
        plugin.reload_async(open_bundle(store, name), None,
                            lambda p, res: (results.append(p.reload_finish(res)), loop.quit()))
        loop.run()
    stop.set()
    for t in threads:
        t.join()
    assert results == [True, True, True]
    assert errors == []
    assert seen == {1, 2}
    assert version(plugin) == 2
    plugin.shutdown(None)


def test_registry_plugin_reloaded(store, tmp_path):
    plugins = tmp_path / 'plugins'
    plugins.mkdir()
    registry = RustBridge.Registry.new(APP_ID)
    registry.props.trusted_keys_dir = str(store['keys'])
    registry.add_search_path(str(plugins))
    shutil.copy(store['v1'], plugins / 'reloaded.rbp')
    registry.rescan(None)
    plugin = registry.load_plugin('reloaded', None, None)
    events = []
    registry.connect('plugin-reloaded',
                     lambda r, old, new, p: events.append(('reloaded', old.props.version,
                                                           new.props.version, p)))
    registry.connect('reload-failed', lambda r, b, error: events.append(('failed', error.code)))

    shutil.copy(store['v2'], plugins / '.part')
    os.rename(plugins / '.part', plugins / 'reloaded.rbp')
    registry.rescan(None)
    context = GLib.MainContext.default()
    while not events:
        context.iteration(True)
    assert events == [('reloaded', '1.0.0', '2.0.0', plugin)]
    assert registry.get_plugin('reloaded') is plugin
    assert version(plugin) == 2

    shutil.copy(store['unsigned'], plugins / '.part')
    os.rename(plugins / '.part', plugins / 'reloaded.rbp')
    registry.rescan(None)
    while len(events) < 2:
        context.iteration(True)
    assert events[1] == ('failed', RustBridge.BundleError.SIGNATURE_MISSING)
    assert version(plugin) == 2
    registry.unload_plugin('reloaded', None)
