#!/usr/bin/env python3
"""The lifecycle commands end to end, as a user runs them: `image import`,
`up -d`, `ps`, `exec`, `down [-v]`, against the real kernel (root).

Each test has its own STACK_ROOT, STACK_RUN and project name, and checks
that nothing of it is left: no cgroup, no process, no state, no mount.

    test_lifecycle.py PATH/TO/stack [unittest options]
"""
import glob
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

STACK = None
BUSYBOX = "/bin/busybox"


def busybox_tar(path):
    """A root filesystem: busybox, its applets, and users (app is 1000)."""
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    files = {
        "etc/passwd": "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
                      "nobody:x:65534:65534:nobody:/:/bin/false\n",
        "etc/group": "root:x:0:\nwheel:x:10:app\napp:x:1000:\nnogroup:x:65534:\n",
    }
    with tarfile.open(path, "w") as tar:
        for d in ("bin", "etc", "tmp", "srv", "data", "home", "home/app", "root"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(BUSYBOX, "bin/busybox")
        for a in applets:
            if a == "busybox":
                continue
            info = tarfile.TarInfo("bin/" + a)
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
        # /data holds something, so a new volume there is seeded
        info = tarfile.TarInfo("data/seed")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"seed\n"))


def alive(pid):
    """A process that still runs (a zombie waits only for its reaper)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def cgroup_dirs(project):
    """Every cgroup directory of the project, in every hierarchy (v1) or
    in the one tree (v2): stack/ sits at each hierarchy's root."""
    return sorted(glob.glob("/sys/fs/cgroup/*/stack/" + project)
                  + glob.glob("/sys/fs/cgroup/stack/" + project))


DEADLINE = 20.0  # for what must happen eventually


def take_down_and_check(test, volumes=False):
    """A test's tearDown: whatever it did, `down -v`, then nothing of its
    project may be left (state, cgroups, mounts under its directory,
    nftables chains; with volumes, no volume either), and its directory
    goes. test has project, dir, env and stack()."""
    r = test.stack("down", "-v", "-t", "0")
    # looked at before the directory goes, which would take the state with it
    state_left = os.path.exists(os.path.join(test.env["STACK_RUN"], test.project))
    vdir = os.path.join(test.env["STACK_ROOT"], "volumes")
    volumes_left = os.listdir(vdir) if volumes and os.path.isdir(vdir) else []
    leftovers = cgroup_dirs(test.project)
    chains = subprocess.run(["nft", "list", "table", "inet", "stack"], capture_output=True,
                            text=True).stdout
    with open("/proc/self/mountinfo") as f:
        mounts = [l for l in f if test.dir in l]
    shutil.rmtree(test.dir, ignore_errors=True)
    test.assertFalse(state_left, r.stderr)
    test.assertEqual(volumes_left, [])
    test.assertEqual(leftovers, [])
    test.assertEqual(mounts, [])
    test.assertNotIn("chain %s-" % test.project, chains)


class Lifecycle(unittest.TestCase):
    counter = 0

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")
        cls.shared = tempfile.mkdtemp(prefix="stack-it-life-")
        cls.tar = os.path.join(cls.shared, "busybox.tar")
        busybox_tar(cls.tar)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, ignore_errors=True)

    def setUp(self):
        Lifecycle.counter += 1
        self.dir = tempfile.mkdtemp(prefix="stack-it-life-")
        self.project = "it-%d-%d" % (os.getpid(), Lifecycle.counter)
        self.env = dict(os.environ, STACK_ROOT=os.path.join(self.dir, "root"),
                        STACK_RUN=os.path.join(self.dir, "run"))
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        r = self.stack("image", "import", self.tar, "busybox:it")
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        take_down_and_check(self)

    # ---- helpers ----

    def wait_for(self, fn, what, timeout=DEADLINE, interval=0.05):
        """fn's first true value, asked every interval seconds; the test
        fails after timeout."""
        end = time.monotonic() + timeout
        while True:
            v = fn()
            if v:
                return v
            if time.monotonic() > end:
                self.fail("timed out waiting for " + what)
            time.sleep(interval)

    def stack(self, *args, stdin=None, timeout=60):
        return subprocess.run([STACK, "-p", self.project] + list(args), cwd=self.dir,
                              env=self.env, capture_output=True, text=True, input=stdin,
                              timeout=timeout)

    def write(self, text, name="stack.yml"):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def up(self, *args):
        r = self.stack("up", "-d", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def ps(self, *args):
        r = self.stack("ps", "--format", "json", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {c["service"]: c for c in json.loads(r.stdout)}

    def exec_ok(self, *args):
        r = self.stack("exec", "-T", *args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def wait_exited(self, service):
        for _ in range(500):
            c = self.ps("-a")[service]
            if c["state"] == "exited" and c["exit_code"] is not None:
                return c
            time.sleep(0.01)
        self.fail("%s did not exit" % service)

    def containers_dir(self):
        d = os.path.join(self.env["STACK_ROOT"], "containers")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    # ---- tests ----

    def test_up_ps_exec_down(self):
        self.write("""
services:
  db:
    image: busybox:it
    command: ["sleep", "1000"]
    environment:
      FOO: bar
    working_dir: /srv
    user: app
    hostname: dbhost
    volumes:
      - data:/data
  web:
    image: busybox:it
    command: sh -c 'echo hello from web; exec sleep 1000'
    depends_on: [db]
    cap_drop: [ALL]
    read_only: true
    tmpfs: /tmp
  once:
    image: busybox:it
    command: ["true"]
volumes:
  data:
""")
        r = self.up()
        p = self.project
        self.assertEqual(r.stderr, " Network %s_default  Created\n"
                         " Container %s-db-1  Started\n Container %s-once-1  Started\n"
                         " Container %s-web-1  Started\n" % (p, p, p, p))
        once = self.wait_exited("once")
        self.assertEqual((once["exit_code"], once["oom_killed"], once["pid"]), (0, False, None))

        running = self.ps()
        self.assertEqual(sorted(running), ["db", "web"])
        db = running["db"]
        self.assertEqual((db["container"], db["state"], db["health"], db["exit_code"],
                          db["restarts"], db["oom_killed"], db["ip"], db["ports"]),
                         (p + "-db-1", "running", None, None, 0, False, db["ip"], []))
        self.assertRegex(db["ip"], r"^\d+\.\d+\.\d+\.\d+$")
        self.assertTrue(alive(db["pid"]))
        self.assertNotEqual(cgroup_dirs(p), [])

        # exec: the service's own namespaces, user, cwd, env
        self.assertEqual(self.exec_ok("db", "cat", "/proc/1/cmdline"), "sleep\x001000\x00")
        self.assertEqual(self.exec_ok("db", "id", "-u"), "1000\n")
        self.assertEqual(self.exec_ok("db", "pwd"), "/srv\n")
        self.assertEqual(self.exec_ok("db", "hostname"), "dbhost\n")
        self.assertEqual(self.exec_ok("db", "sh", "-c", "echo $FOO"), "bar\n")
        self.assertEqual(self.exec_ok("-u", "root", "db", "id", "-u"), "0\n")
        self.assertEqual(self.exec_ok("-w", "/tmp", "db", "pwd"), "/tmp\n")
        self.assertEqual(self.exec_ok("-e", "X=1", "db", "sh", "-c", "echo $X$FOO"), "1bar\n")
        r = self.stack("exec", "-T", "db", "sh", "-c", "exit 7")
        self.assertEqual(r.returncode, 7)
        r = self.stack("exec", "-T", "db", "no-such-program")
        self.assertEqual(r.returncode, 127)
        self.assertIn("no-such-program", r.stderr)
        r = self.stack("exec", "-T", "once", "true")
        self.assertEqual((r.returncode, r.stderr), (1, "stack: service `once` is not running\n"))

        # web: no capabilities, read-only root, a writable tmpfs
        self.assertEqual(self.exec_ok("web", "grep", "CapEff", "/proc/self/status"),
                         "CapEff:\t0000000000000000\n")
        r = self.stack("exec", "-T", "web", "touch", "/x")
        self.assertEqual(r.returncode, 1)
        self.assertIn("Read-only file system", r.stderr + r.stdout)
        self.assertEqual(self.exec_ok("web", "sh", "-c", "echo ok > /tmp/f && cat /tmp/f"), "ok\n")
        r = self.stack("logs", "--no-prefix", "web")
        self.assertEqual((r.returncode, r.stdout), (0, "hello from web\n"), r.stderr)

        # the volume was seeded from the image; the writable layer is the container's
        self.assertEqual(self.exec_ok("db", "cat", "/data/seed"), "seed\n")
        self.exec_ok("-u", "root", "db", "sh", "-c", "echo kept > /data/f; echo gone > /srv/f")
        pid = db["pid"]
        r = self.stack("down", "-t", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stderr.splitlines()
        # stopping: each running one, in reverse dependency order (web and
        # db are one wave here, so in any order between them)
        self.assertEqual(sorted(lines[:4]), sorted(" Container %s-%s-1  %s" % (p, s, w)
                                                   for s in ("web", "db")
                                                   for w in ("Stopping", "Stopped")))
        self.assertEqual(lines[4:], [" Container %s-web-1  Removed" % p,
                                     " Container %s-once-1  Removed" % p,
                                     " Container %s-db-1  Removed" % p,
                                     " Network %s_default  Removed" % p])
        self.assertFalse(alive(pid))
        self.assertEqual(self.containers_dir(), [])
        self.assertEqual(cgroup_dirs(p), [])
        self.assertEqual(self.ps("-a"), {})

        self.up("db")
        self.assertEqual(self.exec_ok("db", "cat", "/data/f"), "kept\n")
        r = self.stack("exec", "-T", "db", "cat", "/srv/f")
        self.assertEqual(r.returncode, 1)
        r = self.stack("down", "-v", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, " Container %s-db-1  Stopping\n Container %s-db-1  Stopped\n"
                         " Container %s-db-1  Removed\n Network %s_default  Removed\n"
                         " Volume %s_data  Removed\n" % (p, p, p, p, p))
        self.assertEqual(os.listdir(os.path.join(self.env["STACK_ROOT"], "volumes")), [])

    def test_naming_a_profiled_service_enables_it(self):
        """As in Compose: `up tool` runs tool whatever its profiles; a
        plain `up` does not."""
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "  tool:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    profiles: [tools]\n")
        self.up()
        self.assertEqual(sorted(self.ps()), ["a"])
        r = self.stack("up", "-d", "tool")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(self.ps()), ["a", "tool"])
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_container_dir_names_its_project(self):
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n")
        self.up()
        path = os.path.join(self.env["STACK_ROOT"], "containers", "%s-a-1" % self.project,
                            "project")
        with open(path) as f:
            self.assertEqual(f.read(), self.project)
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_down_after_supervisor_killed(self):
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "  b:\n    image: busybox:it\n    command: sleep 1000\n    depends_on: [a]\n")
        self.up()
        with open(os.path.join(self.env["STACK_RUN"], self.project, "state.json")) as f:
            state = json.load(f)
        pids = [c["pid"] for c in state["containers"]]
        # the supervisor is our own child's child: ours to kill
        os.kill(state["supervisor_pid"], signal.SIGKILL)
        for _ in range(200):
            if not os.path.exists("/proc/%d" % state["supervisor_pid"]):
                break
            time.sleep(0.01)
        self.assertEqual(sorted(self.ps()), ["a", "b"])
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        for pid in pids:
            self.assertFalse(alive(pid))
        self.assertEqual(self.containers_dir(), [])

    def test_down_after_reboot(self):
        """A reboot empties STACK_RUN (a tmpfs) but leaves each container's
        directory (writable layer, log) and its hold on the image in
        STACK_ROOT: `down` with the file removes them, and the image can
        go again."""
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n")
        r = self.stack("images", "--format", "json")
        image_id = [i["id"] for i in json.loads(r.stdout) if i["tag"] == "it"][0]
        name = "%s-a-1" % self.project
        root = self.env["STACK_ROOT"]
        # what the machine's restart left (no state, no process, no link)
        os.makedirs(os.path.join(root, "containers", name, "upper", "tmp"))
        with open(os.path.join(root, "containers", name, "project"), "w") as f:
            f.write(self.project)
        os.makedirs(os.path.join(root, "volumes", name + "_anon_1", "data"))
        # another project's, which stays
        other = os.path.join(root, "containers", "%s-x-b-1" % self.project)
        os.makedirs(other)
        with open(os.path.join(other, "project"), "w") as f:
            f.write(self.project + "-x")
        os.makedirs(os.path.join(root, "holds"), exist_ok=True)
        with open(os.path.join(root, "holds", name), "w") as f:
            f.write(image_id)
        r = self.stack("image", "rm", "busybox:it")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is used by container `%s`" % name, r.stderr)
        r = self.stack("down")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "stack: project `%s` has no state (was the machine "
                         "restarted?): removing what its containers left\n"
                         " Container %s  Removed\n" % (self.project, name))
        self.assertEqual(self.containers_dir(), ["%s-x-b-1" % self.project])
        shutil.rmtree(other)
        self.assertFalse(os.path.exists(os.path.join(root, "holds", name)))
        self.assertEqual(os.listdir(os.path.join(root, "volumes")), [])
        self.assertFalse(os.path.exists(os.path.join(self.env["STACK_RUN"], self.project)))
        # nothing more to do the second time
        r = self.stack("down")
        self.assertEqual((r.returncode, r.stderr), (0, ""))

    def test_bad_input_creates_nothing(self):
        self.write("services:\n  a:\n    image: nothere:1\n    pull_policy: never\n")
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr, "stack: service `a`: image `nothere:1` is not in the store and "
                         "its pull_policy is never: pull it (`stack pull a`) or load it "
                         "(`stack image load -i FILE`)\n")
        self.write("services:\n  a:\n    image: busybox:it\n    command: 'true'\n"
                   "    cap_add: [NOPE]\n")
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("stack.yml:5:15: services.a.cap_add[0]", r.stderr)
        self.assertFalse(os.path.exists(self.env["STACK_RUN"]))
        self.assertEqual(self.containers_dir(), [])

    def test_failed_start_takes_down_what_came_up(self):
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "  b:\n    image: busybox:it\n    command: no-such-thing\n    depends_on: [a]\n")
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no-such-thing", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.env["STACK_RUN"], self.project)))
        self.assertEqual(self.containers_dir(), [])
        self.assertEqual(cgroup_dirs(self.project), [])

    def test_up_twice_and_image_in_use(self):
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n")
        self.up()
        # a second `up` finds nothing to change (tests/cli/test_supervisor.py
        # has the reconciling)
        r = self.stack("up", "-d")
        self.assertEqual((r.returncode, r.stderr), (0, " Container %s-a-1  Running\n" % self.project))
        r = self.stack("image", "rm", "busybox:it")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "stack: image `busybox:it` is used by container `%s-a-1`: remove "
                          "the container first (`stack down`)\n" % self.project))

    def test_foreground(self):
        """`up` without -d is the supervisor: the output comes here, it
        returns when every container has ended, and they stay listed."""
        self.write("services:\n  a:\n    image: busybox:it\n    command: echo from a\n"
                   "  b:\n    image: busybox:it\n    command: sh -c 'echo from b >&2; exit 3'\n"
                   "    depends_on: [a]\n")
        r = self.stack("up")
        self.assertEqual(r.returncode, 0, r.stderr)
        # every container's output, both streams, prefixed as Compose does
        self.assertEqual(sorted(r.stdout.splitlines()), ["a-1  | from a", "b-1  | from b"])
        p = self.project
        self.assertEqual(sorted(r.stderr.splitlines()),
                         [" Container %s-a-1  Started" % p, " Container %s-b-1  Started" % p,
                          " Network %s_default  Created" % p, "a-1 exited with code 0",
                          "b-1 exited with code 3"])
        exited = self.ps("-a")
        self.assertEqual((exited["a"]["state"], exited["a"]["exit_code"]), ("exited", 0))
        self.assertEqual((exited["b"]["state"], exited["b"]["exit_code"]), ("exited", 3))
        self.assertEqual(self.ps(), {})
        r = self.stack("down")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.containers_dir(), [])

    def test_our_binary_is_sealed(self):
        """CVE-2019-5736: no process a container can see runs from the host's
        `stack` binary, even when the container makes the kernel run it."""
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n")
        self.up()
        with open(os.path.join(self.env["STACK_RUN"], self.project, "state.json")) as f:
            supervisor = json.load(f)["supervisor_pid"]
        self.assertTrue(os.readlink("/proc/%d/exe" % supervisor).startswith("/memfd:stack ("))
        # `exec`: the process that enters the container is a fork of the
        # `stack exec` process, which runs from the sealed copy by the time
        # it makes that child (the child lives as long as `sleep` does)
        proc = subprocess.Popen([STACK, "-p", self.project, "exec", "-T", "a", "sleep", "2"],
                                cwd=self.dir, env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        exe = None
        for _ in range(1000):
            if proc.poll() is not None:
                break
            try:
                with open("/proc/%d/task/%d/children" % (proc.pid, proc.pid)) as f:
                    if f.read().split():
                        exe = os.readlink("/proc/%d/exe" % proc.pid)
                        break
            except (FileNotFoundError, ProcessLookupError):
                pass
            time.sleep(0.01)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)
        self.assertTrue(exe and exe.startswith("/memfd:stack ("), (exe, err))

        # the attack itself: a script whose interpreter is /proc/self/exe,
        # run by `exec`, makes the kernel load the binary of the process
        # that executes it. The host's binary would print its version; the
        # sealed copy is not even loadable through that link from inside
        # the container (the exec fails, 127)
        self.exec_ok("-u", "root", "a", "sh", "-c", "printf '#!/proc/self/exe\\n' > /x; chmod +x /x")
        r = self.stack("exec", "-T", "a", "/x", "version")
        self.assertNotIn("stack version", r.stdout)
        self.assertEqual((r.returncode, r.stderr),
                         (127, "stack: exec `/x`: No such file or directory\n"))

    def test_limits_and_oom(self):
        self.write("""
services:
  hog:
    image: busybox:it
    command: ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]
    mem_limit: 16m
    memswap_limit: 16m
  forks:
    image: busybox:it
    command: ["sleep", "1000"]
    pids_limit: 5
""")
        self.up()
        hog = self.wait_exited("hog")
        self.assertEqual((hog["exit_code"], hog["oom_killed"]), (137, True))
        r = self.stack("exec", "-T", "forks", "sh", "-c",
                       "for i in 1 2 3 4 5 6; do sleep 1 & done; wait")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("can't fork", r.stderr)
        leaf = "%s/%s-forks-1/pids.max" % (self.project, self.project)
        limits = glob.glob("/sys/fs/cgroup/pids/stack/" + leaf) + glob.glob(
            "/sys/fs/cgroup/stack/" + leaf)
        self.assertEqual(len(limits), 1)
        with open(limits[0]) as f:
            self.assertEqual(f.read(), "5\n")


if __name__ == "__main__":
    STACK = os.path.abspath(sys.argv.pop(1))
    unittest.main()
