/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * libFuzzer target: the ZIP layer of bundles (rb-archive-private.c). The
 * input is written to a file as it is and opened with the bundle's
 * default limits; every entry is then read whole and streamed.
 *
 * Checks: no crash, leak, hang or WARNING/CRITICAL; failures set an
 * RB_BUNDLE_ERROR; every listed name is safe and found by has_file;
 * reading and streaming an entry agree (same success, same bytes, never
 * more than the read limit); shown names are UTF-8 and short.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rustbridge-glib.h>

#include "rb-archive-private.h"
#include "rb-names-private.h"
#include "fuzz-util.h"

/* As RbBundle's defaults; entries are read up to 16 MiB (a schema's
 * limit) so that a deflate bomb in a small input stays quick. */
#define MAX_ENTRIES     10000
#define MAX_TOTAL_SIZE  (G_GUINT64_CONSTANT (4) << 30)
#define MAX_READ        (16 * 1024 * 1024)
#define MAX_ENTRIES_READ 64

typedef struct {
  GChecksum *checksum;
  gsize      total;
} StreamState;

static gboolean
stream_chunk (const guint8  *data,
              gsize          len,
              gpointer       user_data,
              GError       **error)
{
  StreamState *state = user_data;

  g_checksum_update (state->checksum, data, (gssize) len);
  state->total += len;
  return TRUE;
}

static void
check_shown (const char *text,
             gssize      len,
             gsize       max_bytes)
{
  g_autofree char *shown = rb_names_escape (text, len, max_bytes);

  /* At most @max_bytes, then an ellipsis. */
  if (!g_utf8_validate (shown, -1, NULL) || strlen (shown) > max_bytes + strlen ("…"))
    {
      fprintf (stderr, "rb_names_escape (max %zu) gave %zu bytes or non-UTF-8: %s\n",
               max_bytes, strlen (shown), shown);
      abort ();
    }
}

static void
check_entry (RbArchive  *archive,
             const char *name)
{
  g_autoptr(GError) read_error = NULL;
  g_autoptr(GError) stream_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  StreamState state = { checksum, 0 };
  g_autofree char *shown = rb_names_shown (name);
  guint64 declared;
  gboolean streamed;

  if (!rb_archive_name_is_safe (name) || !rb_archive_has_file (archive, name))
    {
      fprintf (stderr, "listed entry “%s” is unsafe or not found by has_file\n", shown);
      abort ();
    }
  check_shown (name, -1, 16);
  declared = rb_archive_get_size (archive, name);

  bytes = rb_archive_read (archive, name, MAX_READ, &read_error);
  if (bytes == NULL)
    fuzz_check_error (read_error, RB_BUNDLE_ERROR, "rb_archive_read");

  streamed = rb_archive_stream (archive, name, MAX_READ, NULL, stream_chunk, &state, &stream_error);
  if (!streamed)
    fuzz_check_error (stream_error, RB_BUNDLE_ERROR, "rb_archive_stream");

  if ((bytes != NULL) != streamed)
    {
      fprintf (stderr, "entry “%s”: read %s, stream %s (%s)\n", shown,
               bytes != NULL ? "succeeded" : "failed", streamed ? "succeeded" : "failed",
               read_error != NULL ? read_error->message : stream_error->message);
      abort ();
    }
  if (bytes != NULL)
    {
      gsize size;
      gconstpointer data = g_bytes_get_data (bytes, &size);
      g_autofree char *read_hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, size);

      if (size != state.total || strcmp (read_hash, g_checksum_get_string (checksum)) != 0 ||
          size > MAX_READ)
        {
          fprintf (stderr, "entry “%s”: read %zu bytes, streamed %zu bytes (declared %" G_GUINT64_FORMAT "), "
                   "or they differ\n", shown, size, state.total, declared);
          abort ();
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbArchive) archive = NULL;
  g_auto(GStrv) files = NULL;
  const char *path;

  fuzz_setup ();
  check_shown ((const char *) data, (gssize) MIN (size, 512), 40);

  path = fuzz_write_file ("fuzz.rbp", data, size);
  archive = rb_archive_open (path, MAX_ENTRIES, MAX_TOTAL_SIZE, &error);
  if (archive == NULL)
    {
      fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_archive_open");
      return 0;
    }

  files = rb_archive_list_files (archive);
  for (guint i = 0; files[i] != NULL && i < MAX_ENTRIES_READ; i++)
    check_entry (archive, files[i]);

  if (rb_archive_has_file (archive, "no/such/entry") ||
      rb_archive_get_size (archive, "no/such/entry") != 0)
    abort ();
  {
    g_autoptr(GBytes) none = rb_archive_read (archive, "no/such/entry", MAX_READ, &error);
    if (none != NULL)
      abort ();
    fuzz_check_error (error, RB_BUNDLE_ERROR, "rb_archive_read of a missing entry");
  }
  return 0;
}
