#!/usr/bin/env python3
"""A benchmark, not a test: `up -d` and `down` of a 3-service stack, `ps`
and `exec`, timed as a user runs them (process start included), and the
supervisor's memory. Root only; everything under a temporary STACK_ROOT
and STACK_RUN, removed at the end.

    bench_up.py PATH/TO/stack [RUNS]
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

STACK_YML = """
services:
  db:
    image: busybox:bench
    command: ["sleep", "1000"]
    volumes: [data:/data]
  cache:
    image: busybox:bench
    command: ["sleep", "1000"]
  app:
    image: busybox:bench
    command: ["sleep", "1000"]
    depends_on: [db, cache]
    mem_limit: 64m
volumes:
  data:
"""


def main():
    if os.geteuid() != 0:
        print("bench_up: needs root", file=sys.stderr)
        return 1
    stack = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    tmp = tempfile.mkdtemp(prefix="stack-bench-up-")
    env = dict(os.environ, STACK_ROOT=os.path.join(tmp, "root"),
               STACK_RUN=os.path.join(tmp, "run"))
    project = "bench-%d" % os.getpid()

    def run(*args):
        t0 = time.perf_counter()
        r = subprocess.run([stack, "-p", project] + list(args), cwd=tmp, env=env,
                           capture_output=True, text=True)
        dt = (time.perf_counter() - t0) * 1000
        if r.returncode != 0:
            raise RuntimeError("stack %s: %s" % (" ".join(args), r.stderr.strip()))
        return dt, r

    times = {k: [] for k in ("up -d (3 services)", "ps --format json", "exec -T app true",
                             "down -t 0 (3 services)")}
    rss = []
    try:
        busybox_tar(os.path.join(tmp, "rootfs.tar"))
        with open(os.path.join(tmp, "stack.yml"), "w") as f:
            f.write(STACK_YML)
        run("image", "import", os.path.join(tmp, "rootfs.tar"), "busybox:bench")
        for i in range(runs + 2):
            up, _ = run("up", "-d")
            ps, _ = run("ps", "--format", "json")
            ex, _ = run("exec", "-T", "app", "true")
            with open(os.path.join(env["STACK_RUN"], project, "state.json")) as f:
                sup = json.load(f)["supervisor_pid"]
            with open("/proc/%d/status" % sup) as f:
                kb = [int(l.split()[1]) for l in f if l.startswith("VmRSS:")][0]
            down, _ = run("down", "-t", "0")
            if i < 2:
                continue  # warm-up
            for k, v in zip(times, (up, ps, ex, down)):
                times[k].append(v)
            rss.append(kb)
    finally:
        subprocess.run([stack, "-p", project, "down", "-v", "-t", "0"], cwd=tmp, env=env,
                       capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    print("%-28s %5s %8s %8s %8s   (ms, process start included)" % ("what", "runs", "min",
                                                                      "median", "p90"))
    for k, v in times.items():
        v.sort()
        print("%-28s %5d %8.1f %8.1f %8.1f" % (k, len(v), v[0], statistics.median(v),
                                              v[int(len(v) * 0.9) - 1]))
    print("supervisor RSS with 3 containers: median %d KiB" % statistics.median(rss))
    return 0


if __name__ == "__main__":
    sys.exit(main())
