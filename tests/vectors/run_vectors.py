#!/usr/bin/python3
"""run_vectors.py AUTHMILTER AREA_DIR -- the data-driven vector runner.

Each case is AREA_DIR/<case>.eml with <case>.zone (DNS answers) and
<case>.expect, whose lines are:
    args: EXTRA ARGS           extra arguments for `authmilter verify`
    dkim: none                 no signature evaluated
    dkim[N]: RESULT [WORDS]    signature N has RESULT and its reason
                               contains WORDS (case-insensitive)
    spf: RESULT [WORDS]        the SPF result (and reason words)
    spf: not evaluated         SPF was not evaluated
    dmarc: RESULT [WORDS]      the overall DMARC result (and reason words)
    disposition: D             the DMARC disposition
    authres: TEXT              the A-R value contains TEXT
    action: A [CODE XCODE]     the action (accept, reject, quarantine,
                               tempfail) and the SMTP reply codes
    exit: N                    the exit status (the action: 0 accept,
                               1 reject, 3 tempfail, 4 quarantine)
Every case runs through the CLI with --json. Prints one line per failure
and "N passed, M failed"; exits 1 on any failure.
"""
import json
import os
import shlex
import subprocess
import sys

authmilter, area = sys.argv[1], sys.argv[2]
passed = failed = 0


def check(case, ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL %s: %s" % (case, what))


for name in sorted(os.listdir(area)):
    if not name.endswith(".expect"):
        continue
    case = name[:-len(".expect")]
    base = os.path.join(area, case)
    args, want = [], []
    for ln in open(base + ".expect"):
        ln = ln.strip()
        if not ln or ln.startswith("#"):
            continue
        key, _, val = ln.partition(":")
        if key == "args":
            args = shlex.split(val)
        else:
            want.append((key.strip(), val.strip()))
    r = subprocess.run([authmilter, "verify", "--json", "--zone",
                        base + ".zone"] + args + [base + ".eml"],
                       capture_output=True)
    try:
        out = json.loads(r.stdout.decode().splitlines()[0])
    except (ValueError, IndexError):
        check(case, False, "no JSON output; stderr: %s" % r.stderr)
        continue
    for key, val in want:
        if key == "exit":
            check(case, r.returncode == int(val),
                  "exit %d, want %s" % (r.returncode, val))
        elif key == "dkim":
            check(case, out["dkim"] == [] if val == "none" else False,
                  "dkim %s, want %s" % (out["dkim"], val))
        elif key.startswith("dkim["):
            i = int(key[5:-1])
            words = val.split()
            got = out["dkim"][i] if i < len(out["dkim"]) else None
            ok = (got is not None and got["result"] == words[0] and
                  " ".join(words[1:]).lower() in got["reason"].lower())
            check(case, ok, "%s = %s, want %s" % (key, got, val))
        elif key == "spf":
            got = out.get("spf") or {}
            if val == "not evaluated":
                ok = got.get("evaluated") is False
            else:
                words = val.split()
                ok = (got.get("result") == words[0] and " ".join(
                    words[1:]).lower() in (got.get("reason") or "").lower())
            check(case, ok, "spf = %s, want %s" % (got, val))
        elif key == "dmarc":
            got = out.get("dmarc") or {}
            words = val.split()
            ok = (got.get("result") == words[0] and " ".join(
                words[1:]).lower() in (got.get("reason") or "").lower())
            check(case, ok, "dmarc = %s, want %s" % (got, val))
        elif key == "disposition":
            got = (out.get("dmarc") or {}).get("disposition")
            check(case, got == val, "disposition %s, want %s" % (got, val))
        elif key == "action":
            act = out.get("action") or {}
            reply = act.get("reply") or {}
            got = " ".join([act.get("action", "?")] + (
                [reply["code"], reply["enhanced_code"]] if reply else []))
            check(case, got == val, "action %r, want %r" % (got, val))
        elif key == "authres":
            check(case, val in out["authentication_results"],
                  "A-R %r lacks %r" % (out["authentication_results"], val))
        else:
            check(case, False, "unknown expectation %r" % key)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed or passed == 0 else 0)
