#!/usr/bin/python3
"""readahead.py -- the daemon reads milter commands ahead (conns.h): an
MTA under no-reply steps writes a message's commands back to back, and
one read takes what is there. Through a real daemon that signs (the
demo RSA key), with a client that negotiates every no-reply step as
Postfix does, each message's DKIM-Signature verified by dkimpy against
the demo key record, so a byte lost, doubled or reordered anywhere in
what was read ahead fails the signature:

  - a whole session (connect, helo and two messages) in one write: both
    messages signed, both signatures verify, and the daemon made far
    fewer read() calls than the two a command libmilter asks for;
  - the same session in pieces of 1 to 700 bytes with short pauses, so
    that reads end inside a command's length, inside its data and
    between commands;
  - a 40 KB body (a read longer than the read-ahead buffer) written
    together with the header commands before it and the end of message
    after it;
  - a session that ends (the MTA closes) right after a message written
    whole: the daemon answers it and then serves a new connection.

Usage: readahead.py AUTHMILTER SOURCE_ROOT (run with Debian's python3,
which has python3-dkim)
"""
import os
import random
import re
import struct
import sys
import time

import dkim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import milter_client as mc  # noqa: E402
from daemon_proc import run_test  # noqa: E402

# the no-reply steps (SMFIP_NR_*) and the steps an MTA may skip
NR_ALL = 0x80 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000 | \
    0x40000 | 0x80000
SKIPS = 0x100 | 0x200  # SMFIP_NOUNKNOWN, SMFIP_NODATA
LEADSPC = 0x100000  # SMFIP_HDR_LEADSPC
NORCPT = 0x08

HEADERS = [("From", "User <user@example.com>"),
           ("To", "rcpt@example.net"),
           ("Subject", "read ahead %d"),
           ("Date", "Mon, 07 Dec 2026 12:00:00 +0000"),
           ("Message-ID", "<readahead-%d@example.com>"),
           ("MIME-Version", "1.0"),
           ("Content-Type", "text/plain")]


def demo_key_record(source_root):
    """The demo-rsa TXT record of keys/demo/demo.zone, joined."""
    with open(os.path.join(source_root, "keys/demo/demo.zone")) as f:
        zone = f.read()
    m = re.search(r"^demo-rsa\._domainkey\s+IN\s+TXT\s+\((.*?)\)", zone,
                  re.M | re.S)
    return "".join(re.findall(r'"([^"]*)"', m.group(1))).encode()


def negotiate(s):
    """Offer every no-reply step and skip, as Postfix does; return the
    protocol flags the daemon chose."""
    s.sendall(mc.packet(b"O", struct.pack(
        ">III", 6, mc.SMFIF_ACTIONS, NR_ALL | SKIPS | LEADSPC | NORCPT)))
    cmd, data = mc.read_packet(s)
    if cmd != b"O":
        raise ValueError("no option negotiation reply: %r" % cmd)
    return struct.unpack(">III", data[:12])[2]


def session_bytes(proto, n, body):
    """The commands of a session's start and of n messages, as the MTA
    writes them: macros before the commands that carry them."""
    out = mc.packet(b"C", b"client.example\0" + b"4" +
                    struct.pack(">H", 25) + b"203.0.113.7\0")
    out += mc.packet(b"H", b"client.example\0")
    for i in range(n):
        out += mc.packet(b"D", b"M" + b"i\0QID%d\0" % i)
        out += mc.packet(b"M", b"<user@example.com>\0")
        if not proto & NORCPT:
            out += mc.packet(b"R", b"<rcpt@example.net>\0")
        for name, value in HEADERS:
            v = value % i if "%d" in value else value
            sp = " " if proto & LEADSPC else ""
            out += mc.packet(b"L", name.encode() + b"\0" +
                             (sp + v).encode() + b"\0")
        out += mc.packet(b"N")
        for k in range(0, len(body), 65535):
            out += mc.packet(b"B", body[k:k + 65535])
        out += mc.packet(b"D", b"E" + b"i\0QID%d\0" % i)
        out += mc.packet(b"E")
    return out


def replies(s):
    """The requests and final reply of one end of message: (inserted or
    added header fields as (name, value), final reply code)."""
    fields = []
    while True:
        cmd, data = mc.read_packet(s)
        if cmd in (b"h", b"i"):
            if cmd == b"i":
                data = data[4:]  # the index
            name, value = data.split(b"\0")[:2]
            fields.append((name.decode(), value.decode()))
        elif cmd in [bytes([c]) for c in mc.FINAL_REPLIES]:
            return fields, cmd


def verifies(fields, i, body, record):
    """Whether the DKIM-Signature among fields verifies over message i."""
    sig = [v for n, v in fields if n == "DKIM-Signature"]
    if len(sig) != 1:
        return False
    msg = "DKIM-Signature:" + (sig[0] if sig[0].startswith(" ") else
                               " " + sig[0])
    msg = msg.replace("\n", "\r\n").replace("\r\r\n", "\r\n") + "\r\n"
    for name, value in HEADERS:
        v = value % i if "%d" in value else value
        msg += "%s: %s\r\n" % (name, v)
    data = msg.encode() + b"\r\n" + body
    return dkim.verify(data, dnsfunc=lambda name, timeout=5: record)


def syscr(pid):
    """read()-like system calls the process made so far."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("syscr:"):
                return int(line.split()[1])
    return -1


def check_session(d, ok, what, body, n, record, write):
    s = mc.connect(d.sock)
    proto = negotiate(s)
    data = session_bytes(proto, n, body)
    before = syscr(d.pid)
    write(s, data)
    good = 0
    for i in range(n):
        fields, final = replies(s)
        if final == b"c" and verifies(fields, i, body, record):
            good += 1
    reads = syscr(d.pid) - before
    ok(good == n, "%s: %d of %d messages signed and verified by dkimpy" %
       (what, good, n))
    s.close()
    return data, reads


def run(d, ok):
    record = demo_key_record(sys.argv[2])
    ok(record.startswith(b"v=DKIM1;") and len(record) > 300,
       "the demo key record read from keys/demo/demo.zone")
    body = b"".join(b"line %d of a short body\r\n" % k for k in range(40))

    s = mc.connect(d.sock)
    proto = negotiate(s)
    ok(proto & (0x1000 | 0x2000 | 0x80) == (0x1000 | 0x2000 | 0x80),
       "the daemon takes the no-reply steps it is offered (%#x)" % proto)
    s.close()

    data, reads = check_session(d, ok, "a session in one write", body, 2,
                                record, lambda s, b: s.sendall(b))
    commands = 0
    k = 0
    while k < len(data):
        (length,) = struct.unpack(">I", data[k:k + 4])
        k += 4 + length
        commands += 1
    ok(0 < reads <= commands // 2,
       "it took %d read() calls for %d commands (%d bytes); without read "
       "ahead libmilter makes two a command" % (reads, commands, len(data)))

    rnd = random.Random(14)

    def pieces(s, b):
        k = 0
        while k < len(b):
            step = rnd.choice([1, 2, 3, 4, 5, 7, 11, 64, 300, 700])
            s.sendall(b[k:k + step])
            k += step
            time.sleep(0.0005)

    check_session(d, ok, "the session in pieces of 1-700 bytes", body, 2,
                  record, pieces)

    big = b"".join(b"%05d: a longer body, one line of many\r\n" % k
                   for k in range(1100))
    ok(len(big) > 40000, "the long body has %d bytes" % len(big))
    check_session(d, ok, "a 40 KB body written with the commands around it",
                  big, 1, record, lambda s, b: s.sendall(b))

    # the MTA closes at once after writing a whole message: answered,
    # and the daemon goes on
    s = mc.connect(d.sock)
    proto = negotiate(s)
    s.sendall(session_bytes(proto, 1, body) + mc.packet(b"Q"))
    fields, final = replies(s)
    ok(final == b"c" and verifies(fields, 0, body, record),
       "a message followed by quit in the same write is signed")
    s.close()
    s = mc.connect(d.sock)
    mc.begin_session(s)
    ok(mc.message(s) in (b"c", b"a"),
       "a new connection is served afterwards")
    s.close()


if __name__ == "__main__":
    sys.exit(run_test(run))
