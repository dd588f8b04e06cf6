/* security.c — placeholder. */
#include "runtime-internal.h"

uint64_t
rt_default_caps (void)
{
  return 0;
}

bool
rt_cap_parse (const char *name, uint64_t *bits)
{
  (void) name, (void) bits;
  return false;
}

int
rt_security_apply (const container_spec_t *spec, stack_error_t **err)
{
  (void) spec;
  return 0; /* placeholder: a no-op until implemented */
}

int
rt_sysctls_apply (const char *const *sysctls, stack_error_t **err)
{
  (void) sysctls;
  return 0; /* placeholder: a no-op until implemented */
}

bool
rt_sysctl_allowed (const char *key, const char **why)
{
  (void) key;
  *why = NULL;
  return true;
}
