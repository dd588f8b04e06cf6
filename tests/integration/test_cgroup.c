/* test_cgroup.c — rt_cgroup_* against the real kernel (root).

   Three flavours, each test skipping the ones the host lacks:
     v1          the host's v1 controllers (auto-detected);
     v2-unified  STACK_CGROUP=v2 on the hybrid host's empty cgroup2 mount
                 (STACK_CGROUP_V2_ROOT=/sys/fs/cgroup/unified): no
                 controllers, but mkdir, cgroup.procs, cgroup.kill, cpu.stat;
     v2-native   /sys/fs/cgroup is cgroup2 with cpu, memory and pids.
   Cgroups are "stack/it-cg-<pid>-<n>/..."; the teardown kills, reaps and
   removes them whether the test passed or not. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it-helpers.h"

enum flavour
{
  V1,
  V2_UNIFIED,
  V2_NATIVE
};

typedef struct fx
{
  enum flavour flavour;
  char *base;    /* "stack/it-cg-<pid>-<n>" */
  char *leaf[4]; /* cgroups to kill and destroy in the teardown */
  pid_t kids[4]; /* direct children not reaped yet */
} fx_t;

static const char *const v1_names[]
    = { "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "freezer", "devices" };
static int counter;

static bool
is_cgroup2 (const char *path)
{
  struct statfs sfs;
  return statfs (path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

static char *
slurp (const char *path)
{
  stack_error_t *err = NULL;
  char *text = NULL;

  if (read_file (path, &text, NULL, &err) < 0)
    {
      stack_error_free (&err);
      return NULL;
    }
  return text;
}

static void
set_env (enum flavour f)
{
  unsetenv ("STACK_CGROUP");
  unsetenv ("STACK_CGROUP_V2_ROOT");
  if (f == V2_UNIFIED)
    {
      setenv ("STACK_CGROUP", "v2", 1);
      setenv ("STACK_CGROUP_V2_ROOT", "/sys/fs/cgroup/unified", 1);
    }
}

static int
setup (void **state, enum flavour f)
{
  fx_t *fx = xzalloc (sizeof *fx);

  fx->flavour = f;
  fx->base = xasprintf ("stack/it-cg-%d-%d", (int) getpid (), counter++);
  set_env (f);
  *state = fx;
  return 0;
}

static int
setup_v1 (void **s)
{
  return setup (s, V1);
}
static int
setup_v2u (void **s)
{
  return setup (s, V2_UNIFIED);
}
static int
setup_v2n (void **s)
{
  return setup (s, V2_NATIVE);
}

/* Skip unless root on a host that has this flavour. */
static void
require (fx_t *fx)
{
  cleanup_free char *ctrls = NULL;
  bool v2 = is_cgroup2 ("/sys/fs/cgroup");

  it_require_root ();
  if (fx->flavour == V1 && v2)
    skip ();
  if (fx->flavour == V2_UNIFIED && (v2 || !is_cgroup2 ("/sys/fs/cgroup/unified")))
    skip ();
  if (fx->flavour == V2_NATIVE
      && (!v2 || !(ctrls = slurp ("/sys/fs/cgroup/cgroup.controllers")) || !strstr (ctrls, "memory")
          || !strstr (ctrls, "pids") || !strstr (ctrls, "cpu")))
    skip ();
}

/* A cgroup below the test's base, destroyed by the teardown. */
static const char *
leaf (fx_t *fx, const char *name)
{
  size_t i;

  for (i = 0; i < ARRAY_SIZE (fx->leaf) && fx->leaf[i]; i++)
    ;
  assert_true (i < ARRAY_SIZE (fx->leaf));
  fx->leaf[i] = xasprintf ("%s/%s", fx->base, name);
  return fx->leaf[i];
}

/* The file of a cgroup in the hierarchy holding ctrl (v2: the one). */
static char *
cg_file (fx_t *fx, const char *ctrl, const char *cg, const char *file)
{
  const char *root = fx->flavour == V2_UNIFIED ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup";

  if (fx->flavour == V1)
    return xasprintf ("/sys/fs/cgroup/%s/%s%s%s", ctrl ? ctrl : "", cg, file ? "/" : "",
                      file ? file : "");
  return xasprintf ("%s/%s%s%s", root, cg, file ? "/" : "", file ? file : "");
}

static void
assert_file (fx_t *fx, const char *ctrl, const char *cg, const char *file, const char *want)
{
  cleanup_free char *path = cg_file (fx, ctrl, cg, file);
  cleanup_free char *got = slurp (path);

  if (got == NULL || strcmp (got, want) != 0)
    fail_msg ("%s: want `%s`, got `%s`", path, want, got ? got : "(unreadable)");
}

/* Does cg exist in every hierarchy (want) or in none (!want)? */
static void
assert_exists (fx_t *fx, const char *cg, bool want)
{
  size_t i, n = fx->flavour == V1 ? ARRAY_SIZE (v1_names) : 1;
  struct stat st;

  for (i = 0; i < n; i++)
    {
      cleanup_free char *mount = xasprintf ("/sys/fs/cgroup/%s", v1_names[i]);
      cleanup_free char *path = cg_file (fx, v1_names[i], cg, NULL);
      if (fx->flavour == V1 && stat (mount, &st) < 0)
        continue;
      if ((stat (path, &st) == 0) != want)
        fail_msg ("%s: %s", path, want ? "missing" : "still there");
    }
}

static int
teardown (void **state)
{
  fx_t *fx = *state;
  stack_error_t *err = NULL;
  size_t i;

  set_env (fx->flavour);
  for (i = 0; i < ARRAY_SIZE (fx->kids); i++)
    if (fx->kids[i] > 0)
      {
        kill (fx->kids[i], SIGKILL);
        waitpid (fx->kids[i], NULL, 0);
      }
  for (i = 0; i < ARRAY_SIZE (fx->leaf) && fx->leaf[i]; i++)
    {
      if (rt_cgroup_kill_all (fx->leaf[i], &err) < 0
          || rt_cgroup_destroy (fx->leaf[i], "stack", &err) < 0)
        fprintf (stderr, "teardown %s: %s\n", fx->leaf[i], err->msg);
      stack_error_free (&err);
      free (fx->leaf[i]);
    }
  /* zombies handed to us as subreaper by a test that failed half-way */
  while (waitpid (-1, NULL, WNOHANG) > 0)
    ;
  prctl (PR_SET_CHILD_SUBREAPER, 0);
  unsetenv ("STACK_CGROUP");
  unsetenv ("STACK_CGROUP_V2_ROOT");
  free (fx->base);
  free (fx);
  return 0;
}

/* ---- children ---- */

static void
body_sleep (int report)
{
  (void) report;
  for (;;)
    pause ();
}

static long long
cpu_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Burn 30 ms of CPU inside the cgroup (what ran before the move is not its),
   say so, sleep. */
static void
body_spin (int report)
{
  long long start = cpu_ns ();

  while (cpu_ns () - start < 30 * 1000000LL)
    ;
  (void) !write (report, "x", 1);
  body_sleep (report);
}

static void
report_self (int report)
{
  pid_t me = getpid ();
  (void) !write (report, &me, sizeof me);
}

/* child → 3 grandchildren, the first of which forks once more; all report
   their pid and sleep. */
static void
body_tree (int report)
{
  int i;

  for (i = 0; i < 3; i++)
    if (fork () == 0)
      {
        if (i == 0 && fork () == 0)
          {
            report_self (report);
            body_sleep (report);
          }
        report_self (report);
        body_sleep (report);
      }
  report_self (report);
  body_sleep (report);
}

/* Touch 64 MiB, page by page; say so if we are still alive. */
static void
body_hog (int report)
{
  size_t size = 64u << 20, i;
  volatile char *p = malloc (size);

  if (p == NULL)
    _exit (3);
  for (i = 0; i < size; i += 4096)
    p[i] = 1;
  (void) !write (report, "x", 1);
  _exit (0);
}

/* With pids.max 2: the first fork works, the second gets EAGAIN (42). */
static void
body_fork_twice (int report)
{
  pid_t a, b;
  int e;

  (void) report;
  a = fork ();
  if (a == 0)
    body_sleep (report);
  b = fork ();
  e = errno;
  if (b == 0)
    _exit (0);
  if (a > 0)
    {
      kill (a, SIGKILL);
      waitpid (a, NULL, 0);
    }
  if (b > 0)
    waitpid (b, NULL, 0);
  _exit (a > 0 && b < 0 && e == EAGAIN ? 42 : 43);
}

/* Fork body into cgroup cg: the child waits until it has been added.
   Returns the pid; *report gets the read end of the child's report pipe. */
static pid_t
spawn_in (fx_t *fx, const char *cg, void (*body) (int), int *report)
{
  stack_error_t *err = NULL;
  int go[2], rep[2];
  size_t i;
  pid_t pid;
  char c;

  assert_int_equal (pipe2 (go, O_CLOEXEC), 0);
  assert_int_equal (pipe2 (rep, O_CLOEXEC), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      close (go[1]);
      close (rep[0]);
      if (read (go[0], &c, 1) != 1)
        _exit (2);
      body (rep[1]);
      _exit (0);
    }
  for (i = 0; i < ARRAY_SIZE (fx->kids) && fx->kids[i]; i++)
    ;
  assert_true (i < ARRAY_SIZE (fx->kids));
  fx->kids[i] = pid;
  close (go[0]);
  close (rep[1]);
  if (rt_cgroup_add_pid (cg, pid, &err) < 0)
    fail_msg ("add_pid: %s", err->msg);
  assert_int_equal (write (go[1], "g", 1), 1);
  close (go[1]);
  if (report)
    *report = rep[0];
  else
    close (rep[0]);
  return pid;
}

/* Reap a direct child within 10 s and forget it. */
static int
reap (fx_t *fx, pid_t pid)
{
  int status = -1, i;
  size_t k;

  for (i = 0; i < 1000 && waitpid (pid, &status, WNOHANG) == 0; i++)
    usleep (10000);
  assert_true (i < 1000);
  for (k = 0; k < ARRAY_SIZE (fx->kids); k++)
    if (fx->kids[k] == pid)
      fx->kids[k] = 0;
  return status;
}

static void
create_ok (const char *cg, const rt_limits_t *l)
{
  stack_error_t *err = NULL;

  if (rt_cgroup_create (cg, l, &err) < 0)
    fail_msg ("create %s: %s", cg, err->msg);
}

static void
assert_pids (const char *cg, const pid_t *want, size_t n_want)
{
  stack_error_t *err = NULL;
  cleanup_free pid_t *pids = NULL;
  size_t n, i;

  if (rt_cgroup_pids (cg, &pids, &n, &err) < 0)
    fail_msg ("pids %s: %s", cg, err->msg);
  assert_int_equal (n, n_want);
  for (i = 0; i < n; i++)
    assert_int_equal (pids[i], want[i]);
}

/* ---- tests ---- */

static void
test_detect_and_force (void **state)
{
  stack_error_t *err = NULL;
  (void) state;

  /* the hybrid host (v1 + an empty cgroup2 at /sys/fs/cgroup/unified) is v1 */
  assert_string_equal (rt_cgroup_version (), is_cgroup2 ("/sys/fs/cgroup") ? "v2" : "v1");
  setenv ("STACK_CGROUP", "v2", 1);
  assert_string_equal (rt_cgroup_version (), "v2");
  setenv ("STACK_CGROUP", "v1", 1);
  assert_string_equal (rt_cgroup_version (), "v1");
  setenv ("STACK_CGROUP", "v3", 1);
  assert_string_equal (rt_cgroup_version (), "none");
  assert_int_equal (rt_cgroup_create ("stack/never", NULL, &err), -1);
  assert_string_equal (err->msg, "STACK_CGROUP=`v3`: expected `v1` or `v2`: Invalid argument");
  stack_error_free (&err);
}

static void
test_bad_paths (void **state)
{
  static const char *const bad[] = { "/stack/x", "stack/../x", "stack//x", "stack/x/", "", ".." };
  stack_error_t *err = NULL;
  size_t i;
  (void) state;

  for (i = 0; i < ARRAY_SIZE (bad); i++)
    {
      assert_int_equal (rt_cgroup_create (bad[i], NULL, &err), -1);
      assert_int_equal (err->status, EINVAL);
      stack_error_free (&err);
    }
  assert_int_equal (rt_cgroup_destroy ("stack/../../etc", "stack", &err), -1);
  assert_string_equal (err->msg, "cgroup path `stack/../../etc`: must be relative, without empty, "
                                 "`.` or `..` parts: Invalid argument");
  stack_error_free (&err);
  assert_int_equal (rt_cgroup_destroy ("stack/a/c", "stack/a/c", &err), -1);
  assert_string_equal (err->msg, "cgroup `stack/a/c` is not below `stack/a/c`: Invalid argument");
  stack_error_free (&err);
  assert_int_equal (rt_cgroup_destroy ("stack/ab/c", "stack/a", &err), -1);
  assert_int_equal (err->status, EINVAL);
  stack_error_free (&err);
}

static void
test_v1_limits_read_back (void **state)
{
  fx_t *fx = *state;
  rt_limits_t l = { .memory = 256 << 20,
                    .memory_swap = 512 << 20,
                    .memory_reservation = 64 << 20,
                    .cpus = 0.5,
                    .cpu_shares = 512,
                    .cpuset_cpus = "0",
                    .cpuset_mems = "0",
                    .pids = 10,
                    .io_weight = 500 };
  rt_cgroup_stats_t st;
  stack_error_t *err = NULL;
  cleanup_free char *root_cpus = slurp ("/sys/fs/cgroup/cpuset/cpuset.cpus");
  cleanup_free char *memsw = NULL, *bfq = NULL;
  const char *cg;

  require (fx);
  cg = leaf (fx, "c");
  create_ok (cg, &l);
  assert_exists (fx, cg, true);
  assert_file (fx, "memory", cg, "memory.limit_in_bytes", "268435456\n");
  memsw = cg_file (fx, "memory", cg, "memory.memsw.limit_in_bytes");
  if (access (memsw, F_OK) == 0)
    assert_file (fx, "memory", cg, "memory.memsw.limit_in_bytes", "536870912\n");
  assert_file (fx, "memory", cg, "memory.soft_limit_in_bytes", "67108864\n");
  assert_file (fx, "cpu", cg, "cpu.cfs_quota_us", "50000\n");
  assert_file (fx, "cpu", cg, "cpu.cfs_period_us", "100000\n");
  assert_file (fx, "cpu", cg, "cpu.shares", "512\n");
  assert_file (fx, "cpuset", cg, "cpuset.cpus", "0\n");
  assert_file (fx, "cpuset", cg, "cpuset.mems", "0\n");
  /* the v1 cpuset quirk: the parent got the root's cpus copied down */
  assert_file (fx, "cpuset", fx->base, "cpuset.cpus", root_cpus);
  assert_file (fx, "pids", cg, "pids.max", "10\n");
  bfq = cg_file (fx, "blkio", cg, "blkio.bfq.weight");
  if (access (bfq, F_OK) == 0)
    assert_file (fx, "blkio", cg, "blkio.bfq.weight", "500\n");

  if (rt_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("stats: %s", err->msg);
  assert_int_equal (st.memory_limit, 256 << 20);
  assert_int_equal (st.memory_bytes, 0);
  assert_int_equal (st.pids, 0);
  assert_int_equal (st.oom_kills, 0);
}

static void
test_v2_limits_read_back (void **state)
{
  fx_t *fx = *state;
  rt_limits_t l = { .memory = 256 << 20,
                    .memory_swap = 512 << 20,
                    .memory_reservation = 64 << 20,
                    .cpus = 0.5,
                    .cpu_shares = 512,
                    .pids = 10 };
  cleanup_free char *swap = NULL;
  const char *cg;

  require (fx);
  cg = leaf (fx, "c");
  create_ok (cg, &l);
  assert_file (fx, NULL, cg, "memory.max", "268435456\n");
  swap = cg_file (fx, NULL, cg, "memory.swap.max");
  if (access (swap, F_OK) == 0)
    assert_file (fx, NULL, cg, "memory.swap.max", "268435456\n");
  assert_file (fx, NULL, cg, "memory.low", "67108864\n");
  assert_file (fx, NULL, cg, "cpu.max", "50000 100000\n");
  /* 1 + (510 * 9999) / 262142 */
  assert_file (fx, NULL, cg, "cpu.weight", "20\n");
  assert_file (fx, NULL, cg, "pids.max", "10\n");
}

static void
test_add_pid_and_stats (void **state)
{
  fx_t *fx = *state;
  stack_error_t *err = NULL;
  rt_cgroup_stats_t st;
  cleanup_free char *want = NULL;
  const char *cg;
  int rep, status;
  size_t i;
  pid_t pid;
  char c;

  require (fx);
  cg = leaf (fx, "c");
  create_ok (cg, NULL);
  pid = spawn_in (fx, cg, body_spin, &rep);
  assert_int_equal (read (rep, &c, 1), 1);
  close (rep);

  want = xasprintf ("%d\n", (int) pid);
  for (i = 0; i < (fx->flavour == V1 ? ARRAY_SIZE (v1_names) : 1); i++)
    assert_file (fx, v1_names[i], cg, "cgroup.procs", want);
  assert_pids (cg, &pid, 1);

  if (rt_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("stats: %s", err->msg);
  if (st.cpu_usage_ns < 30 * 1000000ULL)
    fail_msg ("cpu_usage_ns %llu", (unsigned long long) st.cpu_usage_ns);
  assert_true (st.cpu_usage_ns < 10 * 1000000000ULL);
  /* the empty unified hierarchy has no pids controller */
  assert_int_equal (st.pids, fx->flavour == V2_UNIFIED ? 0 : 1);
  assert_int_equal (st.memory_limit, 0);
  assert_int_equal (st.oom_kills, 0);

  kill (pid, SIGKILL);
  status = reap (fx, pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  assert_pids (cg, NULL, 0);
}

static int
cmp_pid (const void *a, const void *b)
{
  return *(const pid_t *)a - *(const pid_t *)b;
}

static void
test_kill_all_tree (void **state)
{
  fx_t *fx = *state;
  stack_error_t *err = NULL;
  cleanup_free pid_t *listed = NULL;
  pid_t tree[5], pid;
  size_t n, i, reaped = 0;
  int rep, status, tries;
  const char *cg;

  require (fx);
  assert_int_equal (prctl (PR_SET_CHILD_SUBREAPER, 1), 0);
  cg = leaf (fx, "c");
  create_ok (cg, NULL);
  spawn_in (fx, cg, body_tree, &rep);
  for (i = 0; i < 5; i++)
    assert_int_equal (read (rep, &tree[i], sizeof tree[i]), sizeof tree[i]);
  close (rep);

  if (rt_cgroup_pids (cg, &listed, &n, &err) < 0)
    fail_msg ("pids: %s", err->msg);
  assert_int_equal (n, 5);
  qsort (listed, n, sizeof *listed, cmp_pid);
  qsort (tree, 5, sizeof *tree, cmp_pid);
  assert_memory_equal (listed, tree, sizeof tree);

  if (rt_cgroup_kill_all (cg, &err) < 0)
    fail_msg ("kill_all: %s", err->msg);
  assert_pids (cg, NULL, 0);
  /* all five come back to us (the child directly, the rest as their
     subreaper), each killed by SIGKILL */
  for (tries = 0; reaped < 5 && tries < 1000; tries++)
    {
      pid = waitpid (-1, &status, WNOHANG);
      if (pid <= 0)
        {
          usleep (10000);
          continue;
        }
      assert_non_null (bsearch (&pid, tree, 5, sizeof *tree, cmp_pid));
      assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
      reaped++;
    }
  assert_int_equal (reaped, 5);
  memset (fx->kids, 0, sizeof fx->kids);
}

static void
test_oom_kill_counted (void **state)
{
  fx_t *fx = *state;
  rt_limits_t l = { .memory = 16 << 20, .memory_swap = 16 << 20 };
  stack_error_t *err = NULL;
  rt_cgroup_stats_t st;
  const char *cg;
  int rep, status;
  pid_t pid;
  char c;

  require (fx);
  cg = leaf (fx, "c");
  create_ok (cg, &l);
  pid = spawn_in (fx, cg, body_hog, &rep);
  status = reap (fx, pid);
  assert_int_equal (read (rep, &c, 1), 0); /* never got through its 64 MiB */
  close (rep);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  if (rt_cgroup_stats (cg, &st, &err) < 0)
    fail_msg ("stats: %s", err->msg);
  assert_int_equal (st.oom_kills, 1);
  assert_int_equal (st.memory_limit, 16 << 20);
}

static void
test_pids_limit (void **state)
{
  fx_t *fx = *state;
  rt_limits_t l = { .pids = 2 };
  const char *cg;
  int status;
  pid_t pid;

  require (fx);
  cg = leaf (fx, "c");
  create_ok (cg, &l);
  assert_file (fx, "pids", cg, "pids.max", "2\n");
  pid = spawn_in (fx, cg, body_fork_twice, NULL);
  status = reap (fx, pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 42);
}

static void
test_destroy_parents_and_idempotent (void **state)
{
  fx_t *fx = *state;
  stack_error_t *err = NULL;
  const char *a, *b, *x;
  cleanup_free char *xdir = NULL;

  require (fx);
  a = leaf (fx, "a");
  b = leaf (fx, "b");
  x = leaf (fx, "x/c");
  xdir = xasprintf ("%s/x", fx->base);
  create_ok (a, NULL);
  create_ok (b, NULL);
  create_ok (x, NULL);

  /* the parent keeps its other children */
  assert_int_equal (rt_cgroup_destroy (a, "stack", &err), 0);
  assert_exists (fx, a, false);
  assert_exists (fx, fx->base, true);
  assert_int_equal (rt_cgroup_destroy (a, "stack", &err), 0);
  /* no stop_at: the leaf alone */
  assert_int_equal (rt_cgroup_destroy (x, NULL, &err), 0);
  assert_exists (fx, x, false);
  assert_exists (fx, xdir, true);
  /* up to, not including, stop_at (the leaf is gone already: no matter) */
  assert_int_equal (rt_cgroup_destroy (x, fx->base, &err), 0);
  assert_exists (fx, xdir, false);
  assert_exists (fx, fx->base, true);
  /* the last one takes the empty parent; "stack" stays */
  assert_int_equal (rt_cgroup_destroy (b, "stack", &err), 0);
  assert_exists (fx, fx->base, false);
  assert_exists (fx, "stack", true);
  assert_int_equal (rt_cgroup_destroy (b, "stack", &err), 0);
  assert_null (err);
}

static void
test_destroy_busy (void **state)
{
  fx_t *fx = *state;
  stack_error_t *err = NULL;
  cleanup_free char *tail = NULL;
  const char *cg;
  int status;
  pid_t pid;

  require (fx);
  cg = leaf (fx, "c");
  create_ok (cg, NULL);
  pid = spawn_in (fx, cg, body_sleep, NULL);
  assert_int_equal (rt_cgroup_destroy (cg, "stack", &err), -1);
  assert_int_equal (err->status, EBUSY);
  tail = xasprintf ("/%s`: Device or resource busy", cg);
  assert_true (str_has_prefix (err->msg, fx->flavour == V1 ? "rmdir `/sys/fs/cgroup/"
                                                           : "rmdir `/sys/fs/cgroup/unified/"));
  assert_true (str_has_suffix (err->msg, tail));
  stack_error_free (&err);
  assert_exists (fx, cg, true);

  if (rt_cgroup_kill_all (cg, &err) < 0)
    fail_msg ("kill_all: %s", err->msg);
  status = reap (fx, pid);
  assert_true (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
  assert_int_equal (rt_cgroup_destroy (cg, "stack", &err), 0);
  assert_exists (fx, fx->base, false);
}

static void
test_v1_error_names_file (void **state)
{
  fx_t *fx = *state;
  rt_limits_t l = { .cpuset_cpus = "99" };
  stack_error_t *err = NULL;
  cleanup_free char *want = NULL;
  const char *cg;

  require (fx);
  cg = leaf (fx, "c");
  assert_int_equal (rt_cgroup_create (cg, &l, &err), -1);
  want = xasprintf (
      "write `99` to `/sys/fs/cgroup/cpuset/%s/cpuset.cpus`: Numerical result out of range", cg);
  assert_string_equal (err->msg, want);
  stack_error_free (&err);
  /* undone: nothing of ours left in any hierarchy */
  assert_exists (fx, fx->base, false);
}

/* The hierarchies come from mountinfo, not from names: in a mount namespace
   of its own, a child mounts only the memory hierarchy, at an odd place. */
static void
test_v1_mounts_from_mountinfo (void **state)
{
  fx_t *fx = *state;
  rt_limits_t mem = { .memory = 32 << 20 }, few = { .pids = 5 };
  stack_error_t *err = NULL;
  cleanup_free char *cpu_dir = NULL;
  char out[512] = "";
  const char *cg;
  int p[2], status;
  ssize_t n, got = 0;
  pid_t pid;

  require (fx);
  cg = leaf (fx, "c");
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      close (p[0]);
      if (unshare (CLONE_NEWNS) < 0 || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
          || mount ("tmpfs", "/sys/fs/cgroup", "tmpfs", 0, "mode=755") < 0
          || mkdir ("/sys/fs/cgroup/odd-place", 0755) < 0
          || mount ("cgroup", "/sys/fs/cgroup/odd-place", "cgroup", 0, "memory") < 0)
        _exit (10);
      if (rt_cgroup_create (cg, &few, &err) < 0)
        dprintf (p[1], "%s\n", err->msg);
      stack_error_free (&err);
      if (rt_cgroup_create (cg, &mem, &err) < 0)
        dprintf (p[1], "%s\n", err->msg);
      else
        dprintf (p[1], "ok\n");
      _exit (0);
    }
  close (p[1]);
  while ((n = read (p[0], out + got, sizeof out - 1 - (size_t) got)) > 0)
    got += n;
  close (p[0]);
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_string_equal (out,
                       "cgroup v1 controller `pids` is not mounted: Operation not supported\nok\n");
  /* the same hierarchy the host sees at /sys/fs/cgroup/memory */
  assert_file (fx, "memory", cg, "memory.limit_in_bytes", "33554432\n");
  cpu_dir = cg_file (fx, "cpu", cg, NULL);
  assert_int_equal (access (cpu_dir, F_OK), -1);
}

static void
test_v2_missing_controller (void **state)
{
  fx_t *fx = *state;
  rt_limits_t l = { .memory = 16 << 20 };
  stack_error_t *err = NULL;
  cleanup_free char *want = NULL;
  const char *cg;

  require (fx);
  cg = leaf (fx, "c");
  assert_int_equal (rt_cgroup_create (cg, &l, &err), -1);
  want = xasprintf ("cgroup v2 controller `memory` is not available in "
                    "`/sys/fs/cgroup/unified/%s`: Operation not supported",
                    cg);
  assert_string_equal (err->msg, want);
  stack_error_free (&err);
  assert_exists (fx, fx->base, false);

  /* forcing v2 where /sys/fs/cgroup is no cgroup2 is refused up front */
  unsetenv ("STACK_CGROUP_V2_ROOT");
  assert_int_equal (rt_cgroup_create (cg, NULL, &err), -1);
  assert_string_equal (err->msg,
                       "`/sys/fs/cgroup` is not a cgroup2 mount: Operation not supported");
  stack_error_free (&err);
}

/* one name per flavour, so that a failure says which */
#define T(fn, flavour)                                                                             \
  {                                                                                                \
#fn "/" #flavour, fn, setup_##flavour, teardown, NULL                                          \
  }

int
main (void)
{
  const struct CMUnitTest tests[] = {
    T (test_detect_and_force, v1),
    T (test_bad_paths, v1),
    T (test_v1_limits_read_back, v1),
    T (test_v2_limits_read_back, v2n),
    T (test_add_pid_and_stats, v1),
    T (test_add_pid_and_stats, v2u),
    T (test_add_pid_and_stats, v2n),
    T (test_kill_all_tree, v1),
    T (test_kill_all_tree, v2u),
    T (test_kill_all_tree, v2n),
    T (test_oom_kill_counted, v1),
    T (test_oom_kill_counted, v2n),
    T (test_pids_limit, v1),
    T (test_pids_limit, v2n),
    T (test_destroy_parents_and_idempotent, v1),
    T (test_destroy_parents_and_idempotent, v2u),
    T (test_destroy_busy, v1),
    T (test_destroy_busy, v2u),
    T (test_v1_error_names_file, v1),
    T (test_v1_mounts_from_mountinfo, v1),
    T (test_v2_missing_controller, v2u),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
