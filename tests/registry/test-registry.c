/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gsettingsbackend.h>
#include <glib/gstdio.h>

#define RB_BUNDLE_TEST_OWN_FIXTURE
#include "bundle-test-util.h"
#include "rb-test-util.h"
#include "registry-test-util.h"

/* The environment (set before GLib reads it): a user data dir, one
 * system data dir, a cache dir and a trusted-keys dir with key 1. The
 * bundles are made once into the store, then copied into search paths. */
static RegistryTestDirs test_dirs;
static char *user_dir, *system_dir;
static char *k1, *p1, *k2, *p2;

#define APP_ID "org.rustbridge.Test"

static void
make_in_store (const char *file,
               const char *key_path,
               const char *pub_path,
               ...)
{
  g_autoptr(GPtrArray) extra = g_ptr_array_new ();
  g_autofree char *path = NULL;
  const char *arg;
  va_list args;

  va_start (args, pub_path);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (extra, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (extra, NULL);
  path = rb_test_make_bundle (test_dirs.store, file, key_path, pub_path, (const char * const *) extra->pdata);
}

static void
uninstall (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

static void
clean_dirs (void)
{
  const char *dirs[] = { user_dir, system_dir, NULL };

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      rb_test_remove_tree (dirs[i]);
      g_assert_cmpint (g_mkdir_with_parents (dirs[i], 0700), ==, 0);
    }
  rb_test_remove_tree (test_dirs.cache_home);
}

/* ---- GListModel conformance: a shadow list kept only from the
 * items-changed signals must always equal the model. ---- */

typedef struct {
  GPtrArray *shadow;
  guint      position, removed, added, emissions;
} Observer;

static void
on_items_changed (GListModel *model,
                  guint       position,
                  guint       removed,
                  guint       added,
                  Observer   *observer)
{
  g_assert_cmpuint (position + removed, <=, observer->shadow->len);
  g_ptr_array_remove_range (observer->shadow, position, removed);
  for (guint i = 0; i < added; i++)
    g_ptr_array_insert (observer->shadow, position + i, g_list_model_get_item (model, position + i));
  observer->position = position;
  observer->removed = removed;
  observer->added = added;
  observer->emissions++;
}

static void
observer_check (Observer   *observer,
                GListModel *model)
{
  g_assert_cmpuint (observer->shadow->len, ==, g_list_model_get_n_items (model));
  for (guint i = 0; i < observer->shadow->len; i++)
    {
      g_autoptr(RbBundle) item = g_list_model_get_item (model, i);
      g_assert_true (item == g_ptr_array_index (observer->shadow, i));
    }
  g_assert_null (g_list_model_get_item (model, observer->shadow->len));
}

static void
expect_change (Observer   *observer,
               GListModel *model,
               guint       emissions,
               guint       position,
               guint       removed,
               guint       added)
{
  observer_check (observer, model);
  g_assert_cmpuint (observer->emissions, ==, emissions);
  if (emissions > 0)
    {
      g_assert_cmpuint (observer->position, ==, position);
      g_assert_cmpuint (observer->removed, ==, removed);
      g_assert_cmpuint (observer->added, ==, added);
    }
  observer->emissions = 0;
}

static char *
describe (GListModel *model)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(RbBundle) item = g_list_model_get_item (model, i);
      g_string_append_printf (out, "%s%s-%s", i > 0 ? " " : "", rb_bundle_get_name (item),
                              rb_bundle_get_version (item));
    }
  return g_string_free (out, FALSE);
}

static void
rescan_ok (RbRegistry *registry)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  g_assert_no_error (error);
}

static void
test_search_paths (void)
{
  g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
  g_auto(GStrv) paths = NULL;
  g_autofree char *user = g_build_filename (g_get_user_data_dir (), APP_ID, "plugins", NULL);
  g_autofree char *system = g_build_filename (g_get_system_data_dirs ()[0], APP_ID, "plugins", NULL);

  g_assert_cmpstr (rb_registry_get_app_id (registry), ==, APP_ID);
  rb_registry_add_search_path (registry, "/nonexistent/plugins");
  rb_registry_add_search_path (registry, "/nonexistent/plugins");
  paths = rb_registry_dup_search_paths (registry);
  g_assert_cmpuint (g_strv_length (paths), ==, 3);
  g_assert_cmpstr (paths[0], ==, user);
  g_assert_cmpstr (paths[1], ==, system);
  g_assert_cmpstr (paths[2], ==, "/nonexistent/plugins");
  g_assert_cmpint (g_list_model_get_item_type (G_LIST_MODEL (registry)), ==, RB_TYPE_BUNDLE);
  g_assert_false (rb_registry_get_watch (registry));
  g_assert_cmpint (rb_registry_get_verify_mode (registry), ==, RB_VERIFY_MODE_STRICT);
  /* Missing directories are no error. */
  rescan_ok (registry);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 0);
}

static void
test_model (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(GPtrArray) shadow = g_ptr_array_new_with_free_func (g_object_unref);
  Observer observer = { shadow, 0, 0, 0, 0 };
  GListModel *model;
  g_autofree char *text = NULL;
  g_autoptr(RbBundle) beta = NULL;

  clean_dirs ();
  registry = rb_registry_new (APP_ID);
  model = G_LIST_MODEL (registry);
  g_signal_connect (registry, "items-changed", G_CALLBACK (on_items_changed), &observer);
  rescan_ok (registry);
  expect_change (&observer, model, 0, 0, 0, 0);

  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha-1.rbp");
  rescan_ok (registry);
  expect_change (&observer, model, 1, 0, 0, 1);
  registry_test_install (&test_dirs, "beta-1.rbp", system_dir, "beta.rbp");
  rescan_ok (registry);
  expect_change (&observer, model, 1, 1, 0, 1);
  registry_test_install (&test_dirs, "alpha-2.rbp", system_dir, "alpha-2.rbp");
  rescan_ok (registry);
  expect_change (&observer, model, 1, 1, 0, 1);
  text = describe (model);
  g_assert_cmpstr (text, ==, "alpha-1.0.0 alpha-2.0.0 beta-1.0.0");

  /* Nothing changed: the same objects, no signal. */
  beta = g_list_model_get_item (model, 2);
  rescan_ok (registry);
  expect_change (&observer, model, 0, 0, 0, 0);
  {
    g_autoptr(RbBundle) again = g_list_model_get_item (model, 2);
    g_assert_true (again == beta);
  }

  /* Replaced: a new object in the same place. */
  registry_test_install (&test_dirs, "beta-1.rbp", system_dir, "beta.rbp");
  rescan_ok (registry);
  expect_change (&observer, model, 1, 2, 1, 1);
  {
    g_autoptr(RbBundle) again = g_list_model_get_item (model, 2);
    g_assert_true (again != beta);
  }

  uninstall (user_dir, "alpha-1.rbp");
  rescan_ok (registry);
  expect_change (&observer, model, 1, 0, 1, 0);
  uninstall (system_dir, "beta.rbp");
  rescan_ok (registry);
  expect_change (&observer, model, 1, 1, 1, 0);
  g_clear_pointer (&text, g_free);
  text = describe (model);
  g_assert_cmpstr (text, ==, "alpha-2.0.0");
}

static void
rescan_async_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_registry_rescan_finish (RB_REGISTRY (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static RbBundle *only_item (RbRegistry *registry);

/* ---- what a scan touches ---- */

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static guint
count_memfds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  guint n = 0;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc/self/fd", name, NULL);
      g_autofree char *target = g_file_read_link (path, NULL);

      if (target != NULL && g_str_has_prefix (target, "/memfd:"))
        n++;
    }
  return n;
}

static guint
count_maps (const char *needle)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], needle) != NULL)
      n++;
  return n;
}

/* Every name under @path, recursively, sorted, one per line. */
static void
list_tree (const char *path,
           GString    *out)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_build_filename (path, name, NULL));
  g_ptr_array_sort (names, compare_paths);
  for (guint i = 0; i < names->len; i++)
    {
      g_string_append_printf (out, "%s\n", (char *) g_ptr_array_index (names, i));
      list_tree (g_ptr_array_index (names, i), out);
    }
}

/* A cold scan (no cache, no previous scan) reads metadata only: no
 * memfd made, the library not mapped, nothing extracted into $TMPDIR. */
static void
test_scan_metadata_only (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(GString) tmp_before = g_string_new (NULL);
  g_autoptr(GString) tmp_after = g_string_new (NULL);
  g_autofree char *library = NULL;
  g_autofree char *library_name = NULL;
  guint memfds, memfd_maps, library_maps;

  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
  /* The library's name in the bundle, from another bundle object. */
  {
    g_autofree char *path = registry_test_store_path (&test_dirs, "alpha-1.rbp");
    g_autoptr(RbBundle) probe = rb_bundle_new_for_path (path, NULL, NULL);

    library = rb_bundle_dup_library_path (probe, NULL, NULL);
    g_assert_nonnull (library);
    library_name = g_path_get_basename (library);
  }
  list_tree (test_dirs.tmp, tmp_before);
  memfds = count_memfds ();
  memfd_maps = count_maps ("/memfd:");
  library_maps = count_maps (library_name);

  registry = rb_registry_new (APP_ID);
  rescan_ok (registry);
  bundle = only_item (registry);
  g_assert_true (rb_bundle_get_available (bundle));

  g_assert_cmpuint (count_memfds (), ==, memfds);
  g_assert_cmpuint (count_maps ("/memfd:"), ==, memfd_maps);
  g_assert_cmpuint (count_maps (library_name), ==, library_maps);
  list_tree (test_dirs.tmp, tmp_after);
  g_assert_cmpstr (tmp_after->str, ==, tmp_before->str);

  /* The checks see a load: the same library, mapped from a memfd. */
  {
    g_autoptr(RbPlugin) plugin = rb_registry_load_plugin (registry, "alpha", NULL, NULL, NULL);

    g_assert_nonnull (plugin);
    if (g_getenv ("RB_TEST_ISOLATION") == NULL)
      g_assert_cmpuint (count_maps (library_name), >, library_maps);
    g_assert_true (rb_registry_unload_plugin (registry, "alpha", NULL, NULL));
  }
}

static void
test_rescan_async (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  gboolean done = FALSE;

  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "a.rbp");
  registry_test_install (&test_dirs, "beta-1.rbp", user_dir, "b.rbp");
  registry = rb_registry_new (APP_ID);
  rb_registry_rescan_async (registry, NULL, rescan_async_done, &done);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 0);
  rb_test_wait_until (&done, 10000);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);

  g_cancellable_cancel (cancellable);
  g_assert_false (rb_registry_rescan (registry, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
}

static RbBundle *
only_item (RbRegistry *registry)
{
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 1);
  return g_list_model_get_item (G_LIST_MODEL (registry), 0);
}

static void
check_reason (const char *store_name,
              int         code,
              const char *needle)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  const GError *reason;
  gboolean available = TRUE;

  clean_dirs ();
  registry_test_install (&test_dirs, store_name, system_dir, "x.rbp");
  registry = rb_registry_new (APP_ID);
  rescan_ok (registry);
  bundle = only_item (registry);
  reason = rb_bundle_get_unavailable_reason (bundle);
  g_object_get (bundle, "available", &available, NULL);
  if (code == 0)
    {
      g_assert_null (reason);
      g_assert_true (available);
      g_assert_true (rb_bundle_get_available (bundle));
      return;
    }
  g_assert_false (available);
  g_assert_false (rb_bundle_get_available (bundle));
  g_assert_error ((GError *) reason, RB_BUNDLE_ERROR, code);
  if (needle != NULL && strstr (reason->message, needle) == NULL)
    g_error ("“%s” lacks “%s”", reason->message, needle);
  /* Loading by name says the same. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(RbPlugin) plugin = rb_registry_load_plugin (registry, rb_bundle_get_name (bundle), NULL, NULL, &error);
    g_assert_null (plugin);
    g_assert_error (error, RB_BUNDLE_ERROR, code);
  }
}

static void
test_availability (void)
{
  check_reason ("alpha-1.rbp", 0, NULL);
  check_reason ("other-platform.rbp", RB_BUNDLE_ERROR_UNSUPPORTED_PLATFORM, NULL);
  check_reason ("framework.rbp", RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "rustbridge 9.0.0");
  check_reason ("unsigned.rbp", RB_BUNDLE_ERROR_SIGNATURE_MISSING, NULL);
  check_reason ("lib-unsigned.rbp", RB_BUNDLE_ERROR_SIGNATURE_MISSING, "not signed");
  check_reason ("tampered.rbp", RB_BUNDLE_ERROR_SIGNATURE_INVALID, NULL);
  check_reason ("untrusted.rbp", RB_BUNDLE_ERROR_NO_PUBLIC_KEY, NULL);
  check_reason ("no-library.rbp", RB_BUNDLE_ERROR_ENTRY_NOT_FOUND, NULL);
  /* Another bundle format version: listed (under its name), not dropped,
   * with a reason naming the file and the version. */
  check_reason ("format-2.rbp", RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "format version “2.0”");
  check_reason ("format-2.rbp", RB_BUNDLE_ERROR_UNSUPPORTED_VERSION, "/x.rbp");
}

/* A bundle of another format version, from a scan and from the cache:
 * the same item, and nothing of it can be used. */
static void
test_availability_format (void)
{
  for (guint pass = 0; pass < 2; pass++)
    {
      g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
      g_autoptr(RbBundle) bundle = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(RbPlugin) plugin = NULL;
      g_auto(GStrv) files = NULL;

      if (pass == 0)
        {
          clean_dirs ();
          registry_test_install (&test_dirs, "format-2.rbp", user_dir, "kappa.rbp");
          registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
        }
      rescan_ok (registry);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
      bundle = g_list_model_get_item (G_LIST_MODEL (registry), 1);
      g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "kappa");
      g_assert_cmpstr (rb_bundle_get_version (bundle), ==, "4.5.6");
      g_assert_cmpstr (rb_bundle_get_bundle_version (bundle), ==, "2.0");
      g_assert_false (rb_bundle_get_available (bundle));
      g_assert_error ((GError *) rb_bundle_get_unavailable_reason (bundle), RB_BUNDLE_ERROR,
                      RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      g_assert_true (rb_registry_lookup_bundle (registry, "kappa") == bundle);
      plugin = rb_registry_load_plugin (registry, "kappa", NULL, NULL, &error);
      g_assert_null (plugin);
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      g_clear_error (&error);
      /* Directly too: nothing of the library is reachable. */
      plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
      g_assert_null (plugin);
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      g_clear_error (&error);
      g_assert_false (rb_bundle_verify (bundle, NULL, NULL, &error));
      g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_UNSUPPORTED_VERSION);
      files = rb_bundle_list_files (bundle);
      g_assert_cmpuint (g_strv_length (files), ==, 0);
    }
}

static void
test_availability_direct (void)
{
  g_autofree char *path = registry_test_store_path (&test_dirs, "untrusted.rbp");
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = rb_bundle_new_for_path (path, NULL, &error);

  /* A bundle opened directly decides with its own settings, once. */
  g_assert_no_error (error);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_SKIP);
  g_assert_null (rb_bundle_get_unavailable_reason (bundle));
  g_assert_true (rb_bundle_get_available (bundle));
  {
    g_autoptr(RbBundle) strict = rb_bundle_new_for_path (path, NULL, &error);
    g_assert_error ((GError *) rb_bundle_get_unavailable_reason (strict), RB_BUNDLE_ERROR,
                    RB_BUNDLE_ERROR_NO_PUBLIC_KEY);
  }
  /* A bundle that did not open reads as unavailable, without criticals. */
  {
    g_autoptr(RbBundle) broken = g_object_new (RB_TYPE_BUNDLE, "file", NULL, NULL);
    gboolean available = TRUE;

    g_object_get (broken, "available", &available, NULL);
    g_assert_false (available);
  }
}

/* The registry's verify mode is every item's, and a rescan under another
 * mode decides availability again (neither the previous scan's verdicts
 * nor the cache's are reused). */
static void
test_verify_mode (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(GError) error = NULL;
  RbVerifyMode modes[] = { RB_VERIFY_MODE_SKIP, RB_VERIFY_MODE_STRICT, RB_VERIFY_MODE_SKIP };

  clean_dirs ();
  registry_test_install (&test_dirs, "unsigned.rbp", user_dir, "gamma.rbp");
  registry = rb_registry_new (APP_ID);
  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(RbBundle) bundle = NULL;
      g_autoptr(RbPlugin) plugin = NULL;

      rb_registry_set_verify_mode (registry, modes[i]);
      rescan_ok (registry);
      bundle = only_item (registry);
      g_assert_cmpint (rb_bundle_get_verify_mode (bundle), ==, modes[i]);
      plugin = rb_registry_load_plugin (registry, "gamma", NULL, NULL, &error);
      if (modes[i] == RB_VERIFY_MODE_SKIP)
        {
          g_autofree char *reply = NULL;

          g_assert_true (rb_bundle_get_available (bundle));
          g_assert_no_error (error);
          reply = rb_plugin_call (plugin, "echo", "{\"message\":\"hi\"}", NULL, &error);
          g_assert_no_error (error);
          g_assert_nonnull (reply);
          g_assert_true (rb_registry_unload_plugin (registry, "gamma", NULL, &error));
          g_assert_no_error (error);
        }
      else
        {
          g_assert_false (rb_bundle_get_available (bundle));
          g_assert_error ((GError *) rb_bundle_get_unavailable_reason (bundle), RB_BUNDLE_ERROR,
                          RB_BUNDLE_ERROR_SIGNATURE_MISSING);
          g_assert_null (plugin);
          g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING);
          g_clear_error (&error);
        }
    }
}

static void
test_conflicts (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  RbBundle *chosen;
  g_autofree char *path = NULL;

  clean_dirs ();
  /* The highest version wins, wherever it is. */
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
  registry_test_install (&test_dirs, "alpha-2.rbp", system_dir, "alpha.rbp");
  registry = rb_registry_new (APP_ID);
  rescan_ok (registry);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
  chosen = rb_registry_lookup_bundle (registry, "alpha");
  g_assert_cmpstr (rb_bundle_get_version (chosen), ==, "2.0.0");
  g_assert_null (rb_registry_lookup_bundle (registry, "nothing"));

  /* Equal versions: the user's directory first. */
  registry_test_install (&test_dirs, "alpha-2.rbp", user_dir, "alpha.rbp");
  rescan_ok (registry);
  chosen = rb_registry_lookup_bundle (registry, "alpha");
  path = g_file_get_path (rb_bundle_get_file (chosen));
  g_assert_true (g_str_has_prefix (path, user_dir));

  /* An unavailable higher version does not hide an available one. */
  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", system_dir, "alpha-1.rbp");
  registry_test_install (&test_dirs, "alpha-3-unsigned.rbp", user_dir, "alpha-3.rbp");
  rescan_ok (registry);
  chosen = rb_registry_lookup_bundle (registry, "alpha");
  g_assert_cmpstr (rb_bundle_get_version (chosen), ==, "1.0.0");
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(RbPlugin) plugin = rb_registry_load_plugin (registry, "alpha", NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (rb_plugin_get_bundle_version (plugin), ==, "1.0.0");
  }
}

static void
test_hostile (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *loop = g_build_filename (system_dir, "loop.rbp", NULL);
  g_autofree char *dangling = g_build_filename (system_dir, "dangling.rbp", NULL);
  g_autofree char *dir = g_build_filename (system_dir, "dir.rbp", NULL);
  g_autofree char *text = g_build_filename (system_dir, "text.rbp", NULL);
  g_autofree char *huge = g_build_filename (system_dir, "huge.rbp", NULL);
  g_autofree char *link = g_build_filename (system_dir, "link.rbp", NULL);
  g_autofree char *target = g_build_filename (system_dir, "good.rbp", NULL);
  g_autofree char *fifo = g_build_filename (system_dir, "fifo.rbp", NULL);
  g_autofree char *mem = g_build_filename (system_dir, "mem.rbp", NULL);
  g_autofree char *locked = g_build_filename (system_dir, "locked.rbp", NULL);
  int fd;
  guint n = rb_test_scale (3000);

  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", system_dir, "good.rbp");
  g_assert_cmpint (symlink ("loop.rbp", loop), ==, 0);
  g_assert_cmpint (symlink ("/nonexistent/x.rbp", dangling), ==, 0);
  g_assert_cmpint (symlink ("good.rbp", link), ==, 0);
  g_assert_cmpint (g_mkdir (dir, 0700), ==, 0);
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_true (g_file_set_contents (text, "not a bundle", -1, NULL));
  /* Unreadable even for root: a regular file whose reads fail (EIO). */
  g_assert_cmpint (symlink ("/proc/self/mem", mem), ==, 0);
  /* Unreadable for anyone else (root reads it anyway: then it is junk). */
  registry_test_install (&test_dirs, "beta-1.rbp", system_dir, "locked.rbp");
  g_assert_cmpint (g_chmod (locked, 0), ==, 0);
  /* 64 GiB, sparse: nothing reads it whole. */
  fd = g_open (huge, O_CREAT | O_WRONLY, 0600);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, G_GINT64_CONSTANT (64) << 30), ==, 0);
  close (fd);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *junk = g_strdup_printf ("%s/junk-%05u%s", user_dir, i, i % 2 ? ".rbp" : ".txt");
      g_assert_true (g_file_set_contents (junk, "PK\x05\x06", 4, NULL));
    }

  registry = rb_registry_new (APP_ID);
  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  g_assert_no_error (error);
  /* The good bundle, once (the link to it is the same file); the
   * unreadable ones left out as any other file that does not open, but
   * the locked bundle when root reads it. */
  if (geteuid () == 0)
    {
      g_autoptr(RbBundle) beta = NULL;

      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
      beta = g_list_model_get_item (G_LIST_MODEL (registry), 1);
      g_assert_cmpstr (rb_bundle_get_name (beta), ==, "beta");
      g_assert_cmpint (g_unlink (locked), ==, 0);
      g_assert_true (rb_registry_rescan (registry, NULL, &error));
      g_assert_no_error (error);
    }
  {
    g_autoptr(RbBundle) bundle = only_item (registry);
    g_assert_cmpstr (rb_bundle_get_name (bundle), ==, "alpha");
    g_assert_true (rb_bundle_get_available (bundle));
  }
  /* Also with NULL errors, and again from the cache. */
  g_assert_true (rb_registry_rescan (registry, NULL, NULL));
  {
    g_autoptr(RbRegistry) again = rb_registry_new (APP_ID);
    g_assert_true (rb_registry_rescan (again, NULL, NULL));
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (again)), ==, 1);
  }
}

static char *
cache_file (void)
{
  return g_build_filename (test_dirs.cache_home, "rustbridge-glib", "registry-" APP_ID ".json", NULL);
}

static void
test_cache (void)
{
  g_autofree char *cache = cache_file ();
  g_autofree char *trusted_pub = g_build_filename (test_dirs.trusted, "k.pub", NULL);
  g_autofree char *saved = NULL;
  const char *corrupt[] = {
    "", "garbage", "[]", "{\"format\":1}", "{\"format\":1,\"trust\":1,\"entries\":[]}",
    NULL,
  };

  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", system_dir, "alpha.rbp");
  registry_test_install (&test_dirs, "unsigned.rbp", system_dir, "unsigned.rbp");
  {
    g_autofree char *junk = g_build_filename (system_dir, "junk.rbp", NULL);
    g_assert_true (g_file_set_contents (junk, "junk", -1, NULL));
  }
  {
    g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
    rescan_ok (registry);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
  }
  g_assert_true (g_file_test (cache, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_get_contents (cache, &saved, NULL, NULL));
  g_assert_nonnull (strstr (saved, "alpha.rbp"));
  g_assert_nonnull (strstr (saved, "junk.rbp"));

  /* From the cache: the same verdicts. */
  {
    g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
    g_autoptr(RbBundle) first = NULL, second = NULL;

    rescan_ok (registry);
    first = g_list_model_get_item (G_LIST_MODEL (registry), 0);
    second = g_list_model_get_item (G_LIST_MODEL (registry), 1);
    g_assert_cmpstr (rb_bundle_get_name (first), ==, "alpha");
    g_assert_true (rb_bundle_get_available (first));
    g_assert_error ((GError *) rb_bundle_get_unavailable_reason (second), RB_BUNDLE_ERROR,
                    RB_BUNDLE_ERROR_SIGNATURE_MISSING);
  }

  /* A changed file is read again, even with its old size and mtime. */
  registry_test_install (&test_dirs, "alpha-2.rbp", system_dir, "alpha.rbp");
  {
    g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
    g_autoptr(RbBundle) first = NULL;

    rescan_ok (registry);
    first = g_list_model_get_item (G_LIST_MODEL (registry), 0);
    g_assert_cmpstr (rb_bundle_get_version (first), ==, "2.0.0");
  }

  /* A cache that lies about a changed file is not believed: the entry
   * for alpha.rbp is from before the change. */
  g_assert_true (g_file_set_contents (cache, saved, -1, NULL));
  {
    g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
    g_autoptr(RbBundle) first = NULL;

    rescan_ok (registry);
    first = g_list_model_get_item (G_LIST_MODEL (registry), 0);
    g_assert_cmpstr (rb_bundle_get_version (first), ==, "2.0.0");
  }

  /* The trust inputs are part of the key: a key no longer trusted makes
   * the cached "available" void. */
  {
    g_autofree char *aside = g_strconcat (trusted_pub, ".off", NULL);
    g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);
    g_autoptr(RbBundle) first = NULL;

    g_assert_cmpint (g_rename (trusted_pub, aside), ==, 0);
    rescan_ok (registry);
    first = g_list_model_get_item (G_LIST_MODEL (registry), 0);
    g_assert_error ((GError *) rb_bundle_get_unavailable_reason (first), RB_BUNDLE_ERROR,
                    RB_BUNDLE_ERROR_NO_PUBLIC_KEY);
    g_assert_cmpint (g_rename (aside, trusted_pub), ==, 0);
  }

  /* Corrupt and hostile caches are ignored. */
  for (guint i = 0; corrupt[i] != NULL; i++)
    {
      g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);

      g_assert_true (g_file_set_contents (cache, corrupt[i], -1, NULL));
      rescan_ok (registry);
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
    }
  {
    g_autoptr(GString) deep = g_string_new ("{\"format\":1,\"entries\":");
    g_autoptr(RbRegistry) registry = rb_registry_new (APP_ID);

    for (guint i = 0; i < 100000; i++)
      g_string_append_c (deep, '[');
    g_assert_true (g_file_set_contents (cache, deep->str, deep->len, NULL));
    rescan_ok (registry);
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
  }
  /* A cache entry claiming a good bundle is "not a bundle", with its
   * current identity, hides it at most: it never makes anything load. */
  g_assert_true (g_file_test (cache, G_FILE_TEST_IS_REGULAR));
}

/* ---- loading ---- */

typedef struct {
  guint loaded, unloaded, reload_failed, load_failed;
  GError *last_error;
} Events;

static void
on_loaded (RbRegistry *registry, RbBundle *bundle, RbPlugin *plugin, Events *events)
{
  g_assert_true (RB_IS_BUNDLE (bundle));
  g_assert_true (rb_registry_get_plugin (registry, rb_bundle_get_name (bundle)) == plugin);
  events->loaded++;
}

static void
on_unloaded (RbRegistry *registry, RbBundle *bundle, RbPlugin *plugin, Events *events)
{
  g_assert_null (rb_registry_get_plugin (registry, rb_bundle_get_name (bundle)));
  events->unloaded++;
}

static void
on_reload_failed (RbRegistry *registry, RbBundle *bundle, GError *error, Events *events)
{
  g_clear_error (&events->last_error);
  events->last_error = g_error_copy (error);
  events->reload_failed++;
}

static void
on_load_failed (RbRegistry *registry, const char *name, GError *error, Events *events)
{
  g_clear_error (&events->last_error);
  events->last_error = g_error_copy (error);
  events->load_failed++;
}

static void
connect_events (RbRegistry *registry,
                Events     *events)
{
  g_signal_connect (registry, "plugin-loaded", G_CALLBACK (on_loaded), events);
  g_signal_connect (registry, "plugin-unloaded", G_CALLBACK (on_unloaded), events);
  g_signal_connect (registry, "reload-failed", G_CALLBACK (on_reload_failed), events);
  g_signal_connect (registry, "load-failed", G_CALLBACK (on_load_failed), events);
}

static void
assert_loaded (RbRegistry *registry,
               const char *expected)
{
  g_auto(GStrv) names = rb_registry_dup_loaded_plugins (registry);
  g_autofree char *joined = g_strjoinv (" ", names);

  g_assert_cmpstr (joined, ==, expected);
}

static void
load_async_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  RbPlugin **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = rb_registry_load_plugin_finish (RB_REGISTRY (source), result, &error);
  g_assert_no_error (error);
}

static void
unload_async_done (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_registry_unload_plugin_finish (RB_REGISTRY (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
test_load (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(RbPlugin) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = NULL;
  Events events = { 0 };
  RbPlugin *first = NULL, *second = NULL;
  gboolean unloaded = FALSE;

  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
  registry_test_install (&test_dirs, "beta-1.rbp", user_dir, "beta.rbp");
  registry = rb_registry_new (APP_ID);
  connect_events (registry, &events);
  rescan_ok (registry);

  g_assert_null (rb_registry_load_plugin (registry, "nothing", NULL, NULL, &error));
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_null (rb_registry_load_plugin (registry, "nothing", NULL, NULL, NULL));

  plugin = rb_registry_load_plugin (registry, "alpha", NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "alpha");
  g_assert_true (rb_registry_get_plugin (registry, "alpha") == plugin);
  g_assert_cmpuint (events.loaded, ==, 1);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"hi\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (reply);
  /* Loading again gives the same plugin. */
  again = rb_registry_load_plugin (registry, "alpha", NULL, NULL, &error);
  g_assert_true (again == plugin);
  g_assert_cmpuint (events.loaded, ==, 1);

  /* Two async loads of one name share one load. */
  rb_registry_load_plugin_async (registry, "beta", NULL, NULL, load_async_done, &first);
  rb_registry_load_plugin_async (registry, "beta", NULL, NULL, load_async_done, &second);
  while (first == NULL || second == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (first == second);
  g_assert_cmpuint (events.loaded, ==, 2);
  assert_loaded (registry, "alpha beta");

  g_assert_true (rb_registry_unload_plugin (registry, "alpha", NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
  g_assert_cmpuint (events.unloaded, ==, 1);
  g_assert_false (rb_registry_unload_plugin (registry, "alpha", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE);
  g_clear_error (&error);
  g_assert_false (rb_registry_unload_plugin (registry, "alpha", NULL, NULL));

  rb_registry_unload_plugin_async (registry, "beta", NULL, unload_async_done, &unloaded);
  assert_loaded (registry, "");
  rb_test_wait_until (&unloaded, 10000);
  g_assert_cmpuint (events.unloaded, ==, 2);
  g_object_unref (first);
  g_object_unref (second);
  g_clear_error (&events.last_error);
}

static void
test_enabled_gsettings (void)
{
  g_autoptr(GSettingsBackend) backend = g_memory_settings_backend_new ();
  g_autoptr(GSettings) settings = g_settings_new_with_backend ("org.rustbridge.test.registry", backend);
  g_autoptr(RbRegistry) registry = NULL;
  const char *alpha_beta[] = { "alpha", "beta", "missing", NULL };
  const char *beta[] = { "beta", NULL };
  const char *bad[] = { "beta", "gamma", NULL };
  Events events = { 0 };

  clean_dirs ();
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
  registry_test_install (&test_dirs, "beta-1.rbp", user_dir, "beta.rbp");
  registry_test_install (&test_dirs, "unsigned.rbp", user_dir, "gamma.rbp");
  registry = rb_registry_new (APP_ID);
  connect_events (registry, &events);
  rescan_ok (registry);
  g_settings_bind (settings, "enabled-plugins", registry, "enabled-plugins", G_SETTINGS_BIND_DEFAULT);

  g_settings_set_strv (settings, "enabled-plugins", alpha_beta);
  while (events.loaded < 2)
    g_main_context_iteration (NULL, TRUE);
  assert_loaded (registry, "alpha beta");

  g_settings_set_strv (settings, "enabled-plugins", beta);
  while (events.unloaded < 1)
    g_main_context_iteration (NULL, TRUE);
  assert_loaded (registry, "beta");
  g_assert_null (rb_registry_get_plugin (registry, "alpha"));

  /* An unavailable plugin is reported, the others stay. */
  g_settings_set_strv (settings, "enabled-plugins", bad);
  g_assert_cmpuint (events.load_failed, ==, 1);
  g_assert_error (events.last_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING);
  assert_loaded (registry, "beta");

  /* The registry writes back to the key too. */
  rb_registry_set_enabled_plugins (registry, NULL);
  {
    g_auto(GStrv) value = g_settings_get_strv (settings, "enabled-plugins");
    g_assert_cmpuint (g_strv_length (value), ==, 0);
  }
  while (events.unloaded < 2)
    g_main_context_iteration (NULL, TRUE);
  assert_loaded (registry, "");

  /* A plugin enabled before it is installed loads when a scan finds it. */
  {
    const char *later[] = { "alpha", NULL };
    g_settings_set_strv (settings, "enabled-plugins", later);
  }
  uninstall (user_dir, "alpha.rbp");
  rescan_ok (registry);
  while (events.loaded < 3 && rb_registry_get_plugin (registry, "alpha") == NULL)
    g_main_context_iteration (NULL, TRUE);
  assert_loaded (registry, "alpha");
  g_clear_error (&events.last_error);
  g_settings_unbind (registry, "enabled-plugins");
}

/* The promise is "within a second" (a quarter of a second of settling,
 * then a scan): the test fails past 3 s, which leaves room for a loaded
 * 2-core CI machine without letting a lost event pass. Valgrind runs
 * everything ~30 times slower. */
static void
wait_for_items (RbRegistry *registry,
                guint       n,
                gint64      since)
{
  gint64 budget = g_getenv ("RB_TEST_UNDER_VALGRIND") != NULL ? 30 * G_USEC_PER_SEC : 3 * G_USEC_PER_SEC;

  while (g_list_model_get_n_items (G_LIST_MODEL (registry)) != n)
    {
      if (g_get_monotonic_time () - since > budget)
        g_error ("The model has %u items, not %u, %.2f s after the change",
                 g_list_model_get_n_items (G_LIST_MODEL (registry)), n,
                 (g_get_monotonic_time () - since) / (double) G_USEC_PER_SEC);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
test_watch (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(GPtrArray) shadow = g_ptr_array_new_with_free_func (g_object_unref);
  Observer observer = { shadow, 0, 0, 0, 0 };
  GListModel *model;
  g_autofree char *data = NULL;
  g_autofree char *from = registry_test_store_path (&test_dirs, "beta-1.rbp");
  g_autofree char *partial = g_build_filename (user_dir, "beta.rbp", NULL);
  Events events = { 0 };
  gint64 since;
  gsize len;
  FILE *out;

  clean_dirs ();
  registry = rb_registry_new (APP_ID);
  model = G_LIST_MODEL (registry);
  connect_events (registry, &events);
  g_signal_connect (registry, "items-changed", G_CALLBACK (on_items_changed), &observer);
  rescan_ok (registry);
  rb_registry_set_watch (registry, TRUE);
  g_assert_true (rb_registry_get_watch (registry));

  since = g_get_monotonic_time ();
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
  wait_for_items (registry, 1, since);
  expect_change (&observer, model, 1, 0, 0, 1);

  /* A file copied in slowly: not listed (nor loaded) half-written, listed
   * once complete. */
  {
    const char *names[] = { "beta", NULL };
    rb_registry_set_enabled_plugins (registry, names);
  }
  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  out = fopen (partial, "wb");
  g_assert_nonnull (out);
  for (gsize done = 0; done < len; )
    {
      gsize chunk = MIN (len - done, len / 4 + 1);

      g_assert_cmpuint (fwrite (data + done, 1, chunk, out), ==, chunk);
      fflush (out);
      done += chunk;
      if (done < len)
        {
          rb_test_iterate_for (400);
          g_assert_cmpuint (g_list_model_get_n_items (model), ==, 1);
          g_assert_null (rb_registry_get_plugin (registry, "beta"));
        }
    }
  fclose (out);
  since = g_get_monotonic_time ();
  wait_for_items (registry, 2, since);
  expect_change (&observer, model, 1, 1, 0, 1);
  while (rb_registry_get_plugin (registry, "beta") == NULL)
    g_main_context_iteration (NULL, TRUE);

  /* The loaded plugin's bundle replaced by one that cannot be loaded:
   * reported, the loaded one keeps serving; the item is replaced. */
  registry_test_install (&test_dirs, "beta-unsigned.rbp", user_dir, "beta.rbp");
  while (events.reload_failed == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (events.last_error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_SIGNATURE_MISSING);
  g_assert_cmpint (rb_plugin_get_state (rb_registry_get_plugin (registry, "beta")), ==,
                   RB_LIFECYCLE_STATE_ACTIVE);
  expect_change (&observer, model, 1, 1, 1, 1);

  since = g_get_monotonic_time ();
  uninstall (user_dir, "alpha.rbp");
  wait_for_items (registry, 1, since);
  expect_change (&observer, model, 1, 0, 1, 0);

  rb_registry_set_watch (registry, FALSE);
  registry_test_install (&test_dirs, "alpha-1.rbp", user_dir, "alpha.rbp");
  rb_test_iterate_for (600);
  expect_change (&observer, model, 0, 0, 0, 0);
  g_clear_error (&events.last_error);
}

int
main (int argc, char **argv)
{
  g_autofree char *minisign = g_find_program_in_path ("minisign");
  int status;

  registry_test_dirs_init (&test_dirs, "rb-registry-test");
  user_dir = g_build_filename (test_dirs.data_home, APP_ID, "plugins", NULL);
  system_dir = g_build_filename (test_dirs.data_dir, APP_ID, "plugins", NULL);

  rb_test_init (&argc, &argv);
  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      return g_test_run ();
    }
  registry_test_make_key (&test_dirs, "k", &k1, &p1);
  registry_test_make_key (&test_dirs, "k2", &k2, &p2);
  registry_test_trust_key (&test_dirs, p1);
  make_in_store ("alpha-1.rbp", k1, p1, "--name", "alpha", "--version", "1.0.0", NULL);
  make_in_store ("alpha-2.rbp", k1, p1, "--name", "alpha", "--version", "2.0.0", NULL);
  make_in_store ("alpha-3-unsigned.rbp", NULL, NULL, "--name", "alpha", "--version", "3.0.0", NULL);
  make_in_store ("beta-1.rbp", k1, p1, "--name", "beta", "--version", "1.0.0", NULL);
  make_in_store ("beta-unsigned.rbp", NULL, NULL, "--name", "beta", "--version", "1.0.1", NULL);
  make_in_store ("unsigned.rbp", NULL, NULL, "--name", "gamma", NULL);
  make_in_store ("lib-unsigned.rbp", k1, p1, "--name", "delta", "--unsigned-library", NULL);
  make_in_store ("tampered.rbp", k1, p1, "--name", "epsilon", "--tamper", "manifest", NULL);
  make_in_store ("untrusted.rbp", k2, p2, "--name", "zeta", NULL);
  make_in_store ("framework.rbp", k1, p1, "--name", "eta", "--set",
                 "build_info={\"rustbridge_version\":\"9.0.0\"}", NULL);
  make_in_store ("format-2.rbp", k1, p1, "--name", "kappa", "--version", "4.5.6",
                 "--set", "bundle_version=\"2.0\"", NULL);
  {
    g_autofree char *other = g_strdup_printf ("%s", g_str_has_prefix (rb_bundle_get_current_platform (), "linux-aarch64")
                                              ? "darwin-x86_64" : "darwin-aarch64");
    g_autofree char *path = registry_test_store_path (&test_dirs, "other-platform.rbp");
    const char *argv2[] = { "/usr/bin/python3", NULL, path, "--library", rb_test_plugin_path (RB_TEST_FIXTURE),
                            "--platform", other, "--name", "theta", "--sign", k1, "--public-key", p1, NULL };
    g_autofree char *tool = g_test_build_filename (G_TEST_DIST, "bundle", "rb-make-bundle.py", NULL);

    argv2[1] = tool;
    rb_test_run_in (test_dirs.store, argv2);
  }
  {
    g_autofree char *platforms = g_strdup_printf ("platforms={\"%s\":{\"variants\":{\"release\":{\"library\":"
                                                  "\"lib/missing.so\",\"checksum\":\"sha256:%064d\"}}}}",
                                                  rb_bundle_get_current_platform (), 0);
    make_in_store ("no-library.rbp", k1, p1, "--name", "iota", "--set", platforms, NULL);
  }

  g_test_add_func ("/registry/search-paths", test_search_paths);
  g_test_add_func ("/registry/model", test_model);
  g_test_add_func ("/registry/scan-metadata-only", test_scan_metadata_only);
  g_test_add_func ("/registry/rescan-async", test_rescan_async);
  g_test_add_func ("/registry/availability", test_availability);
  g_test_add_func ("/registry/availability-format", test_availability_format);
  g_test_add_func ("/registry/availability-direct", test_availability_direct);
  g_test_add_func ("/registry/verify-mode", test_verify_mode);
  g_test_add_func ("/registry/conflicts", test_conflicts);
  g_test_add_func ("/registry/hostile", test_hostile);
  g_test_add_func ("/registry/cache", test_cache);
  g_test_add_func ("/registry/load", test_load);
  g_test_add_func ("/registry/enabled-gsettings", test_enabled_gsettings);
  g_test_add_func ("/registry/watch", test_watch);
  status = g_test_run ();
  registry_test_dirs_clear (&test_dirs);
  return status;
}
