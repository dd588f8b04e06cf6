/* cgroup-internal.h — what cgroup.c, cgroup-v1.c and cgroup-v2.c share.

   cgroup.c picks a backend at every call (no cached state, so tests can
   switch with the environment):

     STACK_CGROUP=v1|v2      force the version (tests; unset: detect)
     STACK_CGROUP_V2_ROOT    where the v2 hierarchy is mounted (tests: point it
                             at /sys/fs/cgroup/unified on a hybrid host;
                             unset: /sys/fs/cgroup)

   Detection: /sys/fs/cgroup is cgroup2 (statfs magic) → v2; anything else,
   including the "hybrid" layout (v1 controllers plus a cgroup2 mount at
   /sys/fs/cgroup/unified), → v1, with the controllers' mount points found in
   /proc/self/mountinfo.

   Every path handed to a backend has been checked by cgroup.c: relative, no
   empty, "." or ".." component. */
#ifndef STACK_CGROUP_INTERNAL_H
#define STACK_CGROUP_INTERNAL_H

#include "runtime-internal.h"

/* rt_cgroup_ops_t (runtime-internal.h) has no kill_all, and killing is where
   the versions differ most (cgroup.kill vs the v1 freezer), so each backend
   adds it here. */
typedef struct rt_cgroup_ops_ext
{
  int (*kill_all) (const char *path, stack_error_t **err);
} rt_cgroup_ops_ext_t;

extern const rt_cgroup_ops_ext_t rt_cgroup_v1_ext;
extern const rt_cgroup_ops_ext_t rt_cgroup_v2_ext;

/* The v2 hierarchy's mount point: STACK_CGROUP_V2_ROOT or /sys/fs/cgroup. */
const char *rt_cg_v2_root (void);

/* ---- helpers in cgroup.c ---- */

/* Write value to dir/file; the error names both:
   write `1073741824` to `/sys/fs/cgroup/memory/stack/p/c/memory.limit_in_bytes`: ... */
int rt_cg_write (const char *dir, const char *file, const char *value, stack_error_t **err);
int rt_cg_writef (const char *dir, const char *file, stack_error_t **err, const char *fmt, ...)
    PRINTF_LIKE (4, 5);
/* Read dir/file whole (NUL-terminated). */
int rt_cg_read (const char *dir, const char *file, char **out, stack_error_t **err);
bool rt_cg_exists (const char *dir, const char *file);
/* A number from dir/file: the whole file when key is NULL, else the value of
   the line "key N". "max" reads as UINT64_MAX. A missing file reads as 0. */
int rt_cg_read_u64 (const char *dir, const char *file, const char *key, uint64_t *out,
                    stack_error_t **err);
/* The pids in dir/cgroup.procs. */
int rt_cg_read_procs (const char *dir, pid_t **pids, size_t *n, stack_error_t **err);
/* SIGKILL every pid of dir/cgroup.procs; *n_seen gets how many there were.
   A missing directory counts as empty. */
int rt_cg_kill_procs (const char *dir, size_t *n_seen, stack_error_t **err);

/* mkdir root/path component by component. After each level exists,
   level_ready (parent, dir, data) runs (v2 enables controllers in the parent,
   v1 copies cpuset.cpus/mems down). *first_new gets the number of leading
   components that already existed, for rt_cg_rmdirs on failure. */
typedef int (*rt_cg_level_fn) (const char *parent, const char *dir, void *data,
                               stack_error_t **err);
int rt_cg_mkdirs (const char *root, const char *path, rt_cg_level_fn level_ready, void *data,
                  size_t *first_new, stack_error_t **err);
/* rmdir root/path and its parents while more than `keep` components remain
   (best effort: undoes rt_cg_mkdirs after a failure). */
void rt_cg_rmdirs (const char *root, const char *path, size_t keep);
/* rmdir one cgroup: ENOENT is success; EBUSY while it has no child cgroup
   means its last processes are still exiting: retried every 10 ms while
   *retries (shared by the calls of one destroy) lasts. */
#define RT_CG_RMDIR_RETRIES 100
int rt_cg_rmdir (const char *dir, int *retries, stack_error_t **err);

void rt_cg_sleep_ms (unsigned ms);

/* A string limit is set when non-empty: "" would empty a cpuset. */
static inline bool
rt_cg_set (const char *s)
{
  return s != NULL && *s != '\0';
}

#endif
