#!/usr/bin/python3
"""Cross-check authmilter's body canonicalization with dkimpy's.

Generates bodies (fixed seed) covering trailing empty lines, whitespace-only
lines, WSP runs, LF-only and mixed line ends, lone CRs, 8-bit bytes, long
lines and a missing final line end; for each, dkimpy's canonical body
(dkim.rfc822_parse for the line ends, then dkim.canonicalization) is hashed
and compared with what canon_digest prints for the raw bytes.

usage: canon_dkimpy.py CANON_DIGEST_PROGRAM
Exit 77 (skip) when python3-dkim is missing, unless CI=true: then 1.
"""
import hashlib
import os
import random
import subprocess
import sys

try:
    import dkim
    from dkim.canonicalization import Relaxed, Simple
except ImportError:
    print("python3-dkim is not installed")
    sys.exit(1 if os.environ.get("CI") == "true" else 77)

PIECES = [b"word", b"x", b" ", b"  ", b"\t", b" \t ", b"\r\n", b"\n",
          b"\r", b"\r\r\n", b"\xc3\xa9", b"\xff", b"\x00", b"=3D", b".",
          b"\r\n\r\n", b"\n\n\n"]


def bodies():
    fixed = [b"", b"\r\n", b"\r\n\r\n\r\n", b"\n", b"abc", b"a  ",
             b" \t ", b"\r", b"a\r", b" C \r\nD \t E\r\n\r\n\r\n",
             b"a \r \r\n", b"x" * 5000 + b" \t\r\n\r\n",
             b"line\nother\r\n\n  \n"]
    rng = random.Random(6376)
    out = list(fixed)
    while len(out) < 40:
        n = rng.randrange(1, 60)
        out.append(b"".join(rng.choice(PIECES) for _ in range(n)))
    return out


def dkimpy_canon(alg, raw):
    # dkimpy normalises line ends while splitting the message
    _, body = dkim.rfc822_parse(b"X: y\r\n\r\n" + raw)
    return alg.canonicalize_body(body)


def main():
    prog = sys.argv[1]
    failed = 0
    count = 0
    for i, raw in enumerate(bodies()):
        for name, alg in (("simple", Simple), ("relaxed", Relaxed)):
            canon = dkimpy_canon(alg, raw)
            want = "%s %d" % (hashlib.sha256(canon).hexdigest(), len(canon))
            for chunk in ("65536", "3"):
                got = subprocess.run([prog, name, chunk], input=raw,
                                     capture_output=True, check=True)
                got = got.stdout.decode().strip()
                count += 1
                if got != want:
                    failed += 1
                    print("body %d %s chunk %s: %r\n  dkimpy %s %r\n"
                          "  canon  %s" % (i, name, chunk, raw, want,
                                           canon, got))
    print("canon vs dkimpy: %d checks, %d failed" % (count, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
