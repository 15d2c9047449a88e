#!/usr/bin/python3
"""fdlimit.py -- the daemon at a low descriptor limit (ulimit -n 128):

  - MaxConnections defaults to what the limit allows (32);
  - 150 connections that say nothing: the daemon keeps its bound, uses
    little CPU over the next 3 s, and still serves a new message;
  - the limit lowered under the running daemon until accept() fails with
    EMFILE: the daemon logs it, uses little CPU while connections wait
    (libmilter alone retries at once, 100% of a CPU), and once the limit
    is back and descriptors free it serves a message again.

"Little CPU" is a resource check: under 0.5 s of CPU in 3 s, where a
spinning listener uses about 3 s.

Usage: fdlimit.py AUTHMILTER SOURCE_ROOT
"""
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import milter_client as mc  # noqa: E402
from daemon_proc import run_test  # noqa: E402

LIMIT = 128


def cpu_over(d, seconds):
    before = d.cpu_seconds()
    time.sleep(seconds)
    return d.cpu_seconds() - before


def serves(d):
    s = mc.connect(d.sock)
    try:
        mc.begin_session(s)
        return mc.message(s) in (b"c", b"a")
    except (EOFError, OSError):
        return False
    finally:
        s.close()


def run(d, ok):
    want = (LIMIT - 64) // 2
    ok(d.wait_log("MaxConnections %d," % want),
       "MaxConnections follows the descriptor limit (%d)" % want)

    quiet = mc.open_many(d.sock, 150, timeout=2)[0]
    time.sleep(0.5)
    cpu = cpu_over(d, 3)
    print("# CPU over 3 s with %d quiet connections: %.2f s, %d fds, "
          "%d threads" % (len(quiet), cpu, d.fds(), d.status("Threads")))
    ok(cpu < 0.5, "150 quiet connections: little CPU (%.2f s)" % cpu)
    ok(d.fds() < LIMIT, "descriptors stay under the limit")
    ok(serves(d), "and a new message is served")
    ok(d.wait_log("MaxConnections %d reached" % want),
       "the bound is logged")

    # leave only what the daemon holds now: one more accept() is EMFILE
    # (the soft limit only: it can go up again without privilege)
    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (d.fds(), LIMIT))
    waiting = mc.open_many(d.sock, 20, timeout=2)[0]
    ok(d.wait_log("accept: Too many open files"),
       "EMFILE on accept is logged")
    cpu = cpu_over(d, 3)
    print("# CPU over 3 s at EMFILE with %d connections waiting: %.2f s"
          % (len(waiting), cpu))
    ok(cpu < 0.5, "at EMFILE: little CPU (%.2f s)" % cpu)

    resource.prlimit(d.pid, resource.RLIMIT_NOFILE, (LIMIT, LIMIT))
    for s in quiet + waiting:
        s.close()
    time.sleep(1)
    ok(serves(d), "with descriptors back, a message is served")


if __name__ == "__main__":
    sys.exit(run_test(run, nofile=LIMIT))
