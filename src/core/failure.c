/*
 * failure.c -- whether a message calls for a DMARC failure report (RFC
 * 9991) and the failure record the report is built from later. See
 * failure.h; the JSON form is in failure_json.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/addr.h"
#include "authmilter/bounds.h"
#include "authmilter/dmarc.h"
#include "authmilter/failure.h"
#include "authmilter/report.h"

/* RFC 9989 section 4.7 fo: which results count as "failed". */
#define RES(r) (1u << (r))
#define DKIM_FAILED                                                            \
	(RES(AUTH_FAIL) | RES(AUTH_POLICY) | RES(AUTH_NEUTRAL) |               \
	    RES(AUTH_PERMERROR))
#define SPF_FAILED (RES(AUTH_FAIL) | RES(AUTH_SOFTFAIL) | RES(AUTH_PERMERROR))

unsigned
failure_triggers(const struct failure_record *r)
{
	unsigned fired = 0, want;
	size_t i;

	if (!r->dkim_aligned && !r->spf_aligned)
		fired |= DMARC_FO_0;
	if (!r->dkim_aligned || !r->spf_aligned)
		fired |= DMARC_FO_1;
	for (i = 0; i < r->dkim_count; i++)
		if (DKIM_FAILED & RES(r->dkim[i].result))
			fired |= DMARC_FO_D;
	if (r->spf.domain != NULL && (SPF_FAILED & RES(r->spf.result)))
		fired |= DMARC_FO_S;
	/* RFC 9989 section 4.7: fo is ignored without ruf (a record for our
	 * own Bcc copy only) and defaults to 0 */
	want = r->ruf_count > 0 && r->fo != 0 ? r->fo : DMARC_FO_0;
	return fired & want;
}

/* ---- is the message a report? ---- */

/* skip_cfws -- RFC 5322 section 3.2.2 CFWS: blanks, folds, nested
 * comments with quoted pairs. */
static size_t
skip_cfws(const char *s, size_t len, size_t i)
{
	unsigned depth = 0;

	for (; i < len; i++) {
		if (depth > 0 && s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == '(')
			depth++;
		else if (depth > 0 && s[i] == ')')
			depth--;
		else if (depth == 0 && s[i] != ' ' && s[i] != '\t' &&
		         s[i] != '\r' && s[i] != '\n')
			break;
	}
	return i;
}

/* word -- whether s[*i..] is w (ASCII case-insensitive) followed by no
 * more token bytes; moves *i past it. */
static bool
word(const char *s, size_t len, size_t *i, const char *w)
{
	size_t n = strlen(w);

	if (len - *i < n || strncasecmp(s + *i, w, n) != 0)
		return false;
	if (*i + n < len && strchr(" \t\r\n(;/:", s[*i + n]) == NULL)
		return false;
	*i += n;
	return true;
}

/* RFC 2045 section 5.1: type "/" subtype, CFWS allowed around them. */
static bool
content_type_is(
    const char *v, size_t len, const char *type, const char *subtype)
{
	size_t i = skip_cfws(v, len, 0);

	if (!word(v, len, &i, type))
		return false;
	i = skip_cfws(v, len, i);
	if (i == len || v[i] != '/')
		return false;
	i = skip_cfws(v, len, i + 1);
	return word(v, len, &i, subtype);
}

bool
failure_is_report(const struct msg *m, const char **ret_why)
{
	const struct msg_header *h;
	size_t pos = 0, i;

	/* RFC 6522: ARF (RFC 5965), DSN (RFC 3464) and MDN (RFC 8098) are
	 * all multipart/report; only the first Content-Type counts */
	if ((h = msg_find(m, "Content-Type", &pos)) != NULL &&
	    content_type_is(h->value, h->value_len, "multipart", "report")) {
		*ret_why = "the message is a report (multipart/report)";
		return true;
	}
	/* RFC 9990 "Email": dmarc-subject = %s"Report" 1*FWS %s"Domain:";
	 * every Subject field is looked at */
	pos = 0;
	while ((h = msg_find(m, "Subject", &pos)) != NULL) {
		i = skip_cfws(h->value, h->value_len, 0);
		if (h->value_len - i < 6 || memcmp(h->value + i, "Report", 6))
			continue;
		i = skip_cfws(h->value, h->value_len, i + 6);
		if (h->value_len - i >= 7 &&
		    memcmp(h->value + i, "Domain:", 7) == 0) {
			*ret_why = "the message is a DMARC aggregate report "
			           "(RFC 9990 Subject)";
			return true;
		}
	}
	return false;
}

/* ---- destinations ---- */

/* under -- host is domain or a subdomain of it (case-insensitive). */
static bool
under(const char *host, const char *domain)
{
	size_t h = strlen(host), d = strlen(domain);

	if (d == 0 || h < d || strcasecmp(host + h - d, domain) != 0)
		return false;
	return h == d || host[h - d - 1] == '.';
}

bool
failure_own_destination(const struct failure_options *o, const char *address)
{
	const char *at = strrchr(address, '@'), *e;
	size_t i;

	if (at == NULL)
		return true;
	for (i = 0; i < o->own_count; i++)
		if (under(at + 1, o->own[i]))
			return true;
	for (i = 0; i < o->no_reports_to_count; i++) {
		e = o->no_reports_to[i];
		if (strchr(e, '@') != NULL ? strcasecmp(e, address) == 0
		                           : under(at + 1, e))
			return true;
	}
	return false;
}

const char *
failure_delivery_result(bool reject, bool quarantine)
{
	/* RFC 6591 section 3.1 Delivery-Result */
	if (reject)
		return "reject";
	return quarantine ? "policy" : "delivered";
}

/* ---- building a record ---- */

static bool
printable(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] > 0x7e ||
		    n >= max)
			return false;
	return true;
}

/* RFC 9989 section 4.4: strict alignment is equality; relaxed, equal
 * organizational domains, which for an identifier of the author's
 * organization means at or below its organizational domain. */
static bool
aligned(const char *id, const struct dmarc_author *au, enum dmarc_align mode)
{
	if (id == NULL || id[0] == '\0')
		return false;
	if (strcasecmp(id, au->domain) == 0)
		return true;
	if (mode == DMARC_ALIGN_STRICT || au->org_domain == NULL)
		return false;
	return under(id, au->org_domain);
}

/* envelope_address -- a reverse- or forward-path as a bare address, ""
 * for the null sender, NULL when it does not parse or is not printable. */
static const char *
envelope_address(struct arena *a, const char *path)
{
	struct addr_path p;
	char *s;
	size_t n;

	if (path == NULL ||
	    addr_parse_path(a, path, strlen(path), &p, NULL) != 0)
		return NULL;
	if (p.null_sender)
		return "";
	n = strlen(p.mailbox.local) + strlen(p.mailbox.domain) + 2;
	if (n > BOUND_TABLE_KEY_BYTES + 1 || (s = arena_alloc(a, n)) == NULL)
		return NULL;
	snprintf(s, n, "%s@%s", p.mailbox.local, p.mailbox.domain);
	return printable(s, BOUND_TABLE_KEY_BYTES) ? s : NULL;
}

/* The parts every record of one message shares. */
struct shared {
	const char *mail_from;
	const char **rcpt;
	size_t rcpt_count;
	uint8_t *headers;
	size_t headers_len;
	bool headers_truncated;
};

static void
add_field(struct buf *b, const char *name, size_t nlen, const char *value,
    size_t vlen, bool *truncated)
{
	if (b->len + nlen + vlen + 3 > BOUND_FAILURE_HEADER_BYTES) {
		*truncated = true;
		return;
	}
	buf_add(b, name, nlen);
	buf_addc(b, ':');
	buf_add(b, value, vlen);
	buf_add(b, "\r\n", 2);
}

/* The header section as the recipient gets it: our A-R first, without
 * the A-R fields that claim our authserv-id (the milter removes them). */
static int
shared_headers(struct shared *sh, const struct verdict *v, const struct msg *m,
    const struct failure_envelope *env, struct arena *a)
{
	const struct msg_header *h;
	struct buf b;
	size_t i;
	int err;

	buf_init(&b, BOUND_FAILURE_HEADER_BYTES + 1);
	sh->headers_truncated = m->dropped > 0;
	if (v->authres != NULL)
		add_field(&b, "Authentication-Results", 22, v->authres,
		    strlen(v->authres), &sh->headers_truncated);
	for (i = 0; i < m->count; i++) {
		h = &m->headers[i];
		if (env->authserv_id != NULL &&
		    msg_header_is(h, "Authentication-Results", 22) &&
		    authres_is_ours(h->value, h->value_len, env->authserv_id))
			continue;
		add_field(&b, h->name, h->name_len, h->value, h->value_len,
		    &sh->headers_truncated);
	}
	if ((err = buf_error(&b)) == 0) {
		sh->headers_len = b.len;
		sh->headers = (uint8_t *)arena_memdup(a, b.data, b.len);
		if (sh->headers == NULL)
			err = -ENOMEM;
	}
	buf_free(&b);
	return err;
}

static int
shared_new(struct shared *sh, const struct verdict *v, const struct msg *m,
    const struct failure_envelope *env, struct arena *a)
{
	const char *r;
	size_t i, n = env->rcpt_count;

	memset(sh, 0, sizeof(*sh));
	sh->mail_from = envelope_address(a, env->mail_from);
	if (n > BOUND_FAILURE_RCPTS)
		n = BOUND_FAILURE_RCPTS;
	if (n > 0 && (sh->rcpt = arena_zalloc(a, n * sizeof(char *))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if ((r = envelope_address(a, env->rcpt[i])) != NULL &&
		    r[0] != '\0')
			sh->rcpt[sh->rcpt_count++] = r;
	return shared_headers(sh, v, m, env, a);
}

/* usable_ruf -- the ruf URIs of rec, and how many name a destination
 * that is neither ours nor on NoReportsTo. */
static int
usable_ruf(const struct dmarc_record *rec, const struct failure_options *o,
    struct arena *a, const char ***ret, size_t *ret_usable)
{
	const char **v, *why;
	char *addr, *host;
	size_t i;

	*ret_usable = 0;
	v = arena_zalloc(a, (rec->ruf_count + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (i = 0; i < rec->ruf_count; i++) {
		v[i] = arena_memdup(a, rec->ruf[i].s, rec->ruf[i].len);
		if (v[i] == NULL)
			return -ENOMEM;
		addr = report_mailto_parse(
		    a, rec->ruf[i].s, rec->ruf[i].len, &host, &why);
		if (addr != NULL && !failure_own_destination(o, addr))
			(*ret_usable)++;
	}
	*ret = v;
	return 0;
}

static int
fill_auth(struct failure_record *r, const struct verdict *v,
    const struct dmarc_author *au, struct arena *a)
{
	const struct dmarc_record *rec = &au->found->record;
	const struct dkim_verify_result *d;
	struct failure_dkim *fd;
	size_t i, n = v->n_dkim;

	if (n > BOUND_SPOOL_DKIM)
		n = BOUND_SPOOL_DKIM;
	fd = arena_zalloc(a, (n + 1) * sizeof(*fd));
	if (fd == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		d = &v->dkim[i];
		/* a signature without a usable d= names nobody */
		if (d->domain == NULL ||
		    !printable(d->domain, BOUND_DOMAIN_LEN) ||
		    !dns_name_valid(d->domain))
			continue;
		fd[r->dkim_count].domain = d->domain;
		fd[r->dkim_count].selector =
		    d->selector != NULL &&
		            printable(d->selector, BOUND_DOMAIN_LEN)
		        ? d->selector
		        : NULL;
		fd[r->dkim_count].identity =
		    d->identity != NULL &&
		            printable(d->identity, BOUND_TABLE_KEY_BYTES)
		        ? d->identity
		        : NULL;
		fd[r->dkim_count].result = d->result;
		fd[r->dkim_count].reason =
		    d->reason != NULL && d->reason[0] != '\0' ? d->reason
		                                              : NULL;
		fd[r->dkim_count++].aligned =
		    aligned(d->domain, au, rec->adkim);
	}
	r->dkim = fd;
	if (v->spf != NULL && v->spf->domain != NULL &&
	    v->spf->domain[0] != '\0' &&
	    printable(v->spf->domain, BOUND_DOMAIN_LEN)) {
		r->spf.domain = v->spf->domain;
		r->spf.scope = v->spf->identity == SPF_HELO ? SPOOL_SCOPE_HELO
		                                            : SPOOL_SCOPE_MFROM;
		r->spf.result = v->spf->result;
		r->spf.aligned = aligned(v->spf->domain, au, rec->aspf);
	}
	return 0;
}

static enum spool_policy
policy_of(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_QUARANTINE:
		return SPOOL_POLICY_QUARANTINE;
	case DMARC_POLICY_REJECT:
		return SPOOL_POLICY_REJECT;
	default:
		return SPOOL_POLICY_NONE;
	}
}

/* author_gate -- why au gets no record (static), or NULL. */
static const char *
author_gate(const struct dmarc_author *au, const struct failure_options *o)
{
	if (au->found == NULL || au->policy_domain == NULL ||
	    au->found->record.status != DMARC_RECORD_OK)
		return "no DMARC policy record";
	if (au->result != AUTH_FAIL)
		return "DMARC did not fail";
	/* RFC 9991 section 2: MUST NOT consider ruf of psd=y records */
	if (au->found->record.psd == ORGDOMAIN_PSD_Y)
		return "the policy record has psd=y";
	if (au->requested != DMARC_POLICY_QUARANTINE &&
	    au->requested != DMARC_POLICY_REJECT && !o->on_none)
		return "policy none (FailureReportsOnNone no)";
	/* RFC 9989 section 4.7 ruf: no ruf, no failure reports */
	if (au->found->record.ruf_count == 0 && !o->bcc)
		return "the policy record has no ruf";
	return NULL;
}

static int
one_record(struct failure_record *r, const struct verdict *v,
    const struct dmarc_author *au, const struct shared *sh,
    const struct failure_envelope *env, const struct failure_options *o,
    struct arena *a, const char **ret_why)
{
	const char **ruf;
	size_t usable;
	int err;

	memset(r, 0, sizeof(*r));
	if ((err = usable_ruf(&au->found->record, o, a, &ruf, &usable)) != 0)
		return err;
	r->ruf = ruf;
	if (usable == 0 && !o->bcc) {
		*ret_why = "every ruf destination is ours, on NoReportsTo "
		           "or not a mailto: address";
		return 1;
	}
	r->ruf_count = usable > 0 ? au->found->record.ruf_count : 0;
	r->fo = au->found->record.fo;
	r->time = env->now;
	r->reporting_host = env->reporting_host;
	r->author_domain = au->domain;
	r->policy_domain = au->policy_domain;
	r->policy = policy_of(au->requested);
	r->dmarc = au->result;
	r->delivery_result = env->delivery_result;
	r->dkim_aligned = au->dkim_aligned;
	r->spf_aligned = au->spf_aligned;
	r->source_ip = env->client_ip;
	r->helo = env->helo != NULL && printable(env->helo, BOUND_DOMAIN_LEN)
	              ? env->helo
	              : NULL;
	r->mail_from = sh->mail_from;
	r->rcpt = sh->rcpt;
	r->rcpt_count = sh->rcpt_count;
	r->authres = v->authres;
	r->headers = sh->headers;
	r->headers_len = sh->headers_len;
	r->headers_truncated = sh->headers_truncated;
	if (o->body_max > 0 && env->body != NULL) {
		r->body = env->body;
		r->body_len =
		    env->body_len < o->body_max ? env->body_len : o->body_max;
		r->body_truncated =
		    env->body_truncated || env->body_len > r->body_len;
	}
	if ((err = fill_auth(r, v, au, a)) != 0)
		return err;
	if (failure_triggers(r) == 0) {
		*ret_why = "fo does not ask for a report of this failure";
		return 1;
	}
	return 0;
}

int
failure_records(const struct verdict *v, const struct msg *m,
    const struct failure_envelope *env, const struct failure_options *o,
    struct arena *a, struct failure_record **ret, size_t *ret_n,
    const char **ret_why)
{
	const struct dmarc_result *d = v->dmarc;
	struct failure_record *recs;
	struct shared sh;
	bool have_shared = false;
	const char *why = "DMARC not evaluated";
	size_t i, n = 0;
	int err;

	*ret = NULL;
	*ret_n = 0;
	if (d == NULL || d->author_count == 0) {
		*ret_why = why;
		return 0;
	}
	if (failure_is_report(m, ret_why))
		return 0;
	recs = arena_zalloc(a, d->author_count * sizeof(*recs));
	if (recs == NULL)
		return -ENOMEM;
	/* one record a message, one write: the decisive author's if it
	 * qualifies, else the first that does (a message naming many
	 * domains must not fan out into many reports) */
	for (i = 0; i <= d->author_count && n == 0; i++) {
		const struct dmarc_author *au =
		    i == 0 ? d->decisive : &d->authors[i - 1];
		const char *gate;

		if (au == NULL || (i > 0 && au == d->decisive))
			continue;
		if ((gate = author_gate(au, o)) != NULL) {

			why = gate;
			continue;
		}
		if (!have_shared) {
			if ((err = shared_new(&sh, v, m, env, a)) != 0)
				return err;
			have_shared = true;
		}
		err = one_record(&recs[n], v, au, &sh, env, o, a, &why);
		if (err < 0)
			return err;
		if (err == 0)
			n++;
	}
	*ret = recs;
	*ret_n = n;
	if (n == 0)
		*ret_why = why;
	return 0;
}

/* ---- configuration and the spool ---- */

static const char *
domain_of(const char *s)
{
	const char *at = s != NULL ? strrchr(s, '@') : NULL;

	return at != NULL ? at + 1 : s;
}

int
failure_options_from_config(
    const struct config *cfg, struct failure_options *ret)
{
	const char **own;
	size_t i, n = 0;

	memset(ret, 0, sizeof(*ret));
	own = calloc(cfg->domains.n + cfg->n_keys + 3, sizeof(*own));
	if (own == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->domains.n; i++)
		own[n++] = cfg->domains.v[i];
	for (i = 0; i < cfg->n_keys; i++)
		if (cfg->keys[i].domain != NULL &&
		    strchr(cfg->keys[i].domain, '%') == NULL)
			own[n++] = cfg->keys[i].domain;
	if (cfg->report_email != NULL)
		own[n++] = domain_of(cfg->report_email);
	if (cfg->failure_reports_sent_by != NULL)
		own[n++] = domain_of(cfg->failure_reports_sent_by);
	if (cfg->authserv_id != NULL)
		own[n++] = cfg->authserv_id;
	ret->own = own;
	ret->own_count = n;
	ret->on_none = cfg->failure_reports_on_none;
	ret->bcc = cfg->failure_reports_bcc.n > 0;
	ret->body_max = cfg->failure_reports_bodies;
	ret->no_reports_to = (const char *const *)cfg->no_reports_to.v;
	ret->no_reports_to_count = cfg->no_reports_to.n;
	return 0;
}

void
failure_options_free(struct failure_options *o)
{
	free(o->own);
	o->own = NULL;
	o->own_count = 0;
}

int
failure_append(const char *dir, const struct failure_record *recs, size_t n,
    time_t now, struct spool_stats *stats, const char **ret_why)
{
	struct buf line;
	size_t i;
	int err = 0;

	*ret_why = NULL;
	buf_init(&line, BOUND_FAILURE_RECORD_BYTES);
	for (i = 0; i < n && err == 0; i++) {
		buf_reset(&line);
		/* one record, one write (spool.h), like aggregate records */
		if ((err = failure_record_to_json(&recs[i], &line, ret_why)) ==
		    0)
			err = spool_append_line(dir, SPOOL_FAILURE,
			    recs[i].reporting_host, now, line.data, line.len,
			    stats);
	}
	buf_free(&line);
	return err;
}
