/* supervisor.c — one libev loop per project: the parent of every
   container's PID 1.

   Start-up creates the containers in start order, each recorded in the
   state file before it exists. Then the loop sees every exit (ev_child),
   answers the control socket (newline-delimited JSON), and on `down` (or
   SIGTERM, or Ctrl-C in the foreground) stops the containers wave by wave
   in reverse start order: stop signal, grace period, SIGKILL to the cgroup. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle-internal.h"

#define CONTROL_LINE_MAX 65536

static int64_t
now_ns (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static st_container_t *
st_of (sv_container_t *c)
{
  return &c->sv->st->containers[c->st_index];
}

void
progress (supervisor_t *sv, const char *name, const char *what)
{
  progress_of (sv, "Container", name, what);
}

void
progress_of (supervisor_t *sv, const char *kind, const char *name, const char *what)
{
  char line[512];
  int n = snprintf (line, sizeof line, " %s %s  %s\n", kind, name, what);

  if (sv->ready_fd >= 0)
    (void)!write (sv->ready_fd, line, (size_t)n);
  else
    fputs (line, stderr);
}

/* Save, or say why not: the loop goes on either way, and the next save
   carries this change too. */
static void
save (supervisor_t *sv)
{
  stack_error_t *err = NULL;

  if (state_save (sv->st, sv->run_dir, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
    }
}

/* ---- the files a container gets from us ---- */

static int
write_text (const char *path, const char *text, stack_error_t **err)
{
  cleanup_close int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

  if (fd < 0 || write (fd, text, strlen (text)) != (ssize_t)strlen (text))
    return stack_error_make (err, errno, "write `%s`", path);
  return 0;
}

static int
container_files (sv_container_t *c, stack_error_t **err)
{
  const container_spec_t *spec = &c->plan.spec;
  cleanup_free char *hosts = wiring_hosts (c->sv, c), *resolv = wiring_resolv (c->sv, c);
  cleanup_free char *hostname = NULL;
  const char *dirs[] = { st_of (c)->dir, spec->upper_dir, spec->work_dir, spec->rootfs_dir };
  size_t i;

  /* 0700 only for the container's own directory: the upper layer's root
     is the container's "/", which every user in it must be able to enter */
  for (i = 0; i < ARRAY_SIZE (dirs); i++)
    if (mkdir_p (dirs[i], i == 0 ? 0700 : 0755) < 0)
      return stack_error_make (err, errno, "create `%s`", dirs[i]);
  hostname = xasprintf ("%s\n", spec->hostname ? spec->hostname : st_of (c)->name);
  if (write_text (spec->hosts_file, hosts, err) < 0
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
  size_t i;

  for (i = 0; i < sv->n; i++)
    if (strcmp (sv->c[i].svc->name, service) == 0 && sv->c[i].running)
      return arena_printf (sv->project->arena, "/proc/%d/ns/%s", (int)sv->c[i].rt.pid, ns);
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

static void child_cb (struct ev_loop *loop, ev_child *w, int revents);
static void pty_cb (struct ev_loop *loop, ev_io *w, int revents);

static int
create_one (supervisor_t *sv, sv_container_t *c, stack_error_t **err)
{
  container_spec_t *spec = &c->plan.spec;
  const char **layers;
  st_container_t *st;
  size_t i;

  /* recorded before anything of it exists */
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
  if (state_save (sv->st, sv->run_dir, err) < 0)
    return -1;

  if (record_volumes (sv, c, err) < 0 || rt_image_hold (sv->store, c->image->id, st->name, err) < 0
      || container_files (c, err) < 0 || namespaces (c, err) < 0)
    return stack_error_wrap (err, "container `%s`", spec->id);

  /* the store lists layers bottom first, the overlay topmost first */
  layers = arena_alloc (sv->project->arena, (c->image->n_layers + 1) * sizeof *layers);
  for (i = 0; i < c->image->n_layers; i++)
    layers[i] = c->image->layers[c->image->n_layers - 1 - i];
  spec->layers = layers;
  spec->n_layers = c->image->n_layers;

  if (sv->detached)
    {
      cleanup_free char *log = xasprintf ("%s/output.log", st_of (c)->dir);
      c->log_fd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
      if (c->log_fd < 0)
        return stack_error_make (err, errno, "open `%s`", log);
      spec->stdout_fd = spec->stderr_fd = c->log_fd;
    }
  else
    {
      spec->stdout_fd = 1;
      spec->stderr_fd = 2;
    }
  spec->stdin_fd = -1;

  if (rt_container_create (spec, &c->rt, err) < 0)
    return -1;
  st = st_of (c);
  st->pid = c->rt.pid;
  st->start_time = proc_start_time (c->rt.pid);
  c->running = true;
  ev_child_init (&c->child, child_cb, c->rt.pid, 0);
  c->child.data = c;
  ev_child_start (sv->loop, &c->child);
  save (sv);
  /* it waits on its sync channel: the service never runs without its
     network */
  if (wiring_container (sv, c, err) < 0)
    {
      stack_error_t *e = NULL;
      /* it never ran: gone at once, and seen by child_cb */
      if (rt_container_kill (&c->rt, SIGKILL, &e) < 0)
        stack_error_free (&e);
      return stack_error_wrap (err, "container `%s`", spec->id);
    }
  if (rt_container_start (&c->rt, err) < 0)
    return -1;
  st = st_of (c);
  st->state = ST_RUNNING;
  st->started_at = now_ns ();
  save (sv);
  if (c->rt.pty_fd >= 0)
    {
      ev_io_init (&c->pty, pty_cb, c->rt.pty_fd, EV_READ);
      c->pty.data = c;
      ev_io_start (sv->loop, &c->pty);
    }
  progress (sv, spec->id, "Started");
  return 0;
}

/* ---- exits ---- */

static void stop_progress (supervisor_t *sv);

static void
pty_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  sv_container_t *c = w->data;
  char buf[16384];
  ssize_t n = read (w->fd, buf, sizeof buf);

  (void)revents;
  if (n > 0)
    {
      int fd = c->log_fd >= 0 ? c->log_fd : 1;
      (void)!write (fd, buf, (size_t)n);
      return;
    }
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  /* EIO: no process holds the terminal any more */
  ev_io_stop (loop, w);
}

static void
child_cb (struct ev_loop *loop, ev_child *w, int revents)
{
  sv_container_t *c = w->data;
  supervisor_t *sv = c->sv;
  stack_error_t *err = NULL;
  st_container_t *st;
  int status = w->rstatus;

  (void)revents;
  ev_child_stop (loop, w);
  if (ev_is_active (&c->pty))
    {
      /* what the terminal still holds, then no more */
      pty_cb (loop, &c->pty, EV_READ);
      ev_io_stop (loop, &c->pty);
    }
  st = st_of (c);
  st->exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  st->oom_killed = rt_container_oom_killed (c->rt.cgroup_path);
  st->state = ST_EXITED;
  st->pid = 0;
  st->start_time = 0;
  st->finished_at = now_ns ();
  c->running = false;
  if (rt_container_destroy (&c->rt, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
    }
  save (sv);
  if (sv->stopping)
    stop_progress (sv);
  else if (!sv->detached)
    {
      size_t i;
      for (i = 0; i < sv->n && !sv->c[i].running; i++)
        ;
      if (i == sv->n)
        ev_break (loop, EVBREAK_ALL);
    }
}

/* ---- stopping ---- */

static void
reply_waiters (supervisor_t *sv, const char *line)
{
  size_t i;

  for (i = 0; i < sv->n_waiters; i++)
    {
      (void)!send (sv->waiters[i], line, strlen (line), MSG_NOSIGNAL);
      close (sv->waiters[i]);
    }
  sv->n_waiters = 0;
}

static void
finish (supervisor_t *sv)
{
  stack_error_t *err = NULL;
  size_t i;

  ev_timer_stop (sv->loop, &sv->grace);
  for (i = 0; i < sv->n; i++)
    if (sv->c[i].log_fd >= 0)
      {
        close (sv->c[i].log_fd);
        sv->c[i].log_fd = -1;
      }
  if (sv->remove)
    {
      if (remove_project (sv->st, sv->run_dir, sv->store, &err) < 0)
        {
          char *line = NULL;
          json_t *j = json_pack ("{sbss}", "ok", 0, "error", err->msg);
          line = json_dumps (j, JSON_COMPACT);
          fprintf (stderr, "stack: %s\n", err->msg);
          reply_waiters (sv, line);
          free (line);
          json_decref (j);
          stack_error_free (&err);
          sv->exit_code = 1;
        }
      else
        reply_waiters (sv, "{\"ok\":true}\n");
    }
  else
    save (sv);
  ev_break (sv->loop, EVBREAK_ALL);
}

/* Signal the highest wave that still runs; when none runs, finish. */
static void
stop_progress (supervisor_t *sv)
{
  size_t i, wave = 0;
  bool any = false;
  int64_t grace = 0;

  if (sv->wave_active)
    for (i = 0; i < sv->n; i++)
      if (sv->c[i].running && sv->c[i].svc->wave == sv->stop_wave)
        return; /* the current wave is not done */
  sv->wave_active = false;
  ev_timer_stop (sv->loop, &sv->grace);
  for (i = 0; i < sv->n; i++)
    if (sv->c[i].running && (!any || sv->c[i].svc->wave > wave))
      {
        wave = sv->c[i].svc->wave;
        any = true;
      }
  if (!any)
    {
      finish (sv);
      return;
    }
  sv->stop_wave = wave;
  sv->wave_active = true;
  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = &sv->c[i];
      int64_t g = sv->grace_override_ns >= 0 ? sv->grace_override_ns : c->plan.stop_grace_ns;
      stack_error_t *err = NULL;
      if (!c->running || c->svc->wave != wave)
        continue;
      progress (sv, c->plan.spec.id, "Stopping");
      if (rt_container_kill (&c->rt, c->plan.stop_signal, &err) < 0)
        {
          fprintf (stderr, "stack: %s\n", err->msg);
          stack_error_free (&err);
        }
      if (g > grace)
        grace = g;
    }
  ev_timer_set (&sv->grace, (double)grace / 1e9, 0.);
  ev_timer_start (sv->loop, &sv->grace);
}

static void
kill_wave (supervisor_t *sv, bool all)
{
  size_t i;

  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = &sv->c[i];
      stack_error_t *err = NULL;
      if (!c->running || (!all && c->svc->wave != sv->stop_wave))
        continue;
      if (rt_container_kill (&c->rt, SIGKILL, &err) < 0)
        {
          fprintf (stderr, "stack: %s\n", err->msg);
          stack_error_free (&err);
        }
    }
}

static void
grace_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  supervisor_t *sv = w->data;

  (void)loop, (void)revents;
  /* the exits come through child_cb, which moves on to the next wave */
  kill_wave (sv, false);
}

static void
stop_all (supervisor_t *sv, bool remove, int64_t grace_override_ns)
{
  if (remove)
    sv->remove = true;
  if (sv->stopping)
    return;
  sv->stopping = true;
  sv->grace_override_ns = grace_override_ns;
  stop_progress (sv);
}

static void
signal_cb (struct ev_loop *loop, ev_signal *w, int revents)
{
  supervisor_t *sv = w->data;

  (void)loop, (void)revents;
  if (sv->stopping && w->signum == SIGINT)
    {
      /* a second Ctrl-C: no more waiting */
      fputs ("stack: killing\n", stderr);
      kill_wave (sv, true);
      return;
    }
  if (w->signum == SIGINT)
    fputs ("stack: stopping (Ctrl-C again to kill)\n", stderr);
  stop_all (sv, false, -1);
}

/* ---- the control socket ---- */

typedef struct client
{
  ev_io io;
  supervisor_t *sv;
  strbuf_t in;
} client_t;

static void
client_close (struct ev_loop *loop, client_t *cl, bool keep_fd)
{
  ev_io_stop (loop, &cl->io);
  if (!keep_fd)
    close (cl->io.fd);
  sb_free (&cl->in);
  free (cl);
}

static void
client_reply (int fd, json_t *j)
{
  char *text = json_dumps (j, JSON_COMPACT);

  if (text)
    {
      (void)!send (fd, text, strlen (text), MSG_NOSIGNAL);
      (void)!send (fd, "\n", 1, MSG_NOSIGNAL);
    }
  free (text);
  json_decref (j);
}

/* One request; returns true when the client's fd was kept to answer later. */
static bool
client_request (supervisor_t *sv, int fd, const char *line)
{
  json_error_t jerr;
  json_t *req = json_loads (line, 0, &jerr);
  const char *cmd = json_string_value (json_object_get (req, "command"));
  bool kept = false;

  if (cmd && strcmp (cmd, "ping") == 0)
    client_reply (fd, json_pack ("{sbsi}", "ok", 1, "pid", (int)getpid ()));
  else if (cmd && strcmp (cmd, "down") == 0)
    {
      json_t *t = json_object_get (req, "timeout");
      if (sv->n_waiters == SV_MAX_WAITERS)
        client_reply (fd, json_pack ("{sbss}", "ok", 0, "error", "too many waiting clients"));
      else
        {
          sv->waiters[sv->n_waiters++] = fd;
          kept = true;
          stop_all (sv, true, json_is_integer (t) ? json_integer_value (t) * 1000000000 : -1);
        }
    }
  else
    client_reply (fd, json_pack ("{sbss}", "ok", 0, "error", "unknown command"));
  json_decref (req);
  return kept;
}

static void
client_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  client_t *cl = (client_t *)w;
  char buf[4096], *nl;
  ssize_t n = recv (w->fd, buf, sizeof buf, 0);

  (void)revents;
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0 || cl->in.len + (size_t)n > CONTROL_LINE_MAX)
    {
      client_close (loop, cl, false);
      return;
    }
  sb_put (&cl->in, buf, (size_t)n);
  if ((nl = memchr (cl->in.s, '\n', cl->in.len)) == NULL)
    return;
  *nl = '\0';
  client_close (loop, cl, client_request (cl->sv, w->fd, cl->in.s));
}

static void
listen_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  supervisor_t *sv = w->data;
  client_t *cl;
  int fd = accept4 (w->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

  (void)revents;
  if (fd < 0)
    return;
  cl = xzalloc (sizeof *cl);
  cl->sv = sv;
  ev_io_init (&cl->io, client_cb, fd, EV_READ);
  ev_io_start (loop, &cl->io);
}

/* ---- the whole ---- */

static void
ready (supervisor_t *sv, const char *error)
{
  if (sv->ready_fd < 0)
    return;
  if (error)
    dprintf (sv->ready_fd, "error %s\n", error);
  else
    dprintf (sv->ready_fd, "ok\n");
  close (sv->ready_fd);
  sv->ready_fd = -1;
}

int
supervisor_run (supervisor_t *sv)
{
  stack_error_t *err = NULL;
  size_t i;

  sv->loop = ev_default_loop (EVFLAG_AUTO);
  sv->exit_code = 0;
  sv->grace_override_ns = -1;
  signal (SIGPIPE, SIG_IGN);
  ev_timer_init (&sv->grace, grace_cb, 0., 0.);
  sv->grace.data = sv;
  ev_signal_init (&sv->sigterm, signal_cb, SIGTERM);
  sv->sigterm.data = sv;
  ev_signal_start (sv->loop, &sv->sigterm);
  ev_signal_init (&sv->sigint, signal_cb, SIGINT);
  sv->sigint.data = sv;
  ev_signal_start (sv->loop, &sv->sigint);
  ev_unref (sv->loop);
  ev_unref (sv->loop);

  sv->st->supervisor_pid = getpid ();
  sv->st->supervisor_start = proc_start_time (getpid ());
  if ((sv->listen_fd = control_listen (sv->run_dir, &err)) < 0)
    goto failed;
  ev_io_init (&sv->listen, listen_cb, sv->listen_fd, EV_READ);
  sv->listen.data = sv;
  ev_io_start (sv->loop, &sv->listen);

  for (i = 0; i < sv->n; i++)
    {
      sv->c[i].sv = sv;
      sv->c[i].log_fd = -1;
    }
  if (wiring_up (sv, &err) < 0)
    goto failed;
  for (i = 0; i < sv->n; i++)
    if (create_one (sv, &sv->c[i], &err) < 0)
      goto failed;
  ready (sv, NULL);
  if (!sv->detached)
    {
      /* the foreground ends when every container has ended */
      for (i = 0; i < sv->n && !sv->c[i].running; i++)
        ;
      if (i == sv->n)
        goto out;
    }
  ev_run (sv->loop, 0);
  goto out;

failed:
  fprintf (stderr, "stack: %s\n", err->msg);
  ready (sv, err->msg);
  stack_error_free (&err);
  sv->exit_code = 1;
  /* take down what came up, at once */
  for (i = 0; i < sv->n && !sv->c[i].running; i++)
    ;
  if (i < sv->n)
    {
      stop_all (sv, true, 0);
      ev_run (sv->loop, 0);
    }
  else if (remove_project (sv->st, sv->run_dir, sv->store, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
    }

out:
  wiring_release_ports (sv);
  if (sv->listen_fd >= 0)
    {
      cleanup_free char *sock = xasprintf ("%s/control.sock", sv->run_dir);
      ev_io_stop (sv->loop, &sv->listen);
      close (sv->listen_fd);
      unlink (sock);
    }
  return sv->exit_code;
}
