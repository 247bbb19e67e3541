# SPDX-License-Identifier: LGPL-2.1-or-later
"""PyGObject overrides for RustBridge (gi.overrides.RustBridge).

Adds what Python users expect on top of the introspected API:

- ``with RustBridge.Plugin.new(path, None, None) as plugin:`` shuts the
  plugin down on exit (``Bundle`` is a context manager too);
- ``plugin.call(tag, request)`` takes a ``str`` (passed straight to C) or
  any JSON-serialisable object (``dict``, ``list``, dataclass, ...) and
  returns the payload as ``str``;
- ``plugin.call_obj(tag, obj)`` returns parsed Python objects;
- ``plugin.call_typed(tag, request, ResponseType)`` builds a dataclass (or
  any ``ResponseType(**payload)``) from the reply;
- ``plugin.call_raw(id, data)`` takes ``GLib.Bytes``, ``bytes``,
  ``bytearray``, ``memoryview`` or any C-contiguous buffer (a
  ``ctypes.Structure``);
- ``plugin.call_async(tag, request, cancellable, callback)`` accepts the
  same request types;
- asyncio awaitables, usable from a plain ``asyncio.run()`` program with
  no GLib main loop running: ``Plugin.new_future(path)``,
  ``bundle.load_plugin_future()``, ``plugin.call_future(tag, request)``,
  ``plugin.call_obj_future(tag, obj)``, ``plugin.call_raw_future(id,
  data)`` and ``plugin.shutdown_future()``. Cancelling the awaiting task
  cancels the call's ``Gio.Cancellable``.

How the awaitables reach asyncio
--------------------------------
PyGObject 3.42 (Debian 12) has no asyncio loop that runs GLib, and a
plain asyncio loop never iterates a GMainContext, so a GTask callback
would never run. When the running asyncio loop is not GLib-driven, the
overrides start each async operation on their own GMainContext, iterated
by one daemon thread ("rustbridge-glib"); the completion runs on that
thread and is handed to the asyncio loop with
``loop.call_soon_threadsafe``. When the asyncio loop is driven by GLib (a
loop that iterates the calling thread's thread-default GMainContext and
says so with a ``_context`` attribute, as the GLib event loops of
PyGObject ≥ 3.50 and gbulb do), operations start on the caller's thread
and complete through that context, without the thread.

Signals of plugins loaded with an awaitable
-------------------------------------------
A plugin emits ``log``, ``state-changed`` and ``notify`` in the main
context that was thread-default when it was created. Under a GLib-driven
asyncio loop, ``new_future``/``load_plugin_future`` create it in the
caller's context, so handlers run on the loop's thread as usual. Under
plain asyncio they create it in the overrides' context (nothing would
ever iterate the caller's), and the handlers that the application
connects with ``plugin.connect``/``connect_after`` are re-dispatched to
the asyncio loop that awaited the load: they run on the asyncio thread,
in emission order, and before the result of a call that completes after
the emission. Such a handler runs after the emission has finished, so it
cannot stop the emission, and for a signal with a boolean return value
the emission sees ``True``. To run a handler during the emission itself
(on the overrides' thread), connect it with
``GObject.Object.connect(plugin, ...)``.
"""

import asyncio
import atexit
import collections
import dataclasses
import json
import sys
import threading
import weakref

from gi.module import get_introspection_module
from gi.overrides import override
from gi.repository import GLib, GObject, Gio

RustBridge = get_introspection_module('RustBridge')

__all__ = []


def _request_text(request):
    # The hot path: a str goes to C untouched.
    if request is None or type(request) is str:
        return request
    if dataclasses.is_dataclass(request) and not isinstance(request, type):
        request = dataclasses.asdict(request)
    elif hasattr(request, 'model_dump'):  # pydantic-style models
        request = request.model_dump()
    return json.dumps(request, separators=(',', ':'))


def _request_bytes(data):
    """*data* as ``GLib.Bytes``: ``GLib.Bytes`` (and ``None``) as is,
    ``bytes`` copied once, any other buffer (``bytearray``,
    ``memoryview``, ``array``, ``ctypes.Structure``) through ``bytes``.

    PyGObject converts a non-``bytes`` sequence item by item, which takes
    about a second per MiB; ``bytes()`` is one copy."""
    if data is None or isinstance(data, GLib.Bytes):
        return data
    if type(data) is bytes:
        return GLib.Bytes.new(data)
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError('raw request: expected GLib.Bytes, bytes, bytearray, memoryview or '
                        f'another buffer, got {type(data).__name__}') from None
    with view:
        return GLib.Bytes.new(view.tobytes())


# ---- the bridge between GLib and asyncio ------------------------------------------

class _GLibThread:
    """The overrides' own GMainContext, iterated by a daemon thread, on
    which async operations start (as its thread-default context) when no
    GLib-driven asyncio loop is running."""

    def __init__(self):
        self.context = GLib.MainContext.new()
        self._loop = GLib.MainLoop.new(self.context, False)
        self._lock = threading.Lock()
        self._queue = collections.deque()
        self._scheduled = False
        started = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(started,),
                                       name='rustbridge-glib', daemon=True)
        self.thread.start()
        started.wait()

    def _run(self, started):
        self.context.push_thread_default()
        try:
            source = GLib.idle_source_new()
            source.set_callback(lambda *a: started.set() or False)
            source.attach(self.context)
            self._loop.run()
        finally:
            self.context.pop_thread_default()

    def submit(self, func, *args):
        """Runs ``func(*args)`` on the thread, in submission order. A burst
        of submissions wakes the thread once."""
        with self._lock:
            self._queue.append((func, args))
            if self._scheduled:
                return
            self._scheduled = True
        self.context.invoke_full(GLib.PRIORITY_DEFAULT, self._drain)

    def _drain(self, *unused):
        while True:
            with self._lock:
                if not self._queue:
                    self._scheduled = False
                    return False
                batch, self._queue = self._queue, collections.deque()
            for func, args in batch:
                try:
                    func(*args)
                except BaseException:  # pragma: no cover - a bug in the overrides
                    sys.excepthook(*sys.exc_info())

    def stop(self):
        self._loop.quit()
        self.thread.join(2.0)


_glib_thread = None
_glib_thread_lock = threading.Lock()


def _get_glib_thread():
    global _glib_thread
    thread = _glib_thread
    if thread is None:
        with _glib_thread_lock:
            if _glib_thread is None:
                _glib_thread = _GLibThread()
                atexit.register(_stop_glib_thread)
            thread = _glib_thread
    return thread


def _stop_glib_thread():
    global _glib_thread
    with _glib_thread_lock:
        thread, _glib_thread = _glib_thread, None
    if thread is not None:
        thread.stop()


class _LoopLink:
    """What the overrides know about one asyncio loop: the GMainContext
    that drives it, if any, and an inbox that hands results and signal
    emissions from the GLib thread to it in order, one wakeup per burst."""

    def __init__(self, loop):
        self.loop = loop
        self.glib_context = _driving_context(loop)
        self._lock = threading.Lock()
        self._inbox = collections.deque()
        self._scheduled = False

    def post(self, func, *args):
        """Runs ``func(*args)`` on the asyncio loop (from any thread). Returns
        False when the loop is closed (nothing will run)."""
        with self._lock:
            self._inbox.append((func, args))
            if self._scheduled:
                return True
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed
            with self._lock:
                self._inbox.clear()
                self._scheduled = False
            return False
        return True

    def _drain(self):
        with self._lock:
            batch, self._inbox = self._inbox, collections.deque()
            self._scheduled = False
        for func, args in batch:
            try:
                func(*args)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as e:
                self.loop.call_exception_handler({
                    'message': f'Exception in RustBridge callback {func!r}',
                    'exception': e,
                })


def _driving_context(loop):
    """The GMainContext that *loop* iterates, when it is the calling thread's
    thread-default one; None for a plain asyncio loop."""
    context = getattr(loop, '_context', None)
    if isinstance(context, GLib.MainContext) and context == GLib.MainContext.ref_thread_default():
        return context
    return None


_links = weakref.WeakKeyDictionary()


def _link_for(loop):
    link = _links.get(loop)
    if link is None:
        link = _links[loop] = _LoopLink(loop)
    return link


def _current_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


def _settle(future, value, error, on_result=None):
    if future.done():  # cancelled
        return
    if error is None and on_result is not None:
        try:
            value = on_result(value)
        except Exception as e:  # e.g. json.loads
            error = e
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)


class _OperationFuture(asyncio.Future):
    """An ``asyncio.Future`` whose ``cancel()`` also cancels the operation's
    ``Gio.Cancellable``, at once (a done callback would run one loop
    iteration later)."""

    _rb_cancellable = None

    def cancel(self, *args, **kwargs):
        if not super().cancel(*args, **kwargs):
            return False
        self._rb_cancellable.cancel()
        return True


def _start_future(start, finish, cancellable, on_result=None, wait_for_caller=False):
    """Starts an async operation and returns an ``asyncio.Future`` for it.

    ``start(cancellable, callback)`` starts the operation and
    ``finish(source, result)`` finishes it. ``on_result(value)`` maps the
    value on the asyncio thread. Cancelling the future cancels
    *cancellable* (one is made when None). With *wait_for_caller* the
    GLib thread waits until the awaiting coroutine has run on to its next
    suspension point before it goes on dispatching, so the handlers it
    connects right after ``await`` see the events that follow."""
    loop = _current_loop()
    link = _link_for(loop)
    if cancellable is None:
        cancellable = Gio.Cancellable()
    future = _OperationFuture(loop=loop)
    future._rb_cancellable = cancellable

    if link.glib_context is not None:
        # A GLib-driven loop: the callback runs on this thread.
        def done(source, result, *unused):
            try:
                value = finish(source, result)
            except Exception as e:  # GLib.Error
                _settle(future, None, e)
            else:
                _settle(future, value, None, on_result)

        start(cancellable, done)
        return future

    def done_on_glib_thread(source, result, *unused):
        try:
            value, error = finish(source, result), None
        except Exception as e:  # GLib.Error
            value, error = None, e
        if not wait_for_caller or future.done():
            link.post(_settle, future, value, error, on_result)
            return
        resumed = threading.Event()

        def settle_then_release():
            _settle(future, value, error, on_result)
            # Runs after the task step that set_result() scheduled.
            loop.call_soon(resumed.set)

        if link.post(settle_then_release):
            resumed.wait(2.0)

    _get_glib_thread().submit(start, cancellable, done_on_glib_thread)
    return future


def _route_signals(plugin, loop):
    """Makes the handlers connected to *plugin* from now on run on *loop*."""
    plugin._rb_signal_link = _link_for(loop)
    return plugin


def _routed_handler(plugin, detailed_signal, handler, args):
    link = plugin.__dict__.get('_rb_signal_link')
    if link is None or link.glib_context is not None:
        return None
    name = detailed_signal.split('::', 1)[0]
    info = GObject.signal_query(name, type(plugin))
    if info is None:
        return None  # let GObject raise its own error
    returns_bool = info.return_type == GObject.TYPE_BOOLEAN
    if info.return_type not in (GObject.TYPE_NONE, GObject.TYPE_BOOLEAN):
        return None

    def relay(*signal_args):
        link.post(handler, *signal_args, *args)
        return True if returns_bool else None

    return relay


class Plugin(RustBridge.Plugin):
    """A loaded rustbridge plugin (see the C documentation of RbPlugin)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.shutdown(None)
        return False

    def connect(self, detailed_signal, handler, *args):
        """``GObject.Object.connect``; for a plugin loaded with an awaitable
        under plain asyncio, *handler* runs on the asyncio loop (see the
        module documentation)."""
        relay = _routed_handler(self, detailed_signal, handler, args)
        if relay is not None:
            return _connect(self, detailed_signal, relay)
        return _connect(self, detailed_signal, handler, *args)

    def connect_after(self, detailed_signal, handler, *args):
        """``GObject.Object.connect_after``, routed like :meth:`connect`."""
        relay = _routed_handler(self, detailed_signal, handler, args)
        if relay is not None:
            return _connect_after(self, detailed_signal, relay)
        return _connect_after(self, detailed_signal, handler, *args)

    def call(self, type_tag, request=None, cancellable=None):
        """Calls the handler for *type_tag*; returns the payload JSON text.

        *request* is JSON text (``str``) or a JSON-serialisable object.
        Raises ``GLib.Error`` whose ``code`` is the plugin's error code and
        whose ``message`` is the plugin's error message.
        """
        if type(request) is not str and request is not None:
            request = _request_text(request)
        return _call(self, type_tag, request, cancellable)

    def call_obj(self, type_tag, request=None, cancellable=None):
        """Like :meth:`call`, returning the parsed payload."""
        return json.loads(self.call(type_tag, request, cancellable))

    def call_typed(self, type_tag, request, response_type, cancellable=None):
        """Calls with a dataclass (or any JSON-serialisable) request and
        builds *response_type* from the payload object's members."""
        payload = self.call_obj(type_tag, request, cancellable)
        if isinstance(payload, dict):
            if dataclasses.is_dataclass(response_type):
                names = {f.name for f in dataclasses.fields(response_type)}
                payload = {k: v for k, v in payload.items() if k in names}
            return response_type(**payload)
        return response_type(payload)

    def call_raw(self, message_id, request, cancellable=None):
        """Raw call: *request* is ``GLib.Bytes``, ``bytes``, ``bytearray``,
        ``memoryview`` or another buffer; returns ``GLib.Bytes``."""
        return _call_raw(self, message_id, _request_bytes(request), cancellable)

    def call_async(self, type_tag, request=None, cancellable=None, callback=None, *user_data):
        """Starts :meth:`call` on the plugin's worker pool; *callback*
        ``(plugin, result, *user_data)`` runs in the caller's main context
        and gets the payload with ``plugin.call_finish(result)``."""
        _call_async(self, type_tag, _request_text(request), cancellable, callback, *user_data)

    def call_raw_async(self, message_id, request, cancellable=None, callback=None, *user_data):
        """:meth:`call_raw` on the worker pool; finish with ``call_raw_finish``."""
        _call_raw_async(self, message_id, _request_bytes(request), cancellable, callback, *user_data)

    # -- asyncio ---------------------------------------------------------------------

    @classmethod
    def new_future(cls, path, config=None, cancellable=None, io_priority=GLib.PRIORITY_DEFAULT):
        """Loads the plugin at *path* without blocking; returns an
        ``asyncio.Future`` for the active plugin. Await it from a plain
        ``asyncio.run()`` program or a GLib-driven one; the module
        documentation says where the plugin's signal handlers run."""
        loop = _current_loop()

        def start(cancellable, callback):
            _new_async(path, config, io_priority, cancellable, callback)

        return _start_future(start, lambda source, result: _new_finish(result), cancellable,
                             lambda plugin: _route_signals(plugin, loop), wait_for_caller=True)

    def call_future(self, type_tag, request=None, cancellable=None, parse=False):
        """Starts an async call and returns an ``asyncio.Future`` for the
        payload text (parsed when *parse* is true). *request* is a ``str``
        or a JSON-serialisable object. Cancelling the future (or the task
        awaiting it) cancels the call: a call still queued never reaches
        the plugin."""
        text = _request_text(request)

        def start(cancellable, callback):
            _call_async(self, type_tag, text, cancellable, callback)

        return _start_future(start, _call_finish, cancellable, json.loads if parse else None)

    def call_obj_future(self, type_tag, request=None, cancellable=None):
        """:meth:`call_future` returning the parsed payload."""
        return self.call_future(type_tag, request, cancellable, parse=True)

    def call_raw_future(self, message_id, request, cancellable=None):
        """Starts a raw call; returns an ``asyncio.Future`` for the reply
        ``GLib.Bytes``. *request* as in :meth:`call_raw`."""
        data = _request_bytes(request)

        def start(cancellable, callback):
            _call_raw_async(self, message_id, data, cancellable, callback)

        return _start_future(start, _call_raw_finish, cancellable)

    def shutdown_future(self, cancellable=None):
        """Shuts the plugin down without blocking; returns an
        ``asyncio.Future`` resolved with True."""
        def start(cancellable, callback):
            _shutdown_async(self, cancellable, callback)

        return _start_future(start, _shutdown_finish, cancellable)


_connect = GObject.Object.connect
_connect_after = GObject.Object.connect_after
_call = RustBridge.Plugin.call
_call_raw = RustBridge.Plugin.call_raw
_call_async = RustBridge.Plugin.call_async
_call_finish = RustBridge.Plugin.call_finish
_call_raw_async = RustBridge.Plugin.call_raw_async
_call_raw_finish = RustBridge.Plugin.call_raw_finish
_shutdown_async = RustBridge.Plugin.shutdown_async
_shutdown_finish = RustBridge.Plugin.shutdown_finish
_new_async = RustBridge.Plugin.new_async
_new_finish = RustBridge.Plugin.new_finish

Plugin = override(Plugin)
__all__.append('Plugin')


if hasattr(RustBridge, 'Bundle'):
    class Bundle(RustBridge.Bundle):
        """A ``.rbp`` bundle; ``with`` closes nothing but keeps symmetry
        with Plugin and releases the object at the end of the block."""

        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            return False

        def load_plugin_future(self, variant=None, config=None, cancellable=None):
            """Verifies, extracts and loads the plugin without blocking;
            returns an ``asyncio.Future`` for the active plugin (see
            :meth:`Plugin.new_future` for where its signals go)."""
            loop = _current_loop()

            def start(cancellable, callback):
                _load_plugin_async(self, variant, config, cancellable, callback)

            return _start_future(start, _load_plugin_finish, cancellable,
                                 lambda plugin: _route_signals(plugin, loop), wait_for_caller=True)

    _load_plugin_async = RustBridge.Bundle.load_plugin_async
    _load_plugin_finish = RustBridge.Bundle.load_plugin_finish

    Bundle = override(Bundle)
    __all__.append('Bundle')
