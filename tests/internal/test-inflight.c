/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Admission of calls and the shutdown that waits for them
 * (rb-inflight-private.c), with per-thread slots + membarrier and with the
 * atomic counter fallback (RUSTBRIDGE_NO_MEMBARRIER, in a subprocess).
 */
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rb-inflight-private.h"
#include "rb-test-util.h"
#include "plugins/fixture-raw.h"

#define N_WORKERS 4

typedef struct {
  RbInflight in;
  gint       closed;       /* the "closed" state a waiter publishes */
  gint       waited;       /* set once the waiter saw no call inside */
  gint       inside;       /* workers between their check and their leave */
  gint       violations;   /* workers inside after the waiter was done */
  gint       started;
} Exclusion;

static gpointer
exclusion_worker (gpointer data)
{
  Exclusion *ex = data;

  g_atomic_int_inc (&ex->started);
  for (guint n = 1;; n++)
    {
      RbInflightSlot *ticket = rb_inflight_enter (&ex->in);
      gboolean closed = g_atomic_int_get (&ex->closed);

      if (!closed)
        {
          g_atomic_int_inc (&ex->inside);
          if (g_atomic_int_get (&ex->waited))
            g_atomic_int_inc (&ex->violations);
          g_atomic_int_add (&ex->inside, -1);
        }
      rb_inflight_leave (&ex->in, ticket);
      if (closed)
        return NULL;
      /* Spinning callers outnumber the cores: let the waiter run. */
      if (n % 64 == 0)
        g_thread_yield ();
    }
}

/* After wait_idle() returns TRUE, no call that saw the object open may
 * still be inside it. */
static void
test_exclusion (void)
{
  guint rounds = rb_test_scale (200);

  for (guint round = 0; round < rounds; round++)
    {
      Exclusion ex = { 0, };
      GThread *threads[N_WORKERS];

      rb_inflight_init (&ex.in);
      for (guint i = 0; i < N_WORKERS; i++)
        threads[i] = g_thread_new ("caller", exclusion_worker, &ex);
      while (g_atomic_int_get (&ex.started) < N_WORKERS)
        g_thread_yield ();
      g_usleep (g_test_rand_int_range (0, 500));

      g_atomic_int_set (&ex.closed, 1);
      g_assert_true (rb_inflight_wait_idle (&ex.in, G_MAXINT64));
      g_atomic_int_set (&ex.waited, 1);
      g_assert_cmpint (g_atomic_int_get (&ex.inside), ==, 0);

      for (guint i = 0; i < N_WORKERS; i++)
        g_thread_join (threads[i]);
      g_assert_cmpint (ex.violations, ==, 0);
      g_assert_true (rb_inflight_wait_idle (&ex.in, 0));
      rb_inflight_clear (&ex.in);
    }
}

typedef struct {
  RbInflight *in;
  GMutex      lock;
  GCond       cond;
  gboolean    entered;
  gboolean    release;
} Holder;

static gpointer
holding_worker (gpointer data)
{
  Holder *h = data;
  RbInflightSlot *ticket = rb_inflight_enter (h->in);

  g_mutex_lock (&h->lock);
  h->entered = TRUE;
  g_cond_broadcast (&h->cond);
  while (!h->release)
    g_cond_wait (&h->cond, &h->lock);
  g_mutex_unlock (&h->lock);

  rb_inflight_leave (h->in, ticket);
  return NULL;
}

/* A waiter gives up at its deadline, and is woken when the last call
 * leaves. */
static void
test_timeout_and_wake (void)
{
  RbInflight in;
  Holder h = { &in, };
  GThread *thread;
  gint64 start;

  rb_inflight_init (&in);
  g_mutex_init (&h.lock);
  g_cond_init (&h.cond);
  thread = g_thread_new ("holder", holding_worker, &h);

  g_mutex_lock (&h.lock);
  while (!h.entered)
    g_cond_wait (&h.cond, &h.lock);
  g_mutex_unlock (&h.lock);

  start = g_get_monotonic_time ();
  g_assert_false (rb_inflight_wait_idle (&in, start + 30 * G_TIME_SPAN_MILLISECOND));
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 30 * G_TIME_SPAN_MILLISECOND);

  g_mutex_lock (&h.lock);
  h.release = TRUE;
  g_cond_broadcast (&h.cond);
  g_mutex_unlock (&h.lock);
  g_assert_true (rb_inflight_wait_idle (&in, g_get_monotonic_time () + 60 * G_TIME_SPAN_SECOND));

  g_thread_join (thread);
  g_mutex_clear (&h.lock);
  g_cond_clear (&h.cond);
  rb_inflight_clear (&in);
}

/* A call inside a call on the same thread (the slot is taken) is counted
 * too, and both must leave before the object is idle. */
static void
test_nested (void)
{
  RbInflight outer, inner;
  RbInflightSlot *a, *b, *c;

  rb_inflight_init (&outer);
  rb_inflight_init (&inner);

  a = rb_inflight_enter (&outer);
  b = rb_inflight_enter (&inner);
  c = rb_inflight_enter (&outer);
  if (rb_inflight_uses_slots ())
    {
      g_assert_nonnull (a);
      g_assert_null (b);
      g_assert_null (c);
    }
  g_assert_false (rb_inflight_wait_idle (&outer, 0));
  g_assert_false (rb_inflight_wait_idle (&inner, 0));
  rb_inflight_leave (&outer, c);
  g_assert_false (rb_inflight_wait_idle (&outer, 0));
  rb_inflight_leave (&inner, b);
  g_assert_true (rb_inflight_wait_idle (&inner, 0));
  rb_inflight_leave (&outer, a);
  g_assert_true (rb_inflight_wait_idle (&outer, 0));

  rb_inflight_clear (&outer);
  rb_inflight_clear (&inner);
}

static gpointer
short_lived_worker (gpointer data)
{
  RbInflight *in = data;

  for (int i = 0; i < 10; i++)
    rb_inflight_leave (in, rb_inflight_enter (in));
  return NULL;
}

/* Threads that exit give their slots back (valgrind sees the frees). */
static void
test_thread_exit (void)
{
  RbInflight in;
  guint n = rb_test_scale (200);

  rb_inflight_init (&in);
  for (guint i = 0; i < n; i++)
    g_thread_join (g_thread_new ("short", short_lived_worker, &in));
  g_assert_true (rb_inflight_wait_idle (&in, 0));
  rb_inflight_clear (&in);
}

/* A forked child inherits the registry of slots (the parent's other
 * threads' included) and the membarrier registration, which Linux keeps
 * across fork(): waiting there must work, silently and at once. */
static void
test_after_fork (void)
{
  RbInflight in;
  pid_t pid;
  int status = 0;

  rb_inflight_init (&in);
  rb_inflight_leave (&in, rb_inflight_enter (&in));   /* this thread has a slot */
  g_assert_true (rb_inflight_wait_idle (&in, 0));

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      RbInflightSlot *ticket;
      gint64 start;

      /* Any warning is fatal in a test program: it makes the child abort. */
      ticket = rb_inflight_enter (&in);
      g_assert_false (rb_inflight_wait_idle (&in, 0));
      rb_inflight_leave (&in, ticket);
      start = g_get_monotonic_time ();
      if (!rb_inflight_wait_idle (&in, start + G_TIME_SPAN_SECOND))
        _exit (1);
      /* No fallback sleep either. */
      _exit (g_get_monotonic_time () - start < 5 * G_TIME_SPAN_MILLISECOND ? 0 : 2);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  rb_inflight_clear (&in);
}

/* ---- shutdown against calls on a real plugin ---------------------------- */

typedef struct {
  RbPlugin *plugin;
  gint     *calls;
  int       bad_errors;
} Caller;

static gpointer
racing_caller (gpointer data)
{
  Caller *c = data;
  FixtureRawEchoRequest req = { .version = 1, .value = 3 };
  g_autoptr(GBytes) request = g_bytes_new (&req, sizeof req);

  for (guint i = 0;; i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean ok;

      if (i % 2 == 0)
        {
          g_autofree char *reply = rb_plugin_call (c->plugin, "echo", "{\"message\":\"r\"}", NULL, &error);
          ok = reply != NULL;
        }
      else
        {
          g_autoptr(GBytes) reply = rb_plugin_call_raw (c->plugin, 1, request, NULL, &error);
          ok = reply != NULL;
        }
      g_atomic_int_inc (c->calls);
      if (!ok)
        {
          if (!g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
            c->bad_errors++;
          return NULL;
        }
    }
}

/* Calls racing a shutdown either finish or fail with INVALID_STATE; none
 * reaches the plugin with its stale handle. */
static void
test_shutdown_races_calls (void)
{
  guint rounds = rb_test_scale (50);
  guint64 stale_before;

  if (rb_test_skip_if_missing (RB_TEST_FIXTURE))
    return;
  stale_before = rb_test_fixture_stale_handle_uses ();

  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(RbPlugin) plugin = rb_test_load (RB_TEST_FIXTURE, NULL);
      g_autoptr(GError) error = NULL;
      GThread *threads[N_WORKERS];
      Caller callers[N_WORKERS];
      gint calls = 0;

      for (guint i = 0; i < N_WORKERS; i++)
        {
          callers[i] = (Caller) { plugin, &calls, 0 };
          threads[i] = g_thread_new ("caller", racing_caller, &callers[i]);
        }
      while (g_atomic_int_get (&calls) < (gint) (round % 7) * 10)
        g_thread_yield ();

      g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < N_WORKERS; i++)
        {
          g_thread_join (threads[i]);
          g_assert_cmpint (callers[i].bad_errors, ==, 0);
        }
      g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);
    }

  g_assert_cmpuint (rb_test_fixture_stale_handle_uses (), ==, stale_before);
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, 0);
}

/* The same tests with the atomic counter instead of slots. */
static void
test_counter_fallback (gconstpointer data)
{
  const char *path = data;

  g_setenv ("RUSTBRIDGE_NO_MEMBARRIER", "1", TRUE);
  g_test_trap_subprocess (path, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("RUSTBRIDGE_NO_MEMBARRIER");
  g_test_trap_assert_passed ();
}

static void
test_mode (void)
{
  g_test_message ("per-thread slots with membarrier: %s", rb_inflight_uses_slots () ? "yes" : "no");
  if (g_getenv ("RUSTBRIDGE_NO_MEMBARRIER") != NULL)
    g_assert_false (rb_inflight_uses_slots ());
#ifdef __linux__
  /* Linux >= 4.14 has expedited private membarrier; valgrind may hide it. */
  else if (g_getenv ("RB_TEST_UNDER_VALGRIND") == NULL)
    g_assert_true (rb_inflight_uses_slots ());
#endif
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  g_test_add_func ("/inflight/mode", test_mode);
  g_test_add_func ("/inflight/exclusion", test_exclusion);
  g_test_add_func ("/inflight/timeout-and-wake", test_timeout_and_wake);
  g_test_add_func ("/inflight/nested", test_nested);
  g_test_add_func ("/inflight/thread-exit", test_thread_exit);
  g_test_add_func ("/inflight/after-fork", test_after_fork);
  g_test_add_func ("/inflight/shutdown-races-calls", test_shutdown_races_calls);
  g_test_add_data_func ("/inflight/counter/mode", "/inflight/mode", test_counter_fallback);
  g_test_add_data_func ("/inflight/counter/exclusion", "/inflight/exclusion", test_counter_fallback);
  g_test_add_data_func ("/inflight/counter/nested", "/inflight/nested", test_counter_fallback);
  g_test_add_data_func ("/inflight/counter/shutdown-races-calls", "/inflight/shutdown-races-calls",
                        test_counter_fallback);

  return g_test_run ();
}
