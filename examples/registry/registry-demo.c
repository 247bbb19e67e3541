/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-glib registry demo: the plugins installed for an application,
 * listed by a GtkListView whose model is the RbRegistry itself. Each row
 * shows the plugin's name, version and description, whether it can be
 * used here (the reason when it cannot) and a switch that enables it.
 *
 *   registry-demo [--search-path DIR]... [--trusted-keys DIR]
 *                 [--self-test SCREENSHOT.png]
 *
 * The switch edits the registry's enabled-plugins (the registry then loads
 * or unloads the plugin in the background); its "active" is what the user
 * asked for, its "state" (the filled trough) follows loaded-plugins, so a
 * plugin being loaded shows as asked-for but not yet on. An application
 * keeps enabled-plugins in GSettings with one g_settings_bind() call
 * (doc/plugins-in-your-app.md, "Enabling plugins with GSettings").
 *
 * --self-test waits for the scan, checks the rows (one unavailable bundle,
 * its switch insensitive and its reason shown), turns on the switch of the
 * first available plugin, waits for it to load, calls it, writes a
 * screenshot of the window, turns it off and on again, then closes the
 * window; it exits with 0 only if every step did what it should and the
 * plugin had been unloaded when the application's run() returned.
 *
 * The screenshot and the test's deadline come from ../common/demo-self-test.c,
 * shared with the other GTK example; a program of your own needs neither.
 */
#include <string.h>

#include <gtk/gtk.h>
#include <rustbridge-glib.h>

#include "demo-self-test.h"

#define APP_ID "org.rustbridge.RegistryDemo"

typedef struct _Demo Demo;

/* The widgets of one row, and what it shows now. */
typedef struct {
  Demo       *demo;
  RbRegistry *registry;
  GtkWidget  *title;        /* name and version */
  GtkWidget  *description;
  GtkWidget  *status;       /* available, loaded, or why not */
  GtkWidget  *toggle;
  RbBundle   *bundle;       /* while bound */
} Row;

struct _Demo {
  GtkApplication *app;
  RbRegistry     *registry;
  GtkWindow      *window;
  GtkLabel       *summary;
  GPtrArray      *rows;          /* the bound rows */
  guint           pending_unloads;
  /* --self-test */
  char           *screenshot;
  char           *test_name;     /* the plugin the test turns on */
  RbPlugin       *test_plugin;
  gboolean        scanned;
  gboolean        got_reply;
  gboolean        test_done;
  gboolean        failed;
  DemoDeadline    deadline;
};

static void self_test_step (Demo *demo);

static gboolean
strv_has (const char * const *names,
          const char         *name)
{
  return names != NULL && g_strv_contains (names, name);
}

/* ---- rows ---- */

static void
row_update (Row *row)
{
  RbRegistry *registry = row->registry;
  const char *name = rb_bundle_get_name (row->bundle);
  const GError *reason = rb_bundle_get_unavailable_reason (row->bundle);
  g_auto(GStrv) enabled = rb_registry_dup_enabled_plugins (registry);
  g_auto(GStrv) loaded = rb_registry_dup_loaded_plugins (registry);
  gboolean is_enabled = strv_has ((const char * const *) enabled, name);
  gboolean is_loaded = strv_has ((const char * const *) loaded, name);
  /* Another bundle of this name (a newer version, or the user's copy)
   * may be the one that loads. */
  gboolean is_chosen = rb_registry_lookup_bundle (registry, name) == row->bundle;
  const char *status;

  if (reason != NULL)
    status = reason->message;
  else if (!is_chosen)
    status = "Another version of this plugin is used";
  else if (is_loaded)
    status = "Loaded";
  else if (is_enabled)
    status = "Loading…";
  else
    status = "Available";
  gtk_label_set_text (GTK_LABEL (row->status), status);

  gtk_widget_set_sensitive (row->toggle, reason == NULL && is_chosen);
  /* Both without a "state-set" round trip: these follow the registry.
   * "active" only when it differs: setting it ends the switch's toggle
   * animation, which would drop a click still being animated. */
  g_signal_handlers_block_matched (row->toggle, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, row);
  if (gtk_switch_get_active (GTK_SWITCH (row->toggle)) != (is_enabled && reason == NULL && is_chosen))
    gtk_switch_set_active (GTK_SWITCH (row->toggle), is_enabled && reason == NULL && is_chosen);
  gtk_switch_set_state (GTK_SWITCH (row->toggle), is_loaded && is_chosen);
  g_signal_handlers_unblock_matched (row->toggle, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, row);
}

/* The user flipped the switch: add the name to, or take it out of,
 * enabled-plugins. The switch's state catches up in row_update() once
 * the registry has loaded or unloaded the plugin. */
static gboolean
on_state_set (GtkSwitch *toggle,
              gboolean   on,
              Row       *row)
{
  const char *name = rb_bundle_get_name (row->bundle);
  g_auto(GStrv) enabled = rb_registry_dup_enabled_plugins (row->registry);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) names = NULL;

  for (guint i = 0; enabled[i] != NULL; i++)
    if (!g_str_equal (enabled[i], name))
      g_strv_builder_add (builder, enabled[i]);
  if (on)
    g_strv_builder_add (builder, name);
  names = g_strv_builder_end (builder);
  rb_registry_set_enabled_plugins (row->registry, (const char * const *) names);
  return TRUE;  /* the state follows loaded-plugins, not the click */
}

static void
row_free (Row *row)
{
  g_ptr_array_remove (row->demo->rows, row);
  g_clear_object (&row->bundle);
  g_free (row);
}

static GtkWidget *
dim_label (void)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

static void
setup_row (GtkSignalListItemFactory *factory,
           GtkListItem              *item,
           Demo                     *demo)
{
  Row *row = g_new0 (Row, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *text = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);

  row->demo = demo;
  row->registry = demo->registry;
  row->title = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (row->title), 0);
  gtk_widget_add_css_class (row->title, "heading");
  row->description = dim_label ();
  row->status = dim_label ();
  gtk_label_set_wrap (GTK_LABEL (row->status), TRUE);
  gtk_label_set_ellipsize (GTK_LABEL (row->status), PANGO_ELLIPSIZE_NONE);
  row->toggle = gtk_switch_new ();
  gtk_widget_set_valign (row->toggle, GTK_ALIGN_CENTER);
  g_signal_connect (row->toggle, "state-set", G_CALLBACK (on_state_set), row);

  gtk_widget_set_hexpand (text, TRUE);
  gtk_box_append (GTK_BOX (text), row->title);
  gtk_box_append (GTK_BOX (text), row->description);
  gtk_box_append (GTK_BOX (text), row->status);
  gtk_box_append (GTK_BOX (box), text);
  gtk_box_append (GTK_BOX (box), row->toggle);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 8);
  /* Freed with the row's widgets. */
  g_object_set_data_full (G_OBJECT (box), "row", row, (GDestroyNotify) row_free);
  gtk_list_item_set_child (item, box);
  gtk_list_item_set_activatable (item, FALSE);
}

static void
bind_row (GtkSignalListItemFactory *factory,
          GtkListItem              *item,
          Demo                     *demo)
{
  Row *row = g_object_get_data (G_OBJECT (gtk_list_item_get_child (item)), "row");
  RbBundle *bundle = gtk_list_item_get_item (item);
  g_autofree char *title = g_strdup_printf ("%s %s", rb_bundle_get_name (bundle),
                                            rb_bundle_get_version (bundle));
  const char *description = rb_bundle_get_description (bundle);

  g_set_object (&row->bundle, bundle);
  gtk_label_set_text (GTK_LABEL (row->title), title);
  gtk_label_set_text (GTK_LABEL (row->description), description != NULL ? description : "");
  gtk_widget_set_visible (row->description, description != NULL && *description != '\0');
  row_update (row);
  g_ptr_array_add (demo->rows, row);
}

static void
unbind_row (GtkSignalListItemFactory *factory,
            GtkListItem              *item,
            Demo                     *demo)
{
  Row *row = g_object_get_data (G_OBJECT (gtk_list_item_get_child (item)), "row");

  g_ptr_array_remove (demo->rows, row);
  g_clear_object (&row->bundle);
}

/* ---- the registry's notifications ---- */

static void
update_summary (Demo *demo)
{
  g_auto(GStrv) loaded = rb_registry_dup_loaded_plugins (demo->registry);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (demo->registry));
  g_autofree char *names = g_strjoinv (", ", loaded);
  g_autofree char *text = g_strdup_printf ("%u bundle%s installed · loaded: %s", n, n == 1 ? "" : "s",
                                           *names != '\0' ? names : "none");

  if (demo->summary != NULL)
    gtk_label_set_text (demo->summary, text);
}

/* enabled-plugins or loaded-plugins changed: the bound rows show it. */
static void
on_plugins_changed (RbRegistry *registry,
                    GParamSpec *pspec,
                    Demo       *demo)
{
  for (guint i = 0; i < demo->rows->len; i++)
    row_update (g_ptr_array_index (demo->rows, i));
  update_summary (demo);
  if (demo->screenshot != NULL && demo->scanned)
    self_test_step (demo);
}

/* The bound row of the bundle that @name loads, or NULL. */
static Row *
find_row (Demo       *demo,
          const char *name)
{
  RbBundle *bundle = rb_registry_lookup_bundle (demo->registry, name);

  for (guint i = 0; bundle != NULL && i < demo->rows->len; i++)
    {
      Row *row = g_ptr_array_index (demo->rows, i);

      if (row->bundle == bundle)
        return row;
    }
  return NULL;
}

static void
on_load_failed (RbRegistry   *registry,
                const char   *name,
                const GError *error,
                Demo         *demo)
{
  Row *row = find_row (demo, name);
  g_autofree char *text = g_strdup_printf ("Could not load: %s", error->message);

  if (row != NULL)
    gtk_label_set_text (GTK_LABEL (row->status), text);
  if (demo->screenshot != NULL)
    {
      g_printerr ("self-test: %s: %s\n", name, error->message);
      demo->failed = TRUE;
    }
}

static void
on_scanned (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  if (!rb_registry_rescan_finish (RB_REGISTRY (source), result, &error))
    {
      if (demo->summary != NULL)
        gtk_label_set_text (demo->summary, error->message);
      demo->failed = TRUE;
      return;
    }
  update_summary (demo);
  demo->scanned = TRUE;
  if (demo->screenshot != NULL)
    self_test_step (demo);
}

/* ---- closing: the loaded plugins stop in the background ---- */

static void
on_unloaded (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;

  if (!rb_registry_unload_plugin_finish (RB_REGISTRY (source), result, &error))
    {
      g_printerr ("Unloading a plugin: %s\n", error->message);
      demo->failed = TRUE;
    }
  demo->pending_unloads--;
  g_application_release (G_APPLICATION (demo->app));
}

static gboolean
on_close_request (GtkWindow *window,
                  Demo      *demo)
{
  g_auto(GStrv) loaded = rb_registry_dup_loaded_plugins (demo->registry);

  demo->window = NULL;
  demo->summary = NULL;
  /* enabled-plugins is left as it is: it is the user's choice, for the
   * next start. Each unload holds the application until it is done. */
  for (guint i = 0; loaded[i] != NULL; i++)
    {
      g_application_hold (G_APPLICATION (demo->app));
      demo->pending_unloads++;
      rb_registry_unload_plugin_async (demo->registry, loaded[i], NULL, on_unloaded, demo);
    }
  return FALSE;
}

static void
on_activate (GtkApplication *app,
             Demo           *demo)
{
  GtkWidget *window = gtk_application_window_new (app);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *summary = gtk_label_new ("Looking for plugins…");
  GtkWidget *scrolled = gtk_scrolled_window_new ();
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkNoSelection *selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (demo->registry)));
  GtkWidget *view;

  if (demo->window != NULL)
    {
      gtk_window_present (demo->window);
      return;
    }

  g_signal_connect (factory, "setup", G_CALLBACK (setup_row), demo);
  g_signal_connect (factory, "bind", G_CALLBACK (bind_row), demo);
  g_signal_connect (factory, "unbind", G_CALLBACK (unbind_row), demo);
  /* The registry is the list's model, as it is: no copy to keep in sync. */
  view = gtk_list_view_new (GTK_SELECTION_MODEL (selection), factory);
  gtk_widget_add_css_class (view, "rich-list");
  gtk_list_view_set_show_separators (GTK_LIST_VIEW (view), TRUE);

  gtk_window_set_title (GTK_WINDOW (window), "Plugins");
  gtk_window_set_default_size (GTK_WINDOW (window), 560, 320);
  gtk_label_set_xalign (GTK_LABEL (summary), 0);
  gtk_widget_set_margin_start (summary, 12);
  gtk_widget_set_margin_end (summary, 12);
  gtk_widget_set_margin_top (summary, 8);
  gtk_widget_set_margin_bottom (summary, 8);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scrolled), view);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scrolled), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scrolled, TRUE);
  gtk_box_append (GTK_BOX (box), scrolled);
  gtk_box_append (GTK_BOX (box), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (GTK_BOX (box), summary);
  gtk_window_set_child (GTK_WINDOW (window), box);

  demo->window = GTK_WINDOW (window);
  demo->summary = GTK_LABEL (summary);
  g_signal_connect (window, "close-request", G_CALLBACK (on_close_request), demo);
  gtk_window_present (GTK_WINDOW (window));

  /* Metadata only, in a thread: the window shows at once and the list
   * fills when the scan is done. */
  rb_registry_rescan_async (demo->registry, NULL, on_scanned, demo);
}

/* ---- --self-test ---- */

static gboolean
self_test_poll (gpointer data)
{
  self_test_step (data);
  return G_SOURCE_REMOVE;
}

static void
self_test_fail (Demo       *demo,
                const char *format,
                ...) G_GNUC_PRINTF (2, 3);

static void
self_test_fail (Demo       *demo,
                const char *format,
                ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("self-test: %s\n", message);
  demo->failed = TRUE;
  if (demo->window != NULL)
    gtk_window_close (demo->window);
}

static void
on_test_reply (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Demo *demo = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  if (reply == NULL)
    self_test_fail (demo, "echo failed: %s", error->message);
  else if (strstr (reply, "\"from the list\"") == NULL)
    self_test_fail (demo, "unexpected reply %s", reply);
  else
    demo->got_reply = TRUE;
  self_test_step (demo);
}

/* Whether the row of @name shows the switch @on and the plugin @loaded. */
static gboolean
row_shows (Demo       *demo,
           const char *name,
           gboolean    on,
           gboolean    loaded)
{
  Row *row = find_row (demo, name);
  g_auto(GStrv) names = rb_registry_dup_loaded_plugins (demo->registry);

  return row != NULL &&
         gtk_switch_get_active (GTK_SWITCH (row->toggle)) == on &&
         gtk_switch_get_state (GTK_SWITCH (row->toggle)) == loaded &&
         strv_has ((const char * const *) names, name) == loaded &&
         g_str_equal (gtk_label_get_text (GTK_LABEL (row->status)), loaded ? "Loaded" : on ? "Loading…" : "Available");
}

/* What a user does: a click on the switch (its "activate" flips it). */
static void
flip (Demo *demo)
{
  Row *row = find_row (demo, demo->test_name);

  gtk_widget_activate (row->toggle);
}

/* Checks the rows once the list is shown; picks the plugin to turn on. */
static gboolean
check_rows (Demo *demo)
{
  GListModel *model = G_LIST_MODEL (demo->registry);
  guint n = g_list_model_get_n_items (model), unavailable = 0;

  if (n < 2)
    {
      self_test_fail (demo, "%u bundles listed, at least 2 expected", n);
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RbBundle) bundle = g_list_model_get_item (model, i);
      const GError *reason = rb_bundle_get_unavailable_reason (bundle);
      Row *row = NULL;

      for (guint j = 0; j < demo->rows->len; j++)
        if (((Row *) g_ptr_array_index (demo->rows, j))->bundle == bundle)
          row = g_ptr_array_index (demo->rows, j);
      if (row == NULL)
        {
          self_test_fail (demo, "no row shows %s", rb_bundle_get_name (bundle));
          return FALSE;
        }
      if (reason != NULL)
        {
          unavailable++;
          if (gtk_widget_get_sensitive (row->toggle) ||
              !g_str_equal (gtk_label_get_text (GTK_LABEL (row->status)), reason->message))
            {
              self_test_fail (demo, "the row of unavailable %s does not say why or can be switched on",
                              rb_bundle_get_name (bundle));
              return FALSE;
            }
        }
      else if (demo->test_name == NULL)
        demo->test_name = g_strdup (rb_bundle_get_name (bundle));
    }
  if (unavailable == 0 || demo->test_name == NULL)
    {
      self_test_fail (demo, "the test needs an available and an unavailable bundle");
      return FALSE;
    }
  if (!row_shows (demo, demo->test_name, FALSE, FALSE))
    {
      self_test_fail (demo, "%s is shown enabled before the test", demo->test_name);
      return FALSE;
    }
  return TRUE;
}

/* Advances the self-test as far as the application's state allows; called
 * after the scan, on every change of enabled-plugins and loaded-plugins,
 * on the call's reply and by timeouts. */
static void
self_test_step (Demo *demo)
{
  static enum { SCANNED, TURNED_ON, CALLED, SHOT, TURNED_OFF, TURNED_ON_AGAIN, CLOSED } stage = SCANNED;

  if (demo->failed)
    return;
  switch (stage)
    {
    case SCANNED:
      /* Let the list view bind its rows first. */
      if (demo->rows->len < g_list_model_get_n_items (G_LIST_MODEL (demo->registry)))
        {
          g_timeout_add (50, self_test_poll, demo);
          return;
        }
      if (!check_rows (demo))
        return;
      stage = TURNED_ON;
      flip (demo);
      return;
    case TURNED_ON:
      if (!row_shows (demo, demo->test_name, TRUE, TRUE))
        return;  /* the load is under way: loaded-plugins will change */
      g_set_object (&demo->test_plugin, rb_registry_get_plugin (demo->registry, demo->test_name));
      if (demo->test_plugin == NULL ||
          rb_plugin_get_state (demo->test_plugin) != RB_LIFECYCLE_STATE_ACTIVE)
        {
          self_test_fail (demo, "%s is listed as loaded but is not active", demo->test_name);
          return;
        }
      stage = CALLED;
      rb_plugin_call_async (demo->test_plugin, "echo", "{\"message\":\"from the list\"}", NULL,
                            on_test_reply, demo);
      return;
    case CALLED:
      if (!demo->got_reply)
        return;
      stage = SHOT;
      /* Let a frame or two be drawn first. */
      g_timeout_add (300, self_test_poll, demo);
      return;
    case SHOT:
      if (!demo_save_screenshot (GTK_WIDGET (demo->window), demo->screenshot))
        {
          self_test_fail (demo, "could not write %s", demo->screenshot);
          return;
        }
      stage = TURNED_OFF;
      flip (demo);
      return;
    case TURNED_OFF:
      if (!row_shows (demo, demo->test_name, FALSE, FALSE))
        return;
      /* Taken out of loaded-plugins, it stops in a thread. */
      if (rb_plugin_get_state (demo->test_plugin) != RB_LIFECYCLE_STATE_STOPPED)
        {
          g_timeout_add (50, self_test_poll, demo);
          return;
        }
      g_clear_object (&demo->test_plugin);
      stage = TURNED_ON_AGAIN;
      flip (demo);
      return;
    case TURNED_ON_AGAIN:
      if (!row_shows (demo, demo->test_name, TRUE, TRUE))
        return;
      /* Closed with the plugin loaded: it is unloaded in the background
       * and run() returns once it has stopped. */
      g_set_object (&demo->test_plugin, rb_registry_get_plugin (demo->registry, demo->test_name));
      stage = CLOSED;
      demo->test_done = TRUE;
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
  g_auto(GStrv) search_paths = NULL;
  g_autofree char *trusted_keys = NULL;
  g_autoptr(GError) error = NULL;
  const GOptionEntry entries[] = {
    { "search-path", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &search_paths,
      "Also look for plugin bundles in DIR", "DIR" },
    { "trusted-keys", 0, 0, G_OPTION_ARG_FILENAME, &trusted_keys,
      "Trust the publisher keys in DIR", "DIR" },
    { "self-test", 0, 0, G_OPTION_ARG_FILENAME, &demo.screenshot,
      "Turn the first available plugin on and off, save a screenshot, quit", "SCREENSHOT.png" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("— the plugins of " APP_ID);
  char *app_argv[] = { argv[0], NULL };
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  demo.registry = rb_registry_new (APP_ID);
  if (trusted_keys != NULL)
    rb_registry_set_trusted_keys_dir (demo.registry, trusted_keys);
  for (guint i = 0; search_paths != NULL && search_paths[i] != NULL; i++)
    rb_registry_add_search_path (demo.registry, search_paths[i]);
  /* Bundles installed or removed while the window is open show at once. */
  rb_registry_set_watch (demo.registry, TRUE);
  demo.rows = g_ptr_array_new ();
  g_signal_connect (demo.registry, "notify::enabled-plugins", G_CALLBACK (on_plugins_changed), &demo);
  g_signal_connect (demo.registry, "notify::loaded-plugins", G_CALLBACK (on_plugins_changed), &demo);
  g_signal_connect (demo.registry, "notify::n-items", G_CALLBACK (on_plugins_changed), &demo);
  g_signal_connect (demo.registry, "load-failed", G_CALLBACK (on_load_failed), &demo);

  demo.app = gtk_application_new (APP_ID, G_APPLICATION_NON_UNIQUE);
  g_signal_connect (demo.app, "activate", G_CALLBACK (on_activate), &demo);
  if (demo.screenshot != NULL)
    demo_deadline_start (&demo.deadline, G_APPLICATION (demo.app), 60, &demo.failed);

  status = g_application_run (G_APPLICATION (demo.app), 1, app_argv);

  if (demo.screenshot != NULL)
    {
      g_auto(GStrv) loaded = rb_registry_dup_loaded_plugins (demo.registry);

      /* run() returned: the window is gone, and the plugin must be too. */
      if (demo.pending_unloads > 0 || loaded[0] != NULL ||
          (demo.test_plugin != NULL && rb_plugin_get_state (demo.test_plugin) != RB_LIFECYCLE_STATE_STOPPED))
        {
          g_printerr ("self-test: run() returned before the plugins were unloaded\n");
          demo.failed = TRUE;
        }
      if (!demo.test_done)
        {
          g_printerr ("self-test: did not finish\n");
          demo.failed = TRUE;
        }
      demo_deadline_stop (&demo.deadline);
      if (!demo.failed)
        g_print ("self-test passed: %s turned on and off; screenshot in %s\n", demo.test_name,
                 demo.screenshot);
    }

  g_signal_handlers_disconnect_by_data (demo.registry, &demo);
  g_clear_object (&demo.test_plugin);
  g_object_unref (demo.app);
  g_object_unref (demo.registry);
  g_ptr_array_unref (demo.rows);
  g_free (demo.test_name);
  g_free (demo.screenshot);
  return status != 0 ? status : demo.failed ? 1 : 0;
}
