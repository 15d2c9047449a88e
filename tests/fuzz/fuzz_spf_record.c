/*
 * fuzz_spf_record.c -- the SPF record parser (spf_record_parse) on
 * arbitrary bytes, with "v=spf1 " put in front when the input lacks it so
 * the terms are reached.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/arena.h"
#include "authmilter/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct spf_record *r;
	const char *why;
	char *text;
	size_t i, n = size;

	if (a == NULL || size > 65536)
		goto out;
	text = arena_alloc(a, size + 8);
	if (text == NULL)
		goto out;
	if (spf_record_is_spf(data, size))
		n = 0;
	else
		memcpy(text, "v=spf1 ", n = 7);
	memcpy(text + n, data, size);
	n += size;
	if (spf_record_parse(a, text, n, &r, &why) == 0) {
		for (i = 0; i < r->nterms; i++)
			if (r->terms[i].text < text ||
			    r->terms[i].text + r->terms[i].text_len >
			        text + n ||
			    r->terms[i].cidr4 > 32 || r->terms[i].cidr6 > 128)
				__builtin_trap();
	} else if (why == NULL)
		__builtin_trap();
out:
	arena_free(a);
	return 0;
}
