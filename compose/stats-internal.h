/* stats-internal.h — the pure arithmetic and formatting behind `stack top`
   and `stack stats` (stats.c), exposed for the unit tests. Everything here
   follows what users already read from `ps -ef` (procps) and `docker stats`
   (Docker's go-units), so that the figures look the same. */
#ifndef STACK_STATS_INTERNAL_H
#define STACK_STATS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

/* ---- stats ---- */

/* Docker's units.BytesSize: binary units, 4 significant digits
   ("0B", "1.5MiB", "23.43GiB"). Returns buf. */
const char *stats_format_size (uint64_t bytes, char *buf, size_t len);
/* CPU time used over wall time elapsed, in percent of one CPU (200.00 is
   two CPUs busy): 0 when no time passed or the counter went back (the
   cgroup was recreated). */
double stats_cpu_percent (uint64_t cpu0_ns, uint64_t cpu1_ns, uint64_t wall0_ns, uint64_t wall1_ns);
/* usage of limit in percent; 0 without a limit. */
double stats_mem_percent (uint64_t usage, uint64_t limit);

/* ---- top ---- */

/* The fields of /proc/PID/stat that `ps -ef` shows. */
typedef struct stats_proc
{
  pid_t pid, ppid;
  char comm[64];
  char state;
  unsigned long tty_nr;
  unsigned long long utime, stime; /* clock ticks */
  unsigned long long starttime;    /* clock ticks after boot */
} stats_proc_t;

/* Parse one /proc/PID/stat line (comm may hold spaces and parentheses:
   it ends at the last ')'). -1 when malformed. */
int stats_parse_proc_stat (const char *text, stats_proc_t *out);
/* ps's TIME: "HH:MM:SS", "D-HH:MM:SS" past a day. Returns buf. */
const char *stats_format_cputime (unsigned long long seconds, char *buf, size_t len);
/* ps's STIME: "HH:MM" when started today, "MonDD" this year, else "YYYY"
   (start and now in local time). Returns buf. */
const char *stats_format_stime (const struct tm *start, const struct tm *now, char *buf,
                                size_t len);
/* ps's C: CPU time over the process's life, whole percent, at most 99. */
unsigned stats_pcpu (unsigned long long ticks, unsigned long long elapsed_s, long hz);
/* ps's TTY from stat's tty_nr: "?", "pts/N", "ttyN", "ttySN". Returns buf. */
const char *stats_format_tty (unsigned long tty_nr, char *buf, size_t len);

#endif
