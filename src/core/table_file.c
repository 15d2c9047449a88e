/*
 * table_file.c -- "file:" tables: exact keys, compared case-insensitively,
 * found by binary search over an index sorted by key then line.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/table.h"
#include "authmilter/xalloc.h"

/* Compare a stored (lower-case) key with a query of n bytes. */
static int
table_file_cmp(const char *stored, const char *q, size_t n)
{
	size_t i;
	int a, b;

	for (i = 0; i < n; i++) {
		a = (unsigned char)stored[i];
		b = tolower((unsigned char)q[i]);
		if (a != b || a == '\0')
			return a - b;
	}
	return stored[n] == '\0' ? 0 : 1;
}

static int
table_file_sort(const void *x, const void *y)
{
	const struct table_entry *a = *(const struct table_entry *const *)x;
	const struct table_entry *b = *(const struct table_entry *const *)y;
	int c = strcmp(a->key, b->key);

	if (c != 0)
		return c;
	return a->line < b->line ? -1 : a->line > b->line;
}

static int
table_file_index(struct table *t, struct buf *errors)
{
	const struct table_entry **idx;
	size_t i;

	(void)errors;
	idx = xcalloc(t->n_entries ? t->n_entries : 1, sizeof(*idx));
	for (i = 0; i < t->n_entries; i++)
		idx[i] = &t->entries[i];
	if (t->n_entries > 0)
		qsort(idx, t->n_entries, sizeof(*idx), table_file_sort);
	t->priv = idx;
	return 0;
}

static size_t
table_file_match(const struct table *t, const char *key, size_t key_len,
    const struct table_entry **ret, size_t max)
{
	const struct table_entry *const *idx = t->priv;
	size_t lo = 0, hi = t->n_entries, mid, n = 0;

	while (lo < hi) { /* first index whose key is >= the query */
		mid = lo + (hi - lo) / 2;
		if (table_file_cmp(idx[mid]->key, key, key_len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < t->n_entries && n < max &&
	       table_file_cmp(idx[lo]->key, key, key_len) == 0;
	     lo++)
		ret[n++] = idx[lo];
	return n;
}

static void
table_file_free(struct table *t)
{
	free(t->priv);
	t->priv = NULL;
}

const struct table_ops table_file_ops = {
    .type = "file",
    .patterns = false,
    .index = table_file_index,
    .match = table_file_match,
    .free_priv = table_file_free,
};
