/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-tool verify / info / list / extract / schema.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sodium.h>

#include "rbt-common.h"

#define MAX_ENTRIES      10000
#define MAX_TOTAL_SIZE   (G_GUINT64_CONSTANT (4) << 30)
#define MAX_LIBRARY_SIZE (G_GUINT64_CONSTANT (1) << 30)
#define MAX_SIGNATURE    (64 * 1024)

gboolean
rbt_bundle_open (RbtBundle   *b,
                 const char  *path,
                 GError     **error)
{
  g_autofree char *text = NULL;

  b->bundle = rb_bundle_new_for_path (path, NULL, error);
  if (b->bundle == NULL)
    return FALSE;
  b->archive = rb_archive_open (path, MAX_ENTRIES, MAX_TOTAL_SIZE, error);
  if (b->archive == NULL)
    return FALSE;
  text = rb_bundle_dup_manifest_json (b->bundle);
  b->parser = json_parser_new ();
  if (!json_parser_load_from_data (b->parser, text, -1, error))
    return FALSE;
  b->manifest = json_node_get_object (json_parser_get_root (b->parser));
  return TRUE;
}

void
rbt_bundle_clear (RbtBundle *b)
{
  g_clear_object (&b->bundle);
  g_clear_pointer (&b->archive, rb_archive_free);
  g_clear_object (&b->parser);
  b->manifest = NULL;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char **) a, *(char **) b);
}

gboolean
rbt_resolve_key (const RbtBundle *b,
                 const char      *key_path,
                 const char      *keys_dir,
                 RbMinisignKey   *key,
                 char           **key_text,
                 char           **source,
                 GError         **error)
{
  if (key_path != NULL && keys_dir != NULL)
    {
      g_set_error_literal (error, RBT_ERROR, RBT_ERROR_USAGE, "Give --key or --trusted-keys-dir, not both");
      return FALSE;
    }
  if (key_path != NULL)
    {
      if (!rbt_public_key_load (key_path, key, key_text, error))
        return FALSE;
      *source = rbt_shown (key_path);
      return TRUE;
    }
  if (keys_dir != NULL)
    {
      g_autoptr(GBytes) sig_bytes = NULL;
      g_autoptr(GDir) dir = NULL;
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
      g_autofree char *shown_dir = rbt_shown (keys_dir);
      g_autofree char *wanted = NULL;
      RbMinisignSignature signature;
      const char *name;
      const guint8 *data;
      gsize size;

      if (!rb_archive_has_file (b->archive, "manifest.json.minisig"))
        {
          g_set_error_literal (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING,
                               "The bundle is not signed (no “manifest.json.minisig”)");
          return FALSE;
        }
      sig_bytes = rb_archive_read (b->archive, "manifest.json.minisig", MAX_SIGNATURE, error);
      if (sig_bytes == NULL)
        return FALSE;
      data = g_bytes_get_data (sig_bytes, &size);
      if (!rb_minisign_signature_parse (data, size, "manifest.json.minisig", &signature, error))
        return FALSE;
      wanted = rb_minisign_key_id_to_string (signature.key_id);
      dir = g_dir_open (keys_dir, 0, NULL);
      if (dir == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Cannot open the trusted keys directory “%s”",
                       shown_dir);
          rb_minisign_signature_clear (&signature);
          return FALSE;
        }
      while ((name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".pub"))
          g_ptr_array_add (names, g_strdup (name));
      g_ptr_array_sort (names, compare_names);
      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *path = g_build_filename (keys_dir, names->pdata[i], NULL);
          g_autofree char *text = NULL;
          RbMinisignKey candidate;

          /* Files that are not keys are skipped: the directory may hold notes. */
          if (!rbt_public_key_load (path, &candidate, &text, NULL))
            continue;
          if (memcmp (candidate.key_id, signature.key_id, RB_MINISIGN_KEY_ID_LEN) == 0)
            {
              *key = candidate;
              *key_text = g_steal_pointer (&text);
              *source = rbt_shown (path);
              rb_minisign_signature_clear (&signature);
              return TRUE;
            }
        }
      rb_minisign_signature_clear (&signature);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NO_PUBLIC_KEY,
                   "No trusted key in “%s” has the key id %s that signed the bundle", shown_dir, wanted);
      return FALSE;
    }
  if (json_object_has_member (b->manifest, "public_key"))
    {
      const char *text = json_object_get_string_member (b->manifest, "public_key");
      if (!rb_minisign_key_parse (text, "manifest public_key", key, error))
        return FALSE;
      *key_text = g_strdup (text);
      *source = g_strdup ("the bundle's own manifest (not a trusted key)");
      return TRUE;
    }
  g_set_error_literal (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NO_PUBLIC_KEY,
                       "No public key: give --key KEY.pub or --trusted-keys-dir DIR (the manifest has none)");
  return FALSE;
}

typedef struct {
  crypto_hash_sha256_state sha256;
  crypto_generichash_state blake2b;
} Hashes;

static gboolean
hash_chunk (const guint8  *data,
            gsize          len,
            gpointer       user_data,
            GError       **error)
{
  Hashes *h = user_data;

  crypto_hash_sha256_update (&h->sha256, data, len);
  crypto_generichash_update (&h->blake2b, data, len);
  return TRUE;
}

static gboolean
check_signature (RbArchive            *archive,
                 const RbMinisignKey  *key,
                 const char           *name,
                 const guint8         *data,
                 gsize                 len,
                 const guint8         *prehash,
                 char                **trusted_comment,
                 GError              **error)
{
  g_autofree char *sig_name = g_strconcat (name, ".minisig", NULL);
  g_autofree char *shown = rbt_shown (sig_name);
  g_autoptr(GBytes) sig_bytes = NULL;
  RbMinisignSignature signature;
  const guint8 *sig_data;
  gsize size;
  gboolean ok;

  if (!rb_archive_has_file (archive, sig_name))
    {
      g_autofree char *shown_name = rbt_shown (name);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING, "“%s” is not signed (no “%s”)",
                   shown_name, shown);
      return FALSE;
    }
  sig_bytes = rb_archive_read (archive, sig_name, MAX_SIGNATURE, error);
  if (sig_bytes == NULL)
    return FALSE;
  sig_data = g_bytes_get_data (sig_bytes, &size);
  if (!rb_minisign_signature_parse (sig_data, size, shown, &signature, error))
    return FALSE;
  if (!signature.prehashed && data == NULL)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID,
                   "Signature “%s” uses the legacy format; rustbridge-tool checks prehashed signatures of "
                   "libraries only (re-sign the bundle)", shown);
      rb_minisign_signature_clear (&signature);
      return FALSE;
    }
  ok = rb_minisign_verify (key, &signature, data, len, prehash, shown, error);
  if (ok && trusted_comment != NULL)
    *trusted_comment = g_steal_pointer (&signature.trusted_comment);
  rb_minisign_signature_clear (&signature);
  return ok;
}

/* Every check: manifest signature, and each library's checksum and
 * signature (of @variant only, when given), and the schemas' checksums. */
static gboolean
verify_all (const RbtBundle     *b,
            const RbMinisignKey *key,
            const char          *key_text,
            const char          *variant,
            gboolean             print,
            GError             **error)
{
  RbBundle *bundle = b->bundle;
  RbArchive *archive = b->archive;
  g_autoptr(GBytes) manifest_bytes = NULL;
  g_autoptr(GPtrArray) libraries = rbt_manifest_libraries (b->manifest);
  g_autofree char *comment = NULL;
  g_autofree char *key_id = rb_minisign_key_id_to_string (key->key_id);
  g_auto(GStrv) schemas = rb_bundle_list_schemas (bundle);
  const guint8 *data;
  gsize size;
  guint checked = 0;

  manifest_bytes = rb_archive_read (archive, "manifest.json", 1024 * 1024, error);
  if (manifest_bytes == NULL)
    return FALSE;
  data = g_bytes_get_data (manifest_bytes, &size);
  if (!check_signature (archive, key, "manifest.json", data, size, NULL, &comment, error))
    return FALSE;
  if (print)
    {
      g_autofree char *shown = rb_names_escape (comment, -1, 1000);
      g_print ("manifest.json: signature OK (key id %s)\n  trusted comment: %s\n", key_id, shown);
    }

  for (guint i = 0; i < libraries->len; i++)
    {
      RbtLibraryRef *ref = libraries->pdata[i];
      g_autofree char *shown = rbt_shown (ref->library);
      g_autofree char *lib_comment = NULL;
      guint8 digest[crypto_hash_sha256_BYTES];
      guint8 prehash[RB_MINISIGN_PREHASH_LEN];
      char hex[crypto_hash_sha256_BYTES * 2 + 1];
      const char *expected = ref->checksum;
      Hashes h;

      if (variant != NULL && strcmp (ref->variant, variant) != 0)
        continue;
      if (!rb_archive_has_file (archive, ref->library))
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                       "The bundle has no “%s” (named by the manifest)", shown);
          return FALSE;
        }
      crypto_hash_sha256_init (&h.sha256);
      crypto_generichash_init (&h.blake2b, NULL, 0, sizeof prehash);
      if (!rb_archive_stream (archive, ref->library, MAX_LIBRARY_SIZE, NULL, hash_chunk, &h, error))
        return FALSE;
      crypto_hash_sha256_final (&h.sha256, digest);
      crypto_generichash_final (&h.blake2b, prehash, sizeof prehash);
      sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
      if (g_ascii_strncasecmp (expected, "sha256:", 7) == 0)
        expected += 7;
      if (g_ascii_strcasecmp (hex, expected) != 0)
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                       "“%s” does not match its checksum in the manifest", shown);
          return FALSE;
        }
      if (!check_signature (archive, key, ref->library, NULL, 0, prehash, &lib_comment, error))
        return FALSE;
      checked++;
      if (print)
        g_print ("%s (%s, %s): checksum and signature OK\n", shown, ref->platform, ref->variant);
    }
  if (variant != NULL && checked == 0)
    {
      g_autofree char *shown = rbt_shown (variant);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_VARIANT_NOT_FOUND,
                   "No platform of the bundle has a variant “%s”", shown);
      return FALSE;
    }

  for (guint i = 0; schemas[i] != NULL; i++)
    {
      g_autoptr(GBytes) schema = rb_bundle_read_schema (bundle, schemas[i], error);
      if (schema == NULL)
        return FALSE;
      if (print)
        {
          g_autofree char *shown = rbt_shown (schemas[i]);
          g_print ("schema %s: checksum OK\n", shown);
        }
    }

  /* And the loader's own path, for the library this machine would load. */
  {
    g_auto(GStrv) platforms = rb_bundle_list_platforms (bundle);
    if (g_strv_contains ((const char *const *) platforms, rb_bundle_get_current_platform ()))
      {
        g_auto(GStrv) variants = rb_bundle_list_variants (bundle, NULL, NULL);
        if (variant == NULL || (variants != NULL && g_strv_contains ((const char *const *) variants, variant)))
          {
            rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_STRICT);
            rb_bundle_set_public_key (bundle, key_text);
            if (!rb_bundle_verify (bundle, variant, NULL, error))
              return FALSE;
          }
      }
  }
  return TRUE;
}

/* Opens @path into @b and runs every check with the key --key,
 * --trusted-keys-dir or the manifest gives; @source says which. */
static gboolean
open_and_verify (RbtBundle   *b,
                 const char  *path,
                 const char  *key_path,
                 const char  *keys_dir,
                 const char  *variant,
                 gboolean     print,
                 char       **source,
                 GError     **error)
{
  g_autofree char *key_text = NULL;
  RbMinisignKey key;

  return rbt_bundle_open (b, path, error) &&
         rbt_resolve_key (b, key_path, keys_dir, &key, &key_text, source, error) &&
         verify_all (b, &key, key_text, variant, print, error);
}

int
rbt_verify_main (int    argc,
                 char **argv)
{
  g_autofree char *key_path = NULL;
  g_autofree char *keys_dir = NULL;
  g_autofree char *variant = NULL;
  gboolean quiet = FALSE;
  GOptionEntry entries[] = {
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "Trust this minisign public key", "KEY.pub" },
    { "trusted-keys-dir", 0, 0, G_OPTION_ARG_FILENAME, &keys_dir,
      "Trust the key in DIR (a *.pub file) whose id signed the bundle", "DIR" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant, "Check only this variant's libraries", "VARIANT" },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing on success", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_auto(RbtBundle) b = RBT_BUNDLE_INIT;
  g_autofree char *source = NULL;
  int status;

  if (!rbt_parse_options ("verify", "BUNDLE [--key KEY.pub | --trusted-keys-dir DIR]",
                          "Checks the manifest's signature, and the checksum and signature of every library\n"
                          "(all platforms), and the schemas' checksums. Without --key or --trusted-keys-dir\n"
                          "the manifest's own key is used, which only shows the bundle is self-consistent.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return rbt_usage_error ("verify", "expected one BUNDLE");

  if (!open_and_verify (&b, argv[1], key_path, keys_dir, variant, !quiet, &source, &error))
    return rbt_report_error ("verify", error);
  if (!quiet)
    g_print ("Bundle %s %s verified with the key from %s\n", rb_bundle_get_name (b.bundle),
             rb_bundle_get_version (b.bundle), source);
  return RBT_EXIT_OK;
}

/* ------------------------------------------------------------------ */

static void
print_field (const char *label,
             const char *value)
{
  if (value != NULL)
    {
      g_autofree char *shown = rb_names_escape (value, -1, 2000);
      g_print ("%-18s %s\n", label, shown);
    }
}

int
rbt_info_main (int    argc,
               char **argv)
{
  gboolean as_json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print JSON (the manifest and the signature facts)", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_auto(RbtBundle) b = RBT_BUNDLE_INIT;
  g_autoptr(GPtrArray) libraries = NULL;
  g_autofree char *key_id = NULL;
  g_autofree char *comment = NULL;
  gboolean signed_manifest;
  int status;

  if (!rbt_parse_options ("info", "BUNDLE", "Shows a bundle's metadata (nothing is verified: see verify).",
                          entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return rbt_usage_error ("info", "expected one BUNDLE");
  if (!rbt_bundle_open (&b, argv[1], &error))
    return rbt_report_error ("info", error);

  signed_manifest = rb_archive_has_file (b.archive, "manifest.json.minisig");
  if (signed_manifest)
    {
      g_autoptr(GBytes) sig = rb_archive_read (b.archive, "manifest.json.minisig", MAX_SIGNATURE, NULL);
      RbMinisignSignature signature;
      const guint8 *data;
      gsize size;

      data = sig != NULL ? g_bytes_get_data (sig, &size) : NULL;
      if (data != NULL && rb_minisign_signature_parse (data, size, "manifest.json.minisig", &signature, NULL))
        {
          key_id = rb_minisign_key_id_to_string (signature.key_id);
          comment = g_steal_pointer (&signature.trusted_comment);
          rb_minisign_signature_clear (&signature);
        }
    }

  if (as_json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      g_autofree char *text = NULL;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "signed");
      json_builder_add_boolean_value (builder, signed_manifest);
      if (key_id != NULL)
        {
          json_builder_set_member_name (builder, "key_id");
          json_builder_add_string_value (builder, key_id);
          json_builder_set_member_name (builder, "trusted_comment");
          json_builder_add_string_value (builder, comment);
        }
      json_builder_set_member_name (builder, "manifest");
      json_builder_add_value (builder, json_node_copy (json_parser_get_root (b.parser)));
      json_builder_end_object (builder);
      root = json_builder_get_root (builder);
      text = rbt_json_pretty (root);
      g_print ("%s\n", text);
      return RBT_EXIT_OK;
    }

  print_field ("Name:", rb_bundle_get_name (b.bundle));
  print_field ("Version:", rb_bundle_get_version (b.bundle));
  print_field ("Bundle format:", rb_bundle_get_bundle_version (b.bundle));
  print_field ("Description:", rb_bundle_get_description (b.bundle));
  {
    const char *const *authors = rb_bundle_get_authors (b.bundle);
    if (authors != NULL && authors[0] != NULL)
      {
        g_autofree char *joined = g_strjoinv (", ", (GStrv) authors);
        print_field ("Authors:", joined);
      }
  }
  print_field ("License:", rb_bundle_get_license (b.bundle));
  print_field ("Repository:", rb_bundle_get_repository (b.bundle));
  libraries = rbt_manifest_libraries (b.manifest);
  for (guint i = 0; i < libraries->len; i++)
    {
      RbtLibraryRef *ref = libraries->pdata[i];
      g_autofree char *label = g_strdup_printf ("%s %s:", ref->platform, ref->variant);
      g_autofree char *value = g_strdup_printf ("%s (%s)", ref->library, ref->checksum);
      if (i == 0)
        g_print ("Libraries:\n");
      g_print ("  %-16s %s\n", label, value);
    }
  print_field ("Signed:", signed_manifest ? "yes" : "no");
  if (key_id != NULL)
    {
      print_field ("Signed by key id:", key_id);
      print_field ("Trusted comment:", comment);
    }
  print_field ("Public key:", rb_bundle_get_manifest_public_key (b.bundle));
  {
    g_autoptr(GDateTime) built_at = rb_bundle_dup_built_at (b.bundle);
    g_autofree char *when = built_at != NULL ? g_date_time_format_iso8601 (built_at) : NULL;
    print_field ("Built at:", when);
    print_field ("Built by:", rb_bundle_get_build_info_string (b.bundle, "built_by"));
    print_field ("Build host:", rb_bundle_get_build_info_string (b.bundle, "host"));
    print_field ("Compiler:", rb_bundle_get_build_info_string (b.bundle, "compiler"));
    print_field ("Git commit:", rb_bundle_get_git_commit (b.bundle));
    print_field ("Git branch:", rb_bundle_get_git_branch (b.bundle));
    print_field ("Git tag:", rb_bundle_get_git_tag (b.bundle));
    if (rb_bundle_get_git_commit (b.bundle) != NULL)
      print_field ("Git dirty:", rb_bundle_get_git_dirty (b.bundle) ? "yes" : "no");
  }
  {
    g_auto(GStrv) schemas = rb_bundle_list_schemas (b.bundle);
    for (guint i = 0; schemas[i] != NULL; i++)
      print_field (i == 0 ? "Schemas:" : "", schemas[i]);
  }
  print_field ("SBOM (CycloneDX):", rb_bundle_get_sbom_path (b.bundle, "cyclonedx"));
  print_field ("SBOM (SPDX):", rb_bundle_get_sbom_path (b.bundle, "spdx"));
  print_field ("Notices:", rb_bundle_get_notices_path (b.bundle));
  print_field ("License file:", rb_bundle_get_license_file_path (b.bundle));
  {
    g_autolist(RbBundleMessage) messages = rb_bundle_list_api_messages (b.bundle);
    for (GList *l = messages; l != NULL; l = l->next)
      print_field (l == messages ? "Messages:" : "", rb_bundle_message_get_type_tag (l->data));
  }
  return RBT_EXIT_OK;
}

int
rbt_list_main (int    argc,
               char **argv)
{
  gboolean long_format = FALSE;
  GOptionEntry entries[] = {
    { "long", 'l', 0, G_OPTION_ARG_NONE, &long_format, "Show each file's size", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_auto(RbtBundle) b = RBT_BUNDLE_INIT;
  g_auto(GStrv) files = NULL;
  int status;

  if (!rbt_parse_options ("list", "BUNDLE", "Lists the files in a bundle, in archive order.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return rbt_usage_error ("list", "expected one BUNDLE");
  if (!rbt_bundle_open (&b, argv[1], &error))
    return rbt_report_error ("list", error);
  files = rb_bundle_list_files (b.bundle);
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autofree char *shown = rbt_shown (files[i]);
      if (long_format)
        g_print ("%12" G_GUINT64_FORMAT "  %s\n", rb_archive_get_size (b.archive, files[i]), shown);
      else
        g_print ("%s\n", shown);
    }
  return RBT_EXIT_OK;
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static gboolean
write_new_file (const char    *path,
                GBytes        *data,
                GError       **error)
{
  gsize size;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  int saved;

  if (fd >= 0)
    {
      gboolean ok = TRUE;
      while (size > 0 && ok)
        {
          ssize_t n = write (fd, bytes, size);
          if (n < 0 && errno == EINTR)
            continue;
          ok = n > 0;
          if (ok)
            bytes += n, size -= (gsize) n;
        }
      if (ok && close (fd) == 0)
        return TRUE;
    }
  saved = errno;
  {
    g_autofree char *shown = rbt_shown (path);
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot write “%s”: %s", shown,
                 g_strerror (saved));
  }
  return FALSE;
}

int
rbt_extract_main (int    argc,
                  char **argv)
{
  g_autofree char *to = NULL;
  g_autofree char *variant = NULL;
  g_autofree char *key_path = NULL;
  g_autofree char *keys_dir = NULL;
  GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_FILENAME, &to, "Write into DIR (new, or empty)", "DIR" },
    { "variant", 0, 0, G_OPTION_ARG_STRING, &variant, "Only this variant's libraries", "VARIANT" },
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "Trust this minisign public key", "KEY.pub" },
    { "trusted-keys-dir", 0, 0, G_OPTION_ARG_FILENAME, &keys_dir, "Trust the matching key in DIR", "DIR" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_auto(RbtBundle) b = RBT_BUNDLE_INIT;
  g_autoptr(GPtrArray) libraries = NULL;
  g_autofree char *source = NULL;
  g_autofree char *staging = NULL;
  g_autofree char *parent = NULL;
  g_autofree char *base = NULL;
  g_auto(GStrv) files = NULL;
  int status;

  if (!rbt_parse_options ("extract", "BUNDLE --to DIR",
                          "Verifies the bundle as “verify” does, then writes its files into DIR, keeping\n"
                          "their paths; with --variant, other variants' libraries are left out.\n"
                          "DIR must not exist or be empty; on failure nothing is written.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return rbt_usage_error ("extract", "expected one BUNDLE");
  if (to == NULL)
    return rbt_usage_error ("extract", "--to DIR is needed");

  if (!open_and_verify (&b, argv[1], key_path, keys_dir, variant, FALSE, &source, &error))
    return rbt_report_error ("extract", error);

  if (g_file_test (to, G_FILE_TEST_EXISTS))
    {
      g_autoptr(GDir) dir = g_dir_open (to, 0, NULL);
      if (dir == NULL || g_dir_read_name (dir) != NULL)
        {
          g_autofree char *shown = rbt_shown (to);
          g_set_error (&error, RBT_ERROR, RBT_ERROR_EXISTS, "“%s” exists and is not an empty directory", shown);
          return rbt_report_error ("extract", error);
        }
    }
  parent = g_path_get_dirname (to);
  base = g_path_get_basename (to);
  staging = g_strdup_printf ("%s/.%s.XXXXXX", parent, base);
  if (g_mkdtemp_full (staging, 0755) == NULL)
    {
      int saved = errno;
      g_autofree char *shown = rbt_shown (to);
      g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot create “%s”: %s", shown,
                   g_strerror (saved));
      return rbt_report_error ("extract", error);
    }

  libraries = rbt_manifest_libraries (b.manifest);
  files = rb_archive_list_files (b.archive);
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autoptr(GBytes) data = NULL;
      g_autofree char *target = NULL;
      g_autofree char *dir = NULL;
      gboolean skip = FALSE;

      for (guint j = 0; j < libraries->len && variant != NULL; j++)
        {
          RbtLibraryRef *ref = libraries->pdata[j];
          if (strcmp (ref->variant, variant) != 0 && g_str_has_prefix (files[i], ref->library) &&
              (files[i][strlen (ref->library)] == '\0' || strcmp (files[i] + strlen (ref->library), ".minisig") == 0))
            skip = TRUE;
        }
      if (skip)
        continue;
      /* Entry names are checked safe (relative, no "..") when the archive opens. */
      target = g_build_filename (staging, files[i], NULL);
      dir = g_path_get_dirname (target);
      if (g_mkdir_with_parents (dir, 0755) != 0)
        {
          int saved = errno;
          g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot create a directory: %s",
                       g_strerror (saved));
          goto fail;
        }
      data = rbt_archive_read_all (b.archive, files[i], &error);
      if (data == NULL)
        goto fail;
      /* Libraries again: the bytes written are the bytes checked. */
      for (guint j = 0; j < libraries->len; j++)
        {
          RbtLibraryRef *ref = libraries->pdata[j];
          if (strcmp (ref->library, files[i]) == 0 && !rbt_checksum_matches (ref->checksum, data))
            {
              g_autofree char *shown = rbt_shown (files[i]);
              g_set_error (&error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                           "“%s” does not match its checksum in the manifest", shown);
              goto fail;
            }
        }
      if (!write_new_file (target, data, &error))
        goto fail;
    }
  if (g_file_test (to, G_FILE_TEST_IS_DIR))
    g_rmdir (to);
  if (g_rename (staging, to) != 0)
    {
      int saved = errno;
      g_autofree char *shown = rbt_shown (to);
      g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (saved), "Cannot create “%s”: %s", shown,
                   g_strerror (saved));
      goto fail;
    }
  return RBT_EXIT_OK;

fail:
  remove_tree (staging);
  return rbt_report_error ("extract", error);
}

int
rbt_schema_main (int    argc,
                 char **argv)
{
  GOptionEntry entries[] = { G_OPTION_ENTRY_NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(GBytes) schema = NULL;
  const guint8 *data;
  gsize size;
  int status;

  if (!rbt_parse_options ("schema", "BUNDLE NAME",
                          "Prints the schema NAME of a bundle, checked against its checksum in the manifest.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc != 3)
    return rbt_usage_error ("schema", "expected BUNDLE and a schema NAME");
  bundle = rb_bundle_new_for_path (argv[1], NULL, &error);
  if (bundle == NULL || (schema = rb_bundle_read_schema (bundle, argv[2], &error)) == NULL)
    return rbt_report_error ("schema", error);
  data = g_bytes_get_data (schema, &size);
  if (fwrite (data, 1, size, stdout) != size || fflush (stdout) != 0)
    {
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write to the standard output");
      return rbt_report_error ("schema", error);
    }
  return RBT_EXIT_OK;
}
