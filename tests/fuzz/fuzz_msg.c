/*
 * fuzz_msg.c -- the header splitter (msg_parse) on arbitrary bytes: the
 * bounds of msg.h hold, past them included.
 */
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/bounds.h"
#include "authmilter/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new(4096);
	const char *why;
	struct msg m;
	size_t off, i;

	if (a == NULL)
		return 0;
	msg_init(&m, a);
	if (msg_parse(&m, (const char *)data, size, &off, &why) == 0 &&
	    off > size)
		__builtin_trap();
	/* the bounds hold for what is stored (bare LF grown to CRLF), and
	 * for what was kept past them (From, DKIM-Signature) */
	if (m.bytes > BOUND_HEADER_BYTES ||
	    m.reserve_bytes > BOUND_HEADER_RESERVE_BYTES ||
	    m.reserve_count > BOUND_HEADER_RESERVE_FIELDS ||
	    m.count > BOUND_HEADER_COUNT + m.reserve_count ||
	    (m.limit == NULL && (m.dropped > 0 || m.reserve_count > 0)))
		__builtin_trap();
	for (i = 0; i < m.count; i++)
		if (m.headers[i].name_len + m.headers[i].value_len >
		    BOUND_HEADER_FIELD_BYTES)
			__builtin_trap();
	arena_free(a);
	return 0;
}
