/* container.c — one container's life on the host, as the supervisor
   starts it: its state entry first (before anything of it exists), its
   volumes and image hold, the files we give it (/etc/hosts, hostname,
   resolv.conf), its namespaces (or another service's), its network while
   it waits on its sync channel, then its program; its output from pipes
   (or its terminal) into its log and, in the foreground, to ours. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle-internal.h"

/* ---- the files a container gets from us ---- */

static int
write_text (const char *path, const char *text, stack_error_t **err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    return stack_error_make (err, errno, "write `%s`", path);
  return 0;
}

int
container_write_hosts (sv_container_t *c, stack_error_t **err)
{
  cleanup_free char *hosts = wiring_hosts (c->sv, c);

  return write_text (c->plan.spec.hosts_file, hosts, err);
}

static int
container_files (sv_container_t *c, stack_error_t **err)
{
  const container_spec_t *spec = &c->plan.spec;
  cleanup_free char *resolv = wiring_resolv (c->sv, c);
  cleanup_free char *hostname = NULL;
  const char *dirs[] = { sv_state (c)->dir, spec->upper_dir, spec->work_dir, spec->rootfs_dir };
  size_t i;

  /* 0700 only for the container's own directory: the upper layer's root
     is the container's "/", which every user in it must be able to enter */
  for (i = 0; i < ARRAY_SIZE (dirs); i++)
    if (mkdir_p (dirs[i], i == 0 ? 0700 : 0755) < 0)
      return stack_error_make (err, errno, "create `%s`", dirs[i]);
  hostname = xasprintf ("%s\n", spec->hostname ? spec->hostname : sv_state (c)->name);
  if (container_write_hosts (c, err) < 0
      || write_text (spec->hostname_file, hostname, err) < 0
      || write_text (spec->resolv_file, resolv, err) < 0)
    return -1;
  return 0;
}

/* ---- creating ---- */

static int
record_volumes (supervisor_t *sv, sv_container_t *c, stack_error_t **err)
{
  cleanup_free char *volumes_dir = state_volumes_dir ();
  size_t i, j;

  for (i = 0; i < c->plan.n_volumes; i++)
    {
      const plan_volume_t *v = &c->plan.volumes[i];
      struct stat st;
      bool known = false;

      /* the name becomes a path below volumes_dir: one component only */
      if (v->name[0] == '\0' || v->name[0] == '.' || strchr (v->name, '/'))
        return stack_error_make (err, EINVAL, "volume name `%s` is not a valid name", v->name);
      if (v->external)
        {
          if (stat (v->dir, &st) < 0)
            return stack_error_make (
                err, ENOENT, "external volume `%s` does not exist: create it first", v->name);
          continue;
        }
      for (j = 0; j < sv->st->n_volumes; j++)
        known |= strcmp (sv->st->volumes[j].name, v->name) == 0;
      if (!known)
        {
          st_volume_t *sv_v;
          sv->st->volumes
              = xrealloc (sv->st->volumes, (sv->st->n_volumes + 1) * sizeof *sv->st->volumes);
          sv_v = &sv->st->volumes[sv->st->n_volumes++];
          sv_v->name = xstrdup (v->name);
          sv_v->dir = xstrdup (v->dir);
          sv_v->anonymous = v->anonymous;
          if (state_save (sv->st, sv->run_dir, err) < 0)
            return -1;
        }
      if (volume_create (volumes_dir, v->name, sv->project->name, err) < 0)
        return -1;
    }
  return 0;
}

/* service:NAME namespaces: the running container of NAME. */
static const char *
ns_of (supervisor_t *sv, const char *service, const char *ns, stack_error_t **err)
{
  sv_container_t *o = sv_find (sv, service);

  if (o && o->phase == SV_RUNNING)
    return arena_printf (sv->project->arena, "/proc/%d/ns/%s", (int)o->rt.pid, ns);
  stack_error_make (err, ESRCH, "service `%s` is not running: its %s namespace cannot be joined",
                    service, ns);
  return NULL;
}

static int
namespaces (sv_container_t *c, stack_error_t **err)
{
  container_spec_t *spec = &c->plan.spec;
  supervisor_t *sv = c->sv;

  spec->host_net = c->plan.net == PLAN_NS_HOST;
  spec->host_ipc = c->plan.ipc == PLAN_NS_HOST;
  spec->host_pid = c->plan.pid == PLAN_NS_HOST;
  if (c->plan.net == PLAN_NS_SERVICE
      && (spec->join_net = ns_of (sv, c->plan.net_service, "net", err)) == NULL)
    return -1;
  if (c->plan.ipc == PLAN_NS_SERVICE
      && (spec->join_ipc = ns_of (sv, c->plan.ipc_service, "ipc", err)) == NULL)
    return -1;
  if (c->plan.pid == PLAN_NS_SERVICE
      && (spec->join_pid = ns_of (sv, c->plan.pid_service, "pid", err)) == NULL)
    return -1;
  return 0;
}

/* The image's ExposedPorts then the service's `expose` ("3000" is
   "3000/tcp"), each once, as `ps` shows them. */
static json_t *
exposed_ports (const sv_container_t *c)
{
  node_t *expose = node_map_get (c->svc->node, "expose");
  char **img = c->image->config.exposed_ports;
  json_t *out = json_array (), *x;
  size_t i, n = 0, k;

  for (i = 0; img && img[i]; i++)
    n++;
  for (i = 0; i < n + (expose ? expose->len : 0); i++)
    {
      const char *p = i < n ? img[i] : expose->items[i - n]->str;
      cleanup_free char *text = strchr (p, '/') ? xstrdup (p) : xasprintf ("%s/tcp", p);
      bool seen = false;

      json_array_foreach (out, k, x) seen = seen || strcmp (json_string_value (x), text) == 0;
      if (!seen)
        json_array_append_new (out, json_string (text));
    }
  return out;
}

/* The container's first life: its state entry (before anything of it
   exists), volumes, the hold on its image, its log. */
static int
record (supervisor_t *sv, sv_container_t *c, stack_error_t **err)
{
  container_spec_t *spec = &c->plan.spec;
  const char **layers;
  st_container_t *st;
  size_t i;

  c->st_index = sv->st->n_containers;
  st = state_add_container (sv->st);
  st->service = xstrdup (c->svc->name);
  st->name = xstrdup (spec->id);
  st->image = xstrdup (c->plan.image);
  st->image_id = xstrdup (c->image->id);
  st->dir = xstrdup (c->dir);
  st->cgroup = xstrdup (spec->cgroup_path);
  st->stop_signal = c->plan.stop_signal;
  st->stop_grace_ns = c->plan.stop_grace_ns;
  st->process = process_to_json (spec);
  st->config_hash = xstrdup (c->plan.config_hash);
  st->exposed = exposed_ports (c);
  c->recorded = true;
  if (state_save (sv->st, sv->run_dir, err) < 0)
    return -1;
  if (record_volumes (sv, c, err) < 0 || rt_image_hold (sv->store, c->image->id, st->name, err) < 0)
    return -1;
  if (mkdir_p (c->dir, 0700) < 0)
    return stack_error_make (err, errno, "create `%s`", c->dir);
  /* whose it is, for a `down` that finds no state (after a reboot) */
  if (mark_project (c->dir, sv->project->name, err) < 0)
    return -1;
  if (!c->plan.log_none
      && (c->log = logfile_open (c->dir, c->plan.log_max_size, c->plan.log_max_files, err)) == NULL)
    return -1;

  /* the store lists layers bottom first, the overlay topmost first */
  layers = arena_alloc (sv->project->arena, (c->image->n_layers + 1) * sizeof *layers);
  for (i = 0; i < c->image->n_layers; i++)
    layers[i] = c->image->layers[c->image->n_layers - 1 - i];
  spec->layers = layers;
  spec->n_layers = c->image->n_layers;
  sv_event (sv, c, "create", NULL);
  return 0;
}

static void output_cb (void *data, const char *stream, const char *text, size_t len);

int
container_start (supervisor_t *sv, sv_container_t *c, stack_error_t **err)
{
  container_spec_t *spec = &c->plan.spec;
  int out[2] = { -1, -1 }, errp[2] = { -1, -1 };
  st_container_t *st;
  int ret;

  if (!c->recorded && record (sv, c, err) < 0)
    return stack_error_wrap (err, "container `%s`", spec->id);
  if (container_files (c, err) < 0 || namespaces (c, err) < 0)
    return stack_error_wrap (err, "container `%s`", spec->id);

  spec->stdin_fd = -1;
  if (!spec->tty && (pipe2 (out, O_CLOEXEC) < 0 || pipe2 (errp, O_CLOEXEC) < 0))
    {
      ret = stack_error_make (err, errno, "container `%s`: pipe", spec->id);
      goto close_pipes;
    }
  spec->stdout_fd = out[1];
  spec->stderr_fd = errp[1];
  c->rt = (rt_container_t){ .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  ret = rt_container_create (spec, &c->rt, err);
  if (ret == 0 && !spec->tty)
    {
      /* ours are the read ends only: the output ends when the container's
         processes are gone */
      close (out[1]);
      close (errp[1]);
      out[1] = errp[1] = -1;
      logpipe_start (sv->loop, &c->out, out[0], "stdout", output_cb, c);
      logpipe_start (sv->loop, &c->err, errp[0], "stderr", output_cb, c);
      out[0] = errp[0] = -1;
    }
close_pipes:
  if (out[0] >= 0)
    close (out[0]);
  if (out[1] >= 0)
    close (out[1]);
  if (errp[0] >= 0)
    close (errp[0]);
  if (errp[1] >= 0)
    close (errp[1]);
  if (ret < 0)
    return -1;

  st = sv_state (c);
  st->pid = c->rt.pid;
  st->start_time = proc_start_time (c->rt.pid);
  c->phase = SV_RUNNING;
  ev_child_init (&c->child, sv_exited, c->rt.pid, 0);
  c->child.data = c;
  ev_child_start (sv->loop, &c->child);
  sv_save (sv);
  /* it waits on its sync channel: the service never runs without its
     network */
  if (wiring_container (sv, c, err) < 0)
    {
      stack_error_t *e = NULL;
      /* it never ran: gone at once, and seen by sv_exited */
      if (rt_container_kill (&c->rt, SIGKILL, &e) < 0)
        stack_error_free (&e);
      c->manual_stop = true;
      return stack_error_wrap (err, "container `%s`", spec->id);
    }
  if (rt_container_start (&c->rt, err) < 0)
    {
      stack_error_t *e = NULL;
      if (rt_container_kill (&c->rt, SIGKILL, &e) < 0)
        stack_error_free (&e);
      c->manual_stop = true;
      return -1;
    }
  st = sv_state (c);
  st->state = ST_RUNNING;
  st->exit_code = -1;
  st->oom_killed = false;
  st->health = ST_HEALTH_NONE;
  st->started_at = now_ns ();
  c->started_once = true;
  sv_save (sv);
  if (c->rt.pty_fd >= 0)
    {
      ev_io_init (&c->pty, container_pty_cb, c->rt.pty_fd, EV_READ);
      c->pty.data = c;
      ev_io_start (sv->loop, &c->pty);
    }
  sv_event (sv, c, "start", NULL);
  health_start (c);
  return 0;
}

/* ---- output ---- */

static void
output_cb (void *data, const char *stream, const char *text, size_t len)
{
  sv_container_t *c = data;
  supervisor_t *sv = c->sv;
  int64_t t;

  /* the end of one read: its records go to the file together */
  if (text == NULL)
    {
      logfile_flush (c->log);
      return;
    }
  t = now_ns ();
  if (c->log)
    logfile_write (c->log, t, stream, text, len);
  if (!sv->detached)
    log_print (stdout, c->plan.spec.id + strlen (sv->project->name) + 1, sv->name_width,
               sv->color ? log_color (c->color) : NULL, -1, text, len);
}

void
container_pty_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  sv_container_t *c = w->data;
  char buf[16384];
  ssize_t n = read (w->fd, buf, sizeof buf);

  (void)revents;
  if (n > 0)
    {
      output_cb (c, "stdout", buf, (size_t)n);
      output_cb (c, "stdout", NULL, 0);
      return;
    }
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  /* EIO: no process holds the terminal any more */
  ev_io_stop (loop, w);
}
