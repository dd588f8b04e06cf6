/* test_health.c — compose/health.c against a real container: checks run
   inside it on the libev loop, the status follows Docker's rules (retries,
   start_period, a pass during start_period), the log keeps 5 results with
   their output (cut at 4 KiB, made valid UTF-8), a check that outlives its
   timeout is killed, one that cannot run fails with the reason, and
   health_stop kills and reaps a running check.

   The supervisor is faked: this file defines the four functions health.c
   calls back (sv_state, sv_save, sv_health_changed, sv_event). The linker
   takes health.o from libstack_compose.a and resolves those from here, so
   supervisor.o, which defines them too, is never pulled in. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "it-helpers.h"
#include "lifecycle-internal.h"

#define ARGV(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define MS 1000000LL
#define MAX_CHANGES 16

typedef struct fake
{
  it_t t;
  supervisor_t sv;
  state_t st;
  st_container_t stc;
  sv_container_t c;
  int saves, changes;
  enum st_health seen[MAX_CHANGES]; /* the status at each sv_health_changed */
} fake_t;

/* ---- the supervisor's side ---- */

st_container_t *
sv_state (sv_container_t *c)
{
  return &c->sv->st->containers[c->st_index];
}

static fake_t *fake_of (supervisor_t *sv);

void
sv_save (supervisor_t *sv)
{
  fake_of (sv)->saves++;
}

void
sv_health_changed (sv_container_t *c)
{
  fake_t *f = fake_of (c->sv);

  assert_true (f->changes < MAX_CHANGES);
  f->seen[f->changes++] = sv_state (c)->health;
}

void
sv_event (supervisor_t *sv, sv_container_t *c, const char *action, json_t *attrs)
{
  json_decref (attrs);
}

static fake_t *
fake_of (supervisor_t *sv)
{
  return (fake_t *)((char *)sv - offsetof (fake_t, sv));
}

/* ---- a fake supervisor around a real container ---- */

/* A failed assertion leaves the test by longjmp: the teardown cleans up. */
static fake_t *tracked;

/* `sleep 1000` as PID 1, its healthcheck argv with Docker's defaults but
   short intervals; the caller adjusts c.plan.health before health_start. */
static fake_t *
fake_start (const char *const *check)
{
  fake_t *f = xzalloc (sizeof *f);
  stack_error_t *err = NULL;

  it_require_root ();
  tracked = f;
  f->c.rt = (rt_container_t){ .pid = -1, .pidfd = -1, .sync_fd = -1, .pty_fd = -1 };
  it_init (&f->t, ARGV ("sleep", "1000"));
  if (rt_container_create (&f->t.spec, &f->c.rt, &err) < 0
      || rt_container_start (&f->c.rt, &err) < 0)
    fail_msg ("%s", err->msg);

  f->sv.loop = ev_default_loop (0);
  f->sv.st = &f->st;
  f->st.containers = &f->stc;
  f->st.n_containers = 1;
  f->stc.name = (char *)"health-it";
  f->stc.started_at = now_ns ();
  f->stc.process = process_to_json (&f->t.spec);
  f->c.sv = &f->sv;
  f->c.st_index = 0;
  f->c.plan.health = (plan_health_t){ .argv = check,
                                      .interval_ns = 50 * MS,
                                      .timeout_ns = 30000 * MS,
                                      .start_period_ns = 0,
                                      .start_interval_ns = 50 * MS,
                                      .retries = 3 };
  return f;
}

static void
fake_free (fake_t *f)
{
  stack_error_t *err = NULL;
  pid_t r;

  health_stop (&f->c);
  if (f->c.rt.pid > 0)
    {
      rt_container_kill (&f->c.rt, SIGKILL, &err);
      stack_error_free (&err);
      /* any child: a check left unreaped (a failed test) holds PID 1's
         exit until it is reaped, as the last process of the namespace */
      while ((r = waitpid (-1, NULL, 0)) != f->c.rt.pid)
        if (r < 0 && errno != EINTR)
          break;
    }
  rt_container_destroy (&f->c.rt, &err);
  stack_error_free (&err);
  if (f->c.rt.pidfd >= 0)
    close (f->c.rt.pidfd);
  if (f->t.dir)
    it_free (&f->t);
  json_decref (f->stc.process);
  json_decref (f->stc.health_log);
  free (f);
  tracked = NULL;
}

static int
teardown (void **state)
{
  (void)state;
  if (tracked)
    fake_free (tracked);
  return 0;
}

static void
tick_cb (struct ev_loop *loop, ev_timer *w, int revents)
{
}

/* Run the loop until done (f) holds, at most `seconds`. */
static void
run_until (fake_t *f, bool (*done) (fake_t *), double seconds)
{
  ev_timer tick;
  ev_tstamp end = ev_now (f->sv.loop) + seconds;

  /* wakes the loop, so that the condition and the deadline are seen */
  ev_timer_init (&tick, tick_cb, 0.01, 0.01);
  ev_timer_start (f->sv.loop, &tick);
  while (!done (f))
    {
      if (ev_now (f->sv.loop) > end)
        {
          ev_timer_stop (f->sv.loop, &tick);
          fail_msg ("not done within %.1f s (health %d, %zu results)", seconds, (int)f->stc.health,
                    json_array_size (f->stc.health_log));
        }
      ev_run (f->sv.loop, EVRUN_ONCE);
    }
  ev_timer_stop (f->sv.loop, &tick);
}

static bool
is_healthy (fake_t *f)
{
  return f->stc.health == ST_HEALTH_HEALTHY;
}

static bool
is_unhealthy (fake_t *f)
{
  return f->stc.health == ST_HEALTH_UNHEALTHY;
}

static bool
has_one_result (fake_t *f)
{
  return json_array_size (f->stc.health_log) >= 1;
}

static bool
eight_checks (fake_t *f)
{
  /* every check saves or changes the status; the first change is "starting" */
  return f->saves + f->changes - 1 >= 8;
}

/* Processes in the container's cgroup. */
static size_t
n_procs (fake_t *f)
{
  stack_error_t *err = NULL;
  pid_t *pids = NULL;
  size_t n = 0;

  if (rt_cgroup_pids (f->t.cgroup, &pids, &n, &err) < 0)
    fail_msg ("%s", err->msg);
  free (pids);
  return n;
}

static bool
check_running (fake_t *f)
{
  return n_procs (f) == 2;
}

static json_t *
result (fake_t *f, size_t i)
{
  return json_array_get (f->stc.health_log, i);
}

static int
result_code (fake_t *f, size_t i)
{
  return (int)json_integer_value (json_object_get (result (f, i), "exit_code"));
}

static const char *
result_output (fake_t *f, size_t i)
{
  return json_string_value (json_object_get (result (f, i), "output"));
}

/* "2024-05-01T12:00:00.123456789Z" */
static void
assert_rfc3339 (const char *s)
{
  assert_non_null (s);
  assert_int_equal (strlen (s), 30);
  assert_int_equal (s[4], '-');
  assert_int_equal (s[10], 'T');
  assert_int_equal (s[19], '.');
  assert_int_equal (s[29], 'Z');
}

/* ---- the tests ---- */

static void
test_no_healthcheck (void **state)
{
  fake_t *f = fake_start (NULL);

  health_start (&f->c);
  assert_null (f->c.health);
  assert_int_equal (f->stc.health, ST_HEALTH_NONE);
  assert_int_equal (f->changes, 0);
  assert_int_equal (f->saves, 0);
  health_stop (&f->c);
  health_stop (&f->c);
  fake_free (f);
}

static void
test_pass (void **state)
{
  fake_t *f = fake_start (ARGV ("sh", "-c", "echo ok; echo err >&2"));
  json_t *r;

  f->c.plan.health.interval_ns = 60000 * MS;
  f->c.plan.health.start_period_ns = 60000 * MS;
  /* a result from an earlier run is dropped */
  f->stc.health_log = json_pack ("[{s:i}]", "exit_code", 1);
  f->stc.failing_streak = 2;
  health_start (&f->c);
  assert_non_null (f->c.health);
  assert_int_equal (f->stc.health, ST_HEALTH_STARTING);
  assert_int_equal (f->stc.failing_streak, 0);
  assert_int_equal (json_array_size (f->stc.health_log), 0);
  assert_int_equal (f->changes, 1);
  assert_int_equal (f->seen[0], ST_HEALTH_STARTING);

  /* within start_period: start_interval (50 ms), not interval (60 s) */
  run_until (f, is_healthy, 5);
  assert_int_equal (f->changes, 2);
  assert_int_equal (f->seen[1], ST_HEALTH_HEALTHY);
  assert_int_equal (f->stc.failing_streak, 0);
  assert_int_equal (json_array_size (f->stc.health_log), 1);
  r = result (f, 0);
  assert_int_equal (result_code (f, 0), 0);
  assert_string_equal (result_output (f, 0), "ok\nerr\n");
  assert_rfc3339 (json_string_value (json_object_get (r, "start")));
  assert_rfc3339 (json_string_value (json_object_get (r, "end")));
  assert_true (strcmp (json_string_value (json_object_get (r, "start")),
                       json_string_value (json_object_get (r, "end")))
               <= 0);
  /* only PID 1 is left: the check was reaped */
  assert_int_equal (n_procs (f), 1);

  /* stop leaves the status to the supervisor; twice is fine */
  health_stop (&f->c);
  assert_null (f->c.health);
  assert_int_equal (f->stc.health, ST_HEALTH_HEALTHY);
  health_stop (&f->c);

  /* a restart: starting again, the log emptied */
  health_start (&f->c);
  assert_int_equal (f->stc.health, ST_HEALTH_STARTING);
  assert_int_equal (json_array_size (f->stc.health_log), 0);
  assert_int_equal (f->changes, 3);
  fake_free (f);
}

static void
test_unhealthy_after_retries (void **state)
{
  fake_t *f = fake_start (ARGV ("sh", "-c", "echo bad; exit 3"));
  size_t i;

  health_start (&f->c);
  run_until (f, is_unhealthy, 5);
  /* starting → unhealthy at the third failure, the first two only saved */
  assert_int_equal (f->changes, 2);
  assert_int_equal (f->seen[1], ST_HEALTH_UNHEALTHY);
  assert_int_equal (f->saves, 2);
  assert_int_equal (f->stc.failing_streak, 3);
  assert_int_equal (json_array_size (f->stc.health_log), 3);
  for (i = 0; i < 3; i++)
    {
      assert_int_equal (result_code (f, i), 3);
      assert_string_equal (result_output (f, i), "bad\n");
    }

  /* the checks go on; the log keeps the last 5 */
  run_until (f, eight_checks, 5);
  assert_int_equal (f->stc.failing_streak, 8);
  assert_int_equal (json_array_size (f->stc.health_log), 5);
  assert_int_equal (f->stc.health, ST_HEALTH_UNHEALTHY);
  assert_int_equal (f->changes, 2);
  fake_free (f);
}

static void
test_start_period_failures_do_not_count (void **state)
{
  fake_t *f = fake_start (ARGV ("false"));
  size_t i, n;

  f->c.plan.health.retries = 1;
  f->c.plan.health.start_period_ns = 700 * MS;
  f->c.plan.health.start_interval_ns = 100 * MS;
  f->c.plan.health.interval_ns = 100 * MS;
  health_start (&f->c);
  run_until (f, is_unhealthy, 5);
  /* several failures went by uncounted before the period ended */
  assert_true (now_ns () - f->stc.started_at >= 700 * MS);
  /* every check but the last (the change) only saved; 100 ms apart in
     700 ms: about 7 checks, the log keeps 5 */
  assert_int_equal (f->changes, 2);
  assert_true (f->saves >= 3);
  n = json_array_size (f->stc.health_log);
  assert_int_equal (n, f->saves + 1 < 5 ? f->saves + 1 : 5);
  for (i = 0; i < n; i++)
    assert_int_equal (result_code (f, i), 1);
  assert_int_equal (f->stc.failing_streak, 1);
  fake_free (f);
}

static void
test_failure_after_pass_counts_in_start_period (void **state)
{
  /* passes once, then fails */
  fake_t *f = fake_start (ARGV ("sh", "-c", "test -e /tmp/flag && exit 1; touch /tmp/flag"));

  f->c.plan.health.retries = 1;
  f->c.plan.health.start_period_ns = 60000 * MS;
  health_start (&f->c);
  run_until (f, is_unhealthy, 5);
  assert_int_equal (f->changes, 3);
  assert_int_equal (f->seen[1], ST_HEALTH_HEALTHY);
  assert_int_equal (f->seen[2], ST_HEALTH_UNHEALTHY);
  assert_int_equal (json_array_size (f->stc.health_log), 2);
  assert_int_equal (result_code (f, 0), 0);
  assert_int_equal (result_code (f, 1), 1);
  assert_int_equal (f->stc.failing_streak, 1);
  fake_free (f);
}

static void
test_timeout (void **state)
{
  fake_t *f = fake_start (ARGV ("sh", "-c", "echo partial; exec sleep 100"));
  int64_t before = now_ns ();

  f->c.plan.health.retries = 1;
  f->c.plan.health.timeout_ns = 300 * MS;
  f->c.plan.health.interval_ns = 60000 * MS;
  f->c.plan.health.start_period_ns = 60000 * MS;
  health_start (&f->c);
  /* retries 1: the first failure outside start_period would do; inside
     it a timeout does not count either */
  run_until (f, has_one_result, 5);
  assert_true (now_ns () - before >= 300 * MS);
  assert_int_equal (result_code (f, 0), -1);
  assert_string_equal (result_output (f, 0), "Health check exceeded timeout (300ms): partial\n");
  assert_int_equal (f->stc.health, ST_HEALTH_STARTING);
  /* only the check was killed, and it was reaped */
  assert_int_equal (n_procs (f), 1);
  assert_true (kill (f->c.rt.pid, 0) == 0);
  fake_free (f);

  f = fake_start (ARGV ("sleep", "100"));
  f->c.plan.health.retries = 1;
  f->c.plan.health.timeout_ns = 1500 * MS;
  f->c.plan.health.interval_ns = 20 * MS;
  health_start (&f->c);
  run_until (f, is_unhealthy, 5);
  assert_string_equal (result_output (f, 0), "Health check exceeded timeout (1.5s)");
  assert_int_equal (f->stc.failing_streak, 1);
  fake_free (f);
}

static void
test_cannot_run (void **state)
{
  fake_t *f = fake_start (ARGV ("/nonexistent"));

  f->c.plan.health.retries = 1;
  health_start (&f->c);
  run_until (f, is_unhealthy, 5);
  assert_int_equal (result_code (f, 0), -1);
  assert_string_equal (result_output (f, 0), "exec `/nonexistent`: No such file or directory");
  fake_free (f);

  /* the container died before the check: no crash, a failed check */
  f = fake_start (ARGV ("true"));
  f->c.plan.health.retries = 1;
  kill (f->c.rt.pid, SIGKILL);
  assert_int_equal (waitpid (f->c.rt.pid, NULL, 0), f->c.rt.pid);
  health_start (&f->c);
  run_until (f, is_unhealthy, 5);
  assert_int_equal (result_code (f, 0), -1);
  assert_string_equal (result_output (f, 0), "container is not running");
  f->c.rt.pid = -1;
  fake_free (f);
}

static void
test_output (void **state)
{
  fake_t *f = fake_start (ARGV ("sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a"));
  cleanup_free char *want = xmalloc (4096 + 4);

  /* far more than a pipe holds: read and dropped, the check ends */
  health_start (&f->c);
  run_until (f, has_one_result, 5);
  memset (want, 'a', 4096);
  strcpy (want + 4096, "...");
  assert_int_equal (result_code (f, 0), 0);
  assert_string_equal (result_output (f, 0), want);
  fake_free (f);

  /* not UTF-8: each bad byte is U+FFFD */
  f = fake_start (ARGV ("printf", "x\\377y\\303"));
  health_start (&f->c);
  run_until (f, has_one_result, 5);
  assert_string_equal (result_output (f, 0), "x\xef\xbf\xbdy\xef\xbf\xbd");
  fake_free (f);
}

static bool
no_result_yet (fake_t *f)
{
  return json_array_size (f->stc.health_log) == 0;
}

static void
test_stop_while_running (void **state)
{
  fake_t *f = fake_start (ARGV ("sleep", "100"));
  int status;

  health_start (&f->c);
  run_until (f, check_running, 5);
  health_stop (&f->c);
  assert_null (f->c.health);
  /* killed and reaped: PID 1 alone in the cgroup, no zombie of ours */
  assert_int_equal (n_procs (f), 1);
  assert_int_equal (waitpid (-1, &status, WNOHANG), 0);
  assert_int_equal (f->stc.health, ST_HEALTH_STARTING);
  /* nothing is left on the loop for it */
  ev_run (f->sv.loop, EVRUN_NOWAIT);
  assert_true (no_result_yet (f));
  assert_int_equal (f->changes, 1);
  health_stop (&f->c);
  fake_free (f);
}

static bool
killed_check_recorded (fake_t *f)
{
  return json_array_size (f->stc.health_log) == 1;
}

static void
test_killed_check (void **state)
{
  fake_t *f = fake_start (ARGV ("sh", "-c", "echo bye; kill -9 $$"));

  /* its own SIGKILL: a failure, Docker's 137, once the container is seen
     to live on */
  f->c.plan.health.retries = 1;
  f->c.plan.health.interval_ns = 60000 * MS;
  f->c.plan.health.start_interval_ns = 20 * MS;
  f->c.plan.health.start_period_ns = 60000 * MS;
  health_start (&f->c);
  run_until (f, killed_check_recorded, 5);
  assert_int_equal (result_code (f, 0), 137);
  assert_string_equal (result_output (f, 0), "bye\n");
  fake_free (f);
}

/* The supervisor's part: PID 1's exit ends the checks. */
static void
pid1_cb (struct ev_loop *loop, ev_child *w, int revents)
{
  fake_t *f = w->data;

  ev_child_stop (loop, w);
  f->c.rt.pid = -1;
  health_stop (&f->c);
}

static bool
checks_stopped (fake_t *f)
{
  return f->c.health == NULL;
}

static void
test_container_dies_during_check (void **state)
{
  fake_t *f = fake_start (ARGV ("sleep", "100"));
  ev_child pid1;

  f->c.plan.health.retries = 1;
  health_start (&f->c);
  run_until (f, check_running, 5);
  ev_child_init (&pid1, pid1_cb, f->c.rt.pid, 0);
  pid1.data = f;
  ev_child_start (f->sv.loop, &pid1);
  /* PID 1 goes, and the check with it: no result, no change */
  assert_int_equal (kill (f->c.rt.pid, SIGKILL), 0);
  run_until (f, checks_stopped, 5);
  assert_int_equal (json_array_size (f->stc.health_log), 0);
  assert_int_equal (f->changes, 1);
  assert_int_equal (f->saves, 0);
  assert_int_equal (f->stc.health, ST_HEALTH_STARTING);
  fake_free (f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_no_healthcheck, teardown),
    cmocka_unit_test_teardown (test_pass, teardown),
    cmocka_unit_test_teardown (test_unhealthy_after_retries, teardown),
    cmocka_unit_test_teardown (test_start_period_failures_do_not_count, teardown),
    cmocka_unit_test_teardown (test_failure_after_pass_counts_in_start_period, teardown),
    cmocka_unit_test_teardown (test_timeout, teardown),
    cmocka_unit_test_teardown (test_cannot_run, teardown),
    cmocka_unit_test_teardown (test_output, teardown),
    cmocka_unit_test_teardown (test_stop_while_running, teardown),
    cmocka_unit_test_teardown (test_killed_check, teardown),
    cmocka_unit_test_teardown (test_container_dies_during_check, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
