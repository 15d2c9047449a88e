/*
 * dkim_sign.c -- DKIM-Signature generation: header selection and
 * oversigning, the shared body streams, the header hash, folding.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/dns.h"
#include "authmilter/span.h"
#include "authmilter/tags.h"
#include "authmilter/xalloc.h"

/* Fold DKIM-Signature lines before this column (RFC 5322 section 2.1.1
 * recommends 78). */
#define DKIM_SIGN_FOLD 78
/* Room for one canonicalized field: twice the field bound (msg checks
 * the bound after turning bare LF into CRLF, but a field built any other
 * way may still grow by half), plus the colon, the CRLF and slack. */
#define DKIM_SIGN_FIELD_MAX (2 * BOUND_HEADER_FIELD_BYTES + 1024)
/* A DKIM-Signature we write: h= at most BOUND_SIGNED_HEADERS names of at
 * most a few dozen bytes, a 8192-bit b=, the rest small. */
#define DKIM_SIGN_VALUE_MAX 32768

/* RFC 6376 section 5.4.1: header fields that SHOULD be signed, plus the
 * ones that define how the body is read. */
static const char *const dkim_sign_defaults[] = {
	"From", "Reply-To", "Subject", "Date", "To", "Cc", "Resent-Date",
	"Resent-From", "Resent-Sender", "Resent-To", "Resent-Cc",
	"In-Reply-To", "References", "List-Id", "List-Help",
	"List-Unsubscribe", "List-Subscribe", "List-Post", "List-Owner",
	"List-Archive", "Message-ID", "MIME-Version", "Content-Type",
	"Content-Transfer-Encoding", NULL,
};

struct dkim_sign_one {
	struct dkim_signer cfg;
	struct canon_body *body;	/* shared with other signers */
	char *h;			/* the h= value, arena-owned */
};

struct dkim_sign {
	struct arena *arena;
	const struct msg *msg;
	struct dkim_sign_one *one;
	size_t n;
	struct canon_body *bodies[2];	/* one per body canonicalization */
	size_t n_bodies;
	bool finished;
};

void
dkim_signer_init(struct dkim_signer *s)
{
	memset(s, 0, sizeof(*s));
	s->header_canon = CANON_RELAXED;
	s->body_canon = CANON_SIMPLE;
}

const char *const *
dkim_sign_default_headers(void)
{
	return dkim_sign_defaults;
}

/* ---- helpers shared with dkim_verify ---- */

static bool
is_fws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int
dkim_sign_split_h(const char *h, size_t len, struct dkim_hname *names,
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
dkim_sign_canon_parse(const char *s, size_t n, enum canon_alg *ret_header,
    enum canon_alg *ret_body)
{
	const char *slash = memchr(s, '/', n);
	enum canon_alg hc, bc = CANON_SIMPLE;
	size_t hl = slash != NULL ? (size_t)(slash - s) : n;

	/* RFC 6376 section 3.5 c=: "header/body", body default simple */
	if (canon_alg_parse(s, hl, &hc) != 0)
		return -EINVAL;
	if (slash != NULL &&
	    canon_alg_parse(slash + 1, n - hl - 1, &bc) != 0)
		return -EINVAL;
	*ret_header = hc;
	*ret_body = bc;
	return 0;
}

int
dkim_sign_parse_uint(const char *s, size_t n, uint64_t *ret)
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

/* ---- the header hash (RFC 6376 section 3.7) ---- */

/* The field that the k-th name of h= selects: RFC 6376 section 5.4.2,
 * instances are taken from the bottom up, one more for each earlier
 * occurrence of the same name in h=. NULL when none is left. */
static const struct msg_header *
pick_field(const struct msg *m, const struct dkim_hname *names, size_t k)
{
	size_t skip = 0, j, i;

	for (j = 0; j < k; j++)
		if (names[j].len == names[k].len &&
		    strncasecmp(names[j].name, names[k].name,
			names[k].len) == 0)
			skip++;
	for (i = m->count; i-- > 0;) {
		if (!msg_header_is(&m->headers[i], names[k].name,
			names[k].len))
			continue;
		if (skip-- == 0)
			return &m->headers[i];
	}
	return NULL;
}

/* The signature value with the b= value and the whitespace around it
 * deleted (RFC 6376 section 3.7: "with the value of the b= tag
 * (including all surrounding whitespace) deleted"). */
static void
without_b(struct buf *out, const char *v, size_t vlen, const char *b,
    size_t blen)
{
	size_t start = (size_t)(b - v), end = start + blen;

	while (start > 0 && v[start - 1] != '=' && is_fws(v[start - 1]))
		start--;
	while (end < vlen && is_fws(v[end]))
		end++;
	buf_add(out, v, start);
	buf_add(out, v + end, vlen - end);
}

static int
hash_fields(EVP_MD_CTX *md, const struct msg *m, enum canon_alg hc,
    const struct dkim_hname *names, size_t n, struct buf *b)
{
	const struct msg_header *f;
	size_t k;

	for (k = 0; k < n; k++) {
		f = pick_field(m, names, k);
		if (f == NULL)
			continue;	/* the null string */
		buf_reset(b);
		canon_header(b, hc, f->name, f->name_len, f->value,
		    f->value_len);
		if (buf_error(b) != 0)
			return buf_error(b);
		if (EVP_DigestUpdate(md, b->data, b->len) != 1)
			return -EIO;
	}
	return 0;
}

int
dkim_sign_header_digest(const struct msg *m, enum canon_alg hc,
    const char *h, size_t h_len, const char *sig_name, size_t sig_name_len,
    const char *sig_value, size_t sig_value_len, const char *b_value,
    size_t b_len, uint8_t *digest)
{
	struct dkim_hname names[BOUND_SIGNED_HEADERS];
	struct buf b, v;
	EVP_MD_CTX *md;
	unsigned dlen;
	size_t n;
	int r;

	r = dkim_sign_split_h(h, h_len, names, BOUND_SIGNED_HEADERS, &n);
	if (r != 0)
		return r;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	buf_init(&b, DKIM_SIGN_FIELD_MAX);
	buf_init(&v, DKIM_SIGN_FIELD_MAX);
	r = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
	if (r == 0)
		r = hash_fields(md, m, hc, names, n, &b);
	if (r == 0) {
		/* the signature field last, without its final CRLF */
		without_b(&v, sig_value, sig_value_len, b_value, b_len);
		buf_reset(&b);
		canon_header(&b, hc, sig_name, sig_name_len, v.data, v.len);
		r = buf_error(&v) != 0 ? buf_error(&v) : buf_error(&b);
	}
	if (r == 0 && (EVP_DigestUpdate(md, b.data, b.len - 2) != 1 ||
			  EVP_DigestFinal_ex(md, digest, &dlen) != 1 ||
			  dlen != DKIM_DIGEST_LEN))
		r = -EIO;
	EVP_MD_CTX_free(md);
	buf_free(&b);
	buf_free(&v);
	return r;
}

/* ---- signer setup ---- */

/* RFC 6376 section 3.2 VALCHAR, without WSP: what may stand in a tag
 * value we write unquoted. */
static bool
valchars(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e ||
		    *s == ';')
			return false;
	return true;
}

static int
signer_check(const struct dkim_signer *s)
{
	const char *at;

	if (s->domain == NULL || s->selector == NULL || s->key == NULL)
		return -EINVAL;
	if (!dns_name_valid(s->domain) || !valchars(s->domain) ||
	    !dns_name_valid(s->selector) || !valchars(s->selector))
		return -EINVAL;
	if (s->header_canon > CANON_RELAXED || s->body_canon > CANON_RELAXED)
		return -EINVAL;
	if (s->identity == NULL)
		return 0;
	/* RFC 6376 section 3.5 i=: [local-part] "@" domain, d= or below */
	at = strrchr(s->identity, '@');
	if (at == NULL || !valchars(s->identity) ||
	    !span_in_domain(at + 1, strlen(at + 1), s->domain))
		return -EINVAL;
	return 0;
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

static bool
oversigned(const struct dkim_signer *s, const char *name)
{
	return strcasecmp(name, "From") == 0 ||
	    name_in(name, s->oversign, s->n_oversign);
}

/* Add name to h= as often as the message has it, once more if it is
 * oversigned. */
static void
add_h_name(struct buf *h, const struct msg *m, const struct dkim_signer *s,
    const char *name, size_t *count)
{
	size_t times = msg_count(m, name) + (oversigned(s, name) ? 1 : 0);

	*count += times;
	while (times-- > 0) {
		if (h->len > 0)
			buf_addc(h, ':');
		buf_adds(h, name);
	}
}

/* The h= value for one signer: From first, the configured names in
 * order, then oversigned names not listed. */
static int
build_h(struct arena *a, const struct msg *m, const struct dkim_signer *s,
    char **ret)
{
	const char *const *list = s->headers;
	size_t n = s->n_headers, i, count = 0;
	struct buf h;

	if (list == NULL) {
		list = dkim_sign_defaults;
		for (n = 0; list[n] != NULL; n++)
			;
	}
	buf_init(&h, DKIM_SIGN_VALUE_MAX);
	/* RFC 6376 section 5.4: From MUST be signed */
	add_h_name(&h, m, s, "From", &count);
	for (i = 0; i < n; i++)
		if (strcasecmp(list[i], "From") != 0 &&
		    !name_in(list[i], list, i))
			add_h_name(&h, m, s, list[i], &count);
	for (i = 0; i < s->n_oversign; i++)
		if (!name_in(s->oversign[i], list, n) &&
		    !name_in(s->oversign[i], s->oversign, i) &&
		    strcasecmp(s->oversign[i], "From") != 0)
			add_h_name(&h, m, s, s->oversign[i], &count);
	if (buf_error(&h) != 0 || count > BOUND_SIGNED_HEADERS) {
		buf_free(&h);
		return count > BOUND_SIGNED_HEADERS ? -E2BIG : -ENOMEM;
	}
	*ret = arena_memdup(a, h.data, h.len);
	buf_free(&h);
	return *ret == NULL ? -ENOMEM : 0;
}

static int
body_for(struct dkim_sign *ds, enum canon_alg bc, struct canon_body **ret)
{
	size_t i;
	int r;

	for (i = 0; i < ds->n_bodies; i++)
		if (canon_body_matches(ds->bodies[i], bc, CANON_SHA256, -1)) {
			*ret = ds->bodies[i];
			return 0;
		}
	if (ds->n_bodies == sizeof(ds->bodies) / sizeof(ds->bodies[0]))
		panic("dkim_sign: more body canonicalizations than exist");
	r = canon_body_new(ds->arena, bc, CANON_SHA256, -1, ret);
	if (r == 0)
		ds->bodies[ds->n_bodies++] = *ret;
	return r;
}

int
dkim_sign_begin(struct arena *a, const struct msg *m,
    const struct dkim_signer *signers, size_t n, struct dkim_sign **ret)
{
	struct dkim_sign *ds;
	size_t i;
	int r;

	if (n == 0 || n > BOUND_DKIM_SIGNATURES)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if ((r = signer_check(&signers[i])) != 0)
			return r;
	ds = arena_zalloc(a, sizeof(*ds));
	if (ds == NULL ||
	    (ds->one = arena_zalloc(a, n * sizeof(*ds->one))) == NULL)
		return -ENOMEM;
	ds->arena = a;
	ds->msg = m;
	ds->n = n;
	for (i = 0; i < n; i++) {
		ds->one[i].cfg = signers[i];
		r = build_h(a, m, &signers[i], &ds->one[i].h);
		if (r == 0)
			r = body_for(ds, signers[i].body_canon,
			    &ds->one[i].body);
		if (r != 0)
			return r;
	}
	*ret = ds;
	return 0;
}

int
dkim_sign_body(struct dkim_sign *s, const char *chunk, size_t len)
{
	size_t i;
	int r;

	for (i = 0; i < s->n_bodies; i++)
		if ((r = canon_body_update(s->bodies[i], chunk, len)) != 0)
			return r;
	return 0;
}

size_t
dkim_sign_body_streams(const struct dkim_sign *s)
{
	return s->n_bodies;
}

/* ---- writing the field ---- */

/* A folding writer: col is the column the next byte lands in. */
struct fold {
	struct buf *b;
	size_t col;
};

/* Append the token pre s[0..n) post, after a space (space) or directly,
 * folding first with CRLF TAB when it would pass the fold column. */
static void
fold_add(struct fold *f, const char *pre, const char *s, size_t n,
    const char *post, bool space)
{
	size_t len = strlen(pre) + n + strlen(post);

	if (f->col + len + (space ? 1 : 0) > DKIM_SIGN_FOLD && f->col > 8) {
		buf_add(f->b, "\r\n\t", 3);
		f->col = 8;
	} else if (space) {
		buf_addc(f->b, ' ');
		f->col++;
	}
	buf_adds(f->b, pre);
	buf_add(f->b, s, n);
	buf_adds(f->b, post);
	f->col += len;
}

/* One "name=value;" tag. */
static void
fold_tag(struct fold *f, const char *pre, const char *v)
{
	fold_add(f, pre, v, strlen(v), ";", true);
}

/* h= split into name pieces that may fold after a ':' (RFC 6376 section
 * 3.5: FWS is allowed around the colons). */
static void
fold_h(struct fold *f, const char *h)
{
	const char *p = h, *colon;
	bool first = true;
	size_t n;

	while (*p != '\0') {
		colon = strchr(p, ':');
		n = colon != NULL ? (size_t)(colon - p) + 1 : strlen(p);
		fold_add(f, first ? "h=" : "", p, n, colon == NULL ? ";" : "",
		    first);
		first = false;
		p += n;
	}
}

/* b= data in pieces that fill each line (FWS allowed in base64string). */
static void
fold_b64(struct fold *f, const char *s, size_t n)
{
	size_t room, k;

	while (n > 0) {
		if (f->col >= DKIM_SIGN_FOLD) {
			buf_add(f->b, "\r\n\t", 3);
			f->col = 8;
		}
		room = DKIM_SIGN_FOLD - f->col;
		k = n < room ? n : room;
		buf_add(f->b, s, k);
		f->col += k;
		s += k;
		n -= k;
	}
}

/* Everything up to and including "b=" (tags v, a, c, d, i, s, t, x, h,
 * bh, b in this order). */
static void
write_tags(struct fold *f, const struct dkim_sign_one *o, int64_t now,
    const char *bh)
{
	const struct dkim_signer *c = &o->cfg;
	char num[32], canon[32];

	fold_tag(f, "v=", "1");
	fold_tag(f, "a=", dkim_alg_name(dkim_privkey_alg(c->key)));
	snprintf(canon, sizeof(canon), "%s/%s",
	    canon_alg_name(c->header_canon), canon_alg_name(c->body_canon));
	fold_tag(f, "c=", canon);
	fold_tag(f, "d=", c->domain);
	if (c->identity != NULL)
		fold_tag(f, "i=", c->identity);
	fold_tag(f, "s=", c->selector);
	snprintf(num, sizeof(num), "%" PRId64, now);
	fold_tag(f, "t=", num);
	if (c->expire > 0) {
		snprintf(num, sizeof(num), "%" PRIu64,
		    (uint64_t)now + c->expire);
		fold_tag(f, "x=", num);
	}
	fold_h(f, o->h);
	fold_tag(f, "bh=", bh);
	fold_add(f, "b=", "", 0, "", true);
}

/* Hash the headers, sign, append the folded b= data. */
static int
sign_one(struct dkim_sign *ds, const struct dkim_sign_one *o,
    struct fold *f)
{
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	struct buf b64;
	size_t siglen;
	int r;

	/* RFC 6376 section 3.7: the field as it will be inserted, b= empty */
	r = dkim_sign_header_digest(ds->msg, o->cfg.header_canon, o->h,
	    strlen(o->h), "DKIM-Signature", 14, f->b->data, f->b->len,
	    f->b->data + f->b->len, 0, digest);
	if (r == 0)
		r = dkim_privkey_sign(o->cfg.key, digest, sig, &siglen);
	if (r != 0)
		return r;
	buf_init(&b64, DKIM_SIG_MAX * 2);
	b64_encode(&b64, sig, siglen);
	fold_b64(f, b64.data, b64.len);
	r = buf_error(&b64);
	buf_free(&b64);
	return r;
}

int
dkim_sign_finish(struct dkim_sign *s, int64_t now, const char **ret_values)
{
	uint8_t bh[CANON_DIGEST_MAX];
	char bh64[2][CANON_DIGEST_MAX * 2];
	struct buf v, e;
	struct fold f;
	size_t i, j, len;
	int r = 0;

	if (s->finished)
		panic("dkim_sign_finish called twice");
	s->finished = true;
	for (j = 0; j < s->n_bodies; j++) {
		if ((r = canon_body_final(s->bodies[j], bh, &len)) != 0)
			return r;
		buf_init(&e, sizeof(bh64[j]) - 1);
		b64_encode(&e, bh, len);
		memcpy(bh64[j], buf_cstr(&e), e.len + 1);
		buf_free(&e);
	}
	buf_init(&v, DKIM_SIGN_VALUE_MAX);
	for (i = 0; i < s->n && r == 0; i++) {
		for (j = 0; s->bodies[j] != s->one[i].body; j++)
			;
		buf_reset(&v);
		f.b = &v;
		f.col = strlen("DKIM-Signature:");
		write_tags(&f, &s->one[i], now, bh64[j]);
		r = buf_error(&v);
		if (r == 0)
			r = sign_one(s, &s->one[i], &f);
		if (r == 0 && buf_error(&v) != 0)
			r = buf_error(&v);
		if (r == 0 && (ret_values[i] = arena_memdup(s->arena, v.data,
				   v.len)) == NULL)
			r = -ENOMEM;
	}
	buf_free(&v);
	return r;
}

/* ---- signing with a given tag list (tests, byte-exact vectors) ---- */

static int
template_body(struct arena *a, const struct tag_list *l, enum canon_alg bc,
    const char *body, size_t body_len, const char **ret_bh)
{
	const struct tag *t = tags_find(l, "l");
	uint8_t bh[CANON_DIGEST_MAX];
	struct canon_body *cb;
	uint64_t limit = 0;
	struct buf e;
	size_t len;
	int r;

	if (t != NULL && dkim_sign_parse_uint(t->value, t->value_len,
			     &limit) != 0)
		return -EINVAL;
	r = canon_body_new(a, bc, CANON_SHA256, t != NULL ? (int64_t)limit :
							   -1, &cb);
	if (r == 0)
		r = canon_body_update(cb, body, body_len);
	if (r == 0)
		r = canon_body_final(cb, bh, &len);
	if (r != 0)
		return r;
	buf_init(&e, 256);
	b64_encode(&e, bh, len);
	*ret_bh = arena_memdup(a, e.data, e.len);
	buf_free(&e);
	return *ret_bh == NULL ? -ENOMEM : 0;
}

int
dkim_sign_template(struct arena *a, const struct msg *m,
    const struct dkim_privkey *key, const char *tmpl, size_t tmpl_len,
    const char *body, size_t body_len, const char **ret_b,
    const char **ret_bh)
{
	const struct tag *ta, *tc, *th, *tb;
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	enum canon_alg hc, bc;
	enum dkim_alg alg;
	struct tag_list l;
	const char *why, *bh;
	size_t where, siglen;
	struct buf e;
	int r;

	if (tags_parse(tmpl, tmpl_len, &l, &why, &where) != 0)
		return -EINVAL;
	ta = tags_find(&l, "a");
	tc = tags_find(&l, "c");
	th = tags_find(&l, "h");
	tb = tags_find(&l, "b");
	if (ta == NULL || th == NULL || tb == NULL || tb->value_len != 0 ||
	    dkim_alg_parse(ta->value, ta->value_len, &alg) != 0 ||
	    alg != dkim_privkey_alg(key))
		return -EINVAL;
	hc = bc = CANON_SIMPLE;
	if (tc != NULL && dkim_sign_canon_parse(tc->value, tc->value_len, &hc,
			      &bc) != 0)
		return -EINVAL;
	r = template_body(a, &l, bc, body, body_len, &bh);
	if (r == 0)
		r = dkim_sign_header_digest(m, hc, th->value, th->value_len,
		    "DKIM-Signature", 14, tmpl, tmpl_len, tb->value, 0,
		    digest);
	if (r == 0)
		r = dkim_privkey_sign(key, digest, sig, &siglen);
	if (r != 0)
		return r;
	buf_init(&e, DKIM_SIG_MAX * 2);
	b64_encode(&e, sig, siglen);
	*ret_b = arena_memdup(a, e.data, e.len);
	buf_free(&e);
	if (*ret_b == NULL)
		return -ENOMEM;
	*ret_bh = bh;
	return 0;
}
