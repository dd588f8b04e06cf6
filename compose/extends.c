/* extends.c — placeholder. */
#include "compose-internal.h"

void
extends_resolve (ld_t *ld, node_t *root)
{
  (void) ld, (void) root;
}
