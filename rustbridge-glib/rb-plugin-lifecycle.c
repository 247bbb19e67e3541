/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "rb-error.h"
#include "rb-plugin-private.h"

/*
 * RbPlugin's life cycle: start (GInitable/GAsyncInitable), the start-up
 * events held until the creator has the object, and shutdown. The face
 * (rb-plugin.c) reaches it through rb-plugin-private.h.
 */

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

static gboolean rb_plugin_start_instance (RbPlugin    *self,
                                          const char  *config_json,
                                          GError     **error);

/* See rb-plugin-private.h: init, restart and reload share it. */
void *
rb_plugin_create_handle (RbPlugin    *self,
                         RbLibrary   *library,
                         RbLogSink   *sink,
                         const char  *path,
                         const char  *config_json,
                         RbLogLevel   log_level,
                         GError     **error)
{
  const RbAbi *abi = rb_library_get_abi (library);
  RbLogSink *previous;
  void *instance;
  void *handle;

  /* A factory plugin sees the config's `data` only through
   * plugin_create_with_config: give it the bytes plugin_init gets. The
   * factory may log, so the call is attributed to this instance. */
  previous = rb_library_enter_call (sink);
  if (abi->plugin_create_with_config != NULL)
    instance = abi->plugin_create_with_config ((const uint8_t *) config_json,
                                               strlen (config_json));
  else
    instance = abi->plugin_create ();
  rb_library_leave_call (previous);
  if (instance == NULL)
    {
      if (abi->plugin_create_with_config != NULL)
        g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                     "Plugin “%s” failed to start: plugin_create_with_config returned NULL "
                     "(the plugin rejected its configuration %s, or its factory failed)",
                     path, config_json);
      else
        g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                     "Plugin “%s” failed to start: plugin_create returned NULL "
                     "(its factory failed)", path);
      return NULL;
    }

  /* plugin_init owns the instance from here on, whatever it returns. */
  previous = rb_library_enter_call (sink);
  handle = abi->plugin_init (instance, (const uint8_t *) config_json, strlen (config_json),
                             rb_library_get_log_callback (library));
  rb_library_leave_call (previous);

  if (handle == NULL)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                   "Plugin “%s” failed to start: plugin_init returned NULL "
                   "(the plugin rejected its configuration %s, or its start-up failed)",
                   path, config_json);
      return NULL;
    }

  /* A handle that another instance still uses would be shut down twice and
   * used after that: never touch it (it is not ours to shut down). */
  if (!rb_library_claim_handle (library, handle))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                   "Plugin “%s” failed to start: plugin_init returned a handle (%p) "
                   "that another live instance of this plugin already uses",
                   path, handle);
      return NULL;
    }

  /* The plugin builds its log filter at the first plugin_init of the
   * library only: set the level again so that it holds after a restart. */
  previous = rb_library_enter_call (sink);
  abi->plugin_set_log_level (handle, (uint8_t) log_level);
  rb_library_leave_call (previous);
  return handle;
}

/* Starts an instance in process: STARTING -> ACTIVE, or FAILED with
 * @error. */
static gboolean
rb_plugin_start_in_process (RbPlugin    *self,
                            const char  *config_json,
                            GError     **error)
{
  RbLogLevel log_level = rb_plugin_config_get_log_level (self->config);

  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_STARTING);

  self->handle = rb_plugin_create_handle (self, self->library, &self->sink, self->path,
                                          config_json, log_level, error);
  if (self->handle == NULL)
    {
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      return FALSE;
    }
  g_mutex_lock (&self->handle_lock);
  self->handle_live = TRUE;
  g_mutex_unlock (&self->handle_lock);

  g_atomic_int_set (&self->log_level, log_level);
  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_ACTIVE);
  return TRUE;
}

static gboolean
rb_plugin_initable_init (GInitable     *initable,
                         GCancellable  *cancellable,
                         GError       **error)
{
  RbPlugin *self = RB_PLUGIN (initable);
  g_autofree char *config_json = NULL;

  /* GInitable: a second init reports what the first one did. */
  if (self->initialized)
    {
      if (self->init_error != NULL)
        {
          g_propagate_error (error, g_error_copy (self->init_error));
          return FALSE;
        }
      return TRUE;
    }
  self->initialized = TRUE;

  if (self->path == NULL)
    {
      g_set_error_literal (&self->init_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                           "Could not load plugin: no path was given");
      goto fail;
    }

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, &self->init_error))
    goto fail;

  if (self->config == NULL)
    self->config = rb_plugin_config_new ();
  if (!rb_plugin_backend_prepare (self, &self->init_error))
    goto fail;
  config_json = rb_plugin_config_to_json (self->config);

  /* An isolated plugin's library is never mapped here: the helper maps it. */
  if (self->backend != RB_BACKEND_ISOLATED)
    {
      self->library = rb_library_open (self->path, &self->init_error);
      if (self->library == NULL)
        goto fail;
      self->abi = rb_library_get_abi (self->library);
    }

  if (!rb_plugin_start_call_queue (self, &self->init_error))
    goto fail;

  if (self->library != NULL)
    {
      self->sink.func = rb_relay_log;
      self->sink.user_data = self->relay;
      rb_library_add_sink (self->library, &self->sink);
    }

  if (rb_plugin_start_instance (self, config_json, &self->init_error))
    return TRUE;

fail:
  g_propagate_error (error, g_error_copy (self->init_error));
  return FALSE;
}

/* A fresh instance (init and restart), in the plugin's back end. */
static gboolean
rb_plugin_start_instance (RbPlugin    *self,
                          const char  *config_json,
                          GError     **error)
{
  if (self->backend == RB_BACKEND_ISOLATED)
    return rb_plugin_backend_start_isolated (self, config_json, error);
  return rb_plugin_start_in_process (self, config_json, error);
}

/* ------------------------------------------------------------------ */
/* Start-up events                                                     */

/*
 * A plugin's start-up logs and state changes (INSTALLED → STARTING →
 * ACTIVE) happen before its creator has the object to connect handlers
 * to. So the relay holds them, from creation until the creator has it:
 * after GInitable.init returns (the caller connects before its main
 * context runs again), or after the callback of the async init (or of a
 * loader's own task, rb_plugin_hold_start_up_until()) has returned. Then
 * they are queued, in order, for the next iteration of the owner context.
 */

void
rb_plugin_release_start_up (RbPlugin *self)
{
  if (g_atomic_int_compare_and_exchange (&self->start_up_held, TRUE, FALSE))
    rb_relay_release (self->relay);
}

/* GTask:completed is notified once the task's callback has returned. */
static void
rb_plugin_task_completed_cb (GObject    *task,
                             GParamSpec *pspec,
                             gpointer    relay)
{
  rb_relay_release (relay);
  g_signal_handlers_disconnect_by_func (task, rb_plugin_task_completed_cb, relay);
}

static void
rb_plugin_hold_relay_until (RbRelay *relay,
                            GTask   *task)
{
  rb_relay_hold (relay);
  g_signal_connect_data (task, "notify::completed", G_CALLBACK (rb_plugin_task_completed_cb),
                         rb_relay_ref (relay), (GClosureNotify) G_CALLBACK (rb_relay_unref), 0);
}

void
rb_plugin_hold_start_up_until (RbPlugin *self,
                               GTask    *task)
{
  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (G_IS_TASK (task));

  rb_plugin_hold_relay_until (self->relay, task);
}

/* GInitable.init, called by the creator: the events wait for the owner
 * context's next iteration. */
static gboolean
rb_plugin_initable_init_and_release (GInitable     *initable,
                                     GCancellable  *cancellable,
                                     GError       **error)
{
  RbPlugin *self = RB_PLUGIN (initable);
  gboolean ok = rb_plugin_initable_init (initable, cancellable, error);

  if (g_atomic_int_compare_and_exchange (&self->start_up_held, TRUE, FALSE))
    rb_relay_release_later (self->relay);
  return ok;
}

void
rb_plugin_initable_iface_init (GInitableIface *iface)
{
  iface->init = rb_plugin_initable_init_and_release;
}

static void
rb_plugin_init_thread (GTask        *task,
                       gpointer      source_object,
                       gpointer      task_data,
                       GCancellable *cancellable)
{
  GError *error = NULL;

  if (rb_plugin_initable_init (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* GAsyncInitable.init_async: GInitable.init in a thread (loading is rare,
 * and plugin_init may block for a while); the start-up events wait until
 * the callback has returned. */
static void
rb_plugin_init_async (GAsyncInitable      *initable,
                      int                  io_priority,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  RbPlugin *self = RB_PLUGIN (initable);
  g_autoptr(GTask) task = g_task_new (initable, cancellable, callback, user_data);

  g_task_set_source_tag (task, rb_plugin_init_async);
  g_task_set_priority (task, io_priority);
  /* The plugin's own hold goes with this task's completion. */
  if (g_atomic_int_compare_and_exchange (&self->start_up_held, TRUE, FALSE))
    {
      rb_plugin_hold_relay_until (self->relay, task);
      rb_relay_release (self->relay);
    }
  g_task_run_in_thread (task, rb_plugin_init_thread);
}

static gboolean
rb_plugin_init_finish (GAsyncInitable  *initable,
                       GAsyncResult    *result,
                       GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, initable), FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
rb_plugin_async_initable_iface_init (GAsyncInitableIface *iface)
{
  iface->init_async = rb_plugin_init_async;
  iface->init_finish = rb_plugin_init_finish;
}

/* The shutdown, shutdown_lock held. */
static gboolean
rb_plugin_do_shutdown_locked (RbPlugin  *self,
                              GError   **error)
{
  RbLifecycleState state;
  gboolean ok = TRUE;

  state = g_atomic_int_get (&self->state);
  if (!self->handle_live)
    {
      /* Already stopped, or never started: nothing to do (idempotent). */
      return TRUE;
    }

  /* A helper that crashed has nothing left to stop: the plugin stays
   * FAILED, its calls have failed, only what they used is freed. */
  if (self->backend == RB_BACKEND_ISOLATED && !rb_isolated_is_alive (self->isolated))
    {
      rb_plugin_fail_queued_calls (self);
      g_mutex_lock (&self->handle_lock);
      self->handle_live = FALSE;
      g_mutex_unlock (&self->handle_lock);
      return rb_plugin_backend_shutdown_isolated (self, error);
    }

  /* New calls are refused from here on; async calls still queued fail
   * with INVALID_STATE now, without waiting for a worker (a worker that
   * took one just before sees the state and fails it the same way). */
  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_STOPPING);
  rb_plugin_fail_queued_calls (self);

  {
    guint timeout_ms = rb_plugin_config_get_shutdown_timeout_ms (self->config);
    gint64 end_time = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;

    /* The state above is published before this waits (seq_cst): a call
     * either entered in time to be waited for, or sees the new state. */
    rb_inflight_wait_idle (&self->inflight, end_time);
  }

  /* Calls the timeout gave up on may still run in the plugin (the
   * plugin's shutdown is what ends them); from here on nothing else asks
   * the plugin about the handle (rb_plugin_check_failed()). */
  g_mutex_lock (&self->handle_lock);
  self->handle_live = FALSE;
  g_mutex_unlock (&self->handle_lock);

  if (self->backend == RB_BACKEND_ISOLATED)
    {
      /* The helper runs plugin_shutdown; past shutdown-timeout-ms it is
       * killed. */
      ok = rb_plugin_backend_shutdown_isolated (self, error);
      rb_plugin_set_state (self, ok ? RB_LIFECYCLE_STATE_STOPPED : RB_LIFECYCLE_STATE_FAILED);
      return ok;
    }

  if (!self->abi->plugin_shutdown (self->handle))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED,
                   "Plugin “%s” failed to shut down (state before: %s)", self->path,
                   rb_lifecycle_state_name (state));
      ok = FALSE;
    }
  /* The plugin forgets the handle either way (and may hand its value out
   * again): never touch it again. */
  rb_library_release_handle (self->library, self->handle);
  rb_plugin_set_state (self, ok ? RB_LIFECYCLE_STATE_STOPPED : RB_LIFECYCLE_STATE_FAILED);
  return ok;
}

gboolean
rb_plugin_do_shutdown (RbPlugin  *self,
                       GError   **error)
{
  gboolean ok;

  g_mutex_lock (&self->shutdown_lock);
  ok = rb_plugin_do_shutdown_locked (self, error);
  g_mutex_unlock (&self->shutdown_lock);
  return ok;
}

/* Stops what runs (if anything) and starts a fresh instance. */
static gboolean
rb_plugin_do_restart (RbPlugin  *self,
                      GError   **error)
{
  g_autofree char *config_json = NULL;
  g_autoptr(GError) shutdown_error = NULL;
  RbLifecycleState state;
  gboolean ok;

  g_mutex_lock (&self->shutdown_lock);
  state = g_atomic_int_get (&self->state);
  if (!self->initialized || (self->library == NULL && self->backend != RB_BACKEND_ISOLATED) ||
      (state != RB_LIFECYCLE_STATE_ACTIVE && state != RB_LIFECYCLE_STATE_FAILED &&
       state != RB_LIFECYCLE_STATE_STOPPED))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
                   "Plugin “%s” cannot be restarted (state: %s)", self->path,
                   rb_lifecycle_state_name (state));
      g_mutex_unlock (&self->shutdown_lock);
      return FALSE;
    }

  /* A plugin that fails to shut down has lost its handle all the same:
   * start anew either way. */
  if (!rb_plugin_do_shutdown_locked (self, &shutdown_error))
    g_debug ("%s", shutdown_error->message);

  config_json = rb_plugin_config_to_json (self->config);
  ok = rb_plugin_start_instance (self, config_json, error);
  g_mutex_unlock (&self->shutdown_lock);
  return ok;
}

/* The operations of shutdown and restart, sync or async (an async task
 * carries its operation as its task data). */
typedef enum {
  RB_PLUGIN_OP_SHUTDOWN,
  RB_PLUGIN_OP_RESTART,
} RbPluginOp;

static gboolean (* const rb_plugin_op_funcs[]) (RbPlugin  *self,
                                                GError   **error) = {
  [RB_PLUGIN_OP_SHUTDOWN] = rb_plugin_do_shutdown,
  [RB_PLUGIN_OP_RESTART] = rb_plugin_do_restart,
};

/* The sync form: @op, unless @cancellable is already cancelled. */
static gboolean
rb_plugin_run_op (RbPlugin      *self,
                  RbPluginOp     op,
                  GCancellable  *cancellable,
                  GError       **error)
{
  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  return rb_plugin_op_funcs[op] (self, error);
}

static void
rb_plugin_op_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  GError *error = NULL;

  if (rb_plugin_op_funcs[GPOINTER_TO_INT (task_data)] (source_object, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/* The async form: @op in a thread for @task (its source tag set by the
 * public function), unless its cancellable is already cancelled. */
static void
rb_plugin_run_op_in_thread (GTask      *task,
                            RbPluginOp  op)
{
  g_task_set_task_data (task, GINT_TO_POINTER (op), NULL);
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_run_in_thread (task, rb_plugin_op_thread);
}

/**
 * rb_plugin_shutdown:
 * @self: a #RbPlugin
 * @cancellable: (nullable): a #GCancellable, checked before shutting down
 * @error: return location for a #GError
 *
 * Stops the plugin: new calls fail with %RB_PLUGIN_ERROR_INVALID_STATE,
 * async calls still waiting in the queue (not yet running) fail at once
 * with %RB_PLUGIN_ERROR_INVALID_STATE and never reach the plugin, calls
 * in flight get up to [property@RustBridge.PluginConfig:shutdown-timeout-ms]
 * to finish, then the plugin's own shutdown runs, whatever is still running.
 *
 * The timeout bounds only that wait. The plugin's own shutdown comes on
 * top of it: it gives the plugin's stop code up to 5 seconds and its
 * runtime up to 2.5 more, and it may wait for a handler that is still
 * running; calls that race with it fail with %RB_PLUGIN_ERROR_INVALID_STATE
 * or %RB_PLUGIN_ERROR_RUNTIME. A failed plugin (after a panic) shuts down
 * successfully. This blocks for as long as the calls in flight run: on a
 * main thread, use [method@RustBridge.Plugin.shutdown_async]. Shutting down
 * a plugin that is already stopped does nothing and succeeds. Disposing a
 * plugin shuts it down too.
 *
 * Returns: %TRUE on success, or %FALSE with @error set
 *   (%RB_PLUGIN_ERROR_SHUTDOWN_FAILED; the plugin is then in the failed
 *   state and its handle is gone)
 */
gboolean
rb_plugin_shutdown (RbPlugin      *self,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return rb_plugin_run_op (self, RB_PLUGIN_OP_SHUTDOWN, cancellable, error);
}

static void
rb_plugin_shutdown_completed_cb (GObject    *task,
                                 GParamSpec *pspec,
                                 gpointer    application)
{
  g_application_release (application);
  g_signal_handlers_disconnect_by_func (task, rb_plugin_shutdown_completed_cb, application);
}

/**
 * rb_plugin_shutdown_async:
 * @self: a #RbPlugin
 * @cancellable: (nullable): a #GCancellable, checked before shutting down
 * @callback: (scope async): called when the plugin has stopped
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.shutdown] in a thread: the caller's
 * main loop goes on while calls in flight finish. Async calls still
 * queued fail at once with %RB_PLUGIN_ERROR_INVALID_STATE (their
 * callbacks run in their own main contexts, as usual).
 *
 * If the process has a default [class@Gio.Application]
 * ([func@Gio.Application.get_default]), the shutdown holds it
 * ([method@Gio.Application.hold]) until @callback has returned, so that
 * an application whose last window closed does not quit before its
 * plugin has stopped: call this from the window's
 * [signal@Gtk.Window::close-request] handler, let the window close, and
 * the application's [method@Gio.Application.run] returns once the plugin
 * is stopped. See the GTK recipe in [threading](threading.html).
 */
void
rb_plugin_shutdown_async (RbPlugin            *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GApplication *application;

  g_return_if_fail (RB_IS_PLUGIN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_plugin_shutdown_async);

  /* Released in the task's context once the callback has returned (a
   * GApplication is not to be released from another thread). */
  application = g_application_get_default ();
  if (application != NULL)
    {
      g_application_hold (application);
      g_signal_connect_data (task, "notify::completed", G_CALLBACK (rb_plugin_shutdown_completed_cb),
                             g_object_ref (application), (GClosureNotify) G_CALLBACK (g_object_unref),
                             0);
    }

  rb_plugin_run_op_in_thread (task, RB_PLUGIN_OP_SHUTDOWN);
}

/**
 * rb_plugin_shutdown_finish:
 * @self: a #RbPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Plugin.shutdown_async].
 *
 * Returns: %TRUE on success, or %FALSE with @error set
 */
gboolean
rb_plugin_shutdown_finish (RbPlugin      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_plugin_shutdown_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}


/**
 * rb_plugin_restart:
 * @self: a #RbPlugin
 * @cancellable: (nullable): a #GCancellable, checked before restarting
 * @error: return location for a #GError
 *
 * Starts a fresh instance of the plugin, from the same file (or bundle)
 * with the same configuration: after a crash of an isolated plugin
 * (`FAILED`, see [property@RustBridge.Plugin:crash-count]), or to reset
 * one that is `ACTIVE` (it is shut down first, as by
 * [method@RustBridge.Plugin.shutdown]) or `STOPPED`. The state goes
 * through `STARTING` to `ACTIVE`, notified in the owner context as at
 * creation. Calls made while the restart runs fail with
 * %RB_PLUGIN_ERROR_INVALID_STATE (or, after a crash,
 * %RB_PLUGIN_ERROR_CRASHED). This blocks while the plugin stops and
 * starts: on a main thread, use [method@RustBridge.Plugin.restart_async].
 *
 * A plugin loaded from a bundle restarts from the same sealed memfd (in
 * every isolation mode); one that was extracted to a file (the fallback
 * where memfds are unavailable) restarts only while that file is still
 * there when isolated (in-process plugins always can: their library stays
 * mapped).
 *
 * Returns: %TRUE when the plugin is active again, or %FALSE with @error
 *   set (%RB_PLUGIN_ERROR_INVALID_STATE when the plugin never started or
 *   is starting or stopping; the errors of [ctor@RustBridge.Plugin.new]
 *   when the new instance failed to start, leaving the plugin `FAILED`)
 */
gboolean
rb_plugin_restart (RbPlugin      *self,
                   GCancellable  *cancellable,
                   GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return rb_plugin_run_op (self, RB_PLUGIN_OP_RESTART, cancellable, error);
}

/**
 * rb_plugin_restart_async:
 * @self: a #RbPlugin
 * @cancellable: (nullable): a #GCancellable, checked before restarting
 * @callback: (scope async): called when the plugin has restarted
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.restart] in a thread.
 */
void
rb_plugin_restart_async (RbPlugin            *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RB_IS_PLUGIN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_plugin_restart_async);
  rb_plugin_run_op_in_thread (task, RB_PLUGIN_OP_RESTART);
}

/**
 * rb_plugin_restart_finish:
 * @self: a #RbPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Plugin.restart_async].
 *
 * Returns: %TRUE when the plugin is active again, or %FALSE with @error set
 */
gboolean
rb_plugin_restart_finish (RbPlugin      *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_plugin_restart_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
