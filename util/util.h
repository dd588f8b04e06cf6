/* util.h — what every layer shares: the error type, cleanup attributes,
   allocation that aborts on OOM, a growable string and an arena. */
#ifndef STACK_UTIL_H
#define STACK_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PRINTF_LIKE(fmt, args) __attribute__ ((format (printf, fmt, args)))
#define ARRAY_SIZE(a) (sizeof (a) / sizeof ((a)[0]))

/* ---- errors (crun's convention: callee fills, callers wrap, CLI prints) ---- */

typedef struct stack_error
{
  int status; /* errno-style, 0 when not from a syscall */
  char *msg;
} stack_error_t;

/* Set *err (freeing any previous one); appends strerror(status) when status != 0.
   Always returns -1 so call sites can `return stack_error_make (...)`. */
int stack_error_make (stack_error_t **err, int status, const char *fmt, ...) PRINTF_LIKE (3, 4);
/* The same, but the message is whole as given: status is set for callers
   to test (EEXIST, ETIMEDOUT, ...), no strerror appended. Returns -1. */
int stack_error_set (stack_error_t **err, int status, const char *fmt, ...) PRINTF_LIKE (3, 4);
/* Prefix context: "CONTEXT: previous message". Returns -1. */
int stack_error_wrap (stack_error_t **err, const char *fmt, ...) PRINTF_LIKE (2, 3);
void stack_error_free (stack_error_t **err);

/* ---- allocation ---- */

void *xmalloc (size_t n);
void *xzalloc (size_t n);
void *xrealloc (void *p, size_t n);
char *xstrdup (const char *s);
char *xstrndup (const char *s, size_t n);
char *xasprintf (const char *fmt, ...) PRINTF_LIKE (1, 2);
char *xvasprintf (const char *fmt, va_list ap) PRINTF_LIKE (1, 0);

/* ---- time (time.c) ---- */

/* Nanoseconds: since the epoch (CLOCK_REALTIME), and of CLOCK_MONOTONIC. */
int64_t now_ns (void);
int64_t mono_ns (void);
/* ns since the epoch as RFC 3339 in UTC with nanoseconds,
   "2026-11-22T10:00:00.123456789Z", as Docker stamps logs and events;
   returns its length. */
#define RFC3339_NS_LEN 40
size_t time_rfc3339_ns (int64_t ns, char out[RFC3339_NS_LEN]);

/* ---- cleanup attributes ---- */

void cleanup_freep (void *p);
void cleanup_closep (int *fd);
void cleanup_fclosep (FILE **f);
#define cleanup_free __attribute__ ((cleanup (cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cleanup_closep)))
#define cleanup_file __attribute__ ((cleanup (cleanup_fclosep)))

static inline void *
steal_pointer (void *pp)
{
  void **p = pp;
  void *v = *p;
  *p = NULL;
  return v;
}

static inline int
steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

/* Free a NULL-terminated array of strings and the strings (NULL is fine). */
void strv_free (char **v);

/* ---- growable string ---- */

typedef struct strbuf
{
  char *s;
  size_t len, cap;
} strbuf_t;

void sb_putc (strbuf_t *b, char c);
void sb_put (strbuf_t *b, const char *s, size_t n);
void sb_puts (strbuf_t *b, const char *s);
void sb_printf (strbuf_t *b, const char *fmt, ...) PRINTF_LIKE (2, 3);
char *sb_steal (strbuf_t *b); /* never NULL */
void sb_free (strbuf_t *b);

/* ---- arena: everything one loaded project owns, freed at once ---- */

typedef struct arena arena_t;
arena_t *arena_new (void);
void arena_free (arena_t *a);
void *arena_alloc (arena_t *a, size_t n); /* zeroed, aligned for any type */
char *arena_strdup (arena_t *a, const char *s);
char *arena_strndup (arena_t *a, const char *s, size_t n);
char *arena_printf (arena_t *a, const char *fmt, ...) PRINTF_LIKE (2, 3);
size_t arena_bytes (const arena_t *a);

/* ---- files ---- */

/* Read a whole regular file (at most 64 MiB); NUL-terminated; *len_out may be NULL. */
int read_file (const char *path, char **out, size_t *len_out, stack_error_t **err);
/* Read fd to its end, same limit; `name` is for messages. */
int read_fd (int fd, const char *name, char **out, size_t *len_out, stack_error_t **err);
/* write(2) until all n bytes are written, EINTR retried: 0, or -1 with errno. */
int write_all (int fd, const void *buf, size_t n);
/* mkdir -p: parents 0755, the last component `mode`; existing ones are fine. */
int mkdir_p (const char *path, unsigned mode);
bool str_has_prefix (const char *s, const char *prefix);
bool str_has_suffix (const char *s, const char *suffix);

#endif
