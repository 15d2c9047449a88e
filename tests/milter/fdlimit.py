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
from daemon_proc import Daemon  # noqa: E402

LIMIT = 128
passed = failed = 0


def ok(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok - " + what)
    else:
        failed += 1
        print("FAIL - " + what)


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


def main():
    binary, root = sys.argv[1], sys.argv[2]
    d = Daemon(binary, root, nofile=LIMIT)
    try:
        run(d)
    finally:
        status = d.stop()
        ok(status == 0, "SIGTERM: exit status 0 (got %s)" % status)
        log = d.log()
        ok("Sanitizer" not in log and "runtime error" not in log,
           "nothing from the sanitizers")
        if failed:
            print(log)
        d.remove()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def run(d):
    want = (LIMIT - 64) // 2
    ok(d.wait_log("MaxConnections %d," % want),
       "MaxConnections follows the descriptor limit (%d)" % want)

    quiet = []
    for _ in range(150):
        try:
            quiet.append(mc.connect(d.sock, timeout=2))
        except OSError:
            break
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
    waiting = []
    for _ in range(20):
        try:
            waiting.append(mc.connect(d.sock, timeout=2))
        except OSError:
            break
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
    sys.exit(main())
