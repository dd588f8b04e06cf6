/* cli-internal.h — what the files of the command line share: the global
   options, exit codes, and the helpers every command uses to report. The
   commands live in cli.c (config, images, help) and in one file per
   lifecycle command (up.c, down.c, ps.c, exec.c). */
#ifndef STACK_CLI_INTERNAL_H
#define STACK_CLI_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../runtime/runtime.h"
#include "compose.h"

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

/* "stack: MSG" and "see `stack help CMD`" on stderr; returns EXIT_USAGE. */
int usage_error (const char *cmd, const char *fmt, ...) PRINTF_LIKE (2, 3);
/* "stack: MSG" of err on stderr, err freed; returns EXIT_FAIL, or
   EXIT_USAGE when err's status is EINVAL (bad input). */
int report_failure (stack_error_t **err);
/* `stack help [NAME]`: the list of commands, or NAME's usage. */
int cli_help (const char *name);
/* Load the project the global options describe; prints what went wrong and
   returns the exit code. */
int load_project (struct globals *g, compose_project_t **p);
/* The project's name for commands that act on what is running (ps, down,
   exec): -p when given (no stack file needed, as in Compose), else the
   loaded project's. *p is NULL with -p. */
int running_project_name (struct globals *g, compose_project_t **p, const char **name);
/* The image store under STACK_ROOT (default /var/lib/stack). */
int open_store (rt_store_t **s);

/* Docker's units.HumanDuration of d seconds ("5 seconds", "About a
   minute"), malloc'ed. */
char *human_duration (int64_t d);

int cmd_up (struct globals *g, int argc, char **argv);
int cmd_down (struct globals *g, int argc, char **argv);
int cmd_ps (struct globals *g, int argc, char **argv);
int cmd_exec (struct globals *g, int argc, char **argv);
int cmd_port (struct globals *g, int argc, char **argv);
/* ctl.c: commands the supervisor carries out */
int cmd_start (struct globals *g, int argc, char **argv);
int cmd_stop (struct globals *g, int argc, char **argv);
int cmd_restart (struct globals *g, int argc, char **argv);
int cmd_kill (struct globals *g, int argc, char **argv);
int cmd_events (struct globals *g, int argc, char **argv);
/* logs.c */
int cmd_logs (struct globals *g, int argc, char **argv);
/* stats.c: figures read from the containers' cgroups and /proc */
int cmd_top (struct globals *g, int argc, char **argv);
int cmd_stats (struct globals *g, int argc, char **argv);

#endif
