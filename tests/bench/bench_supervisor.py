#!/usr/bin/env python3
"""A benchmark, not a test: what the supervisor costs. Prints

  - its resident memory with 1, 10 and 100 services running,
  - the CPU time it uses over 10 s while they idle,
  - log throughput: lines a second from a container writing as fast as it
    can, all of them kept in its json.log,
  - `up -d` and `down` wall time for 3 and 50 services.

Root only; everything under a temporary STACK_ROOT and STACK_RUN, removed
at the end.

    bench_supervisor.py PATH/TO/stack
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from test_lifecycle import busybox_tar  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def services(n, command='["sleep", "100000"]'):
    return "services:\n" + "".join(
        "  s%03d:\n    image: busybox:bench\n    command: %s\n" % (i, command) for i in range(n))


class Bench:
    def __init__(self, stack):
        self.stack = stack
        self.tmp = tempfile.mkdtemp(prefix="stack-bench-sv-")
        self.env = dict(os.environ, STACK_ROOT=os.path.join(self.tmp, "root"),
                        STACK_RUN=os.path.join(self.tmp, "run"))
        self.project = "bsv-%d" % os.getpid()
        busybox_tar(os.path.join(self.tmp, "busybox.tar"))
        self.run("image", "import", os.path.join(self.tmp, "busybox.tar"), "busybox:bench")

    def run(self, *args, check=True):
        t0 = time.perf_counter()
        r = subprocess.run([self.stack, "-p", self.project] + list(args), cwd=self.tmp,
                           env=self.env, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if check and r.returncode != 0:
            raise RuntimeError("stack %s: %s" % (" ".join(args), r.stderr.strip()))
        return dt, r

    def write(self, text):
        with open(os.path.join(self.tmp, "stack.yml"), "w") as f:
            f.write(text)

    def supervisor_pid(self):
        with open(os.path.join(self.env["STACK_RUN"], self.project, "state.json")) as f:
            return json.load(f)["supervisor_pid"]

    def cleanup(self):
        self.run("down", "-t", "0", check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def main():
    if os.geteuid() != 0:
        print("bench_supervisor: needs root", file=sys.stderr)
        return 1
    b = Bench(os.path.abspath(sys.argv[1]))
    rows = []
    try:
        for n in (1, 10, 100):
            b.write(services(n))
            b.run("up", "-d")
            pid = b.supervisor_pid()
            time.sleep(0.5)
            rows.append(("supervisor RSS, %d service%s" % (n, "s" if n > 1 else ""),
                         "%.1f MiB" % (rss_kib(pid) / 1024)))
            if n == 100:
                c0 = cpu_seconds(pid)
                time.sleep(10)
                rows.append(("supervisor CPU while 100 services idle, 10 s",
                             "%.3f s" % (cpu_seconds(pid) - c0)))
            b.run("down", "-t", "0")

        # log throughput: yes(1) as fast as it can, for a few seconds
        b.write("services:\n  flood:\n    image: busybox:bench\n"
                "    command: [\"sh\", \"-c\", \"yes 'a line of log output, 40 bytes long' | "
                "head -n 2000000\"]\n"
                "    logging:\n      options:\n        max-size: 1g\n        max-file: '1'\n"
                "  quiet:\n    image: busybox:bench\n    command: [\"sleep\", \"100000\"]\n")
        t0 = time.perf_counter()
        b.run("up", "-d")
        pid = b.supervisor_pid()
        c0 = cpu_seconds(pid)
        log = os.path.join(b.env["STACK_ROOT"], "containers", b.project + "-flood-1", "json.log")
        peak = 0
        while True:
            _, r = b.run("ps", "-a", "--format", "json")
            peak = max(peak, rss_kib(pid))
            if any(c["service"] == "flood" and c["state"] == "exited" for c in json.loads(r.stdout)):
                break
            time.sleep(0.2)
        dt = time.perf_counter() - t0
        with open(log, "rb") as f:
            lines = sum(1 for _ in f)
        rows.append(("log throughput (2,000,000 lines of 40 bytes)",
                     "%.0f lines/s (%.1f s, supervisor CPU %.2f s, RSS peak %.1f MiB)"
                     % (lines / dt, dt, cpu_seconds(pid) - c0, peak / 1024)))
        if lines != 2000000:
            rows.append(("  lines kept", "%d of 2000000" % lines))
        b.run("down", "-t", "0")

        for n, runs in ((3, 10), (50, 3)):
            b.write(services(n))
            ups, downs = [], []
            for _ in range(runs):
                ups.append(b.run("up", "-d")[0] * 1000)
                downs.append(b.run("down", "-t", "0")[0] * 1000)
            rows.append(("up -d, %d services (median of %d)" % (n, runs),
                         "%.0f ms" % statistics.median(ups)))
            rows.append(("down -t 0, %d services (median of %d)" % (n, runs),
                         "%.0f ms" % statistics.median(downs)))
    finally:
        b.cleanup()
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print("%-*s  %s" % (width, name, value))
    return 0


if __name__ == "__main__":
    sys.exit(main())
