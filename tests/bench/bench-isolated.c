/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The cost of an isolated plugin (RB_ISOLATION_PROCESS) through the public
 * RbPlugin API, against the floors of its transport measured in the same
 * run, batch by batch interleaved with the calls they bound:
 *
 *   floor (a)  a bare SOCK_SEQPACKET round trip between two processes of
 *              the bytes of an echo call (a wire header and the request
 *              there, a wire header and the reply back)
 *   floor (b)  a bare shared-memory ping-pong between two processes with
 *              the same bounded spin-then-futex wait (rb_wire_wait(), the
 *              same spin window), the request copied in and the reply
 *              copied in and out as the real call does
 *
 * then the isolated sync JSON echo (spinning, and with spinning disabled
 * by RB_ISOLATED_SPIN_US=0 against floor (b) without spin and floor (a)),
 * in-process for comparison, pipelined async throughput (isolated and in
 * process), idle CPU of the app and the helper, 1 MiB JSON and raw echo
 * (the memfd path) against 1 MiB through a socket, and crash -> FAILED ->
 * rb_plugin_restart() -> first successful call. Each figure is printed
 * with its ratio and PASS/FAIL against the target.
 *
 *   RUSTBRIDGE_HOST_PATH=build/rustbridge-glib/rustbridge-glib-host-1.0 \
 *     build/tests/bench/bench-isolated build/tests/bench/librbbenchecho.so
 *
 * The plugin is the benchmarks' echo plugin (bench-echo-plugin.c: JSON
 * and raw echo of any size, "segv"). RB_BENCH_QUICK=1 runs small batches;
 * RB_BENCH_ROUNDS=N sets the number of interleaved rounds (default 7).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rustbridge-glib.h>

/* rb_wire_wait() and the default spin window: the floor waits as the
 * real wire does. */
#include "rb-isolated-wire-private.h"

static const char echo_request[] = "{\"message\":\"hello\"}";
static const char echo_reply[] = "{\"status\":\"success\",\"payload\":{\"message\":\"hello\"}}";
#define REQUEST_BYTES (sizeof "echo" + sizeof echo_request - 1)   /* tag, NUL, JSON */
#define REPLY_BYTES   (sizeof echo_reply - 1)
#define MIB           (1 << 20)
#define MAX_ROUNDS    32

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

typedef struct {
  double v[MAX_ROUNDS];
  int n;
} Series;

static void
add (Series *s, double value)
{
  if (s->n < MAX_ROUNDS)
    s->v[s->n++] = value;
}

/* Sorts the series. */
static double
median (Series *s)
{
  qsort (s->v, (size_t) s->n, sizeof (double), cmp_double);
  return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
}

static const char *
spread (Series *s, double scale)
{
  static char text[4][64];
  static int next;
  char *t = text[next++ % 4];

  median (s);
  g_snprintf (t, 64, "%.2f..%.2f", s->v[0] * scale, s->v[s->n - 1] * scale);
  return t;
}

static const char *
verdict (gboolean ok)
{
  return ok ? "PASS" : "FAIL";
}

/* ---- the floors' peers: forked before any thread exists ---------------- */

typedef struct {
  _Atomic guint32 ping;
  _Atomic guint32 ping_sleeping;
  guint8 pad0[RB_CACHELINE - 8];
  _Atomic guint32 pong;
  _Atomic guint32 pong_sleeping;
  _Atomic guint32 spin_ns;
  _Atomic guint32 stop;
  guint8 pad1[RB_CACHELINE - 16];
  guint8 request[256];        /* as a call slot's request data */
  guint8 reply[256];          /* as its reply data */
} PingPong;

static int sock_a = -1, sock_mib = -1;
static PingPong *pp;
static guint32 pp_seq;
static pid_t peers[3];

static void
peer_socket (int fd)
{
  guint8 buf[512];
  guint8 reply[sizeof (RbWireHeader) + REPLY_BYTES] = { 0 };
  ssize_t r;

  memcpy (reply + sizeof (RbWireHeader), echo_reply, REPLY_BYTES);
  while ((r = recv (fd, buf, sizeof buf, 0)) > 0)
    send (fd, reply, sizeof reply, MSG_NOSIGNAL);
  _exit (0);
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

static void
peer_socket_mib (int fd)
{
  guint8 *buf = mmap (NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

  while (recv_all (fd, buf, MIB))
    send_all (fd, buf, MIB);
  _exit (0);
}

/* The helper's side of a call: wait for the request, read it (the plugin
 * gets a pointer into the slot), write the reply into the slot, flip the
 * state word, wake the app only if it sleeps. */
static void
peer_shm (void)
{
  guint8 local[256];
  guint32 seen = 0;

  for (;;)
    {
      seen = rb_wire_wait (&pp->ping, seen, &pp->ping_sleeping, atomic_load (&pp->spin_ns), 0);
      if (atomic_load (&pp->stop))
        _exit (0);
      memcpy (local, pp->request, REQUEST_BYTES);
      memcpy (pp->reply, echo_reply, REPLY_BYTES);
      atomic_store (&pp->pong, seen);
      if (atomic_load (&pp->pong_sleeping))
        rb_futex_wake (&pp->pong, 1);
    }
}

/* A peer dies with us, even when we abort. */
static pid_t
fork_peer (void)
{
  pid_t pid = fork ();

  if (pid == 0)
    prctl (PR_SET_PDEATHSIG, SIGKILL);
  return pid;
}

static void
start_peers (void)
{
  int sv[2];

  socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
  if ((peers[0] = fork_peer ()) == 0)
    {
      close (sv[0]);
      peer_socket (sv[1]);
    }
  close (sv[1]);
  sock_a = sv[0];

  socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
  if ((peers[1] = fork_peer ()) == 0)
    {
      close (sv[0]);
      close (sock_a);
      peer_socket_mib (sv[1]);
    }
  close (sv[1]);
  sock_mib = sv[0];

  pp = mmap (NULL, sizeof *pp, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  memset (pp, 0, sizeof *pp);
  if ((peers[2] = fork_peer ()) == 0)
    {
      close (sock_a);
      close (sock_mib);
      peer_shm ();
    }
}

static void
stop_peers (void)
{
  close (sock_a);
  close (sock_mib);
  atomic_store (&pp->stop, 1);
  atomic_fetch_add (&pp->ping, 1);
  rb_futex_wake (&pp->ping, 1);
  for (guint i = 0; i < G_N_ELEMENTS (peers); i++)
    waitpid (peers[i], NULL, 0);
  munmap (pp, sizeof *pp);
}

/* ns per round trip */
static double
floor_socket (guint n)
{
  guint8 request[sizeof (RbWireHeader) + REQUEST_BYTES] = { 0 };
  guint8 reply[512];
  gint64 start = g_get_monotonic_time ();

  memcpy (request + sizeof (RbWireHeader), "echo", sizeof "echo");
  memcpy (request + sizeof (RbWireHeader) + sizeof "echo", echo_request, sizeof echo_request - 1);
  for (guint i = 0; i < n; i++)
    {
      send (sock_a, request, sizeof request, MSG_NOSIGNAL);
      recv (sock_a, reply, sizeof reply, 0);
    }
  return (g_get_monotonic_time () - start) * 1000.0 / n;
}

/* ns per round trip */
static double
floor_shm (guint   n,
           guint32 spin_ns)
{
  guint8 reply[256];
  gint64 start;

  atomic_store (&pp->spin_ns, spin_ns);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      guint32 seq = ++pp_seq;

      memcpy (pp->request, "echo", sizeof "echo");
      memcpy (pp->request + sizeof "echo", echo_request, sizeof echo_request - 1);
      atomic_store (&pp->ping, seq);
      if (atomic_load (&pp->ping_sleeping))
        rb_futex_wake (&pp->ping, 1);
      while (rb_wire_wait (&pp->pong, seq - 1, &pp->pong_sleeping, spin_ns, 0) != seq)
        ;
      memcpy (reply, pp->reply, REPLY_BYTES);
    }
  return (g_get_monotonic_time () - start) * 1000.0 / n;
}

/* ms per round trip of 1 MiB each way through a stream socket */
static double
floor_socket_mib (guint n)
{
  g_autofree guint8 *buf = g_malloc0 (MIB);
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      send_all (sock_mib, buf, MIB);
      recv_all (sock_mib, buf, MIB);
    }
  return (g_get_monotonic_time () - start) / 1000.0 / n;
}

/* ---- plugins through the public API -------------------------------------- */

static RbPlugin *
plugin_new (const char *path,
            RbIsolation isolation,
            gboolean    spin,
            guint       max_queued)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  RbPlugin *plugin;

  rb_plugin_config_set_isolation (config, isolation);
  rb_plugin_config_set_max_queued_calls (config, max_queued);
  /* The helper's spin window is read when it starts. */
  if (!spin)
    g_setenv ("RB_ISOLATED_SPIN_US", "0", TRUE);
  plugin = rb_plugin_new (path, config, NULL, &error);
  if (!spin)
    g_unsetenv ("RB_ISOLATED_SPIN_US");
  if (plugin == NULL)
    g_error ("%s", error->message);
  return plugin;
}

/* ns per call */
static double
sync_echo (RbPlugin *plugin,
           guint     n)
{
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      char *reply = rb_plugin_call (plugin, "echo", echo_request, NULL, &error);

      if (reply == NULL)
        g_error ("echo: %s", error->message);
      g_free (reply);
    }
  return (g_get_monotonic_time () - start) * 1000.0 / n;
}

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

/* calls per second, all @n submitted before the first completes */
static double
async_echo (RbPlugin *plugin,
            guint     n)
{
  Count count = { 0, 0 };
  gint64 start = g_get_monotonic_time ();

  for (guint i = 0; i < n; i++)
    rb_plugin_call_async (plugin, "echo", echo_request, NULL, async_cb, &count);
  while (count.done < n)
    g_main_context_iteration (NULL, TRUE);
  if (count.failed)
    g_error ("%u async calls failed", count.failed);
  return n / ((g_get_monotonic_time () - start) / 1e6);
}

/* ms per 1 MiB echo, JSON (a 1 MiB string) or raw (message 1) */
static double
mib_echo (RbPlugin *plugin,
          gboolean  raw,
          guint     n)
{
  g_autofree char *json = g_malloc (MIB + 1);
  g_autoptr(GBytes) bytes = NULL;
  gint64 start;

  memset (json, 'm', MIB);
  memcpy (json, "{\"m\":\"", 6);
  memcpy (json + MIB - 2, "\"}", 3);
  bytes = g_bytes_new_static (json, MIB);
  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;

      if (raw)
        {
          g_autoptr(GBytes) reply = rb_plugin_call_raw (plugin, 1, bytes, NULL, &error);
          if (reply == NULL || g_bytes_get_size (reply) != MIB)
            g_error ("1 MiB raw echo: %s", error ? error->message : "wrong size");
        }
      else
        {
          g_autofree char *reply = rb_plugin_call (plugin, "echo", json, NULL, &error);
          if (reply == NULL)
            g_error ("1 MiB JSON echo: %s", error->message);
        }
    }
  return (g_get_monotonic_time () - start) / 1000.0 / n;
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

/* Our one child that is not a floors' peer: the helper. */
static pid_t
find_helper (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
  const char *name;
  pid_t found = -1;
  guint n = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%s/stat", name);
      g_autofree char *stat = NULL;
      const char *after_comm;
      int ppid = 0;
      pid_t pid = (pid_t) atoi (name);

      if (pid <= 0 || pid == peers[0] || pid == peers[1] || pid == peers[2] ||
          !g_file_get_contents (path, &stat, NULL, NULL) || (after_comm = strrchr (stat, ')')) == NULL ||
          sscanf (after_comm + 2, "%*c %d", &ppid) != 1 || ppid != getpid ())
        continue;
      found = pid;
      n++;
    }
  if (n != 1)
    g_error ("expected one helper process, found %u", n);
  return found;
}

/* Between the two readings of each process: only the sleep. */
static void
idle_cpu (RbPlugin *plugin,
          guint     seconds,
          double   *app_ms,
          double   *helper_ms,
          double   *helper_total_ms)
{
  gint64 app_before, app_after, helper_before, helper_after;
  pid_t helper;

  /* one sync and one async call, so that every thread exists */
  sync_echo (plugin, 1);
  async_echo (plugin, 1);
  helper = find_helper ();
  g_usleep (100000);  /* past the spin window */

  helper_before = process_cpu_ns (helper);
  app_before = process_cpu_ns (getpid ());
  g_usleep ((gulong) seconds * G_USEC_PER_SEC);
  app_after = process_cpu_ns (getpid ());
  helper_after = process_cpu_ns (helper);
  *app_ms = (app_after - app_before) / 1e6;
  *helper_ms = (helper_after - helper_before) / 1e6;
  *helper_total_ms = helper_after / 1e6;
}

typedef struct {
  Series total, crash, restart, first;
} Restarts;

static void
restart_cycles (RbPlugin *plugin,
                guint     n,
                Restarts *r)
{
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *crashed = NULL;
      g_autofree char *reply = NULL;
      gint64 t0, t1, t2, t3;

      t0 = g_get_monotonic_time ();
      crashed = rb_plugin_call (plugin, "segv", "{}", NULL, &error);
      if (crashed != NULL || !g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED))
        g_error ("the crash was not reported as CRASHED: %s", error ? error->message : "no error");
      /* The helper's watcher moves the plugin to FAILED: the call may
       * return first. */
      while (rb_plugin_get_state (plugin) != RB_LIFECYCLE_STATE_FAILED)
        {
          if (g_get_monotonic_time () - t0 > 10 * G_USEC_PER_SEC)
            g_error ("the plugin is not FAILED 10 s after its crash");
          g_main_context_iteration (NULL, FALSE);
          g_usleep (20);
        }
      t1 = g_get_monotonic_time ();
      g_clear_error (&error);
      if (!rb_plugin_restart (plugin, NULL, &error))
        g_error ("restart: %s", error->message);
      t2 = g_get_monotonic_time ();
      reply = rb_plugin_call (plugin, "echo", echo_request, NULL, &error);
      t3 = g_get_monotonic_time ();
      if (reply == NULL)
        g_error ("first call after restart: %s", error->message);
      add (&r->total, (t3 - t0) / 1000.0);
      add (&r->crash, (t1 - t0) / 1000.0);
      add (&r->restart, (t2 - t1) / 1000.0);
      add (&r->first, (t3 - t2) / 1000.0);
    }
}

int
main (int    argc,
      char **argv)
{
  guint n = 2000, async_n = 20000, mib_n = 10, idle_s = 10, rounds = 7;
  guint32 spin_ns = RB_WIRE_DEFAULT_SPIN_US * 1000;
  const char *env;
  Series fa = { 0 }, fb = { 0 }, fb0 = { 0 }, iso = { 0 }, iso0 = { 0 }, local = { 0 };
  Series r_fb = { 0 }, r_fa0 = { 0 }, r_fb0 = { 0 };
  Series iso_async = { 0 }, local_async = { 0 }, r_async = { 0 };
  Series mib_sock = { 0 }, mib_iso_json = { 0 }, mib_local_json = { 0 }, mib_iso_raw = { 0 }, mib_local_raw = { 0 };
  Restarts restarts = { 0 };
  g_autoptr(RbPlugin) iso_plugin = NULL;
  g_autoptr(RbPlugin) iso0_plugin = NULL;
  g_autoptr(RbPlugin) local_plugin = NULL;
  double app_ms, helper_ms, helper_total_ms, m_fa, m_fb, m_iso, m_iso0, m_async;

  if (argc < 2)
    {
      g_printerr ("usage: %s PLUGIN.so (tests/bench/librbbenchecho.so)\n", argv[0]);
      return 2;
    }
  if (g_getenv ("RB_BENCH_QUICK"))
    {
      n = 500;
      async_n = 2000;
      mib_n = 3;
      idle_s = 2;
      rounds = 3;
    }
  if ((env = g_getenv ("RB_BENCH_ROUNDS")) != NULL)
    rounds = CLAMP ((guint) atoi (env), 1, MAX_ROUNDS);
  /* The isolated plugin spins as long as $RB_ISOLATED_SPIN_US says: so
   * does the floor. */
  if ((env = g_getenv ("RB_ISOLATED_SPIN_US")) != NULL)
    spin_ns = (guint32) CLAMP (g_ascii_strtoll (env, NULL, 10), 0, 10000) * 1000;

  /* The peers first: fork() before any thread exists. */
  start_peers ();

  /* Idle first, while only one helper and no in-process plugin exist. */
  iso_plugin = plugin_new (argv[1], RB_ISOLATION_PROCESS, TRUE, async_n + 1);
  idle_cpu (iso_plugin, idle_s, &app_ms, &helper_ms, &helper_total_ms);
  iso0_plugin = plugin_new (argv[1], RB_ISOLATION_PROCESS, FALSE, 16);
  local_plugin = plugin_new (argv[1], RB_ISOLATION_NONE, TRUE, async_n + 1);
  /* warm up all paths */
  sync_echo (iso_plugin, n / 10);
  sync_echo (iso0_plugin, n / 10);
  sync_echo (local_plugin, n / 10);
  floor_socket (n / 10);
  floor_shm (n / 10, spin_ns);

  /* Interleaved rounds: each round measures every floor and the calls
   * they bound, so that the machine's load shifts hit them alike. */
  for (guint r = 0; r < rounds; r++)
    {
      double a = floor_socket (n);
      double b = floor_shm (n, spin_ns);
      double s = sync_echo (iso_plugin, n);
      double b0 = floor_shm (n, 0);
      double s0 = sync_echo (iso0_plugin, n);
      double ia, la;

      add (&fa, a);
      add (&fb, b);
      add (&iso, s);
      add (&fb0, b0);
      add (&iso0, s0);
      add (&local, sync_echo (local_plugin, n));
      add (&r_fb, s / b);
      add (&r_fb0, s0 / b0);
      add (&r_fa0, s0 / a);

      ia = async_echo (iso_plugin, async_n);
      la = async_echo (local_plugin, async_n);
      add (&iso_async, ia);
      add (&local_async, la);
      add (&r_async, ia / la);

      add (&mib_sock, floor_socket_mib (mib_n));
      add (&mib_iso_raw, mib_echo (iso_plugin, TRUE, mib_n));
      add (&mib_local_raw, mib_echo (local_plugin, TRUE, mib_n));
      add (&mib_iso_json, mib_echo (iso_plugin, FALSE, mib_n));
      add (&mib_local_json, mib_echo (local_plugin, FALSE, mib_n));
    }
  g_clear_object (&iso0_plugin);
  restart_cycles (iso_plugin, rounds + 3, &restarts);
  stop_peers ();

  m_fa = median (&fa);
  m_fb = median (&fb);
  m_iso = median (&iso);
  m_iso0 = median (&iso0);
  m_async = median (&r_async);
  g_print ("%u interleaved rounds of %u sync calls, %u async calls, %u x 1 MiB; spin window %u us; "
           "median (min..max)\n", rounds, n, async_n, mib_n, spin_ns / 1000);
  g_print ("floor (a) socketpair round trip, same bytes:    %7.2f us (%s)\n", m_fa / 1000, spread (&fa, 1e-3));
  g_print ("floor (b) shm ping-pong, same spin, same bytes: %7.2f us (%s)\n", m_fb / 1000, spread (&fb, 1e-3));
  g_print ("floor (b) without spinning (futex only):        %7.2f us (%s)\n", median (&fb0) / 1000,
           spread (&fb0, 1e-3));
  g_print ("in-process sync JSON echo:                      %7.2f us (%s)\n", median (&local) / 1000,
           spread (&local, 1e-3));
  g_print ("isolated sync JSON echo:                        %7.2f us (%s)\n", m_iso / 1000, spread (&iso, 1e-3));
  g_print ("  / floor (b): %.2fx (per round %s; target <= 5x): %s\n", median (&r_fb), spread (&r_fb, 1),
           verdict (median (&r_fb) <= 5));
  g_print ("  / floor (a): %.2fx (of the medians)\n", m_iso / m_fa);
  g_print ("isolated sync JSON echo, RB_ISOLATED_SPIN_US=0: %7.2f us (%s)\n", m_iso0 / 1000, spread (&iso0, 1e-3));
  g_print ("  / floor (a): %.2fx (per round %s; target <= 1.5x): %s\n", median (&r_fa0), spread (&r_fa0, 1),
           verdict (median (&r_fa0) <= 1.5));
  g_print ("  / floor (b) without spinning: %.2fx (per round %s)\n", median (&r_fb0), spread (&r_fb0, 1));
  g_print ("async pipelined echo: isolated %.0f calls/s (%s), in-process %.0f calls/s (%s)\n",
           median (&iso_async), spread (&iso_async, 1), median (&local_async), spread (&local_async, 1));
  g_print ("  isolated / in-process: %.2fx (per round %s; target >= 0.5x): %s\n", m_async, spread (&r_async, 1),
           verdict (m_async >= 0.5));
  g_print ("idle CPU over %u s: app %.3f ms, helper %.3f ms = %.3f ms per 10 s (target < 1 ms): %s\n", idle_s,
           app_ms, helper_ms, (app_ms + helper_ms) * 10 / idle_s, verdict ((app_ms + helper_ms) * 10 / idle_s < 1));
  g_print ("  (the helper's CPU since it started: %.1f ms)\n", helper_total_ms);
  g_print ("1 MiB each way, ms per call:\n");
  g_print ("  bare stream socketpair round trip (a copy through the socket): %6.3f (%s)\n", median (&mib_sock),
           spread (&mib_sock, 1));
  g_print ("  raw echo, isolated (memfd):   %6.3f (%s), in-process %6.3f (%s)\n", median (&mib_iso_raw),
           spread (&mib_iso_raw, 1), median (&mib_local_raw), spread (&mib_local_raw, 1));
  g_print ("  JSON echo, isolated (memfd):  %6.3f (%s), in-process %6.3f (%s)\n", median (&mib_iso_json),
           spread (&mib_iso_json, 1), median (&mib_local_json), spread (&mib_local_json, 1));
  g_print ("  raw isolated / socket copy: %.2fx (target < 1x, the memfd path beats the socket): %s\n",
           median (&mib_iso_raw) / median (&mib_sock), verdict (median (&mib_iso_raw) < median (&mib_sock)));
  g_print ("crash -> FAILED -> rb_plugin_restart() -> first successful call: %.2f ms (%s) over %d cycles\n",
           median (&restarts.total), spread (&restarts.total, 1), restarts.total.n);
  g_print ("  crashing call until CRASHED and FAILED %.2f ms, restart %.2f ms, first call %.2f ms (medians)\n",
           median (&restarts.crash), median (&restarts.restart), median (&restarts.first));
  return 0;
}
