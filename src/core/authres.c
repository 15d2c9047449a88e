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
authres_method(struct buf *b, const char *method, enum auth_result r,
    const char *comment)
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
authres_prop(struct buf *b, const char *ptype, const char *property,
    const char *value)
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
static size_t
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
				continue;	/* FWS: the CRLF goes */
			if (n == sizeof(buf))
				return false;
			buf[n++] = value[i];
		}
		return authres_names(buf, n, authserv_id, idlen);
	}
	for (n = 0; i + n < len &&
	    authres_is_token_char((unsigned char)value[i + n]); n++)
		;
	return authres_names(value + i, n, authserv_id, idlen);
}
