/*
 * b64.c -- base64 over OpenSSL's block coder, with the grammar checked
 * here (see b64.h).
 */
#include <errno.h>
#include <string.h>

#include <openssl/evp.h>

#include "authmilter/b64.h"

/* Characters decoded per EVP_DecodeBlock() call (whole groups), and
 * characters encoded per EVP_EncodeBlock() call: small enough for the
 * stack. */
#define B64_CHUNK 256
/* RFC 2045 section 6.8 allows 76; OpenSSL's line coder writes 64. */
#define B64_LINE_BYTES 48

/* What each byte is to the decoder: one table load per character. */
enum { B64_BAD = 0, B64_ALPHA, B64_BLANK, B64_PAD };

static const unsigned char b64_class[256] = {
    ['A' ... 'Z'] = B64_ALPHA,
    ['a' ... 'z'] = B64_ALPHA,
    ['0' ... '9'] = B64_ALPHA,
    ['+'] = B64_ALPHA,
    ['/'] = B64_ALPHA,
    [' '] = B64_BLANK,
    ['\t'] = B64_BLANK,
    ['\r'] = B64_BLANK,
    ['\n'] = B64_BLANK,
    ['='] = B64_PAD,
};

bool
b64_char(unsigned char c)
{
	return b64_class[c] == B64_ALPHA;
}

/* Decode the m characters of grp (whole groups, checked; the last pad of
 * them '='), appending to out at *len. -ERANGE past outmax (nothing
 * written). */
static int
b64_flush(const unsigned char *grp, size_t m, size_t pad, uint8_t *out,
    size_t outmax, size_t *len)
{
	unsigned char dec[B64_CHUNK / 4 * 3];
	int d;

	if (m == 0)
		return 0;
	/* OpenSSL decodes each pad character as a zero byte: drop them */
	d = EVP_DecodeBlock(dec, grp, (int)m);
	if (d < 0 || (size_t)d < pad)
		return -EINVAL;
	if ((size_t)d - pad > outmax - *len)
		return -ERANGE;
	memcpy(out + *len, dec, (size_t)d - pad);
	*len += (size_t)d - pad;
	return 0;
}

int
b64_decode(const char *s, size_t n, unsigned flags, uint8_t *out, size_t outmax,
    size_t *ret_len)
{
	unsigned char grp[B64_CHUNK];
	size_t i, m = 0, pad = 0, len = 0, total = 0;
	int r = 0, fr;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		unsigned cls = b64_class[c];

		if (cls == B64_BLANK && (flags & B64_FWS) != 0)
			continue;
		/* '=' only as the final padding, at most two of it */
		if (cls == B64_PAD ? ++pad > 2 : pad > 0 || cls != B64_ALPHA)
			return -EINVAL;
		grp[m++] = c;
		total++;
		if (m == sizeof(grp)) {
			/* a full chunk: any pad in it ends the data, so a
			 * later character fails the check above */
			fr = b64_flush(grp, m, pad, out, outmax, &len);
			if (fr == -EINVAL)
				return fr;
			if (r == 0)
				r = fr;
			m = 0;
		}
	}
	/* m is total % B64_CHUNK here, so the pad characters fit */
	while ((flags & B64_PAD_OPTIONAL) != 0 && total % 4 >= 2) {
		if (++pad > 2)
			return -EINVAL;
		grp[m++] = '=';
		total++;
	}
	/* RFC 4648 section 4: whole 4-character groups */
	if (total % 4 != 0)
		return -EINVAL;
	fr = b64_flush(grp, m, m > 0 ? pad : 0, out, outmax, &len);
	if (fr == -EINVAL || r == 0)
		r = fr;
	if (r == 0)
		*ret_len = len;
	return r;
}

void
b64_encode(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	unsigned char enc[B64_CHUNK + 1];
	size_t k;

	/* B64_CHUNK / 4 * 3 input bytes make B64_CHUNK characters */
	while (n > 0) {
		k = n > B64_CHUNK / 4 * 3 ? B64_CHUNK / 4 * 3 : n;
		EVP_EncodeBlock(enc, s, (int)k);
		buf_add(out, enc, (k + 2) / 3 * 4);
		s += k;
		n -= k;
	}
}

void
b64_encode_lines(struct buf *out, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t k;

	while (n > 0) {
		k = n > B64_LINE_BYTES ? B64_LINE_BYTES : n;
		b64_encode(out, s, k);
		buf_addc(out, '\n');
		s += k;
		n -= k;
	}
}
