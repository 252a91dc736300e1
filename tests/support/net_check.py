#!/usr/bin/env python3
"""tests/support/net_check.py - the client side of the networking checks (run-net.sh):
each subcommand exits 0 on success, else prints what went wrong and exits 1.

  wait HOST PORT [SECS]          until a TCP connect succeeds
  seq HOST PORT PATH FILE N      N sequential keep-alive GETs on ONE connection, each
                                 body byte-identical to FILE
  conc HOST PORT PATH FILE C N   C connections open at once, N keep-alive GETs each
  bad HOST PORT PATH FILE        malformed requests get 400 (or 431) and the server keeps
                                 serving PATH afterwards
  echo-tcp HOST PORT             bytes come back unchanged, on 3 connections at once
  echo-udp HOST PORT             datagrams come back unchanged
"""
import asyncio
import os
import socket
import sys
import time


def fail(msg):
    print(f"net_check: {msg}", file=sys.stderr)
    sys.exit(1)


def read_response(f):
    """One HTTP/1.1 response from a buffered socket file: (status, headers, body)."""
    line = f.readline()
    if not line:
        raise EOFError("connection closed before the status line")
    parts = line.decode("latin-1").split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise ValueError(f"bad status line {line!r}")
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline()
        if not h:
            raise EOFError("connection closed in the headers")
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    body = f.read(n) if n else b""
    if len(body) != n:
        raise EOFError(f"body cut short: {len(body)} of {n} bytes")
    return status, headers, body


def request(path, close=False):
    conn = "close" if close else "keep-alive"
    return f"GET {path} HTTP/1.1\r\nHost: test\r\nConnection: {conn}\r\n\r\n".encode()


def cmd_wait(host, port, secs="60"):
    end = time.time() + float(secs)
    while time.time() < end:
        try:
            socket.create_connection((host, int(port)), timeout=2).close()
            return
        except OSError:
            time.sleep(0.2)
    fail(f"nothing listens on {host}:{port} after {secs}s")


def cmd_seq(host, port, path, file, n):
    want = open(file, "rb").read()
    s = socket.create_connection((host, int(port)), timeout=30)
    f = s.makefile("rb")
    errors = 0
    for i in range(int(n)):
        s.sendall(request(path))
        try:
            status, _, body = read_response(f)
        except (EOFError, ValueError, OSError) as e:
            fail(f"request {i + 1} of {n}: {e}")
        if status != 200 or body != want:
            errors += 1
    s.close()
    if errors:
        fail(f"{errors} of {n} sequential requests failed")


async def one_conn(host, port, path, want, n, opened, start, errors):
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(host, int(port)), 30)
    except (OSError, asyncio.TimeoutError) as e:
        errors.append(f"connect: {e}")
        opened.release()
        return
    opened.release()
    await start.wait()
    try:
        for _ in range(n):
            w.write(request(path))
            line = await asyncio.wait_for(r.readline(), 60)
            if not line.startswith(b"HTTP/1.1 200"):
                errors.append(f"status {line!r}")
                break
            length = None
            while True:
                h = await r.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                if k.strip().lower() == "content-length":
                    length = int(v)
            if length is None:
                errors.append("no content-length")
                break
            body = await asyncio.wait_for(r.readexactly(length), 60)
            if body != want:
                errors.append("body differs")
                break
    except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError) as e:
        errors.append(f"{type(e).__name__}: {e}")
    w.close()


async def conc(host, port, path, want, c, n):
    opened = asyncio.Semaphore(0)
    start = asyncio.Event()
    errors = []
    tasks = [asyncio.create_task(one_conn(host, port, path, want, n, opened, start, errors))
             for _ in range(c)]
    for _ in range(c):
        await opened.acquire()
    start.set()  # every connection is open at once before the first request
    await asyncio.gather(*tasks)
    return errors


def cmd_conc(host, port, path, file, c, n):
    want = open(file, "rb").read()
    errors = asyncio.run(conc(host, port, path, want, int(c), int(n)))
    if errors:
        fail(f"{len(errors)} of {c} connections failed, first: {errors[0]}")


def cmd_bad(host, port, path, file):
    want = open(file, "rb").read()
    bad = [
        b"GARBAGE\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET nopath HTTP/1.1\r\n\r\n",
        b"GET /../../etc/passwd HTTP/1.1\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"\x00\x01\x02\xff\r\n\r\n",
        b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n",
    ]
    for req in bad:
        s = socket.create_connection((host, int(port)), timeout=30)
        try:
            s.sendall(req)
        except OSError:
            pass  # the server may close before reading it all
        f = s.makefile("rb")
        try:
            status, _, _ = read_response(f)
        except (EOFError, ValueError, OSError) as e:
            fail(f"malformed {req[:30]!r}: no answer ({e})")
        if status not in (400, 431):
            fail(f"malformed {req[:30]!r}: status {status}, want 400")
        s.close()
        # ...and the server still serves.
        s = socket.create_connection((host, int(port)), timeout=30)
        s.sendall(request(path, close=True))
        status, _, body = read_response(s.makefile("rb"))
        s.close()
        if status != 200 or body != want:
            fail(f"after malformed {req[:30]!r} the server no longer serves {path}")


def cmd_echo_tcp(host, port):
    socks = [socket.create_connection((host, int(port)), timeout=30) for _ in range(3)]
    for round_ in range(3):
        for i, s in enumerate(socks):
            data = os.urandom(1000 + 50000 * round_ + i)
            s.sendall(data)
            got = b""
            while len(got) < len(data):
                chunk = s.recv(65536)
                if not chunk:
                    fail("echo connection closed early")
                got += chunk
            if got != data:
                fail(f"tcp echo differs ({len(data)} bytes)")
    for s in socks:
        s.close()


def cmd_echo_udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    for size in (1, 100, 1400, 8000):
        data = os.urandom(size)
        for attempt in range(5):  # UDP may drop: retry a few times
            s.sendto(data, (host, int(port)))
            try:
                got, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            if got != data:
                fail(f"udp echo differs ({size} bytes)")
            break
        else:
            fail(f"no udp echo for {size} bytes")


CMDS = {"wait": cmd_wait, "seq": cmd_seq, "conc": cmd_conc, "bad": cmd_bad,
        "echo-tcp": cmd_echo_tcp, "echo-udp": cmd_echo_udp}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in CMDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    try:
        CMDS[sys.argv[1]](*sys.argv[2:])
    except TypeError as e:
        fail(f"bad arguments: {e}")
    except OSError as e:
        fail(f"{sys.argv[1]}: {e}")
