/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Open + verify + load of a bundle with a ~50 MB library, three ways,
 * interleaved in the same run: through a sealed memfd (the default),
 * through the private temporary directory (the fallback, forced with
 * RUSTBRIDGE_NO_MEMFD), and `unzip -p` + `sha256sum` + `minisign -V` on
 * the same file. Each of our loads runs in a fresh process (a process
 * maps one library per content and would reuse it). The child times the
 * load, then calls the plugin's "touch" (outside the timing), which reads
 * every page of the 50 MB padding in the library's read-only PT_LOAD
 * segment, and reports how RssAnon (our heap: the library must never be
 * held there), RssShmem (the memfd's pages, which are the file the loader
 * maps) and RssFile grew. Prints medians with their spread, and ratios;
 * the second load of the same content in a process (verified again,
 * mapping reused) is shown too.
 *
 *   bench-bundle BUNDLE.rbp PUBLIC_KEY.pub [ROUNDS]
 * (tests/bench/bench-bundle.sh makes the bundle, from bench-echo-plugin.c
 * with 50 MB of padding, and runs it.)
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
 * "ms second_ms anon_kb shmem_kb file_kb peak_kb" on stdout. */
static int
run_child (const char *bundle_path,
           const char *key_path)
{
  g_autofree char *key = NULL;
  g_autofree char *touched = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  gint64 anon, shmem, file, rss, start;
  double first, second;

  if (!g_file_get_contents (key_path, &key, NULL, NULL))
    return 1;
  /* Whatever the first use of the library costs, outside the figure. */
  rb_bundle_get_current_platform ();
  g_file_set_contents ("/proc/self/clear_refs", "5", -1, NULL);
  anon = status_kb ("RssAnon:");
  shmem = status_kb ("RssShmem:");
  file = status_kb ("RssFile:");
  rss = status_kb ("VmRSS:");

  start = g_get_monotonic_time ();
  bundle = rb_bundle_new_for_path (bundle_path, NULL, &error);
  if (bundle == NULL)
    g_error ("%s", error->message);
  rb_bundle_set_public_key (bundle, key);
  plugin = rb_bundle_load_plugin (bundle, NULL, NULL, NULL, &error);
  if (plugin == NULL)
    g_error ("%s", error->message);
  first = (g_get_monotonic_time () - start) / 1000.0;

  /* Every page of the padding, through the loader's own mapping. */
  touched = rb_plugin_call (plugin, "touch", "{}", NULL, &error);
  if (touched == NULL)
    g_error ("touch: %s", error->message);
  anon = status_kb ("RssAnon:") - anon;
  shmem = status_kb ("RssShmem:") - shmem;
  file = status_kb ("RssFile:") - file;
  rss = status_kb ("VmHWM:") - rss;
  second = load_once (bundle_path, key);
  g_print ("%.3f %.3f %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
           first, second, anon, shmem, file, rss);
  return 0;
}

typedef struct {
  double ms, second_ms;
  double anon_mb, shmem_mb, file_mb, peak_mb;
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
  gint64 anon, shmem, file, peak;
  int status;

  env = fallback ? g_environ_setenv (env, "RUSTBRIDGE_NO_MEMFD", "1", TRUE)
                 : g_environ_unsetenv (env, "RUSTBRIDGE_NO_MEMFD");
  if (!g_spawn_sync (NULL, (char **) argv, env, 0, NULL, NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error))
    g_error ("child load failed: %s", error->message);
  if (sscanf (out, "%lf %lf %" G_GINT64_MODIFIER "d %" G_GINT64_MODIFIER "d %" G_GINT64_MODIFIER "d %"
              G_GINT64_MODIFIER "d", &f.ms, &f.second_ms, &anon, &shmem, &file, &peak) != 6)
    g_error ("child said “%s”", out);
  f.anon_mb = anon / 1024.0;
  f.shmem_mb = shmem / 1024.0;
  f.file_mb = file / 1024.0;
  f.peak_mb = peak / 1024.0;
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

#define MAX_ROUNDS 32

/* A series of one figure over the rounds: its median and spread. */
typedef struct {
  double v[MAX_ROUNDS];
  int n;
} Series;

static void
series_add (Series *s, double value)
{
  s->v[s->n++] = value;
}

static double
median (Series *s)
{
  qsort (s->v, (size_t) s->n, sizeof (double), cmp_double);
  return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static void
print_series (const char *label, Series *s, const char *unit)
{
  double m = median (s);   /* sorts */
  g_print ("%-40s %8.1f %s  (median of %d, %.1f..%.1f)\n", label, m, unit, s->n, s->v[0], s->v[s->n - 1]);
}

int
main (int argc, char *argv[])
{
  g_autoptr(RbBundle) probe = NULL;
  g_autofree char *library = NULL;
  g_autoptr(GError) error = NULL;
  Series memfd = { 0 }, dir = { 0 }, cli = { 0 }, reuse = { 0 };
  Series anon_m = { 0 }, anon_d = { 0 }, shmem_m = { 0 }, shmem_d = { 0 };
  Series file_m = { 0 }, file_d = { 0 }, peak_m = { 0 }, peak_d = { 0 };
  Series ratio_md = { 0 };
  double m_memfd, m_dir, m_cli, anon_max;
  int rounds;
  GStatBuf st;

  if (argc == 4 && strcmp (argv[1], "--child") == 0)
    return run_child (argv[2], argv[3]);
  if (argc < 3)
    {
      g_printerr ("usage: %s BUNDLE.rbp PUBLIC_KEY.pub [ROUNDS]\n", argv[0]);
      return 2;
    }
  rounds = CLAMP (argc > 3 ? atoi (argv[3]) : 7, 1, MAX_ROUNDS);
  probe = rb_bundle_new_for_path (argv[1], NULL, &error);
  if (probe == NULL)
    g_error ("%s", error->message);
  library = rb_bundle_dup_library_path (probe, NULL, &error);
  g_stat (argv[1], &st);

  /* Interleaved, the order rotating each round, so that the machine's
   * load shifts hit all three alike. */
  for (int i = 0; i < rounds; i++)
    {
      Figures m = { 0 }, d = { 0 };

      for (int k = 0; k < 3; k++)
        switch ((i + k) % 3)
          {
          case 0:
            m = time_ours (argv[0], argv[1], argv[2], FALSE);
            break;
          case 1:
            d = time_ours (argv[0], argv[1], argv[2], TRUE);
            break;
          default:
            series_add (&cli, time_cli (argv[1], argv[2], library));
            break;
          }
      series_add (&memfd, m.ms);
      series_add (&reuse, m.second_ms);
      series_add (&dir, d.ms);
      series_add (&ratio_md, m.ms / d.ms);
      series_add (&anon_m, m.anon_mb);
      series_add (&anon_d, d.anon_mb);
      series_add (&shmem_m, m.shmem_mb);
      series_add (&shmem_d, d.shmem_mb);
      series_add (&file_m, m.file_mb);
      series_add (&file_d, d.file_mb);
      series_add (&peak_m, m.peak_mb);
      series_add (&peak_d, d.peak_mb);
    }

  g_print ("bundle: %s (%.1f MB), library %s, %d interleaved rounds\n", argv[1], st.st_size / 1e6, library,
           rounds);
  print_series ("open+verify+load, sealed memfd:", &memfd, "ms");
  print_series ("open+verify+load, temporary directory:", &dir, "ms");
  print_series ("unzip -p + sha256sum + minisign -V:", &cli, "ms");
  print_series ("same bundle again (mapping reused):", &reuse, "ms");
  m_memfd = median (&memfd);
  m_dir = median (&dir);
  m_cli = median (&cli);
  g_print ("ratio memfd/directory: %.2f of the medians, %.2f median of per-round ratios (target <= 1.0): %s\n",
           m_memfd / m_dir, median (&ratio_md), m_memfd <= m_dir ? "PASS" : "FAIL");
  g_print ("ratio memfd/CLI: %.2f, directory/CLI: %.2f\n", m_memfd / m_cli, m_dir / m_cli);
  g_print ("growth after load + reading every page of the padding (MiB; the padding is 47.7 MiB):\n");
  print_series ("  RssAnon, memfd:", &anon_m, "MiB");
  print_series ("  RssAnon, directory:", &anon_d, "MiB");
  print_series ("  RssShmem, memfd:", &shmem_m, "MiB");
  print_series ("  RssShmem, directory:", &shmem_d, "MiB");
  print_series ("  RssFile, memfd:", &file_m, "MiB");
  print_series ("  RssFile, directory:", &file_d, "MiB");
  print_series ("  peak RSS (VmHWM), memfd:", &peak_m, "MiB");
  print_series ("  peak RSS (VmHWM), directory:", &peak_d, "MiB");
  anon_max = MAX (anon_m.v[anon_m.n - 1], anon_d.v[anon_d.n - 1]);
  g_print ("RssAnon growth, largest of any load: %.1f MiB (target < 16 MB): %s\n", anon_max,
           anon_max < 16 ? "PASS" : "FAIL");
  return 0;
}
