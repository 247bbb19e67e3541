/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * A hostile stand-in for rustbridge-glib-host-1.0: it speaks the wire of
 * rb-isolated-wire-private.h just well enough to be believed, then breaks
 * it in the way the plugin config names ({"mode":"..."}):
 *
 *   init.garbage    answers INIT with a datagram shorter than a header
 *   init.unsolicited answers INIT with a reply to another request id
 *   init.exit       exits with status 42 before answering INIT
 *   frame.oversized a header announcing more bytes than the datagram has
 *   frame.kind      a frame of an unknown kind
 *   log.nonul       a log frame without the target's NUL
 *   reply.long      the first call's reply claims 1 GiB (beyond the slot)
 *   reply.wrongid   the first call's reply carries another call's id
 *   reply.state     the first call's slot state becomes 77
 *   big.unsealed    the first call's reply as a memfd that is not sealed
 *   big.noslot      a big reply for a slot that has no call
 *   region.long     the first call (a big one) is answered "in its
 *                   region" with a length beyond the region
 *   region.unlent   the first call (a small one) is answered "in its
 *                   region", but it was lent none
 *   region.ack      a region acknowledgement carrying a payload
 *   region.scribble the first call (a big raw one) is answered correctly
 *                   in its region ('r' bytes), then the region is
 *                   overwritten with 'X' for two seconds
 *
 * After misbehaving it waits for the socket to close (the app must kill
 * it).
 */
#include "config.h"

#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rb-isolated-wire-private.h"

static RbShmHeader *shm;

static void
send_frame (RbWireHeader *header,
            const void   *payload,
            gsize         len,
            int           fd)
{
  struct iovec iov[2] = { { header, sizeof *header }, { (void *) payload, len } };
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };

  msg.msg_iov = iov;
  msg.msg_iovlen = len > 0 ? 2 : 1;
  if (fd >= 0)
    {
      struct cmsghdr *cmsg;

      memset (&control, 0, sizeof control);
      msg.msg_control = control.buf;
      msg.msg_controllen = sizeof control.buf;
      cmsg = CMSG_FIRSTHDR (&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cmsg), &fd, sizeof (int));
    }
  sendmsg (RB_WIRE_FD, &msg, MSG_NOSIGNAL);
}

static void
wait_for_eof (void)
{
  char buf[256];

  while (recv (RB_WIRE_FD, buf, sizeof buf, 0) > 0)
    ;
  _exit (0);
}

static guint32
next_call (void)
{
  guint32 head;

  while ((head = atomic_load (&shm->req_head)) == atomic_load (&shm->req_tail))
    usleep (1000);
  atomic_store (&shm->req_tail, atomic_load (&shm->req_tail) + 1);
  (void) head;
  return shm->ring[(atomic_load (&shm->req_tail) - 1) & (RB_SHM_SLOTS - 1)];
}

static void
finish_slot (RbShmSlot *slot,
             guint32    state)
{
  atomic_store (&slot->state, state);
  rb_futex_wake (&slot->state, 1);
  atomic_fetch_add (&shm->done_seq, 1);
  rb_futex_wake (&shm->done_seq, 1);
}

/* Reads the RB_WIRE_REGION_ADD that comes before a big call and maps
 * the region. */
static guint8 *
read_region (gsize *size)
{
  static guint8 payload[RB_WIRE_MAX_PAYLOAD];
  RbWireHeader header;
  struct iovec iov[2] = { { &header, sizeof header }, { payload, sizeof payload } };
  union {
    char buf[CMSG_SPACE (sizeof (int) * 2)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  guint64 size64;
  int fd;

  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  if (recvmsg (RB_WIRE_FD, &msg, 0) < (ssize_t) (sizeof header + sizeof size64) ||
      header.kind != RB_WIRE_REGION_ADD || CMSG_FIRSTHDR (&msg) == NULL)
    _exit (1);
  memcpy (&size64, payload, sizeof size64);
  memcpy (&fd, CMSG_DATA (CMSG_FIRSTHDR (&msg)), sizeof (int));
  *size = size64;
  return mmap (NULL, size64, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
}

int
main (int    argc,
      char **argv)
{
  static guint8 payload[RB_WIRE_MAX_PAYLOAD];
  RbWireHeader header, out = { 0 };
  struct iovec iov[2] = { { &header, sizeof header }, { payload, sizeof payload } };
  union {
    char buf[CMSG_SPACE (sizeof (int) * 2)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  RbWireInit init;
  const char *config, *mode;
  int shm_fd;
  ssize_t n;

  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;
  n = recvmsg (RB_WIRE_FD, &msg, 0);
  if (n < (ssize_t) (sizeof header + sizeof init))
    return 1;
  memcpy (&init, payload, sizeof init);
  memcpy (&shm_fd, CMSG_DATA (CMSG_FIRSTHDR (&msg)), sizeof (int));
  shm = mmap (NULL, RB_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
  config = (const char *) payload + sizeof init + init.path_len + 1;
  payload[header.len < sizeof payload ? header.len : sizeof payload - 1] = '\0';
  mode = strstr (config, "\"mode\":\"");
  if (mode == NULL)
    return 1;
  mode += strlen ("\"mode\":\"");

#define MODE(name) (strncmp (mode, name "\"", strlen (name) + 1) == 0)

  if (MODE ("init.exit"))
    _exit (42);
  if (MODE ("init.garbage"))
    {
      send (RB_WIRE_FD, "garbage", 7, MSG_NOSIGNAL);
      wait_for_eof ();
    }
  out.kind = RB_WIRE_REPLY;
  out.id = header.id + (MODE ("init.unsolicited") ? 1000 : 0);
  out.slot = 1;   /* "has raw" */
  send_frame (&out, NULL, 0, -1);
  if (MODE ("init.unsolicited"))
    wait_for_eof ();

  if (MODE ("frame.oversized"))
    {
      RbWireHeader bad = { 1u << 30, RB_WIRE_LOG, 0, 0, 0, 0 };
      send_frame (&bad, "x", 1, -1);
      wait_for_eof ();
    }
  if (MODE ("frame.kind"))
    {
      RbWireHeader bad = { 0, 999, 0, 0, 0, 0 };
      send_frame (&bad, NULL, 0, -1);
      wait_for_eof ();
    }
  if (MODE ("log.nonul"))
    {
      RbWireHeader bad = { 5, RB_WIRE_LOG, 0, 0, 2, 0 };
      send_frame (&bad, "hello", 5, -1);
      wait_for_eof ();
    }
  if (MODE ("big.noslot"))
    {
      guint64 len = 4;
      int fd = memfd_create ("x", MFD_ALLOW_SEALING);
      RbWireHeader bad = { sizeof len, RB_WIRE_BIG_REPLY, 0, 5, 0, 12345 };

      if (write (fd, "abcd", 4) != 4)
        return 1;
      fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
      send_frame (&bad, &len, sizeof len, fd);
      wait_for_eof ();
    }

  if (MODE ("region.ack"))
    {
      RbWireHeader bad = { 1, RB_WIRE_REGION_ACK, 0, 0, 1, 0 };
      send_frame (&bad, "x", 1, -1);
      wait_for_eof ();
    }

  /* The rest misbehave on the first call. */
  {
    gsize region_size = 0;
    guint8 *region = MODE ("region.long") || MODE ("region.scribble") ? read_region (&region_size) : NULL;
    guint32 index = next_call ();
    RbShmSlot *slot = rb_shm_slot (shm, index % RB_SHM_SLOTS);

    if (MODE ("region.long") || MODE ("region.unlent"))
      {
        slot->reply_id = slot->id;
        slot->reply_len = MODE ("region.long") ? (guint32) region_size + 1 : 4;
        slot->reply_code = 0;
        slot->reply_flags = RB_REPLY_IN_REGION;
        finish_slot (slot, RB_SLOT_REPLY);
      }
    else if (MODE ("region.scribble"))
      {
        gint64 end = rb_wire_now_ns () + G_GINT64_CONSTANT (2000000000);
        guint32 len = slot->req_len;

        memset (region, 'r', len);
        slot->reply_id = slot->id;
        slot->reply_len = len;
        slot->reply_code = 0;
        slot->reply_flags = RB_REPLY_IN_REGION;
        finish_slot (slot, RB_SLOT_REPLY);
        while (rb_wire_now_ns () < end)
          {
            memset (region, 'X', len);
            memset (region, 'r', len);
          }
        memset (region, 'X', len);
      }
    else if (MODE ("reply.long"))
      {
        slot->reply_id = slot->id;
        slot->reply_len = 1u << 30;
        slot->reply_code = 0;
        finish_slot (slot, RB_SLOT_REPLY);
      }
    else if (MODE ("reply.wrongid"))
      {
        slot->reply_id = slot->id + 1;
        slot->reply_len = 2;
        memcpy (slot->data, "{}", 2);
        slot->reply_code = 0;
        finish_slot (slot, RB_SLOT_REPLY);
      }
    else if (MODE ("reply.state"))
      finish_slot (slot, 77);
    else if (MODE ("big.unsealed"))
      {
        guint64 len = 4;
        int fd = memfd_create ("x", 0);
        RbWireHeader bad = { sizeof len, RB_WIRE_BIG_REPLY, 0, index, 0, slot->id };

        if (write (fd, "abcd", 4) != 4)
          return 1;
        send_frame (&bad, &len, sizeof len, fd);
      }
  }
  wait_for_eof ();
  return 0;
}
