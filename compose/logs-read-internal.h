/* logs-read-internal.h — the pure pieces of `stack logs` (logs.c), kept
   apart so that the unit tests can reach them. */
#ifndef STACK_LOGS_READ_INTERNAL_H
#define STACK_LOGS_READ_INTERNAL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* One json-file record; stream and text point into j. */
typedef struct log_record
{
  int64_t time_ns;
  const char *stream;
  const char *text;
  size_t len;
  json_t *j;
} log_record_t;

/* An RFC 3339 time ("2026-11-22T10:00:00.123456789Z", 0 to 9 fraction
   digits, "Z" or "+01:00") in ns since the epoch; -1 when it is not one. */
int log_time_parse (const char *s, int64_t *ns);
/* `--since`/`--until` as Docker reads them: a Go duration meaning that
   long before now ("10m", "1h30m", "42s", "1.5h"), an RFC 3339 time,
   one without its zone (local time) or cut short ("2026-11-22",
   "2026-11-22T10", "2026-11-22T10:00"), or unix seconds ("1700000000",
   "1700000000.5"). -1 when it is none of these. */
int log_since_parse (const char *s, int64_t now, int64_t *ns);
/* One line of a json.log (without its "\n"); -1 when it is damaged. */
int log_record_parse (const char *line, size_t len, log_record_t *r);
void log_record_clear (log_record_t *r);

#endif
