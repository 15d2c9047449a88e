/*
 * test_dkim_keygen.c -- new key pairs and their records (dkim_keygen) and
 * a record against a private key (dkim_keymatch): flags, the revoked
 * form, zone-file strings of at most 255 bytes, and every verdict of the
 * comparison.
 */
#include <string.h>

#include "authmilter/dkim_keygen.h"
#include "authmilter/dkim_keymatch.h"
#include "check.h"

static struct dkim_privkey *
new_key(enum dkim_key_type type)
{
	struct dkim_privkey *k = NULL;
	struct buf pem;

	buf_init(&pem, 65536);
	CHECK_INT_EQ(dkim_keygen_pem(type, 2048, &pem), 0);
	CHECK(strncmp(buf_cstr(&pem), "-----BEGIN PRIVATE KEY-----", 27) == 0);
	CHECK_INT_EQ(dkim_privkey_parse(pem.data, pem.len, &k, NULL), 0);
	buf_free(&pem);
	return k;
}

static void
test_record(struct dkim_privkey *rsa, struct dkim_privkey *ed)
{
	struct buf rec;

	buf_init(&rec, 8192);
	CHECK_INT_EQ(dkim_keygen_record(rsa, 0, &rec), 0);
	CHECK(strncmp(buf_cstr(&rec), "v=DKIM1; k=rsa; p=MII", 21) == 0);
	CHECK_INT_EQ(dkim_privkey_bits(rsa), 2048);
	buf_reset(&rec);
	CHECK_INT_EQ(
	    dkim_keygen_record(ed,
	        DKIM_KEYGEN_H_SHA256 | DKIM_KEYGEN_TESTING | DKIM_KEYGEN_STRICT,
	        &rec),
	    0);
	CHECK(strncmp(buf_cstr(&rec),
	          "v=DKIM1; h=sha256; k=ed25519; t=y:s; p=", 39) == 0);
	/* 32 bytes of key: 44 base64 characters */
	CHECK_INT_EQ(rec.len, 39 + 44);
	buf_reset(&rec);
	CHECK_INT_EQ(dkim_keygen_record(ed, DKIM_KEYGEN_STRICT, &rec), 0);
	CHECK(strstr(buf_cstr(&rec), "; t=s; p=") != NULL);
	buf_reset(&rec);
	dkim_keygen_revoked(DKIM_KEY_ED25519, &rec);
	CHECK_STR_EQ(buf_cstr(&rec), "v=DKIM1; k=ed25519; p=");
	buf_free(&rec);
}

/* RFC 1035 section 3.3.14: no string over 255 bytes; joined, the strings
 * are the record again. */
static void
test_zone_text(struct dkim_privkey *rsa)
{
	struct buf rec, zone, joined;
	const char *p, *q;
	size_t longest = 0;

	buf_init(&rec, 8192);
	buf_init(&zone, 16384);
	buf_init(&joined, 8192);
	CHECK_INT_EQ(dkim_keygen_record(rsa, 0, &rec), 0);
	dkim_keygen_zone_text(
	    "sel", "example.com", 3600, rec.data, rec.len, "a comment", &zone);
	CHECK(strncmp(buf_cstr(&zone),
	          "sel._domainkey.example.com. 3600 IN TXT ( \"v=DKIM1; k=rsa; "
	          "\"\n\t\"p=",
	          64) == 0);
	CHECK(strstr(buf_cstr(&zone), " ) ; a comment\n") != NULL);
	for (p = buf_cstr(&zone); (p = strchr(p, '"')) != NULL; p = q + 1) {
		q = strchr(p + 1, '"');
		if (q == NULL)
			break;
		if ((size_t)(q - p - 1) > longest)
			longest = (size_t)(q - p - 1);
		buf_add(&joined, p + 1, (size_t)(q - p - 1));
	}
	CHECK(longest == 255);
	CHECK_MEM_EQ(joined.data, joined.len, rec.data, rec.len);
	buf_reset(&zone);
	dkim_keygen_zone_text(
	    "s", "example.org", 0, "v=DKIM1; p=", 11, NULL, &zone);
	CHECK_STR_EQ(buf_cstr(&zone), "s._domainkey.example.org. IN TXT ( "
	                              "\"v=DKIM1; \"\n\t\"p=\" )\n");
	buf_free(&rec);
	buf_free(&zone);
	buf_free(&joined);
}

static void
test_match(struct dkim_privkey *rsa, struct dkim_privkey *ed)
{
	struct dkim_privkey *rsa2 = new_key(DKIM_KEY_RSA);
	struct buf rec, other, why;
	enum dkim_keymatch m;
	const char *p;
	char text[8192];

	buf_init(&rec, 8192);
	buf_init(&other, 8192);
	buf_init(&why, 1024);
	CHECK_INT_EQ(dkim_keygen_record(rsa, 0, &rec), 0);
	CHECK_INT_EQ(dkim_keymatch_record(rec.data, rec.len, rsa, &m, &why), 0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_OK);
	CHECK_STR_EQ(buf_cstr(&why), "");
	/* another spelling of the same key matches */
	p = strstr(buf_cstr(&rec), "p=");
	snprintf(text, sizeof(text), "k=rsa;%s ; n=note", p);
	CHECK_INT_EQ(
	    dkim_keymatch_record(text, strlen(text), rsa, &m, &why), 0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_OK);
	/* another RSA key does not */
	CHECK_INT_EQ(
	    dkim_keymatch_record(rec.data, rec.len, rsa2, &m, &why), 0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_MISMATCH);
	CHECK_STR_EQ(
	    buf_cstr(&why), "the published key does not match the private key");
	/* nor a key of the other type */
	buf_reset(&why);
	CHECK_INT_EQ(dkim_keymatch_record(rec.data, rec.len, ed, &m, &why), 0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_MISMATCH);
	CHECK_STR_EQ(buf_cstr(&why), "the record is k=rsa but the private key "
	                             "is an ed25519 key");
	/* revoked */
	buf_reset(&why);
	dkim_keygen_revoked(DKIM_KEY_RSA, &other);
	CHECK_INT_EQ(
	    dkim_keymatch_record(other.data, other.len, rsa, &m, &why), 0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_REVOKED);
	CHECK_STR_EQ(buf_cstr(&why), "the key is revoked (empty p=)");
	CHECK_STR_EQ(dkim_keymatch_name(m), "revoked");
	/* not a key record */
	buf_reset(&why);
	CHECK_INT_EQ(dkim_keymatch_record("v=spf1 -all", 11, rsa, &m, &why), 0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_UNUSABLE);
	CHECK(why.len > 0);
	buf_reset(&why);
	CHECK_INT_EQ(
	    dkim_keymatch_record("v=DKIM1; k=rsa; p=!!!", 21, rsa, &m, &why),
	    0);
	CHECK_INT_EQ(m, DKIM_KEYMATCH_UNUSABLE);
	CHECK_STR_EQ(dkim_keymatch_name(m), "unusable");
	dkim_privkey_unref(rsa2);
	buf_free(&rec);
	buf_free(&other);
	buf_free(&why);
}

int
main(void)
{
	struct dkim_privkey *rsa = new_key(DKIM_KEY_RSA);
	struct dkim_privkey *ed = new_key(DKIM_KEY_ED25519);

	test_record(rsa, ed);
	test_zone_text(rsa);
	test_match(rsa, ed);
	dkim_privkey_unref(rsa);
	dkim_privkey_unref(ed);
	return check_summary("dkim_keygen");
}
