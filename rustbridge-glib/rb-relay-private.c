/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <string.h>

#include "rb-relay-private.h"

struct _RbRelay {
  gatomicrefcount     ref;
  GWeakRef            object;
  /* Unowned: used only by calls that the object itself makes on its
   * owner context (it is alive then, even inside its dispose, where
   * its weak references are already cleared). */
  GObject            *self_object;
  const RbRelayFuncs *funcs;
  RbDispatcher       *owner;          /* owned */
  GThread            *owner_thread;
  gint                pending_logs;   /* atomic */
  gsize               pending_bytes;  /* atomic */
  gint                pending_states; /* atomic */
  gint                drop_queued;    /* atomic */
  gboolean            drop_reported;  /* owner context only */
  guint64             dropped;        /* 64-bit atomic */
  /* Holding (see rb_relay_hold()): `holds` is written under hold_lock
   * and read without it on the fast path. */
  GMutex              hold_lock;
  gint                holds;          /* atomic */
  GArray             *held;           /* RbHeldItem, guarded by hold_lock */
  /* Set by rb_relay_flush() (owner context): holds end for good, and
   * items reach the object through self_object while it flushes. */
  gboolean            detached;       /* guarded by hold_lock */
  gboolean            flushing;       /* owner context only */
};

typedef struct {
  RbDispatchFunc func;
  RbDispatchFunc destroy;
  gpointer       data;
} RbHeldItem;

RbRelay *
rb_relay_new (GObject            *object,
              RbDispatcher       *owner,
              GThread            *owner_thread,
              const RbRelayFuncs *funcs)
{
  RbRelay *self = g_new0 (RbRelay, 1);

  g_atomic_ref_count_init (&self->ref);
  g_weak_ref_init (&self->object, object);
  self->self_object = object;
  self->funcs = funcs;
  self->owner = rb_dispatcher_ref (owner);
  self->owner_thread = owner_thread;
  g_mutex_init (&self->hold_lock);
  self->held = g_array_new (FALSE, FALSE, sizeof (RbHeldItem));
  return self;
}

RbRelay *
rb_relay_ref (RbRelay *self)
{
  g_atomic_ref_count_inc (&self->ref);
  return self;
}

void
rb_relay_unref (RbRelay *self)
{
  if (!g_atomic_ref_count_dec (&self->ref))
    return;
  /* Held items hold references: none is left here. */
  g_weak_ref_clear (&self->object);
  rb_dispatcher_unref (self->owner);
  g_array_unref (self->held);
  g_mutex_clear (&self->hold_lock);
  g_free (self);
}

gboolean
rb_relay_on_owner_context (RbRelay *self)
{
  return rb_dispatcher_in_context (self->owner, self->owner_thread);
}

guint64
rb_relay_get_dropped (RbRelay *self)
{
  return __atomic_load_n (&self->dropped, __ATOMIC_RELAXED);
}

/* The object, for a delivery on the owner context: a strong reference,
 * or NULL once it is gone. While rb_relay_flush() runs (from the
 * object's dispose, where weak references are already cleared) it is
 * self_object. */
static GObject *
rb_relay_get_object (RbRelay *self)
{
  if (self->flushing)
    return g_object_ref (self->self_object);
  return g_weak_ref_get (&self->object);
}

/* ------------------------------------------------------------------ */
/* Holding                                                             */

static gboolean
rb_relay_is_held (RbRelay *self)
{
  return g_atomic_int_get (&self->holds) > 0;
}

/* Queues an item for the owner context, or keeps it while held. Items
 * pushed after a release always follow the held ones: the release queues
 * those before it lets anyone past the lock. */
static void
rb_relay_push (RbRelay        *self,
               RbDispatchFunc  func,
               RbDispatchFunc  destroy,
               gpointer        data)
{
  if (G_UNLIKELY (rb_relay_is_held (self)))
    {
      g_mutex_lock (&self->hold_lock);
      if (self->holds > 0)
        {
          RbHeldItem item = { func, destroy, data };

          g_array_append_val (self->held, item);
          g_mutex_unlock (&self->hold_lock);
          return;
        }
      g_mutex_unlock (&self->hold_lock);
    }
  rb_dispatcher_push (self->owner, func, destroy, data);
}

void
rb_relay_hold (RbRelay *self)
{
  g_mutex_lock (&self->hold_lock);
  if (!self->detached)
    g_atomic_int_inc (&self->holds);
  g_mutex_unlock (&self->hold_lock);
}

void
rb_relay_release (RbRelay *self)
{
  g_mutex_lock (&self->hold_lock);
  if (self->detached)
    {
      g_mutex_unlock (&self->hold_lock);
      return;
    }
  if (G_UNLIKELY (self->holds <= 0))
    {
      g_mutex_unlock (&self->hold_lock);
      g_return_if_reached ();
    }
  if (self->holds == 1)
    {
      /* In order, and under the lock: whoever pushes next waits for it
       * (or sees the count at zero only once these are queued). */
      for (guint i = 0; i < self->held->len; i++)
        {
          RbHeldItem *item = &g_array_index (self->held, RbHeldItem, i);

          rb_dispatcher_push (self->owner, item->func, item->destroy, item->data);
        }
      g_array_set_size (self->held, 0);
    }
  g_atomic_int_add (&self->holds, -1);
  g_mutex_unlock (&self->hold_lock);
}

static void
rb_relay_release_cb (gpointer data)
{
  RbRelay *self = data;

  rb_relay_release (self);
  rb_relay_unref (self);
}

void
rb_relay_release_later (RbRelay *self)
{
  /* If the context is gone, the destroy notify releases (what is held
   * then goes to the dead dispatcher, which destroys it). */
  rb_dispatcher_push (self->owner, rb_relay_release_cb, rb_relay_release_cb, rb_relay_ref (self));
}

void
rb_relay_flush (RbRelay *self)
{
  GArray *held;

  g_mutex_lock (&self->hold_lock);
  self->detached = TRUE;
  held = self->held;
  self->held = g_array_new (FALSE, FALSE, sizeof (RbHeldItem));
  g_atomic_int_set (&self->holds, 0);
  g_mutex_unlock (&self->hold_lock);

  self->flushing = TRUE;
  for (guint i = 0; i < held->len; i++)
    {
      RbHeldItem *item = &g_array_index (held, RbHeldItem, i);

      item->func (item->data);
    }
  self->flushing = FALSE;
  g_array_unref (held);
}

/* ------------------------------------------------------------------ */
/* Log messages                                                        */

typedef struct {
  RbRelay *relay;
  gsize    size;    /* counted in relay->pending_bytes */
  guint8   level;
  char    *target;  /* points into message's allocation */
  char     message[];
} RbLogItem;

static void
rb_log_item_free (gpointer data)
{
  RbLogItem *item = data;

  g_atomic_int_add (&item->relay->pending_logs, -1);
  g_atomic_pointer_add (&item->relay->pending_bytes, -(gssize) item->size);
  rb_relay_unref (item->relay);
  g_free (item);
}

static void
rb_relay_deliver_log (gpointer data)
{
  RbLogItem *item = data;
  g_autoptr(GObject) object = rb_relay_get_object (item->relay);

  if (object != NULL)
    item->relay->funcs->log (object, item->level, item->target, item->message);
  rb_log_item_free (item);
}

/* Drop reports: at most one queued at a time, whatever the storm. */
static void
rb_drop_item_free (gpointer data)
{
  RbRelay *self = data;

  g_atomic_int_set (&self->drop_queued, FALSE);
  rb_relay_unref (self);
}

static void
rb_relay_deliver_drop (gpointer data)
{
  RbRelay *self = data;
  g_autoptr(GObject) object = rb_relay_get_object (self);

  /* Re-armed before the report: a drop from now on queues another. */
  g_atomic_int_set (&self->drop_queued, FALSE);
  if (object != NULL)
    {
      gboolean first = !self->drop_reported;

      self->drop_reported = TRUE;
      self->funcs->logs_dropped (object, first);
    }
  rb_relay_unref (self);
}

static void
rb_relay_log_dropped (RbRelay *self)
{
  __atomic_fetch_add (&self->dropped, 1, __ATOMIC_RELAXED);
  if (g_atomic_int_compare_and_exchange (&self->drop_queued, FALSE, TRUE))
    rb_relay_push (self, rb_relay_deliver_drop, rb_drop_item_free, rb_relay_ref (self));
}

/* A message and its target, cut to their caps, as valid UTF-8 without
 * NUL bytes (a signal argument must be), with a marker if cut. */
static RbLogItem *
rb_log_item_new (RbRelay    *relay,
                 guint8      level,
                 const char *target,
                 gsize       target_len,
                 const char *message,
                 gsize       message_len,
                 gsize       keep)
{
  g_autofree char *fixed_msg = NULL, *fixed_target = NULL;
  char marker[80];
  gsize marker_len = 0;
  RbLogItem *item;

  if (keep < message_len)
    marker_len = (gsize) g_snprintf (marker, sizeof marker,
                                     " [truncated: %" G_GSIZE_FORMAT " bytes in all]",
                                     message_len);

  /* A NULL message or target is empty (never passed to memchr/memcpy). */
  if (message == NULL)
    {
      message = "";
      keep = 0;
    }
  if (target == NULL)
    {
      target = "";
      target_len = 0;
    }

  /* The plugin promises UTF-8; trust it no more than the rest. */
  if (!g_utf8_validate_len (message, keep, NULL) || memchr (message, '\0', keep) != NULL)
    {
      fixed_msg = g_utf8_make_valid (message, (gssize) keep);
      message = fixed_msg;
      keep = strlen (fixed_msg);
    }
  if (!g_utf8_validate_len (target, target_len, NULL))
    {
      fixed_target = g_utf8_make_valid (target, (gssize) target_len);
      target = fixed_target;
      target_len = strlen (fixed_target);
    }

  item = g_malloc (sizeof (RbLogItem) + keep + marker_len + 1 + target_len + 1);
  item->relay = relay;
  item->level = level;
  item->size = sizeof (RbLogItem) + keep + marker_len + 1 + target_len + 1;
  if (keep > 0)
    memcpy (item->message, message, keep);
  memcpy (item->message + keep, marker, marker_len);
  item->message[keep + marker_len] = '\0';
  item->target = item->message + keep + marker_len + 1;
  if (target_len > 0)
    memcpy (item->target, target, target_len);
  item->target[target_len] = '\0';
  return item;
}

/* Runs on any thread (for a plugin, under its library's sink lock). */
void
rb_relay_log (gpointer    relay,
              guint8      level,
              const char *target,
              const char *message,
              gsize       message_len)
{
  RbRelay *self = relay;
  RbLogItem *item;
  gsize keep, target_len, bytes_pending;
  gint n_pending;

  if (message == NULL)
    {
      message = "";   /* not NULL: memchr() and friends want a pointer */
      message_len = 0;
    }
  if (target == NULL)
    target = "";
  keep = MIN (message_len, RB_RELAY_MAX_MESSAGE_BYTES);
  target_len = strnlen (target, RB_RELAY_MAX_TARGET_BYTES);

  /* A cheap look first: a storm against a full queue costs no copy. */
  if (g_atomic_int_get (&self->pending_logs) >= RB_RELAY_MAX_PENDING_LOGS ||
      (gsize) g_atomic_pointer_get (&self->pending_bytes) + keep > RB_RELAY_MAX_PENDING_BYTES)
    {
      rb_relay_log_dropped (self);
      return;
    }

  item = rb_log_item_new (self, level, target, target_len, message, message_len, keep);

  /* Reserve for real (other threads log too). */
  n_pending = g_atomic_int_add (&self->pending_logs, 1);
  bytes_pending = (gsize) g_atomic_pointer_add (&self->pending_bytes, (gssize) item->size);
  if (n_pending >= RB_RELAY_MAX_PENDING_LOGS || bytes_pending + item->size > RB_RELAY_MAX_PENDING_BYTES)
    {
      g_atomic_int_add (&self->pending_logs, -1);
      g_atomic_pointer_add (&self->pending_bytes, -(gssize) item->size);
      g_free (item);
      rb_relay_log_dropped (self);
      return;
    }

  rb_relay_ref (self);
  rb_relay_push (self, rb_relay_deliver_log, rb_log_item_free, item);
}

/* ------------------------------------------------------------------ */
/* State changes                                                       */

typedef struct {
  RbRelay *relay;
  gint     old_state;
  gint     new_state;
} RbStateItem;

static void
rb_state_item_free (gpointer data)
{
  RbStateItem *item = data;

  g_atomic_int_dec_and_test (&item->relay->pending_states);
  rb_relay_unref (item->relay);
  g_free (item);
}

static void
rb_relay_deliver_state (gpointer data)
{
  RbStateItem *item = data;
  g_autoptr(GObject) object = rb_relay_get_object (item->relay);

  g_atomic_int_dec_and_test (&item->relay->pending_states);
  if (object != NULL)
    item->relay->funcs->state_changed (object, item->old_state, item->new_state);

  rb_relay_unref (item->relay);
  g_free (item);
}

void
rb_relay_state_changed (RbRelay *self,
                        gint     old_state,
                        gint     new_state)
{
  RbStateItem *item;

  /* At once when we are on the owner context, nothing older is still
   * queued (which keeps changes in order) and nothing is held; else
   * queued. */
  if (g_atomic_int_get (&self->pending_states) == 0 && !rb_relay_is_held (self) &&
      rb_relay_on_owner_context (self))
    {
      self->funcs->state_changed (self->self_object, old_state, new_state);
      return;
    }

  item = g_new (RbStateItem, 1);
  item->relay = rb_relay_ref (self);
  item->old_state = old_state;
  item->new_state = new_state;
  g_atomic_int_inc (&self->pending_states);
  rb_relay_push (self, rb_relay_deliver_state, rb_state_item_free, item);
}

/* ------------------------------------------------------------------ */
/* Property notifications                                              */

typedef struct {
  RbRelay    *relay;
  GParamSpec *pspec;
} RbNotifyItem;

static void
rb_notify_item_free (gpointer data)
{
  RbNotifyItem *item = data;

  rb_relay_unref (item->relay);
  g_free (item);
}

static void
rb_relay_deliver_notify (gpointer data)
{
  RbNotifyItem *item = data;
  g_autoptr(GObject) object = rb_relay_get_object (item->relay);

  if (object != NULL)
    g_object_notify_by_pspec (object, item->pspec);
  rb_notify_item_free (item);
}

void
rb_relay_notify (RbRelay    *self,
                 GParamSpec *pspec)
{
  RbNotifyItem *item;

  if (!rb_relay_is_held (self) && rb_relay_on_owner_context (self))
    {
      g_object_notify_by_pspec (self->self_object, pspec);
      return;
    }
  item = g_new (RbNotifyItem, 1);
  item->relay = rb_relay_ref (self);
  item->pspec = pspec;
  rb_relay_push (self, rb_relay_deliver_notify, rb_notify_item_free, item);
}
