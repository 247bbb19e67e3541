// SPDX-License-Identifier: LGPL-2.1-or-later
// Isolated plugins from GJS: each crash of the misbehaving plugin leaves
// gjs alive with RB_PLUGIN_ERROR_CRASHED, the plugin FAILED and counted;
// restart (async, promisified) brings it back. So do a hang past
// call-timeout-ms and an allocation past memory-limit-mb. Prints TAP.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import RustBridge from 'gi://RustBridge?version=1.0';
import System from 'system';

Gio._promisify(RustBridge.Plugin.prototype, 'restart_async', 'restart_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_async', 'call_finish');

const misbehave = GLib.getenv('RB_MISBEHAVE_PLUGIN');
const tags = ['crash.segv', 'crash.abort', 'crash.exit', 'crash.stack_overflow'];
let n = 0, failed = 0;

function check(cond, what) {
    if (!cond)
        throw new Error(what);
}

async function crashThenRestart(tag) {
    const config = new RustBridge.PluginConfig({isolation: RustBridge.Isolation.PROCESS});
    const plugin = RustBridge.Plugin.new(misbehave, config, null);
    const states = [];
    plugin.connect('state-changed', (_p, _old, state) => states.push(state));
    try {
        plugin.call(tag, '{}', null);
        throw new Error('the call succeeded');
    } catch (e) {
        check(e.matches(RustBridge.PluginError, RustBridge.PluginError.CRASHED), `not CRASHED: ${e}`);
    }
    const context = GLib.MainContext.default();
    const end = GLib.get_monotonic_time() + 10000000;
    while (!states.includes(RustBridge.LifecycleState.FAILED) && GLib.get_monotonic_time() < end)
        context.iteration(true);
    check(plugin.state === RustBridge.LifecycleState.FAILED, 'not FAILED');
    check(plugin.crash_count === 1, `crash-count ${plugin.crash_count}`);
    await plugin.restart_async(null);
    check(plugin.state === RustBridge.LifecycleState.ACTIVE, 'not ACTIVE after restart');
    const reply = await plugin.call_async('ok', '{}', null);
    check(reply === '{"ok":true}', `reply ${reply}`);
    plugin.shutdown(null);
}

function waitForState(plugin, state) {
    const context = GLib.MainContext.default();
    const end = GLib.get_monotonic_time() + 10000000;
    while (plugin.state !== state && GLib.get_monotonic_time() < end)
        context.iteration(true);
    check(plugin.state === state, `state ${plugin.state}, not ${state}`);
}

// A call past call-timeout-ms fails with TIMED_OUT (no sooner than the
// timeout; the upper bound is loose: the C test checks the 10% + 50 ms),
// the helper is killed, the plugin goes FAILED and restart brings it back.
async function hang() {
    const timeout = 300;
    const config = new RustBridge.PluginConfig({
        isolation: RustBridge.Isolation.PROCESS,
        call_timeout_ms: timeout,
    });
    const plugin = RustBridge.Plugin.new(misbehave, config, null);
    const start = GLib.get_monotonic_time();
    try {
        plugin.call('hang', '{}', null);
        throw new Error('the call succeeded');
    } catch (e) {
        check(e.matches(Gio.IOErrorEnum, Gio.IOErrorEnum.TIMED_OUT), `not TIMED_OUT: ${e}`);
    }
    const elapsed = (GLib.get_monotonic_time() - start) / 1000;
    check(elapsed >= timeout - 1, `timed out after ${elapsed} ms, before ${timeout} ms`);
    check(elapsed < timeout + 2000, `timed out after ${elapsed} ms`);
    waitForState(plugin, RustBridge.LifecycleState.FAILED);
    try {
        plugin.call('ok', '{}', null);
        throw new Error('a call after the timeout succeeded');
    } catch (e) {
        check(e.matches(RustBridge.PluginError, RustBridge.PluginError.CRASHED), `not CRASHED: ${e}`);
        check(e.message.includes('killed after a timeout'), `message: ${e.message}`);
    }
    await plugin.restart_async(null);
    const reply = await plugin.call_async('ok', '{}', null);
    check(reply === '{"ok":true}', `reply ${reply}`);
    plugin.shutdown(null);
}

// memory-limit-mb: 64 MiB fit in 512; 2 GiB do not, the helper dies of
// it (CRASHED, naming the plugin), gjs does not.
async function allocHuge() {
    const config = new RustBridge.PluginConfig({
        isolation: RustBridge.Isolation.PROCESS,
        memory_limit_mb: 512,
    });
    const plugin = RustBridge.Plugin.new(misbehave, config, null);
    let reply = plugin.call('alloc.huge', '{"mb":64}', null);
    check(reply === 'null', `reply ${reply}`);
    try {
        plugin.call('alloc.huge', '{"mb":2048}', null);
        throw new Error('2 GiB under a 512 MiB limit succeeded');
    } catch (e) {
        check(e.matches(RustBridge.PluginError, RustBridge.PluginError.CRASHED), `not CRASHED: ${e}`);
        check(e.message.includes(misbehave), `message: ${e.message}`);
    }
    waitForState(plugin, RustBridge.LifecycleState.FAILED);
    check(plugin.crash_count === 1, `crash-count ${plugin.crash_count}`);
    await plugin.restart_async(null);
    reply = await plugin.call_async('alloc.huge', '{"mb":64}', null);
    check(reply === 'null', `reply after restart ${reply}`);
    plugin.shutdown(null);
}

const cases = tags.map(tag => [tag, () => crashThenRestart(tag)]);
cases.push(['hang', hang], ['alloc.huge', allocHuge]);

const loop = new GLib.MainLoop(null, false);
print(`1..${cases.length}`);
(async () => {
    for (const [name, run] of cases) {
        n++;
        try {
            await run();
            print(`ok ${n} /gjs/isolation/${name}`);
        } catch (e) {
            failed++;
            print(`not ok ${n} /gjs/isolation/${name} # ${e}`);
        }
    }
    loop.quit();
})();
loop.run();
System.exit(failed ? 1 : 0);
