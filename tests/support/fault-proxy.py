#!/usr/bin/env python3
"""tests/support/fault-proxy.py - a loopback proxy in front of the test registry that injects
faults into pulls. usage: fault-proxy.py PORT UPSTREAM_PORT LOG MODE
MODE: pass | corrupt (layer blobs get a flipped byte) | truncate-once (the first GET of each
layer blob stops halfway) | fail500 (the first two requests answer 500) | mediatype (manifests
are served as a media type kumo does not accept) | slow (blobs trickle, for kill -9 tests).
Every request is appended to LOG as "METHOD PATH range=RANGE status=STATUS"."""
import http.client
import http.server
import sys
import threading
import time

port, upstream, log_path, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
lock = threading.Lock()
state = {"requests": 0, "truncated": set()}


def log(line):
    with lock:
        with open(log_path, "a") as f:
            f.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def forward(self, method):
        with lock:
            state["requests"] += 1
            n = state["requests"]
        rng = self.headers.get("Range", "-")
        if mode == "fail500" and n <= 2:
            log(f"{method} {self.path} range={rng} status=500")
            body = b'{"errors":[{"code":"UNKNOWN","message":"injected failure"}]}'
            self.send_response(500)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(body)
            return
        conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        conn.request(method, self.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read() if method != "HEAD" else b""
        is_blob = "/blobs/sha256:" in self.path
        is_manifest = "/manifests/" in self.path
        big = is_blob and len(body) > 4096  # layers, not configs
        log(f"{method} {self.path} range={rng} status={resp.status}")
        if mode == "corrupt" and big and resp.status in (200, 206):
            body = bytearray(body)
            body[len(body) // 2] ^= 0xFF
            body = bytes(body)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() in ("content-length", "connection", "transfer-encoding"):
                continue
            if mode == "mediatype" and is_manifest and k.lower() == "content-type":
                v = "application/vnd.docker.distribution.manifest.v1+prettyjws"
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        if mode == "truncate-once" and big and method == "GET" and resp.status == 200:
            with lock:
                first = self.path not in state["truncated"]
                state["truncated"].add(self.path)
            if first:
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                log(f"TRUNCATED {self.path}")
                return
        self.end_headers()
        if method == "HEAD":
            return
        if mode == "slow" and big:
            for i in range(0, len(body), 32768):
                self.wfile.write(body[i : i + 32768])
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self.wfile.write(body)

    def do_GET(self):
        self.forward("GET")

    def do_HEAD(self):
        self.forward("HEAD")


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
