/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The log signal: delivery context, attribution, level filter, default
 * handler, bounded queue.
 */
#include <string.h>

#include "rb-test-util.h"

typedef struct {
  GLogLevelFlags level;
  char          *message;
  char          *priority;
  char          *target;
} Captured;

static GMutex captured_lock;
static GPtrArray *captured; /* Captured *, RustBridge domain only */

static void
captured_free (gpointer data)
{
  Captured *c = data;
  g_free (c->message);
  g_free (c->priority);
  g_free (c->target);
  g_free (c);
}

static const char *
field (const GLogField *fields,
       gsize            n_fields,
       const char      *key)
{
  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, key) == 0)
      return fields[i].value;
  return NULL;
}

static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  if (g_strcmp0 (field (fields, n_fields, "GLIB_DOMAIN"), "RustBridge") == 0)
    {
      Captured *c = g_new0 (Captured, 1);
      c->level = log_level & G_LOG_LEVEL_MASK;
      c->message = g_strdup (field (fields, n_fields, "MESSAGE"));
      c->priority = g_strdup (field (fields, n_fields, "PRIORITY"));
      c->target = g_strdup (field (fields, n_fields, "RB_PLUGIN_TARGET"));
      g_mutex_lock (&captured_lock);
      g_ptr_array_add (captured, c);
      g_mutex_unlock (&captured_lock);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static void
captured_clear (void)
{
  g_mutex_lock (&captured_lock);
  g_ptr_array_set_size (captured, 0);
  g_mutex_unlock (&captured_lock);
}

typedef struct {
  GThread   *main_thread;
  GPtrArray *messages;   /* char * */
  GPtrArray *targets;
  GArray    *levels;
  gboolean   wrong_thread;
  gboolean   stop;
  gboolean   take;
} LogLog;

static gboolean
log_cb (RbPlugin   *plugin,
        RbLogLevel  level,
        const char *target,
        const char *message,
        LogLog     *log)
{
  if (g_thread_self () != log->main_thread)
    log->wrong_thread = TRUE;
  g_ptr_array_add (log->messages, g_strdup (message));
  g_ptr_array_add (log->targets, g_strdup (target));
  g_array_append_val (log->levels, level);
  if (log->stop)
    g_signal_stop_emission_by_name (plugin, "log");
  return log->take;
}

static void
log_init (LogLog *log)
{
  log->main_thread = g_thread_self ();
  log->messages = g_ptr_array_new_with_free_func (g_free);
  log->targets = g_ptr_array_new_with_free_func (g_free);
  log->levels = g_array_new (FALSE, FALSE, sizeof (RbLogLevel));
  log->wrong_thread = FALSE;
  log->stop = FALSE;
  log->take = FALSE;
}

static void
log_clear (LogLog *log)
{
  g_ptr_array_unref (log->messages);
  g_ptr_array_unref (log->targets);
  g_array_unref (log->levels);
}

static guint
count_with_prefix (LogLog     *log,
                   const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < log->messages->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (log->messages, i), prefix))
      n++;
  return n;
}

static void
emit (RbPlugin   *plugin,
      int         count,
      const char *level,
      const char *text,
      gboolean    thread)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *request = g_strdup_printf ("{\"count\":%d,\"level\":\"%s\",\"message\":\"%s\",\"thread\":%s}",
                                              count, level, text, thread ? "true" : "false");
  g_autofree char *reply = rb_plugin_call (plugin, "log.emit", request, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (reply);
}

static void
wait_for_prefix (LogLog     *log,
                 const char *prefix,
                 guint       count)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (count_with_prefix (log, prefix) < count && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
  /* Let anything extra arrive too. */
  rb_test_iterate_for (50);
}

static void
test_log_delivery (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  LogLog log;

  if (rb_test_skip_if_missing (kind))
    return;
  log_init (&log);
  plugin = rb_test_load (kind, NULL);
  g_signal_connect (plugin, "log", G_CALLBACK (log_cb), &log);

  emit (plugin, 5, "info", "same-thread", FALSE);
  /* Never emitted inside the call: only once the main context runs. */
  g_assert_cmpuint (count_with_prefix (&log, "same-thread"), ==, 0);
  wait_for_prefix (&log, "same-thread", 5);
  g_assert_cmpuint (count_with_prefix (&log, "same-thread"), ==, 5);

  emit (plugin, 7, "warn", "other-thread", TRUE);
  wait_for_prefix (&log, "other-thread", 7);
  g_assert_cmpuint (count_with_prefix (&log, "other-thread"), ==, 7);
  g_assert_false (log.wrong_thread);

  for (guint i = 0; i < log.messages->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (log.messages, i), "other-thread"))
      {
        g_assert_cmpint (g_array_index (log.levels, RbLogLevel, i), ==, RB_LOG_LEVEL_WARN);
        g_assert_cmpstr (g_ptr_array_index (log.targets, i), ==,
                         kind == RB_TEST_RUST ? "rbtest_plugin" : "fixture_plugin");
      }
  g_clear_object (&plugin);
  log_clear (&log);
}

static void
test_log_level_filter (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  LogLog log;

  if (rb_test_skip_if_missing (kind))
    return;
  log_init (&log);
  plugin = rb_test_load (kind, NULL);
  g_signal_connect (plugin, "log", G_CALLBACK (log_cb), &log);

  g_object_set (plugin, "log-level", RB_LOG_LEVEL_WARN, NULL);
  emit (plugin, 3, "info", "filtered", FALSE);
  emit (plugin, 2, "error", "passed", FALSE);
  wait_for_prefix (&log, "passed", 2);
  g_assert_cmpuint (count_with_prefix (&log, "filtered"), ==, 0);
  g_assert_cmpuint (count_with_prefix (&log, "passed"), ==, 2);

  rb_plugin_set_log_level (plugin, RB_LOG_LEVEL_TRACE);
  emit (plugin, 3, "debug", "now-shown", FALSE);
  wait_for_prefix (&log, "now-shown", 3);
  g_assert_cmpuint (count_with_prefix (&log, "now-shown"), ==, 3);
  /* Restore the library-wide default for later tests. */
  rb_plugin_set_log_level (plugin, RB_LOG_LEVEL_INFO);
  g_clear_object (&plugin);
  log_clear (&log);
}

static void
test_default_handler (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  LogLog log;
  gboolean found = FALSE;

  log_init (&log);
  captured_clear ();
  g_signal_connect (plugin, "log", G_CALLBACK (log_cb), &log);

  /* An error from the plugin must not abort a GTest host. */
  emit (plugin, 1, "error", "plugin-error", FALSE);
  wait_for_prefix (&log, "plugin-error", 1);

  g_mutex_lock (&captured_lock);
  for (guint i = 0; i < captured->len; i++)
    {
      Captured *c = g_ptr_array_index (captured, i);
      if (g_str_has_prefix (c->message, "plugin-error"))
        {
          found = TRUE;
          g_assert_cmpint (c->level, ==, G_LOG_LEVEL_MESSAGE);
          g_assert_cmpstr (c->priority, ==, "3");
          g_assert_cmpstr (c->target, ==, "fixture_plugin");
        }
    }
  g_mutex_unlock (&captured_lock);
  g_assert_true (found);

  /* Stopping the emission silences the default handler. */
  captured_clear ();
  log.stop = TRUE;
  emit (plugin, 2, "warn", "silenced", FALSE);
  wait_for_prefix (&log, "silenced", 2);
  g_assert_cmpuint (count_with_prefix (&log, "silenced"), ==, 2);
  g_mutex_lock (&captured_lock);
  g_assert_cmpuint (captured->len, ==, 0);
  g_mutex_unlock (&captured_lock);
  g_clear_object (&plugin);
  log_clear (&log);
}

/* A handler that returns TRUE takes the message: GLib's log never sees
 * it, and handlers connected after the default handler neither. One
 * that returns FALSE passes it on to both. */
static void
test_handler_takes_message (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  LogLog log, after;

  log_init (&log);
  log_init (&after);
  rb_test_iterate_for (10);
  captured_clear ();
  g_signal_connect (plugin, "log", G_CALLBACK (log_cb), &log);
  g_signal_connect_after (plugin, "log", G_CALLBACK (log_cb), &after);

  log.take = TRUE;
  emit (plugin, 3, "error", "taken", FALSE);
  wait_for_prefix (&log, "taken", 3);
  g_assert_cmpuint (count_with_prefix (&log, "taken"), ==, 3);
  g_assert_cmpuint (count_with_prefix (&after, "taken"), ==, 0);
  g_mutex_lock (&captured_lock);
  g_assert_cmpuint (captured->len, ==, 0);
  g_mutex_unlock (&captured_lock);

  log.take = FALSE;
  emit (plugin, 2, "warn", "passed-on", FALSE);
  wait_for_prefix (&log, "passed-on", 2);
  g_assert_cmpuint (count_with_prefix (&after, "passed-on"), ==, 2);
  g_mutex_lock (&captured_lock);
  g_assert_cmpuint (captured->len, ==, 2);
  g_assert_cmpstr (((Captured *) g_ptr_array_index (captured, 0))->message, ==, "passed-on 0");
  g_mutex_unlock (&captured_lock);

  g_clear_object (&plugin);
  log_clear (&log);
  log_clear (&after);
}

/* ---- start-up events ---- */

/* Logs and state changes in one list, in the order they arrive. */
static gboolean
event_log_cb (RbPlugin   *plugin,
              RbLogLevel  level,
              const char *target,
              const char *message,
              GPtrArray  *events)
{
  g_ptr_array_add (events, g_strdup_printf ("log %s", message));
  return TRUE;
}

static void
event_state_cb (RbPlugin         *plugin,
                RbLifecycleState  old_state,
                RbLifecycleState  new_state,
                GPtrArray        *events)
{
  g_ptr_array_add (events, g_strdup_printf ("state %d>%d", old_state, new_state));
}

static void
connect_events (RbPlugin  *plugin,
                GPtrArray *events)
{
  g_signal_connect (plugin, "log", G_CALLBACK (event_log_cb), events);
  g_signal_connect (plugin, "state-changed", G_CALLBACK (event_state_cb), events);
}

static void
assert_start_up_events (RbTestPluginKind  kind,
                        GPtrArray        *events)
{
  const char *started = kind == RB_TEST_RUST ? "log rust plugin started" : "log fixture plugin started";
  g_autofree char *joined = NULL;

  g_ptr_array_add (events, NULL);
  joined = g_strjoinv (", ", (char **) events->pdata);
  g_ptr_array_remove_index (events, events->len - 1);
  g_test_message ("events: %s", joined);
  g_assert_cmpuint (events->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (events, 0), ==, "state 0>1");
  g_assert_cmpstr (g_ptr_array_index (events, 1), ==, started);
  g_assert_cmpstr (g_ptr_array_index (events, 2), ==, "state 1>2");
}

/* Connected right after a sync load returns: every start-up event
 * arrives, in order, once the context runs. */
static void
test_start_up_events_sync (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  connect_events (plugin, events);
  g_assert_cmpuint (events->len, ==, 0);
  rb_test_iterate_for (50);
  assert_start_up_events (kind, events);
  g_signal_handlers_disconnect_by_data (plugin, events);
}

typedef struct {
  RbPlugin  *plugin;
  GPtrArray *events;
  gboolean   done;
} AsyncLoad;

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  AsyncLoad *load = data;
  g_autoptr(GError) error = NULL;

  load->plugin = rb_plugin_new_finish (result, &error);
  g_assert_no_error (error);
  /* Connected in the callback: nothing was emitted before. */
  connect_events (load->plugin, load->events);
  load->done = TRUE;
}

/* Connected in the async load's callback: the same. */
static void
test_start_up_events_async (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  AsyncLoad load = { NULL, events, FALSE };

  if (rb_test_skip_if_missing (kind))
    return;
  rb_plugin_new_async (rb_test_plugin_path (kind), NULL, G_PRIORITY_DEFAULT, NULL, loaded_cb, &load);
  rb_test_wait_until (&load.done, 10000);
  rb_test_iterate_for (50);
  assert_start_up_events (kind, events);
  g_signal_handlers_disconnect_by_data (load.plugin, events);
  g_clear_object (&load.plugin);
}

/* Dropped before its context ran: the held events are delivered by
 * dispose, before the shutdown's own changes. */
static void
test_start_up_events_dispose (void)
{
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func (g_free);
  RbPlugin *plugin = rb_test_load (RB_TEST_FIXTURE, NULL);

  connect_events (plugin, events);
  rb_test_assert_finalized (plugin);
  g_assert_cmpuint (events->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (events, 2), ==, "state 1>2");
  g_assert_cmpstr (g_ptr_array_index (events, 3), ==, "state 2>3");
  g_assert_cmpstr (g_ptr_array_index (events, 4), ==, "state 3>4");
}

/* Two instances of one file: a message logged on the calling thread goes
 * to the instance being called; one from a plugin thread to both. */
static void
test_attribution_same_file (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) a = NULL;
  g_autoptr(RbPlugin) b = NULL;
  LogLog la, lb;

  /* library-wide in-process behaviour (doc/isolation.md) */
  if (rb_test_skip_if_isolated ())
    return;

  if (rb_test_skip_if_missing (kind))
    return;
  log_init (&la);
  log_init (&lb);
  a = rb_test_load (kind, NULL);
  b = rb_test_load (kind, NULL);
  g_signal_connect (a, "log", G_CALLBACK (log_cb), &la);
  g_signal_connect (b, "log", G_CALLBACK (log_cb), &lb);

  emit (a, 3, "info", "for-a", FALSE);
  emit (b, 4, "info", "for-b", FALSE);
  wait_for_prefix (&lb, "for-b", 4);
  g_assert_cmpuint (count_with_prefix (&la, "for-a"), ==, 3);
  g_assert_cmpuint (count_with_prefix (&la, "for-b"), ==, 0);
  g_assert_cmpuint (count_with_prefix (&lb, "for-b"), ==, 4);
  g_assert_cmpuint (count_with_prefix (&lb, "for-a"), ==, 0);

  emit (a, 2, "info", "from-thread", TRUE);
  wait_for_prefix (&lb, "from-thread", 2);
  g_assert_cmpuint (count_with_prefix (&la, "from-thread"), ==, 2);
  g_assert_cmpuint (count_with_prefix (&lb, "from-thread"), ==, 2);

  g_clear_object (&a);
  g_clear_object (&b);
  log_clear (&la);
  log_clear (&lb);
}

static void
test_attribution_two_files (void)
{
  g_autoptr(RbPlugin) fixture = NULL;
  g_autoptr(RbPlugin) rust = NULL;
  LogLog lf, lr;

  if (rb_test_skip_if_missing (RB_TEST_RUST))
    return;
  log_init (&lf);
  log_init (&lr);
  fixture = rb_test_load (RB_TEST_FIXTURE, NULL);
  rust = rb_test_load (RB_TEST_RUST, NULL);
  g_signal_connect (fixture, "log", G_CALLBACK (log_cb), &lf);
  g_signal_connect (rust, "log", G_CALLBACK (log_cb), &lr);

  emit (fixture, 3, "info", "fx", TRUE);
  emit (rust, 4, "info", "rs", TRUE);
  wait_for_prefix (&lr, "rs", 4);
  wait_for_prefix (&lf, "fx", 3);
  g_assert_cmpuint (count_with_prefix (&lf, "fx"), ==, 3);
  g_assert_cmpuint (count_with_prefix (&lf, "rs"), ==, 0);
  g_assert_cmpuint (count_with_prefix (&lr, "rs"), ==, 4);
  g_assert_cmpuint (count_with_prefix (&lr, "fx"), ==, 0);

  g_clear_object (&fixture);
  g_clear_object (&rust);
  log_clear (&lf);
  log_clear (&lr);
}

static void
test_log_storm_bounded (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  LogLog log;
  guint delivered;
  guint64 dropped;

  if (rb_test_skip_if_missing (kind))
    return;
  /* An isolated plugin's logs arrive on their own socket, not before the
   * call's reply: some reach the queue while the context already drains
   * it, so more than the bound may be delivered in total. */
  if (rb_test_skip_if_isolated ())
    return;
  log_init (&log);
  plugin = rb_test_load (kind, NULL);
  g_signal_connect (plugin, "log", G_CALLBACK (log_cb), &log);

  /* 50,000 messages from plugin threads while the main context is not
   * running: at most 4096 are queued, the rest dropped and counted. */
  emit (plugin, 50000, "info", "storm", TRUE);
  rb_test_iterate_for (200);
  delivered = count_with_prefix (&log, "storm");
  dropped = rb_plugin_get_dropped_log_count (plugin);
  g_assert_cmpuint (delivered, <=, 4096);
  g_assert_cmpuint (delivered + dropped, ==, 50000);
  g_assert_cmpuint (dropped, >=, 50000 - 4096);
  g_clear_object (&plugin);
  log_clear (&log);
}

/* A plugin dropped with messages still queued: they are discarded, not
 * delivered to a finalized object. */
static void
test_log_after_finalize (void)
{
  RbPlugin *plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  LogLog log;

  /* Past start-up: messages are queued for the context, not held for
   * the creator (held ones are delivered by dispose). */
  rb_test_iterate_for (10);
  log_init (&log);
  g_signal_connect (plugin, "log", G_CALLBACK (log_cb), &log);
  emit (plugin, 10, "info", "orphan", TRUE);
  rb_test_assert_finalized (plugin);
  rb_test_iterate_for (50);
  g_assert_cmpuint (count_with_prefix (&log, "orphan"), ==, 0);
  log_clear (&log);
}

int
main (int   argc,
      char *argv[])
{
  captured = g_ptr_array_new_with_free_func (captured_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);
  rb_test_init (&argc, &argv);

  rb_test_add_both ("/logging/delivery", test_log_delivery);
  rb_test_add_both ("/logging/level-filter", test_log_level_filter);
  rb_test_add_both ("/logging/attribution-same-file", test_attribution_same_file);
  rb_test_add_both ("/logging/storm-bounded", test_log_storm_bounded);
  g_test_add_func ("/logging/default-handler", test_default_handler);
  g_test_add_func ("/logging/handler-takes-message", test_handler_takes_message);
  rb_test_add_both ("/logging/start-up-events/sync", test_start_up_events_sync);
  rb_test_add_both ("/logging/start-up-events/async", test_start_up_events_async);
  g_test_add_func ("/logging/start-up-events/dispose", test_start_up_events_dispose);
  g_test_add_func ("/logging/attribution-two-files", test_attribution_two_files);
  g_test_add_func ("/logging/after-finalize", test_log_after_finalize);

  return g_test_run ();
}
