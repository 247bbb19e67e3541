/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The registry's metadata cache at start-up: a new registry whose cache
 * knows the installed bundles lists them without reading their files
 * (counted through the archive-open test seam), and those bundles open
 * their archive on first use, once, from any thread, and only if the file
 * is still the one listed. Hostile cache entries are ignored: the file is
 * opened as usual.
 *
 * Linked to the internal library, for rb_archive_source_test_files_opened()
 * and rb_bundle_new_for_cached().
 */
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#define RB_BUNDLE_TEST_OWN_FIXTURE
#include "bundle-test-util.h"
#include "rb-archive-source-private.h"
#include "rb-bundle-private.h"
#include "rb-test-util.h"
#include "registry-test-util.h"

#define APP_ID "org.rustbridge.CacheTest"

static RegistryTestDirs test_dirs;
static char *plugins;

/* Copies a bundle of the store to plugins/@name (a new inode, by rename). */
static void
install (const char *store_name,
         const char *name)
{
  registry_test_install (&test_dirs, store_name, plugins, name);
}

static char *
cache_file (void)
{
  return g_build_filename (test_dirs.cache_home, "rustbridge-glib", "registry-" APP_ID ".json", NULL);
}

static RbRegistry *
scanned (void)
{
  g_autoptr(GError) error = NULL;
  RbRegistry *registry = rb_registry_new (APP_ID);

  rb_registry_add_search_path (registry, plugins);
  g_assert_true (rb_registry_rescan (registry, NULL, &error));
  g_assert_no_error (error);
  return registry;
}

static RbBundle *
item (RbRegistry *registry,
      guint       position)
{
  return g_list_model_get_item (G_LIST_MODEL (registry), position);
}

static guint
opens (void)
{
  return rb_archive_source_test_files_opened ();
}

/* alpha 1.0.0 and beta 1.0.0 installed, the cache written by a first
 * registry. */
static void
setup_two (void)
{
  g_autoptr(RbRegistry) first = NULL;
  g_autofree char *cache = cache_file ();
  g_autofree char *text = NULL;

  rb_test_remove_tree (plugins);
  rb_test_remove_tree (test_dirs.cache_home);
  g_assert_cmpint (g_mkdir_with_parents (plugins, 0700), ==, 0);
  install ("alpha-1.rbp", "alpha.rbp");
  install ("beta-1.rbp", "beta.rbp");
  first = scanned ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (first)), ==, 2);
  g_assert_true (g_file_get_contents (cache, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "\"manifest\":"));
}

static void
test_hit_reads_nothing (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(RbBundle) alpha = NULL, beta = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) files = NULL;
  g_autofree char *reply = NULL;
  guint before;

  setup_two ();
  before = opens ();
  registry = scanned ();
  /* Listed with every property, and not a byte read. */
  g_assert_cmpuint (opens (), ==, before);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
  alpha = item (registry, 0);
  beta = item (registry, 1);
  g_assert_cmpstr (rb_bundle_get_name (alpha), ==, "alpha");
  g_assert_cmpstr (rb_bundle_get_version (alpha), ==, "1.0.0");
  g_assert_cmpstr (rb_bundle_get_name (beta), ==, "beta");
  g_assert_true (rb_bundle_get_available (alpha));
  g_assert_true (rb_bundle_get_available (beta));
  g_assert_false (rb_bundle_is_archive_open (alpha));
  g_assert_false (rb_bundle_is_archive_open (beta));
  {
    g_auto(GStrv) platforms = rb_bundle_list_platforms (alpha);
    g_assert_true (g_strv_contains ((const char * const *) platforms, rb_bundle_get_current_platform ()));
  }
  g_assert_cmpuint (opens (), ==, before);

  /* The first use opens it, once. */
  files = rb_bundle_list_files (alpha);
  g_assert_true (g_strv_contains ((const char * const *) files, "manifest.json"));
  g_assert_cmpuint (opens (), ==, before + 1);
  g_assert_true (rb_bundle_is_archive_open (alpha));
  g_assert_true (rb_bundle_verify (alpha, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (opens (), ==, before + 1);

  /* Loading a bundle that was never opened: verified in full, works. */
  plugin = rb_bundle_load_plugin (beta, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (plugin);
  g_assert_cmpuint (opens (), ==, before + 2);
  reply = rb_plugin_call (plugin, "echo", "{\"message\":\"lazy\"}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "{\"message\":\"lazy\",\"length\":4}");
  g_assert_cmpstr (rb_plugin_get_bundle_name (plugin), ==, "beta");
}

static void
assert_changed (GError *error)
{
  g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_ARCHIVE);
  g_assert_nonnull (strstr (error->message, "changed since it was listed"));
}

static void
test_changed_behind_our_back (void)
{
  g_autoptr(RbRegistry) registry = NULL;
  g_autoptr(RbBundle) alpha = NULL, beta = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *beta_path = g_build_filename (plugins, "beta.rbp", NULL);
  GError **null_error = NULL;

  setup_two ();
  registry = scanned ();
  alpha = item (registry, 0);
  beta = item (registry, 1);
  g_assert_false (rb_bundle_is_archive_open (alpha));

  /* Replaced by another version (a new file): refused, not the new one
   * loaded under the old one's name. Every later use says the same. */
  install ("alpha-2.rbp", "alpha.rbp");
  g_assert_null (rb_bundle_load_plugin (alpha, NULL, NULL, NULL, &error));
  assert_changed (error);
  g_clear_error (&error);
  g_assert_false (rb_bundle_verify (alpha, NULL, NULL, &error));
  assert_changed (error);
  g_clear_error (&error);
  g_assert_null (rb_bundle_read_file (alpha, "manifest.json", &error));
  assert_changed (error);
  g_clear_error (&error);
  g_assert_null (rb_bundle_load_plugin (alpha, NULL, NULL, NULL, null_error));
  {
    g_auto(GStrv) files = rb_bundle_list_files (alpha);
    g_assert_cmpuint (g_strv_length (files), ==, 0);
  }
  /* What was listed stays what the object says. */
  g_assert_cmpstr (rb_bundle_get_version (alpha), ==, "1.0.0");

  /* Rewritten in place (same inode, new times): refused too. */
  {
    GStatBuf st;
    struct utimbuf times;

    g_assert_cmpint (g_stat (beta_path, &st), ==, 0);
    times.actime = st.st_atime;
    times.modtime = st.st_mtime + 10;
    g_assert_cmpint (utime (beta_path, &times), ==, 0);
  }
  g_assert_null (rb_bundle_load_plugin (beta, NULL, NULL, NULL, &error));
  assert_changed (error);
  g_clear_error (&error);

  /* A new scan shows what is there now. */
  {
    g_autoptr(RbRegistry) again = scanned ();
    g_autoptr(RbBundle) now = item (again, 0);
    g_autoptr(RbPlugin) plugin = NULL;

    g_assert_cmpstr (rb_bundle_get_version (now), ==, "2.0.0");
    plugin = rb_bundle_load_plugin (now, NULL, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_nonnull (plugin);
  }
}

/* The same identity, another manifest (what the cache could claim): the
 * manifest.json bytes are compared on first use. */
static void
test_other_manifest_same_file (void)
{
  g_autofree char *beta_path = NULL;
  g_autofree char *alpha2 = registry_test_store_path (&test_dirs, "alpha-2.rbp");
  g_autoptr(RbBundle) other = NULL, lazy = NULL;
  g_autoptr(GBytes) manifest = NULL;
  g_autoptr(GError) error = NULL;
  RbBundleStamp stamp;
  GStatBuf st;

  setup_two ();
  beta_path = g_build_filename (plugins, "beta.rbp", NULL);
  other = rb_bundle_new_for_path (alpha2, NULL, &error);
  g_assert_no_error (error);
  manifest = rb_bundle_dup_manifest_bytes (other, RB_BUNDLE_MAX_CACHED_MANIFEST);
  g_assert_nonnull (manifest);
  g_assert_cmpint (g_stat (beta_path, &st), ==, 0);
  stamp = (RbBundleStamp) {
    st.st_dev, st.st_ino, st.st_size,
    (gint64) st.st_mtim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_mtim.tv_nsec,
    (gint64) st.st_ctim.tv_sec * G_GINT64_CONSTANT (1000000000) + st.st_ctim.tv_nsec,
  };
  lazy = rb_bundle_new_for_cached (beta_path, manifest, &stamp, RB_VERIFY_MODE_SKIP, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rb_bundle_get_name (lazy), ==, "alpha");
  g_assert_false (rb_bundle_verify (lazy, NULL, NULL, &error));
  assert_changed (error);
  g_clear_error (&error);
  g_assert_null (rb_bundle_load_plugin (lazy, NULL, NULL, NULL, &error));
  assert_changed (error);
  g_clear_error (&error);

  /* The right manifest with that identity opens. */
  {
    g_autoptr(RbBundle) real = rb_bundle_new_for_path (beta_path, NULL, &error);
    g_autoptr(GBytes) bytes = rb_bundle_dup_manifest_bytes (real, RB_BUNDLE_MAX_CACHED_MANIFEST);
    g_autoptr(RbBundle) good = rb_bundle_new_for_cached (beta_path, bytes, &stamp, RB_VERIFY_MODE_SKIP, NULL, &error);

    g_assert_no_error (error);
    g_assert_true (rb_bundle_verify (good, NULL, NULL, &error));
    g_assert_no_error (error);
  }
  /* A manifest that does not validate makes no bundle. */
  {
    g_autoptr(GBytes) bad = g_bytes_new_static ("{\"bundle_version\":\"1.0\"}", 24);
    g_autoptr(RbBundle) none = rb_bundle_new_for_cached (beta_path, bad, &stamp, RB_VERIFY_MODE_SKIP, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, RB_BUNDLE_ERROR, RB_BUNDLE_ERROR_INVALID_MANIFEST);
  }
}

/* ---- two threads using a bundle first ---- */

typedef struct {
  RbBundle *bundle;
  gint     *ready;
  gboolean  ok;
} Racer;

static gpointer
race_verify (gpointer data)
{
  Racer *racer = data;
  g_autoptr(GError) error = NULL;

  /* Both start together. */
  g_atomic_int_inc (racer->ready);
  while (g_atomic_int_get (racer->ready) < 2)
    g_thread_yield ();
  racer->ok = rb_bundle_verify (racer->bundle, NULL, NULL, &error);
  g_assert_no_error (error);
  return NULL;
}

static void
load_async_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  RbPlugin **plugin = user_data;
  g_autoptr(GError) error = NULL;

  *plugin = rb_bundle_load_plugin_finish (RB_BUNDLE (source), result, &error);
  g_assert_no_error (error);
}

static void
test_threads (void)
{
  for (guint round = 0; round < 20; round++)
    {
      g_autoptr(RbRegistry) registry = NULL;
      g_autoptr(RbBundle) alpha = NULL;
      gint ready = 0;
      Racer a, b;
      GThread *ta, *tb;
      guint before;

      if (round == 0)
        setup_two ();
      registry = scanned ();
      alpha = item (registry, 0);
      g_assert_false (rb_bundle_is_archive_open (alpha));
      before = opens ();
      a = (Racer) { alpha, &ready, FALSE };
      b = (Racer) { alpha, &ready, FALSE };
      ta = g_thread_new ("racer-a", race_verify, &a);
      tb = g_thread_new ("racer-b", race_verify, &b);
      g_thread_join (ta);
      g_thread_join (tb);
      g_assert_true (a.ok);
      g_assert_true (b.ok);
      /* Opened once, whoever came first. */
      g_assert_cmpuint (opens (), ==, before + 1);
    }

  /* An async load opens it in its worker. */
  {
    g_autoptr(RbRegistry) registry = scanned ();
    g_autoptr(RbBundle) beta = item (registry, 1);
    RbPlugin *plugin = NULL;

    g_assert_false (rb_bundle_is_archive_open (beta));
    rb_bundle_load_plugin_async (beta, NULL, NULL, NULL, load_async_done, &plugin);
    while (plugin == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_assert_true (rb_bundle_is_archive_open (beta));
    g_object_unref (plugin);
  }
}

/* ---- hostile cache entries ---- */

/* Rewrites the cache with @manifest (a JSON value, or NULL to remove it)
 * as the "manifest" of alpha's entry. */
static void
set_cached_manifest (const char *saved,
                     JsonNode   *manifest)
{
  g_autofree char *cache = cache_file ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  JsonArray *entries;
  g_autofree char *text = NULL;

  g_assert_true (json_parser_load_from_data (parser, saved, -1, NULL));
  entries = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "entries");
  for (guint i = 0; i < json_array_get_length (entries); i++)
    {
      JsonObject *entry = json_array_get_object_element (entries, i);

      if (g_str_has_suffix (json_object_get_string_member (entry, "path"), "/alpha.rbp"))
        {
          if (manifest != NULL)
            json_object_set_member (entry, "manifest", json_node_copy (manifest));
          else
            json_object_remove_member (entry, "manifest");
        }
    }
  json_generator_set_root (generator, json_parser_get_root (parser));
  text = json_generator_to_data (generator, NULL);
  g_assert_true (g_file_set_contents (cache, text, -1, NULL));
}

static JsonNode *
string_node (const char *text)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_string (node, text);
  return node;
}

typedef struct {
  JsonNode *node;
  gboolean  whole_cache;   /* makes the whole file ignored, else the entry */
} HostileCase;

static void
test_hostile_cache (void)
{
  g_autofree char *cache = cache_file ();
  g_autofree char *saved = NULL;
  g_autoptr(GString) huge = g_string_new ("{\"bundle_version\":\"1.0\",\"x\":\"");
  g_autoptr(GString) deep = g_string_new ("{\"bundle_version\":\"1.0\",\"x\":");
  g_autoptr(JsonNode) number = json_node_new (JSON_NODE_VALUE);
  g_autoptr(JsonNode) object = json_node_new (JSON_NODE_OBJECT);
  g_autoptr(JsonNode) null_node = json_node_new (JSON_NODE_NULL);
  HostileCase cases[8];
  guint n = 0;

  while (huge->len < 2 * RB_BUNDLE_MAX_CACHED_MANIFEST)
    g_string_append (huge, "xxxxxxxxxxxxxxxx");
  g_string_append (huge, "\"}");
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  for (guint i = 0; i < 10000; i++)
    g_string_append_c (deep, ']');
  g_string_append_c (deep, '}');
  json_node_set_int (number, 42);
  json_node_take_object (object, json_object_new ());

  cases[n++] = (HostileCase) { string_node (huge->str), TRUE };
  cases[n++] = (HostileCase) { json_node_ref (number), TRUE };
  cases[n++] = (HostileCase) { json_node_ref (object), TRUE };
  cases[n++] = (HostileCase) { json_node_ref (null_node), TRUE };
  cases[n++] = (HostileCase) { string_node (deep->str), FALSE };
  cases[n++] = (HostileCase) { string_node ("{\"bundle_version\":\"1.0\"}"), FALSE };
  cases[n++] = (HostileCase) { string_node ("not json at all"), FALSE };
  cases[n++] = (HostileCase) { string_node ("[1,2,3]"), FALSE };

  setup_two ();
  g_assert_true (g_file_get_contents (cache, &saved, NULL, NULL));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(RbRegistry) registry = NULL;
      g_autoptr(RbBundle) alpha = NULL, beta = NULL;
      g_autoptr(RbPlugin) plugin = NULL;
      g_autoptr(GError) error = NULL;
      guint before;

      set_cached_manifest (saved, cases[i].node);
      before = opens ();
      registry = scanned ();
      /* alpha is opened as usual; beta too if the whole cache went. */
      g_assert_cmpuint (opens (), ==, before + (cases[i].whole_cache ? 2 : 1));
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (registry)), ==, 2);
      alpha = item (registry, 0);
      beta = item (registry, 1);
      g_assert_cmpstr (rb_bundle_get_name (alpha), ==, "alpha");
      g_assert_cmpstr (rb_bundle_get_version (alpha), ==, "1.0.0");
      g_assert_true (rb_bundle_is_archive_open (alpha));
      g_assert_cmpstr (rb_bundle_get_name (beta), ==, "beta");
      g_assert_true (rb_bundle_get_available (alpha));
      plugin = rb_bundle_load_plugin (alpha, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (plugin);

      /* The cache was written anew: the next start reads nothing. */
      {
        g_autoptr(RbRegistry) next = NULL;

        before = opens ();
        next = scanned ();
        g_assert_cmpuint (opens (), ==, before);
      }
      json_node_unref (cases[i].node);
    }

  /* No manifest in an entry (an older cache, a manifest too large):
   * that bundle is opened, the others are not. */
  {
    g_autoptr(RbRegistry) registry = NULL;
    guint before;

    set_cached_manifest (saved, NULL);
    before = opens ();
    registry = scanned ();
    g_assert_cmpuint (opens (), ==, before + 1);
  }

  /* Another bundle's valid manifest for alpha's file: shown (a cache can
   * misdescribe a file, as it can misreport its availability) but never
   * loaded as it: the first use compares the file's own manifest. */
  {
    g_autofree char *alpha2 = registry_test_store_path (&test_dirs, "alpha-2.rbp");
    g_autoptr(RbBundle) other = rb_bundle_new_for_path (alpha2, NULL, NULL);
    g_autoptr(GBytes) bytes = rb_bundle_dup_manifest_bytes (other, RB_BUNDLE_MAX_CACHED_MANIFEST);
    g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    g_autoptr(JsonNode) node = string_node (text);
    g_autoptr(RbRegistry) registry = NULL;
    g_autoptr(RbBundle) alpha = NULL;
    g_autoptr(GError) error = NULL;

    set_cached_manifest (saved, node);
    registry = scanned ();
    alpha = item (registry, 0);
    g_assert_cmpstr (rb_bundle_get_version (alpha), ==, "2.0.0");
    g_assert_null (rb_bundle_load_plugin (alpha, NULL, NULL, NULL, &error));
    assert_changed (error);
  }
}

int
main (int argc, char **argv)
{
  g_autofree char *minisign = g_find_program_in_path ("minisign");
  g_autofree char *k1 = NULL, *p1 = NULL;
  int status;

  /* Before GLib reads the XDG variables. */
  registry_test_dirs_init (&test_dirs, "rb-registry-cache");
  plugins = g_build_filename (test_dirs.base, "plugins", NULL);

  rb_test_init (&argc, &argv);
  if (minisign == NULL)
    {
      g_test_skip ("minisign not installed");
      return g_test_run ();
    }
  {
    const char *alpha1[] = { "--name", "alpha", "--version", "1.0.0", NULL };
    const char *alpha2[] = { "--name", "alpha", "--version", "2.0.0", NULL };
    const char *beta1[] = { "--name", "beta", "--version", "1.0.0", NULL };

    registry_test_make_key (&test_dirs, "k", &k1, &p1);
    registry_test_trust_key (&test_dirs, p1);
    g_free (rb_test_make_bundle (test_dirs.store, "alpha-1.rbp", k1, p1, alpha1));
    g_free (rb_test_make_bundle (test_dirs.store, "alpha-2.rbp", k1, p1, alpha2));
    g_free (rb_test_make_bundle (test_dirs.store, "beta-1.rbp", k1, p1, beta1));
  }

  g_test_add_func ("/registry-cache/hit-reads-nothing", test_hit_reads_nothing);
  g_test_add_func ("/registry-cache/changed-behind-our-back", test_changed_behind_our_back);
  g_test_add_func ("/registry-cache/other-manifest-same-file", test_other_manifest_same_file);
  g_test_add_func ("/registry-cache/threads", test_threads);
  g_test_add_func ("/registry-cache/hostile-cache", test_hostile_cache);
  status = g_test_run ();
  registry_test_dirs_clear (&test_dirs);
  g_free (plugins);
  return status;
}
