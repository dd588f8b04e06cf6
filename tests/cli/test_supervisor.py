#!/usr/bin/env python3
"""The supervisor end to end, through the real `stack` binary (root):
restart policies and their backoff, stop signals and grace periods,
depends_on conditions, healthchecks and `--wait`, logs, events, the
lifecycle commands, the foreground `up`, reconciling `up`, and what
survives a killed supervisor, a racing `up` and 100 services.

Each test has its own STACK_ROOT, STACK_RUN and project name (the setUp
and tearDown of test_lifecycle.py), and checks that nothing of it is
left. Times are only ever checked from below (a delay at least so long);
what must happen is polled for with generous deadlines.

    test_supervisor.py PATH/TO/stack [unittest options]
"""
import calendar
import json
import os
import re
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_lifecycle as life  # noqa: E402
from test_lifecycle import alive, cgroup_dirs  # noqa: E402

# PID 1 ignores the signals it has no handler for: these handle them
TRAP_TERM = "sh -c 'trap \"exit 0\" TERM; while :; do sleep 0.1; done'"
DEAF = "sh -c 'while :; do sleep 0.1; done'"


def rfc3339_ns(text):
    """"2024-01-02T03:04:05.123456789Z" as ns since the epoch."""
    day, frac = text.rstrip("Z").split(".")
    sec = calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S"))
    return sec * 10**9 + int(frac.ljust(9, "0")[:9])


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime and stime: fields 14 and 15, counted from the state (field 3)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Supervisor(life.Lifecycle):
    """Lifecycle's setUp (image import, own roots and project) and
    tearDown (down, then nothing may be left), with the processes a test
    started (`logs -f`, `events`, a foreground `up`) ended first."""

    def setUp(self):
        self.procs = []
        super().setUp()

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        super().tearDown()

    # ---- helpers ----

    def spawn(self, *args, name="out"):
        """`stack ARGS` in the background, its output in files."""
        out = open(os.path.join(self.dir, name + ".stdout"), "w+")
        err = open(os.path.join(self.dir, name + ".stderr"), "w+")
        p = subprocess.Popen([life.STACK, "-p", self.project] + list(args), cwd=self.dir,
                             env=self.env, stdout=out, stderr=err)
        p.out, p.err = out.name, err.name
        out.close()
        err.close()
        self.procs.append(p)
        return p

    @staticmethod
    def read(path):
        with open(path) as f:
            return f.read()

    def state(self):
        try:
            with open(os.path.join(self.env["STACK_RUN"], self.project, "state.json")) as f:
                return json.load(f)
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def st(self, service):
        """The service's container as the state file records it."""
        s = self.state()
        for c in s["containers"] if s else []:
            if c["service"] == service:
                return c
        return None

    def supervisor_pid(self):
        return self.state()["supervisor_pid"]

    def name(self, service):
        return "%s-%s-1" % (self.project, service)

    def logs(self, *args):
        r = self.stack("logs", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def wait_state(self, service, state, **fields):
        """Until ps shows it so; "exited" with its exit code known (a
        moment after PID 1 ended, ps knows only that it ended)."""
        def check():
            c = self.ps("-a").get(service)
            if c and c["state"] == state and all(c[k] == v for k, v in fields.items()) and (
                    state != "exited" or c["exit_code"] is not None):
                return c
            return None
        return self.wait_for(check, "%s to be %s %s" % (service, state, fields), interval=0.1)

    def assert_nothing_left(self):
        self.assertFalse(os.path.exists(os.path.join(self.env["STACK_RUN"], self.project)))
        self.assertEqual(self.containers_dir(), [])
        self.assertEqual(cgroup_dirs(self.project), [])

    # ---- restart policies ----

    def test_restart_policies_count_exactly(self):
        self.write("""
services:
  never:
    image: busybox:it
    command: sh -c 'echo run; exit 3'
    restart: "no"
  twice:
    image: busybox:it
    command: sh -c 'echo run; exit 3'
    restart: on-failure:2
  success:
    image: busybox:it
    command: sh -c 'echo run; exit 0'
    restart: on-failure
  deployed:
    image: busybox:it
    command: sh -c 'echo run; exit 4'
    deploy:
      restart_policy:
        condition: on-failure
        max_attempts: 1
""")
        self.up()
        got = {}
        for s in ("never", "twice", "success", "deployed"):
            c = self.wait_state(s, "exited")
            got[s] = (c["exit_code"], c["restarts"])
        self.assertEqual(got, {"never": (3, 0), "twice": (3, 2), "success": (0, 0),
                               "deployed": (4, 1)})
        # nothing more comes: the policies are spent
        time.sleep(1)
        ps = self.ps("-a")
        self.assertEqual({s: (ps[s]["state"], ps[s]["restarts"]) for s in ps},
                         {"never": ("exited", 0), "twice": ("exited", 2),
                          "success": ("exited", 0), "deployed": ("exited", 1)})
        # every run's output is in the one log
        self.assertEqual(self.logs("--no-prefix", "twice"), "run\nrun\nrun\n")
        self.assertEqual(self.logs("--no-prefix", "deployed"), "run\nrun\n")
        self.assertEqual(self.logs("--no-prefix", "never"), "run\n")

    def test_always_backoff_cpu_and_stop(self):
        self.write("""
services:
  loop:
    image: busybox:it
    command: sh -c 'echo start; exit 1'
    restart: always
  zero:
    image: busybox:it
    command: sh -c 'exit 0'
    restart: always
  unless:
    image: busybox:it
    command: sh -c 'exit 0'
    restart: unless-stopped
""")
        self.up()
        sup = self.supervisor_pid()
        cpu0 = cpu_seconds(sup)
        seen, odd = set(), []
        end = time.monotonic() + 3
        while time.monotonic() < end:
            for s, c in self.ps("-a").items():
                seen.add(c["state"])
                if c["state"] not in ("running", "restarting"):
                    odd.append((s, c["state"], c["exit_code"], c["status"]))
            time.sleep(0.02)
        cpu = cpu_seconds(sup) - cpu0
        # a crash loop must not be a busy loop (generous: catches spinning)
        self.assertLess(cpu, 0.5)
        self.assertIn("restarting", seen)

        # the delays double from 100 ms: 0.1, 0.2, 0.4, 0.8 s at least
        def five_runs():
            runs = [l for l in self.logs("-t", "--no-prefix", "loop").splitlines()
                    if l.endswith(" start")]
            return runs[:5] if len(runs) >= 5 else None
        stamps = self.wait_for(five_runs, "five runs of loop", interval=0.2)
        times = [rfc3339_ns(l.split()[0]) / 1e9 for l in stamps]
        gaps = [b - a for a, b in zip(times, times[1:])]
        for gap, least in zip(gaps, (0.09, 0.19, 0.39, 0.79)):
            self.assertGreaterEqual(gap, least, gaps)

        ps = self.ps("-a")
        for s in ("loop", "zero", "unless"):
            self.assertGreaterEqual(ps[s]["restarts"], 3, ps[s])
        self.assertIn(ps["loop"]["exit_code"], (None, 1))

        # stop ends it for good: no restart follows a stop
        r = self.stack("stop", "-t", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        before = {s: c["restarts"] for s, c in self.ps("-a").items()}
        time.sleep(2)
        after = self.ps("-a")
        self.assertEqual({s: (c["state"], c["restarts"]) for s, c in after.items()},
                         {s: ("exited", n) for s, n in before.items()})

        # while it crash-loops, `ps` shows it running or restarting, even
        # in the moment between PID 1's end and the supervisor saving it
        self.assertEqual(odd, [])

    def test_restart_keeps_layer_name_and_address(self):
        self.write("""
services:
  keep:
    image: busybox:it
    restart: always
    volumes:
      - ./out:/out
    command:
      - sh
      - -c
      - |
        if [ -f /marker ]; then echo again; exec sleep 1000; fi
        echo first; touch /marker; ip -o -4 addr show > /out/first; exit 1
""")
        os.mkdir(os.path.join(self.dir, "out"))
        self.up()
        c = self.wait_state("keep", "running", restarts=1)
        self.assertEqual(c["container"], self.name("keep"))
        # the writable layer kept /marker; the address is the first run's
        self.assertEqual(self.logs("--no-prefix", "keep"), "first\nagain\n")
        self.assertRegex(c["ip"], r"^\d+\.\d+\.\d+\.\d+$")
        self.assertIn(" %s/" % c["ip"], self.read(os.path.join(self.dir, "out", "first")))
        self.assertEqual(self.exec_ok("keep", "ls", "/marker"), "/marker\n")
        # kill (SIGKILL by default) is no reason to restart either
        r = self.stack("kill", "keep")
        self.assertEqual(r.returncode, 0, r.stderr)
        c = self.wait_state("keep", "exited")
        self.assertEqual((c["exit_code"], c["restarts"]), (137, 1))
        time.sleep(1)
        c = self.ps("-a")["keep"]
        self.assertEqual((c["state"], c["exit_code"], c["restarts"]), ("exited", 137, 1))

    # ---- stopping ----

    def test_stop_signal_and_grace(self):
        self.write("""
services:
  term:
    image: busybox:it
    command: %s
  usr1:
    image: busybox:it
    command: sh -c 'trap "exit 0" USR1; while :; do sleep 0.1; done'
    stop_signal: SIGUSR1
  deaf:
    image: busybox:it
    command: %s
    stop_grace_period: 1s
  now:
    image: busybox:it
    command: %s
""" % (TRAP_TERM, DEAF, DEAF))
        self.up()
        for s in ("term", "usr1"):
            r = self.stack("stop", s)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, " Container %s  Stopping\n Container %s  Stopped\n"
                             % (self.name(s), self.name(s)))
            c = self.ps("-a")[s]
            self.assertEqual((c["state"], c["exit_code"]), ("exited", 0))
        t0 = time.monotonic()
        r = self.stack("stop", "deaf")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreaterEqual(took, 1.0)
        c = self.ps("-a")["deaf"]
        self.assertEqual((c["state"], c["exit_code"]), ("exited", 137))
        r = self.stack("stop", "-t", "0", "now")
        self.assertEqual(r.returncode, 0, r.stderr)
        c = self.ps("-a")["now"]
        self.assertEqual((c["state"], c["exit_code"]), ("exited", 137))

    def test_down_stops_in_reverse_dependency_order(self):
        self.write("""
services:
  a:
    image: busybox:it
    command: %s
  b:
    image: busybox:it
    command: %s
    depends_on: [a]
""" % (TRAP_TERM, TRAP_TERM))
        self.up()
        r = self.stack("down")
        self.assertEqual(r.returncode, 0, r.stderr)
        a, b = self.name("a"), self.name("b")
        self.assertEqual(r.stderr.splitlines()[:4],
                         [" Container %s  Stopping" % b, " Container %s  Stopped" % b,
                          " Container %s  Stopping" % a, " Container %s  Stopped" % a])
        self.assert_nothing_left()

    # ---- depends_on ----

    def test_service_healthy_orders_start_and_wait(self):
        self.write("""
services:
  db:
    image: busybox:it
    command: sh -c 'sleep 1; touch /tmp/ready; exec sleep 1000'
    healthcheck:
      test: ["CMD-SHELL", "test -f /tmp/ready && echo ready-ok"]
      interval: 200ms
      retries: 30
  web:
    image: busybox:it
    command: sleep 1000
    depends_on:
      db:
        condition: service_healthy
""")
        r = self.stack("up", "-d", "--wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        ps = self.ps()
        self.assertEqual((ps["db"]["state"], ps["db"]["health"]), ("running", "healthy"))
        self.assertRegex(ps["db"]["status"], r"^Up .* \(healthy\)$")
        self.assertEqual(ps["web"]["state"], "running")
        db, web = self.st("db"), self.st("web")
        # web started once db was healthy, a second after db started
        self.assertGreaterEqual(web["started_at"] - db["started_at"], 0.9e9)
        # the check's output is kept
        self.assertEqual(db["health_log"][-1]["exit_code"], 0)
        self.assertEqual(db["health_log"][-1]["output"], "ready-ok\n")

    def test_depends_on_conditions(self):
        p = self.project
        init_ok = """
services:
  init:
    image: busybox:it
    command: sh -c 'echo migrating; sleep 0.5; exit %d'
  app:
    image: busybox:it
    command: sleep 1000
    depends_on:
      init:
        condition: service_completed_successfully
        required: %s
"""
        self.write(init_ok % (0, "true"))
        self.up()
        init, app = self.st("init"), self.st("app")
        self.assertEqual((init["state"], init["exit_code"]), ("exited", 0))
        self.assertGreaterEqual(app["started_at"], init["finished_at"])
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

        # a dependency that fails: nothing is left, the error names it
        self.write(init_ok % (5, "true"))
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stack: service `init` did not complete successfully: exit 5\n"
                      "  init | migrating\n", r.stderr)
        self.assertNotIn("Container %s-app-1  Started" % p, r.stderr)
        self.assert_nothing_left()

        # ... unless it is not required: a warning, and app starts
        self.write(init_ok % (5, "false"))
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("stack: warning: service `init` did not complete successfully: exit 5",
                      r.stderr)
        self.assertIn("`app` starts anyway (required: false)", r.stderr)
        self.assertEqual(self.ps()["app"]["state"], "running")
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

        # service_healthy on a service without a healthcheck
        self.write("""
services:
  db:
    image: busybox:it
    command: sleep 1000
  web:
    image: busybox:it
    command: sleep 1000
    depends_on:
      db:
        condition: service_healthy
""")
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("depends on `db` being healthy, but `db` has no healthcheck", r.stderr)
        self.assert_nothing_left()

    # ---- healthchecks ----

    def test_wait_fails_on_unhealthy(self):
        self.write("""
services:
  bad:
    image: busybox:it
    command: sleep 1000
    healthcheck:
      test: ["CMD-SHELL", "echo nope; exit 1"]
      interval: 200ms
      retries: 2
""")
        r = self.stack("up", "-d", "--wait")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("service `bad` is unhealthy", r.stderr)
        self.assert_nothing_left()

    def test_hanging_check_is_killed_at_its_timeout(self):
        self.write("""
services:
  hang:
    image: busybox:it
    command: sleep 1000
    healthcheck:
      test: ["CMD", "sleep", "100"]
      interval: 200ms
      timeout: 500ms
      retries: 1
""")
        self.up()
        c = self.wait_for(lambda: (self.st("hang") or {}).get("health") == "unhealthy"
                          and self.st("hang"), "hang to be unhealthy")
        entry = c["health_log"][0]
        self.assertEqual(entry["exit_code"], -1)
        self.assertEqual(entry["output"], "Health check exceeded timeout (500ms)")
        took = (rfc3339_ns(entry["end"]) - rfc3339_ns(entry["start"])) / 1e9
        # killed at its timeout, not left to run its 100 s
        self.assertGreaterEqual(took, 0.45)
        self.assertLess(took, 50)
        ps = self.ps()["hang"]
        self.assertEqual((ps["health"], ps["status"].endswith("(unhealthy)")), ("unhealthy", True))

    # ---- logs ----

    def test_logs_tail_timestamps_and_merge(self):
        self.write("""
services:
  a:
    image: busybox:it
    command: sh -c 'for i in 1 2 3 4 5; do echo a$$i; sleep 0.05; done'
  bb:
    image: busybox:it
    command: sh -c 'sleep 0.02; for i in 1 2 3 4 5; do echo b$$i >&2; sleep 0.05; done'
""")
        self.up()
        self.wait_state("a", "exited")
        self.wait_state("bb", "exited")
        self.assertEqual(self.logs("--tail", "2", "--no-prefix", "a"), "a4\na5\n")
        self.assertEqual(self.logs("--tail", "2", "a"), "a-1  | a4\na-1  | a5\n")
        lines = self.logs("-t").splitlines()
        self.assertEqual(len(lines), 10, lines)
        # the names padded to the longest plus one, as Compose does
        line = re.compile(r"^(a-1   |bb-1  )\| (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) ([ab]\d)$")
        stamps = []
        for l in lines:
            m = line.match(l)
            self.assertTrue(m, l)
            self.assertEqual(m.group(1).strip()[0], m.group(3)[0])
            stamps.append(rfc3339_ns(m.group(2)))
        # merged in time order, each service's lines in its own order
        self.assertEqual(stamps, sorted(stamps))
        words = [l.split()[-1] for l in lines]
        self.assertEqual([w for w in words if w[0] == "a"], ["a%d" % i for i in range(1, 6)])
        self.assertEqual([w for w in words if w[0] == "b"], ["b%d" % i for i in range(1, 6)])
        self.assertEqual(sorted(self.logs("--no-prefix").splitlines()), sorted(words))

    def test_a_flood_of_output_is_bounded(self):
        """A service writing as fast as it can: its log rotates within its
        bounds, the supervisor's memory stays small, and another service's
        output keeps flowing meanwhile."""
        self.write("services:\n"
                   "  flood:\n    image: busybox:it\n"
                   "    command: sh -c 'yes 0123456789012345678901234567890123456789 | head -c 60000000'\n"
                   "    logging:\n      options: {max-size: 1m, max-file: '2'}\n"
                   "  tick:\n    image: busybox:it\n"
                   "    command: sh -c 'while :; do echo tick; sleep 0.1; done'\n")
        self.up()
        pid = self.supervisor_pid()
        peak = 0

        def flood_done():
            nonlocal peak
            with open("/proc/%d/status" % pid) as f:
                peak = max(peak, int(next(l for l in f if l.startswith("VmRSS:")).split()[1]))
            c = self.ps("-a").get("flood")
            return c and c["state"] == "exited" and c["exit_code"] is not None
        self.wait_for(flood_done, "the flood to end", timeout=120, interval=0.1)
        # 60 MB went through; the supervisor never held more than a little
        self.assertLess(peak, 32 * 1024, "supervisor RSS peaked at %d KiB" % peak)
        d = os.path.join(self.env["STACK_ROOT"], "containers", self.name("flood"))
        self.assertEqual(sorted(os.listdir(d)).count("json.log.2"), 0)
        for f in ("json.log", "json.log.1"):
            self.assertLessEqual(os.path.getsize(os.path.join(d, f)), 1024 * 1024)
        self.assertGreater(os.path.getsize(os.path.join(d, "json.log.1")), 900 * 1024)
        # tick kept its pace while the flood ran: lines all through it
        flood = self.st("flood")
        ticks = [rfc3339_ns(line.split(" | ", 1)[1].split(" ", 1)[0])
                 for line in self.logs("-t", "tick").splitlines()]
        during = [t for t in ticks if flood["started_at"] <= t <= flood["finished_at"]]
        span = (flood["finished_at"] - flood["started_at"]) / 1e9
        self.assertGreaterEqual(len(during), int(span * 10 * 0.5), (span, len(during)))

    def test_logs_follow_across_restart_and_clients_that_vanish(self):
        self.write("""
services:
  r:
    image: busybox:it
    restart: on-failure
    command: sh -c 'echo run; sleep 0.3; exit 1'
  s:
    image: busybox:it
    command: %s
""" % TRAP_TERM)
        self.up()
        follow = self.spawn("logs", "-f", "--no-prefix", "r", name="follow")
        # three runs: two restarts, followed as they come
        self.wait_for(lambda: self.read(follow.out).count("run\n") >= 3, "logs -f to follow")
        self.assertIsNone(follow.poll())
        self.assertGreaterEqual(self.ps("-a")["r"]["restarts"], 2)

        # clients that die mid-stream
        gone_logs = self.spawn("logs", "-f", name="gone-logs")
        gone_events = self.spawn("events", name="gone-events")
        self.wait_for(lambda: self.read(gone_logs.out), "logs -f to print")
        time.sleep(0.5)
        os.kill(gone_logs.pid, signal.SIGKILL)
        os.kill(gone_events.pid, signal.SIGKILL)
        gone_logs.wait()
        gone_events.wait()
        # the supervisor lives and answers
        sup = self.supervisor_pid()
        self.assertTrue(alive(sup))
        r = self.stack("stop", "s")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ps("-a")["s"]["exit_code"], 0)
        self.assertTrue(alive(sup))

        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        # -f ends once the project is gone
        self.wait_for(lambda: follow.poll() is not None, "logs -f to end")
        self.assertEqual(follow.returncode, 0, self.read(follow.err))

    # ---- events ----

    def test_events(self):
        self.write("""
services:
  a:
    image: busybox:it
    command: sh -c 'trap "exit 0" TERM; trap "echo usr1" USR1; while :; do sleep 0.1; done'
""")
        self.up()
        every = self.spawn("events", name="every")
        only_a = self.spawn("events", "a", name="only-a")

        def lines(p):
            return [json.loads(l) for l in self.read(p.out).splitlines()]

        def events(p):
            return [e for e in lines(p) if "action" in e]

        # subscribed once a kill shows (SIGUSR1: a harmless one)
        def kill_seen():
            r = self.stack("kill", "-s", "SIGUSR1", "a")
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(0.1)
            return all(any(e["action"] == "kill" for e in events(p)) for p in (every, only_a))
        self.wait_for(kill_seen, "events to subscribe", interval=0.2)

        # a new service, that fails once, and has a healthcheck
        self.write("""
services:
  a:
    image: busybox:it
    command: sh -c 'trap "exit 0" TERM; trap "echo usr1" USR1; while :; do sleep 0.1; done'
  b:
    image: busybox:it
    command: sh -c 'if [ -f /once ]; then exec sleep 1000; fi; touch /once; exit 3'
    restart: on-failure
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
""")
        self.up()
        self.wait_for(lambda: (self.ps().get("b") or {}).get("health") == "healthy",
                      "b to be healthy")
        r = self.stack("stop", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        # the stream ends with the project
        for p in (every, only_a):
            self.wait_for(lambda: p.poll() is not None, "events to end")
            self.assertEqual(p.returncode, 0, self.read(p.err))

        a, b = self.name("a"), self.name("b")
        got = [(e["action"], e["id"]) for e in events(every) if e["action"] != "kill"]
        for e in events(every):
            self.assertEqual((e["type"], e["attributes"]["name"], e["attributes"]["image"]),
                             ("container", e["id"], "busybox:it"))
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
        b_events = [x for x in got if x[1] == b and x[0] != "health_status"]
        # b: created, started, died with 3, restarted, healthy, then down
        self.assertEqual(b_events[:5], [("create", b), ("start", b), ("die", b), ("restart", b),
                                        ("start", b)])
        die = [e for e in events(every) if e["action"] == "die" and e["id"] == b][0]
        self.assertEqual(die["attributes"]["exitCode"], 3)
        health = [e["attributes"]["health_status"] for e in events(every)
                  if e["action"] == "health_status" and e["id"] == b]
        self.assertEqual(health[-2:], ["starting", "healthy"])
        # a: stop is die then stop, each once (down found it stopped)
        self.assertEqual([x for x in got if x[1] == a and x[0] != "destroy"],
                         [("die", a), ("stop", a)])
        # the filtered stream has a's only
        self.assertEqual({e["service"] for e in events(only_a)}, {"a"})
        self.assertIn("die", [e["action"] for e in events(only_a)])
        with self.subTest("down destroys"):
            self.assertEqual(sorted(x for x in got if x[0] == "destroy"),
                             [("destroy", a), ("destroy", b)])
        # nothing but events: not the supervisor's "ok" that opens the stream
        for p in (every, only_a):
            self.assertEqual([e for e in lines(p) if "action" not in e], [])

    # ---- commands ----

    def test_start_stop_restart_kill(self):
        self.write("""
services:
  a:
    image: busybox:it
    command: sh -c 'trap "exit 0" TERM; trap "touch /tmp/usr1" USR1; while :; do sleep 0.1; done'
  k:
    image: busybox:it
    command: sleep 1000
    restart: always
  hup:
    image: busybox:it
    restart: always
    command: sh -c 'trap "exit 0" TERM; trap "exit 5" HUP; while :; do sleep 0.1; done'
""")
        self.up()
        pid0, started0 = self.ps()["a"]["pid"], self.st("a")["started_at"]
        r = self.stack("stop", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.ps("-a")["a"]["state"], "exited")
        self.assertFalse(alive(pid0))
        r = self.stack("start", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, " Container %s  Started\n" % self.name("a"))
        a = self.ps()["a"]
        self.assertEqual((a["state"], a["restarts"]), ("running", 0))
        pid1, started1 = a["pid"], self.st("a")["started_at"]
        self.assertNotEqual(pid1, pid0)
        self.assertGreater(started1, started0)

        # restart: a new start, not counted as a restart by the policy
        r = self.stack("restart", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        n = self.name("a")
        self.assertEqual(r.stderr, " Container %s  Stopping\n Container %s  Stopped\n"
                         " Container %s  Started\n" % (n, n, n))
        a = self.ps()["a"]
        self.assertEqual((a["state"], a["restarts"]), ("running", 0))
        self.assertNotEqual(a["pid"], pid1)
        self.assertGreater(self.st("a")["started_at"], started1)

        # kill -s reaches PID 1
        r = self.stack("kill", "-s", "SIGUSR1", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_for(lambda: self.stack("exec", "-T", "a", "test", "-f", "/tmp/usr1")
                      .returncode == 0, "the USR1 trap")
        self.assertEqual(self.ps()["a"]["state"], "running")

        # kill: SIGKILL, and no restart even with restart: always
        r = self.stack("kill", "k")
        self.assertEqual(r.returncode, 0, r.stderr)
        with self.subTest("kill says what it did"):
            self.assertEqual(r.stderr, " Container %s  Killed\n" % self.name("k"))
        k = self.wait_state("k", "exited")
        self.assertEqual((k["exit_code"], k["restarts"]), (137, 0))
        time.sleep(1)
        k = self.ps("-a")["k"]
        self.assertEqual((k["state"], k["exit_code"], k["restarts"]), ("exited", 137, 0))

        # a signal that does not stop it is no stop: the policy still
        # applies when PID 1 then ends (Docker: only SIGKILL and the stop
        # signal mark a container stopped by hand)
        r = self.stack("kill", "-s", "SIGHUP", "hup")
        self.assertEqual(r.returncode, 0, r.stderr)

        def hup_settled():
            c = self.ps("-a")["hup"]
            if c["state"] == "running" and c["restarts"] == 1 or (
                    c["state"] == "exited" and c["exit_code"] is not None):
                return c
            return None
        hup = self.wait_for(hup_settled, "hup to restart or stay exited", interval=0.1)
        self.assertEqual((hup["state"], hup["restarts"]), ("running", 1))

        # a service that is not there
        for cmd in (["stop"], ["start"], ["restart"], ["kill"], ["kill", "-s", "SIGHUP"]):
            with self.subTest(cmd=cmd):
                r = self.stack(*cmd, "nosuch")
                self.assertEqual((r.returncode, r.stderr),
                                 (1, "stack: no such service: `nosuch`\n"))
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        # a project that is not running
        for cmd in ("stop", "start", "restart", "kill", "events"):
            r = self.stack(cmd)
            self.assertEqual((r.returncode, r.stderr),
                             (1, "stack: project `%s` is not running\n" % self.project), cmd)

    # ---- the foreground ----

    def test_restart_takes_restart_true_dependants_along(self):
        """depends_on `restart: true`: restarting a service restarts what
        depends on it so; the others stay as they were."""
        self.write("services:\n"
                   "  a:\n    image: busybox:it\n    command: %s\n"
                   "  b:\n    image: busybox:it\n    command: %s\n"
                   "    depends_on: {a: {condition: service_started, restart: true}}\n"
                   "  c:\n    image: busybox:it\n    command: %s\n    depends_on: [a]\n"
                   % (TRAP_TERM, TRAP_TERM, TRAP_TERM))
        self.up()
        before = {s: self.st(s)["started_at"] for s in "abc"}
        r = self.stack("restart", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        after = {s: self.st(s)["started_at"] for s in "abc"}
        self.assertNotEqual(after["a"], before["a"])
        self.assertNotEqual(after["b"], before["b"])
        self.assertEqual(after["c"], before["c"])
        # b stopped before a (reverse dependency order), and started after it
        lines = r.stderr.splitlines()
        self.assertLess(lines.index(" Container %s  Stopped" % self.name("b")),
                        lines.index(" Container %s  Stopping" % self.name("a")))
        self.assertLess(lines.index(" Container %s  Started" % self.name("a")),
                        lines.index(" Container %s  Started" % self.name("b")))
        self.assertEqual({s: c["state"] for s, c in self.ps().items()},
                         {"a": "running", "b": "running", "c": "running"})

    def test_abort_on_container_exit_and_exit_code_from(self):
        self.write("""
services:
  a:
    image: busybox:it
    command: %s
  b:
    image: busybox:it
    command: sh -c 'sleep 0.3; exit 4'
""" % TRAP_TERM)
        r = self.stack("up", "--abort-on-container-exit")
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertIn("Aborting on container exit...", r.stderr)
        ps = self.ps("-a")
        self.assertEqual({s: (c["state"], c["exit_code"]) for s, c in ps.items()},
                         {"a": ("exited", 0), "b": ("exited", 4)})
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

        # b's code, though a ends first
        self.write("""
services:
  a:
    image: busybox:it
    command: sh -c 'sleep 0.3; exit 2'
  b:
    image: busybox:it
    command: sh -c 'trap "exit 7" TERM; while :; do sleep 0.1; done'
""")
        r = self.stack("up", "--exit-code-from", "b")
        self.assertEqual(r.returncode, 7, r.stderr)
        ps = self.ps("-a")
        self.assertEqual({s: (c["state"], c["exit_code"]) for s, c in ps.items()},
                         {"a": ("exited", 2), "b": ("exited", 7)})

    def test_ctrl_c_stops_then_kills(self):
        self.write("""
services:
  polite:
    image: busybox:it
    command: %s
  deaf:
    image: busybox:it
    command: %s
""" % (TRAP_TERM, DEAF))
        up = self.spawn("up", name="up")
        self.wait_for(lambda: len(self.ps()) == 2, "both to run")
        deaf_pid = self.ps()["deaf"]["pid"]
        os.kill(up.pid, signal.SIGINT)
        # polite stops at once; deaf has its 10 s of grace
        self.wait_state("polite", "exited", exit_code=0)
        self.assertIsNone(up.poll())
        self.assertTrue(alive(deaf_pid))
        os.kill(up.pid, signal.SIGINT)
        self.wait_for(lambda: up.poll() is not None, "up to end")
        self.assertEqual(up.returncode, 130, self.read(up.err))
        self.assertIn("stack: stopping (Ctrl-C again to kill)\n", self.read(up.err))
        self.assertFalse(alive(deaf_pid))
        deaf = self.ps("-a")["deaf"]
        self.assertEqual((deaf["state"], deaf["exit_code"]), ("exited", 137))

    # ---- reconciling ----

    def test_up_reconciles(self):
        # b's command ends in its $0, the part the test changes
        base = """
services:
  a:
    image: busybox:it
    command: %s
  b:
    image: busybox:it
    command: %s %%s
""" % (TRAP_TERM, TRAP_TERM)
        c = "  c:\n    image: busybox:it\n    command: %s\n" % TRAP_TERM
        self.write(base % "v1")
        self.up()
        before = self.ps()
        r = self.up()
        self.assertEqual(sorted(r.stderr.splitlines()),
                         [" Container %s  Running" % self.name(s) for s in ("a", "b")])
        self.assertEqual({s: (c["pid"], c["ip"]) for s, c in self.ps().items()},
                         {s: (c["pid"], c["ip"]) for s, c in before.items()})

        # b changed: only b is made anew, at the same address
        self.write(base % "v2")
        r = self.up()
        self.assertIn(" Container %s  Running\n" % self.name("a"), r.stderr)
        self.assertIn(" Container %s  Recreate\n" % self.name("b"), r.stderr)
        after = self.ps()
        self.assertEqual(after["a"]["pid"], before["a"]["pid"])
        self.assertNotEqual(after["b"]["pid"], before["b"]["pid"])
        self.assertEqual(after["b"]["ip"], before["b"]["ip"])
        self.assertTrue(self.exec_ok("b", "cat", "/proc/1/cmdline").endswith("\0v2\0"))

        # a new service starts; one that left the file is an orphan
        self.write(base % "v2" + c)
        r = self.up()
        self.assertIn(" Container %s  Started\n" % self.name("c"), r.stderr)
        self.assertEqual(sorted(self.ps()), ["a", "b", "c"])
        self.write(base % "v2")
        r = self.up()
        self.assertIn("orphan containers (%s)" % self.name("c"), r.stderr)
        self.assertEqual(self.ps()["c"]["state"], "running")
        r = self.up("--remove-orphans")
        self.assertIn(" Container %s  Removed\n" % self.name("c"), r.stderr)
        self.assertEqual(sorted(self.ps("-a")), ["a", "b"])
        self.assertNotIn(self.name("c"), self.containers_dir())

        r = self.stack("down", "--remove-orphans", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_nothing_left()

    # ---- robustness ----

    def kill_supervisor(self):
        sup = self.supervisor_pid()
        os.kill(sup, signal.SIGKILL)
        self.wait_for(lambda: not alive(sup), "the supervisor to die")
        return sup

    def test_supervisor_killed(self):
        self.write("services:\n  a:\n    image: busybox:it\n    command: %s\n" % TRAP_TERM)
        self.up()
        pid = self.ps()["a"]["pid"]
        self.kill_supervisor()
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(alive(pid))
        self.assert_nothing_left()

        self.up()
        pid = self.ps()["a"]["pid"]
        old = self.kill_supervisor()
        r = self.up()
        self.assertIn("stack: project `%s` was not taken down; removing what its last run left\n"
                      % self.project, r.stderr)
        self.assertFalse(alive(pid))
        a = self.ps()["a"]
        self.assertEqual(a["state"], "running")
        self.assertNotEqual(a["pid"], pid)
        self.assertNotEqual(self.supervisor_pid(), old)
        self.assertTrue(alive(self.supervisor_pid()))

    def test_concurrent_ups(self):
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "  b:\n    image: busybox:it\n    command: sleep 1000\n")
        ups = [self.spawn("up", "-d", name="up%d" % i) for i in range(2)]
        for u in ups:
            u.wait(timeout=60)
        for u in ups:
            # each succeeds, or says why not
            self.assertTrue(u.returncode == 0 or self.read(u.err).startswith("stack: "),
                            (u.returncode, self.read(u.err)))
        self.assertIn(0, [u.returncode for u in ups])
        # each container was made once, by one of them
        said = "".join(self.read(u.err) for u in ups)
        for s in ("a", "b"):
            self.assertEqual(said.count(" Container %s  Started\n" % self.name(s)), 1, said)
        ps = self.ps("-a")
        self.assertEqual(sorted(ps), ["a", "b"])
        self.assertEqual(sorted(self.containers_dir()), [self.name("a"), self.name("b")])
        # one supervisor: the only process with our STACK_RUN in its environment
        mine = ("STACK_RUN=" + self.env["STACK_RUN"]).encode() + b"\0"
        supervisors = []
        for d in os.listdir("/proc"):
            try:
                with open("/proc/%s/environ" % d, "rb") as f:
                    if mine in f.read():
                        supervisors.append(int(d))
            except (FileNotFoundError, ProcessLookupError, PermissionError, NotADirectoryError):
                pass
        self.assertEqual(supervisors, [self.supervisor_pid()])
        for d in cgroup_dirs(self.project):
            self.assertEqual(sorted(e for e in os.listdir(d) if os.path.isdir(os.path.join(d, e))),
                             [self.name("a"), self.name("b")])

    def test_hundred_services(self):
        self.write("services:\n" + "".join(
            "  s%03d:\n    image: busybox:it\n    command: sleep 1000\n" % i for i in range(100)))
        r = self.stack("up", "-d", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        ps = self.ps()
        self.assertEqual(len(ps), 100)
        self.assertEqual({c["state"] for c in ps.values()}, {"running"})
        self.assertEqual(len({c["ip"] for c in ps.values()}), 100)
        r = self.stack("down", "-t", "0", timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(re.findall(r"Removed\n", r.stderr)), 101)
        self.assert_nothing_left()
        for c in ps.values():
            self.assertFalse(alive(c["pid"]))


def load_tests(loader, standard_tests, pattern):
    """This file's tests only, not the ones Supervisor inherits."""
    names = [n for n in loader.getTestCaseNames(Supervisor) if n in Supervisor.__dict__]
    return unittest.TestSuite(Supervisor(n) for n in names)


if __name__ == "__main__":
    life.STACK = os.path.abspath(sys.argv.pop(1))
    unittest.main()
