/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Async calls: worker pool, delivery context, cancellation, backpressure,
 * shutdown while busy, async load.
 */
#include <string.h>


#include "rb-test-util.h"
#include "plugins/fixture-raw.h"


static gint64
counter_calls (RbPlugin *plugin)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = rb_plugin_call_json (plugin, "counter.calls", NULL, NULL, &error);

  g_assert_no_error (error);
  return json_object_get_int_member (json_node_get_object (node), "calls");
}

static RbPluginConfig *
config_new (guint threads,
            guint max_ops,
            guint max_queued)
{
  RbPluginConfig *config = rb_plugin_config_new ();

  g_object_set (config, "worker-threads", threads, "max-concurrent-ops", max_ops,
                "max-queued-calls", max_queued, NULL);
  return config;
}

/* ---- many echoes ---- */

typedef struct {
  guint     done;
  guint     failed;
  guint     total;
  GThread  *thread;
  gboolean  wrong_thread;
} Counter;

static void
echo_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  Counter *counter = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);
  int index = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "index"));

  (void) index;
  if (g_thread_self () != counter->thread)
    counter->wrong_thread = TRUE;
  if (reply == NULL || strstr (reply, "\"length\":") == NULL)
    counter->failed++;
  counter->done++;
}

typedef struct {
  Counter *counter;
  char    *expected;
} EchoCheck;

static void
echo_check_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  EchoCheck *check = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  g_assert_no_error (error);
  if (g_strcmp0 (reply, check->expected) != 0)
    check->counter->failed++;
  if (g_thread_self () != check->counter->thread)
    check->counter->wrong_thread = TRUE;
  check->counter->done++;
  g_free (check->expected);
  g_free (check);
}

static void
test_many_echoes (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  Counter counter = { 0, 0, rb_test_scale (10000), g_thread_self (), FALSE };
  gboolean all_done = FALSE;

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);

  for (guint i = 0; i < counter.total; i++)
    {
      EchoCheck *check = g_new0 (EchoCheck, 1);
      g_autofree char *message = g_strdup_printf ("msg-%u", i);
      g_autofree char *request = g_strdup_printf ("{\"message\":\"%s\"}", message);

      check->counter = &counter;
      check->expected = g_strdup_printf ("{\"message\":\"%s\",\"length\":%zu}", message, strlen (message));
      rb_plugin_call_async (plugin, "echo", request, NULL, echo_check_cb, check);
    }
  /* Nothing completes before the main context runs. */
  g_assert_cmpuint (counter.done, ==, 0);
  while (counter.done < counter.total)
    g_main_context_iteration (NULL, TRUE);
  all_done = TRUE;
  g_assert_true (all_done);
  g_assert_cmpuint (counter.failed, ==, 0);
  g_assert_false (counter.wrong_thread);
}

/* ---- threads with their own contexts ---- */

typedef struct {
  RbPlugin *plugin;
  int       index;
  Counter   counter;
  guint     sync_failures;
} ThreadCtx;

static gpointer
thread_with_context (gpointer data)
{
  ThreadCtx *tc = data;
  GMainContext *context = g_main_context_new ();

  g_main_context_push_thread_default (context);
  tc->counter.thread = g_thread_self ();
  tc->counter.total = rb_test_scale (200);
  for (guint i = 0; i < tc->counter.total; i++)
    {
      g_autofree char *request = g_strdup_printf ("{\"message\":\"thread %d call %u\"}", tc->index, i);
      g_autoptr(GError) error = NULL;
      g_autofree char *reply = NULL;

      rb_plugin_call_async (tc->plugin, "echo", request, NULL, echo_done_cb, &tc->counter);
      /* Interleave sync calls. */
      reply = rb_plugin_call (tc->plugin, "math.add", "{\"a\":1,\"b\":2}", NULL, &error);
      if (g_strcmp0 (reply, "{\"result\":3}") != 0)
        tc->sync_failures++;
    }
  while (tc->counter.done < tc->counter.total)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  g_main_context_unref (context);
  return NULL;
}

static void
test_threads_own_contexts (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  ThreadCtx tc[4];
  GThread *threads[4];

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  for (int i = 0; i < 4; i++)
    {
      memset (&tc[i], 0, sizeof tc[i]);
      tc[i].plugin = plugin;
      tc[i].index = i;
      threads[i] = g_thread_new ("ctx-thread", thread_with_context, &tc[i]);
    }
  for (int i = 0; i < 4; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpuint (tc[i].counter.done, ==, rb_test_scale (200));
      g_assert_cmpuint (tc[i].counter.failed, ==, 0);
      g_assert_false (tc[i].counter.wrong_thread);
      g_assert_cmpuint (tc[i].sync_failures, ==, 0);
    }
}

/* ---- cancellation ---- */

typedef struct {
  gboolean  done;
  GError   *error;
  char     *reply;
  gint64    when;
} Result;

static void
result_cb (GObject      *source,
           GAsyncResult *res,
           gpointer      data)
{
  Result *result = data;

  result->reply = rb_plugin_call_finish (RB_PLUGIN (source), res, &result->error);
  result->when = g_get_monotonic_time ();
  result->done = TRUE;
}

static void
result_clear (Result *result)
{
  g_clear_error (&result->error);
  g_clear_pointer (&result->reply, g_free);
  result->done = FALSE;
}

static void
test_cancel_before_start (void)
{
  g_autoptr(RbPluginConfig) config = config_new (1, 10, 0);
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, config);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result busy = { 0 }, cancelled = { 0 }, already = { 0 };
  gint64 calls_before = counter_calls (plugin);

  /* The only worker is busy, so the second call waits in the queue. */
  rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":300}", NULL, result_cb, &busy);
  rb_plugin_call_async (plugin, "counter.calls", "{}", cancellable, result_cb, &cancelled);
  g_cancellable_cancel (cancellable);
  rb_test_wait_until (&cancelled.done, 5000);
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  rb_test_wait_until (&busy.done, 5000);
  g_assert_no_error (busy.error);

  /* A call made with a cancelled cancellable fails too. */
  rb_plugin_call_async (plugin, "counter.calls", "{}", cancellable, result_cb, &already);
  rb_test_wait_until (&already.done, 5000);
  g_assert_error (already.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* The plugin saw test.sleep (and our own counter call) only. */
  g_assert_cmpint (counter_calls (plugin), ==, calls_before + 2);
  result_clear (&busy);
  result_clear (&cancelled);
  result_clear (&already);
}

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancel_while_running (void)
{
  g_autoptr(RbPluginConfig) config = config_new (1, 10, 0);
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, config);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  Result running = { 0 }, next = { 0 };
  guint64 outstanding = rb_test_fixture_outstanding ();
  gint64 start = g_get_monotonic_time ();

  rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":1500}", cancellable, result_cb, &running);
  g_timeout_add (100, cancel_cb, cancellable);
  rb_test_wait_until (&running.done, 5000);
  g_assert_error (running.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  /* It did not wait for the plugin. */
  g_assert_cmpint (running.when - start, <, 1000 * G_TIME_SPAN_MILLISECOND);

  /* The late result is freed when it arrives; the worker goes on. */
  rb_plugin_call_async (plugin, "echo", "{\"message\":\"after\"}", NULL, result_cb, &next);
  rb_test_wait_until (&next.done, 5000);
  g_assert_no_error (next.error);
  g_assert_cmpstr (next.reply, ==, "{\"message\":\"after\",\"length\":5}");
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, outstanding);
  result_clear (&running);
  result_clear (&next);
}

/* ---- backpressure ---- */

typedef struct {
  int   rejected_code;  /* the RbPluginError counted as "rejected" */
  guint ok;
  guint rejected;
  guint other;
  guint done;
} Tally;

static void
tally_cb (GObject      *source,
          GAsyncResult *res,
          gpointer      data)
{
  Tally *tally = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), res, &error);

  if (reply != NULL)
    tally->ok++;
  else if (g_error_matches (error, RB_PLUGIN_ERROR, tally->rejected_code))
    tally->rejected++;
  else
    tally->other++;
  tally->done++;
}

static void
test_backpressure (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPluginConfig) config = config_new (1, 1, 4);
  g_autoptr(RbPlugin) plugin = NULL;
  Tally tally = { RB_PLUGIN_ERROR_TOO_MANY_REQUESTS };

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, config);
  for (int i = 0; i < 10; i++)
    rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":50}", NULL, tally_cb, &tally);
  while (tally.done < 10)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpuint (tally.ok, ==, 4);
  g_assert_cmpuint (tally.rejected, ==, 6);
  g_assert_cmpuint (tally.other, ==, 0);
  g_assert_cmpuint (rb_plugin_get_rejected_request_count (plugin), ==, 6);
}

/* ---- shutdown while busy ---- */

static void
shutdown_cb (GObject      *source,
             GAsyncResult *res,
             gpointer      data)
{
  Result *result = data;
  gboolean ok = rb_plugin_shutdown_finish (RB_PLUGIN (source), res, &result->error);

  g_assert_true (ok == (result->error == NULL));
  result->done = TRUE;
}

static void
test_shutdown_while_busy (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPluginConfig) config = config_new (2, 1000, 0);
  RbPlugin *plugin;
  Tally tally = { RB_PLUGIN_ERROR_INVALID_STATE };
  Result shut = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *late = NULL;

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, config);
  for (int i = 0; i < 100; i++)
    rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":20}", NULL, tally_cb, &tally);
  rb_test_iterate_for (30);
  rb_plugin_shutdown_async (plugin, NULL, shutdown_cb, &shut);

  rb_test_wait_until (&shut.done, 10000);
  g_assert_no_error (shut.error);
  while (tally.done < 100)
    g_main_context_iteration (NULL, TRUE);
  /* Calls in flight finished; queued ones were refused. */
  g_assert_cmpuint (tally.other, ==, 0);
  g_assert_cmpuint (tally.ok + tally.rejected, ==, 100);
  g_assert_cmpuint (tally.ok, >=, 1);
  g_assert_cmpuint (tally.rejected, >=, 1);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);

  late = rb_plugin_call (plugin, "echo", "{}", NULL, &error);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE);
  rb_test_assert_finalized (plugin);
}

/* ---- shutdown: queued calls, the default GApplication ---- */

/* Calls still queued fail at once when the shutdown starts, not when a
 * worker gets to them after the running call. */
static void
test_shutdown_fails_queued_calls (void)
{
  g_autoptr(RbPluginConfig) config = config_new (1, 1, 0);
  RbPlugin *plugin = rb_test_load (RB_TEST_FIXTURE, config);
  Result busy = { 0 }, shut = { 0 };
  Result queued[3] = { { 0 } };

  rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":400}", NULL, result_cb, &busy);
  for (guint i = 0; i < G_N_ELEMENTS (queued); i++)
    rb_plugin_call_async (plugin, "echo", "{\"message\":\"queued\"}", NULL, result_cb, &queued[i]);
  rb_test_iterate_for (50);
  rb_plugin_shutdown_async (plugin, NULL, shutdown_cb, &shut);

  for (guint i = 0; i < G_N_ELEMENTS (queued); i++)
    {
      rb_test_wait_until (&queued[i].done, 5000);
      g_assert_error (queued[i].error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE);
      g_assert_nonnull (strstr (queued[i].error->message, "still queued"));
      /* Before the running call (and so the shutdown) finished. */
      g_assert_false (busy.done);
      result_clear (&queued[i]);
    }
  rb_test_wait_until (&shut.done, 5000);
  g_assert_no_error (shut.error);
  g_assert_true (busy.done);
  g_assert_no_error (busy.error);
  result_clear (&busy);
  rb_test_assert_finalized (plugin);
}

typedef struct {
  RbPlugin *plugin;
  Result    call;
  Result    shut;
} AppCheck;

static void
app_shutdown_cb (GObject      *source,
                 GAsyncResult *res,
                 gpointer      data)
{
  shutdown_cb (source, res, &((AppCheck *) data)->shut);
}

static void
app_activate_cb (GApplication *app,
                 AppCheck     *check)
{
  /* A call in flight makes the shutdown take a while; the application
   * holds nothing itself: only the shutdown keeps it running. */
  rb_plugin_call_async (check->plugin, "test.sleep", "{\"duration_ms\":300}", NULL,
                        result_cb, &check->call);
  rb_test_iterate_for (50);
  rb_plugin_shutdown_async (check->plugin, NULL, app_shutdown_cb, check);
}

static void
test_shutdown_holds_application (void)
{
  g_autoptr(GApplication) app = g_application_new ("org.rustbridge.ShutdownTest",
                                                    G_APPLICATION_NON_UNIQUE);
  AppCheck check = { 0 };
  char *argv[] = { (char *) "test", NULL };

  check.plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_signal_connect (app, "activate", G_CALLBACK (app_activate_cb), &check);
  g_assert_cmpint (g_application_run (app, 1, argv), ==, 0);
  /* run() returned only once the shutdown's callback had run. */
  g_assert_true (check.shut.done);
  g_assert_no_error (check.shut.error);
  g_assert_cmpint (rb_plugin_get_state (check.plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
  rb_test_wait_until (&check.call.done, 5000);
  g_assert_no_error (check.call.error);
  result_clear (&check.call);
  rb_test_assert_finalized (check.plugin);
}

/* ---- finalize with calls in flight ---- */

static void
test_unref_with_calls_in_flight (void)
{
  RbPlugin *plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  GObject *weak = G_OBJECT (plugin);
  Tally tally = { RB_PLUGIN_ERROR_TOO_MANY_REQUESTS };

  g_object_add_weak_pointer (weak, (gpointer *) &weak);
  for (int i = 0; i < 20; i++)
    rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":5}", NULL, tally_cb, &tally);
  g_object_unref (plugin);
  /* Each in-flight call holds a reference. */
  g_assert_nonnull (weak);
  while (tally.done < 20)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (tally.ok, ==, 20);
  rb_test_iterate_for (20);
  g_assert_null (weak);
}

/* ---- completion queued for a context that is dropped ---- */

static void
never_called_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_assert_not_reached ();
}

static gpointer
shutdown_thread (gpointer data)
{
  g_assert_true (rb_plugin_shutdown (data, NULL, NULL));
  return NULL;
}

static gboolean
never_dispatched_cb (gpointer data)
{
  g_assert_not_reached ();
  return G_SOURCE_REMOVE;
}

static void
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
}

/* An async call whose completion waits for a context that is then
 * dropped without ever being iterated: the context goes (its sources
 * are destroyed), and with it the call and its reference to the plugin.
 * The callback is never called: nothing runs that context any more. */
static void
test_context_dropped_with_completion_queued (void)
{
  GMainContext *context = g_main_context_new ();
  GSource *canary = g_idle_source_new ();
  gboolean context_gone = FALSE;
  RbPlugin *plugin;
  GObject *weak;

  g_source_set_callback (canary, never_dispatched_cb, &context_gone, set_flag);
  g_source_attach (canary, context);
  g_source_unref (canary);

  g_main_context_push_thread_default (context);
  plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  weak = G_OBJECT (plugin);
  g_object_add_weak_pointer (weak, (gpointer *) &weak);
  rb_plugin_call_async (plugin, "echo", "{\"message\":\"orphan\"}", NULL, never_called_cb, NULL);
  g_main_context_pop_thread_default (context);

  /* Another thread, so that the shutdown waits for the call and its
   * completion is queued for the context. */
  g_thread_join (g_thread_new ("shutdown", shutdown_thread, plugin));
  g_object_unref (plugin);
  g_main_context_unref (context);

  g_assert_true (context_gone);
  g_assert_null (weak);
}

/* ---- async load ---- */

typedef struct {
  RbPlugin *plugin;
  GError   *error;
  gboolean  done;
  GArray   *states;
  guint     ticks;
  gboolean  wrong_thread;
} LoadResult;

static void
load_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  LoadResult *load = data;

  load->plugin = rb_plugin_new_finish (res, &load->error);
  load->done = TRUE;
}

static gboolean
tick_cb (gpointer data)
{
  LoadResult *load = data;
  load->ticks++;
  return G_SOURCE_CONTINUE;
}

static void
test_async_load_slow_startup (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  LoadResult load = { 0 };
  guint tick;
  g_autofree char *reply = NULL;
  g_autoptr(GError) error = NULL;

  if (rb_test_skip_if_missing (kind))
    return;
  rb_plugin_config_set_data_json (config, "startup_delay_ms", "400", NULL);
  tick = g_timeout_add (10, tick_cb, &load);
  rb_plugin_new_async (rb_test_plugin_path (kind), config, G_PRIORITY_DEFAULT, NULL, load_cb, &load);
  /* The main loop keeps running while the plugin starts. */
  rb_test_wait_until (&load.done, 10000);
  g_source_remove (tick);
  g_assert_no_error (load.error);
  g_assert_nonnull (load.plugin);
  g_assert_cmpuint (load.ticks, >=, 5);
  g_assert_cmpint (rb_plugin_get_state (load.plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  reply = rb_plugin_call (load.plugin, "echo", "{\"message\":\"up\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"up\",\"length\":2}");
  g_clear_object (&load.plugin);
}

static void
test_async_load_errors (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  LoadResult missing = { 0 }, refused = { 0 };

  rb_plugin_new_async ("/nonexistent/plugin.so", NULL, G_PRIORITY_DEFAULT, NULL, load_cb, &missing);
  rb_test_wait_until (&missing.done, 5000);
  g_assert_null (missing.plugin);
  g_assert_error (missing.error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);

  rb_plugin_config_set_data_json (config, "fail_init", "true", NULL);
  rb_plugin_new_async (rb_test_plugin_path (RB_TEST_FIXTURE), config, G_PRIORITY_DEFAULT, NULL, load_cb, &refused);
  rb_test_wait_until (&refused.done, 5000);
  g_assert_null (refused.plugin);
  g_assert_error (refused.error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_clear_error (&missing.error);
  g_clear_error (&refused.error);
}

/* ---- signals on the owner context during async work ---- */

typedef struct {
  GThread *owner;
  guint    logs;
  guint    notifies;
  gboolean wrong_thread;
} SignalCheck;

static gboolean
any_log_cb (RbPlugin   *plugin,
            RbLogLevel  level,
            const char *target,
            const char *message,
            SignalCheck *check)
{
  if (g_thread_self () != check->owner)
    check->wrong_thread = TRUE;
  if (g_str_has_prefix (message, "async-log"))
    check->logs++;
  return FALSE;
}

static void
any_notify_cb (GObject     *object,
               GParamSpec  *pspec,
               SignalCheck *check)
{
  if (g_thread_self () != check->owner)
    check->wrong_thread = TRUE;
  check->notifies++;
}

static gpointer
shutdown_in_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true (rb_plugin_shutdown (data, NULL, &error));
  return NULL;
}

static void
test_signals_on_owner_context (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  SignalCheck check = { g_thread_self (), 0, 0, FALSE };
  Result result = { 0 };
  GThread *thread;

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  g_signal_connect (plugin, "log", G_CALLBACK (any_log_cb), &check);
  g_signal_connect (plugin, "notify::state", G_CALLBACK (any_notify_cb), &check);

  /* Logged on a pool worker (and, with thread=true, plugin threads). */
  rb_plugin_call_async (plugin, "log.emit", "{\"count\":3,\"level\":\"info\",\"message\":\"async-log\",\"thread\":false}",
                        NULL, result_cb, &result);
  rb_test_wait_until (&result.done, 5000);
  result_clear (&result);
  rb_plugin_call_async (plugin, "log.emit", "{\"count\":3,\"level\":\"info\",\"message\":\"async-log\",\"thread\":true}",
                        NULL, result_cb, &result);
  rb_test_wait_until (&result.done, 5000);
  result_clear (&result);
  rb_test_iterate_for (50);
  g_assert_cmpuint (check.logs, ==, 6);

  /* A shutdown from another thread notifies on the owner context. */
  thread = g_thread_new ("shutdown", shutdown_in_thread, plugin);
  g_thread_join (thread);
  /* The two start-up changes (held until the load returned) came with
   * the first iteration. */
  g_assert_cmpuint (check.notifies, ==, 2);
  rb_test_iterate_for (50);
  g_assert_cmpuint (check.notifies, ==, 4);
  g_assert_false (check.wrong_thread);
}

/* A property set from another thread is notified in the owner context. */
static gpointer
set_level_in_thread (gpointer data)
{
  rb_plugin_set_log_level (data, RB_LOG_LEVEL_WARN);
  return NULL;
}

static void
test_notify_from_other_thread (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  SignalCheck check = { g_thread_self (), 0, 0, FALSE };
  GThread *thread;

  g_signal_connect (plugin, "notify::log-level", G_CALLBACK (any_notify_cb), &check);
  thread = g_thread_new ("setter", set_level_in_thread, plugin);
  g_thread_join (thread);
  g_assert_cmpint (rb_plugin_get_log_level (plugin), ==, RB_LOG_LEVEL_WARN);
  g_assert_cmpuint (check.notifies, ==, 0);
  rb_test_iterate_for (20);
  g_assert_cmpuint (check.notifies, ==, 1);
  g_assert_false (check.wrong_thread);
  rb_plugin_set_log_level (plugin, RB_LOG_LEVEL_INFO);
  g_assert_cmpuint (check.notifies, ==, 2);
}

/* ---- json and raw async ---- */

static void
json_cb (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  JsonNode **out = data;
  g_autoptr(GError) error = NULL;

  *out = rb_plugin_call_json_finish (RB_PLUGIN (source), res, &error);
  g_assert_no_error (error);
}

static void
raw_cb (GObject      *source,
        GAsyncResult *res,
        gpointer      data)
{
  GBytes **out = data;
  g_autoptr(GError) error = NULL;

  *out = rb_plugin_call_raw_finish (RB_PLUGIN (source), res, &error);
  g_assert_no_error (error);
}

static void
test_json_and_raw_async (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(JsonNode) request = json_from_string ("{\"a\":2,\"b\":5}", NULL);
  JsonNode *reply = NULL;
  GBytes *raw = NULL;
  FixtureRawEchoRequest req = { .version = 1, .value = 50 };
  g_autoptr(GBytes) raw_request = g_bytes_new (&req, sizeof req);
  const FixtureRawEchoResponse *resp;

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  rb_plugin_call_json_async (plugin, "math.add", request, NULL, json_cb, &reply);
  rb_plugin_call_raw_async (plugin, 1, raw_request, NULL, raw_cb, &raw);
  while (reply == NULL || raw == NULL)
    g_main_context_iteration (NULL, TRUE);

  g_assert_cmpint (json_object_get_int_member (json_node_get_object (reply), "result"), ==, 7);
  resp = g_bytes_get_data (raw, NULL);
  g_assert_cmpuint (resp->value_times_two, ==, 100);
  json_node_unref (reply);
  g_bytes_unref (raw);
}

/* ---- call_json_async parses on the worker ---- */

static void
keep_result_cb (GObject      *source,
                GAsyncResult *res,
                gpointer      data)
{
  GAsyncResult **out = data;

  *out = g_object_ref (res);
}

static GAsyncResult *
wait_for_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static void
test_json_parsed_on_worker (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *message = g_strnfill (4096, 'x');
  g_autofree char *text = g_strdup_printf ("{\"message\":\"%s\"}", message);

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  request = json_from_string (text, NULL);

  /* What the task carries to the finish is the parsed tree, so the finish
   * (on the caller's main loop) parses nothing. Read straight from the
   * task: a reply still in text form (4 KiB, larger than a JsonNode) is not
   * a valid node, which json_node_get_node_type() refuses. */
  rb_plugin_call_json_async (plugin, "echo", request, NULL, keep_result_cb, &result);
  node = g_task_propagate_pointer (G_TASK (wait_for_result (&result)), &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  g_assert_cmpint (json_node_get_node_type (node), ==, JSON_NODE_OBJECT);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "message"), ==, message);
}

/* ---- every _finish checks its source tag ---- */

static void
test_finish_checks_source_tag (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autoptr(GAsyncResult) call_result = NULL;
  g_autoptr(GAsyncResult) shutdown_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;

  rb_plugin_call_async (plugin, "echo", "{\"message\":\"x\"}", NULL, keep_result_cb, &call_result);
  wait_for_result (&call_result);

  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*rb_plugin_shutdown_finish*source_tag*");
  g_assert_false (rb_plugin_shutdown_finish (plugin, call_result, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);

  rb_plugin_shutdown_async (plugin, NULL, keep_result_cb, &shutdown_result);
  wait_for_result (&shutdown_result);
  g_test_expect_message (G_LOG_DOMAIN, G_LOG_LEVEL_CRITICAL, "*rb_plugin_call_json_finish*source_tag*");
  g_assert_null (rb_plugin_call_json_finish (plugin, shutdown_result, &error));
  g_test_assert_expected_messages ();
  g_assert_no_error (error);
  g_assert_true (rb_plugin_shutdown_finish (plugin, shutdown_result, &error));
  g_assert_no_error (error);
  /* The refused finishes left the results alone. */
  reply = rb_plugin_call_finish (plugin, call_result, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"x\",\"length\":1}");
}

/* ---- an empty type tag, async ---- */

static void
test_empty_type_tag_async (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  rb_plugin_call_async (plugin, "", NULL, NULL, keep_result_cb, &result);
  g_assert_null (rb_plugin_call_finish (plugin, wait_for_result (&result), &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  rb_test_add_both ("/async/many-echoes", test_many_echoes);
  rb_test_add_both ("/async/threads-own-contexts", test_threads_own_contexts);
  rb_test_add_both ("/async/backpressure", test_backpressure);
  rb_test_add_both ("/async/shutdown-while-busy", test_shutdown_while_busy);
  rb_test_add_both ("/async/load-slow-startup", test_async_load_slow_startup);
  rb_test_add_both ("/async/signals-on-owner-context", test_signals_on_owner_context);
  rb_test_add_both ("/async/json-and-raw", test_json_and_raw_async);
  rb_test_add_both ("/async/json-parsed-on-worker", test_json_parsed_on_worker);
  g_test_add_func ("/async/finish-checks-source-tag", test_finish_checks_source_tag);
  g_test_add_func ("/async/empty-type-tag", test_empty_type_tag_async);
  g_test_add_func ("/async/cancel-before-start", test_cancel_before_start);
  g_test_add_func ("/async/cancel-while-running", test_cancel_while_running);
  g_test_add_func ("/async/unref-with-calls-in-flight", test_unref_with_calls_in_flight);
  g_test_add_func ("/async/context-dropped-with-completion-queued",
                   test_context_dropped_with_completion_queued);
  g_test_add_func ("/async/load-errors", test_async_load_errors);
  g_test_add_func ("/async/notify-from-other-thread", test_notify_from_other_thread);
  g_test_add_func ("/async/shutdown-fails-queued-calls", test_shutdown_fails_queued_calls);
  g_test_add_func ("/async/shutdown-holds-application", test_shutdown_holds_application);

  return g_test_run ();
}
