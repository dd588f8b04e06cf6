#!/usr/bin/env python3
"""A benchmark, not a test (root; wrk installed): what stack's networking
costs.

1. Requests per second with wrk to busybox httpd in a container, through a
   published port (kernel DNAT) and by the container's address (bridge, no
   NAT), against the same busybox httpd run directly on the host on
   127.0.0.1, as a ratio.
2. The time network setup adds to `up -d` of one service: the median of N
   `up -d` / `down -t 0` rounds with `network_mode: none`, the default
   network (a bridge, a veth, the project's chains), the default network
   plus a published port, and two networks (the cost of one more bridge).

    bench_net.py PATH/TO/stack [--rounds N] [--runs N] [--duration S]

Everything it makes (projects, the host httpd, temp dirs) is removed at
the end, also when interrupted.
"""
import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from test_lifecycle import busybox_tar  # noqa: E402

WRK = shutil.which("wrk") or "/usr/bin/wrk"
BUSYBOX = "/bin/busybox"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(host, port, deadline=10.0):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.sendall(b"GET /f HTTP/1.0\r\n\r\n")
                if s.recv(100).startswith(b"HTTP/1."):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("no HTTP server on %s:%d" % (host, port))


def wrk(url, duration, threads, conns):
    r = subprocess.run([WRK, "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, url],
                       capture_output=True, text=True, timeout=duration + 30)
    m = re.search(r"Requests/sec:\s+([0-9.]+)", r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError("wrk %s: %s%s" % (url, r.stdout, r.stderr))
    errors = re.search(r"Socket errors: (.*)", r.stdout)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
    if non2xx:
        raise RuntimeError("wrk %s: %s non-2xx responses" % (url, non2xx.group(1)))
    return float(m.group(1)), errors.group(1) if errors else ""


class Bench:
    def __init__(self, stack):
        self.stack_bin = stack
        self.dir = tempfile.mkdtemp(prefix="stack-bench-net-")
        self.env = dict(os.environ, STACK_ROOT=os.path.join(self.dir, "root"),
                        STACK_RUN=os.path.join(self.dir, "run"))
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        self.projects = set()
        self.procs = []

    def stack(self, project, *args, check=True):
        self.projects.add(project)
        r = subprocess.run([self.stack_bin, "-p", project] + list(args), cwd=self.dir,
                           env=self.env, capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("stack %s: %s" % (" ".join(args), r.stderr))
        return r

    def write(self, text, name="stack.yml"):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for project in sorted(self.projects):
            self.stack(project, "down", "-v", "-t", "0", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def setup(self):
        tar = os.path.join(self.dir, "busybox.tar")
        busybox_tar(tar)
        self.stack("bench", "image", "import", tar, "busybox:bench")
        # the file both servers serve
        www = os.path.join(self.dir, "www")
        os.mkdir(www)
        with open(os.path.join(www, "f"), "w") as f:
            f.write("x" * 612 + "\n")
        self.www = www

    # ---- 1. throughput ----

    def throughput(self, duration, threads, conns, runs):
        port = free_port()
        self.write("""
services:
  web:
    image: busybox:bench
    command: ["httpd", "-f", "-p", "8080", "-h", "/www"]
    volumes: ["%s:/www:ro"]
    ports: ["127.0.0.1:%d:8080"]
""" % (self.www, port), "web.yml")
        self.stack("bench-web", "-f", "web.yml", "up", "-d")
        ip = json.loads(self.stack("bench-web", "ps", "--format", "json").stdout)[0]["ip"]

        host_port = free_port()
        host = subprocess.Popen([BUSYBOX, "httpd", "-f", "-p", "127.0.0.1:%d" % host_port,
                                 "-h", self.www])
        self.procs.append(host)

        targets = [("host: busybox httpd on 127.0.0.1", "127.0.0.1", host_port),
                   ("container: published port 127.0.0.1 (DNAT)", "127.0.0.1", port),
                   ("container: its address (bridge, no NAT)", ip, 8080)]
        for _, h, p in targets:
            wait_http(h, p)
            wrk("http://%s:%d/f" % (h, p), 1, threads, conns)  # warm up
        # interleaved rounds, the median of each: the machine's noise
        # falls on every target alike
        results = {t[0]: [] for t in targets}
        errors = {t[0]: "" for t in targets}
        for _ in range(runs):
            for name, h, p in targets:
                rps, err = wrk("http://%s:%d/f" % (h, p), duration, threads, conns)
                results[name].append(rps)
                errors[name] = errors[name] or err
        host.kill()
        host.wait()
        self.stack("bench-web", "down", "-t", "0")

        base = statistics.median(results[targets[0][0]])
        print("requests/s, wrk -t%d -c%d -d%ds, median of %d interleaved runs "
              "(a 613-byte file, busybox httpd)" % (threads, conns, duration, runs))
        print("  %-46s %12s %8s" % ("target", "req/s", "ratio"))
        for name, _, _ in targets:
            med = statistics.median(results[name])
            print("  %-46s %12.0f %7.1f%%%s" % (name, med, 100 * med / base,
                                                "  (socket errors: %s)" % errors[name]
                                                if errors[name] else ""))
        print()

    # ---- 2. up latency ----

    def latency(self, rounds):
        port = free_port()
        variants = [
            ("network_mode: none",
             "services:\n  a:\n    image: busybox:bench\n    command: sleep 1000\n"
             "    network_mode: none\n"),
            ("default network (1 bridge, 1 veth)",
             "services:\n  a:\n    image: busybox:bench\n    command: sleep 1000\n"),
            ("default network + a published port",
             "services:\n  a:\n    image: busybox:bench\n    command: sleep 1000\n"
             "    ports: [\"127.0.0.1:%d:80\"]\n" % port),
            ("two networks (2 bridges, 2 veths)",
             "services:\n  a:\n    image: busybox:bench\n    command: sleep 1000\n"
             "    networks: [one, two]\nnetworks:\n  one:\n  two:\n"),
        ]
        rows = []
        for name, text in variants:
            self.write(text, "lat.yml")
            ups, downs = [], []
            for i in range(rounds + 1):
                t0 = time.perf_counter()
                self.stack("bench-lat", "-f", "lat.yml", "up", "-d")
                t1 = time.perf_counter()
                self.stack("bench-lat", "-f", "lat.yml", "down", "-t", "0")
                t2 = time.perf_counter()
                if i:  # the first round warms caches
                    ups.append(t1 - t0)
                    downs.append(t2 - t1)
            rows.append((name, statistics.median(ups), statistics.median(downs)))
        base_up, base_down = rows[0][1], rows[0][2]
        print("`up -d` then `down -t 0` of one service, median of %d rounds (ms)" % rounds)
        print("  %-38s %8s %8s %10s %10s" % ("network", "up", "down", "up +", "down +"))
        for name, up, down in rows:
            print("  %-38s %8.1f %8.1f %+10.1f %+10.1f" % (name, up * 1e3, down * 1e3,
                                                          (up - base_up) * 1e3,
                                                          (down - base_down) * 1e3))
        one, two = rows[1], rows[3]
        print("  one more bridge (two networks - default): up %+.1f ms, down %+.1f ms"
              % ((two[1] - one[1]) * 1e3, (two[2] - one[2]) * 1e3))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stack")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--runs", type=int, default=3, help="wrk runs per target")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=32)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_net: needs root")
    if not os.access(WRK, os.X_OK):
        sys.exit("bench_net: needs wrk (apt-get install wrk)")
    b = Bench(os.path.abspath(a.stack))
    try:
        b.setup()
        print("cpus: %d, kernel %s" % (os.cpu_count(), os.uname().release))
        print()
        b.throughput(a.duration, a.threads, a.connections, a.runs)
        b.latency(a.rounds)
    finally:
        b.cleanup()


if __name__ == "__main__":
    main()
