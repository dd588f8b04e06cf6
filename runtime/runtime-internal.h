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

/* Allocate the container's terminal in its devpts (after rt_rootfs_prepare):
   *master for the caller, *slave bind-mounted on /dev/console. */
int rt_rootfs_pty (int *master, int *slave, stack_error_t **err);

/* ---- user.c: "user[:group]" in the container's /etc/passwd, /etc/group ---- */
typedef struct rt_user
{
  uid_t uid;
  gid_t gid;
  gid_t *groups; /* supplementary, the primary gid first */
  size_t n_groups;
  char *home; /* from passwd, "/" when there is no entry */
} rt_user_t;

int rt_user_resolve (int root_fd, const char *user, const char *const *group_add, rt_user_t *out,
                     stack_error_t **err);
void rt_user_free (rt_user_t *u);

/* ---- sealed.c: a sealed memfd copy of /proc/self/exe (CVE-2019-5736) ---- */
int rt_sealed_self (stack_error_t **err);

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

/* ---- security.c, added: the user switch and the spec-level sysctl check ----
   spawn.c calls rt_security_prepare while still root, right BEFORE
   setgroups/setgid/setuid (it sets PR_SET_KEEPCAPS so a non-root user's
   permitted set survives the switch; without it rt_security_apply fails for
   non-root users), then rt_security_apply after the switch as before. */
int rt_security_prepare (const container_spec_t *spec, stack_error_t **err);
/* Every spec->sysctls entry is KEY=VALUE, namespaced, and not in a namespace
   shared with the host (host_net: net.*, host_ipc: the IPC ones). Call it
   before the first side effect of rt_container_create. */
int rt_sysctls_check (const container_spec_t *spec, stack_error_t **err);

#endif
