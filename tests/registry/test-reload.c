/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rb_plugin_reload() and the registry's live reload, in process and in
 * PROCESS isolation: the same object, its handlers and bindings, the
 * state-changed sequence, failed reloads, the sources (its own library, a
 * bundle, a plugin from a path or from a bundle), and 8 threads calling
 * while the bundle is replaced 100 times.
 */
#include <errno.h>
#include <string.h>

#include <gmodule.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <glib/gstdio.h>

#define RB_BUNDLE_TEST_OWN_FIXTURE
#include "bundle-test-util.h"
#include "rb-test-util.h"

#define APP_ID "org.rustbridge.ReloadTest"

static char *base, *store, *user_dir, *trusted, *k1, *p1;
static char *v1_bundle, *v2_bundle, *unsigned_bundle, *broken_bundle;

#define MODE(data) ((RbIsolation) GPOINTER_TO_INT (data))

static RbPluginConfig *
mode_config (RbIsolation mode)
{
  RbPluginConfig *config = rb_plugin_config_new ();

  rb_plugin_config_set_isolation (config, mode);
  return config;
}

static RbBundle *
open_bundle (const char *path)
{
  g_autoptr(GError) error = NULL;
  RbBundle *bundle = rb_bundle_new_for_path (path, NULL, &error);

  g_assert_no_error (error);
  rb_bundle_set_trusted_keys_dir (bundle, trusted);
  return bundle;
}

/* Which fixture build answers: 1 or 2 (0 after an error). */
static gint64
version_of (RbPlugin  *plugin,
            GError   **error)
{
  g_autoptr(JsonNode) reply = rb_plugin_call_json (plugin, "fixture.version", NULL, NULL, error);

  if (reply == NULL)
    return 0;
  return json_object_get_int_member (json_node_get_object (reply), "version");
}

static guint64
calls_of (RbPlugin *plugin)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = rb_plugin_call_json (plugin, "counter.calls", NULL, NULL, &error);

  g_assert_no_error (error);
  return (guint64) json_object_get_int_member (json_node_get_object (reply), "calls");
}

typedef struct {
  GString *states;
  guint    bundle_version_notes;
  guint    path_notes;
} Seen;

static void
on_state_changed (RbPlugin         *plugin,
                  RbLifecycleState  old_state,
                  RbLifecycleState  new_state,
                  Seen             *seen)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (RB_TYPE_LIFECYCLE_STATE);

  g_string_append_printf (seen->states, "%s%s", seen->states->len > 0 ? " " : "",
                          g_enum_get_value (klass, new_state)->value_nick);
}

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           Seen       *seen)
{
  if (g_str_equal (pspec->name, "bundle-version"))
    seen->bundle_version_notes++;
  else if (g_str_equal (pspec->name, "path"))
    seen->path_notes++;
}

static void
drain_events (void)
{
  rb_test_iterate_for (50);
}

/* ---- the same source ---- */

static void
test_same_source (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = mode_config (MODE (data));
  g_autoptr(RbPluginConfig) bound = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  Seen seen = { g_string_new (NULL), 0, 0 };
  RbPlugin *before;
  guint64 outstanding = MODE (data) == RB_ISOLATION_NONE ? rb_test_fixture_stale_handle_uses () : 0;

  plugin = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), config, NULL, &error);
  g_assert_no_error (error);
  before = plugin;
  drain_events ();
  g_signal_connect (plugin, "state-changed", G_CALLBACK (on_state_changed), &seen);
  g_signal_connect (plugin, "notify", G_CALLBACK (on_notify), &seen);
  g_object_bind_property (plugin, "log-level", bound, "log-level", G_BINDING_DEFAULT);

  /* The instance counts its calls: a fresh one starts from zero. */
  calls_of (plugin);
  calls_of (plugin);
  g_assert_cmpuint (calls_of (plugin), ==, 3);

  g_assert_true (rb_plugin_reload (plugin, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (plugin == before);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_assert_cmpuint (calls_of (plugin), ==, 1);
  g_assert_cmpint (version_of (plugin, &error), ==, 1);
  g_assert_no_error (error);

  drain_events ();
  g_assert_cmpstr (seen.states->str, ==, "starting active");
  /* A binding made before the reload still works. */
  rb_plugin_set_log_level (plugin, RB_LOG_LEVEL_DEBUG);
  g_assert_cmpint (rb_plugin_config_get_log_level (bound), ==, RB_LOG_LEVEL_DEBUG);

  /* Again, with NULL for the error. */
  g_assert_true (rb_plugin_reload (plugin, NULL, NULL, NULL));
  drain_events ();
  g_assert_cmpstr (seen.states->str, ==, "starting active starting active");
  /* The old instances were shut down, never used after. */
  if (MODE (data) == RB_ISOLATION_NONE)
    g_assert_cmpuint (rb_test_fixture_stale_handle_uses (), ==, outstanding);

  g_signal_handlers_disconnect_by_data (plugin, &seen);
  g_string_free (seen.states, TRUE);
}

/* ---- a bundle ---- */

/* Watches $TMPDIR (private to this program, see main()) for anything
 * created in it: a reload from a bundle writes nothing to disk. */
static int
tmpdir_watch (void)
{
  int fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (inotify_add_watch (fd, g_get_tmp_dir (), IN_CREATE | IN_MOVED_TO), >=, 0);
  return fd;
}

/* What was created in $TMPDIR since tmpdir_watch(), its names joined by
 * spaces ("" for nothing); closes @fd. */
static char *
tmpdir_created (int fd)
{
  GString *names = g_string_new (NULL);
  union {
    struct inotify_event event;
    char buf[4096];
  } u;
  ssize_t n;

  while ((n = read (fd, u.buf, sizeof u.buf)) > 0)
    for (char *p = u.buf; p < u.buf + n;)
      {
        struct inotify_event *event = (struct inotify_event *) p;

        g_string_append_printf (names, "%s%s", names->len > 0 ? " " : "", event->len > 0 ? event->name : "?");
        p += sizeof *event + event->len;
      }
  g_assert_true (n < 0 && errno == EAGAIN);
  close (fd);
  return g_string_free (names, FALSE);
}

static void
assert_nothing_created (int fd)
{
  g_autofree char *created = tmpdir_created (fd);

  g_assert_cmpstr (created, ==, "");
}

static void
reload_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GError **out = user_data;

  if (!rb_plugin_reload_finish (RB_PLUGIN (source), result, out))
    g_assert_nonnull (*out);
  else
    *out = (GError *) 0x1;   /* done, no error */
}

static void
test_bundle (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = mode_config (MODE (data));
  g_autoptr(RbBundle) b1 = open_bundle (v1_bundle);
  g_autoptr(RbBundle) b2 = open_bundle (v2_bundle);
  g_autoptr(RbPlugin) from_path = NULL;
  g_autoptr(RbPlugin) from_bundle = NULL;
  g_autoptr(GError) error = NULL;
  Seen seen = { g_string_new (NULL), 0, 0 };
  GError *async_error = NULL;
  int watch;

  /* A plugin from a path, then from the bundles: the verified library
   * goes to the new instance as a sealed memfd (its path is
   * /proc/self/fd/N, isolated too), and nothing is written to $TMPDIR. */
  from_path = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), config, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (rb_plugin_get_bundle_version (from_path));
  g_signal_connect (from_path, "notify", G_CALLBACK (on_notify), &seen);
  watch = tmpdir_watch ();
  g_assert_true (rb_plugin_reload (from_path, b2, NULL, &error));
  g_assert_no_error (error);
  assert_nothing_created (watch);
  g_assert_true (g_str_has_prefix (rb_plugin_get_path (from_path), "/proc/self/fd/"));
  g_assert_cmpint (version_of (from_path, &error), ==, 2);
  g_assert_cmpstr (rb_plugin_get_bundle_name (from_path), ==, "reloaded");
  g_assert_cmpstr (rb_plugin_get_bundle_version (from_path), ==, "2.0.0");
  drain_events ();
  g_assert_cmpuint (seen.bundle_version_notes, ==, 1);
  g_assert_cmpuint (seen.path_notes, ==, 1);

  /* Async, back to version 1. */
  rb_plugin_reload_async (from_path, b1, NULL, reload_done, &async_error);
  while (async_error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (async_error == (GError *) 0x1);
  g_assert_cmpint (version_of (from_path, &error), ==, 1);
  g_assert_cmpstr (rb_plugin_get_bundle_version (from_path), ==, "1.0.0");

  /* A plugin loaded from a bundle (isolated: its helper got the memfd),
   * reloaded from another one. */
  from_bundle = rb_bundle_load_plugin (b1, NULL, config, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (version_of (from_bundle, &error), ==, 1);
  watch = tmpdir_watch ();
  g_assert_true (rb_plugin_reload (from_bundle, b2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (version_of (from_bundle, &error), ==, 2);
  g_assert_cmpstr (rb_plugin_get_bundle_version (from_bundle), ==, "2.0.0");

  /* Its own source again: in process, the same mapping; isolated, the
   * same memfd (it stays open, as for a restart). */
  g_assert_true (rb_plugin_reload (from_bundle, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (version_of (from_bundle, &error), ==, 2);
  g_assert_no_error (error);
  assert_nothing_created (watch);
  g_assert_true (g_str_has_prefix (rb_plugin_get_path (from_bundle), "/proc/self/fd/"));

  g_signal_handlers_disconnect_by_data (from_path, &seen);
  g_string_free (seen.states, TRUE);
}

/* ---- a call in flight during the switch ---- */

typedef struct {
  RbPlugin *plugin;
  guint     sleep_ms;
  char     *reply;
  GError   *error;
} SlowCall;

static gpointer
slow_call_thread (gpointer data)
{
  SlowCall *call = data;
  g_autofree char *request = g_strdup_printf ("{\"duration_ms\":%u,\"report_version\":1}", call->sleep_ms);

  call->reply = rb_plugin_call (call->plugin, "test.sleep", request, NULL, &call->error);
  return NULL;
}

/* A call in flight finishes on the old instance; a reload whose calls in
 * flight outlast shutdown-timeout-ms is abandoned, the old one serving. */
static void
test_in_flight (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = mode_config (MODE (data));
  g_autoptr(RbBundle) b2 = open_bundle (v2_bundle);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  SlowCall call = { 0 };
  GThread *thread;
  gint64 start;

  rb_plugin_config_set_shutdown_timeout_ms (config, 3000);
  plugin = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), config, NULL, &error);
  g_assert_no_error (error);

  /* 300 ms in flight: the reload waits for it, then switches. */
  call.plugin = plugin;
  call.sleep_ms = 300;
  thread = g_thread_new ("slow", slow_call_thread, &call);
  g_usleep (100 * 1000);
  start = g_get_monotonic_time ();
  g_assert_true (rb_plugin_reload (plugin, b2, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (thread);
  g_assert_no_error (call.error);
  /* Served by the old instance (version 1), though it ended after the
   * switch; calls after it go to version 2, the slow one included. */
  g_assert_cmpstr (call.reply, ==, "{\"slept_ms\":300,\"version\":1}");
  g_clear_pointer (&call.reply, g_free);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 150 * 1000);
  g_assert_cmpint (version_of (plugin, &error), ==, 2);
  call.sleep_ms = 1;
  slow_call_thread (&call);
  g_assert_no_error (call.error);
  g_assert_cmpstr (call.reply, ==, "{\"slept_ms\":1,\"version\":2}");
  g_clear_pointer (&call.reply, g_free);

  /* 2 s in flight against a 200 ms timeout: abandoned, version 2 serves. */
  g_clear_object (&plugin);
  rb_plugin_config_set_shutdown_timeout_ms (config, 200);
  plugin = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), config, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rb_plugin_reload (plugin, b2, NULL, &error));
  call.plugin = plugin;
  call.sleep_ms = 2000;
  thread = g_thread_new ("slow", slow_call_thread, &call);
  g_usleep (100 * 1000);
  {
    g_autoptr(RbBundle) b1 = open_bundle (v1_bundle);

    g_assert_false (rb_plugin_reload (plugin, b1, NULL, &error));
  }
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_clear_error (&error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_assert_cmpint (version_of (plugin, &error), ==, 2);
  g_assert_no_error (error);
  g_thread_join (thread);
  g_assert_no_error (call.error);
  g_assert_cmpstr (call.reply, ==, "{\"slept_ms\":2000,\"version\":2}");
  g_clear_pointer (&call.reply, g_free);
}

/* ---- failures leave the old instance serving ---- */

static void
reload_fails (RbPlugin   *plugin,
              const char *path,
              GQuark      domain,
              gint        code)
{
  g_autoptr(RbBundle) bundle = open_bundle (path);
  g_autoptr(GError) error = NULL;

  g_assert_false (rb_plugin_reload (plugin, bundle, NULL, &error));
  g_assert_error (error, domain, code);
  g_assert_true (strstr (error->message, "“") != NULL);
  g_assert_false (rb_plugin_reload (plugin, bundle, NULL, NULL));
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_clear_error (&error);
  g_assert_cmpint (version_of (plugin, &error), ==, 1);
  g_assert_no_error (error);
}

/* In process, a reload from the same library stops the old instance
 * before the new one starts (the library's log callback is shared); if
 * the new one fails to start, the old one is started again and serves. */
static void
test_same_source_failed (void)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  GModule *module;
  void (*fail_next) (void) = NULL;
  g_autofree char *reply = NULL;

  plugin = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), NULL, NULL, &error);
  g_assert_no_error (error);
  module = g_module_open (rb_test_plugin_path (RB_TEST_FIXTURE), G_MODULE_BIND_LOCAL);
  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, "fixture_fail_next_create", (gpointer *) &fail_next));

  fail_next ();
  g_assert_false (rb_plugin_reload (plugin, NULL, NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "started again"));
  g_clear_error (&error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"again\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  g_assert_cmpint (version_of (plugin, &error), ==, 1);
  /* And it still reloads. */
  g_assert_true (rb_plugin_reload (plugin, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_module_close (module);
}

static void
test_failed (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = mode_config (MODE (data));
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(RbPlugin) stopped = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(RbBundle) b2 = open_bundle (v2_bundle);
  Seen seen = { g_string_new (NULL), 0, 0 };

  plugin = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), config, NULL, &error);
  g_assert_no_error (error);
  drain_events ();
  g_signal_connect (plugin, "state-changed", G_CALLBACK (on_state_changed), &seen);

  reload_fails (plugin, unsigned_bundle, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING);
  /* A library that is not a plugin. */
  reload_fails (plugin, broken_bundle, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  g_cancellable_cancel (cancellable);
  g_assert_false (rb_plugin_reload (plugin, b2, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  drain_events ();
  /* Nothing switched: no state change at all. */
  g_assert_cmpstr (seen.states->str, ==, "");

  /* A plugin that is shut down starts anew; one that never started
   * cannot be reloaded. */
  stopped = rb_plugin_new (rb_test_plugin_path (RB_TEST_FIXTURE), config, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rb_plugin_shutdown (stopped, NULL, &error));
  g_assert_true (rb_plugin_reload (stopped, b2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (version_of (stopped, &error), ==, 2);
  {
    g_autoptr(RbPlugin) never = g_object_new (RB_TYPE_PLUGIN, "path", "/nonexistent/lib.so", NULL);

    g_assert_false (rb_plugin_reload (never, b2, NULL, &error));
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE);
    g_clear_error (&error);
  }

  g_signal_handlers_disconnect_by_data (plugin, &seen);
  g_string_free (seen.states, TRUE);
}

/* ---- 8 threads calling while the bundle is replaced 100 times ---- */

typedef struct {
  RbPlugin *plugin;
  gint      stop;
  gint      failed;
  gint      seen[3];   /* replies from version 1, version 2, anything else */
  GError   *first_error;
  GMutex    lock;
} Load;

static gpointer
caller_thread (gpointer data)
{
  Load *load = data;
  /* valgrind runs one thread at a time: callers that never pause starve
   * the reloads (5 minutes for 10 rounds); a short sleep keeps calls
   * overlapping every switch all the same. */
  gulong pause_us = g_getenv ("RB_TEST_UNDER_VALGRIND") != NULL ? 200 : 0;

  while (!g_atomic_int_get (&load->stop))
    {
      GError *error = NULL;
      gint64 version;

      if (pause_us > 0)
        g_usleep (pause_us);
      version = version_of (load->plugin, &error);

      if (error != NULL)
        {
          g_atomic_int_inc (&load->failed);
          g_mutex_lock (&load->lock);
          if (load->first_error == NULL)
            load->first_error = g_steal_pointer (&error);
          g_mutex_unlock (&load->lock);
          g_clear_error (&error);
        }
      else
        g_atomic_int_inc (&load->seen[version == 1 ? 0 : version == 2 ? 1 : 2]);
    }
  return NULL;
}

static long
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  return strtol (line + strlen ("VmRSS:"), NULL, 10);
}

/* Helper processes of this process still alive. */
static guint
count_children (void)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/children", getpid ());
  g_autofree char *text = NULL;
  g_auto(GStrv) pids = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  pids = g_strsplit (g_strstrip (text), " ", -1);
  for (guint i = 0; pids[i] != NULL; i++)
    if (*pids[i] != '\0')
      n++;
  return n;
}

static void
install_as (const char *from,
            const char *name)
{
  g_autofree char *to = g_build_filename (user_dir, name, NULL);
  g_autofree char *tmp = g_strconcat (user_dir, "/.", name, ".part", NULL);
  g_autofree char *text = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &text, &len, NULL));
  g_assert_true (g_file_set_contents (tmp, text, len, NULL));
  g_assert_cmpint (g_rename (tmp, to), ==, 0);
}

typedef struct {
  guint    reloaded, failed;
  RbBundle *last_old, *last_new;
  GError  *error;
} Reloads;

static void
on_plugin_reloaded (RbRegistry *registry,
                    RbBundle   *old_bundle,
                    RbBundle   *new_bundle,
                    RbPlugin   *plugin,
                    Reloads    *reloads)
{
  g_assert_true (RB_IS_BUNDLE (old_bundle));
  g_assert_true (RB_IS_BUNDLE (new_bundle));
  g_assert_true (old_bundle != new_bundle);
  g_assert_true (rb_registry_get_plugin (registry, "reloaded") == plugin);
  g_assert_cmpstr (rb_plugin_get_bundle_version (plugin), ==, rb_bundle_get_version (new_bundle));
  g_set_object (&reloads->last_old, old_bundle);
  g_set_object (&reloads->last_new, new_bundle);
  reloads->reloaded++;
}

static void
on_reload_failed (RbRegistry *registry,
                  RbBundle   *bundle,
                  GError     *error,
                  Reloads    *reloads)
{
  g_clear_error (&reloads->error);
  reloads->error = g_error_copy (error);
  reloads->failed++;
}

static void
wait_reloads (Reloads *reloads,
              guint    n)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  while (reloads->reloaded + reloads->failed < n)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, TRUE);
    }
}

static void
test_live_stress (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = mode_config (MODE (data));
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(GError) error = NULL;
  GThread *threads[8];
  Reloads reloads = { 0 };
  Load load = { 0 };
  guint rounds = rb_test_scale (100);
  guint fds_before = rb_test_count_fds (), fds_after, children_before;
  long rss_before = 0, rss_after;

  rb_test_remove_tree (user_dir);
  g_assert_cmpint (g_mkdir_with_parents (user_dir, 0700), ==, 0);
  install_as (v1_bundle, "reloaded.rbp");
  registry = rb_registry_new (APP_ID);
  rb_registry_set_trusted_keys_dir (registry, trusted);
  g_signal_connect (registry, "plugin-reloaded", G_CALLBACK (on_plugin_reloaded), &reloads);
  g_signal_connect (registry, "reload-failed", G_CALLBACK (on_reload_failed), &reloads);
  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  load.plugin = rb_registry_load_plugin (registry, "reloaded", config, NULL, &error);
  g_assert_no_error (error);
  g_mutex_init (&load.lock);
  children_before = count_children ();

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", caller_thread, &load);

  for (guint round = 0; round < rounds; round++)
    {
      /* Every install changes size or inode: a replacement each time. */
      install_as (round % 2 == 0 ? v2_bundle : v1_bundle, "reloaded.rbp");
      g_assert_true (rb_registry_rescan (registry, NULL, &error));
      wait_reloads (&reloads, round + 1);
      if (round == 1)
        {
          /* Measured once everything is warm (both libraries mapped). */
          fds_before = rb_test_count_fds ();
          rss_before = rss_kib ();
        }
    }

  /* One more through the watch. */
  rb_registry_set_watch (registry, TRUE);
  install_as (rounds % 2 == 0 ? v2_bundle : v1_bundle, "reloaded.rbp");
  wait_reloads (&reloads, rounds + 1);
  rb_registry_set_watch (registry, FALSE);

  g_atomic_int_set (&load.stop, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);

  if (load.first_error != NULL)
    g_error ("a call failed during a reload: %s", load.first_error->message);
  g_assert_no_error (reloads.error);
  g_assert_cmpuint (reloads.failed, ==, 0);
  g_assert_cmpuint (reloads.reloaded, ==, rounds + 1);
  g_assert_cmpint (load.failed, ==, 0);
  g_assert_cmpint (load.seen[0], >, 0);
  g_assert_cmpint (load.seen[1], >, 0);
  g_assert_cmpint (load.seen[2], ==, 0);
  g_test_message ("%d replies from version 1, %d from version 2, %u reloads",
                  load.seen[0], load.seen[1], reloads.reloaded);

  /* Old instances shut down: no helper left but the serving one; fds
   * flat; memory flat once both versions were mapped. */
  if (MODE (data) != RB_ISOLATION_NONE)
    g_assert_cmpuint (count_children (), <=, children_before);
  fds_after = rb_test_count_fds ();
  rss_after = rss_kib ();
  g_test_message ("fds %u -> %u, RSS %ld -> %ld KiB", fds_before, fds_after, rss_before, rss_after);
  g_assert_cmpuint (fds_after, <=, fds_before + 2);
  if (MODE (data) != RB_ISOLATION_NONE && g_getenv ("RB_TEST_UNDER_VALGRIND") == NULL)
    g_assert_cmpint (rss_after - rss_before, <, 8 * 1024);

  g_assert_true (rb_registry_unload_plugin (registry, "reloaded", NULL, &error));
  g_assert_no_error (error);
  g_clear_object (&load.plugin);
  g_clear_object (&reloads.last_old);
  g_clear_object (&reloads.last_new);
  g_mutex_clear (&load.lock);
}

/* A replacement that does not verify: reload-failed, the old one serves. */
static void
test_live_failed (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  Reloads reloads = { 0 };

  rb_test_remove_tree (user_dir);
  g_assert_cmpint (g_mkdir_with_parents (user_dir, 0700), ==, 0);
  install_as (v1_bundle, "reloaded.rbp");
  registry = rb_registry_new (APP_ID);
  rb_registry_set_trusted_keys_dir (registry, trusted);
  g_signal_connect (registry, "plugin-reloaded", G_CALLBACK (on_plugin_reloaded), &reloads);
  g_signal_connect (registry, "reload-failed", G_CALLBACK (on_reload_failed), &reloads);
  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  plugin = rb_registry_load_plugin (registry, "reloaded", NULL, NULL, &error);
  g_assert_no_error (error);

  install_as (broken_bundle, "reloaded.rbp");
  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  wait_reloads (&reloads, 1);
  g_assert_cmpuint (reloads.failed, ==, 1);
  g_assert_error (reloads.error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  g_assert_cmpint (version_of (plugin, &error), ==, 1);
  g_assert_no_error (error);
  g_assert_cmpstr (rb_plugin_get_bundle_version (plugin), ==, "1.0.0");

  /* Then a good one. */
  install_as (v2_bundle, "reloaded.rbp");
  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  wait_reloads (&reloads, 2);
  g_assert_cmpuint (reloads.reloaded, ==, 1);
  g_assert_cmpint (version_of (plugin, &error), ==, 2);
  g_assert_cmpstr (rb_bundle_get_version (reloads.last_old), ==, "1.0.0");
  g_assert_cmpstr (rb_bundle_get_version (reloads.last_new), ==, "2.0.0");
  g_assert_true (rb_registry_lookup_bundle (registry, "reloaded") == reloads.last_new);
  g_clear_error (&reloads.error);
  g_clear_object (&reloads.last_old);
  g_clear_object (&reloads.last_new);
}

int
main (int argc, char **argv)
{
  const char *parent = g_getenv ("TMPDIR");
  g_autofree char *minisign = g_find_program_in_path ("minisign");
  g_autofree char *tmp = NULL, *data_home = NULL, *cache_home = NULL, *config_home = NULL;
  int status;

  base = g_build_filename (parent != NULL && *parent != '\0' ? parent : "/tmp", "rb-reload-test-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (base));
  data_home = g_build_filename (base, "data-home", NULL);
  cache_home = g_build_filename (base, "cache", NULL);
  config_home = g_build_filename (base, "config", NULL);
  tmp = g_build_filename (base, "tmp", NULL);
  store = g_build_filename (base, "store", NULL);
  trusted = g_build_filename (base, "trusted", NULL);
  g_setenv ("XDG_DATA_HOME", data_home, TRUE);
  g_setenv ("XDG_DATA_DIRS", base, TRUE);
  g_setenv ("XDG_CACHE_HOME", cache_home, TRUE);
  g_setenv ("XDG_CONFIG_HOME", config_home, TRUE);
  g_setenv ("TMPDIR", tmp, TRUE);
  user_dir = g_build_filename (data_home, APP_ID, "plugins", NULL);
  g_mkdir_with_parents (tmp, 0700);
  g_mkdir_with_parents (store, 0700);
  g_mkdir_with_parents (trusted, 0700);
  g_mkdir_with_parents (user_dir, 0700);

  rb_test_init (&argc, &argv);
  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      return g_test_run ();
    }
  {
    const char *keygen[] = { "minisign", "-G", "-W", "-p", "k.pub", "-s", "k.key", NULL };
    g_autofree char *text = NULL;
    g_autofree char *copy = g_build_filename (trusted, "k.pub", NULL);
    const char *v2[] = { "--name", "reloaded", "--version", "2.0.0", "--library",
                         rb_test_env_path ("RB_FIXTURE_V2_PLUGIN"), NULL };
    const char *v1[] = { "--name", "reloaded", "--version", "1.0.0", NULL };
    const char *broken[] = { "--name", "reloaded", "--version", "3.0.0", "--library",
                             rb_test_env_path ("RB_NOT_A_PLUGIN"), NULL };

    rb_test_run_in (store, keygen);
    k1 = g_build_filename (store, "k.key", NULL);
    p1 = g_build_filename (store, "k.pub", NULL);
    g_assert_true (g_file_get_contents (p1, &text, NULL, NULL));
    g_assert_true (g_file_set_contents (copy, text, -1, NULL));
    v1_bundle = rb_test_make_bundle (store, "v1.rbp", k1, p1, v1);
    v2_bundle = rb_test_make_bundle (store, "v2.rbp", k1, p1, v2);
    broken_bundle = rb_test_make_bundle (store, "broken.rbp", k1, p1, broken);
    unsigned_bundle = rb_test_make_bundle (store, "unsigned.rbp", NULL, NULL, v2);
  }

  /* One isolation mode per run (RB_TEST_ISOLATION, tests/registry/meson.build). */
    {
      RbIsolation mode = rb_test_isolation () == RB_ISOLATION_NONE ? RB_ISOLATION_NONE
                                                                    : RB_ISOLATION_PROCESS;
      const char *name = mode == RB_ISOLATION_NONE ? "in-process" : "process";
      gconstpointer data = GINT_TO_POINTER (mode);
      g_autofree char *same = g_strdup_printf ("/reload/%s/same-source", name);
      g_autofree char *bundle = g_strdup_printf ("/reload/%s/bundle", name);
      g_autofree char *failed = g_strdup_printf ("/reload/%s/failed", name);
      g_autofree char *in_flight = g_strdup_printf ("/reload/%s/in-flight", name);
      g_autofree char *stress = g_strdup_printf ("/reload/%s/live-stress", name);

      g_test_add_data_func (same, data, test_same_source);
      g_test_add_data_func (bundle, data, test_bundle);
      g_test_add_data_func (failed, data, test_failed);
      g_test_add_data_func (in_flight, data, test_in_flight);
      g_test_add_data_func (stress, data, test_live_stress);
    }
  if (rb_test_isolation () == RB_ISOLATION_NONE)
    {
      g_test_add_func ("/reload/live-failed", test_live_failed);
      g_test_add_func ("/reload/same-source-failed", test_same_source_failed);
    }
  status = g_test_run ();

  rb_test_remove_tree (base);
  g_free (base);
  g_free (store);
  g_free (user_dir);
  g_free (trusted);
  g_free (k1);
  g_free (p1);
  g_free (v1_bundle);
  g_free (v2_bundle);
  g_free (unsigned_bundle);
  g_free (broken_bundle);
  return status;
}
