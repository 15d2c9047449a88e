/*
 * dkim_verify.c -- verifying the DKIM-Signatures of one message: parsing
 * each signature through a table of per-tag functions, one key lookup per
 * (s, d), one body stream per (canon, hash, l=), then the checks of RFC
 * 6376 section 6.1 in order.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/canon.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/dkim_verify.h"
#include "authmilter/span.h"
#include "authmilter/tags.h"
#include "authmilter/xalloc.h"

/* One key record, fetched once for every signature naming it. */
struct dkim_vkey {
	const char *selector, *domain; /* arena-owned */
	struct dkim_key_lookup look;   /* the key, or why not */
};

/* One signature being verified. */
struct dkim_vsig {
	struct dkim_verify_result *res;
	bool decided; /* res is final (parse error...) */
	const struct msg_header *field;
	struct tag_list tags;
	enum dkim_alg alg;
	enum canon_alg hc, bc;
	int64_t limit; /* l=, or -1 */
	uint64_t t, x;
	bool has_t, has_x;
	const char *i_domain;         /* domain part of i= */
	uint8_t bh[CANON_DIGEST_MAX]; /* bh= as signed */
	size_t bh_len;
	uint8_t sig[DKIM_SIG_MAX];
	size_t sig_len;
	uint8_t digest[DKIM_DIGEST_LEN];
	struct dkim_sig_body *body; /* shared by (canon, hash, l=) */
	struct dkim_vkey *key;
};

struct dkim_verify {
	struct arena *arena;
	const struct msg *msg;
	struct dkim_verify_options opt;
	struct dkim_verify_result *results; /* every signature */
	size_t n_results;
	struct dkim_vsig *sigs; /* the evaluated ones */
	size_t n_sigs;
	struct dkim_sig_bodies *bodies; /* opt.bodies, or our own */
	struct dkim_vkey *keys;
	size_t n_keys;
	bool finished;
	bool nomem; /* an allocation failed while parsing */
};

/* ---- small helpers ---- */

/* A tag value as a string in the arena; NULL (and v->nomem) on ENOMEM. */
static const char *
tag_dup(struct dkim_verify *v, const struct tag *t)
{
	const char *p = arena_memdup(v->arena, t->value, t->value_len);

	if (p == NULL)
		v->nomem = true;
	return p;
}

/* ---- per-tag parsers: NULL, or the permerror reason ---- */

typedef const char *dkim_tag_fn(
    struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t);

static const char *
tag_v(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	/* RFC 6376 section 3.5: v=1; section 6.1.1: other versions are
	 * PERMFAIL (incompatible version) */
	return span_eq(t->value, t->value_len, "1") ? NULL : "v= not 1";
}

/* a= is kept (for header.a) only when it is a known algorithm name. */
static const char *
tag_a(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	/* RFC 8301 section 3.1: rsa-sha1 MUST NOT be used for verifying */
	if (span_eq(t->value, t->value_len, "rsa-sha1")) {
		s->res->algorithm = tag_dup(v, t);
		return "rsa-sha1 not accepted (RFC 8301)";
	}
	if (dkim_alg_parse(t->value, t->value_len, &s->alg) != 0)
		return "unknown algorithm";
	s->res->algorithm = tag_dup(v, t);
	return NULL;
}

static const char *
tag_b(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	char prefix[9];
	size_t i, n = 0;
	int r;

	/* RFC 6008 section 4: header.b carries the first 8 characters;
	 * only base64 ones, up to the first other non-FWS byte */
	for (i = 0; i < t->value_len && n < 8; i++) {
		if (b64_char((unsigned char)t->value[i]))
			prefix[n++] = t->value[i];
		else if (t->value[i] != ' ' && t->value[i] != '\t' &&
		         t->value[i] != '\r' && t->value[i] != '\n')
			break;
	}
	if ((s->res->b_prefix = arena_memdup(v->arena, prefix, n)) == NULL)
		v->nomem = true;
	r = b64_decode(t->value, t->value_len, B64_FWS, s->sig, sizeof(s->sig),
	    &s->sig_len);
	/* base64 that does not fit: too long, not bad (a signature is at
	 * most BOUND_RSA_MAX_BITS / 8 bytes) */
	if (r == -ERANGE)
		return "b= too long";
	if (r != 0 || s->sig_len == 0)
		return "bad base64 in b=";
	return NULL;
}

static const char *
tag_bh(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	int r = b64_decode(
	    t->value, t->value_len, B64_FWS, s->bh, sizeof(s->bh), &s->bh_len);

	if (r == -ERANGE)
		return "bh= too long";
	return r != 0 ? "bad base64 in bh=" : NULL;
}

static const char *
tag_c(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	if (dkim_sig_parse_canon(t->value, t->value_len, &s->hc, &s->bc) != 0)
		return "bad c=";
	return NULL;
}

/* "bad X=: problem" in the arena. */
static const char *
bad_tag(struct dkim_verify *v, const char *tag, const char *problem)
{
	size_t len = strlen(tag) + strlen(problem) + 10;
	char *p = arena_alloc(v->arena, len);

	if (p == NULL) {
		v->nomem = true;
		return "out of memory";
	}
	snprintf(p, len, "bad %s=: %s", tag, problem);
	return p;
}

static const char *
tag_d(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	const char *why = dkim_sig_name_problem(t->value, t->value_len);

	if (why != NULL)
		return bad_tag(v, "d", why);
	s->res->domain = tag_dup(v, t);
	return s->res->domain == NULL ? "out of memory" : NULL;
}

static const char *
tag_h(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	struct dkim_hname names[BOUND_SIGNED_HEADERS];
	size_t n, i;
	int r;

	r = dkim_sig_split_h(
	    t->value, t->value_len, names, BOUND_SIGNED_HEADERS, &n);
	if (r == -E2BIG)
		return "h= lists too many header fields";
	if (r != 0)
		return "bad h=";
	/* how many From fields the signature covers (for DMARC) */
	for (i = 0; i < n; i++)
		if (span_eq(names[i].name, names[i].len, "From"))
			s->res->h_from++;
	/* RFC 6376 section 6.1.1: From MUST be signed */
	return s->res->h_from > 0 ? NULL : "h= does not include From";
}

static const char *
tag_l(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	uint64_t l;

	if (dkim_sig_parse_uint(t->value, t->value_len, &l) != 0)
		return "bad l=";
	s->limit = (int64_t)l;
	return NULL;
}

static const char *
tag_q(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	/* RFC 6376 section 3.5: dns/txt is the only query method */
	return span_list_has(t->value, t->value_len, "dns/txt") ? NULL
	                                                        : "unknown q=";
}

static const char *
tag_s(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	const char *why = dkim_sig_name_problem(t->value, t->value_len);

	if (why != NULL)
		return bad_tag(v, "s", why);
	s->res->selector = tag_dup(v, t);
	return s->res->selector == NULL ? "out of memory" : NULL;
}

static const char *
tag_t(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	s->has_t = true;
	return dkim_sig_parse_uint(t->value, t->value_len, &s->t) == 0
	           ? NULL
	           : "bad t=";
}

static const char *
tag_x(struct dkim_verify *v, struct dkim_vsig *s, const struct tag *t)
{
	s->has_x = true;
	return dkim_sig_parse_uint(t->value, t->value_len, &s->x) == 0
	           ? NULL
	           : "bad x=";
}

/* The tags of RFC 6376 section 3.5, in the order they are checked (d=
 * before i=, which is checked against it). */
static const struct {
	const char *name;
	const char *missing; /* reason when absent; NULL: optional */
	dkim_tag_fn *fn;
} dkim_tags[] = {
    {"v", "missing v= tag", tag_v},
    {"a", "missing a= tag", tag_a},
    {"b", "missing b= tag", tag_b},
    {"bh", "missing bh= tag", tag_bh},
    {"c", NULL, tag_c},
    {"d", "missing d= tag", tag_d},
    {"h", "missing h= tag", tag_h},
    {"l", NULL, tag_l},
    {"q", NULL, tag_q},
    {"s", "missing s= tag", tag_s},
    {"t", NULL, tag_t},
    {"x", NULL, tag_x},
};

/* What is wrong with the local part of i= (n bytes), or NULL: RFC 5322
 * section 3.2.3 atext and '.' (a dot-atom, which also covers the '='
 * of dkim-quoted-printable), at most BOUND_LOCAL_PART_LEN bytes. */
static const char *
local_problem(const char *s, size_t n)
{
	size_t i;

	if (n > BOUND_LOCAL_PART_LEN)
		return "local part longer than 64 bytes";
	for (i = 0; i < n; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= 'A' && s[i] <= 'Z') &&
		    !(s[i] >= '0' && s[i] <= '9') &&
		    (s[i] == '\0' ||
		        strchr("!#$%&'*+-/=?^_`{|}~.", s[i]) == NULL))
			return "character not allowed";
	return NULL;
}

/* i=, after d= (RFC 6376 section 3.5: default "@" d=; the domain MUST be
 * d= or a subdomain of it). */
static const char *
tag_i(struct dkim_verify *v, struct dkim_vsig *s)
{
	const struct tag *t = tags_find(&s->tags, "i");
	const char *d = s->res->domain, *at, *why;
	size_t dl = strlen(d), local;
	char *p;

	if (t == NULL) {
		if ((p = arena_alloc(v->arena, dl + 2)) == NULL) {
			v->nomem = true;
			return "out of memory";
		}
		p[0] = '@';
		memcpy(p + 1, d, dl + 1);
		s->res->identity = p;
		s->i_domain = p + 1;
		return NULL;
	}
	/* RFC 6376 section 3.5 i=: [ Local-part ] "@" domain-name */
	if ((at = memchr(t->value, '@', t->value_len)) == NULL)
		return bad_tag(v, "i", "no @");
	local = (size_t)(at - t->value);
	if ((why = local_problem(t->value, local)) != NULL ||
	    (why = dkim_sig_name_problem(at + 1, t->value_len - local - 1)) !=
	        NULL)
		return bad_tag(v, "i", why);
	if (!span_in_domain(at + 1, t->value_len - local - 1, d))
		return "i= not within d=";
	if ((s->res->identity = tag_dup(v, t)) == NULL)
		return "out of memory";
	s->i_domain = s->res->identity + local + 1;
	return NULL;
}

/* Parse one signature field into s. NULL, or the permerror reason. */
static const char *
parse_sig(struct dkim_verify *v, struct dkim_vsig *s)
{
	const struct tag *t;
	const char *why;
	size_t where, k;

	if (tags_parse(s->field->value, s->field->value_len, &s->tags, &why,
	        &where) != 0)
		/* RFC 6376 section 6.1.1: PERMFAIL (signature syntax) */
		return why != NULL && strcmp(why, "duplicate tag") == 0
		           ? "duplicate tag"
		           : "bad signature syntax";
	s->hc = s->bc = CANON_SIMPLE;
	s->limit = -1;
	for (k = 0; k < sizeof(dkim_tags) / sizeof(dkim_tags[0]); k++) {
		t = tags_find(&s->tags, dkim_tags[k].name);
		/* RFC 6376 section 6.1.1: a required tag missing is
		 * PERMFAIL (signature missing required tag) */
		if (t == NULL && dkim_tags[k].missing != NULL)
			return dkim_tags[k].missing;
		if (t != NULL && (why = dkim_tags[k].fn(v, s, t)) != NULL)
			return why;
	}
	if ((why = tag_i(v, s)) != NULL)
		return why;
	/* RFC 6376 section 3.5 x=: MUST be greater than t= */
	if (s->has_t && s->has_x && s->x <= s->t)
		return "x= not after t=";
	return NULL;
}

/* text in the arena; "out of memory" (and v->nomem) when it cannot be. */
static const char *
reason_dup(struct dkim_verify *v, const char *text)
{
	const char *p = arena_strdup(v->arena, text);

	if (p == NULL) {
		v->nomem = true;
		return "out of memory";
	}
	return p;
}

/* The key entry for (s, d), fetched on first use. */
static int
key_for(struct dkim_verify *v, struct dkim_vsig *s)
{
	struct dkim_vkey *k;
	size_t i;

	for (i = 0; i < v->n_keys; i++) {
		k = &v->keys[i];
		if (strcasecmp(k->selector, s->res->selector) == 0 &&
		    strcasecmp(k->domain, s->res->domain) == 0) {
			s->key = k;
			return 0;
		}
	}
	k = &v->keys[v->n_keys++];
	k->selector = s->res->selector;
	k->domain = s->res->domain;
	s->key = k;
	return dkim_key_cache_lookup(v->opt.key_cache, v->opt.resolver,
	    v->opt.min_rsa_bits, k->selector, k->domain, v->arena, &k->look);
}

static void
decide(struct dkim_vsig *s, enum auth_result r, const char *reason)
{
	s->res->result = r;
	s->res->reason = reason;
	s->decided = true;
}

/* Everything that can be done before the body: parse, header hash, key.
 * @return 0 or -ENOMEM/-EIO. */
static int
prepare_sig(struct dkim_verify *v, struct dkim_vsig *s)
{
	const struct tag *th, *tb;
	const char *why;
	int r;

	if ((why = parse_sig(v, s)) != NULL) {
		decide(s, AUTH_PERMERROR, why);
		return v->nomem ? -ENOMEM : 0;
	}
	th = tags_find(&s->tags, "h");
	tb = tags_find(&s->tags, "b");
	/* RFC 6376 section 3.7 and 6.1.3: the header hash */
	r = dkim_sig_hash_header(v->msg, s->hc, th->value, th->value_len,
	    s->field, tb->value, tb->value_len, s->digest);
	if (r == -ENOMEM || r == -EIO)
		return r;
	if (r != 0) {
		/* message content (a field too large to hash): this
		 * signature cannot be verified, the others still can */
		decide(s, AUTH_PERMERROR,
		    r == -EINVAL ? "bad h=" : "signed header too large");
		return 0;
	}
	r = dkim_sig_body_for(
	    v->bodies, s->bc, CANON_SHA256, s->limit, &s->body);
	if (r == 0)
		r = key_for(v, s);
	return r;
}

/* A signature past the limit: named (by the d=, s= and a= that
 * validate, as in an evaluated one), not evaluated. */
static void
skip_sig(struct dkim_verify *v, struct dkim_verify_result *res,
    const struct msg_header *f)
{
	static dkim_tag_fn *const named[] = {tag_a, tag_d, tag_s};
	static const char *const names[] = {"a", "d", "s"};
	struct dkim_vsig s;
	const struct tag *t;
	const char *why;
	size_t where, k;

	res->result = AUTH_NONE;
	res->reason = "not evaluated (limit)";
	memset(&s, 0, sizeof(s));
	s.res = res;
	if (tags_parse(f->value, f->value_len, &s.tags, &why, &where) != 0)
		return;
	for (k = 0; k < sizeof(named) / sizeof(named[0]); k++)
		if ((t = tags_find(&s.tags, names[k])) != NULL)
			(void)named[k](v, &s, t);
}

static int
verify_alloc(struct arena *a, const struct msg *m,
    const struct dkim_verify_options *opt, struct dkim_verify **ret)
{
	struct dkim_verify *v = arena_zalloc(a, sizeof(*v));
	size_t total, max;

	if (v == NULL)
		return -ENOMEM;
	v->arena = a;
	v->msg = m;
	v->opt = *opt;
	if (v->opt.max_signatures == 0)
		v->opt.max_signatures = BOUND_DKIM_SIGNATURES;
	total = msg_count(m, "DKIM-Signature");
	max = total < v->opt.max_signatures ? total : v->opt.max_signatures;
	v->results = arena_zalloc(a, (total + 1) * sizeof(*v->results));
	v->sigs = arena_zalloc(a, (max + 1) * sizeof(*v->sigs));
	v->keys = arena_zalloc(a, (max + 1) * sizeof(*v->keys));
	if (v->results == NULL || v->sigs == NULL || v->keys == NULL)
		return -ENOMEM;
	v->bodies = opt->bodies;
	if (v->bodies == NULL && dkim_sig_bodies_new(a, &v->bodies) != 0)
		return -ENOMEM;
	*ret = v;
	return 0;
}

int
dkim_verify_begin(struct arena *a, const struct msg *m,
    const struct dkim_verify_options *opt, struct dkim_verify **ret)
{
	struct dkim_verify *v;
	struct dkim_verify_result *res;
	struct dkim_vsig *s;
	size_t i;
	int r;

	if (opt == NULL || opt->resolver == NULL)
		return -EINVAL;
	if ((r = verify_alloc(a, m, opt, &v)) != 0)
		return r;
	for (i = 0; i < m->count; i++) {
		if (!msg_header_is(&m->headers[i], "DKIM-Signature", 14))
			continue;
		res = &v->results[v->n_results++];
		res->header_index = i;
		res->reason = "";
		if (v->n_sigs == v->opt.max_signatures) {
			skip_sig(v, res, &m->headers[i]);
			continue;
		}
		s = &v->sigs[v->n_sigs++];
		s->res = res;
		s->field = &m->headers[i];
		if ((r = prepare_sig(v, s)) != 0)
			return r;
	}
	if (v->nomem)
		return -ENOMEM;
	*ret = v;
	return 0;
}

int
dkim_verify_body(struct dkim_verify *v, const char *chunk, size_t len)
{
	return dkim_sig_bodies_update(v->bodies, chunk, len);
}

size_t
dkim_verify_body_streams(const struct dkim_verify *v)
{
	return dkim_sig_bodies_count(v->bodies);
}

/* The key-dependent checks of RFC 6376 section 6.1.2. NULL or the
 * permerror reason. */
static const char *
check_key(const struct dkim_vsig *s)
{
	const struct dkim_pubkey *k = s->key->look.key;

	/* RFC 6376 section 3.6.1 k= / RFC 8463 section 4.1: the key type
	 * must be the one a= names */
	if (dkim_alg_key_type(s->alg) != k->type)
		return "key type does not match a=";
	/* RFC 6376 section 3.6.1 t=s: i= domain must equal d= exactly */
	if (k->strict && strcasecmp(s->i_domain, s->res->domain) != 0)
		return "t=s key with i= subdomain";
	return NULL;
}

/* The l= verdict of a signature that verified: policy when content was
 * left unsigned (RFC 6376 section 8.2), unless told otherwise. */
static void
check_length(struct dkim_verify *v, struct dkim_vsig *s, uint64_t blen)
{
	char text[64];

	if (s->limit < 0 || (uint64_t)s->limit == blen ||
	    v->opt.allow_partial_body) {
		decide(s, AUTH_PASS, "");
		return;
	}
	snprintf(text, sizeof(text), "l= leaves %llu body bytes unsigned",
	    (unsigned long long)(blen - (uint64_t)s->limit));
	decide(s, AUTH_POLICY, reason_dup(v, text));
}

/* Decide one signature after the body. @return 0 or -ENOMEM/-EIO. */
static int
check_sig(struct dkim_verify *v, struct dkim_vsig *s, int64_t now)
{
	const struct dkim_key_lookup *look;
	const uint8_t *body_hash;
	const char *why;
	uint64_t blen;
	size_t len;
	int r;

	if (s->decided)
		return 0;
	look = &s->key->look;	/* decided ones may have no key entry */
	if (look->key != NULL) {
		s->res->key_bits = look->key->bits;
		s->res->testing = look->key->testing;
	}
	/* RFC 6376 section 6.1.1: PERMFAIL (signature expired); a failed
	 * verification (RFC 8601 section 2.7.1 fail), not a syntax error */
	if (s->has_x && now >= 0 && (uint64_t)now > s->x) {
		decide(s, AUTH_FAIL, "signature expired");
		return 0;
	}
	if (look->result != AUTH_PASS) {
		decide(s, look->result, look->reason);
		return 0;
	}
	if ((why = check_key(s)) != NULL) {
		decide(s, AUTH_PERMERROR, why);
		return 0;
	}
	blen = dkim_sig_body_length(s->body);
	if (s->limit >= 0 && (uint64_t)s->limit > blen) {
		decide(s, AUTH_PERMERROR, "l= exceeds body length");
		return 0;
	}
	/* RFC 6376 section 6.1.3 step 4: PERMFAIL (body hash did not
	 * verify) */
	body_hash = dkim_sig_body_hash(s->body, &len);
	if (s->bh_len != len || memcmp(s->bh, body_hash, len) != 0) {
		decide(s, AUTH_FAIL, "body hash mismatch");
		return 0;
	}
	r = dkim_pubkey_verify(
	    look->key, s->alg, s->digest, s->sig, s->sig_len);
	if (r == -EBADMSG) {
		decide(s, AUTH_FAIL, "signature mismatch");
		return 0;
	}
	if (r != 0)
		return r;
	check_length(v, s, blen);
	return v->nomem ? -ENOMEM : 0;
}

int
dkim_verify_finish(struct dkim_verify *v, int64_t now,
    const struct dkim_verify_result **ret_results, size_t *ret_count)
{
	size_t i;
	int r;

	if (v->finished)
		panic("dkim_verify_finish called twice");
	v->finished = true;
	if ((r = dkim_sig_bodies_final(v->bodies)) != 0)
		return r;
	for (i = 0; i < v->n_sigs; i++)
		if ((r = check_sig(v, &v->sigs[i], now)) != 0)
			return r;
	*ret_results = v->results;
	*ret_count = v->n_results;
	return 0;
}
