/*
 * dkim_alg.c -- the DKIM algorithm table (see dkim_alg.h).
 */
#include <errno.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "authmilter/canon.h"
#include "authmilter/dkim_alg.h"
#include "authmilter/span.h"

const char *
dkim_alg_name(enum dkim_alg alg)
{
	return alg == DKIM_ALG_ED25519_SHA256 ? "ed25519-sha256" : "rsa-sha256";
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
	return alg == DKIM_ALG_ED25519_SHA256 ? DKIM_KEY_ED25519 : DKIM_KEY_RSA;
}

const char *
dkim_key_type_name(enum dkim_key_type t)
{
	return t == DKIM_KEY_ED25519 ? "ed25519" : "rsa";
}

EVP_PKEY_CTX *
dkim_alg_rsa_ctx(EVP_PKEY *pkey, bool sign)
{
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(pkey, NULL);

	/* RFC 6376 section 3.3.1: RSASSA-PKCS1-v1_5 with SHA-256 */
	if (pctx != NULL &&
	    ((sign ? EVP_PKEY_sign_init(pctx) : EVP_PKEY_verify_init(pctx)) !=
	            1 ||
	        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
	        EVP_PKEY_CTX_set_signature_md(pctx, canon_sha256()) != 1)) {
		EVP_PKEY_CTX_free(pctx);
		pctx = NULL;
	}
	ERR_clear_error();
	return pctx;
}
