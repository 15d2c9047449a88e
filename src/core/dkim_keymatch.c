/*
 * dkim_keymatch.c -- a key record against a private key (see
 * dkim_keymatch.h).
 */
#include <errno.h>

#include <openssl/evp.h>

#include "authmilter/dkim_keymatch.h"
#include "authmilter/tags.h"

/* A key record is at most this long after its strings are joined: the
 * record of the largest RSA key we make or accept fits easily. */
#define DKIM_KEYMATCH_RECORD_MAX 8192

int
dkim_keymatch_pubkey(const struct dkim_pubkey *pub,
    const struct dkim_privkey *priv, enum dkim_keymatch *ret, struct buf *why)
{
	struct dkim_pubkey *mine = NULL;
	struct buf rec;
	int r;

	buf_init(&rec, DKIM_KEYMATCH_RECORD_MAX);
	r = dkim_privkey_record(priv, &rec);
	if (r == 0 && dkim_pubkey_parse(rec.data, rec.len, 0, &mine, NULL) != 0)
		r = -EIO;
	buf_free(&rec);
	if (r != 0)
		return r;
	if (mine->type != pub->type) {
		*ret = DKIM_KEYMATCH_MISMATCH;
		if (why != NULL)
			buf_addf(why,
			    "the record is k=%s but the private key is "
			    "an %s key",
			    dkim_key_type_name(pub->type),
			    dkim_key_type_name(mine->type));
	} else if (EVP_PKEY_eq(mine->pkey, pub->pkey) != 1) {
		*ret = DKIM_KEYMATCH_MISMATCH;
		if (why != NULL)
			buf_adds(why, "the published key does not match the "
			              "private key");
	} else {
		*ret = DKIM_KEYMATCH_OK;
	}
	dkim_pubkey_unref(mine);
	return 0;
}

/* RFC 6376 section 3.6.1: "An empty value means that this public key has
 * been revoked." */
static bool
dkim_keymatch_revoked(const char *rec, size_t len)
{
	const struct tag *p;
	struct tag_list tl;
	const char *twhy;
	size_t where;

	if (tags_parse(rec, len, &tl, &twhy, &where) != 0)
		return false;
	p = tags_find(&tl, "p");
	return p != NULL && p->value_len == 0;
}

int
dkim_keymatch_record(const char *rec, size_t len,
    const struct dkim_privkey *priv, enum dkim_keymatch *ret, struct buf *why)
{
	struct dkim_pubkey *pub = NULL;
	struct buf inner;
	int r;

	if (dkim_keymatch_revoked(rec, len)) {
		*ret = DKIM_KEYMATCH_REVOKED;
		if (why != NULL)
			buf_adds(why, "the key is revoked (empty p=)");
		return 0;
	}
	buf_init(&inner, 512);
	r = dkim_pubkey_parse(rec, len, 0, &pub, &inner);
	if (r == -ENOMEM) {
		buf_free(&inner);
		return r;
	}
	if (r != 0) {
		*ret = DKIM_KEYMATCH_UNUSABLE;
		if (why != NULL)
			buf_adds(why,
			    inner.len ? buf_cstr(&inner) : "not a key record");
		buf_free(&inner);
		return 0;
	}
	buf_free(&inner);
	r = dkim_keymatch_pubkey(pub, priv, ret, why);
	dkim_pubkey_unref(pub);
	return r;
}

const char *
dkim_keymatch_name(enum dkim_keymatch m)
{
	switch (m) {
	case DKIM_KEYMATCH_OK:
		return "ok";
	case DKIM_KEYMATCH_MISMATCH:
		return "mismatch";
	case DKIM_KEYMATCH_REVOKED:
		return "revoked";
	case DKIM_KEYMATCH_UNUSABLE:
		break;
	}
	return "unusable";
}
