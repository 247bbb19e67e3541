/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * struct _RbBundle, shared by the files of RbBundle: rb-bundle.c (the
 * GObject, opening, verifying, extracting, loading) and rb-bundle-info.c
 * (the manifest accessors). Never included by anything else.
 */

#include "rb-archive-private.h"
#include "rb-bundle.h"
#include "rb-bundle-verify-private.h"
#include "rb-manifest-private.h"

G_BEGIN_DECLS

struct _RbBundle {
  GObject       parent_instance;

  GFile        *file;
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

G_END_DECLS
