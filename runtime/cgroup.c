/* cgroup.c — placeholder. */
#include <errno.h>

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
  return stack_error_make (err, ENOSYS, "create cgroup");
}

int
rt_cgroup_add_pid (const char *path, pid_t pid, stack_error_t **err)
{
  (void) path, (void) pid;
  return stack_error_make (err, ENOSYS, "add to cgroup");
}

int
rt_cgroup_kill_all (const char *path, stack_error_t **err)
{
  (void) path;
  return stack_error_make (err, ENOSYS, "kill cgroup");
}

int
rt_cgroup_destroy (const char *path, const char *stop_at, stack_error_t **err)
{
  (void) path, (void) stop_at;
  return stack_error_make (err, ENOSYS, "remove cgroup");
}

int
rt_cgroup_stats (const char *path, rt_cgroup_stats_t *out, stack_error_t **err)
{
  (void) path, (void) out;
  return stack_error_make (err, ENOSYS, "read cgroup");
}

int
rt_cgroup_pids (const char *path, pid_t **pids, size_t *n, stack_error_t **err)
{
  (void) path, (void) pids, (void) n;
  return stack_error_make (err, ENOSYS, "read cgroup");
}
