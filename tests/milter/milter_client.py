"""milter_client.py -- a bare milter protocol client (version 6) for the
connection tests (conns.py, fdlimit.sh) and the connection benchmark
(tests/bench/bench_conns.py): connections that negotiate and then say
nothing, that trickle a command a byte at a time, and whole SMTP sessions
with a message. It offers no "no reply" steps, so the milter answers every
command, and reads each answer.

Standard library only (any python3).
"""
import socket
import struct
import time

SMFIF_ACTIONS = 0x01 | 0x10 | 0x20  # add, change headers; quarantine
FINAL_REPLIES = b"acdrty"  # accept continue discard reject tempfail reply


def packet(cmd, data=b""):
    return struct.pack(">I", len(data) + 1) + cmd + data


def connect(path, timeout=10.0):
    """A connection to the unix socket path (not negotiated yet)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def open_many(path, n, setup=None, timeout=5.0):
    """n connections, each set up with setup(s) (e.g. negotiate) if
    given; returns (the open ones, how many failed to connect or were
    closed by the milter during setup)."""
    opened, failed = [], 0
    for _ in range(n):
        try:
            s = connect(path, timeout)
        except OSError:
            failed += 1
            continue
        try:
            if setup is not None:
                setup(s)
            opened.append(s)
        except (EOFError, OSError):
            failed += 1
            s.close()
    return opened, failed


def read_packet(s):
    """(cmd, data); raises EOFError when the milter closed."""
    head = b""
    while len(head) < 4:
        chunk = s.recv(4 - len(head))
        if not chunk:
            raise EOFError("connection closed")
        head += chunk
    (n,) = struct.unpack(">I", head)
    body = b""
    while len(body) < n:
        chunk = s.recv(n - len(body))
        if not chunk:
            raise EOFError("connection closed")
        body += chunk
    return body[:1], body[1:]


def negotiate(s):
    s.sendall(packet(b"O", struct.pack(">III", 6, SMFIF_ACTIONS, 0)))
    cmd, _ = read_packet(s)
    if cmd != b"O":
        raise ValueError("no option negotiation reply: %r" % cmd)


def command(s, cmd, data=b""):
    """Send one command, return its final reply code (modification
    requests before it, at the end of a message, are skipped)."""
    s.sendall(packet(cmd, data))
    while True:
        reply, _ = read_packet(s)
        if reply in [bytes([c]) for c in FINAL_REPLIES]:
            return reply


def begin_session(s, ip="203.0.113.7", host="client.example"):
    negotiate(s)
    data = host.encode() + b"\0" + b"4" + struct.pack(">H", 25) + \
        ip.encode() + b"\0"
    command(s, b"C", data)
    command(s, b"H", host.encode() + b"\0")


def message(s, sender="<user@example.com>"):
    """One message on a session; returns the end-of-message reply."""
    command(s, b"M", sender.encode() + b"\0")
    command(s, b"R", b"<rcpt@example.net>\0")
    for name, value in (("From", "User <user@example.com>"),
                        ("To", "rcpt@example.net"),
                        ("Subject", "test message"),
                        ("Date", "Mon, 23 Nov 2026 12:00:00 +0000"),
                        ("Message-ID", "<test@example.com>")):
        command(s, b"L", name.encode() + b"\0" + value.encode() + b"\0")
    command(s, b"N")
    command(s, b"B", b"Hello.\r\n")
    return command(s, b"E")


def closed(s, wait=0.0):
    """Whether the milter has closed s (waits up to wait seconds)."""
    before = s.gettimeout()
    s.settimeout(wait if wait > 0 else 0.001)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True
    finally:
        s.settimeout(before)


def trickle_header(s, delay):
    """Send a header command one byte every delay seconds until the
    milter closes the connection; returns the seconds it took (or raises
    when the whole command went through)."""
    data = packet(b"L", b"X-Slow\0" + b"x" * 200 + b"\0")
    start = time.monotonic()
    for i in range(len(data)):
        try:
            s.sendall(data[i:i + 1])
        except OSError:
            return time.monotonic() - start
        if closed(s, delay):
            return time.monotonic() - start
    raise ValueError("the whole trickled command was accepted")
