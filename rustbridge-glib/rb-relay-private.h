/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib-object.h>

#include "rb-dispatch-private.h"

G_BEGIN_DECLS

/*
 * RbRelay: carries what happens to an object on other threads (log
 * messages, state changes, property notifications) to the object's owner
 * context, in order, without keeping the object alive.
 *
 * What: a relay is created for one GObject with a small table of
 * callbacks; it calls them on the owner context with the object (a strong
 * reference taken from a weak one for the time of the call), and drops
 * what arrives after the object is gone. It never calls anything else of
 * its owner's.
 *
 * Log messages: rb_relay_log() copies a message (cut to
 * RB_RELAY_MAX_MESSAGE_BYTES with a marker, its target to
 * RB_RELAY_MAX_TARGET_BYTES; invalid UTF-8 and NUL bytes replaced) into a
 * queue bounded by count and bytes (RB_RELAY_MAX_PENDING_LOGS,
 * RB_RELAY_MAX_PENDING_BYTES). Beyond the bounds messages are dropped and
 * counted; at most one drop report is queued at any time, and the first
 * one says so. Nothing here logs through GLib: whatever a plugin passes,
 * it cannot make its host's log fatal.
 *
 * Threads: rb_relay_log() may be called from any thread;
 * rb_relay_state_changed() and rb_relay_notify() from any thread too, but
 * only by the object itself (while it is alive: on the owner context they
 * reach it directly, even from its dispose). The callbacks run on the owner context
 * only, with no lock held. A state change or a notification made on the
 * owner context is delivered at once when nothing older is queued.
 *
 * Holding: while the relay is held (rb_relay_hold()), everything it
 * would deliver — log messages, drop reports, state changes, property
 * notifications, including those made on the owner context — is kept, in
 * order, instead of being queued for the owner context; the last
 * rb_relay_release() queues it all there (still in order, before anything
 * that comes later). RbPlugin holds its relay from its creation until the
 * caller has the started object, so that handlers connected then see the
 * start-up events. Held log messages count against the same bounds as
 * queued ones.
 *
 * Ownership: the relay is reference-counted; its owner holds one
 * reference and every queued item another, so a relay outlives its
 * object while items are queued. It holds a reference to the owner
 * context's dispatcher (which does not keep the context alive).
 */

/* Undelivered log messages per relay, by count and by bytes. */
#define RB_RELAY_MAX_PENDING_LOGS   4096
#define RB_RELAY_MAX_PENDING_BYTES  (8 * 1024 * 1024)
/* A longer message is cut there, with a marker saying how long it was. */
#define RB_RELAY_MAX_MESSAGE_BYTES  (64 * 1024)
/* A longer target (a module path) is cut, without a marker. */
#define RB_RELAY_MAX_TARGET_BYTES   1024

typedef struct _RbRelay RbRelay;

typedef struct {
  /* A log message: @level as the sink got it, strings valid UTF-8. */
  void (*log)           (GObject    *object,
                         guint8      level,
                         const char *target,
                         const char *message);
  void (*state_changed) (GObject    *object,
                         gint        old_state,
                         gint        new_state);
  /* Messages were dropped (see rb_relay_get_dropped()); @first is TRUE
   * for the first report of this relay. */
  void (*logs_dropped)  (GObject    *object,
                         gboolean    first);
} RbRelayFuncs;

/* @funcs must outlive the relay (a static table). */
RbRelay  *rb_relay_new             (GObject            *object,
                                    RbDispatcher       *owner,
                                    GThread            *owner_thread,
                                    const RbRelayFuncs *funcs);
RbRelay  *rb_relay_ref             (RbRelay            *self);
void      rb_relay_unref           (RbRelay            *self);

/* Whether the calling thread runs the owner context now. */
gboolean  rb_relay_on_owner_context (RbRelay           *self);

/* Any thread. The signature fits an RbLogSinkFunc, with the relay as its
 * user data. */
void      rb_relay_log             (gpointer            relay,
                                    guint8              level,
                                    const char         *target,
                                    const char         *message,
                                    gsize               message_len);
void      rb_relay_state_changed   (RbRelay            *self,
                                    gint                old_state,
                                    gint                new_state);
void      rb_relay_notify          (RbRelay            *self,
                                    GParamSpec         *pspec);

/* Start or end a hold (any thread; releases must match holds). */
void      rb_relay_hold            (RbRelay            *self);
void      rb_relay_release         (RbRelay            *self);
/* Releases on the owner context's next iteration (any thread). */
void      rb_relay_release_later   (RbRelay            *self);
/* On the owner context, from the object's dispose: delivers what is held
 * now, to the object being disposed, and ends holding for good (later
 * holds and releases do nothing). */
void      rb_relay_flush           (RbRelay            *self);

/* Messages dropped so far (any thread). */
guint64   rb_relay_get_dropped     (RbRelay            *self);

G_END_DECLS
