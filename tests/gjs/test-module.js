// SPDX-License-Identifier: LGPL-2.1-or-later
// The GJS module rustbridge.js (introspection/js/), imported as an app
// imports it from the build tree: by file URI, from RB_GJS_MODULE (which
// meson points at BUILD/introspection/js/rustbridge.js). Prints TAP.
// RB_TEST_ISOLATION=process (the gjs-module-process test) runs every plugin
// in a helper process: the module behaves the same in all modes.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import System from 'system';

const modulePath = GLib.getenv('RB_GJS_MODULE');
const {default: RustBridge, loadPlugin, loadBundlePlugin, requestText} =
    await import(GLib.filename_to_uri(modulePath, null));

const State = RustBridge.LifecycleState;
const PluginError = RustBridge.PluginError;

const paths = [['fixture', GLib.getenv('RB_FIXTURE_PLUGIN')]];
if (GLib.getenv('RB_RUST_PLUGIN'))
    paths.push(['rust', GLib.getenv('RB_RUST_PLUGIN')]);
const fixturePath = GLib.getenv('RB_FIXTURE_PLUGIN');

const isolationName = GLib.getenv('RB_TEST_ISOLATION') ?? 'none';
const isolation = {none: RustBridge.Isolation.NONE, process: RustBridge.Isolation.PROCESS}[isolationName];
if (isolation === undefined)
    throw new Error(`RB_TEST_ISOLATION: unknown mode ${isolationName}`);
if (isolation !== RustBridge.Isolation.NONE && !GLib.getenv('RUSTBRIDGE_HOST_PATH')) {
    print('1..0 # SKIP RUSTBRIDGE_HOST_PATH unset: no helper to run plugins in');
    System.exit(0);
}

// A configuration in the mode under test, with @props.
function testConfig(props = {}) {
    return new RustBridge.PluginConfig({...props, isolation});
}

// The helper processes (children of this one) running plugins now.
function helperCount() {
    const helper = GLib.path_get_basename(GLib.getenv('RUSTBRIDGE_HOST_PATH') ?? 'rustbridge-glib-host-1.0');
    let count = 0;
    const tasks = Gio.File.new_for_path('/proc/self/task').enumerate_children('standard::name',
        Gio.FileQueryInfoFlags.NONE, null);
    for (let info; (info = tasks.next_file(null));) {
        let children;
        try {
            children = new TextDecoder().decode(GLib.file_get_contents(
                `/proc/self/task/${info.get_name()}/children`)[1]).split(' ').filter(p => p.trim());
        } catch {
            continue;           // the thread has exited meanwhile
        }
        for (const pid of children) {
            try {
                const cmdline = new TextDecoder().decode(GLib.file_get_contents(`/proc/${pid.trim()}/cmdline`)[1]);
                if (GLib.path_get_basename(cmdline.split('\0')[0]) === helper)
                    count++;
            } catch {}
        }
    }
    return count;
}

// loadPlugin() in the mode under test; checks a helper runs it in PROCESS.
async function load(path, options = {}) {
    const before = helperCount();
    const plugin = await loadPlugin(path, {config: testConfig(), ...options});
    assertEq(plugin.get_config().isolation, isolation, 'isolation');
    assertEq(helperCount() - before, isolation === RustBridge.Isolation.PROCESS ? 1 : 0, 'new helpers');
    return plugin;
}

const tests = [];
function test(name, fn) {
    for (const [kind, path] of paths)
        tests.push([`${name}/${kind}`, () => fn(path)]);
}
function testOnce(name, fn) {
    tests.push([name, fn]);
}
const cleanups = [];

function assertEq(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new Error(`${what ?? 'value'}: expected ${e}, got ${a}`);
}

function assert(cond, what) {
    if (!cond)
        throw new Error(`assertion failed: ${what}`);
}

async function assertRejects(promise, domain, code, what) {
    try {
        await promise;
    } catch (e) {
        if (!(e instanceof GLib.Error) || !e.matches(domain, code))
            throw new Error(`${what}: expected code ${code}, got ${e}`);
        return e;
    }
    throw new Error(`${what}: not rejected`);
}

function assertThrowsType(fn, type, what) {
    try {
        fn();
    } catch (e) {
        if (!(e instanceof type))
            throw new Error(`${what}: expected ${type.name}, got ${e}`);
        return e;
    }
    throw new Error(`${what}: no error thrown`);
}

// ---- the module ---------------------------------------------------------

testOnce('loaded-from-the-build-tree', () => {
    assert(modulePath.endsWith('/introspection/js/rustbridge.js'), `module path ${modulePath}`);
    assert(RustBridge.Plugin.prototype.callObject !== undefined, 'callObject added');
    // Promisified: the originals are kept for the callback form.
    for (const name of ['call_async', 'call_json_async', 'call_raw_async', 'shutdown_async', 'init_async'])
        assert(RustBridge.Plugin.prototype[`_original_${name}`] !== undefined, `${name} promisified`);
    assert(RustBridge.Plugin[`_original_new_async`] !== undefined, 'new_async promisified');
    assert(RustBridge.Bundle.prototype[`_original_load_plugin_async`] !== undefined,
        'load_plugin_async promisified');
});

testOnce('a-second-copy-of-the-module-is-harmless', async () => {
    // E.g. the app imports the installed copy and a library the build one.
    const dir = GLib.dir_make_tmp('rb-gjs-copy-XXXXXX');
    const copy = `${dir}/rustbridge.js`;
    Gio.File.new_for_path(modulePath).copy(Gio.File.new_for_path(copy), Gio.FileCopyFlags.NONE, null, null);
    cleanups.push(() => {
        GLib.unlink(copy);
        GLib.rmdir(dir);
    });
    const original = RustBridge.Plugin.prototype.call_async;
    const again = await import(GLib.filename_to_uri(copy, null));
    assert(again.default === RustBridge, 'same namespace');
    assert(RustBridge.Plugin.prototype.call_async === original, 'not wrapped twice');
    const plugin = await load(fixturePath);
    assertEq(await plugin.callObject('math.add', {a: 1, b: 1}), {result: 2});
    await plugin.shutdown_async(null);
});

test('load-call-shutdown', async path => {
    const plugin = await load(path);
    assertEq(plugin.state, State.ACTIVE, 'state');
    assertEq(await plugin.callObject('echo', {message: 'héllo'}), {message: 'héllo', length: 6});
    assertEq(await plugin.callObject('payload.array'), [1, 2, 3]);
    assertEq(await plugin.callObject('payload.null', null), null);
    assertEq(plugin.callObjectSync('math.add', {a: 40, b: 2}), {result: 42});
    // The promisified methods themselves.
    assertEq(await plugin.call_async('echo', '{"message":"x"}', null), '{"message":"x","length":1}');
    assertEq(await plugin.shutdown_async(null), true, 'shutdown');
    assertEq(plugin.state, State.STOPPED, 'stopped');
});

test('new-async-with-options', async path => {
    const config = testConfig({log_level: RustBridge.LogLevel.DEBUG});
    const plugin = await load(path, {config, ioPriority: GLib.PRIORITY_LOW});
    assertEq(plugin.log_level, RustBridge.LogLevel.DEBUG, 'config used');
    const direct = await RustBridge.Plugin.new_async(path, testConfig(), GLib.PRIORITY_DEFAULT, null);
    assertEq(direct.state, State.ACTIVE, 'promisified new_async');
    await direct.shutdown_async(null);
    await plugin.shutdown_async(null);
});

test('errors-reject-with-plugin-codes', async path => {
    const plugin = await load(path);
    const e = await assertRejects(plugin.callObject('handler.fail', {}), PluginError,
        PluginError.HANDLER, 'handler');
    assertEq(e.message, 'handler failed on purpose');
    await assertRejects(plugin.callObject('nope'), PluginError, PluginError.UNKNOWN_MESSAGE, 'unknown');
    try {
        plugin.callObjectSync('handler.fail', {});
        throw new Error('no error');
    } catch (err) {
        assert(err instanceof GLib.Error && err.matches(PluginError, PluginError.HANDLER), `${err}`);
    }
    await assertRejects(loadPlugin('/nonexistent/lib.so', {config: testConfig()}), PluginError, PluginError.LOAD_FAILED,
        'missing file');
    await plugin.shutdown_async(null);
});

testOnce('cancel', async () => {
    const plugin = await load(fixturePath);
    const cancellable = new Gio.Cancellable();
    const pending = plugin.callObject('test.sleep', {duration_ms: 800}, cancellable);
    GLib.timeout_add(GLib.PRIORITY_DEFAULT, 30, () => {
        cancellable.cancel();
        return GLib.SOURCE_REMOVE;
    });
    await assertRejects(pending, Gio.IOErrorEnum, Gio.IOErrorEnum.CANCELLED, 'cancelled');
    plugin.shutdown(null);
});

testOnce('request-serialisation', () => {
    assertEq(requestText(null), null);
    assertEq(requestText(undefined), null);
    assertEq(requestText('text'), '"text"');
    assertEq(requestText({a: [1, 'x']}), '{"a":[1,"x"]}');
    assertThrowsType(() => requestText(() => 1), TypeError, 'function');
    assertThrowsType(() => requestText(1n), TypeError, 'BigInt');
    const cycle = {};
    cycle.self = cycle;
    assertThrowsType(() => requestText(cycle), TypeError, 'cycle');
});

test('objects-that-json-cannot-send-are-refused-before-the-call', async path => {
    const plugin = await load(path);
    let rejected = false;
    try {
        await plugin.callObject('echo', {f: 1n});
    } catch (e) {
        rejected = e instanceof TypeError;
    }
    assert(rejected, 'TypeError');
    assertEq(await plugin.callObject('counter.calls').then(r => typeof r), 'object', 'plugin still usable');
    await plugin.shutdown_async(null);
});

// The echo struct of raw message 1 (tests/plugins/fixture-raw.h).
function rawEchoRequest(value, text) {
    const req = new Uint8Array(64);
    req[0] = 1;
    new DataView(req.buffer).setUint32(4, value, true);
    new TextEncoder().encodeInto(text, req.subarray(8, 63));
    return req;
}

function valueTimesTwo(reply) {
    return new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(4, true);
}

test('raw-bytes-in-and-out', async path => {
    const plugin = await load(path);
    const req = rawEchoRequest(21, 'raw');
    let reply = await plugin.callBytes(1, req);
    assert(reply instanceof Uint8Array, 'Uint8Array reply');
    assertEq(valueTimesTwo(reply), 42, 'from Uint8Array');
    reply = await plugin.callBytes(1, req.buffer);
    assertEq(valueTimesTwo(reply), 42, 'from ArrayBuffer');
    reply = await plugin.callBytes(1, new DataView(req.buffer));
    assertEq(valueTimesTwo(reply), 42, 'from DataView');
    reply = await plugin.callBytes(1, new GLib.Bytes(req));
    assertEq(valueTimesTwo(reply), 42, 'from GLib.Bytes');
    // A view into a larger buffer sends only its own bytes.
    const big = new Uint8Array(200);
    big.set(req, 100);
    reply = await plugin.callBytes(1, big.subarray(100, 164));
    assertEq(valueTimesTwo(reply), 42, 'from a subarray');
    let threw = false;
    try {
        await plugin.callBytes(1, 'text');
    } catch (e) {
        threw = e instanceof TypeError;
    }
    assert(threw, 'a string is refused');
    await plugin.shutdown_async(null);
});

// ---- bundles ------------------------------------------------------------

const minisign = GLib.find_program_in_path('minisign');
const makeBundle = GLib.getenv('RB_MAKE_BUNDLE');

function run(argv) {
    Gio.Subprocess.new(argv, Gio.SubprocessFlags.STDOUT_SILENCE).wait_check(null);
}

if (minisign && makeBundle) {
    testOnce('load-bundle-plugin', async () => {
        const dir = GLib.dir_make_tmp('rb-gjs-module-XXXXXX');
        cleanups.push(() => {
            for (const name of ['k.key', 'k.pub', 'p.rbp'])
                GLib.unlink(`${dir}/${name}`);
            GLib.rmdir(dir);
        });
        run([minisign, '-G', '-W', '-p', `${dir}/k.pub`, '-s', `${dir}/k.key`]);
        run(['/usr/bin/python3', makeBundle, `${dir}/p.rbp`, '--library', fixturePath,
            '--platform', RustBridge.Bundle.get_current_platform(), '--name', 'gjs-module',
            '--version', '1.2.3', '--sign', `${dir}/k.key`, '--public-key', `${dir}/k.pub`]);
        const [, pubBytes] = GLib.file_get_contents(`${dir}/k.pub`);
        const publicKey = new TextDecoder().decode(pubBytes).split('\n')
            .filter(line => line && !line.startsWith('untrusted'))[0];
        const plugin = await loadBundlePlugin(`${dir}/p.rbp`, {publicKey, config: testConfig()});
        assertEq(plugin.get_config().isolation, isolation, 'isolation');
        assertEq(plugin.bundle_name, 'gjs-module', 'bundle name');
        assertEq(await plugin.callObject('math.add', {a: 2, b: 2}), {result: 4});
        await plugin.shutdown_async(null);
    });
}

// ---- runner -------------------------------------------------------------
// The top-level await (of the module import above, and here) keeps GJS
// running its main loop until the tests are done: no GLib.MainLoop.run(),
// which would block inside the module's evaluation job.

let failed = 0;
print(`1..${tests.length}`);
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
if (failed)
    System.exit(1);
