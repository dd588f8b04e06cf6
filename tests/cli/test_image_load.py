#!/usr/bin/env python3
"""`stack image load -i FILE` end to end (root): docker save tarballs (the
classic layout and Docker 25's, with an OCI layout inside), OCI image
archives, OCI layout directories and skopeo's archives, all built here
with tarfile, json and hashlib; then what a bad archive gets: a clear
refusal, nothing named, nothing temporary left, nothing outside touched.

Each test has its own STACK_ROOT, removed afterwards.

    test_image_load.py PATH/TO/stack [unittest options]
"""
import gzip
import hashlib
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import unittest

STACK = None
GO_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
           "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}[platform.machine()]
OTHER_ARCH = "s390x" if GO_ARCH != "s390x" else "amd64"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"


def sha(data):
    return hashlib.sha256(data).hexdigest()


def add_bytes(tar, name, data, mode=0o644):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 1700000000
    tar.addfile(info, io.BytesIO(data))


def add_link(tar, name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    tar.addfile(info)


def layer(files):
    """An uncompressed layer tarball: {path: bytes}."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            add_bytes(tar, name, data)
    return out.getvalue()


def config(layers, arch=GO_ARCH, created="2024-05-01T12:00:00Z", env=None):
    """An image config for uncompressed layers (their diff_ids)."""
    return json.dumps({
        "architecture": arch, "os": "linux", "created": created,
        "config": {"Env": env or ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + sha(l) for l in layers]},
    }, sort_keys=True).encode()


def desc(media_type, data, **extra):
    d = {"mediaType": media_type, "digest": "sha256:" + sha(data), "size": len(data)}
    d.update(extra)
    return d


def files_size(layers):
    """What the store counts: bytes of the regular files of the layers."""
    total = 0
    for l in layers:
        with tarfile.open(fileobj=io.BytesIO(l)) as tar:
            total += sum(m.size for m in tar.getmembers() if m.isfile())
    return total


class Layout:
    """An OCI layout being written: blobs by digest, index.json entries."""

    def __init__(self):
        self.blobs = {}
        self.manifests = []

    def blob(self, data):
        self.blobs[sha(data)] = data
        return data

    def image(self, layers, arch=GO_ARCH, layer_type=MT_LAYER, blobs=None):
        """An image manifest (bytes) whose blobs are stored; blobs: the layer
        blobs as stored when they differ from the tars (compressed)."""
        cfg = self.blob(config(layers, arch))
        blobs = blobs or layers
        for b in blobs:
            self.blob(b)
        return self.blob(json.dumps({
            "schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": desc(MT_CONFIG, cfg),
            "layers": [desc(layer_type, b) for b in blobs],
        }).encode())

    def index(self, manifests):
        """A nested index of (manifest bytes, arch)."""
        return self.blob(json.dumps({
            "schemaVersion": 2, "mediaType": MT_INDEX,
            "manifests": [desc(MT_MANIFEST, m, platform={"os": "linux", "architecture": a})
                          for m, a in manifests],
        }).encode())

    def files(self):
        yield "oci-layout", json.dumps({"imageLayoutVersion": "1.0.0"}).encode()
        yield "index.json", json.dumps({"schemaVersion": 2, "mediaType": MT_INDEX,
                                        "manifests": self.manifests}).encode()
        for h, data in sorted(self.blobs.items()):
            yield "blobs/sha256/" + h, data

    def write_tar(self, path, extra=()):
        with tarfile.open(path, "w") as tar:
            for name, data in self.files():
                add_bytes(tar, name, data)
            for name, data in extra:
                add_bytes(tar, name, data)

    def write_dir(self, path):
        for name, data in self.files():
            os.makedirs(os.path.dirname(os.path.join(path, name)) or path, exist_ok=True)
            with open(os.path.join(path, name), "wb") as f:
                f.write(data)


def docker_save(path, images, docker25=False, layout_name=None):
    """A `docker save` tarball of [(tags, layers)]. Classic: ID.json configs
    and ID/layer.tar (a layer saved before is a symlink to its first copy,
    as Docker does); docker25: blobs/sha256/ and an OCI layout beside
    manifest.json (index.json naming layout_name when given)."""
    manifest, written = [], {}
    lay = Layout()
    with tarfile.open(path, "w") as tar:
        for tags, layers in images:
            cfg = config(layers)
            if docker25:
                m = lay.image(layers)
                annotations = {"io.containerd.image.name": layout_name or tags[0],
                               "org.opencontainers.image.ref.name": "latest"}
                lay.manifests.append(desc(MT_MANIFEST, m, annotations=annotations))
                manifest.append({"Config": "blobs/sha256/" + sha(cfg), "RepoTags": tags,
                                 "Layers": ["blobs/sha256/" + sha(l) for l in layers]})
                continue
            add_bytes(tar, sha(cfg) + ".json", cfg)
            names = []
            for i, l in enumerate(layers):
                lid = sha((sha(cfg) + str(i)).encode())
                name = lid + "/layer.tar"
                add_bytes(tar, lid + "/VERSION", b"1.0")
                add_bytes(tar, lid + "/json", b"{}")
                if sha(l) in written:
                    add_link(tar, name, "../" + written[sha(l)])
                else:
                    add_bytes(tar, name, l)
                    written[sha(l)] = name
                names.append(name)
            manifest.append({"Config": sha(cfg) + ".json", "RepoTags": tags, "Layers": names})
        if docker25:
            for name, data in lay.files():
                add_bytes(tar, name, data)
        add_bytes(tar, "manifest.json", json.dumps(manifest).encode())


L_BASE = layer({"etc/os-release": b"NAME=test\n", "bin/tool": b"#!/bin/sh\necho tool\n"})
L_APP = layer({"srv/app": b"app v1\n"})
L_OTHER = layer({"srv/other": b"other v2, a bit longer\n"})


class ImageLoad(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root")

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="stack-it-load-")
        self.root = os.path.join(self.dir, "root")
        self.env = dict(os.environ, STACK_ROOT=self.root, STACK_RUN=os.path.join(self.dir, "run"))
        self.cwd = self.dir

    def tearDown(self):
        leftovers = self.temporaries()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.assertEqual(leftovers, [])

    # ---- helpers ----

    def stack(self, *args):
        return subprocess.run([STACK] + list(args), env=self.env, capture_output=True, text=True,
                              timeout=120, cwd=self.cwd)

    def path(self, name):
        return os.path.join(self.dir, name)

    def load(self, path):
        r = self.stack("image", "load", "-i", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        return r.stdout

    def refused(self, path, message):
        """Load fails with exactly `stack: load `PATH`: MESSAGE`, names
        nothing and leaves nothing temporary."""
        r = self.stack("image", "load", "-i", path)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertEqual(r.stdout, "")
        self.assertEqual(r.stderr, "stack: load `%s`: %s\n" % (path, message))
        self.assertEqual(self.images(), [])
        self.assertEqual(self.temporaries(), [])
        return r

    def images(self):
        r = self.stack("images", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return sorted(json.loads(r.stdout), key=lambda i: (i["repository"], i["tag"]))

    def temporaries(self):
        found = []
        for top, dirs, files in os.walk(self.root):
            found += [os.path.join(top, n) for n in dirs + files if n.startswith(".tmp-")]
        return found

    def blob(self, hexdigest):
        """A blob of the store, or None."""
        try:
            with open(os.path.join(self.root, "blobs", "sha256", hexdigest), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def layer_dirs(self):
        d = os.path.join(self.root, "layers")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def read_layer(self, tar, name):
        with open(os.path.join(self.root, "layers", sha(tar), name), "rb") as f:
            return f.read()

    # ---- docker save ----

    def test_docker_save_two_tags_and_shared_layer(self):
        a, b = self.path("a.tar"), self.path("b.tar")
        docker_save(a, [(["app:1", "registry.example:5000/team/app:latest"], [L_BASE, L_APP])])
        docker_save(b, [(["other:2"], [L_BASE, L_OTHER])])
        self.assertEqual(self.load(a), "Loaded image: app:1\n"
                         "Loaded image: registry.example:5000/team/app:latest\n")
        self.assertEqual(self.load(b), "Loaded image: other:2\n")

        cfg_a, cfg_b = config([L_BASE, L_APP]), config([L_BASE, L_OTHER])
        got = [(i["repository"], i["tag"], i["id"], i["digest"], i["size"], i["created"])
               for i in self.images()]
        self.assertEqual(got, [
            ("app", "1", "sha256:" + sha(cfg_a), None, files_size([L_BASE, L_APP]),
             "2024-05-01T12:00:00Z"),
            ("other", "2", "sha256:" + sha(cfg_b), None, files_size([L_BASE, L_OTHER]),
             "2024-05-01T12:00:00Z"),
            ("registry.example:5000/team/app", "latest", "sha256:" + sha(cfg_a), None,
             files_size([L_BASE, L_APP]), "2024-05-01T12:00:00Z"),
        ])
        # the shared layer is unpacked once
        self.assertEqual(self.layer_dirs(), sorted(sha(l) for l in (L_BASE, L_APP, L_OTHER)))
        self.assertEqual(self.read_layer(L_BASE, "bin/tool"), b"#!/bin/sh\necho tool\n")
        self.assertEqual(self.read_layer(L_OTHER, "srv/other"), b"other v2, a bit longer\n")

    def test_hardlinked_file_counted_once(self):
        """A layer whose file has two names weighs the file once, whether
        this load unpacks it or finds it in the store already."""
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            add_bytes(tar, "bin/tool", b"x" * 1000)
            link = tarfile.TarInfo("bin/alias")
            link.type, link.linkname = tarfile.LNKTYPE, "bin/tool"
            tar.addfile(link)
        linked = out.getvalue()
        a, b = self.path("a.tar"), self.path("b.tar")
        docker_save(a, [(["first:1"], [linked, L_APP])])
        docker_save(b, [(["second:1"], [linked, L_APP])])
        self.load(a)
        self.load(b)
        self.assertEqual([(i["repository"], i["size"]) for i in self.images()],
                         [("first", 1000 + len(b"app v1\n")), ("second", 1000 + len(b"app v1\n"))])

    def test_docker_save_symlinked_layer_and_gzip(self):
        # Docker writes a layer two images share once, then links to it;
        # the whole tarball may come compressed
        path = self.path("two.tar")
        docker_save(path, [(["one:1"], [L_BASE, L_APP]), (["two:1"], [L_BASE, L_OTHER])])
        with open(path, "rb") as f, gzip.open(self.path("two.tar.gz"), "wb") as g:
            g.write(f.read())
        with tarfile.open(path) as tar:
            self.assertTrue(any(m.issym() for m in tar.getmembers()))
        self.assertEqual(self.load(self.path("two.tar.gz")),
                         "Loaded image: one:1\nLoaded image: two:1\n")
        self.assertEqual([i["repository"] for i in self.images()], ["one", "two"])
        self.assertEqual(self.layer_dirs(), sorted(sha(l) for l in (L_BASE, L_APP, L_OTHER)))

    def test_docker25_save_prefers_manifest_json(self):
        path = self.path("d25.tar")
        docker_save(path, [(["app:25"], [L_BASE, L_APP])], docker25=True,
                    layout_name="docker.io/library/not-this:one")
        with tarfile.open(path) as tar:
            names = tar.getnames()
        self.assertIn("index.json", names)
        self.assertIn("oci-layout", names)
        self.assertEqual(self.load(path), "Loaded image: app:25\n")
        imgs = self.images()
        self.assertEqual([(i["repository"], i["tag"], i["id"]) for i in imgs],
                         [("app", "25", "sha256:" + sha(config([L_BASE, L_APP])))])

    def test_docker_save_wrong_diff_id(self):
        path = self.path("bad.tar")
        docker_save(path, [(["bad:1"], [L_BASE, L_APP])])
        # the config promises L_APP, the archive holds L_OTHER in its place
        with tarfile.open(path) as tar:
            members = [(m, tar.extractfile(m).read() if m.isfile() else None)
                       for m in tar.getmembers()]
        with tarfile.open(path, "w") as tar:
            for m, data in members:
                if data == L_APP:
                    data = L_OTHER
                    m.size = len(data)
                tar.addfile(m, io.BytesIO(data) if data is not None else None)
        self.refused(path, "image `bad:1`: layer 2 (`%s/layer.tar`): layer sha256:%s is corrupt: "
                     "its uncompressed content hashes to sha256:%s"
                     % (sha((sha(config([L_BASE, L_APP])) + "1").encode()), sha(L_APP),
                        sha(L_OTHER)))

    def test_docker_save_corrupt_config(self):
        path = self.path("cfg.tar")
        cfg = config([L_BASE])
        with tarfile.open(path, "w") as tar:
            bad = cfg.replace(b"/bin/sh", b"/bin/xx")
            add_bytes(tar, sha(cfg) + ".json", bad)
            add_bytes(tar, "l/layer.tar", L_BASE)
            add_bytes(tar, "manifest.json", json.dumps(
                [{"Config": sha(cfg) + ".json", "RepoTags": ["c:1"], "Layers": ["l/layer.tar"]}])
                .encode())
        self.refused(path, "blob sha256:%s is corrupt: its content hashes to sha256:%s"
                     % (sha(cfg), sha(bad)))
        self.assertEqual(self.layer_dirs(), [])

    def test_docker_save_without_name(self):
        path = self.path("anon.tar")
        docker_save(path, [([], [L_BASE])])
        self.refused(path, "image sha256:%s has no name (its RepoTags in manifest.json are "
                     "empty): save it by name, e.g. `docker save NAME:TAG`"
                     % sha(config([L_BASE]))[:12])

    # ---- OCI ----

    def test_oci_archive_index_of_two_platforms(self):
        ours = layer({"arch": GO_ARCH.encode() + b"\n"})
        theirs = layer({"arch": OTHER_ARCH.encode() + b"\n"})
        lay = Layout()
        m_ours = lay.image([L_BASE, ours])
        m_theirs = lay.image([L_BASE, theirs], arch=OTHER_ARCH)
        # listed theirs first: the choice is by platform, not by order
        idx = lay.index([(m_theirs, OTHER_ARCH), (m_ours, GO_ARCH)])
        lay.manifests.append(desc(MT_INDEX, idx, annotations={
            "io.containerd.image.name": "docker.io/library/multi:1",
            "org.opencontainers.image.ref.name": "1"}))
        path = self.path("multi.tar")
        lay.write_tar(path)
        self.assertEqual(self.load(path), "Loaded image: multi:1\n")
        imgs = self.images()
        # no registry digest: a load is no pull
        self.assertEqual([(i["repository"], i["tag"], i["id"], i["digest"]) for i in imgs],
                         [("multi", "1", "sha256:" + sha(config([L_BASE, ours])), None)])
        # the manifest kept is our platform's
        self.assertEqual(self.blob(sha(m_ours)), m_ours)
        self.assertIsNone(self.blob(sha(m_theirs)))
        self.assertEqual(self.read_layer(ours, "arch"), GO_ARCH.encode() + b"\n")
        self.assertEqual(self.layer_dirs(), sorted([sha(L_BASE), sha(ours)]))

    def test_oci_layout_directory_gzip_layers(self):
        gz = gzip.compress(L_APP, mtime=0)
        lay = Layout()
        m = lay.image([L_APP], layer_type=MT_LAYER_GZ, blobs=[gz])
        lay.manifests.append(desc(MT_MANIFEST, m, annotations={
            "org.opencontainers.image.ref.name": "localhost/layout/dir:v1"}))
        d = self.path("layout")
        lay.write_dir(d)
        self.assertEqual(self.load(d), "Loaded image: localhost/layout/dir:v1\n")
        imgs = self.images()
        self.assertEqual([(i["repository"], i["tag"], i["digest"], i["size"]) for i in imgs],
                         [("localhost/layout/dir", "v1", None, files_size([L_APP]))])
        self.assertEqual(self.blob(sha(m)), m)
        self.assertEqual(self.read_layer(L_APP, "srv/app"), b"app v1\n")

    def skopeo_archive(self, dest):
        lay = Layout()
        m = lay.image([L_BASE, L_APP])
        lay.manifests.append(desc(MT_MANIFEST, m))
        d = self.path("src-layout")
        lay.write_dir(d)
        r = subprocess.run(["skopeo", "copy", "oci:" + d, dest], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    @unittest.skipUnless(shutil.which("skopeo"), "skopeo is not installed")
    def test_skopeo_oci_archive(self):
        path = self.path("sk.tar")
        self.skopeo_archive("oci-archive:%s:skopeo/made:v2" % path)
        self.assertEqual(self.load(path), "Loaded image: skopeo/made:v2\n")
        imgs = self.images()
        self.assertEqual([(i["repository"], i["tag"], i["id"]) for i in imgs],
                         [("skopeo/made", "v2", "sha256:" + sha(config([L_BASE, L_APP])))])
        self.assertEqual(self.layer_dirs(), sorted([sha(L_BASE), sha(L_APP)]))

    @unittest.skipUnless(shutil.which("skopeo"), "skopeo is not installed")
    def test_skopeo_docker_archive(self):
        # podman's and skopeo's docker save: layers as HEX.tar at the top,
        # ID/layer.tar a symlink to them
        path = self.path("sk-docker.tar")
        self.skopeo_archive("docker-archive:%s:skopeo/docker:v3" % path)
        self.assertEqual(self.load(path), "Loaded image: skopeo/docker:v3\n")
        imgs = self.images()
        self.assertEqual([(i["repository"], i["tag"], i["id"], i["size"]) for i in imgs],
                         [("skopeo/docker", "v3", "sha256:" + sha(config([L_BASE, L_APP])),
                           files_size([L_BASE, L_APP]))])
        self.assertEqual(self.read_layer(L_APP, "srv/app"), b"app v1\n")

    @unittest.skipUnless(shutil.which("skopeo"), "skopeo is not installed")
    def test_oci_archive_without_name(self):
        path = self.path("anon.tar")
        self.skopeo_archive("oci-archive:" + path)
        with tarfile.open(path) as tar:
            index = json.load(tar.extractfile("index.json"))
        d = index["manifests"][0]["digest"]
        self.refused(path, "image %s has no name (no org.opencontainers.image.ref.name in "
                     "index.json): give it one, e.g. `skopeo copy oci-archive:%s "
                     "oci-archive:NAMED.tar:NAME:TAG`, then load NAMED.tar" % (d[:19], path))

    def test_oci_archive_named_by_tag_only(self):
        lay = Layout()
        m = lay.image([L_BASE])
        lay.manifests.append(desc(MT_MANIFEST, m, annotations={
            "org.opencontainers.image.ref.name": "latest"}))
        path = self.path("tag.tar")
        lay.write_tar(path)
        self.refused(path, "image sha256:%s is named only `latest` (a tag, no repository): give "
                     "it a name, e.g. `skopeo copy oci-archive:%s:latest "
                     "oci-archive:NAMED.tar:NAME:TAG`, then load NAMED.tar" % (sha(m)[:12], path))

    def test_oci_corrupt_blob(self):
        lay = Layout()
        m = lay.image([L_BASE, L_APP])
        lay.manifests.append(desc(MT_MANIFEST, m, annotations={
            "org.opencontainers.image.ref.name": "corrupt:1"}))
        bad = L_APP.replace(b"app v1", b"app v2")
        lay.blobs[sha(L_APP)] = bad
        path = self.path("corrupt.tar")
        lay.write_tar(path)
        self.refused(path, "image `corrupt:1`: blob sha256:%s is corrupt: its content hashes to "
                     "sha256:%s" % (sha(L_APP), sha(bad)))
        # checked before anything entered the store
        self.assertEqual(self.layer_dirs(), [])

    def test_oci_missing_blob(self):
        lay = Layout()
        m = lay.image([L_BASE, L_APP])
        lay.manifests.append(desc(MT_MANIFEST, m, annotations={
            "org.opencontainers.image.ref.name": "missing:1"}))
        del lay.blobs[sha(L_BASE)]
        path = self.path("missing.tar")
        lay.write_tar(path)
        self.refused(path, "image `missing:1`: blob sha256:%s is missing" % sha(L_BASE))

    def test_oci_foreign_and_encrypted_layers(self):
        for mt, why in (("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                         "foreign layers are not supported: their content lives outside the "
                         "image (Windows base layers)"),
                        ("application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
                         "encrypted layers are not supported")):
            with self.subTest(media_type=mt):
                lay = Layout()
                m = lay.image([L_BASE], layer_type=mt)
                lay.manifests.append(desc(MT_MANIFEST, m, annotations={
                    "org.opencontainers.image.ref.name": "odd/layer:1"}))
                path = self.path("odd.tar")
                lay.write_tar(path)
                self.refused(path, "image `odd/layer:1`: layer sha256:%s (%s): %s"
                             % (sha(L_BASE), mt, why))

    def test_oci_index_without_our_platform(self):
        lay = Layout()
        m = lay.image([L_BASE], arch=OTHER_ARCH)
        idx = lay.index([(m, OTHER_ARCH)])
        lay.manifests.append(desc(MT_INDEX, idx, annotations={
            "org.opencontainers.image.ref.name": "elsewhere:1"}))
        path = self.path("elsewhere.tar")
        lay.write_tar(path)
        self.refused(path, "image `elsewhere:1`: index sha256:%s has no image for linux/%s "
                     "(it has: linux/%s)" % (sha(idx), GO_ARCH, OTHER_ARCH))

    # ---- not images, and hostile ones ----

    def test_not_an_image(self):
        path = self.path("plain.tar")
        with tarfile.open(path, "w") as tar:
            add_bytes(tar, "hello.txt", b"hello\n")
        self.refused(path, "not an image archive: it holds neither manifest.json (docker save) "
                     "nor index.json (OCI)")
        text = self.path("notes.txt")
        with open(text, "w") as f:
            f.write("just some text, long enough to be looked at by the tar reader\n" * 20)
        self.refused(text, "not an image archive: Unrecognized archive format")
        self.refused(self.path("absent.tar"), "open: No such file or directory")

    def hostile(self, name, entries, message):
        """An otherwise good image archive with entries added before it."""
        path = self.path(name)
        good = self.path("good.tar")
        docker_save(good, [(["victim:1"], [L_BASE])])
        with tarfile.open(path, "w") as tar:
            for kind, entry, arg in entries:
                if kind == "file":
                    add_bytes(tar, entry, arg)
                else:
                    add_link(tar, entry, arg, kind)
            with tarfile.open(good) as src:
                for m in src.getmembers():
                    tar.addfile(m, src.extractfile(m) if m.isfile() else None)
        if message is None:
            self.assertEqual(self.load(path), "Loaded image: victim:1\n")
        else:
            self.refused(path, message)

    def test_hostile_archives(self):
        outside = self.path("outside")
        os.makedirs(outside)
        work = self.path("work/sub")
        os.makedirs(work)
        absolute = os.path.join(outside, "abs")
        # a name that climbs would climb from here
        self.cwd = work
        cases = [
            ("dotdot.tar", [("file", "../x", b"x")],
             "tar entry `../x`: name with a `..` component refused"),
            ("dotdot2.tar", [("file", "blobs/../../x", b"x")],
             "tar entry `blobs/../../x`: name with a `..` component refused"),
            ("abs.tar", [("file", absolute, b"x")],
             "tar entry `%s`: absolute name refused" % absolute),
            ("link-out.tar", [(tarfile.SYMTYPE, "manifest.json", "/etc/passwd")],
             "tar entry `manifest.json`: a link out of the archive refused"),
            ("link-up.tar", [(tarfile.SYMTYPE, "x/layer.tar", "../../../etc/shadow")],
             "tar entry `x/layer.tar`: a link out of the archive refused"),
            ("hard-out.tar", [(tarfile.LNKTYPE, "y/layer.tar", "../etc/shadow")],
             "tar entry `y/layer.tar`: a link out of the archive refused"),
            # nothing is ever written through a link of the archive, not
            # even a file load keeps (blobs/sha256/HEX, ID/layer.tar)
            ("link-dir.tar", [(tarfile.SYMTYPE, "evil", outside),
                              ("file", "evil/pwned", b"x"),
                              (tarfile.SYMTYPE, "blobs", outside),
                              (tarfile.SYMTYPE, "blobs/sha256", outside),
                              ("file", "blobs/sha256/" + sha(b"x"), b"x"),
                              (tarfile.SYMTYPE, "lnk", outside),
                              ("file", "lnk/layer.tar", b"x")], None),
        ]
        for name, entries, message in cases:
            with self.subTest(archive=name):
                shutil.rmtree(self.root, ignore_errors=True)
                self.hostile(name, entries, message)
                self.assertEqual(os.listdir(outside), [])
                self.assertEqual(os.listdir(self.path("work")), ["sub"])
                self.assertEqual(os.listdir(work), [])
                self.assertFalse(os.path.exists(self.path("x")))
                self.assertEqual(self.temporaries(), [])


def main():
    global STACK
    if len(sys.argv) < 2:
        sys.exit("usage: test_image_load.py PATH/TO/stack [unittest options]")
    STACK = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)


if __name__ == "__main__":
    main()
