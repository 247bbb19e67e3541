/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "rb-bundle-private.h"
#include "rb-error.h"
#include "rb-minisign-private.h"
#include "rb-names-private.h"

/*
 * Bundles listed from a cache (rb-registry-scan): their manifest comes
 * from the cache, and the archive is opened the first time something
 * needs more than the manifest (a file, a schema, a signature, the
 * library). Until then the bundle holds no file open and has read no byte
 * of it, which is what makes an application's start-up with many
 * installed bundles cost a stat() per bundle.
 *
 * The first use may come from any thread (an async load prepares in a
 * worker): the open is done once, under the bundle's lock, and its result
 * (the archive, or why it could not be opened) is kept. The archive is
 * only accepted if it is the file that was listed: the same identity
 * (device, inode, size, mtime, ctime) after opening, and the same
 * manifest.json bytes as those the bundle's manifest was parsed from.
 * Anything else would make the bundle's metadata (what the application
 * showed, what it enabled) describe another bundle than it loads.
 */

struct _RbBundleLazy {
  GMutex         lock;
  GBytes        *manifest;   /* the cached manifest.json */
  RbBundleStamp  stamp;
  GError        *error;      /* why the archive could not be opened */
};

void
rb_bundle_lazy_free (RbBundleLazy *lazy)
{
  g_mutex_clear (&lazy->lock);
  g_clear_pointer (&lazy->manifest, g_bytes_unref);
  g_clear_error (&lazy->error);
  g_free (lazy);
}

RbBundle *
rb_bundle_new_for_cached (const char           *path,
                          GBytes               *manifest,
                          const RbBundleStamp  *stamp,
                          RbVerifyMode          verify_mode,
                          const char           *trusted_keys_dir,
                          GError              **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(RbBundle) self = NULL;

  g_return_val_if_fail (path != NULL && manifest != NULL && stamp != NULL, NULL);

  if (!rb_minisign_init (error))
    return NULL;
  file = g_file_new_for_path (path);
  self = g_object_new (RB_TYPE_BUNDLE, "file", file, "verify-mode", verify_mode,
                       "trusted-keys-dir", trusted_keys_dir, NULL);
  self->path = rb_names_escape (path, -1, G_MAXSIZE);
  /* The limits an open would apply to the manifest. */
  if (g_bytes_get_size (manifest) > MIN (self->max_manifest_size, RB_BUNDLE_MAX_CACHED_MANIFEST))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                   "Bundle “%s”: the cached manifest.json is too large", self->path);
      return NULL;
    }
  self->manifest = rb_manifest_new (manifest, self->path, error);
  if (self->manifest == NULL)
    return NULL;
  self->lazy = g_new0 (RbBundleLazy, 1);
  g_mutex_init (&self->lazy->lock);
  self->lazy->manifest = g_bytes_ref (manifest);
  self->lazy->stamp = *stamp;
  /* As if g_initable_init() had succeeded: the manifest is all the
   * accessors need. */
  self->initialized = TRUE;
  self->opened = TRUE;
  return g_steal_pointer (&self);
}

/* manifest.json of the archive at @path, within @self's limits. */
static GBytes *
read_manifest (RbBundle    *self,
               const char  *path,
               GError     **error)
{
  g_autoptr(RbArchive) archive = rb_archive_open (path, self->max_entries, self->max_total_size, error);

  if (archive == NULL)
    return NULL;
  if (!rb_archive_has_file (archive, "manifest.json"))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST,
                   "Bundle “%s” has no manifest.json", self->path);
      return NULL;
    }
  return rb_archive_read (archive, "manifest.json", self->max_manifest_size, error);
}

RbBundle *
rb_bundle_new_unsupported (const char           *path,
                           GBytes               *manifest,
                           const RbBundleStamp  *stamp,
                           RbVerifyMode          verify_mode,
                           const char           *trusted_keys_dir,
                           GError              **error)
{
  g_autoptr(GFile) file = NULL;
  g_autoptr(RbBundle) self = NULL;
  g_autoptr(GBytes) read = NULL;
  g_autofree char *base = NULL;
  g_autofree char *fallback = NULL;
  g_autoptr(RbManifestVariant) none = NULL;
  GBytes *reduced;

  g_return_val_if_fail (path != NULL && stamp != NULL, NULL);

  file = g_file_new_for_path (path);
  self = g_object_new (RB_TYPE_BUNDLE, "file", file, "verify-mode", verify_mode,
                       "trusted-keys-dir", trusted_keys_dir, NULL);
  self->path = rb_names_escape (path, -1, G_MAXSIZE);
  if (manifest == NULL && (manifest = read = read_manifest (self, path, error)) == NULL)
    return NULL;
  if (g_bytes_get_size (manifest) > self->max_manifest_size)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                   "Bundle “%s”: manifest.json is too large", self->path);
      return NULL;
    }
  /* A manifest without a usable name is listed under the file's. */
  base = g_path_get_basename (path);
  fallback = g_strndup (base, g_str_has_suffix (base, ".rbp") ? strlen (base) - 4 : strlen (base));
  self->manifest = rb_manifest_new_unsupported (manifest, self->path, fallback, error);
  if (self->manifest == NULL)
    return NULL;
  reduced = rb_manifest_get_bytes (self->manifest);
  self->lazy = g_new0 (RbBundleLazy, 1);
  g_mutex_init (&self->lazy->lock);
  self->lazy->manifest = g_bytes_ref (reduced);
  self->lazy->stamp = *stamp;
  /* The archive is never opened: anything that needs it fails with why. */
  none = rb_manifest_resolve_variant (self->manifest, NULL, &self->lazy->error);
  self->initialized = TRUE;
  self->opened = TRUE;
  return g_steal_pointer (&self);
}

static gboolean
stamp_matches (const char          *path,
               const RbBundleStamp *stamp)
{
  GStatBuf buf;

  return g_stat (path, &buf) == 0 && S_ISREG (buf.st_mode) &&
         (guint64) buf.st_dev == stamp->dev && (guint64) buf.st_ino == stamp->ino &&
         (guint64) buf.st_size == stamp->size &&
         (gint64) buf.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + buf.st_mtim.tv_nsec == stamp->mtime_ns &&
         (gint64) buf.st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + buf.st_ctim.tv_nsec == stamp->ctime_ns;
}

/* Opens the listed file; under the lock. */
static RbArchive *
open_listed (RbBundle  *self,
             GError   **error)
{
  g_autofree char *path = g_file_get_path (self->file);
  g_autoptr(RbArchive) archive = NULL;
  g_autoptr(GBytes) manifest = NULL;
  g_autoptr(GError) local = NULL;

  archive = rb_archive_open (path, self->max_entries, self->max_total_size, &local);
  if (archive != NULL && rb_archive_has_file (archive, "manifest.json"))
    manifest = rb_archive_read (archive, "manifest.json", self->max_manifest_size, &local);
  /* After opening: the file the archive holds open is the one at @path
   * now (or it changed meanwhile, and is refused either way). */
  if (archive == NULL || manifest == NULL || !stamp_matches (path, &self->lazy->stamp) ||
      !g_bytes_equal (manifest, self->lazy->manifest))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "Bundle “%s” changed since it was listed%s%s; scan again", self->path,
                   local != NULL ? ": " : "", local != NULL ? local->message : "");
      return NULL;
    }
  return g_steal_pointer (&archive);
}

RbArchive *
rb_bundle_lazy_open (RbBundle      *self,
                     const GError **unopened)
{
  RbArchive *archive;

  *unopened = NULL;
  if ((archive = g_atomic_pointer_get (&self->archive)) != NULL || self->lazy == NULL)
    return archive;
  g_mutex_lock (&self->lazy->lock);
  archive = self->archive;
  if (archive == NULL && self->lazy->error == NULL)
    {
      archive = open_listed (self, &self->lazy->error);
      if (archive != NULL)
        g_atomic_pointer_set (&self->archive, archive);
      else
        g_debug ("%s", self->lazy->error->message);
    }
  *unopened = self->lazy->error;
  g_mutex_unlock (&self->lazy->lock);
  /* Kept once set (archive or error), so both stay valid with the bundle. */
  return archive;
}

RbArchive *
rb_bundle_get_archive (RbBundle  *self,
                       GError   **error)
{
  const GError *unopened;
  RbArchive *archive = rb_bundle_lazy_open (self, &unopened);

  if (archive == NULL && unopened != NULL)
    g_propagate_error (error, g_error_copy (unopened));
  else if (archive == NULL)
    g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE, "Bundle “%s” is not open",
                 self->path != NULL ? self->path : "?");
  return archive;
}

gboolean
rb_bundle_is_archive_open (RbBundle *self)
{
  return g_atomic_pointer_get (&self->archive) != NULL;
}

GBytes *
rb_bundle_dup_manifest_bytes (RbBundle *self,
                              gsize     max_size)
{
  GBytes *bytes;

  g_return_val_if_fail (RB_BUNDLE_IS_OPEN (self), NULL);

  bytes = rb_manifest_get_bytes (self->manifest);
  return g_bytes_get_size (bytes) <= max_size ? g_bytes_ref (bytes) : NULL;
}
