# SPDX-License-Identifier: LGPL-2.1-or-later
"""RbPlugin through GObject introspection: calls, errors, properties,
signals, the binary transport and async calls from a GLib main context."""
import ctypes
import threading

import pytest
from gi.repository import Gio, GLib, Json, RustBridge

from conftest import (ISOLATIONS, RawEchoRequest, RawEchoResponse, collect_results, iterate_for,
                      iterate_until)

State = RustBridge.LifecycleState

# The calls through the overrides (call, call_async, call_raw, call_json)
# behave the same whether the plugin runs in process or in a helper.
in_both_isolations = pytest.mark.parametrize('isolation', sorted(ISOLATIONS), indirect=True)


# ---- loading ---------------------------------------------------------------

def test_new_and_properties(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    assert isinstance(plugin, RustBridge.Plugin)
    assert plugin.props.path == plugin_path == plugin.get_path()
    assert plugin.props.state == State.ACTIVE == plugin.get_state()
    assert plugin.props.log_level == RustBridge.LogLevel.INFO
    assert plugin.props.rejected_request_count == 0
    assert plugin.props.has_binary_transport is True
    assert plugin.props.bundle_name is None and plugin.get_bundle_version() is None
    assert plugin.get_dropped_log_count() == 0
    assert plugin.shutdown(None) is True
    assert plugin.shutdown(None) is True    # idempotent
    assert plugin.props.state == State.STOPPED


def test_trailing_nullable_arguments_may_be_omitted(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path)
    assert plugin.call('payload.array') == '[1,2,3]'
    plugin.shutdown()


def test_load_errors(fixture_path):
    with pytest.raises(GLib.Error) as info:
        RustBridge.Plugin.new('/nonexistent/libx.so', None, None)
    assert info.value.matches(RustBridge.plugin_error_quark(), RustBridge.PluginError.LOAD_FAILED)
    assert '/nonexistent/libx.so' in info.value.message
    import os
    with pytest.raises(GLib.Error) as info:
        RustBridge.Plugin.new(os.environ['RB_NOT_A_PLUGIN'], None, None)
    assert info.value.code == RustBridge.PluginError.LOAD_FAILED
    config = RustBridge.PluginConfig.new()
    config.set_data_json('fail_init', 'true')
    with pytest.raises(GLib.Error) as info:
        RustBridge.Plugin.new(fixture_path, config, None)
    assert info.value.code == RustBridge.PluginError.INIT_FAILED


def test_new_async(plugin_path):
    out = []

    def done(source, result):
        try:
            out.append(RustBridge.Plugin.new_finish(result))
        except GLib.Error as e:
            out.append(e)

    RustBridge.Plugin.new_async(plugin_path, None, GLib.PRIORITY_DEFAULT, None, done)
    RustBridge.Plugin.new_async('/nonexistent/liby.so', None, GLib.PRIORITY_DEFAULT, None, done)
    iterate_until(lambda: len(out) == 2)
    plugins = [o for o in out if isinstance(o, RustBridge.Plugin)]
    errors = [o for o in out if isinstance(o, GLib.Error)]
    assert len(plugins) == 1 and len(errors) == 1
    assert errors[0].code == RustBridge.PluginError.LOAD_FAILED
    with plugins[0] as plugin:
        assert plugin.props.state == State.ACTIVE
        assert plugin.call_obj('math.add', {'a': 1, 'b': 2}) == {'result': 3}


def test_async_initable(plugin_path):
    """GAsyncInitable, the way generic GIO code (and Vala) constructs it."""
    plugin = RustBridge.Plugin(path=plugin_path)
    assert plugin.props.state == State.INSTALLED
    done = []
    plugin.init_async(GLib.PRIORITY_DEFAULT, None, lambda p, res: done.append(p.init_finish(res)))
    iterate_until(lambda: done)
    assert done == [True]
    assert plugin.props.state == State.ACTIVE
    plugin.shutdown(None)


# ---- JSON calls ------------------------------------------------------------

@in_both_isolations
def test_call_str(plugin):
    assert plugin.call('echo', '{"message":"Hello"}') == '{"message":"Hello","length":5}'


@in_both_isolations
def test_call_payload_kinds(plugin):
    assert plugin.call('payload.string') == '"hello"'
    assert plugin.call('payload.null') == 'null'
    assert plugin.call_obj('payload.array', None) == [1, 2, 3]


@in_both_isolations
def test_call_json_node(plugin):
    request = Json.from_string('{"a": 19, "b": 23}')
    reply = plugin.call_json('math.add', request, None)
    assert isinstance(reply, Json.Node)
    assert reply.get_object().get_int_member('result') == 42
    assert Json.to_string(plugin.call_json('payload.array', None, None), False) == '[1,2,3]'


@in_both_isolations
def test_errors_carry_plugin_code_and_message(plugin):
    with pytest.raises(GLib.Error) as info:
        plugin.call('nope', '{}')
    e = info.value
    assert e.code == RustBridge.PluginError.UNKNOWN_MESSAGE == 6
    assert e.message == 'unknown message type: nope'
    assert e.domain == 'rb-plugin-error-quark'
    assert e.matches(RustBridge.PluginError.quark(), RustBridge.PluginError.UNKNOWN_MESSAGE)
    with pytest.raises(GLib.Error) as info:
        plugin.call('echo', '{bad json')
    assert info.value.code == RustBridge.PluginError.SERIALIZATION == 5
    with pytest.raises(GLib.Error) as info:
        plugin.call('handler.fail', {})
    assert info.value.code == RustBridge.PluginError.HANDLER == 7
    assert info.value.message == 'handler failed on purpose'


def test_error_codes_match_the_wire():
    E = RustBridge.PluginError
    assert [int(E.INVALID_STATE), int(E.TOO_MANY_REQUESTS)] == [1, 13]
    assert [int(E.LOAD_FAILED), int(E.PROTOCOL), int(E.NOT_SUPPORTED)] == [100, 101, 102]
    assert GLib.quark_to_string(RustBridge.plugin_error_quark()) == 'rb-plugin-error-quark'
    assert [int(v) for v in (State.INSTALLED, State.ACTIVE, State.FAILED)] == [0, 2, 5]
    assert [int(v) for v in (RustBridge.LogLevel.TRACE, RustBridge.LogLevel.OFF)] == [0, 5]


def test_protocol_errors(fixture_path):
    with RustBridge.Plugin.new(fixture_path, None, None) as plugin:
        for tag in ('bad.notjson', 'bad.truncated', 'bad.unknown_code'):
            with pytest.raises(GLib.Error) as info:
                plugin.call(tag, '{}')
            assert info.value.code == RustBridge.PluginError.PROTOCOL, tag


def test_panic_marks_failed(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    iterate_for(10)     # the start-up events (held for the creator) first
    changes = []
    plugin.connect('state-changed', lambda p, old, new: changes.append((old, new)))
    with pytest.raises(GLib.Error) as info:
        plugin.call('panic', {})
    assert info.value.code == RustBridge.PluginError.INTERNAL
    assert plugin.props.state == State.FAILED
    assert changes[-1] == (State.ACTIVE, State.FAILED)
    with pytest.raises(GLib.Error):
        plugin.call('echo', {'message': 'after'})
    plugin.shutdown(None)


def test_cancelled_before_call(plugin):
    cancellable = Gio.Cancellable()
    cancellable.cancel()
    with pytest.raises(GLib.Error) as info:
        plugin.call('echo', {'message': 'x'}, cancellable)
    assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)


# ---- config and properties ---------------------------------------------------

def test_config_properties(plugin_path):
    config = RustBridge.PluginConfig.new()
    assert config.props.log_level == RustBridge.LogLevel.INFO
    assert config.props.worker_threads == 0
    assert config.props.max_concurrent_ops == 1000
    assert config.props.shutdown_timeout_ms == 5000
    config.props.log_level = RustBridge.LogLevel.DEBUG
    config.props.max_concurrent_ops = 8
    config.set_worker_threads(2)
    config.set_data_json('greeting', '"hi"')
    config.set_init_param_json('mode', '{"fast":true}')
    assert config.props.max_concurrent_ops == 8 == config.get_max_concurrent_ops()
    assert config.get_worker_threads() == 2
    text = config.to_json()
    assert '"greeting":"hi"' in text and '"log_level":"debug"' in text
    assert Json.to_string(config.get_data('greeting'), False) == '"hi"'
    assert config.get_data('missing') is None
    copy = RustBridge.PluginConfig.new_from_json(text)
    assert copy.to_json() == text
    with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
        assert plugin.props.config.props.log_level == RustBridge.LogLevel.DEBUG
        assert plugin.props.config.props.max_concurrent_ops == 8
        assert plugin.props.log_level == RustBridge.LogLevel.DEBUG
        # The plugin keeps a copy: later changes do not reach it.
        config.props.max_concurrent_ops = 9
        assert plugin.props.config.props.max_concurrent_ops == 8


def test_config_errors():
    with pytest.raises(GLib.Error) as info:
        RustBridge.PluginConfig.new_from_json('{"worker_threads":"x"}')
    assert info.value.code == RustBridge.PluginError.CONFIG
    config = RustBridge.PluginConfig.new()
    with pytest.raises(GLib.Error):
        config.set_data_json('k', '{not json')


def test_log_level_property_notifies(plugin):
    seen = []
    plugin.connect('notify::log-level', lambda p, pspec: seen.append(p.props.log_level))
    plugin.props.log_level = RustBridge.LogLevel.WARN
    assert plugin.get_log_level() == RustBridge.LogLevel.WARN
    plugin.set_log_level(RustBridge.LogLevel.WARN)        # unchanged: no notification
    plugin.set_log_level(RustBridge.LogLevel.INFO)
    iterate_for(10)
    assert seen == [RustBridge.LogLevel.WARN, RustBridge.LogLevel.INFO]


def test_rejected_request_count(plugin_path):
    config = RustBridge.PluginConfig(worker_threads=1, max_concurrent_ops=1, max_queued_calls=2)
    with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
        results = []

        done = collect_results(results)
        for _ in range(6):
            plugin.call_async('test.sleep', {'duration_ms': 100}, None, done)
        iterate_until(lambda: len(results) == 6)
        rejected = [r for r in results if isinstance(r, GLib.Error)]
        assert rejected and all(e.code == RustBridge.PluginError.TOO_MANY_REQUESTS for e in rejected)
        assert plugin.props.rejected_request_count == len(rejected)


# ---- signals -----------------------------------------------------------------

def test_state_notifications(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    iterate_for(10)     # the start-up events (held for the creator) first
    notified, changes = [], []
    plugin.connect('notify::state', lambda p, pspec: notified.append(p.props.state))
    plugin.connect('state-changed', lambda p, old, new: changes.append((old, new)))
    plugin.shutdown(None)
    iterate_for(20)
    assert changes == [(State.ACTIVE, State.STOPPING), (State.STOPPING, State.STOPPED)]
    # Each notification sees the state it announces, as in the C suite.
    assert notified == [State.STOPPING, State.STOPPED]
    plugin.shutdown(None)                     # idempotent: nothing more
    iterate_for(20)
    assert len(changes) == 2 and len(notified) == 2
    with pytest.raises(GLib.Error) as info:
        plugin.call('echo', {'message': 'late'})
    assert info.value.code == RustBridge.PluginError.INVALID_STATE


def test_state_notifications_from_a_thread_arrive_on_main_thread(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    iterate_for(10)     # the start-up events (held for the creator) first
    threads = []
    plugin.connect('notify::state', lambda p, pspec: threads.append(threading.get_ident()))
    worker = threading.Thread(target=plugin.shutdown, args=(None,))
    worker.start()
    worker.join()
    assert threads == []            # queued for the owner context
    iterate_until(lambda: len(threads) == 2)
    assert set(threads) == {threading.get_ident()}


def test_log_signal_runs_on_main_thread(plugin):
    main = threading.get_ident()
    seen = []

    def on_log(p, level, target, message):
        if message.startswith('py-log'):
            seen.append((threading.get_ident(), level, target, message))

    plugin.connect('log', on_log)
    plugin.call('log.emit', {'count': 3, 'level': 'warn', 'message': 'py-log', 'thread': True})
    iterate_until(lambda: len(seen) >= 3)
    assert all(t == main for t, _, _, _ in seen)
    assert all(level == RustBridge.LogLevel.WARN for _, level, _, _ in seen)
    assert all(isinstance(target, str) for _, _, target, _ in seen)


def test_log_signal_from_a_python_thread_call(plugin):
    """A call made on another Python thread logs on that thread; the
    handler still runs on the main thread."""
    main = threading.get_ident()
    seen = []
    plugin.connect('log', lambda p, level, target, message:
                   message.startswith('thr-log') and seen.append(threading.get_ident()))
    worker = threading.Thread(target=plugin.call, args=(
        'log.emit', {'count': 2, 'level': 'info', 'message': 'thr-log'}))
    worker.start()
    worker.join()
    iterate_until(lambda: len(seen) >= 2)
    assert set(seen) == {main}


def test_log_level_filters(plugin):
    seen = []
    plugin.connect('log', lambda p, level, target, message:
                   message.startswith('filtered') and seen.append(level))
    plugin.props.log_level = RustBridge.LogLevel.ERROR
    plugin.call('log.emit', {'count': 1, 'level': 'info', 'message': 'filtered-info'})
    plugin.call('log.emit', {'count': 1, 'level': 'error', 'message': 'filtered-error'})
    iterate_until(lambda: seen)
    iterate_for(20)
    assert seen == [RustBridge.LogLevel.ERROR]
    plugin.props.log_level = RustBridge.LogLevel.INFO


def test_stopping_the_log_emission(plugin):
    """A handler that stops the emission keeps the message from later
    handlers and from the default handler (GLib structured logging)."""
    before, after = [], []

    def on_log(p, level, target, message):
        if message.startswith('silenced'):
            before.append(message)
            p.stop_emission_by_name('log')

    plugin.connect('log', on_log)
    plugin.connect_after('log', lambda p, level, target, message:
                         message.startswith('silenced') and after.append(message))
    plugin.call('log.emit', {'count': 2, 'level': 'error', 'message': 'silenced'})
    iterate_until(lambda: len(before) == 2)
    assert after == []


# ---- binary transport --------------------------------------------------------

@in_both_isolations
def test_raw_ctypes_struct(plugin):
    req = RawEchoRequest(version=1, value=21, text=b'from python')
    reply = plugin.call_raw(1, GLib.Bytes.new(bytes(req)), None)
    assert isinstance(reply, GLib.Bytes)
    assert reply.get_size() == ctypes.sizeof(RawEchoResponse)
    resp = RawEchoResponse.from_buffer_copy(reply.get_data())
    assert resp.version == 1
    assert resp.value_times_two == 42
    assert resp.text_len == len(b'from python')
    assert resp.text == b'from python'


def test_raw_errors(plugin, fixture_path):
    with pytest.raises(GLib.Error) as info:
        plugin.call_raw(999, GLib.Bytes.new(b'\0' * 8), None)
    assert info.value.code == RustBridge.PluginError.UNKNOWN_MESSAGE
    import os
    with RustBridge.Plugin.new(os.environ['RB_FIXTURE_NORAW_PLUGIN'], None, None) as noraw:
        assert noraw.props.has_binary_transport is False
        with pytest.raises(GLib.Error) as info:
            noraw.call_raw(1, GLib.Bytes.new(bytes(RawEchoRequest(version=1))), None)
        assert info.value.code == RustBridge.PluginError.NOT_SUPPORTED


@in_both_isolations
def test_raw_async(plugin):
    out = []
    req = GLib.Bytes.new(bytes(RawEchoRequest(version=1, value=50, text=b'async')))
    plugin.call_raw_async(1, req, None, lambda p, res: out.append(p.call_raw_finish(res)))
    iterate_until(lambda: out)
    assert RawEchoResponse.from_buffer_copy(out[0].get_data()).value_times_two == 100


# ---- async on a GLib main context ---------------------------------------------

@in_both_isolations
def test_async_calls_from_main_loop(plugin):
    results = []
    main = threading.get_ident()

    def done(p, result, index):
        results.append((index, p.call_finish(result), threading.get_ident()))

    for i in range(100):
        plugin.call_async('echo', {'message': f'n{i}'}, None, done, i)
    iterate_until(lambda: len(results) == 100)
    assert sorted((i, r) for i, r, _ in results) == sorted(
        (i, f'{{"message":"n{i}","length":{len(str(i)) + 1}}}') for i in range(100))
    assert {t for _, _, t in results} == {main}


@in_both_isolations
def test_async_with_glib_mainloop(plugin):
    loop = GLib.MainLoop()
    out = []

    def done(p, result):
        out.append(p.call_finish(result))
        loop.quit()

    plugin.call_async('math.add', '{"a":1,"b":41}', None, done)
    guard = GLib.timeout_add_seconds(10, loop.quit)
    loop.run()
    GLib.source_remove(guard)                 # would fire in a later test
    assert out == ['{"result":42}']


@in_both_isolations
def test_async_json(plugin):
    out = []
    plugin.call_json_async('math.add', Json.from_string('{"a":2,"b":2}'), None,
                           lambda p, res: out.append(p.call_json_finish(res)))
    iterate_until(lambda: out)
    assert out[0].get_object().get_int_member('result') == 4


def test_async_error_and_cancel(fixture_path):
    with RustBridge.Plugin.new(fixture_path, None, None) as plugin:
        out = []

        done = collect_results(out)
        cancellable = Gio.Cancellable()
        plugin.call_async('test.sleep', {'duration_ms': 2000}, cancellable, done)
        GLib.timeout_add(50, lambda: cancellable.cancel() or False)
        plugin.call_async('handler.fail', None, None, done)
        iterate_until(lambda: len(out) == 2, timeout=5)
        errors = sorted(out, key=lambda e: e.domain)
        assert errors[0].matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)
        assert errors[1].code == RustBridge.PluginError.HANDLER


def test_shutdown_async(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    iterate_for(10)     # the start-up events (held for the creator) first
    changes, out = [], []
    plugin.connect('state-changed', lambda p, old, new: changes.append(new))
    plugin.shutdown_async(None, lambda p, res: out.append(p.shutdown_finish(res)))
    iterate_until(lambda: out and len(changes) == 2)
    assert out == [True]
    assert changes == [State.STOPPING, State.STOPPED]


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
    assert plugin.call_obj('counter.calls')['calls'] >= 200


# ---- start-up events, taking log messages, shutdown ------------------------------

def _record_events(plugin, events, take=True):
    plugin.connect('log', lambda p, level, target, message: events.append(message) or take)
    plugin.connect('state-changed', lambda p, old, new: events.append(new.value_nick))


def test_start_up_events_after_a_sync_load(plugin_path):
    plugin = RustBridge.Plugin.new(plugin_path, None, None)
    events = []
    _record_events(plugin, events)
    iterate_until(lambda: len(events) == 3)
    assert events[0] == 'starting' and events[2] == 'active'
    assert events[1].endswith(' plugin started')
    plugin.shutdown(None)


def test_start_up_events_in_the_async_load_callback(plugin_path):
    events, out = [], []

    def loaded(source, res):
        plugin = RustBridge.Plugin.new_finish(res)
        _record_events(plugin, events)
        out.append(plugin)

    RustBridge.Plugin.new_async(plugin_path, None, GLib.PRIORITY_DEFAULT, None, loaded)
    iterate_until(lambda: out and len(events) == 3)
    assert events[0] == 'starting' and events[2] == 'active'
    assert events[1].endswith(' plugin started')
    out[0].shutdown(None)


@pytest.mark.parametrize('returns', ['True', 'None'])
def test_a_log_handler_returning_true_keeps_it_off_stderr(fixture_path, returns):
    import subprocess
    import sys
    code = (
        'import gi\n'
        'gi.require_version("RustBridge", "1.0")\n'
        'from gi.repository import GLib, RustBridge\n'
        f'p = RustBridge.Plugin.new({fixture_path!r}, None, None)\n'
        'seen = []\n'
        f'p.connect("log", lambda p, level, target, message: seen.append(message) or {returns})\n'
        'p.call("log.emit", \'{"message": "shown", "level": "warn"}\')\n'
        'ctx = GLib.MainContext.default()\n'
        'while "shown 0" not in seen:\n'
        '    ctx.iteration(True)\n'
        'p.shutdown(None)\n'
    )
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    # A warning not taken goes to GLib's log: "RustBridge-Message: ... shown 0".
    assert ('shown 0' in out.stderr) == (returns == 'None'), out.stderr


def test_shutdown_fails_queued_calls(fixture_path):
    config = RustBridge.PluginConfig(worker_threads=1, max_concurrent_ops=1)
    plugin = RustBridge.Plugin.new(fixture_path, config, None)
    results, shut = [], []
    done = collect_results(results)
    plugin.call_async('test.sleep', {'duration_ms': 300}, None, done)
    for _ in range(3):
        plugin.call_async('echo', {'message': 'queued'}, None, done)
    iterate_for(50)
    plugin.shutdown_async(None, lambda p, res: shut.append(p.shutdown_finish(res)))
    iterate_until(lambda: len(results) == 3)
    assert not shut                   # the running call is still running
    assert all(e.code == RustBridge.PluginError.INVALID_STATE for e in results)
    iterate_until(lambda: shut and len(results) == 4)
    assert shut == [True] and isinstance(results[3], str)
