/*
 * test_spf.c -- spf: macro expansion (RFC 7208 section 7.4 examples),
 * record syntax errors, processing limits and the DNS queries they
 * bound, IPv6 and IPv4-mapped clients, identities, explanation,
 * Received-SPF.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "authmilter/arena.h"
#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/spf.h"
#include "check.h"

struct zrec {
	const char *name;
	enum dns_type type;
	const char *data; /* TXT: raw text; others: presentation */
};

#define ZEND                                                                   \
	{                                                                      \
		NULL, 0, NULL                                                  \
	}

static struct dns_resolver *
zone(const struct zrec *r)
{
	struct dns_resolver *z = dns_zone_new();
	struct dns_rr rr = {0};

	for (; r->name != NULL; r++) {
		if (r->type != DNS_T_TXT) {
			CHECK_INT_EQ(
			    dns_zone_add(z, r->name, r->type, r->data), 0);
			continue;
		}
		rr.data = (const uint8_t *)r->data;
		rr.len = strlen(r->data);
		CHECK_INT_EQ(dns_zone_add_rr(z, r->name, DNS_T_TXT, &rr), 0);
	}
	return z;
}

/* Evaluate the MAIL FROM identity; NULL on an internal error (counted). */
static struct spf_result *
eval(struct dns_resolver *z, struct arena *a, const char *ip, const char *from,
    const char *helo)
{
	struct spf_request req = {0};
	struct spf_result *res = NULL;

	CHECK_INT_EQ(spf_ip_parse(ip, &req.ip), 0);
	req.dns = z;
	req.mail_from = from;
	req.helo = helo;
	req.now = 1234567890;
	CHECK_INT_EQ(spf_check(&req, SPF_MFROM, a, &res), 0);
	CHECK(res != NULL);
	return res;
}

static bool
contains(const char *s, const char *part)
{
	return s != NULL && strstr(s, part) != NULL;
}

/* ---- macros ---- */

static const char *
fixed_ptr(void *ctx, const char *domain)
{
	return "mx.example.org";
}

static void
test_macro_rfc_examples(void)
{
	static const struct {
		const char *in, *out;
		const char *ip;
		bool exp; /* explanation text, not a domain-spec */
	} cases[] = {
	    /* RFC 7208 section 7.4 */
	    {"%{s}", "strong-bad@email.example.com", NULL, false},
	    {"%{o}", "email.example.com", NULL, false},
	    {"%{d}", "email.example.com", NULL, false},
	    {"%{d4}", "email.example.com", NULL, false},
	    {"%{d3}", "email.example.com", NULL, false},
	    {"%{d2}", "example.com", NULL, false},
	    {"%{d1}", "com", NULL, false},
	    {"%{dr}", "com.example.email", NULL, false},
	    {"%{d2r}", "example.email", NULL, false},
	    {"%{l}", "strong-bad", NULL, false},
	    {"%{l-}", "strong.bad", NULL, false},
	    {"%{lr}", "strong-bad", NULL, false},
	    {"%{lr-}", "bad.strong", NULL, false},
	    {"%{l1r-}", "strong", NULL, false},
	    {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com",
	        NULL, false},
	    {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com", NULL,
	        false},
	    {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	        "bad.strong.lp.3.2.0.192.in-addr._spf.example.com", NULL,
	        false},
	    {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	        "3.2.0.192.in-addr.strong.lp._spf.example.com", NULL, false},
	    {"%{d2}.trusted-domains.example.net",
	        "example.com.trusted-domains.example.net", NULL, false},
	    /* (nibbles in upper case, as the OpenSPF suite expects; DNS
	     * ignores case) */
	    {"%{ir}.%{v}._spf.%{d2}",
	        "1.0.B.C.0.0.0.0.0.0.0.0.0.0.0.0.0."
	        "0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.ip6._spf.example.com",
	        "2001:db8::cb01", false},
	    /* escapes, upper case, p, h, several delimiters */
	    {"a%%b%_c%-d", "a%b c%20d", NULL, false},
	    {"%{L}", "strong-bad", NULL, false},
	    {"%{S}", "strong-bad%40email.example.com", NULL, false},
	    {"%{p}.%{h}", "mx.example.org.helo.example.net", NULL, false},
	    {"%{l2r+-}", "bad.strong", NULL, false},
	    {"%{d999}", "email.example.com", NULL, false},
	    {"%{v}", "ip6", "2001:db8::1", false},
	    /* explanation only: c, r, t and spaces */
	    {"%{c} at %{t} by %{r}",
	        "192.0.2.3 at 1234567890 by "
	        "mx.example.net",
	        NULL, true},
	    {"%{c}", "2001:db8::cb01", "2001:db8::cb01", true},
	};
	struct spf_ip ip4, ip6;
	struct spf_macro_env env = {
	    .sender = "strong-bad@email.example.com",
	    .local = "strong-bad",
	    .sender_domain = "email.example.com",
	    .domain = "email.example.com",
	    .helo = "helo.example.net",
	    .receiver = "mx.example.net",
	    .now = 1234567890,
	    .validated_name = fixed_ptr,
	};
	const char *why;
	struct buf b;
	size_t i;

	CHECK_INT_EQ(spf_ip_parse("192.0.2.3", &ip4), 0);
	buf_init(&b, BOUND_SPF_MACRO_BYTES);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		env.ip = &ip4;
		if (cases[i].ip != NULL) {
			CHECK_INT_EQ(spf_ip_parse(cases[i].ip, &ip6), 0);
			env.ip = &ip6;
		}
		buf_reset(&b);
		CHECK_INT_EQ(
		    spf_macro_expand(&env, cases[i].in, strlen(cases[i].in),
		        cases[i].exp ? SPF_MACRO_EXP : SPF_MACRO_DOMAIN, &b,
		        &why),
		    0);
		CHECK_STR_EQ(buf_cstr(&b), cases[i].out);
	}
	buf_free(&b);
}

static void
test_macro_errors(void)
{
	static const struct {
		const char *in;
		enum spf_macro_kind kind;
		const char *why;
	} cases[] = {
	    {"%{z}", SPF_MACRO_DOMAIN, "unknown macro letter"},
	    {"foo%", SPF_MACRO_DOMAIN, "at the end"},
	    {"%x", SPF_MACRO_DOMAIN, "not followed"},
	    {"%{d", SPF_MACRO_DOMAIN, "missing '}'"},
	    {"%{", SPF_MACRO_DOMAIN, "unterminated"},
	    {"%{d0}", SPF_MACRO_DOMAIN, "zero"},
	    {"%{d2x}", SPF_MACRO_DOMAIN, "missing '}'"},
	    {"%{c}", SPF_MACRO_DOMAIN, "c, r or t"},
	    {"%{r}", SPF_MACRO_DOMAIN, "c, r or t"},
	    {"%{t}", SPF_MACRO_DOMAIN, "c, r or t"},
	    {"a b", SPF_MACRO_DOMAIN, "not allowed"},
	    {"a\x80", SPF_MACRO_EXP, "not allowed"},
	    {"a\tb", SPF_MACRO_EXP, "not allowed"},
	};
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		CHECK_INT_EQ(spf_macro_check(cases[i].in, strlen(cases[i].in),
		                 cases[i].kind, NULL, &why),
		    -EINVAL);
		if (!contains(why, cases[i].why))
			CHECK_STR_EQ(why, cases[i].why);
	}
	CHECK_INT_EQ(
	    spf_macro_check("%{c} %{r} %{t}", 14, SPF_MACRO_EXP, NULL, &why),
	    0);
}

/* A value longer than the cap: -ERANGE, not a crash or a cut value. */
static void
test_macro_cap(void)
{
	struct spf_ip ip;
	char big[600];
	struct spf_macro_env env = {0};
	const char *why;
	struct buf b;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_INT_EQ(spf_ip_parse("192.0.2.1", &ip), 0);
	env.sender = env.local = env.sender_domain = env.domain = big;
	env.ip = &ip;
	buf_init(&b, 1000);
	CHECK_INT_EQ(
	    spf_macro_expand(&env, "%{s}%{s}", 8, SPF_MACRO_DOMAIN, &b, &why),
	    -ERANGE);
	buf_free(&b);
}

/* ---- records: syntax errors are permerror naming the term ---- */

static void
test_syntax_errors(void)
{
	static const struct {
		const char *record, *why;
	} cases[] = {
	    {"v=spf1 foo:bar -all", "unknown mechanism in \"foo:bar\""},
	    {"v=spf1 ip4:192.0.2.0/33 -all", "bad CIDR length in "
	                                     "\"ip4:192.0.2.0/33\""},
	    {"v=spf1 ip6:2001:db8::/129", "\"ip6:2001:db8::/129\""},
	    {"v=spf1 a/33", "bad CIDR length in \"a/33\""},
	    {"v=spf1 mx//129", "bad CIDR length"},
	    {"v=spf1 a/024", "\"a/024\""},
	    {"v=spf1 ip4:192.0.2", "bad IPv4 network in "
	                           "\"ip4:192.0.2\""},
	    {"v=spf1 ip4:192.0.2.256", "bad IPv4 network"},
	    {"v=spf1 ip4:192.0.2.1:25", "bad IPv4 network"},
	    {"v=spf1 ip4:192.0.2.01", "bad IPv4 network"},
	    {"v=spf1 ip4", "bad IPv4 network"},
	    {"v=spf1 ip6:2001::db8::1", "bad IPv6 network in "
	                                "\"ip6:2001::db8::1\""},
	    {"v=spf1 ip4:192.0.2.1//32", "bad CIDR length"},
	    {"v=spf1 include: -all", "empty domain-spec in "
	                             "\"include:\""},
	    {"v=spf1 include -all", "domain-spec required"},
	    {"v=spf1 exists", "domain-spec required"},
	    {"v=spf1 a:%{z}.example.com", "unknown macro letter"},
	    {"v=spf1 a:example.com%", "'%' at the end"},
	    {"v=spf1 exists:%{c}.example.com", "c, r or t"},
	    {"v=spf1 a:%{d0}.example.com", "zero"},
	    {"v=spf1 a:foo-bar -all", "top label in \"a:foo-bar\""},
	    {"v=spf1 a:example.123", "top label"},
	    {"v=spf1 a:example.-com", "top label"},
	    {"v=spf1 mx:example.com:8080", "top label"},
	    {"v=spf1 redirect=a.example.com redirect=b.example.com",
	        "modifier given twice in \"redirect=b.example.com\""},
	    {"v=spf1 exp=a.example.com -all exp=b.example.com",
	        "modifier given twice"},
	    {"v=spf1 -all exp=", "empty domain-spec"},
	    {"v=spf1 redirect=-all", "top label"},
	    {"v=spf1 =all", "modifier without a name"},
	    {"v=spf1 1x=y", "unknown mechanism"},
	    {"v=spf1 foo=%abc", "'%' not followed"},
	    {"v=spf1 -all.", "\"all\" takes no argument"},
	    {"v=spf1 ?all/24", "\"all\" takes no argument"},
	    {"v=spf1 ptr/24", "unexpected text"},
	    {"v=spf1 redirect:example.com", "unknown mechanism"},
	    {"v=spf1 ip4:192.0.2.1\t-all", "byte not allowed"},
	    {"v=spf1 a:ex\xc3\xa9.example.com", "byte not allowed"},
	};
	struct arena *a = arena_new(4096);
	struct dns_resolver *z;
	struct spf_result *res;
	struct zrec recs[] = {
	    {"bad.example.com", DNS_T_TXT, NULL},
	    ZEND,
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		recs[0].data = cases[i].record;
		z = zone(recs);
		res = eval(z, a, "192.0.2.1", "user@bad.example.com",
		    "mx.example.com");
		if (res != NULL) {
			CHECK_INT_EQ(res->result, AUTH_PERMERROR);
			if (!contains(res->reason, cases[i].why))
				CHECK_STR_EQ(res->reason, cases[i].why);
			/* the whole record is checked before any lookup */
			CHECK_INT_EQ(res->queries, 1);
			CHECK(res->mechanism == NULL);
		}
		dns_resolver_free(z);
		arena_reset(a);
	}
	arena_free(a);
}

/* The parser on its own: terms, qualifiers, CIDR lengths. */
static void
test_parse(void)
{
	static const char rec[] =
	    "V=SPF1 +a:%{d}.example.com/24//64 "
	    "~mx -ip4:192.0.2.0/24 ?ip6:2001:db8::/32 ptr exists:x.%{i}.org "
	    "include:_spf.example.com all redirect=r.example.com "
	    "exp=e.%{d} x-unknown=%{l}";
	struct arena *a = arena_new(4096);
	struct spf_record *r = NULL;
	const char *why = NULL;

	CHECK_INT_EQ(spf_record_parse(a, rec, strlen(rec), &r, &why), 0);
	if (r != NULL) {
		CHECK_INT_EQ(r->nterms, 8);
		CHECK_INT_EQ(r->terms[0].mech, SPF_M_A);
		CHECK_INT_EQ(r->terms[0].cidr4, 24);
		CHECK_INT_EQ(r->terms[0].cidr6, 64);
		CHECK_MEM_EQ(r->terms[0].spec, r->terms[0].spec_len,
		    "%{d}.example.com", 16);
		CHECK_INT_EQ(r->terms[1].qualifier, AUTH_SOFTFAIL);
		CHECK(r->terms[1].spec == NULL);
		CHECK_INT_EQ(r->terms[2].qualifier, AUTH_FAIL);
		CHECK_INT_EQ(r->terms[2].cidr4, 24);
		CHECK_INT_EQ(r->terms[3].mech, SPF_M_IP6);
		CHECK_INT_EQ(r->terms[3].cidr6, 32);
		CHECK_INT_EQ(r->terms[7].mech, SPF_M_ALL);
		CHECK_MEM_EQ(r->redirect, r->redirect_len, "r.example.com", 13);
		CHECK_MEM_EQ(r->exp, r->exp_len, "e.%{d}", 6);
	}
	CHECK(spf_record_is_spf((const uint8_t *)"v=spf1", 6));
	CHECK(!spf_record_is_spf((const uint8_t *)"v=spf10", 7));
	CHECK(!spf_record_is_spf((const uint8_t *)"v=spf", 5));
	CHECK_INT_EQ(spf_record_parse(a, "v=spf2 -all", 11, &r, &why), -EINVAL);
	arena_free(a);
}

/* ---- limits: every loop ends, queries stay bounded ---- */

static void
test_limits(void)
{
	static const struct {
		const char *name, *from, *ip;
		enum auth_result result;
		const char *why;
		unsigned max_queries;
	} cases[] = {
	    {"include chain longer than 10", "u@c0.example.com", "192.0.2.1",
	        AUTH_PERMERROR, "more than 10 DNS lookups", 11},
	    {"include of itself", "u@self.example.com", "192.0.2.1",
	        AUTH_PERMERROR, "more than 10 DNS lookups", 11},
	    {"redirect loop", "u@loop1.example.com", "192.0.2.1",
	        AUTH_PERMERROR, "more than 10 DNS lookups", 11},
	    {"three void lookups", "u@void.example.com", "192.0.2.1",
	        AUTH_PERMERROR, "more than 2 void lookups", 4},
	    {"two void lookups", "u@void2.example.com", "192.0.2.1",
	        AUTH_NEUTRAL, "default neutral", 3},
	    {"eleven MX records", "u@mx11.example.com", "192.0.2.1",
	        AUTH_PERMERROR, "more than 10 MX records", 2},
	    {"ten mx terms of ten hosts", "u@mxmax.example.com", "192.0.2.99",
	        AUTH_FAIL, "\"-all\"", 1 + 10 * 11 + 1},
	    {"eleven DNS terms", "u@terms.example.com", "192.0.2.1",
	        AUTH_PERMERROR, "more than 10 DNS lookups (at \"a\")", 11},
	    {"%{p} in every term: one PTR walk", "u@pmacro.example.com",
	        "192.0.2.1", AUTH_PASS, "exists:%{p}.j.example.com",
	        1 + 1 + 10 + 3},
	    {"ptr names beyond 10 ignored", "u@ptr.example.com", "192.0.2.1",
	        AUTH_FAIL, "\"-all\"", 1 + 1 + 10},
	};
	static const struct zrec base[] = {
	    {"c0.example.com", DNS_T_TXT, "v=spf1 include:c1.example.com"},
	    {"c1.example.com", DNS_T_TXT, "v=spf1 include:c2.example.com"},
	    {"c2.example.com", DNS_T_TXT, "v=spf1 include:c3.example.com"},
	    {"c3.example.com", DNS_T_TXT, "v=spf1 include:c4.example.com"},
	    {"c4.example.com", DNS_T_TXT, "v=spf1 include:c5.example.com"},
	    {"c5.example.com", DNS_T_TXT, "v=spf1 include:c6.example.com"},
	    {"c6.example.com", DNS_T_TXT, "v=spf1 include:c7.example.com"},
	    {"c7.example.com", DNS_T_TXT, "v=spf1 include:c8.example.com"},
	    {"c8.example.com", DNS_T_TXT, "v=spf1 include:c9.example.com"},
	    {"c9.example.com", DNS_T_TXT, "v=spf1 include:c10.example.com"},
	    {"c10.example.com", DNS_T_TXT, "v=spf1 include:c11.example.com"},
	    {"c11.example.com", DNS_T_TXT, "v=spf1 +all"},
	    {"self.example.com", DNS_T_TXT,
	        "v=spf1 include:self.example.com -all"},
	    {"loop1.example.com", DNS_T_TXT,
	        "v=spf1 redirect=loop2.example.com"},
	    {"loop2.example.com", DNS_T_TXT,
	        "v=spf1 redirect=loop1.example.com"},
	    {"void.example.com", DNS_T_TXT,
	        "v=spf1 a:n1.example.com "
	        "mx:n2.example.com exists:n3.example.com a:n4.example.com "
	        "-all"},
	    {"void2.example.com", DNS_T_TXT,
	        "v=spf1 a:n1.example.com "
	        "a:n2.example.com"},
	    {"mx11.example.com", DNS_T_TXT, "v=spf1 mx -all"},
	    {"terms.example.com", DNS_T_TXT,
	        "v=spf1 a a a a a a a a a a a -all"},
	    {"terms.example.com", DNS_T_A, "192.0.2.200"},
	    {"mxmax.example.com", DNS_T_TXT,
	        "v=spf1 mx mx mx mx mx mx mx mx mx mx -all exp=e.%{d}"},
	    {"pmacro.example.com", DNS_T_TXT,
	        "v=spf1 "
	        "exists:%{p}.a.example.com exists:%{p}.b.example.com "
	        "exists:%{p}.j.example.com -all"},
	    {"h0.example.com.j.example.com", DNS_T_A, "127.0.0.2"},
	    {"ptr.example.com", DNS_T_TXT, "v=spf1 ptr -all"},
	    ZEND,
	};
	struct arena *a = arena_new(4096);
	struct dns_resolver *z = zone(base);
	struct spf_result *res;
	char name[64], data[96];
	unsigned long before;
	size_t i;
	int j;

	for (j = 0; j < 11; j++) {
		snprintf(data, sizeof(data), "%d h%d.example.com.", j, j);
		CHECK_INT_EQ(
		    dns_zone_add(z, "mx11.example.com", DNS_T_MX, data), 0);
		if (j < 10)
			CHECK_INT_EQ(dns_zone_add(z, "mxmax.example.com",
			                 DNS_T_MX, data),
			    0);
		snprintf(name, sizeof(name), "h%d.example.com", j);
		CHECK_INT_EQ(dns_zone_add(z, name, DNS_T_A, "192.0.2.1"), 0);
		/* 11 PTR names, all valid, none under ptr.example.com but
		 * the last */
		snprintf(data, sizeof(data), "%s.",
		    j == 10 ? "x.ptr.example.com" : name);
		CHECK_INT_EQ(
		    dns_zone_add(z, "1.2.0.192.in-addr.arpa", DNS_T_PTR, data),
		    0);
	}
	CHECK_INT_EQ(
	    dns_zone_add(z, "x.ptr.example.com", DNS_T_A, "192.0.2.1"), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		before = z->queries;
		res = eval(z, a, cases[i].ip, cases[i].from, "mx.example.com");
		if (res == NULL)
			continue;
		if (res->result != cases[i].result)
			fprintf(stderr, "case \"%s\"\n", cases[i].name);
		CHECK_INT_EQ(res->result, cases[i].result);
		if (!contains(res->reason, cases[i].why))
			CHECK_STR_EQ(res->reason, cases[i].why);
		if (res->queries > cases[i].max_queries)
			fprintf(stderr, "case \"%s\": %u queries\n",
			    cases[i].name, res->queries);
		CHECK(res->queries <= cases[i].max_queries);
		/* what spf counts is what the resolver answered */
		CHECK_INT_EQ(z->queries - before, res->queries);
		CHECK(res->lookups <= SPF_MAX_LOOKUPS + 1);
		arena_reset(a);
	}
	dns_resolver_free(z);
	arena_free(a);
}

/* RFC 7208 section 7.3: a name longer than 253 bytes after expansion
 * loses labels on the left. */
static void
test_long_expansion(void)
{
	static const struct zrec base[] = {
	    {"long.example.com", DNS_T_TXT,
	        "v=spf1 exists:%{l}.%{l}.bl.example.com -all"},
	    ZEND,
	};
	struct arena *a = arena_new(4096);
	struct dns_resolver *z = zone(base);
	struct spf_result *res;
	char local[400], from[500], full[900];
	const char *cut;
	size_t n = 0;
	int i;

	/* a 300-byte local-part of short labels */
	for (i = 0; n < 300; i++)
		n += (size_t)snprintf(local + n, sizeof(local) - n, "%sl%02d",
		    i > 0 ? "." : "", i % 100);
	snprintf(from, sizeof(from), "%s@long.example.com", local);
	snprintf(full, sizeof(full), "%s.%s.bl.example.com", local, local);
	for (cut = full; strlen(cut) > 253;)
		cut = strchr(cut, '.') + 1;
	CHECK(strlen(full) > 600);
	CHECK(strlen(cut) <= 253 && strlen(cut) > 240);
	CHECK_INT_EQ(dns_zone_add(z, cut, DNS_T_A, "127.0.0.2"), 0);
	res = eval(z, a, "192.0.2.1", from, "mx.example.com");
	if (res != NULL) {
		CHECK_INT_EQ(res->result, AUTH_PASS);
		CHECK_INT_EQ(res->queries, 2);
	}
	/* one label longer than 63 bytes: the name cannot exist */
	memset(local, 'x', 300);
	local[300] = '\0';
	snprintf(from, sizeof(from), "%s@long.example.com", local);
	arena_reset(a);
	res = eval(z, a, "192.0.2.1", from, "mx.example.com");
	if (res != NULL) {
		/* both 300-byte labels cut off: bl.example.com is asked */
		CHECK_INT_EQ(res->result, AUTH_FAIL);
		CHECK_INT_EQ(res->queries, 2);
	}
	dns_resolver_free(z);
	arena_free(a);
}

/* ---- evaluation: mechanisms, identities, IPv6, errors ---- */

static const struct zrec eval_zone[] = {
    {"v6.example.com", DNS_T_TXT, "v=spf1 ip6:2001:db8::/32 -all"},
    {"mapped.example.com", DNS_T_TXT,
        "v=spf1 ip6:::ffff:0:0/96 ip4:192.0.2.0/24 -all"},
    {"a6.example.com", DNS_T_TXT, "v=spf1 a/24//64 ~all"},
    {"a6.example.com", DNS_T_AAAA, "2001:db8:1::1"},
    {"a6.example.com", DNS_T_A, "198.51.100.1"},
    {"mx6.example.com", DNS_T_TXT, "v=spf1 mx:%{d} -all"},
    {"mx6.example.com", DNS_T_MX, "10 m.mx6.example.com."},
    {"m.mx6.example.com", DNS_T_AAAA, "2001:db8:2::25"},
    {"ptr6.example.com", DNS_T_TXT, "v=spf1 ptr -all"},
    {"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.8.b.d.0.1.0.0.2"
     ".ip6.arpa",
        DNS_T_PTR, "host.ptr6.example.com."},
    {"host.ptr6.example.com", DNS_T_AAAA, "2001:db8:3::1"},
    {"inc.example.com", DNS_T_TXT, "v=spf1 include:v6.example.com ?all"},
    {"incnone.example.com", DNS_T_TXT,
        "v=spf1 include:nothing.example.com -all"},
    {"inctemp.example.com", DNS_T_TXT, "v=spf1 include:tf.example.com -all"},
    {"two.example.com", DNS_T_TXT, "v=spf1 -all"},
    {"two.example.com", DNS_T_TXT, "v=spf1 +all"},
    {"other.example.com", DNS_T_TXT, "google-site-verification=x"},
    {"helo.example.com", DNS_T_TXT, "v=spf1 a -all"},
    {"helo.example.com", DNS_T_A, "192.0.2.25"},
    {"expl.example.com", DNS_T_TXT, "v=spf1 -all exp=why.%{d}"},
    {"why.expl.example.com", DNS_T_TXT,
        "%{c} may not send for %{d} (%{l}), %{r} %{t}"},
    {"dflt.example.com", DNS_T_TXT, "v=spf1 -ip4:192.0.2.0/24"},
    ZEND,
};

static void
test_eval(void)
{
	static const struct {
		const char *name, *ip, *from, *helo;
		enum spf_identity id;
		enum auth_result result;
		const char *mechanism, *domain, *sender;
	} cases[] = {
	    {"ip6 match", "2001:db8::5", "u@v6.example.com", "h", SPF_MFROM,
	        AUTH_PASS, "ip6:2001:db8::/32", "v6.example.com",
	        "u@v6.example.com"},
	    {"ip6 no match", "2001:db9::5", "u@v6.example.com", "h", SPF_MFROM,
	        AUTH_FAIL, "-all", NULL, NULL},
	    {"ip4 client, ip6 only", "192.0.2.1", "u@v6.example.com", "h",
	        SPF_MFROM, AUTH_FAIL, "-all", NULL, NULL},
	    {"IPv4-mapped is IPv4", "::ffff:192.0.2.1", "u@mapped.example.com",
	        "h", SPF_MFROM, AUTH_PASS, "ip4:192.0.2.0/24", NULL, NULL},
	    {"a with ip6 CIDR", "2001:db8:1::ffff", "u@a6.example.com", "h",
	        SPF_MFROM, AUTH_PASS, "a/24//64", NULL, NULL},
	    {"a with ip4 CIDR", "198.51.100.77", "u@a6.example.com", "h",
	        SPF_MFROM, AUTH_PASS, "a/24//64", NULL, NULL},
	    {"a outside ip6 CIDR", "2001:db8:9::1", "u@a6.example.com", "h",
	        SPF_MFROM, AUTH_SOFTFAIL, "~all", NULL, NULL},
	    {"mx over IPv6", "2001:db8:2::25", "u@mx6.example.com", "h",
	        SPF_MFROM, AUTH_PASS, "mx:%{d}", NULL, NULL},
	    {"ptr over IPv6", "2001:db8:3::1", "u@ptr6.example.com", "h",
	        SPF_MFROM, AUTH_PASS, "ptr", NULL, NULL},
	    {"include pass", "2001:db8::1", "u@inc.example.com", "h", SPF_MFROM,
	        AUTH_PASS, "include:v6.example.com", NULL, NULL},
	    {"include fail is no match", "192.0.2.1", "u@inc.example.com", "h",
	        SPF_MFROM, AUTH_NEUTRAL, "?all", NULL, NULL},
	    {"include of none", "192.0.2.1", "u@incnone.example.com", "h",
	        SPF_MFROM, AUTH_PERMERROR, NULL, NULL, NULL},
	    {"include of tempfail", "192.0.2.1", "u@inctemp.example.com", "h",
	        SPF_MFROM, AUTH_TEMPERROR, NULL, NULL, NULL},
	    {"tempfail", "192.0.2.1", "u@tf.example.com", "h", SPF_MFROM,
	        AUTH_TEMPERROR, NULL, NULL, NULL},
	    {"two records", "192.0.2.1", "u@two.example.com", "h", SPF_MFROM,
	        AUTH_PERMERROR, NULL, NULL, NULL},
	    {"no SPF record", "192.0.2.1", "u@other.example.com", "h",
	        SPF_MFROM, AUTH_NONE, NULL, NULL, NULL},
	    {"nxdomain", "192.0.2.1", "u@nowhere.example.com", "h", SPF_MFROM,
	        AUTH_NONE, NULL, NULL, NULL},
	    {"null sender", "192.0.2.25", "", "helo.example.com", SPF_MFROM,
	        AUTH_PASS, "a", "helo.example.com",
	        "postmaster@helo.example.com"},
	    {"helo identity", "192.0.2.26", "u@v6.example.com",
	        "helo.example.com", SPF_HELO, AUTH_FAIL, "-all",
	        "helo.example.com", "postmaster@helo.example.com"},
	    {"no local-part", "192.0.2.1", "@v6.example.com", "h", SPF_MFROM,
	        AUTH_FAIL, "-all", "v6.example.com",
	        "postmaster@v6.example.com"},
	    {"domain literal", "192.0.2.1", "u@[192.0.2.1]", "h", SPF_MFROM,
	        AUTH_NONE, NULL, NULL, NULL},
	    {"single label", "192.0.2.1", "u@localhost", "h", SPF_MFROM,
	        AUTH_NONE, NULL, NULL, NULL},
	    {"empty label", "192.0.2.1", "u@a..example.com", "h", SPF_MFROM,
	        AUTH_NONE, NULL, NULL, NULL},
	    {"no helo", "192.0.2.1", NULL, NULL, SPF_HELO, AUTH_NONE, NULL, "",
	        NULL},
	};
	struct arena *a = arena_new(4096);
	struct dns_resolver *z = zone(eval_zone);
	struct spf_request req = {0};
	struct spf_result *res;
	size_t i;

	CHECK_INT_EQ(
	    dns_zone_add_fault(z, "tf.example.com", DNS_T_TXT, "timeout"), 0);
	req.dns = z;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res = NULL;
		CHECK_INT_EQ(spf_ip_parse(cases[i].ip, &req.ip), 0);
		req.mail_from = cases[i].from;
		req.helo = cases[i].helo;
		CHECK_INT_EQ(spf_check(&req, cases[i].id, a, &res), 0);
		if (res == NULL)
			continue;
		if (res->result != cases[i].result)
			fprintf(stderr, "case \"%s\": %s\n", cases[i].name,
			    res->reason);
		CHECK_INT_EQ(res->result, cases[i].result);
		CHECK(res->reason != NULL && res->reason[0] != '\0');
		if (cases[i].mechanism != NULL)
			CHECK_STR_EQ(res->mechanism, cases[i].mechanism);
		if (cases[i].domain != NULL)
			CHECK_STR_EQ(res->domain, cases[i].domain);
		if (cases[i].sender != NULL)
			CHECK_STR_EQ(res->sender, cases[i].sender);
		CHECK_INT_EQ(res->identity, cases[i].id);
		CHECK((res->explanation != NULL) == (res->result == AUTH_FAIL));
		arena_reset(a);
	}
	dns_resolver_free(z);
	arena_free(a);
}

/* Identity domains are host names: a domain with quotes, brackets,
 * parentheses or '\\' gives none (RFC 7208 section 4.3), even where a
 * record exists under that odd name, so it can never pass for (or align
 * with) another spelling. */
static const struct zrec odd_zone[] = {
    {"a<b>.example.com", DNS_T_TXT, "v=spf1 +all"},
    {"a\"b.example.com", DNS_T_TXT, "v=spf1 +all"},
    {"a(b).example.com", DNS_T_TXT, "v=spf1 +all"},
    {"a;b.example.com", DNS_T_TXT, "v=spf1 +all"},
    {"a_b-c.example.com", DNS_T_TXT, "v=spf1 +all"}, ZEND};

static void
test_identity_chars(void)
{
	static const struct {
		const char *from;
		enum auth_result want;
	} cases[] = {
	    {"u@a<b>.example.com", AUTH_NONE},
	    {"u@a\"b.example.com", AUTH_NONE},
	    {"u@a(b).example.com", AUTH_NONE},
	    {"u@a;b.example.com", AUTH_NONE},
	    {"u@x\\.example.com", AUTH_NONE},
	    {"u@a\\046b.example.com", AUTH_NONE},
	    {"u@a_b-c.example.com", AUTH_PASS},
	};
	struct arena *a = arena_new(4096);
	struct dns_resolver *z = zone(odd_zone);
	struct spf_result *res;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		res = eval(z, a, "192.0.2.1", cases[i].from, "h.example.com");
		if (res == NULL)
			continue;
		if (res->result != cases[i].want)
			fprintf(stderr, "case \"%s\": %s\n", cases[i].from,
			    res->reason);
		CHECK_INT_EQ(res->result, cases[i].want);
		if (cases[i].want == AUTH_NONE)
			CHECK_STR_EQ(
			    res->reason, "not a valid multi-label domain name");
		arena_reset(a);
	}
	dns_resolver_free(z);
	arena_free(a);
}

static void
test_explanation_and_header(void)
{
	struct arena *a = arena_new(4096);
	struct dns_resolver *z = zone(eval_zone);
	struct spf_request req = {0};
	struct spf_result *res = NULL;
	struct buf b;

	req.dns = z;
	req.mail_from = "joe@expl.example.com";
	req.helo = "client.example.org";
	req.receiver = "mx.example.net";
	req.now = 1700000000;
	CHECK_INT_EQ(spf_ip_parse("2001:db8::7", &req.ip), 0);
	CHECK_INT_EQ(spf_check(&req, SPF_MFROM, a, &res), 0);
	if (res != NULL) {
		CHECK_INT_EQ(res->result, AUTH_FAIL);
		CHECK_STR_EQ(res->explanation,
		    "2001:db8::7 may not send for "
		    "expl.example.com (joe), mx.example.net 1700000000");
		/* the exp lookup counts as a query, not as a lookup */
		CHECK_INT_EQ(res->queries, 2);
		CHECK_INT_EQ(res->lookups, 0);
	}
	/* the default explanation, built-in and configured */
	req.mail_from = "joe@dflt.example.com";
	CHECK_INT_EQ(spf_ip_parse("192.0.2.9", &req.ip), 0);
	CHECK_INT_EQ(spf_check(&req, SPF_MFROM, a, &res), 0);
	CHECK_STR_EQ(res->explanation, "dflt.example.com does not designate "
	                               "192.0.2.9 as permitted sender");
	CHECK_STR_EQ(res->mechanism, "-ip4:192.0.2.0/24");
	req.default_exp = "See https://example.net/why?s=%{S}";
	CHECK_INT_EQ(spf_check(&req, SPF_MFROM, a, &res), 0);
	CHECK_STR_EQ(res->explanation,
	    "See https://example.net/why?s=joe%40dflt.example.com");

	buf_init(&b, 4096);
	spf_received(&b, &req, res);
	CHECK_STR_EQ(buf_cstr(&b),
	    "fail (mx.example.net: domain of "
	    "joe@dflt.example.com does not designate 192.0.2.9 as permitted "
	    "sender) client-ip=192.0.2.9; envelope-from=\"joe@dflt.example."
	    "com\"; helo=client.example.org; receiver=mx.example.net; "
	    "identity=mailfrom; mechanism=\"-ip4:192.0.2.0/24\"");
	/* a permerror names the problem; hostile text stays quoted */
	req.mail_from = "x\"y)@two.example.com";
	req.helo = "evil\r\nX-Injected: 1";
	CHECK_INT_EQ(spf_check(&req, SPF_MFROM, a, &res), 0);
	buf_reset(&b);
	spf_received(&b, &req, res);
	CHECK(strncmp(buf_cstr(&b), "permerror (", 11) == 0);
	CHECK(contains(buf_cstr(&b), "problem=\"two.example.com has 2 SPF "
	                             "records\""));
	CHECK(contains(buf_cstr(&b), "envelope-from=\"x\\\"y)@two."));
	CHECK(contains(buf_cstr(&b), "helo=\"evilX-Injected: 1\""));
	CHECK(!contains(buf_cstr(&b), "\r"));
	CHECK_STR_EQ(spf_identity_name(SPF_HELO), "helo");
	buf_free(&b);
	dns_resolver_free(z);
	arena_free(a);
}

static void
test_ip_parse(void)
{
	struct spf_ip ip;

	CHECK_INT_EQ(spf_ip_parse("::ffff:198.51.100.3", &ip), 0);
	CHECK_INT_EQ(ip.family, AF_INET);
	CHECK_MEM_EQ(ip.addr, 4, "\xc6\x33\x64\x03", 4);
	CHECK_INT_EQ(spf_ip_parse("2001:db8::1", &ip), 0);
	CHECK_INT_EQ(ip.family, AF_INET6);
	CHECK_INT_EQ(spf_ip_parse("192.0.2", &ip), -EINVAL);
	CHECK_INT_EQ(spf_ip_parse("", &ip), -EINVAL);
}

int
main(void)
{
	test_macro_rfc_examples();
	test_macro_errors();
	test_macro_cap();
	test_parse();
	test_syntax_errors();
	test_limits();
	test_long_expansion();
	test_eval();
	test_explanation_and_header();
	test_identity_chars();
	test_ip_parse();
	return check_summary("spf");
}
