/*
 * dns_tsig.c -- TSIG key files (see dns_tsig.h): a small tokenizer for
 * named.conf's syntax (words, quoted strings, '{', '}', ';', three kinds
 * of comment), the key statement on top of it, and the one-line
 * ALGORITHM:NAME:SECRET form.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/b64.h"
#include "authmilter/dns.h"
#include "authmilter/dns_tsig.h"

enum tsig_tok {
	TSIG_END = 0,
	TSIG_WORD,   /* a run of characters that are none of the below */
	TSIG_STRING, /* "..." (value without the quotes) */
	TSIG_PUNCT,  /* '{', '}' or ';' */
	TSIG_BAD,    /* an error was reported */
};

struct tsig_cursor {
	const char *p, *end;
	unsigned line;
	const char *label;
	struct buf *why;
	bool failed;
	/* the token tsig_next() read last */
	enum tsig_tok type;
	const char *tok;
	size_t tok_len;
	unsigned tok_line;
};

/* The TSIG algorithms ldns can sign with (its tsig.c), as it spells
 * them. */
static const char *const tsig_algorithms[] = {
    "hmac-sha1.",
    "hmac-sha256.",
    "hmac-sha512.",
};

static void tsig_fail(struct tsig_cursor *c, unsigned line, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* Report the first problem only: one line, "label:line: reason". */
static void
tsig_fail(struct tsig_cursor *c, unsigned line, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	if (c->failed)
		return;
	c->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->why != NULL)
		buf_addf(c->why, "%s:%u: %s", c->label, line, msg);
}

/* Blanks and comments: '#' and '//' to the end of the line, C-style
 * comments anywhere. */
static void
tsig_skip_blank(struct tsig_cursor *c)
{
	const char *close;

	while (c->p < c->end) {
		if (*c->p == '\n') {
			c->line++;
			c->p++;
		} else if (*c->p == ' ' || *c->p == '\t' || *c->p == '\r') {
			c->p++;
		} else if (*c->p == '#' || (*c->p == '/' && c->end - c->p > 1 &&
		                               c->p[1] == '/')) {
			while (c->p < c->end && *c->p != '\n')
				c->p++;
		} else if (*c->p == '/' && c->end - c->p > 1 &&
		           c->p[1] == '*') {
			close = memmem(
			    c->p + 2, (size_t)(c->end - c->p - 2), "*/", 2);
			if (close == NULL) {
				tsig_fail(c, c->line, "comment not closed");
				c->p = c->end;
				return;
			}
			for (; c->p < close; c->p++)
				if (*c->p == '\n')
					c->line++;
			c->p = close + 2;
		} else {
			return;
		}
	}
}

static bool
tsig_word_char(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && strchr("{};\"#", ch) == NULL;
}

/* A quoted string: no escapes and no line breaks (a key name or a
 * base64 secret needs neither). */
static enum tsig_tok
tsig_string(struct tsig_cursor *c)
{
	const char *s = ++c->p;

	while (c->p < c->end && *c->p != '"') {
		if (*c->p == '\\' || *c->p == '\n' ||
		    (unsigned char)*c->p < ' ' ||
		    (unsigned char)*c->p >= 0x7f) {
			tsig_fail(c, c->line, "%s in a quoted string",
			    *c->p == '\\'   ? "backslash"
			    : *c->p == '\n' ? "line break"
			                    : "control or 8-bit byte");
			return c->type = TSIG_BAD;
		}
		c->p++;
	}
	if (c->p == c->end) {
		tsig_fail(c, c->tok_line, "quoted string not closed");
		return c->type = TSIG_BAD;
	}
	c->tok = s;
	c->tok_len = (size_t)(c->p++ - s);
	return c->type = TSIG_STRING;
}

static enum tsig_tok
tsig_next(struct tsig_cursor *c)
{
	tsig_skip_blank(c);
	c->tok_line = c->line;
	c->tok = c->p;
	c->tok_len = 0;
	if (c->failed)
		return c->type = TSIG_BAD;
	if (c->p == c->end)
		return c->type = TSIG_END;
	if (*c->p == '"')
		return tsig_string(c);
	if (*c->p == '{' || *c->p == '}' || *c->p == ';') {
		c->tok_len = 1;
		c->p++;
		return c->type = TSIG_PUNCT;
	}
	while (c->p < c->end && tsig_word_char((unsigned char)*c->p))
		c->p++;
	c->tok_len = (size_t)(c->p - c->tok);
	if (c->tok_len == 0) {
		tsig_fail(
		    c, c->line, "unexpected byte 0x%02x", (unsigned char)*c->p);
		return c->type = TSIG_BAD;
	}
	return c->type = TSIG_WORD;
}

static bool
tsig_is(const struct tsig_cursor *c, enum tsig_tok type, const char *s)
{
	return c->type == type && c->tok_len == strlen(s) &&
	       strncasecmp(c->tok, s, c->tok_len) == 0;
}

/* Read the next token and require the punctuation ch. */
static bool
tsig_expect(struct tsig_cursor *c, char ch, const char *after)
{
	char want[2] = {ch, '\0'};

	if (tsig_next(c) == TSIG_BAD)
		return false;
	if (tsig_is(c, TSIG_PUNCT, want))
		return true;
	tsig_fail(c, c->tok_line, "want '%c' after %s, not \"%.*s\"", ch, after,
	    (int)(c->tok_len > 40 ? 40 : c->tok_len), c->tok);
	return false;
}

/* A value: a word or a quoted string. */
static bool
tsig_value(struct tsig_cursor *c, const char *what)
{
	if (tsig_next(c) == TSIG_BAD)
		return false;
	if (c->type == TSIG_WORD || c->type == TSIG_STRING)
		return true;
	tsig_fail(c, c->tok_line, "want %s", what);
	return false;
}

static bool
tsig_set_name(struct tsig_cursor *c, unsigned line, const char *s, size_t n,
    struct dns_tsig *k)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n >= sizeof(k->name)) {
		tsig_fail(c, line, "key name empty or too long");
		return false;
	}
	memcpy(k->name, s, n);
	k->name[n] = '\0';
	if (!dns_name_valid(k->name) || strchr(k->name, ' ') != NULL) {
		tsig_fail(
		    c, line, "key name \"%s\" is not a domain name", k->name);
		return false;
	}
	return true;
}

static bool
tsig_set_algorithm(struct tsig_cursor *c, unsigned line, const char *s,
    size_t n, struct dns_tsig *k)
{
	size_t i, want;

	if (n > 0 && s[n - 1] == '.')
		n--;
	for (i = 0; i < sizeof(tsig_algorithms) / sizeof(*tsig_algorithms);
	     i++) {
		want = strlen(tsig_algorithms[i]) - 1;
		if (n == want && strncasecmp(s, tsig_algorithms[i], n) == 0) {
			snprintf(k->algorithm, sizeof(k->algorithm), "%s",
			    tsig_algorithms[i]);
			return true;
		}
	}
	if (n >= 8 && strncasecmp(s, "hmac-md5", 8) == 0)
		tsig_fail(c, line,
		    "hmac-md5 is deprecated (RFC 8945 section 6): "
		    "make an hmac-sha256 key");
	else
		tsig_fail(c, line,
		    "algorithm \"%.*s\": want hmac-sha256, hmac-sha512 or "
		    "hmac-sha1 (what ldns signs with)",
		    (int)(n > 40 ? 40 : n), s);
	return false;
}

static bool
tsig_set_secret(struct tsig_cursor *c, unsigned line, const char *s, size_t n,
    struct dns_tsig *k)
{
	uint8_t raw[BOUND_TSIG_SECRET_BYTES];
	size_t len = 0;
	int r;

	r = n < sizeof(k->secret) ? b64_decode(s, n, 0, raw, sizeof(raw), &len)
	                          : -ERANGE;
	explicit_bzero(raw, sizeof(raw));
	if (r == -ERANGE || (r == 0 && len == 0)) {
		tsig_fail(c, line, "secret of %s (want 1 to %d bytes)",
		    r == 0 ? "0 bytes" : "too many bytes",
		    BOUND_TSIG_SECRET_BYTES);
		return false;
	}
	if (r != 0) {
		tsig_fail(c, line, "secret is not base64");
		return false;
	}
	memcpy(k->secret, s, n);
	k->secret[n] = '\0';
	return true;
}

/* One clause of the key statement: algorithm or secret, then ';'. */
static bool
tsig_clause(struct tsig_cursor *c, struct dns_tsig *k, bool *seen_alg,
    bool *seen_secret)
{
	bool alg = tsig_is(c, TSIG_WORD, "algorithm");
	unsigned line = c->tok_line;
	bool *seen = alg ? seen_alg : seen_secret;

	if (!alg && !tsig_is(c, TSIG_WORD, "secret")) {
		tsig_fail(c, line, "\"%.*s\": want algorithm or secret",
		    (int)(c->tok_len > 40 ? 40 : c->tok_len), c->tok);
		return false;
	}
	if (*seen) {
		tsig_fail(
		    c, line, "%s given twice", alg ? "algorithm" : "secret");
		return false;
	}
	*seen = true;
	if (!tsig_value(c, alg ? "an algorithm name" : "the secret"))
		return false;
	if (alg ? !tsig_set_algorithm(c, c->tok_line, c->tok, c->tok_len, k)
	        : !tsig_set_secret(c, c->tok_line, c->tok, c->tok_len, k))
		return false;
	return tsig_expect(c, ';', alg ? "the algorithm" : "the secret");
}

/* key NAME { clause... } ; -- after the word "key". */
static bool
tsig_statement(struct tsig_cursor *c, struct dns_tsig *k)
{
	bool seen_alg = false, seen_secret = false;
	unsigned start = c->tok_line;

	if (!tsig_value(c, "the key name after \"key\"") ||
	    !tsig_set_name(c, c->tok_line, c->tok, c->tok_len, k) ||
	    !tsig_expect(c, '{', "the key name"))
		return false;
	for (;;) {
		if (tsig_next(c) == TSIG_BAD)
			return false;
		if (tsig_is(c, TSIG_PUNCT, "}"))
			break;
		if (c->type == TSIG_END) {
			tsig_fail(c, start, "key statement not closed");
			return false;
		}
		if (!tsig_clause(c, k, &seen_alg, &seen_secret))
			return false;
	}
	if (!tsig_expect(c, ';', "'}'"))
		return false;
	if (!seen_alg || !seen_secret) {
		tsig_fail(c, start, "key \"%s\" has no %s", k->name,
		    seen_alg ? "secret" : "algorithm");
		return false;
	}
	return true;
}

/* ALGORITHM:NAME:SECRET, one word. */
static bool
tsig_one_line(struct tsig_cursor *c, struct dns_tsig *k)
{
	const char *s = c->tok, *end = c->tok + c->tok_len;
	const char *c1 = memchr(s, ':', c->tok_len);
	const char *c2 =
	    c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
	unsigned line = c->tok_line;

	if (c2 == NULL || memchr(c2 + 1, ':', (size_t)(end - c2 - 1))) {
		tsig_fail(c, line,
		    "want a key statement (key \"NAME\" { algorithm ...; "
		    "secret \"...\"; };) or ALGORITHM:NAME:SECRET");
		return false;
	}
	return tsig_set_algorithm(c, line, s, (size_t)(c1 - s), k) &&
	       tsig_set_name(c, line, c1 + 1, (size_t)(c2 - c1 - 1), k) &&
	       tsig_set_secret(c, line, c2 + 1, (size_t)(end - c2 - 1), k);
}

int
dns_tsig_parse(const char *text, size_t len, const char *label,
    struct dns_tsig *ret, struct buf *why)
{
	struct tsig_cursor c = {.p = text,
	    .end = text + len,
	    .line = 1,
	    .label = label,
	    .why = why};
	struct dns_tsig k;
	bool ok;

	memset(&k, 0, sizeof(k));
	if (memchr(text, '\0', len) != NULL) {
		tsig_fail(&c, 1, "NUL byte: not a key file");
		return -EINVAL;
	}
	tsig_next(&c);
	if (c.type == TSIG_END)
		tsig_fail(&c, c.line, "no key in the file");
	if (c.type == TSIG_BAD || c.type == TSIG_END)
		return -EINVAL;
	if (tsig_is(&c, TSIG_WORD, "key"))
		ok = tsig_statement(&c, &k);
	else if (c.type == TSIG_WORD)
		ok = tsig_one_line(&c, &k);
	else {
		tsig_fail(&c, c.tok_line,
		    "want a key statement or "
		    "ALGORITHM:NAME:SECRET");
		ok = false;
	}
	if (ok && tsig_next(&c) != TSIG_END) {
		if (c.type != TSIG_BAD)
			tsig_fail(&c, c.tok_line,
			    "more after the key: one key per file");
		ok = false;
	}
	if (ok)
		*ret = k;
	dns_tsig_clear(&k);
	return ok ? 0 : -EINVAL;
}

void
dns_tsig_clear(struct dns_tsig *k)
{
	explicit_bzero(k, sizeof(*k));
}
