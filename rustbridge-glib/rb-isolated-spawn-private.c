/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gio.h>

#include "rb-error.h"
#include "rb-isolated-spawn-private.h"
#include "rb-isolated-wire-private.h"
#include "rb-sandbox-private.h"

#define RB_HOST_NAME "rustbridge-glib-host-1.0"

/* ---- spawning ----------------------------------------------------------- */

/* The helper's PR_SET_PDEATHSIG follows the thread that forked it, so
 * every helper is forked by one thread that lives as long as the process. */
static GMutex spawn_lock;
static GCond spawn_cond;
static GAsyncQueue *spawn_queue;

static void
rb_spawn_child (RbSpawnJob *job,
                pid_t       parent)
{
  int fds[2] = { job->fd, job->seccomp_fd };
  sigset_t empty;
  int null_fd;

  /* Async-signal-safe calls only from here on. */
  if (rb_sandbox_child_setup_fds (fds, job->seccomp_fd >= 0 ? 2 : 1) < 0)
    _exit (127);
  null_fd = open ("/dev/null", O_RDONLY);
  if (null_fd < 0 || (null_fd != STDIN_FILENO && dup2 (null_fd, STDIN_FILENO) < 0))
    _exit (127);
  if (null_fd != STDIN_FILENO)
    close (null_fd);
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid () != parent)
    _exit (127);
  if (rb_sandbox_child_limit_memory (job->memory_limit_mb) < 0)
    _exit (127);
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

pid_t
rb_isolated_spawn (RbSpawnJob  *job,
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
char **
rb_isolated_helper_environ (void)
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

char *
rb_isolated_helper_path (const char *explicit_path)
{
  const char *env;

  if (explicit_path != NULL)
    return g_strdup (explicit_path);
  /* For the build tree's tests only (documented in tests/isolation). */
  env = g_getenv ("RUSTBRIDGE_HOST_PATH");
  if (env != NULL && *env != '\0')
    return g_strdup (env);
  return g_build_filename (RB_LIBEXECDIR, RB_HOST_NAME, NULL);
}
