/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RbCallQueue: a bounded queue of submitted work items and the pool of
 * threads that runs them.
 *
 * What: items are opaque pointers. rb_call_queue_try_push() admits an
 * item unless @max_queued items are already waiting or running
 * (backpressure: it then returns FALSE and the caller keeps the item).
 * The pool does not get one task per item (doc/performance.md, "Async
 * calls"): it runs "drainers" that take items while any are queued,
 * linger a little for the next one, and retire; a push starts one more
 * drainer only while more items wait than drainers run, up to
 * @max_threads.
 *
 * For each item a drainer calls @run (the work), then frees the item's
 * place in the bound, then calls @complete (which must hand the item on:
 * nothing of the queue touches it afterwards).
 *
 * Threads: try_push from any thread; @run and @complete on a pool thread,
 * never with a lock held.
 *
 * Ownership: the queue holds no reference to anything; items carry their
 * own (a queued item must keep alive whatever @run and @complete use).
 * rb_call_queue_free() may only be called once no item is queued or
 * running; it waits for idle drainers to retire.
 */
typedef struct _RbCallQueue RbCallQueue;

typedef void (*RbCallQueueFunc) (gpointer item);

RbCallQueue *rb_call_queue_new       (guint             max_threads,
                                      guint             max_queued,
                                      RbCallQueueFunc   run,
                                      RbCallQueueFunc   complete,
                                      GError          **error);
void         rb_call_queue_free      (RbCallQueue      *self);

gboolean     rb_call_queue_try_push  (RbCallQueue      *self,
                                      gpointer          item);
guint        rb_call_queue_get_max_queued (RbCallQueue *self);

/* Takes every item still waiting (not those running) out of the queue and
 * its bound, and calls @func on each, in order, on the calling thread
 * with no lock held (@func must hand the item on). Returns how many. */
guint        rb_call_queue_take_waiting (RbCallQueue     *self,
                                         RbCallQueueFunc  func);

/* The pool size for a plugin: @worker_threads (0: one per processor),
 * never more than @max_concurrent_ops (0: no limit), at least 1. */
guint        rb_call_queue_pool_size (guint             worker_threads,
                                      guint             max_concurrent_ops);

G_END_DECLS
