/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Stress: load -> call -> shutdown cycles with resident memory and open
 * files flat; plugins whose owner main context goes away without ever
 * being iterated (issue 9, item 5).
 */
#include <string.h>

#include "stress-util.h"

/* What a long run may add at most: allocator fragmentation and GLib's
 * caches (type data, thread-pool threads), not a per-cycle leak. A leak
 * of 4 KiB a cycle fails at 1000 cycles. */
#define RSS_SLACK_KIB 3072
#define FD_SLACK 2

typedef struct {
  gboolean done;
  gboolean ok;
} AsyncDone;

static void
echo_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  AsyncDone *done = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  g_assert_no_error (error);
  done->ok = g_strcmp0 (reply, "{\"message\":\"async\",\"length\":5}") == 0;
  done->done = TRUE;
}

/* One cycle: load, a sync and an async call, shutdown, last unref. */
static void
cycle (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  RbPlugin *plugin = rb_plugin_new (path, NULL, NULL, &error);
  AsyncDone done = { 0 };

  g_assert_no_error (error);
  rb_stress_track (plugin);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"sync\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"sync\",\"length\":4}");
  rb_plugin_call_async (plugin, "echo", "{\"message\":\"async\"}", NULL, echo_done_cb, &done);
  while (!done.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done.ok);
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_object_unref (plugin);
  g_assert_cmpuint (rb_stress_await_none_alive (5000), ==, 0);
}

static void
run_cycles (const char  *what,
            const char **paths,
            guint        n_paths,
            guint        n)
{
  guint warmup = MAX (n / 10, 2);
  gsize rss_start, rss_end;
  guint fds_start, fds_end;
  guint64 outstanding;
  gint64 start;

  /* Map the libraries, start GLib's threads and caches. */
  for (guint i = 0; i < warmup; i++)
    cycle (paths[i % n_paths]);
  outstanding = rb_test_fixture_outstanding ();
  rss_start = rb_stress_rss_kib ();
  fds_start = rb_stress_fd_count ();

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    cycle (paths[i % n_paths]);
  rb_stress_report (what, start, n);

  rss_end = rb_stress_rss_kib ();
  fds_end = rb_stress_fd_count ();
  g_test_message ("%s: RSS %zu -> %zu KiB, fds %u -> %u", what, rss_start, rss_end, fds_start, fds_end);
  g_assert_cmpuint (fds_end, <=, fds_start + FD_SLACK);
  /* Under valgrind or a sanitizer, RSS is mostly theirs. */
  if (rb_stress_rss_is_meaningful ())
    g_assert_cmpuint (rss_end, <=, rss_start + RSS_SLACK_KIB);
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, outstanding);
}

static void
test_cycles_one_file (void)
{
  const char *paths[] = { rb_test_plugin_path (RB_TEST_FIXTURE) };

  run_cycles ("cycles, one file", paths, 1, rb_stress_count (1000, 50));
}

static void
test_cycles_two_files (void)
{
  /* Two files of the same plugin: two mappings, two sets of the
   * library-global state. */
  const char *paths[] = { rb_test_plugin_path (RB_TEST_FIXTURE),
                          rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN") };

  if (paths[1] == NULL)
    {
      g_test_skip ("RB_FIXTURE_NORAW_PLUGIN not set");
      return;
    }
  run_cycles ("cycles, two files", paths, 2, rb_stress_count (1000, 50));
}

static void
test_cycles_rust (void)
{
  const char *paths[] = { rb_test_plugin_path (RB_TEST_RUST),
                          rb_test_plugin_path (RB_TEST_FIXTURE) };

  if (rb_test_skip_if_missing (RB_TEST_RUST))
    return;
  /* Each start of the Rust plugin builds a runtime with its threads. */
  run_cycles ("cycles, rust and fixture", paths, 2, rb_stress_count (1000, 20));
}

/* ------------------------------------------------------------------ */
/* Owner context dropped without iteration                             */

static void
never_called_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  /* The context that would run it is never iterated. */
  g_assert_not_reached ();
}

static gpointer
shutdown_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_plugin_shutdown (data, NULL, &error));
  g_assert_no_error (error);
  return NULL;
}

/* Loads a plugin in a context of its own, leaves a log message, a state
 * notification and an async call's completion queued for that context,
 * and drops everything without iterating it. */
static void
orphan_context_round (gboolean with_call)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  RbPlugin *plugin;

  g_main_context_push_thread_default (context);
  plugin = rb_stress_track (rb_test_load (RB_TEST_FIXTURE, NULL));
  reply = rb_plugin_call (plugin, "log.emit", "{\"count\":3,\"level\":\"info\",\"message\":\"orphan\",\"thread\":true}",
                          NULL, &error);
  g_assert_no_error (error);
  if (with_call)
    rb_plugin_call_async (plugin, "echo", "{\"message\":\"orphan\"}", NULL, never_called_cb, NULL);
  g_main_context_pop_thread_default (context);

  /* Shut down from another thread: the notification is queued too. */
  g_thread_join (g_thread_new ("shutdown", shutdown_thread, plugin));
  g_object_unref (plugin);
  g_main_context_unref (context);
}

static void
test_owner_context_dropped (void)
{
  guint n = rb_stress_count (200, 40);
  guint fds_start, fds_end;
  gint64 start;

  /* GLib's worker threads and the library's mapping come first. */
  orphan_context_round (TRUE);
  g_assert_cmpuint (rb_stress_await_none_alive (5000), ==, 0);
  fds_start = rb_stress_fd_count ();

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    orphan_context_round (i % 2 == 0);
  rb_stress_report ("plugins with a dropped owner context", start, n);
  fds_end = rb_stress_fd_count ();
  g_test_message ("owner contexts dropped: fds %u -> %u, %u plugins left", fds_start, fds_end,
                  rb_stress_alive ());
  /* Each context that stays alive keeps its wakeup eventfd. */
  g_assert_cmpuint (fds_end, <=, fds_start + FD_SLACK);
  /* The queued completions are dropped with the context, and with them
   * the calls' references to their plugins. */
  g_assert_cmpuint (rb_stress_await_none_alive (5000), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/stress/lifecycle/cycles-one-file", test_cycles_one_file);
  g_test_add_func ("/stress/lifecycle/cycles-two-files", test_cycles_two_files);
  g_test_add_func ("/stress/lifecycle/cycles-rust", test_cycles_rust);
  g_test_add_func ("/stress/lifecycle/owner-context-dropped", test_owner_context_dropped);

  return g_test_run ();
}
