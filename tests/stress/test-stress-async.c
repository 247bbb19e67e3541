/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Stress: async calls with random cancellation; sync, raw and async calls
 * from eight threads racing a shutdown; dispose and unref with calls in
 * flight and logs queued, from the owner thread and from another one.
 *
 * Budgets are iteration counts (see rb_stress_count: RB_STRESS_SCALE
 * multiplies them, the memcheck setup divides them), never wall-clock
 * limits. GTest's --seed reproduces the random choices of a run.
 */
#include <string.h>

#include "stress-util.h"
#include "plugins/fixture-raw.h"

static RbPluginConfig *
config_new (guint threads,
            guint max_queued)
{
  RbPluginConfig *config = rb_plugin_config_new ();

  g_object_set (config, "worker-threads", threads, "max-queued-calls", max_queued, NULL);
  return config;
}

/* The counters of the fixture plugin, to compare before and after. */
typedef struct {
  guint64 outstanding;
  guint64 stale;
} FixtureCounters;

static FixtureCounters
fixture_counters (void)
{
  FixtureCounters c = { rb_test_fixture_outstanding (), rb_test_fixture_stale_handle_uses () };
  return c;
}

static void
assert_fixture_counters (RbTestPluginKind kind,
                         FixtureCounters  before)
{
  /* Every buffer the plugin handed out was freed, once; no call reached
   * it with a handle it had already forgotten. Only the fixture counts. */
  if (kind != RB_TEST_FIXTURE)
    return;
  g_assert_cmpuint (rb_test_fixture_outstanding (), ==, before.outstanding);
  g_assert_cmpuint (rb_test_fixture_stale_handle_uses (), ==, before.stale);
}

/* Drops the last reference of a tracked plugin and waits until it and
 * every other tracked object are gone. */
static void
release_and_check_none_alive (RbPlugin *plugin)
{
  g_object_unref (plugin);
  g_assert_cmpuint (rb_stress_await_none_alive (5000), ==, 0);
}

/* ------------------------------------------------------------------ */
/* Async calls with random cancellation                                */

enum {
  CANCEL_NONE,          /* no cancellable */
  CANCEL_BEFORE,        /* cancelled before the call is made */
  CANCEL_AFTER_SUBMIT,  /* cancelled right after rb_plugin_call_async() */
  CANCEL_OTHER_THREAD,  /* cancelled by another thread, whenever it gets to it */
  CANCEL_NEVER,         /* a cancellable that is never cancelled */
  N_CANCEL_MODES
};

typedef struct _Storm Storm;

typedef struct {
  Storm         *storm;
  guint          index;
  guint8         mode;
  guint8         callbacks;    /* owner thread only */
  gboolean       sleep;        /* a short test.sleep rather than an echo */
  GCancellable  *cancellable;  /* ours until the callback */
} CallRec;

struct _Storm {
  CallRec  *recs;
  guint     n;
  guint     done;
  guint     ok;
  guint     cancelled;
  guint     bad;
  char     *first_bad;
};

static void
storm_bad (Storm      *storm,
           const char *format,
           ...) G_GNUC_PRINTF (2, 3);

static void
storm_bad (Storm      *storm,
           const char *format,
           ...)
{
  va_list args;

  storm->bad++;
  if (storm->first_bad != NULL)
    return;
  va_start (args, format);
  storm->first_bad = g_strdup_vprintf (format, args);
  va_end (args);
}

static void
storm_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      data)
{
  CallRec *rec = data;
  Storm *storm = rec->storm;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  rb_stress_track (result);
  rec->callbacks++;
  storm->done++;

  if (reply != NULL)
    {
      g_autofree char *message = g_strdup_printf ("c%u", rec->index);
      g_autofree char *expected = rec->sleep ? g_strdup ("{\"slept_ms\":2}")
                                             : g_strdup_printf ("{\"message\":\"%s\",\"length\":%zu}",
                                                                message, strlen (message));

      if (rec->mode == CANCEL_BEFORE)
        storm_bad (storm, "call %u ran although it was cancelled before it was made", rec->index);
      else if (strcmp (reply, expected) != 0)
        storm_bad (storm, "call %u: reply %s, expected %s", rec->index, reply, expected);
      else
        storm->ok++;
    }
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
           rec->mode != CANCEL_NONE && rec->mode != CANCEL_NEVER)
    storm->cancelled++;
  else
    storm_bad (storm, "call %u (mode %u) failed: %s", rec->index, rec->mode,
               error != NULL ? error->message : "(no error set)");

  /* Often the last reference of the cancellable (with the task's): a
   * queued call must hold its own (issue 9, item 2). */
  g_clear_object (&rec->cancellable);
}

typedef struct {
  GAsyncQueue *queue;
  guint32      seed;
} Canceller;

/* Cancels what it is given, in order, with an occasional yield so that
 * the cancellations land at every stage of the calls. */
static gpointer
canceller_thread (gpointer data)
{
  Canceller *canceller = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (canceller->seed);

  for (;;)
    {
      GCancellable *cancellable = g_async_queue_pop (canceller->queue);

      if (cancellable == (gpointer) canceller)
        break;
      if (g_rand_int_range (rand, 0, 4) == 0)
        g_thread_yield ();
      g_cancellable_cancel (cancellable);
      g_object_unref (cancellable);
    }
  return NULL;
}

static void
test_random_cancel (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  /* The Rust plugin's calls cost more (JSON parsing, a runtime): a fifth. */
  guint n = rb_stress_count (kind == RB_TEST_FIXTURE ? 100000 : 20000,
                             kind == RB_TEST_FIXTURE ? 3000 : 600);
  const guint window = 1024;
  /* A cancelled call keeps its place in the queue (max-queued-calls)
   * until a worker drops it, though its callback ran: no limit here. */
  g_autoptr(RbPluginConfig) config = config_new (2, G_MAXINT32);
  RbPlugin *plugin;
  Storm storm = { 0 };
  Canceller canceller = { g_async_queue_new (), (guint32) g_test_rand_int () };
  GThread *thread;
  FixtureCounters before = fixture_counters ();
  guint per_mode[N_CANCEL_MODES] = { 0 };
  gint64 start;

  if (rb_test_skip_if_missing (kind))
    {
      g_async_queue_unref (canceller.queue);
      return;
    }
  g_assert_cmpuint (rb_stress_alive (), ==, 0);
  plugin = rb_stress_track (rb_test_load (kind, config));
  storm.recs = g_new0 (CallRec, n);
  storm.n = n;
  thread = g_thread_new ("canceller", canceller_thread, &canceller);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      CallRec *rec = &storm.recs[i];
      g_autofree char *request = g_strdup_printf ("{\"message\":\"c%u\"}", i);

      rec->storm = &storm;
      rec->index = i;
      /* Now and then a call that keeps a worker busy for a moment: the
       * calls behind it wait in the queue, and the cancelled ones among
       * them complete (and may lose their last cancellable reference)
       * before a worker takes them — also when valgrind runs one thread
       * at a time. */
      rec->sleep = i % 128 < 2;  /* one for each worker */
      rec->mode = rec->sleep ? CANCEL_NONE : (guint8) rb_stress_random (N_CANCEL_MODES);
      per_mode[rec->mode]++;
      if (rec->mode != CANCEL_NONE)
        rec->cancellable = rb_stress_track (g_cancellable_new ());
      if (rec->mode == CANCEL_BEFORE)
        g_cancellable_cancel (rec->cancellable);

      rb_plugin_call_async (plugin, rec->sleep ? "test.sleep" : "echo",
                            rec->sleep ? "{\"duration_ms\":2}" : request,
                            rec->cancellable, storm_cb, rec);

      if (rec->mode == CANCEL_AFTER_SUBMIT)
        g_cancellable_cancel (rec->cancellable);
      else if (rec->mode == CANCEL_OTHER_THREAD)
        g_async_queue_push (canceller.queue, g_object_ref (rec->cancellable));

      /* Deliver what is ready now and then, and keep a window of calls
       * in flight: the queue stays long, so that many cancellations
       * complete calls that no worker has taken yet. */
      if (i % 16 == 0)
        g_main_context_iteration (NULL, FALSE);
      while (i + 1 - storm.done >= window)
        g_main_context_iteration (NULL, TRUE);
    }
  while (storm.done < n)
    g_main_context_iteration (NULL, TRUE);
  rb_stress_report (kind == RB_TEST_FIXTURE ? "async calls (fixture)" : "async calls (rust)", start, n);
  g_test_message ("modes none/before/after-submit/other-thread/never: %u/%u/%u/%u/%u; "
                  "%u replies, %u cancelled", per_mode[0], per_mode[1], per_mode[2], per_mode[3],
                  per_mode[4], storm.ok, storm.cancelled);

  g_async_queue_push (canceller.queue, &canceller);
  g_thread_join (thread);
  g_async_queue_unref (canceller.queue);

  /* Late completions (a cancelled call's worker result) come after. */
  rb_test_iterate_for (50);
  if (storm.first_bad != NULL)
    g_test_message ("first bad outcome: %s", storm.first_bad);
  g_assert_cmpuint (storm.bad, ==, 0);
  g_assert_cmpuint (storm.ok + storm.cancelled, ==, n);
  for (guint i = 0; i < n; i++)
    if (storm.recs[i].callbacks != 1)
      g_error ("call %u: %u callbacks", i, storm.recs[i].callbacks);

  release_and_check_none_alive (plugin);
  assert_fixture_counters (kind, before);
  g_free (storm.first_bad);
  g_free (storm.recs);
}

/* ------------------------------------------------------------------ */
/* Eight threads of sync and raw calls racing a shutdown               */

#define N_RACERS 8

typedef struct {
  RbPlugin *plugin;
  guint32   seed;
  guint     ok;
  guint     refused;
  guint     bad;
  char     *first_bad;
} Racer;

static void
racer_bad (Racer      *racer,
           const char *what,
           GError     *error)
{
  racer->bad++;
  if (racer->first_bad == NULL)
    racer->first_bad = g_strdup_printf ("%s: %s", what, error != NULL ? error->message : "wrong reply");
}

static gpointer
racer_thread (gpointer data)
{
  Racer *racer = data;
  g_autoptr(GRand) rand = g_rand_new_with_seed (racer->seed);
  gboolean sync_refused = FALSE, raw_refused = FALSE;
  /* valgrind runs one thread at a time: racers that never pause starve
   * the shutdown they race (20–40 s a round); a short sleep keeps calls
   * in flight across it all the same. */
  gulong pause_us = g_getenv ("RB_TEST_UNDER_VALGRIND") != NULL ? 20 : 0;

  for (guint i = 0; !sync_refused || !raw_refused; i++)
    {
      if (pause_us > 0)
        g_usleep (pause_us);
      if (!sync_refused)
        {
          g_autoptr(GError) error = NULL;
          g_autofree char *message = g_strdup_printf ("r%u", i);
          g_autofree char *request = g_strdup_printf ("{\"message\":\"%s\"}", message);
          g_autofree char *expected = g_strdup_printf ("{\"message\":\"%s\",\"length\":%zu}",
                                                       message, strlen (message));
          /* One call in eight ignores errors (GError ** = NULL). */
          gboolean ignore = g_rand_int_range (rand, 0, 8) == 0;
          g_autofree char *reply = rb_plugin_call (racer->plugin, "echo", request, NULL,
                                                   ignore ? NULL : &error);

          if (reply != NULL && strcmp (reply, expected) == 0)
            racer->ok++;
          else if (reply != NULL)
            racer_bad (racer, "sync", NULL);
          else if (ignore ? rb_plugin_get_state (racer->plugin) != RB_LIFECYCLE_STATE_ACTIVE
                          : g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
            {
              racer->refused++;
              sync_refused = TRUE;
            }
          else
            racer_bad (racer, "sync", error);
        }
      if (!raw_refused)
        {
          g_autoptr(GError) error = NULL;
          FixtureRawEchoRequest req = { .version = 1, .value = i };
          g_autoptr(GBytes) request = NULL;
          g_autoptr(GBytes) reply = NULL;
          const FixtureRawEchoResponse *resp;
          gsize size;

          g_snprintf (req.text, sizeof req.text, "raw %u", i);
          request = g_bytes_new (&req, sizeof req);
          reply = rb_plugin_call_raw (racer->plugin, 1, request, NULL, &error);
          if (reply != NULL)
            {
              resp = g_bytes_get_data (reply, &size);
              if (size == sizeof *resp && resp->value_times_two == i * 2 &&
                  resp->text_len == strlen (req.text) && memcmp (resp->text, req.text, resp->text_len) == 0)
                racer->ok++;
              else
                racer_bad (racer, "raw", NULL);
            }
          else if (g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
            {
              racer->refused++;
              raw_refused = TRUE;
            }
          else
            racer_bad (racer, "raw", error);
        }
    }
  return NULL;
}

typedef struct {
  guint done;
  guint ok;
  guint refused;
  guint bad;
} AsyncTally;

static void
race_async_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      data)
{
  AsyncTally *tally = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  if (g_strcmp0 (reply, "{\"message\":\"a\",\"length\":1}") == 0)
    tally->ok++;
  else if (g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
    tally->refused++;
  else
    tally->bad++;
  tally->done++;
}

static gpointer
shutdown_thread (gpointer data)
{
  g_autoptr(GError) error = NULL;

  if (!rb_plugin_shutdown (data, NULL, &error))
    g_error ("shutdown failed: %s", error->message);
  return NULL;
}

static void
shutdown_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (rb_plugin_shutdown_finish (RB_PLUGIN (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) data = TRUE;
}

static void
test_race_shutdown (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  guint rounds = rb_stress_count (kind == RB_TEST_FIXTURE ? 40 : 15, 3);
  guint total_ok = 0, total_refused = 0, total_async = 0;
  gint64 start;

  if (rb_test_skip_if_missing (kind))
    return;

  start = g_get_monotonic_time ();
  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(RbPluginConfig) config = config_new (2, 100000);
      FixtureCounters before = fixture_counters ();
      RbPlugin *plugin = rb_stress_track (rb_test_load (kind, config));
      Racer racers[N_RACERS] = { 0 };
      GThread *threads[N_RACERS];
      AsyncTally tally = { 0 };
      guint submitted = 0;
      guint how = rb_stress_random (4);
      gint64 until = g_get_monotonic_time () + 1000 * (1 + rb_stress_random (20));
      gboolean shut = FALSE;

      for (guint i = 0; i < N_RACERS; i++)
        {
          racers[i].plugin = plugin;
          racers[i].seed = (guint32) g_test_rand_int ();
          threads[i] = g_thread_new ("racer", racer_thread, &racers[i]);
        }
      /* Async calls from the owner thread while the racers run: the
       * budget is a few milliseconds, whatever gets done in that time. */
      do
        {
          for (guint j = 0; j < 16; j++, submitted++)
            rb_plugin_call_async (plugin, "echo", "{\"message\":\"a\"}", NULL, race_async_cb, &tally);
          g_main_context_iteration (NULL, FALSE);
        }
      while (g_get_monotonic_time () < until);

      switch (how)
        {
        case 0:
          g_assert_true (rb_plugin_shutdown (plugin, NULL, NULL));
          shut = TRUE;
          break;
        case 1:
          rb_plugin_shutdown_async (plugin, NULL, shutdown_done_cb, &shut);
          break;
        case 2:
          g_thread_join (g_thread_new ("shutdown", shutdown_thread, plugin));
          shut = TRUE;
          break;
        default:
          /* What a binding's garbage collector may do. */
          g_object_run_dispose (G_OBJECT (plugin));
          shut = TRUE;
          break;
        }
      /* Calls after the shutdown was requested are refused. */
      for (guint j = 0; j < 16; j++, submitted++)
        rb_plugin_call_async (plugin, "echo", "{\"message\":\"a\"}", NULL, race_async_cb, &tally);

      for (guint i = 0; i < N_RACERS; i++)
        {
          g_thread_join (threads[i]);
          if (racers[i].first_bad != NULL)
            g_test_message ("round %u racer %u: %s", round, i, racers[i].first_bad);
          g_assert_cmpuint (racers[i].bad, ==, 0);
          g_assert_cmpuint (racers[i].refused, ==, 2);
          total_ok += racers[i].ok;
          total_refused += racers[i].refused;
          g_free (racers[i].first_bad);
        }
      rb_test_wait_until (&shut, 10000);
      while (tally.done < submitted)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (tally.bad, ==, 0);
      g_assert_cmpuint (tally.ok + tally.refused, ==, submitted);
      /* An async shutdown may start after the last calls were admitted. */
      if (how != 1)
        g_assert_cmpuint (tally.refused, >=, 16);
      total_async += submitted;
      g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_STOPPED);

      release_and_check_none_alive (plugin);
      assert_fixture_counters (kind, before);
    }
  rb_stress_report ("shutdown races (rounds)", start, rounds);
  g_test_message ("%u sync/raw calls answered, %u refused; %u async calls",
                  total_ok, total_refused, total_async);
}

/* ------------------------------------------------------------------ */
/* Dispose and unref with calls in flight and logs queued              */

typedef struct {
  guint done;
  guint bad;
} DisposeTally;

static void
dispose_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  DisposeTally *tally = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *reply = rb_plugin_call_finish (RB_PLUGIN (source), result, &error);

  /* Answered, refused after the dispose, or cancelled. */
  if (reply == NULL &&
      !g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_test_message ("unexpected error: %s", error->message);
      tally->bad++;
    }
  tally->done++;
}

static gpointer
unref_thread (gpointer data)
{
  g_object_unref (data);
  return NULL;
}

static gpointer
dispose_thread (gpointer data)
{
  g_object_run_dispose (data);
  g_object_unref (data);
  return NULL;
}

static void
test_dispose_in_flight (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  guint rounds = rb_stress_count (kind == RB_TEST_FIXTURE ? 60 : 20, 4);
  gint64 start;

  if (rb_test_skip_if_missing (kind))
    return;

  start = g_get_monotonic_time ();
  for (guint round = 0; round < rounds; round++)
    {
      g_autoptr(RbPluginConfig) config = config_new (1 + rb_stress_random (3), 10000);
      FixtureCounters before = fixture_counters ();
      RbPlugin *plugin = rb_stress_track (rb_test_load (kind, config));
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      DisposeTally tally = { 0 };
      guint n_calls = 20 + rb_stress_random (60);
      guint how = rb_stress_random (4);
      g_autofree char *reply = NULL;

      for (guint i = 0; i < n_calls; i++)
        {
          switch (rb_stress_random (4))
            {
            case 0:
              rb_plugin_call_async (plugin, "test.sleep", "{\"duration_ms\":1}",
                                    i % 2 ? cancellable : NULL, dispose_cb, &tally);
              break;
            case 1:
              rb_plugin_call_async (plugin, "log.emit",
                                    "{\"count\":50,\"level\":\"info\",\"message\":\"in flight\",\"thread\":true}",
                                    NULL, dispose_cb, &tally);
              break;
            default:
              rb_plugin_call_async (plugin, "echo", "{\"message\":\"x\"}",
                                    i % 3 ? NULL : cancellable, dispose_cb, &tally);
              break;
            }
        }
      /* Logs queued for the owner context, which does not run here. */
      reply = rb_plugin_call (plugin, "log.emit", "{\"count\":200,\"level\":\"info\",\"message\":\"queued\"}",
                              NULL, NULL);
      g_assert_nonnull (reply);

      switch (how)
        {
        case 0:
          g_object_unref (plugin);
          break;
        case 1:
          g_thread_join (g_thread_new ("unref", unref_thread, plugin));
          break;
        case 2:
          g_thread_join (g_thread_new ("dispose", dispose_thread, plugin));
          break;
        default:
          g_object_run_dispose (G_OBJECT (plugin));
          g_cancellable_cancel (cancellable);
          g_object_unref (plugin);
          break;
        }
      if (rb_stress_random (2) == 0)
        g_cancellable_cancel (cancellable);

      while (tally.done < n_calls)
        g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (tally.bad, ==, 0);
      g_clear_object (&cancellable);
      g_assert_cmpuint (rb_stress_await_none_alive (5000), ==, 0);
      assert_fixture_counters (kind, before);
    }
  rb_stress_report ("dispose with calls in flight (rounds)", start, rounds);
}

int
main (int   argc,
      char *argv[])
{
  rb_test_init (&argc, &argv);

  rb_test_add_both ("/stress/async/random-cancel", test_random_cancel);
  rb_test_add_both ("/stress/async/race-shutdown", test_race_shutdown);
  rb_test_add_both ("/stress/async/dispose-in-flight", test_dispose_in_flight);

  return g_test_run ();
}
