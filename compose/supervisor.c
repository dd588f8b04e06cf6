/* supervisor.c — one libev loop per project: the parent of every
   container's PID 1.

   Each container moves through sv_phase: it waits for its dependencies'
   conditions, is created (recorded in the state first) and started, and
   when its PID 1 exits (ev_child) its restart policy decides whether it
   starts again after a delay that doubles from 100 ms. Operations (the
   first `up`, then start, stop, restart, down and reconciling `up`s from
   the control socket) run one at a time: a stop phase in reverse
   dependency order (stop signal, then SIGKILL to the cgroup at the end of
   the grace period), then a start phase in dependency order. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle-internal.h"

#define MS 1000000LL
#define BACKOFF_FIRST_NS (100 * MS)
#define BACKOFF_MAX_NS (60000 * MS)
/* a container that ran this long starts its next backoff from the first
   delay again (Docker's rule) */
#define BACKOFF_RESET_NS (10000 * MS)

st_container_t *
sv_state (sv_container_t *c)
{
  return &c->sv->st->containers[c->st_index];
}

/* Save, or say why not: the loop goes on either way, and the next save
   carries this change too. */
void
sv_save (supervisor_t *sv)
{
  stack_error_t *err = NULL;

  if (state_save (sv->st, sv->run_dir, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
    }
}

static void
complain (stack_error_t **err)
{
  fprintf (stderr, "stack: %s\n", (*err)->msg);
  stack_error_free (err);
}

void
sv_progress (supervisor_t *sv, const char *fmt, ...)
{
  cleanup_free char *line = NULL;
  va_list ap;

  va_start (ap, fmt);
  line = xvasprintf (fmt, ap);
  va_end (ap);
  if (sv->op && sv->op->client)
    control_send (sv->op->client, json_pack ("{ss}", "progress", line));
  else if (sv->ready_fd >= 0)
    dprintf (sv->ready_fd, "%s\n", line);
  else
    fprintf (stderr, "%s\n", line);
}

void
progress (supervisor_t *sv, const char *name, const char *what)
{
  progress_of (sv, "Container", name, what);
}

void
progress_of (supervisor_t *sv, const char *kind, const char *name, const char *what)
{
  sv_progress (sv, " %s %s  %s", kind, name, what);
}

void
sv_event (supervisor_t *sv, sv_container_t *c, const char *action, json_t *attrs)
{
  char ts[RFC3339_NS_LEN];
  json_t *e;

  if (sv->n_subs == 0)
    {
      json_decref (attrs);
      return;
    }
  time_rfc3339_ns (now_ns (), ts);
  if (attrs == NULL)
    attrs = json_object ();
  json_object_set_new (attrs, "name", json_string (c->plan.spec.id));
  json_object_set_new (attrs, "image", json_string (c->plan.image));
  e = json_pack ("{ss ss ss ss ss so}", "time", ts, "type", "container", "action", action, "id",
                 c->plan.spec.id, "service", c->svc->name, "attributes", attrs);
  control_broadcast (sv, e);
}

sv_container_t *
sv_find (supervisor_t *sv, const char *service)
{
  size_t i;

  for (i = 0; i < sv->n; i++)
    if (strcmp (sv->c[i]->svc->name, service) == 0 && !sv->c[i]->remove)
      return sv->c[i];
  return NULL;
}

/* ---- operations ---- */

static void op_next (supervisor_t *sv);
static void op_check (supervisor_t *sv);
static void stop_progress (supervisor_t *sv);

/* The last lines c wrote, to explain why it failed. */
static char *
last_output (sv_container_t *c)
{
  cleanup_free char *path = xasprintf ("%s/json.log", c->dir);
  FILE *f = fopen (path, "re");
  char *lines[5] = { 0 }, buf[4096];
  size_t n = 0, i;
  strbuf_t b = { 0 };

  if (f == NULL)
    return xstrdup ("");
  while (fgets (buf, sizeof buf, f))
    {
      json_t *j = json_loads (buf, 0, NULL);
      const char *text = json_string_value (json_object_get (j, "log"));
      if (text)
        {
          free (lines[n % 5]);
          lines[n % 5] = xstrdup (text);
          n++;
        }
      json_decref (j);
    }
  fclose (f);
  for (i = n > 5 ? n - 5 : 0; i < n; i++)
    {
      const char *s = lines[i % 5];
      sb_printf (&b, "\n  %s | %.*s", c->svc->name, (int)strcspn (s, "\n"), s);
    }
  for (i = 0; i < 5; i++)
    free (lines[i]);
  return sb_steal (&b);
}

static bool
op_kind_starts (enum sv_op_kind k)
{
  return k == OP_UP || k == OP_START || k == OP_RESTART;
}

/* Is c among what the operation stops? A reconcile stops only what it
   replaces or removes. */
static bool
op_stops (const sv_op_t *op, const sv_container_t *c)
{
  return op->kind == OP_UP ? c->remove : c->in_op;
}

static void
op_free (sv_op_t *op)
{
  json_decref (op->services);
  json_decref (op->reconcile);
  free (op);
}

/* The operation under way is over: answer, and go on with the next. */
static void
op_done (supervisor_t *sv, const char *error)
{
  sv_op_t *op = sv->op;
  enum sv_op_kind op_kind;
  bool first;
  size_t i;

  if (op == NULL)
    return;
  first = op->client == NULL;
  op_kind = op->kind;
  ev_timer_stop (sv->loop, &sv->tick);
  for (i = 0; i < sv->n; i++)
    sv->c[i]->in_op = false;
  if (op->client)
    control_finish (op->client, error ? json_pack ("{sbss}", "ok", 0, "error", error)
                                      : json_pack ("{sb}", "ok", 1));
  else if (sv->ready_fd >= 0)
    {
      if (error)
        dprintf (sv->ready_fd, "error %s\n", error);
      else
        dprintf (sv->ready_fd, "ok\n");
      close (sv->ready_fd);
      sv->ready_fd = -1;
    }
  else if (error)
    fprintf (stderr, "stack: %s\n", error);
  sv->op = op->next;
  if (op->kind == OP_DOWN)
    sv->ending = true;
  op_free (op);
  if (error && first && op_kind_starts (op_kind))
    {
      /* the first `up` failed: nothing of it stays */
      sv->exit_code = 1;
      if (sv->op == NULL || sv->op->kind != OP_DOWN)
        {
          sv_queue (sv, NULL, OP_DOWN, NULL);
          return;
        }
    }
  op_next (sv);
}

static void
op_fail (supervisor_t *sv, const char *fmt, ...) PRINTF_LIKE (2, 3);

static void
op_fail (supervisor_t *sv, const char *fmt, ...)
{
  cleanup_free char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  op_done (sv, msg);
}

/* Is service among those named (an empty list names them all)? */
static bool
named (json_t *services, const char *service)
{
  size_t j;
  json_t *name;

  if (json_array_size (services) == 0)
    return true;
  json_array_foreach (services, j, name)
  if (json_is_string (name) && strcmp (json_string_value (name), service) == 0)
    return true;
  return false;
}

/* Every name must be a service of the project. */
static int
check_named (supervisor_t *sv, json_t *services, stack_error_t **err)
{
  size_t i, j;
  json_t *name;

  json_array_foreach (services, j, name)
  {
    const char *s = json_string_value (name);
    bool found = false;
    for (i = 0; s && i < sv->n && !found; i++)
      found = strcmp (sv->c[i]->svc->name, s) == 0;
    if (!found)
      return stack_error_set (err, 0, "no such service: `%s`", s ? s : "?");
  }
  return 0;
}

/* in_op for the services named and, when starting, what they depend on. */
static int
select_services (supervisor_t *sv, json_t *services, bool with_deps, stack_error_t **err)
{
  size_t i, k;
  bool grew = true;

  if (check_named (sv, services, err) < 0)
    return -1;
  for (i = 0; i < sv->n; i++)
    sv->c[i]->in_op = named (services, sv->c[i]->svc->name);
  while (with_deps && grew)
    {
      grew = false;
      for (i = 0; i < sv->n; i++)
        for (k = 0; sv->c[i]->in_op && k < sv->c[i]->plan.n_deps; k++)
          {
            sv_container_t *d = sv_find (sv, sv->c[i]->plan.deps[k].service);
            if (d && !d->in_op)
              grew = d->in_op = true;
          }
    }
  return 0;
}

/* depends_on with `restart: true`: restarting a dependency restarts its
   dependant too (transitively). */
static void
restart_dependants (supervisor_t *sv)
{
  bool grew = true;
  size_t i, k;

  while (grew)
    {
      grew = false;
      for (i = 0; i < sv->n; i++)
        for (k = 0; !sv->c[i]->in_op && k < sv->c[i]->plan.n_deps; k++)
          {
            sv_container_t *d = sv_find (sv, sv->c[i]->plan.deps[k].service);
            if (sv->c[i]->plan.deps[k].restart && d && d->in_op && sv->c[i]->phase == SV_RUNNING)
              grew = sv->c[i]->in_op = true;
          }
    }
}

static void
tick_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  supervisor_t *sv = w->data;
  size_t i;

  (void)loop, (void)revents;
  if (sv->op == NULL || sv->op->deadline_ns == 0 || mono_ns () < sv->op->deadline_ns)
    return;
  for (i = 0; i < sv->n; i++)
    if (sv->c[i]->in_op
        && (sv->c[i]->phase != SV_RUNNING || sv_state (sv->c[i])->health == ST_HEALTH_STARTING))
      {
        op_fail (sv, "service `%s` is not %s after the wait timeout", sv->c[i]->svc->name,
                 sv_state (sv->c[i])->health == ST_HEALTH_STARTING ? "healthy" : "running");
        return;
      }
}

static void
start_phase (supervisor_t *sv)
{
  size_t i;

  sv->op->stopping = false;
  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      if (!c->in_op)
        continue;
      if (c->phase == SV_EXITED)
        {
          c->phase = SV_WAITING;
          c->manual_stop = false;
        }
    }
  op_check (sv);
}

static void
op_start (supervisor_t *sv)
{
  sv_op_t *op = sv->op;
  stack_error_t *err = NULL;

  if (op->deadline_ns)
    {
      ev_timer_set (&sv->tick, 0.1, 0.1);
      ev_timer_start (sv->loop, &sv->tick);
    }
  if (op->kind == OP_UP && op->reconcile && reconcile_prepare (sv, op->reconcile, &err) < 0)
    {
      op_fail (sv, "%s", err->msg);
      stack_error_free (&err);
      return;
    }
  if (op->kind != OP_UP || op->reconcile == NULL)
    if (select_services (sv, op->services, op->kind == OP_START || op->kind == OP_UP, &err) < 0)
      {
        op_fail (sv, "%s", err->msg);
        stack_error_free (&err);
        return;
      }
  if (op->kind == OP_RESTART)
    restart_dependants (sv);
  switch (op->kind)
    {
    case OP_UP:
      op->stopping = op->reconcile != NULL;
      if (op->stopping)
        stop_progress (sv);
      else
        start_phase (sv);
      break;
    case OP_START:
      start_phase (sv);
      break;
    case OP_STOP:
    case OP_RESTART:
    case OP_DOWN:
      op->stopping = true;
      stop_progress (sv);
      break;
    }
}

static void foreground_end (supervisor_t *sv);

static void
op_next (supervisor_t *sv)
{
  if (sv->op)
    op_start (sv);
  else if (sv->ending)
    ev_break (sv->loop, EVBREAK_ALL);
  else
    foreground_end (sv);
}

void
sv_queue (supervisor_t *sv, struct client *cl, enum sv_op_kind kind, json_t *req)
{
  sv_op_t *op = xzalloc (sizeof *op), **tail;
  json_t *services = json_object_get (req, "services"), *t = json_object_get (req, "timeout");
  json_t *wt = json_object_get (req, "wait_timeout");
  int64_t wait_timeout_ns = json_is_integer (wt) ? json_integer_value (wt) * 1000000000LL : 0;

  op->kind = kind;
  op->client = cl;
  op->grace_ns = json_is_integer (t) ? json_integer_value (t) * 1000000000LL : -1;
  op->wait = json_is_true (json_object_get (req, "wait"));
  if (cl == NULL && kind == OP_UP)
    {
      /* the first `up`: its own options */
      op->wait = sv->wait;
      wait_timeout_ns = sv->wait_timeout_ns;
    }
  if (cl == NULL && kind == OP_DOWN && sv->exit_code != 0)
    op->grace_ns = 0; /* the first `up` failed: no waiting */
  op->deadline_ns = op->wait && wait_timeout_ns > 0 ? mono_ns () + wait_timeout_ns : 0;
  op->services = json_is_array (services) ? json_incref (services) : json_array ();
  if (kind == OP_UP && cl)
    op->reconcile = json_incref (req);
  if (kind == OP_DOWN)
    {
      /* down goes first: whatever waits behind it would only be undone */
      sv_op_t *o;
      for (o = sv->op ? sv->op->next : NULL; o; o = o->next)
        if (o->client)
          {
            control_finish (o->client,
                            json_pack ("{sbss}", "ok", 0, "error", "the project is going down"));
            o->client = NULL;
          }
      if (sv->op)
        {
          while (sv->op->next)
            {
              sv_op_t *o2 = sv->op->next;
              sv->op->next = o2->next;
              op_free (o2);
            }
          /* an operation that starts things gives way at once */
          if (!sv->op->stopping)
            {
              op->next = NULL;
              sv->op->next = op;
              op_done (sv, "interrupted: the project is going down");
              return;
            }
        }
    }
  for (tail = &sv->op; *tail; tail = &(*tail)->next)
    ;
  *tail = op;
  if (sv->op == op)
    op_start (sv);
  return;
}

/* ---- starting: each container when its dependencies allow ---- */

/* 1: met, 0: not yet, -1: never (msg says why). */
static int
dep_met (supervisor_t *sv, sv_container_t *c, const plan_dep_t *d, char **msg)
{
  sv_container_t *o = sv_find (sv, d->service);
  st_container_t *st;

  if (o == NULL)
    {
      *msg = xasprintf ("service `%s` depends on `%s`, which is not part of this `up`",
                        c->svc->name, d->service);
      return -1;
    }
  if (!o->recorded)
    return 0;
  st = sv_state (o);
  switch (d->condition)
    {
    case PLAN_DEP_STARTED:
      return o->started_once;
    case PLAN_DEP_HEALTHY:
      if (o->plan.health.argv == NULL)
        {
          *msg = xasprintf ("service `%s` depends on `%s` being healthy, but `%s` has no "
                            "healthcheck: add one, or use condition: service_started",
                            c->svc->name, d->service, d->service);
          return -1;
        }
      if (st->health == ST_HEALTH_HEALTHY)
        return 1;
      if (st->health == ST_HEALTH_UNHEALTHY || o->phase == SV_EXITED)
        {
          cleanup_free char *out = last_output (o);
          *msg = xasprintf ("dependency failed to start: container `%s` is %s%s", st->name,
                            o->phase == SV_EXITED ? "not running" : "unhealthy", out);
          return -1;
        }
      return 0;
    case PLAN_DEP_COMPLETED:
      if (o->phase != SV_EXITED || !o->started_once)
        return 0;
      if (st->exit_code == 0)
        return 1;
      {
        cleanup_free char *out = last_output (o);
        *msg = xasprintf ("service `%s` did not complete successfully: exit %d%s", d->service,
                          st->exit_code, out);
      }
      return -1;
    }
  return 0;
}

/* Start what may start; end the operation when its containers are all up
   (and healthy, with --wait). */
static void
op_check_once (supervisor_t *sv)
{
  sv_op_t *op = sv->op;
  bool done = true;
  size_t i, k;

  if (op == NULL || op->stopping)
    return;
  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      stack_error_t *err = NULL;
      bool ready = true;

      if (!c->in_op)
        continue;
      if (c->phase == SV_WAITING)
        {
          for (k = 0; k < c->plan.n_deps && ready; k++)
            {
              char *msg = NULL;
              int met = dep_met (sv, c, &c->plan.deps[k], &msg);
              if (met < 0 && !c->plan.deps[k].required)
                {
                  sv_progress (sv, "stack: warning: %s; `%s` starts anyway (required: false)",
                               msg, c->svc->name);
                  met = 1;
                }
              free (msg);
              if (met < 0)
                {
                  char *m = NULL;
                  dep_met (sv, c, &c->plan.deps[k], &m);
                  op_fail (sv, "%s", m);
                  free (m);
                  return;
                }
              ready = met == 1;
            }
          if (!ready)
            {
              done = false;
              continue;
            }
          if (container_start (sv, c, &err) < 0)
            {
              /* it may be half made: recorded, so down removes it; a
                 PID 1 that was made is killed, and seen by sv_exited */
              if (c->phase == SV_WAITING)
                c->phase = SV_EXITED;
              op_fail (sv, "%s", err->msg);
              stack_error_free (&err);
              return;
            }
          progress (sv, c->plan.spec.id, "Started");
          /* the operation may have been replaced meanwhile (an exit) */
          if (sv->op != op)
            return;
        }
      if (!c->recorded)
        continue;
      /* --wait: a container its policy restarts may yet come up */
      if (op->wait
          && ((c->phase == SV_RUNNING && sv_state (c)->health == ST_HEALTH_STARTING)
              || c->phase == SV_BACKOFF))
        done = false;
      if (op->wait && (sv_state (c)->health == ST_HEALTH_UNHEALTHY
                       || (c->phase == SV_EXITED && sv_state (c)->exit_code != 0)))
        {
          cleanup_free char *out = last_output (c);
          op_fail (sv, "service `%s` is %s%s", c->svc->name,
                   c->phase == SV_EXITED ? "not running" : "unhealthy", out);
          return;
        }
    }
  if (done)
    {
      if (op->wait)
        for (i = 0; i < sv->n; i++)
          if (sv->c[i]->in_op && sv_state (sv->c[i])->health == ST_HEALTH_HEALTHY)
            progress (sv, sv->c[i]->plan.spec.id, "Healthy");
      op_done (sv, NULL);
    }
}

/* Starting a container reports its health ("starting"), which asks for
   a check: one pass at a time, again when asked meanwhile. */
static void
op_check (supervisor_t *sv)
{
  if (sv->checking)
    {
      sv->recheck = true;
      return;
    }
  sv->checking = true;
  do
    {
      sv->recheck = false;
      op_check_once (sv);
    }
  while (sv->recheck);
  sv->checking = false;
}

void
sv_health_changed (sv_container_t *c)
{
  supervisor_t *sv = c->sv;
  st_container_t *st = sv_state (c);

  sv_save (sv);
  if (st->health != ST_HEALTH_NONE)
    sv_event (sv, c, "health_status",
              json_pack ("{ss}", "health_status", st_health_name (st->health)));
  op_check (sv);
}

/* ---- exits ---- */

static bool
wants_restart (sv_container_t *c, int exit_code)
{
  supervisor_t *sv = c->sv;

  if (c->manual_stop || sv->ending || (sv->op && sv->op->kind == OP_DOWN) || sv->interrupted)
    return false;
  switch (c->plan.restart)
    {
    case PLAN_RESTART_ALWAYS:
    case PLAN_RESTART_UNLESS_STOPPED:
      return true;
    case PLAN_RESTART_ON_FAILURE:
      return exit_code != 0
             && (c->plan.max_restarts == 0 || sv_state (c)->restarts < c->plan.max_restarts);
    default:
      return false;
    }
}

static void
restart_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  sv_container_t *c = w->data;
  supervisor_t *sv = c->sv;
  stack_error_t *err = NULL;

  (void)loop, (void)revents;
  if (c->phase != SV_BACKOFF)
    return;
  sv_state (c)->restarts++;
  sv_event (sv, c, "restart", NULL);
  if (container_start (sv, c, &err) < 0)
    {
      /* said once; the policy tries again on the next exit, if any */
      fprintf (stderr, "stack: restart of `%s` failed: %s\n", c->plan.spec.id, err->msg);
      stack_error_free (&err);
      if (c->phase != SV_RUNNING)
        {
          c->phase = SV_EXITED;
          sv_state (c)->state = ST_EXITED;
          sv_save (sv);
        }
    }
}

void
sv_exited (struct ev_loop *loop, ev_child *w, int revents)
{
  sv_container_t *c = w->data;
  supervisor_t *sv = c->sv;
  stack_error_t *err = NULL;
  st_container_t *st;
  int status = w->rstatus, code;
  bool was_stopping = c->phase == SV_STOPPING;
  int64_t ran;

  (void)revents;
  ev_child_stop (loop, w);
  ev_timer_stop (loop, &c->kill);
  health_stop (c);
  if (ev_is_active (&c->pty))
    {
      /* what the terminal still holds, then no more */
      container_pty_cb (loop, &c->pty, EV_READ);
      ev_io_stop (loop, &c->pty);
    }
  st = sv_state (c);
  code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  st->exit_code = code;
  st->oom_killed = rt_container_oom_killed (c->rt.cgroup_path);
  st->pid = 0;
  st->start_time = 0;
  st->finished_at = now_ns ();
  /* the cgroup's leftovers die here: the pipes' writers are gone after */
  if (rt_container_destroy (&c->rt, &err) < 0)
    complain (&err);
  logpipe_stop (loop, &c->out);
  logpipe_stop (loop, &c->err);
  if (st->oom_killed)
    sv_event (sv, c, "oom", NULL);
  sv_event (sv, c, "die", json_pack ("{si}", "exitCode", code));
  if (was_stopping)
    {
      sv_event (sv, c, "stop", NULL);
      progress (sv, c->plan.spec.id, "Stopped");
    }

  ran = st->finished_at - st->started_at;
  if (wants_restart (c, code) && !was_stopping)
    {
      if (c->backoff_ns == 0 || ran >= BACKOFF_RESET_NS)
        c->backoff_ns = BACKOFF_FIRST_NS;
      c->phase = SV_BACKOFF;
      st->state = ST_RESTARTING;
      ev_timer_init (&c->restart, restart_cb, (double)c->backoff_ns / 1e9, 0.);
      c->restart.data = c;
      ev_timer_start (loop, &c->restart);
      c->backoff_ns = c->backoff_ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : c->backoff_ns * 2;
    }
  else
    {
      c->phase = SV_EXITED;
      st->state = ST_EXITED;
      if (!was_stopping && !sv->detached)
        sv_progress (sv, "%s exited with code %d", c->plan.spec.id + strlen (sv->project->name) + 1,
                     code);
    }
  sv_save (sv);

  if (sv->abort_on_exit && !sv->ending && !(sv->op && sv->op->kind == OP_DOWN)
      && !sv->interrupted && !was_stopping)
    {
      /* --abort-on-container-exit: the first exit ends it all */
      if (sv->exit_code_from == NULL || strcmp (sv->exit_code_from, c->svc->name) == 0)
        sv->exit_code = code;
      sv->interrupted = true;
      sv_progress (sv, "Aborting on container exit...");
      if (sv->op)
        op_done (sv, NULL);
      sv_queue (sv, NULL, OP_STOP, NULL);
      return;
    }
  if (sv->exit_code_from && strcmp (sv->exit_code_from, c->svc->name) == 0 && c->phase == SV_EXITED)
    sv->exit_code = code;
  if (sv->op && sv->op->stopping)
    stop_progress (sv);
  else
    op_check (sv);
  foreground_end (sv);
}

/* In the foreground `up` ends once nothing runs or will run again. */
static void
foreground_end (supervisor_t *sv)
{
  size_t i;

  if (sv->detached || sv->op)
    return;
  for (i = 0; i < sv->n; i++)
    if (sv->c[i]->phase != SV_EXITED)
      return;
  sv->ending = true;
  ev_break (sv->loop, EVBREAK_ALL);
}

/* ---- stopping ---- */

static void
kill_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  sv_container_t *c = w->data;
  stack_error_t *err = NULL;

  (void)loop, (void)revents;
  if (c->phase == SV_STOPPING && rt_container_kill (&c->rt, SIGKILL, &err) < 0)
    complain (&err);
}

static void
stop_one (supervisor_t *sv, sv_container_t *c, int64_t grace_ns)
{
  stack_error_t *err = NULL;

  c->manual_stop = true;
  if (c->phase == SV_BACKOFF)
    {
      ev_timer_stop (sv->loop, &c->restart);
      c->phase = SV_EXITED;
      sv_state (c)->state = ST_EXITED;
      sv_save (sv);
      return;
    }
  if (c->phase != SV_RUNNING)
    return;
  c->phase = SV_STOPPING;
  health_stop (c);
  progress (sv, c->plan.spec.id, "Stopping");
  if (grace_ns < 0)
    grace_ns = c->plan.stop_grace_ns;
  if (rt_container_kill (&c->rt, grace_ns == 0 ? SIGKILL : c->plan.stop_signal, &err) < 0)
    complain (&err);
  ev_timer_init (&c->kill, kill_cb, (double)grace_ns / 1e9, 0.);
  c->kill.data = c;
  ev_timer_start (sv->loop, &c->kill);
}

static void
down_finish (supervisor_t *sv)
{
  stack_error_t *err = NULL;
  size_t i;

  for (i = 0; i < sv->n; i++)
    {
      if (sv->c[i]->log)
        logfile_close (sv->c[i]->log);
      sv->c[i]->log = NULL;
      if (sv->c[i]->recorded)
        sv_event (sv, sv->c[i], "destroy", NULL);
    }
  if (remove_project (sv->st, sv->run_dir, sv->store, &err) < 0)
    {
      sv->exit_code = 1;
      op_fail (sv, "%s", err->msg);
      stack_error_free (&err);
      return;
    }
  op_done (sv, NULL);
}

/* Stop the highest wave of the operation's containers that still runs;
   when none runs, go on to what follows the stop phase. */
static void
stop_progress (supervisor_t *sv)
{
  sv_op_t *op = sv->op;
  stack_error_t *err = NULL;
  size_t i, wave = 0;
  bool any = false;

  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      if (!op_stops (op, c))
        continue;
      if (c->phase == SV_BACKOFF || (c->phase == SV_WAITING && op->kind == OP_DOWN))
        stop_one (sv, c, 0);
      if (c->phase == SV_WAITING && op->kind == OP_DOWN)
        c->phase = SV_EXITED;
      if ((c->phase == SV_RUNNING || c->phase == SV_STOPPING) && (!any || c->svc->wave > wave))
        {
          wave = c->svc->wave;
          any = true;
        }
    }
  if (any)
    {
      for (i = 0; i < sv->n; i++)
        if (op_stops (op, sv->c[i]) && sv->c[i]->svc->wave == wave
            && sv->c[i]->phase == SV_RUNNING)
          stop_one (sv, sv->c[i], op->grace_ns);
      return;
    }
  /* every container of the operation has stopped */
  switch (op->kind)
    {
    case OP_DOWN:
      down_finish (sv);
      break;
    case OP_STOP:
      op_done (sv, NULL);
      break;
    case OP_RESTART:
      start_phase (sv);
      break;
    case OP_UP:
      if (reconcile_apply (sv, &err) < 0)
        {
          op_fail (sv, "%s", err->msg);
          stack_error_free (&err);
          return;
        }
      start_phase (sv);
      break;
    case OP_START:
      break;
    }
}

int
sv_kill (supervisor_t *sv, struct client *cl, json_t *services, int sig, stack_error_t **err)
{
  size_t i;

  /* the operation under way keeps its own selection (in_op) */
  if (check_named (sv, services, err) < 0)
    return -1;
  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      stack_error_t *e = NULL;
      if (!named (services, c->svc->name))
        continue;
      if (c->phase == SV_BACKOFF)
        stop_one (sv, c, 0);
      if (c->phase != SV_RUNNING && c->phase != SV_STOPPING)
        continue;
      /* a signal that ends it is a stop; one it handles (SIGHUP to
         reload, say) must not cost it its restart policy */
      if (sig == SIGKILL || sig == SIGTERM || sig == SIGINT || sig == SIGQUIT
          || sig == c->plan.stop_signal)
        c->manual_stop = true;
      sv_event (sv, c, "kill", json_pack ("{si}", "signal", sig));
      if (rt_container_kill (&c->rt, sig, &e) < 0)
        complain (&e);
      else
        {
          /* no operation is under way for it: straight to its client */
          char *line = xasprintf (" Container %s  Killed", c->plan.spec.id);
          control_send (cl, json_pack ("{ss}", "progress", line));
          free (line);
        }
    }
  return 0;
}

static void
signal_cb (struct ev_loop *loop, ev_signal *w, int revents)
{
  supervisor_t *sv = w->data;
  size_t i;

  (void)loop, (void)revents;
  if (sv->interrupted && w->signum == SIGINT)
    {
      /* a second Ctrl-C: no more waiting */
      fputs ("stack: killing\n", stderr);
      for (i = 0; i < sv->n; i++)
        if (sv->c[i]->phase == SV_STOPPING || sv->c[i]->phase == SV_RUNNING)
          {
            stack_error_t *err = NULL;
            sv->c[i]->manual_stop = true;
            if (rt_container_kill (&sv->c[i]->rt, SIGKILL, &err) < 0)
              complain (&err);
          }
      return;
    }
  if (sv->interrupted)
    return;
  sv->interrupted = true;
  if (w->signum == SIGINT)
    fputs ("stack: stopping (Ctrl-C again to kill)\n", stderr);
  if (sv->detached)
    {
      /* SIGTERM to a detached supervisor: take the project down */
      sv_queue (sv, NULL, OP_DOWN, NULL);
      return;
    }
  /* the foreground: stop, keep what stopped for `ps -a` and `logs` */
  if (sv->op && !sv->op->stopping)
    op_done (sv, "interrupted");
  if (!sv->ending)
    sv_queue (sv, NULL, OP_STOP, NULL);
  sv->ending = true;
}

/* ---- the whole ---- */

int
supervisor_run (supervisor_t *sv)
{
  stack_error_t *err = NULL;
  size_t i;

  sv->loop = ev_default_loop (EVFLAG_AUTO);
  sv->exit_code = 0;
  signal (SIGPIPE, SIG_IGN);
  ev_timer_init (&sv->tick, tick_cb, 0.1, 0.1);
  sv->tick.data = sv;
  ev_signal_init (&sv->sigterm, signal_cb, SIGTERM);
  sv->sigterm.data = sv;
  ev_signal_start (sv->loop, &sv->sigterm);
  ev_signal_init (&sv->sigint, signal_cb, SIGINT);
  sv->sigint.data = sv;
  ev_signal_start (sv->loop, &sv->sigint);
  ev_unref (sv->loop);
  ev_unref (sv->loop);

  sv->color = !sv->detached && isatty (STDOUT_FILENO);
  sv->st->supervisor_pid = getpid ();
  sv->st->supervisor_start = proc_start_time (getpid ());
  for (i = 0; i < sv->n; i++)
    {
      /* Compose pads to the longest name plus one, in `up` as in `logs` */
      size_t w = strlen (sv->c[i]->plan.spec.id) - strlen (sv->project->name);
      sv->c[i]->sv = sv;
      sv->c[i]->color = i;
      sv->c[i]->phase = SV_WAITING;
      if (w > sv->name_width)
        sv->name_width = w;
    }
  if (control_start (sv, &err) < 0 || wiring_up (sv, &err) < 0)
    {
      sv->exit_code = 1;
      if (sv->ready_fd >= 0)
        {
          dprintf (sv->ready_fd, "error %s\n", err->msg);
          close (sv->ready_fd);
          sv->ready_fd = -1;
        }
      else
        fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
      if (remove_project (sv->st, sv->run_dir, sv->store, &err) < 0)
        complain (&err);
      goto out;
    }
  sv_queue (sv, NULL, OP_UP, NULL);
  /* (it may all be over already: a foreground of one-shot services) */
  if (!sv->ending || sv->op)
    ev_run (sv->loop, 0);
  if (!sv->detached && sv->exit_code == 0 && sv->interrupted && sv->exit_code_from == NULL
      && !sv->abort_on_exit)
    sv->exit_code = 130;

out:
  for (i = 0; i < sv->n; i++)
    {
      sv_container_t *c = sv->c[i];
      health_stop (c);
      logpipe_stop (sv->loop, &c->out);
      logpipe_stop (sv->loop, &c->err);
      if (c->log)
        logfile_close (c->log);
      c->log = NULL;
    }
  wiring_release_ports (sv);
  control_stop (sv);
  reconcile_free ();
  return sv->exit_code;
}
