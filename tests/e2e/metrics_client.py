#!/usr/bin/python3
# metrics_client.py -- an HTTP client for the metrics listener tests, on
# a TCP address ("127.0.0.1:PORT", "[::1]:PORT") or a unix socket
# ("unix:/path"); the standard library only.
#
#   metrics_client.py get ADDR PATH [METHOD]
#       one request; prints the status code on the first line, then the
#       body; exit 0 when an answer came within 3 s, 1 otherwise
#   metrics_client.py hold ADDR N SECONDS FILE
#       N bad clients at once: the odd ones send half a request line and
#       stop, the even ones connect and send nothing; once all are
#       connected FILE is written ("ready"); after SECONDS, or when the
#       server has closed them all, FILE.done gets "closed K" (how many
#       the server closed) and the rest are dropped
#   metrics_client.py repeat ADDR N [INTERVAL]
#       N scrapes of /metrics, one after the other (INTERVAL seconds
#       apart, default 0); prints how many were answered 200
#   metrics_client.py busy PORTFILE SECONDS
#       listen on a free loopback port (written to PORTFILE) for SECONDS:
#       a port in use for the start-up error test
import os
import socket
import sys
import time


def connect(addr, timeout):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(addr[5:])
        return s
    host, port = addr.rsplit(":", 1)
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect((host, int(port)))
    return s


def request(addr, path, method="GET"):
    """One request; the whole answer (head and body) as bytes."""
    s = connect(addr, 3)
    s.sendall(("%s %s HTTP/1.1\r\nHost: localhost\r\n"
               "Connection: close\r\n\r\n" % (method, path)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def get(addr, path, method="GET"):
    try:
        data = request(addr, path, method)
    except OSError as e:
        print("error", e)
        return 1
    head, _, body = data.partition(b"\r\n\r\n")
    status = head.split(b" ", 2)[1].decode() if b" " in head else "?"
    try:
        sys.stdout.write(status + "\n")
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader wanted the status line only
        sys.stdout = None
    return 0


def hold(addr, n, seconds, path):
    conns = []
    for i in range(n):
        s = connect(addr, 1)
        if i % 2:
            s.sendall(b"GET /metr")
        conns.append(s)
    with open(path, "w") as f:
        f.write("ready\n")
    closed = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(closed) < n:
        for i, s in enumerate(conns):
            if i in closed:
                continue
            s.settimeout(0.05)
            try:
                if s.recv(4096) == b"":
                    closed.add(i)
            except socket.timeout:
                pass
            except OSError:
                closed.add(i)
    for s in conns:
        s.close()
    with open(path + ".done", "w") as f:
        f.write("closed %d\n" % len(closed))
    return 0


def repeat(addr, n, interval=0.0):
    ok = 0
    for _ in range(n):
        try:
            if request(addr, "/metrics").startswith(b"HTTP/1.1 200"):
                ok += 1
        except OSError:
            pass
        if interval > 0:
            time.sleep(interval)
    print(ok)
    return 0


def busy(portfile, seconds):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    os.rename(tmp, portfile)
    time.sleep(seconds)
    return 0


def main(argv):
    if len(argv) in (4, 5) and argv[1] == "get":
        return get(*argv[2:])
    if len(argv) == 6 and argv[1] == "hold":
        return hold(argv[2], int(argv[3]), float(argv[4]), argv[5])
    if len(argv) in (4, 5) and argv[1] == "repeat":
        return repeat(argv[2], int(argv[3]),
                      float(argv[4]) if len(argv) == 5 else 0.0)
    if len(argv) == 4 and argv[1] == "busy":
        return busy(argv[2], float(argv[3]))
    sys.stderr.write("usage: see the top of metrics_client.py\n")
    return 2


sys.exit(main(sys.argv))
