/* plan-limits.c — what a service may use and may do: resource limits
   (docker compose's getDeployResources, then the daemon's checks and
   defaults), ulimits, capabilities, privileged, security_opt, sysctls. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "plan-ctx-internal.h"

static const node_t *
deploy_get (plan_ctx_t *c, const char *group, const char *key)
{
  const node_t *res = node_map_get (plan_get (c, "deploy"), "resources");
  return node_map_get (node_map_get (res, group), key);
}

/* cpu_quota over cpu_period (default 100ms) is what `cpus` means. */
static int
plan_cpus (plan_ctx_t *c, rt_limits_t *l)
{
  const node_t *dcpus = deploy_get (c, "limits", "cpus"), *cpus = plan_get (c, "cpus");
  const node_t *quota = plan_get (c, "cpu_quota"), *period = plan_get (c, "cpu_period");
  const node_t *given;

  /* deploy.resources.limits wins when set (compose's setLimits) */
  given = dcpus && plan_double (dcpus) > 0 ? dcpus : cpus;
  l->cpus = plan_double (given);
  if (quota && plan_int64 (quota) > 0)
    {
      int64_t per = period && plan_int64 (period) > 0 ? plan_int64 (period) : 100000;
      if (l->cpus > 0)
        /* the daemon refuses both: "Conflicting options: Nano CPUs and CPU Quota" */
        return plan_fail (c, quota, plan_key (c, "cpu_quota"),
                          "cannot be used with `%s`; set only one of them (cpus: %g is "
                          "cpu_quota: %lld with cpu_period: 100000)",
                          given == dcpus ? "deploy.resources.limits.cpus" : "cpus", l->cpus,
                          (long long)(l->cpus * 100000));
      l->cpus = (double)plan_int64 (quota) / (double)per;
    }
  return 0;
}

static int
plan_memory (plan_ctx_t *c, rt_limits_t *l)
{
  const node_t *dmem = deploy_get (c, "limits", "memory"), *mem = plan_get (c, "mem_limit");
  const node_t *dres = deploy_get (c, "reservations", "memory");
  const node_t *res = plan_get (c, "mem_reservation"), *swap = plan_get (c, "memswap_limit");
  const node_t *mem_at;
  int64_t sw = plan_int64 (swap);

  mem_at = dmem && plan_int64 (dmem) > 0 ? dmem : mem;
  l->memory = plan_int64 (mem_at);
  l->memory_reservation = dres && plan_int64 (dres) > 0 ? plan_int64 (dres) : plan_int64 (res);

  /* the daemon's checks (verifyPlatformContainerResources) and default */
  if (l->memory > 0 && l->memory < 6 * 1024 * 1024)
    return plan_fail (c, mem_at,
                      mem_at == dmem
                          ? arena_printf (c->a, "%s.deploy.resources.limits.memory", c->path)
                          : plan_key (c, "mem_limit"),
                      "%lld bytes is below the minimum of 6m", (long long)l->memory);
  if (sw > 0 && l->memory == 0)
    return plan_fail (c, swap, plan_key (c, "memswap_limit"),
                      "needs a memory limit: memswap_limit is memory plus swap; set mem_limit "
                      "too");
  if (sw > 0 && sw < l->memory)
    return plan_fail (c, swap, plan_key (c, "memswap_limit"),
                      "%lld is below the memory limit %lld: memswap_limit is memory plus swap, "
                      "so it must be at least mem_limit (-1: unlimited swap)",
                      (long long)sw, (long long)l->memory);
  if (l->memory > 0 && l->memory_reservation > l->memory)
    return plan_fail (c, dres && plan_int64 (dres) > 0 ? dres : res,
                      dres && plan_int64 (dres) > 0
                          ? arena_printf (c->a, "%s.deploy.resources.reservations.memory", c->path)
                          : plan_key (c, "mem_reservation"),
                      "%lld is above the memory limit %lld; a reservation must be at most the "
                      "limit",
                      (long long)l->memory_reservation, (long long)l->memory);
  if (sw == -1)
    l->memory_swap = -1;
  else if (sw > 0)
    l->memory_swap = sw;
  else if (l->memory > 0)
    l->memory_swap = 2 * l->memory; /* Docker: as much swap as memory */
  return 0;
}

/* ---- ulimits ---- */

static const struct
{
  const char *name;
  int resource;
} rlimit_names[] = {
  { "as", RLIMIT_AS },
  { "core", RLIMIT_CORE },
  { "cpu", RLIMIT_CPU },
  { "data", RLIMIT_DATA },
  { "fsize", RLIMIT_FSIZE },
  { "locks", RLIMIT_LOCKS },
  { "memlock", RLIMIT_MEMLOCK },
  { "msgqueue", RLIMIT_MSGQUEUE },
  { "nice", RLIMIT_NICE },
  { "nofile", RLIMIT_NOFILE },
  { "nproc", RLIMIT_NPROC },
  { "rss", RLIMIT_RSS },
  { "rtprio", RLIMIT_RTPRIO },
  { "rttime", RLIMIT_RTTIME },
  { "sigpending", RLIMIT_SIGPENDING },
  { "stack", RLIMIT_STACK },
};

/* -1: unlimited, as Docker passes it on (uint64 of -1 is RLIM_INFINITY) */
static uint64_t
rlim_of (const node_t *n)
{
  int64_t v = plan_int64 (n);
  return v < 0 ? (uint64_t)RLIM_INFINITY : (uint64_t)v;
}

static int
plan_ulimits (plan_ctx_t *c)
{
  const node_t *u = plan_get (c, "ulimits");
  rt_rlimit_t *rl;
  size_t i, j, n = 0;

  if (u == NULL || u->kind != N_MAP || u->len == 0)
    return 0; /* no defaults of our own: the host's hard limits may be low */
  rl = arena_alloc (c->a, u->len * sizeof *rl);
  for (i = 0; i < u->len; i++)
    {
      const node_entry_t *e = &u->entries[i];
      for (j = 0; j < ARRAY_SIZE (rlimit_names); j++)
        if (strcmp (e->key, rlimit_names[j].name) == 0)
          break;
      if (j == ARRAY_SIZE (rlimit_names))
        return plan_fail (c, e->value, path_key (c->a, plan_key (c, "ulimits"), e->key),
                          "unknown ulimit `%s`", e->key);
      rl[n].resource = rlimit_names[j].resource;
      if (e->value && e->value->kind == N_MAP)
        {
          rl[n].soft = rlim_of (node_map_get (e->value, "soft"));
          rl[n].hard = rlim_of (node_map_get (e->value, "hard"));
        }
      else
        rl[n].soft = rl[n].hard = rlim_of (e->value);
      n++;
    }
  c->out->spec.rlimits = rl;
  c->out->spec.n_rlimits = n;
  return 0;
}

int
plan_limits (plan_ctx_t *c)
{
  rt_limits_t *l = &c->out->spec.limits;
  const node_t *n, *dpids = deploy_get (c, "limits", "pids");

  if (plan_memory (c, l) < 0 || plan_cpus (c, l) < 0)
    return -1;
  l->cpu_shares = (uint64_t)plan_int64 (plan_get (c, "cpu_shares"));
  if ((n = plan_get (c, "cpuset")))
    l->cpuset_cpus = node_text (c->a, n);
  /* pids_limit: 0 unset, negative unlimited; deploy's pids wins when > 0 */
  l->pids = dpids && plan_int64 (dpids) > 0 ? plan_int64 (dpids)
                                            : plan_int64 (plan_get (c, "pids_limit"));
  if (l->pids < 0)
    l->pids = -1;
  l->io_weight = (uint16_t)plan_int64 (node_map_get (plan_get (c, "blkio_config"), "weight"));
  c->out->spec.shm_size = (uint64_t)plan_int64 (plan_get (c, "shm_size"));
  return plan_ulimits (c);
}

/* ---- security ---- */

static int
cap_list (plan_ctx_t *c, const char *key, uint64_t *bits, bool *all)
{
  const node_t *list = plan_get (c, key);
  size_t i;

  *bits = 0;
  *all = false;
  for (i = 0; list && list->kind == N_SEQ && i < list->len; i++)
    {
      const char *name = node_text (c->a, list->items[i]);
      uint64_t b;
      if (!rt_cap_parse (name, &b))
        return plan_fail (c, list->items[i], path_index (c->a, plan_key (c, key), i),
                          "unknown capability \"%s\"", name);
      if (strcasecmp (name, "ALL") == 0)
        *all = true;
      *bits |= b;
    }
  return 0;
}

/* moby's TweakCapabilities: ALL in cap_add is every capability but the
   dropped ones; ALL in cap_drop is exactly the added ones; otherwise the
   default set minus cap_drop, plus cap_add (an added capability wins over
   the same one dropped). privileged is everything. */
static int
plan_caps (plan_ctx_t *c)
{
  uint64_t add, drop, every = 0;
  bool add_all, drop_all;

  if (cap_list (c, "cap_add", &add, &add_all) < 0 || cap_list (c, "cap_drop", &drop, &drop_all) < 0)
    return -1;
  rt_cap_parse ("ALL", &every);
  if (c->out->spec.privileged)
    c->out->spec.caps = every;
  else if (add_all)
    c->out->spec.caps = drop_all ? every : every & ~drop;
  else if (drop_all)
    c->out->spec.caps = add;
  else
    c->out->spec.caps = (rt_default_caps () & ~drop) | add;
  return 0;
}

static bool
parse_bool_word (const char *s, bool *out)
{
  if (strcasecmp (s, "true") == 0 || strcmp (s, "1") == 0)
    return *out = true, true;
  if (strcasecmp (s, "false") == 0 || strcmp (s, "0") == 0)
    return *out = false, true;
  return false;
}

/* Docker's forms: KEY=VALUE, KEY:VALUE (legacy), no-new-privileges alone. */
static int
security_opt (plan_ctx_t *c, const node_t *at, const char *path)
{
  const char *opt = node_text (c->a, at), *sep = strchr (opt, '=');
  const char *key, *val;
  bool b;

  if (strcmp (opt, "no-new-privileges") == 0)
    return c->out->spec.no_new_privileges = true, 0;
  if (sep == NULL)
    sep = strchr (opt, ':');
  if (sep == NULL)
    return plan_fail (c, at, path,
                      "`%s` is not a security option; write KEY=VALUE, such as "
                      "no-new-privileges=true or seccomp=unconfined",
                      opt);
  key = arena_strndup (c->a, opt, (size_t)(sep - opt));
  val = sep + 1;
  if (strcmp (key, "no-new-privileges") == 0)
    {
      if (!parse_bool_word (val, &b))
        return plan_fail (c, at, path, "no-new-privileges takes true or false, not `%s`", val);
      c->out->spec.no_new_privileges = b;
      return 0;
    }
  if (strcmp (key, "seccomp") == 0)
    {
      if (strcmp (val, "unconfined") == 0)
        c->out->spec.seccomp_unconfined = true;
      else if (strcmp (val, "builtin") == 0)
        c->out->spec.seccomp_unconfined = false;
      else
        return plan_fail (c, at, path,
                          "custom seccomp profiles are not supported yet; use "
                          "seccomp=unconfined or remove it");
      return 0;
    }
  /* SELinux and AppArmor labels mean nothing without those LSMs in play;
     systempaths=unconfined (unmasked /proc paths) is not offered either */
  if (strcmp (key, "label") == 0 || strcmp (key, "apparmor") == 0
      || (strcmp (key, "systempaths") == 0 && strcmp (val, "unconfined") == 0))
    return 0;
  return plan_fail (c, at, path,
                    "unknown security option `%s`; stack knows no-new-privileges, "
                    "seccomp=unconfined, label=... and apparmor=...",
                    key);
}

int
plan_security (plan_ctx_t *c)
{
  container_spec_t *sp = &c->out->spec;
  const node_t *opts = plan_get (c, "security_opt"), *sys = plan_get (c, "sysctls"), *priv;
  size_t i;

  priv = plan_get (c, "privileged");
  sp->privileged = priv && priv->kind == N_BOOL && priv->b;
  if (plan_caps (c) < 0)
    return -1;
  for (i = 0; opts && opts->kind == N_SEQ && i < opts->len; i++)
    if (security_opt (c, opts->items[i], path_index (c->a, plan_key (c, "security_opt"), i)) < 0)
      return -1;
  if (sys && sys->kind == N_MAP && sys->len > 0)
    {
      const char **v = arena_alloc (c->a, (sys->len + 1) * sizeof *v);
      for (i = 0; i < sys->len; i++)
        {
          const char *val = node_text (c->a, sys->entries[i].value);
          v[i] = arena_printf (c->a, "%s=%s", sys->entries[i].key, val ? val : "");
        }
      sp->sysctls = v;
    }
  return 0;
}
