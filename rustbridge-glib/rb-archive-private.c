/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <string.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>

#include "rb-archive-private.h"
#include "rb-archive-source-private.h"
#include "rb-archive-test-private.h"
#include "rb-names-private.h"
#include "rb-error.h"

/* ZIP record signatures and sizes (APPNOTE.TXT). */
#define SIG_LOCAL        0x04034b50u
#define SIG_CENTRAL      0x02014b50u
#define SIG_END          0x06054b50u
#define SIG_END64        0x06064b50u
#define SIG_END64_LOC    0x07064b50u
#define LOCAL_LEN        30
#define CENTRAL_LEN      46
#define END_LEN          22
#define END64_LEN        56
#define END64_LOC_LEN    20

/* General purpose flags: traditional, strong, central-directory encryption. */
#define ENCRYPTION_FLAGS (0x0001 | 0x0040 | 0x2000)
#define METHOD_STORED    0
#define METHOD_DEFLATE   8

/* ZIP allows 65535 bytes of archive comment, but libarchive looks for the
 * end record in the last 16 KiB only, and bundles have no use for long
 * comments. */
#define MAX_COMMENT_LEN  4096

/* No bundle needs longer entry names; bounds the index's memory. */
#define MAX_NAME_LEN     1024

typedef struct _RbArchiveEntry {
  char     *name;
  guint64   size;        /* uncompressed, as declared */
  guint64   offset;      /* of the local header */
  guint64   data_start;  /* of the compressed data, after the local header */
  guint64   data_end;    /* end of the compressed data */
  gboolean  is_dir;
} Entry;

struct _RbArchive {
  RbArchiveSource *source;
  char       *path;      /* for messages */
  guint64     file_size;
  GPtrArray  *entries;   /* Entry, central-directory order, directories too */
  GPtrArray  *by_offset; /* the same entries in file order (libarchive's) */
  GHashTable *by_name;   /* name -> Entry */
  const Entry *non_ascii; /* the first entry whose name is not ASCII */
};

static void
entry_free (Entry *entry)
{
  g_free (entry->name);
  g_free (entry);
}

static guint16
le16 (const guint8 *p)
{
  return (guint16) (p[0] | (p[1] << 8));
}

static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | ((guint32) p[1] << 8) | ((guint32) p[2] << 16) | ((guint32) p[3] << 24);
}

static guint64
le64 (const guint8 *p)
{
  return (guint64) le32 (p) | ((guint64) le32 (p + 4) << 32);
}

static gboolean
invalid (RbArchive   *self,
         GError     **error,
         const char  *format,
         ...) G_GNUC_PRINTF (3, 4);

static gboolean
invalid (RbArchive   *self,
         GError     **error,
         const char  *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
               "“%s” is not a valid bundle archive: %s", self->path, message);
  return FALSE;
}

/* Reads exactly @len bytes at @offset; running into the end of the file
 * means the archive is truncated or lies about its layout. */
static gboolean
read_at (RbArchive  *self,
         guint64     offset,
         void       *buffer,
         gsize       len,
         GError    **error)
{
  guint8 *p = buffer;

  if (offset > self->file_size || len > self->file_size - offset)
    return invalid (self, error, "a record at offset %" G_GUINT64_FORMAT " lies beyond the end of the file "
                    "(truncated?)", offset);
  while (len > 0)
    {
      gssize n = rb_archive_source_read (self->source, offset, p, len);

      if (n <= 0)
        {
          int saved = errno;
          g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                       "Could not read “%s”: %s", self->path,
                       n < 0 ? g_strerror (saved) : "unexpected end of file (did it shrink?)");
          return FALSE;
        }
      p += n;
      offset += (guint64) n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Why @name is not a relative, clean, UTF-8 path, or NULL if it is. */
static const char *
name_problem (const char *name)
{
  g_auto(GStrv) parts = NULL;

  if (*name == '\0')
    return "the name is empty";
  if (strlen (name) > MAX_NAME_LEN)
    return "the name is too long";
  if (!g_utf8_validate (name, -1, NULL))
    return "the name is not UTF-8";
  if (*name == '/')
    return "an absolute path";
  if (strchr (name, '\\') != NULL)
    return "the name has a backslash";
  if (strchr (name, ':') != NULL)
    return "the name has a colon";
  parts = g_strsplit (name, "/", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      /* A trailing slash (directory entry) leaves one empty last part. */
      if (parts[i][0] == '\0' && parts[i + 1] == NULL && i > 0)
        break;
      if (parts[i][0] == '\0' || strcmp (parts[i], ".") == 0 || strcmp (parts[i], "..") == 0)
        return "an empty, “.” or “..” path component";
      for (const char *p = parts[i]; *p != '\0'; p = g_utf8_next_char (p))
        {
          gunichar c = g_utf8_get_char (p);
          if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
            return "the name has a control character";
        }
    }
  return NULL;
}

gboolean
rb_archive_name_is_safe (const char *name)
{
  return name != NULL && name_problem (name) == NULL;
}

/* ------------------------------------------------------------------ */
/* Our own reading of the central directory                            */

typedef struct {
  guint64 count;
  guint64 cd_offset;
  guint64 cd_size;
} EndRecord;

/* The ZIP64 end record, found through the locator at @loc_pos. The
 * classic end record keeps either the 0xff.. placeholders or the same
 * values, so that a reader that trusts it sees the same directory. */
static gboolean
read_zip64_end_record (RbArchive  *self,
                       guint64     loc_pos,
                       EndRecord  *end,
                       guint64    *cd_end,
                       GError    **error)
{
  guint8 loc[END64_LOC_LEN], rec[END64_LEN];
  guint64 rec_pos, count, cd_size, cd_offset;

  if (!read_at (self, loc_pos, loc, sizeof loc, error))
    return FALSE;
  if (le32 (loc + 4) != 0 || le32 (loc + 16) != 1)
    return invalid (self, error, "multi-volume archives are not supported");
  rec_pos = le64 (loc + 8);
  /* The record (with its extensible data, at most what libarchive reads)
   * ends right at the locator. */
  if (rec_pos > loc_pos || loc_pos - rec_pos < END64_LEN || loc_pos - rec_pos > 16 * 1024)
    return invalid (self, error, "bad ZIP64 end of central directory locator");
  if (!read_at (self, rec_pos, rec, sizeof rec, error))
    return FALSE;
  if (le32 (rec) != SIG_END64 || le64 (rec + 4) != loc_pos - rec_pos - 12)
    return invalid (self, error, "bad ZIP64 end of central directory record");
  if (le32 (rec + 16) != 0 || le32 (rec + 20) != 0 || le64 (rec + 24) != le64 (rec + 32))
    return invalid (self, error, "multi-volume archives are not supported");
  count = le64 (rec + 32);
  cd_size = le64 (rec + 40);
  cd_offset = le64 (rec + 48);
  if ((end->count != 0xffff && end->count != count) ||
      (end->cd_size != 0xffffffff && end->cd_size != cd_size) ||
      (end->cd_offset != 0xffffffff && end->cd_offset != cd_offset))
    return invalid (self, error, "the ZIP64 and the classic end of central directory records disagree");
  end->count = count;
  end->cd_size = cd_size;
  end->cd_offset = cd_offset;
  *cd_end = rec_pos;
  return TRUE;
}

/* libarchive takes the last end record signature in the file's tail at a
 * place where a whole end record fits: one in the comment after the record
 * at @record would make it read another directory than ours. Only those
 * places count: not the record's own fields (a central directory at offset
 * 0x06054b50 spells the signature), nor the last 21 bytes. */
static gboolean
later_end_signature (const guint8 *tail,
                     gsize         tail_len,
                     gsize         record)
{
  for (gsize q = record + 1; q + END_LEN <= tail_len; q++)
    if (le32 (tail + q) == SIG_END)
      return TRUE;
  return FALSE;
}

static gboolean
read_end_record (RbArchive  *self,
                 guint       max_entries,
                 EndRecord  *end,
                 GError    **error)
{
  /* Room for the longest comment ZIP allows, so that one that is too
   * long gets its own message. */
  gsize tail_len = (gsize) MIN (self->file_size, (guint64) END_LEN + G_MAXUINT16);
  g_autofree guint8 *tail = NULL;
  guint64 tail_pos, end_pos, cd_end;
  const guint8 *p = NULL;
  guint8 sig[4];

  if (self->file_size < END_LEN)
    return invalid (self, error, "too short to be a ZIP archive");
  tail_pos = self->file_size - tail_len;
  tail = g_malloc (tail_len);
  if (!read_at (self, tail_pos, tail, tail_len, error))
    return FALSE;
  /* The end record is the last thing in the file, after its comment. */
  for (gsize i = tail_len - END_LEN + 1; i-- > 0;)
    if (le32 (tail + i) == SIG_END && i + END_LEN + le16 (tail + i + 20) == tail_len)
      {
        p = tail + i;
        break;
      }
  if (p == NULL)
    return invalid (self, error, "not a ZIP archive (no end of central directory record at the end)");
  end_pos = tail_pos + (guint64) (p - tail);
  if (le16 (p + 20) > MAX_COMMENT_LEN)
    return invalid (self, error, "the archive comment has %u bytes (at most %u are allowed)",
                    le16 (p + 20), MAX_COMMENT_LEN);
  if (later_end_signature (tail, tail_len, (gsize) (p - tail)))
    return invalid (self, error, "the archive comment holds an end of central directory signature");

  if (le16 (p + 4) != 0 || le16 (p + 6) != 0 || le16 (p + 8) != le16 (p + 10))
    return invalid (self, error, "multi-volume archives are not supported");
  end->count = le16 (p + 10);
  end->cd_size = le32 (p + 12);
  end->cd_offset = le32 (p + 16);
  cd_end = end_pos;

  /* ZIP64: a locator right before the end record points to the real one. */
  if (end_pos >= END64_LOC_LEN)
    {
      if (!read_at (self, end_pos - END64_LOC_LEN, sig, sizeof sig, error))
        return FALSE;
      if (le32 (sig) == SIG_END64_LOC &&
          !read_zip64_end_record (self, end_pos - END64_LOC_LEN, end, &cd_end, error))
        return FALSE;
    }
  if (cd_end == end_pos && (end->count == 0xffff || end->cd_size == 0xffffffff || end->cd_offset == 0xffffffff))
    return invalid (self, error, "ZIP64 values without a ZIP64 end of central directory record");

  if (end->count > max_entries)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                   "“%s” has %" G_GUINT64_FORMAT " entries; the limit is %u", self->path, end->count, max_entries);
      return FALSE;
    }
  /* The central directory ends where the end records begin: nothing
   * hidden in between, and no offset that needs correcting (libarchive
   * would correct it, and read other bytes than we checked). */
  if (end->cd_offset > cd_end || end->cd_size != cd_end - end->cd_offset)
    return invalid (self, error, "the central directory is not where the end record says");
  if (end->cd_size < end->count * CENTRAL_LEN)
    return invalid (self, error, "the central directory is too small for %" G_GUINT64_FORMAT " entries",
                    end->count);
  return TRUE;
}

/* The ZIP64 extra field replaces 0xffffffff sizes and offsets. */
static gboolean
apply_zip64_extra (const guint8 *extra,
                   gsize         len,
                   guint64      *size,
                   guint64      *compressed,
                   guint64      *offset)
{
  while (len >= 4)
    {
      guint16 id = le16 (extra), field_len = le16 (extra + 2);
      const guint8 *q = extra + 4;
      gsize left = field_len;

      if ((gsize) field_len + 4 > len)
        return FALSE;
      if (id == 0x0001)
        {
          guint64 *values[] = { size, compressed, offset };
          for (guint i = 0; i < G_N_ELEMENTS (values); i++)
            {
              if (*values[i] != 0xffffffff)
                continue;
              if (left < 8)
                return FALSE;
              *values[i] = le64 (q);
              q += 8;
              left -= 8;
            }
        }
      extra += 4 + field_len;
      len -= 4 + (gsize) field_len;
    }
  /* libarchive refuses stray bytes after the last field too. */
  return len == 0;
}

/* @shown: the name as rb_names_escape() shows it. */
static gboolean
unsafe (RbArchive   *self,
        GError     **error,
        const char  *shown,
        const char  *why)
{
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH,
               "“%s” has an unsafe entry “%s”: %s", self->path, shown, why);
  return FALSE;
}

/* Checks one central-directory entry at *pos and its local header. */
static gboolean
read_central_entry (RbArchive  *self,
                    guint64    *pos,
                    guint64     cd_end,
                    guint64     cd_offset,
                    guint64    *total,
                    guint64     max_total_size,
                    GError    **error)
{
  guint8 h[CENTRAL_LEN], local[LOCAL_LEN];
  g_autofree guint8 *name_extra = NULL;
  g_autofree guint8 *local_name = NULL;
  g_autofree char *name = NULL;
  g_autofree char *shown = NULL;
  const char *problem;
  guint16 made_by, flags, method, name_len, extra_len, comment_len;
  guint32 external;
  guint64 size, compressed, offset, data_start;
  gboolean is_dir;
  Entry *entry;

  if (cd_end - *pos < CENTRAL_LEN)
    return invalid (self, error, "truncated central directory");
  if (!read_at (self, *pos, h, sizeof h, error))
    return FALSE;
  if (le32 (h) != SIG_CENTRAL)
    return invalid (self, error, "bad central directory entry at offset %" G_GUINT64_FORMAT, *pos);
  made_by = le16 (h + 4);
  flags = le16 (h + 8);
  method = le16 (h + 10);
  compressed = le32 (h + 20);
  size = le32 (h + 24);
  name_len = le16 (h + 28);
  extra_len = le16 (h + 30);
  comment_len = le16 (h + 32);
  external = le32 (h + 38);
  offset = le32 (h + 42);
  if (cd_end - *pos - CENTRAL_LEN < (guint64) name_len + extra_len + comment_len)
    return invalid (self, error, "truncated central directory");

  name_extra = g_malloc ((gsize) name_len + extra_len + 1);
  if (!read_at (self, *pos + CENTRAL_LEN, name_extra, (gsize) name_len + extra_len, error))
    return FALSE;
  *pos += CENTRAL_LEN + (guint64) name_len + extra_len + comment_len;

  shown = rb_names_escape ((const char *) name_extra, name_len, RB_NAMES_SHOWN_MAX);
  if (memchr (name_extra, '\0', name_len) != NULL)
    return unsafe (self, error, shown, "the name has a NUL byte");
  if (name_len > MAX_NAME_LEN)
    return unsafe (self, error, shown, "the name is too long");
  name = g_strndup ((const char *) name_extra, name_len);
  problem = name_problem (name);
  if (problem != NULL)
    return unsafe (self, error, shown, problem);
  if (le16 (h + 34) != 0)
    return invalid (self, error, "“%s” is on another volume", shown);
  if (!apply_zip64_extra (name_extra + name_len, extra_len, &size, &compressed, &offset))
    return invalid (self, error, "“%s” has a malformed extra field", shown);

  /* The entry's type: a trailing slash, the DOS directory bit, or the
   * Unix mode when a Unix system wrote it. */
  is_dir = g_str_has_suffix (name, "/") || (external & 0x10) != 0;
  if ((made_by >> 8) == 3 && (external >> 16) != 0)
    {
      guint32 type = (external >> 16) & S_IFMT;

      if (type == S_IFLNK)
        return unsafe (self, error, shown, "a symbolic link");
      if (type == S_IFDIR)
        is_dir = TRUE;
      else if (type != S_IFREG && type != 0)
        return unsafe (self, error, shown, "a device, FIFO or socket");
    }
  if (is_dir && !g_str_has_suffix (name, "/"))
    return invalid (self, error, "directory entry “%s” has no trailing slash", shown);
  if (is_dir && size != 0)
    return unsafe (self, error, shown, "a directory with data");
  if (flags & ENCRYPTION_FLAGS)
    return invalid (self, error, "“%s” is encrypted", shown);
  if (method != METHOD_STORED && method != METHOD_DEFLATE)
    return invalid (self, error, "“%s” uses compression method %u (only stored and deflate are allowed)",
                    shown, method);
  if (method == METHOD_STORED && compressed != size)
    return invalid (self, error, "“%s” is stored, but its stored and declared sizes differ", shown);
  if (g_hash_table_contains (self->by_name, name))
    return invalid (self, error, "two entries are named “%s”", shown);

  /* The local header must agree: readers that walk local headers
   * (libarchive does) must see the same names as the directory. */
  if (offset >= cd_offset || !read_at (self, offset, local, sizeof local, NULL) || le32 (local) != SIG_LOCAL)
    return invalid (self, error, "“%s” has no local header at offset %" G_GUINT64_FORMAT, shown, offset);
  if (le16 (local + 26) != name_len || le16 (local + 8) != method)
    return invalid (self, error, "the local header of “%s” does not match the central directory", shown);
  /* libarchive takes the flags from the local header. */
  if (le16 (local + 6) & ENCRYPTION_FLAGS)
    return invalid (self, error, "“%s” is encrypted", shown);
  local_name = g_malloc (name_len);
  if (!read_at (self, offset + LOCAL_LEN, local_name, name_len, error))
    return FALSE;
  if (memcmp (local_name, name, name_len) != 0)
    return invalid (self, error, "the local header of “%s” names another file", shown);

  /* offset < cd_offset <= file size: these sums cannot overflow. */
  data_start = offset + LOCAL_LEN + name_len + le16 (local + 28);
  if (data_start > cd_offset || compressed > cd_offset - data_start)
    return invalid (self, error, "the data of “%s” runs into the central directory", shown);
  if (size > max_total_size - *total)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
                   "“%s” declares more than %" G_GUINT64_FORMAT " bytes of content (at “%s”)",
                   self->path, max_total_size, shown);
      return FALSE;
    }
  *total += size;

  entry = g_new0 (Entry, 1);
  entry->name = g_steal_pointer (&name);
  entry->size = size;
  entry->offset = offset;
  entry->data_start = data_start;
  entry->data_end = data_start + compressed;
  entry->is_dir = is_dir;
  g_ptr_array_add (self->entries, entry);
  g_hash_table_insert (self->by_name, entry->name, entry);
  if (self->non_ascii == NULL && !g_str_is_ascii (entry->name))
    self->non_ascii = entry;
  return TRUE;
}

static int
compare_offsets (gconstpointer a,
                 gconstpointer b)
{
  const Entry *x = *(Entry * const *) a, *y = *(Entry * const *) b;
  return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static gboolean
scan_central_directory (RbArchive  *self,
                        guint       max_entries,
                        guint64     max_total_size,
                        GError    **error)
{
  EndRecord end = { 0, 0, 0 };
  guint64 pos, total = 0, first;
  GPtrArray *sorted;

  if (!read_end_record (self, max_entries, &end, error))
    return FALSE;
  pos = end.cd_offset;
  for (guint64 i = 0; i < end.count; i++)
    if (!read_central_entry (self, &pos, end.cd_offset + end.cd_size, end.cd_offset, &total,
                             max_total_size, error))
      return FALSE;
  if (end.count == 0)
    return invalid (self, error, "the archive is empty");
  if (pos != end.cd_offset + end.cd_size)
    return invalid (self, error, "the central directory holds more than the %" G_GUINT64_FORMAT
                    " entries the end record counts", end.count);

  sorted = self->by_offset = g_ptr_array_copy (self->entries, NULL, NULL);
  g_ptr_array_set_free_func (sorted, NULL);   /* the copy shares the entries */
  g_ptr_array_sort (sorted, compare_offsets);

  /* Nothing before the first entry: a file that is also something else
   * (a script, an executable) is not a bundle. */
  first = ((const Entry *) g_ptr_array_index (sorted, 0))->offset;
  if (first != 0)
    return invalid (self, error, "%" G_GUINT64_FORMAT " bytes of data before the first entry", first);

  /* Entries that share bytes are how "zip bombs" multiply their size. */
  for (guint i = 1; i < sorted->len; i++)
    {
      const Entry *prev = g_ptr_array_index (sorted, i - 1), *next = g_ptr_array_index (sorted, i);
      if (prev->data_end > next->offset)
        {
          g_autofree char *first_name = rb_names_shown (prev->name);
          g_autofree char *second_name = rb_names_shown (next->name);
          return invalid (self, error, "entries “%s” and “%s” overlap", first_name, second_name);
        }
    }
  return TRUE;
}

/* Locales with a UTF-8 LC_CTYPE, tried in turn (a test empties the list). */
static const char * const default_utf8_locales[] = { "C.UTF-8", "C.utf8", "en_US.UTF-8", NULL };
static const char * const *utf8_locales = default_utf8_locales;

/*
 * libarchive converts entry names to the character set of LC_CTYPE, so in
 * a thread whose character set is not UTF-8 (a program that never called
 * setlocale() runs in "C") a UTF-8 name would not survive. Such a thread
 * reads names with this locale: its own, LC_CTYPE aside, so that messages
 * formatted meanwhile (g_strerror() keeps them for the whole process) are
 * in its language. *out is (locale_t) 0 when the thread reads UTF-8
 * already; FALSE when no UTF-8 locale is installed.
 */
static gboolean
names_locale_new (locale_t *out)
{
  const char *codeset = nl_langinfo (CODESET);

  *out = (locale_t) 0;
  if (g_ascii_strcasecmp (codeset, "UTF-8") == 0 || g_ascii_strcasecmp (codeset, "utf8") == 0)
    return TRUE;
  for (guint i = 0; utf8_locales[i] != NULL; i++)
    {
      /* duplocale() copies LC_GLOBAL_LOCALE too (glibc, POSIX 2017). */
      locale_t base = duplocale (uselocale ((locale_t) 0));

      if (base == (locale_t) 0)
        return FALSE;
      *out = newlocale (LC_CTYPE_MASK, utf8_locales[i], base);
      if (*out != (locale_t) 0)
        return TRUE;
      freelocale (base);
    }
  return FALSE;
}

/* archive_read_next_header(), with the entry's UTF-8 name and whether it
 * is a link: the calls that convert names, in @names_locale if there is one. */
static int
next_entry (struct archive         *a,
            locale_t                names_locale,
            struct archive_entry  **entry,
            const char            **name,
            gboolean               *is_link)
{
  locale_t saved = names_locale != (locale_t) 0 ? uselocale (names_locale) : (locale_t) 0;
  int rc = archive_read_next_header (a, entry);

  *name = rc == ARCHIVE_OK ? archive_entry_pathname_utf8 (*entry) : NULL;
  *is_link = rc == ARCHIVE_OK && (archive_entry_hardlink (*entry) != NULL || archive_entry_symlink (*entry) != NULL);
  if (names_locale != (locale_t) 0)
    uselocale (saved);
  return rc;
}

/* libarchive reads the central directory and local headers again each
 * time it opens: they must still be the bytes that were checked
 * (rb_archive_source_unchanged()). */
static gboolean
file_unchanged (RbArchive  *self,
                GError    **error)
{
  if (!rb_archive_source_unchanged (self->source))
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "Bundle “%s” changed since it was opened", self->path);
      return FALSE;
    }
  return TRUE;
}

/* After archive_read_next_header(), libarchive stands at the entry's data:
 * where the check found it, unless the file changed (within the times'
 * resolution) or libarchive reads the layout otherwise than we do.
 * (archive_read_header_position() is of no use here: the seekable reader
 * gives the position before it seeks to the local header.) */
static gboolean
at_checked_data (RbArchive       *self,
                 struct archive  *a,
                 const Entry     *entry,
                 GError         **error)
{
  la_int64_t position = archive_filter_bytes (a, -1);

  if (position < 0 || (guint64) position != entry->data_start)
    {
      g_autofree char *shown = rb_names_shown (entry->name);
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
                   "Bundle “%s” changed since it was opened (libarchive finds the data of “%s” at offset %"
                   G_GINT64_FORMAT ", not %" G_GUINT64_FORMAT ")",
                   self->path, shown, (gint64) position, entry->data_start);
      return FALSE;
    }
  return TRUE;
}

/* libarchive's last error (which may quote the archive) as INVALID_ARCHIVE,
 * after @context unless it is NULL. */
static void
libarchive_error (RbArchive       *self,
                  struct archive  *a,
                  const char      *context,
                  const char      *fallback,
                  GError         **error)
{
  g_autofree char *shown = rb_names_shown (archive_error_string (a) ? archive_error_string (a) : fallback);

  if (context != NULL)
    invalid (self, error, "%s: %s", context, shown);
  else
    invalid (self, error, "%s", shown);
}

static void
close_reader (struct archive *a,
              locale_t        names_locale)
{
  archive_read_free (a);
  if (names_locale != (locale_t) 0)
    freelocale (names_locale);
}

/* A libarchive reader over our file; *names_locale is for next_entry(),
 * and close_reader() frees it. */
static struct archive *
open_reader (RbArchive  *self,
             locale_t   *names_locale,
             GError    **error)
{
  struct archive *a;

  if (!file_unchanged (self, error))
    return NULL;
  if (!names_locale_new (names_locale) && self->non_ascii != NULL)
    {
      g_autofree char *shown = rb_names_shown (self->non_ascii->name);
      invalid (self, error, "the name of entry “%s” is not ASCII, and no UTF-8 locale (%s) is installed to read it",
               shown, default_utf8_locales[0]);
      return NULL;
    }
  a = archive_read_new ();
  /* Only the central-directory reader: it sees what we checked. */
  archive_read_support_format_zip_seekable (a);
  rb_archive_source_attach (self->source, a);
  if (archive_read_open1 (a) != ARCHIVE_OK)
    {
      libarchive_error (self, a, NULL, "unreadable", error);
      close_reader (a, *names_locale);
      return NULL;
    }
  return a;
}

/*
 * Whether libarchive's name for an entry is the name we checked. It is
 * not always the same bytes: libarchive composes the names of entries
 * flagged UTF-8 into Unicode NFC as it reads them (names without the flag
 * pass as they are), so a name in NFD, as macOS writes them, comes out
 * composed. Such a name is the same name, canonically equivalent: entries
 * are read by their place in the file, and only the checked bytes are
 * ever used to name them.
 */
static gboolean
names_match (const char *seen,
             const char *checked)
{
  g_autofree char *seen_nfc = NULL;
  g_autofree char *checked_nfc = NULL;

  if (seen == NULL)
    return FALSE;
  if (strcmp (seen, checked) == 0)
    return TRUE;
  if (!g_utf8_validate (seen, -1, NULL) || !g_utf8_validate (checked, -1, NULL))
    return FALSE;
  seen_nfc = g_utf8_normalize (seen, -1, G_NORMALIZE_NFC);
  checked_nfc = g_utf8_normalize (checked, -1, G_NORMALIZE_NFC);
  return seen_nfc != NULL && checked_nfc != NULL && strcmp (seen_nfc, checked_nfc) == 0;
}

/* An entry name for a message where another one may look the same:
 * escaped down to ASCII. */
static char *
ascii_shown_name (const char *name)
{
  return rb_names_escape_ascii (name, -1, RB_NAMES_SHOWN_MAX);
}

/* libarchive must hand out exactly the entries we checked, in file
 * order (its central-directory reader sorts them by offset), with the
 * same names (see names_match()) and types: what we validated is what it
 * reads. */
static gboolean
cross_check (RbArchive  *self,
             GError    **error)
{
  locale_t names_locale;
  struct archive *a = open_reader (self, &names_locale, error);
  struct archive_entry *entry;
  const char *name;
  gboolean ok = FALSE, is_link;
  guint seen = 0;
  int rc;

  if (a == NULL)
    return FALSE;
  while ((rc = next_entry (a, names_locale, &entry, &name, &is_link)) == ARCHIVE_OK)
    {
      const Entry *expected = seen < self->by_offset->len ? g_ptr_array_index (self->by_offset, seen) : NULL;
      mode_t type = archive_entry_filetype (entry);

      if (expected == NULL || !names_match (name, expected->name))
        {
          g_autofree char *seen_name = name ? ascii_shown_name (name) : g_strdup ("(unreadable)");
          g_autofree char *shown = expected ? ascii_shown_name (expected->name) : NULL;

          if (shown != NULL)
            invalid (self, error, "libarchive sees entry “%s” where the central directory has “%s”", seen_name, shown);
          else
            invalid (self, error, "libarchive sees entry “%s” where the central directory has none", seen_name);
          goto out;
        }
      if (is_link || type != (expected->is_dir ? AE_IFDIR : AE_IFREG))
        {
          g_autofree char *shown = rb_names_shown (expected->name);
          unsafe (self, error, shown, "not a regular file or directory");
          goto out;
        }
      if (!at_checked_data (self, a, expected, error))
        goto out;
      seen++;
    }
  if (rc != ARCHIVE_EOF)
    {
      libarchive_error (self, a, NULL, "unreadable entry", error);
      goto out;
    }
  if (seen != self->by_offset->len)
    {
      invalid (self, error, "libarchive sees %u of %u entries", seen, self->by_offset->len);
      goto out;
    }
  ok = TRUE;

out:
  close_reader (a, names_locale);
  return ok;
}

void
rb_archive_free (RbArchive *self)
{
  if (self == NULL)
    return;
  g_clear_pointer (&self->source, rb_archive_source_free);
  g_free (self->path);
  g_clear_pointer (&self->by_name, g_hash_table_unref);
  g_clear_pointer (&self->by_offset, g_ptr_array_unref);
  g_clear_pointer (&self->entries, g_ptr_array_unref);
  g_free (self);
}

static RbArchive *
archive_new (char *path)
{
  RbArchive *self = g_new0 (RbArchive, 1);

  self->path = path;
  self->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  self->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  return self;
}

static RbArchive *
archive_check (RbArchive  *self,
               guint       max_entries,
               guint64     max_total_size,
               GError    **error)
{
  g_autoptr(RbArchive) owned = self;

  self->file_size = rb_archive_source_get_size (self->source);
  if (!scan_central_directory (self, max_entries, max_total_size, error) ||
      !cross_check (self, error))
    return NULL;
  return g_steal_pointer (&owned);
}

RbArchive *
rb_archive_open (const char  *path,
                 guint        max_entries,
                 guint64      max_total_size,
                 GError     **error)
{
  g_autoptr(RbArchive) self = archive_new (rb_names_escape (path, -1, G_MAXSIZE));

  self->source = rb_archive_source_open_file (path);
  if (self->source == NULL)
    {
      int saved = errno;
      if (saved != 0)
        g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                     "Could not open bundle “%s”: %s", self->path, g_strerror (saved));
      else
        g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND,
                     "Bundle “%s” is not a regular file", self->path);
      return NULL;
    }
  return archive_check (g_steal_pointer (&self), max_entries, max_total_size, error);
}

RbArchive *
rb_archive_open_bytes (GBytes      *bytes,
                       const char  *name,
                       guint        max_entries,
                       guint64      max_total_size,
                       GError     **error)
{
  RbArchive *self = archive_new (g_strdup (name));

  self->source = rb_archive_source_new_bytes (bytes);
  return archive_check (self, max_entries, max_total_size, error);
}

GStrv
rb_archive_list_files (RbArchive *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < self->entries->len; i++)
    {
      const Entry *entry = g_ptr_array_index (self->entries, i);
      if (!entry->is_dir)
        g_strv_builder_add (builder, entry->name);
    }
  return g_strv_builder_end (builder);
}

static const Entry *
lookup_file (RbArchive  *self,
             const char *name)
{
  const Entry *entry = name != NULL ? g_hash_table_lookup (self->by_name, name) : NULL;
  return entry != NULL && !entry->is_dir ? entry : NULL;
}

gboolean
rb_archive_has_file (RbArchive  *self,
                     const char *name)
{
  return lookup_file (self, name) != NULL;
}

guint64
rb_archive_get_size (RbArchive  *self,
                     const char *name)
{
  const Entry *entry = lookup_file (self, name);
  return entry != NULL ? entry->size : 0;
}

static gboolean
too_large (RbArchive   *self,
           const char  *shown,
           guint64      max_size,
           GError     **error)
{
  g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE,
               "“%s” in “%s” is larger than %" G_GUINT64_FORMAT " bytes", shown, self->path, max_size);
  return FALSE;
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
  const Entry *file = lookup_file (self, name);
  g_autofree char *shown = rb_names_shown (name != NULL ? name : "");
  locale_t names_locale;
  struct archive *a;
  struct archive_entry *entry;
  const char *entry_name;
  gboolean ok = FALSE, is_link;
  guint64 total = 0;
  guint index = 0;
  int rc;

  if (file == NULL)
    {
      g_set_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND,
                   "“%s” has no file “%s”", self->path, shown);
      return FALSE;
    }
  if (file->size > max_size)
    return too_large (self, shown, max_size, error);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  a = open_reader (self, &names_locale, error);
  if (a == NULL)
    return FALSE;

  while ((rc = next_entry (a, names_locale, &entry, &entry_name, &is_link)) == ARCHIVE_OK)
    {
      const void *block;
      size_t size;
      la_int64_t offset;

      /* By its place: names that look alike are not the same entry. */
      if (index >= self->by_offset->len || g_ptr_array_index (self->by_offset, index++) != file)
        continue;
      if (!names_match (entry_name, file->name))
        break;
      if (!at_checked_data (self, a, file, error))
        goto out;
      while ((rc = archive_read_data_block (a, &block, &size, &offset)) == ARCHIVE_OK)
        {
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            goto out;
          /* Counted on what comes out, whatever the archive declared. */
          total += size;
          if (total > max_size || total > file->size)
            {
              if (total > max_size)
                too_large (self, shown, max_size, error);
              else
                invalid (self, error, "“%s” holds more than its declared %" G_GUINT64_FORMAT " bytes",
                         shown, file->size);
              goto out;
            }
          if (size > 0 && !func (block, size, user_data, error))
            goto out;
        }
      if (rc != ARCHIVE_EOF)
        {
          g_autofree char *context = g_strdup_printf ("could not read “%s”", shown);
          libarchive_error (self, a, context, "unknown error", error);
          goto out;
        }
      if (total != file->size)
        {
          invalid (self, error, "“%s” holds %" G_GUINT64_FORMAT " bytes, not the declared %" G_GUINT64_FORMAT,
                   shown, total, file->size);
          goto out;
        }
      /* Nor during the read. */
      ok = file_unchanged (self, error);
      goto out;
    }
  {
    g_autofree char *context = g_strdup_printf ("could not find “%s” again", shown);
    libarchive_error (self, a, context, "entry missing", error);
  }

out:
  close_reader (a, names_locale);
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
                 guint64      max_size,
                 GError     **error)
{
  g_autoptr(GByteArray) buffer = NULL;
  guint64 limit = MIN (max_size, RB_ARCHIVE_MAX_READ_SIZE);
  guint64 size = rb_archive_get_size (self, name);

  if (size > limit)
    {
      g_autofree char *shown = rb_names_shown (name);
      too_large (self, shown, limit, error);
      return NULL;
    }
  /* size <= limit: no truncation; the stream stops at the limit too. */
  buffer = g_byte_array_sized_new ((guint) size);
  if (!rb_archive_stream (self, name, limit, NULL, append_chunk, buffer, error))
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&buffer));
}

/* ---- test seams (rb-archive-test-private.h) ---- */

gboolean
rb_archive_test_later_end_signature (const guint8 *tail,
                                     gsize         tail_len,
                                     gsize         record)
{
  return later_end_signature (tail, tail_len, record);
}

gboolean
rb_archive_test_names_locale_new (locale_t *out)
{
  return names_locale_new (out);
}

const char * const *
rb_archive_test_set_utf8_locales (const char * const *locales)
{
  const char * const *previous = utf8_locales;

  utf8_locales = locales != NULL ? locales : default_utf8_locales;
  return previous;
}

gboolean
rb_archive_test_cross_check (RbArchive  *self,
                             GError    **error)
{
  return cross_check (self, error);
}

GPtrArray *
rb_archive_test_get_file_order (RbArchive *self)
{
  return self->by_offset;
}

RbArchiveEntry *
rb_archive_test_entry_new (const char *name)
{
  Entry *entry = g_new0 (Entry, 1);

  entry->name = g_strdup (name);
  return entry;
}

void
rb_archive_test_entry_free (RbArchiveEntry *entry)
{
  entry_free (entry);
}

const char *
rb_archive_test_entry_get_name (const RbArchiveEntry *entry)
{
  return entry->name;
}

char *
rb_archive_test_entry_swap_name (RbArchiveEntry *entry,
                                 char           *name)
{
  char *previous = entry->name;

  entry->name = name;
  return previous;
}

gboolean
rb_archive_test_restat (RbArchive *self)
{
  if (!rb_archive_source_restat (self->source))
    return FALSE;
  self->file_size = rb_archive_source_get_size (self->source);
  return TRUE;
}
