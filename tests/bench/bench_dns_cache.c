/*
 * bench_dns_cache.c -- the cost of a cached lookup in dns_cache when the
 * cache holds names a sender chose so that they share one bucket under
 * the FNV-1a hash the cache used before hash.h (one long chain), next to
 * the same number of ordinary names.
 *
 *	bench_dns_cache [NAMES [ROUNDS]]	(default 8000 names, 20 rounds)
 *
 * The cache is the daemon's default size (10000 entries, 16384 buckets).
 * The colliding names are "flood-XXXXXX.example" whose FNV-1a hash, as
 * the cache computed it (offset basis xor the type, TXT), has the same
 * low 14 bits. Every name is looked up once to fill the cache, then all
 * of them ROUNDS times in a shuffled order; the figure is wall time per
 * lookup. Uses the public API only, so the same file measures an older
 * tree (the "before" figure in README.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/dns.h"

#define BUCKET_MASK 16383u /* 16384 buckets for 10000 entries */
#define NAME_MAX_LEN 32

static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static uint32_t
fnv_step(uint32_t h, const char *s)
{
	for (; *s != '\0'; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

#define VAR_CHARS 6

struct flood {
	char (*names)[NAME_MAX_LEN];
	size_t n, found;
	char v[VAR_CHARS + 1];
};

/* Extend the variable part at position pos from FNV state h; keep the
 * names whose old bucket is 0. */
static void
flood_walk(struct flood *f, size_t pos, uint32_t h)
{
	size_t i;

	for (i = 0; alnum[i] != '\0' && f->found < f->n; i++) {
		uint32_t g = (h ^ (uint8_t)alnum[i]) * 16777619u;

		f->v[pos] = alnum[i];
		if (pos + 1 < VAR_CHARS)
			flood_walk(f, pos + 1, g);
		else if ((fnv_step(g, ".example") & BUCKET_MASK) == 0)
			snprintf(f->names[f->found++], NAME_MAX_LEN,
			    "flood-%s.example", f->v);
	}
}

/* n names "flood-XXXXXX.example" in one old-FNV bucket of TXT queries. */
static void
colliding(char (*names)[NAME_MAX_LEN], size_t n)
{
	struct flood f = {names, n, 0, {0}};

	flood_walk(
	    &f, 0, fnv_step(2166136261u ^ (uint32_t)DNS_T_TXT, "flood-"));
	if (f.found < n) {
		fprintf(stderr, "only %zu colliding names\n", f.found);
		exit(1);
	}
}

static void
ordinary(char (*names)[NAME_MAX_LEN], size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(names[i], NAME_MAX_LEN, "host%zu.example", i);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ns per cached lookup of the n names, ROUNDS shuffled passes. */
static double
measure(char (*names)[NAME_MAX_LEN], size_t n, unsigned rounds)
{
	struct dns_resolver *z = dns_zone_new(), *c;
	struct dns_rr rr = {0, 1, (const uint8_t *)"x"};
	size_t *order = malloc(n * sizeof(*order)), i, j, t;
	struct dns_answer *a;
	unsigned seed = 1, r;
	double t0, t1;

	if (order == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		if (dns_zone_add_rr(z, names[i], DNS_T_TXT, &rr) != 0)
			exit(1);
		order[i] = i;
	}
	c = dns_cache_new(z, 10000);
	for (i = 0; i < n; i++) { /* fill */
		if (dns_query(c, names[i], DNS_T_TXT, &a) != 0)
			exit(1);
		dns_answer_unref(a);
	}
	for (i = n - 1; i > 0; i--) {
		j = (size_t)rand_r(&seed) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	t0 = now_s();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < n; i++) {
			if (dns_query(c, names[order[i]], DNS_T_TXT, &a) != 0 ||
			    a->status != DNS_OK)
				exit(1);
			dns_answer_unref(a);
		}
	t1 = now_s();
	dns_resolver_free(c);
	free(order);
	return (t1 - t0) * 1e9 / ((double)n * rounds);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 8000;
	unsigned rounds = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20;
	char(*names)[NAME_MAX_LEN];

	if (n == 0 || n > 10000 || rounds == 0) {
		fprintf(stderr, "usage: bench_dns_cache [NAMES<=10000 "
		                "[ROUNDS]]\n");
		return 2;
	}
	names = calloc(n, sizeof(*names));
	if (names == NULL)
		return 1;
	ordinary(names, n);
	printf("cached lookup, %zu ordinary names:            %8.1f ns\n", n,
	    measure(names, n, rounds));
	colliding(names, n);
	printf("cached lookup, %zu names in one FNV-1a bucket: %8.1f ns\n", n,
	    measure(names, n, rounds));
	free(names);
	return 0;
}
