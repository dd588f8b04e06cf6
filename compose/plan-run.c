/* plan-run.c — what the supervisor needs to run a service beside its
   container_spec: when to restart it, how to check its health, what it
   waits for, how much of its output to keep, and a hash that tells `up`
   whether a running container still matches the file. */
#include <stdlib.h>
#include <string.h>

#include "plan-ctx-internal.h"

#define SECOND 1000000000LL

static int
plan_restart (plan_ctx_t *c)
{
  const node_t *r = plan_get (c, "restart");
  const node_t *deploy = plan_get (c, "deploy");
  const node_t *policy = node_map_get (deploy, "restart_policy");
  const char *s;

  c->out->restart = PLAN_RESTART_NO;
  if (r == NULL && policy)
    {
      /* Compose maps the swarm policy onto the container's */
      const node_t *cond = node_map_get (policy, "condition");
      const node_t *max = node_map_get (policy, "max_attempts");
      s = cond ? node_text (c->a, cond) : "any";
      if (strcmp (s, "any") == 0)
        c->out->restart = PLAN_RESTART_ALWAYS;
      else if (strcmp (s, "on-failure") == 0)
        {
          c->out->restart = PLAN_RESTART_ON_FAILURE;
          c->out->max_restarts = max ? (unsigned)plan_int64 (max) : 0;
        }
      return 0;
    }
  if (r == NULL)
    return 0;
  s = node_text (c->a, r);
  if (strcmp (s, "always") == 0)
    c->out->restart = PLAN_RESTART_ALWAYS;
  else if (strcmp (s, "unless-stopped") == 0)
    c->out->restart = PLAN_RESTART_UNLESS_STOPPED;
  else if (str_has_prefix (s, "on-failure"))
    {
      c->out->restart = PLAN_RESTART_ON_FAILURE;
      /* normalization checked the number */
      if (s[10] == ':')
        c->out->max_restarts = (unsigned)strtoul (s + 11, NULL, 10);
    }
  return 0;
}

/* The service's duration for key, else the image's (0: it has none), else
   Docker's default: a service's 0 means "not set", as Docker merges. */
static int
health_duration (plan_ctx_t *c, const node_t *hc, const char *key, int64_t image, int64_t dflt,
                 int64_t *out)
{
  const node_t *n = node_map_get (hc, key);

  *out = 0;
  if (n && !duration_parse (node_text (c->a, n), out))
    return plan_fail (c, n, arena_printf (c->a, "%s.healthcheck.%s", c->path, key),
                      "`%s` is not a duration", node_text (c->a, n));
  if (*out == 0)
    *out = image;
  if (*out == 0)
    *out = dflt;
  return 0;
}

/* The program a test list runs: {"CMD", prog, args...} or {"CMD-SHELL",
   command}; NULL for {"NONE"} (the check is off) and anything else. */
static const char *const *
health_argv (plan_ctx_t *c, const char *const *test, size_t n)
{
  const char **argv;
  size_t i;

  if (n >= 2 && strcmp (test[0], "CMD-SHELL") == 0)
    {
      argv = arena_alloc (c->a, 4 * sizeof *argv);
      argv[0] = "/bin/sh";
      argv[1] = "-c";
      argv[2] = arena_strdup (c->a, test[1]);
      return argv;
    }
  if (n < 2 || strcmp (test[0], "CMD") != 0)
    return NULL;
  argv = arena_alloc (c->a, n * sizeof *argv);
  for (i = 1; i < n; i++)
    argv[i - 1] = arena_strdup (c->a, test[i]);
  return argv;
}

/* The service's healthcheck over the image's HEALTHCHECK, field by field
   as Docker merges them: the service's test when it has one (NONE and
   `disable` turn the check off), else the image's; each timing and the
   retries the service's when set, else the image's, else the default. */
static int
plan_health (plan_ctx_t *c)
{
  const node_t *hc = plan_get (c, "healthcheck");
  const node_t *test = node_map_get (hc, "test"), *retries = node_map_get (hc, "retries");
  const node_t *dis = node_map_get (hc, "disable");
  const rt_image_health_t *img = c->img ? c->img->healthcheck : NULL;
  const rt_image_health_t none = { 0 };
  plan_health_t *h = &c->out->health;
  int64_t r;
  size_t i;

  if (dis && dis->b)
    return 0;
  if (test && test->kind == N_SEQ && test->len > 0)
    {
      const char **strv = arena_alloc (c->a, test->len * sizeof *strv);
      for (i = 0; i < test->len; i++)
        strv[i] = node_text (c->a, test->items[i]);
      h->argv = health_argv (c, strv, test->len);
    }
  else if (img && img->test)
    {
      for (i = 0; img->test[i]; i++)
        ;
      h->argv = health_argv (c, (const char *const *)img->test, i);
    }
  if (h->argv == NULL)
    return 0;
  if (img == NULL)
    img = &none;
  r = retries ? plan_int64 (retries) : 0;
  if (r <= 0)
    r = img->retries;
  h->retries = r > 0 ? (unsigned)r : 3;
  if (health_duration (c, hc, "interval", img->interval_ns, 30 * SECOND, &h->interval_ns) < 0
      || health_duration (c, hc, "timeout", img->timeout_ns, 30 * SECOND, &h->timeout_ns) < 0
      || health_duration (c, hc, "start_period", img->start_period_ns, 0, &h->start_period_ns) < 0
      || health_duration (c, hc, "start_interval", img->start_interval_ns, 5 * SECOND,
                          &h->start_interval_ns)
             < 0)
    return -1;
  return 0;
}

static int
plan_deps (plan_ctx_t *c)
{
  const node_t *deps = plan_get (c, "depends_on");
  plan_dep_t *out;
  size_t i;

  if (deps == NULL || deps->kind != N_MAP || deps->len == 0)
    return 0;
  out = arena_alloc (c->a, deps->len * sizeof *out);
  for (i = 0; i < deps->len; i++)
    {
      const node_t *d = deps->entries[i].value;
      const node_t *cond = node_map_get (d, "condition"), *req = node_map_get (d, "required");
      const node_t *rs = node_map_get (d, "restart");
      const char *s = cond ? node_text (c->a, cond) : "service_started";

      out[i].service = deps->entries[i].key;
      out[i].condition = strcmp (s, "service_healthy") == 0 ? PLAN_DEP_HEALTHY
                         : strcmp (s, "service_completed_successfully") == 0 ? PLAN_DEP_COMPLETED
                                                                             : PLAN_DEP_STARTED;
      out[i].required = req == NULL || req->b;
      out[i].restart = rs && rs->b;
    }
  c->out->deps = out;
  c->out->n_deps = deps->len;
  return 0;
}

static int
plan_logging (plan_ctx_t *c)
{
  const node_t *lg = plan_get (c, "logging");
  const node_t *driver = node_map_get (lg, "driver"), *opts = node_map_get (lg, "options");
  const node_t *size = node_map_get (opts, "max-size"), *files = node_map_get (opts, "max-file");
  const char *d = driver ? node_text (c->a, driver) : "json-file";
  int64_t v;

  c->out->log_max_size = 10 << 20;
  c->out->log_max_files = 3;
  if (strcmp (d, "none") == 0)
    {
      c->out->log_none = true;
      return 0;
    }
  if (strcmp (d, "json-file") != 0 && strcmp (d, "local") != 0)
    return plan_fail (c, driver, arena_printf (c->a, "%s.logging.driver", c->path),
                      "`%s`: stack keeps output in json-file logs (see `stack logs`); use "
                      "json-file, local or none",
                      d);
  if (size)
    {
      if (!bytes_parse (node_text (c->a, size), &v) || v < 4096)
        return plan_fail (c, size, arena_printf (c->a, "%s.logging.options.max-size", c->path),
                          "`%s` is not a size of at least 4k; write for example 10m or 500k",
                          node_text (c->a, size));
      c->out->log_max_size = (uint64_t)v;
    }
  if (files)
    {
      char *end;
      const char *s = node_text (c->a, files);
      long n = strtol (s, &end, 10);
      if (*s == '\0' || *end || n < 1 || n > 100)
        return plan_fail (c, files, arena_printf (c->a, "%s.logging.options.max-file", c->path),
                          "`%s` is not a number of files from 1 to 100", s);
      c->out->log_max_files = (unsigned)n;
    }
  return 0;
}

/* FNV-1a, 64 bits: a change detector, not a defence. */
static void
fnv (uint64_t *h, const char *s)
{
  for (; *s; s++)
    {
      *h ^= (unsigned char)*s;
      *h *= 0x100000001b3ULL;
    }
}

int
plan_run (plan_ctx_t *c)
{
  uint64_t h = 0xcbf29ce484222325ULL;
  char *model;

  if (plan_restart (c) < 0 || plan_health (c) < 0 || plan_deps (c) < 0 || plan_logging (c) < 0)
    return -1;
  /* everything in the service counts, as in Compose's config-hash; the
     image id is compared beside it */
  model = node_to_json_text (c->svc);
  fnv (&h, model ? model : "");
  fnv (&h, "\n");
  free (model);
  c->out->config_hash = arena_printf (c->a, "%016llx", (unsigned long long)h);
  return 0;
}
