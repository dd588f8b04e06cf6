/* child.c — what a container's PID 1 (spawn.c) and a process started by
   `exec` (exec.c) share: the sync channel to the runtime, the clone into
   the container's pid namespace, and the last steps before execve (user,
   rlimits, cwd, env, security, fds).

   The sync channel is a SOCK_SEQPACKET socketpair, both ends CLOEXEC: one
   message per step; the child's successful execve closes its end, which
   the parent reads as "running". */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime-internal.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The kernel's struct clone_args (linux/sched.h clashes with sched.h). */
struct rt_clone_args
{
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* ------------------------------------------------------------------ */
/* The sync channel                                                    */
/* ------------------------------------------------------------------ */

int
rt_sync_send (int fd, int type, int status, const char *text, int pass_fd)
{
  rt_sync_msg_t m = { .type = type, .status = status };
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t n;

  if (text)
    snprintf (m.text, sizeof m.text, "%s", text);
  iov.iov_base = &m;
  iov.iov_len = offsetof (rt_sync_msg_t, text) + strlen (m.text) + 1;
  if (pass_fd >= 0)
    {
      struct cmsghdr *cm;
      memset (cbuf, 0, sizeof cbuf);
      mh.msg_control = cbuf;
      mh.msg_controllen = sizeof cbuf;
      cm = CMSG_FIRSTHDR (&mh);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN (sizeof (int));
      memcpy (CMSG_DATA (cm), &pass_fd, sizeof (int));
    }
  do
    n = sendmsg (fd, &mh, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -1 : 0;
}

ssize_t
rt_sync_recv (int fd, rt_sync_msg_t *m, int *pass_fd)
{
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { .iov_base = m, .iov_len = sizeof *m };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                       .msg_controllen = sizeof cbuf };
  struct cmsghdr *cm;
  ssize_t n;

  if (pass_fd)
    *pass_fd = -1;
  memset (m, 0, sizeof *m);
  do
    n = recvmsg (fd, &mh, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n <= 0)
    return n;
  for (cm = CMSG_FIRSTHDR (&mh); cm; cm = CMSG_NXTHDR (&mh, cm))
    if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      {
        int got;
        memcpy (&got, CMSG_DATA (cm), sizeof got);
        if (pass_fd && *pass_fd < 0)
          *pass_fd = got;
        else
          close (got);
      }
  if ((size_t) n < offsetof (rt_sync_msg_t, text) + 1)
    {
      errno = EPROTO;
      return -1;
    }
  m->text[sizeof m->text - 1] = '\0';
  return n;
}

int
rt_sync_set_timeout (int fd, stack_error_t **err)
{
  struct timeval tv = { .tv_sec = RT_SETUP_TIMEOUT_S };

  if (setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
    return stack_error_make (err, errno, "set a timeout on the sync channel");
  return 0;
}

int
rt_sync_fail (ssize_t n, const rt_sync_msg_t *m, const char *what, stack_error_t **err)
{
  if (n > 0 && m->type == RT_MSG_ERROR)
    return stack_error_set (err, m->status, "%s", m->text);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return stack_error_set (err, ETIMEDOUT, "container setup did not answer within %d s",
                            RT_SETUP_TIMEOUT_S);
  if (n == 0)
    return stack_error_make (err, 0, "%s exited without a word", what);
  return stack_error_make (err, n < 0 ? errno : EPROTO, "read from %s", what);
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

void
rt_container_clear (rt_container_t *c)
{
  c->pid = -1;
  c->pidfd = c->sync_fd = c->pty_fd = -1;
  c->cgroup_path = NULL;
}

int
rt_pidfd_signal (int pidfd, pid_t pid, int sig)
{
  if (pidfd >= 0)
    return (int) syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
  return pid > 0 ? kill (pid, sig) : 0;
}

void
rt_kill_and_reap (int pidfd, pid_t pid)
{
  siginfo_t info;

  rt_pidfd_signal (pidfd, pid, SIGKILL);
  /* ECHILD: someone else's loop reaped it */
  if (pidfd >= 0)
    while (waitid ((idtype_t) P_PIDFD, (id_t) pidfd, &info, WEXITED) < 0 && errno == EINTR)
      ;
  else
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
}

pid_t
rt_clone (unsigned long flags, int pidns_fd, int *pidfd, stack_error_t **err)
{
  cleanup_close int own_pidns = -1;
  struct rt_clone_args args = { 0 };
  int fd = -1, e, dumpable;
  pid_t pid;

  /* A pid namespace is joined by our children only: point ours at it for
     the clone and back right after. */
  if (pidns_fd >= 0)
    {
      own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
      if (own_pidns < 0)
        return stack_error_make (err, errno, "open `/proc/self/ns/pid`");
      if (setns (pidns_fd, CLONE_NEWPID) < 0)
        return stack_error_make (err, errno, "join the container's pid namespace");
    }
  /* CVE-2019-5736: the child is born non-dumpable (the flag is copied at
     fork), so that a container's process that can see it (exec, and
     create with join_pid, put it in that container's pid namespace) cannot
     open its /proc/PID/exe, our binary on the host, to write to it once
     we are gone: ptrace_may_access refuses /proc/PID/exe, mem and fd of a
     non-dumpable process to anyone without CAP_SYS_PTRACE. While the
     child still holds every capability the kernel's capability-subset
     rule refuses such a process anyway; the flag covers the last steps,
     after rt_security_apply has lowered our set to the container's.
     execve of the container's program sets the flag again. What it does
     not cover (a container with SYS_PTRACE, an interpreter of
     /proc/self/exe): docs/security.md. */
  dumpable = prctl (PR_GET_DUMPABLE, 0, 0, 0, 0);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = (uint64_t) (uintptr_t) &fd;
  args.exit_signal = SIGCHLD;
  /* clone3 gives the pidfd with the pid (no window for pid reuse); plain
     clone without a stack behaves like fork where clone3 is missing. */
  pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS)
    pid = (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
  e = errno;
  if (pid == 0)
    return 0;
  if (dumpable > 0)
    prctl (PR_SET_DUMPABLE, dumpable, 0, 0, 0);
  if (own_pidns >= 0)
    setns (own_pidns, CLONE_NEWPID);
  if (pid < 0)
    return stack_error_make (err, e, "clone");
  if (fd < 0)
    fd = (int) syscall (SYS_pidfd_open, pid, 0);
  *pidfd = fd;
  return pid;
}

/* ------------------------------------------------------------------ */
/* In the child                                                        */
/* ------------------------------------------------------------------ */

void
rt_child_fail (int sync, stack_error_t *err)
{
  rt_sync_send (sync, RT_MSG_ERROR, err ? err->status : 0, err ? err->msg : "unknown error", -1);
  _exit (127);
}

void
rt_child_wait (int sync, int type)
{
  rt_sync_msg_t m;

  if (rt_sync_recv (sync, &m, NULL) <= 0 || m.type != type)
    _exit (127);
}

void
rt_child_reset (void)
{
  sigset_t none;
  int sig;

  /* the caller's ignored signals (SIGPIPE, ...) would survive exec */
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  umask (022);
}

int
rt_child_stdio (const container_spec_t *spec, stack_error_t **err)
{
  int src[3] = { spec->stdin_fd, spec->stdout_fd, spec->stderr_fd };
  int tmp[3];
  int i;

  /* copies first, so that a source already sitting on 0-2 is not
     overwritten before it is used */
  for (i = 0; i < 3; i++)
    {
      if (spec->tty || src[i] < 0)
        tmp[i] = open ("/dev/null", O_RDWR | O_CLOEXEC);
      else
        tmp[i] = fcntl (src[i], F_DUPFD_CLOEXEC, 3);
      if (tmp[i] < 0)
        return stack_error_make (err, errno, "set up stdio");
    }
  for (i = 0; i < 3; i++)
    {
      if (dup2 (tmp[i], i) < 0)
        return stack_error_make (err, errno, "set up stdio");
      close (tmp[i]);
    }
  return 0;
}

int
rt_child_take_tty (int slave, stack_error_t **err)
{
  if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0
      || ioctl (0, TIOCSCTTY, 0) < 0)
    return stack_error_make (err, errno, "make the pty our terminal");
  close (slave);
  return 0;
}

static const char *
env_get (const char *const *env, const char *key)
{
  size_t n = strlen (key);

  for (; env && *env; env++)
    if (strncmp (*env, key, n) == 0 && (*env)[n] == '=')
      return *env + n + 1;
  return NULL;
}

/* argv[0] in the container's PATH (the spec's env, not ours). */
static int
find_program (const container_spec_t *spec, char **out, stack_error_t **err)
{
  const char *name = spec->argv[0], *path = env_get (spec->env, "PATH");
  cleanup_free char *dirs = NULL;
  char *save = NULL, *dir;
  int found_errno = ENOENT;

  if (strchr (name, '/'))
    {
      *out = xstrdup (name);
      return 0;
    }
  if (*name == '\0')
    return stack_error_make (err, ENOENT, "exec ``");
  dirs = xstrdup (path ? path : DEFAULT_PATH);
  for (dir = strtok_r (dirs, ":", &save); dir; dir = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *cand = xasprintf ("%s/%s", dir, name);
      struct stat st;
      if (stat (cand, &st) < 0 || ! S_ISREG (st.st_mode))
        continue;
      if (access (cand, X_OK) < 0)
        {
          found_errno = errno;
          continue;
        }
      *out = steal_pointer (&cand);
      return 0;
    }
  return stack_error_make (err, found_errno, "exec `%s`", name);
}

static int
enter_cwd (const char *cwd, stack_error_t **err)
{
  char buf[PATH_MAX];

  if (cwd[0] != '/')
    return stack_error_make (err, EINVAL, "working directory `%s` is not absolute", cwd);
  /* Docker creates a missing working directory (owned by root). We are
     past pivot_root (or inside the container's mount namespace): "/" is
     the container's. */
  if (mkdir_p (cwd, 0755) < 0 || chdir (cwd) < 0)
    return stack_error_make (err, errno, "working directory `%s`", cwd);
  /* CVE-2024-21626: a cwd reached through a leaked fd of the host
     (/proc/self/fd/N) lies outside our root, and getcwd says so. */
  if (getcwd (buf, sizeof buf) == NULL || buf[0] != '/')
    return stack_error_make (err, EPERM, "working directory `%s` is outside the container", cwd);
  return 0;
}

static char **
build_env (const container_spec_t *spec, const char *home)
{
  size_t n = 0, i;
  char **env;

  while (spec->env && spec->env[n])
    n++;
  env = xzalloc ((n + 2) * sizeof *env);
  for (i = 0; i < n; i++)
    env[i] = (char *) spec->env[i];
  /* as Docker: HOME from passwd when the env has none */
  if (env_get (spec->env, "HOME") == NULL)
    env[n] = xasprintf ("HOME=%s", home);
  return env;
}

static const char *
rlimit_name (int resource)
{
  static const char *const names[] = {
    [RLIMIT_CPU] = "RLIMIT_CPU",         [RLIMIT_FSIZE] = "RLIMIT_FSIZE",
    [RLIMIT_DATA] = "RLIMIT_DATA",       [RLIMIT_STACK] = "RLIMIT_STACK",
    [RLIMIT_CORE] = "RLIMIT_CORE",       [RLIMIT_RSS] = "RLIMIT_RSS",
    [RLIMIT_NPROC] = "RLIMIT_NPROC",     [RLIMIT_NOFILE] = "RLIMIT_NOFILE",
    [RLIMIT_MEMLOCK] = "RLIMIT_MEMLOCK", [RLIMIT_AS] = "RLIMIT_AS",
    [RLIMIT_LOCKS] = "RLIMIT_LOCKS",     [RLIMIT_SIGPENDING] = "RLIMIT_SIGPENDING",
    [RLIMIT_MSGQUEUE] = "RLIMIT_MSGQUEUE", [RLIMIT_NICE] = "RLIMIT_NICE",
    [RLIMIT_RTPRIO] = "RLIMIT_RTPRIO",   [RLIMIT_RTTIME] = "RLIMIT_RTTIME",
  };
  if (resource >= 0 && (size_t) resource < ARRAY_SIZE (names) && names[resource])
    return names[resource];
  return "(unknown)";
}

int
rt_child_exec (const container_spec_t *spec, stack_error_t **err)
{
  cleanup_close int root = -1;
  cleanup_free char *path = NULL;
  rt_user_t u = { 0 };
  char **env;
  size_t i;

  root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return stack_error_make (err, errno, "open `/`");
  if (rt_user_resolve (root, spec->user, spec->group_add, &u, err) < 0)
    return -1;

  for (i = 0; i < spec->n_rlimits; i++)
    {
      const rt_rlimit_t *r = &spec->rlimits[i];
      struct rlimit rl = { .rlim_cur = r->soft, .rlim_max = r->hard };
      /* set as asked; without CAP_SYS_RESOURCE the kernel refuses more
         than the current hard limit, and we say so */
      if (setrlimit (r->resource, &rl) < 0)
        return stack_error_make (err, errno, "setrlimit %s (soft %llu, hard %llu)",
                                 rlimit_name (r->resource), (unsigned long long) r->soft,
                                 (unsigned long long) r->hard);
    }

  if (enter_cwd (spec->cwd ? spec->cwd : "/", err) < 0)
    return -1;
  env = build_env (spec, u.home);

  /* keeps the permitted capabilities across setuid, for rt_security_apply
     to reduce */
  if (rt_security_prepare (spec, err) < 0)
    {
      rt_user_free (&u);
      return -1;
    }
  if (setgroups (u.n_groups, u.groups) < 0 || setresgid (u.gid, u.gid, u.gid) < 0
      || setresuid (u.uid, u.uid, u.uid) < 0)
    return stack_error_make (err, errno, "set user %u:%u", (unsigned) u.uid, (unsigned) u.gid);
  rt_user_free (&u);

  /* CVE-2024-21626: no fd of ours reaches the program */
  if (close_range (3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    return stack_error_make (err, errno, "close_range");

  if (find_program (spec, &path, err) < 0)
    return -1;
  if (rt_security_apply (spec, err) < 0)
    return -1;
  execve (path, (char *const *) spec->argv, env);
  return stack_error_make (err, errno, "exec `%s`", spec->argv[0]);
}
