/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-thread-private.h"

_Thread_local RbThread rb_thread __attribute__ ((tls_model ("initial-exec")));

static void (*slot_exit_func) (struct _RbInflightSlot *slot);

void
rb_thread_set_slot_exit_func (void (*func) (struct _RbInflightSlot *slot))
{
  g_atomic_pointer_set (&slot_exit_func, func);
}

/* Runs when a thread that armed the hook exits, on that thread. */
static void
rb_thread_exit (gpointer data)
{
  void (*func) (struct _RbInflightSlot *slot) = g_atomic_pointer_get (&slot_exit_func);
  struct _RbInflightSlot *slot = g_steal_pointer (&rb_thread.inflight_slot);

  if (slot != NULL && func != NULL)
    func (slot);
  g_clear_pointer (&rb_thread.spare_raw_holder, g_free);
  rb_thread.current_sink = NULL;
  rb_thread.exit_hook_armed = FALSE;
}

static GPrivate exit_hook = G_PRIVATE_INIT (rb_thread_exit);

void
rb_thread_arm_exit_hook_slow (void)
{
  rb_thread.exit_hook_armed = TRUE;
  g_private_set (&exit_hook, GINT_TO_POINTER (1));
}
