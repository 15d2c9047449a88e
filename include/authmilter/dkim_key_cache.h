/*
 * dkim_key_cache.h -- parsed DKIM key records shared between messages.
 *
 * A bounded, thread-safe cache of dkim_pubkey_parse() outcomes, keyed by
 * the exact record bytes and the minimum RSA bits, so a key record is
 * parsed once and not per message (d2i_PUBKEY of an RSA-2048 key costs
 * more than checking the signature). Refused records are kept too, with
 * their reason. No TTL: a changed DNS record has different bytes, so it is
 * a different entry; freshness is the DNS cache's business. At most
 * max_entries records (each at most BOUND_TXT_BYTES plus its key); CLOCK
 * eviction. One cache serves every thread; keys handed out are
 * references, valid after their entry is evicted.
 *
 * Memory: the cache owns its entries and one reference to each kept key;
 * callers own the references they are handed.
 */
#ifndef AUTHMILTER_DKIM_KEY_CACHE_H
#define AUTHMILTER_DKIM_KEY_CACHE_H

#include <stddef.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_pubkey.h"

struct dkim_key_cache;

struct dkim_key_cache_stats {
	unsigned long hits;   /* answered from the cache */
	unsigned long misses; /* parsed (each miss is one parse) */
	unsigned long evictions;
	size_t entries; /* held now */
};

/* dkim_key_cache_new -- an empty cache of at most max_entries records
 * (0 = 1). Startup only: exits if out of memory.
 * @return the cache; dkim_key_cache_free() it. */
struct dkim_key_cache *dkim_key_cache_new(size_t max_entries);
/* dkim_key_cache_free -- free c and drop its key references (keys still
 * referenced elsewhere live on); NULL is a no-op. No other thread may use
 * c any more. @return NULL */
struct dkim_key_cache *dkim_key_cache_free(struct dkim_key_cache *c);
/* dkim_key_cache_parse -- dkim_pubkey_parse() through the cache c (NULL:
 * no cache, a plain parse): same parameters, results and reasons. A hit
 * returns the kept key (another reference) or the kept reason; a miss
 * parses without holding the cache's lock and keeps the outcome
 * (-ENOMEM is not kept). Thread-safe.
 * @return 0 and *ret (a reference: dkim_pubkey_unref); -EINVAL with the
 * reason appended to why (may be NULL); -ENOMEM. */
int dkim_key_cache_parse(struct dkim_key_cache *c, const char *rec, size_t len,
    unsigned min_rsa_bits, struct dkim_pubkey **ret, struct buf *why);
/* dkim_key_cache_stats -- the counters so far into *ret. Thread-safe. */
void dkim_key_cache_stats(
    struct dkim_key_cache *c, struct dkim_key_cache_stats *ret);

#endif
