// SPDX-License-Identifier: LGPL-2.1-or-later
// rustbridge-glib from Vala: sync, async with yield, raw GBytes, signals.
using RustBridge;

async void run (string path, MainLoop loop) {
    try {
        var plugin = (Plugin) Object.new (typeof (Plugin), path: path);
        plugin.log.connect ((level, target, message) => print ("  [log] %s: %s\n", target, message));
        plugin.state_changed.connect ((from, to) => print ("  [state] %s -> %s\n", from.to_string (), to.to_string ()));
        yield plugin.init_async (Priority.DEFAULT, null);

        print ("echo -> %s\n", plugin.call ("echo", "{\"message\":\"Hello from Vala\"}"));
        print ("async -> %s\n", yield plugin.call_async ("math.add", "{\"a\":40,\"b\":2}", null));

        uint8 raw[64];
        raw[0] = 1;
        raw[4] = 21;
        var reply = yield plugin.call_raw_async (1, new Bytes (raw), null);
        print ("raw -> value*2 = %u\n", reply.get_data ()[4]);

        try {
            plugin.call ("no.such.message", "{}");
        } catch (PluginError e) {
            print ("error -> code %d: %s\n", e.code, e.message);
        }
        yield plugin.shutdown_async (null);
    } catch (Error e) {
        printerr ("error: %s\n", e.message);
        Process.exit (1);
    }
    loop.quit ();
}

int main (string[] args) {
    var loop = new MainLoop ();
    run.begin (args[1], loop);
    loop.run ();
    return 0;
}
