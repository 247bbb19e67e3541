/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-glib demo: load a plugin (from a signed .rbp bundle, or a
 * library file), print its logs and state changes, make a JSON call, a
 * raw (C struct) call and an async call on a GMainLoop.
 *
 *   demo PLUGIN.so|BUNDLE.rbp [PUBLIC_KEY.pub]
 */
#include <string.h>

#include <rustbridge-glib.h>

/* The layout of raw message 1 of the test plugins. */
typedef struct {
  guint8  version;
  guint8  _pad[3];
  guint32 value;
  char    text[56];
} EchoRequest;

typedef struct {
  guint8  version;
  guint8  _pad[3];
  guint32 value_times_two;
  guint32 text_len;
  char    text[56];
} EchoResponse;

static const char *
state_name (RbLifecycleState state)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (RB_TYPE_LIFECYCLE_STATE);
  return g_enum_get_value (klass, state)->value_nick;
}

static gboolean
on_log (RbPlugin   *plugin,
        RbLogLevel  level,
        const char *target,
        const char *message,
        gpointer    user_data)
{
  g_print ("  [plugin log] %s: %s\n", target, message);
  /* Printed here: TRUE keeps it out of GLib's default log output. */
  return TRUE;
}

static void
on_state_changed (RbPlugin         *plugin,
                  RbLifecycleState  old_state,
                  RbLifecycleState  new_state,
                  gpointer          user_data)
{
  g_print ("  [state] %s -> %s\n", state_name (old_state), state_name (new_state));
}

static void
on_async_reply (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GMainLoop *loop = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  if (reply != NULL)
    g_print ("async math.add -> %s (delivered on the main loop)\n", reply);
  else
    g_printerr ("async call failed: %s\n", error->message);
  g_main_loop_quit (loop);
}

static RbPlugin *
load (const char  *path,
      const char  *public_key_file,
      GError     **error)
{
#ifdef RB_TYPE_BUNDLE
  g_autoptr(RbBundle) bundle = NULL;
  g_autofree char *key = NULL;
  g_auto(GStrv) platforms = NULL;
  g_autofree char *joined = NULL;

  if (!g_str_has_suffix (path, ".rbp"))
    return rb_plugin_new (path, NULL, NULL, error);

  bundle = rb_bundle_new_for_path (path, NULL, error);
  if (bundle == NULL)
    return NULL;
  if (public_key_file != NULL)
    {
      if (!g_file_get_contents (public_key_file, &key, NULL, error))
        return NULL;
      /* Trust this key, not the one the bundle carries. */
      rb_bundle_set_public_key (bundle, key);
    }
  platforms = rb_bundle_list_platforms (bundle);
  joined = g_strjoinv (", ", platforms);
  g_print ("bundle %s %s (platforms: %s), verifying signatures...\n",
           rb_bundle_get_name (bundle), rb_bundle_get_version (bundle), joined);
  return rb_bundle_load_plugin (bundle, NULL, NULL, NULL, error);
#else
  return rb_plugin_new (path, NULL, NULL, error);
#endif
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *reply = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  EchoRequest request = { .version = 1, .value = 21 };
  g_autoptr(GBytes) raw_request = NULL;
  g_autoptr(GBytes) raw_reply = NULL;

  if (argc < 2)
    {
      g_printerr ("usage: %s PLUGIN.so|BUNDLE.rbp [PUBLIC_KEY.pub]\n", argv[0]);
      return 2;
    }

  plugin = load (argv[1], argc > 2 ? argv[2] : NULL, &error);
  if (plugin == NULL)
    {
      g_printerr ("could not load %s: %s\n", argv[1], error->message);
      return 1;
    }
  g_signal_connect (plugin, "log", G_CALLBACK (on_log), NULL);
  g_signal_connect (plugin, "state-changed", G_CALLBACK (on_state_changed), NULL);
  g_print ("loaded %s (state %s, binary transport: %s)\n", rb_plugin_get_path (plugin),
           state_name (rb_plugin_get_state (plugin)),
           rb_plugin_get_has_binary_transport (plugin) ? "yes" : "no");

  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"Hello from GLib\"}", NULL, &error);
  if (reply == NULL)
    {
      g_printerr ("echo failed: %s\n", error->message);
      return 1;
    }
  g_print ("echo -> %s\n", reply);

  g_strlcpy (request.text, "raw struct", sizeof request.text);
  raw_request = g_bytes_new (&request, sizeof request);
  raw_reply = rb_plugin_call_raw (plugin, 1, raw_request, NULL, &error);
  if (raw_reply == NULL)
    {
      g_printerr ("raw call failed: %s\n", error->message);
      return 1;
    }
  {
    const EchoResponse *resp = g_bytes_get_data (raw_reply, NULL);
    g_print ("raw echo -> value*2 = %u, text = \"%s\"\n", resp->value_times_two, resp->text);
  }

  /* An unknown message gives a GError with the plugin's code and message. */
  g_clear_pointer (&reply, g_free);
  reply = rb_plugin_call (plugin, "no.such.message", "{}", NULL, &error);
  g_print ("unknown message -> error %d: %s\n", error->code, error->message);
  g_clear_error (&error);

  /* Async: the reply arrives on this thread's main loop; log messages
   * logged meanwhile by plugin threads are delivered here too. */
  loop = g_main_loop_new (NULL, FALSE);
  rb_plugin_call_async (plugin, "log.emit",
                        "{\"count\":2,\"level\":\"info\",\"message\":\"hello from a plugin thread\",\"thread\":true}",
                        NULL, NULL, NULL);
  rb_plugin_call_async (plugin, "math.add", "{\"a\":40,\"b\":2}", NULL, on_async_reply, loop);
  g_main_loop_run (loop);

  if (!rb_plugin_shutdown (plugin, NULL, &error))
    {
      g_printerr ("shutdown failed: %s\n", error->message);
      return 1;
    }
  /* Deliver the last state notifications. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_print ("done.\n");
  return 0;
}
