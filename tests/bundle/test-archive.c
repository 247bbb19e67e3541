/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbArchive from the inside: rb-archive-private.c is compiled into this
 * test, so that its helpers and the states no archive can be made to
 * reach from outside (a checked entry libarchive then sees otherwise) are
 * tested directly. Archives are made by tools/rb-make-bundle.py.
 */
#include "rb-archive-private.c"

#include <glib/gstdio.h>

#include "bundle-test-util.h"
#include "rb-test-util.h"

static char *workdir;

static char *
make (const char *name,
      ...)
{
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  const char *arg;
  va_list args;

  va_start (args, name);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (extra, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (extra, NULL);
  return rb_test_make_bundle (workdir, name, NULL, NULL, (const char * const *) extra->pdata);
}

static RbArchive *
open_ok (const char *path,
         guint64     max_total_size)
{
  g_autoptr(GError) error = NULL;
  RbArchive *archive = rb_archive_open (path, 100, max_total_size, &error);

  g_assert_no_error (error);
  g_assert_nonnull (archive);
  return archive;
}

static void
assert_message (const GError *error,
                const char   *needle)
{
  g_assert_nonnull (error);
  if (strstr (error->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", error->message, needle);
}

/* ---- tests ---- */

/* A read never allocates for more than the declared size, and never for
 * more than RB_ARCHIVE_MAX_READ_SIZE whatever the caller allows: a
 * GByteArray cannot hold 4 GiB, and a declared size is only a claim. */
static void
test_read_cap (void)
{
  g_autofree char *path = make ("declared-4g.rbp", "--zip-edit", "manifest.json:zip64",
                                "--zip-edit", "manifest.json:usize=4294967296", NULL);
  g_autoptr(RbArchive) archive = open_ok (path, G_GUINT64_CONSTANT (1) << 40);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) sbom = NULL;

  g_assert_cmpuint (rb_archive_get_size (archive, "manifest.json"), ==, G_GUINT64_CONSTANT (1) << 32);
  bytes = rb_archive_read (archive, "manifest.json", G_MAXUINT64, &error);
  g_assert_null (bytes);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  assert_message (error, "“manifest.json” in");
  assert_message (error, "is larger than 268435456 bytes");
  g_clear_error (&error);

  /* Below the cap, the caller's limit counts. */
  sbom = rb_archive_read (archive, "sbom/sbom.cdx.json", 10, &error);
  g_assert_null (sbom);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  assert_message (error, "is larger than 10 bytes");
  g_clear_error (&error);
  sbom = rb_archive_read (archive, "sbom/sbom.cdx.json", G_MAXUINT64, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (sbom), ==, 25);
}

/* Writes @from's bytes over @to, in place. */
static void
overwrite (const char *to,
           const char *from)
{
  g_autofree char *data = NULL;
  gsize len;
  FILE *f;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  f = fopen (to, "r+b");
  g_assert_nonnull (f);
  g_assert_cmpuint (fwrite (data, 1, len, f), ==, len);
  g_assert_cmpint (ftruncate (fileno (f), (off_t) len), ==, 0);
  g_assert_cmpint (fclose (f), ==, 0);
}

/* A rewrite the file's times do not show (same tick, or times set back)
 * is still caught when libarchive finds an entry elsewhere than the
 * check did. */
static void
test_changed_layout_same_times (void)
{
  g_autofree char *path = make ("layout.rbp", NULL);
  g_autofree char *other = make ("layout-other.rbp", "--name", "another-plugin-name", NULL);
  g_autoptr(RbArchive) archive = open_ok (path, G_MAXUINT64);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  overwrite (path, other);
  /* As if nothing had changed. */
  g_assert_cmpint (fstat (archive->fd, &archive->st), ==, 0);
  archive->file_size = (guint64) archive->st.st_size;
  bytes = rb_archive_read (archive, "sbom/sbom.cdx.json", G_MAXUINT64, &error);
  g_assert_null (bytes);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  assert_message (error, "changed since it was opened");
  assert_message (error, "“sbom/sbom.cdx.json”");
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  rb_test_init (&argc, &argv);
  workdir = g_dir_make_tmp ("rb-archive-test-XXXXXX", NULL);
  g_assert_nonnull (workdir);

  g_test_add_func ("/archive/read-cap", test_read_cap);
  g_test_add_func ("/archive/changed-layout-same-times", test_changed_layout_same_times);

  ret = g_test_run ();

  {
    const char *rm[] = { "rm", "-rf", workdir, NULL };
    rb_test_run_in (NULL, rm);
  }
  g_free (workdir);
  return ret;
}
