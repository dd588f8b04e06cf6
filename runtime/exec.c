/* exec.c — run one more program inside a running container (`stack
   exec`), as crun exec and nsenter do.

   The caller is the `stack exec` process, not the supervisor; the new
   process is its direct child, so its own waitid gives the exit status:

     parent (the caller)                 child
     pidfd of the target's PID 1,
     checked to be in target's cgroup
     clone into target's pid ns   ──►    non-dumpable from birth, waits
     rt_cgroup_add_pid, GO        ──►    setns net, ipc, uts, cgroup, mnt;
                                         stdio or a new pty in the
                                         container's devpts
                                  ◄──    READY + the pty master (tty only)
                                         user, rlimits, cwd, env, ids, fds,
                                         security, execve (child.c)
                                  ◄──    ERROR, or the socket closes: the
                                         exec succeeded (CLOEXEC)

   Every answer is awaited for at most 30 s; a child that does not answer
   is killed and reaped. The target's cgroup is the container's: it is
   never removed here. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runtime-internal.h"

#ifndef CLONE_NEWCGROUP
#define CLONE_NEWCGROUP 0x02000000
#endif

/* mnt last: after it, /proc is the container's and the host's
   /proc/PID/ns files are out of reach */
static const struct
{
  const char *name;
  int type;
} joined[] = { { "net", CLONE_NEWNET },
               { "ipc", CLONE_NEWIPC },
               { "uts", CLONE_NEWUTS },
               { "cgroup", CLONE_NEWCGROUP },
               { "mnt", CLONE_NEWNS } };

static int
not_running (stack_error_t **err)
{
  return stack_error_set (err, ESRCH, "container is not running");
}

/* Join the target's namespaces: all at once through its pidfd (Linux
   5.8), else one by one through /proc/PID/ns, every file opened before
   the first setns. */
static int
join_target (int tpidfd, pid_t tpid, stack_error_t **err)
{
  int fds[ARRAY_SIZE (joined)];
  int flags = 0, ret = 0;
  size_t i, n;

  for (i = 0; i < ARRAY_SIZE (joined); i++)
    flags |= joined[i].type;
  if (setns (tpidfd, flags) == 0)
    return 0;
  if (errno == ESRCH)
    return not_running (err);
  if (errno != EINVAL)
    return stack_error_make (err, errno, "join the container's namespaces");

  for (n = 0; n < ARRAY_SIZE (joined); n++)
    {
      char path[64];
      snprintf (path, sizeof path, "/proc/%d/ns/%s", (int) tpid, joined[n].name);
      fds[n] = open (path, O_RDONLY | O_CLOEXEC);
      if (fds[n] < 0)
        {
          ret = errno == ENOENT ? not_running (err) : stack_error_make (err, errno, "open `%s`", path);
          break;
        }
    }
  for (i = 0; ret == 0 && i < n; i++)
    if (setns (fds[i], joined[i].type) < 0)
      ret = stack_error_make (err, errno, "join the container's %s namespace", joined[i].name);
  for (i = 0; i < n; i++)
    close (fds[i]);
  return ret;
}

__attribute__ ((noreturn)) static void
exec_child (const container_spec_t *spec, int tpidfd, pid_t tpid, int sync)
{
  stack_error_t *err = NULL;
  int master = -1, slave = -1;

  /* born non-dumpable (rt_clone); said again, as this is what keeps the
     container away from our /proc/PID/exe (CVE-2019-5736) */
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  rt_child_reset ();
  rt_child_wait (sync, RT_MSG_GO);

  if (join_target (tpidfd, tpid, &err) < 0)
    rt_child_fail (sync, err);
  close (tpidfd);
  /* /dev/null and /dev/ptmx are the container's from here on */
  if (rt_child_stdio (spec, &err) < 0)
    rt_child_fail (sync, err);
  if (spec->tty)
    {
      /* a session of our own, so that the new terminal can be ours */
      if (setsid () < 0)
        {
          stack_error_make (&err, errno, "setsid");
          rt_child_fail (sync, err);
        }
      if (rt_pty_open (&master, &slave, &err) < 0 || rt_child_take_tty (slave, &err) < 0)
        rt_child_fail (sync, err);
      if (rt_sync_send (sync, RT_MSG_READY, 0, NULL, master) < 0)
        _exit (127);
      close (master);
    }
  rt_child_exec (spec, &err);
  rt_child_fail (sync, err);
}

/* Is pid in the container's cgroup? A pid from the state file may name
   another process by now (the container exited, the pid was reused). */
static bool
in_cgroup (pid_t pid, const char *cgroup_path)
{
  cleanup_free char *path = xasprintf ("/proc/%d/cgroup", (int) pid);
  cleanup_free char *text = NULL;
  cleanup_free char *want = xasprintf (":/%s", cgroup_path);
  stack_error_t *err = NULL;
  char *line, *save = NULL;

  if (read_file (path, &text, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return false;
    }
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (str_has_suffix (line, want))
      return true;
  return false;
}

/* A pidfd of the target's PID 1 that is known to name it. */
static int
target_pidfd (const rt_container_t *target, stack_error_t **err)
{
  cleanup_close int fd = -1;

  if (target->pidfd >= 0)
    fd = fcntl (target->pidfd, F_DUPFD_CLOEXEC, 3);
  else if (target->pid > 0)
    fd = (int) syscall (SYS_pidfd_open, target->pid, 0);
  else
    return not_running (err);
  if (fd < 0)
    return errno == ESRCH ? not_running (err)
                          : stack_error_make (err, errno, "open pid %d", (int) target->pid);
  /* checked after the pidfd was opened: if pid named our container then,
     the pidfd names it for good, and signal 0 says whether it still runs */
  if (! in_cgroup (target->pid, target->cgroup_path)
      || rt_pidfd_signal (fd, target->pid, 0) < 0)
    return not_running (err);
  return steal_fd (&fd);
}

int
rt_container_exec (const rt_container_t *target, const container_spec_t *spec,
                   rt_container_t *proc, stack_error_t **err)
{
  cleanup_close int tpidfd = -1;
  int sv[2] = { -1, -1 }, pidfd = -1, pty = -1;
  rt_sync_msg_t m;
  ssize_t n;
  pid_t pid;

  rt_container_clear (proc);
  if (spec->argv == NULL || spec->argv[0] == NULL)
    return stack_error_make (err, EINVAL, "exec: no command");
  if (target->cgroup_path == NULL)
    return stack_error_make (err, EINVAL, "exec: the container has no cgroup");
  tpidfd = target_pidfd (target, err);
  if (tpidfd < 0)
    return -1;

  if (socketpair (AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return stack_error_make (err, errno, "socketpair");
  if (rt_sync_set_timeout (sv[0], err) < 0)
    goto fail;
  /* born in the target's pid namespace: it is PID 1's sibling there */
  pid = rt_clone (0, tpidfd, &pidfd, err);
  if (pid == 0)
    {
      close (sv[0]);
      exec_child (spec, tpidfd, target->pid, sv[1]);
    }
  close (sv[1]);
  sv[1] = -1;
  if (pid < 0)
    {
      /* a zombie PID 1 has no namespaces left to join */
      if ((*err)->status == ESRCH)
        not_running (err);
      goto fail;
    }

  /* before GO: the child joins the container's cgroup namespace next,
     and its view is rooted at the cgroup it is in */
  if (rt_cgroup_add_pid (target->cgroup_path, pid, err) < 0)
    goto fail_child;
  if (rt_sync_send (sv[0], RT_MSG_GO, 0, NULL, -1) < 0)
    {
      stack_error_make (err, errno, "start the exec'd process");
      goto fail_child;
    }
  n = rt_sync_recv (sv[0], &m, &pty);
  if (spec->tty && n > 0 && m.type == RT_MSG_READY && pty >= 0)
    n = rt_sync_recv (sv[0], &m, NULL);
  if (n != 0)
    {
      rt_sync_fail (n, &m, "the exec'd process", err);
      goto fail_child;
    }
  /* the socket closed: execve succeeded */
  close (sv[0]);
  proc->pid = pid;
  proc->pidfd = pidfd;
  proc->pty_fd = pty;
  return 0;

fail_child:
  /* the child's own error, or no answer in time: it goes, reaped here */
  rt_kill_and_reap (pidfd, pid);
  if (pty >= 0)
    close (pty);
  if (pidfd >= 0)
    close (pidfd);
fail:
  close (sv[0]);
  if (sv[1] >= 0)
    close (sv[1]);
  return -1;
}
