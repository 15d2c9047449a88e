#!/usr/bin/python3
"""conns.py -- MaxConnections and MilterTimeout, through a real daemon
(MilterTimeout 3, MaxConnections 8):

  - connections that negotiate and then say nothing, or say nothing at
    all, are still open at 1 s and closed after the timeout, with a log
    line;
  - a connection that trickles a command a byte at a time is closed, with
    a log line;
  - a connection that has begun an SMTP session stays open however quiet
    (its MTA waits for its SMTP client), and then carries a message;
  - with 8 sessions open a 9th connection is refused at once, with a log
    line, and served again once a session ends;
  - with the bound reached, a connection that has begun no session and
    been quiet for a second is closed to make room for a new one.

Usage: conns.py AUTHMILTER SOURCE_ROOT
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import milter_client as mc  # noqa: E402
from daemon_proc import run_test  # noqa: E402


def count(log, pattern):
    """The sum of the numbers the log lines matching pattern report."""
    return sum(int(n) for n in re.findall(pattern, log))


def wait_closed(conns, timeout=15.0):
    """Whether every connection is closed by the daemon within timeout."""
    end = time.monotonic() + timeout
    for s in conns:
        while not mc.closed(s, 0.05):
            if time.monotonic() > end:
                return False
    return True


def run(d, ok):
    ok(d.wait_log("MaxConnections 8, MilterTimeout 3 s"),
       "the start line names the bound and the timeout")

    # quiet connections: four negotiated, two not even that
    quiet = mc.open_many(d.sock, 4, mc.negotiate)[0] + \
        mc.open_many(d.sock, 2)[0]
    time.sleep(1)
    ok(not any(mc.closed(s) for s in quiet),
       "quiet connections are open at 1 s")
    ok(wait_closed(quiet), "and closed after MilterTimeout")
    ok(d.wait_log("connections closed that began no SMTP session"),
       "with a log line")
    ok(count(d.log(), r"MilterTimeout \(3 s\): (\d+) connections closed "
             r"that began no SMTP session") == 6,
       "counting all six")
    for s in quiet:
        s.close()

    # a session stays, however quiet, and then carries a message
    session = mc.connect(d.sock)
    mc.begin_session(session)
    time.sleep(5)
    ok(not mc.closed(session), "a quiet SMTP session is not closed")
    ok(mc.message(session) in (b"c", b"a"),
       "and its message is accepted afterwards")

    # a command trickled a byte at a time
    slow = mc.connect(d.sock)
    mc.begin_session(slow)
    try:
        took = mc.trickle_header(slow, 0.5)
        ok(True, "a trickled command is cut off (after %.1f s)" % took)
    except ValueError:
        ok(False, "a trickled command is cut off")
    ok(d.wait_log("connections closed whose command did not arrive "
                  "whole"), "with a log line")
    slow.close()
    session.close()
    time.sleep(0.5)

    # the bound: 8 sessions, then a 9th connection
    sessions = mc.open_many(d.sock, 8, mc.begin_session)[0]
    extra = mc.connect(d.sock)
    try:
        mc.negotiate(extra)
        refused = False
    except (EOFError, OSError):
        refused = True
    ok(refused, "with 8 sessions open a 9th connection is closed at once")
    extra.close()
    ok(d.wait_log("MaxConnections 8 reached: 1 new connections refused"),
       "with a log line")
    sessions.pop().close()
    time.sleep(0.5)
    again = mc.connect(d.sock)
    mc.begin_session(again)
    ok(mc.message(again) in (b"c", b"a"),
       "once a session ends, a new one is served")

    # the bound again, with one of the 8 not in a session: it makes room
    again.close()
    time.sleep(0.5)
    idle = mc.connect(d.sock)
    mc.negotiate(idle)
    time.sleep(1.3)
    newer = mc.connect(d.sock)
    mc.begin_session(newer)
    ok(mc.message(newer) in (b"c", b"a"),
       "a new session gets the place of a quiet connection")
    ok(mc.closed(idle, 5), "which is closed")
    ok(d.wait_log("connections that had begun no SMTP session closed to "
                  "make room"), "with a log line")
    for s in sessions + [newer, idle]:
        s.close()


if __name__ == "__main__":
    sys.exit(run_test(run, "MilterTimeout 3\nMaxConnections 8\n"))
