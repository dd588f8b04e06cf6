/* spawn.c — the container lifecycle: create, start, kill, destroy.

   create clones a child into new namespaces and talks to it over a
   SOCK_SEQPACKET socketpair (both ends CLOEXEC), one message per step:

     parent                              child (the container's PID 1)
     rt_cgroup_create, clone      ──►    waits for GO
     rt_cgroup_add_pid, GO        ──►    joins namespaces, unshare(CGROUP),
                                         stdio, rootfs, hostname, pty
                                  ◄──    READY (+ the pty master) or ERROR
     (create returns; the caller wires the network)
     START (rt_container_start)   ──►    user, rlimits, cwd, ids, fds,
                                         security, execve
                                  ◄──    ERROR, or the socket closes: the
                                         exec succeeded (CLOEXEC)

   With `init: true`, PID 1 forks the process that does the child's part
   above and then executes our init (init.c) from a sealed memfd
   (sealed.c). It does so at once, while the host's root is still its
   root, so the dynamic loader finds our libraries; the pivot_root done
   later by its child moves PID 1's root into the container too.

   Errors in the child travel back as text and become the error of create
   or start; the child then exits. */
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
#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
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

enum
{
  MSG_GO = 1,
  MSG_READY,
  MSG_START,
  MSG_ERROR,
};

typedef struct sync_msg
{
  int32_t type;
  int32_t status;
  char text[4000];
} sync_msg_t;

/* ------------------------------------------------------------------ */
/* The sync channel                                                    */
/* ------------------------------------------------------------------ */

static int
sync_send (int fd, int type, int status, const char *text, int pass_fd)
{
  sync_msg_t m = { .type = type, .status = status };
  char cbuf[CMSG_SPACE (sizeof (int))];
  struct iovec iov;
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t n;

  if (text)
    snprintf (m.text, sizeof m.text, "%s", text);
  iov.iov_base = &m;
  iov.iov_len = offsetof (sync_msg_t, text) + strlen (m.text) + 1;
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

/* > 0: a message; 0: the other end is closed; < 0: errno. */
static ssize_t
sync_recv (int fd, sync_msg_t *m, int *pass_fd)
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
  if ((size_t) n < offsetof (sync_msg_t, text) + 1)
    {
      errno = EPROTO;
      return -1;
    }
  m->text[sizeof m->text - 1] = '\0';
  return n;
}

/* ------------------------------------------------------------------ */
/* The child                                                           */
/* ------------------------------------------------------------------ */

__attribute__ ((noreturn)) static void
child_fail (int sync, stack_error_t *err)
{
  sync_send (sync, MSG_ERROR, err ? err->status : 0, err ? err->msg : "unknown error", -1);
  _exit (127);
}

/* Wait for the parent's next word; anything else (it died) ends us. */
static void
child_wait (int sync, int type)
{
  sync_msg_t m;

  if (sync_recv (sync, &m, NULL) <= 0 || m.type != type)
    _exit (127);
}

static int
join_namespaces (const container_spec_t *spec, stack_error_t **err)
{
  const struct
  {
    const char *path;
    int type;
  } ns[] = { { spec->join_net, CLONE_NEWNET },
             { spec->join_ipc, CLONE_NEWIPC },
             { spec->join_uts, CLONE_NEWUTS } };
  size_t i;

  for (i = 0; i < ARRAY_SIZE (ns); i++)
    {
      cleanup_close int fd = -1;
      if (ns[i].path == NULL)
        continue;
      fd = open (ns[i].path, O_RDONLY | O_CLOEXEC);
      if (fd < 0 || setns (fd, ns[i].type) < 0)
        return stack_error_make (err, errno, "join namespace `%s`", ns[i].path);
    }
  return 0;
}

/* The spec's fds on 0, 1, 2 (/dev/null for -1). Copies first, so that a
   source already sitting on 0-2 is not overwritten before it is used. */
static int
setup_stdio (const container_spec_t *spec, stack_error_t **err)
{
  int src[3] = { spec->stdin_fd, spec->stdout_fd, spec->stderr_fd };
  int tmp[3];
  int i;

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

static void
reset_signals (void)
{
  sigset_t none;
  int sig;

  /* the supervisor's ignored signals (SIGPIPE, ...) would survive exec */
  for (sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP)
      signal (sig, SIG_DFL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
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
     past pivot_root: "/" is the container's. */
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

/* START arrived: become the container's program. Only returns on error. */
static int
child_exec (const container_spec_t *spec, stack_error_t **err)
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

/* The init's part: fork the process that prepares and runs the program,
   then become the init. Returns in that child only, once the init is
   loaded: the pivot_root must wait until the dynamic loader has found our
   libraries in the host's root. */
static void
child_fork_init (int sync, int init_fd)
{
  stack_error_t *err = NULL;
  sigset_t set, old;
  char pid_text[16], fd_text[16], byte;
  int loaded[2];
  pid_t pid;

  if (pipe2 (loaded, O_CLOEXEC) < 0)
    {
      stack_error_make (&err, errno, "pipe");
      child_fail (sync, err);
    }
  /* blocked across our exec, so no signal is lost before init waits */
  sigfillset (&set);
  sigprocmask (SIG_BLOCK, &set, &old);
  pid = fork ();
  if (pid < 0)
    {
      stack_error_make (&err, errno, "fork the container's program");
      child_fail (sync, err);
    }
  if (pid == 0)
    {
      sigprocmask (SIG_SETMASK, &old, NULL);
      close (init_fd);
      close (loaded[1]);
      /* nothing read: the init failed and said so on the sync channel */
      if (read (loaded[0], &byte, 1) != 1)
        _exit (127);
      close (loaded[0]);
      return;
    }
  close (loaded[0]);
  {
    char *const argv[] = { (char *) "stack-init", pid_text, fd_text, NULL };
    char *const envp[] = { NULL };
    snprintf (pid_text, sizeof pid_text, "%d", (int) pid);
    snprintf (fd_text, sizeof fd_text, "%d", loaded[1]);
    /* "/" of the host: pivot_root moves a root or cwd that is the old
       root, and nothing else; no handle to the host stays behind */
    if (chdir ("/") == 0 && fcntl (loaded[1], F_SETFD, 0) == 0)
      fexecve (init_fd, argv, envp);
    stack_error_make (&err, errno, "exec the init");
    child_fail (sync, err);
  }
}

__attribute__ ((noreturn)) static void
child_main (const container_spec_t *spec, int sync, int init_fd)
{
  stack_error_t *err = NULL;
  int master = -1, slave = -1;

  reset_signals ();
  umask (022);
  child_wait (sync, MSG_GO);

  if (join_namespaces (spec, &err) < 0)
    child_fail (sync, err);
  /* we are in our cgroup now: it becomes the root of our cgroup view */
  if (unshare (CLONE_NEWCGROUP) < 0)
    {
      stack_error_make (&err, errno, "unshare the cgroup namespace");
      child_fail (sync, err);
    }
  if (setup_stdio (spec, &err) < 0)
    child_fail (sync, err);
  /* out of the supervisor's session and process group: its terminal's
     Ctrl-C is not for us. With an init, its child does the same again. */
  if (setsid () < 0)
    {
      stack_error_make (&err, errno, "setsid");
      child_fail (sync, err);
    }
  if (spec->init)
    {
      child_fork_init (sync, init_fd);
      if (setsid () < 0)
        {
          stack_error_make (&err, errno, "setsid");
          child_fail (sync, err);
        }
    }

  if (rt_rootfs_prepare (spec, &err) < 0)
    child_fail (sync, err);
  if (! spec->join_uts)
    {
      if (spec->hostname && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
        {
          stack_error_make (&err, errno, "sethostname `%s`", spec->hostname);
          child_fail (sync, err);
        }
      if (spec->domainname && setdomainname (spec->domainname, strlen (spec->domainname)) < 0)
        {
          stack_error_make (&err, errno, "setdomainname `%s`", spec->domainname);
          child_fail (sync, err);
        }
    }
  if (spec->tty)
    {
      if (rt_rootfs_pty (&master, &slave, &err) < 0)
        child_fail (sync, err);
      if (dup2 (slave, 0) < 0 || dup2 (slave, 1) < 0 || dup2 (slave, 2) < 0
          || ioctl (0, TIOCSCTTY, 0) < 0)
        {
          stack_error_make (&err, errno, "make the pty our terminal");
          child_fail (sync, err);
        }
      close (slave);
    }
  if (sync_send (sync, MSG_READY, 0, NULL, master) < 0)
    _exit (127);
  if (master >= 0)
    close (master);

  child_wait (sync, MSG_START);
  child_exec (spec, &err);
  child_fail (sync, err);
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */

static int
pidfd_signal (int pidfd, pid_t pid, int sig)
{
  if (pidfd >= 0)
    return (int) syscall (SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
  return pid > 0 ? kill (pid, sig) : 0;
}

static unsigned long
clone_flags (const container_spec_t *spec)
{
  unsigned long flags = CLONE_NEWNS;

  if (! spec->host_pid && ! spec->join_pid)
    flags |= CLONE_NEWPID;
  if (! spec->join_uts)
    flags |= CLONE_NEWUTS;
  if (! spec->host_ipc && ! spec->join_ipc)
    flags |= CLONE_NEWIPC;
  if (! spec->host_net && ! spec->join_net)
    flags |= CLONE_NEWNET;
  return flags;
}

/* clone3 gives the pidfd with the pid (no window for pid reuse); plain
   clone without a stack behaves like fork where clone3 is missing. */
static pid_t
clone_child (const container_spec_t *spec, int *pidfd, stack_error_t **err)
{
  cleanup_close int own_pidns = -1;
  cleanup_close int target = -1;
  struct rt_clone_args args = { 0 };
  unsigned long flags = clone_flags (spec);
  int fd = -1, e;
  pid_t pid;

  /* A pid namespace is joined by our children only: point ours at it for
     the clone and back right after. */
  if (spec->join_pid)
    {
      own_pidns = open ("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
      target = open (spec->join_pid, O_RDONLY | O_CLOEXEC);
      if (own_pidns < 0 || target < 0 || setns (target, CLONE_NEWPID) < 0)
        return stack_error_make (err, errno, "join pid namespace `%s`", spec->join_pid);
    }
  args.flags = flags | CLONE_PIDFD;
  args.pidfd = (uint64_t) (uintptr_t) &fd;
  args.exit_signal = SIGCHLD;
  pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS)
    pid = (pid_t) syscall (SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, 0);
  e = errno;
  if (pid == 0)
    return 0;
  if (own_pidns >= 0)
    setns (own_pidns, CLONE_NEWPID);
  if (pid < 0)
    return stack_error_make (err, e, "clone");
  if (fd < 0)
    fd = (int) syscall (SYS_pidfd_open, pid, 0);
  *pidfd = fd;
  return pid;
}

static void
kill_and_reap (int pidfd, pid_t pid)
{
  siginfo_t info;

  pidfd_signal (pidfd, pid, SIGKILL);
  /* ECHILD: someone else's loop reaped it */
  if (pidfd >= 0)
    while (waitid ((idtype_t) P_PIDFD, (id_t) pidfd, &info, WEXITED) < 0 && errno == EINTR)
      ;
  else
    while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
      ;
}

int
rt_container_create (const container_spec_t *spec, rt_container_t *c, stack_error_t **err)
{
  cleanup_close int init_fd = -1;
  int sv[2] = { -1, -1 }, pidfd = -1, pty = -1;
  sync_msg_t m;
  ssize_t n;
  pid_t pid;

  c->pid = -1;
  c->pidfd = c->sync_fd = c->pty_fd = -1;
  c->cgroup_path = NULL;
  if (spec->argv == NULL || spec->argv[0] == NULL)
    return stack_error_make (err, EINVAL, "container `%s`: no command", spec->id);
  if (spec->rootfs_dir == NULL || spec->cgroup_path == NULL)
    return stack_error_make (err, EINVAL, "container `%s`: no rootfs or cgroup", spec->id);
  if (rt_sysctls_check (spec, err) < 0)
    return stack_error_wrap (err, "create container `%s`", spec->id);

  if (spec->init && (init_fd = rt_sealed_self (err)) < 0)
    return -1;
  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return stack_error_make (err, errno, "socketpair");
  if (rt_cgroup_create (spec->cgroup_path, &spec->limits, err) < 0)
    {
      close (sv[0]);
      close (sv[1]);
      return -1;
    }

  pid = clone_child (spec, &pidfd, err);
  if (pid == 0)
    {
      close (sv[0]);
      child_main (spec, sv[1], init_fd);
    }
  close (sv[1]);
  if (pid < 0)
    goto fail;

  if (rt_cgroup_add_pid (spec->cgroup_path, pid, err) < 0)
    goto fail;
  if (sync_send (sv[0], MSG_GO, 0, NULL, -1) < 0)
    {
      stack_error_make (err, errno, "start the container's setup");
      goto fail;
    }
  n = sync_recv (sv[0], &m, &pty);
  if (n > 0 && m.type == MSG_READY)
    {
      c->pid = pid;
      c->pidfd = pidfd;
      c->sync_fd = sv[0];
      c->pty_fd = pty;
      c->cgroup_path = xstrdup (spec->cgroup_path);
      return 0;
    }
  if (pty >= 0)
    close (pty);
  if (n > 0 && m.type == MSG_ERROR)
    {
      stack_error_make (err, 0, "%s", m.text);
      (*err)->status = m.status;
    }
  else if (n == 0)
    stack_error_make (err, 0, "the container's setup exited without a word");
  else
    stack_error_make (err, errno, "read from the container's setup");

fail:
  if (pid > 0)
    kill_and_reap (pidfd, pid);
  if (pidfd >= 0)
    close (pidfd);
  close (sv[0]);
  {
    stack_error_t *e2 = NULL;
    rt_cgroup_destroy (spec->cgroup_path, "stack", &e2);
    stack_error_free (&e2);
  }
  return stack_error_wrap (err, "create container `%s`", spec->id);
}

int
rt_container_start (rt_container_t *c, stack_error_t **err)
{
  sync_msg_t m;
  ssize_t n;
  int ret = 0;

  if (c->sync_fd < 0)
    return stack_error_make (err, EINVAL, "start container: not created, or started already");
  if (sync_send (c->sync_fd, MSG_START, 0, NULL, -1) < 0)
    ret = stack_error_make (err, errno, "start container");
  else if ((n = sync_recv (c->sync_fd, &m, NULL)) > 0 && m.type == MSG_ERROR)
    {
      stack_error_make (err, 0, "%s", m.text);
      (*err)->status = m.status;
      ret = -1;
    }
  else if (n != 0)
    ret = stack_error_make (err, n < 0 ? errno : EPROTO, "start container");
  /* n == 0: the exec closed the child's end (CLOEXEC): running */
  close (c->sync_fd);
  c->sync_fd = -1;
  return ret;
}

int
rt_container_kill (rt_container_t *c, int sig, stack_error_t **err)
{
  int ret = 0;

  if (sig == SIGKILL && c->cgroup_path && rt_cgroup_kill_all (c->cgroup_path, err) < 0)
    ret = -1;
  /* ESRCH: already dead (the pidfd never names another process) */
  if (pidfd_signal (c->pidfd, c->pid, sig) < 0 && errno != ESRCH && ret == 0)
    ret = stack_error_make (err, errno, "signal %d to pid %d", sig, (int) c->pid);
  return ret;
}

int
rt_container_destroy (rt_container_t *c, stack_error_t **err)
{
  int ret = 0;

  /* only through the pidfd: a reaped pid may name another process now */
  if (c->pidfd >= 0)
    pidfd_signal (c->pidfd, -1, SIGKILL);
  if (c->cgroup_path)
    {
      if (rt_cgroup_kill_all (c->cgroup_path, err) < 0
          || rt_cgroup_destroy (c->cgroup_path, "stack", err) < 0)
        ret = -1;
      free (c->cgroup_path);
      c->cgroup_path = NULL;
    }
  if (c->pidfd >= 0)
    close (c->pidfd);
  if (c->sync_fd >= 0)
    close (c->sync_fd);
  if (c->pty_fd >= 0)
    close (c->pty_fd);
  c->pidfd = c->sync_fd = c->pty_fd = -1;
  c->pid = -1;
  return ret;
}

bool
rt_container_oom_killed (const char *cgroup_path)
{
  rt_cgroup_stats_t st = { 0 };
  stack_error_t *err = NULL;

  if (cgroup_path == NULL || rt_cgroup_stats (cgroup_path, &st, &err) < 0)
    {
      stack_error_free (&err);
      return false;
    }
  return st.oom_kills > 0;
}
