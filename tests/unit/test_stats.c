/* test_stats.c — the figures of `stack stats` and the columns of `stack
   top`, checked against what `docker stats` and `ps -ef` print. */
#include <stdlib.h>

#include "helpers.h"
#include "stats-internal.h"

static const char *
size (uint64_t b)
{
  static char buf[32];
  return stats_format_size (b, buf, sizeof buf);
}

static void
test_size (void **state)
{
  (void)state;
  /* go-units BytesSize: "%.4g" and binary units */
  assert_string_equal (size (0), "0B");
  assert_string_equal (size (1023), "1023B");
  assert_string_equal (size (1024), "1KiB");
  assert_string_equal (size (1536 * 1024), "1.5MiB");
  assert_string_equal (size (1572864 + 1), "1.5MiB");
  assert_string_equal (size (25157894144ULL), "23.43GiB");
  assert_string_equal (size (1073741824ULL - 1), "1024MiB");
  assert_string_equal (size (123456789), "117.7MiB");
  assert_string_equal (size (UINT64_MAX), "16EiB");
}

static void
test_cpu_percent (void **state)
{
  (void)state;
  /* 250 ms of CPU over 500 ms of wall time: half a CPU */
  assert_true (stats_cpu_percent (1000000000, 1250000000, 5000000000, 5500000000) == 50.0);
  /* two CPUs busy: 200%, as Docker shows */
  assert_true (stats_cpu_percent (0, 2000000000, 0, 1000000000) == 200.0);
  assert_true (stats_cpu_percent (7, 7, 0, 1000000000) == 0.0);
  /* no time passed, or the counter went back (cgroup recreated) */
  assert_true (stats_cpu_percent (0, 5, 10, 10) == 0.0);
  assert_true (stats_cpu_percent (0, 5, 10, 9) == 0.0);
  assert_true (stats_cpu_percent (900, 100, 0, 1000) == 0.0);
}

static void
test_mem_percent (void **state)
{
  (void)state;
  assert_true (stats_mem_percent (512, 1024) == 50.0);
  assert_true (stats_mem_percent (1024, 1024) == 100.0);
  assert_true (stats_mem_percent (3, 0) == 0.0);
}

static void
test_parse_proc_stat (void **state)
{
  stats_proc_t p;
  (void)state;

  /* a comm with spaces and a ')' inside: it ends at the last ')' */
  assert_int_equal (
      stats_parse_proc_stat ("4242 (my (odd) cmd) S 4200 4242 4242 34817 4242 4194304 100 0 0 0 "
                             "1234 567 0 0 20 0 1 0 987654 1000000 200 18446744073709551615\n",
                             &p),
      0);
  assert_int_equal (p.pid, 4242);
  assert_string_equal (p.comm, "my (odd) cmd");
  assert_int_equal (p.state, 'S');
  assert_int_equal (p.ppid, 4200);
  assert_int_equal (p.tty_nr, 34817);
  assert_int_equal (p.utime, 1234);
  assert_int_equal (p.stime, 567);
  assert_int_equal (p.starttime, 987654);

  assert_int_equal (stats_parse_proc_stat ("1 (init) Z 0 1 1 0 -1 0", &p), -1);
  assert_int_equal (stats_parse_proc_stat ("garbage", &p), -1);
  assert_int_equal (stats_parse_proc_stat ("12 comm) S 1 1 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1", &p),
                    -1);
}

static void
test_cputime (void **state)
{
  char buf[32];
  (void)state;

  assert_string_equal (stats_format_cputime (0, buf, sizeof buf), "00:00:00");
  assert_string_equal (stats_format_cputime (3725, buf, sizeof buf), "01:02:05");
  assert_string_equal (stats_format_cputime (86399, buf, sizeof buf), "23:59:59");
  assert_string_equal (stats_format_cputime (2 * 86400 + 3 * 3600 + 4 * 60 + 5, buf, sizeof buf),
                       "2-03:04:05");
}

static void
test_stime (void **state)
{
  struct tm now = { .tm_year = 124, .tm_mon = 5, .tm_mday = 6, .tm_yday = 157, .tm_hour = 15 };
  struct tm today = now, earlier = now, last_year = now;
  char buf[32];
  (void)state;

  today.tm_hour = 9;
  today.tm_min = 5;
  assert_string_equal (stats_format_stime (&today, &now, buf, sizeof buf), "09:05");
  earlier.tm_mon = 0;
  earlier.tm_mday = 2;
  earlier.tm_yday = 1;
  assert_string_equal (stats_format_stime (&earlier, &now, buf, sizeof buf), "Jan02");
  last_year.tm_year = 123;
  assert_string_equal (stats_format_stime (&last_year, &now, buf, sizeof buf), "2023");
}

static void
test_pcpu (void **state)
{
  (void)state;
  /* 50 ticks at 100 Hz over 10 s: 5% */
  assert_int_equal (stats_pcpu (50, 10, 100), 5);
  assert_int_equal (stats_pcpu (59, 10, 100), 5);
  /* capped at 99, as ps does */
  assert_int_equal (stats_pcpu (100000, 10, 100), 99);
  assert_int_equal (stats_pcpu (100, 0, 100), 0);
}

static void
test_tty (void **state)
{
  char buf[32];
  (void)state;

  assert_string_equal (stats_format_tty (0, buf, sizeof buf), "?");
  /* 136:1 is pts/1; 34817 is how /proc encodes it */
  assert_string_equal (stats_format_tty (34817, buf, sizeof buf), "pts/1");
  /* 137:2 is pts/258 */
  assert_string_equal (stats_format_tty ((137u << 8) | 2, buf, sizeof buf), "pts/258");
  assert_string_equal (stats_format_tty ((4u << 8) | 1, buf, sizeof buf), "tty1");
  assert_string_equal (stats_format_tty ((4u << 8) | 65, buf, sizeof buf), "ttyS1");
  assert_string_equal (stats_format_tty ((5u << 8) | 1, buf, sizeof buf), "?");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_size),        cmocka_unit_test (test_cpu_percent),
    cmocka_unit_test (test_mem_percent), cmocka_unit_test (test_parse_proc_stat),
    cmocka_unit_test (test_cputime),     cmocka_unit_test (test_stime),
    cmocka_unit_test (test_pcpu),        cmocka_unit_test (test_tty),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
