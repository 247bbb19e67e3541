/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* What the registry test programs share: see registry-test-util.h. */
#include <glib/gstdio.h>

#define RB_BUNDLE_TEST_OWN_FIXTURE
#include "bundle-test-util.h"
#include "registry-test-util.h"

void
registry_test_dirs_init (RegistryTestDirs *dirs,
                         const char       *prefix)
{
  const char *parent = g_getenv ("TMPDIR");
  g_autofree char *template = g_strconcat (prefix, "-XXXXXX", NULL);

  dirs->base = g_build_filename (parent != NULL && *parent != '\0' ? parent : "/tmp", template, NULL);
  g_assert_nonnull (g_mkdtemp (dirs->base));
  dirs->config = g_build_filename (dirs->base, "config", NULL);
  dirs->data_home = g_build_filename (dirs->base, "data-home", NULL);
  dirs->data_dir = g_build_filename (dirs->base, "data", NULL);
  dirs->cache_home = g_build_filename (dirs->base, "cache", NULL);
  dirs->tmp = g_build_filename (dirs->base, "tmp", NULL);
  dirs->store = g_build_filename (dirs->base, "store", NULL);
  dirs->trusted = g_build_filename (dirs->config, "rustbridge", "trusted-keys", NULL);
  g_setenv ("XDG_CONFIG_HOME", dirs->config, TRUE);
  g_setenv ("XDG_DATA_HOME", dirs->data_home, TRUE);
  g_setenv ("XDG_DATA_DIRS", dirs->data_dir, TRUE);
  g_setenv ("XDG_CACHE_HOME", dirs->cache_home, TRUE);
  g_setenv ("TMPDIR", dirs->tmp, TRUE);
  g_mkdir_with_parents (dirs->tmp, 0700);
  g_mkdir_with_parents (dirs->store, 0700);
  g_mkdir_with_parents (dirs->trusted, 0700);
}

void
registry_test_dirs_clear (RegistryTestDirs *dirs)
{
  rb_test_remove_tree (dirs->base);
  g_clear_pointer (&dirs->base, g_free);
  g_clear_pointer (&dirs->config, g_free);
  g_clear_pointer (&dirs->data_home, g_free);
  g_clear_pointer (&dirs->data_dir, g_free);
  g_clear_pointer (&dirs->cache_home, g_free);
  g_clear_pointer (&dirs->tmp, g_free);
  g_clear_pointer (&dirs->store, g_free);
  g_clear_pointer (&dirs->trusted, g_free);
}

char *
registry_test_store_path (const RegistryTestDirs *dirs,
                          const char             *name)
{
  return g_build_filename (dirs->store, name, NULL);
}

void
registry_test_make_key (const RegistryTestDirs  *dirs,
                        const char              *name,
                        char                   **key_path,
                        char                   **pub_path)
{
  g_autofree char *key_name = g_strconcat (name, ".key", NULL);
  g_autofree char *pub_name = g_strconcat (name, ".pub", NULL);
  const char *keygen[] = { "minisign", "-G", "-W", "-p", pub_name, "-s", key_name, NULL };

  rb_test_run_in (dirs->store, keygen);
  *key_path = registry_test_store_path (dirs, key_name);
  *pub_path = registry_test_store_path (dirs, pub_name);
}

void
registry_test_trust_key (const RegistryTestDirs *dirs,
                         const char             *pub_path)
{
  g_autofree char *name = g_path_get_basename (pub_path);
  g_autofree char *copy = g_build_filename (dirs->trusted, name, NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (pub_path, &text, NULL, NULL));
  g_assert_true (g_file_set_contents (copy, text, -1, NULL));
}

void
registry_test_install (const RegistryTestDirs *dirs,
                       const char             *store_name,
                       const char             *dir,
                       const char             *name)
{
  g_autofree char *from = registry_test_store_path (dirs, store_name);
  g_autofree char *to = g_build_filename (dir, name, NULL);
  g_autofree char *tmp = g_strconcat (dir, "/.", name, ".part", NULL);
  g_autofree char *data = NULL;
  gsize len;

  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (tmp, data, len, NULL));
  g_assert_cmpint (g_rename (tmp, to), ==, 0);
}
