/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/*
 * RbSandbox: what RB_ISOLATION_SANDBOX adds to RB_ISOLATION_PROCESS. The
 * helper process is started through bubblewrap (bwrap) instead of
 * directly, with a seccomp filter that bwrap installs right before it
 * executes the helper. doc/isolation.md lists what a sandboxed plugin can
 * and cannot do.
 *
 * How the spawner uses it (rb-isolated-private.c, rb-isolated-spawn-private.c):
 *
 *   In the app, before forking:
 *     bwrap = rb_sandbox_find_bwrap ();          NULL: fail, NOT_SUPPORTED
 *     rb_sandbox_check (bwrap, &error)           cached; NOT_SUPPORTED when
 *                                                bwrap cannot create its
 *                                                namespaces here
 *     seccomp_fd = rb_sandbox_seccomp_fd (&error)   one per spawn (bwrap
 *                                                reads it from its offset)
 *     argv = rb_sandbox_build_argv (&args, helper_argv, &error)
 *                                                with args.seccomp_fd =
 *                                                RB_SANDBOX_SECCOMP_FD
 *   In the forked child (async-signal-safe calls only):
 *     int fds[] = { socket_fd, seccomp_fd };
 *     rb_sandbox_child_setup_fds (fds, 2)        socket at 3, filter at 4,
 *                                                every other fd >= 3 closed
 *     rb_sandbox_child_limit_memory (limit_mb)   RLIMIT_AS
 *     execve (bwrap, argv, envp)                 envp as for the helper
 *   In the app, after the fork: close (seccomp_fd).
 *
 * The helper then runs as the last element of a pid namespace whose
 * init is bwrap: the app's child is the outer bwrap process, so the
 * helper's getppid() is not the app, and a helper killed by signal N is
 * reported by bwrap as exit status 128 + N.
 */

/* Where the spawner places the filter's fd in the bwrap process (the
 * helper's socket is at fd 3, RB_WIRE_FD). */
#define RB_SANDBOX_SECCOMP_FD 4

typedef struct {
  const char          *bwrap;           /* from rb_sandbox_find_bwrap() */
  const char          *helper_path;     /* bound read-only at its own path */
  const char          *plugin_path;     /* NULL for a library passed as an fd;
                                         * otherwise bound read-only */
  const char * const  *extra_ro_paths;  /* NULL-terminated, or NULL: more
                                         * files or directories bound
                                         * read-only (those missing are
                                         * skipped) */
  const char * const  *envp;            /* NULL-terminated "NAME=VALUE"
                                         * list: the helper's whole
                                         * environment (NULL: empty) */
  int                  seccomp_fd;      /* the filter's fd number in the
                                         * bwrap process, or -1: none */
} RbSandboxArgs;

char      *rb_sandbox_find_bwrap            (void);

gboolean   rb_sandbox_check                 (const char           *bwrap,
                                             GError              **error);

gboolean   rb_sandbox_has_seccomp           (void);

int        rb_sandbox_seccomp_fd            (GError              **error);

char     **rb_sandbox_build_argv            (const RbSandboxArgs  *args,
                                             const char * const   *helper_argv,
                                             GError              **error);

/* Async-signal-safe: for the forked child, before execve(). */
int        rb_sandbox_child_setup_fds       (const int            *fds,
                                             int                   n_fds);

int        rb_sandbox_child_limit_memory    (guint                 memory_limit_mb);

G_END_DECLS
