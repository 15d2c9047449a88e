#!/usr/bin/python3
"""make_cases.py AUTHMILTER -- regenerate the DMARC vector cases in this
directory (messages signed with the test-only demo keys at a fixed time,
their zones and expectations). The committed files are what the runner
reads; this script documents how they were made."""
import os
import re
import subprocess
import sys
import tempfile

authmilter = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
top = os.path.normpath(os.path.join(here, "..", "..", ".."))
demo = os.path.join(top, "keys", "demo")
NOW = 1795435200

demo_zone = open(os.path.join(demo, "demo.zone")).read()
rsa_txt = re.search(r'demo-rsa\._domainkey IN TXT \((.*)\)', demo_zone).group(1)

BASE = demo_zone.replace(
    '_dmarc              IN TXT "v=DMARC1; p=reject; '
    'rua=mailto:dmarc-reports@example.com"',
    '_dmarc              IN TXT "v=DMARC1; p=reject; sp=quarantine; '
    'np=reject; rua=mailto:dmarc-reports@example.com"') + """
news                IN A 192.0.2.30
$ORIGIN quar.example.
_dmarc IN TXT "v=DMARC1; p=quarantine"
$ORIGIN testing.example.
_dmarc IN TXT "v=DMARC1; p=reject; t=y"
$ORIGIN pct.example.
_dmarc IN TXT "v=DMARC1; p=reject; pct=0"
$ORIGIN other.example.
_dmarc IN TXT "v=DMARC1; p=reject"
$ORIGIN strict.example.
_dmarc IN TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
demo-rsa._domainkey IN TXT (%s)
$ORIGIN xn--bcher-kva.example.
_dmarc IN TXT "v=DMARC1; p=reject"
$ORIGIN attacker.example.
_dmarc IN TXT "v=DMARC1; p=none"
""" % rsa_txt

HEAD = ("To: Bob <bob@example.net>\r\nSubject: dmarc case\r\n"
        "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
        "Message-ID: <dmarc-%s@example.com>\r\n\r\nHello.\r\n")

tmp = tempfile.mkdtemp()
key = os.path.join(tmp, "k")
with open(os.path.join(demo, "demo-rsa.private"), "rb") as f:
    data = f.read()
fd = os.open(key, os.O_WRONLY | os.O_CREAT, 0o600)
os.write(fd, data)
os.close(fd)


def sign(msg, domain):
    p = os.path.join(tmp, "m.eml")
    open(p, "wb").write(msg)
    return subprocess.run([authmilter, "sign", "-d", domain, "-s",
                           "demo-rsa", "-k", key, "--now", str(NOW), p],
                          check=True, capture_output=True).stdout


def case(name, from_lines, expect, args="", signed=None, zone=BASE):
    msg = "".join("From: %s\r\n" % f for f in from_lines)
    msg = (msg + HEAD % name).encode()
    if signed:
        msg = sign(msg, signed)
    open(os.path.join(here, name + ".eml"), "wb").write(msg)
    open(os.path.join(here, name + ".zone"), "w").write(zone)
    open(os.path.join(here, name + ".expect"), "w").write(
        "args: --now %d %s\n%s\n" % (NOW + 60, args, expect.strip()))


OUT = "--ip 203.0.113.9 --helo mx.evil.example --mail-from <x@evil.example>"
IN = "--ip 192.0.2.25 --helo mail.example.com --mail-from <alice@example.com>"

case("dkim-aligned-pass", ["alice@example.com"],
     "dkim[0]: pass\ndmarc: pass\ndisposition: pass\nexit: 0", OUT,
     signed="example.com")
case("spf-aligned-pass", ["alice@example.com"],
     "spf: pass\ndmarc: pass\ndisposition: pass\n"
     "authres: spf=pass smtp.mailfrom=example.com\nexit: 0", IN)
case("reject", ["alice@example.com"],
     "spf: none\ndmarc: fail\ndisposition: reject\n"
     "authres: policy.dmarc=reject\nexit: 1", OUT)
case("spf-fail-reject", ["alice@example.com"],
     "spf: fail\ndmarc: fail\ndisposition: reject\nexit: 1",
     "--ip 203.0.113.9 --mail-from <alice@example.com>")
case("unaligned-dkim", ["boss@other.example"],
     "dkim[0]: pass\ndmarc: fail\ndisposition: reject\nexit: 1", OUT,
     signed="example.com")
case("quarantine", ["a@quar.example"],
     "dmarc: fail\ndisposition: quarantine\naction: quarantine\nexit: 4",
     OUT)
case("testing-t-y", ["a@testing.example"],
     "dmarc: fail\ndisposition: quarantine\n"
     "authres: override=policy_test_mode\naction: quarantine\nexit: 4",
     OUT)
case("pct-zero-ignored", ["a@pct.example"],
     "dmarc: fail\ndisposition: reject\nexit: 1", OUT)
case("subdomain-sp", ["a@news.example.com"],
     "dmarc: fail\ndisposition: quarantine\naction: quarantine\nexit: 4",
     OUT)
case("nxsubdomain-np", ["a@nosuch.example.com"],
     "dmarc: fail\ndisposition: reject\nexit: 1", OUT)
case("relaxed-subdomain-pass", ["a@news.example.com"],
     "dkim[0]: pass\ndmarc: pass\ndisposition: pass\nexit: 0", OUT,
     signed="example.com")
case("strict-subdomain-fail", ["a@news.strict.example"],
     "dkim[0]: pass\ndmarc: fail\ndisposition: reject\nexit: 1", OUT,
     signed="strict.example")
case("strict-exact-pass", ["a@strict.example"],
     "dkim[0]: pass\ndmarc: pass\nexit: 0", OUT, signed="strict.example")
case("multiple-from-headers", ["alice@example.com", "a@quar.example"],
     "dkim[0]: pass\ndmarc: fail\ndisposition: reject\n"
     "action: reject 550 5.7.1\nexit: 1", OUT, signed="example.com")
case("several-addresses", ["alice@example.com, boss@other.example"],
     "dkim[0]: pass\ndmarc: fail\ndisposition: reject\nexit: 1", OUT,
     signed="example.com")
case("no-from", [],
     "dmarc: none from\ndisposition: none\naction: accept\nexit: 0",
     OUT + " --no-required-from")
case("no-from-required", [],
     "dmarc: none from\ndisposition: none\n"
     "action: reject 550 5.7.1\nexit: 1", OUT + " --required-from")
case("unparseable-from", ["alice@"],
     "dmarc: permerror\naction: reject 550 5.7.1\nexit: 1", OUT,
     signed="example.com")
case("encoded-word-spoof",
     ['"=?utf-8?B?YWxpY2VAZXhhbXBsZS5jb20gPGFsaWNlQGV4YW1wbGUuY29tPg==?=" '
      '<x@attacker.example>'],
     "dkim[0]: pass\ndmarc: fail\nauthres: header.from=attacker.example\n"
     "authres: header.from=example.com\naction: accept\nexit: 0", OUT,
     signed="example.com")
case("dns-tempfail", ["alice@example.com"],
     "dmarc: temperror\naction: accept\nexit: 0", OUT,
     zone=BASE + ";@fault timeout _dmarc.example.com TXT\n")
case("trusted-forwarder", ["alice@example.com"],
     "dmarc: fail\ndisposition: none\n"
     "authres: override=trusted_forwarder\naction: accept\nexit: 0",
     OUT + " --trusted-forwarder 203.0.113.0/24")
# review findings: malformed From fields, U-labels, header floods
case("from-unclosed-angle", ["CEO <ceo@example.com"],
     "dmarc: fail\ndisposition: reject\nexit: 1", OUT)
case("from-trailing-garbage", ["CEO <ceo@example.com> x"],
     "dmarc: fail\ndisposition: reject\nexit: 1", OUT)
case("from-unclosed-quote", ['"CEO <ceo@example.com>'],
     "dmarc: fail\ndisposition: reject\nexit: 1", OUT)
case("from-ulabel", ["ceo@b\u00fccher.example"],
     "dmarc: fail\ndisposition: reject\n"
     "authres: header.from=xn--bcher-kva.example\nexit: 1", OUT)
case("spf-helo-without-mailfrom", ["alice@example.com"],
     "spf: pass\ndmarc: fail\ndisposition: reject\nexit: 1",
     "--ip 192.0.2.25 --helo example.com")


def flood(name, extra, expect):
    msg = ("From: alice@example.com\r\n" + extra + HEAD % name).encode()
    open(os.path.join(here, name + ".eml"), "wb").write(msg)
    open(os.path.join(here, name + ".zone"), "w").write(BASE)
    open(os.path.join(here, name + ".expect"), "w").write(
        "args: --now %d %s\n%s\n" % (NOW + 60, OUT, expect.strip()))


flood("many-signatures", "".join(
    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=s%d; h=from; "
    "bh=AAAA; b=AAAA\r\n" % i for i in range(300)),
    "dmarc: fail\ndisposition: reject\n"
    "authres: more signatures not evaluated\nexit: 1")
flood("huge-d-tag", "DKIM-Signature: v=1; a=rsa-sha256; d=%s.com; s=x; "
      "h=from; bh=AAAA; b=AAAA\r\n" % ("a" * 20000),
      "dkim[0]: permerror\ndmarc: fail\ndisposition: reject\nexit: 1")


def dkimpy_signed(name, sign_from, prepend, expect):
    """A signature made by dkimpy with h= listing From once (no
    oversigning), then a From field added above it."""
    import time
    import dkim
    msg = ("From: %s\r\n" % sign_from + HEAD % name).encode()
    real = time.time
    time.time = lambda: NOW
    try:
        sig = dkim.sign(msg, b"demo-rsa", b"example.com", data,
                        include_headers=[b"from", b"to", b"subject",
                                         b"date", b"message-id"])
    finally:
        time.time = real
    out = sig + ("From: %s\r\n" % prepend).encode() + msg
    open(os.path.join(here, name + ".eml"), "wb").write(out)
    open(os.path.join(here, name + ".zone"), "w").write(BASE)
    open(os.path.join(here, name + ".expect"), "w").write(
        "args: --now %d %s\n%s\n" % (NOW + 60, OUT, expect.strip()))


dkimpy_signed("prepended-from-same-domain", "alice@example.com",
              '"Billing" <billing@example.com>',
              "dkim[0]: policy h= covers 1 of 2 From fields\n"
              "dmarc: fail\ndisposition: reject\n"
              "action: reject 550 5.7.1\nexit: 1")
print("cases written")
