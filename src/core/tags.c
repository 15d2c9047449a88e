/*
 * tags.c -- tag=value lists (RFC 6376 section 3.2), one function per
 * production of the grammar quoted in tags.h.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authmilter/span.h"
#include "authmilter/tags.h"

/* A cursor over the list being parsed. */
struct tags_cur {
	const char *s;
	size_t len;
	size_t pos;
};

static bool
tags_is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
tags_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* RFC 6376 §3.2: ALNUMPUNC = ALPHA / DIGIT / "_" */
static bool
tags_is_alnumpunc(char c)
{
	return tags_is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* RFC 6376 §3.2: VALCHAR = %x21-3A / %x3C-7E (not ";", no 8-bit) */
static bool
tags_is_valchar(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x21 && u <= 0x7e && u != ';';
}

/* Length of the FWS unit at pos: one WSP, or a CRLF fold followed by WSP
 * (RFC 5322 §3.2.2: [*WSP CRLF] 1*WSP); 0 if there is none. */
static size_t
tags_fws_unit(const struct tags_cur *c)
{
	const char *p = c->s + c->pos;
	size_t left = c->len - c->pos;

	if (left >= 1 && tags_is_wsp(p[0]))
		return 1;
	if (left >= 3 && p[0] == '\r' && p[1] == '\n' && tags_is_wsp(p[2]))
		return 3;
	return 0;
}

/* [FWS] */
static void
tags_skip_fws(struct tags_cur *c)
{
	size_t n;

	while ((n = tags_fws_unit(c)) > 0)
		c->pos += n;
}

/* tag-name = ALPHA *ALNUMPUNC; 0 or -EINVAL with the reason. */
static int
tags_skip_name(struct tags_cur *c, const char **ret_why)
{
	if (c->pos >= c->len || !tags_is_alpha(c->s[c->pos])) {
		*ret_why = c->pos < c->len && c->s[c->pos] == ';'
		               ? "empty tag-spec"
		               : "invalid tag name";
		return -EINVAL;
	}
	while (c->pos < c->len && tags_is_alnumpunc(c->s[c->pos]))
		c->pos++;
	/* a name runs into '=', ';', whitespace or the end; anything else
	 * is a character a name may not hold */
	if (c->pos < c->len && c->s[c->pos] != '=' && c->s[c->pos] != ';' &&
	    tags_fws_unit(c) == 0) {
		*ret_why = "invalid tag name";
		return -EINVAL;
	}
	return 0;
}

/* tag-value = [ tval *( 1*(WSP / FWS) tval ) ], up to ';' or the end.
 * *ret_end is set past the last VALCHAR (trailing FWS is not part of the
 * value). 0 or -EINVAL with the reason. */
static int
tags_skip_value(struct tags_cur *c, size_t *ret_end, const char **ret_why)
{
	size_t end = c->pos, n;

	while (c->pos < c->len && c->s[c->pos] != ';') {
		if (tags_is_valchar(c->s[c->pos])) {
			end = ++c->pos;
		} else if ((n = tags_fws_unit(c)) > 0) {
			c->pos += n;
		} else {
			*ret_why = "invalid character in tag value";
			return -EINVAL;
		}
	}
	*ret_end = end;
	return 0;
}

/* The tag of l named name (n bytes, case-sensitive), or NULL. */
static const struct tag *
tags_lookup(const struct tag_list *l, const char *name, size_t n)
{
	size_t i;

	for (i = 0; i < l->count; i++)
		if (l->tags[i].name_len == n &&
		    memcmp(l->tags[i].name, name, n) == 0)
			return &l->tags[i];
	return NULL;
}

/* tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]; the cursor
 * is at the first byte after the leading FWS. Appends to l. */
static int
tags_parse_spec(struct tags_cur *c, struct tag_list *l, const char **ret_why)
{
	size_t name_at = c->pos, name_end, value_at, value_end;
	struct tag *t;
	int r;

	if ((r = tags_skip_name(c, ret_why)) != 0)
		return r;
	name_end = c->pos;
	tags_skip_fws(c);
	if (c->pos >= c->len || c->s[c->pos] != '=') {
		*ret_why = "tag without '='";
		return -EINVAL;
	}
	c->pos++;
	tags_skip_fws(c);
	value_at = c->pos;
	if ((r = tags_skip_value(c, &value_end, ret_why)) != 0)
		return r;
	/* RFC 6376 §3.2: "Tags with duplicate names MUST NOT occur" */
	if (tags_lookup(l, c->s + name_at, name_end - name_at) != NULL) {
		c->pos = name_at;
		*ret_why = "duplicate tag";
		return -EINVAL;
	}
	if (l->count == BOUND_TAGS) {
		c->pos = name_at;
		*ret_why = "too many tags";
		return -E2BIG;
	}
	t = &l->tags[l->count++];
	t->name = c->s + name_at;
	t->name_len = name_end - name_at;
	t->value = c->s + value_at;
	t->value_len = value_end - value_at;
	return 0;
}

int
tags_parse(const char *s, size_t len, struct tag_list *ret,
    const char **ret_why, size_t *ret_where)
{
	struct tags_cur c = {s, len, 0};
	struct tag_list l;
	const char *why = NULL;
	int r;

	l.count = 0;
	tags_skip_fws(&c);
	/* an empty list has no tags; the caller reports what it misses */
	while (c.pos < c.len) {
		if ((r = tags_parse_spec(&c, &l, &why)) != 0) {
			*ret_why = why;
			*ret_where = c.pos;
			return r;
		}
		if (c.pos == c.len)
			break;
		c.pos++; /* the ';' that ended the value */
		tags_skip_fws(&c);
		/* RFC 6376 §3.2: tag-list = tag-spec *(";" tag-spec) [";"]:
		 * one trailing ';' is allowed, an empty spec before more
		 * text is not (tags_skip_name says so) */
	}
	memcpy(ret->tags, l.tags, l.count * sizeof(l.tags[0]));
	ret->count = l.count;
	return 0;
}

const struct tag *
tags_find(const struct tag_list *l, const char *name)
{
	return tags_lookup(l, name, strlen(name));
}

bool
tags_value_is(const struct tag *t, const char *s)
{
	return span_eq(t->value, t->value_len, s);
}
