/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib.h>

G_BEGIN_DECLS

/*
 * The wire between an app and its isolated-plugin helper
 * (rustbridge-glib-host-1.0): shared by rb-isolated-private.c (app side)
 * and rustbridge-glib-host.c (helper side). Not a stable format: both
 * ends are always built from the same tree (the helper checks
 * RB_WIRE_VERSION).
 *
 * Two channels:
 *
 * - A SOCK_SEQPACKET socketpair: control requests (init, shutdown, log
 *   level, state, rejected count) and their replies, log frames from the
 *   helper, and payloads too big for a call slot, which travel as sealed
 *   memfds (SCM_RIGHTS). Every frame is an RbWireHeader followed by at
 *   most RB_WIRE_MAX_PAYLOAD bytes, in one datagram. Its EOF (and the
 *   helper's pidfd) tell the app that the helper died.
 *
 * - A shared memory region (a memfd that the app creates, seals against
 *   resizing and passes in the INIT frame): RB_SHM_SLOTS call slots and a
 *   ring of slot indices. A call owns a slot from submission to
 *   completion: the app writes the request into the slot and pushes its
 *   index; a helper worker pops it, calls the plugin with a pointer into
 *   the slot, writes the reply into the same slot and flips the slot's
 *   state word. Each side waits with a bounded, adaptive spin and then a
 *   futex (rb_wire_wait_adaptive, RbWireSpin), and the writer wakes the
 *   futex only when the other side said it sleeps (and the app wakes a
 *   helper worker only for the first request of a burst), so a busy
 *   pipeline makes no system call at all.
 *
 * - Regions (see "Regions" below): reusable shared buffers for payloads
 *   too big for a slot, each passed once.
 *
 * Trust: the helper runs plugin code, so the app reads nothing from the
 * shared region or the socket without checking it (lengths against the
 * slot capacity, ids against its own table), copies a reply out of the
 * region before parsing it, and treats any inconsistency as a crash. The
 * helper trusts the app.
 */

#define RB_WIRE_VERSION       2
#define RB_WIRE_FD            3              /* the socket, in the helper */
#define RB_WIRE_MAX_PAYLOAD   (64 * 1024)    /* bytes after a socket header */
#define RB_WIRE_MAX_FDS       2
#define RB_WIRE_DEFAULT_SPIN_US 20          /* $RB_ISOLATED_SPIN_US overrides */

typedef enum {
  /* app -> helper */
  RB_WIRE_INIT = 1,         /* fds: shm, and the library when path_len is 0
                             * (a sealed memfd); payload: RbWireInit, path,
                             * NUL, config */
  RB_WIRE_SHUTDOWN,         /* reply: code = 1 if plugin_shutdown() succeeded */
  RB_WIRE_SET_LOG_LEVEL,    /* code = level; empty reply */
  RB_WIRE_GET_STATE,        /* reply: code = state */
  RB_WIRE_GET_REJECTED,     /* reply: payload = guint64 */
  RB_WIRE_BIG_REQUEST,      /* slot, id; fds: sealed memfd holding the request data */
  RB_WIRE_REGION_ADD,       /* slot = region index, code = region id; payload:
                             * guint64 size; fds: the region's memfd (see
                             * "Regions" below); no reply */
  RB_WIRE_REGION_DROP,      /* slot = region index, code = region id; no reply;
                             * sent without blocking, so it may be missing */
  /* helper -> app */
  RB_WIRE_REPLY = 64,       /* control reply: id, code, payload */
  RB_WIRE_LOG,              /* code = level; payload: target, NUL, message */
  RB_WIRE_BIG_REPLY,        /* slot, id, code = error code; payload: guint64 length; fds: sealed memfd */
  RB_WIRE_REGION_ACK,       /* code = region id: RB_WIRE_REGION_ADD is mapped
                             * (wakes the app's watcher, which then ages
                             * the regions); empty; sent without blocking */
} RbWireKind;

/* reply_code of a call whose plugin broke the ABI (a malformed buffer):
 * the reply data is the text of an RB_PLUGIN_ERROR_PROTOCOL error. */
#define RB_WIRE_CODE_PROTOCOL 0xffff0001u

typedef struct {
  guint32 len;     /* payload bytes after the header */
  guint16 kind;    /* RbWireKind */
  guint16 flags;
  guint32 slot;
  guint32 code;
  guint64 id;
} RbWireHeader;

G_STATIC_ASSERT (sizeof (RbWireHeader) == 24);

typedef struct {
  guint32 version;     /* RB_WIRE_VERSION */
  guint32 spin_ns;     /* how long a waiter spins before it sleeps */
  guint32 path_len;    /* then path_len bytes, a NUL, and the config JSON;
                        * 0: the library is the INIT frame's second fd */
  guint32 reserved;
} RbWireInit;

/* ---- the shared region ------------------------------------------------ */

/*
 * The ring. The app pushes a slot's index once per call, after it wrote
 * the request and stored RB_SLOT_REQUEST (release), under its own lock;
 * the slot is not pushed again before it was answered and given back. So
 * at most RB_SHM_SLOTS indices are ever in the ring: req_head - req_tail
 * <= RB_SHM_SLOTS at every instant. A helper worker owns a slot once its
 * compare-and-swap on req_tail took the index: until it replies the slot
 * stays RB_SLOT_REQUEST (the app changes it only after the reply, or to
 * RB_SLOT_DEAD once the helper is gone), and any other state is a broken
 * app.
 *
 * A worker's snapshot of req_tail can lag by any amount: it may be
 * preempted between reading req_tail and req_head while other workers pop
 * and the app pushes. Compared with a later req_head, a stale tail makes a
 * healthy ring look over-full (the bug behind the isolated reload stress:
 * helpers exited with status 2 under CPU load). An over-full ring may be
 * concluded only from a tail that was still current after req_head was
 * read; otherwise the worker takes the current tail and looks again.
 */

#define RB_SHM_MAGIC       0x52424953u   /* "RBIS" */
#define RB_SHM_SLOTS       64            /* a power of two */
#define RB_SHM_SLOT_SIZE   (32 * 1024)   /* header included */
#define RB_CACHELINE       64

typedef enum {
  RB_SLOT_FREE = 0,      /* the app's */
  RB_SLOT_REQUEST,       /* submitted: the helper's until it replies */
  RB_SLOT_REPLY,         /* the reply is in the slot: the app's again */
  RB_SLOT_REPLY_BIG,     /* written by the app itself: the reply came as a memfd */
  RB_SLOT_DEAD,          /* written by the app itself: the helper died */
} RbSlotState;

typedef enum {
  RB_SLOT_JSON = 1,      /* request: tag (tag_len bytes, then NUL), then the JSON */
  RB_SLOT_RAW,           /* request: message id in tag_len, then the struct */
} RbSlotKind;

#define RB_SLOT_FLAG_ASYNC  (1u << 0)    /* bump done_seq when replied */
#define RB_SLOT_FLAG_BIG    (1u << 1)    /* the request data came as RB_WIRE_BIG_REQUEST */
#define RB_SLOT_FLAG_REGION (1u << 2)    /* the request data is in region `region` */

/* reply_flags, written by the helper */
#define RB_REPLY_IN_REGION  (1u << 0)    /* the reply is in the call's region, not in data[] */

typedef struct {
  _Atomic guint32 state;       /* RbSlotState; the futex the app waits on */
  _Atomic guint32 waiting;     /* the app sleeps (or is about to) on state */
  guint32  kind;               /* RbSlotKind */
  guint32  flags;
  guint64  id;                 /* the app's call id */
  guint32  tag_len;            /* JSON: tag length; raw: message id */
  guint32  req_len;            /* request data length (inline or big) */
  /* reply, written by the helper */
  guint64  reply_id;           /* must equal id */
  guint32  reply_code;         /* plugin error code, 0 = success */
  guint32  reply_len;          /* bytes in data[] (or in the region) */
  guint32  reply_flags;        /* RB_REPLY_IN_REGION */
  /* the region lent to the call (RB_SLOT_FLAG_REGION), written by the app */
  guint32  region;             /* index in the region table */
  guint32  region_id;          /* its id, as in RB_WIRE_REGION_ADD */
  guint8   pad[4];
  guint8   data[];
} RbShmSlot;

G_STATIC_ASSERT (sizeof (RbShmSlot) == 64);
#define RB_SLOT_CAPACITY   (RB_SHM_SLOT_SIZE - sizeof (RbShmSlot))

typedef struct {
  guint32  magic;
  guint32  nslots;
  guint32  slot_size;
  guint32  header_size;
  guint8   pad0[RB_CACHELINE - 16];

  /* request ring: the app produces (under its own lock), helper workers
   * consume (compare-and-swap on req_tail) */
  _Atomic guint32 req_head;
  guint8   pad1[RB_CACHELINE - 4];
  _Atomic guint32 req_tail;
  guint8   pad2[RB_CACHELINE - 4];
  _Atomic guint32 req_seq;           /* futex: bumped by every push */
  _Atomic guint32 helper_spinners;   /* helper workers spinning on the ring */
  _Atomic guint32 helper_sleepers;   /* helper workers asleep on req_seq */
  _Atomic guint32 helper_busy;       /* helper workers between a pop and its reply */
  _Atomic guint32 helper_waking;     /* 1: the app woke a worker, no pop since */
  _Atomic guint32 helper_returning;  /* workers between a reply and their next look at the ring */
  guint8   pad3[RB_CACHELINE - 24];

  /* completions of async calls */
  _Atomic guint32 done_seq;          /* futex: bumped by each async reply */
  _Atomic guint32 app_sleeping;      /* the app's completer sleeps on done_seq */
  guint8   pad4[RB_CACHELINE - 8];

  guint32  ring[RB_SHM_SLOTS];
} RbShmHeader;

#define RB_SHM_HEADER_SIZE  (((sizeof (RbShmHeader) + 4095) / 4096) * 4096)
#define RB_SHM_SIZE         (RB_SHM_HEADER_SIZE + (gsize) RB_SHM_SLOTS * RB_SHM_SLOT_SIZE)

static inline RbShmSlot *
rb_shm_slot (RbShmHeader *shm,
             guint32      index)
{
  return (RbShmSlot *) ((guint8 *) shm + RB_SHM_HEADER_SIZE + (gsize) index * RB_SHM_SLOT_SIZE);
}

/* ---- regions ----------------------------------------------------------- */

/*
 * Regions. A payload too big for a slot but at most RB_REGION_MAX_SIZE
 * goes through a region: a memfd the app creates (sized to the payload
 * with some headroom, sealed against resizing), maps once, and passes
 * once to the helper in RB_WIRE_REGION_ADD, before the first call that
 * uses it. The helper maps it once too (read-write) and keeps it in its
 * table under the same index until RB_WIRE_REGION_DROP or an ADD of
 * another id at that index (the app reuses an index only for a new id,
 * and never while the region is lent). The app's watcher drops idle
 * regions and must not block on the socket, so a DROP may be missing:
 * the helper then unmaps the region when its index is reused.
 *
 * A call lends its region to the helper: the app writes the request at
 * offset 0, sets RB_SLOT_FLAG_REGION, `region` and `region_id` in the
 * slot, and pushes the slot. The helper calls the plugin with a pointer
 * into the region; if the reply is bigger than a slot and fits in the
 * region, it writes the reply at offset 0 of the same region and sets
 * RB_REPLY_IN_REGION with reply_len; bigger still, it sends
 * RB_WIRE_BIG_REPLY as before. The region is the app's again once the
 * slot's state left RB_SLOT_REQUEST.
 *
 * The only things the helper says about a region are that flag and
 * reply_len: the app checks the flag against its own record (a region
 * lent to this call) and the length against the region's size as the app
 * made it, and treats anything else as a crash. Which region, where and
 * how big never come from the helper.
 *
 * The helper keeps its writable mapping after it replied, so the app
 * cannot take the region back from a hostile helper: it copies the reply
 * out once (a GBytes never points into a region) and never parses the
 * region in place. The app keeps at most RB_REGION_MAX_COUNT regions of
 * RB_REGION_MAX_TOTAL bytes in all (an eighth of the helper's memory
 * limit, if that is less), drops those unused for RB_REGION_IDLE_MS,
 * and sends bigger payloads (or any when the pool is exhausted) as
 * per-call sealed memfds. Replies to requests that fit in a slot never
 * use a region (no region is lent to them): big ones still come as a
 * sealed memfd.
 */

#define RB_REGION_MAX_COUNT  8
#define RB_REGION_MIN_SIZE   (256 * 1024)
#define RB_REGION_MAX_SIZE   (32 * 1024 * 1024)
#define RB_REGION_MAX_TOTAL  (64 * 1024 * 1024)
#define RB_REGION_IDLE_MS    5000

/* The size of a region made for a payload of @len bytes: room for a
 * reply somewhat longer than the request, in 64 KiB steps; 0 if the
 * payload does not go through a region. */
static inline gsize
rb_region_size_for (gsize len)
{
  gsize size;

  if (len > RB_REGION_MAX_SIZE)
    return 0;
  size = len + len / 8 + 4096;
  size = (size + 65535) & ~(gsize) 65535;
  size = MAX (size, RB_REGION_MIN_SIZE);
  return size <= RB_REGION_MAX_SIZE ? size : RB_REGION_MAX_SIZE;
}

/* ---- waiting ------------------------------------------------------------ */

static inline int
rb_futex_wait (_Atomic guint32       *word,
               guint32                expected,
               const struct timespec *relative)
{
  /* Shared (not FUTEX_PRIVATE): the word lives in a MAP_SHARED region. */
  return syscall (SYS_futex, word, FUTEX_WAIT, expected, relative, NULL, 0);
}

static inline void
rb_futex_wake (_Atomic guint32 *word,
               int              n)
{
  syscall (SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static inline void
rb_cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#elif defined(__aarch64__)
  __asm__ __volatile__ ("yield");
#endif
}

static inline gint64
rb_wire_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (gint64) ts.tv_sec * G_GINT64_CONSTANT (1000000000) + ts.tv_nsec;
}

/*
 * Waits until *@word differs from @value: spins for up to @spin_ns, then
 * sleeps on the futex. @sleeping (may be NULL) is raised while asleep so
 * that the writer knows to wake (the writer stores the new value, then
 * reads @sleeping; both sequentially consistent). @deadline_ns is
 * monotonic (rb_wire_now_ns), or 0 for none. Returns the new value, or
 * @value if the deadline passed.
 */
static inline guint32
rb_wire_wait (_Atomic guint32 *word,
              guint32          value,
              _Atomic guint32 *sleeping,
              guint32          spin_ns,
              gint64           deadline_ns)
{
  guint32 now_value;

  now_value = atomic_load_explicit (word, memory_order_acquire);
  if (now_value != value)
    return now_value;

  if (spin_ns > 0)
    {
      gint64 spin_end = rb_wire_now_ns () + spin_ns;

      do
        {
          for (int i = 0; i < 64; i++)
            {
              rb_cpu_relax ();
              now_value = atomic_load_explicit (word, memory_order_acquire);
              if (now_value != value)
                return now_value;
            }
        }
      while (rb_wire_now_ns () < spin_end);
    }

  for (;;)
    {
      struct timespec rel, *relp = NULL;

      if (deadline_ns > 0)
        {
          gint64 left = deadline_ns - rb_wire_now_ns ();
          if (left <= 0)
            return atomic_load (word);
          rel.tv_sec = left / 1000000000;
          rel.tv_nsec = left % 1000000000;
          relp = &rel;
        }
      if (sleeping != NULL)
        atomic_fetch_add (sleeping, 1);
      now_value = atomic_load (word);
      if (now_value == value)
        rb_futex_wait (word, value, relp);
      if (sleeping != NULL)
        atomic_fetch_sub (sleeping, 1);
      now_value = atomic_load (word);
      if (now_value != value)
        return now_value;
    }
}

/*
 * The adaptive spin (rb_wire_wait_adaptive): spinning pays only while the
 * side that will change the word is on a CPU. So a waiter
 *
 * - never spins when only one CPU is usable (rb_wire_usable_cpus(),
 *   checked once at start: max_ns is then 0);
 * - spins only while its peer shows that it works (the counters in
 *   peer[], asked after the first quarter of the window): for the app,
 *   a helper worker serving, spinning, or woken by the app and not yet
 *   past its pop (helper_busy, helper_spinners, helper_waking); a
 *   helper that sleeps answers no sooner for the spin. A woken helper
 *   counts as working: a waiter that gave up on it at once would let
 *   both sides settle into sleeping on every call, each finding the
 *   other asleep. Helper workers have no such counter: what they wait
 *   for is any app thread's next call;
 * - spins only while fewer than max_spinners waiters of the same side
 *   spin (the helper: one, enough to catch the next request; the app:
 *   one per usable CPU);
 * - without a peer counter (the helper workers), adapts its window: a
 *   window that runs out before a long sleep halves it (down to
 *   nothing); a spin that succeeds, or a sleep that ended within max_ns
 *   (a spin would have caught it), restores it to max_ns. A side whose
 *   window is nothing still probes with max_ns once in
 *   RB_WIRE_SPIN_PROBE waits, so that it finds out when spinning pays
 *   again (a sleeping peer's wake-up takes longer than the window
 *   itself, so sleeps alone would never tell). A waiter with a peer
 *   counter (the app) keeps its whole window: the counter already ends
 *   its spin when nothing is coming, and shrinking on top of that
 *   measured worse (its window, emptied by a burst of pipelined calls,
 *   no longer caught the replies of the sync calls that followed: 11 us
 *   per sync call instead of 1.2 us).
 *
 * The window is shared by the waiters of one side and updated with plain
 * atomic stores: a lost update only costs one adjustment.
 */
typedef struct {
  _Atomic guint32  window_ns;   /* the current window, 0..max_ns */
  guint32          max_ns;      /* 0: never spin */
  _Atomic guint32 *spinners;    /* NULL, or this side's spinners */
  guint32          max_spinners;
  _Atomic guint32 *peer[3];     /* NULL, or counters: spin while their sum is not 0 */
  _Atomic guint32  waits;       /* waits with no window, for the probes */
  gboolean         adaptive;    /* no peer counter: the window adapts */
} RbWireSpin;

#define RB_WIRE_SPIN_MIN_NS 1000   /* a window below this is no window */
#define RB_WIRE_SPIN_PROBE  16

/* CPUs this thread may run on (sched_getaffinity), at least 1. */
static inline guint
rb_wire_usable_cpus (void)
{
  cpu_set_t set;
  int count;

  if (sched_getaffinity (0, sizeof set, &set) != 0)
    return 2;   /* unknown: as before, spin */
  count = CPU_COUNT (&set);
  return count > 0 ? (guint) count : 1;
}

/* @max_spinners 0: one per usable CPU. */
static inline void
rb_wire_spin_init (RbWireSpin      *spin,
                   guint32          max_ns,
                   _Atomic guint32 *spinners,
                   guint32          max_spinners,
                   _Atomic guint32 *peer0,
                   _Atomic guint32 *peer1,
                   _Atomic guint32 *peer2)
{
  guint cpus = rb_wire_usable_cpus ();

  spin->max_ns = cpus < 2 ? 0 : max_ns;
  atomic_init (&spin->window_ns, spin->max_ns);
  atomic_init (&spin->waits, 0);
  spin->spinners = spinners;
  spin->max_spinners = max_spinners > 0 ? max_spinners : cpus;
  spin->peer[0] = peer0;
  spin->peer[1] = peer1;
  spin->peer[2] = peer2;
  spin->adaptive = peer0 == NULL;
}

static inline gboolean
rb_wire_peer_works (const RbWireSpin *spin)
{
  guint32 sum = 0;

  if (spin->peer[0] == NULL)
    return TRUE;
  for (guint i = 0; i < G_N_ELEMENTS (spin->peer) && spin->peer[i] != NULL; i++)
    sum += atomic_load_explicit (spin->peer[i], memory_order_relaxed);
  return sum != 0;
}

static inline void
rb_wire_spin_grow (RbWireSpin *spin)
{
  if (atomic_load_explicit (&spin->window_ns, memory_order_relaxed) != spin->max_ns)
    atomic_store_explicit (&spin->window_ns, spin->max_ns, memory_order_relaxed);
}

static inline void
rb_wire_spin_shrink (RbWireSpin *spin)
{
  guint32 window = atomic_load_explicit (&spin->window_ns, memory_order_relaxed) / 2;

  atomic_store_explicit (&spin->window_ns, window < RB_WIRE_SPIN_MIN_NS ? 0 : window,
                         memory_order_relaxed);
}

/* Spins until *@word differs from @value, for at most the window of
 * @spin and while the peer works. Returns the new value, or @value;
 * sets *@spun when the whole window was spent in vain. */
static inline guint32
rb_wire_spin (_Atomic guint32 *word,
              guint32          value,
              RbWireSpin      *spin,
              gint64           start_ns,
              gboolean        *spun)
{
  guint32 window = atomic_load_explicit (&spin->window_ns, memory_order_relaxed);
  guint32 expected = 0;
  guint32 now_value = value;
  gint64 end, ask_peer, now;

  *spun = FALSE;
  if (window == 0 &&
      atomic_fetch_add_explicit (&spin->waits, 1, memory_order_relaxed) % RB_WIRE_SPIN_PROBE == 0)
    window = spin->max_ns;
  if (window == 0)
    return value;
  end = start_ns + window;
  ask_peer = start_ns + window / 4;
  if (spin->spinners != NULL)
    {
      expected = atomic_load (spin->spinners);
      do
        if (expected >= spin->max_spinners)
          return value;
      while (!atomic_compare_exchange_weak (spin->spinners, &expected, expected + 1));
    }
  for (;;)
    {
      for (int i = 0; i < 64; i++)
        {
          rb_cpu_relax ();
          now_value = atomic_load_explicit (word, memory_order_acquire);
          if (now_value != value)
            goto out;
        }
      now = rb_wire_now_ns ();
      if (now >= end)
        {
          *spun = TRUE;   /* the window ran out: it counts against it */
          break;
        }
      if (now >= ask_peer && !rb_wire_peer_works (spin))
        break;          /* the peer stopped: no fault of the window */
    }
out:
  if (spin->spinners != NULL)
    atomic_fetch_sub (spin->spinners, 1);
  return now_value;
}

/*
 * rb_wire_wait() with the adaptive spin of @spin (see RbWireSpin) instead
 * of a fixed one. Same contract: returns the new value, or @value if the
 * deadline passed.
 */
static inline guint32
rb_wire_wait_adaptive (_Atomic guint32 *word,
                       guint32          value,
                       _Atomic guint32 *sleeping,
                       RbWireSpin      *spin,
                       gint64           deadline_ns)
{
  guint32 now_value = atomic_load_explicit (word, memory_order_acquire);
  gboolean spun = FALSE;
  gint64 start;

  if (now_value != value || spin->max_ns == 0)
    return now_value != value ? now_value : rb_wire_wait (word, value, sleeping, 0, deadline_ns);

  start = rb_wire_now_ns ();
  now_value = rb_wire_spin (word, value, spin, start, &spun);
  if (now_value != value)
    {
      rb_wire_spin_grow (spin);
      return now_value;
    }
  now_value = rb_wire_wait (word, value, sleeping, 0, deadline_ns);
  if (now_value == value)
    return value;   /* the deadline */
  /* Woken within max_ns: a spin would have caught it. A window that ran
   * out, and then a long sleep: the window was wasted. */
  if (rb_wire_now_ns () - start <= (gint64) spin->max_ns)
    rb_wire_spin_grow (spin);
  else if (spun && spin->adaptive)
    rb_wire_spin_shrink (spin);
  return now_value;
}

/* ---- the app side's socket and memfd helpers (rb-isolated-wire-private.c) */

/* Sends one frame (and @fd, if >= 0). FALSE when the helper is gone (its
 * watcher reports that). */
gboolean  rb_wire_send          (int          sock,
                                 guint16      kind,
                                 guint32      slot,
                                 guint32      code,
                                 guint64      id,
                                 const void  *payload,
                                 gsize        len,
                                 int          fd);
/* The same with up to RB_WIRE_MAX_FDS fds. */
gboolean  rb_wire_send_fds      (int          sock,
                                 guint16      kind,
                                 guint32      slot,
                                 guint32      code,
                                 guint64      id,
                                 const void  *payload,
                                 gsize        len,
                                 const int   *fds,
                                 guint        n_fds);
/* A sealed memfd holding @data, or -1 with errno set. */
int       rb_wire_sealed_memfd  (const char  *name,
                                 const void  *data,
                                 gsize        len);
/* A read-only view of a sealed memfd from the helper, or NULL if it is
 * not one (not sealed against writes and shrinking, or too short). */
GBytes   *rb_wire_map_sealed    (int          fd,
                                 guint64      len);

G_END_DECLS
