/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle, the ZIP container: archives whose structure lies or is unusual,
 * limits and declared sizes, names in messages, files changed after open. Bundles are made at test time by
 * tests/bundle/rb-make-bundle.py and signed with Debian's minisign tool (see
 * bundle-test-util.h).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bundle-test-util.h"
#include "rb-test-util.h"

/* Writes @data over @path in place (the same inode, as "cp" or an editor
 * saving in place does), until its change time differs from @before: a
 * file system stamps times at a coarse tick. */
static void
rewrite_in_place (const char   *path,
                  const char   *data,
                  gsize         len,
                  const GStatBuf *before)
{
  GStatBuf after;

  do
    {
      FILE *f = fopen (path, "r+b");

      g_assert_nonnull (f);
      g_assert_cmpuint (fwrite (data, 1, len, f), ==, len);
      g_assert_cmpint (ftruncate (fileno (f), (off_t) len), ==, 0);
      g_assert_cmpint (fclose (f), ==, 0);
      g_assert_cmpint (g_stat (path, &after), ==, 0);
      g_assert_cmpuint (after.st_ino, ==, before->st_ino);
      if (after.st_ctim.tv_sec == before->st_ctim.tv_sec && after.st_ctim.tv_nsec == before->st_ctim.tv_nsec)
        g_usleep (5000);
    }
  while (after.st_ctim.tv_sec == before->st_ctim.tv_sec && after.st_ctim.tv_nsec == before->st_ctim.tv_nsec);
}

/* Every use of @bundle fails: its file changed since it was opened. */
static void
assert_changed (RbBundle *bundle)
{
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sbom = rb_bundle_read_file (bundle, "sbom/sbom.cdx.json", &error);
  g_autoptr(GFile) extracted = NULL;

  g_assert_null (sbom);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was opened"));
  g_clear_error (&error);
  g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was opened"));
  g_clear_error (&error);
  extracted = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
  g_assert_null (extracted);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was opened"));
  g_assert_cmpuint (count_entries (dir), ==, 0);
  g_rmdir (dir);
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_INVALID_ARCHIVE, "changed since it was opened");
}

/* Reads come from the file that was checked: libarchive re-reads the
 * central directory each time, so a file rewritten in place after it was
 * opened is refused, whether its layout or only its bytes changed. A
 * file replaced by another (a new inode) does not matter. */
static void
test_changed_after_open (void)
{
  g_autofree char *path = NULL;
  g_autofree char *other = make ("changing-other.rbp", "--name", "another-plugin-name", NULL);
  g_autofree char *original = NULL, *replacement = NULL;
  gsize len, other_len;
  GStatBuf st;

  if (skip_unless_path ())
    return;
  path = make ("changing.rbp", NULL);

  g_assert_true (g_file_get_contents (path, &original, &len, NULL));
  g_assert_true (g_file_get_contents (other, &replacement, &other_len, NULL));

  /* Another archive, written over it. */
  {
    g_autoptr(RbBundle) bundle = NULL;

    g_assert_cmpint (g_stat (path, &st), ==, 0);
    bundle = open_ok (path);
    rewrite_in_place (path, replacement, other_len, &st);
    assert_changed (bundle);
  }
  /* One byte of the SBOM's data: same size, same layout. */
  {
    g_autoptr(RbBundle) bundle = NULL;
    g_autofree char *flipped = g_memdup2 (original, len);
    const char *name = "sbom/sbom.cdx.json";
    gsize at = 0;

    g_assert_true (g_file_set_contents (path, original, (gssize) len, NULL));
    /* The local header comes first: its name is followed by the data. */
    while (at + strlen (name) < len && memcmp (flipped + at, name, strlen (name)) != 0)
      at++;
    g_assert_cmpuint (at + strlen (name), <, len);
    flipped[at + strlen (name)] ^= 1;
    g_assert_cmpint (g_stat (path, &st), ==, 0);
    bundle = open_ok (path);
    rewrite_in_place (path, flipped, len, &st);
    assert_changed (bundle);
  }
  /* Replaced, not rewritten: the bundle reads what it opened. */
  {
    g_autoptr(RbBundle) bundle = NULL;
    g_autoptr(RbPlugin) plugin = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true (g_file_set_contents (path, original, (gssize) len, NULL));
    bundle = open_ok (path);
    g_assert_true (g_file_set_contents (path, replacement, (gssize) other_len, NULL));
    g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
    g_assert_no_error (error);
    plugin = load_ok (bundle, NULL);
    g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "test-plugin");
  }
}

static void
test_unsafe_archives (void)
{
  g_autofree char *evil = g_build_filename (workdir, "evil.txt", NULL);
  g_autofree char *parent = NULL;
  guint parent_before;
  static const struct {
    const char *name;
    const char *option;
    const char *value;
    int         code;
  } cases[] = {
    { "dotdot.rbp", "--raw-entry", "../escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "nested-dotdot.rbp", "--raw-entry", "docs/../../escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "absolute.rbp", "--raw-entry", "/tmp/escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "backslash.rbp", "--raw-entry", "docs\\..\\escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "symlink.rbp", "--symlink", "docs/link=/etc/passwd", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "device.rbp", "--device", "docs/null", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "colon.rbp", "--raw-entry", "C:/escaped.txt=evil.txt", RB_BUNDLE_ERROR_UNSAFE_PATH },
    { "duplicate.rbp", "--duplicate", "manifest.json", RB_BUNDLE_ERROR_INVALID_ARCHIVE },
  };

  g_assert_true (g_file_set_contents (evil, "evil", -1, NULL));
  parent = g_path_get_dirname (workdir);
  parent_before = count_entries (parent);
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make (cases[i].name, cases[i].option, cases[i].value, NULL);
      open_fails (path, cases[i].code, NULL);
    }
  /* Nothing was written next to the work directory or in TMPDIR. */
  g_assert_cmpuint (count_entries (parent), ==, parent_before);
  g_assert_false (g_file_test ("/tmp/escaped.txt", G_FILE_TEST_EXISTS));
}

/* Archives whose ZIP structure lies: refused as a whole at open, with a
 * message that names the problem. */
static void
test_zip_structure (void)
{
  g_autofree char *long_comment = g_strnfill (5000, 'c');
  static const struct {
    const char *name;
    const char *option;
    const char *value;
    int         code;
    const char *needle;
  } cases[] = {
    { "z-overlap.rbp", "--zip-edit", "manifest.json:csize=+64", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "entries “manifest.json” and “manifest.json.minisig” overlap" },
    { "z-local-name.rbp", "--zip-edit", "manifest.json:local_name=manifest.jsoN", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the local header of “manifest.json” names another file" },
    { "z-local-offset.rbp", "--zip-edit", "manifest.json:offset=+1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“manifest.json” has no local header at offset 1" },
    { "z-prefix.rbp", "--zip-prefix", "2", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "20 bytes of data before the first entry" },
    { "z-encrypted.rbp", "--zip-edit", "manifest.json:flags=1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“manifest.json” is encrypted" },
    { "z-encrypted-local.rbp", "--zip-edit", "sbom/sbom.cdx.json:local_flags=0x41", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“sbom/sbom.cdx.json” is encrypted" },
    { "z-method.rbp", "--zip-edit", "sbom/sbom.cdx.json:method=12", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "“sbom/sbom.cdx.json” uses compression method 12" },
    { "z-local-method.rbp", "--zip-edit", "sbom/sbom.cdx.json:local_method=0", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the local header of “sbom/sbom.cdx.json” does not match" },
    { "z-not-utf8.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/\\xff.json", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "the name is not UTF-8" },
    { "z-nul.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\x00.json", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "the name has a NUL byte" },
    { "z-control.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\x1bb.json", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "the name has a control character" },
    { "z-dir-no-slash.rbp", "--zip-edit", "sbom/sbom.cdx.json:external=0x10", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "directory entry “sbom/sbom.cdx.json” has no trailing slash" },
    { "z-dir-data.rbp", "--zip-edit", "sbom/sbom.cdx.json:name=sbom/", RB_BUNDLE_ERROR_UNSAFE_PATH,
      "unsafe entry “sbom/”: a directory with data" },
    { "z-count.rbp", "--zip-count-delta", "-1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "holds more than the 4 entries the end record counts" },
    { "z-count-more.rbp", "--zip-count-delta", "1", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "truncated central directory" },
    { "z-trailer.rbp", "--zip-trailer", "junk after the archive", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "no end of central directory record at the end" },
    { "z-comment-sig.rbp", "--zip-comment", "PK\\x05\\x06 followed by more than twenty-two bytes", RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the archive comment holds an end of central directory signature" },
    { "z-comment-long.rbp", "--zip-comment", NULL /* long_comment */, RB_BUNDLE_ERROR_INVALID_ARCHIVE,
      "the archive comment has 5000 bytes (at most 4096 are allowed)" },
    { "z-local-xl.rbp", "--zip-edit",
      /* An Info-ZIP "xl" extra field that makes the entry a Unix symbolic link,
       * in the local header only: only libarchive reads it. */
      "sbom/sbom.cdx.json:local_extra=xl\\x07\\x00\\x05\\x00\\x03\\x00\\x00\\xff\\xa1",
      RB_BUNDLE_ERROR_UNSAFE_PATH, "“sbom/sbom.cdx.json”: not a regular file or directory" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make (cases[i].name, cases[i].option, cases[i].value ? cases[i].value : long_comment,
                                    NULL);
      open_fails (path, cases[i].code, cases[i].needle);
    }
}

/* @message holds nothing a terminal acts on: no C0, DEL or C1 controls. */
static void
assert_printable (const char *message)
{
  g_assert_true (g_utf8_validate (message, -1, NULL));
  for (const char *p = message; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
        g_error ("“%s” has the control character U+%04X", message, c);
    }
}

/* Names from an archive, a manifest or a caller are escaped and cut short
 * in messages: an error may well be printed to a terminal or a log. */
static void
test_names_in_messages (void)
{
  g_autofree char *a900 = g_strnfill (900, 'a');
  g_autofree char *long_name = g_strdup_printf ("sbom/sbom.cdx.json:name=docs/%s\\x1b", a900);
  g_autofree char *evil_path = g_build_filename (workdir, "evil\033[2J.rbp", NULL);
  static const struct {
    const char *name;
    const char *args[4];
    int         code;
    const char *needle;
  } cases[] = {
    { "n-escape.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/\\x1b[2J\\x1b]0;pwned\\x07.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/\\x1b[2J\\x1b]0;pwned\\x07.json”: the name has a control character" },
    { "n-c1.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\xc2\\x9bb.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/a\\u009bb.json”: the name has a control character" },
    { "n-not-utf8.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/\\xff.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/\\xff.json”: the name is not UTF-8" },
    { "n-nul.rbp", { "--zip-edit", "sbom/sbom.cdx.json:name=sbom/a\\x00\\x1b.json" },
      RB_BUNDLE_ERROR_UNSAFE_PATH, "unsafe entry “sbom/a\\x00\\x1b.json”: the name has a NUL byte" },
    { "n-variant.rbp", { "--set", "platforms={\"linux-x86_64\":{\"variants\":{\"bad\\u001b[2Jname\":{}}}}" },
      RB_BUNDLE_ERROR_INVALID_MANIFEST, "variant name “bad\\x1b[2Jname” of platform “linux-x86_64”" },
    { "n-version.rbp", { "--set", "bundle_version=\"2\\u0007\\u009b\"" },
      RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "format version “2\\x07\\u009b”" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_v (cases[i].name, TRUE, cases[i].args);
      g_autoptr(GError) error = NULL;
      g_autoptr(RbBundle) bundle = open_bundle (path, &error);

      g_assert_null (bundle);
      g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("“%s” lacks “%s”", error->message, cases[i].needle);
      assert_printable (error->message);
    }

  /* A long name is cut, with an ellipsis. */
  {
    const char *args[] = { "--zip-edit", long_name, NULL };
    g_autofree char *path = make_v ("n-long.rbp", TRUE, args);
    g_autoptr(GError) error = NULL;
    g_autoptr(RbBundle) bundle = open_bundle (path, &error);

    g_assert_null (bundle);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSAFE_PATH);
    g_assert_nonnull (strstr (error->message, "aaa…”: the name has a control character"));
    g_assert_cmpuint (strlen (error->message), <, strlen (path) + 300);
    assert_printable (error->message);
  }

  /* The bundle's own path, and a name the caller gives. */
  {
    g_autofree char *valid = make ("n-valid.rbp", NULL);
    g_autoptr(RbBundle) bundle = open_ok (valid);
    g_autoptr(GError) error = NULL;
    g_autoptr(RbBundle) none = NULL;
    g_autoptr(GBytes) bytes = NULL;

    bytes = rb_bundle_read_file (bundle, "docs/\033[2J\302\233", &error);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "“docs/\\x1b[2J\\u009b”"));
    assert_printable (error->message);
    g_clear_error (&error);
    bytes = rb_bundle_read_schema (bundle, "\007", &error);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "“\\x07”"));
    g_clear_error (&error);
    g_assert_null (rb_bundle_list_variants (bundle, "plan9\033", &error));
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM);
    g_assert_nonnull (strstr (error->message, "“plan9\\x1b”"));
    g_clear_error (&error);
    load_fails (bundle, "\033", RB_BUNDLE_ERROR_VARIANT_NOT_FOUND, "no variant “\\x1b”");

    g_assert_true (g_file_set_contents (evil_path, "not a bundle", -1, NULL));
    none = rb_bundle_new_for_path (evil_path, NULL, &error);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_assert_nonnull (strstr (error->message, "evil\\x1b[2J.rbp”"));
    assert_printable (error->message);
  }
}

/* Lies in the end records and the rest of the layout, made with several
 * options each: refused at open, with a message that names the problem. */
static void
test_zip_records (void)
{
  g_autofree char *empty = g_build_filename (workdir, "z-empty.rbp", NULL);
  static const char end_record[22] = { 'P', 'K', 5, 6 };
  static const struct {
    const char *name;
    const char *args[8];
    int         code;
    const char *needle;
  } cases[] = {
    { "z-stored-size.rbp", { "--zip-edit", "sbom/sbom.cdx.json:method=0", "--zip-edit", "sbom/sbom.cdx.json:usize=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“sbom/sbom.cdx.json” is stored, but its stored and declared sizes differ" },
    { "z-zip64-disagree.rbp", { "--zip64-end", "--zip-count-delta", "-1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the ZIP64 and the classic end of central directory records disagree" },
    { "z-zip64-locator.rbp", { "--zip64-end", "--zip-end", "loc.offset=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory locator" },
    { "z-zip64-locator-far.rbp", { "--zip64-end", "--zip-end", "loc.offset=-20000" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory locator" },
    { "z-zip64-record-sig.rbp", { "--zip64-end", "--zip-end", "end64.sig=0x06064b51" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory record" },
    { "z-zip64-record-size.rbp", { "--zip64-end", "--zip-end", "end64.size=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "bad ZIP64 end of central directory record" },
    { "z-zip64-no-record.rbp", { "--zip-end", "end.cd_offset=0xffffffff" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "ZIP64 values without a ZIP64 end of central directory record" },
    { "z-zip64-no-record-count.rbp", { "--zip-end", "end.count=0xffff", "--zip-end", "end.disk_count=0xffff" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "ZIP64 values without a ZIP64 end of central directory record" },
    { "z-volumes.rbp", { "--zip-end", "end.disk=1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-count.rbp", { "--zip-end", "end.disk_count=+1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-locator.rbp", { "--zip64-end", "--zip-end", "loc.disks=2" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-zip64.rbp", { "--zip64-end", "--zip-end", "end64.cd_disk=1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "multi-volume archives are not supported" },
    { "z-volumes-entry.rbp", { "--zip-edit", "sbom/sbom.cdx.json:disk=1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“sbom/sbom.cdx.json” is on another volume" },
    { "z-cd-offset.rbp", { "--zip-end", "end.cd_offset=-1" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the central directory is not where the end record says" },
    { "z-cd-size.rbp", { "--zip-end", "end.cd_size=-46" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the central directory is not where the end record says" },
    { "z-cd-small.rbp", { "--zip-count-delta", "1000" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the central directory is too small for 1005 entries" },
    { "z-into-cd.rbp", { "--zip-edit", "sbom/sbom.cdx.json:csize=+1000" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the data of “sbom/sbom.cdx.json” runs into the central directory" },
    { "z-extra-long.rbp", { "--zip-edit", "manifest.json:extra=UT\\x09\\x00\\x01" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“manifest.json” has a malformed extra field" },
    { "z-extra-stray.rbp", { "--zip-edit", "manifest.json:extra=UT\\x01\\x00\\x01ab" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“manifest.json” has a malformed extra field" },
    { "z-extra-zip64-short.rbp", { "--zip-edit", "manifest.json:usize=0xffffffff", "--zip-edit",
                                   "manifest.json:extra=\\x01\\x00\\x04\\x00\\x00\\x00\\x00\\x00" },
      RB_BUNDLE_ERROR_INVALID_ARCHIVE, "“manifest.json” has a malformed extra field" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_v (cases[i].name, TRUE, cases[i].args);
      open_fails (path, cases[i].code, cases[i].needle);
    }
  g_assert_true (g_file_set_contents (empty, end_record, sizeof end_record, NULL));
  open_fails (empty, RB_BUNDLE_ERROR_INVALID_ARCHIVE, "the archive is empty");
}

/* Layouts that are unusual but sound are accepted, and the library they
 * hold loads. */
static void
test_zip_layouts (void)
{
  g_autofree char *lib = g_strdup_printf ("lib/%s/release/librbfixture.so:zip64", rb_bundle_get_current_platform ());
  g_autofree char *utf8 = g_build_filename (workdir, "café.txt", NULL);
  g_autofree char *utf8_entry = g_strdup_printf ("docs/café.txt=%s", utf8);
  const struct {
    const char *name;
    const char *args[12];
    guint       n_files;
    const char *first;      /* central-directory order */
  } cases[] = {
    { "l-reversed.rbp", { "--zip-reverse-cd" }, 5, "sbom/sbom.cdx.json" },
    { "l-zip64-end.rbp", { "--zip64-end" }, 5, "manifest.json" },
    /* The classic end record may keep placeholders for what the ZIP64
     * one holds (APPNOTE 4.4.1.4). */
    { "l-zip64-placeholders.rbp", { "--zip64-end", "--zip-end", "end.count=0xffff", "--zip-end", "end.disk_count=0xffff",
                                    "--zip-end", "end.cd_size=0xffffffff", "--zip-end", "end.cd_offset=0xffffffff" },
      5, "manifest.json" },
    { "l-zip64-extra.rbp", { "--zip-edit", lib }, 5, "manifest.json" },
    { "l-comment.rbp", { "--zip-comment", "made by a test" }, 5, "manifest.json" },
    { "l-utf8.rbp", { "--file", utf8_entry }, 6, "manifest.json" },
    /* The end record's central directory offset spells its own signature
     * (a sparse file: nothing of the 100 MB is written). */
    { "l-cd-at-signature.rbp", { "--zip-pad-to-cd", "0x06054b50" }, 6, "manifest.json" },
  };

  g_assert_true (g_file_set_contents (utf8, "non-ASCII name", -1, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = make_v (cases[i].name, TRUE, cases[i].args);
      g_autoptr(RbBundle) bundle = open_ok (path);
      g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
      g_auto(GStrv) files = rb_bundle_list_files (bundle);

      g_assert_true (RB_IS_PLUGIN (plugin));
      g_assert_cmpuint (g_strv_length (files), ==, cases[i].n_files);
      g_assert_cmpstr (files[0], ==, cases[i].first);
    }
}

static void
test_limits (void)
{
  g_autofree char *many = make ("many.rbp", "--many-entries", "50", NULL);
  g_autofree char *ok = make ("limits.rbp", NULL);
  g_autoptr(GFile) many_file = g_file_new_for_path (many);
  g_autoptr(GFile) ok_file = g_file_new_for_path (ok);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) b1 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", many_file, "max-entries", 20, NULL);
  g_autoptr(RbBundle) b2 = NULL;
  g_autoptr(RbBundle) b3 = NULL;
  g_autoptr(RbBundle) b4 = NULL;

  g_assert_null (b1);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  b2 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", ok_file, "max-manifest-size", (guint64) 100, NULL);
  g_assert_null (b2);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  b3 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", ok_file, "max-total-size", (guint64) 1000, NULL);
  g_assert_null (b3);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_clear_error (&error);

  /* The library cap is enforced while streaming; the partial file goes. */
  b4 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", ok_file, "max-library-size", (guint64) 4096, NULL);
  g_assert_no_error (error);
  load_fails (b4, NULL, RB_BUNDLE_ERROR_TOO_LARGE, "librbfixture.so");
}

/* Sizes an archive declares (here 4 GiB for a manifest of 2 KiB) are
 * refused before anything is allocated for them, whatever the limits the
 * caller set: the in-memory limit cannot be set above 256 MiB. */
#define IN_MEMORY_CAP (G_GUINT64_CONSTANT (256) << 20)   /* documented on max-manifest-size */

static void
test_declared_sizes (void)
{
  g_autofree char *huge = make ("declared-4g.rbp", "--zip-edit", "manifest.json:zip64",
                                "--zip-edit", "manifest.json:usize=4294967296", NULL);
  g_autofree char *lib = g_strdup_printf ("lib/%s/release/librbfixture.so:usize=+%" G_GUINT64_FORMAT,
                                          rb_bundle_get_current_platform (), IN_MEMORY_CAP);
  g_autofree char *legacy = make ("declared-legacy.rbp", "--legacy-signatures", "--zip-edit", lib, NULL);
  g_autoptr(GFile) huge_file = g_file_new_for_path (huge);
  g_autoptr(GFile) legacy_file = g_file_new_for_path (legacy);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) b1 = NULL;
  g_autoptr(RbBundle) b2 = NULL;
  g_autoptr(RbBundle) b3 = NULL;
  guint64 max = 0;

  /* Above the cap: GLib refuses the value and keeps the default. */
  g_test_expect_message ("GLib-GObject", G_LOG_LEVEL_WARNING, "*max-manifest-size*");
  b1 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", huge_file, "max-manifest-size", G_MAXUINT64,
                       "max-total-size", G_MAXUINT64, NULL);
  g_test_assert_expected_messages ();
  g_assert_null (b1);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "“manifest.json” in"));
  g_assert_nonnull (strstr (error->message, "is larger than 1048576 bytes"));
  g_clear_error (&error);

  /* At the cap. */
  b2 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", huge_file, "max-manifest-size", IN_MEMORY_CAP,
                       "max-total-size", G_MAXUINT64, NULL);
  g_assert_null (b2);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "is larger than 268435456 bytes"));
  g_clear_error (&error);
  b2 = g_object_new (RB_TYPE_BUNDLE, "max-manifest-size", IN_MEMORY_CAP, NULL);
  g_object_get (b2, "max-manifest-size", &max, NULL);
  g_assert_cmpuint (max, ==, IN_MEMORY_CAP);

  /* A legacy signature covers the library itself, so verifying without
   * extracting holds the library in memory: within the same cap. */
  b3 = g_initable_new (RB_TYPE_BUNDLE, NULL, &error, "file", legacy_file, NULL);
  g_assert_no_error (error);
  g_assert_false (rb_bundle_verify (b3, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "legacy signature"));
  g_assert_nonnull (strstr (error->message, "librbfixture.so"));
}

static void
test_broken_files (void)
{
  g_autofree char *valid = make ("for-truncation.rbp", NULL);
  g_autofree char *truncated = g_build_filename (workdir, "truncated.rbp", NULL);
  g_autofree char *text = g_build_filename (workdir, "text.rbp", NULL);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (valid, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (truncated, contents, (gssize) (len / 2), NULL));
  g_assert_true (g_file_set_contents (text, "this is not a zip archive\n", -1, NULL));

  open_fails (truncated, RB_BUNDLE_ERROR_INVALID_ARCHIVE, named_in_messages (truncated));
  open_fails (text, RB_BUNDLE_ERROR_INVALID_ARCHIVE, named_in_messages (text));
  open_fails ("/nonexistent/bundle.rbp", RB_BUNDLE_ERROR_NOT_FOUND, "/nonexistent/bundle.rbp");
}

/* Entry names in NFD, as macOS writes them, are the same bytes in the
 * central directory and the local header; libarchive composes the names
 * of entries flagged UTF-8 into NFC, which is no reason to refuse. */
static void
test_decomposed_names (void)
{
  const char *nfd = "docs/e\xcc\x81.txt";          /* e + COMBINING ACUTE ACCENT */
  const char *nfc = "docs/\xc3\xa9.txt";           /* é */
  g_autofree char *doc = g_build_filename (workdir, "doc.txt", NULL);
  g_autofree char *nfd_arg = NULL, *nfc_arg = NULL, *flags_arg = NULL;
  g_autofree char *flagged = NULL, *unflagged = NULL, *both = NULL;

  g_assert_true (g_file_set_contents (doc, "hello", -1, NULL));
  nfd_arg = g_strdup_printf ("%s=%s", nfd, doc);
  nfc_arg = g_strdup_printf ("%s=%s", nfc, doc);
  flags_arg = g_strdup_printf ("%s:flags=0", nfd);
  flagged = make ("nfd.rbp", "--file", nfd_arg, NULL);
  unflagged = make ("nfd-no-utf8-flag.rbp", "--file", nfd_arg, "--zip-edit", flags_arg, NULL);
  both = make ("nfd-and-nfc.rbp", "--file", nfd_arg, "--file", nfc_arg, NULL);

  for (guint i = 0; i < 3; i++)
    {
      const char *path = i == 0 ? flagged : i == 1 ? unflagged : both;
      g_autoptr(RbBundle) bundle = open_ok (path);
      g_autoptr(RbPlugin) plugin = load_ok (bundle, NULL);
      g_auto(GStrv) files = rb_bundle_list_files (bundle);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = rb_bundle_read_file (bundle, nfd, &error);

      g_assert_true (RB_IS_PLUGIN (plugin));
      g_assert_no_error (error);
      g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), "hello", 5);
      g_assert_true (g_strv_contains ((const char * const *) files, nfd));
      /* The name is the bytes as stored: no other form finds it. */
      if (i < 2)
        {
          g_autoptr(GBytes) other = rb_bundle_read_file (bundle, nfc, &error);
          g_assert_null (other);
          g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_ENTRY_NOT_FOUND);
        }
      else
        {
          /* Two names that look alike are two entries, each read as itself. */
          g_autoptr(GBytes) other = rb_bundle_read_file (bundle, nfc, &error);
          g_assert_no_error (error);
          g_assert_nonnull (other);
          g_assert_true (g_strv_contains ((const char * const *) files, nfc));
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  if (!rb_bundle_test_init (&argc, &argv))
    return g_test_run ();

  g_test_add_func ("/bundle/changed-after-open", test_changed_after_open);
  g_test_add_func ("/bundle/unsafe-archives", test_unsafe_archives);
  g_test_add_func ("/bundle/zip-structure", test_zip_structure);
  g_test_add_func ("/bundle/zip-records", test_zip_records);
  g_test_add_func ("/bundle/zip-layouts", test_zip_layouts);
  g_test_add_func ("/bundle/names-in-messages", test_names_in_messages);
  g_test_add_func ("/bundle/limits", test_limits);
  g_test_add_func ("/bundle/declared-sizes", test_declared_sizes);
  g_test_add_func ("/bundle/broken-files", test_broken_files);
  g_test_add_func ("/bundle/decomposed-names", test_decomposed_names);

  return rb_bundle_test_run ();
}
