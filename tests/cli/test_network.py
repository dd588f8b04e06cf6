#!/usr/bin/env python3
"""Networking end to end, as a user meets it: names and addresses between
services, published ports from the host, network modes, several networks
and projects, subnet choice, and what other machines can *not* reach
(a "LAN neighbour" and a "remote host", each a network namespace of this
test's own), against the real kernel (root).

Each test has its own STACK_ROOT, STACK_RUN and project name and checks
that nothing of it is left: no `stk*` link, no chain of the project in
table `inet stack` (no table at all when no other project runs),
net.ipv4.ip_forward as it was, no cgroup, no mount, no state.

Traffic goes only to 127.0.0.0/8, to the containers' addresses and to the
namespaces this test makes.

    test_network.py PATH/TO/stack [unittest options]
"""
import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_lifecycle import alive, busybox_tar, cgroup_dirs  # noqa: E402

STACK = None
PY = sys.executable
FORWARD = "/proc/sys/net/ipv4/ip_forward"

# A UDP echo server for the images (busybox's nc has no UDP), built static
# when the host can (it builds stack, so it has a C compiler).
UDPECHO_C = r"""
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
int main (int argc, char **argv)
{
  int s = socket (AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons (atoi (argv[1])) };
  if (argc < 2 || bind (s, (struct sockaddr *) &a, sizeof a) < 0)
    return 1;
  for (;;)
    {
      char b[512], r[600] = "echo:";
      struct sockaddr_in p;
      socklen_t l = sizeof p;
      ssize_t n = recvfrom (s, b, sizeof b, 0, (struct sockaddr *) &p, &l);
      if (n > 0)
        {
          __builtin_memcpy (r + 5, b, n);
          sendto (s, r, n + 5, 0, (struct sockaddr *) &p, l);
        }
    }
}
"""

# Run inside a namespace: connect, send an HTTP request, print what came.
PROBE = r"""
import socket, sys
s = socket.socket()
s.settimeout(float(sys.argv[3]))
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    s.sendall(b"GET /f HTTP/1.0\r\n\r\n")
    d = b""
    while True:
        x = s.recv(4096)
        if not x:
            break
        d += x
    print("OK " + d.split(b"\r\n\r\n", 1)[-1].decode().strip())
except OSError as e:
    print("FAIL " + type(e).__name__)
"""

# The "remote host": answers every request with the address it came from.
REMOTE = r"""
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
while True:
    c, a = s.accept()
    c.settimeout(3)
    try:
        c.recv(4096)
    except OSError:
        pass
    print(a[0], flush=True)
    body = a[0].encode()
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    c.close()
"""


def sh(*args, check=True):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), r.stderr))
    return r


def stk_links():
    """Every link whose name starts with stk (ip -br link)."""
    out = sh("ip", "-br", "link").stdout
    return {l.split()[0].split("@")[0] for l in out.splitlines() if l.startswith("stk")}


def stack_table():
    """(exists, [chain names]) of table inet stack."""
    doc = json.loads(sh("nft", "-j", "list", "ruleset").stdout or '{"nftables": []}')
    exists, chains = False, []
    for item in doc["nftables"]:
        t, c = item.get("table"), item.get("chain")
        if t and t["family"] == "inet" and t["name"] == "stack":
            exists = True
        if c and c["family"] == "inet" and c["table"] == "stack":
            chains.append(c["name"])
    return exists, chains


def project_chains(project):
    return sorted(c for c in stack_table()[1] if c.startswith(project + "-"))


def read_forward():
    with open(FORWARD) as f:
        return int(f.read())


def host_prefixes():
    """The host's IPv4 addresses' prefixes and its routes but the default."""
    out = []
    for a in json.loads(sh("ip", "-j", "-4", "addr").stdout):
        for i in a.get("addr_info", []):
            out.append(ipaddress.ip_network("%s/%d" % (i["local"], i["prefixlen"]), strict=False))
    for r in json.loads(sh("ip", "-j", "-4", "route").stdout):
        if r["dst"] != "default":
            out.append(ipaddress.ip_network(r["dst"], strict=False))
    return out


def pool():
    """The subnets stack picks from, in its order (docs/networking.md)."""
    for second in range(18, 32):
        for third in range(256):
            yield ipaddress.ip_network("172.%d.%d.0/24" % (second, third))
    for third in range(256):
        yield ipaddress.ip_network("10.89.%d.0/24" % third)


def free_subnets(n):
    taken = host_prefixes()
    out = []
    for net in pool():
        if not any(net.overlaps(t) for t in taken):
            out.append(net)
            if len(out) == n:
                return out
    raise AssertionError("pool exhausted")


def bridge_of(ip):
    """(name, gateway interface) of the stkbr link whose subnet holds ip."""
    addr = ipaddress.ip_address(ip)
    for a in json.loads(sh("ip", "-j", "-4", "addr").stdout):
        if not a["ifname"].startswith("stkbr"):
            continue
        for i in a.get("addr_info", []):
            iface = ipaddress.ip_interface("%s/%d" % (i["local"], i["prefixlen"]))
            if addr in iface.network:
                return a["ifname"], iface
    raise AssertionError("no stkbr link has %s in its subnet" % ip)


def port_free(port, kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("0.0.0.0", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n, consecutive=False):
    """n ports free on every address (for tcp and udp)."""
    while True:
        base = random.randrange(20000, 60000)
        ports = [base + i for i in range(n)] if consecutive else \
            random.sample(range(20000, 60000), n)
        if all(port_free(p) and port_free(p, socket.SOCK_DGRAM) for p in ports):
            return ports


def http_get(url, deadline=5.0):
    """The body, retrying until the server is up; the last error after."""
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


def httpd(text, port=8080):
    return ("sh -c 'mkdir -p /www && echo %s > /www/f && exec httpd -f -p %d -h /www'"
            % (text, port))


class Network(unittest.TestCase):
    counter = 0

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")
        # ip_forward as the host had it: when a stack project of someone
        # else's turned it on (forward-guard), it was off before
        exists, chains = stack_table()
        cls.forward = 0 if "forward-guard" in chains else read_forward()
        cls.shared = tempfile.mkdtemp(prefix="stack-it-net-")
        cls.tar = os.path.join(cls.shared, "busybox.tar")
        busybox_tar(cls.tar)
        cls.udpecho = False
        src = os.path.join(cls.shared, "udpecho.c")
        with open(src, "w") as f:
            f.write(UDPECHO_C)
        exe = os.path.join(cls.shared, "udpecho")
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc and subprocess.run([cc, "-static", "-O2", "-o", exe, src],
                                 capture_output=True).returncode == 0:
            with tarfile.open(cls.tar, "a") as tar:
                tar.add(exe, "bin/udpecho")
            cls.udpecho = True
        cls.nsid = os.getpid() % 250 + 1

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.shared, ignore_errors=True)

    def setUp(self):
        Network.counter += 1
        self.dir = tempfile.mkdtemp(prefix="stack-it-net-")
        self.project = "nt-%d-%d" % (os.getpid(), Network.counter)
        self.projects = [self.project]
        self.env = dict(os.environ, STACK_ROOT=os.path.join(self.dir, "root"),
                        STACK_RUN=os.path.join(self.dir, "run"))
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        self.links_before = stk_links()
        r = self.stack("image", "import", self.tar, "busybox:it")
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        # whatever the test did, take it down, then check nothing is left
        downs = []
        for p in self.projects:
            for _ in range(2):
                r = self.stack("down", "-v", "-t", "0", project=p, timeout=90)
                if r.returncode == 0:
                    break
            downs.append(r.stderr)
        links = sorted(stk_links() - self.links_before)
        chains = {p: project_chains(p) for p in self.projects}
        exists, all_chains = stack_table()
        others = [c for c in all_chains if c != "forward-guard"]
        forward = read_forward()
        leftovers = sum((cgroup_dirs(p) for p in self.projects), [])
        states = [p for p in self.projects
                  if os.path.exists(os.path.join(self.env["STACK_RUN"], p))]
        with open("/proc/self/mountinfo") as f:
            mounts = [l for l in f if self.dir in l]
        shutil.rmtree(self.dir, ignore_errors=True)
        self.assertEqual(links, [], downs)
        self.assertEqual(chains, {p: [] for p in self.projects})
        if not others:
            # no other project runs: no table, and forwarding as it was
            self.assertFalse(exists, all_chains)
            self.assertEqual(forward, Network.forward)
        self.assertEqual(leftovers, [])
        self.assertEqual(mounts, [])
        self.assertEqual(states, [])

    # ---- helpers ----

    def stack(self, *args, project=None, file=None, timeout=60):
        cmd = [STACK, "-p", project or self.project]
        if file:
            cmd += ["-f", file]
        return subprocess.run(cmd + list(args), cwd=self.dir, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def write(self, text, name="stack.yml"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def up(self, *args, **kw):
        r = self.stack("up", "-d", *args, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def ps(self, **kw):
        r = self.stack("ps", "--format", "json", **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return {c["service"]: c for c in json.loads(r.stdout)}

    def exec_(self, service, *cmd, **kw):
        return self.stack("exec", "-T", service, *cmd, **kw)

    def exec_ok(self, service, *cmd, **kw):
        r = self.exec_(service, *cmd, **kw)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    # (busybox 1.35's `wget -T` crashes: `timeout` instead)
    def wget(self, service, url, deadline=5.0, **kw):
        """The body from inside service, retrying while the server comes up."""
        end = time.monotonic() + deadline
        while True:
            r = self.exec_(service, "timeout", "3", "wget", "-qO-", url, **kw)
            if r.returncode == 0 or time.monotonic() > end:
                self.assertEqual(r.returncode, 0, "%s from %s: %s" % (url, service, r.stderr))
                return r.stdout
            time.sleep(0.05)

    def wget_fails(self, service, url, **kw):
        r = self.exec_(service, "timeout", "3", "wget", "-qO-", url, **kw)
        self.assertNotEqual(r.returncode, 0, "%s reached %s: %r" % (service, url, r.stdout))
        self.assertEqual(r.stdout, "")
        return r

    def assert_nothing_created(self, links_before):
        self.assertFalse(os.path.exists(os.path.join(self.env["STACK_RUN"], self.project)))
        self.assertEqual(sorted(stk_links() - links_before), [])
        self.assertEqual(project_chains(self.project), [])
        self.assertEqual(cgroup_dirs(self.project), [])
        d = os.path.join(self.env["STACK_ROOT"], "containers")
        self.assertEqual([c for c in (os.listdir(d) if os.path.isdir(d) else [])
                          if c.startswith(self.project + "-")], [])

    def netns(self, name, host_if, ns_if, host_cidr, ns_cidr):
        """A namespace with a veth to the host; torn down by the returned
        function (call it in a finally)."""
        def destroy():
            subprocess.run(["ip", "link", "del", host_if], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        destroy()
        try:
            sh("ip", "netns", "add", name)
            sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", name)
            sh("ip", "addr", "add", host_cidr, "dev", host_if)
            sh("ip", "link", "set", host_if, "up")
            sh("ip", "-n", name, "addr", "add", ns_cidr, "dev", ns_if)
            sh("ip", "-n", name, "link", "set", ns_if, "up")
        except BaseException:
            destroy()
            raise
        return destroy

    def probe(self, ns, addr, port, timeout=2):
        r = sh("ip", "netns", "exec", ns, PY, "-c", PROBE, addr, str(port), str(timeout))
        return r.stdout.strip()

    # ---- tests ----

    def test_names_and_addresses(self):
        """Services reach each other by service name, container name, alias
        and address; /etc/hosts and resolv.conf as generated."""
        self.write("""
services:
  a:
    image: busybox:it
    command: sleep 1000
    hostname: ahost
    extra_hosts: ["somehost:10.1.2.3"]
    dns: [192.0.2.53]
    dns_search: [example.test]
    dns_opt: ["ndots:2"]
  b:
    image: busybox:it
    command: %s
    networks:
      default:
        aliases: [bee, bumble]
""" % httpd("from-b"))
        p = self.project
        r = self.up()
        self.assertIn(" Network %s_default  Created\n" % p, r.stderr)
        c = self.ps()
        ip_a, ip_b = c["a"]["ip"], c["b"]["ip"]
        bridge, gw = bridge_of(ip_a)
        self.assertEqual(gw.network.prefixlen, 24)
        self.assertEqual(gw.ip, gw.network[1])  # the gateway: the first address
        for ip in (ip_a, ip_b):
            self.assertIn(ipaddress.ip_address(ip), gw.network)
            self.assertNotEqual(ipaddress.ip_address(ip), gw.ip)
        self.assertNotEqual(ip_a, ip_b)

        for name in ("b", "%s-b-1" % p, "bee", "bumble", ip_b):
            self.assertEqual(self.wget("a", "http://%s:8080/f" % name), "from-b\n")
        # and back: a name of a resolves in b
        self.assertEqual(self.exec_ok("b", "ping", "-c", "1", "-W", "2", "a").split("\n")[0],
                         "PING a (%s): 56 data bytes" % ip_a)

        self.assertEqual(self.exec_ok("a", "cat", "/etc/hosts"),
                         "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                         "%s\tahost\n10.1.2.3\tsomehost\n%s\t%s-a-1 a\n%s\t%s-b-1 b bee bumble\n"
                         % (ip_a, ip_a, p, ip_b, p))
        resolv = self.exec_ok("a", "cat", "/etc/resolv.conf").splitlines()
        self.assertEqual([l for l in resolv if l.split()[:1] in (["nameserver"], ["search"],
                                                                  ["domain"], ["options"])],
                         ["nameserver 192.0.2.53", "search example.test", "options ndots:2"])

        # inside: eth0 with its address in the subnet, the default route via the gateway
        addr = self.exec_ok("a", "ip", "-4", "-o", "addr")
        self.assertEqual([(l.split()[1], l.split()[3]) for l in addr.splitlines()],
                         [("lo", "127.0.0.1/8"), ("eth0", "%s/24" % ip_a)])
        self.assertEqual(self.exec_ok("a", "ip", "route").split("\n")[0].split(),
                         ["default", "via", str(gw.ip), "dev", "eth0"])
        # the host end of each veth is on the project's bridge
        ports = {l.split()[0].split("@")[0] for l in
                 sh("ip", "-br", "link", "show", "master", bridge).stdout.splitlines()}
        self.assertEqual(len(ports), 2)
        self.assertTrue(all(x.startswith("stkv") and len(x) == 12 for x in ports), ports)
        self.assertEqual(project_chains(p), sorted("%s-%s" % (p, s) for s in
                                                   ("dnat", "output", "snat", "filter", "guard")))

        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(" Network %s_default  Removed\n" % p, r.stderr)
        self.assertNotIn(bridge, stk_links())
        self.assertEqual(project_chains(p), [])

    def test_published_ports(self):
        lo_port, all_port, rng = free_ports(1)[0], free_ports(1)[0], \
            free_ports(2, consecutive=True)
        self.write("""
services:
  web:
    image: busybox:it
    command: %s
    ports: ["127.0.0.1:%d:8080", "%d:8080"]
  rnd:
    image: busybox:it
    command: %s
    ports: ["8080"]
  rng:
    image: busybox:it
    command: %s
    ports: ["%d-%d:8080"]
""" % (httpd("web"), lo_port, all_port, httpd("rnd"), httpd("rng"), rng[0], rng[1]))
        held = socket.socket()
        held.bind(("0.0.0.0", rng[0]))
        held.listen()
        try:
            self.up()
        finally:
            held.close()
        c = self.ps()
        self.assertEqual(c["web"]["ports"], [
            {"host_ip": "127.0.0.1", "host_port": lo_port, "container_port": 8080, "protocol": "tcp"},
            {"host_ip": "0.0.0.0", "host_port": all_port, "container_port": 8080, "protocol": "tcp"}])
        self.assertEqual(len(c["rnd"]["ports"]), 1)
        rnd = c["rnd"]["ports"][0]["host_port"]
        self.assertEqual(c["rnd"]["ports"],
                         [{"host_ip": "0.0.0.0", "host_port": rnd, "container_port": 8080,
                           "protocol": "tcp"}])
        self.assertTrue(1024 <= rnd <= 65535)
        # the first port of the range was taken: the next one
        self.assertEqual(c["rng"]["ports"],
                         [{"host_ip": "0.0.0.0", "host_port": rng[1], "container_port": 8080,
                           "protocol": "tcp"}])

        self.assertEqual(http_get("http://127.0.0.1:%d/f" % lo_port), "web\n")
        self.assertEqual(http_get("http://127.0.0.1:%d/f" % all_port), "web\n")
        self.assertEqual(http_get("http://127.0.0.2:%d/f" % all_port), "web\n")
        self.assertEqual(http_get("http://%s:8080/f" % c["web"]["ip"]), "web\n")
        self.assertEqual(http_get("http://127.0.0.1:%d/f" % rnd), "rnd\n")
        self.assertEqual(http_get("http://127.0.0.1:%d/f" % rng[1]), "rng\n")
        # hairpin: a container reaches a published port at the host's address
        _, gw = bridge_of(c["rnd"]["ip"])
        self.assertEqual(self.wget("rnd", "http://%s:%d/f" % (gw.ip, all_port)), "web\n")
        # 127.0.0.1 only: not on another loopback address
        with self.assertRaises(OSError):
            urllib.request.urlopen("http://127.0.0.2:%d/f" % lo_port, timeout=2)

        r = self.stack("port", "rnd", "8080")
        self.assertEqual((r.returncode, r.stdout), (0, "0.0.0.0:%d\n" % rnd), r.stderr)
        r = self.stack("port", "web", "8080")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "127.0.0.1:%d\n0.0.0.0:%d\n" % (lo_port, all_port)), r.stderr)
        r = self.stack("port", "--protocol", "udp", "web", "8080")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "stack: service `web` does not publish 8080/udp\n"))

        # while up, the host ports are the project's: nobody else binds them
        for port, host in ((lo_port, "127.0.0.1"), (all_port, "0.0.0.0"), (rnd, "127.0.0.1")):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with self.assertRaises(OSError, msg="%s:%d" % (host, port)):
                s.bind((host, port))
                s.listen()
            s.close()

        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        # down gave the ports back
        for port in (lo_port, all_port, rnd, rng[1]):
            self.assertTrue(port_free(port), port)

    def test_published_udp(self):
        if not self.udpecho:
            self.skipTest("no static C compiler for the UDP echo server")
        lo_port, all_port = free_ports(2)
        self.write("services:\n  u:\n    image: busybox:it\n    command: udpecho 9090\n"
                   "    ports: [\"127.0.0.1:%d:9090/udp\", \"%d:9090/udp\"]\n"
                   % (lo_port, all_port))
        self.up()
        self.assertEqual(self.ps()["u"]["ports"], [
            {"host_ip": "127.0.0.1", "host_port": lo_port, "container_port": 9090, "protocol": "udp"},
            {"host_ip": "0.0.0.0", "host_port": all_port, "container_port": 9090, "protocol": "udp"}])
        r = self.stack("port", "--protocol", "udp", "u", "9090")
        self.assertEqual((r.returncode, r.stdout),
                         (0, "127.0.0.1:%d\n0.0.0.0:%d\n" % (lo_port, all_port)), r.stderr)
        r = self.stack("port", "u", "9090")
        self.assertEqual((r.returncode, r.stderr),
                         (1, "stack: service `u` does not publish 9090/tcp\n"))
        for port in (lo_port, all_port):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            got = None
            for i in range(25):  # until the server is up
                s.sendto(b"ping%d" % i, ("127.0.0.1", port))
                try:
                    got = s.recvfrom(100)
                    break
                except socket.timeout:
                    continue
            s.close()
            self.assertEqual(got, (b"echo:ping%d" % i, ("127.0.0.1", port)))
            # reserved while up
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s, \
                    self.assertRaises(OSError):
                s.bind(("127.0.0.1", port))

    def test_port_conflict(self):
        """A taken host port is refused before anything is created."""
        port = free_ports(1)[0]
        self.write("services:\n  web:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports:\n      - \"127.0.0.1:%d:80\"\n" % port)
        held = socket.socket()
        held.bind(("127.0.0.1", port))
        held.listen()
        links = stk_links()
        try:
            r = self.stack("up", "-d")
        finally:
            held.close()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("stack.yml:6:9: services.web.ports[0]: ", r.stderr)
        self.assertIn("127.0.0.1:%d/tcp" % port, r.stderr)
        self.assertIn("pid %d" % os.getpid(), r.stderr)
        self.assert_nothing_created(links)

        # one file, the same port twice: the message names the other service
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports: [\"127.0.0.1:%d:80\"]\n"
                   "  b:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports: [\"%d:80\"]\n" % (port, port))
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertIn("stack.yml:9:13: services.b.ports[0]: ", r.stderr)
        self.assertIn("service `a`", r.stderr)
        self.assert_nothing_created(links)
        self.assertTrue(port_free(port))

        # another project holds it
        other = "nu" + self.project[2:]
        self.projects.append(other)
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports: [\"127.0.0.1:%d:80\"]\n" % port, "other.yml")
        self.up(project=other, file="other.yml")
        self.write("services:\n  web:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports:\n      - \"%d:80\"\n" % port)
        links = stk_links()
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("stack.yml:6:9: services.web.ports[0]: ", r.stderr)
        self.assertIn(":%d/tcp" % port, r.stderr)
        self.assert_nothing_created(links)

    def test_network_modes(self):
        port = free_ports(1)[0]
        self.write("""
services:
  a:
    image: busybox:it
    command: %s
  none:
    image: busybox:it
    command: sleep 1000
    network_mode: none
  host:
    image: busybox:it
    command: sleep 1000
    network_mode: host
    ports: ["%d:80"]
  b:
    image: busybox:it
    command: sleep 1000
    network_mode: "service:a"
""" % (httpd("from-a"), port))
        self.up()
        c = self.ps()
        # none: lo only, up
        links = self.exec_ok("none", "ip", "-o", "link").splitlines()
        self.assertEqual(len(links), 1, links)
        self.assertEqual(links[0].split()[1], "lo:")
        self.assertIn("UP", links[0].split()[2])
        self.assertEqual(self.exec_ok("none", "ip", "-4", "-o", "addr").split()[1:4],
                         ["lo", "inet", "127.0.0.1/8"])
        self.assertEqual(self.exec_ok("none", "ip", "route"), "")
        self.assertIsNone(c["none"]["ip"])
        # host: the host's interfaces; its ports are ignored
        inside = {l.split()[1].rstrip(":").split("@")[0]
                  for l in self.exec_ok("host", "ip", "-o", "link").splitlines()}
        host = {l.split()[0].split("@")[0] for l in sh("ip", "-br", "link").stdout.splitlines()
                if not l.startswith("stk")}
        self.assertIn("lo", host)
        self.assertEqual(host - inside, set())
        self.assertEqual(c["host"]["ports"], [])
        self.assertTrue(port_free(port))
        # service:a — a's interfaces, a's server on 127.0.0.1
        self.assertEqual(self.exec_ok("b", "ip", "-4", "-o", "addr", "show", "eth0").split()[3],
                         "%s/24" % c["a"]["ip"])
        self.assertEqual(self.wget("b", "http://127.0.0.1:8080/f"), "from-a\n")

    def test_two_projects(self):
        """Side by side: distinct subnets, and neither reaches the other."""
        other = "nu" + self.project[2:]
        self.projects.append(other)
        text = "services:\n  a:\n    image: busybox:it\n    command: %s\n" % httpd("here")
        self.write(text)
        self.up()
        self.up(project=other)
        mine, theirs = self.ps()["a"]["ip"], self.ps(project=other)["a"]["ip"]
        (b1, g1), (b2, g2) = bridge_of(mine), bridge_of(theirs)
        self.assertNotEqual(b1, b2)
        self.assertFalse(g1.network.overlaps(g2.network))
        # each reaches its own (the control), not the other's
        self.assertEqual(self.wget("a", "http://%s:8080/f" % mine), "here\n")
        self.assertEqual(self.wget("a", "http://%s:8080/f" % theirs, project=other), "here\n")
        self.wget_fails("a", "http://%s:8080/f" % theirs)
        self.wget_fails("a", "http://%s:8080/f" % mine, project=other)
        # the first project down leaves the other's chains and the table
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(project_chains(self.project), [])
        self.assertEqual(len(project_chains(other)), 5)
        self.assertEqual(self.wget("a", "http://%s:8080/f" % theirs, project=other), "here\n")

    def test_several_networks(self):
        self.write("""
services:
  both:
    image: busybox:it
    command: sleep 1000
    networks: [front, back]
  f:
    image: busybox:it
    command: %s
    networks: [front]
  k:
    image: busybox:it
    command: %s
    networks: [back]
networks:
  front:
  back:
""" % (httpd("front"), httpd("back")))
        self.up()
        c = self.ps()
        addrs = [l.split() for l in self.exec_ok("both", "ip", "-4", "-o", "addr").splitlines()]
        self.assertEqual([a[1] for a in addrs], ["lo", "eth0", "eth1"])
        eth0, eth1 = ipaddress.ip_interface(addrs[1][3]), ipaddress.ip_interface(addrs[2][3])
        self.assertEqual(str(eth0.ip), c["both"]["ip"])
        (bf, gf), (bk, gk) = bridge_of(c["f"]["ip"]), bridge_of(c["k"]["ip"])
        self.assertNotEqual(bf, bk)
        self.assertFalse(gf.network.overlaps(gk.network))
        self.assertEqual((eth0.network, eth1.network), (gf.network, gk.network))
        # both reaches both; f and k share no network: no name, no way
        self.assertEqual(self.wget("both", "http://f:8080/f"), "front\n")
        self.assertEqual(self.wget("both", "http://k:8080/f"), "back\n")
        self.assertNotIn(" f", self.exec_ok("k", "cat", "/etc/hosts"))
        self.wget_fails("k", "http://%s:8080/f" % c["f"]["ip"])
        self.wget_fails("f", "http://%s:8080/f" % c["k"]["ip"])

    def test_subnet_collision_avoided(self):
        first, second, third = free_subnets(3)
        made = []
        try:
            for i, net in enumerate((first, second)):
                name = "stktst%d%d" % (os.getpid() % 10000, i)
                r = sh("ip", "link", "add", name, "type", "dummy", check=False)
                if r.returncode != 0:  # no dummy module: any link holds an address
                    sh("ip", "link", "add", name, "type", "bridge")
                made.append(name)
                sh("ip", "addr", "add", "%s/24" % net[1], "dev", name)
                sh("ip", "link", "set", name, "up")
            self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n")
            self.up()
            _, gw = bridge_of(self.ps()["a"]["ip"])
            self.assertEqual(gw.network, third)
            r = self.stack("down", "-t", "0")
            self.assertEqual(r.returncode, 0, r.stderr)

            # a subnet the file gives that is the host's: refused, nothing made
            self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                       "    networks: [n]\nnetworks:\n  n:\n    ipam:\n      config:\n"
                       "        - subnet: %s\n" % second)
            links = stk_links()
            r = self.stack("up", "-d")
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
            self.assertIn("stack.yml:10:19: networks.n.ipam.config[0].subnet: %s overlaps %s"
                          % (second, second), r.stderr)
            self.assert_nothing_created(links)
        finally:
            for name in made:
                subprocess.run(["ip", "link", "del", name], capture_output=True)
        self.assertEqual([m for m in made if m in stk_links()], [])

    def test_external_networks(self):
        """`external: true` joins a bridge of the host, or another
        project's network while it is up; stack never deletes either."""
        net = free_subnets(1)[0]
        name = "stktstx%d" % (os.getpid() % 100000)
        try:
            sh("ip", "link", "add", name, "type", "bridge")
            sh("ip", "addr", "add", "%s/24" % net[1], "dev", name)
            sh("ip", "link", "set", name, "up")
            self.write("services:\n  a:\n    image: busybox:it\n    command: %s\n"
                       "    networks: [lan]\nnetworks:\n  lan:\n    external: true\n"
                       "    name: %s\n" % (httpd("onlan"), name))
            self.up()
            ip = self.ps()["a"]["ip"]
            self.assertEqual(ip, str(net[2]))  # the bridge's own address is the gateway
            self.assertEqual(http_get("http://%s:8080/f" % ip), "onlan\n")
            self.assertIn("default via %s dev eth0" % net[1], self.exec_ok("a", "ip", "route"))
            r = self.stack("down", "-t", "0")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("Network", r.stderr)
            self.assertIn(name, stk_links())
        finally:
            subprocess.run(["ip", "link", "del", name], capture_output=True)

        # another project's network, by the name it has
        other = self.project + "-x"
        self.projects.append(other)
        self.write("services:\n  a:\n    image: busybox:it\n    command: %s\n"
                   "networks:\n  default:\n    name: shared-%s\n"
                   % (httpd("fromx"), self.project), "x.yml")
        r = self.stack("up", "-d", project=other, file="x.yml")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.write("services:\n  b:\n    image: busybox:it\n    command: sleep 1000\n"
                   "networks:\n  default:\n    external: true\n    name: shared-%s\n"
                   % self.project)
        self.up()
        x_ip = self.ps(project=other)["a"]["ip"]
        b_ip = self.ps()["b"]["ip"]
        self.assertNotEqual(x_ip, b_ip)
        self.assertEqual(bridge_of(x_ip)[0], bridge_of(b_ip)[0])
        self.assertEqual(self.wget("b", "http://%s:8080/f" % x_ip), "fromx\n")

    def test_lan_neighbour(self):
        """A machine on the host's LAN reaches a port published on every
        address, and neither a port published on 127.0.0.1 nor an
        unpublished container port (moby#45610, Docker's direct routing)."""
        lo_port, all_port = free_ports(2)
        self.write("""
services:
  web:
    image: busybox:it
    command: %s
    ports: ["127.0.0.1:%d:8080", "%d:8080"]
  hidden:
    image: busybox:it
    command: %s
""" % (httpd("web"), lo_port, all_port, httpd("hidden")))
        self.up()
        c = self.ps()
        _, gw = bridge_of(c["web"]["ip"])
        x = Network.nsid
        ns = "stktst-nb-%d" % os.getpid()
        hif, nif = "stktst%dn0" % x, "stktst%dn1" % x
        destroy = self.netns(ns, hif, nif, "10.199.%d.1/30" % x,
                             "10.199.%d.2/30" % x)
        try:
            host = "10.199.%d.1" % x
            # the neighbour routes the containers' subnet and 127.0.0.1 via the host
            sh("ip", "-n", ns, "route", "add", str(gw.network), "via", host)
            sh("ip", "netns", "exec", ns, "sysctl", "-qw",
               "net.ipv4.conf.%s.route_localnet=1" % nif)
            sh("ip", "-n", ns, "route", "add", "127.0.0.1/32", "via", host)
            # controls: the host reaches all of them
            self.assertEqual(http_get("http://127.0.0.1:%d/f" % lo_port), "web\n")
            self.assertEqual(http_get("http://%s:8080/f" % c["hidden"]["ip"]), "hidden\n")
            self.assertEqual(self.probe(ns, host, all_port), "OK web")

            def rx():
                link = json.loads(sh("ip", "-j", "-s", "link", "show", hif).stdout)
                return link[0]["stats64"]["rx"]["packets"]
            before = rx()
            self.assertEqual(self.probe(ns, "127.0.0.1", lo_port), "FAIL TimeoutError")
            self.assertGreater(rx(), before)  # it did reach the host
            self.assertEqual(self.probe(ns, c["hidden"]["ip"], 8080), "FAIL TimeoutError")
            self.assertEqual(self.probe(ns, c["web"]["ip"], 8080), "FAIL TimeoutError")
        finally:
            destroy()

    def test_outbound_masquerade_and_internal(self):
        """Containers reach a "remote host" as the host; an internal network
        has no default route and no way out."""
        x = Network.nsid
        ns = "stktst-rh-%d" % os.getpid()
        remote, host = "10.198.%d.2" % x, "10.198.%d.1" % x
        port = 8000 + x
        self.write("""
services:
  out:
    image: busybox:it
    command: sleep 1000
  in:
    image: busybox:it
    command: sleep 1000
    networks: [sealed]
    cap_add: [NET_ADMIN]
networks:
  sealed:
    internal: true
""")
        destroy = self.netns(ns, "stktst%dr0" % x, "stktst%dr1" % x, host + "/30", remote + "/30")
        server, seen = None, None
        try:
            server = subprocess.Popen(["ip", "netns", "exec", ns, PY, "-c", REMOTE, str(port)],
                                      stdout=subprocess.PIPE, text=True)
            self.assertEqual(server.stdout.readline(), "ready\n")
            self.up()
            self.assertEqual(self.wget("out", "http://%s:%d/" % (remote, port)), host)
            routes = self.exec_ok("in", "ip", "route").splitlines()
            self.assertEqual(len(routes), 1, routes)
            self.assertFalse(routes[0].startswith("default"), routes)
            self.wget_fails("in", "http://%s:%d/" % (remote, port))
            # even with a route of its own
            self.exec_ok("in", "ip", "route", "add", "default", "via",
                         str(bridge_of(self.ps()["in"]["ip"])[1].ip))
            self.wget_fails("in", "http://%s:%d/" % (remote, port))
        finally:
            if server:
                server.kill()
                seen = server.communicate()[0].split()
            destroy()
        self.assertEqual(seen, [host])

    def test_down_after_supervisor_killed(self):
        port = free_ports(1)[0]
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports: [\"127.0.0.1:%d:80\"]\n"
                   "  b:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    networks: [default, other]\nnetworks:\n  other:\n" % port)
        self.up()
        made = stk_links() - self.links_before
        self.assertEqual(sorted("stkbr" if x.startswith("stkbr") else x[:4] for x in made),
                         ["stkbr", "stkbr", "stkv", "stkv", "stkv"])
        self.assertEqual(len(project_chains(self.project)), 5)
        with open(os.path.join(self.env["STACK_RUN"], self.project, "state.json")) as f:
            state = json.load(f)
        pids = [c["pid"] for c in state["containers"]]
        os.kill(state["supervisor_pid"], signal.SIGKILL)
        for _ in range(200):
            if not alive(state["supervisor_pid"]):
                break
            time.sleep(0.01)
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        for pid in pids:
            self.assertFalse(alive(pid))
        self.assertEqual(sorted(stk_links() & made), [])
        self.assertEqual(project_chains(self.project), [])
        self.assertTrue(port_free(port))

    def test_failed_up_leaves_nothing(self):
        port = free_ports(1)[0]
        self.write("services:\n  a:\n    image: busybox:it\n    command: sleep 1000\n"
                   "    ports: [\"127.0.0.1:%d:80\"]\n"
                   "  b:\n    image: busybox:it\n    command: no-such-thing\n"
                   "    depends_on: [a]\n" % port)
        links = stk_links()
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no-such-thing", r.stderr)
        self.assert_nothing_created(links)
        self.assertTrue(port_free(port))


if __name__ == "__main__":
    STACK = os.path.abspath(sys.argv.pop(1))
    unittest.main()
