/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * RbArchiveSource: the bytes an RbArchive reads, and libarchive's view of
 * them.
 *
 * A file source keeps the file open from the start: every read is a
 * pread() of that descriptor (so reads may run in several threads), and
 * a file replaced by another after opening does not matter. Whether it
 * was rewritten in place is what rb_archive_source_unchanged() tells:
 * its identity, size and times against those at opening.
 *
 * A memory source reads a GBytes it holds a reference to, in place:
 * libarchive is handed pointers into it, never a copy (a compiled-in
 * resource stays where the program's image has it). It cannot change.
 *
 * The source never reports errors in its own words: it returns what
 * happened (errno, a short read), and the archive says it in messages
 * that name the bundle.
 */

#include <sys/stat.h>

#include <archive.h>
#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _RbArchiveSource RbArchiveSource;

/* Opens @path for reading (never blocking on a FIFO). Returns NULL with
 * errno set if it cannot be opened, or with errno 0 if it is not a
 * regular file. */
RbArchiveSource *rb_archive_source_open_file  (const char       *path);
RbArchiveSource *rb_archive_source_new_bytes  (GBytes           *bytes);
void             rb_archive_source_free       (RbArchiveSource  *self);

guint64          rb_archive_source_get_size   (RbArchiveSource  *self);

/* Reads up to @len bytes at @offset (< the size): the count read, 0 at
 * the end, or -1 with errno set. */
gssize           rb_archive_source_read       (RbArchiveSource  *self,
                                               guint64           offset,
                                               void             *buffer,
                                               gsize             len);

/* Whether the bytes are still those at opening, as far as the file's
 * identity, size and times tell. */
gboolean         rb_archive_source_unchanged  (RbArchiveSource  *self);

/* Makes @a read this source (open it with archive_read_open1() next);
 * what the callbacks need is freed with @a. */
void             rb_archive_source_attach     (RbArchiveSource  *self,
                                               struct archive   *a);

/* Test seam: takes the file as it is now for the file that was opened. */
gboolean         rb_archive_source_restat     (RbArchiveSource  *self);

/* Test seam: how many times rb_archive_source_open_file() was called in
 * this process (successfully or not), so that tests can tell that a
 * bundle file was not read at all. */
guint            rb_archive_source_test_files_opened (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbArchiveSource, rb_archive_source_free)

G_END_DECLS
