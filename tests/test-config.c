/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>
#include <string.h>

#include "rb-test-util.h"

static void
test_defaults_to_json (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autofree char *json = rb_plugin_config_to_json (config);

  g_assert_cmpstr (json, ==,
                   "{\"log_level\":\"info\",\"max_concurrent_ops\":1000,"
                   "\"shutdown_timeout_ms\":5000,\"data\":null}");
  g_assert_cmpint (rb_plugin_config_get_log_level (config), ==, RB_LOG_LEVEL_INFO);
  g_assert_cmpuint (rb_plugin_config_get_worker_threads (config), ==, 0);
  g_assert_cmpuint (rb_plugin_config_get_max_concurrent_ops (config), ==, 1000);
  g_assert_cmpuint (rb_plugin_config_get_shutdown_timeout_ms (config), ==, 5000);
}

static void
test_properties_to_json (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;

  g_object_set (config,
                "log-level", RB_LOG_LEVEL_DEBUG,
                "worker-threads", 2,
                "max-concurrent-ops", 16,
                "shutdown-timeout-ms", 250,
                NULL);
  g_assert_true (rb_plugin_config_set_data_json (config, "greeting", "\"hi\"", &error));
  g_assert_no_error (error);
  g_assert_true (rb_plugin_config_set_data_json (config, "limits", "{\"a\":[1,2]}", &error));
  g_assert_true (rb_plugin_config_set_init_param_json (config, "seed", "42", &error));

  json = rb_plugin_config_to_json (config);
  g_assert_cmpstr (json, ==,
                   "{\"log_level\":\"debug\",\"worker_threads\":2,\"max_concurrent_ops\":16,"
                   "\"shutdown_timeout_ms\":250,\"data\":{\"greeting\":\"hi\",\"limits\":{\"a\":[1,2]}},"
                   "\"init_params\":{\"seed\":42}}");
}

static void
test_round_trip (void)
{
  static const char *input =
    "{\"log_level\":\"warn\",\"worker_threads\":3,\"max_concurrent_ops\":7,"
    "\"shutdown_timeout_ms\":100,\"data\":{\"k\":\"v\"},\"init_params\":{\"x\":true},"
    "\"unknown_field\":123}";
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new_from_json (input, &error);
  g_autofree char *json = NULL;
  g_autoptr(RbPluginConfig) again = NULL;
  g_autofree char *json2 = NULL;
  g_autoptr(JsonNode) k = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_config_get_log_level (config), ==, RB_LOG_LEVEL_WARN);
  g_assert_cmpuint (rb_plugin_config_get_worker_threads (config), ==, 3);
  k = rb_plugin_config_get_data (config, "k");
  g_assert_cmpstr (json_node_get_string (k), ==, "v");
  json = rb_plugin_config_to_json (config);
  again = rb_plugin_config_new_from_json (json, &error);
  g_assert_no_error (error);
  json2 = rb_plugin_config_to_json (again);
  g_assert_cmpstr (json, ==, json2);
  g_assert_null (rb_plugin_config_get_init_param (config, "missing"));
}

static void
test_unknown_level_is_info (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new_from_json ("{\"log_level\":\"loud\"}", &error);

  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_config_get_log_level (config), ==, RB_LOG_LEVEL_INFO);
}

/* Upstream: 0 means no limit. It round-trips through the JSON and the
 * property. */
static void
test_unlimited_ops (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new_from_json ("{\"max_concurrent_ops\":0}", &error);
  g_autoptr(RbPluginConfig) other = rb_plugin_config_new ();
  g_autofree char *json = NULL;
  guint value = 1;

  g_assert_no_error (error);
  g_assert_cmpuint (rb_plugin_config_get_max_concurrent_ops (config), ==, 0);
  json = rb_plugin_config_to_json (config);
  g_assert_nonnull (strstr (json, "\"max_concurrent_ops\":0,"));

  g_object_set (other, "max-concurrent-ops", 0, NULL);
  g_object_get (other, "max-concurrent-ops", &value, NULL);
  g_assert_cmpuint (value, ==, 0);
  rb_plugin_config_set_max_concurrent_ops (other, 5);
  rb_plugin_config_set_max_concurrent_ops (other, 0);
  g_assert_cmpuint (rb_plugin_config_get_max_concurrent_ops (other), ==, 0);
}

/* Plugins built with rustbridge 0.9.1 and later refuse any log_level but
 * the six lowercase names: whatever the config was read from, only those
 * are ever written. */
static void
test_only_six_level_names (void)
{
  static const char *const names[] = { "trace", "debug", "info", "warn", "error", "off" };
  static const struct {
    const char *in;
    const char *out;
  } cases[] = {
    { "TRACE", "trace" }, { "Debug", "debug" }, { "WARN", "warn" }, { "Off", "off" },
    { "loud", "info" }, { "warning", "info" }, { "", "info" }, { "err", "info" },
  };

  for (guint level = RB_LOG_LEVEL_TRACE; level <= RB_LOG_LEVEL_OFF; level++)
    {
      g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
      g_autofree char *json = NULL;
      g_autofree char *needle = g_strdup_printf ("\"log_level\":\"%s\"", names[level]);

      rb_plugin_config_set_log_level (config, level);
      json = rb_plugin_config_to_json (config);
      g_assert_nonnull (strstr (json, needle));
    }

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *in = g_strdup_printf ("{\"log_level\":\"%s\"}", cases[i].in);
      g_autoptr(RbPluginConfig) config = rb_plugin_config_new_from_json (in, &error);
      g_autofree char *json = NULL;
      g_autofree char *needle = g_strdup_printf ("\"log_level\":\"%s\"", cases[i].out);

      g_assert_no_error (error);
      json = rb_plugin_config_to_json (config);
      if (strstr (json, needle) == NULL)
        g_error ("log_level “%s” written as %s", cases[i].in, json);
    }
}

static void
test_bad_json (void)
{
  static const struct {
    const char *json;
    const char *needle;
  } cases[] = {
    { "{", "Invalid plugin configuration" },
    { "[1,2]", "not a JSON object" },
    { "{\"log_level\":3}", "“log_level” must be a string" },
    { "{\"worker_threads\":\"many\"}", "“worker_threads” must be an integer" },
    { "{\"max_concurrent_ops\":-1}", "“max_concurrent_ops” is out of range" },
    { "{\"max_concurrent_ops\":2147483648}", "“max_concurrent_ops” is out of range" },
    { "{\"shutdown_timeout_ms\":-1}", "“shutdown_timeout_ms” is out of range" },
    { "{\"max_concurrent_ops\":1.5}", "“max_concurrent_ops” must be an integer" },
    { "{\"data\":[1]}", "“data” must be an object" },
    { "{\"init_params\":\"x\"}", "“init_params” must be an object" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RbPluginConfig) config = rb_plugin_config_new_from_json (cases[i].json, &error);

      g_assert_null (config);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("case %s: message “%s” lacks “%s”", cases[i].json, error->message, cases[i].needle);
    }
}

static void
test_set_data_bad_json_keeps_config (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *before = rb_plugin_config_to_json (config);
  g_autofree char *after = NULL;

  g_assert_false (rb_plugin_config_set_data_json (config, "k", "{oops", &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "“k”"));
  after = rb_plugin_config_to_json (config);
  g_assert_cmpstr (before, ==, after);
}

static void
notify_cb (GObject    *object,
           GParamSpec *pspec,
           gpointer    data)
{
  (*(int *) data)++;
}

static void
test_notify_only_on_change (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  int count = 0;

  g_signal_connect (config, "notify::max-concurrent-ops", G_CALLBACK (notify_cb), &count);
  rb_plugin_config_set_max_concurrent_ops (config, 1000);
  g_assert_cmpint (count, ==, 0);
  rb_plugin_config_set_max_concurrent_ops (config, 10);
  g_assert_cmpint (count, ==, 1);
  g_object_set (config, "max-concurrent-ops", 10, NULL);
  g_assert_cmpint (count, ==, 1);
}

static void
test_copy (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPluginConfig) copy = NULL;
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  rb_plugin_config_set_data_json (config, "k", "[1]", NULL);
  rb_plugin_config_set_log_level (config, RB_LOG_LEVEL_TRACE);
  copy = rb_plugin_config_copy (config);
  a = rb_plugin_config_to_json (config);
  b = rb_plugin_config_to_json (copy);
  g_assert_cmpstr (a, ==, b);
  /* Deep: changing the original leaves the copy alone. */
  rb_plugin_config_set_data_json (config, "k", "[2]", NULL);
  c = rb_plugin_config_to_json (copy);
  g_assert_cmpstr (b, ==, c);
}

/* @prefix, @depth opening brackets, @depth closing ones, @suffix. */
static char *
nested (const char *prefix,
        guint       depth,
        const char *suffix)
{
  GString *text = g_string_new (prefix);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  g_string_append (text, suffix);
  return g_string_free (text, FALSE);
}

static void
assert_too_deep (const GError *error)
{
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG);
  if (strstr (error->message, "nested deeper than 512 levels") == NULL)
    g_error ("“%s” does not give the depth", error->message);
}

/* json-glib recurses once per level without a limit: text nested deeper
 * than the validator's 512 levels never reaches it (100,000 levels
 * overflowed the stack), whichever entry point it comes through. */
static void
test_deep_json (void)
{
  g_autofree char *deepest_ok = nested ("{\"data\":{\"k\":", 510, "}}");    /* 512 levels */
  g_autofree char *too_deep = nested ("{\"data\":{\"k\":", 511, "}}");      /* 513 */
  g_autofree char *very_deep = nested ("{\"data\":{\"k\":", 100000, "}}");
  g_autofree char *value_ok = nested ("", 512, "");
  g_autofree char *value_too_deep = nested ("", 513, "");
  g_autofree char *value_very_deep = nested ("", 100000, "");
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autoptr(JsonNode) node = NULL;
  const char * const refused[] = { too_deep, very_deep };

  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RbPluginConfig) parsed = rb_plugin_config_new_from_json (refused[i], &error);

      g_assert_null (parsed);
      assert_too_deep (error);
      parsed = rb_plugin_config_new_from_json (refused[i], NULL);
      g_assert_null (parsed);
    }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(RbPluginConfig) parsed = rb_plugin_config_new_from_json (deepest_ok, &error);

    g_assert_no_error (error);
    g_assert_nonnull (parsed);
  }

  before = rb_plugin_config_to_json (config);
  for (guint i = 0; i < 2; i++)
    {
      const char *value = i == 0 ? value_too_deep : value_very_deep;
      g_autoptr(GError) error = NULL;

      g_assert_false (rb_plugin_config_set_data_json (config, "k", value, &error));
      assert_too_deep (error);
      g_clear_error (&error);
      g_assert_false (rb_plugin_config_set_init_param_json (config, "k", value, &error));
      assert_too_deep (error);
      g_assert_false (rb_plugin_config_set_data_json (config, "k", value, NULL));
      g_assert_false (rb_plugin_config_set_init_param_json (config, "k", value, NULL));
    }
  after = rb_plugin_config_to_json (config);
  g_assert_cmpstr (before, ==, after);

  /* The limit is on the text given: a value may be 512 levels deep. */
  g_assert_true (rb_plugin_config_set_data_json (config, "k", value_ok, NULL));
  g_assert_true (rb_plugin_config_set_init_param_json (config, "k", value_ok, NULL));
  node = rb_plugin_config_get_data (config, "k");
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
}

/* JSON text may hold numbers a double cannot (1e400): json-glib reads
 * them as infinity and writes "inf.0", which is no JSON. Refused on the
 * way in; and copies never go through text (a copy of such a value that a
 * caller put in a JsonNode crashed). */
static void
test_non_finite_numbers (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPluginConfig) copy = NULL;
  g_autoptr(JsonNode) value = json_node_new (JSON_NODE_VALUE);
  g_autoptr(JsonNode) got = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPluginConfig) parsed = rb_plugin_config_new_from_json ("{\"data\":{\"k\":[1e400]}}", &error);

  g_assert_null (parsed);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "beyond the range of a double"));
  g_clear_error (&error);
  g_assert_false (rb_plugin_config_set_data_json (config, "k", "{\"x\":-1e400}", &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG);
  g_assert_nonnull (strstr (error->message, "“k”"));
  g_clear_error (&error);
  g_assert_false (rb_plugin_config_set_init_param_json (config, "k", "1e400", NULL));
  g_assert_null (rb_plugin_config_get_data (config, "k"));

  /* A large number that is finite is fine, and copied as it is. */
  g_assert_true (rb_plugin_config_set_data_json (config, "big", "{\"x\":1e300}", NULL));
  json_node_set_double (value, 1e300);
  rb_plugin_config_set_init_param (config, "big", value);
  copy = rb_plugin_config_copy (config);
  got = rb_plugin_config_get_init_param (copy, "big");
  g_assert_nonnull (got);
  g_assert_cmpfloat (json_node_get_double (got), ==, 1e300);
  g_clear_pointer (&got, json_node_unref);
  got = rb_plugin_config_get_data (copy, "big");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (got));
  g_assert_cmpfloat (json_object_get_double_member (json_node_get_object (got), "x"), ==, 1e300);

  /* What a caller builds is copied, not re-read: an infinity stays one. */
  json_node_set_double (value, INFINITY);
  rb_plugin_config_set_data (config, "inf", value);
  g_clear_object (&copy);
  copy = rb_plugin_config_copy (config);
  g_clear_pointer (&got, json_node_unref);
  got = rb_plugin_config_get_data (copy, "inf");
  g_assert_nonnull (got);
  g_assert_true (isinf (json_node_get_double (got)));
}

/* json-glib 1.6 writes 1e-08 as "1e-08.0" (no JSON): the config text
 * given to the plugin must load back with every number it holds
 * (found by fuzz-config). */
static void
test_doubles_to_json (void)
{
  static const char * const numbers[] = { "1e-8", "2.5", "7", "-0.0", "1E300", "123456789.125", "5e-324" };

  for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
    {
      g_autofree char *data = g_strdup_printf ("{\"data\":{\"k\":%s}}", numbers[i]);
      g_autoptr(RbPluginConfig) config = rb_plugin_config_new_from_json (data, NULL);
      g_autoptr(RbPluginConfig) again = NULL;
      g_autoptr(JsonNode) before = NULL;
      g_autoptr(JsonNode) after = NULL;
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_nonnull (config);
      text = rb_plugin_config_to_json (config);
      again = rb_plugin_config_new_from_json (text, &error);
      g_assert_no_error (error);
      before = rb_plugin_config_get_data (config, "k");
      after = rb_plugin_config_get_data (again, "k");
      g_assert_true (json_node_equal (before, after));
    }
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/config/defaults", test_defaults_to_json);
  g_test_add_func ("/config/properties-to-json", test_properties_to_json);
  g_test_add_func ("/config/round-trip", test_round_trip);
  g_test_add_func ("/config/unknown-level", test_unknown_level_is_info);
  g_test_add_func ("/config/bad-json", test_bad_json);
  g_test_add_func ("/config/unlimited-ops", test_unlimited_ops);
  g_test_add_func ("/config/only-six-level-names", test_only_six_level_names);
  g_test_add_func ("/config/set-data-bad-json", test_set_data_bad_json_keeps_config);
  g_test_add_func ("/config/notify", test_notify_only_on_change);
  g_test_add_func ("/config/copy", test_copy);
  g_test_add_func ("/config/deep-json", test_deep_json);
  g_test_add_func ("/config/non-finite-numbers", test_non_finite_numbers);
  g_test_add_func ("/config/doubles-to-json", test_doubles_to_json);

  return g_test_run ();
}
