#!/usr/bin/env python3
"""Pulling from a real registry, end to end (root): Debian's
docker-registry on 127.0.0.1 (anonymous, htpasswd, token auth) filled by
skopeo with images made here (tests/cli/registry.py), then `stack pull`,
`up` with pull_policy, `images`, `image rm`, `image prune`, and the image
config seen from inside the containers.

Each test has its own STACK_ROOT, STACK_RUN and project name and the
tearDown of test_lifecycle.py (nothing may be left); each class one
registry, stopped in tearDownClass.

    test_pull.py PATH/TO/stack [unittest options]
"""
import hashlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import registry as rg  # noqa: E402
import test_lifecycle as life  # noqa: E402
from registry import Image, Index, Layer, go_arch  # noqa: E402

_base = None


def base_layer():
    """busybox and its applets, gzip: every runnable image's bottom layer."""
    global _base
    if _base is None:
        _base = Layer().busybox().blob("gzip")
    return _base


def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def read(path):
    with open(path) as f:
        return f.read()


class PullTest(life.Lifecycle):
    """The registry (AUTH) and the images of the class (make_images) for
    every test; each test Lifecycle's own roots and leak checks, plus no
    temporary file left in the store."""
    AUTH = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")
        for tool in (rg.REGISTRY_BIN, "/usr/bin/skopeo"):
            if not os.path.exists(tool):
                raise unittest.SkipTest("needs " + tool)
        cls.shared = tempfile.mkdtemp(prefix="stack-it-pull-")
        try:
            cls.reg = rg.Registry(cls.shared, auth=cls.AUTH)
            cls.images = {}
            cls.make_images()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        reg = getattr(cls, "reg", None)
        if reg:
            reg.stop()
        shutil.rmtree(cls.shared, ignore_errors=True)

    @classmethod
    def make_images(cls):
        pass

    @classmethod
    def push(cls, name, image, fmt=None):
        """Push image as NAME:TAG; remember (image, registry digest)."""
        digest = cls.reg.push_image(cls.shared, image, name, fmt=fmt)
        cls.images[name] = (image, digest)
        return digest

    def setUp(self):
        life.Lifecycle.counter += 1
        self.dir = tempfile.mkdtemp(prefix="stack-it-pull-")
        self.project = "it-%d-%d" % (os.getpid(), life.Lifecycle.counter)
        self.root = os.path.join(self.dir, "root")
        self.env = dict(os.environ, STACK_ROOT=self.root, STACK_RUN=os.path.join(self.dir, "run"),
                        DOCKER_CONFIG=os.path.join(self.dir, "no-docker-config"))
        for v in ("COMPOSE_PROJECT_NAME", "STACK_AUTH_FILE", "STACK_INSECURE_REGISTRIES"):
            self.env.pop(v, None)

    def tearDown(self):
        tmp = self.tmp_left()
        super().tearDown()
        self.assertEqual(tmp, [])

    # ---- helpers ----

    def ref(self, name):
        return "%s/%s" % (self.reg.host, name)

    def services(self, **images):
        """A stack file of services named after the keywords, each with
        only its image (a command: `[...]` or other keys through dicts)."""
        text = "services:\n"
        for svc, spec in images.items():
            spec = spec if isinstance(spec, dict) else {"image": spec}
            text += "  %s:\n" % svc
            for k, v in spec.items():
                text += "    %s: %s\n" % (k, json.dumps(v))
        self.write(text)

    def pull(self, *args):
        return self.stack("pull", *args, timeout=120)

    def pull_ok(self, *args):
        r = self.pull(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r

    def images_json(self):
        r = self.stack("images", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def image(self, repo, tag):
        got = [i for i in self.images_json() if (i["repository"], i["tag"]) == (repo, tag)]
        self.assertEqual(len(got), 1, self.images_json())
        return got[0]

    def layer_dirs(self):
        d = os.path.join(self.root, "layers")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def layer(self, blob, *path):
        return os.path.join(self.root, "layers", blob.hex, *path)

    def tmp_left(self):
        """Temporary names (`.tmp-*`) anywhere in the store."""
        out, layers = [], os.path.join(self.root, "layers")
        for d, dirs, files in os.walk(self.root):
            out += [os.path.join(d, n) for n in dirs + files if n.startswith(".tmp-")]
            if d == layers:
                dirs[:] = []  # an unpacked layer's files are the image's
        return out

    def settle(self):
        """The registry writes its access log line after answering."""
        time.sleep(0.3)

    def assert_pull_output(self, out, ref, layers, digest, existing=()):
        """`stack pull`'s lines: the image's, each layer's in its order
        (layers interleave), then Pulled and the digest."""
        lines = out.splitlines()
        self.assertEqual(lines[:1], [" Image %s  Pulling" % ref], out)
        self.assertEqual(lines[-2:], [" Image %s  Pulled" % ref, " Digest: " + digest], out)
        middle, want = lines[1:-2], []
        for l in layers:
            if l.digest in existing:
                steps = [" %s  Already exists" % l.short]
            else:
                steps = [" %s  %s" % (l.short, s) for s in
                         ("Pulling fs layer", "Download complete", "Pull complete")]
            want += steps
            self.assertEqual([x for x in middle if x.startswith(" %s  " % l.short)], steps, out)
        self.assertEqual(sorted(middle), sorted(want), out)

    def assert_nothing_fetched(self, r, since, layers):
        """A pull of what the store has: no blob asked for, no layer line
        but `Already exists`."""
        self.settle()
        self.assertEqual(self.reg.requests(since, "GET", "blobs"), [])
        shorts = {l.short for l in layers}
        for line in r.stdout.splitlines():
            if line[1:13] in shorts:
                self.assertTrue(line.endswith("  Already exists"), r.stdout)
        self.assertNotIn("Pulling fs layer", r.stdout)
        self.assertNotIn("Download complete", r.stdout)

    def logs(self, service):
        r = self.stack("logs", "--no-prefix", service)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout


class Pull(PullTest):
    """An anonymous registry."""

    @classmethod
    def make_images(cls):
        gz = Layer().dir("gz").file("gz/file", "gzip layer\n").blob("gzip")
        plain = Layer().dir("plain").file("plain/file", "plain layer\n").blob(None)
        cls.push("basic:oci", Image([gz, plain], {"Cmd": ["sh"]}))
        v2 = Layer().dir("v2").file("v2/file", "schema2 layer\n").blob("gzip")
        v2b = Layer().file("v2b", "second schema2 layer\n").blob("gzip")
        cls.push("basic:v2s2", Image([v2, v2b], {"Cmd": ["sh"]}), fmt="v2s2")
        if rg.have_zstd():
            zst = Layer().dir("zst").file("zst/file", "zstd layer\n").blob("zstd")
            cls.push("basic:zstd", Image([gz, zst]))

        # a multi-platform index: only this machine's linux manifest is ours
        arch = go_arch()
        other = "arm64" if arch != "arm64" else "amd64"
        plats = [Image([Layer().file("platform", "linux/%s\n" % other).blob()], arch=other),
                 Image([Layer().file("platform", "windows/%s\n" % arch).blob()], arch=arch,
                       os_="windows"),
                 Image([Layer().file("platform", "linux/%s\n" % arch).blob()], arch=arch)]
        cls.push("multi:1", Index(plats))

        # whiteouts: plain, opaque, over a lower layer, run through overlay
        lower = (Layer().dir("dir").file("dir/a", "a\n").file("dir/b", "b\n")
                 .file("gone", "gone\n").dir("opq").file("opq/x", "x\n").file("opq/y", "y\n"))
        upper = (Layer().dir("dir").whiteout("dir/b").whiteout("gone").dir("opq")
                 .opaque("opq").file("opq/new", "new\n"))
        cls.push("whiteouts:1", Image([base_layer(), lower.blob(), upper.blob()]))

        attrs = (Layer().dir("d", 0o1777).file("d/f", "setuid\n", 0o4755, uid=1000, gid=1000,
                                                 xattrs={"user.x": "hello"})
                 .hardlink("d/hl", "d/f").symlink("d/sl", "f").symlink("d/abs", "/etc/passwd"))
        cls.push("attrs:1", Image([attrs.blob()]))

        # corrupt blobs (a layer; a config), sizes kept
        bad = Layer().file("bad", "x" * 4096).blob()
        cls.push("corrupt:layer", Image([bad]))
        cls.reg.corrupt_blob(bad.digest)
        cfg = Image([Layer().file("cfg", "fine\n").blob()], {"Cmd": ["corrupt-me"]})
        cls.push("corrupt:config", cfg)
        cls.reg.corrupt_blob(cfg.config_digest)

        cls.make_hostile()

        # layer sharing: two images on one base
        cls.push("share-a:1", Image([base_layer(), Layer().file("a", "a\n").blob()]))
        cls.push("share-b:1", Image([base_layer(), Layer().file("b", "b\n").blob()]))

        cls.push("policy:never", Image([base_layer()]))

        cls.push("config:1", Image([base_layer(), Layer().dir("work", uid=1000, gid=1000)
                                    .dir("data").file("data/seed", "seed\n").blob()], {
            "Entrypoint": ["/bin/sh", "-c"],
            "Cmd": ["trap 'echo got USR1; exit 0' USR1; "
                    "echo \"start $FROM_IMAGE $OVER $(id -u) $(pwd)\"; "
                    "while :; do sleep 0.1; done"],
            "Env": ["PATH=/bin", "FROM_IMAGE=yes", "OVER=image"],
            "WorkingDir": "/work",
            "User": "app",
            "StopSignal": "SIGUSR1",
            "Volumes": {"/data": {}},
            "ExposedPorts": {"8080/tcp": {}},
            "Healthcheck": {"Test": ["CMD-SHELL", "test -d /work"], "Interval": 200000000,
                            "Timeout": 2000000000, "Retries": 2}}))

    @classmethod
    def make_hostile(cls):
        """Layers that try to write outside their directory, each its own
        image; their targets are in cls.shared, so a broken extraction
        shows there (and harms nothing else)."""
        cls.sentinel = os.path.join(cls.shared, "sentinel")
        with open(cls.sentinel, "w") as f:
            f.write("untouched\n")
        t = cls.shared.lstrip("/")
        cls.hostile = {
            # name: (layer, the entry that must be refused)
            "dotdot": "../" * 8 + t + "/dotdot-escape",
            "abs": "/" + t + "/abs-escape",
            "symlink-root": "root/" + t + "/symlink-escape",
            "symlink-rel": "up/" + t + "/rel-escape",
            "hardlink": "pw",
        }
        layers = {
            "dotdot": Layer().file("ok", "ok\n").file(cls.hostile["dotdot"], "pwned\n"),
            "abs": Layer().file("ok", "ok\n").file(cls.hostile["abs"], "pwned\n"),
            "symlink-root": Layer().symlink("root", "/").file(cls.hostile["symlink-root"],
                                                              "pwned\n"),
            "symlink-rel": Layer().symlink("up", "../" * 16).file(cls.hostile["symlink-rel"],
                                                                  "pwned\n"),
            "hardlink": Layer().file("ok", "ok\n").hardlink("pw", "/etc/passwd"),
        }
        for name, layer in layers.items():
            cls.push("hostile:" + name, Image([layer.blob()]))

    # ---- pull by tag and digest ----

    def check_pull_twice(self, name, by_digest_too=True):
        """Pull NAME by tag, then by digest: exact output, store, and the
        second pull fetches nothing."""
        img, digest = self.images[name]
        repo, tag = name.split(":")
        self.services(a=self.ref(name))
        r = self.pull_ok()
        self.assert_pull_output(r.stdout, self.ref(name), img.layers, digest)
        self.assertEqual(self.layer_dirs(), sorted(l.hex for l in img.layers))
        got = self.image(self.ref(repo), tag)
        config = json.loads(self.reg.manifest(repo, digest)[2])["config"]["digest"]
        self.assertEqual((got["id"], got["digest"]), (config, digest))
        self.assertEqual(got["created"], "2024-05-01T12:00:00Z")
        self.assertEqual(got["size"], sum(m.size for l in img.layers for m in _regular(l)))

        mark = self.reg.mark()
        r = self.pull_ok()
        self.assertEqual(r.stdout.splitlines()[-2:],
                         [" Image %s  Pulled" % self.ref(name), " Digest: " + digest])
        self.assert_nothing_fetched(r, mark, img.layers)

        if by_digest_too:
            by_digest = "%s@%s" % (self.ref(repo), digest)
            self.services(a=by_digest)
            mark = self.reg.mark()
            r = self.pull_ok()
            self.assert_nothing_fetched(r, mark, img.layers)
            self.assertEqual(r.stdout.splitlines()[-2:],
                             [" Image %s  Pulled" % by_digest, " Digest: " + digest])
            both = [i for i in self.images_json() if i["repository"] == self.ref(repo)]
            self.assertEqual(len(both), 2, both)
            self.assertEqual({i["id"] for i in both}, {config})
            self.assertEqual({i["digest"] for i in both}, {digest})
            self.assertIn(tag, {i["tag"] for i in both})
            self.assertTrue({i["tag"] for i in both} - {tag} <= {"<none>", None, ""}, both)
            self.assertEqual(self.layer_dirs(), sorted(l.hex for l in img.layers))
        return img

    def test_pull_oci_by_tag_then_digest(self):
        img = self.check_pull_twice("basic:oci")
        self.assertEqual(read(self.layer(img.layers[0], "gz", "file")), "gzip layer\n")
        self.assertEqual(read(self.layer(img.layers[1], "plain", "file")), "plain layer\n")

    def test_pull_schema2_by_tag_then_digest(self):
        ctype = self.reg.manifest("basic", "v2s2")[0]
        self.assertEqual(ctype, "application/vnd.docker.distribution.manifest.v2+json")
        img = self.check_pull_twice("basic:v2s2")
        self.assertEqual(read(self.layer(img.layers[0], "v2", "file")), "schema2 layer\n")
        self.assertEqual(read(self.layer(img.layers[1], "v2b")), "second schema2 layer\n")

    def test_pull_digest_first(self):
        img, digest = self.images["basic:oci"]
        by_digest = "%s@%s" % (self.ref("basic"), digest)
        self.services(a=by_digest)
        r = self.pull_ok()
        self.assert_pull_output(r.stdout, by_digest, img.layers, digest)
        got = [i for i in self.images_json() if i["repository"] == self.ref("basic")]
        self.assertEqual(len(got), 1, got)
        self.assertEqual((got[0]["id"], got[0]["digest"]), (img.config_digest, digest))
        self.assertIn(got[0]["tag"], ("<none>", None, ""))
        r = self.pull("-q")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, "", ""))

    def test_localhost_name(self):
        """localhost is plain HTTP too, and keeps its name in the store."""
        img, digest = self.images["basic:oci"]
        ref = "localhost:%d/basic:oci" % self.reg.port
        self.services(a=ref)
        r = self.pull_ok()
        self.assert_pull_output(r.stdout, ref, img.layers, digest)
        self.assertEqual(self.image("localhost:%d/basic" % self.reg.port, "oci")["id"],
                         img.config_digest)

    def test_image_pull_by_name(self):
        """`image pull` needs no stack file; it stops at the first failure."""
        img, digest = self.images["basic:oci"]
        ref = self.ref("basic:oci")
        r = self.stack("image", "pull", ref, timeout=120)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assert_pull_output(r.stdout, ref, img.layers, digest)
        self.assertEqual(self.image(self.ref("basic"), "oci")["id"], img.config_digest)
        r = self.stack("image", "pull", "-q", self.ref("nothere:1"), ref, timeout=120)
        self.assertEqual((r.returncode, r.stdout), (1, ""))
        self.assertTrue(r.stderr.startswith("stack: pull `%s`: `1` not found: " %
                                            self.ref("nothere:1")), r.stderr)
        r = self.stack("image", "pull")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr, "stack: image pull: expects at least one image\n"
                         "see `stack help image`\n")

    def test_transient_failures_retried(self):
        """A 503, and a body cut short, on each blob's first GET: retried,
        said, and the pull succeeds with every digest checked."""
        img, digest = self.images["basic:oci"]
        for mode, why in (("503", "try later (UNAVAILABLE)"), ("cut", "")):
            with self.subTest(mode=mode):
                proxy = rg.FlakyProxy(self.reg.port, mode)
                self.addCleanup(proxy.stop)
                ref = "%s/basic:oci" % proxy.host
                self.services(a=ref)
                r = self.pull_ok()
                lines = r.stdout.splitlines()
                retried = [l for l in lines if "  Retrying: " in l]
                # the config's retry is the image's line; each layer's is its own
                self.assertEqual(len([l for l in retried if l.startswith(" Image %s  " % ref)]),
                                 1, r.stdout)
                for layer in img.layers:
                    mine = [l[15:] for l in lines if l.startswith(" %s  " % layer.short)]
                    self.assertEqual([mine[0], mine[-2], mine[-1]],
                                     ["Pulling fs layer", "Download complete", "Pull complete"],
                                     r.stdout)
                    self.assertTrue(mine[1].startswith("Retrying: "), r.stdout)
                # the config and both layers failed once each, and were fetched again
                self.assertEqual(len(proxy.failed), 3, proxy.failed)
                self.assertEqual(len(retried), 3, r.stdout)
                if why:
                    self.assertTrue(all(l.endswith(why) for l in retried), r.stdout)
                self.assertEqual(r.stdout.splitlines()[-1], " Digest: " + digest)
                self.assertEqual(self.image("%s/basic" % proxy.host, "oci")["id"],
                                 img.config_digest)
                self.assertEqual(self.stack("image", "rm", ref).returncode, 0)

    def test_concurrent_pulls_of_one_image(self):
        """Four pulls at once into one store: all succeed, each layer is
        there once, nothing temporary is left, and the image is whole."""
        img, digest = self.images["basic:oci"]
        ref = self.ref("basic:oci")
        procs = [subprocess.Popen([life.STACK, "image", "pull", "-q", ref], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        for p in procs:
            out, err = p.communicate(timeout=120)
            self.assertEqual((p.returncode, out, err), (0, "", ""))
        self.assertEqual(self.layer_dirs(), sorted(l.hex for l in img.layers))
        self.assertEqual(self.image(self.ref("basic"), "oci")["digest"], digest)
        self.assertEqual(read(self.layer(img.layers[0], "gz", "file")), "gzip layer\n")

    def test_missing_manifest_and_ignore_failures(self):
        good = self.ref("share-b:1")
        self.services(a=self.ref("nothere:1"), b=good)
        r = self.pull("a")
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stderr.startswith("stack: pull `%s`: " % self.ref("nothere:1")),
                        r.stderr)
        self.assertIn("manifest unknown", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertEqual(self.images_json(), [])
        # --ignore-pull-failures: the error said, the others pulled, success
        r = self.pull("--ignore-pull-failures")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("manifest unknown", r.stderr)
        self.assertEqual([(i["repository"], i["tag"]) for i in self.images_json()],
                         [(self.ref("share-b"), "1")])

    @unittest.skipUnless(rg.have_zstd(), "LOUD SKIP: no `zstd` CLI: zstd layers untested")
    def test_pull_zstd_layer(self):
        img = self.check_pull_twice("basic:zstd", by_digest_too=False)
        self.assertEqual(read(self.layer(img.layers[1], "zst", "file")), "zstd layer\n")

    # ---- platforms ----

    def test_multi_platform_picks_this_arch(self):
        index, digest = self.images["multi:1"]
        mine = index.images[2]
        self.services(a=self.ref("multi:1"))
        mark = self.reg.mark()
        r = self.pull_ok()
        self.assert_pull_output(r.stdout, self.ref("multi:1"), mine.layers, digest)
        self.assertEqual(self.layer_dirs(), [mine.layers[0].hex])
        self.assertEqual(read(self.layer(mine.layers[0], "platform")), "linux/%s\n" % go_arch())
        got = self.image(self.ref("multi"), "1")
        self.assertEqual((got["id"], got["digest"]), (mine.config_digest, index.digest))
        # nothing of the other platforms was fetched
        self.settle()
        fetched = {p.rsplit("/", 1)[1] for _, p, _ in self.reg.requests(mark, "GET", "blobs")}
        self.assertEqual(fetched, {mine.config_digest, mine.layers[0].digest})

    # ---- what layers hold ----

    def test_whiteouts_hide_through_overlay(self):
        img, _ = self.images["whiteouts:1"]
        _, lower, upper = img.layers
        self.services(a={"image": self.ref("whiteouts:1"),
                         "command": ["sh", "-c", "ls /dir /opq; test -e /gone || echo no-gone"]})
        self.pull_ok()
        # the lower layer keeps its files
        self.assertEqual(sorted(os.listdir(self.layer(lower, "dir"))), ["a", "b"])
        self.assertEqual(read(self.layer(lower, "gone")), "gone\n")
        self.assertEqual(sorted(os.listdir(self.layer(lower, "opq"))), ["x", "y"])
        # the upper one has overlay's whiteouts: 0/0 character devices, an opaque dir
        for p in (("dir", "b"), ("gone",)):
            st = os.lstat(self.layer(upper, *p))
            self.assertTrue(stat.S_ISCHR(st.st_mode), p)
            self.assertEqual(st.st_rdev, 0, p)
        self.assertEqual(sorted(os.listdir(self.layer(upper))), ["dir", "gone", "opq"])
        self.assertEqual(os.listdir(self.layer(upper, "dir")), ["b"])
        self.assertEqual(os.getxattr(self.layer(upper, "opq"), "trusted.overlay.opaque"), b"y")
        self.assertEqual(os.listdir(self.layer(upper, "opq")), ["new"])
        self.assertFalse(os.path.exists(self.layer(upper, "opq", ".wh..wh..opq")))
        # the merged view hides them
        self.up()
        self.wait_exited("a")
        self.assertEqual(self.logs("a"), "/dir:\na\n\n/opq:\nnew\nno-gone\n")

    def test_links_modes_xattrs_kept(self):
        img, _ = self.images["attrs:1"]
        self.services(a=self.ref("attrs:1"))
        self.pull_ok()
        layer = img.layers[0]
        d = os.lstat(self.layer(layer, "d"))
        self.assertEqual(stat.S_IMODE(d.st_mode), 0o1777)
        f = os.lstat(self.layer(layer, "d", "f"))
        self.assertEqual((stat.S_IMODE(f.st_mode), f.st_uid, f.st_gid, f.st_nlink, f.st_mtime),
                         (0o4755, 1000, 1000, 2, 1700000000))
        hl = os.lstat(self.layer(layer, "d", "hl"))
        self.assertEqual((hl.st_ino, hl.st_dev), (f.st_ino, f.st_dev))
        self.assertEqual(os.readlink(self.layer(layer, "d", "sl")), "f")
        self.assertEqual(os.readlink(self.layer(layer, "d", "abs")), "/etc/passwd")
        self.assertEqual(os.getxattr(self.layer(layer, "d", "f"), "user.x"), b"hello")
        self.assertEqual(read(self.layer(layer, "d", "hl")), "setuid\n")

    # ---- what must fail ----

    def test_corrupt_blob_fails_leaving_nothing(self):
        for name, blob in (("corrupt:layer", self.images["corrupt:layer"][0].layers[0].digest),
                           ("corrupt:config", self.images["corrupt:config"][0].config_digest)):
            with self.subTest(name):
                with open(self.reg.blob_path(blob), "rb") as f:
                    actual = rg.sha256(f.read())
                self.services(a=self.ref(name))
                r = self.pull()
                self.assertEqual((r.returncode, r.stderr),
                                 (1, "stack: pull `%s`: blob %s is corrupt: its content hashes "
                                  "to %s\n" % (self.ref(name), blob, actual)), r.stdout)
                self.assertEqual(self.images_json(), [])
                self.assertEqual(self.layer_dirs(), [])
                self.assertEqual(self.tmp_left(), [])
                blobs = os.path.join(self.root, "blobs", "sha256")
                if os.path.isdir(blobs):
                    self.assertNotIn(blob[7:], os.listdir(blobs))

    def test_hostile_layers_refused_or_neutralised(self):
        before = sorted(os.listdir(self.shared))
        passwd = file_sha256("/etc/passwd")
        host_passwd = os.stat("/etc/passwd")
        for name, entry in self.hostile.items():
            with self.subTest(name):
                img, _ = self.images["hostile:" + name]
                self.services(a=self.ref("hostile:" + name))
                r = self.pull()
                if r.returncode == 0:
                    # neutralised: whatever it made is inside its layer
                    layer = self.layer(img.layers[0])
                    for d, dirs, files in os.walk(layer):
                        for n in files:
                            st = os.lstat(os.path.join(d, n))
                            self.assertNotEqual((st.st_ino, st.st_dev),
                                                (host_passwd.st_ino, host_passwd.st_dev))
                else:
                    self.assertEqual(r.returncode, 1, r.stderr)
                    self.assertTrue(r.stderr.startswith(
                        "stack: pull `%s`: " % self.ref("hostile:" + name)), r.stderr)
                    self.assertIn("`%s`" % entry, r.stderr)
                    self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
                    self.assertNotIn(img.layers[0].hex, self.layer_dirs())
                    self.assertEqual([i for i in self.images_json()
                                      if i["repository"] == self.ref("hostile")
                                      and i["tag"] == name], [])
                self.assertEqual(sorted(os.listdir(self.shared)), before)
                self.assertEqual(read(self.sentinel), "untouched\n")
                self.assertEqual(file_sha256("/etc/passwd"), passwd)
                self.assertEqual(self.tmp_left(), [])
        # nothing landed beside the store either
        outside = [os.path.join(d, n) for d, dirs, files in os.walk(self.dir)
                   if not d.startswith(os.path.join(self.root, "layers"))
                   for n in files + dirs if "escape" in n]
        self.assertEqual(outside, [])

    # ---- pull_policy in up ----

    def test_pull_policy_missing_never_always(self):
        p = self.project
        # missing: pulled by the first up, not by the second
        self.services(a={"image": self.ref("share-a:1"), "pull_policy": "missing",
                         "command": ["cat", "/a"]})
        mark = self.reg.mark()
        self.up()
        self.settle()
        self.assertNotEqual(self.reg.requests(mark, what="manifests"), [])
        self.assertEqual(self.image(self.ref("share-a"), "1")["id"],
                         self.images["share-a:1"][0].config_digest)
        self.wait_exited("a")
        self.assertEqual(self.logs("a"), "a\n")
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        mark = self.reg.mark()
        self.up()
        self.settle()
        self.assertEqual(self.reg.requests(mark), [])
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

        # never: absent is an error, and nothing is made
        self.services(a={"image": self.ref("policy:never"), "pull_policy": "never",
                         "command": ["true"]})
        mark = self.reg.mark()
        r = self.stack("up", "-d")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("`%s`" % self.ref("policy:never"), r.stderr)
        self.assertTrue(r.stderr.startswith("stack: "), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.settle()
        self.assertEqual(self.reg.requests(mark), [])
        self.assertEqual(self.containers_dir(), [])
        self.assertFalse(os.path.exists(os.path.join(self.env["STACK_RUN"], p)))
        self.assertEqual([i for i in self.images_json() if i["tag"] == "never"], [])

        # always: every up pulls, so a tag pushed anew is picked up
        name = "policy:always-%d" % os.getpid()
        one = Image([base_layer(), Layer().file("v", "one\n").blob()])
        self.reg.push_image(self.dir, one, name)
        self.services(a={"image": self.ref(name), "pull_policy": "always",
                         "command": ["cat", "/v"]})
        self.up()
        self.wait_exited("a")
        self.assertEqual(self.logs("a"), "one\n")
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)
        two = Image([base_layer(), Layer().file("v", "two\n").blob()])
        self.reg.push_image(self.dir, two, name)
        mark = self.reg.mark()
        self.up()
        self.wait_exited("a")
        self.assertEqual(self.logs("a"), "two\n")
        self.settle()
        self.assertEqual([p.rsplit("/", 1)[1] for m, p, _ in self.reg.requests(mark, "GET", "blobs")
                          if p.rsplit("/", 1)[1] == base_layer().digest], [])
        self.assertEqual(self.image(self.ref("policy"), name.split(":")[1])["id"],
                         two.config_digest)
        r = self.stack("down", "-t", "0")
        self.assertEqual(r.returncode, 0, r.stderr)

    # ---- the store's bookkeeping ----

    def test_layer_sharing_and_rm(self):
        a, b = self.images["share-a:1"][0], self.images["share-b:1"][0]
        self.services(a=self.ref("share-a:1"), b=self.ref("share-b:1"))
        self.pull_ok("a")
        # b's base is a's: said so, and not fetched again
        mark = self.reg.mark()
        r = self.pull_ok("b")
        self.assert_pull_output(r.stdout, self.ref("share-b:1"), b.layers,
                                self.images["share-b:1"][1], existing={base_layer().digest})
        self.settle()
        self.assertEqual(sorted(p.rsplit("/", 1)[1] for _, p, _ in
                                self.reg.requests(mark, "GET", "blobs")),
                         sorted([b.config_digest, b.layers[1].digest]))
        self.assertEqual(self.layer_dirs(), sorted({base_layer().hex, a.layers[1].hex,
                                                     b.layers[1].hex}))
        r = self.stack("image", "rm", self.ref("share-a:1"))
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "Untagged: %s\nDeleted: %s\n" % (self.ref("share-a:1"),
                                                              a.config_digest), ""))
        self.assertEqual(self.layer_dirs(), sorted([base_layer().hex, b.layers[1].hex]))
        self.assertEqual(read(self.layer(base_layer(), "etc", "group"))[:5], "root:")
        r = self.stack("image", "rm", self.ref("share-b:1"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.layer_dirs(), [])
        self.assertEqual(self.images_json(), [])

    def test_rm_in_use_and_prune(self):
        p = self.project
        app, idle = self.ref("share-a:1"), self.ref("share-b:1")
        self.services(a={"image": app, "command": ["sleep", "1000"]})
        self.up()
        r = self.stack("image", "rm", app)
        self.assertEqual((r.returncode, r.stderr),
                         (1, "stack: image `%s` is used by container `%s-a-1`: remove the "
                          "container first (`stack down`)\n" % (app, p)))
        # pulled then removed: nothing for prune to find
        self.services(a={"image": app, "command": ["sleep", "1000"]}, b=idle)
        self.pull_ok("b")
        r = self.stack("image", "rm", idle)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.stack("image", "prune", "-f")
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, "Total reclaimed space: 0B\n", ""))
        # -a: the unused image goes, the one in use stays
        self.pull_ok("b")
        r = self.stack("image", "prune", "-a", "-f")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[:-1], ["Deleted: " + idle])
        self.assertRegex(lines[-1], r"^Total reclaimed space: [0-9.]+[kM]?B$")
        self.assertNotEqual(lines[-1], "Total reclaimed space: 0B")
        self.assertEqual([(i["repository"], i["tag"]) for i in self.images_json()],
                         [(self.ref("share-a"), "1")])
        a = self.images["share-a:1"][0]
        self.assertEqual(self.layer_dirs(), sorted(l.hex for l in a.layers))
        self.assertEqual(self.ps()["a"]["state"], "running")

    # ---- the image config applied ----

    def test_image_config_applied(self):
        ref = self.ref("config:1")
        self.services(a={"image": ref, "environment": {"OVER": "compose"}},
                      b={"image": ref, "command": ["echo b $$FROM_IMAGE; exec sleep 1000"],
                         "healthcheck": {"disable": True}, "user": "root",
                         "expose": ["9000", "8080/tcp"], "ports": ["127.0.0.1::9000"]})
        self.up()
        self.wait_for(lambda: self.logs("a") == "start yes compose 1000 /work\n", "a's start",
                      timeout=10)
        self.wait_for(lambda: self.logs("b") == "b yes\n", "b's line", timeout=10)
        self.assertEqual(self.exec_ok("a", "id", "-u"), "1000\n")
        self.assertEqual(self.exec_ok("a", "pwd"), "/work\n")
        self.assertEqual(self.exec_ok("a", "sh", "-c", "echo $FROM_IMAGE $OVER $PATH"),
                         "yes compose /bin\n")
        self.assertEqual(self.exec_ok("b", "id", "-u"), "0\n")
        # VOLUME: an anonymous volume each, seeded from the image
        self.assertEqual(self.exec_ok("a", "cat", "/data/seed"), "seed\n")
        vols = sorted(os.listdir(os.path.join(self.root, "volumes")))
        self.assertEqual(len(vols), 2, vols)
        self.assertTrue(all(v.endswith("_anon_1") for v in vols), vols)
        # HEALTHCHECK: the image's, for a service with none of its own
        self.wait_for(lambda: self.ps()["a"]["health"] == "healthy", "a healthy")
        self.assertIsNone(self.ps()["b"]["health"])
        # EXPOSE: shown by ps (the service's expose added), published ones as mappings
        self.assertEqual(self.ps()["a"]["exposed"], ["8080/tcp"])
        self.assertEqual(self.ps()["b"]["exposed"], ["8080/tcp", "9000/tcp"])
        table = self.stack("ps").stdout
        line_a = [l for l in table.splitlines() if "-a-1 " in l][0]
        self.assertTrue(line_a.endswith(" 8080/tcp"), table)
        port_b = self.ps()["b"]["ports"][0]["host_port"]
        line_b = [l for l in table.splitlines() if "-b-1 " in l][0]
        self.assertTrue(line_b.endswith(" 127.0.0.1:%d->9000/tcp, 8080/tcp" % port_b), table)
        # STOPSIGNAL: SIGUSR1, which a's PID 1 exits 0 on (TERM it ignores)
        r = self.stack("stop", "-t", "10", "a")
        self.assertEqual(r.returncode, 0, r.stderr)
        c = self.wait_exited("a")
        self.assertEqual(c["exit_code"], 0)
        self.assertEqual(self.logs("a"), "start yes compose 1000 /work\ngot USR1\n")


def _regular(blob):
    """The regular files of a layer's tarball (their bytes make up an
    image's size), hard links not counted twice."""
    with tarfile.open(fileobj=io.BytesIO(blob.tar)) as t:
        return [m for m in t.getmembers() if m.isreg() and not os.path.basename(
            m.name).startswith(".wh.")]


class AuthMixin:
    """The same two pulls against a registry that wants credentials."""

    @classmethod
    def make_images(cls):
        cls.push("auth:1", Image([Layer().file("secret", "behind auth\n").blob()]))

    def no_credentials_fail(self):
        self.services(a=self.ref("auth:1"))
        r = self.pull()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stderr.startswith("stack: pull `%s`: " % self.ref("auth:1")), r.stderr)
        self.assertIn("unauthorized", r.stderr)
        self.assertIn("STACK_AUTH_FILE", r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertEqual(self.images_json(), [])
        self.assertEqual(self.layer_dirs(), [])

    def credentials_work(self, style, via):
        img, digest = self.images["auth:1"]
        path = os.path.join(self.dir, "docker", "config.json")
        os.makedirs(os.path.dirname(path))
        self.reg.auth_file(path, style=style)
        if via == "STACK_AUTH_FILE":
            self.env["STACK_AUTH_FILE"] = path
        else:
            self.env["DOCKER_CONFIG"] = os.path.dirname(path)
        self.services(a=self.ref("auth:1"))
        r = self.pull_ok()
        self.assert_pull_output(r.stdout, self.ref("auth:1"), img.layers, digest)
        self.assertEqual(read(self.layer(img.layers[0], "secret")), "behind auth\n")
        self.assertEqual(self.image(self.ref("auth"), "1")["digest"], digest)

    def test_no_credentials(self):
        self.no_credentials_fail()

    def test_wrong_password(self):
        path = os.path.join(self.dir, "config.json")
        self.reg.auth_file(path, creds="%s:wrong" % rg.USER)
        self.env["STACK_AUTH_FILE"] = path
        self.services(a=self.ref("auth:1"))
        r = self.pull()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("unauthorized", r.stderr)
        self.assertEqual(self.images_json(), [])

    def test_auth_file(self):
        self.credentials_work("auth", "STACK_AUTH_FILE")

    def test_docker_config_username_password(self):
        self.credentials_work("username", "DOCKER_CONFIG")


class PullHtpasswd(AuthMixin, PullTest):
    AUTH = "htpasswd"


class PullToken(AuthMixin, PullTest):
    AUTH = "token"

    def test_no_credentials(self):
        """Anonymous pulls ask the token server too (as Docker Hub needs):
        it said no, and that is what fails."""
        refused = self.reg.token.refused
        super().test_no_credentials()
        self.assertGreater(self.reg.token.refused, refused)

    def test_auth_file(self):
        issued = len(self.reg.token.issued)
        super().test_auth_file()
        scopes = [s for ss in self.reg.token.issued[issued:] for s in ss]
        self.assertIn("repository:auth:pull", scopes)


class PullRemote(PullTest):
    """Registries at an address that is not loopback (in a network
    namespace of ours): HTTPS checked against the CAs we are told of, and
    plain HTTP only when STACK_INSECURE_REGISTRIES lists it."""

    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")
        cls.shared = tempfile.mkdtemp(prefix="stack-it-pull-")
        cls.net = cls.tls = cls.plain = None
        try:
            cls.net = rg.RemoteNet()
            cls.tls = rg.Registry(cls.shared, netns=cls.net, tls=True, port=5000)
            cls.plain = rg.Registry(cls.shared, netns=cls.net, port=5001)
            cls.reg = cls.tls
            cls.images = {}
            image = Image([Layer().file("remote", "over TLS\n").blob()])
            cls.digest = cls.tls.push_image(cls.shared, image, "remote:1")
            cls.plain.push_image(cls.shared, image, "remote:1")
            cls.image_ = image
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for reg in (getattr(cls, "tls", None), getattr(cls, "plain", None)):
            if reg:
                reg.stop()
        if getattr(cls, "net", None):
            cls.net.remove()
        shutil.rmtree(cls.shared, ignore_errors=True)

    def fails(self, ref, *words):
        self.services(a=ref)
        r = self.pull()
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertTrue(r.stderr.startswith("stack: pull `%s`: " % ref), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        for w in words:
            self.assertIn(w, r.stderr)
        self.assertEqual((self.images_json(), self.layer_dirs()), ([], []))

    def test_https_untrusted_then_trusted(self):
        ref = "%s/remote:1" % self.tls.host
        # not trusted: the system's CAs do not know ours
        self.fails(ref, "https://%s" % self.tls.host, "certificate is not trusted",
                   "/etc/docker/certs.d/%s/ca.crt" % self.tls.host)
        # Docker's certs.d layout, at STACK_CERTS_DIR
        certs = os.path.join(self.dir, "certs.d")
        os.makedirs(os.path.join(certs, self.tls.host))
        shutil.copy(self.tls.ca, os.path.join(certs, self.tls.host, "ca.crt"))
        self.env["STACK_CERTS_DIR"] = certs
        r = self.pull_ok()
        self.assert_pull_output(r.stdout, ref, self.image_.layers, self.digest)
        self.assertEqual(read(self.layer(self.image_.layers[0], "remote")), "over TLS\n")

    def test_plain_http_only_when_listed(self):
        ref = "%s/remote:1" % self.plain.host
        self.fails(ref, "https://%s" % self.plain.host, "STACK_INSECURE_REGISTRIES")
        # a host without a port lists every port of it
        for listed in (self.plain.host, "example.org," + self.net.addr):
            self.env["STACK_INSECURE_REGISTRIES"] = listed
            r = self.pull_ok()
            self.assert_pull_output(r.stdout, ref, self.image_.layers, self.digest)
            self.assertEqual(self.stack("image", "rm", ref).returncode, 0)


def load_tests(loader, standard_tests, pattern):
    """This file's tests only, not the ones PullTest inherits from
    Lifecycle."""
    suite = unittest.TestSuite()
    for cls in (Pull, PullHtpasswd, PullToken, PullRemote):
        for n in loader.getTestCaseNames(cls):
            if not hasattr(life.Lifecycle, n):
                suite.addTest(cls(n))
    return suite


if __name__ == "__main__":
    life.STACK = os.path.abspath(sys.argv.pop(1))
    unittest.main()
