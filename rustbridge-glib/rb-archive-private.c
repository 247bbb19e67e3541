/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "rb-archive-private.h"
#include "rb-error.h"

struct _RbArchive {
  char       *path;
  GHashTable *files;  /* name -> GUINT_TO_POINTER (1): regular files only */
  GPtrArray  *order;  /* names in archive order */
};



static struct archive *
open_reader (const char  *path,
             GError     **error)
{
  struct archive *a = archive_read_new ();

  archive_read_support_format_zip (a);
  if (archive_read_open_filename (a, path, 64 * 1024) != ARCHIVE_OK)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "“%s” is not a readable ZIP archive: %s", path,
                   archive_error_string (a) ? archive_error_string (a) : "unknown error");
      archive_read_free (a);
      return NULL;
    }
  return a;
}

gboolean
rb_archive_name_is_safe (const char *name)
{
  g_auto(GStrv) parts = NULL;

  if (name == NULL || *name == '\0' || *name == '/' || strchr (name, '\\') || strchr (name, ':'))
    return FALSE;
  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      /* A trailing slash (directory entry) leaves one empty last part. */
      if (parts[i][0] == '\0' && parts[i + 1] == NULL && i > 0)
        break;
      if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
        return FALSE;
    }
  return g_utf8_validate (name, -1, NULL);
}

void
rb_archive_free (RbArchive *self)
{
  if (self == NULL)
    return;
  g_free (self->path);
  g_hash_table_unref (self->files);
  g_ptr_array_unref (self->order);
  g_free (self);
}

RbArchive *
rb_archive_open (const char  *path,
                 guint        max_entries,
                 guint64      max_total_size,
                 GError     **error)
{
  g_autoptr(RbArchive) self = g_new0 (RbArchive, 1);
  struct archive *a;
  struct archive_entry *entry;
  guint64 total = 0;
  guint count = 0;
  int rc;

  self->path = g_strdup (path);
  self->files = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, NULL);
  self->order = g_ptr_array_new_with_free_func (g_free);

  a = open_reader (path, error);
  if (a == NULL)
    return NULL;

  while ((rc = archive_read_next_header (a, &entry)) == ARCHIVE_OK)
    {
      const char *name = archive_entry_pathname (entry);
      mode_t type = archive_entry_filetype (entry);

      if (++count > max_entries)
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                       "“%s” has more than %u entries", path, max_entries);
          goto fail;
        }
      if (name == NULL || !rb_archive_name_is_safe (name))
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH,
                       "“%s” has an entry with an unsafe name: “%s”", path,
                       name ? name : "(unreadable)");
          goto fail;
        }
      if (archive_entry_hardlink (entry) != NULL || archive_entry_symlink (entry) != NULL ||
          (type != AE_IFREG && type != AE_IFDIR))
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH,
                       "“%s” has an entry that is not a regular file: “%s”", path, name);
          goto fail;
        }
      if (archive_entry_size_is_set (entry))
        {
          la_int64_t size = archive_entry_size (entry);
          if (size < 0 || (total += (guint64) size) > max_total_size)
            {
              g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                           "“%s” declares more than %" G_GUINT64_FORMAT " bytes of content",
                           path, max_total_size);
              goto fail;
            }
        }
      if (type == AE_IFREG)
        {
          char *copy;

          if (g_hash_table_contains (self->files, name))
            {
              g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                           "“%s” has two entries named “%s”", path, name);
              goto fail;
            }
          copy = g_strdup (name);
          g_ptr_array_add (self->order, copy);
          g_hash_table_add (self->files, copy);
        }
      archive_read_data_skip (a);
    }
  if (rc != ARCHIVE_EOF)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "“%s” is not a valid ZIP archive: %s", path,
                   archive_error_string (a) ? archive_error_string (a) : "unknown error");
      goto fail;
    }
  archive_read_free (a);
  return g_steal_pointer (&self);

fail:
  archive_read_free (a);
  return NULL;
}

GStrv
rb_archive_list_files (RbArchive *self)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  GStrv result;

  for (guint i = 0; i < self->order->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->order, i));
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

gboolean
rb_archive_has_file (RbArchive  *self,
                     const char *name)
{
  return g_hash_table_contains (self->files, name);
}

gboolean
rb_archive_stream (RbArchive          *self,
                   const char         *name,
                   guint64             max_size,
                   GCancellable       *cancellable,
                   RbArchiveChunkFunc  func,
                   gpointer            user_data,
                   GError            **error)
{
  struct archive *a;
  struct archive_entry *entry;
  gboolean found = FALSE, ok = FALSE;
  guint64 total = 0;

  if (!rb_archive_has_file (self, name))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "“%s” has no file “%s”", self->path, name);
      return FALSE;
    }

  a = open_reader (self->path, error);
  if (a == NULL)
    return FALSE;

  while (archive_read_next_header (a, &entry) == ARCHIVE_OK)
    {
      const void *block;
      size_t size;
      la_int64_t offset;
      int rc;

      if (g_strcmp0 (archive_entry_pathname (entry), name) != 0)
        continue;
      found = TRUE;
      while ((rc = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          total += size;
          if (total > max_size)
            {
              g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                           "“%s” in “%s” is larger than %" G_GUINT64_FORMAT " bytes",
                           name, self->path, max_size);
              goto out;
            }
          if (size > 0 && !func (block, size, user_data, error))
            goto out;
        }
      if (rc != ARCHIVE_EOF)
        {
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                       "Could not read “%s” from “%s”: %s", name, self->path,
                       archive_error_string (a) ? archive_error_string (a) : "unknown error");
          goto out;
        }
      ok = TRUE;
      break;
    }
  if (!found)
    g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                 "Could not find “%s” again in “%s” (the file changed?)", name, self->path);

out:
  archive_read_free (a);
  return ok;
}

static gboolean
append_chunk (const guint8  *data,
              gsize          len,
              gpointer       user_data,
              GError       **error)
{
  g_byte_array_append (user_data, data, (guint) len);
  return TRUE;
}

GBytes *
rb_archive_read (RbArchive   *self,
                 const char  *name,
                 gsize        max_size,
                 GError     **error)
{
  g_autoptr(GByteArray) buffer = g_byte_array_new ();

  if (!rb_archive_stream (self, name, max_size, NULL, append_chunk, buffer, error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&buffer));
}
