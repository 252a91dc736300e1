#!/usr/bin/env python3
"""tests/support/net_host.py - the host side of tests/guest/run-net-tests.sh: ping, TCP and
UDP echo checks, a tiny DNS server and a TCP greeting server, QEMU CPU time.
usage: net_host.py ping ADDR N | tcp-echo ADDR PORT NBYTES | udp-echo ADDR PORT |
       churn ADDR PORT N | churn-for ADDR PORT SECONDS | keepalive ADDR PORT PATH N FILE | quit ADDR PORT | dns BIND NAME=ADDR... | greet BIND PORT | cpu PID SECONDS"""
import os
import socket
import struct
import sys
import threading
import time


def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff


def ping(dst, n):
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(2.0)
    ident, ok = os.getpid() & 0xffff, 0
    for seq in range(n):
        payload = b'kumo-ping-%d' % seq
        h = struct.pack('!BBHHH', 8, 0, 0, ident, seq)
        s.sendto(struct.pack('!BBHHH', 8, 0, csum(h + payload), ident, seq) + payload, (dst, 0))
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                d, a = s.recvfrom(2048)
            except socket.timeout:
                break
            ihl = (d[0] & 15) * 4
            t, _, _, i, q = struct.unpack('!BBHHH', d[ihl:ihl + 8])
            if a[0] == dst and t == 0 and i == ident and q == seq and d[ihl + 8:] == payload:
                ok += 1
                break
    print('%d/%d replies' % (ok, n))
    return ok == n


def tcp_echo(addr, port, nbytes):
    data = os.urandom(nbytes)
    s = socket.create_connection((addr, port), timeout=30)
    got = bytearray()

    def reader():
        while len(got) < len(data):
            b = s.recv(65536)
            if not b:
                break
            got.extend(b)
    t = threading.Thread(target=reader)
    t.start()
    s.sendall(data)
    t.join(60)
    closed_by_peer(s)
    same = bytes(got) == data
    print('tcp echo %d of %d bytes, %s' % (len(got), nbytes, 'identical' if same else 'DIFFERENT'))
    return same


def udp_echo(addr, port):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(2)
    ok = 0
    for i in range(5):
        msg = b'kumo-udp-%d-' % i + os.urandom(16).hex().encode()
        u.sendto(msg, (addr, port))
        try:
            d, a = u.recvfrom(2048)
            ok += d == msg and a == (addr, port)
        except socket.timeout:
            pass
    print('udp echo %d/5' % ok)
    return ok == 5


def closed_by_peer(s):
    """Half-closes and waits for the guest's FIN, so the guest's side of the
    connection is gone (not half-closed) by the time the next one is opened."""
    s.shutdown(socket.SHUT_WR)
    while s.recv(4096):
        pass
    s.close()


def keepalive(addr, port, path, n, local):
    import http.client
    want = open(local, 'rb').read()
    c = http.client.HTTPConnection(addr, port, timeout=30)
    ok = 0
    for _ in range(n):
        c.request('GET', path)
        r = c.getresponse()
        body = r.read()
        ok += r.status == 200 and body == want and not r.will_close
    sock_reused = c.sock is not None
    c.close()
    print('%d/%d identical responses on one connection' % (ok, n))
    return ok == n and sock_reused


def stat(addr, port):
    q = socket.create_connection((addr, port), timeout=10)
    q.sendall(b'STAT')
    line = b''
    while not line.endswith(b'\n'):
        b = q.recv(1000)
        if not b:
            break
        line += b
    closed_by_peer(q)
    return dict(kv.split('=') for kv in line.decode().split())


def churn(addr, port, n, secs=0):
    """n echo connections (or as many as fit in secs seconds, when secs > 0) between two
    usage reports: the guest's heap and pools must come back to the same figures."""
    a = stat(addr, port)
    end = time.time() + secs
    i = 0
    while (i < n) if secs <= 0 else (time.time() < end):
        s = socket.create_connection((addr, port), timeout=10)
        msg = b'churn %d' % i
        s.sendall(msg)
        got = b''
        while len(got) < len(msg):
            b = s.recv(100)
            if not b:
                break
            got += b
        closed_by_peer(s)
        if got != msg:
            print('connection %d: echo %r' % (i, got))
            return False
        i += 1
        if secs > 0:
            # Paced: the host's own TIME_WAIT sockets must not use up its ports.
            time.sleep(0.005)
    n = i
    b = stat(addr, port)
    keys = ('heap-used', 'pbuf-used', 'memp-tcp-pcb', 'memp-tcp-seg')
    print('after %d connections: ' % n + ' '.join('%s %s->%s' % (k, a[k], b[k]) for k in keys))
    return all(a[k] == b[k] for k in keys)


def quit_(addr, port):
    q = socket.create_connection((addr, port), timeout=10)
    q.sendall(b'QUIT')
    q.close()
    return True


def dns(bind, entries):
    table = {}
    for e in entries:
        name, a = e.split('=')
        table[name.lower().rstrip('.')] = socket.inet_aton(a)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((bind, 53))
    while True:
        q, peer = s.recvfrom(1500)
        if len(q) < 12:
            continue
        tid, flags, qd = struct.unpack('!HHH', q[:6])
        i, labels = 12, []
        while i < len(q) and q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode('ascii', 'replace'))
            i += 1 + q[i]
        qend = i + 5
        qtype = struct.unpack('!H', q[i + 1:i + 3])[0] if qend <= len(q) else 0
        name = '.'.join(labels).lower()
        ans = table.get(name) if qtype == 1 else None
        rcode = 0 if name in table else 3
        hdr = struct.pack('!HHHHHH', tid, 0x8180 | rcode, 1, 1 if ans else 0, 0, 0)
        body = q[12:qend]
        if ans:
            body += struct.pack('!HHHIH', 0xc00c, 1, 1, 60, 4) + ans
        s.sendto(hdr + body, peer)


def greet(bind, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, port))
    s.listen(8)
    while True:
        c, _ = s.accept()
        c.settimeout(20)
        line = b''
        try:
            while not line.endswith(b'\n'):
                b = c.recv(100)
                if not b:
                    break
                line += b
            c.sendall(b'hello ' + line)
        except OSError:
            pass
        c.close()


def cpu(pid, seconds):
    def ticks():
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
        return int(fields[11]) + int(fields[12])
    t0 = ticks()
    time.sleep(seconds)
    used = (ticks() - t0) / os.sysconf('SC_CLK_TCK')
    print('%.2f' % used)
    return True


def main(a):
    cmd = a[0]
    if cmd == 'ping':
        return ping(a[1], int(a[2]))
    if cmd == 'tcp-echo':
        return tcp_echo(a[1], int(a[2]), int(a[3]))
    if cmd == 'udp-echo':
        return udp_echo(a[1], int(a[2]))
    if cmd == 'keepalive':
        return keepalive(a[1], int(a[2]), a[3], int(a[4]), a[5])
    if cmd == 'churn':
        return churn(a[1], int(a[2]), int(a[3]))
    if cmd == 'churn-for':
        return churn(a[1], int(a[2]), 0, int(a[3]))
    if cmd == 'quit':
        return quit_(a[1], int(a[2]))
    if cmd == 'dns':
        return dns(a[1], a[2:])
    if cmd == 'greet':
        return greet(a[1], int(a[2]))
    if cmd == 'cpu':
        return cpu(int(a[1]), float(a[2]))
    print(__doc__)
    return False


if __name__ == '__main__':
    try:
        sys.exit(0 if main(sys.argv[1:]) else 1)
    except (OSError, ValueError, IndexError) as e:
        print('error: %s' % e)
        sys.exit(1)
