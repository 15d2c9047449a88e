/*
 * dkim_key_cache.h -- parsed DKIM key records shared between messages.
 *
 * A bounded, thread-safe cache of dkim_pubkey_parse() outcomes, keyed by
 * the exact record bytes and the minimum RSA bits, so a key record is
 * parsed once and not per message (d2i_PUBKEY of an RSA-2048 key costs
 * more than checking the signature). Refused records are kept too, with
 * their reason. A changed DNS record has different bytes, so it is a
 * different entry; an entry lives at most the TTL of the DNS answer that
 * brought it (RFC 2181 section 8; clamped to BOUND_DNS_TTL_MAX), so a key
 * is decoded once per TTL. At most max_entries records (each at most
 * BOUND_TXT_BYTES plus its key); CLOCK eviction, expired entries first.
 * One cache serves every thread (the daemon keeps one for all its
 * connections, BOUND_KEY_CACHE_ENTRIES); keys handed out are references,
 * valid after their entry is evicted or expired.
 *
 * dkim_key_cache_lookup() is the key lookup of a verifier (dkim_verify,
 * ARC): the TXT record at s._domainkey.d, parsed through a cache, with
 * the result word and reason a verifier reports.
 *
 * Memory: the cache owns its entries and one reference to each kept key;
 * callers own the references they are handed.
 */
#ifndef AUTHMILTER_DKIM_KEY_CACHE_H
#define AUTHMILTER_DKIM_KEY_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/buf.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/dns.h"

struct dkim_key_cache;

struct dkim_key_cache_stats {
	unsigned long hits;      /* answered from the cache */
	unsigned long misses;    /* parsed (each miss is one parse) */
	unsigned long evictions; /* live entries dropped for room */
	unsigned long expired;   /* entries dropped past their TTL */
	size_t entries;          /* held now */
};

/* dkim_key_cache_new -- an empty cache of at most max_entries records
 * (0 = 1). Startup only: exits if out of memory.
 * @return the cache; dkim_key_cache_free() it. */
struct dkim_key_cache *dkim_key_cache_new(size_t max_entries);
/* dkim_key_cache_free -- free c and drop its key references (keys still
 * referenced elsewhere live on); NULL is a no-op. No other thread may use
 * c any more. @return NULL */
struct dkim_key_cache *dkim_key_cache_free(struct dkim_key_cache *c);
/* dkim_key_cache_set_clock -- for tests: now() gives the cache's time in
 * seconds (NULL: the monotonic clock). Not while other threads use c. */
void dkim_key_cache_set_clock(struct dkim_key_cache *c, uint64_t (*now)(void));
/* dkim_key_cache_parse -- dkim_pubkey_parse() through the cache c (NULL:
 * no cache, a plain parse): same parameters, results and reasons. A hit
 * (an entry younger than its TTL) returns the kept key (another
 * reference) or the kept reason; a miss parses without holding the
 * cache's lock and keeps the outcome for ttl seconds (the DNS answer's
 * TTL; -ENOMEM is not kept). Thread-safe.
 * @return 0 and *ret (a reference: dkim_pubkey_unref); -EINVAL with the
 * reason appended to why (may be NULL); -ENOMEM. */
int dkim_key_cache_parse(struct dkim_key_cache *c, const char *rec, size_t len,
    unsigned min_rsa_bits, uint32_t ttl, struct dkim_pubkey **ret,
    struct buf *why);
/* dkim_key_cache_stats -- the counters so far into *ret. Thread-safe. */
void dkim_key_cache_stats(
    struct dkim_key_cache *c, struct dkim_key_cache_stats *ret);

/* What a key lookup gave. */
struct dkim_key_lookup {
	struct dkim_pubkey *key; /* with AUTH_PASS only: a reference
	                          * that the arena's cleanup drops */
	enum auth_result result; /* AUTH_PASS, AUTH_TEMPERROR or
	                          * AUTH_PERMERROR */
	const char *reason;      /* "" with AUTH_PASS; arena-owned or
	                          * static */
};

/* dkim_key_cache_lookup -- the key of (selector, domain) for a verifier:
 * a TXT query for selector._domainkey.domain (RFC 6376 section 3.6.2.1)
 * through res; the first record that is a usable key (parsed through c,
 * which may be NULL; min_rsa_bits as dkim_pubkey_parse()) is the key.
 * Outcomes in *ret: AUTH_PASS; AUTH_TEMPERROR "DNS failure: ..." (section
 * 6.1.2: TEMPFAIL (key unavailable)); AUTH_PERMERROR "no key (NXDOMAIN)",
 * "no key (NODATA)", "no key (empty answer)", "bad key name (s= and d=
 * too long)", or the first record's dkim_pubkey_parse() reason. selector
 * and domain must be valid names (dkim_sig_name_problem()).
 * @return 0; -ENOMEM; another -errno of dns_query(). */
int dkim_key_cache_lookup(struct dkim_key_cache *c, struct dns_resolver *res,
    unsigned min_rsa_bits, const char *selector, const char *domain,
    struct arena *a, struct dkim_key_lookup *ret);

#endif
