/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "rb-bundle-availability-private.h"
#include "rb-bundle-private.h"
#include "rb-error.h"
#include "rb-json-private.h"
#include "rb-manifest-private.h"
#include "rb-registry-scan-private.h"
#include "rb-trust-private.h"

/* The cache is untrusted input too (anyone who can write the user's
 * cache directory can put anything there): bounded, parsed with the
 * depth-limited loader, every member type-checked, and any fault makes
 * the whole file ignored. What it can affect is listed in
 * rb-registry.c's overview: never whether a library is loaded. A bundle's
 * manifest.json is kept too (if it is at most
 * RB_BUNDLE_MAX_CACHED_MANIFEST bytes of UTF-8 text), so that an unchanged
 * bundle is listed without reading its file (rb_bundle_new_for_cached():
 * validated as any manifest; compared with the file's own on first use).
 * Manifests stop being written once the file would near CACHE_MAX_SIZE. */
#define CACHE_FORMAT        3
#define CACHE_MAX_SIZE      (16 * 1024 * 1024)
#define CACHE_MANIFEST_ROOM (15 * 1024 * 1024)
#define CACHE_MAX_ENTRIES   100000
#define CACHE_MAX_MESSAGE   4096

RbRegistryEntry *
rb_registry_entry_ref (RbRegistryEntry *entry)
{
  return g_atomic_rc_box_acquire (entry);
}

static void
entry_clear (RbRegistryEntry *entry)
{
  g_free (entry->path);
  g_clear_object (&entry->bundle);
  g_clear_error (&entry->error);
}

void
rb_registry_entry_unref (RbRegistryEntry *entry)
{
  g_atomic_rc_box_release_full (entry, (GDestroyNotify) entry_clear);
}

void
rb_registry_scan_input_free (RbRegistryScanInput *input)
{
  g_strfreev (input->paths);
  g_free (input->trusted_keys_dir);
  g_clear_pointer (&input->previous, g_hash_table_unref);
  g_free (input->previous_trust);
  g_free (input->cache_path);
  g_free (input);
}

void
rb_registry_scan_result_free (RbRegistryScanResult *result)
{
  g_clear_pointer (&result->entries, g_ptr_array_unref);
  g_free (result->trust);
  g_free (result);
}

/* ------------------------------------------------------------------ */
/* Order                                                               */

int
rb_registry_compare_versions (const char *a,
                              const char *b)
{
  const char *pa = a, *pb = b;

  while (g_ascii_isdigit (*pa) && g_ascii_isdigit (*pb))
    {
      guint64 na = g_ascii_strtoull (pa, (char **) &pa, 10);
      guint64 nb = g_ascii_strtoull (pb, (char **) &pb, 10);

      if (na != nb)
        return na < nb ? -1 : 1;
      if (*pa == '.' && *pb == '.')
        {
          pa++;
          pb++;
          continue;
        }
      break;
    }
  /* "1.0" before "1.0.1"; "1.0.0-rc1" before "1.0.0". */
  if (*pa == '.' && *pb != '.')
    return 1;
  if (*pb == '.' && *pa != '.')
    return -1;
  if (*pa == '\0' && *pb == '-')
    return 1;
  if (*pb == '\0' && *pa == '-')
    return -1;
  return strcmp (a, b);
}

int
rb_registry_entry_compare (const RbRegistryEntry *a,
                           const RbRegistryEntry *b)
{
  int c;

  if ((a->bundle == NULL) != (b->bundle == NULL))
    return a->bundle == NULL ? 1 : -1;
  if (a->bundle != NULL)
    {
      if ((c = g_strcmp0 (rb_bundle_get_name (a->bundle), rb_bundle_get_name (b->bundle))) != 0)
        return c;
      if ((c = rb_registry_compare_versions (rb_bundle_get_version (a->bundle),
                                             rb_bundle_get_version (b->bundle))) != 0)
        return c;
    }
  if (a->dir_index != b->dir_index)
    return a->dir_index < b->dir_index ? -1 : 1;
  return strcmp (a->path, b->path);
}

static int
entry_compare_indirect (gconstpointer a,
                        gconstpointer b)
{
  return rb_registry_entry_compare (*(RbRegistryEntry * const *) a, *(RbRegistryEntry * const *) b);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */

static gboolean
stat_file (const char     *path,
           RbRegistryStat *st)
{
  GStatBuf buf;

  /* Through a symlink; a loop is ELOOP, a dangling link ENOENT. */
  if (g_stat (path, &buf) != 0 || !S_ISREG (buf.st_mode))
    return FALSE;
  st->dev = buf.st_dev;
  st->ino = buf.st_ino;
  st->size = buf.st_size;
  st->mtime_ns = (gint64) buf.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + buf.st_mtim.tv_nsec;
  st->ctime_ns = (gint64) buf.st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + buf.st_ctim.tv_nsec;
  return TRUE;
}

static gboolean
stat_equal (const RbRegistryStat *a,
            const RbRegistryStat *b)
{
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime_ns == b->mtime_ns && a->ctime_ns == b->ctime_ns;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* The candidate names of @dir, sorted; bounded. */
static GPtrArray *
list_candidates (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  guint read = 0;

  if (d == NULL)
    return names;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (++read > RB_REGISTRY_MAX_DIR_ENTRIES)
        {
          g_debug ("Search path %s has more than %d entries: the rest are ignored", dir,
                   RB_REGISTRY_MAX_DIR_ENTRIES);
          break;
        }
      if (name[0] != '.' && g_str_has_suffix (name, ".rbp"))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_ptr_array_sort (names, compare_names);
  return names;
}

/* ------------------------------------------------------------------ */
/* The cache                                                           */

typedef struct {
  RbRegistryStat st;
  gboolean       bundle;
  GError        *error;
  GBytes        *manifest;   /* or NULL: not kept */
} CacheEntry;

static void
cache_entry_free (CacheEntry *entry)
{
  g_clear_error (&entry->error);
  g_clear_pointer (&entry->manifest, g_bytes_unref);
  g_free (entry);
}

static gboolean
member_int (JsonObject *object,
            const char *name,
            gint64     *value)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  *value = json_node_get_int (node);
  return TRUE;
}

static CacheEntry *
cache_entry_parse (JsonObject *object)
{
  g_autoptr(GError) reason = NULL;
  g_autoptr(GBytes) manifest = NULL;
  gint64 dev, ino, size, mtime, ctime, code = 0;
  JsonNode *node;
  CacheEntry *entry;
  gboolean bundle;

  if (!member_int (object, "dev", &dev) || !member_int (object, "ino", &ino) ||
      !member_int (object, "size", &size) || !member_int (object, "mtime", &mtime) ||
      !member_int (object, "ctime", &ctime) || size < 0)
    return NULL;
  node = json_object_get_member (object, "bundle");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return NULL;
  bundle = json_node_get_boolean (node);
  node = json_object_get_member (object, "message");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      const char *message;

      /* Only our own domain's codes are taken from it. */
      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING ||
          !member_int (object, "code", &code) || code < RB_BUNDLE_ERROR_NOT_FOUND || code > RB_BUNDLE_ERROR_EXISTS)
        return NULL;
      message = json_node_get_string (node);
      if (strlen (message) > CACHE_MAX_MESSAGE)
        return NULL;
      reason = g_error_new_literal (RB_BUNDLE_ERROR, code, message);
    }
  else if (!bundle)
    return NULL;   /* a file that did not open has a reason */
  node = json_object_get_member (object, "manifest");
  if (node != NULL)
    {
      const char *text;
      gsize len;

      if (!bundle || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
        return NULL;
      text = json_node_get_string (node);
      len = strlen (text);
      if (len > RB_BUNDLE_MAX_CACHED_MANIFEST)
        return NULL;
      manifest = g_bytes_new (text, len);
    }
  entry = g_new0 (CacheEntry, 1);
  entry->st = (RbRegistryStat) { dev, ino, size, mtime, ctime };
  entry->bundle = bundle;
  entry->error = g_steal_pointer (&reason);
  entry->manifest = g_steal_pointer (&manifest);
  return entry;
}

/* path → CacheEntry, or NULL when there is no usable cache. */
static GHashTable *
cache_load (const char *path,
            const char *trust)
{
  g_autofree char *data = NULL;
  g_autoptr(JsonParser) parser = NULL;
  g_autoptr(GHashTable) entries = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *root;
  JsonArray *array;
  GStatBuf buf;
  gsize len;
  gint64 format;

  /* Bounded before it is read; not through a link an attacker left. */
  if (path == NULL || g_lstat (path, &buf) != 0 || !S_ISREG (buf.st_mode) || buf.st_size > CACHE_MAX_SIZE)
    return NULL;
  if (!g_file_get_contents (path, &data, &len, NULL) || len > CACHE_MAX_SIZE)
    return NULL;
  parser = json_parser_new_immutable ();
  if (!rb_json_load_untrusted (parser, data, len, &error))
    {
      g_debug ("Ignoring the registry cache %s: %s", path, error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return NULL;
  root = json_node_get_object (json_parser_get_root (parser));
  if (!member_int (root, "format", &format) || format != CACHE_FORMAT ||
      g_strcmp0 (rb_json_object_get_string (root, "trust"), trust) != 0)
    {
      g_debug ("Ignoring the registry cache %s: another format or other trust settings", path);
      return NULL;
    }
  if (json_object_get_member (root, "entries") == NULL ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (root, "entries")))
    return NULL;
  array = json_object_get_array_member (root, "entries");
  if (json_array_get_length (array) > CACHE_MAX_ENTRIES)
    return NULL;
  entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cache_entry_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *file;
      CacheEntry *entry;

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          (file = rb_json_object_get_string (json_node_get_object (node), "path")) == NULL ||
          (entry = cache_entry_parse (json_node_get_object (node))) == NULL)
        {
          g_debug ("Ignoring the registry cache %s: entry %u is not valid", path, i);
          return NULL;
        }
      g_hash_table_replace (entries, g_strdup (file), entry);
    }
  return g_steal_pointer (&entries);
}

/* The bundle's manifest.json as a "manifest" member, if it is small,
 * UTF-8 text without NUL bytes (JSON strings carry nothing else exactly),
 * and there is room for it. */
static void
append_manifest (GString  *out,
                 RbBundle *bundle)
{
  g_autoptr(GBytes) manifest = rb_bundle_dup_manifest_bytes (bundle, RB_BUNDLE_MAX_CACHED_MANIFEST);
  g_autofree char *text = NULL;
  const char *data;
  gsize len;

  if (manifest == NULL)
    return;
  data = g_bytes_get_data (manifest, &len);
  /* At most 6 bytes of JSON per byte of text (\u00XX). */
  if (out->len + 6 * len > CACHE_MANIFEST_ROOM || memchr (data, '\0', len) != NULL ||
      !g_utf8_validate_len (data, len, NULL))
    return;
  text = g_strndup (data, len);
  g_string_append (out, ",\"manifest\":");
  rb_json_write_string (out, text);
}

static void
cache_save (const char *path,
            const char *trust,
            GPtrArray  *entries)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;

  g_string_append_printf (out, "{\"format\":%d,\"trust\":", CACHE_FORMAT);
  rb_json_write_string (out, trust);
  g_string_append (out, ",\"entries\":[");
  for (guint i = 0, n = 0; i < entries->len; i++)
    {
      RbRegistryEntry *entry = g_ptr_array_index (entries, i);
      g_autofree char *message = NULL;

      /* JSON holds UTF-8 only, and only our own domain's reasons are
       * stored: anything else is left out, and checked again next time. */
      if (!g_utf8_validate (entry->path, -1, NULL) ||
          (entry->error != NULL && (entry->error->domain != RB_BUNDLE_ERROR ||
                                    !g_utf8_validate (entry->error->message, -1, NULL))))
        continue;
      g_string_append (out, n++ > 0 ? ",{\"path\":" : "{\"path\":");
      rb_json_write_string (out, entry->path);
      g_string_append_printf (out, ",\"dev\":%" G_GINT64_FORMAT ",\"ino\":%" G_GINT64_FORMAT
                              ",\"size\":%" G_GINT64_FORMAT ",\"mtime\":%" G_GINT64_FORMAT
                              ",\"ctime\":%" G_GINT64_FORMAT ",\"bundle\":%s",
                              (gint64) entry->st.dev, (gint64) entry->st.ino, (gint64) entry->st.size,
                              entry->st.mtime_ns, entry->st.ctime_ns, entry->bundle != NULL ? "true" : "false");
      if (entry->bundle != NULL)
        append_manifest (out, entry->bundle);
      if (entry->error != NULL)
        {
          message = g_utf8_substring (entry->error->message, 0,
                                      MIN (g_utf8_strlen (entry->error->message, -1), CACHE_MAX_MESSAGE / 4));
          g_string_append_printf (out, ",\"code\":%d,\"message\":", entry->error->code);
          rb_json_write_string (out, message);
        }
      g_string_append_c (out, '}');
    }
  g_string_append (out, "]}\n");
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      !g_file_set_contents_full (path, out->str, out->len, G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_debug ("Could not write the registry cache %s: %s", path,
             error != NULL ? error->message : g_strerror (errno));
}

char *
rb_registry_cache_path (const char *app_id)
{
  g_autoptr(GString) name = g_string_new ("registry-");

  for (const char *p = app_id; *p != '\0'; p++)
    g_string_append_c (name, g_ascii_isalnum (*p) || *p == '.' || *p == '-' ? *p : '_');
  g_string_append (name, ".json");
  return g_build_filename (g_get_user_cache_dir (), "rustbridge-glib", name->str, NULL);
}

static void
fingerprint_dir (GChecksum  *sum,
                 const char *dir)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) d = NULL;
  const char *name;

  g_checksum_update (sum, (const guchar *) dir, strlen (dir) + 1);
  d = g_dir_open (dir, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL && names->len < RB_TRUST_MAX_DIR_ENTRIES)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      RbRegistryStat st = { 0 };

      stat_file (path, &st);
      g_checksum_update (sum, (const guchar *) path, strlen (path) + 1);
      g_checksum_update (sum, (const guchar *) &st, sizeof st);
    }
}

char *
rb_registry_trust_fingerprint (RbVerifyMode  mode,
                               const char   *trusted_keys_dir)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_auto(GStrv) defaults = rb_trust_default_dirs ();
  g_autofree char *head = g_strdup_printf ("%s %s %d %s", PACKAGE_VERSION, rb_manifest_get_current_platform (),
                                           mode, trusted_keys_dir != NULL ? "dir" : "-");

  g_checksum_update (sum, (const guchar *) head, strlen (head) + 1);
  if (trusted_keys_dir != NULL)
    fingerprint_dir (sum, trusted_keys_dir);
  for (guint i = 0; defaults[i] != NULL; i++)
    fingerprint_dir (sum, defaults[i]);
  return g_strdup (g_checksum_get_string (sum));
}

/* ------------------------------------------------------------------ */
/* The scan                                                            */

static RbRegistryEntry *
entry_new (const char           *path,
           guint                 dir_index,
           const RbRegistryStat *st)
{
  RbRegistryEntry *entry = g_atomic_rc_box_new0 (RbRegistryEntry);

  entry->path = g_strdup (path);
  entry->dir_index = dir_index;
  entry->st = *st;
  return entry;
}

static gboolean
is_unsupported_format (const GError *error)
{
  return g_error_matches (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
}

/* A bundle that did not open because of its format version (@reason) is
 * listed, unavailable for that reason: made from its manifest's name and
 * version (rb_bundle_new_unsupported()). On failure @reason is replaced
 * by why, and the file is skipped as any other that does not open. */
static RbBundle *
unsupported_bundle (const RbRegistryScanInput  *input,
                    const char                 *path,
                    const RbRegistryStat       *st,
                    GError                    **reason)
{
  RbBundleStamp stamp = { st->dev, st->ino, st->size, st->mtime_ns, st->ctime_ns };
  g_autoptr(GError) local = NULL;
  RbBundle *bundle;

  bundle = rb_bundle_new_unsupported (path, NULL, &stamp, input->verify_mode, input->trusted_keys_dir, &local);
  if (bundle == NULL)
    {
      g_clear_error (reason);
      *reason = g_steal_pointer (&local);
      return NULL;
    }
  rb_bundle_availability_set (bundle, g_error_copy (*reason));
  return bundle;
}

/* Opens @path and decides its availability, unless @cached says it is
 * not a bundle or already knows the answer. NULL: it changed meanwhile. */
static RbRegistryEntry *
scan_file (const RbRegistryScanInput *input,
           const char                *path,
           guint                      dir_index,
           const RbRegistryStat      *st,
           CacheEntry                *cached,
           RbRegistryScanResult      *result,
           GCancellable              *cancellable)
{
  g_autoptr(RbRegistryEntry) entry = entry_new (path, dir_index, st);
  g_autoptr(GFile) file = NULL;
  RbRegistryStat after;
  GError *error = NULL;

  if (cached != NULL && !cached->bundle)
    {
      entry->error = g_error_copy (cached->error);
      result->from_cache++;
      return g_steal_pointer (&entry);
    }
  if (cached != NULL && cached->manifest != NULL)
    {
      /* Listed without reading the file: its archive opens on first use,
       * and only if it is still what the cache described. */
      RbBundleStamp stamp = { st->dev, st->ino, st->size, st->mtime_ns, st->ctime_ns };
      g_autoptr(GError) local = NULL;

      entry->bundle = rb_bundle_new_for_cached (path, cached->manifest, &stamp, input->verify_mode,
                                                input->trusted_keys_dir, &local);
      /* One of another format version: listed from what was kept of it. */
      if (entry->bundle == NULL && is_unsupported_format (local) && is_unsupported_format (cached->error))
        {
          g_clear_error (&local);
          entry->bundle = rb_bundle_new_unsupported (path, cached->manifest, &stamp, input->verify_mode,
                                                     input->trusted_keys_dir, &local);
        }
      if (entry->bundle != NULL)
        {
          rb_bundle_availability_set (entry->bundle, cached->error != NULL ? g_error_copy (cached->error) : NULL);
          if (cached->error != NULL)
            entry->error = g_error_copy (cached->error);
          result->from_cache++;
          result->listed_from_cache++;
          return g_steal_pointer (&entry);
        }
      /* A cache is only a hint: the file decides. */
      g_debug ("Ignoring the cached manifest of %s: %s", path, local->message);
      result->cache_rejected++;
      cached = NULL;
    }
  file = g_file_new_for_path (path);
  entry->bundle = g_initable_new (RB_TYPE_BUNDLE, cancellable, &entry->error, "file", file,
                                  "verify-mode", input->verify_mode,
                                  "trusted-keys-dir", input->trusted_keys_dir, NULL);
  if (entry->bundle == NULL && is_unsupported_format (entry->error))
    entry->bundle = unsupported_bundle (input, path, st, &entry->error);
  if (entry->bundle != NULL)
    {
      result->opened++;
      if (cached != NULL)
        {
          rb_bundle_availability_set (entry->bundle, cached->error != NULL ? g_error_copy (cached->error) : NULL);
          result->from_cache++;
        }
      else
        {
          rb_bundle_availability_check (entry->bundle, &error);
          rb_bundle_availability_set (entry->bundle, error);
          result->checked++;
        }
      g_clear_error (&entry->error);
      if (rb_bundle_get_unavailable_reason (entry->bundle) != NULL)
        entry->error = g_error_copy (rb_bundle_get_unavailable_reason (entry->bundle));
    }
  else
    g_debug ("Skipping %s: %s", path, entry->error->message);
  /* Written to while we read it: not settled yet. */
  if (!stat_file (path, &after) || !stat_equal (st, &after))
    return NULL;
  return g_steal_pointer (&entry);
}

RbRegistryScanResult *
rb_registry_scan (const RbRegistryScanInput *input,
                  GCancellable              *cancellable,
                  GError                   **error)
{
  g_autoptr(RbRegistryScanResult) result = g_new0 (RbRegistryScanResult, 1);
  g_autoptr(GHashTable) cache = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal,
                                                      (GDestroyNotify) g_bytes_unref, NULL);
  gboolean reuse, changed;

  /* Signature verdicts are only reused (from the previous scan or the
   * cache) under the same trust inputs. */
  result->trust = rb_registry_trust_fingerprint (input->verify_mode, input->trusted_keys_dir);
  cache = cache_load (input->cache_path, result->trust);
  reuse = input->previous != NULL && g_strcmp0 (input->previous_trust, result->trust) == 0;
  changed = cache == NULL;

  result->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) rb_registry_entry_unref);
  for (guint d = 0; input->paths[d] != NULL; d++)
    {
      g_autoptr(GPtrArray) names = list_candidates (input->paths[d]);

      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *path = g_build_filename (input->paths[d], g_ptr_array_index (names, i), NULL);
          RbRegistryEntry *previous, *entry;
          CacheEntry *cached;
          RbRegistryStat st;
          GBytes *identity;

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          if (!stat_file (path, &st))
            {
              g_debug ("Skipping %s: not a regular file (or a broken or looping link)", path);
              continue;
            }
          identity = g_bytes_new (&st, sizeof st.dev + sizeof st.ino);
          if (!g_hash_table_add (seen, identity))
            continue;   /* the same file, already found */
          previous = reuse ? g_hash_table_lookup (input->previous, path) : NULL;
          cached = cache != NULL ? g_hash_table_lookup (cache, path) : NULL;
          if (cached != NULL && !stat_equal (&cached->st, &st))
            cached = NULL;
          if (cached == NULL)
            changed = TRUE;
          if (previous != NULL && previous->dir_index == d && stat_equal (&previous->st, &st))
            entry = rb_registry_entry_ref (previous);
          else if ((entry = scan_file (input, path, d, &st, cached, result, cancellable)) == NULL)
            {
              result->unsettled = TRUE;
              changed = TRUE;
              continue;
            }
          g_ptr_array_add (result->entries, entry);
        }
    }
  if ((cache != NULL && g_hash_table_size (cache) != result->entries->len) || result->cache_rejected > 0)
    changed = TRUE;
  g_ptr_array_sort (result->entries, entry_compare_indirect);
  if (input->cache_path != NULL && changed)
    cache_save (input->cache_path, result->trust, result->entries);
  return g_steal_pointer (&result);
}
