/*
 * dkim_keygen.h -- making DKIM key pairs and the DNS records that publish
 * them: a new private key as PEM, the key record text (RFC 6376 section
 * 3.6.1, RFC 8463 section 4.2) with optional h=, t= flags, and the record
 * in zone-file syntax with the value cut into character-strings of at
 * most 255 bytes (RFC 1035 section 3.3.14, RFC 6376 section 3.6.2.2).
 *
 * Used by `authmilter keygen` and by key rotation, so both write the same
 * files and records.
 *
 * Memory: results are appended to caller buffers; a PEM buffer holds a
 * secret, so callers cleanse it (OPENSSL_cleanse) before freeing.
 * Thread-safe (no shared state).
 */
#ifndef AUTHMILTER_DKIM_KEYGEN_H
#define AUTHMILTER_DKIM_KEYGEN_H

#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_alg.h"
#include "authmilter/dkim_privkey.h"

/* dkim_keygen_record flags */
#define DKIM_KEYGEN_H_SHA256 0x1 /* h=sha256 */
#define DKIM_KEYGEN_TESTING 0x2  /* t=y */
#define DKIM_KEYGEN_STRICT 0x4   /* t=s */

/* dkim_keygen_pem -- a new private key of type (bits: RSA modulus size,
 * ignored for Ed25519) as PEM PKCS#8 text appended to pem.
 * @return 0; -EIO when OpenSSL fails; pem's sticky error (-ENOMEM,
 * -ERANGE). */
int dkim_keygen_pem(enum dkim_key_type type, unsigned bits, struct buf *pem);

/* dkim_keygen_record -- the key record of k appended to rec: "v=DKIM1; "
 * then h=sha256, k=, t= as flags ask, then p=.
 * @return 0 or -errno (rec's sticky error, -EIO from OpenSSL). */
int dkim_keygen_record(
    const struct dkim_privkey *k, unsigned flags, struct buf *rec);

/* dkim_keygen_revoked -- the record that revokes a key of type (RFC 6376
 * section 3.6.1: an empty p= means the key was revoked), appended to
 * rec: "v=DKIM1; k=TYPE; p=". */
void dkim_keygen_revoked(enum dkim_key_type type, struct buf *rec);

/* dkim_keygen_zone_text -- one zone-file entry for the record rec (len
 * bytes, tag-list text holding no '"' or '\\'), at
 * SELECTOR._domainkey.DOMAIN. with ttl (0: none written), followed by
 * "; comment" when comment is not NULL, appended to out: the text before
 * p= as the first string, p= in strings of at most 255 bytes, one per
 * line. */
void dkim_keygen_zone_text(const char *selector, const char *domain,
    uint32_t ttl, const char *rec, size_t len, const char *comment,
    struct buf *out);

#endif
