/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle, the manifest: its typed accessors, API messages, schemas, and manifests
 * that are wrong, too deep or out of range. Bundles are made at test time by
 * tests/bundle/rb-make-bundle.py and signed with Debian's minisign tool (see
 * bundle-test-util.h).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bundle-test-util.h"
#include "rb-test-util.h"

/* The typed accessors: build information, API messages, legal files. */
static void
test_accessors (void)
{
  g_autofree char *notices = g_build_filename (workdir, "NOTICES", NULL);
  g_autofree char *notices_entry = g_strdup_printf ("legal/NOTICES=%s", notices);
  g_autofree char *path = NULL;
  g_autofree char *bare = make_unsigned ("bare.rbp", "--set", "api=null", "--set", "build_info={\"built_at\":\"yesterday\"}",
                                         NULL);
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbBundle) b = NULL;
  g_autolist(RbBundleMessage) messages = NULL;
  g_autolist(RbBundleMessage) none = NULL;
  g_autoptr(RbBundleMessage) echo = NULL;
  g_autoptr(RbBundleMessage) by_id = NULL;
  g_autoptr(RbBundleMessage) add = NULL;
  g_autoptr(GDateTime) built_at = NULL;
  g_autoptr(GDateTime) expected = NULL;
  g_autoptr(GBytes) sbom = NULL;
  g_autoptr(GBytes) text = NULL;
  g_autoptr(GBytes) missing = NULL;
  g_autoptr(GBytes) request = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *transports = NULL;
  const char * const *no_transports = NULL;
  guint8 raw[64] = { 1 };

  g_assert_true (g_file_set_contents (notices, "Third-party notices", -1, NULL));
  path = make ("accessors.rbp", "--file", notices_entry,
               "--set", "notices=\"legal/NOTICES\"", "--set", "license_file=\"legal/LICENSE\"", NULL);
  bundle = open_ok (path);

  g_assert_cmpstr (rb_bundle_get_git_branch (bundle), ==, "main");
  g_assert_cmpstr (rb_bundle_get_git_tag (bundle), ==, "v1.0.0");
  g_assert_false (rb_bundle_get_git_dirty (bundle));
  built_at = rb_bundle_dup_built_at (bundle);
  expected = g_date_time_new_utc (2026, 11, 24, 0, 0, 0);
  g_assert_nonnull (built_at);
  g_assert_true (g_date_time_equal (built_at, expected));

  transports = rb_bundle_get_api_transports (bundle);
  g_assert_cmpstrv (transports, ((const char *[]) { "json", "cstruct", NULL }));
  messages = rb_bundle_list_api_messages (bundle);
  g_assert_cmpuint (g_list_length (messages), ==, 2);
  echo = rb_bundle_lookup_api_message (bundle, "echo");
  g_assert_true (echo == messages->data);
  g_assert_cmpstr (rb_bundle_message_get_type_tag (messages->next->data), ==, "math.add");
  g_assert_cmpstr (rb_bundle_message_get_type_tag (echo), ==, "echo");
  g_assert_cmpint (rb_bundle_message_get_message_id (echo), ==, 1);
  g_assert_cmpstr (rb_bundle_message_get_description (echo), ==, "Echo");
  g_assert_cmpstr (rb_bundle_message_get_transport (echo), ==, "json");
  g_assert_cmpstr (rb_bundle_message_get_request_schema (echo), ==, "echo");
  g_assert_null (rb_bundle_message_get_response_schema (echo));
  g_assert_cmpstr (rb_bundle_message_get_cstruct_request (echo), ==, "FixtureRawEchoRequest");
  g_assert_cmpstr (rb_bundle_message_get_cstruct_response (echo), ==, "FixtureRawEchoResponse");
  by_id = rb_bundle_lookup_api_message_by_id (bundle, 1);
  g_assert_true (by_id == echo);
  add = rb_bundle_lookup_api_message (bundle, "math.add");
  g_assert_cmpint (rb_bundle_message_get_message_id (add), ==, -1);
  g_assert_null (rb_bundle_message_get_transport (add));
  g_assert_null (rb_bundle_lookup_api_message (bundle, "nope"));
  g_assert_null (rb_bundle_lookup_api_message_by_id (bundle, 2));
  /* The messages outlive the list. */
  g_list_free_full (g_steal_pointer (&messages), (GDestroyNotify) rb_bundle_message_unref);

  /* The id from the manifest is the one call_raw takes. */
  plugin = load_ok (bundle, NULL);
  request = g_bytes_new (raw, sizeof raw);
  reply = rb_plugin_call_raw (plugin, (guint32) rb_bundle_message_get_message_id (echo), request, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (reply), ==, 68);

  g_assert_cmpstr (rb_bundle_get_notices_path (bundle), ==, "legal/NOTICES");
  g_assert_cmpstr (rb_bundle_get_license_file_path (bundle), ==, "legal/LICENSE");
  text = rb_bundle_read_file (bundle, rb_bundle_get_notices_path (bundle), &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (text, NULL), g_bytes_get_size (text), "Third-party notices", 19);
  sbom = rb_bundle_read_file (bundle, rb_bundle_get_sbom_path (bundle, "cyclonedx"), &error);
  g_assert_no_error (error);
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (sbom, NULL), g_bytes_get_size (sbom), "CycloneDX"));
  /* The manifest names a licence file the archive does not hold. */
  missing = rb_bundle_read_file (bundle, rb_bundle_get_license_file_path (bundle), &error);
  g_assert_null (missing);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "legal/LICENSE"));
  g_clear_error (&error);

  /* A manifest without api, git or a readable date. */
  b = open_ok (bare);
  none = rb_bundle_list_api_messages (b);
  g_assert_null (none);
  no_transports = rb_bundle_get_api_transports (b);
  g_assert_cmpstrv (no_transports, ((const char *[]) { NULL }));
  g_assert_null (rb_bundle_dup_built_at (b));
  g_assert_null (rb_bundle_get_git_branch (b));
  g_assert_null (rb_bundle_get_git_tag (b));
  g_assert_false (rb_bundle_get_git_dirty (b));
  g_assert_null (rb_bundle_get_notices_path (b));
  g_assert_null (rb_bundle_lookup_api_message (b, "echo"));
}

/* api.messages and api.transports are checked at open: the typed view of
 * a manifest never silently drops what it cannot read. */
static void
test_bad_api (void)
{
  static const struct {
    const char *api;
    const char *needle;
  } cases[] = {
    { "api=[]", "“api” must be an object" },
    { "api={\"messages\":{}}", "“api.messages” must be an array" },
    { "api={\"messages\":[5]}", "“api.messages[0]” must be an object" },
    { "api={\"messages\":[{\"description\":\"no tag\"}]}", "“api.messages[0].type_tag” must be a non-empty string" },
    { "api={\"messages\":[{\"type_tag\":\"a\"},{\"type_tag\":7}]}", "“api.messages[1].type_tag” must be a string" },
    { "api={\"messages\":[{\"type_tag\":\"a\",\"message_id\":-1}]}", "“api.messages[0].message_id” must be an integer" },
    { "api={\"messages\":[{\"type_tag\":\"a\",\"message_id\":4294967296}]}", "“api.messages[0].message_id” must be an integer" },
    { "api={\"messages\":[{\"type_tag\":\"a\",\"message_id\":1.5}]}", "“api.messages[0].message_id” must be an integer" },
    { "api={\"messages\":[{\"type_tag\":\"a\",\"transport\":[]}]}", "“api.messages[0].transport” must be a string" },
    { "api={\"transports\":\"json\"}", "“api.transports” must be an array" },
    { "api={\"transports\":[\"json\",1]}", "“api.transports” must hold strings only" },
    { "api={\"min_rustbridge_version\":7}", "“api.min_rustbridge_version” must be a string" },
    { "notices=5", "“notices” must be a string" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad-api-%" G_GSIZE_FORMAT ".rbp", i);
      g_autofree char *path = make_unsigned (name, "--set", cases[i].api, NULL);
      open_fails (path, RB_BUNDLE_ERROR_INVALID_MANIFEST, cases[i].needle);
    }
}

static void
test_schemas (void)
{
  g_autofree char *path = make ("schemas.rbp", "--schema", "echo=fixture-raw.h", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = rb_bundle_read_schema (bundle, "echo", &error);
  g_autofree char *dir = g_dir_make_tmp ("schema-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GFile) written = NULL;
  g_autoptr(GFile) again = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_no_error (error);
  /* The bytes are the entry's, without a NUL after them. */
  g_assert_nonnull (g_strstr_len (g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes),
                                  "FixtureRawEchoRequest"));
  written = rb_bundle_extract_schema (bundle, "echo", dest, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_load_contents (written, NULL, &contents, &len, NULL, NULL));
  g_assert_cmpuint (len, ==, g_bytes_get_size (bytes));
  again = rb_bundle_extract_schema (bundle, "echo", dest, &error);
  g_assert_null (again);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_null (rb_bundle_read_schema (bundle, "nope", &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
  g_file_delete (written, NULL, NULL);
  g_rmdir (dir);
}

static void
test_bad_manifests (void)
{
  g_autofree char *not_json = g_build_filename (workdir, "not-json.txt", NULL);
  g_autofree char *huge = g_build_filename (workdir, "huge.json", NULL);
  g_autofree char *huge_text = NULL;
  g_autofree char *p1 = NULL, *p2 = NULL, *p3 = NULL, *p4 = NULL, *p5 = NULL, *p6 = NULL, *p7 = NULL;
  GString *big = g_string_new ("{\"bundle_version\":\"1.0\",\"padding\":\"");

  g_assert_true (g_file_set_contents (not_json, "{this is not json", -1, NULL));
  for (int i = 0; i < 2 * 1024 * 1024; i++)
    g_string_append_c (big, 'x');
  g_string_append (big, "\"}");
  huge_text = g_string_free (big, FALSE);
  g_assert_true (g_file_set_contents (huge, huge_text, -1, NULL));

  p1 = make ("m-not-json.rbp", "--raw-manifest", not_json, NULL);
  open_fails (p1, RB_BUNDLE_ERROR_INVALID_MANIFEST, "manifest.json");
  p2 = make ("m-huge.rbp", "--raw-manifest", huge, NULL);
  open_fails (p2, RB_BUNDLE_ERROR_TOO_LARGE, "manifest.json");
  p3 = make ("m-version.rbp", "--set", "bundle_version=\"2.0\"", NULL);
  open_fails (p3, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "2.0");
  p4 = make ("m-plugin-type.rbp", "--set", "plugin={\"name\":5,\"version\":\"1\"}", NULL);
  open_fails (p4, RB_BUNDLE_ERROR_INVALID_MANIFEST, "plugin.name");
  p5 = make ("m-platforms-type.rbp", "--set", "platforms=[]", NULL);
  open_fails (p5, RB_BUNDLE_ERROR_INVALID_MANIFEST, "platforms");
  p6 = make ("m-no-release.rbp", "--set",
             "platforms={\"linux-x86_64\":{\"variants\":{\"debug\":{\"library\":\"lib/x.so\",\"checksum\":\"sha256:00\"}}}}",
             NULL);
  open_fails (p6, RB_BUNDLE_ERROR_INVALID_MANIFEST, NULL);
  p7 = make ("m-bad-path.rbp", "--set",
             "platforms={\"linux-x86_64\":{\"variants\":{\"release\":{\"library\":\"../x.so\",\"checksum\":\"sha256:"
             "0000000000000000000000000000000000000000000000000000000000000000\"}}}}",
             NULL);
  open_fails (p7, RB_BUNDLE_ERROR_INVALID_MANIFEST, "unsafe library path");
}

static void
test_min_version_warning (void)
{
  g_autofree char *path = make ("future.rbp", "--set", "api={\"min_rustbridge_version\":\"9.9.0\"}", NULL);
  g_autoptr(RbBundle) bundle = NULL;

  g_ptr_array_set_size (warnings, 0);
  bundle = open_ok (path);
  g_assert_true (warned_about ("9.9.0"));
}

/* Writes @depth opening brackets, then as many closing ones, between
 * @prefix and @suffix into @dir/@name. */
static char *
write_nested (const char *name,
              const char *prefix,
              guint       depth,
              const char *suffix)
{
  GString *text = g_string_new (prefix);
  char *path = g_build_filename (workdir, name, NULL);

  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, '[');
  for (guint i = 0; i < depth; i++)
    g_string_append_c (text, ']');
  g_string_append (text, suffix);
  g_assert_true (g_file_set_contents (path, text->str, (gssize) text->len, NULL));
  g_string_free (text, TRUE);
  return path;
}

/* json-glib recurses once per level without a limit: a manifest nested
 * 100,000 deep (a 14 KB bundle) overflowed the stack. Nothing deeper than
 * the validator's 512 levels reaches it. */
static void
test_deep_manifest (void)
{
  g_autofree char *arrays = write_nested ("deep-arrays.json", "", 100000, "");
  g_autofree char *member = write_nested ("deep-member.json", "{\"bundle_version\":\"1.0\",\"x\":", 100000, "}");
  g_autofree char *just_over = write_nested ("deep-513.json", "{\"bundle_version\":\"1.0\",\"x\":", 512, "}");
  g_autofree char *p1 = make ("m-deep-arrays.rbp", "--raw-manifest", arrays, NULL);
  g_autofree char *p2 = make ("m-deep-member.rbp", "--raw-manifest", member, NULL);
  g_autofree char *p3 = make ("m-deep-513.rbp", "--raw-manifest", just_over, NULL);
  g_autofree char *deep_ok = NULL;
  GString *value = g_string_new ("x=");
  g_autoptr(RbBundle) bundle = NULL;
  struct stat st;

  g_assert_cmpint (g_stat (p1, &st), ==, 0);
  /* A small file: the 100,000-deep manifest compresses to a few KiB; most
   * of the rest is the fixture library (larger in a sanitizer build). */
  g_assert_cmpint (st.st_size, <, 1024 * 1024);
  open_fails (p1, RB_BUNDLE_ERROR_INVALID_MANIFEST, "nested deeper than 512 levels");
  open_fails (p2, RB_BUNDLE_ERROR_INVALID_MANIFEST, "nested deeper than 512 levels");
  open_fails (p3, RB_BUNDLE_ERROR_INVALID_MANIFEST, "nested deeper than 512 levels");
  g_assert_null (open_bundle (p1, NULL));

  /* 512 levels in all are fine (the object itself is one). */
  for (guint i = 0; i < 511; i++)
    g_string_append_c (value, '[');
  for (guint i = 0; i < 511; i++)
    g_string_append_c (value, ']');
  deep_ok = make ("m-deep-512.rbp", "--set", value->str, NULL);
  g_string_free (value, TRUE);
  bundle = open_ok (deep_ok);
  g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "test-plugin");
}

/* JSON numbers beyond a double (1e400) read as infinity, which json-glib
 * writes as "inf.0" and cannot read back: the manifest's objects are
 * copied without going through text (build_info came back NULL). */
static void
test_manifest_huge_numbers (void)
{
  g_autofree char *plain = make ("huge-numbers-source.rbp", NULL);
  g_autoptr(RbBundle) source = open_ok (plain);
  g_autofree char *manifest = rb_bundle_dup_manifest_json (source);
  g_autofree char *edited_path = g_build_filename (workdir, "huge-numbers.json", NULL);
  g_autofree char *path = NULL;
  g_autoptr(GString) edited = g_string_new (manifest);
  g_autoptr(RbBundle) bundle = NULL;
  g_autolist(RbBundleMessage) messages = NULL;

  g_assert_cmpuint (g_string_replace (edited, "\"ci_job\": \"42\"", "\"ci_job\": \"42\", \"n\": 1e400", 1), ==, 1);
  g_assert_cmpuint (g_string_replace (edited, "\"description\": \"Add\"", "\"description\": \"Add\", \"n\": -1e400", 1), ==, 1);
  g_assert_true (g_file_set_contents (edited_path, edited->str, (gssize) edited->len, NULL));
  path = make ("huge-numbers.rbp", "--raw-manifest", edited_path, NULL);
  bundle = open_ok (path);
  g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "custom.ci_job"), ==, "42");
  g_assert_null (rb_bundle_get_build_info_string (bundle, "custom.n"));
  messages = rb_bundle_list_api_messages (bundle);
  g_assert_cmpuint (g_list_length (messages), ==, 2);
  g_assert_cmpstr (rb_bundle_message_get_description (messages->next->data), ==, "Add");
}

int
main (int   argc,
      char *argv[])
{
  if (!rb_bundle_test_init (&argc, &argv))
    return g_test_run ();

  g_test_add_func ("/bundle/accessors", test_accessors);
  g_test_add_func ("/bundle/bad-api", test_bad_api);
  g_test_add_func ("/bundle/schemas", test_schemas);
  g_test_add_func ("/bundle/bad-manifests", test_bad_manifests);
  g_test_add_func ("/bundle/min-version-warning", test_min_version_warning);
  g_test_add_func ("/bundle/deep-manifest", test_deep_manifest);
  g_test_add_func ("/bundle/manifest-huge-numbers", test_manifest_huge_numbers);

  return rb_bundle_test_run ();
}
