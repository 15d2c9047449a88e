/*
 * test_dns_tsig.c -- TSIG key files: both forms read, every error named
 * with its line.
 */
#include <string.h>

#include "authmilter/dns_tsig.h"
#include "check.h"

#define SECRET "QmFzZTY0IG9mIGEgdGhpcnR5LXR3byBieXRlIGtleSEh"

static void
test_good(void)
{
	static const struct {
		const char *text;
		const char *name, *alg;
	} cases[] = {
	    /* what tsig-keygen prints */
	    {"key \"update-key\" {\n\talgorithm hmac-sha256;\n\tsecret "
	     "\"" SECRET "\";\n};\n",
	        "update-key", "hmac-sha256."},
	    /* comments of three kinds, a bare name, final dots, case */
	    {"# made by hand\n// for the zone\n/* two\nlines */ KEY "
	     "rot.example. { Algorithm HMAC-SHA512.; secret " SECRET "; } ;",
	        "rot.example", "hmac-sha512."},
	    {"key k { secret \"" SECRET "\"; algorithm hmac-sha1; };", "k",
	        "hmac-sha1."},
	    /* knsupdate -y, keymgr's first line */
	    {"hmac-sha256:update-key:" SECRET "\n", "update-key",
	        "hmac-sha256."},
	    {"\n# from keymgr\n  hmac-sha512:k.example:" SECRET "  \n\n",
	        "k.example", "hmac-sha512."},
	};
	struct dns_tsig k;
	struct buf why;
	size_t i;

	buf_init(&why, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		buf_reset(&why);
		memset(&k, 0x55, sizeof(k));
		CHECK_INT_EQ(dns_tsig_parse(cases[i].text,
		                 strlen(cases[i].text), "k", &k, &why),
		    0);
		CHECK_STR_EQ(buf_cstr(&why), "");
		CHECK_STR_EQ(k.name, cases[i].name);
		CHECK_STR_EQ(k.algorithm, cases[i].alg);
		CHECK_STR_EQ(k.secret, SECRET);
	}
	dns_tsig_clear(&k);
	CHECK_INT_EQ(k.secret[0], 0);
	buf_free(&why);
}

static void
test_bad(void)
{
	static const struct {
		const char *text;
		const char *why;
	} cases[] = {
	    {"", "f:1: no key in the file"},
	    {"# nothing\n\n", "f:3: no key in the file"},
	    {"key \"k\" { algorithm hmac-md5; secret \"" SECRET "\"; };",
	        "f:1: hmac-md5 is deprecated (RFC 8945 section 6): make an "
	        "hmac-sha256 key"},
	    {"key k {\nalgorithm hmac-sha384;\nsecret \"" SECRET "\";\n};",
	        "f:2: algorithm \"hmac-sha384\": want hmac-sha256, "
	        "hmac-sha512 or hmac-sha1 (what ldns signs with)"},
	    {"key k { algorithm hmac-sha256; };",
	        "f:1: key \"k\" has no secret"},
	    {"key k { secret \"" SECRET "\"; };",
	        "f:1: key \"k\" has no algorithm"},
	    {"key k { algorithm hmac-sha256; algorithm hmac-sha1; };",
	        "f:1: algorithm given twice"},
	    {"key k { algorithm hmac-sha256; secret \"not base64!\"; };",
	        "f:1: secret is not base64"},
	    {"key k { algorithm hmac-sha256; secret \"\"; };",
	        "f:1: secret of 0 bytes (want 1 to 128 bytes)"},
	    {"key k { algorithm hmac-sha256; secret \"" SECRET SECRET SECRET
	            SECRET "\"; };",
	        "f:1: secret of too many bytes (want 1 to 128 bytes)"},
	    {"key k { algorithm hmac-sha256; secret \"" SECRET "\" };",
	        "f:1: want ';' after the secret, not \"}\""},
	    {"key k { algorithm hmac-sha256; secret \"" SECRET "\"; }",
	        "f:1: want ';' after '}', not \"\""},
	    {"key k\n{ algorithm hmac-sha256;\n",
	        "f:1: key statement not closed"},
	    {"key { algorithm hmac-sha256; };",
	        "f:1: want the key name after \"key\""},
	    {"key \"bad name!\" { };",
	        "f:1: key name \"bad name!\" is not a domain name"},
	    {"key k { owner me; };",
	        "f:1: \"owner\": want algorithm or secret"},
	    {"key k { algorithm \"hmac\\-sha256\"; };",
	        "f:1: backslash in a quoted string"},
	    {"key \"k\n\" { };", "f:1: line break in a quoted string"},
	    {"key \"k { };", "f:1: quoted string not closed"},
	    {"key \"k", "f:1: quoted string not closed"},
	    {"/* never closed\nkey k {};", "f:1: comment not closed"},
	    {"key k { algorithm hmac-sha256; secret \"" SECRET "\"; };\n"
	     "key j { algorithm hmac-sha256; secret \"" SECRET "\"; };\n",
	        "f:2: more after the key: one key per file"},
	    {"hmac-sha256:k\n", "f:1: want a key statement (key \"NAME\" { "
	                        "algorithm ...; secret \"...\"; };) or "
	                        "ALGORITHM:NAME:SECRET"},
	    {"hmac-sha256:k:" SECRET ":x", "f:1: want a key statement (key "
	                                   "\"NAME\" { algorithm ...; secret "
	                                   "\"...\"; };) or ALGORITHM:NAME:"
	                                   "SECRET"},
	    {"hmac-md5:k:" SECRET, "f:1: hmac-md5 is deprecated (RFC 8945 "
	                           "section 6): make an hmac-sha256 key"},
	    {"hmac-sha256::" SECRET, "f:1: key name empty or too long"},
	    {"hmac-sha256:k:" SECRET " trailing",
	        "f:1: more after the key: one key per file"},
	    {";", "f:1: want a key statement or ALGORITHM:NAME:SECRET"},
	    {"key k { algorithm hmac-sha256; secret \"\x80\"; };",
	        "f:1: control or 8-bit byte in a quoted string"},
	    {"\x01", "f:1: unexpected byte 0x01"},
	};
	struct dns_tsig k;
	struct buf why;
	size_t i;

	buf_init(&why, 1024);
	for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		buf_reset(&why);
		CHECK_INT_EQ(dns_tsig_parse(cases[i].text,
		                 strlen(cases[i].text), "f", &k, &why),
		    -EINVAL);
		CHECK_STR_EQ(buf_cstr(&why), cases[i].why);
	}
	/* a NUL byte anywhere */
	buf_reset(&why);
	CHECK_INT_EQ(dns_tsig_parse("key k\0 {", 9, "f", &k, &why), -EINVAL);
	CHECK_STR_EQ(buf_cstr(&why), "f:1: NUL byte: not a key file");
	buf_free(&why);
}

int
main(void)
{
	test_good();
	test_bad();
	return check_summary("dns_tsig");
}
