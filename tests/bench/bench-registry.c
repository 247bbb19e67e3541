/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Scanning N installed bundles (default 1000): cold (no metadata cache),
 * a new registry with the cache (an application's next start-up), and a
 * rescan of the same registry (nothing changed). Prints the time and the
 * cost per bundle; the ratio cold/cache is what the cache is for. With the
 * cache, unchanged bundles are listed from their cached manifest without
 * reading their files: the archive is opened on first use, whose cost is
 * printed too (every listed bundle's file list, once).
 *
 *   bench-registry BUNDLE.rbp PUBLISHER.pub [N]
 *   e.g. build/tests/bench/bench-registry build/examples/rbtest-plugin.rbp build/examples/demo.pub
 *
 * The copies are real files (not links: the registry counts one file
 * reached twice once), in a temporary directory removed at the end.
 */
#include <stdlib.h>

#include <glib/gstdio.h>
#include <rustbridge-glib.h>

static double
scan_once (RbRegistry *registry,
           const char *label,
           guint       n)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  double ms;

  if (!rb_registry_rescan (registry, NULL, &error))
    g_error ("%s", error->message);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  if (g_list_model_get_n_items (G_LIST_MODEL (registry)) != n)
    g_error ("%u bundles listed, not %u", g_list_model_get_n_items (G_LIST_MODEL (registry)), n);
  g_print ("%-28s %9.1f ms  %8.1f us/bundle\n", label, ms, ms * 1000.0 / n);
  return ms;
}

static RbRegistry *
new_registry (const char *plugins,
              const char *keys)
{
  RbRegistry *registry = rb_registry_new ("org.rustbridge.Bench");

  rb_registry_add_search_path (registry, plugins);
  rb_registry_set_trusted_keys_dir (registry, keys);
  return registry;
}

int
main (int argc, char **argv)
{
  g_autofree char *base = g_build_filename (g_get_tmp_dir (), "rb-bench-registry-XXXXXX", NULL);
  g_autofree char *plugins = NULL, *keys = NULL, *cache = NULL, *data = NULL, *pub = NULL;
  g_autofree char *cache_file = NULL;
  g_autoptr(GError) error = NULL;
  double cold, warm, again, opened;
  gsize len, pub_len;
  guint n;

  if (argc < 3)
    {
      g_printerr ("usage: %s BUNDLE.rbp PUBLISHER.pub [N]\n", argv[0]);
      return 2;
    }
  n = argc > 3 ? (guint) atoi (argv[3]) : 1000;
  g_assert_nonnull (g_mkdtemp (base));
  plugins = g_build_filename (base, "plugins", NULL);
  keys = g_build_filename (base, "keys", NULL);
  cache = g_build_filename (base, "cache", NULL);
  g_mkdir (plugins, 0700);
  g_mkdir (keys, 0700);
  /* Before GLib reads it. */
  g_setenv ("XDG_CACHE_HOME", cache, TRUE);
  if (!g_file_get_contents (argv[1], &data, &len, &error) ||
      !g_file_get_contents (argv[2], &pub, &pub_len, &error))
    g_error ("%s", error->message);
  {
    g_autofree char *key_copy = g_build_filename (keys, "publisher.pub", NULL);
    g_assert_true (g_file_set_contents (key_copy, pub, pub_len, NULL));
  }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("%s/bundle-%05u.rbp", plugins, i);
      g_assert_true (g_file_set_contents (name, data, len, NULL));
    }
  g_print ("%u bundles of %" G_GSIZE_FORMAT " bytes\n", n, len);

  {
    g_autoptr(RbRegistry) registry = new_registry (plugins, keys);
    cold = scan_once (registry, "cold (no cache)", n);
    again = scan_once (registry, "rescan, nothing changed", n);
  }
  {
    g_autoptr(RbRegistry) registry = new_registry (plugins, keys);
    gint64 start;

    warm = scan_once (registry, "new registry, with cache", n);
    start = g_get_monotonic_time ();
    for (guint i = 0; i < n; i++)
      {
        g_autoptr(RbBundle) bundle = g_list_model_get_item (G_LIST_MODEL (registry), i);
        g_auto(GStrv) files = rb_bundle_list_files (bundle);

        if (files == NULL || files[0] == NULL)
          g_error ("bundle %u has no files", i);
      }
    opened = (g_get_monotonic_time () - start) / 1000.0;
    g_print ("%-28s %9.1f ms  %8.1f us/bundle\n", "then first use of each", opened, opened * 1000.0 / n);
  }
  g_print ("cold / with cache: %.2fx; cold / rescan: %.1fx\n", cold / warm, cold / again);

  cache_file = g_build_filename (cache, "rustbridge-glib", "registry-org.rustbridge.Bench.json", NULL);
  {
    GStatBuf st;
    if (g_stat (cache_file, &st) == 0)
      g_print ("cache file: %" G_GINT64_FORMAT " bytes (%.0f per bundle)\n", (gint64) st.st_size,
               (double) st.st_size / n);
  }
  {
    const char *rm[] = { "rm", "-rf", base, NULL };
    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL);
  }
  return 0;
}
