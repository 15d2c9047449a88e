/*
 * test_addr.c -- From address lists and SMTP reverse-paths: every address
 * returned in order, or an error with its reason; never one of several.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/addr.h"
#include "authmilter/arena.h"
#include "authmilter/bounds.h"
#include "check.h"

/* Expected lists are '|'-separated; NULL means "not checked". An error
 * case has domains == NULL and why set. */
struct from_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	const char *domains;
	const char *locals;
	const char *displays;
	const char *why;
};

static const struct from_case from_cases[] = {
    /* plain forms */
    {"plain", "a@example.com", 0, "example.com", "a", "", NULL},
    {"leading space", " a@example.com", 0, "example.com", "a", NULL, NULL},
    {"angle only", "<a@example.com>", 0, "example.com", "a", "", NULL},
    {"display atom", "Alice <alice@example.com>", 0, "example.com", "alice",
        "Alice", NULL},
    {"display words", "Alice  Q\tSmith <a@example.com>", 0, "example.com", NULL,
        "Alice Q Smith", NULL},
    {"display quoted comma", "\"Smith, Alice\" <a@example.com>", 0,
        "example.com", NULL, "Smith, Alice", NULL},
    {"display escaped quote", "\"Al \\\"the\\\" Pal\" <a@example.com>", 0,
        "example.com", NULL, "Al \"the\" Pal", NULL},
    {"display obs-phrase dot", "Alice Q. Smith <a@example.com>", 0,
        "example.com", NULL, "Alice Q. Smith", NULL},
    {"display quoted at and angle", "\"x@evil.example <y>\" <a@ok.example>", 0,
        "ok.example", "a", "x@evil.example <y>", NULL},
    {"quoted local with space", "\"john doe\"@example.com", 0, "example.com",
        "john doe", "", NULL},
    {"quoted local escaped quote", "\"a\\\"b\"@example.com", 0, "example.com",
        "a\"b", NULL, NULL},
    {"dotted local", "first.last@example.com", 0, "example.com", "first.last",
        NULL, NULL},
    {"obs local quoted and atom", "\"a b\".c@example.com", 0, "example.com",
        "a b.c", NULL, NULL},
    {"carrier local dots", "a..b.@docomo.example", 0, "docomo.example", "a..b.",
        NULL, NULL},
    {"cfws around dots", "a . b @ example . com", 0, "example.com", "a.b", NULL,
        NULL},
    /* comments */
    {"comment before", "(comment) a@example.com", 0, "example.com", "a", NULL,
        NULL},
    {"comment after", "a@example.com (comment)", 0, "example.com", "a", NULL,
        NULL},
    {"comments in angle", "Alice <(c)a@example.com(d)>", 0, "example.com", "a",
        "Alice", NULL},
    {"nested comments", "a@example.com (x (y (z)) w)", 0, "example.com", NULL,
        NULL, NULL},
    {"comment escaped paren", "a@example.com (x \\) y)", 0, "example.com", NULL,
        NULL, NULL},
    {"comment inside domain", "a@(c)example(d).com", 0, "example.com", NULL,
        NULL, NULL},
    {"comment in display", "Alice (the boss) Smith <a@example.com>", 0,
        "example.com", NULL, "Alice Smith", NULL},
    /* folding */
    {"folded CRLF", "Alice\r\n <a@example.com>", 0, "example.com", NULL,
        "Alice", NULL},
    {"folded bare LF", "Alice\n\t<a@example.com>", 0, "example.com", NULL,
        "Alice", NULL},
    {"folded quoted string", "\"Ali\r\n ce\" <a@example.com>", 0, "example.com",
        NULL, "Ali ce", NULL},
    {"folded in comment", "a@example.com (x\r\n y)", 0, "example.com", NULL,
        NULL, NULL},
    {"trailing CRLF", "a@example.com\r\n", 0, "example.com", NULL, NULL, NULL},
    /* groups and lists */
    {"group", "Friends: a@example.com, b@example.org;", 0,
        "example.com|example.org", "a|b", "|", NULL},
    {"group display names", "G: Alice <a@x.example>, \"B\" <b@y.example>;", 0,
        "x.example|y.example", NULL, "Alice|B", NULL},
    {"group then mailbox", "G: a@x.example;, c@z.example", 0,
        "x.example|z.example", NULL, NULL, NULL},
    {"group empty elements", "G: ,a@x.example,,;", 0, "x.example", NULL, NULL,
        NULL},
    {"empty group", "undisclosed-recipients:;", 0, NULL, NULL, NULL,
        "no address found"},
    {"empty group then mailbox", "undisclosed-recipients:;, a@example.com", 0,
        "example.com", NULL, NULL, NULL},
    {"unterminated group", "G: a@x.example", 0, NULL, NULL, NULL,
        "unterminated group (no ';')"},
    {"nested group", "A: B: c@d.example;;", 0, NULL, NULL, NULL,
        "missing '@' in address"},
    {"several addresses", "a@one.example, Bob <b@two.example>, c@three.example",
        0, "one.example|two.example|three.example", "a|b|c", "|Bob|", NULL},
    {"empty list elements", "a@b.example,,c@d.example", 0,
        "b.example|d.example", NULL, NULL, NULL},
    {"leading and trailing commas", ", a@b.example ,", 0, "b.example", NULL,
        NULL, NULL},
    {"same domain twice", "a@b.example, c@B.EXAMPLE", 0, "b.example|b.example",
        NULL, NULL, NULL},
    {"only cfws", "  (comment) ", 0, NULL, NULL, NULL, "no address found"},
    {"empty", "", 0, NULL, NULL, NULL, "no address found"},
    /* encoded words in display names */
    {"encoded B utf-8", "=?UTF-8?B?SsO8cmdlbg==?= <j@example.com>", 0,
        "example.com", NULL, "J\xc3\xbcrgen", NULL},
    {"encoded B unpadded", "=?utf-8?b?SsO8cmdlbg?= <j@example.com>", 0,
        "example.com", NULL, "J\xc3\xbcrgen", NULL},
    {"encoded Q iso-8859-1",
        "=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", 0,
        "vm1.ulg.ac.be", "PIRARD", "Andr\xe9 Pirard", NULL},
    {"encoded Q underscore", "=?iso-8859-1?q?a_b?= <x@y.example>", 0,
        "y.example", NULL, "a b", NULL},
    {"adjacent encoded words",
        "=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?= <x@y.example>", 0, "y.example",
        NULL, "ab", NULL},
    {"encoded word then word", "=?ISO-8859-1?Q?a?= b <x@y.example>", 0,
        "y.example", NULL, "a b", NULL},
    {"encoded in quoted string", "\"=?utf-8?B?SsO2?= Smith\" <j@example.com>",
        0, "example.com", NULL, "J\xc3\xb6 Smith", NULL},
    {"spoof B in quotes",
        "\"=?utf-8?B?UGF5UGFsIDxzZXJ2aWNlQHBheXBhbC5jb20+?=\" "
        "<evil@attacker.example>",
        0, "attacker.example", "evil", "PayPal <service@paypal.com>", NULL},
    {"spoof Q unquoted",
        "=?utf-8?Q?service=40paypal.com_=3C?= <evil@attacker.example>", 0,
        "attacker.example", "evil", "service@paypal.com <", NULL},
    {"spoof encoded word as addr-spec", "=?utf-8?Q?a=40paypal.com?=", 0, NULL,
        NULL, NULL, "missing '@' in address"},
    /* RFC 2047 section 5: no encoded word in an addr-spec */
    {"encoded word as local part",
        "=?utf-8?Q?ceo=40bank.example?=@evil.example", 0, NULL, NULL, NULL,
        "encoded word in an address"},
    {"encoded word in angle local part", "CEO <=?utf-8?B?Y2Vv?=@evil.example>",
        0, NULL, NULL, NULL, "encoded word in an address"},
    {"encoded Q lower-case hex", "=?iso-8859-1?q?caf=e9?= <a@b.example>", 0,
        "b.example", NULL, "caf\xe9", NULL},
    {"encoded charset with language", "=?utf-8*en?Q?hi?= <a@b.example>", 0,
        "b.example", NULL, "hi", NULL},
    {"encoded word bad encoding letter", "=?utf-8?X?hi?= <a@b.example>", 0,
        "b.example", NULL, "=?utf-8?X?hi?=", NULL},
    {"invalid encoded word kept", "=?utf-8?B?!!!?= <a@b.example>", 0,
        "b.example", NULL, "=?utf-8?B?!!!?=", NULL},
    {"bad Q hex kept", "=?utf-8?Q?a=ZZ?= <a@b.example>", 0, "b.example", NULL,
        "=?utf-8?Q?a=ZZ?=", NULL},
    {"encoded word inside token", "\"Foo=?utf-8?q?x?=\" <a@b.example>", 0,
        "b.example", NULL, "Foo=?utf-8?q?x?=", NULL},
    /* two addresses without a comma: an error, never one of them */
    {"comment then second address", "<a@b.example> (comment) c@d.example", 0,
        NULL, NULL, NULL, "trailing garbage after address"},
    {"two addr-specs no comma", "a@b.example c@d.example", 0, NULL, NULL, NULL,
        "trailing garbage after address"},
    {"addr-spec then angle", "a@b.example <c@d.example>", 0, NULL, NULL, NULL,
        "trailing garbage after address"},
    {"two angles", "<a@b.example><c@d.example>", 0, NULL, NULL, NULL,
        "trailing garbage after address"},
    {"group member no comma", "G: a@b.example c@d.example;", 0, NULL, NULL,
        NULL, "trailing garbage after address in group"},
    /* domains */
    {"domain literal", "a@[192.0.2.1]", 0, "[192.0.2.1]", NULL, NULL, NULL},
    {"domain literal ipv6", "<a@[IPv6:2001:db8::1]>", 0, "[ipv6:2001:db8::1]",
        NULL, NULL, NULL},
    /* fuzz repro literal-upper-case: a literal is lower-cased too */
    {"domain literal upper-case", "0 0 Alice\r\n <a@[192.B0.2.1]>,\r\n\tb@x", 0,
        "[192.b0.2.1]|x", "a|b", "0 0 Alice|", NULL},
    {"upper-case domain", "A@EXAMPLE.COM", 0, "example.com", "A", NULL, NULL},
    {"trailing dot", "a@example.com.", 0, "example.com", NULL, NULL, NULL},
    {"trailing dot in angle", "<a@Example.COM.>", 0, "example.com", NULL, NULL,
        NULL},
    {"idn a-label", "a@XN--bcher-kva.example", 0, "xn--bcher-kva.example", NULL,
        NULL, NULL},
    {"utf-8 domain",
        "a@B\xc3\x9c"
        "CHER.example",
        0,
        "b\xc3\x9c"
        "cher.example",
        NULL, NULL, NULL},
    {"utf-8 local", "j\xc3\xb6rg@example.com", 0, "example.com", "j\xc3\xb6rg",
        NULL, NULL},
    {"utf-8 quoted display", "\"J\xc3\xb6rg\" <j@example.com>", 0,
        "example.com", NULL, "J\xc3\xb6rg", NULL},
    {"underscore label", "a@_mail.example.com", 0, "_mail.example.com", NULL,
        NULL, NULL},
    {"obs-route", "<@a.example,@b.example:x@y.example>", 0, "y.example", "x",
        NULL, NULL},
    {"obs-route display", "Bob <@relay.example:bob@z.example>", 0, "z.example",
        "bob", "Bob", NULL},
    {"obs-route empty hops", "<,@a.example,,@b.example:x@y.example>", 0,
        "y.example", NULL, NULL, NULL},
    /* bad input */
    {"unterminated quote", "\"abc <a@b.example>", 0, NULL, NULL, NULL,
        "unterminated quoted string"},
    {"unterminated comment", "a@b.example (abc", 0, NULL, NULL, NULL,
        "unbalanced comment"},
    {"extra close paren", "a@b.example )", 0, NULL, NULL, NULL,
        "trailing garbage after address"},
    {"unterminated angle", "Alice <a@b.example", 0, NULL, NULL, NULL,
        "unterminated angle address"},
    {"garbage in angle", "<a@b.example c>", 0, NULL, NULL, NULL,
        "expected '>' after address"},
    {"missing at", "alice", 0, NULL, NULL, NULL, "missing '@' in address"},
    {"missing at in angle", "<alice>", 0, NULL, NULL, NULL,
        "missing '@' in address"},
    {"display only", "Alice Smith", 0, NULL, NULL, NULL,
        "missing '@' in address"},
    {"unquoted comma display", "Doe, John <j@example.com>", 0, NULL, NULL, NULL,
        "missing '@' in address"},
    {"empty local part", "@example.com", 0, NULL, NULL, NULL,
        "empty local part"},
    {"empty domain", "a@", 0, NULL, NULL, NULL, "empty domain"},
    {"empty domain in angle", "<a@>", 0, NULL, NULL, NULL, "empty domain"},
    {"only trailing dot domain", "a@.", 0, NULL, NULL, NULL, "empty domain"},
    {"two at signs", "a@b@c.example", 0, NULL, NULL, NULL,
        "more than one '@' in address"},
    {"empty angle", "<>", 0, NULL, NULL, NULL,
        "empty address in angle brackets"},
    {"nul byte", "a@exa\0mple.com", 14, NULL, NULL, NULL,
        "NUL byte in address"},
    {"control character", "a@exa\x01mple.com", 0, NULL, NULL, NULL,
        "control character in address"},
    {"del character", "\"a\x7f\" <a@b.example>", 0, NULL, NULL, NULL,
        "control character in address"},
    {"cr without lf", "Alice\r<a@b.example>", 0, NULL, NULL, NULL,
        "CR without LF"},
    {"cr at end", "a@b.example\r", 0, NULL, NULL, NULL, "CR without LF"},
    {"line break without wsp", "Alice\n<a@b.example>", 0, NULL, NULL, NULL,
        "line break not followed by whitespace"},
    {"empty label", "a@example..com", 0, NULL, NULL, NULL,
        "invalid domain: empty label"},
    {"leading dot domain", "a@.example.com", 0, NULL, NULL, NULL,
        "invalid domain: empty label"},
    {"bang in domain", "a@exa!mple.com", 0, NULL, NULL, NULL,
        "invalid character in domain"},
    {"quote after at", "a@\"x\"", 0, NULL, NULL, NULL,
        "invalid character in domain"},
    {"bad utf-8 domain", "a@\xff.example", 0, NULL, NULL, NULL,
        "invalid domain: bad UTF-8"},
    {"overlong utf-8 domain", "a@\xc0\xae.example", 0, NULL, NULL, NULL,
        "invalid domain: bad UTF-8"},
    {"unterminated domain literal", "a@[1.2.3.4", 0, NULL, NULL, NULL,
        "unterminated domain literal"},
    {"empty domain literal", "a@[]", 0, NULL, NULL, NULL,
        "empty domain literal"},
    {"semicolon after address", "a@b.example;", 0, NULL, NULL, NULL,
        "trailing garbage after address"},
    {"lone colon", ":", 0, NULL, NULL, NULL, "expected an address"},
    {"bad route", "<@a.example x@y.example>", 0, NULL, NULL, NULL,
        "invalid source route"},
};

/* the n-th '|'-separated field of list, into out */
static const char *
field(const char *list, size_t n, char *out, size_t size)
{
	const char *p = list, *e;

	while (n-- > 0 && (p = strchr(p, '|')) != NULL)
		p++;
	if (p == NULL)
		return NULL;
	e = strchr(p, '|');
	if (e == NULL)
		e = p + strlen(p);
	if ((size_t)(e - p) >= size)
		return NULL;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return out;
}

static size_t
field_count(const char *list)
{
	size_t n = 1;

	for (; *list != '\0'; list++)
		n += *list == '|';
	return n;
}

static void
check_fields(
    const char *name, const char *want, const struct addr_list *l, size_t which)
{
	char buf[256];
	size_t i;

	if (want == NULL)
		return;
	for (i = 0; i < l->count && i < field_count(want); i++) {
		const struct addr *a = &l->addrs[i];
		const char *got = which == 0   ? a->domain
		                  : which == 1 ? a->local
		                               : a->display;
		size_t len = which == 0   ? a->domain_len
		             : which == 1 ? a->local_len
		                          : a->display_len;

		CHECK(field(want, i, buf, sizeof(buf)) != NULL);
		CHECK_INT_EQ(strlen(got), len);
		if (strcmp(got, buf) != 0)
			fprintf(stderr, "case \"%s\" address %zu\n", name, i);
		CHECK_STR_EQ(got, buf);
	}
}

static void
test_from_cases(void)
{
	struct arena *a = arena_new(4096);
	size_t i;

	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const struct from_case *t = &from_cases[i];
		struct addr_list l = {NULL, 0};
		struct addr_error err = {NULL, 0};
		size_t len = t->len != 0 ? t->len : strlen(t->in);
		int r;

		arena_reset(a);
		r = addr_parse_from(a, t->in, len, &l, &err);
		if (t->domains == NULL) {
			if (r != -EBADMSG || err.why == NULL ||
			    strcmp(err.why, t->why) != 0)
				fprintf(stderr, "case \"%s\": r=%d why=%s\n",
				    t->name, r, err.why ? err.why : "-");
			CHECK_INT_EQ(r, -EBADMSG);
			CHECK_STR_EQ(err.why, t->why);
			CHECK(err.offset <= len);
			continue;
		}
		if (r != 0)
			fprintf(stderr, "case \"%s\": r=%d why=%s at %zu\n",
			    t->name, r, err.why ? err.why : "-", err.offset);
		CHECK_INT_EQ(r, 0);
		CHECK_INT_EQ(l.count, field_count(t->domains));
		check_fields(t->name, t->domains, &l, 0);
		check_fields(t->name, t->locals, &l, 1);
		check_fields(t->name, t->displays, &l, 2);
	}
	arena_free(a);
}

/* flags and the raw addr-spec */
static void
test_from_details(void)
{
	struct arena *a = arena_new(4096);
	const char *in = "Bob <\"b c\" . d @ (x) Example.COM. >, e@[10.0.0.1]";
	struct addr_list l;
	int r;

	r = addr_parse_from(a, in, strlen(in), &l, NULL);
	CHECK_INT_EQ(r, 0);
	CHECK_INT_EQ(l.count, 2);
	if (r == 0 && l.count == 2) {
		CHECK_STR_EQ(l.addrs[0].spec, "\"b c\" . d @ (x) Example.COM.");
		CHECK_INT_EQ(l.addrs[0].spec_len, 28);
		CHECK_STR_EQ(l.addrs[0].local, "b c.d");
		CHECK(l.addrs[0].local_quoted);
		CHECK(!l.addrs[0].domain_literal);
		CHECK_STR_EQ(l.addrs[1].spec, "e@[10.0.0.1]");
		CHECK(l.addrs[1].domain_literal);
		CHECK(!l.addrs[1].local_quoted);
	}
	arena_free(a);
}

/* error offsets point at the problem */
static void
test_from_offsets(void)
{
	static const struct {
		const char *in;
		size_t off;
	} cases[] = {
	    {"a@example..com", 2},
	    {"a@b, \"abc", 5},
	    {"a@b.example (abc", 12},
	    {"a@b.example c@d.example", 12},
	    {"Alice\r<a@b.example>", 5},
	    {"a@b@c", 3},
	};
	struct arena *a = arena_new(4096);
	struct addr_error err;
	struct addr_list l;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err.offset = 9999;
		CHECK_INT_EQ(addr_parse_from(
		                 a, cases[i].in, strlen(cases[i].in), &l, &err),
		    -EBADMSG);
		CHECK_INT_EQ(err.offset, cases[i].off);
	}
	arena_free(a);
}

/* deep comments: counted, not recursed; bounded work */
static void
test_from_deep_comments(void)
{
	struct arena *a = arena_new(4096);
	size_t n = 10000, i, len;
	struct addr_error err;
	struct addr_list l;
	char *s = malloc(2 * n + 32);

	CHECK(s != NULL);
	if (s == NULL)
		return;
	/* 10,000 unclosed '(' */
	len = 0;
	len += (size_t)sprintf(s, "a@b.example ");
	memset(s + len, '(', n);
	len += n;
	CHECK_INT_EQ(addr_parse_from(a, s, len, &l, &err), -EBADMSG);
	CHECK_STR_EQ(err.why, "unbalanced comment");
	CHECK_INT_EQ(err.offset, 12);
	/* 10,000 balanced */
	for (i = 0; i < n; i++)
		s[len + i] = ')';
	arena_reset(a);
	CHECK_INT_EQ(addr_parse_from(a, s, len + n, &l, &err), 0);
	CHECK_INT_EQ(l.count, 1);
	free(s);
	arena_free(a);
}

/* at most BOUND_ENCODED_WORDS are decoded; the rest stay as written */
static void
test_from_encoded_bound(void)
{
	struct arena *a = arena_new(4096);
	char in[2048], want[2048];
	struct addr_list l;
	size_t i, len = 0;

	for (i = 0; i <= BOUND_ENCODED_WORDS; i++)
		len += (size_t)sprintf(in + len, "=?us-ascii?q?x?= ");
	strcpy(in + len, "<a@b.example>");
	memset(want, 'x', BOUND_ENCODED_WORDS);
	strcpy(want + BOUND_ENCODED_WORDS, " =?us-ascii?q?x?=");
	CHECK_INT_EQ(addr_parse_from(a, in, strlen(in), &l, NULL), 0);
	if (l.count == 1)
		CHECK_STR_EQ(l.addrs[0].display, want);
	arena_free(a);
}

/* a list of n addresses "aN@dN.example, ..." */
static char *
many_addresses(size_t n, size_t *ret_len)
{
	char *s = malloc(n * 32 + 1);
	size_t i, len = 0;

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		len += (size_t)sprintf(
		    s + len, "%sa%zu@d%zu.example", i ? ", " : "", i, i);
	*ret_len = len;
	return s;
}

static void
test_from_bound(void)
{
	struct arena *a = arena_new(4096);
	struct addr_error err;
	struct addr_list l;
	size_t len;
	char *s;

	s = many_addresses(BOUND_FROM_ADDRESSES, &len);
	CHECK(s != NULL);
	CHECK_INT_EQ(addr_parse_from(a, s, len, &l, &err), 0);
	CHECK_INT_EQ(l.count, BOUND_FROM_ADDRESSES);
	if (l.count == BOUND_FROM_ADDRESSES)
		CHECK_STR_EQ(l.addrs[31].domain, "d31.example");
	free(s);
	arena_reset(a);
	s = many_addresses(BOUND_FROM_ADDRESSES + 1, &len);
	CHECK_INT_EQ(addr_parse_from(a, s, len, &l, &err), -EBADMSG);
	CHECK_STR_EQ(err.why, "too many addresses");
	free(s);
	arena_reset(a);
	/* about 100 KB of addresses */
	s = many_addresses(5000, &len);
	CHECK(len > 100000);
	CHECK_INT_EQ(addr_parse_from(a, s, len, &l, &err), -EBADMSG);
	CHECK_STR_EQ(err.why, "too many addresses");
	CHECK(err.offset > 0 && err.offset < 1000);
	free(s);
	arena_free(a);
}

static int
count_visit(void *ctx, const struct addr *a)
{
	size_t *n = ctx;

	if (a->domain_len == 0)
		return -EINVAL;
	(*n)++;
	return 0;
}

/* addr_parse_from_each has no address limit: it visits all of them,
 * and the leading ones of a field that then fails */
static void
test_from_each(void)
{
	struct arena *a = arena_new(4096);
	struct addr_error err;
	size_t len, n = 0;
	char *s;

	s = many_addresses(5000, &len);
	CHECK(s != NULL);
	CHECK_INT_EQ(addr_parse_from_each(a, s, len, count_visit, &n, &err), 0);
	CHECK_INT_EQ(n, 5000);
	free(s);
	n = 0;
	CHECK_INT_EQ(addr_parse_from_each(a, "a@b.example, c@d.example, x", 27,
	                 count_visit, &n, &err),
	    -EBADMSG);
	CHECK_STR_EQ(err.why, "missing '@' in address");
	CHECK_INT_EQ(n, 2);
	arena_free(a);
}

/* addr_shown_domains: what a reader may be shown. want: the
 * '|'-separated set of domains (each given at least once, nothing else
 * given), "" for none. */
static const struct {
	const char *name;
	const char *in;
	const char *want;
} shown_cases[] = {
    {"plain", "Bob <bob@example.com>", "example.com"},
    {"no dot is no domain", "root@localhost", ""},
    {"display name address", "\"ceo@bank.example\" <x@evil.example>",
        "bank.example|evil.example"},
    {"unquoted display address (does not parse)",
        "ceo@bank.example <x@evil.example>", "bank.example|evil.example"},
    {"encoded word in display name",
        "=?utf-8?Q?ceo=40bank.example?= <x@evil.example>",
        "bank.example|evil.example"},
    {"encoded word standing for the address",
        "=?utf-8?B?Y2VvQGJhbmsuZXhhbXBsZQ==?=", "bank.example"},
    {"encoded word glued to text", "x=?utf-8?Q?=40bank.example?=y",
        "bank.exampley"},
    {"adjacent encoded words joined",
        "=?utf-8?Q?ceo=40bank?= =?utf-8?Q?.example?= <x@evil.example>",
        "bank.example|evil.example"},
    {"utf-16 encoded word",
        "=?utf-16be?B?AGMAZQBvAEAAYgBhAG4AawAuAGUAeABhAG0AcABsAGU=?= "
        "<x@evil.example>",
        "bank.example|evil.example"},
    {"utf-7 encoded word", "=?utf-7?Q?ceo+AEA-bank.example?=", "bank.example"},
    {"ebcdic encoded word",
        "=?ibm037?B?g4WWfIKBlZJLhaeBlJeThQ==?=", "bank.example"},
    {"unknown charset scanned as is",
        "=?x-nothing?Q?ceo=40bank.example?=", "bank.example"},
    {"comment", "x@evil.example (ceo@bank.example)",
        "evil.example|bank.example"},
    {"quoted local part", "\"ceo@bank.example\"@evil.example",
        "bank.example|evil.example"},
    {"quoted pairs", "\"ceo\\@bank\\.example\" <x@evil.example>",
        "bank.example|evil.example"},
    {"group name", "\"ceo@bank.example\":;", "bank.example"},
    {"angle-addr as group name", "<ceo@bank.example>: x@evil.example;",
        "bank.example|evil.example"},
    {"mailbox without domain among others", "ceo@bank.example, x",
        "bank.example"},
    {"space after at", "ceo@ bank.example", "bank.example"},
    {"dots at the ends", "a@.bank.example.", "bank.example"},
    {"full-width at sign",
        "ceo\xef\xbc\xa0"
        "bank.example <x@e.example>",
        "bank.example|e.example"},
    {"small at sign",
        "ceo\xef\xb9\xab"
        "bank.example",
        "bank.example"},
    {"non-ASCII after the domain", "ceo@bank.example\xe2\x80\x99s",
        "bank.example\xe2\x80\x99s|bank.example"},
    {"IDN",
        "a@b\xc3\xbc"
        "cher.example",
        "b\xc3\xbc"
        "cher.example"},
    /* fuzz repro verdict/double-dot: an empty label ends the name */
    {"empty label after the domain",
        "\"Chief ceo@reject.example..example.6c\xff\" <x@e.example>",
        "reject.example|example.6c|e.example|example.6c\xff"},
    {"empty label in an IDN",
        "a@b\xc3\xbc"
        "cher.example..x",
        "b\xc3\xbc"
        "cher.example"},
};

struct shown {
	char got[16][300];
	size_t n;
};

static int
shown_add(void *ctx, const char *d, size_t len)
{
	struct shown *sh = ctx;

	if (strlen(d) != len || len >= sizeof(sh->got[0]) || sh->n == 16)
		return -EINVAL;
	memcpy(sh->got[sh->n++], d, len + 1);
	return 0;
}

static void
test_shown_domains(void)
{
	struct arena *a = arena_new(4096);
	char want[16][300];
	size_t i, j, k, nw;

	for (i = 0; i < sizeof(shown_cases) / sizeof(shown_cases[0]); i++) {
		struct shown sh = {.n = 0};
		int r;

		arena_reset(a);
		r = addr_shown_domains(a, shown_cases[i].in,
		    strlen(shown_cases[i].in), shown_add, &sh);
		CHECK_INT_EQ(r, 0);
		for (nw = 0; nw < 16 &&
		             field(shown_cases[i].want, nw, want[nw],
		                 sizeof(want[0])) != NULL &&
		             want[nw][0] != '\0';
		     nw++)
			;
		for (j = 0; j < nw; j++) {
			for (k = 0; k < sh.n && strcmp(sh.got[k], want[j]) != 0;
			     k++)
				;
			if (k == sh.n)
				fprintf(stderr, "case \"%s\": %s not given\n",
				    shown_cases[i].name, want[j]);
			CHECK(k < sh.n);
		}
		for (k = 0; k < sh.n; k++) {
			for (j = 0; j < nw && strcmp(sh.got[k], want[j]) != 0;
			     j++)
				;
			if (j == nw)
				fprintf(stderr, "case \"%s\": %s given\n",
				    shown_cases[i].name, sh.got[k]);
			CHECK(j < nw);
		}
	}
	/* no limit on encoded words: the one after 40 others counts */
	{
		struct shown sh = {.n = 0};
		char in[2048] = "";

		for (i = 0; i < 40; i++)
			strcat(in, "=?utf-8?Q?x?= ");
		strcat(in, "=?utf-8?Q?ceo=40bank.example?=");
		CHECK_INT_EQ(
		    addr_shown_domains(a, in, strlen(in), shown_add, &sh), 0);
		CHECK_INT_EQ(sh.n, 1);
		CHECK_STR_EQ(sh.got[0], "bank.example");
	}
	arena_free(a);
}

static void
test_from_domain_length(void)
{
	struct arena *a = arena_new(4096);
	struct addr_error err;
	struct addr_list l;
	char s[400];
	size_t i;

	/* 63-byte labels "xxx...x." until 253 bytes: ok; 254: too long */
	memcpy(s, "a@", 2);
	for (i = 0; i < 253; i++)
		s[2 + i] = (i % 64 == 63) ? '.' : 'x';
	CHECK_INT_EQ(addr_parse_from(a, s, 2 + 253, &l, &err), 0);
	CHECK_INT_EQ(l.count == 1 ? l.addrs[0].domain_len : 0, 253);
	s[2 + 253] = 'x';
	CHECK_INT_EQ(addr_parse_from(a, s, 2 + 254, &l, &err), -EBADMSG);
	CHECK_STR_EQ(err.why, "invalid domain: longer than 253 bytes");
	/* 253 bytes plus the trailing dot is fine */
	s[2 + 253] = '.';
	CHECK_INT_EQ(addr_parse_from(a, s, 2 + 254, &l, &err), 0);
	/* fuzz repro long-literal: a domain literal has the same cap */
	memcpy(s, "a@[", 3);
	memset(s + 3, 'z', 300);
	s[303] = ']';
	CHECK_INT_EQ(addr_parse_from(a, s, 304, &l, &err), -EBADMSG);
	CHECK_STR_EQ(err.why, "invalid domain: longer than 253 bytes");
	memcpy(s, "a@", 2);
	/* a 64-byte label */
	memset(s + 2, 'y', 64);
	CHECK_INT_EQ(addr_parse_from(a, s, 2 + 64, &l, &err), -EBADMSG);
	CHECK_STR_EQ(err.why, "invalid domain: label longer than 63");
	arena_free(a);
}

struct path_case {
	const char *name;
	const char *in;
	bool null_sender;
	const char *local; /* NULL: error */
	const char *domain;
	const char *why;
};

static const struct path_case path_cases[] = {
    {"null sender", "<>", true, "", "", NULL},
    {"null sender spaces", " <> ", true, "", "", NULL},
    {"plain", "<a@B.Example>", false, "a", "b.example", NULL},
    {"bare", "a@b.example", false, "a", "b.example", NULL},
    {"bare upper", "User@EXAMPLE.ORG", false, "User", "example.org", NULL},
    {"source route", "<@relay.example:a@b.example>", false, "a", "b.example",
        NULL},
    {"source route two hops", "<@r1.example,@r2.example:a@b.example>", false,
        "a", "b.example", NULL},
    {"quoted local", "<\"a b\"@b.example>", false, "a b", "b.example", NULL},
    {"address literal", "<a@[192.0.2.1]>", false, "a", "[192.0.2.1]", NULL},
    {"trailing dot", "<a@b.example.>", false, "a", "b.example", NULL},
    {"underscore", "<a@exa_mple.com>", false, "a", "exa_mple.com", NULL},
    {"utf-8",
        "<j\xc3\xb6rg@b\xc3\xbc"
        "cher.example>",
        false, "j\xc3\xb6rg",
        "b\xc3\xbc"
        "cher.example",
        NULL},
    {"empty", "", false, NULL, NULL, "no address found"},
    {"unterminated", "<a@b.example", false, NULL, NULL,
        "unterminated angle address"},
    {"missing open bracket", "a@b.example>", false, NULL, NULL,
        "trailing garbage after address"},
    {"empty domain", "<a@>", false, NULL, NULL, "empty domain"},
    {"missing at", "<postmaster>", false, NULL, NULL, "missing '@' in address"},
    {"empty local", "<@b.example>", false, NULL, NULL, "invalid source route"},
    {"bare empty local", "@b.example", false, NULL, NULL, "empty local part"},
    {"empty label", "<a@b..example>", false, NULL, NULL,
        "invalid domain: empty label"},
    {"bad character", "<a@b%example>", false, NULL, NULL,
        "invalid character in domain"},
    {"space in domain", "<a@exa mple.com>", false, NULL, NULL,
        "expected '>' after address"},
    {"comment not allowed", "<(c)a@b.example>", false, NULL, NULL,
        "expected an address"},
    {"line break", "<a@b.example>\r\n", false, NULL, NULL,
        "line break in path"},
    {"esmtp parameter left", "<a@b.example> SIZE=10", false, NULL, NULL,
        "trailing garbage after address"},
    {"two at", "<a@b@c.example>", false, NULL, NULL,
        "more than one '@' in address"},
    {"nul", "<a@b.example>\0", false, NULL, NULL, "NUL byte in address"},
};

static void
test_path_cases(void)
{
	struct arena *a = arena_new(4096);
	size_t i;

	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		const struct path_case *t = &path_cases[i];
		struct addr_error err = {NULL, 0};
		struct addr_path p;
		size_t len = strlen(t->in) + (strcmp(t->name, "nul") == 0);
		int r;

		arena_reset(a);
		r = addr_parse_path(a, t->in, len, &p, &err);
		if ((t->local == NULL) != (r != 0))
			fprintf(stderr, "path case \"%s\": r=%d why=%s\n",
			    t->name, r, err.why ? err.why : "-");
		if (t->local == NULL) {
			CHECK_INT_EQ(r, -EBADMSG);
			CHECK_STR_EQ(err.why, t->why);
			continue;
		}
		CHECK_INT_EQ(r, 0);
		if (r != 0)
			continue;
		CHECK_INT_EQ(p.null_sender, t->null_sender);
		CHECK_STR_EQ(p.mailbox.local, t->local);
		CHECK_STR_EQ(p.mailbox.domain, t->domain);
		CHECK_STR_EQ(p.mailbox.display, "");
	}
	arena_free(a);
}

int
main(void)
{
	test_from_cases();
	test_from_details();
	test_from_offsets();
	test_from_deep_comments();
	test_from_encoded_bound();
	test_from_bound();
	test_from_each();
	test_shown_domains();
	test_from_domain_length();
	test_path_cases();
	return check_summary("addr");
}
