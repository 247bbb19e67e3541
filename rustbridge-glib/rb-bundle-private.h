/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * struct _RbBundle, shared by the files of RbBundle: rb-bundle.c (the
 * GObject, opening, verifying, extracting), rb-bundle-load.c (loading the
 * library: from a sealed memfd, or extracted as a fallback) and
 * rb-bundle-info.c (the manifest accessors). Never included by anything
 * else.
 */

#include "rb-archive-private.h"
#include "rb-bundle.h"
#include "rb-bundle-verify-private.h"
#include "rb-manifest-private.h"

G_BEGIN_DECLS

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
};

/* Methods need an opened bundle: g_initable_init() succeeded, not merely
 * got as far as reading the manifest. */
#define RB_BUNDLE_IS_OPEN(self) (RB_IS_BUNDLE (self) && (self)->opened)

/* ---- rb-bundle.c ---- */

/* What the checks of rb-bundle-verify-private.h read, for one call. */
RbBundleSource rb_bundle_get_source     (RbBundle      *self);

/* ---- rb-bundle-load.c ---- */

/* A new private directory (mode 0700) in @parent, or in $TMPDIR if it is
 * NULL, in which no library was ever loaded from a file named @file_name
 * (the loader would hand that library out again). */
char          *rb_bundle_make_private_dir (const char  *parent,
                                           const char  *file_name,
                                           GError     **error);

G_END_DECLS
