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

bool
authres_is_ours(const char *value, size_t len, const char *authserv_id)
{
	size_t idlen = strlen(authserv_id), i, start;

	i = authres_skip_cfws(value, len, 0);
	start = i;
	/* authserv-id = value: a token or a quoted-string; ours is a host
	 * name, a token */
	while (i < len && value[i] != ';' && value[i] != ' ' &&
	    value[i] != '\t' && value[i] != '(' && value[i] != '\r' &&
	    value[i] != '\n')
		i++;
	if (i - start == idlen + 2 && value[start] == '"' &&
	    value[i - 1] == '"')
		start++, i--;
	return i - start == idlen &&
	    strncasecmp(value + start, authserv_id, idlen) == 0;
}
