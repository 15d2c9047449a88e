/*
 * bench_metrics.c -- what the metrics cost: one scrape of authmilter's
 * whole registry (observe.h, with 100 signing domains and 20
 * MetricsDomains as label values), and the counting one message does at
 * its end (observe_message, a signature, a verdict's results), on one
 * thread and on four at once. Prints CPU time per operation; asserts
 * nothing.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/metrics.h"
#include "../../src/milter/observe.h"

#define SCRAPES 2000
#define MESSAGES 1000000

static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct run {
	struct observe *o;
	const struct verdict *v;
	long n;
};

static void *
count(void *arg)
{
	struct run *r = arg;
	long i;

	for (i = 0; i < r->n; i++) {
		observe_signature(r->o, "example.com", DKIM_ALG_RSA_SHA256);
		observe_verdict(r->o, r->v);
		observe_message(r->o, OBSERVE_PATH_VERIFY, OBSERVE_ACCEPT,
		    false, 2048 + (uint64_t)i % 4096, 300 + (uint64_t)i % 5000);
	}
	return NULL;
}

int
main(void)
{
	static char names[120][32];
	char *domains[100], *breakout[20];
	struct dkim_verify_result dkim = {.result = AUTH_PASS};
	struct dmarc_result dmarc = {.result = AUTH_PASS};
	struct spf_result spf = {.result = AUTH_PASS};
	struct verdict v;
	struct config cfg;
	struct observe *o = observe_new();
	struct run r;
	pthread_t t[4];
	struct buf b;
	double t0;
	size_t bytes = 0;
	int i;

	memset(&cfg, 0, sizeof(cfg));
	for (i = 0; i < 120; i++)
		snprintf(names[i], sizeof(names[i]), "domain%d.example", i);
	for (i = 0; i < 100; i++)
		domains[i] = names[i];
	for (i = 0; i < 20; i++)
		breakout[i] = names[100 + i];
	cfg.domains.v = domains;
	cfg.domains.n = 100;
	cfg.metrics_domains.v = breakout;
	cfg.metrics_domains.n = 20;
	observe_config(o, &cfg);
	memset(&v, 0, sizeof(v));
	v.dkim = &dkim;
	v.n_dkim = 1;
	v.spf = &spf;
	v.dmarc = &dmarc;
	r = (struct run){o, &v, MESSAGES};

	t0 = cpu_s();
	count(&r);
	printf("counting at the end of a message (signature, verdict, "
	       "message): %.0f ns CPU, one thread\n",
	    (cpu_s() - t0) * 1e9 / MESSAGES);
	t0 = cpu_s();
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, count, &r);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	printf("the same on 4 threads at once: %.0f ns CPU per message\n",
	    (cpu_s() - t0) * 1e9 / (4.0 * MESSAGES));

	t0 = cpu_s();
	for (i = 0; i < SCRAPES; i++) {
		buf_init(&b, BOUND_METRICS_OUTPUT_BYTES);
		metrics_write(observe_metrics(o), &b);
		bytes = b.len;
		buf_free(&b);
	}
	printf("one scrape (exposition of %zu bytes): %.1f us CPU\n", bytes,
	    (cpu_s() - t0) * 1e6 / SCRAPES);
	observe_free(o);
	return 0;
}
