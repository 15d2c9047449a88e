/*
 * table_refile.c -- "refile:" tables (opendkim(8), DATA SETS): each key is
 * a pattern where '*' matches any run of characters; a lookup tries every
 * pattern in file order, so the first line that matches wins.
 */
#include <string.h>

#include "authmilter/table.h"

static int
table_refile_index(struct table *t, struct buf *errors)
{
	(void)t;
	(void)errors;
	return 0; /* patterns are matched as written, in file order */
}

static size_t
table_refile_match(const struct table *t, const char *key, size_t key_len,
    const struct table_entry **ret, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < t->n_entries && n < max; i++) {
		const struct table_entry *e = &t->entries[i];

		if (!table_glob(e->key, strlen(e->key), key, key_len))
			continue;
		ret[n++] = e;
	}
	return n;
}

const struct table_ops table_refile_ops = {
    .type = "refile",
    .patterns = true,
    .index = table_refile_index,
    .match = table_refile_match,
    .free_priv = NULL,
};
