/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-dispatch-private.h"

typedef struct {
  RbDispatchFunc func;
  gpointer       data;
} RbDispatchItem;

typedef struct {
  GSource       source;
  RbDispatcher *dispatcher; /* unowned: the dispatcher owns the source */
} RbDispatchSource;

struct _RbDispatcher {
  gint          ref_count;  /* atomic */
  GMainContext *context;    /* owned */
  GSource      *source;     /* owned, attached to context */
  GMutex        lock;
  GArray       *pending;    /* RbDispatchItem, guarded by lock */
  GArray       *draining;   /* only touched by the dispatching thread */
  gboolean      active;     /* draining now; guarded by lock */
};

/* One dispatcher per context. The table does not own a reference: the
 * dispatcher removes itself when its last reference goes away. */
static GMutex dispatchers_lock;
static GHashTable *dispatchers;

/* Batches drained per dispatch before other sources get a turn. */
#define MAX_ROUNDS 16

static gboolean
rb_dispatch_source_dispatch (GSource     *source,
                             GSourceFunc  callback,
                             gpointer     user_data)
{
  RbDispatcher *self = rb_dispatcher_ref (((RbDispatchSource *) source)->dispatcher);
  guint round;

  g_source_set_ready_time (source, -1);

  /* While we drain, pushers do not wake the context (that costs them a
   * write to the context's wakeup fd, and us a poll round): we look for
   * new items before we stop. */
  for (round = 0; round < MAX_ROUNDS; round++)
    {
      GArray *batch;
      guint n_items;

      g_mutex_lock (&self->lock);
      if (self->pending->len == 0)
        {
          self->active = FALSE;
          g_mutex_unlock (&self->lock);
          break;
        }
      batch = self->pending;
      self->pending = self->draining;
      self->draining = batch;
      self->active = TRUE;
      g_mutex_unlock (&self->lock);

      for (guint i = 0; i < batch->len; i++)
        {
          RbDispatchItem *item = &g_array_index (batch, RbDispatchItem, i);
          item->func (item->data);
        }

      /* Each item held a reference (taken by push); ours keeps the
       * dispatcher alive across rounds. */
      n_items = batch->len;
      g_array_set_size (batch, 0);
      for (guint i = 0; i < n_items; i++)
        rb_dispatcher_unref (self);
    }

  if (round == MAX_ROUNDS)
    {
      /* Still busy: give other sources a turn and come back. */
      gboolean again;

      g_mutex_lock (&self->lock);
      self->active = FALSE;
      again = self->pending->len > 0;
      g_mutex_unlock (&self->lock);
      /* A push after the unlock saw a non-empty queue and left the
       * wakeup to us. */
      if (again)
        g_source_set_ready_time (source, 0);
    }

  /* May free the dispatcher (and with it the source). */
  rb_dispatcher_unref (self);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs rb_dispatch_source_funcs = {
  .dispatch = rb_dispatch_source_dispatch,
};

static RbDispatcher *
rb_dispatcher_new (GMainContext *context)
{
  RbDispatcher *self = g_new0 (RbDispatcher, 1);
  GSource *source;

  self->ref_count = 1;
  self->context = g_main_context_ref (context);
  g_mutex_init (&self->lock);
  self->pending = g_array_sized_new (FALSE, FALSE, sizeof (RbDispatchItem), 64);
  self->draining = g_array_sized_new (FALSE, FALSE, sizeof (RbDispatchItem), 64);

  source = g_source_new (&rb_dispatch_source_funcs, sizeof (RbDispatchSource));
  ((RbDispatchSource *) source)->dispatcher = self;
  g_source_set_static_name (source, "[rustbridge-glib] completions");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_ready_time (source, -1);
  g_source_attach (source, context);
  self->source = source;

  return self;
}

static gboolean
rb_dispatcher_ref_if_alive (RbDispatcher *self)
{
  gint old = g_atomic_int_get (&self->ref_count);

  while (old > 0)
    {
      if (g_atomic_int_compare_and_exchange_full (&self->ref_count, old, old + 1, &old))
        return TRUE;
    }
  return FALSE;
}

/*
 * Returns: (transfer full): the dispatcher for @context (%NULL means the
 * global default context).
 */
RbDispatcher *
rb_dispatcher_get_for_context (GMainContext *context)
{
  RbDispatcher *self;

  if (context == NULL)
    context = g_main_context_default ();

  g_mutex_lock (&dispatchers_lock);
  if (dispatchers == NULL)
    dispatchers = g_hash_table_new (NULL, NULL);
  self = g_hash_table_lookup (dispatchers, context);
  if (self == NULL || !rb_dispatcher_ref_if_alive (self))
    {
      self = rb_dispatcher_new (context);
      g_hash_table_replace (dispatchers, context, self);
    }
  g_mutex_unlock (&dispatchers_lock);

  return self;
}

RbDispatcher *
rb_dispatcher_get_thread_default (void)
{
  return rb_dispatcher_get_for_context (g_main_context_get_thread_default ());
}

RbDispatcher *
rb_dispatcher_ref (RbDispatcher *self)
{
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
rb_dispatcher_unref (RbDispatcher *self)
{
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;

  g_mutex_lock (&dispatchers_lock);
  if (dispatchers != NULL && g_hash_table_lookup (dispatchers, self->context) == self)
    g_hash_table_remove (dispatchers, self->context);
  g_mutex_unlock (&dispatchers_lock);

  /* Items hold references, so nothing is pending here. */
  g_source_destroy (self->source);
  g_source_unref (self->source);
  g_main_context_unref (self->context);
  g_array_unref (self->pending);
  g_array_unref (self->draining);
  g_mutex_clear (&self->lock);
  g_free (self);
}

GMainContext *
rb_dispatcher_get_context (RbDispatcher *self)
{
  return self->context;
}

void
rb_dispatcher_push (RbDispatcher   *self,
                    RbDispatchFunc  func,
                    gpointer        data)
{
  RbDispatchItem item = { func, data };
  gboolean wake;

  rb_dispatcher_ref (self);

  g_mutex_lock (&self->lock);
  /* Wake the context only for the first item, and not while it drains. */
  wake = self->pending->len == 0 && !self->active;
  g_array_append_val (self->pending, item);
  g_mutex_unlock (&self->lock);

  if (wake)
    g_source_set_ready_time (self->source, 0);
}
