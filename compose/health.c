/* health.c — healthchecks, as Docker's daemon runs them (moby
   daemon/health.go).

   While a container with a healthcheck runs, one check at a time: a timer
   fires, the check's argv runs inside the container as `stack exec` would
   run it (rt_container_exec: the container's namespaces, cgroup, user,
   env, cwd, capabilities and seccomp), with stdout and stderr on one pipe.
   Three watchers follow it: its exit (ev_child), its output (ev_io; the
   first 4 KiB kept, the rest read and dropped so it never blocks on a full
   pipe) and its timeout (ev_timer; SIGKILL to that process only). Its
   result goes to the state's health_log, the status follows Docker's
   rules, and the next check is due one interval after this one ended.

   Everything lives in one fixed-size struct health per container, freed
   by health_stop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lifecycle-internal.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* Docker's limits: output kept per check, results kept per container. */
#define HEALTH_OUTPUT_MAX 4096
#define HEALTH_LOG_MAX 5

#define health_of(w, field) ((struct health *)((char *)(w)-offsetof (struct health, field)))

struct health
{
  sv_container_t *c;
  ev_timer next;    /* the next check is due */
  ev_timer timeout; /* the running check took too long; or settle */
  ev_child child;   /* the running check exited */
  ev_io out;        /* its stdout and stderr */
  bool running, timed_out, truncated;
  bool settling; /* a result waits to see whether the container lives on */
  pid_t pid;
  int pidfd, out_fd;
  int64_t start_ns; /* when the running check started */
  int64_t end_ns;   /* when a settling check ended */
  size_t len;
  char buf[HEALTH_OUTPUT_MAX];
};

/* RFC 3339 in UTC with nanoseconds, as Docker's results carry. */
static json_t *
rfc3339 (int64_t ns)
{
  char s[RFC3339_NS_LEN];

  time_rfc3339_ns (ns, s);
  return json_string (s);
}

/* Append n units of unit with a fraction of `digits` digits, trailing
   zeros dropped: Go's Duration.String() pieces ("1.5s", "300ms"). */
static void
put_fraction (strbuf_t *b, int64_t v, int64_t per_unit, int digits, const char *unit)
{
  char frac[16];
  int len;

  sb_printf (b, "%" PRId64, v / per_unit);
  if (v % per_unit)
    {
      len = snprintf (frac, sizeof frac, "%0*" PRId64, digits, v % per_unit);
      while (len > 0 && frac[len - 1] == '0')
        frac[--len] = '\0';
      sb_printf (b, ".%s", frac);
    }
  sb_puts (b, unit);
}

/* A duration as Go prints it ("30s", "1m30s", "500ms"): Docker's timeout
   message shows the timeout this way. */
static char *
go_duration (int64_t ns)
{
  strbuf_t b = { 0 };

  if (ns <= 0)
    sb_puts (&b, "0s");
  else if (ns < 1000)
    sb_printf (&b, "%" PRId64 "ns", ns);
  else if (ns < 1000000)
    put_fraction (&b, ns, 1000, 3, "µs");
  else if (ns < 1000000000)
    put_fraction (&b, ns, 1000000, 6, "ms");
  else
    {
      int64_t h = ns / 3600000000000, m = ns / 60000000000 % 60;
      if (h)
        sb_printf (&b, "%" PRId64 "h", h);
      if (h || m)
        sb_printf (&b, "%" PRId64 "m", m);
      put_fraction (&b, ns % 60000000000, 1000000000, 9, "s");
    }
  return sb_steal (&b);
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t
utf8_len (const unsigned char *s, size_t n)
{
  size_t len, i;
  uint32_t cp;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2, cp = s[0] & 0x1f;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    len = 3, cp = s[0] & 0x0f;
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    len = 4, cp = s[0] & 0x07;
  else
    return 0;
  if (len > n)
    return 0;
  for (i = 1; i < len; i++)
    {
      if ((s[i] & 0xc0) != 0x80)
        return 0;
      cp = cp << 6 | (s[i] & 0x3f);
    }
  /* overlong forms, UTF-16 surrogates, beyond U+10FFFF */
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp <= 0xdfff)
      || cp > 0x10ffff)
    return 0;
  return len;
}

/* The output as a JSON string: JSON holds UTF-8 only, so each invalid
   byte becomes U+FFFD, as Go's encoder does for Docker; "..." marks a
   cut output, as Docker's. */
static json_t *
output_json (const char *s, size_t n, bool truncated)
{
  strbuf_t b = { 0 };
  json_t *j;
  size_t i = 0, len;

  while (i < n)
    {
      len = utf8_len ((const unsigned char *)s + i, n - i);
      if (len == 0)
        {
          sb_puts (&b, "\xef\xbf\xbd");
          i++;
          continue;
        }
      sb_put (&b, s + i, len);
      i += len;
    }
  if (truncated)
    sb_puts (&b, "...");
  j = json_stringn (b.s ? b.s : "", b.len);
  sb_free (&b);
  return j;
}

/* Read what the check wrote so far, keeping the first HEALTH_OUTPUT_MAX
   bytes. Returns false at the end of the output (or on an error). */
static bool
drain (struct health *h)
{
  char scratch[4096];
  ssize_t n;

  for (;;)
    {
      if (h->len < sizeof h->buf)
        n = read (h->out_fd, h->buf + h->len, sizeof h->buf - h->len);
      else
        n = read (h->out_fd, scratch, sizeof scratch);
      if (n > 0)
        {
          if (h->len < sizeof h->buf)
            h->len += (size_t)n;
          else
            h->truncated = true;
          continue;
        }
      if (n < 0 && errno == EINTR)
        continue;
      return n < 0 && errno == EAGAIN;
    }
}

static void
close_output (struct health *h)
{
  ev_io_stop (h->c->sv->loop, &h->out);
  if (h->out_fd >= 0)
    close (h->out_fd);
  h->out_fd = -1;
}

static void
out_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  struct health *h = health_of (w, out);

  if (!drain (h))
    close_output (h);
}

/* While the container is inside its start_period. */
static bool
in_start_period (sv_container_t *c, int64_t t)
{
  return t - sv_state (c)->started_at < c->plan.health.start_period_ns;
}

/* Docker: start_interval while starting within start_period, else interval. */
static void
schedule (struct health *h)
{
  sv_container_t *c = h->c;
  int64_t ns = c->plan.health.interval_ns;

  if (in_start_period (c, now_ns ()) && sv_state (c)->health == ST_HEALTH_STARTING)
    ns = c->plan.health.start_interval_ns;
  /* a zero interval must not spin the loop */
  if (ns < 1000000)
    ns = 1000000;
  ev_timer_set (&h->next, (ev_tstamp)ns / 1e9, 0.);
  ev_timer_start (c->sv->loop, &h->next);
}

/* One check's result: logged, counted, reported; then the next is due. */
static void
record (struct health *h, int exit_code, json_t *output)
{
  sv_container_t *c = h->c;
  st_container_t *st = sv_state (c);
  enum st_health before = st->health;
  json_t *entry;

  entry = json_object ();
  json_object_set_new (entry, "start", rfc3339 (h->start_ns));
  json_object_set_new (entry, "end", rfc3339 (h->end_ns ? h->end_ns : now_ns ()));
  json_object_set_new (entry, "exit_code", json_integer (exit_code));
  json_object_set_new (entry, "output", output ? output : json_string (""));
  if (!json_is_array (st->health_log))
    {
      json_decref (st->health_log);
      st->health_log = json_array ();
    }
  json_array_append_new (st->health_log, entry);
  while (json_array_size (st->health_log) > HEALTH_LOG_MAX)
    json_array_remove (st->health_log, 0);

  if (exit_code == 0)
    {
      st->failing_streak = 0;
      st->health = ST_HEALTH_HEALTHY;
    }
  /* Docker: failures inside start_period do not count while the
     container is still starting (it never passed a check yet) */
  else if (!(st->health == ST_HEALTH_STARTING && in_start_period (c, h->start_ns)))
    {
      st->failing_streak++;
      if (st->failing_streak >= c->plan.health.retries)
        st->health = ST_HEALTH_UNHEALTHY;
    }

  /* scheduled first: the supervisor's reaction may stop the checks */
  schedule (h);
  if (st->health != before)
    sv_health_changed (c);
  else
    sv_save (c->sv);
}

static void
child_cb (struct ev_loop *loop, ev_child *w, int revents)
{
  struct health *h = health_of (w, child);
  int status = w->rstatus, code;
  json_t *output;

  ev_child_stop (loop, w);
  ev_timer_stop (loop, &h->timeout);
  /* everything it wrote is in the pipe by now; whatever it left behind
     may hold the pipe open, so no waiting for the end */
  if (h->out_fd >= 0)
    drain (h);
  close_output (h);
  if (h->pidfd >= 0)
    close (h->pidfd);
  h->pidfd = -1;
  h->pid = -1;
  h->running = false;

  if (!h->timed_out && WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL)
    {
      /* SIGKILL from elsewhere, most often with its container: stop,
         kill, or PID 1's end, which kills every process of the pid
         namespace. PID 1's exit is seen only after this one (it waits for
         them all), so the supervisor's health_stop comes a moment later
         and drops the result; otherwise it counts as Docker's 137. */
      h->settling = true;
      h->end_ns = now_ns ();
      ev_timer_set (&h->timeout, 0.1, 0.);
      ev_timer_start (loop, &h->timeout);
      return;
    }

  output = output_json (h->buf, h->len, h->truncated);
  if (h->timed_out)
    {
      cleanup_free char *d = go_duration (h->c->plan.health.timeout_ns);
      cleanup_free char *msg = NULL;

      /* Docker's words, with what the check said before it was killed */
      if (json_string_length (output) > 0)
        msg = xasprintf ("Health check exceeded timeout (%s): %s", d, json_string_value (output));
      else
        msg = xasprintf ("Health check exceeded timeout (%s)", d);
      json_decref (output);
      record (h, -1, json_stringn (msg, strlen (msg)));
      return;
    }
  code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  record (h, code, output);
}

static int
pidfd_kill (int pidfd, pid_t pid)
{
  if (pidfd >= 0)
    return (int)syscall (SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
  return pid > 0 ? kill (pid, SIGKILL) : 0;
}

static void
timeout_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  struct health *h = health_of (w, timeout);

  if (h->settling)
    {
      /* the container outlived its check: the kill was the check's own */
      h->settling = false;
      record (h, 128 + SIGKILL, output_json (h->buf, h->len, h->truncated));
      return;
    }

  /* only the check's own process, as Docker; child_cb records the
     failure once it is reaped */
  h->timed_out = true;
  pidfd_kill (h->pidfd, h->pid);
}

static void
next_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  struct health *h = health_of (w, next);
  sv_container_t *c = h->c;
  container_spec_t spec = { 0 };
  rt_container_t proc;
  stack_error_t *err = NULL;
  st_container_t *st = sv_state (c);
  int p[2] = { -1, -1 }, ret;

  h->start_ns = now_ns ();
  h->settling = false;
  h->end_ns = 0;
  h->len = 0;
  h->truncated = h->timed_out = false;

  ret = process_from_json (st->process, &spec, &err);
  if (ret == 0 && pipe2 (p, O_CLOEXEC) < 0)
    ret = stack_error_make (&err, errno, "pipe");
  /* our end only: the check's own writes block as usual */
  if (ret == 0 && fcntl (p[0], F_SETFL, O_NONBLOCK) < 0)
    ret = stack_error_make (&err, errno, "pipe");
  if (ret == 0)
    {
      spec.id = st->name;
      spec.argv = c->plan.health.argv;
      spec.tty = false;
      spec.stdin_fd = -1;
      spec.stdout_fd = spec.stderr_fd = p[1];
      ret = rt_container_exec (&c->rt, &spec, &proc, &err);
    }
  free ((void *)spec.env);
  free ((void *)spec.group_add);
  free ((void *)spec.rlimits);
  if (p[1] >= 0)
    close (p[1]);
  if (ret < 0)
    {
      if (p[0] >= 0)
        close (p[0]);
      /* Docker: a check that cannot run fails with its error */
      record (h, -1, output_json (err->msg, strlen (err->msg), false));
      stack_error_free (&err);
      return;
    }
  if (proc.pty_fd >= 0)
    close (proc.pty_fd);

  h->running = true;
  h->pid = proc.pid;
  h->pidfd = proc.pidfd;
  h->out_fd = p[0];
  ev_child_set (&h->child, proc.pid, 0);
  ev_child_start (loop, &h->child);
  ev_io_set (&h->out, h->out_fd, EV_READ);
  ev_io_start (loop, &h->out);
  ev_timer_set (&h->timeout, (ev_tstamp)c->plan.health.timeout_ns / 1e9, 0.);
  ev_timer_start (loop, &h->timeout);
}

void
health_start (sv_container_t *c)
{
  st_container_t *st;
  struct health *h;

  if (c->plan.health.argv == NULL)
    return;
  /* a restart: the old checks go first */
  health_stop (c);

  st = sv_state (c);
  st->health = ST_HEALTH_STARTING;
  st->failing_streak = 0;
  if (json_is_array (st->health_log))
    json_array_clear (st->health_log);
  else
    {
      json_decref (st->health_log);
      st->health_log = json_array ();
    }

  h = xzalloc (sizeof *h);
  h->c = c;
  h->pid = -1;
  h->pidfd = h->out_fd = -1;
  ev_init (&h->next, next_cb);
  ev_init (&h->timeout, timeout_cb);
  ev_init (&h->child, child_cb);
  ev_init (&h->out, out_cb);
  c->health = h;
  schedule (h);
  /* saves the state and reports "starting" */
  sv_health_changed (c);
}

void
health_stop (sv_container_t *c)
{
  struct health *h = c->health;
  struct ev_loop *loop;
  siginfo_t info;

  if (h == NULL)
    return;
  loop = c->sv->loop;
  ev_timer_stop (loop, &h->next);
  ev_timer_stop (loop, &h->timeout);
  ev_child_stop (loop, &h->child);
  close_output (h);
  if (h->running)
    {
      /* our child: killed and reaped here, so no zombie stays behind and
         no watcher waits for it; ECHILD when the loop reaped it already
         (the container's end kills every process in it) */
      pidfd_kill (h->pidfd, h->pid);
      if (h->pidfd >= 0)
        while (waitid ((idtype_t)P_PIDFD, (id_t)h->pidfd, &info, WEXITED) < 0 && errno == EINTR)
          ;
      else
        while (waitpid (h->pid, NULL, 0) < 0 && errno == EINTR)
          ;
    }
  if (h->pidfd >= 0)
    close (h->pidfd);
  free (h);
  c->health = NULL;
}
