/*
 * gen_spool.c -- write a synthetic report spool for the report tests:
 *   gen_spool DIR HOST COUNT DOMAINS IPS DAY_EPOCH [SEED]
 * appends COUNT records (through spool_append, as the milter would) for
 * DOMAINS policy domains d0.example.. and IPS source addresses, all on the
 * UTC day starting at DAY_EPOCH, and prints "COUNT records, N ms".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/spool.h"

static unsigned long long state;

static unsigned
rnd(unsigned n)
{
	state = state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((state >> 33) % n);
}

int
main(int argc, char **argv)
{
	static const char *rua_ext = "mailto:agg@reports.example.net";
	char domain[64], ip[64], rua_own[96], sel[16];
	const char *rua[2] = {rua_own, rua_ext};
	struct spool_dkim dkim = {NULL, sel, AUTH_PASS, NULL};
	struct spool_record r = {.reporting_host = NULL};
	struct spool_stats st = {0};
	struct timespec t0, t1;
	unsigned long i, count, domains, ips;
	time_t day;
	int err;

	if (argc < 7) {
		fprintf(stderr, "usage: gen_spool DIR HOST COUNT DOMAINS IPS "
		                "DAY_EPOCH [SEED]\n");
		return 2;
	}
	count = strtoul(argv[3], NULL, 10);
	domains = strtoul(argv[4], NULL, 10);
	ips = strtoul(argv[5], NULL, 10);
	day = (time_t)strtoll(argv[6], NULL, 10);
	state = argc > 7 ? strtoull(argv[7], NULL, 10) : 1;
	r.reporting_host = argv[2];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < count; i++) {
		unsigned d = rnd((unsigned)domains), k = rnd((unsigned)ips);
		bool pass = rnd(4) != 0;

		snprintf(domain, sizeof(domain), "d%u.example", d);
		snprintf(rua_own, sizeof(rua_own), "mailto:dmarc@%s", domain);
		snprintf(ip, sizeof(ip), "10.%u.%u.%u", k >> 16, (k >> 8) & 255,
		    k & 255);
		snprintf(sel, sizeof(sel), "s%u", rnd(2));
		dkim.domain = domain;
		dkim.result = pass ? AUTH_PASS : AUTH_FAIL;
		r.time = day + rnd(86400);
		r.policy = (struct spool_policy_published){
		    .domain = domain,
		    .p = SPOOL_POLICY_REJECT,
		    .sp = SPOOL_POLICY_QUARANTINE,
		    .discovery_method = SPOOL_DISCOVERY_TREEWALK,
		    .adkim = SPOOL_ALIGN_RELAXED,
		    .aspf = SPOOL_ALIGN_RELAXED,
		    .testing = SPOOL_TESTING_N,
		    .rua = rua,
		    .rua_count = 2,
		};
		r.source_ip = ip;
		r.dmarc = pass ? AUTH_PASS : AUTH_FAIL;
		r.disposition = pass ? SPOOL_DISP_PASS : SPOOL_DISP_REJECT;
		r.dkim_aligned = pass;
		r.header_from = domain;
		r.envelope_from = domain;
		r.envelope_to = "example.org";
		r.dkim = &dkim;
		r.dkim_count = 1;
		r.spf = (struct spool_spf){domain, SPOOL_SCOPE_MFROM,
		    rnd(2) ? AUTH_PASS : AUTH_SOFTFAIL, NULL};
		if ((err = spool_append(argv[1], &r, r.time, &st)) != 0) {
			fprintf(stderr, "gen_spool: %s: %s\n", argv[1],
			    strerror(-err));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lu records, %ld ms\n", st.appended,
	    (long)((t1.tv_sec - t0.tv_sec) * 1000 +
	           (t1.tv_nsec - t0.tv_nsec) / 1000000));
	return 0;
}
