/*
 * fuzz_canon.c -- the streaming body canonicalizer against a plain one.
 *
 * Input: two bytes of l= (0xffff: no limit), one byte that seeds the chunk
 * sizes, then the body. For both algorithms the body is fed whole and in
 * chunks of pseudo-random size; both digests and lengths must equal those
 * of a one-pass reference written the way RFC 6376 §3.4.3/§3.4.4 read
 * (normalise line ends, then relaxed WSP rules, then trailing lines).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "authmilter/arena.h"
#include "authmilter/canon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The canonical body of in (n bytes) into out (room for 2n + 2). */
static size_t
ref_canon(const uint8_t *in, size_t n, enum canon_alg alg, uint8_t *out)
{
	size_t i, j, o = 0, k = 0;
	uint8_t *norm = malloc(2 * n + 2);

	if (norm == NULL)
		abort();
	/* CRLF and bare LF are line ends; a lone CR is a byte */
	for (i = 0, j = 0; i < n; i++) {
		if (in[i] == '\n' ||
		    (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')) {
			norm[j++] = '\r';
			norm[j++] = '\n';
			i += in[i] == '\r';
		} else {
			norm[j++] = in[i];
		}
	}
	for (i = 0; i < j; i++) {
		size_t e = i;

		if (alg == CANON_SIMPLE ||
		    (norm[i] != ' ' && norm[i] != '\t')) {
			out[o++] = norm[i];
			continue;
		}
		while (e < j && (norm[e] == ' ' || norm[e] == '\t'))
			e++;
		/* relaxed: WSP before CRLF goes, other runs are one SP */
		if (!(e + 1 < j && norm[e] == '\r' && norm[e + 1] == '\n'))
			out[o++] = ' ';
		i = e - 1;
	}
	free(norm);
	/* trailing CRLFs: keep one, add one if there is none */
	while (o >= 2 * (k + 1) && out[o - 2 * k - 2] == '\r' &&
	       out[o - 2 * k - 1] == '\n')
		k++;
	if (k == 0) {
		out[o++] = '\r';
		out[o++] = '\n';
	} else {
		o -= 2 * (k - 1);
	}
	if (alg == CANON_RELAXED && o == 2)
		o = 0; /* relaxed: the empty body stays empty */
	return o;
}

static void
fuzz_stream(const uint8_t *body, size_t n, enum canon_alg alg, int64_t limit,
    unsigned seed, uint8_t *dg, uint64_t *total)
{
	struct arena *a = arena_new(1024);
	struct canon_body *cb;
	size_t at = 0, len;

	if (a == NULL || canon_body_new(a, alg, CANON_SHA256, limit, &cb) != 0)
		abort();
	while (at < n) {
		size_t k = seed == 0 ? n - at : seed % 7;

		seed = seed * 1103515245u + 12345u;
		k = k > n - at ? n - at : k;
		if (canon_body_update(cb, (const char *)body + at, k) != 0)
			abort();
		at += k;
	}
	if (canon_body_final(cb, dg, &len) != 0 || len != 32)
		abort();
	*total = canon_body_length(cb);
	arena_free(a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t want[32], whole[32], split[32], *ref;
	uint64_t tw, ts;
	unsigned int dlen;
	int64_t limit;
	size_t n, hashed;
	int alg;

	if (size < 3)
		return 0;
	limit = data[0] << 8 | data[1];
	limit = limit == 0xffff ? -1 : limit;
	n = size - 3;
	if ((ref = malloc(2 * n + 2)) == NULL)
		return 0;
	for (alg = CANON_SIMPLE; alg <= CANON_RELAXED; alg++) {
		size_t rn = ref_canon(data + 3, n, alg, ref);

		hashed =
		    limit >= 0 && (uint64_t)limit < rn ? (size_t)limit : rn;
		if (EVP_Digest(ref, hashed, want, &dlen, EVP_sha256(), NULL) !=
		    1)
			abort();
		fuzz_stream(data + 3, n, alg, limit, 0, whole, &tw);
		fuzz_stream(data + 3, n, alg, limit, data[2] | 1u, split, &ts);
		if (memcmp(whole, want, 32) != 0 || tw != rn ||
		    memcmp(split, want, 32) != 0 || ts != rn)
			__builtin_trap();
	}
	free(ref);
	return 0;
}
