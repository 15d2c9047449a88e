/*
 * dkim_key.h -- DKIM keys: public key records, private keys, and the
 * signature primitives the signer and the verifier share.
 *
 * Public key records (RFC 6376 section 3.6.1) are parsed through tags.h
 * into a struct dkim_pubkey: v=DKIM1 (first if present), k=rsa|ed25519
 * (default rsa), h= (must allow sha256 when present), p= (base64; empty =
 * revoked), s= (* or email), t=y (testing) and t=s (strict i=). Unknown
 * tags are ignored. RSA keys are SubjectPublicKeyInfo DER (bare
 * RSAPublicKey DER is accepted too, as some domains publish it); Ed25519
 * keys are the raw 32 bytes of RFC 8463 section 4.2. RSA keys smaller than
 * a minimum (RFC 8301 section 3.2: 1024) or larger than BOUND_RSA_MAX_BITS
 * are refused.
 *
 * Private keys: PEM RSA (PKCS#1 and PKCS#8), PEM Ed25519 (PKCS#8), and the
 * base64 Ed25519 32-byte seed form (RFC 8463 Appendix A.1).
 *
 * Signatures (RFC 6376 section 3.3, RFC 8463 section 3): the caller hashes
 * the canonicalized header data with SHA-256; rsa-sha256 signs that digest
 * with RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2, the same bytes as
 * EVP_DigestSign over the data), ed25519-sha256 runs pure Ed25519 over the
 * 32-byte digest.
 *
 * Reasons: functions that refuse a key append a human reason to a caller
 * struct buf (may be NULL), e.g. "key revoked", "key too small (512 bits,
 * minimum 1024)".
 *
 * Memory and threads: keys are immutable after creation and refcounted
 * (atomic), so one key may serve many threads; the key cache (below) is
 * locked and shared. Everything else here is a
 * pure function. This module and dkim_sign/dkim_verify are the only users
 * of OpenSSL outside canon.
 */
#ifndef AUTHMILTER_DKIM_KEY_H
#define AUTHMILTER_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"

enum dkim_key_type {
	DKIM_KEY_RSA = 0,
	DKIM_KEY_ED25519,
};

/* Signing algorithms (a= tag). rsa-sha1 is not one: RFC 8301 section 3.1
 * forbids it. */
enum dkim_alg {
	DKIM_ALG_RSA_SHA256 = 0,
	DKIM_ALG_ED25519_SHA256,
};

/* A signature is at most BOUND_RSA_MAX_BITS / 8 bytes (Ed25519: 64). */
#define DKIM_SIG_MAX 1024
/* SHA-256 digest length. */
#define DKIM_DIGEST_LEN 32

/* dkim_alg_name -- "rsa-sha256" or "ed25519-sha256". */
const char *dkim_alg_name(enum dkim_alg alg);
/* dkim_alg_parse -- a= value (n bytes, case-insensitive).
 * @return 0 and *ret_alg, or -EINVAL (unknown, rsa-sha1 included). */
int dkim_alg_parse(const char *s, size_t n, enum dkim_alg *ret_alg);
/* dkim_alg_key_type -- the key type an algorithm needs. */
enum dkim_key_type dkim_alg_key_type(enum dkim_alg alg);
/* dkim_key_type_name -- "rsa" or "ed25519" (the k= words). */
const char *dkim_key_type_name(enum dkim_key_type t);

/* ---- public keys ---- */

struct evp_pkey_st;	/* OpenSSL's EVP_PKEY */

/* A parsed key record. Read-only after dkim_pubkey_parse(). */
struct dkim_pubkey {
	enum dkim_key_type type;
	unsigned bits;		/* RSA modulus bits; Ed25519: 256 */
	bool testing;		/* t=y: the domain is testing DKIM */
	bool strict;		/* t=s: i= domain must equal d= */
	struct evp_pkey_st *pkey;	/* owned */
};

/* dkim_pubkey_parse -- parse a key record (a TXT answer: rec, len bytes,
 * any bytes) and load its key. min_rsa_bits: the smallest RSA key
 * accepted (0 = BOUND_RSA_MIN_BITS).
 * @return 0 and *ret (refcount 1; dkim_pubkey_unref); -EINVAL when the
 * record is unusable, with the reason appended to why ("key revoked", "key
 * too small (512 bits, minimum 1024)", "unknown key type (k=dsa)", "bad
 * base64 in p=", "h= does not allow sha256", "not for email (s=)", "v= not
 * DKIM1", "v= not first", "no p= tag", "bad key record syntax: ...", "bad
 * RSA key", "bad Ed25519 key (length N)", "key too large ..."); -ENOMEM. */
int dkim_pubkey_parse(const char *rec, size_t len, unsigned min_rsa_bits,
    struct dkim_pubkey **ret, struct buf *why);
/* dkim_pubkey_ref -- one more reference. @return k */
struct dkim_pubkey *dkim_pubkey_ref(struct dkim_pubkey *k);
/* dkim_pubkey_unref -- drop one reference; NULL is a no-op. @return NULL */
struct dkim_pubkey *dkim_pubkey_unref(struct dkim_pubkey *k);

/* ---- key cache (dkim_key_cache.c) ---- */

/*
 * A bounded, thread-safe cache of dkim_pubkey_parse() outcomes, keyed by
 * the exact record bytes and the minimum RSA bits, so a key record is
 * parsed once and not per message (d2i_PUBKEY of an RSA-2048 key costs
 * more than checking the signature). Refused records are kept too, with
 * their reason. No TTL: a changed DNS record has different bytes, so it is
 * a different entry; freshness is the DNS cache's business. At most
 * max_entries records (each at most BOUND_TXT_BYTES plus its key); CLOCK
 * eviction. One cache serves every thread; keys handed out are
 * references, valid after their entry is evicted.
 */
struct dkim_key_cache;

struct dkim_key_cache_stats {
	unsigned long hits;	/* answered from the cache */
	unsigned long misses;	/* parsed (each miss is one parse) */
	unsigned long evictions;
	size_t entries;		/* held now */
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
int dkim_key_cache_parse(struct dkim_key_cache *c, const char *rec,
    size_t len, unsigned min_rsa_bits, struct dkim_pubkey **ret,
    struct buf *why);
/* dkim_key_cache_stats -- the counters so far into *ret. Thread-safe. */
void dkim_key_cache_stats(struct dkim_key_cache *c,
    struct dkim_key_cache_stats *ret);

/* dkim_pubkey_verify -- check sig (siglen bytes) over a SHA-256 digest
 * (DKIM_DIGEST_LEN bytes) for alg; the key type must match alg.
 * @return 0 if the signature is good; -EBADMSG if it is not; -EINVAL if
 * the key type does not match alg; -ENOMEM. */
int dkim_pubkey_verify(const struct dkim_pubkey *k, enum dkim_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen);

/* ---- private keys ---- */

struct dkim_privkey;

/* dkim_privkey_parse -- a private key from memory (data, len bytes): PEM
 * ("BEGIN RSA PRIVATE KEY", "BEGIN PRIVATE KEY" with RSA or Ed25519) or
 * the base64 of a 32-byte Ed25519 seed. Encrypted PEM is refused (no
 * passphrase prompt). RSA keys below BOUND_RSA_MIN_BITS or above
 * BOUND_RSA_MAX_BITS are refused.
 * @return 0 and *ret (refcount 1); -EINVAL with a reason appended to why
 * ("not a PEM private key or Ed25519 seed", "unsupported key type",
 * "RSA key too small (...)"); -ENOMEM. */
int dkim_privkey_parse(const char *data, size_t len,
    struct dkim_privkey **ret, struct buf *why);
/* dkim_key_load_private -- read and parse the private key file at path.
 * Unless allow_unsafe, a file that group or others may read or write is
 * refused (RequireSafeKeys). Reasons name the file.
 * @return 0 and *ret (refcount 1); -EPERM (unsafe mode), -EINVAL (not a
 * usable key), -errno of open/read (-ENOENT...), -EFBIG (over 64 KB);
 * the reason is appended to why. */
int dkim_key_load_private(const char *path, bool allow_unsafe,
    struct dkim_privkey **ret, struct buf *why);
/* dkim_privkey_ref -- one more reference. @return k */
struct dkim_privkey *dkim_privkey_ref(struct dkim_privkey *k);
/* dkim_privkey_unref -- drop one reference; NULL is a no-op. @return NULL */
struct dkim_privkey *dkim_privkey_unref(struct dkim_privkey *k);
/* dkim_privkey_type -- RSA or Ed25519. */
enum dkim_key_type dkim_privkey_type(const struct dkim_privkey *k);
/* dkim_privkey_alg -- the signing algorithm for this key. */
enum dkim_alg dkim_privkey_alg(const struct dkim_privkey *k);
/* dkim_privkey_bits -- RSA modulus bits; Ed25519: 256. */
unsigned dkim_privkey_bits(const struct dkim_privkey *k);

/* dkim_privkey_record -- append the public key record for k to out:
 * "v=DKIM1; k=rsa; p=<base64 SubjectPublicKeyInfo>" or
 * "v=DKIM1; k=ed25519; p=<base64 32 bytes>". Errors are out's sticky
 * error (-ENOMEM/-ERANGE), or -EIO if OpenSSL cannot encode the key.
 * @return 0 or -errno. */
int dkim_privkey_record(const struct dkim_privkey *k, struct buf *out);

/* dkim_privkey_sign -- sign a SHA-256 digest (DKIM_DIGEST_LEN bytes) with
 * k's algorithm; the signature goes to sig (DKIM_SIG_MAX bytes).
 * @return 0 and *ret_len; -EIO if OpenSSL fails; -ENOMEM. */
int dkim_privkey_sign(const struct dkim_privkey *k, const uint8_t *digest,
    uint8_t *sig, size_t *ret_len);

#endif
