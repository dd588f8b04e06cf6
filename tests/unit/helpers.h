/* helpers.h — load stack files written into a scratch directory and look
   at the result, for the cmocka unit tests. */
#ifndef STACK_TEST_HELPERS_H
#define STACK_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "compose-internal.h"

typedef struct th
{
  char *dir;              /* scratch directory, removed by th_free */
  compose_project_t *p;   /* NULL when the load failed */
  char *out;              /* diagnostics exactly as `stack` prints them */
  int ret;                /* compose_load's return */
  /* inputs, set before th_run (all optional) */
  const char *files[8];      /* -f, relative to dir; none: default search */
  const char *env[16];       /* "K=V" process environment */
  const char *profiles[8];
  const char *env_files[4];
  const char *project_name;  /* -p; th_run sets "test" when NULL and no name: */
} th_t;

/* A fresh scratch directory. */
void th_init (th_t *t);
/* Write dir/name (parent directories created). */
void th_write (th_t *t, const char *name, const char *content);
/* Load with the inputs set in t; cwd is t->dir. */
int th_run (th_t *t);
/* Shorthand: th_init, write stack.yml, th_run. */
int th_load (th_t *t, const char *yaml);
/* Compact JSON (sorted keys) of the model at a dotted path such as
   "services.web.ports" or "services.web.ports.0"; "" is the whole model.
   Returns a string owned by t, or "<absent>". */
const char *th_json (th_t *t, const char *path);
void th_free (th_t *t);

/* Assert the load failed and printed exactly `expected` (all lines). */
#define assert_load_error(t, yaml, expected)                                                       \
  do                                                                                               \
    {                                                                                              \
      assert_int_equal (th_load ((t), (yaml)), -1);                                                \
      assert_string_equal ((t)->out, (expected));                                                  \
    }                                                                                              \
  while (0)

#endif
