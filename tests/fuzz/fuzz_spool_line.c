/*
 * fuzz_spool_line.c -- the spool reader's record parser
 * (spool_record_from_json) on arbitrary bytes; whatever parses must write
 * back to JSON and parse again to the same line.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	struct spool_record r, r2;
	struct buf j1, j2;
	const char *why;

	if (a == NULL)
		return 0;
	buf_init(&j1, BOUND_SPOOL_RECORD_BYTES);
	buf_init(&j2, BOUND_SPOOL_RECORD_BYTES);
	if (spool_record_from_json((const char *)data, size, a, &r, &why) ==
	    0) {
		/* a record that was read is one that can be written */
		if (spool_record_to_json(&r, &j1, &why) != 0)
			__builtin_trap();
		if (spool_record_from_json(j1.data, j1.len, a, &r2, &why) !=
		        0 ||
		    spool_record_to_json(&r2, &j2, &why) != 0)
			__builtin_trap();
		if (j1.len != j2.len || memcmp(j1.data, j2.data, j1.len) != 0)
			__builtin_trap();
	}
	buf_free(&j1);
	buf_free(&j2);
	arena_free(a);
	return 0;
}
