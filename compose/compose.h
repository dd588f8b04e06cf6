/* compose.h — the compose layer: stack files in, a validated model and its
   dependency graph out. The only layer that knows YAML. */
#ifndef STACK_COMPOSE_H
#define STACK_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../util/util.h"

/* What the command line tells the loader. Arrays are borrowed. */
typedef struct compose_options
{
  const char *const *files; /* -f, in order; none: search the working directory */
  size_t n_files;
  const char *project_name;      /* -p */
  const char *project_directory; /* --project-directory */
  const char *const *env_files;  /* --env-file; none: <project dir>/.env if present */
  size_t n_env_files;
  const char *const *profiles;   /* --profile; none: COMPOSE_PROFILES */
  size_t n_profiles;
  /* services named on the command line (`up db`): enabled whatever their
     profiles, as in Compose */
  const char *const *services;
  size_t n_services;
  char *const *environ; /* the process environment; NULL: none */
  const char *cwd;      /* NULL: getcwd() */
} compose_options_t;

/* Problems with the input, each with its place in a file. */
typedef struct compose_diag
{
  const char *file; /* NULL when not about a file (e.g. a bad option) */
  unsigned line, col;
  const char *path; /* key path, may be NULL */
  const char *msg;
  bool warning;
  size_t seq; /* report order, to keep sorting stable */
} compose_diag_t;

typedef struct compose_diags
{
  compose_diag_t *items;
  size_t len, cap;
  size_t errors;
  bool truncated; /* more errors than DIAG_MAX_ERRORS */
  size_t warnings_dropped; /* past DIAG_MAX_WARNINGS */
  arena_t *arena;
} compose_diags_t;

void compose_diags_init (compose_diags_t *d);
void compose_diags_free (compose_diags_t *d);
/* Sorted by file, line, column; "FILE:LINE:COL: PATH: MSG" one a line. */
void compose_diags_print (compose_diags_t *d, FILE *out);

typedef struct compose_service compose_service_t;
typedef struct compose_project compose_project_t;

/* One service of the model, with its edges in the graph. */
struct compose_service
{
  const char *name;
  struct node *node;    /* its normalized definition */
  size_t *deps;         /* indexes into project->services */
  size_t n_deps;
  size_t wave;          /* 0 = starts first */
};

struct compose_project
{
  arena_t *arena;
  const char *name;
  const char *dir;
  const char *const *files; /* absolute paths actually loaded */
  size_t n_files;
  struct node *model;       /* the normalized document (what `config` prints) */
  compose_service_t *services; /* sorted by name */
  size_t n_services;
  size_t n_waves;
};

/* Load, merge, interpolate, validate and normalize. Returns 0, or -1 with the
   problems in `diags` (bad input: exit 2) or in `err` (anything else). */
int compose_load (const compose_options_t *opts, compose_project_t **out, compose_diags_t *diags,
                  stack_error_t **err);
void compose_project_free (compose_project_t *p);

compose_service_t *compose_service_find (compose_project_t *p, const char *name);

/* Services to act on for `up SERVICE...`: the named ones and everything they
   depend on, transitively. `out` gets a bitmap of n_services bools. Unknown
   names are an error naming them. */
int compose_select (compose_project_t *p, const char *const *names, size_t n, bool *out,
                    stack_error_t **err);
/* Start order: services grouped in waves; a wave depends only on earlier
   waves. `order` receives n_services indexes (selected only, by wave then
   name); returns how many. Stop order is the reverse. */
size_t compose_start_order (const compose_project_t *p, const bool *selected, size_t *order);

/* `stack config` output. */
enum compose_format
{
  COMPOSE_FORMAT_YAML,
  COMPOSE_FORMAT_JSON,
};
int compose_print_model (const compose_project_t *p, enum compose_format fmt, FILE *out,
                         stack_error_t **err);
/* `stack config --volumes`: top-level volume names, one a line. */
void compose_print_volume_names (const compose_project_t *p, FILE *out);

/* The `stack` command line; returns the exit code. */
int cli_main (int argc, char **argv);

#endif
