/*
 * authres.c -- RFC 8601 Authentication-Results: result words, a writer,
 * and recognising headers that carry our authserv-id.
 */
#include <string.h>
#include <strings.h>

#include "authmilter/authres.h"

const char *
auth_result_name(enum auth_result r)
{
	static const char *const names[] = {
	    [AUTH_NONE] = "none",
	    [AUTH_PASS] = "pass",
	    [AUTH_FAIL] = "fail",
	    [AUTH_SOFTFAIL] = "softfail",
	    [AUTH_NEUTRAL] = "neutral",
	    [AUTH_POLICY] = "policy",
	    [AUTH_TEMPERROR] = "temperror",
	    [AUTH_PERMERROR] = "permerror",
	};

	if ((size_t)r >= sizeof(names) / sizeof(names[0]))
		return "permerror";
	return names[r];
}

void
authres_begin(struct buf *b, const char *authserv_id)
{
	buf_addc(b, ' ');
	buf_adds(b, authserv_id);
}

/* RFC 5322 section 3.2.2: ctext excludes '(', ')' and '\\'; escape them
 * as quoted-pairs and drop control bytes. */
static void
authres_comment(struct buf *b, const char *s)
{
	buf_adds(b, " (");
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '(' || c == ')' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c >= 0x20 && c != 0x7f)
			buf_addc(b, (char)c);
	}
	buf_addc(b, ')');
}

void
authres_method(
    struct buf *b, const char *method, enum auth_result r, const char *comment)
{
	buf_adds(b, ";\r\n\t");
	buf_adds(b, method);
	buf_addc(b, '=');
	buf_adds(b, auth_result_name(r));
	if (comment != NULL && comment[0] != '\0')
		authres_comment(b, comment);
}

/* RFC 8601 section 2.2: pvalue is a value (token or quoted-string,
 * RFC 2045), or [local-part "@"] domain-name. */
static bool
authres_plain(const char *v)
{
	if (*v == '\0')
		return false;
	for (; *v != '\0'; v++) {
		unsigned char c = (unsigned char)*v;

		if (c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"/[]?=", c))
			return false;
	}
	return true;
}

void
authres_prop(
    struct buf *b, const char *ptype, const char *property, const char *value)
{
	buf_addf(b, " %s.%s=", ptype, property);
	if (authres_plain(value)) {
		buf_adds(b, value);
		return;
	}
	buf_addc(b, '"');
	for (; *value != '\0'; value++) {
		unsigned char c = (unsigned char)*value;

		if (c == '"' || c == '\\')
			buf_addc(b, '\\');
		if (c >= 0x20 && c != 0x7f)
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

void
authres_none(struct buf *b)
{
	buf_adds(b, "; none");
}

/* Skip CFWS (RFC 5322 section 3.2.2), nested comments included. */
size_t
authres_skip_cfws(const char *v, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		char c = v[i];

		if (depth > 0) {
			if (c == '\\' && i + 1 < len)
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
		} else if (c == '(')
			depth = 1;
		else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			break;
	}
	return i;
}

/* RFC 2045 section 5.1: token = 1*<any (US-ASCII) CHAR except SPACE,
 * CTLs, or tspecials> */
static bool
authres_is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("()<>@,;:\\\"/[]?=", c) == NULL;
}

/* Whether text (n bytes) names id: equal ignoring ASCII case, or id with
 * a trailing dot (a name some readers normalise). */
static bool
authres_names(const char *text, size_t n, const char *id, size_t idlen)
{
	if (n == idlen + 1 && text[idlen] == '.')
		n--;
	return n == idlen && strncasecmp(text, id, idlen) == 0;
}

bool
authres_is_ours(const char *value, size_t len, const char *authserv_id)
{
	size_t idlen = strlen(authserv_id), i, n = 0;
	char buf[256];

	if (idlen >= sizeof(buf))
		return false;
	i = authres_skip_cfws(value, len, 0);
	/* RFC 8601 section 2.2: authserv-id = value, and RFC 2045: value =
	 * token / quoted-string. A reader unquotes a quoted-string (quoted
	 * pairs resolved, RFC 5322 section 3.2.4) and ends a token at the
	 * first character a token cannot hold, so both forms are read the
	 * way such a reader would before comparing: a forged header must
	 * not survive by spelling our name another way. */
	if (i < len && value[i] == '"') {
		for (i++; i < len && value[i] != '"'; i++) {
			if (value[i] == '\\' && i + 1 < len)
				i++;
			else if (value[i] == '\r' || value[i] == '\n')
				continue; /* FWS: the CRLF goes */
			if (n == sizeof(buf))
				return false;
			buf[n++] = value[i];
		}
		return authres_names(buf, n, authserv_id, idlen);
	}
	for (n = 0;
	     i + n < len && authres_is_token_char((unsigned char)value[i + n]);
	     n++)
		;
	return authres_names(value + i, n, authserv_id, idlen);
}

/* ---- reading ---- */

/* The end of the piece starting at i: the next ';' outside comments and
 * quoted strings, or len. */
static size_t
authres_piece_end(const char *v, size_t len, size_t i)
{
	bool quoted = false;
	int depth = 0;

	for (; i < len; i++) {
		char c = v[i];

		if ((quoted || depth > 0) && c == '\\' && i + 1 < len)
			i++;
		else if (quoted)
			quoted = c != '"';
		else if (c == '(')
			depth++;
		else if (depth > 0 && c == ')')
			depth--;
		else if (depth == 0 && c == '"')
			quoted = true;
		else if (depth == 0 && c == ';')
			break;
	}
	return i;
}

static bool
authres_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool
authres_next_resinfo(
    const char *v, size_t len, size_t *pos, struct authres_span *ret)
{
	size_t i = *pos, end, start;

	/* RFC 8601 section 2.2: authserv-id [ CFWS authres-version ]
	 * ( no-result / 1*resinfo ); the first call skips to the first ';' */
	if (i == 0)
		i = authres_piece_end(v, len, 0);
	while (i < len) {
		start = i + 1; /* past the ';' */
		end = authres_piece_end(v, len, start);
		i = end;
		while (start < end && authres_wsp(v[start]))
			start++;
		while (end > start && authres_wsp(v[end - 1]))
			end--;
		if (end == start || (end - start == 4 &&
		                        strncasecmp(v + start, "none", 4) == 0))
			continue;
		ret->s = v + start;
		ret->len = end - start;
		*pos = i;
		return true;
	}
	*pos = len;
	return false;
}

/* A token (RFC 2045 section 5.1, plus '@' and '.' so that an address or
 * a domain is one) from i: its end. */
static size_t
authres_token_end(const char *v, size_t len, size_t i)
{
	while (i < len) {
		unsigned char c = (unsigned char)v[i];

		if (c <= 0x20 || c >= 0x7f || strchr("()<>,;:\\\"/[]?=", c))
			break;
		i++;
	}
	return i;
}

bool
authres_resinfo_method(const char *r, size_t len,
    struct authres_span *ret_method, struct authres_span *ret_result)
{
	size_t i = authres_skip_cfws(r, len, 0), e;

	/* methodspec = [CFWS] method [CFWS] "=" [CFWS] result; method =
	 * Keyword [ [CFWS] "/" [CFWS] method-version ] */
	e = authres_token_end(r, len, i);
	if (e == i)
		return false;
	ret_method->s = r + i;
	ret_method->len = e - i;
	i = authres_skip_cfws(r, len, e);
	if (i < len && r[i] == '/') {
		i = authres_skip_cfws(r, len, i + 1);
		i = authres_skip_cfws(r, len, authres_token_end(r, len, i));
	}
	if (i >= len || r[i] != '=')
		return false;
	i = authres_skip_cfws(r, len, i + 1);
	e = authres_token_end(r, len, i);
	if (e == i)
		return false;
	ret_result->s = r + i;
	ret_result->len = e - i;
	return true;
}

/* The end of a pvalue from i (a quoted-string or a token), with the
 * value's span. */
static size_t
authres_pvalue(const char *r, size_t len, size_t i, struct authres_span *ret)
{
	size_t start = i;

	if (i < len && r[i] == '"') {
		for (i++; i < len && r[i] != '"'; i++)
			if (r[i] == '\\' && i + 1 < len)
				i++;
		ret->s = r + start + 1;
		ret->len = i - start - 1;
		return i < len ? i + 1 : i;
	}
	i = authres_token_end(r, len, i);
	ret->s = r + start;
	ret->len = i - start;
	return i;
}

bool
authres_resinfo_prop(const char *r, size_t len, const char *ptype,
    const char *property, struct authres_span *ret)
{
	size_t tl = strlen(ptype), pl = strlen(property), i = 0, e;
	struct authres_span v;

	/* propspec = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue,
	 * after the methodspec and an optional reasonspec: every
	 * "name=value" pair is looked at, the wanted one returned */
	while (i < len) {
		i = authres_skip_cfws(r, len, i);
		e = authres_token_end(r, len, i);
		if (e == i) {
			i++; /* a byte no pair starts with */
			continue;
		}
		v.s = r + i;
		v.len = e - i;
		i = authres_skip_cfws(r, len, e);
		if (i >= len || r[i] != '=')
			continue;
		i = authres_pvalue(
		    r, len, authres_skip_cfws(r, len, i + 1), ret);
		if (v.len == tl + 1 + pl && strncasecmp(v.s, ptype, tl) == 0 &&
		    v.s[tl] == '.' &&
		    strncasecmp(v.s + tl + 1, property, pl) == 0)
			return true;
	}
	return false;
}
