/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Isolated plugins through the public API (RbPlugin with
 * RbPluginConfig:isolation): every crash of the misbehaving plugin leaves
 * this process alive with RB_PLUGIN_ERROR_CRASHED, the plugin FAILED (with
 * state-changed), crash-count counted, and rb_plugin_restart() brings it
 * back; call-timeout-ms in every mode; crash/restart cycles leave fds,
 * threads, children and RSS flat. RB_TEST_ISOLATION picks PROCESS
 * (default here) or SANDBOX; RB_TEST_CYCLES scales the stress test.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include <rustbridge-glib.h>

#include "../rb-test-util.h"

/* Under AddressSanitizer the helper's SIGSEGV is caught by ASan, which
 * reports it and exits with status 1: the message then says so. */
#if defined(__SANITIZE_ADDRESS__)
#define SEGV_TEXT "exited with status 1"
#else
#define SEGV_TEXT "killed by signal 11 ("
#endif

static RbIsolation
isolated_mode (void)
{
  RbIsolation mode = rb_test_isolation ();

  return mode == RB_ISOLATION_NONE ? RB_ISOLATION_PROCESS : mode;
}

static RbPlugin *
load_misbehave (RbIsolation  mode,
                guint        timeout_ms,
                GError     **error)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();

  rb_plugin_config_set_isolation (config, mode);
  rb_plugin_config_set_call_timeout_ms (config, timeout_ms);
  return rb_plugin_new (rb_test_misbehave_path (), config, NULL, error);
}

typedef struct {
  guint            changes;
  guint            failed;     /* changes to FAILED */
  RbLifecycleState last;
  guint            crash_notifies;
} StateLog;

static void
on_state_changed (RbPlugin         *plugin,
                  RbLifecycleState  old_state,
                  RbLifecycleState  new_state,
                  StateLog         *log)
{
  log->changes++;
  if (new_state == RB_LIFECYCLE_STATE_FAILED)
    log->failed++;
  log->last = new_state;
}

static void
on_crash_count (GObject    *object,
                GParamSpec *pspec,
                StateLog   *log)
{
  log->crash_notifies++;
}

static gboolean
reached_failed (StateLog *log)
{
  return log->last == RB_LIFECYCLE_STATE_FAILED;
}

static void
wait_for (gboolean (*done) (StateLog *), StateLog *log)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!done (log) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (done (log));
}

/* ---- crashes ------------------------------------------------------------- */

static void
check_crash (gconstpointer data)
{
  const char *tag = data;
  StateLog log = { 0 };   /* before the plugin: its last signals come at its unref */
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (isolated_mode (), 0, &error);
  g_autofree char *payload = NULL;

  g_assert_no_error (error);
  g_signal_connect (plugin, "state-changed", G_CALLBACK (on_state_changed), &log);
  g_signal_connect (plugin, "notify::crash-count", G_CALLBACK (on_crash_count), &log);
  rb_test_iterate_for (10);   /* the start-up events */

  payload = rb_plugin_call (plugin, tag, "{\"mb\":100000}", NULL, &error);
  g_assert_null (payload);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  /* FAILED and counted by the time the call returns, with no main loop
   * iteration in between (not later, by the helper's watcher). */
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, 1);
  g_assert_nonnull (strstr (error->message, rb_test_misbehave_path ()));
  g_test_message ("%s: %s", tag, error->message);
  /* Sandboxed, the app's child is bwrap, which exits with 128 + N: the
   * message still names the signal. */
  if (g_str_equal (tag, "crash.segv"))
    g_assert_nonnull (strstr (error->message, SEGV_TEXT));
  else if (g_str_equal (tag, "crash.abort"))
    g_assert_nonnull (strstr (error->message, "killed by signal 6 ("));
  else if (g_str_equal (tag, "crash.exit"))
    g_assert_nonnull (strstr (error->message, "exited with status 3"));
  g_clear_error (&error);

  wait_for (reached_failed, &log);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, 1);
  g_assert_cmpuint (log.crash_notifies, >=, 1);
  rb_test_iterate_for (50);   /* a late report of the same death would come by now */
  g_assert_cmpuint (log.failed, ==, 1);
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, 1);

  /* Later calls of every kind fail the same way. */
  g_assert_null (rb_plugin_call (plugin, "ok", "{}", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_clear_error (&error);
  g_assert_null (rb_plugin_call (plugin, "ok", "{}", NULL, NULL));

  /* Restart brings it back. */
  g_assert_true (rb_plugin_restart (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
  payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (payload, ==, "{\"ok\":true}");
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, 1);
}

/* A memory limit turns a huge allocation into a crash. */
static void
test_memory_limit (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *payload = NULL;

#if defined(__SANITIZE_ADDRESS__)
  /* ASan reserves terabytes of address space at start-up: under
   * RLIMIT_AS the helper cannot start at all (doc/isolation.md). */
  g_test_skip ("RLIMIT_AS cannot apply to a helper under AddressSanitizer");
  return;
#endif
  rb_plugin_config_set_isolation (config, isolated_mode ());
  rb_plugin_config_set_memory_limit_mb (config, 512);
  plugin = rb_plugin_new (rb_test_misbehave_path (), config, NULL, &error);
  g_assert_no_error (error);
  payload = rb_plugin_call (plugin, "alloc.huge", "{\"mb\":64}", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&payload, g_free);
  g_assert_null (rb_plugin_call (plugin, "alloc.huge", "{\"mb\":2048}", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
}

/* An async call in flight when the helper dies fails too. */
static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  GError **out = user_data;
  g_autofree char *payload = rb_plugin_call_finish (RB_PLUGIN (source), result, out);

  g_assert_null (payload);
}

static void
test_crash_async_in_flight (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (isolated_mode (), 0, &error);
  GError *async_error = NULL;
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_assert_no_error (error);
  rb_plugin_call_async (plugin, "hang", "{}", NULL, async_done, &async_error);
  g_usleep (50000);
  g_assert_null (rb_plugin_call (plugin, "crash.abort", "{}", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  while (async_error == NULL && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (async_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_clear_error (&async_error);
}

/* A crashing call, sync or async, returns with the plugin FAILED and the
 * crash counted: no iteration of the main loop in between for a sync
 * call, none of its own before the callback for an async one (the death
 * is not left to the helper's watcher thread, which may come later). A
 * few cycles, as it is a race when broken. */
typedef struct {
  GError           *error;
  RbLifecycleState  state;
  guint             crash_count;
} CrashResult;

static void
crash_async_done (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CrashResult *out = user_data;
  g_autofree char *payload = rb_plugin_call_finish (RB_PLUGIN (source), result, &out->error);

  g_assert_null (payload);
  out->state = rb_plugin_get_state (RB_PLUGIN (source));
  out->crash_count = rb_plugin_get_crash_count (RB_PLUGIN (source));
}

static void
test_crash_state_at_return (void)
{
  StateLog log = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (isolated_mode (), 0, &error);
  guint crashes = 0;

  g_assert_no_error (error);
  g_signal_connect (plugin, "state-changed", G_CALLBACK (on_state_changed), &log);
  rb_test_iterate_for (10);   /* the start-up events */

  for (guint i = 0; i < 20; i++)
    {
      gboolean async = i % 2 == 1;
      guint failed_before = log.failed;

      if (async)
        {
          CrashResult result = { NULL, RB_LIFECYCLE_STATE_ACTIVE, 0 };
          gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

          rb_plugin_call_async (plugin, "crash.segv", "{}", NULL, crash_async_done, &result);
          while (result.error == NULL && g_get_monotonic_time () < end)
            g_main_context_iteration (NULL, TRUE);
          g_assert_error (result.error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
          g_clear_error (&result.error);
          g_assert_cmpint (result.state, ==, RB_LIFECYCLE_STATE_FAILED);
          g_assert_cmpuint (result.crash_count, ==, ++crashes);
        }
      else
        {
          g_assert_null (rb_plugin_call (plugin, "crash.segv", "{}", NULL, &error));
          g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
          g_clear_error (&error);
          g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);
          g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, ++crashes);
        }

      /* One state-changed to FAILED, on this context, and one crash:
       * the watcher's later report of the same death changes nothing. */
      wait_for (reached_failed, &log);
      rb_test_iterate_for (20);
      g_assert_cmpuint (log.failed, ==, failed_before + 1);
      g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, crashes);

      g_assert_true (rb_plugin_restart (plugin, NULL, &error));
      g_assert_no_error (error);
      rb_test_iterate_for (10);
    }
  g_signal_handlers_disconnect_by_data (plugin, &log);
}

/* ---- timeouts ---------------------------------------------------------- */

static void
check_timeout (RbIsolation mode)
{
  const guint timeout = 300;
  StateLog log = { 0 };   /* before the plugin: its last signals come at its unref */
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (mode, timeout, &error);
  g_autofree char *payload = NULL;
  gint64 start, elapsed;

  g_assert_no_error (error);
  start = g_get_monotonic_time ();
  g_assert_null (rb_plugin_call (plugin, "hang", "{}", NULL, &error));
  elapsed = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("timed out after %" G_GINT64_FORMAT " ms", elapsed);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (elapsed, >=, timeout - 1);
  if (g_getenv ("RB_TEST_UNDER_VALGRIND") == NULL)
    g_assert_cmpint (elapsed, <=, timeout * 11 / 10 + 50);
  g_clear_error (&error);

  if (mode == RB_ISOLATION_NONE)
    {
      /* The native call still runs; the plugin serves other calls. */
      payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
      g_assert_no_error (error);
      g_clear_pointer (&payload, g_free);
      /* Let the hung call end: its late result is dropped. */
      payload = rb_plugin_call (plugin, "unblock", "{}", NULL, &error);
      g_assert_no_error (error);
    }
  else
    {
      g_signal_connect (plugin, "state-changed", G_CALLBACK (on_state_changed), &log);
      wait_for (reached_failed, &log);
      g_assert_null (rb_plugin_call (plugin, "ok", "{}", NULL, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_assert_nonnull (strstr (error->message, "killed after a timeout"));
      g_clear_error (&error);
      g_assert_true (rb_plugin_restart (plugin, NULL, &error));
      payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
      g_assert_no_error (error);
    }
}

static void
test_timeout_isolated (void)
{
  check_timeout (isolated_mode ());
}

static void
test_timeout_in_process (void)
{
  check_timeout (RB_ISOLATION_NONE);
}

/* Shutdown past shutdown-timeout-ms with a call hung in the plugin: the
 * helper is killed and reaped, the shutdown returns in bounded time, and
 * the hung call fails. */
static void
test_shutdown_kills_hung_helper (void)
{
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  GError *async_error = NULL;
  gint64 start, took;
  gboolean ok;

  rb_plugin_config_set_isolation (config, isolated_mode ());
  rb_plugin_config_set_shutdown_timeout_ms (config, 300);
  plugin = rb_plugin_new (rb_test_misbehave_path (), config, NULL, &error);
  g_assert_no_error (error);
  rb_plugin_call_async (plugin, "hang", "{}", NULL, async_done, &async_error);
  g_usleep (50000);

  start = g_get_monotonic_time ();
  ok = rb_plugin_shutdown (plugin, NULL, &error);
  took = g_get_monotonic_time () - start;
  g_assert_false (ok);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED);
  g_assert_nonnull (strstr (error->message, "did not shut down within 300 ms"));
  g_test_message ("shutdown with a hung call: %s, after %.0f ms", error->message, took / 1e3);
  /* Not a timing check: a bound that only a shutdown that never gave up
   * would miss. */
  g_assert_cmpint (took, <, 10 * G_USEC_PER_SEC);
  g_assert_cmpint (rb_plugin_get_state (plugin), !=, RB_LIFECYCLE_STATE_ACTIVE);
  /* The helper is gone and reaped: no child of this process is left. */
  g_assert_cmpint (waitpid (-1, NULL, WNOHANG), ==, -1);
  g_assert_cmpint (errno, ==, ECHILD);

  while (async_error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (async_error->domain == RB_PLUGIN_ERROR);
  g_clear_error (&async_error);
}

/* ---- sandbox without bubblewrap ------------------------------------------- */

static void
test_sandbox_not_supported (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;

  /* RB_BWRAP (tests only) set to a missing file: as if bubblewrap were
   * not installed. */
  g_setenv ("RB_BWRAP", "/nonexistent/bwrap", TRUE);
  plugin = load_misbehave (RB_ISOLATION_SANDBOX, 0, &error);
  g_unsetenv ("RB_BWRAP");
  g_assert_null (plugin);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "sandbox is not available"));
}

/* ---- what a sandboxed plugin can do ------------------------------------------ */

static gboolean
probe_bool (JsonObject *object,
            const char *member)
{
  g_assert_true (json_object_has_member (object, member));
  return json_object_get_boolean_member (object, member);
}

/* The misbehaving plugin's sandbox.probe through RbPlugin: in SANDBOX it
 * cannot open an AF_INET socket, read a file in $HOME or create one
 * outside /tmp; in PROCESS it can (the control that shows the probe sees
 * the difference). Writing to /tmp works in both. */
static void
test_sandbox_probe (void)
{
  RbIsolation mode = isolated_mode ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *template = g_build_filename (g_get_home_dir (), ".rb-sandbox-probe-XXXXXX", NULL);
  g_autofree char *dir = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *request = NULL;
  g_autofree char *payload = NULL;
  g_autoptr(JsonNode) reply = NULL;
  JsonObject *object, *errors;

  dir = g_mkdtemp (g_strdup (template));
  if (dir == NULL)
    {
      g_test_skip ("the home directory is not writable here");
      return;
    }
  secret = g_build_filename (dir, "secret", NULL);
  g_assert_true (g_file_set_contents (secret, "private", -1, &error));

  plugin = load_misbehave (mode, 0, &error);
  g_assert_no_error (error);
  request = g_strdup_printf ("{\"read\":\"%s\",\"write_dir\":\"%s\"}", secret, dir);
  payload = rb_plugin_call (plugin, "sandbox.probe", request, NULL, &error);
  g_assert_no_error (error);
  reply = json_from_string (payload, NULL);
  g_remove (secret);
  g_rmdir (dir);

  object = json_node_get_object (reply);
  errors = json_object_get_object_member (object, "errors");
  g_test_message ("%s: inet %d (errno %d), read %d (errno %d), write %d (errno %d), tmp %d",
                  mode == RB_ISOLATION_SANDBOX ? "sandbox" : "process",
                  probe_bool (object, "inet"), (int) json_object_get_int_member (errors, "inet"),
                  probe_bool (object, "read"), (int) json_object_get_int_member (errors, "read"),
                  probe_bool (object, "write"), (int) json_object_get_int_member (errors, "write"),
                  probe_bool (object, "tmp"));
  g_assert_true (probe_bool (object, "tmp"));
  if (mode == RB_ISOLATION_SANDBOX)
    {
      g_assert_false (probe_bool (object, "inet"));
      g_assert_cmpint (json_object_get_int_member (errors, "inet"), ==, EAFNOSUPPORT);
      g_assert_false (probe_bool (object, "read"));
      g_assert_cmpint (json_object_get_int_member (errors, "read"), ==, ENOENT);
      g_assert_false (probe_bool (object, "write"));
    }
  else
    {
      g_assert_true (probe_bool (object, "inet"));
      g_assert_true (probe_bool (object, "read"));
      g_assert_true (probe_bool (object, "write"));
    }
}

/* Sandboxed, the helper is in a pid namespace of its own (its parent is
 * bwrap's init, pid 1); otherwise its parent is this process. */
static void
test_sandbox_pid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (isolated_mode (), 0, &error);
  g_autofree char *payload = NULL;
  g_autoptr(JsonNode) reply = NULL;
  JsonObject *object;

  g_assert_no_error (error);
  payload = rb_plugin_call (plugin, "sandbox.pid", "{}", NULL, &error);
  g_assert_no_error (error);
  reply = json_from_string (payload, NULL);
  object = json_node_get_object (reply);
  if (isolated_mode () == RB_ISOLATION_SANDBOX)
    g_assert_cmpint (json_object_get_int_member (object, "ppid"), ==, 1);
  else
    g_assert_cmpint (json_object_get_int_member (object, "ppid"), ==, getpid ());
}

/* ---- the helper dies with the app ---------------------------------------------- */

#define CHILD_ARG "--rb-isolated-child"

/* The re-executed test program (CHILD_ARG MODE): an app with an isolated
 * plugin, which says so and waits to be killed. */
static int
run_child (const char *mode_name)
{
  g_autoptr(RbPlugin) plugin = NULL;
  g_autoptr(GError) error = NULL;
  RbIsolation mode = g_str_equal (mode_name, "sandbox") ? RB_ISOLATION_SANDBOX : RB_ISOLATION_PROCESS;

  plugin = load_misbehave (mode, 0, &error);
  if (plugin == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 1;
    }
  g_print ("ready\n");
  fflush (stdout);
  for (;;)
    pause ();
  return 0;
}

/* Every pid whose parent chain leads to @root (not @root itself). */
static GArray *
descendants (pid_t root)
{
  GArray *found = g_array_new (FALSE, FALSE, sizeof (pid_t));
  gboolean grew = TRUE;

  while (grew)
    {
      g_autoptr(GDir) dir = g_dir_open ("/proc", 0, NULL);
      const char *name;

      grew = FALSE;
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *stat_path = NULL;
          g_autofree char *text = NULL;
          const char *paren;
          pid_t pid = (pid_t) g_ascii_strtoll (name, NULL, 10);
          pid_t ppid;
          gboolean known = FALSE, parent_known = FALSE;

          if (pid <= 0)
            continue;
          stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
          if (!g_file_get_contents (stat_path, &text, NULL, NULL) || (paren = strrchr (text, ')')) == NULL)
            continue;
          /* ") S PPID ..." */
          ppid = (pid_t) g_ascii_strtoll (paren + 4, NULL, 10);
          for (guint i = 0; i < found->len; i++)
            {
              known |= g_array_index (found, pid_t, i) == pid;
              parent_known |= g_array_index (found, pid_t, i) == ppid;
            }
          if (!known && (ppid == root || parent_known))
            {
              g_array_append_val (found, pid);
              grew = TRUE;
            }
        }
    }
  return found;
}

/* Gone, or a zombie waiting for its (new) parent to reap it. */
static gboolean
pid_is_gone (pid_t pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", (int) pid);
  g_autofree char *text = NULL;
  const char *paren;

  if (!g_file_get_contents (stat_path, &text, NULL, NULL) || (paren = strrchr (text, ')')) == NULL)
    return TRUE;
  return paren[2] == 'Z' || paren[2] == 'X';
}

/* An app killed with SIGKILL (no clean-up of any kind) takes its helper
 * with it: PR_SET_PDEATHSIG on the helper, and sandboxed on bwrap, whose
 * --die-with-parent and pid namespace take the rest. The helpers are
 * stopped first, so that only those signals can end them. */
static void
test_dies_with_app (void)
{
  RbIsolation mode = isolated_mode ();
  g_autofree char *self_exe = g_file_read_link ("/proc/self/exe", NULL);
  const char *argv[] = { self_exe, CHILD_ARG, mode == RB_ISOLATION_SANDBOX ? "sandbox" : "process", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) child = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *line = NULL;
  g_autoptr(GArray) pids = NULL;
  pid_t child_pid;
  gint64 end;
  guint left;

  g_assert_nonnull (self_exe);
  child = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  child_pid = (pid_t) g_ascii_strtoll (g_subprocess_get_identifier (child), NULL, 10);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (child));
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "ready");

  pids = descendants (child_pid);
  g_test_message ("the app %d has %u descendants (helper%s)", (int) child_pid, pids->len,
                  mode == RB_ISOLATION_SANDBOX ? ", bwrap and its init" : "");
  /* the helper; sandboxed also bwrap and bwrap's init */
  g_assert_cmpuint (pids->len, >=, mode == RB_ISOLATION_SANDBOX ? 3 : 1);

  /* Stopped, they cannot notice the socket's end of file: only the
   * parent-death signals (SIGKILL works on stopped processes) end them. */
  for (guint i = 0; i < pids->len; i++)
    g_assert_cmpint (kill (g_array_index (pids, pid_t, i), SIGSTOP), ==, 0);
  g_subprocess_send_signal (child, SIGKILL);
  g_subprocess_wait (child, NULL, &error);
  g_assert_no_error (error);

  end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  do
    {
      left = 0;
      for (guint i = 0; i < pids->len; i++)
        left += !pid_is_gone (g_array_index (pids, pid_t, i));
      if (left > 0)
        g_usleep (10000);
    }
  while (left > 0 && g_get_monotonic_time () < end);
  g_assert_cmpuint (left, ==, 0);
}

/* ---- bundles ------------------------------------------------------------------ */

static char *test_base;     /* removed at the end */
static char *test_tmpdir;   /* $TMPDIR of this program: must stay empty */

static guint
count_entries (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* An unsigned bundle around the misbehaving plugin. */
static char *
make_misbehave_bundle (void)
{
  g_autofree char *tool = g_test_build_filename (G_TEST_DIST, "bundle", "rb-make-bundle.py", NULL);
  char *out = g_build_filename (test_base, "misbehave.rbp", NULL);
  const char *argv[] = {
    "/usr/bin/python3", tool, out, "--library", rb_test_misbehave_path (),
    "--platform", rb_bundle_get_current_platform (), "--name", "misbehave", NULL
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *err_text = NULL;
  int status = 0;

  if (!g_file_test (out, G_FILE_TEST_EXISTS))
    {
      g_spawn_sync (test_base, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                    NULL, &err_text, &status, &error);
      g_assert_no_error (error);
      if (!g_spawn_check_wait_status (status, NULL))
        g_error ("rb-make-bundle.py failed: %s", err_text);
    }
  return out;
}

/* A bundle's plugin, isolated: the helper gets the verified library as
 * the sealed memfd (RbPlugin:path is /proc/self/fd/N), calls work, a
 * crash and a restart work (the library has no file to be gone), and
 * nothing is ever written to $TMPDIR. */
static void
test_bundle (void)
{
  g_autofree char *path = make_misbehave_bundle ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RbBundle) bundle = NULL;
  g_autoptr(RbPluginConfig) config = rb_plugin_config_new ();
  g_autoptr(RbPlugin) plugin = NULL;
  g_autofree char *payload = NULL;

  bundle = rb_bundle_new_for_path (path, NULL, &error);
  g_assert_no_error (error);
  rb_bundle_set_verify_mode (bundle, RB_VERIFY_MODE_SKIP);
  rb_plugin_config_set_isolation (config, isolated_mode ());
  plugin = rb_bundle_load_plugin (bundle, NULL, config, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (rb_plugin_get_path (plugin), "/proc/self/fd/"));
  g_assert_cmpuint (count_entries (test_tmpdir), ==, 0);

  payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (payload, ==, "{\"ok\":true}");
  g_clear_pointer (&payload, g_free);

  for (guint i = 0; i < 3; i++)
    {
      g_assert_null (rb_plugin_call (plugin, "crash.segv", "{}", NULL, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_assert_nonnull (strstr (error->message, SEGV_TEXT));
      g_clear_error (&error);
      g_assert_true (rb_plugin_restart (plugin, NULL, &error));
      g_assert_no_error (error);
      payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (payload, ==, "{\"ok\":true}");
      g_clear_pointer (&payload, g_free);
    }
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, 3);
  g_assert_true (rb_plugin_shutdown (plugin, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (test_tmpdir), ==, 0);
}

/* ---- restart: async, cancelled ------------------------------------------- */

static void
restart_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GError **out = user_data;
  GError *error = NULL;

  if (rb_plugin_restart_finish (RB_PLUGIN (source), result, &error))
    g_assert_no_error (error);
  else
    g_assert_nonnull (error);
  /* A marker for "done without error" that is never a real GError. */
  *out = error != NULL ? error : (GError *) 0x1;
}

static GError *
restart_async_and_wait (RbPlugin     *plugin,
                        GCancellable *cancellable)
{
  GError *result = NULL;

  rb_plugin_restart_async (plugin, cancellable, restart_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return result == (GError *) 0x1 ? NULL : result;
}

static void
test_restart_async (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (isolated_mode (), 0, &error);
  g_autoptr(GCancellable) cancelled = g_cancellable_new ();
  g_autofree char *payload = NULL;

  g_assert_no_error (error);
  g_assert_null (rb_plugin_call (plugin, "crash.segv", "{}", NULL, NULL));
  for (gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
       rb_plugin_get_state (plugin) != RB_LIFECYCLE_STATE_FAILED && g_get_monotonic_time () < end;)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (1000);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);

  /* A cancelled cancellable: nothing restarts, sync or async. */
  g_cancellable_cancel (cancelled);
  g_assert_false (rb_plugin_restart (plugin, cancelled, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (rb_plugin_restart (plugin, cancelled, NULL));
  error = restart_async_and_wait (plugin, cancelled);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_FAILED);
  g_assert_null (rb_plugin_call (plugin, "ok", "{}", NULL, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
  g_clear_error (&error);

  /* Async, from FAILED, then again from ACTIVE. */
  for (guint i = 0; i < 2; i++)
    {
      error = restart_async_and_wait (plugin, NULL);
      g_assert_no_error (error);
      g_assert_cmpint (rb_plugin_get_state (plugin), ==, RB_LIFECYCLE_STATE_ACTIVE);
      payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (payload, ==, "{\"ok\":true}");
      g_clear_pointer (&payload, g_free);
    }
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, 1);
}

/* ---- crash -> restart cycles ------------------------------------------------ */

static guint
count_threads (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint n = 0;

  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static gsize
rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL, NULL));
  line = strstr (status, "VmRSS:");
  g_assert_nonnull (line);
  return (gsize) g_ascii_strtoull (line + 6, NULL, 10);
}

static void
test_crash_restart_cycles (void)
{
  static const char * const tags[] = { "crash.segv", "crash.abort", "crash.exit" };
  const char *env = g_getenv ("RB_TEST_CYCLES");
  /* 1,000 in both modes: about 6 s in PROCESS and 14 s in SANDBOX on
   * the idle 2-core VM (bubblewrap's namespaces and mounts cost about
   * 10 ms a restart). */
  guint fallback = 1000;
  guint cycles = rb_test_scale (env != NULL ? (guint) g_ascii_strtoull (env, NULL, 10) : fallback);
  g_autoptr(GError) error = NULL;
  g_autoptr(RbPlugin) plugin = load_misbehave (isolated_mode (), 0, &error);
  guint fds = 0, threads = 0;
  gsize rss = 0;
  gint64 start = g_get_monotonic_time ();
  gint64 crash_us = 0, restart_us = 0, call_us = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < cycles + 10; i++)
    {
      g_autofree char *payload = NULL;

      gint64 t0 = g_get_monotonic_time (), t1, t2;

      g_assert_null (rb_plugin_call (plugin, tags[i % 3], "{}", NULL, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED);
      g_clear_error (&error);
      t1 = g_get_monotonic_time ();
      g_assert_true (rb_plugin_restart (plugin, NULL, &error));
      g_assert_no_error (error);
      t2 = g_get_monotonic_time ();
      payload = rb_plugin_call (plugin, "ok", "{}", NULL, &error);
      g_assert_no_error (error);
      crash_us += t1 - t0;
      restart_us += t2 - t1;
      call_us += g_get_monotonic_time () - t2;
      while (g_main_context_iteration (NULL, FALSE))
        ;
      if (i == 9)
        {
          /* after a warm-up: pools and the spawner thread exist for good */
          fds = rb_test_count_fds ();
          threads = count_threads ();
          rss = rss_kib ();
        }
    }
  g_test_message ("%u crash/restart cycles in %.1f s; RSS %" G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT " KiB",
                  cycles, (g_get_monotonic_time () - start) / 1e6, rss, rss_kib ());
  /* Where a cycle's time goes (a figure, not a check). */
  g_test_message ("per cycle: crash call %.2f ms, restart %.2f ms, first call %.2f ms",
                  crash_us / 1e3 / (cycles + 10), restart_us / 1e3 / (cycles + 10), call_us / 1e3 / (cycles + 10));
  g_assert_cmpuint (rb_test_count_fds (), ==, fds);
  g_assert_cmpuint (count_threads (), <=, threads + 1);
  /* no zombie: every helper was reaped (only the live one is a child) */
  g_assert_cmpint (waitpid (-1, NULL, WNOHANG), ==, 0);
#if !defined(__SANITIZE_ADDRESS__)
  /* ASan keeps freed blocks in its quarantine (up to 256 MiB), so RSS
   * grows there without a leak; LSan checks leaks in that run. */
  g_assert_cmpuint (rss_kib (), <=, rss + 4096);
#endif
  g_assert_cmpuint (rb_plugin_get_crash_count (plugin), ==, cycles + 10);
}

int
main (int    argc,
      char **argv)
{
  static const char * const crash_tags[] = {
    "crash.segv", "crash.abort", "crash.exit", "crash.stack_overflow",
  };
  int status;

  if (argc == 3 && g_str_equal (argv[1], CHILD_ARG))
    return run_child (argv[2]);

  /* A private $TMPDIR (before anything reads it): the bundle test checks
   * that isolated bundle plugins never write there. */
  test_base = g_strdup ("/tmp/rb-isolated-plugin-XXXXXX");
  g_assert_nonnull (g_mkdtemp (test_base));
  test_tmpdir = g_build_filename (test_base, "tmp", NULL);
  g_assert_cmpint (g_mkdir (test_tmpdir, 0700), ==, 0);
  g_setenv ("TMPDIR", test_tmpdir, TRUE);

  rb_test_init (&argc, &argv);

  for (gsize i = 0; i < G_N_ELEMENTS (crash_tags); i++)
    {
      g_autofree char *name = g_strdup_printf ("/isolated-plugin/crash/%s", crash_tags[i]);
      g_test_add_data_func (name, crash_tags[i], check_crash);
    }
  g_test_add_func ("/isolated-plugin/crash/async-in-flight", test_crash_async_in_flight);
  g_test_add_func ("/isolated-plugin/crash/state-at-return", test_crash_state_at_return);
  g_test_add_func ("/isolated-plugin/memory-limit", test_memory_limit);
  g_test_add_func ("/isolated-plugin/timeout/isolated", test_timeout_isolated);
  g_test_add_func ("/isolated-plugin/timeout/in-process", test_timeout_in_process);
  g_test_add_func ("/isolated-plugin/shutdown-kills-hung-helper", test_shutdown_kills_hung_helper);
  g_test_add_func ("/isolated-plugin/sandbox/not-supported", test_sandbox_not_supported);
  g_test_add_func ("/isolated-plugin/sandbox/probe", test_sandbox_probe);
  g_test_add_func ("/isolated-plugin/sandbox/pid", test_sandbox_pid);
  g_test_add_func ("/isolated-plugin/bundle", test_bundle);
  g_test_add_func ("/isolated-plugin/dies-with-app", test_dies_with_app);
  g_test_add_func ("/isolated-plugin/restart-async", test_restart_async);
  g_test_add_func ("/isolated-plugin/crash-restart-cycles", test_crash_restart_cycles);

  status = g_test_run ();

  {
    g_autofree char *bundle = g_build_filename (test_base, "misbehave.rbp", NULL);
    g_remove (bundle);
    g_rmdir (test_tmpdir);
    g_rmdir (test_base);
    g_free (test_tmpdir);
    g_free (test_base);
  }
  return status;
}
