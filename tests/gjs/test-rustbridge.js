// SPDX-License-Identifier: LGPL-2.1-or-later
// RustBridge from GJS: prints TAP. Run: gjs -m test-rustbridge.js
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import RustBridge from 'gi://RustBridge?version=1.0';
import System from 'system';

Gio._promisify(RustBridge.Plugin.prototype, 'call_async', 'call_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_raw_async', 'call_raw_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'shutdown_async', 'shutdown_finish');

const paths = [['fixture', GLib.getenv('RB_FIXTURE_PLUGIN')]];
if (GLib.getenv('RB_RUST_PLUGIN'))
    paths.push(['rust', GLib.getenv('RB_RUST_PLUGIN')]);

const tests = [];
function test(name, fn) {
    for (const [kind, path] of paths)
        tests.push([`${name}/${kind}`, () => fn(path)]);
}

function assertEq(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new Error(`${what ?? 'value'}: expected ${e}, got ${a}`);
}

function iterateUntil(predicate, timeoutMs = 10000) {
    const ctx = GLib.MainContext.default();
    const end = GLib.get_monotonic_time() + timeoutMs * 1000;
    while (!predicate()) {
        if (GLib.get_monotonic_time() > end)
            throw new Error('timed out');
        ctx.iteration(true);
    }
}

test('sync-call', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    assertEq(JSON.parse(plugin.call('echo', JSON.stringify({message: 'gjs'}), null)),
        {message: 'gjs', length: 3});
    plugin.shutdown(null);
    assertEq(plugin.state, RustBridge.LifecycleState.STOPPED, 'state');
});

test('error-codes', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    try {
        plugin.call('nope', '{}', null);
        throw new Error('no error thrown');
    } catch (e) {
        if (!(e instanceof GLib.Error))
            throw e;
        assertEq(e.code, RustBridge.PluginError.UNKNOWN_MESSAGE, 'code');
        assertEq(e.message, 'unknown message type: nope', 'message');
        if (!e.matches(RustBridge.plugin_error_quark(), RustBridge.PluginError.UNKNOWN_MESSAGE))
            throw new Error('wrong domain');
    }
    plugin.shutdown(null);
});

test('async-await', async path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const replies = await Promise.all([1, 2, 3].map(a =>
        plugin.call_async('math.add', JSON.stringify({a, b: 10}), null)));
    assertEq(replies.map(r => JSON.parse(r).result), [11, 12, 13]);
    await plugin.shutdown_async(null);
});

test('raw-bytes', async path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const req = new Uint8Array(64);
    const view = new DataView(req.buffer);
    req[0] = 1;
    view.setUint32(4, 21, true);
    new TextEncoder().encodeInto('js', req.subarray(8));
    const reply = await plugin.call_raw_async(1, new GLib.Bytes(req), null);
    const out = new DataView(reply.toArray().buffer);
    assertEq(out.getUint32(4, true), 42, 'value*2');
    plugin.shutdown(null);
});

test('log-and-state-signals', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const logs = [];
    const states = [];
    plugin.connect('log', (p, level, target, message) => {
        if (message.startsWith('gjs-log'))
            logs.push(message);
    });
    plugin.connect('notify::state', p => states.push(p.state));
    plugin.call('log.emit', JSON.stringify({count: 2, level: 'info', message: 'gjs-log', thread: true}), null);
    iterateUntil(() => logs.length >= 2);
    plugin.shutdown(null);
    assertEq(states, [RustBridge.LifecycleState.STOPPING, RustBridge.LifecycleState.STOPPED], 'states');
});

test('config', path => {
    const config = new RustBridge.PluginConfig({log_level: RustBridge.LogLevel.WARN, max_concurrent_ops: 4});
    config.set_data_json('k', '[1,2]');
    const plugin = RustBridge.Plugin.new(path, config, null);
    assertEq(plugin.log_level, RustBridge.LogLevel.WARN, 'log level');
    assertEq(plugin.config.max_concurrent_ops, 4, 'max ops');
    plugin.log_level = RustBridge.LogLevel.INFO;
    plugin.shutdown(null);
});

const loop = new GLib.MainLoop(null, false);
let failed = 0;
print(`1..${tests.length}`);
(async () => {
    let n = 0;
    for (const [name, fn] of tests) {
        n++;
        try {
            await fn();
            print(`ok ${n} ${name}`);
        } catch (e) {
            failed++;
            print(`not ok ${n} ${name}`);
            for (const line of `${e}\n${e.stack ?? ''}`.split('\n'))
                print(`# ${line}`);
        }
    }
    loop.quit();
})();
loop.run();
if (failed)
    System.exit(1);
