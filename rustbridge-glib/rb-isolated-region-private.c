/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rb-isolated-impl-private.h"

/*
 * The regions lent to calls whose payload is too big for a slot (see
 * "Regions" in rb-isolated-wire-private.h): made on demand, passed to the
 * helper once, reused by later calls, dropped after RB_REGION_IDLE_MS
 * unused. The table is guarded by region_lock; a lent region belongs to
 * its call.
 */

typedef struct {
  guint    index;
  guint32  id;
  guint8  *map;
  gsize    size;
} RbDropped;

/* Empties entry @index (not lent) into @dropped. Lock held. */
static void
rb_isolated_region_drop_locked (RbIsolated *self,
                                guint       index,
                                RbDropped  *dropped)
{
  RbIsolatedRegion *region = &self->regions[index];

  dropped->index = index;
  dropped->id = region->id;
  dropped->map = region->map;
  dropped->size = region->size;
  self->region_bytes -= region->size;
  region->id = 0;
  region->map = NULL;
  region->size = 0;
  region->lent = FALSE;
}

/* Unmaps what the table no longer holds and tells the helper. Lock not
 * held. The watcher drops regions too, and must never block on the
 * socket (the helper may be blocked sending to it): a drop that does not
 * fit is not sent, and the helper unmaps that region when the index is
 * reused. */
static void
rb_isolated_region_forget (RbIsolated *self,
                           RbDropped  *dropped,
                           guint       n)
{
  for (guint i = 0; i < n; i++)
    {
      RbWireHeader header = { 0, RB_WIRE_REGION_DROP, 0, dropped[i].index, dropped[i].id, 0 };

      if (dropped[i].map != NULL)
        munmap (dropped[i].map, dropped[i].size);
      while (send (self->sock, &header, sizeof header, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR)
        ;
    }
}

/* A new memfd of @size bytes, mapped read-write, passed to the helper as
 * entry @index with @id. NULL (errno set) if it could not be made. */
static guint8 *
rb_isolated_region_make (RbIsolated *self,
                         guint       index,
                         guint32     id,
                         gsize       size)
{
  guint64 size64 = size;
  guint8 *map;
  int fd;

  fd = memfd_create ("rb-isolated-region", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    return NULL;
  if (ftruncate (fd, (off_t) size) < 0 ||
      fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
      (map = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
    {
      int saved_errno = errno;
      close (fd);
      errno = saved_errno;
      return NULL;
    }
  /* If the helper is gone the call fails like any other: the watcher
   * reports it. */
  rb_isolated_send (self, RB_WIRE_REGION_ADD, index, id, 0, &size64, sizeof size64, fd);
  close (fd);
  return map;
}

/* Best fit among the free regions. Lock held. */
static gint
rb_isolated_region_find_locked (RbIsolated *self,
                                gsize       len)
{
  gint best = -1;

  for (guint i = 0; i < RB_REGION_MAX_COUNT; i++)
    {
      RbIsolatedRegion *region = &self->regions[i];

      if (region->id != 0 && !region->lent && region->map != NULL && region->size >= len &&
          (best < 0 || region->size < self->regions[best].size))
        best = (gint) i;
    }
  return best;
}

gint
rb_isolated_region_take (RbIsolated *self,
                         gsize       len)
{
  RbDropped dropped[RB_REGION_MAX_COUNT];
  gsize size = rb_region_size_for (len);
  guint n_dropped = 0;
  gint index = -1;
  guint32 id = 0;
  guint8 *map;

  if (size == 0 || size > self->region_budget)
    return -1;

  g_mutex_lock (&self->region_lock);
  index = rb_isolated_region_find_locked (self, len);
  if (index >= 0)
    {
      self->regions[index].lent = TRUE;
      g_mutex_unlock (&self->region_lock);
      return index;
    }

  /* None fits: every free region is too small for this payload. Make
   * room by dropping free ones, smallest first, while the bounds say no. */
  for (;;)
    {
      guint used = 0;
      gint smallest = -1;

      for (guint i = 0; i < RB_REGION_MAX_COUNT; i++)
        {
          RbIsolatedRegion *region = &self->regions[i];

          if (region->id == 0)
            continue;
          used++;
          if (!region->lent && region->map != NULL &&
              (smallest < 0 || region->size < self->regions[smallest].size))
            smallest = (gint) i;
        }
      if (used < RB_REGION_MAX_COUNT && self->region_bytes + size <= self->region_budget)
        break;
      if (smallest < 0)
        {
          g_mutex_unlock (&self->region_lock);
          rb_isolated_region_forget (self, dropped, n_dropped);
          return -1;
        }
      rb_isolated_region_drop_locked (self, (guint) smallest, &dropped[n_dropped++]);
    }

  for (guint i = 0; i < RB_REGION_MAX_COUNT && index < 0; i++)
    if (self->regions[i].id == 0)
      index = (gint) i;
  g_assert (index >= 0);
  if (++self->next_region_id == 0)
    self->next_region_id = 1;
  id = self->next_region_id;
  self->regions[index].id = id;
  self->regions[index].lent = TRUE;
  self->regions[index].map = NULL;
  self->regions[index].size = size;
  self->region_bytes += size;
  g_mutex_unlock (&self->region_lock);

  rb_isolated_region_forget (self, dropped, n_dropped);
  map = rb_isolated_region_make (self, (guint) index, id, size);

  g_mutex_lock (&self->region_lock);
  if (map == NULL)
    {
      RbDropped unused;

      rb_isolated_region_drop_locked (self, (guint) index, &unused);
      index = -1;
    }
  else
    self->regions[index].map = map;
  g_mutex_unlock (&self->region_lock);
  return index;
}

void
rb_isolated_region_give_back (RbIsolated *self,
                              gint        index)
{
  g_return_if_fail (index >= 0 && index < RB_REGION_MAX_COUNT);

  g_mutex_lock (&self->region_lock);
  self->regions[index].lent = FALSE;
  self->regions[index].idle_since_ns = rb_wire_now_ns ();
  g_mutex_unlock (&self->region_lock);
}

gint
rb_isolated_region_trim (RbIsolated *self)
{
  RbDropped dropped[RB_REGION_MAX_COUNT];
  gint64 now = rb_wire_now_ns ();
  gint64 idle_ns = (gint64) RB_REGION_IDLE_MS * 1000000;
  gint64 next_ns = -1;
  guint n_dropped = 0;

  g_mutex_lock (&self->region_lock);
  for (guint i = 0; i < RB_REGION_MAX_COUNT; i++)
    {
      RbIsolatedRegion *region = &self->regions[i];
      gint64 left;

      if (region->id == 0)
        continue;
      if (region->lent || region->map == NULL)
        left = idle_ns;
      else if ((left = region->idle_since_ns + idle_ns - now) <= 0)
        {
          rb_isolated_region_drop_locked (self, i, &dropped[n_dropped++]);
          continue;
        }
      if (next_ns < 0 || left < next_ns)
        next_ns = left;
    }
  g_mutex_unlock (&self->region_lock);

  rb_isolated_region_forget (self, dropped, n_dropped);
  return next_ns < 0 ? -1 : (gint) (next_ns / 1000000) + 1;
}

void
rb_isolated_region_clear (RbIsolated *self)
{
  for (guint i = 0; i < RB_REGION_MAX_COUNT; i++)
    {
      RbIsolatedRegion *region = &self->regions[i];

      if (region->map != NULL)
        munmap (region->map, region->size);
      region->id = 0;
      region->map = NULL;
      region->size = 0;
      region->lent = FALSE;
    }
  self->region_bytes = 0;
}
