/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RbArchive: the checked index of a ZIP archive (libarchive). Opening it
 * refuses unsafe archives as a whole: entry names that are absolute,
 * contain "..", ".", empty components, backslashes or colons; symlinks,
 * hard links, devices and other non-regular entries; duplicate names;
 * more entries or more declared bytes than the limits allow.
 */
typedef struct _RbArchive RbArchive;

typedef gboolean (*RbArchiveChunkFunc) (const guint8  *data,
                                        gsize          len,
                                        gpointer       user_data,
                                        GError       **error);

RbArchive *rb_archive_open       (const char    *path,
                                  guint          max_entries,
                                  guint64        max_total_size,
                                  GError       **error);
void       rb_archive_free       (RbArchive     *self);
GStrv      rb_archive_list_files (RbArchive     *self);
gboolean   rb_archive_has_file   (RbArchive     *self,
                                  const char    *name);
gboolean   rb_archive_name_is_safe (const char  *name);

/* Reads a whole entry; more than @max_size bytes is RB_BUNDLE_ERROR_TOO_LARGE. */
GBytes    *rb_archive_read       (RbArchive     *self,
                                  const char    *name,
                                  gsize          max_size,
                                  GError       **error);

/* Streams an entry to @func in blocks, never holding it whole. */
gboolean   rb_archive_stream     (RbArchive          *self,
                                  const char         *name,
                                  guint64             max_size,
                                  GCancellable       *cancellable,
                                  RbArchiveChunkFunc  func,
                                  gpointer            user_data,
                                  GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbArchive, rb_archive_free)

G_END_DECLS
