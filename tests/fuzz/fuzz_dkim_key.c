/*
 * fuzz_dkim_key.c -- the key record parser (tags, base64, DER) on
 * arbitrary bytes, as a TXT answer may hold them.
 */
#include <stdint.h>

#include "authmilter/dkim_pubkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_pubkey *k = NULL;
	struct buf why;

	buf_init(&why, 1024);
	if (dkim_pubkey_parse((const char *)data, size, 0, &k, &why) == 0) {
		if (k == NULL || k->bits == 0)
			__builtin_trap();
		dkim_pubkey_unref(k);
	} else if (why.len == 0)
		__builtin_trap(); /* every refusal says why */
	buf_free(&why);
	return 0;
}
