#!/usr/bin/python3
"""check_arf.py -- check one DMARC failure report mail (as handed to
sendmail) with Python's email package: RFC 6522 multipart/report with
report-type=feedback-report and three parts; the RFC 5965/6591 fields and
every field RFC 9991 section 4 marks REQUIRED, with the values given on
the command line; the original's header section as the third part, and
nothing of it in the report's own header.

  check_arf.py FILE [--expect FIELD=VALUE]... [--has FIELD=TEXT]...
               [--absent FIELD]...
               [--to ADDR]... [--original text/rfc822-headers|message/rfc822]
               [--inner-has TEXT]... [--nowhere TEXT]... [--transit]
Exit 0 when every check holds; each failure is printed.
"""
import argparse
import email
import email.policy
import sys

fails = []


def check(cond, what):
    if not cond:
        fails.append(what)
        print("FAIL: " + what)


ap = argparse.ArgumentParser()
ap.add_argument("file")
ap.add_argument("--expect", action="append", default=[])
ap.add_argument("--has", action="append", default=[],
                help="the field's value (unfolded) contains TEXT")
ap.add_argument("--absent", action="append", default=[])
ap.add_argument("--to", action="append", default=[])
ap.add_argument("--original", default="text/rfc822-headers")
ap.add_argument("--inner-has", action="append", default=[])
ap.add_argument("--nowhere", action="append", default=[])
ap.add_argument("--transit", action="store_true",
                help="allow the fields MTAs add on the way (Received, "
                "DKIM-Signature, Return-Path)")
a = ap.parse_args()

raw = open(a.file, "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.compat32)
check(not msg.defects, "top-level defects: %r" % msg.defects)
check(msg.get_content_type() == "multipart/report", "multipart/report")
check(msg.get_param("report-type") == "feedback-report",
      "report-type=feedback-report")
to = [x.strip() for x in (msg.get("To") or "").split(",") if x.strip()]
check(sorted(to) == sorted(a.to), "To %r, want %r" % (to, a.to))
check(msg.get("Bcc") is None or a.to == [], "no Bcc in the report")
check(msg.get("Auto-Submitted") == "auto-generated", "Auto-Submitted")
# the report's own header: only the fields we write
ours = {"from", "to", "bcc", "subject", "date", "message-id",
        "auto-submitted", "mime-version", "content-type"}
if a.transit:
    ours |= {"received", "dkim-signature", "return-path"}
for k in msg.keys():
    check(k.lower() in ours, "unexpected report field %s" % k)
parts = msg.get_payload()
check(isinstance(parts, list) and len(parts) == 3,
      "three parts (got %s)" % (len(parts) if isinstance(parts, list)
                                else "none"))
if isinstance(parts, list) and len(parts) == 3:
    text, fb, orig = parts
    check(text.get_content_type() == "text/plain", "part 1 text/plain")
    check(fb.get_content_type() == "message/feedback-report",
          "part 2 message/feedback-report")
    # message/feedback-report: email parses its body as one header block
    body = fb.get_payload()
    if isinstance(body, list):
        fields = body[0]
    else:
        fields = email.message_from_string(body)
    # RFC 5965 section 3.1 and RFC 6591 section 3.1: required
    for f in ("Feedback-Type", "User-Agent", "Version", "Auth-Failure",
              "Reported-Domain", "Arrival-Date", "Source-IP",
              "Authentication-Results",
              # RFC 9991 section 4 item 1: REQUIRED
              "Identity-Alignment"):
        check(fields.get(f) is not None, "field %s present" % f)
    check(fields.get("Feedback-Type") == "auth-failure",
          "Feedback-Type auth-failure")
    check(fields.get("Version") == "1", "Version 1")
    ia = (fields.get("Identity-Alignment") or "").replace(" ", "")
    methods = ia.split(",")
    check(ia == "none" or (set(methods) <= {"dkim", "spf"} and
                           len(methods) == len(set(methods))),
          "Identity-Alignment grammar (%r)" % ia)
    # RFC 9991: DKIM-* for an aligned DKIM failure, SPF-DNS for SPF
    if "dkim" in methods and fields.get("DKIM-Domain") is not None:
        for f in ("DKIM-Identity", "DKIM-Selector"):
            check(fields.get(f) is not None, "%s with DKIM-Domain" % f)
    if email.utils.parsedate_tz(fields.get("Arrival-Date") or "") is None:
        check(False, "Arrival-Date is a date")
    for e in a.expect:
        k, v = e.split("=", 1)
        got = fields.get(k)
        if got is not None:
            got = " ".join(got.split())
        check(got == v, "%s: %r, want %r" % (k, got, v))
    for e in a.has:
        k, v = e.split("=", 1)
        got = " ".join((fields.get(k) or "").split())
        check(v in got, "%s: %r, want it to contain %r" % (k, got, v))
    for k in a.absent:
        check(fields.get(k) is None, "%s absent" % k)
    check(orig.get_content_type() == a.original,
          "part 3 %s (got %s)" % (a.original, orig.get_content_type()))
    inner = orig.get_payload()
    if isinstance(inner, list):
        inner = inner[0].as_string()
    for t in a.inner_has:
        check(t in inner, "the original's copy has %r" % t)
    check(not orig.defects, "part 3 defects: %r" % orig.defects)
for t in a.nowhere:
    check(t.encode() not in raw, "%r is nowhere in the report" % t)
sys.exit(1 if fails else 0)
