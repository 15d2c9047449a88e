/*
 * spf_macro.c -- RFC 7208 section 7: macro-string syntax and expansion
 * (letters, the DIGIT and "r" transformers, delimiters, URL escaping of
 * upper-case macros, %% %_ %-).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "authmilter/spf.h"

/* RFC 7208 section 7.1: delimiter = "." / "-" / "+" / "," / "/" / "_" /
 * "=" */
#define MACRO_DELIMS ".-+,/_="
/* A DIGIT transformer above this keeps every part: no value has more
 * parts than bytes, and no expansion is longer than BOUND_DOMAIN_LEN
 * after truncation anyway. */
#define MACRO_MAX_DIGITS 255

/* One parsed macro-expand. */
struct macro_tok {
	char letter;     /* lower case; '%', '_' or '-' for escapes */
	bool upper;      /* URL-escape the result */
	unsigned digits; /* 0: keep every part */
	bool reverse;
	const char *delims; /* NULL: "." */
	size_t ndelims;
};

static bool
macro_letter_ok(char c, enum spf_macro_kind kind)
{
	switch (c) {
	case 's':
	case 'l':
	case 'o':
	case 'd':
	case 'i':
	case 'p':
	case 'h':
	case 'v':
		return true;
	case 'c':
	case 'r':
	case 't':
		/* RFC 7208 section 7.3: c, r, t only in "exp" text */
		return kind != SPF_MACRO_DOMAIN;
	}
	return false;
}

/* Parse the macro-expand at s[*pos] == '%' into tok and move *pos past
 * it. @return 0 or -EINVAL with *why. */
static int
macro_parse(const char *s, size_t len, size_t *pos, enum spf_macro_kind kind,
    struct macro_tok *tok, const char **why)
{
	size_t i = *pos + 1;
	char c;

	memset(tok, 0, sizeof(*tok));
	if (i >= len) {
		*why = "'%' at the end of a macro-string";
		return -EINVAL;
	}
	if (s[i] == '%' || s[i] == '_' || s[i] == '-') {
		tok->letter = s[i];
		*pos = i + 1;
		return 0;
	}
	if (s[i] != '{') {
		/* RFC 7208 section 7.1: '%' not followed by '{', '%', '-'
		 * or '_' is a syntax error */
		*why = "'%' not followed by '{', '%', '_' or '-'";
		return -EINVAL;
	}
	if (++i >= len) {
		*why = "unterminated macro";
		return -EINVAL;
	}
	c = s[i];
	tok->upper = c >= 'A' && c <= 'Z';
	tok->letter = (char)tolower((unsigned char)c);
	if (!macro_letter_ok(tok->letter, kind)) {
		*why = kind == SPF_MACRO_DOMAIN && strchr("crtCRT", c) != NULL
		           ? "macro letter c, r or t outside an explanation"
		           : "unknown macro letter";
		return -EINVAL;
	}
	i++;
	if (i < len && s[i] >= '0' && s[i] <= '9') {
		unsigned long n = 0;

		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if (n <= MACRO_MAX_DIGITS)
				n = n * 10 + (unsigned long)(s[i] - '0');
		if (n == 0) {
			/* RFC 7208 section 7.3: the DIGIT MUST be nonzero */
			*why = "macro DIGIT transformer is zero";
			return -EINVAL;
		}
		tok->digits = n > MACRO_MAX_DIGITS ? 0 : (unsigned)n;
	}
	if (i < len && (s[i] == 'r' || s[i] == 'R')) {
		tok->reverse = true;
		i++;
	}
	tok->delims = s + i;
	while (i < len && s[i] != '\0' && strchr(MACRO_DELIMS, s[i]) != NULL)
		i++;
	tok->ndelims = (size_t)(s + i - tok->delims);
	if (tok->ndelims == 0)
		tok->delims = NULL;
	if (i >= len || s[i] != '}') {
		*why = "bad macro transformer or delimiter, or missing '}'";
		return -EINVAL;
	}
	*pos = i + 1;
	return 0;
}

/* RFC 7208 section 7.1: macro-literal is VCHAR except '%'; explanation
 * text may also hold SP. */
static bool
macro_char_ok(unsigned char c, enum spf_macro_kind kind)
{
	if (c == ' ')
		return kind == SPF_MACRO_EXP;
	return c >= 0x21 && c <= 0x7e;
}

int
spf_macro_check(const char *s, size_t len, enum spf_macro_kind kind,
    bool *ret_end_macro, const char **ret_why)
{
	struct macro_tok tok;
	bool end_macro = false;
	size_t i = 0;

	while (i < len) {
		if (s[i] == '%') {
			if (macro_parse(s, len, &i, kind, &tok, ret_why) != 0)
				return -EINVAL;
			end_macro = true;
			continue;
		}
		if (!macro_char_ok((unsigned char)s[i], kind)) {
			*ret_why = "character not allowed in a macro-string";
			return -EINVAL;
		}
		end_macro = false;
		i++;
	}
	if (ret_end_macro != NULL)
		*ret_end_macro = end_macro;
	return 0;
}

void
spf_macro_ip(struct buf *out, const struct spf_ip *ip)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	if (ip->family == AF_INET) {
		buf_addf(out, "%u.%u.%u.%u", ip->addr[0], ip->addr[1],
		    ip->addr[2], ip->addr[3]);
		return;
	}
	/* RFC 7208 section 7.3: IPv6 as 32 dot-separated nibbles (the
	 * OpenSPF suite expects upper-case hex; DNS ignores case) */
	for (i = 0; i < 16; i++) {
		if (i > 0)
			buf_addc(out, '.');
		buf_addc(out, hex[ip->addr[i] >> 4]);
		buf_addc(out, '.');
		buf_addc(out, hex[ip->addr[i] & 15]);
	}
}

/* The value of a letter into v (before transformation). @return 0 or
 * -ENOMEM. */
static int
macro_value(const struct spf_macro_env *env, char letter, struct buf *v)
{
	char text[INET6_ADDRSTRLEN];
	const char *p;

	switch (letter) {
	case 's':
		buf_adds(v, env->sender);
		break;
	case 'l':
		buf_adds(v, env->local);
		break;
	case 'o':
		buf_adds(v, env->sender_domain);
		break;
	case 'd':
		buf_adds(v, env->domain);
		break;
	case 'i':
		spf_macro_ip(v, env->ip);
		break;
	case 'c':
		/* RFC 7208 section 7.3: c is the readable form */
		if (inet_ntop(env->ip->family, env->ip->addr, text,
		        sizeof(text)) != NULL)
			buf_adds(v, text);
		break;
	case 'v':
		buf_adds(v, env->ip->family == AF_INET ? "in-addr" : "ip6");
		break;
	case 'h':
		buf_adds(v, env->helo != NULL ? env->helo : "");
		break;
	case 'r':
		buf_adds(v, env->receiver != NULL ? env->receiver : "unknown");
		break;
	case 't':
		buf_addf(v, "%lld", env->now);
		break;
	case 'p':
		p = env->validated_name != NULL
		        ? env->validated_name(env->ctx, env->domain)
		        : "unknown";
		if (p == NULL)
			return -ENOMEM;
		buf_adds(v, p);
		break;
	}
	return 0;
}

/* RFC 7208 section 7.3: upper-case macros are URL-escaped (RFC 3986:
 * everything but unreserved characters). */
static void
macro_emit(struct buf *out, const char *p, size_t n, bool escape)
{
	size_t i;

	if (!escape) {
		buf_add(out, p, n);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
			buf_addc(out, (char)c);
		else
			buf_addf(out, "%%%02X", c);
	}
}

static bool
macro_is_delim(const struct macro_tok *tok, char c)
{
	if (tok->delims == NULL)
		return c == '.';
	return memchr(tok->delims, c, tok->ndelims) != NULL;
}

/* RFC 7208 section 7.3: split v on the delimiters, reverse if asked,
 * keep the rightmost DIGIT parts, join them with '.'. */
static void
macro_transform(
    struct buf *out, const char *v, size_t n, const struct macro_tok *tok)
{
	size_t parts = 1, keep, i, seen, end;

	for (i = 0; i < n; i++)
		parts += macro_is_delim(tok, v[i]);
	keep = tok->digits == 0 || tok->digits > parts ? parts : tok->digits;
	if (!tok->reverse) {
		/* the last keep parts: skip parts - keep of them */
		for (i = 0, seen = 0; seen < parts - keep; i++)
			seen += macro_is_delim(tok, v[i]);
		for (; i < n; i++) {
			if (macro_is_delim(tok, v[i]))
				buf_addc(out, '.');
			else
				macro_emit(out, v + i, 1, tok->upper);
		}
		return;
	}
	/* reversed, the last keep parts are the first keep parts of v,
	 * written from the keep-th back to the first */
	for (end = 0, seen = 0; end < n; end++)
		if (macro_is_delim(tok, v[end]) && ++seen == keep)
			break;
	while (true) {
		size_t start = end;

		while (start > 0 && !macro_is_delim(tok, v[start - 1]))
			start--;
		macro_emit(out, v + start, end - start, tok->upper);
		if (start == 0)
			break;
		buf_addc(out, '.');
		end = start - 1;
	}
}

static int
macro_expand_one(const struct spf_macro_env *env, const struct macro_tok *tok,
    struct buf *out)
{
	struct buf v;
	int error;

	switch (tok->letter) {
	case '%':
		buf_addc(out, '%');
		return 0;
	case '_':
		buf_addc(out, ' ');
		return 0;
	case '-':
		buf_adds(out, "%20");
		return 0;
	}
	buf_init(&v, out->max);
	error = macro_value(env, tok->letter, &v);
	if (error == 0)
		error = buf_error(&v);
	if (error == 0)
		macro_transform(out, v.data != NULL ? v.data : "", v.len, tok);
	buf_free(&v);
	return error;
}

int
spf_macro_expand(const struct spf_macro_env *env, const char *s, size_t len,
    enum spf_macro_kind kind, struct buf *out, const char **ret_why)
{
	struct macro_tok tok;
	size_t i = 0, lit;
	int error;

	if (spf_macro_check(s, len, kind, NULL, ret_why) != 0)
		return -EINVAL;
	while (i < len && buf_error(out) == 0) {
		if (s[i] != '%') {
			for (lit = i; lit < len && s[lit] != '%'; lit++)
				;
			buf_add(out, s + i, lit - i);
			i = lit;
			continue;
		}
		if (macro_parse(s, len, &i, kind, &tok, ret_why) != 0)
			return -EINVAL;
		error = macro_expand_one(env, &tok, out);
		if (error != 0)
			return error;
	}
	if (buf_error(out) != 0) {
		*ret_why = "macro expansion too long";
		return buf_error(out);
	}
	return 0;
}
