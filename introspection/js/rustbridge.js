// SPDX-License-Identifier: LGPL-2.1-or-later
//
// rustbridge.js: the RustBridge typelib made ready for GJS apps.
//
// GJS 1.74 does not turn GAsyncReadyCallback methods into promises by
// itself, and every call takes and returns JSON text. Importing this module
// (once, anywhere in the app) makes the async methods of RustBridge.Plugin
// and RustBridge.Bundle return promises when called without a callback, and
// adds object-in/object-out calls. The default export is the RustBridge
// namespace itself:
//
//     import RustBridge from 'file:///usr/share/rustbridge-glib-1.0/js/rustbridge.js';
//
//     const plugin = await RustBridge.Plugin.new_async(path, null, GLib.PRIORITY_DEFAULT, null);
//     const reply = await plugin.callObject('echo', {message: 'hi'});   // {message, length}
//     await plugin.shutdown_async(null);
//
// See doc/gjs.md for the list and how to import it from the build tree.

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import RustBridge from 'gi://RustBridge?version=1.0';

// Each async method and its finish function. Gio._promisify keeps the
// callback form: a call with the callback argument behaves as before.
const ASYNC_METHODS = [
    [RustBridge.Plugin, 'new_async', 'new_finish'],
    [RustBridge.Plugin.prototype, 'init_async', 'init_finish'],
    [RustBridge.Plugin.prototype, 'call_async', 'call_finish'],
    [RustBridge.Plugin.prototype, 'call_json_async', 'call_json_finish'],
    [RustBridge.Plugin.prototype, 'call_raw_async', 'call_raw_finish'],
    [RustBridge.Plugin.prototype, 'shutdown_async', 'shutdown_finish'],
    [RustBridge.Bundle.prototype, 'load_plugin_async', 'load_plugin_finish'],
];

for (const [target, asyncName, finishName] of ASYNC_METHODS) {
    // Newer library versions may add methods; missing ones are skipped.
    if (typeof target[asyncName] === 'function')
        Gio._promisify(target, asyncName, finishName);
}

// The JSON text for @request: null for no request (null or undefined),
// else JSON.stringify(request). Throws TypeError for what JSON cannot
// represent (a function, a symbol, a BigInt, a cycle).
function requestText(request) {
    if (request === null || request === undefined)
        return null;
    const text = JSON.stringify(request);
    if (text === undefined)
        throw new TypeError(`RustBridge: cannot send ${typeof request} as JSON`);
    return text;
}

// @data as GLib.Bytes: GLib.Bytes as is, a Uint8Array (or any typed array,
// DataView or ArrayBuffer) by its bytes.
function requestBytes(data) {
    if (data === null || data === undefined)
        return null;
    if (data instanceof GLib.Bytes)
        return data;
    if (data instanceof ArrayBuffer)
        return new GLib.Bytes(new Uint8Array(data));
    if (ArrayBuffer.isView(data))
        return new GLib.Bytes(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    throw new TypeError('RustBridge: a raw request is a GLib.Bytes, a typed array, a DataView or an ArrayBuffer');
}

Object.assign(RustBridge.Plugin.prototype, {
    /**
     * Calls @typeTag with @request (any JSON value; null or undefined for
     * no request) and resolves with the parsed payload. Rejects with the
     * plugin's GLib.Error (e.code is a RustBridge.PluginError).
     *
     * @param {string} typeTag
     * @param {*} [request]
     * @param {Gio.Cancellable} [cancellable]
     * @returns {Promise<*>}
     */
    async callObject(typeTag, request = null, cancellable = null) {
        return JSON.parse(await this.call_async(typeTag, requestText(request), cancellable));
    },

    /**
     * The blocking form of callObject(), for worker threads and scripts.
     *
     * @param {string} typeTag
     * @param {*} [request]
     * @param {Gio.Cancellable} [cancellable]
     * @returns {*}
     */
    callObjectSync(typeTag, request = null, cancellable = null) {
        return JSON.parse(this.call(typeTag, requestText(request), cancellable));
    },

    /**
     * Raw call: @data is a GLib.Bytes, typed array, DataView or
     * ArrayBuffer; resolves with the reply as a Uint8Array.
     *
     * @param {number} messageId
     * @param {GLib.Bytes|ArrayBufferView|ArrayBuffer} data
     * @param {Gio.Cancellable} [cancellable]
     * @returns {Promise<Uint8Array>}
     */
    async callBytes(messageId, data, cancellable = null) {
        const reply = await this.call_raw_async(messageId, requestBytes(data), cancellable);
        return reply.toArray();
    },
});

/**
 * Loads the plugin at @path without blocking.
 *
 * @param {string} path
 * @param {object} [options]
 * @param {RustBridge.PluginConfig} [options.config]
 * @param {Gio.Cancellable} [options.cancellable]
 * @param {number} [options.ioPriority]
 * @returns {Promise<RustBridge.Plugin>}
 */
export function loadPlugin(path, {config = null, cancellable = null, ioPriority = GLib.PRIORITY_DEFAULT} = {}) {
    return RustBridge.Plugin.new_async(path, config, ioPriority, cancellable);
}

/**
 * Opens, verifies and loads the plugin of the bundle at @path without
 * blocking the main loop for the load (opening reads the manifest).
 *
 * @param {string} path
 * @param {object} [options]
 * @param {string} [options.publicKey] the publisher's minisign key
 * @param {string} [options.variant]
 * @param {RustBridge.PluginConfig} [options.config]
 * @param {Gio.Cancellable} [options.cancellable]
 * @returns {Promise<RustBridge.Plugin>}
 */
export function loadBundlePlugin(path, {publicKey = null, variant = null, config = null, cancellable = null} = {}) {
    const bundle = RustBridge.Bundle.new_for_path(path, null);
    if (publicKey !== null)
        bundle.public_key = publicKey;
    return bundle.load_plugin_async(variant, config, cancellable);
}

export {requestText, requestBytes};
export default RustBridge;
