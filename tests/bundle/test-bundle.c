/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle: bundles are made at test time by tools/rb-make-bundle.py and
 * signed with Debian's minisign tool.
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bundle-test-util.h"
#include "rb-test-util.h"

static char *workdir;      /* keys and bundles */
static char *tmpdir;       /* TMPDIR: private extraction dirs land here */
static char *key, *pub, *key2, *pub2;
static GPtrArray *warnings;   /* what the library reported about bundles */

/* The library reports what a bundle does wrong (a missing signature in
 * WARN mode, a newer rustbridge) at MESSAGE level: those are collected
 * here. A WARNING or CRITICAL goes on to GLib's writer, which aborts in a
 * GTest program, as it would in an application run with
 * G_DEBUG=fatal-warnings: a bundle must never be able to do that. */
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
      g_ptr_array_add (warnings, g_strdup (message));
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

static gboolean
warned_about (const char *needle)
{
  for (guint i = 0; i < warnings->len; i++)
    if (strstr (g_ptr_array_index (warnings, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
run (const char * const *argv)
{
  rb_test_run_in (workdir, argv);
}

/* make ("name.rbp", extra args..., NULL): a bundle around the fixture
 * plugin, signed with key 1 and embedding pub 1 unless told otherwise. */
static char *
make_v (const char         *name,
        gboolean            sign,
        const char * const *extra)
{
  return rb_test_make_bundle (workdir, name, sign ? key : NULL, sign ? pub : NULL, extra);
}

static char *
make_va (const char *name,
         gboolean    sign,
         va_list     args)
{
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  const char *arg;

  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (extra, (gpointer) arg);
  g_ptr_array_add (extra, NULL);
  return make_v (name, sign, (const char * const *) extra->pdata);
}

static char *
make (const char *name, ...)
{
  va_list args;
  char *out;

  va_start (args, name);
  out = make_va (name, TRUE, args);
  va_end (args);
  return out;
}

static char *
make_unsigned (const char *name, ...)
{
  va_list args;
  char *out;

  va_start (args, name);
  out = make_va (name, FALSE, args);
  va_end (args);
  return out;
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
}

static void
load_fails (RbBundle   *bundle,
            const char *variant,
            int         code,
            const char *needle)
{
  g_autoptr(GError) error = NULL;
  guint before = count_entries (tmpdir);
  g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin (bundle, variant, NULL, NULL, &error);

  g_assert_null (plugin);
  g_assert_error (error, RB_BUNDLE_ERROR, code);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", error->message, needle);
  /* Nothing was left behind. */
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
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
  /* The private directory is gone as soon as the library is mapped. */
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
  return plugin;
}

/* ---- tests ---- */

static void
test_valid_bundle (void)
{
  g_autofree char *path = make ("valid.rbp", "--schema", "echo=" "fixture-raw.h", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_auto(GStrv) platforms = rb_bundle_list_platforms (bundle);
  g_auto(GStrv) variants = rb_bundle_list_variants (bundle, NULL, &error);
  g_auto(GStrv) files = rb_bundle_list_files (bundle);
  g_auto(GStrv) schemas = rb_bundle_list_schemas (bundle);
  g_autolist(RbBundleMessage) messages = rb_bundle_list_api_messages (bundle);
  g_autofree char *manifest = rb_bundle_dup_manifest_json (bundle);
  g_autofree char *def = rb_bundle_dup_default_variant (bundle, NULL, &error);
  g_auto(GStrv) authors = NULL;
  g_autofree char *bundle_version = NULL;

  g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "test-plugin");
  g_assert_cmpstr (rb_bundle_get_version (bundle), ==, "1.0.0");
  g_assert_cmpstr (rb_bundle_get_description (bundle), ==, "A test plugin");
  g_assert_cmpstr (rb_bundle_get_license (bundle), ==, "MIT");
  g_assert_cmpstr (rb_bundle_get_repository (bundle), ==, "https://example.invalid/repo");
  g_object_get (bundle, "authors", &authors, "bundle-version", &bundle_version, NULL);
  g_assert_cmpstrv (authors, ((const char *[]) { "Ada", "Grace", NULL }));
  g_assert_cmpstr (bundle_version, ==, "1.0");
  g_assert_cmpstrv (platforms, ((const char *[]) { rb_bundle_get_current_platform (), NULL }));
  g_assert_cmpstrv (variants, ((const char *[]) { "release", NULL }));
  g_assert_cmpstr (def, ==, "release");
  g_assert_true (g_strv_contains ((const char * const *) files, "manifest.json"));
  g_assert_cmpstrv (schemas, ((const char *[]) { "echo", NULL }));
  g_assert_cmpuint (g_list_length (messages), ==, 2);
  g_assert_cmpstr (rb_bundle_message_get_type_tag (messages->data), ==, "echo");
  g_assert_cmpstr (rb_bundle_message_get_type_tag (messages->next->data), ==, "math.add");
  g_assert_nonnull (strstr (manifest, "\"bundle_version\""));
  g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "built_by"), ==, "rb-make-bundle");
  g_assert_cmpstr (rb_bundle_get_build_info_string (bundle, "custom.ci_job"), ==, "42");
  g_assert_cmpstr (rb_bundle_get_git_commit (bundle), ==, "abc123");
  g_assert_cmpstr (rb_bundle_get_sbom_path (bundle, "cyclonedx"), ==, "sbom/sbom.cdx.json");
  g_assert_cmpstr (rb_bundle_get_min_rustbridge_version (bundle), ==, "0.7.0");
  g_assert_true (g_str_has_prefix (rb_bundle_get_manifest_public_key (bundle), "RW"));

  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
  plugin = load_ok (bundle, NULL);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"bundled\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"bundled\",\"length\":7}");
  g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "test-plugin");
  g_assert_cmpstr (rb_plugin_get_bundle_version (plugin), ==, "1.0.0");
}

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
test_rust_plugin_bundle (void)
{
  g_autofree char *path = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *lib = NULL;

  if (rb_test_skip_if_missing (RB_TEST_RUST))
    return;
  lib = g_strdup_printf ("debug=%s", rb_test_plugin_path (RB_TEST_RUST));
  /* Rust plugin as the "debug" variant next to the fixture's release. */
  path = make ("rust.rbp", "--variant", lib, NULL);
  bundle = open_ok (path);
  plugin = load_ok (bundle, "debug");
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"rust\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"rust\",\"length\":4}");
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
  /* The bytes of the entry, not a string: no NUL after them. */
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
test_verify_modes_unsigned (void)
{
  g_autofree char *path = make_unsigned ("unsigned.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) warned = NULL;
  g_autoptr(RbPlugin) skipped = NULL;

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_MISSING, "manifest.json");

  g_ptr_array_set_size (warnings, 0);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  warned = load_ok (bundle, NULL);
  g_assert_true (warned_about ("manifest.json is not verified"));
  g_assert_true (warned_about ("librbfixture.so is not verified"));

  g_ptr_array_set_size (warnings, 0);
  g_object_set (bundle, "verify-mode", RB_VERIFY_MODE_SKIP, NULL);
  skipped = load_ok (bundle, NULL);
  g_assert_cmpuint (warnings->len, ==, 0);
}

static void
test_unsigned_library (void)
{
  g_autofree char *path = make ("unsigned-lib.rbp", "--unsigned-library", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) plugin = NULL;

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_MISSING, "librbfixture.so");
  g_ptr_array_set_size (warnings, 0);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  plugin = load_ok (bundle, NULL);
  g_assert_true (warned_about ("librbfixture.so is not verified"));
  g_assert_false (warned_about ("manifest.json is not verified"));
}

static void
test_tampered (void)
{
  g_autofree char *lib = make ("tampered-lib.rbp", "--tamper", "library", NULL);
  g_autofree char *man = make ("tampered-manifest.rbp", "--tamper", "manifest", NULL);
  g_autofree char *tc = make ("tampered-comment.rbp", "--tamper", "trusted-comment", NULL);
  g_autoptr(RbBundle) b1 = open_ok (lib);
  g_autoptr(RbBundle) b2 = open_ok (man);
  g_autoptr(RbBundle) b3 = open_ok (tc);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GFile) out = NULL;
  g_autoptr(RbPlugin) skipped = NULL;

  load_fails (b1, NULL, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, "librbfixture.so");
  /* Checksums are checked whatever the mode. */
  rb_bundle_set_verify_mode (b1, RB_VERIFY_MODE_SKIP);
  load_fails (b1, NULL, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, NULL);
  /* And a failed extraction into a caller's directory leaves it empty. */
  out = rb_bundle_extract_library (b1, NULL, dest, NULL, &error);
  g_assert_null (out);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
  g_assert_cmpuint (count_entries (dir), ==, 0);

  load_fails (b2, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "manifest.json.minisig");
  rb_bundle_set_verify_mode (b2, RB_VERIFY_MODE_SKIP);
  skipped = load_ok (b2, NULL);

  load_fails (b3, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "trusted comment");
  rb_bundle_set_verify_mode (b3, RB_VERIFY_MODE_WARN);
  load_fails (b3, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "trusted comment");
  g_rmdir (dir);
}

static char *
read_key_line (const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  return g_strdup (lines[1]);
}

/* The key id minisign prints in a .pub file's untrusted comment. */
static char *
key_id_of (const char *pub_path)
{
  g_autofree char *text = NULL;
  const char *id;

  g_assert_true (g_file_get_contents (pub_path, &text, NULL, NULL));
  id = strstr (text, "public key ");
  g_assert_nonnull (id);
  id += strlen ("public key ");
  return g_strndup (id, strcspn (id, "\r\n"));
}

static void
test_keys (void)
{
  g_autofree char *path = make ("keys.rbp", NULL);
  g_autofree char *wrong_embedded = NULL;
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autofree char *k2 = read_key_line (pub2);
  g_autofree char *k1 = read_key_line (pub);
  g_autofree char *pub_text = NULL;
  guchar *raw1, *raw2;
  gsize len1, len2;
  g_autofree char *same_id = NULL;
  g_autofree char *id1 = key_id_of (pub);
  g_autofree char *id2 = key_id_of (pub2);
  g_autofree char *mismatch = g_strdup_printf ("key id mismatch: signed by %s, the trusted key is %s", id1, id2);
  g_autoptr(RbPlugin) plugin = NULL;

  /* Another key: its id differs from the signature's; the message names
   * both ids as minisign prints them. */
  rb_bundle_set_public_key (bundle, k2);
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, mismatch);

  raw1 = g_base64_decode (k1, &len1);
  raw2 = g_base64_decode (k2, &len2);
  g_assert_cmpuint (len1, ==, 42);

  /* An id whose top byte is zero is shown without leading zeros, as
   * minisign shows it. */
  memcpy (raw2 + 2, (const guint8[]) { 1, 2, 3, 4, 5, 6, 7, 0 }, 8);
  {
    g_autofree char *small_id_key = g_base64_encode (raw2, len2);
    g_autofree char *needle = g_strdup_printf ("signed by %s, the trusted key is 7060504030201", id1);

    rb_bundle_set_public_key (bundle, small_id_key);
    load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, needle);
  }

  /* Key 2's public key under key 1's id: the signature itself fails. */
  memcpy (raw2 + 2, raw1 + 2, 8);
  same_id = g_base64_encode (raw2, len2);
  g_free (raw1);
  g_free (raw2);
  rb_bundle_set_public_key (bundle, same_id);
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "does not match");

  /* A whole .pub file is accepted too. */
  g_assert_true (g_file_get_contents (pub, &pub_text, NULL, NULL));
  rb_bundle_set_public_key (bundle, pub_text);
  plugin = load_ok (bundle, NULL);
  g_clear_object (&plugin);

  rb_bundle_set_public_key (bundle, "not a key");
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "public-key property");

  /* The manifest's key is not the one trusted: key 1 (in the user's
   * trusted-keys directory) verifies a bundle that carries key 2, even
   * with trust-embedded-key (a trusted key comes first); so does the
   * caller's key. */
  wrong_embedded = make ("wrong-embedded.rbp", "--public-key", pub2, NULL);
  {
    g_autoptr(RbBundle) b = open_ok (wrong_embedded);
    g_autoptr(RbPlugin) p = NULL;
    p = load_ok (b, NULL);
    g_clear_object (&p);
    rb_bundle_set_trust_embedded_key (b, TRUE);
    p = load_ok (b, NULL);
    g_clear_object (&p);
    rb_bundle_set_public_key (b, k1);
    p = load_ok (b, NULL);
  }
}

/* The trusted comment is signed as written, trailing white space
 * included; only line ends (LF or CRLF) are not part of it. */
static void
test_trusted_comment_whitespace (void)
{
  g_autofree char *spaces = make ("comment-spaces.rbp", "--trusted-comment", "file:manifest.json  ", NULL);
  g_autofree char *crlf = make ("comment-crlf.rbp", "--crlf-signatures", NULL);
  g_autofree char *added = make ("comment-added-space.rbp", "--tamper", "trusted-comment-space", NULL);
  g_autoptr(RbBundle) b1 = open_ok (spaces);
  g_autoptr(RbBundle) b2 = open_ok (crlf);
  g_autoptr(RbBundle) b3 = open_ok (added);
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_bundle_verify (b1, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rb_bundle_verify (b2, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (rb_bundle_verify (b3, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID);
  g_assert_nonnull (strstr (error->message, "trusted comment"));
}

static void
test_no_public_key (void)
{
  /* Signed with key 2, which no trusted-keys directory holds. */
  const char *extra[] = { "--set", "public_key=null", NULL };
  g_autofree char *path = rb_test_make_bundle (workdir, "nokey.rbp", key2, pub2, extra);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *k2 = read_key_line (pub2);

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_NO_PUBLIC_KEY, "public-key");
  rb_bundle_set_trust_embedded_key (bundle, TRUE);    /* there is none */
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_NO_PUBLIC_KEY, "public-key");
  rb_bundle_set_public_key (bundle, k2);
  plugin = load_ok (bundle, NULL);
}

static void
test_legacy_signature (void)
{
  g_autofree char *path = make ("legacy.rbp", "--legacy-signatures", NULL);
  g_autofree char *tampered = make ("legacy-tampered.rbp", "--legacy-signatures", "--tamper", "manifest", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) bad = open_ok (tampered);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
  plugin = load_ok (bundle, NULL);
  load_fails (bad, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, NULL);
}

static void
test_platforms_and_variants (void)
{
  g_autofree char *noraw = g_strdup_printf ("debug=%s", rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN"));
  g_autofree char *two = make ("variants.rbp", "--variant", noraw, NULL);
  g_autofree char *def = make ("default-debug.rbp", "--variant", noraw, "--default-variant", "debug", NULL);
  g_autofree char *legacy = make ("legacy-platform.rbp", "--legacy-platform", "--bare-checksum", NULL);
  g_autoptr(RbBundle) b = open_ok (two);
  g_autoptr(RbBundle) d = open_ok (def);
  g_autoptr(RbBundle) l = open_ok (legacy);
  g_autoptr(RbPlugin) release = NULL;
  g_autoptr(RbPlugin) debug = NULL;
  g_autoptr(RbPlugin) by_default = NULL;
  g_autoptr(RbPlugin) from_legacy = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) variants = rb_bundle_list_variants (b, NULL, &error);
  g_auto(GStrv) none = NULL;
  g_autofree char *other = NULL;

  g_assert_cmpstrv (variants, ((const char *[]) { "debug", "release", NULL }));
  release = load_ok (b, NULL);
  debug = load_ok (b, "debug");
  /* The debug variant is the fixture built without the raw transport. */
  g_assert_true (rb_plugin_get_has_binary_transport (release));
  g_assert_false (rb_plugin_get_has_binary_transport (debug));
  load_fails (b, "nope", RB_BUNDLE_ERROR_VARIANT_NOT_FOUND, "nope");

  by_default = load_ok (d, NULL);
  g_assert_false (rb_plugin_get_has_binary_transport (by_default));

  from_legacy = load_ok (l, NULL);

  none = rb_bundle_list_variants (b, "windows-aarch64", &error);
  g_assert_null (none);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
  g_clear_error (&error);

  other = make ("other-platform.rbp", "--platform", "windows-aarch64", NULL);
  {
    g_autoptr(RbBundle) o = open_ok (other);
    load_fails (o, NULL, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, "windows-aarch64");
  }
}

/* Writes @data over @path in place (the same inode, as "cp" or an editor
 * saving in place does), until its change time differs from @before: a
 * file system stamps times at a coarse tick. */
static void
rewrite_in_place (const char   *path,
                  const char   *data,
                  gsize         len,
                  const GStatBuf *before)
{
  GStatBuf after;

  do
    {
      FILE *f = fopen (path, "r+b");

      g_assert_nonnull (f);
      g_assert_cmpuint (fwrite (data, 1, len, f), ==, len);
      g_assert_cmpint (ftruncate (fileno (f), (off_t) len), ==, 0);
      g_assert_cmpint (fclose (f), ==, 0);
      g_assert_cmpint (g_stat (path, &after), ==, 0);
      g_assert_cmpuint (after.st_ino, ==, before->st_ino);
      if (after.st_ctim.tv_sec == before->st_ctim.tv_sec && after.st_ctim.tv_nsec == before->st_ctim.tv_nsec)
        g_usleep (5000);
    }
  while (after.st_ctim.tv_sec == before->st_ctim.tv_sec && after.st_ctim.tv_nsec == before->st_ctim.tv_nsec);
}

/* Every use of @bundle fails: its file changed since it was opened. */
static void
assert_changed (RbBundle *bundle)
{
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sbom = rb_bundle_read_file (bundle, "sbom/sbom.cdx.json", &error);
  g_autoptr(GFile) extracted = NULL;

  g_assert_null (sbom);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was opened"));
  g_clear_error (&error);
  g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was opened"));
  g_clear_error (&error);
  extracted = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
  g_assert_null (extracted);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was opened"));
  g_assert_cmpuint (count_entries (dir), ==, 0);
  g_rmdir (dir);
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_INVALID_ARCHIVE, "changed since it was opened");
}

/* Reads come from the file that was checked: libarchive re-reads the
 * central directory each time, so a file rewritten in place after it was
 * opened is refused, whether its layout or only its bytes changed. A
 * file replaced by another (a new inode) does not matter. */
static void
test_changed_after_open (void)
{
  g_autofree char *path = make ("changing.rbp", NULL);
  g_autofree char *other = make ("changing-other.rbp", "--name", "another-plugin-name", NULL);
  g_autofree char *original = NULL, *replacement = NULL;
  gsize len, other_len;
  GStatBuf st;

  g_assert_true (g_file_get_contents (path, &original, &len, NULL));
  g_assert_true (g_file_get_contents (other, &replacement, &other_len, NULL));

  /* Another archive, written over it. */
  {
    g_autoptr(RbBundle) bundle = NULL;

    g_assert_cmpint (g_stat (path, &st), ==, 0);
    bundle = open_ok (path);
    rewrite_in_place (path, replacement, other_len, &st);
    assert_changed (bundle);
  }
  /* One byte of the SBOM's data: same size, same layout. */
  {
    g_autoptr(RbBundle) bundle = NULL;
    g_autofree char *flipped = g_memdup2 (original, len);
    const char *name = "sbom/sbom.cdx.json";
    gsize at = 0;

    g_assert_true (g_file_set_contents (path, original, (gssize) len, NULL));
    /* The local header comes first: its name is followed by the data. */
    while (at + strlen (name) < len && memcmp (flipped + at, name, strlen (name)) != 0)
      at++;
    g_assert_cmpuint (at + strlen (name), <, len);
    flipped[at + strlen (name)] ^= 1;
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    bundle = open_ok (path);
    rewrite_in_place (path, flipped, len, &st);
    assert_changed (bundle);
  }
  /* Replaced, not rewritten: the bundle reads what it opened. */
  {
    g_autoptr(RbBundle) bundle = NULL;
    g_autoptr(RbPlugin) plugin = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *manifest = NULL;

    g_assert_true (g_file_set_contents (path, original, (gssize) len, NULL));
    bundle = open_ok (path);
    g_assert_true (g_file_set_contents (path, replacement, (gssize) other_len, NULL));
    g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
    g_assert_no_error (error);
    plugin = load_ok (bundle, NULL);
    g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "test-plugin");
  }
}

static void
test_extract_refuses_overwrite (void)
{
  g_autofree char *path = make ("extract.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) first = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
  g_autoptr(GFile) second = NULL;
  g_autofree char *target = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  target = g_file_get_path (first);
  g_assert_true (g_str_has_suffix (target, "/librbfixture.so"));
  /* A file of the caller's is never overwritten. */
  g_assert_true (g_file_set_contents (target, "mine", -1, NULL));
  second = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
  g_assert_null (second);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_EXISTS);
  g_assert_cmpint (g_stat (target, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 4);
  g_unlink (target);
  g_rmdir (dir);
}

static void
test_unsafe_archives (void)
{
  g_autofree char *evil = g_build_filename (workdir, "evil.txt", NULL);
  g_autofree char *parent = NULL;
  guint parent_before;
  static const struct {
    const char *name;
    const char *option;
    const char *value;
    int         code;
  } cases[] = {
    { "dotdot.rbp", "--raw-entry", "../escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "nested-dotdot.rbp", "--raw-entry", "docs/../../escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "absolute.rbp", "--raw-entry", "/tmp/escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "backslash.rbp", "--raw-entry", "docs\\..\\escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "symlink.rbp", "--symlink", "docs/link=/etc/passwd", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "device.rbp", "--device", "docs/null", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "colon.rbp", "--raw-entry", "C:/escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "duplicate.rbp", "--duplicate", "manifest.json", RB_BUNDLE_ERROR_INVALID_ARCHIVE },
  };

  g_assert_true (g_file_set_contents (evil, "evil", -1, NULL));
  parent = g_path_get_dirname (workdir);
  parent_before = count_entries (parent);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make (cases[i].name, cases[i].option, cases[i].value, NULL);
      open_fails (path, cases[i].code, NULL);
    }
  /* Nothing was written next to the work directory or in TMPDIR. */
  g_assert_cmpuint (count_entries (parent), ==, parent_before);
  g_assert_false (g_file_test ("/tmp/escaped.txt", G_FILE_TEST_EXISTS));
}

/* Archives whose ZIP structure lies: refused as a whole at open, with a
 * message that names the problem. */
static void
test_zip_structure (void)
{
  g_autofree char *long_comment = g_strnfill (5000, 'c');
  static const struct {
    const char *name;
    const char *option;
    const char *value;
    int         code;
    const char *needle;
  } cases[] = {
    { "z-overlap.rbp", "--zip-edit", "manifest.json:csize=+64", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "entries “manifest.json” and “manifest.json.minisig” overlap" },
    { "z-local-name.rbp", "--zip-edit", "manifest.json:local_name=manifest.jsoN", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the local header of “manifest.json” names another file" },
    { "z-local-offset.rbp", "--zip-edit", "manifest.json:offset=+1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“manifest.json” has no local header at offset 1" },
    { "z-prefix.rbp", "--zip-prefix", "2", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "20 bytes of data before the first entry" },
    { "z-encrypted.rbp", "--zip-edit", "manifest.json:flags=1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“manifest.json” is encrypted" },
    { "z-encrypted-local.rbp", "--zip-edit", "sbom/sbom.cdx.json:local_flags=0x41", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“sbom/sbom.cdx.json” is encrypted" },
    { "z-method.rbp", "--zip-edit", "sbom/sbom.cdx.json:method=12", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“sbom/sbom.cdx.json” uses compression method 12" },
    { "z-local-method.rbp", "--zip-edit", "sbom/sbom.cdx.json:local_method=0", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the local header of “sbom/sbom.cdx.json” does not match" },
    { "z-not-utf8.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/\\xff.json", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "the name is not UTF-8" },
    { "z-nul.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\x00.json", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "the name has a NUL byte" },
    { "z-control.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\x1bb.json", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "the name has a control character" },
    { "z-dir-no-slash.rbp", "--zip-edit", "sbom/sbom.cdx.json:external=0x10", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "directory entry “sbom/sbom.cdx.json” has no trailing slash" },
    { "z-dir-data.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "unsafe entry “sbom/”: a directory with data" },
    { "z-count.rbp", "--zip-count-delta", "-1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "holds more than the 4 entries the end record counts" },
    { "z-count-more.rbp", "--zip-count-delta", "1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "truncated central directory" },
    { "z-trailer.rbp", "--zip-trailer", "junk after the archive", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "no end of central directory record at the end" },
    { "z-comment-sig.rbp", "--zip-comment", "PK\\x05\\x06 followed by more than twenty-two bytes", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the archive comment holds an end of central directory signature" },
    { "z-comment-long.rbp", "--zip-comment", NULL /* long_comment */, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the archive comment has 5000 bytes (at most 4096 are allowed)" },
    { "z-local-xl.rbp", "--zip-edit",
      /* An Info-ZIP "xl" extra field that makes the entry a Unix symbolic link,
       * in the local header only: only libarchive reads it. */
      "sbom/sbom.cdx.json:local_extra=xl\\x07\\x00\\x05\\x00\\x03\\x00\\x00\\xff\\xa1",
      RB_BUNDLE_ERROR_UNSAFE_PATH, "“sbom/sbom.cdx.json”: not a regular file or directory" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make (cases[i].name, cases[i].option, cases[i].value ? cases[i].value : long_comment,
                                    NULL);
      open_fails (path, cases[i].code, cases[i].needle);
    }
}

/* @message holds nothing a terminal acts on: no C0, DEL or C1 controls. */
static void
assert_printable (const char *message)
{
  g_assert_true (g_utf8_validate (message, -1, NULL));
  for (const char *p = message; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        g_error ("“%s” has the control character U+%04X", message, c);
    }
}

/* Names from an archive, a manifest or a caller are escaped and cut short
 * in messages: an error may well be printed to a terminal or a log. */
static void
test_names_in_messages (void)
{
  g_autofree char *a900 = g_strnfill (900, 'a');
  g_autofree char *long_name = g_strdup_printf ("sbom/sbom.cdx.json:name=docs/%s\\x1b", a900);
  g_autofree char *evil_path = g_build_filename (workdir, "evil\033[2J.rbp", NULL);
  static const struct {
    const char *name;
    const char *args[4];
    int         code;
    const char *needle;
  } cases[] = {
    { "n-escape.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/\\x1b[2J\\x1b]0;pwned\\x07.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/\\x1b[2J\\x1b]0;pwned\\x07.json”: the name has a control character" },
    { "n-c1.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\xc2\\x9bb.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/a\\u009bb.json”: the name has a control character" },
    { "n-not-utf8.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/\\xff.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/\\xff.json”: the name is not UTF-8" },
    { "n-nul.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\x00\\x1b.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/a\\x00\\x1b.json”: the name has a NUL byte" },
    { "n-variant.rbp", { "--set", "platforms={\"linux-x86_64\":{\"variants\":{\"bad\\u001b[2Jname\":{}}}}" },
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "variant name “bad\\x1b[2Jname” of platform “linux-x86_64”" },
    { "n-version.rbp", { "--set", "bundle_version=\"2\\u0007\\u009b\"" },
      RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "format version “2\\x07\\u009b”" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_v (cases[i].name, TRUE, cases[i].args);
      g_autoptr(GError) error = NULL;
      g_autoptr(RbBundle) bundle = rb_bundle_new_for_path (path, NULL, &error);

      g_assert_null (bundle);
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("“%s” lacks “%s”", error->message, cases[i].needle);
      assert_printable (error->message);
    }

  /* A long name is cut, with an ellipsis. */
  {
    const char *args[] = { "--zip-edit", long_name, NULL };
    g_autofree char *path = make_v ("n-long.rbp", TRUE, args);
    g_autoptr(GError) error = NULL;
    g_autoptr(RbBundle) bundle = rb_bundle_new_for_path (path, NULL, &error);

    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH);
    g_assert_nonnull (strstr (error->message, "aaa…”: the name has a control character"));
    g_assert_cmpuint (strlen (error->message), <, strlen (path) + 300);
    assert_printable (error->message);
  }

  /* The bundle's own path, and a name the caller gives. */
  {
    g_autofree char *valid = make ("n-valid.rbp", NULL);
    g_autoptr(RbBundle) bundle = open_ok (valid);
    g_autoptr(GError) error = NULL;
    g_autoptr(RbBundle) none = NULL;
    g_autoptr(GBytes) bytes = NULL;

    bytes = rb_bundle_read_file (bundle, "docs/\033[2J\302\233", &error);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "“docs/\\x1b[2J\\u009b”"));
    assert_printable (error->message);
    g_clear_error (&error);
    bytes = rb_bundle_read_schema (bundle, "\007", &error);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "“\\x07”"));
    g_clear_error (&error);
    g_assert_null (rb_bundle_list_variants (bundle, "plan9\033", &error));
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
    g_assert_nonnull (strstr (error->message, "“plan9\\x1b”"));
    g_clear_error (&error);
    load_fails (bundle, "\033", RB_BUNDLE_ERROR_VARIANT_NOT_FOUND, "no variant “\\x1b”");

    g_assert_true (g_file_set_contents (evil_path, "not a bundle", -1, NULL));
    none = rb_bundle_new_for_path (evil_path, NULL, &error);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_assert_nonnull (strstr (error->message, "evil\\x1b[2J.rbp”"));
    assert_printable (error->message);
  }
}

/* Lies in the end records and the rest of the layout, made with several
 * options each: refused at open, with a message that names the problem. */
static void
test_zip_records (void)
{
  g_autofree char *empty = g_build_filename (workdir, "z-empty.rbp", NULL);
  static const char end_record[22] = { 'P', 'K', 5, 6 };
  static const struct {
    const char *name;
    const char *args[8];
    int         code;
    const char *needle;
  } cases[] = {
    { "z-stored-size.rbp", { "--zip-edit", "sbom/sbom.cdx.json:method=0", "--zip-edit", "sbom/sbom.cdx.json:usize=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“sbom/sbom.cdx.json” is stored, but its stored and declared sizes differ" },
    { "z-zip64-disagree.rbp", { "--zip64-end", "--zip-count-delta", "-1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the ZIP64 and the classic end of central directory records disagree" },
    { "z-zip64-locator.rbp", { "--zip64-end", "--zip-end", "loc.offset=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory locator" },
    { "z-zip64-locator-far.rbp", { "--zip64-end", "--zip-end", "loc.offset=-20000" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory locator" },
    { "z-zip64-record-sig.rbp", { "--zip64-end", "--zip-end", "end64.sig=0x06064b51" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory record" },
    { "z-zip64-record-size.rbp", { "--zip64-end", "--zip-end", "end64.size=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory record" },
    { "z-zip64-no-record.rbp", { "--zip-end", "end.cd_offset=0xffffffff" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "ZIP64 values without a ZIP64 end of central directory record" },
    { "z-zip64-no-record-count.rbp", { "--zip-end", "end.count=0xffff", "--zip-end", "end.disk_count=0xffff" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "ZIP64 values without a ZIP64 end of central directory record" },
    { "z-volumes.rbp", { "--zip-end", "end.disk=1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-count.rbp", { "--zip-end", "end.disk_count=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-locator.rbp", { "--zip64-end", "--zip-end", "loc.disks=2" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-zip64.rbp", { "--zip64-end", "--zip-end", "end64.cd_disk=1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-entry.rbp", { "--zip-edit", "sbom/sbom.cdx.json:disk=1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“sbom/sbom.cdx.json” is on another volume" },
    { "z-cd-offset.rbp", { "--zip-end", "end.cd_offset=-1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the central directory is not where the end record says" },
    { "z-cd-size.rbp", { "--zip-end", "end.cd_size=-46" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the central directory is not where the end record says" },
    { "z-cd-small.rbp", { "--zip-count-delta", "1000" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the central directory is too small for 1005 entries" },
    { "z-into-cd.rbp", { "--zip-edit", "sbom/sbom.cdx.json:csize=+1000" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the data of “sbom/sbom.cdx.json” runs into the central directory" },
    { "z-extra-long.rbp", { "--zip-edit", "manifest.json:extra=UT\\x09\\x00\\x01" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“manifest.json” has a malformed extra field" },
    { "z-extra-stray.rbp", { "--zip-edit", "manifest.json:extra=UT\\x01\\x00\\x01ab" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“manifest.json” has a malformed extra field" },
    { "z-extra-zip64-short.rbp", { "--zip-edit", "manifest.json:usize=0xffffffff", "--zip-edit",
                                   "manifest.json:extra=\\x01\\x00\\x04\\x00\\x00\\x00\\x00\\x00" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“manifest.json” has a malformed extra field" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_v (cases[i].name, TRUE, cases[i].args);
      open_fails (path, cases[i].code, cases[i].needle);
    }
  g_assert_true (g_file_set_contents (empty, end_record, sizeof end_record, NULL));
  open_fails (empty, RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the archive is empty");
}

/* Layouts that are unusual but sound are accepted, and the library they
 * hold loads. */
static void
test_zip_layouts (void)
{
  g_autofree char *lib = g_strdup_printf ("lib/%s/release/librbfixture.so:zip64", rb_bundle_get_current_platform ());
  g_autofree char *utf8 = g_build_filename (workdir, "café.txt", NULL);
  g_autofree char *utf8_entry = g_strdup_printf ("docs/café.txt=%s", utf8);
  const struct {
    const char *name;
    const char *args[12];
    guint       n_files;
    const char *first;      /* central-directory order */
  } cases[] = {
    { "l-reversed.rbp", { "--zip-reverse-cd" }, 5, "sbom/sbom.cdx.json" },
    { "l-zip64-end.rbp", { "--zip64-end" }, 5, "manifest.json" },
    /* The classic end record may keep placeholders for what the ZIP64
     * one holds (APPNOTE 4.4.1.4). */
    { "l-zip64-placeholders.rbp", { "--zip64-end", "--zip-end", "end.count=0xffff", "--zip-end", "end.disk_count=0xffff",
                                    "--zip-end", "end.cd_size=0xffffffff", "--zip-end", "end.cd_offset=0xffffffff" },
      5, "manifest.json" },
    { "l-zip64-extra.rbp", { "--zip-edit", lib }, 5, "manifest.json" },
    { "l-comment.rbp", { "--zip-comment", "made by a test" }, 5, "manifest.json" },
    { "l-utf8.rbp", { "--file", utf8_entry }, 6, "manifest.json" },
    /* The end record's central directory offset spells its own signature
     * (a sparse file: nothing of the 100 MB is written). */
    { "l-cd-at-signature.rbp", { "--zip-pad-to-cd", "0x06054b50" }, 6, "manifest.json" },
  };

  g_assert_true (g_file_set_contents (utf8, "non-ASCII name", -1, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_v (cases[i].name, TRUE, cases[i].args);
      g_autoptr(RbBundle) bundle = open_ok (path);
      g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
      g_auto(GStrv) files = rb_bundle_list_files (bundle);

      g_assert_cmpuint (g_strv_length (files), ==, cases[i].n_files);
      g_assert_cmpstr (files[0], ==, cases[i].first);
    }
}

static void
test_limits (void)
{
  g_autofree char *many = make ("many.rbp", "--many-entries", "50", NULL);
  g_autofree char *ok = make ("limits.rbp", NULL);
  g_autoptr(GFile) many_file = g_file_new_for_path (many);
  g_autoptr(GFile) ok_file = g_file_new_for_path (ok);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) b1 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", many_file, "max-entries", 20, NULL);
  g_autoptr(RbBundle) b2 = NULL;
  g_autoptr(RbBundle) b3 = NULL;
  g_autoptr(RbBundle) b4 = NULL;

  g_assert_null (b1);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  b2 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", ok_file, "max-manifest-size", (guint64) 100, NULL);
  g_assert_null (b2);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  b3 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", ok_file, "max-total-size", (guint64) 1000, NULL);
  g_assert_null (b3);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* The library cap is enforced while streaming; the partial file goes. */
  b4 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", ok_file, "max-library-size", (guint64) 4096, NULL);
  g_assert_no_error (error);
  load_fails (b4, NULL, RB_BUNDLE_ERROR_TOO_LARGE, "librbfixture.so");
}

/* Sizes an archive declares (here 4 GiB for a manifest of 2 KiB) are
 * refused before anything is allocated for them, whatever the limits the
 * caller set: the in-memory limit cannot be set above 256 MiB. */
#define IN_MEMORY_CAP (G_GUINT64_CONSTANT (256) << 20)   /* documented on max-manifest-size */

static void
test_declared_sizes (void)
{
  g_autofree char *huge = make ("declared-4g.rbp", "--zip-edit", "manifest.json:zip64",
                                "--zip-edit", "manifest.json:usize=4294967296", NULL);
  g_autofree char *lib = g_strdup_printf ("lib/%s/release/librbfixture.so:usize=+%" G_GUINT64_FORMAT,
                                          rb_bundle_get_current_platform (), IN_MEMORY_CAP);
  g_autofree char *legacy = make ("declared-legacy.rbp", "--legacy-signatures", "--zip-edit", lib, NULL);
  g_autoptr(GFile) huge_file = g_file_new_for_path (huge);
  g_autoptr(GFile) legacy_file = g_file_new_for_path (legacy);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) b1 = NULL;
  g_autoptr(RbBundle) b2 = NULL;
  g_autoptr(RbBundle) b3 = NULL;
  guint64 max = 0;

  /* Above the cap: GLib refuses the value and keeps the default. */
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING, "*max-manifest-size*");
  b1 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", huge_file, "max-manifest-size", G_MAXUINT64,
                       "max-total-size", G_MAXUINT64, NULL);
  g_test_assert_expected_messages ();
  g_assert_null (b1);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "“manifest.json” in"));
  g_assert_nonnull (strstr (error->message, "is larger than 1048576 bytes"));
  g_clear_error (&error);

  /* At the cap. */
  b2 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", huge_file, "max-manifest-size", IN_MEMORY_CAP,
                       "max-total-size", G_MAXUINT64, NULL);
  g_assert_null (b2);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "is larger than 268435456 bytes"));
  g_clear_error (&error);
  b2 = g_object_new (RB_TYPE_BUNDLE, "max-manifest-size", IN_MEMORY_CAP, NULL);
  g_object_get (b2, "max-manifest-size", &max, NULL);
  g_assert_cmpuint (max, ==, IN_MEMORY_CAP);

  /* A legacy signature covers the library itself, so verifying without
   * extracting holds the library in memory: within the same cap. */
  b3 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", legacy_file, NULL);
  g_assert_no_error (error);
  g_assert_false (rb_bundle_verify (b3, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "legacy signature"));
  g_assert_nonnull (strstr (error->message, "librbfixture.so"));
}

static void
test_broken_files (void)
{
  g_autofree char *valid = make ("for-truncation.rbp", NULL);
  g_autofree char *truncated = g_build_filename (workdir, "truncated.rbp", NULL);
  g_autofree char *text = g_build_filename (workdir, "text.rbp", NULL);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (valid, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (truncated, contents, (gssize) (len / 2), NULL));
  g_assert_true (g_file_set_contents (text, "this is not a zip archive\n", -1, NULL));

  open_fails (truncated, RB_BUNDLE_ERROR_INVALID_ARCHIVE, truncated);
  open_fails (text, RB_BUNDLE_ERROR_INVALID_ARCHIVE, text);
  open_fails ("/nonexistent/bundle.rbp", RB_BUNDLE_ERROR_NOT_FOUND, "/nonexistent/bundle.rbp");
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

static guint entries_at_callback;

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      data)
{
  RbPlugin **out = data;
  g_autoptr(GError) error = NULL;

  entries_at_callback = count_entries (tmpdir);
  *out = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, &error);
  g_assert_no_error (error);
}

static void
test_load_async (void)
{
  g_autofree char *path = make ("async.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  RbPlugin *plugin = NULL;
  guint before = count_entries (tmpdir);

  entries_at_callback = G_MAXUINT;
  rb_bundle_load_plugin_async (bundle, NULL, NULL, NULL, loaded_cb, &plugin);
  while (plugin == NULL)
    g_main_context_iteration (NULL, TRUE);
  /* Removed as soon as the library was mapped, before the caller hears
   * of it (who may crash then). */
  g_assert_cmpuint (entries_at_callback, ==, before);
  g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "test-plugin");
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  rb_test_iterate_for (20);
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
  g_object_unref (plugin);
}

static void
load_failed_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      data)
{
  GError **out = data;
  g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, out);

  g_assert_null (plugin);
  g_assert_nonnull (*out);
}

/* Nothing is left on disk when an asynchronous load fails or is
 * cancelled, at whatever stage: here after the library was extracted and
 * verified, before the result reached the caller's context. */
static void
test_load_async_cancelled (void)
{
  g_autofree char *path = make ("async-cancel.rbp", NULL);
  g_autofree char *tampered = make ("async-tampered.rbp", "--tamper", "library", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) bad = open_ok (tampered);
  g_autoptr(GMainContext) context = g_main_context_new ();
  guint before = count_entries (tmpdir);

  g_main_context_push_thread_default (context);
  for (guint round = 0; round < 3; round++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      g_autoptr(GError) error = NULL;
      gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

      if (round == 0)
        {
          /* Extraction done: its result waits in @context. */
          rb_bundle_load_plugin_async (bundle, NULL, NULL, cancellable, load_failed_cb, &error);
          while (!g_main_context_pending (context))
            {
              g_assert_cmpint (g_get_monotonic_time (), <, deadline);
              g_usleep (1000);
            }
          g_assert_cmpuint (count_entries (tmpdir), ==, before + 1);
          g_cancellable_cancel (cancellable);
        }
      else if (round == 1)
        {
          /* Cancelled before it started. */
          g_cancellable_cancel (cancellable);
          rb_bundle_load_plugin_async (bundle, NULL, NULL, cancellable, load_failed_cb, &error);
        }
      else
        rb_bundle_load_plugin_async (bad, NULL, NULL, NULL, load_failed_cb, &error);

      while (error == NULL)
        g_main_context_iteration (context, TRUE);
      if (round < 2)
        g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      else
        g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
      while (g_main_context_iteration (context, FALSE))
        ;
      g_assert_cmpuint (count_entries (tmpdir), ==, before);
    }
  g_main_context_pop_thread_default (context);
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
  g_autoptr(JsonNode) build = NULL;
  struct stat st;

  g_assert_cmpint (g_stat (p1, &st), ==, 0);
  g_assert_cmpint (st.st_size, <, 64 * 1024);
  open_fails (p1, RB_BUNDLE_ERROR_INVALID_MANIFEST, "nested deeper than 512 levels");
  open_fails (p2, RB_BUNDLE_ERROR_INVALID_MANIFEST, "nested deeper than 512 levels");
  open_fails (p3, RB_BUNDLE_ERROR_INVALID_MANIFEST, "nested deeper than 512 levels");
  g_assert_null (rb_bundle_new_for_path (p1, NULL, NULL));

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

/* A zero-length entry, wherever it is, gives an error and leaves nothing
 * on disk; an empty .minisig crashed every verifying call. */
static void
test_empty_entries (void)
{
  g_autofree char *lib = g_strdup_printf ("lib/%s/release/librbfixture.so", rb_bundle_get_current_platform ());
  g_autofree char *lib_sig = g_strconcat (lib, ".minisig", NULL);
  g_autofree char *empty_file = g_build_filename (workdir, "empty.so", NULL);
  g_autofree char *empty_schema = g_build_filename (workdir, "empty-schema.json", NULL);
  g_autofree char *empty_variant = NULL;
  g_autofree char *empty_schema_arg = NULL;
  g_autofree char *m = make ("e-manifest.rbp", "--empty", "manifest.json", NULL);
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  const struct {
    const char *entry;
    int         code;
    const char *needle;
  } cases[] = {
    { "manifest.json.minisig", RB_BUNDLE_ERROR_SIGNATURE_INVALID, "“manifest.json.minisig”: the file is empty" },
    { lib_sig, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "librbfixture.so.minisig”: the file is empty" },
    { lib, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, "librbfixture.so" },
  };

  open_fails (m, RB_BUNDLE_ERROR_INVALID_MANIFEST, "manifest.json");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("e-%" G_GSIZE_FORMAT ".rbp", i);
      g_autofree char *path = make (name, "--empty", cases[i].entry, NULL);
      g_autoptr(RbBundle) bundle = open_ok (path);

      for (guint mode = 0; mode < 2; mode++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GFile) out = NULL;

          /* A signature that is there but broken fails in WARN mode too. */
          rb_bundle_set_verify_mode (bundle, mode == 0 ? RB_VERIFY_MODE_STRICT : RB_VERIFY_MODE_WARN);
          load_fails (bundle, NULL, cases[i].code, cases[i].needle);
          g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
          g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
          g_clear_error (&error);
          g_assert_false (rb_bundle_verify (bundle, NULL, NULL, NULL));
          out = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
          g_assert_null (out);
          g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
          g_assert_null (rb_bundle_extract_library (bundle, NULL, dest, NULL, NULL));
          g_assert_null (rb_bundle_load_plugin (bundle, NULL, NULL, NULL, NULL));
          g_assert_cmpuint (count_entries (dir), ==, 0);
        }
    }

  /* Empty files the manifest vouches for (checksums and signatures of no
   * bytes) are still no library and no schema. */
  g_assert_true (g_file_set_contents (empty_file, "", 0, NULL));
  g_assert_true (g_file_set_contents (empty_schema, "", 0, NULL));
  empty_variant = g_strdup_printf ("empty=%s", empty_file);
  empty_schema_arg = g_strdup_printf ("nothing=%s", empty_schema);
  {
    g_autofree char *path = make ("e-vouched.rbp", "--variant", empty_variant, "--schema", empty_schema_arg, NULL);
    g_autoptr(RbBundle) bundle = open_ok (path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GFile) out = NULL;
    g_autoptr(GBytes) schema = NULL;

    load_fails (bundle, "empty", RB_BUNDLE_ERROR_INVALID_ARCHIVE, "empty.so” is empty");
    g_assert_false (rb_bundle_verify (bundle, "empty", NULL, &error));
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_clear_error (&error);
    out = rb_bundle_extract_library (bundle, "empty", dest, NULL, &error);
    g_assert_null (out);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_clear_error (&error);
    schema = rb_bundle_read_schema (bundle, "nothing", &error);
    g_assert_null (schema);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_assert_nonnull (strstr (error->message, "(“schema/empty-schema.json”) is empty"));
    g_clear_error (&error);
    out = rb_bundle_extract_schema (bundle, "nothing", dest, &error);
    g_assert_null (out);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_assert_null (rb_bundle_extract_schema (bundle, "nothing", dest, NULL));
    g_assert_cmpuint (count_entries (dir), ==, 0);
  }
  /* A schema emptied after signing fails its checksum. */
  {
    g_autofree char *path = make ("e-schema.rbp", "--schema", "echo=fixture-raw.h", "--empty", "schema/fixture-raw.h",
                                  NULL);
    g_autoptr(RbBundle) bundle = open_ok (path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GFile) out = rb_bundle_extract_schema (bundle, "echo", dest, &error);

    g_assert_null (out);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
    g_assert_cmpuint (count_entries (dir), ==, 0);
  }
  g_rmdir (dir);
}

/* A .minisig is four lines and an optional final newline, as minisign
 * writes it: anything after the global signature is refused. */
static void
test_signature_trailing_line (void)
{
  g_autofree char *path = make ("sig-trailing.rbp", "--tamper", "signature-trailing-line", NULL);
  g_autofree char *crlf = make ("sig-trailing-crlf.rbp", "--tamper", "signature-trailing-line",
                                "--crlf-signatures", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) bundle_crlf = open_ok (crlf);
  g_autoptr(GError) error = NULL;

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "after the global signature");
  load_fails (bundle_crlf, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "after the global signature");
  g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID);
  g_assert_nonnull (strstr (error->message, "manifest.json.minisig"));
}

/* Entry names in NFD, as macOS writes them, are the same bytes in the
 * central directory and the local header; libarchive composes the names
 * of entries flagged UTF-8 into NFC, which is no reason to refuse. */
static void
test_decomposed_names (void)
{
  const char *nfd = "docs/e\xcc\x81.txt";          /* e + COMBINING ACUTE ACCENT */
  const char *nfc = "docs/\xc3\xa9.txt";           /* é */
  g_autofree char *doc = g_build_filename (workdir, "doc.txt", NULL);
  g_autofree char *nfd_arg = NULL, *nfc_arg = NULL, *flags_arg = NULL;
  g_autofree char *flagged = NULL, *unflagged = NULL, *both = NULL;

  g_assert_true (g_file_set_contents (doc, "hello", -1, NULL));
  nfd_arg = g_strdup_printf ("%s=%s", nfd, doc);
  nfc_arg = g_strdup_printf ("%s=%s", nfc, doc);
  flags_arg = g_strdup_printf ("%s:flags=0", nfd);
  flagged = make ("nfd.rbp", "--file", nfd_arg, NULL);
  unflagged = make ("nfd-no-utf8-flag.rbp", "--file", nfd_arg, "--zip-edit", flags_arg, NULL);
  both = make ("nfd-and-nfc.rbp", "--file", nfd_arg, "--file", nfc_arg, NULL);

  for (guint i = 0; i < 3; i++)
    {
      const char *path = i == 0 ? flagged : i == 1 ? unflagged : both;
      g_autoptr(RbBundle) bundle = open_ok (path);
      g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
      g_auto(GStrv) files = rb_bundle_list_files (bundle);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = rb_bundle_read_file (bundle, nfd, &error);

      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "hello", 5);
      g_assert_true (g_strv_contains ((const char * const *) files, nfd));
      /* The name is the bytes as stored: no other form finds it. */
      if (i < 2)
        {
          g_autoptr(GBytes) other = rb_bundle_read_file (bundle, nfc, &error);
          g_assert_null (other);
          g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
        }
      else
        {
          /* Two names that look alike are two entries, each read as itself. */
          g_autoptr(GBytes) other = rb_bundle_read_file (bundle, nfc, &error);
          g_assert_no_error (error);
          g_assert_nonnull (other);
          g_assert_true (g_strv_contains ((const char * const *) files, nfc));
        }
    }
}

/* Nothing a bundle holds makes the library log a WARNING or CRITICAL (an
 * abort in a GTest program or with G_DEBUG=fatal-warnings): WARN mode
 * reports unsigned content, and a newer rustbridge is reported, as
 * messages. Run in a subprocess so that an abort is a failed test. */
static void
test_hostile_never_warns (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *unsigned_path = make_unsigned ("hw-unsigned.rbp", NULL);
      g_autofree char *unsigned_lib = make ("hw-unsigned-lib.rbp", "--unsigned-library", NULL);
      g_autofree char *no_key = make ("hw-no-key.rbp", "--set", "public_key=null", NULL);
      g_autofree char *future = make_unsigned ("hw-future.rbp", "--set", "api={\"min_rustbridge_version\":\"9.9.0\"}",
                                               NULL);
      const char * const paths[] = { unsigned_path, unsigned_lib, future };

      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
      for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
        {
          g_autoptr(RbBundle) bundle = open_ok (paths[i]);
          g_autoptr(RbPlugin) plugin = NULL;
          g_autoptr(GError) error = NULL;

          rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
          g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
          g_assert_no_error (error);
          plugin = load_ok (bundle, NULL);
        }
      {
        /* Signed, but no key to check it with. */
        g_autoptr(RbBundle) bundle = open_ok (no_key);
        g_autoptr(RbPlugin) plugin = NULL;

        rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
        plugin = load_ok (bundle, NULL);
      }
      g_assert_true (warned_about ("manifest.json is not verified"));
      g_assert_true (warned_about ("librbfixture.so is not verified"));
      g_assert_true (warned_about ("9.9.0"));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* Runs @call expecting the critical of a method on a bundle that is not
 * open. */
#define REFUSED(call) G_STMT_START {                                              \
    g_test_expect_message ("RustBridge", G_LOG_LEVEL_CRITICAL, "*RB_BUNDLE_IS_OPEN*"); \
    call;                                                                          \
    g_test_assert_expected_messages ();                                            \
  } G_STMT_END

/* The same, for a call that must then return NULL. */
#define REFUSED_NULL(call) G_STMT_START {                                         \
    gconstpointer result_ = GINT_TO_POINTER (1);                                   \
    REFUSED (result_ = (call));                                                    \
    g_assert_null (result_);                                                       \
  } G_STMT_END

static void
never_called_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  g_assert_not_reached ();
}

/* Every method of @bundle (not open) refuses with a critical and a safe
 * value; the settings stay usable. */
static void
check_refuses_everything (RbBundle *bundle)
{
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  g_auto(GStrv) authors = NULL;
  gboolean b = TRUE;

  REFUSED_NULL (rb_bundle_list_files (bundle));
  REFUSED_NULL (rb_bundle_list_platforms (bundle));
  REFUSED_NULL (rb_bundle_list_variants (bundle, NULL, &error));
  REFUSED_NULL (rb_bundle_dup_default_variant (bundle, NULL, &error));
  REFUSED_NULL (rb_bundle_dup_library_path (bundle, NULL, &error));
  REFUSED (b = rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_false (b);
  REFUSED_NULL (rb_bundle_extract_library (bundle, NULL, dest, NULL, &error));
  REFUSED_NULL (rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error));
  REFUSED (rb_bundle_load_plugin_async (bundle, NULL, NULL, NULL, never_called_cb, NULL));
  REFUSED_NULL (rb_bundle_list_schemas (bundle));
  REFUSED_NULL (rb_bundle_read_schema (bundle, "echo", &error));
  REFUSED_NULL (rb_bundle_extract_schema (bundle, "echo", dest, &error));
  REFUSED_NULL (rb_bundle_read_file (bundle, "manifest.json", &error));
  REFUSED_NULL (rb_bundle_dup_manifest_json (bundle));
  REFUSED_NULL (rb_bundle_get_name (bundle));
  REFUSED_NULL (rb_bundle_get_version (bundle));
  REFUSED_NULL (rb_bundle_get_description (bundle));
  REFUSED_NULL (rb_bundle_get_license (bundle));
  REFUSED_NULL (rb_bundle_get_repository (bundle));
  REFUSED_NULL (rb_bundle_get_authors (bundle));
  REFUSED_NULL (rb_bundle_get_bundle_version (bundle));
  REFUSED_NULL (rb_bundle_get_manifest_public_key (bundle));
  REFUSED_NULL (rb_bundle_get_min_rustbridge_version (bundle));
  REFUSED_NULL (rb_bundle_get_build_info_string (bundle, "built_by"));
  REFUSED_NULL (rb_bundle_get_git_commit (bundle));
  REFUSED_NULL (rb_bundle_get_git_branch (bundle));
  REFUSED_NULL (rb_bundle_get_git_tag (bundle));
  REFUSED (b = rb_bundle_get_git_dirty (bundle));
  g_assert_false (b);
  REFUSED_NULL (rb_bundle_dup_built_at (bundle));
  REFUSED_NULL (rb_bundle_get_sbom_path (bundle, "cyclonedx"));
  REFUSED_NULL (rb_bundle_get_notices_path (bundle));
  REFUSED_NULL (rb_bundle_get_license_file_path (bundle));
  REFUSED_NULL (rb_bundle_list_api_messages (bundle));
  REFUSED_NULL (rb_bundle_lookup_api_message (bundle, "echo"));
  REFUSED_NULL (rb_bundle_lookup_api_message_by_id (bundle, 1));
  REFUSED_NULL (rb_bundle_get_api_transports (bundle));
  /* Nothing was set or written. */
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 0);
  g_rmdir (dir);

  /* Reading properties is no programming error: they are empty. */
  g_object_get (bundle, "name", &name, "authors", &authors, NULL);
  g_assert_null (name);
  g_assert_null (authors);
  /* The settings are not the manifest's: they work without an archive. */
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  g_assert_cmpint (rb_bundle_get_verify_mode (bundle), ==, RB_VERIFY_MODE_WARN);
  rb_bundle_set_public_key (bundle, "RWQ");
  g_assert_cmpstr (rb_bundle_get_public_key (bundle), ==, "RWQ");
}

/* A bundle that was never opened refuses calls instead of crashing. */
static void
test_unopened (void)
{
  g_autoptr(RbBundle) bundle = g_object_new (RB_TYPE_BUNDLE, NULL);

  check_refuses_everything (bundle);
  g_assert_null (rb_bundle_get_file (bundle));
}

/* Nor does a bundle whose opening failed, whatever the stage: every
 * method refuses, and a second init gives the same error. */
static void
test_failed_open (void)
{
  g_autofree char *missing = g_build_filename (workdir, "missing.rbp", NULL);
  g_autofree char *bad_version = make_unsigned ("fo-version.rbp", "--set", "bundle_version=\"2.0\"", NULL);
  g_autofree char *bad_notices = make_unsigned ("fo-notices.rbp", "--set", "notices=5", NULL);
  g_autofree char *bad_api = make_unsigned ("fo-api.rbp", "--set", "api={\"messages\":[5]}", NULL);
  g_autofree char *bad_schema = make_unsigned ("fo-schema.rbp", "--set", "schemas={\"s\":{\"path\":\"../s\"}}", NULL);
  const struct {
    const char *path;
    int         code;
  } cases[] = {
    { missing, RB_BUNDLE_ERROR_NOT_FOUND },
    { bad_version, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION },
    { bad_notices, RB_BUNDLE_ERROR_INVALID_MANIFEST },   /* before api was read */
    { bad_api, RB_BUNDLE_ERROR_INVALID_MANIFEST },       /* while api was read */
    { bad_schema, RB_BUNDLE_ERROR_INVALID_MANIFEST },    /* after api was read */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GFile) file = g_file_new_for_path (cases[i].path);
      g_autoptr(RbBundle) bundle = g_object_new (RB_TYPE_BUNDLE, "file", file, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_false (g_initable_init (G_INITABLE (bundle), NULL, &error));
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
      g_clear_error (&error);
      check_refuses_everything (bundle);
      g_assert_true (rb_bundle_get_file (bundle) == file);
      g_assert_false (g_initable_init (G_INITABLE (bundle), NULL, &error));
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
    }
}

int
main (int   argc,
      char *argv[])
{
  int ret;
  const char *parent_tmp = g_getenv ("TMPDIR");
  g_autofree char *base = NULL;
  g_autofree char *fixture_header = NULL;
  const char *keygen1[] = { "minisign", "-G", "-W", "-p", "k.pub", "-s", "k.key", NULL };
  const char *keygen2[] = { "minisign", "-G", "-W", "-p", "k2.pub", "-s", "k2.key", NULL };

  warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);

  /* Private extraction directories must appear (and vanish) here. GLib
   * reads TMPDIR once, on the first g_get_tmp_dir(): nothing may call it
   * (g_dir_make_tmp() does) before TMPDIR points here. */
  base = g_build_filename (parent_tmp != NULL && *parent_tmp != '\0' ? parent_tmp : "/tmp",
                           "rb-bundle-test-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (base));
  workdir = g_build_filename (base, "work", NULL);
  tmpdir = g_build_filename (base, "tmp", NULL);
  g_mkdir (workdir, 0700);
  g_mkdir (tmpdir, 0700);
  g_setenv ("TMPDIR", tmpdir, TRUE);
  /* Key 1 is trusted through the user's trusted-keys directory (filled
   * below, before anything reads it); the system's directories are empty.
   * GLib reads both once: before rb_test_init(). */
  {
    g_autofree char *config = g_build_filename (base, "config", NULL);
    g_autofree char *data = g_build_filename (base, "data", NULL);
    g_setenv ("XDG_CONFIG_HOME", config, TRUE);
    g_setenv ("XDG_DATA_DIRS", data, TRUE);
  }

  rb_test_init (&argc, &argv);
  g_assert_cmpstr (g_get_tmp_dir (), ==, tmpdir);

  g_autofree char *minisign = g_find_program_in_path ("minisign");

  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      return g_test_run ();
    }
  run (keygen1);
  run (keygen2);
  key = g_build_filename (workdir, "k.key", NULL);
  pub = g_build_filename (workdir, "k.pub", NULL);
  key2 = g_build_filename (workdir, "k2.key", NULL);
  pub2 = g_build_filename (workdir, "k2.pub", NULL);
  {
    g_autofree char *trusted = g_build_filename (g_get_user_config_dir (), "rustbridge", "trusted-keys", NULL);
    g_autofree char *copy = g_build_filename (trusted, "k.pub", NULL);
    g_autofree char *text = NULL;
    g_assert_cmpint (g_mkdir_with_parents (trusted, 0700), ==, 0);
    g_assert_true (g_file_get_contents (pub, &text, NULL, NULL));
    g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  }
  fixture_header = g_test_build_filename (G_TEST_DIST, "plugins", "fixture-raw.h", NULL);
  {
    g_autofree char *copy = g_build_filename (workdir, "fixture-raw.h", NULL);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (fixture_header, &text, NULL, NULL));
    g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  }

  g_test_add_func ("/bundle/valid", test_valid_bundle);
  g_test_add_func ("/bundle/accessors", test_accessors);
  g_test_add_func ("/bundle/bad-api", test_bad_api);
  g_test_add_func ("/bundle/rust-plugin", test_rust_plugin_bundle);
  g_test_add_func ("/bundle/schemas", test_schemas);
  g_test_add_func ("/bundle/verify-modes-unsigned", test_verify_modes_unsigned);
  g_test_add_func ("/bundle/unsigned-library", test_unsigned_library);
  g_test_add_func ("/bundle/tampered", test_tampered);
  g_test_add_func ("/bundle/keys", test_keys);
  g_test_add_func ("/bundle/trusted-comment-whitespace", test_trusted_comment_whitespace);
  g_test_add_func ("/bundle/no-public-key", test_no_public_key);
  g_test_add_func ("/bundle/legacy-signature", test_legacy_signature);
  g_test_add_func ("/bundle/platforms-and-variants", test_platforms_and_variants);
  g_test_add_func ("/bundle/extract-refuses-overwrite", test_extract_refuses_overwrite);
  g_test_add_func ("/bundle/changed-after-open", test_changed_after_open);
  g_test_add_func ("/bundle/unsafe-archives", test_unsafe_archives);
  g_test_add_func ("/bundle/zip-structure", test_zip_structure);
  g_test_add_func ("/bundle/zip-records", test_zip_records);
  g_test_add_func ("/bundle/zip-layouts", test_zip_layouts);
  g_test_add_func ("/bundle/names-in-messages", test_names_in_messages);
  g_test_add_func ("/bundle/limits", test_limits);
  g_test_add_func ("/bundle/declared-sizes", test_declared_sizes);
  g_test_add_func ("/bundle/broken-files", test_broken_files);
  g_test_add_func ("/bundle/bad-manifests", test_bad_manifests);
  g_test_add_func ("/bundle/min-version-warning", test_min_version_warning);
  g_test_add_func ("/bundle/load-async", test_load_async);
  g_test_add_func ("/bundle/load-async-cancelled", test_load_async_cancelled);
  g_test_add_func ("/bundle/deep-manifest", test_deep_manifest);
  g_test_add_func ("/bundle/empty-entries", test_empty_entries);
  g_test_add_func ("/bundle/manifest-huge-numbers", test_manifest_huge_numbers);
  g_test_add_func ("/bundle/signature-trailing-line", test_signature_trailing_line);
  g_test_add_func ("/bundle/decomposed-names", test_decomposed_names);
  g_test_add_func ("/bundle/hostile-never-warns", test_hostile_never_warns);
  g_test_add_func ("/bundle/unopened", test_unopened);
  g_test_add_func ("/bundle/failed-open", test_failed_open);

  ret = g_test_run ();

  rb_test_remove_tree (base);
  g_ptr_array_unref (warnings);
  g_free (workdir);
  g_free (tmpdir);
  g_free (key);
  g_free (pub);
  g_free (key2);
  g_free (pub2);
  return ret;
}
