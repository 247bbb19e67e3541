/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbPlugin sync API, lifecycle and errors, against both test plugins.
 */
#include <string.h>

#include <glib/gstdio.h>

#include "rb-test-util.h"
#include "plugins/fixture-raw.h"

/* ---- fixture introspection: proves buffers are freed exactly once ---- */


static char *
call_ok (RbPlugin   *plugin,
         const char *tag,
         const char *request)
{
  g_autoptr(GError) error = NULL;
  char *payload = rb_plugin_call (plugin, tag, request, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (payload);
  return payload;
}

static void
call_fails (RbPlugin   *plugin,
            const char *tag,
            const char *request,
            int         code,
            const char *message)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = rb_plugin_call (plugin, tag, request, NULL, &error);

  g_assert_null (payload);
  g_assert_error (error, RB_PLUGIN_ERROR, code);
  if (message != NULL)
    g_assert_cmpstr (error->message, ==, message);
}

/* ---- both plugins ---- */

static void
test_echo (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  a = call_ok (plugin, "echo", "{\"message\":\"Hello\"}");
  g_assert_cmpstr (a, ==, "{\"message\":\"Hello\",\"length\":5}");
  b = call_ok (plugin, "math.add", "{\"a\":40,\"b\":2}");
  g_assert_cmpstr (b, ==, "{\"result\":42}");
  c = call_ok (plugin, "echo", "{\"message\":\"caf\xc3\xa9\"}");
  g_assert_cmpstr (c, ==, "{\"message\":\"caf\xc3\xa9\",\"length\":5}");
  g_assert_true (rb_plugin_get_has_binary_transport (plugin));
  g_assert_cmpstr (rb_plugin_get_path (plugin), ==, rb_test_plugin_path (RB_TEST_KIND (data)));
}

static void
test_call_json (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  request = json_from_string ("{\"a\":-5,\"b\":3}", NULL);
  reply = rb_plugin_call_json (plugin, "math.add", request, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (reply));
  object = json_node_get_object (reply);
  g_assert_cmpint (json_object_get_int_member (object, "result"), ==, -2);
}

static void
test_payload_forms (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *s = NULL, *n = NULL, *a = NULL;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  s = call_ok (plugin, "payload.string", "{}");
  n = call_ok (plugin, "payload.null", "{}");
  a = call_ok (plugin, "payload.array", "{}");
  g_assert_cmpstr (s, ==, "\"hello\"");
  g_assert_cmpstr (n, ==, "null");
  g_assert_cmpstr (a, ==, "[1,2,3]");
}

static void
test_errors (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *payload = NULL;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  call_fails (plugin, "nope", "{}", RB_PLUGIN_ERROR_UNKNOWN_MESSAGE, "unknown message type: nope");
  call_fails (plugin, "echo", "{not json", RB_PLUGIN_ERROR_SERIALIZATION, NULL);
  call_fails (plugin, "handler.fail", "{}", RB_PLUGIN_ERROR_HANDLER, "handler failed on purpose");
  /* An empty tag goes to the plugin, whose dispatcher answers it
   * (unknown message, as upstream). A tag that is not UTF-8 is refused as
   * upstream refuses it (4, CONFIG). */
  call_fails (plugin, "", "{}", RB_PLUGIN_ERROR_UNKNOWN_MESSAGE, NULL);
  call_fails (plugin, "bad\xff", "{}", RB_PLUGIN_ERROR_CONFIG, NULL);

  /* A cancelled cancellable keeps the call from reaching the plugin. */
  g_cancellable_cancel (cancellable);
  payload = rb_plugin_call (plugin, "echo", "{\"message\":\"x\"}", cancellable, &error);
  g_assert_null (payload);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  /* Still active after handler errors. */
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
}

typedef struct {
  GArray *transitions; /* pairs old,new */
  int     notifies;
} StateLog;

static void
state_changed_cb (RbPlugin         *plugin,
                  RbLifecycleState  old_state,
                  RbLifecycleState  new_state,
                  StateLog         *log)
{
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, new_state);
  g_array_append_val (log->transitions, old_state);
  g_array_append_val (log->transitions, new_state);
}

static void
state_notify_cb (GObject    *object,
                 GParamSpec *pspec,
                 StateLog   *log)
{
  log->notifies++;
}

static void
test_panic_marks_failed (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  StateLog log = { g_array_new (FALSE, FALSE, sizeof (int)), 0 };
  g_autoptr(GError) error = NULL;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);
  /* The start-up changes, held for the creator, come first (all of them:
   * under valgrind 10 ms may pass before the first iteration, and the
   * timeout must not end the loop before they are delivered). */
  rb_test_iterate_for (10);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_signal_connect (plugin, "state-changed", G_CALLBACK (state_changed_cb), &log);
  g_signal_connect (plugin, "notify::state", G_CALLBACK (state_notify_cb), &log);

  call_fails (plugin, "panic", "{}", RB_PLUGIN_ERROR_INTERNAL, NULL);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);
  /* On the owner thread (not iterating) the change is emitted at once. */
  g_assert_cmpuint (log.transitions->len, ==, 2);
  g_assert_cmpint (g_array_index (log.transitions, int, 0), ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_assert_cmpint (g_array_index (log.transitions, int, 1), ==, RB_LIFECYCLE_STATE_FAILED);
  g_assert_cmpint (log.notifies, ==, 1);

  call_fails (plugin, "echo", "{\"message\":\"x\"}", RB_PLUGIN_ERROR_INVALID_STATE, NULL);

  /* A failed plugin still shuts down cleanly. */
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
  g_array_unref (log.transitions);
}

static void
test_shutdown (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  StateLog log = { g_array_new (FALSE, FALSE, sizeof (int)), 0 };
  g_autoptr(GError) error = NULL;
  static const int expected[] = {
    RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_STOPPING,
    RB_LIFECYCLE_STATE_STOPPING, RB_LIFECYCLE_STATE_STOPPED,
  };
  GBytes *request;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);
  /* The start-up changes, held for the creator, come first (all of them:
   * under valgrind 10 ms may pass before the first iteration, and the
   * timeout must not end the loop before they are delivered). */
  rb_test_iterate_for (10);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_signal_connect (plugin, "state-changed", G_CALLBACK (state_changed_cb), &log);
  g_signal_connect (plugin, "notify::state", G_CALLBACK (state_notify_cb), &log);

  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
  g_assert_cmpuint (log.transitions->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpint (g_array_index (log.transitions, int, i), ==, expected[i]);
  g_assert_cmpint (log.notifies, ==, 2);

  /* Idempotent, and never touches the stale handle. */
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (log.notifies, ==, 2);

  call_fails (plugin, "echo", "{\"message\":\"x\"}", RB_PLUGIN_ERROR_INVALID_STATE, NULL);
  request = g_bytes_new_static ("x", 1);
  {
    g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);
    g_assert_null (reply);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE);
    g_clear_error (&error);
  }
  g_bytes_unref (request);
  g_assert_cmpuint (rb_plugin_get_rejected_request_count (plugin), ==, 0);
  rb_plugin_set_log_level (plugin, RB_LOG_LEVEL_DEBUG); /* ignored, no crash */
  g_array_unref (log.transitions);
}

static void
test_raw (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  FixtureRawEchoRequest req = { .version = 1, .value = 21 };
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GBytes) reply = NULL;
  const FixtureRawEchoResponse *resp;
  gsize size;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  g_strlcpy (req.text, "raw hello", sizeof req.text);
  request = g_bytes_new (&req, sizeof req);
  reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  resp = g_bytes_get_data (reply, &size);
  g_assert_cmpuint (size, ==, sizeof *resp);
  g_assert_cmpuint (resp->version, ==, 1);
  g_assert_cmpuint (resp->value_times_two, ==, 42);
  g_assert_cmpuint (resp->text_len, ==, strlen ("raw hello"));
  g_assert_cmpstr (resp->text, ==, "raw hello");

  /* The response stays valid after the plugin is shut down and gone. */
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_clear_object (&plugin);
  resp = g_bytes_get_data (reply, &size);
  g_assert_cmpuint (resp->value_times_two, ==, 42);
  g_assert_cmpstr (resp->text, ==, "raw hello");
}

static void
test_raw_errors (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  FixtureRawEchoRequest req = { .version = 1 };
  FixtureRawEchoRequest bad_version = { .version = 9 };

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) request = g_bytes_new (&req, sizeof req);
    g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 999, request, NULL, &error);
    g_assert_null (reply);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
    g_assert_nonnull (strstr (error->message, "999"));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) request = g_bytes_new (&req, sizeof req - 4);
    g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);
    g_assert_null (reply);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
    g_assert_true (g_utf8_validate (error->message, -1, NULL));
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) request = g_bytes_new (&bad_version, sizeof bad_version);
    g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);
    g_assert_null (reply);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
  }
}

/* Binary handlers are library-global: one shutdown clears them for the
 * other instances of the same file. Reported, not hidden (doc/plugin-abi.md). */
static void
test_raw_cleared_by_other_shutdown (gconstpointer data)
{
  g_autoptr(RbPlugin) a = NULL;
  g_autoptr(RbPlugin) b = NULL;
  g_autoptr(GError) error = NULL;
  FixtureRawEchoRequest req = { .version = 1, .value = 1 };
  g_autoptr(GBytes) request = g_bytes_new (&req, sizeof req);
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *json = NULL;

  /* library-wide in-process behaviour (doc/isolation.md) */
  if (rb_test_skip_if_isolated ())
    return;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  a = rb_test_load (RB_TEST_KIND (data), NULL);
  b = rb_test_load (RB_TEST_KIND (data), NULL);
  g_assert_true (rb_plugin_shutdown (a, NULL, &error));

  reply = rb_plugin_call_raw (b, 1, request, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
  json = call_ok (b, "echo", "{\"message\":\"still\"}");
  g_assert_cmpstr (json, ==, "{\"message\":\"still\",\"length\":5}");
}

static void
test_reload (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  rb_plugin_config_set_worker_threads (config, 1);

  for (guint i = 0; i < rb_test_scale (100); i++)
    {
      g_autoptr(GError) error = NULL;
      RbPlugin *plugin = rb_test_load (RB_TEST_KIND (data), config);
      g_autofree char *msg = g_strdup_printf ("{\"message\":\"cycle %u\"}", i);
      g_autofree char *reply = call_ok (plugin, "echo", msg);

      g_assert_nonnull (strstr (reply, "cycle"));
      g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
      g_assert_no_error (error);
      rb_test_assert_finalized (plugin);
    }
}

typedef struct {
  RbPlugin *plugin;
  int       index;
  int       failures;
} ThreadData;

static gpointer
concurrent_caller (gpointer data)
{
  ThreadData *td = data;

  for (guint i = 0; i < rb_test_scale (500); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *msg = g_strdup_printf ("{\"message\":\"t%d-%u\"}", td->index, i);
      g_autofree char *expected = g_strdup_printf ("{\"message\":\"t%d-%u\",\"length\":%zu}",
                                                   td->index, i, strlen (msg) - 14);
      g_autofree char *reply = rb_plugin_call (td->plugin, "echo", msg, NULL, &error);

      if (g_strcmp0 (reply, expected) != 0)
        td->failures++;
    }
  return NULL;
}

static void
test_concurrent_sync (gconstpointer data)
{
  g_autoptr(RbPlugin) plugin = NULL;
  GThread *threads[8];
  ThreadData td[8];

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);

  for (int i = 0; i < 8; i++)
    {
      td[i] = (ThreadData) { plugin, i, 0 };
      threads[i] = g_thread_new ("caller", concurrent_caller, &td[i]);
    }
  for (int i = 0; i < 8; i++)
    {
      g_thread_join (threads[i]);
      g_assert_cmpint (td[i].failures, ==, 0);
    }
}

static gpointer
sleepy_caller (gpointer data)
{
  ThreadData *td = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call (td->plugin, "test.sleep", "{\"duration_ms\":300}", NULL, &error);

  if (reply == NULL)
    {
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_TOO_MANY_REQUESTS);
      td->failures = 1;
    }
  return NULL;
}

static void
test_concurrency_limit (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  GThread *threads[6];
  ThreadData td[6];
  int rejected = 0;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  rb_plugin_config_set_max_concurrent_ops (config, 2);
  plugin = rb_test_load (RB_TEST_KIND (data), config);

  for (int i = 0; i < 6; i++)
    {
      td[i] = (ThreadData) { plugin, i, 0 };
      threads[i] = g_thread_new ("sleeper", sleepy_caller, &td[i]);
    }
  for (int i = 0; i < 6; i++)
    {
      g_thread_join (threads[i]);
      rejected += td[i].failures;
    }
  /* At most two run at once; the rest were rejected and counted. */
  g_assert_cmpint (rejected, >=, 1);
  g_assert_cmpint (rejected, <=, 4);
  g_assert_cmpuint (rb_plugin_get_rejected_request_count (plugin), ==, (guint64) rejected);
}

static void
test_dispose_without_shutdown (gconstpointer data)
{
  RbPlugin *plugin;
  g_autofree char *reply = NULL;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  plugin = rb_test_load (RB_TEST_KIND (data), NULL);
  reply = call_ok (plugin, "echo", "{\"message\":\"bye\"}");
  rb_test_assert_finalized (plugin);
}

static void
test_init_refused (gconstpointer data)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;

  if (rb_test_skip_if_missing (RB_TEST_KIND (data)))
    return;
  rb_plugin_config_set_data_json (config, "fail_init", "true", NULL);
  plugin = rb_plugin_new (rb_test_plugin_path (RB_TEST_KIND (data)), config, NULL, &error);
  g_assert_null (plugin);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, rb_test_plugin_path (RB_TEST_KIND (data))));
  g_assert_nonnull (strstr (error->message, "plugin_init"));
}

/* ---- load failures ---- */

static void
assert_load_fails (const char *path,
                   const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = rb_plugin_new (path, NULL, NULL, &error);

  g_assert_null (plugin);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  if (strstr (error->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", error->message, needle);
}

static void
test_load_failures (void)
{
  g_autofree char *text_file = g_build_filename (g_get_tmp_dir (), "not-a-library.so", NULL);
  g_autofree char *dir = g_dir_make_tmp ("rb-test-XXXXXX", NULL);

  assert_load_fails ("/nonexistent/libnothing.so", "/nonexistent/libnothing.so");
  assert_load_fails ("", "empty");
  g_assert_true (g_file_set_contents (text_file, "hello, I am text\n", -1, NULL));
  assert_load_fails (text_file, text_file);
  assert_load_fails (dir, "not a regular file");
  assert_load_fails (rb_test_env_path ("RB_NOT_A_PLUGIN"), "plugin_call");
  g_unlink (text_file);
  g_rmdir (dir);
}

static void
test_no_raw_transport (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = rb_plugin_new (rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN"), NULL, NULL, &error);
  g_autoptr(GBytes) request = g_bytes_new_static ("abcd", 4);
  g_autoptr(GBytes) reply = NULL;
  g_autofree char *json = NULL;
  gboolean has_raw = TRUE;

  g_assert_no_error (error);
  g_object_get (plugin, "has-binary-transport", &has_raw, NULL);
  g_assert_false (has_raw);
  reply = rb_plugin_call_raw (plugin, 1, request, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED);
  json = call_ok (plugin, "echo", "{\"message\":\"json ok\"}");
}

/* ---- fixture-only edge cases ---- */

static void
test_malformed_responses (void)
{
  static const char * const tags[] = {
    "bad.notjson", "bad.missing_payload", "bad.truncated", "bad.nul",
    "bad.trailing", "bad.status", "bad.empty",
  };
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  guint64 before = rb_test_fixture_outstanding ();

  for (gsize i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *payload = rb_plugin_call (plugin, tags[i], "{}", NULL, &error);

      if (payload != NULL)
        g_error ("%s: accepted malformed response as %s", tags[i], payload);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
    }
  call_fails (plugin, "bad.error_no_message", "{}", RB_PLUGIN_ERROR_HANDLER,
              "Plugin call failed with error code 7");
  call_fails (plugin, "bad.error_code_mismatch", "{}", RB_PLUGIN_ERROR_CANCELLED, NULL);
  call_fails (plugin, "bad.unknown_code", "{}", RB_PLUGIN_ERROR_PROTOCOL, NULL);
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *payload = rb_plugin_call (plugin, "bad.invalid_utf8", "{}", NULL, &error);

    g_assert_null (payload);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_HANDLER);
    g_assert_true (g_utf8_validate (error->message, -1, NULL));
  }
  /* Every buffer went back to the plugin exactly once. */
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
}

static void
test_lenient_envelopes (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autofree char *a = call_ok (plugin, "whitespace.envelope", "{}");
  g_autofree char *b = call_ok (plugin, "reordered.envelope", "{}");
  g_autofree char *c = call_ok (plugin, "payload.nested", "{}");
  g_autofree char *d = call_ok (plugin, "payload.number", "{}");

  g_assert_cmpstr (a, ==, "{\"x\":1}");
  g_assert_cmpstr (b, ==, "{\"x\":1}");
  g_assert_cmpstr (c, ==, "{\"a\":{\"b\":[true,false,null,\"x\\\"y\\u00e9\"]}}");
  g_assert_cmpstr (d, ==, "42.5");
}

static void
test_huge_payload (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autofree char *payload = call_ok (plugin, "payload.huge", "{\"size\":33554432}");

  g_assert_cmpuint (strlen (payload), ==, 33554432 + 2);
  g_assert_cmpint (payload[0], ==, '"');
  g_assert_cmpint (payload[1], ==, 'x');
}

static void
test_empty_request (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autofree char *a = call_ok (plugin, "payload.empty_request", NULL);
  g_autofree char *b = call_ok (plugin, "payload.empty_request", "");
  g_autofree char *c = call_ok (plugin, "payload.empty_request", "{}");

  g_assert_cmpstr (a, ==, "{\"request_len\":0}");
  g_assert_cmpstr (b, ==, "{\"request_len\":0}");
  g_assert_cmpstr (c, ==, "{\"request_len\":2}");
}

static void
test_raw_zero_copy_lifetime (void)
{
  g_autoptr(RbPlugin) plugin = NULL;
  FixtureRawEchoRequest req = { .version = 1, .value = 2 };
  g_autoptr(GBytes) request = g_bytes_new (&req, sizeof req);
  guint64 before;
  GBytes *reply;
  GBytes *slice;

  /* the plugin's own memory backs the reply only in process */
  if (rb_test_skip_if_isolated ())
    return;
  plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  before = rb_test_fixture_outstanding ();

  reply = rb_plugin_call_raw (plugin, 1, request, NULL, NULL);
  g_assert_nonnull (reply);
  /* The plugin's buffer backs the GBytes: outstanding until the last ref. */
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before + 1);
  slice = g_bytes_new_from_bytes (reply, 4, 4);
  g_bytes_unref (reply);
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before + 1);
  g_assert_cmpuint (*(const guint32 *) g_bytes_get_data (slice, NULL), ==, 4);
  g_bytes_unref (slice);
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before);
}

static void
test_properties (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(RbPluginConfig) got = NULL;
  g_autofree char *path = NULL;
  RbLifecycleState state;
  RbLogLevel level;
  guint64 rejected;

  rb_plugin_config_set_log_level (config, RB_LOG_LEVEL_WARN);
  plugin = rb_test_load (RB_TEST_FIXTURE, config);
  /* The plugin keeps its own copy of the configuration. */
  rb_plugin_config_set_log_level (config, RB_LOG_LEVEL_TRACE);

  g_object_get (plugin, "path", &path, "config", &got, "state", &state,
                "log-level", &level, "rejected-request-count", &rejected, NULL);
  g_assert_cmpstr (path, ==, rb_test_plugin_path (RB_TEST_FIXTURE));
  g_assert_cmpint (rb_plugin_config_get_log_level (got), ==, RB_LOG_LEVEL_WARN);
  g_assert_cmpint (state, ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_assert_cmpint (level, ==, RB_LOG_LEVEL_WARN);
  g_assert_cmpuint (rejected, ==, 0);
  g_assert_null (rb_plugin_get_bundle_name (plugin));

  g_object_set (plugin, "log-level", RB_LOG_LEVEL_ERROR, NULL);
  g_assert_cmpint (rb_plugin_get_log_level (plugin), ==, RB_LOG_LEVEL_ERROR);
}

static void
test_new_with_initable (void)
{
  g_autoptr(GError) error = NULL;
  /* Binding-style construction: g_object_new + g_initable_init. */
  g_autoptr(RbPlugin) plugin = g_object_new (RB_TYPE_PLUGIN, "path", rb_test_plugin_path (RB_TEST_FIXTURE), NULL);
  g_autoptr(RbPlugin) empty = g_object_new (RB_TYPE_PLUGIN, NULL);

  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_INSTALLED);
  call_fails (plugin, "echo", "{}", RB_PLUGIN_ERROR_INVALID_STATE, NULL);
  g_assert_true (g_initable_init (G_INITABLE (plugin), NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_initable_init (G_INITABLE (plugin), NULL, &error));
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);

  g_assert_false (g_initable_init (G_INITABLE (empty), NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
}

static void
test_error_quarks (void)
{
  g_assert_cmpstr (g_quark_to_string (RB_PLUGIN_ERROR), ==, "rb-plugin-error-quark");
  g_assert_cmpint (RB_PLUGIN_ERROR_TOO_MANY_REQUESTS, ==, 13);
  g_assert_cmpint (RB_PLUGIN_ERROR_LOAD_FAILED, ==, 100);
  g_assert_cmpint (RB_LIFECYCLE_STATE_FAILED, ==, 5);
  g_assert_cmpint (RB_LOG_LEVEL_OFF, ==, 5);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  rb_test_add_both ("/plugin/echo", test_echo);
  rb_test_add_both ("/plugin/call-json", test_call_json);
  rb_test_add_both ("/plugin/payload-forms", test_payload_forms);
  rb_test_add_both ("/plugin/errors", test_errors);
  rb_test_add_both ("/plugin/panic", test_panic_marks_failed);
  rb_test_add_both ("/plugin/shutdown", test_shutdown);
  rb_test_add_both ("/plugin/raw", test_raw);
  rb_test_add_both ("/plugin/raw-errors", test_raw_errors);
  rb_test_add_both ("/plugin/raw-cleared-by-other-shutdown", test_raw_cleared_by_other_shutdown);
  rb_test_add_both ("/plugin/reload", test_reload);
  rb_test_add_both ("/plugin/concurrent-sync", test_concurrent_sync);
  rb_test_add_both ("/plugin/concurrency-limit", test_concurrency_limit);
  rb_test_add_both ("/plugin/dispose-without-shutdown", test_dispose_without_shutdown);
  rb_test_add_both ("/plugin/init-refused", test_init_refused);
  g_test_add_func ("/plugin/load-failures", test_load_failures);
  g_test_add_func ("/plugin/no-raw-transport", test_no_raw_transport);
  g_test_add_func ("/plugin/fixture/malformed-responses", test_malformed_responses);
  g_test_add_func ("/plugin/fixture/lenient-envelopes", test_lenient_envelopes);
  g_test_add_func ("/plugin/fixture/huge-payload", test_huge_payload);
  g_test_add_func ("/plugin/fixture/empty-request", test_empty_request);
  g_test_add_func ("/plugin/fixture/raw-zero-copy", test_raw_zero_copy_lifetime);
  g_test_add_func ("/plugin/fixture/properties", test_properties);
  g_test_add_func ("/plugin/fixture/initable", test_new_with_initable);
  g_test_add_func ("/plugin/error-quarks", test_error_quarks);

  return g_test_run ();
}
