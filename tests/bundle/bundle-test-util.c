/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bundle-test-util.h"

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
                     const char         *key,
                     const char         *pub,
                     const char * const *extra)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *tool = g_test_build_filename (G_TEST_DIST, "..", "tools", "rb-make-bundle.py", NULL);
  char *out = g_build_filename (dir, name, NULL);

  g_ptr_array_add (argv, (gpointer) "/usr/bin/python3");
  g_ptr_array_add (argv, tool);
  g_ptr_array_add (argv, out);
  g_ptr_array_add (argv, (gpointer) "--library");
  g_ptr_array_add (argv, (gpointer) rb_test_plugin_path (RB_TEST_FIXTURE));
  g_ptr_array_add (argv, (gpointer) "--platform");
  g_ptr_array_add (argv, (gpointer) rb_bundle_get_current_platform ());
  if (key != NULL)
    {
      g_ptr_array_add (argv, (gpointer) "--sign");
      g_ptr_array_add (argv, (gpointer) key);
      g_ptr_array_add (argv, (gpointer) "--public-key");
      g_ptr_array_add (argv, (gpointer) pub);
    }
  for (; extra != NULL && *extra != NULL; extra++)
    g_ptr_array_add (argv, (gpointer) *extra);
  g_ptr_array_add (argv, NULL);
  rb_test_run_in (dir, (const char * const *) argv->pdata);
  return out;
}
