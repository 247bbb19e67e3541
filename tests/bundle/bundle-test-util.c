/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bundle-test-util.h"

#include <string.h>

#include <unistd.h>

#include <glib/gstdio.h>

#include "rb-test-util.h"

void
rb_test_run_in (const char         *dir,
                const char * const *argv)
{
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_true (g_spawn_sync (dir, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                               &out, &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("%s failed: %s", argv[0], err);
}

void
rb_test_remove_tree (const char *path)
{
  const char *rm[] = { "rm", "-rf", path, NULL };

  rb_test_run_in (NULL, rm);
}

char *
rb_test_make_bundle (const char         *dir,
                     const char         *name,
                     const char         *key_path,
                     const char         *pub_path,
                     const char * const *extra)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *tool = g_test_build_filename (G_TEST_DIST, "bundle", "rb-make-bundle.py", NULL);
  char *out = g_build_filename (dir, name, NULL);

  g_ptr_array_add (argv, (gpointer) "/usr/bin/python3");
  g_ptr_array_add (argv, tool);
  g_ptr_array_add (argv, out);
  g_ptr_array_add (argv, (gpointer) "--library");
  g_ptr_array_add (argv, (gpointer) rb_test_plugin_path (RB_TEST_FIXTURE));
  g_ptr_array_add (argv, (gpointer) "--platform");
  g_ptr_array_add (argv, (gpointer) rb_bundle_get_current_platform ());
  if (key_path != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--sign");
      g_ptr_array_add (argv, (gpointer) key_path);
      g_ptr_array_add (argv, (gpointer) "--public-key");
      g_ptr_array_add (argv, (gpointer) pub_path);
    }
  for (; extra != NULL && *extra != NULL; extra++)
    g_ptr_array_add (argv, (gpointer) *extra);
  g_ptr_array_add (argv, NULL);
  rb_test_run_in (dir, (const char * const *) argv->pdata);
  return out;
}

/* ---- the RbBundle test programs' fixture ---- */

char *workdir;
char *tmpdir;
OpenMode open_mode;
gboolean loads_extract;
char *key, *pub, *key2, *pub2;
GPtrArray *warnings;
static char *base;         /* workdir and tmpdir are in it */

/* The library reports what a bundle does wrong (a missing signature in
 * WARN mode, a newer rustbridge) at MESSAGE level: those are collected
 * here. A WARNING or CRITICAL goes on to GLib's writer, which aborts in a
 * GTest program, as it would in an application run with
 * G_DEBUG=fatal-warnings: a bundle must never be able to do that. */
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
  if (g_strcmp0 (domain, "RustBridge") == 0 && (log_level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO)))
    {
      g_ptr_array_add (warnings, g_strdup (message));
      return G_LOG_WRITER_HANDLED;
    }
  return g_log_writer_default (log_level, fields, n_fields, user_data);
}

gboolean
warned_about (const char *needle)
{
  for (guint i = 0; i < warnings->len; i++)
    if (strstr (g_ptr_array_index (warnings, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

void
run (const char * const *argv)
{
  rb_test_run_in (workdir, argv);
}

char *
make_v (const char         *name,
        gboolean            sign,
        const char * const *extra)
{
  return rb_test_make_bundle (workdir, name, sign ? key : NULL, sign ? pub : NULL, extra);
}

static char *
make_va (const char *name,
         gboolean    sign,
         va_list     args)
{
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  const char *arg;

  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (extra, (gpointer) arg);
  g_ptr_array_add (extra, NULL);
  return make_v (name, sign, (const char * const *) extra->pdata);
}

char *
make (const char *name, ...)
{
  va_list args;
  char *out;

  va_start (args, name);
  out = make_va (name, TRUE, args);
  va_end (args);
  return out;
}

char *
make_unsigned (const char *name, ...)
{
  va_list args;
  char *out;

  va_start (args, name);
  out = make_va (name, FALSE, args);
  va_end (args);
  return out;
}

char *
unique_library (const char *library,
                const char *subdir,
                const char *file_name,
                const char *tag)
{
  g_autofree char *dir = g_build_filename (workdir, subdir, NULL);
  char *out = g_build_filename (dir, file_name, NULL);
  g_autofree char *contents = NULL;
  gsize len;
  GString *copy;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_get_contents (library != NULL ? library : rb_test_plugin_path (RB_TEST_FIXTURE),
                                      &contents, &len, NULL));
  copy = g_string_new_len (contents, (gssize) len);
  g_string_append (copy, tag);
  g_assert_true (g_file_set_contents (out, copy->str, (gssize) copy->len, NULL));
  g_string_free (copy, TRUE);
  return out;
}

guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* Compiles a resource bundle of a copy of @path (whose name may hold
 * anything) and opens it through the registered resource. */
static RbBundle *
open_resource (const char  *path,
               GError     **error)
{
  g_autofree char *dir = g_build_filename (workdir, "resource", NULL);
  g_autofree char *copy = g_build_filename (dir, "bundle.rbp", NULL);
  g_autofree char *xml = g_build_filename (dir, "bundle.gresource.xml", NULL);
  g_autofree char *target = g_build_filename (dir, "bundle.gresource", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GResource) resource = NULL;
  g_autoptr(GError) local = NULL;
  const char *compile[] = { "glib-compile-resources", "--sourcedir", dir, "--target", target, xml, NULL };
  gsize len;
  RbBundle *bundle;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (copy, contents, (gssize) len, NULL));
  g_assert_true (g_file_set_contents (xml, "<gresources><gresource prefix=\"/org/rustbridge/Test\">"
                                      "<file>bundle.rbp</file></gresource></gresources>", -1, NULL));
  rb_test_run_in (dir, compile);
  resource = g_resource_load (target, &local);
  g_assert_no_error (local);
  g_resources_register (resource);
  bundle = rb_bundle_new_for_resource ("/org/rustbridge/Test/bundle.rbp", error);
  /* The bundle holds what it reads: the resource may go. */
  g_resources_unregister (resource);
  return bundle;
}

/* The hard link open_cached() listed last (its bundle names it). */
static char *cached_link;

/* Lists a hard link to @path (the same file: changes to it show) in a
 * registry of its own, twice: the first scan writes the metadata cache,
 * the second (a new registry, as at an application's next start) makes
 * the bundle from it. NULL (and the error opening by path gives) if the
 * registry does not list it. */
static RbBundle *
open_cached (const char  *path,
             GError     **error)
{
  static guint serial;
  g_autofree char *app_id = g_strdup_printf ("org.rustbridge.BundleTest%u", serial++);
  g_autofree char *dir = g_build_filename (workdir, "cached", app_id, NULL);
  g_autoptr(RbRegistry) first = rb_registry_new (app_id);
  g_autoptr(RbRegistry) second = rb_registry_new (app_id);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_free (cached_link);
  cached_link = g_build_filename (dir, "bundle.rbp", NULL);
  g_assert_cmpint (link (path, cached_link), ==, 0);
  rb_registry_add_search_path (first, dir);
  g_assert_true (rb_registry_rescan (first, NULL, NULL));
  if (g_list_model_get_n_items (G_LIST_MODEL (first)) == 0)
    {
      g_unlink (cached_link);
      g_clear_pointer (&cached_link, g_free);
      return rb_bundle_new_for_path (path, NULL, error);
    }
  /* The second registry lists it from the cache (made from the cached
   * manifest, reading no byte of the file: tests/registry/
   * test-registry-cache.c proves that part), unless its manifest is too
   * large for the cache (then it opens it as usual). */
  rb_registry_add_search_path (second, dir);
  g_assert_true (rb_registry_rescan (second, NULL, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (second)), ==, 1);
  {
    g_autoptr(RbBundle) listed = g_list_model_get_item (G_LIST_MODEL (second), 0);
    const GError *reason = rb_bundle_get_unavailable_reason (listed);

    /* A format version it cannot read is listed, unavailable, with the
     * error opening it gives: that error is what this open returns. */
    if (reason != NULL && g_error_matches (reason, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION))
      {
        g_propagate_error (error, g_error_copy (reason));
        return NULL;
      }
    return g_steal_pointer (&listed);
  }
}

RbBundle *
open_bundle (const char  *path,
             GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len;

  if (open_mode == OPEN_PATH || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return rb_bundle_new_for_path (path, NULL, error);
  if (open_mode == OPEN_RESOURCE)
    return open_resource (path, error);
  if (open_mode == OPEN_CACHED)
    return open_cached (path, error);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  {
    g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), len);
    return rb_bundle_new_for_bytes (bytes, error);
  }
}

const char *
named_in_messages (const char *path)
{
  /* A bundle that does not open is never listed: opened by path. */
  if (open_mode == OPEN_PATH || open_mode == OPEN_CACHED || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return path;
  return open_mode == OPEN_BYTES ? "(in memory, " : "resource:///org/rustbridge/Test/bundle.rbp";
}

gboolean
skip_unless_path (void)
{
  if (open_mode == OPEN_PATH)
    return FALSE;
  g_test_skip ("about the bundle file itself: run by path only");
  return TRUE;
}

RbBundle *
open_ok (const char *path)
{
  g_autoptr(GError) error = NULL;
  RbBundle *bundle = open_bundle (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (bundle);
  return bundle;
}

void
open_fails (const char *path,
            int         code,
            const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = open_bundle (path, &error);

  g_assert_null (bundle);
  g_assert_error (error, RB_BUNDLE_ERROR, code);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", error->message, needle);
}

void
load_fails (RbBundle   *bundle,
            const char *variant,
            int         code,
            const char *needle)
{
  g_autoptr(GError) error = NULL;
  guint before = count_entries (tmpdir);
  g_autoptr(RbPlugin) plugin = rb_bundle_load_plugin (bundle, variant, NULL, NULL, &error);

  g_assert_null (plugin);
  g_assert_error (error, RB_BUNDLE_ERROR, code);
  if (needle != NULL && strstr (error->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", error->message, needle);
  /* Nothing was left behind. */
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
}

RbPlugin *
load_ok (RbBundle   *bundle,
         const char *variant)
{
  g_autoptr(GError) error = NULL;
  guint before = count_entries (tmpdir);
  RbPlugin *plugin = rb_bundle_load_plugin (bundle, variant, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  /* The private directory is gone as soon as the library is mapped. */
  g_assert_cmpuint (count_entries (tmpdir), ==, before);
  return plugin;
}

gboolean
rb_bundle_test_init (int    *argc,
                     char ***argv)
{
  const char *parent_tmp = g_getenv ("TMPDIR");
  g_autofree char *fixture_header = NULL;
  g_autofree char *minisign = NULL;
  const char *keygen1[] = { "minisign", "-G", "-W", "-p", "k.pub", "-s", "k.key", NULL };
  const char *keygen2[] = { "minisign", "-G", "-W", "-p", "k2.pub", "-s", "k2.key", NULL };

  warnings = g_ptr_array_new_with_free_func (g_free);
  /* Our own options, taken out before GTest sees the rest. */
  for (int i = 1; i < *argc;)
    {
      const char *arg = (*argv)[i];

      if (g_str_has_prefix (arg, "--rb-bundle-open="))
        open_mode = g_str_equal (arg + 17, "bytes") ? OPEN_BYTES
                    : g_str_equal (arg + 17, "resource") ? OPEN_RESOURCE
                    : g_str_equal (arg + 17, "cached") ? OPEN_CACHED : OPEN_PATH;
      else if (g_str_equal (arg, "--rb-no-memfd"))
        g_setenv ("RUSTBRIDGE_NO_MEMFD", "1", TRUE);
      else
        {
          i++;
          continue;
        }
      memmove (*argv + i, *argv + i + 1, (size_t) (*argc - i) * sizeof (char *));
      (*argc)--;
    }
  loads_extract = g_getenv ("RUSTBRIDGE_NO_MEMFD") != NULL;
  g_log_set_writer_func (capture_writer, NULL, NULL);

  /* Private extraction directories must appear (and vanish) here. GLib
   * reads TMPDIR once, on the first g_get_tmp_dir(): nothing may call it
   * (g_dir_make_tmp() does) before TMPDIR points here. */
  base = g_build_filename (parent_tmp != NULL && *parent_tmp != '\0' ? parent_tmp : "/tmp",
                           "rb-bundle-test-XXXXXX", NULL);
  g_assert_nonnull (g_mkdtemp (base));
  workdir = g_build_filename (base, "work", NULL);
  tmpdir = g_build_filename (base, "tmp", NULL);
  g_mkdir (workdir, 0700);
  g_mkdir (tmpdir, 0700);
  g_setenv ("TMPDIR", tmpdir, TRUE);
  /* Key 1 is trusted through the user's trusted-keys directory (filled
   * below, before anything reads it); the system's directories are empty.
   * GLib reads both once: before rb_test_init(). */
  {
    g_autofree char *config = g_build_filename (base, "config", NULL);
    g_autofree char *data = g_build_filename (base, "data", NULL);
    g_autofree char *data_home = g_build_filename (base, "data-home", NULL);
    g_autofree char *cache = g_build_filename (base, "cache", NULL);
    g_setenv ("XDG_CONFIG_HOME", config, TRUE);
    g_setenv ("XDG_DATA_DIRS", data, TRUE);
    /* For --rb-bundle-open=cached: the registries' own directories. */
    g_setenv ("XDG_DATA_HOME", data_home, TRUE);
    g_setenv ("XDG_CACHE_HOME", cache, TRUE);
    g_mkdir (cache, 0700);   /* made now: tests count what appears in base */
  }

  rb_test_init (argc, argv);
  g_assert_cmpstr (g_get_tmp_dir (), ==, tmpdir);

  minisign = g_find_program_in_path ("minisign");
  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      return FALSE;
    }
  run (keygen1);
  run (keygen2);
  key = g_build_filename (workdir, "k.key", NULL);
  pub = g_build_filename (workdir, "k.pub", NULL);
  key2 = g_build_filename (workdir, "k2.key", NULL);
  pub2 = g_build_filename (workdir, "k2.pub", NULL);
  {
    g_autofree char *trusted = g_build_filename (g_get_user_config_dir (), "rustbridge", "trusted-keys", NULL);
    g_autofree char *copy = g_build_filename (trusted, "k.pub", NULL);
    g_autofree char *text = NULL;

    g_assert_cmpint (g_mkdir_with_parents (trusted, 0700), ==, 0);
    g_assert_true (g_file_get_contents (pub, &text, NULL, NULL));
    g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  }
  fixture_header = g_test_build_filename (G_TEST_DIST, "plugins", "fixture-raw.h", NULL);
  {
    g_autofree char *copy = g_build_filename (workdir, "fixture-raw.h", NULL);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (fixture_header, &text, NULL, NULL));
    g_assert_true (g_file_set_contents (copy, text, -1, NULL));
  }
  return TRUE;
}

int
rb_bundle_test_run (void)
{
  int ret = g_test_run ();

  rb_test_remove_tree (base);
  g_clear_pointer (&base, g_free);
  g_clear_pointer (&warnings, g_ptr_array_unref);
  g_clear_pointer (&workdir, g_free);
  g_clear_pointer (&tmpdir, g_free);
  g_clear_pointer (&cached_link, g_free);
  g_clear_pointer (&key, g_free);
  g_clear_pointer (&pub, g_free);
  g_clear_pointer (&key2, g_free);
  g_clear_pointer (&pub2, g_free);
  return ret;
}
