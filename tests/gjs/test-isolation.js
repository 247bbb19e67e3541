// SPDX-License-Identifier: LGPL-2.1-or-later
// Isolated plugins from GJS: each crash of the misbehaving plugin leaves
// gjs alive with RB_PLUGIN_ERROR_CRASHED, the plugin FAILED and counted;
// restart (async, promisified) brings it back. Prints TAP.
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

const loop = new GLib.MainLoop(null, false);
print(`1..${tags.length}`);
(async () => {
    for (const tag of tags) {
        n++;
        try {
            await crashThenRestart(tag);
            print(`ok ${n} /gjs/isolation/${tag}`);
        } catch (e) {
            failed++;
            print(`not ok ${n} /gjs/isolation/${tag} # ${e}`);
        }
    }
    loop.quit();
})();
loop.run();
System.exit(failed ? 1 : 0);
