/*
 * dkim_key.c -- DKIM key records, private keys and the signature
 * primitives, over OpenSSL 3 EVP.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_key.h"
#include "authmilter/span.h"
#include "authmilter/tags.h"

/* A private key file is a few KB; anything bigger is not a key. */
#define DKIM_KEY_FILE_MAX 65536
/* Ed25519 keys and seeds (RFC 8032 section 5.1.5). */
#define DKIM_ED25519_LEN 32

struct dkim_privkey {
	atomic_uint refs;
	enum dkim_key_type type;
	unsigned bits;
	EVP_PKEY *pkey;
};

/* The refcount lives ahead of the public struct, as dns answers do. */
struct dkim_pubkey_box {
	atomic_uint refs;
	struct dkim_pubkey pub;
};

#define PUBKEY_BOX(k)                                                     \
	((struct dkim_pubkey_box *)((char *)(k) -                          \
	    offsetof(struct dkim_pubkey_box, pub)))

static void
why_add(struct buf *why, const char *s)
{
	if (why != NULL)
		buf_adds(why, s);
}

/* ---- algorithms ---- */

const char *
dkim_alg_name(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" :
						"rsa-sha256";
}

int
dkim_alg_parse(const char *s, size_t n, enum dkim_alg *ret_alg)
{
	/* RFC 6376 section 3.5 a=; RFC 8463 section 3 adds ed25519-sha256;
	 * RFC 8301 section 3.1: rsa-sha1 MUST NOT be used */
	if (span_eq(s, n, "rsa-sha256")) {
		*ret_alg = DKIM_ALG_RSA_SHA256;
		return 0;
	}
	if (span_eq(s, n, "ed25519-sha256")) {
		*ret_alg = DKIM_ALG_ED25519_SHA256;
		return 0;
	}
	return -EINVAL;
}

enum dkim_key_type
dkim_alg_key_type(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519 :
						DKIM_KEY_RSA;
}

const char *
dkim_key_type_name(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

/* ---- public keys ---- */

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

	if (b64_decode(p->value, p->value_len, B64_FWS, der, sizeof(der),
		&len) != 0) {
		why_add(why, "bad base64 in p=");
		return -EINVAL;
	}
	if (k->type == DKIM_KEY_ED25519) {
		/* RFC 8463 section 4.2: p= is the raw 32-byte public key */
		if (len != DKIM_ED25519_LEN) {
			if (why != NULL)
				buf_addf(why, "bad Ed25519 key (length %zu)",
				    len);
			return -EINVAL;
		}
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    der, len);
		ERR_clear_error();
	} else
		k->pkey = load_rsa_public(der, len);
	if (k->pkey == NULL) {
		why_add(why, k->type == DKIM_KEY_ED25519 ? "bad Ed25519 key" :
							  "bad RSA key");
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
	if (t != NULL && (t->value_len != 5 ||
			     memcmp(t->value, "DKIM1", 5) != 0)) {
		why_add(why, "v= not DKIM1");
		return -EINVAL;
	}
	t = tags_find(l, "k");
	if (t != NULL && tags_value_is(t, "ed25519"))
		k->type = DKIM_KEY_ED25519;
	else if (t != NULL && !tags_value_is(t, "rsa")) {
		if (why != NULL) {
			buf_adds(why, "unknown key type (k=");
			buf_add(why, t->value, t->value_len > 32 ? 32 :
								   t->value_len);
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
	*ret = &box->pub;
	return 0;
}

int
dkim_pubkey_verify(const struct dkim_pubkey *k, enum dkim_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX *pctx = NULL;
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
			ok = EVP_DigestVerify(mctx, sig, siglen, digest,
			    DKIM_DIGEST_LEN);
		EVP_MD_CTX_free(mctx);
	} else {
		/* RFC 6376 section 3.3.1: RSASSA-PKCS1-v1_5 with SHA-256 */
		pctx = EVP_PKEY_CTX_new(k->pkey, NULL);
		if (pctx == NULL)
			return -ENOMEM;
		if (EVP_PKEY_verify_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) ==
			1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1)
			ok = EVP_PKEY_verify(pctx, sig, siglen, digest,
			    DKIM_DIGEST_LEN);
		EVP_PKEY_CTX_free(pctx);
	}
	ERR_clear_error();
	return ok == 1 ? 0 : -EBADMSG;
}

/* ---- private keys ---- */

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
	return k->type == DKIM_KEY_ED25519 ? DKIM_ALG_ED25519_SHA256 :
					     DKIM_ALG_RSA_SHA256;
}

unsigned
dkim_privkey_bits(const struct dkim_privkey *k)
{
	return k->bits;
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
		why_add(why, "unsupported key type (not RSA or Ed25519)");
		return -EINVAL;
	}
	k->bits = (unsigned)EVP_PKEY_get_bits(pk);
	if (k->type == DKIM_KEY_RSA && (k->bits < BOUND_RSA_MIN_BITS ||
					   k->bits > BOUND_RSA_MAX_BITS)) {
		/* RFC 8301 section 3.2: signers MUST use at least 1024 */
		if (why != NULL)
			buf_addf(why, "RSA key of %u bits (allowed: %u to %u)",
			    k->bits, BOUND_RSA_MIN_BITS, BOUND_RSA_MAX_BITS);
		return -EINVAL;
	}
	return 0;
}

int
dkim_privkey_parse(const char *data, size_t len, struct dkim_privkey **ret,
    struct buf *why)
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
		why_add(why, "not a PEM private key or Ed25519 seed "
			     "(or encrypted)");
		return -EINVAL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		EVP_PKEY_free(pk);
		return -ENOMEM;
	}
	atomic_init(&k->refs, 1);
	k->pkey = pk;
	r = privkey_check(pk, k, why);
	if (r != 0) {
		dkim_privkey_unref(k);
		return r;
	}
	*ret = k;
	return 0;
}

/* Read the whole file into a heap buffer; reasons name the file. */
static int
read_key_file(const char *path, bool allow_unsafe, char **ret_data,
    size_t *ret_len, struct buf *why)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *data = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		r = -errno;
		if (why != NULL)
			buf_addf(why, "%s: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DKIM_KEY_FILE_MAX) {
		if (why != NULL)
			buf_addf(why, "%s: %s", path,
			    S_ISREG(st.st_mode) ? "larger than 64 KB, not a "
						  "key" : "not a regular file");
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	if (!allow_unsafe && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		if (why != NULL)
			buf_addf(why, "%s: key file is accessible by group or "
			    "others (mode %04o); chmod 600 it",
			    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	    (n = read(fd, data + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*ret_data = data;
	*ret_len = got;
	return 0;
}

int
dkim_key_load_private(const char *path, bool allow_unsafe,
    struct dkim_privkey **ret, struct buf *why)
{
	struct buf inner;
	char *data = NULL;
	size_t len = 0;
	int r;

	r = read_key_file(path, allow_unsafe, &data, &len, why);
	if (r != 0)
		return r;
	buf_init(&inner, 512);
	r = dkim_privkey_parse(data, len, ret, &inner);
	OPENSSL_cleanse(data, len);
	free(data);
	if (r != 0 && why != NULL)
		buf_addf(why, "%s: %s", path, buf_cstr(&inner));
	buf_free(&inner);
	return r;
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
		    EVP_DigestSign(mctx, sig, &len, digest,
			DKIM_DIGEST_LEN) == 1;
		EVP_MD_CTX_free(mctx);
	} else {
		/* RFC 6376 section 3.3.1: RSASSA-PKCS1-v1_5 over SHA-256 */
		pctx = EVP_PKEY_CTX_new(k->pkey, NULL);
		if (pctx == NULL)
			return -ENOMEM;
		ok = EVP_PKEY_sign_init(pctx) == 1 &&
		    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) ==
			1 &&
		    EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
		    EVP_PKEY_sign(pctx, sig, &len, digest,
			DKIM_DIGEST_LEN) == 1;
		EVP_PKEY_CTX_free(pctx);
	}
	ERR_clear_error();
	if (!ok)
		return -EIO;
	*ret_len = len;
	return 0;
}
