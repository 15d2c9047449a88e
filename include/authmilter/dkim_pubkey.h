/*
 * dkim_pubkey.h -- DKIM public keys: key records parsed into keys, and
 * checking a signature with one.
 *
 * Key records (RFC 6376 section 3.6.1) are parsed through tags.h into a
 * struct dkim_pubkey: v=DKIM1 (first if present), k=rsa|ed25519 (default
 * rsa), h= (must allow sha256 when present), p= (base64; empty =
 * revoked), s= (* or email), t=y (testing) and t=s (strict i=). Unknown
 * tags are ignored. RSA keys are SubjectPublicKeyInfo DER (bare
 * RSAPublicKey DER is accepted too, as some domains publish it); Ed25519
 * keys are the raw 32 bytes of RFC 8463 section 4.2. RSA keys smaller
 * than a minimum (RFC 8301 section 3.2: 1024) or larger than
 * BOUND_RSA_MAX_BITS are refused.
 *
 * Checking (RFC 6376 section 3.3, RFC 8463 section 3): rsa-sha256 is
 * RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2) over the SHA-256 digest of the
 * header data; ed25519-sha256 is pure Ed25519 over that 32-byte digest.
 *
 * Reasons: a refused record appends a human reason to a caller struct buf
 * (may be NULL), e.g. "key revoked", "key too small (512 bits, minimum
 * 1024)".
 *
 * Memory and threads: keys are immutable after creation and refcounted
 * (atomic), so one key may serve many threads; parsing is a pure
 * function. Repeated parses of the same record are what dkim_key_cache.h
 * saves.
 */
#ifndef AUTHMILTER_DKIM_PUBKEY_H
#define AUTHMILTER_DKIM_PUBKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_alg.h"

struct evp_pkey_st; /* OpenSSL's EVP_PKEY */

/* A parsed key record. Read-only after dkim_pubkey_parse(). */
struct dkim_pubkey {
	enum dkim_key_type type;
	unsigned bits;            /* RSA modulus bits; Ed25519: 256 */
	bool testing;             /* t=y: the domain is testing DKIM */
	bool strict;              /* t=s: i= domain must equal d= */
	struct evp_pkey_st *pkey; /* owned */
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

/* dkim_pubkey_verify -- check sig (siglen bytes) over a SHA-256 digest
 * (DKIM_DIGEST_LEN bytes) for alg; the key type must match alg.
 * @return 0 if the signature is good; -EBADMSG if it is not; -EINVAL if
 * the key type does not match alg; -ENOMEM. */
int dkim_pubkey_verify(const struct dkim_pubkey *k, enum dkim_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen);

#endif
