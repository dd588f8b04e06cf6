/* cli.c — the `stack` command line: global options, the command table, and
   the one place that prints errors and chooses the exit code
   (0 success, 1 runtime failure, 2 bad input). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"

#ifndef STACK_VERSION
#define STACK_VERSION "0.0.0"
#endif

enum
{
  EXIT_OK = 0,
  EXIT_FAIL = 1,
  EXIT_USAGE = 2,
};

struct globals
{
  const char **files;
  size_t n_files;
  const char **env_files;
  size_t n_env_files;
  const char **profiles;
  size_t n_profiles;
  const char *project_name;
  const char *project_directory;
};

struct command
{
  const char *name;
  int (*run) (struct globals *g, int argc, char **argv);
  const char *usage;
  const char *summary;
};

static const struct command *find_command (const char *name);
static int cli_help (const char *name);

static void
push (const char ***arr, size_t *n, const char *v)
{
  *arr = xrealloc (*arr, (*n + 1) * sizeof **arr);
  (*arr)[(*n)++] = v;
}

static int
usage_error (const char *cmd, const char *fmt, ...) PRINTF_LIKE (2, 3);

static int
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

/* Load the project the global options describe; prints what went wrong. */
static int
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

/* ---- version, help ---- */

static int
cmd_version (struct globals *g, int argc, char **argv)
{
  (void) g;
  if (argc > 1)
    return usage_error ("version", "version: unexpected argument `%s`", argv[1]);
  printf ("stack version %s\n", STACK_VERSION);
  return EXIT_OK;
}

static int
cmd_help (struct globals *g, int argc, char **argv)
{
  (void) g;
  return cli_help (argc > 1 ? argv[1] : NULL);
}

static const struct command commands[] = {
  { "config", cmd_config, "config [--format yaml|json] [--services] [--volumes] [-q]",
    "print the resolved stack file (interpolated, merged, defaults filled in), or just validate it" },
  { "version", cmd_version, "version", "print the version" },
  { "help", cmd_help, "help [COMMAND]", "show help for stack or a command" },
};

/* Commands of the contract that later versions bring. */
static const char *const planned[] = {
  "up", "down", "ps", "logs", "exec", "start", "stop", "restart", "kill", "pull",
  "images", "image", "top", "stats", "events", "port",
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

static int
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
  printf ("usage: stack [GLOBAL OPTIONS] COMMAND [ARGS...]\n\n"
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
  size_t i;

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
      for (i = 0; i < ARRAY_SIZE (planned); i++)
        if (strcmp (planned[i], argv[optind]) == 0)
          {
            fprintf (stderr, "stack: `%s` is not available in this version yet\n", argv[optind]);
            ret = EXIT_FAIL;
            goto out;
          }
      ret = usage_error (NULL, "unknown command `%s`", argv[optind]);
      goto out;
    }
  ret = cmd->run (&g, argc - optind, argv + optind);
  /* output that did not reach its file (a full disk, a closed pipe) is a failure */
  if (fflush (stdout) != 0 || ferror (stdout))
    {
      fprintf (stderr, "stack: cannot write the output: %s\n", strerror (errno));
      ret = EXIT_FAIL;
    }

out:
  free (g.files);
  free (g.env_files);
  free (g.profiles);
  return ret;
}
