/* merge.c — placeholder. */
#include "compose-internal.h"

node_t *
merge_services (ld_t *ld, node_t *base, node_t *over)
{
  (void) ld, (void) base;
  return over;
}

node_t *
merge_projects (ld_t *ld, node_t *base, node_t *over)
{
  (void) ld, (void) base;
  return over;
}
