/*
 * bench_canon.c -- body canonicalization + SHA-256 throughput (MB/s) for
 * simple and relaxed on a 1 MB text body fed in 8 KB chunks, next to raw
 * EVP SHA-256 over the same bytes in 8 KB blocks, measured in the same
 * run. Prints figures; asserts nothing.
 *
 *	bench_canon [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <openssl/evp.h>

#include "authmilter/arena.h"
#include "authmilter/canon.h"

#define BENCH_BODY (1024 * 1024)
#define BENCH_CHUNK 8192

static double
bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Lines of about 70 characters of words, one in eight ending with WSP,
 * some with a tab or a double space inside, an empty line now and then. */
static char *
bench_body(size_t *ret_len)
{
	char *b = malloc(BENCH_BODY + 128);
	size_t n = 0, line = 0;
	unsigned seed = 1;

	if (b == NULL)
		exit(1);
	while (n < BENCH_BODY) {
		size_t col = 0, w;

		while (col < 66) {
			seed = seed * 1103515245u + 12345u;
			w = 2 + (seed >> 16) % 9;
			while (w-- > 0)
				b[n++] = (char)('a' + (seed >> (w % 16)) % 26),
				col++;
			b[n++] = (seed >> 8) % 23 == 0 ? '\t' : ' ';
			if ((seed >> 12) % 31 == 0)
				b[n++] = ' ';
			col++;
		}
		if (line % 8 != 0)
			n--; /* most lines end without WSP */
		b[n++] = '\r';
		b[n++] = '\n';
		if (line++ % 20 == 19) {
			b[n++] = '\r';
			b[n++] = '\n';
		}
	}
	*ret_len = n;
	return b;
}

/* MB/s of canon (alg) or, with raw, of plain EVP SHA-256. */
static double
bench_run(const char *body, size_t len, int alg, bool raw, double secs)
{
	struct arena *a = arena_new(4096);
	double start = bench_now(), t;
	uint64_t bytes = 0;
	uint8_t dg[EVP_MAX_MD_SIZE];
	size_t dlen, at;
	unsigned int ulen;

	do {
		struct canon_body *cb = NULL;
		EVP_MD_CTX *md = NULL;

		if (raw) {
			md = EVP_MD_CTX_new();
			if (md == NULL ||
			    EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
				exit(1);
		} else if (canon_body_new(a, alg, CANON_SHA256, -1, &cb) != 0) {
			exit(1);
		}
		for (at = 0; at < len; at += BENCH_CHUNK) {
			size_t k =
			    len - at < BENCH_CHUNK ? len - at : BENCH_CHUNK;

			if (raw ? EVP_DigestUpdate(md, body + at, k) != 1
			        : canon_body_update(cb, body + at, k) != 0)
				exit(1);
		}
		if (raw ? EVP_DigestFinal_ex(md, dg, &ulen) != 1
		        : canon_body_final(cb, dg, &dlen) != 0)
			exit(1);
		EVP_MD_CTX_free(md);
		arena_reset(a);
		bytes += len;
		t = bench_now() - start;
	} while (t < secs);
	arena_free(a);
	return (double)bytes / t / 1e6;
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	double raw, simple, relaxed;
	size_t len;
	char *body = bench_body(&len);

	raw = bench_run(body, len, 0, true, secs);
	simple = bench_run(body, len, CANON_SIMPLE, false, secs);
	relaxed = bench_run(body, len, CANON_RELAXED, false, secs);
	printf("body %zu bytes, chunks of %d bytes\n", len, BENCH_CHUNK);
	printf("raw EVP sha256       %8.1f MB/s\n", raw);
	printf("canon simple+sha256  %8.1f MB/s  (%.2f of raw)\n", simple,
	    simple / raw);
	printf("canon relaxed+sha256 %8.1f MB/s  (%.2f of raw)\n", relaxed,
	    relaxed / raw);
	free(body);
	return 0;
}
