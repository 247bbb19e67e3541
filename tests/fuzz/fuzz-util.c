/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "fuzz-util.h"

static char *fuzz_dir;
static char *fuzz_path;

static void
remove_dir (void)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (fuzz_dir == NULL)
    return;
  dir = g_dir_open (fuzz_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fuzz_dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (fuzz_dir);
}

void
fuzz_setup (void)
{
  g_autoptr(GError) error = NULL;

  if (fuzz_dir != NULL)
    return;
  g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
  fuzz_dir = g_dir_make_tmp ("rb-fuzz-XXXXXX", &error);
  if (fuzz_dir == NULL)
    {
      fprintf (stderr, "cannot make a temporary directory: %s\n", error->message);
      abort ();
    }
  atexit (remove_dir);
}

void
fuzz_check_error (const GError *error,
                  GQuark        domain,
                  const char   *what)
{
  if (error == NULL)
    {
      fprintf (stderr, "%s failed without setting an error\n", what);
      abort ();
    }
  if (error->domain != domain)
    {
      fprintf (stderr, "%s: error in domain %s, expected %s: %s\n", what,
               g_quark_to_string (error->domain), g_quark_to_string (domain), error->message);
      abort ();
    }
  if (g_getenv ("RB_FUZZ_VERBOSE") != NULL)
    fprintf (stderr, "%s: %s\n", what, error->message);
  if (error->message == NULL || error->message[0] == '\0' ||
      !g_utf8_validate (error->message, -1, NULL))
    {
      fprintf (stderr, "%s: empty or non-UTF-8 error message\n", what);
      abort ();
    }
}

const char *
fuzz_write_file (const char    *name,
                 const uint8_t *data,
                 size_t         size)
{
  g_autoptr(GError) error = NULL;

  fuzz_setup ();
  g_free (fuzz_path);
  fuzz_path = g_build_filename (fuzz_dir, name, NULL);
  /* A new file each time: GLib writes in place without
   * G_FILE_SET_CONTENTS_CONSISTENT, and a shorter input must not keep the
   * tail of the one before. No fsync(): the file lives for one input. */
  g_unlink (fuzz_path);
  if (!g_file_set_contents_full (fuzz_path, (const char *) data, (gssize) size,
                                 G_FILE_SET_CONTENTS_NONE, 0600, &error))
    {
      fprintf (stderr, "cannot write %s: %s\n", fuzz_path, error->message);
      abort ();
    }
  return fuzz_path;
}

gsize
fuzz_split (const uint8_t  *data,
            size_t          size,
            const uint8_t **parts,
            size_t         *lens,
            gsize           max)
{
  gsize n = 0;
  const uint8_t *p = data;
  const uint8_t *end = data + size;

  while (n + 1 < max)
    {
      const uint8_t *sep = memmem (p, (size_t) (end - p), FUZZ_SEPARATOR, FUZZ_SEPARATOR_LEN);

      if (sep == NULL)
        break;
      parts[n] = p;
      lens[n] = (size_t) (sep - p);
      n++;
      p = sep + FUZZ_SEPARATOR_LEN;
    }
  parts[n] = p;
  lens[n] = (size_t) (end - p);
  return n + 1;
}
