/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include "rb-dispatch-private.h"

typedef struct {
  RbDispatchFunc prepare;
  RbDispatchFunc func;
  RbDispatchFunc destroy;
  gpointer       data;
} RbDispatchItem;

typedef struct {
  GSource       source;
  RbDispatcher *dispatcher; /* the source's callback data holds a reference */
} RbDispatchSource;

/*
 * Who owns what: the context owns the source; the source's callback data
 * is a reference to the dispatcher (dropped when the context destroys its
 * sources, i.e. when the context goes); the dispatcher keeps a reference
 * to the GSource struct (not to the context) so that pushers can wake it.
 * Users (plugins, calls) hold references to the dispatcher, never to the
 * context through it.
 */
struct _RbDispatcher {
  gint          ref_count;  /* atomic */
  GMainContext *context;    /* unowned; only touched while !dead, under lock */
  GSource      *source;     /* owned (the struct; the context owns the attachment) */
  GMutex        lock;
  GArray       *pending;    /* RbDispatchItem, guarded by lock */
  GArray       *ready;      /* taken by check(), run by dispatch(); the
                             * iterating thread only (and the dying context) */
  gboolean      active;     /* from check() taking a batch to the end of its
                             * dispatch; guarded by lock */
  gint          dead;       /* atomic, written under lock: the context is gone */
};

/* One dispatcher per live context. The table holds no reference: the
 * entry goes when the context does (before its memory can be reused). */
static GMutex dispatchers_lock;
static GHashTable *dispatchers;

/*
 * A batch is taken in check(), not in dispatch(): check() runs outside any
 * dispatch and, when it returns TRUE, the source is dispatched in the same
 * iteration (GLib dispatches every source it found ready at the highest
 * priority seen, and a lower priority is not even checked). So an item's
 * prepare function runs on the context's thread, with the context as the
 * thread-default, just before the item runs, and before that iteration's
 * dispatch time: a GTask made there completes at once when returned from
 * dispatch(), and no GTask (which would keep its context alive) waits in
 * the queue. Items pushed meanwhile wait for the next iteration.
 */
static gboolean
rb_dispatch_source_prepare (GSource *source,
                            gint    *timeout)
{
  RbDispatcher *self = ((RbDispatchSource *) source)->dispatcher;
  gboolean more;

  g_mutex_lock (&self->lock);
  more = self->pending->len > 0;
  g_mutex_unlock (&self->lock);
  /* Never ready here: check() must run to take the batch. */
  *timeout = more ? 0 : -1;
  return FALSE;
}

static gboolean
rb_dispatch_source_check (GSource *source)
{
  RbDispatcher *self = ((RbDispatchSource *) source)->dispatcher;
  GMainContext *context = NULL;
  GArray *batch;

  /* A batch taken by an earlier check (g_main_context_pending() checks
   * without dispatching) is still to run. */
  if (self->ready->len > 0)
    return TRUE;

  g_mutex_lock (&self->lock);
  if (self->pending->len == 0)
    {
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  batch = self->pending;
  self->pending = self->ready;
  self->ready = batch;
  /* Pushers do not wake the context until this batch ran: the next
   * prepare() sees what they queued. */
  self->active = TRUE;
  g_mutex_unlock (&self->lock);

  for (guint i = 0; i < batch->len; i++)
    {
      RbDispatchItem *item = &g_array_index (batch, RbDispatchItem, i);

      if (item->prepare == NULL)
        continue;
      if (context == NULL)
        {
          context = g_source_get_context (source);
          g_main_context_push_thread_default (context);
        }
      item->prepare (item->data);
    }
  if (context != NULL)
    g_main_context_pop_thread_default (context);

  return TRUE;
}

static gboolean
rb_dispatch_source_dispatch (GSource     *source,
                             GSourceFunc  callback,
                             gpointer     user_data)
{
  /* Alive: the source's callback data holds a reference while the
   * context (which is dispatching us) lives. */
  RbDispatcher *self = ((RbDispatchSource *) source)->dispatcher;
  GArray *batch = self->ready;

  for (guint i = 0; i < batch->len; i++)
    {
      RbDispatchItem *item = &g_array_index (batch, RbDispatchItem, i);
      item->func (item->data);
    }
  g_array_set_size (batch, 0);

  /* What was pushed meanwhile is taken by the next iteration (prepare()
   * asks for one at once). */
  g_mutex_lock (&self->lock);
  self->active = FALSE;
  g_mutex_unlock (&self->lock);

  return G_SOURCE_CONTINUE;
}

static GSourceFuncs rb_dispatch_source_funcs = {
  .prepare = rb_dispatch_source_prepare,
  .check = rb_dispatch_source_check,
  .dispatch = rb_dispatch_source_dispatch,
};

/* Never called: the source's callback slot only carries the reference. */
static gboolean
rb_dispatch_source_unused (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* The context is going (its last reference was dropped, whether it was
 * ever iterated or not) and destroys its sources: runs in that thread. */
static void
rb_dispatcher_context_gone (gpointer data)
{
  RbDispatcher *self = data;
  GArray *orphans;

  g_mutex_lock (&dispatchers_lock);
  if (dispatchers != NULL && g_hash_table_lookup (dispatchers, self->context) == self)
    g_hash_table_remove (dispatchers, self->context);
  g_mutex_unlock (&dispatchers_lock);

  g_mutex_lock (&self->lock);
  g_atomic_int_set (&self->dead, TRUE);
  self->context = NULL;
  orphans = self->pending;
  self->pending = g_array_new (FALSE, FALSE, sizeof (RbDispatchItem));
  g_mutex_unlock (&self->lock);

  /* A batch checked but never dispatched (g_main_context_pending()). */
  g_array_append_vals (orphans, self->ready->data, self->ready->len);
  g_array_set_size (self->ready, 0);

  for (guint i = 0; i < orphans->len; i++)
    {
      RbDispatchItem *item = &g_array_index (orphans, RbDispatchItem, i);
      item->destroy (item->data);
    }
  g_array_unref (orphans);

  rb_dispatcher_unref (self);
}

static RbDispatcher *
rb_dispatcher_new (GMainContext *context)
{
  RbDispatcher *self = g_new0 (RbDispatcher, 1);
  GSource *source;

  /* Ours, and the source's (dropped in rb_dispatcher_context_gone()). */
  self->ref_count = 2;
  self->context = context;
  g_mutex_init (&self->lock);
  self->pending = g_array_sized_new (FALSE, FALSE, sizeof (RbDispatchItem), 64);
  self->ready = g_array_sized_new (FALSE, FALSE, sizeof (RbDispatchItem), 64);

  source = g_source_new (&rb_dispatch_source_funcs, sizeof (RbDispatchSource));
  ((RbDispatchSource *) source)->dispatcher = self;
  g_source_set_callback (source, rb_dispatch_source_unused, self, rb_dispatcher_context_gone);
  g_source_set_static_name (source, "[rustbridge-glib] completions");
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_attach (source, context);
  self->source = source;

  return self;
}

/*
 * Returns: (transfer full): the dispatcher for @context (%NULL means the
 * global default context). The caller must hold a reference to @context.
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
  /* An entry in the table is alive: its source holds a reference. */
  self = g_hash_table_lookup (dispatchers, context);
  if (self != NULL)
    rb_dispatcher_ref (self);
  else
    {
      self = rb_dispatcher_new (context);
      g_hash_table_insert (dispatchers, context, self);
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

  /* The context is gone (it held a reference until then): the source is
   * destroyed, and nothing is queued. */
  g_source_unref (self->source);
  g_array_unref (self->pending);
  g_array_unref (self->ready);
  g_mutex_clear (&self->lock);
  g_free (self);
}

/* Whether @self serves @context, which the caller holds a reference to.
 * A dispatcher whose context died never matches, even a new context at
 * the same address. */
gboolean
rb_dispatcher_is_for_context (RbDispatcher *self,
                              GMainContext *context)
{
  if (context == NULL)
    context = g_main_context_default ();
  return !g_atomic_int_get (&self->dead) && self->context == context;
}

/* Whether the calling thread runs @self's context: it owns it (is
 * iterating it), or it is @owner_thread and nobody else owns it. FALSE
 * once the context is gone. Safe from any thread. */
gboolean
rb_dispatcher_in_context (RbDispatcher *self,
                          GThread      *owner_thread)
{
  gboolean result = FALSE;

  g_mutex_lock (&self->lock);
  /* While not dead the context's memory is valid even if its last
   * reference is being dropped: its finalization waits for this lock in
   * rb_dispatcher_context_gone(). None of these calls needs a reference. */
  if (!self->dead)
    {
      if (g_main_context_is_owner (self->context))
        result = TRUE;
      else if (g_thread_self () == owner_thread && g_main_context_acquire (self->context))
        {
          g_main_context_release (self->context);
          result = TRUE;
        }
    }
  g_mutex_unlock (&self->lock);
  return result;
}

/*
 * Queues @func (@data) to run in the context. @prepare, if not %NULL, runs
 * first, on the context's thread with the context as its thread-default,
 * outside any dispatch of it and in the iteration that runs @func; if the
 * context goes first, @destroy runs instead of both (or after @prepare, in
 * the rare case of a batch checked by g_main_context_pending() and never
 * dispatched).
 */
void
rb_dispatcher_push_full (RbDispatcher   *self,
                         RbDispatchFunc  prepare,
                         RbDispatchFunc  func,
                         RbDispatchFunc  destroy,
                         gpointer        data)
{
  RbDispatchItem item = { prepare, func, destroy, data };
  gboolean wake;

  g_mutex_lock (&self->lock);
  if (G_UNLIKELY (self->dead))
    {
      g_mutex_unlock (&self->lock);
      destroy (data);
      return;
    }
  /* Wake the context only for the first item, and not while it drains. */
  wake = self->pending->len == 0 && !self->active;
  g_array_append_val (self->pending, item);
  /* Under the lock: the context cannot finish dying meanwhile (it waits
   * for this lock in rb_dispatcher_context_gone()). Its next prepare()
   * sees the item. */
  if (wake)
    g_main_context_wakeup (self->context);
  g_mutex_unlock (&self->lock);
}

void
rb_dispatcher_push (RbDispatcher   *self,
                    RbDispatchFunc  func,
                    RbDispatchFunc  destroy,
                    gpointer        data)
{
  rb_dispatcher_push_full (self, NULL, func, destroy, data);
}
