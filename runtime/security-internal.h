/* security-internal.h — what security.c and seccomp.c share. */
#ifndef STACK_SECURITY_INTERNAL_H
#define STACK_SECURITY_INTERNAL_H

#include <stdint.h>

#include "runtime-internal.h"

/* Load the default syscall filter (Docker's default profile as a denylist,
   see docs/security.md) into the calling thread. `caps` is the set the
   container will hold: syscalls Docker allows with a capability are allowed
   when caps has it. Needs CAP_SYS_ADMIN in the effective set, or
   no_new_privs already set. */
int rt_seccomp_load_default (uint64_t caps, stack_error_t **err);

#endif
