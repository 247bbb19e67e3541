/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gio.h>

#include "rb-error.h"
#include "rb-isolated-impl-private.h"
#include "rb-isolated-spawn-private.h"
#include "rb-sandbox-private.h"

/*
 * RbIsolated's life cycle (rb-isolated-impl-private.h): the start (spawn,
 * the shared region, INIT), the watcher thread that reads the helper's
 * frames and reports its death, control requests, shutdown and free. The
 * calls are in rb-isolated-call-private.c.
 */

/* ---- the helper's command line --------------------------------------------- */

/*
 * What the spawner executes: the helper with the app's pid (which it
 * checks against its parent), or, sandboxed, bwrap running the helper
 * with "1" (inside bwrap's pid namespace its parent is bwrap's init, pid
 * 1), the plugin file bound read-only (@plugin_path, or NULL when the
 * library comes as an fd), and the seccomp filter at
 * RB_SANDBOX_SECCOMP_FD. *@seccomp_fd is set to the filter's fd (a new
 * one each time: bwrap reads it from its offset) or -1.
 */
static char **
rb_isolated_build_argv (const char   *bwrap,
                        const char   *helper,
                        const char   *plugin_path,
                        char        **envp,
                        int          *seccomp_fd,
                        GError      **error)
{
  const char *helper_argv[] = { helper, "1", NULL };
  RbSandboxArgs args = { 0 };
  char **argv;

  *seccomp_fd = -1;
  if (bwrap == NULL)
    {
      argv = g_new0 (char *, 3);
      argv[0] = g_strdup (helper);
      argv[1] = g_strdup_printf ("%d", (int) getpid ());
      return argv;
    }

  *seccomp_fd = rb_sandbox_seccomp_fd (error);
  if (*seccomp_fd < 0)
    return NULL;
  args.bwrap = bwrap;
  args.helper_path = helper;
  args.plugin_path = plugin_path;
  args.envp = (const char * const *) envp;
  args.seccomp_fd = RB_SANDBOX_SECCOMP_FD;
  argv = rb_sandbox_build_argv (&args, helper_argv, error);
  if (argv == NULL)
    {
      close (*seccomp_fd);
      *seccomp_fd = -1;
    }
  return argv;
}

/* ---- the watcher ---------------------------------------------------------- */

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
        RbIsolatedCall *call;

        if (header.slot >= RB_SHM_SLOTS || header.len != sizeof len || n_fds != 1)
          {
            *bad = "sent a malformed reply";
            break;
          }
        memcpy (&len, payload, sizeof len);
        bytes = rb_wire_map_sealed (fds[0], len);
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

    case RB_WIRE_REGION_ACK:
      /* Only wakes the watcher (its poll() then ages the regions). */
      if (header.len != 0 || n_fds != 0)
        *bad = "sent a malformed frame";
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
  /* Sandboxed, our child is bwrap: it exits with 128 + N when the
   * helper was killed by signal N. */
  if (self->sandboxed && WIFEXITED (status) && WEXITSTATUS (status) > 128 &&
      WEXITSTATUS (status) < 128 + NSIG)
    {
      int sig = WEXITSTATUS (status) - 128;
      return g_error_new (RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED,
                          "Plugin “%s” crashed: its helper process was killed by signal %d (%s)",
                          self->path, sig, g_strsignal (sig));
    }
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

#define RB_ISOLATED_SANDBOX_EXIT_MS 1000

/* Waits up to @timeout_ms for our child to exit (without reaping it). */
static void
rb_isolated_wait_exit (RbIsolated *self,
                       guint       timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (self->pidfd >= 0)
    {
      struct pollfd pfd = { self->pidfd, POLLIN, 0 };
      gint64 left;

      while ((left = end - g_get_monotonic_time ()) > 0 &&
             poll (&pfd, 1, (int) ((left + 999) / 1000)) < 0 && errno == EINTR)
        ;
      return;
    }
  while (g_get_monotonic_time () < end)
    {
      siginfo_t info = { 0 };

      if (waitid (P_PID, (id_t) self->pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0 || info.si_pid != 0)
        return;
      g_usleep (1000);
    }
}

static void rb_isolated_report_death (RbIsolated *self);

static gpointer
rb_isolated_watcher_main (gpointer data)
{
  RbIsolated *self = data;
  g_autofree guint8 *payload = g_malloc (RB_WIRE_MAX_PAYLOAD);
  const char *bad = NULL;
  int status = 0;

  while (bad == NULL)
    {
      struct pollfd pfd[2] = { { self->sock, POLLIN, 0 }, { self->pidfd, POLLIN, 0 } };
      int n = poll (pfd, self->pidfd >= 0 ? 2 : 1, rb_isolated_region_trim (self));

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

  /* Sandboxed, the socket's end comes before bwrap has reported how the
   * helper ended (an exit status of 128 + N for a signal): give it a
   * moment, so that the kill below does not replace that status. */
  if (bad == NULL && self->sandboxed)
    rb_isolated_wait_exit (self, RB_ISOLATED_SANDBOX_EXIT_MS);

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
  g_mutex_unlock (&self->lock);

  rb_isolated_wake_completer (self);
  rb_isolated_report_death (self);
  return NULL;
}

/* How long a call that failed with CRASHED waits for the watcher to reap
 * the helper (it was killed, or is gone) before it leaves the report to
 * the watcher. */
#define RB_ISOLATED_DEATH_WAIT_MS 5000

/*
 * Runs died_func once per helper, on the first thread that gets here
 * after the watcher reaped it: the watcher, or a call that failed with
 * CRASHED (rb_isolated_settle()), so that the plugin is FAILED before
 * that call returns. Waits for the reaping (bounded): a call may fail
 * when it killed the helper, before the watcher saw it go. A thread that
 * comes second waits until the first one's died_func has returned (the
 * plugin's state changes inside it).
 */
static void
rb_isolated_report_death (RbIsolated *self)
{
  gint64 end = g_get_monotonic_time () + RB_ISOLATED_DEATH_WAIT_MS * G_TIME_SPAN_MILLISECOND;
  gboolean mine = FALSE;
  GError *error = NULL;

  g_mutex_lock (&self->lock);
  while (!g_atomic_int_get (&self->dead))
    if (!rb_isolated_wait_locked (self, end))
      break;
  if (g_atomic_int_get (&self->dead) && self->death_report == 0)
    {
      mine = TRUE;
      self->death_report = 1;
      if (!self->expect_exit && self->initialised)
        error = g_error_copy (self->death);
    }
  else
    while (self->death_report == 1)
      if (!rb_isolated_wait_locked (self, end))
        break;
  g_mutex_unlock (&self->lock);

  if (!mine)
    return;
  if (error != NULL && self->died_func != NULL)
    self->died_func (self->user_data, error);
  g_clear_error (&error);
  g_mutex_lock (&self->lock);
  self->death_report = 2;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

void
rb_isolated_settle (RbIsolated   *self,
                    const GError *error)
{
  if (g_error_matches (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_CRASHED))
    rb_isolated_report_death (self);
}

/* ---- control requests --------------------------------------------------- */

static gboolean
rb_isolated_control (RbIsolated   *self,
                     guint16       kind,
                     guint32       code,
                     const void   *payload,
                     gsize         len,
                     const int    *fds,
                     guint         n_fds,
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

  rb_wire_send_fds (self->sock, kind, 0, code, id, payload, len, fds, n_fds);

  g_mutex_lock (&self->lock);
  while (!self->control_done && !g_atomic_int_get (&self->dead))
    {
      if (!rb_isolated_wait_locked (self, deadline))
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

/* ---- life cycle ------------------------------------------------------------ */

/* @plugin_path names the plugin in messages; the helper loads it from
 * there, or from @library_fd when that is not -1. */
static RbIsolated *
rb_isolated_start (const char               *plugin_path,
                   int                       library_fd,
                   const char               *config_json,
                   gsize                     config_len,
                   const RbIsolatedOptions  *options,
                   GError                  **error)
{
  g_autoptr(RbIsolated) self = NULL;
  g_autofree char *helper = NULL;
  /* On the stack, not the heap: the helper is forked by another thread,
   * and a forked child that fails to exec must not find a block that
   * only this thread's stack points to (valgrind's leak check in that
   * child turns its exit status 127 into 1). */
  char canonical_buf[PATH_MAX];
  const char *canonical = NULL;
  g_auto(GStrv) envp = NULL;
  g_autoptr(GByteArray) init = NULL;
  g_autoptr(GBytes) reply = NULL;
  RbSpawnJob job = { 0 };
  RbWireInit header = { 0 };
  const char *spin_env;
  g_auto(GStrv) argv = NULL;
  int seccomp_fd = -1;
  int sv[2];
  int shm_fd;
  int init_fds[2];
  guint32 code = 0, slot = 0;
  gint spin_us;

  g_return_val_if_fail (plugin_path != NULL, NULL);

  if (library_fd < 0 && (canonical = realpath (plugin_path, canonical_buf)) == NULL)
    {
      int saved_errno = errno;
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not load plugin “%s”: %s", plugin_path, g_strerror (saved_errno));
      return NULL;
    }
  if ((canonical != NULL ? strlen (canonical) : 0) + config_len + sizeof header + 1 > RB_WIRE_MAX_PAYLOAD)
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
  g_mutex_init (&self->region_lock);
  g_queue_init (&self->queued);
  for (guint i = 0; i < RB_SHM_SLOTS; i++)
    {
      self->free_slots[i] = RB_SHM_SLOTS - 1 - i;
      self->calls[i].region = -1;
    }
  self->n_free = RB_SHM_SLOTS;
  if (options != NULL)
    {
      self->call_timeout_ms = options->call_timeout_ms;
      self->log_func = options->log_func;
      self->died_func = options->died_func;
      self->user_data = options->user_data;
    }
  /* The helper maps every region: under a memory limit (its address
   * space) they may take an eighth of it. */
  self->region_budget = RB_REGION_MAX_TOTAL;
  if (options != NULL && options->memory_limit_mb > 0)
    self->region_budget = MIN (self->region_budget, (gsize) options->memory_limit_mb * 1024 * 1024 / 8);
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
  /* Sync waiters spin (up to one per CPU) while a helper worker serves,
   * spins or was woken; so does the completer (RbWireSpin in
   * rb-isolated-wire-private.h). */
  rb_wire_spin_init (&self->call_spin, self->spin_ns, &self->call_spinners, 0,
                     &self->shm->helper_busy, &self->shm->helper_spinners, &self->shm->helper_waking);
  rb_wire_spin_init (&self->done_spin, self->spin_ns, NULL, 0,
                     &self->shm->helper_busy, &self->shm->helper_spinners, &self->shm->helper_waking);

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    {
      int saved_errno = errno;
      close (shm_fd);
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not create a socket for plugin “%s”: %s", plugin_path, g_strerror (saved_errno));
      return NULL;
    }
  self->sock = sv[0];

  helper = rb_isolated_helper_path (options != NULL ? options->helper_path : NULL);
  envp = rb_isolated_helper_environ ();
  argv = rb_isolated_build_argv (options != NULL ? options->sandbox_bwrap : NULL, helper, canonical,
                                 envp, &seccomp_fd, error);
  if (argv == NULL)
    {
      close (shm_fd);
      close (sv[1]);
      return NULL;
    }
  self->sandboxed = seccomp_fd >= 0;
  job.helper = argv[0];
  job.argv = argv;
  job.envp = envp;
  job.fd = sv[1];
  job.seccomp_fd = seccomp_fd;
  job.memory_limit_mb = options != NULL ? options->memory_limit_mb : 0;
  self->pid = rb_isolated_spawn (&job, error);
  close (sv[1]);
  if (seccomp_fd >= 0)
    close (seccomp_fd);
  if (self->pid < 0)
    {
      close (shm_fd);
      return NULL;
    }
  self->pidfd = (int) syscall (SYS_pidfd_open, self->pid, 0);
  self->watcher = g_thread_new ("rb-isolated-watch", rb_isolated_watcher_main, self);

  header.version = RB_WIRE_VERSION;
  header.spin_ns = self->spin_ns;
  header.path_len = canonical != NULL ? (guint32) strlen (canonical) : 0;
  init = g_byte_array_new ();
  g_byte_array_append (init, (const guint8 *) &header, sizeof header);
  g_byte_array_append (init, (const guint8 *) (canonical != NULL ? canonical : ""), header.path_len + 1);
  if (config_len > 0)
    g_byte_array_append (init, (const guint8 *) config_json, config_len);

  init_fds[0] = shm_fd;
  init_fds[1] = library_fd;
  if (!rb_isolated_control (self, RB_WIRE_INIT, 0, init->data, init->len, init_fds, library_fd >= 0 ? 2 : 1, 0,
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

RbIsolated *
rb_isolated_new (const char               *plugin_path,
                 const char               *config_json,
                 gsize                     config_len,
                 const RbIsolatedOptions  *options,
                 GError                  **error)
{
  return rb_isolated_start (plugin_path, -1, config_json, config_len, options, error);
}

RbIsolated *
rb_isolated_new_for_fd (const char               *plugin_path,
                        int                       library_fd,
                        const char               *config_json,
                        gsize                     config_len,
                        const RbIsolatedOptions  *options,
                        GError                  **error)
{
  g_return_val_if_fail (library_fd >= 0, NULL);

  return rb_isolated_start (plugin_path, library_fd, config_json, config_len, options, error);
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
  rb_isolated_control (self, RB_WIRE_SET_LOG_LEVEL, level, NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL);
}

guint8
rb_isolated_get_state (RbIsolated *self)
{
  guint32 code = RB_ISOLATED_STATE_GONE;

  if (!rb_isolated_control (self, RB_WIRE_GET_STATE, 0, NULL, 0, NULL, 0, 0, &code, NULL, NULL, NULL))
    return RB_ISOLATED_STATE_GONE;
  return code > G_MAXUINT8 ? RB_ISOLATED_STATE_GONE : (guint8) code;
}

guint64
rb_isolated_get_rejected_count (RbIsolated *self)
{
  g_autoptr(GBytes) payload = NULL;
  guint64 count = 0;

  if (rb_isolated_control (self, RB_WIRE_GET_REJECTED, 0, NULL, 0, NULL, 0, 0, NULL, NULL, &payload, NULL) &&
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
      if (!rb_isolated_wait_locked (self, deadline))
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
      else if (!rb_isolated_control (self, RB_WIRE_SHUTDOWN, 0, NULL, 0, NULL, 0, (guint) left,
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
    rb_isolated_call_clear (&self->calls[i]);
  g_queue_clear_full (&self->queued, (GDestroyNotify) rb_isolated_queued_free);
  g_clear_error (&self->death);
  g_clear_pointer (&self->kill_reason, g_free);
  g_clear_pointer (&self->control_payload, g_bytes_unref);
  rb_isolated_region_clear (self);
  if (self->shm != NULL)
    munmap (self->shm, RB_SHM_SIZE);
  if (self->sock >= 0)
    close (self->sock);
  if (self->pidfd >= 0)
    close (self->pidfd);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_mutex_clear (&self->control_lock);
  g_mutex_clear (&self->region_lock);
  g_free (self->path);
  g_free (self);
}
