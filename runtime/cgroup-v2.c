/* cgroup-v2.c — the unified hierarchy: one directory, <root>/<path>, where
   <root> is /sys/fs/cgroup (or STACK_CGROUP_V2_ROOT, see cgroup-internal.h).

   Every parent on the way gets the controllers we use enabled in its
   cgroup.subtree_control (those its cgroup.controllers offers). As in v1, a
   swap limit is skipped when memory.swap.max is missing (no swap
   accounting), not refused. */
#include <errno.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "cgroup-internal.h"

static const char *const controllers[] = { "cpu", "memory", "pids", "io", "cpuset" };

static bool
word_in (const char *list, const char *word)
{
  size_t len = strlen (word);
  const char *p;

  for (p = list; (p = strstr (p, word)); p += len)
    if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\n' || p[len] == '\0'))
      return true;
  return false;
}

/* Ask for each controller on its own: one that cannot be enabled (cpu with
   realtime tasks about, say) must not keep the others away. Whether the
   ones the limits need arrived is checked on the leaf afterwards. */
static int
enable_controllers (const char *parent, const char *dir, void *data, stack_error_t **err)
{
  cleanup_free char *avail = NULL, *enabled = NULL;
  stack_error_t *ignored = NULL;
  size_t i;

  (void) dir, (void) data;
  if (rt_cg_read (parent, "cgroup.controllers", &avail, err) < 0
      || rt_cg_read (parent, "cgroup.subtree_control", &enabled, err) < 0)
    return -1;
  for (i = 0; i < ARRAY_SIZE (controllers); i++)
    if (word_in (avail, controllers[i]) && !word_in (enabled, controllers[i]))
      {
        rt_cg_writef (parent, "cgroup.subtree_control", &ignored, "+%s", controllers[i]);
        stack_error_free (&ignored);
      }
  return 0;
}

static int
check_controllers (const char *dir, const rt_limits_t *l, stack_error_t **err)
{
  cleanup_free char *avail = NULL;
  bool need[ARRAY_SIZE (controllers)];
  size_t i;

  need[0] = l->cpus > 0 || l->cpu_shares > 0;
  need[1] = l->memory > 0 || l->memory_swap != 0 || l->memory_reservation > 0;
  need[2] = l->pids != 0;
  need[3] = l->io_weight > 0;
  need[4] = rt_cg_set (l->cpuset_cpus) || rt_cg_set (l->cpuset_mems);
  if (rt_cg_read (dir, "cgroup.controllers", &avail, err) < 0)
    return -1;
  for (i = 0; i < ARRAY_SIZE (controllers); i++)
    if (need[i] && !word_in (avail, controllers[i]))
      return stack_error_make (err, ENOTSUP, "cgroup v2 controller `%s` is not available in `%s`",
                               controllers[i], dir);
  return 0;
}

static int
write_limits (const char *dir, const rt_limits_t *l, stack_error_t **err)
{
  if (l->memory > 0 && rt_cg_writef (dir, "memory.max", err, "%lld", (long long) l->memory) < 0)
    return -1;
  /* v2 limits swap alone; the spec's memory_swap is memory + swap */
  if (l->memory_swap != 0 && rt_cg_exists (dir, "memory.swap.max")
      && (l->memory_swap < 0 ? rt_cg_write (dir, "memory.swap.max", "max", err)
                             : rt_cg_writef (dir, "memory.swap.max", err, "%lld",
                                             (long long) (l->memory_swap - l->memory)))
             < 0)
    return -1;
  if (l->memory_reservation > 0
      && rt_cg_writef (dir, "memory.low", err, "%lld", (long long) l->memory_reservation) < 0)
    return -1;
  if (l->cpus > 0
      && rt_cg_writef (dir, "cpu.max", err, "%lld 100000", (long long) (l->cpus * 100000 + 0.5)) < 0)
    return -1;
  /* shares 2..262144 onto weight 1..10000, the formula of runc and crun */
  if (l->cpu_shares > 0
      && rt_cg_writef (dir, "cpu.weight", err, "%llu",
                       (unsigned long long) (1 + ((l->cpu_shares - 2) * 9999) / 262142))
             < 0)
    return -1;
  if (rt_cg_set (l->cpuset_cpus) && rt_cg_write (dir, "cpuset.cpus", l->cpuset_cpus, err) < 0)
    return -1;
  if (rt_cg_set (l->cpuset_mems) && rt_cg_write (dir, "cpuset.mems", l->cpuset_mems, err) < 0)
    return -1;
  if (l->pids != 0
      && (l->pids < 0 ? rt_cg_write (dir, "pids.max", "max", err)
                      : rt_cg_writef (dir, "pids.max", err, "%lld", (long long) l->pids))
             < 0)
    return -1;
  if (l->io_weight > 0)
    {
      /* BFQ takes the blkio range as it is; io.weight (iocost) is 1..10000 */
      if (rt_cg_exists (dir, "io.bfq.weight"))
        return rt_cg_writef (dir, "io.bfq.weight", err, "%u", l->io_weight);
      return rt_cg_writef (dir, "io.weight", err, "default %u",
                           1 + ((unsigned) l->io_weight - 10) * 9999 / 990);
    }
  return 0;
}

static int
v2_create (const char *path, const rt_limits_t *l, stack_error_t **err)
{
  const char *root = rt_cg_v2_root ();
  cleanup_free char *dir = xasprintf ("%s/%s", root, path);
  struct statfs sfs;
  size_t first_new;

  if (statfs (root, &sfs) < 0)
    return stack_error_make (err, errno, "statfs `%s`", root);
  if (sfs.f_type != CGROUP2_SUPER_MAGIC)
    return stack_error_make (err, ENOTSUP, "`%s` is not a cgroup2 mount", root);
  if (rt_cg_mkdirs (root, path, enable_controllers, NULL, &first_new, err) < 0)
    return -1;
  if (check_controllers (dir, l, err) == 0 && write_limits (dir, l, err) == 0)
    return 0;
  rt_cg_rmdirs (root, path, first_new);
  return -1;
}

static int
v2_add_pid (const char *path, pid_t pid, stack_error_t **err)
{
  cleanup_free char *dir = xasprintf ("%s/%s", rt_cg_v2_root (), path);

  return rt_cg_writef (dir, "cgroup.procs", err, "%d", (int) pid);
}

static int
v2_pids (const char *path, pid_t **pids, size_t *n, stack_error_t **err)
{
  cleanup_free char *dir = xasprintf ("%s/%s", rt_cg_v2_root (), path);

  return rt_cg_read_procs (dir, pids, n, err);
}

static int
v2_destroy (const char *path, stack_error_t **err)
{
  cleanup_free char *dir = xasprintf ("%s/%s", rt_cg_v2_root (), path);
  int retries = RT_CG_RMDIR_RETRIES;

  return rt_cg_rmdir (dir, &retries, err);
}

static int
v2_kill_all (const char *path, stack_error_t **err)
{
  cleanup_free char *dir = xasprintf ("%s/%s", rt_cg_v2_root (), path);
  stack_error_t *ignored = NULL;
  bool cgroup_kill, freezer;
  size_t n;
  int round, ret;

  if (!rt_cg_exists (dir, NULL))
    return 0;
  /* Linux 5.14: one write kills the whole subtree, forks included */
  cgroup_kill = rt_cg_exists (dir, "cgroup.kill");
  freezer = !cgroup_kill && rt_cg_exists (dir, "cgroup.freeze");
  for (round = 0; round < 500; round++)
    {
      if (cgroup_kill)
        {
          cleanup_free pid_t *pids = NULL;
          /* again each round: cheap, and catches anything moved in since */
          ret = rt_cg_write (dir, "cgroup.kill", "1", err);
          if (ret == 0)
            ret = rt_cg_read_procs (dir, &pids, &n, err);
          if (ret < 0 && (*err)->status == ENOENT)
            {
              stack_error_free (err);
              return 0;
            }
        }
      else
        {
          /* older kernels: freeze (5.2+) so nothing forks behind our back,
             kill what is listed, thaw so the kills land */
          if (freezer)
            rt_cg_write (dir, "cgroup.freeze", "1", &ignored);
          ret = rt_cg_kill_procs (dir, &n, err);
          if (freezer)
            rt_cg_write (dir, "cgroup.freeze", "0", &ignored);
          stack_error_free (&ignored);
        }
      if (ret < 0)
        return -1;
      if (n == 0)
        return 0;
      rt_cg_sleep_ms (10);
    }
  return stack_error_make (err, EBUSY, "cgroup `%s`: processes survive SIGKILL", dir);
}

static int
v2_stats (const char *path, rt_cgroup_stats_t *out, stack_error_t **err)
{
  cleanup_free char *dir = xasprintf ("%s/%s", rt_cg_v2_root (), path);
  uint64_t usec = 0;

  if (!rt_cg_exists (dir, NULL))
    return stack_error_make (err, ENOENT, "cgroup `%s`", dir);
  if (rt_cg_read_u64 (dir, "cpu.stat", "usage_usec", &usec, err) < 0
      || rt_cg_read_u64 (dir, "memory.current", NULL, &out->memory_bytes, err) < 0
      || rt_cg_read_u64 (dir, "memory.max", NULL, &out->memory_limit, err) < 0
      || rt_cg_read_u64 (dir, "pids.current", NULL, &out->pids, err) < 0
      /* counts the subtree too, unless mounted with memory_localevents */
      || rt_cg_read_u64 (dir, "memory.events", "oom_kill", &out->oom_kills, err) < 0)
    return -1;
  out->cpu_usage_ns = usec * 1000;
  if (out->memory_limit == UINT64_MAX)
    out->memory_limit = 0;
  return 0;
}

const rt_cgroup_ops_t rt_cgroup_v2_ops = {
  .name = "v2",
  .create = v2_create,
  .add_pid = v2_add_pid,
  .pids = v2_pids,
  .destroy = v2_destroy,
  .stats = v2_stats,
};

const rt_cgroup_ops_ext_t rt_cgroup_v2_ext = {
  .kill_all = v2_kill_all,
};
