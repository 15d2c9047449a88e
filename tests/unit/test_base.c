/*
 * test_base.c -- buf, arena, log quoting, msg, xalloc_try.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/bounds.h"
#include "authmilter/buf.h"
#include "authmilter/log.h"
#include "authmilter/msg.h"
#include "authmilter/xalloc.h"
#include "check.h"

/* Under ASan a request too large to serve would abort the test instead of
 * failing: let malloc return NULL, as it does without ASan. */
const char *__asan_default_options(void);
const char *
__asan_default_options(void)
{
	return "allocator_may_return_null=1";
}

static void
test_buf_cap(void)
{
	struct buf b;

	buf_init(&b, 8);
	buf_adds(&b, "abcd");
	buf_addf(&b, "%d", 123);
	CHECK_STR_EQ(buf_cstr(&b), "abcd123");
	CHECK_INT_EQ(buf_error(&b), 0);
	buf_adds(&b, "xy"); /* 9 > 8: refused, sticky */
	CHECK_INT_EQ(buf_error(&b), -ERANGE);
	CHECK_STR_EQ(buf_cstr(&b), "abcd123");
	buf_addc(&b, 'z'); /* would fit, but the error is sticky */
	CHECK_INT_EQ(b.len, 7);
	buf_reset(&b);
	CHECK_INT_EQ(buf_error(&b), 0);
	CHECK_STR_EQ(buf_cstr(&b), "");
	buf_free(&b);
	buf_free(NULL);
}

static int cleaned[3];
static int clean_order;

static void
note_clean(void *p)
{
	cleaned[(int *)p - cleaned] = ++clean_order;
}

static void
test_arena(void)
{
	struct arena *a = arena_new(256);
	char *big, *s;
	int i;

	CHECK(a != NULL);
	s = arena_strdup(a, "hello");
	CHECK_STR_EQ(s, "hello");
	big = arena_alloc(a, 10000); /* larger than a block */
	CHECK(big != NULL);
	memset(big, 'x', 10000);
	for (i = 0; i < 1000; i++)
		CHECK(((uintptr_t)arena_alloc(a, 3) & 7) == 0);
	for (i = 0; i < 3; i++)
		CHECK_INT_EQ(arena_cleanup(a, note_clean, &cleaned[i]), 0);
	arena_reset(a);
	/* reverse order of registration */
	CHECK_INT_EQ(cleaned[2], 1);
	CHECK_INT_EQ(cleaned[0], 3);
	CHECK_INT_EQ(arena_used(a), 0);
	CHECK_STR_EQ(arena_memdup(a, "ab\0c", 4) + 3, "c");
	arena_free(a);
	CHECK(arena_free(NULL) == NULL);
}

static void
test_log_quote(void)
{
	struct buf b;

	buf_init(&b, 100);
	log_quote(&b, "a\"b\\\r\n\xff", 7);
	CHECK_STR_EQ(buf_cstr(&b), "\"a\\\"b\\\\\\x0d\\x0a\\xff\"");
	buf_free(&b);
}

static void
test_msg_parse(void)
{
	static const char m1[] = "From: a@example.com\r\n"
	                         "Subject: one\n two\r\n" /* mixed line ends */
	                         "X-Empty:\r\n"
	                         "\r\n"
	                         "body\r\n";
	struct arena *a = arena_new(4096);
	struct msg m;
	const char *why;
	size_t off, pos = 0;
	int r;

	msg_init(&m, a);
	r = msg_parse(&m, m1, sizeof(m1) - 1, &off, &why);
	CHECK_INT_EQ(r, 0);
	CHECK_INT_EQ(m.count, 3);
	CHECK_STR_EQ(m.headers[1].name, "Subject");
	/* the bare LF of the fold became CRLF */
	CHECK_STR_EQ(m.headers[1].value, " one\r\n two");
	CHECK_STR_EQ(m.headers[2].value, "");
	CHECK_STR_EQ(m1 + off, "body\r\n");
	CHECK(msg_find(&m, "subject", &pos) == &m.headers[1]);
	CHECK(msg_find(&m, "subject", &pos) == NULL);
	CHECK_INT_EQ(msg_count(&m, "FROM"), 1);

	/* no empty line: all header, empty body */
	msg_init(&m, a);
	CHECK_INT_EQ(msg_parse(&m, "A: b", 4, &off, &why), 0);
	CHECK_INT_EQ(off, 4);

	/* bad input, each with a reason */
	msg_init(&m, a);
	CHECK_INT_EQ(msg_parse(&m, " x: y\r\n", 7, &off, &why), -EBADMSG);
	CHECK(why != NULL);
	msg_init(&m, a);
	CHECK_INT_EQ(msg_parse(&m, "no colon\r\n", 10, &off, &why), -EBADMSG);
	CHECK(why != NULL);
	msg_init(&m, a);
	CHECK_INT_EQ(msg_parse(&m, ": v\r\n", 5, &off, &why), -EBADMSG);
	CHECK_INT_EQ(msg_add_header(&m, "A\x01", 2, "", 0), -EINVAL);
	arena_free(a);
}

/* Past the bounds nothing fails: other fields are dropped and counted,
 * From and DKIM-Signature are kept in the reserve, and the fields RFC
 * 5322 allows once are counted by name even when dropped. */
static void
test_msg_bounds(void)
{
	struct arena *a = arena_new(65536);
	struct msg m;
	int i, r = 0;

	msg_init(&m, a);
	for (i = 0; i < 2000 && r == 0; i++)
		r = msg_add_header(&m, "X", 1, " y", 2);
	CHECK_INT_EQ(r, 0);
	CHECK_INT_EQ(m.count, 1000);
	CHECK_INT_EQ(m.dropped, 1000);
	CHECK_STR_EQ(m.limit, "more than 1000 header fields");
	CHECK(m.lost == NULL);
	/* past the count: From and DKIM-Signature still kept, Subject
	 * dropped but counted */
	CHECK_INT_EQ(msg_add_header(&m, "Subject", 7, " a", 2), 0);
	CHECK_INT_EQ(msg_add_header(&m, "from", 4, " x@y.example", 12), 0);
	CHECK_INT_EQ(msg_add_header(&m, "DKIM-Signature", 14, " v=1", 4), 0);
	CHECK_INT_EQ(m.count, 1002);
	CHECK_INT_EQ(msg_count(&m, "From"), 1);
	CHECK_INT_EQ(msg_count(&m, "Subject"), 0);
	CHECK_INT_EQ(msg_count_received(&m, "SUBJECT"), 1);
	CHECK_INT_EQ(msg_count_received(&m, "X"), 1000);
	CHECK_INT_EQ(m.dropped, 1001);
	/* the reserve has its own bounds: a From that does not fit is lost */
	for (i = 0; i < BOUND_HEADER_RESERVE_FIELDS && m.lost == NULL; i++)
		r = msg_add_header(&m, "From", 4, " x@y.example", 12);
	CHECK_INT_EQ(r, 0);
	CHECK(m.lost != NULL);
	CHECK_INT_EQ(m.reserve_count, BOUND_HEADER_RESERVE_FIELDS);
	CHECK_INT_EQ(msg_unique_index("date", 4), 10);
	CHECK_INT_EQ(msg_unique_index("Received", 8), -1);
	arena_free(a);
}

/* The field bounds hold for the stored value, after bare LF became CRLF
 * (a value of n bytes with k bare LFs is stored as n + k bytes); a field
 * past them is dropped (kept: 1, dropped: 0). */
static const struct {
	const char *name;
	size_t len;  /* value bytes as given */
	size_t step; /* every step-th byte a bare LF (0: none) */
	int kept;
} msg_field_cases[] = {
    {"at the bound, no LF", BOUND_HEADER_FIELD_BYTES - 1, 0, 1},
    {"past the bound, no LF", BOUND_HEADER_FIELD_BYTES, 0, 0},
    {"under the bound, grows past it", BOUND_HEADER_FIELD_BYTES - 1, 3, 0},
    {"under the bound, grows to near it", 76500, 3, 1},
    {"many bare LFs", BOUND_HEADER_FIELD_BYTES / 4 * 3, 2, 0},
};

static void
test_msg_field_bounds(void)
{
	struct arena *a = arena_new(65536);
	struct msg m;
	size_t i, k;
	char *v;
	int r;

	for (i = 0; i < sizeof(msg_field_cases) / sizeof(msg_field_cases[0]);
	     i++) {
		v = malloc(msg_field_cases[i].len);
		if (v == NULL)
			abort();
		for (k = 0; k < msg_field_cases[i].len; k++)
			v[k] = msg_field_cases[i].step != 0 &&
			               k % msg_field_cases[i].step ==
			                   msg_field_cases[i].step - 1
			           ? '\n'
			           : 'b';
		msg_init(&m, a);
		r = msg_add_header(&m, "X", 1, v, msg_field_cases[i].len);
		CHECK_INT_EQ(r, 0);
		CHECK_INT_EQ(m.count, msg_field_cases[i].kept);
		if ((int)m.count != msg_field_cases[i].kept)
			fprintf(
			    stderr, "  case \"%s\"\n", msg_field_cases[i].name);
		if (m.count == 1)
			CHECK(1 + m.headers[0].value_len <=
			      BOUND_HEADER_FIELD_BYTES);
		else
			CHECK_STR_EQ(
			    m.limit, "a header field larger than 100 KiB");
		/* a From that large cannot be kept anywhere */
		msg_init(&m, a);
		r = msg_add_header(&m, "From", 4, v, msg_field_cases[i].len);
		CHECK_INT_EQ(r, 0);
		if (msg_field_cases[i].kept == 0)
			CHECK(m.lost != NULL && m.count == 0);
		free(v);
	}
	/* the message bound counts stored bytes too */
	msg_init(&m, a);
	v = malloc(40000);
	if (v == NULL)
		abort();
	memset(v, '\n', 40000); /* 80000 bytes stored */
	for (i = 0; i < 100; i++)
		CHECK_INT_EQ(msg_add_header(&m, "X", 1, v, 40000), 0);
	CHECK(m.bytes <= BOUND_HEADER_BYTES);
	CHECK_INT_EQ(m.count, BOUND_HEADER_BYTES / 80001);
	CHECK_STR_EQ(m.limit, "header section larger than 1 MiB");
	free(v);
	arena_free(a);
}

/* authres_is_ours reads the authserv-id as a reader would: a forged
 * header must not survive by spelling our name another way. */
static const struct {
	const char *value;
	bool ours;
} authres_ours_cases[] = {
    {" mx.example.org; none", true},
    {"mx.example.org;none", true},
    {" \"mx.example.org\"; none", true},
    {" \"mx.example\\.org\"; none", true}, /* quoted-pair */
    {" \"\\m\\x.example.org\"; none", true},
    {" \"mx.example.org", true},               /* unterminated: read anyway */
    {" \"mx.exam\r\n ple.org\"; none", false}, /* the WSP stays */
    {" mx.example.org/1; none", true},         /* a token ends at '/' */
    {" mx.example.org.; none", true},          /* trailing dot */
    {" MX.EXAMPLE.ORG ; none", true},
    {" (a (nested) comment)\r\n\tmx.example.org; none", true},
    {" mx.example.org.evil; none", false},
    {" evil.mx.example.org; none", false},
    {" \"mx.example.org.evil\"; none", false},
    {" mx.example.or; none", false},
    {" mx_example.org; none", false},
    {" ; mx.example.org", false},
    {" (mx.example.org) other.example; none", false},
    {" (unclosed mx.example.org; none", false},
};

static void
test_authres_ours(void)
{
	size_t i;

	for (i = 0;
	     i < sizeof(authres_ours_cases) / sizeof(authres_ours_cases[0]);
	     i++) {
		const char *v = authres_ours_cases[i].value;
		bool got = authres_is_ours(v, strlen(v), "mx.example.org");

		if (got != authres_ours_cases[i].ours)
			fprintf(stderr, "  authres_is_ours(\"%s\")\n", v);
		CHECK(got == authres_ours_cases[i].ours);
	}
	/* an authserv-id longer than any host name is never ours */
	CHECK(!authres_is_ours(" x; none", 8,
	    "x"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "x"));
}

static void
test_authres(void)
{
	struct buf b;

	buf_init(&b, 1000);
	authres_begin(&b, "mx.example.org");
	authres_method(&b, "dkim", AUTH_FAIL, "body hash (bh=) mismatch");
	authres_prop(&b, "header", "d", "example.com");
	authres_prop(&b, "header", "b", "ab+/cd");
	CHECK_STR_EQ(buf_cstr(&b),
	    " mx.example.org;\r\n\tdkim=fail "
	    "(body hash \\(bh=\\) mismatch) header.d=example.com "
	    "header.b=\"ab+/cd\"");
	buf_free(&b);
	CHECK(authres_is_ours(
	    " mx.example.org; dkim=pass", 26, "MX.example.org"));
	CHECK(authres_is_ours(
	    " (c) mx.example.org 1; none", 27, "mx.example.org"));
	CHECK(!authres_is_ours(
	    " mx.example.org.evil; none", 26, "mx.example.org"));
	CHECK(!authres_is_ours("", 0, "mx.example.org"));
	test_authres_ours();
}

/* The reader: resinfos split at ';' outside comments and quoted strings,
 * then method, result and properties of each. */
static void
test_authres_read(void)
{
	static const char v[] =
	    " mx.example.org 1;\r\n\tdkim=pass (good; really) "
	    "header.d=example.com header.i=\"@a;b.example\";\r\n\t"
	    "spf = pass smtp.mailfrom=u@example.net;;  dmarc/1=fail "
	    "(p=reject; disposition=none) header.from=Example.COM ;";
	static const char *const want[] = {
	    ("dkim=pass (good; really) header.d=example.com "
	     "header.i=\"@a;b.example\""),
	    "spf = pass smtp.mailfrom=u@example.net",
	    "dmarc/1=fail (p=reject; disposition=none) header.from=Example.COM",
	};
	struct authres_span r, m, res, p;
	size_t pos = 0, n = 0;

	while (authres_next_resinfo(v, strlen(v), &pos, &r)) {
		CHECK(n < 3);
		if (n >= 3)
			break;
		CHECK_MEM_EQ(r.s, r.len, want[n], strlen(want[n]));
		CHECK(authres_resinfo_method(r.s, r.len, &m, &res));
		n++;
		if (n == 1) {
			CHECK_MEM_EQ(m.s, m.len, "dkim", 4);
			CHECK(authres_resinfo_prop(
			    r.s, r.len, "header", "i", &p));
			CHECK_MEM_EQ(p.s, p.len, "@a;b.example", 12);
			CHECK(authres_resinfo_prop(
			    r.s, r.len, "HEADER", "d", &p));
			CHECK_MEM_EQ(p.s, p.len, "example.com", 11);
			CHECK(!authres_resinfo_prop(
			    r.s, r.len, "header", "s", &p));
		} else if (n == 2) {
			CHECK_MEM_EQ(res.s, res.len, "pass", 4);
			CHECK(authres_resinfo_prop(
			    r.s, r.len, "smtp", "mailfrom", &p));
			CHECK_MEM_EQ(p.s, p.len, "u@example.net", 13);
		} else {
			CHECK_MEM_EQ(m.s, m.len, "dmarc", 5);
			CHECK_MEM_EQ(res.s, res.len, "fail", 4);
		}
	}
	CHECK_INT_EQ(n, 3);
	pos = 0;
	CHECK(!authres_next_resinfo(" mx.example.org; none", 21, &pos, &r));
	pos = 0;
	CHECK(!authres_next_resinfo(" mx.example.org", 15, &pos, &r));
	CHECK(!authres_resinfo_method("=pass", 5, &m, &res));
	CHECK(!authres_resinfo_method("dkim pass", 9, &m, &res));
	CHECK(!authres_resinfo_method("dkim=", 5, &m, &res));
	/* unterminated comments and quotes end at the end, not beyond */
	pos = 0;
	CHECK(authres_next_resinfo(" a; dkim=pass (x; \"y", 20, &pos, &r));
	CHECK_INT_EQ(r.len, 16);
	CHECK(!authres_next_resinfo(" a; dkim=pass (x; \"y", 20, &pos, &r));
	CHECK(!authres_resinfo_prop(
	    "dkim=pass header.d=\"x", 21, "header", "s", &p));
}

/* what the functions run by xalloc_try allocated before failing (kept
 * reachable, freed by the test) */
static char *xt_kept[2];

static int
xt_fails(void *arg)
{
	int *steps = arg;

	xt_kept[0] = xstrdup("before the failure");
	(*steps)++;
	xt_kept[1] = xmalloc(SIZE_MAX / 2); /* cannot be served */
	(*steps)++;
	return 7;
}

static int
xt_works(void *arg)
{
	int *steps = arg;
	char *p = xmalloc(64);

	(*steps)++;
	free(p);
	return 7;
}

static int
xt_nested(void *arg)
{
	int *steps = arg, inner;

	inner = xalloc_try(xt_fails, steps);
	(*steps) += 10;
	return inner == -ENOMEM ? 5 : 0;
}

static void
test_xalloc_try(void)
{
	int steps = 0;

	CHECK_INT_EQ(xalloc_try(xt_works, &steps), 7);
	CHECK_INT_EQ(steps, 1);
	steps = 0;
	CHECK_INT_EQ(xalloc_try(xt_fails, &steps), -ENOMEM);
	CHECK_INT_EQ(steps, 1);
	CHECK(xt_kept[0] != NULL && xt_kept[1] == NULL);
	free(xt_kept[0]);
	/* the inner try catches; the outer one goes on */
	steps = 0;
	CHECK_INT_EQ(xalloc_try(xt_nested, &steps), 5);
	CHECK_INT_EQ(steps, 11);
	free(xt_kept[0]);
	/* and after a caught failure, a try works again */
	steps = 0;
	CHECK_INT_EQ(xalloc_try(xt_works, &steps), 7);
}

int
main(void)
{
	test_xalloc_try();
	test_buf_cap();
	test_arena();
	test_log_quote();
	test_msg_parse();
	test_msg_bounds();
	test_msg_field_bounds();
	test_authres();
	test_authres_read();
	return check_summary("base");
}
