/* it-helpers.h — integration tests of the runtime (root, real kernel): a
   throwaway busybox root filesystem, a default spec, run-and-capture. */
#ifndef STACK_IT_HELPERS_H
#define STACK_IT_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "runtime.h"

typedef struct it
{
  char *dir;      /* scratch directory, removed by it_free */
  char *layer;    /* dir/layer: busybox, /etc/passwd, /etc/group */
  char *upper, *work, *rootfs;
  char *cgroup;   /* "stack/it-<pid>-<n>/c" */
  const char *layers[1];
  container_spec_t spec; /* filled with defaults by it_init; adjust before it_run */
} it_t;

/* Skips the test (cmocka skip) when not root. */
void it_require_root (void);
/* A fresh scratch root with a busybox layer; spec set to run argv (NULL-terminated). */
void it_init (it_t *t, const char *const *argv);
/* Create, start, collect stdout+stderr (merged) until exit, destroy.
   Returns the raw wait status; *out (malloc'ed) gets the output. */
int it_run (it_t *t, char **out);
/* Write a file into the layer (parents created). */
void it_write (it_t *t, const char *path, const char *content, unsigned mode);
void it_free (it_t *t);
/* A directory's entries, sorted, joined with spaces (malloc'ed). */
char *it_listing (const char *dir);

#endif
