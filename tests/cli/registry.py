#!/usr/bin/env python3
"""A real registry for tests and benchmarks: Debian's `docker-registry`
(distribution 2.8) on 127.0.0.1, anonymous, htpasswd or token auth (a
token server of our own in a thread, RS256 JWTs signed with the `openssl`
CLI), and images made here without Docker: layer tarballs built entry by
entry (whiteouts and hostile entries included), OCI layouts with one
manifest or an index of platforms, pushed with `skopeo copy`.

    reg = Registry(tmpdir, auth="token")
    base = Layer().busybox()
    img = Image([base.blob("gzip")], config={"Cmd": ["sh"]})
    digest = reg.push(oci_layout(dir, img), "app:1")
    ...
    reg.stop()
"""
import base64
import gzip
import hashlib
import http.server
import io
import json
import os
import platform
import re
import shutil
import socket
import ssl
import subprocess
import tarfile
import threading
import time
import urllib.error
import urllib.request

REGISTRY_BIN = "/usr/bin/docker-registry"
BUSYBOX = "/bin/busybox"
USER, PASSWORD = "alice", "wonderland"
SERVICE, ISSUER = "stack-test-registry", "stack-test-issuer"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def go_arch():
    """This machine's architecture as OCI names it."""
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(m, m)


def have_zstd():
    return shutil.which("zstd") is not None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# ---- layers ----

class Layer:
    """A layer tarball, entry by entry, in order. Every method returns
    self, so layers read as chains."""

    def __init__(self):
        self.entries = []  # (TarInfo, data or None)

    def _add(self, name, type_, data=None, mode=0o644, uid=0, gid=0, linkname="",
             xattrs=None, mtime=1700000000):
        info = tarfile.TarInfo(name)
        info.type = type_
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.mtime = mtime
        info.linkname = linkname
        if data is not None:
            info.size = len(data)
        if xattrs:
            info.pax_headers = {"SCHILY.xattr." + k: v for k, v in xattrs.items()}
        self.entries.append((info, data))
        return self

    def file(self, name, data, mode=0o644, uid=0, gid=0, xattrs=None):
        if isinstance(data, str):
            data = data.encode()
        return self._add(name, tarfile.REGTYPE, data, mode, uid, gid, xattrs=xattrs)

    def dir(self, name, mode=0o755, uid=0, gid=0, xattrs=None):
        return self._add(name, tarfile.DIRTYPE, None, mode, uid, gid, xattrs=xattrs)

    def symlink(self, name, target):
        return self._add(name, tarfile.SYMTYPE, None, 0o777, linkname=target)

    def hardlink(self, name, target):
        return self._add(name, tarfile.LNKTYPE, None, 0o644, linkname=target)

    def whiteout(self, path):
        """Hide path of the layers below: `DIR/.wh.NAME`."""
        d, base = os.path.split(path)
        return self.file(os.path.join(d, ".wh." + base), b"")

    def opaque(self, dirpath):
        """Hide everything below dirpath in the layers below."""
        return self.file(os.path.join(dirpath, ".wh..wh..opq"), b"")

    def busybox(self, passwd=None):
        """A runnable root: /bin/busybox (static), its applets as
        symlinks, /etc/passwd and /etc/group (app is 1000), /tmp."""
        applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                                 check=True).stdout.split()
        for d in ("bin", "etc", "tmp", "root", "home", "home/app"):
            self.dir(d, 0o1777 if d == "tmp" else 0o755)
        with open(BUSYBOX, "rb") as f:
            self.file("bin/busybox", f.read(), 0o755)
        for a in applets:
            if a != "busybox":
                self.symlink("bin/" + a, "busybox")
        self.file("etc/passwd", passwd or "root:x:0:0:root:/root:/bin/sh\n"
                  "app:x:1000:1000:app:/home/app:/bin/sh\n"
                  "nobody:x:65534:65534:nobody:/:/bin/false\n")
        self.file("etc/group", "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n")
        return self

    def tar(self):
        """The uncompressed tarball (PAX, so xattrs and long names fit)."""
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t:
            for info, data in self.entries:
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()

    def blob(self, compression="gzip"):
        return LayerBlob(self.tar(), compression)


def compress(data, compression):
    if compression is None or compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "zstd":
        return subprocess.run(["zstd", "-q", "-c", "-3"], input=data, capture_output=True,
                              check=True).stdout
    raise ValueError(compression)


class LayerBlob:
    """A layer as a registry holds it: the (compressed) blob, its digest,
    and the diff_id (digest of the uncompressed tar)."""

    def __init__(self, tar, compression="gzip"):
        self.tar = tar
        self.compression = compression if compression not in (None, "none") else None
        self.data = compress(tar, self.compression)
        self.digest = sha256(self.data)
        self.diff_id = sha256(tar)
        self.media_type = OCI_LAYER + ("+" + self.compression if self.compression else "")

    @property
    def short(self):
        """The id `stack pull` shows: 12 hex digits of the blob digest."""
        return self.digest[7:19]

    @property
    def hex(self):
        """The layer's directory name under STACK_ROOT/layers/."""
        return self.diff_id[7:]


# ---- images and OCI layouts ----

class Image:
    """One platform's image: layers, config, manifest (OCI media types)."""

    def __init__(self, layers, config=None, arch=None, os_="linux", variant=None,
                 created="2024-05-01T12:00:00Z"):
        self.layers = list(layers)
        self.arch, self.os, self.variant = arch or go_arch(), os_, variant
        cfg = {"architecture": self.arch, "os": self.os, "created": created,
               "config": dict(config or {}),
               "rootfs": {"type": "layers", "diff_ids": [l.diff_id for l in self.layers]},
               "history": [{"created": created, "created_by": "registry.py"}
                           for _ in self.layers]}
        if variant:
            cfg["variant"] = variant
        self.config = json.dumps(cfg, sort_keys=True).encode()
        self.config_digest = sha256(self.config)
        self.manifest = json.dumps({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": self.config_digest,
                       "size": len(self.config)},
            "layers": [{"mediaType": l.media_type, "digest": l.digest, "size": len(l.data)}
                       for l in self.layers]}, sort_keys=True).encode()
        self.digest = sha256(self.manifest)

    def blobs(self):
        yield self.config
        for l in self.layers:
            yield l.data
        yield self.manifest

    def descriptor(self):
        d = {"mediaType": OCI_MANIFEST, "digest": self.digest, "size": len(self.manifest),
             "platform": {"architecture": self.arch, "os": self.os}}
        if self.variant:
            d["platform"]["variant"] = self.variant
        return d


class Index:
    """An image index (manifest list) of several platforms' images."""

    def __init__(self, images):
        self.images = list(images)
        self.manifest = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                    "manifests": [i.descriptor() for i in self.images]},
                                   sort_keys=True).encode()
        self.digest = sha256(self.manifest)

    def blobs(self):
        for i in self.images:
            yield from i.blobs()
        yield self.manifest


def oci_layout(path, image, tag="latest"):
    """Write an OCI image layout at path holding image (an Image or an
    Index) under tag; returns path."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs, exist_ok=True)
    for data in image.blobs():
        with open(os.path.join(blobs, sha256(data)[7:]), "wb") as f:
            f.write(data)
    with open(os.path.join(path, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    media = OCI_INDEX if isinstance(image, Index) else OCI_MANIFEST
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": media, "digest": image.digest, "size": len(image.manifest),
             "annotations": {"org.opencontainers.image.ref.name": tag}}]}, f)
    return path


class LocalServer:
    """An HTTP server of the harness's on 127.0.0.1, answering from a
    thread: subclasses make a Handler and call serve(Handler)."""

    def serve(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


# ---- the token server ----

class TokenServer(LocalServer):
    """Docker's token auth: `GET /token?service=S&scope=repository:NAME:pull`
    with basic credentials answers {"token", "access_token"}, a JWT signed
    RS256 whose x5c header carries our self-signed certificate; 401
    without valid credentials. Counts what it issued."""

    def __init__(self, tmpdir):
        self.key = os.path.join(tmpdir, "token.key")
        self.cert = os.path.join(tmpdir, "token.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                        "-keyout", self.key, "-out", self.cert, "-days", "2",
                        "-subj", "/CN=stack-test-token"], check=True, capture_output=True)
        der = subprocess.run(["openssl", "x509", "-in", self.cert, "-outform", "DER"],
                             check=True, capture_output=True).stdout
        self.x5c = base64.b64encode(der).decode()
        self.issued, self.refused = [], 0
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.handle(self)

            def log_message(self, *args):
                pass

        self.serve(Handler)
        self.realm = "http://127.0.0.1:%d/token" % self.port

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        signing = (b64url(json.dumps(header).encode()) + "."
                   + b64url(json.dumps(claims).encode()))
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.key],
                             input=signing.encode(), capture_output=True, check=True).stdout
        return signing + "." + b64url(sig)

    def handle(self, req):
        from urllib.parse import urlparse, parse_qs
        q = parse_qs(urlparse(req.path).query)
        want = "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode()
        if req.headers.get("Authorization") != want or q.get("service") != [SERVICE]:
            with self.lock:
                self.refused += 1
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}'
            req.send_response(401)
            req.send_header("Content-Type", "application/json")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
            return
        access = []
        for scope in q.get("scope", []):
            for one in scope.split(" "):
                parts = one.split(":")
                if len(parts) >= 3 and parts[0] == "repository":
                    actions = [a for a in parts[-1].split(",") if a in ("pull", "push")]
                    access.append({"type": "repository", "name": ":".join(parts[1:-1]),
                                   "actions": actions})
        now = int(time.time())
        token = self.sign({"iss": ISSUER, "sub": USER, "aud": SERVICE, "iat": now,
                           "nbf": now - 10, "exp": now + 300,
                           "jti": hashlib.sha1(os.urandom(8)).hexdigest(), "access": access})
        with self.lock:
            self.issued.append(q.get("scope", []))
        body = json.dumps({"token": token, "access_token": token, "expires_in": 300,
                           "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                      time.gmtime(now))}).encode()
        req.send_response(200)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)


def make_certs(d, ip):
    """A CA of our own and a server certificate for ip signed by it:
    (ca.crt, server.crt, server.key) paths in d."""
    ca, ca_key = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    cert, key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
        "-keyout", ca_key, "-out", ca, "-subj", "/CN=stack-test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", key,
        "-out", csr, "-subj", "/CN=%s" % ip)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:%s\nextendedKeyUsage=serverAuth\n" % ip)
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-days", "2", "-sha256", "-extfile", ext, "-out", cert)
    return ca, cert, key


class RemoteNet:
    """A network namespace joined to the host by a veth pair, so that a
    registry can live at an address that is not loopback (10.253.N.2):
    stack speaks HTTPS there, or plain HTTP when told to. The host end is
    10.253.N.1/30; remove() deletes both."""

    def __init__(self):
        n = os.getpid() % 250
        self.ns = "stk-reg-%d" % os.getpid()
        self.host_if = "stkrg%dh" % os.getpid()
        self.ns_if = "stkrg%dn" % os.getpid()
        self.addr = "10.253.%d.2" % n
        ip = lambda *a: subprocess.run(("ip",) + a, check=True, capture_output=True)
        try:
            ip("netns", "add", self.ns)
            ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if,
               "netns", self.ns)
            ip("addr", "add", "10.253.%d.1/30" % n, "dev", self.host_if)
            ip("link", "set", self.host_if, "up")
            ip("-n", self.ns, "addr", "add", self.addr + "/30", "dev", self.ns_if)
            ip("-n", self.ns, "link", "set", self.ns_if, "up")
            ip("-n", self.ns, "link", "set", "lo", "up")
        except BaseException:
            self.remove()
            raise

    def remove(self):
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


class FlakyProxy(LocalServer):
    """A plain HTTP proxy to a registry on 127.0.0.1 that fails each blob's
    first GET: with 503 (`mode="503"`) or by cutting the body half-way
    after promising all of it (`mode="cut"`). Later requests pass through.
    Counts the failures it caused."""

    def __init__(self, upstream_port, mode="503"):
        import http.client
        self.failed = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                first = False
                if "/blobs/" in self.path:
                    with proxy.lock:
                        first = self.path not in proxy.failed
                        if first:
                            proxy.failed.append(self.path)
                if first and mode == "503":
                    body = b'{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request("GET", self.path, headers=headers)
                r = conn.getresponse()
                data = r.read()
                self.send_response(r.status)
                for k, v in r.getheaders():
                    if k.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                if first:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data[:len(data) // 2] if first else data)
                if first:
                    self.close_connection = True
                conn.close()

            def log_message(self, *args):
                pass

        self.serve(Handler)
        self.host = "127.0.0.1:%d" % self.port


# ---- the registry ----

class Registry:
    """docker-registry serving 127.0.0.1:port from dir/storage, its log in
    dir/registry.log (the access log's lines count requests)."""

    def __init__(self, tmpdir, auth=None, port=0, netns=None, tls=False):
        """netns: a RemoteNet to serve from (its address, not 127.0.0.1);
        tls: HTTPS with a certificate for that address signed by a CA of
        our own (self.ca)."""
        self.netns, self.tls = netns, tls
        self.addr = netns.addr if netns else "127.0.0.1"
        self.dir = os.path.join(tmpdir, "registry-%s-%s" % (self.addr, "tls" if tls else "plain")
                                if netns else "registry")
        os.makedirs(self.dir, exist_ok=True)
        self.storage = os.path.join(self.dir, "storage")
        self.log_path = os.path.join(self.dir, "registry.log")
        self.auth, self.token, self.proc = auth, None, None
        self.creds = "%s:%s" % (USER, PASSWORD) if auth else None
        self.policy = os.path.join(self.dir, "policy.json")
        with open(self.policy, "w") as f:
            json.dump({"default": [{"type": "insecureAcceptAnything"}]}, f)
        try:
            self._start(auth, port)
        except BaseException:
            self.stop()
            raise

    def _config(self, auth, port):
        lines = ["version: 0.1", "log:", "  level: info", "  accesslog:",
                 "    disabled: false", "storage:", "  filesystem:",
                 "    rootdirectory: " + self.storage, "  delete:", "    enabled: true",
                 "  maintenance:", "    uploadpurging:", "      enabled: false",
                 "http:", "  addr: %s:%d" % (self.addr, port), "  secret: stack-test-secret"]
        if self.tls:
            self.ca, cert, key = make_certs(self.dir, self.addr)
            lines += ["  tls:", "    certificate: " + cert, "    key: " + key]
        if auth == "htpasswd":
            htpasswd = subprocess.run(["htpasswd", "-Bbn", USER, PASSWORD], check=True,
                                      capture_output=True, text=True).stdout
            path = os.path.join(self.dir, "htpasswd")
            with open(path, "w") as f:
                f.write(htpasswd.strip() + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: stack-test", "    path: " + path]
        elif auth == "token":
            self.token = TokenServer(self.dir)
            lines += ["auth:", "  token:", "    realm: " + self.token.realm,
                      "    service: " + SERVICE, "    issuer: " + ISSUER,
                      "    rootcertbundle: " + self.token.cert]
        elif auth is not None:
            raise ValueError(auth)
        path = os.path.join(self.dir, "config.yml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def _start(self, auth, port):
        for attempt in range(3):
            self.port = port or free_port()
            config = self._config(auth, self.port)
            log = open(self.log_path, "ab")
            argv = [REGISTRY_BIN, "serve", config]
            if self.netns:
                argv = ["ip", "netns", "exec", self.netns.ns] + argv
            self.proc = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
            log.close()
            if self._wait_ready():
                self.host = "%s:%d" % (self.addr, self.port)
                return
            self._kill()
            if port:
                break
            if self.token:
                self.token.stop()
                self.token = None
        raise RuntimeError("docker-registry did not start: " + self.log())

    def _wait_ready(self, timeout=15):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            try:
                if self.tls:
                    ctx = ssl.create_default_context(cafile=self.ca)
                    urllib.request.urlopen("https://%s:%d/v2/" % (self.addr, self.port),
                                           timeout=1, context=ctx)
                else:
                    urllib.request.urlopen("http://%s:%d/v2/" % (self.addr, self.port),
                                           timeout=1)
                return True
            except urllib.error.HTTPError:
                return True  # 401: it answers
            except OSError:
                time.sleep(0.05)
        return False

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    def stop(self):
        self._kill()
        if self.token:
            self.token.stop()
            self.token = None

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    # ---- what was asked of it ----

    def mark(self):
        """Where the log is now: requests() counts from here."""
        return os.path.getsize(self.log_path)

    def requests(self, since=0, method=None, what=None):
        """The access log's requests after mark `since`, as (method, path,
        status); what = "blobs" or "manifests" keeps those only."""
        with open(self.log_path, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        out = []
        for m in re.finditer(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[0-9.]+" (\d+)',
                             text):
            if method and m.group(1) != method:
                continue
            if what and "/%s/" % what not in m.group(2):
                continue
            out.append((m.group(1), m.group(2), int(m.group(3))))
        return out

    # ---- content ----

    def push(self, layout, name, fmt=None, all_=False, tag="latest"):
        """skopeo copy oci:LAYOUT:TAG to NAME on this registry; fmt "v2s2"
        converts to Docker schema 2. Returns the pushed manifest's digest
        (the index's with all_)."""
        digestfile = os.path.join(self.dir, "digest")
        cmd = ["skopeo", "--policy", self.policy, "copy", "-q", "--dest-tls-verify=false",
               "--digestfile", digestfile]
        if self.creds:
            cmd += ["--dest-creds", self.creds]
        if fmt:
            cmd += ["--format", fmt]
        else:
            cmd += ["--preserve-digests"]
        if all_:
            cmd += ["--all"]
        cmd += ["oci:%s:%s" % (layout, tag), "docker://%s/%s" % (self.host, name)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("skopeo copy to %s failed: %s" % (name, r.stderr))
        with open(digestfile) as f:
            return f.read().strip()

    def push_image(self, workdir, image, name, fmt=None):
        """An Image or Index straight to NAME (a fresh layout in workdir)."""
        safe = re.sub(r"[^A-Za-z0-9]+", "-", name) + "-" + (fmt or "oci")
        layout = oci_layout(os.path.join(workdir, safe), image)
        return self.push(layout, name, fmt=fmt, all_=isinstance(image, Index))

    def manifest(self, name, ref, accept=None):
        """GET a manifest as a client: (content-type, digest header, body)."""
        req = urllib.request.Request("http://%s/v2/%s/manifests/%s" % (self.host, name, ref))
        req.add_header("Accept", accept or ", ".join([
            OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.docker.distribution.manifest.list.v2+json"]))
        if self.auth == "htpasswd":
            req.add_header("Authorization",
                           "Basic " + base64.b64encode(self.creds.encode()).decode())
        elif self.auth == "token":
            raise NotImplementedError("manifest() on a token registry")
        with urllib.request.urlopen(req, timeout=10) as r:
            return (r.headers["Content-Type"], r.headers["Docker-Content-Digest"], r.read())

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.storage, "docker", "registry", "v2", "blobs", "sha256",
                            hexd[:2], hexd, "data")

    def corrupt_blob(self, digest):
        """Flip bytes in the middle of a stored blob, keeping its size."""
        path = self.blob_path(digest)
        with open(path, "r+b") as f:
            data = bytearray(f.read())
            mid = len(data) // 2
            for i in range(mid, min(mid + 16, len(data))):
                data[i] ^= 0xFF
            f.seek(0)
            f.write(data)

    def auth_file(self, path, style="auth", creds=None):
        """A Docker config.json with credentials for this registry: `auth`
        (base64 user:pass) or `username`/`password` keys."""
        user, password = (creds or self.creds or "%s:%s" % (USER, PASSWORD)).split(":", 1)
        if style == "auth":
            entry = {"auth": base64.b64encode(("%s:%s" % (user, password)).encode()).decode()}
        else:
            entry = {"username": user, "password": password}
        with open(path, "w") as f:
            json.dump({"auths": {self.host: entry}}, f)
        return path
