/* logfile.c — containers' output on its way to disk: pipes read into
   lines (logpipe), lines kept as Docker json-file records in rotating
   files (logfile), and the "web-1  | " prefix `up` and `logs` print.

   The writer gathers the records of one read of a pipe and writes them
   with one write(2), straight to the file: `stack logs -f` follows the
   file as it grows and must never see half a record, and a write per
   record would cost a flooding container's supervisor a system call a
   line. Nothing here is fatal: a disk that is full
   costs the log, never the container. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logs-internal.h"

#define PIPE_READ_MAX 65536
/* a writer still alive (a grandchild holding the pipe) cannot keep stop
   reading for ever: a pipe's buffer is at most 1 MiB by default */
#define PIPE_DRAIN_MAX (32 * PIPE_READ_MAX)

struct logfile
{
  char *dir, *path;
  int fd;
  uint64_t size; /* of json.log */
  uint64_t max_size;
  unsigned max_files;
  bool reported; /* an error was said once; the rest are silent */
  char *buf;     /* the record being assembled; grows to the largest one */
  size_t cap;
  strbuf_t pending; /* whole records not written yet */
};

/* flush before the pending records grow past this */
#define PENDING_MAX 65536

static void PRINTF_LIKE (2, 3) lf_report (logfile_t *lf, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  if (lf->reported)
    return;
  lf->reported = true;
  va_start (ap, fmt);
  msg = xvasprintf (fmt, ap);
  va_end (ap);
  fprintf (stderr, "stack: logs of %s: %s\n", lf->dir, msg);
}

/* The length of the valid UTF-8 sequence at s (Unicode's table 3-7:
   no overlong forms, no surrogates, nothing past U+10FFFF), 0 if none. */
static size_t
utf8_len (const unsigned char *s, size_t n)
{
  unsigned char lo = 0x80, hi = 0xbf;
  size_t len, i;

  if (s[0] < 0x80)
    return 1;
  if (s[0] >= 0xc2 && s[0] <= 0xdf)
    len = 2;
  else if (s[0] >= 0xe0 && s[0] <= 0xef)
    {
      len = 3;
      lo = s[0] == 0xe0 ? 0xa0 : 0x80;
      hi = s[0] == 0xed ? 0x9f : 0xbf;
    }
  else if (s[0] >= 0xf0 && s[0] <= 0xf4)
    {
      len = 4;
      lo = s[0] == 0xf0 ? 0x90 : 0x80;
      hi = s[0] == 0xf4 ? 0x8f : 0xbf;
    }
  else
    return 0;
  if (n < len || s[1] < lo || s[1] > hi)
    return 0;
  for (i = 2; i < len; i++)
    if (s[i] < 0x80 || s[i] > 0xbf)
      return 0;
  return len;
}

/* s as the inside of a JSON string, as Docker (Go) writes it: \" \\ \n \r
   \t, other control characters as \u00XX, and each byte that is not part
   of valid UTF-8 as \ufffd (the line stays valid JSON, so stays
   readable). At most 6 bytes out per byte in. */
static char *
json_escape (char *o, const char *text, size_t len)
{
  static const char hex[] = "0123456789abcdef";
  const unsigned char *s = (const unsigned char *)text;
  size_t i = 0, k;

  while (i < len)
    {
      unsigned char c = s[i];
      if (c == '"' || c == '\\')
        {
          *o++ = '\\';
          *o++ = (char)c;
        }
      else if (c == '\n' || c == '\r' || c == '\t')
        {
          *o++ = '\\';
          *o++ = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
        }
      else if (c < 0x20)
        {
          memcpy (o, "\\u00", 4);
          o[4] = hex[c >> 4];
          o[5] = hex[c & 15];
          o += 6;
        }
      else if ((k = utf8_len (s + i, len - i)) == 0)
        {
          memcpy (o, "\\ufffd", 6);
          o += 6;
        }
      else
        {
          memcpy (o, s + i, k);
          o += k;
          i += k;
          continue;
        }
      i++;
    }
  return o;
}

static int
open_log (logfile_t *lf)
{
  struct stat sb;

  lf->fd = open (lf->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (lf->fd < 0)
    return -1;
  lf->size = fstat (lf->fd, &sb) == 0 ? (uint64_t)sb.st_size : 0;
  return 0;
}

/* max_size 0: never rotated; max_files 0 is taken as 1. */
logfile_t *
logfile_open (const char *dir, uint64_t max_size, unsigned max_files, stack_error_t **err)
{
  logfile_t *lf = xzalloc (sizeof *lf);

  lf->dir = xstrdup (dir);
  lf->path = xasprintf ("%s/json.log", dir);
  lf->max_size = max_size;
  lf->max_files = max_files ? max_files : 1;
  if (mkdir_p (dir, 0700) < 0 || open_log (lf) < 0)
    {
      stack_error_make (err, errno, "open `%s`", lf->path);
      logfile_close (lf);
      return NULL;
    }
  return lf;
}

/* json.log.(N-2) → json.log.(N-1), ..., json.log → json.log.1, a new
   json.log; the oldest is overwritten by the rename. With one file,
   json.log starts again empty. */
static void
rotate (logfile_t *lf)
{
  unsigned i;

  if (lf->max_files <= 1)
    {
      if (ftruncate (lf->fd, 0) < 0)
        lf_report (lf, "truncate json.log: %s", strerror (errno));
      lf->size = 0;
      return;
    }
  for (i = lf->max_files - 1; i >= 1; i--)
    {
      cleanup_free char *from = i > 1 ? xasprintf ("%s.%u", lf->path, i - 1) : xstrdup (lf->path);
      cleanup_free char *to = xasprintf ("%s.%u", lf->path, i);
      if (rename (from, to) < 0 && errno != ENOENT)
        lf_report (lf, "rename `%s`: %s", from, strerror (errno));
    }
  close (lf->fd);
  if (open_log (lf) < 0)
    lf_report (lf, "open json.log: %s", strerror (errno));
}

static void
write_record (logfile_t *lf, int64_t time_ns, const char *stream, const char *text, size_t len)
{
  size_t need = 6 * (len + strlen (stream)) + 64;
  uint64_t held;
  char *o;

  if (need > lf->cap)
    {
      lf->buf = xrealloc (lf->buf, need);
      lf->cap = need;
    }
  o = lf->buf;
  memcpy (o, "{\"log\":\"", 8);
  o = json_escape (o + 8, text, len);
  memcpy (o, "\",\"stream\":\"", 12);
  o = json_escape (o + 12, stream, strlen (stream));
  memcpy (o, "\",\"time\":\"", 10);
  o += 10;
  o += time_rfc3339_ns (time_ns, o);
  memcpy (o, "\"}\n", 3);
  o += 3;

  if (lf->fd < 0 && open_log (lf) < 0)
    return;
  /* what json.log will hold once the pending records are written */
  held = lf->size + lf->pending.len;
  if (lf->max_size && held > 0 && held + (uint64_t)(o - lf->buf) > lf->max_size)
    {
      logfile_flush (lf);
      rotate (lf);
    }
  if (lf->fd < 0)
    return;
  sb_put (&lf->pending, lf->buf, (size_t)(o - lf->buf));
  if (lf->pending.len >= PENDING_MAX)
    logfile_flush (lf);
}

void
logfile_flush (logfile_t *lf)
{
  ssize_t n;

  if (lf == NULL || lf->pending.len == 0)
    return;
  if (lf->fd >= 0)
    {
      do
        n = write (lf->fd, lf->pending.s, lf->pending.len);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        lf_report (lf, "write json.log: %s", strerror (errno));
      else
        lf->size += (uint64_t)n;
    }
  lf->pending.len = 0;
}

void
logfile_write (logfile_t *lf, int64_t time_ns, const char *stream, const char *text, size_t len)
{
  if (lf == NULL)
    return;
  /* the buffer stays bounded: a longer text is cut as the pipe cuts it */
  do
    {
      size_t piece = len < LOG_LINE_MAX ? len : LOG_LINE_MAX;
      write_record (lf, time_ns, stream, text, piece);
      text += piece;
      len -= piece;
    }
  while (len > 0);
}

void
logfile_close (logfile_t *lf)
{
  if (lf == NULL)
    return;
  logfile_flush (lf);
  if (lf->fd >= 0)
    close (lf->fd);
  sb_free (&lf->pending);
  free (lf->buf);
  free (lf->path);
  free (lf->dir);
  free (lf);
}

/* ---- pipes into lines ---- */

/* Deliver every complete line of p, keep the rest (at most LOG_LINE_MAX
   bytes: a longer line goes out in pieces of that size). */
static void
feed (logpipe_t *lp, const char *p, size_t n)
{
  while (n > 0)
    {
      const char *nl = memchr (p, '\n', n);
      size_t seg = nl ? (size_t)(nl - p) + 1 : n, room, take;
      bool whole; /* the rest of the line, its "\n" included, fits */

      if (lp->len == 0 && nl && seg <= LOG_LINE_MAX)
        {
          lp->cb (lp->data, lp->stream, p, seg);
          p += seg;
          n -= seg;
          continue;
        }
      room = LOG_LINE_MAX - lp->len;
      take = seg < room ? seg : room;
      whole = nl && seg <= room;
      memcpy (lp->buf + lp->len, p, take);
      lp->len += take;
      p += take;
      n -= take;
      if (whole || lp->len == LOG_LINE_MAX)
        {
          size_t line = lp->len;
          lp->len = 0;
          lp->cb (lp->data, lp->stream, lp->buf, line);
        }
    }
}

/* One read; <= 0 at the end (EOF or an error other than EAGAIN), 1
   when there may be more. */
static int
read_once (logpipe_t *lp)
{
  char chunk[PIPE_READ_MAX];
  ssize_t n;

  do
    n = read (lp->io.fd, chunk, sizeof chunk);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    {
      feed (lp, chunk, (size_t)n);
      lp->cb (lp->data, lp->stream, NULL, 0);
      return 1;
    }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return 0;
  return -1;
}

static void
pipe_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  logpipe_t *lp = (logpipe_t *)((char *)w - offsetof (logpipe_t, io));

  /* the writer closed its end: nothing will come again; the rest is
     what stop does */
  if (read_once (lp) < 0)
    logpipe_stop (loop, lp);
}

/* Started means lp->buf is set: a zeroed logpipe_t (never started) and a
   stopped one both have it NULL, so stop is safe on either. */
void
logpipe_start (struct ev_loop *loop, logpipe_t *lp, int fd, const char *stream, logpipe_cb cb,
               void *data)
{
  fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) | O_NONBLOCK);
  fcntl (fd, F_SETFD, FD_CLOEXEC);
  lp->buf = xmalloc (LOG_LINE_MAX);
  lp->len = 0;
  lp->stream = stream;
  lp->cb = cb;
  lp->data = data;
  ev_io_init (&lp->io, pipe_cb, fd, EV_READ);
  ev_io_start (loop, &lp->io);
}

void
logpipe_stop (struct ev_loop *loop, logpipe_t *lp)
{
  size_t drained;
  int ret = 1;

  if (lp->buf == NULL)
    return;
  ev_io_stop (loop, &lp->io);
  for (drained = 0; ret > 0 && drained < PIPE_DRAIN_MAX; drained += PIPE_READ_MAX)
    ret = read_once (lp);
  if (lp->len > 0)
    {
      size_t len = lp->len;
      lp->len = 0;
      lp->cb (lp->data, lp->stream, lp->buf, len);
      lp->cb (lp->data, lp->stream, NULL, 0);
    }
  close (lp->io.fd);
  ev_io_set (&lp->io, -1, EV_READ);
  free (lp->buf);
  lp->buf = NULL;
}

/* ---- the prefix ---- */

/* Compose's rainbow: cyan, yellow, green, magenta, blue, then the same
   bright. An SGR escape; the reset is "\033[0m". */
const char *
log_color (size_t i)
{
  static const char *const colors[] = {
    "\033[36m",   "\033[33m",   "\033[32m",   "\033[35m",   "\033[34m",
    "\033[36;1m", "\033[33;1m", "\033[32;1m", "\033[35;1m", "\033[34;1m",
  };
  return colors[i % ARRAY_SIZE (colors)];
}

/* name NULL: no prefix at all (`logs --no-prefix`). One fwrite of the
   whole line: lines of several writers on one stream never mix. */
void
log_print (FILE *out, const char *name, size_t width, const char *color, int64_t time_ns,
           const char *text, size_t len)
{
  strbuf_t b = { 0 };

  if (name)
    {
      size_t n = strlen (name);
      if (color)
        sb_puts (&b, color);
      sb_puts (&b, name);
      for (; n < width; n++)
        sb_putc (&b, ' ');
      sb_puts (&b, " | ");
      if (color)
        sb_puts (&b, "\033[0m");
    }
  if (time_ns >= 0)
    {
      char ts[40];
      sb_put (&b, ts, time_rfc3339_ns (time_ns, ts));
      sb_putc (&b, ' ');
    }
  sb_put (&b, text, len);
  if (len == 0 || text[len - 1] != '\n')
    sb_putc (&b, '\n');
  fwrite (b.s, 1, b.len, out);
  sb_free (&b);
}
