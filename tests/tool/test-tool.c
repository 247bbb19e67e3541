/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-tool, run as a user would: keys, bundles checked by Debian's
 * minisign and loaded through RbBundle in STRICT mode, reproducibility,
 * tampering, re-signing, and the one-line errors of every command.
 */
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include <archive.h>
#include <archive_entry.h>
#include <glib/gstdio.h>
#include <rustbridge-glib.h>

typedef struct {
  char *dir;
} Fixture;

/* libsodium's lowest scrypt limits: a password key in milliseconds. */
#define KDF_LIMITS_LOW "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS=32768:16777216"

typedef struct {
  char *name;
  GBytes *data;
} Entry;

static const char *
tool (void)
{
  const char *path = g_getenv ("RBT_TOOL");
  g_assert_nonnull (path);
  return path;
}

static const char *
fixture_plugin (void)
{
  const char *path = g_getenv ("RB_FIXTURE_PLUGIN");
  g_assert_nonnull (path);
  return path;
}

static const char *
platform (void)
{
  return rb_bundle_get_current_platform ();
}

/* Runs the tool with @args (NULL-terminated) and @env additions
 * ("NAME=VALUE", NULL-terminated, may be NULL) in @cwd. */
static int
run_tool_full (const char         *cwd,
               const char *const  *env,
               const char         *stdin_text,
               char              **out,
               char              **err,
               const char         *first,
               va_list             ap)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *o = NULL;
  g_autofree char *e = NULL;
  GSubprocessFlags flags = G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE;

  g_ptr_array_add (argv, (gpointer) tool ());
  for (const char *a = first; a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  g_ptr_array_add (argv, NULL);
  if (stdin_text != NULL)
    flags |= G_SUBPROCESS_FLAGS_STDIN_PIPE;
  launcher = g_subprocess_launcher_new (flags);
  if (cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, cwd);
  g_subprocess_launcher_unsetenv (launcher, "RUSTBRIDGE_TOOL_PASSWORD");
  g_subprocess_launcher_unsetenv (launcher, "SOURCE_DATE_EPOCH");
  g_subprocess_launcher_unsetenv (launcher, "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS");
  for (guint i = 0; env != NULL && env[i] != NULL; i++)
    {
      g_auto(GStrv) kv = g_strsplit (env[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, kv[0], kv[1], TRUE);
    }
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, stdin_text, NULL, &o, &e, &error);
  g_assert_no_error (error);
  if (out != NULL)
    *out = g_steal_pointer (&o);
  if (err != NULL)
    *err = g_steal_pointer (&e);
  return g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process) : 255;
}

static int G_GNUC_NULL_TERMINATED
run_tool (const char         *cwd,
          const char *const  *env,
          char              **out,
          char              **err,
          const char         *first,
          ...)
{
  va_list ap;
  int status;

  va_start (ap, first);
  status = run_tool_full (cwd, env, NULL, out, err, first, ap);
  va_end (ap);
  return status;
}

/* A failure: non-zero, exactly one line on stderr naming a domain and a code. */
static void
assert_one_line_error (int         status,
                       const char *err)
{
  g_assert_cmpint (status, !=, 0);
  g_assert_nonnull (err);
  g_assert_true (g_str_has_prefix (err, "rustbridge-tool"));
  g_assert_true (g_str_has_suffix (err, ")\n"));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
  g_assert_nonnull (strstr (err, "-quark "));
}

/* Runs @argv (minisign) in @cwd with @stdin_text on its standard input;
 * 0 when it succeeds. */
static int
run_cmd_input (const char         *cwd,
               const char         *stdin_text,
               char              **out,
               const char *const  *argv)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *o = NULL;

  /* Captured even when unused: minisign's messages are not TAP. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, cwd);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, stdin_text != NULL ? stdin_text : "", NULL, &o, NULL, &error);
  g_assert_no_error (error);
  if (out != NULL)
    *out = g_steal_pointer (&o);
  return g_subprocess_get_successful (process) ? 0 : 1;
}

static int
run_cmd (const char        *cwd,
         char             **out,
         const char *const *argv)
{
  return run_cmd_input (cwd, NULL, out, argv);
}

static GBytes *
read_bytes (const char *path)
{
  char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (data, len);
}

static void
write_bytes (const char *path,
             GBytes     *bytes)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
}

static void
entry_free (Entry *e)
{
  g_free (e->name);
  g_bytes_unref (e->data);
  g_free (e);
}

/* The entries of a ZIP, in order, read with libarchive. */
static GPtrArray *
read_zip (const char *path)
{
  GPtrArray *entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  struct archive *a = archive_read_new ();
  struct archive_entry *entry;

  archive_read_support_format_zip (a);
  g_assert_cmpint (archive_read_open_filename (a, path, 65536), ==, ARCHIVE_OK);
  while (archive_read_next_header (a, &entry) == ARCHIVE_OK)
    {
      GByteArray *data = g_byte_array_new ();
      char buf[65536];
      la_ssize_t n;
      Entry *e = g_new0 (Entry, 1);

      while ((n = archive_read_data (a, buf, sizeof buf)) > 0)
        g_byte_array_append (data, (guint8 *) buf, (guint) n);
      g_assert_cmpint (n, ==, 0);
      e->name = g_strdup (archive_entry_pathname (entry));
      e->data = g_byte_array_free_to_bytes (data);
      g_ptr_array_add (entries, e);
    }
  archive_read_free (a);
  return entries;
}

static void
write_zip (const char *path,
           GPtrArray  *entries)
{
  struct archive *a = archive_write_new ();

  archive_write_set_format_zip (a);
  g_assert_cmpint (archive_write_open_filename (a, path), ==, ARCHIVE_OK);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *e = entries->pdata[i];
      struct archive_entry *entry = archive_entry_new ();
      gsize len;
      const void *data = g_bytes_get_data (e->data, &len);

      archive_entry_set_pathname (entry, e->name);
      archive_entry_set_filetype (entry, AE_IFREG);
      archive_entry_set_perm (entry, 0644);
      archive_entry_set_size (entry, (la_int64_t) len);
      g_assert_cmpint (archive_write_header (a, entry), ==, ARCHIVE_OK);
      if (len > 0)
        g_assert_cmpint (archive_write_data (a, data, len), ==, (la_ssize_t) len);
      archive_entry_free (entry);
    }
  g_assert_cmpint (archive_write_close (a), ==, ARCHIVE_OK);
  archive_write_free (a);
}

static Entry *
find_entry (GPtrArray  *entries,
            const char *name)
{
  for (guint i = 0; i < entries->len; i++)
    if (strcmp (((Entry *) entries->pdata[i])->name, name) == 0)
      return entries->pdata[i];
  g_assert_not_reached ();
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("rbt-test-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

static char *
path_in (Fixture    *f,
         const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static void
keygen_plain (Fixture *f)
{
  g_autofree char *err = NULL;
  int status = run_tool (f->dir, NULL, NULL, &err, "keygen", "-W", "-p", "k.pub", "-s", "k.key", NULL);

  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (status, ==, 0);
}

/* A signed bundle of the fixture plugin (and a debug variant, a schema,
 * licence, notices and an SBOM) made in @f->dir as @name. */
static void
create_bundle (Fixture    *f,
               const char *name,
               const char *epoch)
{
  g_autofree char *lib = g_strdup_printf ("%s=%s", platform (), fixture_plugin ());
  g_autofree char *debug = g_strdup_printf ("%s:debug=%s", platform (), fixture_plugin ());
  g_autofree char *env_epoch = g_strdup_printf ("SOURCE_DATE_EPOCH=%s", epoch);
  const char *env[] = { env_epoch, NULL };
  g_autofree char *err = NULL;
  int status;

  g_file_set_contents (g_build_filename (f->dir, "echo.json", NULL), "{\"type\":\"object\"}", -1, NULL);
  g_file_set_contents (g_build_filename (f->dir, "LICENSE", NULL), "MIT licence text\n", -1, NULL);
  g_file_set_contents (g_build_filename (f->dir, "NOTICES", NULL), "third-party notices\n", -1, NULL);
  g_file_set_contents (g_build_filename (f->dir, "bom.json", NULL), "{\"bomFormat\":\"CycloneDX\"}", -1, NULL);
  status = run_tool (f->dir, env, NULL, &err, "create", "-o", name, "--name", "fixture", "--version", "1.2.3",
                     "--lib", lib, "--lib", debug, "--schema", "echo=echo.json", "--license-file", "LICENSE",
                     "--notices", "NOTICES", "--sbom", "bom.json", "--description", "The fixture plugin",
                     "--authors", "Ada, Grace", "--license", "MIT", "--sign", "k.key", NULL);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (status, ==, 0);
}

static void
test_version_and_help (Fixture       *f,
                       gconstpointer  data)
{
  static const char *const commands[] = { "keygen", "create", "sign", "verify", "info", "list", "extract",
                                          "schema", "call" };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpint (run_tool (NULL, NULL, &out, NULL, "--version", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "rustbridge-tool "));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *help = NULL;
      g_assert_cmpint (run_tool (NULL, NULL, &help, NULL, commands[i], "--help", NULL), ==, 0);
      g_assert_nonnull (strstr (help, "Usage:"));
      g_assert_nonnull (strstr (help, commands[i]));
    }
  g_assert_cmpint (run_tool (NULL, NULL, NULL, &err, "frobnicate", NULL), ==, 2);
  assert_one_line_error (2, err);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (NULL, NULL, NULL, &err, "create", "--no-such-option", NULL), ==, 2);
  assert_one_line_error (2, err);
}

static guint8 *
decode_key_line (const char *path,
                 gsize      *len)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_true (g_str_has_prefix (lines[0], "untrusted comment: "));
  return g_base64_decode (lines[1], len);
}

static void
test_keygen_without_password (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree guint8 *sk = NULL;
  g_autofree guint8 *pk = NULL;
  g_autofree char *pub = path_in (f, "k.pub");
  g_autofree char *key = path_in (f, "k.key");
  g_autofree char *msg = path_in (f, "m.txt");
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  g_autofree char *err = NULL;
  gsize len;
  static const guint8 zeros[48] = { 0 };
  struct stat st;

  keygen_plain (f);
  sk = decode_key_line (key, &len);
  g_assert_cmpuint (len, ==, 158);
  g_assert_cmpmem (sk, 6, "Ed\0\0B2", 6);
  g_assert_cmpmem (sk + 6, 48, zeros, 48);     /* no salt, no limits without a password */
  pk = decode_key_line (pub, &len);
  g_assert_cmpuint (len, ==, 42);
  g_assert_cmpmem (pk, 2, "Ed", 2);
  g_assert_cmpmem (pk + 2, 8, sk + 54, 8);     /* the same key id */
  g_assert_cmpint (g_stat (key, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  /* Debian's minisign signs with it, and verifies with the public key. */
  g_file_set_contents (msg, "hello", -1, NULL);
  {
    const char *sign[] = { "minisign", "-S", "-s", key, "-m", msg, NULL };
    const char *verify[] = { "minisign", "-V", "-p", pub, "-m", msg, NULL };
    g_assert_cmpint (run_cmd (f->dir, NULL, sign), ==, 0);
    g_assert_cmpint (run_cmd (f->dir, NULL, verify), ==, 0);
  }

  /* Never replaced without --force; with it, both change. */
  before = read_bytes (key);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "keygen", "-W", "-p", "k.pub", "-s", "k.key", NULL), !=, 0);
  assert_one_line_error (1, err);
  after = read_bytes (key);
  g_assert_true (g_bytes_equal (before, after));
  g_clear_pointer (&after, g_bytes_unref);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "keygen", "-W", "-f", "-p", "k.pub", "-s", "k.key", NULL),
                   ==, 0);
  after = read_bytes (key);
  g_assert_false (g_bytes_equal (before, after));

  /* A directory that does not exist: nothing is written. */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "keygen", "-W", "-p", "new.pub", "-s", "no/such/dir/k.key",
                             NULL), !=, 0);
  assert_one_line_error (1, err);
  g_assert_false (g_file_test (g_build_filename (f->dir, "new.pub", NULL), G_FILE_TEST_EXISTS));
}

/* @path is a minisign secret key encrypted with scrypt, the limits
 * @opslimit and @memlimit stored in it. */
static void
assert_password_key (const char *path,
                     guint64     opslimit,
                     guint64     memlimit)
{
  g_autofree guint8 *sk = NULL;
  guint64 ops = 0, mem = 0;
  gsize len;

  sk = decode_key_line (path, &len);
  g_assert_cmpuint (len, ==, 158);
  g_assert_cmpmem (sk, 6, "EdScB2", 6);
  for (guint i = 8; i-- > 0;)
    {
      ops = ops << 8 | sk[38 + i];
      mem = mem << 8 | sk[46 + i];
    }
  g_assert_cmpuint (ops, ==, opslimit);
  g_assert_cmpuint (mem, ==, memlimit);
}

/* A password-protected key with libsodium's lowest scrypt limits (through
 * the test-only RUSTBRIDGE_TOOL_TEST_KDF_LIMITS): stored in the key file,
 * so Debian's minisign uses it as any of its own keys. The limits keygen
 * writes without that variable are checked by /tool/keygen/full-strength. */
static void
test_keygen_password (Fixture       *f,
                      gconstpointer  data)
{
  const char *env[] = { "RUSTBRIDGE_TOOL_PASSWORD=correct horse", KDF_LIMITS_LOW, NULL };
  const char *wrong[] = { "RUSTBRIDGE_TOOL_PASSWORD=wrong", NULL };
  const char *right[] = { "RUSTBRIDGE_TOOL_PASSWORD=correct horse", NULL };
  const char *bad_limits[] = { "RUSTBRIDGE_TOOL_PASSWORD=x", "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS=1:1", NULL };
  g_autofree char *lib = g_strdup_printf ("%s=%s", platform (), fixture_plugin ());
  g_autofree char *key = path_in (f, "p.key");
  g_autofree char *pub = path_in (f, "p.pub");
  g_autofree char *msg = path_in (f, "m.txt");
  g_autofree char *out_path = path_in (f, "p.rbp");
  g_autofree char *err = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *pub_text = NULL;

  /* Limits out of range: refused before anything is written. */
  g_assert_cmpint (run_tool (f->dir, bad_limits, NULL, &err, "keygen", "-p", "p.pub", "-s", "p.key", NULL), ==, 2);
  assert_one_line_error (2, err);
  g_assert_nonnull (strstr (err, "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS"));
  g_assert_false (g_file_test (key, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (pub, G_FILE_TEST_EXISTS));

  /* Weaker limits never go unnoticed: one warning line. */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, env, NULL, &err, "keygen", "-p", "p.pub", "-s", "p.key", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (err, "rustbridge-tool keygen: warning: RUSTBRIDGE_TOOL_TEST_KDF_LIMITS"));
  g_assert_true (strchr (err, '\n') == err + strlen (err) - 1);
  assert_password_key (key, 32768, 16777216);

  /* Debian's minisign decrypts it (the password on its standard input). */
  g_file_set_contents (msg, "hello", -1, NULL);
  {
    const char *sign[] = { "minisign", "-S", "-s", key, "-m", msg, NULL };
    const char *verify[] = { "minisign", "-V", "-p", pub, "-m", msg, NULL };
    g_assert_cmpint (run_cmd_input (f->dir, "wrong\n", NULL, sign), !=, 0);
    g_assert_cmpint (run_cmd_input (f->dir, "correct horse\n", NULL, sign), ==, 0);
    g_assert_cmpint (run_cmd (f->dir, NULL, verify), ==, 0);
  }

  /* The wrong password: a clear error, no bundle. */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, wrong, NULL, &err, "create", "-o", "p.rbp", "--name", "x", "--version", "1.0.0",
                             "--lib", lib, "--sign", "p.key", NULL), ==, 5);
  assert_one_line_error (5, err);
  g_assert_nonnull (strstr (err, "Wrong password"));
  g_assert_false (g_file_test (out_path, G_FILE_TEST_EXISTS));

  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, right, NULL, &err, "create", "-o", "p.rbp", "--name", "x", "--version", "1.0.0",
                             "--lib", lib, "--sign", "p.key", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  bundle = rb_bundle_new_for_path (out_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pub, &pub_text, NULL, NULL));
  g_object_set (bundle, "public-key", pub_text, "verify-mode", RB_VERIFY_MODE_STRICT, NULL);
  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* The one derivation with minisign's own scrypt limits (1 GiB, seconds of
 * CPU): keygen without RUSTBRIDGE_TOOL_TEST_KDF_LIMITS, started when the
 * suite starts so that it runs beside the other tests. */
static struct {
  char *dir;
  GSubprocess *process;
} full_strength;

static void
die_with_parent (gpointer data)
{
  /* An aborted test must not leave seconds of scrypt running. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
full_strength_start (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) error = NULL;

  full_strength.dir = g_dir_make_tmp ("rbt-test-XXXXXX", &error);
  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_cwd (launcher, full_strength.dir);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_unsetenv (launcher, "RUSTBRIDGE_TOOL_TEST_KDF_LIMITS");
  g_subprocess_launcher_setenv (launcher, "RUSTBRIDGE_TOOL_PASSWORD", "correct horse", TRUE);
  full_strength.process = g_subprocess_launcher_spawn (launcher, &error, tool (), "keygen", "-p", "f.pub",
                                                       "-s", "f.key", NULL);
  g_assert_no_error (error);
}

static void
test_keygen_full_strength (void)
{
  g_autofree char *key = g_build_filename (full_strength.dir, "f.key", NULL);
  g_autofree char *pub = g_build_filename (full_strength.dir, "f.pub", NULL);
  g_autofree guint8 *pk = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  g_subprocess_communicate_utf8 (full_strength.process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (err, ==, "");
  g_assert_true (g_subprocess_get_successful (full_strength.process));
  /* minisign's scrypt limits (libsodium's "sensitive" ones). */
  assert_password_key (key, 33554432, 1073741824);
  pk = decode_key_line (pub, &len);
  g_assert_cmpuint (len, ==, 42);
  g_assert_cmpmem (pk, 2, "Ed", 2);
  g_clear_object (&full_strength.process);
  remove_tree (full_strength.dir);
}

static void
test_create_minisign_strict_call (Fixture       *f,
                                  gconstpointer  data)
{
  g_autofree char *bundle_path = path_in (f, "b.rbp");
  g_autofree char *pub = path_in (f, "k.pub");
  g_autofree char *pub_text = NULL;
  g_autofree char *lib_entry = g_strdup_printf ("lib/%s/release/%s", platform (),
                                                g_path_get_basename (fixture_plugin ()));
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  g_autofree char *out = NULL;
  g_autofree char *manifest = NULL;
  const char *files[] = { "manifest.json", lib_entry };

  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");

  /* Debian's minisign checks both signatures, trusted comments included. */
  entries = read_zip (bundle_path);
  g_assert_cmpstr (((Entry *) entries->pdata[0])->name, ==, "manifest.json");
  g_assert_cmpstr (((Entry *) entries->pdata[1])->name, ==, "manifest.json.minisig");
  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *sig_name = g_strconcat (files[i], ".minisig", NULL);
      g_autofree char *file = path_in (f, "signed-file");
      g_autofree char *sig = path_in (f, "signed-file.minisig");
      g_autofree char *expected = g_strdup_printf ("Trusted comment: timestamp:1700000000\tfile:%s\thashed",
                                                   g_path_get_basename (files[i]));
      const char *verify[] = { "minisign", "-V", "-p", pub, "-m", file, "-x", sig, NULL };
      g_autofree char *mout = NULL;

      write_bytes (file, find_entry (entries, files[i])->data);
      write_bytes (sig, find_entry (entries, sig_name)->data);
      g_assert_cmpint (run_cmd (f->dir, &mout, verify), ==, 0);
      g_assert_nonnull (strstr (mout, expected));
    }

  /* The manifest: real fields only, sha256: checksums in lowercase. */
  manifest = g_strndup (g_bytes_get_data (find_entry (entries, "manifest.json")->data, NULL),
                        g_bytes_get_size (find_entry (entries, "manifest.json")->data));
  g_assert_true (g_str_has_prefix (manifest, "{\n  \"bundle_version\": \"1.0\",\n  \"plugin\": {\n"));
  g_assert_nonnull (strstr (manifest, "\"checksum\": \"sha256:"));
  g_assert_null (strstr (manifest, "build_info"));
  g_assert_nonnull (strstr (manifest, "\"license_file\": \"legal/LICENSE\""));
  g_assert_nonnull (strstr (manifest, "\"cyclonedx\": \"sbom/sbom.cdx.json\""));

  /* RbBundle, STRICT, with the key given through the public-key property. */
  bundle = rb_bundle_new_for_path (bundle_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pub, &pub_text, NULL, NULL));
  g_object_set (bundle, "public-key", pub_text, "verify-mode", RB_VERIFY_MODE_STRICT, NULL);
  g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "fixture");
  g_assert_cmpstr (rb_bundle_get_description (bundle), ==, "The fixture plugin");
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"hi\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"hi\",\"length\":2}");
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));

  /* The tool's call: the payload on stdout, an error code as exit status. */
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "call", "b.rbp", "math.add", "{\"a\":40,\"b\":2}",
                             "--key", "k.pub", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"result\":42}\n");
  {
    g_autofree char *err = NULL;
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "call", "b.rbp", "no.such", "{}", "--key", "k.pub",
                               "--log-level", "off", NULL),
                     ==, 10 + RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
    assert_one_line_error (1, err);
    g_assert_nonnull (strstr (err, "RB_PLUGIN_ERROR_UNKNOWN_MESSAGE = 6"));
  }
  {
    g_autofree char *err = NULL;
    g_autofree char *stats_out = NULL;
    g_assert_cmpint (run_tool (f->dir, NULL, &stats_out, &err, "call", "b.rbp", "log.emit",
                               "{\"count\":1,\"level\":\"warn\",\"message\":\"logged\"}", "--key", "k.pub",
                               "--variant", "debug", "--repeat", "20", "--stats", NULL), ==, 0);
    g_assert_nonnull (strstr (err, "logged"));
    g_assert_nonnull (strstr (err, "calls: 20"));
    g_assert_nonnull (strstr (err, "p99"));
  }
  {
    g_autofree char *schema = NULL;
    g_autofree char *json = NULL;
    g_autoptr(JsonParser) parser = json_parser_new ();
    g_assert_cmpint (run_tool (f->dir, NULL, &schema, NULL, "schema", "b.rbp", "echo", NULL), ==, 0);
    g_assert_cmpstr (schema, ==, "{\"type\":\"object\"}");
    g_assert_cmpint (run_tool (f->dir, NULL, &json, NULL, "info", "b.rbp", "--json", NULL), ==, 0);
    g_assert_true (json_parser_load_from_data (parser, json, -1, NULL));
  }
  {
    g_autofree char *extracted = path_in (f, "out/" "legal/LICENSE");
    g_autofree char *lib = g_build_filename (f->dir, "out", lib_entry, NULL);
    g_autofree char *debug = g_strdup_printf ("%s/out/lib/%s/debug", f->dir, platform ());
    g_autofree char *err = NULL;
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "extract", "b.rbp", "--to", "out", "--key", "k.pub",
                               "--variant", "release", NULL), ==, 0);
    g_assert_true (g_file_test (extracted, G_FILE_TEST_IS_REGULAR));
    g_assert_true (g_file_test (lib, G_FILE_TEST_IS_REGULAR));
    g_assert_false (g_file_test (debug, G_FILE_TEST_EXISTS));
    /* Not into a directory that holds files. */
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "extract", "b.rbp", "--to", "out", "--key", "k.pub", NULL),
                     !=, 0);
    assert_one_line_error (1, err);
  }
}

static void
test_reproducible (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *a = path_in (f, "a.rbp");
  g_autofree char *b = path_in (f, "b.rbp");
  g_autofree char *c = path_in (f, "c.rbp");
  g_autoptr(GBytes) ba = NULL;
  g_autoptr(GBytes) bb = NULL;
  g_autoptr(GBytes) bc = NULL;

  keygen_plain (f);
  create_bundle (f, "a.rbp", "1700000000");
  g_usleep (1100 * 1000);    /* a second later: the clock must not matter */
  create_bundle (f, "b.rbp", "1700000000");
  create_bundle (f, "c.rbp", "1700000001");
  ba = read_bytes (a);
  bb = read_bytes (b);
  bc = read_bytes (c);
  g_assert_true (g_bytes_equal (ba, bb));
  g_assert_false (g_bytes_equal (ba, bc));
}

/* Rewrites @bundle with one byte of entry @name changed and runs verify. */
static void
assert_tamper_refused (Fixture    *f,
                       GPtrArray  *entries,
                       const char *name,
                       gsize       offset)
{
  g_autofree char *tampered = path_in (f, "tampered.rbp");
  Entry *e = find_entry (entries, name);
  GBytes *original = e->data;
  gsize len = g_bytes_get_size (original);
  guint8 *copy = g_memdup2 (g_bytes_get_data (original, NULL), len);
  g_autofree char *err = NULL;
  int status;

  copy[offset] ^= 0x01;
  e->data = g_bytes_new_take (copy, len);
  write_zip (tampered, entries);
  g_bytes_unref (e->data);
  e->data = original;
  status = run_tool (f->dir, NULL, NULL, &err, "verify", "-q", "tampered.rbp", "--key", "k.pub", NULL);
  if (status != 3 && status != 4)
    g_error ("flipping byte %" G_GSIZE_FORMAT " of %s: verify exited %d (%s)", offset, name, status, err);
  assert_one_line_error (status, err);
}

/* Flips one byte at each of @n offsets of [@from, @to) in entry @name:
 * one offset drawn in each of @n equal slices, so the sample spreads over
 * the whole range (every byte when @n is as large). The offsets come from
 * g_test_rand_int_range(): the log's “random seed” line, given back with
 * --seed, repeats a run's sample exactly. */
static void
tamper_range (Fixture    *f,
              GPtrArray  *entries,
              const char *name,
              gsize       from,
              gsize       to,
              guint       n)
{
  gsize span = to - from;

  g_assert_cmpuint (from, <, to);
  if (n >= span)
    {
      for (gsize i = from; i < to; i++)
        assert_tamper_refused (f, entries, name, i);
      return;
    }
  for (guint k = 0; k < n; k++)
    {
      gsize lo = from + span * k / n;
      gsize hi = from + span * (k + 1) / n;
      assert_tamper_refused (f, entries, name, lo + (gsize) g_test_rand_int_range (0, (gint32) (hi - lo)));
    }
}

static void
test_tamper (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *bundle_path = path_in (f, "b.rbp");
  g_autofree char *lib_entry = g_strdup_printf ("lib/%s/release/%s", platform (),
                                                g_path_get_basename (fixture_plugin ()));
  g_autofree char *lib_sig = g_strconcat (lib_entry, ".minisig", NULL);
  g_autofree char *rewritten = path_in (f, "tampered.rbp");
  g_autoptr(GPtrArray) entries = NULL;
  const char *sigs[] = { "manifest.json.minisig", lib_sig };
  gsize len;

  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");
  entries = read_zip (bundle_path);

  /* The rewriting itself changes nothing that verify checks. */
  write_zip (rewritten, entries);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "verify", "-q", "tampered.rbp", "--key", "k.pub", NULL), ==, 0);

  /* Bytes of the manifest, spread over all of it (every byte with
   * -m thorough: that run is ~1500 spawns of the tool). */
  len = g_bytes_get_size (find_entry (entries, "manifest.json")->data);
  tamper_range (f, entries, "manifest.json", 0, len, g_test_thorough () ? G_MAXUINT : 40);

  /* Bytes of both signatures after the untrusted comment (the signature,
   * the trusted comment and the global signature), but the final line end. */
  for (guint s = 0; s < G_N_ELEMENTS (sigs); s++)
    {
      GBytes *sig = find_entry (entries, sigs[s])->data;
      const char *text = g_bytes_get_data (sig, &len);
      const char *start = memchr (text, '\n', len);
      g_assert_nonnull (start);
      tamper_range (f, entries, sigs[s], (gsize) (start - text) + 1, len - 1,
                    g_test_thorough () ? G_MAXUINT : 18);
    }

  /* Bytes of the library, spread over all of it, and its last one. */
  len = g_bytes_get_size (find_entry (entries, lib_entry)->data);
  tamper_range (f, entries, lib_entry, 0, len, g_test_thorough () ? 997 : 24);
  assert_tamper_refused (f, entries, lib_entry, len - 1);
}

static void
test_sign (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *bundle_path = path_in (f, "b.rbp");
  g_autofree char *err = NULL;
  g_autoptr(GBytes) before = NULL;
  g_autoptr(GBytes) after = NULL;
  const char *wrong[] = { "RUSTBRIDGE_TOOL_PASSWORD=wrong", NULL };
  struct stat st;

  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");
  g_chmod (bundle_path, 0640);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "keygen", "-W", "-p", "n.pub", "-s", "n.key", NULL), ==, 0);

  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "sign", "b.rbp", "--key", "n.key", NULL), ==, 0);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "verify", "-q", "b.rbp", "--key", "n.pub", NULL), ==, 0);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "verify", "-q", "b.rbp", "--key", "k.pub", NULL), ==, 3);
  assert_one_line_error (3, err);
  g_assert_cmpint (g_stat (bundle_path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0640);

  /* --trusted-keys-dir picks the key whose id signed it. */
  g_mkdir (g_build_filename (f->dir, "keys", NULL), 0700);
  {
    g_autoptr(GBytes) k = read_bytes (g_build_filename (f->dir, "k.pub", NULL));
    g_autoptr(GBytes) n = read_bytes (g_build_filename (f->dir, "n.pub", NULL));
    write_bytes (g_build_filename (f->dir, "keys", "a-old.pub", NULL), k);
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "verify", "-q", "b.rbp", "--trusted-keys-dir", "keys", NULL),
                     ==, 3);
    write_bytes (g_build_filename (f->dir, "keys", "b-new.pub", NULL), n);
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "verify", "-q", "b.rbp", "--trusted-keys-dir", "keys", NULL),
                     ==, 0);
    /* call: the library's RbBundle:trusted-keys-dir. */
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "call", "b.rbp", "math.add", "{\"a\":1,\"b\":2}",
                               "--trusted-keys-dir", "keys", NULL), ==, 0);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "call", "b.rbp", "math.add", "{\"a\":1,\"b\":2}",
                               "--trusted-keys-dir", "no-such-dir", NULL), ==, 3);
    g_assert_nonnull (strstr (err, "trust-embedded-key"));
  }

  /* Failures leave the bundle as it was: a wrong password, a bad key, a
   * library that no longer matches its checksum. */
  before = read_bytes (bundle_path);
  g_file_set_contents (g_build_filename (f->dir, "bad.key", NULL), "untrusted comment: x\nAAAA\n", -1, NULL);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, wrong, NULL, &err, "sign", "b.rbp", "--key", "bad.key", NULL), ==, 5);
  assert_one_line_error (5, err);
  after = read_bytes (bundle_path);
  g_assert_true (g_bytes_equal (before, after));
  {
    g_autoptr(GPtrArray) entries = read_zip (bundle_path);
    g_autofree char *lib_entry = g_strdup_printf ("lib/%s/release/%s", platform (),
                                                  g_path_get_basename (fixture_plugin ()));
    Entry *e = find_entry (entries, lib_entry);
    gsize len = g_bytes_get_size (e->data);
    guint8 *copy = g_memdup2 (g_bytes_get_data (e->data, NULL), len);
    g_autoptr(GBytes) kept = NULL;

    copy[len / 2] ^= 0x80;
    g_bytes_unref (e->data);
    e->data = g_bytes_new_take (copy, len);
    write_zip (bundle_path, entries);
    kept = read_bytes (bundle_path);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "sign", "b.rbp", "--key", "n.key", NULL), ==, 3);
    assert_one_line_error (3, err);
    g_clear_pointer (&after, g_bytes_unref);
    after = read_bytes (bundle_path);
    g_assert_true (g_bytes_equal (kept, after));
  }
  /* No temporary files left behind. */
  {
    g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (name[0] == '.');
  }
}

/* A library beyond the 16 MiB rb_bundle_read_file() reads: the tool never
 * reads libraries through it, so every command handles it (up to the
 * 1 GiB library limit). The fixture plugin with 16 MiB of zeros after it
 * still loads. */
#define PADDING (16 * 1024 * 1024)

static void
test_large_library (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) plugin = read_bytes (fixture_plugin ());
  g_autoptr(GByteArray) padded = g_byte_array_new ();
  g_autofree char *big = path_in (f, "libbig.so");
  g_autofree char *lib = g_strdup_printf ("%s=libbig.so", platform ());
  g_autofree char *extracted = g_strdup_printf ("%s/out/lib/%s/release/libbig.so", f->dir, platform ());
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GBytes) copy = NULL;
  g_autoptr(GBytes) original = NULL;
  gsize plugin_len;
  const guint8 *plugin_data = g_bytes_get_data (plugin, &plugin_len);

  g_byte_array_append (padded, plugin_data, (guint) plugin_len);
  g_byte_array_set_size (padded, (guint) plugin_len + PADDING);
  memset (padded->data + plugin_len, 0, PADDING);
  g_assert_true (g_file_set_contents (big, (const char *) padded->data, padded->len, NULL));
  keygen_plain (f);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "create", "-o", "big.rbp", "--name", "big", "--version",
                             "1.0.0", "--lib", lib, "--sign", "k.key", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "verify", "-q", "big.rbp", "--key", "k.pub", NULL), ==, 0);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "sign", "big.rbp", "--key", "k.key", NULL), ==, 0);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "extract", "big.rbp", "--to", "out", "--key", "k.pub", NULL),
                   ==, 0);
  original = read_bytes (big);
  copy = read_bytes (extracted);
  g_assert_true (g_bytes_equal (original, copy));
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "call", "big.rbp", "math.add", "{\"a\":40,\"b\":2}",
                             "--key", "k.pub", "--log-level", "off", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"result\":42}\n");
}

/* verify checks every platform's library itself: rb_bundle_verify() only
 * checks the one this machine would load. */
static void
test_verify_other_platform (Fixture       *f,
                            gconstpointer  data)
{
  const char *other = g_str_equal (platform (), "linux-aarch64") ? "linux-x86_64" : "linux-aarch64";
  g_autofree char *lib = g_strdup_printf ("%s=%s", other, fixture_plugin ());
  g_autofree char *lib_entry = g_strdup_printf ("lib/%s/release/%s", other, g_path_get_basename (fixture_plugin ()));
  g_autofree char *lib_sig = g_strconcat (lib_entry, ".minisig", NULL);
  g_autofree char *bundle_path = path_in (f, "o.rbp");
  g_autofree char *out = NULL;
  g_autoptr(GPtrArray) entries = NULL;

  keygen_plain (f);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "create", "-o", "o.rbp", "--name", "other", "--version",
                             "1.0.0", "--lib", lib, "--sign", "k.key", NULL), ==, 0);
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "verify", "o.rbp", "--key", "k.pub", NULL), ==, 0);
  g_assert_nonnull (strstr (out, lib_entry));
  g_assert_nonnull (strstr (out, "checksum and signature OK"));
  entries = read_zip (bundle_path);
  assert_tamper_refused (f, entries, lib_entry, g_bytes_get_size (find_entry (entries, lib_entry)->data) / 2);
  assert_tamper_refused (f, entries, lib_sig, 100);
}

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *lib = g_strdup_printf ("%s=%s", platform (), fixture_plugin ());
  struct {
    int status;
    const char *args[12];
  } cases[] = {
    { 2, { "keygen", "-W", NULL } },
    { 1, { "create", "-o", "x.rbp", "--name", "x", "--version", "1.0.0", "--lib", "linux-x86_64=missing.so", NULL } },
    { 2, { "create", "-o", "x.rbp", "--name", "x", "--version", "1.0.0", "--lib", "plan9-mips=lib.so", NULL } },
    { 2, { "create", "-o", "x.rbp", "--name", "Bad Name", "--version", "1.0.0", "--lib", lib, NULL } },
    { 2, { "create", "-o", "x.rbp", "--name", "x", "--version", "1.0.0", "--lib", "linux-x86_64:debug=a.so", NULL } },
    { 5, { "create", "-o", "x.rbp", "--name", "x", "--version", "1.0.0", "--lib", lib, "--sign", "garbage.key", NULL } },
    { 1, { "create", "-o", "x.rbp", "--name", "x", "--version", "1.0.0", "--lib", lib, "--sign", "missing.key", NULL } },
    { 4, { "verify", "missing.rbp", NULL } },
    { 4, { "verify", "garbage.key", NULL } },
    { 5, { "verify", "b.rbp", "--key", "garbage.key", NULL } },
    { 1, { "verify", "b.rbp", "--key", "missing.pub", NULL } },
    { 4, { "info", "missing.rbp", NULL } },
    { 4, { "list", "missing.rbp", NULL } },
    { 4, { "schema", "b.rbp", "no-such-schema", NULL } },
    { 4, { "extract", "missing.rbp", "--to", "out", NULL } },
    { 1, { "sign", "b.rbp", "--key", "missing.key", NULL } },
    { 4, { "sign", "missing.rbp", "--key", "k.key", NULL } },
    { 4, { "call", "missing.rbp", "echo", NULL } },
    { 6, { "call", "missing.so", "echo", NULL } },
    { 2, { "call", "b.rbp", NULL } },
  };

  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");
  g_file_set_contents (g_build_filename (f->dir, "garbage.key", NULL), "not a key at all\n", -1, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autofree char *err = NULL;
      g_autofree char *joined = NULL;
      int status;

      for (guint j = 0; cases[i].args[j] != NULL; j++)
        g_ptr_array_add (argv, (gpointer) cases[i].args[j]);
      while (argv->len < 12)
        g_ptr_array_add (argv, NULL);
      joined = g_strjoinv (" ", (char **) argv->pdata);
      {
        const char **a = (const char **) argv->pdata;
        status = run_tool (f->dir, NULL, NULL, &err, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                           a[10], NULL);
      }
      g_test_message ("%s -> %d: %s", joined, status, err);
      g_assert_cmpint (status, ==, cases[i].status);
      assert_one_line_error (status, err);
      g_assert_false (g_file_test (g_build_filename (f->dir, "x.rbp", NULL), G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (g_build_filename (f->dir, "out", NULL), G_FILE_TEST_EXISTS));
    }
}

/* ---- raw calls ------------------------------------------------------------- */

/* The fixture's raw echo (tests/plugins/fixture-raw.h): version 1, three
 * bytes of padding, value 21 (little-endian), text "hi" in 56 bytes. The
 * reply: version 1, the value times two (42), the text's length (2), the
 * text in 56 bytes. */
#define RAW_ZEROS_54 "000000000000000000000000000000000000000000000000000000" \
                     "000000000000000000000000000000000000000000000000000000"
#define RAW_ECHO_REQUEST "01000000" "15000000" "6869" RAW_ZEROS_54
#define RAW_ECHO_REPLY "01000000" "2a000000" "02000000" "6869" RAW_ZEROS_54 "\n"

static void
test_call_raw (Fixture       *f,
               gconstpointer  data)
{
  /* Spaces and colons between the pairs are allowed. */
  g_autofree char *spaced = g_strconcat ("01 00:00:00 15000000 6869", RAW_ZEROS_54, NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_cmpuint (strlen (RAW_ECHO_REQUEST), ==, 2 * 64);
  g_assert_cmpuint (strlen (RAW_ECHO_REPLY), ==, 2 * 68 + 1);

  /* A library file. */
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "call", fixture_plugin (), "--raw", "1", "--hex",
                             RAW_ECHO_REQUEST, "--log-level", "off", NULL), ==, 0);
  g_assert_cmpstr (out, ==, RAW_ECHO_REPLY);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "call", fixture_plugin (), "--raw", "1", "--hex", spaced,
                             "--log-level", "off", NULL), ==, 0);
  g_assert_cmpstr (out, ==, RAW_ECHO_REPLY);

  /* An empty reply (message 3) is an empty line. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "call", fixture_plugin (), "--raw", "3", "--hex", "",
                             "--log-level", "off", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "\n");

  /* A bundle, verified with the key, the same reply. */
  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, &out, &err, "call", "b.rbp", "--raw", "1", "--hex", RAW_ECHO_REQUEST,
                             "--key", "k.pub", "--log-level", "off", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  g_assert_cmpstr (out, ==, RAW_ECHO_REPLY);

  /* The plugin's errors: exit status 10 + its code, nothing on stdout. */
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, &out, &err, "call", fixture_plugin (), "--raw", "9", "--hex", "00",
                             "--log-level", "off", NULL), ==, 10 + RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
  assert_one_line_error (1, err);
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, &out, &err, "call", fixture_plugin (), "--raw", "1", "--hex", "0100",
                             "--log-level", "off", NULL), ==, 10 + RB_PLUGIN_ERROR_SERIALIZATION);
  assert_one_line_error (1, err);
  g_assert_nonnull (strstr (err, "expected 64, got 2"));

  /* A plugin without the binary transport. */
  g_assert_nonnull (g_getenv ("RB_FIXTURE_NORAW_PLUGIN"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "call", g_getenv ("RB_FIXTURE_NORAW_PLUGIN"), "--raw", "1",
                             "--hex", RAW_ECHO_REQUEST, "--log-level", "off", NULL), ==, 25);
  assert_one_line_error (25, err);
  g_assert_nonnull (strstr (err, "RB_PLUGIN_ERROR_NOT_SUPPORTED"));

  /* Bad command lines: odd hex, a TAG with --raw, --hex without --raw. */
  {
    const char *bad[][6] = {
      { "--raw", "1", "--hex", "012", NULL },
      { "--raw", "1", "--hex", "zz", NULL },
      { "echo", "--raw", "1", "--hex", "00", NULL },
      { "echo", "{}", "--hex", "00", NULL },
      { "--raw", "4294967296", "--hex", "00", NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_clear_pointer (&out, g_free);
        g_clear_pointer (&err, g_free);
        g_assert_cmpint (run_tool (f->dir, NULL, &out, &err, "call", fixture_plugin (), bad[i][0], bad[i][1],
                                   bad[i][2], bad[i][3], bad[i][4], NULL), ==, 2);
        assert_one_line_error (2, err);
        g_assert_cmpstr (out, ==, "");
      }
  }
}

/* ---- manifests ------------------------------------------------------------- */

/* The manifest of bundle @name in @f->dir, parsed. */
static JsonNode *
read_manifest (Fixture    *f,
               const char *name)
{
  g_autofree char *path = path_in (f, name);
  g_autoptr(GPtrArray) entries = read_zip (path);
  GBytes *manifest = find_entry (entries, "manifest.json")->data;
  g_autofree char *text = g_strndup (g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest));
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return node;
}

/* The object at @path (members separated by '/') under @node, or NULL. */
static JsonObject *
object_at (JsonNode   *node,
           const char *path)
{
  g_auto(GStrv) names = g_strsplit (path, "/", -1);
  JsonObject *object = json_node_get_object (node);

  for (guint i = 0; object != NULL && names[i] != NULL; i++)
    object = json_object_has_member (object, names[i]) ? json_object_get_object_member (object, names[i]) : NULL;
  return object;
}

/* --variant-build gives a variant build metadata, which makes the manifest
 * format 1.1; RbBundle reads it back in STRICT mode. */
static void
test_create_format_1_1 (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *lib = g_strdup_printf ("%s=%s", platform (), fixture_plugin ());
  g_autofree char *debug = g_strdup_printf ("%s:debug=%s", platform (), fixture_plugin ());
  g_autofree char *release_build = g_strdup_printf ("%s:release:profile=release", platform ());
  g_autofree char *opt_build = g_strdup_printf ("%s:release:opt_level=3", platform ());
  g_autofree char *debug_build = g_strdup_printf ("%s:debug:profile=dev", platform ());
  g_autofree char *variants = g_strdup_printf ("platforms/%s/variants", platform ());
  g_autofree char *bundle_path = path_in (f, "v.rbp");
  g_autofree char *pub = path_in (f, "k.pub");
  g_autofree char *x_path = path_in (f, "x.rbp");
  g_autofree char *pub_text = NULL;
  g_autofree char *build = NULL;
  g_autofree char *info = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) manifest = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *release, *dbg;

  keygen_plain (f);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "create", "-o", "v.rbp", "--name", "variants", "--version",
                             "2.0.0", "--lib", lib, "--lib", debug, "--variant-build", release_build,
                             "--variant-build", opt_build, "--variant-build", debug_build, "--sign", "k.key", NULL),
                   ==, 0);
  g_assert_cmpstr (err, ==, "");

  manifest = read_manifest (f, "v.rbp");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (manifest), "bundle_version"), ==, "1.1");
  release = object_at (manifest, variants);
  g_assert_nonnull (release);
  dbg = json_object_get_object_member (release, "debug");
  release = json_object_get_object_member (release, "release");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (release, "build"), "profile"),
                   ==, "release");
  g_assert_cmpuint (json_object_get_size (json_object_get_object_member (release, "build")), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (release, "build"), "opt_level"),
                   ==, "3");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (dbg, "build"), "profile"),
                   ==, "dev");

  bundle = rb_bundle_new_for_path (bundle_path, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (pub, &pub_text, NULL, NULL));
  g_object_set (bundle, "public-key", pub_text, "verify-mode", RB_VERIFY_MODE_STRICT, NULL);
  g_assert_true (rb_bundle_verify (bundle, "debug", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (rb_bundle_get_bundle_version (bundle), ==, "1.1");
  build = rb_bundle_dup_variant_build_json (bundle, NULL, "debug", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (build, ==, "{\"profile\":\"dev\"}");

  g_assert_cmpint (run_tool (f->dir, NULL, &info, NULL, "info", "v.rbp", NULL), ==, 0);
  g_assert_nonnull (strstr (info, "\nBundle format:     1.1\n"));

  /* Without variant metadata: 1.0, no "build". */
  g_clear_pointer (&manifest, json_node_unref);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "create", "-o", "p.rbp", "--name", "plain", "--version",
                             "2.0.0", "--lib", lib, NULL), ==, 0);
  manifest = read_manifest (f, "p.rbp");
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (manifest), "bundle_version"), ==, "1.0");
  g_free (variants);
  variants = g_strdup_printf ("platforms/%s/variants/release", platform ());
  g_assert_false (json_object_has_member (object_at (manifest, variants), "build"));

  /* A --variant-build for a variant no --lib gives: refused. */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, &err, "create", "-o", "x.rbp", "--name", "x", "--version",
                             "2.0.0", "--lib", lib, "--variant-build", debug_build, NULL), ==, 2);
  assert_one_line_error (2, err);
  g_assert_false (g_file_test (x_path, G_FILE_TEST_EXISTS));
}

/* git as in a fresh account: no user or system configuration, an
 * identity, and no repository searched for above @cwd's parent. */
static void
git_environment (GSubprocessLauncher *launcher,
                 const char          *cwd)
{
  g_autofree char *parent = g_path_get_dirname (cwd);

  g_subprocess_launcher_setenv (launcher, "GIT_CONFIG_NOSYSTEM", "1", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIT_CONFIG_GLOBAL", "/dev/null", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIT_CEILING_DIRECTORIES", parent, TRUE);
  g_subprocess_launcher_setenv (launcher, "GIT_AUTHOR_NAME", "Test", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIT_AUTHOR_EMAIL", "test@example.invalid", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIT_COMMITTER_NAME", "Test", TRUE);
  g_subprocess_launcher_setenv (launcher, "GIT_COMMITTER_EMAIL", "test@example.invalid", TRUE);
}

/* Runs git with @args (NULL-terminated) in @cwd, without the user's or the
 * system's configuration; its output, stripped. */
static char * G_GNUC_NULL_TERMINATED
git (const char *cwd,
     ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  va_list ap;

  g_ptr_array_add (argv, (gpointer) "git");
  va_start (ap, cwd);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_cwd (launcher, cwd);
  git_environment (launcher, cwd);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  return g_strstrip (out);
}

/* build_info.git of bundle @name in @f->dir. */
static JsonObject *
git_info (Fixture    *f,
          const char *name,
          JsonNode  **manifest)
{
  *manifest = read_manifest (f, name);
  return object_at (*manifest, "build_info/git");
}

/* --build-info-from-git in a new repository: the commit, the branch, the
 * tag on HEAD and whether the work tree has changes; outside a work tree a
 * one-line error and no bundle. */
static void
test_create_build_info_from_git (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *repo = path_in (f, "repo");
  g_autofree char *plain = path_in (f, "plain");
  g_autofree char *readme = g_build_filename (repo, "README", NULL);
  g_autofree char *lib = g_strdup_printf ("%s=%s", platform (), fixture_plugin ());
  g_autofree char *commit = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) manifest = NULL;
  g_autofree char *ceiling = g_strdup_printf ("GIT_CEILING_DIRECTORIES=%s", f->dir);
  const char *env[] = { ceiling, "SOURCE_DATE_EPOCH=1700000000", "GIT_CONFIG_NOSYSTEM=1",
                        "GIT_CONFIG_GLOBAL=/dev/null", NULL };
  g_autofree char *git_path = g_find_program_in_path ("git");
  g_autofree char *not_written = g_build_filename (plain, "x.rbp", NULL);
  JsonObject *info;

  if (git_path == NULL)
    {
      g_test_skip ("git is not installed");
      return;
    }
  g_assert_cmpint (g_mkdir (repo, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (plain, 0700), ==, 0);
  g_free (git (repo, "init", "-q", "-b", "trunk", NULL));
  g_assert_true (g_file_set_contents (readme, "one\n", -1, NULL));
  g_free (git (repo, "add", "README", NULL));
  g_free (git (repo, "commit", "-q", "-m", "first", NULL));
  commit = git (repo, "rev-parse", "HEAD", NULL);
  g_assert_cmpuint (strlen (commit), ==, 40);

  /* A clean work tree on a branch (the bundle is written outside it). */
  g_assert_cmpint (run_tool (repo, env, NULL, &err, "create", "-o", "../clean.rbp", "--name", "g", "--version",
                             "1.0.0", "--lib", lib, "--build-info-from-git", NULL), ==, 0);
  g_assert_cmpstr (err, ==, "");
  info = git_info (f, "clean.rbp", &manifest);
  g_assert_nonnull (info);
  g_assert_cmpstr (json_object_get_string_member (info, "commit"), ==, commit);
  g_assert_cmpstr (json_object_get_string_member (info, "branch"), ==, "trunk");
  g_assert_false (json_object_has_member (info, "tag"));
  g_assert_true (json_object_has_member (info, "dirty"));
  g_assert_false (json_object_get_boolean_member (info, "dirty"));
  g_assert_cmpstr (json_object_get_string_member (object_at (manifest, "build_info"), "built_at"), ==,
                   "2023-11-14T22:13:20Z");
  g_clear_pointer (&manifest, json_node_unref);

  /* A tag on HEAD and a changed file. */
  g_free (git (repo, "tag", "v1.0.0", NULL));
  g_assert_true (g_file_set_contents (readme, "two\n", -1, NULL));
  g_assert_cmpint (run_tool (repo, env, NULL, NULL, "create", "-o", "../dirty.rbp", "--name", "g", "--version",
                             "1.0.0", "--lib", lib, "--build-info-from-git", NULL), ==, 0);
  info = git_info (f, "dirty.rbp", &manifest);
  g_assert_cmpstr (json_object_get_string_member (info, "commit"), ==, commit);
  g_assert_cmpstr (json_object_get_string_member (info, "tag"), ==, "v1.0.0");
  g_assert_true (json_object_get_boolean_member (info, "dirty"));
  g_clear_pointer (&manifest, json_node_unref);

  /* A detached HEAD: no branch. */
  g_free (git (repo, "checkout", "-q", "--detach", NULL));
  g_assert_cmpint (run_tool (repo, env, NULL, NULL, "create", "-o", "../detached.rbp", "--name", "g", "--version",
                             "1.0.0", "--lib", lib, "--build-info-from-git", NULL), ==, 0);
  info = git_info (f, "detached.rbp", &manifest);
  g_assert_cmpstr (json_object_get_string_member (info, "commit"), ==, commit);
  g_assert_false (json_object_has_member (info, "branch"));

  /* Not in a work tree. */
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_tool (plain, env, NULL, &err, "create", "-o", "x.rbp", "--name", "g", "--version", "1.0.0",
                             "--lib", lib, "--build-info-from-git", NULL), ==, 1);
  assert_one_line_error (1, err);
  g_assert_nonnull (strstr (err, "RBT_ERROR_GIT"));
  g_assert_false (g_file_test (not_written, G_FILE_TEST_EXISTS));
}

/* ---- info and list ---------------------------------------------------------- */

/* The key id of the public key file @path, as minisign writes it. */
static char *
public_key_id (const char *path)
{
  gsize len;
  g_autofree guint8 *pk = decode_key_line (path, &len);
  guint64 id = 0;

  g_assert_cmpuint (len, ==, 42);
  for (guint i = 8; i-- > 0;)
    id = id << 8 | pk[2 + i];
  return g_strdup_printf ("%" G_GINT64_MODIFIER "X", id);
}

static void
test_info_json (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *pub = path_in (f, "k.pub");
  g_autofree char *key_id = NULL;
  g_autofree char *json = NULL;
  g_autofree char *lib = g_strdup_printf ("%s=%s", platform (), fixture_plugin ());
  g_autofree char *base = g_path_get_basename (fixture_plugin ());
  g_autofree char *lib_entry = g_strdup_printf ("lib/%s/release/%s", platform (), base);
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) manifest = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *object, *plugin, *platforms, *variants;
  JsonArray *authors;

  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");
  key_id = public_key_id (pub);
  g_assert_cmpint (run_tool (f->dir, NULL, &json, NULL, "info", "b.rbp", "--json", NULL), ==, 0);
  root = json_from_string (json, &error);
  g_assert_no_error (error);
  object = json_node_get_object (root);
  g_assert_cmpuint (json_object_get_size (object), ==, 4);
  g_assert_true (json_object_get_boolean_member (object, "signed"));
  g_assert_cmpstr (json_object_get_string_member (object, "key_id"), ==, key_id);
  g_assert_cmpstr (json_object_get_string_member (object, "trusted_comment"), ==,
                   "timestamp:1700000000\tfile:manifest.json\thashed");

  /* "manifest" is the bundle's manifest.json, member for member. */
  manifest = read_manifest (f, "b.rbp");
  g_assert_true (json_node_equal (json_object_get_member (object, "manifest"), manifest));
  plugin = object_at (json_object_get_member (object, "manifest"), "plugin");
  g_assert_cmpstr (json_object_get_string_member (plugin, "name"), ==, "fixture");
  g_assert_cmpstr (json_object_get_string_member (plugin, "version"), ==, "1.2.3");
  g_assert_cmpstr (json_object_get_string_member (plugin, "description"), ==, "The fixture plugin");
  g_assert_cmpstr (json_object_get_string_member (plugin, "license"), ==, "MIT");
  authors = json_object_get_array_member (plugin, "authors");
  g_assert_cmpuint (json_array_get_length (authors), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (authors, 0), ==, "Ada");
  g_assert_cmpstr (json_array_get_string_element (authors, 1), ==, "Grace");
  platforms = object_at (json_object_get_member (object, "manifest"), "platforms");
  g_assert_cmpuint (json_object_get_size (platforms), ==, 1);
  variants = json_object_get_object_member (json_object_get_object_member (platforms, platform ()), "variants");
  g_assert_cmpuint (json_object_get_size (variants), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (variants, "release"), "library"),
                   ==, lib_entry);
  g_assert_true (json_object_has_member (variants, "debug"));

  /* Unsigned: "signed" false, no key id, no trusted comment. */
  g_clear_pointer (&json, g_free);
  g_clear_pointer (&root, json_node_unref);
  g_assert_cmpint (run_tool (f->dir, NULL, NULL, NULL, "create", "-o", "u.rbp", "--name", "unsigned", "--version",
                             "0.1.0", "--lib", lib, NULL), ==, 0);
  g_assert_cmpint (run_tool (f->dir, NULL, &json, NULL, "info", "--json", "u.rbp", NULL), ==, 0);
  root = json_from_string (json, &error);
  g_assert_no_error (error);
  object = json_node_get_object (root);
  g_assert_false (json_object_get_boolean_member (object, "signed"));
  g_assert_false (json_object_has_member (object, "key_id"));
  g_assert_false (json_object_has_member (object, "trusted_comment"));
  g_assert_cmpstr (json_object_get_string_member (object_at (json_object_get_member (object, "manifest"), "plugin"),
                                                  "name"), ==, "unsigned");
}

/* list: every entry, in archive order (the manifest and its signature
 * first, then by name); -l: each with its size. */
static void
test_list (Fixture       *f,
           gconstpointer  data)
{
  g_autofree char *base = g_path_get_basename (fixture_plugin ());
  g_autofree char *bundle_path = path_in (f, "b.rbp");
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GString) expected_long = g_string_new (NULL);
  g_autofree char *out = NULL;
  g_autofree char *out_long = NULL;
  g_autofree char *debug = g_strdup_printf ("lib/%s/debug/%s", platform (), base);
  g_autofree char *debug_sig = g_strconcat (debug, ".minisig", NULL);
  g_autofree char *release = g_strdup_printf ("lib/%s/release/%s", platform (), base);
  g_autofree char *release_sig = g_strconcat (release, ".minisig", NULL);
  const char *names[] = { "manifest.json", "manifest.json.minisig", "docs/NOTICES.txt", "legal/LICENSE",
                          debug, debug_sig, release, release_sig, "sbom/sbom.cdx.json", "schema/echo.json" };

  keygen_plain (f);
  create_bundle (f, "b.rbp", "1700000000");
  entries = read_zip (bundle_path);
  g_assert_cmpuint (entries->len, ==, G_N_ELEMENTS (names));
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const char *name = names[i];
      g_string_append_printf (expected, "%s\n", name);
      g_string_append_printf (expected_long, "%12" G_GSIZE_FORMAT "  %s\n",
                              g_bytes_get_size (find_entry (entries, name)->data), name);
    }
  g_assert_cmpint (run_tool (f->dir, NULL, &out, NULL, "list", "b.rbp", NULL), ==, 0);
  g_assert_cmpstr (out, ==, expected->str);
  g_assert_cmpint (run_tool (f->dir, NULL, &out_long, NULL, "list", "-l", "b.rbp", NULL), ==, 0);
  g_assert_cmpstr (out_long, ==, expected_long->str);
}

int
main (int   argc,
      char *argv[])
{
  int status;
  g_autofree char *minisign = NULL;

  g_test_init (&argc, &argv, NULL);

  minisign = g_find_program_in_path ("minisign");
  if (minisign == NULL)
    {
      g_test_skip ("Debian's minisign is not installed");
      return g_test_run ();
    }
  g_test_add ("/tool/version-and-help", Fixture, NULL, fixture_setup, test_version_and_help, fixture_teardown);
  g_test_add ("/tool/keygen/without-password", Fixture, NULL, fixture_setup, test_keygen_without_password,
              fixture_teardown);
  g_test_add ("/tool/keygen/password", Fixture, NULL, fixture_setup, test_keygen_password, fixture_teardown);
  g_test_add ("/tool/create/minisign-strict-call", Fixture, NULL, fixture_setup, test_create_minisign_strict_call,
              fixture_teardown);
  g_test_add ("/tool/create/reproducible", Fixture, NULL, fixture_setup, test_reproducible, fixture_teardown);
  g_test_add ("/tool/verify/tamper", Fixture, NULL, fixture_setup, test_tamper, fixture_teardown);
  g_test_add ("/tool/verify/other-platform", Fixture, NULL, fixture_setup, test_verify_other_platform,
              fixture_teardown);
  g_test_add ("/tool/large-library", Fixture, NULL, fixture_setup, test_large_library, fixture_teardown);
  g_test_add ("/tool/sign", Fixture, NULL, fixture_setup, test_sign, fixture_teardown);
  g_test_add ("/tool/errors", Fixture, NULL, fixture_setup, test_errors, fixture_teardown);
  g_test_add ("/tool/call/raw", Fixture, NULL, fixture_setup, test_call_raw, fixture_teardown);
  g_test_add ("/tool/create/format-1.1", Fixture, NULL, fixture_setup, test_create_format_1_1, fixture_teardown);
  g_test_add ("/tool/create/build-info-from-git", Fixture, NULL, fixture_setup, test_create_build_info_from_git,
              fixture_teardown);
  g_test_add ("/tool/info/json", Fixture, NULL, fixture_setup, test_info_json, fixture_teardown);
  g_test_add ("/tool/list", Fixture, NULL, fixture_setup, test_list, fixture_teardown);
  /* Last (GTest runs a suite's own cases, then its sub-suites in the order
   * they are first named): it waits for the keygen started here. */
  g_test_add_func ("/tool/kdf/full-strength", test_keygen_full_strength);
  full_strength_start ();
  status = g_test_run ();
  if (full_strength.process != NULL)
    {
      /* Not run (-p, or an earlier failure with -k off): stopped, cleaned. */
      g_subprocess_force_exit (full_strength.process);
      g_subprocess_wait (full_strength.process, NULL, NULL);
      g_clear_object (&full_strength.process);
      remove_tree (full_strength.dir);
    }
  g_free (full_strength.dir);
  return status;
}
