#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python guide's flows with rustbridge-glib: load, JSON calls with
dicts and dataclasses, config and log level, logs through the `log`
signal, a raw call with a ctypes.Structure, errors, async calls on a GLib
main loop and concurrent calls.

    meson devenv -C _build python3 examples/python/demo.py PLUGIN.so
"""
import ctypes
import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor

import gi
gi.require_version('RustBridge', '1.0')
from gi.repository import GLib, RustBridge  # noqa: E402


@dataclasses.dataclass
class EchoRequest:
    message: str


@dataclasses.dataclass
class EchoResponse:
    message: str
    length: int


class RawEcho(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint8), ('_pad', ctypes.c_uint8 * 3),
                ('value', ctypes.c_uint32), ('text', ctypes.c_char * 56)]


class RawEchoReply(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint8), ('_pad', ctypes.c_uint8 * 3),
                ('value_times_two', ctypes.c_uint32), ('text_len', ctypes.c_uint32),
                ('text', ctypes.c_char * 56)]


def main(path):
    config = RustBridge.PluginConfig.new()
    config.props.log_level = RustBridge.LogLevel.INFO
    config.props.max_concurrent_ops = 64

    with RustBridge.Plugin.new(path, config, None) as plugin:
        # Printed; returning True keeps it out of GLib's default log output too.
        plugin.connect('log', lambda p, level, target, msg:
                       print(f'  [log {level.value_nick}] {target}: {msg}') or True)

        print('echo ->', plugin.call('echo', '{"message": "Hello, World!"}'))
        print('dict ->', plugin.call_obj('echo', {'message': 'Hello'}))
        print('typed ->', plugin.call_typed('echo', EchoRequest('Hello, Python!'), EchoResponse))

        plugin.props.log_level = RustBridge.LogLevel.DEBUG
        plugin.call('log.emit', {'count': 1, 'level': 'debug', 'message': 'debug is on'})

        req = RawEcho(version=1, value=21, text=b'ctypes')
        reply = RawEchoReply.from_buffer_copy(plugin.call_raw(1, GLib.Bytes.new(bytes(req)), None).get_data())
        print('raw ->', reply.value_times_two, reply.text.decode())

        try:
            plugin.call('no.such.message', {})
        except GLib.Error as e:
            print(f'error -> code {e.code}: {e.message}')

        loop = GLib.MainLoop()
        pending = {'n': 3}

        def done(p, result, a):
            print(f'async {a}+1 ->', p.call_finish(result))
            pending['n'] -= 1
            if pending['n'] == 0:
                loop.quit()

        for a in range(3):
            plugin.call_async('math.add', {'a': a, 'b': 1}, None, done, a)
        loop.run()

        with ThreadPoolExecutor(max_workers=4) as pool:
            replies = list(pool.map(lambda i: plugin.call_obj('echo', {'message': f'#{i}'}), range(8)))
        print('concurrent ->', [r['message'] for r in replies])

        # Deliver log messages still queued for this thread's main context.
        while GLib.MainContext.default().iteration(False):
            pass
    print('state after with-block:', plugin.props.state.value_nick)


if __name__ == '__main__':
    main(sys.argv[1])
