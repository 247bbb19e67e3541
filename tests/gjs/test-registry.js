// SPDX-License-Identifier: LGPL-2.1-or-later
// RbRegistry from GJS: the list model and its positions, availability,
// loading by name (async), enabled-plugins bound to a GSettings key (memory
// backend, a schema compiled here), the watch flow. Prints TAP.
import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import RustBridge from 'gi://RustBridge?version=1.0';
import System from 'system';

Gio._promisify(RustBridge.Registry.prototype, 'rescan_async', 'rescan_finish');
Gio._promisify(RustBridge.Registry.prototype, 'load_plugin_async', 'load_plugin_finish');
Gio._promisify(RustBridge.Registry.prototype, 'unload_plugin_async', 'unload_plugin_finish');
Gio._promisify(RustBridge.Plugin.prototype, 'reload_async', 'reload_finish');

const minisign = GLib.find_program_in_path('minisign');
const makeBundle = GLib.getenv('RB_MAKE_BUNDLE');
const fixturePath = GLib.getenv('RB_FIXTURE_PLUGIN');
const fixtureV2Path = GLib.getenv('RB_FIXTURE_V2_PLUGIN');

function assertEq(actual, expected, what) {
    const a = JSON.stringify(actual), e = JSON.stringify(expected);
    if (a !== e)
        throw new Error(`${what ?? 'value'}: expected ${e}, got ${a}`);
}

function run(argv, cwd = null) {
    const [, , err, status] = GLib.spawn_sync(cwd, argv, null, GLib.SpawnFlags.SEARCH_PATH, null);
    if (!GLib.spawn_check_wait_status(status))
        throw new Error(`${argv[0]} failed: ${new TextDecoder().decode(err)}`);
}

if (!minisign || !makeBundle) {
    print('1..0 # SKIP minisign or the bundle maker missing');
    System.exit(0);
}

const base = GLib.dir_make_tmp('rb-gjs-registry-XXXXXX');
const plugins = `${base}/plugins`, keys = `${base}/keys`;
GLib.mkdir_with_parents(plugins, 0o700);
GLib.mkdir_with_parents(keys, 0o700);
run([minisign, '-G', '-W', '-p', `${keys}/k.pub`, '-s', `${base}/k.key`]);
function make(file, name, version, sign = true, library = fixturePath) {
    const argv = ['/usr/bin/python3', makeBundle, `${base}/${file}`, '--library', library,
        '--platform', RustBridge.Bundle.get_current_platform(), '--name', name, '--version', version];
    if (sign)
        argv.push('--sign', `${base}/k.key`, '--public-key', `${keys}/k.pub`);
    run(argv);
}
make('alpha.rbp', 'alpha', '1.0.0');
make('beta.rbp', 'beta', '1.0.0');
make('gamma.rbp', 'gamma', '1.0.0', false);
make('bravo.rbp', 'bravo', '1.0.0');
// The second fixture build answers fixture.version with 2.
make('alpha-2.rbp', 'alpha', '2.0.0', true, fixtureV2Path);
function install(file, as = file) {
    Gio.File.new_for_path(`${base}/${file}`).copy(Gio.File.new_for_path(`${plugins}/${as}`),
        Gio.FileCopyFlags.OVERWRITE, null, null);
}
// Runs the main loop until predicate() holds, at most @ms.
function waitFor(predicate, what, ms = 10000) {
    return new Promise((resolve, reject) => {
        const deadline = GLib.get_monotonic_time() + ms * 1000;
        const check = () => {
            if (predicate()) {
                resolve();
                return GLib.SOURCE_REMOVE;
            }
            if (GLib.get_monotonic_time() > deadline) {
                reject(new Error(`timed out waiting for ${what}`));
                return GLib.SOURCE_REMOVE;
            }
            return GLib.SOURCE_CONTINUE;
        };
        if (check() === GLib.SOURCE_CONTINUE)
            GLib.timeout_add(GLib.PRIORITY_DEFAULT, 20, check);
    });
}
function modelNames() {
    const names = [];
    for (let i = 0; i < registry.get_n_items(); i++)
        names.push(`${registry.get_item(i).name}-${registry.get_item(i).version}`);
    return names;
}
// A GSettings object for the test schema, in memory.
function testSettings() {
    const schemas = `${base}/schemas`;
    GLib.mkdir_with_parents(schemas, 0o700);
    GLib.file_set_contents(`${schemas}/test.gschema.xml`,
        '<schemalist><schema id="org.rustbridge.GjsRegistryTest" path="/org/rustbridge/GjsRegistryTest/">' +
        '<key name="enabled-plugins" type="as"><default>[]</default></key></schema></schemalist>');
    run(['glib-compile-schemas', schemas]);
    const source = Gio.SettingsSchemaSource.new_from_directory(schemas, null, false);
    return Gio.Settings.new_full(source.lookup('org.rustbridge.GjsRegistryTest', false),
        Gio.memory_settings_backend_new(), null);
}
function fixtureVersion(plugin) {
    return JSON.parse(plugin.call('fixture.version', null, null)).version;
}
function openBundle(file) {
    const bundle = RustBridge.Bundle.new_for_path(`${base}/${file}`, null);
    bundle.trusted_keys_dir = keys;
    return bundle;
}

const registry = RustBridge.Registry.new('org.rustbridge.GjsRegistryTest');
registry.trusted_keys_dir = keys;
registry.add_search_path(plugins);
const changes = [];
registry.connect('items-changed', (m, pos, removed, added) => changes.push([pos, removed, added]));

const tests = [
    ['model', async () => {
        install('beta.rbp');
        await registry.rescan_async(null);
        install('alpha.rbp');
        await registry.rescan_async(null);
        install('gamma.rbp');
        await registry.rescan_async(null);
        assertEq(changes, [[0, 0, 1], [0, 0, 1], [2, 0, 1]], 'items-changed');
        const names = [];
        for (let i = 0; i < registry.get_n_items(); i++)
            names.push(registry.get_item(i).name);
        assertEq(names, ['alpha', 'beta', 'gamma'], 'order');
    }],
    ['availability', () => {
        const gamma = registry.lookup_bundle('gamma');
        assertEq(gamma.available, false, 'gamma available');
        const reason = gamma.get_unavailable_reason();
        assertEq(reason.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_MISSING),
            true, 'reason');
        assertEq(registry.lookup_bundle('alpha').available, true, 'alpha available');
    }],
    ['load-unload', async () => {
        const plugin = await registry.load_plugin_async('alpha', null, null);
        assertEq(registry.get_plugin('alpha') === plugin, true, 'get_plugin');
        assertEq(registry.loaded_plugins, ['alpha'], 'loaded');
        await registry.unload_plugin_async('alpha', null);
        assertEq(plugin.state, RustBridge.LifecycleState.STOPPED, 'state');
        try {
            await registry.load_plugin_async('gamma', null, null);
            throw new Error('gamma loaded');
        } catch (e) {
            assertEq(e.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_MISSING),
                true, e.message);
        }
    }],
    ['enabled-plugins-gsettings', async () => {
        const settings = testSettings();
        settings.bind('enabled-plugins', registry, 'enabled-plugins', Gio.SettingsBindFlags.DEFAULT);
        const loaded = [], unloaded = [];
        const ids = [
            registry.connect('plugin-loaded', (r, bundle) => loaded.push(bundle.name)),
            registry.connect('plugin-unloaded', (r, bundle) => unloaded.push(bundle.name)),
        ];
        settings.set_strv('enabled-plugins', ['alpha', 'beta']);
        await waitFor(() => loaded.length === 2, 'two plugin-loaded');
        assertEq(loaded.sort(), ['alpha', 'beta'], 'loaded by the setting');
        assertEq(registry.loaded_plugins, ['alpha', 'beta'], 'loaded-plugins');
        assertEq(registry.enabled_plugins, ['alpha', 'beta'], 'enabled-plugins follows the key');
        settings.set_strv('enabled-plugins', ['beta']);
        await waitFor(() => unloaded.length === 1, 'plugin-unloaded');
        assertEq(unloaded, ['alpha'], 'unloaded by the setting');
        assertEq(registry.loaded_plugins, ['beta'], 'after disabling alpha');
        // The binding goes both ways: the property writes the key.
        registry.enabled_plugins = [];
        assertEq(settings.get_strv('enabled-plugins'), [], 'key written back');
        await waitFor(() => unloaded.length === 2, 'beta unloaded');
        assertEq(registry.loaded_plugins, [], 'none loaded');
        Gio.Settings.unbind(registry, 'enabled-plugins');
        ids.forEach(id => registry.disconnect(id));
    }],
    ['reload', async () => {
        const plugin = RustBridge.Plugin.new(fixturePath, null, null);
        // Its start-up transitions are delivered first.
        await new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => resolve()));
        const states = [];
        plugin.connect('state-changed', (p, from, to) => states.push(to));
        await plugin.reload_async(openBundle('alpha-2.rbp'), null);
        assertEq(fixtureVersion(plugin), 2, 'version after reload');
        assertEq(plugin.bundle_version, '2.0.0', 'bundle-version');
        try {
            await plugin.reload_async(openBundle('gamma.rbp'), null);
            throw new Error('gamma reloaded');
        } catch (e) {
            assertEq(e.matches(RustBridge.bundle_error_quark(), RustBridge.BundleError.SIGNATURE_MISSING),
                true, e.message);
        }
        assertEq(fixtureVersion(plugin), 2, 'still serving');
        await new Promise(resolve => GLib.timeout_add(GLib.PRIORITY_DEFAULT, 50, () => resolve()));
        assertEq(states, [RustBridge.LifecycleState.STARTING, RustBridge.LifecycleState.ACTIVE], 'states');
        plugin.shutdown(null);
    }],
    ['plugin-reloaded', async () => {
        const plugin = await registry.load_plugin_async('alpha', null, null);
        assertEq(fixtureVersion(plugin), 1, 'version before');
        const [oldBundle, newBundle, reloaded] = await new Promise(resolve => {
            const id = registry.connect('plugin-reloaded', (r, o, n, p) => {
                registry.disconnect(id);
                resolve([o, n, p]);
            });
            install('alpha-2.rbp', 'alpha.rbp');
            registry.rescan(null);
        });
        assertEq(reloaded === plugin, true, 'the same plugin');
        assertEq([oldBundle.version, newBundle.version], ['1.0.0', '2.0.0'], 'bundles');
        assertEq(fixtureVersion(plugin), 2, 'version after');
        await registry.unload_plugin_async('alpha', null);
    }],
    ['watch', async () => {
        const before = modelNames();
        assertEq(before, ['alpha-2.0.0', 'beta-1.0.0', 'gamma-1.0.0'], 'model before');
        const seen = [];
        const id = registry.connect('items-changed', (m, pos, removed, added) => seen.push([pos, removed, added]));
        assertEq(registry.watch, false, 'watch off by default');
        registry.watch = true;
        install('bravo.rbp');
        await waitFor(() => seen.length > 0, 'items-changed for the added bundle');
        assertEq(seen, [[2, 0, 1]], 'bravo added between beta and gamma');
        assertEq(modelNames(), ['alpha-2.0.0', 'beta-1.0.0', 'bravo-1.0.0', 'gamma-1.0.0'], 'model');
        GLib.unlink(`${plugins}/bravo.rbp`);
        await waitFor(() => seen.length > 1, 'items-changed for the removed bundle');
        assertEq(seen, [[2, 0, 1], [2, 1, 0]], 'bravo removed');
        assertEq(modelNames(), before, 'model after');
        registry.watch = false;
        registry.disconnect(id);
    }],
];

print(`1..${tests.length}`);
let failed = 0;
for (const [i, [name, fn]] of tests.entries()) {
    try {
        // eslint-disable-next-line no-await-in-loop
        await fn();
        print(`ok ${i + 1} - ${name}`);
    } catch (e) {
        failed++;
        print(`not ok ${i + 1} - ${name}`);
        printerr(e.stack ? `${e}\n${e.stack}` : `${e}`);
    }
}
run(['rm', '-rf', base]);
System.exit(failed > 0 ? 1 : 0);
