/*
 * fuzz_b64.c -- b64_decode on arbitrary bytes, under each flag set (the
 * first byte picks it), into a buffer that may be too small (the second
 * byte sizes it). Checks the length bounds, that a decoded result
 * encodes and decodes back to itself, and that -ERANGE only means "too
 * small" (the same text decodes into room enough).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "authmilter/b64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input is at most this long; longer inputs are cut. */
#define FUZZ_B64_MAX 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[FUZZ_B64_MAX], again[FUZZ_B64_MAX];
	const char *s = (const char *)data + 2;
	size_t n, len = 0, len2 = 0, room;
	unsigned flags;
	struct buf enc;
	int r;

	if (size < 2)
		return 0;
	flags = data[0] & (B64_FWS | B64_PAD_OPTIONAL);
	room = data[1] == 0xff ? sizeof(out) : data[1];
	n = size - 2 > FUZZ_B64_MAX ? FUZZ_B64_MAX : size - 2;
	r = b64_decode(s, n, flags, out, room, &len);
	if (r == -ERANGE) {
		if (room == sizeof(out) ||
		    b64_decode(s, n, flags, out, sizeof(out), &len) != 0 ||
		    len <= room)
			__builtin_trap();
		room = sizeof(out);
	} else if (r != 0) {
		if (r != -EINVAL)
			__builtin_trap();
		return 0;
	}
	if (len > room || len > n / 4 * 3 + 2)
		__builtin_trap();
	buf_init(&enc, 2 * FUZZ_B64_MAX);
	b64_encode(&enc, out, len);
	if (buf_error(&enc) != 0 || enc.len % 4 != 0 ||
	    b64_decode(enc.data, enc.len, 0, again, sizeof(again), &len2) !=
	        0 ||
	    len2 != len || memcmp(out, again, len) != 0)
		__builtin_trap();
	buf_free(&enc);
	return 0;
}
