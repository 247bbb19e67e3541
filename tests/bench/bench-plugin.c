/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Per-call cost of rb_plugin_call / rb_plugin_call_raw against the bare
 * plugin ABI, and async throughput into a main loop against the naive
 * GTask-per-call pattern. Prints figures and ratios measured in one run.
 *
 *   bench-plugin [--sync-only] PLUGIN.so [ITERATIONS]
 */
#include <string.h>
#include <time.h>

#include <gmodule.h>

#include <rustbridge-glib.h>
#include "rb-abi-private.h"
#include "../plugins/fixture-raw.h"

static const char *echo_request = "{\"message\":\"Hello\"}";

/* Nanoseconds: batches are ~1000 calls of ~100 ns, too short for the
 * microseconds of g_get_monotonic_time(). */
static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

typedef struct {
  RbAbi  abi;
  void  *handle;
} Bare;

static void
bare_open (Bare       *bare,
           const char *path)
{
  GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
  static const char *config = "{\"log_level\":\"off\",\"max_concurrent_ops\":100000}";

  if (module == NULL)
    g_error ("cannot open %s: %s", path, g_module_error ());
  g_module_make_resident (module);
#define SYM(name) if (!g_module_symbol (module, #name, (gpointer *) &bare->abi.name)) g_error ("no " #name)
  SYM (plugin_create);
  SYM (plugin_init);
  SYM (plugin_call);
  SYM (plugin_free_buffer);
  SYM (plugin_shutdown);
  SYM (plugin_call_raw);
  SYM (rb_response_free);
#undef SYM
  bare->handle = bare->abi.plugin_init (bare->abi.plugin_create (), (const uint8_t *) config,
                                        strlen (config), NULL);
  if (bare->handle == NULL)
    g_error ("bare plugin_init failed");
}

static double
time_bare_call (Bare *bare,
                guint n)
{
  gint64 start = now_ns ();
  size_t len = strlen (echo_request);

  for (guint i = 0; i < n; i++)
    {
      RbFfiBuffer buf = bare->abi.plugin_call (bare->handle, "echo", (const uint8_t *) echo_request, len);
      if (buf.error_code != 0)
        g_error ("bare call failed");
      bare->abi.plugin_free_buffer (&buf);
    }
  return (double) (now_ns () - start) / n;
}

static double
time_rb_call (RbPlugin *plugin,
              guint     n)
{
  gint64 start = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      char *reply = rb_plugin_call (plugin, "echo", echo_request, NULL, NULL);
      if (reply == NULL)
        g_error ("rb call failed");
      g_free (reply);
    }
  return (double) (now_ns () - start) / n;
}

static double
time_bare_raw (Bare *bare,
               guint n)
{
  FixtureRawEchoRequest req = { .version = 1, .value = 7 };
  gint64 start = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      RbResponse resp = bare->abi.plugin_call_raw (bare->handle, 1, &req, sizeof req);
      if (resp.error_code != 0)
        g_error ("bare raw failed");
      bare->abi.rb_response_free (&resp);
    }
  return (double) (now_ns () - start) / n;
}

static double
time_rb_raw (RbPlugin *plugin,
             guint     n)
{
  FixtureRawEchoRequest req = { .version = 1, .value = 7 };
  GBytes *request = g_bytes_new_static (&req, sizeof req);
  gint64 start = now_ns ();

  for (guint i = 0; i < n; i++)
    {
      GBytes *reply = rb_plugin_call_raw (plugin, 1, request, NULL, NULL);
      if (reply == NULL)
        g_error ("rb raw failed");
      g_bytes_unref (reply);
    }
  g_bytes_unref (request);
  return (double) (now_ns () - start) / n;
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v,
        int     n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

/* ---- async ---- */

typedef struct {
  guint done;
  guint failed;
} Count;

static void
async_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  Count *count = data;
  char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, NULL);

  if (reply == NULL)
    count->failed++;
  g_free (reply);
  count->done++;
}

static double
async_rate (const char *path,
            guint       threads,
            guint       n)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  Count count = { 0, 0 };
  gint64 start;

  g_object_set (config, "worker-threads", threads, "log-level", RB_LOG_LEVEL_OFF,
                "max-queued-calls", n + 1, NULL);
  plugin = rb_plugin_new (path, config, NULL, NULL);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    rb_plugin_call_async (plugin, "echo", echo_request, NULL, async_cb, &count);
  while (count.done < n)
    g_main_context_iteration (NULL, TRUE);
  if (count.failed)
    g_error ("%u async calls failed", count.failed);
  return n / ((g_get_monotonic_time () - start) / 1e6);
}

/* The naive pattern: a GTask per call pushed to a GThreadPool and returned
 * from the worker thread (one main-context wakeup per completion). */
static void
naive_worker (gpointer data,
              gpointer user_data)
{
  GTask *task = data;
  RbPlugin *plugin = g_task_get_source_object (task);
  char *reply = rb_plugin_call (plugin, "echo", echo_request, NULL, NULL);

  g_task_return_pointer (task, reply, g_free);
  g_object_unref (task);
}

static void
naive_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  Count *count = data;
  char *reply = g_task_propagate_pointer (G_TASK (result), NULL);

  if (reply == NULL)
    count->failed++;
  g_free (reply);
  count->done++;
}

static double
naive_rate (const char *path,
            guint       threads,
            guint       n)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  GThreadPool *pool;
  Count count = { 0, 0 };
  gint64 start;

  g_object_set (config, "worker-threads", threads, "log-level", RB_LOG_LEVEL_OFF, NULL);
  plugin = rb_plugin_new (path, config, NULL, NULL);
  pool = g_thread_pool_new (naive_worker, NULL, (int) threads, FALSE, NULL);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    g_thread_pool_push (pool, g_task_new (plugin, NULL, naive_cb, &count), NULL);
  while (count.done < n)
    g_main_context_iteration (NULL, TRUE);
  if (count.failed)
    g_error ("%u naive calls failed", count.failed);
  g_thread_pool_free (pool, FALSE, TRUE);
  return n / ((g_get_monotonic_time () - start) / 1e6);
}

int
main (int   argc,
      char *argv[])
{
  const char *path;
  guint n, async_n;
  Bare bare;
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  double bare_call[201], rb_call[201], bare_raw[201], rb_raw[201];
  const int rounds = G_N_ELEMENTS (bare_call);
  double mb, mr, mbr, mrr, sync_rate;
  const guint pool_sizes[] = { 1, 2, 4 };
  gboolean sync_only = FALSE;

  if (argc > 1 && g_strcmp0 (argv[1], "--sync-only") == 0)
    {
      sync_only = TRUE;
      argv++;
      argc--;
    }
  if (argc < 2)
    {
      g_printerr ("usage: %s [--sync-only] PLUGIN.so [ITERATIONS]\n", argv[0]);
      return 2;
    }
  path = argv[1];
  n = argc > 2 ? (guint) g_ascii_strtoull (argv[2], NULL, 10) : 200000;
  async_n = 100000;

  g_object_set (config, "log-level", RB_LOG_LEVEL_OFF, "max-concurrent-ops", 100000, NULL);
  plugin = rb_plugin_new (path, config, NULL, &error);
  if (plugin == NULL)
    g_error ("%s", error->message);
  bare_open (&bare, path);

  /* Warm up, then alternate the variants in many small batches so that
   * drift and other processes hit all of them alike; compare medians. */
  time_bare_call (&bare, n / 10);
  time_rb_call (plugin, n / 10);
  for (int r = 0; r < rounds; r++)
    {
      bare_call[r] = time_bare_call (&bare, n / rounds);
      rb_call[r] = time_rb_call (plugin, n / rounds);
      bare_raw[r] = time_bare_raw (&bare, n / rounds);
      rb_raw[r] = time_rb_raw (plugin, n / rounds);
    }
  mb = median (bare_call, rounds);
  mr = median (rb_call, rounds);
  mbr = median (bare_raw, rounds);
  mrr = median (rb_raw, rounds);

  g_print ("plugin: %s\n", path);
  g_print ("sync JSON echo   bare plugin_call+free: %8.1f ns   rb_plugin_call: %8.1f ns   ratio %.3f (target <= 1.10)\n",
           mb, mr, mr / mb);
  g_print ("sync raw echo    bare call_raw+free:    %8.1f ns   rb_plugin_call_raw: %5.1f ns   ratio %.3f (target <= 1.25)\n",
           mbr, mrr, mrr / mbr);

  sync_rate = 1e9 / mr;
  g_print ("sync single-thread rate: %.0f calls/s\n", sync_rate);
  for (gsize i = 0; !sync_only && i < G_N_ELEMENTS (pool_sizes); i++)
    {
      double ours_runs[5], naive_runs[5], ours, naive;

      /* Interleaved runs; medians. */
      for (int r = 0; r < 5; r++)
        {
          ours_runs[r] = async_rate (path, pool_sizes[i], async_n);
          naive_runs[r] = naive_rate (path, pool_sizes[i], async_n);
        }
      ours = median (ours_runs, 5);
      naive = median (naive_runs, 5);

      g_print ("async pool=%u: %8.0f calls/s  (naive GTask-per-call: %8.0f calls/s)  ours/naive %.2fx (target >= 2 for 1,2)  "
               "per-call async/sync %.2fx\n",
               pool_sizes[i], ours, naive, ours / naive, sync_rate / ours);
    }

  bare.abi.plugin_shutdown (bare.handle);
  return 0;
}
