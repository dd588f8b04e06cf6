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
/* A new pty pair from the /dev/ptmx of the mount namespace we are in
   (exec: the container's devpts), unlocked; both ends CLOEXEC. */
int rt_pty_open (int *master, int *slave, stack_error_t **err);

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

/* ---- child.c: what create (spawn.c) and exec (exec.c) share ----

   The sync channel: a SOCK_SEQPACKET socketpair, one message per step. */
enum
{
  RT_MSG_GO = 1,
  RT_MSG_READY,
  RT_MSG_START,
  RT_MSG_ERROR,
};

typedef struct rt_sync_msg
{
  int32_t type;
  int32_t status;
  char text[4000];
} rt_sync_msg_t;

/* How long the runtime waits for one answer of a child's setup. */
#define RT_SETUP_TIMEOUT_S 30

int rt_sync_send (int fd, int type, int status, const char *text, int pass_fd);
/* > 0: a message; 0: the other end is closed; < 0: errno (EAGAIN: the
   timeout of rt_sync_set_timeout passed). */
ssize_t rt_sync_recv (int fd, rt_sync_msg_t *m, int *pass_fd);
/* SO_RCVTIMEO of RT_SETUP_TIMEOUT_S on our end: a setup that hangs (a
   mount that never returns) must not block the caller forever. */
int rt_sync_set_timeout (int fd, stack_error_t **err);
/* The error for a receive that brought no hoped-for message: the child's
   own (RT_MSG_ERROR), "container setup did not answer within 30 s"
   (ETIMEDOUT), "WHAT exited without a word" (n == 0), or errno. */
int rt_sync_fail (ssize_t n, const rt_sync_msg_t *m, const char *what, stack_error_t **err);

/* No process, no fds, no cgroup: what create and exec return on failure. */
void rt_container_clear (rt_container_t *c);
/* sig through the pidfd when there is one. */
int rt_pidfd_signal (int pidfd, pid_t pid, int sig);
void rt_kill_and_reap (int pidfd, pid_t pid);
/* clone3 (CLONE_PIDFD) with `flags`; the child is born in the pid
   namespace pidns_fd names (a /proc/PID/ns/pid fd or a pidfd; -1: ours)
   and non-dumpable (CVE-2019-5736). Returns 0 in the child, the pid in
   the parent with *pidfd set. */
pid_t rt_clone (unsigned long flags, int pidns_fd, int *pidfd, stack_error_t **err);

/* In the child: send the error and _exit (127). */
__attribute__ ((noreturn)) void rt_child_fail (int sync, stack_error_t *err);
/* Wait for the parent's next word; anything else (it died) ends us. */
void rt_child_wait (int sync, int type);
/* Default signal dispositions, an empty mask, umask 022. */
void rt_child_reset (void);
/* The spec's fds on 0, 1, 2 (/dev/null for -1, and for all with tty). */
int rt_child_stdio (const container_spec_t *spec, stack_error_t **err);
/* slave on 0, 1, 2 and as our controlling terminal (we lead a session). */
int rt_child_take_tty (int slave, stack_error_t **err);
/* user, rlimits, cwd, env, ids, fds, security, execve: the container's
   program or an exec'd one. Only returns on error. */
int rt_child_exec (const container_spec_t *spec, stack_error_t **err);

#endif
