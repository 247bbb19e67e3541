/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The stall of a live reload: while 4 threads call a plugin, it is
 * reloaded ROUNDS times, alternating between two bundles (each thread
 * calls, then sleeps 200 us); for each
 * reload the longest wait of any call that overlapped it is the stall.
 * Printed against the new instance's own start (a fresh
 * rb_bundle_load_plugin() of the same bundle and config, timed alone),
 * and against the longest call of an equal window without a reload (the
 * noise floor of a shared machine). In process and in PROCESS isolation.
 *
 *   bench-reload A.rbp B.rbp PUBLISHER.pub [ROUNDS] [INIT_DELAY_MS]
 *
 * A and B must hold different libraries (e.g. two builds of the test
 * fixture: build/tests/plugins/librbfixture.so and librbfixture-v2.so,
 * bundled with tests/bundle/rb-make-bundle.py); INIT_DELAY_MS (default
 * 20) is the fixture's startup_delay_ms, a plugin_init that takes time.
 */
#include <stdlib.h>
#include <time.h>

#include <glib/gstdio.h>
#include <rustbridge-glib.h>

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

typedef struct {
  RbPlugin *plugin;
  gint      stop;
  gint64    max_wait_ns;  /* atomic, reset by the main thread */
  gint      failed;
} Load;

static gpointer
caller (gpointer data)
{
  Load *load = data;

  while (!g_atomic_int_get (&load->stop))
    {
      g_autoptr(GError) error = NULL;
      gint64 start = now_ns (), wait;
      g_autofree char *reply = rb_plugin_call (load->plugin, "echo", "{\"message\":\"x\"}", NULL, &error);
      gint64 seen;

      if (reply == NULL)
        g_atomic_int_inc (&load->failed);
      wait = now_ns () - start;
      seen = __atomic_load_n (&load->max_wait_ns, __ATOMIC_RELAXED);
      while (wait > seen &&
             !__atomic_compare_exchange_n (&load->max_wait_ns, &seen, wait, FALSE,
                                           __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
      /* Paced: four threads spinning on a small machine would measure
       * the scheduler's time slices, not the switch. */
      g_usleep (200);
    }
  return NULL;
}

static int
cmp_gint64 (gconstpointer a,
            gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gint64
median (GArray *values)
{
  g_array_sort (values, cmp_gint64);
  return g_array_index (values, gint64, values->len / 2);
}

static gint64
maximum (GArray *values)
{
  g_array_sort (values, cmp_gint64);
  return g_array_index (values, gint64, values->len - 1);
}

static RbBundle *
open_bundle (const char *path,
             const char *keys)
{
  g_autoptr(GError) error = NULL;
  RbBundle *bundle = rb_bundle_new_for_path (path, NULL, &error);

  if (bundle == NULL)
    g_error ("%s", error->message);
  rb_bundle_set_trusted_keys_dir (bundle, keys);
  return bundle;
}

/* A fresh plugin from @bundle. Isolated plugins start from an extracted
 * copy (rb_bundle_load_plugin() cannot start them from its memfd yet). */
static RbPlugin *
load_fresh (RbBundle        *bundle,
            RbPluginConfig  *config,
            GError         **error)
{
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL, *dir = NULL;
  RbPlugin *plugin;

  if (rb_plugin_config_get_isolation (config) == RB_ISOLATION_NONE)
    return rb_bundle_load_plugin (bundle, NULL, config, NULL, error);
  file = rb_bundle_extract_library (bundle, NULL, NULL, NULL, error);
  if (file == NULL)
    return NULL;
  path = g_file_get_path (file);
  plugin = rb_plugin_new (path, config, NULL, error);
  dir = g_path_get_dirname (path);
  g_unlink (path);
  g_rmdir (dir);
  return plugin;
}

static void
run (const char  *label,
     RbIsolation  isolation,
     RbBundle    *bundles[2],
     guint        rounds,
     guint        delay_ms)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GArray) stalls = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) floors = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) reloads = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) inits = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;
  g_autofree char *delay = g_strdup_printf ("%u", delay_ms);
  GThread *threads[4];
  Load load = { 0 };

  rb_plugin_config_set_isolation (config, isolation);
  rb_plugin_config_set_log_level (config, RB_LOG_LEVEL_OFF);
  rb_plugin_config_set_data_json (config, "startup_delay_ms", delay, NULL);

  /* The new instance's own start, alone. */
  for (guint i = 0; i < MIN (rounds, 10u); i++)
    {
      gint64 start = now_ns ();
      g_autoptr(RbPlugin) fresh = load_fresh (bundles[i % 2], config, &error);
      gint64 took = now_ns () - start;

      if (fresh == NULL)
        g_error ("%s", error->message);
      g_array_append_val (inits, took);
      rb_plugin_shutdown (fresh, NULL, NULL);
    }

  load.plugin = load_fresh (bundles[0], config, &error);
  if (load.plugin == NULL)
    g_error ("%s", error->message);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", caller, &load);
  g_usleep (20 * 1000);

  for (guint round = 0; round < rounds; round++)
    {
      gint64 start, took, floor_ns, stall;

      /* A window without a reload, as long as the last reload. */
      __atomic_store_n (&load.max_wait_ns, 0, __ATOMIC_RELAXED);
      g_usleep (reloads->len > 0 ? g_array_index (reloads, gint64, reloads->len - 1) / 1000 : 1000);
      floor_ns = __atomic_load_n (&load.max_wait_ns, __ATOMIC_RELAXED);
      g_array_append_val (floors, floor_ns);

      __atomic_store_n (&load.max_wait_ns, 0, __ATOMIC_RELAXED);
      start = now_ns ();
      if (!rb_plugin_reload (load.plugin, bundles[(round + 1) % 2], NULL, &error))
        g_error ("%s", error->message);
      took = now_ns () - start;
      /* Calls that waited for the switch end just after it. */
      g_usleep (2000);
      stall = __atomic_load_n (&load.max_wait_ns, __ATOMIC_RELAXED);
      g_array_append_val (stalls, stall);
      g_array_append_val (reloads, took);
    }
  g_atomic_int_set (&load.stop, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  if (load.failed != 0)
    g_error ("%d calls failed", load.failed);

  g_print ("%s (%u reloads, 4 calling threads, plugin_init takes >= %u ms):\n", label, rounds, delay_ms);
  g_print ("  new instance's own start   median %9.3f ms  max %9.3f ms\n",
           median (inits) / 1e6, maximum (inits) / 1e6);
  g_print ("  whole reload               median %9.3f ms  max %9.3f ms\n",
           median (reloads) / 1e6, maximum (reloads) / 1e6);
  g_print ("  stall (longest call wait)  median %9.3f ms  max %9.3f ms\n",
           median (stalls) / 1e6, maximum (stalls) / 1e6);
  g_print ("  same window, no reload     median %9.3f ms  max %9.3f ms\n",
           median (floors) / 1e6, maximum (floors) / 1e6);
  g_print ("  stall / own start (median) %9.4f\n",
           (double) median (stalls) / (double) MAX (median (inits), 1));
  rb_plugin_shutdown (load.plugin, NULL, NULL);
  g_object_unref (load.plugin);
}

int
main (int argc, char **argv)
{
  g_autofree char *keys = g_build_filename (g_get_tmp_dir (), "rb-bench-reload-XXXXXX", NULL);
  g_autofree char *pub = NULL, *copy = NULL;
  RbBundle *bundles[2];
  guint rounds, delay_ms;
  gsize len;

  if (argc < 4)
    {
      g_printerr ("usage: %s A.rbp B.rbp PUBLISHER.pub [ROUNDS] [INIT_DELAY_MS]\n", argv[0]);
      return 2;
    }
  rounds = argc > 4 ? (guint) atoi (argv[4]) : 50;
  delay_ms = argc > 5 ? (guint) atoi (argv[5]) : 20;
  if (rounds == 0)
    rounds = 1;
  if (g_mkdtemp (keys) == NULL || !g_file_get_contents (argv[3], &pub, &len, NULL))
    g_error ("cannot set up the trusted-keys directory");
  copy = g_build_filename (keys, "publisher.pub", NULL);
  if (!g_file_set_contents (copy, pub, len, NULL))
    g_error ("cannot write %s", copy);
  bundles[0] = open_bundle (argv[1], keys);
  bundles[1] = open_bundle (argv[2], keys);

  run ("in process", RB_ISOLATION_NONE, bundles, rounds, delay_ms);
  run ("PROCESS isolation", RB_ISOLATION_PROCESS, bundles, MAX (rounds / 5, 1u), delay_ms);

  g_object_unref (bundles[0]);
  g_object_unref (bundles[1]);
  g_unlink (copy);
  g_rmdir (keys);
  return 0;
}
