# SPDX-License-Identifier: LGPL-2.1-or-later
"""Isolated plugins from Python: each crash of the misbehaving plugin
leaves the interpreter alive with RB_PLUGIN_ERROR_CRASHED, the plugin
FAILED (state-changed emitted) and crash-count counted; restart brings it
back; a call past call-timeout-ms times out and kills the helper; an
allocation past memory-limit-mb kills it too; the overrides (call with
dicts, call_async) work in PROCESS mode."""
import os

import gi
import pytest

gi.require_version('GLib', '2.0')
gi.require_version('RustBridge', '1.0')
from gi.repository import GLib, RustBridge  # noqa: E402

MISBEHAVE = os.environ.get('RB_MISBEHAVE_PLUGIN')
FIXTURE = os.environ.get('RB_FIXTURE_PLUGIN')

pytestmark = pytest.mark.skipif(not MISBEHAVE or not os.environ.get('RUSTBRIDGE_HOST_PATH'),
                                reason='needs the misbehaving plugin and the helper')


def isolated_config(timeout_ms=0, memory_limit_mb=0):
    config = RustBridge.PluginConfig()
    config.props.isolation = RustBridge.Isolation.PROCESS
    config.props.call_timeout_ms = timeout_ms
    config.props.memory_limit_mb = memory_limit_mb
    return config


def iterate_until(predicate, seconds=10):
    context = GLib.MainContext.default()
    end = GLib.get_monotonic_time() + seconds * 1000000
    while not predicate() and GLib.get_monotonic_time() < end:
        context.iteration(True)
    assert predicate()


@pytest.mark.parametrize('tag', ['crash.segv', 'crash.abort', 'crash.exit',
                                 'crash.stack_overflow'])
def test_crash_then_restart(tag):
    plugin = RustBridge.Plugin.new(MISBEHAVE, isolated_config(), None)
    states = []
    plugin.connect('state-changed', lambda p, old, new: states.append(new))

    with pytest.raises(GLib.Error) as info:
        plugin.call(tag, '{}', None)
    assert info.value.matches(RustBridge.PluginError.quark(), RustBridge.PluginError.CRASHED)
    assert MISBEHAVE in info.value.message

    iterate_until(lambda: RustBridge.LifecycleState.FAILED in states)
    assert plugin.props.state == RustBridge.LifecycleState.FAILED
    assert plugin.props.crash_count == 1
    with pytest.raises(GLib.Error) as info:
        plugin.call('ok', '{}', None)
    assert info.value.matches(RustBridge.PluginError.quark(), RustBridge.PluginError.CRASHED)

    plugin.restart(None)
    assert plugin.props.state == RustBridge.LifecycleState.ACTIVE
    assert plugin.call('ok', '{}', None) == '{"ok":true}'
    plugin.shutdown(None)


def test_timeout_kills_helper():
    plugin = RustBridge.Plugin.new(MISBEHAVE, isolated_config(300), None)
    with pytest.raises(GLib.Error) as info:
        plugin.call('hang', '{}', None)
    assert info.value.matches(GLib.quark_from_string('g-io-error-quark'), 24)  # TIMED_OUT
    iterate_until(lambda: plugin.props.state == RustBridge.LifecycleState.FAILED)
    with pytest.raises(GLib.Error) as info:
        plugin.call('ok', '{}', None)
    assert 'killed after a timeout' in info.value.message
    plugin.restart(None)
    assert plugin.call('ok', '{}', None) == '{"ok":true}'
    plugin.shutdown(None)


def test_memory_limit():
    """memory-limit-mb (RLIMIT_AS in the helper): 64 MiB fit in 512, 2 GiB
    do not and the helper dies of it; the interpreter does not."""
    plugin = RustBridge.Plugin.new(MISBEHAVE, isolated_config(memory_limit_mb=512), None)
    assert plugin.get_config().props.memory_limit_mb == 512
    assert plugin.call('alloc.huge', '{"mb":64}', None) == 'null'
    with pytest.raises(GLib.Error) as info:
        plugin.call('alloc.huge', '{"mb":2048}', None)
    assert info.value.matches(RustBridge.PluginError.quark(), RustBridge.PluginError.CRASHED)
    assert MISBEHAVE in info.value.message
    iterate_until(lambda: plugin.props.state == RustBridge.LifecycleState.FAILED)
    assert plugin.props.crash_count == 1
    plugin.restart(None)
    assert plugin.call('alloc.huge', '{"mb":64}', None) == 'null'
    plugin.shutdown(None)


@pytest.mark.skipif(not FIXTURE, reason='RB_FIXTURE_PLUGIN not set')
def test_overrides_in_process_mode():
    plugin = RustBridge.Plugin.new(FIXTURE, isolated_config(), None)
    results = []

    def done(p, result):
        results.append(p.call_finish(result))

    plugin.call_async('echo', '{"message":"hi"}', None, done)
    iterate_until(lambda: results)
    assert '"hi"' in results[0]
    plugin.shutdown(None)
