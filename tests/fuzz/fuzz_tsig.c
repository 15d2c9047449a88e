/*
 * fuzz_tsig.c -- the TSIG key file parser (dns_tsig_parse) on arbitrary
 * bytes; a key that parses has a valid name, a known algorithm and a
 * base64 secret, and nothing else was touched on failure.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/b64.h"
#include "authmilter/dns.h"
#include "authmilter/dns_tsig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t raw[BOUND_TSIG_SECRET_BYTES];
	struct dns_tsig k, before;
	struct buf why;
	size_t n;

	memset(&k, 0x5a, sizeof(k));
	before = k;
	buf_init(&why, 4096);
	if (dns_tsig_parse((const char *)data, size, "fuzz", &k, &why) != 0) {
		/* a reason, and the output untouched */
		if (why.len == 0 || memcmp(&k, &before, sizeof(k)) != 0)
			__builtin_trap();
	} else if (!dns_name_valid(k.name) ||
	           strncmp(k.algorithm, "hmac-sha", 8) != 0 ||
	           b64_decode(k.secret, strlen(k.secret), 0, raw, sizeof(raw),
	               &n) != 0 ||
	           n == 0) {
		__builtin_trap();
	}
	dns_tsig_clear(&k);
	buf_free(&why);
	return 0;
}
