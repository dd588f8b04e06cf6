/* down.c — `stack down [-v] [-t SECONDS]`: the supervisor stops and
   removes its containers when it is alive; otherwise we do it from the
   state file. Either way nothing of the project stays but its named
   volumes (and those too with -v). */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"
#include "lifecycle-internal.h"

/* Ask the supervisor; 1 when none answers (it is gone). */
static int
ask_supervisor (const char *run_dir, long timeout, stack_error_t **err)
{
  json_t *req = json_pack ("{ss}", "command", "down");
  int ret;

  if (timeout >= 0)
    json_object_set_new (req, "timeout", json_integer (timeout));
  /* the answer comes once everything is stopped and removed; when it
     dies on the way, the state file has the rest */
  ret = control_call (run_dir, req, NULL, NULL, err);
  json_decref (req);
  if (ret < 0)
    {
      stack_error_t *e = *err;
      *err = NULL;
      ret = stack_error_make (err, 0, "the supervisor could not take the project down: %s",
                              e->msg);
      stack_error_free (&e);
    }
  return ret;
}

/* The supervisor releases the lock as it exits. */
static int
wait_lock (const char *run_dir, int *fd, stack_error_t **err)
{
  struct timespec ten_ms = { 0, 10000000 };
  int i, ret = 1;

  for (i = 0; i < 3000 && (ret = state_lock (run_dir, fd, err)) == 1; i++)
    nanosleep (&ten_ms, NULL);
  if (ret == 1)
    return stack_error_make (err, EBUSY,
                             "the project's supervisor holds `%s/lock` and does not "
                             "answer: is it stopped (SIGSTOP)?",
                             run_dir);
  return ret;
}

static int
remove_volumes (const char *project, stack_error_t **err)
{
  cleanup_free char *dir = state_volumes_dir ();
  char **names = dirs_of_project (dir, project);
  size_t i;
  int ret = 0;

  for (i = 0; names[i]; i++)
    {
      cleanup_free char *path = xasprintf ("%s/%s", dir, names[i]);
      if (ret == 0 && rt_remove_tree (path, err) < 0)
        ret = -1;
      else if (ret == 0)
        fprintf (stderr, " Volume %s  Removed\n", names[i]);
      free (names[i]);
    }
  free (names);
  return ret;
}

/* A container's anonymous volumes: volumes/<container>_anon_<n>. */
static int
remove_anonymous (const char *container, stack_error_t **err)
{
  cleanup_free char *dir = state_volumes_dir ();
  cleanup_free char *prefix = xasprintf ("%s_anon_", container);
  struct dirent *de;
  int ret = 0;
  DIR *d = opendir (dir);

  if (d == NULL)
    return 0;
  while (ret == 0 && (de = readdir (d)) != NULL)
    if (str_has_prefix (de->d_name, prefix))
      {
        cleanup_free char *path = xasprintf ("%s/%s", dir, de->d_name);
        ret = rt_remove_tree (path, err);
      }
  closedir (d);
  return ret;
}

/* No state: the machine restarted (STACK_RUN is a tmpfs) or the state
   went, and the containers' directories in STACK_ROOT (writable layers,
   logs) and their holds on images stayed. Each directory names its
   project in its `project` file. Called with the project's lock held. */
static int
remove_leftovers (const char *name, rt_store_t *store, stack_error_t **err)
{
  cleanup_free char *dir = state_container_dir ("");
  char **left = dirs_of_project (dir, name);
  size_t i;
  int ret = 0;

  if (left[0])
    fprintf (stderr,
             "stack: project `%s` has no state (was the machine restarted?): removing what "
             "its containers left\n",
             name);
  for (i = 0; left[i]; i++)
    {
      cleanup_free char *path = xasprintf ("%s%s", dir, left[i]);
      if (ret == 0
          && (rt_remove_tree (path, err) < 0 || rt_image_release (store, left[i], err) < 0
              || remove_anonymous (left[i], err) < 0))
        ret = -1;
      else if (ret == 0)
        fprintf (stderr, " Container %s  Removed\n", left[i]);
      free (left[i]);
    }
  free (left);
  return ret;
}

int
cmd_down (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "volumes", no_argument, NULL, 'v' },
    { "timeout", required_argument, NULL, 't' },
    { "remove-orphans", no_argument, NULL, 'O' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  compose_project_t *p = NULL;
  rt_store_t *store = NULL;
  stack_error_t *err = NULL;
  cleanup_free char *run_dir = NULL;
  cleanup_close int lock = -1;
  const char *name;
  state_t *st = NULL;
  bool volumes = false;
  long timeout = -1;
  char *end;
  int c, ret;
  size_t i;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+vt:h", opts, NULL)) != -1)
    switch (c)
      {
      case 'v':
        volumes = true;
        break;
      case 't':
        errno = 0;
        timeout = strtol (optarg, &end, 10);
        if (errno || *end || end == optarg || timeout < 0 || timeout > 86400)
          return usage_error ("down", "down: -t `%s`: seconds, 0 to 86400", optarg);
        break;
      case 'O':
        /* every container of the project goes, the file's or not */
        break;
      case 'h':
        return cli_help ("down");
      default:
        return usage_error ("down", "down: unknown option `%s`", argv[optind - 1]);
      }
  if (optind < argc)
    return usage_error ("down", "down: unexpected argument `%s`", argv[optind]);
  if ((ret = running_project_name (g, &p, &name)) != EXIT_OK)
    return ret;
  if ((ret = open_store (&store)) != EXIT_OK)
    goto out;
  run_dir = state_run_dir (name);

  if (access (run_dir, F_OK) == 0)
    {
      state_t *before = NULL;
      /* the names, to say what the supervisor removed */
      if (state_load (run_dir, &before, &err) < 0)
        goto out;
      if ((ret = ask_supervisor (run_dir, timeout, &err)) < 0)
        {
          state_free (before);
          goto out;
        }
      for (i = before ? before->n_containers : 0; ret == 0 && i-- > 0;)
        fprintf (stderr, " Container %s  Removed\n", before->containers[i].name);
      for (i = before ? before->n_networks : 0; ret == 0 && i-- > 0;)
        if (before->networks[i].created)
          fprintf (stderr, " Network %s  Removed\n", before->networks[i].name);
      state_free (before);
      if (ret == 0 ? wait_lock (run_dir, &lock, &err) < 0
                   : (ret = state_lock (run_dir, &lock, &err)) < 0)
        goto out;
      if (ret == 1)
        {
          stack_error_make (&err, EBUSY,
                            "the project's supervisor holds `%s/lock` but does not answer on "
                            "its control socket",
                            run_dir);
          goto out;
        }
      /* what is left: all of it when the supervisor was gone */
      if (state_load (run_dir, &st, &err) < 0)
        goto out;
      if (st)
        {
          for (i = st->n_containers; i-- > 0;)
            stop_orphan (&st->containers[i],
                         timeout >= 0 ? timeout * 1000000000LL : st->containers[i].stop_grace_ns);
          if (remove_project (st, run_dir, store, &err) < 0)
            goto out;
        }
      run_dir_remove (run_dir);
    }
  else
    {
      /* held: an `up` is starting it; leave it alone */
      if ((ret = state_lock (run_dir, &lock, &err)) < 0)
        goto out;
      if (ret == 0 && remove_leftovers (name, store, &err) < 0)
        goto out;
      if (ret == 0)
        run_dir_remove (run_dir);
    }
  if (volumes && remove_volumes (name, &err) < 0)
    goto out;
  ret = EXIT_OK;

out:
  if (err)
    ret = report_failure (&err);
  state_free (st);
  if (store)
    rt_store_close (store);
  compose_project_free (p);
  return ret;
}
