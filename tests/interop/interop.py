#!/usr/bin/python3
"""interop.py AUTHMILTER SOURCE_ROOT -- DKIM interoperability, both ways.

1. authmilter signs the generated corpus (rsa-sha256 and ed25519-sha256;
   relaxed/simple, simple/simple, relaxed/relaxed) and dkimpy verifies.
2. dkimpy signs the corpus and authmilter verifies.
3. opendkim (the milter, driven by miltertest) signs and authmilter
   verifies.

Keys: the test-only demo keys in keys/demo. dkimpy's DNS lookups are
answered from keys/demo/demo.zone, so no network is used. Prints one line
per group and exits 1 on any mismatch.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import dkim

authmilter, top = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "tests", "interop"))
from demo_dns import dnsfunc_for, wire  # noqa: E402
from opendkim_peer import Opendkim, PeerError, private_dir  # noqa: E402

demo = os.path.join(top, "keys", "demo")
zone_path = os.path.join(demo, "demo.zone")
failures = 0


dnsfunc = dnsfunc_for(zone_path)


def run(args, data=None):
    return subprocess.run(args, input=data, capture_output=True)


def report(group, ok, total, bad):
    global failures
    print("%-52s %d/%d pass" % (group, ok, total))
    for b in bad[:5]:
        print("    " + b)
    if ok != total:
        failures += 1


def authmilter_verify(paths):
    r = run([authmilter, "verify", "--zone", zone_path, "--json"] + paths)
    results = {}
    for ln in r.stdout.decode().splitlines():
        o = json.loads(ln)
        results[o["file"]] = o
    return results


def sign_with_authmilter(corpus, tmp):
    keys = {"rsa-sha256": ("demo-rsa", "demo-rsa.private"),
            "ed25519-sha256": ("demo-ed", "demo-ed.private")}
    for alg, (sel, key) in keys.items():
        for canon in ("relaxed/simple", "simple/simple", "relaxed/relaxed"):
            ok, bad = 0, []
            for name in corpus:
                r = run([authmilter, "sign", "-d", "example.com", "-s", sel,
                         "-k", os.path.join(tmp, key), "-a", alg, "-c",
                         canon, os.path.join(tmp, "corpus", name)])
                if r.returncode != 0:
                    bad.append("%s: sign failed: %s" % (name, r.stderr))
                    continue
                if dkim.verify(wire(r.stdout), dnsfunc=dnsfunc):
                    ok += 1
                else:
                    bad.append("%s: dkimpy says fail" % name)
            report("authmilter %s %s -> dkimpy" % (alg, canon), ok,
                   len(corpus), bad)


def sign_with_dkimpy(corpus, tmp):
    rsa = open(os.path.join(tmp, "demo-rsa.private"), "rb").read()
    # dkimpy takes the raw Ed25519 seed, base64-encoded
    der = run(["openssl", "pkey", "-in", os.path.join(tmp, "demo-ed.private"),
               "-outform", "DER"]).stdout
    ed = base64.b64encode(der[-32:])
    for alg, sel, key in (("rsa-sha256", b"demo-rsa", rsa),
                          ("ed25519-sha256", b"demo-ed", ed)):
        for canon in ((b"relaxed", b"simple"), (b"simple", b"simple"),
                      (b"relaxed", b"relaxed")):
            outdir = tempfile.mkdtemp(dir=tmp)
            paths = []
            for name in corpus:
                msg = wire(open(os.path.join(tmp, "corpus", name),
                                "rb").read())
                sig = dkim.sign(msg, sel, b"example.com", key,
                                canonicalize=canon,
                                signature_algorithm=alg.encode())
                p = os.path.join(outdir, name)
                open(p, "wb").write(sig + msg)
                paths.append(p)
            res = authmilter_verify(paths)
            ok, bad = 0, []
            for p in paths:
                o = res.get(p)
                if o and o["dkim"] and o["dkim"][0]["result"] == "pass":
                    ok += 1
                else:
                    bad.append("%s: %s" % (os.path.basename(p), o))
            report("dkimpy %s %s -> authmilter" % (
                alg, b"/".join(canon).decode()), ok, len(corpus), bad)


def sign_with_opendkim(corpus, tmp):
    """opendkim (the Debian daemon) signs through the milter protocol,
    driven by miltertest; its files live in opendkim_peer.private_dir()
    (opendkim refuses them under /tmp), wherever the clone is."""
    global failures
    exes = [shutil.which(x) for x in ("opendkim", "miltertest")]
    if None in exes:
        print("opendkim or miltertest not found (install opendkim, "
              "miltertest)")
        failures += 1
        return
    work = private_dir("opendkim-")
    key = os.path.join(work, "demo-rsa.private")
    shutil.copy(os.path.join(tmp, "demo-rsa.private"), key)
    os.chmod(key, 0o600)
    sock = os.path.join(work, "sock")
    conf = os.path.join(work, "opendkim.conf")
    open(conf, "w").write(
        "Domain example.com\nSelector demo-rsa\nKeyFile %s\n"
        "Socket local:%s\nMode s\nCanonicalization relaxed/simple\n"
        "SignatureAlgorithm rsa-sha256\nSyslog no\nUMask 007\n"
        "PidFile %s/pid\n" % (key, sock, work))
    outdir = tempfile.mkdtemp(dir=tmp)
    paths, bad = [], []
    lua = os.path.join(top, "tests", "interop", "opendkim_sign.lua")
    try:
        peer = Opendkim(conf, sock, os.path.join(work, "opendkim.log"))
    except PeerError as e:
        shutil.rmtree(work, ignore_errors=True)
        report("opendkim milter rsa-sha256 relaxed/simple -> authmilter",
               0, len(corpus), [str(e)])
        return
    try:
        for name in corpus:
            src = os.path.join(tmp, "corpus", name)
            msg = wire(open(src, "rb").read())
            wired = os.path.join(outdir, name + ".in")
            open(wired, "wb").write(msg)
            env = dict(os.environ, MILTER_SOCKET="unix:" + sock,
                       MESSAGE=wired)
            r = subprocess.run([exes[1], "-s", lua], env=env,
                               capture_output=True)
            if r.returncode != 0 or not r.stdout.startswith(
                    b"DKIM-Signature:"):
                bad.append("%s: opendkim did not sign: %s" % (
                    name, r.stderr.decode()[-200:]))
                continue
            p = os.path.join(outdir, name)
            open(p, "wb").write(wire(r.stdout) + msg)
            paths.append(p)
    finally:
        peer.stop()
        shutil.rmtree(work, ignore_errors=True)
    # opendkim signs messages with an empty body with a wrong bh= (dkimpy
    # rejects those signatures too): there authmilter must agree with
    # dkimpy rather than pass
    res = authmilter_verify(paths) if paths else {}
    ok = disputed = 0
    for p in paths:
        o = res.get(p)
        ours = bool(o and o["dkim"] and o["dkim"][0]["result"] == "pass")
        theirs = dkim.verify(open(p, "rb").read(), dnsfunc=dnsfunc)
        if ours and theirs:
            ok += 1
        elif not ours and not theirs:
            disputed += 1
        else:
            bad.append("%s: authmilter %s, dkimpy %s: %s" % (
                os.path.basename(p), ours, theirs, o))
    if disputed > len(corpus) // 10:
        bad.append("%d signatures bad by both verifiers" % disputed)
    report("opendkim milter rsa-sha256 relaxed/simple -> authmilter "
           "(%d bad by dkimpy too)" % disputed, ok + disputed, len(corpus),
           bad)


def main():
    tmp = tempfile.mkdtemp(prefix="authmilter-interop-")
    try:
        subprocess.run([sys.executable, os.path.join(
            top, "tests", "interop", "gen_messages.py"),
            os.path.join(tmp, "corpus")], check=True, capture_output=True)
        corpus = sorted(os.listdir(os.path.join(tmp, "corpus")))
        for k in ("demo-rsa.private", "demo-ed.private"):
            shutil.copy(os.path.join(demo, k), tmp)
            os.chmod(os.path.join(tmp, k), 0o600)
        sign_with_authmilter(corpus, tmp)
        sign_with_dkimpy(corpus, tmp)
        sign_with_opendkim(corpus, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("interop: %s" % ("ok" if failures == 0 else
                           "%d groups failed" % failures))
    return 1 if failures else 0


sys.exit(main())
