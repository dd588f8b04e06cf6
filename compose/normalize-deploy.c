/* normalize-deploy.c — what a service may use and how it is kept alive:
   deploy (replicas, resources, restart_policy; the swarm-only parts
   accepted and reported as ignored), healthcheck and blkio_config. */
#include <string.h>

#include "normalize-internal.h"

static const nz_range_t non_negative = { 0, (1LL << 62) };
static const nz_range_t from_minus_one = { -1, (1LL << 62) };
static const nz_range_t blkio_weight = { 10, 1000 };

/* ---- deploy ---- */

static const char *const deploy_modes[]
    = { "replicated", "global", "replicated-job", "global-job", NULL };
static const char *const failure_actions[] = { "continue", "rollback", "pause", NULL };
static const char *const orders[] = { "start-first", "stop-first", NULL };
static const char *const restart_conditions[] = { "none", "on-failure", "any", NULL };

static const nz_key_t update_keys[] = {
  { "parallelism", nz_h_int, &non_negative, NULL },       { "delay", nz_h_duration, NULL, NULL },
  { "failure_action", nz_h_enum, failure_actions, NULL }, { "monitor", nz_h_duration, NULL, NULL },
  { "max_failure_ratio", nz_h_float, NULL, NULL },        { "order", nz_h_enum, orders, NULL },
};
static const nz_obj_t update_obj
    = NZ_OBJ ("an update policy", "services.*.deploy.update_config", update_keys, true);

static const nz_key_t limits_keys[] = {
  { "cpus", nz_h_float, NULL, NULL },
  { "memory", nz_h_bytes, NULL, NULL },
  { "pids", nz_h_int, &from_minus_one, NULL },
};
static const nz_obj_t limits_obj
    = NZ_OBJ ("`limits`", "services.*.deploy.resources.limits", limits_keys, true);

static const nz_key_t reservations_keys[] = {
  { "cpus", nz_h_float, NULL, NULL },
  { "memory", nz_h_bytes, NULL, NULL },
  { "generic_resources", nz_h_plain, NULL, "generic resources are a swarm feature" },
  { "devices", nz_h_plain, NULL, "stack does not pass GPUs or other devices by capability" },
};
static const nz_obj_t reservations_obj = NZ_OBJ (
    "`reservations`", "services.*.deploy.resources.reservations", reservations_keys, true);

static const nz_key_t resources_keys[] = {
  { "limits", nz_h_object, &limits_obj, NULL },
  { "reservations", nz_h_object, &reservations_obj, NULL },
};
static const nz_obj_t resources_obj
    = NZ_OBJ ("`resources`", "services.*.deploy.resources", resources_keys, true);

static const nz_key_t restart_policy_keys[] = {
  { "condition", nz_h_enum, restart_conditions, NULL },
  { "delay", nz_h_duration, NULL, NULL },
  { "max_attempts", nz_h_int, &non_negative, NULL },
  { "window", nz_h_duration, NULL, NULL },
};
static const nz_obj_t restart_policy_obj
    = NZ_OBJ ("`restart_policy`", "services.*.deploy.restart_policy", restart_policy_keys, true);

static const nz_key_t placement_keys[] = {
  { "constraints", nz_h_str_list_dup, NULL, NULL },
  { "preferences", nz_h_plain, NULL, NULL },
  { "max_replicas_per_node", nz_h_int, &non_negative, NULL },
};
static const nz_obj_t placement_obj
    = NZ_OBJ ("`placement`", "services.*.deploy.placement", placement_keys, true);

static const nz_key_t deploy_keys[] = {
  { "mode", nz_h_enum, deploy_modes, NULL },
  { "endpoint_mode", nz_h_str, NULL, "endpoint_mode is a swarm setting" },
  { "replicas", nz_h_int, &non_negative, "each service runs one container" },
  { "labels", nz_h_str_map, NULL, NULL },
  { "rollback_config", nz_h_object, &update_obj, "rolling updates are a swarm feature" },
  { "update_config", nz_h_object, &update_obj, "rolling updates are a swarm feature" },
  { "resources", nz_h_object, &resources_obj, NULL },
  { "restart_policy", nz_h_object, &restart_policy_obj, NULL },
  { "placement", nz_h_object, &placement_obj,
    "placement chooses among swarm nodes; there is one host" },
};
const nz_obj_t nz_deploy_obj = NZ_OBJ ("`deploy`", "services.*.deploy", deploy_keys, true);

node_t *
nz_h_deploy (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  if (nz_is_null (in))
    return NULL;
  out = nz_object (z, in, path, &nz_deploy_obj);
  if (out == NULL)
    return NULL;
  /* compose-go prints these two structs even when empty */
  if (!node_map_get (out, "resources"))
    node_map_set (z->a, out, "resources", nz_map (z, NULL));
  if (!node_map_get (out, "placement"))
    node_map_set (z->a, out, "placement", nz_map (z, NULL));
  return out;
}

/* ---- healthcheck ---- */

static node_t *
h_test (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out;
  const char *first;

  if (node_is_scalar (in))
    {
      node_t *s = nz_h_str (z, in, path, k);
      if (s == NULL)
        return NULL;
      out = nz_seq (z, in);
      node_seq_push (z->a, out, nz_str (z, "CMD-SHELL", in));
      node_seq_push (z->a, out, s);
      return out;
    }
  out = nz_h_str_list_dup (z, in, path, k);
  if (out == NULL)
    return NULL;
  if (out->len == 0)
    {
      diag_error (z->ld, in->mark, path,
                  "is empty; write [\"CMD\", \"prog\", \"arg\"], [\"CMD-SHELL\", \"command\"], a "
                  "command string, or [\"NONE\"] to disable the check");
      return NULL;
    }
  first = out->items[0]->str;
  if (strcmp (first, "NONE") != 0 && strcmp (first, "CMD") != 0 && strcmp (first, "CMD-SHELL") != 0)
    {
      diag_error (z->ld, in->items[0]->mark, path_index (z->a, path, 0),
                  "a test list starts with CMD (run a program), CMD-SHELL (run a shell command) "
                  "or NONE, not `%s`; for example [\"CMD\", \"%s\", ...]",
                  first, first);
      return NULL;
    }
  if (strcmp (first, "NONE") != 0 && out->len < 2)
    {
      diag_error (z->ld, in->mark, path, "`%s` needs a command after it", first);
      return NULL;
    }
  return out;
}

static const nz_key_t healthcheck_keys[] = {
  { "disable", nz_h_bool, NULL, NULL },
  { "interval", nz_h_duration, NULL, NULL },
  { "retries", nz_h_int, &non_negative, NULL },
  { "test", h_test, NULL, NULL },
  { "timeout", nz_h_duration, NULL, NULL },
  { "start_period", nz_h_duration, NULL, NULL },
  { "start_interval", nz_h_duration, NULL, NULL },
};
const nz_obj_t nz_healthcheck_obj
    = NZ_OBJ ("`healthcheck`", "services.*.healthcheck", healthcheck_keys, true);

node_t *
nz_h_healthcheck (nz_t *z, const node_t *in, const char *path, const nz_key_t *k)
{
  node_t *out = nz_object (z, in, path, &nz_healthcheck_obj);
  node_t *dis, *test;
  node_entry_t *te;

  if (out == NULL)
    return NULL;
  dis = node_map_get (out, "disable");
  test = node_map_get (out, "test");
  if (dis && dis->b && test && strcmp (test->items[0]->str, "NONE") != 0)
    {
      te = node_map_find (in, "test");
      diag_error (z->ld, te->key_mark, path_key (z->a, path, "test"),
                  "cannot be used with `disable: true`; remove one of them");
      return NULL;
    }
  if (dis && !dis->b)
    node_map_del (out, "disable"); /* the default */
  return out;
}

/* ---- blkio_config ---- */

static const nz_key_t weight_device_keys[] = {
  { "path", nz_h_str, NULL, NULL },
  { "weight", nz_h_int, &blkio_weight, NULL },
};
static const nz_obj_t weight_device_obj = NZ_OBJ (
    "a weight_device entry", "services.*.blkio_config.weight_device", weight_device_keys, false);

static const nz_key_t bps_keys[] = {
  { "path", nz_h_str, NULL, NULL },
  { "rate", nz_h_bytes, NULL, NULL },
};
static const nz_obj_t bps_obj
    = NZ_OBJ ("a device rate entry", "services.*.blkio_config.device_bps", bps_keys, false);

static const nz_key_t iops_keys[] = {
  { "path", nz_h_str, NULL, NULL },
  { "rate", nz_h_int, &non_negative, NULL },
};
static const nz_obj_t iops_obj
    = NZ_OBJ ("a device rate entry", "services.*.blkio_config.device_iops", iops_keys, false);

static const nz_key_t blkio_keys[] = {
  { "weight", nz_h_int, &blkio_weight, NULL },
  { "weight_device", nz_h_obj_list, &weight_device_obj, NULL },
  { "device_read_bps", nz_h_obj_list, &bps_obj, NULL },
  { "device_read_iops", nz_h_obj_list, &iops_obj, NULL },
  { "device_write_bps", nz_h_obj_list, &bps_obj, NULL },
  { "device_write_iops", nz_h_obj_list, &iops_obj, NULL },
};
const nz_obj_t nz_blkio_obj
    = NZ_OBJ ("`blkio_config`", "services.*.blkio_config", blkio_keys, false);
