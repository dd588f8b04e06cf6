/* arena.c — bump allocator: a loaded project is thousands of small nodes and
   strings with one lifetime, so they are freed together. */
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define ARENA_CHUNK (256 * 1024)

struct chunk
{
  struct chunk *next;
  size_t used, size;
  max_align_t data[];
};

struct arena
{
  struct chunk *head;
  size_t bytes;
};

arena_t *
arena_new (void)
{
  return xzalloc (sizeof (arena_t));
}

void
arena_free (arena_t *a)
{
  struct chunk *c, *next;
  if (a == NULL)
    return;
  for (c = a->head; c; c = next)
    {
      next = c->next;
      free (c);
    }
  free (a);
}

void *
arena_alloc (arena_t *a, size_t n)
{
  const size_t align = sizeof (max_align_t);
  struct chunk *c = a->head;
  void *p;

  n = (n + align - 1) & ~(align - 1);
  if (c == NULL || c->size - c->used < n)
    {
      size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
      /* calloc of a large block comes straight from mmap, already zero:
         allocations need no memset of their own */
      c = xzalloc (sizeof *c + size);
      c->used = 0;
      c->size = size;
      c->next = a->head;
      a->head = c;
      a->bytes += sizeof *c + size;
    }
  p = (char *)c->data + c->used;
  c->used += n;
  return p;
}

char *
arena_strndup (arena_t *a, const char *s, size_t n)
{
  char *p;

  n = strnlen (s, n); /* as strndup: never past the string's end */
  p = arena_alloc (a, n + 1);
  memcpy (p, s, n);
  p[n] = '\0';
  return p;
}

char *
arena_strdup (arena_t *a, const char *s)
{
  return arena_strndup (a, s, strlen (s));
}

char *
arena_printf (arena_t *a, const char *fmt, ...)
{
  cleanup_free char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  s = xvasprintf (fmt, ap);
  va_end (ap);
  return arena_strdup (a, s);
}

size_t
arena_bytes (const arena_t *a)
{
  return a->bytes;
}
