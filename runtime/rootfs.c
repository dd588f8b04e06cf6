/* rootfs.c — placeholder. */
#include <errno.h>

#include "runtime-internal.h"

int
rt_rootfs_prepare (const container_spec_t *spec, stack_error_t **err)
{
  (void) spec;
  return stack_error_make (err, ENOSYS, "prepare rootfs");
}
