/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

#include "rb-thread-private.h"

G_BEGIN_DECLS

/*
 * RbInflight: which calls are inside an object right now, so that the
 * object can wait for them before it tears down what they use (a plugin
 * waits for its calls before plugin_shutdown()).
 *
 * The entry and exit of a call cost no locked instruction: each thread
 * that calls has a slot (registered once per thread) where it writes the
 * RbInflight it is inside of; the waiter pays instead, with one
 * membarrier(2) that makes every running thread of the process execute a
 * full memory barrier (an "asymmetric" Dekker fence, as in liburcu). The
 * caller's protocol is:
 *
 *   ticket = rb_inflight_enter (&in);     waiter: publish "closed" (seq_cst)
 *   if (!closed) ... call ...                     rb_inflight_wait_idle (&in)
 *   rb_inflight_leave (&in, ticket);
 *
 * Either the waiter sees the slot (and waits), or the caller sees
 * "closed" after entering (and leaves without calling). Where membarrier
 * is not available (other kernels, seccomp), enter and leave fall back to
 * an atomic counter, with the same guarantees.
 */

typedef struct _RbInflightSlot RbInflightSlot;

struct _RbInflightSlot {
  gpointer         current;  /* the RbInflight this thread is inside of */
  RbInflightSlot  *next;     /* registry, guarded by its lock */
};

typedef struct {
  gint    counter;   /* atomic: calls admitted without a slot */
  gint    waiters;   /* atomic */
  GMutex  lock;
  GCond   cond;
} RbInflight;

void             rb_inflight_init        (RbInflight *self);
void             rb_inflight_clear       (RbInflight *self);
RbInflightSlot  *rb_inflight_enter_slow  (RbInflight *self);
void             rb_inflight_leave_slow  (RbInflight *self,
                                          RbInflightSlot *ticket);

/* Waits until no call is inside @self or until @end_time (monotonic);
 * returns TRUE if none is. The caller must already have made new calls
 * turn back (published its "closed" state). */
gboolean         rb_inflight_wait_idle   (RbInflight *self,
                                          gint64      end_time);

/* For tests: whether enter/leave use per-thread slots. */
gboolean         rb_inflight_uses_slots  (void);

/* A compiler-only barrier: the CPU-side half of the fence is the waiter's
 * membarrier(). */
#define RB_INFLIGHT_COMPILER_BARRIER() __asm__ __volatile__ ("" ::: "memory")

/* Returns a ticket for rb_inflight_leave(). Callers then check whether
 * @self is closed, and leave at once if it is. */
static inline RbInflightSlot *
rb_inflight_enter (RbInflight *self)
{
  /* The current thread's slot (rb-thread-private.h), NULL until its first
   * call (or for ever where asymmetric fences are not available). */
  RbInflightSlot *slot = rb_thread.inflight_slot;

  if (G_LIKELY (slot != NULL && slot->current == NULL))
    {
      __atomic_store_n (&slot->current, (gpointer) self, __ATOMIC_RELAXED);
      RB_INFLIGHT_COMPILER_BARRIER ();
      return slot;
    }
  return rb_inflight_enter_slow (self);
}

static inline void
rb_inflight_leave (RbInflight     *self,
                   RbInflightSlot *ticket)
{
  if (G_LIKELY (ticket != NULL))
    {
      RB_INFLIGHT_COMPILER_BARRIER ();
      __atomic_store_n (&ticket->current, NULL, __ATOMIC_RELEASE);
      RB_INFLIGHT_COMPILER_BARRIER ();
      if (G_LIKELY (__atomic_load_n (&self->waiters, __ATOMIC_RELAXED) == 0))
        return;
    }
  rb_inflight_leave_slow (self, ticket);
}

G_END_DECLS
