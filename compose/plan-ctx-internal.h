/* plan-ctx-internal.h — what plan.c, plan-limits.c and plan-mounts.c share
   while they translate one service (see plan-internal.h for the contract). */
#ifndef STACK_PLAN_CTX_INTERNAL_H
#define STACK_PLAN_CTX_INTERNAL_H

#include "plan-internal.h"

typedef struct plan_ctx
{
  arena_t *a;
  const compose_project_t *p;
  const compose_service_t *s;
  const node_t *svc; /* s->node, the normalized service */
  const char *path;  /* "services.NAME" */
  const rt_image_config_t *img;
  const plan_paths_t *paths;
  svc_plan_t *out;
  stack_error_t **err;
} plan_ctx_t;

/* Fill *c->err with "FILE:LINE:COL: PATH: message" (status EINVAL) at the
   place `at` came from. Always returns -1. */
int plan_fail (plan_ctx_t *c, const node_t *at, const char *path, const char *fmt, ...)
    PRINTF_LIKE (4, 5);
/* "services.NAME.key" */
const char *plan_key (plan_ctx_t *c, const char *key);
/* The service's value for key, NULL when absent or null. */
const node_t *plan_get (plan_ctx_t *c, const char *key);
/* A normalized size (decimal string, "-1") or number; 0 when absent. */
int64_t plan_int64 (const node_t *n);
/* A NULL-terminated copy of a list of strings, in the arena; NULL for none. */
const char *const *plan_strv (plan_ctx_t *c, const node_t *seq);
double plan_double (const node_t *n);

/* plan-limits.c: spec.limits, spec.rlimits, shm_size. */
int plan_limits (plan_ctx_t *c);
/* plan-limits.c: caps, privileged, security_opt, sysctls. */
int plan_security (plan_ctx_t *c);
/* plan-mounts.c: spec.mounts, read_only root, out->volumes. */
int plan_mounts (plan_ctx_t *c);
/* plan-run.c: restart, healthcheck, depends_on, logging, config_hash. */
int plan_run (plan_ctx_t *c);
/* plan-network.c: attachments, ports, extra_hosts, links, dns*. */
int plan_network (plan_ctx_t *c);

#endif
