/*
 * report.c -- aggregation of spool records into report rows: one hash
 * map from row key to row, one from policy domain to domain. Memory grows
 * with distinct rows and policy changes, not with records. See report.h.
 *
 * The maps hash with the keyed hash (hash.h): the keys hold what senders
 * chose (From domains, DKIM domains and selectors, source addresses), and
 * open addressing with linear probing degrades badly on collisions. The
 * key differs per run, which changes nothing visible: domains and rows
 * are handed out sorted (report_agg_finish), not in map order.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/bounds.h"
#include "authmilter/hash.h"
#include "authmilter/report.h"

struct map_entry {
	uint64_t hash;
	const char *key; /* arena-owned; NULL: free slot */
	size_t key_len;
	void *val;
};

/* open addressing, linear probing, power-of-two size */
struct map {
	struct map_entry *e;
	size_t cap, n;
};

struct row_priv {
	struct report_row pub; /* first: rows are handed out as this */
	const char *key;
	size_t key_len;
};

struct domain_priv {
	struct report_domain pub;
	size_t rows_cap;
};

struct report_agg {
	struct arena *arena; /* rows, domains, keys */
	struct map rows, domains;
	struct domain_priv **dom; /* heap vector, in insertion order */
	size_t dom_count, dom_cap;
	struct buf key; /* scratch */
};

static int
map_grow(struct map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024, i, j;
	struct map_entry *e = calloc(cap, sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		if (m->e[i].key == NULL)
			continue;
		for (j = m->e[i].hash & (cap - 1); e[j].key != NULL;
		     j = (j + 1) & (cap - 1))
			;
		e[j] = m->e[i];
	}
	free(m->e);
	m->e = e;
	m->cap = cap;
	return 0;
}

/* map_slot -- the entry holding key, or the free slot where it goes
 * (key == NULL); the map has room for one more. */
static int
map_slot(struct map *m, const char *key, size_t len, uint64_t h,
    struct map_entry **ret)
{
	size_t j;
	int err;

	if ((m->n + 1) * 10 >= m->cap * 7 && (err = map_grow(m)) != 0)
		return err;
	for (j = h & (m->cap - 1); m->e[j].key != NULL;
	     j = (j + 1) & (m->cap - 1))
		if (m->e[j].hash == h && m->e[j].key_len == len &&
		    memcmp(m->e[j].key, key, len) == 0)
			break;
	*ret = &m->e[j];
	return 0;
}

struct report_agg *
report_agg_new(void)
{
	struct report_agg *g = calloc(1, sizeof(*g));

	if (g == NULL || (g->arena = arena_new(1 << 16)) == NULL) {
		free(g);
		return NULL;
	}
	buf_init(&g->key, BOUND_SPOOL_RECORD_BYTES * 2);
	return g;
}

struct report_agg *
report_agg_free(struct report_agg *g)
{
	size_t i;

	if (g == NULL)
		return NULL;
	for (i = 0; i < g->dom_count; i++)
		free(g->dom[i]->pub.rows);
	free(g->dom);
	free(g->rows.e);
	free(g->domains.e);
	buf_free(&g->key);
	arena_free(g->arena);
	free(g);
	return NULL;
}

/* ---- row keys: every field, length-prefixed, so no two rows collide */

static void
key_str(struct buf *k, const char *s)
{
	if (s == NULL) {
		buf_adds(k, "-|");
		return;
	}
	buf_addf(k, "%zu:", strlen(s));
	buf_adds(k, s);
}

static void
key_row(struct buf *k, const struct spool_record *r)
{
	size_t i;

	key_str(k, r->source_ip);
	buf_addf(k, "%d%d%d%d|%zu|", (int)r->dmarc, (int)r->disposition,
	    r->dkim_aligned, r->spf_aligned, r->reason_count);
	for (i = 0; i < r->reason_count; i++) {
		buf_addf(k, "%d", (int)r->reasons[i].type);
		key_str(k, r->reasons[i].comment);
	}
	key_str(k, r->header_from);
	key_str(k, r->envelope_from);
	key_str(k, r->envelope_to);
	buf_addf(k, "%zu|", r->dkim_count);
	for (i = 0; i < r->dkim_count; i++) {
		key_str(k, r->dkim[i].domain);
		key_str(k, r->dkim[i].selector);
		buf_addf(k, "%d", (int)r->dkim[i].result);
		key_str(k, r->dkim[i].human_result);
	}
	key_str(k, r->spf.domain);
	buf_addf(k, "%d%d", (int)r->spf.scope, (int)r->spf.result);
	key_str(k, r->spf.human_result);
}

/* ---- deep copies into the aggregation's arena ---- */

static bool
dup_str(struct arena *a, const char **s)
{
	return *s == NULL || (*s = arena_strdup(a, *s)) != NULL;
}

static int
copy_policy(struct arena *a, struct spool_policy_published *p)
{
	const char **rua;
	size_t i;

	if (!dup_str(a, &p->domain) || !dup_str(a, &p->fo))
		return -ENOMEM;
	if (p->rua_count == 0)
		return 0;
	if ((rua = arena_alloc(a, p->rua_count * sizeof(*rua))) == NULL)
		return -ENOMEM;
	for (i = 0; i < p->rua_count; i++)
		if ((rua[i] = arena_strdup(a, p->rua[i])) == NULL)
			return -ENOMEM;
	p->rua = rua;
	return 0;
}

static int
copy_record(struct arena *a, struct spool_record *r)
{
	struct spool_reason *reasons = NULL;
	struct spool_dkim *dkim = NULL;
	size_t i;

	if (r->reason_count > 0 &&
	    (reasons = arena_alloc(a, r->reason_count * sizeof(*reasons))) ==
	        NULL)
		return -ENOMEM;
	for (i = 0; i < r->reason_count; i++) {
		reasons[i] = r->reasons[i];
		if (!dup_str(a, &reasons[i].comment))
			return -ENOMEM;
	}
	if (r->dkim_count > 0 &&
	    (dkim = arena_alloc(a, r->dkim_count * sizeof(*dkim))) == NULL)
		return -ENOMEM;
	for (i = 0; i < r->dkim_count; i++) {
		dkim[i] = r->dkim[i];
		if (!dup_str(a, &dkim[i].domain) ||
		    !dup_str(a, &dkim[i].selector) ||
		    !dup_str(a, &dkim[i].human_result))
			return -ENOMEM;
	}
	r->reasons = reasons;
	r->dkim = dkim;
	if (!dup_str(a, &r->reporting_host) || !dup_str(a, &r->source_ip) ||
	    !dup_str(a, &r->header_from) || !dup_str(a, &r->envelope_from) ||
	    !dup_str(a, &r->envelope_to) || !dup_str(a, &r->spf.domain) ||
	    !dup_str(a, &r->spf.human_result))
		return -ENOMEM;
	/* the row's policy is its domain's; not kept per row */
	memset(&r->policy, 0, sizeof(r->policy));
	return 0;
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool
same_policy(const struct spool_policy_published *a,
    const struct spool_policy_published *b)
{
	size_t i;

	if (a->discovery_method != b->discovery_method || a->p != b->p ||
	    a->sp != b->sp || a->np != b->np || a->adkim != b->adkim ||
	    a->aspf != b->aspf || a->testing != b->testing ||
	    !same_str(a->fo, b->fo) || a->rua_count != b->rua_count ||
	    strcmp(a->domain, b->domain) != 0)
		return false;
	for (i = 0; i < a->rua_count; i++)
		if (strcmp(a->rua[i], b->rua[i]) != 0)
			return false;
	return true;
}

/* ---- adding ---- */

static int
new_domain(struct report_agg *g, const struct spool_record *r, const char *name,
    struct domain_priv **ret)
{
	struct domain_priv *d, **v;
	size_t cap;
	int err;

	if (g->dom_count == g->dom_cap) {
		cap = g->dom_cap ? g->dom_cap * 2 : 64;
		if ((v = realloc(g->dom, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		g->dom = v;
		g->dom_cap = cap;
	}
	if ((d = arena_zalloc(g->arena, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->pub.domain = name;
	d->pub.policy = r->policy;
	if ((err = copy_policy(g->arena, &d->pub.policy)) != 0)
		return err;
	d->pub.first_time = d->pub.last_time = r->time;
	g->dom[g->dom_count++] = d;
	*ret = d;
	return 0;
}

/* find_domain -- the domain of r (lower-cased), created on first sight;
 * its policy follows the most recent record. */
static int
find_domain(struct report_agg *g, const struct spool_record *r,
    struct domain_priv **ret)
{
	size_t len = strlen(r->policy.domain), i;
	char lower[BOUND_DOMAIN_LEN + 1], *name;
	struct map_entry *e;
	uint64_t h;
	int err = 0;

	if (len > BOUND_DOMAIN_LEN)
		return -EINVAL; /* spool_record_check refuses these */
	for (i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)r->policy.domain[i]);
	h = hash_bytes(0, lower, len);
	if ((err = map_slot(&g->domains, lower, len, h, &e)) != 0)
		return err;
	if (e->key == NULL) {
		if ((name = arena_strdup(g->arena, lower)) == NULL ||
		    (err = new_domain(g, r, name, ret)) != 0)
			return err != 0 ? err : -ENOMEM;
		*e = (struct map_entry){h, name, len, *ret};
		g->domains.n++;
		return 0;
	}
	*ret = e->val;
	if (r->time >= (*ret)->pub.last_time &&
	    !same_policy(&(*ret)->pub.policy, &r->policy)) {
		(*ret)->pub.policy = r->policy;
		if ((err = copy_policy(g->arena, &(*ret)->pub.policy)) != 0)
			return err;
	}
	return 0;
}

static int
domain_add_row(struct domain_priv *d, struct row_priv *row)
{
	struct report_row **v;
	size_t cap;

	if (d->pub.row_count == d->rows_cap) {
		cap = d->rows_cap ? d->rows_cap * 2 : 16;
		if ((v = realloc(d->pub.rows, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		d->pub.rows = v;
		d->rows_cap = cap;
	}
	d->pub.rows[d->pub.row_count++] = &row->pub;
	return 0;
}

static int
new_row(struct report_agg *g, struct domain_priv *d,
    const struct spool_record *r, struct map_entry *e, uint64_t h)
{
	struct row_priv *row;
	int err;

	if (g->rows.n >= BOUND_REPORT_ROWS)
		return -E2BIG;
	if ((row = arena_zalloc(g->arena, sizeof(*row))) == NULL ||
	    (row->key = arena_memdup(g->arena, g->key.data, g->key.len)) ==
	        NULL)
		return -ENOMEM;
	row->key_len = g->key.len;
	row->pub.rec = *r;
	if ((err = copy_record(g->arena, &row->pub.rec)) != 0 ||
	    (err = domain_add_row(d, row)) != 0)
		return err;
	*e = (struct map_entry){h, row->key, row->key_len, row};
	g->rows.n++;
	return 0;
}

int
report_agg_add(struct report_agg *g, const struct spool_record *r)
{
	struct domain_priv *d;
	struct map_entry *e;
	uint64_t h;
	int err;

	if ((err = find_domain(g, r, &d)) != 0)
		return err;
	buf_reset(&g->key);
	key_str(&g->key, d->pub.domain);
	key_row(&g->key, r);
	if ((err = buf_error(&g->key)) != 0)
		return err;
	h = hash_bytes(0, g->key.data, g->key.len);
	if ((err = map_slot(&g->rows, g->key.data, g->key.len, h, &e)) != 0)
		return err;
	if (e->key == NULL && (err = new_row(g, d, r, e, h)) != 0)
		return err;
	((struct row_priv *)e->val)->pub.count++;
	d->pub.messages++;
	if (r->dmarc == AUTH_PASS)
		d->pub.dmarc_pass++;
	else if (r->dmarc == AUTH_FAIL)
		d->pub.dmarc_fail++;
	if (r->time < d->pub.first_time)
		d->pub.first_time = r->time;
	if (r->time > d->pub.last_time)
		d->pub.last_time = r->time;
	return 0;
}

/* ---- results ---- */

static int
cmp_domain(const void *a, const void *b)
{
	const struct domain_priv *x = *(const struct domain_priv *const *)a;
	const struct domain_priv *y = *(const struct domain_priv *const *)b;

	return strcmp(x->pub.domain, y->pub.domain);
}

static int
cmp_row(const void *a, const void *b)
{
	const struct row_priv *x = *(const struct row_priv *const *)a;
	const struct row_priv *y = *(const struct row_priv *const *)b;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = strcmp(x->pub.rec.source_ip, y->pub.rec.source_ip);

	if (c != 0)
		return c;
	if ((c = memcmp(x->key, y->key, n)) != 0)
		return c;
	return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

size_t
report_agg_finish(struct report_agg *g)
{
	size_t i;

	if (g->dom_count > 1)
		qsort(g->dom, g->dom_count, sizeof(*g->dom), cmp_domain);
	for (i = 0; i < g->dom_count; i++)
		if (g->dom[i]->pub.row_count > 1)
			qsort(g->dom[i]->pub.rows, g->dom[i]->pub.row_count,
			    sizeof(*g->dom[i]->pub.rows), cmp_row);
	return g->dom_count;
}

const struct report_domain *
report_agg_domain(const struct report_agg *g, size_t i)
{
	return i < g->dom_count ? &g->dom[i]->pub : NULL;
}

size_t
report_agg_rows(const struct report_agg *g)
{
	return g->rows.n;
}
