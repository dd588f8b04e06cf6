/* logs-read.c — the pure pieces of reading logs back (see
   logs-read-internal.h): record times, `--since`/`--until`, one record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compose-internal.h"
#include "logs-read-internal.h"

#define NS 1000000000LL
/* ---- times ---- */

static const char *
digits (const char *p, int n, int *out)
{
  int v = 0;
  for (; n > 0; n--, p++)
    {
      if (*p < '0' || *p > '9')
        return NULL;
      v = v * 10 + (*p - '0');
    }
  *out = v;
  return p;
}

struct tparts
{
  struct tm tm;
  int64_t nsec;
  int fields;  /* 3: date, 4: hour, 5: minutes, 6: seconds */
  bool zone;   /* "Z" or an offset was given */
  int64_t off; /* seconds east of UTC */
};

/* "YYYY-MM-DD[THH[:MM[:SS[.F]]]][Z|±HH:MM]", all of s. */
static bool
time_parts (const char *s, struct tparts *t)
{
  int v[6] = { 0 }, h, m;
  const char *p = s;

  memset (t, 0, sizeof *t);
  if (!(p = digits (p, 4, &v[0])) || *p++ != '-' || !(p = digits (p, 2, &v[1])) || *p++ != '-'
      || !(p = digits (p, 2, &v[2])))
    return false;
  t->fields = 3;
  if (*p == 'T')
    {
      if (!(p = digits (p + 1, 2, &v[3])))
        return false;
      for (t->fields = 4; t->fields < 6 && *p == ':'; t->fields++)
        if (!(p = digits (p + 1, 2, &v[t->fields])))
          return false;
      if (t->fields == 6 && *p == '.')
        {
          int n;
          for (n = 0, p++; *p >= '0' && *p <= '9'; p++, n++)
            if (n < 9)
              t->nsec = t->nsec * 10 + (*p - '0');
          if (n == 0 || n > 9)
            return false;
          for (; n < 9; n++)
            t->nsec *= 10;
        }
    }
  if (*p == 'Z')
    {
      t->zone = true;
      p++;
    }
  else if (*p == '+' || *p == '-')
    {
      int sign = *p == '-' ? -1 : 1;
      if (!(p = digits (p + 1, 2, &h)) || *p++ != ':' || !(p = digits (p, 2, &m)) || h > 23
          || m > 59)
        return false;
      t->zone = true;
      t->off = sign * (h * 3600 + m * 60);
    }
  if (*p || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
    return false;
  t->tm.tm_year = v[0] - 1900;
  t->tm.tm_mon = v[1] - 1;
  t->tm.tm_mday = v[2];
  t->tm.tm_hour = v[3];
  t->tm.tm_min = v[4];
  t->tm.tm_sec = v[5];
  return true;
}

/* t in ns since the epoch; its zone, else local time. */
static int
time_of_parts (struct tparts *t, int64_t *ns)
{
  struct tm check = t->tm;
  time_t sec;

  if (t->zone)
    sec = timegm (&check) - (time_t)t->off;
  else
    {
      check.tm_isdst = -1;
      sec = mktime (&check);
    }
  /* 2026-02-30 is not a day: the normalised date differs */
  if (check.tm_mday != t->tm.tm_mday || check.tm_mon != t->tm.tm_mon)
    return -1;
  *ns = (int64_t)sec * NS + t->nsec;
  return 0;
}

int
log_time_parse (const char *s, int64_t *ns)
{
  struct tparts t;

  if (!time_parts (s, &t) || t.fields != 6 || !t.zone)
    return -1;
  return time_of_parts (&t, ns);
}

int
log_since_parse (const char *s, int64_t now, int64_t *ns)
{
  struct tparts t;
  int64_t d;
  const char *p;

  if (strcmp (s, "0") != 0 && duration_parse (s, &d))
    {
      *ns = now - d;
      return 0;
    }
  if (time_parts (s, &t))
    return time_of_parts (&t, ns);
  /* unix seconds, with a fraction: "1700000000.5" */
  for (p = s; *p >= '0' && *p <= '9'; p++)
    ;
  if (p == s || p - s > 12 || (*p && *p != '.'))
    return -1;
  d = strtoll (s, NULL, 10) * NS;
  if (*p == '.')
    {
      int64_t frac = 0, n = 0;
      for (p++; *p >= '0' && *p <= '9'; p++, n++)
        if (n < 9)
          frac = frac * 10 + (*p - '0');
      if (*p || n == 0)
        return -1;
      for (; n < 9; n++)
        frac *= 10;
      d += frac;
    }
  *ns = d;
  return 0;
}

int
log_record_parse (const char *line, size_t len, log_record_t *r)
{
  json_t *j = json_loadb (line, len, JSON_ALLOW_NUL, NULL);
  json_t *log = json_object_get (j, "log"), *stream = json_object_get (j, "stream");

  memset (r, 0, sizeof *r);
  if (!json_is_string (log) || (stream && !json_is_string (stream))
      || log_time_parse (json_string_value (json_object_get (j, "time")) ?: "", &r->time_ns) < 0)
    {
      json_decref (j);
      return -1;
    }
  r->j = j;
  r->text = json_string_value (log);
  r->len = json_string_length (log);
  r->stream = stream ? json_string_value (stream) : "stdout";
  return 0;
}

void
log_record_clear (log_record_t *r)
{
  json_decref (r->j);
  memset (r, 0, sizeof *r);
}
