/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-glib GTK 4 demo: an entry and a button that send an async
 * call, the reply shown without blocking the UI, a live view of the
 * plugin's logs (taken from GLib's log: nothing is printed twice), and a
 * clean shutdown when the window closes (doc/threading.md, "A GTK
 * application").
 *
 *   gtk-demo PLUGIN.so [--self-test SCREENSHOT.png]
 *
 * --self-test types into the entry, clicks, waits for the reply and the
 * log line, writes a screenshot of the window, starts a slow call and
 * closes the window; it exits with 0 only if the application's run()
 * returned after the plugin had stopped and no plugin message went to
 * GLib's log.
 *
 * The screenshot and the test's deadline come from ../common/demo-self-test.c,
 * shared with the other GTK example; a program of your own needs neither.
 */
#include <gtk/gtk.h>
#include <rustbridge-glib.h>

#include "demo-self-test.h"

typedef struct {
  GtkApplication *app;
  char           *plugin_path;
  RbPlugin       *plugin;         /* NULL until loaded, and after it stopped */
  GCancellable   *cancellable;    /* the window's calls */
  GtkWindow      *window;
  GtkEntry       *entry;
  GtkButton      *button;
  GtkLabel       *reply;
  GtkLabel       *status;
  GtkTextBuffer  *log;
  /* --self-test */
  char           *screenshot;
  gboolean        got_reply;
  gboolean        plugin_stopped;
  gboolean        failed;
  DemoDeadline    deadline;
} Demo;

/* Messages of the RustBridge domain that reached GLib's log. */
static guint glib_plugin_messages;

static GLogWriterOutput
count_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0 && g_strcmp0 (fields[i].value, "RustBridge") == 0)
      glib_plugin_messages++;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

static const char *
nick (GType type, int value)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (type);
  GEnumValue *v = g_enum_get_value (klass, value);

  return v != NULL ? v->value_nick : "?";
}

static void
append_log (Demo *demo, const char *text)
{
  GtkTextIter end;

  gtk_text_buffer_get_end_iter (demo->log, &end);
  gtk_text_buffer_insert (demo->log, &end, text, -1);
  gtk_text_buffer_insert (demo->log, &end, "\n", 1);
}

/* ---- the plugin's signals ---- */

static gboolean
on_log (RbPlugin   *plugin,
        RbLogLevel  level,
        const char *target,
        const char *message,
        Demo       *demo)
{
  g_autofree char *line = g_strdup_printf ("[%s] %s: %s", nick (RB_TYPE_LOG_LEVEL, level),
                                           target, message);

  append_log (demo, line);
  return TRUE;  /* taken: shown here, not also printed by GLib */
}

static void
on_state_changed (RbPlugin         *plugin,
                  RbLifecycleState  old_state,
                  RbLifecycleState  new_state,
                  Demo             *demo)
{
  g_autofree char *line = g_strdup_printf ("state: %s → %s",
                                           nick (RB_TYPE_LIFECYCLE_STATE, old_state),
                                           nick (RB_TYPE_LIFECYCLE_STATE, new_state));
  g_autofree char *status = g_strdup_printf ("Plugin: %s", nick (RB_TYPE_LIFECYCLE_STATE, new_state));

  append_log (demo, line);
  /* state-changed, not notify::state: each emission carries its own state. */
  if (demo->status != NULL)
    gtk_label_set_text (demo->status, status);
}

/* ---- calls ---- */

static void self_test_step (Demo *demo);

static void
on_reply (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = rb_plugin_call_json_finish (RB_PLUGIN (source), result, &error);
  g_autofree char *text = NULL;

  /* The window is gone: its calls were cancelled. */
  if (demo->reply == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (reply != NULL)
    {
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (reply) ? json_node_get_object (reply) : NULL;

      if (object != NULL && json_object_has_member (object, "message"))
        text = g_strdup_printf ("Reply: “%s” (%" G_GINT64_FORMAT " characters)",
                                json_object_get_string_member (object, "message"),
                                json_object_get_int_member_with_default (object, "length", 0));
      else
        text = g_strdup_printf ("Reply: %s", json_to_string (reply, FALSE));
    }
  else
    text = g_strdup_printf ("Error: %s", error->message);
  gtk_label_set_text (demo->reply, text);
  demo->got_reply = TRUE;
  if (demo->screenshot != NULL)
    self_test_step (demo);
}

static void
on_logged (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);
}

static void
on_logged_json (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = rb_plugin_call_json_finish (RB_PLUGIN (source), result, &error);
}

static void
on_send (GtkButton *button,
         Demo      *demo)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (demo->entry));
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonNode) log_request = NULL;
  g_autofree char *log_message = g_strdup_printf ("sent “%s”", text);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, text);
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);

  gtk_label_set_text (demo->reply, "Reply: …");
  /* Runs on the plugin's worker pool; on_reply runs here, later. */
  rb_plugin_call_json_async (demo->plugin, "echo", request, demo->cancellable, on_reply, demo);

  /* The test plugins log on request: a line for the log view. */
  json_builder_reset (builder);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "message");
  json_builder_add_string_value (builder, log_message);
  json_builder_end_object (builder);
  log_request = json_builder_get_root (builder);
  rb_plugin_call_json_async (demo->plugin, "log.emit", log_request, demo->cancellable,
                             on_logged_json, demo);
}

/* ---- loading and shutting down ---- */

static void
on_loaded (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  demo->plugin = rb_plugin_new_finish (result, &error);
  if (demo->plugin == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Could not load the plugin: %s", error->message);

      gtk_label_set_text (demo->status, text);
      demo->failed = TRUE;
      return;
    }
  /* Connected in the callback: the start-up logs and states still come. */
  g_signal_connect (demo->plugin, "log", G_CALLBACK (on_log), demo);
  g_signal_connect (demo->plugin, "state-changed", G_CALLBACK (on_state_changed), demo);
  gtk_widget_set_sensitive (GTK_WIDGET (demo->button), TRUE);
  if (demo->screenshot != NULL)
    self_test_step (demo);
}

static void
on_stopped (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  if (!rb_plugin_shutdown_finish (RB_PLUGIN (source), result, &error))
    {
      g_printerr ("Plugin shutdown: %s\n", error->message);
      demo->failed = TRUE;
    }
  demo->plugin_stopped = TRUE;
  g_clear_object (&demo->plugin);
}

static gboolean
on_close_request (GtkWindow *window,
                  Demo      *demo)
{
  /* Replies to this window are of no use now. */
  g_cancellable_cancel (demo->cancellable);
  demo->window = NULL;
  demo->reply = demo->status = NULL;
  /* In a thread; holds the application until the plugin has stopped. */
  if (demo->plugin != NULL)
    rb_plugin_shutdown_async (demo->plugin, NULL, on_stopped, demo);
  return FALSE;  /* let the window close */
}

static void
on_activate (GtkApplication *app,
             Demo           *demo)
{
  GtkWidget *window = gtk_application_window_new (app);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *entry = gtk_entry_new ();
  GtkWidget *button = gtk_button_new_with_label ("Send");
  GtkWidget *reply = gtk_label_new ("Reply: —");
  GtkWidget *status = gtk_label_new ("Plugin: loading…");
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkWidget *view = gtk_text_view_new ();
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();

  gtk_window_set_title (GTK_WINDOW (window), "rustbridge-glib GTK demo");
  gtk_window_set_default_size (GTK_WINDOW (window), 640, 400);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);

  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), "A message for the plugin");
  gtk_widget_set_hexpand (entry, TRUE);
  gtk_widget_set_sensitive (button, FALSE);
  gtk_box_append (GTK_BOX (row), entry);
  gtk_box_append (GTK_BOX (row), button);
  gtk_label_set_xalign (GTK_LABEL (reply), 0);
  gtk_label_set_xalign (GTK_LABEL (status), 0);
  gtk_text_view_set_editable (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_monospace (GTK_TEXT_VIEW (view), TRUE);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_widget_set_vexpand (scrolled, TRUE);

  gtk_box_append (GTK_BOX (box), row);
  gtk_box_append (GTK_BOX (box), reply);
  gtk_box_append (GTK_BOX (box), status);
  gtk_box_append (GTK_BOX (box), gtk_label_new ("Plugin log"));
  gtk_box_append (GTK_BOX (box), scrolled);
  gtk_window_set_child (GTK_WINDOW (window), box);

  demo->window = GTK_WINDOW (window);
  demo->entry = GTK_ENTRY (entry);
  demo->button = GTK_BUTTON (button);
  demo->reply = GTK_LABEL (reply);
  demo->status = GTK_LABEL (status);
  /* Kept after the window is gone: the shutdown's states still come. */
  demo->log = g_object_ref (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)));

  g_signal_connect (button, "clicked", G_CALLBACK (on_send), demo);
  g_signal_connect_swapped (entry, "activate", G_CALLBACK (gtk_widget_activate), button);
  g_signal_connect (window, "close-request", G_CALLBACK (on_close_request), demo);
  gtk_window_present (GTK_WINDOW (window));

  /* Starts in a thread: the window shows at once. */
  rb_plugin_config_set_log_level (config, RB_LOG_LEVEL_DEBUG);
  rb_plugin_new_async (demo->plugin_path, config, G_PRIORITY_DEFAULT, NULL, on_loaded, demo);
}

/* ---- --self-test ---- */

static gboolean
log_shows (Demo *demo, const char *text)
{
  GtkTextIter start, end;
  g_autofree char *all = NULL;

  gtk_text_buffer_get_bounds (demo->log, &start, &end);
  all = gtk_text_buffer_get_text (demo->log, &start, &end, FALSE);
  return strstr (all, text) != NULL;
}

static gboolean
self_test_poll (gpointer data)
{
  Demo *demo = data;

  self_test_step (demo);
  return G_SOURCE_REMOVE;
}

/* Advances the self-test as far as the application's state allows. */
static void
self_test_step (Demo *demo)
{
  static enum { LOADED, SENT, SHOWN, CLOSED } stage = LOADED;

  switch (stage)
    {
    case LOADED:
      gtk_editable_set_text (GTK_EDITABLE (demo->entry), "Hello GTK");
      g_signal_emit_by_name (demo->button, "clicked");
      /* The reply comes later: the click did not wait for the plugin. */
      if (demo->got_reply)
        {
          g_printerr ("self-test: the reply arrived inside the click handler\n");
          demo->failed = TRUE;
        }
      stage = SENT;
      return;
    case SENT:
      if (!demo->got_reply || !log_shows (demo, "sent “Hello GTK” 0") ||
          !log_shows (demo, "plugin started") || !log_shows (demo, "state: starting → active"))
        {
          g_timeout_add (50, self_test_poll, demo);
          return;
        }
      stage = SHOWN;
      /* Let a frame or two be drawn first. */
      g_timeout_add (300, self_test_poll, demo);
      return;
    case SHOWN:
      if (!demo_save_screenshot (GTK_WIDGET (demo->window), demo->screenshot))
        {
          g_printerr ("self-test: could not write %s\n", demo->screenshot);
          demo->failed = TRUE;
        }
      /* A call still running when the window closes: the shutdown waits
       * for it in its thread while the application keeps running. */
      rb_plugin_call_async (demo->plugin, "test.sleep", "{\"duration_ms\":300}", NULL,
                            on_logged, demo);
      stage = CLOSED;
      gtk_window_close (demo->window);
      return;
    case CLOSED:
    default:
      return;
    }
}

int
main (int   argc,
      char *argv[])
{
  Demo demo = { 0 };
  char *app_argv[] = { argv[0], NULL };
  int status;

  if (argc != 2 && !(argc == 4 && g_str_equal (argv[2], "--self-test")))
    {
      g_printerr ("Usage: %s PLUGIN.so [--self-test SCREENSHOT.png]\n", argv[0]);
      return 2;
    }
  demo.plugin_path = argv[1];
  demo.screenshot = argc == 4 ? argv[3] : NULL;
  if (demo.screenshot != NULL)
    g_log_set_writer_func (count_writer, NULL, NULL);

  demo.cancellable = g_cancellable_new ();
  demo.app = gtk_application_new ("org.rustbridge.GtkDemo", G_APPLICATION_NON_UNIQUE);
  g_signal_connect (demo.app, "activate", G_CALLBACK (on_activate), &demo);
  if (demo.screenshot != NULL)
    demo_deadline_start (&demo.deadline, G_APPLICATION (demo.app), 60, &demo.failed);

  status = g_application_run (G_APPLICATION (demo.app), 1, app_argv);

  if (demo.screenshot != NULL)
    {
      /* run() returned: the window is gone, and the plugin must be too. */
      if (!demo.plugin_stopped)
        {
          g_printerr ("self-test: run() returned before the plugin stopped\n");
          demo.failed = TRUE;
        }
      if (glib_plugin_messages > 0)
        {
          g_printerr ("self-test: %u plugin messages went to GLib's log\n", glib_plugin_messages);
          demo.failed = TRUE;
        }
      demo_deadline_stop (&demo.deadline);
      if (!demo.failed)
        g_print ("self-test passed: screenshot in %s\n", demo.screenshot);
    }

  g_clear_object (&demo.plugin);
  g_clear_object (&demo.log);
  g_clear_object (&demo.cancellable);
  g_object_unref (demo.app);
  return status != 0 ? status : demo.failed ? 1 : 0;
}
