/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle, signatures: verification modes, tampered content, keys, the
 * minisign formats, and what a bundle may make the library log. Bundles are made at test time by
 * tests/bundle/rb-make-bundle.py and signed with Debian's minisign tool (see
 * bundle-test-util.h).
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "bundle-test-util.h"
#include "rb-test-util.h"

static void
test_verify_modes_unsigned (void)
{
  g_autofree char *path = make_unsigned ("unsigned.rbp", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) warned = NULL;
  g_autoptr(RbPlugin) skipped = NULL;

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_MISSING, "manifest.json");

  g_ptr_array_set_size (warnings, 0);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  warned = load_ok (bundle, NULL);
  g_assert_true (warned_about ("manifest.json is not verified"));
  g_assert_true (warned_about ("librbfixture.so is not verified"));

  g_ptr_array_set_size (warnings, 0);
  g_object_set (bundle, "verify-mode", RB_VERIFY_MODE_SKIP, NULL);
  skipped = load_ok (bundle, NULL);
  g_assert_cmpuint (warnings->len, ==, 0);
}

static void
test_unsigned_library (void)
{
  g_autofree char *path = make ("unsigned-lib.rbp", "--unsigned-library", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) plugin = NULL;

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_MISSING, "librbfixture.so");
  g_ptr_array_set_size (warnings, 0);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  plugin = load_ok (bundle, NULL);
  g_assert_true (warned_about ("librbfixture.so is not verified"));
  g_assert_false (warned_about ("manifest.json is not verified"));
}

static void
test_tampered (void)
{
  g_autofree char *lib = make ("tampered-lib.rbp", "--tamper", "library", NULL);
  g_autofree char *man = make ("tampered-manifest.rbp", "--tamper", "manifest", NULL);
  g_autofree char *tc = make ("tampered-comment.rbp", "--tamper", "trusted-comment", NULL);
  g_autoptr(RbBundle) b1 = open_ok (lib);
  g_autoptr(RbBundle) b2 = open_ok (man);
  g_autoptr(RbBundle) b3 = open_ok (tc);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  g_autoptr(GFile) out = NULL;
  g_autoptr(RbPlugin) skipped = NULL;

  load_fails (b1, NULL, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, "librbfixture.so");
  /* Checksums are checked whatever the mode. */
  rb_bundle_set_verify_mode (b1, RB_VERIFY_MODE_SKIP);
  load_fails (b1, NULL, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, NULL);
  /* And a failed extraction into a caller's directory leaves it empty. */
  out = rb_bundle_extract_library (b1, NULL, dest, NULL, &error);
  g_assert_null (out);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
  g_assert_cmpuint (count_entries (dir), ==, 0);

  load_fails (b2, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "manifest.json.minisig");
  rb_bundle_set_verify_mode (b2, RB_VERIFY_MODE_SKIP);
  skipped = load_ok (b2, NULL);

  load_fails (b3, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "trusted comment");
  rb_bundle_set_verify_mode (b3, RB_VERIFY_MODE_WARN);
  load_fails (b3, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "trusted comment");
  g_rmdir (dir);
}

static char *
read_key_line (const char *path)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  return g_strdup (lines[1]);
}

/* The key id minisign prints in a .pub file's untrusted comment. */
static char *
key_id_of (const char *pub_path)
{
  g_autofree char *text = NULL;
  const char *id;

  g_assert_true (g_file_get_contents (pub_path, &text, NULL, NULL));
  id = strstr (text, "public key ");
  g_assert_nonnull (id);
  id += strlen ("public key ");
  return g_strndup (id, strcspn (id, "\r\n"));
}

static void
test_keys (void)
{
  g_autofree char *path = make ("keys.rbp", NULL);
  g_autofree char *wrong_embedded = NULL;
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autofree char *k2 = read_key_line (pub2);
  g_autofree char *k1 = read_key_line (pub);
  g_autofree char *pub_text = NULL;
  guchar *raw1, *raw2;
  gsize len1, len2;
  g_autofree char *same_id = NULL;
  g_autofree char *id1 = key_id_of (pub);
  g_autofree char *id2 = key_id_of (pub2);
  g_autofree char *mismatch = g_strdup_printf ("key id mismatch: signed by %s, the trusted key is %s", id1, id2);
  g_autoptr(RbPlugin) plugin = NULL;

  /* Another key: its id differs from the signature's; the message names
   * both ids as minisign prints them. */
  rb_bundle_set_public_key (bundle, k2);
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, mismatch);

  raw1 = g_base64_decode (k1, &len1);
  raw2 = g_base64_decode (k2, &len2);
  g_assert_cmpuint (len1, ==, 42);

  /* An id whose top byte is zero is shown without leading zeros, as
   * minisign shows it. */
  memcpy (raw2 + 2, (const guint8[]) { 1, 2, 3, 4, 5, 6, 7, 0 }, 8);
  {
    g_autofree char *small_id_key = g_base64_encode (raw2, len2);
    g_autofree char *needle = g_strdup_printf ("signed by %s, the trusted key is 7060504030201", id1);

    rb_bundle_set_public_key (bundle, small_id_key);
    load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, needle);
  }

  /* Key 2's public key under key 1's id: the signature itself fails. */
  memcpy (raw2 + 2, raw1 + 2, 8);
  same_id = g_base64_encode (raw2, len2);
  g_free (raw1);
  g_free (raw2);
  rb_bundle_set_public_key (bundle, same_id);
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "does not match");

  /* A whole .pub file is accepted too. */
  g_assert_true (g_file_get_contents (pub, &pub_text, NULL, NULL));
  rb_bundle_set_public_key (bundle, pub_text);
  plugin = load_ok (bundle, NULL);
  g_clear_object (&plugin);

  rb_bundle_set_public_key (bundle, "not a key");
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "public-key property");

  /* The manifest's key is not the one trusted: key 1 (in the user's
   * trusted-keys directory) verifies a bundle that carries key 2, even
   * with trust-embedded-key (a trusted key comes first); so does the
   * caller's key. */
  wrong_embedded = make ("wrong-embedded.rbp", "--public-key", pub2, NULL);
  {
    g_autoptr(RbBundle) b = open_ok (wrong_embedded);
    g_autoptr(RbPlugin) p = NULL;
    p = load_ok (b, NULL);
    g_clear_object (&p);
    rb_bundle_set_trust_embedded_key (b, TRUE);
    p = load_ok (b, NULL);
    g_clear_object (&p);
    rb_bundle_set_public_key (b, k1);
    p = load_ok (b, NULL);
  }
}

/* The trusted comment is signed as written, trailing white space
 * included; only line ends (LF or CRLF) are not part of it. */
static void
test_trusted_comment_whitespace (void)
{
  g_autofree char *spaces = make ("comment-spaces.rbp", "--trusted-comment", "file:manifest.json  ", NULL);
  g_autofree char *crlf = make ("comment-crlf.rbp", "--crlf-signatures", NULL);
  g_autofree char *added = make ("comment-added-space.rbp", "--tamper", "trusted-comment-space", NULL);
  g_autoptr(RbBundle) b1 = open_ok (spaces);
  g_autoptr(RbBundle) b2 = open_ok (crlf);
  g_autoptr(RbBundle) b3 = open_ok (added);
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_bundle_verify (b1, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (rb_bundle_verify (b2, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (rb_bundle_verify (b3, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID);
  g_assert_nonnull (strstr (error->message, "trusted comment"));
}

static void
test_no_public_key (void)
{
  /* Signed with key 2, which no trusted-keys directory holds. */
  const char *extra[] = { "--set", "public_key=null", NULL };
  g_autofree char *path = rb_test_make_bundle (workdir, "nokey.rbp", key2, pub2, extra);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *k2 = read_key_line (pub2);

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_NO_PUBLIC_KEY, "public-key");
  rb_bundle_set_trust_embedded_key (bundle, TRUE);    /* there is none */
  load_fails (bundle, NULL, RB_BUNDLE_ERROR_NO_PUBLIC_KEY, "public-key");
  rb_bundle_set_public_key (bundle, k2);
  plugin = load_ok (bundle, NULL);
}

static void
test_legacy_signature (void)
{
  g_autofree char *path = make ("legacy.rbp", "--legacy-signatures", NULL);
  g_autofree char *tampered = make ("legacy-tampered.rbp", "--legacy-signatures", "--tamper", "manifest", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) bad = open_ok (tampered);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
  plugin = load_ok (bundle, NULL);
  load_fails (bad, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, NULL);
}

/* A zero-length entry, wherever it is, gives an error and leaves nothing
 * on disk; an empty .minisig crashed every verifying call. */
static void
test_empty_entries (void)
{
  g_autofree char *lib = g_strdup_printf ("lib/%s/release/librbfixture.so", rb_bundle_get_current_platform ());
  g_autofree char *lib_sig = g_strconcat (lib, ".minisig", NULL);
  g_autofree char *empty_file = g_build_filename (workdir, "empty.so", NULL);
  g_autofree char *empty_schema = g_build_filename (workdir, "empty-schema.json", NULL);
  g_autofree char *empty_variant = NULL;
  g_autofree char *empty_schema_arg = NULL;
  g_autofree char *m = make ("e-manifest.rbp", "--empty", "manifest.json", NULL);
  g_autofree char *dir = g_dir_make_tmp ("dest-XXXXXX", NULL);
  g_autoptr(GFile) dest = g_file_new_for_path (dir);
  const struct {
    const char *entry;
    int         code;
    const char *needle;
  } cases[] = {
    { "manifest.json.minisig", RB_BUNDLE_ERROR_SIGNATURE_INVALID, "“manifest.json.minisig”: the file is empty" },
    { lib_sig, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "librbfixture.so.minisig”: the file is empty" },
    { lib, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH, "librbfixture.so" },
  };

  open_fails (m, RB_BUNDLE_ERROR_INVALID_MANIFEST, "manifest.json");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *name = g_strdup_printf ("e-%" G_GSIZE_FORMAT ".rbp", i);
      g_autofree char *path = make (name, "--empty", cases[i].entry, NULL);
      g_autoptr(RbBundle) bundle = open_ok (path);

      for (guint mode = 0; mode < 2; mode++)
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GFile) out = NULL;

          /* A signature that is there but broken fails in WARN mode too. */
          rb_bundle_set_verify_mode (bundle, mode == 0 ? RB_VERIFY_MODE_STRICT : RB_VERIFY_MODE_WARN);
          load_fails (bundle, NULL, cases[i].code, cases[i].needle);
          g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
          g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
          g_clear_error (&error);
          g_assert_false (rb_bundle_verify (bundle, NULL, NULL, NULL));
          out = rb_bundle_extract_library (bundle, NULL, dest, NULL, &error);
          g_assert_null (out);
          g_assert_error (error, RB_BUNDLE_ERROR, cases[i].code);
          g_assert_null (rb_bundle_extract_library (bundle, NULL, dest, NULL, NULL));
          g_assert_null (rb_bundle_load_plugin (bundle, NULL, NULL, NULL, NULL));
          g_assert_cmpuint (count_entries (dir), ==, 0);
        }
    }

  /* Empty files the manifest vouches for (checksums and signatures of no
   * bytes) are still no library and no schema. */
  g_assert_true (g_file_set_contents (empty_file, "", 0, NULL));
  g_assert_true (g_file_set_contents (empty_schema, "", 0, NULL));
  empty_variant = g_strdup_printf ("empty=%s", empty_file);
  empty_schema_arg = g_strdup_printf ("nothing=%s", empty_schema);
  {
    g_autofree char *path = make ("e-vouched.rbp", "--variant", empty_variant, "--schema", empty_schema_arg, NULL);
    g_autoptr(RbBundle) bundle = open_ok (path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GFile) out = NULL;
    g_autoptr(GBytes) schema = NULL;

    load_fails (bundle, "empty", RB_BUNDLE_ERROR_INVALID_ARCHIVE, "empty.so” is empty");
    g_assert_false (rb_bundle_verify (bundle, "empty", NULL, &error));
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_clear_error (&error);
    out = rb_bundle_extract_library (bundle, "empty", dest, NULL, &error);
    g_assert_null (out);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_clear_error (&error);
    schema = rb_bundle_read_schema (bundle, "nothing", &error);
    g_assert_null (schema);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_assert_nonnull (strstr (error->message, "(“schema/empty-schema.json”) is empty"));
    g_clear_error (&error);
    out = rb_bundle_extract_schema (bundle, "nothing", dest, &error);
    g_assert_null (out);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
    g_assert_null (rb_bundle_extract_schema (bundle, "nothing", dest, NULL));
    g_assert_cmpuint (count_entries (dir), ==, 0);
  }
  /* A schema emptied after signing fails its checksum. */
  {
    g_autofree char *path = make ("e-schema.rbp", "--schema", "echo=fixture-raw.h", "--empty", "schema/fixture-raw.h",
                                  NULL);
    g_autoptr(RbBundle) bundle = open_ok (path);
    g_autoptr(GError) error = NULL;
    g_autoptr(GFile) out = rb_bundle_extract_schema (bundle, "echo", dest, &error);

    g_assert_null (out);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_CHECKSUM_MISMATCH);
    g_assert_cmpuint (count_entries (dir), ==, 0);
  }
  g_rmdir (dir);
}

/* A .minisig is four lines and an optional final newline, as minisign
 * writes it: anything after the global signature is refused. */
static void
test_signature_trailing_line (void)
{
  g_autofree char *path = make ("sig-trailing.rbp", "--tamper", "signature-trailing-line", NULL);
  g_autofree char *crlf = make ("sig-trailing-crlf.rbp", "--tamper", "signature-trailing-line",
                                "--crlf-signatures", NULL);
  g_autoptr(RbBundle) bundle = open_ok (path);
  g_autoptr(RbBundle) bundle_crlf = open_ok (crlf);
  g_autoptr(GError) error = NULL;

  load_fails (bundle, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "after the global signature");
  load_fails (bundle_crlf, NULL, RB_BUNDLE_ERROR_SIGNATURE_INVALID, "after the global signature");
  g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_INVALID);
  g_assert_nonnull (strstr (error->message, "manifest.json.minisig"));
}

/* Nothing a bundle holds makes the library log a WARNING or CRITICAL (an
 * abort in a GTest program or with G_DEBUG=fatal-warnings): WARN mode
 * reports unsigned content, and a newer rustbridge is reported, as
 * messages. Run in a subprocess so that an abort is a failed test. */
static void
test_hostile_never_warns (void)
{
  if (g_test_subprocess ())
    {
      g_autofree char *unsigned_path = make_unsigned ("hw-unsigned.rbp", NULL);
      g_autofree char *unsigned_lib = make ("hw-unsigned-lib.rbp", "--unsigned-library", NULL);
      g_autofree char *no_key = make ("hw-no-key.rbp", "--set", "public_key=null", NULL);
      g_autofree char *future = make_unsigned ("hw-future.rbp", "--set", "api={\"min_rustbridge_version\":\"9.9.0\"}",
                                               NULL);
      const char * const paths[] = { unsigned_path, unsigned_lib, future };

      g_log_set_always_fatal (G_LOG_FATAL_MASK | G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL);
      for (gsize i = 0; i < G_N_ELEMENTS (paths); i++)
        {
          g_autoptr(RbBundle) bundle = open_ok (paths[i]);
          g_autoptr(RbPlugin) plugin = NULL;
          g_autoptr(GError) error = NULL;

          rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
          g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
          g_assert_no_error (error);
          plugin = load_ok (bundle, NULL);
        }
      {
        /* Signed, but no key to check it with. */
        g_autoptr(RbBundle) bundle = open_ok (no_key);
        g_autoptr(RbPlugin) plugin = NULL;

        rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
        plugin = load_ok (bundle, NULL);
      }
      g_assert_true (warned_about ("manifest.json is not verified"));
      g_assert_true (warned_about ("librbfixture.so is not verified"));
      g_assert_true (warned_about ("9.9.0"));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  if (!rb_bundle_test_init (&argc, &argv))
    return g_test_run ();

  g_test_add_func ("/bundle/verify-modes-unsigned", test_verify_modes_unsigned);
  g_test_add_func ("/bundle/unsigned-library", test_unsigned_library);
  g_test_add_func ("/bundle/tampered", test_tampered);
  g_test_add_func ("/bundle/keys", test_keys);
  g_test_add_func ("/bundle/trusted-comment-whitespace", test_trusted_comment_whitespace);
  g_test_add_func ("/bundle/no-public-key", test_no_public_key);
  g_test_add_func ("/bundle/legacy-signature", test_legacy_signature);
  g_test_add_func ("/bundle/empty-entries", test_empty_entries);
  g_test_add_func ("/bundle/signature-trailing-line", test_signature_trailing_line);
  g_test_add_func ("/bundle/hostile-never-warns", test_hostile_never_warns);

  return rb_bundle_test_run ();
}
