# SPDX-License-Identifier: LGPL-2.1-or-later
"""RbPlugin through GObject introspection and the Python overrides."""
import ctypes
import dataclasses
import gc
import os
import subprocess
import sys
import threading

import pytest
from gi.repository import GLib, RustBridge

from conftest import iterate_for, iterate_until


@dataclasses.dataclass
class EchoRequest:
    message: str


@dataclasses.dataclass
class EchoResponse:
    message: str
    length: int


class RawEchoRequest(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint8), ('_pad', ctypes.c_uint8 * 3),
                ('value', ctypes.c_uint32), ('text', ctypes.c_char * 56)]


class RawEchoResponse(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint8), ('_pad', ctypes.c_uint8 * 3),
                ('value_times_two', ctypes.c_uint32), ('text_len', ctypes.c_uint32),
                ('text', ctypes.c_char * 56)]


def test_call_str(plugin):
    assert plugin.call('echo', '{"message":"Hello"}') == '{"message":"Hello","length":5}'


def test_call_dict_and_list(plugin):
    assert plugin.call('math.add', {'a': 40, 'b': 2}) == '{"result":42}'
    assert plugin.call_obj('echo', {'message': 'héllo'}) == {'message': 'héllo', 'length': 6}
    assert plugin.call_obj('payload.array') == [1, 2, 3]
    assert plugin.call_obj('payload.null') is None


def test_call_typed_dataclass(plugin):
    reply = plugin.call_typed('echo', EchoRequest(message='typed'), EchoResponse)
    assert reply == EchoResponse(message='typed', length=5)


def test_errors_carry_plugin_code_and_message(plugin):
    with pytest.raises(GLib.Error) as info:
        plugin.call('nope', '{}')
    assert info.value.code == RustBridge.PluginError.UNKNOWN_MESSAGE == 6
    assert info.value.message == 'unknown message type: nope'
    assert info.value.domain == 'rb-plugin-error-quark'
    with pytest.raises(GLib.Error) as info:
        plugin.call('echo', '{bad json')
    assert info.value.code == 5
    with pytest.raises(GLib.Error) as info:
        plugin.call('handler.fail', {})
    assert info.value.code == 7
    assert info.value.message == 'handler failed on purpose'


def test_load_errors():
    with pytest.raises(GLib.Error) as info:
        RustBridge.Plugin.new('/nonexistent/libx.so', None, None)
    assert info.value.code == RustBridge.PluginError.LOAD_FAILED
    assert '/nonexistent/libx.so' in info.value.message


def test_config_properties(plugin_path):
    config = RustBridge.PluginConfig.new()
    config.props.log_level = RustBridge.LogLevel.DEBUG
    config.props.max_concurrent_ops = 8
    config.set_data_json('greeting', '"hi"')
    assert config.props.max_concurrent_ops == 8
    assert '"greeting":"hi"' in config.to_json()
    with pytest.raises(GLib.Error) as info:
        RustBridge.PluginConfig.new_from_json('{"worker_threads":"x"}')
    assert info.value.code == RustBridge.PluginError.CONFIG
    with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
        assert plugin.props.config.props.log_level == RustBridge.LogLevel.DEBUG
        assert plugin.props.log_level == RustBridge.LogLevel.DEBUG
        plugin.props.log_level = RustBridge.LogLevel.WARN
        assert plugin.get_log_level() == RustBridge.LogLevel.WARN
        plugin.props.log_level = RustBridge.LogLevel.INFO


def test_state_notifications(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    notified, changes = [], []
    plugin.connect('notify::state', lambda p, pspec: notified.append(p.props.state))
    plugin.connect('state-changed', lambda p, old, new: changes.append((old, new)))
    assert plugin.props.state == RustBridge.LifecycleState.ACTIVE
    plugin.shutdown(None)
    iterate_for(20)
    assert changes == [(RustBridge.LifecycleState.ACTIVE, RustBridge.LifecycleState.STOPPING),
                       (RustBridge.LifecycleState.STOPPING, RustBridge.LifecycleState.STOPPED)]
    assert notified == [RustBridge.LifecycleState.STOPPED, RustBridge.LifecycleState.STOPPED] or \
        len(notified) == 2
    with pytest.raises(GLib.Error) as info:
        plugin.call('echo', {'message': 'late'})
    assert info.value.code == RustBridge.PluginError.INVALID_STATE


def test_log_signal_runs_on_main_thread(plugin):
    main = threading.get_ident()
    seen = []

    def on_log(p, level, target, message):
        seen.append((threading.get_ident(), level, message))

    plugin.connect('log', on_log)
    plugin.call('log.emit', {'count': 3, 'level': 'warn', 'message': 'py-log', 'thread': True})
    iterate_until(lambda: len([s for s in seen if s[2].startswith('py-log')]) >= 3)
    mine = [s for s in seen if s[2].startswith('py-log')]
    assert all(t == main for t, _, _ in mine)
    assert all(level == RustBridge.LogLevel.WARN for _, level, _ in mine)


def test_raw_ctypes_struct(plugin):
    req = RawEchoRequest(version=1, value=21, text=b'from python')
    reply = plugin.call_raw(1, GLib.Bytes.new(bytes(req)), None)
    resp = RawEchoResponse.from_buffer_copy(reply.get_data())
    assert resp.value_times_two == 42
    assert resp.text == b'from python'
    assert plugin.props.has_binary_transport


def test_raw_bytes_outlive_plugin(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    req = RawEchoRequest(version=1, value=5, text=b'outlive')
    reply = plugin.call_raw(1, GLib.Bytes.new(bytes(req)), None)
    plugin.shutdown(None)
    del plugin
    gc.collect()
    resp = RawEchoResponse.from_buffer_copy(reply.get_data())
    assert resp.value_times_two == 10
    assert resp.text == b'outlive'


def test_async_calls_from_main_loop(plugin):
    results = []

    def done(p, result, index):
        results.append((index, p.call_finish(result)))

    for i in range(100):
        plugin.call_async('echo', {'message': f'n{i}'}, None, done, i)
    iterate_until(lambda: len(results) == 100)
    assert sorted(results) == sorted((i, f'{{"message":"n{i}","length":{len(str(i)) + 1}}}') for i in range(100))


def test_async_error_and_cancel(fixture_path):
    with RustBridge.Plugin.new(fixture_path, None, None) as plugin:
        out = []

        def done(p, result):
            try:
                out.append(p.call_finish(result))
            except GLib.Error as e:
                out.append(e)

        cancellable = GLib.Cancellable() if hasattr(GLib, 'Cancellable') else None
        from gi.repository import Gio
        cancellable = Gio.Cancellable()
        plugin.call_async('test.sleep', {'duration_ms': 2000}, cancellable, done)
        GLib.timeout_add(50, lambda: cancellable.cancel() or False)
        iterate_until(lambda: out, timeout=5)
        assert isinstance(out[0], GLib.Error)
        assert out[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)


def test_concurrent_sync_calls_from_threads(plugin):
    failures = []

    def worker(n):
        for i in range(50):
            reply = plugin.call_obj('echo', {'message': f'{n}-{i}'})
            if reply['message'] != f'{n}-{i}':
                failures.append(reply)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_async_future_with_asyncio(plugin):
    import asyncio

    async def main():
        return await plugin.call_future('math.add', {'a': 2, 'b': 3}, parse=True)

    # A plain asyncio loop, iterating GLib's default context in between.
    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        task = loop.create_task(main())
        while not task.done():
            loop.run_until_complete(asyncio.sleep(0.001))
            GLib.MainContext.default().iteration(False)
        assert task.result() == {'result': 5}
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_dropped_plugin_is_shut_down_at_exit(plugin_path):
    code = (
        'import gi\n'
        'gi.require_version("RustBridge", "1.0")\n'
        'from gi.repository import RustBridge\n'
        f'p = RustBridge.Plugin.new({plugin_path!r}, None, None)\n'
        'p.call("echo", {"message": "bye"})\n'
        'q = RustBridge.Plugin.new(' + repr(plugin_path) + ', None, None)\n'
        'del q\n'
        'print("ok")\n'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60,
                         env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'
