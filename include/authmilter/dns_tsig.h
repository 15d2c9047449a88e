/*
 * dns_tsig.h -- TSIG keys (RFC 8945) for DNS UPDATE: the key file key
 * rotation reads (RotateTSIGKey), parsed into a name, an algorithm and a
 * secret.
 *
 * Two forms are read:
 *  - the key statement of named.conf, as tsig-keygen, ddns-confgen and
 *    rndc-confgen print it and `nsupdate -k` reads it:
 *        key "update-key" {
 *                algorithm hmac-sha256;
 *                secret "base64...";
 *        };
 *    with '#', '//' and C-style comments; exactly one key per file;
 *  - one line ALGORITHM:NAME:SECRET, the form of `knsupdate -y` (Knot's
 *    `keymgr -t NAME` prints it after "# " on its first line); blank and
 *    '#' lines around it are ignored.
 * The name must be a valid domain name; the algorithm one of hmac-sha1,
 * hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512 (a final '.' is
 * allowed; hmac-md5 is refused: RFC 8945 section 6 deprecates it); the
 * secret base64 of 1 to BOUND_TSIG_SECRET_BYTES bytes.
 *
 * Reading the file (permissions: the rules of private key files) is the
 * caller's: see dkim_key_read_file().
 *
 * Memory: a struct dns_tsig is a plain value holding the secret; clear it
 * with dns_tsig_clear() when done. Thread-safe.
 */
#ifndef AUTHMILTER_DNS_TSIG_H
#define AUTHMILTER_DNS_TSIG_H

#include <stddef.h>

#include "authmilter/bounds.h"
#include "authmilter/buf.h"

/* The base64 text of the longest secret, padded. */
#define DNS_TSIG_SECRET_TEXT ((BOUND_TSIG_SECRET_BYTES + 2) / 3 * 4)

struct dns_tsig {
	char name[BOUND_DOMAIN_LEN + 1]; /* as written, no final dot */
	char algorithm[24];              /* ldns's spelling: "hmac-sha256." */
	char secret[DNS_TSIG_SECRET_TEXT + 1]; /* base64, checked */
};

/* dns_tsig_parse -- the key in text (len bytes, any bytes), a file that
 * label names in reasons.
 * @return 0 and *ret; -EINVAL with "label:line: reason" appended to why
 * (may be NULL). */
int dns_tsig_parse(const char *text, size_t len, const char *label,
    struct dns_tsig *ret, struct buf *why);

/* dns_tsig_clear -- wipe the secret (and the rest) of k. */
void dns_tsig_clear(struct dns_tsig *k);

#endif
