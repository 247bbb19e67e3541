/* SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What test-sandbox.c runs inside the sandbox in place of the plugin
 * helper, under the argv and the seccomp filter of rb-sandbox-private.c.
 * Each argument is one probe; each probe prints one line on stdout:
 * "ok", "ok TEXT" or the errno name of what failed ("EPERM", ...).
 *
 *   socket:FAMILY        socket(FAMILY, SOCK_STREAM or SOCK_DGRAM, 0)
 *                        (inet, inet6, netlink, packet, unix)
 *   read:PATH            open and read PATH ("ok CONTENT")
 *   write:PATH           create PATH and write to it, then read it back
 *   ls:PATH              open PATH as a directory ("ok N" entries)
 *   sys:NAME             one system call that the filter denies, with
 *                        arguments for which it fails otherwise with
 *                        another errno or succeeds
 *   caps                 "ok" + the effective capability mask
 *   env                  "ok" + the environment, NAME=VALUE joined by ","
 *   fds                  "ok" + the open fds from /proc/self/fd, joined
 *   netdevs              "ok" + the network interfaces in /proc/net/dev
 *   alloc:MIB            malloc MIB MiB and touch it ("ok" or "ENOMEM")
 *   dlopen:PATH:SYMBOL   dlopen PATH, dlsym SYMBOL
 *   echo                 read a message from fd 3, write "pong:" + it back
 *   recvlib:SYMBOL       receive an fd over fd 3 (SCM_RIGHTS), dlopen it
 *                        through /proc/self/fd, dlsym SYMBOL
 *   hold                 write "ready" to fd 3, then wait for its EOF
 *                        (which never comes while the test keeps its end)
 *
 * It ends with _exit(): a sanitizer's exit-time leak check would need
 * ptrace, which the filter denies.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/keyctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <sched.h>

extern char **environ;

static const char *
errno_name (int err)
{
  switch (err)
    {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EROFS: return "EROFS";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EBADF: return "EBADF";
    case ENOMEM: return "ENOMEM";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EEXIST: return "EEXIST";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    default:
      {
        static char buf[32];
        snprintf (buf, sizeof buf, "errno%d", err);
        return buf;
      }
    }
}

static void
report (long rc,
        int  err)
{
  if (rc < 0)
    printf ("%s\n", errno_name (err));
  else
    printf ("ok\n");
}

static void
probe_socket (const char *family)
{
  int fd;

  if (strcmp (family, "inet") == 0)
    fd = socket (AF_INET, SOCK_STREAM, 0);
  else if (strcmp (family, "inet-udp") == 0)
    fd = socket (AF_INET, SOCK_DGRAM, 0);
  else if (strcmp (family, "inet6") == 0)
    fd = socket (AF_INET6, SOCK_STREAM, 0);
  else if (strcmp (family, "netlink") == 0)
    fd = socket (AF_NETLINK, SOCK_DGRAM, 0);
  else if (strcmp (family, "packet") == 0)
    fd = socket (AF_PACKET, SOCK_DGRAM, 0);
  else if (strcmp (family, "unix") == 0)
    fd = socket (AF_UNIX, SOCK_STREAM, 0);
  else
    {
      printf ("bad-family\n");
      return;
    }
  report (fd, errno);
}

static void
probe_read (const char *path)
{
  char buf[256];
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    {
      report (-1, errno);
      return;
    }
  n = read (fd, buf, sizeof buf - 1);
  close (fd);
  if (n < 0)
    {
      report (-1, errno);
      return;
    }
  buf[n] = '\0';
  buf[strcspn (buf, "\n")] = '\0';
  printf ("ok %s\n", buf);
}

static void
probe_write (const char *path)
{
  static const char text[] = "written by the probe";
  char buf[64];
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ssize_t n;

  if (fd < 0)
    {
      report (-1, errno);
      return;
    }
  n = write (fd, text, sizeof text - 1);
  close (fd);
  if (n != (ssize_t) sizeof text - 1)
    {
      report (-1, n < 0 ? errno : EIO);
      return;
    }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  n = fd >= 0 ? read (fd, buf, sizeof buf) : -1;
  if (fd >= 0)
    close (fd);
  if (n != (ssize_t) sizeof text - 1 || memcmp (buf, text, sizeof text - 1) != 0)
    printf ("readback-failed\n");
  else
    printf ("ok\n");
}

static void
probe_ls (const char *path)
{
  DIR *dir = opendir (path);
  int n = 0;

  if (dir == NULL)
    {
      report (-1, errno);
      return;
    }
  while (readdir (dir) != NULL)
    n++;
  closedir (dir);
  printf ("ok %d\n", n - 2);
}

static void
probe_sys (const char *name)
{
  long rc;

  errno = 0;
  if (strcmp (name, "ptrace") == 0)
    rc = ptrace (PTRACE_TRACEME, 0, NULL, NULL);
  else if (strcmp (name, "mount") == 0)
    rc = mount ("none", "/nonexistent-mount-point", "tmpfs", 0, NULL);
  else if (strcmp (name, "umount2") == 0)
    rc = umount2 ("/nonexistent-mount-point", 0);
  else if (strcmp (name, "keyctl") == 0)
    rc = syscall (SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
  else if (strcmp (name, "add_key") == 0)
    rc = syscall (SYS_add_key, "no-such-key-type", "d", "x", 1, KEY_SPEC_PROCESS_KEYRING);
  else if (strcmp (name, "bpf") == 0)
    rc = syscall (SYS_bpf, 9999, NULL, 0);
  else if (strcmp (name, "perf_event_open") == 0)
    rc = syscall (SYS_perf_event_open, NULL, 0, -1, -1, 0);
  else if (strcmp (name, "personality") == 0)
    {
      rc = personality (READ_IMPLIES_EXEC);
      if (rc != -1)
        personality (PER_LINUX);
    }
  else if (strcmp (name, "personality-query") == 0)
    rc = personality (0xffffffff);
  else if (strcmp (name, "personality-default") == 0)
    rc = personality (PER_LINUX);
  else if (strcmp (name, "personality-top-bit") == 0)
    {
      /* READ_IMPLIES_EXEC with bit 31: not the query. */
      rc = personality (0x80000000UL | READ_IMPLIES_EXEC);
      if (rc != -1)
        personality (PER_LINUX);
    }
  else if (strcmp (name, "personality-wide") == 0)
    {
      rc = personality (0x1ffffffffUL);
      if (rc != -1)
        personality (PER_LINUX);
    }
  else if (strcmp (name, "unshare") == 0)
    rc = unshare (-1);
  else if (strcmp (name, "setns") == 0)
    rc = setns (-1, 0);
  else if (strcmp (name, "userfaultfd") == 0)
    rc = syscall (SYS_userfaultfd, -1);
  else if (strcmp (name, "io_uring_setup") == 0)
    rc = syscall (SYS_io_uring_setup, 0, NULL);
  else if (strcmp (name, "clone3") == 0)
    rc = syscall (SYS_clone3, NULL, 0);
  else if (strcmp (name, "process_vm_readv") == 0)
    {
      char buf[8];
      struct iovec local = { buf, sizeof buf }, remote = { NULL, sizeof buf };
      rc = process_vm_readv (getpid (), &local, 1, &remote, 1, 0);
    }
  else
    {
      printf ("bad-syscall\n");
      return;
    }
  report (rc, errno);
}

static void
probe_caps (void)
{
  FILE *f = fopen ("/proc/self/status", "re");
  char line[256];

  while (f != NULL && fgets (line, sizeof line, f) != NULL)
    {
      if (strncmp (line, "CapEff:", 7) == 0)
        {
          fclose (f);
          printf ("ok %lx\n", strtoul (line + 7, NULL, 16));
          return;
        }
    }
  if (f != NULL)
    fclose (f);
  printf ("no-status\n");
}

static void
probe_env (void)
{
  printf ("ok ");
  for (char **e = environ; *e != NULL; e++)
    printf ("%s%s", e == environ ? "" : ",", *e);
  printf ("\n");
}

static void
probe_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *entry;
  int self;
  int first = 1;

  if (dir == NULL)
    {
      report (-1, errno);
      return;
    }
  self = dirfd (dir);
  printf ("ok ");
  while ((entry = readdir (dir)) != NULL)
    {
      if (entry->d_name[0] == '.' || atoi (entry->d_name) == self)
        continue;
      printf ("%s%s", first ? "" : ",", entry->d_name);
      first = 0;
    }
  printf ("\n");
  closedir (dir);
}

static void
probe_netdevs (void)
{
  FILE *f = fopen ("/proc/net/dev", "re");
  char line[512];
  int row = 0;

  if (f == NULL)
    {
      report (-1, errno);
      return;
    }
  printf ("ok");
  while (fgets (line, sizeof line, f) != NULL)
    {
      char *name = line;
      char *colon = strchr (line, ':');

      if (row++ < 2 || colon == NULL)
        continue;
      *colon = '\0';
      while (*name == ' ')
        name++;
      printf ("%s%s", row == 3 ? " " : ",", name);
    }
  printf ("\n");
  fclose (f);
}

static void
probe_alloc (const char *mib)
{
  size_t size = (size_t) strtoul (mib, NULL, 10) * 1024 * 1024;
  char *p = malloc (size);

  if (p == NULL)
    {
      printf ("ENOMEM\n");
      return;
    }
  for (size_t i = 0; i < size; i += 4096)
    p[i] = 1;
  free (p);
  printf ("ok\n");
}

static void
probe_dlopen (const char *spec)
{
  char *copy = strdup (spec);
  char *colon = strrchr (copy, ':');
  void *handle;

  if (colon == NULL)
    {
      printf ("bad-spec\n");
      free (copy);
      return;
    }
  *colon = '\0';
  handle = dlopen (copy, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    printf ("dlopen-failed %s\n", dlerror ());
  else
    {
      printf ("%s\n", dlsym (handle, colon + 1) != NULL ? "ok" : "no-symbol");
      dlclose (handle);
    }
  free (copy);
}

static void
probe_echo (void)
{
  char buf[256];
  char reply[300];
  ssize_t n = read (3, buf, sizeof buf - 1);
  int len;

  if (n <= 0)
    {
      report (-1, n < 0 ? errno : EBADF);
      return;
    }
  buf[n] = '\0';
  len = snprintf (reply, sizeof reply, "pong:%s", buf);
  report (write (3, reply, (size_t) len) == len ? 0 : -1, errno);
}

static void
probe_recvlib (const char *symbol)
{
  char data[1];
  char control[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { data, sizeof data };
  struct msghdr msg = { 0 };
  struct cmsghdr *cmsg;
  char path[64];
  void *handle;
  int fd;

  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg (3, &msg, MSG_CMSG_CLOEXEC) <= 0)
    {
      report (-1, errno);
      return;
    }
  cmsg = CMSG_FIRSTHDR (&msg);
  if (cmsg == NULL || cmsg->cmsg_type != SCM_RIGHTS)
    {
      printf ("no-fd\n");
      return;
    }
  memcpy (&fd, CMSG_DATA (cmsg), sizeof fd);
  snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
  handle = dlopen (path, RTLD_NOW | RTLD_LOCAL);
  if (handle == NULL)
    printf ("dlopen-failed %s\n", dlerror ());
  else
    {
      printf ("%s\n", dlsym (handle, symbol) != NULL ? "ok" : "no-symbol");
      dlclose (handle);
    }
  close (fd);
}

static void
probe_hold (void)
{
  char c;

  if (write (3, "ready", 5) != 5)
    {
      report (-1, errno);
      return;
    }
  while (read (3, &c, 1) > 0)
    ;
  printf ("eof\n");
}

int
main (int    argc,
      char **argv)
{
  setvbuf (stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];

      if (strncmp (arg, "socket:", 7) == 0)
        probe_socket (arg + 7);
      else if (strncmp (arg, "read:", 5) == 0)
        probe_read (arg + 5);
      else if (strncmp (arg, "write:", 6) == 0)
        probe_write (arg + 6);
      else if (strncmp (arg, "ls:", 3) == 0)
        probe_ls (arg + 3);
      else if (strncmp (arg, "sys:", 4) == 0)
        probe_sys (arg + 4);
      else if (strcmp (arg, "caps") == 0)
        probe_caps ();
      else if (strcmp (arg, "env") == 0)
        probe_env ();
      else if (strcmp (arg, "fds") == 0)
        probe_fds ();
      else if (strcmp (arg, "netdevs") == 0)
        probe_netdevs ();
      else if (strncmp (arg, "alloc:", 6) == 0)
        probe_alloc (arg + 6);
      else if (strncmp (arg, "dlopen:", 7) == 0)
        probe_dlopen (arg + 7);
      else if (strcmp (arg, "echo") == 0)
        probe_echo ();
      else if (strncmp (arg, "recvlib:", 8) == 0)
        probe_recvlib (arg + 8);
      else if (strcmp (arg, "hold") == 0)
        probe_hold ();
      else
        printf ("bad-probe %s\n", arg);
    }
  fflush (stdout);
  _exit (0);
}
