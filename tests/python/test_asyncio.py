# SPDX-License-Identifier: LGPL-2.1-or-later
"""The asyncio awaitables of gi.overrides.RustBridge under a plain
``asyncio.run()`` (no GLib main loop anywhere: PyGObject 3.42 has none for
asyncio), their cancellation, where signal handlers run, raw calls with
Python buffers, and the same awaitables inside a GLib-driven asyncio loop;
the plugin tests run in process isolation too (same behaviour in all
modes)."""
import array
import asyncio
import ctypes
import selectors
import shutil
import threading
import time

import pytest
from gi.repository import Gio, GLib, GObject, RustBridge

from conftest import ISOLATIONS, RawEchoRequest, RawEchoResponse, _isolation, config_for

State = RustBridge.LifecycleState
PluginError = RustBridge.PluginError

isolation = pytest.fixture(params=sorted(ISOLATIONS))(_isolation)


def run(coro, timeout=20):
    """asyncio.run() with a deadline: before the overrides handled plain
    asyncio, awaiting a call hung forever."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting in the asyncio loop')
        await asyncio.sleep(0.005)


def single_worker(isolation):
    return config_for(isolation, worker_threads=1, max_concurrent_ops=1)


# ---- calls under plain asyncio.run() ------------------------------------------------

def test_call_future_under_plain_asyncio_run(plugin):
    async def main():
        text = await plugin.call_future('echo', '{"message":"hi"}')
        obj = await plugin.call_future('math.add', {'a': 2, 'b': 3}, parse=True)
        obj2 = await plugin.call_obj_future('echo', {'message': 'héllo'})
        return text, obj, obj2

    text, obj, obj2 = run(main())
    assert text == '{"message":"hi","length":2}'
    assert obj == {'result': 5}
    assert obj2 == {'message': 'héllo', 'length': 6}


def test_many_concurrent_calls_under_asyncio_run(plugin):
    async def main():
        return await asyncio.gather(*(plugin.call_obj_future('math.add', {'a': i, 'b': 1})
                                      for i in range(500)))

    assert run(main()) == [{'result': i + 1} for i in range(500)]


def test_call_future_errors(plugin):
    async def main():
        with pytest.raises(GLib.Error) as info:
            await plugin.call_future('handler.fail', {})
        assert (info.value.domain, info.value.code, info.value.message) == \
            ('rb-plugin-error-quark', PluginError.HANDLER, 'handler failed on purpose')
        with pytest.raises(GLib.Error) as info:
            await plugin.call_obj_future('nope')
        assert info.value.code == PluginError.UNKNOWN_MESSAGE

    run(main())


def test_call_future_runs_results_on_the_asyncio_thread(plugin):
    seen = []

    async def main():
        future = plugin.call_future('echo', {'message': 'x'})
        future.add_done_callback(lambda f: seen.append(threading.get_ident()))
        await future
        return threading.get_ident()

    assert seen == [run(main())]


def test_cancelling_the_task_cancels_the_gcancellable(fixture_path, config):
    cancellable = Gio.Cancellable()

    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, config)
        task = asyncio.ensure_future(plugin.call_future('test.sleep', {'duration_ms': 600},
                                                        cancellable))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cancellable.is_cancelled()
        return plugin

    plugin = run(main())
    started = time.monotonic()
    plugin.shutdown(None)
    # The plugin still finishes the running sleep (0.6 s from its start).
    assert time.monotonic() - started < 1.1


def test_cancelled_queued_call_never_reaches_the_plugin(fixture_path, isolation):
    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, single_worker(isolation))
        slow = plugin.call_future('test.sleep', {'duration_ms': 300})
        await asyncio.sleep(0.05)          # the sleep holds the only worker
        queued = asyncio.ensure_future(plugin.call_future('echo', {'message': 'never'}))
        await asyncio.sleep(0)
        queued.cancel()
        await slow
        with pytest.raises(asyncio.CancelledError):
            await queued
        calls = await plugin.call_obj_future('counter.calls')
        await plugin.shutdown_future()
        return calls

    # The sleep and the counter call itself, not the cancelled echo.
    assert run(main()) == {'calls': 2}


def test_wait_for_timeout_cancels_the_call(fixture_path, isolation):
    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, single_worker(isolation))
        cancellable = Gio.Cancellable()
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(plugin.call_future('test.sleep', {'duration_ms': 400},
                                                      cancellable), 0.05)
        assert cancellable.is_cancelled()
        await plugin.shutdown_future()

    run(main())


def test_a_cancelled_cancellable_fails_the_future(plugin):
    cancellable = Gio.Cancellable()
    cancellable.cancel()

    async def main():
        with pytest.raises(GLib.Error) as info:
            await plugin.call_future('echo', {'message': 'x'}, cancellable)
        assert info.value.matches(Gio.io_error_quark(), Gio.IOErrorEnum.CANCELLED)

    run(main())


def test_bad_payload_for_parse_fails_the_future_not_the_loop(fixture_path, config):
    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, config)
        # "hello" is valid JSON; a bare string reply parses to a str.
        assert await plugin.call_obj_future('payload.string') == 'hello'
        with pytest.raises(TypeError):
            plugin.call_future('echo', {'message': object()})
        await plugin.shutdown_future()

    run(main())


# ---- load and shutdown ------------------------------------------------------------

def test_new_future_and_shutdown_future(plugin_path, config):
    async def main():
        plugin = await RustBridge.Plugin.new_future(plugin_path, config)
        assert isinstance(plugin, RustBridge.Plugin)
        assert plugin.props.state == State.ACTIVE
        assert await plugin.call_obj_future('math.add', {'a': 20, 'b': 22}) == {'result': 42}
        assert await plugin.shutdown_future() is True
        return plugin

    assert run(main()).props.state == State.STOPPED


def test_new_future_errors(tmp_path):
    async def main():
        with pytest.raises(GLib.Error) as info:
            await RustBridge.Plugin.new_future(str(tmp_path / 'missing.so'))
        return info.value

    error = run(main())
    assert error.domain == 'rb-plugin-error-quark'
    assert 'missing.so' in error.message


def test_signal_handlers_run_on_the_asyncio_thread(plugin_path, config, isolation):
    logs, states, notified, threads = [], [], [], set()

    async def main():
        plugin = await RustBridge.Plugin.new_future(plugin_path, config)
        plugin.connect('log', lambda p, level, target, message:
                       (threads.add(threading.get_ident()), logs.append(message)))
        plugin.connect('state-changed', lambda p, old, new:
                       (threads.add(threading.get_ident()), states.append(new)))
        plugin.connect_after('notify::state', lambda p, pspec:
                             (threads.add(threading.get_ident()), notified.append(pspec.name)))
        reply = await plugin.call_obj_future('log.emit', {'count': 3, 'message': 'async'})
        # The start-up message (held until the load was awaited) comes
        # first; messages logged during a call arrive before its result in
        # process; from a helper they travel on their own channel and may
        # come after it (doc/isolation.md).
        if isolation != RustBridge.Isolation.NONE:
            await until(lambda: len(logs) == 4)
        assert logs[0].endswith(' plugin started')
        assert logs[1:] == ['async 0', 'async 1', 'async 2']
        assert reply == {'emitted': 3}
        await plugin.shutdown_future()
        await until(lambda: len(states) == 4 and len(notified) == 4)
        return threading.get_ident()

    me = run(main())
    assert threads == {me}
    assert states == [State.STARTING, State.ACTIVE, State.STOPPING, State.STOPPED]
    assert notified == ['state'] * 4


def test_disconnecting_a_handler(fixture_path, config):
    logs = []

    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, config)
        handler = plugin.connect('log', lambda p, level, target, message: logs.append(message))
        await plugin.call_future('log.emit', {'message': 'one'})
        await until(lambda: len(logs) == 2)        # from a helper, maybe after the reply
        plugin.disconnect(handler)
        await plugin.call_future('log.emit', {'message': 'two'})
        await asyncio.sleep(0.05)
        await plugin.shutdown_future()

    run(main())
    assert logs == ['fixture plugin started', 'one 0']


def test_user_data_is_passed_to_handlers(fixture_path, config):
    got = []

    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, config)
        plugin.connect('log', lambda p, level, target, message, a, b: got.append((message, a, b)),
                       'x', 2)
        await plugin.call_future('log.emit', {'message': 'ud'})
        await until(lambda: len(got) == 2)
        await plugin.shutdown_future()

    run(main())
    assert got == [('fixture plugin started', 'x', 2), ('ud 0', 'x', 2)]


_forwarded = []


def _forwarded_log_levels():
    """The levels GLib logging sees from now on. GLib takes a log writer
    once per process (a second g_log_set_writer_func() aborts), so it is
    installed by the first test that asks, for both isolation modes."""
    if not _forwarded:
        def writer(level, fields, n_fields, user_data):
            _forwarded[0].append(level)
            return GLib.LogWriterOutput.HANDLED
        _forwarded.append([])
        GLib.log_set_writer_func(writer, None)
    _forwarded[0].clear()
    return _forwarded[0]


def test_a_handler_can_stop_the_emission(fixture_path, config):
    # Handlers run during the emission, on the asyncio thread: stopping it
    # keeps the default handler from passing the message to GLib logging.
    seen = []
    forwarded = _forwarded_log_levels()

    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, config)

        def handler(p, level, target, message):
            seen.append((message, threading.get_ident()))
            p.stop_emission_by_name('log')

        plugin.connect('log', handler)
        await plugin.call_future('log.emit', {'message': 'quiet', 'level': 'warn'})
        await until(lambda: len(seen) == 2)
        await plugin.shutdown_future()
        return threading.get_ident()

    me = run(main())
    assert seen == [('fixture plugin started', me), ('quiet 0', me)]
    assert GLib.LogLevelFlags.LEVEL_MESSAGE not in forwarded


def test_signals_wait_for_the_next_loop_in_the_thread(fixture_path, config):
    logs = []

    async def load():
        return await RustBridge.Plugin.new_future(fixture_path, config)

    plugin = run(load())
    plugin.connect('log', lambda p, level, target, message: logs.append(message))
    plugin.call('log.emit', {'message': 'between'})   # no loop runs now
    assert logs == []

    async def later():
        # Any awaitable of the overrides makes this loop dispatch the
        # thread's private context.
        assert await plugin.call_obj_future('payload.null') is None
        await until(lambda: logs)
        await plugin.shutdown_future()

    run(later())
    assert logs == ['between 0']


def test_asyncio_loops_in_two_threads(plugin_path, config):
    results = {}
    barrier = threading.Barrier(2)

    def worker(k):
        async def main():
            plugin = await RustBridge.Plugin.new_future(plugin_path, config)
            threads = set()
            plugin.connect('log', lambda *a: threads.add(threading.get_ident()))
            values = [await plugin.call_obj_future('math.add', {'a': k, 'b': i}) for i in range(50)]
            await plugin.call_future('log.emit', {})
            await until(lambda: threads)
            # The fixture keeps its log callback in a library global that a
            # shutdown clears: both log before either shuts down.
            barrier.wait(10)
            await plugin.shutdown_future()
            return values, (threads, threading.get_ident())
        results[k] = run(main())

    threads = [threading.Thread(target=worker, args=(k,)) for k in (100, 200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for k in (100, 200):
        values, own_thread = results[k]
        assert values == [{'result': k + i} for i in range(50)]
        assert own_thread[0] == {own_thread[1]}


def test_sync_loaded_plugin_can_be_awaited(plugin_path, config):
    # Created outside the loop (owner: the default main context); its calls
    # still complete under asyncio.run().
    with RustBridge.Plugin.new(plugin_path, config, None) as plugin:
        async def main():
            return await plugin.call_obj_future('math.add', {'a': 1, 'b': 2})
        assert run(main()) == {'result': 3}


def test_two_asyncio_runs_in_a_row(plugin):
    for i in range(3):
        async def main():
            return await plugin.call_obj_future('math.add', {'a': i, 'b': i})
        assert run(main()) == {'result': 2 * i}


# ---- raw calls with Python buffers ---------------------------------------------

def raw_request(value, text):
    return RawEchoRequest(version=1, value=value, text=text)


@pytest.mark.parametrize('kind', ['gbytes', 'bytes', 'bytearray', 'memoryview', 'struct', 'array'])
def test_raw_call_accepts_buffers(plugin, kind):
    if not plugin.props.has_binary_transport:
        pytest.skip('no raw transport')
    req = raw_request(21, b'buf')
    data = {
        'gbytes': lambda: GLib.Bytes.new(bytes(req)),
        'bytes': lambda: bytes(req),
        'bytearray': lambda: bytearray(bytes(req)),
        'memoryview': lambda: memoryview(bytes(req)),
        'struct': lambda: req,
        'array': lambda: array.array('B', bytes(req)),
    }[kind]()
    reply = RawEchoResponse.from_buffer_copy(plugin.call_raw(1, data, None).get_data())
    assert (reply.value_times_two, reply.text) == (42, b'buf')

    async def main():
        return await plugin.call_raw_future(1, data)

    reply = RawEchoResponse.from_buffer_copy(run(main()).get_data())
    assert (reply.value_times_two, reply.text) == (42, b'buf')

    out = []
    plugin.call_raw_async(1, data, None, lambda p, res: out.append(p.call_raw_finish(res)))
    from conftest import iterate_until
    iterate_until(lambda: out)
    assert RawEchoResponse.from_buffer_copy(out[0].get_data()).value_times_two == 42


def test_raw_call_accepts_a_non_contiguous_view(plugin):
    if not plugin.props.has_binary_transport:
        pytest.skip('no raw transport')
    padded = bytearray()
    for b in bytes(raw_request(5, b'nc')):
        padded += bytes([b, 0xEE])
    view = memoryview(padded)[::2]
    assert not view.c_contiguous
    reply = RawEchoResponse.from_buffer_copy(plugin.call_raw(1, view, None).get_data())
    assert (reply.value_times_two, reply.text) == (10, b'nc')


def test_raw_call_rejects_non_buffers(plugin):
    for bad in ('text', 12, [1, 2]):
        with pytest.raises(TypeError, match='raw request'):
            plugin.call_raw(1, bad, None)
        with pytest.raises(TypeError, match='raw request'):
            plugin.call_raw_future(1, bad)


def test_raw_future_errors(fixture_path, config):
    async def main():
        plugin = await RustBridge.Plugin.new_future(fixture_path, config)
        with pytest.raises(GLib.Error) as info:
            await plugin.call_raw_future(999, b'')
        await plugin.shutdown_future()
        return info.value

    assert run(main()).domain == 'rb-plugin-error-quark'


def test_large_bytearray_is_converted_in_one_copy(plugin):
    # PyGObject converts a bytearray item by item (about 1 s per MiB); the
    # overrides go through bytes(). 4 MiB would take seconds the slow way.
    if not plugin.props.has_binary_transport:
        pytest.skip('no raw transport')
    big = bytearray(4 << 20)
    big[:ctypes.sizeof(RawEchoRequest)] = bytes(raw_request(1, b'big'))
    started = time.monotonic()
    with pytest.raises(GLib.Error):
        plugin.call_raw(1, big, None)  # wrong size for message 1: refused
    assert time.monotonic() - started < 1.0


# ---- bundles ----------------------------------------------------------------------

@pytest.fixture(scope='module')
def signed_bundle(tmp_path_factory):
    if shutil.which('minisign') is None:
        pytest.skip('minisign not installed')
    from test_bundle import make_bundle, make_key, trusted_key
    d = tmp_path_factory.mktemp('asyncio-bundle')
    key, pub = make_key(d, 'k')
    return str(make_bundle(d / 'p.rbp', key, pub)), trusted_key(pub.read_text())


def test_bundle_load_plugin_future(signed_bundle, isolation):
    path, key = signed_bundle
    logs = []

    async def main():
        bundle = RustBridge.Bundle.new_for_path(path)
        bundle.props.public_key = key
        plugin = await bundle.load_plugin_future(None, config_for(
            isolation, log_level=RustBridge.LogLevel.DEBUG))
        plugin.connect('log', lambda p, level, target, message: logs.append(threading.get_ident()))
        assert plugin.props.bundle_name == 'py-plugin'
        assert await plugin.call_obj_future('math.add', {'a': 1, 'b': 1}) == {'result': 2}
        await plugin.call_future('log.emit', {})
        await until(lambda: len(logs) == 2)
        await plugin.shutdown_future()
        return threading.get_ident()

    # The start-up message (held until the load was awaited), then the call's.
    me = run(main())
    assert logs == [me, me]


def test_bundle_load_plugin_future_errors(signed_bundle, tmp_path):
    path, _ = signed_bundle
    from test_bundle import make_key, trusted_key
    _, other = make_key(tmp_path, 'other')

    async def main():
        bundle = RustBridge.Bundle.new_for_path(path)
        bundle.props.public_key = trusted_key(other.read_text())
        with pytest.raises(GLib.Error) as info:
            await bundle.load_plugin_future()
        return info.value

    error = run(main())
    assert error.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_INVALID)


# ---- a GLib-driven asyncio loop ----------------------------------------------------

class GLibPumpSelector(selectors.DefaultSelector):
    """A selector that also iterates GLib's default main context: a small
    GLib-driven asyncio loop, like those of PyGObject >= 3.50 or gbulb."""

    def select(self, timeout=None):
        context = GLib.MainContext.default()
        while context.iteration(False):
            pass
        return super().select(0.002 if timeout is None else min(timeout, 0.002))


def glib_driven_loop():
    loop = asyncio.SelectorEventLoop(GLibPumpSelector())
    loop._context = GLib.MainContext.default()
    return loop


def test_awaitables_in_a_glib_driven_loop(plugin_path, config):
    logs, states, direct = [], [], []

    async def main():
        plugin = await RustBridge.Plugin.new_future(plugin_path, config)
        # Emitted in this thread's context: no overrides' thread involved.
        GObject.Object.connect(plugin, 'log', lambda *a: direct.append(threading.get_ident()))
        plugin.connect('log', lambda p, level, target, message:
                       logs.append((message, threading.get_ident())))
        plugin.connect('state-changed', lambda p, old, new: states.append(new))
        assert await plugin.call_obj_future('log.emit', {'message': 'glib'}) == {'emitted': 1}
        assert await plugin.call_obj_future('math.add', {'a': 1, 'b': 1}) == {'result': 2}
        cancellable = Gio.Cancellable()
        task = asyncio.ensure_future(plugin.call_future('test.sleep', {'duration_ms': 400},
                                                        cancellable))
        await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert cancellable.is_cancelled()
        await plugin.shutdown_future()
        await until(lambda: len(states) == 2 and logs)
        return threading.get_ident()

    with asyncio.Runner(loop_factory=glib_driven_loop) as runner:
        me = runner.run(asyncio.wait_for(main(), 20))
    assert logs == [('glib 0', me)]
    assert direct == [me]
    assert states == [State.STOPPING, State.STOPPED]


# ---- interpreter exit ---------------------------------------------------------------

@pytest.mark.parametrize('shutdown', [True, False])
def test_exit_after_asyncio_run(plugin_path, shutdown, isolation):
    import os
    import subprocess
    import sys
    code = (
        'import asyncio, gi\n'
        'gi.require_version("RustBridge", "1.0")\n'
        'from gi.repository import RustBridge\n'
        'async def main():\n'
        f'    c = RustBridge.PluginConfig(isolation=RustBridge.Isolation({int(isolation)}))\n'
        f'    p = await RustBridge.Plugin.new_future({plugin_path!r}, c)\n'
        '    p.connect("log", lambda *a: None)\n'
        '    print((await p.call_obj_future("math.add", {"a": 1, "b": 2}))["result"])\n'
        '    asyncio.ensure_future(p.call_future("test.sleep", {"duration_ms": 200}))\n'
        # Running, not queued, when the shutdown starts (queued ones fail).
        '    await asyncio.sleep(0.05)\n'
        + ('    await p.shutdown_future()\n' if shutdown else '') +
        '    return p\n'
        'p = asyncio.run(main())\n'
        'print(p.props.state.value_nick)\n'
    )
    started = time.monotonic()
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60,
                         env=os.environ.copy())
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ['3', 'stopped' if shutdown else 'active']
    assert out.stderr == ''
    assert time.monotonic() - started < 10
