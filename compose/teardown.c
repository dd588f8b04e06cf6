/* teardown.c — removing what a project's state records, with or without
   its supervisor; and the control socket's addressing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle-internal.h"

void
stop_orphan (const st_container_t *c, int64_t grace_ns)
{
  cleanup_close int pidfd = -1;
  struct pollfd p;
  stack_error_t *err = NULL;

  if (c->state != ST_RUNNING || !st_container_alive (c))
    return;
  /* the pidfd pins the process: no signal can reach a reused pid */
  pidfd = (int)syscall (SYS_pidfd_open, c->pid, 0);
  if (pidfd < 0 || !st_container_alive (c))
    return;
  if (syscall (SYS_pidfd_send_signal, pidfd, c->stop_signal > 0 ? c->stop_signal : SIGTERM, NULL, 0)
      == 0)
    {
      /* a pidfd polls readable when its process has exited */
      p.fd = pidfd;
      p.events = POLLIN;
      while (poll (&p, 1, (int)(grace_ns / 1000000)) < 0 && errno == EINTR)
        ;
    }
  if (rt_cgroup_kill_all (c->cgroup, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
    }
}

int
remove_container (const st_container_t *c, rt_store_t *s, stack_error_t **err)
{
  int ret = 0;

  /* its veth pairs go with its network namespace, in the kernel's own
     time; wiring_down makes sure they are gone */
  if (rt_cgroup_kill_all (c->cgroup, err) < 0 || rt_cgroup_destroy (c->cgroup, "stack", err) < 0)
    ret = -1;
  if (ret == 0 && rt_remove_tree (c->dir, err) < 0)
    ret = -1;
  else if (ret == 0 && rt_image_release (s, c->name, err) < 0)
    ret = -1;
  if (ret < 0)
    return stack_error_wrap (err, "remove container `%s`", c->name);
  return 0;
}

int
remove_project (state_t *st, const char *run_dir, rt_store_t *s, stack_error_t **err)
{
  cleanup_free char *state_path = xasprintf ("%s/state.json", run_dir);
  size_t i;
  int ret = 0;

  for (i = st->n_containers; i-- > 0;)
    {
      stack_error_t *e = NULL;
      if (remove_container (&st->containers[i], s, &e) < 0)
        {
          /* go on: everything else still goes; the first failure is told */
          if (ret == 0)
            *err = e;
          else
            stack_error_free (&e);
          ret = -1;
          continue;
        }
      fprintf (stderr, " Container %s  Removed\n", st->containers[i].name);
    }
  {
    stack_error_t *e = NULL;
    if (wiring_down (st, &e) < 0)
      {
        if (ret == 0)
          *err = e;
        else
          stack_error_free (&e);
        ret = -1;
      }
  }
  for (i = 0; i < st->n_volumes; i++)
    {
      stack_error_t *e = NULL;
      cleanup_free char *vdir = NULL;
      char *slash;
      if (!st->volumes[i].anonymous)
        continue;
      /* <volumes>/<name>/_data: the volume is its parent */
      vdir = xstrdup (st->volumes[i].dir);
      if ((slash = strrchr (vdir, '/')) != NULL && strcmp (slash, "/_data") == 0)
        *slash = '\0';
      if (rt_remove_tree (vdir, &e) < 0)
        {
          if (ret == 0)
            *err = e;
          else
            stack_error_free (&e);
          ret = -1;
        }
    }
  if (ret == 0 && unlink (state_path) < 0 && errno != ENOENT)
    return stack_error_make (err, errno, "remove `%s`", state_path);
  return ret;
}

void
run_dir_remove (const char *run_dir)
{
  static const char *const files[]
      = { "state.json", ".state.json.tmp", "control.sock", "supervisor.log", "lock" };
  size_t i;

  for (i = 0; i < ARRAY_SIZE (files); i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", run_dir, files[i]);
      (void)unlink (path);
    }
  (void)rmdir (run_dir);
}

/* ---- control socket ---- */

static int
control_addr (const char *run_dir, int *dirfd, struct sockaddr_un *addr, stack_error_t **err)
{
  *dirfd = open (run_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (*dirfd < 0)
    return stack_error_make (err, errno, "open `%s`", run_dir);
  memset (addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  snprintf (addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/control.sock", *dirfd);
  return 0;
}

int
control_listen (const char *run_dir, stack_error_t **err)
{
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;
  struct sockaddr_un addr;

  if (control_addr (run_dir, &dirfd, &addr, err) < 0)
    return -1;
  (void)unlinkat (dirfd, "control.sock", 0);
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen (fd, 64) < 0)
    return stack_error_make (err, errno, "listen on `%s/control.sock`", run_dir);
  return steal_fd (&fd);
}

int
control_connect (const char *run_dir, stack_error_t **err)
{
  cleanup_close int dirfd = -1;
  cleanup_close int fd = -1;
  struct sockaddr_un addr;

  if (control_addr (run_dir, &dirfd, &addr, err) < 0)
    return -1;
  fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return stack_error_make (err, errno, "connect to `%s/control.sock`", run_dir);
  return steal_fd (&fd);
}
