/* test_spawn.c — the container lifecycle: PID 1, namespaces, the process's
   identity and environment, exit statuses, errors of create and start, fds,
   the terminal and our init. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it-helpers.h"
#include "runtime-internal.h"

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* A failed assertion leaves the test by longjmp: the teardown then removes
   what the test had made (its scratch dir and cgroup, a live container). */
static it_t *tracked_it;
#define it_init(t, argv) (tracked_it = (t), it_init ((t), (argv)))
struct live;
static struct live *tracked_live;
static void live_abort (struct live *l);

static int
teardown (void **state)
{
  (void) state;
  if (tracked_live)
    live_abort (tracked_live);
  tracked_live = NULL;
  if (tracked_it && tracked_it->dir)
    it_free (tracked_it);
  tracked_it = NULL;
  return 0;
}

/* Run argv with the spec as adjusted by the caller; assert the output and
   a normal exit with `code`. */
static void
run_expect (it_t *t, const char *expected, int code)
{
  char *out = NULL;
  int status = it_run (t, &out);

  assert_string_equal (out, expected);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), code);
  free (out);
}

static void
simple (const char *const *argv, const char *expected, int code)
{
  static it_t t;

  it_require_root ();
  it_init (&t, argv);
  run_expect (&t, expected, code);
  it_free (&t);
}

/* ---- a running container we look at from outside ---- */

typedef struct live
{
  rt_container_t c;
  int out; /* read end of its stdout+stderr */
} live_t;

static void
live_abort (struct live *l)
{
  stack_error_t *err = NULL;

  if (l->c.pid > 0)
    {
      rt_container_kill (&l->c, SIGKILL, &err);
      stack_error_free (&err);
      waitpid (l->c.pid, NULL, 0);
    }
  rt_container_destroy (&l->c, &err);
  stack_error_free (&err);
  if (l->out >= 0)
    close (l->out);
  l->out = -1;
}

static void
live_start (it_t *t, live_t *l)
{
  stack_error_t *err = NULL;
  int p[2];

  l->c = (rt_container_t){ .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  l->out = -1;
  tracked_live = l;
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  t->spec.stdout_fd = t->spec.stderr_fd = p[1];
  if (rt_container_create (&t->spec, &l->c, &err) < 0 || rt_container_start (&l->c, &err) < 0)
    fail_msg ("%s", err->msg);
  close (p[1]);
  l->out = p[0];
}

/* Wait for the exit (at most `secs`), collect the output, destroy. */
static int
live_finish (live_t *l, int secs, char **out)
{
  stack_error_t *err = NULL;
  strbuf_t b = { 0 };
  struct pollfd pfd = { .fd = l->c.pidfd, .events = POLLIN };
  char buf[4096];
  ssize_t n;
  int status = -1;

  tracked_live = NULL;
  if (poll (&pfd, 1, secs * 1000) != 1)
    rt_container_kill (&l->c, SIGKILL, &err);
  stack_error_free (&err);
  assert_int_equal (waitpid (l->c.pid, &status, 0), l->c.pid);
  while ((n = read (l->out, buf, sizeof buf)) > 0)
    sb_put (&b, buf, (size_t) n);
  close (l->out);
  assert_int_equal (rt_container_destroy (&l->c, &err), 0);
  /* twice: idempotent */
  assert_int_equal (rt_container_destroy (&l->c, &err), 0);
  *out = sb_steal (&b);
  return status;
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* ---- PID 1, namespaces ---- */

static void
test_pid1_is_the_command (void **state)
{
  (void) state;
  /* sh is PID 1; ps sees only sh and itself */
  simple (ARGV ("/bin/sh", "-c", "echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; ps -o pid,comm; exit"),
          "1\n/bin/sh -c echo $$; tr '\\0' ' ' < /proc/1/cmdline; echo; ps -o pid,comm; exit \n"
          "PID   COMMAND\n    1 sh\n    3 ps\n",
          0);
}

static void
test_hostname_and_domainname (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "hostname; cat /proc/sys/kernel/domainname"));
  t.spec.hostname = "web";
  t.spec.domainname = "example.org";
  run_expect (&t, "web\nexample.org\n", 0);
  it_free (&t);
}

static void
test_env_exactly_as_given (void **state)
{
  static const char *const env[] = { "PATH=/bin", "A=1", "B=two words", "HOME=/elsewhere", NULL };
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("env"));
  t.spec.env = env;
  run_expect (&t, "PATH=/bin\nA=1\nB=two words\nHOME=/elsewhere\n", 0);
  it_free (&t);
}

static void
test_home_from_passwd (void **state)
{
  static const char *const env[] = { "PATH=/bin", NULL };
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("env"));
  t.spec.env = env;
  t.spec.user = "app";
  run_expect (&t, "PATH=/bin\nHOME=/home/app\n", 0);
  it_free (&t);
}

/* ---- users and groups ---- */

static void
run_as (const char *user, const char *const *group_add, const char *expected)
{
  static it_t t;

  it_require_root ();
  it_init (&t, ARGV ("id"));
  t.spec.user = user;
  t.spec.group_add = group_add;
  run_expect (&t, expected, 0);
  it_free (&t);
}

static void
test_user_by_name (void **state)
{
  (void) state;
  run_as ("app", NULL, "uid=1000(app) gid=1000(app) groups=10(wheel),1000(app)\n");
}

static void
test_user_by_numbers (void **state)
{
  (void) state;
  run_as ("1000:10", NULL, "uid=1000(app) gid=10(wheel) groups=10(wheel)\n");
  run_as ("app:nogroup", NULL, "uid=1000(app) gid=65534(nogroup) groups=65534(nogroup)\n");
  /* a uid without a passwd entry: gid 0 */
  run_as ("4242", NULL, "uid=4242 gid=0(root) groups=0(root)\n");
}

static void
test_root_by_default (void **state)
{
  (void) state;
  run_as (NULL, NULL, "uid=0(root) gid=0(root) groups=0(root)\n");
}

static void
test_group_add (void **state)
{
  (void) state;
  run_as ("app", ARGV ("nogroup", "42"),
          "uid=1000(app) gid=1000(app) groups=10(wheel),42,1000(app),65534(nogroup)\n");
}

static void
test_unknown_user_fails_start (void **state)
{
  static it_t t;
  char *out = NULL;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("id"));
  t.spec.user = "nosuch";
  assert_int_equal (it_run (&t, &out), -1);
  assert_string_equal (out, "start failed: unable to find user nosuch: no matching entries in passwd file");
  free (out);
  t.spec.user = "app:nosuch";
  assert_int_equal (it_run (&t, &out), -1);
  assert_string_equal (out,
                       "start failed: unable to find group nosuch: no matching entries in group file");
  free (out);
  it_free (&t);
}

/* ---- rlimits, sysctls, namespaces shared with the host ---- */

static void
test_rlimits (void **state)
{
  static it_t t;
  static const rt_rlimit_t rl[] = { { RLIMIT_NOFILE, 1024, 2048 }, { RLIMIT_CORE, 0, 0 } };
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "ulimit -n; ulimit -Hn; ulimit -c"));
  t.spec.rlimits = rl;
  t.spec.n_rlimits = 2;
  run_expect (&t, "1024\n2048\n0\n", 0);
  it_free (&t);
}

static void
test_sysctls (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  /* namespaced: our netns only; /proc/sys is read-only afterwards */
  it_init (&t, ARGV ("/bin/sh", "-c", "cat /proc/sys/net/ipv4/ip_unprivileged_port_start"));
  t.spec.sysctls = ARGV ("net.ipv4.ip_unprivileged_port_start=80");
  run_expect (&t, "80\n", 0);
  it_free (&t);
}

static void
test_host_net (void **state)
{
  static it_t t;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "ls /sys/class/net; grep -c ' /sys ' /proc/mounts"));
  run_expect (&t, "lo\n1\n", 0); /* our own netns, our own sysfs */
  t.spec.host_net = true;
  {
    /* the host's links, through a read-only bind of its /sys */
    char *out = NULL;
    int status = it_run (&t, &out);
    assert_true (WIFEXITED (status));
    assert_non_null (strstr (out, "lo\n"));
    assert_string_not_equal (out, "lo\n1\n");
    free (out);
  }
  it_free (&t);
}

/* ---- working directory ---- */

static void
test_working_dir (void **state)
{
  static it_t t;
  char *made;
  struct stat st;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("pwd"));
  t.spec.cwd = "/home/app";
  run_expect (&t, "/home/app\n", 0);
  /* missing: created, as Docker does, in the writable layer */
  t.spec.cwd = "/srv/new/dir";
  run_expect (&t, "/srv/new/dir\n", 0);
  made = xasprintf ("%s/srv/new/dir", t.upper);
  assert_int_equal (stat (made, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  free (made);
  it_free (&t);
}

/* CVE-2024-21626: a working directory through an fd of ours that leaked
   in (here one without CLOEXEC on the host's "/") is refused. */
static void
test_cwd_through_leaked_fd (void **state)
{
  static it_t t;
  char *cwd, *out = NULL, *expected;
  int leak = open ("/", O_RDONLY | O_DIRECTORY);
  (void) state;

  it_require_root ();
  assert_true (leak > 2);
  it_init (&t, ARGV ("ls"));
  cwd = xasprintf ("/proc/self/fd/%d", leak);
  t.spec.cwd = cwd;
  assert_int_equal (it_run (&t, &out), -1);
  expected = xasprintf ("start failed: working directory `%s` is outside the container: "
                        "Operation not permitted",
                        cwd);
  assert_string_equal (out, expected);
  free (expected);
  free (out);
  free (cwd);
  close (leak);
  it_free (&t);
}

/* ---- exits ---- */

static void
test_exit_codes (void **state)
{
  (void) state;
  simple (ARGV ("/bin/sh", "-c", "exit 0"), "", 0);
  simple (ARGV ("/bin/sh", "-c", "exit 7"), "", 7);
  simple (ARGV ("false"), "", 1);
}

static void
test_death_by_signal (void **state)
{
  static it_t t;
  static live_t l;
  stack_error_t *err = NULL;
  char *out = NULL;
  int status;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("sleep", "30"));
  live_start (&t, &l);
  assert_int_equal (rt_container_kill (&l.c, SIGKILL, &err), 0);
  status = live_finish (&l, 10, &out);
  assert_true (WIFSIGNALED (status));
  assert_int_equal (WTERMSIG (status), SIGKILL);
  free (out);
  it_free (&t);
}

/* ---- errors ---- */

static void
test_missing_program (void **state)
{
  static it_t t;
  char *out = NULL;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("nosuch", "arg"));
  assert_int_equal (it_run (&t, &out), -1);
  assert_string_equal (out, "start failed: exec `nosuch`: No such file or directory");
  free (out);
  it_free (&t);

  it_init (&t, ARGV ("/bin/nosuch"));
  assert_int_equal (it_run (&t, &out), -1);
  assert_string_equal (out, "start failed: exec `/bin/nosuch`: No such file or directory");
  free (out);
  it_free (&t);

  /* on PATH but not executable */
  it_init (&t, ARGV ("notexec"));
  it_write (&t, "/bin/notexec", "#!/bin/sh\n", 0644);
  t.spec.user = "app";
  assert_int_equal (it_run (&t, &out), -1);
  assert_string_equal (out, "start failed: exec `notexec`: Permission denied");
  free (out);
  it_free (&t);
}

static void
test_create_error_undoes_everything (void **state)
{
  static it_t t;
  rt_container_t c;
  stack_error_t *err = NULL;
  char *expected;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("true"));
  t.layers[0] = "/nonexistent-layer";
  assert_int_equal (rt_container_create (&t.spec, &c, &err), -1);
  expected = xasprintf ("create container `c`: mount overlay on `%s`: No such file or directory",
                        t.rootfs);
  assert_string_equal (err->msg, expected);
  assert_int_equal (err->status, ENOENT);
  assert_int_equal (c.pid, -1);
  assert_int_equal (c.pidfd, -1);
  assert_null (c.cgroup_path);
  /* no child is left to reap */
  assert_int_equal (waitpid (-1, NULL, WNOHANG), -1);
  assert_int_equal (errno, ECHILD);
  stack_error_free (&err);
  free (expected);
  t.layers[0] = t.layer;
  it_free (&t);
}

/* A setup that never answers (here: joining a "namespace" that is a FIFO
   without a writer, whose open blocks for ever) is given up after 30 s:
   the child killed and reaped, the cgroup removed. */
static void
test_create_times_out (void **state)
{
  static it_t t;
  rt_container_t c;
  stack_error_t *err = NULL;
  struct timespec a, b;
  char *fifo, *cg;
  struct stat st;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("true"));
  fifo = xasprintf ("%s/netns", t.dir);
  assert_int_equal (mkfifo (fifo, 0600), 0);
  t.spec.join_net = fifo;
  clock_gettime (CLOCK_MONOTONIC, &a);
  assert_int_equal (rt_container_create (&t.spec, &c, &err), -1);
  clock_gettime (CLOCK_MONOTONIC, &b);
  assert_true (b.tv_sec - a.tv_sec >= RT_SETUP_TIMEOUT_S - 1);
  assert_string_equal (err->msg, "create container `c`: container setup did not answer within 30 s");
  assert_int_equal (err->status, ETIMEDOUT);
  stack_error_free (&err);
  assert_int_equal (c.pid, -1);
  /* no child is left to reap, no cgroup */
  assert_int_equal (waitpid (-1, NULL, WNOHANG), -1);
  assert_int_equal (errno, ECHILD);
  cg = strcmp (rt_cgroup_version (), "v2") == 0 ? xasprintf ("/sys/fs/cgroup/%s", t.cgroup)
                                                : xasprintf ("/sys/fs/cgroup/pids/%s", t.cgroup);
  assert_int_equal (stat (cg, &st), -1);
  assert_int_equal (errno, ENOENT);
  free (cg);
  t.spec.join_net = NULL;
  free (fifo);
  it_free (&t);
}

static void
test_start_twice (void **state)
{
  static it_t t;
  static live_t l;
  stack_error_t *err = NULL;
  char *out = NULL;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("true"));
  live_start (&t, &l);
  assert_int_equal (rt_container_start (&l.c, &err), -1);
  assert_string_equal (err->msg,
                       "start container: not created, or started already: Invalid argument");
  stack_error_free (&err);
  live_finish (&l, 10, &out);
  free (out);
  it_free (&t);
}

/* ---- fds ---- */

static void
test_no_fd_leaks_in (void **state)
{
  static it_t t;
  /* an fd of ours without CLOEXEC, as a careless caller would have */
  int leak = open ("/", O_RDONLY | O_DIRECTORY);
  (void) state;

  it_require_root ();
  assert_true (leak > 2);
  it_init (&t, ARGV ("/bin/sh", "-c", "exec ls /proc/1/fd"));
  /* ls's own directory handle is the only one past 2 */
  run_expect (&t, "0\n1\n2\n3\n", 0);
  it_free (&t);
  close (leak);
}

/* ---- terminal ---- */

static void
test_tty (void **state)
{
  static it_t t;
  static live_t l;
  stack_error_t *err = NULL;
  strbuf_t b = { 0 };
  char buf[256];
  ssize_t n;
  int status;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "tty; ls -l /dev/console | cut -c1-10; test -t 0 && echo tty-in"));
  t.spec.tty = true;
  l = (live_t){ .c = { .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 }, .out = -1 };
  tracked_live = &l;
  assert_int_equal (rt_container_create (&t.spec, &l.c, &err), 0);
  assert_true (l.c.pty_fd >= 0);
  assert_int_equal (rt_container_start (&l.c, &err), 0);
  /* EIO once the last slave closes */
  while ((n = read (l.c.pty_fd, buf, sizeof buf)) > 0)
    sb_put (&b, buf, (size_t) n);
  assert_int_equal (waitpid (l.c.pid, &status, 0), l.c.pid);
  assert_true (WIFEXITED (status));
  assert_string_equal (b.s, "/dev/pts/0\r\ncrw--w----\r\ntty-in\r\n");
  sb_free (&b);
  assert_int_equal (rt_container_destroy (&l.c, &err), 0);
  tracked_live = NULL;
  it_free (&t);
}

/* ---- init ---- */

/* The states of PID 1's children, seen from the host. */
static char *
children_states (pid_t pid)
{
  char *path = xasprintf ("/proc/%d/task/%d/children", (int) pid, (int) pid);
  char *list = NULL, *save = NULL, *tok;
  stack_error_t *err = NULL;
  strbuf_t b = { 0 };

  assert_int_equal (read_file (path, &list, NULL, &err), 0);
  for (tok = strtok_r (list, " \n", &save); tok; tok = strtok_r (NULL, " \n", &save))
    {
      char *stat_path = xasprintf ("/proc/%s/stat", tok), *st = NULL;
      if (read_file (stat_path, &st, NULL, &err) == 0)
        sb_putc (&b, strrchr (st, ')')[2]);
      stack_error_free (&err);
      free (st);
      free (stat_path);
    }
  free (list);
  free (path);
  return sb_steal (&b);
}

/* An orphan re-parented to PID 1 dies: with our init it is reaped; with
   a PID 1 that never waits (sleep), it stays a zombie — the control that
   shows the check can fail. */
static void
orphan_check (bool init, const char *expected_states)
{
  static it_t t;
  static live_t l;
  char *states, *out = NULL;

  it_init (&t, ARGV ("/bin/sh", "-c", "/bin/sh -c 'sleep 0.1 &'; exec sleep 30"));
  t.spec.init = init;
  live_start (&t, &l);
  sleep_ms (800);
  states = children_states (l.c.pid);
  assert_string_equal (states, expected_states);
  free (states);
  live_finish (&l, 0, &out);
  free (out);
  it_free (&t);
}

static void
test_init_reaps_orphans (void **state)
{
  (void) state;
  it_require_root ();
  orphan_check (true, "S");  /* only the program, sleeping */
  orphan_check (false, "Z"); /* sleep as PID 1 leaves the zombie */
}

/* SIGTERM to PID 1: our init forwards it; a program as PID 1 without a
   handler never sees it (the kernel protects a namespace's init). */
static void
term_check (bool init, int secs, bool exits, int code)
{
  static it_t t;
  static live_t l;
  stack_error_t *err = NULL;
  char *out = NULL;
  int status;

  it_init (&t, ARGV ("sleep", "30"));
  t.spec.init = init;
  live_start (&t, &l);
  sleep_ms (200);
  assert_int_equal (rt_container_kill (&l.c, SIGTERM, &err), 0);
  status = live_finish (&l, secs, &out);
  if (exits)
    {
      assert_true (WIFEXITED (status));
      assert_int_equal (WEXITSTATUS (status), code); /* 128 + SIGTERM, as tini */
    }
  else
    {
      assert_true (WIFSIGNALED (status));
      assert_int_equal (WTERMSIG (status), SIGKILL); /* our kill after the timeout */
    }
  free (out);
  it_free (&t);
}

static void
test_init_forwards_sigterm (void **state)
{
  (void) state;
  it_require_root ();
  term_check (true, 10, true, 128 + SIGTERM);
  term_check (false, 1, false, 0);
}

static void
test_init_exit_code_and_sealed_exe (void **state)
{
  static it_t t;
  static live_t l;
  char link[256], *path, *out = NULL;
  ssize_t n;
  int fd, status;
  (void) state;

  it_require_root ();
  it_init (&t, ARGV ("/bin/sh", "-c", "ps -o pid,comm; sleep 1; exit 5"));
  t.spec.init = true;
  live_start (&t, &l);
  /* CVE-2019-5736: PID 1's binary is a sealed memfd, not our file */
  path = xasprintf ("/proc/%d/exe", (int) l.c.pid);
  n = readlink (path, link, sizeof link - 1);
  assert_true (n > 0);
  link[n] = '\0';
  assert_string_equal (link, "/memfd:stack (deleted)");
  fd = open (path, O_RDONLY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_int_equal (fcntl (fd, F_GET_SEALS) & (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL),
                    F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  assert_int_equal (write (fd, "x", 1), -1);
  close (fd);
  assert_int_equal (open (path, O_WRONLY | O_CLOEXEC), -1);
  free (path);
  status = live_finish (&l, 10, &out);
  /* our init is PID 1, the program its child */
  assert_string_equal (out, "PID   COMMAND\n    1 memfd:stack\n    2 sh\n    3 ps\n");
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 5);
  free (out);
  it_free (&t);
}

/* STACK_IT_BENCH=N: median create+start+exit of `true` over N runs. */
static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static void
test_bench_true (void **state)
{
  const char *env = getenv ("STACK_IT_BENCH");
  int n = env ? atoi (env) : 0, i;
  double *ms;
  static it_t t;
  (void) state;

  it_require_root ();
  if (n <= 0)
    skip ();
  ms = xzalloc ((size_t) n * sizeof *ms);
  it_init (&t, ARGV ("true"));
  t.spec.init = getenv ("STACK_IT_BENCH_INIT") != NULL;
  t.spec.host_net = getenv ("STACK_IT_BENCH_HOSTNET") != NULL;
  for (i = 0; i < n; i++)
    {
      struct timespec a, b;
      char *out = NULL;
      clock_gettime (CLOCK_MONOTONIC, &a);
      assert_int_equal (it_run (&t, &out), 0);
      clock_gettime (CLOCK_MONOTONIC, &b);
      ms[i] = (double) (b.tv_sec - a.tv_sec) * 1e3 + (double) (b.tv_nsec - a.tv_nsec) / 1e6;
      free (out);
    }
  qsort (ms, (size_t) n, sizeof *ms, cmp_double);
  fprintf (stderr, "create+start+exit of `true`: median %.2f ms, min %.2f, max %.2f (%d runs)\n",
           ms[n / 2], ms[0], ms[n - 1], n);
  free (ms);
  it_free (&t);
}

int
main (int argc, char **argv)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_pid1_is_the_command, teardown),
    cmocka_unit_test_teardown (test_hostname_and_domainname, teardown),
    cmocka_unit_test_teardown (test_env_exactly_as_given, teardown),
    cmocka_unit_test_teardown (test_home_from_passwd, teardown),
    cmocka_unit_test_teardown (test_user_by_name, teardown),
    cmocka_unit_test_teardown (test_user_by_numbers, teardown),
    cmocka_unit_test_teardown (test_root_by_default, teardown),
    cmocka_unit_test_teardown (test_group_add, teardown),
    cmocka_unit_test_teardown (test_unknown_user_fails_start, teardown),
    cmocka_unit_test_teardown (test_rlimits, teardown),
    cmocka_unit_test_teardown (test_sysctls, teardown),
    cmocka_unit_test_teardown (test_host_net, teardown),
    cmocka_unit_test_teardown (test_working_dir, teardown),
    cmocka_unit_test_teardown (test_cwd_through_leaked_fd, teardown),
    cmocka_unit_test_teardown (test_exit_codes, teardown),
    cmocka_unit_test_teardown (test_death_by_signal, teardown),
    cmocka_unit_test_teardown (test_missing_program, teardown),
    cmocka_unit_test_teardown (test_create_error_undoes_everything, teardown),
    cmocka_unit_test_teardown (test_create_times_out, teardown),
    cmocka_unit_test_teardown (test_start_twice, teardown),
    cmocka_unit_test_teardown (test_no_fd_leaks_in, teardown),
    cmocka_unit_test_teardown (test_tty, teardown),
    cmocka_unit_test_teardown (test_init_reaps_orphans, teardown),
    cmocka_unit_test_teardown (test_init_forwards_sigterm, teardown),
    cmocka_unit_test_teardown (test_init_exit_code_and_sealed_exe, teardown),
    cmocka_unit_test_teardown (test_bench_true, teardown),
  };

  /* our init runs from a sealed copy of this very binary */
  if (argc > 0 && strcmp (argv[0], "stack-init") == 0)
    return rt_init_main (argc, argv);
  return cmocka_run_group_tests (tests, NULL, NULL);
}
