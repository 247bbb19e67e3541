/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "rb-abi-private.h"
#include "rb-call-queue-private.h"
#include "rb-dispatch-private.h"
#include "rb-inflight-private.h"
#include "rb-isolated-private.h"
#include "rb-library-private.h"
#include "rb-plugin.h"
#include "rb-relay-private.h"

G_BEGIN_DECLS

typedef struct _RbPluginReload RbPluginReload;

/*
 * RbPlugin's insides, shared by the files that make it up:
 *
 *   rb-plugin.c       the GObject face: constructors, accessors,
 *                     properties, signals, class_init
 *   rb-plugin-lifecycle.c  start (GInitable, GAsyncInitable), the start-up
 *                     events, shutdown
 *   rb-plugin-call.c  admission and the synchronous JSON/JsonNode/raw
 *                     calls (the hot path)
 *   rb-plugin-async.c RbCall: the _async/_finish calls, completion and
 *                     cancellation, on the plugin's call queue
 *   rb-plugin-reload.c rb_plugin_reload(): a switch to a fresh instance
 *                     of a (new) library under the same object
 *
 * Threads: calls run on any thread; what they read of the struct is set
 * once by init (library, abi, handle, calls, sink) or is atomic (state).
 * A restart or a reload changes library, abi, handle, isolated and path
 * only while no call is admitted (rb-plugin-reload.c).
 * Everything else is the owner's (see each field). Signals and
 * notifications go through the relay to the owner context.
 *
 * Ownership: the plugin owns its config copy, its call queue, its relay
 * reference and its owner dispatcher reference; its library is mapped for
 * the process's life. Queued and running async calls hold a reference to
 * the plugin. Nothing outside the plugin files includes this header but
 * RbBundle, for rb_plugin_set_bundle_info().
 */

struct _RbPlugin {
  GObject           parent_instance;

  char             *path;
  RbPluginConfig   *config;
  char             *bundle_name;
  char             *bundle_version;

  /* How calls reach the plugin (rb-plugin-backend.c): set once by init
   * before the plugin is active, read by every call without a lock. */
  guint8            backend;      /* RbBackend */

  RbLibrary        *library;      /* unowned: mapped for the process's life; NULL when isolated */
  const RbAbi      *abi;
  /* Set by init (and by a restart, while no call is admitted): calls read
   * it without a lock (admission keeps them away from a shut-down
   * handle). What else asks the plugin about it outside admission checks
   * `handle_live` under `handle_lock` first. */
  void             *handle;
  /* The helper of an isolated plugin: the same rules as `handle`. */
  RbIsolated       *isolated;
  gboolean          isolated_has_raw;
  /* Why the helper died (guarded by crash_lock): what later calls fail
   * with until a restart; crash_count is atomic. */
  GMutex            crash_lock;
  GError           *crash_error;
  guint             crash_count;
  GMutex            handle_lock;
  gboolean          handle_live;  /* guarded by handle_lock (and shutdown_lock to write) */

  gint              state;        /* RbLifecycleState, atomic */
  gint              log_level;    /* RbLogLevel, atomic */
  gboolean          initialized;
  GError           *init_error;

  /* Admission: calls in flight and the shutdown that waits for them. */
  RbInflight        inflight;
  GMutex            shutdown_lock;/* serialises shutdowns */

  /* Async calls wait in the call queue for its pool. */
  RbCallQueue      *calls;
  guint64           host_rejected;/* 64-bit atomic */

  /* Signals and notifications go to the owner context. */
  GThread          *owner_thread;
  RbDispatcher     *owner;
  RbRelay          *relay;
  RbLogSink         sink;
  /* Whether the plugin's own hold on the relay (start-up events, from
   * creation until the caller has the object) is still taken; atomic. */
  gint              start_up_held;

  /* Live reload (rb-plugin-reload.c): NULL until the first reload;
   * atomic pointer, freed by finalize. */
  RbPluginReload   *reload;
};

/* ---- state (here: every plugin file uses it) ---- */

/* The state's name, as in messages ("active"). */
static inline const char *
rb_lifecycle_state_name (RbLifecycleState state)
{
  switch (state)
    {
    case RB_LIFECYCLE_STATE_INSTALLED:
      return "installed";
    case RB_LIFECYCLE_STATE_STARTING:
      return "starting";
    case RB_LIFECYCLE_STATE_ACTIVE:
      return "active";
    case RB_LIFECYCLE_STATE_STOPPING:
      return "stopping";
    case RB_LIFECYCLE_STATE_STOPPED:
      return "stopped";
    case RB_LIFECYCLE_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
    }
}

/* Publishes @new_state (notified through the relay). */
static inline void
rb_plugin_set_state (RbPlugin         *self,
                     RbLifecycleState  new_state)
{
  RbLifecycleState old_state = g_atomic_int_exchange (&self->state, new_state);

  if (old_state != new_state)
    rb_relay_state_changed (self->relay, old_state, new_state);
}

/* Moves from @from to @to only if the state is still @from. */
static inline gboolean
rb_plugin_transition (RbPlugin         *self,
                      RbLifecycleState  from,
                      RbLifecycleState  to)
{
  if (!g_atomic_int_compare_and_exchange (&self->state, from, to))
    return FALSE;
  rb_relay_state_changed (self->relay, from, to);
  return TRUE;
}

/* ---- rb-plugin.c ---- */

/* RbPlugin:crash-count, for rb_relay_notify() from the back end. */
extern GParamSpec *rb_plugin_crash_count_pspec;

/* Records which bundle a plugin was loaded from (shown by the
 * bundle-name/bundle-version properties). Called by RbBundle right after
 * rb_plugin_new() succeeded. */
void      rb_plugin_set_bundle_info    (RbPlugin          *self,
                                        const char        *bundle_name,
                                        const char        *bundle_version);


/* ---- rb-plugin-lifecycle.c ---- */

/* Keeps the plugin's start-up events (rb_relay_hold()) until @task's
 * callback has returned: for a loader whose own task hands the plugin
 * out (RbBundle). Call it on the owner context before returning @task. */
void      rb_plugin_hold_start_up_until (RbPlugin         *self,
                                         GTask            *task);

/* Creates and initialises an in-process instance of @library (factory,
 * plugin_init, the handle claimed, @log_level set), its logs attributed
 * to @sink; @path names it in messages. Touches nothing of @self but
 * reads its config. Returns the handle, or NULL with @error set. */
void     *rb_plugin_create_handle       (RbPlugin         *self,
                                         RbLibrary        *library,
                                         RbLogSink        *sink,
                                         const char       *path,
                                         const char       *config_json,
                                         RbLogLevel        log_level,
                                         GError          **error);
void      rb_plugin_initable_iface_init       (GInitableIface      *iface);
void      rb_plugin_async_initable_iface_init (GAsyncInitableIface *iface);
/* Gives the start-up events free (dispose: the creator never took them). */
void      rb_plugin_release_start_up    (RbPlugin         *self);
/* Shuts the plugin down (idempotent); the shutdown of dispose too. */
gboolean  rb_plugin_do_shutdown         (RbPlugin         *self,
                                         GError          **error);

/* ---- rb-plugin-backend.c: the ways a call reaches the plugin ---- */

/*
 * RB_BACKEND_DIRECT is the in-process hot path (rb-plugin-call.c): the
 * sync entry points and the pool workers call the plugin's handler on
 * their own thread. Every other back end is one branch away, taken before
 * admission, and lives in rb-plugin-backend.c:
 *
 *   RB_BACKEND_DEADLINE  in process with a call-timeout-ms: the handler
 *                        runs on a worker while the caller waits until
 *                        the deadline (a late result is dropped)
 *   RB_BACKEND_ISOLATED  PROCESS/SANDBOX: the handler runs in a helper
 *                        process (rb-isolated-private.h)
 *
 * Async calls go through the same entry points on the plugin's pool, so
 * they behave the same in every back end.
 */
typedef enum {
  RB_BACKEND_DIRECT = 0,
  RB_BACKEND_DEADLINE,
  RB_BACKEND_ISOLATED,
} RbBackend;

/* Chooses the back end from the config; isolated: checks that it can run
 * (the sandbox needs bwrap). Init, before anything else. */
gboolean  rb_plugin_backend_prepare     (RbPlugin         *self,
                                         GError          **error);
/* SANDBOX: bwrap's path for RbIsolatedOptions.sandbox_bwrap, or NULL
 * with @error (G_IO_ERROR_NOT_SUPPORTED) when the sandbox cannot run; a
 * reload's helper is started with it too. */
char     *rb_plugin_sandbox_bwrap       (RbPlugin         *self,
                                         GError          **error);
/* Starts the helper and the plugin in it (state STARTING -> ACTIVE, or
 * FAILED with @error). */
gboolean  rb_plugin_backend_start_isolated (RbPlugin      *self,
                                            const char    *config_json,
                                            GError       **error);
/* Shuts an isolated plugin's helper down (no call is admitted any more). */
gboolean  rb_plugin_backend_shutdown_isolated (RbPlugin   *self,
                                               GError    **error);
/* The calls of the back ends other than DIRECT (admission included). */
char     *rb_plugin_backend_call        (RbPlugin         *self,
                                         const char       *type_tag,
                                         const char       *request,
                                         gsize             request_len,
                                         GError          **error);
GBytes   *rb_plugin_backend_call_raw    (RbPlugin         *self,
                                         guint32           message_id,
                                         GBytes           *request,
                                         GError          **error);
/* The error of a call to a plugin that is not active: its crash when it
 * crashed. */
void      rb_plugin_backend_set_crash_error (RbPlugin     *self,
                                             GError      **error);

/* ---- rb-plugin-async.c ---- */

/* Fails the async calls still waiting in the queue (not those running)
 * with %RB_PLUGIN_ERROR_INVALID_STATE: at shutdown. */
void      rb_plugin_fail_queued_calls  (RbPlugin          *self);

/* ---- rb-plugin-call.c ---- */

void      rb_plugin_set_inactive_error (RbPlugin          *self,
                                        RbLifecycleState   state,
                                        GError           **error);
/* The checks a call makes before admission. */
gboolean  rb_plugin_check_type_tag_ext (RbPlugin          *self,
                                        const char        *type_tag,
                                        GError           **error);
gboolean  rb_plugin_check_raw          (RbPlugin          *self,
                                        GError           **error);
/* The calls themselves (what the sync entry points inline), for a pool
 * worker: admission included. */
char     *rb_plugin_invoke_json_text   (RbPlugin          *self,
                                        const char        *type_tag,
                                        const char        *request,
                                        gsize              request_len,
                                        GError           **error);
GBytes   *rb_plugin_invoke_raw_bytes   (RbPlugin          *self,
                                        guint32            message_id,
                                        GBytes            *request,
                                        GError           **error);
/* The in-process calls without the back-end branch (admission included),
 * for the DEADLINE back end's workers. */
char     *rb_plugin_invoke_direct_json (RbPlugin          *self,
                                        const char        *type_tag,
                                        const char        *request,
                                        gsize              request_len,
                                        GError           **error);
GBytes   *rb_plugin_invoke_direct_raw  (RbPlugin          *self,
                                        guint32            message_id,
                                        GBytes            *request,
                                        GError           **error);
char     *rb_plugin_request_from_node  (JsonNode          *request);
/* Takes @payload; a payload that is not JSON is a protocol error. */
JsonNode *rb_plugin_payload_to_node    (RbPlugin          *self,
                                        char              *payload,
                                        GError           **error);

/* ---- rb-plugin-async.c ---- */

/* Creates the plugin's call queue (init, once the config is known). */
gboolean  rb_plugin_start_call_queue   (RbPlugin          *self,
                                        GError           **error);

/* ---- rb-plugin-reload.c ---- */

/* Admission for a plugin found not active (@state): a call that meets a
 * reload's switch waits for it and is admitted to the new instance;
 * otherwise the error of a plugin that is not active. */
gboolean  rb_plugin_admit_slow         (RbPlugin          *self,
                                        RbInflightSlot   **ticket,
                                        RbLifecycleState   state,
                                        GError           **error);
/* Whether a reload is switching instances right now (async calls are
 * then queued: their worker waits in admission). */
gboolean  rb_plugin_reload_is_switching (RbPlugin         *self);
/* Finalize: frees what reloads kept (after the helper is freed). */
void      rb_plugin_reload_free        (RbPluginReload    *reload);
/* A shutdown or restart freed the serving helper @gone (compared, never
 * read): no reload slot may still name it. shutdown_lock held. */
void      rb_plugin_reload_forget_isolated (RbPlugin      *self,
                                            RbIsolated    *gone);

/* ---- admission (rb-inflight-private.h) ---- */

/* Admits a call that will use the handle: the plugin must be active, and
 * a shutdown waits for admitted calls (rb-inflight-private.h) before it
 * calls plugin_shutdown(). Costs no locked instruction. */
static inline G_ALWAYS_INLINE gboolean
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
  return rb_plugin_admit_slow (self, ticket, state, error);
}

static inline G_ALWAYS_INLINE void
rb_plugin_release (RbPlugin       *self,
                   RbInflightSlot *ticket)
{
  rb_inflight_leave (&self->inflight, ticket);
}

G_END_DECLS
