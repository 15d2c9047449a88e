/*
 * canon.h -- DKIM canonicalization (RFC 6376 section 3.4), streaming.
 *
 * Headers: canon_header() appends the canonical form of one field.
 * Body: a canon_body takes the body in chunks of any size (a chunk may end
 * mid-line or between CR and LF), canonicalizes it (simple or relaxed),
 * honours a length limit (l=), and hashes the result as it goes; the body
 * is never held whole. Input line ends are normalised first: CRLF stays,
 * a bare LF becomes CRLF (the MTA or a file may give either), so the hash
 * is over the wire form.
 *
 * One canon_body serves every signature that shares (canonicalization,
 * hash, limit); dkim_verify and dkim_sign keep one per distinct triple.
 *
 * canon_sha256() is the one SHA-256 implementation every hash of the
 * process uses (body, header, signature digests): fetched from OpenSSL's
 * providers once, so no digest set-up on the per-message path looks the
 * algorithm up by name again.
 *
 * Memory: a canon_body lives in the arena given to canon_body_new() and
 * its OpenSSL context is released by the arena's cleanup; there is no
 * free function. Not thread-safe: one message, one thread (canon_sha256
 * is: its object is made once and never changes).
 */
#ifndef AUTHMILTER_CANON_H
#define AUTHMILTER_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"

enum canon_alg {
	CANON_SIMPLE = 0,
	CANON_RELAXED,
};

enum canon_hash {
	CANON_SHA256 = 0,
};

#define CANON_DIGEST_MAX 64

/* OpenSSL's EVP_MD (openssl/types.h), named here without OpenSSL's
 * headers: only canon and dkim_* use it. */
struct evp_md_st;

/* canon_sha256 -- SHA-256 fetched once for the process (EVP_MD_fetch,
 * default library context; the first call fetches, thread-safe). Should
 * the fetch fail, OpenSSL's built-in EVP_sha256(), which looks it up at
 * each use. Never NULL; held until the process ends (not to be freed).
 * @return the digest (for EVP_DigestInit_ex, set_signature_md) */
const struct evp_md_st *canon_sha256(void);

/* canon_alg_name -- "simple" or "relaxed" */
const char *canon_alg_name(enum canon_alg alg);
/* canon_alg_parse -- "simple"/"relaxed" (n bytes, case-insensitive).
 * @return 0 and *ret_alg, or -EINVAL. */
int canon_alg_parse(const char *s, size_t n, enum canon_alg *ret_alg);

/* canon_header -- append the canonical form of one header field to out,
 * ending with CRLF. name and value as msg.h keeps them (value: everything
 * after the colon, folds as CRLF). RFC 6376 section 3.4.1 (simple: as is)
 * and 3.4.2 (relaxed: lower-case name, unfold, WSP runs to one SP, no WSP
 * at either end of the value or before the colon). */
void canon_header(struct buf *out, enum canon_alg alg, const char *name,
    size_t name_len, const char *value, size_t value_len);

struct canon_body;

/* canon_body_new -- a body stream in arena a. limit: the number of
 * canonical body bytes to hash (l=), or -1 for all.
 * @return 0 and *ret, or -ENOMEM (or -EIO if OpenSSL refuses the hash). */
int canon_body_new(struct arena *a, enum canon_alg alg, enum canon_hash hash,
    int64_t limit, struct canon_body **ret);

/* canon_body_update -- feed len more raw body bytes. @return 0 or -EIO */
int canon_body_update(struct canon_body *cb, const char *data, size_t len);

/* canon_body_final -- finish the body (RFC 6376 section 3.4.3/3.4.4
 * trailing empty lines rules) and write the digest (at most
 * CANON_DIGEST_MAX bytes). May be called once.
 * @return 0 and *ret_len, or -EIO. */
int canon_body_final(struct canon_body *cb, uint8_t *digest, size_t *ret_len);

/* canon_body_length -- canonical body bytes produced in total (after
 * canon_body_final: complete), whether or not past the limit. A signature
 * with l= smaller than this leaves content unsigned. */
uint64_t canon_body_length(const struct canon_body *cb);

/* canon_body_matches -- whether this stream serves (alg, hash, limit). */
bool canon_body_matches(const struct canon_body *cb, enum canon_alg alg,
    enum canon_hash hash, int64_t limit);

#endif
