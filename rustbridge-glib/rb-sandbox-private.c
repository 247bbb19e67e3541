/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sched.h>

#include <gio/gio.h>

#if HAVE_LIBSECCOMP
#include <seccomp.h>
#endif

#include "rb-error.h"
#include "rb-sandbox-private.h"

/* ---- finding and checking bubblewrap ------------------------------------ */

/**
 * rb_sandbox_find_bwrap:
 *
 * Finds bubblewrap: `bwrap` on `PATH`, else `/usr/bin/bwrap`. For tests
 * only, `RB_BWRAP` overrides the search: a path to use, or a path that
 * does not exist to act as if bubblewrap were not installed.
 *
 * Returns: (transfer full) (nullable): the absolute path, or %NULL
 */
char *
rb_sandbox_find_bwrap (void)
{
  const char *override = g_getenv ("RB_BWRAP");
  char *path;

  if (override != NULL)
    {
      if (g_path_is_absolute (override) && g_file_test (override, G_FILE_TEST_IS_EXECUTABLE) &&
          !g_file_test (override, G_FILE_TEST_IS_DIR))
        return g_strdup (override);
      return NULL;
    }

  path = g_find_program_in_path ("bwrap");
  if (path != NULL && g_path_is_absolute (path))
    return path;
  g_free (path);
  if (g_file_test ("/usr/bin/bwrap", G_FILE_TEST_IS_EXECUTABLE))
    return g_strdup ("/usr/bin/bwrap");
  return NULL;
}

static GMutex check_lock;
static GHashTable *check_results;   /* bwrap path -> "" (works) or the reason it does not */

/**
 * rb_sandbox_check:
 * @bwrap: the path from rb_sandbox_find_bwrap()
 * @error: return location for a #GError, or %NULL
 *
 * Whether @bwrap can set up the namespaces the sandbox uses on this
 * system (user namespaces may be disabled, or forbidden inside a
 * container). It runs `bwrap --version` inside such a sandbox once per
 * process and path; later calls answer from memory.
 *
 * Returns: %TRUE if it can, else %FALSE with %RB_PLUGIN_ERROR_NOT_SUPPORTED
 *   quoting what bubblewrap said
 */
gboolean
rb_sandbox_check (const char  *bwrap,
                  GError     **error)
{
  const char *known;
  g_autofree char *reason = NULL;

  if (bwrap == NULL)
    {
      g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
                           "Sandboxed plugins need bubblewrap (bwrap), which is not installed");
      return FALSE;
    }

  g_mutex_lock (&check_lock);
  if (check_results == NULL)
    check_results = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  known = g_hash_table_lookup (check_results, bwrap);
  if (known != NULL)
    reason = g_strdup (known);
  g_mutex_unlock (&check_lock);

  if (reason == NULL)
    {
      const char *argv[] = {
        bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
        "--", bwrap, "--version", NULL
      };
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GSubprocess) proc = NULL;
      g_autofree char *err_text = NULL;

      proc = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                &local_error);
      if (proc != NULL)
        g_subprocess_communicate_utf8 (proc, NULL, NULL, NULL, &err_text, &local_error);
      if (local_error != NULL)
        reason = g_strdup (local_error->message);
      else if (!g_subprocess_get_successful (proc))
        reason = g_strdup (err_text != NULL && *g_strstrip (err_text) != '\0' ? err_text
                                                                            : "it failed without a message");
      else
        reason = g_strdup ("");

      g_mutex_lock (&check_lock);
      g_hash_table_replace (check_results, g_strdup (bwrap), g_strdup (reason));
      g_mutex_unlock (&check_lock);
    }

  if (*reason != '\0')
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
                   "Bubblewrap (“%s”) cannot set up a sandbox on this system: %s", bwrap, reason);
      return FALSE;
    }
  return TRUE;
}

/* ---- the seccomp filter -------------------------------------------------- */

/**
 * rb_sandbox_has_seccomp:
 *
 * Returns: whether the library was built with libseccomp (else
 *   rb_sandbox_seccomp_fd() fails with %RB_PLUGIN_ERROR_NOT_SUPPORTED)
 */
gboolean
rb_sandbox_has_seccomp (void)
{
  return HAVE_LIBSECCOMP;
}

#if HAVE_LIBSECCOMP

/* System calls a plugin never needs and that widen what a compromised
 * one can reach: kernel interfaces with a history of holes, the means to
 * leave or rebuild the sandbox, and whole-machine settings. Names that
 * this architecture or this libseccomp does not know are skipped. */
typedef struct {
  const char *name;
  int         err;
} RbDeny;

static const RbDeny deny_list[] = {
  /* Looking into or controlling other processes. */
  { "ptrace", EPERM },
  { "process_vm_readv", EPERM },
  { "process_vm_writev", EPERM },
  { "pidfd_getfd", EPERM },
  /* Mounts, namespaces, the root: the sandbox stays as bwrap built it. */
  { "mount", EPERM },
  { "umount", EPERM },
  { "umount2", EPERM },
  { "pivot_root", EPERM },
  { "chroot", EPERM },
  { "open_tree", EPERM },
  { "move_mount", EPERM },
  { "fsopen", EPERM },
  { "fsconfig", EPERM },
  { "fsmount", EPERM },
  { "fspick", EPERM },
  { "mount_setattr", EPERM },
  { "unshare", EPERM },
  { "setns", EPERM },
  /* glibc tries clone3 first and falls back to clone on ENOSYS; clone3
   * takes its flags in memory, which a filter cannot read, so it goes and
   * clone's namespace flags are checked below. */
  { "clone3", ENOSYS },
  /* The kernel keyring. */
  { "add_key", EPERM },
  { "keyctl", EPERM },
  { "request_key", EPERM },
  /* Kernel programs, profiling, page-fault handling, async rings. */
  { "bpf", EPERM },
  { "perf_event_open", EPERM },
  { "userfaultfd", EPERM },
  { "io_uring_setup", ENOSYS },
  { "io_uring_enter", ENOSYS },
  { "io_uring_register", ENOSYS },
  /* Kernel modules, kexec, reboot, swap, accounting, quotas, log. */
  { "init_module", EPERM },
  { "finit_module", EPERM },
  { "delete_module", EPERM },
  { "kexec_load", EPERM },
  { "kexec_file_load", EPERM },
  { "reboot", EPERM },
  { "swapon", EPERM },
  { "swapoff", EPERM },
  { "acct", EPERM },
  { "quotactl", EPERM },
  { "quotactl_fd", EPERM },
  { "syslog", EPERM },
  /* Old or hardware-level interfaces. */
  { "uselib", EPERM },
  { "modify_ldt", EPERM },
  { "ioperm", EPERM },
  { "iopl", EPERM },
  { "vm86", EPERM },
  { "vm86old", EPERM },
  { "lookup_dcookie", EPERM },
  { "nfsservctl", EPERM },
  /* Opening files by handle bypasses the mount tree. */
  { "name_to_handle_at", EPERM },
  { "open_by_handle_at", EPERM },
  { "fanotify_init", EPERM },
  /* NUMA placement of other processes' memory. */
  { "move_pages", EPERM },
  { "migrate_pages", EPERM },
  { "mbind", EPERM },
  { "set_mempolicy", EPERM },
  { "get_mempolicy", EPERM },
  { "set_mempolicy_home_node", EPERM },
  /* The clocks of the machine. */
  { "settimeofday", EPERM },
  { "clock_settime", EPERM },
  { "stime", EPERM },
};

static const unsigned long namespace_flags[] = {
  CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static gboolean
rb_seccomp_failed (int          rc,
                   const char  *what,
                   GError     **error)
{
  g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
               "Could not build the sandbox's seccomp filter (%s): %s", what, g_strerror (-rc));
  return FALSE;
}

static gboolean
rb_seccomp_add_rules (scmp_filter_ctx   ctx,
                      GError          **error)
{
  int rc;

  for (gsize i = 0; i < G_N_ELEMENTS (deny_list); i++)
    {
      int nr = seccomp_syscall_resolve_name (deny_list[i].name);

      if (nr == __NR_SCMP_ERROR)
        continue;
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (deny_list[i].err), nr, 0);
      /* A name libseccomp knows that has no number here (e.g. vm86 on
       * x86-64) is not an error. */
      if (rc < 0 && rc != -EDOM && nr >= 0)
        return rb_seccomp_failed (rc, deny_list[i].name, error);
    }

  /* personality(): only PER_LINUX (0) and the query (0xffffffff). A
   * rule compares an argument once, so this takes one rule per low bit
   * b: with bit 31 clear, b set is denied (anything but 0); with bit 31
   * set, b clear is denied (anything but 0xffffffff); and anything
   * above 32 bits. */
  for (guint b = 0; b < 31; b++)
    {
      scmp_datum_t bit = (scmp_datum_t) 1 << b, top = (scmp_datum_t) 1 << 31;

      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (personality), 1,
                             SCMP_A0 (SCMP_CMP_MASKED_EQ, top | bit, bit));
      if (rc >= 0)
        rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (personality), 1,
                               SCMP_A0 (SCMP_CMP_MASKED_EQ, top | bit, top));
      if (rc < 0)
        return rb_seccomp_failed (rc, "personality", error);
    }
  rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (personality), 1,
                         SCMP_A0 (SCMP_CMP_GT, 0xffffffffUL));
  if (rc < 0)
    return rb_seccomp_failed (rc, "personality", error);

  /* Sockets: only AF_UNIX (the helper's own socket is a socketpair that
   * it inherits; a plugin may use more of its kind). Every other family,
   * the network above all, is refused as if the kernel lacked it. */
  rc = seccomp_rule_add_exact (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socket), 1,
                               SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  if (rc < 0)
    return rb_seccomp_failed (rc, "socket", error);
  rc = seccomp_rule_add_exact (ctx, SCMP_ACT_ERRNO (EAFNOSUPPORT), SCMP_SYS (socketpair), 1,
                               SCMP_A0 (SCMP_CMP_NE, AF_UNIX));
  if (rc < 0)
    return rb_seccomp_failed (rc, "socketpair", error);

  /* Pushing input into a terminal (TIOCSTI), or its console ioctls; the
   * command is compared on its low 32 bits. */
  rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1,
                         SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffUL, (scmp_datum_t) TIOCSTI));
  if (rc < 0)
    return rb_seccomp_failed (rc, "ioctl TIOCSTI", error);
  rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (ioctl), 1,
                         SCMP_A1 (SCMP_CMP_MASKED_EQ, 0xffffffffUL, (scmp_datum_t) TIOCLINUX));
  if (rc < 0)
    return rb_seccomp_failed (rc, "ioctl TIOCLINUX", error);

  /* clone() into new namespaces (the flags are its first argument on
   * every architecture but s390). */
#if !defined(__s390__) && !defined(__s390x__)
  for (gsize i = 0; i < G_N_ELEMENTS (namespace_flags); i++)
    {
      rc = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                             SCMP_A0 (SCMP_CMP_MASKED_EQ, namespace_flags[i], namespace_flags[i]));
      if (rc < 0)
        return rb_seccomp_failed (rc, "clone", error);
    }
#endif
  return TRUE;
}

/* The filter as a BPF program (what `bwrap --seccomp` reads), built once. */
static GBytes *
rb_seccomp_program (GError **error)
{
  static GMutex lock;
  static GBytes *program;
  GBytes *result = NULL;

  g_mutex_lock (&lock);
  if (program == NULL)
    {
      scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
      int fd = -1;
      int rc;

      if (ctx == NULL)
        {
          g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
                               "Could not build the sandbox's seccomp filter: libseccomp failed to initialise");
          goto out;
        }
      if (!rb_seccomp_add_rules (ctx, error))
        goto out;
      fd = memfd_create ("rb-sandbox-seccomp", MFD_CLOEXEC);
      if (fd < 0)
        {
          rb_seccomp_failed (-errno, "memfd", error);
          goto out;
        }
      rc = seccomp_export_bpf (ctx, fd);
      if (rc < 0)
        {
          rb_seccomp_failed (rc, "export", error);
          goto out;
        }
      {
        struct stat st;
        g_autofree guint8 *data = NULL;
        gsize done = 0;

        if (fstat (fd, &st) < 0 || st.st_size <= 0 || st.st_size > 1024 * 1024)
          {
            rb_seccomp_failed (-EIO, "export", error);
            goto out;
          }
        data = g_malloc ((gsize) st.st_size);
        while (done < (gsize) st.st_size)
          {
            ssize_t n = pread (fd, data + done, (gsize) st.st_size - done, (off_t) done);
            if (n < 0 && errno == EINTR)
              continue;
            if (n <= 0)
              {
                rb_seccomp_failed (n < 0 ? -errno : -EIO, "export", error);
                goto out;
              }
            done += (gsize) n;
          }
        program = g_bytes_new_take (g_steal_pointer (&data), (gsize) st.st_size);
      }
    out:
      if (fd >= 0)
        close (fd);
      if (ctx != NULL)
        seccomp_release (ctx);
    }
  if (program != NULL)
    result = g_bytes_ref (program);
  g_mutex_unlock (&lock);
  return result;
}

#endif /* HAVE_LIBSECCOMP */

/**
 * rb_sandbox_seccomp_fd:
 * @error: return location for a #GError, or %NULL
 *
 * A new sealed memfd (O_CLOEXEC, offset 0) holding the sandbox's seccomp
 * filter as a BPF program, for `bwrap --seccomp`. bwrap reads it from its
 * current offset, so every spawn needs a fresh one; the caller closes it
 * once the child has been forked.
 *
 * The filter allows everything but what the deny list in this file names
 * (EPERM, ENOSYS for what glibc probes), sockets of any family but
 * AF_UNIX (EAFNOSUPPORT), personality() other than PER_LINUX, clone()
 * into new namespaces, and the TIOCSTI/TIOCLINUX ioctls.
 *
 * Returns: the fd, or -1 with %RB_PLUGIN_ERROR_NOT_SUPPORTED (no
 *   libseccomp in this build, or it failed) or %RB_PLUGIN_ERROR_LOAD_FAILED
 *   (no memfd)
 */
int
rb_sandbox_seccomp_fd (GError **error)
{
#if HAVE_LIBSECCOMP
  g_autoptr(GBytes) program = rb_seccomp_program (error);
  const guint8 *data;
  gsize len, done = 0;
  int fd;

  if (program == NULL)
    return -1;
  data = g_bytes_get_data (program, &len);
  fd = memfd_create ("rb-sandbox-seccomp", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0)
    goto fail;
  while (done < len)
    {
      ssize_t n = write (fd, data + done, len - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        goto fail;
      done += (gsize) n;
    }
  if (fcntl (fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0 ||
      lseek (fd, 0, SEEK_SET) != 0)
    goto fail;
  return fd;

fail:
  {
    int saved_errno = errno;
    if (fd >= 0)
      close (fd);
    g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                 "Could not pass the seccomp filter to the sandbox: %s", g_strerror (saved_errno));
    return -1;
  }
#else
  g_set_error_literal (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED,
                       "This build of rustbridge-glib has no seccomp support (libseccomp was missing)");
  return -1;
#endif
}

/* ---- the bwrap command line ---------------------------------------------- */

static void
add_args (GPtrArray  *argv,
          const char *first,
          ...)
{
  va_list ap;

  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
}

/* A top-level directory such as /lib: a symlink (merged /usr) is
 * recreated as the same symlink, a directory is bound read-only. */
static void
add_system_dir (GPtrArray  *argv,
                const char *dir)
{
  struct stat st;

  if (lstat (dir, &st) < 0)
    return;
  if (S_ISLNK (st.st_mode))
    {
      g_autofree char *target = g_file_read_link (dir, NULL);
      if (target != NULL)
        add_args (argv, "--symlink", target, dir, NULL);
    }
  else if (S_ISDIR (st.st_mode))
    add_args (argv, "--ro-bind", dir, dir, NULL);
}

/* @path's canonical form, which must be a regular file. */
static char *
canonical_file (const char  *path,
                const char  *what,
                GError     **error)
{
  g_autofree char *real = realpath (path, NULL);
  struct stat st;

  if (real == NULL || stat (real, &st) < 0)
    {
      int saved_errno = errno;
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "Could not find the %s “%s” for the sandbox: %s", what, path, g_strerror (saved_errno));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED,
                   "The %s “%s” is not a regular file", what, path);
      return NULL;
    }
  return g_steal_pointer (&real);
}

/**
 * rb_sandbox_build_argv:
 * @args: what goes into the sandbox
 * @helper_argv: the helper's own argv (its argv[0] is replaced by the
 *   canonical form of @args->helper_path)
 * @error: return location for a #GError, or %NULL
 *
 * The command that runs the helper inside bubblewrap: every namespace an
 * unprivileged user may create (user, pid, network, IPC, UTS, cgroup;
 * the network one has a loopback device only), no capabilities, a new
 * session, death with the parent, the given environment only; a root
 * made of /usr and the top-level system directories read-only (symlinks
 * kept on merged-/usr systems), /etc/ld.so.cache and /etc/localtime,
 * fresh /proc, a minimal /dev, an empty private /tmp (the root itself
 * read-only, so that nothing else is writable); the helper, the
 * plugin and @args->extra_ro_paths read-only at their canonical paths;
 * nothing else (no home directory, /run, /var, /sys or /mnt). Every fd
 * that the bwrap process inherits without O_CLOEXEC stays open in the
 * helper, at the same number.
 *
 * Returns: (transfer full): a %NULL-terminated argv for execve() whose
 *   argv[0] is @args->bwrap, or %NULL with %RB_PLUGIN_ERROR_LOAD_FAILED
 *   naming the helper or plugin file that is missing
 */
char **
rb_sandbox_build_argv (const RbSandboxArgs  *args,
                       const char * const   *helper_argv,
                       GError              **error)
{
  static const char * const system_dirs[] = { "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *helper = NULL;
  g_autofree char *plugin = NULL;

  g_return_val_if_fail (args != NULL && args->bwrap != NULL && args->helper_path != NULL, NULL);

  helper = canonical_file (args->helper_path, "plugin helper", error);
  if (helper == NULL)
    return NULL;
  if (args->plugin_path != NULL)
    {
      plugin = canonical_file (args->plugin_path, "plugin", error);
      if (plugin == NULL)
        return NULL;
    }

  add_args (argv, args->bwrap,
            "--unshare-all", "--unshare-net",
            "--die-with-parent", "--new-session",
            "--cap-drop", "ALL",
            "--clearenv",
            NULL);
  for (gsize i = 0; args->envp != NULL && args->envp[i] != NULL; i++)
    {
      const char *eq = strchr (args->envp[i], '=');
      g_autofree char *name = NULL;

      if (eq == NULL || eq == args->envp[i])
        continue;
      name = g_strndup (args->envp[i], (gsize) (eq - args->envp[i]));
      add_args (argv, "--setenv", name, eq + 1, NULL);
    }

  add_args (argv, "--ro-bind", "/usr", "/usr", NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (system_dirs); i++)
    add_system_dir (argv, system_dirs[i]);
  add_args (argv,
            "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache",
            "--ro-bind-try", "/etc/localtime", "/etc/localtime",
            "--proc", "/proc",
            "--dev", "/dev",
            "--tmpfs", "/tmp",
            NULL);

  /* After /tmp, so that files under /tmp are bound over the tmpfs. */
  add_args (argv, "--ro-bind", helper, helper, NULL);
  if (plugin != NULL)
    add_args (argv, "--ro-bind", plugin, plugin, NULL);
  for (gsize i = 0; args->extra_ro_paths != NULL && args->extra_ro_paths[i] != NULL; i++)
    {
      g_autofree char *real = realpath (args->extra_ro_paths[i], NULL);
      if (real != NULL)
        add_args (argv, "--ro-bind", real, real, NULL);
    }

  /* bwrap builds the root on a tmpfs: without this, files could be
   * created anywhere outside the bound directories (in memory only). */
  add_args (argv, "--remount-ro", "/", "--chdir", "/", NULL);
  if (args->seccomp_fd >= 0)
    {
      g_ptr_array_add (argv, g_strdup ("--seccomp"));
      g_ptr_array_add (argv, g_strdup_printf ("%d", args->seccomp_fd));
    }

  add_args (argv, "--", helper, NULL);
  for (gsize i = 1; helper_argv != NULL && helper_argv[0] != NULL && helper_argv[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (helper_argv[i]));
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&argv), FALSE);
}

/* ---- in the forked child --------------------------------------------------- */

/**
 * rb_sandbox_child_setup_fds:
 * @fds: the fds the bwrap process must inherit
 * @n_fds: how many (at most 16)
 *
 * In the forked child, before execve() (async-signal-safe): @fds[i]
 * becomes fd 3 + i, without O_CLOEXEC, and every other fd from 3 up is
 * closed. Sources may be anywhere, targets included.
 *
 * Returns: 0, or -1 with errno set
 */
int
rb_sandbox_child_setup_fds (const int *fds,
                            int        n_fds)
{
  int moved[16];

  if (n_fds < 0 || n_fds > (int) G_N_ELEMENTS (moved))
    {
      errno = EINVAL;
      return -1;
    }
  /* Out of the way first: above every target, so that placing one
   * cannot overwrite a source that has not been placed yet. */
  for (int i = 0; i < n_fds; i++)
    {
      moved[i] = fcntl (fds[i], F_DUPFD_CLOEXEC, 3 + n_fds);
      if (moved[i] < 0)
        return -1;
    }
  for (int i = 0; i < n_fds; i++)
    {
      if (dup2 (moved[i], 3 + i) < 0)   /* the copy is not O_CLOEXEC */
        return -1;
    }
  if (syscall (SYS_close_range, 3 + n_fds, ~0U, 0) < 0)
    {
      struct rlimit limit;
      int max = 65536;

      if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < INT_MAX)
        max = (int) limit.rlim_cur;
      for (int fd = 3 + n_fds; fd < max; fd++)
        close (fd);
    }
  return 0;
}

/**
 * rb_sandbox_child_limit_memory:
 * @memory_limit_mb: the limit in MiB; 0 for none
 *
 * In the forked child, before execve() (async-signal-safe): caps the
 * address space (RLIMIT_AS, soft and hard) of the process and of what it
 * executes (bwrap, then the helper). The limit counts mappings, not
 * resident memory: thread stacks and malloc arenas count in full. An
 * allocation past it fails (malloc returns NULL, mmap ENOMEM) rather than
 * the process being killed; a Rust plugin then aborts in its allocation
 * error handler, which the app sees as a crash.
 *
 * Returns: 0, or -1 with errno set
 */
int
rb_sandbox_child_limit_memory (guint memory_limit_mb)
{
  struct rlimit limit;

  if (memory_limit_mb == 0)
    return 0;
  limit.rlim_cur = limit.rlim_max = (rlim_t) memory_limit_mb * 1024 * 1024;
  return setrlimit (RLIMIT_AS, &limit);
}
