/*
 * fuzz_msg.c -- the header splitter (msg_parse) on arbitrary bytes.
 */
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	const char *why;
	struct msg m;
	size_t off;

	if (a == NULL)
		return 0;
	msg_init(&m, a);
	if (msg_parse(&m, (const char *)data, size, &off, &why) == 0 &&
	    off > size)
		__builtin_trap();
	arena_free(a);
	return 0;
}
