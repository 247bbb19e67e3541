/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The cost of an isolated (out-of-process) plugin, against the floors of
 * its transport measured in the same run:
 *
 *   floor (a)  a bare SOCK_SEQPACKET round trip between two processes,
 *              the bytes of an echo call
 *   floor (b)  a bare shared-memory ping-pong between two processes, with
 *              the same bounded spin-then-futex wait as the real thing
 *
 * then the isolated sync JSON echo (spinning, and with spinning disabled),
 * in-process for comparison, pipelined async throughput (isolated and
 * in-process), idle CPU, 1 MiB echo, and crash -> restart -> first call.
 *
 *   RUSTBRIDGE_HOST_PATH=build/rustbridge-glib/rustbridge-glib-host-1.0 \
 *     build/tests/bench/bench-isolated build/tests/plugins/librbfixture.so
 *
 * A second argument (optional) is a plugin with "segv" (the misbehaving
 * test plugin) for the restart figure.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rustbridge-glib.h>

#include "rb-isolated-private.h"
#include "rb-isolated-wire-private.h"

static const char echo_request[] = "{\"message\":\"hello\"}";

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof *v, cmp_double);
  return v[n / 2];
}

#define RUNS 5

/* ---- floor (a): socketpair round trip -------------------------------- */

static double
floor_socket (guint n)
{
  int sv[2];
  guint8 buf[256] = { 0 };
  gsize len = sizeof (RbWireHeader) + 5 + sizeof echo_request;
  double runs[RUNS];
  pid_t pid;

  socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
  pid = fork ();
  if (pid == 0)
    {
      ssize_t r;
      close (sv[0]);
      while ((r = recv (sv[1], buf, sizeof buf, 0)) > 0)
        send (sv[1], buf, (size_t) r, MSG_NOSIGNAL);
      _exit (0);
    }
  close (sv[1]);
  for (int r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        {
          send (sv[0], buf, len, MSG_NOSIGNAL);
          recv (sv[0], buf, sizeof buf, 0);
        }
      runs[r] = (g_get_monotonic_time () - start) * 1000.0 / n;
    }
  close (sv[0]);
  waitpid (pid, NULL, 0);
  return median (runs, RUNS);
}

static void
send_all (int fd, const guint8 *buf, gsize size)
{
  for (gsize sent = 0; sent < size;)
    {
      ssize_t r = send (fd, buf + sent, size - sent, MSG_NOSIGNAL);
      if (r <= 0)
        _exit (1);
      sent += (gsize) r;
    }
}

static gboolean
recv_all (int fd, guint8 *buf, gsize size)
{
  for (gsize got = 0; got < size;)
    {
      ssize_t r = recv (fd, buf + got, size - got, 0);
      if (r <= 0)
        return FALSE;
      got += (gsize) r;
    }
  return TRUE;
}

/* 1 MiB there and back through a stream socketpair (what a copy through
 * the socket would cost). */
static double
floor_socket_mib (guint n)
{
  const gsize size = 1 << 20;
  g_autofree guint8 *buf = g_malloc0 (size);
  double runs[RUNS];
  int sv[2];
  pid_t pid;

  socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  pid = fork ();
  if (pid == 0)
    {
      close (sv[0]);
      while (recv_all (sv[1], buf, size))
        send_all (sv[1], buf, size);
      _exit (0);
    }
  close (sv[1]);
  for (int r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        {
          send_all (sv[0], buf, size);
          recv_all (sv[0], buf, size);
        }
      runs[r] = (g_get_monotonic_time () - start) * 1000.0 / n;
    }
  close (sv[0]);
  waitpid (pid, NULL, 0);
  return median (runs, RUNS);
}

/* ---- floor (b): shared-memory ping-pong -------------------------------- */

typedef struct {
  _Atomic guint32 ping;
  _Atomic guint32 ping_sleeping;
  guint8 pad[56];
  _Atomic guint32 pong;
  _Atomic guint32 pong_sleeping;
} PingPong;

static double
floor_shm (guint n,
           guint32 spin_ns)
{
  PingPong *pp = mmap (NULL, sizeof *pp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  double runs[RUNS];
  guint total = n * RUNS;
  pid_t pid;

  memset (pp, 0, sizeof *pp);
  pid = fork ();
  if (pid == 0)
    {
      for (guint i = 0; i < total; i++)
        {
          rb_wire_wait (&pp->ping, i, &pp->ping_sleeping, spin_ns, 0);
          atomic_store (&pp->pong, i + 1);
          if (atomic_load (&pp->pong_sleeping))
            rb_futex_wake (&pp->pong, 1);
        }
      _exit (0);
    }
  for (int r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();
      for (guint i = r * n; i < (guint) (r + 1) * n; i++)
        {
          atomic_store (&pp->ping, i + 1);
          if (atomic_load (&pp->ping_sleeping))
            rb_futex_wake (&pp->ping, 1);
          rb_wire_wait (&pp->pong, i, &pp->pong_sleeping, spin_ns, 0);
        }
      runs[r] = (g_get_monotonic_time () - start) * 1000.0 / n;
    }
  waitpid (pid, NULL, 0);
  munmap (pp, sizeof *pp);
  return median (runs, RUNS);
}

/* ---- isolated ------------------------------------------------------------ */

static RbIsolated *
isolated_new (const char *path,
              gint        spin_us)
{
  g_autoptr(GError) error = NULL;
  RbIsolatedOptions options = { 0 };
  RbIsolated *iso;

  options.spin_us = spin_us;
  iso = rb_isolated_new (path, "{\"log_level\":\"off\"}", 19, &options, &error);
  if (iso == NULL)
    g_error ("%s", error->message);
  return iso;
}

static double
isolated_sync (const char *path,
               gint        spin_us,
               guint       n)
{
  g_autoptr(RbIsolated) iso = isolated_new (path, spin_us);
  double runs[RUNS];

  for (int r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        {
          char *reply = rb_isolated_call (iso, "echo", echo_request, sizeof echo_request - 1, NULL);
          if (reply == NULL)
            g_error ("isolated echo failed");
          g_free (reply);
        }
      runs[r] = (g_get_monotonic_time () - start) * 1000.0 / n;
    }
  return median (runs, RUNS);
}

static double
in_process_sync (const char *path,
                 guint       n)
{
  g_autoptr(RbPlugin) plugin = rb_plugin_new (path, NULL, NULL, NULL);
  double runs[RUNS];

  for (int r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        g_free (rb_plugin_call (plugin, "echo", echo_request, NULL, NULL));
      runs[r] = (g_get_monotonic_time () - start) * 1000.0 / n;
    }
  return median (runs, RUNS);
}

typedef struct {
  gint done;
  gint failed;
} Count;

static void
isolated_done (gpointer  user_data,
               char     *payload,
               GBytes   *bytes,
               GError   *error)
{
  Count *count = user_data;

  if (payload == NULL)
    g_atomic_int_inc (&count->failed);
  g_free (payload);
  g_clear_error (&error);
  g_atomic_int_inc (&count->done);
}

static double
isolated_async (const char *path,
                guint       n)
{
  g_autoptr(RbIsolated) iso = isolated_new (path, -1);
  double runs[RUNS];

  for (int r = 0; r < RUNS; r++)
    {
      Count count = { 0, 0 };
      gint64 start = g_get_monotonic_time ();

      for (guint i = 0; i < n; i++)
        rb_isolated_call_async (iso, "echo", echo_request, sizeof echo_request - 1, isolated_done, &count);
      while ((guint) g_atomic_int_get (&count.done) < n)
        g_usleep (50);
      if (count.failed)
        g_error ("%d isolated async calls failed", count.failed);
      runs[r] = n / ((g_get_monotonic_time () - start) / 1e6);
    }
  return median (runs, RUNS);
}

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
in_process_async (const char *path,
                  guint       n)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  double runs[RUNS];

  g_object_set (config, "max-queued-calls", n + 1, NULL);
  plugin = rb_plugin_new (path, config, NULL, NULL);
  for (int r = 0; r < RUNS; r++)
    {
      Count count = { 0, 0 };
      gint64 start = g_get_monotonic_time ();

      for (guint i = 0; i < n; i++)
        rb_plugin_call_async (plugin, "echo", echo_request, NULL, async_cb, &count);
      while ((guint) count.done < n)
        g_main_context_iteration (NULL, TRUE);
      if (count.failed)
        g_error ("%d async calls failed", count.failed);
      runs[r] = n / ((g_get_monotonic_time () - start) / 1e6);
    }
  return median (runs, RUNS);
}

/* CPU time of every thread of @pid, in ns (schedstat: ns resolution). */
static gint64
process_cpu_ns (pid_t pid)
{
  g_autofree char *dir_path = g_strdup_printf ("/proc/%d/task", (int) pid);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;
  gint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s/schedstat", dir_path, name);
      g_autofree char *contents = NULL;

      if (g_file_get_contents (path, &contents, NULL, NULL))
        total += g_ascii_strtoll (contents, NULL, 10);
    }
  return total;
}

static void
idle_cpu (const char *path,
          guint       seconds,
          double     *app_ms,
          double     *helper_ms)
{
  g_autoptr(RbIsolated) iso = isolated_new (path, -1);
  gint64 app_before, app_after, helper_before, helper_after;
  Count count = { 0, 0 };

  /* one sync and one async call, so that every thread exists */
  g_free (rb_isolated_call (iso, "echo", echo_request, sizeof echo_request - 1, NULL));
  rb_isolated_call_async (iso, "echo", echo_request, sizeof echo_request - 1, isolated_done, &count);
  while (g_atomic_int_get (&count.done) < 1)
    g_usleep (1000);
  g_usleep (100000);  /* past the spin window */

  app_before = process_cpu_ns (getpid ());
  helper_before = process_cpu_ns (rb_isolated_get_pid (iso));
  g_usleep ((gulong) seconds * G_USEC_PER_SEC);
  app_after = process_cpu_ns (getpid ());
  helper_after = process_cpu_ns (rb_isolated_get_pid (iso));
  *app_ms = (app_after - app_before) / 1e6;
  *helper_ms = (helper_after - helper_before) / 1e6;
}

static double
big_echo (const char *path,
          gboolean    isolated,
          guint       n)
{
  g_autoptr(RbIsolated) iso = isolated ? isolated_new (path, -1) : NULL;
  g_autoptr(RbPlugin) plugin = isolated ? NULL : rb_plugin_new (path, NULL, NULL, NULL);
  const gsize size = 1 << 20;
  g_autofree char *request = g_malloc (size + 32);
  double runs[RUNS];
  gsize len;

  len = (gsize) g_snprintf (request, 32, "{\"message\":\"");
  memset (request + len, 'm', size - len - 2);
  memcpy (request + size - 2, "\"}", 3);
  len = size;

  for (int r = 0; r < RUNS; r++)
    {
      gint64 start = g_get_monotonic_time ();
      for (guint i = 0; i < n; i++)
        {
          char *reply = isolated ? rb_isolated_call (iso, "echo", request, len, NULL)
                                 : rb_plugin_call (plugin, "echo", request, NULL, NULL);
          if (reply == NULL)
            g_error ("1 MiB echo failed");
          g_free (reply);
        }
      runs[r] = (g_get_monotonic_time () - start) / 1000.0 / n;
    }
  return median (runs, RUNS);
}

static double
restart_latency (const char *crash_path,
                 guint       n)
{
  double runs[16];

  n = MIN (n, G_N_ELEMENTS (runs));
  for (guint i = 0; i < n; i++)
    {
      RbIsolated *iso = isolated_new (crash_path, -1);
      gint64 start;
      char *reply;

      g_assert_null (rb_isolated_call (iso, "segv", "{}", 2, NULL));
      start = g_get_monotonic_time ();
      rb_isolated_free (iso);
      iso = isolated_new (crash_path, -1);
      reply = rb_isolated_call (iso, "ok", "{}", 2, NULL);
      runs[i] = (g_get_monotonic_time () - start) / 1000.0;
      g_assert_nonnull (reply);
      g_free (reply);
      rb_isolated_free (iso);
    }
  return median (runs, (int) n);
}

int
main (int    argc,
      char **argv)
{
  const char *path, *crash_path;
  guint n = 20000, async_n = 20000;
  double fa, fb, fb_nospin, sync_spin, sync_nospin, local_sync, iso_async, local_async;
  double app_ms, helper_ms, mib_iso, mib_local, mib_socket, restart;
  guint idle_s = 5;

  if (argc < 2)
    {
      g_printerr ("usage: %s PLUGIN.so [MISBEHAVE-PLUGIN.so]\n", argv[0]);
      return 2;
    }
  path = argv[1];
  crash_path = argc > 2 ? argv[2] : NULL;
  if (g_getenv ("RB_BENCH_QUICK"))
    {
      n = 2000;
      async_n = 2000;
      idle_s = 1;
    }

  /* The floors first: fork() before any thread exists. */
  fa = floor_socket (n);
  fb = floor_shm (n, RB_WIRE_DEFAULT_SPIN_US * 1000);
  fb_nospin = floor_shm (n, 0);
  mib_socket = floor_socket_mib (20);

  /* Idle first, while no in-process plugin (and its pool) exists. */
  idle_cpu (path, idle_s, &app_ms, &helper_ms);
  sync_spin = isolated_sync (path, -1, n);
  sync_nospin = isolated_sync (path, 0, n);
  local_sync = in_process_sync (path, n);
  iso_async = isolated_async (path, async_n);
  local_async = in_process_async (path, async_n);
  mib_iso = big_echo (path, TRUE, 20);
  mib_local = big_echo (path, FALSE, 20);
  restart = crash_path ? restart_latency (crash_path, 10) : -1;

  g_print ("floor (a) socketpair round trip:        %7.2f us\n", fa / 1000);
  g_print ("floor (b) shm ping-pong, spin+futex:    %7.2f us   (futex only: %.2f us)\n", fb / 1000, fb_nospin / 1000);
  g_print ("isolated sync JSON echo:                %7.2f us   = %.2fx floor (b) (target <= 5x), %.2fx floor (a)\n",
           sync_spin / 1000, sync_spin / fb, sync_spin / fa);
  g_print ("isolated sync JSON echo, no spinning:   %7.2f us   = %.2fx floor (a) (target <= 1.5x)\n",
           sync_nospin / 1000, sync_nospin / fa);
  g_print ("in-process sync JSON echo:              %7.2f us\n", local_sync / 1000);
  g_print ("async pipelined echo: isolated %8.0f calls/s, in-process %8.0f calls/s = %.2fx (target >= 0.5x)\n",
           iso_async, local_async, iso_async / local_async);
  g_print ("idle CPU over %u s: app %.3f ms, helper %.3f ms = %.3f ms per 10 s (target < 1 ms per 10 s)\n",
           idle_s, app_ms, helper_ms, (app_ms + helper_ms) * 10 / idle_s);
  g_print ("1 MiB JSON echo (1 MiB each way): isolated %.3f ms, in-process %.3f ms; "
           "bare 1 MiB socket round trip %.3f ms\n", mib_iso, mib_local, mib_socket / 1e6);
  if (restart >= 0)
    g_print ("crash -> new helper -> first successful call: %.2f ms\n", restart);
  return 0;
}
