# SPDX-License-Identifier: LGPL-2.1-or-later
"""Cost of an awaited call under plain asyncio.run() against a sync call
and a GLib-loop async call. Not a test: prints figures (medians of
several rounds).

    meson devenv -C _build /usr/bin/python3 tests/python/bench_asyncio.py PLUGIN.so
"""
import asyncio
import statistics
import sys
import time

import gi
gi.require_version('RustBridge', '1.0')
from gi.repository import GLib, RustBridge  # noqa: E402

REQUEST = '{"message":"hello"}'
ROUNDS = 7


def per_call(fn, n):
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn(n)
        samples.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(samples)


def sync_calls(plugin, n):
    call = plugin.call
    for _ in range(n):
        call('echo', REQUEST)


def glib_async_calls(plugin, n, batch):
    loop = GLib.MainLoop()
    left = [n]

    def done(p, result):
        p.call_finish(result)
        left[0] -= 1
        if left[0] == 0:
            loop.quit()

    sent = 0
    while sent < n:
        for _ in range(min(batch, n - sent)):
            plugin.call_async('echo', REQUEST, None, done)
            sent += 1
        if batch == 1:
            while left[0] > n - sent:
                GLib.MainContext.default().iteration(True)
    if left[0]:
        loop.run()


async def awaited_one_by_one(plugin, n):
    for _ in range(n):
        await plugin.call_future('echo', REQUEST)


async def awaited_gather(plugin, n, batch):
    for start in range(0, n, batch):
        await asyncio.gather(*(plugin.call_future('echo', REQUEST)
                               for _ in range(min(batch, n - start))))


def main():
    path = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    with RustBridge.Plugin.new(path, None, None) as plugin:
        sync_calls(plugin, 200)  # warm up
        figures = {
            'sync call': per_call(lambda k: sync_calls(plugin, k), n),
            'GLib loop, one by one': per_call(lambda k: glib_async_calls(plugin, k, 1), n),
            'GLib loop, 100 at a time': per_call(lambda k: glib_async_calls(plugin, k, 100), n),
            'asyncio.run, awaited one by one':
                per_call(lambda k: asyncio.run(awaited_one_by_one(plugin, k)), n),
            'asyncio.run, gather 100 at a time':
                per_call(lambda k: asyncio.run(awaited_gather(plugin, k, 100)), n),
        }
    base = figures['sync call']
    for name, us in figures.items():
        print(f'{name:36s} {us:8.2f} us/call  {us / base:6.2f}x sync')


if __name__ == '__main__':
    main()
