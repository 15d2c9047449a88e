#!/usr/bin/python3
"""gen_messages.py OUTDIR -- write the interop corpus: messages that cover
what breaks DKIM implementations (folded headers, long lines, empty body,
trailing empty lines, whitespace-only lines, 8-bit bytes, LF-only input, a
lone CR). Deterministic: the same files every run."""
import os
import random
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = random.Random(20261123)

WORDS = ("mail milter postfix domain key selector header body relay "
         "queue policy report alignment signature canonical").split()


def line(n):
    return " ".join(rng.choice(WORDS) for _ in range(n))


def headers(i, extra=()):
    h = [
        "From: Alice Example <alice@example.com>",
        "To: Bob <bob@example.net>, carol@example.org",
        "Subject: interop message %d %s" % (i, line(3)),
        "Date: Mon, 23 Nov 2026 12:%02d:00 +0000" % (i % 60),
        "Message-ID: <interop-%d@example.com>" % i,
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ]
    h.extend(extra)
    return h


CASES = []


def case(name):
    def deco(fn):
        CASES.append((name, fn))
        return fn
    return deco


@case("plain")
def _(i):
    return headers(i), [line(8) for _ in range(5)], "\r\n"


@case("folded")
def _(i):
    extra = ["X-Folded: first part\r\n\tsecond part\r\n   third  part",
             "Subject-Extra:  lots   of   space  \t"]
    h = headers(i, extra)
    h[2] = "Subject: folded\r\n subject line %d" % i
    return h, [line(6)], "\r\n"


@case("longline")
def _(i):
    return headers(i), [line(200), "x" * 1500, line(3)], "\r\n"


@case("emptybody")
def _(i):
    return headers(i), [], "\r\n"


@case("trailing-empty")
def _(i):
    return headers(i), [line(5), "", "", ""], "\r\n"


@case("whitespace-lines")
def _(i):
    return headers(i), [line(4), "   ", "\t", " \t ", line(4) + "   ",
                        "\t" + line(2) + " \t"], "\r\n"


@case("8bit")
def _(i):
    h = headers(i, ["X-Utf8: h\u00e9llo w\u00f6rld"])
    return h, ["gr\u00fc\u00dfe aus k\u00f6ln", "\u65e5\u672c\u8a9e",
               "latin1 \udce9t\udce9"], "\r\n"


@case("lf-only")
def _(i):
    return headers(i), [line(6), "", line(3), ""], "\n"


@case("lone-cr")
def _(i):
    return headers(i), [line(3) + "\r" + line(2), "tail"], "\r\n"


@case("no-final-newline")
def _(i):
    return headers(i), [line(5), "last line without end"], None


@case("many-headers")
def _(i):
    extra = ["Received: from host%d.example.net by mx.example.com; "
             "Mon, 23 Nov 2026 12:00:%02d +0000" % (k, k) for k in range(8)]
    extra += ["Cc: dave@example.org", "Reply-To: alice@example.com",
              "In-Reply-To: <x@example.com>", "References: <x@example.com>"]
    return headers(i, extra), [line(7) for _ in range(3)], "\r\n"


def render(h, body, eol):
    end = eol if eol else "\r\n"
    text = end.join(x.replace("\r\n", end) for x in h) + end + end
    if eol is None:
        text += "\r\n".join(body)
    else:
        text += "".join(b + eol for b in body)
    return text.encode("utf-8", "surrogateescape")


n = 0
rounds = 5
for r in range(rounds):
    for name, fn in CASES:
        n += 1
        h, body, eol = fn(n)
        path = os.path.join(out, "%02d-%s.eml" % (n, name))
        with open(path, "wb") as f:
            f.write(render(h, body, eol))
print("%d messages" % n)
