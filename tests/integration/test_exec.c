/* test_exec.c — rt_container_exec: a program run inside a running
   container shares its namespaces and cgroup, gets the spec's identity
   and confinement, is the caller's own child, and leaves nothing behind;
   its errors; the setup timeout; and the terminal relay of `stack exec` (compose/tty.c) on a real pty. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "it-helpers.h"
#include "runtime-internal.h"

/* The relay is the CLI's (compose/), tested here because it needs a
   container's pty. */
#include "tty-internal.h"

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* ---- a running container to exec into ---- */

typedef struct live
{
  it_t t;
  rt_container_t c;
} live_t;

/* A failed assertion leaves the test by longjmp: the teardown kills and
   removes what is left. */
static live_t *tracked;

static void
live_stop (live_t *l)
{
  stack_error_t *err = NULL;

  if (l->c.pid > 0)
    {
      rt_container_kill (&l->c, SIGKILL, &err);
      stack_error_free (&err);
      waitpid (l->c.pid, NULL, 0);
      l->c.pid = -1;
    }
  rt_container_destroy (&l->c, &err);
  stack_error_free (&err);
}

static int
teardown (void **state)
{
  (void) state;
  if (tracked)
    {
      live_stop (tracked);
      if (tracked->t.dir)
        it_free (&tracked->t);
    }
  tracked = NULL;
  return 0;
}

/* `sleep 1000` as the container's PID 1, hostname "box". */
static void
live_start (live_t *l, bool no_new_privileges)
{
  stack_error_t *err = NULL;

  it_require_root ();
  tracked = l;
  l->c = (rt_container_t){ .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  it_init (&l->t, ARGV ("sleep", "1000"));
  l->t.spec.hostname = "box";
  l->t.spec.no_new_privileges = no_new_privileges;
  l->t.spec.limits.pids = 64;
  if (rt_container_create (&l->t.spec, &l->c, &err) < 0 || rt_container_start (&l->c, &err) < 0)
    fail_msg ("%s", err->msg);
}

static void
live_end (live_t *l)
{
  live_stop (l);
  it_free (&l->t);
  tracked = NULL;
}

/* The exec spec: the container's, with another command. */
static container_spec_t
exec_spec (live_t *l, const char *const *argv)
{
  container_spec_t s = l->t.spec;

  s.argv = argv;
  s.stdin_fd = s.stdout_fd = s.stderr_fd = -1;
  return s;
}

/* Exec, collect stdout+stderr until it exits, reap it ourselves (it is
   our child). Returns the wait status; on an exec error -1 and *out the
   message. */
static int
exec_run (live_t *l, container_spec_t *s, char **out)
{
  rt_container_t p;
  stack_error_t *err = NULL;
  strbuf_t b = { 0 };
  char buf[4096];
  int pipefd[2], status = -1;
  ssize_t n;

  assert_int_equal (pipe2 (pipefd, O_CLOEXEC), 0);
  s->stdout_fd = s->stderr_fd = pipefd[1];
  if (rt_container_exec (&l->c, s, &p, &err) < 0)
    {
      close (pipefd[0]);
      close (pipefd[1]);
      assert_int_equal (p.pid, -1);
      assert_int_equal (p.pidfd, -1);
      *out = xstrdup (err->msg);
      stack_error_free (&err);
      return -1;
    }
  close (pipefd[1]);
  assert_true (p.pid > 0);
  assert_true (p.pidfd >= 0);
  assert_int_equal (p.pty_fd, -1);
  assert_null (p.cgroup_path);
  while ((n = read (pipefd[0], buf, sizeof buf)) > 0)
    sb_put (&b, buf, (size_t) n);
  close (pipefd[0]);
  /* a direct child of ours */
  assert_int_equal (waitpid (p.pid, &status, 0), p.pid);
  close (p.pidfd);
  *out = sb_steal (&b);
  return status;
}

static void
exec_expect (live_t *l, container_spec_t *s, const char *expected, int code)
{
  char *out = NULL;
  int status = exec_run (l, s, &out);

  assert_string_equal (out, expected);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), code);
  free (out);
}

/* /proc/PID/<what> on the host */
static char *
host_read (pid_t pid, const char *what)
{
  char *path = xasprintf ("/proc/%d/%s", (int) pid, what), *s = NULL;
  stack_error_t *err = NULL;

  assert_int_equal (read_file (path, &s, NULL, &err), 0);
  free (path);
  return s;
}

/* Only the container's PID 1 is left in its cgroup. */
static void
assert_only_pid1 (live_t *l)
{
  stack_error_t *err = NULL;
  pid_t *pids = NULL;
  size_t n = 0;

  assert_int_equal (rt_cgroup_pids (l->c.cgroup_path, &pids, &n, &err), 0);
  assert_int_equal (n, 1);
  assert_int_equal (pids[0], l->c.pid);
  free (pids);
}

/* ---- namespaces and cgroup ---- */

static void
test_same_namespaces (void **state)
{
  static live_t l;
  static const char *const ns[] = { "cgroup", "ipc", "mnt", "net", "pid", "uts" };
  container_spec_t s;
  strbuf_t want = { 0 };
  size_t i;
  (void) state;

  live_start (&l, false);
  /* sleep is PID 1 of the pid namespace we are in */
  sb_puts (&want, "sleep 1000 \nbox\n");
  for (i = 0; i < ARRAY_SIZE (ns); i++)
    {
      char *path = xasprintf ("/proc/%d/ns/%s", (int) l.c.pid, ns[i]), link[64];
      ssize_t n = readlink (path, link, sizeof link - 1);
      assert_true (n > 0);
      link[n] = '\0';
      sb_printf (&want, "%s\n", link);
      free (path);
    }
  s = exec_spec (&l, ARGV ("/bin/sh", "-c",
                           "tr '\\0' ' ' < /proc/1/cmdline; echo; hostname; "
                           "for n in cgroup ipc mnt net pid uts; do readlink /proc/self/ns/$n; done"));
  exec_expect (&l, &s, want.s, 0);
  sb_free (&want);
  assert_only_pid1 (&l);
  live_end (&l);
}

/* /proc/self/cgroup: the container's own cgroup is the root of its view,
   in every hierarchy, as it is for PID 1. */
static void
test_cgroup_view (void **state)
{
  static live_t l;
  container_spec_t s;
  char *host, *line, *save = NULL, *view, *want;
  strbuf_t b = { 0 };
  (void) state;

  live_start (&l, false);
  host = host_read (getpid (), "cgroup");
  for (line = strtok_r (host, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      *strrchr (line, ':') = '\0';
      sb_printf (&b, "%s:/\n", line);
    }
  view = sb_steal (&b);
  want = xasprintf ("%s--\n%s", view, view);
  s = exec_spec (&l, ARGV ("/bin/sh", "-c", "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup"));
  exec_expect (&l, &s, want, 0);
  free (want);
  free (view);
  free (host);
  live_end (&l);
}

/* ---- the process: user, groups, cwd, env, exit status ---- */

static void
test_user_cwd_env (void **state)
{
  static live_t l;
  static const char *const env[] = { "PATH=/bin", "GREETING=hello there", NULL };
  container_spec_t s;
  (void) state;

  live_start (&l, false);
  s = exec_spec (&l, ARGV ("id"));
  s.user = "app";
  s.group_add = ARGV ("nogroup", "42");
  exec_expect (&l, &s, "uid=1000(app) gid=1000(app) groups=10(wheel),42,1000(app),65534(nogroup)\n",
               0);
  s = exec_spec (&l, ARGV ("id"));
  exec_expect (&l, &s, "uid=0(root) gid=0(root) groups=0(root)\n", 0);

  s = exec_spec (&l, ARGV ("pwd"));
  s.cwd = "/home/app";
  exec_expect (&l, &s, "/home/app\n", 0);
  s.cwd = NULL;
  exec_expect (&l, &s, "/\n", 0);

  s = exec_spec (&l, ARGV ("env"));
  s.env = env;
  s.user = "app";
  exec_expect (&l, &s, "PATH=/bin\nGREETING=hello there\nHOME=/home/app\n", 0);
  assert_only_pid1 (&l);
  live_end (&l);
}

static void
test_exit_status_passes_through (void **state)
{
  static live_t l;
  container_spec_t s;
  char *out = NULL;
  int status;
  (void) state;

  live_start (&l, false);
  s = exec_spec (&l, ARGV ("/bin/sh", "-c", "exit 7"));
  exec_expect (&l, &s, "", 7);
  s = exec_spec (&l, ARGV ("/bin/sh", "-c", "kill -TERM $$"));
  status = exec_run (&l, &s, &out);
  assert_true (WIFSIGNALED (status));
  assert_int_equal (WTERMSIG (status), SIGTERM);
  free (out);
  live_end (&l);
}

/* ---- confinement: as the container's own program ---- */

static char *
status_fields (const char *text)
{
  char *copy = xstrdup (text), *line, *save = NULL;
  strbuf_t b = { 0 };

  for (line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (str_has_prefix (line, "CapEff:") || str_has_prefix (line, "CapBnd:")
        || str_has_prefix (line, "NoNewPrivs:") || str_has_prefix (line, "Seccomp:"))
      sb_printf (&b, "%s\n", line);
  free (copy);
  return sb_steal (&b);
}

static void
test_same_confinement (void **state)
{
  static live_t l;
  container_spec_t s;
  char *host, *want, *out = NULL;
  (void) state;

  live_start (&l, true);
  host = host_read (l.c.pid, "status");
  want = status_fields (host);
  assert_non_null (strstr (want, "NoNewPrivs:\t1\nSeccomp:\t2\n"));
  s = exec_spec (&l, ARGV ("/bin/sh", "-c", "exec grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status"));
  exec_expect (&l, &s, want, 0);

  /* the control: without seccomp and no_new_privileges, they show */
  s.seccomp_unconfined = true;
  s.no_new_privileges = false;
  assert_true (exec_run (&l, &s, &out) >= 0);
  assert_non_null (strstr (out, "NoNewPrivs:\t0\nSeccomp:\t0\n"));
  free (out);
  free (want);
  free (host);
  live_end (&l);
}

/* ---- fds ---- */

static void
test_no_fd_of_ours_reaches_the_program (void **state)
{
  static live_t l;
  container_spec_t s;
  /* as a careless caller would have: no CLOEXEC */
  int leak = open ("/", O_RDONLY | O_DIRECTORY);
  (void) state;

  assert_true (leak > 2);
  live_start (&l, false);
  s = exec_spec (&l, ARGV ("ls", "/proc/self/fd"));
  /* ls's own directory handle is the only one past 2 */
  exec_expect (&l, &s, "0\n1\n2\n3\n", 0);
  close (leak);
  live_end (&l);
}

/* ---- errors ---- */

static void
test_missing_program (void **state)
{
  static live_t l;
  container_spec_t s;
  char *out = NULL;
  (void) state;

  live_start (&l, false);
  s = exec_spec (&l, ARGV ("nope"));
  assert_int_equal (exec_run (&l, &s, &out), -1);
  assert_string_equal (out, "exec `nope`: No such file or directory");
  free (out);
  s = exec_spec (&l, ARGV ("id"));
  s.user = "nosuch";
  assert_int_equal (exec_run (&l, &s, &out), -1);
  assert_string_equal (out, "unable to find user nosuch: no matching entries in passwd file");
  free (out);
  /* the failed children were reaped: nothing of ours is left to wait for */
  assert_only_pid1 (&l);
  assert_int_equal (waitpid (-1, NULL, WNOHANG), 0);
  live_end (&l);
}

/* A container whose PID 1 has exited: by its pidfd, and by a pid alone
   (as read from the state file; by then it may name anyone). */
static void
test_stopped_container (void **state)
{
  static live_t l;
  stack_error_t *err = NULL;
  container_spec_t s;
  rt_container_t by_pid;
  char *out = NULL;
  (void) state;

  live_start (&l, false);
  assert_int_equal (rt_container_kill (&l.c, SIGKILL, &err), 0);
  assert_int_equal (waitpid (l.c.pid, NULL, 0), l.c.pid);
  s = exec_spec (&l, ARGV ("true"));
  assert_int_equal (exec_run (&l, &s, &out), -1);
  assert_string_equal (out, "container is not running");
  free (out);

  by_pid = l.c;
  by_pid.pidfd = -1;
  assert_int_equal (rt_container_exec (&by_pid, &s, &(rt_container_t){ 0 }, &err), -1);
  assert_string_equal (err->msg, "container is not running");
  assert_int_equal (err->status, ESRCH);
  stack_error_free (&err);
  /* a live pid that is not the container's */
  by_pid.pid = getpid ();
  assert_int_equal (rt_container_exec (&by_pid, &s, &(rt_container_t){ 0 }, &err), -1);
  assert_string_equal (err->msg, "container is not running");
  stack_error_free (&err);
  l.c.pid = -1;
  live_end (&l);
}

/* ---- the timeout ---- */

typedef struct exec_job
{
  live_t *l;
  container_spec_t s;
  rt_container_t p;
  stack_error_t *err;
  int ret;
  volatile int done;
} exec_job_t;

static void *
exec_thread (void *arg)
{
  exec_job_t *j = arg;

  j->ret = rt_container_exec (&j->l->c, &j->s, &j->p, &j->err);
  j->done = 1;
  return NULL;
}

/* The freezer file of the container's cgroup, and its two values. */
static void
freeze (live_t *l, bool on)
{
  bool v2 = strcmp (rt_cgroup_version (), "v2") == 0;
  char *path = v2 ? xasprintf ("/sys/fs/cgroup/%s/cgroup.freeze", l->c.cgroup_path)
                  : xasprintf ("/sys/fs/cgroup/freezer/%s/freezer.state", l->c.cgroup_path);
  const char *value = v2 ? (on ? "1" : "0") : (on ? "FROZEN" : "THAWED");
  FILE *f = fopen (path, "w");

  assert_non_null (f);
  fputs (value, f);
  assert_int_equal (fclose (f), 0);
  free (path);
}

/* The exec'd child, once it shows up in the container's cgroup. */
static pid_t
wait_for_second_pid (live_t *l)
{
  int tries;

  for (tries = 0; tries < 500; tries++)
    {
      stack_error_t *err = NULL;
      pid_t *pids = NULL, found = -1;
      size_t n = 0, i;
      assert_int_equal (rt_cgroup_pids (l->c.cgroup_path, &pids, &n, &err), 0);
      for (i = 0; i < n; i++)
        if (pids[i] != l->c.pid)
          found = pids[i];
      free (pids);
      if (found > 0)
        return found;
      poll (NULL, 0, 10);
    }
  fail_msg ("the exec'd child never joined the container's cgroup");
  return -1;
}

static bool
sigkill_pending (pid_t pid)
{
  char *st = NULL, *path = xasprintf ("/proc/%d/status", (int) pid), *line, *save = NULL;
  stack_error_t *err = NULL;
  bool pending = false;

  if (read_file (path, &st, NULL, &err) < 0)
    {
      stack_error_free (&err);
      free (path);
      return true; /* gone already */
    }
  for (line = strtok_r (st, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    if (str_has_prefix (line, "SigPnd:") || str_has_prefix (line, "ShdPnd:"))
      pending = pending || (strtoull (strchr (line, ':') + 1, NULL, 16) & (1ULL << (SIGKILL - 1)));
  free (st);
  free (path);
  return pending;
}

/* The container's cgroup frozen: the exec'd child joins it before it is
   told to go and freezes there, before it does anything. The caller must
   give up after 30 s, kill it and reap it. */
static void
test_hung_setup_times_out (void **state)
{
  static live_t l;
  static exec_job_t j;
  pthread_t th;
  pid_t child;
  int waited;
  (void) state;

  live_start (&l, false);
  freeze (&l, true);
  j = (exec_job_t){ .l = &l, .s = exec_spec (&l, ARGV ("true")) };
  assert_int_equal (pthread_create (&th, NULL, exec_thread, &j), 0);
  child = wait_for_second_pid (&l);
  /* thawed once the caller has given up and killed it (v1 frozen tasks
     die only when thawed) */
  for (waited = 0; ! j.done && ! sigkill_pending (child) && waited < 40000; waited += 50)
    poll (NULL, 0, 50);
  assert_true (waited >= (RT_SETUP_TIMEOUT_S - 1) * 1000);
  freeze (&l, false);
  assert_int_equal (pthread_join (th, NULL), 0);
  assert_int_equal (j.ret, -1);
  assert_string_equal (j.err->msg, "container setup did not answer within 30 s");
  assert_int_equal (j.err->status, ETIMEDOUT);
  stack_error_free (&j.err);
  assert_int_equal (j.p.pid, -1);
  assert_only_pid1 (&l);
  live_end (&l);
}

/* ---- the terminal ---- */

/* The user's side: a pty pair of our own, its slave as the relay's stdin
   and stdout (or only stdout, stdin a pipe holding `input`). Returns what
   the user's terminal showed; *restored: its settings are as before. */
static char *
relay_through (int master, const char *input, bool *restored)
{
  struct termios before, after;
  struct winsize ws = { .ws_row = 40, .ws_col = 100 };
  strbuf_t b = { 0 };
  int um, us, in[2] = { -1, -1 }, status;
  char buf[256];
  ssize_t n;
  pid_t relay;

  assert_int_equal (openpty (&um, &us, NULL, NULL, &ws), 0);
  assert_int_equal (tcgetattr (us, &before), 0);
  if (input)
    {
      assert_int_equal (pipe (in), 0);
      assert_int_equal (write (in[1], input, strlen (input)), (ssize_t) strlen (input));
      close (in[1]);
    }
  relay = fork ();
  assert_true (relay >= 0);
  if (relay == 0)
    {
      stack_error_t *err = NULL;
      setsid ();
      ioctl (us, TIOCSCTTY, 0);
      dup2 (input ? in[0] : us, 0);
      dup2 (us, 1);
      close (um);
      _exit (tty_relay (master, &err) < 0 ? 1 : 0);
    }
  if (in[0] >= 0)
    close (in[0]);
  close (master);
  /* ours closed too, so that only the relay holds the slave */
  close (us);
  /* EIO once the relay, the last holder of our slave, has exited */
  while ((n = read (um, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0)
      sb_put (&b, buf, (size_t) n);
  assert_int_equal (waitpid (relay, &status, 0), relay);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  /* on a pty master, the settings of its slave */
  assert_int_equal (tcgetattr (um, &after), 0);
  *restored = memcmp (&before, &after, sizeof before) == 0;
  close (um);
  return sb_steal (&b);
}

static void
tty_exec (live_t *l, const char *const *argv, const char *input, const char *expected)
{
  rt_container_t p;
  stack_error_t *err = NULL;
  container_spec_t s = exec_spec (l, argv);
  bool restored = false;
  char *out;
  int status;

  s.tty = true;
  if (rt_container_exec (&l->c, &s, &p, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_true (p.pty_fd >= 0);
  out = relay_through (p.pty_fd, input, &restored);
  assert_int_equal (waitpid (p.pid, &status, 0), p.pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  close (p.pidfd);
  assert_string_equal (out, expected);
  assert_true (restored);
  free (out);
}

static void
test_tty (void **state)
{
  static live_t l;
  (void) state;

  live_start (&l, false);
  /* a terminal of the container's own devpts, our window size; raw mode
     on our side, so "\r\n" arrives as the program's terminal made it */
  /* the relay passes the size once it runs, which may be after the
     program has started (as with Docker): wait for it, at most 5 s.
     (busybox's stty exits 0 even when it finds no size: what it prints
     tells.) */
  tty_exec (&l,
            ARGV ("/bin/sh", "-c",
                  "i=0; until s=$(stty size 2>/dev/null); [ -n \"$s\" ] || [ $i = 100 ]; do "
                  "sleep 0.05; i=$((i+1)); done; tty; echo \"$s\"; echo hi"),
            NULL, "/dev/pts/0\r\n40 100\r\nhi\r\n");
  /* stdin not a terminal, and at its end first: ^D ends cat's input
     (the pty echoes the line, cat prints it). Our terminal is left in
     its own mode then, so its ONLCR adds a "\r" of its own. */
  tty_exec (&l, ARGV ("/bin/sh", "-c", "cat; echo done"), "abc\n",
            "abc\r\r\nabc\r\r\ndone\r\r\n");
  assert_only_pid1 (&l);
  live_end (&l);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_same_namespaces, teardown),
    cmocka_unit_test_teardown (test_cgroup_view, teardown),
    cmocka_unit_test_teardown (test_user_cwd_env, teardown),
    cmocka_unit_test_teardown (test_exit_status_passes_through, teardown),
    cmocka_unit_test_teardown (test_same_confinement, teardown),
    cmocka_unit_test_teardown (test_no_fd_of_ours_reaches_the_program, teardown),
    cmocka_unit_test_teardown (test_missing_program, teardown),
    cmocka_unit_test_teardown (test_stopped_container, teardown),
    cmocka_unit_test_teardown (test_tty, teardown),
    cmocka_unit_test_teardown (test_hung_setup_times_out, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
