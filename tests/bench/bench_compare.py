#!/usr/bin/env python3
"""A benchmark, not a test: stack against podman + podman-compose, in the
same run, as one table of medians and ratios (podman / stack: above 1
means stack is faster or smaller; for throughput rows, stack / podman, so
above 1 still means stack does better).

    bench_compare.py PATH/TO/stack [--runs N] [--no-podman]

Rows: `up -d --wait` and `down` of a 3-service stack (busybox services with
healthchecks, one published port) and of a generated 50-service stack;
per-container start (tests/bench/bench_spawn against `crun run`, and
`podman run --rm`); `exec`; idle memory of what stays running beside the
containers; published-port throughput against the same server run on the
host; log throughput; pull from a registry on 127.0.0.1.

It orchestrates the other benchmarks where they already measure a figure
(bench_spawn for per-container start, bench_supervisor.py for log
throughput) and reuses bench_net.py's wrk helpers and bench_pull.py's
image builder.

podman runs as root with everything under this run's temporary directory
(a containers.conf and storage.conf of its own: runc, cgroupfs, file
events and locks, k8s-file logs, netavark), never /var/lib/containers. What
netavark keeps outside it (/run/containers/networks, its iptables chains)
is removed at the end if this run created it. If podman cannot run here the
table says why and its columns are `-`.

Root only. Needs: busybox-static, crun, wrk, curl, docker-registry;
for the podman columns podman, podman-compose and runc.
"""
import argparse
import concurrent.futures
import ctypes
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
from registry import Image, Layer, LayerBlob, Registry, oci_layout  # noqa: E402
import bench_net  # noqa: E402
import bench_pull  # noqa: E402

IMAGE = "localhost/busybox:bench"
PR_SET_CHILD_SUBREAPER = 36
BIG_MIB = 512
HEALTH = """    healthcheck:
      test: %s
      interval: 30s
      start_period: 60s
      start_interval: 100ms
"""


def free_port():
    return bench_net.free_port()


def median(xs):
    return statistics.median(xs) if xs else None


def compose3(www, port):
    """The 3-service stack: two sleepers and an httpd, each with a
    healthcheck; web depends on both and publishes a port."""
    return ("services:\n"
            "  db:\n    image: %s\n    command: [\"sleep\", \"1000000\"]\n" % IMAGE
            + HEALTH % '["CMD", "true"]'
            + "  cache:\n    image: %s\n    command: [\"sleep\", \"1000000\"]\n" % IMAGE
            + HEALTH % '["CMD", "true"]'
            + "  web:\n    image: %s\n" % IMAGE
            + "    command: [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n"
            + "    volumes: [\"%s:/www:ro\"]\n" % www
            + "    ports: [\"127.0.0.1:%d:8080\"]\n" % port
            + "    depends_on: [db, cache]\n"
            + HEALTH % '["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"]')


def compose50():
    return "services:\n" + "".join(
        "  s%02d:\n    image: %s\n    command: [\"sleep\", \"1000000\"]\n" % (i, IMAGE)
        for i in range(50))


# ---- processes ----

def set_subreaper():
    """Daemons we cause (stack's supervisor, conmon, aardvark-dns) become
    our children, so we reap them and can tell if one is left."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def children():
    """(pid, state, comm) of our child processes."""
    me = os.getpid()
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        fields = s.rsplit(")", 1)[1].split()
        if int(fields[1]) == me:
            out.append((int(d), fields[0], comm))
    return out


def reap():
    """Wait for our zombie children, one by one by pid (a waitpid(-1)
    could take one from a subprocess call)."""
    for pid, state, _ in children():
        if state == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def mounts_under(path):
    with open("/proc/self/mounts") as f:
        ms = [l.split()[1].replace("\\040", " ") for l in f]
    return sorted((m for m in ms if m == path or m.startswith(path + "/")), key=len,
                  reverse=True)


def umount_under(path):
    for m in mounts_under(path):
        subprocess.run(["umount", "-l", m], capture_output=True)


def links():
    r = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True)
    return {l.split()[0].split("@")[0] for l in r.stdout.splitlines() if l.strip()}


# ---- netavark's iptables chains ----

def iptables_save():
    r = subprocess.run(["iptables-save"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else ""


def netavark_chains():
    return sorted(set(re.findall(r"^:(NETAVARK[\w-]*)", iptables_save(), re.M)))


def nft_tables():
    r = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True)
    return set(r.stdout.split("\n")) - {""}


def remove_netavark_chains():
    """Delete the rules that jump to NETAVARK* chains, then the chains."""
    table = None
    rules, chains = [], []
    for line in iptables_save().splitlines():
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":NETAVARK"):
            chains.append((table, line[1:].split()[0]))
        elif line.startswith("-A ") and "NETAVARK" in line:
            parts = shlex.split(line)
            if not parts[1].startswith("NETAVARK"):
                rules.append((table, parts[1:]))
    for table, spec in rules:
        subprocess.run(["iptables", "-t", table, "-D"] + spec, capture_output=True)
    for table, chain in chains:
        subprocess.run(["iptables", "-t", table, "-F", chain], capture_output=True)
    for table, chain in chains:
        subprocess.run(["iptables", "-t", table, "-X", chain], capture_output=True)


def table_is_empty(family, name):
    """Only chains with their type and policy, no rule."""
    r = subprocess.run(["nft", "list", "table", family, name], capture_output=True, text=True)
    if r.returncode != 0:
        return False
    for line in r.stdout.splitlines():
        t = line.strip()
        if t and t != "}" and not t.startswith(("table ", "chain ", "type ")):
            return False
    return True


# ---- stack ----

class Stack:
    def __init__(self, binary, tmp):
        self.bin = binary
        self.dir = os.path.join(tmp, "stack")
        os.makedirs(self.dir)
        self.env = dict(os.environ, STACK_ROOT=os.path.join(self.dir, "root"),
                        STACK_RUN=os.path.join(self.dir, "run"))
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        self.projects = set()
        self.links = set()

    def run(self, project, *args, check=True, timeout=600):
        if project:
            self.projects.add(project)
        cmd = [self.bin] + (["-p", project] if project else []) + list(args)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        dt = time.perf_counter() - t0
        if check and r.returncode != 0:
            raise RuntimeError("stack %s: %s" % (" ".join(args), r.stderr.strip()))
        return dt, r

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def record_links(self, project):
        """The bridges and host-side veths the project's state names."""
        with open(os.path.join(self.env["STACK_RUN"], project, "state.json")) as f:
            state = json.load(f)

        def walk(o):
            if isinstance(o, dict):
                for k, v in o.items():
                    if k in ("bridge", "host_ifname") and isinstance(v, str):
                        self.links.add(v)
                    else:
                        walk(v)
            elif isinstance(o, list):
                for v in o:
                    walk(v)
        walk(state)

    def supervisor(self, project):
        with open(os.path.join(self.env["STACK_RUN"], project, "state.json")) as f:
            return json.load(f)["supervisor_pid"]

    def cleanup(self):
        for p in sorted(self.projects):
            for f in ("c3.yml", "c50.yml"):
                if os.path.exists(os.path.join(self.dir, f)):
                    self.run(p, "-f", f, "down", "-v", "-t", "0", check=False)


# ---- podman ----

class Podman:
    """podman and podman-compose with all their state in our temp dir."""

    def __init__(self, tmp):
        self.dir = os.path.join(tmp, "podman")
        os.makedirs(os.path.join(self.dir, "copytmp"))
        conf = os.path.join(self.dir, "containers.conf")
        storage = os.path.join(self.dir, "storage.conf")
        # a hard limit above ours fails with EPERM (we lack CAP_SYS_RESOURCE);
        # podman's defaults (nofile 1048576, nproc 4194304) are above it
        nofile = min(os.sysconf("SC_OPEN_MAX"), 1048576)
        with open(conf, "w") as f:
            f.write("""[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=%(nofile)d:%(nofile)d", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "%(d)s/events.log"
lock_type = "file"
tmp_dir = "%(d)s/libpod-tmp"
volume_path = "%(d)s/volumes"
image_copy_tmp_dir = "%(d)s/copytmp"
[network]
network_backend = "netavark"
network_config_dir = "%(d)s/networks"
""" % {"d": self.dir, "nofile": nofile})
        with open(storage, "w") as f:
            f.write('[storage]\ndriver = "overlay"\ngraphroot = "%s/storage"\n'
                    'runroot = "%s/runroot"\n' % (self.dir, self.dir))
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)
        self.projects = set()

    def run(self, *args, check=True, timeout=600):
        t0 = time.perf_counter()
        r = subprocess.run(["podman"] + list(args), cwd=self.dir, env=self.env,
                           capture_output=True, text=True, timeout=timeout)
        dt = time.perf_counter() - t0
        if check and r.returncode != 0:
            raise RuntimeError("podman %s: %s" % (" ".join(args), r.stderr.strip()[-2000:]))
        return dt, r

    def compose(self, project, file, *args, check=True):
        self.projects.add(project)
        t0 = time.perf_counter()
        r = subprocess.run(["podman-compose", "-p", project, "-f", file] + list(args),
                           cwd=self.dir, env=self.env, capture_output=True, text=True,
                           timeout=900)
        dt = time.perf_counter() - t0
        # podman-compose 1.0.3 exits 0 when a podman command it ran failed
        bad = re.search(r"^exit code: ([1-9]\d*)$", r.stdout, re.M)
        if check and (r.returncode != 0 or bad):
            raise RuntimeError("podman-compose %s: %s" % (" ".join(args),
                                                          (r.stdout + r.stderr)[-2000:]))
        return dt, r

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def down(self, project, file):
        """podman-compose 1.0.3's `down` leaves the network it created."""
        dt, _ = self.compose(project, file, "down", "-t", "0")
        t0 = time.perf_counter()
        self.run("network", "rm", "-f", project + "_default", check=False)
        return dt + time.perf_counter() - t0

    def containers(self, project):
        _, r = self.run("ps", "-a", "--filter", "label=io.podman.compose.project=" + project,
                        "--format", "{{.Names}}")
        return r.stdout.split()

    def wait_healthy(self, names, deadline=60):
        """podman 4.3 runs healthchecks from systemd timers; with no systemd
        none run, so we run `podman healthcheck run` for each container (in
        parallel, every 100 ms until it passes) and then check with
        `podman inspect` that all are healthy."""
        end = time.monotonic() + deadline

        def one(name):
            while time.monotonic() < end:
                if self.run("healthcheck", "run", name, check=False)[1].returncode == 0:
                    return
                time.sleep(0.1)
            raise RuntimeError("podman: %s not healthy" % name)

        with concurrent.futures.ThreadPoolExecutor(len(names)) as ex:
            list(ex.map(one, names))
        _, r = self.run("inspect", "--format", "{{.State.Health.Status}}", *names)
        if set(r.stdout.split()) != {"healthy"}:
            raise RuntimeError("podman: health %s" % r.stdout.split())

    def conmon_kib(self, names, key="VmRSS"):
        _, r = self.run("inspect", "--format", "{{.State.ConmonPid}}", *names)
        pids = [int(x) for x in r.stdout.split()]
        return sum(pss_kib(p) if key == "Pss" else status_kib(p, key) for p in pids)

    def cleanup(self):
        self.run("rm", "-a", "-f", "-t", "0", check=False)
        self.run("pod", "rm", "-a", "-f", check=False)
        for p in sorted(self.projects):
            self.run("network", "rm", "-f", p + "_default", check=False)
        self.run("volume", "rm", "-a", "-f", check=False)
        self.run("rmi", "-a", "-f", check=False)
        umount_under(self.dir)


def podman_probe(pm, layout):
    """Load the image and run one container; None, or why podman cannot run."""
    for tool in ("podman", "podman-compose", "runc"):
        if not shutil.which(tool):
            return "%s is not installed (apt-get install podman podman-compose runc)" % tool
    try:
        _, r = pm.run("pull", "-q", "oci:%s:bench" % layout)
        pm.run("tag", r.stdout.split()[-1], IMAGE)
        _, r = pm.run("run", "--rm", IMAGE, "echo", "ok")
        if r.stdout.strip() != "ok":
            return "podman run printed %r" % r.stdout
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        return str(e).strip().splitlines()[-1]
    return None


# ---- the benchmark ----

class Bench:
    def __init__(self, args):
        self.args = args
        self.runs = args.runs
        self.cheap = max(args.runs, 5)
        # podman names an image pulled from oci:DIR after DIR: keep the
        # path a valid reference (mkdtemp's suffix may hold "_")
        self.tmp = "/tmp/stack-bench-cmp-%d" % os.getpid()
        os.mkdir(self.tmp, 0o700)
        self.st = Stack(os.path.abspath(args.stack), self.tmp)
        self.pm = None
        self.pm_why = "--no-podman"
        self.sp = "bcs-%d" % os.getpid()  # project names: stack, podman
        self.pp = "bcp%d" % os.getpid()
        self.rows = []  # (what, stack, podman, ratio, note)
        self.notes = []
        self.procs = []
        self.links0 = links()
        self.chains0 = netavark_chains()
        self.tables0 = nft_tables()
        self.run_containers0 = os.path.exists("/run/containers")
        self.shm_lock0 = os.path.exists("/dev/shm/libpod_lock")

    def row(self, what, s, p, unit, fmt="%.0f", higher_better=False, note=""):
        sv = (fmt % s + " " + unit) if s is not None else "-"
        pv = (fmt % p + " " + unit) if p is not None else "-"
        ratio = "-"
        if s and p:
            ratio = "%.2f" % ((s / p) if higher_better else (p / s))
        self.rows.append((what, sv, pv, ratio, note))

    # -- setup --

    def setup(self):
        img = Image([LayerBlob(Layer().busybox().tar())], config={"Cmd": ["sh"]})
        layout = oci_layout(os.path.join(self.tmp, "busybox-oci"), img, "bench")
        with open(os.path.join(layout, "index.json")) as f:
            index = json.load(f)
        index["manifests"][0]["annotations"]["io.containerd.image.name"] = IMAGE
        with open(os.path.join(layout, "index.json"), "w") as f:
            json.dump(index, f)
        self.st.run(None, "image", "load", "-i", layout)
        self.www = os.path.join(self.tmp, "www")
        os.mkdir(self.www)
        with open(os.path.join(self.www, "index.html"), "w") as f:
            f.write("ok\n")
        with open(os.path.join(self.www, "f"), "w") as f:
            f.write("x" * 612 + "\n")
        block = os.urandom(1 << 20)
        with open(os.path.join(self.www, "big"), "wb") as f:
            for _ in range(BIG_MIB):
                f.write(block)
        if not self.args.no_podman:
            self.pm = Podman(self.tmp)
            self.pm_why = podman_probe(self.pm, layout)
            if self.pm_why:
                print("podman: not runnable here: %s" % self.pm_why)
                self.pm.cleanup()
                self.pm = None

    # -- up / down --

    def up_down(self):
        self.port_st, self.port_pm = free_port(), free_port()
        self.st.write("c3.yml", compose3(self.www, self.port_st))
        self.st.write("c50.yml", compose50())
        if self.pm:
            self.pm.write("c3.yml", compose3(self.www, self.port_pm))
            self.pm.write("c50.yml", compose50())
        res = {}
        for file, n, runs in (("c3.yml", 3, self.cheap), ("c50.yml", 50, self.runs)):
            su, sd, pu, pd, pu_only = [], [], [], [], []
            for i in range(runs + (1 if n == 3 else 0)):  # one warm-up for the small one
                up, _ = self.st.run(self.sp, "-f", file, "up", "-d", "--wait")
                self.st.record_links(self.sp)
                last = i == runs - 1 + (1 if n == 3 else 0)
                if n == 50 and last:
                    time.sleep(2)
                    rss50 = [status_kib(self.st.supervisor(self.sp), "VmRSS"), None]
                down, _ = self.st.run(self.sp, "-f", file, "down", "-t", "0")
                reap()
                if self.pm:
                    t0 = time.perf_counter()
                    u, _ = self.pm.compose(self.pp, file, "up", "-d")
                    if n == 3:
                        self.pm.wait_healthy(self.pm.containers(self.pp))
                        t1 = time.perf_counter()
                    else:
                        t1 = time.perf_counter()
                        _, r = self.pm.run("ps", "--filter", "label=io.podman.compose.project=" + self.pp,
                                           "--filter", "status=running", "-q")
                        if len(r.stdout.split()) != n:
                            raise RuntimeError("podman-compose: %d of %d running"
                                               % (len(r.stdout.split()), n))
                        if last:
                            time.sleep(2)
                            rss50[1] = self.pm.conmon_kib(self.pm.containers(self.pp))
                    d = self.pm.down(self.pp, file)
                    reap()
                if n == 3 and i == 0:
                    continue
                su.append(up * 1e3)
                sd.append(down * 1e3)
                if self.pm:
                    pu.append((t1 - t0) * 1e3)
                    pu_only.append(u * 1e3)
                    pd.append(d * 1e3)
            if n == 50:
                self.rss50 = rss50
            res[n] = (median(su), median(sd), median(pu), median(pd), median(pu_only), runs)
        for n in (3, 50):
            su, sd, pu, pd, pu_only, runs = res[n]
            self.row("up -d --wait, %d services (median of %d)" % (n, runs), su, pu, "ms",
                     note="a" if n == 3 else "b")
            self.row("down -t 0, %d services" % n, sd, pd, "ms", note="c")
            if n == 50:
                self.row("idle RSS beside 50 containers", self.rss50[0] / 1024,
                         self.rss50[1] and self.rss50[1] / 1024, "MiB", "%.1f", note="d")
            if self.pm:
                self.notes.append("   podman-compose up -d alone, %d services: %.0f ms"
                                  % (n, pu_only))

    # -- the 3-service stack, running: memory, exec, throughput --

    def running(self):
        self.st.run(self.sp, "-f", "c3.yml", "up", "-d", "--wait")
        self.st.record_links(self.sp)
        if self.pm:
            self.pm.compose(self.pp, "c3.yml", "up", "-d")
            names = self.pm.containers(self.pp)
            self.pm.wait_healthy(names)
        time.sleep(2)
        sup = self.st.supervisor(self.sp)
        s_rss, s_pss = status_kib(sup, "VmRSS"), pss_kib(sup)
        p_rss = p_pss = a_rss = None
        if self.pm:
            p_rss = self.pm.conmon_kib(names)
            p_pss = self.pm.conmon_kib(names, "Pss")
            aardvark = [pid for pid, st, comm in children() if comm == "aardvark-dns"]
            a_rss = sum(status_kib(p, "VmRSS") for p in aardvark)
            self.notes.append("   aardvark-dns (podman's DNS server for the network): %.1f MiB "
                              "RSS more" % (a_rss / 1024))
        self.row("idle RSS beside 3 containers", s_rss / 1024, p_rss and p_rss / 1024, "MiB",
                 "%.1f", note="d")
        self.row("idle PSS beside 3 containers", s_pss / 1024, p_pss and p_pss / 1024, "MiB",
                 "%.1f")

        se, pe = [], []
        for _ in range(self.cheap + 1):
            se.append(self.st.run(self.sp, "-f", "c3.yml", "exec", "-T", "web", "true")[0] * 1e3)
            if self.pm:
                pe.append(self.pm.run("exec", self.pp + "_web_1", "true")[0] * 1e3)
        self.row("exec -T web true (median of %d)" % self.cheap, median(se[1:]),
                 median(pe[1:]) if pe else None, "ms")

        self.throughput()
        self.st.run(self.sp, "-f", "c3.yml", "down", "-t", "0")
        if self.pm:
            self.pm.down(self.pp, "c3.yml")
        reap()

    def throughput(self):
        host_port = free_port()
        host = subprocess.Popen(["/bin/busybox", "httpd", "-f", "-p", "127.0.0.1:%d" % host_port,
                                 "-h", self.www])
        self.procs.append(host)
        targets = [("host", host_port), ("stack", self.port_st)]
        if self.pm:
            targets.append(("podman", self.port_pm))
        for _, port in targets:
            bench_net.wait_http("127.0.0.1", port)
            bench_net.wrk("http://127.0.0.1:%d/f" % port, 1, 2, 32)  # warm up
        bulk = {t: [] for t, _ in targets}
        rps = {t: [] for t, _ in targets}
        for _ in range(self.cheap):
            for t, port in targets:
                r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{speed_download}",
                                    "http://127.0.0.1:%d/big" % port], capture_output=True,
                                   text=True, timeout=120, check=True)
                bulk[t].append(float(r.stdout) / (1 << 20))
                rps[t].append(bench_net.wrk("http://127.0.0.1:%d/f" % port,
                                            self.args.duration, 2, 32)[0])
        host.kill()
        host.wait()
        h = median(bulk["host"])
        p = median(bulk["podman"]) if self.pm else None
        self.row("port 127.0.0.1 → httpd, %d MiB file (curl)" % BIG_MIB, median(bulk["stack"]), p,
                 "MiB/s", higher_better=True, note="e")
        self.notes.append("   the same file from busybox httpd on the host: %.0f MiB/s; "
                          "stack %.0f%%%s of it" % (h, 100 * median(bulk["stack"]) / h,
                                                    ", podman %.0f%%" % (100 * p / h) if p else ""))
        hr = median(rps["host"])
        pr = median(rps["podman"]) if self.pm else None
        self.row("port 127.0.0.1 → httpd, 613 B (wrk -t2 -c32)", median(rps["stack"]), pr,
                 "req/s", higher_better=True)
        self.notes.append("   the same requests to busybox httpd on the host: %.0f req/s; "
                          "stack %.0f%%%s of it" % (hr, 100 * median(rps["stack"]) / hr,
                                                    ", podman %.0f%%" % (100 * pr / hr) if pr else ""))

    # -- per-container start --

    def start(self):
        spawn = self.args.bench_spawn or os.path.join(os.path.dirname(self.st.bin), "tests",
                                                      "bench_spawn")
        figures = {}
        if os.access(spawn, os.X_OK):
            r = subprocess.run([spawn, str(self.args.spawn_runs)], capture_output=True,
                               text=True, timeout=900)
            if r.returncode != 0:
                raise RuntimeError("bench_spawn: %s" % r.stderr.strip())
            for line in r.stdout.splitlines():
                m = re.match(r"^(.*?)\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", line)
                if m:
                    figures[m.group(1).strip()] = float(m.group(4))
        else:
            self.notes.append("   %s not built: per-container start rows skipped" % spawn)
        s = figures.get("stack: spawn → exit+destroy")
        c = figures.get("crun run: fork → exit")
        pr = None
        if self.pm:
            ts = [self.pm.run("run", "--rm", IMAGE, "true")[0] * 1e3
                  for _ in range(self.cheap + 1)]
            pr = median(ts[1:])
            tn = [self.pm.run("run", "--rm", "--network", "none", IMAGE, "true")[0] * 1e3
                  for _ in range(self.cheap + 1)]
            self.notes.append("   podman run --rm --network none %s true: %.0f ms"
                              % (IMAGE, median(tn[1:])))
            reap()
        if s is not None:
            self.rows.append(("container start→exit→removed: stack vs crun run",
                              "%.1f ms" % s, "%.1f ms (crun)" % c if c else "-",
                              "%.2f" % (c / s) if c else "-", "f"))
            self.row("container start→exit→removed: stack vs podman run --rm", s, pr, "ms",
                     "%.1f", note="f")

    # -- logs --

    def logs(self):
        sv = os.path.join(HERE, "bench_supervisor.py")
        r = subprocess.run([sys.executable, sv, self.st.bin], capture_output=True, text=True,
                           timeout=900)
        m = re.search(r"^log throughput.*?\s([\d.]+) lines/s", r.stdout, re.M)
        if r.returncode != 0 or not m:
            raise RuntimeError("bench_supervisor.py: %s%s" % (r.stdout, r.stderr))
        s = float(m.group(1))
        self.notes.append("   bench_supervisor.py: " + re.search(r"^log throughput.*$", r.stdout,
                                                                   re.M).group(0))
        p = None
        if self.pm:
            lines = 2000000
            t0 = time.perf_counter()
            self.pm.run("run", "-d", "--name", self.pp + "-flood", IMAGE, "sh", "-c",
                        "yes 'a line of log output, 40 bytes long' | head -n %d" % lines)
            self.pm.run("wait", self.pp + "-flood")
            dt = time.perf_counter() - t0
            _, r = self.pm.run("inspect", "--format", "{{.HostConfig.LogConfig.Path}}",
                               self.pp + "-flood")
            with open(r.stdout.strip(), "rb") as f:
                kept = sum(1 for _ in f)
            self.pm.run("rm", "-f", self.pp + "-flood")
            reap()
            p = kept / dt
            if kept != lines:
                self.notes.append("   podman kept %d of %d lines" % (kept, lines))
        self.row("log throughput, 2,000,000 lines of 40 B", s, p, "lines/s", higher_better=True,
                 note="g")

    # -- pull --

    def pull(self):
        d = os.path.join(self.tmp, "pull")
        os.mkdir(d)
        reg = Registry(d)
        self.procs.append(reg.proc)
        unpacked, compressed = bench_pull.make_layout(os.path.join(d, "oci"))
        ref = "%s/bench/image:1" % reg.host
        reg.push(os.path.join(d, "oci"), "bench/image:1", tag="bench")
        st, pm = [], []
        for i in range(self.runs):
            root = os.path.join(d, "stack%d" % i)
            env = dict(self.st.env, STACK_ROOT=root)
            t0 = time.perf_counter()
            subprocess.run([self.st.bin, "image", "pull", "-q", ref], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            st.append(time.perf_counter() - t0)
            shutil.rmtree(root)
            if self.pm:
                proot = os.path.join(d, "podman%d" % i)
                g = ["--root", proot + "/root", "--runroot", proot + "/run",
                     "--tmpdir", proot + "/tmp"]
                dt, _ = self.pm.run(*g, "pull", "-q", "--tls-verify=false", ref)
                pm.append(dt)
                self.pm.run(*g, "rmi", "-a", "-f", check=False)
                umount_under(proot)
                shutil.rmtree(proot)
        reg.stop()
        self.row("pull, 5 layers: %.0f MB gzip, %.0f MB unpacked" % (compressed / 1e6,
                                                                     unpacked / 1e6),
                 median(st), median(pm) if pm else None, "s", "%.2f", note="h")

    # -- the end --

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.st.cleanup()
        if self.pm:
            self.pm.cleanup()
        reap()
        time.sleep(0.5)
        reap()
        umount_under(self.tmp)
        shutil.rmtree(self.tmp, ignore_errors=True)
        # what podman's netavark keeps outside our temp dir
        if not self.chains0 and netavark_chains():
            remove_netavark_chains()
        for t in sorted(nft_tables() - self.tables0):
            fam, name = t.split()[1:3]
            if fam == "ip" and name in ("nat", "filter") and table_is_empty(fam, name):
                subprocess.run(["nft", "delete", "table", fam, name], capture_output=True)
        if not self.run_containers0 and os.path.isdir("/run/containers"):
            shutil.rmtree("/run/containers", ignore_errors=True)
        if not self.shm_lock0 and os.path.exists("/dev/shm/libpod_lock"):
            os.unlink("/dev/shm/libpod_lock")

    def leaks(self):
        """What is left that was not there when we began."""
        left = []
        now = links()
        # other sessions' stacks come and go: ours are the ones our state named
        new = (now & self.st.links) | {l for l in now - self.links0
                                       if l.startswith(("podman", "veth", "cni"))}
        if new:
            left.append("links: " + " ".join(sorted(new)))
        if mounts_under(self.tmp):
            left.append("mounts: " + " ".join(mounts_under(self.tmp)))
        if os.path.exists(self.tmp):
            left.append("directory " + self.tmp)
        alive = [c for c in children() if c[1] != "Z"]
        for pid, _, comm in alive:
            left.append("process %d (%s), now killed" % (pid, comm))
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except OSError:
                pass
        if netavark_chains() and not self.chains0:
            left.append("iptables chains: " + " ".join(netavark_chains()))
        r = subprocess.run(["nft", "list", "table", "inet", "stack"], capture_output=True,
                           text=True)
        mine = re.findall(r"chain (%s-\S+)" % self.sp, r.stdout)
        if mine:
            left.append("nft chains in inet stack: " + " ".join(mine))
        extra = {t for t in nft_tables() - self.tables0 if t != "table inet stack"}
        if extra:
            left.append("nft tables: " + ", ".join(sorted(extra)))
        return left

    def print_table(self, seconds):
        head = ("what", "stack", "podman(-compose)", "ratio")
        rows = [r[:4] for r in self.rows]
        rows = [(r[0] + (" (%s)" % self.rows[i][4] if self.rows[i][4] else ""),) + r[1:]
                for i, r in enumerate(rows)]
        w = [max(len(x[i]) for x in rows + [head]) for i in range(4)]
        print("| %s | %s | %s | %s |" % tuple(h.ljust(w[i]) if i == 0 else h.rjust(w[i])
                                            for i, h in enumerate(head)))
        print("| %s | %s: | %s: | %s: |" % ("-" * w[0], "-" * (w[1] - 1), "-" * (w[2] - 1),
                                              "-" * (w[3] - 1)))
        for r in rows:
            print("| %s | %s | %s | %s |" % tuple(x.ljust(w[i]) if i == 0 else x.rjust(w[i])
                                                for i, x in enumerate(r)))
        print()
        print("ratio: podman / stack for times and memory, stack / podman for throughput "
              "(above 1: stack does better)")
        if self.pm is None:
            print("podman: skipped (--no-podman)" if self.args.no_podman
                  else "podman: not runnable here: %s" % self.pm_why)
        for n in FOOTNOTES:
            if any(r[4] == n[0] for r in self.rows):
                print(n)
        for n in self.notes:
            print(n)
        print("machine: %d cpus, kernel %s, load average at the end %s; whole run %.0f s"
              % (os.cpu_count(), os.uname().release,
                 " ".join(open("/proc/loadavg").read().split()[:3]), seconds))


FOOTNOTES = [
    "a  healthchecks (start_interval 100ms for stack); podman-compose 1.0.3 has no --wait and "
    "podman 4.3 runs healthchecks from systemd timers, absent here: the podman figure is "
    "`podman-compose up -d` plus `podman healthcheck run` for each container (in parallel, "
    "every 100 ms until it passes) and a `podman inspect` showing all healthy",
    "b  no healthchecks: `up -d --wait` waits for running; podman: `podman-compose up -d` "
    "(podman run -d returns once the container runs)",
    "c  podman: `podman-compose down -t 0` plus `podman network rm` (podman-compose 1.0.3's "
    "down leaves the network it created)",
    "d  stack: its one supervisor; podman: the sum of its conmon processes (one per container), "
    "aardvark-dns not counted",
    "e  curl from the host to 127.0.0.1:PORT (stack: nftables DNAT; podman: netavark's "
    "iptables DNAT), interleaved runs",
    "f  stack: tests/bench/bench_spawn (the runtime as a library call, no CLI) spawn → exit "
    "+ destroy, median; crun run and `podman run --rm IMAGE true` (a CLI, an image store, "
    "a network, conmon) do more, so these rows show what each layer costs, not like for like",
    "g  stack: bench_supervisor.py (`yes | head` in a container, every line in json.log, "
    "from `up -d` to exit); podman: `podman run -d` to `podman wait`, k8s-file log",
    "h  a local docker-registry on 127.0.0.1, plain HTTP, fresh store each run "
    "(bench_pull.py's image builder); podman: `podman pull --tls-verify=false` into a fresh "
    "--root",
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stack")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--spawn-runs", type=int, default=50, help="bench_spawn runs")
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--bench-spawn", help="path of bench_spawn (default: next to stack)")
    ap.add_argument("--no-podman", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_compare: needs root")
    for tool in ("/bin/busybox", shutil.which("wrk"), shutil.which("curl"),
                 shutil.which("docker-registry"), shutil.which("skopeo")):
        if not tool or not os.access(tool, os.X_OK):
            sys.exit("bench_compare: needs busybox-static, wrk, curl, docker-registry, skopeo")
    set_subreaper()
    t0 = time.monotonic()
    b = Bench(a)
    failed = None
    try:
        b.setup()
        for phase in (b.up_down, b.running, b.start, b.logs, b.pull):
            print("bench_compare: %s ..." % phase.__name__, file=sys.stderr, flush=True)
            phase()
    except BaseException as e:  # noqa: B902 -- clean up on Ctrl-C too
        failed = e
    finally:
        b.cleanup()
    left = b.leaks()
    if b.rows:
        b.print_table(time.monotonic() - t0)
    print("left behind: %s" % ("; ".join(left) if left else "nothing"))
    if failed:
        if isinstance(failed, KeyboardInterrupt):
            return 130
        print("bench_compare: %s" % failed, file=sys.stderr)
        return 1
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
