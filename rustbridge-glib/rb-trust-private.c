/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rb-names-private.h"
#include "rb-trust-private.h"

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/* Reads @path if it is a regular file of at most RB_TRUST_MAX_KEY_FILE
 * bytes without a NUL; NULL (with a debug message) otherwise. */
static char *
read_key_file (const char *path,
               const char *shown)
{
  char buf[RB_TRUST_MAX_KEY_FILE + 1];
  gsize len = 0;
  struct stat st;
  int fd;

  /* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    {
      int saved = errno;
      g_debug ("Trusted keys: skipping “%s”: %s", shown, g_strerror (saved));
      return NULL;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_size > RB_TRUST_MAX_KEY_FILE)
    {
      g_debug ("Trusted keys: skipping “%s”: not a regular file of at most %d bytes", shown,
               RB_TRUST_MAX_KEY_FILE);
      close (fd);
      return NULL;
    }
  /* Read one byte more than allowed: a file that grew is refused too. */
  while (len < sizeof buf)
    {
      ssize_t n = read (fd, buf + len, sizeof buf - len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_debug ("Trusted keys: skipping “%s”: %s", shown, g_strerror (saved));
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;
      len += (gsize) n;
    }
  close (fd);
  if (len > RB_TRUST_MAX_KEY_FILE || memchr (buf, '\0', len) != NULL)
    {
      g_debug ("Trusted keys: skipping “%s”: too large or not text", shown);
      return NULL;
    }
  return g_strndup (buf, len);
}

gboolean
rb_trust_find_in_dir (const char    *dir,
                      const guint8   key_id[RB_MINISIGN_KEY_ID_LEN],
                      RbMinisignKey *key,
                      char         **found_path)
{
  g_autoptr(GDir) d = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *shown_dir = rb_names_escape (dir, -1, G_MAXSIZE);
  const char *name;
  guint read = 0;

  d = g_dir_open (dir, 0, &error);
  if (d == NULL)
    {
      g_debug ("Trusted keys: cannot read “%s”: %s", shown_dir, error->message);
      return FALSE;
    }
  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      if (++read > RB_TRUST_MAX_DIR_ENTRIES)
        {
          g_debug ("Trusted keys: “%s” has more than %d entries; the rest are ignored", shown_dir,
                   RB_TRUST_MAX_DIR_ENTRIES);
          break;
        }
      if (g_str_has_suffix (name, ".pub"))
        g_ptr_array_add (names, g_strdup (name));
    }
  /* Sorted: which file is found does not depend on the directory's order. */
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      g_autofree char *shown = rb_names_escape (path, -1, G_MAXSIZE);
      g_autofree char *text = read_key_file (path, shown);
      g_autoptr(GError) parse_error = NULL;
      RbMinisignKey candidate;

      if (text == NULL)
        continue;
      if (!rb_minisign_key_parse (text, shown, &candidate, &parse_error))
        {
          g_debug ("Trusted keys: skipping “%s”: %s", shown, parse_error->message);
          continue;
        }
      if (memcmp (candidate.key_id, key_id, RB_MINISIGN_KEY_ID_LEN) == 0)
        {
          *key = candidate;
          if (found_path != NULL)
            *found_path = g_steal_pointer (&path);
          return TRUE;
        }
    }
  return FALSE;
}

GStrv
rb_trust_default_dirs (void)
{
  const char * const *data_dirs = g_get_system_data_dirs ();
  GPtrArray *dirs = g_ptr_array_new ();

  g_ptr_array_add (dirs, g_build_filename (g_get_user_config_dir (), "rustbridge", "trusted-keys", NULL));
  for (gsize i = 0; data_dirs[i] != NULL; i++)
    g_ptr_array_add (dirs, g_build_filename (data_dirs[i], "rustbridge", "trusted-keys", NULL));
  g_ptr_array_add (dirs, NULL);
  return (GStrv) g_ptr_array_free (dirs, FALSE);
}

gboolean
rb_trust_find (const char    *dir,
               const guint8   key_id[RB_MINISIGN_KEY_ID_LEN],
               RbMinisignKey *key,
               char         **found_path)
{
  g_auto(GStrv) defaults = NULL;

  if (dir != NULL && rb_trust_find_in_dir (dir, key_id, key, found_path))
    return TRUE;
  defaults = rb_trust_default_dirs ();
  for (gsize i = 0; defaults[i] != NULL; i++)
    if (rb_trust_find_in_dir (defaults[i], key_id, key, found_path))
      return TRUE;
  return FALSE;
}
