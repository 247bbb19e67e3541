/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rb-isolated-wire-private.h"

/*
 * The app side's socket and memfd helpers for the wire
 * (rb-isolated-wire-private.h): one frame out, sealed memfds in and out.
 * No state: every function works on the fds it is given.
 */

gboolean
rb_wire_send_fds (int          sock,
                  guint16      kind,
                  guint32      slot,
                  guint32      code,
                  guint64      id,
                  const void  *payload,
                  gsize        len,
                  const int   *fds,
                  guint        n_fds)
{
  RbWireHeader header = { (guint32) len, kind, 0, slot, code, id };
  struct iovec iov[2] = { { &header, sizeof header }, { (void *) payload, len } };
  union {
    char buf[CMSG_SPACE (sizeof (int) * RB_WIRE_MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };

  g_assert (len <= RB_WIRE_MAX_PAYLOAD);
  g_assert (n_fds <= RB_WIRE_MAX_FDS);
  msg.msg_iov = iov;
  msg.msg_iovlen = len > 0 ? 2 : 1;
  if (n_fds > 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = CMSG_SPACE (sizeof (int) * n_fds);
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int) * n_fds);
      memcpy (CMSG_DATA (cmsg), fds, sizeof (int) * n_fds);
    }

  for (;;)
    {
      if (sendmsg (sock, &msg, MSG_NOSIGNAL) >= 0)
        return TRUE;
      if (errno != EINTR)
        return FALSE;   /* the helper is gone: the watcher reports it */
    }
}

gboolean
rb_wire_send (int          sock,
              guint16      kind,
              guint32      slot,
              guint32      code,
              guint64      id,
              const void  *payload,
              gsize        len,
              int          fd)
{
  return rb_wire_send_fds (sock, kind, slot, code, id, payload, len, &fd, fd >= 0 ? 1 : 0);
}

/* A sealed memfd holding @data, or -1. */
int
rb_wire_sealed_memfd (const char *name,
                 const void *data,
                 gsize       len)
{
  int fd = memfd_create (name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  gsize done = 0;

  if (fd < 0)
    return -1;
  while (done < len)
    {
      ssize_t n = write (fd, (const guint8 *) data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          close (fd);
          return -1;
        }
      done += (gsize) n;
    }
  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

typedef struct {
  void  *map;
  gsize  len;
} RbMapping;

static void
rb_mapping_free (gpointer data)
{
  RbMapping *mapping = data;

  munmap (mapping->map, mapping->len);
  g_free (mapping);
}

/* A read-only view of a sealed memfd from the helper, or NULL if it is
 * not one (not sealed against writes and shrinking, or too short). */
GBytes *
rb_wire_map_sealed (int     fd,
               guint64 len)
{
  struct stat st;
  int seals = fcntl (fd, F_GET_SEALS);
  RbMapping *mapping;
  void *map;

  if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_SHRINK)) != (F_SEAL_WRITE | F_SEAL_SHRINK) ||
      fstat (fd, &st) < 0 || st.st_size < 0 || (guint64) st.st_size < len || len > G_MAXSIZE / 2)
    return NULL;
  if (len == 0)
    return g_bytes_new (NULL, 0);
  map = mmap (NULL, len, PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    return NULL;
  mapping = g_new (RbMapping, 1);
  mapping->map = map;
  mapping->len = len;
  return g_bytes_new_with_free_func (map, len, rb_mapping_free, mapping);
}
