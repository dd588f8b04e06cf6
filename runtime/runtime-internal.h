/* runtime-internal.h — what the files of runtime/ share.

   spawn.c runs the child through these steps, in this order:
     (new namespaces exist; the parent has placed us in our cgroup)
     rt_rootfs_prepare   rootfs.c: overlay, mounts, /proc, /sys, /dev, the
                         /etc files, masked paths, pivot_root
     sethostname, user lookup, rlimits, cwd, setgroups/setgid/setuid
     rt_security_apply   security.c: capabilities, no_new_privs, seccomp
     execve */
#ifndef STACK_RUNTIME_INTERNAL_H
#define STACK_RUNTIME_INTERNAL_H

#include "runtime.h"

/* ---- rootfs.c (runs in the child, in its new mount namespace) ---- */
int rt_rootfs_prepare (const container_spec_t *spec, stack_error_t **err);

/* ---- security.c (runs in the child, last thing before exec) ---- */
int rt_security_apply (const container_spec_t *spec, stack_error_t **err);
/* Write the sysctls below /proc/sys (after /proc is mounted, before it is
   made read-only). */
int rt_sysctls_apply (const char *const *sysctls, stack_error_t **err);
/* Is this sysctl namespaced (settable per container)? *why says why not. */
bool rt_sysctl_allowed (const char *key, const char **why);

/* ---- cgroup-*.c: one ops table per cgroup version ---- */
typedef struct rt_cgroup_ops
{
  const char *name; /* "v1", "v2" */
  int (*create) (const char *path, const rt_limits_t *limits, stack_error_t **err);
  int (*add_pid) (const char *path, pid_t pid, stack_error_t **err);
  int (*pids) (const char *path, pid_t **pids, size_t *n, stack_error_t **err);
  int (*destroy) (const char *path, stack_error_t **err);
  int (*stats) (const char *path, rt_cgroup_stats_t *out, stack_error_t **err);
} rt_cgroup_ops_t;

extern const rt_cgroup_ops_t rt_cgroup_v1_ops;
extern const rt_cgroup_ops_t rt_cgroup_v2_ops;

#endif
