/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle against what upstream rustbridge writes (doc/bundle-format.md):
 * the framework compatibility check, format 1.1's per-variant metadata, and
 * one case per strictness decision taken on upstream's validator rules.
 */
#include <string.h>

#include <glib/gstdio.h>
#include <rustbridge-glib.h>

/* A fixture of its own (not rb_bundle_test_init()'s). */
#define RB_BUNDLE_TEST_OWN_FIXTURE
#include "bundle-test-util.h"
#include "rb-test-util.h"

static char *workdir;      /* keys and bundles */
static char *tmpdir;       /* TMPDIR: private extraction dirs land here */
static char *key, *pub;
static char *fixture_checksum;   /* "sha256:<hex>" of the fixture plugin */
static char *fixture_entry;      /* its entry name in bundles made here */
static GPtrArray *reports;       /* RustBridge MESSAGE and INFO logs */

/* Reports about a bundle (MESSAGE, INFO) are collected; a WARNING or
 * CRITICAL goes on to GLib's writer, which aborts a GTest program. */
static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL, *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if (g_strcmp0 (domain, "RustBridge") == 0 && (log_level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)))
    {
      g_ptr_array_add (reports, g_strdup_printf ("%s %s", (log_level & G_LOG_LEVEL_INFO) ? "INFO" : "MESSAGE",
                                                 message));
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static guint
reports_about (const char *needle)
{
  guint n = 0;

  for (guint i = 0; i < reports->len; i++)
    if (strstr (g_ptr_array_index (reports, i), needle) != NULL)
      n++;
  return n;
}

/* make (name, signed, extra args..., NULL): a bundle around the fixture. */
static char *
make (const char *name,
      gboolean    sign,
      ...)
{
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  const char *arg;
  va_list args;

  va_start (args, sign);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (extra, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (extra, NULL);
  return rb_test_make_bundle (workdir, name, sign ? key : NULL, sign ? pub : NULL,
                              (const char * const *) extra->pdata);
}

/* "platforms=…" for --set: the current platform with the variants
 * @variants, a JSON object body in which "@LIB@" stands for the fixture's
 * library and checksum members. */
static char *
platforms_arg (const char *variants)
{
  g_autofree char *lib = g_strdup_printf ("\"library\":\"%s\",\"checksum\":\"%s\"", fixture_entry, fixture_checksum);
  g_autoptr(GString) body = g_string_new (variants);

  g_string_replace (body, "@LIB@", lib, 0);
  return g_strdup_printf ("platforms={\"%s\":{\"variants\":{%s}}}", rb_bundle_get_current_platform (), body->str);
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static RbBundle *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  RbBundle *bundle = rb_bundle_new_for_path (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bundle);
  return bundle;
}

static void
open_fails (const char *path,
            int         code,
            const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = rb_bundle_new_for_path (path, NULL, &error);

  g_assert_null (bundle);
  g_assert_error (error, RB_BUNDLE_ERROR, code);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", error->message, needle);
  /* And with no error to fill in. */
  g_assert_null (rb_bundle_new_for_path (path, NULL, NULL));
}

static RbPlugin *
load_ok (RbBundle   *bundle,
         const char *variant)
{
  g_autoptr(GError) error = NULL;
  guint before = count_entries (tmpdir);
  RbPlugin *plugin = rb_bundle_load_plugin (bundle, variant, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
  return plugin;
}

/* An unsigned bundle with @args (NULL-terminated --set values), opened
 * with signatures skipped. */
static RbBundle *
open_unsigned (const char         *name,
               const char * const *sets)
{
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  g_autofree char *path = NULL;
  RbBundle *bundle;

  for (; sets != NULL && *sets != NULL; sets++)
    {
      g_ptr_array_add (extra, (gpointer) "--set");
      g_ptr_array_add (extra, (gpointer) *sets);
    }
  g_ptr_array_add (extra, NULL);
  path = rb_test_make_bundle (workdir, name, NULL, NULL, (const char * const *) extra->pdata);
  bundle = open_ok (path);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_SKIP);
  return bundle;
}

static char *
build_info_arg (const char *version)
{
  return g_strdup_printf ("build_info={\"built_by\":\"t\",\"rustbridge_version\":\"%s\"}", version);
}

/* ------------------------------------------------------------------ */
/* Compatibility check                                                 */

static void
test_framework_supported (void)
{
  /* 0.5 (first public release) to any 1.x, as the tools write them; no
   * report for versions up to the newest tested (1.0.x). */
  const char *versions[] = { "0.5.0", "0.7.0", "0.9.1", "0.10.0", "1.0.0", "1.0.1", "v1.0.1", "1.0.0-rc.1", "0.6" };

  for (gsize i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      g_autofree char *name = g_strdup_printf ("fw-ok-%zu.rbp", i);
      g_autofree char *info = build_info_arg (versions[i]);
      const char *sets[] = { info, NULL };
      g_autoptr(RbBundle) bundle = open_unsigned (name, sets);
      g_autoptr(RbPlugin) plugin = NULL;
      g_autoptr(GError) error = NULL;

      g_ptr_array_set_size (reports, 0);
      g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
      g_assert_no_error (error);
      plugin = load_ok (bundle, NULL);
      g_assert_cmpuint (reports->len, ==, 0);
    }
}

static void
extracted_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      data)
{
  GError **out = data;
  RbPlugin *plugin = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, out);

  g_assert_null (plugin);
}

static void
test_framework_refused (void)
{
  /* Another major version, a pre-release framework, and versions that
   * say nothing of the ABI: refused before anything is extracted, even
   * before signatures (the bundles are unsigned, and STRICT would refuse
   * that next). The bundle still opens for inspection. */
  const char *versions[] = { "2.0.0", "10.1.0", "0.4.9", "0.1", "latest", "", "1", "1.x", "v", "99999999999999999999.0" };

  for (gsize i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      g_autofree char *name = g_strdup_printf ("fw-refused-%zu.rbp", i);
      g_autofree char *info = build_info_arg (versions[i]);
      const char *sets[] = { info, NULL };
      g_autoptr(RbBundle) bundle = open_unsigned (name, sets);
      g_autoptr(GError) error = NULL;
      g_autoptr(GFile) extracted = NULL;
      g_autoptr(RbPlugin) plugin = NULL;
      g_autoptr(GMainContext) context = g_main_context_new ();
      guint before = count_entries (tmpdir);

      g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "test-plugin");
      g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "rustbridge_version"), ==, versions[i]);

      rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_STRICT);
      g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      g_assert_nonnull (strstr (error->message, "rustbridge"));
      g_assert_nonnull (strstr (error->message, "0.5 to 1.x"));
      if (*versions[i] != '\0')
        g_assert_nonnull (strstr (error->message, versions[i]));
      g_clear_error (&error);
      g_assert_false (rb_bundle_verify (bundle, NULL, NULL, NULL));

      extracted = rb_bundle_extract_library (bundle, NULL, NULL, NULL, &error);
      g_assert_null (extracted);
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      g_clear_error (&error);

      plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
      g_assert_null (plugin);
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      g_clear_error (&error);
      g_assert_null (rb_bundle_load_plugin (bundle, NULL, NULL, NULL, NULL));

      g_main_context_push_thread_default (context);
      rb_bundle_load_plugin_async (bundle, NULL, NULL, NULL, extracted_cb, &error);
      while (error == NULL)
        g_main_context_iteration (context, TRUE);
      g_main_context_pop_thread_default (context);
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);

      /* Nothing was written, so nothing was loaded. */
      g_assert_cmpuint (count_entries (tmpdir), ==, before);
    }
}

static void
test_framework_not_a_string (void)
{
  g_autofree char *path = make ("fw-number.rbp", FALSE, "--set", "build_info={\"rustbridge_version\":2}", NULL);

  open_fails (path, RB_BUNDLE_ERROR_INVALID_MANIFEST, "build_info.rustbridge_version");
}

static void
test_framework_newer_reported_once (void)
{
  /* 1.x newer than tested: same ABI, loaded, reported once per bundle at
   * INFO (never a WARNING: the writer would abort the test). */
  g_autofree char *info = build_info_arg ("1.3.0");
  const char *sets[] = { info, NULL };
  g_autoptr(RbBundle) bundle = open_unsigned ("fw-newer.rbp", sets);
  g_autofree char *path = g_file_get_path (rb_bundle_get_file (bundle));
  g_autoptr(RbBundle) again = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_set_size (reports, 0);
  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (reports_about ("1.3.0"), ==, 1);
  g_assert_cmpuint (reports_about ("INFO "), ==, 1);
  for (int i = 0; i < 2; i++)
    {
      g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
    }
  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, NULL));
  g_assert_cmpuint (reports_about ("1.3.0"), ==, 1);

  /* Once per bundle: another one of the same file says it again. */
  again = open_ok (path);
  rb_bundle_set_verify_mode (again, RB_VERIFY_MODE_SKIP);
  g_assert_true (rb_bundle_verify (again, NULL, NULL, NULL));
  g_assert_true (rb_bundle_verify (again, NULL, NULL, NULL));
  g_assert_cmpuint (reports_about ("1.3.0"), ==, 2);
  /* Nothing else from the library; the plugins' own start-up logs (held
   * until the caller has the plugin, then forwarded) are not reports. */
  g_assert_cmpuint (reports->len - reports_about ("fixture plugin started"), ==, 2);
}

static void
test_framework_variant_first (void)
{
  /* Format 1.1: a variant's own build_info decides for that variant. */
  g_autofree char *platforms = platforms_arg ("\"release\":{@LIB@,\"build_info\":{\"rustbridge_version\":\"2.1.0\"}},"
                                              "\"debug\":{@LIB@},"
                                              "\"ok\":{@LIB@,\"build_info\":{\"rustbridge_version\":\"1.0.0\"}}");
  g_autofree char *top_old = build_info_arg ("0.9.0");
  g_autofree char *top_new = build_info_arg ("3.0.0");
  const char *sets_old[] = { "bundle_version=\"1.1\"", platforms, top_old, NULL };
  const char *sets_new[] = { "bundle_version=\"1.1\"", platforms, top_new, NULL };
  g_autoptr(RbBundle) old_top = open_unsigned ("fw-variant-1.rbp", sets_old);
  g_autoptr(RbBundle) new_top = open_unsigned ("fw-variant-2.rbp", sets_new);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;

  g_assert_false (rb_bundle_verify (old_top, "release", NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
  g_assert_nonnull (strstr (error->message, "2.1.0"));
  g_clear_error (&error);
  g_assert_true (rb_bundle_verify (old_top, "debug", NULL, &error));
  g_assert_no_error (error);

  g_assert_false (rb_bundle_verify (new_top, "debug", NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
  g_assert_nonnull (strstr (error->message, "3.0.0"));
  g_clear_error (&error);
  plugin = load_ok (new_top, "ok");
}

static void
test_framework_api_ignored (void)
{
  /* `api` (removed in 0.7) is read but nothing depends on it: a bundle
   * without it loads, and an old min_rustbridge_version refuses nothing. */
  const char *no_api[] = { "api=null", "build_info=null", NULL };
  const char *old_api[] = { "api={\"min_rustbridge_version\":\"0.5.0\"}", "build_info=null", NULL };
  const char *odd_api[] = { "api={\"min_rustbridge_version\":\"nonsense\",\"transports\":[]}", NULL };
  const char * const *cases[] = { no_api, old_api, odd_api };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("api-%zu.rbp", i);
      g_autoptr(RbBundle) bundle = open_unsigned (name, cases[i]);
      g_autoptr(RbPlugin) plugin = NULL;
      g_autolist(RbBundleMessage) messages = rb_bundle_list_api_messages (bundle);

      g_assert_null (messages);
      g_assert_cmpstrv (rb_bundle_get_api_transports (bundle), ((const char *[]) { NULL }));
      g_assert_true (rb_bundle_verify (bundle, NULL, NULL, NULL));
      plugin = load_ok (bundle, NULL);
    }
  {
    g_autoptr(RbBundle) bundle = open_unsigned ("api-none.rbp", no_api);
    g_assert_null (rb_bundle_get_min_rustbridge_version (bundle));
  }
}

/* ------------------------------------------------------------------ */
/* Format 1.1                                                          */

static void
assert_json_equal (const char *actual,
                   const char *expected)
{
  g_autoptr(JsonNode) a = NULL;
  g_autoptr(JsonNode) e = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (actual);
  a = json_from_string (actual, &error);
  g_assert_no_error (error);
  e = json_from_string (expected, &error);
  g_assert_no_error (error);
  if (!json_node_equal (a, e))
    g_error ("JSON “%s” is not “%s”", actual, expected);
}

static void
test_format_1_1 (void)
{
  g_autofree char *platforms = platforms_arg (
    "\"release\":{@LIB@,\"build\":{\"profile\":\"release\",\"features\":[\"a\"]},"
    "\"build_info\":{\"rustbridge_version\":\"1.0.1\",\"git\":{\"commit\":\"v1\"}},"
    "\"sbom\":{\"cyclonedx\":\"sbom/release.cdx.json\"},\"schema_checksum\":\"sha256:00\","
    "\"schemas\":{\"s\":{\"path\":\"schema/s.json\",\"format\":\"json-schema\",\"checksum\":\"" "sha256:"
    "0000000000000000000000000000000000000000000000000000000000000000\"}},"
    "\"x-future\":{\"n\":1}},"
    "\"debug\":{@LIB@}");
  const char *sets[] = { "bundle_version=\"1.1\"", platforms, "x-top-future=[1,2]",
                         "build_info={\"rustbridge_version\":\"0.10.0\",\"built_by\":\"top\"}", NULL };
  g_autoptr(RbBundle) bundle = open_unsigned ("f11.rbp", sets);
  g_autoptr(GError) error = NULL;
  g_autofree char *entry = NULL, *build = NULL, *info = NULL, *debug_info = NULL, *debug_build = NULL;
  g_autofree char *manifest = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_cmpstr (rb_bundle_get_bundle_version (bundle), ==, "1.1");
  manifest = rb_bundle_dup_manifest_json (bundle);
  g_assert_nonnull (strstr (manifest, "x-top-future"));

  entry = rb_bundle_dup_variant_json (bundle, NULL, "release", &error);
  g_assert_no_error (error);
  node = json_from_string (entry, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_assert_true (json_object_has_member (json_node_get_object (node), "x-future"));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (node), "checksum"), ==, fixture_checksum);

  build = rb_bundle_dup_variant_build_json (bundle, rb_bundle_get_current_platform (), NULL, &error);
  g_assert_no_error (error);
  assert_json_equal (build, "{\"profile\":\"release\",\"features\":[\"a\"]}");
  info = rb_bundle_dup_variant_build_info_json (bundle, NULL, "release", &error);
  g_assert_no_error (error);
  assert_json_equal (info, "{\"rustbridge_version\":\"1.0.1\",\"git\":{\"commit\":\"v1\"}}");

  /* A variant without its own: no build, the top-level build_info. */
  debug_build = rb_bundle_dup_variant_build_json (bundle, NULL, "debug", &error);
  g_assert_no_error (error);
  g_assert_null (debug_build);
  debug_info = rb_bundle_dup_variant_build_info_json (bundle, NULL, "debug", &error);
  g_assert_no_error (error);
  assert_json_equal (debug_info, "{\"rustbridge_version\":\"0.10.0\",\"built_by\":\"top\"}");
  /* The typed getters read the top level. */
  g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "rustbridge_version"), ==, "0.10.0");

  g_assert_null (rb_bundle_dup_variant_json (bundle, "plan9-mips", NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
  g_clear_error (&error);
  g_assert_null (rb_bundle_dup_variant_build_json (bundle, NULL, "nope", &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_VARIANT_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (rb_bundle_dup_variant_build_info_json (bundle, NULL, "nope", NULL));

  plugin = load_ok (bundle, NULL);
}

static void
test_format_1_0_variants (void)
{
  /* What rb-make-bundle.py writes: format 1.0 with a `build` per variant;
   * the legacy single-variant form has the platform's entry. */
  g_autofree char *path = make ("f10.rbp", FALSE, NULL);
  g_autofree char *legacy = make ("f10-legacy.rbp", FALSE, "--legacy-platform", "--set", "build_info=null", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) legacy_bundle = open_ok (legacy);
  g_autofree char *build = rb_bundle_dup_variant_build_json (bundle, NULL, NULL, NULL);
  g_autofree char *info = rb_bundle_dup_variant_build_info_json (bundle, NULL, NULL, NULL);
  g_autofree char *legacy_entry = rb_bundle_dup_variant_json (legacy_bundle, NULL, "release", NULL);
  g_autofree char *legacy_info = NULL;
  g_autoptr(GError) error = NULL;

  assert_json_equal (build, "{\"profile\":\"release\"}");
  g_assert_nonnull (strstr (info, "\"rustbridge_version\":\"0.7.0\""));
  g_assert_nonnull (strstr (legacy_entry, fixture_checksum));
  legacy_info = rb_bundle_dup_variant_build_info_json (legacy_bundle, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (legacy_info);
}

static void
test_format_versions (void)
{
  g_autofree char *v17 = make ("fv-1.7.rbp", FALSE, "--set", "bundle_version=\"1.7\"", NULL);
  g_autofree char *v2 = make ("fv-2.0.rbp", FALSE, "--set", "bundle_version=\"2.0\"", NULL);
  g_autoptr(RbBundle) bundle = open_ok (v17);

  g_assert_cmpstr (rb_bundle_get_bundle_version (bundle), ==, "1.7");
  open_fails (v2, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "2.0");
}

static void
test_format_1_1_types (void)
{
  struct {
    const char *variant;   /* members after @LIB@ */
    const char *needle;
  } cases[] = {
    { ",\"build_info\":\"x\"", "variants.release.build_info” must be an object" },
    { ",\"build_info\":{\"rustbridge_version\":1}", "variants.release.build_info.rustbridge_version” must be a string" },
    { ",\"build_info\":{\"git\":{\"commit\":false}}", "build_info.git.commit” must be a string" },
    { ",\"sbom\":[]", "variants.release.sbom” must be an object" },
    { ",\"schema_checksum\":5", "variants.release.schema_checksum” must be a string" },
    { ",\"schemas\":[]", "variants.release.schemas” must be an object" },
    { ",\"schemas\":{\"s\":{\"format\":\"c-header\"}}", "schema “s” needs a safe “path”" },
    { ",\"schemas\":{\"s\":{\"path\":\"a.h\",\"format\":1}}", "format” must be a string" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("f11-bad-%zu.rbp", i);
      g_autofree char *body = g_strdup_printf ("\"release\":{@LIB@%s}", cases[i].variant);
      g_autofree char *platforms = platforms_arg (body);
      g_autofree char *path = make (name, FALSE, "--set", "bundle_version=\"1.1\"", "--set", platforms, NULL);

      open_fails (path, RB_BUNDLE_ERROR_INVALID_MANIFEST, cases[i].needle);
    }
  {
    /* `build` is free-form: any JSON value. */
    g_autofree char *platforms = platforms_arg ("\"release\":{@LIB@,\"build\":\"release, lto\"}");
    const char *sets[] = { platforms, NULL };
    g_autoptr(RbBundle) bundle = open_unsigned ("f11-build-string.rbp", sets);
    g_autofree char *build = rb_bundle_dup_variant_build_json (bundle, NULL, NULL, NULL);

    g_assert_cmpstr (build, ==, "\"release, lto\"");
  }
}

/* ------------------------------------------------------------------ */
/* Strictness decisions (doc/bundle-format.md, "What rustbridge-glib   */
/* checks")                                                            */

static void
test_strict_checksum_forms (void)
{
  /* Lenient: with or without "sha256:", either hex case. */
  g_autofree char *upper = g_ascii_strup (fixture_checksum + strlen ("sha256:"), -1);
  g_autofree char *body_upper = g_strdup_printf ("\"release\":{\"library\":\"%s\",\"checksum\":\"sha256:%s\"}",
                                                 fixture_entry, upper);
  g_autofree char *body_bare = g_strdup_printf ("\"release\":{\"library\":\"%s\",\"checksum\":\"%s\"}",
                                                fixture_entry, upper);
  g_autofree char *p_upper = platforms_arg (body_upper);
  g_autofree char *p_bare = platforms_arg (body_bare);
  const char *sets_upper[] = { p_upper, NULL };
  const char *sets_bare[] = { p_bare, NULL };
  const char * const *cases[] = { sets_upper, sets_bare };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("sum-%zu.rbp", i);
      g_autoptr(RbBundle) bundle = open_unsigned (name, cases[i]);
      g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
    }
  {
    /* Still a SHA-256: a wrong one is refused. */
    g_autofree char *body = g_strdup_printf ("\"release\":{\"library\":\"%s\",\"checksum\":\"sha256:%064d\"}",
                                             fixture_entry, 0);
    g_autofree char *platforms = platforms_arg (body);
    const char *sets[] = { platforms, NULL };
    g_autoptr(RbBundle) bundle = open_unsigned ("sum-wrong.rbp", sets);
    g_autoptr(GError) error = NULL;

    g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
  }
}

static void
test_strict_unknown_platform (void)
{
  /* Accepted and listed, never selected. */
  g_autofree char *current = platforms_arg ("\"release\":{@LIB@}");
  g_autofree char *both = g_strdup_printf ("platforms={\"plan9-mips\":{\"variants\":{\"release\":{\"library\":\"lib/p/x.so\","
                                           "\"checksum\":\"%s\"}}},%s", fixture_checksum,
                                           current + strlen ("platforms={"));
  g_autofree char *only = g_strdup_printf ("platforms={\"plan9-mips\":{\"variants\":{\"release\":{\"library\":\"%s\","
                                           "\"checksum\":\"%s\"}}}}", fixture_entry, fixture_checksum);
  const char *sets_both[] = { both, NULL };
  const char *sets_only[] = { only, NULL };
  g_autoptr(RbBundle) bundle = open_unsigned ("plat-both.rbp", sets_both);
  g_autoptr(RbBundle) foreign = open_unsigned ("plat-only.rbp", sets_only);
  g_auto(GStrv) platforms = rb_bundle_list_platforms (bundle);
  g_auto(GStrv) variants = rb_bundle_list_variants (bundle, "plan9-mips", NULL);
  g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) none = NULL;

  g_assert_true (g_strv_contains ((const char * const *) platforms, "plan9-mips"));
  g_assert_true (g_strv_contains ((const char * const *) platforms, rb_bundle_get_current_platform ()));
  g_assert_cmpstrv (variants, ((const char *[]) { "release", NULL }));

  none = rb_bundle_load_plugin (foreign, NULL, NULL, NULL, &error);
  g_assert_null (none);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
}

static void
test_strict_variant_names (void)
{
  /* Strict, as upstream: [a-z0-9-], starting and ending with [a-z0-9]. */
  const char *bad[] = { "-debug", "debug-", "-", "Debug", "de_bug", "dé", "" };
  const char *good[] = { "debug-2", "x86-64-v3", "0", "a" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *name = g_strdup_printf ("vn-bad-%zu.rbp", i);
      g_autofree char *body = g_strdup_printf ("\"release\":{@LIB@},\"%s\":{@LIB@}", bad[i]);
      g_autofree char *platforms = platforms_arg (body);
      g_autofree char *path = make (name, FALSE, "--set", platforms, NULL);

      open_fails (path, RB_BUNDLE_ERROR_INVALID_MANIFEST, "starting and ending with a letter or a digit");
    }
  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *name = g_strdup_printf ("vn-good-%zu.rbp", i);
      g_autofree char *body = g_strdup_printf ("\"release\":{@LIB@},\"%s\":{@LIB@}", good[i]);
      g_autofree char *platforms = platforms_arg (body);
      const char *sets[] = { platforms, NULL };
      g_autoptr(RbBundle) bundle = open_unsigned (name, sets);
      g_autoptr(RbPlugin) plugin = load_ok (bundle, good[i]);
    }
}

static void
test_strict_schemas (void)
{
  g_autofree char *file = g_build_filename (workdir, "s.json", NULL);
  g_autofree char *file_arg = g_strdup_printf ("schema/s.json=%s", file);
  g_autofree char *sum = NULL;
  g_autofree char *good = NULL, *no_format = NULL, *no_checksum = NULL;
  const char *text = "{\"type\":\"object\"}";

  g_assert_true (g_file_set_contents (file, text, -1, NULL));
  sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, text, -1);

  /* format: any string (writers differ), not required. */
  good = g_strdup_printf ("schemas={\"s\":{\"path\":\"schema/s.json\",\"format\":\"some-new-format\","
                          "\"checksum\":\"%s\"}}", sum);
  no_format = g_strdup_printf ("schemas={\"s\":{\"path\":\"schema/s.json\",\"checksum\":\"sha256:%s\"}}", sum);
  for (int i = 0; i < 2; i++)
    {
      g_autofree char *name = g_strdup_printf ("sc-ok-%d.rbp", i);
      g_autofree char *path = make (name, FALSE, "--file", file_arg, "--set", i == 0 ? good : no_format, NULL);
      g_autoptr(RbBundle) bundle = open_ok (path);
      g_autoptr(GBytes) bytes = rb_bundle_read_schema (bundle, "s", NULL);

      g_assert_nonnull (bytes);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), text, strlen (text));
    }
  {
    g_autofree char *path = make ("sc-format-number.rbp", FALSE, "--file", file_arg, "--set",
                                  "schemas={\"s\":{\"path\":\"schema/s.json\",\"format\":[]}}", NULL);
    open_fails (path, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“schemas.s.format” must be a string");
  }
  {
    g_autofree char *path = make ("sc-checksum-number.rbp", FALSE, "--file", file_arg, "--set",
                                  "schemas={\"s\":{\"path\":\"schema/s.json\",\"checksum\":1}}", NULL);
    open_fails (path, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“schemas.s.checksum” must be a string");
  }
  {
    /* Without a checksum: listed, but never read. */
    g_autofree char *path = make ("sc-no-checksum.rbp", FALSE, "--file", file_arg, "--set",
                                  "schemas={\"s\":{\"path\":\"schema/s.json\",\"format\":\"json-schema\"}}", NULL);
    g_autoptr(RbBundle) bundle = open_ok (path);
    g_auto(GStrv) names = rb_bundle_list_schemas (bundle);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GFile) dest = g_file_new_for_path (workdir);
    g_autoptr(GFile) written = NULL;

    g_assert_cmpstrv (names, ((const char *[]) { "s", NULL }));
    bytes = rb_bundle_read_schema (bundle, "s", &error);
    g_assert_null (bytes);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST);
    g_assert_nonnull (strstr (error->message, "no checksum"));
    g_clear_error (&error);
    written = rb_bundle_extract_schema (bundle, "s", dest, &error);
    g_assert_null (written);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST);
    g_assert_null (rb_bundle_read_schema (bundle, "s", NULL));
    /* The file itself is there, unverified, for whoever wants it. */
    g_clear_pointer (&bytes, g_bytes_unref);
    bytes = rb_bundle_read_file (bundle, "schema/s.json", NULL);
    g_assert_nonnull (bytes);
  }
}

static void
test_strict_git_commit (void)
{
  g_autofree char *no_commit = make ("git-no-commit.rbp", FALSE, "--set",
                                     "build_info={\"git\":{\"branch\":\"main\",\"dirty\":true}}", NULL);
  g_autofree char *commit_number = make ("git-commit-number.rbp", FALSE, "--set",
                                         "build_info={\"git\":{\"commit\":12345}}", NULL);
  g_autofree char *git_string = make ("git-string.rbp", FALSE, "--set", "build_info={\"git\":\"abc\"}", NULL);
  g_autoptr(RbBundle) bundle = open_ok (no_commit);

  /* Lenient on presence: the commit reads as NULL. */
  g_assert_null (rb_bundle_get_git_commit (bundle));
  g_assert_cmpstr (rb_bundle_get_git_branch (bundle), ==, "main");
  g_assert_true (rb_bundle_get_git_dirty (bundle));
  /* Strict on types. */
  open_fails (commit_number, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“build_info.git.commit” must be a string");
  open_fails (git_string, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“build_info.git” must be an object");
}

static void
test_strict_bridges (void)
{
  /* An object, contents unused; bridge libraries are never loaded, so
   * their signatures are not checked: a signed bundle whose bridge
   * library has no signature loads in STRICT mode. */
  g_autofree char *bridge = g_build_filename (workdir, "libbridge.so", NULL);
  g_autofree char *bridge_arg = NULL;
  g_autofree char *bridges = NULL;
  g_autofree char *path = NULL;
  g_autofree char *odd = make ("bridges-odd.rbp", FALSE, "--set", "bridges={\"jni\":5,\"python\":{}}", NULL);
  g_autofree char *array = make ("bridges-array.rbp", FALSE, "--set", "bridges=[]", NULL);
  g_autofree char *string = make ("bridges-string.rbp", FALSE, "--set", "bridges=\"jni\"", NULL);

  g_assert_true (g_file_set_contents (bridge, "not a library", -1, NULL));
  bridge_arg = g_strdup_printf ("bridge/jni/%s/release/libbridge.so=%s", rb_bundle_get_current_platform (), bridge);
  bridges = g_strdup_printf ("bridges={\"jni\":{\"%s\":{\"variants\":{\"release\":{\"library\":"
                             "\"bridge/jni/%s/release/libbridge.so\",\"checksum\":\"sha256:%064d\"}}}}}",
                             rb_bundle_get_current_platform (), rb_bundle_get_current_platform (), 0);
  path = make ("bridges.rbp", TRUE, "--file", bridge_arg, "--set", bridges, NULL);
  {
    g_autoptr(RbBundle) bundle = open_ok (path);
    g_autoptr(RbPlugin) plugin = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_cmpint (rb_bundle_get_verify_mode (bundle), ==, RB_VERIFY_MODE_STRICT);
    g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
    g_assert_no_error (error);
    plugin = load_ok (bundle, NULL);
  }
  {
    g_autoptr(RbBundle) bundle = open_ok (odd);
  }
  open_fails (array, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“bridges” must be an object");
  open_fails (string, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“bridges” must be an object");
}

static void
test_strict_document_paths (void)
{
  /* Upstream's fixed paths, and any other safe path; unsafe ones refused. */
  g_autofree char *file = g_build_filename (workdir, "text.txt", NULL);
  g_autofree char *notices_arg = NULL, *license_arg = NULL, *other_arg = NULL;
  g_autofree char *fixed = NULL, *other = NULL, *unsafe = NULL, *unsafe_license = NULL, *unsafe_sbom = NULL;

  g_assert_true (g_file_set_contents (file, "text", -1, NULL));
  notices_arg = g_strdup_printf ("docs/NOTICES.txt=%s", file);
  license_arg = g_strdup_printf ("legal/LICENSE=%s", file);
  other_arg = g_strdup_printf ("COPYING=%s", file);
  fixed = make ("docs-fixed.rbp", FALSE, "--file", notices_arg, "--file", license_arg,
                "--set", "notices=\"docs/NOTICES.txt\"", "--set", "license_file=\"legal/LICENSE\"", NULL);
  other = make ("docs-other.rbp", FALSE, "--file", other_arg,
                "--set", "notices=\"COPYING\"", "--set", "license_file=\"COPYING\"", NULL);
  unsafe = make ("docs-unsafe.rbp", FALSE, "--set", "notices=\"../NOTICES.txt\"", NULL);
  unsafe_license = make ("docs-unsafe-license.rbp", FALSE, "--set", "license_file=\"/etc/passwd\"", NULL);
  unsafe_sbom = make ("docs-unsafe-sbom.rbp", FALSE, "--set", "sbom={\"spdx\":\"a/../../b\"}", NULL);

  {
    g_autoptr(RbBundle) bundle = open_ok (fixed);
    g_autoptr(GBytes) notices = rb_bundle_read_file (bundle, rb_bundle_get_notices_path (bundle), NULL);
    g_autoptr(GBytes) license = rb_bundle_read_file (bundle, rb_bundle_get_license_file_path (bundle), NULL);

    g_assert_cmpstr (rb_bundle_get_notices_path (bundle), ==, "docs/NOTICES.txt");
    g_assert_nonnull (notices);
    g_assert_nonnull (license);
  }
  {
    g_autoptr(RbBundle) bundle = open_ok (other);
    g_autoptr(GBytes) notices = rb_bundle_read_file (bundle, rb_bundle_get_notices_path (bundle), NULL);

    g_assert_cmpstr (rb_bundle_get_license_file_path (bundle), ==, "COPYING");
    g_assert_nonnull (notices);
  }
  open_fails (unsafe, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“notices” is not a safe path");
  open_fails (unsafe_license, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“license_file” is not a safe path");
  open_fails (unsafe_sbom, RB_BUNDLE_ERROR_INVALID_MANIFEST, "“sbom.spdx” is not a safe path");
}

int
main (int   argc,
      char *argv[])
{
  int ret;
  const char *parent_tmp = g_getenv ("TMPDIR");
  g_autofree char *base = NULL;
  g_autofree char *lib_data = NULL;
  g_autofree char *lib_base = NULL;
  g_autofree char *lib_sum = NULL;
  g_autofree char *minisign = NULL;
  gsize lib_len = 0;
  const char *keygen[] = { "minisign", "-G", "-W", "-p", "k.pub", "-s", "k.key", NULL };

  reports = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);

  /* Private extraction directories must appear (and vanish) here; set
   * before anything calls g_get_tmp_dir(). */
  base = g_build_filename (parent_tmp != NULL && *parent_tmp != '\0' ? parent_tmp : "/tmp",
                           "rb-bundle-compat-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (base));
  workdir = g_build_filename (base, "work", NULL);
  tmpdir = g_build_filename (base, "tmp", NULL);
  g_mkdir (workdir, 0700);
  g_mkdir (tmpdir, 0700);
  g_setenv ("TMPDIR", tmpdir, TRUE);
  /* STRICT needs a key the application trusts: the test key goes into the
   * user's trusted-keys directory below; the system's are empty. GLib
   * reads both once: before rb_test_init(). */
  {
    g_autofree char *config = g_build_filename (base, "config", NULL);
    g_autofree char *data = g_build_filename (base, "data", NULL);
    g_setenv ("XDG_CONFIG_HOME", config, TRUE);
    g_setenv ("XDG_DATA_DIRS", data, TRUE);
  }

  rb_test_init (&argc, &argv);
  g_assert_cmpstr (g_get_tmp_dir (), ==, tmpdir);

  g_assert_true (g_file_get_contents (rb_test_plugin_path (RB_TEST_FIXTURE), &lib_data, &lib_len, NULL));
  lib_sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) lib_data, lib_len);
  fixture_checksum = g_strconcat ("sha256:", lib_sum, NULL);
  lib_base = g_path_get_basename (rb_test_plugin_path (RB_TEST_FIXTURE));
  /* Where rb-make-bundle.py puts the release library. */
  fixture_entry = g_strdup_printf ("lib/%s/release/%s", rb_bundle_get_current_platform (), lib_base);

  minisign = g_find_program_in_path ("minisign");
  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      return g_test_run ();
    }
  rb_test_run_in (workdir, keygen);
  key = g_build_filename (workdir, "k.key", NULL);
  pub = g_build_filename (workdir, "k.pub", NULL);
  {
    g_autofree char *trusted = g_build_filename (g_get_user_config_dir (), "rustbridge", "trusted-keys", NULL);
    g_autofree char *copy = g_build_filename (trusted, "k.pub", NULL);
    g_autofree char *text = NULL;

    g_assert_cmpint (g_mkdir_with_parents (trusted, 0700), ==, 0);
    g_assert_true (g_file_get_contents (pub, &text, NULL, NULL));
    g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  }

  g_test_add_func ("/bundle-compat/framework/supported", test_framework_supported);
  g_test_add_func ("/bundle-compat/framework/refused", test_framework_refused);
  g_test_add_func ("/bundle-compat/framework/not-a-string", test_framework_not_a_string);
  g_test_add_func ("/bundle-compat/framework/newer-reported-once", test_framework_newer_reported_once);
  g_test_add_func ("/bundle-compat/framework/variant-first", test_framework_variant_first);
  g_test_add_func ("/bundle-compat/framework/api-ignored", test_framework_api_ignored);
  g_test_add_func ("/bundle-compat/format/1.1", test_format_1_1);
  g_test_add_func ("/bundle-compat/format/1.0-variants", test_format_1_0_variants);
  g_test_add_func ("/bundle-compat/format/versions", test_format_versions);
  g_test_add_func ("/bundle-compat/format/1.1-types", test_format_1_1_types);
  g_test_add_func ("/bundle-compat/strict/checksum-forms", test_strict_checksum_forms);
  g_test_add_func ("/bundle-compat/strict/unknown-platform", test_strict_unknown_platform);
  g_test_add_func ("/bundle-compat/strict/variant-names", test_strict_variant_names);
  g_test_add_func ("/bundle-compat/strict/schemas", test_strict_schemas);
  g_test_add_func ("/bundle-compat/strict/git-commit", test_strict_git_commit);
  g_test_add_func ("/bundle-compat/strict/bridges", test_strict_bridges);
  g_test_add_func ("/bundle-compat/strict/document-paths", test_strict_document_paths);

  ret = g_test_run ();

  rb_test_remove_tree (base);
  g_ptr_array_unref (reports);
  g_free (workdir);
  g_free (tmpdir);
  g_free (key);
  g_free (pub);
  g_free (fixture_checksum);
  g_free (fixture_entry);
  return ret;
}
