/*
 * dkim_keymatch.h -- whether a published key record holds the public
 * half of a private key: what `authmilter keycheck -k` reports and what
 * key rotation requires before it signs with a new key or retires an old
 * one. The public keys are compared as keys (OpenSSL's EVP_PKEY_eq: the
 * RSA modulus and exponent, the 32 Ed25519 bytes), so a record written
 * with other spacing, tag order or a bare RSAPublicKey still matches and
 * any other key does not.
 *
 * Memory: nothing is kept; reasons are appended to a caller buffer.
 * Thread-safe.
 */
#ifndef AUTHMILTER_DKIM_KEYMATCH_H
#define AUTHMILTER_DKIM_KEYMATCH_H

#include <stddef.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"

enum dkim_keymatch {
	DKIM_KEYMATCH_OK = 0,   /* the record publishes this key */
	DKIM_KEYMATCH_MISMATCH, /* a usable record of another key */
	DKIM_KEYMATCH_REVOKED,  /* p= is empty (RFC 6376 section 3.6.1) */
	DKIM_KEYMATCH_UNUSABLE, /* not a usable key record */
};

/* dkim_keymatch_pubkey -- compare a parsed record's key with priv.
 * why gets the reason for anything but OK ("the record is k=rsa but the
 * private key is an ed25519 key", "the published key does not match the
 * private key").
 * @return 0 and *ret; -ENOMEM; -EIO when the private key's public half
 * cannot be derived. */
int dkim_keymatch_pubkey(const struct dkim_pubkey *pub,
    const struct dkim_privkey *priv, enum dkim_keymatch *ret, struct buf *why);

/* dkim_keymatch_record -- the same for a TXT record (rec, len bytes, any
 * bytes): REVOKED for an empty p=, UNUSABLE with dkim_pubkey_parse()'s
 * reason when it does not parse.
 * @return 0 and *ret; -ENOMEM; -EIO. */
int dkim_keymatch_record(const char *rec, size_t len,
    const struct dkim_privkey *priv, enum dkim_keymatch *ret, struct buf *why);

/* dkim_keymatch_name -- "ok", "mismatch", "revoked", "unusable". */
const char *dkim_keymatch_name(enum dkim_keymatch m);

#endif
