/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * rustbridge-glib-host-1.0: runs one rustbridge plugin on behalf of an
 * application (an "isolated" plugin), so that a crash or a hang of the
 * plugin never takes the application with it.
 *
 * Started by rb-isolated-private.c with the app's end of a
 * SOCK_SEQPACKET socketpair on fd 3 (RB_WIRE_FD) and its parent's pid as
 * its only argument (the app's, or 1 inside the sandbox's pid namespace); the wire is described in rb-isolated-wire-private.h. It
 * dies with the application (PR_SET_PDEATHSIG, and EOF on its socket),
 * and exits on anything it does not understand: the app then reports the
 * plugin as crashed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib.h>

#include "rb-envelope-private.h"
#include "rb-error.h"
#include "rb-isolated-wire-private.h"
#include "rb-library-private.h"

#define RB_HOST_MAX_WORKERS 64

#define RB_HOST_CODE_PROTOCOL RB_WIRE_CODE_PROTOCOL

typedef struct {
  guint64 id;
  int     fd;
} BigRequest;

/* A region the app passed (see "Regions" in rb-isolated-wire-private.h). */
typedef struct {
  guint32  id;        /* 0: none */
  guint8  *map;
  gsize    size;
} Region;

/* What a call may reply into. */
typedef struct {
  guint8  *map;       /* NULL: no region lent */
  gsize    size;
} ReplyRoom;

static RbShmHeader *shm;
static RbWireSpin helper_spin;             /* the helper side's, shared by its workers */
static const RbAbi *abi;
static void *handle;
static RbLibrary *library;
static RbLogSink sink;

static pthread_mutex_t workers_lock = PTHREAD_MUTEX_INITIALIZER;
static int n_workers;                      /* guarded by workers_lock */
static atomic_int idle_workers;

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t big_cond = PTHREAD_COND_INITIALIZER;
static BigRequest big_requests[RB_SHM_SLOTS];   /* guarded by big_lock */
static Region regions[RB_REGION_MAX_COUNT];      /* guarded by big_lock */

static G_NORETURN void
die (int status)
{
  _exit (status);
}

static void
send_frame (guint16       kind,
            guint32       slot,
            guint32       code,
            guint64       id,
            const void   *payload,
            gsize         len,
            int           fd)
{
  RbWireHeader header = { (guint32) len, kind, 0, slot, code, id };
  struct iovec iov[2] = { { &header, sizeof header }, { (void *) payload, len } };
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

  while (sendmsg (RB_WIRE_FD, &msg, MSG_NOSIGNAL) < 0)
    {
      if (errno == EINTR)
        continue;
      /* The app is gone (or closed us): nothing left to do. */
      die (0);
    }
}

static void
host_log (gpointer     user_data,
          guint8       level,
          const char  *target,
          const char  *message,
          gsize        message_len)
{
  char buf[RB_WIRE_MAX_PAYLOAD];
  gsize target_len = strnlen (target, 256);
  gsize room = sizeof buf - target_len - 1;

  memcpy (buf, target, target_len);
  buf[target_len] = '\0';
  if (message_len > room)
    message_len = room;
  if (message_len > 0)
    memcpy (buf + target_len + 1, message, message_len);
  send_frame (RB_WIRE_LOG, 0, level, 0, buf, target_len + 1 + message_len, -1);
}

/* A sealed memfd holding @len bytes of @data, or -1. */
static int
sealed_memfd (const void *data,
              gsize       len)
{
  int fd = memfd_create ("rb-isolated-reply", MFD_CLOEXEC | MFD_ALLOW_SEALING);
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

/* Whether this worker counts in helper_returning: from just before it
 * publishes a reply until its next look at the ring (next_request()).
 * Set before the reply is visible, so an app that sees the reply and
 * pushes the next request sees it too and leaves the waking to us. */
static __thread gboolean returning;

static void
mark_returning (void)
{
  if (!returning)
    {
      atomic_fetch_add (&shm->helper_returning, 1);
      returning = TRUE;
    }
}

static void
reply (RbShmSlot       *slot,
       guint32          index,
       guint64          id,
       guint32          flags,
       const ReplyRoom *room,
       guint32          code,
       const void      *data,
       gsize            len)
{
  guint32 reply_flags = 0;

  if (len > RB_SLOT_CAPACITY && room->map != NULL && len <= room->size)
    {
      /* The call's region: the request in it is no longer needed. */
      memmove (room->map, data, len);
      reply_flags = RB_REPLY_IN_REGION;
    }
  else if (len > RB_SLOT_CAPACITY)
    {
      guint64 len64 = len;
      int fd = sealed_memfd (data, len);

      if (fd < 0)
        {
          static const char text[] = "the plugin's reply could not be passed to the application (out of memory)";
          reply (slot, index, id, flags, room, RB_HOST_CODE_PROTOCOL, text, sizeof text - 1);
          return;
        }
      mark_returning ();
      send_frame (RB_WIRE_BIG_REPLY, index, code, id, &len64, sizeof len64, fd);
      close (fd);
      return;
    }

  else if (len > 0)
    memcpy (slot->data, data, len);
  slot->reply_id = id;
  slot->reply_flags = reply_flags;
  slot->reply_code = code;
  slot->reply_len = (guint32) len;
  mark_returning ();
  atomic_store (&slot->state, RB_SLOT_REPLY);
  if (atomic_load (&slot->waiting) != 0)
    rb_futex_wake (&slot->state, 1);
  if (flags & RB_SLOT_FLAG_ASYNC)
    {
      atomic_fetch_add (&shm->done_seq, 1);
      if (atomic_load (&shm->app_sleeping) != 0)
        rb_futex_wake (&shm->done_seq, 1);
    }
}

static void
reply_protocol (RbShmSlot       *slot,
                guint32          index,
                guint64          id,
                guint32          flags,
                const ReplyRoom *room,
                const char      *what)
{
  reply (slot, index, id, flags, room, RB_HOST_CODE_PROTOCOL, what, strnlen (what, 1024));
}

/* The region a request came in, once its RB_WIRE_REGION_ADD was read
 * (the app sends it before it pushes the slot). */
static void
take_region (RbShmSlot *slot,
             guint32    req_len,
             ReplyRoom *room)
{
  guint32 index = slot->region, id = slot->region_id;

  if (index >= RB_REGION_MAX_COUNT || id == 0)
    die (2);
  pthread_mutex_lock (&big_lock);
  while (regions[index].id != id)
    pthread_cond_wait (&big_cond, &big_lock);
  room->map = regions[index].map;
  room->size = regions[index].size;
  pthread_mutex_unlock (&big_lock);
  if (req_len > room->size)
    die (2);
}

static void
serve (guint32 index)
{
  RbShmSlot *slot;
  guint64 id;
  guint32 kind, flags, tag_len, req_len;
  const guint8 *req;
  void *big_map = NULL;
  int big_fd = -1;
  ReplyRoom room = { NULL, 0 };

  if (index >= RB_SHM_SLOTS)
    die (2);
  slot = rb_shm_slot (shm, index);
  /* Acquire, pairing with the app's release store of RB_SLOT_REQUEST
   * (rb-isolated-call-private.c): the request's fields below were written
   * before it. The slot may have been answered by another worker's
   * reply() before it was reused, so the ring's ordering alone does not
   * cover them. The index was won on req_tail, so the slot is ours
   * until we reply: anything but a request is a broken app (see "The
   * ring" in rb-isolated-wire-private.h). */
  if (atomic_load_explicit (&slot->state, memory_order_acquire) != RB_SLOT_REQUEST)
    die (2);
  id = slot->id;
  kind = slot->kind;
  flags = slot->flags;
  tag_len = slot->tag_len;
  req_len = slot->req_len;

  if (kind == RB_SLOT_JSON)
    {
      if (tag_len >= RB_SLOT_CAPACITY || slot->data[tag_len] != '\0')
        die (2);
      req = slot->data + tag_len + 1;
      if (!(flags & (RB_SLOT_FLAG_BIG | RB_SLOT_FLAG_REGION)) && req_len > RB_SLOT_CAPACITY - tag_len - 1)
        die (2);
    }
  else if (kind == RB_SLOT_RAW)
    {
      req = slot->data;
      if (!(flags & (RB_SLOT_FLAG_BIG | RB_SLOT_FLAG_REGION)) && req_len > RB_SLOT_CAPACITY)
        die (2);
    }
  else
    die (2);

  if (flags & RB_SLOT_FLAG_REGION)
    {
      take_region (slot, req_len, &room);
      req = room.map;
    }
  else if (flags & RB_SLOT_FLAG_BIG)
    {
      struct stat st;

      pthread_mutex_lock (&big_lock);
      while (big_requests[index].fd < 0 || big_requests[index].id != id)
        pthread_cond_wait (&big_cond, &big_lock);
      big_fd = big_requests[index].fd;
      big_requests[index].fd = -1;
      pthread_mutex_unlock (&big_lock);

      if (fstat (big_fd, &st) < 0 || (guint64) st.st_size < req_len)
        die (2);
      if (req_len > 0)
        {
          big_map = mmap (NULL, req_len, PROT_READ, MAP_SHARED, big_fd, 0);
          if (big_map == MAP_FAILED)
            die (2);
        }
      req = big_map;
    }

  if (kind == RB_SLOT_JSON)
    {
      RbFfiBuffer buffer = abi->plugin_call (handle, (const char *) slot->data, req, req_len);
      g_autoptr(GError) error = NULL;

      if (!rb_envelope_check_buffer (buffer.data, buffer.len, buffer.capacity, "response", &error))
        reply_protocol (slot, index, id, flags, &room, error->message);
      else
        reply (slot, index, id, flags, &room, buffer.error_code, buffer.data, buffer.len);
      abi->plugin_free_buffer (&buffer);
    }
  else if (abi->plugin_call_raw == NULL)
    {
      reply_protocol (slot, index, id, flags, &room, "the plugin has no binary transport");
    }
  else
    {
      RbResponse resp = abi->plugin_call_raw (handle, tag_len, req, req_len);
      g_autoptr(GError) error = NULL;

      if (!rb_envelope_check_buffer (resp.data, resp.len, resp.capacity,
                                     resp.error_code == 0 ? "raw response" : "raw error response", &error))
        reply_protocol (slot, index, id, flags, &room, error->message);
      else
        reply (slot, index, id, flags, &room, resp.error_code, resp.data, resp.len);
      abi->rb_response_free (&resp);
    }

  if (big_map != NULL)
    munmap (big_map, req_len);
  if (big_fd >= 0)
    close (big_fd);
}

/* Takes the oldest index off the ring, if any. @tail is this worker's
 * snapshot of req_tail: it may lag by any amount (the worker can be
 * preempted after reading it while others pop and the app pushes), so
 * only a tail still current after head was read proves an over-full
 * ring (see "The ring" in rb-isolated-wire-private.h). */
static gboolean
try_pop (guint32 *index)
{
  guint32 tail = atomic_load (&shm->req_tail);

  for (;;)
    {
      guint32 head = atomic_load_explicit (&shm->req_head, memory_order_acquire);
      guint32 value;

      if (head == tail)
        return FALSE;
      if (head - tail > RB_SHM_SLOTS)
        {
          guint32 current = atomic_load (&shm->req_tail);

          if (current == tail)
            die (2);
          tail = current;
          continue;
        }
      value = shm->ring[tail & (RB_SHM_SLOTS - 1)];
      if (atomic_compare_exchange_weak (&shm->req_tail, &tail, tail + 1))
        {
          *index = value;
          return TRUE;
        }
    }
}

static void *worker (void *data);

static void
add_worker (void)
{
  pthread_t thread;
  pthread_attr_t attr;

  pthread_mutex_lock (&workers_lock);
  if (n_workers < RB_HOST_MAX_WORKERS)
    {
      pthread_attr_init (&attr);
      pthread_attr_setdetachstate (&attr, PTHREAD_CREATE_DETACHED);
      if (pthread_create (&thread, &attr, worker, NULL) == 0)
        {
          n_workers++;
          atomic_fetch_add (&idle_workers, 1);
        }
      pthread_attr_destroy (&attr);
    }
  pthread_mutex_unlock (&workers_lock);
}

/* After a pop: if more requests wait and no worker spins to take them,
 * wake a sleeping one (the app woke, or found spinning, a worker only for
 * the first of them: rb_isolated_wake_helper() in
 * rb-isolated-call-private.c). seq_cst against the app's push: either we
 * see its request here, or it sees our pop and wakes a worker itself. */
static void
wake_next (void)
{
  if (atomic_load (&shm->req_head) != atomic_load (&shm->req_tail) &&
      atomic_load (&shm->helper_spinners) == 0 && atomic_load (&shm->helper_sleepers) != 0)
    rb_futex_wake (&shm->req_seq, 1);
}

/* Only one worker spins on the ring at a time, for an adaptive window
 * (RbWireSpin in rb-isolated-wire-private.h); the others sleep on
 * req_seq. The returned request counts in helper_busy until served. */
static guint32
next_request (void)
{
  guint32 index;

  for (;;)
    {
      guint32 seq = atomic_load (&shm->req_seq);
      gboolean popped = try_pop (&index);

      /* Looked after the push that our reply may have prompted: from here
       * the app wakes a worker itself (seq was read before the look, so
       * the wait below returns at once if a push came in between). */
      if (returning)
        {
          atomic_fetch_sub (&shm->helper_returning, 1);
          returning = FALSE;
        }
      if (popped)
        {
          atomic_fetch_add (&shm->helper_busy, 1);
          if (atomic_load_explicit (&shm->helper_waking, memory_order_relaxed) != 0)
            atomic_store (&shm->helper_waking, 0);
          wake_next ();
          return index;
        }
      rb_wire_wait_adaptive (&shm->req_seq, seq, &shm->helper_sleepers, &helper_spin, 0);
    }
}

static void *
worker (void *data)
{
  RbLogSink *previous = rb_library_enter_call (&sink);

  for (;;)
    {
      guint32 index = next_request ();

      /* Keep one worker listening while this one is inside the plugin
       * (a hung call must not stall the others). */
      if (atomic_fetch_sub (&idle_workers, 1) == 1)
        add_worker ();
      serve (index);
      atomic_fetch_sub (&shm->helper_busy, 1);
      atomic_fetch_add (&idle_workers, 1);
    }

  rb_library_leave_call (previous);
  return NULL;
}

/* Reads one frame; exits on EOF or anything malformed. */
static gsize
read_frame (RbWireHeader *header,
            guint8       *payload,
            int          *fds,
            int          *n_fds)
{
  struct iovec iov[2] = { { header, sizeof *header }, { payload, RB_WIRE_MAX_PAYLOAD } };
  union {
    char buf[CMSG_SPACE (sizeof (int) * RB_WIRE_MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  ssize_t n;

  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  do
    n = recvmsg (RB_WIRE_FD, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    die (0);
  if ((gsize) n < sizeof *header || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
      header->len != (gsize) n - sizeof *header)
    die (2);

  *n_fds = 0;
  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        int count = (int) ((cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int));
        memcpy (fds + *n_fds, CMSG_DATA (cmsg), sizeof (int) * count);
        *n_fds += count;
      }
  return header->len;
}

/* RB_WIRE_REGION_ADD: maps the region once, for every call that uses it. */
static void
add_region (const RbWireHeader *header,
            const guint8       *payload,
            gsize               len,
            int                 fd)
{
  struct stat st;
  guint64 size;
  void *map;

  if (header->slot >= RB_REGION_MAX_COUNT || header->code == 0 || len != sizeof size)
    die (2);
  memcpy (&size, payload, sizeof size);
  if (size == 0 || size > RB_REGION_MAX_SIZE || fstat (fd, &st) < 0 || (guint64) st.st_size < size)
    die (2);
  map = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED)
    die (2);

  pthread_mutex_lock (&big_lock);
  if (regions[header->slot].map != NULL)
    munmap (regions[header->slot].map, regions[header->slot].size);
  regions[header->slot].id = header->code;
  regions[header->slot].map = map;
  regions[header->slot].size = size;
  pthread_cond_broadcast (&big_cond);
  pthread_mutex_unlock (&big_lock);

  /* Only a wake-up for the app's watcher: never blocks (the watcher may
   * be sending a drop to us). */
  {
    RbWireHeader ack = { 0, RB_WIRE_REGION_ACK, 0, header->slot, header->code, 0 };

    while (send (RB_WIRE_FD, &ack, sizeof ack, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EINTR)
      ;
  }
}

/* RB_WIRE_REGION_DROP: the app will not lend that region again. */
static void
drop_region (const RbWireHeader *header)
{
  Region *region;

  if (header->slot >= RB_REGION_MAX_COUNT || header->len != 0)
    die (2);
  region = &regions[header->slot];
  pthread_mutex_lock (&big_lock);
  if (region->id == header->code && region->map != NULL)
    {
      munmap (region->map, region->size);
      region->id = 0;
      region->map = NULL;
      region->size = 0;
    }
  pthread_mutex_unlock (&big_lock);
}

static void
init_plugin (const RbWireHeader *header,
             const guint8       *payload,
             gsize               len,
             int                 shm_fd,
             int                 library_fd)
{
  RbWireInit init;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  const guint8 *config;
  gsize config_len;
  struct stat st;
  void *plugin;
  guint32 code = 0;

  if (len < sizeof init)
    die (2);
  memcpy (&init, payload, sizeof init);
  if (init.version != RB_WIRE_VERSION || init.path_len > len - sizeof init - 1 ||
      payload[sizeof init + init.path_len] != '\0')
    die (2);
  /* A path, or (path_len 0) a sealed memfd: a bundle's verified library,
   * registered as an image so that rb_library_open() loads it from
   * /proc/self/fd. */
  if ((init.path_len == 0) != (library_fd >= 0))
    die (2);
  if (library_fd >= 0)
    path = rb_library_register_memfd (library_fd, "isolated-helper-library");
  else
    path = g_strndup ((const char *) payload + sizeof init, init.path_len);
  config = payload + sizeof init + init.path_len + 1;
  config_len = len - sizeof init - init.path_len - 1;

  if (fstat (shm_fd, &st) < 0 || (gsize) st.st_size < RB_SHM_SIZE)
    die (2);
  shm = mmap (NULL, RB_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0);
  if (shm == MAP_FAILED)
    die (2);
  close (shm_fd);
  if (shm->magic != RB_SHM_MAGIC || shm->nslots != RB_SHM_SLOTS || shm->slot_size != RB_SHM_SLOT_SIZE)
    die (2);
  /* One spinner at a time (helper_spinners), never on a lone CPU; no
   * peer counter (see RbWireSpin). */
  rb_wire_spin_init (&helper_spin, init.spin_ns, &shm->helper_spinners, 1, NULL, NULL, NULL);

  library = rb_library_open (path, &error);
  if (library == NULL)
    {
      send_frame (RB_WIRE_REPLY, 0, RB_PLUGIN_ERROR_LOAD_FAILED, header->id,
                  error->message, strlen (error->message), -1);
      return;
    }
  abi = rb_library_get_abi (library);
  sink.func = host_log;
  rb_library_add_sink (library, &sink);

  plugin = abi->plugin_create ();
  handle = plugin ? abi->plugin_init (plugin, config_len > 0 ? config : NULL, config_len,
                                      rb_library_get_log_callback (library))
                  : NULL;
  if (handle == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Plugin “%s” failed to initialise (plugin_%s returned NULL)",
                                               path, plugin ? "init" : "create");
      send_frame (RB_WIRE_REPLY, 0, RB_PLUGIN_ERROR_INIT_FAILED, header->id, text, strlen (text), -1);
      return;
    }

  add_worker ();
  /* code 0: initialised; slot = 1 if the plugin has the binary transport */
  send_frame (RB_WIRE_REPLY, rb_library_has_raw (library) ? 1 : 0, code, header->id, NULL, 0, -1);
}

int
main (int    argc,
      char **argv)
{
  guint8 *payload = g_malloc (RB_WIRE_MAX_PAYLOAD);
  RbWireHeader header;
  int fds[RB_WIRE_MAX_FDS * 2];
  int n_fds;

  /* Die with the app. If it is already gone (the signal would never
   * come), leave now. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (argc != 2 || getppid () != (pid_t) g_ascii_strtoll (argv[1], NULL, 10))
    die (1);
  signal (SIGPIPE, SIG_IGN);

  for (int i = 0; i < RB_SHM_SLOTS; i++)
    big_requests[i].fd = -1;

  /* INIT first. */
  read_frame (&header, payload, fds, &n_fds);
  if (header.kind != RB_WIRE_INIT || n_fds < 1 || n_fds > 2)
    die (2);
  init_plugin (&header, payload, header.len, fds[0], n_fds == 2 ? fds[1] : -1);
  if (handle == NULL)
    die (0);

  for (;;)
    {
      gsize len = read_frame (&header, payload, fds, &n_fds);

      switch (header.kind)
        {
        case RB_WIRE_SHUTDOWN:
          {
            bool ok = abi->plugin_shutdown (handle);
            send_frame (RB_WIRE_REPLY, 0, ok ? 1 : 0, header.id, NULL, 0, -1);
            die (0);
          }
          break;

        case RB_WIRE_SET_LOG_LEVEL:
          abi->plugin_set_log_level (handle, (uint8_t) header.code);
          send_frame (RB_WIRE_REPLY, 0, 0, header.id, NULL, 0, -1);
          break;

        case RB_WIRE_GET_STATE:
          send_frame (RB_WIRE_REPLY, 0, abi->plugin_get_state (handle), header.id, NULL, 0, -1);
          break;

        case RB_WIRE_GET_REJECTED:
          {
            guint64 count = abi->plugin_get_rejected_count (handle);
            send_frame (RB_WIRE_REPLY, 0, 0, header.id, &count, sizeof count, -1);
          }
          break;

        case RB_WIRE_BIG_REQUEST:
          if (n_fds != 1 || header.slot >= RB_SHM_SLOTS || len != 0)
            die (2);
          pthread_mutex_lock (&big_lock);
          if (big_requests[header.slot].fd >= 0)
            close (big_requests[header.slot].fd);
          big_requests[header.slot].fd = fds[0];
          big_requests[header.slot].id = header.id;
          pthread_cond_broadcast (&big_cond);
          pthread_mutex_unlock (&big_lock);
          n_fds = 0;
          break;

        case RB_WIRE_REGION_ADD:
          if (n_fds != 1)
            die (2);
          add_region (&header, payload, len, fds[0]);
          break;

        case RB_WIRE_REGION_DROP:
          if (n_fds != 0)
            die (2);
          drop_region (&header);
          break;

        default:
          die (2);
        }

      for (int i = 0; i < n_fds; i++)
        close (fds[i]);
    }

  return 0;
}
