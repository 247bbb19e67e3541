/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "rb-archive-source-private.h"

/* What one read hands libarchive. */
#define READ_BLOCK       (128 * 1024)

/* The most one read of a memory source hands libarchive at once. */
#define MEMORY_BLOCK     (1024 * 1024)

struct _RbArchiveSource {
  int           fd;        /* -1 for memory */
  struct stat   st;        /* the file as it was opened */
  GBytes       *bytes;     /* memory, or NULL */
  const guint8 *data;      /* of bytes */
  guint64       size;
};

RbArchiveSource *
rb_archive_source_new_bytes (GBytes *bytes)
{
  RbArchiveSource *self = g_new0 (RbArchiveSource, 1);
  gsize size;

  self->fd = -1;
  self->bytes = g_bytes_ref (bytes);
  self->data = g_bytes_get_data (bytes, &size);
  self->size = size;
  return self;
}

/* Test seam: how many files were opened (rb_archive_source_test_files_opened()). */
static guint files_opened;

guint
rb_archive_source_test_files_opened (void)
{
  return g_atomic_int_get (&files_opened);
}

RbArchiveSource *
rb_archive_source_open_file (const char *path)
{
  g_autoptr(RbArchiveSource) self = g_new0 (RbArchiveSource, 1);

  g_atomic_int_inc (&files_opened);

  /* O_NONBLOCK: opening a FIFO put in the bundle's place must not hang. */
  self->fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (self->fd < 0)
    return NULL;
  if (fstat (self->fd, &self->st) != 0 || !S_ISREG (self->st.st_mode))
    {
      errno = 0;
      return NULL;
    }
  self->size = (guint64) self->st.st_size;
  return g_steal_pointer (&self);
}

void
rb_archive_source_free (RbArchiveSource *self)
{
  if (self == NULL)
    return;
  if (self->fd >= 0)
    close (self->fd);
  g_clear_pointer (&self->bytes, g_bytes_unref);
  g_free (self);
}

guint64
rb_archive_source_get_size (RbArchiveSource *self)
{
  return self->size;
}

gssize
rb_archive_source_read (RbArchiveSource *self,
                        guint64          offset,
                        void            *buffer,
                        gsize            len)
{
  ssize_t n;

  if (self->bytes != NULL)
    {
      gsize n_copy = offset < self->size ? (gsize) MIN ((guint64) len, self->size - offset) : 0;

      if (n_copy > 0)
        memcpy (buffer, self->data + offset, n_copy);
      return (gssize) n_copy;
    }
  do
    n = pread (self->fd, buffer, len, (off_t) offset);
  while (n < 0 && errno == EINTR);
  return n;
}

/* libarchive reads the central directory and local headers again each
 * time it opens: they must still be the bytes that were checked. A file
 * rewritten in place shows in its size or modification time, and in its
 * change time even when the modification time is set back. The change
 * time also moves when a link to the file comes or goes (the file was
 * replaced by another, which does not touch the bytes we read): it only
 * counts while the number of links stays the same. */
gboolean
rb_archive_source_unchanged (RbArchiveSource *self)
{
  struct stat now;

  if (self->bytes != NULL)
    return TRUE;
  return fstat (self->fd, &now) == 0 &&
         now.st_dev == self->st.st_dev && now.st_ino == self->st.st_ino && now.st_size == self->st.st_size &&
         now.st_mtim.tv_sec == self->st.st_mtim.tv_sec && now.st_mtim.tv_nsec == self->st.st_mtim.tv_nsec &&
         (now.st_nlink != self->st.st_nlink ||
          (now.st_ctim.tv_sec == self->st.st_ctim.tv_sec && now.st_ctim.tv_nsec == self->st.st_ctim.tv_nsec));
}

gboolean
rb_archive_source_restat (RbArchiveSource *self)
{
  if (self->bytes != NULL)
    return TRUE;
  if (fstat (self->fd, &self->st) != 0)
    return FALSE;
  self->size = (guint64) self->st.st_size;
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* libarchive over the source                                          */

typedef struct {
  RbArchiveSource *source;
  guint64          offset;
  guint8          *buffer;
} Reader;

static la_ssize_t
reader_read (struct archive  *a,
             void            *data,
             const void     **buffer)
{
  Reader *reader = data;
  gssize n;

  if (reader->offset >= reader->source->size)
    return 0;
  if (reader->source->bytes != NULL)
    {
      /* In place: what libarchive reads is the caller's memory. */
      n = (gssize) MIN ((guint64) MEMORY_BLOCK, reader->source->size - reader->offset);
      *buffer = reader->source->data + reader->offset;
      reader->offset += (guint64) n;
      return n;
    }
  n = rb_archive_source_read (reader->source, reader->offset, reader->buffer, READ_BLOCK);
  if (n < 0)
    {
      int saved = errno;
      archive_set_error (a, saved, "%s", g_strerror (saved));
      return -1;
    }
  reader->offset += (guint64) n;
  *buffer = reader->buffer;
  return n;
}

static la_int64_t
reader_seek (struct archive *a,
             void           *data,
             la_int64_t      offset,
             int             whence)
{
  Reader *reader = data;
  gint64 base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? (gint64) reader->offset
                                                             : (gint64) reader->source->size;

  /* base is at most the file size; offset comes from the archive. */
  if (offset < -base || offset > G_MAXINT64 - base)
    return ARCHIVE_FATAL;
  reader->offset = (guint64) (base + offset);
  return (la_int64_t) reader->offset;
}

static la_int64_t
reader_skip (struct archive *a,
             void           *data,
             la_int64_t      request)
{
  Reader *reader = data;
  guint64 size = reader->source->size;
  guint64 left = size > reader->offset ? size - reader->offset : 0;
  guint64 skip = MIN ((guint64) MAX (request, 0), left);

  reader->offset += skip;
  return (la_int64_t) skip;
}

static int
reader_close (struct archive *a,
              void           *data)
{
  Reader *reader = data;

  g_free (reader->buffer);
  g_free (reader);
  return ARCHIVE_OK;
}

void
rb_archive_source_attach (RbArchiveSource *self,
                          struct archive  *a)
{
  Reader *reader = g_new0 (Reader, 1);

  reader->source = self;
  if (self->bytes == NULL)
    reader->buffer = g_malloc (READ_BLOCK);
  archive_read_set_callback_data (a, reader);
  archive_read_set_read_callback (a, reader_read);
  archive_read_set_seek_callback (a, reader_seek);
  archive_read_set_skip_callback (a, reader_skip);
  archive_read_set_close_callback (a, reader_close);
}
