"""daemon_proc.py -- start and stop a real authmilter daemon for the
connection tests (conns.py, fdlimit.py) and the connection benchmark: a
private directory, the demo RSA key (test-only), a configuration that
signs for internal clients (no DNS needed), `authmilter run -f` with its
log in a file; and run_test(), the frame of a test against one daemon.
Standard library only.
"""
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BASE = """Socket local:{dir}/sock
AuthservID mx.test.example
Domain example.com
Selector demo-rsa
KeyFile {dir}/key.private
InternalHosts 203.0.113.0/24
Nameservers 127.0.0.1@9
"""


class Daemon:
    def __init__(self, binary, source_root, extra="", nofile=None):
        self.dir = tempfile.mkdtemp(prefix="authmilter-conns.")
        os.chmod(self.dir, 0o755)
        key = os.path.join(self.dir, "key.private")
        shutil.copy(os.path.join(source_root, "keys/demo/demo-rsa.private"),
                    key)
        os.chmod(key, 0o600)
        self.sock = os.path.join(self.dir, "sock")
        self.conf = os.path.join(self.dir, "authmilter.conf")
        self.logpath = os.path.join(self.dir, "daemon.log")
        with open(self.conf, "w") as f:
            f.write(BASE.format(dir=self.dir) + extra)
        supp = os.path.join(source_root, "tests/milter/lsan.supp")
        env = dict(os.environ, LSAN_OPTIONS="suppressions=" + supp)

        def limits():
            if nofile is not None:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        self.log_file = open(self.logpath, "wb")
        self.proc = subprocess.Popen(
            [binary, "run", "-c", self.conf, "-f"], stdout=self.log_file,
            stderr=subprocess.STDOUT, env=env, preexec_fn=limits)
        self.pid = self.proc.pid
        for _ in range(400):
            if os.path.exists(self.sock):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.025)
        raise RuntimeError("authmilter did not start:\n" + self.log())

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, needle, timeout=15.0):
        """Whether the log holds needle within timeout seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if needle in self.log():
                return True
            time.sleep(0.05)
        return False

    def cpu_seconds(self):
        """User + system CPU time the daemon used so far."""
        with open("/proc/%d/stat" % self.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / tick

    def status(self, key):
        """A number from /proc/PID/status (VmRSS in kB, Threads)."""
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        return -1

    def fds(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def stop(self):
        """SIGTERM; returns the exit status (None if it had to be
        killed)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log_file.close()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Checks:
    """Named checks, printed one per line as they are made."""

    def __init__(self):
        self.passed = self.failed = 0

    def ok(self, cond, what):
        if cond:
            self.passed += 1
            print("ok - " + what)
        else:
            self.failed += 1
            print("FAIL - " + what)


def run_test(body, extra="", nofile=None):
    """Start a daemon (argv: AUTHMILTER SOURCE_ROOT) with the extra
    configuration lines and descriptor limit, run body(daemon, ok), then
    stop it and check a clean exit with nothing from the sanitizers.
    @return the exit status for the test (0: every check passed)."""
    checks = Checks()
    d = Daemon(sys.argv[1], sys.argv[2], extra, nofile=nofile)
    try:
        body(d, checks.ok)
    finally:
        status = d.stop()
        checks.ok(status == 0, "SIGTERM: exit status 0 (got %s)" % status)
        log = d.log()
        checks.ok("Sanitizer" not in log and "runtime error" not in log,
                  "nothing from the sanitizers")
        if checks.failed:
            print(log)
        d.remove()
    print("%d passed, %d failed" % (checks.passed, checks.failed))
    return 1 if checks.failed else 0
