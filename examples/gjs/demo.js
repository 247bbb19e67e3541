// SPDX-License-Identifier: LGPL-2.1-or-later
// rustbridge-glib from GJS: load a plugin (a library or a signed bundle),
// JSON calls, config and log level, the log and state signals, a raw call
// with a packed struct, errors, and async calls with await.
//
//   meson devenv -C _build gjs -m examples/gjs/demo.js PLUGIN.so|BUNDLE.rbp [KEY.pub]
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import RustBridge from 'gi://RustBridge?version=1.0';
import System from 'system';

// *_async/*_finish pairs become promise-returning methods.
Gio._promisify(RustBridge.Plugin, 'new_async', 'new_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_async', 'call_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_raw_async', 'call_raw_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'shutdown_async', 'shutdown_finish');
Gio._promisify(RustBridge.Bundle.prototype, 'load_plugin_async', 'load_plugin_finish');

const MSG_ECHO = 1;

// Raw message 1: {u8 version; u8 pad[3]; u32 value; char text[56]}.
function packEchoRequest(value, text) {
    const buffer = new Uint8Array(64);
    const view = new DataView(buffer.buffer);
    view.setUint8(0, 1);
    view.setUint32(4, value, true);
    new TextEncoder().encodeInto(text, buffer.subarray(8, 63));
    return new GLib.Bytes(buffer);
}

// {u8 version; u8 pad[3]; u32 value_times_two; u32 text_len; char text[56]}.
function unpackEchoResponse(bytes) {
    const data = bytes.toArray();
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const textLen = view.getUint32(8, true);
    return {
        valueTimesTwo: view.getUint32(4, true),
        text: new TextDecoder().decode(data.subarray(12, 12 + textLen)),
    };
}

// "debug", "active", ...: enum members are plain numbers in GJS.
function nick(enumObject, value) {
    const name = Object.keys(enumObject).find(key => enumObject[key] === value);
    return name?.toLowerCase() ?? String(value);
}

async function load(path, keyFile, config) {
    if (!path.endsWith('.rbp'))
        return RustBridge.Plugin.new_async(path, config, GLib.PRIORITY_DEFAULT, null);
    const bundle = RustBridge.Bundle.new_for_path(path, null);
    if (keyFile) {
        const [, contents] = GLib.file_get_contents(keyFile);
        bundle.public_key = new TextDecoder().decode(contents).split('\n')
            .filter(line => line && !line.startsWith('untrusted'))[0];
    }
    print(`bundle ${bundle.name} ${bundle.version} for ${bundle.list_platforms().join(', ')}`);
    return bundle.load_plugin_async(null, config, null);
}

async function main([path, keyFile]) {
    const config = new RustBridge.PluginConfig({
        log_level: RustBridge.LogLevel.INFO,
        max_concurrent_ops: 100,
    });
    const plugin = await load(path, keyFile, config);
    plugin.connect('log', (_p, level, target, message) => {
        print(`  [${nick(RustBridge.LogLevel, level)}] ${target}: ${message}`);
        // Printed: returning true keeps it out of GLib's default log output.
        return true;
    });
    plugin.connect('state-changed', (_p, from, to) =>
        print(`  [state] ${nick(RustBridge.LifecycleState, from)} -> ${nick(RustBridge.LifecycleState, to)}`));

    // JSON calls: text in, text out.
    print('echo ->', plugin.call('echo', JSON.stringify({message: 'Hello from GJS'}), null));
    const {result} = JSON.parse(plugin.call('math.add', JSON.stringify({a: 42, b: 58}), null));
    print(`42 + 58 = ${result}`);

    // Log level at run time; logs arrive in this (the main) context.
    plugin.log_level = RustBridge.LogLevel.DEBUG;
    plugin.call('log.emit', JSON.stringify({count: 1, level: 'debug', message: 'debug logging is on'}), null);
    plugin.log_level = RustBridge.LogLevel.INFO;

    // Raw call: a packed struct in GLib.Bytes.
    const reply = unpackEchoResponse(plugin.call_raw(MSG_ECHO, packEchoRequest(21, 'Hello, raw'), null));
    print(`raw -> value*2=${reply.valueTimesTwo} text=${reply.text}`);

    // Errors are GLib.Error with the plugin's code and message.
    try {
        plugin.call('invalid.type', '{}', null);
    } catch (e) {
        if (e.matches(RustBridge.PluginError, RustBridge.PluginError.UNKNOWN_MESSAGE))
            print(`error -> unknown message type (code ${e.code}): ${e.message}`);
        else
            throw e;
    }

    // Async: many calls in flight, awaited together.
    const sums = await Promise.all([1, 2, 3].map(a =>
        plugin.call_async('math.add', JSON.stringify({a, b: 100}), null)));
    print('async ->', sums.map(s => JSON.parse(s).result).join(', '));
    const raw = unpackEchoResponse(await plugin.call_raw_async(MSG_ECHO, packEchoRequest(50, 'async'), null));
    print(`async raw -> value*2=${raw.valueTimesTwo}`);

    print(`state: ${nick(RustBridge.LifecycleState, plugin.state)}, rejected: ${plugin.rejected_request_count}`);
    await plugin.shutdown_async(null);
}

const loop = new GLib.MainLoop(null, false);
let status = 0;
main(ARGV).catch(e => {
    logError(e);
    status = 1;
}).finally(() => loop.quit());
loop.run();
System.exit(status);
