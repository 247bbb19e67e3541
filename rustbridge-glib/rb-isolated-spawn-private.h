/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include <glib.h>

G_BEGIN_DECLS

/*
 * Starting an isolated plugin's helper process (rb-isolated-private.h).
 *
 * Contract: rb_isolated_spawn() forks on one thread that lives as long as
 * the process (PR_SET_PDEATHSIG follows the thread that forked, not the
 * process), so that the helper dies with the app whichever thread asked.
 * In the child only async-signal-safe calls run: @fd becomes fd 3 (the
 * wire socket) and @seccomp_fd, when not -1, fd 4 (RB_SANDBOX_SECCOMP_FD:
 * the filter that bwrap reads), every other fd from 3 up is closed, stdin
 * becomes /dev/null, the child gets PR_SET_PDEATHSIG (SIGKILL), RLIMIT_AS
 * is set when @memory_limit_mb is not 0, the signal mask is emptied, and
 * @helper (the helper itself, or bwrap) is executed with @argv and @envp
 * (built by the caller before, nothing is allocated after the fork). The
 * caller reaps the child and closes its copies of @fd and @seccomp_fd.
 */

typedef struct {
  const char  *helper;            /* what execve() runs: argv[0]'s absolute path */
  char       **argv;
  char       **envp;
  int          fd;
  int          seccomp_fd;        /* -1: none (not sandboxed) */
  guint        memory_limit_mb;
  pid_t        pid;
  int          saved_errno;
  gboolean     done;
} RbSpawnJob;

/* The helper's pid, or -1 with @error set (LOAD_FAILED). Blocks until
 * the spawner thread has forked. */
pid_t  rb_isolated_spawn            (RbSpawnJob  *job,
                                     GError     **error);

/* A clean environment for the helper (locale and time zone only). */
char **rb_isolated_helper_environ   (void);

/* @explicit_path, else $RUSTBRIDGE_HOST_PATH (the build tree's tests),
 * else libexecdir's rustbridge-glib-host-1.0. */
char  *rb_isolated_helper_path      (const char  *explicit_path);

G_END_DECLS
