#!/usr/bin/python3
"""The ARC signing suite (tests/data/arc/arc-draft-sign-tests.yml, 17
cases): each message through arc_suite (the core sealing in the suite's
standardized header format), whose AAR, AMS and AS must equal the
expected ones byte for byte; a case whose expected set is empty must not
be sealed. Our own validation of the incoming chain must also agree with
the arc= result the suite stamped into the message's
Authentication-Results.

The expected values are folded in the YAML for reading; the standardized
format has no whitespace but one space after each ';'. A value is
unfolded by joining its lines, with that one space where a line ends in
';' and nothing otherwise (a line break inside b= or bh= is not part of
the value).

usage: run_arc_suite.py ARC_SUITE_EXE SUITE.yml
"""
import os
import subprocess
import sys
import tempfile

import yaml


def unfold(text):
    out = ""
    for line in (text or "").split("\n"):
        line = line.strip()
        if not line:
            continue
        if out and out.endswith(";"):
            out += " "
        out += line
    return out


def zone_text(records):
    lines = ["$TTL 300"]
    for name, value in records.items():
        value = " ".join(value.split())  # the YAML folds the record
        chunks = [value[i:i + 200] for i in range(0, len(value), 200)]
        quoted = " ".join('"%s"' % c for c in chunks)
        lines.append("%s. IN TXT ( %s )" % (name, quoted))
    return "\n".join(lines) + "\n"


def run_case(exe, tmp, scenario, name, case):
    msg = os.path.join(tmp, name + ".eml")
    with open(msg, "w", newline="") as f:
        f.write(case["message"].replace("\n", "\r\n"))
    out = subprocess.run(
        [exe, "-z", os.path.join(tmp, "zone"), "-k", os.path.join(tmp, "key"),
         "-d", scenario["domain"], "-s", scenario["sel"],
         "-a", case["srv-id"], "-t", str(case["t"]),
         "-H", case["sig-headers"], msg],
        capture_output=True, text=True)
    if out.returncode != 0:
        return ["arc_suite exited %d: %s" % (out.returncode, out.stderr)]
    got = {}
    for line in out.stdout.splitlines():
        key, _, value = line.partition(": ")
        got[key] = value
    problems = []
    stamped = got.get("stamped")
    cv = got.get("cv", "").split(" ")[0]
    # the suite stamps the status it expects the chain to have; where it
    # stamped none, a chain with ARC sets is one whose newest seal already
    # said cv=fail (no_additional_sig): ours must say fail
    if stamped in ("pass", "fail") and cv != stamped:
        problems.append("our validation says %s, the suite stamped %s"
                        % (got.get("cv"), stamped))
    for part in ("AAR", "AMS", "AS"):
        want = unfold(case.get(part))
        have = got.get(part)
        if want == "" and have is None:
            continue
        if want == "":
            problems.append("%s sealed, the suite expects nothing (%s)"
                            % (part, have))
        elif have is None:
            problems.append("%s not sealed: %s" % (part, got.get("sealed")))
        elif have != want:
            problems.append("%s differs:\n  got  %s\n  want %s"
                            % (part, have, want))
    return problems


def main():
    exe, suite = sys.argv[1], sys.argv[2]
    with open(suite) as f:
        scenarios = list(yaml.safe_load_all(f))
    total = failed = 0
    for scenario in scenarios:
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, "key"), "w") as f:
                f.write(scenario["privatekey"])
            os.chmod(os.path.join(tmp, "key"), 0o600)
            with open(os.path.join(tmp, "zone"), "w") as f:
                f.write(zone_text(scenario["txt-records"]))
            for name, case in scenario["tests"].items():
                total += 1
                problems = run_case(exe, tmp, scenario, name, case)
                if problems:
                    failed += 1
                    print("FAIL %s: %s" % (name, "; ".join(problems)))
                else:
                    print("ok   %s" % name)
    print("%d cases, %d failed" % (total, failed))
    if total != 17:
        print("FAIL: the suite has 17 cases, %d were found" % total)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
