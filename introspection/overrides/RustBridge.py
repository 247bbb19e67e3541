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
plain asyncio loop iterates no GMainContext, so a GTask callback would
never run. For a plain asyncio loop the overrides make one private
GMainContext per thread, created with
``G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING`` so that a completion arriving
from a worker thread always writes to its wakeup fd; the asyncio loop
watches that fd (``loop.add_reader``) and dispatches the context on its
own thread. Each operation starts with that context pushed as
thread-default, so its GTask completes there. No extra thread, no
``call_soon_threadsafe`` hop: results and signals arrive on the asyncio
thread, from the asyncio loop. When the asyncio loop is driven by GLib (a
loop that iterates the calling thread's thread-default GMainContext and
says so with a ``_context`` attribute, as the GLib event loops of
PyGObject >= 3.50 and gbulb do), operations start in the caller's context
as in C.

Signals of plugins loaded with an awaitable
-------------------------------------------
A plugin emits ``log``, ``state-changed`` and ``notify`` in the main
context that was thread-default when it was created. ``new_future`` and
``load_plugin_future`` create it in the context they complete in: under
plain asyncio the private context above, so handlers connected with
``plugin.connect`` run on the asyncio thread, during the emission (they
may stop it), whenever the asyncio loop runs; under a GLib-driven loop the
caller's context, as usual. The private context is dispatched by an
asyncio loop from its first awaitable of these overrides on; while no such
loop runs in that thread, the plugin's signals wait (the plugin's log
queue is bounded). After a
load completes, the private context is not dispatched again before the
awaiting coroutine has run on to its next ``await``: handlers it connects
right after the load see every event that follows. A plugin made with the
synchronous ``Plugin.new`` emits in the thread-default context of its
creator (the global default one, which a plain asyncio program never
iterates); its awaited calls still complete.
"""

import asyncio
import ctypes
import dataclasses
import json
import threading
import weakref

from gi.module import get_introspection_module
from gi.overrides import override
from gi.repository import GLib, Gio

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

class _GLibC:
    """The few GMainContext functions the typelib cannot call usefully
    (g_main_context_query fills a caller-allocated GPollFD array), through
    ctypes on the libglib that PyGObject already loaded."""

    class PollFD(ctypes.Structure):
        _fields_ = [('fd', ctypes.c_int), ('events', ctypes.c_ushort),
                    ('revents', ctypes.c_ushort)]

    def __init__(self):
        lib = ctypes.CDLL('libglib-2.0.so.0')
        ptr, cint = ctypes.c_void_p, ctypes.c_int

        def fn(name, restype, *argtypes):
            f = getattr(lib, name)
            f.restype, f.argtypes = restype, list(argtypes)
            return f

        self.new_with_flags = fn('g_main_context_new_with_flags', ptr, cint)
        self.push = fn('g_main_context_push_thread_default', None, ptr)
        self.pop = fn('g_main_context_pop_thread_default', None, ptr)
        self.acquire = fn('g_main_context_acquire', cint, ptr)
        self.release = fn('g_main_context_release', None, ptr)
        self.prepare = fn('g_main_context_prepare', cint, ptr, ctypes.POINTER(cint))
        self.query = fn('g_main_context_query', cint, ptr, cint, ctypes.POINTER(cint),
                        ctypes.POINTER(self.PollFD), cint)
        self.iteration = fn('g_main_context_iteration', cint, ptr, cint)

    def new_pollable_context(self):
        """A new GMainContext that signals its wakeup fd whenever a source
        is attached or made ready, even when no thread owns it
        (G_MAIN_CONTEXT_FLAGS_OWNERLESS_POLLING, GLib >= 2.72); returns
        (pointer, fd)."""
        context = self.new_with_flags(int(GLib.MainContextFlags.OWNERLESS_POLLING))
        if not self.acquire(context):
            raise RuntimeError('cannot acquire a new GMainContext')
        try:
            priority, timeout = ctypes.c_int(), ctypes.c_int()
            fds = (self.PollFD * 4)()
            self.prepare(context, ctypes.byref(priority))
            n = self.query(context, GLib.MAXINT32, ctypes.byref(timeout), fds, len(fds))
        finally:
            self.release(context)
        if n != 1:
            raise RuntimeError(f'a new GMainContext polls {n} file descriptors, expected 1')
        return context, fds[0].fd


_glib_c = None
_per_thread = threading.local()


def _thread_context():
    """This thread's private (pointer, wakeup fd) context, made on first use."""
    global _glib_c
    pair = getattr(_per_thread, 'context', None)
    if pair is None:
        if _glib_c is None:
            _glib_c = _GLibC()
        pair = _per_thread.context = _glib_c.new_pollable_context()
    return pair


class _LoopLink:
    """How async operations started from one asyncio loop complete.

    A GLib-driven loop (one that iterates this thread's thread-default
    GMainContext) needs nothing: operations start as usual and complete
    through that context. For a plain asyncio loop, operations start with
    this thread's private context pushed as thread-default, and the loop
    dispatches that context (on its own thread) whenever its wakeup fd is
    readable."""

    def __init__(self, loop):
        self.loop = loop
        self.glib_context = _driving_context(loop)
        self.context = self.fd = None
        self.hold = False
        if self.glib_context is None:
            self.context, self.fd = _thread_context()
            loop.add_reader(self.fd, self.pump)

    def start(self, start, *args):
        if self.context is None:
            start(*args)
            return
        _glib_c.push(self.context)
        try:
            start(*args)
        finally:
            _glib_c.pop(self.context)

    def pump(self):
        """Dispatches what is ready in the private context. Stops after a
        load has completed and goes on once the coroutine awaiting it has
        run to its next suspension point, so the handlers it connects right
        after ``await`` are in place for the events that follow."""
        iteration, context = _glib_c.iteration, self.context
        self.hold = False
        while iteration(context, False):
            if self.hold:
                self.hold = False
                self.loop.call_soon(self.pump)
                return


def _driving_context(loop):
    """The GMainContext that *loop* iterates, when it is the calling thread's
    thread-default one; None for a plain asyncio loop."""
    context = getattr(loop, '_context', None)
    if isinstance(context, GLib.MainContext) and context == GLib.MainContext.ref_thread_default():
        return context
    return None


_links = weakref.WeakKeyDictionary()
_links_lock = threading.Lock()


def _link_for(loop):
    link = _links.get(loop)
    if link is None:
        with _links_lock:
            link = _links.get(loop)
            if link is None:
                link = _links[loop] = _LoopLink(loop)
    return link


def _current_loop():
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop()


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


def _start_future(start, finish, cancellable, on_result=None, is_load=False):
    """Starts an async operation and returns an ``asyncio.Future`` for it.

    ``start(cancellable, callback)`` starts the operation and
    ``finish(source, result)`` finishes it; ``on_result(value)`` maps the
    value. Cancelling the future cancels *cancellable* (one is made when
    None)."""
    loop = _current_loop()
    link = _link_for(loop)
    if cancellable is None:
        cancellable = Gio.Cancellable()
    future = _OperationFuture(loop=loop)
    future._rb_cancellable = cancellable

    def done(source, result, *unused):
        # Runs on the loop's thread, from the loop (see _LoopLink).
        if future.done() or loop.is_closed():  # cancelled, or too late
            return
        try:
            value = finish(source, result)
            if on_result is not None:
                value = on_result(value)
        except Exception as e:  # GLib.Error; json.loads errors
            future.set_exception(e)
        else:
            future.set_result(value)
            if is_load:
                link.hold = True

    link.start(start, cancellable, done)
    return future


class Plugin(RustBridge.Plugin):
    """A loaded rustbridge plugin (see the C documentation of RbPlugin)."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.shutdown(None)
        return False

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
        def start(cancellable, callback):
            _new_async(path, config, io_priority, cancellable, callback)

        return _start_future(start, lambda source, result: _new_finish(result), cancellable,
                             is_load=True)

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
        def load_plugin_future(self, variant=None, config=None, cancellable=None):
            """Verifies, extracts and loads the plugin without blocking;
            returns an ``asyncio.Future`` for the active plugin (see
            :meth:`Plugin.new_future` for where its signals go)."""
            def start(cancellable, callback):
                _load_plugin_async(self, variant, config, cancellable, callback)

            return _start_future(start, _load_plugin_finish, cancellable, is_load=True)

    _load_plugin_async = RustBridge.Bundle.load_plugin_async
    _load_plugin_finish = RustBridge.Bundle.load_plugin_finish

    Bundle = override(Bundle)
    __all__.append('Bundle')
