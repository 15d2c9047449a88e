/*
 * arc.c -- ARC (RFC 8617): the sets of a message by instance and their
 * structure, the validation of the chain, sealing a new set, and the
 * passes the sealers recorded. The signature work is dkim_sig's.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/arc.h"
#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/span.h"
#include "authmilter/tags.h"
#include "authmilter/xalloc.h"

#define ARC_AAR "ARC-Authentication-Results"
#define ARC_AMS "ARC-Message-Signature"
#define ARC_AS "ARC-Seal"
/* A value we write: an AMS with a long h= and an 8192-bit b=; an AAR is
 * bounded by BOUND_ARC_AAR_BYTES. */
#define ARC_VALUE_MAX (BOUND_ARC_AAR_BYTES + 32768)

enum arc_kind { KIND_AAR = 0, KIND_AMS, KIND_AS };

static const char *const kind_names[] = {ARC_AAR, ARC_AMS, ARC_AS};

const char *
arc_cv_name(enum arc_cv cv)
{
	switch (cv) {
	case ARC_CV_NONE:
		return "none";
	case ARC_CV_PASS:
		return "pass";
	case ARC_CV_FAIL:
		return "fail";
	default:
		return "invalid";
	}
}

/* ---- parsing ---- */

/* How a problem ranks: the steps of RFC 8617 section 5.2 in order, the
 * first step's problem wins. */
enum problem_rank {
	RANK_NONE = 0,
	RANK_INSTANCE,    /* step 1: an instance that cannot be read or is
	                   * past 50 */
	RANK_NEWEST_FAIL, /* step 2: the newest AS says cv=fail */
	RANK_STRUCTURE,   /* step 3 */
};

struct arc_parser {
	struct arena *a;
	struct arc_chain *c;
	enum problem_rank rank;
	bool nomem;
};

/* Keep the problem of the lowest rank (the first of a rank): "i=N: what"
 * for an instance, "Field: what" for a field without one. */
static void
problem(struct arc_parser *p, enum problem_rank rank, unsigned instance,
    const char *field, const char *what)
{
	char text[256];
	const char *s;

	if (p->rank != RANK_NONE && p->rank <= rank)
		return;
	if (instance > 0)
		snprintf(text, sizeof(text), "i=%u: %s", instance, what);
	else
		snprintf(text, sizeof(text), "%s: %s", field, what);
	if ((s = arena_strdup(p->a, text)) == NULL) {
		p->nomem = true;
		return;
	}
	p->rank = rank;
	p->c->problem = s;
	p->c->problem_instance = instance;
}

/* An i= value (RFC 8617 section 4.2.1: 1..50, i-value = 1*2DIGIT). A
 * leading zero is refused: "01" and "1" would be one instance written
 * two ways. NULL, or what is wrong. */
static const char *
instance_value(const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (n == 0)
		return "empty i=";
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return "i= is not a number";
	if (n > 1 && s[0] == '0')
		return "i= has a leading zero";
	if (n > 2)
		return "i= above 50";
	for (i = 0; i < n; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v == 0)
		return "i=0";
	if (v > BOUND_ARC_SETS)
		return "i= above 50";
	*ret = v;
	return NULL;
}

/* The instance of an AAR: its value starts with i=N; (RFC 8617 section
 * 4.1.1: arc-info = instance [CFWS] ";" authres-payload). */
static const char *
aar_instance(const struct msg_header *f, unsigned *ret, size_t *ret_rest)
{
	const char *v = f->value;
	size_t n = f->value_len, i, start;
	const char *why;

	i = authres_skip_cfws(v, n, 0);
	if (i >= n || v[i] != 'i')
		return "no i=";
	i = authres_skip_cfws(v, n, i + 1);
	if (i >= n || v[i] != '=')
		return "no i=";
	i = authres_skip_cfws(v, n, i + 1);
	for (start = i; i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' &&
	                v[i] != '\r' && v[i] != '\n' && v[i] != '(';
	     i++)
		;
	if ((why = instance_value(v + start, i - start, ret)) != NULL)
		return why;
	i = authres_skip_cfws(v, n, i);
	if (i >= n || v[i] != ';')
		return "no ';' after i=";
	*ret_rest = i + 1;
	return NULL;
}

/* The cv= of an AS's tags. */
static enum arc_cv
seal_cv(const struct tag_list *tl)
{
	const struct tag *t = tags_find(tl, "cv");

	if (t == NULL)
		return ARC_CV_INVALID;
	if (tags_value_is(t, "none"))
		return ARC_CV_NONE;
	if (tags_value_is(t, "pass"))
		return ARC_CV_PASS;
	if (tags_value_is(t, "fail"))
		return ARC_CV_FAIL;
	return ARC_CV_INVALID;
}

/* The instance of an AMS or AS from its tags (parsed into tl); an AS
 * also gives its cv= and d=. */
static const char *
tagged_instance(struct arc_parser *p, const struct msg_header *f,
    enum arc_kind kind, unsigned *ret, enum arc_cv *ret_cv,
    const char **ret_sealer, struct tag_list *tl)
{
	const struct tag *t;
	const char *why;
	size_t where;

	if (tags_parse(f->value, f->value_len, tl, &why, &where) != 0)
		return "bad tag list";
	if ((t = tags_find(tl, "i")) == NULL)
		return "no i=";
	if ((why = instance_value(t->value, t->value_len, ret)) != NULL)
		return why;
	if (kind != KIND_AS)
		return NULL;
	*ret_cv = seal_cv(tl);
	t = tags_find(tl, "d");
	if (t != NULL &&
	    dkim_sig_name_problem(t->value, t->value_len) == NULL &&
	    (*ret_sealer = arena_memdup(p->a, t->value, t->value_len)) == NULL)
		p->nomem = true;
	return NULL;
}

static bool
arc_kind_of(const struct msg_header *f, enum arc_kind *ret)
{
	int k;

	for (k = 0; k < 3; k++)
		if (msg_header_is(f, kind_names[k], strlen(kind_names[k]))) {
			*ret = (enum arc_kind)k;
			return true;
		}
	return false;
}

/* Put one field under its instance. */
static void
collect_one(
    struct arc_parser *p, const struct msg_header *f, enum arc_kind kind)
{
	struct arc_chain *c = p->c;
	const struct msg_header **slot;
	const char *why, *sealer = NULL;
	struct tag_list tl, *kept = NULL;
	enum arc_cv cv = ARC_CV_INVALID;
	char what[128];
	unsigned inst = 0;
	size_t rest;

	if (kind == KIND_AAR)
		why = aar_instance(f, &inst, &rest);
	else
		why = tagged_instance(p, f, kind, &inst, &cv, &sealer, &tl);
	if (why != NULL) {
		problem(p, RANK_INSTANCE, 0, kind_names[kind], why);
		return;
	}
	if (inst > c->count)
		c->count = inst;
	slot = kind == KIND_AAR   ? &c->sets[inst - 1].aar
	       : kind == KIND_AMS ? &c->sets[inst - 1].ams
	                          : &c->sets[inst - 1].as;
	if (*slot != NULL) {
		snprintf(
		    what, sizeof(what), "more than one %s", kind_names[kind]);
		problem(p, RANK_STRUCTURE, inst, NULL, what);
		return;
	}
	*slot = f;
	/* the tags of a field that has its place are kept: the signature
	 * checks read them again */
	if (kind != KIND_AAR) {
		if ((kept = arena_alloc(p->a, sizeof(*kept))) == NULL) {
			p->nomem = true;
			return;
		}
		*kept = tl;
	}
	if (kind == KIND_AMS)
		c->sets[inst - 1].ams_tags = kept;
	if (kind == KIND_AS) {
		c->sets[inst - 1].cv = cv;
		c->sets[inst - 1].sealer = sealer;
		c->sets[inst - 1].as_tags = kept;
	}
}

/* RFC 8617 section 5.2 step 3, from the newest set down. */
static void
check_structure(struct arc_parser *p)
{
	struct arc_chain *c = p->c;
	const struct arc_set *s;
	const char *what;
	unsigned i;

	for (i = c->count; i >= 1; i--) {
		s = &c->sets[i - 1];
		if (s->aar == NULL && s->ams == NULL && s->as == NULL)
			what = "no ARC set";
		else if (s->aar == NULL)
			what = "no " ARC_AAR;
		else if (s->ams == NULL)
			what = "no " ARC_AMS;
		else if (s->as == NULL)
			what = "no " ARC_AS;
		else if (s->cv == ARC_CV_FAIL)
			what = ARC_AS " says cv=fail";
		else if (s->cv == ARC_CV_INVALID)
			what = ARC_AS " has no valid cv=";
		else if (i == 1 && s->cv != ARC_CV_NONE)
			what = ARC_AS " cv=pass, not none";
		else if (i > 1 && s->cv != ARC_CV_PASS)
			what = ARC_AS " cv=none, not pass";
		else
			continue;
		problem(p, RANK_STRUCTURE, i, NULL, what);
	}
}

int
arc_parse(struct arena *a, const struct msg *m, struct arc_chain *ret)
{
	struct arc_parser p = {a, ret, RANK_NONE, false};
	enum arc_kind kind;
	unsigned i;
	size_t k;

	memset(ret, 0, sizeof(*ret));
	ret->sets = arena_zalloc(a, BOUND_ARC_SETS * sizeof(*ret->sets));
	if (ret->sets == NULL)
		return -ENOMEM;
	for (i = 0; i < BOUND_ARC_SETS; i++)
		ret->sets[i].instance = i + 1;
	for (k = 0; k < m->count; k++) {
		if (!arc_kind_of(&m->headers[k], &kind))
			continue;
		ret->n_fields++;
		collect_one(&p, &m->headers[k], kind);
	}
	/* RFC 8617 section 5.2 step 2: the newest seal reported a failure,
	 * the chain ends here (and section 5.1 step 2: nobody seals it) */
	if (ret->count > 0 && ret->sets[ret->count - 1].as != NULL &&
	    ret->sets[ret->count - 1].cv == ARC_CV_FAIL) {
		ret->newest_cv_fail = true;
		problem(&p, RANK_NEWEST_FAIL, ret->count, NULL,
		    ARC_AS " says cv=fail");
	}
	check_structure(&p);
	return p.nomem ? -ENOMEM : 0;
}

/* ---- body streams: the caller's set, or our own ---- */

/* The given set, or a new one of ours (*ret_own). @return 0; -ENOMEM. */
static int
bodies_use(struct arena *a, struct dkim_sig_bodies *given,
    struct dkim_sig_bodies **ret, bool *ret_own)
{
	*ret = given;
	*ret_own = given == NULL;
	return given == NULL ? dkim_sig_bodies_new(a, ret) : 0;
}

/* Body bytes into our own set (a shared one is its owner's to feed). */
static int
bodies_feed(struct dkim_sig_bodies *b, bool own, const char *chunk, size_t len)
{
	if (!own)
		panic("arc: body fed to a shared body set");
	return dkim_sig_bodies_update(b, chunk, len);
}

/* ---- validation ---- */

/* One key, looked up once per (s, d) for every signature naming it. */
struct arc_vkey {
	const char *selector, *domain;
	struct dkim_key_lookup look;
};

struct arc_verify {
	struct arena *arena;
	const struct msg *msg;
	struct arc_verify_options opt;
	struct arc_chain chain;
	struct dkim_sig_bodies *bodies;
	bool own_bodies;
	struct dkim_sig_parsed *ams; /* count entries: the AMSs parsed */
	const char **ams_why;        /* their parse problems, or NULL */
	struct dkim_sig_body **body; /* their body streams */
	struct arc_set_result *sets; /* count entries */
	struct dkim_sig_parsed *as;  /* count entries: the seals parsed */
	uint8_t (*as_digest)[DKIM_DIGEST_LEN]; /* what each seal signs */
	/* the fields the last AMS's h= selected, hashed: the next AMS with
	 * the same h= (a chain's sealers mostly sign the same list) reuses
	 * them */
	struct dkim_sig_hasher ams_h;
	bool ams_h_live;
	const char *ams_h_value;
	size_t ams_h_len;
	enum canon_alg ams_h_hc;
	struct arc_vkey keys[2 * BOUND_ARC_SETS];
	size_t n_keys;
	struct arc_result result;
	bool finished;
};

int
arc_verify_begin(struct arena *a, const struct msg *m,
    const struct arc_verify_options *opt, struct arc_verify **ret)
{
	struct arc_verify *v;
	struct arc_chain *c;
	unsigned i, n;
	int r;

	if (opt == NULL || opt->resolver == NULL)
		return -EINVAL;
	if ((v = arena_zalloc(a, sizeof(*v))) == NULL)
		return -ENOMEM;
	v->arena = a;
	v->msg = m;
	v->opt = *opt;
	c = &v->chain;
	if ((r = arc_parse(a, m, c)) != 0)
		return r;
	if ((r = bodies_use(a, opt->bodies, &v->bodies, &v->own_bodies)) != 0)
		return r;
	n = c->count;
	v->sets = arena_zalloc(a, (n + 1) * sizeof(*v->sets));
	v->ams = arena_zalloc(a, (n + 1) * sizeof(*v->ams));
	v->ams_why = arena_zalloc(a, (n + 1) * sizeof(*v->ams_why));
	v->body = arena_zalloc(a, (n + 1) * sizeof(*v->body));
	if (v->sets == NULL || v->ams == NULL || v->ams_why == NULL ||
	    v->body == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		v->sets[i].instance = i + 1;
		v->sets[i].sealer = c->sets[i].sealer;
		v->sets[i].ams_why = "";
	}
	/* a broken structure fails before any signature is looked at */
	if (c->problem != NULL)
		n = 0;
	for (i = 0; i < n; i++) {
		r = dkim_sig_parse_list(a, c->sets[i].ams_tags,
		    DKIM_SIG_KIND_MESSAGE, &v->ams[i], &v->ams_why[i]);
		if (r != 0)
			return r;
		v->sets[i].ams_domain = v->ams[i].domain;
		if (v->ams_why[i] != NULL)
			continue;
		r = dkim_sig_body_for(v->bodies, v->ams[i].bc, CANON_SHA256,
		    v->ams[i].limit, &v->body[i]);
		if (r != 0)
			return r;
	}
	*ret = v;
	return 0;
}

int
arc_verify_body(struct arc_verify *v, const char *chunk, size_t len)
{
	return bodies_feed(v->bodies, v->own_bodies, chunk, len);
}

const struct arc_chain *
arc_verify_chain(const struct arc_verify *v)
{
	return &v->chain;
}

/* The key of (selector, domain), looked up on first use. */
static int
key_for(struct arc_verify *v, const char *selector, const char *domain,
    const struct dkim_key_lookup **ret)
{
	struct arc_vkey *k;
	size_t i;
	int r;

	for (i = 0; i < v->n_keys; i++) {
		k = &v->keys[i];
		if (strcasecmp(k->selector, selector) == 0 &&
		    strcasecmp(k->domain, domain) == 0) {
			*ret = &k->look;
			return 0;
		}
	}
	if (v->n_keys == sizeof(v->keys) / sizeof(v->keys[0]))
		panic("arc: more keys than signatures");
	k = &v->keys[v->n_keys++];
	k->selector = selector;
	k->domain = domain;
	r = dkim_key_cache_lookup(v->opt.key_cache, v->opt.resolver,
	    v->opt.min_rsa_bits, selector, domain, v->arena, &k->look);
	*ret = &k->look;
	return r;
}

/* The key check and the signature check of one parsed signature. */
static int
check_signed(struct arc_verify *v, const struct dkim_sig_parsed *p,
    const struct dkim_sig_body *body, const uint8_t *digest,
    enum auth_result *res, const char **why)
{
	const struct dkim_key_lookup *look;
	int r;

	if ((r = key_for(v, p->selector, p->domain, &look)) != 0)
		return r;
	if (look->result != AUTH_PASS) {
		*res = look->result;
		*why = look->reason;
		return 0;
	}
	return dkim_sig_check(p, look->key, body, digest, res, why);
}

/* The header hash of an AMS (field f, parsed p): the fields its h=
 * selects, then the AMS itself (RFC 6376 section 3.7), the fields' part
 * kept for the next AMS with the same h=. */
static int
ams_digest(struct arc_verify *v, const struct dkim_sig_parsed *p,
    const struct msg_header *f, uint8_t *digest)
{
	const struct msg_header *fields[BOUND_SIGNED_HEADERS];
	size_t n, k;
	int r;

	if (!v->ams_h_live || v->ams_h_hc != p->hc ||
	    v->ams_h_len != p->h->value_len ||
	    memcmp(v->ams_h_value, p->h->value, v->ams_h_len) != 0) {
		if (v->ams_h_live)
			dkim_sig_hasher_free(&v->ams_h);
		v->ams_h_live = false;
		r = dkim_sig_select(v->msg, p->h->value, p->h->value_len,
		    fields, BOUND_SIGNED_HEADERS, &n);
		if (r != 0)
			return r;
		r = dkim_sig_hasher_init(&v->ams_h, p->hc);
		for (k = 0; k < n && r == 0; k++)
			r = dkim_sig_hasher_add(&v->ams_h, fields[k]);
		if (r != 0) {
			dkim_sig_hasher_free(&v->ams_h);
			return r;
		}
		v->ams_h_live = true;
		v->ams_h_value = p->h->value;
		v->ams_h_len = p->h->value_len;
		v->ams_h_hc = p->hc;
	}
	return dkim_sig_hasher_digest(
	    &v->ams_h, f, p->b->value, p->b->value_len, digest);
}

/* The AMS of instance i (RFC 8617 section 5.2 step 4, section 4.1.2: a
 * DKIM signature, RFC 6376 section 6.1). */
static int
check_ams(struct arc_verify *v, unsigned i, int64_t now)
{
	struct arc_set_result *sr = &v->sets[i - 1];
	const struct dkim_sig_parsed *p = &v->ams[i - 1];
	uint8_t digest[DKIM_DIGEST_LEN];
	int r;

	if (sr->ams != AUTH_NONE)
		return 0;
	sr->ams = AUTH_PERMERROR;
	if ((sr->ams_why = v->ams_why[i - 1]) != NULL)
		return 0;
	/* RFC 8617 section 4.1.2: an AMS never signs an ARC-Seal, which
	 * the next sealer's seal would change */
	if (span_list_has(p->h->value, p->h->value_len, ARC_AS)) {
		sr->ams_why = "h= lists ARC-Seal";
		return 0;
	}
	if (p->has_x && now >= 0 && (uint64_t)now > p->x) {
		sr->ams = AUTH_FAIL;
		sr->ams_why = "signature expired";
		return 0;
	}
	r = ams_digest(v, p, v->chain.sets[i - 1].ams, digest);
	if (r == -ENOMEM || r == -EIO)
		return r;
	if (r != 0) {
		sr->ams_why =
		    r == -EINVAL ? "bad h=" : "signed header too large";
		return 0;
	}
	return check_signed(
	    v, p, v->body[i - 1], digest, &sr->ams, &sr->ams_why);
}

/* Every AS parsed, and the digest each signs (section 5.1.1: the sets
 * 1..i, AAR AMS AS each, relaxed; the seal of i last without its b=
 * value): one running hash over the sets in order gives them all.
 * Parse problems go in the set results. */
static int
seal_digests(struct arc_verify *v)
{
	const struct arc_set *sets = v->chain.sets;
	struct dkim_sig_hasher h;
	struct arc_set_result *sr;
	unsigned n = v->chain.count, k;
	int r;

	v->as = arena_alloc(v->arena, n * sizeof(*v->as));
	v->as_digest = arena_alloc(v->arena, n * sizeof(*v->as_digest));
	if (v->as == NULL || v->as_digest == NULL)
		return -ENOMEM;
	r = dkim_sig_hasher_init(&h, CANON_RELAXED);
	for (k = 1; k <= n && r == 0; k++) {
		sr = &v->sets[k - 1];
		r = dkim_sig_parse_list(v->arena, sets[k - 1].as_tags,
		    DKIM_SIG_KIND_SEAL, &v->as[k - 1], &sr->as_why);
		sr->selector = v->as[k - 1].selector;
		if (r == 0)
			r = dkim_sig_hasher_add(&h, sets[k - 1].aar);
		if (r == 0)
			r = dkim_sig_hasher_add(&h, sets[k - 1].ams);
		if (r == 0 && sr->as_why == NULL)
			r = dkim_sig_hasher_digest(&h, sets[k - 1].as,
			    v->as[k - 1].b->value, v->as[k - 1].b->value_len,
			    v->as_digest[k - 1]);
		if (r == 0)
			r = dkim_sig_hasher_add(&h, sets[k - 1].as);
	}
	dkim_sig_hasher_free(&h);
	if (r == -ERANGE) {
		/* message content: a field too large to canonicalize; the
		 * seals from it up cannot be checked */
		for (k = k - 1; k <= n; k++)
			if (v->sets[k - 1].as_why == NULL)
				v->sets[k - 1].as_why =
				    "sealed field too large";
		r = 0;
	}
	return r;
}

/* The AS of instance i (RFC 8617 section 5.2 step 6), after
 * seal_digests(). */
static int
check_as(struct arc_verify *v, unsigned i)
{
	struct arc_set_result *sr = &v->sets[i - 1];

	sr->as = AUTH_PERMERROR;
	if (sr->as_why != NULL)
		return 0;
	return check_signed(
	    v, &v->as[i - 1], NULL, v->as_digest[i - 1], &sr->as, &sr->as_why);
}

/* The chain's outcome from a signature that did not pass. */
static int
chain_fails(struct arc_verify *v, unsigned i, const char *field,
    enum auth_result res, const char *why)
{
	struct arc_result *r = &v->result;
	char text[512];

	/* section 5.2: the chain fails; but a key that could not be fetched
	 * now says nothing yet about the chain */
	r->status = res == AUTH_TEMPERROR ? AUTH_TEMPERROR : AUTH_FAIL;
	r->failed_instance = i;
	snprintf(text, sizeof(text), "i=%u: %s %s", i, field, why);
	return (r->reason = arena_strdup(v->arena, text)) == NULL ? -ENOMEM : 0;
}

/* Sections 5.2 steps 4-7 on a chain whose structure is sound. */
static int
verify_chain(struct arc_verify *v, int64_t now)
{
	struct arc_result *res = &v->result;
	unsigned n = v->chain.count, i;
	int r;

	if ((r = dkim_sig_bodies_final(v->bodies)) != 0)
		return r;
	if ((r = check_ams(v, n, now)) != 0)
		return r;
	if (v->sets[n - 1].ams != AUTH_PASS)
		return chain_fails(
		    v, n, ARC_AMS, v->sets[n - 1].ams, v->sets[n - 1].ams_why);
	if ((r = seal_digests(v)) != 0)
		return r;
	for (i = n; i >= 1; i--) {
		if ((r = check_as(v, i)) != 0)
			return r;
		if (v->sets[i - 1].as != AUTH_PASS)
			return chain_fails(v, i, ARC_AS, v->sets[i - 1].as,
			    v->sets[i - 1].as_why);
	}
	/* step 5: oldest-pass, the AMSs below the newest while they pass */
	res->oldest_pass = n;
	for (i = n - 1; i >= 1; i--) {
		if ((r = check_ams(v, i, now)) != 0)
			return r;
		if (v->sets[i - 1].ams != AUTH_PASS)
			break;
		res->oldest_pass = i;
	}
	res->status = AUTH_PASS;
	res->reason = "";
	return 0;
}

int
arc_verify_finish(
    struct arc_verify *v, int64_t now, const struct arc_result **ret)
{
	struct arc_result *res = &v->result;
	const struct arc_chain *c = &v->chain;
	int r = 0;

	if (v->finished)
		panic("arc_verify_finish called twice");
	v->finished = true;
	res->count = c->count;
	res->sets = v->sets;
	res->chain = c;
	if (c->n_fields == 0) {
		res->status = AUTH_NONE;
		res->reason = "";
	} else if (c->problem != NULL) {
		/* section 5.2 steps 1-3 */
		res->status = AUTH_FAIL;
		res->reason = c->problem;
		res->failed_instance = c->problem_instance;
	} else {
		r = verify_chain(v, now);
		if (v->ams_h_live)
			dkim_sig_hasher_free(&v->ams_h);
	}
	if (r == 0)
		*ret = res;
	return r;
}

/* ---- sealing ---- */

struct arc_seal {
	struct arena *arena;
	const struct msg *msg;
	struct arc_seal_options opt;
	struct dkim_sig_bodies *bodies;
	bool own_bodies;
	struct dkim_sig_body *body;
	const char *h;
	bool finished;
};

/* RFC 8617 section 4.1.2: ARC fields and Authentication-Results never go
 * in an AMS (the next sealers add to the former; receivers remove the
 * latter, RFC 8601 section 5). */
static bool
ams_excluded(const char *name, size_t len)
{
	return span_eq(name, len, ARC_AAR) || span_eq(name, len, ARC_AMS) ||
	       span_eq(name, len, ARC_AS) ||
	       span_eq(name, len, "Authentication-Results");
}

/* The names an AMS signs: the given ones or the default list plus
 * DKIM-Signature (section 4.1.2: SHOULD include them), without the
 * excluded ones. */
static int
ams_names(struct arc_seal *s, const char ***ret, size_t *ret_n)
{
	const char *const *src = s->opt.headers;
	size_t n = s->opt.n_headers, i, k = 0;
	const char **v;

	if (src == NULL)
		for (src = dkim_sig_default_headers(), n = 0; src[n] != NULL;
		     n++)
			;
	if ((v = arena_alloc(s->arena, (n + 1) * sizeof(*v))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!ams_excluded(src[i], strlen(src[i])))
			v[k++] = src[i];
	if (s->opt.headers == NULL)
		v[k++] = "DKIM-Signature";
	*ret = v;
	*ret_n = k;
	return 0;
}

/* A given h=: names, none of them excluded. */
static int
ams_given_h(struct arc_seal *s)
{
	struct dkim_hname names[BOUND_SIGNED_HEADERS];
	size_t n, i;
	int r;

	r = dkim_sig_split_h(
	    s->opt.h, strlen(s->opt.h), names, BOUND_SIGNED_HEADERS, &n);
	if (r != 0)
		return r;
	for (i = 0; i < n; i++)
		if (ams_excluded(names[i].name, names[i].len))
			return -EINVAL;
	s->h = s->opt.h;
	return 0;
}

int
arc_seal_begin(struct arena *a, const struct msg *m,
    const struct arc_seal_options *opt, struct arc_seal **ret)
{
	struct arc_seal *s;
	const char **names;
	char *h = NULL;
	size_t n;
	int r;

	if (opt->domain == NULL || opt->selector == NULL || opt->key == NULL ||
	    dkim_sig_name_problem(opt->domain, strlen(opt->domain)) != NULL ||
	    dkim_sig_name_problem(opt->selector, strlen(opt->selector)) !=
	        NULL ||
	    dkim_privkey_type(opt->key) != DKIM_KEY_RSA)
		return -EINVAL;
	if ((s = arena_zalloc(a, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->arena = a;
	s->msg = m;
	s->opt = *opt;
	if (opt->h != NULL) {
		r = ams_given_h(s);
	} else {
		r = ams_names(s, &names, &n);
		if (r == 0)
			r = dkim_sig_build_h(
			    a, m, names, n, opt->oversign, opt->n_oversign, &h);
		s->h = h;
	}
	if (r != 0)
		return r;
	if ((r = bodies_use(a, opt->bodies, &s->bodies, &s->own_bodies)) != 0)
		return r;
	/* RFC 8617 section 4.1.2 / 5.1: relaxed/relaxed, SHA-256 */
	r = dkim_sig_body_for(
	    s->bodies, CANON_RELAXED, CANON_SHA256, -1, &s->body);
	if (r != 0)
		return r;
	*ret = s;
	return 0;
}

int
arc_seal_body(struct arc_seal *s, const char *chunk, size_t len)
{
	return bodies_feed(s->bodies, s->own_bodies, chunk, len);
}

/* One tag to write. */
struct arc_tag {
	const char *tag; /* with its '=' */
	const char *value;
};

static int
tag_cmp(const void *x, const void *y)
{
	return strcmp(
	    ((const struct arc_tag *)x)->tag, ((const struct arc_tag *)y)->tag);
}

/* Write the tags (b= among them with value NULL) folded in the order
 * given or flat and sorted, then sign: the header hash comes from hash()
 * over the field with b= empty. */
static int
write_signed(struct arc_seal *s, struct buf *out, const char *name,
    struct arc_tag *tags, size_t n,
    int (*hash)(struct arc_seal *, const struct msg_header *, const char *,
        uint8_t *, void *),
    void *arg)
{
	uint8_t digest[DKIM_DIGEST_LEN];
	struct dkim_sig_writer w;
	struct msg_header field;
	size_t i;
	int r;

	if (s->opt.format == ARC_FORMAT_SORTED) {
		qsort(tags, n, sizeof(*tags), tag_cmp);
		dkim_sig_writer_flat(&w, out, name);
	} else {
		dkim_sig_writer_init(&w, out, name);
	}
	for (i = 0; i < n; i++)
		if (tags[i].value == NULL)
			dkim_sig_write_b(&w);
		else if (strcmp(tags[i].tag, "h=") == 0)
			dkim_sig_write_h(&w, tags[i].value);
		else
			dkim_sig_write_tag(&w, tags[i].tag, tags[i].value);
	if ((r = buf_error(out)) != 0)
		return r;
	dkim_sig_writer_field(&w, &field);
	if ((r = hash(s, &field, dkim_sig_writer_b(&w), digest, arg)) != 0)
		return r;
	return dkim_sig_write_signature(&w, s->opt.key, digest);
}

static int
hash_ams(struct arc_seal *s, const struct msg_header *field, const char *b,
    uint8_t *digest, void *arg)
{
	return dkim_sig_hash_header(
	    s->msg, CANON_RELAXED, s->h, strlen(s->h), field, b, 0, digest);
}

/* What an AS signs (section 5.1.1; section 5.1.2 for cv=fail). */
struct seal_scope {
	const struct arc_chain *chain; /* NULL: the new set alone */
	const struct msg_header *aar, *ams;
};

static int
hash_as(struct arc_seal *s, const struct msg_header *field, const char *b,
    uint8_t *digest, void *arg)
{
	const struct msg_header *fields[3 * BOUND_ARC_SETS + 2];
	const struct seal_scope *sc = arg;
	size_t n = 0;
	unsigned k;

	for (k = 1; sc->chain != NULL && k <= sc->chain->count; k++) {
		fields[n++] = sc->chain->sets[k - 1].aar;
		fields[n++] = sc->chain->sets[k - 1].ams;
		fields[n++] = sc->chain->sets[k - 1].as;
	}
	fields[n++] = sc->aar;
	fields[n++] = sc->ams;
	return dkim_sig_hash_fields(
	    CANON_RELAXED, fields, n, field, b, 0, digest);
}

/* The cv= to seal with, or why nothing is sealed. */
static const char *
seal_cv_for(
    const struct arc_chain *c, enum auth_result status, enum arc_cv *ret)
{
	/* RFC 8617 section 5.1 step 2 */
	if (c->newest_cv_fail)
		return "the newest ARC-Seal says cv=fail";
	/* section 4.2.1: 50 is the last instance */
	if (c->count >= BOUND_ARC_SETS)
		return "50 ARC sets already";
	switch (status) {
	case AUTH_NONE:
		if (c->n_fields > 0)
			return "cv=none with ARC sets present";
		*ret = ARC_CV_NONE;
		return NULL;
	case AUTH_PASS:
		/* a chain that passed where it arrived but is broken now
		 * (changed on the way: a re-injected message) is sealed as
		 * what it is now */
		*ret = c->problem != NULL || c->count == 0 ? ARC_CV_FAIL
		                                           : ARC_CV_PASS;
		return NULL;
	case AUTH_FAIL:
		*ret = ARC_CV_FAIL;
		return NULL;
	default:
		return "chain status unknown";
	}
}

/* " i=N; payload" for the AAR (section 4.1.1). */
static const char *
aar_value(struct arc_seal *s, unsigned inst, const char *authres)
{
	struct buf b;
	const char *v;

	while (*authres == ' ' || *authres == '\t' || *authres == '\r' ||
	       *authres == '\n')
		authres++;
	buf_init(&b, ARC_VALUE_MAX);
	buf_addf(&b, " i=%u; %s", inst, authres);
	v = buf_error(&b) == 0 ? arena_memdup(s->arena, b.data, b.len) : NULL;
	buf_free(&b);
	return v;
}

static void
header_of(struct msg_header *h, const char *name, const char *value)
{
	h->name = name;
	h->name_len = strlen(name);
	h->value = value;
	h->value_len = strlen(value);
}

/* The AMS and the AS of the new set into *ret. */
static int
seal_set(struct arc_seal *s, const struct arc_chain *chain, int64_t now,
    struct arc_sealed *ret)
{
	struct msg_header aar, ams;
	struct seal_scope scope;
	char inst[16], t[32];
	const uint8_t *bh;
	struct buf v, e;
	size_t len;
	int r;

	snprintf(inst, sizeof(inst), "%u", ret->instance);
	snprintf(t, sizeof(t), "%" PRId64, now);
	bh = dkim_sig_body_hash(s->body, &len);
	buf_init(&e, CANON_DIGEST_MAX * 2);
	b64_encode(&e, bh, len);
	buf_init(&v, ARC_VALUE_MAX);
	{
		/* section 4.1.2: a DKIM signature with i= the instance */
		struct arc_tag tags[] = {{"i=", inst}, {"a=", "rsa-sha256"},
		    {"c=", "relaxed/relaxed"}, {"d=", s->opt.domain},
		    {"s=", s->opt.selector}, {"t=", t}, {"h=", s->h},
		    {"bh=", buf_cstr(&e)}, {"b=", NULL}};

		r = buf_error(&e);
		if (r == 0)
			r = write_signed(s, &v, ARC_AMS, tags,
			    sizeof(tags) / sizeof(tags[0]), hash_ams, NULL);
	}
	buf_free(&e);
	if (r == 0 &&
	    (ret->ams = arena_memdup(s->arena, v.data, v.len)) == NULL)
		r = -ENOMEM;
	buf_reset(&v);
	if (r == 0) {
		/* section 4.1.3: no h=, cv= the chain's status */
		struct arc_tag tags[] = {{"i=", inst}, {"a=", "rsa-sha256"},
		    {"t=", t}, {"cv=", arc_cv_name(ret->cv)},
		    {"d=", s->opt.domain}, {"s=", s->opt.selector},
		    {"b=", NULL}};

		header_of(&aar, ARC_AAR, ret->aar);
		header_of(&ams, ARC_AMS, ret->ams);
		/* section 5.1.2: a failed chain is sealed as if the new
		 * set were the only one */
		scope.chain = ret->cv == ARC_CV_FAIL ? NULL : chain;
		scope.aar = &aar;
		scope.ams = &ams;
		r = write_signed(s, &v, ARC_AS, tags,
		    sizeof(tags) / sizeof(tags[0]), hash_as, &scope);
	}
	if (r == 0 && (ret->as = arena_memdup(s->arena, v.data, v.len)) == NULL)
		r = -ENOMEM;
	buf_free(&v);
	return r;
}

int
arc_seal_finish(struct arc_seal *s, const struct arc_chain *chain,
    enum auth_result status, const char *authres, int64_t now,
    struct arc_sealed *ret, const char **ret_why)
{
	int r;

	if (s->finished)
		panic("arc_seal_finish called twice");
	s->finished = true;
	if (authres == NULL)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	/* fields msg.h did not keep would be missing from what we sign and
	 * change which instances h= selects: the seal would not verify */
	if (s->msg->dropped > 0) {
		*ret_why = "header past the bounds";
		return 0;
	}
	if ((*ret_why = seal_cv_for(chain, status, &ret->cv)) != NULL)
		return 0;
	if ((r = dkim_sig_bodies_final(s->bodies)) != 0)
		return r;
	ret->instance = chain->count + 1;
	if ((ret->aar = aar_value(s, ret->instance, authres)) == NULL)
		return -ENOMEM;
	return seal_set(s, chain, now, ret);
}

/* ---- what the sealers recorded ---- */

int
arc_authres_payload(struct arena *a, const struct msg *m,
    const char *authserv_id, enum arc_format format, const char **ret_payload,
    enum auth_result *ret_status)
{
	const char *sep = format == ARC_FORMAT_SORTED ? "; " : ";\r\n\t";
	struct authres_span ri, meth, res;
	const struct msg_header *h;
	size_t pos = 0, rp;
	unsigned arcs = 0;
	struct buf b;
	int r;

	*ret_payload = NULL;
	*ret_status = AUTH_NONE;
	buf_init(&b, BOUND_ARC_AAR_BYTES);
	buf_adds(&b, authserv_id);
	while ((h = msg_find(m, "Authentication-Results", &pos)) != NULL) {
		if (!authres_is_ours(h->value, h->value_len, authserv_id))
			continue;
		if (*ret_payload == NULL)
			*ret_payload = ""; /* one is ours */
		for (rp = 0;
		     authres_next_resinfo(h->value, h->value_len, &rp, &ri);) {
			buf_adds(&b, sep);
			buf_add(&b, ri.s, ri.len);
			if (!authres_resinfo_method(
			        ri.s, ri.len, &meth, &res) ||
			    !span_eq(meth.s, meth.len, "arc"))
				continue;
			/* the chain status the A-R recorded */
			arcs++;
			*ret_status =
			    span_eq(res.s, res.len, "pass")   ? AUTH_PASS
			    : span_eq(res.s, res.len, "fail") ? AUTH_FAIL
			    : span_eq(res.s, res.len, "none") ? AUTH_NONE
			                                      : AUTH_PERMERROR;
		}
	}
	if (arcs > 1)
		*ret_status = AUTH_PERMERROR;
	r = buf_error(&b);
	if (r == 0 && *ret_payload != NULL &&
	    (*ret_payload = arena_memdup(a, b.data, b.len)) == NULL)
		r = -ENOMEM;
	buf_free(&b);
	return r;
}

/* A domain from a property value: after the last '@' (an address or
 * "@domain"), lower-case, without a final dot; NULL when not a name. */
static const char *
claim_domain(struct arena *a, const struct authres_span *v, bool *nomem)
{
	const char *s = v->s, *at;
	size_t n = v->len, i;
	char *d;

	while ((at = memchr(s, '@', n)) != NULL) {
		n -= (size_t)(at - s) + 1;
		s = at + 1;
	}
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (dkim_sig_name_problem(s, n) != NULL)
		return NULL;
	if ((d = arena_memdup(a, s, n)) == NULL) {
		*nomem = true;
		return NULL;
	}
	for (i = 0; i < n; i++)
		if (d[i] >= 'A' && d[i] <= 'Z')
			d[i] = (char)(d[i] - 'A' + 'a');
	return d;
}

/* The claim one resinfo makes, if it is a pass we use. */
static bool
claim_of(const struct authres_span *ri, enum arc_claim_method *ret_method,
    struct authres_span *ret_value)
{
	struct authres_span meth, res;

	if (!authres_resinfo_method(ri->s, ri->len, &meth, &res) ||
	    !span_eq(res.s, res.len, "pass"))
		return false;
	if (span_eq(meth.s, meth.len, "dkim")) {
		*ret_method = ARC_CLAIM_DKIM;
		return authres_resinfo_prop(
		           ri->s, ri->len, "header", "d", ret_value) ||
		       authres_resinfo_prop(
		           ri->s, ri->len, "header", "i", ret_value);
	}
	if (span_eq(meth.s, meth.len, "spf")) {
		*ret_method = ARC_CLAIM_SPF;
		return authres_resinfo_prop(
		    ri->s, ri->len, "smtp", "mailfrom", ret_value);
	}
	if (span_eq(meth.s, meth.len, "dmarc")) {
		*ret_method = ARC_CLAIM_DMARC;
		return authres_resinfo_prop(
		    ri->s, ri->len, "header", "from", ret_value);
	}
	return false;
}

int
arc_claims(struct arena *a, const struct arc_result *r,
    const struct arc_claim **ret, size_t *ret_n)
{
	struct arc_claim *cl;
	struct authres_span ri, val;
	enum arc_claim_method meth;
	const struct arc_set *set;
	const char *dom;
	size_t n = 0, pos, rest;
	bool nomem = false;
	unsigned i, inst;

	*ret = NULL;
	*ret_n = 0;
	if (r->status != AUTH_PASS)
		return 0;
	if ((cl = arena_zalloc(a, BOUND_ARC_CLAIMS * sizeof(*cl))) == NULL)
		return -ENOMEM;
	for (i = r->count; i >= 1 && n < BOUND_ARC_CLAIMS; i--) {
		set = &r->chain->sets[i - 1];
		if (set->sealer == NULL ||
		    aar_instance(set->aar, &inst, &rest) != NULL)
			continue;
		/* the payload after "i=N;" is an A-R value: authserv-id,
		 * then resinfos */
		for (pos = 0; n < BOUND_ARC_CLAIMS &&
		              authres_next_resinfo(set->aar->value + rest,
		                  set->aar->value_len - rest, &pos, &ri);) {
			if (!claim_of(&ri, &meth, &val) ||
			    (dom = claim_domain(a, &val, &nomem)) == NULL)
				continue;
			cl[n].sealer = set->sealer;
			cl[n].instance = i;
			cl[n].method = meth;
			cl[n].domain = dom;
			n++;
		}
	}
	if (nomem)
		return -ENOMEM;
	*ret = cl;
	*ret_n = n;
	return 0;
}
