/* cli-internal.h — what the files of the command line share: the global
   options, exit codes, and the helpers every command uses to report. The
   commands live in cli.c (config, help), images.c (pull, images, image)
   and in one file per lifecycle command (up.c, down.c, ps.c, exec.c). */
#ifndef STACK_CLI_INTERNAL_H
#define STACK_CLI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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
  /* the command's SERVICE arguments, set before load_project by the
     commands that enable a profiled service by naming it (up, pull) */
  const char *const *services;
  size_t n_services;
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

/* ---- images.c: the image store's commands, and pull_policy for `up` ---- */

/* Docker's units.HumanSizeWithPrecision: decimal units ("1.23MB", "0B");
   `images` shows 3 significant digits, `image prune` 4 (units.HumanSize).
   malloc'ed. */
char *human_size (uint64_t bytes, int precision);

/* What a service's pull_policy asks of `up` for its image. */
enum image_need
{
  IMAGE_USE,    /* in the store, and fresh enough: use it */
  IMAGE_PULL,   /* pull it first */
  IMAGE_ABSENT, /* not in the store, and pull_policy never: an error */
  IMAGE_BUILD,  /* pull_policy build: stack does not build images */
};
/* The decision alone: policy is the normalized pull_policy (NULL: the
   default, missing); stored is when the store got the image (epoch
   seconds), -1 when it is absent; now is epoch seconds. */
enum image_need pull_policy_need (const char *policy, int64_t stored, int64_t now);
/* daily (24h), weekly (7d) or every_<N><unit>... (w d h m s, summed):
   the image's maximum age in seconds; false for the other policies. */
bool pull_policy_max_age (const char *policy, int64_t *seconds);

/* `up`, before anything is created: make the image of each service
   p->services[order[i]] present as its pull_policy says, pulling what is
   needed (each image once) with progress on stderr unless quiet. */
int images_ensure (rt_store_t *s, compose_project_t *p, const size_t *order, size_t n, bool quiet,
                   stack_error_t **err);

/* The output of a pull, fed by rt_image_pull's progress callback: one line
   per event as Compose prints them, or with tty, one live line per layer
   redrawn in place. */
typedef struct pull_view pull_view_t;
pull_view_t *pull_view_new (FILE *out, const char *ref, bool tty);
void pull_view_event (const rt_pull_progress_t *p, void *view);
void pull_view_free (pull_view_t *v);

int cmd_pull (struct globals *g, int argc, char **argv);
/* `image pull [-q] REF...` (pull.c), for cmd_image */
int image_pull (int argc, char **argv);
int cmd_images (struct globals *g, int argc, char **argv);
int cmd_image (struct globals *g, int argc, char **argv);

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
