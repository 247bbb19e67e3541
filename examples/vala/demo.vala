// SPDX-License-Identifier: LGPL-2.1-or-later
// rustbridge-glib from Vala: load a plugin (a library or a signed bundle)
// without blocking, JSON calls sync and with yield, config and log level,
// the log and state signals, a raw call with GBytes, errors.
//
//   rustbridge-demo-vala PLUGIN.so|BUNDLE.rbp [KEY.pub]
using RustBridge;

const uint32 MSG_ECHO = 1;

// Raw message 1: {u8 version; u8 pad[3]; u32 value; char text[56]}.
Bytes pack_echo_request (uint32 value, string text) {
    var buffer = new uint8[64];
    buffer[0] = 1;
    for (int i = 0; i < 4; i++)
        buffer[4 + i] = (uint8) (value >> (8 * i));
    Memory.copy (&buffer[8], text.data, int.min (text.length, 55));
    return new Bytes.take ((owned) buffer);
}

// {u8 version; u8 pad[3]; u32 value_times_two; u32 text_len; char text[56]}.
uint32 read_u32 (uint8[] data, int offset) {
    return data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | ((uint32) data[offset + 3] << 24);
}

// "debug", "active", ...: the nick of a registered enum value.
unowned string nick (Type enum_type, int value) {
    return ((EnumClass) enum_type.class_ref ()).get_value (value).value_nick;
}

async Plugin load (string path, string? key_file, PluginConfig config) throws Error {
    if (!path.has_suffix (".rbp"))
        return yield new Plugin.load (path, config);

    var bundle = new Bundle.for_path (path);
    if (key_file != null) {
        string text;
        FileUtils.get_contents (key_file, out text);
        foreach (unowned string line in text.split ("\n"))
            if (line != "" && !line.has_prefix ("untrusted"))
                bundle.public_key = line;
    }
    print ("bundle %s %s for %s\n", bundle.name, bundle.version, string.joinv (", ", bundle.list_platforms ()));
    return yield bundle.load_plugin_async (null, config);
}

async void run (string path, string? key_file) throws Error {
    var config = new PluginConfig ();
    config.log_level = LogLevel.INFO;
    config.max_concurrent_ops = 100;

    var plugin = yield load (path, key_file, config);
    plugin.log.connect ((level, target, message) => {
        print ("  [%s] %s: %s\n", nick (typeof (LogLevel), level), target, message);
        // Printed: returning true keeps it out of GLib's default log output.
        return true;
    });
    plugin.state_changed.connect ((from, to) => {
        print ("  [state] %s -> %s\n", nick (typeof (LifecycleState), from), nick (typeof (LifecycleState), to));
    });

    // JSON calls: text in, text out; json-glib nodes if you prefer.
    print ("echo -> %s\n", plugin.call ("echo", "{\"message\":\"Hello from Vala\"}"));
    var sum = plugin.call_json ("math.add", Json.from_string ("{\"a\":42,\"b\":58}"));
    print ("42 + 58 = %lld\n", sum.get_object ().get_int_member ("result"));

    // Log level at run time; logs arrive on this (the main) context.
    plugin.log_level = LogLevel.DEBUG;
    plugin.call ("log.emit", "{\"count\":1,\"level\":\"debug\",\"message\":\"debug logging is on\"}");
    plugin.log_level = LogLevel.INFO;

    // Raw call: a packed struct in GLib.Bytes, the reply as GLib.Bytes.
    var reply = plugin.call_raw (MSG_ECHO, pack_echo_request (21, "Hello, raw"));
    print ("raw -> value*2=%u text_len=%u\n", read_u32 (reply.get_data (), 4), read_u32 (reply.get_data (), 8));

    // Errors: PluginError codes are the plugin's error codes.
    try {
        plugin.call ("invalid.type", "{}");
    } catch (PluginError.UNKNOWN_MESSAGE e) {
        print ("error -> unknown message type (code %d): %s\n", e.code, e.message);
    }

    // Async calls with yield; the plugin's pool runs them.
    print ("async -> %s\n", yield plugin.call_async ("math.add", "{\"a\":40,\"b\":2}"));
    reply = yield plugin.call_raw_async (MSG_ECHO, pack_echo_request (50, "async"));
    print ("async raw -> value*2=%u\n", read_u32 (reply.get_data (), 4));

    print ("state: %s, rejected: %llu\n", nick (typeof (LifecycleState), plugin.state), plugin.rejected_request_count);
    yield plugin.shutdown_async ();
}

int main (string[] args) {
    if (args.length < 2) {
        printerr ("usage: %s PLUGIN.so|BUNDLE.rbp [KEY.pub]\n", args[0]);
        return 2;
    }
    var loop = new MainLoop ();
    int status = 0;
    run.begin (args[1], args.length > 2 ? args[2] : null, (obj, res) => {
        try {
            run.end (res);
        } catch (Error e) {
            printerr ("error: %s\n", e.message);
            status = 1;
        }
        loop.quit ();
    });
    loop.run ();
    return status;
}
