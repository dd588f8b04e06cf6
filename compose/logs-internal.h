/* logs-internal.h — containers' output: captured by the supervisor through
   pipes, kept in rotating JSON-line files, read back by `stack logs`.

   A container's log is <container dir>/json.log, then json.log.1 (older),
   json.log.2, ... up to max_files files in all. One JSON object a line, in
   Docker's json-file format:
     {"log":"text\n","stream":"stdout","time":"2026-11-22T10:00:00.123456789Z"}
   A line longer than LOG_LINE_MAX is cut into records of at most that
   size, only the last of which ends in "\n" (Docker does the same). */
#ifndef STACK_LOGS_INTERNAL_H
#define STACK_LOGS_INTERNAL_H

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../util/util.h"

#define LOG_LINE_MAX 16384

/* ---- logfile.c: the writer ---- */

typedef struct logfile logfile_t;

/* Open (append to) <dir>/json.log; when it reaches max_size bytes it
   becomes json.log.1, and so on, the oldest beyond max_files removed.
   max_size 0: no rotation. */
logfile_t *logfile_open (const char *dir, uint64_t max_size, unsigned max_files,
                         stack_error_t **err);
/* One record. stream is "stdout" or "stderr"; text need not end in
   "\n". Records wait in memory until logfile_flush (or 64 KiB of them),
   which writes them with one write(2): a reader never sees half a
   record. A write error is reported once on stderr, never fatal. */
void logfile_write (logfile_t *lf, int64_t time_ns, const char *stream, const char *text,
                    size_t len);
void logfile_flush (logfile_t *lf);
/* Flushes, then closes. */
void logfile_close (logfile_t *lf);

/* Reading a pipe into lines. The callback gets each line with its "\n"
   (or a LOG_LINE_MAX piece, or what was left at the end without one). One
   read of at most 64 KiB per wake-up: a container that floods cannot
   starve the others, and the pipe's own buffer holds it back. After the
   lines of each read the callback gets text NULL (len 0): the time to
   flush what they made. */
typedef void (*logpipe_cb) (void *data, const char *stream, const char *text, size_t len);

typedef struct logpipe
{
  ev_io io;
  char *buf; /* an incomplete line, at most LOG_LINE_MAX bytes */
  size_t len;
  const char *stream;
  logpipe_cb cb;
  void *data;
} logpipe_t;

/* fd (made non-blocking) is owned from here on. Started means buf !=
   NULL; at EOF the watcher stops itself (last piece delivered, fd
   closed), so a later logpipe_stop is a no-op. */
void logpipe_start (struct ev_loop *loop, logpipe_t *lp, int fd, const char *stream, logpipe_cb cb,
                    void *data);
/* The writer is gone: read what is left, deliver the last partial line,
   close the fd. Safe on a pipe never started or already stopped. */
void logpipe_stop (struct ev_loop *loop, logpipe_t *lp);

/* ---- the prefix of `up` and `logs`: "web-1  | " ---- */

/* Compose's colours, by index (i % n): an SGR escape such as
   "\033[36m"; reset with "\033[0m". */
const char *log_color (size_t i);
/* Print one line of output as `up` and `logs` show it: NAME padded to
   width, " | ", the timestamp when time_ns >= 0 (RFC 3339 with
   nanoseconds), then text (a "\n" added when it has none). color NULL:
   no colour; name NULL: no prefix at all (`logs --no-prefix`). */
void log_print (FILE *out, const char *name, size_t width, const char *color, int64_t time_ns,
                const char *text, size_t len);

/* ---- logs.c: `stack logs` ---- */

#endif
