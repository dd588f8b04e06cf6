/* image-config.c — what a container takes from an image's config blob
   (the OCI image config, Docker's fields inside `config`), and the
   platform this machine pulls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store-internal.h"

static char **
strv_from_json (json_t *a)
{
  char **v;
  json_t *x;
  size_t i, n = 0;

  if (!json_is_array (a) || json_array_size (a) == 0)
    return NULL;
  v = xzalloc ((json_array_size (a) + 1) * sizeof *v);
  json_array_foreach (a, i, x) if (json_is_string (x)) v[n++] = xstrdup (json_string_value (x));
  return v;
}

/* {"/data": {}, ...} → {"/data", ...} */
static char **
strv_from_keys (json_t *o)
{
  const char *k;
  char **v;
  json_t *x;
  size_t n = 0;

  if (!json_is_object (o) || json_object_size (o) == 0)
    return NULL;
  v = xzalloc ((json_object_size (o) + 1) * sizeof *v);
  json_object_foreach (o, k, x) v[n++] = xstrdup (k);
  return v;
}

static char *
str_or_null (json_t *o, const char *key)
{
  const char *v = json_string_value (json_object_get (o, key));
  return v && v[0] ? xstrdup (v) : NULL;
}

/* Docker stores durations as integer nanoseconds; a negative or absent one is unset. */
static int64_t
duration_ns (json_t *o, const char *key)
{
  json_int_t v = json_integer_value (json_object_get (o, key));
  return v > 0 ? (int64_t)v : 0;
}

/* HEALTHCHECK: {"Test": [...], "Interval": ns, "Timeout": ns, "StartPeriod": ns,
   "StartInterval": ns, "Retries": n}. An empty Test inherits, which for us
   (no parent image) means none. */
static rt_image_health_t *
health_from_json (json_t *h)
{
  rt_image_health_t *out;
  json_int_t retries;
  char **test;

  if (!json_is_object (h) || (test = strv_from_json (json_object_get (h, "Test"))) == NULL)
    return NULL;
  out = xzalloc (sizeof *out);
  out->test = test;
  out->interval_ns = duration_ns (h, "Interval");
  out->timeout_ns = duration_ns (h, "Timeout");
  out->start_period_ns = duration_ns (h, "StartPeriod");
  out->start_interval_ns = duration_ns (h, "StartInterval");
  retries = json_integer_value (json_object_get (h, "Retries"));
  out->retries = retries > 0 && retries < 1000000 ? (int)retries : 0;
  return out;
}

void
rt_image_config_from_json (json_t *blob, rt_image_config_t *out)
{
  json_t *c = json_object_get (blob, "config");

  memset (out, 0, sizeof *out);
  out->entrypoint = strv_from_json (json_object_get (c, "Entrypoint"));
  out->cmd = strv_from_json (json_object_get (c, "Cmd"));
  out->env = strv_from_json (json_object_get (c, "Env"));
  out->working_dir = str_or_null (c, "WorkingDir");
  out->user = str_or_null (c, "User");
  out->stop_signal = str_or_null (c, "StopSignal");
  out->volumes = strv_from_keys (json_object_get (c, "Volumes"));
  out->exposed_ports = strv_from_keys (json_object_get (c, "ExposedPorts"));
  out->healthcheck = health_from_json (json_object_get (c, "Healthcheck"));
}

void
rt_image_config_clear (rt_image_config_t *c)
{
  strv_free (c->entrypoint);
  strv_free (c->cmd);
  strv_free (c->env);
  free (c->working_dir);
  free (c->user);
  free (c->stop_signal);
  strv_free (c->volumes);
  strv_free (c->exposed_ports);
  if (c->healthcheck)
    strv_free (c->healthcheck->test);
  free (c->healthcheck);
  memset (c, 0, sizeof *c);
}

int64_t
rt_parse_created (const char *s)
{
  struct tm tm = { 0 };
  const char *rest;
  int64_t t;

  if (s == NULL || (rest = strptime (s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
    return 0;
  t = (int64_t)timegm (&tm);
  if (*rest == '.')
    while (*++rest >= '0' && *rest <= '9')
      ;
  /* "Z" or an offset: local time is UTC plus the offset */
  if ((*rest == '+' || *rest == '-') && strlen (rest) >= 6 && rest[3] == ':')
    {
      int64_t off = ((rest[1] - '0') * 10 + (rest[2] - '0')) * 3600
                    + ((rest[4] - '0') * 10 + (rest[5] - '0')) * 60;
      t += *rest == '+' ? -off : off;
    }
  return t < 0 ? 0 : t;
}

const char *
rt_go_arch (void)
{
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__i386__)
  return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}
