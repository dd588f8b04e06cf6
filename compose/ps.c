/* ps.c — `stack ps [-a] [--format table|json] [-q] [SERVICE...]`: the
   project's containers as its state file records them, checked against
   the kernel (a recorded pid that is gone, or is another process now, is
   not shown as running). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli-internal.h"
#include "lifecycle-internal.h"

/* Is the project's supervisor alive? Set once the state is loaded. */
static bool supervised;

/* What the container is now: the recorded state, unless nobody keeps it
   up to date any more (its supervisor was killed, the machine rebooted)
   and its process is gone. While the supervisor lives, its record is the
   truth: a PID 1 that has just exited is being seen to (restarted, or
   recorded as exited) at this very moment. */
static enum st_state
current_state (const st_container_t *c, bool *lost)
{
  *lost = !supervised && (c->state == ST_RUNNING || c->state == ST_RESTARTING)
          && !st_container_alive (c);
  return *lost ? ST_EXITED : c->state;
}

static void
check_supervisor (const state_t *st)
{
  supervised = st && st->supervisor_pid > 0
               && proc_start_time (st->supervisor_pid) == st->supervisor_start
               && st->supervisor_start != 0;
}

static char *
status_text (const st_container_t *c)
{
  int64_t now = (int64_t)time (NULL);
  cleanup_free char *d = NULL;
  bool lost;

  switch (current_state (c, &lost))
    {
    case ST_RUNNING:
      d = human_duration (now - c->started_at / 1000000000);
      if (c->health != ST_HEALTH_NONE)
        return xasprintf ("Up %s (%s)", d,
                          c->health == ST_HEALTH_STARTING ? "health: starting"
                                                          : st_health_name (c->health));
      return xasprintf ("Up %s", d);
    case ST_RESTARTING:
      d = human_duration (now - c->finished_at / 1000000000);
      return xasprintf ("Restarting (%d) %s ago", c->exit_code, d);
    case ST_EXITED:
      if (lost)
        return xstrdup ("Exited (unknown): its supervisor is gone");
      d = human_duration (now - c->finished_at / 1000000000);
      return xasprintf ("Exited (%d) %s ago%s", c->exit_code, d,
                        c->oom_killed ? " (OOM killed)" : "");
    default:
      return xstrdup ("Created");
    }
}

/* Its address on its first network; null without one. */
static json_t *
ip_of (const st_container_t *c)
{
  const char *ip = json_string_value (json_object_get (json_array_get (c->endpoints, 0), "ip"));
  return ip ? json_string (ip) : json_null ();
}

/* Is "80/tcp" among the published ports? */
static bool
published (json_t *ports, const char *exposed)
{
  json_t *p;
  size_t i;

  json_array_foreach (ports, i, p)
  {
    cleanup_free char *text
        = xasprintf ("%lld/%s", (long long)json_integer_value (json_object_get (p, "container_port")),
                     json_string_value (json_object_get (p, "protocol")));
    if (strcmp (text, exposed) == 0)
      return true;
  }
  return false;
}

/* "0.0.0.0:8080->80/tcp, 127.0.0.1:9000->90/udp, 5432/tcp", as Docker
   shows them: the published ports, then those only exposed. */
static char *
ports_text (json_t *ports, json_t *exposed)
{
  strbuf_t b = { 0 };
  json_t *p;
  size_t i;

  sb_puts (&b, "");
  json_array_foreach (ports, i, p)
  {
    sb_printf (&b, "%s%s:%lld->%lld/%s", b.len ? ", " : "",
               json_string_value (json_object_get (p, "host_ip")),
               (long long)json_integer_value (json_object_get (p, "host_port")),
               (long long)json_integer_value (json_object_get (p, "container_port")),
               json_string_value (json_object_get (p, "protocol")));
  }
  json_array_foreach (exposed, i, p) if (!published (ports, json_string_value (p)))
      sb_printf (&b, "%s%s", b.len ? ", " : "", json_string_value (p));
  return sb_steal (&b);
}

static json_t *
container_json (const st_container_t *c)
{
  cleanup_free char *status = status_text (c);
  bool lost;
  enum st_state s = current_state (c, &lost);
  bool up = s == ST_RUNNING;
  const char *health = up ? st_health_name (c->health) : NULL;

  return json_pack ("{ss ss ss ss ss so so si sb so so so so ss}", "service", c->service, "container",
                    c->name, "name", c->name, "image", c->image, "state", st_state_name (s),
                    "health", health ? json_string (health) : json_null (), "exit_code",
                    (s == ST_EXITED || s == ST_RESTARTING) && !lost ? json_integer (c->exit_code)
                                                                   : json_null (),
                    "restarts", (int)c->restarts, "oom_killed", c->oom_killed, "pid",
                    up ? json_integer (c->pid) : json_null (), "ip", up ? ip_of (c) : json_null (),
                    "ports", up && c->ports ? json_copy (c->ports) : json_array (), "exposed",
                    c->exposed ? json_copy (c->exposed) : json_array (), "status", status);
}

static bool
wanted (const st_container_t *c, bool all, char **services, int n)
{
  bool lost;
  int i;

  if (!all && current_state (c, &lost) != ST_RUNNING && c->state != ST_RESTARTING)
    return false;
  if (n == 0)
    return true;
  for (i = 0; i < n; i++)
    if (strcmp (services[i], c->service) == 0)
      return true;
  return false;
}

int
cmd_ps (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "all", no_argument, NULL, 'a' },
    { "format", required_argument, NULL, 'F' },
    { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  compose_project_t *p = NULL;
  stack_error_t *err = NULL;
  cleanup_free char *run_dir = NULL;
  const char *name, *format = "table";
  bool all = false, quiet = false;
  state_t *st = NULL;
  json_t *arr = NULL;
  int c, ret;
  size_t i;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+aqh", opts, NULL)) != -1)
    switch (c)
      {
      case 'a':
        all = true;
        break;
      case 'q':
        quiet = true;
        break;
      case 'F':
        format = optarg;
        if (strcmp (format, "table") != 0 && strcmp (format, "json") != 0)
          return usage_error ("ps", "ps: --format `%s`: table or json", optarg);
        break;
      case 'h':
        return cli_help ("ps");
      default:
        return usage_error ("ps", "ps: unknown option `%s`", argv[optind - 1]);
      }
  if ((ret = running_project_name (g, &p, &name)) != EXIT_OK)
    return ret;
  arr = json_array ();
  /* a service the file does not have is a typo worth saying */
  for (i = (size_t)optind; p && i < (size_t)argc; i++)
    if (compose_service_find (p, argv[i]) == NULL)
      {
        ret = usage_error ("ps", "ps: no such service: `%s`", argv[i]);
        goto out;
      }
  run_dir = state_run_dir (name);
  if (state_load (run_dir, &st, &err) < 0)
    {
      ret = report_failure (&err);
      goto out;
    }
  check_supervisor (st);

  for (i = 0; st && i < st->n_containers; i++)
    if (wanted (&st->containers[i], all, argv + optind, argc - optind))
      json_array_append_new (arr, container_json (&st->containers[i]));
  if (quiet)
    {
      json_t *e;
      json_array_foreach (arr, i, e)
          printf ("%s\n", json_string_value (json_object_get (e, "container")));
    }
  else if (strcmp (format, "json") == 0)
    {
      char *text = json_dumps (arr, JSON_COMPACT);
      printf ("%s\n", text);
      free (text);
    }
  else
    {
      json_t *e;
      printf ("%-24s %-20s %-12s %-36s %-8s %s\n", "NAME", "IMAGE", "SERVICE", "STATUS", "PID",
              "PORTS");
      json_array_foreach (arr, i, e)
      {
        json_t *pid = json_object_get (e, "pid");
        cleanup_free char *ports
            = ports_text (json_object_get (e, "ports"), json_object_get (e, "exposed"));
        char pid_text[16] = "";
        if (json_is_integer (pid))
          snprintf (pid_text, sizeof pid_text, "%lld", (long long)json_integer_value (pid));
        printf ("%-24s %-20s %-12s %-36s %-8s %s\n",
                json_string_value (json_object_get (e, "container")),
                json_string_value (json_object_get (e, "image")),
                json_string_value (json_object_get (e, "service")),
                json_string_value (json_object_get (e, "status")), pid_text, ports);
      }
    }
  ret = EXIT_OK;

out:
  json_decref (arr);
  state_free (st);
  compose_project_free (p);
  return ret;
}

/* `stack port [--protocol tcp|udp] SERVICE PORT`: where the container port
   is published on the host, one "HOST_IP:HOST_PORT" a line. */
int
cmd_port (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "protocol", required_argument, NULL, 'P' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  compose_project_t *p = NULL;
  stack_error_t *err = NULL;
  cleanup_free char *run_dir = NULL;
  const char *name, *proto = "tcp";
  state_t *st = NULL;
  st_container_t *c;
  char *end;
  unsigned long port;
  int opt, ret;
  bool found = false;
  size_t i;
  json_t *e;

  optind = 0;
  while ((opt = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (opt)
      {
      case 'P':
        proto = optarg;
        if (strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0)
          return usage_error ("port", "port: --protocol `%s`: tcp or udp", optarg);
        break;
      case 'h':
        return cli_help ("port");
      default:
        return usage_error ("port", "port: unknown option `%s`", argv[optind - 1]);
      }
  if (argc - optind != 2)
    return usage_error ("port", "port: give a service and a container port");
  port = strtoul (argv[optind + 1], &end, 10);
  if (*end || end == argv[optind + 1] || port < 1 || port > 65535)
    return usage_error ("port", "port: `%s` is not a port (1-65535)", argv[optind + 1]);
  if ((ret = running_project_name (g, &p, &name)) != EXIT_OK)
    return ret;
  if (p && compose_service_find (p, argv[optind]) == NULL)
    {
      ret = usage_error ("port", "port: no such service: `%s`", argv[optind]);
      goto out;
    }
  run_dir = state_run_dir (name);
  if (state_load (run_dir, &st, &err) < 0)
    {
      ret = report_failure (&err);
      goto out;
    }
  check_supervisor (st);
  c = state_find (st, argv[optind]);
  if (c == NULL || !st_container_alive (c))
    {
      stack_error_make (&err, 0, "service `%s` is not running", argv[optind]);
      ret = report_failure (&err);
      goto out;
    }
  json_array_foreach (c->ports, i, e)
  {
    if ((unsigned long)json_integer_value (json_object_get (e, "container_port")) == port
        && strcmp (json_string_value (json_object_get (e, "protocol")), proto) == 0)
      {
        printf ("%s:%lld\n", json_string_value (json_object_get (e, "host_ip")),
                (long long)json_integer_value (json_object_get (e, "host_port")));
        found = true;
      }
  }
  if (!found)
    {
      stack_error_make (&err, 0, "service `%s` does not publish %lu/%s", argv[optind], port,
                        proto);
      ret = report_failure (&err);
      goto out;
    }
  ret = EXIT_OK;

out:
  state_free (st);
  compose_project_free (p);
  return ret;
}
