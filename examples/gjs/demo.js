// SPDX-License-Identifier: LGPL-2.1-or-later
// rustbridge-glib from GJS: gjs -m examples/gjs/demo.js PLUGIN.so
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import RustBridge from 'gi://RustBridge?version=1.0';
import System from 'system';

Gio._promisify(RustBridge.Plugin.prototype, 'call_async', 'call_finish');

const [path] = ARGV;
const config = new RustBridge.PluginConfig({log_level: RustBridge.LogLevel.INFO});
const plugin = RustBridge.Plugin.new(path, config, null);
plugin.connect('log', (_p, _level, target, message) => print(`  [log] ${target}: ${message}`));
plugin.connect('state-changed', (_p, from, to) => print(`  [state] ${from} -> ${to}`));

print('echo ->', plugin.call('echo', JSON.stringify({message: 'Hello from GJS'}), null));
try {
    plugin.call('no.such.message', '{}', null);
} catch (e) {
    print(`error -> code ${e.code}: ${e.message}`);
}

// A raw call: the request struct packed by hand into GLib.Bytes.
const request = new Uint8Array(64);
request[0] = 1;                                        // version
new DataView(request.buffer).setUint32(4, 21, true);   // value
const reply = plugin.call_raw(1, new GLib.Bytes(request), null);
print('raw -> value*2 =', new DataView(reply.toArray().buffer).getUint32(4, true));

const loop = new GLib.MainLoop(null, false);
(async () => {
    const sums = await Promise.all([1, 2, 3].map(a =>
        plugin.call_async('math.add', JSON.stringify({a, b: 100}), null)));
    print('async ->', sums.map(s => JSON.parse(s).result).join(', '));
    plugin.shutdown(null);
    loop.quit();
})().catch(e => {
    logError(e);
    System.exit(1);
});
loop.run();
