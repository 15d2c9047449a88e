/*
 * test_table.c -- file and refile tables, the SigningTable lookup order,
 * the '*' wildcard, host lists (IPv4, IPv6, mapped, negation, names), and
 * the file:line errors of bad tables. Fixtures: tests/data/config/.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authmilter/buf.h"
#include "authmilter/table.h"
#include "check.h"

#define DATA "../data/config/"

static struct table *
open_table(const char *spec)
{
	struct table *t = NULL;
	struct buf err;

	buf_init(&err, 4096);
	CHECK_INT_EQ(table_open(spec, &t, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	buf_free(&err);
	return t;
}

static void
test_file_table(void)
{
	struct table *t = open_table("file:" DATA "KeyTable");
	const struct table_entry *e, *all[4];

	if (t == NULL)
		return;
	CHECK_INT_EQ(t->n_entries, 4);
	e = table_lookup(t, "ORG", 3);
	CHECK(e != NULL);
	if (e != NULL) {
		/* the comment is gone, the value trimmed, the line counted */
		CHECK_STR_EQ(
		    e->value, "example.org:sel1:keys/example.org.rsa.private");
		CHECK_INT_EQ(e->line, 6);
	}
	CHECK(table_lookup(t, "or", 2) == NULL);
	CHECK(table_lookup(t, "orgx", 4) == NULL);
	CHECK(table_lookup(t, "nothing", 7) == NULL);
	CHECK_INT_EQ(table_lookup_all(t, "any", 3, all, 4), 1);
	table_free(t);
	CHECK(table_free(NULL) == NULL);
}

struct addr_case {
	const char *name, *local, *domain;
	bool all;
	size_t n;
	const char *first, *last; /* values (key name part) */
};

static void
check_addr_cases(struct table *t, const struct addr_case *c, size_t n)
{
	const struct table_entry *got[8];
	size_t i, k;

	for (i = 0; i < n; i++) {
		k = table_lookup_address(
		    t, c[i].local, c[i].domain, c[i].all, got, 8);
		if (k != c[i].n)
			fprintf(stderr, "case %s\n", c[i].name);
		CHECK_INT_EQ(k, c[i].n);
		if (k == 0 || k != c[i].n)
			continue;
		CHECK(strncmp(got[0]->value, c[i].first, strlen(c[i].first)) ==
		      0);
		CHECK(strncmp(got[k - 1]->value, c[i].last,
		          strlen(c[i].last)) == 0);
	}
}

static void
test_signing_file(void)
{
	static const struct addr_case cases[] = {
	    {"domain first", "joe", "example.com", false, 1, "rsa._domainkey",
	        "rsa._domainkey"},
	    {"domain all (dual rsa+ed25519, then *)", "joe", "Example.COM",
	        true, 3, "rsa._domainkey", "any"},
	    {"user@domain", "boss", "example.org", false, 1,
	        "org\tboss@example.org", "org"},
	    {"other user falls to *", "clerk", "example.org", false, 1, "any",
	        "any"},
	    {"parent .domain", "x", "mail.example.net", false, 1, "any", "any"},
	    {"the domain itself is not .domain", "x", "example.net", false, 1,
	        "any\tops@%", "any"},
	    {"empty local", "", "example.com", false, 1, "rsa._domainkey",
	        "rsa"},
	};
	struct table *t = open_table("file:" DATA "SigningTable");
	const struct table_entry *got[2];
	char longlocal[400];

	if (t == NULL)
		return;
	check_addr_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	/* longer than RFC 5321 allows: never looked up */
	memset(longlocal, 'a', sizeof(longlocal) - 1);
	longlocal[sizeof(longlocal) - 1] = '\0';
	CHECK_INT_EQ(
	    table_lookup_address(t, longlocal, "example.com", false, got, 2),
	    0);
	/* max bounds what is stored */
	CHECK_INT_EQ(
	    table_lookup_address(t, "joe", "example.com", true, got, 2), 2);
	table_free(t);
}

static void
test_signing_refile(void)
{
	static const struct addr_case cases[] = {
	    {"first pattern", "joe", "example.com", false, 1, "rsa._domainkey",
	        "rsa._domainkey"},
	    {"all patterns in file order", "joe", "EXAMPLE.com", true, 3,
	        "rsa._domainkey", "any"},
	    {"subdomain pattern", "x", "a.b.example.org", false, 1, "org",
	        "org"},
	    {"anchored: no suffix match", "x", "example.com.evil", false, 1,
	        "any", "any"},
	};
	struct table *t = open_table("refile:" DATA "SigningTable.re");

	if (t == NULL)
		return;
	CHECK(t->ops->patterns);
	check_addr_cases(t, cases, sizeof(cases) / sizeof(cases[0]));
	table_free(t);
}

static void
test_glob(void)
{
	static const struct {
		const char *pat, *s;
		bool want;
	} cases[] = {
	    {"*", "", true},
	    {"", "", true},
	    {"", "a", false},
	    {"a*b", "ab", true},
	    {"a*b", "axxb", true},
	    {"a*b", "axxbc", false},
	    {"a*b*c", "axxbyyc", true},
	    {"*@example.com", "X@EXAMPLE.com", true},
	    {"*@example.com", "x@example.com.evil", false},
	    {"*@example.com", "x@sub.example.com", false},
	    {"*example.com", "x@sub.example.com", true},
	    {"a", "ab", false},
	    {"**", "x", true},
	    {"?", "x", false}, /* only '*' is special */
	    {"a.c", "abc", false},
	    {"*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = table_glob(cases[i].pat, strlen(cases[i].pat),
		    cases[i].s, strlen(cases[i].s));

		if (got != cases[i].want)
			fprintf(stderr, "glob \"%s\" \"%s\"\n", cases[i].pat,
			    cases[i].s);
		CHECK(got == cases[i].want);
	}
}

struct host_case {
	const char *ip;   /* NULL: no address */
	const char *host; /* NULL: no name */
	bool want;
};

static void
check_hosts(const struct table_hosts *h, const struct host_case *c, size_t n)
{
	struct table_ip ip;
	size_t i;

	for (i = 0; i < n; i++) {
		bool got;

		if (c[i].ip != NULL)
			CHECK_INT_EQ(table_ip_parse(c[i].ip, &ip), 0);
		got = table_hosts_match(h, c[i].ip ? &ip : NULL, c[i].host);
		if (got != c[i].want)
			fprintf(stderr, "hosts %s %s: want %d\n",
			    c[i].ip ? c[i].ip : "-",
			    c[i].host ? c[i].host : "-", c[i].want);
		CHECK(got == c[i].want);
	}
}

static void
test_hosts_file(void)
{
	static const struct host_case cases[] = {
	    {"127.0.0.1", NULL, true},
	    {"127.0.0.2", NULL, false},
	    {"::1", NULL, true},
	    {"::2", NULL, false},
	    {"::ffff:127.0.0.1", NULL, true}, /* mapped client */
	    {"192.168.1.1", NULL, true},
	    {"192.168.99.1", NULL, false}, /* ! /24 inside /16 */
	    {"192.168.99.7", NULL, true},  /* /32 beats ! /24 */
	    {"10.1.200.1", NULL, true},    /* masked netmask */
	    {"10.2.0.1", NULL, false},
	    {"2001:db8:1::1", NULL, true},
	    {"2001:db8:bad::1", NULL, false},
	    {"2001:db9::1", NULL, false},
	    {"::ffff:192.168.1.1", NULL, true},
	    {NULL, "mail.example.com", true},
	    {NULL, "MAIL.Example.COM.", true},
	    {NULL, "mx.example.com", false},
	    {NULL, "x.corp.example.com", true},
	    {NULL, "corp.example.com", false}, /* .x is below x */
	    {NULL, "bad.corp.example.com", false},
	    {NULL, "a.bad.corp.example.com", true},
	    {NULL, "[192.168.1.1]", false}, /* literal, no name */
	    {"203.0.113.1", "mail.example.com", true},
	    {"192.168.1.1", "bad.corp.example.com", true},
	    {NULL, NULL, false},
	};
	struct table_hosts *h = NULL;
	struct buf err;

	buf_init(&err, 4096);
	CHECK_INT_EQ(
	    table_hosts_open("file:" DATA "InternalHosts", "conf:1", &h, &err),
	    0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	if (h != NULL) {
		CHECK_INT_EQ(table_hosts_count(h), 11);
		check_hosts(h, cases, sizeof(cases) / sizeof(cases[0]));
	}
	table_hosts_free(h);
	CHECK(table_hosts_free(NULL) == NULL);
	CHECK(!table_hosts_match(NULL, NULL, "x"));
	buf_free(&err);
}

static void
test_hosts_refile_and_csl(void)
{
	static const struct host_case re_cases[] = {
	    {NULL, "x.example.pw", true},
	    {NULL, "X.EXAMPLE.PW", true},
	    {NULL, "example.pw", false},
	    {NULL, "a.guest.example.pw", false}, /* '!' pattern */
	    {NULL, "localhost", true},
	    {"192.168.0.77", NULL, true}, /* 192.168.0.1/24 masked */
	    {"192.168.1.77", NULL, false},
	};
	static const struct host_case csl_cases[] = {
	    {"127.0.0.1", NULL, true},
	    {"::1", NULL, true},
	    {"10.9.9.9", NULL, true},
	    {"10.0.0.1", NULL, false},
	    {NULL, "a.example.com", true},
	};
	struct table_hosts *h = NULL;
	struct buf err;

	buf_init(&err, 4096);
	CHECK_INT_EQ(table_hosts_open(
	                 "refile:" DATA "TrustedHosts.re", "conf:1", &h, &err),
	    0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	if (h != NULL)
		check_hosts(
		    h, re_cases, sizeof(re_cases) / sizeof(re_cases[0]));
	h = table_hosts_free(h);
	CHECK_INT_EQ(table_hosts_open(" 127.0.0.1 ,::1,, 10.0.0.0/8,"
	                              "!10.0.0.0/24,.example.com",
	                 "conf:3", &h, &err),
	    0);
	if (h != NULL)
		check_hosts(
		    h, csl_cases, sizeof(csl_cases) / sizeof(csl_cases[0]));
	h = table_hosts_free(h);
	CHECK_INT_EQ(table_hosts_open("csl:192.0.2.1", "conf:3", &h, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	h = table_hosts_free(h);
	/* inline lists report where they were written */
	CHECK_INT_EQ(
	    table_hosts_open("127.0.0.1,1.2.3.4/40", "conf:7", &h, &err),
	    -EINVAL);
	CHECK(h == NULL);
	CHECK_STR_EQ(
	    buf_cstr(&err), "conf:7: \"1.2.3.4/40\": bad prefix length\n");
	buf_free(&err);
}

static void
test_hosts_bad(void)
{
	struct table_hosts *h = NULL;
	struct buf err;

	buf_init(&err, 4096);
	CHECK_INT_EQ(table_hosts_open(
	                 "file:" DATA "InternalHosts.bad", "conf:1", &h, &err),
	    -EINVAL);
	CHECK(h == NULL);
	CHECK_STR_EQ(buf_cstr(&err), DATA
	    "InternalHosts.bad:2: \"192.168.0.0/33\": bad prefix length\n" DATA
	    "InternalHosts.bad:3: \"10.0.0.300\": bad IPv4 address\n" DATA
	    "InternalHosts.bad:4: \"2001:db8::zz\": bad IPv6 address\n" DATA
	    "InternalHosts.bad:5: \"*.example.com\": wildcard '*' needs "
	    "a refile: list (opendkim never matched it in a file: list)\n" DATA
	    "InternalHosts.bad:6: \"name.example.com\": one entry per "
	    "line\n" DATA
	    "InternalHosts.bad:7: \"10.0.0.0/255.0.255.0\": bad prefix "
	    "length\n");
	buf_reset(&err);
	CHECK_INT_EQ(
	    table_hosts_open("file:" DATA "no-such-file", "conf:1", &h, &err),
	    -ENOENT);
	CHECK_STR_EQ(
	    buf_cstr(&err), DATA "no-such-file: No such file or directory\n");
	buf_reset(&err);
	CHECK_INT_EQ(table_hosts_open("file:", "conf:9", &h, &err), -EINVAL);
	CHECK_STR_EQ(buf_cstr(&err), "conf:9: \"file:\": no file name\n");
	buf_free(&err);
}

static void
test_table_errors(void)
{
	char path[] = "/tmp/test_table.XXXXXX";
	struct table *t = NULL;
	struct buf err, want;
	FILE *f;
	int fd, i;

	buf_init(&err, 4096);
	buf_init(&want, 4096);
	CHECK_INT_EQ(table_open("relative/KeyTable", &t, &err), -EINVAL);
	CHECK_STR_EQ(buf_cstr(&err),
	    "relative/KeyTable: not a table: want "
	    "file:/path, refile:/path or an absolute path\n");
	buf_reset(&err);
	CHECK_INT_EQ(table_open("file:" DATA "missing", &t, &err), -ENOENT);
	CHECK_STR_EQ(
	    buf_cstr(&err), DATA "missing: No such file or directory\n");
	buf_reset(&err);
	CHECK_INT_EQ(table_open("file:" DATA, &t, &err), -EISDIR);
	buf_reset(&err);
	/* an over-long line and a NUL byte, each named by line */
	fd = mkstemp(path);
	CHECK(fd >= 0);
	f = fdopen(fd, "w");
	if (f == NULL)
		return;
	fputs("ok value\n", f);
	for (i = 0; i < 9000; i++)
		fputc('x', f);
	fwrite("\nnul\0byte\nlast one\n", 1, 19, f);
	fputc('\0', f);
	fclose(f);
	CHECK_INT_EQ(table_open(path, &t, &err), -EINVAL);
	CHECK(t == NULL);
	buf_addf(&want,
	    "%s:2: line too long\n%s:3: NUL byte in line\n"
	    "%s:5: NUL byte in line\n",
	    path, path, path);
	CHECK_STR_EQ(buf_cstr(&err), buf_cstr(&want));
	unlink(path);
	buf_free(&err);
	buf_free(&want);
}

static void
test_ip(void)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	struct sockaddr sa = {.sa_family = AF_UNIX};
	struct table_ip a, b;

	inet_pton(AF_INET, "192.0.2.1", &in.sin_addr);
	CHECK_INT_EQ(table_ip_from_sockaddr(&in, &a), 0);
	CHECK_INT_EQ(table_ip_parse("::ffff:192.0.2.1", &b), 0);
	CHECK_MEM_EQ(a.b, 16, b.b, 16);
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	CHECK_INT_EQ(table_ip_from_sockaddr(&in6, &a), 0);
	CHECK_INT_EQ(table_ip_parse("2001:DB8::1", &b), 0);
	CHECK_MEM_EQ(a.b, 16, b.b, 16);
	CHECK_INT_EQ(table_ip_from_sockaddr(&sa, &a), -EAFNOSUPPORT);
	CHECK_INT_EQ(table_ip_parse("192.0.2", &a), -EINVAL);
	CHECK_INT_EQ(table_ip_parse("", &a), -EINVAL);
}

/* The reference: the longest prefix wins, '!' wins ties. */
static int
brute_match(
    const uint32_t *net, const int *len, const bool *neg, int n, uint32_t ip)
{
	int i, best = -1, res = 0;

	for (i = 0; i < n; i++) {
		uint32_t m = len[i] ? 0xffffffffu << (32 - len[i]) : 0;

		if ((ip & m) != net[i] || len[i] < best)
			continue;
		if (len[i] > best || neg[i])
			res = !neg[i];
		best = len[i];
	}
	return res;
}

static void
test_hosts_large(void)
{
	enum { N = 5000, Q = 20000 };
	static uint32_t net[N];
	static int len[N];
	static bool neg[N];
	struct table_hosts *h = NULL;
	struct table_ip ip;
	struct buf spec, err;
	char a[INET_ADDRSTRLEN];
	int i, bad = 0;
	unsigned seed = 12345;

	buf_init(&spec, 1 << 20);
	buf_init(&err, 4096);
	for (i = 0; i < N; i++) {
		static const int lens[] = {8, 12, 16, 20, 24, 28, 32};
		uint32_t r =
		    (uint32_t)rand_r(&seed) << 8 ^ (uint32_t)rand_r(&seed);
		uint32_t be;

		len[i] = lens[rand_r(&seed) % 7];
		net[i] = (0x0a000000u | (r & 0x00ffffffu)) &
		         (0xffffffffu << (32 - len[i]));
		neg[i] = rand_r(&seed) % 5 == 0;
		be = htonl(net[i]);
		inet_ntop(AF_INET, &be, a, sizeof(a));
		buf_addf(&spec, "%s%s%s/%d", i ? "," : "", neg[i] ? "!" : "", a,
		    len[i]);
	}
	CHECK_INT_EQ(table_hosts_open(buf_cstr(&spec), "gen", &h, &err), 0);
	CHECK_STR_EQ(buf_cstr(&err), "");
	for (i = 0; h != NULL && i < Q; i++) {
		uint32_t q =
		    i % 2 ? net[rand_r(&seed) % N] |
		                ((uint32_t)rand_r(&seed) & 0xff)
		          : 0x0a000000u | ((uint32_t)rand_r(&seed) & 0xffffffu);
		uint32_t be = htonl(q);

		inet_ntop(AF_INET, &be, a, sizeof(a));
		table_ip_parse(a, &ip);
		bad += table_hosts_match(h, &ip, NULL) !=
		       (brute_match(net, len, neg, N, q) != 0);
	}
	CHECK_INT_EQ(bad, 0);
	table_hosts_free(h);
	buf_free(&spec);
	buf_free(&err);
}

int
main(void)
{
	check_fixture(DATA "KeyTable");
	check_fixture(DATA "SigningTable");
	check_fixture(DATA "SigningTable.re");
	check_fixture(DATA "InternalHosts");
	check_fixture(DATA "InternalHosts.bad");
	check_fixture(DATA "TrustedHosts.re");
	test_file_table();
	test_signing_file();
	test_signing_refile();
	test_glob();
	test_hosts_file();
	test_hosts_refile_and_csl();
	test_hosts_bad();
	test_table_errors();
	test_ip();
	test_hosts_large();
	return check_summary("table");
}
