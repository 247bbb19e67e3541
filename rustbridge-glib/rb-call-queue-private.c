/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-call-queue-private.h"

/* How long an idle drainer lingers for the next item before it gives its
 * pool thread back (doc/performance.md, "Async calls"). */
#define DRAINER_LINGER_US 20

struct _RbCallQueue {
  GThreadPool     *pool;
  RbCallQueueFunc  run;
  RbCallQueueFunc  complete;
  GMutex           lock;
  GCond            cond;
  GQueue           submitted;    /* items, guarded by lock */
  gint             n_submitted;  /* atomic mirror of submitted.length */
  guint            drainers;     /* guarded by lock */
  guint            max_drainers;
  gboolean         closing;      /* guarded by lock */
  gint             queued;       /* atomic: admitted, not finished */
  guint            max_queued;
};

static gpointer
rb_call_queue_next (RbCallQueue *self)
{
  gint64 deadline = 0;

  for (;;)
    {
      gpointer item;

      g_mutex_lock (&self->lock);
      item = g_queue_pop_head (&self->submitted);
      if (item != NULL)
        {
          g_atomic_int_add (&self->n_submitted, -1);
          g_mutex_unlock (&self->lock);
          return item;
        }
      if (self->closing || (deadline != 0 && g_get_monotonic_time () >= deadline))
        {
          /* Retire; a later push sees the count drop and starts one. */
          self->drainers--;
          g_cond_broadcast (&self->cond);
          g_mutex_unlock (&self->lock);
          return NULL;
        }
      g_mutex_unlock (&self->lock);

      if (deadline == 0)
        deadline = g_get_monotonic_time () + DRAINER_LINGER_US;
      while (g_atomic_int_get (&self->n_submitted) == 0 &&
             g_get_monotonic_time () < deadline)
        g_thread_yield ();
    }
}

/* A task of the pool: takes items until none comes for a while. */
static void
rb_call_queue_drainer (gpointer data,
                       gpointer user_data)
{
  RbCallQueue *self = data;
  gpointer item;

  while ((item = rb_call_queue_next (self)) != NULL)
    {
      self->run (item);
      g_atomic_int_add (&self->queued, -1);
      self->complete (item);
    }
}

RbCallQueue *
rb_call_queue_new (guint             max_threads,
                   guint             max_queued,
                   RbCallQueueFunc   run,
                   RbCallQueueFunc   complete,
                   GError          **error)
{
  RbCallQueue *self = g_new0 (RbCallQueue, 1);

  self->pool = g_thread_pool_new (rb_call_queue_drainer, NULL, (int) max_threads, FALSE, error);
  if (self->pool == NULL)
    {
      g_free (self);
      return NULL;
    }
  self->run = run;
  self->complete = complete;
  self->max_drainers = max_threads;
  self->max_queued = max_queued;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->submitted);
  return self;
}

void
rb_call_queue_free (RbCallQueue *self)
{
  /* Drainers hold no reference (items do): make the idle ones retire. */
  g_mutex_lock (&self->lock);
  self->closing = TRUE;
  while (self->drainers > 0)
    g_cond_wait (&self->cond, &self->lock);
  g_mutex_unlock (&self->lock);
  g_thread_pool_free (self->pool, TRUE, FALSE);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_free (self);
}

guint
rb_call_queue_get_max_queued (RbCallQueue *self)
{
  return self->max_queued;
}

guint
rb_call_queue_take_waiting (RbCallQueue     *self,
                            RbCallQueueFunc  func)
{
  GQueue waiting = G_QUEUE_INIT;
  gpointer item;
  guint n;

  g_mutex_lock (&self->lock);
  waiting = self->submitted;
  g_queue_init (&self->submitted);
  g_atomic_int_set (&self->n_submitted, 0);
  g_mutex_unlock (&self->lock);

  /* Idle drainers find nothing and retire. */
  n = waiting.length;
  while ((item = g_queue_pop_head (&waiting)) != NULL)
    {
      g_atomic_int_add (&self->queued, -1);
      func (item);
    }
  return n;
}

gboolean
rb_call_queue_try_push (RbCallQueue *self,
                        gpointer     item)
{
  gboolean start_drainer = FALSE;

  /* Backpressure: bounded, refused at once when full. */
  if ((guint) g_atomic_int_add (&self->queued, 1) >= self->max_queued)
    {
      g_atomic_int_add (&self->queued, -1);
      return FALSE;
    }

  g_mutex_lock (&self->lock);
  g_queue_push_tail (&self->submitted, item);
  g_atomic_int_inc (&self->n_submitted);
  /* One more drainer only while there is more queued than running. */
  if (self->drainers < self->max_drainers && self->drainers < self->submitted.length)
    {
      self->drainers++;
      start_drainer = TRUE;
    }
  g_mutex_unlock (&self->lock);

  if (start_drainer)
    g_thread_pool_push (self->pool, self, NULL);
  return TRUE;
}

guint
rb_call_queue_pool_size (guint worker_threads,
                         guint max_concurrent_ops)
{
  if (worker_threads == 0)
    worker_threads = g_get_num_processors ();
  if (max_concurrent_ops == 0)  /* no limit */
    return MAX (worker_threads, 1);
  return CLAMP (worker_threads, 1, max_concurrent_ops);
}
