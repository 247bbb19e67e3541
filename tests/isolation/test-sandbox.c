/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The sandbox of RB_ISOLATION_SANDBOX (rb-sandbox-private.h) on its own:
 * sandbox-probe (RB_SANDBOX_PROBE) runs in place of the plugin helper,
 * under exactly the bwrap argv, seccomp filter, fd placement and memory
 * limit that the module produces, and reports what it could do. Where a
 * denial could come from something else than the sandbox, a control run
 * without the piece under test shows that the probe can see the
 * difference. Every case is skipped, with the reason, where bubblewrap
 * is missing or cannot create its namespaces.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <rustbridge-glib.h>

#include "../rb-test-util.h"
#include "rb-sandbox-private.h"

static char *bwrap;
static char *skip_reason;
static char *fake_home;

static const char * const default_envp[] = { "LANG=C.UTF-8", "RB_PROBE_MARK=sandboxed", NULL };

static gboolean
skip_without_sandbox (void)
{
  if (skip_reason == NULL)
    return FALSE;
  g_test_skip (skip_reason);
  return TRUE;
}

/* ---- running the probe ---------------------------------------------------- */

typedef struct {
  gboolean             no_seccomp;          /* control runs */
  gboolean             no_die_with_parent;  /* control run */
  const char          *plugin_path;
  guint                memory_limit_mb;
  const char * const  *envp;                /* NULL: default_envp */
} ProbeOpts;

typedef struct {
  pid_t  pid;
  int    sock;     /* our end of the probe's fd 3 */
  int    out;      /* the probe's stdout */
} Probe;

static char **
probe_argv (const ProbeOpts    *opts,
            const char * const *probes)
{
  g_autoptr(GStrvBuilder) helper_argv = g_strv_builder_new ();
  g_auto(GStrv) helper = NULL;
  g_autoptr(GError) error = NULL;
  RbSandboxArgs args = { 0 };
  char **argv;

  g_strv_builder_add (helper_argv, rb_test_env_path ("RB_SANDBOX_PROBE"));
  g_strv_builder_addv (helper_argv, (const char **) probes);
  helper = g_strv_builder_end (helper_argv);

  args.bwrap = bwrap;
  args.helper_path = rb_test_env_path ("RB_SANDBOX_PROBE");
  args.plugin_path = opts->plugin_path;
  args.envp = opts->envp != NULL ? opts->envp : default_envp;
  args.seccomp_fd = opts->no_seccomp ? -1 : RB_SANDBOX_SECCOMP_FD;
  argv = rb_sandbox_build_argv (&args, (const char * const *) helper, &error);
  g_assert_no_error (error);
  g_assert_nonnull (argv);

  if (opts->no_die_with_parent)
    {
      GPtrArray *kept = g_ptr_array_new ();
      for (char **a = argv; *a != NULL; a++)
        {
          if (strcmp (*a, "--die-with-parent") == 0)
            g_free (*a);
          else
            g_ptr_array_add (kept, *a);
        }
      g_ptr_array_add (kept, NULL);
      g_free (argv);
      argv = (char **) g_ptr_array_free (kept, FALSE);
    }
  return argv;
}

/* What the spawner does in its child: only async-signal-safe calls. */
static G_NORETURN void
exec_sandbox (char  **argv,
              int     out_fd,
              int     sock_fd,
              int     seccomp_fd,
              guint   memory_limit_mb)
{
  static char *empty_env[] = { NULL };
  int fds[2] = { sock_fd, seccomp_fd };

  if (dup2 (out_fd, STDOUT_FILENO) < 0 ||
      rb_sandbox_child_setup_fds (fds, seccomp_fd >= 0 ? 2 : 1) < 0 ||
      rb_sandbox_child_limit_memory (memory_limit_mb) < 0)
    _exit (126);
  execve (argv[0], argv, empty_env);
  _exit (127);
}

static void
probe_start (const ProbeOpts    *opts,
             const char * const *probes,
             Probe              *probe)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = probe_argv (opts, probes);
  int sv[2], pipe_fds[2];
  int seccomp_fd = -1;

  if (!opts->no_seccomp)
    {
      seccomp_fd = rb_sandbox_seccomp_fd (&error);
      g_assert_no_error (error);
      g_assert_cmpint (seccomp_fd, >=, 0);
    }
  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  g_assert_no_errno (pipe2 (pipe_fds, O_CLOEXEC));

  probe->pid = fork ();
  g_assert_cmpint (probe->pid, >=, 0);
  if (probe->pid == 0)
    exec_sandbox (argv, pipe_fds[1], sv[1], seccomp_fd, opts->memory_limit_mb);

  close (sv[1]);
  close (pipe_fds[1]);
  if (seccomp_fd >= 0)
    close (seccomp_fd);
  probe->sock = sv[0];
  probe->out = pipe_fds[0];
}

/* Reads the probe's report to its end and reaps it. */
static char **
probe_finish (Probe *probe)
{
  g_autoptr(GString) out = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  int status;

  while ((n = read (probe->out, buf, sizeof buf)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      g_string_append_len (out, buf, n);
    }
  close (probe->out);
  close (probe->sock);
  g_assert_cmpint (waitpid (probe->pid, &status, 0), ==, probe->pid);
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    g_error ("the sandboxed probe failed (wait status 0x%x); it printed: %s", status, out->str);
  if (out->len > 0 && out->str[out->len - 1] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_strsplit (out->str, "\n", -1);
}

static char **
run_probe (const ProbeOpts    *opts,
           const char * const *probes)
{
  Probe probe;
  char **lines;

  probe_start (opts, probes, &probe);
  lines = probe_finish (&probe);
  g_assert_cmpuint (g_strv_length (lines), ==, g_strv_length ((char **) probes));
  return lines;
}

#define PROBE(opts, ...) run_probe ((opts), (const char * const []) { __VA_ARGS__, NULL })

/* ---- finding bubblewrap, the command line ----------------------------------- */

static void
test_find_bwrap (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *missing = NULL;

      g_setenv ("RB_BWRAP", "/nonexistent/bwrap", TRUE);
      missing = rb_sandbox_find_bwrap ();
      g_assert_null (missing);
      g_assert_false (rb_sandbox_check (missing, &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED);
      g_assert_nonnull (strstr (error->message, "bubblewrap"));
      g_assert_false (rb_sandbox_check (NULL, NULL));

      /* A program that is not bwrap fails the check, with its words. */
      g_clear_error (&error);
      g_assert_false (rb_sandbox_check ("/bin/false", &error));
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED);
      g_assert_nonnull (strstr (error->message, "/bin/false"));
      return;
    }

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();

  if (skip_without_sandbox ())
    return;
  g_assert_true (g_path_is_absolute (bwrap));
  g_assert_true (rb_sandbox_check (bwrap, NULL));
}

static gboolean
argv_has (char * const *argv,
          const char   *a,
          const char   *b)
{
  for (gsize i = 0; argv[i] != NULL; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        return FALSE;
      if (strcmp (argv[i], a) == 0 && (b == NULL || g_strcmp0 (argv[i + 1], b) == 0))
        return TRUE;
    }
  return FALSE;
}

static void
test_argv (void)
{
  const char *probe = rb_test_env_path ("RB_SANDBOX_PROBE");
  const char *plugin = rb_test_plugin_path (RB_TEST_FIXTURE);
  const char * const helper_argv[] = { "ignored", "1234", NULL };
  const char * const envp[] = { "LANG=C", "TZ=UTC", "bogus", NULL };
  const char * const extra[] = { "/nonexistent/extra", NULL };
  g_autofree char *real_plugin = realpath (plugin, NULL);
  g_autofree char *real_probe = realpath (probe, NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) argv = NULL;
  RbSandboxArgs args = { "/usr/bin/bwrap", probe, plugin, extra, envp, RB_SANDBOX_SECCOMP_FD };
  guint n, dashes = 0;

  argv = rb_sandbox_build_argv (&args, helper_argv, &error);
  g_assert_no_error (error);
  n = g_strv_length (argv);
  g_assert_cmpstr (argv[0], ==, "/usr/bin/bwrap");
  for (guint i = 0; i < n; i++)
    dashes += strcmp (argv[i], "--") == 0;
  g_assert_cmpuint (dashes, ==, 1);
  g_assert_cmpstr (argv[n - 3], ==, "--");
  g_assert_cmpstr (argv[n - 2], ==, real_probe);
  g_assert_cmpstr (argv[n - 1], ==, "1234");

  g_assert_true (argv_has (argv, "--unshare-all", NULL));
  g_assert_true (argv_has (argv, "--unshare-net", NULL));
  g_assert_true (argv_has (argv, "--die-with-parent", NULL));
  g_assert_true (argv_has (argv, "--new-session", NULL));
  g_assert_true (argv_has (argv, "--cap-drop", "ALL"));
  g_assert_true (argv_has (argv, "--clearenv", NULL));
  g_assert_true (argv_has (argv, "--setenv", "LANG"));
  g_assert_true (argv_has (argv, "--setenv", "TZ"));
  g_assert_false (argv_has (argv, "--setenv", "bogus"));
  g_assert_true (argv_has (argv, "--seccomp", "4"));
  g_assert_true (argv_has (argv, "--remount-ro", "/"));
  g_assert_true (argv_has (argv, "--tmpfs", "/tmp"));
  g_assert_true (argv_has (argv, "--ro-bind", real_plugin));
  g_assert_true (argv_has (argv, "--ro-bind", real_probe));
  g_assert_false (argv_has (argv, "--ro-bind", "/nonexistent/extra"));
  g_assert_false (argv_has (argv, "--bind", NULL));
  g_assert_false (argv_has (argv, "--ro-bind", g_get_home_dir ()));
  g_assert_false (argv_has (argv, "--ro-bind", "/"));

  /* No filter, no --seccomp. */
  g_clear_pointer (&argv, g_strfreev);
  args.seccomp_fd = -1;
  argv = rb_sandbox_build_argv (&args, helper_argv, NULL);
  g_assert_false (argv_has (argv, "--seccomp", NULL));

  /* A plugin or helper that is not there is named. */
  g_clear_pointer (&argv, g_strfreev);
  args.plugin_path = "/nonexistent/libplugin.so";
  argv = rb_sandbox_build_argv (&args, helper_argv, &error);
  g_assert_null (argv);
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/libplugin.so"));
  g_assert_null (rb_sandbox_build_argv (&args, helper_argv, NULL));
  g_clear_error (&error);

  args.plugin_path = NULL;
  args.helper_path = "/nonexistent/helper";
  g_assert_null (rb_sandbox_build_argv (&args, helper_argv, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
  g_assert_nonnull (strstr (error->message, "/nonexistent/helper"));
  g_clear_error (&error);

  /* A directory is not a plugin. */
  args.helper_path = probe;
  args.plugin_path = "/usr";
  g_assert_null (rb_sandbox_build_argv (&args, helper_argv, &error));
  g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_LOAD_FAILED);
}

static void
test_seccomp_fd (void)
{
  g_autoptr(GError) error = NULL;
  struct stat st;
  int fd, fd2, seals;

  if (!rb_sandbox_has_seccomp ())
    {
      g_assert_cmpint (rb_sandbox_seccomp_fd (&error), ==, -1);
      g_assert_error (error, RB_PLUGIN_ERROR, RB_PLUGIN_ERROR_NOT_SUPPORTED);
      g_test_skip ("built without libseccomp");
      return;
    }
  fd = rb_sandbox_seccomp_fd (&error);
  g_assert_no_error (error);
  fd2 = rb_sandbox_seccomp_fd (NULL);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (fd2, >=, 0);
  g_assert_cmpint (fd, !=, fd2);
  g_assert_cmpint (fcntl (fd, F_GETFD), ==, FD_CLOEXEC);
  g_assert_cmpint (lseek (fd, 0, SEEK_CUR), ==, 0);
  g_assert_no_errno (fstat (fd, &st));
  /* A BPF program: whole 8-byte instructions. */
  g_assert_cmpint (st.st_size, >, 0);
  g_assert_cmpint (st.st_size % 8, ==, 0);
  seals = fcntl (fd, F_GET_SEALS);
  g_assert_cmpint (seals & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL), ==,
                   F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  g_assert_cmpint (write (fd, "x", 1), ==, -1);
  close (fd);
  close (fd2);
}

/* In a child: fds that sit on each other's targets (the second one at
 * 3, where the first must go) end up in place, and nothing else stays. */
static void
test_child_fds (void)
{
  int a[2], b[2], status;
  struct stat want_a, want_b;
  pid_t pid;

  g_assert_no_errno (pipe2 (a, O_CLOEXEC));
  g_assert_no_errno (pipe2 (b, O_CLOEXEC));
  g_assert_no_errno (fstat (a[0], &want_a));
  g_assert_no_errno (fstat (b[0], &want_b));

  pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      struct stat st;
      int fds[2];

      /* a's read end well above, then b's at 3 (where a's must go). */
      if (dup2 (a[0], 40) < 0 || dup2 (b[0], 3) < 0)
        _exit (10);
      fds[0] = 40;
      fds[1] = 3;
      if (rb_sandbox_child_setup_fds (fds, 2) < 0)
        _exit (11);
      if (fstat (3, &st) < 0 || st.st_ino != want_a.st_ino || fcntl (3, F_GETFD) != 0)
        _exit (12);
      if (fstat (4, &st) < 0 || st.st_ino != want_b.st_ino || fcntl (4, F_GETFD) != 0)
        _exit (13);
      for (int fd = 5; fd < 64; fd++)
        if (fcntl (fd, F_GETFD) != -1)
          _exit (14);
      /* A bad fd is an error, not a crash. */
      fds[0] = 1000;
      if (rb_sandbox_child_setup_fds (fds, 1) != -1 || errno != EBADF)
        _exit (15);
      if (rb_sandbox_child_setup_fds (fds, 17) != -1 || errno != EINVAL)
        _exit (16);
      /* Success leaves through exec, not _exit(): under valgrind, an
       * exit would run the leak check in this copy of a threaded
       * process, which fails it. */
      {
        static char *true_argv[] = { (char *) "true", NULL };
        static char *no_env[] = { NULL };
        execve ("/bin/true", true_argv, no_env);
      }
      _exit (17);
    }
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  close (a[0]);
  close (a[1]);
  close (b[0]);
  close (b[1]);
}

/* ---- what the sandboxed process can do -------------------------------------- */

static void
test_network (void)
{
  ProbeOpts opts = { 0 };
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) control = NULL;

  if (skip_without_sandbox ())
    return;
  lines = PROBE (&opts, "socket:inet", "socket:inet-udp", "socket:inet6", "socket:netlink",
                 "socket:packet", "socket:unix", "read:/proc/net/dev");
  g_assert_cmpstr (lines[0], ==, "EAFNOSUPPORT");
  g_assert_cmpstr (lines[1], ==, "EAFNOSUPPORT");
  g_assert_cmpstr (lines[2], ==, "EAFNOSUPPORT");
  g_assert_cmpstr (lines[3], ==, "EAFNOSUPPORT");
  g_assert_cmpstr (lines[4], ==, "EAFNOSUPPORT");
  g_assert_cmpstr (lines[5], ==, "ok");

  /* Without the filter, an AF_INET socket can be made, but only in the
   * sandbox's own network namespace: a loopback device and nothing else. */
  opts.no_seccomp = TRUE;
  control = PROBE (&opts, "socket:inet", "socket:inet6", "ls:/sys/class/net");
  g_assert_cmpstr (control[0], ==, "ok");
  g_assert_cmpstr (control[1], ==, "ok");
  /* /sys is not there at all. */
  g_assert_cmpstr (control[2], ==, "ENOENT");
}

static void
test_network_interfaces (void)
{
  ProbeOpts opts = { 0 };
  g_auto(GStrv) lines = NULL;

  if (skip_without_sandbox ())
    return;
  /* The sandbox's network namespace has a loopback device only. */
  lines = PROBE (&opts, "netdevs");
  g_assert_cmpstr (lines[0], ==, "ok lo");
}

static void
test_home (void)
{
  ProbeOpts opts = { 0 };
  g_autofree char *secret = g_build_filename (fake_home, "secret.txt", NULL);
  g_autofree char *read_secret = g_strconcat ("read:", secret, NULL);
  g_autofree char *ls_home = g_strconcat ("ls:", fake_home, NULL);
  g_autofree char *content = NULL;
  g_auto(GStrv) lines = NULL;

  if (skip_without_sandbox ())
    return;
  /* The test process can read it... */
  g_assert_cmpstr (g_get_home_dir (), ==, fake_home);
  g_assert_true (g_file_get_contents (secret, &content, NULL, NULL));
  g_assert_cmpstr (content, ==, "the user's secret");

  /* ...the sandbox cannot even see it, nor /home, nor root's home. */
  lines = PROBE (&opts, read_secret, ls_home, "ls:/home", "ls:/root", "env");
  g_assert_cmpstr (lines[0], ==, "ENOENT");
  g_assert_cmpstr (lines[1], ==, "ENOENT");
  g_assert_cmpstr (lines[2], ==, "ENOENT");
  g_assert_cmpstr (lines[3], ==, "ENOENT");
  /* Nor does it learn where it is. */
  g_assert_null (strstr (lines[4], "HOME="));
}

static void
test_env (void)
{
  ProbeOpts opts = { 0 };
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) vars = NULL;

  if (skip_without_sandbox ())
    return;
  /* The bwrap process gets an empty environment from exec_sandbox() and
   * the helper exactly what the spawner lists. */
  lines = PROBE (&opts, "env");
  g_assert_true (g_str_has_prefix (lines[0], "ok "));
  vars = g_strsplit (lines[0] + 3, ",", -1);
  /* bwrap sets PWD to the directory it changed to: the root, not ours. */
  g_assert_cmpuint (g_strv_length (vars), ==, 3);
  g_assert_true (g_strv_contains ((const char * const *) vars, "PWD=/"));
  g_assert_true (g_strv_contains ((const char * const *) vars, "LANG=C.UTF-8"));
  g_assert_true (g_strv_contains ((const char * const *) vars, "RB_PROBE_MARK=sandboxed"));
}

static void
test_writes (void)
{
  ProbeOpts opts = { 0 };
  g_autofree char *tmp_name = g_strdup_printf ("/tmp/rb-sandbox-probe-%d", (int) getpid ());
  g_autofree char *write_tmp = g_strconcat ("write:", tmp_name, NULL);
  g_autofree char *read_tmp = g_strconcat ("read:", tmp_name, NULL);
  g_autofree char *own_dir = g_test_build_filename (G_TEST_BUILT, "rb-sandbox-probe-out", NULL);
  g_autofree char *write_own = g_strconcat ("write:", own_dir, NULL);
  g_autofree char *write_probe = g_strconcat ("write:", rb_test_env_path ("RB_SANDBOX_PROBE"), NULL);
  g_autofree char *write_home = g_strconcat ("write:", fake_home, "/planted", NULL);
  g_autofree char *planted = g_build_filename (fake_home, "planted", NULL);
  g_auto(GStrv) lines = NULL;

  if (skip_without_sandbox ())
    return;
  lines = PROBE (&opts, "write:/usr/rb-sandbox-probe", "write:/etc/rb-sandbox-probe",
                 "write:/rb-sandbox-probe", write_own, write_probe, write_home,
                 "write:/proc/rb-sandbox-probe", write_tmp, read_tmp);
  g_assert_cmpstr (lines[0], ==, "EROFS");
  g_assert_cmpstr (lines[1], ==, "EROFS");
  g_assert_cmpstr (lines[2], ==, "EROFS");
  /* A build tree under /tmp is inside the private /tmp: the write may
   * succeed there, but must never reach the real directory. */
  if (g_str_has_prefix (own_dir, "/tmp/"))
    g_assert_false (g_file_test (own_dir, G_FILE_TEST_EXISTS));
  else
    g_assert_cmpstr (lines[3], ==, "EROFS");
  g_assert_cmpstr (lines[4], ==, "EROFS");
  /* The home directory is not there; creating its path fails too. */
  g_assert_true (g_str_equal (lines[5], "EROFS") || g_str_equal (lines[5], "ENOENT"));
  g_assert_true (g_str_has_prefix (lines[6], "E"));
  /* /tmp is writable, and private. */
  g_assert_cmpstr (lines[7], ==, "ok");
  g_assert_cmpstr (lines[8], ==, "ok written by the probe");
  g_assert_false (g_file_test (tmp_name, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (own_dir, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (planted, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test ("/usr/rb-sandbox-probe", G_FILE_TEST_EXISTS));
}

static void
test_private_tmp (void)
{
  ProbeOpts opts = { 0 };
  g_autofree char *outside = g_strdup_printf ("/tmp/rb-sandbox-outside-%d", (int) getpid ());
  g_autofree char *read_outside = g_strconcat ("read:", outside, NULL);
  g_auto(GStrv) lines = NULL;

  if (skip_without_sandbox ())
    return;
  /* The host's /tmp is not the sandbox's. */
  g_assert_true (g_file_set_contents (outside, "host tmp", -1, NULL));
  lines = PROBE (&opts, read_outside, "ls:/tmp");
  g_unlink (outside);
  g_assert_cmpstr (lines[0], ==, "ENOENT");
  /* Empty, but for the mount point of a build tree that is itself
   * under /tmp (a fresh clone there): the helper is bound from it. */
  if (g_str_has_prefix (g_test_get_dir (G_TEST_BUILT), "/tmp/"))
    g_assert_cmpstr (lines[1], ==, "ok 1");
  else
    g_assert_cmpstr (lines[1], ==, "ok 0");
}

typedef struct {
  const char *name;
  const char *filtered;
} Denied;

static const Denied denied[] = {
  { "ptrace", "EPERM" },
  { "mount", "EPERM" },
  { "umount2", "EPERM" },
  { "keyctl", "EPERM" },
  { "add_key", "EPERM" },
  { "bpf", "EPERM" },
  { "perf_event_open", "EPERM" },
  { "personality", "EPERM" },
  { "personality-top-bit", "EPERM" },
  { "unshare", "EPERM" },
  { "setns", "EPERM" },
  { "userfaultfd", "EPERM" },
  { "process_vm_readv", "EPERM" },
  { "io_uring_setup", "ENOSYS" },
  { "clone3", "ENOSYS" },
};

static void
test_syscalls (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) probes = NULL;
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) control = NULL;
  ProbeOpts opts = { 0 };
  guint n = G_N_ELEMENTS (denied);

  if (skip_without_sandbox ())
    return;
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *probe = g_strconcat ("sys:", denied[i].name, NULL);
      g_strv_builder_add (builder, probe);
    }
  g_strv_builder_add (builder, "sys:personality-query");
  g_strv_builder_add (builder, "sys:personality-default");
  g_strv_builder_add (builder, "sys:personality-wide");
  g_strv_builder_add (builder, "caps");
  probes = g_strv_builder_end (builder);

  lines = run_probe (&opts, (const char * const *) probes);
  for (guint i = 0; i < n; i++)
    {
      g_test_message ("%s: %s", denied[i].name, lines[i]);
      g_assert_cmpstr (lines[i], ==, denied[i].filtered);
    }
  /* Asking for the persona and setting the default one stay allowed
   * (sanitizers ask); a value beyond 32 bits is not the query. */
  g_assert_cmpstr (lines[n], ==, "ok");
  g_assert_cmpstr (lines[n + 1], ==, "ok");
  g_assert_cmpstr (lines[n + 2], ==, "EPERM");
  /* No capabilities. */
  g_assert_cmpstr (lines[n + 3], ==, "ok 0");

  /* The same calls without the filter fail otherwise or succeed: the
   * errors above are the filter's. */
  opts.no_seccomp = TRUE;
  control = run_probe (&opts, (const char * const *) probes);
  for (guint i = 0; i < n; i++)
    {
      g_test_message ("%s without the filter: %s", denied[i].name, control[i]);
      g_assert_cmpstr (control[i], !=, denied[i].filtered);
    }
}

static void
test_fds (void)
{
  ProbeOpts opts = { 0 };
  g_auto(GStrv) lines = NULL;
  int stray;

  if (skip_without_sandbox ())
    return;
  /* An fd of ours without O_CLOEXEC does not reach the sandbox either:
   * only the socket (3) and stdio are there, the filter's fd is gone. */
  stray = open ("/dev/null", O_RDONLY);
  g_assert_cmpint (stray, >=, 0);
  lines = PROBE (&opts, "fds");
  close (stray);
  g_assert_cmpstr (lines[0], ==, "ok 0,1,2,3");
}

static void
test_socket_fd (void)
{
  ProbeOpts opts = { 0 };
  Probe probe;
  g_auto(GStrv) lines = NULL;
  char reply[64] = { 0 };
  ssize_t n;

  if (skip_without_sandbox ())
    return;
  probe_start (&opts, (const char * const []) { "echo", NULL }, &probe);
  g_assert_cmpint (write (probe.sock, "ping", 4), ==, 4);
  n = read (probe.sock, reply, sizeof reply - 1);
  g_assert_cmpint (n, ==, 9);
  g_assert_cmpstr (reply, ==, "pong:ping");
  lines = probe_finish (&probe);
  g_assert_cmpstr (lines[0], ==, "ok");
}

static void
test_dlopen (gconstpointer data)
{
  RbTestPluginKind kind = RB_TEST_KIND (data);
  const char *plugin = rb_test_plugin_path (kind);
  const char *other = rb_test_env_path ("RB_NOT_A_PLUGIN");
  g_autofree char *open_plugin = NULL;
  g_autofree char *open_other = NULL;
  g_auto(GStrv) lines = NULL;
  ProbeOpts opts = { 0 };

  if (skip_without_sandbox () || rb_test_skip_if_missing (kind))
    return;
  open_plugin = g_strconcat ("dlopen:", plugin, ":plugin_create", NULL);
  open_other = g_strconcat ("dlopen:", other, ":plugin_create", NULL);
  opts.plugin_path = plugin;
  /* The plugin bound in loads, with its dependencies; a library next to
   * it in the build tree is not there. */
  lines = PROBE (&opts, open_plugin, open_other);
  g_assert_cmpstr (lines[0], ==, "ok");
  g_assert_true (g_str_has_prefix (lines[1], "dlopen-failed"));
}

static void
test_memfd_library (void)
{
  const char *plugin = rb_test_plugin_path (RB_TEST_FIXTURE);
  g_autofree char *bytes = NULL;
  gsize len;
  ProbeOpts opts = { 0 };
  Probe probe;
  g_auto(GStrv) lines = NULL;
  char control[CMSG_SPACE (sizeof (int))] = { 0 };
  struct iovec iov = { (void *) "L", 1 };
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  int fd;

  if (skip_without_sandbox () || rb_test_skip_if_missing (RB_TEST_FIXTURE))
    return;
  /* As a bundle passes its verified library: a sealed memfd over the
   * socket, no file in the sandbox. */
  g_assert_true (g_file_get_contents (plugin, &bytes, &len, NULL));
  fd = memfd_create ("rb-test-library", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, bytes, len), ==, (gssize) len);
  g_assert_no_errno (fcntl (fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL));

  probe_start (&opts, (const char * const []) { "recvlib:plugin_create", NULL }, &probe);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsg = CMSG_FIRSTHDR (&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (cmsg), &fd, sizeof fd);
  g_assert_cmpint (sendmsg (probe.sock, &msg, 0), ==, 1);
  close (fd);
  lines = probe_finish (&probe);
  g_assert_cmpstr (lines[0], ==, "ok");
}

static void
test_memory_limit (void)
{
  ProbeOpts opts = { .memory_limit_mb = 256 };
  g_auto(GStrv) lines = NULL;
  g_auto(GStrv) control = NULL;

  if (skip_without_sandbox ())
    return;
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("AddressSanitizer reserves terabytes of address space: RLIMIT_AS cannot apply");
  return;
#endif
  lines = PROBE (&opts, "alloc:16", "alloc:1024");
  g_assert_cmpstr (lines[0], ==, "ok");
  g_assert_cmpstr (lines[1], ==, "ENOMEM");

  opts.memory_limit_mb = 0;
  control = PROBE (&opts, "alloc:1024");
  g_assert_cmpstr (control[0], ==, "ok");

  /* 0 is no limit; anything else is set on the caller (here a child). */
  g_assert_cmpint (rb_sandbox_child_limit_memory (0), ==, 0);
}

static void
run_held_probe (gboolean die_with_parent,
                gboolean *probe_died)
{
  ProbeOpts opts = { .no_die_with_parent = !die_with_parent };
  g_auto(GStrv) argv = probe_argv (&opts, (const char * const []) { "hold", NULL });
  g_autoptr(GError) error = NULL;
  int seccomp_fd = rb_sandbox_seccomp_fd (&error);
  int sv[2], null_fd, status;
  char ready[5];
  struct pollfd pfd;
  pid_t middle;

  g_assert_no_error (error);
  g_assert_no_errno (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
  null_fd = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  g_assert_cmpint (null_fd, >=, 0);

  /* The app: a process that spawns the sandbox like the library does,
   * then is killed. */
  middle = fork ();
  g_assert_cmpint (middle, >=, 0);
  if (middle == 0)
    {
      pid_t child = fork ();
      if (child == 0)
        exec_sandbox (argv, null_fd, sv[1], seccomp_fd, 0);
      for (;;)
        pause ();
    }
  close (sv[1]);
  close (seccomp_fd);
  close (null_fd);
  g_assert_cmpint (read (sv[0], ready, sizeof ready), ==, sizeof ready);

  g_assert_no_errno (kill (middle, SIGKILL));
  g_assert_cmpint (waitpid (middle, &status, 0), ==, middle);

  /* Every process that holds the probe's end of the socket gone: EOF. */
  pfd.fd = sv[0];
  pfd.events = POLLIN;
  *probe_died = poll (&pfd, 1, die_with_parent ? 10000 : 500) == 1;
  close (sv[0]);   /* the control run's probe sees EOF and leaves */
}

static void
test_die_with_parent (void)
{
  gboolean died = FALSE;

  if (skip_without_sandbox ())
    return;
  run_held_probe (TRUE, &died);
  g_assert_true (died);

  /* Control: without --die-with-parent the probe outlives its parent. */
  run_held_probe (FALSE, &died);
  g_assert_false (died);
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *secret = NULL;
  g_autofree char *home_template = NULL;
  int status;

  rb_test_init (&argc, &argv);

  /* A home directory of our own, outside /tmp (the sandbox's /tmp is
   * private anyway, which would prove nothing), set before any thread;
   * the find-bwrap subprocess needs none. */
  if (!g_test_subprocess ())
    {
      home_template = g_build_filename (g_getenv ("G_TEST_BUILDDIR") ? g_getenv ("G_TEST_BUILDDIR") : ".",
                                        "sandbox-home-XXXXXX", NULL);
      fake_home = g_mkdtemp (g_steal_pointer (&home_template));
      g_assert_nonnull (fake_home);
      {
        g_autofree char *absolute = realpath (fake_home, NULL);
        g_free (fake_home);
        fake_home = g_steal_pointer (&absolute);
      }
      g_setenv ("HOME", fake_home, TRUE);
      secret = g_build_filename (fake_home, "secret.txt", NULL);
      g_assert_true (g_file_set_contents (secret, "the user's secret", -1, NULL));
    }

  bwrap = rb_sandbox_find_bwrap ();
  if (bwrap == NULL)
    skip_reason = g_strdup ("bubblewrap (bwrap) is not installed");
  else if (!rb_sandbox_check (bwrap, &error))
    skip_reason = g_strdup_printf ("user namespaces not available: %s", error->message);
  else if (!rb_sandbox_has_seccomp ())
    skip_reason = g_strdup ("built without libseccomp");
  else if (rb_test_env_path ("RB_SANDBOX_PROBE") == NULL)
    skip_reason = g_strdup ("RB_SANDBOX_PROBE not set");

  g_test_add_func ("/sandbox/find-bwrap", test_find_bwrap);
  g_test_add_func ("/sandbox/argv", test_argv);
  g_test_add_func ("/sandbox/seccomp-fd", test_seccomp_fd);
  g_test_add_func ("/sandbox/child-fds", test_child_fds);
  g_test_add_func ("/sandbox/network", test_network);
  g_test_add_func ("/sandbox/network-interfaces", test_network_interfaces);
  g_test_add_func ("/sandbox/home", test_home);
  g_test_add_func ("/sandbox/env", test_env);
  g_test_add_func ("/sandbox/writes", test_writes);
  g_test_add_func ("/sandbox/private-tmp", test_private_tmp);
  g_test_add_func ("/sandbox/syscalls", test_syscalls);
  g_test_add_func ("/sandbox/fds", test_fds);
  g_test_add_func ("/sandbox/socket-fd", test_socket_fd);
  rb_test_add_both ("/sandbox/dlopen", test_dlopen);
  g_test_add_func ("/sandbox/memfd-library", test_memfd_library);
  g_test_add_func ("/sandbox/memory-limit", test_memory_limit);
  g_test_add_func ("/sandbox/die-with-parent", test_die_with_parent);

  status = g_test_run ();

  if (secret != NULL)
    g_unlink (secret);
  if (fake_home != NULL)
    g_rmdir (fake_home);
  g_free (fake_home);
  g_free (bwrap);
  g_free (skip_reason);
  return status;
}
