/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * rb-registry-scan: what RbRegistry finds in its search paths, in any
 * thread (it touches no registry state).
 *
 * - A search path is read, not recursed into: at most
 *   RB_REGISTRY_MAX_DIR_ENTRIES names of it (in name order), of which the
 *   candidates are `*.rbp` names not starting with a dot (copies in
 *   progress are usually hidden or named otherwise). A candidate must be a
 *   regular file, through a symlink too (a loop or a dangling link is
 *   skipped); the same file reached twice (by device and inode) counts
 *   once, where it was found first.
 * - Each candidate is opened as an RbBundle (index and manifest only) with
 *   the registry's verification settings, and its availability decided
 *   (rb-bundle-availability-private.h). A bundle of another format
 *   version (bundle_version) is listed, unavailable with
 *   RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, as a bundle that has only its
 *   name and versions (rb_bundle_new_unsupported()). A file that does not
 *   open otherwise (not a bundle, unreadable, too large) is an entry
 *   without a bundle: it is not listed, and not opened again while it is
 *   unchanged.
 * - A file is "unchanged" when its device, inode, size, mtime and ctime
 *   are: then the previous scan's entry is reused (same RbBundle object),
 *   or the cache's entry replaces the open-and-check: for files that are
 *   not bundles, the verdict; for bundles whose manifest the cache holds,
 *   everything (the bundle is made from the cached manifest and opens its
 *   archive on first use: rb_bundle_new_for_cached(), so an unchanged
 *   bundle costs a stat() and no read); for others, the signature check.
 * - A file whose identity changes while it is being opened (written to)
 *   is "unsettled": skipped, and the scan says so, for a later rescan.
 */

#include <gio/gio.h>

#include "rb-bundle.h"

G_BEGIN_DECLS

#define RB_REGISTRY_MAX_DIR_ENTRIES 10000

typedef struct {
  guint64 dev, ino, size;
  gint64  mtime_ns, ctime_ns;
} RbRegistryStat;

typedef struct {
  char           *path;
  guint           dir_index;  /* the search path it was found in */
  RbRegistryStat  st;
  RbBundle       *bundle;     /* NULL: not a bundle (skipped) */
  GError         *error;      /* the bundle's unavailable reason, or why it did not open */
} RbRegistryEntry;

RbRegistryEntry *rb_registry_entry_ref   (RbRegistryEntry *entry);
void             rb_registry_entry_unref (RbRegistryEntry *entry);

/* Name, then version (rb_registry_compare_versions()), then search path,
 * then path. Entries without a bundle go last. */
int              rb_registry_entry_compare    (const RbRegistryEntry *a,
                                               const RbRegistryEntry *b);
/* Dotted numeric components compared as numbers, a pre-release ("-...")
 * before its release, then the text. */
int              rb_registry_compare_versions (const char *a,
                                               const char *b);

typedef struct {
  GStrv         paths;
  RbVerifyMode  verify_mode;
  char         *trusted_keys_dir;
  GHashTable   *previous;       /* path → RbRegistryEntry, or NULL */
  char         *previous_trust; /* the fingerprint @previous was made with */
  char         *cache_path;     /* or NULL: no cache */
} RbRegistryScanInput;

void             rb_registry_scan_input_free  (RbRegistryScanInput *input);

typedef struct {
  GPtrArray *entries;     /* RbRegistryEntry, sorted */
  gboolean   unsettled;   /* a file changed while it was read */
  guint      opened;      /* bundles opened */
  guint      checked;     /* availability decided (not from the cache) */
  guint      from_cache;
  guint      listed_from_cache;  /* of which listed without reading the file */
  guint      cache_rejected;     /* cached manifests that did not validate */
  char      *trust;       /* rb_registry_trust_fingerprint() of the settings */
} RbRegistryScanResult;

void             rb_registry_scan_result_free (RbRegistryScanResult *result);

RbRegistryScanResult *rb_registry_scan (const RbRegistryScanInput *input,
                                        GCancellable              *cancellable,
                                        GError                   **error);

/* A digest of everything a signature check depends on besides the
 * bundle: the library's version, the platform, the verify mode, the
 * trusted-keys directory and the identity (name, size, times, inode) of
 * every entry of it and of the default trusted-keys directories. */
char            *rb_registry_trust_fingerprint (RbVerifyMode  mode,
                                                const char   *trusted_keys_dir);

/* $XDG_CACHE_HOME/rustbridge-glib/registry-<app id>.json */
char            *rb_registry_cache_path        (const char   *app_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbRegistryEntry, rb_registry_entry_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbRegistryScanResult, rb_registry_scan_result_free)

G_END_DECLS
