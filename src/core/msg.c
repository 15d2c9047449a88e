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

const char *const msg_unique_fields[MSG_UNIQUE_FIELDS] = {
    "From",
    "Sender",
    "Reply-To",
    "To",
    "Cc",
    "Bcc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Subject",
    "Date",
};

int
msg_unique_index(const char *name, size_t len)
{
	int i;

	for (i = 0; i < MSG_UNIQUE_FIELDS; i++)
		if (strlen(msg_unique_fields[i]) == len &&
		    strncasecmp(msg_unique_fields[i], name, len) == 0)
			return i;
	return -1;
}

/* The stored length of v: each bare LF becomes CRLF. */
static size_t
msg_stored_len(const char *v, size_t len)
{
	size_t i, n = len;

	for (i = 0; i < len; i++)
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			n++;
	return n;
}

/* Copy value into the arena (stored bytes plus NUL), turning each bare LF
 * into CRLF. */
static char *
msg_copy_value(struct arena *a, const char *v, size_t len, size_t stored)
{
	size_t i, o = 0;
	char *p;

	p = arena_alloc(a, stored + 1);
	if (p == NULL)
		return NULL;
	for (i = 0; i < len; i++) {
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			p[o++] = '\r';
		p[o++] = v[i];
	}
	p[o] = '\0';
	return p;
}

static int
msg_store(struct msg *m, const char *name, size_t name_len, const char *value,
    size_t value_len, size_t stored)
{
	struct msg_header *h;
	char *v;

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
	v = msg_copy_value(m->arena, value, value_len, stored);
	if (h->name == NULL || v == NULL)
		return -ENOMEM;
	h->name_len = name_len;
	h->value = v;
	h->value_len = stored;
	m->count++;
	return 0;
}

/* Which bound a field of size bytes breaks, or NULL. */
static const char *
msg_bound_broken(const struct msg *m, size_t size)
{
	if (size > BOUND_HEADER_FIELD_BYTES)
		return "a header field larger than 100 KiB";
	if (m->count - m->reserve_count >= BOUND_HEADER_COUNT)
		return "more than 1000 header fields";
	if (m->bytes + size > BOUND_HEADER_BYTES)
		return "header section larger than 1 MiB";
	return NULL;
}

int
msg_add_header(struct msg *m, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	size_t stored = msg_stored_len(value, value_len), size;
	const char *why;
	bool from, sig;
	int u;

	if (!msg_name_ok(name, name_len))
		return -EINVAL;
	size = name_len + stored;
	why = msg_bound_broken(m, size);
	if (why == NULL) {
		m->bytes += size;
		return msg_store(m, name, name_len, value, value_len, stored);
	}
	if (m->limit == NULL)
		m->limit = why;
	/* what DMARC needs is kept past the bounds, in the reserve */
	from = name_len == 4 && strncasecmp(name, "From", 4) == 0;
	sig = name_len == 14 && strncasecmp(name, "DKIM-Signature", 14) == 0;
	if ((from || sig) && size <= BOUND_HEADER_FIELD_BYTES &&
	    m->reserve_count < BOUND_HEADER_RESERVE_FIELDS &&
	    m->reserve_bytes + size <= BOUND_HEADER_RESERVE_BYTES) {
		m->reserve_bytes += size;
		m->reserve_count++;
		return msg_store(m, name, name_len, value, value_len, stored);
	}
	if (from && m->lost == NULL)
		m->lost = size > BOUND_HEADER_FIELD_BYTES
		              ? "a From field larger than 100 KiB"
		              : "more From and DKIM-Signature fields than the "
		                "limits hold";
	m->dropped++;
	if ((u = msg_unique_index(name, name_len)) >= 0)
		m->unique_dropped[u]++;
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
msg_parse(struct msg *m, const char *data, size_t len, size_t *ret_body_offset,
    const char **ret_why)
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
		r = msg_add_header(
		    m, data + start, n, data + vstart, end - vstart);
		if (r == -EINVAL) {
			*ret_why = "invalid header field name";
			return -EBADMSG;
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

size_t
msg_count_received(const struct msg *m, const char *name)
{
	int u = msg_unique_index(name, strlen(name));

	return msg_count(m, name) + (u >= 0 ? m->unique_dropped[u] : 0);
}
