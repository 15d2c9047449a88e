/*
 * dkim_privkey.c -- DKIM private keys over OpenSSL 3 EVP: PEM and Ed25519
 * seeds in, signatures and key records out (see dkim_privkey.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/canon.h"
#include "authmilter/dkim_privkey.h"

struct dkim_privkey {
	atomic_uint refs;
	enum dkim_key_type type;
	unsigned bits;
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *sign_tpl; /* RSA: set up once, duplicated per
	                         * signature; NULL: set one up each time */
	uint8_t source[DKIM_PRIVKEY_SOURCE_LEN]; /* SHA-256 of the bytes
	                                          * parsed */
};

struct dkim_privkey *
dkim_privkey_ref(struct dkim_privkey *k)
{
	if (k != NULL)
		atomic_fetch_add(&k->refs, 1);
	return k;
}

struct dkim_privkey *
dkim_privkey_unref(struct dkim_privkey *k)
{
	if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1) {
		EVP_PKEY_CTX_free(k->sign_tpl);
		EVP_PKEY_free(k->pkey);
		free(k);
	}
	return NULL;
}

enum dkim_key_type
dkim_privkey_type(const struct dkim_privkey *k)
{
	return k->type;
}

enum dkim_alg
dkim_privkey_alg(const struct dkim_privkey *k)
{
	return k->type == DKIM_KEY_ED25519 ? DKIM_ALG_ED25519_SHA256
	                                   : DKIM_ALG_RSA_SHA256;
}

unsigned
dkim_privkey_bits(const struct dkim_privkey *k)
{
	return k->bits;
}

const uint8_t *
dkim_privkey_source(const struct dkim_privkey *k)
{
	return k->source;
}

int
dkim_privkey_digest(
    const char *data, size_t len, uint8_t out[DKIM_PRIVKEY_SOURCE_LEN])
{
	int ok;

	ok = EVP_Digest(data, len, out, NULL, canon_sha256(), NULL) == 1;
	ERR_clear_error();
	return ok ? 0 : -ENOMEM;
}

/* Never prompt for a passphrase: encrypted keys are refused. */
static int
no_passphrase(char *b, int size, int rwflag, void *u)
{
	(void)b;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* The base64 Ed25519 seed form (RFC 8463 Appendix A.1), or NULL. */
static EVP_PKEY *
load_ed25519_seed(const char *data, size_t len)
{
	uint8_t seed[64];
	size_t n;
	EVP_PKEY *pk;

	if (b64_decode(data, len, B64_FWS, seed, sizeof(seed), &n) != 0 ||
	    n != DKIM_ED25519_LEN)
		return NULL;
	pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, n);
	OPENSSL_cleanse(seed, sizeof(seed));
	return pk;
}

static EVP_PKEY *
load_pem_private(const char *data, size_t len)
{
	BIO *bio;
	EVP_PKEY *pk;

	if (len > INT_MAX)
		return NULL;
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL)
		return NULL;
	pk = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	return pk;
}

static int
privkey_check(EVP_PKEY *pk, struct dkim_privkey *k, struct buf *why)
{
	if (EVP_PKEY_is_a(pk, "ED25519"))
		k->type = DKIM_KEY_ED25519;
	else if (EVP_PKEY_is_a(pk, "RSA"))
		k->type = DKIM_KEY_RSA;
	else {
		if (why != NULL)
			buf_adds(why, "unsupported key type (not RSA or "
			              "Ed25519)");
		return -EINVAL;
	}
	k->bits = (unsigned)EVP_PKEY_get_bits(pk);
	if (k->type == DKIM_KEY_RSA &&
	    (k->bits < BOUND_RSA_MIN_BITS || k->bits > BOUND_RSA_MAX_BITS)) {
		/* RFC 8301 section 3.2: signers MUST use at least 1024 */
		if (why != NULL)
			buf_addf(why, "RSA key of %u bits (allowed: %u to %u)",
			    k->bits, BOUND_RSA_MIN_BITS, BOUND_RSA_MAX_BITS);
		return -EINVAL;
	}
	return 0;
}

int
dkim_privkey_parse(
    const char *data, size_t len, struct dkim_privkey **ret, struct buf *why)
{
	struct dkim_privkey *k;
	EVP_PKEY *pk;
	int r;

	if (memmem(data, len, "-----BEGIN", 10) != NULL)
		pk = load_pem_private(data, len);
	else
		pk = load_ed25519_seed(data, len);
	ERR_clear_error();
	if (pk == NULL) {
		if (why != NULL)
			buf_adds(why, "not a PEM private key or Ed25519 seed "
			              "(or encrypted)");
		return -EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pk);
		if (why != NULL)
			buf_adds(why, "out of memory");
		return -ENOMEM;
	}
	atomic_init(&k->refs, 1);
	k->pkey = pk;
	r = privkey_check(pk, k, why);
	if (r == 0 && (r = dkim_privkey_digest(data, len, k->source)) != 0 &&
	    why != NULL)
		buf_adds(why, "out of memory");
	if (r != 0) {
		dkim_privkey_unref(k);
		return r;
	}
	if (k->type == DKIM_KEY_RSA)
		k->sign_tpl = dkim_alg_rsa_ctx(pk, true);
	*ret = k;
	return 0;
}

int
dkim_privkey_record(const struct dkim_privkey *k, struct buf *out)
{
	uint8_t raw[DKIM_ED25519_LEN];
	unsigned char *der = NULL;
	size_t rawlen = sizeof(raw);
	int n;

	buf_addf(out, "v=DKIM1; k=%s; p=", dkim_key_type_name(k->type));
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 section 4.2 */
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1) {
			ERR_clear_error();
			return -EIO;
		}
		b64_encode(out, raw, rawlen);
	} else {
		/* RFC 6376 section 3.6.1: SubjectPublicKeyInfo */
		n = i2d_PUBKEY(k->pkey, &der);
		if (n <= 0) {
			ERR_clear_error();
			return -EIO;
		}
		b64_encode(out, der, (size_t)n);
		OPENSSL_free(der);
	}
	return buf_error(out);
}

int
dkim_privkey_sign(const struct dkim_privkey *k, const uint8_t *digest,
    uint8_t *sig, size_t *ret_len)
{
	EVP_PKEY_CTX *pctx;
	EVP_MD_CTX *mctx;
	size_t len = DKIM_SIG_MAX;
	int ok = 0;

	if (EVP_PKEY_get_size(k->pkey) > DKIM_SIG_MAX)
		return -EIO;
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 section 3: Ed25519 over the SHA-256 digest */
		mctx = EVP_MD_CTX_new();
		if (mctx == NULL)
			return -ENOMEM;
		ok = EVP_DigestSignInit(mctx, NULL, NULL, NULL, k->pkey) == 1 &&
		     EVP_DigestSign(mctx, sig, &len, digest, DKIM_DIGEST_LEN) ==
		         1;
		EVP_MD_CTX_free(mctx);
	} else {
		/* the context set up at load (dkim_alg_rsa_ctx), duplicated:
		 * no algorithm look-up per signature */
		if (k->sign_tpl != NULL) {
			if ((pctx = EVP_PKEY_CTX_dup(k->sign_tpl)) == NULL)
				return -ENOMEM;
		} else if ((pctx = dkim_alg_rsa_ctx(k->pkey, true)) == NULL)
			return -EIO;
		ok = EVP_PKEY_sign(pctx, sig, &len, digest, DKIM_DIGEST_LEN) ==
		     1;
		EVP_PKEY_CTX_free(pctx);
	}
	ERR_clear_error();
	if (!ok)
		return -EIO;
	*ret_len = len;
	return 0;
}

const char *
dkim_privkey_library(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}
