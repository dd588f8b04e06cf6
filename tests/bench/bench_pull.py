#!/usr/bin/env python3
"""A benchmark, not a test: pulling an image from a registry. Prints

  - `stack image pull` of a ~100 MB (unpacked), 5-layer gzip image from a local
    registry into an empty store: download, verification and unpacking;
  - the same pull again (every layer present: only the manifest and config);
  - `skopeo copy docker://… oci:DIR` followed by `umoci unpack`, the
    two-tool way of getting the same image onto disk, and the ratio.

The image is made of this machine's own /usr/lib files (real binaries,
gzip-compressed as registries serve them), pushed with skopeo to Debian's
docker-registry on 127.0.0.1. Root only; everything under a temporary
directory, removed at the end.

    bench_pull.py PATH/TO/stack [RUNS]
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from registry import Registry  # noqa: E402

LAYERS = 5
LAYER_BYTES = 20 << 20


def source_files():
    """Regular files of /usr/lib/<triplet>, in a stable order."""
    root = "/usr/lib/x86_64-linux-gnu" if os.path.isdir("/usr/lib/x86_64-linux-gnu") else "/usr/lib"
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(d, f)
            if os.path.isfile(p) and not os.path.islink(p):
                yield p


def make_layout(out):
    """An OCI layout of LAYERS gzip layers of about LAYER_BYTES each."""
    os.makedirs(os.path.join(out, "blobs", "sha256"))

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(out, "blobs", "sha256", d), "wb") as f:
            f.write(data)
        return "sha256:" + d, len(data)

    files = source_files()
    layers, diff_ids, total = [], [], 0
    for _ in range(LAYERS):
        raw = io.BytesIO()
        size = 0
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
            for p in files:
                t.add(p, arcname=p.lstrip("/"), recursive=False)
                size += os.path.getsize(p)
                if size >= LAYER_BYTES:
                    break
        data = raw.getvalue()
        total += size
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
        layers.append(blob(gzip.compress(data, compresslevel=6, mtime=0)))
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2026-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/true"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }).encode()
    cdigest, csize = blob(config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": cdigest, "size": csize},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": d, "size": n} for d, n in layers],
    }).encode()
    mdigest, msize = blob(manifest)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": mdigest, "size": msize,
            "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    return total, sum(n for _, n in layers)


def timed(cmd, env=None):
    start = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def main():
    stack = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    tmp = tempfile.mkdtemp(prefix="stack-bench-pull-")
    registry = None
    try:
        registry = Registry(tmp)
        unpacked, compressed = make_layout(os.path.join(tmp, "oci"))
        ref = "%s/bench/image:1" % registry.host
        registry.push(os.path.join(tmp, "oci"), "bench/image:1", tag="bench")

        cold, warm, tools = [], [], []
        for i in range(runs):
            root = os.path.join(tmp, "root%d" % i)
            env = dict(os.environ, STACK_ROOT=root, STACK_RUN=os.path.join(tmp, "run"))
            pull = [stack, "image", "pull", "-q", ref]
            cold.append(timed(pull, env))
            warm.append(timed(pull, env))
            shutil.rmtree(root)

            out = os.path.join(tmp, "skopeo%d" % i)
            start = time.monotonic()
            subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                            "docker://" + ref, "oci:%s:bench" % out], check=True)
            subprocess.run(["umoci", "--log", "error", "unpack", "--image", out + ":bench",
                            out + "-bundle"], check=True, stdout=subprocess.DEVNULL)
            tools.append(time.monotonic() - start)
            shutil.rmtree(out)
            shutil.rmtree(out + "-bundle")

        c, w, t = (statistics.median(x) for x in (cold, warm, tools))
        print("image: %d layers, %.1f MB unpacked, %.1f MB compressed (gzip); median of %d runs"
              % (LAYERS, unpacked / 1e6, compressed / 1e6, runs))
        print("%-44s %9s" % ("", "seconds"))
        print("%-44s %9.3f  (%.0f MB/s unpacked)" % ("stack pull, empty store", c, unpacked / 1e6 / c))
        print("%-44s %9.3f" % ("stack pull, every layer present", w))
        print("%-44s %9.3f" % ("skopeo copy + umoci unpack", t))
        print("%-44s %9.2f" % ("ratio (skopeo + umoci) / stack", t / c))
    finally:
        if registry:
            registry.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
