#!/usr/bin/env python3
"""The flagship example end to end, as its README runs it (root):
examples/dev-env/prepare makes and loads the images (Debian packages,
`stack image load` of an OCI layout), `up -d --wait` brings postgres, redis
and the app up healthy, the app counts visits in both, postgres's data
survives `down` and `up` in its named volume, and `down -v` removes it.

The images are cached by prepare in $STACK_DEV_ENV_CACHE
(/var/cache/stack-dev-env): with a warm cache the test takes about 15 s;
a cold one first runs mmdebstrap (about 2 minutes, apt's Debian mirror).

    test_dev_env.py PATH/TO/stack [unittest options]
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from registry import free_port  # noqa: E402
from test_lifecycle import take_down_and_check  # noqa: E402

STACK = None
EXAMPLE = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                        "..", "..", "examples", "dev-env"))
PREPARE_TIMEOUT = 900  # a cold cache runs mmdebstrap


class DevEnv(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        self.dir = tempfile.mkdtemp(prefix="stack-it-devenv-")
        self.project = "devenv-%d" % os.getpid()
        self.port = free_port()
        self.env = dict(os.environ, STACK=STACK, APP_PORT=str(self.port),
                        STACK_ROOT=os.path.join(self.dir, "root"),
                        STACK_RUN=os.path.join(self.dir, "run"))
        self.env.pop("COMPOSE_PROJECT_NAME", None)

    def tearDown(self):
        take_down_and_check(self, volumes=True)

    # ---- helpers ----

    def stack(self, *args, timeout=120):
        return subprocess.run([STACK, "-p", self.project] + list(args), cwd=EXAMPLE,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def ok(self, *args, timeout=120):
        r = self.stack(*args, timeout=timeout)
        self.assertEqual(r.returncode, 0, "stack %s:\n%s%s" % (" ".join(args), r.stdout, r.stderr))
        return r

    def prepare(self):
        r = subprocess.run([os.path.join(EXAMPLE, "prepare")], env=self.env, capture_output=True,
                           text=True, timeout=PREPARE_TIMEOUT, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r.stdout

    def get(self, path="/"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                    timeout=20) as resp:
            self.assertEqual(resp.status, 200)
            return resp.read().decode()

    def visit(self):
        return json.loads(self.get("/"))

    def up(self):
        t = time.monotonic()
        r = self.ok("up", "-d", "--wait", "--wait-timeout", "120", timeout=180)
        for service in ("postgres", "redis", "app"):
            self.assertIn(" Container %s-%s-1  Healthy" % (self.project, service),
                          r.stdout + r.stderr)
        return time.monotonic() - t

    def ps(self):
        return {c["service"]: c for c in json.loads(self.ok("ps", "--format", "json").stdout)}

    def logs(self, service):
        return self.ok("logs", "--no-prefix", service).stdout

    # ---- the test ----

    def test_dev_env(self):
        # the images: made (or taken from the cache) and loaded; a second
        # run finds them in the store and does nothing
        out = self.prepare()
        self.assertIn("prepare: ready in", out)
        t = time.monotonic()
        out = self.prepare()
        self.assertIn("nothing to do", out)
        self.assertLess(time.monotonic() - t, 10)
        images = {"%s:%s" % (i["repository"], i["tag"]): i
                  for i in json.loads(self.ok("images", "--format", "json").stdout)}
        self.assertEqual(sorted(images), ["dev-env/app:1", "dev-env/postgres:15", "dev-env/redis:7"])
        self.ok("config", "-q")

        # up: every service healthy, the app published on APP_PORT
        took = self.up()
        ps = self.ps()
        self.assertEqual(sorted(ps), ["app", "postgres", "redis"])
        for c in ps.values():
            self.assertEqual((c["state"], c["health"], c["restarts"]), ("running", "healthy", 0),
                             c)
        self.assertEqual(ps["app"]["ports"], [{"host_ip": "127.0.0.1", "host_port": self.port,
                                               "container_port": 8080, "protocol": "tcp"}])
        self.assertEqual(ps["postgres"]["exposed"], ["5432/tcp"])
        self.assertEqual(ps["redis"]["exposed"], ["6379/tcp"])
        self.assertEqual(ps["postgres"]["ports"], [])
        # the entrypoint dropped to the postgres user, and postgres is PID 1
        with open("/proc/%d/status" % ps["postgres"]["pid"]) as f:
            uid = [l.split()[1] for l in f if l.startswith("Uid:")][0]
        self.assertNotEqual(uid, "0")
        with open("/proc/%d/comm" % ps["postgres"]["pid"]) as f:
            self.assertEqual(f.read().strip(), "postgres")

        # each visit counts in both
        self.assertEqual(self.visit(), {"redis_hits": 1, "postgres_visits": 1})
        self.assertEqual(self.visit(), {"redis_hits": 2, "postgres_visits": 2})
        self.assertEqual(self.get("/healthz"), "ok\n")
        r = self.ok("exec", "-T", "postgres", "psql", "-U", "app", "-d", "app", "-tAc",
                    "select count(*) from visits")
        self.assertEqual(r.stdout, "2\n")
        self.assertEqual(self.ok("exec", "-T", "redis", "redis-cli", "get", "hits").stdout, "2\n")
        # over the network postgres wants the password of postgres.env
        r = self.stack("exec", "-T", "app", "python3", "-c",
                       "import psycopg2; psycopg2.connect(host='postgres', user='app', "
                       "dbname='app', password='wrong')")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("password authentication failed", r.stderr)

        log = self.logs("postgres")
        self.assertIn("entrypoint: initialising a database in /var/lib/postgresql/data "
                      "(user app, database app)", log)
        self.assertIn("database system is ready to accept connections", log)
        self.assertIn("Ready to accept connections", self.logs("redis"))
        self.assertEqual(self.logs("app").count('"GET / HTTP/1.1" 200'), 2)

        # down keeps the named volume: postgres goes on counting; redis's
        # /data is an anonymous volume, new with its new container
        self.ok("down")
        self.assertEqual(self.ok("ps", "-a", "--format", "json").stdout.strip(), "[]")
        volume = os.path.join(self.env["STACK_ROOT"], "volumes", self.project + "_pgdata")
        self.assertTrue(os.path.isfile(os.path.join(volume, "_data", "PG_VERSION")))
        self.up()
        self.assertEqual(self.visit(), {"redis_hits": 1, "postgres_visits": 3})
        self.assertIn("already initialised", self.logs("postgres"))

        # down -v removes it: the next up starts from nothing
        r = self.ok("down", "-v")
        self.assertIn("Volume %s_pgdata  Removed" % self.project, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(volume))
        self.up()
        self.assertEqual(self.visit(), {"redis_hits": 1, "postgres_visits": 1})
        self.assertIn("initialising a database", self.logs("postgres"))
        self.ok("down", "-v")
        print("\ndev_env: first up --wait %.1fs" % took, file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    STACK = os.path.abspath(sys.argv.pop(1))
    unittest.main()
