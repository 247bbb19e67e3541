/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "rb-abi-private.h"
#include "rb-call-queue-private.h"
#include "rb-dispatch-private.h"
#include "rb-inflight-private.h"
#include "rb-library-private.h"
#include "rb-plugin.h"
#include "rb-relay-private.h"

G_BEGIN_DECLS

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
 *
 * Threads: calls run on any thread; what they read of the struct is set
 * once by init (library, abi, handle, calls, sink) or is atomic (state).
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

void      rb_plugin_initable_iface_init       (GInitableIface      *iface);
void      rb_plugin_async_initable_iface_init (GAsyncInitableIface *iface);
/* Gives the start-up events free (dispose: the creator never took them). */
void      rb_plugin_release_start_up    (RbPlugin         *self);
/* Shuts the plugin down (idempotent); the shutdown of dispose too. */
gboolean  rb_plugin_do_shutdown         (RbPlugin         *self,
                                         GError          **error);

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
char     *rb_plugin_request_from_node  (JsonNode          *request);
/* Takes @payload; a payload that is not JSON is a protocol error. */
JsonNode *rb_plugin_payload_to_node    (RbPlugin          *self,
                                        char              *payload,
                                        GError           **error);

/* ---- rb-plugin-async.c ---- */

/* Creates the plugin's call queue (init, once the config is known). */
gboolean  rb_plugin_start_call_queue   (RbPlugin          *self,
                                        GError           **error);

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
  rb_plugin_set_inactive_error (self, state, error);
  return FALSE;
}

static inline G_ALWAYS_INLINE void
rb_plugin_release (RbPlugin       *self,
                   RbInflightSlot *ticket)
{
  rb_inflight_leave (&self->inflight, ticket);
}

G_END_DECLS
