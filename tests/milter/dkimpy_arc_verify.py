#!/usr/bin/python3
# dkimpy_arc_verify.py PORT FILE [INSTANCES] -- validate the ARC chain of
# FILE with dkimpy (python3-dkim, python3-authres), keys fetched from the
# test DNS server on 127.0.0.1:PORT with drill. Prints dkimpy's verdict;
# exit 0 when the chain passes (with INSTANCES sets, when given), 1
# otherwise.
import os
import sys

import dkim

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dkimpy_verify import txt  # noqa: E402


def main():
    port, path = sys.argv[1], sys.argv[2]
    want = int(sys.argv[3]) if len(sys.argv) > 3 else None
    with open(path, "rb") as f:
        data = f.read()
    cv, results, why = dkim.arc_verify(data, dnsfunc=txt(port))
    n = len(results)
    print("dkimpy arc_verify: %s (%s), %d set(s)" % (cv, why, n))
    for r in results:
        print("  i=%d as=%s ams=%s cv=%s" % (r["instance"], r.get("as-valid"),
                                            r.get("ams-valid"), r.get("cv")))
    ok = cv == b"pass" and (want is None or n == want)
    return 0 if ok else 1


sys.exit(main())
