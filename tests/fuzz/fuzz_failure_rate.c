/*
 * fuzz_failure_rate.c -- the failure-report rate-limit state file parser
 * (failure_rate_parse) on arbitrary bytes; what it reads must format and
 * parse back to the same text, with no line skipped the second time.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/failure_rate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct failure_rate *t = failure_rate_new(), *u = failure_rate_new();
	struct failure_rate_limit l;
	unsigned long bad;
	const char *why;
	struct buf b1, b2;

	buf_init(&b1, 1 << 24);
	buf_init(&b2, 1 << 24);
	if (t != NULL && u != NULL &&
	    failure_rate_parse(t, (const char *)data, size, &bad, &why) == 0) {
		if (failure_rate_format(t, 0, INT64_MAX / 2, &b1) != 0 ||
		    failure_rate_parse(u, b1.data, b1.len, &bad, &why) != 0 ||
		    bad != 0 ||
		    failure_rate_format(u, 0, INT64_MAX / 2, &b2) != 0 ||
		    b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
			__builtin_trap();
		l.count = 1;
		l.seconds = 60;
		(void)failure_rate_allows(t, "domain:example.com", &l, 0);
	}
	if (size < 64) {
		char s[64];

		memcpy(s, data, size);
		s[size] = '\0';
		(void)failure_rate_limit_parse(s, &l);
	}
	buf_free(&b1);
	buf_free(&b2);
	failure_rate_free(t);
	failure_rate_free(u);
	return 0;
}
