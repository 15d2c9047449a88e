"""opendkim_peer.py -- opendkim (the Debian daemon) as a peer of the tests
(interop.py, tests/vectors/migrate/migrate.py).

opendkim refuses a configuration or key file when any directory above it
can be written by others ("/tmp can be read or written by other users"),
so a clone under /tmp cannot keep opendkim's files in its build tree.
private_dir() makes a 0700 directory under a root-owned 0755 one
(/run/authmilter-tests) wherever the clone is. Opendkim(...) starts the
daemon and returns once it accepts connections; a daemon that refuses to
start raises PeerError at once with opendkim's own message.
"""
import os
import socket
import stat
import subprocess
import tempfile
import time

SAFE_BASE = "/run/authmilter-tests"
START_SECONDS = 30


class PeerError(Exception):
    pass


def private_dir(prefix):
    """A new directory (mode 0700) every ancestor of which opendkim
    accepts. As root: under SAFE_BASE, made root-owned 0755 if missing.
    Otherwise under $XDG_RUNTIME_DIR (the user's own 0700 directory) or the
    build tree."""
    if os.geteuid() == 0:
        try:
            os.mkdir(SAFE_BASE, 0o755)
        except FileExistsError:
            pass
        st = os.lstat(SAFE_BASE)
        if (not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or
                st.st_mode & 0o022):
            raise PeerError("%s is not a root-owned directory that only "
                            "root can write" % SAFE_BASE)
        base = SAFE_BASE
    else:
        base = (os.environ.get("XDG_RUNTIME_DIR") or
                os.environ.get("AUTHMILTER_BUILD_ROOT"))
    d = tempfile.mkdtemp(prefix=prefix, dir=base)
    os.chmod(d, 0o700)
    return d


class Opendkim:
    """opendkim -f -x CONF, listening on the unix socket SOCK (the
    config's Socket); its standard error goes to LOG."""

    def __init__(self, conf, sock, log, cwd=None):
        self.log = log
        self.sock = sock
        with open(log, "wb") as err:
            self.proc = subprocess.Popen(["opendkim", "-f", "-x", conf],
                                         cwd=cwd, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        deadline = time.monotonic() + START_SECONDS
        while not self._accepts():
            if self.proc.poll() is not None:
                raise PeerError("opendkim did not start (exit %d): %s" % (
                    self.proc.returncode, self.messages()))
            if time.monotonic() > deadline:
                self.stop()
                raise PeerError("opendkim does not accept on %s after "
                                "%d s: %s" % (sock, START_SECONDS,
                                              self.messages()))
            time.sleep(0.05)

    def _accepts(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.sock)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def messages(self):
        """What opendkim wrote to standard error, as one line."""
        try:
            with open(self.log, "rb") as f:
                text = f.read().decode(errors="replace")
        except OSError:
            return ""
        return " / ".join(ln for ln in text.splitlines() if ln.strip())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.messages()
