# SPDX-License-Identifier: LGPL-2.1-or-later
"""Object lifetime through PyGObject: a plugin dropped without shutdown is
shut down by dispose, even when a handler refers to it; GBytes returned
by call_raw outlive the plugin, also at interpreter exit."""
import gc
import os
import subprocess
import sys
import textwrap

from gi.repository import GLib, RustBridge

from conftest import RawEchoRequest, RawEchoResponse, iterate_for

State = RustBridge.LifecycleState


def run_python(code, timeout=60):
    env = dict(os.environ, G_DEBUG='gc-friendly', PYTHONFAULTHANDLER='1')
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, env=env)


def test_dropped_plugin_is_disposed_and_shut_down(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    changes, finalized = [], []
    plugin.connect('state-changed', lambda p, old, new: changes.append(new))
    plugin.weak_ref(lambda: finalized.append(True))
    plugin.call('echo', {'message': 'x'})
    del plugin
    gc.collect()
    iterate_for(10)
    # dispose ran the shutdown on this (the owner) thread: the signal was
    # emitted during dispose (after the start-up changes, still held for
    # the creator), then the object was finalized.
    assert changes == [State.STARTING, State.ACTIVE, State.STOPPING, State.STOPPED]
    assert finalized == [True]


def test_dropped_plugin_with_a_handler_referencing_it(plugin_path):
    """A closure that refers to its own plugin forms a cycle through the
    signal closure; Python's cycle collector must still free it."""
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    finalized = []
    plugin.connect('log', lambda p, level, target, message: plugin.props.state)
    plugin.weak_ref(lambda: finalized.append(True))
    del plugin
    gc.collect()
    assert finalized == [True]


def test_raw_bytes_outlive_plugin(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    finalized = []
    plugin.weak_ref(lambda: finalized.append(True))
    req = RawEchoRequest(version=1, value=5, text=b'outlive')
    reply = plugin.call_raw(1, GLib.Bytes.new(bytes(req)), None)
    async_reply = []
    plugin.call_raw_async(1, GLib.Bytes.new(bytes(req)), None,
                          lambda p, res: async_reply.append(p.call_raw_finish(res)))
    from conftest import iterate_until
    iterate_until(lambda: async_reply)
    plugin.shutdown(None)
    del plugin
    gc.collect()
    assert finalized == [True]
    for gbytes in (reply, async_reply[0]):
        resp = RawEchoResponse.from_buffer_copy(gbytes.get_data())
        assert resp.value_times_two == 10
        assert resp.text == b'outlive'
    # Slicing makes a new GBytes that shares the plugin's buffer.
    part = reply.new_from_bytes(4, 4)
    del reply
    gc.collect()
    assert int.from_bytes(part.get_data(), sys.byteorder) == 10


def test_raw_bytes_outlive_plugin_in_a_subprocess(plugin_path):
    """The response buffer is released after the plugin object is gone
    and at interpreter exit, with no crash."""
    out = run_python(f'''
        import gc
        import gi
        gi.require_version("RustBridge", "1.0")
        from gi.repository import GLib, RustBridge
        req = GLib.Bytes.new(bytes([1, 0, 0, 0, 21, 0, 0, 0]) + b"kept".ljust(56, b"\\0"))
        plugin = RustBridge.Plugin.new({plugin_path!r}, None, None)
        kept = [plugin.call_raw(1, req) for _ in range(3)]
        del plugin
        gc.collect()
        print(kept[0].get_data()[4], kept[2].get_data()[12:16].decode())
        del kept[0]
        gc.collect()
    ''')
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['42', 'kept']
