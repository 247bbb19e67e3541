/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "rb-enum-types.h"
#include "rb-error.h"
#include "rb-library-private.h"
#include "rb-plugin-private.h"
#include "rb-sandbox-private.h"

/*
 * RbPlugin's back ends other than the in-process hot path
 * (rb-plugin-private.h, "rb-plugin-backend.c"):
 *
 * - DEADLINE: an in-process plugin with a call-timeout-ms. The call runs
 *   on a worker of a shared, unbounded pool (the worker is admitted like
 *   any caller, and holds a reference to the plugin); the caller waits
 *   until the deadline. Past it the caller gets G_IO_ERROR_TIMED_OUT and
 *   leaves; the native call keeps running (nothing can stop it), and its
 *   result is freed when it ends.
 *
 * - ISOLATED: PROCESS and SANDBOX. The plugin runs in a helper process
 *   (rb-isolated-private.h), started by init and by a restart. Its logs
 *   reach the relay as the in-process ones do (all of them attributed to
 *   this plugin: the helper serves no other instance); its death turns
 *   the plugin FAILED, counts a crash and keeps the error for later calls.
 *   Calls are admitted as in-process ones are, so that a shutdown or a
 *   restart waits for them before it frees the helper.
 */

/* ---- SANDBOX -------------------------------------------------------------- */

/*
 * SANDBOX: the helper runs under bubblewrap with the seccomp filter of
 * rb-sandbox-private.h. Whatever is missing for that (bwrap, namespaces
 * on this system, seccomp support in this build) fails the load with
 * G_IO_ERROR_NOT_SUPPORTED: never a weaker sandbox than documented.
 *
 * Returns bwrap's path for RbIsolatedOptions.sandbox_bwrap, or NULL with
 * @error set.
 */
char *
rb_plugin_sandbox_bwrap (RbPlugin  *self,
                         GError   **error)
{
  g_autofree char *bwrap = rb_sandbox_find_bwrap ();
  g_autoptr(GError) local_error = NULL;

  if (bwrap == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Could not load plugin “%s” with isolation “sandbox”: the sandbox is not "
                   "available (bubblewrap, “bwrap”, was not found)", self->path);
      return NULL;
    }
  if (!rb_sandbox_has_seccomp ())
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Could not load plugin “%s” with isolation “sandbox”: the sandbox is not "
                   "available (this build of rustbridge-glib has no seccomp support: libseccomp "
                   "was missing when it was built)", self->path);
      return NULL;
    }
  if (!rb_sandbox_check (bwrap, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "Could not load plugin “%s” with isolation “sandbox”: the sandbox is not "
                   "available (%s)", self->path, local_error->message);
      return NULL;
    }
  return g_steal_pointer (&bwrap);
}

gboolean
rb_plugin_backend_prepare (RbPlugin  *self,
                           GError   **error)
{
  switch (rb_plugin_config_get_isolation (self->config))
    {
    case RB_ISOLATION_SANDBOX:
      {
        /* Early, so that a missing sandbox fails before anything starts;
         * the check's result is cached (rb_sandbox_check()). */
        g_autofree char *bwrap = rb_plugin_sandbox_bwrap (self, error);
        if (bwrap == NULL)
          return FALSE;
      }
      G_GNUC_FALLTHROUGH;
    case RB_ISOLATION_PROCESS:
      self->backend = RB_BACKEND_ISOLATED;
      break;
    case RB_ISOLATION_NONE:
    default:
      self->backend = rb_plugin_config_get_call_timeout_ms (self->config) > 0 ? RB_BACKEND_DEADLINE
                                                                               : RB_BACKEND_DIRECT;
      break;
    }
  return TRUE;
}

/* ---- ISOLATED ------------------------------------------------------------- */

/* The helper's log frames, on its watcher thread. */
static void
rb_plugin_isolated_log (gpointer    user_data,
                        guint8      level,
                        const char *target,
                        const char *message,
                        gsize       message_len)
{
  RbPlugin *self = user_data;

  rb_relay_log (self->relay, level, target, message, message_len);
}

/* The helper died on its own (not at shutdown): once per helper, on its
 * watcher thread or on the thread of the call that failed with CRASHED,
 * before that call returns (rb-isolated-private.h), so that a program
 * that checks the state after the error finds FAILED and the crash
 * counted. A later restart makes a new helper, with a death of its own. */
static void
rb_plugin_isolated_died (gpointer      user_data,
                         const GError *error)
{
  RbPlugin *self = user_data;

  g_mutex_lock (&self->crash_lock);
  g_clear_error (&self->crash_error);
  self->crash_error = g_error_copy (error);
  g_mutex_unlock (&self->crash_lock);

  g_atomic_int_inc (&self->crash_count);
  rb_relay_notify (self->relay, rb_plugin_crash_count_pspec);
  rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
}

void
rb_plugin_backend_set_crash_error (RbPlugin  *self,
                                   GError   **error)
{
  g_mutex_lock (&self->crash_lock);
  if (self->crash_error != NULL)
    g_propagate_error (error, g_error_copy (self->crash_error));
  else
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
                 "Plugin “%s” is not active (state: %s)", self->path,
                 rb_lifecycle_state_name (RB_LIFECYCLE_STATE_FAILED));
  g_mutex_unlock (&self->crash_lock);
}

gboolean
rb_plugin_backend_start_isolated (RbPlugin    *self,
                                  const char  *config_json,
                                  GError     **error)
{
  g_autofree char *bwrap = NULL;
  RbIsolatedOptions options = { 0 };
  RbIsolated *isolated;
  int library_fd;

  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_STARTING);
  g_mutex_lock (&self->crash_lock);
  g_clear_error (&self->crash_error);
  g_mutex_unlock (&self->crash_lock);

  if (rb_plugin_config_get_isolation (self->config) == RB_ISOLATION_SANDBOX)
    {
      bwrap = rb_plugin_sandbox_bwrap (self, error);
      if (bwrap == NULL)
        {
          rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
          return FALSE;
        }
    }
  options.sandbox_bwrap = bwrap;
  options.call_timeout_ms = rb_plugin_config_get_call_timeout_ms (self->config);
  options.memory_limit_mb = rb_plugin_config_get_memory_limit_mb (self->config);
  options.spin_us = -1;
  options.log_func = rb_plugin_isolated_log;
  options.died_func = rb_plugin_isolated_died;
  options.user_data = self;

  /* A bundle's library (a registered sealed memfd, RbPlugin:path is its
   * /proc/self/fd path) goes to the helper as that fd: nothing on disk,
   * nothing verified again. The image stays open for the life of the
   * process (rb-library-private.h), so a restart finds it again. */
  library_fd = rb_library_lookup_fd (self->path);
  if (library_fd >= 0)
    isolated = rb_isolated_new_for_fd (self->path, library_fd, config_json, strlen (config_json),
                                       &options, error);
  else
    isolated = rb_isolated_new (self->path, config_json, strlen (config_json), &options, error);
  if (isolated == NULL)
    {
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      return FALSE;
    }

  self->isolated = isolated;
  self->isolated_has_raw = rb_isolated_has_raw (isolated);
  g_mutex_lock (&self->handle_lock);
  self->handle_live = TRUE;
  g_mutex_unlock (&self->handle_lock);

  /* As in process: the config's level, then ACTIVE. */
  rb_isolated_set_log_level (isolated, (guint8) rb_plugin_config_get_log_level (self->config));
  g_atomic_int_set (&self->log_level, rb_plugin_config_get_log_level (self->config));
  /* A helper that died during the start is reported by now (its
   * died_func found the plugin STARTING): it starts FAILED. */
  if (!rb_isolated_is_alive (isolated))
    {
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      rb_plugin_backend_set_crash_error (self, error);
      return FALSE;
    }
  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_ACTIVE);
  if (!rb_isolated_is_alive (isolated))
    rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
  return TRUE;
}

gboolean
rb_plugin_backend_shutdown_isolated (RbPlugin  *self,
                                     GError   **error)
{
  g_autoptr(GError) local_error = NULL;
  RbIsolated *gone;
  gboolean ok = TRUE;

  if (rb_isolated_is_alive (self->isolated) &&
      !rb_isolated_shutdown (self->isolated, rb_plugin_config_get_shutdown_timeout_ms (self->config),
                             &local_error))
    {
      /* A helper that died meanwhile has nothing left to shut down. */
      if (!g_error_matches (local_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          ok = FALSE;
        }
    }
  /* The helper is dead or exiting: calls the admission wait gave up on
   * return at once now; wait for them before freeing what they use. */
  rb_inflight_wait_idle (&self->inflight, G_MAXINT64);
  gone = self->isolated;
  g_clear_pointer (&self->isolated, rb_isolated_free);
  /* A helper a reload started is no longer one: a later helper at the
   * same address must not be taken for it. */
  rb_plugin_reload_forget_isolated (self, gone);
  return ok;
}

/* After an internal error the plugin may have marked itself failed (a
 * panic does): as in process, ask it. */
static void
rb_plugin_isolated_check_failed (RbPlugin     *self,
                                 const GError *error)
{
  if (!g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL) &&
      !g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
    return;
  if (rb_isolated_get_state (self->isolated) == RB_LIFECYCLE_STATE_FAILED)
    rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
}

static char *
rb_plugin_isolated_call (RbPlugin    *self,
                         const char  *type_tag,
                         const char  *request,
                         gsize        request_len,
                         GError     **error)
{
  RbInflightSlot *ticket;
  GError *local_error = NULL;
  char *payload;

  if (!rb_plugin_admit (self, &ticket, error))
    return NULL;
  payload = rb_isolated_call (self->isolated, type_tag, request, request_len, &local_error);
  if (payload == NULL)
    {
      rb_plugin_isolated_check_failed (self, local_error);
      g_propagate_error (error, local_error);
    }
  rb_plugin_release (self, ticket);
  return payload;
}

static GBytes *
rb_plugin_isolated_call_raw (RbPlugin  *self,
                             guint32    message_id,
                             GBytes    *request,
                             GError   **error)
{
  RbInflightSlot *ticket;
  GError *local_error = NULL;
  const void *data;
  gsize size;
  GBytes *bytes;

  if (!rb_plugin_admit (self, &ticket, error))
    return NULL;
  data = g_bytes_get_data (request, &size);
  bytes = rb_isolated_call_raw (self->isolated, message_id, data, size, &local_error);
  if (bytes == NULL)
    {
      rb_plugin_isolated_check_failed (self, local_error);
      g_propagate_error (error, local_error);
    }
  rb_plugin_release (self, ticket);
  return bytes;
}

/* ---- DEADLINE ------------------------------------------------------------- */

typedef struct {
  gatomicrefcount  ref;
  RbPlugin        *plugin;     /* owned: the native call may outlive the caller */
  gboolean         raw;
  char            *type_tag;
  char            *request;
  gsize            request_len;
  guint32          message_id;
  GBytes          *raw_request;

  GMutex           lock;
  GCond            cond;
  gboolean         done;       /* guarded by lock, with the results */
  char            *payload;
  GBytes          *bytes;
  GError          *error;
} RbTimedCall;

static void
rb_timed_call_unref (RbTimedCall *call)
{
  if (!g_atomic_ref_count_dec (&call->ref))
    return;
  g_object_unref (call->plugin);
  g_free (call->type_tag);
  g_free (call->request);
  g_clear_pointer (&call->raw_request, g_bytes_unref);
  g_free (call->payload);
  g_clear_pointer (&call->bytes, g_bytes_unref);
  g_clear_error (&call->error);
  g_mutex_clear (&call->lock);
  g_cond_clear (&call->cond);
  g_free (call);
}

static void
rb_timed_call_run (gpointer data,
                   gpointer pool_data)
{
  RbTimedCall *call = data;
  GError *error = NULL;
  char *payload = NULL;
  GBytes *bytes = NULL;

  if (call->raw)
    bytes = rb_plugin_invoke_direct_raw (call->plugin, call->message_id, call->raw_request, &error);
  else
    payload = rb_plugin_invoke_direct_json (call->plugin, call->type_tag, call->request,
                                            call->request_len, &error);

  g_mutex_lock (&call->lock);
  call->payload = payload;
  call->bytes = bytes;
  call->error = error;
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  /* A caller that timed out is gone: the last reference frees the late
   * result here. */
  rb_timed_call_unref (call);
}

static GThreadPool *
rb_timed_call_pool (void)
{
  static gsize pool;

  if (g_once_init_enter (&pool))
    {
      /* Unbounded: a hung native call keeps its thread. */
      GThreadPool *new_pool = g_thread_pool_new (rb_timed_call_run, NULL, -1, FALSE, NULL);
      g_once_init_leave (&pool, (gsize) new_pool);
    }
  return (GThreadPool *) pool;
}

/* Runs @call on the pool and waits until its deadline. */
static gboolean
rb_timed_call_wait (RbPlugin     *self,
                    RbTimedCall  *call,
                    const char   *what,
                    GError      **error)
{
  guint timeout_ms = rb_plugin_config_get_call_timeout_ms (self->config);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  gboolean done;

  g_atomic_ref_count_init (&call->ref);
  g_mutex_init (&call->lock);
  g_cond_init (&call->cond);
  call->plugin = g_object_ref (self);
  g_atomic_ref_count_inc (&call->ref);   /* the worker's */
  g_thread_pool_push (rb_timed_call_pool (), call, NULL);

  g_mutex_lock (&call->lock);
  while (!call->done)
    if (!g_cond_wait_until (&call->cond, &call->lock, deadline))
      break;
  done = call->done;
  g_mutex_unlock (&call->lock);

  if (!done)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "Call “%s” to plugin “%s” timed out after %u ms (it still runs in the plugin; "
                 "its result will be dropped)", what, self->path, timeout_ms);
  else if (call->error != NULL)
    g_propagate_error (error, g_steal_pointer (&call->error));
  return done;
}

static char *
rb_plugin_timed_call (RbPlugin    *self,
                      const char  *type_tag,
                      const char  *request,
                      gsize        request_len,
                      GError     **error)
{
  RbTimedCall *call = g_new0 (RbTimedCall, 1);
  char *payload = NULL;

  call->type_tag = g_strdup (type_tag);
  call->request = g_strndup (request, request_len);
  call->request_len = request_len;
  if (rb_timed_call_wait (self, call, type_tag, error))
    payload = g_steal_pointer (&call->payload);
  rb_timed_call_unref (call);
  return payload;
}

static GBytes *
rb_plugin_timed_call_raw (RbPlugin  *self,
                          guint32    message_id,
                          GBytes    *request,
                          GError   **error)
{
  RbTimedCall *call = g_new0 (RbTimedCall, 1);
  g_autofree char *what = g_strdup_printf ("raw message %u", message_id);
  GBytes *bytes = NULL;

  call->raw = TRUE;
  call->message_id = message_id;
  call->raw_request = g_bytes_ref (request);
  if (rb_timed_call_wait (self, call, what, error))
    bytes = g_steal_pointer (&call->bytes);
  rb_timed_call_unref (call);
  return bytes;
}

/* ---- the branch's targets ------------------------------------------------- */

char *
rb_plugin_backend_call (RbPlugin    *self,
                        const char  *type_tag,
                        const char  *request,
                        gsize        request_len,
                        GError     **error)
{
  if (self->backend == RB_BACKEND_ISOLATED)
    return rb_plugin_isolated_call (self, type_tag, request, request_len, error);
  return rb_plugin_timed_call (self, type_tag, request, request_len, error);
}

GBytes *
rb_plugin_backend_call_raw (RbPlugin  *self,
                            guint32    message_id,
                            GBytes    *request,
                            GError   **error)
{
  if (self->backend == RB_BACKEND_ISOLATED)
    return rb_plugin_isolated_call_raw (self, message_id, request, error);
  return rb_plugin_timed_call_raw (self, message_id, request, error);
}
