/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-tool create / sign: manifests, signatures and the ZIP, the
 * same bytes for the same inputs and SOURCE_DATE_EPOCH.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>
#include <sodium.h>

#include "rb-archive-private.h"
#include "rbt-common.h"

#define MAX_INPUT_SIZE   (G_GUINT64_CONSTANT (1) << 30)   /* as RbBundle's default library limit */
#define MAX_TEXT_SIZE    (16 * 1024 * 1024)

static const char *const platform_keys[] = {
  "linux-x86_64", "linux-aarch64", "darwin-x86_64", "darwin-aarch64", "windows-x86_64", "windows-aarch64",
};

RbtEntry *
rbt_entry_new (const char *name,
               GBytes     *data)
{
  RbtEntry *entry = g_new0 (RbtEntry, 1);

  entry->name = g_strdup (name);
  entry->data = g_bytes_ref (data);
  return entry;
}

void
rbt_entry_free (RbtEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->name);
  g_bytes_unref (entry->data);
  g_free (entry);
}

static int
entry_rank (const char *name)
{
  if (strcmp (name, "manifest.json") == 0)
    return 0;
  if (strcmp (name, "manifest.json.minisig") == 0)
    return 1;
  return 2;
}

static int
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const RbtEntry *x = *(RbtEntry **) a, *y = *(RbtEntry **) b;
  int rx = entry_rank (x->name), ry = entry_rank (y->name);

  if (rx != ry)
    return rx - ry;
  return strcmp (x->name, y->name);
}

static la_ssize_t
write_to_array (struct archive *archive,
                void           *user_data,
                const void     *buffer,
                size_t          length)
{
  GByteArray *array = user_data;

  if (length > G_MAXUINT - array->len)
    {
      archive_set_error (archive, EFBIG, "The archive is larger than 4 GiB");
      return -1;
    }
  g_byte_array_append (array, buffer, (guint) length);
  return (la_ssize_t) length;
}

static gboolean
archive_failed (struct archive  *archive,
                const char      *path,
                GError         **error)
{
  g_autofree char *shown = rbt_shown (path);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Cannot write the bundle “%s”: %s", shown,
               archive_error_string (archive) != NULL ? archive_error_string (archive) : "libarchive failed");
  return FALSE;
}

gboolean
rbt_write_bundle (const char  *path,
                  GPtrArray   *entries,
                  gint64       timestamp,
                  int          mode,
                  gboolean     replace,
                  GError     **error)
{
  g_autoptr(GByteArray) zip = g_byte_array_new ();
  struct archive *archive = archive_write_new ();
  gboolean ok = FALSE;

  g_ptr_array_sort (entries, compare_entries);
  for (guint i = 1; i < entries->len; i++)
    if (strcmp (((RbtEntry *) entries->pdata[i - 1])->name, ((RbtEntry *) entries->pdata[i])->name) == 0)
      {
        g_autofree char *shown = rbt_shown (((RbtEntry *) entries->pdata[i])->name);
        g_set_error (error, RBT_ERROR, RBT_ERROR_USAGE, "Two files would be stored as “%s”", shown);
        goto out;
      }

  if (archive_write_set_format_zip (archive) != ARCHIVE_OK ||
      archive_write_set_options (archive, "zip:compression=deflate") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block (archive, 0) != ARCHIVE_OK ||
      archive_write_open2 (archive, zip, NULL, write_to_array, NULL, NULL) != ARCHIVE_OK)
    {
      archive_failed (archive, path, error);
      goto out;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      RbtEntry *e = entries->pdata[i];
      struct archive_entry *entry = archive_entry_new ();
      gsize size;
      const guint8 *data = g_bytes_get_data (e->data, &size);
      gboolean written;

      /* Everything that could vary between machines is fixed. */
      archive_entry_set_pathname_utf8 (entry, e->name);
      archive_entry_set_filetype (entry, AE_IFREG);
      archive_entry_set_perm (entry, 0644);
      archive_entry_set_size (entry, (la_int64_t) size);
      archive_entry_set_mtime (entry, (time_t) timestamp, 0);
      archive_entry_set_uid (entry, 0);
      archive_entry_set_gid (entry, 0);
      written = archive_write_header (archive, entry) == ARCHIVE_OK &&
                (size == 0 || archive_write_data (archive, data, size) == (la_ssize_t) size) &&
                archive_write_finish_entry (archive) == ARCHIVE_OK;
      archive_entry_free (entry);
      if (!written)
        {
          archive_failed (archive, path, error);
          goto out;
        }
    }
  if (archive_write_close (archive) != ARCHIVE_OK)
    {
      archive_failed (archive, path, error);
      goto out;
    }
  ok = rbt_write_atomic (path, zip->data, zip->len, mode, replace, error);

out:
  archive_write_free (archive);
  return ok;
}

static char *
sha256_hex (GBytes *bytes)
{
  guint8 digest[crypto_hash_sha256_BYTES];
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);

  crypto_hash_sha256 (digest, data, size);
  sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
  return g_strconcat ("sha256:", hex, NULL);
}

static gboolean
is_platform (const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (platform_keys); i++)
    if (strcmp (key, platform_keys[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_variant_name (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-'))
      return FALSE;
  return TRUE;
}

static gboolean
is_plugin_name (const char *name)
{
  if (!(g_ascii_islower (*name) || g_ascii_isdigit (*name)))
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!(g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-' || *p == '_' || *p == '.'))
      return FALSE;
  return TRUE;
}

static gboolean
is_version (const char *version)
{
  if (!g_ascii_isdigit (*version))
    return FALSE;
  for (const char *p = version; *p; p++)
    if (!(g_ascii_isalnum (*p) || *p == '.' || *p == '-' || *p == '+'))
      return FALSE;
  return TRUE;
}

static gboolean
is_text (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

static char *
iso8601 (gint64 timestamp)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (timestamp);

  return time != NULL ? g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

/* Adds the member @name = @value, unless @value is %NULL. */
static void
add_string_member (JsonBuilder *builder,
                   const char  *name,
                   const char  *value)
{
  if (value == NULL)
    return;
  json_builder_set_member_name (builder, name);
  json_builder_add_string_value (builder, value);
}

/* Runs git in the current directory; NULL when it fails. */
static char *
git (const char *const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *out = NULL;
  int status = 0;

  g_ptr_array_add (argv, (gpointer) "git");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  if (!g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_strdup (g_strstrip (out));
}

static JsonNode *
git_info (GError **error)
{
  static const char *const commit_args[] = { "rev-parse", "HEAD", NULL };
  static const char *const branch_args[] = { "rev-parse", "--abbrev-ref", "HEAD", NULL };
  static const char *const tag_args[] = { "describe", "--tags", "--exact-match", "HEAD", NULL };
  static const char *const status_args[] = { "status", "--porcelain", NULL };
  g_autofree char *commit = git (commit_args);
  g_autofree char *branch = NULL;
  g_autofree char *tag = NULL;
  g_autofree char *status = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();

  if (commit == NULL || *commit == '\0')
    {
      g_set_error_literal (error, RBT_ERROR, RBT_ERROR_GIT,
                           "--build-info-from-git: “git rev-parse HEAD” failed (not in a git work tree, "
                           "or no git)");
      return NULL;
    }
  branch = git (branch_args);
  tag = git (tag_args);
  status = git (status_args);
  json_builder_begin_object (builder);
  add_string_member (builder, "commit", commit);
  if (branch != NULL && *branch != '\0' && strcmp (branch, "HEAD") != 0)
    add_string_member (builder, "branch", branch);
  if (tag != NULL && *tag != '\0')
    add_string_member (builder, "tag", tag);
  if (status != NULL)
    {
      json_builder_set_member_name (builder, "dirty");
      json_builder_add_boolean_value (builder, *status != '\0');
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

typedef struct {
  char   *platform;
  char   *variant;
  char   *path;
  char   *entry;
  GBytes *data;
  JsonObject *build;    /* nullable */
} Library;

static void
library_free (Library *lib)
{
  g_free (lib->platform);
  g_free (lib->variant);
  g_free (lib->path);
  g_free (lib->entry);
  g_clear_pointer (&lib->data, g_bytes_unref);
  g_clear_pointer (&lib->build, json_object_unref);
  g_free (lib);
}

static int
compare_libraries (gconstpointer a,
                   gconstpointer b)
{
  const Library *x = *(Library **) a, *y = *(Library **) b;
  int c = strcmp (x->platform, y->platform);

  if (c != 0)
    return c;
  /* release first, then by name */
  if (strcmp (x->variant, y->variant) == 0)
    return 0;
  if (strcmp (x->variant, "release") == 0)
    return -1;
  if (strcmp (y->variant, "release") == 0)
    return 1;
  return strcmp (x->variant, y->variant);
}

static Library *
find_library (GPtrArray  *libs,
              const char *platform,
              const char *variant)
{
  for (guint i = 0; i < libs->len; i++)
    {
      Library *lib = libs->pdata[i];
      if (strcmp (lib->platform, platform) == 0 && strcmp (lib->variant, variant) == 0)
        return lib;
    }
  return NULL;
}

/* "NAME=VALUE" split, both non-empty. */
static gboolean
split_assignment (const char  *arg,
                  char       **name,
                  char       **value)
{
  const char *eq = strchr (arg, '=');

  if (eq == NULL || eq == arg || eq[1] == '\0')
    return FALSE;
  *name = g_strndup (arg, (gsize) (eq - arg));
  *value = g_strdup (eq + 1);
  return TRUE;
}

static gboolean
safe_entry (const char  *entry,
            const char  *from,
            GError     **error)
{
  if (rb_archive_name_is_safe (entry) && entry[strlen (entry) - 1] != '/')
    return TRUE;
  {
    g_autofree char *shown = rbt_shown (entry);
    g_autofree char *shown_from = rbt_shown (from);
    g_set_error (error, RBT_ERROR, RBT_ERROR_USAGE,
                 "“%s” would be stored as “%s”, which is not a safe name in a bundle", shown_from, shown);
  }
  return FALSE;
}

static const char *
schema_format (const char *name)
{
  if (g_str_has_suffix (name, ".h") || g_str_has_suffix (name, ".hpp"))
    return "c-header";
  if (g_str_has_suffix (name, ".json"))
    return "json-schema";
  return "unknown";
}

static gboolean
sbom_kind (const char  *path,
           GBytes      *data,
           const char **kind,
           GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  gsize size;
  const char *text = g_bytes_get_data (data, &size);
  JsonNode *root;
  JsonObject *object;

  if (json_parser_load_from_data (parser, text, (gssize) size, NULL) &&
      (root = json_parser_get_root (parser)) != NULL && JSON_NODE_HOLDS_OBJECT (root))
    {
      object = json_node_get_object (root);
      if (json_object_has_member (object, "bomFormat"))
        {
          *kind = "cyclonedx";
          return TRUE;
        }
      if (json_object_has_member (object, "spdxVersion"))
        {
          *kind = "spdx";
          return TRUE;
        }
    }
  {
    g_autofree char *shown = rbt_shown (path);
    g_set_error (error, RBT_ERROR, RBT_ERROR_INPUT,
                 "Cannot tell the SBOM format of “%s” (neither CycloneDX JSON nor SPDX JSON); "
                 "give it as cyclonedx=FILE or spdx=FILE", shown);
  }
  return FALSE;
}

/* Adds NAME.minisig: @key's signature of @data (entry NAME), with
 * @trusted_comment or the default one. */
static void
add_signature (GPtrArray          *files,
               const RbtSecretKey *key,
               const char         *name,
               GBytes             *data,
               const char         *trusted_comment,
               gint64              timestamp)
{
  g_autofree char *comment = trusted_comment != NULL ? g_strdup (trusted_comment)
                                                     : rbt_default_trusted_comment (timestamp, name);
  g_autofree char *sig_name = g_strconcat (name, ".minisig", NULL);
  gsize size;
  const guint8 *bytes = g_bytes_get_data (data, &size);
  char *sig = rbt_sign (key, bytes, size, comment);
  g_autoptr(GBytes) sig_bytes = g_bytes_new_take (sig, strlen (sig));

  g_ptr_array_add (files, rbt_entry_new (sig_name, sig_bytes));
}

int
rbt_create_main (int    argc,
                 char **argv)
{
  g_autofree char *output = NULL;
  g_autofree char *name = NULL;
  g_autofree char *version = NULL;
  g_autofree char *description = NULL;
  g_autofree char *license = NULL;
  g_autofree char *repository = NULL;
  g_autofree char *license_file = NULL;
  g_autofree char *notices = NULL;
  g_autofree char *sign_key = NULL;
  g_autofree char *trusted_comment = NULL;
  g_autofree char *built_by = NULL;
  g_autofree char *build_host = NULL;
  g_autofree char *compiler = NULL;
  g_auto(GStrv) lib_args = NULL;
  g_auto(GStrv) schema_args = NULL;
  g_auto(GStrv) sbom_args = NULL;
  g_auto(GStrv) author_args = NULL;
  g_auto(GStrv) variant_build_args = NULL;
  g_auto(GStrv) build_info_args = NULL;
  gboolean from_git = FALSE;
  GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the bundle to FILE", "FILE" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "Plugin name (lowercase)", "NAME" },
    { "version", 0, 0, G_OPTION_ARG_STRING, &version, "Plugin version (semantic version)", "VERSION" },
    { "lib", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &lib_args,
      "A library for PLATFORM (e.g. linux-x86_64), variant VARIANT (default: release)",
      "PLATFORM[:VARIANT]=PATH" },
    { "variant-build", 0, 0, G_OPTION_ARG_STRING_ARRAY, &variant_build_args,
      "Build metadata of a variant (format 1.1)", "PLATFORM:VARIANT:KEY=VALUE" },
    { "schema", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &schema_args, "A schema file, stored as schema/<file>",
      "NAME=PATH" },
    { "license-file", 0, 0, G_OPTION_ARG_FILENAME, &license_file, "The plugin's licence, stored as legal/LICENSE",
      "FILE" },
    { "notices", 0, 0, G_OPTION_ARG_FILENAME, &notices, "Third-party notices, stored as docs/NOTICES.txt",
      "FILE" },
    { "sbom", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &sbom_args,
      "A CycloneDX or SPDX JSON SBOM (format detected, or named)", "[cyclonedx=|spdx=]FILE" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &description, "Plugin description", "TEXT" },
    { "authors", 0, 0, G_OPTION_ARG_STRING_ARRAY, &author_args, "Authors, comma-separated (repeatable)",
      "NAME[,NAME…]" },
    { "license", 0, 0, G_OPTION_ARG_STRING, &license, "SPDX licence expression", "SPDX" },
    { "repository", 0, 0, G_OPTION_ARG_STRING, &repository, "Source repository URL", "URL" },
    { "build-info-from-git", 0, 0, G_OPTION_ARG_NONE, &from_git,
      "Record the current directory's git commit, branch, tag and state", NULL },
    { "built-by", 0, 0, G_OPTION_ARG_STRING, &built_by, "Who or what built it (build_info.built_by)", "TEXT" },
    { "build-host", 0, 0, G_OPTION_ARG_STRING, &build_host, "The build host (build_info.host)", "TEXT" },
    { "compiler", 0, 0, G_OPTION_ARG_STRING, &compiler, "The compiler (build_info.compiler)", "TEXT" },
    { "build-info", 0, 0, G_OPTION_ARG_STRING_ARRAY, &build_info_args, "Custom build_info entry",
      "KEY=VALUE" },
    { "sign", 0, 0, G_OPTION_ARG_FILENAME, &sign_key, "Sign with this minisign secret key", "KEY.key" },
    { "trusted-comment", 0, 0, G_OPTION_ARG_STRING, &trusted_comment,
      "Trusted comment of the signatures (default: timestamp, file name)", "TEXT" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) libs = g_ptr_array_new_with_free_func ((GDestroyNotify) library_free);
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) rbt_entry_free);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) manifest = NULL;
  g_autoptr(JsonObject) schemas = json_object_new ();
  g_autoptr(JsonObject) sboms = json_object_new ();
  g_autoptr(GPtrArray) authors = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *manifest_text = NULL;
  g_autofree char *public_line = NULL;
  g_autoptr(GBytes) manifest_bytes = NULL;
  RbtSecretKey key;
  gboolean have_key = FALSE;
  gboolean variant_metadata = FALSE;
  gint64 timestamp;
  int status;

  if (!rbt_parse_options ("create", "-o OUT.rbp --name NAME --version VERSION --lib PLATFORM[:VARIANT]=PATH…",
                          "Makes a bundle: a manifest with the SHA-256 of every library, the files given,\n"
                          "and minisign signatures of the manifest and of each library with --sign.\n"
                          "The same inputs and SOURCE_DATE_EPOCH give the same bytes.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc > 1)
    return rbt_usage_error ("create", "unexpected argument “%s”", argv[1]);
  if (output == NULL)
    return rbt_usage_error ("create", "-o OUT.rbp is needed");
  if (name == NULL || !is_plugin_name (name))
    return rbt_usage_error ("create", "--name is needed: lowercase letters, digits, “-”, “_” and “.”");
  if (version == NULL || !is_version (version))
    return rbt_usage_error ("create", "--version is needed: a semantic version such as 1.2.3");
  if (lib_args == NULL)
    return rbt_usage_error ("create", "at least one --lib PLATFORM[:VARIANT]=PATH is needed");
  {
    const char *texts[] = { description, license, repository, built_by, build_host, compiler, trusted_comment };
    for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
      if (texts[i] != NULL && !is_text (texts[i]))
        return rbt_usage_error ("create", "option values must be one line of UTF-8 text without control "
                                "characters");
  }
  if (!rbt_source_date_epoch (&timestamp, &error))
    return rbt_report_error ("create", error);

  for (guint i = 0; lib_args[i] != NULL; i++)
    {
      g_autofree char *target = NULL;
      g_autofree char *path = NULL;
      g_autofree char *base = NULL;
      char *colon;
      Library *lib;

      if (!split_assignment (lib_args[i], &target, &path))
        return rbt_usage_error ("create", "--lib “%s” is not PLATFORM[:VARIANT]=PATH", lib_args[i]);
      lib = g_new0 (Library, 1);
      g_ptr_array_add (libs, lib);
      colon = strchr (target, ':');
      lib->platform = colon != NULL ? g_strndup (target, (gsize) (colon - target)) : g_strdup (target);
      lib->variant = g_strdup (colon != NULL ? colon + 1 : "release");
      lib->path = g_steal_pointer (&path);
      if (!is_platform (lib->platform))
        return rbt_usage_error ("create", "unknown platform “%s” (one of linux-x86_64, linux-aarch64, "
                                "darwin-x86_64, darwin-aarch64, windows-x86_64, windows-aarch64)", lib->platform);
      if (!is_variant_name (lib->variant))
        return rbt_usage_error ("create", "variant “%s” is not lowercase letters, digits and hyphens",
                                lib->variant);
      if (find_library (libs, lib->platform, lib->variant) != lib)
        return rbt_usage_error ("create", "two libraries for %s:%s", lib->platform, lib->variant);
      base = g_path_get_basename (lib->path);
      lib->entry = g_strdup_printf ("lib/%s/%s/%s", lib->platform, lib->variant, base);
      if (!safe_entry (lib->entry, lib->path, &error))
        return rbt_report_error ("create", error);
    }
  g_ptr_array_sort (libs, compare_libraries);
  for (guint i = 0; i < libs->len; i++)
    {
      Library *lib = libs->pdata[i];
      if (find_library (libs, lib->platform, "release") == NULL)
        return rbt_usage_error ("create", "platform %s has no release variant (--lib %s=PATH)", lib->platform,
                                lib->platform);
    }
  for (guint i = 0; variant_build_args != NULL && variant_build_args[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (variant_build_args[i], ":", 3);
      g_autofree char *k = NULL;
      g_autofree char *v = NULL;
      Library *lib;

      if (g_strv_length (parts) != 3 || !split_assignment (parts[2], &k, &v) || !is_text (k) || !is_text (v))
        return rbt_usage_error ("create", "--variant-build “%s” is not PLATFORM:VARIANT:KEY=VALUE",
                                variant_build_args[i]);
      lib = find_library (libs, parts[0], parts[1]);
      if (lib == NULL)
        return rbt_usage_error ("create", "--variant-build names %s:%s, which no --lib gives", parts[0],
                                parts[1]);
      if (lib->build == NULL)
        lib->build = json_object_new ();
      json_object_set_string_member (lib->build, k, v);
      variant_metadata = TRUE;
    }
  for (guint i = 0; author_args != NULL && author_args[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (author_args[i], ",", -1);
      for (guint j = 0; parts[j] != NULL; j++)
        {
          char *author = g_strstrip (parts[j]);
          if (*author == '\0')
            continue;
          if (!is_text (author))
            return rbt_usage_error ("create", "--authors must be text without control characters");
          g_ptr_array_add (authors, g_strdup (author));
        }
    }

  /* The key first: a wrong password fails before any work. */
  if (sign_key != NULL)
    {
      if (!rbt_secret_key_load (sign_key, &key, &error))
        return rbt_report_error ("create", error);
      have_key = TRUE;
      public_line = rbt_secret_key_public_line (&key);
    }

  for (guint i = 0; i < libs->len; i++)
    {
      Library *lib = libs->pdata[i];
      if (!rbt_read_file (lib->path, "library", MAX_INPUT_SIZE, &lib->data, &error))
        goto fail;
    }

  for (guint i = 0; schema_args != NULL && schema_args[i] != NULL; i++)
    {
      g_autofree char *schema_name = NULL;
      g_autofree char *path = NULL;
      g_autofree char *base = NULL;
      g_autofree char *entry = NULL;
      g_autofree char *checksum = NULL;
      g_autoptr(GBytes) data = NULL;
      JsonObject *schema;

      if (!split_assignment (schema_args[i], &schema_name, &path) || !is_text (schema_name))
        {
          status = rbt_usage_error ("create", "--schema “%s” is not NAME=PATH", schema_args[i]);
          goto out;
        }
      if (json_object_has_member (schemas, schema_name))
        {
          status = rbt_usage_error ("create", "two schemas named “%s”", schema_name);
          goto out;
        }
      base = g_path_get_basename (path);
      entry = g_strconcat ("schema/", base, NULL);
      if (!safe_entry (entry, path, &error) ||
          !rbt_read_file (path, "schema", MAX_TEXT_SIZE, &data, &error))
        goto fail;
      checksum = sha256_hex (data);
      schema = json_object_new ();
      json_object_set_string_member (schema, "path", entry);
      json_object_set_string_member (schema, "format", schema_format (base));
      json_object_set_string_member (schema, "checksum", checksum);
      json_object_set_object_member (schemas, schema_name, schema);
      g_ptr_array_add (files, rbt_entry_new (entry, data));
    }
  for (guint i = 0; sbom_args != NULL && sbom_args[i] != NULL; i++)
    {
      const char *arg = sbom_args[i];
      const char *kind = NULL;
      const char *entry;
      g_autoptr(GBytes) data = NULL;

      if (g_str_has_prefix (arg, "cyclonedx="))
        kind = "cyclonedx", arg += strlen ("cyclonedx=");
      else if (g_str_has_prefix (arg, "spdx="))
        kind = "spdx", arg += strlen ("spdx=");
      if (!rbt_read_file (arg, "SBOM", MAX_TEXT_SIZE, &data, &error) ||
          (kind == NULL && !sbom_kind (arg, data, &kind, &error)))
        goto fail;
      if (json_object_has_member (sboms, kind))
        {
          status = rbt_usage_error ("create", "two %s SBOMs", kind);
          goto out;
        }
      entry = strcmp (kind, "cyclonedx") == 0 ? "sbom/sbom.cdx.json" : "sbom/sbom.spdx.json";
      json_object_set_string_member (sboms, kind, entry);
      g_ptr_array_add (files, rbt_entry_new (entry, data));
    }
  if (license_file != NULL)
    {
      g_autoptr(GBytes) data = NULL;
      if (!rbt_read_file (license_file, "licence file", MAX_TEXT_SIZE, &data, &error))
        goto fail;
      g_ptr_array_add (files, rbt_entry_new ("legal/LICENSE", data));
    }
  if (notices != NULL)
    {
      g_autoptr(GBytes) data = NULL;
      if (!rbt_read_file (notices, "notices file", MAX_TEXT_SIZE, &data, &error))
        goto fail;
      g_ptr_array_add (files, rbt_entry_new ("docs/NOTICES.txt", data));
    }

  /* The manifest, in the order the format's documentation lists it. */
  json_builder_begin_object (builder);
  add_string_member (builder, "bundle_version", variant_metadata ? "1.1" : "1.0");
  json_builder_set_member_name (builder, "plugin");
  json_builder_begin_object (builder);
  add_string_member (builder, "name", name);
  add_string_member (builder, "version", version);
  add_string_member (builder, "description", description);
  if (authors->len > 0)
    {
      json_builder_set_member_name (builder, "authors");
      json_builder_begin_array (builder);
      for (guint i = 0; i < authors->len; i++)
        json_builder_add_string_value (builder, authors->pdata[i]);
      json_builder_end_array (builder);
    }
  add_string_member (builder, "license", license);
  add_string_member (builder, "repository", repository);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "platforms");
  json_builder_begin_object (builder);
  for (guint i = 0; i < libs->len; i++)
    {
      Library *lib = libs->pdata[i];
      g_autofree char *checksum = sha256_hex (lib->data);

      if (i == 0 || strcmp (((Library *) libs->pdata[i - 1])->platform, lib->platform) != 0)
        {
          json_builder_set_member_name (builder, lib->platform);
          json_builder_begin_object (builder);
          json_builder_set_member_name (builder, "variants");
          json_builder_begin_object (builder);
        }
      json_builder_set_member_name (builder, lib->variant);
      json_builder_begin_object (builder);
      add_string_member (builder, "library", lib->entry);
      add_string_member (builder, "checksum", checksum);
      if (lib->build != NULL)
        {
          g_autoptr(JsonNode) build = json_node_init_object (json_node_alloc (), lib->build);
          json_builder_set_member_name (builder, "build");
          json_builder_add_value (builder, g_steal_pointer (&build));
        }
      json_builder_end_object (builder);
      if (i + 1 == libs->len || strcmp (((Library *) libs->pdata[i + 1])->platform, lib->platform) != 0)
        {
          json_builder_end_object (builder);
          json_builder_end_object (builder);
        }
    }
  json_builder_end_object (builder);

  if (from_git || built_by != NULL || build_host != NULL || compiler != NULL || build_info_args != NULL)
    {
      g_autofree char *built_at = iso8601 (timestamp);

      json_builder_set_member_name (builder, "build_info");
      json_builder_begin_object (builder);
      add_string_member (builder, "built_by", built_by);
      add_string_member (builder, "built_at", built_at);
      add_string_member (builder, "host", build_host);
      add_string_member (builder, "compiler", compiler);
      if (from_git)
        {
          JsonNode *git_node = git_info (&error);
          if (git_node == NULL)
            goto fail;
          json_builder_set_member_name (builder, "git");
          json_builder_add_value (builder, git_node);
        }
      if (build_info_args != NULL)
        {
          json_builder_set_member_name (builder, "custom");
          json_builder_begin_object (builder);
          for (guint i = 0; build_info_args[i] != NULL; i++)
            {
              g_autofree char *k = NULL;
              g_autofree char *v = NULL;
              if (!split_assignment (build_info_args[i], &k, &v) || !is_text (k) || !is_text (v))
                {
                  status = rbt_usage_error ("create", "--build-info “%s” is not KEY=VALUE", build_info_args[i]);
                  goto out;
                }
              add_string_member (builder, k, v);
            }
          json_builder_end_object (builder);
        }
      json_builder_end_object (builder);
    }
  if (json_object_get_size (sboms) > 0)
    {
      json_builder_set_member_name (builder, "sbom");
      json_builder_begin_object (builder);
      for (const char *const *k = (const char *const[]) { "cyclonedx", "spdx", NULL }; *k; k++)
        if (json_object_has_member (sboms, *k))
          add_string_member (builder, *k, json_object_get_string_member (sboms, *k));
      json_builder_end_object (builder);
    }
  add_string_member (builder, "notices", notices != NULL ? "docs/NOTICES.txt" : NULL);
  add_string_member (builder, "license_file", license_file != NULL ? "legal/LICENSE" : NULL);
  add_string_member (builder, "public_key", public_line);
  if (json_object_get_size (schemas) > 0)
    {
      g_autoptr(GList) names = g_list_sort (json_object_get_members (schemas), (GCompareFunc) strcmp);

      json_builder_set_member_name (builder, "schemas");
      json_builder_begin_object (builder);
      for (GList *l = names; l != NULL; l = l->next)
        {
          json_builder_set_member_name (builder, l->data);
          json_builder_add_value (builder, json_node_copy (json_object_get_member (schemas, l->data)));
        }
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);

  manifest = json_builder_get_root (builder);
  manifest_text = rbt_json_pretty (manifest);
  manifest_bytes = g_bytes_new (manifest_text, strlen (manifest_text));
  g_ptr_array_add (files, rbt_entry_new ("manifest.json", manifest_bytes));
  if (have_key)
    add_signature (files, &key, "manifest.json", manifest_bytes, trusted_comment, timestamp);
  for (guint i = 0; i < libs->len; i++)
    {
      Library *lib = libs->pdata[i];

      g_ptr_array_add (files, rbt_entry_new (lib->entry, lib->data));
      if (have_key)
        add_signature (files, &key, lib->entry, lib->data, trusted_comment, timestamp);
    }

  if (!rbt_write_bundle (output, files, timestamp, -1, TRUE, &error))
    goto fail;
  status = RBT_EXIT_OK;
  goto out;

fail:
  status = rbt_report_error ("create", error);
out:
  if (have_key)
    rbt_secret_key_clear (&key);
  return status;
}

/* ------------------------------------------------------------------ */
/* sign                                                                */

typedef struct {
  GByteArray *data;
} Collect;

static gboolean
collect_chunk (const guint8  *data,
               gsize          len,
               gpointer       user_data,
               GError       **error)
{
  GByteArray *array = user_data;

  if (len > G_MAXUINT - array->len)
    {
      g_set_error_literal (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE, "An entry is larger than 4 GiB");
      return FALSE;
    }
  g_byte_array_append (array, data, (guint) len);
  return TRUE;
}

GBytes *
rbt_archive_read_all (RbArchive   *archive,
                      const char  *name,
                      GError     **error)
{
  g_autoptr(GByteArray) array = g_byte_array_new ();

  if (!rb_archive_stream (archive, name, MAX_INPUT_SIZE, NULL, collect_chunk, array, error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&array));
}

GPtrArray *
rbt_manifest_libraries (JsonObject *manifest)
{
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) rbt_library_ref_free);
  JsonObject *platforms = json_object_get_object_member (manifest, "platforms");
  g_autoptr(GList) keys = g_list_sort (json_object_get_members (platforms), (GCompareFunc) strcmp);

  for (GList *l = keys; l != NULL; l = l->next)
    {
      JsonObject *platform = json_object_get_object_member (platforms, l->data);
      JsonNode *variants_node = json_object_get_member (platform, "variants");

      if (variants_node != NULL && JSON_NODE_HOLDS_OBJECT (variants_node))
        {
          JsonObject *variants = json_node_get_object (variants_node);
          g_autoptr(GList) names = g_list_sort (json_object_get_members (variants), (GCompareFunc) strcmp);

          for (GList *v = names; v != NULL; v = v->next)
            {
              JsonObject *variant = json_object_get_object_member (variants, v->data);
              RbtLibraryRef *ref = g_new0 (RbtLibraryRef, 1);
              ref->platform = g_strdup (l->data);
              ref->variant = g_strdup (v->data);
              ref->library = g_strdup (json_object_get_string_member (variant, "library"));
              ref->checksum = g_strdup (json_object_get_string_member (variant, "checksum"));
              g_ptr_array_add (result, ref);
            }
        }
      else
        {
          RbtLibraryRef *ref = g_new0 (RbtLibraryRef, 1);
          ref->platform = g_strdup (l->data);
          ref->variant = g_strdup ("release");
          ref->library = g_strdup (json_object_get_string_member (platform, "library"));
          ref->checksum = g_strdup (json_object_get_string_member (platform, "checksum"));
          g_ptr_array_add (result, ref);
        }
    }
  return result;
}

void
rbt_library_ref_free (RbtLibraryRef *ref)
{
  g_free (ref->platform);
  g_free (ref->variant);
  g_free (ref->library);
  g_free (ref->checksum);
  g_free (ref);
}

gboolean
rbt_checksum_matches (const char *expected,
                      GBytes     *data)
{
  g_autofree char *actual = sha256_hex (data);

  if (g_ascii_strncasecmp (expected, "sha256:", 7) == 0)
    expected += 7;
  return g_ascii_strcasecmp (actual + 7, expected) == 0;
}

int
rbt_sign_main (int    argc,
               char **argv)
{
  g_autofree char *key_path = NULL;
  g_autofree char *trusted_comment = NULL;
  GOptionEntry entries[] = {
    { "key", 'k', 0, G_OPTION_ARG_FILENAME, &key_path, "The minisign secret key", "KEY.key" },
    { "trusted-comment", 0, 0, G_OPTION_ARG_STRING, &trusted_comment,
      "Trusted comment of the signatures (default: timestamp, file name)", "TEXT" },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbArchive) archive = NULL;
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func ((GDestroyNotify) rbt_entry_free);
  g_autoptr(GPtrArray) libraries = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(GStrv) names = NULL;
  g_autofree char *public_line = NULL;
  g_autofree char *manifest_text = NULL;
  g_autoptr(GBytes) manifest_bytes = NULL;
  JsonObject *manifest;
  const char *old_key;
  RbtSecretKey key;
  gboolean have_key = FALSE;
  gint64 timestamp;
  GStatBuf st;
  int status;

  if (!rbt_parse_options ("sign", "BUNDLE --key KEY.key",
                          "Signs the manifest and every library of BUNDLE again with KEY.key, replacing the\n"
                          "old signatures and the manifest's public key. BUNDLE is replaced atomically.",
                          entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return rbt_usage_error ("sign", "expected one BUNDLE");
  if (key_path == NULL)
    return rbt_usage_error ("sign", "--key KEY.key is needed");
  if (trusted_comment != NULL && !is_text (trusted_comment))
    return rbt_usage_error ("sign", "the trusted comment must be one line of text");
  if (!rbt_source_date_epoch (&timestamp, &error))
    return rbt_report_error ("sign", error);

  bundle = rb_bundle_new_for_path (argv[1], NULL, &error);
  if (bundle == NULL || g_stat (argv[1], &st) != 0)
    goto fail;
  archive = rb_archive_open (argv[1], 100000, G_MAXUINT64, &error);
  if (archive == NULL)
    goto fail;
  if (!rbt_secret_key_load (key_path, &key, &error))
    goto fail;
  have_key = TRUE;
  public_line = rbt_secret_key_public_line (&key);

  /* The manifest as RbBundle validated it; rewritten only when its key changes. */
  manifest_text = rb_bundle_dup_manifest_json (bundle);
  if (!json_parser_load_from_data (parser, manifest_text, -1, &error))
    goto fail;
  manifest = json_node_get_object (json_parser_get_root (parser));
  old_key = json_object_has_member (manifest, "public_key") ?
            json_object_get_string_member (manifest, "public_key") : NULL;
  if (g_strcmp0 (old_key, public_line) != 0)
    {
      json_object_set_string_member (manifest, "public_key", public_line);
      g_free (manifest_text);
      manifest_text = rbt_json_pretty (json_parser_get_root (parser));
    }
  manifest_bytes = g_bytes_new (manifest_text, strlen (manifest_text));
  libraries = rbt_manifest_libraries (manifest);

  names = rb_archive_list_files (archive);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GBytes) data = NULL;
      gboolean is_signature = FALSE;

      if (strcmp (names[i], "manifest.json") == 0 || strcmp (names[i], "manifest.json.minisig") == 0)
        continue;
      for (guint j = 0; j < libraries->len; j++)
        {
          RbtLibraryRef *ref = libraries->pdata[j];
          if (g_str_has_prefix (names[i], ref->library) && strcmp (names[i] + strlen (ref->library), ".minisig") == 0)
            is_signature = TRUE;
        }
      if (is_signature)
        continue;
      data = rbt_archive_read_all (archive, names[i], &error);
      if (data == NULL)
        goto fail;
      g_ptr_array_add (files, rbt_entry_new (names[i], data));
    }

  g_ptr_array_add (files, rbt_entry_new ("manifest.json", manifest_bytes));
  add_signature (files, &key, "manifest.json", manifest_bytes, trusted_comment, timestamp);
  for (guint j = 0; j < libraries->len; j++)
    {
      RbtLibraryRef *ref = libraries->pdata[j];
      RbtEntry *entry = NULL;
      g_autofree char *shown = rbt_shown (ref->library);

      for (guint i = 0; i < files->len && entry == NULL; i++)
        if (strcmp (((RbtEntry *) files->pdata[i])->name, ref->library) == 0)
          entry = files->pdata[i];
      if (entry == NULL)
        {
          g_set_error (&error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                       "Bundle has no “%s” (named by the manifest); not signing it", shown);
          goto fail;
        }
      /* Never vouch for a library that is not the one the manifest names. */
      if (!rbt_checksum_matches (ref->checksum, entry->data))
        {
          g_set_error (&error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH,
                       "“%s” does not match its checksum in the manifest; not signing it", shown);
          goto fail;
        }
      add_signature (files, &key, ref->library, entry->data, trusted_comment, timestamp);
    }

  if (!rbt_write_bundle (argv[1], files, timestamp, st.st_mode & 07777, TRUE, &error))
    goto fail;
  status = RBT_EXIT_OK;
  goto out;

fail:
  status = rbt_report_error ("sign", error);
out:
  if (have_key)
    rbt_secret_key_clear (&key);
  return status;
}
