/*
 * dkim_alg.h -- the DKIM signing algorithms (RFC 6376 section 3.3 and the
 * a= tag of section 3.5; RFC 8463 section 3 adds ed25519-sha256; RFC 8301
 * section 3.1 takes rsa-sha1 away): their names, the key type each needs,
 * and the sizes of what they produce. Both use SHA-256.
 *
 * The key modules (dkim_pubkey, dkim_privkey) and the signature modules
 * (dkim_sig, dkim_sign, dkim_verify) share this table, and so does ARC
 * (RFC 8617 sections 4.1.2 and 4.1.3: a= as in DKIM).
 *
 * Pure functions over static data, and the one OpenSSL context set-up
 * for rsa-sha256 that the key modules share; thread-safe.
 */
#ifndef AUTHMILTER_DKIM_ALG_H
#define AUTHMILTER_DKIM_ALG_H

#include <stdbool.h>
#include <stddef.h>

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
/* SHA-256 digest length: what the header hash gives and a key signs. */
#define DKIM_DIGEST_LEN 32
/* Ed25519 public keys and private seeds (RFC 8032 section 5.1.5). */
#define DKIM_ED25519_LEN 32

/* dkim_alg_name -- "rsa-sha256" or "ed25519-sha256". */
const char *dkim_alg_name(enum dkim_alg alg);
/* dkim_alg_parse -- a= value (n bytes, case-insensitive).
 * @return 0 and *ret_alg, or -EINVAL (unknown, rsa-sha1 included). */
int dkim_alg_parse(const char *s, size_t n, enum dkim_alg *ret_alg);
/* dkim_alg_key_type -- the key type an algorithm needs. */
enum dkim_key_type dkim_alg_key_type(enum dkim_alg alg);
/* dkim_key_type_name -- "rsa" or "ed25519" (the k= words). */
const char *dkim_key_type_name(enum dkim_key_type t);

/* OpenSSL's EVP_PKEY and EVP_PKEY_CTX (openssl/types.h), named here
 * without OpenSSL's headers. */
struct evp_pkey_st;
struct evp_pkey_ctx_st;

/* dkim_alg_rsa_ctx -- a context for rsa-sha256 on the RSA key pkey
 * (borrowed), ready to sign (sign) or to verify, to set up once per key
 * and EVP_PKEY_CTX_dup() per operation (no algorithm look-up then).
 * @return the context (caller frees: EVP_PKEY_CTX_free), or NULL when
 * OpenSSL cannot set it up (its error queue cleared) */
struct evp_pkey_ctx_st *dkim_alg_rsa_ctx(struct evp_pkey_st *pkey, bool sign);

#endif
