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
 * wire socket), every other fd is closed, RLIMIT_AS is set when
 * @memory_limit_mb is not 0, the signal mask is emptied, and @helper is
 * executed with @argv and @envp (built by the caller before, nothing is
 * allocated after the fork). The caller reaps the child.
 */

typedef struct {
  const char  *helper;            /* what execve() runs: argv[0]'s absolute path */
  char       **argv;
  char       **envp;
  int          fd;
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
