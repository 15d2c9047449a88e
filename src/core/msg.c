/*
 * msg.c -- the header list of one message, byte-exact, bounded.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "authmilter/bounds.h"
#include "authmilter/msg.h"

void
msg_init(struct msg *m, struct arena *a)
{
	memset(m, 0, sizeof(*m));
	m->arena = a;
}

/* RFC 5322 section 2.2: ftext = %d33-57 / %d59-126 */
static bool
msg_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* Copy value into the arena, turning each bare LF into CRLF. */
static char *
msg_copy_value(struct arena *a, const char *v, size_t len, size_t *ret_len)
{
	size_t i, extra = 0, o = 0;
	char *p;

	for (i = 0; i < len; i++)
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			extra++;
	p = arena_alloc(a, len + extra + 1);
	if (p == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			p[o++] = '\r';
		p[o++] = v[i];
	}
	p[o] = '\0';
	*ret_len = o;
	return p;
}

int
msg_add_header(struct msg *m, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	struct msg_header *h;
	size_t vlen;
	char *v;

	if (!msg_name_ok(name, name_len))
		return -EINVAL;
	if (m->count >= BOUND_HEADER_COUNT ||
	    name_len + value_len > BOUND_HEADER_FIELD_BYTES ||
	    m->bytes + name_len + value_len > BOUND_HEADER_BYTES)
		return -E2BIG;
	/* the bounds hold for the stored value: checked again after the
	 * LF -> CRLF growth below */
	if (m->count == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		struct msg_header *n = arena_alloc(m->arena, cap * sizeof(*n));

		if (n == NULL)
			return -ENOMEM;
		if (m->count > 0)
			memcpy(n, m->headers, m->count * sizeof(*n));
		m->headers = n;
		m->cap = cap;
	}
	h = &m->headers[m->count];
	h->name = arena_memdup(m->arena, name, name_len);
	v = msg_copy_value(m->arena, value, value_len, &vlen);
	if (h->name == NULL || v == NULL)
		return -ENOMEM;
	if (name_len + vlen > BOUND_HEADER_FIELD_BYTES ||
	    m->bytes + name_len + vlen > BOUND_HEADER_BYTES)
		return -E2BIG;
	h->name_len = name_len;
	h->value = v;
	h->value_len = vlen;
	m->count++;
	m->bytes += name_len + vlen;
	return 0;
}

/* Length of the line starting at p (up to and excluding LF or CRLF) and
 * the length of its terminator (0 at end of data). */
static size_t
msg_line(const char *p, size_t left, size_t *ret_eol)
{
	const char *lf = memchr(p, '\n', left);
	size_t n;

	if (lf == NULL) {
		*ret_eol = 0;
		return left;
	}
	n = (size_t)(lf - p);
	if (n > 0 && p[n - 1] == '\r') {
		*ret_eol = 2;
		return n - 1;
	}
	*ret_eol = 1;
	return n;
}

int
msg_parse(struct msg *m, const char *data, size_t len,
    size_t *ret_body_offset, const char **ret_why)
{
	size_t off = 0, eol, n, start, vstart, end;
	const char *colon;
	int r;

	*ret_why = NULL;
	while (off < len) {
		n = msg_line(data + off, len - off, &eol);
		if (n == 0) {
			/* the empty line ends the header section */
			*ret_body_offset = off + eol;
			return 0;
		}
		if (data[off] == ' ' || data[off] == '\t') {
			*ret_why = "continuation line before the first "
				   "header field";
			return -EBADMSG;
		}
		colon = memchr(data + off, ':', n);
		if (colon == NULL) {
			*ret_why = "header line without a colon";
			return -EBADMSG;
		}
		start = off;
		vstart = (size_t)(colon - data) + 1;
		end = off + n;
		off += n + eol;
		/* RFC 5322 section 2.2.3: continuation lines start with WSP */
		while (off < len && (data[off] == ' ' || data[off] == '\t')) {
			n = msg_line(data + off, len - off, &eol);
			end = off + n;
			off += n + eol;
		}
		/* the name may be followed by WSP before the colon (obsolete
		 * syntax, RFC 5322 section 4.5); keep it out of the name */
		n = (size_t)(colon - (data + start));
		while (n > 0 && (data[start + n - 1] == ' ' ||
		    data[start + n - 1] == '\t'))
			n--;
		r = msg_add_header(m, data + start, n, data + vstart,
		    end - vstart);
		if (r == -EINVAL) {
			*ret_why = "invalid header field name";
			return -EBADMSG;
		}
		if (r == -E2BIG) {
			*ret_why = "too many or too large header fields";
			return r;
		}
		if (r < 0)
			return r;
	}
	*ret_body_offset = len;
	return 0;
}

bool
msg_header_is(const struct msg_header *h, const char *name, size_t name_len)
{
	return h->name_len == name_len &&
	    strncasecmp(h->name, name, name_len) == 0;
}

const struct msg_header *
msg_find(const struct msg *m, const char *name, size_t *pos)
{
	size_t nlen = strlen(name), i;

	for (i = *pos; i < m->count; i++) {
		if (msg_header_is(&m->headers[i], name, nlen)) {
			*pos = i + 1;
			return &m->headers[i];
		}
	}
	*pos = m->count;
	return NULL;
}

size_t
msg_count(const struct msg *m, const char *name)
{
	size_t pos = 0, n = 0;

	while (msg_find(m, name, &pos) != NULL)
		n++;
	return n;
}
