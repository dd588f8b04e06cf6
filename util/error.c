/* error.c — the one error type, filled by callees and wrapped on the way up. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static int error_set (stack_error_t **err, int status, bool with_strerror, const char *fmt,
                      va_list ap) PRINTF_LIKE (4, 0);

static int
error_set (stack_error_t **err, int status, bool with_strerror, const char *fmt, va_list ap)
{
  cleanup_free char *msg = xvasprintf (fmt, ap);

  stack_error_free (err);
  *err = xzalloc (sizeof **err);
  (*err)->status = status;
  if (status != 0 && with_strerror)
    (*err)->msg = xasprintf ("%s: %s", msg, strerror (status));
  else
    (*err)->msg = steal_pointer (&msg);
  return -1;
}

int
stack_error_make (stack_error_t **err, int status, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  error_set (err, status, true, fmt, ap);
  va_end (ap);
  return -1;
}

int
stack_error_set (stack_error_t **err, int status, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  error_set (err, status, false, fmt, ap);
  va_end (ap);
  return -1;
}

int
stack_error_wrap (stack_error_t **err, const char *fmt, ...)
{
  cleanup_free char *ctx = NULL;
  char *joined;
  va_list ap;

  va_start (ap, fmt);
  ctx = xvasprintf (fmt, ap);
  va_end (ap);

  if (*err == NULL)
    {
      *err = xzalloc (sizeof **err);
      (*err)->msg = steal_pointer (&ctx);
      return -1;
    }
  joined = xasprintf ("%s: %s", ctx, (*err)->msg);
  free ((*err)->msg);
  (*err)->msg = joined;
  return -1;
}

void
stack_error_free (stack_error_t **err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}
