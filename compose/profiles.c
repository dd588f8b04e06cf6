/* profiles.c — placeholder. */
#include "compose-internal.h"

void
profiles_apply (ld_t *ld, node_t *model, const char *const *profiles, size_t n_profiles)
{
  (void) ld, (void) model, (void) profiles, (void) n_profiles;
}
