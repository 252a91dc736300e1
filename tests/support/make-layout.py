#!/usr/bin/env python3
"""tests/support/make-layout.py - builds OCI image layouts with the Python standard library
(an implementation independent of kumo) for skopeo to push in the registry tests.
usage: make-layout.py DIR TAG KIND WASM
KIND: image (wasi/wasm), wasip1 (wasip1/wasm), artifact (CNCF Wasm artifact),
      index (wasi/wasm + linux/amd64 + linux/arm64), linux (linux/amd64 only),
      linux-index (linux/amd64 + linux/arm64), hostile-dotdot, hostile-abs,
      hostile-symlink, hostile-device (a wasi/wasm image whose layer is hostile),
      whiteout (two layers: the second deletes a file of the first), zstd (zstd layer)"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

out, tag, kind, wasm_path = sys.argv[1:5]
wasm = open(wasm_path, "rb").read()
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"


def blob(data):
    d = hashlib.sha256(data).hexdigest()
    with open(f"{out}/blobs/sha256/{d}", "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def tar_bytes(entries):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mode = e.get("mode", 0o644)
            if e.get("type") == "symlink":
                ti.type, ti.linkname = tarfile.SYMTYPE, e["target"]
                t.addfile(ti)
            elif e.get("type") == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                t.addfile(ti)
            elif e.get("type") == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
                t.addfile(ti)
            else:
                data = e.get("data", b"")
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def layer(entries, compression="gzip"):
    raw = tar_bytes(entries)
    diff = "sha256:" + hashlib.sha256(raw).hexdigest()
    if compression == "zstd":
        data = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
        mt = "application/vnd.oci.image.layer.v1.tar+zstd"
    else:
        data = gzip.compress(raw, mtime=0)
        mt = "application/vnd.oci.image.layer.v1.tar+gzip"
    return dict(blob(data), mediaType=mt), diff


def image(os_, arch, layers_entries, entrypoint=None, compression="gzip"):
    descs, diffs = [], []
    for entries in layers_entries:
        d, diff = layer(entries, compression)
        descs.append(d)
        diffs.append(diff)
    cfg = {"architecture": arch, "os": os_, "rootfs": {"type": "layers", "diff_ids": diffs}, "config": {}}
    if entrypoint:
        cfg["config"]["Entrypoint"] = entrypoint
    cfg["config"]["Env"] = ["PATH=/", "GREETING=hello"]
    c = dict(blob(json.dumps(cfg).encode()), mediaType=OCI_CONFIG)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": descs}
    return dict(blob(json.dumps(m).encode()), mediaType=OCI_MANIFEST,
                platform={"os": os_, "architecture": arch})


def wasm_image(os_="wasi", compression="gzip"):
    return image(os_, "wasm", [[{"name": "app.wasm", "data": wasm, "mode": 0o755}]], ["/app.wasm"], compression)


def linux(arch):
    return image("linux", arch, [[{"name": "bin/sh", "data": b"\x7fELF not really", "mode": 0o755}]], ["/bin/sh"])


def hostile(entries):
    return image("wasi", "wasm", [[{"name": "app.wasm", "data": wasm}] + entries], ["/app.wasm"])


if kind == "image":
    top = wasm_image()
elif kind == "wasip1":
    top = wasm_image("wasip1")
elif kind == "zstd":
    top = wasm_image(compression="zstd")
elif kind == "whiteout":
    top = image("wasi", "wasm", [
        [{"name": "app.wasm", "data": wasm}, {"name": "old.txt", "data": b"old"},
         {"name": "d", "type": "dir"}, {"name": "d/x", "data": b"x"}],
        [{"name": ".wh.old.txt"}, {"name": "d/.wh..wh..opq"}, {"name": "d/y", "data": b"y"}],
    ], ["/app.wasm"])
elif kind == "artifact":
    cfg = json.dumps({"architecture": "wasm", "os": "wasip1", "layerDigests": ["sha256:" + hashlib.sha256(wasm).hexdigest()]}).encode()
    c = dict(blob(cfg), mediaType="application/vnd.wasm.config.v0+json")
    l = dict(blob(wasm), mediaType="application/wasm")
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": c, "layers": [l]}
    top = dict(blob(json.dumps(m).encode()), mediaType=OCI_MANIFEST)
elif kind in ("index", "linux-index"):
    ms = [linux("amd64"), linux("arm64")]
    if kind == "index":
        ms.insert(1, wasm_image())
    idx = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": ms}
    top = dict(blob(json.dumps(idx).encode()), mediaType=OCI_INDEX)
elif kind == "linux":
    top = linux("amd64")
elif kind == "hostile-dotdot":
    top = hostile([{"name": "../../escaped.txt", "data": b"escaped"}])
elif kind == "hostile-abs":
    top = hostile([{"name": "/abs-escaped.txt", "data": b"escaped"}])
elif kind == "hostile-symlink":
    top = hostile([{"name": "lnk", "type": "symlink", "target": "../../../../../tmp"},
                   {"name": "lnk/symlink-escaped.txt", "data": b"escaped"}])
elif kind == "hostile-device":
    top = hostile([{"name": "null", "type": "chr"}])
else:
    sys.exit(f"unknown kind {kind}")

top = {k: v for k, v in top.items() if k != "platform"}
top["annotations"] = {"org.opencontainers.image.ref.name": tag}
with open(f"{out}/oci-layout", "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
with open(f"{out}/index.json", "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [top]}, f)
