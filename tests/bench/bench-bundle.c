/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Open + verify + extract + load of a bundle with a large library,
 * beside `unzip -p` + `sha256sum` + `minisign -V` on the same file, and
 * the peak RSS growth of our path. Prints figures and ratios of one run.
 *
 *   bench-bundle BUNDLE.rbp PUBLIC_KEY.pub [ROUNDS]
 * (tests/bench/bench-bundle.sh makes a ~50 MB signed bundle and runs it.)
 */
#include <stdio.h>
#include <string.h>

#include <glib/gstdio.h>

#include <rustbridge-glib.h>

static gint64
status_kb (const char *field)
{
  g_autofree char *text = NULL;
  const char *p;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  p = strstr (text, field);
  return p ? g_ascii_strtoll (p + strlen (field) + 1, NULL, 10) : -1;
}

static double
time_ours (const char *bundle_path,
           const char *key,
           gint64     *rss_growth_kb)
{
  g_autoptr(GError) error = NULL;
  gint64 start, before;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;

  /* Reset the peak-RSS mark so VmHWM measures this load only. */
  g_file_set_contents ("/proc/self/clear_refs", "5", -1, NULL);
  before = status_kb ("VmRSS:");
  start = g_get_monotonic_time ();
  bundle = rb_bundle_new_for_path (bundle_path, NULL, &error);
  if (bundle == NULL)
    g_error ("%s", error->message);
  rb_bundle_set_public_key (bundle, key);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  if (plugin == NULL)
    g_error ("%s", error->message);
  start = g_get_monotonic_time () - start;
  *rss_growth_kb = status_kb ("VmHWM:") - before;
  return start / 1000.0;
}

static double
time_cli (const char *bundle_path,
          const char *key_path,
          const char *library)
{
  g_autofree char *dir = g_dir_make_tmp ("bench-cli-XXXXXX", NULL);
  g_autofree char *script = g_strdup_printf (
    "set -e; cd '%s'; unzip -p '%s' '%s' > lib.so; unzip -p '%s' '%s.minisig' > lib.so.minisig; "
    "unzip -p '%s' manifest.json > manifest.json; unzip -p '%s' manifest.json.minisig > manifest.json.minisig; "
    "sha256sum lib.so > /dev/null; minisign -Vq -p '%s' -m manifest.json; minisign -Vq -p '%s' -m lib.so; "
    "rm -f lib.so lib.so.minisig manifest.json manifest.json.minisig",
    dir, bundle_path, library, bundle_path, library, bundle_path, bundle_path, key_path, key_path);
  const char *argv[] = { "sh", "-c", script, NULL };
  g_autoptr(GError) error = NULL;
  int status;
  gint64 start = g_get_monotonic_time ();

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("CLI pipeline failed: %s", error->message);
  start = g_get_monotonic_time () - start;
  g_rmdir (dir);
  return start / 1000.0;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char *argv[])
{
  g_autofree char *key = NULL;
  g_autoptr(RbBundle) probe = NULL;
  g_autofree char *library = NULL;
  g_autoptr(GError) error = NULL;
  int rounds = argc > 3 ? atoi (argv[3]) : 5;
  double ours[32], cli[32];
  gint64 growth = 0, max_growth = 0;
  GStatBuf st;

  if (argc < 3)
    {
      g_printerr ("usage: %s BUNDLE.rbp PUBLIC_KEY.pub [ROUNDS]\n", argv[0]);
      return 2;
    }
  rounds = CLAMP (rounds, 1, 32);
  if (!g_file_get_contents (argv[2], &key, NULL, &error))
    g_error ("%s", error->message);
  probe = rb_bundle_new_for_path (argv[1], NULL, &error);
  if (probe == NULL)
    g_error ("%s", error->message);
  library = rb_bundle_dup_library_path (probe, NULL, &error);
  g_stat (argv[1], &st);

  for (int i = 0; i < rounds; i++)
    {
      ours[i] = time_ours (argv[1], key, &growth);
      max_growth = MAX (max_growth, growth);
      cli[i] = time_cli (argv[1], argv[2], library);
    }
  qsort (ours, rounds, sizeof (double), cmp_double);
  qsort (cli, rounds, sizeof (double), cmp_double);

  g_print ("bundle: %s (%.1f MB), library %s\n", argv[1], st.st_size / 1e6, library);
  g_print ("rustbridge-glib open+verify+extract+load: %8.1f ms (median of %d)\n", ours[rounds / 2], rounds);
  g_print ("unzip -p + sha256sum + minisign -V:      %8.1f ms (median of %d)\n", cli[rounds / 2], rounds);
  g_print ("ratio ours/CLI: %.2f (target <= 1.5)\n", ours[rounds / 2] / cli[rounds / 2]);
  g_print ("peak RSS growth during a load: %.1f MB (target <= 16 MB)\n", max_growth / 1024.0);
  return 0;
}
