/* cli.c — the `stack` command line: global options, the command table, and
   the one place that prints errors and chooses the exit code
   (0 success, 1 runtime failure, 2 bad input). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli-internal.h"
#include "state-internal.h"

#ifndef STACK_VERSION
#define STACK_VERSION "0.0.0"
#endif

struct command
{
  const char *name;
  int (*run) (struct globals *g, int argc, char **argv);
  const char *usage;
  const char *summary;
  bool sealed; /* starts or enters containers: runs from a sealed copy (CVE-2019-5736) */
};

static const struct command *find_command (const char *name);

static void
push (const char ***arr, size_t *n, const char *v)
{
  *arr = xrealloc (*arr, (*n + 1) * sizeof **arr);
  (*arr)[(*n)++] = v;
}

int
usage_error (const char *cmd, const char *fmt, ...)
{
  va_list ap;
  fputs ("stack: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  if (cmd)
    fprintf (stderr, "\nsee `stack help %s`\n", cmd);
  else
    fputs ("\nsee `stack help`\n", stderr);
  return EXIT_USAGE;
}

int
load_project (struct globals *g, compose_project_t **p)
{
  extern char **environ;
  compose_options_t o = {
    .files = g->files,
    .n_files = g->n_files,
    .project_name = g->project_name,
    .project_directory = g->project_directory,
    .env_files = g->env_files,
    .n_env_files = g->n_env_files,
    .profiles = g->profiles,
    .n_profiles = g->n_profiles,
    .services = g->services,
    .n_services = g->n_services,
    .environ = environ,
  };
  compose_diags_t diags;
  stack_error_t *err = NULL;
  int ret;

  compose_diags_init (&diags);
  ret = compose_load (&o, p, &diags, &err);
  compose_diags_print (&diags, stderr);
  compose_diags_free (&diags);
  if (ret == 0)
    return EXIT_OK;
  if (err)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
      return EXIT_FAIL;
    }
  return EXIT_USAGE;
}

/* ---- config ---- */

static int
cmd_config (struct globals *g, int argc, char **argv)
{
  static const struct option longopts[] = {
    { "format", required_argument, NULL, 'F' }, { "services", no_argument, NULL, 'S' },
    { "volumes", no_argument, NULL, 'V' },      { "quiet", no_argument, NULL, 'q' },
    { "help", no_argument, NULL, 'h' },         { 0 },
  };
  enum compose_format fmt = COMPOSE_FORMAT_YAML;
  bool services = false, volumes = false, quiet = false;
  compose_project_t *p = NULL;
  stack_error_t *err = NULL;
  int c, ret;

  optind = 1;
  while ((c = getopt_long (argc, argv, "+qh", longopts, NULL)) != -1)
    switch (c)
      {
      case 'F':
        if (strcmp (optarg, "yaml") == 0)
          fmt = COMPOSE_FORMAT_YAML;
        else if (strcmp (optarg, "json") == 0)
          fmt = COMPOSE_FORMAT_JSON;
        else
          return usage_error ("config", "config: --format takes `yaml` or `json`, not `%s`",
                              optarg);
        break;
      case 'S':
        services = true;
        break;
      case 'V':
        volumes = true;
        break;
      case 'q':
        quiet = true;
        break;
      case 'h':
        return cli_help ("config");
      default:
        return usage_error ("config", "config: unknown option");
      }
  if (optind < argc)
    return usage_error ("config", "config: unexpected argument `%s`", argv[optind]);

  ret = load_project (g, &p);
  if (ret != EXIT_OK)
    return ret;
  if (quiet)
    ;
  else if (services)
    {
      size_t *order = xmalloc ((p->n_services + 1) * sizeof *order);
      size_t n = compose_start_order (p, NULL, order), i;
      for (i = 0; i < n; i++)
        printf ("%s\n", p->services[order[i]].name);
      free (order);
    }
  else if (volumes)
    compose_print_volume_names (p, stdout);
  else if (compose_print_model (p, fmt, stdout, &err) < 0)
    {
      fprintf (stderr, "stack: %s\n", err->msg);
      stack_error_free (&err);
      ret = EXIT_FAIL;
    }
  compose_project_free (p);
  return ret;
}

/* ---- what the commands share ---- */

/* A malformed reference (the store's only EINVAL) is bad input, anything
   else a runtime failure. */
int
report_failure (stack_error_t **err)
{
  int code = (*err)->status == EINVAL ? EXIT_USAGE : EXIT_FAIL;
  fprintf (stderr, "stack: %s\n", (*err)->msg);
  stack_error_free (err);
  return code;
}

int
open_store (rt_store_t **s)
{
  stack_error_t *err = NULL;

  if (rt_store_open (stack_root (), s, &err) < 0)
    return report_failure (&err);
  return EXIT_OK;
}

int
running_project_name (struct globals *g, compose_project_t **p, const char **name)
{
  int ret;

  *p = NULL;
  if (g->project_name)
    {
      const char *c;
      /* it names directories and cgroups: nothing but [a-z0-9_-] */
      for (c = g->project_name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
          break;
      if (*c || g->project_name[0] == '\0' || g->project_name[0] == '-'
          || g->project_name[0] == '_')
        {
          fprintf (stderr,
                   "stack: -p: invalid project name `%s`: must be lower-case letters, digits, "
                   "`-` and `_`, starting with a letter or digit\n",
                   g->project_name);
          return EXIT_USAGE;
        }
      *name = g->project_name;
      return EXIT_OK;
    }
  if ((ret = load_project (g, p)) != EXIT_OK)
    return ret;
  *name = (*p)->name;
  return EXIT_OK;
}

/* Docker's units.HumanDuration of d seconds: "Less than a second",
   "5 seconds", "About a minute", ..., as `docker ps` shows them. */
char *
human_duration (int64_t d)
{
  int64_t hours = (d + 1800) / 3600;

  if (d < 1)
    return xstrdup ("Less than a second");
  if (d == 1)
    return xstrdup ("1 second");
  if (d < 60)
    return xasprintf ("%lld seconds", (long long)d);
  if (d / 60 == 1)
    return xstrdup ("About a minute");
  if (d / 60 < 60)
    return xasprintf ("%lld minutes", (long long)(d / 60));
  if (hours == 1)
    return xstrdup ("About an hour");
  if (hours < 48)
    return xasprintf ("%lld hours", (long long)hours);
  if (hours < 24 * 7 * 2)
    return xasprintf ("%lld days", (long long)(hours / 24));
  if (hours < 24 * 30 * 2)
    return xasprintf ("%lld weeks", (long long)(hours / 24 / 7));
  if (hours < 24 * 365 * 2)
    return xasprintf ("%lld months", (long long)(hours / 24 / 30));
  return xasprintf ("%lld years", (long long)(d / 3600 / 24 / 365));
}

/* ---- version, help ---- */

static int
cmd_version (struct globals *g, int argc, char **argv)
{
  (void)g;
  if (argc > 1)
    return usage_error ("version", "version: unexpected argument `%s`", argv[1]);
  printf ("stack version %s\n", STACK_VERSION);
  return EXIT_OK;
}

static int
cmd_help (struct globals *g, int argc, char **argv)
{
  (void)g;
  return cli_help (argc > 1 ? argv[1] : NULL);
}

static const struct command commands[] = {
  { "config", cmd_config, "config [--format yaml|json] [--services] [--volumes] [-q]",
    "print the resolved stack file (interpolated, merged, defaults filled in), or just validate it",
    false },
  { "up", cmd_up,
    "up [-d] [--wait] [--wait-timeout S] [--abort-on-container-exit] [--exit-code-from SERVICE] "
    "[--remove-orphans] [SERVICE...]",
    "create and start the services (and what they depend on), in dependency order; on a running "
    "project, start what is missing and recreate what changed",
    true },
  { "down", cmd_down, "down [-v] [-t SECONDS] [--remove-orphans]",
    "stop and remove the containers; -v also the named volumes", false },
  { "start", cmd_start, "start [SERVICE...]", "start services' stopped containers", false },
  { "stop", cmd_stop, "stop [-t SECONDS] [SERVICE...]",
    "stop services' containers (stop signal, then SIGKILL after the grace period)", false },
  { "restart", cmd_restart, "restart [-t SECONDS] [SERVICE...]", "stop, then start services' containers",
    false },
  { "kill", cmd_kill, "kill [-s SIGNAL] [SERVICE...]",
    "send a signal (default SIGKILL) to services' containers", false },
  { "logs", cmd_logs,
    "logs [-f] [--tail N] [-t] [--since TIME] [--until TIME] [--no-prefix] [--no-color] "
    "[SERVICE...]",
    "show the containers' output, oldest first; -f follows it", false },
  { "top", cmd_top, "top [SERVICE...]", "show the processes running in each container", false },
  { "stats", cmd_stats, "stats [--no-stream] [--format table|json] [SERVICE...]",
    "show each container's CPU, memory and process figures, live", false },
  { "events", cmd_events, "events [--json] [SERVICE...]",
    "print the project's container events as JSON lines, as they happen", false },
  { "ps", cmd_ps, "ps [-a] [--format table|json] [-q] [SERVICE...]",
    "list the containers (-a: also those that exited)", false },
  { "exec", cmd_exec, "exec [-T] [-u USER] [-w DIR] [-e K=V]... SERVICE COMMAND [ARG...]",
    "run a command in a running service's container", true },
  { "port", cmd_port, "port [--protocol tcp|udp] SERVICE PORT",
    "print the host address a container port is published on", false },
  { "pull", cmd_pull, "pull [-q] [--ignore-pull-failures] [--policy missing|always] [SERVICE...]",
    "pull the services' images from their registries", false },
  { "images", cmd_images, "images [--format table|json] [-q] [--digests]",
    "list the images in the store", false },
  { "image", cmd_image,
    "image COMMAND\n\n"
    "  import TAR NAME[:TAG]                     a root filesystem tarball as a one-layer image\n"
    "  load -i FILE [-q]                         the images of a `docker save` tarball, an OCI\n"
    "                                            archive or an OCI layout directory\n"
    "  ls [--format table|json] [-q] [--digests] list the images (as `stack images`)\n"
    "  pull [-q] IMAGE...                        pull images by name, without a stack file\n"
    "  rm IMAGE...                               remove images no container uses\n"
    "  prune [-a] [-f]                           remove what no image uses; -a: also every\n"
    "                                            image no container uses",
    "manage the image store: import, load, list, pull, remove, prune", false },
  { "version", cmd_version, "version", "print the version", false },
  { "help", cmd_help, "help [COMMAND]", "show help for stack or a command", false },
};

static const struct command *
find_command (const char *name)
{
  size_t i;
  for (i = 0; i < ARRAY_SIZE (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

int
cli_help (const char *name)
{
  size_t i;
  if (name)
    {
      const struct command *c = find_command (name);
      if (c == NULL)
        return usage_error (NULL, "help: no command `%s`", name);
      printf ("usage: stack [GLOBAL OPTIONS] %s\n\n%s\n", c->usage, c->summary);
      return EXIT_OK;
    }
  printf (
      "usage: stack [GLOBAL OPTIONS] COMMAND [ARGS...]\n\n"
      "Global options:\n"
      "  -f, --file FILE            stack file (repeatable; later files override earlier ones)\n"
      "  -p, --project-name NAME    project name\n"
      "      --env-file FILE        read variables from FILE instead of .env (repeatable)\n"
      "      --project-directory D  where relative paths resolve (default: the first file's)\n"
      "      --profile NAME         enable a profile (repeatable)\n\n"
      "Commands:\n");
  for (i = 0; i < ARRAY_SIZE (commands); i++)
    printf ("  %-9s %s\n", commands[i].name, commands[i].summary);
  return EXIT_OK;
}

int
cli_main (int argc, char **argv)
{
  static const struct option longopts[] = {
    { "file", required_argument, NULL, 'f' },
    { "project-name", required_argument, NULL, 'p' },
    { "env-file", required_argument, NULL, 'E' },
    { "project-directory", required_argument, NULL, 'D' },
    { "profile", required_argument, NULL, 'P' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'v' },
    { 0 },
  };
  struct globals g = { 0 };
  const struct command *cmd;
  int c, ret;

  opterr = 0;
  while ((c = getopt_long (argc, argv, "+f:p:hv", longopts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        push (&g.files, &g.n_files, optarg);
        break;
      case 'p':
        g.project_name = optarg;
        break;
      case 'E':
        push (&g.env_files, &g.n_env_files, optarg);
        break;
      case 'D':
        g.project_directory = optarg;
        break;
      case 'P':
        push (&g.profiles, &g.n_profiles, optarg);
        break;
      case 'h':
        ret = cli_help (NULL);
        goto out;
      case 'v':
        ret = cmd_version (&g, 1, argv);
        goto out;
      default:
        if (optopt)
          ret = usage_error (NULL, "option -%c: unknown, or missing its value", optopt);
        else
          ret = usage_error (NULL, "unknown option `%s`", argv[optind - 1]);
        goto out;
      }
  if (optind >= argc)
    {
      ret = usage_error (NULL, "no command given");
      goto out;
    }
  cmd = find_command (argv[optind]);
  if (cmd == NULL)
    {
      ret = usage_error (NULL, "unknown command `%s`", argv[optind]);
      goto out;
    }
  if (cmd->sealed)
    {
      stack_error_t *err = NULL;
      if (rt_reexec_sealed (argv, &err) < 0)
        {
          ret = report_failure (&err);
          goto out;
        }
    }
  ret = cmd->run (&g, argc - optind, argv + optind);
  /* output that did not reach its file (a full disk, a closed pipe) is a failure */
  errno = 0;
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      /* an earlier write failed when ferror alone says so: its errno is
         gone, and a stale one would mislead */
      if (errno)
        fprintf (stderr, "stack: cannot write the output: %s\n", strerror (errno));
      else
        fputs ("stack: cannot write the output\n", stderr);
      ret = EXIT_FAIL;
    }

out:
  free (g.files);
  free (g.env_files);
  free (g.profiles);
  return ret;
}
