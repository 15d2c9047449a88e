/*
 * test_dns.c -- the zone store (loading, answers, faults, CNAMEs), the
 * name checks of dns_query, and the cache (hits, TTLs on a fake clock,
 * negative and tempfail caching, eviction, threads). The deadlines and
 * dns_budget are in test_dns_budget.c.
 * Runs from the source root's tests/unit (meson workdir).
 */
#include <errno.h>
#include <stdint.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/dns.h"
#include "check.h"

#define DATA "../data/dns/"

/* Query and check status; returns the answer (caller unrefs), or NULL
 * when the query failed or the status is not the one wanted (so callers
 * never look into an answer of another kind). */
static struct dns_answer *
q(struct dns_resolver *r, const char *name, enum dns_type t,
    enum dns_status want, int line)
{
	struct dns_answer *a = NULL;
	int rc = dns_query(r, name, t, &a);

	if (rc != 0 || a == NULL) {
		fprintf(
		    stderr, "line %d: query %s failed: %d\n", line, name, rc);
		CHECK(rc == 0 && a != NULL);
		return NULL;
	}
	if (a->status != want)
		fprintf(stderr, "line %d: %s %s: %s (%s), want %s\n", line,
		    name, dns_type_name(t), dns_status_name(a->status), a->why,
		    dns_status_name(want));
	CHECK_INT_EQ(a->status, want);
	if (a->status != want) {
		dns_answer_unref(a);
		return NULL;
	}
	return a;
}
#define Q(r, n, t, s) q(r, n, t, s, __LINE__)

static struct dns_resolver *
load_basic(void)
{
	struct dns_resolver *r = dns_zone_new();
	char *why = NULL;
	int rc;

	check_fixture(DATA "basic.zone");
	rc = dns_zone_load(r, DATA "basic.zone", &why);

	if (rc != 0)
		fprintf(stderr, "basic.zone: %s\n", why);
	CHECK_INT_EQ(rc, 0);
	free(why);
	return r;
}

/* Every TXT answer of basic.zone, records joined by '|'. */
static void
test_zone_txt(void)
{
	static const struct {
		const char *name, *want;
		uint32_t ttl;
	} cases[] = {
	    {"example.com", "v=spf1 -all", 600},
	    {"EXAMPLE.com.", "v=spf1 -all", 600},
	    {"multi.example.com", "part one part two", 300},
	    {"upper.example.com", "upper case owner", 600},
	    {"alias.example.com", "at target", 600},
	    {"other.example.net", "other|second", 60},
	};
	struct dns_resolver *r = load_basic();
	size_t i, j;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_answer *a = Q(r, cases[i].name, DNS_T_TXT, DNS_OK);
		char got[256] = "";

		if (a == NULL)
			continue;
		for (j = 0; j < a->count; j++) {
			if (j > 0)
				strcat(got, "|");
			strncat(got, (const char *)a->rrs[j].data,
			    sizeof(got) - strlen(got) - 2);
			CHECK_INT_EQ(a->rrs[j].data[a->rrs[j].len], 0);
		}
		CHECK_STR_EQ(got, cases[i].want);
		CHECK_INT_EQ(a->ttl, cases[i].ttl);
		CHECK_STR_EQ(a->why, "");
		dns_answer_unref(a);
	}
	dns_resolver_free(r);
}

static void
test_zone_types(void)
{
	static const uint8_t a4[] = {192, 0, 2, 1};
	static const uint8_t a6[] = {
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
	struct dns_resolver *r = load_basic();
	struct dns_answer *a;

	if ((a = Q(r, "example.com", DNS_T_MX, DNS_OK)) != NULL) {
		CHECK_INT_EQ(a->count, 2);
		CHECK_INT_EQ(a->rrs[0].pref, 10);
		CHECK_STR_EQ((const char *)a->rrs[0].data, "mx1.example.com");
		CHECK_INT_EQ(a->rrs[1].pref, 20);
		CHECK_STR_EQ((const char *)a->rrs[1].data, "mx2.example.com");
		dns_answer_unref(a);
	}
	if ((a = Q(r, "mx1.example.com", DNS_T_A, DNS_OK)) != NULL) {
		CHECK_MEM_EQ(a->rrs[0].data, a->rrs[0].len, a4, sizeof(a4));
		dns_answer_unref(a);
	}
	if ((a = Q(r, "mx2.example.com", DNS_T_AAAA, DNS_OK)) != NULL) {
		CHECK_MEM_EQ(a->rrs[0].data, a->rrs[0].len, a6, sizeof(a6));
		dns_answer_unref(a);
	}
	if ((a = Q(r, "1.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK)) != NULL) {
		CHECK_STR_EQ((const char *)a->rrs[0].data, "mx1.example.com");
		CHECK_INT_EQ(a->rrs[0].len, strlen("mx1.example.com"));
		dns_answer_unref(a);
	}
	dns_resolver_free(r);
}

/* NXDOMAIN, NODATA, empty non-terminals, faults, CNAME loops. */
static void
test_zone_negative(void)
{
	static const struct {
		const char *name;
		enum dns_type type;
		enum dns_status want;
		const char *why;
	} cases[] = {
	    {"nope.example.com", DNS_T_TXT, DNS_NXDOMAIN, "NXDOMAIN"},
	    {"example.org", DNS_T_A, DNS_NXDOMAIN, "NXDOMAIN"},
	    {"mx1.example.com", DNS_T_TXT, DNS_NODATA, NULL},
	    {"example.com", DNS_T_A, DNS_NODATA, NULL},
	    {"deep.example.com", DNS_T_TXT, DNS_NODATA, NULL},
	    {"b.deep.example.com", DNS_T_A, DNS_NODATA, NULL},
	    {"c.deep.example.com", DNS_T_A, DNS_NXDOMAIN, NULL},
	    {"a.b.deep.example.com", DNS_T_A, DNS_OK, NULL},
	    {"slow.example.net", DNS_T_TXT, DNS_TEMPFAIL, "timeout"},
	    {"slow.example.net", DNS_T_A, DNS_NXDOMAIN, NULL},
	    {"broken.example.net", DNS_T_MX, DNS_TEMPFAIL, "SERVFAIL"},
	    {"broken.example.net", DNS_T_TXT, DNS_TEMPFAIL, "SERVFAIL"},
	    {"example.net", DNS_T_TXT, DNS_NODATA, NULL},
	    {"loop1.example.com", DNS_T_TXT, DNS_TEMPFAIL, NULL},
	    {"alias.example.com", DNS_T_A, DNS_NODATA, NULL},
	};
	struct dns_resolver *r = load_basic();
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_answer *a =
		    Q(r, cases[i].name, cases[i].type, cases[i].want);

		if (a == NULL)
			continue;
		if (cases[i].why != NULL)
			CHECK_STR_EQ(a->why, cases[i].why);
		if (a->status != DNS_OK)
			CHECK_INT_EQ(a->count, 0);
		if (a->status == DNS_NXDOMAIN || a->status == DNS_NODATA)
			CHECK_INT_EQ(a->ttl, 300);
		dns_answer_unref(a);
	}
	dns_resolver_free(r);
}

static void
test_zone_soa(void)
{
	struct dns_resolver *r = dns_zone_new();
	struct dns_answer *a;
	char *why = NULL;

	CHECK_INT_EQ(dns_zone_load(r, DATA "soa.zone", &why), 0);
	free(why);
	if ((a = Q(r, "nope.withsoa.test", DNS_T_TXT, DNS_NXDOMAIN))) {
		CHECK_INT_EQ(a->ttl, 120);
		dns_answer_unref(a);
	}
	if ((a = Q(r, "www.withsoa.test", DNS_T_TXT, DNS_NODATA))) {
		CHECK_INT_EQ(a->ttl, 120);
		dns_answer_unref(a);
	}
	if ((a = Q(r, "withsoa.test", DNS_T_A, DNS_NODATA)))
		dns_answer_unref(a);
	dns_resolver_free(r);
}

/* Bad zone text: each error names the line. */
static void
test_zone_bad(void)
{
	static const struct {
		const char *label, *text, *want;
	} cases[] = {
	    {"bad-a", "x.example. IN A 1.2.3.4\n\ny.example. IN A 1.2\n",
	        "bad-a:3: "},
	    {"bad-type", "; c\nx.example. IN BOGUS 1\n", "bad-type:2: "},
	    {"include", "$INCLUDE other.zone\n",
	        "include:1: $INCLUDE is not supported"},
	    {"fault-kind", "\n;@fault slow x.example TXT\n",
	        "fault-kind:2: unknown fault"},
	    {"fault-type", ";@fault timeout x.example SOA\n",
	        "fault-type:1: unknown fault type"},
	    {"fault-args", ";@fault timeout x.example\n",
	        "fault-args:1: expected"},
	    {"fault-name", ";@fault timeout a..b TXT\n",
	        "fault-name:1: bad fault name"},
	    {"aaaa", "x.example. IN AAAA 1.2.3.4", "aaaa:1: "},
	    {"multi", "x.example. IN TXT ( \"a\"\n\"b\" )\ny IN A 1\n",
	        "multi:3: "},
	    {"eof", "; c\n\nx.example. IN A 1", "eof:3: "},
	    {"mx", "x.example. IN MX mail.example.\n", "mx:1: "},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dns_resolver *r = dns_zone_new();
		char *why = NULL;
		int rc = dns_zone_load_mem(r, cases[i].label, cases[i].text,
		    strlen(cases[i].text), &why);

		CHECK_INT_EQ(rc, -EINVAL);
		CHECK(why != NULL &&
		      strncmp(why, cases[i].want, strlen(cases[i].want)) == 0);
		if (why == NULL ||
		    strncmp(why, cases[i].want, strlen(cases[i].want)) != 0)
			fprintf(stderr, "  %s: got \"%s\"\n", cases[i].label,
			    why ? why : "(none)");
		free(why);
		dns_resolver_free(r);
	}
}

static void
test_zone_bad_files(void)
{
	struct dns_resolver *r = dns_zone_new();
	char *why = NULL;

	CHECK_INT_EQ(dns_zone_load(r, DATA "bad-line4.zone", &why), -EINVAL);
	CHECK(why != NULL && strncmp(why, DATA "bad-line4.zone:4: ", 24) == 0);
	free(why);
	why = NULL;
	CHECK_INT_EQ(dns_zone_load(r, DATA "missing.zone", &why), -ENOENT);
	CHECK(why != NULL && strstr(why, "missing.zone") != NULL);
	free(why);
	dns_resolver_free(r);
}

/* The RFC DKIM vectors' zones (tests/data/dkim): no SOA, several
 * domains. */
static void
test_zone_rfc_dkim(void)
{
	static const char *files[] = {
	    "../data/dkim/rfc8463.zone", "../data/dkim/rfc6376.zone"};
	struct dns_resolver *r = dns_zone_new();
	struct dns_answer *a;
	char *why = NULL;
	size_t i;

	for (i = 0; i < 2; i++) {
		check_fixture(files[i]);
		CHECK_INT_EQ(dns_zone_load(r, files[i], &why), 0);
		if (why)
			fprintf(stderr, "%s\n", why);
		free(why);
		why = NULL;
	}
	if ((a = Q(r, "brisbane._domainkey.football.example.com", DNS_T_TXT,
	         DNS_OK))) {
		CHECK(strncmp((const char *)a->rrs[0].data,
		          "v=DKIM1; k=ed25519; p=11qYAYKx", 30) == 0);
		dns_answer_unref(a);
	}
	if ((a = Q(r, "brisbane._domainkey.example.org", DNS_T_TXT, DNS_OK)))
		dns_answer_unref(a);
	if ((a = Q(r, "_domainkey.example.org", DNS_T_TXT, DNS_NODATA)))
		dns_answer_unref(a);
	dns_resolver_free(r);
}

/* dns_zone_add, dns_zone_add_rr, dns_zone_add_fault. */
static void
test_zone_add(void)
{
	static const uint8_t ip[] = {10, 0, 0, 1};
	struct dns_resolver *r = dns_zone_new();
	struct dns_rr rr = {0, 4, ip};
	struct dns_rr mx = {5, 13, (const uint8_t *)"MX.Example.ORG."};
	struct dns_answer *a;

	CHECK_INT_EQ(
	    dns_zone_add(r, "Example.ORG", DNS_T_TXT, "\"v=spf1 \" \"-all\""),
	    0);
	CHECK_INT_EQ(
	    dns_zone_add(r, "example.org", DNS_T_MX, "10 mail.example.org."),
	    0);
	CHECK_INT_EQ(dns_zone_add(r, "example.org", DNS_T_A, "1.2.3"), -EINVAL);
	CHECK_INT_EQ(dns_zone_add(r, "a b.org", DNS_T_A, "1.2.3.4"), -EINVAL);
	CHECK_INT_EQ(dns_zone_add(r, "x.org", DNS_T_TXT, "\"a\"\n"), -EINVAL);
	CHECK_INT_EQ(dns_zone_add_rr(r, "h.example.org", DNS_T_A, &rr), 0);
	mx.len = strlen((const char *)mx.data);
	CHECK_INT_EQ(dns_zone_add_rr(r, "example.org", DNS_T_MX, &mx), 0);
	rr.len = 3;
	CHECK_INT_EQ(
	    dns_zone_add_rr(r, "h.example.org", DNS_T_A, &rr), -EINVAL);
	CHECK_INT_EQ(dns_zone_add_rr(r, "..", DNS_T_TXT, &rr), -EINVAL);
	CHECK_INT_EQ(dns_zone_add_fault(r, "t.example.org", DNS_T_A, "x"), 0);
	if ((a = Q(r, "example.org", DNS_T_TXT, DNS_OK))) {
		CHECK_STR_EQ((const char *)a->rrs[0].data, "v=spf1 -all");
		dns_answer_unref(a);
	}
	if ((a = Q(r, "example.org", DNS_T_MX, DNS_OK))) {
		CHECK_INT_EQ(a->count, 2);
		if (a->count == 2)
			CHECK_STR_EQ(
			    (const char *)a->rrs[1].data, "mx.example.org");
		dns_answer_unref(a);
	}
	if ((a = Q(r, "h.example.org", DNS_T_A, DNS_OK))) {
		CHECK_MEM_EQ(a->rrs[0].data, a->rrs[0].len, ip, 4);
		dns_answer_unref(a);
	}
	if ((a = Q(r, "t.example.org", DNS_T_A, DNS_TEMPFAIL))) {
		CHECK_STR_EQ(a->why, "x");
		dns_answer_unref(a);
	}
	/* a fault alone does not make a name exist */
	if ((a = Q(r, "t.example.org", DNS_T_TXT, DNS_NXDOMAIN)))
		dns_answer_unref(a);
	CHECK_INT_EQ(dns_resolver_queries(r), 5);
	dns_resolver_free(r);
}

/* Two records kept without data (types the queries do not ask for) at
 * one name: the duplicate check compared NULL data with memcmp, undefined
 * behaviour that fuzz_zone found (tests/fuzz/repro/zone/ns-twice). */
static void
test_zone_dataless_twice(void)
{
	static const char text[] = "x.example. 300 IN NS ns1.example.\n"
	                           "x.example. 300 IN NS ns2.example.\n"
	                           "x.example. 300 IN NS ns2.example.\n"
	                           "x.example. 300 IN TXT \"t\"\n";
	struct dns_resolver *r = dns_zone_new();
	struct dns_answer *a;
	char *why = NULL;

	CHECK_INT_EQ(dns_zone_load_mem(r, "ns", text, strlen(text), &why), 0);
	free(why);
	if ((a = Q(r, "x.example", DNS_T_A, DNS_NODATA)))
		dns_answer_unref(a);
	if ((a = Q(r, "x.example", DNS_T_TXT, DNS_OK))) {
		CHECK_INT_EQ(a->count, 1);
		dns_answer_unref(a);
	}
	dns_resolver_free(r);
}

/* A ";@fault timeout" stands for a query no server answered; a servfail
 * for a server's reply. */
static void
test_zone_fault_kinds(void)
{
	static const char text[] = ";@fault timeout t.example TXT\n"
	                           ";@fault servfail s.example TXT\n";
	struct dns_resolver *r = dns_zone_new();
	struct dns_answer *a;
	char *why = NULL;

	CHECK_INT_EQ(dns_zone_load_mem(r, "f", text, strlen(text), &why), 0);
	free(why);
	if ((a = Q(r, "t.example", DNS_T_TXT, DNS_TEMPFAIL))) {
		CHECK(a->unanswered);
		CHECK(!a->cut_short);
		dns_answer_unref(a);
	}
	if ((a = Q(r, "s.example", DNS_T_TXT, DNS_TEMPFAIL))) {
		CHECK(!a->unanswered);
		dns_answer_unref(a);
	}
	dns_resolver_free(r);
}

static void
test_query_names(void)
{
	static const char *bad[] = {"", ".", "a..b", ".a",
	    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     ".com")};
	struct dns_resolver *r = load_basic();
	struct dns_answer *a = NULL;
	char longname[300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_INT_EQ(dns_query(r, bad[i], DNS_T_TXT, &a), -EINVAL);
	memset(longname, 'a', sizeof(longname));
	for (i = 10; i < sizeof(longname); i += 11)
		longname[i] = '.';
	longname[sizeof(longname) - 1] = '\0';
	CHECK_INT_EQ(dns_query(r, longname, DNS_T_TXT, &a), -EINVAL);
	CHECK(a == NULL);
	CHECK_INT_EQ(dns_resolver_queries(r), 0);
	dns_resolver_free(r);
}

/* Which bytes a query name may hold: no '\\' escape (ldns would read
 * "x\\.paypal.com" as a two-label name), no control or 8-bit byte; the
 * odd but real names of the SPF test suite stay valid. */
static const struct {
	const char *name;
	bool valid;
} name_chars[] = {
    {"example.com", true},
    {"_dmarc.sub-1.example.com", true},
    {"s._domainkey.example.com.", true},
    {"foo:bar/baz.example.com", true},
    {"macro%percent  space%20url-space.example.com", true},
    {"x\\.paypal.com", false},
    {"a\\046b.example.com", false},
    {"a\\", false},
    {"exa\tmple.com", false},
    {"exa\rmple.com", false},
    {"b\xc3\xbc"
     "cher.example",
        false},
    {"x\x7f.example", false},
};

static void
test_name_chars(void)
{
	struct dns_resolver *r = load_basic();
	struct dns_answer *a = NULL;
	size_t i;

	for (i = 0; i < sizeof(name_chars) / sizeof(name_chars[0]); i++) {
		CHECK(
		    dns_name_valid(name_chars[i].name) == name_chars[i].valid);
		if (dns_name_valid(name_chars[i].name) != name_chars[i].valid)
			fprintf(stderr, "  case \"%s\"\n", name_chars[i].name);
		if (!name_chars[i].valid)
			CHECK_INT_EQ(
			    dns_query(r, name_chars[i].name, DNS_T_TXT, &a),
			    -EINVAL);
	}
	CHECK(a == NULL);
	CHECK_INT_EQ(dns_resolver_queries(r), 0);
	dns_resolver_free(r);
}

/* dns_ldns_new option checks (no query is sent). */
static void
test_ldns_options(void)
{
	static const struct {
		const char *servers, *why;
	} bad[] = {
	    {"", "no nameserver given"},
	    {"127.0.0.1@0", "bad nameserver port"},
	    {"127.0.0.1@70000", "bad nameserver port"},
	    {"127.0.0.1@53x", "bad nameserver port"},
	    {"ns.example.com", "nameserver is not an IPv4 or IPv6 address"},
	    {"127.0.0.1@53 ::1@54", "all nameservers must use the same port"},
	};
	struct dns_ldns_options o = {NULL, 100, 1, NULL};
	struct dns_resolver *r = NULL;
	const char *why = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.nameservers = bad[i].servers;
		CHECK_INT_EQ(dns_ldns_new(&o, &r, &why), -EINVAL);
		CHECK_STR_EQ(why, bad[i].why);
	}
	o.nameservers = "127.0.0.1@5300, ::1@5300";
	CHECK_INT_EQ(dns_ldns_new(&o, &r, &why), 0);
	CHECK(r != NULL);
	dns_resolver_free(r);
}

static void test_cache(void);

int
main(void)
{
	check_fixture(DATA "soa.zone");
	check_fixture(DATA "bad-line4.zone");
	test_zone_txt();
	test_zone_types();
	test_zone_negative();
	test_zone_soa();
	test_zone_bad();
	test_zone_bad_files();
	test_zone_rfc_dkim();
	test_zone_add();
	test_zone_dataless_twice();
	test_zone_fault_kinds();
	test_query_names();
	test_name_chars();
	test_ldns_options();
	test_cache();
	return check_summary("dns");
}

static uint64_t fake_now = 1000;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* A cache over basic.zone on the fake clock; *ret_backend is borrowed. */
static struct dns_resolver *
cache_basic(size_t max, struct dns_resolver **ret_backend)
{
	struct dns_resolver *z = load_basic(), *c = dns_cache_new(z, max);

	dns_cache_set_clock(c, fake_clock);
	*ret_backend = z;
	return c;
}

/* Query through the cache at time t; check status and how many backend
 * queries have been made in total afterwards. */
static void
cq(struct dns_resolver *c, struct dns_resolver *z, uint64_t t, const char *name,
    enum dns_type type, enum dns_status want, unsigned long backend_total,
    int line)
{
	struct dns_answer *a;

	fake_now = t;
	if ((a = q(c, name, type, want, line)) != NULL)
		dns_answer_unref(a);
	if (dns_resolver_queries(z) != backend_total)
		fprintf(stderr, "line %d: backend queries %lu, want %lu\n",
		    line, dns_resolver_queries(z), backend_total);
	CHECK_INT_EQ(dns_resolver_queries(z), backend_total);
}
#define CQ(t, n, ty, s, b) cq(c, z, t, n, ty, s, b, __LINE__)

static void
test_cache_ttl(void)
{
	struct dns_resolver *z, *c = cache_basic(100, &z);
	unsigned long hits, misses;

	/* a hit avoids the backend, whatever the case or final dot */
	CQ(1000, "example.com", DNS_T_TXT, DNS_OK, 1);
	CQ(1000, "EXAMPLE.com.", DNS_T_TXT, DNS_OK, 1);
	CQ(1000, "example.com", DNS_T_MX, DNS_OK, 2);
	/* TTL 60: fresh at +59, gone at +60 */
	CQ(1000, "other.example.net", DNS_T_TXT, DNS_OK, 3);
	CQ(1059, "other.example.net", DNS_T_TXT, DNS_OK, 3);
	CQ(1060, "other.example.net", DNS_T_TXT, DNS_OK, 4);
	/* negative answers for their TTL (300, no SOA in basic.zone) */
	CQ(2000, "nope.example.com", DNS_T_TXT, DNS_NXDOMAIN, 5);
	CQ(2299, "nope.example.com", DNS_T_TXT, DNS_NXDOMAIN, 5);
	CQ(2300, "nope.example.com", DNS_T_TXT, DNS_NXDOMAIN, 6);
	CQ(2000, "mx1.example.com", DNS_T_TXT, DNS_NODATA, 7);
	CQ(2299, "mx1.example.com", DNS_T_TXT, DNS_NODATA, 7);
	CQ(2300, "mx1.example.com", DNS_T_TXT, DNS_NODATA, 8);
	/* a server's SERVFAIL: 5 s only */
	CQ(3000, "broken.example.net", DNS_T_TXT, DNS_TEMPFAIL, 9);
	CQ(3004, "broken.example.net", DNS_T_TXT, DNS_TEMPFAIL, 9);
	CQ(3005, "broken.example.net", DNS_T_TXT, DNS_TEMPFAIL, 10);
	/* a timeout (no server replied): never kept, asked again at once */
	CQ(4000, "slow.example.net", DNS_T_TXT, DNS_TEMPFAIL, 11);
	CQ(4000, "slow.example.net", DNS_T_TXT, DNS_TEMPFAIL, 12);
	dns_cache_stats(c, &hits, &misses);
	CHECK_INT_EQ(hits, 5);
	CHECK_INT_EQ(misses, 12);
	CHECK_INT_EQ(dns_resolver_queries(c), 5);
	dns_resolver_free(c);
}

/* TTLs outside [1 s, 1 day] (negative: 1 h) are clamped. */
static void
test_cache_clamp(void)
{
	static const char text[] =
	    "zero.example. 0 IN TXT \"z\"\n"
	    "huge.example. 999999 IN TXT \"h\"\n"
	    "neg.example. 999999 IN SOA ns.neg.example. h.neg.example. "
	    "1 2 3 4 999999\n";
	struct dns_resolver *z = dns_zone_new(), *c;
	char *why = NULL;

	CHECK_INT_EQ(
	    dns_zone_load_mem(z, "clamp", text, strlen(text), &why), 0);
	free(why);
	c = dns_cache_new(z, 10);
	dns_cache_set_clock(c, fake_clock);
	CQ(0, "zero.example", DNS_T_TXT, DNS_OK, 1);
	CQ(0, "zero.example", DNS_T_TXT, DNS_OK, 1);
	CQ(1, "zero.example", DNS_T_TXT, DNS_OK, 2);
	CQ(0, "huge.example", DNS_T_TXT, DNS_OK, 3);
	CQ(86399, "huge.example", DNS_T_TXT, DNS_OK, 3);
	CQ(86400, "huge.example", DNS_T_TXT, DNS_OK, 4);
	CQ(0, "x.neg.example", DNS_T_TXT, DNS_NXDOMAIN, 5);
	CQ(3599, "x.neg.example", DNS_T_TXT, DNS_NXDOMAIN, 5);
	CQ(3600, "x.neg.example", DNS_T_TXT, DNS_NXDOMAIN, 6);
	dns_resolver_free(c);
}

/* At most max entries; the least recently used goes first. */
static void
test_cache_evict(void)
{
	struct dns_resolver *z, *c = cache_basic(3, &z);

	CQ(0, "mx1.example.com", DNS_T_A, DNS_OK, 1);
	CQ(0, "mx2.example.com", DNS_T_AAAA, DNS_OK, 2);
	CQ(0, "example.com", DNS_T_TXT, DNS_OK, 3);
	CQ(0, "mx1.example.com", DNS_T_A, DNS_OK, 3); /* mx1 now recent */
	CQ(0, "example.com", DNS_T_MX, DNS_OK, 4);    /* evicts mx2 */
	CQ(0, "mx1.example.com", DNS_T_A, DNS_OK, 4);
	CQ(0, "example.com", DNS_T_TXT, DNS_OK, 4);
	CQ(0, "mx2.example.com", DNS_T_AAAA, DNS_OK, 5); /* was evicted */
	dns_resolver_free(c);
}

#define THREADS 8
#define PER_THREAD 3000

struct worker {
	struct dns_resolver *c;
	unsigned seed;
	int bad;
};

static void *
worker_run(void *arg)
{
	static const struct {
		const char *name;
		enum dns_type type;
		enum dns_status want;
		const char *txt;
	} mix[] = {
	    {"example.com", DNS_T_TXT, DNS_OK, "v=spf1 -all"},
	    {"multi.example.com", DNS_T_TXT, DNS_OK, "part one part two"},
	    {"alias.example.com", DNS_T_TXT, DNS_OK, "at target"},
	    {"nope.example.com", DNS_T_TXT, DNS_NXDOMAIN, NULL},
	    {"mx1.example.com", DNS_T_TXT, DNS_NODATA, NULL},
	    {"slow.example.net", DNS_T_TXT, DNS_TEMPFAIL, NULL},
	    {"mx1.example.com", DNS_T_A, DNS_OK, NULL},
	};
	struct worker *w = arg;
	struct dns_answer *a;
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		size_t k =
		    (size_t)rand_r(&w->seed) % (sizeof(mix) / sizeof(mix[0]));

		if (dns_query(w->c, mix[k].name, mix[k].type, &a) != 0) {
			w->bad++;
			continue;
		}
		if (a->status != mix[k].want ||
		    (mix[k].txt != NULL &&
		        strcmp((const char *)a->rrs[0].data, mix[k].txt) != 0))
			w->bad++;
		dns_answer_unref(a);
	}
	return NULL;
}

/* 8 threads on a cache of 4 entries (constant churn): every answer
 * right, every query counted once as a hit or a miss, each miss one
 * backend query. */
static void
test_cache_threads(void)
{
	struct dns_resolver *z, *c = cache_basic(4, &z);
	struct worker w[THREADS];
	pthread_t t[THREADS];
	unsigned long hits, misses;
	int i, bad = 0;

	fake_now = 5000;
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){c, (unsigned)i + 1, 0};
		CHECK_INT_EQ(pthread_create(&t[i], NULL, worker_run, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		bad += w[i].bad;
	}
	CHECK_INT_EQ(bad, 0);
	dns_cache_stats(c, &hits, &misses);
	CHECK_INT_EQ(hits + misses, THREADS * PER_THREAD);
	CHECK_INT_EQ(misses, dns_resolver_queries(z));
	CHECK_INT_EQ(hits, dns_resolver_queries(c));
	CHECK(hits > 0 && misses > 7);
	dns_resolver_free(c);
}

static void
test_cache(void)
{
	test_cache_ttl();
	test_cache_clamp();
	test_cache_evict();
	test_cache_threads();
}
