/*
 * verdict.c -- one message end to end: From, DKIM, SPF, DMARC, the
 * Authentication-Results header and the aggregate-report records.
 */
#include <ctype.h>
#include <errno.h>
#include <idn2.h>
#include <stdio.h>
#include <string.h>

#include "authmilter/addr.h"
#include "authmilter/authres.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/tags.h"
#include "authmilter/verdict.h"

/* An Authentication-Results value: one resinfo per DKIM signature
 * (bounded by the signature limit), one SPF, one DMARC per author domain
 * (bounded) -- 16 KB is ample. */
#define VERDICT_AUTHRES_MAX 16384

/* Author domains kept: BOUND_DMARC_AUTHOR_DOMAINS to evaluate and the
 * first of the rest, which names them all (dmarc.h). */
#define VERDICT_AUTHORS (BOUND_DMARC_AUTHOR_DOMAINS + 1)

struct verdict_session {
	struct arena *arena;
	const struct verdict_env *env;
	struct dns_resolver *dns;     /* every lookup: env->resolver, or
	                               * budget in front of it */
	struct dns_budget *budget;    /* NULL: no time budget */
	struct dmarc_discovery *disc; /* author policies, from begin */
	const struct msg *msg;
	struct dkim_verify *dkim;
	struct dkim_sig_bodies *bodies; /* DKIM's and ARC's */
	struct arc_verify *arc;
	struct arc_seal *seal; /* NULL: not sealing */
	struct verdict result;
	const char **authors;      /* backs result.from_domains */
	const char *envelope_from; /* MAIL FROM domain, "" for null,
	                            * NULL when unknown */
	bool null_sender;
	bool finished;
};

/* Add one author domain in its A-label form (RFC 9989 section 5.3.1:
 * U-labels are converted before discovery and alignment; IDNA's UTS #46
 * mapping also folds the full-width forms a reader sees as ASCII), once.
 * A domain literal names no domain; a text that does not convert, or is
 * not a name of more than one label when shown only in text, is no
 * domain either.
 * @return 0; -ENOMEM. */
static int
verdict_author_add(
    struct verdict_session *s, const char *dom, size_t len, bool shown)
{
	struct verdict *v = &s->result;
	char *copy, *ascii = NULL;
	size_t i;
	int rc;

	if (len == 0 || dom[0] == '[')
		return 0;
	copy = arena_memdup(s->arena, dom, len);
	if (copy == NULL)
		return -ENOMEM;
	for (i = 0; i < len && (unsigned char)copy[i] < 0x80; i++)
		copy[i] = (char)tolower((unsigned char)copy[i]);
	if (i < len) {
		rc = idn2_to_ascii_8z(copy, &ascii, IDN2_NONTRANSITIONAL);
		if (rc == IDN2_MALLOC)
			return -ENOMEM;
		if (rc != IDN2_OK)
			return 0;
		copy = arena_strdup(s->arena, ascii);
		idn2_free(ascii);
		if (copy == NULL)
			return -ENOMEM;
		for (i = 0; copy[i] != '\0'; i++)
			copy[i] = (char)tolower((unsigned char)copy[i]);
	}
	len = strlen(copy);
	if (len > 0 && copy[len - 1] == '.')
		copy[--len] = '\0';
	if (!dns_name_valid(copy) || (shown && strchr(copy, '.') == NULL))
		return 0;
	for (i = 0; i < v->n_from; i++)
		if (strcmp(s->authors[i], copy) == 0)
			return 0;
	if (v->n_from == VERDICT_AUTHORS) {
		v->from_more = true;
		return 0;
	}
	s->authors[v->n_from++] = copy;
	return 0;
}

static int
verdict_from_address(void *ctx, const struct addr *a)
{
	return verdict_author_add(ctx, a->domain, a->domain_len, false);
}

static int
verdict_from_shown(void *ctx, const char *domain, size_t len)
{
	return verdict_author_add(ctx, domain, len, true);
}

/* Every From field: the domains of its addresses, whether it is a valid
 * mailbox-list, and then every domain a reader could be shown in it
 * (RFC 9989 section 4.4: each author domain is evaluated; dmarc.h takes
 * the strictest). */
static int
verdict_from(struct verdict_session *s)
{
	struct verdict *v = &s->result;
	const struct msg_header *h;
	struct addr_error err;
	size_t pos = 0;
	int r;

	s->authors =
	    arena_alloc(s->arena, VERDICT_AUTHORS * sizeof(*s->authors));
	if (s->authors == NULL)
		return -ENOMEM;
	v->from_domains = s->authors;
	while ((h = msg_find(s->msg, "From", &pos)) != NULL) {
		v->n_from_fields++;
		r = addr_parse_from_each(s->arena, h->value, h->value_len,
		    verdict_from_address, s, &err);
		if (r == -EBADMSG) {
			if (v->from_why == NULL)
				v->from_why = err.why;
			v->from_invalid = true;
		} else if (r < 0) {
			return r;
		}
	}
	pos = 0;
	while ((h = msg_find(s->msg, "From", &pos)) != NULL) {
		r = addr_shown_domains(
		    s->arena, h->value, h->value_len, verdict_from_shown, s);
		if (r < 0)
			return r;
	}
	/* RFC 5322 section 3.6: exactly one From field */
	if (v->n_from_fields > 1) {
		v->from_invalid = true;
		if (v->from_why == NULL)
			v->from_why = "several From fields";
	}
	if (v->n_from_fields == 0) {
		v->from_state = DMARC_FROM_ABSENT;
	} else if (v->n_from == 0) {
		v->from_state = DMARC_FROM_UNPARSEABLE;
		if (v->from_why == NULL)
			v->from_why = "no domain in From";
	} else {
		v->from_state = DMARC_FROM_OK;
	}
	return 0;
}

/* SPF for the MAIL FROM identity (RFC 7208 section 2.4: postmaster@HELO
 * when the reverse-path is null), when the client IP is known. */
static int
verdict_spf(struct verdict_session *s)
{
	const struct verdict_env *env = s->env;
	struct spf_request req;
	struct spf_result *res;
	struct addr_path path;
	struct addr_error err;
	const char *mf = "";
	int r;

	s->null_sender = true;
	if (env->mail_from != NULL && env->mail_from[0] != '\0') {
		r = addr_parse_path(s->arena, env->mail_from,
		    strlen(env->mail_from), &path, &err);
		if (r == -ENOMEM)
			return r;
		/* a reverse-path that does not parse is checked as given:
		 * check_host() then finds no usable domain (none) */
		if (r < 0) {
			mf = env->mail_from;
			s->null_sender = false;
		} else if (!path.null_sender) {
			mf = path.mailbox.spec;
			s->envelope_from = path.mailbox.domain;
			s->null_sender = false;
		}
	}
	if (env->mail_from != NULL && s->null_sender)
		s->envelope_from = "";
	if (env->client_ip == NULL) {
		s->result.spf_skipped = "no client IP";
		return 0;
	}
	memset(&req, 0, sizeof(req));
	if (spf_ip_parse(env->client_ip, &req.ip) < 0)
		return -EINVAL;
	req.dns = s->dns;
	req.helo = env->helo;
	req.mail_from = mf;
	req.receiver = env->receiver;
	req.now = env->now;
	r = spf_check(&req, SPF_MFROM, s->arena, &res);
	if (r < 0)
		return r;
	s->result.spf = res;
	return 0;
}

/* The DMARC policy of every author domain, before any lookup a sender
 * controls: what the budget leaves for later must not be the policy. */
static int
verdict_discover(struct verdict_session *s)
{
	const struct verdict *v = &s->result;
	struct dmarc_input in;

	/* nothing to discover: no domain, or (unevaluable) not all From
	 * fields kept */
	if (s->env->org == NULL || v->from_state != DMARC_FROM_OK ||
	    v->n_from == 0 || v->unevaluable != NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	in.from_state = v->from_state;
	in.author_domains = v->from_domains;
	in.author_count = v->n_from;
	in.authors_more = v->from_more;
	return dmarc_discover_authors(
	    s->env->org, s->dns, s->arena, &in, &s->disc);
}

/* The ARC chain (RFC 8617): parsed now, validated at the end; the body
 * streams are DKIM's. */
static int
verdict_arc_begin(struct verdict_session *s)
{
	const struct verdict_env *env = s->env;
	struct arc_verify_options ao;
	struct arc_seal_options so;
	int r;

	memset(&ao, 0, sizeof(ao));
	ao.resolver = s->dns;
	ao.key_cache = env->key_cache;
	ao.min_rsa_bits = env->min_rsa_bits;
	ao.bodies = s->bodies;
	r = arc_verify_begin(s->arena, s->msg, &ao, &s->arc);
	if (r < 0 || env->arc_seal == NULL)
		return r;
	so = *env->arc_seal;
	so.bodies = s->bodies;
	return arc_seal_begin(s->arena, s->msg, &so, &s->seal);
}

int
verdict_begin(struct arena *a, const struct msg *m,
    const struct verdict_env *env, struct verdict_session **ret)
{
	struct dkim_verify_options dopt;
	struct verdict_session *s;
	int r;

	if (env->resolver == NULL || env->authserv_id == NULL)
		return -EINVAL;
	s = arena_zalloc(a, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->arena = a;
	s->env = env;
	s->msg = m;
	s->result.header_limit = m->limit;
	s->result.header_dropped = m->dropped;
	s->result.unevaluable = m->lost;
	s->dns = env->resolver;
	if (env->dns_budget_ms > 0) {
		s->budget = arena_alloc(a, sizeof(*s->budget));
		if (s->budget == NULL)
			return -ENOMEM;
		dns_budget_init(s->budget, env->resolver, env->dns_budget_ms);
		s->dns = &s->budget->resolver;
	}
	r = verdict_from(s);
	if (r == 0)
		r = verdict_discover(s);
	if (r < 0)
		return r;
	memset(&dopt, 0, sizeof(dopt));
	dopt.resolver = s->dns;
	dopt.max_signatures = env->max_signatures;
	dopt.min_rsa_bits = env->min_rsa_bits;
	dopt.allow_partial_body = env->allow_partial_body;
	dopt.key_cache = env->key_cache;
	r = dkim_sig_bodies_new(a, &s->bodies);
	dopt.bodies = s->bodies;
	if (r == 0)
		r = dkim_verify_begin(a, m, &dopt, &s->dkim);
	if (r == 0)
		r = verdict_arc_begin(s);
	if (r < 0)
		return r;
	r = verdict_spf(s);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

int
verdict_body(struct verdict_session *s, const char *chunk, size_t len)
{
	return dkim_verify_body(s->dkim, chunk, len);
}

/* How many times h= of the DKIM-Signature field h lists each field of
 * msg_unique_fields. @return 0; -EINVAL when h= cannot be read. */
static int
verdict_h_counts(const struct msg_header *h, unsigned *counts)
{
	struct tag_list tl;
	const struct tag *t;
	const char *p, *end, *why, *n, *e;
	size_t where;
	int u;

	if (tags_parse(h->value, h->value_len, &tl, &why, &where) < 0 ||
	    (t = tags_find(&tl, "h")) == NULL)
		return -EINVAL;
	p = t->value;
	end = t->value + t->value_len;
	for (;;) {
		/* RFC 6376 section 3.5: h= names separated by ":", with FWS */
		for (e = p; e < end && *e != ':'; e++)
			;
		for (n = p; n < e && isspace((unsigned char)*n); n++)
			;
		p = e;
		while (e > n && isspace((unsigned char)e[-1]))
			e--;
		if ((u = msg_unique_index(n, (size_t)(e - n))) >= 0)
			counts[u]++;
		if (p == end)
			return 0;
		p++;
	}
}

/* RFC 5322 section 3.6 allows the fields of msg_unique_fields at most
 * once. A passing signature covers a field only if h= lists it at least
 * as often as the message carries it; when the message carries one
 * more (a Subject or From prepended above a signed message), what the
 * reader sees may be the unsigned one, so the signature does not count
 * (dkim=policy, naming the field). A field present once and not signed
 * at all is the signer's choice and is left alone.
 * @return 0; -ENOMEM. */
static int
verdict_dkim_cover(struct verdict_session *s)
{
	struct verdict *v = &s->result;
	struct dkim_verify_result *copy = NULL;
	unsigned counts[MSG_UNIQUE_FIELDS];
	char text[96]; /* the text below with two numbers and a name */
	const char *reason;
	size_t i, n;
	int u;

	for (i = 0; i < v->n_dkim; i++) {
		if (v->dkim[i].result != AUTH_PASS)
			continue;
		memset(counts, 0, sizeof(counts));
		reason = NULL;
		if (verdict_h_counts(
		        &s->msg->headers[v->dkim[i].header_index], counts) < 0)
			reason = "h= cannot be read";
		for (u = 0; reason == NULL && u < MSG_UNIQUE_FIELDS; u++) {
			n = msg_count_received(s->msg, msg_unique_fields[u]);
			if (n <= counts[u] || (counts[u] == 0 && n == 1))
				continue;
			snprintf(text, sizeof(text),
			    "h= covers %u of %zu %s "
			    "fields",
			    counts[u], n, msg_unique_fields[u]);
			if ((reason = arena_strdup(s->arena, text)) == NULL)
				return -ENOMEM;
		}
		if (reason == NULL)
			continue;
		if (copy == NULL) {
			copy = arena_alloc(s->arena, v->n_dkim * sizeof(*copy));
			if (copy == NULL)
				return -ENOMEM;
			memcpy(copy, v->dkim, v->n_dkim * sizeof(*copy));
			v->dkim = copy;
		}
		copy[i].result = AUTH_POLICY;
		copy[i].reason = reason;
	}
	return 0;
}

/* The DMARC inputs from what DKIM, SPF and From gave. */
static int
verdict_dmarc(struct verdict_session *s)
{
	const struct verdict_env *env = s->env;
	struct verdict *v = &s->result;
	struct dmarc_discovery *disc = NULL;
	struct dmarc_options defaults;
	struct dmarc_result *res;
	struct dmarc_input in;
	struct dmarc_dkim *dk;
	struct dmarc_spf spf;
	size_t i;
	int r;

	if (env->org == NULL)
		return 0;
	memset(&in, 0, sizeof(in));
	in.from_state = v->from_state;
	in.from_why = v->from_why;
	in.from_invalid = v->from_invalid;
	in.author_domains = v->from_domains;
	in.author_count = v->n_from;
	in.authors_more = v->from_more;
	if (v->unevaluable != NULL) {
		/* a From field was not kept: evaluating the others could
		 * pass a message whose missing From names another domain */
		in.from_state = DMARC_FROM_UNPARSEABLE;
		in.from_why = v->unevaluable;
		in.author_count = 0;
	}
	dk = arena_zalloc(s->arena, (v->n_dkim + 1) * sizeof(*dk));
	if (dk == NULL)
		return -ENOMEM;
	for (i = 0; i < v->n_dkim; i++) {
		dk[i].domain = v->dkim[i].domain;
		dk[i].selector = v->dkim[i].selector;
		dk[i].result = v->dkim[i].result;
		/* a signature without a usable d= cannot align */
		if (v->dkim[i].domain == NULL)
			dk[i].result = AUTH_PERMERROR;
	}
	in.dkim = dk;
	in.dkim_count = v->n_dkim;
	/* RFC 9989 section 4.4.2: SPF counts for the MAIL FROM identity
	 * (the HELO one only for the null sender): with the MAIL FROM
	 * unknown there is no SPF input */
	if (v->spf != NULL && v->spf->domain[0] != '\0' &&
	    env->mail_from != NULL) {
		spf.domain = v->spf->domain;
		/* RFC 9989 section 4.4.2: the HELO identity is used when
		 * the reverse-path is null; spf.c checks postmaster@HELO */
		spf.scope = s->null_sender ? DMARC_SPF_HELO : DMARC_SPF_MFROM;
		spf.result = v->spf->result;
		in.spf = &spf;
	}
	in.client_ip = env->client_ip;
	/* RFC 9989 section 5.4: what trusted ARC sealers recorded, when
	 * the local policy names some */
	in.arc_pass = v->arc->status == AUTH_PASS;
	if (in.arc_pass && env->dmarc != NULL &&
	    env->dmarc->arc_sealer_count > 0) {
		r = arc_claims(
		    s->arena, v->arc, &in.arc_claims, &in.arc_claim_count);
		if (r < 0)
			return r;
	}
	if (s->disc != NULL) {
		disc = s->disc;
		r = dmarc_discover_identifiers(
		    env->org, s->dns, s->arena, &in, disc);
		if (r < 0)
			return r;
	}
	if (env->dmarc == NULL)
		dmarc_options_init(&defaults);
	r = dmarc_evaluate(&in, disc,
	    env->dmarc != NULL ? env->dmarc : &defaults, s->arena, &res);
	if (r < 0)
		return r;
	v->dmarc = res;
	v->discovery = disc;
	return 0;
}

/* RFC 8601 section 2.7.1: dkim=RESULT header.d= header.s= header.a=
 * header.b= (the first characters of b=, to tell signatures apart). */
static void
verdict_authres_dkim(struct buf *b, const struct dkim_verify_result *d)
{
	authres_method(b, "dkim", d->result, d->reason);
	if (d->domain != NULL)
		authres_prop(b, "header", "d", d->domain);
	if (d->selector != NULL)
		authres_prop(b, "header", "s", d->selector);
	if (d->algorithm != NULL)
		authres_prop(b, "header", "a", d->algorithm);
	if (d->b_prefix != NULL && d->b_prefix[0] != '\0')
		authres_prop(b, "header", "b", d->b_prefix);
}

/* RFC 8601 section 2.7.2: spf=RESULT smtp.mailfrom= (the domain checked:
 * the MAIL FROM domain, or the HELO name for the null sender, then as
 * smtp.helo=). */
static void
verdict_authres_spf(struct buf *b, const struct verdict_session *s)
{
	const struct spf_result *spf = s->result.spf;

	authres_method(b, "spf", spf->result,
	    spf->result == AUTH_PASS ? NULL : spf->reason);
	if (spf->domain[0] == '\0')
		return;
	authres_prop(
	    b, "smtp", s->null_sender ? "helo" : "mailfrom", spf->domain);
}

/* The method word of what an ARC sealer recorded. */
static const char *
verdict_claim_name(enum arc_claim_method m)
{
	return m == ARC_CLAIM_DKIM  ? "dkim"
	       : m == ARC_CLAIM_SPF ? "spf"
	                            : "dmarc";
}

/* RFC 8617 section 10 (RFC 8601 registry): arc=RESULT, the reason in
 * the comment, smtp.remote-ip= the client and header.oldest-pass= the
 * oldest instance whose AMS still verifies (with pass). */
static void
verdict_authres_arc(struct buf *b, const struct verdict_session *s)
{
	const struct arc_result *a = s->result.arc;
	char n[16];

	authres_method(b, "arc", a->status, a->reason);
	if (a->status == AUTH_PASS) {
		snprintf(n, sizeof(n), "%u", a->oldest_pass);
		authres_prop(b, "header", "oldest-pass", n);
	}
	if (s->env->client_ip != NULL)
		authres_prop(b, "smtp", "remote-ip", s->env->client_ip);
}

/* RFC 9989 section 9.1: dmarc=RESULT header.from= policy.dmarc=; the
 * disposition and the reason go in the comment. */
static void
verdict_authres_dmarc(struct buf *b, const struct dmarc_author *au)
{
	char comment[512];
	size_t i, n;

	n = (size_t)snprintf(comment, sizeof(comment), "%s%sdisposition=%s",
	    au->result == AUTH_PASS ? "" : au->reason,
	    au->result == AUTH_PASS ? "" : "; ",
	    dmarc_disposition_name(au->disposition));
	for (i = 0; i < 8 && n < sizeof(comment); i++)
		if (au->overrides & (1u << i))
			n += (size_t)snprintf(comment + n, sizeof(comment) - n,
			    " override=%s", dmarc_override_name(1u << i));
	if (au->arc != NULL && n < sizeof(comment))
		snprintf(comment + n, sizeof(comment) - n,
		    " by ARC sealer %s i=%u %s=pass", au->arc->sealer,
		    au->arc->instance, verdict_claim_name(au->arc->method));
	authres_method(b, "dmarc", au->result, comment);
	authres_prop(b, "header", "from", au->domain);
	if (au->policy_domain != NULL)
		authres_prop(
		    b, "policy", "dmarc", dmarc_policy_name(au->evaluated));
}

/* The ARC, SPF and DMARC resinfos, which the header must always
 * carry. */
static void
verdict_authres_policy(struct buf *b, const struct verdict_session *s)
{
	const struct verdict *v = &s->result;
	const struct dmarc_result *dm = v->dmarc;
	size_t i;

	verdict_authres_arc(b, s);
	if (v->spf != NULL)
		verdict_authres_spf(b, s);
	if (dm != NULL && dm->author_count == 0)
		authres_method(b, "dmarc", dm->result, dm->reason);
	for (i = 0; dm != NULL && i < dm->author_count; i++)
		verdict_authres_dmarc(b, &dm->authors[i]);
}

/* The header never fails on message content. SPF and DMARC always fit
 * (their values are bounded); DKIM resinfos go in while they fit, the
 * signatures past the limit as one summary, and what did not fit is
 * counted in a closing comment. */
static int
verdict_authres(struct verdict_session *s)
{
	struct verdict *v = &s->result;
	size_t i, skipped = 0, omitted = 0, budget;
	struct buf b, one, tail;
	int r;

	buf_init(&b, VERDICT_AUTHRES_MAX);
	buf_init(&one, VERDICT_AUTHRES_MAX);
	buf_init(&tail, VERDICT_AUTHRES_MAX / 2);
	verdict_authres_policy(&tail, s);
	budget = VERDICT_AUTHRES_MAX - tail.len - 128;
	authres_begin(&b, s->env->authserv_id);
	if (v->n_dkim == 0)
		authres_method(&b, "dkim", AUTH_NONE, "no signatures");
	for (i = 0; i < v->n_dkim; i++) {
		if (v->dkim[i].result == AUTH_NONE) {
			skipped++; /* past the signature limit */
			continue;
		}
		verdict_authres_dkim(&one, &v->dkim[i]);
		if (buf_error(&one) == 0 && b.len + one.len <= budget)
			buf_add(&b, one.data, one.len);
		else
			omitted++;
		buf_reset(&one);
	}
	if (skipped > 0) {
		buf_addf(
		    &one, "%zu more signatures not evaluated (limit)", skipped);
		authres_method(&b, "dkim", AUTH_NONE, buf_cstr(&one));
	}
	buf_add(&b, tail.data, tail.len);
	if (omitted > 0)
		buf_addf(&b, " (%zu DKIM results omitted: header too long)",
		    omitted);
	if (v->header_limit != NULL)
		buf_addf(&b, " (%s: %zu header fields not evaluated)",
		    v->header_limit, v->header_dropped);
	r = buf_error(&b) != 0 ? buf_error(&b) : buf_error(&tail);
	if (r == 0) {
		v->authres = arena_memdup(s->arena, b.data, b.len);
		if (v->authres == NULL)
			r = -ENOMEM;
	}
	buf_free(&tail);
	buf_free(&one);
	buf_free(&b);
	return r;
}

static enum spool_policy
verdict_spool_policy(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_NONE:
		return SPOOL_POLICY_NONE;
	case DMARC_POLICY_QUARANTINE:
		return SPOOL_POLICY_QUARANTINE;
	case DMARC_POLICY_REJECT:
		return SPOOL_POLICY_REJECT;
	default:
		return SPOOL_POLICY_UNSET;
	}
}

static enum spool_disposition
verdict_spool_disposition(enum dmarc_disposition d)
{
	switch (d) {
	case DMARC_DISP_PASS:
		return SPOOL_DISP_PASS;
	case DMARC_DISP_QUARANTINE:
		return SPOOL_DISP_QUARANTINE;
	case DMARC_DISP_REJECT:
		return SPOOL_DISP_REJECT;
	default:
		return SPOOL_DISP_NONE;
	}
}

/* The published policy of the record that applied to au. */
static int
verdict_spool_policy_published(struct verdict_session *s,
    const struct dmarc_author *au, struct spool_policy_published *pp)
{
	const struct dmarc_record *rec = &au->found->record;
	const char **rua;
	size_t i;

	pp->domain = au->policy_domain;
	pp->discovery_method = au->method == ORGDOMAIN_PSL
	                           ? SPOOL_DISCOVERY_PSL
	                           : SPOOL_DISCOVERY_TREEWALK;
	pp->p =
	    rec->p_implied ? SPOOL_POLICY_NONE : verdict_spool_policy(rec->p);
	if (pp->p == SPOOL_POLICY_UNSET)
		pp->p = SPOOL_POLICY_NONE;
	pp->sp = verdict_spool_policy(rec->sp);
	pp->np = verdict_spool_policy(rec->np);
	pp->adkim = rec->adkim == DMARC_ALIGN_STRICT ? SPOOL_ALIGN_STRICT
	                                             : SPOOL_ALIGN_RELAXED;
	pp->aspf = rec->aspf == DMARC_ALIGN_STRICT ? SPOOL_ALIGN_STRICT
	                                           : SPOOL_ALIGN_RELAXED;
	pp->fo = arena_memdup(s->arena, rec->fo_text.s, rec->fo_text.len);
	pp->testing = rec->testing ? SPOOL_TESTING_Y : SPOOL_TESTING_N;
	rua = arena_alloc(s->arena, (rec->rua_count + 1) * sizeof(*rua));
	if (pp->fo == NULL || rua == NULL)
		return -ENOMEM;
	for (i = 0; i < rec->rua_count && i < BOUND_SPOOL_RUA; i++) {
		rua[i] = arena_memdup(s->arena, rec->rua[i].s, rec->rua[i].len);
		if (rua[i] == NULL)
			return -ENOMEM;
	}
	pp->rua = rua;
	pp->rua_count = i;
	return 0;
}

/* The parts of a record that are the same for every author domain. */
static int
verdict_spool_common(struct verdict_session *s, struct spool_record *sr)
{
	const struct verdict *v = &s->result;
	struct spool_dkim *dk;
	size_t i, n = 0;

	sr->time = s->env->now;
	sr->reporting_host =
	    s->env->receiver != NULL ? s->env->receiver : s->env->authserv_id;
	sr->source_ip = s->env->client_ip;
	sr->envelope_from = s->envelope_from;
	sr->envelope_to = s->env->envelope_to;
	dk = arena_zalloc(s->arena, (v->n_dkim + 1) * sizeof(*dk));
	if (dk == NULL)
		return -ENOMEM;
	for (i = 0; i < v->n_dkim && n < BOUND_SPOOL_DKIM; i++) {
		/* a signature without d= and s= names nothing to report */
		if (v->dkim[i].domain == NULL || v->dkim[i].selector == NULL)
			continue;
		dk[n].domain = v->dkim[i].domain;
		dk[n].selector = v->dkim[i].selector;
		dk[n].result = v->dkim[i].result;
		dk[n].human_result =
		    v->dkim[i].reason[0] != '\0' ? v->dkim[i].reason : NULL;
		n++;
	}
	sr->dkim = dk;
	sr->dkim_count = n;
	if (v->spf != NULL && v->spf->domain[0] != '\0') {
		sr->spf.domain = v->spf->domain;
		sr->spf.scope =
		    s->null_sender ? SPOOL_SCOPE_HELO : SPOOL_SCOPE_MFROM;
		sr->spf.result = v->spf->result;
		sr->spf.human_result = v->spf->reason;
	}
	return 0;
}

/* The comment of an ARC sealer override: which record applied. */
static const char *
verdict_arc_comment(struct verdict_session *s, const struct dmarc_author *au)
{
	char text[BOUND_DOMAIN_LEN * 2 + 96];

	snprintf(text, sizeof(text),
	    "arc=pass; trusted ARC sealer %s (i=%u) recorded %s=pass for %s",
	    au->arc->sealer, au->arc->instance,
	    verdict_claim_name(au->arc->method), au->arc->domain);
	return arena_strdup(s->arena, text);
}

static int
verdict_spool_reasons(struct verdict_session *s, const struct dmarc_author *au,
    struct spool_record *sr)
{
	static const struct {
		unsigned bit;
		enum spool_reason_type type;
	} map[] = {
	    {DMARC_OVERRIDE_POLICY_TEST_MODE, SPOOL_REASON_POLICY_TEST_MODE},
	    {DMARC_OVERRIDE_TRUSTED_FORWARDER, SPOOL_REASON_TRUSTED_FORWARDER},
	    {DMARC_OVERRIDE_LOCAL_POLICY, SPOOL_REASON_LOCAL_POLICY},
	    /* RFC 9990: the sealer is a trusted forwarder; which one,
	     * in the comment */
	    {DMARC_OVERRIDE_ARC_SEALER, SPOOL_REASON_TRUSTED_FORWARDER},
	};
	struct spool_reason *rs;
	size_t i;

	rs = arena_zalloc(s->arena, sizeof(map) / sizeof(map[0]) * sizeof(*rs));
	if (rs == NULL)
		return -ENOMEM;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!(au->overrides & map[i].bit))
			continue;
		if (map[i].bit == DMARC_OVERRIDE_ARC_SEALER &&
		    (rs[sr->reason_count].comment =
		            verdict_arc_comment(s, au)) == NULL)
			return -ENOMEM;
		rs[sr->reason_count++].type = map[i].type;
	}
	sr->reasons = rs;
	return 0;
}

/* One aggregate-report record per author domain whose policy domain has
 * a DMARC record; only when the source IP is known (reports are by IP). */
static int
verdict_spool(struct verdict_session *s)
{
	struct verdict *v = &s->result;
	const struct dmarc_result *dm = v->dmarc;
	struct spool_record common, *recs;
	size_t i, n = 0;
	int r;

	if (dm == NULL || dm->author_count == 0 || s->env->client_ip == NULL)
		return 0;
	memset(&common, 0, sizeof(common));
	r = verdict_spool_common(s, &common);
	if (r < 0)
		return r;
	recs = arena_zalloc(s->arena, dm->author_count * sizeof(*recs));
	if (recs == NULL)
		return -ENOMEM;
	for (i = 0; i < dm->author_count; i++) {
		const struct dmarc_author *au = &dm->authors[i];
		struct spool_record *sr = &recs[n];

		if (au->found == NULL || au->found->walk.record == NULL ||
		    au->found->record.status != DMARC_RECORD_OK ||
		    au->policy_domain == NULL)
			continue;
		*sr = common;
		r = verdict_spool_policy_published(s, au, &sr->policy);
		if (r == 0)
			r = verdict_spool_reasons(s, au, sr);
		if (r < 0)
			return r;
		sr->dmarc = au->result;
		sr->disposition = verdict_spool_disposition(au->disposition);
		sr->dkim_aligned = au->dkim_aligned;
		sr->spf_aligned = au->spf_aligned;
		sr->header_from = au->domain;
		n++;
	}
	v->spool = recs;
	v->n_spool = n;
	return 0;
}

/* RFC 8617 section 5.1: after everything else, the new set: the AAR is
 * our Authentication-Results, the cv= the chain's status. */
static int
verdict_seal(struct verdict_session *s)
{
	struct verdict *v = &s->result;
	struct arc_sealed *set;
	int r;

	if (s->seal == NULL)
		return 0;
	if ((set = arena_alloc(s->arena, sizeof(*set))) == NULL)
		return -ENOMEM;
	r = arc_seal_finish(s->seal, arc_verify_chain(s->arc), v->arc->status,
	    v->authres, s->env->now, set, &v->arc_not_sealed);
	if (r == 0 && v->arc_not_sealed == NULL)
		v->arc_sealed = set;
	return r;
}

int
verdict_finish(struct verdict_session *s, const struct verdict **ret)
{
	int r;

	if (s->finished)
		return -EINVAL;
	s->finished = true;
	r = dkim_verify_finish(
	    s->dkim, s->env->now, &s->result.dkim, &s->result.n_dkim);
	if (r == 0)
		r = verdict_dkim_cover(s);
	if (r == 0)
		r = arc_verify_finish(s->arc, s->env->now, &s->result.arc);
	if (r == 0)
		r = verdict_dmarc(s);
	if (r == 0)
		r = verdict_spool(s);
	if (r == 0)
		r = verdict_authres(s);
	if (r == 0)
		r = verdict_seal(s);
	if (r < 0)
		return r;
	s->result.dns_budget_spent = s->budget != NULL && s->budget->ran_out;
	*ret = &s->result;
	return 0;
}
