/*
 * dkim_keygen.c -- new DKIM key pairs and their records (see
 * dkim_keygen.h).
 */
#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "authmilter/dkim_keygen.h"

/* RFC 1035 section 3.3.14: a character-string holds at most 255 bytes. */
#define DKIM_KEYGEN_STRING_MAX 255

int
dkim_keygen_pem(enum dkim_key_type type, unsigned bits, struct buf *pem)
{
	EVP_PKEY *pkey;
	BIO *bio;
	char *p;
	long n;
	int r = -EIO;

	if (type == DKIM_KEY_ED25519)
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (pkey == NULL) {
		ERR_clear_error();
		return -EIO;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio != NULL && PEM_write_bio_PrivateKey(
	                       bio, pkey, NULL, NULL, 0, NULL, NULL) == 1) {
		n = BIO_get_mem_data(bio, &p);
		buf_add(pem, p, (size_t)n);
		r = buf_error(pem);
		/* the BIO's copy of the secret goes before it is freed */
		OPENSSL_cleanse(p, (size_t)n);
	}
	ERR_clear_error();
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return r;
}

int
dkim_keygen_record(
    const struct dkim_privkey *k, unsigned flags, struct buf *rec)
{
	enum dkim_key_type type = dkim_privkey_type(k);
	const char *p;
	struct buf full;
	int r;

	buf_init(&full, rec->max);
	r = dkim_privkey_record(k, &full);
	p = r == 0 ? strstr(buf_cstr(&full), "p=") : NULL;
	if (p == NULL) {
		buf_free(&full);
		return r != 0 ? r : -EIO;
	}
	/* RFC 6376 section 3.6.1: v= first; h= and t= are optional */
	buf_adds(rec, "v=DKIM1; ");
	if (flags & DKIM_KEYGEN_H_SHA256)
		buf_adds(rec, "h=sha256; ");
	buf_addf(rec, "k=%s; ", dkim_key_type_name(type));
	if (flags & (DKIM_KEYGEN_TESTING | DKIM_KEYGEN_STRICT))
		buf_addf(rec, "t=%s%s%s; ",
		    (flags & DKIM_KEYGEN_TESTING) ? "y" : "",
		    (flags & DKIM_KEYGEN_TESTING) &&
		            (flags & DKIM_KEYGEN_STRICT)
		        ? ":"
		        : "",
		    (flags & DKIM_KEYGEN_STRICT) ? "s" : "");
	buf_adds(rec, p);
	buf_free(&full);
	return buf_error(rec);
}

void
dkim_keygen_revoked(enum dkim_key_type type, struct buf *rec)
{
	buf_addf(rec, "v=DKIM1; k=%s; p=", dkim_key_type_name(type));
}

void
dkim_keygen_zone_text(const char *selector, const char *domain, uint32_t ttl,
    const char *rec, size_t len, const char *comment, struct buf *out)
{
	const char *p = memmem(rec, len, "p=", 2);
	size_t head = p != NULL ? (size_t)(p - rec) : len, left, n;

	buf_addf(out, "%s._domainkey.%s.", selector, domain);
	if (ttl > 0)
		buf_addf(out, " %u", (unsigned)ttl);
	buf_addf(out, " IN TXT ( \"%.*s\"", (int)head, rec);
	for (left = len - head; left > 0; left -= n, p += n) {
		n = left < DKIM_KEYGEN_STRING_MAX ? left
		                                  : DKIM_KEYGEN_STRING_MAX;
		buf_addf(out, "\n\t\"%.*s\"", (int)n, p);
	}
	buf_adds(out, " )");
	if (comment != NULL)
		buf_addf(out, " ; %s", comment);
	buf_addc(out, '\n');
}
