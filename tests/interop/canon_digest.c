/*
 * canon_digest.c -- print the canonical body digest of stdin: the C half
 * of the canon cross-check with dkimpy (canon_dkimpy.py).
 *
 *	canon_digest simple|relaxed CHUNK < body
 *
 * feeds the body CHUNK bytes at a time and prints "<sha256 hex> <length>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/arena.h"
#include "authmilter/canon.h"

int
main(int argc, char **argv)
{
	struct arena *a = arena_new(4096);
	struct canon_body *cb;
	enum canon_alg alg;
	uint8_t dg[CANON_DIGEST_MAX];
	char chunk[65536];
	size_t n, i, step;

	if (argc != 3 || a == NULL ||
	    canon_alg_parse(argv[1], strlen(argv[1]), &alg) != 0 ||
	    (step = strtoul(argv[2], NULL, 10)) == 0 || step > sizeof(chunk)) {
		fprintf(stderr, "usage: canon_digest simple|relaxed CHUNK\n");
		return 2;
	}
	if (canon_body_new(a, alg, CANON_SHA256, -1, &cb) != 0)
		return 1;
	while ((n = fread(chunk, 1, step, stdin)) > 0)
		if (canon_body_update(cb, chunk, n) != 0)
			return 1;
	if (ferror(stdin) || canon_body_final(cb, dg, &n) != 0)
		return 1;
	for (i = 0; i < n; i++)
		printf("%02x", dg[i]);
	printf(" %llu\n", (unsigned long long)canon_body_length(cb));
	arena_free(a);
	return 0;
}
