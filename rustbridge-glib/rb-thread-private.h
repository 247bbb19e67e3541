/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RbThread: everything the library keeps per thread, in one record.
 *
 * What: the log sink of the plugin this thread is calling into
 * (rb-library-private.h), the thread's in-flight slot
 * (rb-inflight-private.h) and one spare holder for raw replies
 * (rb-plugin-call.c). Each member belongs to the module named beside it:
 * only that module reads or writes it.
 *
 * Threads: the record is the calling thread's own; no other thread ever
 * touches it (the in-flight registry holds the slot's address, not the
 * record's). It lives in initial-exec TLS, read on every call
 * (doc/performance.md, "The hot path").
 *
 * Ownership: the members that hold memory (the slot, the spare holder) are
 * released by one exit hook, armed once per thread with
 * rb_thread_arm_exit_hook() by whoever first stores such memory; the slot
 * through the function its owner registered, the spare holder with
 * g_free(). A thread that never stores memory never arms the hook.
 */

struct _RbLogSink;
struct _RbInflightSlot;

typedef struct {
  struct _RbLogSink      *current_sink;     /* rb-library-private */
  struct _RbInflightSlot *inflight_slot;    /* rb-inflight-private */
  gpointer                spare_raw_holder; /* rb-plugin-call.c; g_free() at exit */
  gboolean                exit_hook_armed;
} RbThread;

extern _Thread_local RbThread rb_thread __attribute__ ((tls_model ("initial-exec")));

/* Called at thread exit (before the spare holder is freed) with the
 * thread's in-flight slot, when it has one: set once by rb-inflight. */
void rb_thread_set_slot_exit_func (void (*func) (struct _RbInflightSlot *slot));

/* Makes sure the exit hook runs when this thread exits. Cheap after the
 * first call on a thread. */
void rb_thread_arm_exit_hook_slow (void);

static inline void
rb_thread_arm_exit_hook (void)
{
  if (G_UNLIKELY (!rb_thread.exit_hook_armed))
    rb_thread_arm_exit_hook_slow ();
}

G_END_DECLS
