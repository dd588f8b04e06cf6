/* logs.c — `stack logs [-f] [--tail N|all] [-t] [--since T] [--until T]
   [--no-prefix] [--no-color] [SERVICE...]`: the containers' output as
   their json-file logs keep it (see logs-internal.h), read from the files
   alone, so it works whether or not the supervisor is alive.

   The stored records are merged across containers in time order without
   holding them: each container's files are read as one stream, and the
   oldest head of all streams is printed next (--tail N counts first, then
   skips). -f then follows each container's json.log with inotify, across
   rotation (json.log renamed to json.log.1: the old file is read to its end
   through its fd, then the new one from its start), truncation and
   recreation, and picks up containers that state.json gains; it ends when
   the project's run dir or state.json goes away. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"
#include "lifecycle-internal.h"
#include "logs-internal.h"
#include "logs-read-internal.h"

/* a record is at most 6 bytes a byte of LOG_LINE_MAX plus its fields: a
   longer line is damage, skipped without being held */
#define LINE_BYTES_MAX (7 * LOG_LINE_MAX)
/* what one container may add to one batch of -f before the others get
   their turn: memory stays bounded under a flood */
#define BATCH_BYTES 262144
#define NS 1000000000LL

/* ---- a file, line by line ---- */

typedef struct lreader
{
  int fd;
  char *buf;
  size_t start, end, cap;
  bool discard; /* inside a line too long to be a record */
} lreader_t;

static void
lr_reset (lreader_t *lr, int fd)
{
  lr->fd = fd;
  lr->start = lr->end = 0;
  lr->discard = false;
}

/* The next whole line (without its "\n"): 1; 0 when there is none yet
   (a partial last line stays, to be completed by the writer). */
static int
lr_next (lreader_t *lr, char **line, size_t *len, uint64_t *damaged)
{
  for (;;)
    {
      char *nl
          = lr->end > lr->start ? memchr (lr->buf + lr->start, '\n', lr->end - lr->start) : NULL;
      ssize_t n;

      if (nl)
        {
          *line = lr->buf + lr->start;
          *len = (size_t)(nl - *line);
          lr->start += *len + 1;
          if (!lr->discard)
            return 1;
          lr->discard = false;
          (*damaged)++;
          continue;
        }
      if (lr->fd < 0)
        return 0;
      if (lr->start > 0)
        {
          memmove (lr->buf, lr->buf + lr->start, lr->end - lr->start);
          lr->end -= lr->start;
          lr->start = 0;
        }
      if (lr->end == lr->cap)
        {
          if (lr->cap >= LINE_BYTES_MAX)
            {
              lr->discard = true;
              lr->end = 0;
            }
          else
            {
              lr->cap = lr->cap ? 2 * lr->cap : 8192;
              lr->buf = xrealloc (lr->buf, lr->cap);
            }
        }
      do
        n = read (lr->fd, lr->buf + lr->end, lr->cap - lr->end);
      while (n < 0 && errno == EINTR);
      if (n <= 0)
        return 0;
      lr->end += (size_t)n;
    }
}

/* ---- each container's log ---- */

typedef struct lsource
{
  char *name, *dir;
  const char *prefix; /* name without "<project>-" */
  size_t color;
  int *fds; /* its files, oldest first; the reader is on fds[cur] */
  size_t n_fds, cur;
  lreader_t lr;
  dev_t dev;
  ino_t ino;     /* the file lr reads */
  uint64_t skip; /* --tail: records still to pass over */
  uint64_t damaged;
  int wd;         /* inotify watch of dir, -1 none */
  bool dirty;     /* may have more to read */
  bool switching; /* json.log is another file: finish this one first */
  bool seen;      /* still in state.json */
} lsource_t;

typedef struct logs
{
  const char *project;
  char *run_dir;
  char **services;
  int n_services;
  int64_t since, until;
  bool has_since, has_until, timestamps, prefix, color, follow;
  lsource_t **src;
  size_t n_src;
  size_t width;
  bool failed;   /* stdout is gone, or SIGINT/SIGTERM came: stop */
  int out_errno; /* why stdout is gone; 0 for a signal */
  /* -f */
  struct ev_loop *loop;
  int ino_fd, run_wd;
  ev_io ino_io;
  ev_timer tick;
  ev_idle more;
  ev_signal sig_int, sig_term;
} logs_t;

static bool
wanted (logs_t *l, const st_container_t *c)
{
  int i;
  if (l->n_services == 0)
    return true;
  for (i = 0; i < l->n_services; i++)
    if (strcmp (l->services[i], c->service) == 0)
      return true;
  return false;
}

static bool
in_window (logs_t *l, const log_record_t *r)
{
  return (!l->has_since || r->time_ns >= l->since) && (!l->has_until || r->time_ns <= l->until);
}

/* Its stored files and the one the reader is on (one of them, or the
   json.log -f took up later). */
static void
source_close_files (lsource_t *s)
{
  bool reader_among = false;
  size_t i;

  for (i = 0; i < s->n_fds; i++)
    {
      reader_among = reader_among || s->fds[i] == s->lr.fd;
      close (s->fds[i]);
    }
  if (!reader_among && s->lr.fd >= 0)
    close (s->lr.fd);
  free (s->fds);
  s->fds = NULL;
  s->n_fds = s->cur = 0;
  lr_reset (&s->lr, -1);
}

static void
source_free (lsource_t *s)
{
  source_close_files (s);
  free (s->lr.buf);
  free (s->name);
  free (s->dir);
  free (s);
}

static void
set_file (lsource_t *s, int fd)
{
  struct stat sb;
  lr_reset (&s->lr, fd);
  if (fd >= 0 && fstat (fd, &sb) == 0)
    s->dev = sb.st_dev, s->ino = sb.st_ino;
}

static void
watch (logs_t *l, lsource_t *s)
{
  if (l->follow && s->wd < 0)
    s->wd = inotify_add_watch (l->ino_fd, s->dir,
                               IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE);
}

static lsource_t *
source_add (logs_t *l, const st_container_t *c)
{
  lsource_t *s = xzalloc (sizeof *s);
  size_t plen = strlen (l->project), n;

  s->name = xstrdup (c->name);
  s->dir = xstrdup (c->dir);
  s->prefix = strncmp (s->name, l->project, plen) == 0 && s->name[plen] == '-' && s->name[plen + 1]
                  ? s->name + plen + 1
                  : s->name;
  s->color = l->n_src;
  s->wd = -1;
  s->seen = true;
  lr_reset (&s->lr, -1);
  l->src = xrealloc (l->src, (l->n_src + 1) * sizeof *l->src);
  l->src[l->n_src++] = s;
  n = strlen (s->prefix) + 1; /* Compose pads to the longest name plus one */
  if (n > l->width)
    l->width = n;
  watch (l, s);
  return s;
}

/* Open json.log, json.log.1, ...: the same file twice (renamed between
   two opens by a rotation) only once. */
static void
source_open_files (lsource_t *s)
{
  unsigned k;

  for (k = 0;; k++)
    {
      cleanup_free char *path
          = k ? xasprintf ("%s/json.log.%u", s->dir, k) : xasprintf ("%s/json.log", s->dir);
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      struct stat sb, ob;
      size_t i;
      bool dup = false;

      if (fd < 0)
        {
          if (k == 0 && errno == ENOENT)
            continue; /* rotating right now, or nothing written yet */
          break;
        }
      if (fstat (fd, &sb) < 0)
        dup = true;
      for (i = 0; i < s->n_fds && !dup; i++)
        dup = fstat (s->fds[i], &ob) == 0 && ob.st_ino == sb.st_ino && ob.st_dev == sb.st_dev;
      if (dup)
        {
          close (fd);
          continue;
        }
      s->fds = xrealloc (s->fds, (s->n_fds + 1) * sizeof *s->fds);
      memmove (s->fds + 1, s->fds, s->n_fds * sizeof *s->fds);
      s->fds[0] = fd;
      s->n_fds++;
    }
  s->cur = 0;
  set_file (s, s->n_fds ? s->fds[0] : -1);
}

/* The next record of s inside the window: from its stored files in
   order, or (after them) from what its current file gains. */
static int
source_next (logs_t *l, lsource_t *s, log_record_t *r)
{
  char *line;
  size_t len;

  for (;;)
    {
      if (!lr_next (&s->lr, &line, &len, &s->damaged))
        {
          if (s->n_fds == 0 || s->cur + 1 >= s->n_fds)
            return 0;
          /* a rotated file ends in a whole record; anything else is damage */
          if (s->lr.end > s->lr.start)
            s->damaged++;
          s->cur++;
          set_file (s, s->fds[s->cur]);
          continue;
        }
      if (log_record_parse (line, len, r) < 0)
        {
          s->damaged++;
          continue;
        }
      if (in_window (l, r))
        {
          if (s->skip == 0)
            return 1;
          s->skip--;
        }
      log_record_clear (r);
    }
}

/* --tail N: count what the window holds, then come back to skip all but
   the last N. */
static void
source_tail (logs_t *l, lsource_t *s, uint64_t tail)
{
  log_record_t r;
  uint64_t count = 0;
  size_t i;

  while (source_next (l, s, &r))
    {
      count++;
      log_record_clear (&r);
    }
  for (i = 0; i < s->n_fds; i++)
    lseek (s->fds[i], 0, SEEK_SET);
  s->cur = 0;
  set_file (s, s->n_fds ? s->fds[0] : -1);
  s->skip = count > tail ? count - tail : 0;
}

static void
out_failed (logs_t *l)
{
  if (!l->failed)
    l->out_errno = errno ? errno : EIO;
  l->failed = true;
  /* a reader that went away (`| head`) is no failure: what is left for
     it is dropped, so that no later flush reports it */
  if (l->out_errno == EPIPE)
    {
      __fpurge (stdout);
      clearerr (stdout);
    }
}

static void
emit (logs_t *l, lsource_t *s, const log_record_t *r)
{
  if (l->failed)
    return;
  log_print (stdout, l->prefix ? s->prefix : NULL, l->width, l->color ? log_color (s->color) : NULL,
             l->timestamps ? r->time_ns : -1, r->text, r->len);
  if (ferror (stdout))
    out_failed (l);
}

/* Every container's stored records, in time order. */
static void
print_stored (logs_t *l)
{
  log_record_t *head = xzalloc ((l->n_src + 1) * sizeof *head);
  bool *has = xzalloc ((l->n_src + 1) * sizeof *has);
  size_t i, count;

  for (i = 0; i < l->n_src; i++)
    has[i] = source_next (l, l->src[i], &head[i]);
  for (count = 1;; count++)
    {
      size_t best = l->n_src;
      /* with -f, signals are libev's: look at them now and then */
      if (l->loop && count % 256 == 0)
        ev_run (l->loop, EVRUN_NOWAIT);
      for (i = 0; i < l->n_src; i++)
        if (has[i] && (best == l->n_src || head[i].time_ns < head[best].time_ns))
          best = i;
      if (best == l->n_src || l->failed)
        break;
      emit (l, l->src[best], &head[best]);
      log_record_clear (&head[best]);
      has[best] = source_next (l, l->src[best], &head[best]);
    }
  for (i = 0; i < l->n_src; i++)
    log_record_clear (&head[i]);
  free (head);
  free (has);
}

/* ---- -f ---- */

static char *
log_path (const lsource_t *s, unsigned k)
{
  return k ? xasprintf ("%s/json.log.%u", s->dir, k) : xasprintf ("%s/json.log", s->dir);
}

static bool
is_ours (const lsource_t *s, unsigned k)
{
  cleanup_free char *path = log_path (s, k);
  struct stat sb;
  return s->lr.fd >= 0 && stat (path, &sb) == 0 && sb.st_ino == s->ino && sb.st_dev == s->dev;
}

/* The file that came after ours: json.log.(K-1) when ours is json.log.K
   by now (a reader that fell two rotations behind skips nothing); the
   oldest there is when ours is gone altogether (rotated out, its
   container recreated) or there was none. */
static int
open_next (lsource_t *s)
{
  int tries;

  for (tries = 0;; tries++)
    {
      cleanup_free char *path = NULL;
      unsigned k, next = 0;
      bool found = false;
      int fd;

      for (k = 1;; k++)
        {
          cleanup_free char *p = log_path (s, k);
          if (access (p, F_OK) < 0)
            break;
          next = k;
          if ((found = is_ours (s, k)))
            {
              next = k - 1;
              break;
            }
        }
      path = log_path (s, next);
      fd = open (path, O_RDONLY | O_CLOEXEC);
      /* a rotation between the look and the open moved ours on: what we
         opened may be one too new; files only ever move up, so ours
         still at K proves the open right */
      if (fd < 0 || !found || is_ours (s, next + 1) || tries == 8)
        return fd;
      close (fd);
    }
}

/* Is <dir>/json.log still the file we read? When it is another, finish
   ours (it can only have grown before it was renamed), then go on with
   the next from its start. A file shorter than where we are was
   truncated. */
static int
follow_next (logs_t *l, lsource_t *s, log_record_t *r)
{
  for (;;)
    {
      cleanup_free char *path = xasprintf ("%s/json.log", s->dir);
      struct stat sb, ob;

      if (source_next (l, s, r))
        return 1;
      if (s->switching)
        {
          int fd = open_next (s);
          s->switching = false;
          source_close_files (s);
          if (fd < 0)
            return 0;
          set_file (s, fd);
          continue;
        }
      if (stat (path, &sb) < 0)
        return 0;
      if (s->lr.fd < 0 || sb.st_ino != s->ino || sb.st_dev != s->dev)
        {
          s->switching = true;
          continue;
        }
      if (fstat (s->lr.fd, &ob) == 0 && ob.st_size < lseek (s->lr.fd, 0, SEEK_CUR))
        {
          lseek (s->lr.fd, 0, SEEK_SET);
          lr_reset (&s->lr, s->lr.fd);
          continue;
        }
      return 0;
    }
}

struct entry
{
  log_record_t r;
  size_t src, seq;
};

static int
entry_cmp (const void *a, const void *b)
{
  const struct entry *x = a, *y = b;
  if (x->r.time_ns != y->r.time_ns)
    return x->r.time_ns < y->r.time_ns ? -1 : 1;
  if (x->src != y->src)
    return x->src < y->src ? -1 : 1;
  return x->seq < y->seq ? -1 : 1;
}

/* What the dirty containers have written, printed in time order. Returns
   whether some container has more than a batch holds. */
static bool
follow_batch (logs_t *l)
{
  struct entry *e = NULL;
  size_t n = 0, cap = 0, i;
  bool more = false;

  for (i = 0; i < l->n_src; i++)
    {
      lsource_t *s = l->src[i];
      size_t bytes = 0;
      log_record_t r;

      if (!s->dirty)
        continue;
      s->dirty = false;
      while (bytes < BATCH_BYTES && follow_next (l, s, &r))
        {
          if (n == cap)
            e = xrealloc (e, (cap = cap ? 2 * cap : 64) * sizeof *e);
          e[n].r = r;
          e[n].src = i;
          e[n].seq = n;
          n++;
          bytes += r.len + 64;
        }
      if (bytes >= BATCH_BYTES)
        s->dirty = more = true;
    }
  if (n > 1)
    qsort (e, n, sizeof *e, entry_cmp);
  for (i = 0; i < n; i++)
    {
      emit (l, l->src[e[i].src], &e[i].r);
      log_record_clear (&e[i].r);
    }
  free (e);
  if (fflush (stdout) != 0)
    out_failed (l);
  return more && !l->failed;
}

/* state.json was rewritten: new containers join (their json.log from its
   start); one recreated under its name is found by its file's inode. */
static void
reload_state (logs_t *l)
{
  stack_error_t *err = NULL;
  state_t *st = NULL;
  size_t i, j;

  if (state_load (l->run_dir, &st, &err) < 0 || st == NULL)
    {
      stack_error_free (&err);
      return;
    }
  for (j = 0; j < l->n_src; j++)
    l->src[j]->seen = false;
  for (i = 0; i < st->n_containers; i++)
    {
      st_container_t *c = &st->containers[i];
      lsource_t *s = NULL;
      if (!wanted (l, c))
        continue;
      for (j = 0; j < l->n_src && s == NULL; j++)
        if (strcmp (l->src[j]->name, c->name) == 0)
          s = l->src[j];
      if (s == NULL)
        s = source_add (l, c);
      s->seen = s->dirty = true;
      watch (l, s);
    }
  state_free (st);
}

static void
follow_end (logs_t *l)
{
  int rounds;
  size_t i;

  /* what was written before the project went: a bounded last read */
  for (i = 0; i < l->n_src; i++)
    l->src[i]->dirty = true;
  for (rounds = 0; rounds < 64 && follow_batch (l); rounds++)
    ;
  ev_break (l->loop, EVBREAK_ALL);
}

static void
run_batches (logs_t *l)
{
  if (follow_batch (l))
    ev_idle_start (l->loop, &l->more);
  else
    ev_idle_stop (l->loop, &l->more);
  if (l->failed)
    ev_break (l->loop, EVBREAK_ALL);
}

static void
inotify_cb (struct ev_loop *loop, ev_io *w, int revents)
{
  logs_t *l = w->data;
  char buf[16384] __attribute__ ((aligned (__alignof__(struct inotify_event))));
  bool reload = false, ended = false;
  ssize_t n;

  while ((n = read (l->ino_fd, buf, sizeof buf)) > 0)
    {
      char *p;
      for (p = buf; p < buf + n;
           p += sizeof (struct inotify_event) + ((struct inotify_event *)p)->len)
        {
          const struct inotify_event *ev = (const struct inotify_event *)p;
          size_t i;

          if (ev->mask & IN_Q_OVERFLOW)
            {
              /* events were lost: look at everything */
              for (i = 0; i < l->n_src; i++)
                l->src[i]->dirty = true;
              reload = true;
              continue;
            }
          if (ev->wd == l->run_wd)
            {
              if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
                ended = true;
              else if (ev->len && strcmp (ev->name, "state.json") == 0)
                {
                  if (ev->mask & (IN_DELETE | IN_MOVED_FROM))
                    ended = true;
                  else
                    reload = true;
                }
              continue;
            }
          for (i = 0; i < l->n_src; i++)
            if (l->src[i]->wd == ev->wd)
              {
                if (ev->mask & IN_IGNORED)
                  l->src[i]->wd = -1; /* its dir went; the tick looks again */
                else if (ev->len == 0 || str_has_prefix (ev->name, "json.log"))
                  l->src[i]->dirty = true;
              }
        }
    }
  if (reload && !ended)
    reload_state (l);
  if (ended)
    follow_end (l);
  else
    run_batches (l);
}

/* Once a second: what inotify cannot say (a dir that came back, a
   state.json gone with its watch). */
static void
tick_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
  logs_t *l = w->data;
  cleanup_free char *state = xasprintf ("%s/state.json", l->run_dir);
  size_t i;

  if (access (state, F_OK) < 0 && errno == ENOENT)
    {
      follow_end (l);
      return;
    }
  for (i = 0; i < l->n_src; i++)
    {
      if (l->src[i]->wd < 0 && l->src[i]->seen)
        watch (l, l->src[i]);
      l->src[i]->dirty = true;
    }
  run_batches (l);
}

static void
more_cb (struct ev_loop *loop, ev_idle *w, int revents)
{
  run_batches (w->data);
}

static void
signal_cb (struct ev_loop *loop, ev_signal *w, int revents)
{
  logs_t *l = w->data;
  l->failed = true;
  ev_break (loop, EVBREAK_ALL);
}

static int
follow_setup (logs_t *l, stack_error_t **err)
{
  l->loop = EV_DEFAULT;
  l->ino_fd = inotify_init1 (IN_NONBLOCK | IN_CLOEXEC);
  if (l->ino_fd < 0)
    return stack_error_make (err, errno, "inotify");
  l->run_wd = inotify_add_watch (l->ino_fd, l->run_dir,
                                 IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_DELETE
                                     | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF);
  if (l->run_wd < 0)
    return stack_error_make (err, errno, "watch `%s`", l->run_dir);
  ev_io_init (&l->ino_io, inotify_cb, l->ino_fd, EV_READ);
  ev_timer_init (&l->tick, tick_cb, 1., 1.);
  ev_idle_init (&l->more, more_cb);
  ev_signal_init (&l->sig_int, signal_cb, SIGINT);
  ev_signal_init (&l->sig_term, signal_cb, SIGTERM);
  l->ino_io.data = l->tick.data = l->more.data = l->sig_int.data = l->sig_term.data = l;
  /* from now on: a Ctrl-C while the stored output is printed ends us as
     quietly as one while following */
  ev_signal_start (l->loop, &l->sig_int);
  ev_signal_start (l->loop, &l->sig_term);
  return 0;
}

static void
follow (logs_t *l)
{
  size_t i;

  ev_io_start (l->loop, &l->ino_io);
  ev_timer_start (l->loop, &l->tick);
  /* containers that came while the stored output was read */
  reload_state (l);
  for (i = 0; i < l->n_src; i++)
    l->src[i]->dirty = true;
  run_batches (l);
  if (!l->failed)
    ev_run (l->loop, 0);
}

/* ---- the command ---- */

static int
parse_options (logs_t *l, int argc, char **argv, uint64_t *tail)
{
  /* clang-format off */
  static const struct option opts[] = {
    { "follow", no_argument, NULL, 'f' },
    { "tail", required_argument, NULL, 'n' },
    { "timestamps", no_argument, NULL, 't' },
    { "since", required_argument, NULL, 'S' },
    { "until", required_argument, NULL, 'U' },
    { "no-prefix", no_argument, NULL, 'P' },
    { "no-log-prefix", no_argument, NULL, 'P' }, /* Compose's name */
    { "no-color", no_argument, NULL, 'C' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  /* clang-format on */
  int64_t now = now_ns ();
  char *end;
  int c;

  optind = 0;
  while ((c = getopt_long (argc, argv, "+fn:th", opts, NULL)) != -1)
    switch (c)
      {
      case 'f':
        l->follow = true;
        break;
      case 'n':
        if (strcmp (optarg, "all") == 0 || strcmp (optarg, "-1") == 0)
          {
            *tail = UINT64_MAX;
            break;
          }
        errno = 0;
        *tail = strtoull (optarg, &end, 10);
        if (*end || end == optarg || errno || optarg[0] == '-')
          return usage_error ("logs", "logs: --tail `%s`: a number of lines or `all`", optarg);
        break;
      case 't':
        l->timestamps = true;
        break;
      case 'S':
      case 'U':
        if (log_since_parse (optarg, now, c == 'S' ? &l->since : &l->until) < 0)
          return usage_error ("logs",
                              "logs: --%s `%s`: not a time (2026-11-22T10:00:00Z), a duration "
                              "(10m, 1h30m) or unix seconds",
                              c == 'S' ? "since" : "until", optarg);
        *(c == 'S' ? &l->has_since : &l->has_until) = true;
        break;
      case 'P':
        l->prefix = false;
        break;
      case 'C':
        l->color = false;
        break;
      case 'h':
        cli_help ("logs");
        return -1;
      default:
        return usage_error ("logs", "logs: unknown option `%s`", argv[optind - 1]);
      }
  return EXIT_OK;
}

int
cmd_logs (struct globals *g, int argc, char **argv)
{
  logs_t l = { .prefix = true, .color = true, .ino_fd = -1, .run_wd = -1 };
  compose_project_t *p = NULL;
  stack_error_t *err = NULL;
  state_t *st = NULL;
  uint64_t tail = UINT64_MAX;
  int ret, i;
  size_t k;

  ret = parse_options (&l, argc, argv, &tail);
  if (ret != EXIT_OK)
    return ret < 0 ? EXIT_OK : ret;
  if ((ret = running_project_name (g, &p, &l.project)) != EXIT_OK)
    return ret;
  l.services = argv + optind;
  l.n_services = argc - optind;
  l.color = l.color && isatty (STDOUT_FILENO);
  l.run_dir = state_run_dir (l.project);
  if (state_load (l.run_dir, &st, &err) < 0)
    goto fail;
  if (st == NULL)
    {
      stack_error_make (&err, 0, "project `%s` is not running", l.project);
      goto fail;
    }
  for (i = 0; i < l.n_services; i++)
    {
      bool known = p && compose_service_find (p, l.services[i]) != NULL;
      for (k = 0; k < st->n_containers && !known; k++)
        known = strcmp (st->containers[k].service, l.services[i]) == 0;
      if (!known)
        {
          stack_error_make (&err, 0, "no such service: `%s`", l.services[i]);
          goto fail;
        }
    }
  /* a reader gone (`| head`) ends us quietly */
  signal (SIGPIPE, SIG_IGN);
  if (l.follow && follow_setup (&l, &err) < 0)
    goto fail;
  for (k = 0; k < st->n_containers; k++)
    if (wanted (&l, &st->containers[k]))
      {
        lsource_t *s = source_add (&l, &st->containers[k]);
        source_open_files (s);
        if (tail != UINT64_MAX)
          source_tail (&l, s, tail);
      }
  print_stored (&l);
  if (fflush (stdout) != 0)
    out_failed (&l);
  if (l.follow && !l.failed)
    follow (&l);
  ret = EXIT_OK;
  /* a reader that went away (`| head`) is no failure */
  if (l.failed && l.out_errno != 0 && l.out_errno != EPIPE)
    {
      stack_error_make (&err, l.out_errno, "logs: write the output");
      goto fail;
    }
  goto out;

fail:
  ret = report_failure (&err);
out:
  for (k = 0; k < l.n_src; k++)
    source_free (l.src[k]);
  free (l.src);
  if (l.loop)
    {
      ev_signal_stop (l.loop, &l.sig_int);
      ev_signal_stop (l.loop, &l.sig_term);
    }
  if (l.ino_fd >= 0)
    close (l.ino_fd);
  free (l.run_dir);
  state_free (st);
  compose_project_free (p);
  return ret;
}
