/*
 * test_dns_live.c -- the ldns backend against a real nsd on loopback
 * (started by test_dns_live.sh with tests/data/dns/{basic,big}.zone).
 *
 *   test_dns_live up PORT DEADPORT   server running: answers, and the
 *                                    same data as the zone backend gives
 *   test_dns_live down PORT          server stopped: TEMPFAIL in time
 *   test_dns_live slow PORT          PORT is dns_fault_proxy.py in front
 *                                    of the server with slow.example.net
 *                                    delayed: threads sharing one
 *                                    resolver, one of them asking the
 *                                    slow name over and over, the others
 *                                    the zone's other names
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/dns.h"
#include "authmilter/metrics.h"
#include "../unit/check.h"

static struct dns_resolver *
live(const char *servers, unsigned timeout_ms)
{
	struct dns_ldns_options o = {servers, timeout_ms, 1, NULL};
	struct dns_resolver *r = NULL;
	const char *why = "";

	if (dns_ldns_new(&o, &r, &why) != 0) {
		fprintf(stderr, "dns_ldns_new(%s): %s\n", servers, why);
		exit(1);
	}
	return r;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The live answer equals the zone backend's for the same files. */
static void
same(struct dns_resolver *r, struct dns_resolver *z, const char *name,
    enum dns_type t, enum dns_status want)
{
	struct dns_answer *a = NULL, *b = NULL;
	size_t i;

	CHECK_INT_EQ(dns_query(r, name, t, &a), 0);
	CHECK_INT_EQ(dns_query(z, name, t, &b), 0);
	if (a == NULL || b == NULL)
		goto out;
	if (a->status != want)
		fprintf(stderr, "%s %s: %s (%s)\n", name, dns_type_name(t),
		    dns_status_name(a->status), a->why);
	CHECK_INT_EQ(a->status, want);
	CHECK_INT_EQ(b->status, want);
	CHECK_INT_EQ(a->count, b->count);
	for (i = 0; i < a->count && i < b->count; i++) {
		CHECK_INT_EQ(a->rrs[i].pref, b->rrs[i].pref);
		CHECK_MEM_EQ(a->rrs[i].data, a->rrs[i].len, b->rrs[i].data,
		    b->rrs[i].len);
	}
	if (want == DNS_OK)
		CHECK_INT_EQ(a->ttl, b->ttl);
out:
	dns_answer_unref(a);
	dns_answer_unref(b);
}

static void
test_up(const char *port, const char *dead)
{
	static const struct {
		const char *name;
		enum dns_type type;
		enum dns_status want;
	} cases[] = {
	    {"example.com", DNS_T_TXT, DNS_OK},
	    {"Example.COM.", DNS_T_TXT, DNS_OK},
	    {"multi.example.com", DNS_T_TXT, DNS_OK},
	    {"big.example.com", DNS_T_TXT, DNS_OK},
	    {"alias.example.com", DNS_T_TXT, DNS_OK},
	    {"example.com", DNS_T_MX, DNS_OK},
	    {"mx1.example.com", DNS_T_A, DNS_OK},
	    {"mx2.example.com", DNS_T_AAAA, DNS_OK},
	    {"1.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK},
	    {"other.example.net", DNS_T_TXT, DNS_OK},
	    {"nope.example.com", DNS_T_TXT, DNS_NXDOMAIN},
	    {"mx1.example.com", DNS_T_TXT, DNS_NODATA},
	    {"deep.example.com", DNS_T_TXT, DNS_NODATA},
	};
	const char *src = getenv("AUTHMILTER_SOURCE_ROOT");
	char servers[128], path[4096], *why = NULL;
	struct dns_resolver *r, *z = dns_zone_new();
	struct dns_answer *a = NULL;
	double t0;
	size_t i;

	snprintf(servers, sizeof(servers), "127.0.0.1@%s ::1@%s", port, port);
	r = live(servers, 2000);
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/tests/data/dns/%s",
		    src ? src : "../..", i == 0 ? "basic.zone" : "big.zone");
		CHECK_INT_EQ(dns_zone_load(z, path, &why), 0);
		free(why);
		why = NULL;
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		same(r, z, cases[i].name, cases[i].type, cases[i].want);
	/* 3000 bytes of TXT: truncated over UDP, complete over TCP */
	if (dns_query(r, "big.example.com", DNS_T_TXT, &a) == 0) {
		CHECK_INT_EQ(a->count, 1);
		CHECK_INT_EQ(a->rrs[0].len, 3000);
		a = dns_answer_unref(a);
	}
	/* negative TTL from the SOA the server sends (root zone: 60) */
	if (dns_query(r, "nope.example.com", DNS_T_TXT, &a) == 0) {
		CHECK_INT_EQ(a->ttl, 60);
		a = dns_answer_unref(a);
	}
	CHECK_INT_EQ(dns_resolver_queries(r), 15);
	dns_resolver_free(r);
	/* IPv6 alone */
	snprintf(servers, sizeof(servers), "::1@%s", port);
	r = live(servers, 2000);
	same(r, z, "multi.example.com", DNS_T_TXT, DNS_OK);
	dns_resolver_free(r);
	/* nobody listens: TEMPFAIL within timeout x tries (+ slack) */
	snprintf(servers, sizeof(servers), "127.0.0.1@%s", dead);
	r = live(servers, 500);
	t0 = now_s();
	if (dns_query(r, "example.com", DNS_T_TXT, &a) == 0) {
		CHECK_INT_EQ(a->status, DNS_TEMPFAIL);
		CHECK(strstr(a->why, servers) != NULL);
		a = dns_answer_unref(a);
	}
	CHECK(now_s() - t0 < 3.0);
	dns_resolver_free(r);
	dns_resolver_free(z);
}

static void
test_down(const char *port)
{
	struct dns_resolver *r;
	struct dns_answer *a = NULL;
	char servers[64];
	double t0;

	snprintf(servers, sizeof(servers), "127.0.0.1@%s", port);
	r = live(servers, 500);
	t0 = now_s();
	if (dns_query(r, "example.com", DNS_T_TXT, &a) == 0) {
		if (a->status != DNS_TEMPFAIL)
			fprintf(
			    stderr, "down: %s\n", dns_status_name(a->status));
		CHECK_INT_EQ(a->status, DNS_TEMPFAIL);
		CHECK(strstr(a->why, servers) != NULL);
		fprintf(stderr, "down: why \"%s\"\n", a->why);
		dns_answer_unref(a);
	}
	CHECK(now_s() - t0 < 3.0);
	dns_resolver_free(r);
}

#define SLOW_THREADS 4
#define SLOW_ROUNDS 40

struct slow_worker {
	struct dns_resolver *r;
	bool slow; /* asks the slow name */
	unsigned asked, ok, cut, bad;
};

static void *
slow_run(void *arg)
{
	static const char *const names[] = {"example.com", "multi.example.com",
	    "other.example.net", "alias.example.com"};
	struct slow_worker *w = arg;
	struct dns_answer *a;
	unsigned i;

	for (i = 0; i < (w->slow ? 4 : SLOW_ROUNDS); i++) {
		const char *n = w->slow ? "slow.example.net" : names[i % 4];

		/* the slow name: a deadline 300 ms away, shorter than the
		 * per-try timeout */
		if (dns_query_by(w->r, n, DNS_T_TXT,
		        w->slow ? dns_clock_ms() + 300 : 0, &a) != 0) {
			w->bad++;
			continue;
		}
		w->asked++;
		if (a->status == DNS_OK)
			w->ok++;
		else if (a->cut_short && a->unanswered)
			w->cut++;
		else
			fprintf(stderr, "slow: %s: %s (%s)\n", n,
			    dns_status_name(a->status), a->why);
		dns_answer_unref(a);
	}
	return NULL;
}

/* One name is slow: the queries for it end at their deadline, cut short;
 * the other threads' queries, on the same resolver (and so on the pooled
 * ldns objects the slow queries used), all succeed. Then the slow name's
 * resolver objects serve fast names too. */
static void
test_slow(const char *port)
{
	struct slow_worker w[SLOW_THREADS];
	pthread_t t[SLOW_THREADS];
	struct dns_resolver *r;
	struct dns_answer *a = NULL;
	char servers[64];
	int i;

	snprintf(servers, sizeof(servers), "127.0.0.1@%s", port);
	r = live(servers, 1000);
	for (i = 0; i < SLOW_THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].r = r;
		w[i].slow = i == 0;
		CHECK_INT_EQ(pthread_create(&t[i], NULL, slow_run, &w[i]), 0);
	}
	for (i = 0; i < SLOW_THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_INT_EQ(w[0].cut, 4);
	for (i = 1; i < SLOW_THREADS; i++) {
		CHECK_INT_EQ(w[i].bad, 0);
		CHECK_INT_EQ(w[i].ok, SLOW_ROUNDS);
	}
	/* the slow name without a deadline: both tries time out, and the
	 * very next query (same pooled object, this thread) is answered */
	if (dns_query(r, "slow.example.net", DNS_T_TXT, &a) == 0) {
		CHECK_INT_EQ(a->status, DNS_TEMPFAIL);
		CHECK(a->unanswered && !a->cut_short);
		a = dns_answer_unref(a);
	}
	if (dns_query(r, "example.com", DNS_T_TXT, &a) == 0) {
		CHECK_INT_EQ(a->status, DNS_OK);
		a = dns_answer_unref(a);
	}
	dns_resolver_free(r);
}

/* ask name/t through r once, the answer dropped */
static void
ask(struct dns_resolver *r, const char *name, enum dns_type t)
{
	struct dns_answer *a = NULL;

	CHECK_INT_EQ(dns_query(r, name, t, &a), 0);
	dns_answer_unref(a);
}

/* The DNS metrics of a real server's answers: each outcome is counted
 * under its type, every query is in the latency histogram, and the cache
 * in front counts a hit for a repeated question. dead: servers is a port
 * nobody answers on, for the timeout. */
static void
test_metrics(const char *servers, bool dead)
{
	struct metrics *m = metrics_new();
	struct dns_metrics dm;
	struct dns_ldns_options o = {servers, dead ? 200 : 1000, 1, &dm};
	struct dns_resolver *r = NULL, *c;
	const char *why = "";

	dns_metrics_register(m, &dm);
	CHECK_INT_EQ(dns_ldns_new(&o, &r, &why), 0);
	if (r == NULL) {
		metrics_free(m);
		return;
	}
	c = dns_cache_new(r, 100);
	dns_cache_set_metrics(c, &dm);
	if (dead) {
		ask(c, "example.com", DNS_T_TXT);
		CHECK_INT_EQ(
		    metrics_get(dm.queries, 4, DNS_OUTCOME_TIMEOUT), 1);
		CHECK_INT_EQ(metrics_get(dm.cache, 1, 0), 1);
	} else {
		ask(c, "example.com", DNS_T_TXT);
		ask(c, "example.com", DNS_T_TXT); /* from the cache */
		ask(c, "mx1.example.com", DNS_T_A);
		ask(c, "nowhere.example.com", DNS_T_TXT);
		ask(c, "mx1.example.com", DNS_T_MX);
		ask(c, "loop1.example.com", DNS_T_TXT); /* CNAME loop */
		CHECK_INT_EQ(metrics_get(dm.queries, 4, DNS_OUTCOME_ANSWER), 1);
		CHECK_INT_EQ(metrics_get(dm.queries, 0, DNS_OUTCOME_ANSWER), 1);
		CHECK_INT_EQ(
		    metrics_get(dm.queries, 4, DNS_OUTCOME_NXDOMAIN), 1);
		CHECK_INT_EQ(metrics_get(dm.queries, 2, DNS_OUTCOME_NODATA), 1);
		CHECK_INT_EQ(metrics_get(dm.queries, 4, DNS_OUTCOME_ERROR), 1);
		CHECK_INT_EQ(metrics_get(dm.cache, 0, 0), 1); /* hit */
		CHECK_INT_EQ(metrics_get(dm.cache, 1, 0), 5); /* misses */
		CHECK_INT_EQ(metrics_get(dm.duration, 0, 0), 5);
	}
	dns_resolver_free(c);
	metrics_free(m);
}

int
main(int argc, char **argv)
{
	char servers[64];

	if (argc >= 3)
		snprintf(servers, sizeof(servers), "127.0.0.1@%s", argv[2]);
	if (argc == 4 && strcmp(argv[1], "up") == 0) {
		test_up(argv[2], argv[3]);
		test_metrics(servers, false);
	} else if (argc == 3 && strcmp(argv[1], "down") == 0) {
		test_down(argv[2]);
		test_metrics(servers, true);
	} else if (argc == 3 && strcmp(argv[1], "slow") == 0)
		test_slow(argv[2]);
	else {
		fprintf(stderr, "usage: test_dns_live up PORT DEADPORT | "
		                "down PORT | slow PROXYPORT\n");
		return 2;
	}
	return check_summary("dns_live");
}
