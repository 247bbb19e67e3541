/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The out-of-process back end (rb-isolated-private.h) on its own: calls
 * through rustbridge-glib-host-1.0 give what the in-process path gives;
 * a helper that crashes, hangs, speaks garbage or outlives its app is
 * contained. RUSTBRIDGE_HOST_PATH (set by meson) points at the build
 * tree's helper; RB_FAKE_HOST at a hostile stand-in.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rustbridge-glib.h>

#include "../plugins/fixture-raw.h"
#include "../rb-test-util.h"
#include "rb-isolated-private.h"
#include "rb-isolated-wire-private.h"

/* ---- a recorder for logs, deaths and async completions ------------------ */

typedef struct {
  GMutex      lock;
  GCond       cond;
  GPtrArray  *logs;       /* "level:target:message" */
  guint       deaths;
  char       *death_message;
  guint       done;
  GPtrArray  *payloads;   /* char * or NULL */
  GPtrArray  *errors;     /* GError * or NULL */
} Recorder;

static void
free_error (gpointer error)
{
  if (error != NULL)
    g_error_free (error);
}

static Recorder *
recorder_new (void)
{
  Recorder *r = g_new0 (Recorder, 1);

  g_mutex_init (&r->lock);
  g_cond_init (&r->cond);
  r->logs = g_ptr_array_new_with_free_func (g_free);
  r->payloads = g_ptr_array_new_with_free_func (g_free);
  r->errors = g_ptr_array_new_with_free_func (free_error);
  return r;
}

static void
recorder_free (Recorder *r)
{
  g_ptr_array_unref (r->logs);
  g_ptr_array_unref (r->payloads);
  g_ptr_array_unref (r->errors);
  g_free (r->death_message);
  g_mutex_clear (&r->lock);
  g_cond_clear (&r->cond);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Recorder, recorder_free)

#define ERR(r, i) ((GError *) g_ptr_array_index ((r)->errors, (i)))

static void
on_log (gpointer    user_data,
        guint8      level,
        const char *target,
        const char *message,
        gsize       message_len)
{
  Recorder *r = user_data;

  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->logs, g_strdup_printf ("%u:%s:%.*s", level, target, (int) message_len, message));
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
}

static void
on_died (gpointer      user_data,
         const GError *error)
{
  Recorder *r = user_data;

  g_mutex_lock (&r->lock);
  r->deaths++;
  g_free (r->death_message);
  r->death_message = g_strdup (error->message);
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
}

static void
on_done (gpointer  user_data,
         char     *payload,
         GBytes   *bytes,
         GError   *error)
{
  Recorder *r = user_data;

  g_mutex_lock (&r->lock);
  if (bytes != NULL)
    {
      payload = g_strdup_printf ("bytes:%" G_GSIZE_FORMAT, g_bytes_get_size (bytes));
      g_bytes_unref (bytes);
    }
  g_ptr_array_add (r->payloads, payload);
  g_ptr_array_add (r->errors, error);
  r->done++;
  g_cond_broadcast (&r->cond);
  g_mutex_unlock (&r->lock);
}

/* Waits (5 s at most) until *@counter reaches @n. */
static void
recorder_wait (Recorder *r,
               guint    *counter,
               guint     n)
{
  gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_mutex_lock (&r->lock);
  while (*counter < n)
    if (!g_cond_wait_until (&r->cond, &r->lock, end))
      break;
  g_assert_cmpuint (*counter, >=, n);
  g_mutex_unlock (&r->lock);
}

static RbIsolated *
start (const char  *path,
       const char  *config,
       guint        timeout_ms,
       Recorder    *r,
       GError     **error)
{
  RbIsolatedOptions options = { 0 };

  options.call_timeout_ms = timeout_ms;
  options.spin_us = -1;
  options.log_func = on_log;
  options.died_func = on_died;
  options.user_data = r;
  return rb_isolated_new (path, config, config ? strlen (config) : 0, &options, error);
}

static RbIsolated *
start_ok (const char *path,
          guint       timeout_ms,
          Recorder   *r)
{
  g_autoptr(GError) error = NULL;
  RbIsolated *iso = start (path, "{}", timeout_ms, r, &error);

  g_assert_no_error (error);
  g_assert_nonnull (iso);
  return iso;
}

static const char *
fixture (void)
{
  return rb_test_plugin_path (RB_TEST_FIXTURE);
}

/* The pid is reaped (not a zombie of ours) and gone. */
static void
assert_reaped (GPid pid)
{
  g_assert_cmpint (waitpid (pid, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);
}

/* ---- calls ------------------------------------------------------------- */

/* Every response form of the fixture plugin gives the same payload or the
 * same error (domain, code) as the in-process path. */
static void
test_json_like_in_process (void)
{
  static const struct { const char *tag, *request; } cases[] = {
    { "echo", "{\"message\":\"héllo\"}" },
    { "math.add", "{\"a\":40,\"b\":2}" },
    { "payload.string", "{}" }, { "payload.null", "{}" }, { "payload.array", "{}" },
    { "payload.number", "{}" }, { "payload.nested", "{}" },
    { "whitespace.envelope", "{}" }, { "reordered.envelope", "{}" },
    { "handler.fail", "{}" }, { "no.such.tag", "{}" }, { "echo", "[1]" },
    { "bad.notjson", "{}" }, { "bad.missing_payload", "{}" }, { "bad.truncated", "{}" },
    { "bad.nul", "{}" }, { "bad.trailing", "{}" }, { "bad.status", "{}" }, { "bad.empty", "{}" },
    { "bad.error_no_message", "{}" }, { "bad.error_code_mismatch", "{}" },
    { "bad.unknown_code", "{}" }, { "bad.invalid_utf8", "{}" },
  };
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  g_autoptr(RbPlugin) local = rb_test_load (RB_TEST_FIXTURE, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) e1 = NULL, e2 = NULL;
      g_autofree char *p1 = rb_isolated_call (iso, cases[i].tag, cases[i].request,
                                              strlen (cases[i].request), &e1);
      g_autofree char *p2 = rb_plugin_call (local, cases[i].tag, cases[i].request, NULL, &e2);

      g_test_message ("%s: %s / %s", cases[i].tag, p1 ? p1 : e1->message, p2 ? p2 : e2->message);
      g_assert_cmpstr (p1, ==, p2);
      if (e2 != NULL)
        g_assert_error (e1, e2->domain, e2->code);
      else
        g_assert_no_error (e1);
    }

  /* NULL GError everywhere. */
  g_assert_null (rb_isolated_call (iso, "handler.fail", "{}", 2, NULL));
  g_assert_cmpuint (rb_isolated_get_state (iso), ==, 2);
  g_assert_cmpuint (rb_isolated_get_rejected_count (iso), ==, 0);
  g_assert_true (rb_isolated_shutdown (iso, 5000, NULL));
  g_assert_cmpuint (r->deaths, ==, 0);
}

static void
test_raw (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  g_autoptr(GError) error = NULL;
  FixtureRawEchoRequest req = { 1, { 0 }, 21, "raw text" };
  const FixtureRawEchoResponse *resp;
  g_autoptr(GBytes) bytes = NULL;
  gsize size;

  g_assert_true (rb_isolated_has_raw (iso));
  bytes = rb_isolated_call_raw (iso, 1, &req, sizeof req, &error);
  g_assert_no_error (error);
  resp = g_bytes_get_data (bytes, &size);
  g_assert_cmpuint (size, ==, sizeof *resp);
  g_assert_cmpuint (resp->value_times_two, ==, 42);
  g_assert_cmpmem (resp->text, resp->text_len, "raw text", 8);

  g_assert_null (rb_isolated_call_raw (iso, 99, &req, sizeof req, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_UNKNOWN_MESSAGE);
  g_clear_error (&error);
  g_assert_null (rb_isolated_call_raw (iso, 1, &req, 3, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
}

static void
test_raw_not_supported (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (rb_test_env_path ("RB_FIXTURE_NORAW_PLUGIN"), 0, r);
  g_autoptr(GError) error = NULL;

  g_assert_false (rb_isolated_has_raw (iso));
  g_assert_null (rb_isolated_call_raw (iso, 1, "x", 1, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED);
}

/* Requests and replies too big for a slot travel as sealed memfds. */
static void
test_big_payloads (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_malloc (200001);
  g_autofree char *request = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *expected = NULL;

  memset (text, 'q', 200000);
  text[200000] = '\0';
  request = g_strdup_printf ("{\"message\":\"%s\"}", text);
  payload = rb_isolated_call (iso, "echo", request, strlen (request), &error);
  g_assert_no_error (error);
  expected = g_strdup_printf ("{\"message\":\"%s\",\"length\":200000}", text);
  g_assert_cmpstr (payload, ==, expected);
  g_clear_pointer (&payload, g_free);

  payload = rb_isolated_call (iso, "payload.huge", "{\"size\":1048576}", 16, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (payload), ==, 1048576 + 2);
}

/* An echo of @n bytes of @c through the fixture's JSON "echo". */
static void
check_echo (RbIsolated *iso,
            gsize       n,
            char        c)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_malloc (n + 1);
  g_autofree char *request = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *expected = NULL;

  memset (text, c, n);
  text[n] = '\0';
  request = g_strdup_printf ("{\"message\":\"%s\"}", text);
  payload = rb_isolated_call (iso, "echo", request, strlen (request), &error);
  g_assert_no_error (error);
  expected = g_strdup_printf ("{\"message\":\"%s\",\"length\":%" G_GSIZE_FORMAT "}", text, n);
  g_assert_cmpuint (strlen (payload), ==, strlen (expected));
  g_assert_true (strcmp (payload, expected) == 0);
}

/* Big requests and replies of many sizes: across the slot's capacity
 * (request and reply, whose envelope is longer), through a region, and
 * beyond the largest region (a memfd per call). Raw too. */
static void
test_big_sizes (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  static const gsize big[] = {
    RB_REGION_MIN_SIZE - 1, RB_REGION_MIN_SIZE, 1024 * 1024, 1024 * 1024 + 1, 3 * 1024 * 1024,
    16 * 1024 * 1024, RB_REGION_MAX_SIZE - 64, RB_REGION_MAX_SIZE + 1, 100000, 1024 * 1024,
  };
  g_autofree guint8 *raw = g_malloc0 (2 * 1024 * 1024);
  gsize request_overhead = strlen ("{\"message\":\"\"}") + strlen ("echo") + 1;

  /* The request crosses the slot's capacity; so, a little earlier,
   * does the reply (its envelope is longer than the request). */
  for (gsize n = RB_SLOT_CAPACITY - request_overhead - 160; n <= RB_SLOT_CAPACITY - request_overhead + 2; n++)
    check_echo (iso, n, 'a' + n % 26);
  for (gsize i = 0; i < G_N_ELEMENTS (big); i++)
    {
      g_test_message ("echo of %" G_GSIZE_FORMAT " bytes", big[i]);
      check_echo (iso, big[i], 'A' + i);
    }

  /* A big raw request: the fixture wants 64 bytes, so this is an error
   * reply, after a round trip through a region. */
  for (gsize i = 0; i < 3; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_null (rb_isolated_call_raw (iso, 1, raw, 2 * 1024 * 1024 - i, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION);
    }
  check_echo (iso, 10, 'z');
  g_assert_true (rb_isolated_shutdown (iso, 5000, NULL));
  g_assert_cmpuint (r->deaths, ==, 0);
}

/* The regions mapped in this process (named "rb-isolated-region" by
 * rb-isolated-region-private.c), and whether any per-call memfd is. */
static void
count_regions (guint    *count,
               guint64  *bytes,
               gboolean *per_call)
{
  g_autofree char *maps = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  lines = g_strsplit (maps, "\n", -1);
  *count = 0;
  *bytes = 0;
  *per_call = FALSE;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 from, to;

      if (strstr (lines[i], "rb-isolated-request") || strstr (lines[i], "rb-isolated-reply"))
        *per_call = TRUE;
      if (!strstr (lines[i], "rb-isolated-region") ||
          sscanf (lines[i], "%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x", &from, &to) != 2)
        continue;
      (*count)++;
      *bytes += to - from;
    }
}

/* 1,000 calls of 1 MiB each way: they reuse regions (no mapping or fd
 * per call), and what the pool holds stays within its bounds. */
static void
test_big_pool_flat (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  guint n = rb_test_scale (1000);
  guint fds_before = 0, count_before = 0, count, rss_regions;
  guint64 bytes_before = 0, bytes;
  gboolean per_call;

  for (guint i = 0; i < n; i++)
    {
      check_echo (iso, 1024 * 1024 - (i % 3), 'a' + i % 26);
      if (i == 9)
        {
          fds_before = rb_test_count_fds ();
          count_regions (&count_before, &bytes_before, &per_call);
          g_assert_cmpuint (count_before, >=, 1);
          g_assert_false (per_call);
        }
    }
  g_assert_cmpuint (rb_test_count_fds (), ==, fds_before);
  count_regions (&count, &bytes, &per_call);
  g_assert_false (per_call);
  g_assert_cmpuint (count, ==, count_before);
  g_assert_cmpuint (bytes, ==, bytes_before);
  g_assert_cmpuint (bytes, <=, RB_REGION_MAX_TOTAL);

  /* A call beyond the largest region leaves nothing mapped behind. */
  check_echo (iso, RB_REGION_MAX_SIZE + 10, 'x');
  count_regions (&rss_regions, &bytes, &per_call);
  g_assert_false (per_call);
  g_assert_cmpuint (rss_regions, <=, RB_REGION_MAX_COUNT);
  g_assert_cmpuint (bytes, <=, RB_REGION_MAX_TOTAL);
  g_assert_cmpuint (rb_test_count_fds (), ==, fds_before);
}

typedef struct {
  RbIsolated *iso;
  guint       thread;
  guint       n;
} BigJob;

static gpointer
big_caller_thread (gpointer data)
{
  static const gsize sizes[] = { 40000, 300000, 1024 * 1024, 2500000, 33000 };
  BigJob *job = data;

  for (guint i = 0; i < job->n; i++)
    check_echo (job->iso, sizes[(job->thread + i) % G_N_ELEMENTS (sizes)], 'a' + (job->thread * 7 + i) % 26);
  return NULL;
}

/* More concurrent big calls than there are regions (the rest take the
 * per-call path), sync and async: every reply is its own call's. */
static void
test_big_concurrent (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  BigJob jobs[RB_REGION_MAX_COUNT + 2];
  GThread *threads[G_N_ELEMENTS (jobs)];
  guint n_async = rb_test_scale (40);
  g_autofree char *text = g_malloc (500001);
  g_autofree char *request = NULL;

  memset (text, 'k', 500000);
  text[500000] = '\0';
  request = g_strdup_printf ("{\"message\":\"%s\"}", text);
  for (guint i = 0; i < G_N_ELEMENTS (jobs); i++)
    {
      jobs[i].iso = iso;
      jobs[i].thread = i;
      jobs[i].n = rb_test_scale (30);
      threads[i] = g_thread_new ("big-caller", big_caller_thread, &jobs[i]);
    }
  for (guint i = 0; i < n_async; i++)
    rb_isolated_call_async (iso, "echo", request, strlen (request), on_done, r);
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  recorder_wait (r, &r->done, n_async);
  for (guint i = 0; i < n_async; i++)
    {
      const char *payload = g_ptr_array_index (r->payloads, i);

      g_assert_no_error (ERR (r, i));
      g_assert_cmpuint (strlen (payload), ==, strlen (request) + strlen (",\"length\":500000"));
      g_assert_true (g_str_has_suffix (payload, "k\",\"length\":500000}"));
    }
  g_assert_cmpuint (r->deaths, ==, 0);
}

static void
test_logs (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  static const char request[] = "{\"count\":3,\"level\":\"warn\",\"message\":\"from the helper\"}";
  static const char request_thread[] = "{\"count\":2,\"thread\":true,\"message\":\"own thread\"}";

  payload = rb_isolated_call (iso, "log.emit", request, strlen (request), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (payload, ==, "{\"emitted\":3}");
  g_clear_pointer (&payload, g_free);
  payload = rb_isolated_call (iso, "log.emit", request_thread, strlen (request_thread), &error);
  g_assert_no_error (error);
  /* the first one is from plugin_init ("fixture plugin started") */
  recorder_wait (r, &r->logs->len, 6);
  for (guint i = 0; i < r->logs->len; i++)
    g_test_message ("log %u: %s", i, (char *) g_ptr_array_index (r->logs, i));
  g_assert_cmpstr (g_ptr_array_index (r->logs, 0), ==, "2:fixture_plugin:fixture plugin started");
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *expected = g_strdup_printf ("3:fixture_plugin:from the helper %u", i - 1);
      g_assert_cmpstr (g_ptr_array_index (r->logs, i), ==, expected);
    }
  g_assert_cmpstr (g_ptr_array_index (r->logs, 5), ==, "2:fixture_plugin:own thread 1");

  /* The log level reaches the plugin: nothing below error now. */
  rb_isolated_set_log_level (iso, 4);
  g_clear_pointer (&payload, g_free);
  payload = rb_isolated_call (iso, "log.emit", request, strlen (request), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (r->logs->len, ==, 6);
}

/* Calls from many threads and pipelined async calls. */
typedef struct {
  RbIsolated *iso;
  guint       n;
} ThreadJob;

static gpointer
caller_thread (gpointer data)
{
  ThreadJob *job = data;

  for (guint i = 0; i < job->n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *request = g_strdup_printf ("{\"a\":%u,\"b\":1}", i);
      g_autofree char *payload = rb_isolated_call (job->iso, "math.add", request, strlen (request), &error);
      g_autofree char *expected = g_strdup_printf ("{\"result\":%u}", i + 1);

      g_assert_no_error (error);
      g_assert_cmpstr (payload, ==, expected);
    }
  return NULL;
}

static void
test_concurrent (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  ThreadJob job = { iso, rb_test_scale (2000) };
  GThread *threads[4];
  guint n_async = rb_test_scale (500);

  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    threads[i] = g_thread_new ("caller", caller_thread, &job);

  for (guint i = 0; i < n_async; i++)
    {
      g_autofree char *request = g_strdup_printf ("{\"a\":%u,\"b\":2}", i);
      rb_isolated_call_async (iso, "math.add", request, strlen (request), on_done, r);
    }
  for (guint i = 0; i < G_N_ELEMENTS (threads); i++)
    g_thread_join (threads[i]);
  recorder_wait (r, &r->done, n_async);
  for (guint i = 0; i < n_async; i++)
    {
      g_assert_no_error (ERR (r, i));
      g_assert_true (g_str_has_prefix (g_ptr_array_index (r->payloads, i), "{\"result\":"));
    }
}

/* A slow call does not hold up the others (the helper grows workers). */
static void
test_slow_call_does_not_block (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  gint64 start_time;

  rb_isolated_call_async (iso, "test.sleep", "{\"duration_ms\":1000}", 20, on_done, r);
  g_usleep (50000);
  start_time = g_get_monotonic_time ();
  payload = rb_isolated_call (iso, "math.add", "{\"a\":1,\"b\":1}", 13, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_get_monotonic_time () - start_time, <, 900000);
  recorder_wait (r, &r->done, 1);
  g_assert_no_error (ERR (r, 0));
}

static void
test_load_errors (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(GError) error = NULL;
  RbIsolatedOptions options = { 0 };
  RbIsolated *iso;

  iso = start (rb_test_env_path ("RB_NOT_A_PLUGIN"), NULL, 0, r, &error);
  g_assert_null (iso);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "is not a rustbridge plugin"));
  g_clear_error (&error);

  iso = start ("/nonexistent/plugin.so", NULL, 0, r, &error);
  g_assert_null (iso);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  g_clear_error (&error);

  options.helper_path = "/nonexistent/rustbridge-glib-host-1.0";
  options.spin_us = -1;
  iso = rb_isolated_new (fixture (), NULL, 0, &options, &error);
  g_assert_null (iso);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_assert_nonnull (strstr (error->message, "status 127"));
  g_clear_error (&error);
  g_assert_null (rb_isolated_new (fixture (), NULL, 0, &options, NULL));
  g_assert_cmpuint (r->deaths, ==, 0);
}

/* ---- crashes ------------------------------------------------------------- */

/* Whether a crash message says what the test expects. In an ASan build the
 * helper is instrumented too, and ASan's SIGSEGV handler turns the crash
 * into an exit with status 1 (SIGABRT is not handled by default). */
static gboolean
crash_message_has (const char *message,
                   const char *expected)
{
#ifdef __SANITIZE_ADDRESS__
  if (g_str_equal (expected, "signal 11") && strstr (message, "exited with status") != NULL)
    return TRUE;
#endif
  return strstr (message, expected) != NULL;
}

static void
check_crash (const char *tag,
             const char *expected_in_message)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (rb_test_misbehave_path (), 0, r);
  g_autoptr(GError) error = NULL;
  g_autofree char *payload = NULL;
  GPid pid = rb_isolated_get_pid (iso);

  /* A call in flight when the helper dies fails too. */
  rb_isolated_call_async (iso, "hang", "{}", 2, on_done, r);
  payload = rb_isolated_call (iso, tag, "{}", 2, &error);
  g_assert_null (payload);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_assert_true (crash_message_has (error->message, expected_in_message));
  g_assert_nonnull (strstr (error->message, rb_test_misbehave_path ()));
  g_clear_error (&error);

  recorder_wait (r, &r->done, 1);
  g_assert_error (ERR (r, 0), RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  recorder_wait (r, &r->deaths, 1);
  g_assert_true (crash_message_has (r->death_message, expected_in_message));

  /* Later calls, of every kind, fail the same way. */
  g_assert_null (rb_isolated_call (iso, "ok", "{}", 2, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_clear_error (&error);
  g_assert_null (rb_isolated_call_raw (iso, 1, "x", 1, NULL));
  rb_isolated_call_async (iso, "ok", "{}", 2, on_done, r);
  g_assert_cmpuint (r->done, ==, 2);
  g_assert_error (ERR (r, 1), RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_assert_false (rb_isolated_is_alive (iso));
  g_assert_false (rb_isolated_shutdown (iso, 100, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  assert_reaped (pid);
  g_assert_cmpuint (r->deaths, ==, 1);
}

static void
test_crash_segv (void)
{
  check_crash ("segv", "signal 11");
}

static void
test_crash_abort (void)
{
  check_crash ("abort", "signal 6");
}

static void
test_crash_exit (void)
{
  check_crash ("exit", "exited with status 3");
}

static guint
count_threads (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* Crash, start again, call: fds, threads and children stay flat. */
static void
test_crash_cycles (void)
{
  static const char * const tags[] = { "segv", "abort", "exit" };
  guint cycles = rb_test_scale (100);
  guint fds_before = 0, threads_before = 0;

  for (guint i = 0; i < cycles + 1; i++)
    {
      g_autoptr(Recorder) r = recorder_new ();
      g_autoptr(RbIsolated) iso = start_ok (rb_test_misbehave_path (), 0, r);
      g_autoptr(GError) error = NULL;
      g_autofree char *payload = rb_isolated_call (iso, "ok", "{}", 2, &error);
      GPid pid = rb_isolated_get_pid (iso);

      g_assert_no_error (error);
      g_assert_null (rb_isolated_call (iso, tags[i % 3], "{}", 2, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_clear_pointer (&iso, rb_isolated_free);
      assert_reaped (pid);
      if (i == 0)
        {
          /* after the first cycle: the spawner thread exists for good */
          fds_before = rb_test_count_fds ();
          threads_before = count_threads ();
        }
    }
  g_assert_cmpuint (rb_test_count_fds (), ==, fds_before);
  g_assert_cmpuint (count_threads (), ==, threads_before);
}

/* ---- timeouts -------------------------------------------------------------- */

static void
test_timeout (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  const guint timeout = 300;
  g_autoptr(RbIsolated) iso = start_ok (rb_test_misbehave_path (), timeout, r);
  g_autoptr(GError) error = NULL;
  GPid pid = rb_isolated_get_pid (iso);
  gint64 start_time, elapsed;

  g_autofree char *payload = rb_isolated_call (iso, "ok", "{}", 2, &error);
  g_assert_no_error (error);

  start_time = g_get_monotonic_time ();
  g_assert_null (rb_isolated_call (iso, "hang", "{}", 2, &error));
  elapsed = (g_get_monotonic_time () - start_time) / 1000;
  g_test_message ("timed out after %" G_GINT64_FORMAT " ms", elapsed);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (elapsed, >=, timeout - 1);
  /* On time (within 10% + 50 ms), except under valgrind's slowness. */
  if (g_getenv ("RB_TEST_UNDER_VALGRIND") == NULL)
    g_assert_cmpint (elapsed, <=, timeout * 11 / 10 + 50);
  g_clear_error (&error);

  recorder_wait (r, &r->deaths, 1);
  g_assert_nonnull (strstr (r->death_message, "killed after a timeout"));

  g_assert_null (rb_isolated_call (iso, "ok", "{}", 2, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_assert_nonnull (strstr (error->message, "killed after a timeout"));
  g_clear_pointer (&iso, rb_isolated_free);
  assert_reaped (pid);
}

/* An async call past its deadline. */
static void
test_timeout_async (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 200, r);
  g_autoptr(GError) error = NULL;
  gint64 start_time = g_get_monotonic_time ();

  rb_isolated_call_async (iso, "test.sleep", "{\"duration_ms\":10000}", 21, on_done, r);
  recorder_wait (r, &r->done, 1);
  g_assert_error (ERR (r, 0), G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  if (g_getenv ("RB_TEST_UNDER_VALGRIND") == NULL)
    g_assert_cmpint (g_get_monotonic_time () - start_time, <=, (200 * 11 / 10 + 50) * 1000);
  recorder_wait (r, &r->deaths, 1);
  g_assert_nonnull (strstr (r->death_message, "killed after a timeout"));
  g_assert_null (rb_isolated_call (iso, "echo", "{}", 2, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
}

static void
test_timeout_async_others_crashed (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (rb_test_misbehave_path (), 400, r);
  g_autoptr(GError) error = NULL;

  rb_isolated_call_async (iso, "hang", "{}", 2, on_done, r);
  g_usleep (200000);
  /* started 200 ms later: still within its deadline when the first one
   * times out and the helper is killed */
  g_assert_null (rb_isolated_call (iso, "hang", "{}", 2, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_assert_nonnull (strstr (error->message, "killed after a timeout"));
  recorder_wait (r, &r->done, 1);
  g_assert_error (ERR (r, 0), G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* ---- shutdown -------------------------------------------------------------- */

static void
test_shutdown (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (fixture (), 0, r);
  g_autoptr(GError) error = NULL;
  GPid pid = rb_isolated_get_pid (iso);

  g_assert_true (rb_isolated_shutdown (iso, 5000, &error));
  g_assert_no_error (error);
  g_assert_null (rb_isolated_call (iso, "echo", "{}", 2, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE);
  g_clear_pointer (&iso, rb_isolated_free);
  assert_reaped (pid);
  g_assert_cmpuint (r->deaths, ==, 0);
}

static void
test_shutdown_timeout (void)
{
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(RbIsolated) iso = start_ok (rb_test_misbehave_path (), 0, r);
  g_autoptr(GError) error = NULL;
  gint64 start_time = g_get_monotonic_time ();

  rb_isolated_call_async (iso, "hang", "{}", 2, on_done, r);
  g_assert_false (rb_isolated_shutdown (iso, 200, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED);
  g_assert_cmpint (g_get_monotonic_time () - start_time, <, 2 * G_USEC_PER_SEC);
  recorder_wait (r, &r->done, 1);
  g_assert_nonnull (ERR (r, 0));
}

/* ---- a hostile helper ------------------------------------------------------ */

static void
check_hostile (gconstpointer data)
{
  const char *mode = data;
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *config = g_strdup_printf ("{\"mode\":\"%s\"}", mode);
  RbIsolatedOptions options = { 0 };
  RbIsolated *iso;
  guint fds = rb_test_count_fds ();

  options.helper_path = rb_test_env_path ("RB_FAKE_HOST");
  options.spin_us = -1;
  options.call_timeout_ms = 5000;
  options.log_func = on_log;
  options.died_func = on_died;
  options.user_data = r;
  iso = rb_isolated_new (fixture (), config, strlen (config), &options, &error);
  /* Modes that misbehave right after INIT may be caught before
   * rb_isolated_new() returns. */
  if (g_str_has_prefix (mode, "init.") || (iso == NULL && !g_str_has_prefix (mode, "reply.") &&
                                           !g_str_has_prefix (mode, "big.unsealed")))
    {
      g_assert_null (iso);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
    }
  else
    {
      GPid pid;

      g_assert_no_error (error);
      pid = rb_isolated_get_pid (iso);
      if (g_str_has_prefix (mode, "reply.") || g_str_has_prefix (mode, "big.unsealed"))
        {
          g_assert_null (rb_isolated_call (iso, "echo", "{\"message\":\"x\"}", 15, &error));
          g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
          g_clear_error (&error);
        }
      recorder_wait (r, &r->deaths, 1);
      g_assert_nonnull (strstr (r->death_message, "killed because it"));
      g_assert_null (rb_isolated_call (iso, "echo", "{\"message\":\"x\"}", 15, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_test_message ("%s", error->message);
      rb_isolated_free (iso);
      assert_reaped (pid);
    }
  g_assert_cmpuint (r->logs->len, ==, 0);
  g_assert_cmpuint (rb_test_count_fds (), ==, fds);
}

/* A helper that lies about a region's reply: killed, CRASHED, nothing
 * of the app's touched. */
static void
check_hostile_region (gconstpointer data)
{
  const char *mode = data;
  g_autoptr(Recorder) r = recorder_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *config = g_strdup_printf ("{\"mode\":\"%s\"}", mode);
  g_autofree guint8 *big = g_malloc0 (200000);
  RbIsolatedOptions options = { 0 };
  guint fds = rb_test_count_fds ();
  RbIsolated *iso;
  GPid pid;

  options.helper_path = rb_test_env_path ("RB_FAKE_HOST");
  options.spin_us = -1;
  options.call_timeout_ms = 5000;
  options.died_func = on_died;
  options.user_data = r;
  iso = rb_isolated_new (fixture (), config, strlen (config), &options, &error);
  /* region.ack misbehaves right after its start-up: on a loaded machine
   * the watcher may read it before the start returns, which then fails
   * the same way. */
  if (iso == NULL && strcmp (mode, "region.ack") == 0)
    {
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_assert_nonnull (strstr (error->message, "killed because it sent a malformed frame"));
      g_assert_cmpuint (rb_test_count_fds (), ==, fds);
      return;
    }
  g_assert_no_error (error);
  pid = rb_isolated_get_pid (iso);

  if (strcmp (mode, "region.scribble") == 0)
    {
      /* A valid reply, but the helper keeps writing the region: what the
       * app got must not change under it. */
      g_autoptr(GBytes) bytes = rb_isolated_call_raw (iso, 1, big, 200000, &error);
      g_autofree guint8 *first = NULL;
      gsize size;
      const guint8 *got;

      g_assert_no_error (error);
      got = g_bytes_get_data (bytes, &size);
      g_assert_cmpuint (size, ==, 200000);
      first = g_memdup2 (got, size);
      g_usleep (100000);
      g_assert_true (memcmp (first, got, size) == 0);
      rb_isolated_free (iso);
      assert_reaped (pid);
      g_assert_cmpuint (rb_test_count_fds (), ==, fds);
      return;
    }

  if (strcmp (mode, "region.long") == 0)
    g_assert_null (rb_isolated_call_raw (iso, 1, big, 200000, &error));
  else if (strcmp (mode, "region.unlent") == 0)
    g_assert_null (rb_isolated_call (iso, "echo", "{\"message\":\"x\"}", 15, &error));
  if (error != NULL)
    {
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_clear_error (&error);
    }
  recorder_wait (r, &r->deaths, 1);
  g_assert_nonnull (strstr (r->death_message, "killed because it"));
  g_test_message ("%s", r->death_message);
  g_assert_null (rb_isolated_call_raw (iso, 1, big, 200000, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  rb_isolated_free (iso);
  assert_reaped (pid);
  g_assert_cmpuint (rb_test_count_fds (), ==, fds);
}

/* ---- the helper dies with its app ----------------------------------------- */

static int
pdeathsig_child (void)
{
  g_autoptr(GError) error = NULL;
  RbIsolatedOptions options = { 0 };
  RbIsolated *iso;

  options.spin_us = -1;
  iso = rb_isolated_new (rb_test_misbehave_path (), NULL, 0, &options, &error);
  g_assert_no_error (error);
  /* keep the helper busy inside the plugin */
  rb_isolated_call_async (iso, "hang", "{}", 2, on_done, recorder_new ());
  printf ("%d\n", (int) rb_isolated_get_pid (iso));
  fflush (stdout);
  for (;;)
    pause ();
  return 0;
}

static gboolean
process_gone (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *contents = NULL;
  const char *state;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return TRUE;
  state = strrchr (contents, ')');
  return state != NULL && (state[2] == 'Z' || state[2] == 'X');
}

static void
test_pdeathsig (void)
{
  const char *argv[] = { NULL, "--pdeathsig-child", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  GPid child;
  int out_fd, status;
  char buf[32] = { 0 };
  ssize_t n;
  GPid helper;
  gint64 end;

  argv[0] = self_exe;
  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD,
                                           NULL, NULL, &child, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  n = read (out_fd, buf, sizeof buf - 1);
  close (out_fd);
  g_assert_cmpint (n, >, 0);
  helper = (GPid) g_ascii_strtoll (buf, NULL, 10);
  g_assert_cmpint (helper, >, 0);
  g_assert_false (process_gone (helper));

  kill (child, SIGKILL);
  g_assert_cmpint (waitpid (child, &status, 0), ==, child);
  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!process_gone (helper) && g_get_monotonic_time () < end)
    g_usleep (10000);
  g_assert_true (process_gone (helper));
}

int
main (int    argc,
      char **argv)
{
  static const char * const hostile_modes[] = {
    "init.garbage", "init.unsolicited", "init.exit", "frame.oversized", "frame.kind",
    "log.nonul", "reply.long", "reply.wrongid", "reply.state", "big.unsealed", "big.noslot",
  };
  static const char * const region_modes[] = {
    "region.long", "region.unlent", "region.ack", "region.scribble",
  };

  if (argc == 2 && strcmp (argv[1], "--pdeathsig-child") == 0)
    return pdeathsig_child ();

  rb_test_init (&argc, &argv);

  g_test_add_func ("/isolated/json/like-in-process", test_json_like_in_process);
  g_test_add_func ("/isolated/raw", test_raw);
  g_test_add_func ("/isolated/raw/not-supported", test_raw_not_supported);
  g_test_add_func ("/isolated/big-payloads", test_big_payloads);
  g_test_add_func ("/isolated/big/sizes", test_big_sizes);
  g_test_add_func ("/isolated/big/pool-flat", test_big_pool_flat);
  g_test_add_func ("/isolated/big/concurrent", test_big_concurrent);
  g_test_add_func ("/isolated/logs", test_logs);
  g_test_add_func ("/isolated/concurrent", test_concurrent);
  g_test_add_func ("/isolated/slow-call-does-not-block", test_slow_call_does_not_block);
  g_test_add_func ("/isolated/load-errors", test_load_errors);
  g_test_add_func ("/isolated/crash/segv", test_crash_segv);
  g_test_add_func ("/isolated/crash/abort", test_crash_abort);
  g_test_add_func ("/isolated/crash/exit", test_crash_exit);
  g_test_add_func ("/isolated/crash/cycles", test_crash_cycles);
  g_test_add_func ("/isolated/timeout/sync", test_timeout);
  g_test_add_func ("/isolated/timeout/async", test_timeout_async);
  g_test_add_func ("/isolated/timeout/others-crashed", test_timeout_async_others_crashed);
  g_test_add_func ("/isolated/shutdown", test_shutdown);
  g_test_add_func ("/isolated/shutdown/timeout", test_shutdown_timeout);
  for (gsize i = 0; i < G_N_ELEMENTS (hostile_modes); i++)
    {
      g_autofree char *name = g_strdup_printf ("/isolated/hostile/%s", hostile_modes[i]);
      g_test_add_data_func (name, hostile_modes[i], check_hostile);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (region_modes); i++)
    {
      g_autofree char *name = g_strdup_printf ("/isolated/hostile/%s", region_modes[i]);
      g_test_add_data_func (name, region_modes[i], check_hostile_region);
    }
  g_test_add_func ("/isolated/pdeathsig", test_pdeathsig);

  return g_test_run ();
}
