/*
 * dkim_pubkey.c -- DKIM key records into OpenSSL keys, and checking
 * signatures with them (see dkim_pubkey.h).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/span.h"
#include "authmilter/tags.h"

/* The refcount lives ahead of the public struct, as dns answers do; so
 * does an RSA key's verify context, set up once: each check duplicates
 * it (reading it only, so threads may share it) instead of setting one
 * up again (about a sixth of an RSA-2048 verification). */
struct dkim_pubkey_box {
	atomic_uint refs;
	EVP_PKEY_CTX *verify_tpl; /* NULL: set one up per check */
	struct dkim_pubkey pub;
};

#define PUBKEY_BOX(k)                                                          \
	((struct dkim_pubkey_box *)((char *)(k)-offsetof(                      \
	    struct dkim_pubkey_box, pub)))

static void
why_add(struct buf *why, const char *s)
{
	if (why != NULL)
		buf_adds(why, s);
}

struct dkim_pubkey *
dkim_pubkey_ref(struct dkim_pubkey *k)
{
	if (k != NULL)
		atomic_fetch_add(&PUBKEY_BOX(k)->refs, 1);
	return k;
}

struct dkim_pubkey *
dkim_pubkey_unref(struct dkim_pubkey *k)
{
	struct dkim_pubkey_box *box;

	if (k == NULL)
		return NULL;
	box = PUBKEY_BOX(k);
	if (atomic_fetch_sub(&box->refs, 1) == 1) {
		EVP_PKEY_CTX_free(box->verify_tpl);
		EVP_PKEY_free(box->pub.pkey);
		free(box);
	}
	return NULL;
}

/* RSA: SubjectPublicKeyInfo DER (RFC 6376 section 3.6.1 p=), or a bare
 * RSAPublicKey (RFC 8017 appendix A.1.1) as some domains publish. */
static EVP_PKEY *
load_rsa_public(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pk;

	pk = d2i_PUBKEY(NULL, &p, (long)len);
	if (pk != NULL && (p != der + len || !EVP_PKEY_is_a(pk, "RSA"))) {
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	if (pk == NULL) {
		p = der;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
		if (pk != NULL && p != der + len) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
	}
	ERR_clear_error();
	return pk;
}

static int
pubkey_load(struct dkim_pubkey *k, const struct tag *p, unsigned min_bits,
    struct buf *why)
{
	uint8_t der[BOUND_TXT_BYTES];
	size_t len;

	if (b64_decode(
	        p->value, p->value_len, B64_FWS, der, sizeof(der), &len) != 0) {
		why_add(why, "bad base64 in p=");
		return -EINVAL;
	}
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 section 4.2: p= is the raw 32-byte public key */
		if (len != DKIM_ED25519_LEN) {
			if (why != NULL)
				buf_addf(
				    why, "bad Ed25519 key (length %zu)", len);
			return -EINVAL;
		}
		k->pkey = EVP_PKEY_new_raw_public_key(
		    EVP_PKEY_ED25519, NULL, der, len);
		ERR_clear_error();
	} else
		k->pkey = load_rsa_public(der, len);
	if (k->pkey == NULL) {
		why_add(why, k->type == DKIM_KEY_ED25519 ? "bad Ed25519 key"
		                                         : "bad RSA key");
		return -EINVAL;
	}
	k->bits = (unsigned)EVP_PKEY_get_bits(k->pkey);
	if (k->type == DKIM_KEY_RSA && k->bits < min_bits) {
		/* RFC 8301 section 3.2: keys under 1024 bits MUST NOT be
		 * considered valid */
		if (why != NULL)
			buf_addf(why, "key too small (%u bits, minimum %u)",
			    k->bits, min_bits);
		return -EINVAL;
	}
	if (k->type == DKIM_KEY_RSA && k->bits > BOUND_RSA_MAX_BITS) {
		if (why != NULL)
			buf_addf(why, "key too large (%u bits, maximum %u)",
			    k->bits, BOUND_RSA_MAX_BITS);
		return -EINVAL;
	}
	return 0;
}

/* The tags of RFC 6376 section 3.6.1 other than p=. */
static int
pubkey_tags(struct dkim_pubkey *k, const struct tag_list *l, struct buf *why)
{
	const struct tag *t;

	t = tags_find(l, "v");
	if (t != NULL && t != &l->tags[0]) {
		why_add(why, "v= not first");
		return -EINVAL;
	}
	/* "v=DKIM1" is the only value; case-sensitive per the ABNF */
	if (t != NULL &&
	    (t->value_len != 5 || memcmp(t->value, "DKIM1", 5) != 0)) {
		why_add(why, "v= not DKIM1");
		return -EINVAL;
	}
	t = tags_find(l, "k");
	if (t != NULL && tags_value_is(t, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else if (t != NULL && !tags_value_is(t, "rsa")) {
		if (why != NULL) {
			buf_adds(why, "unknown key type (k=");
			buf_add(why, t->value,
			    t->value_len > 32 ? 32 : t->value_len);
			buf_adds(why, ")");
		}
		return -EINVAL;
	}
	t = tags_find(l, "h");
	if (t != NULL && !span_list_has(t->value, t->value_len, "sha256")) {
		why_add(why, "h= does not allow sha256");
		return -EINVAL;
	}
	t = tags_find(l, "s");
	if (t != NULL && !span_list_has(t->value, t->value_len, "*") &&
	    !span_list_has(t->value, t->value_len, "email")) {
		why_add(why, "not for email (s=)");
		return -EINVAL;
	}
	t = tags_find(l, "t");
	if (t != NULL) {
		k->testing = span_list_has(t->value, t->value_len, "y");
		k->strict = span_list_has(t->value, t->value_len, "s");
	}
	return 0;
}

int
dkim_pubkey_parse(const char *rec, size_t len, unsigned min_rsa_bits,
    struct dkim_pubkey **ret, struct buf *why)
{
	struct dkim_pubkey_box *box;
	struct tag_list l;
	const struct tag *p;
	const char *twhy;
	size_t where;
	int r;

	if (min_rsa_bits == 0)
		min_rsa_bits = BOUND_RSA_MIN_BITS;
	r = tags_parse(rec, len, &l, &twhy, &where);
	if (r != 0) {
		if (why != NULL)
			buf_addf(why, "bad key record syntax: %s",
			    r == -E2BIG ? "too many tags" : twhy);
		return -EINVAL;
	}
	box = calloc(1, sizeof(*box));
	if (box == NULL)
		return -ENOMEM;
	atomic_init(&box->refs, 1);
	r = pubkey_tags(&box->pub, &l, why);
	if (r == 0 && (p = tags_find(&l, "p")) == NULL) {
		why_add(why, "no p= tag");
		r = -EINVAL;
	} else if (r == 0 && p->value_len == 0) {
		/* RFC 6376 section 3.6.1: an empty p= means revoked */
		why_add(why, "key revoked");
		r = -EINVAL;
	} else if (r == 0)
		r = pubkey_load(&box->pub, p, min_rsa_bits, why);
	if (r != 0) {
		dkim_pubkey_unref(&box->pub);
		return r;
	}
	if (box->pub.type == DKIM_KEY_RSA)
		box->verify_tpl = dkim_alg_rsa_ctx(box->pub.pkey, false);
	*ret = &box->pub;
	return 0;
}

int
dkim_pubkey_verify(const struct dkim_pubkey *k, enum dkim_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *pctx = NULL, *tpl;
	EVP_MD_CTX *mctx = NULL;
	int ok = -1;

	if (dkim_alg_key_type(alg) != k->type)
		return -EINVAL;
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 section 3: pure Ed25519 over the SHA-256 hash */
		mctx = EVP_MD_CTX_new();
		if (mctx == NULL)
			return -ENOMEM;
		if (EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, k->pkey) == 1)
			ok = EVP_DigestVerify(
			    mctx, sig, siglen, digest, DKIM_DIGEST_LEN);
		EVP_MD_CTX_free(mctx);
	} else {
		tpl = ((const struct dkim_pubkey_box
		               *)((const char *)k -
		                  offsetof(struct dkim_pubkey_box, pub)))
		          ->verify_tpl;
		pctx = tpl != NULL ? EVP_PKEY_CTX_dup(tpl)
		                   : dkim_alg_rsa_ctx(k->pkey, false);
		if (pctx == NULL)
			return -ENOMEM;
		ok =
		    EVP_PKEY_verify(pctx, sig, siglen, digest, DKIM_DIGEST_LEN);
		EVP_PKEY_CTX_free(pctx);
	}
	ERR_clear_error();
	return ok == 1 ? 0 : -EBADMSG;
}
