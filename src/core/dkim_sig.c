/*
 * dkim_sig.c -- DKIM-style signature fields: tag values, header selection
 * and oversigning, the header hash, the shared body streams, folding and
 * signing (see dkim_sig.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"
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

/* ---- parsing a signature field ---- */

/* One parse: where strings go and whether an allocation failed. */
struct sig_parse {
	struct arena *a;
	struct dkim_sig_parsed *p;
	enum dkim_sig_kind kind;
	bool nomem;
};

/* A tag value as a string in the arena; NULL (and nomem) on ENOMEM. */
static const char *
tag_dup(struct sig_parse *c, const struct tag *t)
{
	const char *s = arena_memdup(c->a, t->value, t->value_len);

	if (s == NULL)
		c->nomem = true;
	return s;
}

/* "bad X=: problem" in the arena. */
static const char *
bad_tag(struct sig_parse *c, const char *tag, const char *problem)
{
	size_t len = strlen(tag) + strlen(problem) + 10;
	char *s = arena_alloc(c->a, len);

	if (s == NULL) {
		c->nomem = true;
		return "out of memory";
	}
	snprintf(s, len, "bad %s=: %s", tag, problem);
	return s;
}

/* Per-tag checks: NULL, or the permerror reason. */
typedef const char *sig_tag_fn(struct sig_parse *c, const struct tag *t);

static const char *
tag_v(struct sig_parse *c, const struct tag *t)
{
	/* RFC 6376 section 3.5: v=1; section 6.1.1: other versions are
	 * PERMFAIL (incompatible version) */
	return span_eq(t->value, t->value_len, "1") ? NULL : "v= not 1";
}

/* a= is kept (for header.a) only when it is a known algorithm name. */
static const char *
tag_a(struct sig_parse *c, const struct tag *t)
{
	/* RFC 8301 section 3.1: rsa-sha1 MUST NOT be used for verifying */
	if (span_eq(t->value, t->value_len, "rsa-sha1")) {
		c->p->algorithm = tag_dup(c, t);
		return "rsa-sha1 not accepted (RFC 8301)";
	}
	if (dkim_alg_parse(t->value, t->value_len, &c->p->alg) != 0)
		return "unknown algorithm";
	c->p->algorithm = tag_dup(c, t);
	return NULL;
}

static const char *
tag_b(struct sig_parse *c, const struct tag *t)
{
	struct dkim_sig_parsed *p = c->p;
	char prefix[9];
	size_t i, n = 0;
	int r;

	/* RFC 6008 section 4: header.b carries the first 8 characters;
	 * only base64 ones, up to the first other non-FWS byte */
	for (i = 0; i < t->value_len && n < 8; i++) {
		if (b64_char((unsigned char)t->value[i]))
			prefix[n++] = t->value[i];
		else if (!is_fws(t->value[i]))
			break;
	}
	if ((p->b_prefix = arena_memdup(c->a, prefix, n)) == NULL)
		c->nomem = true;
	r = b64_decode(t->value, t->value_len, B64_FWS, p->sig, sizeof(p->sig),
	    &p->sig_len);
	/* base64 that does not fit: too long, not bad (a signature is at
	 * most BOUND_RSA_MAX_BITS / 8 bytes) */
	if (r == -ERANGE)
		return "b= too long";
	if (r != 0 || p->sig_len == 0)
		return "bad base64 in b=";
	return NULL;
}

static const char *
tag_bh(struct sig_parse *c, const struct tag *t)
{
	int r = b64_decode(t->value, t->value_len, B64_FWS, c->p->bh,
	    sizeof(c->p->bh), &c->p->bh_len);

	if (r == -ERANGE)
		return "bh= too long";
	return r != 0 ? "bad base64 in bh=" : NULL;
}

static const char *
tag_c(struct sig_parse *c, const struct tag *t)
{
	if (dkim_sig_parse_canon(
	        t->value, t->value_len, &c->p->hc, &c->p->bc) != 0)
		return "bad c=";
	return NULL;
}

static const char *
tag_d(struct sig_parse *c, const struct tag *t)
{
	const char *why = dkim_sig_name_problem(t->value, t->value_len);

	if (why != NULL)
		return bad_tag(c, "d", why);
	c->p->domain = tag_dup(c, t);
	return c->p->domain == NULL ? "out of memory" : NULL;
}

static const char *
tag_h(struct sig_parse *c, const struct tag *t)
{
	struct dkim_hname names[BOUND_SIGNED_HEADERS];
	size_t n, i;
	int r;

	/* RFC 8617 section 4.1.3: an ARC-Seal has no h= (it signs the ARC
	 * sets, not a list of fields) */
	if (c->kind == DKIM_SIG_KIND_SEAL)
		return "h= not allowed";
	c->p->h = t;
	r = dkim_sig_split_h(
	    t->value, t->value_len, names, BOUND_SIGNED_HEADERS, &n);
	if (r == -E2BIG)
		return "h= lists too many header fields";
	if (r != 0)
		return "bad h=";
	/* how many From fields the signature covers (for DMARC) */
	for (i = 0; i < n; i++)
		if (span_eq(names[i].name, names[i].len, "From"))
			c->p->h_from++;
	/* RFC 6376 section 6.1.1: From MUST be signed */
	return c->p->h_from > 0 ? NULL : "h= does not include From";
}

static const char *
tag_l(struct sig_parse *c, const struct tag *t)
{
	uint64_t l;

	if (dkim_sig_parse_uint(t->value, t->value_len, &l) != 0)
		return "bad l=";
	c->p->limit = (int64_t)l;
	return NULL;
}

static const char *
tag_q(struct sig_parse *c, const struct tag *t)
{
	/* RFC 6376 section 3.5: dns/txt is the only query method */
	return span_list_has(t->value, t->value_len, "dns/txt") ? NULL
	                                                        : "unknown q=";
}

static const char *
tag_s(struct sig_parse *c, const struct tag *t)
{
	const char *why = dkim_sig_name_problem(t->value, t->value_len);

	if (why != NULL)
		return bad_tag(c, "s", why);
	c->p->selector = tag_dup(c, t);
	return c->p->selector == NULL ? "out of memory" : NULL;
}

static const char *
tag_t(struct sig_parse *c, const struct tag *t)
{
	c->p->has_t = true;
	return dkim_sig_parse_uint(t->value, t->value_len, &c->p->t) == 0
	           ? NULL
	           : "bad t=";
}

static const char *
tag_x(struct sig_parse *c, const struct tag *t)
{
	c->p->has_x = true;
	return dkim_sig_parse_uint(t->value, t->value_len, &c->p->x) == 0
	           ? NULL
	           : "bad x=";
}

/* What each kind does with a tag. */
enum tag_use {
	TAG_NO = 0, /* not the kind's: left alone */
	TAG_OPT,    /* checked when present */
	TAG_REQ,    /* must be present */
};

/* RFC 6376 section 3.5's tags in the order they are checked (d= before
 * the caller's i=, which is checked against it); columns: DKIM, message
 * signature (RFC 8617 section 4.1.2), seal (section 4.1.3; h= is
 * refused by tag_h). */
static const struct {
	const char *name;
	const char *missing; /* reason when a required one is absent */
	sig_tag_fn *fn;
	enum tag_use use[3];
} sig_tags[] = {
    {"v", "missing v= tag", tag_v, {TAG_REQ, TAG_NO, TAG_NO}},
    {"a", "missing a= tag", tag_a, {TAG_REQ, TAG_REQ, TAG_REQ}},
    {"b", "missing b= tag", tag_b, {TAG_REQ, TAG_REQ, TAG_REQ}},
    {"bh", "missing bh= tag", tag_bh, {TAG_REQ, TAG_REQ, TAG_NO}},
    {"c", NULL, tag_c, {TAG_OPT, TAG_OPT, TAG_NO}},
    {"d", "missing d= tag", tag_d, {TAG_REQ, TAG_REQ, TAG_REQ}},
    {"h", "missing h= tag", tag_h, {TAG_REQ, TAG_REQ, TAG_OPT}},
    {"l", NULL, tag_l, {TAG_OPT, TAG_OPT, TAG_NO}},
    {"q", NULL, tag_q, {TAG_OPT, TAG_OPT, TAG_NO}},
    {"s", "missing s= tag", tag_s, {TAG_REQ, TAG_REQ, TAG_REQ}},
    {"t", NULL, tag_t, {TAG_OPT, TAG_OPT, TAG_OPT}},
    {"x", NULL, tag_x, {TAG_OPT, TAG_OPT, TAG_NO}},
};

/* Every field but the buffers the tags fill (sig, bh, the tag list). */
static void
parsed_init(struct dkim_sig_parsed *p)
{
	p->tags.count = 0;
	p->b = p->h = NULL;
	p->alg = DKIM_ALG_RSA_SHA256;
	p->hc = p->bc = CANON_SIMPLE;
	p->limit = -1;
	p->t = p->x = 0;
	p->has_t = p->has_x = false;
	p->h_from = 0;
	p->algorithm = p->domain = p->selector = p->b_prefix = NULL;
	p->bh_len = p->sig_len = 0;
}

/* The checks of the tags in ret->tags, in sig_tags order. */
static int
parse_checks(struct arena *a, enum dkim_sig_kind kind,
    struct dkim_sig_parsed *ret, const char **ret_why)
{
	struct sig_parse c = {a, ret, kind, false};
	const struct tag *t;
	const char *why;
	enum tag_use use;
	size_t k;

	for (k = 0; k < sizeof(sig_tags) / sizeof(sig_tags[0]); k++) {
		use = sig_tags[k].use[kind];
		t = tags_find(&ret->tags, sig_tags[k].name);
		if (use == TAG_NO)
			continue;
		/* RFC 6376 section 6.1.1: a required tag missing is
		 * PERMFAIL (signature missing required tag) */
		if (t == NULL && use == TAG_REQ) {
			*ret_why = sig_tags[k].missing;
			break;
		}
		if (t != NULL && (why = sig_tags[k].fn(&c, t)) != NULL) {
			*ret_why = why;
			break;
		}
	}
	if (k == sizeof(sig_tags) / sizeof(sig_tags[0])) {
		ret->b = tags_find(&ret->tags, "b");
		/* RFC 6376 section 3.5 x=: MUST be greater than t= */
		if (ret->has_t && ret->has_x && ret->x <= ret->t)
			*ret_why = "x= not after t=";
	}
	return c.nomem ? -ENOMEM : 0;
}

int
dkim_sig_parse(struct arena *a, const struct msg_header *f,
    enum dkim_sig_kind kind, struct dkim_sig_parsed *ret, const char **ret_why)
{
	const char *why;
	size_t where;

	parsed_init(ret);
	*ret_why = NULL;
	if (tags_parse(f->value, f->value_len, &ret->tags, &why, &where) != 0) {
		/* RFC 6376 section 6.1.1: PERMFAIL (signature syntax) */
		*ret_why = why != NULL && strcmp(why, "duplicate tag") == 0
		               ? "duplicate tag"
		               : "bad signature syntax";
		return 0;
	}
	return parse_checks(a, kind, ret, ret_why);
}

int
dkim_sig_parse_list(struct arena *a, const struct tag_list *tl,
    enum dkim_sig_kind kind, struct dkim_sig_parsed *ret, const char **ret_why)
{
	parsed_init(ret);
	*ret_why = NULL;
	ret->tags = *tl;
	return parse_checks(a, kind, ret, ret_why);
}

int
dkim_sig_parse_names(
    struct arena *a, const struct msg_header *f, struct dkim_sig_parsed *ret)
{
	static sig_tag_fn *const named[] = {tag_a, tag_d, tag_s};
	static const char *const names[] = {"a", "d", "s"};
	struct sig_parse c = {a, ret, DKIM_SIG_KIND_DKIM, false};
	const struct tag *t;
	const char *why;
	size_t where, k;

	parsed_init(ret);
	if (tags_parse(f->value, f->value_len, &ret->tags, &why, &where) != 0)
		return 0;
	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if ((t = tags_find(&ret->tags, names[k])) != NULL)
			(void)named[k](&c, t);
	return c.nomem ? -ENOMEM : 0;
}

int
dkim_sig_check(const struct dkim_sig_parsed *p, const struct dkim_pubkey *k,
    const struct dkim_sig_body *body, const uint8_t *digest,
    enum auth_result *ret, const char **ret_why)
{
	const uint8_t *body_hash;
	size_t len;
	int r;

	*ret = AUTH_PERMERROR;
	/* RFC 6376 section 3.6.1 k= / RFC 8463 section 4.1: the key type
	 * must be the one a= names */
	if (dkim_alg_key_type(p->alg) != k->type) {
		*ret_why = "key type does not match a=";
		return 0;
	}
	if (body != NULL && p->limit >= 0 &&
	    (uint64_t)p->limit > dkim_sig_body_length(body)) {
		*ret_why = "l= exceeds body length";
		return 0;
	}
	*ret = AUTH_FAIL;
	/* RFC 6376 section 6.1.3 step 4: PERMFAIL (body hash did not
	 * verify) */
	if (body != NULL) {
		body_hash = dkim_sig_body_hash(body, &len);
		if (p->bh_len != len || memcmp(p->bh, body_hash, len) != 0) {
			*ret_why = "body hash mismatch";
			return 0;
		}
	}
	r = dkim_pubkey_verify(k, p->alg, digest, p->sig, p->sig_len);
	if (r == -EBADMSG) {
		*ret_why = "signature mismatch";
		return 0;
	}
	if (r != 0)
		return r == -EINVAL ? -EIO : r;
	*ret = AUTH_PASS;
	*ret_why = "";
	return 0;
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
dkim_sig_hasher_init(struct dkim_sig_hasher *h, enum canon_alg hc)
{
	h->hc = hc;
	buf_init(&h->b, DKIM_SIG_FIELD_MAX);
	buf_init(&h->v, DKIM_SIG_FIELD_MAX);
	if ((h->md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	return EVP_DigestInit_ex(h->md, canon_sha256(), NULL) == 1 ? 0 : -EIO;
}

int
dkim_sig_hasher_add(struct dkim_sig_hasher *h, const struct msg_header *f)
{
	return hash_one(h->md, h->hc, f->name, f->name_len, f->value,
	    f->value_len, &h->b, false);
}

int
dkim_sig_hasher_digest(struct dkim_sig_hasher *h, const struct msg_header *sig,
    const char *b_value, size_t b_len, uint8_t *digest)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned dlen;
	int r;

	if (md == NULL)
		return -ENOMEM;
	r = EVP_MD_CTX_copy_ex(md, h->md) == 1 ? 0 : -EIO;
	if (r == 0) {
		/* the signature field last, without its final CRLF */
		buf_reset(&h->v);
		without_b(&h->v, sig->value, sig->value_len, b_value, b_len);
		r = buf_error(&h->v);
	}
	if (r == 0)
		r = hash_one(md, h->hc, sig->name, sig->name_len, h->v.data,
		    h->v.len, &h->b, true);
	if (r == 0 && (EVP_DigestFinal_ex(md, digest, &dlen) != 1 ||
	                  dlen != DKIM_DIGEST_LEN))
		r = -EIO;
	EVP_MD_CTX_free(md);
	return r;
}

void
dkim_sig_hasher_free(struct dkim_sig_hasher *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
	buf_free(&h->b);
	buf_free(&h->v);
}

int
dkim_sig_hash_fields(enum canon_alg hc, const struct msg_header *const *fields,
    size_t n, const struct msg_header *sig, const char *b_value, size_t b_len,
    uint8_t *digest)
{
	struct dkim_sig_hasher h;
	size_t k;
	int r;

	r = dkim_sig_hasher_init(&h, hc);
	for (k = 0; k < n && r == 0; k++)
		r = dkim_sig_hasher_add(&h, fields[k]);
	if (r == 0)
		r = dkim_sig_hasher_digest(&h, sig, b_value, b_len, digest);
	dkim_sig_hasher_free(&h);
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
	memset(w, 0, sizeof(*w));
	w->b = b;
	w->name = name;
	w->col = strlen(name) + 1;
}

void
dkim_sig_writer_flat(struct dkim_sig_writer *w, struct buf *b, const char *name)
{
	dkim_sig_writer_init(w, b, name);
	w->flat = true;
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

/* Flat: "; " before every tag but the first, which gets a space. */
static void
flat_add(struct dkim_sig_writer *w, const char *tag, const char *value)
{
	buf_adds(w->b, w->any ? "; " : " ");
	buf_adds(w->b, tag);
	buf_adds(w->b, value);
	w->any = true;
}

void
dkim_sig_write_tag(
    struct dkim_sig_writer *w, const char *tag, const char *value)
{
	if (w->flat)
		flat_add(w, tag, value);
	else
		fold_add(w, tag, value, strlen(value), ";", true);
}

void
dkim_sig_write_h(struct dkim_sig_writer *w, const char *h)
{
	const char *p = h, *colon;
	bool first = true;
	size_t n;

	if (w->flat) {
		flat_add(w, "h=", h);
		return;
	}
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
	if (w->flat)
		flat_add(w, "b=", "");
	else
		fold_add(w, "b=", "", 0, "", true);
	w->b_at = w->b->len;
	w->has_b = true;
}

void
dkim_sig_writer_field(const struct dkim_sig_writer *w, struct msg_header *ret)
{
	ret->name = w->name;
	ret->name_len = strlen(w->name);
	ret->value = buf_cstr(w->b);
	ret->value_len = w->b->len;
}

const char *
dkim_sig_writer_b(const struct dkim_sig_writer *w)
{
	if (!w->has_b)
		panic("dkim_sig_writer_b before dkim_sig_write_b");
	return buf_cstr(w->b) + w->b_at;
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

/* Insert s[0..n) at offset at of b (the flat b= value).
 * @return 0; -ENOMEM; b's error. */
static int
insert_at(struct buf *b, size_t at, const char *s, size_t n)
{
	size_t tail_len = b->len - at;
	char *tail = malloc(tail_len + 1);

	if (tail == NULL)
		return -ENOMEM;
	memcpy(tail, b->data + at, tail_len);
	buf_truncate(b, at);
	buf_add(b, s, n);
	buf_add(b, tail, tail_len);
	free(tail);
	return buf_error(b);
}

int
dkim_sig_write_signature(struct dkim_sig_writer *w,
    const struct dkim_privkey *k, const uint8_t *digest)
{
	uint8_t sig[DKIM_SIG_MAX];
	struct buf b64;
	size_t siglen;
	int r;

	if (!w->has_b)
		panic("dkim_sig_write_signature before dkim_sig_write_b");
	if ((r = dkim_privkey_sign(k, digest, sig, &siglen)) != 0)
		return r;
	buf_init(&b64, DKIM_SIG_MAX * 2);
	b64_encode(&b64, sig, siglen);
	r = buf_error(&b64);
	if (r == 0 && w->flat)
		r = insert_at(w->b, w->b_at, buf_cstr(&b64), b64.len);
	else if (r == 0)
		fold_b64(w, buf_cstr(&b64), b64.len);
	if (r == 0)
		r = buf_error(w->b);
	buf_free(&b64);
	return r;
}
