/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include <glib.h>

#include "rb-isolated-private.h"
#include "rb-isolated-wire-private.h"

G_BEGIN_DECLS

/*
 * RbIsolated's insides, shared by its three files:
 *
 *   rb-isolated-call-private.c  the calls: slots, the sync wait, the
 *                               async queue and its completer thread, and
 *                               the error/kill helpers every part uses
 *   rb-isolated-region-private.c  the regions lent to big calls (the
 *                               call file takes and gives them back, the
 *                               watcher ages them)
 *   rb-isolated-private.c       the life cycle: start (spawn + INIT), the
 *                               watcher thread (frames from the helper,
 *                               its death), control requests, shutdown,
 *                               free
 *
 * The life-cycle file uses the call file (never the other way round);
 * both use rb-isolated-wire-private (the wire) and the life-cycle file
 * rb-isolated-spawn-private (the process).
 *
 * Locking: `lock` guards the call table, the queue and the death fields;
 * `control_lock` serialises control requests; `region_lock` the region
 * table (taken on its own, never with `lock`). Slot states in the shared
 * region are atomics (rb-isolated-wire-private.h).
 */

typedef struct {
  gboolean            busy;
  gboolean            async;
  guint32             kind;
  guint64             id;
  gint64              deadline_ns;   /* 0: none */
  RbIsolatedDoneFunc  func;          /* async; NULL once it has run */
  gpointer            user_data;
  char               *tag;           /* for messages */
  GBytes             *big_reply;     /* from the watcher */
  guint32             big_code;
  gint                region;        /* lent to the call, or -1 */
} RbIsolatedCall;

/* A region (see "Regions" in rb-isolated-wire-private.h). map and size
 * do not change while the region is lent: the call that holds it reads
 * them without the lock. */
typedef struct {
  guint32             id;            /* 0: the entry is empty */
  gboolean            lent;
  guint8             *map;           /* NULL while being made */
  gsize               size;
  gint64              idle_since_ns;
} RbIsolatedRegion;

typedef struct {
  guint32             kind;
  char               *tag;
  guint32             message_id;
  GBytes             *data;
  RbIsolatedDoneFunc  func;
  gpointer            user_data;
} RbIsolatedQueued;

struct _RbIsolated {
  char               *path;
  pid_t               pid;            /* sandboxed: the outer bwrap process */
  gboolean            sandboxed;
  int                 sock;
  int                 pidfd;          /* -1 where pidfd_open() is not available */
  RbShmHeader        *shm;
  guint32             spin_ns;        /* the window asked for (0: never spin) */
  RbWireSpin          call_spin;      /* sync waiters' adaptive spin */
  _Atomic guint32     call_spinners;  /* how many of them spin */
  RbWireSpin          done_spin;      /* the completer's */
  guint               call_timeout_ms;
  gboolean            has_raw;
  RbIsolatedLogFunc   log_func;
  RbIsolatedDiedFunc  died_func;
  gpointer            user_data;

  GMutex              lock;
  GCond               cond;
  guint64             next_id;
  guint32             free_slots[RB_SHM_SLOTS];
  guint               n_free;
  RbIsolatedCall              calls[RB_SHM_SLOTS];
  guint               n_busy;
  GQueue              queued;         /* RbIsolatedQueued *: async calls waiting for a slot */
  gboolean            closing;        /* shutdown: new calls are refused */
  gboolean            expect_exit;    /* shutdown or free: the exit is no crash */
  gboolean            initialised;    /* rb_isolated_new() succeeded */
  char               *kill_reason;
  gint                dead;           /* atomic */
  GError             *death;
  guint               death_report;   /* 0, 1: died_func running, 2: it ran (or will not) */
  guint               cond_waiters;   /* threads in rb_isolated_wait_locked() */

  GMutex              control_lock;   /* one control request at a time */
  guint64             control_id;
  gboolean            control_done;
  guint32             control_code;
  guint32             control_slot;
  GBytes             *control_payload;

  GMutex              region_lock;    /* the region table */
  RbIsolatedRegion    regions[RB_REGION_MAX_COUNT];
  guint32             next_region_id;
  gsize               region_bytes;
  gsize               region_budget;  /* RB_REGION_MAX_TOTAL, less under a memory limit */

  GThread            *watcher;
  GThread            *completer;
  gboolean            stopping;
};

/* ---- rb-isolated-call-private.c ---- */

/* The error of a call after the helper died (a copy of the death). Lock held. */
void     rb_isolated_set_death        (RbIsolated  *self,
                                       GError     **error);
/* Kills the helper; the watcher then reports it with @reason. Lock held. */
void     rb_isolated_kill_locked      (RbIsolated  *self,
                                       const char  *reason);
void     rb_isolated_kill             (RbIsolated  *self,
                                       const char  *reason);
/* One frame on the socket (rb_wire_send()). */
gboolean rb_isolated_send             (RbIsolated  *self,
                                       guint16      kind,
                                       guint32      slot,
                                       guint32      code,
                                       guint64      id,
                                       const void  *payload,
                                       gsize        len,
                                       int          fd);
void     rb_isolated_wake_completer   (RbIsolated  *self);
/* After a call failed with @error: if it is CRASHED, reports the death
 * to died_func now (once per helper; rb-isolated-private.c). */
void     rb_isolated_settle           (RbIsolated   *self,
                                       const GError *error);
/* Forgets a call slot's bookkeeping (not the shared slot). */
void     rb_isolated_call_clear       (RbIsolatedCall   *call);
void     rb_isolated_queued_free      (RbIsolatedQueued *queued);

/* ---- rb-isolated-region-private.c ---- */

/* A region of at least @len bytes lent to the caller (made and passed to
 * the helper if needed), or -1: then the payload goes as a memfd. */
gint     rb_isolated_region_take      (RbIsolated  *self,
                                       gsize        len);
void     rb_isolated_region_give_back (RbIsolated  *self,
                                       gint         index);
/* Drops the regions idle for RB_REGION_IDLE_MS; returns how long (ms)
 * until the next one may be, or -1 when none is left. */
gint     rb_isolated_region_trim      (RbIsolated  *self);
/* Unmaps every region (rb_isolated_free()). */
void     rb_isolated_region_clear     (RbIsolated  *self);

/* Waits on self->cond (lock held) until @deadline (monotonic µs; 0:
 * none); FALSE once the deadline passed. Counted, so that the call path
 * broadcasts only when somebody waits: a GCond broadcast is a system
 * call even with no waiter, which a sync call would pay every time. */
static inline gboolean
rb_isolated_wait_locked (RbIsolated *self,
                         gint64      deadline)
{
  gboolean in_time = TRUE;

  self->cond_waiters++;
  if (deadline == 0)
    g_cond_wait (&self->cond, &self->lock);
  else
    in_time = g_cond_wait_until (&self->cond, &self->lock, deadline);
  self->cond_waiters--;
  return in_time;
}

G_END_DECLS
