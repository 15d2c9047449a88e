/*
 * fuzz_rotate_state.c -- the key rotation state file parser
 * (rotate_state_parse) on arbitrary bytes; a state that parses must
 * write back to text that parses to the same text.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/rotate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rotate_state s, s2;
	struct buf t1, t2;

	if (rotate_state_parse((const char *)data, size, "fuzz", &s, NULL) != 0)
		return 0;
	buf_init(&t1, 1 << 24);
	buf_init(&t2, 1 << 24);
	rotate_state_format(&s, &t1);
	if (buf_error(&t1) != 0 ||
	    rotate_state_parse(t1.data, t1.len, "again", &s2, NULL) != 0)
		__builtin_trap();
	rotate_state_format(&s2, &t2);
	if (t1.len != t2.len || memcmp(t1.data, t2.data, t1.len) != 0)
		__builtin_trap();
	rotate_state_free(&s);
	rotate_state_free(&s2);
	buf_free(&t1);
	buf_free(&t2);
	return 0;
}
