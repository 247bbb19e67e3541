/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The plugin ABI as upstream rustbridge (0.5 to 1.0) behaves
 * (doc/plugin-abi.md): plugin_create_with_config, the log level after
 * init, the log callback after a failed init, unlimited ops, the four
 * response forms, shutdown with calls in flight, empty raw successes and
 * raw panics, type tags and the request text.
 */
#include <string.h>

#include <gmodule.h>

#include "rb-test-util.h"

static const char *
nocfg_path (void)
{
  return rb_test_env_path ("RB_FIXTURE_NOCFG_PLUGIN");
}

static gpointer
plugin_symbol (const char *path,
               const char *name)
{
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  gpointer sym = NULL;

  g_assert_nonnull (module);
  g_assert_true (g_module_symbol (module, name, &sym));
  g_module_make_resident (module);
  g_module_close (module);
  return sym;
}

static void
set_create_fails (const char *path,
                  gboolean    fail)
{
  void (*func) (gboolean) = plugin_symbol (path, "fixture_set_create_fails");

  func (fail);
}

static char *
call_ok (RbPlugin   *plugin,
         const char *type_tag,
         const char *request)
{
  g_autoptr(GError) error = NULL;
  char *payload = rb_plugin_call (plugin, type_tag, request, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (payload);
  return payload;
}

static RbPluginConfig *
config_with_data (const char *key,
                  const char *json)
{
  RbPluginConfig *config = rb_plugin_config_new ();

  g_assert_true (rb_plugin_config_set_data_json (config, key, json, NULL));
  return config;
}

/* ---- 1. plugin_create_with_config ---------------------------------- */

static void
test_create_with_config_sees_data (void)
{
  const char *fixture = rb_test_plugin_path (RB_TEST_FIXTURE);
  g_autoptr(RbPluginConfig) config = config_with_data ("pattern", "\"a+b\"");
  g_autoptr(RbPlugin) with = NULL;
  g_autoptr(RbPlugin) without = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *seen = NULL;
  g_autofree char *seen_without = NULL;
  guint64 before = rb_test_plugin_counter (fixture, "fixture_creations_with_config");

  with = rb_test_load (RB_TEST_FIXTURE, config);
  g_assert_cmpuint (rb_test_plugin_counter (fixture, "fixture_creations_with_config"), ==, before + 1);
  seen = call_ok (with, "factory.data", NULL);
  g_assert_cmpstr (seen, ==, "{\"data\":{\"pattern\":\"a+b\"}}");

  /* Without the symbol the factory runs with the default config. */
  without = rb_plugin_new (nocfg_path (), config, NULL, &error);
  g_assert_no_error (error);
  seen_without = call_ok (without, "factory.data", NULL);
  g_assert_cmpstr (seen_without, ==, "{\"data\":null}");
  g_assert_cmpuint (rb_test_plugin_counter (nocfg_path (), "fixture_creations_with_config"), ==, 0);
}

static void
test_create_returns_null (void)
{
  const char *fixture = rb_test_plugin_path (RB_TEST_FIXTURE);
  g_autoptr(RbPluginConfig) config = config_with_data ("create_fail", "true");
  g_autoptr(RbPluginConfig) plain = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  RbPlugin *plugin;

  /* The factory refuses the config's data. */
  plugin = rb_plugin_new (fixture, config, NULL, &error);
  g_assert_null (plugin);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "plugin_create_with_config returned NULL"));
  g_assert_nonnull (strstr (error->message, "configuration"));
  g_assert_nonnull (strstr (error->message, "\"create_fail\":true"));
  g_assert_nonnull (strstr (error->message, fixture));
  g_clear_error (&error);

  /* Without plugin_create_with_config: plugin_create refuses. */
  set_create_fails (nocfg_path (), TRUE);
  plugin = rb_plugin_new (nocfg_path (), plain, NULL, &error);
  set_create_fails (nocfg_path (), FALSE);
  g_assert_null (plugin);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "plugin_create returned NULL"));
  g_clear_error (&error);

  /* Errors without a GError to set. */
  g_assert_null (rb_plugin_new (fixture, config, NULL, NULL));

  /* The library still works. */
  plugin = rb_plugin_new (nocfg_path (), plain, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_object_unref (plugin);
}

/* The Rust plugin exports plugin_create_with_config as the framework's
 * entry macro does for a factory. */
static void
test_create_with_config_rust (void)
{
  g_autoptr(RbPluginConfig) config = config_with_data ("pattern", "\"a+b\"");
  g_autoptr(RbPluginConfig) failing = config_with_data ("create_fail", "true");
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *seen = NULL;

  if (rb_test_skip_if_missing (RB_TEST_RUST))
    return;
  plugin = rb_test_load (RB_TEST_RUST, config);
  seen = call_ok (plugin, "factory.data", NULL);
  g_assert_cmpstr (seen, ==, "{\"data\":{\"pattern\":\"a+b\"}}");

  g_assert_null (rb_plugin_new (rb_test_plugin_path (RB_TEST_RUST), failing, NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  g_assert_nonnull (strstr (error->message, "plugin_create_with_config returned NULL"));
}

/* ---- 2. the log level after init ------------------------------------ */

typedef struct {
  GPtrArray *messages;
} Heard;

static void
heard_cb (RbPlugin   *plugin,
          RbLogLevel  level,
          const char *target,
          const char *message,
          Heard      *heard)
{
  g_ptr_array_add (heard->messages, g_strdup (message));
}

static guint
heard_count (Heard      *heard,
             const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < heard->messages->len; i++)
    if (g_str_has_prefix (g_ptr_array_index (heard->messages, i), prefix))
      n++;
  return n;
}

/* Log messages reach the signal through the owner's main context. */
static void
wait_heard (Heard      *heard,
            const char *prefix,
            guint       n)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_TIME_SPAN_SECOND;

  while (heard_count (heard, prefix) < n && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpuint (heard_count (heard, prefix), ==, n);
}

static void
emit_debug (RbPlugin   *plugin,
            const char *text)
{
  g_autofree char *request = g_strdup_printf ("{\"count\":2,\"level\":\"debug\",\"message\":\"%s\"}", text);
  g_autofree char *reply = call_ok (plugin, "log.emit", request);
}

/* The plugin builds its log filter at the first plugin_init of the
 * library only: a restart at a more verbose level hears nothing more
 * unless the host sets the level again. Runs on the nocfg build, which
 * no other test in this program loads before. */
static void
test_log_level_after_restart (void)
{
  const char *path = nocfg_path ();
  g_autoptr(RbPluginConfig) quiet = rb_plugin_config_new ();
  g_autoptr(RbPluginConfig) verbose = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  Heard heard = { g_ptr_array_new_with_free_func (g_free) };
  RbPlugin *plugin;
  guint64 sets = rb_test_plugin_counter (path, "fixture_log_level_sets");

  rb_plugin_config_set_log_level (quiet, RB_LOG_LEVEL_ERROR);
  rb_plugin_config_set_log_level (verbose, RB_LOG_LEVEL_DEBUG);

  plugin = rb_plugin_new (path, quiet, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rb_test_plugin_counter (path, "fixture_log_level_sets"), ==, sets + 1);
  g_assert_cmpuint (rb_test_plugin_counter (path, "fixture_log_level"), ==, RB_LOG_LEVEL_ERROR);
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_object_unref (plugin);

  plugin = rb_plugin_new (path, verbose, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rb_test_plugin_counter (path, "fixture_log_level"), ==, RB_LOG_LEVEL_DEBUG);
  g_signal_connect (plugin, "log", G_CALLBACK (heard_cb), &heard);
  emit_debug (plugin, "after-restart");
  wait_heard (&heard, "after-restart", 2);

  g_object_unref (plugin);
  g_ptr_array_unref (heard.messages);
}

/* ---- 3. the log callback after a failed init ------------------------ */

/* A failed plugin_init leaves the host's callback installed in the
 * plugin: it must stay valid, deliver to nobody while no instance lives,
 * and to the next instance once there is one. */
static gpointer
log_from_thread (gpointer data)
{
  void (*log_now) (int, const char *) = data;

  log_now (2, "from-a-plugin-thread");
  return NULL;
}

static void
test_log_callback_after_failed_init (void)
{
  const char *fixture = rb_test_plugin_path (RB_TEST_FIXTURE);
  void (*log_now) (int, const char *) = plugin_symbol (fixture, "fixture_log_now");
  g_autoptr(RbPluginConfig) failing = config_with_data ("fail_init", "true");
  g_autoptr(GError) error = NULL;
  Heard heard = { g_ptr_array_new_with_free_func (g_free) };
  RbPlugin *plugin;
  GThread *thread;

  plugin = rb_plugin_new (fixture, failing, NULL, &error);
  g_assert_null (plugin);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED);
  /* The message quotes the config the plugin refused. */
  g_assert_nonnull (strstr (error->message, "rejected its configuration"));
  g_assert_nonnull (strstr (error->message, "\"fail_init\":true"));
  g_clear_error (&error);

  /* No instance alive: the callback runs and delivers to nobody. */
  thread = g_thread_new ("plugin-thread", log_from_thread, log_now);
  g_thread_join (thread);
  log_now (2, "from-the-main-thread");

  plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_signal_connect (plugin, "log", G_CALLBACK (heard_cb), &heard);
  thread = g_thread_new ("plugin-thread", log_from_thread, log_now);
  g_thread_join (thread);
  wait_heard (&heard, "from-a-plugin-thread", 1);
  g_assert_cmpuint (heard_count (&heard, "from-the-main-thread"), ==, 0);

  /* And once the instance is gone (without a shutdown that would clear
   * the plugin's callback: a failed init again), still valid. */
  rb_test_assert_finalized (plugin);
  g_assert_null (rb_plugin_new (fixture, failing, NULL, NULL));
  thread = g_thread_new ("plugin-thread", log_from_thread, log_now);
  g_thread_join (thread);
  g_ptr_array_unref (heard.messages);
}

/* ---- 4. max_concurrent_ops 0 ---------------------------------------- */

typedef struct {
  RbPlugin *plugin;
  gint      failures;
} Burst;

static gpointer
sleep_call_thread (gpointer data)
{
  Burst *burst = data;
  char *reply = rb_plugin_call (burst->plugin, "test.sleep", "{\"duration_ms\":100}", NULL, NULL);

  if (reply == NULL)
    g_atomic_int_inc (&burst->failures);
  g_free (reply);
  return NULL;
}

static void
count_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  gint *pending = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (reply);
  (*pending)--;
}

static void
test_unlimited_ops (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  Burst burst = { NULL, 0 };
  GThread *threads[24];
  gint pending = 0;

  g_object_set (config, "max-concurrent-ops", 0, "worker-threads", 2, NULL);
  plugin = rb_test_load (RB_TEST_FIXTURE, config);
  burst.plugin = plugin;

  /* Sync calls: the plugin admits them all. */
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", sleep_call_thread, &burst);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  g_assert_cmpint (burst.failures, ==, 0);

  /* Async calls: queued, never refused (the queue is bounded, not 0). */
  for (guint i = 0; i < 200; i++)
    {
      rb_plugin_call_async (plugin, "echo", "{\"message\":\"x\"}", NULL, count_result_cb, &pending);
      pending++;
    }
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (rb_plugin_get_rejected_request_count (plugin), ==, 0);
}

/* ---- 5. response forms ---------------------------------------------- */

static void
test_response_forms (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;

  /* Success and error envelopes with a request_id (u64 maximum). */
  payload = call_ok (plugin, "envelope.request_id", NULL);
  g_assert_cmpstr (payload, ==, "{\"x\":1}");
  g_assert_null (rb_plugin_call (plugin, "error.request_id", NULL, NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_HANDLER);
  /* The error's display text, as it comes. */
  g_assert_cmpstr (error->message, ==, "handler error: name is required");
  g_clear_error (&error);

  /* The fourth form: plain text, code 5. */
  g_assert_null (rb_plugin_call (plugin, "serialization.plain", NULL, NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
  g_assert_cmpstr (error->message, ==, "Serialization error: expected value at line 1 column 1");
  g_clear_error (&error);
  g_assert_null (rb_plugin_call (plugin, "serialization.plain", NULL, NULL, NULL));

  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
}

/* ---- 6. shutdown ---------------------------------------------------- */

static gpointer
slow_call_thread (gpointer data)
{
  RbPlugin *plugin = data;
  GError *error = NULL;
  char *reply = rb_plugin_call (plugin, "test.sleep", "{\"duration_ms\":600}", NULL, &error);

  /* A result, or the codes upstream gives racing calls. */
  if (reply == NULL)
    g_assert_true (g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE) ||
                   g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_RUNTIME));
  g_clear_error (&error);
  return reply;
}

/* shutdown-timeout-ms bounds the host's wait only: the shutdown returns,
 * successfully, whatever the call in flight does (no timing asserted). */
static void
test_shutdown_call_in_flight (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  RbPlugin *plugin;
  GThread *thread;
  char *reply;
  guint64 calls;

  if (rb_test_skip_if_missing (kind))
    return;
  rb_plugin_config_set_shutdown_timeout_ms (config, 50);
  plugin = rb_test_load (kind, config);
  calls = kind == RB_TEST_FIXTURE ? rb_test_plugin_counter (rb_test_plugin_path (kind), "fixture_total_calls") : 0;

  thread = g_thread_new ("slow-call", slow_call_thread, plugin);
  if (kind == RB_TEST_FIXTURE)
    while (rb_test_plugin_counter (rb_test_plugin_path (kind), "fixture_total_calls") == calls)
      g_usleep (1000);
  else
    g_usleep (100 * 1000);

  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
  reply = g_thread_join (thread);
  g_free (reply);
  rb_test_assert_finalized (plugin);
}

/* Shutting down a failed plugin (after a panic) succeeds. */
static void
test_shutdown_failed (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  g_assert_null (rb_plugin_call (plugin, "panic", "{}", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL);
  g_clear_error (&error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);

  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
}

/* ---- 7. raw responses ----------------------------------------------- */

static void
test_raw_empty_and_panic (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autoptr(GBytes) request = g_bytes_new_static ("", 0);
  g_autoptr(GBytes) empty = NULL;
  g_autoptr(GError) error = NULL;
  guint64 before = rb_test_fixture_outstanding ();

  /* Non-NULL dangling data, len = capacity = 0: never read, freed once
   * through rb_response_free. */
  empty = rb_plugin_call_raw (plugin, 3, request, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (empty);
  g_assert_cmpuint (g_bytes_get_size (empty), ==, 0);
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before);

  /* A panic in a raw handler: code 11 with its text. */
  g_assert_null (rb_plugin_call_raw (plugin, 4, request, NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL);
  g_assert_cmpstr (error->message, ==, "Plugin panicked: simulated raw panic");
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before);
}

/* ---- 12. the empty type tag ----------------------------------------- */

static void
test_empty_type_tag (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;

  if (rb_test_skip_if_missing (kind))
    return;
  plugin = rb_test_load (kind, NULL);
  /* Passed on: the plugin's dispatcher answers, with its own text. */
  g_assert_null (rb_plugin_call (plugin, "", "{}", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
  g_assert_true (g_str_has_prefix (error->message, "unknown message type"));
  g_assert_null (strstr (error->message, rb_plugin_get_path (plugin)));
}

/* ---- the request text of call_json ---------------------------------- */

static void
test_call_json_small_double (void)
{
  g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "x");
  json_builder_add_double_value (builder, 1e-8);
  json_builder_set_member_name (builder, "y");
  json_builder_add_double_value (builder, -2.5e-300);
  json_builder_end_object (builder);
  request = json_builder_get_root (builder);

  reply = rb_plugin_call_json (plugin, "echo.raw", request, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  object = json_node_get_object (reply);
  g_assert_cmpfloat (json_object_get_double_member (object, "x"), ==, 1e-8);
  g_assert_cmpfloat (json_object_get_double_member (object, "y"), ==, -2.5e-300);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  /* First: needs a library whose log filter no other test built. */
  g_test_add_func ("/fidelity/log-level-after-restart", test_log_level_after_restart);
  g_test_add_func ("/fidelity/create-with-config/data", test_create_with_config_sees_data);
  g_test_add_func ("/fidelity/create-with-config/null", test_create_returns_null);
  g_test_add_func ("/fidelity/create-with-config/rust", test_create_with_config_rust);
  g_test_add_func ("/fidelity/log-callback-after-failed-init", test_log_callback_after_failed_init);
  g_test_add_func ("/fidelity/unlimited-ops", test_unlimited_ops);
  g_test_add_func ("/fidelity/response-forms", test_response_forms);
  rb_test_add_both ("/fidelity/shutdown/call-in-flight", test_shutdown_call_in_flight);
  rb_test_add_both ("/fidelity/shutdown/failed", test_shutdown_failed);
  g_test_add_func ("/fidelity/raw/empty-and-panic", test_raw_empty_and_panic);
  rb_test_add_both ("/fidelity/empty-type-tag", test_empty_type_tag);
  g_test_add_func ("/fidelity/call-json-small-double", test_call_json_small_double);

  return g_test_run ();
}
