/*
 * dkim_sig.c -- DKIM-style signature fields: tag values, header selection
 * and oversigning, the header hash, the shared body streams, folding and
 * signing (see dkim_sig.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/span.h"
#include "authmilter/xalloc.h"

/* Fold signature fields before this column (RFC 5322 section 2.1.1
 * recommends 78). */
#define DKIM_SIG_FOLD 78
/* Room for one canonicalized field: twice the field bound (msg checks
 * the bound after turning bare LF into CRLF, but a field built any other
 * way may still grow by half), plus the colon, the CRLF and slack. */
#define DKIM_SIG_FIELD_MAX (2 * BOUND_HEADER_FIELD_BYTES + 1024)
/* An h= we write: at most BOUND_SIGNED_HEADERS names of at most a few
 * dozen bytes each. */
#define DKIM_SIG_H_MAX 32768

/* RFC 6376 section 5.4.1: header fields that SHOULD be signed, plus the
 * ones that define how the body is read. */
static const char *const dkim_sig_defaults[] = {
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Resent-Date",
    "Resent-From",
    "Resent-Sender",
    "Resent-To",
    "Resent-Cc",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Help",
    "List-Unsubscribe",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    NULL,
};

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- tag values ---- */

int
dkim_sig_split_h(const char *h, size_t len, struct dkim_hname *names,
    size_t max, size_t *ret_n)
{
	const char *name;
	size_t pos = 0, n = 0, nl, k;

	while (span_list_next(h, len, &pos, &name, &nl)) {
		if (nl == 0)
			return -EINVAL;
		/* RFC 5322 section 3.6.8: ftext = %d33-57 / %d59-126 */
		for (k = 0; k < nl; k++)
			if ((unsigned char)name[k] < 33 ||
			    (unsigned char)name[k] > 126)
				return -EINVAL;
		if (n == max)
			return -E2BIG;
		names[n].name = name;
		names[n].len = nl;
		n++;
	}
	*ret_n = n;
	return 0;
}

int
dkim_sig_parse_canon(const char *s, size_t n, enum canon_alg *ret_header,
    enum canon_alg *ret_body)
{
	const char *slash = memchr(s, '/', n);
	enum canon_alg hc, bc = CANON_SIMPLE;
	size_t hl = slash != NULL ? (size_t)(slash - s) : n;

	/* RFC 6376 section 3.5 c=: "header/body", body default simple */
	if (canon_alg_parse(s, hl, &hc) != 0)
		return -EINVAL;
	if (slash != NULL && canon_alg_parse(slash + 1, n - hl - 1, &bc) != 0)
		return -EINVAL;
	*ret_header = hc;
	*ret_body = bc;
	return 0;
}

int
dkim_sig_parse_uint(const char *s, size_t n, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 18)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

const char *
dkim_sig_name_problem(const char *s, size_t n)
{
	size_t i, label = 0;

	/* RFC 6376 section 3.5 d= is a domain-name, section 3.1 s=
	 * sub-domains: labels of letters, digits and '-' (plus '_', which
	 * real selectors and DNS allow), 1..63 bytes each (RFC 1035 section
	 * 2.3.4), at most 253 bytes, no final dot. Anything else
	 * (whitespace, control bytes, '\', 8-bit) is refused before it
	 * reaches a result, a DNS query or a header. */
	if (n == 0)
		return "empty";
	if (n > BOUND_DOMAIN_LEN - 2)
		return "longer than 253 bytes";
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (label == 0)
				return "empty label";
			label = 0;
		} else if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') &&
		           !(c >= '0' && c <= '9') && c != '-' && c != '_')
			return "character not allowed";
		else if (++label > BOUND_LABEL_LEN)
			return "label longer than 63 bytes";
	}
	return label == 0 ? "empty label" : NULL;
}

/* ---- choosing the fields ---- */

const char *const *
dkim_sig_default_headers(void)
{
	return dkim_sig_defaults;
}

static bool
name_in(const char *name, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(name, list[i]) == 0)
			return true;
	return false;
}

/* Append name to h as often as m has it, once more if oversigned. */
static void
add_h_name(struct buf *h, const struct msg *m, const char *name, bool oversign,
    size_t *count)
{
	size_t times = msg_count(m, name) + (oversign ? 1 : 0);

	*count += times;
	while (times-- > 0) {
		if (h->len > 0)
			buf_addc(h, ':');
		buf_adds(h, name);
	}
}

int
dkim_sig_build_h(struct arena *a, const struct msg *m, const char *const *names,
    size_t n, const char *const *oversign, size_t n_oversign, char **ret)
{
	size_t i, count = 0;
	struct buf h;

	if (names == NULL) {
		names = dkim_sig_defaults;
		for (n = 0; names[n] != NULL; n++)
			;
	}
	buf_init(&h, DKIM_SIG_H_MAX);
	/* RFC 6376 section 5.4: From MUST be signed; always oversigned */
	add_h_name(&h, m, "From", true, &count);
	for (i = 0; i < n; i++)
		if (strcasecmp(names[i], "From") != 0 &&
		    !name_in(names[i], names, i))
			add_h_name(&h, m, names[i],
			    name_in(names[i], oversign, n_oversign), &count);
	for (i = 0; i < n_oversign; i++)
		if (!name_in(oversign[i], names, n) &&
		    !name_in(oversign[i], oversign, i) &&
		    strcasecmp(oversign[i], "From") != 0)
			add_h_name(&h, m, oversign[i], true, &count);
	if (buf_error(&h) != 0 || count > BOUND_SIGNED_HEADERS) {
		buf_free(&h);
		return count > BOUND_SIGNED_HEADERS ? -E2BIG : -ENOMEM;
	}
	*ret = arena_memdup(a, h.data != NULL ? h.data : "", h.len);
	buf_free(&h);
	return *ret == NULL ? -ENOMEM : 0;
}

/* The field that the k-th name selects: RFC 6376 section 5.4.2, instances
 * are taken from the bottom up, one more for each earlier occurrence of
 * the same name in h=. NULL when none is left. */
static const struct msg_header *
pick_field(const struct msg *m, const struct dkim_hname *names, size_t k)
{
	size_t skip = 0, j, i;

	for (j = 0; j < k; j++)
		if (names[j].len == names[k].len &&
		    strncasecmp(names[j].name, names[k].name, names[k].len) ==
		        0)
			skip++;
	for (i = m->count; i-- > 0;) {
		if (!msg_header_is(&m->headers[i], names[k].name, names[k].len))
			continue;
		if (skip-- == 0)
			return &m->headers[i];
	}
	return NULL;
}

int
dkim_sig_select(const struct msg *m, const char *h, size_t h_len,
    const struct msg_header **ret, size_t max, size_t *ret_n)
{
	struct dkim_hname names[BOUND_SIGNED_HEADERS];
	const struct msg_header *f;
	size_t n, k, got = 0;
	int r;

	if (max > BOUND_SIGNED_HEADERS)
		max = BOUND_SIGNED_HEADERS;
	if ((r = dkim_sig_split_h(h, h_len, names, max, &n)) != 0)
		return r;
	for (k = 0; k < n; k++)
		if ((f = pick_field(m, names, k)) != NULL)
			ret[got++] = f;
	*ret_n = got;
	return 0;
}

/* ---- the header hash ---- */

/* The signature value with the b= value and the whitespace around it
 * deleted (RFC 6376 section 3.7: "with the value of the b= tag
 * (including all surrounding whitespace) deleted"). */
static void
without_b(
    struct buf *out, const char *v, size_t vlen, const char *b, size_t blen)
{
	size_t start = (size_t)(b - v), end = start + blen;

	while (start > 0 && v[start - 1] != '=' && is_fws(v[start - 1]))
		start--;
	while (end < vlen && is_fws(v[end]))
		end++;
	buf_add(out, v, start);
	buf_add(out, v + end, vlen - end);
}

/* Canonicalize f into b (emptied first) and hash it, without the final
 * CRLF when last. */
static int
hash_one(EVP_MD_CTX *md, enum canon_alg hc, const char *name, size_t name_len,
    const char *value, size_t value_len, struct buf *b, bool last)
{
	buf_reset(b);
	canon_header(b, hc, name, name_len, value, value_len);
	if (buf_error(b) != 0)
		return buf_error(b);
	if (EVP_DigestUpdate(md, b->data, b->len - (last ? 2 : 0)) != 1)
		return -EIO;
	return 0;
}

int
dkim_sig_hash_fields(enum canon_alg hc, const struct msg_header *const *fields,
    size_t n, const struct msg_header *sig, const char *b_value, size_t b_len,
    uint8_t *digest)
{
	struct buf b, v;
	EVP_MD_CTX *md;
	unsigned dlen;
	size_t k;
	int r;

	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	buf_init(&b, DKIM_SIG_FIELD_MAX);
	buf_init(&v, DKIM_SIG_FIELD_MAX);
	r = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
	for (k = 0; k < n && r == 0; k++)
		r = hash_one(md, hc, fields[k]->name, fields[k]->name_len,
		    fields[k]->value, fields[k]->value_len, &b, false);
	if (r == 0) {
		/* the signature field last, without its final CRLF */
		without_b(&v, sig->value, sig->value_len, b_value, b_len);
		r = buf_error(&v);
	}
	if (r == 0)
		r = hash_one(
		    md, hc, sig->name, sig->name_len, v.data, v.len, &b, true);
	if (r == 0 && (EVP_DigestFinal_ex(md, digest, &dlen) != 1 ||
	                  dlen != DKIM_DIGEST_LEN))
		r = -EIO;
	EVP_MD_CTX_free(md);
	buf_free(&b);
	buf_free(&v);
	return r;
}

int
dkim_sig_hash_header(const struct msg *m, enum canon_alg hc, const char *h,
    size_t h_len, const struct msg_header *sig, const char *b_value,
    size_t b_len, uint8_t *digest)
{
	const struct msg_header *fields[BOUND_SIGNED_HEADERS];
	size_t n;
	int r;

	r = dkim_sig_select(m, h, h_len, fields, BOUND_SIGNED_HEADERS, &n);
	if (r != 0)
		return r;
	return dkim_sig_hash_fields(hc, fields, n, sig, b_value, b_len, digest);
}

/* ---- body hashes ---- */

struct dkim_sig_body {
	struct dkim_sig_body *next;
	struct canon_body *cb;
	uint8_t hash[CANON_DIGEST_MAX]; /* after dkim_sig_bodies_final */
	size_t hash_len;
	bool done;
};

struct dkim_sig_bodies {
	struct arena *arena;
	struct dkim_sig_body *first, **last;
	size_t count;
	bool fed; /* a body byte went in: no new streams */
	bool finished;
	int final_r; /* what dkim_sig_bodies_final() gave */
};

int
dkim_sig_bodies_new(struct arena *a, struct dkim_sig_bodies **ret)
{
	struct dkim_sig_bodies *s = arena_zalloc(a, sizeof(*s));

	if (s == NULL)
		return -ENOMEM;
	s->arena = a;
	s->last = &s->first;
	*ret = s;
	return 0;
}

int
dkim_sig_body_for(struct dkim_sig_bodies *s, enum canon_alg bc,
    enum canon_hash hash, int64_t limit, struct dkim_sig_body **ret)
{
	struct dkim_sig_body *b;
	int r;

	for (b = s->first; b != NULL; b = b->next)
		if (canon_body_matches(b->cb, bc, hash, limit)) {
			*ret = b;
			return 0;
		}
	if (s->fed || s->finished)
		panic("dkim_sig_body_for: a stream after the body started");
	if ((b = arena_zalloc(s->arena, sizeof(*b))) == NULL)
		return -ENOMEM;
	if ((r = canon_body_new(s->arena, bc, hash, limit, &b->cb)) != 0)
		return r;
	*s->last = b;
	s->last = &b->next;
	s->count++;
	*ret = b;
	return 0;
}

int
dkim_sig_bodies_update(struct dkim_sig_bodies *s, const char *chunk, size_t len)
{
	struct dkim_sig_body *b;
	int r;

	s->fed = true;
	for (b = s->first; b != NULL; b = b->next)
		if ((r = canon_body_update(b->cb, chunk, len)) != 0)
			return r;
	return 0;
}

int
dkim_sig_bodies_final(struct dkim_sig_bodies *s)
{
	struct dkim_sig_body *b;

	if (s->finished)
		return s->final_r;
	s->finished = true;
	for (b = s->first; b != NULL && s->final_r == 0; b = b->next) {
		s->final_r = canon_body_final(b->cb, b->hash, &b->hash_len);
		b->done = s->final_r == 0;
	}
	return s->final_r;
}

size_t
dkim_sig_bodies_count(const struct dkim_sig_bodies *s)
{
	return s->count;
}

const uint8_t *
dkim_sig_body_hash(const struct dkim_sig_body *b, size_t *ret_len)
{
	if (!b->done)
		panic("dkim_sig_body_hash before dkim_sig_bodies_final");
	*ret_len = b->hash_len;
	return b->hash;
}

uint64_t
dkim_sig_body_length(const struct dkim_sig_body *b)
{
	return canon_body_length(b->cb);
}

/* ---- writing and signing ---- */

void
dkim_sig_writer_init(struct dkim_sig_writer *w, struct buf *b, const char *name)
{
	w->b = b;
	w->name = name;
	w->col = strlen(name) + 1;
}

/* Append the token pre s[0..n) post, after a space (space) or directly,
 * folding first with CRLF TAB when it would pass the fold column. */
static void
fold_add(struct dkim_sig_writer *w, const char *pre, const char *s, size_t n,
    const char *post, bool space)
{
	size_t len = strlen(pre) + n + strlen(post);

	if (w->col + len + (space ? 1 : 0) > DKIM_SIG_FOLD && w->col > 8) {
		buf_add(w->b, "\r\n\t", 3);
		w->col = 8;
	} else if (space) {
		buf_addc(w->b, ' ');
		w->col++;
	}
	buf_adds(w->b, pre);
	buf_add(w->b, s, n);
	buf_adds(w->b, post);
	w->col += len;
}

void
dkim_sig_write_tag(
    struct dkim_sig_writer *w, const char *tag, const char *value)
{
	fold_add(w, tag, value, strlen(value), ";", true);
}

void
dkim_sig_write_h(struct dkim_sig_writer *w, const char *h)
{
	const char *p = h, *colon;
	bool first = true;
	size_t n;

	/* name pieces that may fold after a ':' (RFC 6376 section 3.5: FWS
	 * is allowed around the colons) */
	while (*p != '\0') {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) + 1 : strlen(p);
		fold_add(w, first ? "h=" : "", p, n, colon == NULL ? ";" : "",
		    first);
		first = false;
		p += n;
	}
}

void
dkim_sig_write_b(struct dkim_sig_writer *w)
{
	fold_add(w, "b=", "", 0, "", true);
}

void
dkim_sig_writer_field(const struct dkim_sig_writer *w, struct msg_header *ret)
{
	ret->name = w->name;
	ret->name_len = strlen(w->name);
	ret->value = buf_cstr(w->b);
	ret->value_len = w->b->len;
}

/* Base64 data in pieces that fill each line (FWS is allowed in
 * base64string). */
static void
fold_b64(struct dkim_sig_writer *w, const char *s, size_t n)
{
	size_t room, k;

	while (n > 0) {
		if (w->col >= DKIM_SIG_FOLD) {
			buf_add(w->b, "\r\n\t", 3);
			w->col = 8;
		}
		room = DKIM_SIG_FOLD - w->col;
		k = n < room ? n : room;
		buf_add(w->b, s, k);
		w->col += k;
		s += k;
		n -= k;
	}
}

int
dkim_sig_write_signature(struct dkim_sig_writer *w,
    const struct dkim_privkey *k, const uint8_t *digest)
{
	uint8_t sig[DKIM_SIG_MAX];
	struct buf b64;
	size_t siglen;
	int r;

	if ((r = dkim_privkey_sign(k, digest, sig, &siglen)) != 0)
		return r;
	buf_init(&b64, DKIM_SIG_MAX * 2);
	b64_encode(&b64, sig, siglen);
	fold_b64(w, buf_cstr(&b64), b64.len);
	r = buf_error(&b64) != 0 ? buf_error(&b64) : buf_error(w->b);
	buf_free(&b64);
	return r;
}
