/* interpolate.c — placeholder: replaced by the interpolation work. */
#include "compose-internal.h"

const char *
interpolate_str (ld_t *ld, const env_t *env, const char *in, const char **errmsg)
{
  (void) ld, (void) env, (void) errmsg;
  return in;
}

void
interpolate_tree (ld_t *ld, const env_t *env, node_t *root)
{
  (void) ld, (void) env, (void) root;
}
