#!/usr/bin/python3
"""migrate.py -- authmilter migrate on the fixtures in tests/data/migrate.

For each case: the migrated file passes check-config (migrate's exit 0),
holds the expected options, leaves key rotation off, lists what it left
out, and prints the Postfix line for the socket. Where the original signs, opendkim (the Debian daemon,
driven through the milter protocol by miltertest) signs a message under
the original opendkim.conf and authmilter signs it under the migrated
settings; both signatures must verify with `authmilter verify --zone` and
carry the same d=, s=, c= and h=.

Usage: migrate.py AUTHMILTER SOURCE_ROOT
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

am, top = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
sys.path.insert(0, os.path.join(top, "tests", "interop"))
from opendkim_peer import Opendkim, PeerError, private_dir  # noqa: E402
data = os.path.join(top, "tests", "data", "migrate")
lua = os.path.join(top, "tests", "interop", "opendkim_sign.lua")
passed = failed = 0

# name, opendkim.conf, opendmarc.conf, keys (path, domain, selector),
# Postfix milter, options expected in the result, options left out
CASES = [
    ("debian", "debian-opendkim.conf", "debian-opendmarc.conf", [],
     "unix:/run/opendkim/opendkim.sock",
     ["Canonicalization relaxed/simple", "OversignHeaders From",
      "UserID opendkim", "RejectFailures no", "OrgDomain psl"],
     ["Socket", "SyslogSuccess", "TrustAnchorFile", "UserID"]),
    ("debian-simple", "debian-opendkim.conf.simple", None,
     [("/var/db/dkim/localhost.private", "localhost", "default")],
     "inet:localhost:8891",
     ["Domain localhost", "Selector default", "RejectFailures no"],
     ["ReportAddress", "SendReports", "SyslogSuccess"]),
    ("debian-simple-verify", "debian-opendkim.conf.simple-verify", None,
     [], "inet:localhost:8891",
     ["Mode v", "Canonicalization simple/simple", "OnDNSError tempfail"],
     ["ReportAddress"]),
    ("debian-sample", "debian-opendkim.conf.sample",
     "debian-opendmarc.conf.sample",
     [("/var/db/dkim/example.private", "example.com", "my-selector-name")],
     "unix:/run/authmilter/authmilter.sock",
     ["Domain example.com", "Selector my-selector-name"], ["Socket"]),
    ("tables", "tables-opendkim.conf", "typical-opendmarc.conf",
     [("keys/tables.private", "example.com", "tables")],
     "inet:localhost:8891",
     ["KeyTable file:%(dir)s/KeyTable",
      "SigningTable refile:%(dir)s/SigningTable",
      "InternalHosts file:%(dir)s/TrustedHosts",
      "RejectFailures yes", "Quarantine hold", "RequiredFrom yes",
      "AuthservID mx.example.com", "PublicSuffixList "
      "/usr/share/publicsuffix/public_suffix_list.dat",
      "ReportCommand /usr/sbin/sendmail -t", "FailureReports no"],
     ["On-BadSignature", "TrustedAuthservIDs", "SPFSelfValidate",
      "SPFIgnoreResults", "HistoryFile", "IgnoreHosts",
      "IgnoreAuthenticatedClients", "Socket", "LogWhy"]),
    ("failure", "debian-opendkim.conf.simple-verify",
     "failure-opendmarc.conf", [], "inet:localhost:8891",
     ["FailureReports yes", "FailureReportsOnNone yes",
      "FailureReportsSentBy dmarc-failures@example.com",
      "FailureReportsBcc postmaster@example.com",
      "ReportCommand /usr/sbin/sendmail -t -oi",
      "SpoolDir %(dir)s/spool"], []),
    ("single", "single-opendkim.conf", None,
     [("keys/single.private", "example.com", "single")],
     "unix:/run/opendkim/opendkim.sock",
     ["Canonicalization relaxed/relaxed", "KeyFile %(dir)s/keys/single."
      "private", "AuthservID mx.example.com"], []),
    ("oversign", "oversign-opendkim.conf", None,
     [("keys/oversign.private", "example.com", "oversign")],
     "inet:[::1]:8891",
     ["OversignHeaders From,Subject", "Canonicalization simple/relaxed",
      "SignHeaders From,To,Subject,Date,Message-ID", "OnDNSError accept"],
     []),
]

MESSAGE = (b"From: Alice <alice@%s>\r\nTo: bob@example.net\r\n"
           b"Subject: migration check\r\nDate: Mon, 01 Jan 2024 00:00:00 "
           b"+0000\r\nMessage-ID: <m1@example.com>\r\n"
           # the last field: opendkim_sign.lua does not pass it on
           b"X-Mailer: migrate-test\r\n\r\n"
           b"Signed the same way before and after.\r\n")


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print("ok - " + name)
    else:
        failed += 1
        print("FAIL - %s%s" % (name, ": " + detail if detail else ""))


def run(args, **kw):
    return subprocess.run(args, capture_output=True, **kw)


def conf_options(text):
    """The "Name value" lines of a config, comments dropped."""
    out = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            k, _, v = line.partition(" ")
            out[k] = v.strip()
    return out


def sig_tags(msg):
    m = re.search(rb"^DKIM-Signature:(.*?)\r?\n(?![ \t])", msg,
                  re.S | re.M | re.I)
    if m is None:
        return {}
    v = re.sub(rb"\s+", b"", m.group(1)).decode()
    return dict(t.split("=", 1) for t in v.split(";") if "=" in t)


def signer(opts, work):
    """(domain, selector, key) the migrated config signs alice's mail
    with: the first KeyTable line, or the KeyFile shortcut."""
    if "KeyTable" in opts:
        kt = opts["KeyTable"].split(":", 1)[1]
        for line in open(kt):
            line = line.split("#", 1)[0].split()
            if len(line) == 2:
                d, s, k = line[1].split(":")[:3]
                return d, s, os.path.join(os.path.dirname(kt), k)
    return opts["Domain"], opts["Selector"], opts["KeyFile"]


def opendkim_sign(conf, work, msgfile):
    """Sign msgfile with opendkim run under conf (its own socket)."""
    skip = ("socket", "pidfile", "userid", "syslog", "syslogsuccess",
            "logwhy", "mode", "sendreports", "trustanchorfile")
    lines = [l for l in open(conf).read().splitlines()
             if l.split("#", 1)[0].split()[:1] and
             l.split()[0].lower() not in skip]
    sock = os.path.join(work, "od.sock")
    test_conf = os.path.join(work, "od-test.conf")
    open(test_conf, "w").write("\n".join(lines) + "\nSocket local:%s\n"
                               "PidFile %s/od.pid\nSyslog no\nMode s\n"
                               % (sock, work))
    try:
        peer = Opendkim(test_conf, sock, os.path.join(work, "od.log"),
                        cwd=work)
    except PeerError as e:
        return None, str(e)
    try:
        r = run(["miltertest", "-s", lua], cwd=work,
                env=dict(os.environ, MILTER_SOCKET="unix:" + sock,
                         MESSAGE=msgfile))
    finally:
        err = peer.stop()
    if r.returncode != 0 or not r.stdout.startswith(b"DKIM-Signature:"):
        return None, "miltertest exit %d: %s %s" % (r.returncode, (
            r.stdout + r.stderr).decode(errors="replace")[-300:], err)
    sig = r.stdout.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return sig + open(msgfile, "rb").read(), ""


def authmilter_sign(opts, work, msgfile):
    d, s, k = signer(opts, work)
    args = [am, "sign", "-d", d, "-s", s, "-k", k]
    if "Canonicalization" in opts:
        args += ["-c", opts["Canonicalization"]]
    over = [h for h in opts.get("OversignHeaders", "").split(",")
            if h.strip() and h.strip().lower() != "from"]
    if over:
        args += ["--oversign", ",".join(h.strip() for h in over)]
    if "SignHeaders" in opts:
        args += ["--headers", opts["SignHeaders"]]
    r = run(args + [msgfile])
    return r.stdout if r.returncode == 0 else None, r.stderr.decode()


def verify(zone, path):
    r = run([am, "verify", "--zone", zone, "--json", path])
    try:
        res = json.loads(r.stdout.decode().splitlines()[0])
        return [d["result"] for d in res["dkim"]]
    except (ValueError, IndexError, KeyError):
        return ["error: " + r.stderr.decode()]


def sign_and_compare(name, work, orig_conf, opts, keys):
    zone = os.path.join(work, "keys.zone")
    with open(zone, "w") as z:
        z.write("$TTL 300\n")
        for path, _, sel in keys:
            z.write(open(os.path.join(os.path.dirname(path),
                                      sel + ".txt")).read())
    domain = keys[0][1]
    msgfile = os.path.join(work, "message.eml")
    open(msgfile, "wb").write(MESSAGE % domain.encode())
    theirs, why = opendkim_sign(orig_conf, work, msgfile)
    check(name + ": opendkim signs under the original", theirs is not None,
          why)
    ours, why = authmilter_sign(opts, work, msgfile)
    check(name + ": authmilter signs under the migrated config",
          ours is not None, why)
    if theirs is None or ours is None:
        return
    for who, msg in (("opendkim", theirs), ("authmilter", ours)):
        p = os.path.join(work, who + ".eml")
        open(p, "wb").write(msg)
        res = verify(zone, p)
        check("%s: %s's signature verifies" % (name, who),
              res[:1] == ["pass"], str(res))
    a, b = sig_tags(theirs), sig_tags(ours)
    for tag, default in (("d", None), ("s", None), ("c", "simple/simple"),
                         ("h", None)):
        va, vb = a.get(tag, default), b.get(tag, default)
        if tag == "h" and va and vb:
            # the same fields the same number of times (order is free)
            va = ":".join(sorted(va.lower().split(":")))
            vb = ":".join(sorted(vb.lower().split(":")))
        if tag == "h" and va and vb and "SignHeaders" not in opts:
            # no SignHeaders: authmilter's default list (RFC 6376
            # section 5.4.1) covers at least every field opendkim's does
            fa, fb = va.split(":"), vb.split(":")
            check("%s: h= covers opendkim's (%s)" % (name, va),
                  all(fb.count(f) >= fa.count(f) for f in fa),
                  "opendkim %s, authmilter %s" % (va, vb))
            continue
        check("%s: same %s= (%s)" % (name, tag, va), va == vb,
              "opendkim %s, authmilter %s" % (va, vb))


def run_case(case, base):
    name, dkim, dmarc, keys, postfix, want, dropped = case
    work = tempfile.mkdtemp(prefix="migrate-" + name + "-", dir=base)
    os.chmod(work, 0o700)
    for f in os.listdir(data):
        shutil.copy(os.path.join(data, f), work)
    # the Debian examples name keys under /var/db/dkim: redirect them
    for f in os.listdir(work):
        p = os.path.join(work, f)
        t = open(p).read()
        if "/var/db/dkim/" in t:
            open(p, "w").write(t.replace("/var/db/dkim/",
                                         work + "/var/db/dkim/"))
    # opendkim reads KeyTable key paths from its working directory (/),
    # authmilter from the KeyTable's: give both the same absolute path
    kt = os.path.join(work, "KeyTable")
    t = open(kt).read()
    open(kt, "w").write(t.replace(":keys/", ":%s/keys/" % work))
    made = []
    for path, domain, sel in keys:
        path = work + path if path.startswith("/") else \
            os.path.join(work, path)
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        r = run([am, "keygen", "-d", domain, "-s", sel, "-D",
                 os.path.dirname(path)])
        check(name + ": keygen " + sel, r.returncode == 0,
              r.stderr.decode())
        made_key = os.path.join(os.path.dirname(path), sel + ".private")
        if made_key != path:
            os.rename(made_key, path)
        made.append((path, domain, sel))
    out = os.path.join(work, "authmilter.conf")
    args = [am, "migrate", "--opendkim", os.path.join(work, dkim), "-o",
            out]
    if dmarc:
        args += ["--opendmarc", os.path.join(work, dmarc)]
    if dmarc and dmarc.startswith("failure"):
        # failure records need a spool (FailureReports)
        os.mkdir(os.path.join(work, "spool"))
        args += ["--spool", os.path.join(work, "spool")]
    r = run(args)
    err = r.stderr.decode()
    check(name + ": migrate exit 0 (check-config accepts it)",
          r.returncode == 0 and "check-config: OK" in err, err)
    text = open(out).read() if os.path.exists(out) else ""
    opts = conf_options(text)
    for w in want:
        k, _, v = (w % {"dir": work}).partition(" ")
        check("%s: %s %s" % (name, k, v), opts.get(k) == v,
              "got %r" % opts.get(k))
    # key rotation is a decision the operator makes: never migrated on
    check("%s: rotation left off (no Rotate* option)" % name,
          opts != {} and not any(k.lower().startswith("rotate")
                                 for k in opts), str(opts))
    r2 = run([am, "rotate", "-c", out, "--status"])
    check("%s: authmilter rotate says rotation is off" % name,
          r2.returncode == 0 and b"rotation is off" in r2.stdout,
          (r2.stdout + r2.stderr).decode())
    header = text.split("\n\n", 1)[0]
    for opt in dropped:
        check("%s: %s listed as not carried over" % (name, opt),
              re.search(r"^#   \S+:\d+: %s " % re.escape(opt), header,
                        re.M | re.I) is not None and
              re.search(r":\d+: %s " % re.escape(opt), err, re.I))
    out_s = r.stdout.decode()
    check("%s: Postfix lines for %s" % (name, postfix),
          "smtpd_milters = %s\n" % postfix in out_s and
          "non_smtpd_milters = %s\n" % postfix in out_s, out_s)
    if made and "Mode v" not in want:
        sign_and_compare(name, work, os.path.join(work, dkim), opts, made)


def main():
    for tool in ("opendkim", "miltertest"):
        if shutil.which(tool) is None:
            print("%s not found: install opendkim and miltertest "
                  "(packaging/install-deps.sh)" % tool)
            return 1
    # opendkim reads the fixtures: a directory it accepts (see
    # opendkim_peer.py)
    try:
        base = private_dir("migrate-")
    except PeerError as e:
        print("FAIL - %s" % e)
        return 1
    try:
        for case in CASES:
            run_case(case, base)
        # refusing to overwrite, and a missing input
        out = os.path.join(base, "exists.conf")
        open(out, "w").write("")
        r = run([am, "migrate", "--opendkim",
                 os.path.join(data, "single-opendkim.conf"), "-o", out])
        check("existing output refused", r.returncode == 2 and
              b"--force" in r.stderr, r.stderr.decode())
        r = run([am, "migrate", "--opendkim", os.path.join(base, "none")])
        check("missing opendkim.conf", r.returncode == 2)
        r = run([am, "migrate"])
        check("--opendkim required", r.returncode == 2)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


sys.exit(main())
