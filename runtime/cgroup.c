/* cgroup.c — placeholder. */
#include "runtime-internal.h"

const char *
rt_cgroup_version (void)
{
  return "none";
}

int
rt_cgroup_create (const char *path, const rt_limits_t *limits, stack_error_t **err)
{
  (void) path, (void) limits;
  return 0; /* placeholder: a no-op until implemented */
}

int
rt_cgroup_add_pid (const char *path, pid_t pid, stack_error_t **err)
{
  (void) path, (void) pid;
  return 0; /* placeholder: a no-op until implemented */
}

int
rt_cgroup_kill_all (const char *path, stack_error_t **err)
{
  (void) path;
  return 0; /* placeholder: a no-op until implemented */
}

int
rt_cgroup_destroy (const char *path, const char *stop_at, stack_error_t **err)
{
  (void) path, (void) stop_at;
  return 0; /* placeholder: a no-op until implemented */
}

int
rt_cgroup_stats (const char *path, rt_cgroup_stats_t *out, stack_error_t **err)
{
  (void) path, (void) out;
  return 0; /* placeholder: a no-op until implemented */
}

int
rt_cgroup_pids (const char *path, pid_t **pids, size_t *n, stack_error_t **err)
{
  (void) path;
  *pids = NULL;
  *n = 0;
  return 0; /* placeholder: a no-op until implemented */
}
