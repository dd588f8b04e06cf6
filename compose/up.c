/* up.c — `stack up`: everything is checked before anything is created
   (the file, each image, pulled first when its pull_policy says so, each
   service's plan); then the project's lock is taken and the supervisor
   runs, here (foreground) or in a new session (-d), in which case we wait
   until it says every service started. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli-internal.h"
#include "lifecycle-internal.h"

sv_container_t *
prepare_container (compose_project_t *p, rt_store_t *store, const compose_service_t *svc,
                   stack_error_t **err)
{
  cleanup_free char *volumes_dir = state_volumes_dir ();
  node_t *image = node_map_get (svc->node, "image");
  const char *id = arena_printf (p->arena, "%s-%s-1", p->name, svc->name);
  cleanup_free char *dir = state_container_dir (id);
  plan_paths_t paths = {
    .container_id = id,
    .cgroup_path = arena_printf (p->arena, "stack/%s/%s", p->name, id),
    .container_dir = dir,
    .volumes_dir = volumes_dir,
  };
  sv_container_t *c;

  if (image == NULL || image->kind != N_STR)
    {
      stack_error_set (err, EINVAL,
                       "%s:%u:%u: services.%s: no `image:`: stack does not build "
                       "images; name one (see `stack images`)",
                       svc->node->mark.src ? svc->node->mark.src->path : "-", svc->node->mark.line,
                       svc->node->mark.col, svc->name);
      return NULL;
    }
  c = xzalloc (sizeof *c);
  c->dir = arena_strdup (p->arena, dir);
  c->svc = svc;
  c->rt = (rt_container_t){ .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  if (rt_image_get (store, image->str, &c->image, err) < 0)
    {
      if ((*err)->status == ENOENT)
        {
          stack_error_free (err);
          /* `up` pulled what its pull_policy asked for (images_ensure):
             the image went meanwhile, or reconciling found it gone */
          stack_error_make (err, 0,
                            "service `%s`: image `%s` is not in the store: pull it (`stack "
                            "pull %s`) or load it (`stack image load -i FILE`)",
                            svc->name, image->str, svc->name);
        }
      else
        stack_error_wrap (err, "service `%s`", svc->name);
      free (c);
      return NULL;
    }
  if (plan_service (p->arena, p, svc, &c->image->config, &paths, &c->plan, err) < 0)
    {
      rt_image_free (c->image);
      free (c);
      return NULL;
    }
  return c;
}

void
free_container (sv_container_t *c)
{
  if (c == NULL)
    return;
  rt_image_free (c->image);
  free (c->port_fds);
  free (c->host_ports);
  free (c->addrs);
  free (c);
}

/* The image of every selected service (pulled as its pull_policy says),
   and its plan. */
static int
prepare (supervisor_t *sv, const bool *selected, stack_error_t **err)
{
  compose_project_t *p = sv->project;
  cleanup_free size_t *order = xmalloc ((p->n_services + 1) * sizeof *order);
  size_t n = compose_start_order (p, selected, order), i;

  /* pull_policy: what is missing (or too old) is pulled before anything is created */
  if (images_ensure (sv->store, p, order, n, false, err) < 0)
    return -1;
  sv->c = xzalloc ((n + 1) * sizeof *sv->c);
  for (i = 0; i < n; i++)
    {
      if ((sv->c[sv->n] = prepare_container (p, sv->store, &p->services[order[i]], err)) == NULL)
        return -1;
      sv->n++;
    }
  return wiring_check (sv, err);
}

/* A project whose supervisor is gone left its state: take it down first,
   as `down` would. */
static int
clean_stale (supervisor_t *sv, stack_error_t **err)
{
  state_t *old = NULL;
  size_t i;

  if (state_load (sv->run_dir, &old, err) < 0)
    return -1;
  if (old == NULL)
    return 0;
  if (old->n_containers > 0)
    fprintf (stderr, "stack: project `%s` was not taken down; removing what its last run left\n",
             sv->project->name);
  for (i = old->n_containers; i-- > 0;)
    stop_orphan (&old->containers[i], old->containers[i].stop_grace_ns);
  if (remove_project (old, sv->run_dir, sv->store, err) < 0)
    {
      state_free (old);
      return -1;
    }
  state_free (old);
  return 0;
}

/* -d: the supervisor in a new session; we relay its progress until it
   says "ok" or "error ...". */
static int
detach (supervisor_t *sv)
{
  cleanup_free char *log = xasprintf ("%s/supervisor.log", sv->run_dir);
  char line[4096];
  FILE *in;
  int ready[2], ret = EXIT_FAIL;
  bool said = false;
  pid_t pid;

  if (pipe2 (ready, O_CLOEXEC) < 0)
    {
      perror ("stack: pipe");
      return EXIT_FAIL;
    }
  fflush (stdout);
  fflush (stderr);
  pid = fork ();
  if (pid < 0)
    {
      perror ("stack: fork");
      return EXIT_FAIL;
    }
  if (pid == 0)
    {
      int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
      int out = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      close (ready[0]);
      if (setsid () < 0 || null < 0 || out < 0 || dup2 (null, 0) < 0 || dup2 (out, 1) < 0
          || dup2 (out, 2) < 0)
        _exit (EXIT_FAIL);
      sv->ready_fd = ready[1];
      _exit (supervisor_run (sv));
    }
  close (ready[1]);
  in = fdopen (ready[0], "r");
  while (in && fgets (line, sizeof line, in))
    {
      if (!said && strcmp (line, "ok\n") == 0)
        {
          ret = EXIT_OK;
          break;
        }
      /* an error's further lines (a service's last output) and the
         progress of taking down what this run made follow it, to EOF */
      if (!said && str_has_prefix (line, "error "))
        {
          fprintf (stderr, "stack: %s", line + 6);
          said = true;
          continue;
        }
      fputs (line, stderr);
    }
  if (in == NULL || (ret == EXIT_FAIL && !said))
    fprintf (stderr, "stack: the supervisor ended while starting\n");
  if (in)
    fclose (in);
  if (ret != EXIT_OK)
    {
      /* it took down what it made and ends: nothing of this run stays */
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
      run_dir_remove (sv->run_dir);
    }
  return ret;
}

/* The lock is held: the project runs. Ask its supervisor to reconcile
   it with the file as we see it. */
static int
reconcile (struct globals *g, compose_project_t *p, supervisor_t *sv, int argc, char **argv,
           bool remove_orphans, stack_error_t **err)
{
  extern char **environ;
  json_t *req = json_object (), *files = json_array (), *env = json_array ();
  json_t *env_files = json_array (), *profiles = json_array (), *services = json_array ();
  char cwd[4096];
  size_t i;
  int ret, tries;

  for (i = 0; i < p->n_files; i++)
    json_array_append_new (files, json_string (p->files[i]));
  for (i = 0; environ[i]; i++)
    json_array_append_new (env, json_string (environ[i]));
  for (i = 0; i < g->n_env_files; i++)
    json_array_append_new (env_files, json_string (g->env_files[i]));
  for (i = 0; i < g->n_profiles; i++)
    json_array_append_new (profiles, json_string (g->profiles[i]));
  for (i = 0; i < (size_t)argc; i++)
    json_array_append_new (services, json_string (argv[i]));
  json_object_set_new (req, "command", json_string ("up"));
  json_object_set_new (req, "files", files);
  json_object_set_new (req, "environ", env);
  json_object_set_new (req, "env_files", env_files);
  json_object_set_new (req, "profiles", profiles);
  json_object_set_new (req, "project_name", json_string (p->name));
  json_object_set_new (req, "project_directory", json_string (p->dir));
  json_object_set_new (req, "cwd", json_string (getcwd (cwd, sizeof cwd) ? cwd : "/"));
  json_object_set_new (req, "services", services);
  json_object_set_new (req, "remove_orphans", json_boolean (remove_orphans));
  json_object_set_new (req, "wait", json_boolean (sv->wait));
  if (sv->wait_timeout_ns > 0)
    json_object_set_new (req, "wait_timeout", json_integer (sv->wait_timeout_ns / 1000000000LL));
  /* a supervisor that has just taken the lock listens a moment later */
  for (tries = 0; (ret = control_call (sv->run_dir, req, NULL, NULL, err)) == 1 && tries < 300;
       tries++)
    {
      int fd = -1;
      if (state_lock (sv->run_dir, &fd, err) == 0)
        {
          /* it ended meanwhile */
          close (fd);
          json_decref (req);
          return stack_error_make (err, EAGAIN,
                                   "project `%s` went down while `up` was asking it; run `up` "
                                   "again",
                                   p->name);
        }
      stack_error_free (err);
      usleep (10000);
    }
  json_decref (req);
  if (ret == 1)
    return stack_error_make (err, EBUSY,
                             "project `%s` has a supervisor that holds its lock but does not "
                             "answer: is it stopped (SIGSTOP)?",
                             p->name);
  return ret;
}

static int
parse_seconds (const char *arg, int64_t *ns)
{
  char *end;
  long v;

  errno = 0;
  v = strtol (arg, &end, 10);
  if (errno || *end || end == arg || v < 0 || v > 86400)
    return -1;
  *ns = v * 1000000000LL;
  return 0;
}

int
cmd_up (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "detach", no_argument, NULL, 'd' },
    { "wait", no_argument, NULL, 'W' },
    { "wait-timeout", required_argument, NULL, 'T' },
    { "abort-on-container-exit", no_argument, NULL, 'A' },
    { "exit-code-from", required_argument, NULL, 'E' },
    { "remove-orphans", no_argument, NULL, 'O' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  compose_project_t *p = NULL;
  supervisor_t sv = { .lock_fd = -1, .ready_fd = -1, .listen_fd = -1 };
  stack_error_t *err = NULL;
  cleanup_free bool *selected = NULL;
  bool remove_orphans = false;
  int c, ret;
  size_t i;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+dh", opts, NULL)) != -1)
    switch (c)
      {
      case 'd':
        sv.detached = true;
        break;
      case 'W':
        sv.wait = sv.detached = true; /* --wait implies -d, as in Compose */
        break;
      case 'T':
        if (parse_seconds (optarg, &sv.wait_timeout_ns) < 0)
          return usage_error ("up", "up: --wait-timeout `%s`: seconds, 0 to 86400", optarg);
        break;
      case 'A':
        sv.abort_on_exit = true;
        break;
      case 'E':
        sv.abort_on_exit = true;
        sv.exit_code_from = optarg;
        break;
      case 'O':
        remove_orphans = true;
        break;
      case 'h':
        return cli_help ("up");
      default:
        return usage_error ("up", "up: unknown option `%s`", argv[optind - 1]);
      }
  if (sv.detached && sv.abort_on_exit)
    return usage_error ("up", "up: --abort-on-container-exit and --exit-code-from need the "
                              "foreground: drop -d/--wait");
  g->services = (const char *const *)argv + optind;
  g->n_services = (size_t)(argc - optind);
  if ((ret = load_project (g, &p)) != EXIT_OK)
    return ret;
  sv.project = p;
  if (sv.exit_code_from && compose_service_find (p, sv.exit_code_from) == NULL)
    {
      stack_error_set (&err, EINVAL, "up: --exit-code-from: no such service: `%s`",
                       sv.exit_code_from);
      goto out;
    }
  selected = xzalloc ((p->n_services + 1) * sizeof *selected);
  if (optind == argc)
    for (i = 0; i < p->n_services; i++)
      selected[i] = true;
  else if (compose_select (p, (const char *const *)argv + optind, (size_t)(argc - optind), selected,
                           &err)
           < 0)
    goto out;
  if ((ret = open_store (&sv.store)) != EXIT_OK)
    goto out;
  if (prepare (&sv, selected, &err) < 0)
    goto out;

  sv.run_dir = state_run_dir (p->name);
  ret = state_lock (sv.run_dir, &sv.lock_fd, &err);
  if (ret == 1)
    {
      if (reconcile (g, p, &sv, argc - optind, argv + optind, remove_orphans, &err) < 0)
        goto out;
      ret = EXIT_OK;
      if (!sv.detached)
        fprintf (stderr, "stack: project `%s` runs detached; follow its output with `stack -p "
                         "%s logs -f`\n",
                 p->name, p->name);
      goto out;
    }
  if (ret < 0 || clean_stale (&sv, &err) < 0)
    goto out;
  if (wiring_reserve_ports (&sv, &err) < 0)
    {
      /* nothing was created: not even the run directory stays */
      run_dir_remove (sv.run_dir);
      goto out;
    }
  sv.st = xzalloc (sizeof *sv.st);
  sv.st->project = xstrdup (p->name);
  sv.st->project_dir = xstrdup (p->dir);
  if (sv.detached)
    ret = detach (&sv);
  else
    {
      cleanup_free char *state = xasprintf ("%s/state.json", sv.run_dir);
      ret = supervisor_run (&sv);
      /* what stopped stays for `ps -a` and `logs`, until `down` */
      if (access (state, F_OK) < 0)
        run_dir_remove (sv.run_dir);
    }

out:
  if (err)
    ret = report_failure (&err);
  wiring_release_ports (&sv);
  for (i = 0; i < sv.n; i++)
    free_container (sv.c[i]);
  free (sv.nets);
  free (sv.c);
  if (sv.lock_fd >= 0)
    close (sv.lock_fd);
  state_free (sv.st);
  free (sv.run_dir);
  if (sv.store)
    rt_store_close (sv.store);
  compose_project_free (p);
  return ret;
}
