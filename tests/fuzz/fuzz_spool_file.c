/*
 * fuzz_spool_file.c -- the spool file reader (spool_read_file) on
 * arbitrary file contents: line splitting, over-long lines, torn last
 * lines and torn records with whole ones glued after them. Every record
 * handed to the callback must write back to JSON, and the counters must
 * add up.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authmilter/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_record(void *ctx, const struct spool_record *r, const char *path,
    unsigned long line)
{
	unsigned long *n = ctx;
	const char *why;
	struct buf j;

	buf_init(&j, BOUND_SPOOL_RECORD_BYTES);
	if (spool_record_to_json(r, &j, &why) != 0)
		__builtin_trap();
	buf_free(&j);
	(*n)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct spool_read_stats st = {0};
	unsigned long n = 0;
	FILE *f;
	int fd;

	if (path[0] == '\0') {
		snprintf(path, sizeof(path), "/tmp/fuzz_spool_file.XXXXXX");
		if ((fd = mkstemp(path)) < 0)
			abort();
		close(fd);
	}
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	if (spool_read_file(path, fuzz_record, NULL, &n, &st) != 0)
		__builtin_trap();
	/* each line is a record, invalid, or torn; a torn record with a
	 * whole one after it counts as both */
	if (n != st.records || st.records + st.invalid > st.lines ||
	    st.invalid + st.torn > st.lines ||
	    st.lines > st.records + st.invalid + st.torn)
		__builtin_trap();
	return 0;
}
