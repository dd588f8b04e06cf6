/* interpolate-internal.h — what interpolate.c shares with dotenv.c. */
#ifndef STACK_INTERPOLATE_INTERNAL_H
#define STACK_INTERPOLATE_INTERNAL_H

#include "compose-internal.h"

/* A value that expands to more than this is refused (1 MiB). */
#define INTERP_MAX_VALUE ((size_t) 1 << 20)
/* ${A:-${B:-...}} deeper than this is refused. */
#define INTERP_MAX_DEPTH 32
/* All the values of one file together may not expand to more than this. */
#define INTERP_MAX_TOTAL ((size_t) 64 << 20)

/* Substitute the variables of `in`, looking each name up in `env` and then,
   if not there, in `fallback` (may be NULL). Unset variables without a
   default become "" with a warning at `mark`/`path` (once per name).
   Returns an arena string, or NULL with *errmsg (arena) set: the message
   has no position, the caller reports it where the value came from. */
const char *interp_expand (ld_t *ld, const env_t *env, const env_t *fallback, const char *in,
                           mark_t mark, const char *path, const char **errmsg);

#endif
