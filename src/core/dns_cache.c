/*
 * dns_cache.c -- a thread-safe TTL cache in front of another resolver.
 *
 * Keyed by (lower-case name without the final dot, type), hashed with
 * hash.h (a per-process key: a sender cannot choose names that share a
 * bucket). Answers are kept (RFC 2181 section 8, RFC 2308 section 5):
 *   DNS_OK               for their TTL, clamped to [1 s, BOUND_DNS_TTL_MAX]
 *   NXDOMAIN / NODATA    for their TTL (the SOA minimum the backend
 *                        reported), clamped to [1 s, BOUND_DNS_NEG_TTL_MAX]
 *   TEMPFAIL             BOUND_DNS_TEMPFAIL_TTL seconds when a server
 *                        replied so (SERVFAIL, REFUSED); never when no
 *                        server replied (timeout, network error, the
 *                        caller's deadline): that says nothing about the
 *                        name, and keeping it would fail the name for
 *                        every message after the server is back, or let
 *                        one message's slow lookup fail another's
 * The cached answer is handed out as is (its ttl field is the one the
 * backend gave, not the time left).
 *
 * At most max_entries answers; the least recently used one is evicted
 * first (a doubly linked list, most recent at the head).
 *
 * Threads: one mutex guards the table, the list and the counters; it is
 * never held during a backend query, so a slow lookup does not block the
 * others. Two threads missing on the same key both query the backend and
 * the later answer replaces the earlier one.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/hash.h"
#include "authmilter/metrics.h"
#include "authmilter/xalloc.h"

/* The hash table has a bucket per entry up to this many (a million
 * entries is far more than a mail server's working set). */
#define CACHE_MAX_BUCKETS (1u << 20)

struct cache_link {
	struct cache_link *prev, *next;
};

struct cache_entry {
	struct cache_link link;    /* LRU list; first member */
	struct cache_entry *hnext; /* hash chain */
	uint64_t hash;
	enum dns_type type;
	uint64_t expires;          /* valid while now < expires */
	struct dns_answer *answer; /* one reference */
	char name[];
};

struct cache {
	pthread_mutex_t lock;
	struct dns_resolver *backend; /* owned */
	struct cache_entry **buckets;
	size_t nbuckets;       /* power of two */
	struct cache_link lru; /* sentinel: next = most recent */
	size_t count, max;
	unsigned long hits, misses;
	uint64_t (*now)(void);
	const struct dns_metrics *metrics; /* borrowed, or NULL */
};

static int cache_query_by(struct dns_resolver *, const char *, enum dns_type,
    uint64_t, struct dns_answer **);
static void cache_free(struct dns_resolver *);

static const struct dns_ops cache_ops = {
    .free = cache_free,
    .query_by = cache_query_by,
};

static uint64_t
cache_real_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static uint32_t
cache_clamp(uint32_t ttl, uint32_t max)
{
	return ttl < 1 ? 1 : ttl > max ? max : ttl;
}

/* How long an answer stays, by status (RFC 2308 section 5 for negative
 * answers, section 7 for server failures). */
static uint32_t
cache_ttl(const struct dns_answer *a)
{
	switch (a->status) {
	case DNS_OK:
		return cache_clamp(a->ttl, BOUND_DNS_TTL_MAX);
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		return cache_clamp(a->ttl, BOUND_DNS_NEG_TTL_MAX);
	case DNS_TEMPFAIL:
		break;
	}
	return BOUND_DNS_TEMPFAIL_TTL;
}

/* Lock held for everything below up to cache_query. */

static struct cache_entry *
cache_find(
    const struct cache *c, const char *key, enum dns_type type, uint64_t h)
{
	struct cache_entry *e;

	for (e = c->buckets[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext)
		if (e->hash == h && e->type == type &&
		    strcmp(e->name, key) == 0)
			return e;
	return NULL;
}

static void
cache_lru_unlink(struct cache_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
}

static void
cache_lru_push(struct cache *c, struct cache_link *l)
{
	l->prev = &c->lru;
	l->next = c->lru.next;
	c->lru.next->prev = l;
	c->lru.next = l;
}

/* The least recently used entry (the list is not empty). */
static struct cache_entry *
cache_lru_tail(struct cache *c)
{
	return (struct cache_entry *)(void *)c->lru.prev;
}

static void
cache_remove(struct cache *c, struct cache_entry *e)
{
	struct cache_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	cache_lru_unlink(&e->link);
	c->count--;
	dns_answer_unref(e->answer);
	free(e);
}

static void
cache_insert(struct cache *c, struct cache_entry *e)
{
	struct cache_entry *old = cache_find(c, e->name, e->type, e->hash);
	size_t b = e->hash & (c->nbuckets - 1);

	if (old != NULL)
		cache_remove(c, old); /* a concurrent miss got there first */
	e->hnext = c->buckets[b];
	c->buckets[b] = e;
	cache_lru_push(c, &e->link);
	c->count++;
	while (c->count > c->max)
		cache_remove(c, cache_lru_tail(c));
}

/* A fresh cached answer for (key, type), referenced, or NULL (counted as
 * a miss; an expired entry is dropped). */
static struct dns_answer *
cache_lookup(struct cache *c, const char *key, enum dns_type type, uint64_t h,
    uint64_t now)
{
	struct cache_entry *e;
	struct dns_answer *a = NULL;

	pthread_mutex_lock(&c->lock);
	e = cache_find(c, key, type, h);
	if (e != NULL && now >= e->expires) {
		cache_remove(c, e);
		e = NULL;
	}
	if (e != NULL) {
		a = dns_answer_ref(e->answer);
		cache_lru_unlink(&e->link);
		cache_lru_push(c, &e->link);
		c->hits++;
	} else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	return a;
}

static int
cache_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline_ms, struct dns_answer **ret_answer)
{
	struct cache *c = r->ctx;
	char key[BOUND_DOMAIN_LEN + 1];
	struct cache_entry *e;
	struct dns_answer *a;
	uint64_t now = c->now(), h;
	int len, rc;

	if ((len = dns_name_key(name, key, sizeof(key))) < 0)
		return -EINVAL;
	/* keyed per process (hash.h): names a sender chooses cannot be
	 * made to share a bucket */
	h = hash_bytes((uint64_t)type, key, (size_t)len);
	a = cache_lookup(c, key, type, h, now);
	if (c->metrics != NULL)
		metrics_add(c->metrics->cache, a != NULL ? 0 : 1, 0, 1);
	if (a != NULL) {
		atomic_fetch_add(&r->queries, 1);
		*ret_answer = a;
		return 0;
	}
	/* the lock is not held here: other threads go on */
	rc = dns_query_by(c->backend, name, type, deadline_ms, &a);
	if (rc != 0)
		return rc;
	e = a->unanswered ? NULL : malloc(sizeof(*e) + (size_t)len + 1);
	if (e != NULL) { /* out of memory: answer, do not cache */
		memcpy(e->name, key, (size_t)len + 1);
		e->hash = h;
		e->type = type;
		e->expires = now + cache_ttl(a);
		e->answer = dns_answer_ref(a);
		pthread_mutex_lock(&c->lock);
		cache_insert(c, e);
		pthread_mutex_unlock(&c->lock);
	}
	*ret_answer = a;
	return 0;
}

struct dns_resolver *
dns_cache_new(struct dns_resolver *backend, size_t max_entries)
{
	struct dns_resolver *r = xcalloc(1, sizeof(*r));
	struct cache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries > 0 ? max_entries : 1;
	c->nbuckets = 16;
	while (c->nbuckets < c->max && c->nbuckets < CACHE_MAX_BUCKETS)
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->lru.next = c->lru.prev = &c->lru;
	c->backend = backend;
	c->now = cache_real_clock;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		panic("pthread_mutex_init failed");
	r->ops = &cache_ops;
	r->ctx = c;
	atomic_init(&r->queries, 0);
	return r;
}

static struct cache *
cache_of(struct dns_resolver *r)
{
	if (r->ops != &cache_ops)
		panic("dns_cache: resolver is not a cache");
	return r->ctx;
}

void
dns_cache_stats(
    struct dns_resolver *r, unsigned long *ret_hits, unsigned long *ret_misses)
{
	struct cache *c = cache_of(r);

	pthread_mutex_lock(&c->lock);
	*ret_hits = c->hits;
	*ret_misses = c->misses;
	pthread_mutex_unlock(&c->lock);
}

void
dns_cache_set_metrics(struct dns_resolver *r, const struct dns_metrics *dm)
{
	cache_of(r)->metrics = dm;
}

void
dns_cache_set_clock(struct dns_resolver *r, uint64_t (*now)(void))
{
	cache_of(r)->now = now != NULL ? now : cache_real_clock;
}

static void
cache_free(struct dns_resolver *r)
{
	struct cache *c = r->ctx;

	while (c->count > 0)
		cache_remove(c, cache_lru_tail(c));
	dns_resolver_free(c->backend);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
	free(r);
}
