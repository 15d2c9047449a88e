/*
 * dkim_sign.c -- DKIM-Signature generation: signer checks, one h= per
 * signer, the tags in order, the b= signature; the machinery (header
 * selection, hashing, body streams, folding) is dkim_sig's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/dns.h"
#include "authmilter/span.h"
#include "authmilter/tags.h"
#include "authmilter/xalloc.h"

/* A DKIM-Signature we write: h= at most BOUND_SIGNED_HEADERS names of at
 * most a few dozen bytes, a 8192-bit b=, the rest small. */
#define DKIM_SIGN_VALUE_MAX 32768

struct dkim_sign_one {
	struct dkim_signer cfg;
	struct dkim_sig_body *body; /* shared with other signers */
	char *h;                    /* the h= value, arena-owned */
};

struct dkim_sign {
	struct arena *arena;
	const struct msg *msg;
	struct dkim_sign_one *one;
	size_t n;
	struct dkim_sig_bodies *bodies; /* one per body canonicalization */
	bool finished;
};

void
dkim_signer_init(struct dkim_signer *s)
{
	memset(s, 0, sizeof(*s));
	s->header_canon = CANON_RELAXED;
	s->body_canon = CANON_SIMPLE;
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
	if ((r = dkim_sig_bodies_new(a, &ds->bodies)) != 0)
		return r;
	for (i = 0; i < n; i++) {
		const struct dkim_signer *sg = &signers[i];

		ds->one[i].cfg = *sg;
		r = dkim_sig_build_h(a, m, sg->headers, sg->n_headers,
		    sg->oversign, sg->n_oversign, &ds->one[i].h);
		if (r == 0)
			r = dkim_sig_body_for(ds->bodies, sg->body_canon,
			    CANON_SHA256, -1, &ds->one[i].body);
		if (r != 0)
			return r;
	}
	*ret = ds;
	return 0;
}

int
dkim_sign_body(struct dkim_sign *s, const char *chunk, size_t len)
{
	return dkim_sig_bodies_update(s->bodies, chunk, len);
}

size_t
dkim_sign_body_streams(const struct dkim_sign *s)
{
	return dkim_sig_bodies_count(s->bodies);
}

/* ---- writing the field ---- */

/* Everything up to and including "b=" (tags v, a, c, d, i, s, t, x, h,
 * bh, b in this order). */
static void
write_tags(struct dkim_sig_writer *w, const struct dkim_sign_one *o,
    int64_t now, const char *bh)
{
	const struct dkim_signer *c = &o->cfg;
	char num[32], canon[32];

	dkim_sig_write_tag(w, "v=", "1");
	dkim_sig_write_tag(w, "a=", dkim_alg_name(dkim_privkey_alg(c->key)));
	snprintf(canon, sizeof(canon), "%s/%s", canon_alg_name(c->header_canon),
	    canon_alg_name(c->body_canon));
	dkim_sig_write_tag(w, "c=", canon);
	dkim_sig_write_tag(w, "d=", c->domain);
	if (c->identity != NULL)
		dkim_sig_write_tag(w, "i=", c->identity);
	dkim_sig_write_tag(w, "s=", c->selector);
	snprintf(num, sizeof(num), "%" PRId64, now);
	dkim_sig_write_tag(w, "t=", num);
	if (c->expire > 0) {
		snprintf(
		    num, sizeof(num), "%" PRIu64, (uint64_t)now + c->expire);
		dkim_sig_write_tag(w, "x=", num);
	}
	dkim_sig_write_h(w, o->h);
	dkim_sig_write_tag(w, "bh=", bh);
	dkim_sig_write_b(w);
}

/* One signature value into v: the tags, then the b= that signs them. */
static int
sign_one(struct dkim_sign *ds, const struct dkim_sign_one *o, int64_t now,
    struct buf *v)
{
	uint8_t digest[DKIM_DIGEST_LEN];
	const uint8_t *bh;
	struct dkim_sig_writer w;
	struct msg_header field;
	struct buf e;
	size_t len;
	int r;

	bh = dkim_sig_body_hash(o->body, &len);
	buf_init(&e, CANON_DIGEST_MAX * 2);
	b64_encode(&e, bh, len);
	dkim_sig_writer_init(&w, v, "DKIM-Signature");
	write_tags(&w, o, now, buf_cstr(&e));
	r = buf_error(&e) != 0 ? buf_error(&e) : buf_error(v);
	buf_free(&e);
	if (r != 0)
		return r;
	/* RFC 6376 section 3.7: the field as it will be inserted, b= empty */
	dkim_sig_writer_field(&w, &field);
	r = dkim_sig_hash_header(ds->msg, o->cfg.header_canon, o->h,
	    strlen(o->h), &field, field.value + field.value_len, 0, digest);
	if (r == 0)
		r = dkim_sig_write_signature(&w, o->cfg.key, digest);
	return r;
}

int
dkim_sign_finish(struct dkim_sign *s, int64_t now, const char **ret_values)
{
	struct buf v;
	size_t i;
	int r;

	if (s->finished)
		panic("dkim_sign_finish called twice");
	s->finished = true;
	if ((r = dkim_sig_bodies_final(s->bodies)) != 0)
		return r;
	buf_init(&v, DKIM_SIGN_VALUE_MAX);
	for (i = 0; i < s->n && r == 0; i++) {
		buf_reset(&v);
		r = sign_one(s, &s->one[i], now, &v);
		if (r == 0 && (ret_values[i] = arena_memdup(
		                   s->arena, v.data, v.len)) == NULL)
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

	if (t != NULL &&
	    dkim_sig_parse_uint(t->value, t->value_len, &limit) != 0)
		return -EINVAL;
	r = canon_body_new(
	    a, bc, CANON_SHA256, t != NULL ? (int64_t)limit : -1, &cb);
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
    const char *body, size_t body_len, const char **ret_b, const char **ret_bh)
{
	const struct tag *ta, *tc, *th, *tb;
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	enum canon_alg hc, bc;
	enum dkim_alg alg;
	struct msg_header field;
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
	if (tc != NULL &&
	    dkim_sig_parse_canon(tc->value, tc->value_len, &hc, &bc) != 0)
		return -EINVAL;
	r = template_body(a, &l, bc, body, body_len, &bh);
	field.name = "DKIM-Signature";
	field.name_len = 14;
	field.value = tmpl;
	field.value_len = tmpl_len;
	if (r == 0)
		r = dkim_sig_hash_header(m, hc, th->value, th->value_len,
		    &field, tb->value, 0, digest);
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
