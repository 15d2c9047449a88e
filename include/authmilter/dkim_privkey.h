/*
 * dkim_privkey.h -- DKIM private keys in memory: parsing, signing a
 * digest, and the public key record that goes with a key.
 *
 * Forms: PEM RSA (PKCS#1 and PKCS#8), PEM Ed25519 (PKCS#8), and the base64
 * Ed25519 32-byte seed form (RFC 8463 Appendix A.1). Encrypted PEM is
 * refused (no passphrase prompt). Reading key files (permissions, size,
 * read errors) is dkim_key.h.
 *
 * Signing (RFC 6376 section 3.3, RFC 8463 section 3): the caller hashes
 * the canonicalized header data with SHA-256; rsa-sha256 signs that digest
 * with RSASSA-PKCS1-v1_5 (RFC 8017 section 8.2, the same bytes as
 * EVP_DigestSign over the data), ed25519-sha256 runs pure Ed25519 over the
 * 32-byte digest.
 *
 * A key remembers the SHA-256 of the bytes it was parsed from (its
 * source): bytes with the same digest make the same key, so a caller that
 * reads a key file again can take over the key it parsed before instead
 * of parsing it again (dkim_key.h, struct dkim_key_pool).
 *
 * Memory and threads: keys are immutable after creation and refcounted
 * (atomic); one key may sign in many threads at once.
 */
#ifndef AUTHMILTER_DKIM_PRIVKEY_H
#define AUTHMILTER_DKIM_PRIVKEY_H

#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_alg.h"

struct dkim_privkey;

/* The length of a key's source digest (SHA-256). */
#define DKIM_PRIVKEY_SOURCE_LEN 32

/* dkim_privkey_parse -- a private key from memory (data, len bytes): PEM
 * ("BEGIN RSA PRIVATE KEY", "BEGIN PRIVATE KEY" with RSA or Ed25519) or
 * the base64 of a 32-byte Ed25519 seed. RSA keys below BOUND_RSA_MIN_BITS
 * or above BOUND_RSA_MAX_BITS are refused.
 * @return 0 and *ret (refcount 1); -EINVAL with a reason appended to why
 * (may be NULL: "not a PEM private key or Ed25519 seed (or encrypted)",
 * "unsupported key type (not RSA or Ed25519)", "RSA key of N bits
 * (allowed: ...)"); -ENOMEM ("out of memory"). The key keeps the SHA-256
 * of the len bytes (dkim_privkey_source). */
int dkim_privkey_parse(
    const char *data, size_t len, struct dkim_privkey **ret, struct buf *why);
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
/* dkim_privkey_source -- the SHA-256 of the bytes k was parsed from
 * (DKIM_PRIVKEY_SOURCE_LEN bytes, as long as k lives). */
const uint8_t *dkim_privkey_source(const struct dkim_privkey *k);
/* dkim_privkey_digest -- the digest dkim_privkey_parse would keep for the
 * len bytes at data, into out. @return 0, or -ENOMEM when OpenSSL
 * cannot hash (its context allocation failed). */
int dkim_privkey_digest(
    const char *data, size_t len, uint8_t out[DKIM_PRIVKEY_SOURCE_LEN]);

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

/* dkim_privkey_library -- the version of the OpenSSL library that signs
 * ("OpenSSL 3.0.17 1 Jul 2025"), for logs and build information. */
const char *dkim_privkey_library(void);

#endif
