/* stats.c — `stack top [SERVICE...]` and `stack stats [--no-stream]
   [--format table|json] [SERVICE...]`: what the running containers do, read
   straight from the kernel — their cgroups (through the runtime's rt_cgroup_*
   calls, so v1 and v2 alike) and /proc — with the project's state file
   naming the containers. No supervisor is asked: these work even when it is
   busy or gone, as long as the containers run.

   The figures are shown the way users know them: `top` as `ps -ef` (which
   is what `docker compose top` prints), `stats` as `docker stats`. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cli-internal.h"
#include "state-internal.h"
#include "stats-internal.h"

/* ------------------------------------------------------------------ */
/* Pure helpers (stats-internal.h)                                      */
/* ------------------------------------------------------------------ */

const char *
stats_format_size (uint64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
  double v = (double)bytes;
  size_t i = 0;

  while (v >= 1024 && i < ARRAY_SIZE (units) - 1)
    {
      v /= 1024;
      i++;
    }
  snprintf (buf, len, "%.4g%s", v, units[i]);
  return buf;
}

double
stats_cpu_percent (uint64_t cpu0_ns, uint64_t cpu1_ns, uint64_t wall0_ns, uint64_t wall1_ns)
{
  if (wall1_ns <= wall0_ns || cpu1_ns < cpu0_ns)
    return 0;
  return (double)(cpu1_ns - cpu0_ns) / (double)(wall1_ns - wall0_ns) * 100.0;
}

double
stats_mem_percent (uint64_t usage, uint64_t limit)
{
  return limit ? (double)usage / (double)limit * 100.0 : 0;
}

int
stats_parse_proc_stat (const char *text, stats_proc_t *out)
{
  const char *open = strchr (text, '('), *close = strrchr (text, ')');
  size_t n;
  char *end;
  long pid;
  int ppid;

  memset (out, 0, sizeof *out);
  if (open == NULL || close == NULL || close < open)
    return -1;
  pid = strtol (text, &end, 10);
  if (end == text || pid <= 0 || *end != ' ' || end + 1 != open)
    return -1;
  n = (size_t)(close - open - 1);
  if (n >= sizeof out->comm)
    n = sizeof out->comm - 1;
  memcpy (out->comm, open + 1, n);
  /* fields 3-22 of proc(5): state ppid pgrp session tty_nr tpgid flags
     minflt cminflt majflt cmajflt utime stime cutime cstime priority nice
     num_threads itrealvalue starttime */
  if (sscanf (close + 1,
              " %c %d %*d %*d %lu %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu",
              &out->state, &ppid, &out->tty_nr, &out->utime, &out->stime, &out->starttime)
      != 6)
    return -1;
  out->pid = (pid_t)pid;
  out->ppid = (pid_t)ppid;
  return 0;
}

const char *
stats_format_cputime (unsigned long long s, char *buf, size_t len)
{
  if (s >= 86400)
    snprintf (buf, len, "%llu-%02llu:%02llu:%02llu", s / 86400, s % 86400 / 3600, s % 3600 / 60,
              s % 60);
  else
    snprintf (buf, len, "%02llu:%02llu:%02llu", s / 3600, s % 3600 / 60, s % 60);
  return buf;
}

const char *
stats_format_stime (const struct tm *start, const struct tm *now, char *buf, size_t len)
{
  size_t n;

  /* procps's rule: another day shows the date, another year the year */
  if (start->tm_year != now->tm_year)
    n = strftime (buf, len, "%Y", start);
  else if (start->tm_yday != now->tm_yday)
    n = strftime (buf, len, "%b%d", start);
  else
    n = strftime (buf, len, "%H:%M", start);
  if (n == 0 && len)
    buf[0] = '\0';
  return buf;
}

unsigned
stats_pcpu (unsigned long long ticks, unsigned long long elapsed_s, long hz)
{
  unsigned long long p;

  if (elapsed_s == 0 || hz <= 0)
    return 0;
  p = ticks * 100ULL / (unsigned long long)hz / elapsed_s;
  return p > 99 ? 99 : (unsigned)p;
}

const char *
stats_format_tty (unsigned long tty_nr, char *buf, size_t len)
{
  unsigned maj = major ((dev_t)tty_nr), min = minor ((dev_t)tty_nr);

  /* the Unix98 pty slaves take majors 136-143 (devices.txt) */
  if (tty_nr != 0 && maj >= 136 && maj <= 143)
    snprintf (buf, len, "pts/%u", (maj - 136) * 256 + min);
  else if (tty_nr != 0 && maj == 4)
    snprintf (buf, len, min < 64 ? "tty%u" : "ttyS%u", min < 64 ? min : min - 64);
  else
    snprintf (buf, len, "?");
  return buf;
}

/* ------------------------------------------------------------------ */
/* A table as Docker's tabwriter lays it out                            */
/* ------------------------------------------------------------------ */

typedef struct table
{
  size_t ncol, nrow;
  char **cells; /* nrow × ncol, malloc'ed */
} table_t;

static void
table_add (table_t *t, const char *const *row)
{
  size_t j;

  t->cells = xrealloc (t->cells, (t->nrow + 1) * t->ncol * sizeof *t->cells);
  for (j = 0; j < t->ncol; j++)
    t->cells[t->nrow * t->ncol + j] = xstrdup (row[j]);
  t->nrow++;
}

/* Every column but the last padded to its widest cell plus `pad`, and to at
   least `min` (tabwriter's minwidth and padding). */
static void
table_print (table_t *t, size_t min, size_t pad)
{
  cleanup_free size_t *w = xzalloc (t->ncol * sizeof *w);
  size_t i, j;

  for (i = 0; i < t->nrow; i++)
    for (j = 0; j < t->ncol; j++)
      if (strlen (t->cells[i * t->ncol + j]) + pad > w[j])
        w[j] = strlen (t->cells[i * t->ncol + j]) + pad;
  for (i = 0; i < t->nrow; i++)
    for (j = 0; j < t->ncol; j++)
      if (j + 1 < t->ncol)
        printf ("%-*s", (int)(w[j] < min ? min : w[j]), t->cells[i * t->ncol + j]);
      else
        printf ("%s\n", t->cells[i * t->ncol + j]);
  for (i = 0; i < t->nrow * t->ncol; i++)
    free (t->cells[i]);
  free (t->cells);
  t->cells = NULL;
  t->nrow = 0;
}

/* ------------------------------------------------------------------ */
/* What both commands share                                             */
/* ------------------------------------------------------------------ */

static bool
wanted (const st_container_t *c, char **services, int n)
{
  int i;

  /* running as recorded, and still that process (not a reused pid) */
  if (c->state != ST_RUNNING || !st_container_alive (c))
    return false;
  for (i = 0; i < n; i++)
    if (strcmp (services[i], c->service) == 0)
      return true;
  return n == 0;
}

/* The project's state, which must exist; every name in services must be a
   service of the file (or, with -p alone, of the state). */
static int
open_project (struct globals *g, char **services, int n, char **run_dir, state_t **st,
              stack_error_t **err)
{
  compose_project_t *p = NULL;
  const char *name;
  size_t j;
  int i, ret;

  if ((ret = running_project_name (g, &p, &name)) != EXIT_OK)
    return ret;
  *run_dir = state_run_dir (name);
  if (state_load (*run_dir, st, err) < 0)
    goto fail;
  if (*st == NULL)
    {
      stack_error_make (err, 0, "project `%s` is not running", name);
      goto fail;
    }
  for (i = 0; i < n; i++)
    {
      bool known = p && compose_service_find (p, services[i]) != NULL;
      for (j = 0; !p && j < (*st)->n_containers; j++)
        known = known || strcmp ((*st)->containers[j].service, services[i]) == 0;
      if (!known)
        {
          stack_error_make (err, 0, "no such service: `%s`", services[i]);
          goto fail;
        }
    }
  compose_project_free (p);
  return EXIT_OK;
fail:
  state_free (*st);
  *st = NULL;
  compose_project_free (p);
  return report_failure (err);
}

/* ------------------------------------------------------------------ */
/* top                                                                 */
/* ------------------------------------------------------------------ */

typedef struct clock_info
{
  time_t now, boot;
  struct tm now_tm;
  long hz;
} clock_info_t;

/* One `ps -ef` row for pid; -1 when it is gone (or went while we read). */
static int
proc_row (pid_t pid, const clock_info_t *ck, table_t *t)
{
  cleanup_free char *path = NULL, *stat = NULL, *status = NULL, *cmdline = NULL;
  cleanup_free char *cmd = NULL, *user = NULL;
  char c_buf[16], pid_buf[16], ppid_buf[16], stime[32], tty[32], cpu[32];
  stack_error_t *err = NULL;
  const char *row[8], *uid_line;
  stats_proc_t pr;
  struct passwd *pw;
  struct tm start_tm;
  time_t start;
  unsigned long ruid, euid;
  size_t len, i;

  path = xasprintf ("/proc/%d/stat", (int)pid);
  if (read_file (path, &stat, NULL, &err) < 0 || stats_parse_proc_stat (stat, &pr) < 0)
    goto gone;
  free (path);
  path = xasprintf ("/proc/%d/status", (int)pid);
  if (read_file (path, &status, NULL, &err) < 0)
    goto gone;
  /* "Uid:	real	effective	saved	fs": ps -ef shows the effective one */
  uid_line = strstr (status, "\nUid:");
  if (uid_line == NULL || sscanf (uid_line + 5, "%lu %lu", &ruid, &euid) != 2)
    goto gone;
  free (path);
  path = xasprintf ("/proc/%d/cmdline", (int)pid);
  if (read_file (path, &cmdline, &len, &err) < 0)
    goto gone;

  /* arguments are NUL-separated; none for kernel threads and zombies,
     which ps shows by name in brackets */
  while (len > 0 && cmdline[len - 1] == '\0')
    len--;
  for (i = 0; i < len; i++)
    if (cmdline[i] == '\0')
      cmdline[i] = ' ';
  cmdline[len] = '\0';
  cmd = len ? xstrdup (cmdline)
            : xasprintf ("[%s]%s", pr.comm, pr.state == 'Z' ? " <defunct>" : "");

  pw = getpwuid ((uid_t)euid);
  user = pw ? xstrdup (pw->pw_name) : xasprintf ("%lu", euid);
  start = ck->boot + (time_t)(pr.starttime / (unsigned long long)ck->hz);
  localtime_r (&start, &start_tm);
  snprintf (pid_buf, sizeof pid_buf, "%d", (int)pr.pid);
  snprintf (ppid_buf, sizeof ppid_buf, "%d", (int)pr.ppid);
  snprintf (c_buf, sizeof c_buf, "%u",
            stats_pcpu (pr.utime + pr.stime,
                        ck->now > start ? (unsigned long long)(ck->now - start) : 0, ck->hz));
  row[0] = user;
  row[1] = pid_buf;
  row[2] = ppid_buf;
  row[3] = c_buf;
  row[4] = stats_format_stime (&start_tm, &ck->now_tm, stime, sizeof stime);
  row[5] = stats_format_tty (pr.tty_nr, tty, sizeof tty);
  row[6]
      = stats_format_cputime ((pr.utime + pr.stime) / (unsigned long long)ck->hz, cpu, sizeof cpu);
  row[7] = cmd;
  table_add (t, row);
  return 0;

gone:
  stack_error_free (&err);
  return -1;
}

static int
cmp_pid (const void *a, const void *b)
{
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

/* /proc/stat's btime: when the machine booted, in seconds since the epoch. */
static time_t
boot_time (void)
{
  cleanup_free char *text = NULL;
  stack_error_t *err = NULL;
  const char *line;
  long long btime = 0;

  if (read_file ("/proc/stat", &text, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return 0;
    }
  line = strstr (text, "\nbtime ");
  if (line)
    sscanf (line + 7, "%lld", &btime);
  return (time_t)btime;
}

int
cmd_top (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
  static const char *const head[] = { "UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD" };
  stack_error_t *err = NULL;
  cleanup_free char *run_dir = NULL;
  table_t t = { .ncol = 8 };
  clock_info_t ck;
  state_t *st = NULL;
  int opt, ret;
  size_t i, k;

  optind = 0;
  while ((opt = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (opt)
      {
      case 'h':
        return cli_help ("top");
      default:
        return usage_error ("top", "top: unknown option `%s`", argv[optind - 1]);
      }
  ret = open_project (g, argv + optind, argc - optind, &run_dir, &st, &err);
  if (ret != EXIT_OK)
    return ret;

  ck.now = time (NULL);
  localtime_r (&ck.now, &ck.now_tm);
  ck.boot = boot_time ();
  ck.hz = sysconf (_SC_CLK_TCK);
  if (ck.hz <= 0)
    ck.hz = 100;
  for (i = 0; i < st->n_containers; i++)
    {
      const st_container_t *c = &st->containers[i];
      cleanup_free pid_t *pids = NULL;
      size_t n;

      if (!wanted (c, argv + optind, argc - optind))
        continue;
      if (rt_cgroup_pids (c->cgroup, &pids, &n, &err) < 0)
        {
          /* it stopped since we read the state */
          if (err->status == ENOENT)
            {
              stack_error_free (&err);
              continue;
            }
          stack_error_wrap (&err, "container `%s`", c->name);
          ret = report_failure (&err);
          goto out;
        }
      qsort (pids, n, sizeof *pids, cmp_pid);
      table_add (&t, head);
      for (k = 0; k < n; k++)
        proc_row (pids[k], &ck, &t);
      /* as `docker compose top`: the name, the table, an empty line */
      printf ("%s\n", c->name);
      table_print (&t, 5, 3);
      printf ("\n");
    }
  ret = EXIT_OK;

out:
  state_free (st);
  return ret;
}

/* ------------------------------------------------------------------ */
/* stats                                                               */
/* ------------------------------------------------------------------ */

typedef struct sample
{
  char *name, *service;
  rt_cgroup_stats_t s;
  uint64_t when_ns; /* CLOCK_MONOTONIC when read */
} sample_t;

typedef struct samples
{
  sample_t *v;
  size_t n;
} samples_t;

static void
samples_free (samples_t *ss)
{
  size_t i;

  for (i = 0; i < ss->n; i++)
    {
      free (ss->v[i].name);
      free (ss->v[i].service);
    }
  free (ss->v);
  ss->v = NULL;
  ss->n = 0;
}

/* Each wanted container's cgroup figures, as the state names them now (so
   containers created since the last sample are picked up). *gone when the
   state file is gone: the project was taken down. */
static int
take_samples (const char *run_dir, char **services, int n, samples_t *out, bool *gone,
              stack_error_t **err)
{
  state_t *st = NULL;
  size_t i;
  int ret = 0;

  *gone = false;
  if (state_load (run_dir, &st, err) < 0)
    return -1;
  *gone = st == NULL;
  for (i = 0; st && i < st->n_containers; i++)
    {
      const st_container_t *c = &st->containers[i];
      rt_cgroup_stats_t s;

      if (!wanted (c, services, n))
        continue;
      if (rt_cgroup_stats (c->cgroup, &s, err) < 0)
        {
          if ((*err)->status == ENOENT)
            {
              stack_error_free (err);
              continue;
            }
          ret = stack_error_wrap (err, "container `%s`", c->name);
          break;
        }
      /* no pids controller (an empty v2 hierarchy): count the processes */
      if (s.pids == 0)
        {
          cleanup_free pid_t *pids = NULL;
          size_t n_pids = 0;
          if (rt_cgroup_pids (c->cgroup, &pids, &n_pids, err) < 0)
            stack_error_free (err);
          s.pids = n_pids;
        }
      out->v = xrealloc (out->v, (out->n + 1) * sizeof *out->v);
      out->v[out->n++] = (sample_t){ .name = xstrdup (c->name),
                                     .service = xstrdup (c->service),
                                     .s = s,
                                     .when_ns = (uint64_t)mono_ns () };
    }
  state_free (st);
  return ret;
}

static const sample_t *
find_sample (const samples_t *ss, const char *name)
{
  size_t i;

  for (i = 0; i < ss->n; i++)
    if (strcmp (ss->v[i].name, name) == 0)
      return &ss->v[i];
  return NULL;
}

static double
round2 (double x)
{
  return (double)(long long)(x * 100 + 0.5) / 100;
}

/* The figures of cur, CPU over the time since prev: objects of the JSON
   form. A container without an earlier sample shows 0% CPU. */
static json_t *
figures (const samples_t *prev, const samples_t *cur, uint64_t host_mem)
{
  json_t *arr = json_array ();
  size_t i;

  for (i = 0; i < cur->n; i++)
    {
      const sample_t *c = &cur->v[i], *p = find_sample (prev, c->name);
      /* unlimited: the machine's memory is the limit, as Docker shows it */
      uint64_t limit = c->s.memory_limit ? c->s.memory_limit : host_mem;
      double cpu
          = p ? stats_cpu_percent (p->s.cpu_usage_ns, c->s.cpu_usage_ns, p->when_ns, c->when_ns)
              : 0;

      json_array_append_new (arr, json_pack ("{ss ss sf sI sI sf sI}", "name", c->name, "service",
                                             c->service, "cpu_percent", round2 (cpu),
                                             "memory_bytes", (json_int_t)c->s.memory_bytes,
                                             "memory_limit", (json_int_t)limit, "memory_percent",
                                             round2 (stats_mem_percent (c->s.memory_bytes, limit)),
                                             "pids", (json_int_t)c->s.pids));
    }
  return arr;
}

static void
print_figures (json_t *arr, bool json, bool clear)
{
  static const char *const head[] = { "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS" };
  table_t t = { .ncol = 5 };
  json_t *e;
  size_t i;

  if (json)
    {
      char *text = json_dumps (arr, JSON_COMPACT | JSON_REAL_PRECISION (15));
      printf ("%s\n", text);
      free (text);
      return;
    }
  table_add (&t, head);
  json_array_foreach (arr, i, e)
  {
    char cpu[32], usage[32], limit[32], mem[80], pct[32], pids[32];
    const char *row[5];

    snprintf (cpu, sizeof cpu, "%.2f%%", json_real_value (json_object_get (e, "cpu_percent")));
    snprintf (mem, sizeof mem, "%s / %s",
              stats_format_size ((uint64_t)json_integer_value (json_object_get (e, "memory_bytes")),
                                 usage, sizeof usage),
              stats_format_size ((uint64_t)json_integer_value (json_object_get (e, "memory_limit")),
                                 limit, sizeof limit));
    snprintf (pct, sizeof pct, "%.2f%%", json_real_value (json_object_get (e, "memory_percent")));
    snprintf (pids, sizeof pids, "%lld",
              (long long)json_integer_value (json_object_get (e, "pids")));
    row[0] = json_string_value (json_object_get (e, "name"));
    row[1] = cpu;
    row[2] = mem;
    row[3] = pct;
    row[4] = pids;
    table_add (&t, row);
  }
  if (clear)
    printf ("\033[2J\033[H");
  table_print (&t, 10, 3);
}

/* Sleep ms, unless one of set (blocked) arrives first: true then. */
static bool
interrupted (const sigset_t *set, unsigned ms)
{
  uint64_t deadline = (uint64_t)mono_ns () + (uint64_t)ms * 1000000u, now;
  struct timespec left;

  while ((now = (uint64_t)mono_ns ()) < deadline)
    {
      left.tv_sec = (time_t)((deadline - now) / 1000000000u);
      left.tv_nsec = (long)((deadline - now) % 1000000000u);
      if (sigtimedwait (set, NULL, &left) > 0)
        return true;
      if (errno == EAGAIN)
        return false;
    }
  return false;
}

int
cmd_stats (struct globals *g, int argc, char **argv)
{
  static const struct option opts[] = {
    { "no-stream", no_argument, NULL, 'n' },
    { "format", required_argument, NULL, 'F' },
    { "help", no_argument, NULL, 'h' },
    { 0 },
  };
  stack_error_t *err = NULL;
  cleanup_free char *run_dir = NULL;
  samples_t prev = { 0 }, cur = { 0 };
  state_t *st = NULL;
  bool stream = true, json = false, gone, clear;
  sigset_t set, old;
  struct sysinfo si;
  struct timespec zero = { 0 };
  uint64_t host_mem = 0;
  unsigned wait_ms = 500;
  int opt, ret;

  optind = 0;
  while ((opt = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (opt)
      {
      case 'n':
        stream = false;
        break;
      case 'F':
        if (strcmp (optarg, "table") != 0 && strcmp (optarg, "json") != 0)
          return usage_error ("stats", "stats: --format `%s`: table or json", optarg);
        json = strcmp (optarg, "json") == 0;
        break;
      case 'h':
        return cli_help ("stats");
      default:
        return usage_error ("stats", "stats: unknown option `%s`", argv[optind - 1]);
      }
  ret = open_project (g, argv + optind, argc - optind, &run_dir, &st, &err);
  state_free (st);
  if (ret != EXIT_OK)
    return ret;
  if (sysinfo (&si) == 0)
    host_mem = (uint64_t)si.totalram * si.mem_unit;
  clear = stream && !json && isatty (1);

  /* Ctrl-C or a kill ends the loop quietly: taken synchronously
     (sigtimedwait) rather than by a handler. A closed pipe (`| head`)
     ends us as it ends `docker stats`: by SIGPIPE. */
  sigemptyset (&set);
  sigaddset (&set, SIGINT);
  sigaddset (&set, SIGTERM);
  sigprocmask (SIG_BLOCK, &set, &old);

  ret = EXIT_OK;
  if (take_samples (run_dir, argv + optind, argc - optind, &prev, &gone, &err) < 0)
    goto fail;
  /* the first figures after half a second (--no-stream's only ones), then
     every second */
  for (; !gone; wait_ms = 1000)
    {
      json_t *arr;

      if (interrupted (&set, wait_ms))
        break;
      if (take_samples (run_dir, argv + optind, argc - optind, &cur, &gone, &err) < 0)
        goto fail;
      if (gone)
        break;
      arr = figures (&prev, &cur, host_mem);
      print_figures (arr, json, clear);
      json_decref (arr);
      if (fflush (stdout) == EOF || !stream)
        break;
      samples_free (&prev);
      prev = cur;
      cur = (samples_t){ 0 };
    }
  goto out;

fail:
  ret = report_failure (&err);
out:
  samples_free (&prev);
  samples_free (&cur);
  /* a Ctrl-C that came after the last wait must not strike once
     unblocked: we are done anyway */
  while (sigtimedwait (&set, NULL, &zero) > 0)
    ;
  sigprocmask (SIG_SETMASK, &old, NULL);
  return ret;
}
