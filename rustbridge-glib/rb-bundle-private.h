/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * struct _RbBundle, shared by the files of RbBundle: rb-bundle.c (the
 * GObject, opening, verifying, extracting), rb-bundle-load.c (loading the
 * library: from a sealed memfd, or extracted as a fallback) and
 * rb-bundle-info.c (the manifest accessors) and rb-bundle-lazy.c (bundles
 * listed from a cache, whose archive opens on first use). Never included
 * by anything else except for the constructors of rb-bundle-lazy.c below,
 * which the registry's scan uses.
 */

#include "rb-archive-private.h"
#include "rb-bundle.h"
#include "rb-bundle-verify-private.h"
#include "rb-manifest-private.h"

G_BEGIN_DECLS

typedef struct _RbBundleLazy RbBundleLazy;

/* What identifies a bundle file's content without reading it. */
typedef struct {
  guint64 dev, ino, size;
  gint64  mtime_ns, ctime_ns;
} RbBundleStamp;

struct _RbBundle {
  GObject       parent_instance;

  GFile        *file;           /* NULL for bytes; resource:// for a resource */
  GBytes       *bytes;          /* the bundle in memory, or NULL */
  char         *resource_path;  /* what new_for_resource() was given, or NULL */
  char         *extraction_dir; /* for the fallback, or NULL: $TMPDIR */
  RbVerifyMode  verify_mode;
  char         *public_key;
  char         *trusted_keys_dir;
  gboolean      trust_embedded_key;
  guint64       max_manifest_size;
  guint64       max_library_size;
  guint64       max_total_size;
  guint         max_entries;

  gboolean      initialized;
  gboolean      opened;         /* init succeeded: the state below is complete */
  GError       *init_error;
  char         *path;           /* for messages: escaped */
  RbArchive    *archive;
  RbManifest   *manifest;
  RbBundleNotices notices;      /* WARN messages already logged */
  RbBundleLazy *lazy;           /* listed from a cache, or NULL (rb-bundle-lazy.c) */
};

/* Methods need an opened bundle: g_initable_init() succeeded, not merely
 * got as far as reading the manifest. */
#define RB_BUNDLE_IS_OPEN(self) (RB_IS_BUNDLE (self) && (self)->opened)

/* ---- rb-bundle.c ---- */

/* What the checks of rb-bundle-verify-private.h read, for one call. */
RbBundleSource rb_bundle_get_source     (RbBundle      *self);

/* ---- rb-bundle-lazy.c ---- */

/* The most manifest.json bytes a cache keeps for a bundle. */
#define RB_BUNDLE_MAX_CACHED_MANIFEST (64 * 1024)

/* A bundle for the file at @path, listed from what a cache says of it:
 * @manifest (its manifest.json, validated here as when opening: the cache
 * is untrusted) and @stamp (the file's identity when it was read). No
 * byte of the file is read now: the archive is opened on first use (by
 * any method that needs more than the manifest), in whichever thread
 * comes first, and only if the file still has @stamp and its
 * manifest.json is still @manifest; otherwise that and every later use
 * fails with RB_BUNDLE_ERROR_INVALID_ARCHIVE ("changed since it was
 * listed"). Loading verifies everything, as for any bundle. */
RbBundle      *rb_bundle_new_for_cached   (const char           *path,
                                           GBytes               *manifest,
                                           const RbBundleStamp  *stamp,
                                           RbVerifyMode          verify_mode,
                                           const char           *trusted_keys_dir,
                                           GError              **error);
/* A bundle for the file at @path whose manifest has a bundle_version this
 * library does not read (rb_manifest_new_unsupported()), for a registry
 * to list it as unavailable: @manifest is its manifest.json (or the
 * reduced one this made before, from a cache), or NULL to read it from
 * the file now. Name, version and bundle version are all it has: every
 * method that needs a library or the archive fails with
 * RB_BUNDLE_ERROR_UNSUPPORTED_VERSION; the file list is empty. */
RbBundle      *rb_bundle_new_unsupported  (const char           *path,
                                           GBytes               *manifest,
                                           const RbBundleStamp  *stamp,
                                           RbVerifyMode          verify_mode,
                                           const char           *trusted_keys_dir,
                                           GError              **error);
/* The archive, opened now if the bundle was listed from a cache; NULL
 * with @error set (may be NULL) if that failed. */
RbArchive     *rb_bundle_get_archive      (RbBundle             *self,
                                           GError              **error);
/* The same, pointing @unopened to the bundle's own error on failure. */
RbArchive     *rb_bundle_lazy_open        (RbBundle             *self,
                                           const GError        **unopened);
/* Whether the archive was opened (always, but for a bundle listed from a
 * cache that was not used yet). */
gboolean       rb_bundle_is_archive_open  (RbBundle             *self);
/* manifest.json's bytes if they are at most @max_size (for the cache),
 * else NULL. Reads no file for a bundle listed from a cache. */
GBytes        *rb_bundle_dup_manifest_bytes (RbBundle           *self,
                                             gsize               max_size);
void           rb_bundle_lazy_free        (RbBundleLazy         *lazy);

/* ---- rb-bundle-load.c ---- */

/* A new private directory (mode 0700) in @parent, or in $TMPDIR if it is
 * NULL, in which no library was ever loaded from a file named @file_name
 * (the loader would hand that library out again). */
char          *rb_bundle_make_private_dir (const char  *parent,
                                           const char  *file_name,
                                           GError     **error);
/* The library of @variant (NULL: the default), verified and trusted as
 * rb_bundle_load_plugin() does, for an isolated instance that the caller
 * starts itself (rb_plugin_reload()): a registered sealed memfd's path
 * (rb_library_lookup_fd() finds its fd), or, where memfds are not
 * possible, an extracted file (*@extracted set) that the caller removes
 * with its directory once the helper has loaded it. */
char          *rb_bundle_prepare_library  (RbBundle      *self,
                                           const char    *variant,
                                           gboolean      *extracted,
                                           GCancellable  *cancellable,
                                           GError       **error);

G_END_DECLS
