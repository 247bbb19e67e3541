/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * RbBundle: which key STRICT trusts (public-key, trusted-keys-dir, the
 * user's and the system's trusted-keys directories, trust-embedded-key),
 * and WARN-mode messages logged once per bundle and file.
 *
 * XDG_CONFIG_HOME and XDG_DATA_DIRS point into this test's directory;
 * GLib reads them once, so they are set before g_test_init().
 */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* A fixture of its own (not rb_bundle_test_init()'s). */
#define RB_BUNDLE_TEST_OWN_FIXTURE
#include "bundle-test-util.h"
#include "rb-test-util.h"

static char *workdir;
static char *user_dir, *system_dir;   /* the trusted-keys directories */
static char *key, *pub, *key2, *pub2;
static char *signed_path, *unsigned_path;

typedef struct {
  GLogLevelFlags level;
  char          *message;
} Logged;

static GArray *logged;

static void
logged_clear (gpointer data)
{
  g_free (((Logged *) data)->message);
}

/* Every RustBridge message and debug line is kept; a WARNING goes on to
 * GLib's writer, which aborts: nothing here may cause one. */
static GLogWriterOutput
capture_writer (GLogLevelFlags   log_level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL, *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
        domain = fields[i].value;
      else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
        message = fields[i].value;
    }
  if (g_strcmp0 (domain, "RustBridge") == 0 &&
      (log_level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)))
    {
      Logged l = { log_level & G_LOG_LEVEL_MASK, g_strdup (message) };
      g_array_append_val (logged, l);
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

/* How many messages at @level contain all of @needle and @needle2. */
static guint
count_logged (GLogLevelFlags level,
              const char    *needle,
              const char    *needle2)
{
  guint n = 0;

  for (guint i = 0; i < logged->len; i++)
    {
      Logged *l = &g_array_index (logged, Logged, i);
      if (l->level == level && strstr (l->message, needle) != NULL &&
          (needle2 == NULL || strstr (l->message, needle2) != NULL))
        n++;
    }
  return n;
}

static char *
read_text (const char *path)
{
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static void
write_text (const char *dir,
            const char *name,
            const char *text)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
}

static void
remove_file (const char *dir,
             const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_unlink (path), ==, 0);
}

static RbBundle *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  RbBundle *bundle = rb_bundle_new_for_path (path, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bundle);
  return bundle;
}

static void
verify_ok (RbBundle *bundle)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* Returns the message. */
static char *
verify_fails (RbBundle *bundle,
              int       code)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, code);
  /* And without a GError. */
  g_assert_false (rb_bundle_verify (bundle, NULL, NULL, NULL));
  return g_strdup (error->message);
}

static void
assert_contains (const char *haystack,
                 const char *needle)
{
  if (strstr (haystack, needle) == NULL)
    g_error ("“%s” lacks “%s”", haystack, needle);
}

/* Without a trusted key STRICT fails, saying how to fix it. */
static void
test_strict_needs_trusted_key (void)
{
  g_autoptr(RbBundle) bundle = open_ok (signed_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *message = NULL;

  g_assert_false (rb_bundle_get_trust_embedded_key (bundle));
  g_assert_null (rb_bundle_get_trusted_keys_dir (bundle));
  message = verify_fails (bundle, RB_BUNDLE_ERROR_NO_PUBLIC_KEY);
  assert_contains (message, "public-key");
  assert_contains (message, "trust-embedded-key");
  assert_contains (message, user_dir);
  assert_contains (message, system_dir);
  assert_contains (message, ".pub");

  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  g_assert_null (plugin);
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NO_PUBLIC_KEY);
}

static void
test_public_key (void)
{
  g_autoptr(RbBundle) bundle = open_ok (signed_path);
  g_autofree char *text = read_text (pub);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;

  rb_bundle_set_public_key (bundle, text);
  g_array_set_size (logged, 0);
  verify_ok (bundle);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "manifest.json", "public-key property"), ==, 1);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
}

/* The key whose id signed the bundle is picked among the directory's
 * .pub files; what is not a key is skipped without a warning. */
static void
test_trusted_keys_dir (void)
{
  g_autoptr(RbBundle) bundle = open_ok (signed_path);
  g_autofree char *dir = g_build_filename (workdir, "app-keys", NULL);
  g_autofree char *other_dir = g_build_filename (workdir, "other-keys", NULL);
  g_autofree char *text = read_text (pub);
  g_autofree char *text2 = read_text (pub2);
  g_autofree char *fifo = g_build_filename (dir, "b-fifo.pub", NULL);
  g_autofree char *subdir = g_build_filename (dir, "c-dir.pub", NULL);
  g_autofree char *message = NULL;
  g_autofree char *found = g_build_filename (dir, "z-publisher.pub", NULL);
  g_autoptr(GString) big = g_string_new (NULL);
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;

  /* Only key 2, and key 1 where it is not read: too large, not *.pub. */
  write_text (other_dir, "k2.pub", text2);
  g_string_append (big, text);
  while (big->len <= 4096)
    g_string_append (big, "\n");
  write_text (other_dir, "big.pub", big->str);
  write_text (other_dir, "k1.txt", text);
  rb_bundle_set_trusted_keys_dir (bundle, other_dir);
  g_assert_cmpstr (rb_bundle_get_trusted_keys_dir (bundle), ==, other_dir);
  message = verify_fails (bundle, RB_BUNDLE_ERROR_NO_PUBLIC_KEY);
  assert_contains (message, other_dir);
  assert_contains (message, "trusted-keys-dir");

  /* A missing directory is no key either. */
  g_object_set (bundle, "trusted-keys-dir", "/nonexistent/rustbridge-keys", NULL);
  g_free (message);
  message = verify_fails (bundle, RB_BUNDLE_ERROR_NO_PUBLIC_KEY);

  /* Garbage, an empty file, a FIFO and a directory before the right key. */
  write_text (dir, "a-garbage.pub", "untrusted comment: no\nnot base64 at all\n");
  write_text (dir, "a-empty.pub", "");
  write_text (dir, "k2.pub", text2);
  write_text (dir, "z-publisher.pub", text);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_cmpint (g_mkdir (subdir, 0700), ==, 0);
  g_object_set (bundle, "trusted-keys-dir", dir, NULL);
  g_array_set_size (logged, 0);
  verify_ok (bundle);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "manifest.json", found), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "skipping", "a-garbage.pub"), >=, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "skipping", "b-fifo.pub"), >=, 1);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);

  g_unlink (fifo);
  g_rmdir (subdir);
}

/* $XDG_CONFIG_HOME/rustbridge/trusted-keys/ */
static void
test_user_dir (void)
{
  g_autoptr(RbBundle) bundle = open_ok (signed_path);
  g_autofree char *text = read_text (pub);
  g_autofree char *found = g_build_filename (user_dir, "publisher.pub", NULL);

  write_text (user_dir, "publisher.pub", text);
  g_array_set_size (logged, 0);
  verify_ok (bundle);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "manifest.json", found), ==, 1);
  remove_file (user_dir, "publisher.pub");
  g_free (verify_fails (bundle, RB_BUNDLE_ERROR_NO_PUBLIC_KEY));
}

/* Each $XDG_DATA_DIRS/rustbridge/trusted-keys/ (here the second). */
static void
test_system_dir (void)
{
  g_autoptr(RbBundle) bundle = open_ok (signed_path);
  g_autofree char *text = read_text (pub);
  g_autofree char *found = g_build_filename (system_dir, "publisher.pub", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;

  write_text (system_dir, "publisher.pub", text);
  g_array_set_size (logged, 0);
  verify_ok (bundle);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "manifest.json", found), ==, 1);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  remove_file (system_dir, "publisher.pub");
}

static void
notify_count (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

/* The peers' behaviour, only when asked for: integrity, not origin. */
static void
test_trust_embedded_key (void)
{
  g_autoptr(RbBundle) bundle = open_ok (signed_path);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  gboolean value = FALSE;
  guint notified = 0;

  g_signal_connect (bundle, "notify::trust-embedded-key", G_CALLBACK (notify_count), &notified);
  g_object_set (bundle, "trust-embedded-key", TRUE, NULL);
  g_object_set (bundle, "trust-embedded-key", TRUE, NULL);
  g_assert_cmpuint (notified, ==, 1);
  g_object_get (bundle, "trust-embedded-key", &value, NULL);
  g_assert_true (value);
  g_assert_true (rb_bundle_get_trust_embedded_key (bundle));

  g_array_set_size (logged, 0);
  verify_ok (bundle);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_DEBUG, "manifest.json", "integrity only"), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "", NULL), ==, 0);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);

  /* A bundle signed by another key than the one it carries still fails. */
  {
    const char *extra[] = { "--public-key", pub2, NULL };
    g_autofree char *path = rb_test_make_bundle (workdir, "wrong-embedded.rbp", key, pub, extra);
    g_autoptr(RbBundle) wrong = open_ok (path);

    rb_bundle_set_trust_embedded_key (wrong, TRUE);
    g_free (verify_fails (wrong, RB_BUNDLE_ERROR_SIGNATURE_INVALID));
  }
  rb_bundle_set_trust_embedded_key (bundle, FALSE);
  g_free (verify_fails (bundle, RB_BUNDLE_ERROR_NO_PUBLIC_KEY));
}

/* WARN says once per bundle and file what it could not verify, at
 * MESSAGE level (never WARNING). */
static void
test_warn_once (void)
{
  g_autoptr(RbBundle) bundle = open_ok (unsigned_path);
  g_autoptr(RbBundle) again = NULL;
  g_autoptr(RbBundle) untrusted = open_ok (signed_path);
  g_autofree char *library = NULL;

  library = rb_bundle_dup_library_path (bundle, NULL, NULL);
  g_assert_nonnull (library);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  g_array_set_size (logged, 0);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RbPlugin) plugin = NULL;

      verify_ok (bundle);
      plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (plugin);
    }
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "manifest.json is not verified", "not signed"), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, library, "not signed"), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "", NULL), ==, 2);

  /* Another bundle object says it again, once. */
  again = open_ok (unsigned_path);
  rb_bundle_set_verify_mode (again, RB_VERIFY_MODE_WARN);
  verify_ok (again);
  verify_ok (again);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "", NULL), ==, 4);

  /* Signed by no trusted key: checked with the bundle's own key, and said. */
  rb_bundle_set_verify_mode (untrusted, RB_VERIFY_MODE_WARN);
  g_array_set_size (logged, 0);
  verify_ok (untrusted);
  verify_ok (untrusted);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "manifest.json is not verified", "no trusted key"), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, library, "no trusted key"), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "", NULL), ==, 2);
}

/* Concurrent loads of one bundle in WARN mode: still one message each. */
static void
load_ready (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  guint *pending = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, &error);

  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  (*pending)--;
}

static void
test_warn_once_async (void)
{
  g_autoptr(RbBundle) bundle = open_ok (unsigned_path);
  guint pending = 4;
  gboolean done = FALSE;

  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_WARN);
  g_array_set_size (logged, 0);
  for (int i = 0; i < 4; i++)
    rb_bundle_load_plugin_async (bundle, NULL, NULL, NULL, load_ready, &pending);
  while (pending > 0)
    g_main_context_iteration (NULL, TRUE);
  done = TRUE;
  g_assert_true (done);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "manifest.json is not verified", NULL), ==, 1);
  g_assert_cmpuint (count_logged (G_LOG_LEVEL_MESSAGE, "", NULL), ==, 2);
}

int
main (int   argc,
      char *argv[])
{
  int ret;
  const char *parent_tmp = g_getenv ("TMPDIR");
  g_autofree char *base = NULL;
  g_autofree char *config = NULL;
  g_autofree char *data_dirs = NULL;
  g_autofree char *data1 = NULL, *data2 = NULL;
  const char *keygen1[] = { "minisign", "-G", "-W", "-p", "k.pub", "-s", "k.key", NULL };
  const char *keygen2[] = { "minisign", "-G", "-W", "-p", "k2.pub", "-s", "k2.key", NULL };
  g_autofree char *minisign = NULL;

  logged = g_array_new (FALSE, TRUE, sizeof (Logged));
  g_array_set_clear_func (logged, logged_clear);
  g_log_set_writer_func (capture_writer, NULL, NULL);

  base = g_build_filename (parent_tmp != NULL && *parent_tmp != '\0' ? parent_tmp : "/tmp",
                           "rb-bundle-trust-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (base));
  workdir = g_build_filename (base, "work", NULL);
  g_mkdir (workdir, 0700);
  config = g_build_filename (base, "config", NULL);
  data1 = g_build_filename (base, "data1", NULL);
  data2 = g_build_filename (base, "data2", NULL);
  data_dirs = g_strjoin (G_SEARCHPATH_SEPARATOR_S, data1, data2, NULL);
  /* Before GLib reads them (once). */
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  g_setenv ("XDG_DATA_DIRS", data_dirs, TRUE);
  user_dir = g_build_filename (config, "rustbridge", "trusted-keys", NULL);
  system_dir = g_build_filename (data2, "rustbridge", "trusted-keys", NULL);

  rb_test_init (&argc, &argv);

  minisign = g_find_program_in_path ("minisign");
  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      rb_test_remove_tree (base);
      return g_test_run ();
    }
  g_assert_cmpstr (g_get_user_config_dir (), ==, config);

  rb_test_run_in (workdir, keygen1);
  rb_test_run_in (workdir, keygen2);
  key = g_build_filename (workdir, "k.key", NULL);
  pub = g_build_filename (workdir, "k.pub", NULL);
  key2 = g_build_filename (workdir, "k2.key", NULL);
  pub2 = g_build_filename (workdir, "k2.pub", NULL);
  signed_path = rb_test_make_bundle (workdir, "signed.rbp", key, pub, NULL);
  unsigned_path = rb_test_make_bundle (workdir, "unsigned.rbp", NULL, NULL, NULL);

  g_test_add_func ("/bundle-trust/strict-needs-trusted-key", test_strict_needs_trusted_key);
  g_test_add_func ("/bundle-trust/public-key", test_public_key);
  g_test_add_func ("/bundle-trust/trusted-keys-dir", test_trusted_keys_dir);
  g_test_add_func ("/bundle-trust/user-dir", test_user_dir);
  g_test_add_func ("/bundle-trust/system-dir", test_system_dir);
  g_test_add_func ("/bundle-trust/trust-embedded-key", test_trust_embedded_key);
  g_test_add_func ("/bundle-trust/warn-once", test_warn_once);
  g_test_add_func ("/bundle-trust/warn-once-async", test_warn_once_async);

  ret = g_test_run ();

  rb_test_remove_tree (base);
  g_array_unref (logged);
  g_free (workdir);
  g_free (user_dir);
  g_free (system_dir);
  g_free (key);
  g_free (pub);
  g_free (key2);
  g_free (pub2);
  g_free (signed_path);
  g_free (unsigned_path);
  return ret;
}
