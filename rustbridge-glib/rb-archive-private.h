/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * RbArchive: the checked index of a ZIP archive.
 *
 * Opening reads the end records and the central directory itself
 * (bounded, entry by entry, checking each local header) before libarchive
 * sees the file, and refuses the archive as a whole:
 *
 * - UNSAFE_PATH: an entry name that is empty, too long, absolute, not
 *   UTF-8, or has a NUL byte, a control character, a backslash, a colon,
 *   a "." or ".." or empty component; a symlink, device, FIFO or socket
 *   entry; a directory with data;
 * - INVALID_ARCHIVE: not a ZIP archive, or anything after its end record;
 *   an archive comment that is long or holds an end record signature;
 *   ZIP64 and classic end records that disagree; several volumes; no
 *   entries; data before the first entry; a central directory that is
 *   not right before the end records or holds another number of entries;
 *   a local header whose name, method or flags differ from the central
 *   directory's; entries that overlap or run into the central directory;
 *   encrypted entries; methods other than stored and deflate; stored
 *   entries whose two sizes differ; duplicate names; libarchive seeing
 *   other entries, in another order, or of other types than we do (its
 *   names may be the checked ones composed into Unicode NFC, which it
 *   does for entries flagged UTF-8: entries are read by their place, and
 *   named by the checked bytes only);
 * - TOO_LARGE: more entries or more declared bytes than the limits.
 *
 * The file stays open, and later reads go through the same descriptor
 * with pread() (so they may run in several threads): a file replaced by
 * another after opening does not matter. libarchive reads the central
 * directory and local headers again for each read, though, so a file
 * rewritten in place would hand it other bytes than were checked: each
 * read first compares the file's identity, size and times with those at
 * open, and checks that libarchive finds the entry's data where the check
 * did (and the times again once the read is done); otherwise it fails with
 * INVALID_ARCHIVE, "changed since it was opened". A rewrite within the
 * file system's time resolution that keeps every offset and the size goes
 * unseen: what matters (libraries, schemas) is checked against checksums
 * and signatures as it is read.
 */
typedef struct _RbArchive RbArchive;

typedef gboolean (*RbArchiveChunkFunc) (const guint8  *data,
                                        gsize          len,
                                        gpointer       user_data,
                                        GError       **error);

RbArchive *rb_archive_open           (const char          *path,
                                      guint                max_entries,
                                      guint64              max_total_size,
                                      GError             **error);
/* The same checks on an archive in memory, read in place; @name names it
 * in messages. */
RbArchive *rb_archive_open_bytes     (GBytes              *bytes,
                                      const char          *name,
                                      guint                max_entries,
                                      guint64              max_total_size,
                                      GError             **error);
void       rb_archive_free           (RbArchive           *self);

/* Regular files only, in central-directory order. */
GStrv      rb_archive_list_files     (RbArchive           *self);
gboolean   rb_archive_has_file       (RbArchive           *self,
                                      const char          *name);
/* The uncompressed size the archive declares, or 0 for no such file. */
guint64    rb_archive_get_size       (RbArchive           *self,
                                      const char          *name);

/* A relative, clean, UTF-8 path: the rule entry names and the paths a
 * manifest names must follow. A trailing slash (directory) is allowed. */
gboolean   rb_archive_name_is_safe   (const char          *name);

/* The most a whole entry read into memory may hold, whatever limit a
 * caller gives: a GByteArray cannot grow past G_MAXUINT, a gsize past 4 GiB
 * on 32 bits, and a size the archive declares is only a claim. */
#define RB_ARCHIVE_MAX_READ_SIZE (G_GUINT64_CONSTANT (256) << 20)

/* Reads a whole entry; more than @max_size bytes, or more than
 * RB_ARCHIVE_MAX_READ_SIZE (declared or actual), is
 * RB_BUNDLE_ERROR_TOO_LARGE, before anything is allocated. */
GBytes    *rb_archive_read           (RbArchive           *self,
                                      const char          *name,
                                      guint64              max_size,
                                      GError             **error);

/* Streams an entry to @func block by block (never holding it whole),
 * checking @cancellable between blocks. */
gboolean   rb_archive_stream         (RbArchive           *self,
                                      const char          *name,
                                      guint64              max_size,
                                      GCancellable        *cancellable,
                                      RbArchiveChunkFunc   func,
                                      gpointer             user_data,
                                      GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbArchive, rb_archive_free)

G_END_DECLS
