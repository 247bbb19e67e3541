/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>

#ifdef __linux__
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "rb-inflight-private.h"

/* How often a waiter looks again without being woken: a safety net only,
 * every leave that can matter to a waiter wakes it. */
#define RB_INFLIGHT_POLL_US (10 * G_TIME_SPAN_MILLISECOND)

static GMutex registry_lock;
static RbInflightSlot *registry;   /* every live thread's slot */

/* Runs when a thread with a slot exits (rb-thread-private.h). */
static void
slot_free (RbInflightSlot *slot)
{
  RbInflightSlot **link;

  g_mutex_lock (&registry_lock);
  for (link = &registry; *link != NULL; link = &(*link)->next)
    if (*link == slot)
      {
        *link = slot->next;
        break;
      }
  g_mutex_unlock (&registry_lock);

  g_free (slot);
}

#if defined(__linux__) && defined(__NR_membarrier)
static long
membarrier (int cmd)
{
  return syscall (__NR_membarrier, cmd, 0, 0);
}
#endif

/* Whether this process may use per-thread slots: the kernel must offer
 * expedited private membarrier, and the process must have registered for
 * it before the first slot exists. Decided once. RUSTBRIDGE_NO_MEMBARRIER
 * in the environment forces the atomic counter (tests, diagnosis). */
static gboolean
slots_available (void)
{
  static gsize once = 0;
  static gboolean available = FALSE;

  if (g_once_init_enter (&once))
    {
#if defined(__linux__) && defined(__NR_membarrier)
      long commands = g_getenv ("RUSTBRIDGE_NO_MEMBARRIER") != NULL ? 0 : membarrier (MEMBARRIER_CMD_QUERY);

      available = commands > 0 &&
                  (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                  (commands & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) &&
                  membarrier (MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
#endif
      g_once_init_leave (&once, 1);
    }
  return available;
}

gboolean
rb_inflight_uses_slots (void)
{
  return slots_available ();
}

/* The waiter's half of the fence: after it, every thread has executed a
 * full barrier, so a slot written before that is visible here, and a
 * thread entering after it sees what the waiter published before. */
static void
heavy_barrier (void)
{
#if defined(__linux__) && defined(__NR_membarrier)
  if (slots_available () && membarrier (MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
    {
      /* Cannot happen once registered; if it does, the slots may lag. */
      g_warning ("membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) failed: %s", g_strerror (errno));
      g_usleep (RB_INFLIGHT_POLL_US);
    }
#endif
  __atomic_thread_fence (__ATOMIC_SEQ_CST);
}

static RbInflightSlot *
register_thread_slot (void)
{
  RbInflightSlot *slot = g_new0 (RbInflightSlot, 1);

  g_mutex_lock (&registry_lock);
  slot->next = registry;
  registry = slot;
  g_mutex_unlock (&registry_lock);

  /* Freed (and taken out of the registry) when the thread exits. */
  rb_thread_set_slot_exit_func (slot_free);
  rb_thread.inflight_slot = slot;
  rb_thread_arm_exit_hook ();
  return slot;
}

void
rb_inflight_init (RbInflight *self)
{
  self->counter = 0;
  self->waiters = 0;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
}

void
rb_inflight_clear (RbInflight *self)
{
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
}

RbInflightSlot *
rb_inflight_enter_slow (RbInflight *self)
{
  RbInflightSlot *slot = rb_thread.inflight_slot;

  if (slot == NULL && slots_available ())
    slot = register_thread_slot ();

  if (slot != NULL && slot->current == NULL)
    {
      __atomic_store_n (&slot->current, (gpointer) self, __ATOMIC_RELAXED);
      RB_INFLIGHT_COMPILER_BARRIER ();
      return slot;
    }

  /* No slot, or this thread is already inside a call (a nested call). */
  g_atomic_int_inc (&self->counter);
  return NULL;
}

void
rb_inflight_leave_slow (RbInflight     *self,
                        RbInflightSlot *ticket)
{
  if (ticket == NULL)
    {
      /* Full barrier: orders the decrement before the load of waiters. */
      g_atomic_int_dec_and_test (&self->counter);
      if (g_atomic_int_get (&self->waiters) == 0)
        return;
    }

  g_mutex_lock (&self->lock);
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static gboolean
is_idle (RbInflight *self)
{
  gboolean idle = g_atomic_int_get (&self->counter) == 0;

  if (idle && slots_available ())
    {
      g_mutex_lock (&registry_lock);
      for (RbInflightSlot *slot = registry; slot != NULL && idle; slot = slot->next)
        idle = __atomic_load_n (&slot->current, __ATOMIC_ACQUIRE) != (gpointer) self;
      g_mutex_unlock (&registry_lock);
    }
  return idle;
}

gboolean
rb_inflight_wait_idle (RbInflight *self,
                       gint64      end_time)
{
  gboolean idle;

  g_mutex_lock (&self->lock);
  /* Published before the barrier: a call that leaves after it sees the
   * waiter and wakes it (under the lock, so the wake is not lost). */
  g_atomic_int_inc (&self->waiters);
  heavy_barrier ();

  for (;;)
    {
      gint64 now;

      idle = is_idle (self);
      if (idle)
        break;
      now = g_get_monotonic_time ();
      if (now >= end_time)
        break;
      g_cond_wait_until (&self->cond, &self->lock, MIN (end_time, now + RB_INFLIGHT_POLL_US));
    }

  g_atomic_int_dec_and_test (&self->waiters);
  g_mutex_unlock (&self->lock);
  return idle;
}
