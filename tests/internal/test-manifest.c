/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbManifest from strings: validation and lookups without a ZIP archive
 * per case (the bundle tests cover the same through RbBundle).
 */
#include <string.h>

#include "rb-error.h"
#include "rb-manifest-private.h"
#include "rb-test-util.h"

#define CHECKSUM "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static RbManifest *
manifest_new (const char  *text,
              GError     **error)
{
  g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

  return rb_manifest_new (bytes, "test.rbp", error);
}

/* A manifest for the current platform with @platform_body as its entry,
 * and @extra as more top-level members. */
static char *
manifest_text (const char *platform_body,
               const char *extra)
{
  return g_strdup_printf ("{\"bundle_version\":\"1.0\","
                          "\"plugin\":{\"name\":\"p\",\"version\":\"1.0.0\",\"authors\":[\"Ada\"]},"
                          "\"platforms\":{\"%s\":%s}%s%s}",
                          rb_manifest_get_current_platform (), platform_body,
                          extra != NULL ? "," : "", extra != NULL ? extra : "");
}

static void
test_manifest_valid (void)
{
  g_autofree char *text = manifest_text ("{\"default_variant\":\"debug\",\"variants\":{"
                                         "\"release\":{\"library\":\"lib/r/libp.so\",\"checksum\":\"" CHECKSUM "\"},"
                                         "\"debug\":{\"library\":\"lib/d/libp-debug.so\",\"checksum\":\"" CHECKSUM "\"}}}",
                                         "\"api\":{\"transports\":[\"json\"],\"messages\":[{\"type_tag\":\"echo\",\"message_id\":3}]},"
                                         "\"schemas\":{\"s\":{\"path\":\"schemas/s.json\"}}");
  g_autoptr(GError) error = NULL;
  g_autoptr(RbManifest) manifest = manifest_new (text, &error);
  g_autoptr(RbManifestVariant) variant = NULL;
  g_auto(GStrv) variants = NULL;
  g_auto(GStrv) schemas = NULL;
  g_autofree char *def = NULL;
  const char *path = NULL, *checksum = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (manifest);
  g_assert_cmpstr (rb_manifest_get_plugin_string (manifest, "name"), ==, "p");
  g_assert_cmpstrv (rb_manifest_get_authors (manifest), ((const char *[]) { "Ada", NULL }));
  g_assert_cmpstrv (rb_manifest_get_transports (manifest), ((const char *[]) { "json", NULL }));
  g_assert_cmpuint (rb_manifest_get_messages (manifest)->len, ==, 1);

  variants = rb_manifest_list_variants (manifest, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (variants, ((const char *[]) { "debug", "release", NULL }));
  def = rb_manifest_dup_default_variant (manifest, NULL, &error);
  g_assert_cmpstr (def, ==, "debug");

  /* NULL resolves the default variant, once, into one record. */
  variant = rb_manifest_resolve_variant (manifest, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (variant->name, ==, "debug");
  g_assert_cmpstr (variant->library, ==, "lib/d/libp-debug.so");
  g_assert_cmpstr (variant->checksum, ==, CHECKSUM);
  g_assert_cmpstr (variant->file_name, ==, "libp-debug.so");
  g_clear_pointer (&variant, rb_manifest_variant_free);

  g_assert_null (rb_manifest_resolve_variant (manifest, "nope", &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_VARIANT_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (rb_manifest_list_variants (manifest, "plan9-mips", &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
  g_clear_error (&error);

  schemas = rb_manifest_list_schemas (manifest);
  g_assert_cmpstrv (schemas, ((const char *[]) { "s", NULL }));
  g_assert_true (rb_manifest_lookup_schema (manifest, "s", &path, &checksum, &error));
  g_assert_cmpstr (path, ==, "schemas/s.json");
  g_assert_null (checksum);
  g_assert_false (rb_manifest_lookup_schema (manifest, "t", &path, &checksum, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
}

/* The legacy form: library and checksum on the platform, one "release". */
static void
test_manifest_legacy (void)
{
  g_autofree char *text = manifest_text ("{\"library\":\"libp.so\",\"checksum\":\"" CHECKSUM "\"}", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbManifest) manifest = manifest_new (text, &error);
  g_autoptr(RbManifestVariant) variant = NULL;

  g_assert_no_error (error);
  variant = rb_manifest_resolve_variant (manifest, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (variant->name, ==, "release");
  g_assert_cmpstr (variant->library, ==, "libp.so");
  g_assert_null (rb_manifest_resolve_variant (manifest, "debug", NULL));
}

static void
test_manifest_invalid (void)
{
  const struct {
    const char *platform;
    const char *extra;
    int         code;
    const char *message;
  } cases[] = {
    { "{\"variants\":{\"Bad\":{\"library\":\"l.so\",\"checksum\":\"" CHECKSUM "\"}}}", NULL,
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "variant name “Bad”" },
    { "{\"library\":\"../l.so\",\"checksum\":\"" CHECKSUM "\"}", NULL,
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "unsafe library path “../l.so”" },
    { "{\"library\":\"l.so\",\"checksum\":\"sha256:00\"}", NULL,
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "no valid “checksum”" },
    { "{\"variants\":{\"debug\":{\"library\":\"l.so\",\"checksum\":\"" CHECKSUM "\"}}}", NULL,
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "has no “release” variant" },
    { "{\"default_variant\":\"x\",\"variants\":{\"debug\":{\"library\":\"l.so\",\"checksum\":\"" CHECKSUM "\"}}}", NULL,
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "names default variant “x”" },
    { "[]", NULL, RB_BUNDLE_ERROR_INVALID_MANIFEST, "must be an object" },
    { "{\"library\":\"l.so\",\"checksum\":\"" CHECKSUM "\"}", "\"api\":{\"messages\":[{\"type_tag\":1}]}",
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "“api.messages[0].type_tag” must be a string" },
    { "{\"library\":\"l.so\",\"checksum\":\"" CHECKSUM "\"}", "\"schemas\":{\"s\":{\"path\":\"/etc/passwd\"}}",
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "schema “s” needs a safe “path”" },
    { "{\"library\":\"l.so\",\"checksum\":\"" CHECKSUM "\"}", "\"build_info\":\"x\"",
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "“build_info” must be an object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = manifest_text (cases[i].platform, cases[i].extra);
      g_autoptr(GError) error = NULL;
      g_autoptr(RbManifest) manifest = manifest_new (text, &error);

      g_assert_null (manifest);
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("case %u: “%s” does not say “%s”", i, error->message, cases[i].message);
      g_assert_true (g_str_has_prefix (error->message, "Invalid manifest.json: "));
      /* NULL for GError ** is fine too. */
      g_assert_null (manifest_new (text, NULL));
    }
}

static void
test_manifest_not_a_manifest (void)
{
  const struct { const char *text; int code; const char *message; } cases[] = {
    { "", RB_BUNDLE_ERROR_INVALID_MANIFEST, "Invalid manifest.json in “test.rbp”: the file is empty" },
    { "[1]", RB_BUNDLE_ERROR_INVALID_MANIFEST, "not a JSON object" },
    { "{\"a\":", RB_BUNDLE_ERROR_INVALID_MANIFEST, "Invalid manifest.json in “test.rbp”" },
    { "{\"bundle_version\":\"2.0\"}", RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "only 1.x is supported" },
    { "{\"bundle_version\":\"1.0\"}", RB_BUNDLE_ERROR_INVALID_MANIFEST, "“plugin” is missing" },
    { "{\"bundle_version\":\"1.0\",\"plugin\":{\"name\":\"p\",\"version\":\"1\"},\"platforms\":{}}",
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "“platforms” is empty" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RbManifest) manifest = manifest_new (cases[i].text, &error);

      g_assert_null (manifest);
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].message) == NULL)
        g_error ("case %u: “%s” does not say “%s”", i, error->message, cases[i].message);
    }
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/manifest/valid", test_manifest_valid);
  g_test_add_func ("/manifest/legacy", test_manifest_legacy);
  g_test_add_func ("/manifest/invalid", test_manifest_invalid);
  g_test_add_func ("/manifest/not-a-manifest", test_manifest_not_a_manifest);

  return g_test_run ();
}
