/*
 * test_b64.c -- base64: the DKIM base64string form (FWS, padding
 * required), the RFC 2047 form (padding optional, no blanks), output that
 * does not fit, and both encoders against OpenSSL's own line coder.
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "authmilter/b64.h"
#include "check.h"

struct b64_case {
	const char *in;
	unsigned flags;
	int want;
	const char *out;
};

static const struct b64_case b64_cases[] = {
    /* RFC 6376 section 2.6 base64string */
    {"", B64_FWS, 0, ""},
    {"QUJD", B64_FWS, 0, "ABC"},
    {"QUI=", B64_FWS, 0, "AB"},
    {"QQ==", B64_FWS, 0, "A"},
    {" Q Q\r\n\t= = ", B64_FWS, 0, "A"},
    {"QQ", B64_FWS, -EINVAL, NULL},
    {"QQ=A", B64_FWS, -EINVAL, NULL},
    {"Q===", B64_FWS, -EINVAL, NULL},
    {"QUJD-UJD", B64_FWS, -EINVAL, NULL},
    {"QUJD;", B64_FWS, -EINVAL, NULL},
    {"QUJDRA==QUJD", B64_FWS, -EINVAL, NULL},
    {"QUJDREVGR0g=", B64_FWS, -ERANGE, NULL}, /* 8 bytes into 4 */
    /* bad text is -EINVAL even when it would not fit either */
    {"QUJDREVGR0g=!", B64_FWS, -EINVAL, NULL},
    /* no flags: blanks are not base64 */
    {"QUJD", 0, 0, "ABC"},
    {"QU JD", 0, -EINVAL, NULL},
    {"QUJD\r\n", 0, -EINVAL, NULL},
    /* RFC 2047 section 4.1 as readers take it: padding supplied */
    {"QQ", B64_PAD_OPTIONAL, 0, "A"},
    {"QUI", B64_PAD_OPTIONAL, 0, "AB"},
    {"QQ=", B64_PAD_OPTIONAL, 0, "A"},
    {"QUI=", B64_PAD_OPTIONAL, 0, "AB"},
    {"Q", B64_PAD_OPTIONAL, -EINVAL, NULL},
    {"Q==", B64_PAD_OPTIONAL, -EINVAL, NULL},
    {"QUJDR", B64_PAD_OPTIONAL, -EINVAL, NULL},
    {"QQ QQ", B64_PAD_OPTIONAL, -EINVAL, NULL},
    {"QUJD-UJD", B64_PAD_OPTIONAL, -EINVAL, NULL},
    {"QUJDREVGR0", B64_PAD_OPTIONAL, -ERANGE, NULL},
};

static void
test_decode(void)
{
	uint8_t out[4];
	size_t i, n;
	int r;

	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		const struct b64_case *c = &b64_cases[i];

		n = 99;
		r = b64_decode(
		    c->in, strlen(c->in), c->flags, out, sizeof(out), &n);
		CHECK_INT_EQ(r, c->want);
		if (r != c->want)
			fprintf(stderr, "  case \"%s\"\n", c->in);
		if (r == 0 && c->out != NULL)
			CHECK_MEM_EQ(out, n, c->out, strlen(c->out));
		if (r != 0)
			CHECK_INT_EQ(n, 99); /* set only on success */
	}
	CHECK(b64_char('A') && b64_char('z') && b64_char('0') &&
	      b64_char('+') && b64_char('/'));
	CHECK(!b64_char('=') && !b64_char('-') && !b64_char(' ') &&
	      !b64_char(0x80));
}

/* Texts longer than one internal chunk (256 characters), with blanks
 * and a pad at the very end, decode whole and round-trip. */
static void
test_long(void)
{
	uint8_t data[1000], out[1000];
	struct buf e, spaced;
	size_t i, n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	buf_init(&e, 4096);
	b64_encode(&e, data, sizeof(data));
	CHECK_INT_EQ(e.len, (sizeof(data) + 2) / 3 * 4);
	CHECK_INT_EQ(b64_decode(e.data, e.len, 0, out, sizeof(out), &n), 0);
	CHECK_MEM_EQ(out, n, data, sizeof(data));
	/* one byte short of room */
	CHECK_INT_EQ(
	    b64_decode(e.data, e.len, 0, out, sizeof(out) - 1, &n), -ERANGE);
	/* folded every 70 characters, as a signature header carries it */
	buf_init(&spaced, 8192);
	for (i = 0; i < e.len; i++) {
		if (i > 0 && i % 70 == 0)
			buf_adds(&spaced, "\r\n\t");
		buf_addc(&spaced, e.data[i]);
	}
	CHECK_INT_EQ(
	    b64_decode(spaced.data, spaced.len, B64_FWS, out, sizeof(out), &n),
	    0);
	CHECK_MEM_EQ(out, n, data, sizeof(data));
	CHECK_INT_EQ(
	    b64_decode(spaced.data, spaced.len, 0, out, sizeof(out), &n),
	    -EINVAL);
	buf_free(&spaced);
	buf_free(&e);
}

/* b64_encode_lines writes what OpenSSL's EVP line coder writes. */
static void
test_lines(void)
{
	static const size_t sizes[] = {0, 1, 47, 48, 49, 96, 1000, 12345};
	static uint8_t data[12345];
	unsigned char ref[20000];
	EVP_ENCODE_CTX *ctx;
	struct buf b;
	size_t i;
	int outl, total;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 256);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ctx = EVP_ENCODE_CTX_new();
		CHECK(ctx != NULL);
		if (ctx == NULL)
			return;
		EVP_EncodeInit(ctx);
		/* OpenSSL says 0 (nothing done) for no input */
		CHECK_INT_EQ(
		    EVP_EncodeUpdate(ctx, ref, &outl, data, (int)sizes[i]),
		    sizes[i] > 0 ? 1 : 0);
		total = outl;
		EVP_EncodeFinal(ctx, ref + total, &outl);
		total += outl;
		EVP_ENCODE_CTX_free(ctx);
		buf_init(&b, sizeof(ref));
		b64_encode_lines(&b, data, sizes[i]);
		CHECK_INT_EQ(buf_error(&b), 0);
		CHECK_MEM_EQ(
		    b.data != NULL ? b.data : "", b.len, ref, (size_t)total);
		buf_free(&b);
	}
	buf_init(&b, 100);
	b64_encode(&b, "ABCD", 4);
	CHECK_STR_EQ(buf_cstr(&b), "QUJDRA==");
	buf_free(&b);
	/* the buf's cap is the encoder's limit */
	buf_init(&b, 7);
	b64_encode(&b, "ABCD", 4);
	CHECK_INT_EQ(buf_error(&b), -ERANGE);
	buf_free(&b);
}

int
main(void)
{
	test_decode();
	test_long();
	test_lines();
	return check_summary("b64");
}
