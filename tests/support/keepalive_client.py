#!/usr/bin/env python3
"""tests/support/keepalive_client.py - an HTTP client holding ONE keep-alive connection
(never reopened) that GETs PATH every INTERVAL seconds until DIR/stop exists: what a
pod's client sees across a live migration (tests/e2e/migrate.sh, make bench-snapshot).

usage: keepalive_client.py HOST PORT PATH DIR [INTERVAL]
Prints `started` after the first answer, `mark N` once DIR/mark exists (N answers so
far), a line per failure, and last `requests N failed F gap_ms G same True|False`: G the
longest time between two answers, same whether the connection is the one it opened.
Appends each answer's CLOCK_MONOTONIC time (seconds) to DIR/answers."""
import http.client
import os
import sys
import time

host, port, path, d = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
interval = float(sys.argv[5]) if len(sys.argv) > 5 else 0.01
c = http.client.HTTPConnection(host, port, timeout=30)
c.auto_open = 0
c.connect()
local = c.sock.getsockname()[1]
n = fail = 0
gap = 0.0
body = None
marked = False
last = time.monotonic()
with open(os.path.join(d, "answers"), "a") as answers:
    while not os.path.exists(os.path.join(d, "stop")):
        try:
            c.request("GET", path)
            r = c.getresponse()
            b = r.read()
            if r.status != 200 or (body is not None and b != body):
                fail += 1
                print("bad answer", r.status, len(b), flush=True)
            if body is None:
                body = b
            n += 1
        except Exception as e:  # the connection broke: that is the failure counted
            fail += 1
            print("error", repr(e), flush=True)
            break
        now = time.monotonic()
        answers.write("%.6f\n" % now)
        answers.flush()
        gap = max(gap, now - last)
        last = now
        if n == 1:
            print("started", flush=True)
        if not marked and os.path.exists(os.path.join(d, "mark")):
            marked = True
            print("mark", n, flush=True)
        time.sleep(interval)
same = c.sock is not None and c.sock.getsockname()[1] == local
print("requests", n, "failed", fail, "gap_ms", int(gap * 1000), "same", same, flush=True)
