/* normalize.c — placeholder. */
#include "compose-internal.h"

node_t *
normalize_project (ld_t *ld, node_t *root, const char *project_name)
{
  node_map_set (ld->arena, root, "name", node_new_str (ld->arena, project_name, root->mark));
  return root;
}
