/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gio/gio.h>

#include "rb-envelope-private.h"
#include "rb-error.h"
#include "rb-isolated-impl-private.h"

/*
 * RbIsolated's calls (rb-isolated-impl-private.h): a call owns a slot of
 * the shared region from submission to completion; sync callers wait on
 * the slot's state word, async ones are completed by the completer
 * thread. Also the error and kill helpers the life-cycle file uses.
 */

/* ---- errors ------------------------------------------------------------- */

/* ---- errors ------------------------------------------------------------- */

void
rb_isolated_set_death (RbIsolated  *self,
                       GError     **error)
{
  if (self->death != NULL)
    g_propagate_error (error, g_error_copy (self->death));
  else
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                 "Plugin “%s” crashed: its helper process is gone", self->path);
}

/* Kills the helper; the watcher then reports it with @reason. Lock held. */
void
rb_isolated_kill_locked (RbIsolated *self,
                         const char *reason)
{
  if (g_atomic_int_get (&self->dead))
    return;
  if (self->kill_reason == NULL && reason != NULL)
    self->kill_reason = g_strdup (reason);
  if (self->pidfd >= 0)
    syscall (SYS_pidfd_send_signal, self->pidfd, SIGKILL, NULL, 0);
  else
    kill (self->pid, SIGKILL);
}

void
rb_isolated_kill (RbIsolated *self,
                  const char *reason)
{
  g_mutex_lock (&self->lock);
  rb_isolated_kill_locked (self, reason);
  g_mutex_unlock (&self->lock);
}

/* A malformed message from the helper: it is killed and the call fails
 * like every other one. */
static void
rb_isolated_hostile (RbIsolated  *self,
                     const char  *what,
                     GError     **error)
{
  g_autofree char *reason = g_strdup_printf ("because it %s", what);

  rb_isolated_kill (self, reason);
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
               "Plugin “%s” crashed: its helper process was killed %s", self->path, reason);
}

gboolean
rb_isolated_send (RbIsolated  *self,
                  guint16      kind,
                  guint32      slot,
                  guint32      code,
                  guint64      id,
                  const void  *payload,
                  gsize        len,
                  int          fd)
{
  return rb_wire_send (self->sock, kind, slot, code, id, payload, len, fd);
}

void
rb_isolated_wake_completer (RbIsolated *self)
{
  atomic_fetch_add (&self->shm->done_seq, 1);
  rb_futex_wake (&self->shm->done_seq, 1);
}

/* ---- calls ---------------------------------------------------------------- */

void
rb_isolated_call_clear (RbIsolatedCall *call)
{
  g_clear_pointer (&call->tag, g_free);
  g_clear_pointer (&call->big_reply, g_bytes_unref);
  call->busy = FALSE;
  call->async = FALSE;
  call->region = -1;
  call->func = NULL;
  call->user_data = NULL;
}

static void rb_isolated_submit_queued (RbIsolated *self);

/* Gives the slot (and the call's region) back. Lock not held. */
static void
rb_isolated_release (RbIsolated *self,
                     guint32     index)
{
  RbShmSlot *slot = rb_shm_slot (self->shm, index);

  if (self->calls[index].region >= 0)
    rb_isolated_region_give_back (self, self->calls[index].region);
  g_mutex_lock (&self->lock);
  rb_isolated_call_clear (&self->calls[index]);
  atomic_store (&slot->state, RB_SLOT_FREE);
  self->free_slots[self->n_free++] = index;
  self->n_busy--;
  if (self->cond_waiters > 0)
    g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  rb_isolated_submit_queued (self);
}

/*
 * After a push that made req_head @head: wakes a helper worker unless one
 * spins (it sees req_seq change) or the ring held other requests before
 * this one (whoever pushed the first of them woke a worker or saw one
 * spin; the worker that pops a request wakes the next one while more
 * wait: next_request() in rustbridge-glib-host.c). So a pipeline of
 * calls makes one wake, not one per call. All seq_cst: either the tail
 * read here sees the pop of the request before ours (then we wake), or
 * the popping worker sees ours in the ring.
 */
static void
rb_isolated_wake_helper (RbIsolated *self,
                         guint32     head)
{
  if (atomic_load (&self->shm->helper_spinners) != 0)
    return;
  /* A worker that has just replied looks at the ring before it sleeps
   * (it read req_seq before it looked, so it cannot sleep through this
   * push): the usual case of sync calls made one after another, which
   * would otherwise pay a futex wake and a useless wake-up per call. */
  if (atomic_load (&self->shm->helper_returning) != 0)
    return;
  if (head - atomic_load (&self->shm->req_tail) > 1)
    return;
  if (atomic_load (&self->shm->helper_sleepers) != 0)
    {
      /* Until a worker pops, waiters count the woken one as working. */
      atomic_store (&self->shm->helper_waking, 1);
      rb_futex_wake (&self->shm->req_seq, 1);
    }
}

/* Writes the request into slot @index (owned by the caller) and pushes it. */
static gboolean
rb_isolated_fill_and_push (RbIsolated  *self,
                           guint32      index,
                           guint32      kind,
                           const char  *tag,
                           guint32      message_id,
                           const void  *data,
                           gsize        len,
                           gboolean     async,
                           GError     **error)
{
  RbShmSlot *slot = rb_shm_slot (self->shm, index);
  RbIsolatedCall *call = &self->calls[index];
  gsize tag_len = kind == RB_SLOT_JSON ? strlen (tag) : 0;
  gsize offset = kind == RB_SLOT_JSON ? tag_len + 1 : 0;
  guint32 flags = async ? RB_SLOT_FLAG_ASYNC : 0;
  int big_fd = -1;
  guint32 head;

  if (kind == RB_SLOT_JSON)
    {
      if (tag_len >= RB_SLOT_CAPACITY / 2)
        {
          g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                       "Type tag for plugin “%s” is too long (%" G_GSIZE_FORMAT " bytes)", self->path, tag_len);
          return FALSE;
        }
      memcpy (slot->data, tag, tag_len + 1);
    }
  if (len > RB_SLOT_CAPACITY - offset)
    {
      if (len > G_MAXUINT32)
        {
          g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SERIALIZATION,
                       "Request to plugin “%s” is too large (%" G_GSIZE_FORMAT " bytes)", self->path, len);
          return FALSE;
        }
      call->region = rb_isolated_region_take (self, len);
      if (call->region >= 0)
        {
          const RbIsolatedRegion *region = &self->regions[call->region];

          memcpy (region->map, data, len);
          slot->region = (guint32) call->region;
          slot->region_id = region->id;
          flags |= RB_SLOT_FLAG_REGION;
        }
      else
        big_fd = rb_wire_sealed_memfd ("rb-isolated-request", data, len);
      if (call->region < 0 && big_fd < 0)
        {
          int saved_errno = errno;
          g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL,
                       "Could not pass a request of %" G_GSIZE_FORMAT " bytes to plugin “%s”: %s",
                       len, self->path, g_strerror (saved_errno));
          return FALSE;
        }
      if (big_fd >= 0)
        flags |= RB_SLOT_FLAG_BIG;
    }
  else if (len > 0)
    memcpy (slot->data + offset, data, len);

  slot->kind = kind;
  slot->flags = flags;
  slot->id = call->id;
  slot->tag_len = kind == RB_SLOT_JSON ? (guint32) tag_len : message_id;
  slot->req_len = (guint32) len;
  slot->reply_len = 0;
  slot->reply_flags = 0;
  atomic_store (&slot->waiting, 0);
  /* Release: the helper's acquire-load of the state (serve() in
   * rustbridge-glib-host.c) then sees every field written above. */
  atomic_store_explicit (&slot->state, RB_SLOT_REQUEST, memory_order_release);

  if (big_fd >= 0)
    {
      rb_isolated_send (self, RB_WIRE_BIG_REQUEST, index, 0, call->id, NULL, 0, big_fd);
      close (big_fd);
    }

  g_mutex_lock (&self->lock);
  head = atomic_load_explicit (&self->shm->req_head, memory_order_relaxed);
  self->shm->ring[head & (RB_SHM_SLOTS - 1)] = index;
  /* seq_cst, not only release: rb_isolated_wake_helper() relies on it. */
  atomic_store (&self->shm->req_head, head + 1);
  g_mutex_unlock (&self->lock);

  atomic_fetch_add (&self->shm->req_seq, 1);
  rb_isolated_wake_helper (self, head + 1);

  /* The helper may have died since the slot was taken: the watcher marks
   * only slots in REQUEST, so mark this one (both sides are seq_cst:
   * either it saw our REQUEST or we see its "dead"). */
  if (G_UNLIKELY (g_atomic_int_get (&self->dead)))
    {
      guint32 expected = RB_SLOT_REQUEST;

      if (atomic_compare_exchange_strong (&slot->state, &expected, RB_SLOT_DEAD) && async)
        rb_isolated_wake_completer (self);
    }

  /* The completer watches the deadlines of async calls: tell it about
   * this one. */
  if (async && call->deadline_ns > 0)
    {
      atomic_fetch_add (&self->shm->done_seq, 1);
      if (atomic_load (&self->shm->app_sleeping) != 0)
        rb_futex_wake (&self->shm->done_seq, 1);
    }
  return TRUE;
}

/* Takes a free slot (waiting for one if @wait), or returns -1 with
 * @error set, or -1 without error (no slot, !@wait). Lock held. */
static gint
rb_isolated_take_slot_locked (RbIsolated  *self,
                              gboolean     wait,
                              GError     **error)
{
  for (;;)
    {
      if (g_atomic_int_get (&self->dead))
        {
          rb_isolated_set_death (self, error);
          return -1;
        }
      if (self->closing)
        {
          g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
                       "Plugin “%s” is shutting down", self->path);
          return -1;
        }
      if (self->n_free > 0)
        break;
      if (!wait)
        return -1;
      rb_isolated_wait_locked (self, 0);
    }
  self->n_busy++;
  return (gint) self->free_slots[--self->n_free];
}

static void
rb_isolated_setup_call_locked (RbIsolated         *self,
                               guint32             index,
                               guint32             kind,
                               const char         *tag,
                               guint32             message_id,
                               RbIsolatedDoneFunc  func,
                               gpointer            user_data)
{
  RbIsolatedCall *call = &self->calls[index];

  call->busy = TRUE;
  call->async = func != NULL;
  call->kind = kind;
  call->id = ++self->next_id;
  call->deadline_ns = self->call_timeout_ms > 0
                        ? rb_wire_now_ns () + (gint64) self->call_timeout_ms * 1000000
                        : 0;
  call->func = func;
  call->user_data = user_data;
  call->region = -1;
  call->tag = kind == RB_SLOT_JSON ? g_strdup (tag) : g_strdup_printf ("raw message %u", message_id);
}

static void
rb_isolated_set_timeout (RbIsolated  *self,
                         const char  *tag,
                         GError     **error)
{
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
               "Call “%s” to plugin “%s” timed out after %u ms", tag, self->path, self->call_timeout_ms);
}

/*
 * Reads the reply of the call in slot @index (its state is @state, not
 * REQUEST) and gives the slot back. Sets *@payload (JSON) or *@bytes
 * (raw), or returns an error.
 */
static void
rb_isolated_finish (RbIsolated  *self,
                    guint32      index,
                    guint32      state,
                    char       **payload,
                    GBytes     **bytes,
                    GError     **error)
{
  RbShmSlot *slot = rb_shm_slot (self->shm, index);
  RbIsolatedCall *call = &self->calls[index];
  g_autoptr(GBytes) reply = NULL;
  guint32 code = 0;
  const guint8 *data;
  gsize len;

  if (state == RB_SLOT_REPLY)
    {
      guint64 reply_id = slot->reply_id;
      guint32 reply_len = slot->reply_len;
      guint32 reply_flags = slot->reply_flags;

      code = slot->reply_code;
      if (reply_id != call->id)
        {
          rb_isolated_hostile (self, "answered another call", error);
          goto out;
        }
      if (reply_flags & RB_REPLY_IN_REGION)
        {
          /* Which region and how big are the app's own record, never
           * the helper's word. */
          if (call->region < 0)
            {
              rb_isolated_hostile (self, "sent a reply in a region it was not lent", error);
              goto out;
            }
          if (reply_len > self->regions[call->region].size)
            {
              rb_isolated_hostile (self, "sent a reply longer than its region", error);
              goto out;
            }
          /* A copy: the helper can still write to the region. */
          reply = g_bytes_new (self->regions[call->region].map, reply_len);
        }
      else if (reply_len > RB_SLOT_CAPACITY)
        {
          rb_isolated_hostile (self, "sent a reply longer than its slot", error);
          goto out;
        }
      else
        /* A copy: the helper can still write to the slot. */
        reply = g_bytes_new (slot->data, reply_len);
    }
  else if (state == RB_SLOT_REPLY_BIG)
    {
      g_mutex_lock (&self->lock);
      reply = g_steal_pointer (&call->big_reply);
      code = call->big_code;
      g_mutex_unlock (&self->lock);
      if (reply == NULL)
        {
          rb_isolated_hostile (self, "sent a malformed reply", error);
          goto out;
        }
    }
  else if (state == RB_SLOT_DEAD)
    {
      g_mutex_lock (&self->lock);
      rb_isolated_set_death (self, error);
      g_mutex_unlock (&self->lock);
      goto out;
    }
  else
    {
      rb_isolated_hostile (self, "wrote an invalid call state", error);
      goto out;
    }

  data = g_bytes_get_data (reply, &len);
  if (code == RB_WIRE_CODE_PROTOCOL)
    {
      g_autofree char *text = g_utf8_make_valid ((const char *) data, (gssize) len);
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_PROTOCOL, text);
    }
  else if (call->kind == RB_SLOT_JSON)
    *payload = rb_envelope_read (code, data, len, error);
  else if (code == 0)
    *bytes = g_steal_pointer (&reply);
  else
    {
      if (data != NULL && len > 0)
        len = strnlen ((const char *) data, len);
      rb_envelope_set_error (code, data, data != NULL ? len : 0, error);
    }

out:
  rb_isolated_release (self, index);
}

static gboolean
rb_isolated_call_sync (RbIsolated  *self,
                       guint32      kind,
                       const char  *tag,
                       guint32      message_id,
                       const void  *data,
                       gsize        len,
                       char       **payload,
                       GBytes     **bytes,
                       GError     **error)
{
  GError *local_error = NULL;
  RbShmSlot *slot;
  guint32 state;
  gint64 deadline;
  gint index;

  g_mutex_lock (&self->lock);
  index = rb_isolated_take_slot_locked (self, TRUE, error);
  if (index >= 0)
    rb_isolated_setup_call_locked (self, index, kind, tag, message_id, NULL, NULL);
  g_mutex_unlock (&self->lock);
  if (index < 0)
    return FALSE;

  if (!rb_isolated_fill_and_push (self, index, kind, tag, message_id, data, len, FALSE, error))
    {
      rb_isolated_release (self, index);
      return FALSE;
    }

  slot = rb_shm_slot (self->shm, index);
  deadline = self->calls[index].deadline_ns;
  state = rb_wire_wait_adaptive (&slot->state, RB_SLOT_REQUEST, &slot->waiting, &self->call_spin, deadline);
  if (state == RB_SLOT_REQUEST)
    {
      /* Timed out: the helper is killed; the slot stays taken, nothing
       * reuses it (every later call fails). */
      rb_isolated_set_timeout (self, self->calls[index].tag, error);
      rb_isolated_kill (self, "after a timeout");
      return FALSE;
    }

  rb_isolated_finish (self, index, state, payload, bytes, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return FALSE;
    }
  return TRUE;
}

char *
rb_isolated_call (RbIsolated  *self,
                  const char  *type_tag,
                  const char  *request,
                  gsize        request_len,
                  GError     **error)
{
  GError *local_error = NULL;
  char *payload = NULL;

  rb_isolated_call_sync (self, RB_SLOT_JSON, type_tag, 0, request, request_len, &payload, NULL, &local_error);
  if (local_error != NULL)
    {
      rb_isolated_settle (self, local_error);
      g_propagate_error (error, local_error);
    }
  return payload;
}

static gboolean
rb_isolated_check_raw (RbIsolated  *self,
                       GError     **error)
{
  if (self->has_raw)
    return TRUE;
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
               "Plugin “%s” does not support the binary transport "
               "(plugin_call_raw/rb_response_free are not exported)", self->path);
  return FALSE;
}

GBytes *
rb_isolated_call_raw (RbIsolated  *self,
                      guint32      message_id,
                      const void  *data,
                      gsize        size,
                      GError     **error)
{
  GError *local_error = NULL;
  GBytes *bytes = NULL;

  if (!rb_isolated_check_raw (self, error))
    return NULL;
  rb_isolated_call_sync (self, RB_SLOT_RAW, NULL, message_id, data, size, NULL, &bytes, &local_error);
  if (local_error != NULL)
    {
      rb_isolated_settle (self, local_error);
      g_propagate_error (error, local_error);
    }
  return bytes;
}

/* ---- async calls ---------------------------------------------------------- */

static gpointer rb_isolated_completer_main (gpointer data);

void
rb_isolated_queued_free (RbIsolatedQueued *queued)
{
  g_free (queued->tag);
  g_bytes_unref (queued->data);
  g_free (queued);
}

/* Submits as many queued calls as there are free slots. */
static void
rb_isolated_submit_queued (RbIsolated *self)
{
  for (;;)
    {
      GError *error = NULL;
      RbIsolatedQueued *queued;
      gint index;

      g_mutex_lock (&self->lock);
      if (g_queue_is_empty (&self->queued))
        {
          g_mutex_unlock (&self->lock);
          return;
        }
      index = rb_isolated_take_slot_locked (self, FALSE, &error);
      if (index < 0 && error == NULL)
        {
          g_mutex_unlock (&self->lock);
          return;
        }
      queued = g_queue_pop_head (&self->queued);
      if (index >= 0)
        rb_isolated_setup_call_locked (self, index, queued->kind, queued->tag, queued->message_id,
                                       queued->func, queued->user_data);
      g_mutex_unlock (&self->lock);

      if (index >= 0)
        {
          gsize len;
          const void *data = g_bytes_get_data (queued->data, &len);

          if (!rb_isolated_fill_and_push (self, index, queued->kind, queued->tag, queued->message_id,
                                          data, len, TRUE, &error))
            {
              g_mutex_lock (&self->lock);
              self->calls[index].func = NULL;
              g_mutex_unlock (&self->lock);
              rb_isolated_release (self, index);
            }
        }
      if (error != NULL)
        {
          rb_isolated_settle (self, error);
          queued->func (queued->user_data, NULL, NULL, error);
        }
      rb_isolated_queued_free (queued);
    }
}

static void
rb_isolated_call_async_internal (RbIsolated         *self,
                                 guint32             kind,
                                 const char         *tag,
                                 guint32             message_id,
                                 const void         *data,
                                 gsize               len,
                                 RbIsolatedDoneFunc  func,
                                 gpointer            user_data)
{
  RbIsolatedQueued *queued = g_new0 (RbIsolatedQueued, 1);
  GError *error = NULL;

  g_return_if_fail (func != NULL);

  queued->kind = kind;
  queued->tag = g_strdup (tag);
  queued->message_id = message_id;
  queued->data = g_bytes_new (data, len);
  queued->func = func;
  queued->user_data = user_data;

  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->dead))
    rb_isolated_set_death (self, &error);
  else if (self->closing)
    g_set_error (&error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
                 "Plugin “%s” is shutting down", self->path);
  else
    {
      if (self->completer == NULL)
        self->completer = g_thread_new ("rb-isolated-done", rb_isolated_completer_main, self);
      g_queue_push_tail (&self->queued, queued);
      queued = NULL;
    }
  g_mutex_unlock (&self->lock);

  if (queued != NULL)
    {
      rb_isolated_settle (self, error);
      func (user_data, NULL, NULL, error);
      rb_isolated_queued_free (queued);
      return;
    }
  rb_isolated_submit_queued (self);
}

void
rb_isolated_call_async (RbIsolated         *self,
                        const char         *type_tag,
                        const char         *request,
                        gsize               request_len,
                        RbIsolatedDoneFunc  func,
                        gpointer            user_data)
{
  rb_isolated_call_async_internal (self, RB_SLOT_JSON, type_tag, 0, request, request_len, func, user_data);
}

void
rb_isolated_call_raw_async (RbIsolated         *self,
                            guint32             message_id,
                            const void         *data,
                            gsize               size,
                            RbIsolatedDoneFunc  func,
                            gpointer            user_data)
{
  GError *error = NULL;

  if (!rb_isolated_check_raw (self, &error))
    {
      func (user_data, NULL, NULL, error);
      return;
    }
  rb_isolated_call_async_internal (self, RB_SLOT_RAW, NULL, message_id, data, size, func, user_data);
}

static gpointer
rb_isolated_completer_main (gpointer data)
{
  RbIsolated *self = data;

  for (;;)
    {
      guint32 seq = atomic_load (&self->shm->done_seq);
      guint32 ready[RB_SHM_SLOTS], late[RB_SHM_SLOTS];
      guint32 states[RB_SHM_SLOTS];
      guint n_ready = 0, n_late = 0;
      gint64 now = rb_wire_now_ns (), earliest = 0;
      GQueue failed = G_QUEUE_INIT;
      gboolean stop;

      g_mutex_lock (&self->lock);
      stop = self->stopping;
      for (guint i = 0; i < RB_SHM_SLOTS; i++)
        {
          RbIsolatedCall *call = &self->calls[i];
          guint32 state;

          if (!call->busy || !call->async)
            continue;
          state = atomic_load (&rb_shm_slot (self->shm, i)->state);
          if (state == RB_SLOT_FREE)
            continue;   /* taken, not submitted yet */
          if (state != RB_SLOT_REQUEST)
            {
              ready[n_ready] = i;
              states[n_ready++] = state;
            }
          else if (call->func != NULL && call->deadline_ns > 0)
            {
              if (now >= call->deadline_ns)
                late[n_late++] = i;
              else if (earliest == 0 || call->deadline_ns < earliest)
                earliest = call->deadline_ns;
            }
        }
      if (g_atomic_int_get (&self->dead))
        {
          failed = self->queued;
          g_queue_init (&self->queued);
        }
      g_mutex_unlock (&self->lock);

      for (guint i = 0; i < n_ready; i++)
        {
          RbIsolatedCall *call = &self->calls[ready[i]];
          RbIsolatedDoneFunc func = call->func;
          gpointer user_data = call->user_data;
          char *payload = NULL;
          GBytes *bytes = NULL;
          GError *error = NULL;

          rb_isolated_finish (self, ready[i], states[i], &payload, &bytes, &error);
          if (error != NULL)
            rb_isolated_settle (self, error);
          if (func != NULL)
            func (user_data, payload, bytes, error);
          else
            {
              g_free (payload);
              g_clear_pointer (&bytes, g_bytes_unref);
              g_clear_error (&error);
            }
        }

      for (guint i = 0; i < n_late; i++)
        {
          RbIsolatedCall *call = &self->calls[late[i]];
          RbIsolatedDoneFunc func;
          gpointer user_data;
          GError *error = NULL;

          g_mutex_lock (&self->lock);
          func = g_steal_pointer (&call->func);
          user_data = call->user_data;
          rb_isolated_set_timeout (self, call->tag, &error);
          rb_isolated_kill_locked (self, "after a timeout");
          g_mutex_unlock (&self->lock);
          func (user_data, NULL, NULL, error);
        }

      while (!g_queue_is_empty (&failed))
        {
          RbIsolatedQueued *queued = g_queue_pop_head (&failed);
          GError *error = NULL;

          g_mutex_lock (&self->lock);
          rb_isolated_set_death (self, &error);
          g_mutex_unlock (&self->lock);
          rb_isolated_settle (self, error);
          queued->func (queued->user_data, NULL, NULL, error);
          rb_isolated_queued_free (queued);
        }

      if (stop)
        break;
      if (n_ready > 0 || n_late > 0)
        continue;
      rb_wire_wait_adaptive (&self->shm->done_seq, seq, &self->shm->app_sleeping, &self->done_spin, earliest);
    }
  return NULL;
}
