/*
 * fuzz_tags.c -- tag=value lists (tags_parse) on arbitrary bytes. Checks
 * that every name and value it returns lies inside the input, that names
 * are unique and well-formed, and that an error offset is in range.
 */
#include <stdint.h>
#include <string.h>

#include "authmilter/tags.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_tag(const char *s, size_t size, const struct tag *t)
{
	if (t->name < s || t->name_len == 0 || t->name_len > size ||
	    (size_t)(t->name - s) > size - t->name_len)
		__builtin_trap();
	if (t->value < s || t->value_len > size ||
	    (size_t)(t->value - s) > size - t->value_len)
		__builtin_trap();
	if (memchr(t->name, '=', t->name_len) != NULL ||
	    memchr(t->value, ';', t->value_len) != NULL)
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data, *why = NULL;
	struct tag_list l;
	size_t i, j, where = 0;

	if (tags_parse(s, size, &l, &why, &where) != 0) {
		if (why == NULL || where > size)
			__builtin_trap();
		return 0;
	}
	if (l.count > BOUND_TAGS)
		__builtin_trap();
	for (i = 0; i < l.count; i++) {
		fuzz_check_tag(s, size, &l.tags[i]);
		for (j = 0; j < i; j++)
			if (l.tags[i].name_len == l.tags[j].name_len &&
			    memcmp(l.tags[i].name, l.tags[j].name,
			        l.tags[i].name_len) == 0)
				__builtin_trap();
	}
	return 0;
}
