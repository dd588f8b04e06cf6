/* alloc.c — allocation that aborts on OOM, cleanup helpers, strings, files. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static void
oom (void)
{
  static const char msg[] = "stack: out of memory\n";
  (void) !write (2, msg, sizeof msg - 1);
  abort ();
}

void *
xmalloc (size_t n)
{
  void *p = malloc (n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xzalloc (size_t n)
{
  void *p = calloc (1, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

void *
xrealloc (void *p, size_t n)
{
  p = realloc (p, n ? n : 1);
  if (p == NULL)
    oom ();
  return p;
}

char *
xstrdup (const char *s)
{
  return xstrndup (s, strlen (s));
}

char *
xstrndup (const char *s, size_t n)
{
  char *p = xmalloc (n + 1);
  memcpy (p, s, n);
  p[n] = '\0';
  return p;
}

char *
xvasprintf (const char *fmt, va_list ap)
{
  char *p = NULL;
  if (vasprintf (&p, fmt, ap) < 0)
    oom ();
  return p;
}

char *
xasprintf (const char *fmt, ...)
{
  va_list ap;
  char *p;
  va_start (ap, fmt);
  p = xvasprintf (fmt, ap);
  va_end (ap);
  return p;
}

void
cleanup_freep (void *p)
{
  void **pp = p;
  free (*pp);
  *pp = NULL;
}

void
cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
  *fd = -1;
}

void
cleanup_fclosep (FILE **f)
{
  if (*f != NULL)
    fclose (*f);
  *f = NULL;
}

/* ---- strbuf ---- */

static void
sb_grow (strbuf_t *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return;
  b->cap = b->cap ? b->cap : 64;
  while (b->cap < need)
    b->cap *= 2;
  b->s = xrealloc (b->s, b->cap);
}

void
sb_put (strbuf_t *b, const char *s, size_t n)
{
  sb_grow (b, n);
  memcpy (b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

void
sb_putc (strbuf_t *b, char c)
{
  sb_put (b, &c, 1);
}

void
sb_puts (strbuf_t *b, const char *s)
{
  sb_put (b, s, strlen (s));
}

void
sb_printf (strbuf_t *b, const char *fmt, ...)
{
  cleanup_free char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  s = xvasprintf (fmt, ap);
  va_end (ap);
  sb_puts (b, s);
}

char *
sb_steal (strbuf_t *b)
{
  char *s = b->s ? b->s : xstrdup ("");
  b->s = NULL;
  b->len = b->cap = 0;
  return s;
}

void
sb_free (strbuf_t *b)
{
  free (b->s);
  b->s = NULL;
  b->len = b->cap = 0;
}

/* ---- files ---- */

/* Stack, env and config files are small; refuse what could only be a mistake. */
#define READ_FILE_MAX (64 << 20)

int
read_fd (int fd, const char *name, char **out, size_t *len_out, stack_error_t **err)
{
  strbuf_t b = { 0 };
  char chunk[65536];
  ssize_t n;

  for (;;)
    {
      n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int e = errno;
          sb_free (&b);
          return stack_error_make (err, e, "read `%s`", name);
        }
      if (n == 0)
        break;
      if (b.len + (size_t) n > READ_FILE_MAX)
        {
          sb_free (&b);
          return stack_error_make (err, EFBIG, "read `%s`", name);
        }
      sb_put (&b, chunk, (size_t) n);
    }
  if (len_out)
    *len_out = b.len;
  *out = sb_steal (&b);
  return 0;
}

int
read_file (const char *path, char **out, size_t *len_out, stack_error_t **err)
{
  cleanup_close int fd = -1;
  struct stat st;

  fd = open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return stack_error_make (err, errno, "open `%s`", path);
  /* /dev/zero, a FIFO or a directory would hang or mislead us */
  if (fstat (fd, &st) < 0)
    return stack_error_make (err, errno, "stat `%s`", path);
  if (!S_ISREG (st.st_mode))
    return S_ISDIR (st.st_mode) ? stack_error_make (err, EISDIR, "open `%s`", path)
                                : stack_error_make (err, 0, "not a regular file");
  return read_fd (fd, path, out, len_out, err);
}

int
write_all (int fd, const void *buf, size_t n)
{
  const char *p = buf;

  while (n > 0)
    {
      ssize_t w = write (fd, p, n);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return -1;
      p += w;
      n -= (size_t) w;
    }
  return 0;
}

void
strv_free (char **v)
{
  size_t i;

  for (i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}

int
mkdir_p (const char *path, unsigned mode)
{
  cleanup_free char *p = xstrdup (path);
  char *s;

  for (s = p + 1; *s; s++)
    if (*s == '/')
      {
        *s = '\0';
        if (mkdir (p, 0755) < 0 && errno != EEXIST)
          return -1;
        *s = '/';
      }
  if (mkdir (p, mode) < 0 && errno != EEXIST)
    return -1;
  return 0;
}

bool
str_has_prefix (const char *s, const char *prefix)
{
  return strncmp (s, prefix, strlen (prefix)) == 0;
}

bool
str_has_suffix (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && strcmp (s + a - b, suffix) == 0;
}
