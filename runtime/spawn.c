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
   or start; the child then exits. The channel, the clone and the steps
   from START on are shared with exec (child.c). Every answer is awaited
   for at most 30 s (RT_SETUP_TIMEOUT_S): a setup stuck in a mount or an
   open that never returns is killed, and create undoes what it made. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime-internal.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* ------------------------------------------------------------------ */
/* The child                                                           */
/* ------------------------------------------------------------------ */

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
      rt_child_fail (sync, err);
    }
  /* blocked across our exec, so no signal is lost before init waits */
  sigfillset (&set);
  sigprocmask (SIG_BLOCK, &set, &old);
  pid = fork ();
  if (pid < 0)
    {
      stack_error_make (&err, errno, "fork the container's program");
      rt_child_fail (sync, err);
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
    rt_child_fail (sync, err);
  }
}

__attribute__ ((noreturn)) static void
child_main (const container_spec_t *spec, int sync, int init_fd)
{
  stack_error_t *err = NULL;
  int master = -1, slave = -1;

  rt_child_reset ();
  rt_child_wait (sync, RT_MSG_GO);

  if (join_namespaces (spec, &err) < 0)
    rt_child_fail (sync, err);
  /* we are in our cgroup now: it becomes the root of our cgroup view */
  if (unshare (CLONE_NEWCGROUP) < 0)
    {
      stack_error_make (&err, errno, "unshare the cgroup namespace");
      rt_child_fail (sync, err);
    }
  if (rt_child_stdio (spec, &err) < 0)
    rt_child_fail (sync, err);
  /* out of the supervisor's session and process group: its terminal's
     Ctrl-C is not for us. With an init, its child does the same again. */
  if (setsid () < 0)
    {
      stack_error_make (&err, errno, "setsid");
      rt_child_fail (sync, err);
    }
  if (spec->init)
    {
      child_fork_init (sync, init_fd);
      if (setsid () < 0)
        {
          stack_error_make (&err, errno, "setsid");
          rt_child_fail (sync, err);
        }
    }

  if (rt_rootfs_prepare (spec, &err) < 0)
    rt_child_fail (sync, err);
  if (! spec->join_uts)
    {
      if (spec->hostname && sethostname (spec->hostname, strlen (spec->hostname)) < 0)
        {
          stack_error_make (&err, errno, "sethostname `%s`", spec->hostname);
          rt_child_fail (sync, err);
        }
      if (spec->domainname && setdomainname (spec->domainname, strlen (spec->domainname)) < 0)
        {
          stack_error_make (&err, errno, "setdomainname `%s`", spec->domainname);
          rt_child_fail (sync, err);
        }
    }
  if (spec->tty)
    {
      if (rt_rootfs_pty (&master, &slave, &err) < 0 || rt_child_take_tty (slave, &err) < 0)
        rt_child_fail (sync, err);
    }
  if (rt_sync_send (sync, RT_MSG_READY, 0, NULL, master) < 0)
    _exit (127);
  if (master >= 0)
    close (master);

  rt_child_wait (sync, RT_MSG_START);
  rt_child_exec (spec, &err);
  rt_child_fail (sync, err);
}

/* ------------------------------------------------------------------ */
/* The parent                                                          */
/* ------------------------------------------------------------------ */

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

static pid_t
clone_child (const container_spec_t *spec, int *pidfd, stack_error_t **err)
{
  cleanup_close int target = -1;

  /* joining another container's pid namespace: its processes see us
     from the clone on (rt_clone makes us non-dumpable for that) */
  if (spec->join_pid)
    {
      target = open (spec->join_pid, O_RDONLY | O_CLOEXEC);
      if (target < 0)
        return stack_error_make (err, errno, "join pid namespace `%s`", spec->join_pid);
    }
  return rt_clone (clone_flags (spec), target, pidfd, err);
}

int
rt_container_create (const container_spec_t *spec, rt_container_t *c, stack_error_t **err)
{
  cleanup_close int init_fd = -1;
  int sv[2] = { -1, -1 }, pidfd = -1, pty = -1;
  rt_sync_msg_t m;
  ssize_t n;
  pid_t pid;

  rt_container_clear (c);
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
  if (rt_sync_set_timeout (sv[0], err) < 0 || rt_cgroup_create (spec->cgroup_path, &spec->limits, err) < 0)
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
  if (rt_sync_send (sv[0], RT_MSG_GO, 0, NULL, -1) < 0)
    {
      stack_error_make (err, errno, "start the container's setup");
      goto fail;
    }
  n = rt_sync_recv (sv[0], &m, &pty);
  if (n > 0 && m.type == RT_MSG_READY)
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
  /* on a timeout too: kill, reap, remove the cgroup */
  rt_sync_fail (n, &m, "the container's setup", err);

fail:
  if (pid > 0)
    rt_kill_and_reap (pidfd, pid);
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
  rt_sync_msg_t m;
  ssize_t n;
  int ret = 0;

  if (c->sync_fd < 0)
    return stack_error_make (err, EINVAL, "start container: not created, or started already");
  if (rt_sync_send (c->sync_fd, RT_MSG_START, 0, NULL, -1) < 0)
    ret = stack_error_make (err, errno, "start container");
  else if ((n = rt_sync_recv (c->sync_fd, &m, NULL)) != 0)
    {
      int e = errno;
      if (n < 0 && (e == EAGAIN || e == EWOULDBLOCK))
        /* no answer in time: killed here, reaped by the caller's child
           watcher as any other exit */
        rt_pidfd_signal (c->pidfd, c->pid, SIGKILL);
      errno = e;
      if ((n > 0 && m.type == RT_MSG_ERROR) || (n < 0 && (e == EAGAIN || e == EWOULDBLOCK)))
        ret = rt_sync_fail (n, &m, "the container's setup", err);
      else
        ret = stack_error_make (err, n < 0 ? e : EPROTO, "start container");
    }
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
  if (rt_pidfd_signal (c->pidfd, c->pid, sig) < 0 && errno != ESRCH && ret == 0)
    ret = stack_error_make (err, errno, "signal %d to pid %d", sig, (int) c->pid);
  return ret;
}

int
rt_container_destroy (rt_container_t *c, stack_error_t **err)
{
  int ret = 0;

  /* only through the pidfd: a reaped pid may name another process now */
  if (c->pidfd >= 0)
    rt_pidfd_signal (c->pidfd, -1, SIGKILL);
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
