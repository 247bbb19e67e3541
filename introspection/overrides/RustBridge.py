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
- ``plugin.call_async(tag, request, cancellable, callback)`` accepts the
  same request types, and ``plugin.call_future(tag, request)`` returns an
  ``asyncio.Future`` for code running an asyncio loop on GLib.
"""

import dataclasses
import json

from gi.module import get_introspection_module
from gi.overrides import override

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

    def call_async(self, type_tag, request=None, cancellable=None, callback=None, *user_data):
        """Starts :meth:`call` on the plugin's worker pool; *callback*
        ``(plugin, result, *user_data)`` runs in the caller's main context
        and gets the payload with ``plugin.call_finish(result)``."""
        _call_async(self, type_tag, _request_text(request), cancellable, callback, *user_data)

    def call_future(self, type_tag, request=None, cancellable=None, parse=False):
        """Starts an async call and returns an ``asyncio.Future`` resolved
        in the current (GLib-driven) asyncio loop with the payload
        (parsed when *parse* is true)."""
        import asyncio
        loop = asyncio.get_event_loop()
        future = loop.create_future()

        def done(plugin, result):
            if future.cancelled():
                return
            try:
                text = plugin.call_finish(result)
                future.set_result(json.loads(text) if parse else text)
            except Exception as e:  # GLib.Error
                future.set_exception(e)

        self.call_async(type_tag, request, cancellable, done)
        return future


_call = RustBridge.Plugin.call
_call_async = RustBridge.Plugin.call_async

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

    Bundle = override(Bundle)
    __all__.append('Bundle')
