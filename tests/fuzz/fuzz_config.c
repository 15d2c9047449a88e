/*
 * fuzz_config.c -- the configuration loader on arbitrary text. Relative
 * paths resolve under a directory that does not exist, so table and key
 * loading only ever meets "No such file" unless the input names an
 * absolute path (read-only opens).
 */
#include <stdint.h>

#include "authmilter/buf.h"
#include "authmilter/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *cfg = NULL;
	struct buf err;
	int r;

	buf_init(&err, 1 << 16);
	r = config_load_mem("/nonexistent-fuzz/authmilter.conf",
	    (const char *)data, size, &cfg, &err);
	if ((r == 0) != (cfg != NULL))
		__builtin_trap();
	if (r != 0 && err.len == 0 && buf_error(&err) == 0)
		__builtin_trap(); /* every failure says why */
	config_unref(cfg);
	buf_free(&err);
	return 0;
}
