// SPDX-License-Identifier: LGPL-2.1-or-later
// RustBridge from Vala, through the generated VAPI: async methods are
// `async` (yield), errors are `throws` with PluginError/BundleError codes.
// Prints TAP, one line per test and plugin.
using RustBridge;

int n_tests = 0;
int n_failed = 0;
MainLoop loop;
unowned Thread<void*> main_thread;

void report (string name, Error? e) {
    n_tests++;
    if (e == null) {
        print ("ok %d %s\n", n_tests, name);
    } else {
        n_failed++;
        print ("not ok %d %s\n# %s\n", n_tests, name, e.message);
    }
}

errordomain CheckError {
    FAILED
}

void check (bool ok, string what) throws CheckError {
    if (!ok)
        throw new CheckError.FAILED ("check failed: %s", what);
}

void check_str (string? actual, string expected, string what) throws CheckError {
    if (actual != expected)
        throw new CheckError.FAILED ("%s: expected '%s', got '%s'", what, expected, actual ?? "(null)");
}

// Delivers what waits for the default main context: the start-up events
// of a plugin just loaded, which are held for its creator.
void drain_start_up () {
    while (MainContext.default ().iteration (false))
        ;
}

void iterate_until (owned SourceFunc done, int timeout_ms = 10000) throws CheckError {
    var end = get_monotonic_time () + timeout_ms * 1000;
    while (!done ()) {
        if (get_monotonic_time () > end)
            throw new CheckError.FAILED ("timed out waiting on the main context");
        var tick = Timeout.add (50, () => Source.REMOVE);
        MainContext.default ().iteration (true);
        Source.remove (tick);
    }
}

// Raw message 1 (tests/plugins/fixture-raw.h): a 64-byte request and a
// 68-byte little-endian response.
Bytes raw_echo_request (uint32 value, string text) {
    var req = new uint8[64];
    req[0] = 1;
    req[4] = (uint8) value;
    req[5] = (uint8) (value >> 8);
    req[6] = (uint8) (value >> 16);
    req[7] = (uint8) (value >> 24);
    for (int i = 0; i < text.length && i < 55; i++)
        req[8 + i] = text.data[i];
    return new Bytes (req);
}

uint32 read_u32 (uint8[] data, int offset) {
    return data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | ((uint32) data[offset + 3] << 24);
}

string raw_text (uint8[] data) {
    var len = read_u32 (data, 8);
    var s = new StringBuilder ();
    for (uint i = 0; i < len; i++)
        s.append_c ((char) data[12 + i]);
    return s.str;
}

// ---- loading -------------------------------------------------------------

void test_new_and_properties (string path) throws Error {
    var plugin = new Plugin (path);
    check_str (plugin.path, path, "path");
    check (plugin.state == LifecycleState.ACTIVE, "state");
    check (plugin.log_level == LogLevel.INFO, "log level");
    check (plugin.rejected_request_count == 0, "rejected");
    check (plugin.has_binary_transport, "binary transport");
    check (plugin.bundle_name == null, "bundle name");
    check (plugin.shutdown (), "shutdown");
    check (plugin.shutdown (), "shutdown is idempotent");
    check (plugin.state == LifecycleState.STOPPED, "stopped");
}

void test_load_errors (string fixture) throws Error {
    try {
        new Plugin ("/nonexistent/lib.so");
        check (false, "no error");
    } catch (PluginError.LOAD_FAILED e) {
        check ("/nonexistent/lib.so" in e.message, e.message);
    }
    var config = new PluginConfig ();
    config.set_data_json ("fail_init", "true");
    try {
        new Plugin (fixture, config);
        check (false, "no error");
    } catch (PluginError.INIT_FAILED e) {
    }
}

async void test_async_constructor (string path) throws Error {
    var config = new PluginConfig ();
    config.worker_threads = 2;
    var plugin = yield new Plugin.load (path, config);
    check (plugin.state == LifecycleState.ACTIVE, "state");
    check (plugin.config.worker_threads == 2, "config");
    try {
        yield new Plugin.load ("/nonexistent/lib.so");
        check (false, "no error");
    } catch (PluginError.LOAD_FAILED e) {
    }
    yield plugin.shutdown_async ();
}

async void test_async_initable (string path) throws Error {
    var config = new PluginConfig ();
    config.worker_threads = 2;
    var plugin = (Plugin) Object.new (typeof (Plugin), path: path, config: config);
    check (plugin.state == LifecycleState.INSTALLED, "not started");
    check (yield plugin.init_async (Priority.DEFAULT, null), "init");
    check (plugin.state == LifecycleState.ACTIVE, "state");
    check (plugin.config.worker_threads == 2, "config");
    plugin.shutdown ();
}

// ---- calls and errors -------------------------------------------------------

void test_sync_calls (string path) throws Error {
    var plugin = new Plugin (path);
    check_str (plugin.call ("echo", "{\"message\":\"vala\"}"), "{\"message\":\"vala\",\"length\":4}", "echo");
    check_str (plugin.call ("payload.array"), "[1,2,3]", "payload.array");
    var node = plugin.call_json ("math.add", Json.from_string ("{\"a\":40,\"b\":2}"));
    check (node.get_object ().get_int_member ("result") == 42, "call_json");
    plugin.shutdown ();
}

void test_errors (string path) throws Error {
    var plugin = new Plugin (path);
    try {
        plugin.call ("nope", "{}");
        check (false, "no error");
    } catch (PluginError e) {
        check (e is PluginError.UNKNOWN_MESSAGE, "error code");
        check (e.code == 6, "wire code");
        check (e.domain == PluginError.quark (), "domain");
        check_str (e.message, "unknown message type: nope", "message");
    }
    try {
        plugin.call ("handler.fail", "{}");
        check (false, "no error");
    } catch (PluginError.HANDLER e) {
        check_str (e.message, "handler failed on purpose", "message");
    }
    try {
        plugin.call ("echo", "{bad");
        check (false, "no error");
    } catch (PluginError.SERIALIZATION e) {
    }
    var cancellable = new Cancellable ();
    cancellable.cancel ();
    try {
        plugin.call ("echo", "{}", cancellable);
        check (false, "no error");
    } catch (IOError.CANCELLED e) {
    }
    plugin.shutdown ();
    try {
        plugin.call ("echo", "{\"message\":\"late\"}");
        check (false, "no error");
    } catch (PluginError.INVALID_STATE e) {
    }
}

void test_panic (string path) throws Error {
    var plugin = new Plugin (path);
    drain_start_up ();  // the start-up events (held for the creator) first
    LifecycleState last = LifecycleState.INSTALLED;
    plugin.state_changed.connect ((from, to) => last = to);
    try {
        plugin.call ("panic", "{}");
        check (false, "no error");
    } catch (PluginError.INTERNAL e) {
    }
    check (plugin.state == LifecycleState.FAILED, "state");
    check (last == LifecycleState.FAILED, "state-changed");
    plugin.shutdown ();
}

// ---- config -------------------------------------------------------------------

void test_config (string path) throws Error {
    var config = new PluginConfig ();
    check (config.max_concurrent_ops == 1000 && config.shutdown_timeout_ms == 5000, "defaults");
    config.log_level = LogLevel.WARN;
    config.max_concurrent_ops = 4;
    config.set_data ("node", Json.from_string ("{\"x\":true}"));
    config.set_data_json ("list", "[1,2]");
    config.set_init_param_json ("mode", "\"fast\"");
    var json = config.to_json ();
    check ("\"data\":{\"node\":{\"x\":true},\"list\":[1,2]}" in json, json);
    check ("\"init_params\":{\"mode\":\"fast\"}" in json, json);
    check_str (new PluginConfig.from_json (json).to_json (), json, "round trip");
    try {
        new PluginConfig.from_json ("{\"worker_threads\":\"x\"}");
        check (false, "no error");
    } catch (PluginError.CONFIG e) {
    }

    var plugin = new Plugin (path, config);
    drain_start_up ();  // the start-up events (held for the creator) first
    check (plugin.log_level == LogLevel.WARN, "plugin log level");
    check (plugin.config.max_concurrent_ops == 4, "config copy");
    int notified = 0;
    plugin.notify["log-level"].connect (() => notified++);
    plugin.log_level = LogLevel.DEBUG;
    plugin.log_level = LogLevel.DEBUG;
    check (notified == 1, "log-level notified once");
    plugin.shutdown ();
}

// ---- signals -----------------------------------------------------------------------

void test_state_signals (string path) throws Error {
    var plugin = new Plugin (path);
    drain_start_up ();  // the start-up events (held for the creator) first
    var notified = new Array<LifecycleState> ();
    var changes = new StringBuilder ();
    plugin.notify["state"].connect (() => notified.append_val (plugin.state));
    plugin.state_changed.connect ((from, to) => changes.append ("%d>%d ".printf (from, to)));
    plugin.shutdown ();
    check (notified.length == 2 && notified.index (1) == LifecycleState.STOPPED, "notify::state");
    check_str (changes.str, "2>3 3>4 ", "state-changed");
}

void test_log_signal (string path) throws Error {
    var plugin = new Plugin (path);
    int seen = 0;
    bool on_main = true;
    plugin.log.connect ((level, target, message) => {
        if (!message.has_prefix ("vala-log"))
            return false;
        seen++;
        on_main = on_main && Thread.self<void*> () == main_thread && level == LogLevel.WARN;
        return true;  // taken: not passed on to GLib's log
    });
    plugin.call ("log.emit", "{\"count\":3,\"level\":\"warn\",\"message\":\"vala-log\",\"thread\":true}");
    iterate_until (() => seen >= 3);
    check (on_main, "emitted on the main thread with the right level");
    plugin.shutdown ();
}

void test_dispose_shuts_down (string path) throws Error {
    var plugin = new Plugin (path);
    var changes = new StringBuilder ();
    bool finalized = false;
    plugin.state_changed.connect ((from, to) => changes.append ("%d ".printf (to)));
    plugin.weak_ref (() => finalized = true);
    plugin = null;
    // The start-up changes, still held for the creator, come first.
    check_str (changes.str, "1 2 3 4 ", "starting, active, stopping, stopped in dispose");
    check (finalized, "finalized");
}

// ---- binary transport ------------------------------------------------------

async void test_raw (string path) throws Error {
    var plugin = new Plugin (path);
    var reply = plugin.call_raw (1, raw_echo_request (21, "vala"));
    check (reply.get_size () == 68, "response size");
    check (read_u32 (reply.get_data (), 4) == 42, "value*2");
    check_str (raw_text (reply.get_data ()), "vala", "text");
    reply = yield plugin.call_raw_async (1, raw_echo_request (50, "async"));
    check (read_u32 (reply.get_data (), 4) == 100, "async value*2");
    try {
        plugin.call_raw (999, raw_echo_request (1, ""));
        check (false, "no error");
    } catch (PluginError.UNKNOWN_MESSAGE e) {
    }
    plugin.shutdown ();
}

void test_raw_not_supported () throws Error {
    var plugin = new Plugin (Environment.get_variable ("RB_FIXTURE_NORAW_PLUGIN"));
    check (!plugin.has_binary_transport, "no binary transport");
    try {
        plugin.call_raw (1, raw_echo_request (1, ""));
        check (false, "no error");
    } catch (PluginError.NOT_SUPPORTED e) {
    }
    plugin.shutdown ();
}

void test_raw_outlives_plugin (string path) throws Error {
    Bytes reply;
    {
        var plugin = new Plugin (path);
        reply = plugin.call_raw (1, raw_echo_request (5, "outlive"));
        plugin.shutdown ();
    }   // the last reference to the plugin is gone here
    check (read_u32 (reply.get_data (), 4) == 10, "value*2");
    check_str (raw_text (reply.get_data ()), "outlive", "text");
}

// ---- async -------------------------------------------------------------------------

async void test_async (string path) throws Error {
    var plugin = new Plugin (path);
    var reply = yield plugin.call_async ("math.add", "{\"a\":20,\"b\":22}");
    check_str (reply, "{\"result\":42}", "call_async");
    var node = yield plugin.call_json_async ("math.add", Json.from_string ("{\"a\":2,\"b\":2}"));
    check (node.get_object ().get_int_member ("result") == 4, "call_json_async");
    try {
        yield plugin.call_async ("handler.fail", "{}");
        check (false, "no error");
    } catch (PluginError.HANDLER e) {
    }
    // Many in flight at once, completed in this main context.
    int pending = 20;
    for (int i = 0; i < 20; i++) {
        plugin.call_async.begin ("echo", "{\"message\":\"m%d\"}".printf (i), null, (obj, res) => {
            try {
                plugin.call_async.end (res);
            } catch (Error e) {
                warning ("%s", e.message);
            }
            pending--;
            if (pending == 0)
                test_async.callback ();
        });
    }
    yield;
    check (yield plugin.shutdown_async (), "shutdown_async");
}

async void test_async_cancel (string fixture) throws Error {
    var plugin = new Plugin (fixture);
    var cancellable = new Cancellable ();
    Timeout.add (50, () => { cancellable.cancel (); return Source.REMOVE; });
    try {
        yield plugin.call_async ("test.sleep", "{\"duration_ms\":2000}", cancellable);
        check (false, "no error");
    } catch (IOError.CANCELLED e) {
    }
    plugin.shutdown ();
}

// ---- bundles -----------------------------------------------------------------------

string? make_key (string dir, string name, out string trusted) throws Error {
    trusted = "";
    var minisign = Environment.find_program_in_path ("minisign");
    if (minisign == null)
        return null;
    int status;
    Process.spawn_sync (null, { minisign, "-G", "-W", "-p", dir + "/" + name + ".pub", "-s", dir + "/" + name + ".key" },
                        null, SpawnFlags.STDOUT_TO_DEV_NULL, null, null, null, out status);
    Process.check_wait_status (status);
    string text;
    FileUtils.get_contents (dir + "/" + name + ".pub", out text);
    foreach (var line in text.split ("\n"))
        if (line != "" && !line.has_prefix ("untrusted"))
            trusted = line;
    return dir + "/" + name;
}

// Removes @path, a directory of plain files.
void remove_flat_dir (string path) {
    try {
        var dir = Dir.open (path);
        for (unowned string? name = dir.read_name (); name != null; name = dir.read_name ())
            FileUtils.unlink (Path.build_filename (path, name));
    } catch (FileError e) {
        print ("# %s\n", e.message);
    }
    if (DirUtils.remove (path) != 0)
        print ("# could not remove %s\n", path);
}

async void test_bundle (string fixture) throws Error {
    var dir = DirUtils.make_tmp ("rb-vala-XXXXXX");
    try {
        yield check_bundle (fixture, dir);
    } finally {
        remove_flat_dir (dir);              // keys without a password, too
    }
}

async void check_bundle (string fixture, string dir) throws Error {
    string trusted, untrusted;
    var signer = make_key (dir, "signer", out trusted);
    make_key (dir, "other", out untrusted);
    var out_path = dir + "/plugin.rbp";
    int status;
    Process.spawn_sync (null, { "/usr/bin/python3", Environment.get_variable ("RB_MAKE_BUNDLE"), out_path,
                                "--library", fixture, "--platform", Bundle.get_current_platform (),
                                "--name", "vala-plugin", "--version", "0.5.6",
                                "--sign", signer + ".key", "--public-key", signer + ".pub" },
                        null, 0, null, null, null, out status);
    Process.check_wait_status (status);

    var bundle = new Bundle.for_path (out_path);
    check_str (bundle.name, "vala-plugin", "name");
    check_str (bundle.version, "0.5.6", "version");
    check (bundle.authors.length == 2 && bundle.authors[1] == "Grace", "authors");
    check (bundle.verify_mode == VerifyMode.STRICT, "verify mode");
    var variants = bundle.list_variants ();
    check (variants.length == 1 && variants[0] == "release", "variants");
    check ("manifest.json" in string.joinv (",", bundle.list_files ()), "files");
    var tags = new StringBuilder ();
    foreach (var message in bundle.list_api_messages ())
        tags.append (message.get_type_tag () + " ");
    check_str (tags.str, "echo math.add ", "api messages");
    var echo = bundle.lookup_api_message ("echo");
    check (echo != null && echo.get_message_id () == 1, "echo message id");
    check_str (echo.get_cstruct_request (), "FixtureRawEchoRequest", "echo request struct");
    check (bundle.lookup_api_message_by_id (7) == null, "no message 7");
    check_str (bundle.get_git_branch (), "main", "git branch");
    check_str (bundle.dup_built_at().format_iso8601 (), "2026-11-24T00:00:00Z", "built at");
    var sbom = bundle.read_file (bundle.get_sbom_path ("cyclonedx")).get_data ();
    var sbom_text = new StringBuilder ();
    sbom_text.append_len ((string) sbom, sbom.length);     // the bytes end without a NUL
    check ("CycloneDX" in sbom_text.str, "sbom");

    bundle.public_key = untrusted;
    try {
        bundle.load_plugin ();
        check (false, "no error");
    } catch (BundleError.SIGNATURE_INVALID e) {
    }
    bundle.public_key = trusted;
    check (bundle.verify (), "verify");
    var plugin = bundle.load_plugin ();
    check_str (plugin.bundle_name, "vala-plugin", "bundle name");
    check_str (plugin.call ("echo", "{\"message\":\"bundled\"}"), "{\"message\":\"bundled\",\"length\":7}", "call");
    plugin.shutdown ();
    plugin = yield bundle.load_plugin_async ();
    check_str (plugin.bundle_version, "0.5.6", "async load");
    plugin.shutdown ();
    try {
        bundle.load_plugin ("nope");
        check (false, "no error");
    } catch (BundleError.VARIANT_NOT_FOUND e) {
    }
    try {
        new Bundle.for_path (dir + "/missing.rbp");
        check (false, "no error");
    } catch (BundleError.NOT_FOUND e) {
    }
}

// ---- trust: which key STRICT checks a bundle with ------------------------------------

// Removes @path and everything under it.
void remove_tree (string path) {
    if (FileUtils.test (path, FileTest.IS_DIR) && !FileUtils.test (path, FileTest.IS_SYMLINK)) {
        try {
            var d = Dir.open (path);
            string? name;
            while ((name = d.read_name ()) != null)
                remove_tree (Path.build_filename (path, name));
        } catch (FileError e) {
            print ("# %s\n", e.message);
        }
        DirUtils.remove (path);
    } else {
        FileUtils.remove (path);
    }
}

void write_key (string dir, string name, string key_line) throws Error {
    DirUtils.create_with_parents (dir, 0700);
    FileUtils.set_contents (dir + "/" + name, "untrusted comment: test key\n" + key_line + "\n");
}

void check_no_key (Bundle bundle, string what) throws Error {
    try {
        bundle.verify ();
        check (false, what + ": no error");
    } catch (BundleError.NO_PUBLIC_KEY e) {
        foreach (var needle in new string[] { "public-key", "trust-embedded-key", "rustbridge/trusted-keys" })
            check (needle in e.message, what + ": the message names " + needle);
    }
}

// GLib reads XDG_CONFIG_HOME and XDG_DATA_DIRS once: a child (this program
// with --verify-child) has them set. Returns what the child printed.
string verify_in_child (string bundle_path, string config, string data_dirs) throws Error {
    string[] env = Environ.set_variable (Environ.get (), "XDG_CONFIG_HOME", config);
    env = Environ.set_variable (env, "XDG_DATA_DIRS", data_dirs);
    string stdout_text;
    int status;
    Process.spawn_sync (null, { self_path, "--verify-child", bundle_path }, env, 0, null,
                        out stdout_text, null, out status);
    Process.check_wait_status (status);
    return stdout_text.strip ();
}

int verify_child (string bundle_path) {
    try {
        new Bundle.for_path (bundle_path).verify ();
        print ("verified\n");
    } catch (Error e) {
        print ("error %d\n", e.code);
    }
    return 0;
}

async void test_bundle_trust (string fixture) throws Error {
    var dir = DirUtils.make_tmp ("rb-vala-trust-XXXXXX");
    try {
        string trusted, untrusted;
        var signer = make_key (dir, "signer", out trusted);
        make_key (dir, "other", out untrusted);
        var out_path = dir + "/plugin.rbp";
        int status;
        Process.spawn_sync (null, { "/usr/bin/python3", Environment.get_variable ("RB_MAKE_BUNDLE"), out_path,
                                    "--library", fixture, "--platform", Bundle.get_current_platform (),
                                    "--sign", signer + ".key", "--public-key", signer + ".pub" },
                            null, 0, null, null, null, out status);
        Process.check_wait_status (status);

        // No trusted key: refused, and the message says how to fix it.
        var keys_dir = dir + "/app-keys";
        DirUtils.create (keys_dir, 0700);
        var bundle = new Bundle.for_path (out_path);
        check (!bundle.trust_embedded_key, "trust-embedded-key is off by default");
        bundle.trusted_keys_dir = keys_dir;
        check_no_key (bundle, "empty trusted-keys-dir");

        // trusted-keys-dir: the key with the signature's id.
        FileUtils.set_contents (keys_dir + "/a-garbage.pub", "not a key\n");
        write_key (keys_dir, "other.pub", untrusted);
        check_no_key (bundle, "only other keys");
        write_key (keys_dir, "signer.pub", trusted);
        check (bundle.verify (), "trusted-keys-dir");
        var plugin = yield bundle.load_plugin_async ();
        check (plugin.state == LifecycleState.ACTIVE, "loaded");
        plugin.shutdown ();

        // public-key.
        bundle = new Bundle.for_path (out_path);
        bundle.trusted_keys_dir = dir + "/nowhere";
        bundle.public_key = trusted;
        check (bundle.verify (), "public-key");

        // trust-embedded-key, only when asked.
        bundle = new Bundle.for_path (out_path);
        bundle.trusted_keys_dir = dir + "/nowhere";
        bundle.trust_embedded_key = true;
        check (bundle.verify (), "trust-embedded-key");

        // The user's and the system's directories.
        foreach (var where in new string[] { "user", "system" }) {
            var config = dir + "/" + where + "-config";
            var data1 = dir + "/" + where + "-data1", data2 = dir + "/" + where + "-data2";
            var data_dirs = data1 + ":" + data2;
            check_str (verify_in_child (out_path, config, data_dirs), "error %d".printf (BundleError.NO_PUBLIC_KEY),
                       where + ": no key");
            write_key ((where == "user" ? config : data2) + "/rustbridge/trusted-keys", "signer.pub", trusted);
            check_str (verify_in_child (out_path, config, data_dirs), "verified", where + ": key found");
        }
    } finally {
        remove_tree (dir);
    }
}

// ---- isolated plugins ----------------------------------------------------------

// The misbehaving plugin in a helper process: a segfault fails the call
// with PluginError.CRASHED, the plugin goes FAILED (state-changed,
// crash-count) and restart_async brings it back; this process lives on.
async void test_isolated (string misbehave) throws Error {
    var config = new PluginConfig ();
    config.isolation = Isolation.PROCESS;
    var plugin = new Plugin (misbehave, config);
    drain_start_up ();
    LifecycleState last = LifecycleState.ACTIVE;
    uint crash_notifies = 0;
    plugin.state_changed.connect ((from, to) => last = to);
    plugin.notify["crash-count"].connect (() => crash_notifies++);
    check_str (plugin.call ("ok", "{}"), "{\"ok\":true}", "before the crash");
    try {
        plugin.call ("crash.segv", "{}");
        check (false, "no error");
    } catch (PluginError.CRASHED e) {
        check ("signal 11" in e.message, "the message names the signal: " + e.message);
    }
    iterate_until (() => last == LifecycleState.FAILED);
    check (plugin.state == LifecycleState.FAILED, "state");
    check (plugin.crash_count == 1, "crash-count");
    check (crash_notifies >= 1, "notify::crash-count");
    yield plugin.restart_async ();
    check (plugin.state == LifecycleState.ACTIVE, "active after restart");
    check_str (plugin.call ("ok", "{}"), "{\"ok\":true}", "after the restart");
    plugin.shutdown ();
}

// ---- runner ---------------------------------------------------------------------

async void run_all () {
    var fixture = Environment.get_variable ("RB_FIXTURE_PLUGIN");
    string[] kinds = { "RB_FIXTURE_PLUGIN", "RB_RUST_PLUGIN" };
    foreach (var kind in kinds) {
        var path = Environment.get_variable (kind);
        if (path == null || path == "")
            continue;
        var k = kind == "RB_RUST_PLUGIN" ? "rust" : "fixture";
        try { test_new_and_properties (path); report ("new-and-properties/" + k, null); }
        catch (Error e) { report ("new-and-properties/" + k, e); }
        try { yield test_async_constructor (path); report ("async-constructor/" + k, null); }
        catch (Error e) { report ("async-constructor/" + k, e); }
        try { yield test_async_initable (path); report ("async-initable/" + k, null); }
        catch (Error e) { report ("async-initable/" + k, e); }
        try { test_sync_calls (path); report ("sync-calls/" + k, null); }
        catch (Error e) { report ("sync-calls/" + k, e); }
        try { test_errors (path); report ("errors/" + k, null); }
        catch (Error e) { report ("errors/" + k, e); }
        try { test_panic (path); report ("panic/" + k, null); }
        catch (Error e) { report ("panic/" + k, e); }
        try { test_config (path); report ("config/" + k, null); }
        catch (Error e) { report ("config/" + k, e); }
        try { test_state_signals (path); report ("state-signals/" + k, null); }
        catch (Error e) { report ("state-signals/" + k, e); }
        try { test_log_signal (path); report ("log-signal/" + k, null); }
        catch (Error e) { report ("log-signal/" + k, e); }
        try { test_dispose_shuts_down (path); report ("dispose-shuts-down/" + k, null); }
        catch (Error e) { report ("dispose-shuts-down/" + k, e); }
        try { yield test_raw (path); report ("raw/" + k, null); }
        catch (Error e) { report ("raw/" + k, e); }
        try { test_raw_outlives_plugin (path); report ("raw-outlives-plugin/" + k, null); }
        catch (Error e) { report ("raw-outlives-plugin/" + k, e); }
        try { yield test_async (path); report ("async/" + k, null); }
        catch (Error e) { report ("async/" + k, e); }
    }
    var misbehave = Environment.get_variable ("RB_MISBEHAVE_PLUGIN");
    if (misbehave != null && Environment.get_variable ("RUSTBRIDGE_HOST_PATH") != null) {
        try { yield test_isolated (misbehave); report ("isolated", null); }
        catch (Error e) { report ("isolated", e); }
    } else {
        n_tests++;
        print ("ok %d isolated # SKIP no misbehaving plugin or helper\n", n_tests);
    }
    try { test_load_errors (fixture); report ("load-errors", null); }
    catch (Error e) { report ("load-errors", e); }
    try { test_raw_not_supported (); report ("raw-not-supported", null); }
    catch (Error e) { report ("raw-not-supported", e); }
    try { yield test_async_cancel (fixture); report ("async-cancel", null); }
    catch (Error e) { report ("async-cancel", e); }
    if (Environment.find_program_in_path ("minisign") != null && Environment.get_variable ("RB_MAKE_BUNDLE") != null) {
        try { yield test_bundle (fixture); report ("bundle", null); }
        catch (Error e) { report ("bundle", e); }
        try { yield test_bundle_trust (fixture); report ("bundle-trust", null); }
        catch (Error e) { report ("bundle-trust", e); }
    } else {
        n_tests++;
        print ("ok %d bundle # SKIP minisign or rb-make-bundle.py missing\n", n_tests);
        n_tests++;
        print ("ok %d bundle-trust # SKIP minisign or rb-make-bundle.py missing\n", n_tests);
    }
    loop.quit ();
}

string self_path;

int main (string[] args) {
    if (args.length == 3 && args[1] == "--verify-child")
        return verify_child (args[2]);
    self_path = FileUtils.test (args[0], FileTest.IS_EXECUTABLE) && Path.is_absolute (args[0])
                ? args[0] : Path.build_filename (Environment.get_current_dir (), args[0]);
    main_thread = Thread.self<void*> ();
    loop = new MainLoop ();
    run_all.begin ();
    loop.run ();
    print ("1..%d\n", n_tests);
    return n_failed == 0 ? 0 : 1;
}
