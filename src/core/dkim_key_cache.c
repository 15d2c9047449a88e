/*
 * dkim_key_cache.c -- parsed DKIM key records, shared between messages.
 *
 * dkim_pubkey_parse() is a pure function of (record bytes, minimum RSA
 * bits), so its outcome is kept under exactly that key: a parsed key (one
 * reference held by the cache) or the refusal reason. When a domain
 * changes its record, the DNS answer carries different bytes, so the new
 * text is a new entry. An entry lives at most the TTL of the answer that
 * brought it (clamped to BOUND_DNS_TTL_MAX): after that the record is
 * parsed again, so a key is decoded once per TTL, and a record no longer
 * published does not hold memory past its TTL (expired entries are the
 * first to go when room is needed). Time is the cache's monotonic clock
 * (dkim_key_cache_set_clock() for tests).
 *
 * At most max entries. Eviction is CLOCK (second chance): entries sit in
 * a ring of slots, a hit sets the entry's bit, and the hand clears bits
 * until it finds an entry whose bit is clear, which goes. A hit only sets
 * a flag, so the hot path does no list surgery.
 *
 * Threads: one mutex guards the table, the ring and the counters. It is
 * never held while parsing (two threads missing on the same record both
 * parse it; the first to insert wins, the other keeps its own key), nor
 * while an evicted entry's key is released.
 *
 * The lookup (dkim_key_cache_lookup) asks DNS and parses each TXT record
 * through the cache until one is a usable key.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/bounds.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/hash.h"
#include "authmilter/xalloc.h"

/* Buckets: a power of two at least max, up to this many. */
#define KEYC_MAX_BUCKETS (1u << 20)
/* Room for the reason dkim_pubkey_parse gives a refused record. */
#define KEYC_REASON_MAX 512

struct keyc_entry {
	struct keyc_entry *hnext; /* hash chain */
	uint64_t hash;
	unsigned min_bits;
	bool used;               /* CLOCK bit: hit since the hand passed */
	uint64_t expires;        /* valid while now < expires */
	size_t slot;             /* its place in the ring */
	struct dkim_pubkey *key; /* one reference; NULL: refused */
	const char *reason;      /* refused: points into data */
	size_t len;              /* record bytes at data */
	char data[];             /* record, then the reason + NUL */
};

struct dkim_key_cache {
	pthread_mutex_t lock;
	struct keyc_entry **buckets;
	size_t nbuckets;          /* power of two */
	struct keyc_entry **ring; /* max slots; NULL = free */
	size_t max, count, hand;
	unsigned long hits, misses, evictions, expired;
	uint64_t (*now)(void); /* seconds, monotonic */
};

static uint64_t
keyc_real_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* The TTL an answer gives an entry: RFC 2181 section 8, at least 1 s,
 * at most BOUND_DNS_TTL_MAX as in dns_cache. */
static uint64_t
keyc_ttl(uint32_t ttl)
{
	return ttl < 1 ? 1 : ttl > BOUND_DNS_TTL_MAX ? BOUND_DNS_TTL_MAX : ttl;
}

/* The keyed hash (hash.h) of the minimum bits and the record bytes: the
 * records come from DNS, where anyone may publish colliding ones. */
static uint64_t
keyc_hash(const char *rec, size_t len, unsigned min_bits)
{
	return hash_bytes(min_bits, rec, len);
}

static struct keyc_entry **
keyc_bucket(struct dkim_key_cache *c, uint64_t h)
{
	return &c->buckets[h & (c->nbuckets - 1)];
}

/* Lock held from here to keyc_insert. */

static struct keyc_entry *
keyc_find(struct dkim_key_cache *c, const char *rec, size_t len,
    unsigned min_bits, uint64_t h)
{
	struct keyc_entry *e;

	for (e = *keyc_bucket(c, h); e != NULL; e = e->hnext)
		if (e->hash == h && e->min_bits == min_bits && e->len == len &&
		    memcmp(e->data, rec, len) == 0)
			return e;
	return NULL;
}

/* Take e out of the table and the ring (the caller frees it after
 * unlocking). */
static void
keyc_unlink(struct dkim_key_cache *c, struct keyc_entry *e)
{
	struct keyc_entry **pp;

	for (pp = keyc_bucket(c, e->hash); *pp != e; pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	c->ring[e->slot] = NULL;
	c->count--;
}

/* Take the entry the hand settles on (an expired one at once, else one
 * not hit since the hand last passed) out of the cache; it is returned
 * for the caller to free after unlocking. */
static struct keyc_entry *
keyc_evict(struct dkim_key_cache *c, uint64_t now)
{
	struct keyc_entry *e;

	for (;;) {
		e = c->ring[c->hand];
		if (e != NULL && (!e->used || now >= e->expires))
			break;
		if (e != NULL)
			e->used = false; /* second chance */
		c->hand = (c->hand + 1) % c->max;
	}
	keyc_unlink(c, e);
	if (now >= e->expires)
		c->expired++;
	else
		c->evictions++;
	return e;
}

/* Insert e unless a live equal entry got there first (an expired one is
 * replaced). @return the entry that no longer belongs to the cache (to
 * free after unlocking): e when it was not inserted, an expired or
 * evicted one, or NULL. */
static struct keyc_entry *
keyc_insert(struct dkim_key_cache *c, struct keyc_entry *e, uint64_t now)
{
	struct keyc_entry *out, **b;

	out = keyc_find(c, e->data, e->len, e->min_bits, e->hash);
	if (out != NULL && now < out->expires)
		return e;
	if (out != NULL) {
		keyc_unlink(c, out);
		c->expired++;
	} else if (c->count == c->max)
		out = keyc_evict(c, now);
	while (c->ring[c->hand] != NULL)
		c->hand = (c->hand + 1) % c->max;
	e->slot = c->hand;
	c->ring[c->hand] = e;
	c->hand = (c->hand + 1) % c->max; /* a full sweep before e goes */
	c->count++;
	b = keyc_bucket(c, e->hash);
	e->hnext = *b;
	*b = e;
	return out;
}

static void
keyc_entry_free(struct keyc_entry *e)
{
	if (e != NULL) {
		dkim_pubkey_unref(e->key);
		free(e);
	}
}

/* A cached outcome for the record: 1 with a key reference in *ret or the
 * reason appended to why (*ret left NULL); 0 when absent or expired (an
 * expired entry goes). */
static int
keyc_lookup(struct dkim_key_cache *c, const char *rec, size_t len,
    unsigned min_bits, uint64_t h, struct dkim_pubkey **ret, struct buf *why)
{
	struct keyc_entry *e, *old = NULL;
	uint64_t now = c->now();

	pthread_mutex_lock(&c->lock);
	e = keyc_find(c, rec, len, min_bits, h);
	if (e != NULL && now >= e->expires) {
		keyc_unlink(c, e);
		c->expired++;
		old = e;
		e = NULL;
	}
	if (e != NULL) {
		e->used = true;
		c->hits++;
		if (e->key != NULL)
			*ret = dkim_pubkey_ref(e->key);
		else if (why != NULL)
			buf_adds(why, e->reason);
	} else
		c->misses++;
	pthread_mutex_unlock(&c->lock);
	keyc_entry_free(old);
	return e != NULL;
}

/* Keep the outcome of parsing rec: key (referenced again) or reason. Out
 * of memory: nothing is kept, which only costs a later parse. */
static void
keyc_store(struct dkim_key_cache *c, const char *rec, size_t len,
    unsigned min_bits, uint64_t h, uint32_t ttl, struct dkim_pubkey *key,
    const char *reason)
{
	uint64_t now = c->now();
	size_t rlen = key != NULL ? 0 : strlen(reason) + 1;
	struct keyc_entry *e = malloc(sizeof(*e) + len + rlen);

	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->hash = h;
	e->min_bits = min_bits;
	e->expires = now + keyc_ttl(ttl);
	e->len = len;
	memcpy(e->data, rec, len);
	if (key != NULL)
		e->key = dkim_pubkey_ref(key);
	else {
		memcpy(e->data + len, reason, rlen);
		e->reason = e->data + len;
	}
	pthread_mutex_lock(&c->lock);
	e = keyc_insert(c, e, now);
	pthread_mutex_unlock(&c->lock);
	keyc_entry_free(e);
}

int
dkim_key_cache_parse(struct dkim_key_cache *c, const char *rec, size_t len,
    unsigned min_rsa_bits, uint32_t ttl, struct dkim_pubkey **ret,
    struct buf *why)
{
	struct dkim_pubkey *key = NULL;
	struct buf reason;
	uint64_t h;
	int r;

	if (c == NULL)
		return dkim_pubkey_parse(rec, len, min_rsa_bits, ret, why);
	if (min_rsa_bits == 0)
		min_rsa_bits = BOUND_RSA_MIN_BITS; /* one entry for both */
	h = keyc_hash(rec, len, min_rsa_bits);
	if (keyc_lookup(c, rec, len, min_rsa_bits, h, &key, why)) {
		if (key == NULL)
			return -EINVAL;
		*ret = key;
		return 0;
	}
	/* the lock is not held here: other threads go on */
	buf_init(&reason, KEYC_REASON_MAX);
	r = dkim_pubkey_parse(rec, len, min_rsa_bits, &key, &reason);
	if (r == 0 || (r == -EINVAL && buf_error(&reason) == 0))
		keyc_store(
		    c, rec, len, min_rsa_bits, h, ttl, key, buf_cstr(&reason));
	if (r == -EINVAL && why != NULL)
		buf_adds(why, buf_cstr(&reason));
	buf_free(&reason);
	if (r == 0)
		*ret = key;
	return r;
}

struct dkim_key_cache *
dkim_key_cache_new(size_t max_entries)
{
	struct dkim_key_cache *c = xcalloc(1, sizeof(*c));

	c->max = max_entries > 0 ? max_entries : 1;
	c->nbuckets = 16;
	while (c->nbuckets < c->max && c->nbuckets < KEYC_MAX_BUCKETS)
		c->nbuckets *= 2;
	c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
	c->ring = xcalloc(c->max, sizeof(*c->ring));
	c->now = keyc_real_clock;
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		panic("pthread_mutex_init failed");
	return c;
}

void
dkim_key_cache_set_clock(struct dkim_key_cache *c, uint64_t (*now)(void))
{
	c->now = now != NULL ? now : keyc_real_clock;
}

struct dkim_key_cache *
dkim_key_cache_free(struct dkim_key_cache *c)
{
	size_t i;

	if (c == NULL)
		return NULL;
	for (i = 0; i < c->max; i++)
		keyc_entry_free(c->ring[i]);
	pthread_mutex_destroy(&c->lock);
	free(c->ring);
	free(c->buckets);
	free(c);
	return NULL;
}

void
dkim_key_cache_stats(struct dkim_key_cache *c, struct dkim_key_cache_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	ret->hits = c->hits;
	ret->misses = c->misses;
	ret->evictions = c->evictions;
	ret->expired = c->expired;
	ret->entries = c->count;
	pthread_mutex_unlock(&c->lock);
}

/* ---- the lookup ---- */

static void
keyc_pubkey_release(void *p)
{
	dkim_pubkey_unref(p);
}

/* Use the first TXT record that is a usable key; otherwise the reason
 * the first one gave. */
static int
keyc_from_answer(struct dkim_key_cache *c, unsigned min_rsa_bits,
    const struct dns_answer *ans, struct arena *a, struct dkim_key_lookup *k)
{
	struct buf why;
	size_t i, mark;
	int r = 0;

	buf_init(&why, KEYC_REASON_MAX);
	for (i = 0; i < ans->count; i++) {
		mark = why.len;
		r = dkim_key_cache_parse(c, (const char *)ans->rrs[i].data,
		    ans->rrs[i].len, min_rsa_bits, ans->ttl, &k->key, &why);
		if (r == -ENOMEM)
			break;
		if (r == 0) {
			k->result = AUTH_PASS;
			k->reason = "";
			if ((r = arena_cleanup(
			         a, keyc_pubkey_release, k->key)) != 0) {
				dkim_pubkey_unref(k->key);
				k->key = NULL;
			}
			break;
		}
		buf_truncate(&why, i == 0 ? why.len : mark);
	}
	if (r == -EINVAL)
		r = 0;
	if (r == 0 && k->result != AUTH_PASS &&
	    (k->reason = arena_strdup(
	         a, why.len > 0 ? buf_cstr(&why) : "no key (empty answer)")) ==
	        NULL)
		r = -ENOMEM;
	buf_free(&why);
	return r;
}

/* "DNS failure: " and the resolver's reason (cut at 200 bytes), in a. */
static const char *
keyc_dns_failure(struct arena *a, const char *why)
{
	static const char prefix[] = "DNS failure: ";
	size_t pl = sizeof(prefix) - 1, wl = strnlen(why, 200);
	char *p = arena_alloc(a, pl + wl + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, prefix, pl);
	memcpy(p + pl, why, wl);
	p[pl + wl] = '\0';
	return p;
}

int
dkim_key_cache_lookup(struct dkim_key_cache *c, struct dns_resolver *res,
    unsigned min_rsa_bits, const char *selector, const char *domain,
    struct arena *a, struct dkim_key_lookup *ret)
{
	struct dns_answer *ans = NULL;
	struct buf name;
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->result = AUTH_PERMERROR;
	/* RFC 6376 section 3.6.2.1: the key is at s._domainkey.d */
	buf_init(&name, BOUND_DOMAIN_LEN + 1);
	buf_addf(&name, "%s._domainkey.%s", selector, domain);
	r = buf_error(&name) == 0
	        ? dns_query(res, buf_cstr(&name), DNS_T_TXT, &ans)
	        : -EINVAL;
	buf_free(&name);
	if (r == -EINVAL) {
		ret->reason = "bad key name (s= and d= too long)";
		return 0;
	}
	if (r != 0)
		return r;
	if (ans->status == DNS_OK)
		r = keyc_from_answer(c, min_rsa_bits, ans, a, ret);
	else if (ans->status == DNS_TEMPFAIL) {
		/* RFC 6376 section 6.1.2: TEMPFAIL (key unavailable) */
		ret->result = AUTH_TEMPERROR;
		if ((ret->reason = keyc_dns_failure(
		         a, ans->why != NULL ? ans->why : "")) == NULL)
			r = -ENOMEM;
	} else
		/* RFC 6376 section 6.1.2: PERMFAIL (no key for signature) */
		ret->reason = ans->status == DNS_NXDOMAIN ? "no key (NXDOMAIN)"
		                                          : "no key (NODATA)";
	dns_answer_unref(ans);
	return r;
}
