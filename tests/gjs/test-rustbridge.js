// SPDX-License-Identifier: LGPL-2.1-or-later
// RustBridge from GJS through the typelib. Prints TAP (one line per test
// and plugin). Run: meson devenv -C BUILD gjs -m tests/gjs/test-rustbridge.js
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Json from 'gi://Json?version=1.0';
import RustBridge from 'gi://RustBridge?version=1.0';
import System from 'system';

Gio._promisify(RustBridge.Plugin, 'new_async', 'new_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'init_async', 'init_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_async', 'call_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_json_async', 'call_json_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'call_raw_async', 'call_raw_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'shutdown_async', 'shutdown_finish');
Gio._promisify(RustBridge.Bundle.prototype, 'load_plugin_async', 'load_plugin_finish');

const State = RustBridge.LifecycleState;
const PluginError = RustBridge.PluginError;

const paths = [['fixture', GLib.getenv('RB_FIXTURE_PLUGIN')]];
if (GLib.getenv('RB_RUST_PLUGIN'))
    paths.push(['rust', GLib.getenv('RB_RUST_PLUGIN')]);
const fixturePath = GLib.getenv('RB_FIXTURE_PLUGIN');

const tests = [];
// A test run once per plugin (fixture and, when built, Rust).
function test(name, fn) {
    for (const [kind, path] of paths)
        tests.push([`${name}/${kind}`, () => fn(path)]);
}
// A test run once.
function testOnce(name, fn) {
    tests.push([name, fn]);
}
// Run after the last test, failed or not: nothing stays in /tmp.
const cleanups = [];

// Removes @path, a directory of plain files.
function removeFlatDir(path) {
    const dir = Gio.File.new_for_path(path);
    const children = dir.enumerate_children('standard::name', Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
    for (let info; (info = children.next_file(null)) !== null;)
        dir.get_child(info.get_name()).delete(null);
    children.close(null);
    dir.delete(null);
}

function assertEq(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new Error(`${what ?? 'value'}: expected ${e}, got ${a}`);
}

function assert(cond, what) {
    if (!cond)
        throw new Error(`assertion failed: ${what}`);
}

// The GLib.Error @e, if it has @domain and @code; else what went wrong.
function expectError(e, domain, code, what) {
    if (!(e instanceof GLib.Error))
        throw e;
    if (!e.matches(domain, code))
        throw new Error(`${what}: expected code ${code}, got ${e.domain}:${e.code} ${e.message}`);
    return e;
}

function assertThrows(fn, domain, code, what) {
    try {
        fn();
    } catch (e) {
        return expectError(e, domain, code, what);
    }
    throw new Error(`${what}: no error thrown`);
}

async function assertRejects(promise, domain, code, what) {
    try {
        await promise;
    } catch (e) {
        return expectError(e, domain, code, what);
    }
    throw new Error(`${what}: no error thrown`);
}

function iterateUntil(predicate, timeoutMs = 10000) {
    const ctx = GLib.MainContext.default();
    const end = GLib.get_monotonic_time() + timeoutMs * 1000;
    while (!predicate()) {
        if (GLib.get_monotonic_time() > end)
            throw new Error('timed out waiting on the main context');
        const tick = GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => GLib.SOURCE_REMOVE);
        ctx.iteration(true);
        GLib.Source.remove(tick);
    }
}

function iterateFor(ms) {
    let done = false;
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, ms, () => {
        done = true;
        return GLib.SOURCE_REMOVE;
    });
    iterateUntil(() => done);
}

// The echo structs of raw message 1 (see tests/plugins/fixture-raw.h).
function rawEchoRequest(value, text) {
    const req = new Uint8Array(64);
    req[0] = 1;
    new DataView(req.buffer).setUint32(4, value, true);
    new TextEncoder().encodeInto(text, req.subarray(8, 63));
    return new GLib.Bytes(req);
}

function parseRawEchoResponse(bytes) {
    const data = bytes.toArray();
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const textLen = view.getUint32(8, true);
    return {
        size: data.byteLength,
        version: data[0],
        valueTimesTwo: view.getUint32(4, true),
        text: new TextDecoder().decode(data.subarray(12, 12 + textLen)),
    };
}

// ---- loading ----------------------------------------------------------

test('new-and-properties', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    assertEq(plugin.path, path, 'path');
    assertEq(plugin.state, State.ACTIVE, 'state');
    assertEq(plugin.log_level, RustBridge.LogLevel.INFO, 'log level');
    assertEq(plugin.rejected_request_count, 0, 'rejected');
    assertEq(plugin.has_binary_transport, true, 'binary transport');
    assertEq(plugin.bundle_name, null, 'bundle name');
    assert(plugin.shutdown(null), 'shutdown');
    assert(plugin.shutdown(null), 'second shutdown');
    assertEq(plugin.state, State.STOPPED, 'state after shutdown');
});

testOnce('load-errors', () => {
    const e = assertThrows(() => RustBridge.Plugin.new('/nonexistent/lib.so', null, null),
        PluginError, PluginError.LOAD_FAILED, 'missing file');
    assert(e.message.includes('/nonexistent/lib.so'), 'message names the file');
    assertThrows(() => RustBridge.Plugin.new(GLib.getenv('RB_NOT_A_PLUGIN'), null, null),
        PluginError, PluginError.LOAD_FAILED, 'not a plugin');
    const config = new RustBridge.PluginConfig();
    config.set_data_json('fail_init', 'true');
    assertThrows(() => RustBridge.Plugin.new(fixturePath, config, null),
        PluginError, PluginError.INIT_FAILED, 'refused init');
});

test('new-async', async path => {
    const plugin = await RustBridge.Plugin.new_async(path, null, GLib.PRIORITY_DEFAULT, null);
    assertEq(plugin.state, State.ACTIVE, 'state');
    assertEq(JSON.parse(plugin.call('math.add', '{"a":1,"b":2}', null)), {result: 3});
    await assertRejects(RustBridge.Plugin.new_async('/nonexistent/x.so', null, GLib.PRIORITY_DEFAULT, null),
        PluginError, PluginError.LOAD_FAILED, 'missing file');
    plugin.shutdown(null);
});

test('async-initable', async path => {
    const plugin = new RustBridge.Plugin({path});
    assertEq(plugin.state, State.INSTALLED, 'state before init');
    assert(await plugin.init_async(GLib.PRIORITY_DEFAULT, null), 'init');
    assertEq(plugin.state, State.ACTIVE, 'state');
    plugin.shutdown(null);
});

// ---- JSON calls -------------------------------------------------------

test('sync-call', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    assertEq(plugin.call('echo', '{"message":"gjs"}', null), '{"message":"gjs","length":3}');
    assertEq(JSON.parse(plugin.call('echo', JSON.stringify({message: 'héllo'}), null)),
        {message: 'héllo', length: 6});
    assertEq(plugin.call('payload.array', null, null), '[1,2,3]');
    assertEq(plugin.call('payload.null', null, null), 'null');
    plugin.shutdown(null);
});

test('call-json', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const reply = plugin.call_json('math.add', Json.from_string('{"a":40,"b":2}'), null);
    assertEq(reply.get_object().get_int_member('result'), 42, 'result');
    assertEq(Json.to_string(plugin.call_json('payload.array', null, null), false), '[1,2,3]');
    plugin.shutdown(null);
});

test('error-codes', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    let e = assertThrows(() => plugin.call('nope', '{}', null), PluginError, PluginError.UNKNOWN_MESSAGE, 'unknown');
    assertEq(e.code, 6, 'code');
    assertEq(e.message, 'unknown message type: nope', 'message');
    assertEq(e.domain, RustBridge.plugin_error_quark(), 'domain');
    assertThrows(() => plugin.call('echo', '{bad', null), PluginError, PluginError.SERIALIZATION, 'bad json');
    e = assertThrows(() => plugin.call('handler.fail', '{}', null), PluginError, PluginError.HANDLER, 'handler');
    assertEq(e.message, 'handler failed on purpose', 'handler message');
    const cancellable = new Gio.Cancellable();
    cancellable.cancel();
    assertThrows(() => plugin.call('echo', '{"message":"x"}', cancellable),
        Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'cancelled');
    plugin.shutdown(null);
    assertThrows(() => plugin.call('echo', '{"message":"late"}', null),
        PluginError, PluginError.INVALID_STATE, 'after shutdown');
});

testOnce('error-enums', () => {
    assertEq([PluginError.INVALID_STATE, PluginError.TOO_MANY_REQUESTS, PluginError.LOAD_FAILED,
        PluginError.PROTOCOL, PluginError.NOT_SUPPORTED], [1, 13, 100, 101, 102]);
    assertEq(GLib.quark_to_string(RustBridge.plugin_error_quark()), 'rb-plugin-error-quark');
    assertEq(GLib.quark_to_string(RustBridge.bundle_error_quark()), 'rb-bundle-error-quark');
    assertEq([State.INSTALLED, State.ACTIVE, State.FAILED], [0, 2, 5]);
    assertEq([RustBridge.LogLevel.TRACE, RustBridge.LogLevel.OFF], [0, 5]);
});

test('panic-marks-failed', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    iterateFor(10);  // the start-up events (held for the creator) first
    const changes = [];
    plugin.connect('state-changed', (_p, from, to) => changes.push([from, to]));
    assertThrows(() => plugin.call('panic', '{}', null), PluginError, PluginError.INTERNAL, 'panic');
    assertEq(plugin.state, State.FAILED, 'state');
    assertEq(changes.at(-1), [State.ACTIVE, State.FAILED], 'transition');
    plugin.shutdown(null);
});

testOnce('protocol-errors', () => {
    const plugin = RustBridge.Plugin.new(fixturePath, null, null);
    for (const tag of ['bad.notjson', 'bad.truncated', 'bad.unknown_code'])
        assertThrows(() => plugin.call(tag, '{}', null), PluginError, PluginError.PROTOCOL, tag);
    plugin.shutdown(null);
});

// ---- config and properties --------------------------------------------

test('config', path => {
    const config = new RustBridge.PluginConfig({
        log_level: RustBridge.LogLevel.WARN,
        max_concurrent_ops: 4,
        worker_threads: 2,
    });
    assertEq(config.shutdown_timeout_ms, 5000, 'default timeout');
    config.set_data_json('k', '[1,2]');
    config.set_data('node', Json.from_string('{"x":true}'));
    config.set_init_param_json('mode', '"fast"');
    const doc = JSON.parse(config.to_json());
    assertEq(doc.data, {k: [1, 2], node: {x: true}}, 'data');
    assertEq(doc.init_params, {mode: 'fast'}, 'init params');
    assertEq(doc.log_level, 'warn', 'log level');
    assertEq(RustBridge.PluginConfig.new_from_json(config.to_json()).to_json(), config.to_json(), 'round trip');
    assertThrows(() => RustBridge.PluginConfig.new_from_json('{"worker_threads":"x"}'),
        PluginError, PluginError.CONFIG, 'bad config');

    const plugin = RustBridge.Plugin.new(path, config, null);
    assertEq(plugin.log_level, RustBridge.LogLevel.WARN, 'plugin log level');
    iterateFor(10);  // the start-up events (held for the creator) first
    assertEq(plugin.config.max_concurrent_ops, 4, 'max ops');
    config.max_concurrent_ops = 5;
    assertEq(plugin.config.max_concurrent_ops, 4, 'the plugin keeps a copy');
    const levels = [];
    plugin.connect('notify::log-level', p => levels.push(p.log_level));
    plugin.log_level = RustBridge.LogLevel.DEBUG;
    plugin.set_log_level(RustBridge.LogLevel.DEBUG);
    assertEq(levels, [RustBridge.LogLevel.DEBUG], 'notified once');
    plugin.shutdown(null);
});

test('rejected-request-count', async path => {
    const config = new RustBridge.PluginConfig({worker_threads: 1, max_concurrent_ops: 1, max_queued_calls: 2});
    const plugin = RustBridge.Plugin.new(path, config, null);
    const results = await Promise.allSettled(Array.from({length: 6}, () =>
        plugin.call_async('test.sleep', '{"duration_ms":100}', null)));
    const rejected = results.filter(r => r.status === 'rejected');
    assert(rejected.length > 0, 'some calls were rejected');
    for (const r of rejected)
        assert(r.reason.matches(PluginError, PluginError.TOO_MANY_REQUESTS), `rejected with ${r.reason}`);
    assertEq(plugin.rejected_request_count, rejected.length, 'count');
    plugin.shutdown(null);
});

// ---- signals ----------------------------------------------------------

test('state-signals', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    iterateFor(10);  // the start-up events (held for the creator) first
    const states = [], changes = [];
    plugin.connect('notify::state', p => states.push(p.state));
    plugin.connect('state-changed', (_p, from, to) => changes.push([from, to]));
    plugin.shutdown(null);
    assertEq(states, [State.STOPPING, State.STOPPED], 'notify::state');
    assertEq(changes, [[State.ACTIVE, State.STOPPING], [State.STOPPING, State.STOPPED]], 'state-changed');
});

// GJS aborts a callback made from another thread: logs emitted on plugin
// threads must reach JS through the owner (main) context.
test('log-signal-from-plugin-threads', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const logs = [];
    plugin.connect('log', (_p, level, target, message) => {
        if (message.startsWith('gjs-log'))
            logs.push([level, typeof target, message]);
    });
    plugin.call('log.emit', JSON.stringify({count: 3, level: 'warn', message: 'gjs-log', thread: true}), null);
    iterateUntil(() => logs.length >= 3);
    for (const [level, targetType] of logs) {
        assertEq(level, RustBridge.LogLevel.WARN, 'level');
        assertEq(targetType, 'string', 'target');
    }
    plugin.shutdown(null);
});

test('log-handler-returning-true-takes-it', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const before = [], after = [];
    plugin.connect('log', (_p, _level, _target, message) => {
        if (!message.startsWith('taken'))
            return false;
        before.push(message);
        return true;
    });
    plugin.connect_after('log', (_p, _level, _target, message) => {
        if (message.startsWith('taken'))
            after.push(message);
    });
    plugin.call('log.emit', '{"count":2,"level":"error","message":"taken"}', null);
    iterateUntil(() => before.length === 2);
    iterateFor(20);
    assertEq(after, [], 'taken: the default and later handlers did not run');
    plugin.shutdown(null);
});

// Connected once the promisified async load resolves: the start-up log
// message and state changes still arrive, in order.
test('start-up-events-after-await', async path => {
    const plugin = await RustBridge.Plugin.new_async(path, null, GLib.PRIORITY_DEFAULT, null);
    const events = [];
    plugin.connect('log', (_p, _level, _target, message) => {
        events.push(message);
        return true;
    });
    plugin.connect('state-changed', (_p, _from, to) => events.push(to));
    iterateUntil(() => events.length >= 3);
    assertEq(events[0], State.STARTING, 'starting');
    assert(events[1].endsWith(' plugin started'), `start-up message: ${events[1]}`);
    assertEq(events[2], State.ACTIVE, 'active');
    plugin.shutdown(null);
});

test('log-signal-stop-emission', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const before = [], after = [];
    plugin.connect('log', (p, _level, _target, message) => {
        if (message.startsWith('silenced')) {
            before.push(message);
            GObject.signal_stop_emission_by_name(p, 'log');
        }
    });
    plugin.connect_after('log', (_p, _level, _target, message) => {
        if (message.startsWith('silenced'))
            after.push(message);
    });
    plugin.call('log.emit', '{"count":2,"level":"error","message":"silenced"}', null);
    iterateUntil(() => before.length === 2);
    assertEq(after, [], 'later handlers did not run');
    plugin.shutdown(null);
});

test('log-level-filters', path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const seen = [];
    plugin.connect('log', (_p, level, _t, message) => {
        if (message.startsWith('filtered'))
            seen.push(level);
    });
    plugin.log_level = RustBridge.LogLevel.ERROR;
    plugin.call('log.emit', '{"count":1,"level":"info","message":"filtered-info"}', null);
    plugin.call('log.emit', '{"count":1,"level":"error","message":"filtered-error"}', null);
    iterateUntil(() => seen.length > 0);
    iterateFor(20);
    assertEq(seen, [RustBridge.LogLevel.ERROR], 'only the error');
    plugin.shutdown(null);
});

// ---- binary transport -------------------------------------------------

test('raw-bytes', async path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    let reply = parseRawEchoResponse(plugin.call_raw(1, rawEchoRequest(21, 'js'), null));
    assertEq(reply, {size: 68, version: 1, valueTimesTwo: 42, text: 'js'}, 'sync');
    reply = parseRawEchoResponse(await plugin.call_raw_async(1, rawEchoRequest(50, 'async'), null));
    assertEq(reply.valueTimesTwo, 100, 'async');
    assertThrows(() => plugin.call_raw(999, rawEchoRequest(1, ''), null),
        PluginError, PluginError.UNKNOWN_MESSAGE, 'unknown id');
    plugin.shutdown(null);
});

testOnce('raw-not-supported', () => {
    const plugin = RustBridge.Plugin.new(GLib.getenv('RB_FIXTURE_NORAW_PLUGIN'), null, null);
    assertEq(plugin.has_binary_transport, false, 'no binary transport');
    assertThrows(() => plugin.call_raw(1, rawEchoRequest(1, ''), null),
        PluginError, PluginError.NOT_SUPPORTED, 'raw call');
    plugin.shutdown(null);
});

test('raw-bytes-outlive-plugin', path => {
    let plugin = RustBridge.Plugin.new(path, null, null);
    const bytes = plugin.call_raw(1, rawEchoRequest(5, 'outlive'), null);
    plugin.shutdown(null);
    plugin = null;
    System.gc();
    iterateFor(10);
    System.gc();
    assertEq(parseRawEchoResponse(bytes), {size: 68, version: 1, valueTimesTwo: 10, text: 'outlive'});
});

// ---- async --------------------------------------------------------------

test('async-await', async path => {
    const plugin = RustBridge.Plugin.new(path, null, null);
    const replies = await Promise.all(Array.from({length: 50}, (_, a) =>
        plugin.call_async('math.add', JSON.stringify({a, b: 10}), null)));
    assertEq(replies.map(r => JSON.parse(r).result), Array.from({length: 50}, (_, a) => a + 10));
    const node = await plugin.call_json_async('math.add', Json.from_string('{"a":2,"b":2}'), null);
    assertEq(node.get_object().get_int_member('result'), 4, 'json async');
    await assertRejects(plugin.call_async('handler.fail', '{}', null),
        PluginError, PluginError.HANDLER, 'async error');
    assert(await plugin.shutdown_async(null), 'shutdown');
    assertEq(plugin.state, State.STOPPED, 'state');
});

testOnce('async-cancel', async () => {
    const plugin = RustBridge.Plugin.new(fixturePath, null, null);
    const cancellable = new Gio.Cancellable();
    const slow = plugin.call_async('test.sleep', '{"duration_ms":2000}', cancellable);
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => {
        cancellable.cancel();
        return GLib.SOURCE_REMOVE;
    });
    await assertRejects(slow, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'cancelled');
    plugin.shutdown(null);
});

// ---- bundles ------------------------------------------------------------

const minisign = GLib.find_program_in_path('minisign');
const makeBundle = GLib.getenv('RB_MAKE_BUNDLE');

function run(argv) {
    Gio.Subprocess.new(argv, Gio.SubprocessFlags.STDOUT_SILENCE).wait_check(null);
}

function makeKey(dir, name) {
    const key = `${dir}/${name}.key`, pub = `${dir}/${name}.pub`;
    run([minisign, '-G', '-W', '-p', pub, '-s', key]);
    const [, pubText] = GLib.file_get_contents(pub);
    const trusted = new TextDecoder().decode(pubText).split('\n')
        .filter(l => l && !l.startsWith('untrusted'))[0];
    return {key, pub, trusted};
}

function bundleFixture() {
    const dir = GLib.dir_make_tmp('rb-gjs-XXXXXX');
    cleanups.push(() => removeFlatDir(dir));     // keys without a password, too
    const out = `${dir}/plugin.rbp`;
    const signer = makeKey(dir, 'signer'), other = makeKey(dir, 'other');
    run(['/usr/bin/python3', makeBundle, out, '--library', fixturePath,
        '--platform', RustBridge.Bundle.get_current_platform(),
        '--name', 'gjs-plugin', '--version', '3.1.4', '--sign', signer.key, '--public-key', signer.pub]);
    return {dir, out, trusted: signer.trusted, untrusted: other.trusted};
}

if (minisign && makeBundle) {
    let fixture = null;
    const getFixture = () => (fixture ??= bundleFixture());

    testOnce('bundle-inspect', () => {
        const {out} = getFixture();
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        assertEq(bundle.name, 'gjs-plugin', 'name');
        assertEq(bundle.version, '3.1.4', 'version');
        assertEq(bundle.authors, ['Ada', 'Grace'], 'authors');
        assertEq(bundle.verify_mode, RustBridge.VerifyMode.STRICT, 'verify mode');
        assertEq(bundle.list_platforms(), [RustBridge.Bundle.get_current_platform()], 'platforms');
        assertEq(bundle.list_variants(null), ['release'], 'variants');
        assertEq(bundle.list_api_messages().map(m => m.get_type_tag()), ['echo', 'math.add'], 'api');
        assert(bundle.list_files().includes('manifest.json'), 'files');
        assertEq(JSON.parse(bundle.dup_manifest_json()).plugin.name, 'gjs-plugin', 'manifest');
        assertEq(bundle.list_api_messages().map(m => m.get_type_tag()), ['echo', 'math.add'], 'messages');
        const echo = bundle.lookup_api_message('echo');
        assertEq([echo.get_message_id(), echo.get_transport(), echo.get_response_schema()],
            [1, 'json', null], 'echo message');
        assertEq(bundle.lookup_api_message_by_id(1).get_type_tag(), 'echo', 'by id');
        assertEq(bundle.lookup_api_message('nope'), null, 'no such message');
        assertEq(bundle.get_api_transports(), ['json', 'cstruct'], 'transports');
        assertEq([bundle.get_git_branch(), bundle.get_git_tag(), bundle.get_git_dirty()],
            ['main', 'v1.0.0', false], 'git');
        assertEq(bundle.dup_built_at().format_iso8601(), '2026-11-24T00:00:00Z', 'built at');
        const sbom = new TextDecoder().decode(bundle.read_file(bundle.get_sbom_path('cyclonedx')).toArray());
        assertEq(JSON.parse(sbom).bomFormat, 'CycloneDX', 'sbom');
        assertThrows(() => bundle.read_file('legal/LICENSE'), RustBridge.BundleError,
            RustBridge.BundleError.ENTRY_NOT_FOUND, 'missing file');
    });

    testOnce('bundle-load', async () => {
        const {out, trusted} = getFixture();
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        bundle.public_key = trusted;
        assert(bundle.verify(null, null), 'verify');
        let plugin = bundle.load_plugin(null, null, null);
        assertEq(plugin.bundle_name, 'gjs-plugin', 'bundle name');
        assertEq(JSON.parse(plugin.call('echo', '{"message":"bundled"}', null)).length, 7, 'call');
        plugin.shutdown(null);
        plugin = await bundle.load_plugin_async(null, null, null);
        assertEq(plugin.bundle_version, '3.1.4', 'bundle version');
        // Connected after await: the start-up events still arrive, in order.
        const events = [];
        plugin.connect('log', (_p, _level, _target, message) => {
            events.push(message);
            return true;
        });
        plugin.connect('state-changed', (_p, _from, to) => events.push(to));
        iterateUntil(() => events.length >= 3);
        assertEq([events[0], events[2]], [State.STARTING, State.ACTIVE], 'start-up states');
        assert(events[1].endsWith(' plugin started'), `start-up message: ${events[1]}`);
        plugin.shutdown(null);
    });

    testOnce('bundle-errors', () => {
        const {dir, out, untrusted} = getFixture();
        assertThrows(() => RustBridge.Bundle.new_for_path(`${dir}/missing.rbp`, null),
            RustBridge.BundleError, RustBridge.BundleError.NOT_FOUND, 'missing');
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        bundle.public_key = untrusted;
        const e = assertThrows(() => bundle.load_plugin(null, null, null), RustBridge.BundleError,
            RustBridge.BundleError.SIGNATURE_INVALID, 'untrusted key');
        assertEq(GLib.quark_to_string(e.domain), 'rb-bundle-error-quark', 'domain');
        assertThrows(() => bundle.load_plugin('nope', null, null), RustBridge.BundleError,
            RustBridge.BundleError.VARIANT_NOT_FOUND, 'variant');
    });

    // ---- trust: which key STRICT checks a bundle with ----

    // Removes @path and everything under it.
    const removeTree = path => {
        const file = Gio.File.new_for_path(path);
        const type = file.query_file_type(Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
        if (type === Gio.FileType.DIRECTORY) {
            const children = file.enumerate_children('standard::name',
                Gio.FileQueryInfoFlags.NOFOLLOW_SYMLINKS, null);
            for (let info; (info = children.next_file(null)) !== null;)
                removeTree(file.get_child(info.get_name()).get_path());
            children.close(null);
        }
        file.delete(null);
    };
    const trustDir = () => {
        const dir = GLib.dir_make_tmp('rb-gjs-trust-XXXXXX');
        cleanups.push(() => removeTree(dir));
        return dir;
    };
    const writeKey = (dir, name, trusted) => {
        GLib.mkdir_with_parents(dir, 0o700);
        GLib.file_set_contents(`${dir}/${name}`, `untrusted comment: test key\n${trusted}\n`);
    };
    const noKey = bundle => assertThrows(() => bundle.verify(null, null), RustBridge.BundleError,
        RustBridge.BundleError.NO_PUBLIC_KEY, 'no trusted key');

    testOnce('trust-strict-needs-trusted-key', () => {
        const {out} = getFixture();
        const empty = trustDir();
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        bundle.trusted_keys_dir = empty;
        assertEq(bundle.trust_embedded_key, false, 'trust-embedded-key default');
        const e = noKey(bundle);
        for (const needle of ['public-key', 'trust-embedded-key', empty, 'rustbridge/trusted-keys'])
            assert(e.message.includes(needle), `message names ${needle}: ${e.message}`);
    });

    testOnce('trust-public-key', () => {
        const {out, trusted} = getFixture();
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        bundle.public_key = trusted;
        assert(bundle.verify(null, null), 'verify');
    });

    testOnce('trust-trusted-keys-dir', async () => {
        const {out, trusted, untrusted} = getFixture();
        const dir = trustDir();
        GLib.file_set_contents(`${dir}/a-garbage.pub`, 'not a key\n');
        writeKey(dir, 'other.pub', untrusted);
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        bundle.trusted_keys_dir = dir;
        assertEq(bundle.get_trusted_keys_dir(), dir, 'getter');
        noKey(bundle);
        writeKey(dir, 'signer.pub', trusted);
        assert(bundle.verify(null, null), 'verify with the key found by id');
        const plugin = await bundle.load_plugin_async(null, null, null);
        assertEq(plugin.bundle_name, 'gjs-plugin', 'loaded');
        plugin.shutdown(null);
    });

    testOnce('trust-embedded-key', () => {
        const {out} = getFixture();
        const bundle = RustBridge.Bundle.new_for_path(out, null);
        bundle.trusted_keys_dir = trustDir();
        noKey(bundle);
        bundle.trust_embedded_key = true;
        assert(bundle.verify(null, null), 'integrity only, when asked');
    });

    // GLib reads XDG_CONFIG_HOME and XDG_DATA_DIRS once: a child gjs has them set.
    testOnce('trust-xdg-dirs', () => {
        const {out, trusted} = getFixture();
        const gjs = GLib.find_program_in_path('gjs');
        const verifyInChild = (config, dataDirs) => {
            const launcher = new Gio.SubprocessLauncher({flags: Gio.SubprocessFlags.STDOUT_PIPE});
            launcher.setenv('XDG_CONFIG_HOME', config, true);
            launcher.setenv('XDG_DATA_DIRS', dataDirs.join(':'), true);
            launcher.setenv('RB_TRUST_BUNDLE', out, true);
            const child = launcher.spawnv([gjs, '-c', `
                imports.gi.versions.RustBridge = '1.0';
                const {GLib, RustBridge} = imports.gi;
                const bundle = RustBridge.Bundle.new_for_path(GLib.getenv('RB_TRUST_BUNDLE'), null);
                try {
                    bundle.verify(null, null);
                    print('verified');
                } catch (e) {
                    print('error ' + e.code);
                }`]);
            const [, stdout] = child.communicate_utf8(null, null);
            return stdout.trim();
        };
        for (const where of ['user', 'system']) {
            const base = trustDir();
            const config = `${base}/config`, data = [`${base}/data1`, `${base}/data2`];
            assertEq(verifyInChild(config, data), `error ${RustBridge.BundleError.NO_PUBLIC_KEY}`, `${where}: none`);
            writeKey(`${where === 'user' ? config : data[1]}/rustbridge/trusted-keys`, 'signer.pub', trusted);
            assertEq(verifyInChild(config, data), 'verified', `${where}: found`);
        }
    });
}

// ---- runner -------------------------------------------------------------

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
    for (const cleanup of cleanups)
        cleanup();
    loop.quit();
})().catch(e => {
    failed++;
    print(`# ${e}`);
    loop.quit();
});
loop.run();
if (failed)
    System.exit(1);
