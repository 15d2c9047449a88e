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
	struct dkim_sig_parsed p;
	const char *i_domain; /* domain part of i= */
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

/* "bad i=: problem" in the arena. */
static const char *
bad_i(struct dkim_verify *v, const char *problem)
{
	size_t len = strlen(problem) + 10;
	char *p = arena_alloc(v->arena, len);

	if (p == NULL) {
		v->nomem = true;
		return "out of memory";
	}
	snprintf(p, len, "bad i=: %s", problem);
	return p;
}

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
	const struct tag *t = tags_find(&s->p.tags, "i");
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
		return bad_i(v, "no @");
	local = (size_t)(at - t->value);
	if ((why = local_problem(t->value, local)) != NULL ||
	    (why = dkim_sig_name_problem(at + 1, t->value_len - local - 1)) !=
	        NULL)
		return bad_i(v, why);
	if (!span_in_domain(at + 1, t->value_len - local - 1, d))
		return "i= not within d=";
	if ((s->res->identity =
	            arena_memdup(v->arena, t->value, t->value_len)) == NULL) {
		v->nomem = true;
		return "out of memory";
	}
	s->i_domain = s->res->identity + local + 1;
	return NULL;
}

/* The names a result carries, from what parsed. */
static void
copy_names(struct dkim_verify_result *res, const struct dkim_sig_parsed *p)
{
	res->algorithm = p->algorithm;
	res->domain = p->domain;
	res->selector = p->selector;
	res->b_prefix = p->b_prefix;
	res->h_from = p->h_from;
}

/* Parse one signature field into s (RFC 6376 section 3.5, through
 * dkim_sig_parse()), then i=. NULL, or the permerror reason. */
static const char *
parse_sig(struct dkim_verify *v, struct dkim_vsig *s)
{
	const char *why;

	if (dkim_sig_parse(
	        v->arena, s->field, DKIM_SIG_KIND_DKIM, &s->p, &why) != 0)
		v->nomem = true;
	copy_names(s->res, &s->p);
	if (why != NULL)
		return why;
	return tag_i(v, s);
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
	th = s->p.h;
	tb = s->p.b;
	/* RFC 6376 section 3.7 and 6.1.3: the header hash */
	r = dkim_sig_hash_header(v->msg, s->p.hc, th->value, th->value_len,
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
	    v->bodies, s->p.bc, CANON_SHA256, s->p.limit, &s->body);
	if (r == 0)
		r = key_for(v, s);
	return r;
}

/* A signature past the limit: named (by the d=, s= and a= that
 * validate, as in an evaluated one), not evaluated. */
static int
skip_sig(struct dkim_verify *v, struct dkim_verify_result *res,
    const struct msg_header *f)
{
	struct dkim_sig_parsed *p = arena_alloc(v->arena, sizeof(*p));

	res->result = AUTH_NONE;
	res->reason = "not evaluated (limit)";
	if (p == NULL || dkim_sig_parse_names(v->arena, f, p) != 0)
		return -ENOMEM;
	copy_names(res, p);
	res->h_from = 0;
	res->b_prefix = NULL;
	return 0;
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
			if ((r = skip_sig(v, res, &m->headers[i])) != 0)
				return r;
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

/* RFC 6376 section 3.6.1 t=s: i= domain must equal d= exactly. NULL
 * or the permerror reason. */
static const char *
check_strict(const struct dkim_vsig *s)
{
	if (s->key->look.key->strict &&
	    strcasecmp(s->i_domain, s->res->domain) != 0)
		return "t=s key with i= subdomain";
	return NULL;
}

/* The l= verdict of a signature that verified: policy when content was
 * left unsigned (RFC 6376 section 8.2), unless told otherwise. */
static void
check_length(struct dkim_verify *v, struct dkim_vsig *s, uint64_t blen)
{
	char text[64];

	if (s->p.limit < 0 || (uint64_t)s->p.limit == blen ||
	    v->opt.allow_partial_body) {
		decide(s, AUTH_PASS, "");
		return;
	}
	snprintf(text, sizeof(text), "l= leaves %llu body bytes unsigned",
	    (unsigned long long)(blen - (uint64_t)s->p.limit));
	decide(s, AUTH_POLICY, reason_dup(v, text));
}

/* Decide one signature after the body. @return 0 or -ENOMEM/-EIO. */
static int
check_sig(struct dkim_verify *v, struct dkim_vsig *s, int64_t now)
{
	const struct dkim_key_lookup *look;
	enum auth_result res;
	const char *why;
	int r;

	if (s->decided)
		return 0;
	look = &s->key->look; /* decided ones may have no key entry */
	if (look->key != NULL) {
		s->res->key_bits = look->key->bits;
		s->res->testing = look->key->testing;
	}
	/* RFC 6376 section 6.1.1: PERMFAIL (signature expired); a failed
	 * verification (RFC 8601 section 2.7.1 fail), not a syntax error */
	if (s->p.has_x && now >= 0 && (uint64_t)now > s->p.x) {
		decide(s, AUTH_FAIL, "signature expired");
		return 0;
	}
	if (look->result != AUTH_PASS) {
		decide(s, look->result, look->reason);
		return 0;
	}
	if ((why = check_strict(s)) != NULL) {
		decide(s, AUTH_PERMERROR, why);
		return 0;
	}
	/* RFC 6376 section 6.1.3: key type, l=, body hash, signature */
	r = dkim_sig_check(&s->p, look->key, s->body, s->digest, &res, &why);
	if (r != 0)
		return r;
	if (res != AUTH_PASS) {
		decide(s, res, why);
		return 0;
	}
	check_length(v, s, dkim_sig_body_length(s->body));
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
