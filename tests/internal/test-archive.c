/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbArchive from the inside: through its test seams
 * (rb-archive-test-private.h), its helpers and the states no archive can
 * be made to reach from outside (a checked entry libarchive then sees
 * otherwise) are tested directly. Archives are made by
 * tests/bundle/rb-make-bundle.py.
 */
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "rb-archive-test-private.h"
#include "rb-error.h"
#include "rb-names-private.h"

#include "bundle-test-util.h"
#include "rb-test-util.h"

static char *archive_dir;

static char *
make_archive (const char *name,
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
  return rb_test_make_bundle (archive_dir, name, NULL, NULL, (const char * const *) extra->pdata);
}

static RbArchive *
open_archive (const char *path,
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
  g_autofree char *path = make_archive ("declared-4g.rbp", "--zip-edit", "manifest.json:zip64",
                                        "--zip-edit", "manifest.json:usize=4294967296", NULL);
  g_autoptr(RbArchive) archive = open_archive (path, G_GUINT64_CONSTANT (1) << 40);
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

/* What a name looks like in a message: nothing a terminal or a log
 * would act on, nothing that is not UTF-8, and not too long. */
static void
test_shown_name (void)
{
  static const struct {
    const char *name;
    gssize      len;
    const char *shown;
  } cases[] = {
    { "lib/linux-x86_64/release/libfoo.so", -1, "lib/linux-x86_64/release/libfoo.so" },
    { "docs/café €.txt", -1, "docs/café €.txt" },
    { "sbom/\033[2J\033]0;pwned\007.json", -1, "sbom/\\x1b[2J\\x1b]0;pwned\\x07.json" },
    { "a\tb\nc\rd\177e", -1, "a\\x09b\\x0ac\\x0dd\\x7fe" },
    { "c1 \302\205 \302\233 \302\237 \302\240", -1, "c1 \\u0085 \\u009b \\u009f \302\240" },
    { "bidi \342\200\256txt.exe \342\201\246 \342\200\250", -1, "bidi \\u202etxt.exe \\u2066 \\u2028" },
    { "not utf-8 \377\300\200 end", -1, "not utf-8 \\xff\\xc0\\x80 end" },
    { "back\\slash", -1, "back\\\\slash" },
    { "nul\0inside", 10, "nul\\x00inside" },
    { "", -1, "" },
  };
  g_autofree char *long_name = g_strnfill (1000, 'a');
  g_autofree char *long_shown = NULL;
  g_autofree char *escape_at_end = NULL;
  g_autofree char *multibyte_at_end = NULL;
  g_autofree char *path = NULL;
  GString *tail_escape = g_string_new (NULL);
  GString *tail_multibyte = g_string_new (NULL);
  g_autofree char *long_path = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *shown = rb_names_escape (cases[i].name, cases[i].len, RB_NAMES_SHOWN_MAX);
      g_assert_cmpstr (shown, ==, cases[i].shown);
      g_assert_true (g_utf8_validate (shown, -1, NULL));
    }

  /* Cut at RB_NAMES_SHOWN_MAX bytes, with an ellipsis... */
  long_shown = rb_names_escape (long_name, -1, RB_NAMES_SHOWN_MAX);
  g_assert_cmpuint (strlen (long_shown), ==, RB_NAMES_SHOWN_MAX + strlen ("…"));
  g_assert_true (g_str_has_suffix (long_shown, "a…"));
  /* ...never in an escape or a character. */
  g_string_append_len (tail_escape, long_name, RB_NAMES_SHOWN_MAX - 2);
  g_string_append (tail_escape, "\033zz");
  escape_at_end = rb_names_escape (tail_escape->str, -1, RB_NAMES_SHOWN_MAX);
  g_assert_cmpuint (strlen (escape_at_end), ==, RB_NAMES_SHOWN_MAX - 2 + strlen ("…"));
  g_assert_true (g_str_has_suffix (escape_at_end, "aa…"));
  g_string_append_len (tail_multibyte, long_name, RB_NAMES_SHOWN_MAX - 1);
  g_string_append (tail_multibyte, "€");
  multibyte_at_end = rb_names_escape (tail_multibyte->str, -1, RB_NAMES_SHOWN_MAX);
  g_assert_true (g_utf8_validate (multibyte_at_end, -1, NULL));
  g_assert_true (g_str_has_suffix (multibyte_at_end, "aa…"));
  /* Exactly the limit: no ellipsis. */
  long_name[RB_NAMES_SHOWN_MAX] = '\0';
  g_free (long_shown);
  long_shown = rb_names_escape (long_name, -1, RB_NAMES_SHOWN_MAX);
  g_assert_cmpstr (long_shown, ==, long_name);

  /* Paths are escaped, but whole. */
  long_path = g_strdup_printf ("/%s/%s\033.rbp", long_name, long_name);
  path = rb_names_escape (long_path, -1, G_MAXSIZE);
  g_assert_true (g_str_has_suffix (path, "\\x1b.rbp"));
  g_assert_cmpuint (strlen (path), ==, strlen (long_path) + 3);

  g_string_free (tail_escape, TRUE);
  g_string_free (tail_multibyte, TRUE);
}

/* An end record signature after the end record counts only where
 * libarchive would take it for an end record: where a whole record fits
 * before the end of the file. The record's own fields are not a comment. */
static void
test_later_end_signature (void)
{
  guint8 tail[22 + 64];
  static const guint8 sig[] = { 'P', 'K', 5, 6 };

  memset (tail, 0, sizeof tail);
  memcpy (tail, sig, 4);
  /* No comment: nothing is looked at, not even the offset field that
   * spells the signature (a central directory at 0x06054b50). */
  memcpy (tail + 16, sig, 4);
  g_assert_false (rb_archive_test_later_end_signature (tail, 22, 0));
  memcpy (tail + 12, sig, 4);
  g_assert_false (rb_archive_test_later_end_signature (tail, 22, 0));
  /* A comment long enough makes room for a record there, though. */
  memset (tail + 12, 0, 4);
  g_assert_false (rb_archive_test_later_end_signature (tail, 22 + 15, 0));
  g_assert_true (rb_archive_test_later_end_signature (tail, 22 + 16, 0));
  memset (tail + 16, 0, 4);
  g_assert_false (rb_archive_test_later_end_signature (tail, 22 + 64, 0));

  /* In a comment, where a record fits after it. */
  memcpy (tail + 22, sig, 4);
  g_assert_true (rb_archive_test_later_end_signature (tail, 22 + 22, 0));
  g_assert_true (rb_archive_test_later_end_signature (tail, 22 + 64, 0));
  /* Too close to the end for libarchive to take it. */
  g_assert_false (rb_archive_test_later_end_signature (tail, 22 + 21, 0));
  memset (tail + 22, 0, 4);
  memcpy (tail + 22 + 64 - 22, sig, 4);
  g_assert_true (rb_archive_test_later_end_signature (tail, 22 + 64, 0));
  g_assert_false (rb_archive_test_later_end_signature (tail, 22 + 63, 0));
  /* The record need not start the buffer. */
  g_assert_false (rb_archive_test_later_end_signature (tail, 22 + 64, 22 + 64 - 22));
}

static char *
make_non_ascii (void)
{
  g_autofree char *text = g_build_filename (archive_dir, "text.txt", NULL);
  g_autofree char *entry = g_strdup_printf ("docs/café €.txt=%s", text);

  g_assert_true (g_file_set_contents (text, "non-ASCII name", -1, NULL));
  return make_archive ("non-ascii.rbp", "--file", entry, NULL);
}

static const char *
category_name (int category)
{
  return nl_langinfo (_NL_LOCALE_NAME (category));
}

typedef struct {
  locale_t expected;
  guint    calls;
} LocaleCheck;

static gboolean
locale_check_chunk (const guint8  *data,
                    gsize          len,
                    gpointer       user_data,
                    GError       **error)
{
  LocaleCheck *check = user_data;

  /* The caller's code runs in the caller's locale. */
  g_assert_true (uselocale ((locale_t) 0) == check->expected);
  check->calls++;
  return TRUE;
}

/* Opens and reads the non-ASCII archive in this thread's locale, which is
 * as it was before and during the callbacks. */
static void
read_non_ascii_in (locale_t locale)
{
  g_autofree char *path = make_non_ascii ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RbArchive) archive = NULL;
  g_auto(GStrv) files = NULL;
  LocaleCheck check = { locale, 0 };

  archive = rb_archive_open (path, 100, G_MAXUINT64, &error);
  g_assert_no_error (error);
  g_assert_true (uselocale ((locale_t) 0) == locale);
  files = rb_archive_list_files (archive);
  g_assert_true (g_strv_contains ((const char * const *) files, "docs/café €.txt"));
  g_assert_true (rb_archive_stream (archive, "docs/café €.txt", 1000, NULL, locale_check_chunk, &check, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (check.calls, >, 0);
  g_assert_true (uselocale ((locale_t) 0) == locale);
}

/* libarchive needs a UTF-8 LC_CTYPE to hand out UTF-8 names. Only that
 * category changes, only around its header calls, and only when the
 * thread's character set is not UTF-8 already. */
static void
test_names_locale (void)
{
  locale_t c_utf8 = newlocale (LC_ALL_MASK, "C.UTF-8", (locale_t) 0);
  locale_t mixed = newlocale (LC_MESSAGES_MASK | LC_NUMERIC_MASK, "C.UTF-8", newlocale (LC_ALL_MASK, "C", (locale_t) 0));
  locale_t names_locale = (locale_t) 0;

  if (c_utf8 == (locale_t) 0 || mixed == (locale_t) 0)
    {
      g_test_skip ("no C.UTF-8 locale");
      return;
    }

  /* The program's global locale ("C": the test never calls setlocale). */
  g_assert_true (uselocale ((locale_t) 0) == LC_GLOBAL_LOCALE);
  read_non_ascii_in (LC_GLOBAL_LOCALE);

  /* A thread locale with an ASCII LC_CTYPE and a UTF-8 LC_MESSAGES. */
  uselocale (mixed);
  read_non_ascii_in (mixed);
  /* The names locale is UTF-8 on top of it: the other categories stay. */
  g_assert_true (rb_archive_test_names_locale_new (&names_locale));
  g_assert_true (names_locale != (locale_t) 0);
  uselocale (names_locale);
  g_assert_cmpstr (nl_langinfo (CODESET), ==, "UTF-8");
  g_assert_cmpstr (category_name (LC_MESSAGES), ==, "C.UTF-8");
  g_assert_cmpstr (category_name (LC_NUMERIC), ==, "C.UTF-8");
  g_assert_cmpstr (category_name (LC_TIME), ==, "C");
  uselocale (mixed);
  freelocale (names_locale);

  /* Already UTF-8: nothing to switch. */
  uselocale (c_utf8);
  read_non_ascii_in (c_utf8);
  g_assert_true (rb_archive_test_names_locale_new (&names_locale));
  g_assert_true (names_locale == (locale_t) 0);

  uselocale (LC_GLOBAL_LOCALE);
  freelocale (c_utf8);
  freelocale (mixed);
}

/* Without any UTF-8 locale installed, non-ASCII names cannot be read: a
 * clear error, and ASCII archives still work. */
static void
test_no_utf8_locale (void)
{
  static const char * const none[] = { "xx_NOWHERE.UTF-8", "yy_NOWHERE.utf8", NULL };
  const char * const *saved;
  g_autofree char *non_ascii = make_non_ascii ();
  g_autofree char *ascii = make_archive ("ascii.rbp", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbArchive) refused = NULL;
  g_autoptr(RbArchive) archive = NULL;
  g_autoptr(GBytes) bytes = NULL;

  saved = rb_archive_test_set_utf8_locales (none);
  refused = rb_archive_open (non_ascii, 100, G_MAXUINT64, &error);
  g_assert_null (refused);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  assert_message (error, "“docs/café €.txt”");
  assert_message (error, "no UTF-8 locale");
  g_clear_error (&error);

  archive = open_archive (ascii, G_MAXUINT64);
  bytes = rb_archive_read (archive, "sbom/sbom.cdx.json", 1000, &error);
  g_assert_no_error (error);
  g_assert_nonnull (bytes);
  rb_archive_test_set_utf8_locales (saved);
}

/* libarchive must see the entries the check saw, in file order. No
 * archive that passes the check makes libarchive 3.6 see others, so the
 * check's own index is changed here. */
static void
test_cross_check (void)
{
  g_autofree char *path = make_archive ("cross.rbp", NULL);
  g_autoptr(RbArchive) archive = open_archive (path, G_MAXUINT64);
  GPtrArray *order = rb_archive_test_get_file_order (archive);
  g_autoptr(GError) error = NULL;
  RbArchiveEntry *extra = rb_archive_test_entry_new ("docs/extra\033.txt");
  gpointer swap;

  g_assert_true (rb_archive_test_cross_check (archive, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (order->len, ==, 3);

  /* Another entry where the central directory has one. */
  swap = order->pdata[1];
  order->pdata[1] = order->pdata[2];
  order->pdata[2] = swap;
  g_assert_false (rb_archive_test_cross_check (archive, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  assert_message (error, "libarchive sees entry “lib/");
  assert_message (error, "where the central directory has “sbom/sbom.cdx.json”");
  g_clear_error (&error);
  order->pdata[2] = order->pdata[1];
  order->pdata[1] = swap;

  /* An entry where the central directory has none. */
  swap = g_ptr_array_steal_index (order, 2);
  g_assert_false (rb_archive_test_cross_check (archive, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  assert_message (error, "libarchive sees entry “sbom/sbom.cdx.json” where the central directory has none");
  g_clear_error (&error);
  g_ptr_array_add (order, swap);

  /* Fewer entries than the central directory. */
  g_ptr_array_add (order, extra);
  g_assert_false (rb_archive_test_cross_check (archive, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  assert_message (error, "libarchive sees 3 of 4 entries");
  g_clear_error (&error);
  g_ptr_array_steal_index (order, 3);
  rb_archive_test_entry_free (extra);

  g_assert_true (rb_archive_test_cross_check (archive, &error));
  g_assert_no_error (error);
}

/* libarchive composes the names of entries flagged UTF-8 into NFC: a
 * name it gives composed is the checked name when the two are
 * canonically equivalent; otherwise the message shows the difference,
 * every character beyond ASCII escaped (both names would look alike). */
static void
test_look_alike_names (void)
{
  g_autofree char *path = make_non_ascii ();
  g_autoptr(RbArchive) archive = open_archive (path, G_MAXUINT64);
  GPtrArray *order = rb_archive_test_get_file_order (archive);
  g_autoptr(GError) error = NULL;
  RbArchiveEntry *entry = NULL;
  char *saved;

  for (guint i = 0; i < order->len; i++)
    if (g_str_has_prefix (rb_archive_test_entry_get_name (g_ptr_array_index (order, i)), "docs/caf"))
      entry = g_ptr_array_index (order, i);
  g_assert_nonnull (entry);

  /* The same name decomposed: e + COMBINING ACUTE ACCENT. */
  saved = rb_archive_test_entry_swap_name (entry, (char *) "docs/cafe\xcc\x81 \xe2\x82\xac.txt");
  g_assert_true (rb_archive_test_cross_check (archive, &error));
  g_assert_no_error (error);

  /* Another name that looks the same: CYRILLIC SMALL LETTER IE + accent. */
  rb_archive_test_entry_swap_name (entry, (char *) "docs/caf\xd0\xb5\xcc\x81 \xe2\x82\xac.txt");
  g_assert_false (rb_archive_test_cross_check (archive, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  assert_message (error, "libarchive sees entry “docs/caf\\u00e9 \\u20ac.txt” where the central directory has "
                         "“docs/caf\\u0435\\u0301 \\u20ac.txt”");
  rb_archive_test_entry_swap_name (entry, saved);
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
  g_autofree char *path = make_archive ("layout.rbp", NULL);
  g_autofree char *other = make_archive ("layout-other.rbp", "--name", "another-plugin-name", NULL);
  g_autoptr(RbArchive) archive = open_archive (path, G_MAXUINT64);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  overwrite (path, other);
  /* As if nothing had changed. */
  g_assert_true (rb_archive_test_restat (archive));
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
  archive_dir = g_dir_make_tmp ("rb-archive-test-XXXXXX", NULL);
  g_assert_nonnull (archive_dir);

  g_test_add_func ("/archive/read-cap", test_read_cap);
  g_test_add_func ("/archive/shown-name", test_shown_name);
  g_test_add_func ("/archive/later-end-signature", test_later_end_signature);
  g_test_add_func ("/archive/names-locale", test_names_locale);
  g_test_add_func ("/archive/cross-check", test_cross_check);
  g_test_add_func ("/archive/look-alike-names", test_look_alike_names);
  g_test_add_func ("/archive/no-utf8-locale", test_no_utf8_locale);
  g_test_add_func ("/archive/changed-layout-same-times", test_changed_layout_same_times);

  ret = g_test_run ();

  rb_test_remove_tree (archive_dir);
  g_free (archive_dir);
  return ret;
}
