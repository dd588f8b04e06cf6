/* cgroup-v1.c — one directory per controller hierarchy.

   The hierarchies are the cgroup v1 mounts under /sys/fs/cgroup listed in
   /proc/self/mountinfo (never guessed from names: cpu and cpuacct are often
   co-mounted as "cpu,cpuacct"). The container's cgroup is
   <mount>/<path> in each of them.

   Two limits are skipped, not refused, when the kernel cannot enforce them
   (the file is missing), as Docker and runc do: the swap limit
   (memory.memsw.*: swap accounting is off by default on Debian and Ubuntu)
   and the I/O weight (blkio.weight needs CFQ or BFQ). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-internal.h"

enum
{
  C_CPU,
  C_CPUACCT,
  C_CPUSET,
  C_MEMORY,
  C_PIDS,
  C_BLKIO,
  C_FREEZER,
  C_DEVICES,
  C_N
};

/* What we join; "devices" too, so that device rules can be written later. */
static const char *const names[C_N]
    = { "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "freezer", "devices" };

typedef struct layout
{
  char *mount[C_N]; /* one per hierarchy, NULL past n */
  size_t n;
  int of[C_N]; /* controller → index in mount[], -1: not mounted */
} layout_t;

static void
layout_free (layout_t *l)
{
  size_t i;

  for (i = 0; i < l->n; i++)
    {
      free (l->mount[i]);
      l->mount[i] = NULL;
    }
  l->n = 0;
}
#define cleanup_layout __attribute__ ((cleanup (layout_free)))

/* One mountinfo line:
   "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS" */
static void
add_mount (layout_t *l, char *line)
{
  char *sep = strstr (line, " - "), *save = NULL, *opt, *fstype, *super;
  char *field[5] = { NULL };
  unsigned mask = 0;
  size_t i;

  if (sep == NULL)
    return;
  *sep = '\0';
  field[0] = strtok_r (line, " ", &save);
  for (i = 1; i < 5 && field[i - 1]; i++)
    field[i] = strtok_r (NULL, " ", &save);
  fstype = strtok_r (sep + 3, " ", &save);
  (void) strtok_r (NULL, " ", &save); /* source */
  super = strtok_r (NULL, " ", &save);
  /* a later mount on /sys/fs/cgroup or above hides what was under it */
  if (field[4]
      && (strcmp (field[4], "/sys/fs/cgroup") == 0 || strcmp (field[4], "/sys/fs") == 0
          || strcmp (field[4], "/sys") == 0))
    {
      layout_free (l);
      for (i = 0; i < C_N; i++)
        l->of[i] = -1;
    }
  if (field[4] == NULL || fstype == NULL || super == NULL || strcmp (fstype, "cgroup") != 0
      || !str_has_prefix (field[4], "/sys/fs/cgroup/"))
    return;
  for (opt = strtok_r (super, ",", &save); opt; opt = strtok_r (NULL, ",", &save))
    for (i = 0; i < C_N; i++)
      if (strcmp (opt, names[i]) == 0)
        mask |= 1u << i;
  /* name=systemd and friends carry no controller; a second mount of a
     hierarchy we already have (a bind mount) adds nothing */
  for (i = 0; i < C_N; i++)
    if ((mask & (1u << i)) && l->of[i] >= 0)
      return;
  if (mask == 0)
    return;
  for (i = 0; i < C_N; i++)
    if (mask & (1u << i))
      l->of[i] = (int) l->n;
  l->mount[l->n++] = xstrdup (field[4]);
}

static int
layout_load (layout_t *l, stack_error_t **err)
{
  cleanup_free char *text = NULL;
  char *line, *save = NULL;
  size_t i;

  memset (l, 0, sizeof *l);
  for (i = 0; i < C_N; i++)
    l->of[i] = -1;
  if (read_file ("/proc/self/mountinfo", &text, NULL, err) < 0)
    return -1;
  for (line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    add_mount (l, line);
  if (l->n == 0)
    return stack_error_make (err, ENOTSUP,
                             "no cgroup v1 controller is mounted under /sys/fs/cgroup");
  return 0;
}

/* <mount of controller c>/<path>, or NULL when c is not mounted. */
static char *
dir_of (const layout_t *l, int c, const char *path)
{
  return l->of[c] < 0 ? NULL : xasprintf ("%s/%s", l->mount[l->of[c]], path);
}

/* v1 cpuset: a new cgroup starts with empty cpus and mems, and adding a task
   to it then fails with ENOSPC; copy the parent's down, level by level. */
static int
cpuset_copy_down (const char *parent, const char *dir, void *data, stack_error_t **err)
{
  static const char *const files[] = { "cpuset.cpus", "cpuset.mems" };
  size_t i;

  (void) data;
  for (i = 0; i < ARRAY_SIZE (files); i++)
    {
      cleanup_free char *mine = NULL, *theirs = NULL;

      if (rt_cg_read (dir, files[i], &mine, err) < 0)
        return -1;
      if (strspn (mine, " \n") != strlen (mine))
        continue;
      if (rt_cg_read (parent, files[i], &theirs, err) < 0
          || rt_cg_write (dir, files[i], theirs, err) < 0)
        return -1;
    }
  return 0;
}

static int
write_memory (const char *dir, const rt_limits_t *l, stack_error_t **err)
{
  bool memsw = l->memory_swap != 0 && rt_cg_exists (dir, "memory.memsw.limit_in_bytes");
  bool memsw_done = false;
  int ret;

  if (l->memory > 0)
    {
      ret = rt_cg_writef (dir, "memory.limit_in_bytes", err, "%lld", (long long) l->memory);
      /* the kernel keeps limit <= memsw limit: when an existing cgroup had a
         lower memsw limit, raise that first */
      if (ret < 0 && memsw && (*err)->status == EINVAL)
        {
          stack_error_free (err);
          ret = rt_cg_writef (dir, "memory.memsw.limit_in_bytes", err, "%lld",
                              (long long) l->memory_swap);
          if (ret == 0)
            ret = rt_cg_writef (dir, "memory.limit_in_bytes", err, "%lld", (long long) l->memory);
          memsw_done = true;
        }
      if (ret < 0)
        return -1;
    }
  if (memsw && !memsw_done
      && rt_cg_writef (dir, "memory.memsw.limit_in_bytes", err, "%lld", (long long) l->memory_swap)
             < 0)
    return -1;
  if (l->memory_reservation > 0
      && rt_cg_writef (dir, "memory.soft_limit_in_bytes", err, "%lld",
                       (long long) l->memory_reservation)
             < 0)
    return -1;
  return 0;
}

static int
write_limits (const layout_t *l, const char *path, const rt_limits_t *lim, stack_error_t **err)
{
  cleanup_free char *cpu = dir_of (l, C_CPU, path), *cpuset = dir_of (l, C_CPUSET, path);
  cleanup_free char *memory = dir_of (l, C_MEMORY, path), *pids = dir_of (l, C_PIDS, path);
  cleanup_free char *blkio = dir_of (l, C_BLKIO, path);

  if (memory && write_memory (memory, lim, err) < 0)
    return -1;
  if (lim->cpus > 0
      && (rt_cg_write (cpu, "cpu.cfs_period_us", "100000", err) < 0
          || rt_cg_writef (cpu, "cpu.cfs_quota_us", err, "%lld",
                           (long long) (lim->cpus * 100000 + 0.5))
                 < 0))
    return -1;
  if (lim->cpu_shares > 0
      && rt_cg_writef (cpu, "cpu.shares", err, "%llu", (unsigned long long) lim->cpu_shares) < 0)
    return -1;
  if (rt_cg_set (lim->cpuset_cpus)
      && rt_cg_write (cpuset, "cpuset.cpus", lim->cpuset_cpus, err) < 0)
    return -1;
  if (rt_cg_set (lim->cpuset_mems)
      && rt_cg_write (cpuset, "cpuset.mems", lim->cpuset_mems, err) < 0)
    return -1;
  if (lim->pids != 0
      && (lim->pids < 0 ? rt_cg_write (pids, "pids.max", "max", err)
                        : rt_cg_writef (pids, "pids.max", err, "%lld", (long long) lim->pids))
             < 0)
    return -1;
  if (lim->io_weight > 0 && blkio)
    {
      /* blkio.weight is CFQ's (gone since 5.0); BFQ has its own file */
      const char *file = rt_cg_exists (blkio, "blkio.weight")       ? "blkio.weight"
                         : rt_cg_exists (blkio, "blkio.bfq.weight") ? "blkio.bfq.weight"
                                                                    : NULL;
      if (file && rt_cg_writef (blkio, file, err, "%u", lim->io_weight) < 0)
        return -1;
    }
  return 0;
}

static int
v1_create (const char *path, const rt_limits_t *lim, stack_error_t **err)
{
  cleanup_layout layout_t l = { 0 };
  size_t first_new[C_N], i, done;
  int need[C_N] = { 0 };

  if (layout_load (&l, err) < 0)
    return -1;
  need[C_MEMORY] = lim->memory > 0 || lim->memory_swap != 0 || lim->memory_reservation > 0;
  need[C_CPU] = lim->cpus > 0 || lim->cpu_shares > 0;
  need[C_CPUSET] = rt_cg_set (lim->cpuset_cpus) || rt_cg_set (lim->cpuset_mems);
  need[C_PIDS] = lim->pids != 0;
  for (i = 0; i < C_N; i++)
    if (need[i] && l.of[i] < 0)
      return stack_error_make (err, ENOTSUP, "cgroup v1 controller `%s` is not mounted", names[i]);

  for (done = 0; done < l.n; done++)
    {
      bool cpuset = (int) done == l.of[C_CPUSET];
      if (rt_cg_mkdirs (l.mount[done], path, cpuset ? cpuset_copy_down : NULL, NULL,
                        &first_new[done], err)
          < 0)
        goto undo;
    }
  if (write_limits (&l, path, lim, err) == 0)
    return 0;
undo:
  for (i = 0; i < done; i++)
    rt_cg_rmdirs (l.mount[i], path, first_new[i]);
  return -1;
}

static int
v1_add_pid (const char *path, pid_t pid, stack_error_t **err)
{
  cleanup_layout layout_t l = { 0 };
  size_t i;

  if (layout_load (&l, err) < 0)
    return -1;
  for (i = 0; i < l.n; i++)
    {
      cleanup_free char *dir = xasprintf ("%s/%s", l.mount[i], path);
      if (rt_cg_writef (dir, "cgroup.procs", err, "%d", (int) pid) < 0)
        return -1;
    }
  return 0;
}

static int
v1_pids (const char *path, pid_t **pids, size_t *n, stack_error_t **err)
{
  cleanup_layout layout_t l = { 0 };
  cleanup_free char *dir = NULL;

  if (layout_load (&l, err) < 0)
    return -1;
  /* every process of ours is in every hierarchy; any one will do */
  dir = xasprintf ("%s/%s", l.mount[0], path);
  return rt_cg_read_procs (dir, pids, n, err);
}

static int
v1_destroy (const char *path, stack_error_t **err)
{
  cleanup_layout layout_t l = { 0 };
  stack_error_t *first = NULL, *e = NULL;
  int retries = RT_CG_RMDIR_RETRIES;
  size_t i;

  if (layout_load (&l, err) < 0)
    return -1;
  /* try every hierarchy, report the first failure */
  for (i = 0; i < l.n; i++)
    {
      cleanup_free char *dir = xasprintf ("%s/%s", l.mount[i], path);
      if (rt_cg_rmdir (dir, &retries, &e) < 0 && first == NULL)
        first = steal_pointer (&e);
      stack_error_free (&e);
    }
  if (first == NULL)
    return 0;
  stack_error_free (err);
  *err = first;
  return -1;
}

/* Freeze so that nothing forks between reading cgroup.procs and the kill
   (a fork bomb would otherwise outrun us); the SIGKILLs land on thaw. */
static void
freeze (const char *dir, const char *state)
{
  stack_error_t *err = NULL;
  int i;

  if (dir == NULL || rt_cg_write (dir, "freezer.state", state, &err) < 0)
    {
      stack_error_free (&err);
      return;
    }
  for (i = 0; i < 100 && strcmp (state, "FROZEN") == 0; i++)
    {
      cleanup_free char *now = NULL;
      if (rt_cg_read (dir, "freezer.state", &now, &err) < 0 || strcmp (now, "FROZEN\n") == 0)
        break;
      rt_cg_sleep_ms (1); /* FREEZING: a task is in an uninterruptible sleep */
    }
  stack_error_free (&err);
}

static int
v1_kill_all (const char *path, stack_error_t **err)
{
  cleanup_layout layout_t l = { 0 };
  cleanup_free char *freezer = NULL;
  size_t i, n, total;
  int round, ret;

  if (layout_load (&l, err) < 0)
    return -1;
  freezer = dir_of (&l, C_FREEZER, path);
  for (round = 0; round < 500; round++)
    {
      total = 0;
      ret = 0;
      freeze (freezer, "FROZEN");
      for (i = 0; i < l.n && ret == 0; i++)
        {
          cleanup_free char *dir = xasprintf ("%s/%s", l.mount[i], path);
          ret = rt_cg_kill_procs (dir, &n, err);
          total += n;
        }
      freeze (freezer, "THAWED");
      if (ret < 0)
        return -1;
      if (total == 0)
        return 0;
      rt_cg_sleep_ms (10);
    }
  return stack_error_make (err, EBUSY, "cgroup `%s`: processes survive SIGKILL", path);
}

static int
v1_stats (const char *path, rt_cgroup_stats_t *out, stack_error_t **err)
{
  cleanup_layout layout_t l = { 0 };
  cleanup_free char *cpuacct = NULL, *memory = NULL, *pids = NULL, *any = NULL;

  if (layout_load (&l, err) < 0)
    return -1;
  any = xasprintf ("%s/%s", l.mount[0], path);
  if (!rt_cg_exists (any, NULL))
    return stack_error_make (err, ENOENT, "cgroup `%s`", any);
  if ((cpuacct = dir_of (&l, C_CPUACCT, path))
      && rt_cg_read_u64 (cpuacct, "cpuacct.usage", NULL, &out->cpu_usage_ns, err) < 0)
    return -1;
  if ((memory = dir_of (&l, C_MEMORY, path))
      && (rt_cg_read_u64 (memory, "memory.usage_in_bytes", NULL, &out->memory_bytes, err) < 0
          || rt_cg_read_u64 (memory, "memory.limit_in_bytes", NULL, &out->memory_limit, err) < 0
          /* "oom_kill N" since Linux 4.13 */
          || rt_cg_read_u64 (memory, "memory.oom_control", "oom_kill", &out->oom_kills, err) < 0))
    return -1;
  /* "no limit" reads as LONG_MAX rounded down to a page: report 0 */
  if (out->memory_limit >= (UINT64_C (1) << 62))
    out->memory_limit = 0;
  if ((pids = dir_of (&l, C_PIDS, path))
      && rt_cg_read_u64 (pids, "pids.current", NULL, &out->pids, err) < 0)
    return -1;
  return 0;
}

const rt_cgroup_ops_t rt_cgroup_v1_ops = {
  .name = "v1",
  .create = v1_create,
  .add_pid = v1_add_pid,
  .pids = v1_pids,
  .destroy = v1_destroy,
  .stats = v1_stats,
};

const rt_cgroup_ops_ext_t rt_cgroup_v1_ext = {
  .kill_all = v1_kill_all,
};
