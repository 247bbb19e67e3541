/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "rb-abi-private.h"
#include "rb-envelope-private.h"
#include "rb-error.h"
#include "rb-isolated-private.h"
#include "rb-isolated-wire-private.h"

#define RB_HOST_NAME "rustbridge-glib-host-1.0"

typedef struct {
  gboolean            busy;
  gboolean            async;
  guint32             kind;
  guint64             id;
  gint64              deadline_ns;   /* 0: none */
  RbIsolatedDoneFunc  func;          /* async; NULL once it has run */
  gpointer            user_data;
  char               *tag;           /* for messages */
  GBytes             *big_reply;     /* from the watcher */
  guint32             big_code;
} RbCall;

typedef struct {
  guint32             kind;
  char               *tag;
  guint32             message_id;
  GBytes             *data;
  RbIsolatedDoneFunc  func;
  gpointer            user_data;
} RbQueued;

struct _RbIsolated {
  char               *path;
  pid_t               pid;
  int                 sock;
  int                 pidfd;          /* -1 where pidfd_open() is not available */
  RbShmHeader        *shm;
  guint32             spin_ns;
  guint               call_timeout_ms;
  gboolean            has_raw;
  RbIsolatedLogFunc   log_func;
  RbIsolatedDiedFunc  died_func;
  gpointer            user_data;

  GMutex              lock;
  GCond               cond;
  guint64             next_id;
  guint32             free_slots[RB_SHM_SLOTS];
  guint               n_free;
  RbCall              calls[RB_SHM_SLOTS];
  guint               n_busy;
  GQueue              queued;         /* RbQueued *: async calls waiting for a slot */
  gboolean            closing;        /* shutdown: new calls are refused */
  gboolean            expect_exit;    /* shutdown or free: the exit is no crash */
  gboolean            initialised;    /* rb_isolated_new() succeeded */
  char               *kill_reason;
  gint                dead;           /* atomic */
  GError             *death;

  GMutex              control_lock;   /* one control request at a time */
  guint64             control_id;
  gboolean            control_done;
  guint32             control_code;
  guint32             control_slot;
  GBytes             *control_payload;

  GThread            *watcher;
  GThread            *completer;
  gboolean            stopping;
};

/* ---- spawning ----------------------------------------------------------- */

/* The helper's PR_SET_PDEATHSIG follows the thread that forked it, so
 * every helper is forked by one thread that lives as long as the process. */
typedef struct {
  const char  *helper;
  char       **argv;
  char       **envp;
  int          fd;
  guint        memory_limit_mb;
  pid_t        pid;
  int          saved_errno;
  gboolean     done;
} RbSpawnJob;

static GMutex spawn_lock;
static GCond spawn_cond;
static GAsyncQueue *spawn_queue;

static void
rb_spawn_child (RbSpawnJob *job,
                pid_t       parent)
{
  sigset_t empty;

  /* Async-signal-safe calls only from here on. */
  if (job->fd == RB_WIRE_FD)
    {
      if (fcntl (RB_WIRE_FD, F_SETFD, 0) < 0)
        _exit (127);
    }
  else if (dup2 (job->fd, RB_WIRE_FD) < 0)
    _exit (127);
  if (syscall (SYS_close_range, RB_WIRE_FD + 1, ~0U, 0) < 0)
    {
      for (int fd = RB_WIRE_FD + 1; fd < 1024; fd++)
        close (fd);
    }
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (127);
  if (job->memory_limit_mb > 0)
    {
      struct rlimit limit;
      limit.rlim_cur = limit.rlim_max = (rlim_t) job->memory_limit_mb * 1024 * 1024;
      setrlimit (RLIMIT_AS, &limit);
    }
  sigemptyset (&empty);
  sigprocmask (SIG_SETMASK, &empty, NULL);
  signal (SIGPIPE, SIG_DFL);
  execve (job->helper, job->argv, job->envp);
  _exit (127);
}

static gpointer
rb_spawner_main (gpointer data)
{
  for (;;)
    {
      RbSpawnJob *job = g_async_queue_pop (spawn_queue);
      pid_t parent = getpid ();
      pid_t pid = fork ();

      if (pid == 0)
        rb_spawn_child (job, parent);

      g_mutex_lock (&spawn_lock);
      job->pid = pid;
      job->saved_errno = pid < 0 ? errno : 0;
      job->done = TRUE;
      g_cond_broadcast (&spawn_cond);
      g_mutex_unlock (&spawn_lock);
    }
  return NULL;
}

static pid_t
rb_spawn (RbSpawnJob  *job,
          GError     **error)
{
  static gsize started;

  if (g_once_init_enter (&started))
    {
      GThread *thread;

      spawn_queue = g_async_queue_new ();
      thread = g_thread_new ("rb-isolated-spawner", rb_spawner_main, NULL);
      g_thread_unref (thread);
      g_once_init_leave (&started, 1);
    }

  g_mutex_lock (&spawn_lock);
  g_async_queue_push (spawn_queue, job);
  while (!job->done)
    g_cond_wait (&spawn_cond, &spawn_lock);
  g_mutex_unlock (&spawn_lock);

  if (job->pid < 0)
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                 "Could not start the plugin helper “%s”: %s", job->helper, g_strerror (job->saved_errno));
  return job->pid;
}

/* What the helper inherits: locale and time zone, nothing else. */
static char **
rb_helper_environ (void)
{
  static const char * const keep[] = { "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "TZ" };
  GPtrArray *env = g_ptr_array_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (keep); i++)
    {
      const char *value = g_getenv (keep[i]);
      if (value != NULL)
        g_ptr_array_add (env, g_strconcat (keep[i], "=", value, NULL));
    }
  g_ptr_array_add (env, NULL);
  return (char **) g_ptr_array_free (env, FALSE);
}

/* ---- errors ------------------------------------------------------------- */

static void
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
static void
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

static void
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

/* ---- the socket --------------------------------------------------------- */

static gboolean
rb_isolated_send (RbIsolated  *self,
                  guint16      kind,
                  guint32      slot,
                  guint32      code,
                  guint64      id,
                  const void  *payload,
                  gsize        len,
                  int          fd)
{
  RbWireHeader header = { (guint32) len, kind, 0, slot, code, id };
  struct iovec iov[2] = { { &header, sizeof header }, { (void *) payload, len } };
  union {
    char buf[CMSG_SPACE (sizeof (int))];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };

  g_assert (len <= RB_WIRE_MAX_PAYLOAD);
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

  for (;;)
    {
      if (sendmsg (self->sock, &msg, MSG_NOSIGNAL) >= 0)
        return TRUE;
      if (errno != EINTR)
        return FALSE;   /* the helper is gone: the watcher reports it */
    }
}

/* A sealed memfd holding @data, or -1. */
static int
rb_sealed_memfd (const char *name,
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
static GBytes *
rb_map_sealed (int     fd,
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

static void
rb_isolated_wake_completer (RbIsolated *self)
{
  atomic_fetch_add (&self->shm->done_seq, 1);
  rb_futex_wake (&self->shm->done_seq, 1);
}

/* One frame from the helper. Returns FALSE at EOF (or on a read error),
 * and sets *@bad (a reason) when the frame is malformed. */
static gboolean
rb_isolated_read_frame (RbIsolated   *self,
                        guint8       *payload,
                        int           flags,
                        const char  **bad)
{
  RbWireHeader header;
  struct iovec iov[2] = { { &header, sizeof header }, { payload, RB_WIRE_MAX_PAYLOAD } };
  union {
    char buf[CMSG_SPACE (sizeof (int) * RB_WIRE_MAX_FDS)];
    struct cmsghdr align;
  } control;
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  int fds[RB_WIRE_MAX_FDS * 2];
  int n_fds = 0;
  ssize_t n;

  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  msg.msg_control = control.buf;
  msg.msg_controllen = sizeof control.buf;

  do
    n = recvmsg (self->sock, &msg, MSG_CMSG_CLOEXEC | flags);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return FALSE;

  for (cmsg = CMSG_FIRSTHDR (&msg); cmsg != NULL; cmsg = CMSG_NXTHDR (&msg, cmsg))
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS)
      {
        gsize count = (cmsg->cmsg_len - CMSG_LEN (0)) / sizeof (int);
        for (gsize i = 0; i < count; i++)
          {
            int fd;
            memcpy (&fd, CMSG_DATA (cmsg) + i * sizeof (int), sizeof (int));
            if (n_fds < (int) G_N_ELEMENTS (fds))
              fds[n_fds++] = fd;
            else
              close (fd);
          }
      }

  if ((gsize) n < sizeof header || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
      header.len != (gsize) n - sizeof header)
    {
      *bad = "sent a malformed frame";
      goto out;
    }

  switch (header.kind)
    {
    case RB_WIRE_REPLY:
      g_mutex_lock (&self->lock);
      if (self->control_id == 0 || header.id != self->control_id || self->control_done || n_fds != 0)
        *bad = "sent a reply to no request";
      else
        {
          self->control_done = TRUE;
          self->control_code = header.code;
          self->control_slot = header.slot;
          self->control_payload = g_bytes_new (payload, header.len);
          g_cond_broadcast (&self->cond);
        }
      g_mutex_unlock (&self->lock);
      break;

    case RB_WIRE_LOG:
      {
        const guint8 *nul = memchr (payload, '\0', header.len);

        if (nul == NULL || header.code > G_MAXUINT8 || n_fds != 0)
          *bad = "sent a malformed log message";
        else if (self->log_func != NULL)
          self->log_func (self->user_data, (guint8) header.code, (const char *) payload,
                          (const char *) nul + 1, header.len - (gsize) (nul + 1 - payload));
      }
      break;

    case RB_WIRE_BIG_REPLY:
      {
        guint64 len;
        GBytes *bytes = NULL;
        RbCall *call;

        if (header.slot >= RB_SHM_SLOTS || header.len != sizeof len || n_fds != 1)
          {
            *bad = "sent a malformed reply";
            break;
          }
        memcpy (&len, payload, sizeof len);
        bytes = rb_map_sealed (fds[0], len);
        g_mutex_lock (&self->lock);
        call = &self->calls[header.slot];
        if (bytes == NULL)
          *bad = "sent a reply that is not a sealed memory file";
        else if (!call->busy || call->id != header.id || call->big_reply != NULL ||
                 atomic_load (&rb_shm_slot (self->shm, header.slot)->state) != RB_SLOT_REQUEST)
          *bad = "sent a reply to no request";
        else
          {
            RbShmSlot *slot = rb_shm_slot (self->shm, header.slot);

            call->big_reply = g_steal_pointer (&bytes);
            call->big_code = header.code;
            atomic_store (&slot->state, RB_SLOT_REPLY_BIG);
            rb_futex_wake (&slot->state, 1);
            if (call->async)
              rb_isolated_wake_completer (self);
          }
        g_mutex_unlock (&self->lock);
        g_clear_pointer (&bytes, g_bytes_unref);
      }
      break;

    default:
      *bad = "sent a frame of an unknown kind";
      break;
    }

out:
  for (int i = 0; i < n_fds; i++)
    close (fds[i]);
  return TRUE;
}

static GError *
rb_isolated_death_error (RbIsolated *self,
                         int         status)
{
  if (self->expect_exit)
    return g_error_new (RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INVALID_STATE,
                        "Plugin “%s” has been shut down", self->path);
  if (self->kill_reason != NULL)
    return g_error_new (RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                        "Plugin “%s” crashed: its helper process was killed %s",
                        self->path, self->kill_reason);
  if (WIFSIGNALED (status))
    return g_error_new (RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                        "Plugin “%s” crashed: its helper process was killed by signal %d (%s)",
                        self->path, WTERMSIG (status), g_strsignal (WTERMSIG (status)));
  if (WIFEXITED (status))
    return g_error_new (RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                        "Plugin “%s” crashed: its helper process exited with status %d",
                        self->path, WEXITSTATUS (status));
  return g_error_new (RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                      "Plugin “%s” crashed: its helper process is gone", self->path);
}

static gpointer
rb_isolated_watcher_main (gpointer data)
{
  RbIsolated *self = data;
  g_autofree guint8 *payload = g_malloc (RB_WIRE_MAX_PAYLOAD);
  const char *bad = NULL;
  GError *error;
  int status = 0;

  while (bad == NULL)
    {
      struct pollfd pfd[2] = { { self->sock, POLLIN, 0 }, { self->pidfd, POLLIN, 0 } };
      int n = poll (pfd, self->pidfd >= 0 ? 2 : 1, -1);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          break;
        }
      if (pfd[0].revents & POLLIN)
        {
          if (!rb_isolated_read_frame (self, payload, 0, &bad))
            break;
          continue;
        }
      if (pfd[0].revents & (POLLHUP | POLLERR | POLLNVAL))
        break;
      if (pfd[1].revents != 0)
        {
          /* Gone, but something else (a child of the plugin) may hold
           * the socket: read what is there, then stop. */
          while (bad == NULL && rb_isolated_read_frame (self, payload, MSG_DONTWAIT, &bad))
            ;
          break;
        }
    }

  g_mutex_lock (&self->lock);
  if (bad != NULL)
    {
      g_autofree char *reason = g_strdup_printf ("because it %s", bad);
      rb_isolated_kill_locked (self, reason);
    }
  else
    rb_isolated_kill_locked (self, NULL);
  g_mutex_unlock (&self->lock);

  while (waitpid (self->pid, &status, 0) < 0 && errno == EINTR)
    ;

  g_mutex_lock (&self->lock);
  self->death = rb_isolated_death_error (self, status);
  g_atomic_int_set (&self->dead, 1);
  for (guint i = 0; i < RB_SHM_SLOTS; i++)
    if (self->calls[i].busy)
      {
        RbShmSlot *slot = rb_shm_slot (self->shm, i);
        guint32 expected = RB_SLOT_REQUEST;

        atomic_compare_exchange_strong (&slot->state, &expected, RB_SLOT_DEAD);
        rb_futex_wake (&slot->state, G_MAXINT);
      }
  g_cond_broadcast (&self->cond);
  error = self->expect_exit || !self->initialised ? NULL : g_error_copy (self->death);
  g_mutex_unlock (&self->lock);

  rb_isolated_wake_completer (self);
  if (error != NULL && self->died_func != NULL)
    self->died_func (self->user_data, error);
  g_clear_error (&error);
  return NULL;
}

/* ---- control requests --------------------------------------------------- */

static gboolean
rb_isolated_control (RbIsolated   *self,
                     guint16       kind,
                     guint32       code,
                     const void   *payload,
                     gsize         len,
                     int           fd,
                     guint         timeout_ms,
                     guint32      *out_code,
                     guint32      *out_slot,
                     GBytes      **out_payload,
                     GError      **error)
{
  gint64 deadline = timeout_ms > 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;
  gboolean ok = FALSE;
  guint64 id;

  g_mutex_lock (&self->control_lock);
  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->dead))
    {
      rb_isolated_set_death (self, error);
      goto out;
    }
  id = ++self->next_id;
  self->control_id = id;
  self->control_done = FALSE;
  g_mutex_unlock (&self->lock);

  rb_isolated_send (self, kind, 0, code, id, payload, len, fd);

  g_mutex_lock (&self->lock);
  while (!self->control_done && !g_atomic_int_get (&self->dead))
    {
      if (deadline == 0)
        g_cond_wait (&self->cond, &self->lock);
      else if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
        break;
    }
  if (self->control_done)
    {
      ok = TRUE;
      if (out_code)
        *out_code = self->control_code;
      if (out_slot)
        *out_slot = self->control_slot;
      if (out_payload)
        *out_payload = g_steal_pointer (&self->control_payload);
    }
  else if (g_atomic_int_get (&self->dead))
    rb_isolated_set_death (self, error);
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                 "Plugin “%s” did not answer within %u ms", self->path, timeout_ms);
  g_clear_pointer (&self->control_payload, g_bytes_unref);
  self->control_id = 0;
  self->control_done = FALSE;

out:
  g_mutex_unlock (&self->lock);
  g_mutex_unlock (&self->control_lock);
  return ok;
}

/* ---- calls ---------------------------------------------------------------- */

static void
rb_call_clear (RbCall *call)
{
  g_clear_pointer (&call->tag, g_free);
  g_clear_pointer (&call->big_reply, g_bytes_unref);
  call->busy = FALSE;
  call->async = FALSE;
  call->func = NULL;
  call->user_data = NULL;
}

static void rb_isolated_submit_queued (RbIsolated *self);

/* Gives the slot back. Lock not held. */
static void
rb_isolated_release (RbIsolated *self,
                     guint32     index)
{
  RbShmSlot *slot = rb_shm_slot (self->shm, index);

  g_mutex_lock (&self->lock);
  rb_call_clear (&self->calls[index]);
  atomic_store (&slot->state, RB_SLOT_FREE);
  self->free_slots[self->n_free++] = index;
  self->n_busy--;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  rb_isolated_submit_queued (self);
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
  RbCall *call = &self->calls[index];
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
      big_fd = rb_sealed_memfd ("rb-isolated-request", data, len);
      if (big_fd < 0)
        {
          int saved_errno = errno;
          g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_INTERNAL,
                       "Could not pass a request of %" G_GSIZE_FORMAT " bytes to plugin “%s”: %s",
                       len, self->path, g_strerror (saved_errno));
          return FALSE;
        }
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
  atomic_store (&slot->waiting, 0);
  atomic_store (&slot->state, RB_SLOT_REQUEST);

  if (big_fd >= 0)
    {
      rb_isolated_send (self, RB_WIRE_BIG_REQUEST, index, 0, call->id, NULL, 0, big_fd);
      close (big_fd);
    }

  g_mutex_lock (&self->lock);
  head = atomic_load_explicit (&self->shm->req_head, memory_order_relaxed);
  self->shm->ring[head & (RB_SHM_SLOTS - 1)] = index;
  atomic_store_explicit (&self->shm->req_head, head + 1, memory_order_release);
  g_mutex_unlock (&self->lock);

  atomic_fetch_add (&self->shm->req_seq, 1);
  if (atomic_load (&self->shm->helper_spinners) == 0 && atomic_load (&self->shm->helper_sleepers) != 0)
    rb_futex_wake (&self->shm->req_seq, 1);

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
      g_cond_wait (&self->cond, &self->lock);
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
  RbCall *call = &self->calls[index];

  call->busy = TRUE;
  call->async = func != NULL;
  call->kind = kind;
  call->id = ++self->next_id;
  call->deadline_ns = self->call_timeout_ms > 0
                        ? rb_wire_now_ns () + (gint64) self->call_timeout_ms * 1000000
                        : 0;
  call->func = func;
  call->user_data = user_data;
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
  RbCall *call = &self->calls[index];
  g_autoptr(GBytes) reply = NULL;
  guint32 code = 0;
  const guint8 *data;
  gsize len;

  if (state == RB_SLOT_REPLY)
    {
      guint64 reply_id = slot->reply_id;
      guint32 reply_len = slot->reply_len;

      code = slot->reply_code;
      if (reply_id != call->id)
        {
          rb_isolated_hostile (self, "answered another call", error);
          goto out;
        }
      if (reply_len > RB_SLOT_CAPACITY)
        {
          rb_isolated_hostile (self, "sent a reply longer than its slot", error);
          goto out;
        }
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
  state = rb_wire_wait (&slot->state, RB_SLOT_REQUEST, &slot->waiting, self->spin_ns, deadline);
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
  char *payload = NULL;

  rb_isolated_call_sync (self, RB_SLOT_JSON, type_tag, 0, request, request_len, &payload, NULL, error);
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
  GBytes *bytes = NULL;

  if (!rb_isolated_check_raw (self, error))
    return NULL;
  rb_isolated_call_sync (self, RB_SLOT_RAW, NULL, message_id, data, size, NULL, &bytes, error);
  return bytes;
}

/* ---- async calls ---------------------------------------------------------- */

static gpointer rb_isolated_completer_main (gpointer data);

static void
rb_queued_free (RbQueued *queued)
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
      RbQueued *queued;
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
        queued->func (queued->user_data, NULL, NULL, error);
      rb_queued_free (queued);
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
  RbQueued *queued = g_new0 (RbQueued, 1);
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
      func (user_data, NULL, NULL, error);
      rb_queued_free (queued);
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
          RbCall *call = &self->calls[i];
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
          RbCall *call = &self->calls[ready[i]];
          RbIsolatedDoneFunc func = call->func;
          gpointer user_data = call->user_data;
          char *payload = NULL;
          GBytes *bytes = NULL;
          GError *error = NULL;

          rb_isolated_finish (self, ready[i], states[i], &payload, &bytes, &error);
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
          RbCall *call = &self->calls[late[i]];
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
          RbQueued *queued = g_queue_pop_head (&failed);
          GError *error = NULL;

          g_mutex_lock (&self->lock);
          rb_isolated_set_death (self, &error);
          g_mutex_unlock (&self->lock);
          queued->func (queued->user_data, NULL, NULL, error);
          rb_queued_free (queued);
        }

      if (stop)
        break;
      if (n_ready > 0 || n_late > 0)
        continue;
      rb_wire_wait (&self->shm->done_seq, seq, &self->shm->app_sleeping, self->spin_ns, earliest);
    }
  return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

static char *
rb_isolated_helper_path (const RbIsolatedOptions *options)
{
  const char *env;

  if (options != NULL && options->helper_path != NULL)
    return g_strdup (options->helper_path);
  /* For the build tree's tests only (documented in tests/isolation). */
  env = g_getenv ("RUSTBRIDGE_HOST_PATH");
  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (RB_LIBEXECDIR, RB_HOST_NAME, NULL);
}

RbIsolated *
rb_isolated_new (const char               *plugin_path,
                 const char               *config_json,
                 gsize                     config_len,
                 const RbIsolatedOptions  *options,
                 GError                  **error)
{
  g_autoptr(RbIsolated) self = NULL;
  g_autofree char *helper = NULL;
  g_autofree char *pid_text = NULL;
  g_autofree char *canonical = NULL;
  g_auto(GStrv) envp = NULL;
  g_autoptr(GByteArray) init = NULL;
  g_autoptr(GBytes) reply = NULL;
  RbSpawnJob job = { 0 };
  RbWireInit header = { 0 };
  const char *spin_env;
  char *argv[3];
  int sv[2];
  int shm_fd;
  guint32 code = 0, slot = 0;
  gint spin_us;

  g_return_val_if_fail (plugin_path != NULL, NULL);

  canonical = realpath (plugin_path, NULL);
  if (canonical == NULL)
    {
      int saved_errno = errno;
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not load plugin “%s”: %s", plugin_path, g_strerror (saved_errno));
      return NULL;
    }
  if (strlen (canonical) + config_len + sizeof header + 1 > RB_WIRE_MAX_PAYLOAD)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CONFIG,
                   "Configuration of plugin “%s” is too large for an isolated plugin (%" G_GSIZE_FORMAT " bytes)",
                   plugin_path, config_len);
      return NULL;
    }

  self = g_new0 (RbIsolated, 1);
  self->path = g_strdup (plugin_path);
  self->sock = -1;
  self->pidfd = -1;
  self->pid = -1;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_mutex_init (&self->control_lock);
  g_queue_init (&self->queued);
  for (guint i = 0; i < RB_SHM_SLOTS; i++)
    self->free_slots[i] = RB_SHM_SLOTS - 1 - i;
  self->n_free = RB_SHM_SLOTS;
  if (options != NULL)
    {
      self->call_timeout_ms = options->call_timeout_ms;
      self->log_func = options->log_func;
      self->died_func = options->died_func;
      self->user_data = options->user_data;
    }
  spin_us = options != NULL ? options->spin_us : -1;
  spin_env = g_getenv ("RB_ISOLATED_SPIN_US");
  if (spin_us < 0)
    spin_us = spin_env != NULL ? (gint) CLAMP (g_ascii_strtoll (spin_env, NULL, 10), 0, 10000) : RB_WIRE_DEFAULT_SPIN_US;
  self->spin_ns = (guint32) spin_us * 1000;

  /* The shared region: created here, sealed against resizing. */
  shm_fd = memfd_create ("rb-isolated", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (shm_fd < 0 || ftruncate (shm_fd, RB_SHM_SIZE) < 0 ||
      fcntl (shm_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0 ||
      (self->shm = mmap (NULL, RB_SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, shm_fd, 0)) == MAP_FAILED)
    {
      int saved_errno = errno;
      self->shm = NULL;
      if (shm_fd >= 0)
        close (shm_fd);
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not set up shared memory for plugin “%s”: %s", plugin_path, g_strerror (saved_errno));
      return NULL;
    }
  self->shm->magic = RB_SHM_MAGIC;
  self->shm->nslots = RB_SHM_SLOTS;
  self->shm->slot_size = RB_SHM_SLOT_SIZE;
  self->shm->header_size = RB_SHM_HEADER_SIZE;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      int saved_errno = errno;
      close (shm_fd);
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not create a socket for plugin “%s”: %s", plugin_path, g_strerror (saved_errno));
      return NULL;
    }
  self->sock = sv[0];

  helper = rb_isolated_helper_path (options);
  pid_text = g_strdup_printf ("%d", (int) getpid ());
  argv[0] = helper;
  argv[1] = pid_text;
  argv[2] = NULL;
  envp = rb_helper_environ ();
  job.helper = helper;
  job.argv = argv;
  job.envp = envp;
  job.fd = sv[1];
  job.memory_limit_mb = options != NULL ? options->memory_limit_mb : 0;
  self->pid = rb_spawn (&job, error);
  close (sv[1]);
  if (self->pid < 0)
    {
      close (shm_fd);
      return NULL;
    }
  self->pidfd = (int) syscall (SYS_pidfd_open, self->pid, 0);
  self->watcher = g_thread_new ("rb-isolated-watch", rb_isolated_watcher_main, self);

  header.version = RB_WIRE_VERSION;
  header.spin_ns = self->spin_ns;
  header.path_len = (guint32) strlen (canonical);
  init = g_byte_array_new ();
  g_byte_array_append (init, (const guint8 *) &header, sizeof header);
  g_byte_array_append (init, (const guint8 *) canonical, header.path_len + 1);
  if (config_len > 0)
    g_byte_array_append (init, (const guint8 *) config_json, config_len);

  if (!rb_isolated_control (self, RB_WIRE_INIT, 0, init->data, init->len, shm_fd, 0,
                            &code, &slot, &reply, error))
    {
      close (shm_fd);
      return NULL;
    }
  close (shm_fd);

  if (code != 0)
    {
      gsize len;
      const char *text = g_bytes_get_data (reply, &len);
      g_autofree char *message = g_utf8_make_valid (text ? text : "", (gssize) len);

      g_set_error_literal (error, RB_PLUGIN_ERROR,
                           code == RB_PLUGIN_ERROR_LOAD_FAILED ? RB_PLUGIN_ERROR_LOAD_FAILED
                                                               : RB_PLUGIN_ERROR_INIT_FAILED,
                           message);
      return NULL;
    }
  self->has_raw = slot != 0;

  /* From here on a death is reported to died_func (before, to our caller). */
  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->dead))
    {
      rb_isolated_set_death (self, error);
      g_mutex_unlock (&self->lock);
      return NULL;
    }
  self->initialised = TRUE;
  g_mutex_unlock (&self->lock);
  return g_steal_pointer (&self);
}

gboolean
rb_isolated_has_raw (RbIsolated *self)
{
  return self->has_raw;
}

gboolean
rb_isolated_is_alive (RbIsolated *self)
{
  return !g_atomic_int_get (&self->dead);
}

GPid
rb_isolated_get_pid (RbIsolated *self)
{
  return self->pid;
}

void
rb_isolated_set_log_level (RbIsolated *self,
                           guint8      level)
{
  /* Answered, so that the calls that follow see the new level (they
   * travel through the shared region, not the socket). */
  rb_isolated_control (self, RB_WIRE_SET_LOG_LEVEL, level, NULL, 0, -1, 0, NULL, NULL, NULL, NULL);
}

guint8
rb_isolated_get_state (RbIsolated *self)
{
  guint32 code = RB_ISOLATED_STATE_GONE;

  if (!rb_isolated_control (self, RB_WIRE_GET_STATE, 0, NULL, 0, -1, 0, &code, NULL, NULL, NULL))
    return RB_ISOLATED_STATE_GONE;
  return code > G_MAXUINT8 ? RB_ISOLATED_STATE_GONE : (guint8) code;
}

guint64
rb_isolated_get_rejected_count (RbIsolated *self)
{
  g_autoptr(GBytes) payload = NULL;
  guint64 count = 0;

  if (rb_isolated_control (self, RB_WIRE_GET_REJECTED, 0, NULL, 0, -1, 0, NULL, NULL, &payload, NULL) &&
      g_bytes_get_size (payload) == sizeof count)
    memcpy (&count, g_bytes_get_data (payload, NULL), sizeof count);
  return count;
}

gboolean
rb_isolated_shutdown (RbIsolated  *self,
                      guint        timeout_ms,
                      GError     **error)
{
  gint64 deadline = timeout_ms > 0 ? g_get_monotonic_time () + (gint64) timeout_ms * 1000 : 0;
  gboolean timed_out = FALSE;
  guint32 code = 0;
  g_autoptr(GError) local_error = NULL;

  g_mutex_lock (&self->lock);
  if (g_atomic_int_get (&self->dead))
    {
      rb_isolated_set_death (self, error);
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  self->closing = TRUE;
  while (!g_atomic_int_get (&self->dead) && (self->n_busy > 0 || !g_queue_is_empty (&self->queued)))
    {
      if (deadline == 0)
        g_cond_wait (&self->cond, &self->lock);
      else if (!g_cond_wait_until (&self->cond, &self->lock, deadline))
        {
          timed_out = TRUE;
          break;
        }
    }
  self->expect_exit = TRUE;
  g_mutex_unlock (&self->lock);

  if (!timed_out)
    {
      gint64 left = deadline > 0 ? (deadline - g_get_monotonic_time ()) / 1000 : 0;

      if (deadline > 0 && left <= 0)
        timed_out = TRUE;
      else if (!rb_isolated_control (self, RB_WIRE_SHUTDOWN, 0, NULL, 0, -1, (guint) left,
                                     &code, NULL, NULL, &local_error))
        timed_out = g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
    }

  if (timed_out)
    {
      rb_isolated_kill (self, "after the shutdown timeout");
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED,
                   "Plugin “%s” did not shut down within %u ms; its helper process was killed",
                   self->path, timeout_ms);
      return FALSE;
    }
  if (local_error != NULL)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED,
                   "Plugin “%s” failed to shut down: %s", self->path, local_error->message);
      return FALSE;
    }
  if (code != 1)
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_SHUTDOWN_FAILED,
                   "Plugin “%s” failed to shut down (plugin_shutdown returned false)", self->path);
      return FALSE;
    }
  return TRUE;
}

void
rb_isolated_free (RbIsolated *self)
{
  if (self == NULL)
    return;

  if (self->watcher != NULL)
    {
      g_mutex_lock (&self->lock);
      if (!g_atomic_int_get (&self->dead))
        {
          self->expect_exit = TRUE;
          rb_isolated_kill_locked (self, NULL);
        }
      g_mutex_unlock (&self->lock);
      g_thread_join (self->watcher);
    }
  else if (self->pid > 0)
    {
      kill (self->pid, SIGKILL);
      while (waitpid (self->pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }

  if (self->completer != NULL)
    {
      g_mutex_lock (&self->lock);
      self->stopping = TRUE;
      g_mutex_unlock (&self->lock);
      rb_isolated_wake_completer (self);
      g_thread_join (self->completer);
    }

  for (guint i = 0; i < RB_SHM_SLOTS; i++)
    rb_call_clear (&self->calls[i]);
  g_queue_clear_full (&self->queued, (GDestroyNotify) rb_queued_free);
  g_clear_error (&self->death);
  g_clear_pointer (&self->kill_reason, g_free);
  g_clear_pointer (&self->control_payload, g_bytes_unref);
  if (self->shm != NULL)
    munmap (self->shm, RB_SHM_SIZE);
  if (self->sock >= 0)
    close (self->sock);
  if (self->pidfd >= 0)
    close (self->pidfd);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->control_lock);
  g_free (self->path);
  g_free (self);
}
