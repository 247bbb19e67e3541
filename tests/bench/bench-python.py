#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Time per call of plugin.call('echo', ...) through the typelib and the
overrides, beside a bare ctypes plugin_call + plugin_free_buffer + decode
on the same plugin library, in one run.

    meson devenv -C BUILD /usr/bin/python3 tests/bench/bench-python.py PLUGIN.so
"""
import ctypes
import statistics
import sys
import time

import gi
gi.require_version('RustBridge', '1.0')
from gi.repository import RustBridge  # noqa: E402

REQUEST = '{"message":"Hello"}'


class RbFfiBuffer(ctypes.Structure):
    _fields_ = [('data', ctypes.POINTER(ctypes.c_uint8)), ('len', ctypes.c_size_t),
                ('capacity', ctypes.c_size_t), ('error_code', ctypes.c_uint32)]


def bare_setup(path):
    lib = ctypes.CDLL(path)
    lib.plugin_create.restype = ctypes.c_void_p
    lib.plugin_init.restype = ctypes.c_void_p
    lib.plugin_init.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p]
    lib.plugin_call.restype = RbFfiBuffer
    lib.plugin_call.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.plugin_free_buffer.argtypes = [ctypes.POINTER(RbFfiBuffer)]
    lib.plugin_shutdown.argtypes = [ctypes.c_void_p]
    config = b'{"log_level":"off"}'
    handle = lib.plugin_init(lib.plugin_create(), config, len(config), None)
    return lib, handle


def time_bare(lib, handle, n):
    call, free = lib.plugin_call, lib.plugin_free_buffer
    tag, req = b'echo', REQUEST.encode()
    start = time.perf_counter()
    for _ in range(n):
        buf = call(handle, tag, req, len(req))
        text = ctypes.string_at(buf.data, buf.len).decode()
        free(ctypes.byref(buf))
    assert text.startswith('{"status":"success"')
    return (time.perf_counter() - start) / n * 1e9


def time_gi(plugin, n):
    call = plugin.call
    start = time.perf_counter()
    for _ in range(n):
        text = call('echo', REQUEST)
    assert text == '{"message":"Hello","length":5}'
    return (time.perf_counter() - start) / n * 1e9


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    config = RustBridge.PluginConfig.new()
    config.props.log_level = RustBridge.LogLevel.OFF
    plugin = RustBridge.Plugin.new(path, config, None)
    lib, handle = bare_setup(path)
    bare, ours = [], []
    time_bare(lib, handle, n // 10)
    time_gi(plugin, n // 10)
    for _ in range(21):
        bare.append(time_bare(lib, handle, n // 20))
        ours.append(time_gi(plugin, n // 20))
    b, o = statistics.median(bare), statistics.median(ours)
    print(f'plugin: {path}')
    print(f'bare ctypes plugin_call+free+decode: {b:8.0f} ns/call')
    print(f'RustBridge plugin.call (GI+overrides): {o:8.0f} ns/call')
    print(f'ratio ours/bare: {o / b:.2f} (target <= 0.80)')
    plugin.shutdown(None)
    lib.plugin_shutdown(handle)


if __name__ == '__main__':
    main()
