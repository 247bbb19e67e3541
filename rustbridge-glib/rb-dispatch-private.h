/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RbDispatcher: a queue of work items for one GMainContext, drained in
 * bursts by a single GSource attached to that context.
 *
 * Pushing is thread-safe and wakes the context only when the queue goes
 * from empty to non-empty, so a burst of completions from worker threads
 * costs one wakeup of the main loop rather than one per item. Every
 * callback runs on the thread that iterates the context.
 *
 * The dispatcher does not keep its context alive: the context owns the
 * dispatcher's source, and when the last reference to the context goes
 * (iterated or not), the dispatcher dies with it. Items still queued are
 * then destroyed (their @destroy function runs, in the thread that
 * dropped the context), and later pushes destroy their item at once.
 * An item may have a prepare function, run on the context's thread just
 * before the item (see rb_dispatcher_push_full()): an async call makes its
 * GTask there, so that no GTask waiting in the queue keeps the context
 * alive.
 */
typedef struct _RbDispatcher RbDispatcher;

typedef void (*RbDispatchFunc) (gpointer data);

RbDispatcher *rb_dispatcher_get_for_context (GMainContext *context);
RbDispatcher *rb_dispatcher_get_thread_default (void);
RbDispatcher *rb_dispatcher_ref             (RbDispatcher *self);
void          rb_dispatcher_unref           (RbDispatcher *self);
gboolean      rb_dispatcher_is_for_context  (RbDispatcher *self,
                                             GMainContext *context);
gboolean      rb_dispatcher_in_context      (RbDispatcher *self,
                                             GThread      *owner_thread);
void          rb_dispatcher_push            (RbDispatcher  *self,
                                             RbDispatchFunc func,
                                             RbDispatchFunc destroy,
                                             gpointer       data);
void          rb_dispatcher_push_full       (RbDispatcher  *self,
                                             RbDispatchFunc prepare,
                                             RbDispatchFunc func,
                                             RbDispatchFunc destroy,
                                             gpointer       data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RbDispatcher, rb_dispatcher_unref)

G_END_DECLS
