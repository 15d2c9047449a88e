#!/usr/bin/python3
"""arc_interop.py AUTHMILTER SOURCE_ROOT -- ARC (RFC 8617) interoperability
with dkimpy (python3-dkim, which needs python3-authres), both ways, over
the interop corpus (gen_messages.py):

1. dkimpy seals i=1 and authmilter verify says arc=pass;
2. authmilter seal makes i=1 and dkimpy's arc_verify says pass;
3. dkimpy seals i=1, authmilter seals i=2 on top: dkimpy passes both
   sets, and authmilter passes them too;
4. authmilter i=1, dkimpy i=2 on top: authmilter passes both;
5. one byte changed in a sealed body, or in a signed header (Subject):
   dkimpy and authmilter both say fail.

Keys: the test-only demo RSA key of keys/demo for both sides (d=
example.com, s=demo-rsa), DNS answered from keys/demo/demo.zone (no
network). Prints one line per group; exit 1 on any mismatch.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import dkim

authmilter, top = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "tests", "interop"))
from demo_dns import dnsfunc_for, wire  # noqa: E402

demo = os.path.join(top, "keys", "demo")
zone = os.path.join(demo, "demo.zone")
NOW = "1795435260"
failures = 0


dnsfunc = dnsfunc_for(zone)
KEY = open(os.path.join(demo, "demo-rsa.private"), "rb").read()


def dkimpy_seal(msg, srv_id, cv):
    """A dkimpy set on top: it reads the chain status from the
    Authentication-Results of srv_id, which we add as a receiver would."""
    ar = b"Authentication-Results: " + srv_id + b"; arc=" + cv + \
        b";\r\n\tspf=pass smtp.mailfrom=example.com\r\n"
    msg = ar + msg
    sig = dkim.arc_sign(msg, b"demo-rsa", b"example.com", KEY, srv_id,
                        timestamp=int(NOW))
    if not sig:
        return None
    return b"".join(sig) + msg


def am_seal(path, authserv_id):
    p = subprocess.run([authmilter, "seal", "-d", "example.com", "-s",
                        "demo-rsa", "-k", os.path.join(demo,
                                                        "demo-rsa.private"),
                        "--authserv-id", authserv_id, "--zone", zone,
                        "--now", NOW, path], capture_output=True)
    return p.stdout if p.returncode == 0 else None


def am_arc(path):
    """authmilter's ARC status of a file, and the instances."""
    p = subprocess.run([authmilter, "verify", "--json", "--zone", zone,
                        "--now", NOW, "--authserv-id", "mx.check.example",
                        path], capture_output=True)
    try:
        arc = json.loads(p.stdout)["arc"]
    except (ValueError, KeyError):
        return "error: " + p.stderr.decode(errors="replace"), 0
    return arc["status"], arc["instances"]


def py_arc(msg):
    cv, results, why = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    return (cv or b"none").decode(), len(results), why


def report(group, ok, total, bad):
    global failures
    print("%-58s %d/%d" % (group, ok, total))
    for b in bad[:5]:
        print("    " + b)
    if ok != total or total == 0:
        failures += 1


def change_body(msg):
    head, body = msg.split(b"\r\n\r\n", 1)
    # a character that canonicalization keeps
    i = next((k for k, c in enumerate(body) if chr(c).isalnum()), None)
    if i is None:
        return head + b"\r\n\r\nx\r\n"
    c = body[i:i + 1]
    return head + b"\r\n\r\n" + body[:i] + (b"Q" if c != b"Q" else b"R") + \
        body[i + 1:]


def change_subject(msg):
    return re.sub(rb"\r\nSubject: ", b"\r\nSubject: X", msg, count=1)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        corpus = os.path.join(tmp, "corpus")
        subprocess.run(["/usr/bin/python3", os.path.join(
            top, "tests", "interop", "gen_messages.py"), corpus], check=True)
        names = sorted(os.listdir(corpus))
        groups = {k: [0, 0, []] for k in (
            "dkimpy seals i=1, authmilter validates",
            "authmilter seals i=1, dkimpy validates",
            "authmilter i=2 on dkimpy i=1, dkimpy validates",
            "authmilter i=2 on dkimpy i=1, authmilter validates",
            "dkimpy i=2 on authmilter i=1, authmilter validates",
            "a body byte changed: both fail",
            "a signed header changed: both fail")}

        def count(g, ok, name, detail):
            groups[g][1] += 1
            if ok:
                groups[g][0] += 1
            else:
                groups[g][2].append("%s: %s" % (name, detail))

        for name in names:
            msg = wire(open(os.path.join(corpus, name), "rb").read())
            if b"\r\n\r\n" not in msg:
                continue
            f = os.path.join(tmp, name + ".eml")
            # 1. dkimpy i=1
            d1 = dkimpy_seal(msg, b"dkimpy.example", b"none")
            open(f, "wb").write(d1)
            st = am_arc(f)
            count("dkimpy seals i=1, authmilter validates",
                  st == ("pass", 1), name, st)
            # 3. authmilter i=2 on top of dkimpy's
            a2 = am_seal(f, "mx.forwarder.example")
            py = py_arc(a2) if a2 else ("not sealed", 0, "")
            count("authmilter i=2 on dkimpy i=1, dkimpy validates",
                  py[:2] == ("pass", 2), name, py)
            open(f, "wb").write(a2 or b"")
            st = am_arc(f)
            count("authmilter i=2 on dkimpy i=1, authmilter validates",
                  st == ("pass", 2), name, st)
            # 2. authmilter i=1
            open(f, "wb").write(msg)
            a1 = am_seal(f, "mx.forwarder.example")
            py = py_arc(a1) if a1 else ("not sealed", 0, "")
            count("authmilter seals i=1, dkimpy validates",
                  py[:2] == ("pass", 1), name, py)
            # 4. dkimpy i=2 on top of ours
            d2 = dkimpy_seal(a1, b"dkimpy.example", b"pass") if a1 else None
            open(f, "wb").write(d2 or b"")
            st = am_arc(f)
            count("dkimpy i=2 on authmilter i=1, authmilter validates",
                  st == ("pass", 2), name, st)
            # 5. one byte
            for g, fn in (("a body byte changed: both fail", change_body),
                          ("a signed header changed: both fail",
                           change_subject)):
                for sealed in (a1, d2):
                    if not sealed:
                        continue
                    bad = fn(sealed)
                    open(f, "wb").write(bad)
                    st = am_arc(f)
                    py = py_arc(bad)
                    count(g, st[0] == "fail" and py[0] == "fail", name,
                          (st, py))
        for g, (ok, total, bad) in groups.items():
            report(g, ok, total, bad)
    print("arc interop: %s" % ("ok" if failures == 0 else
                               "%d group(s) failed" % failures))
    return 1 if failures else 0


sys.exit(main())
