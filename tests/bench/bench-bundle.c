/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Open + verify + load of a bundle with a large library, three ways, in
 * the same run: through a sealed memfd (the default), through the
 * private temporary directory (the fallback, RUSTBRIDGE_NO_MEMFD), and
 * `unzip -p` + `sha256sum` + `minisign -V` on the same file. Each of our
 * loads runs in a fresh process (a process maps one library per content
 * and would reuse it), which reports its time and how its RssAnon (our
 * heap: the library must never be held there) and RssShmem (the memfd's
 * pages, which are the file the loader maps) grew. Prints figures and
 * ratios of one run; the second load of the same content in a process
 * (verified again, mapping reused) is shown too.
 *
 *   bench-bundle BUNDLE.rbp PUBLIC_KEY.pub [ROUNDS]
 * (tests/bench/bench-bundle.sh makes a ~50 MB signed bundle and runs it.)
 */
#include <stdio.h>
#include <stdlib.h>
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
load_once (const char *bundle_path,
           const char *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  gint64 start = g_get_monotonic_time ();

  bundle = rb_bundle_new_for_path (bundle_path, NULL, &error);
  if (bundle == NULL)
    g_error ("%s", error->message);
  rb_bundle_set_public_key (bundle, key);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  if (plugin == NULL)
    g_error ("%s", error->message);
  return (g_get_monotonic_time () - start) / 1000.0;
}

/* The child: one load (and a second of the same bundle), then
 * "ms second_ms anon_kb shmem_kb peak_kb path" on stdout. */
static int
run_child (const char *bundle_path,
           const char *key_path)
{
  g_autofree char *key = NULL;
  gint64 anon, shmem, rss;
  double first, second;

  if (!g_file_get_contents (key_path, &key, NULL, NULL))
    return 1;
  /* Whatever the first use of the library costs, outside the figure. */
  rb_bundle_get_current_platform ();
  g_file_set_contents ("/proc/self/clear_refs", "5", -1, NULL);
  anon = status_kb ("RssAnon:");
  shmem = status_kb ("RssShmem:");
  rss = status_kb ("VmRSS:");
  first = load_once (bundle_path, key);
  anon = status_kb ("RssAnon:") - anon;
  shmem = status_kb ("RssShmem:") - shmem;
  rss = status_kb ("VmHWM:") - rss;
  second = load_once (bundle_path, key);
  g_print ("%.3f %.3f %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
           first, second, anon, shmem, rss);
  return 0;
}

typedef struct {
  double ms, second_ms;
  gint64 anon_kb, shmem_kb, peak_kb;
} Figures;

static Figures
time_ours (const char *self,
           const char *bundle_path,
           const char *key_path,
           gboolean    fallback)
{
  const char *argv[] = { self, "--child", bundle_path, key_path, NULL };
  g_auto(GStrv) env = g_get_environ ();
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  Figures f = { 0 };
  int status;

  env = fallback ? g_environ_setenv (env, "RUSTBRIDGE_NO_MEMFD", "1", TRUE)
                 : g_environ_unsetenv (env, "RUSTBRIDGE_NO_MEMFD");
  if (!g_spawn_sync (NULL, (char **) argv, env, 0, NULL, NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("child load failed: %s", error->message);
  if (sscanf (out, "%lf %lf %" G_GINT64_MODIFIER "d %" G_GINT64_MODIFIER "d %" G_GINT64_MODIFIER "d",
              &f.ms, &f.second_ms, &f.anon_kb, &f.shmem_kb, &f.peak_kb) != 5)
    g_error ("child said “%s”", out);
  return f;
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

static double
median (double *values,
        int     n)
{
  qsort (values, (size_t) n, sizeof (double), cmp_double);
  return values[n / 2];
}

int
main (int argc, char *argv[])
{
  g_autoptr(RbBundle) probe = NULL;
  g_autofree char *library = NULL;
  g_autoptr(GError) error = NULL;
  int rounds;
  double memfd[32], dir[32], cli[32], reuse[32];
  gint64 anon_memfd = 0, anon_dir = 0, shmem_memfd = 0, shmem_dir = 0, peak_memfd = 0, peak_dir = 0;
  GStatBuf st;

  if (argc == 4 && strcmp (argv[1], "--child") == 0)
    return run_child (argv[2], argv[3]);
  if (argc < 3)
    {
      g_printerr ("usage: %s BUNDLE.rbp PUBLIC_KEY.pub [ROUNDS]\n", argv[0]);
      return 2;
    }
  rounds = CLAMP (argc > 3 ? atoi (argv[3]) : 5, 1, 32);
  probe = rb_bundle_new_for_path (argv[1], NULL, &error);
  if (probe == NULL)
    g_error ("%s", error->message);
  library = rb_bundle_dup_library_path (probe, NULL, &error);
  g_stat (argv[1], &st);

  /* Interleaved, so that the machine's load shifts hit all three alike. */
  for (int i = 0; i < rounds; i++)
    {
      Figures m = time_ours (argv[0], argv[1], argv[2], FALSE);
      Figures d = time_ours (argv[0], argv[1], argv[2], TRUE);

      memfd[i] = m.ms;
      reuse[i] = m.second_ms;
      dir[i] = d.ms;
      anon_memfd = MAX (anon_memfd, m.anon_kb);
      anon_dir = MAX (anon_dir, d.anon_kb);
      shmem_memfd = MAX (shmem_memfd, m.shmem_kb);
      shmem_dir = MAX (shmem_dir, d.shmem_kb);
      peak_memfd = MAX (peak_memfd, m.peak_kb);
      peak_dir = MAX (peak_dir, d.peak_kb);
      cli[i] = time_cli (argv[1], argv[2], library);
    }

  g_print ("bundle: %s (%.1f MB), library %s\n", argv[1], st.st_size / 1e6, library);
  g_print ("open+verify+load, sealed memfd:        %8.1f ms (median of %d)\n", median (memfd, rounds), rounds);
  g_print ("open+verify+load, temporary directory: %8.1f ms (median of %d)\n", median (dir, rounds), rounds);
  g_print ("unzip -p + sha256sum + minisign -V:    %8.1f ms (median of %d)\n", median (cli, rounds), rounds);
  g_print ("same bundle again in the process (verified, mapping reused): %.1f ms\n", median (reuse, rounds));
  g_print ("ratio memfd/directory: %.2f (target <= 1.0)\n", median (memfd, rounds) / median (dir, rounds));
  g_print ("ratio memfd/CLI: %.2f, directory/CLI: %.2f\n", median (memfd, rounds) / median (cli, rounds),
           median (dir, rounds) / median (cli, rounds));
  g_print ("RssAnon growth:  memfd %.1f MB, directory %.1f MB (target < 16 MB)\n", anon_memfd / 1024.0,
           anon_dir / 1024.0);
  g_print ("RssShmem growth: memfd %.1f MB, directory %.1f MB\n", shmem_memfd / 1024.0, shmem_dir / 1024.0);
  g_print ("peak RSS growth: memfd %.1f MB, directory %.1f MB\n", peak_memfd / 1024.0, peak_dir / 1024.0);
  return 0;
}
