/* test_logfile.c — containers' logs: the json-file writer's exact text and
   its rotation, pipes cut into lines through a real libev loop, the
   `web-1  | ` prefix, and the pieces of `stack logs` that read it back
   (times, --since, records). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"
#include "helpers.h"
#include "logs-internal.h"
#include "logs-read-internal.h"

/* 2026-11-22T10:00:00.123456789Z */
#define T0 (1795341600LL * 1000000000LL + 123456789LL)
#define T0_TEXT "2026-11-22T10:00:00.123456789Z"

static char *
slurp (const char *dir, const char *name)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  char *text = NULL;
  stack_error_t *err = NULL;

  if (read_file (path, &text, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return NULL;
    }
  return text;
}

static bool
exists (const char *dir, const char *name)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  return access (path, F_OK) == 0;
}

static void
write_one (const char *dir, const char *text, size_t len, const char *expected)
{
  stack_error_t *err = NULL;
  logfile_t *lf = logfile_open (dir, 0, 1, &err);
  cleanup_free char *got = NULL;
  cleanup_free char *path = xasprintf ("%s/json.log", dir);

  assert_non_null (lf);
  logfile_write (lf, T0, "stdout", text, len);
  logfile_close (lf);
  got = slurp (dir, "json.log");
  assert_string_equal (got, expected);
  unlink (path);
}

static void
test_json_text (void **state)
{
  th_t t = *(th_t *)*state; /* scratch_up's */

  write_one (
      t.dir, "hello\n", 6,
      "{\"log\":\"hello\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:00.123456789Z\"}"
      "\n");
  /* quotes and backslashes escaped; "/" and DEL left alone */
  write_one (
      t.dir, "say \"hi\" \\ a/b\x7f", 15,
      "{\"log\":\"say \\\"hi\\\" \\\\ a/b\x7f\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:"
      "00:00.123456789Z\"}\n");
  /* control characters: \t \r \n short, the others (NUL too) \u00XX */
  write_one (
      t.dir, "\t\r\x01\x1b[1m\0x", 9,
      "{\"log\":\"\\t\\r\\u0001\\u001b[1m\\u0000x\",\"stream\":\"stdout\",\"time\":\"2026-11-"
      "22T10:00:00.123456789Z\"}\n");
  /* valid UTF-8 kept as it is; each byte of invalid UTF-8 (a stray byte,
     a cut sequence, an overlong form, a surrogate, past U+10FFFF) becomes
     \ufffd, so that the line stays JSON */
  write_one (
      t.dir, "\xc3\xa9\xf0\x9f\x98\x80|\xff|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80", 23,
      "{\"log\":\"\xc3\xa9\xf0\x9f\x98\x80|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd"
      "\\ufffd|\\ufffd\\ufffd\\ufffd\\ufffd\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:"
      "00.123456789Z\"}\n");
  /* the epoch, and a time with a zero fraction: always nine digits */
  {
    stack_error_t *err = NULL;
    logfile_t *lf = logfile_open (t.dir, 0, 1, &err);
    cleanup_free char *got = NULL;
    logfile_write (lf, 0, "stderr", "a", 1);
    logfile_write (lf, 1795341600LL * 1000000000LL, "stderr", "", 0);
    logfile_close (lf);
    got = slurp (t.dir, "json.log");
    assert_string_equal (
        got, "{\"log\":\"a\",\"stream\":\"stderr\",\"time\":\"1970-01-01T00:00:00.000000000Z\"}\n"
             "{\"log\":\"\",\"stream\":\"stderr\",\"time\":\"2026-11-22T10:00:00.000000000Z\"}\n");
  }
}

/* What the writer wrote reads back as it was, through `logs`' parser. */
static void
test_round_trip (void **state)
{
  static const char text[] = "tab\there \"q\" \\ \x01 \xc3\xa9 \0 end\n";
  th_t t = *(th_t *)*state; /* scratch_up's */
  stack_error_t *err = NULL;
  logfile_t *lf;
  cleanup_free char *got = NULL;
  log_record_t r;

  lf = logfile_open (t.dir, 0, 1, &err);
  logfile_write (lf, T0, "stderr", text, sizeof text - 1);
  logfile_close (lf);
  got = slurp (t.dir, "json.log");
  assert_int_equal (log_record_parse (got, strlen (got) - 1, &r), 0);
  assert_int_equal (r.len, sizeof text - 1);
  assert_memory_equal (r.text, text, sizeof text - 1);
  assert_string_equal (r.stream, "stderr");
  assert_int_equal (r.time_ns, T0);
  log_record_clear (&r);
}

/* The "log" field of each record of a file, joined: "1,2". */
static char *
records_of (const char *dir, const char *name)
{
  cleanup_free char *text = slurp (dir, name);
  strbuf_t b = { 0 };
  char *line, *save = NULL;

  sb_puts (&b, "");
  if (text == NULL)
    return sb_steal (&b);
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      log_record_t r;
      assert_int_equal (log_record_parse (line, strlen (line), &r), 0);
      sb_printf (&b, "%s%.*s", b.len ? "," : "", (int)r.len, r.text);
      log_record_clear (&r);
    }
  return sb_steal (&b);
}

static off_t
size_of (const char *dir, const char *name)
{
  cleanup_free char *path = xasprintf ("%s/%s", dir, name);
  struct stat sb;
  assert_int_equal (stat (path, &sb), 0);
  return sb.st_size;
}

#define assert_records(dir, name, expected)                                                        \
  do                                                                                               \
    {                                                                                              \
      char *got_ = records_of ((dir), (name));                                                     \
      assert_string_equal (got_, (expected));                                                      \
      free (got_);                                                                                 \
    }                                                                                              \
  while (0)

/* Records wait for flush, then go out whole, together. */
static void
test_gathered_until_flush (void **state)
{
  stack_error_t *err = NULL;
  th_t t = *(th_t *)*state; /* scratch_up's */
  logfile_t *lf = logfile_open (t.dir, 0, 1, &err);
  cleanup_free char *none = NULL, *two = NULL, *three = NULL;

  assert_non_null (lf);
  logfile_write (lf, T0, "stdout", "a\n", 2);
  logfile_write (lf, T0, "stderr", "b\n", 2);
  none = slurp (t.dir, "json.log");
  assert_string_equal (none, "");
  logfile_flush (lf);
  two = slurp (t.dir, "json.log");
  assert_string_equal (two, "{\"log\":\"a\\n\",\"stream\":\"stdout\",\"time\":\"" T0_TEXT "\"}\n"
                            "{\"log\":\"b\\n\",\"stream\":\"stderr\",\"time\":\"" T0_TEXT "\"}\n");
  logfile_flush (lf); /* nothing pending: nothing written */
  logfile_write (lf, T0, "stdout", "c", 1);
  logfile_close (lf); /* flushes */
  three = slurp (t.dir, "json.log");
  assert_int_equal (strlen (three), strlen (two) * 3 / 2 - 2);
}

static void
test_rotation (void **state)
{
  /* every record "N" is the same size: 2 fit in max_size, 3 do not */
  const size_t rec = strlen ("{\"log\":\"1\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:00."
                             "123456789Z\"}\n");
  stack_error_t *err = NULL;
  logfile_t *lf;
  th_t t = *(th_t *)*state; /* scratch_up's */
  char n[2] = "0";
  int i;

  lf = logfile_open (t.dir, 2 * rec + rec / 2, 3, &err);
  assert_non_null (lf);
  for (i = 1; i <= 7; i++)
    {
      n[0] = (char)('0' + i);
      logfile_write (lf, T0, "stdout", n, 1);
    }
  logfile_close (lf);
  /* 1,2 were in the oldest file: gone with the third rotation */
  assert_records (t.dir, "json.log", "7");
  assert_records (t.dir, "json.log.1", "5,6");
  assert_records (t.dir, "json.log.2", "3,4");
  assert_false (exists (t.dir, "json.log.3"));
  assert_int_equal (size_of (t.dir, "json.log.1"), 2 * rec);
  assert_int_equal (size_of (t.dir, "json.log"), rec);

  /* reopened, it appends and knows the size it found: 8 fits, 9 rotates */
  lf = logfile_open (t.dir, 2 * rec + rec / 2, 3, &err);
  logfile_write (lf, T0, "stdout", "8", 1);
  logfile_write (lf, T0, "stdout", "9", 1);
  logfile_close (lf);
  assert_records (t.dir, "json.log", "9");
  assert_records (t.dir, "json.log.1", "7,8");
  assert_records (t.dir, "json.log.2", "5,6");
}

static void
test_rotation_one_file (void **state)
{
  const size_t rec = strlen ("{\"log\":\"1\",\"stream\":\"stdout\",\"time\":\"2026-11-22T10:00:00."
                             "123456789Z\"}\n");
  stack_error_t *err = NULL;
  logfile_t *lf;
  th_t t = *(th_t *)*state; /* scratch_up's */
  char n[2] = "0";
  int i;

  lf = logfile_open (t.dir, 2 * rec + rec / 2, 1, &err);
  for (i = 1; i <= 5; i++)
    {
      n[0] = (char)('0' + i);
      logfile_write (lf, T0, "stdout", n, 1);
    }
  /* a record larger than max_size still goes in, alone in its file */
  logfile_write (lf, T0, "stdout",
                 "0123456789012345678901234567890123456789012345678901234567890"
                 "123456789012345678901234567890123456789",
                 100);
  logfile_write (lf, T0, "stdout", "6", 1);
  logfile_close (lf);
  assert_records (t.dir, "json.log", "6");
  assert_false (exists (t.dir, "json.log.1"));
  assert_int_equal (size_of (t.dir, "json.log"), rec);
}

static void
test_open_error (void **state)
{
  stack_error_t *err = NULL;
  th_t t = *(th_t *)*state; /* scratch_up's */
  cleanup_free char *dir = NULL;

  th_write (&t, "file", "x");
  dir = xasprintf ("%s/file/sub", t.dir);
  assert_null (logfile_open (dir, 0, 1, &err));
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "json.log"));
  stack_error_free (&err);
}

/* ---- pipes ---- */

struct got
{
  char *text[64];
  size_t len[64];
  const char *stream[64];
  size_t n, bytes, reads;
};

static void
collect (void *data, const char *stream, const char *text, size_t len)
{
  struct got *g = data;
  if (text == NULL)
    {
      g->reads++; /* the end of one read */
      return;
    }
  assert_true (g->n < 64);
  g->text[g->n] = xstrndup (text, len);
  g->len[g->n] = len;
  g->stream[g->n] = stream;
  g->n++;
  g->bytes += len;
}

static void
got_free (struct got *g)
{
  size_t i;
  for (i = 0; i < g->n; i++)
    free (g->text[i]);
  memset (g, 0, sizeof *g);
}

static void
test_pipe_lines (void **state)
{
  struct ev_loop *loop = ev_loop_new (EVFLAG_AUTO);
  logpipe_t lp = { 0 };
  struct got g = { 0 };
  int p[2];
  (void)state;

  assert_int_equal (pipe (p), 0);
  logpipe_start (loop, &lp, p[0], "stderr", collect, &g);
  assert_true (fcntl (p[0], F_GETFL) & O_NONBLOCK);
  assert_int_equal (write (p[1], "a\nbb\n\nccc", 9), 9);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 3);
  assert_string_equal (g.text[0], "a\n");
  assert_string_equal (g.text[1], "bb\n");
  assert_string_equal (g.text[2], "\n");
  assert_string_equal (g.stream[0], "stderr");
  /* the rest of a line joins what was held */
  assert_int_equal (write (p[1], "cc\ndd", 5), 5);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 4);
  assert_string_equal (g.text[3], "ccccc\n");
  /* the writer is still there: stop reads what is left without blocking,
     hands over the partial line and closes the fd */
  assert_int_equal (write (p[1], "ee", 2), 2);
  logpipe_stop (loop, &lp);
  assert_int_equal (g.n, 5);
  assert_string_equal (g.text[4], "ddee");
  assert_null (lp.buf);
  assert_int_equal (fcntl (p[0], F_GETFD), -1);
  assert_int_equal (errno, EBADF);
  /* twice is harmless */
  logpipe_stop (loop, &lp);
  assert_int_equal (g.n, 5);
  close (p[1]);
  got_free (&g);
  ev_loop_destroy (loop);
}

static void
test_pipe_long_line (void **state)
{
  struct ev_loop *loop = ev_loop_new (EVFLAG_AUTO);
  logpipe_t lp = { 0 };
  struct got g = { 0 };
  char *line = xmalloc (40000);
  int p[2];
  (void)state;

  assert_int_equal (pipe (p), 0);
  logpipe_start (loop, &lp, p[0], "stdout", collect, &g);
  memset (line, 'x', 39999);
  line[39999] = '\n';
  assert_int_equal (write (p[1], line, 40000), 40000);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 3);
  assert_int_equal (g.len[0], 16384);
  assert_int_equal (g.len[1], 16384);
  assert_int_equal (g.len[2], 7232);
  assert_int_not_equal (g.text[0][16383], '\n');
  assert_int_not_equal (g.text[1][16383], '\n');
  assert_int_equal (g.text[2][7231], '\n');
  assert_int_equal (lp.len, 0);
  got_free (&g);

  /* a line of exactly LOG_LINE_MAX bytes with its "\n" is one record */
  line[16383] = '\n';
  assert_int_equal (write (p[1], line, 16384), 16384);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 1);
  assert_int_equal (g.len[0], 16384);
  got_free (&g);

  /* without a "\n": held up to LOG_LINE_MAX, never more */
  assert_int_equal (write (p[1], line, 16000), 16000);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 0);
  assert_int_equal (lp.len, 16000);
  assert_int_equal (write (p[1], line, 1000), 1000);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 1);
  assert_int_equal (g.len[0], 16384);
  assert_int_equal (lp.len, 616);

  /* the writer closes: the watcher ends by itself with the last piece */
  close (p[1]);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.n, 2);
  assert_int_equal (g.len[1], 616);
  assert_null (lp.buf);
  assert_false (ev_is_active (&lp.io));
  logpipe_stop (loop, &lp);
  assert_int_equal (g.n, 2);
  got_free (&g);
  free (line);
  ev_loop_destroy (loop);
}

/* One read of at most 64 KiB a wake-up: a flood waits its turn. */
static void
test_pipe_one_read (void **state)
{
  struct ev_loop *loop = ev_loop_new (EVFLAG_AUTO);
  logpipe_t lp = { 0 };
  struct got g = { 0 };
  char *lines = xmalloc (100000);
  int p[2], i;
  (void)state;

  assert_int_equal (pipe (p), 0);
  assert_true (fcntl (p[1], F_SETPIPE_SZ, 262144) >= 100000);
  for (i = 0; i < 100000; i++)
    lines[i] = i % 2000 == 1999 ? '\n' : 'y';
  assert_int_equal (write (p[1], lines, 100000), 100000);
  logpipe_start (loop, &lp, p[0], "stdout", collect, &g);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.bytes + lp.len, 65536);
  ev_run (loop, EVRUN_ONCE);
  assert_int_equal (g.bytes, 100000);
  assert_int_equal (g.n, 50);
  got_free (&g);
  close (p[1]);
  logpipe_stop (loop, &lp);
  free (lines);
  ev_loop_destroy (loop);
}

static void
test_pipe_never_started (void **state)
{
  struct ev_loop *loop = ev_loop_new (EVFLAG_AUTO);
  logpipe_t lp = { 0 };
  bool open0 = fcntl (0, F_GETFD) != -1;
  (void)state;

  /* a zeroed logpipe_t is one never started: stop leaves fd 0 alone */
  logpipe_stop (loop, &lp);
  logpipe_stop (loop, &lp);
  assert_int_equal (fcntl (0, F_GETFD) != -1, open0);
  assert_null (lp.buf);
  ev_loop_destroy (loop);
}

/* ---- the prefix ---- */

static char *
printed (const char *name, size_t width, const char *color, int64_t t, const char *text, size_t len)
{
  char *buf = NULL;
  size_t size = 0;
  FILE *f = open_memstream (&buf, &size);
  log_print (f, name, width, color, t, text, len);
  fclose (f);
  return buf;
}

#define assert_printed(expected, ...)                                                              \
  do                                                                                               \
    {                                                                                              \
      char *got_ = printed (__VA_ARGS__);                                                          \
      assert_string_equal (got_, (expected));                                                      \
      free (got_);                                                                                 \
    }                                                                                              \
  while (0)

static void
test_print (void **state)
{
  (void)state;
  assert_printed ("web-1  | hello\n", "web-1", 6, NULL, -1, "hello\n", 6);
  assert_printed ("web-1  | hello\n", "web-1", 6, NULL, -1, "hello", 5);
  assert_printed ("db-1 | \n", "db-1", 4, NULL, -1, "", 0);
  assert_printed ("longer-name | x\n", "longer-name", 4, NULL, -1, "x", 1);
  assert_printed ("web-1  | 2026-11-22T10:00:00.123456789Z hello\n", "web-1", 6, NULL, T0,
                  "hello\n", 6);
  assert_printed ("\033[36mweb-1  | \033[0mhello\n", "web-1", 6, log_color (0), -1, "hello\n", 6);
  assert_printed ("\033[33;1mweb-1  | \033[0m2026-11-22T10:00:00.123456789Z hi\n", "web-1", 6,
                  log_color (6), T0, "hi", 2);
  /* no name: no prefix (logs --no-prefix) */
  assert_printed ("hello\n", NULL, 6, NULL, -1, "hello", 5);
  assert_printed ("2026-11-22T10:00:00.123456789Z hello\n", NULL, 0, NULL, T0, "hello\n", 6);
  /* an embedded NUL goes through */
  {
    char *got = printed ("a", 1, NULL, -1, "x\0y", 3);
    assert_memory_equal (got, "a | x\0y\n", 8);
    free (got);
  }

  assert_string_equal (log_color (0), "\033[36m");
  assert_string_equal (log_color (1), "\033[33m");
  assert_string_equal (log_color (2), "\033[32m");
  assert_string_equal (log_color (3), "\033[35m");
  assert_string_equal (log_color (4), "\033[34m");
  assert_string_equal (log_color (5), "\033[36;1m");
  assert_string_equal (log_color (9), "\033[34;1m");
  assert_string_equal (log_color (10), "\033[36m");
}

/* ---- reading back ---- */

static void
test_time_parse (void **state)
{
  int64_t ns;
  (void)state;

  assert_int_equal (log_time_parse ("2026-11-22T10:00:00.123456789Z", &ns), 0);
  assert_int_equal (ns, T0);
  assert_int_equal (log_time_parse ("2026-11-22T10:00:00Z", &ns), 0);
  assert_int_equal (ns, 1795341600LL * 1000000000LL);
  /* Go's RFC3339Nano drops trailing zeros; offsets */
  assert_int_equal (log_time_parse ("2026-11-22T10:00:00.5Z", &ns), 0);
  assert_int_equal (ns, 1795341600LL * 1000000000LL + 500000000LL);
  assert_int_equal (log_time_parse ("2026-11-22T11:30:00.123456789+01:30", &ns), 0);
  assert_int_equal (ns, T0);
  assert_int_equal (log_time_parse ("2026-11-22T08:00:00-02:00", &ns), 0);
  assert_int_equal (ns, 1795341600LL * 1000000000LL);
  assert_int_equal (log_time_parse ("2026-11-22T10:00:00", &ns), -1);
  assert_int_equal (log_time_parse ("2026-11-22T10:00Z", &ns), -1);
  assert_int_equal (log_time_parse ("2026-11-22T10:00:00.Z", &ns), -1);
  assert_int_equal (log_time_parse ("2026-11-22T10:00:00.1234567890Z", &ns), -1);
  assert_int_equal (log_time_parse ("2026-02-30T10:00:00Z", &ns), -1);
  assert_int_equal (log_time_parse ("2026-13-01T10:00:00Z", &ns), -1);
  assert_int_equal (log_time_parse ("2026-11-22T10:00:00Zx", &ns), -1);
  assert_int_equal (log_time_parse ("", &ns), -1);
}

static void
test_since_parse (void **state)
{
  const int64_t now = T0, s = 1000000000LL;
  int64_t ns;
  (void)state;

  setenv ("TZ", "UTC", 1);
  tzset ();
  assert_int_equal (log_since_parse ("10m", now, &ns), 0);
  assert_int_equal (ns, now - 600 * s);
  assert_int_equal (log_since_parse ("1h30m", now, &ns), 0);
  assert_int_equal (ns, now - 5400 * s);
  assert_int_equal (log_since_parse ("42s", now, &ns), 0);
  assert_int_equal (ns, now - 42 * s);
  assert_int_equal (log_since_parse ("1.5h", now, &ns), 0);
  assert_int_equal (ns, now - 5400 * s);
  assert_int_equal (log_since_parse ("2026-11-22T10:00:00.123456789Z", now, &ns), 0);
  assert_int_equal (ns, T0);
  assert_int_equal (log_since_parse ("2026-11-22T12:00:00+02:00", now, &ns), 0);
  assert_int_equal (ns, 1795341600LL * s);
  /* without a zone: local time (TZ=UTC here); cut short */
  assert_int_equal (log_since_parse ("2026-11-22T10:00:00", now, &ns), 0);
  assert_int_equal (ns, 1795341600LL * s);
  assert_int_equal (log_since_parse ("2026-11-22T10:00", now, &ns), 0);
  assert_int_equal (ns, 1795341600LL * s);
  assert_int_equal (log_since_parse ("2026-11-22T10", now, &ns), 0);
  assert_int_equal (ns, 1795341600LL * s);
  assert_int_equal (log_since_parse ("2026-11-22", now, &ns), 0);
  assert_int_equal (ns, (1795341600LL - 36000) * s);
  /* unix seconds; "0" is the epoch, not a duration */
  assert_int_equal (log_since_parse ("1795341600", now, &ns), 0);
  assert_int_equal (ns, 1795341600LL * s);
  assert_int_equal (log_since_parse ("1795341600.123456789", now, &ns), 0);
  assert_int_equal (ns, T0);
  assert_int_equal (log_since_parse ("0", now, &ns), 0);
  assert_int_equal (ns, 0);

  assert_int_equal (log_since_parse ("yesterday", now, &ns), -1);
  assert_int_equal (log_since_parse ("10x", now, &ns), -1);
  assert_int_equal (log_since_parse ("10", now + 1, &ns), 0); /* seconds since the epoch */
  assert_int_equal (ns, 10 * s);
  assert_int_equal (log_since_parse ("1795341600.", now, &ns), -1);
  assert_int_equal (log_since_parse ("2026-13-01", now, &ns), -1);
  assert_int_equal (log_since_parse ("2026-11-22T25:00", now, &ns), -1);
  assert_int_equal (log_since_parse ("", now, &ns), -1);
  unsetenv ("TZ");
  tzset ();
}

static int
parse (const char *line, log_record_t *r)
{
  return log_record_parse (line, strlen (line), r);
}

static void
test_record_parse (void **state)
{
  static const char good[] = "{\"log\":\"a\\u0000b\\n\",\"stream\":\"stderr\",\"time\":\"2026-11-"
                             "22T10:00:00.123456789Z\"}";
  log_record_t r;
  (void)state;

  assert_int_equal (log_record_parse (good, sizeof good - 1, &r), 0);
  assert_int_equal (r.len, 4);
  assert_memory_equal (r.text, "a\0b\n", 4);
  assert_string_equal (r.stream, "stderr");
  assert_int_equal (r.time_ns, T0);
  log_record_clear (&r);
  assert_null (r.j);

  /* damaged: cut short, no time, a bad time, log not a string, not JSON */
  assert_int_equal (log_record_parse (good, sizeof good - 5, &r), -1);
  assert_int_equal (parse ("{\"log\":\"a\"}", &r), -1);
  assert_int_equal (parse ("{\"log\":\"a\",\"time\":\"soon\"}", &r), -1);
  assert_int_equal (parse ("{\"log\":1,\"time\":\"2026-11-22T10:00:00Z\"}", &r), -1);
  assert_int_equal (parse ("[\"log\"]", &r), -1);
  assert_int_equal (parse ("garbage", &r), -1);
  /* no stream: stdout */
  assert_int_equal (parse ("{\"log\":\"a\",\"time\":\"2026-11-22T10:00:00Z\"}", &r), 0);
  assert_string_equal (r.stream, "stdout");
  log_record_clear (&r);
  assert_null (r.j);
}

/* ---- `stack logs` itself, on a project made up in a scratch dir ---- */

static const char *logs_dir;

/* state.json of project "lt" with containers lt-web-1 and lt-db-1. */
static void
make_project (th_t *t)
{
  cleanup_free char *state = NULL;
  static const char *const names[][2] = { { "web", "lt-web-1" }, { "db", "lt-db-1" } };
  strbuf_t b = { 0 };
  size_t i;

  sb_puts (&b, "{\"version\":1,\"project\":\"lt\",\"containers\":[");
  for (i = 0; i < 2; i++)
    sb_printf (&b,
               "%s{\"service\":\"%s\",\"name\":\"%s\",\"dir\":\"%s/root/containers/%s\","
               "\"cgroup\":\"stack/lt/%s\",\"state\":\"running\"}",
               i ? "," : "", names[i][0], names[i][1], t->dir, names[i][1], names[i][1]);
  sb_puts (&b, "],\"volumes\":[],\"networks\":[]}\n");
  th_write (t, "run/lt/state.json", b.s);
  sb_free (&b);
  state = xasprintf ("%s/run", t->dir);
  setenv ("STACK_RUN", state, 1);
  free (state);
  state = xasprintf ("%s/root", t->dir);
  setenv ("STACK_ROOT", state, 1);
  logs_dir = t->dir;
}

static void
write_log (const char *name, uint64_t max_size, unsigned max_files, int64_t sec, const char *text)
{
  cleanup_free char *dir = xasprintf ("%s/root/containers/%s", logs_dir, name);
  stack_error_t *err = NULL;
  logfile_t *lf = logfile_open (dir, max_size, max_files, &err);

  assert_non_null (lf);
  logfile_write (lf, 1795341600LL * 1000000000LL + sec * 1000000000LL, "stdout", text,
                 strlen (text));
  logfile_close (lf);
}

/* cmd_logs' exit code; *out and *err what it printed on stdout and
   stderr. */
static int
run_logs (char **out, char **err, ...)
{
  struct globals g = { .project_name = "lt" };
  cleanup_free char *path = xasprintf ("%s/out", logs_dir);
  cleanup_free char *epath = xasprintf ("%s/err", logs_dir);
  char *argv[16] = { "logs" };
  int argc = 1, saved, esaved, fd, ret;
  va_list ap;

  va_start (ap, err);
  while ((argv[argc] = va_arg (ap, char *)) != NULL)
    argc++;
  va_end (ap);
  fflush (stdout);
  saved = dup (1);
  fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2 (fd, 1);
  close (fd);
  esaved = dup (2);
  fd = open (epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2 (fd, 2);
  close (fd);
  ret = cmd_logs (&g, argc, argv);
  fflush (stdout);
  fflush (stderr);
  dup2 (saved, 1);
  close (saved);
  dup2 (esaved, 2);
  close (esaved);
  *out = slurp (logs_dir, "out");
  *err = slurp (logs_dir, "err");
  return ret;
}

#define assert_logs(expected, ...)                                                                 \
  do                                                                                               \
    {                                                                                              \
      char *out_ = NULL, *err_ = NULL;                                                             \
      assert_int_equal (run_logs (&out_, &err_, __VA_ARGS__, NULL), 0);                            \
      assert_string_equal (out_, (expected));                                                      \
      assert_string_equal (err_, "");                                                              \
      free (out_);                                                                                 \
      free (err_);                                                                                 \
    }                                                                                              \
  while (0)

static void
test_logs_command (void **state)
{
  /* web's records span json.log.1 and json.log; db's has damage */
  const uint64_t two = 2
                       * strlen ("{\"log\":\"w1\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-22T1"
                                 "0:00:01.000000000Z\"}\n");
  cleanup_free char *db_log = NULL;
  char *out = NULL, *err = NULL;
  th_t t = *(th_t *)*state; /* scratch_up's */
  FILE *f;

  make_project (&t);
  write_log ("lt-web-1", two, 3, 1, "w1\n");
  write_log ("lt-web-1", two, 3, 3, "w3\n");
  write_log ("lt-web-1", two, 3, 5, "w5\n");
  write_log ("lt-web-1", two, 3, 7, "w7"); /* a piece of a long line: no "\n" */
  assert_true (exists (t.dir, "root/containers/lt-web-1/json.log.1"));
  write_log ("lt-db-1", 0, 1, 2, "d2\n");
  write_log ("lt-db-1", 0, 1, 6, "d6\n");
  db_log = xasprintf ("%s/root/containers/lt-db-1/json.log", t.dir);
  f = fopen (db_log, "a");
  fputs ("{\"log\":\"cut short\n[]\n", f);
  fclose (f);
  write_log ("lt-db-1", 0, 1, 4, "d4\n"); /* a clock that went back: kept in file order */

  assert_logs ("web-1  | w1\ndb-1   | d2\nweb-1  | w3\nweb-1  | w5\ndb-1   | d6\ndb-1   | d4\n"
               "web-1  | w7\n",
               "--no-color");
  assert_logs ("web-1  | w5\ndb-1   | d6\ndb-1   | d4\nweb-1  | w7\n", "--tail", "2");
  assert_logs ("web-1  | w7\n", "--tail=1", "web");
  assert_logs ("2026-11-22T10:00:03.000000000Z w3\n2026-11-22T10:00:04.000000000Z d4\n"
               "2026-11-22T10:00:05.000000000Z w5\n",
               "--no-prefix", "-t", "--since", "2026-11-22T10:00:03Z", "--until", "1795341605");
  assert_logs ("", "-n", "0");

  assert_int_equal (run_logs (&out, &err, "nosuch", NULL), 1);
  assert_string_equal (out, "");
  assert_string_equal (err, "stack: no such service: `nosuch`\n");
  free (out);
  free (err);
  assert_int_equal (run_logs (&out, &err, "--tail", "-3", NULL), 2);
  assert_string_equal (err, "stack: logs: --tail `-3`: a number of lines or `all`\n"
                            "see `stack help logs`\n");
  free (out);
  free (err);
  unlink (db_log);
  assert_logs ("web-1  | w1\nweb-1  | w3\nweb-1  | w5\nweb-1  | w7\n", "web", "db");
  /* no run dir: not running */
  {
    cleanup_free char *st = xasprintf ("%s/run/lt/state.json", t.dir);
    cleanup_free char *rd = xasprintf ("%s/run/lt", t.dir);
    assert_int_equal (unlink (st), 0);
    assert_int_equal (rmdir (rd), 0);
  }
  assert_int_equal (run_logs (&out, &err, NULL), 1);
  assert_string_equal (out, "");
  assert_string_equal (err, "stack: project `lt` is not running\n");
  free (out);
  free (err);
  unsetenv ("STACK_RUN");
  unsetenv ("STACK_ROOT");
}

/* A scratch dir for each test, removed whether it passes or fails. */
static int
scratch_up (void **state)
{
  th_t *t = xzalloc (sizeof *t);
  th_init (t);
  *state = t;
  return 0;
}

static int
scratch_down (void **state)
{
  th_free (*state);
  free (*state);
  return 0;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_json_text, scratch_up, scratch_down),
    cmocka_unit_test_setup_teardown (test_round_trip, scratch_up, scratch_down),
    cmocka_unit_test_setup_teardown (test_gathered_until_flush, scratch_up, scratch_down),
    cmocka_unit_test_setup_teardown (test_rotation, scratch_up, scratch_down),
    cmocka_unit_test_setup_teardown (test_rotation_one_file, scratch_up, scratch_down),
    cmocka_unit_test_setup_teardown (test_open_error, scratch_up, scratch_down),
    cmocka_unit_test (test_pipe_lines),
    cmocka_unit_test (test_pipe_long_line),
    cmocka_unit_test (test_pipe_one_read),
    cmocka_unit_test (test_pipe_never_started),
    cmocka_unit_test (test_print),
    cmocka_unit_test (test_time_parse),
    cmocka_unit_test (test_since_parse),
    cmocka_unit_test (test_record_parse),
    cmocka_unit_test_setup_teardown (test_logs_command, scratch_up, scratch_down),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
