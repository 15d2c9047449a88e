#!/usr/bin/python3
"""rfc_dkim.py AUTHMILTER DATADIR -- the RFC 6376 and RFC 8463 DKIM vectors
of DATADIR (tests/data/dkim), as expected.yaml describes them, run through
`authmilter verify`. Messages are converted LF -> CRLF first (the vectors
say so). For each passing message, every variant with one body byte
changed must fail with a body-hash reason."""
import json
import os
import subprocess
import sys
import tempfile

import yaml

authmilter, vdir = sys.argv[1], sys.argv[2]
spec = yaml.safe_load(open(os.path.join(vdir, "expected.yaml")))
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL " + what)


def verify(data, zone, tmp):
    path = os.path.join(tmp, "m.eml")
    open(path, "wb").write(data)
    r = subprocess.run([authmilter, "verify", "--json", "--now",
                        "1600000000", "--zone", zone, path],
                       capture_output=True)
    try:
        return json.loads(r.stdout.decode().splitlines()[0])
    except (ValueError, IndexError):
        return {"dkim": None, "stderr": r.stderr.decode()}


def overall(dk):
    if not dk:
        return "none"
    return "pass" if all(d["result"] == "pass" for d in dk) else "fail"


with tempfile.TemporaryDirectory() as tmp:
    for c in spec["cases"]:
        raw = open(os.path.join(vdir, c["file"]), "rb").read()
        data = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        zone = os.path.join(vdir, c["zone"])
        out = verify(data, zone, tmp)
        dk = out.get("dkim")
        check(dk is not None, "%s: no result (%s)" % (c["file"], out))
        if dk is None:
            continue
        check(overall(dk) == c["expected"], "%s: %s, want %s (%s)" % (
            c["file"], overall(dk), c["expected"], dk))
        per = c.get("per_signature_expected")
        if per:
            check([d["result"] for d in dk] == per, "%s: %s, want %s" % (
                c["file"], [d["result"] for d in dk], per))
        if c["expected"] == "fail" and "body hash" in c.get("reason", ""):
            check(all("body hash" in d["reason"] for d in dk),
                  "%s: reason %s, want body hash" % (c["file"], dk))
        if c["expected"] != "pass":
            continue
        # one changed body byte breaks every signature, by body hash
        body = data.index(b"\r\n\r\n") + 4
        for pos in range(body, len(data), max(1, (len(data) - body) // 7)):
            if data[pos:pos + 1] in (b"\r", b"\n", b" ", b"\t"):
                continue
            mod = data[:pos] + bytes([data[pos] ^ 0x01]) + data[pos + 1:]
            dk = verify(mod, zone, tmp).get("dkim") or []
            check(dk and all(d["result"] == "fail" and
                             "body hash" in d["reason"] for d in dk),
                  "%s byte %d changed: %s" % (c["file"], pos, dk))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or passed == 0 else 0)
