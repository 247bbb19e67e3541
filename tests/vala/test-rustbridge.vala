// SPDX-License-Identifier: LGPL-2.1-or-later
// RustBridge from Vala, through the generated VAPI. Prints TAP.
using RustBridge;

int n_tests = 0;
int n_failed = 0;
MainLoop loop;

void report (string name, Error? e) {
    n_tests++;
    if (e == null) {
        print ("ok %d %s\n", n_tests, name);
    } else {
        n_failed++;
        print ("not ok %d %s\n# %s\n", n_tests, name, e.message);
    }
}

void check (bool ok, string what) throws Error {
    if (!ok)
        throw new IOError.FAILED ("check failed: %s", what);
}

void test_sync (string path) throws Error {
    var plugin = new Plugin (path, null, null);
    var reply = plugin.call ("echo", "{\"message\":\"vala\"}");
    check (reply == "{\"message\":\"vala\",\"length\":4}", reply);
    try {
        plugin.call ("nope", "{}");
        check (false, "no error");
    } catch (PluginError e) {
        check (e is PluginError.UNKNOWN_MESSAGE, "error code");
        check (e.message == "unknown message type: nope", e.message);
    }
    plugin.shutdown ();
    check (plugin.state == LifecycleState.STOPPED, "state");
}

async void test_async (string path) throws Error {
    var config = new PluginConfig ();
    config.worker_threads = 2;
    var plugin = (Plugin) Object.new (typeof (Plugin), path: path, config: config);
    yield plugin.init_async (Priority.DEFAULT, null);
    check (plugin.state == LifecycleState.ACTIVE, "state after async load");
    var reply = yield plugin.call_async ("math.add", "{\"a\":20,\"b\":22}", null);
    check (reply == "{\"result\":42}", reply);
    uint8 raw[64];
    raw[0] = 1;
    raw[4] = 7;
    var bytes = yield plugin.call_raw_async (1, new Bytes (raw), null);
    check (bytes.get_data ()[4] == 14, "raw value*2");
    yield plugin.shutdown_async (null);
}

async void run_all () {
    string[] kinds = { "RB_FIXTURE_PLUGIN", "RB_RUST_PLUGIN" };
    foreach (var kind in kinds) {
        var path = Environment.get_variable (kind);
        if (path == null || path == "")
            continue;
        try { test_sync (path); report ("sync/" + kind, null); }
        catch (Error e) { report ("sync/" + kind, e); }
        try { yield test_async (path); report ("async/" + kind, null); }
        catch (Error e) { report ("async/" + kind, e); }
    }
    loop.quit ();
}

int main () {
    loop = new MainLoop ();
    run_all.begin ();
    loop.run ();
    print ("1..%d\n", n_tests);
    return n_failed == 0 ? 0 : 1;
}
