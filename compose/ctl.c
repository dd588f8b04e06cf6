/* ctl.c — the commands the supervisor carries out (start, stop, restart,
   kill, events), and the client side of its control socket. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli-internal.h"
#include "lifecycle-internal.h"

int
control_call (const char *run_dir, json_t *req, control_line_cb cb, void *data,
              stack_error_t **err)
{
  cleanup_close int fd = -1;
  char *text = json_dumps (req, JSON_COMPACT), buf[65536];
  strbuf_t in = { 0 };
  size_t used = 0;
  int ret = 1;

  if ((fd = control_connect (run_dir, err)) < 0)
    {
      free (text);
      stack_error_free (err);
      return 1;
    }
  if (text == NULL || send (fd, text, strlen (text), MSG_NOSIGNAL) < 0
      || send (fd, "\n", 1, MSG_NOSIGNAL) < 0)
    {
      free (text);
      return 1;
    }
  free (text);
  for (;;)
    {
      ssize_t n = read (fd, buf, sizeof buf);
      char *nl;
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      sb_put (&in, buf, (size_t)n);
      while ((nl = memchr (in.s + used, '\n', in.len - used)) != NULL)
        {
          json_t *j;
          *nl = '\0';
          j = json_loads (in.s + used, 0, NULL);
          used = (size_t)(nl - in.s) + 1;
          if (json_is_string (json_object_get (j, "progress")))
            fprintf (stderr, "%s\n", json_string_value (json_object_get (j, "progress")));
          else if ((cb == NULL || !cb (data, j)) && json_object_get (j, "ok"))
            {
              /* the answer */
              if (json_is_true (json_object_get (j, "ok")))
                ret = 0;
              else
                ret = stack_error_set (err, 0, "%s",
                                       json_string_value (json_object_get (j, "error"))
                                           ?: "the supervisor failed");
              json_decref (j);
              goto out;
            }
          json_decref (j);
        }
      if (used == in.len)
        {
          in.len = 0;
          used = 0;
        }
    }
out:
  sb_free (&in);
  return ret;
}

/* The project's run dir, or an error when nothing of it runs. */
static int
project_run_dir (struct globals *g, compose_project_t **p, char **run_dir)
{
  const char *name;
  int ret;

  if ((ret = running_project_name (g, p, &name)) != EXIT_OK)
    return ret;
  *run_dir = state_run_dir (name);
  if (access (*run_dir, F_OK) < 0)
    {
      fprintf (stderr, "stack: project `%s` is not running\n", name);
      return EXIT_FAIL;
    }
  return EXIT_OK;
}

static json_t *
services_of (int argc, char **argv)
{
  json_t *a = json_array ();
  int i;

  for (i = 0; i < argc; i++)
    json_array_append_new (a, json_string (argv[i]));
  return a;
}

/* Send req; report like every command. */
static int
ask (struct globals *g, json_t *req)
{
  compose_project_t *p = NULL;
  cleanup_free char *run_dir = NULL;
  stack_error_t *err = NULL;
  int ret;

  if ((ret = project_run_dir (g, &p, &run_dir)) == EXIT_OK)
    {
      ret = control_call (run_dir, req, NULL, NULL, &err);
      if (ret == 1)
        {
          fprintf (stderr,
                   "stack: the project's supervisor does not answer (was it killed?); `stack "
                   "down` removes what it left\n");
          ret = EXIT_FAIL;
        }
      else if (ret < 0)
        ret = report_failure (&err);
    }
  json_decref (req);
  compose_project_free (p);
  return ret;
}

static int
seconds_arg (const char *cmd, const char *arg, long *out)
{
  char *end;

  errno = 0;
  *out = strtol (arg, &end, 10);
  if (errno || *end || end == arg || *out < 0 || *out > 86400)
    return usage_error (cmd, "%s: -t `%s`: seconds, 0 to 86400", cmd, arg);
  return EXIT_OK;
}

/* stop and restart: [-t SECONDS] [SERVICE...] */
static int
stop_like (struct globals *g, const char *cmd, int argc, char **argv)
{
  static const struct option opts[] = {
    { "timeout", required_argument, NULL, 't' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  long timeout = -1;
  json_t *req;
  int c, ret;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+t:h", opts, NULL)) != -1)
    switch (c)
      {
      case 't':
        if ((ret = seconds_arg (cmd, optarg, &timeout)) != EXIT_OK)
          return ret;
        break;
      case 'h':
        return cli_help (cmd);
      default:
        return usage_error (cmd, "%s: unknown option `%s`", cmd, argv[optind - 1]);
      }
  req = json_pack ("{ss so}", "command", cmd, "services", services_of (argc - optind, argv + optind));
  if (timeout >= 0)
    json_object_set_new (req, "timeout", json_integer (timeout));
  return ask (g, req);
}

int
cmd_stop (struct globals *g, int argc, char **argv)
{
  return stop_like (g, "stop", argc, argv);
}

int
cmd_restart (struct globals *g, int argc, char **argv)
{
  return stop_like (g, "restart", argc, argv);
}

int
cmd_start (struct globals *g, int argc, char **argv)
{
  if (argc > 1 && argv[1][0] == '-')
    {
      if (strcmp (argv[1], "-h") == 0 || strcmp (argv[1], "--help") == 0)
        return cli_help ("start");
      return usage_error ("start", "start: unknown option `%s`", argv[1]);
    }
  return ask (g, json_pack ("{ss so}", "command", "start", "services",
                            services_of (argc - 1, argv + 1)));
}

int
cmd_kill (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "signal", required_argument, NULL, 's' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  int c, sig = SIGKILL;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+s:h", opts, NULL)) != -1)
    switch (c)
      {
      case 's':
        if ((sig = plan_signal_parse (optarg)) <= 0)
          return usage_error ("kill", "kill: -s `%s` is not a signal; use a name such as "
                                      "SIGHUP or a number",
                              optarg);
        break;
      case 'h':
        return cli_help ("kill");
      default:
        return usage_error ("kill", "kill: unknown option `%s`", argv[optind - 1]);
      }
  return ask (g, json_pack ("{ss so si}", "command", "kill", "services",
                            services_of (argc - optind, argv + optind), "signal", sig));
}

typedef struct events
{
  json_t *services; /* to show; empty: all */
  bool first;       /* the "ok" that opens the stream */
} events_t;

static bool
event_line (void *data, json_t *j)
{
  events_t *e = data;
  const char *service = json_string_value (json_object_get (j, "service"));
  size_t i;
  json_t *s;
  char *text;

  if (e->first)
    {
      e->first = false;
      /* an error answer ends it; the opening "ok" does not */
      return json_is_true (json_object_get (j, "ok"));
    }
  if (json_array_size (e->services))
    {
      bool want = false;
      json_array_foreach (e->services, i, s)
      want |= service && strcmp (json_string_value (s), service) == 0;
      if (!want)
        return true;
    }
  if ((text = json_dumps (j, JSON_COMPACT)) != NULL)
    {
      printf ("%s\n", text);
      fflush (stdout);
    }
  free (text);
  return true;
}

int
cmd_events (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  compose_project_t *p = NULL;
  cleanup_free char *run_dir = NULL;
  stack_error_t *err = NULL;
  events_t e = { .first = true };
  json_t *req;
  int c, ret;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (c)
      {
      case 'j': /* JSON lines are what it prints */
        break;
      case 'h':
        return cli_help ("events");
      default:
        return usage_error ("events", "events: unknown option `%s`", argv[optind - 1]);
      }
  signal (SIGPIPE, SIG_DFL);
  if ((ret = project_run_dir (g, &p, &run_dir)) != EXIT_OK)
    return ret;
  e.services = services_of (argc - optind, argv + optind);
  req = json_pack ("{ss}", "command", "events");
  ret = control_call (run_dir, req, event_line, &e, &err);
  /* the stream ends when the project does */
  if (ret == 1 && !e.first)
    ret = EXIT_OK;
  else if (ret == 1)
    {
      fprintf (stderr, "stack: the project's supervisor does not answer (was it killed?)\n");
      ret = EXIT_FAIL;
    }
  else if (ret < 0)
    ret = report_failure (&err);
  json_decref (req);
  json_decref (e.services);
  compose_project_free (p);
  return ret;
}
