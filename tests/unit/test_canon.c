/*
 * test_canon.c -- DKIM canonicalization (RFC 6376 section 3.4): header
 * fields byte for byte; bodies by digest against the expected canonical
 * bytes, fed whole, one byte at a time and split at every point; l=.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"
#include "authmilter/canon.h"
#include "check.h"

struct header_case {
	const char *name;
	enum canon_alg alg;
	const char *hname;
	const char *hvalue;
	const char *want;
};

static const struct header_case header_cases[] = {
    /* RFC 6376 §3.4.5 example, the name with its WSP before ':' */
    {"rfc A simple", CANON_SIMPLE, "A", " X", "A: X\r\n"},
    {"rfc B simple", CANON_SIMPLE, "B ", " Y\t\r\n\tZ  ",
        "B : Y\t\r\n\tZ  \r\n"},
    {"rfc A relaxed", CANON_RELAXED, "A", " X", "a:X\r\n"},
    {"rfc B relaxed", CANON_RELAXED, "B ", " Y\t\r\n\tZ  ", "b:Y Z\r\n"},
    {"simple keeps all", CANON_SIMPLE, "SUBJect", "\t a  b \t",
        "SUBJect:\t a  b \t\r\n"},
    {"simple empty value", CANON_SIMPLE, "X", "", "X:\r\n"},
    {"relaxed empty value", CANON_RELAXED, "X-Empty", "", "x-empty:\r\n"},
    {"relaxed wsp-only value", CANON_RELAXED, "X", " \t\r\n \t", "x:\r\n"},
    {"relaxed tabs", CANON_RELAXED, "To", "\ta\t\tb\t", "to:a b\r\n"},
    {"relaxed trailing wsp", CANON_RELAXED, "S", " hi there   ",
        "s:hi there\r\n"},
    {"relaxed two folds", CANON_RELAXED, "From",
        " A\r\n B\r\n\t<a@example.com>", "from:A B <a@example.com>\r\n"},
    {"relaxed fold without wsp around", CANON_RELAXED, "X", "a\r\n b",
        "x:a b\r\n"},
    {"relaxed name case", CANON_RELAXED, "DKIM-Signature", " v=1",
        "dkim-signature:v=1\r\n"},
    {"relaxed 8-bit kept", CANON_RELAXED, "Subject", " caf\xc3\xa9  ok",
        "subject:caf\xc3\xa9 ok\r\n"},
    {"relaxed lone CR kept", CANON_RELAXED, "X", " a\rb", "x:a\rb\r\n"},
};

static void
test_headers(void)
{
	struct buf out;
	size_t i;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(header_cases) / sizeof(header_cases[0]); i++) {
		const struct header_case *h = &header_cases[i];

		buf_reset(&out);
		canon_header(&out, h->alg, h->hname, strlen(h->hname),
		    h->hvalue, strlen(h->hvalue));
		CHECK_INT_EQ(buf_error(&out), 0);
		if (out.len != strlen(h->want) ||
		    memcmp(buf_cstr(&out), h->want, out.len) != 0)
			fprintf(stderr, "header case '%s'\n", h->name);
		CHECK_MEM_EQ(buf_cstr(&out), out.len, h->want, strlen(h->want));
	}
	buf_free(&out);
}

struct body_case {
	const char *name;
	const char *in;
	size_t in_len;      /* 0: strlen(in) */
	const char *simple; /* expected canonical bytes */
	const char *relaxed;
	size_t out_len; /* 0: strlen of each */
};

static const struct body_case body_cases[] = {
    {"rfc 3.4.5 example", " C \r\nD \t E\r\n\r\n\r\n", 0, " C \r\nD \t E\r\n",
        " C\r\nD E\r\n", 0},
    {"rfc example without leading SP", "C \r\nD \t E\r\n\r\n\r\n", 0,
        "C \r\nD \t E\r\n", "C\r\nD E\r\n", 0},
    {"empty body", "", 0, "\r\n", "", 0},
    {"only CRLFs", "\r\n\r\n\r\n", 0, "\r\n", "", 0},
    {"only LF", "\n", 0, "\r\n", "", 0},
    {"only LFs", "\n\n\n\n", 0, "\r\n", "", 0},
    {"no final CRLF", "abc", 0, "abc\r\n", "abc\r\n", 0},
    {"no final CRLF, two lines", "a\r\nbc", 0, "a\r\nbc\r\n", "a\r\nbc\r\n", 0},
    {"LF only", "a\nb\n\n", 0, "a\r\nb\r\n", "a\r\nb\r\n", 0},
    {"mixed LF and CRLF", "a\r\nb\nc\r\n\n\r\n", 0, "a\r\nb\r\nc\r\n",
        "a\r\nb\r\nc\r\n", 0},
    {"leading empty lines", "\r\n\n\r\na\r\n", 0, "\r\n\r\n\r\na\r\n",
        "\r\n\r\n\r\na\r\n", 0},
    {"lone CR inside a line", "a\rb\r\n", 0, "a\rb\r\n", "a\rb\r\n", 0},
    {"lone CR between WSP", "a \r \r\n", 0, "a \r \r\n", "a \r\r\n", 0},
    {"CR before CRLF", "a\r\r\n", 0, "a\r\r\n", "a\r\r\n", 0},
    {"CR before LF-only", "a\r\r\n\n", 0, "a\r\r\n", "a\r\r\n", 0},
    {"line of only CR", "a\r\n\r\r\n\r\n", 0, "a\r\n\r\r\n", "a\r\n\r\r\n", 0},
    {"CR at the end", "ab\r", 0, "ab\r\r\n", "ab\r\r\n", 0},
    {"only CR", "\r", 0, "\r\r\n", "\r\r\n", 0},
    {"WSP then CR at the end", "a \t\r", 0, "a \t\r\r\n", "a \r\r\n", 0},
    {"8-bit bytes", "caf\xc3\xa9 \xff\t\r\n\xe9t\xe9  x\r\n", 0,
        "caf\xc3\xa9 \xff\t\r\n\xe9t\xe9  x\r\n",
        "caf\xc3\xa9 \xff\r\n\xe9t\xe9 x\r\n", 0},
    {"NUL bytes", "a\0b \0\r\n", 7, "a\0b \0\r\n", "a\0b \0\r\n", 7},
    {"whitespace-only trailing lines", "a\r\n  \r\n\t\r\n", 0,
        "a\r\n  \r\n\t\r\n", "a\r\n", 0},
    {"whitespace-only inner line", "a\r\n \t \r\nb\r\n", 0,
        "a\r\n \t \r\nb\r\n", "a\r\n\r\nb\r\n", 0},
    {"whitespace-only body", " \t \r\n", 0, " \t \r\n", "", 0},
    {"whitespace-only body, no CRLF", " \t ", 0, " \t \r\n", " \r\n", 0},
    {"unterminated line with WSP", "a  ", 0, "a  \r\n", "a \r\n", 0},
    {"WSP runs", "a  b\t\tc \t d\r\n", 0, "a  b\t\tc \t d\r\n", "a b c d\r\n",
        0},
    {"single SPs", "a b c\r\nd e\r\n", 0, "a b c\r\nd e\r\n",
        "a b c\r\nd e\r\n", 0},
    {"leading WSP", "  a\r\n\tb\r\n", 0, "  a\r\n\tb\r\n", " a\r\n b\r\n", 0},
    {"WSP before CRLF then WSP", "a \r\n b", 0, "a \r\n b\r\n", "a\r\n b\r\n",
        0},
    {"words across 8-byte words",
        "abcdefg hijklmn  opqrstu vwxyz12 3\r\nabcdefgh ijklmnop \r\n"
        "1234567 \t89abcdef\r\nxxxxxxxxxxxxxxx yyyyyyy\r\n\r\n",
        0,
        "abcdefg hijklmn  opqrstu vwxyz12 3\r\nabcdefgh ijklmnop \r\n"
        "1234567 \t89abcdef\r\nxxxxxxxxxxxxxxx yyyyyyy\r\n",
        "abcdefg hijklmn opqrstu vwxyz12 3\r\nabcdefgh ijklmnop\r\n"
        "1234567 89abcdef\r\nxxxxxxxxxxxxxxx yyyyyyy\r\n",
        0},
    {"8-bit and controls in long lines",
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \x01\x02\x7f\x80\xff  ab\r\n", 0,
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \x01\x02\x7f\x80\xff  ab\r\n",
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \x01\x02\x7f\x80\xff ab\r\n", 0},
    {"empty lines inside", "a\r\n\r\n\r\nb\r\n\r\n", 0, "a\r\n\r\n\r\nb\r\n",
        "a\r\n\r\n\r\nb\r\n", 0},
    {"many trailing empty lines",
        "x\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nx",
        0,
        "x\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\nx\r\n",
        "x\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n"
        "\r\n\r\n\r\n\r\n\r\n\r\n\r\nx\r\n",
        0},
};

static void
sha256(const void *p, size_t n, uint8_t *out)
{
	unsigned int len;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		abort();
}

/* Feed in (n bytes) to a new stream split at the offsets cuts[0..ncuts)
 * (ascending); step > 0 feeds step bytes at a time instead.
 * @return 0 and the digest and canonical length, or -1. */
static int
run_body(struct arena *a, enum canon_alg alg, int64_t limit, const char *in,
    size_t n, const size_t *cuts, size_t ncuts, size_t step, uint8_t *dg,
    uint64_t *ret_total)
{
	struct canon_body *cb;
	size_t at = 0, i, dlen;

	if (canon_body_new(a, alg, CANON_SHA256, limit, &cb) != 0)
		return -1;
	for (i = 0; i < ncuts; i++) {
		if (canon_body_update(cb, in + at, cuts[i] - at) != 0)
			return -1;
		at = cuts[i];
	}
	while (step > 0 && at < n) {
		size_t k = n - at < step ? n - at : step;

		if (canon_body_update(cb, in + at, k) != 0)
			return -1;
		at += k;
	}
	if (canon_body_update(cb, in + at, n - at) != 0 ||
	    canon_body_final(cb, dg, &dlen) != 0 || dlen != 32)
		return -1;
	*ret_total = canon_body_length(cb);
	return 0;
}

/* Check one input against its expected canonical form: whole, one byte
 * at a time, and split at each point (every stride-th for long inputs);
 * with limit, the digest is of the first limit bytes of want. */
static void
check_body(const char *name, enum canon_alg alg, const char *in, size_t in_len,
    const char *want, size_t want_len, int64_t limit, size_t stride)
{
	struct arena *a = arena_new(4096);
	uint8_t expect[32], got[32];
	size_t cut, hashed = want_len;
	uint64_t total;
	int bad = 0;

	if (limit >= 0 && (uint64_t)limit < want_len)
		hashed = (size_t)limit;
	sha256(want, hashed, expect);
	CHECK(
	    run_body(a, alg, limit, in, in_len, NULL, 0, 0, got, &total) == 0);
	bad += memcmp(got, expect, 32) != 0 || total != want_len;
	CHECK_MEM_EQ(got, 32, expect, 32);
	CHECK_INT_EQ(total, want_len);
	CHECK(
	    run_body(a, alg, limit, in, in_len, NULL, 0, 1, got, &total) == 0);
	bad += memcmp(got, expect, 32) != 0 || total != want_len;
	CHECK_MEM_EQ(got, 32, expect, 32);
	for (cut = 0; cut <= in_len; cut += stride) {
		arena_reset(a);
		CHECK(run_body(a, alg, limit, in, in_len, &cut, 1, 0, got,
		          &total) == 0);
		if (memcmp(got, expect, 32) != 0 || total != want_len) {
			bad++;
			fprintf(stderr, "split at %zu: ", cut);
		}
		CHECK_MEM_EQ(got, 32, expect, 32);
		CHECK_INT_EQ(total, want_len);
	}
	if (bad)
		fprintf(stderr, "body case '%s' (%s, l=%lld)\n", name,
		    canon_alg_name(alg), (long long)limit);
	arena_free(a);
}

static void
test_bodies(void)
{
	size_t i;

	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *b = &body_cases[i];
		size_t n = b->in_len ? b->in_len : strlen(b->in);
		size_t sn = b->out_len ? b->out_len : strlen(b->simple);
		size_t rn = b->out_len ? b->out_len : strlen(b->relaxed);

		check_body(
		    b->name, CANON_SIMPLE, b->in, n, b->simple, sn, -1, 1);
		check_body(
		    b->name, CANON_RELAXED, b->in, n, b->relaxed, rn, -1, 1);
	}
}

/* Lines of 100 KB: a long plain run, WSP runs inside and at the end. */
static void
test_long_lines(void)
{
	struct buf in, simple, relaxed;
	size_t i;

	buf_init(&in, 1 << 20);
	buf_init(&simple, 1 << 20);
	buf_init(&relaxed, 1 << 20);
	for (i = 0; i < 100000; i++) {
		char c = (char)('a' + i % 26);

		buf_addc(&in, c);
		buf_addc(&simple, c);
		buf_addc(&relaxed, c);
		if (i % 1000 == 999 && i < 99999) {
			buf_add(&in, " \t ", 3);
			buf_add(&simple, " \t ", 3);
			buf_addc(&relaxed, ' ');
		}
	}
	buf_adds(&in, "  \r\n");
	buf_adds(&simple, "  \r\n");
	buf_adds(&relaxed, "\r\n");
	buf_adds(&in, "end\n\n");
	buf_adds(&simple, "end\r\n");
	buf_adds(&relaxed, "end\r\n");
	CHECK_INT_EQ(
	    buf_error(&in) | buf_error(&simple) | buf_error(&relaxed), 0);
	check_body("long line", CANON_SIMPLE, in.data, in.len, simple.data,
	    simple.len, -1, 997);
	check_body("long line", CANON_RELAXED, in.data, in.len, relaxed.data,
	    relaxed.len, -1, 997);
	check_body("long line l=", CANON_RELAXED, in.data, in.len, relaxed.data,
	    relaxed.len, 50000, 4999);
	buf_free(&in);
	buf_free(&simple);
	buf_free(&relaxed);
}

/* l=: only the first limit canonical bytes are hashed; the length still
 * counts them all. */
static void
test_limits(void)
{
	static const char ex[] = " C \r\nD \t E\r\n\r\n\r\n";
	static const int64_t limits[] = {0, 1, 3, 4, 5, 8, 9, 11, 12, 13, 1000};
	size_t i;

	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		check_body("rfc example l=", CANON_SIMPLE, ex, strlen(ex),
		    " C \r\nD \t E\r\n", 12, limits[i], 1);
		check_body("rfc example l=", CANON_RELAXED, ex, strlen(ex),
		    " C\r\nD E\r\n", 9, limits[i], 1);
	}
	check_body("empty l=0", CANON_SIMPLE, "", 0, "\r\n", 2, 0, 1);
	check_body("empty l=1", CANON_SIMPLE, "", 0, "\r\n", 2, 1, 1);
	check_body("empty l=0", CANON_RELAXED, "", 0, "", 0, 0, 1);
}

static void
test_api(void)
{
	struct arena *a = arena_new(4096);
	struct canon_body *cb = NULL;
	enum canon_alg alg = CANON_SIMPLE;
	uint8_t dg[CANON_DIGEST_MAX];
	size_t n = 0;

	CHECK_STR_EQ(canon_alg_name(CANON_SIMPLE), "simple");
	CHECK_STR_EQ(canon_alg_name(CANON_RELAXED), "relaxed");
	CHECK_INT_EQ(canon_alg_parse("Relaxed", 7, &alg), 0);
	CHECK_INT_EQ(alg, CANON_RELAXED);
	CHECK_INT_EQ(canon_alg_parse("simple", 6, &alg), 0);
	CHECK_INT_EQ(alg, CANON_SIMPLE);
	CHECK_INT_EQ(canon_alg_parse("simpl", 5, &alg), -EINVAL);
	CHECK_INT_EQ(canon_alg_parse("relaxedx", 8, &alg), -EINVAL);
	CHECK_INT_EQ(canon_alg_parse("relaxedx", 7, &alg), 0);
	CHECK_INT_EQ(
	    canon_body_new(a, CANON_RELAXED, CANON_SHA256, 100, &cb), 0);
	if (cb == NULL) {
		arena_free(a);
		return;
	}
	CHECK(canon_body_matches(cb, CANON_RELAXED, CANON_SHA256, 100));
	CHECK(!canon_body_matches(cb, CANON_RELAXED, CANON_SHA256, -1));
	CHECK(!canon_body_matches(cb, CANON_SIMPLE, CANON_SHA256, 100));
	CHECK_INT_EQ(canon_body_new(a, CANON_SIMPLE, CANON_SHA256, -1, &cb), 0);
	CHECK(canon_body_matches(cb, CANON_SIMPLE, CANON_SHA256, -1));
	CHECK(!canon_body_matches(cb, CANON_SIMPLE, CANON_SHA256, 0));
	CHECK_INT_EQ(canon_body_update(cb, "x\r\n", 3), 0);
	CHECK_INT_EQ(canon_body_length(cb), 1); /* the CRLF is held */
	CHECK_INT_EQ(canon_body_final(cb, dg, &n), 0);
	CHECK_INT_EQ(n, 32);
	CHECK_INT_EQ(canon_body_length(cb), 3);
	/* the OpenSSL contexts go with the arena (ASan checks the leak) */
	arena_free(a);
}

int
main(void)
{
	test_headers();
	test_bodies();
	test_long_lines();
	test_limits();
	test_api();
	return check_summary("canon");
}
