/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: RbBundle's manifest handling. The target writes a
 * valid ZIP around fuzzed entries, so that the manifest parser and what
 * follows it are reached (the ZIP layer itself is fuzz-archive's), opens
 * it with rb_bundle_new_for_path(), calls every accessor and verifies.
 *
 * Input: manifest.json, then optional parts after FUZZ_SEPARATOR:
 *   1. manifest.json.minisig (present, maybe empty, when the separator is)
 *   2. lib/linux-x86_64/release/libfuzz.so.minisig
 *   3. the public-key property (NUL-terminated text)
 * The archive also holds the library lib/linux-x86_64/release/libfuzz.so
 * (FUZZ_LIBRARY_CONTENT) and schema/messages.json (FUZZ_SCHEMA_CONTENT).
 * An input that starts with "PK\3\4" is written as the bundle itself.
 *
 * Checks: no crash, leak or WARNING/CRITICAL; failures set an
 * RB_BUNDLE_ERROR with a UTF-8 message; what the accessors return is
 * consistent (listed variants have library paths, listed messages can be
 * looked up, listed files can be read).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rustbridge-glib.h>

#include "fuzz-util.h"

#define FUZZ_LIBRARY_NAME    "lib/linux-x86_64/release/libfuzz.so"
#define FUZZ_LIBRARY_CONTENT "not really an ELF file\n"
#define FUZZ_SCHEMA_NAME     "schema/messages.json"
#define FUZZ_SCHEMA_CONTENT  "{\"type\":\"object\"}\n"
#define MAX_FILES_READ       16

/* ---- a minimal ZIP writer: stored entries, no extras ----------------- */

static guint32
crc32 (const guint8 *data,
       gsize         len)
{
  static guint32 table[256];
  guint32 crc = 0xffffffffu;

  if (table[1] == 0)
    for (guint32 i = 0; i < 256; i++)
      {
        guint32 c = i;
        for (int k = 0; k < 8; k++)
          c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
      }
  for (gsize i = 0; i < len; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

static void
put16 (GByteArray *out,
       guint       v)
{
  guint8 b[2] = { v & 0xff, (v >> 8) & 0xff };
  g_byte_array_append (out, b, 2);
}

static void
put32 (GByteArray *out,
       guint32     v)
{
  guint8 b[4] = { v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, (v >> 24) & 0xff };
  g_byte_array_append (out, b, 4);
}

typedef struct {
  GByteArray *data;
  GByteArray *central;
  guint       count;
} ZipWriter;

static void
zip_add (ZipWriter    *zip,
         const char   *name,
         const guint8 *content,
         gsize         len)
{
  guint32 offset = zip->data->len;
  guint32 crc = crc32 (content, len);
  gsize name_len = strlen (name);

  /* local file header */
  put32 (zip->data, 0x04034b50);
  put16 (zip->data, 20);            /* version needed */
  put16 (zip->data, 0);             /* flags */
  put16 (zip->data, 0);             /* stored */
  put16 (zip->data, 0);             /* time */
  put16 (zip->data, 0x21);          /* date: 1980-01-01 */
  put32 (zip->data, crc);
  put32 (zip->data, (guint32) len);
  put32 (zip->data, (guint32) len);
  put16 (zip->data, (guint) name_len);
  put16 (zip->data, 0);
  g_byte_array_append (zip->data, (const guint8 *) name, (guint) name_len);
  if (len > 0)
    g_byte_array_append (zip->data, content, (guint) len);

  /* central directory entry */
  put32 (zip->central, 0x02014b50);
  put16 (zip->central, 0x0314);     /* made by: Unix, 2.0 */
  put16 (zip->central, 20);
  put16 (zip->central, 0);
  put16 (zip->central, 0);
  put16 (zip->central, 0);
  put16 (zip->central, 0x21);
  put32 (zip->central, crc);
  put32 (zip->central, (guint32) len);
  put32 (zip->central, (guint32) len);
  put16 (zip->central, (guint) name_len);
  put16 (zip->central, 0);          /* extra */
  put16 (zip->central, 0);          /* comment */
  put16 (zip->central, 0);          /* disk */
  put16 (zip->central, 0);          /* internal attributes */
  put32 (zip->central, 0100644u << 16);  /* regular file, rw-r--r-- */
  put32 (zip->central, offset);
  g_byte_array_append (zip->central, (const guint8 *) name, (guint) name_len);
  zip->count++;
}

static GByteArray *
zip_finish (ZipWriter *zip)
{
  guint32 cd_offset = zip->data->len;
  guint32 cd_size = zip->central->len;

  g_byte_array_append (zip->data, zip->central->data, zip->central->len);
  g_byte_array_unref (zip->central);
  put32 (zip->data, 0x06054b50);
  put16 (zip->data, 0);
  put16 (zip->data, 0);
  put16 (zip->data, zip->count);
  put16 (zip->data, zip->count);
  put32 (zip->data, cd_size);
  put32 (zip->data, cd_offset);
  put16 (zip->data, 0);
  return zip->data;
}

/* ---- the accessors --------------------------------------------------- */

static void
check (gboolean    ok,
       GError     *error,
       const char *what)
{
  if (!ok)
    fuzz_check_error (error, RB_BUNDLE_ERROR, what);
}

static void
consistent (gboolean    condition,
            const char *what)
{
  if (!condition)
    {
      fprintf (stderr, "inconsistent bundle accessors: %s\n", what);
      abort ();
    }
}

static void
check_utf8 (const char *text,
            const char *what)
{
  if (text != NULL && !g_utf8_validate (text, -1, NULL))
    {
      fprintf (stderr, "%s returned a string that is not UTF-8\n", what);
      abort ();
    }
}

static void
check_message (RbBundleMessage *message)
{
  check_utf8 (rb_bundle_message_get_type_tag (message), "rb_bundle_message_get_type_tag");
  (void) rb_bundle_message_get_message_id (message);
  check_utf8 (rb_bundle_message_get_description (message), "rb_bundle_message_get_description");
  check_utf8 (rb_bundle_message_get_transport (message), "rb_bundle_message_get_transport");
  check_utf8 (rb_bundle_message_get_request_schema (message), "get_request_schema");
  check_utf8 (rb_bundle_message_get_response_schema (message), "get_response_schema");
  check_utf8 (rb_bundle_message_get_cstruct_request (message), "get_cstruct_request");
  check_utf8 (rb_bundle_message_get_cstruct_response (message), "get_cstruct_response");
}

static void
exercise (RbBundle *bundle)
{
  static const char * const build_keys[] = {
    "built_by", "built_at", "host", "compiler", "rustbridge_version", "commit", "x", NULL
  };
  const char *platform = rb_bundle_get_current_platform ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) platforms = NULL;
  g_auto(GStrv) files = NULL;
  g_auto(GStrv) schemas = NULL;
  const char * const *transports;
  g_autofree char *manifest = NULL;
  g_autoptr(GDateTime) built_at = NULL;
  GList *messages;
  const char * const *authors;

  check_utf8 (rb_bundle_get_name (bundle), "rb_bundle_get_name");
  check_utf8 (rb_bundle_get_version (bundle), "rb_bundle_get_version");
  check_utf8 (rb_bundle_get_description (bundle), "rb_bundle_get_description");
  check_utf8 (rb_bundle_get_license (bundle), "rb_bundle_get_license");
  check_utf8 (rb_bundle_get_repository (bundle), "rb_bundle_get_repository");
  check_utf8 (rb_bundle_get_bundle_version (bundle), "rb_bundle_get_bundle_version");
  authors = rb_bundle_get_authors (bundle);
  for (guint i = 0; authors != NULL && authors[i] != NULL; i++)
    check_utf8 (authors[i], "rb_bundle_get_authors");
  manifest = rb_bundle_dup_manifest_json (bundle);
  check_utf8 (manifest, "rb_bundle_dup_manifest_json");
  check_utf8 (rb_bundle_get_manifest_public_key (bundle), "get_manifest_public_key");
  check_utf8 (rb_bundle_get_min_rustbridge_version (bundle), "get_min_rustbridge_version");
  for (guint i = 0; build_keys[i] != NULL; i++)
    check_utf8 (rb_bundle_get_build_info_string (bundle, build_keys[i]), "get_build_info_string");
  check_utf8 (rb_bundle_get_git_commit (bundle), "rb_bundle_get_git_commit");
  check_utf8 (rb_bundle_get_git_branch (bundle), "rb_bundle_get_git_branch");
  check_utf8 (rb_bundle_get_git_tag (bundle), "rb_bundle_get_git_tag");
  (void) rb_bundle_get_git_dirty (bundle);
  built_at = rb_bundle_dup_built_at (bundle);
  check_utf8 (rb_bundle_get_sbom_path (bundle, "cyclonedx"), "get_sbom_path");
  check_utf8 (rb_bundle_get_sbom_path (bundle, "spdx"), "get_sbom_path");
  check_utf8 (rb_bundle_get_sbom_path (bundle, "other"), "get_sbom_path");
  check_utf8 (rb_bundle_get_notices_path (bundle), "get_notices_path");
  check_utf8 (rb_bundle_get_license_file_path (bundle), "get_license_file_path");

  /* Platforms and variants. */
  platforms = rb_bundle_list_platforms (bundle);
  for (guint i = 0; platforms != NULL && platforms[i] != NULL; i++)
    {
      g_auto(GStrv) variants = rb_bundle_list_variants (bundle, platforms[i], &error);
      g_autofree char *def = NULL;

      check (variants != NULL, error, "rb_bundle_list_variants of a listed platform");
      g_clear_error (&error);
      def = rb_bundle_dup_default_variant (bundle, platforms[i], &error);
      check (def != NULL, error, "rb_bundle_dup_default_variant");
      g_clear_error (&error);
      if (g_strcmp0 (platforms[i], platform) != 0 || variants == NULL)
        continue;
      for (guint j = 0; variants[j] != NULL; j++)
        {
          g_autofree char *path = rb_bundle_dup_library_path (bundle, variants[j], &error);

          check (path != NULL, error, "rb_bundle_dup_library_path");
          g_clear_error (&error);
          check (rb_bundle_verify (bundle, variants[j], NULL, &error), error, "rb_bundle_verify");
          g_clear_error (&error);
        }
    }
  {
    g_auto(GStrv) none = rb_bundle_list_variants (bundle, "no-such-platform", &error);
    check (none != NULL, error, "rb_bundle_list_variants of an unknown platform");
    g_clear_error (&error);
  }

  /* Files and schemas. */
  files = rb_bundle_list_files (bundle);
  for (guint i = 0; files != NULL && files[i] != NULL && i < MAX_FILES_READ; i++)
    {
      g_autoptr(GBytes) bytes = rb_bundle_read_file (bundle, files[i], &error);
      check (bytes != NULL, error, "rb_bundle_read_file");
      g_clear_error (&error);
    }
  schemas = rb_bundle_list_schemas (bundle);
  for (guint i = 0; schemas != NULL && schemas[i] != NULL && i < MAX_FILES_READ; i++)
    {
      g_autoptr(GBytes) bytes = rb_bundle_read_schema (bundle, schemas[i], &error);
      check (bytes != NULL, error, "rb_bundle_read_schema");
      g_clear_error (&error);
    }

  /* API messages. */
  transports = rb_bundle_get_api_transports (bundle);
  for (guint i = 0; transports != NULL && transports[i] != NULL; i++)
    check_utf8 (transports[i], "rb_bundle_get_api_transports");
  messages = rb_bundle_list_api_messages (bundle);
  for (GList *l = messages; l != NULL; l = l->next)
    {
      RbBundleMessage *message = l->data;
      g_autoptr(RbBundleMessage) by_tag = NULL;
      g_autoptr(RbBundleMessage) by_id = NULL;
      gint64 id = rb_bundle_message_get_message_id (message);

      check_message (message);
      by_tag = rb_bundle_lookup_api_message (bundle, rb_bundle_message_get_type_tag (message));
      consistent (by_tag != NULL, "a listed message is not found by its type tag");
      if (id >= 0 && id <= G_MAXUINT32)
        {
          by_id = rb_bundle_lookup_api_message_by_id (bundle, (guint32) id);
          consistent (by_id != NULL, "a listed message is not found by its id");
          check_message (by_id);
        }
    }
  g_list_free_full (messages, (GDestroyNotify) rb_bundle_message_unref);
  {
    g_autoptr(RbBundleMessage) none = rb_bundle_lookup_api_message (bundle, "no.such.tag");
    (void) none;
  }

  /* Verification: as configured, then the checksums alone. */
  check (rb_bundle_verify (bundle, NULL, NULL, &error), error, "rb_bundle_verify");
  g_clear_error (&error);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_SKIP);
  check (rb_bundle_verify (bundle, NULL, NULL, &error), error, "rb_bundle_verify (SKIP)");
  g_clear_error (&error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  const uint8_t *parts[4] = { NULL, NULL, NULL, NULL };
  size_t lens[4] = { 0, 0, 0, 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autofree char *public_key = NULL;
  const char *path;
  gsize n_parts = 1;

  fuzz_setup ();
  if (size >= 4 && memcmp (data, "PK\3\4", 4) == 0)
    path = fuzz_write_file ("fuzz.rbp", data, size);
  else
    {
      ZipWriter zip = { g_byte_array_new (), g_byte_array_new (), 0 };
      g_autoptr(GByteArray) archive = NULL;

      n_parts = fuzz_split (data, size, parts, lens, G_N_ELEMENTS (parts));
      zip_add (&zip, "manifest.json", parts[0], lens[0]);
      if (n_parts > 1)
        zip_add (&zip, "manifest.json.minisig", parts[1], lens[1]);
      zip_add (&zip, FUZZ_LIBRARY_NAME, (const guint8 *) FUZZ_LIBRARY_CONTENT,
               strlen (FUZZ_LIBRARY_CONTENT));
      if (n_parts > 2)
        zip_add (&zip, FUZZ_LIBRARY_NAME ".minisig", parts[2], lens[2]);
      zip_add (&zip, FUZZ_SCHEMA_NAME, (const guint8 *) FUZZ_SCHEMA_CONTENT,
               strlen (FUZZ_SCHEMA_CONTENT));
      if (n_parts > 3)
        public_key = g_strndup ((const char *) parts[3], lens[3]);
      archive = zip_finish (&zip);
      path = fuzz_write_file ("fuzz.rbp", archive->data, archive->len);
    }

  bundle = rb_bundle_new_for_path (path, NULL, &error);
  if (bundle == NULL)
    {
      fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_bundle_new_for_path");
      return 0;
    }
  if (public_key != NULL)
    rb_bundle_set_public_key (bundle, public_key);
  exercise (bundle);
  return 0;
}
