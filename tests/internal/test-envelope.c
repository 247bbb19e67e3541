/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The response envelope reader (rb-envelope-private.c), without a plugin.
 */
#include <string.h>

#include <json-glib/json-glib.h>

#include "rb-envelope-private.h"
#include "rb-json-private.h"
#include "rb-test-util.h"

static char *
read_str (guint32      code,
          const char  *text,
          GError     **error)
{
  return rb_envelope_read (code, (const guint8 *) text, text ? strlen (text) : 0, error);
}

static void
test_success_payloads (void)
{
  static const struct {
    const char *envelope;
    const char *payload;
  } cases[] = {
    { "{\"status\":\"success\",\"payload\":{\"message\":\"Hello\",\"length\":5}}", "{\"message\":\"Hello\",\"length\":5}" },
    { "{\"status\":\"success\",\"payload\":null}", "null" },
    { "{\"status\":\"success\",\"payload\":\"hi\"}", "\"hi\"" },
    { "{\"status\":\"success\",\"payload\":[1,2,3]}", "[1,2,3]" },
    { "{\"status\":\"success\",\"payload\":-12.5e+3}", "-12.5e+3" },
    { "{\"status\":\"success\",\"payload\":{\"a\":{\"b\":[true,false,null,\"x\\\"y\\u00e9\"]}}}",
      "{\"a\":{\"b\":[true,false,null,\"x\\\"y\\u00e9\"]}}" },
    { "{\"status\":\"success\",\"payload\":\"caf\xc3\xa9\"}", "\"caf\xc3\xa9\"" },
    { "{\"status\":\"success\",\"payload\":{}}", "{}" },
    { "{\"status\":\"success\",\"payload\":[]}", "[]" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *payload = read_str (0, cases[i].envelope, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (payload, ==, cases[i].payload);
    }
}

static void
test_success_slow_path (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *a = read_str (0, "{ \"status\" : \"success\", \"payload\" : {\"x\": 1} }", &error);
  g_autofree char *b = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (a, ==, "{\"x\":1}");

  b = read_str (0, "{\"payload\":{\"x\":1},\"status\":\"success\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (b, ==, "{\"x\":1}");

  /* json-glib's own writer turns 1e-08 into "1e-08.0", which is no JSON:
   * the slow path writes the payload back with ours. */
  g_clear_pointer (&b, g_free);
  b = read_str (0, "{\"payload\":[1e-8,2.5,7,-0.0,1E300,\"\\u0001\\ud83d\\ude00\"],\"status\":\"success\"}", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (b, ==, "[1e-08,2.5,7,-0.0,1e+300,\"\\u0001\xf0\x9f\x98\x80\"]");
}

/* Envelopes may carry an optional "request_id" (a u64) after the
 * documented members; error texts are taken as they come (the error's
 * display text); a result that does not serialise is plain text, code 5. */
static void
test_upstream_forms (void)
{
  static const char * const ids[] = { "0", "42", "9223372036854775807", "9223372036854775808",
                                      "18446744073709551615" };

  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *ok = g_strdup_printf ("{\"status\":\"success\",\"payload\":{\"x\":[1,2]},"
                                             "\"request_id\":%s}", ids[i]);
      g_autofree char *okn = g_strdup_printf ("{\"status\":\"success\",\"payload\":null,"
                                              "\"request_id\":%s}", ids[i]);
      g_autofree char *failed = g_strdup_printf ("{\"status\":\"error\",\"error_code\":7,"
                                                 "\"error_message\":\"handler error: name is required\","
                                                 "\"request_id\":%s}", ids[i]);
      g_autofree char *payload = read_str (0, ok, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (payload, ==, "{\"x\":[1,2]}");
      g_clear_pointer (&payload, g_free);
      payload = read_str (0, okn, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (payload, ==, "null");

      g_assert_null (read_str (7, failed, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_HANDLER);
      g_assert_cmpstr (error->message, ==, "handler error: name is required");
    }

  /* The fourth form: plain text with code 5, not an envelope. */
  {
    g_autoptr(GError) error = NULL;

    g_assert_null (read_str (5, "Serialization error: expected value at line 1 column 1", &error));
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
    g_assert_cmpstr (error->message, ==, "Serialization error: expected value at line 1 column 1");
    g_clear_error (&error);

    /* Plain text that happens to start with a brace stays text. */
    g_assert_null (read_str (5, "{not json}: key must be a string", &error));
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
    g_assert_cmpstr (error->message, ==, "{not json}: key must be a string");
  }
}

static void
test_malformed (void)
{
  static const char * const cases[] = {
    "this is not json",
    "{\"status\":\"success\"}",
    "{\"status\":\"success\",\"payload\":{\"a\":1",
    "{\"status\":\"success\",\"payload\":1}garbage",
    "{\"status\":\"weird\",\"payload\":1}",
    "{\"status\":\"success\",\"payload\":{\"a\":1,}}",
    "{\"status\":\"success\",\"payload\":[1,]}",
    "{\"status\":\"success\",\"payload\":01}",
    "{\"status\":\"success\",\"payload\":\"unterminated}",
    "{\"status\":\"success\",\"payload\":\"bad \\x escape\"}",
    "{\"status\":\"success\",\"payload\":\"\xff\"}",
    "{\"status\":\"success\",\"payload\":tru}",
    "{\"status\":\"success\",\"payload\":}",
    "[1,2]",
    "\"just a string\"",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *payload = read_str (0, cases[i], &error);

      g_assert_null (payload);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
    }

  {
    g_autoptr(GError) error = NULL;
    g_autofree char *payload = rb_envelope_read (0, NULL, 0, &error);
    g_assert_null (payload);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
  }
}

static void
test_embedded_nul (void)
{
  static const char data[] = "{\"status\":\"success\",\"payload\":\"a\0b\"}";
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = rb_envelope_read (0, (const guint8 *) data, sizeof data - 1, &error);

  g_assert_null (payload);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
}

static void
test_deep_nesting (void)
{
  GString *s = g_string_new ("{\"status\":\"success\",\"payload\":");
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (s, '[');
  for (int i = 0; i < 100000; i++)
    g_string_append_c (s, ']');
  g_string_append_c (s, '}');

  /* Refused without recursion (no stack overflow), by both paths. */
  payload = rb_envelope_read (0, (const guint8 *) s->str, s->len, &error);
  g_assert_null (payload);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "512"));
  g_string_free (s, TRUE);
}

static char *
nested (const char *prefix,
        gsize       depth,
        const char *suffix)
{
  GString *s = g_string_new (prefix);

  for (gsize i = 0; i < depth; i++)
    g_string_append_c (s, '[');
  for (gsize i = 0; i < depth; i++)
    g_string_append_c (s, ']');
  g_string_append (s, suffix);
  return g_string_free (s, FALSE);
}

/* Error envelopes (and anything else json-glib would see) go through the
 * depth-limited scanner first: json-glib recurses per level. */
static void
test_deep_error_envelope (void)
{
  static const char * const prefixes[] = {
    "{\"status\":\"error\",\"error_code\":7,\"error_message\":",
    "{\"status\":\"error\",\"error_code\":7,\"error_message\":\"m\",\"x\":",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      g_autofree char *text = nested (prefixes[i], 200000, "}");
      g_autoptr(GError) error = NULL;
      g_autofree char *payload = read_str (7, text, &error);

      g_assert_null (payload);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
      g_assert_nonnull (strstr (error->message, "512"));
    }

  /* Within the limit the envelope is read as usual. */
  {
    g_autofree char *text = nested ("{\"status\":\"error\",\"error_code\":7,\"error_message\":\"m\",\"x\":",
                                    RB_JSON_MAX_DEPTH - 1, "}");
    g_autoptr(GError) error = NULL;

    rb_envelope_set_error (7, (const guint8 *) text, strlen (text), &error);
    g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_HANDLER);
    g_assert_cmpstr (error->message, ==, "m");
  }
}

static void
test_json_check (void)
{
  g_autofree char *at_limit = nested ("", RB_JSON_MAX_DEPTH, "");
  g_autofree char *over = nested ("", RB_JSON_MAX_DEPTH + 1, "");
  g_autofree char *far_over = nested ("", 200000, "");
  g_autofree char *over_then_bad = nested ("", RB_JSON_MAX_DEPTH + 1, "x");

  g_assert_cmpint (rb_json_value_check (at_limit, strlen (at_limit)), ==, RB_JSON_VALID);
  g_assert_cmpint (rb_json_value_check (over, strlen (over)), ==, RB_JSON_TOO_DEEP);
  g_assert_cmpint (rb_json_value_check (far_over, strlen (far_over)), ==, RB_JSON_TOO_DEEP);
  g_assert_cmpint (rb_json_value_check (over_then_bad, strlen (over_then_bad)), ==, RB_JSON_TOO_DEEP);
  g_assert_cmpint (rb_json_value_check ("[1,", 3), ==, RB_JSON_MALFORMED);
  g_assert_cmpint (rb_json_value_check ("\"\xff\"", 3), ==, RB_JSON_MALFORMED);
  g_assert_true (rb_json_value_is_valid (at_limit, strlen (at_limit)));
  g_assert_false (rb_json_value_is_valid (over, strlen (over)));
}

static void
test_check_buffer (void)
{
  static const guint8 bytes[16];
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_envelope_check_buffer (bytes, 16, 16, "response", NULL));
  g_assert_true (rb_envelope_check_buffer (bytes, 0, 16, "response", NULL));
  g_assert_true (rb_envelope_check_buffer (NULL, 0, 0, "response", NULL));

  g_assert_false (rb_envelope_check_buffer (bytes, 17, 16, "response", &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "capacity"));
  g_clear_error (&error);
  g_assert_false (rb_envelope_check_buffer (NULL, 1, 1, "raw response", &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "NULL"));
  g_assert_nonnull (strstr (error->message, "raw response"));
  g_assert_false (rb_envelope_check_buffer (bytes, 17, 16, "response", NULL));
}

static void
test_error_forms (void)
{
  static const struct {
    guint32     code;
    const char *data;
    int         domain_code;
    const char *message;
  } cases[] = {
    { 6, "{\"status\":\"error\",\"error_code\":6,\"error_message\":\"unknown message type: nope\"}",
      RB_PLUGIN_ERROR_UNKNOWN_MESSAGE, "unknown message type: nope" },
    { 1, "Invalid handle", RB_PLUGIN_ERROR_INVALID_STATE, "Invalid handle" },
    { 11, "Plugin panicked: boom", RB_PLUGIN_ERROR_INTERNAL, "Plugin panicked: boom" },
    /* The envelope's code wins over the buffer's. */
    { 7, "{\"status\":\"error\",\"error_code\":9,\"error_message\":\"stop\"}", RB_PLUGIN_ERROR_CANCELLED, "stop" },
    { 7, "{\"status\":\"error\",\"error_code\":7}", RB_PLUGIN_ERROR_HANDLER, "Plugin call failed with error code 7" },
    { 13, "", RB_PLUGIN_ERROR_TOO_MANY_REQUESTS, "Plugin call failed with error code 13" },
    { 42, "{\"status\":\"error\",\"error_code\":42,\"error_message\":\"strange\"}", RB_PLUGIN_ERROR_PROTOCOL,
      "Plugin returned unknown error code 42: strange" },
    { 5, "{not json at all", RB_PLUGIN_ERROR_SERIALIZATION, "{not json at all" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *payload = read_str (cases[i].code, cases[i].data, &error);

      g_assert_null (payload);
      g_assert_error (error, RB_PLUGIN_ERROR, cases[i].domain_code);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_error_invalid_utf8 (void)
{
  static const char data[] = "bad \xff byte";
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = rb_envelope_read (7, (const guint8 *) data, sizeof data - 1, &error);

  g_assert_null (payload);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_HANDLER);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_assert_true (g_str_has_prefix (error->message, "bad "));
}

/* Differential check: whatever the scanner accepts, json-glib parses to
 * the same value; mutated envelopes never crash the reader. */
static void
test_scanner_against_json_glib (void)
{
  static const char * const seeds[] = {
    "{\"message\":\"Hello\",\"length\":5}",
    "[1,2.5,-3e4,true,false,null,\"s\\n\\u0041\"]",
    "{\"a\":{\"b\":[{},[],\"\"]}}",
    "\"caf\xc3\xa9\"",
  };
  static const char alphabet[] = "{}[]\",:\\ 0123456789.eE+-truefalsnu\x01\x80\xc3\xa9";
  GRand *rand = g_rand_new_with_seed (20261124);
  guint accepted = 0;

  for (int round = 0; round < 20000; round++)
    {
      const char *seed = seeds[round % G_N_ELEMENTS (seeds)];
      g_autofree char *s = g_strdup (seed);
      gsize len = strlen (s);
      int mutations = g_rand_int_range (rand, 0, 3);

      for (int m = 0; m < mutations && len > 0; m++)
        s[g_rand_int_range (rand, 0, (gint32) len)] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];

      if (rb_json_value_is_valid (s, len))
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(JsonNode) node = json_from_string (s, &error);

          accepted++;
          g_assert_no_error (error);
          g_assert_nonnull (node);
        }

      {
        g_autofree char *envelope = g_strdup_printf ("{\"status\":\"success\",\"payload\":%s}", s);
        g_autoptr(GError) error = NULL;
        g_autofree char *payload = read_str (0, envelope, &error);

        g_assert_true ((payload == NULL) == (error != NULL));
      }
    }
  /* The unmutated seeds (a third of the rounds) at least. */
  g_assert_cmpuint (accepted, >=, 20000 / 3);
  g_rand_free (rand);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/envelope/success", test_success_payloads);
  g_test_add_func ("/envelope/success-slow-path", test_success_slow_path);
  g_test_add_func ("/envelope/upstream-forms", test_upstream_forms);
  g_test_add_func ("/envelope/malformed", test_malformed);
  g_test_add_func ("/envelope/embedded-nul", test_embedded_nul);
  g_test_add_func ("/envelope/deep-nesting", test_deep_nesting);
  g_test_add_func ("/envelope/deep-error-envelope", test_deep_error_envelope);
  g_test_add_func ("/envelope/json-check", test_json_check);
  g_test_add_func ("/envelope/check-buffer", test_check_buffer);
  g_test_add_func ("/envelope/error-forms", test_error_forms);
  g_test_add_func ("/envelope/error-invalid-utf8", test_error_invalid_utf8);
  g_test_add_func ("/envelope/scanner-vs-json-glib", test_scanner_against_json_glib);

  return g_test_run ();
}
