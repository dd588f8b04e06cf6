/* exec.c — `stack exec [-T] [-u USER] [-w DIR] [-e K=V]... SERVICE CMD...`:
   a process in a running container, as the service's own: the user,
   environment, working directory, capabilities and seccomp recorded when
   the container was created (not the file as it is now), with the
   options on top. We are its parent, so its exit code is ours. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli-internal.h"
#include "lifecycle-internal.h"
#include "tty-internal.h"

/* env with K=V set (replacing K's earlier value); malloc'ed array. */
static const char **
env_put (const char **env, const char *kv)
{
  size_t n = 0, klen = strcspn (kv, "=");

  for (; env[n]; n++)
    if (strncmp (env[n], kv, klen) == 0 && env[n][klen] == '=')
      {
        env[n] = kv;
        return env;
      }
  env = xrealloc (env, (n + 2) * sizeof *env);
  env[n] = kv;
  env[n + 1] = NULL;
  return env;
}

int
cmd_exec (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "no-TTY", no_argument, NULL, 'T' },        { "user", required_argument, NULL, 'u' },
    { "workdir", required_argument, NULL, 'w' }, { "env", required_argument, NULL, 'e' },
    { "help", no_argument, NULL, 'h' },          { 0 },
  };
  compose_project_t *p = NULL;
  stack_error_t *err = NULL;
  cleanup_free char *run_dir = NULL;
  cleanup_free const char **extra = xzalloc (sizeof *extra);
  const char *name, *user = NULL, *cwd = NULL, *service;
  container_spec_t spec = { 0 };
  rt_container_t target = { .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  rt_container_t proc = { .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  st_container_t *c;
  state_t *st = NULL;
  bool no_tty = false;
  size_t n_extra = 0;
  int opt, ret, status;

  optind = 0;
  while ((opt = getopt_long (argc, argv, "+Tu:w:e:h", opts, NULL)) != -1)
    switch (opt)
      {
      case 'T':
        no_tty = true;
        break;
      case 'u':
        user = optarg;
        break;
      case 'w':
        cwd = optarg;
        break;
      case 'e':
        {
          /* -e NAME alone takes NAME from our environment, as Compose */
          const char *v = strchr (optarg, '=') ? optarg : getenv (optarg);
          if (v == NULL)
            break;
          extra = xrealloc (extra, (n_extra + 2) * sizeof *extra);
          extra[n_extra++] = v == optarg ? xstrdup (optarg) : xasprintf ("%s=%s", optarg, v);
          extra[n_extra] = NULL;
          break;
        }
      case 'h':
        return cli_help ("exec");
      default:
        return usage_error ("exec", "exec: unknown option `%s`", argv[optind - 1]);
      }
  if (argc - optind < 2)
    return usage_error ("exec", "exec: give a service and a command");
  service = argv[optind];
  if (cwd && cwd[0] != '/')
    return usage_error ("exec", "exec: -w `%s`: the working directory must be absolute", cwd);
  if ((ret = running_project_name (g, &p, &name)) != EXIT_OK)
    return ret;
  run_dir = state_run_dir (name);
  if (state_load (run_dir, &st, &err) < 0)
    goto out;
  c = state_find (st, service);
  if (c == NULL || c->state != ST_RUNNING || !st_container_alive (c))
    {
      stack_error_make (&err, 0, "service `%s` is not running", service);
      goto out;
    }
  if (process_from_json (c->process, &spec, &err) < 0)
    goto out;
  {
    size_t i;
    for (i = 0; i < n_extra; i++)
      spec.env = env_put ((const char **)spec.env, extra[i]);
  }
  spec.id = c->name;
  spec.argv = (const char *const *)argv + optind + 1;
  if (user)
    spec.user = user;
  if (cwd)
    spec.cwd = cwd;
  spec.tty = !no_tty && isatty (0);
  spec.stdin_fd = 0;
  spec.stdout_fd = 1;
  spec.stderr_fd = 2;

  target.pid = c->pid;
  target.cgroup_path = c->cgroup;
  if (rt_container_exec (&target, &spec, &proc, &err) < 0)
    {
      /* Docker's codes: 127 not found, 126 not executable */
      ret = err->status == ENOENT ? 127 : err->status == EACCES ? 126 : EXIT_FAIL;
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
      goto out;
    }
  if (proc.pty_fd >= 0 && tty_relay (proc.pty_fd, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
    }
  while (waitpid (proc.pid, &status, 0) < 0)
    if (errno != EINTR)
      {
        stack_error_make (&err, errno, "wait for `%s`", spec.argv[0]);
        goto out;
      }
  ret = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);

out:
  if (err)
    ret = report_failure (&err);
  if (proc.pidfd >= 0)
    close (proc.pidfd);
  if (proc.pty_fd >= 0)
    close (proc.pty_fd);
  for (opt = 0; (size_t)opt < n_extra; opt++)
    free ((void *)extra[opt]);
  free ((void *)spec.env);
  free ((void *)spec.group_add);
  free ((void *)spec.rlimits);
  state_free (st);
  compose_project_free (p);
  return ret;
}
