/* time.c — the clocks and the one timestamp format the project prints. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

static int64_t
clock_ns (clockid_t id)
{
  struct timespec ts;

  clock_gettime (id, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
now_ns (void)
{
  return clock_ns (CLOCK_REALTIME);
}

int64_t
mono_ns (void)
{
  return clock_ns (CLOCK_MONOTONIC);
}

size_t
time_rfc3339_ns (int64_t ns, char out[RFC3339_NS_LEN])
{
  int64_t sec = ns / 1000000000, frac = ns % 1000000000;
  time_t t;
  struct tm tm;
  size_t n;

  if (frac < 0)
    {
      frac += 1000000000;
      sec--;
    }
  t = (time_t)sec;
  if (gmtime_r (&t, &tm) == NULL)
    memset (&tm, 0, sizeof tm);
  n = strftime (out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  n += (size_t)snprintf (out + n, RFC3339_NS_LEN - n, ".%09dZ", (int)frac);
  return n;
}
