/* spawn.c — placeholder: replaced by the container lifecycle. */
#include <errno.h>

#include "runtime-internal.h"

int
rt_container_create (const container_spec_t *spec, rt_container_t *c, stack_error_t **err)
{
  (void) spec, (void) c;
  return stack_error_make (err, ENOSYS, "create container");
}

int
rt_container_start (rt_container_t *c, stack_error_t **err)
{
  (void) c;
  return stack_error_make (err, ENOSYS, "start container");
}

int
rt_container_kill (rt_container_t *c, int sig, stack_error_t **err)
{
  (void) c, (void) sig;
  return stack_error_make (err, ENOSYS, "kill container");
}

int
rt_container_destroy (rt_container_t *c, stack_error_t **err)
{
  (void) c;
  return stack_error_make (err, ENOSYS, "destroy container");
}

bool
rt_container_oom_killed (const char *cgroup_path)
{
  (void) cgroup_path;
  return false;
}
