#!/usr/bin/python3
"""bench_conns.py -- what idle and slow milter connections cost the
daemon: opens IDLE connections that negotiate and then say nothing, and
TRICKLE connections that begin an SMTP session and then send a header
command one byte a second, against a fresh `authmilter run`; then prints,
every few seconds, how many of them the daemon still holds open, and the
daemon's resident memory, descriptors, threads and CPU time. At the end
one ordinary message is sent, to show whether the daemon still serves.
Prints figures, asserts nothing.

  bench_conns.py [--idle N] [--trickle N] [--seconds S] [--nofile N]
                 [--conf-extra TEXT] [--burst] AUTHMILTER [SOURCE_ROOT]

Defaults: 10000 idle, 20 trickling, 40 s, the daemon started with
`ulimit -n 16384` (packaging/systemd/authmilter.service's LimitNOFILE) and
"MilterTimeout 10" added to its configuration (pass --conf-extra '' for
an older authmilter that does not know the option). The idle connections
are opened one after the other, each negotiated before the next; with
--burst all are connected first, then all negotiations sent, then the
answers read (many sessions ready at once). The client raises its own
descriptor limit to its hard limit.
"""
import argparse
import os
import resource
import select
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "milter"))
import milter_client as mc  # noqa: E402
from daemon_proc import Daemon  # noqa: E402


def still_open(conns):
    """The connections the daemon has not closed (a readable socket is
    closed: the daemon sends nothing unasked)."""
    if not conns:
        return []
    p = select.poll()
    for s in conns:
        p.register(s, select.POLLIN | select.POLLHUP)
    gone = {fd for fd, _ in p.poll(0)}
    return [s for s in conns if s.fileno() not in gone]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--trickle", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=40)
    ap.add_argument("--nofile", type=int, default=16384)
    ap.add_argument("--conf-extra", default="MilterTimeout 10\n")
    ap.add_argument("--burst", action="store_true")
    ap.add_argument("authmilter")
    ap.add_argument("source_root", nargs="?",
                    default=os.path.join(here, "..", ".."))
    a = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    d = Daemon(a.authmilter, a.source_root,
               a.conf_extra.replace("\\n", "\n"), nofile=a.nofile)
    try:
        run(d, a)
    finally:
        print("daemon exit status %s" % d.stop())
        start = [ln for ln in d.log().splitlines() if "started" in ln]
        print(start[0] if start else "")
        for line in d.log().splitlines():
            if "MaxConnections" in line or "MilterTimeout (" in line \
                    or "accept:" in line:
                print("log: " + line)
        d.remove()


def run(d, a):
    print("daemon at start: RSS %d kB, %d fds, %d threads"
          % (d.status("VmRSS"), d.fds(), d.status("Threads")))
    t0 = time.monotonic()
    idle, refused = [], 0
    if a.burst:
        # all connected first, then all negotiations sent, then read:
        # many sessions ready at once, as when MTAs connect together
        for _ in range(a.idle):
            try:
                idle.append(mc.connect(d.sock, timeout=5))
            except OSError:
                refused += 1
        opt = mc.packet(b"O", mc.struct.pack(">III", 6, mc.SMFIF_ACTIONS,
                                             0))
        for s in idle:
            try:
                s.sendall(opt)
            except OSError:
                pass
        answered = []
        for s in idle:
            try:
                mc.read_packet(s)
                answered.append(s)
            except (EOFError, OSError):
                refused += 1
                s.close()
        idle = answered
    else:
        idle, refused = mc.open_many(d.sock, a.idle, mc.negotiate)
    slow, n = mc.open_many(d.sock, a.trickle, mc.begin_session)
    refused += n
    print("opened in %.1f s: %d idle and %d trickling connections "
          "negotiated, %d refused or closed at once"
          % (time.monotonic() - t0, len(idle), len(slow), refused))
    cmd = mc.packet(b"L", b"X-Slow\0" + b"x" * 4000 + b"\0")
    print("%6s %10s %10s %10s %6s %8s %8s" % ("t(s)", "idle open",
          "slow open", "RSS kB", "fds", "threads", "CPU s"))
    t1 = time.monotonic()
    sent = 0
    while time.monotonic() - t1 < a.seconds:
        for s in slow:
            try:
                s.send(cmd[sent:sent + 1])
            except OSError:
                pass
        sent += 1
        if sent % 4 == 1:
            idle_open = still_open(idle)
            slow_open = still_open(slow)
            print("%6.0f %10d %10d %10d %6d %8d %8.2f"
                  % (time.monotonic() - t1, len(idle_open), len(slow_open),
                     d.status("VmRSS"), d.fds(), d.status("Threads"),
                     d.cpu_seconds()))
            sys.stdout.flush()
        time.sleep(1)
    s = mc.connect(d.sock, timeout=10)
    try:
        mc.begin_session(s)
        print("a new message: reply %r" % mc.message(s))
    except (EOFError, OSError) as e:
        print("a new message: not served (%s)" % e)
    for s in idle + slow:
        s.close()


if __name__ == "__main__":
    main()
