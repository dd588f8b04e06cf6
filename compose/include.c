/* include.c — placeholder. */
#include "compose-internal.h"

void
include_resolve (ld_t *ld, node_t *root)
{
  (void) ld, (void) root;
}
