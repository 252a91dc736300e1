#!/usr/bin/env python3
"""tests/fuzz/make-seeds.py - writes the binary seed files of the fuzz corpora that are
awkward to write by hand (CRI call sequences, 9P replies, tar layers, boot configs), so
they can be read and regenerated: `python3 tests/fuzz/make-seeds.py`. Text seeds (JSON)
are committed as they are."""
import gzip
import io
import json
import os
import struct
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))


def out(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- protobuf, by hand (the few wire types the CRI requests need) -----------------
def varint(n):
    n &= (1 << 64) - 1
    b = b""
    while True:
        c = n & 0x7F
        n >>= 7
        if n:
            b += bytes([c | 0x80])
        else:
            return b + bytes([c])


def fld(num, val):
    """A field: int -> varint, bytes/str -> length-delimited, list -> repeated."""
    if isinstance(val, list):
        return b"".join(fld(num, v) for v in val)
    if isinstance(val, bool) or isinstance(val, int):
        return varint(num << 3 | 0) + varint(int(val))
    if isinstance(val, str):
        val = val.encode()
    return varint(num << 3 | 2) + varint(len(val)) + val


def msg(*fields):
    return b"".join(fld(n, v) for n, v in fields)


def kv(k, v):  # map<string,string> entry
    return msg((1, k), (2, v))


# Method indexes: declaration order in cri/api.proto (RuntimeService, then ImageService).
M = dict(Version=0, RunPodSandbox=1, StopPodSandbox=2, RemovePodSandbox=3,
         PodSandboxStatus=4, ListPodSandbox=5, StreamPodSandboxes=6, CreateContainer=7,
         StartContainer=8, StopContainer=9, RemoveContainer=10, ListContainers=11,
         ContainerStatus=13, UpdateContainerResources=14, ReopenContainerLog=15,
         ExecSync=16, ContainerStats=20, ListContainerStats=21, PodSandboxStats=23,
         ListPodSandboxStats=24, UpdateRuntimeConfig=26, Status=27, GetContainerEvents=31,
         ListMetricDescriptors=32, ListPodSandboxMetrics=33, RuntimeConfig=35,
         ListImages=37, ImageStatus=39, PullImage=40, RemoveImage=41, ImageFsInfo=42)


def call(method, body=b""):
    return bytes([M[method]]) + struct.pack("<H", len(body)) + body


def pod_config(name="web", logdir="/var/log/pods/x", ports=True):
    meta = msg((1, name), (2, "uid-" + name), (3, "default"), (4, 0))
    dns = msg((1, ["10.96.0.10"]), (2, ["svc.cluster.local"]), (3, ["ndots:5"]))
    pm = [msg((1, 0), (2, 80), (3, 8080), (4, ""))] if ports else []
    return msg((1, meta), (2, name + "-host"), (3, logdir), (4, dns), (5, pm),
               (6, [kv("app", name)]), (7, [kv("note", "x")]))


def ctr_config(name, command, logpath="c.log", image="example.com/app:1"):
    meta = msg((1, name), (2, 0))
    return msg((1, meta), (2, msg((1, image))), (3, command), (4, ["a1"]), (5, "/"),
               (6, [msg((1, "K"), (2, "V"))]),
               (7, [msg((1, "/data"), (2, "/tmp/data"), (3, True))]),
               (9, [kv("tier", "fe")]), (11, logpath))


def write_cri():
    pull = call("PullImage", msg((1, msg((1, "example.com/app:1"))),
                                 (2, msg((1, "u"), (2, "p")))))
    runp = call("RunPodSandbox", msg((1, pod_config()), (2, "kumo")))
    create = lambda cmd, n="c": call("CreateContainer", msg(
        (1, "@0"), (2, ctr_config(n, cmd)), (3, pod_config())))
    life = (pull + runp + create(["echo", "hi"]) + call("StartContainer", msg((1, "@1"))) +
            call("ContainerStatus", msg((1, "@1"), (2, True))) +
            call("ListContainers", msg((1, msg((3, "@0"), (4, [kv("tier", "fe")]))))) +
            call("ContainerStats", msg((1, "@1"))) +
            call("StopContainer", msg((1, "@1"), (2, 0))) +
            call("RemoveContainer", msg((1, "@1"))) +
            call("StopPodSandbox", msg((1, "@0"))) +
            call("RemovePodSandbox", msg((1, "@0"))))
    out("cri", "lifecycle", life)
    serving = (runp + create(["serve"], "srv") + call("StartContainer", msg((1, "@1"))) +
               call("PodSandboxStatus", msg((1, "@0"), (2, True))) +
               call("ListPodSandbox", msg((1, msg((1, "@0"))))) +
               call("ListPodSandboxStats", b"") + call("PodSandboxStats", msg((1, "@0"))) +
               call("ListContainerStats", b"") + call("ReopenContainerLog", msg((1, "@1"))) +
               call("UpdateContainerResources", msg((1, "@1"))) +
               call("StopPodSandbox", msg((1, "@0"))))
    out("cri", "serving", serving)
    out("cri", "exits", runp + create(["exit", "3"], "e") + call("StartContainer", msg((1, "@1"))) +
        create(["trap"], "t") + call("StartContainer", msg((1, "@2"))) +
        create(["sleep", "1"], "s") + call("StartContainer", msg((1, "@3"))) +
        call("StopContainer", msg((1, "@3"), (2, 1))))
    out("cri", "info", call("Version", msg((1, "v1"))) + call("Status", msg((1, True))) +
        call("RuntimeConfig") + call("ListMetricDescriptors") + call("ListPodSandboxMetrics") +
        call("UpdateRuntimeConfig", msg((1, msg((1, msg((1, "10.244.0.0/16"))))))) +
        call("ImageFsInfo") + call("ListImages"))
    out("cri", "images", pull + call("ImageStatus", msg((1, msg((1, "example.com/app:1"))), (2, True))) +
        call("PullImage", msg((1, msg((1, "example.com/notfound:1"))))) +
        call("PullImage", msg((1, msg((1, "example.com/notwasm:1"))))) +
        call("RemoveImage", msg((1, msg((1, "example.com/app:1"))))) + call("ListImages"))
    out("cri", "unimplemented", call("ExecSync", msg((1, "@0"), (2, ["ls"]))) +
        call("StreamPodSandboxes") + call("GetContainerEvents"))
    out("cri", "garbage", call("RunPodSandbox", b"\x0a\xff\xff\xff\x0f") +
        call("CreateContainer", b"\x12\x03\x0a\x01") + bytes([200, 5, 0]) + b"abcde")
    # linux.security_context.namespace_options.network = NODE (2)
    linux = msg((2, msg((1, msg((1, 2))))))
    out("cri", "hostnet", call("RunPodSandbox", msg((1, pod_config("h", "", False) +
                                                     msg((8, linux))))) +
        create(["echo", "x"], "h"))


# ---- 9P replies --------------------------------------------------------------------
def p9(typ, body, tag=0):
    return struct.pack("<IBH", 7 + len(body), typ, tag) + body


def p9s(s):
    s = s.encode()
    return struct.pack("<H", len(s)) + s


QID = struct.pack("<BIQ", 0x80, 1, 42)
RVERSION = p9(101, struct.pack("<I", 8192) + p9s("9P2000.L"), 0xFFFF)


def rec(op, tag_fix, reply):
    return bytes([op << 1 | tag_fix]) + struct.pack("<H", len(reply)) + reply


def write_p9():
    first = struct.pack("<BH", 0, len(RVERSION)) + RVERSION
    attr = struct.pack("<Q", 0x7FF) + QID + struct.pack("<III", 0o40755, 0, 0) + \
        struct.pack("<QQQQQ", 2, 0, 4096, 4096, 8) + struct.pack("<" + "Q" * 10, *range(10))
    dirent = lambda name, off: QID + struct.pack("<QB", off, 4) + p9s(name)
    entries = dirent(".", 1) + dirent("..", 2) + dirent("file.txt", 3)
    seq = (rec(0, 1, p9(105, QID)) + rec(1, 1, p9(111, struct.pack("<H", 1) + QID)) +
           rec(3, 1, p9(13, QID + struct.pack("<I", 0))) +
           rec(5, 1, p9(117, struct.pack("<I", 5) + b"hello")) +
           rec(6, 1, p9(119, struct.pack("<I", 5))) + rec(7, 1, p9(25, attr)) +
           rec(8, 1, p9(27, b"")) +
           rec(9, 1, p9(41, struct.pack("<I", len(entries)) + entries)) +
           rec(10, 1, p9(73, QID)) + rec(11, 1, p9(17, QID)) +
           rec(12, 1, p9(23, p9s("a/long/target/path"))) + rec(13, 1, p9(71, b"")) +
           rec(14, 1, p9(75, b"")) + rec(15, 1, p9(77, b"")) + rec(16, 1, p9(51, b"")) +
           rec(17, 1, p9(121, b"")) + rec(18, 1, b""))
    out("p9", "calls", first + seq)
    out("p9", "errors", first + rec(1, 1, p9(7, struct.pack("<I", 2))) +
        rec(3, 1, p9(7, struct.pack("<I", 13))) + rec(7, 0, p9(25, attr)) +
        rec(5, 1, p9(117, struct.pack("<I", 99999) + b"hi")) +
        rec(9, 1, p9(41, struct.pack("<I", 5000) + entries)) +
        rec(1, 1, p9(111, struct.pack("<H", 3) + QID)))
    out("p9", "version-only", first)
    out("p9", "bad-version", struct.pack("<BH", 0, 15) +
        p9(101, struct.pack("<I", 100) + p9s("9P2000"), 0xFFFF)[:15])


# ---- tar layers --------------------------------------------------------------------
def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"])
            ti.mode = e.get("mode", 0o644)
            ti.type = e.get("type", tarfile.REGTYPE)
            data = e.get("data", b"")
            if ti.type == tarfile.REGTYPE:
                ti.size = len(data)
            ti.linkname = e.get("link", "")
            t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return b.getvalue()


D, S, H = tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE


def write_tar():
    app = b"\0asm\x01\0\0\0"
    out("tar", "plain", tar_bytes([
        {"name": "bin", "type": D, "mode": 0o755},
        {"name": "bin/app.wasm", "data": app},
        {"name": "app.wasm", "data": app},
        {"name": "etc/", "type": D},
        {"name": "etc/hosts", "data": b"127.0.0.1 localhost\n"},
        {"name": "lib", "type": S, "link": "bin"},
        {"name": "etc/rel", "type": S, "link": "../bin/app.wasm"},
        {"name": "hard", "type": H, "link": "bin/app.wasm"}]))
    out("tar", "whiteouts", tar_bytes([
        {"name": "d/a", "data": b"a"}, {"name": "d/.wh.a"}, {"name": "d/b", "data": b"b"},
        {"name": "d/.wh..wh..opq"}, {"name": "e/.wh.."}]))
    # Each escape attempt alone: unpacking stops at the first refused entry.
    escapes = {
        "dotdot": [{"name": "../up", "data": b"x"}],
        "absolute": [{"name": "/abs", "data": b"x"}],
        "abs-symlink": [{"name": "ok", "type": S, "link": "/etc/passwd"}],
        "up-symlink": [{"name": "d/l2", "type": S, "link": "../../x"}],
        "through-symlink": [{"name": "sub", "type": D}, {"name": "sub/x", "type": S, "link": ".."},
                            {"name": "via", "type": S, "link": "sub/x/../.."}],
        "write-through": [{"name": "lib", "type": S, "link": "sub"}, {"name": "lib/f", "data": b"x"}],
        "hardlink-out": [{"name": "h", "type": H, "link": "../etc/passwd"}],
        "hardlink-symlink": [{"name": "a/b/c/l", "type": S, "link": "../../../x"},
                             {"name": "top", "type": H, "link": "a/b/c/l"}],
    }
    for name, entries in escapes.items():
        out("tar", "escape-" + name, tar_bytes(entries))
    out("tar", "replace", tar_bytes([
        {"name": "a", "type": D}, {"name": "a/f", "data": b"1"},
        {"name": "a", "data": b"file now"}, {"name": "a", "type": S, "link": "b"},
        {"name": "b", "type": D}, {"name": "a", "type": D}]))
    out("tar", "pax-long", tar_bytes([
        {"name": "x" * 200 + "/y" * 40, "data": b"long"},
        {"name": "p", "type": S, "link": "q" * 300}], fmt=tarfile.PAX_FORMAT))
    out("tar", "special", tar_bytes([
        {"name": "fifo", "type": tarfile.FIFOTYPE}, {"name": "dev", "type": tarfile.CHRTYPE}]))
    out("tar", "gzip", gzip.compress(tar_bytes([{"name": "app.wasm", "data": app}]), mtime=0))
    out("tar", "empty", b"")


# ---- boot configs (even first byte: JSON inside a valid initrd header) ----------------
def write_bootcfg():
    full = {"version": 2, "args": ["app.wasm", "a1"], "env": ["K=V"],
            "preopens": [{"guest": "/data", "path": "/data", "readonly": True, "share": "s0"}],
            "mounts": [{"path": "/etc/hosts", "share": "s1", "entry": "hosts", "readonly": True}],
            "stack_size": 2097152, "seed": "00112233445566778899aabbccddeeff",
            "net": {"mac": "52:54:00:12:34:56", "address": "10.88.0.2/16",
                    "gateway": "10.88.0.1", "mtu": 1400, "dns": ["10.96.0.10", "8.8.8.8", "1.1.1.1"],
                    "search": ["svc.cluster.local"], "hostname": "pod",
                    "listen": ["tcp:0.0.0.0:80", "udp:10.88.0.2:53"]}}
    out("bootcfg", "full", b"\0" + json.dumps(full).encode())
    out("bootcfg", "minimal", b"\0{}")
    out("bootcfg", "bad-net", b"\0" + json.dumps({"net": {"address": "10.0.0.1/33"}}).encode())
    out("bootcfg", "bad-types", b"\0" + json.dumps({"args": [1], "mounts": {}}).encode())
    hdr = b"KUMOBOOT" + struct.pack("<IIQQQQ", 2, 72, 72, 2, 74, 4) + b"\0" * 24
    out("bootcfg", "raw-initrd", b"\x01" + hdr + b"{}" + b"tar!")
    bad = b"KUMOBOOT" + struct.pack("<IIQQQQ", 2, 72, 1 << 40, 2, 0, 0) + b"\0" * 24
    out("bootcfg", "raw-outside", b"\x01" + bad)


if __name__ == "__main__":
    write_cri()
    write_p9()
    write_tar()
    write_bootcfg()
