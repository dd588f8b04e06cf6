/* layer.c — placeholder. */
#include <errno.h>

#include "runtime-internal.h"

int
rt_layer_extract (int tar_fd, const char *dir, stack_error_t **err)
{
  (void) tar_fd, (void) dir;
  return stack_error_make (err, ENOSYS, "extract layer");
}
