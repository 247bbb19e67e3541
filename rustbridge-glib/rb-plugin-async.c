/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include <gio/gio.h>

#include "rb-error.h"
#include "rb-plugin-private.h"

/*
 * RbPlugin's async calls: an RbCall per call, queued on the plugin's call
 * queue (rb-call-queue-private.h), run by a pool worker through the same
 * code as a sync call, and completed on the dispatcher of the caller's
 * main context (rb-dispatch-private.h).
 */

typedef enum {
  RB_CALL_JSON,
  RB_CALL_JSON_NODE,
  RB_CALL_RAW,
} RbCallKind;

/*
 * One async call. Both of its completions — the worker's result and an
 * early cancellation — are delivered through the dispatcher of the task's
 * context, so deciding which one wins needs no lock: it happens on one
 * thread. The worker never drops the last reference of anything it did
 * not allocate.
 */
typedef struct {
  gatomicrefcount  ref;
  RbPlugin        *plugin;      /* owned: the worker may outlive the task */
  /* The GTask is made by rb_call_make_task() just before delivery: one
   * waiting in the queue would keep its context alive, and a context
   * dropped without being iterated could never free it (nor the queue,
   * nor the plugin). */
  GTask           *task;        /* dispatcher thread only */
  GAsyncReadyCallback callback;
  gpointer         user_data;
  gpointer         source_tag;
  RbDispatcher    *dispatcher;  /* owned */
  GCancellable    *cancellable; /* owned: the call may outlive the task */
  gulong           cancelled_id;
  gboolean         returned;    /* dispatcher thread only */

  RbCallKind       kind;
  char            *type_tag;
  char            *request;
  GBytes          *raw_request;
  guint32          message_id;

  /* Result, written by the worker before it pushes the completion. */
  char            *payload;
  JsonNode        *node;        /* RB_CALL_JSON_NODE: parsed by the worker */
  GBytes          *raw_response;
  GError          *error;
} RbCall;

static RbCall *
rb_call_ref (RbCall *call)
{
  g_atomic_ref_count_inc (&call->ref);
  return call;
}

static void
rb_call_unref (gpointer data)
{
  RbCall *call = data;

  if (!g_atomic_ref_count_dec (&call->ref))
    return;

  g_clear_object (&call->task);
  g_clear_object (&call->cancellable);
  g_clear_object (&call->plugin);
  g_clear_pointer (&call->dispatcher, rb_dispatcher_unref);
  g_free (call->type_tag);
  g_free (call->request);
  g_clear_pointer (&call->raw_request, g_bytes_unref);
  g_free (call->payload);
  g_clear_pointer (&call->node, json_node_unref);
  g_clear_pointer (&call->raw_response, g_bytes_unref);
  g_clear_error (&call->error);
  g_free (call);
}

/* On the task's context: returns the task once; a late result is freed
 * with the call. */
static void
rb_call_return (RbCall *call,
                GError *cancel_error)
{
  GTask *task;

  if (call->returned)
    return;
  call->returned = TRUE;

  if (call->cancelled_id != 0)
    {
      g_cancellable_disconnect (call->cancellable, call->cancelled_id);
      call->cancelled_id = 0;
    }

  task = g_steal_pointer (&call->task);

  if (cancel_error != NULL)
    g_task_return_error (task, cancel_error);
  else if (call->error != NULL)
    g_task_return_error (task, g_steal_pointer (&call->error));
  else if (call->kind == RB_CALL_RAW)
    g_task_return_pointer (task, g_steal_pointer (&call->raw_response),
                           (GDestroyNotify) g_bytes_unref);
  else if (call->kind == RB_CALL_JSON_NODE)
    g_task_return_pointer (task, g_steal_pointer (&call->node), (GDestroyNotify) json_node_unref);
  else
    g_task_return_pointer (task, g_steal_pointer (&call->payload), g_free);

  g_object_unref (task);
}

/* A completion that can no longer be delivered: its context went without
 * running it (the callback is never called). */
static void
rb_call_drop (gpointer data)
{
  RbCall *call = data;

  if (!call->returned && call->cancelled_id != 0)
    {
      g_cancellable_disconnect (call->cancellable, call->cancelled_id);
      call->cancelled_id = 0;
    }
  rb_call_unref (call);
}

/* The dispatcher's prepare function (on the task's context, which is the
 * thread-default): makes the task that a completion or a cancellation
 * returns. */
static void
rb_call_make_task (gpointer data)
{
  RbCall *call = data;

  if (call->task != NULL || call->returned)
    return;
  call->task = g_task_new (call->plugin, call->cancellable, call->callback, call->user_data);
  g_task_set_source_tag (call->task, call->source_tag);
}

static void
rb_call_complete_in_context (gpointer data)
{
  RbCall *call = data;

  rb_call_return (call, NULL);
  rb_call_unref (call);
}

static void
rb_call_cancel_in_context (gpointer data)
{
  RbCall *call = data;

  if (!call->returned)
    rb_call_return (call, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                               "Operation was cancelled"));
  rb_call_unref (call);
}

/* Runs in whatever thread cancelled. */
static void
rb_call_cancelled_cb (GCancellable *cancellable,
                      gpointer      data)
{
  RbCall *call = data;

  rb_dispatcher_push_full (call->dispatcher, rb_call_make_task, rb_call_cancel_in_context,
                           rb_call_unref, rb_call_ref (call));
}

/* Runs one async call on a pool thread (the call queue's run). */
static void
rb_call_run (gpointer data)
{
  RbCall *call = data;
  RbPlugin *self = call->plugin;

  if (call->cancellable != NULL &&
      g_cancellable_set_error_if_cancelled (call->cancellable, &call->error))
    ;  /* cancelled before it started: the plugin never sees it */
  else if (call->kind == RB_CALL_RAW)
    call->raw_response = rb_plugin_invoke_raw_bytes (self, call->message_id, call->raw_request,
                                                     &call->error);
  else
    call->payload = rb_plugin_invoke_json_text (self, call->type_tag, call->request,
                                                call->request != NULL ? strlen (call->request) : 0,
                                                &call->error);

  /* A large reply must not be parsed on the caller's main loop. */
  if (call->kind == RB_CALL_JSON_NODE && call->payload != NULL)
    call->node = rb_plugin_payload_to_node (self, g_steal_pointer (&call->payload), &call->error);
}

/* The call left the queue's bound: hand it to its context. */
static void
rb_call_complete (gpointer data)
{
  RbCall *call = data;

  /* Hands our reference to the dispatcher: nothing below this line. */
  rb_dispatcher_push_full (call->dispatcher, rb_call_make_task, rb_call_complete_in_context,
                           rb_call_drop, call);
}

/* A call that was still waiting at shutdown: it never reaches the plugin. */
static void
rb_call_fail_waiting (gpointer data)
{
  RbCall *call = data;

  g_set_error (&call->error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
               "Plugin “%s” is shutting down: the call was still queued and was not made",
               call->plugin->path);
  rb_call_complete (call);
}

void
rb_plugin_fail_queued_calls (RbPlugin *self)
{
  if (self->calls != NULL)
    rb_call_queue_take_waiting (self->calls, rb_call_fail_waiting);
}

gboolean
rb_plugin_start_call_queue (RbPlugin  *self,
                            GError   **error)
{
  guint max_ops = rb_plugin_config_get_max_concurrent_ops (self->config);
  guint max_queued = rb_plugin_config_get_max_queued_calls (self->config);

  /* The default bound; with no limit on the plugin's side (0) it is the
   * one of the default max-concurrent-ops (1000), never unbounded. */
  if (max_queued == 0)
    max_queued = (guint) MIN ((guint64) (max_ops != 0 ? max_ops : 1000) * 64, G_MAXINT32);

  /* A pool of our own rather than GLib's shared GTask pool: plugin calls
   * block for as long as their handlers run, and must neither starve nor
   * be starved by other libraries' tasks in the process. Its size follows
   * the plugin's runtime (worker-threads) and never exceeds what the
   * plugin admits at once. */
  self->calls = rb_call_queue_new (rb_call_queue_pool_size (rb_plugin_config_get_worker_threads (self->config),
                                                           max_ops),
                                   max_queued, rb_call_run, rb_call_complete, error);
  return self->calls != NULL;
}

static void
rb_plugin_start_call (RbPlugin            *self,
                      RbCall              *call,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data,
                      gpointer             source_tag)
{
  GMainContext *context;
  GError *error = NULL;

  g_atomic_ref_count_init (&call->ref);
  call->plugin = g_object_ref (self);
  call->callback = callback;
  call->user_data = user_data;
  call->source_tag = source_tag;
  /* A reference of its own: the task (and its reference) goes as soon as
   * the call completes as cancelled, while the call may still wait for a
   * worker that looks at the cancellable. */
  call->cancellable = cancellable != NULL ? g_object_ref (cancellable) : NULL;

  /* The common case: the caller's context is the owner's. */
  context = g_main_context_get_thread_default ();
  if (rb_dispatcher_is_for_context (self->owner, context))
    call->dispatcher = rb_dispatcher_ref (self->owner);
  else
    call->dispatcher = rb_dispatcher_get_for_context (context);

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, &error))
    goto fail;
  if (call->kind == RB_CALL_RAW ? !rb_plugin_check_raw (self, &error)
                                : !rb_plugin_check_type_tag_ext (self, call->type_tag, &error))
    goto fail;

  {
    RbLifecycleState state = g_atomic_int_get (&self->state);

    if (state != RB_LIFECYCLE_STATE_ACTIVE && !rb_plugin_reload_is_switching (self))
      {
        rb_plugin_set_inactive_error (self, state, &error);
        goto fail;
      }
  }

  if (cancellable != NULL)
    call->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (rb_call_cancelled_cb),
                                                rb_call_ref (call), rb_call_unref);

  /* Backpressure: bounded queue, rejected at once when full. */
  if (G_LIKELY (rb_call_queue_try_push (self->calls, call)))
    return;

  __atomic_fetch_add (&self->host_rejected, 1, __ATOMIC_RELAXED);
  g_set_error (&error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_TOO_MANY_REQUESTS,
               "Too many queued calls for plugin “%s” (limit %u)", self->path,
               rb_call_queue_get_max_queued (self->calls));
  if (call->cancelled_id != 0)
    {
      g_cancellable_disconnect (cancellable, call->cancelled_id);
      call->cancelled_id = 0;
    }

fail:
  call->returned = TRUE;
  g_task_report_error (self, callback, user_data, source_tag, error);
  rb_call_unref (call);
}

static RbCall *
rb_call_new (RbCallKind kind)
{
  RbCall *call = g_new0 (RbCall, 1);
  call->kind = kind;
  return call;
}

/**
 * rb_plugin_call_async:
 * @self: a #RbPlugin
 * @type_tag: the message type
 * @request_json: (nullable): the request as JSON text (copied)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the call completes
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.call] on the plugin's worker pool.
 * @callback runs in the thread-default main context of the caller.
 *
 * Cancelling @cancellable before the call starts keeps it from reaching
 * the plugin; cancelling it while the plugin runs completes the call at
 * once with %G_IO_ERROR_CANCELLED (the plugin's late result is discarded).
 * When more than [property@RustBridge.PluginConfig:max-queued-calls] async
 * calls are waiting, the call fails at once with
 * %RB_PLUGIN_ERROR_TOO_MANY_REQUESTS.
 */
void
rb_plugin_call_async (RbPlugin            *self,
                      const char          *type_tag,
                      const char          *request_json,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  RbCall *call;

  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (type_tag != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  call = rb_call_new (RB_CALL_JSON);
  call->type_tag = g_strdup (type_tag);
  call->request = g_strdup (request_json);
  rb_plugin_start_call (self, call, cancellable, callback, user_data, rb_plugin_call_async);
}

/**
 * rb_plugin_call_finish:
 * @self: a #RbPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Plugin.call_async].
 *
 * Returns: (transfer full): the response payload as JSON text, or %NULL
 *   with @error set
 */
char *
rb_plugin_call_finish (RbPlugin      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_plugin_call_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * rb_plugin_call_json_async:
 * @self: a #RbPlugin
 * @type_tag: the message type
 * @request: (nullable): the request (serialised before this returns)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the call completes
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.call_json] on the plugin's worker pool;
 * see [method@RustBridge.Plugin.call_async]. The reply is parsed on the
 * worker too: a large one does not hold up the caller's main loop.
 */
void
rb_plugin_call_json_async (RbPlugin            *self,
                           const char          *type_tag,
                           JsonNode            *request,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  RbCall *call;

  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (type_tag != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  call = rb_call_new (RB_CALL_JSON_NODE);
  call->type_tag = g_strdup (type_tag);
  call->request = rb_plugin_request_from_node (request);
  rb_plugin_start_call (self, call, cancellable, callback, user_data, rb_plugin_call_json_async);
}

/**
 * rb_plugin_call_json_finish:
 * @self: a #RbPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Plugin.call_json_async].
 *
 * Returns: (transfer full): the response payload, or %NULL with @error set
 */
JsonNode *
rb_plugin_call_json_finish (RbPlugin      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_plugin_call_json_async, NULL);

  /* Parsed by the worker (rb_call_run()). */
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * rb_plugin_call_raw_async:
 * @self: a #RbPlugin
 * @message_id: the binary message id
 * @request: the request struct (a reference is kept; not copied)
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the call completes
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.call_raw] on the plugin's worker pool;
 * see [method@RustBridge.Plugin.call_async].
 */
void
rb_plugin_call_raw_async (RbPlugin            *self,
                          guint32              message_id,
                          GBytes              *request,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  RbCall *call;

  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (request != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  call = rb_call_new (RB_CALL_RAW);
  call->message_id = message_id;
  call->raw_request = g_bytes_ref (request);
  rb_plugin_start_call (self, call, cancellable, callback, user_data, rb_plugin_call_raw_async);
}

/**
 * rb_plugin_call_raw_finish:
 * @self: a #RbPlugin
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@RustBridge.Plugin.call_raw_async].
 *
 * Returns: (transfer full): the response struct, or %NULL with @error set
 */
GBytes *
rb_plugin_call_raw_finish (RbPlugin      *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rb_plugin_call_raw_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

