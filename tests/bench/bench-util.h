/* bench-util.h — what the benchmark programs share: a clock and a sort. */
#ifndef STACK_BENCH_UTIL_H
#define STACK_BENCH_UTIL_H

#include <time.h>

static inline double
now_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

/* qsort comparison of doubles, for medians and percentiles */
static inline int
dbl_cmp (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

#endif
