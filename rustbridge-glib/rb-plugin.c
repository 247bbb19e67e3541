/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-abi-private.h"
#include "rb-dispatch-private.h"
#include "rb-enum-types.h"
#include "rb-envelope-private.h"
#include "rb-error.h"
#include "rb-inflight-private.h"
#include "rb-library-private.h"
#include "rb-plugin-private.h"
#include "rb-plugin.h"

/**
 * RbPlugin:
 *
 * A loaded rustbridge plugin.
 *
 * `RbPlugin` maps a plugin library (once per file, for the life of the
 * process), starts one plugin instance in it and calls its handlers:
 * JSON calls with [method@RustBridge.Plugin.call] and
 * [method@RustBridge.Plugin.call_json], binary calls with
 * [method@RustBridge.Plugin.call_raw]. Every blocking operation has an
 * `_async` variant whose result arrives in the thread-default
 * [struct@GLib.MainContext] of the caller; async calls run on a worker pool
 * owned by the plugin.
 *
 * ```c
 * g_autoptr(GError) error = NULL;
 * g_autoptr(RbPlugin) plugin = rb_plugin_new ("libhello.so", NULL, NULL, &error);
 * g_autofree char *reply = NULL;
 *
 * if (plugin != NULL)
 *   reply = rb_plugin_call (plugin, "echo", "{\"message\":\"hi\"}", NULL, &error);
 * ```
 *
 * ## Threads and contexts
 *
 * Calls may be made from any thread. The [signal@RustBridge.Plugin::log]
 * and [signal@RustBridge.Plugin::state-changed] signals and every property
 * notification are emitted in the main context that was thread-default
 * when the plugin was created (its *owner context*), never in a plugin
 * thread; they need that context to be iterated.
 *
 * ## Library-wide behaviour
 *
 * Some plugin settings are global to a plugin library rather than to one
 * instance ([plugin ABI](plugin-abi.html)): the log level, the log callback (every shutdown
 * of an instance clears it for the other instances of the same file), and
 * the binary handlers (after one instance of a file shuts down, raw calls
 * on the other instances fail with %RB_PLUGIN_ERROR_UNKNOWN_MESSAGE).
 * `RbPlugin` reports these as the plugin does and does not hide them.
 */

/* Undelivered log messages a plugin may have queued for its owner
 * context, by count and by bytes; more are dropped and counted. */
#define MAX_PENDING_LOG_MESSAGES 4096
#define MAX_PENDING_LOG_BYTES    (8 * 1024 * 1024)
/* A longer message is cut there, with a marker saying how long it was. */
#define MAX_LOG_MESSAGE_BYTES    (64 * 1024)
/* A longer target (a module path) is cut, without a marker. */
#define MAX_LOG_TARGET_BYTES     1024

typedef struct _RbRelay RbRelay;

struct _RbPlugin {
  GObject           parent_instance;

  char             *path;
  RbPluginConfig   *config;
  char             *bundle_name;
  char             *bundle_version;

  RbLibrary        *library;      /* unowned: mapped for the process's life */
  const RbAbi      *abi;
  /* Set once by init and never changed: calls read it without a lock
   * (admission keeps them away from a shut-down handle). What else asks
   * the plugin about it outside admission checks `handle_live` under
   * `handle_lock` first. */
  void             *handle;
  GMutex            handle_lock;
  gboolean          handle_live;  /* guarded by handle_lock (and shutdown_lock to write) */

  gint              state;        /* RbLifecycleState, atomic */
  gint              log_level;    /* RbLogLevel, atomic */
  gboolean          initialized;
  GError           *init_error;

  /* Admission: calls in flight and the shutdown that waits for them. */
  RbInflight        inflight;
  GMutex            shutdown_lock;/* serialises shutdowns */

  /* Async calls: submitted calls wait in `submitted`; the pool runs
   * "drainers" that take calls until the queue stays empty. */
  GThreadPool      *pool;
  GMutex            submit_lock;
  GCond             submit_cond;
  GQueue            submitted;    /* RbCall *, guarded by submit_lock */
  gint              n_submitted;  /* atomic mirror of submitted.length */
  guint             drainers;     /* guarded by submit_lock */
  guint             max_drainers;
  gboolean          closing;      /* guarded by submit_lock */
  gint              queued;       /* atomic: admitted to the pool, not finished */
  guint             max_queued;
  guint64           host_rejected;/* atomic */

  /* Signals and notifications go to the owner context. */
  GThread          *owner_thread;
  RbDispatcher     *owner;
  RbRelay          *relay;
  RbLogSink         sink;
};

/* Carries log messages and state changes from any thread to the owner
 * context without keeping the plugin alive. */
struct _RbRelay {
  gatomicrefcount ref;
  GWeakRef        plugin;
  gint            pending_logs;   /* atomic */
  gsize           pending_bytes;  /* atomic */
  gint            pending_states; /* atomic */
  gint            drop_notify_queued; /* atomic */
  gint            drop_reported;  /* owner context only */
  guint64         dropped;        /* atomic */
};

static void rb_plugin_initable_iface_init       (GInitableIface      *iface);
static void rb_plugin_async_initable_iface_init (GAsyncInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RbPlugin, rb_plugin, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, rb_plugin_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_ASYNC_INITABLE, rb_plugin_async_initable_iface_init))

enum {
  PROP_0,
  PROP_PATH,
  PROP_CONFIG,
  PROP_STATE,
  PROP_LOG_LEVEL,
  PROP_REJECTED_REQUEST_COUNT,
  PROP_HAS_BINARY_TRANSPORT,
  PROP_BUNDLE_NAME,
  PROP_BUNDLE_VERSION,
  PROP_DROPPED_LOG_COUNT,
  N_PROPS
};

enum {
  SIGNAL_LOG,
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ------------------------------------------------------------------ */
/* Relay                                                               */

static RbRelay *
rb_relay_new (RbPlugin *plugin)
{
  RbRelay *relay = g_new0 (RbRelay, 1);

  g_atomic_ref_count_init (&relay->ref);
  g_weak_ref_init (&relay->plugin, plugin);
  return relay;
}

static RbRelay *
rb_relay_ref (RbRelay *relay)
{
  g_atomic_ref_count_inc (&relay->ref);
  return relay;
}

static void
rb_relay_unref (RbRelay *relay)
{
  if (g_atomic_ref_count_dec (&relay->ref))
    {
      g_weak_ref_clear (&relay->plugin);
      g_free (relay);
    }
}

typedef struct {
  RbRelay *relay;
  gsize    size;    /* counted in relay->pending_bytes */
  guint8   level;
  char    *target;  /* points into message's allocation */
  char     message[];
} RbLogItem;

static GLogLevelFlags
glib_level_for (RbLogLevel level)
{
  /* Never ERROR (always fatal) nor WARNING/CRITICAL (fatal under GTest and
   * G_DEBUG=fatal-warnings): a plugin's error is an event of the
   * application, not a bug in the host. The severity survives in the
   * PRIORITY field (syslog numbering) for the journal. */
  switch (level)
    {
    case RB_LOG_LEVEL_TRACE:
    case RB_LOG_LEVEL_DEBUG:
      return G_LOG_LEVEL_DEBUG;
    case RB_LOG_LEVEL_INFO:
      return G_LOG_LEVEL_INFO;
    case RB_LOG_LEVEL_WARN:
    case RB_LOG_LEVEL_ERROR:
    case RB_LOG_LEVEL_OFF:
    default:
      return G_LOG_LEVEL_MESSAGE;
    }
}

static const char *
syslog_priority_for (RbLogLevel level)
{
  switch (level)
    {
    case RB_LOG_LEVEL_TRACE:
    case RB_LOG_LEVEL_DEBUG:
      return "7";
    case RB_LOG_LEVEL_INFO:
      return "6";
    case RB_LOG_LEVEL_WARN:
      return "4";
    case RB_LOG_LEVEL_ERROR:
    case RB_LOG_LEVEL_OFF:
    default:
      return "3";
    }
}

static void
rb_log_item_free (gpointer data)
{
  RbLogItem *item = data;

  g_atomic_int_add (&item->relay->pending_logs, -1);
  g_atomic_pointer_add (&item->relay->pending_bytes, -(gssize) item->size);
  rb_relay_unref (item->relay);
  g_free (item);
}

static void
rb_relay_deliver_log (gpointer data)
{
  RbLogItem *item = data;
  g_autoptr(RbPlugin) plugin = g_weak_ref_get (&item->relay->plugin);

  if (plugin != NULL)
    g_signal_emit (plugin, signals[SIGNAL_LOG], 0,
                   (RbLogLevel) item->level, item->target, item->message);
  rb_log_item_free (item);
}

static void rb_plugin_log_dropped (RbPlugin *self);

/* A message and its target, cut to their caps, as valid UTF-8 without
 * NUL bytes (a signal argument must be), with a marker if cut. */
static RbLogItem *
rb_log_item_new (RbRelay    *relay,
                 guint8      level,
                 const char *target,
                 gsize       target_len,
                 const char *message,
                 gsize       message_len,
                 gsize       keep)
{
  g_autofree char *fixed_msg = NULL, *fixed_target = NULL;
  char marker[80];
  gsize marker_len = 0;
  RbLogItem *item;

  if (keep < message_len)
    marker_len = (gsize) g_snprintf (marker, sizeof marker,
                                     " [truncated: %" G_GSIZE_FORMAT " bytes in all]",
                                     message_len);

  /* The plugin promises UTF-8; trust it no more than the rest. */
  if (!g_utf8_validate_len (message, keep, NULL) || memchr (message, '\0', keep) != NULL)
    {
      fixed_msg = g_utf8_make_valid (message, (gssize) keep);
      message = fixed_msg;
      keep = strlen (fixed_msg);
    }
  if (!g_utf8_validate_len (target, target_len, NULL))
    {
      fixed_target = g_utf8_make_valid (target, (gssize) target_len);
      target = fixed_target;
      target_len = strlen (fixed_target);
    }

  item = g_malloc (sizeof (RbLogItem) + keep + marker_len + 1 + target_len + 1);
  item->relay = relay;
  item->level = level;
  item->size = sizeof (RbLogItem) + keep + marker_len + 1 + target_len + 1;
  if (keep > 0)
    memcpy (item->message, message, keep);
  memcpy (item->message + keep, marker, marker_len);
  item->message[keep + marker_len] = '\0';
  item->target = item->message + keep + marker_len + 1;
  if (target_len > 0)
    memcpy (item->target, target, target_len);
  item->target[target_len] = '\0';
  return item;
}

/* Runs on any thread, under the library's sink lock. Whatever the plugin
 * passes, nothing here logs through GLib (a plugin must not be able to
 * make its host's log fatal): drops are counted, and reported on the
 * owner context. */
static void
rb_plugin_sink_func (gpointer     user_data,
                     guint8       level,
                     const char  *target,
                     const char  *message,
                     gsize        message_len)
{
  RbPlugin *self = user_data;
  RbRelay *relay = self->relay;
  RbLogItem *item;
  gsize keep, target_len, bytes_pending;
  gint n_pending;

  /* No NULL reaches memchr() and friends, even with a length of 0. */
  if (message == NULL)
    {
      message = "";
      message_len = 0;
    }
  if (target == NULL)
    target = "";
  keep = MIN (message_len, MAX_LOG_MESSAGE_BYTES);
  target_len = strnlen (target, MAX_LOG_TARGET_BYTES);

  /* A cheap look first: a storm against a full queue costs no copy. */
  if (g_atomic_int_get (&relay->pending_logs) >= MAX_PENDING_LOG_MESSAGES ||
      (gsize) g_atomic_pointer_get (&relay->pending_bytes) + keep > MAX_PENDING_LOG_BYTES)
    {
      rb_plugin_log_dropped (self);
      return;
    }

  if (level > RB_LOG_LEVEL_OFF)
    level = RB_LOG_LEVEL_ERROR;
  item = rb_log_item_new (relay, level, target, target_len, message, message_len, keep);

  /* Reserve for real (other threads log too). */
  n_pending = g_atomic_int_add (&relay->pending_logs, 1);
  bytes_pending = (gsize) g_atomic_pointer_add (&relay->pending_bytes, (gssize) item->size);
  if (n_pending >= MAX_PENDING_LOG_MESSAGES || bytes_pending + item->size > MAX_PENDING_LOG_BYTES)
    {
      g_atomic_int_add (&relay->pending_logs, -1);
      g_atomic_pointer_add (&relay->pending_bytes, -(gssize) item->size);
      g_free (item);
      rb_plugin_log_dropped (self);
      return;
    }

  rb_relay_ref (relay);
  rb_dispatcher_push (self->owner, rb_relay_deliver_log, rb_log_item_free, item);
}

static void
rb_plugin_real_log (RbPlugin   *self,
                    RbLogLevel  level,
                    const char *target,
                    const char *message)
{
  const GLogField fields[] = {
    { "MESSAGE", message, -1 },
    { "PRIORITY", syslog_priority_for (level), -1 },
    { "GLIB_DOMAIN", G_LOG_DOMAIN, -1 },
    { "RB_PLUGIN_TARGET", target, -1 },
    { "RB_PLUGIN_PATH", self->path, -1 },
  };

  g_log_structured_array (glib_level_for (level), fields, G_N_ELEMENTS (fields));
}

/* ------------------------------------------------------------------ */
/* State                                                               */

typedef struct {
  RbRelay          *relay;
  RbLifecycleState  old_state;
  RbLifecycleState  new_state;
} RbStateItem;

static void
rb_plugin_emit_state (RbPlugin         *self,
                      RbLifecycleState  old_state,
                      RbLifecycleState  new_state)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, old_state, new_state);
}

static void
rb_state_item_free (gpointer data)
{
  RbStateItem *item = data;

  g_atomic_int_dec_and_test (&item->relay->pending_states);
  rb_relay_unref (item->relay);
  g_free (item);
}

static void
rb_relay_deliver_state (gpointer data)
{
  RbStateItem *item = data;
  g_autoptr(RbPlugin) plugin = g_weak_ref_get (&item->relay->plugin);

  g_atomic_int_dec_and_test (&item->relay->pending_states);
  if (plugin != NULL)
    rb_plugin_emit_state (plugin, item->old_state, item->new_state);

  rb_relay_unref (item->relay);
  g_free (item);
}

static gboolean
rb_plugin_on_owner_context (RbPlugin *self)
{
  return rb_dispatcher_in_context (self->owner, self->owner_thread);
}

static void
rb_plugin_state_changed (RbPlugin         *self,
                         RbLifecycleState  old_state,
                         RbLifecycleState  new_state)
{
  RbStateItem *item;

  /* Emit at once when we are on the owner context and nothing older is
   * still queued (which keeps notifications in order); else queue. */
  if (g_atomic_int_get (&self->relay->pending_states) == 0 &&
      rb_plugin_on_owner_context (self))
    {
      rb_plugin_emit_state (self, old_state, new_state);
      return;
    }

  item = g_new (RbStateItem, 1);
  item->relay = rb_relay_ref (self->relay);
  item->old_state = old_state;
  item->new_state = new_state;
  g_atomic_int_inc (&self->relay->pending_states);
  rb_dispatcher_push (self->owner, rb_relay_deliver_state, rb_state_item_free, item);
}

typedef struct {
  RbRelay    *relay;
  GParamSpec *pspec;
} RbNotifyItem;

static void
rb_notify_item_free (gpointer data)
{
  RbNotifyItem *item = data;

  rb_relay_unref (item->relay);
  g_free (item);
}

static void
rb_relay_deliver_notify (gpointer data)
{
  RbNotifyItem *item = data;
  g_autoptr(RbPlugin) plugin = g_weak_ref_get (&item->relay->plugin);

  if (plugin != NULL)
    g_object_notify_by_pspec (G_OBJECT (plugin), item->pspec);
  rb_notify_item_free (item);
}

/* Property notifications belong to the owner context too. */
static void
rb_plugin_notify (RbPlugin   *self,
                  GParamSpec *pspec)
{
  RbNotifyItem *item;

  if (rb_plugin_on_owner_context (self))
    {
      g_object_notify_by_pspec (G_OBJECT (self), pspec);
      return;
    }
  item = g_new (RbNotifyItem, 1);
  item->relay = rb_relay_ref (self->relay);
  item->pspec = pspec;
  rb_dispatcher_push (self->owner, rb_relay_deliver_notify, rb_notify_item_free, item);
}

/* Drop reports: at most one queued at a time, whatever the storm. */
static void
rb_drop_item_free (gpointer data)
{
  RbRelay *relay = data;

  g_atomic_int_set (&relay->drop_notify_queued, FALSE);
  rb_relay_unref (relay);
}

static void
rb_relay_deliver_drop (gpointer data)
{
  RbRelay *relay = data;
  g_autoptr(RbPlugin) plugin = g_weak_ref_get (&relay->plugin);

  /* Re-armed before the notification: a drop from now on queues another. */
  g_atomic_int_set (&relay->drop_notify_queued, FALSE);
  if (plugin != NULL)
    {
      /* Once per plugin, on the owner context, at a level no GLib setting
       * makes fatal (the count is the property). */
      if (!relay->drop_reported)
        {
          relay->drop_reported = TRUE;
          g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                            "MESSAGE", "Plugin “%s” logs faster than its main context delivers "
                            "(more than %d messages or %d bytes waiting): dropping log messages "
                            "(see RbPlugin:dropped-log-count)",
                            plugin->path, MAX_PENDING_LOG_MESSAGES, MAX_PENDING_LOG_BYTES);
        }
      g_object_notify_by_pspec (G_OBJECT (plugin), properties[PROP_DROPPED_LOG_COUNT]);
    }
  rb_relay_unref (relay);
}

/* Any thread (a log sink): counts a dropped message. */
static void
rb_plugin_log_dropped (RbPlugin *self)
{
  RbRelay *relay = self->relay;

  g_atomic_pointer_add (&relay->dropped, 1);
  if (g_atomic_int_compare_and_exchange (&relay->drop_notify_queued, FALSE, TRUE))
    rb_dispatcher_push (self->owner, rb_relay_deliver_drop, rb_drop_item_free, rb_relay_ref (relay));
}

static void
rb_plugin_set_state (RbPlugin         *self,
                     RbLifecycleState  new_state)
{
  RbLifecycleState old_state = g_atomic_int_exchange (&self->state, new_state);

  if (old_state != new_state)
    rb_plugin_state_changed (self, old_state, new_state);
}

/* Moves from @from to @to only if the state is still @from. */
static gboolean
rb_plugin_transition (RbPlugin         *self,
                      RbLifecycleState  from,
                      RbLifecycleState  to)
{
  if (!g_atomic_int_compare_and_exchange (&self->state, from, to))
    return FALSE;
  rb_plugin_state_changed (self, from, to);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Admission                                                           */

static void
rb_plugin_set_inactive_error (RbPlugin          *self,
                              RbLifecycleState   state,
                              GError           **error)
{
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
               "Plugin “%s” is not active (state: %s)", self->path,
               g_enum_get_value (g_type_class_peek (RB_TYPE_LIFECYCLE_STATE), (gint) state)->value_nick);
}

/* Admits a call that will use the handle: the plugin must be active, and
 * a shutdown waits for admitted calls (rb-inflight-private.h) before it
 * calls plugin_shutdown(). Costs no locked instruction. */
static inline gboolean
rb_plugin_admit (RbPlugin        *self,
                 RbInflightSlot **ticket,
                 GError         **error)
{
  RbLifecycleState state;

  *ticket = rb_inflight_enter (&self->inflight);
  /* The state is read after entering: see rb_plugin_do_shutdown(). A
   * sequentially consistent load (a plain load on x86) keeps that order
   * on the atomic-counter path too, on every architecture. */
  state = g_atomic_int_get (&self->state);
  if (G_LIKELY (state == RB_LIFECYCLE_STATE_ACTIVE))
    return TRUE;

  rb_inflight_leave (&self->inflight, *ticket);
  rb_plugin_set_inactive_error (self, state, error);
  return FALSE;
}

static inline void
rb_plugin_release (RbPlugin       *self,
                   RbInflightSlot *ticket)
{
  rb_inflight_leave (&self->inflight, ticket);
}

/* After an internal error the plugin may have marked itself failed
 * (a panic does). The call is still admitted, but a shutdown that timed
 * out may have given up waiting for it and shut the handle down: ask the
 * plugin only while the handle is live, and keep the shutdown from
 * starting while we ask. */
static G_GNUC_NO_INLINE void
rb_plugin_check_failed (RbPlugin     *self,
                        const GError *error)
{
  guint8 state = RB_LIFECYCLE_STATE_ACTIVE;

  if (!g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL) &&
      !g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE))
    return;
  g_mutex_lock (&self->handle_lock);
  if (self->handle_live)
    state = self->abi->plugin_get_state (self->handle);
  g_mutex_unlock (&self->handle_lock);
  if (state == RB_LIFECYCLE_STATE_FAILED)
    rb_plugin_transition (self, RB_LIFECYCLE_STATE_ACTIVE, RB_LIFECYCLE_STATE_FAILED);
}

/* ------------------------------------------------------------------ */
/* Calls (the same code runs for sync calls and on pool workers)       */

/* Inlined into each caller: a sync call costs one function call less. */
static inline G_ALWAYS_INLINE char *
rb_plugin_invoke (RbPlugin      *self,
                  const char    *type_tag,
                  const char    *request,
                  gsize          request_len,
                  GError       **error)
{
  RbInflightSlot *ticket;
  RbLogSink *previous;
  RbFfiBuffer buffer;
  GError *local_error = NULL;
  char *payload = NULL;

  if (!rb_plugin_admit (self, &ticket, error))
    return NULL;

  previous = rb_library_enter_call (&self->sink);
  buffer = self->abi->plugin_call (self->handle, type_tag,
                                   (const uint8_t *) request, request_len);
  rb_library_leave_call (previous);

  /* Nothing reads the buffer before len and capacity are checked. */
  if (G_LIKELY (rb_envelope_check_buffer (buffer.data, buffer.len, buffer.capacity,
                                          "response", &local_error)))
    payload = rb_envelope_read (buffer.error_code, buffer.data, buffer.len, &local_error);
  self->abi->plugin_free_buffer (&buffer);

  if (G_UNLIKELY (payload == NULL))
    {
      rb_plugin_check_failed (self, local_error);
      g_propagate_error (error, local_error);
    }
  rb_plugin_release (self, ticket);

  return payload;
}

typedef struct {
  void       (*response_free) (RbResponse *response);
  RbResponse   response;
} RbRawHolder;

/* One spare holder per thread: a raw call and the release of its reply
 * mostly happen on the same thread, which saves an allocation per call.
 * The spare lives in initial-exec TLS (no lookup cost); a GPrivate
 * registered once per thread frees it when the thread exits. */
static _Thread_local RbRawHolder *spare_raw_holder __attribute__ ((tls_model ("initial-exec")));
static _Thread_local gboolean spare_raw_holder_registered __attribute__ ((tls_model ("initial-exec")));

static void
free_spare_raw_holder (gpointer data)
{
  g_clear_pointer (&spare_raw_holder, g_free);
}

static GPrivate spare_raw_holder_cleanup = G_PRIVATE_INIT (free_spare_raw_holder);

static inline RbRawHolder *
rb_raw_holder_new (const RbAbi *abi)
{
  RbRawHolder *holder = spare_raw_holder;

  if (holder != NULL)
    spare_raw_holder = NULL;
  else
    holder = g_new (RbRawHolder, 1);
  holder->response_free = abi->rb_response_free;
  return holder;
}

static void
rb_raw_holder_free (gpointer data)
{
  RbRawHolder *holder = data;

  /* The library is never unmapped, so the function outlives the plugin. */
  holder->response_free (&holder->response);
  if (spare_raw_holder == NULL)
    {
      spare_raw_holder = holder;
      if (G_UNLIKELY (!spare_raw_holder_registered))
        {
          spare_raw_holder_registered = TRUE;
          g_private_set (&spare_raw_holder_cleanup, GINT_TO_POINTER (1));
        }
    }
  else
    g_free (holder);
}

static inline G_ALWAYS_INLINE GBytes *
rb_plugin_invoke_raw (RbPlugin  *self,
                      guint32    message_id,
                      GBytes    *request,
                      GError   **error)
{
  RbInflightSlot *ticket;
  RbLogSink *previous;
  RbRawHolder *holder;
  GError *local_error = NULL;
  const void *data;
  gsize size;

  if (!rb_plugin_admit (self, &ticket, error))
    return NULL;

  data = g_bytes_get_data (request, &size);
  holder = rb_raw_holder_new (self->abi);

  previous = rb_library_enter_call (&self->sink);
  holder->response = self->abi->plugin_call_raw (self->handle, message_id, data, size);
  rb_library_leave_call (previous);

  if (G_UNLIKELY (!rb_envelope_check_buffer (holder->response.data, holder->response.len,
                                             holder->response.capacity,
                                             holder->response.error_code == 0 ? "raw response"
                                                                              : "raw error response",
                                             &local_error)))
    ;  /* refused: freed below, never read */
  else if (G_LIKELY (holder->response.error_code == 0))
    {
      rb_plugin_release (self, ticket);
      /* Zero-copy: the plugin's memory backs the GBytes and goes back to
       * the plugin when the last reference drops. The library is never
       * unmapped, so that may happen after the plugin shut down. */
      if (holder->response.data == NULL || holder->response.len == 0)
        {
          rb_raw_holder_free (holder);
          return g_bytes_new (NULL, 0);
        }
      return g_bytes_new_with_free_func (holder->response.data, holder->response.len,
                                         rb_raw_holder_free, holder);
    }

  else
    {
      const char *text = holder->response.data;
      gsize len = holder->response.len;

      /* The error text is NUL-terminated and len counts the NUL; trust
       * neither (len is within the allocation, checked above). */
      if (text != NULL && len > 0)
        len = strnlen (text, len);
      rb_envelope_set_error (holder->response.error_code, (const guint8 *) text,
                             text != NULL ? len : 0, &local_error);
    }
  rb_raw_holder_free (holder);
  rb_plugin_check_failed (self, local_error);
  g_propagate_error (error, local_error);
  rb_plugin_release (self, ticket);
  return NULL;
}

static gboolean
rb_plugin_check_raw (RbPlugin  *self,
                     GError   **error)
{
  /* A plugin that never started fails admission instead. */
  if (G_LIKELY (self->abi == NULL || self->abi->plugin_call_raw != NULL))
    return TRUE;
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
               "Plugin “%s” does not support the binary transport "
               "(plugin_call_raw/rb_response_free are not exported)", self->path);
  return FALSE;
}

static G_GNUC_NO_INLINE gboolean
rb_plugin_check_type_tag_slow (RbPlugin    *self,
                               const char  *type_tag,
                               GError     **error)
{
  if (*type_tag != '\0' && g_utf8_validate (type_tag, -1, NULL))
    return TRUE;
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
               "Invalid type tag for plugin “%s”: %s", self->path,
               *type_tag == '\0' ? "it is empty" : "it is not valid UTF-8");
  return FALSE;
}

static inline G_ALWAYS_INLINE gboolean
rb_plugin_check_type_tag (RbPlugin    *self,
                          const char  *type_tag,
                          GError     **error)
{
  const guchar *p = (const guchar *) type_tag;
  guchar seen = 0;

  /* Tags are short and nearly always ASCII: validate UTF-8 only when a
   * high byte shows up. */
  for (; *p != '\0'; p++)
    seen |= *p;
  if (G_LIKELY (p != (const guchar *) type_tag && !(seen & 0x80)))
    return TRUE;
  return rb_plugin_check_type_tag_slow (self, type_tag, error);
}

/**
 * rb_plugin_call:
 * @self: a #RbPlugin
 * @type_tag: the message type, e.g. `"echo"`
 * @request_json: (nullable): the request as JSON text; %NULL sends an empty request
 * @cancellable: (nullable): a #GCancellable, checked before the call
 * @error: return location for a #GError
 *
 * Calls the plugin's handler for @type_tag and waits for its answer. The
 * handler runs on the calling thread.
 *
 * Errors are in the %RB_PLUGIN_ERROR domain: the plugin's error code and
 * its `error_message` when the handler failed, %RB_PLUGIN_ERROR_INVALID_STATE
 * when the plugin is not active, %RB_PLUGIN_ERROR_PROTOCOL when the
 * response is malformed; %G_IO_ERROR_CANCELLED if @cancellable was
 * cancelled before the call.
 *
 * Returns: (transfer full): the response payload as JSON text (the
 *   envelope removed), or %NULL with @error set
 */
char *
rb_plugin_call (RbPlugin      *self,
                const char    *type_tag,
                const char    *request_json,
                GCancellable  *cancellable,
                GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (type_tag != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!rb_plugin_check_type_tag (self, type_tag, error))
    return NULL;

  return rb_plugin_invoke (self, type_tag, request_json,
                           request_json != NULL ? strlen (request_json) : 0, error);
}

static char *
json_node_to_request (JsonNode *request)
{
  return request != NULL ? json_to_string (request, FALSE) : NULL;
}

static JsonNode *
payload_to_json_node (RbPlugin    *self,
                      char        *payload,
                      GError     **error)
{
  g_autofree char *owned = payload;
  g_autoptr(GError) local_error = NULL;
  JsonNode *node;

  if (owned == NULL)
    return NULL;
  node = json_from_string (owned, &local_error);
  if (node == NULL)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL,
                   "Plugin “%s” returned a payload that is not JSON: %s",
                   self->path, local_error ? local_error->message : "empty payload");
      return NULL;
    }
  return node;
}

/**
 * rb_plugin_call_json:
 * @self: a #RbPlugin
 * @type_tag: the message type
 * @request: (nullable): the request; %NULL sends an empty request
 * @cancellable: (nullable): a #GCancellable, checked before the call
 * @error: return location for a #GError
 *
 * Like [method@RustBridge.Plugin.call], with the request and the payload
 * as JSON trees.
 *
 * Returns: (transfer full): the response payload, or %NULL with @error set
 */
JsonNode *
rb_plugin_call_json (RbPlugin      *self,
                     const char    *type_tag,
                     JsonNode      *request,
                     GCancellable  *cancellable,
                     GError       **error)
{
  g_autofree char *request_json = NULL;

  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (type_tag != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  request_json = json_node_to_request (request);
  return payload_to_json_node (self, rb_plugin_call (self, type_tag, request_json, cancellable, error), error);
}

/**
 * rb_plugin_call_raw:
 * @self: a #RbPlugin
 * @message_id: the binary message id
 * @request: the request struct, laid out as the plugin's C header says
 * @cancellable: (nullable): a #GCancellable, checked before the call
 * @error: return location for a #GError
 *
 * Calls a binary (C struct) handler. @request is handed to the plugin
 * without copying, and the returned bytes are the plugin's own memory,
 * released to the plugin when the last reference drops (they stay valid
 * after the plugin shuts down).
 *
 * Fails with %RB_PLUGIN_ERROR_NOT_SUPPORTED if the plugin has no binary
 * transport (see [property@RustBridge.Plugin:has-binary-transport]).
 *
 * Returns: (transfer full): the response struct, or %NULL with @error set
 */
GBytes *
rb_plugin_call_raw (RbPlugin      *self,
                    guint32        message_id,
                    GBytes        *request,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  g_return_val_if_fail (request != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (!rb_plugin_check_raw (self, error))
    return NULL;

  return rb_plugin_invoke_raw (self, message_id, request, error);
}

/* ------------------------------------------------------------------ */
/* Async calls                                                         */

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

/* Runs one async call on a pool thread. */
static void
rb_plugin_run_call (RbPlugin *self,
                    RbCall   *call)
{
  if (call->cancellable != NULL &&
      g_cancellable_set_error_if_cancelled (call->cancellable, &call->error))
    ;  /* cancelled before it started: the plugin never sees it */
  else if (call->kind == RB_CALL_RAW)
    call->raw_response = rb_plugin_invoke_raw (self, call->message_id, call->raw_request, &call->error);
  else
    call->payload = rb_plugin_invoke (self, call->type_tag, call->request,
                                      call->request != NULL ? strlen (call->request) : 0,
                                      &call->error);

  g_atomic_int_add (&self->queued, -1);
  /* Hands our reference to the dispatcher: nothing below this line. */
  rb_dispatcher_push_full (call->dispatcher, rb_call_make_task, rb_call_complete_in_context,
                           rb_call_drop, call);
}

/* How long an idle drainer lingers for the next call before it gives its
 * pool thread back. A burst of calls from a main loop arrives a few
 * microseconds apart: lingering saves a futex wake per call. */
#define DRAINER_LINGER_US 20

static RbCall *
rb_plugin_next_call (RbPlugin *self)
{
  gint64 deadline = 0;

  for (;;)
    {
      RbCall *call;

      g_mutex_lock (&self->submit_lock);
      call = g_queue_pop_head (&self->submitted);
      if (call != NULL)
        {
          g_atomic_int_add (&self->n_submitted, -1);
          g_mutex_unlock (&self->submit_lock);
          return call;
        }
      if (self->closing || (deadline != 0 && g_get_monotonic_time () >= deadline))
        {
          /* Retire; a later submit sees the count drop and starts one. */
          self->drainers--;
          g_cond_broadcast (&self->submit_cond);
          g_mutex_unlock (&self->submit_lock);
          return NULL;
        }
      g_mutex_unlock (&self->submit_lock);

      if (deadline == 0)
        deadline = g_get_monotonic_time () + DRAINER_LINGER_US;
      while (g_atomic_int_get (&self->n_submitted) == 0 &&
             g_get_monotonic_time () < deadline)
        g_thread_yield ();
    }
}

/* A task of the plugin's pool: takes calls until none comes for a while. */
static void
rb_plugin_drainer (gpointer data,
                   gpointer user_data)
{
  RbPlugin *self = data;
  RbCall *call;

  while ((call = rb_plugin_next_call (self)) != NULL)
    rb_plugin_run_call (self, call);
}

static void
rb_plugin_submit (RbPlugin *self,
                  RbCall   *call)
{
  gboolean start_drainer = FALSE;

  g_mutex_lock (&self->submit_lock);
  g_queue_push_tail (&self->submitted, call);
  g_atomic_int_inc (&self->n_submitted);
  /* One more drainer only while there is more queued than running. */
  if (self->drainers < self->max_drainers && self->drainers < self->submitted.length)
    {
      self->drainers++;
      start_drainer = TRUE;
    }
  g_mutex_unlock (&self->submit_lock);

  if (start_drainer)
    g_thread_pool_push (self->pool, self, NULL);
}

static guint
rb_plugin_pool_size (RbPlugin *self)
{
  guint threads = rb_plugin_config_get_worker_threads (self->config);
  guint max_ops = rb_plugin_config_get_max_concurrent_ops (self->config);

  if (threads == 0)
    threads = g_get_num_processors ();
  return CLAMP (threads, 1, MAX (max_ops, 1));
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
                                : !rb_plugin_check_type_tag (self, call->type_tag, &error))
    goto fail;

  {
    RbLifecycleState state = g_atomic_int_get (&self->state);

    if (state != RB_LIFECYCLE_STATE_ACTIVE)
      {
        rb_plugin_set_inactive_error (self, state, &error);
        goto fail;
      }
  }

  /* Backpressure: bounded queue, rejected at once when full. */
  if ((guint) g_atomic_int_add (&self->queued, 1) >= self->max_queued)
    {
      g_atomic_int_add (&self->queued, -1);
      g_atomic_pointer_add (&self->host_rejected, 1);
      g_set_error (&error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_TOO_MANY_REQUESTS,
                   "Too many queued calls for plugin “%s” (limit %u)", self->path, self->max_queued);
      goto fail;
    }

  if (cancellable != NULL)
    call->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (rb_call_cancelled_cb),
                                                rb_call_ref (call), rb_call_unref);

  rb_plugin_submit (self, call);
  return;

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
 * see [method@RustBridge.Plugin.call_async].
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
  call->request = json_node_to_request (request);
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

  return payload_to_json_node (self, g_task_propagate_pointer (G_TASK (result), error), error);
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

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */

static gboolean
rb_plugin_initable_init (GInitable     *initable,
                         GCancellable  *cancellable,
                         GError       **error)
{
  RbPlugin *self = RB_PLUGIN (initable);
  g_autofree char *config_json = NULL;
  RbLogSink *previous;
  void *instance;
  guint max_ops, max_queued;

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

  self->library = rb_library_open (self->path, &self->init_error);
  if (self->library == NULL)
    goto fail;
  self->abi = rb_library_get_abi (self->library);

  if (self->config == NULL)
    self->config = rb_plugin_config_new ();
  config_json = rb_plugin_config_to_json (self->config);

  max_ops = rb_plugin_config_get_max_concurrent_ops (self->config);
  max_queued = rb_plugin_config_get_max_queued_calls (self->config);
  self->max_queued = max_queued != 0 ? max_queued : (guint) MIN ((guint64) max_ops * 64, G_MAXINT32);

  /* A pool of our own rather than GLib's shared GTask pool: plugin calls
   * block for as long as their handlers run, and must neither starve nor
   * be starved by other libraries' tasks in the process. Its size follows
   * the plugin's runtime (worker-threads) and never exceeds what the
   * plugin admits at once. Calls are not pushed to it one by one: a push
   * that finds every thread asleep costs the main loop a futex wake, so
   * the pool runs "drainers" that take calls from our queue while it has
   * any, and only as many as the backlog needs. */
  self->max_drainers = rb_plugin_pool_size (self);
  self->pool = g_thread_pool_new (rb_plugin_drainer, NULL, (int) self->max_drainers,
                                  FALSE, &self->init_error);
  if (self->pool == NULL)
    goto fail;

  self->sink.func = rb_plugin_sink_func;
  self->sink.user_data = self;
  rb_library_add_sink (self->library, &self->sink);

  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_STARTING);

  instance = self->abi->plugin_create ();
  if (instance == NULL)
    {
      g_set_error (&self->init_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                   "Plugin “%s” failed to start: plugin_create returned NULL", self->path);
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      goto fail;
    }

  /* plugin_init owns the instance from here on, whatever it returns. */
  previous = rb_library_enter_call (&self->sink);
  self->handle = self->abi->plugin_init (instance, (const uint8_t *) config_json,
                                         strlen (config_json),
                                         rb_library_get_log_callback (self->library));
  rb_library_leave_call (previous);

  if (self->handle == NULL)
    {
      g_set_error (&self->init_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                   "Plugin “%s” failed to start: plugin_init returned NULL "
                   "(the plugin rejected its configuration %s, or its start-up failed)",
                   self->path, config_json);
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      goto fail;
    }

  /* A handle that another instance still uses would be shut down twice and
   * used after that: never touch it (it is not ours to shut down). */
  if (!rb_library_claim_handle (self->library, self->handle))
    {
      g_set_error (&self->init_error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INIT_FAILED,
                   "Plugin “%s” failed to start: plugin_init returned a handle (%p) "
                   "that another live instance of this plugin already uses",
                   self->path, self->handle);
      self->handle = NULL;
      rb_plugin_set_state (self, RB_LIFECYCLE_STATE_FAILED);
      goto fail;
    }
  g_mutex_lock (&self->handle_lock);
  self->handle_live = TRUE;
  g_mutex_unlock (&self->handle_lock);

  g_atomic_int_set (&self->log_level, rb_plugin_config_get_log_level (self->config));
  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_ACTIVE);
  return TRUE;

fail:
  g_propagate_error (error, g_error_copy (self->init_error));
  return FALSE;
}

static void
rb_plugin_initable_iface_init (GInitableIface *iface)
{
  iface->init = rb_plugin_initable_init;
}

static void
rb_plugin_async_initable_iface_init (GAsyncInitableIface *iface)
{
  /* GAsyncInitable's default implementation runs GInitable.init in a
   * thread: loading is rare, and plugin_init may block for a while. */
}

static gboolean
rb_plugin_do_shutdown (RbPlugin  *self,
                       GError   **error)
{
  RbLifecycleState state;
  gboolean ok = TRUE;

  g_mutex_lock (&self->shutdown_lock);

  state = g_atomic_int_get (&self->state);
  if (!self->handle_live)
    {
      /* Already stopped, or never started: nothing to do (idempotent). */
      g_mutex_unlock (&self->shutdown_lock);
      return TRUE;
    }

  /* New calls are refused from here on; queued async calls fail with
   * INVALID_STATE when a worker picks them up. */
  rb_plugin_set_state (self, RB_LIFECYCLE_STATE_STOPPING);

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

  if (!self->abi->plugin_shutdown (self->handle))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED,
                   "Plugin “%s” failed to shut down (state before: %d)", self->path, state);
      ok = FALSE;
    }
  /* The plugin forgets the handle either way (and may hand its value out
   * again): never touch it again. */
  rb_library_release_handle (self->library, self->handle);
  rb_plugin_set_state (self, ok ? RB_LIFECYCLE_STATE_STOPPED : RB_LIFECYCLE_STATE_FAILED);

  g_mutex_unlock (&self->shutdown_lock);
  return ok;
}

/**
 * rb_plugin_shutdown:
 * @self: a #RbPlugin
 * @cancellable: (nullable): a #GCancellable, checked before shutting down
 * @error: return location for a #GError
 *
 * Stops the plugin: new calls fail with %RB_PLUGIN_ERROR_INVALID_STATE,
 * calls in flight get up to [property@RustBridge.PluginConfig:shutdown-timeout-ms]
 * to finish, queued async calls fail with %RB_PLUGIN_ERROR_INVALID_STATE,
 * then the plugin's own shutdown runs. Shutting down a plugin that is
 * already stopped does nothing and succeeds. Disposing a plugin shuts it
 * down too.
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

  if (cancellable != NULL && g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  return rb_plugin_do_shutdown (self, error);
}

static void
rb_plugin_shutdown_thread (GTask        *task,
                           gpointer      source_object,
                           gpointer      task_data,
                           GCancellable *cancellable)
{
  GError *error = NULL;

  if (rb_plugin_do_shutdown (source_object, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * rb_plugin_shutdown_async:
 * @self: a #RbPlugin
 * @cancellable: (nullable): a #GCancellable, checked before shutting down
 * @callback: (scope async): called when the plugin has stopped
 * @user_data: data for @callback
 *
 * Starts [method@RustBridge.Plugin.shutdown] in a thread.
 */
void
rb_plugin_shutdown_async (RbPlugin            *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RB_IS_PLUGIN (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rb_plugin_shutdown_async);
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_run_in_thread (task, rb_plugin_shutdown_thread);
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

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * rb_plugin_new:
 * @path: (type filename): path of the plugin library
 * @config: (nullable): the configuration, or %NULL for the defaults
 * @cancellable: (nullable): a #GCancellable, checked before loading
 * @error: return location for a #GError
 *
 * Loads the plugin library at @path (or reuses it if it is already
 * loaded) and starts a plugin instance in it. The plugin's start-up code
 * runs on the calling thread; see [func@RustBridge.Plugin.new_async] to
 * start it without blocking.
 *
 * Errors: %RB_PLUGIN_ERROR_LOAD_FAILED if the file is missing, is not a
 * shared library or lacks a required symbol; %RB_PLUGIN_ERROR_INIT_FAILED
 * if the plugin refused to start.
 *
 * Returns: (transfer full): the active plugin, or %NULL with @error set
 */
RbPlugin *
rb_plugin_new (const char      *path,
               RbPluginConfig  *config,
               GCancellable    *cancellable,
               GError         **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (RB_TYPE_PLUGIN, cancellable, error,
                         "path", path,
                         "config", config,
                         NULL);
}

/**
 * rb_plugin_new_async:
 * @path: (type filename): path of the plugin library
 * @config: (nullable): the configuration, or %NULL for the defaults
 * @io_priority: the I/O priority of the request
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the plugin is ready
 * @user_data: data for @callback
 *
 * Loads and starts a plugin in a thread; the plugin's
 * [property@RustBridge.Plugin:state] goes from `STARTING` to `ACTIVE`
 * (notified in the caller's main context).
 */
void
rb_plugin_new_async (const char          *path,
                     RbPluginConfig      *config,
                     int                  io_priority,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_return_if_fail (path != NULL);
  g_return_if_fail (config == NULL || RB_IS_PLUGIN_CONFIG (config));

  g_async_initable_new_async (RB_TYPE_PLUGIN, io_priority, cancellable, callback, user_data,
                              "path", path,
                              "config", config,
                              NULL);
}

/**
 * rb_plugin_new_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@RustBridge.Plugin.new_async].
 *
 * Returns: (transfer full): the active plugin, or %NULL with @error set
 */
RbPlugin *
rb_plugin_new_finish (GAsyncResult  *result,
                      GError       **error)
{
  g_autoptr(GObject) source_object = NULL;
  GObject *object;

  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  source_object = g_async_result_get_source_object (result);
  object = g_async_initable_new_finish (G_ASYNC_INITABLE (source_object), result, error);
  return object != NULL ? RB_PLUGIN (object) : NULL;
}

/* ------------------------------------------------------------------ */
/* Accessors                                                           */

/**
 * rb_plugin_get_path:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:path].
 *
 * Returns: (type filename): the path the plugin was loaded from
 */
const char *
rb_plugin_get_path (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->path;
}

/**
 * rb_plugin_get_config:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:config].
 *
 * Returns: (transfer none) (nullable): the configuration the plugin was
 *   created with (%NULL before it was initialised without one)
 */
RbPluginConfig *
rb_plugin_get_config (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->config;
}

/**
 * rb_plugin_get_state:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:state].
 *
 * Returns: the lifecycle state as the host tracks it
 */
RbLifecycleState
rb_plugin_get_state (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), RB_LIFECYCLE_STATE_FAILED);
  return g_atomic_int_get (&self->state);
}

/**
 * rb_plugin_get_log_level:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:log-level].
 *
 * Returns: the log level last given to the plugin
 */
RbLogLevel
rb_plugin_get_log_level (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), RB_LOG_LEVEL_INFO);
  return g_atomic_int_get (&self->log_level);
}

/**
 * rb_plugin_set_log_level:
 * @self: a #RbPlugin
 * @log_level: the new level
 *
 * Changes the plugin's log filter. The filter is global to the plugin
 * library: other plugins loaded from the same file change too. Does
 * nothing to a plugin that is not active.
 */
void
rb_plugin_set_log_level (RbPlugin   *self,
                         RbLogLevel  log_level)
{
  RbInflightSlot *ticket;

  g_return_if_fail (RB_IS_PLUGIN (self));
  g_return_if_fail (log_level <= RB_LOG_LEVEL_OFF);

  if (!rb_plugin_admit (self, &ticket, NULL))
    return;
  self->abi->plugin_set_log_level (self->handle, (uint8_t) log_level);
  rb_plugin_release (self, ticket);

  if (g_atomic_int_exchange (&self->log_level, log_level) != (gint) log_level)
    rb_plugin_notify (self, properties[PROP_LOG_LEVEL]);
}

/**
 * rb_plugin_get_rejected_request_count:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:rejected-request-count].
 *
 * Returns: calls rejected because of a concurrency limit: by the plugin
 *   (`max_concurrent_ops`) plus async calls refused because the queue was full
 */
guint64
rb_plugin_get_rejected_request_count (RbPlugin *self)
{
  RbInflightSlot *ticket;
  guint64 count;

  g_return_val_if_fail (RB_IS_PLUGIN (self), 0);

  count = (guint64) g_atomic_pointer_get (&self->host_rejected);
  if (rb_plugin_admit (self, &ticket, NULL))
    {
      count += self->abi->plugin_get_rejected_count (self->handle);
      rb_plugin_release (self, ticket);
    }
  return count;
}

/**
 * rb_plugin_get_has_binary_transport:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:has-binary-transport].
 *
 * Returns: whether the plugin exports the binary transport
 *   ([method@RustBridge.Plugin.call_raw])
 */
gboolean
rb_plugin_get_has_binary_transport (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), FALSE);
  return self->library != NULL && rb_library_has_raw (self->library);
}

/**
 * rb_plugin_get_dropped_log_count:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:dropped-log-count].
 *
 * Returns: log messages dropped because the owner context did not deliver
 *   them fast enough (more than 4096 messages or 8 MiB were waiting)
 */
guint64
rb_plugin_get_dropped_log_count (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), 0);
  return (guint64) g_atomic_pointer_get (&self->relay->dropped);
}

/**
 * rb_plugin_get_bundle_name:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:bundle-name].
 *
 * Returns: (nullable): the name of the bundle the plugin was loaded from,
 *   or %NULL if it was loaded from a library file
 */
const char *
rb_plugin_get_bundle_name (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->bundle_name;
}

/**
 * rb_plugin_get_bundle_version:
 * @self: a #RbPlugin
 *
 * Gets [property@RustBridge.Plugin:bundle-version].
 *
 * Returns: (nullable): the version of the bundle the plugin was loaded
 *   from, or %NULL if it was loaded from a library file
 */
const char *
rb_plugin_get_bundle_version (RbPlugin *self)
{
  g_return_val_if_fail (RB_IS_PLUGIN (self), NULL);
  return self->bundle_version;
}

static gboolean
replace_str (char       **field,
             const char  *value)
{
  if (g_strcmp0 (*field, value) == 0)
    return FALSE;
  g_free (*field);
  *field = g_strdup (value);
  return TRUE;
}

void
rb_plugin_set_bundle_info (RbPlugin   *self,
                           const char *bundle_name,
                           const char *bundle_version)
{
  g_return_if_fail (RB_IS_PLUGIN (self));

  if (replace_str (&self->bundle_name, bundle_name))
    rb_plugin_notify (self, properties[PROP_BUNDLE_NAME]);
  if (replace_str (&self->bundle_version, bundle_version))
    rb_plugin_notify (self, properties[PROP_BUNDLE_VERSION]);
}

/* ------------------------------------------------------------------ */
/* GObject                                                             */

static void
rb_plugin_dispose (GObject *object)
{
  RbPlugin *self = RB_PLUGIN (object);

  /* Async calls in flight hold references, so none is running here. */
  {
    g_autoptr(GError) error = NULL;

    if (!rb_plugin_do_shutdown (self, &error))
      g_debug ("%s", error->message);
  }

  if (self->library != NULL && self->sink.library != NULL)
    {
      rb_library_remove_sink (self->library, &self->sink);
      self->sink.library = NULL;
    }

  G_OBJECT_CLASS (rb_plugin_parent_class)->dispose (object);
}

static void
rb_plugin_finalize (GObject *object)
{
  RbPlugin *self = RB_PLUGIN (object);

  /* Drainers hold no reference (calls do): make the idle ones retire
   * before the plugin goes away. */
  g_mutex_lock (&self->submit_lock);
  self->closing = TRUE;
  while (self->drainers > 0)
    g_cond_wait (&self->submit_cond, &self->submit_lock);
  g_mutex_unlock (&self->submit_lock);
  if (self->pool != NULL)
    g_thread_pool_free (self->pool, TRUE, FALSE);
  g_mutex_clear (&self->submit_lock);
  g_cond_clear (&self->submit_cond);
  g_clear_pointer (&self->owner, rb_dispatcher_unref);
  g_clear_pointer (&self->relay, rb_relay_unref);
  g_clear_error (&self->init_error);
  g_clear_object (&self->config);
  g_free (self->path);
  g_free (self->bundle_name);
  g_free (self->bundle_version);
  rb_inflight_clear (&self->inflight);
  g_mutex_clear (&self->shutdown_lock);
  g_mutex_clear (&self->handle_lock);

  G_OBJECT_CLASS (rb_plugin_parent_class)->finalize (object);
}

static void
rb_plugin_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  RbPlugin *self = RB_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_CONFIG:
      g_value_set_object (value, self->config);
      break;
    case PROP_STATE:
      g_value_set_enum (value, rb_plugin_get_state (self));
      break;
    case PROP_LOG_LEVEL:
      g_value_set_enum (value, rb_plugin_get_log_level (self));
      break;
    case PROP_REJECTED_REQUEST_COUNT:
      g_value_set_uint64 (value, rb_plugin_get_rejected_request_count (self));
      break;
    case PROP_HAS_BINARY_TRANSPORT:
      g_value_set_boolean (value, rb_plugin_get_has_binary_transport (self));
      break;
    case PROP_BUNDLE_NAME:
      g_value_set_string (value, self->bundle_name);
      break;
    case PROP_BUNDLE_VERSION:
      g_value_set_string (value, self->bundle_version);
      break;
    case PROP_DROPPED_LOG_COUNT:
      g_value_set_uint64 (value, rb_plugin_get_dropped_log_count (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_plugin_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  RbPlugin *self = RB_PLUGIN (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    case PROP_CONFIG:
      /* A private copy: later changes to the caller's object must not
       * change what this plugin reports. */
      if (g_value_get_object (value) != NULL)
        self->config = rb_plugin_config_copy (g_value_get_object (value));
      break;
    case PROP_LOG_LEVEL:
      rb_plugin_set_log_level (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rb_plugin_class_init (RbPluginClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rb_plugin_dispose;
  object_class->finalize = rb_plugin_finalize;
  object_class->get_property = rb_plugin_get_property;
  object_class->set_property = rb_plugin_set_property;

  /**
   * RbPlugin:path: (type filename)
   *
   * The path of the plugin library.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:config:
   *
   * The configuration given at creation (a copy of it).
   */
  properties[PROP_CONFIG] =
    g_param_spec_object ("config", NULL, NULL, RB_TYPE_PLUGIN_CONFIG,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:state:
   *
   * The lifecycle state. Every change is notified (and
   * [signal@RustBridge.Plugin::state-changed] emitted) in the owner context.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL,
                       RB_TYPE_LIFECYCLE_STATE, RB_LIFECYCLE_STATE_INSTALLED,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:log-level:
   *
   * The plugin's log filter; writing it forwards the level to the plugin
   * (library-wide, see [method@RustBridge.Plugin.set_log_level]).
   */
  properties[PROP_LOG_LEVEL] =
    g_param_spec_enum ("log-level", NULL, NULL,
                       RB_TYPE_LOG_LEVEL, RB_LOG_LEVEL_INFO,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:rejected-request-count:
   *
   * Calls rejected for exceeding a concurrency limit: read from the plugin
   * (and the host's own queue count) on every read; not notified.
   */
  properties[PROP_REJECTED_REQUEST_COUNT] =
    g_param_spec_uint64 ("rejected-request-count", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:has-binary-transport:
   *
   * Whether the plugin exports the binary transport.
   */
  properties[PROP_HAS_BINARY_TRANSPORT] =
    g_param_spec_boolean ("has-binary-transport", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:bundle-name:
   *
   * The name of the bundle the plugin was loaded from, if any.
   */
  properties[PROP_BUNDLE_NAME] =
    g_param_spec_string ("bundle-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:bundle-version:
   *
   * The version of the bundle the plugin was loaded from, if any.
   */
  properties[PROP_BUNDLE_VERSION] =
    g_param_spec_string ("bundle-version", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * RbPlugin:dropped-log-count:
   *
   * Log messages this plugin dropped because its owner context did not
   * deliver them fast enough: more than 4096 messages, or more than 8 MiB,
   * were waiting. Notified in the owner context (coalesced: one
   * notification may stand for many drops).
   */
  properties[PROP_DROPPED_LOG_COUNT] =
    g_param_spec_uint64 ("dropped-log-count", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RbPlugin::log:
   * @self: the plugin
   * @level: the message's level
   * @target: where in the plugin it was logged (e.g. a Rust module path)
   * @message: the message
   *
   * A message the plugin logged, emitted in the owner context (the
   * thread-default main context when the plugin was created), never in a
   * plugin thread. A message logged while a call of this plugin runs on
   * the calling thread goes to this plugin only; messages from the
   * plugin's own threads carry no instance and go to every live plugin of
   * the same library file.
   *
   * A message longer than 64 KiB is cut there and ends with a marker
   * giving its full length; invalid UTF-8 is replaced. At most 4096
   * messages or 8 MiB may wait for the owner context per plugin: more are
   * dropped and counted in [property@RustBridge.Plugin:dropped-log-count].
   *
   * The default handler passes the message to GLib's structured logging
   * with the log domain `RustBridge` and the fields `RB_PLUGIN_TARGET` and
   * `RB_PLUGIN_PATH`. Trace and debug map to %G_LOG_LEVEL_DEBUG, info to
   * %G_LOG_LEVEL_INFO, warn and error to %G_LOG_LEVEL_MESSAGE — never to
   * a level GLib can make fatal — with the severity kept in the
   * `PRIORITY` field (4 for warn, 3 for error). Stop the emission (or
   * connect with `G_CONNECT_AFTER` and not at all) to silence it.
   */
  signals[SIGNAL_LOG] =
    g_signal_new_class_handler ("log",
                                G_TYPE_FROM_CLASS (klass),
                                G_SIGNAL_RUN_LAST,
                                G_CALLBACK (rb_plugin_real_log),
                                NULL, NULL, NULL,
                                G_TYPE_NONE, 3,
                                RB_TYPE_LOG_LEVEL,
                                G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE,
                                G_TYPE_STRING | G_SIGNAL_TYPE_STATIC_SCOPE);

  /**
   * RbPlugin::state-changed:
   * @self: the plugin
   * @old_state: the previous state
   * @new_state: the new state
   *
   * Emitted on every lifecycle transition, together with the notification
   * of [property@RustBridge.Plugin:state], in the owner context.
   */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2,
                  RB_TYPE_LIFECYCLE_STATE,
                  RB_TYPE_LIFECYCLE_STATE);
}

static void
rb_plugin_init (RbPlugin *self)
{
  self->state = RB_LIFECYCLE_STATE_INSTALLED;
  self->log_level = RB_LOG_LEVEL_INFO;
  rb_inflight_init (&self->inflight);
  g_mutex_init (&self->shutdown_lock);
  g_mutex_init (&self->handle_lock);
  g_mutex_init (&self->submit_lock);
  g_cond_init (&self->submit_cond);
  g_queue_init (&self->submitted);
  self->owner_thread = g_thread_self ();
  self->owner = rb_dispatcher_get_thread_default ();
  self->relay = rb_relay_new (self);
}
