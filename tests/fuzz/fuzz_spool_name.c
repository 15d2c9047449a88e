/*
 * fuzz_spool_name.c -- spool file names (spool_name_parse) on arbitrary
 * bytes: a name that parses has a kind and a period start that
 * spool_name gives back (the same kind and start for a new name of that
 * period), and a start on the kind's period.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum spool_kind kind, again;
	time_t start, start2;
	struct buf b;
	char *name;

	if ((name = malloc(size + 1)) == NULL)
		return 0;
	memcpy(name, data, size);
	name[size] = '\0'; /* a file name: no NUL inside */
	if (spool_name_parse(name, &kind, &start)) {
		if (start < 0 || start % spool_kind_period(kind) != 0)
			__builtin_trap();
		buf_init(&b, 4096);
		if (spool_name(kind, "h", start, &b) != 0 ||
		    !spool_name_parse(buf_cstr(&b), &again, &start2) ||
		    again != kind || start2 != start)
			__builtin_trap();
		buf_free(&b);
	}
	free(name);
	return 0;
}
