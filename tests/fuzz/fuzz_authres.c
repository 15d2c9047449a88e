/*
 * fuzz_authres.c -- Authentication-Results on arbitrary bytes: whether
 * a received header names our authserv-id (authres_is_ours), and the
 * writer fed with message-derived text.
 *
 * Invariants (abort on violation):
 *   - the input as an A-R value: no crash;
 *   - an authserv-id made of the input's token characters is ours as a
 *     token, as a quoted-string with every character escaped, with a
 *     trailing dot, and in another case; with a token character added
 *     it is not;
 *   - a header we write with the input as comment and property value
 *     names our authserv-id, and every CR in it starts the CRLF TAB of
 *     a fold (nothing from the message can start a field of its own).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/authres.h"
#include "authmilter/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ID "mx.example.org"

static void
fuzz_die(const char *what, const char *id)
{
	fprintf(stderr, "fuzz_authres: %s (%s)\n", what, id);
	abort();
}

static bool
fuzz_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

static bool
fuzz_ours(struct buf *b, const char *id)
{
	return authres_is_ours(b->data, b->len, id);
}

/* An authserv-id from the input: its token characters, at most 63. */
static void
fuzz_id_forms(const uint8_t *data, size_t size)
{
	char id[64], upper[64];
	size_t i, n = 0;
	struct buf b;

	for (i = 0; i < size && n < sizeof(id) - 1; i++)
		if (fuzz_token_char(data[i]))
			id[n++] = (char)data[i];
	id[n] = '\0';
	if (n == 0 || id[n - 1] == '.')
		return;
	for (i = 0; i <= n; i++)
		upper[i] =
		    (char)(id[i] >= 'a' && id[i] <= 'z' ? id[i] - 32 : id[i]);
	buf_init(&b, 1024);
	buf_addf(&b, " %s; none", id);
	if (!fuzz_ours(&b, id) || !fuzz_ours(&b, upper))
		fuzz_die("token not ours", id);
	buf_reset(&b);
	buf_addf(&b, "\r\n\t(c) %s.; none", id);
	if (!fuzz_ours(&b, id))
		fuzz_die("token with a trailing dot not ours", id);
	buf_reset(&b);
	buf_adds(&b, " \"");
	for (i = 0; i < n; i++) {
		buf_addc(&b, '\\');
		buf_addc(&b, id[i]);
	}
	buf_adds(&b, "\"; none");
	if (!fuzz_ours(&b, id))
		fuzz_die("escaped quoted-string not ours", id);
	buf_reset(&b);
	buf_addf(&b, " %sx; none", id);
	if (fuzz_ours(&b, id))
		fuzz_die("a longer token is ours", id);
	buf_free(&b);
}

/* Our own header with the input in a comment and a property value. */
static void
fuzz_writer(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct buf b;
	size_t i;

	if (text == NULL)
		return;
	memcpy(text, data, size);
	text[size] = '\0';
	buf_init(&b, 8 * size + 1024); /* each byte at most twice, thrice */
	authres_begin(&b, FUZZ_ID);
	authres_method(&b, "dkim", AUTH_FAIL, text);
	authres_prop(&b, "header", "d", text);
	authres_method(&b, "dmarc", AUTH_PASS, NULL);
	authres_prop(&b, "header", "from", text);
	if (buf_error(&b) != 0)
		fuzz_die("writer overflow", FUZZ_ID);
	if (!authres_is_ours(b.data, b.len, FUZZ_ID))
		fuzz_die("our own header is not ours", FUZZ_ID);
	for (i = 0; i < b.len; i++)
		if ((b.data[i] == '\r' &&
		        (i + 2 >= b.len || b.data[i + 1] != '\n' ||
		            b.data[i + 2] != '\t')) ||
		    (b.data[i] == '\n' && (i == 0 || b.data[i - 1] != '\r')) ||
		    b.data[i] == '\0')
			fuzz_die("a line break or NUL from the input", FUZZ_ID);
	buf_free(&b);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)authres_is_ours((const char *)data, size, FUZZ_ID);
	fuzz_id_forms(data, size);
	fuzz_writer(data, size);
	return 0;
}
