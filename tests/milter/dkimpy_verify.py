#!/usr/bin/python3
# dkimpy_verify.py PORT FILE -- verify every DKIM-Signature of FILE with
# dkimpy (python3-dkim), keys fetched from the test DNS server on
# 127.0.0.1:PORT with drill. Exit 0 when all verify, 1 otherwise.
import subprocess
import sys

import dkim


def txt(port):
    def lookup(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        out = subprocess.run(["drill", "-p", port, "@127.0.0.1", name,
                              "TXT"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith(";") or "\tTXT\t" not in line:
                continue
            rdata = line.split("\tTXT\t", 1)[1]
            parts = rdata.split('"')[1::2]
            return "".join(parts).encode()
        return None
    return lookup


def main():
    port, path = sys.argv[1], sys.argv[2]
    with open(path, "rb") as f:
        data = f.read()
    d = dkim.DKIM(data)
    n = data.split(b"\r\n\r\n", 1)[0].lower().count(b"\ndkim-signature:")
    if data.lower().startswith(b"dkim-signature:"):
        n += 1
    ok = n > 0
    for i in range(n):
        try:
            good = d.verify(idx=i, dnsfunc=txt(port))
        except dkim.DKIMException as e:
            print("dkimpy: signature %d: %s" % (i, e))
            good = False
        print("dkimpy: signature %d: %s" % (i, "pass" if good else "fail"))
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
