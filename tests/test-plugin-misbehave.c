/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A hostile plugin (tests/plugins/misbehave-plugin.c) against RbPlugin:
 * every misbehaviour ends in a clear GError (or a documented outcome),
 * nothing crashes, nothing leaks, nothing logs a warning (fatal here).
 * Also: NULL for every GError **, and resources tied to the owner context.
 */
#include <string.h>

#include "rb-test-util.h"

/* The host's limits (doc/robustness.md). */
#define LOG_MESSAGE_CAP   (64 * 1024)
#define LOG_QUEUE_BYTES   (8 * 1024 * 1024)
#define JSON_MAX_DEPTH    512

static RbPlugin *
load_misbehave (RbPluginConfig *config)
{
  g_autoptr(GError) error = NULL;
  RbPlugin *plugin = rb_plugin_new (rb_test_misbehave_path (), config, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  return plugin;
}

static guint64
outstanding (void)
{
  return rb_test_misbehave_counter ("misbehave_outstanding_buffers");
}

static guint64
stale_uses (void)
{
  return rb_test_misbehave_counter ("misbehave_stale_handle_uses");
}

static void
assert_call_error (RbPlugin   *plugin,
                   const char *tag,
                   const char *request,
                   int         code,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call (plugin, tag, request, NULL, &error);

  g_assert_null (reply);
  g_assert_error (error, RB_PLUGIN_ERROR, code);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("%s: “%s” lacks “%s”", tag, error->message, needle);
}

static void
assert_raw_error (RbPlugin   *plugin,
                  guint32     id,
                  int         code,
                  const char *needle)
{
  g_autoptr(GBytes) request = g_bytes_new_static ("abcd", 4);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, id, request, NULL, &error);

  g_assert_null (reply);
  g_assert_error (error, RB_PLUGIN_ERROR, code);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("raw %u: “%s” lacks “%s”", id, error->message, needle);
}

/* ---- responses ---- */

static void
test_bad_buffers (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  guint64 before = outstanding ();

  /* len > capacity: refused, never read past the allocation (ASan and
   * valgrind check that), and still freed with the plugin's function. */
  assert_call_error (plugin, "len.gt.capacity", NULL, RB_PLUGIN_ERROR_PROTOCOL, "capacity");
  assert_call_error (plugin, "null.data", NULL, RB_PLUGIN_ERROR_PROTOCOL, "NULL");
  assert_call_error (plugin, "null.data.error", NULL, RB_PLUGIN_ERROR_PROTOCOL, "NULL");

  assert_raw_error (plugin, 2, RB_PLUGIN_ERROR_PROTOCOL, "capacity");
  assert_raw_error (plugin, 3, RB_PLUGIN_ERROR_PROTOCOL, "NULL");
  assert_raw_error (plugin, 4, RB_PLUGIN_ERROR_PROTOCOL, "NULL");
  assert_raw_error (plugin, 7, RB_PLUGIN_ERROR_PROTOCOL, "capacity");
  g_assert_cmpuint (outstanding (), ==, before);

  /* The plugin is still usable. */
  {
    g_autoptr(GBytes) request = g_bytes_new_static ("abcd", 4);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (g_bytes_get_size (reply), ==, 16);
  }
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
}

static void
test_bad_codes_and_text (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  guint64 before = outstanding ();

  assert_call_error (plugin, "unknown.code", NULL, RB_PLUGIN_ERROR_PROTOCOL, "4242");
  assert_call_error (plugin, "unknown.code.text", NULL, RB_PLUGIN_ERROR_PROTOCOL, "4242");
  assert_call_error (plugin, "utf8.payload", NULL, RB_PLUGIN_ERROR_PROTOCOL, NULL);
  assert_call_error (plugin, "utf8.error.text", NULL, RB_PLUGIN_ERROR_HANDLER, "bad ");
  assert_call_error (plugin, "utf8.error.envelope", NULL, RB_PLUGIN_ERROR_HANDLER, "bad ");
  assert_raw_error (plugin, 5, RB_PLUGIN_ERROR_HANDLER, "bad ");
  assert_raw_error (plugin, 6, RB_PLUGIN_ERROR_PROTOCOL, "4242");
  g_assert_cmpuint (outstanding (), ==, before);
}

static void
deep_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  GError **error = data;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, error);

  g_assert_null (reply);
  g_assert_nonnull (*error);
}

static void
test_deep_nesting (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  g_autofree char *depth = g_strdup_printf ("%d", JSON_MAX_DEPTH);
  static const char * const tags[] = { "deep.success", "deep.error", "deep.error.message" };
  guint64 before = outstanding ();

  /* 200,000 levels: refused by the depth-limited scanner before json-glib
   * (which has no limit and would overflow the stack) sees them. */
  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    assert_call_error (plugin, tags[i], NULL, RB_PLUGIN_ERROR_PROTOCOL, depth);

  /* The same on a pool thread (smaller stack than the main thread). */
  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      g_autoptr(GError) error = NULL;

      rb_plugin_call_async (plugin, tags[i], NULL, NULL, deep_done_cb, &error);
      while (error == NULL)
        g_main_context_iteration (NULL, TRUE);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
      g_assert_nonnull (strstr (error->message, depth));
    }

  /* At the limit itself the payload is accepted, as text and as a tree. */
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *reply = rb_plugin_call (plugin, "deep.payload.512", NULL, NULL, &error);
    g_autoptr(JsonNode) node = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (strlen (reply), ==, 2 * JSON_MAX_DEPTH);
    node = rb_plugin_call_json (plugin, "deep.payload.512", NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  }
  g_assert_cmpuint (outstanding (), ==, before);
}

static void
test_huge_payload (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  g_autoptr(GError) error = NULL;
  /* 200 MB (20 MB under valgrind): documented outcome, delivered whole
   * (the host adds no size limit of its own) and freed. */
  gsize size = rb_test_scale (10) * (gsize) 20 * 1000 * 1000;
  g_autofree char *request = g_strdup_printf ("{\"size\":%" G_GSIZE_FORMAT "}", size);
  g_autofree char *reply = NULL;
  guint64 before = outstanding ();

  reply = rb_plugin_call (plugin, "huge", request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (reply), ==, size + 2);
  g_assert_cmpint (reply[0], ==, '"');
  g_assert_cmpint (reply[size], ==, 'x');
  g_assert_cmpuint (outstanding (), ==, before);
}

/* ---- NULL for GError ** everywhere ---- */

typedef struct {
  GAsyncResult *result;
} AsyncWait;

static void
keep_result_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  AsyncWait *wait = data;
  wait->result = g_object_ref (result);
}

static GAsyncResult *
wait_result (AsyncWait *wait)
{
  while (wait->result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return wait->result;
}

static void
test_null_error (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  g_autoptr(GBytes) request = g_bytes_new_static ("abcd", 4);
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  static const char * const tags[] = {
    "internal", "len.gt.capacity", "null.data", "unknown.code", "utf8.error.text",
    "deep.error", "deep.success", "utf8.payload", "nope",
  };
  static const guint32 raw_ids[] = { 2, 3, 4, 5, 6, 7, 99 };
  guint64 before = outstanding ();

  g_cancellable_cancel (cancelled);

  /* Loading. */
  g_assert_null (rb_plugin_new ("/nonexistent/libnothing.so", NULL, NULL, NULL));
  g_assert_null (rb_plugin_new (rb_test_misbehave_path (), NULL, cancelled, NULL));
  {
    AsyncWait wait = { NULL };
    rb_plugin_new_async ("/nonexistent/libnothing.so", NULL, G_PRIORITY_DEFAULT, NULL, keep_result_cb, &wait);
    g_assert_null (rb_plugin_new_finish (wait_result (&wait), NULL));
    g_object_unref (wait.result);
  }

  /* Every failing form of every call, sync and async. */
  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      AsyncWait a = { NULL }, b = { NULL };

      g_assert_null (rb_plugin_call (plugin, tags[i], NULL, NULL, NULL));
      g_assert_null (rb_plugin_call_json (plugin, tags[i], NULL, NULL, NULL));
      rb_plugin_call_async (plugin, tags[i], NULL, NULL, keep_result_cb, &a);
      g_assert_null (rb_plugin_call_finish (plugin, wait_result (&a), NULL));
      rb_plugin_call_json_async (plugin, tags[i], NULL, NULL, keep_result_cb, &b);
      g_assert_null (rb_plugin_call_json_finish (plugin, wait_result (&b), NULL));
      g_object_unref (a.result);
      g_object_unref (b.result);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (raw_ids); i++)
    {
      AsyncWait a = { NULL };

      g_assert_null (rb_plugin_call_raw (plugin, raw_ids[i], request, NULL, NULL));
      rb_plugin_call_raw_async (plugin, raw_ids[i], request, NULL, keep_result_cb, &a);
      g_assert_null (rb_plugin_call_raw_finish (plugin, wait_result (&a), NULL));
      g_object_unref (a.result);
    }
  /* Bad arguments that are errors, not programmer errors. */
  g_assert_null (rb_plugin_call (plugin, "", NULL, NULL, NULL));
  g_assert_null (rb_plugin_call (plugin, "\xff", NULL, NULL, NULL));
  g_assert_null (rb_plugin_call (plugin, "ok", NULL, cancelled, NULL));
  g_assert_null (rb_plugin_call_json (plugin, "ok", NULL, cancelled, NULL));
  g_assert_null (rb_plugin_call_raw (plugin, 1, request, cancelled, NULL));
  g_assert_false (rb_plugin_shutdown (plugin, cancelled, NULL));
  {
    AsyncWait wait = { NULL };
    rb_plugin_shutdown_async (plugin, cancelled, keep_result_cb, &wait);
    g_assert_false (rb_plugin_shutdown_finish (plugin, wait_result (&wait), NULL));
    g_object_unref (wait.result);
  }

  /* Not active any more. */
  g_assert_true (rb_plugin_shutdown (plugin, NULL, NULL));
  g_assert_null (rb_plugin_call (plugin, "ok", NULL, NULL, NULL));
  g_assert_null (rb_plugin_call_json (plugin, "ok", NULL, NULL, NULL));
  g_assert_null (rb_plugin_call_raw (plugin, 1, request, NULL, NULL));
  {
    AsyncWait a = { NULL };
    rb_plugin_call_async (plugin, "ok", NULL, NULL, keep_result_cb, &a);
    g_assert_null (rb_plugin_call_finish (plugin, wait_result (&a), NULL));
    g_object_unref (a.result);
  }
  g_assert_cmpuint (outstanding (), ==, before);
}

/* ---- lifecycle ---- */

static void
test_duplicate_handle (void)
{
  g_autoptr(RbPlugin) first = load_misbehave (NULL);
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  guint64 shutdowns = rb_test_misbehave_counter ("misbehave_shutdowns");
  guint64 stale = stale_uses ();

  g_assert_true (rb_plugin_config_set_data_json (config, "duplicate_handle", "true", NULL));
  second = rb_plugin_new (rb_test_misbehave_path (), config, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "handle"));
  g_assert_nonnull (strstr (error->message, rb_test_misbehave_path ()));

  g_clear_error (&error);

  /* The first instance did not notice. */
  reply = rb_plugin_call (first, "ok", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (rb_plugin_shutdown (first, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rb_test_misbehave_counter ("misbehave_shutdowns"), ==, shutdowns + 1);
  g_assert_cmpuint (stale_uses (), ==, stale);

  /* Once the first is gone the plugin may hand the same address out again. */
  g_clear_object (&first);
  first = load_misbehave (NULL);
}

typedef struct {
  RbPlugin *plugin;
  GError   *error;
  char     *reply;
} HangCall;

static gpointer
hang_thread (gpointer data)
{
  HangCall *call = data;

  call->reply = rb_plugin_call (call->plugin, "hang", NULL, NULL, &call->error);
  return NULL;
}

static void
wait_hanging (guint64 n)
{
  gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (rb_test_misbehave_counter ("misbehave_hanging") < n)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, end);
      g_usleep (1000);
    }
}

static void
test_hang_until_shutdown (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  HangCall call = { NULL, NULL, NULL };
  GThread *thread;
  AsyncWait wait = { NULL };
  guint64 stale = stale_uses ();
  guint64 before = outstanding ();

  g_object_set (config, "shutdown-timeout-ms", 100, NULL);
  plugin = load_misbehave (config);
  call.plugin = plugin;

  /* One sync call and one async call hang in the plugin; the shutdown
   * times out waiting for them, then the plugin's shutdown ends them with
   * an internal error. Neither may lead the host to ask the plugin about
   * a handle that is gone (or NULL). */
  thread = g_thread_new ("hang", hang_thread, &call);
  rb_plugin_call_async (plugin, "hang", NULL, NULL, keep_result_cb, &wait);
  wait_hanging (2);
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_thread_join (thread);
  g_assert_null (call.reply);
  g_assert_error (call.error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL);
  g_assert_null (rb_plugin_call_finish (plugin, wait_result (&wait), &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL);
  g_object_unref (wait.result);
  g_clear_error (&call.error);

  g_assert_cmpuint (stale_uses (), ==, stale);
  g_assert_cmpuint (outstanding (), ==, before);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
}

static void
test_hang_unblocked (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  AsyncWait wait = { NULL };

  rb_plugin_call_async (plugin, "hang", NULL, NULL, keep_result_cb, &wait);
  wait_hanging (1);
  reply = rb_plugin_call (plugin, "unblock", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (rb_plugin_call_finish (plugin, wait_result (&wait), &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL);
  g_object_unref (wait.result);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
}

/* A queued call keeps its own reference to the cancellable: the caller
 * may drop its own as soon as the call completed as cancelled, while the
 * call still waits for a worker (valgrind, with G_SLICE=always-malloc,
 * sees the read of a freed object otherwise). */
static void
test_cancel_queued_drop_cancellable (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  GCancellable *cancellable = g_cancellable_new ();
  GCancellable *weak = cancellable;
  AsyncWait busy = { NULL }, cancelled = { NULL };

  g_object_set (config, "worker-threads", 1, "max-concurrent-ops", 1, NULL);
  plugin = load_misbehave (config);

  /* The only worker hangs, so the next call waits in the queue. */
  rb_plugin_call_async (plugin, "hang", NULL, NULL, keep_result_cb, &busy);
  wait_hanging (1);
  rb_plugin_call_async (plugin, "ok", NULL, cancellable, keep_result_cb, &cancelled);
  g_cancellable_cancel (cancellable);
  g_assert_null (rb_plugin_call_finish (plugin, wait_result (&cancelled), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_clear_object (&cancelled.result);

  g_object_add_weak_pointer (G_OBJECT (cancellable), (gpointer *) &weak);
  g_object_unref (cancellable);
  /* Still held by the queued call. */
  g_assert_nonnull (weak);

  /* Let the worker go on: it takes the cancelled call and drops it. */
  reply = rb_plugin_call (plugin, "unblock", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (rb_plugin_call_finish (plugin, wait_result (&busy), NULL));
  g_clear_object (&busy.result);
  {
    gint64 end = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;
    while (weak != NULL && g_get_monotonic_time () < end)
      g_main_context_iteration (NULL, FALSE);
  }
  g_assert_null (weak);
}

/* ---- logging ---- */

typedef struct {
  GThread   *owner;
  gboolean   wrong_thread;
  guint      count;
  guint      truncated;
  gsize      bytes;
  gsize      longest;
  GPtrArray *messages;
  GPtrArray *targets;
  guint      notified;
} LogTally;

static gboolean
log_tally_cb (RbPlugin   *plugin,
              RbLogLevel  level,
              const char *target,
              const char *message,
              LogTally   *tally)
{
  gsize len = strlen (message);

  if (g_thread_self () != tally->owner)
    tally->wrong_thread = TRUE;
  g_assert_true (g_utf8_validate (message, -1, NULL));
  g_assert_true (g_utf8_validate (target, -1, NULL));
  tally->count++;
  tally->bytes += len;
  tally->longest = MAX (tally->longest, len);
  if (strstr (message, "[truncated") != NULL)
    tally->truncated++;
  if (tally->messages->len < 16)
    {
      g_ptr_array_add (tally->messages, g_strdup (message));
      g_ptr_array_add (tally->targets, g_strdup (target));
    }
  return TRUE;
}

static void
notify_dropped_cb (GObject    *object,
                   GParamSpec *pspec,
                   LogTally   *tally)
{
  if (g_thread_self () != tally->owner)
    tally->wrong_thread = TRUE;
  tally->notified++;
}

static void
log_tally_init (LogTally *tally,
                RbPlugin *plugin)
{
  memset (tally, 0, sizeof *tally);
  tally->owner = g_thread_self ();
  tally->messages = g_ptr_array_new_with_free_func (g_free);
  tally->targets = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (plugin, "log", G_CALLBACK (log_tally_cb), tally);
  g_signal_connect (plugin, "notify::dropped-log-count", G_CALLBACK (notify_dropped_cb), tally);
}

static void
log_tally_clear (LogTally *tally)
{
  g_ptr_array_unref (tally->messages);
  g_ptr_array_unref (tally->targets);
}

static void
call_ok (RbPlugin   *plugin,
         const char *tag,
         const char *request)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call (plugin, tag, request, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (reply);
}

static void
test_log_null_and_invalid (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  LogTally tally;

  log_tally_init (&tally, plugin);
  call_ok (plugin, "log.null", NULL);
  call_ok (plugin, "log.utf8", NULL);
  rb_test_iterate_for (50);
  g_assert_cmpuint (tally.count, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (tally.messages, 0), ==, "");
  g_assert_cmpstr (g_ptr_array_index (tally.targets, 0), ==, "misbehave_null");
  g_assert_cmpstr (g_ptr_array_index (tally.messages, 1), ==, "null target");
  g_assert_cmpstr (g_ptr_array_index (tally.targets, 1), ==, "");
  g_assert_cmpstr (g_ptr_array_index (tally.messages, 2), ==, "");
  g_assert_true (g_str_has_prefix (g_ptr_array_index (tally.messages, 3), "bad "));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (tally.targets, 3), "misbehave_"));
  g_assert_false (tally.wrong_thread);
  log_tally_clear (&tally);
}

static void
test_log_huge_message (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  LogTally tally;
  const char *message;

  log_tally_init (&tally, plugin);
  call_ok (plugin, "log.huge", "{\"size\":16777216}");
  rb_test_iterate_for (50);
  g_assert_cmpuint (tally.count, ==, 1);
  g_assert_cmpuint (tally.truncated, ==, 1);
  message = g_ptr_array_index (tally.messages, 0);
  /* The cap, then a marker that says how much was cut. */
  g_assert_cmpuint (strlen (message), <=, LOG_MESSAGE_CAP + 64);
  g_assert_cmpuint (strspn (message, "h"), ==, LOG_MESSAGE_CAP);
  g_assert_nonnull (strstr (message, "16777216"));
  g_assert_cmpuint (rb_plugin_get_dropped_log_count (plugin), ==, 0);
  log_tally_clear (&tally);
}

/* Several threads log big messages while the owner context is not
 * iterated: the queue holds at most LOG_QUEUE_BYTES, the rest is dropped
 * and counted, the count is a property notified in the owner context, and
 * nothing is logged at a level GTest makes fatal. */
static void
test_log_storm_bytes (void)
{
  g_autoptr(RbPlugin) plugin = load_misbehave (NULL);
  g_autofree char *request = NULL;
  guint threads = 4, count = 64;
  LogTally tally;
  guint64 dropped = 0;

  log_tally_init (&tally, plugin);
  request = g_strdup_printf ("{\"threads\":%u,\"count\":%u,\"size\":262144}", threads, count);
  call_ok (plugin, "log.storm", request);
  rb_test_iterate_for (100);

  g_object_get (plugin, "dropped-log-count", &dropped, NULL);
  g_assert_cmpuint (dropped, ==, rb_plugin_get_dropped_log_count (plugin));
  g_assert_cmpuint (tally.count + dropped, ==, threads * count);
  g_assert_cmpuint (dropped, >, 0);
  g_assert_cmpuint (tally.bytes, <=, LOG_QUEUE_BYTES);
  g_assert_cmpuint (tally.longest, <=, LOG_MESSAGE_CAP + 64);
  g_assert_cmpuint (tally.truncated, ==, tally.count);
  g_assert_cmpuint (tally.notified, >=, 1);
  g_assert_false (tally.wrong_thread);

  /* Once delivered, the queue has room again. */
  tally.count = 0;
  call_ok (plugin, "log.huge", "{\"size\":10}");
  rb_test_iterate_for (50);
  g_assert_cmpuint (tally.count, ==, 1);
  log_tally_clear (&tally);
}

/* ---- owner context ---- */

/* A plugin whose owner context is dropped without ever being iterated,
 * with log messages still queued for it: the context, its wakeup fd and
 * the queued messages all go. */
static void
test_owner_context_dropped (void)
{
  guint n = rb_test_scale (200);
  guint fds_before, fds_after;

  /* Warm up whatever is allocated once (the library, GLib's own fds). */
  for (guint round = 0; round < 2; round++)
    {
      if (round == 1)
        fds_before = rb_test_count_fds ();
      for (guint i = 0; i < (round == 0 ? 2 : n); i++)
        {
          GMainContext *context = g_main_context_new ();
          RbPlugin *plugin;

          g_main_context_push_thread_default (context);
          plugin = load_misbehave (NULL);
          call_ok (plugin, "log.utf8", NULL);
          call_ok (plugin, "log.huge", "{\"size\":100}");
          g_main_context_pop_thread_default (context);
          g_object_unref (plugin);
          g_main_context_unref (context);
        }
    }
  fds_after = rb_test_count_fds ();
  g_assert_cmpuint (fds_after, <=, fds_before + 5);
}

/* The same, with the plugin outliving its owner context: later messages
 * and notifications have nowhere to go and are dropped, not queued. */
static void
test_plugin_outlives_owner_context (void)
{
  GMainContext *context = g_main_context_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  guint fds_before;

  g_main_context_push_thread_default (context);
  plugin = load_misbehave (NULL);
  g_main_context_pop_thread_default (context);
  fds_before = rb_test_count_fds ();
  g_main_context_unref (context);
  g_assert_cmpuint (rb_test_count_fds (), <, fds_before);

  call_ok (plugin, "log.huge", "{\"size\":100}");
  call_ok (plugin, "log.storm", "{\"threads\":2,\"count\":10,\"size\":100}");
  rb_plugin_set_log_level (plugin, RB_LOG_LEVEL_DEBUG);
  g_assert_true (rb_plugin_shutdown (plugin, NULL, NULL));
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/misbehave/bad-buffers", test_bad_buffers);
  g_test_add_func ("/misbehave/bad-codes-and-text", test_bad_codes_and_text);
  g_test_add_func ("/misbehave/deep-nesting", test_deep_nesting);
  g_test_add_func ("/misbehave/huge-payload", test_huge_payload);
  g_test_add_func ("/misbehave/null-error", test_null_error);
  g_test_add_func ("/misbehave/duplicate-handle", test_duplicate_handle);
  g_test_add_func ("/misbehave/hang-until-shutdown", test_hang_until_shutdown);
  g_test_add_func ("/misbehave/hang-unblocked", test_hang_unblocked);
  g_test_add_func ("/misbehave/cancel-queued-drop-cancellable", test_cancel_queued_drop_cancellable);
  g_test_add_func ("/misbehave/log-null-and-invalid", test_log_null_and_invalid);
  g_test_add_func ("/misbehave/log-huge-message", test_log_huge_message);
  g_test_add_func ("/misbehave/log-storm-bytes", test_log_storm_bytes);
  g_test_add_func ("/misbehave/owner-context-dropped", test_owner_context_dropped);
  g_test_add_func ("/misbehave/plugin-outlives-owner-context", test_plugin_outlives_owner_context);

  return g_test_run ();
}
