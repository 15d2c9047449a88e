/*
 * b64.h -- base64 (RFC 4648 section 4; the alphabet of RFC 2045 section
 * 6.8), and the one place that calls OpenSSL's coder for it: whole
 * 4-character groups through EVP_DecodeBlock() and EVP_EncodeBlock(), a
 * few hundred bytes at a time on the stack. OpenSSL's block decoder
 * checks little (it takes any length and skips blanks), so the grammar is
 * checked here: the alphabet, '=' only as the final padding (at most
 * two), whole groups.
 *
 * Users and their rules:
 *   DKIM b=, bh= and key p= (RFC 6376 section 2.6 base64string: FWS
 *     anywhere, padding required): B64_FWS;
 *   RFC 2047 section 4.1 "B" encoded words (no blanks; a missing final
 *     padding is supplied, as mail readers do): B64_PAD_OPTIONAL;
 *   values we write into signatures: b64_encode(), one unbroken line;
 *   MIME bodies (RFC 2045 section 6.8): b64_encode_lines().
 *
 * Memory: no allocation; decoding writes into the caller's array,
 * encoding appends to a struct buf (its sticky error reports overflow).
 * Thread-safe.
 */
#ifndef AUTHMILTER_B64_H
#define AUTHMILTER_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"

/* b64_decode flags */
#define B64_FWS 0x1 /* skip SP, HTAB, CR and LF anywhere */
#define B64_PAD_OPTIONAL                                                       \
	0x2 /* a last group of 2 or 3 characters may                           \
	     * lack its '=' padding */

/* b64_char -- whether c is one of the 64 characters (not the '=' pad). */
bool b64_char(unsigned char c);

/* b64_decode -- decode s (n bytes, any bytes) into out (outmax bytes).
 * Without B64_FWS any blank is an error; without B64_PAD_OPTIONAL the
 * length (blanks aside) must be a multiple of 4.
 * @return 0 and *ret_len; -EINVAL when s is not base64 (checked over all
 * of s first); -ERANGE when it is but the bytes do not fit in outmax
 * (out then holds an unspecified prefix). */
int b64_decode(const char *s, size_t n, unsigned flags, uint8_t *out,
    size_t outmax, size_t *ret_len);

/* b64_encode -- append the base64 of p (n bytes) to out: padded, one
 * line, no line break. Errors are out's sticky error. */
void b64_encode(struct buf *out, const void *p, size_t n);

/* b64_encode_lines -- append the base64 of p (n bytes) to out in lines of
 * 64 characters, each (the last, shorter one too) ending with LF; nothing
 * for n == 0. The bytes OpenSSL's EVP_EncodeUpdate()/EVP_EncodeFinal()
 * write. Errors are out's sticky error. */
void b64_encode_lines(struct buf *out, const void *p, size_t n);

#endif
