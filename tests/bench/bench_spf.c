/*
 * bench_spf.c -- SPF evaluations per second for a typical record with
 * three includes, through a warm dns_cache in front of dns_zone, and the
 * DNS queries one evaluation makes cold.
 *
 *	bench_spf [ITERATIONS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/arena.h"
#include "authmilter/dns.h"
#include "authmilter/spf.h"

static const struct {
	const char *name, *txt;
} bench_records[] = {
    {"example.com", "v=spf1 ip4:192.0.2.0/24 include:_spf1.example.com "
                    "include:_spf2.example.com include:_spf3.example.com ~all"},
    {"_spf1.example.com",
        "v=spf1 ip4:198.51.100.0/26 "
        "ip4:198.51.100.128/25 ip4:203.0.113.16/28 ip6:2001:db8:10::/48 "
        "ip6:2001:db8:11::/48 ip6:2001:db8:12::/48 ~all"},
    {"_spf2.example.com",
        "v=spf1 ip4:203.0.113.64/27 "
        "ip4:203.0.113.96/27 ip6:2001:db8:20::/44 a:relay.example.com "
        "-all"},
    {"_spf3.example.com",
        "v=spf1 ip4:100.64.0.0/20 ip4:100.64.16.0/20 "
        "ip4:100.64.32.0/19 ip6:2001:db8:30::/40 mx:example.net ?all"},
    {"relay.example.com", NULL},
    {"example.net", NULL},
    {"mx1.example.net", NULL},
};

static struct dns_resolver *
bench_zone(void)
{
	struct dns_resolver *z = dns_zone_new();
	struct dns_rr rr = {0};
	size_t i;

	for (i = 0; i < 4; i++) {
		rr.data = (const uint8_t *)bench_records[i].txt;
		rr.len = strlen(bench_records[i].txt);
		if (dns_zone_add_rr(z, bench_records[i].name, DNS_T_TXT, &rr) !=
		    0)
			exit(1);
	}
	if (dns_zone_add(z, "relay.example.com", DNS_T_A, "203.0.113.200") !=
	        0 ||
	    dns_zone_add(z, "example.net", DNS_T_MX, "10 mx1.example.net.") !=
	        0 ||
	    dns_zone_add(z, "mx1.example.net", DNS_T_A, "100.64.200.25") != 0)
		exit(1);
	return z;
}

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The client matches mx:example.net in the third include: the longest
 * path through the record (every include, the a and mx lookups). */
int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	struct dns_resolver *cache = dns_cache_new(bench_zone(), 1024);
	struct arena *a = arena_new(16384);
	struct spf_request req = {0};
	struct spf_result *res;
	unsigned long hits, misses;
	double t0, t;

	if (a == NULL || spf_ip_parse("100.64.200.25", &req.ip) != 0)
		return 1;
	req.dns = cache;
	req.mail_from = "bounce@example.com";
	req.helo = "mx1.example.net";
	req.now = 1700000000;
	if (spf_check(&req, SPF_MFROM, a, &res) != 0 ||
	    res->result != AUTH_PASS) {
		fprintf(stderr, "unexpected result\n");
		return 1;
	}
	printf("cold: %s (%s), %u DNS queries, %u lookup terms\n",
	    auth_result_name(res->result), res->reason, res->queries,
	    res->lookups);
	arena_reset(a);
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		if (spf_check(&req, SPF_MFROM, a, &res) != 0)
			return 1;
		arena_reset(a);
	}
	t = bench_now() - t0;
	dns_cache_stats(cache, &hits, &misses);
	printf("warm dns_cache: %ld evaluations in %.3f s: %.0f per second, "
	       "%.2f us each (cache hits %lu, misses %lu)\n",
	    n, t, n / t, t / n * 1e6, hits, misses);
	arena_free(a);
	dns_resolver_free(cache);
	return 0;
}
