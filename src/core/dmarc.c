/*
 * dmarc.c -- DMARC (RFC 9989): record parsing, discovery through
 * orgdomain, identifier alignment and the disposition, as a pure
 * function of its inputs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/dmarc.h"
#include "authmilter/span.h"

/* ---- names ---- */

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_POLICY_QUARANTINE:
		return "quarantine";
	case DMARC_POLICY_REJECT:
		return "reject";
	case DMARC_POLICY_UNSET:
	case DMARC_POLICY_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_disposition_name(enum dmarc_disposition d)
{
	switch (d) {
	case DMARC_DISP_PASS:
		return "pass";
	case DMARC_DISP_QUARANTINE:
		return "quarantine";
	case DMARC_DISP_REJECT:
		return "reject";
	case DMARC_DISP_NONE:
		break;
	}
	return "none";
}

const char *
dmarc_override_name(unsigned bit)
{
	switch (bit) {
	case DMARC_OVERRIDE_POLICY_TEST_MODE:
		return "policy_test_mode";
	case DMARC_OVERRIDE_TRUSTED_FORWARDER:
	case DMARC_OVERRIDE_ARC_SEALER:
		return "trusted_forwarder";
	case DMARC_OVERRIDE_LOCAL_POLICY:
		return "local_policy";
	}
	return NULL;
}

void
dmarc_options_init(struct dmarc_options *opt)
{
	memset(opt, 0, sizeof(*opt));
}

/* ---- record parsing: RFC 9989 sections 4.7 and 4.8 ---- */

/* Validity of p, sp, np for the section 4.10.1 rule. */
enum pol_state { POL_ABSENT = 0, POL_OK, POL_INVALID };

struct rec_state {
	struct dmarc_record *r;
	enum pol_state p, sp, np;
};

static void
rec_note(struct dmarc_record *r, const char *note)
{
	if (r->note_count < BOUND_DMARC_NOTES)
		r->notes[r->note_count++] = note;
}

/* dmarc-request = "none" / "quarantine" / "reject" */
static enum pol_state
parse_request(const struct tag *t, enum dmarc_policy *ret)
{
	if (tags_value_is(t, "none"))
		*ret = DMARC_POLICY_NONE;
	else if (tags_value_is(t, "quarantine"))
		*ret = DMARC_POLICY_QUARANTINE;
	else if (tags_value_is(t, "reject"))
		*ret = DMARC_POLICY_REJECT;
	else
		return POL_INVALID;
	return POL_OK;
}

static int
tag_p(struct rec_state *st, const struct tag *t)
{
	st->p = parse_request(t, &st->r->p);
	return st->p == POL_OK ? 0 : -EINVAL;
}

static int
tag_sp(struct rec_state *st, const struct tag *t)
{
	st->sp = parse_request(t, &st->r->sp);
	return st->sp == POL_OK ? 0 : -EINVAL;
}

static int
tag_np(struct rec_state *st, const struct tag *t)
{
	st->np = parse_request(t, &st->r->np);
	return st->np == POL_OK ? 0 : -EINVAL;
}

/* dmarc-rors = "r" / "s" */
static int
parse_rors(const struct tag *t, enum dmarc_align *ret)
{
	if (tags_value_is(t, "r"))
		*ret = DMARC_ALIGN_RELAXED;
	else if (tags_value_is(t, "s"))
		*ret = DMARC_ALIGN_STRICT;
	else
		return -EINVAL;
	return 0;
}

static int
tag_adkim(struct rec_state *st, const struct tag *t)
{
	return parse_rors(t, &st->r->adkim);
}

static int
tag_aspf(struct rec_state *st, const struct tag *t)
{
	return parse_rors(t, &st->r->aspf);
}

/* dmarc-psd = "y" / "n" / "u" */
static int
tag_psd(struct rec_state *st, const struct tag *t)
{
	if (tags_value_is(t, "y"))
		st->r->psd = ORGDOMAIN_PSD_Y;
	else if (tags_value_is(t, "n"))
		st->r->psd = ORGDOMAIN_PSD_N;
	else if (tags_value_is(t, "u"))
		st->r->psd = ORGDOMAIN_PSD_U;
	else
		return -EINVAL;
	return 0;
}

/* dmarc-yorn = "y" / "n" */
static int
tag_t(struct rec_state *st, const struct tag *t)
{
	if (tags_value_is(t, "y"))
		st->r->testing = true;
	else if (tags_value_is(t, "n"))
		st->r->testing = false;
	else
		return -EINVAL;
	return 0;
}

/* dmarc-fo: "0" and "1" exclusive, each value at most once, ':' between */
static int
tag_fo(struct rec_state *st, const struct tag *t)
{
	const char *p = t->value, *end = t->value + t->value_len;
	unsigned fo = 0, bit;

	if (p == end)
		return -EINVAL;
	for (;;) {
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			return -EINVAL;
		switch (*p) {
		case '0':
			bit = DMARC_FO_0;
			break;
		case '1':
			bit = DMARC_FO_1;
			break;
		case 'd':
		case 'D':
			bit = DMARC_FO_D;
			break;
		case 's':
		case 'S':
			bit = DMARC_FO_S;
			break;
		default:
			return -EINVAL;
		}
		if (fo & bit)
			return -EINVAL;
		fo |= bit;
		p++;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p == end)
			break;
		if (*p++ != ':')
			return -EINVAL;
	}
	if ((fo & DMARC_FO_0) && (fo & DMARC_FO_1))
		return -EINVAL;
	st->r->fo = fo;
	st->r->fo_text.s = t->value;
	st->r->fo_text.len = t->value_len;
	return 0;
}

/* RFC 3986 section 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" /
 * "." ), then ":" and a non-empty rest of URI characters. */
static size_t
uri_scheme_len(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z'))
		return 0;
	for (i = 1; i < len && s[i] != ':'; i++) {
		char c = s[i];
		if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		        (c >= '0' && c <= '9') || c == '+' || c == '-' ||
		        c == '.'))
			return 0;
	}
	if (i == len || i + 1 == len)
		return 0;
	for (size_t j = i + 1; j < len; j++)
		if (s[j] < 0x21 || s[j] > 0x7e ||
		    strchr("\"<>\\^`{|}", s[j]) != NULL)
			return 0;
	return i;
}

/* mailto:local@domain[?...]: one '@', a non-empty local part and a valid
 * domain of letters, digits, '-' and '.'. */
static bool
mailto_ok(const char *s, size_t len)
{
	char dom[BOUND_DOMAIN_LEN + 1];
	const char *at, *q, *end = s + len;
	size_t i, dlen;

	q = memchr(s, '?', len);
	if (q != NULL)
		end = q;
	at = memchr(s, '@', (size_t)(end - s));
	if (at == NULL || at == s ||
	    memchr(at + 1, '@', (size_t)(end - at - 1)) != NULL)
		return false;
	dlen = (size_t)(end - at - 1);
	if (dlen == 0 || dlen > BOUND_DOMAIN_LEN)
		return false;
	for (i = 0; i < dlen; i++) {
		char c = at[1 + i];
		if (!(((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
		        (c >= '0' && c <= '9') || c == '-' || c == '.'))
			return false;
		dom[i] = c;
	}
	dom[dlen] = '\0';
	return dns_name_valid(dom);
}

/* Drop the obsolete "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] suffix (RFC
 * 9989 section 4.8 obs-dmarc-report-size). @return false if malformed. */
static bool
uri_strip_size(const char *s, size_t *len)
{
	const char *bang = memchr(s, '!', *len);
	size_t i, n;

	if (bang == NULL)
		return true;
	i = (size_t)(bang - s) + 1;
	n = *len;
	if (i < n && strchr("kmgtKMGT", s[n - 1]) != NULL)
		n--;
	if (i == n)
		return false;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	*len = (size_t)(bang - s);
	return true;
}

static void
uri_one(struct dmarc_record *r, const char *s, size_t len,
    struct dmarc_span *list, size_t *count, bool is_rua)
{
	size_t sl;

	if (len > BOUND_DMARC_URI_LEN) {
		rec_note(r, "reporting URI too long, skipped");
		return;
	}
	if (!uri_strip_size(s, &len) || (sl = uri_scheme_len(s, len)) == 0) {
		rec_note(r, "invalid reporting URI skipped");
		return;
	}
	if (is_rua)
		r->rua_valid++;
	if (!span_eq(s, sl, "mailto")) {
		/* section 4.7: unsupported schemes MUST be ignored */
		rec_note(r, "non-mailto reporting URI ignored");
		return;
	}
	if (!mailto_ok(s + sl + 1, len - sl - 1)) {
		rec_note(r, "invalid mailto URI skipped");
		if (is_rua)
			r->rua_valid--;
		return;
	}
	if (*count == BOUND_DMARC_URIS) {
		rec_note(r, "too many reporting URIs, rest skipped");
		return;
	}
	list[*count].s = s;
	list[(*count)++].len = len;
}

/* dmarc-urilist: URIs separated by *WSP "," *WSP */
static int
parse_urilist(struct dmarc_record *r, const struct tag *t,
    struct dmarc_span *list, size_t *count, bool is_rua)
{
	const char *p = t->value, *end = t->value + t->value_len, *e, *c;

	if (p == end)
		return -EINVAL;
	while (p < end) {
		c = memchr(p, ',', (size_t)(end - p));
		e = c != NULL ? c : end;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (p == e)
			rec_note(r, "empty reporting URI skipped");
		else
			uri_one(r, p, (size_t)(e - p), list, count, is_rua);
		p = c != NULL ? c + 1 : end;
	}
	return 0;
}

static int
tag_rua(struct rec_state *st, const struct tag *t)
{
	return parse_urilist(st->r, t, st->r->rua, &st->r->rua_count, true);
}

static int
tag_ruf(struct rec_state *st, const struct tag *t)
{
	return parse_urilist(st->r, t, st->r->ruf, &st->r->ruf_count, false);
}

/* RFC 9989 section 4.8, table 2: one small function per tag. */
static const struct {
	const char *name;
	int (*fn)(struct rec_state *, const struct tag *);
	const char *invalid; /* the note when the value is not valid */
} rec_tags[] = {
    {"p", tag_p, "invalid p= value"},
    {"sp", tag_sp, "invalid sp= value"},
    {"np", tag_np, "invalid np= value"},
    {"adkim", tag_adkim, "invalid adkim= ignored (r)"},
    {"aspf", tag_aspf, "invalid aspf= ignored (r)"},
    {"fo", tag_fo, "invalid fo= ignored (0)"},
    {"rua", tag_rua, "empty rua= ignored"},
    {"ruf", tag_ruf, "empty ruf= ignored"},
    {"psd", tag_psd, "invalid psd= ignored (u)"},
    {"t", tag_t, "invalid t= ignored (n)"},
};
#define REC_TAGS (sizeof(rec_tags) / sizeof(rec_tags[0]))

/* Tags RFC 9989 removed (appendix C.5.2): ignored like any unknown tag,
 * with a note that says why. */
static const char *
removed_tag_note(const struct tag *t)
{
	if (span_eq(t->name, t->name_len, "pct"))
		return "pct= ignored (removed by RFC 9989; t=y replaces pct=0)";
	if (span_eq(t->name, t->name_len, "rf"))
		return "rf= ignored (removed by RFC 9989)";
	if (span_eq(t->name, t->name_len, "ri"))
		return "ri= ignored (removed by RFC 9989)";
	return NULL;
}

static void
record_defaults(struct dmarc_record *r)
{
	memset(r, 0, sizeof(*r));
	r->why = "";
	r->fo = DMARC_FO_0;
	r->fo_text.s = "0";
	r->fo_text.len = 1;
}

/* Collect each known tag once; a tag given twice is discarded. */
static void
record_tags(struct rec_state *st, const char *txt, size_t len)
{
	struct tag found[REC_TAGS] = {{0}}, t;
	unsigned seen[REC_TAGS] = {0};
	const char *cur = txt, *end = txt + len, *why, *note;
	size_t i;
	bool first = true;

	while (orgdomain_tag_next(&cur, end, &t, &why)) {
		if (first) { /* v=DMARC1, checked by orgdomain_sniff */
			first = false;
			continue;
		}
		if (t.name_len == 0) {
			rec_note(st->r, "malformed tag-spec ignored");
			continue;
		}
		for (i = 0; i < REC_TAGS; i++)
			if (span_eq(t.name, t.name_len, rec_tags[i].name))
				break;
		if (i == REC_TAGS) {
			note = removed_tag_note(&t);
			rec_note(
			    st->r, note != NULL ? note : "unknown tag ignored");
			continue;
		}
		if (seen[i]++ == 0)
			found[i] = t;
	}
	for (i = 0; i < REC_TAGS; i++) {
		if (seen[i] == 0)
			continue;
		if (seen[i] > 1) {
			rec_note(st->r, "duplicate tag discarded");
			if (i < 3) /* p, sp, np */
				*(i == 0     ? &st->p
				    : i == 1 ? &st->sp
				             : &st->np) = POL_INVALID;
			continue;
		}
		if (rec_tags[i].fn(st, &found[i]) < 0)
			rec_note(st->r, rec_tags[i].invalid);
	}
}

int
dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *ret)
{
	struct rec_state st;
	enum orgdomain_psd psd;

	if (txt == NULL && len > 0)
		return -EINVAL;
	record_defaults(ret);
	if (txt == NULL || !orgdomain_sniff(txt, len, &psd)) {
		ret->status = DMARC_RECORD_NOT_DMARC;
		ret->why = "not a DMARC record (v=DMARC1 is not the first tag)";
		return 0;
	}
	memset(&st, 0, sizeof(st));
	st.r = ret;
	record_tags(&st, txt, len);
	if (st.p == POL_OK && st.sp != POL_INVALID && st.np != POL_INVALID)
		return 0;
	/* RFC 9989 section 4.10.1: no valid p, or an invalid sp/np */
	if (ret->rua_valid > 0) {
		ret->p = DMARC_POLICY_NONE;
		ret->sp = DMARC_POLICY_UNSET;
		ret->np = DMARC_POLICY_UNSET;
		ret->p_implied = true;
		ret->why = st.p == POL_ABSENT && st.sp != POL_INVALID &&
		                   st.np != POL_INVALID
		               ? "no p=, treated as p=none"
		               : "invalid p=, sp= or np=, treated as p=none";
		return 0;
	}
	ret->status = DMARC_RECORD_NO_POLICY;
	ret->p = ret->sp = ret->np = DMARC_POLICY_UNSET;
	ret->why = st.p == POL_OK ? "invalid sp= or np= and no valid rua="
	                          : "no valid p= and no valid rua=";
	return 0;
}

/* ---- trusted forwarders ---- */

int
dmarc_forwarder_parse(const char *s, struct dmarc_forwarder *ret)
{
	struct dmarc_forwarder f;
	char ip[64], *slash, *end;
	const char *dom;
	unsigned long prefix;
	size_t i, n;

	memset(&f, 0, sizeof(f));
	n = strlen(s);
	if (n < sizeof(ip) &&
	    (strchr(s, ':') != NULL || strspn(s, "0123456789./") == n)) {
		memcpy(ip, s, n + 1);
		slash = strchr(ip, '/');
		if (slash != NULL)
			*slash++ = '\0';
		if (inet_pton(AF_INET, ip, f.net) == 1)
			f.family = AF_INET;
		else if (inet_pton(AF_INET6, ip, f.net) == 1)
			f.family = AF_INET6;
		else
			return -EINVAL;
		f.prefix = f.family == AF_INET ? 32 : 128;
		if (slash != NULL) {
			if (*slash < '0' || *slash > '9')
				return -EINVAL;
			prefix = strtoul(slash, &end, 10);
			if (*end != '\0' || prefix > f.prefix)
				return -EINVAL;
			f.prefix = (unsigned)prefix;
		}
		*ret = f;
		return 0;
	}
	dom = s[0] == '.' ? s + 1 : s;
	if (n > BOUND_DOMAIN_LEN || !dns_name_valid(dom) ||
	    strspn(dom, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                "0123456789-_.") != strlen(dom))
		return -EINVAL;
	for (i = 0; i <= n; i++)
		f.domain[i] =
		    (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a'
		                                        : s[i]);
	*ret = f;
	return 0;
}

static bool
net_match(const struct dmarc_forwarder *f, int family, const uint8_t *addr)
{
	unsigned full = f->prefix / 8, rest = f->prefix % 8;

	if (f->family != family || memcmp(f->net, addr, full) != 0)
		return false;
	return rest == 0 || ((f->net[full] ^ addr[full]) &
	                        (0xffu << (8 - rest)) & 0xff) == 0;
}

/* Domain comparison: ASCII case ignored, one final dot ignored. */
static bool
name_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (la > 0 && a[la - 1] == '.')
		la--;
	if (lb > 0 && b[lb - 1] == '.')
		lb--;
	return la == lb && strncasecmp(a, b, la) == 0;
}

/* Whether id is org or a name below it. */
static bool
name_within(const char *id, const char *org)
{
	size_t il = strlen(id), ol = strlen(org);

	if (name_eq(id, org))
		return true;
	return il > ol + 1 && id[il - ol - 1] == '.' &&
	       name_eq(id + il - ol, org);
}

static bool
forwarder_domain_match(const char *pattern, const char *d)
{
	size_t lp, ld;

	if (pattern[0] != '.')
		return name_eq(pattern, d);
	pattern++;
	lp = strlen(pattern);
	ld = strlen(d);
	if (ld > 0 && d[ld - 1] == '.')
		ld--;
	if (ld == lp)
		return strncasecmp(d, pattern, lp) == 0;
	return ld > lp && d[ld - lp - 1] == '.' &&
	       strncasecmp(d + ld - lp, pattern, lp) == 0;
}

static bool
trusted_forwarder(const struct dmarc_input *in, const struct dmarc_options *o)
{
	uint8_t addr[16];
	int family = 0;
	size_t i, j;

	if (in->client_ip != NULL) {
		if (inet_pton(AF_INET, in->client_ip, addr) == 1)
			family = AF_INET;
		else if (inet_pton(AF_INET6, in->client_ip, addr) == 1)
			family = AF_INET6;
	}
	for (i = 0; i < o->forwarder_count; i++) {
		const struct dmarc_forwarder *f = &o->forwarders[i];

		if (f->family != 0) {
			if (family != 0 && net_match(f, family, addr))
				return true;
			continue;
		}
		for (j = 0; j < in->dkim_count; j++)
			if (in->dkim[j].result == AUTH_PASS &&
			    in->dkim[j].domain != NULL &&
			    forwarder_domain_match(
			        f->domain, in->dkim[j].domain))
				return true;
	}
	return false;
}

/* ---- author domains ---- */

/* The distinct author domains of in, normalised (lower-case, no final
 * dot; a name that is not valid is kept as given, to be reported). At
 * most BOUND_DMARC_AUTHOR_DOMAINS; *ret_more says there were more, and
 * names[BOUND_DMARC_AUTHOR_DOMAINS] is then the first of them (or NULL
 * when only in->authors_more says so). */
static int
authors_distinct(struct arena *a, const struct dmarc_input *in,
    const char **names, size_t *ret_n, bool *ret_more)
{
	const char *s;
	size_t i, j, n = 0;
	int err = 0;

	*ret_more = in->from_state == DMARC_FROM_OK && in->authors_more;
	names[BOUND_DMARC_AUTHOR_DOMAINS] = NULL;
	for (i = 0; in->from_state == DMARC_FROM_OK && i < in->author_count;
	     i++) {
		s = orgdomain_name_norm(a, in->author_domains[i], &err);
		if (s == NULL && err == -ENOMEM)
			return err;
		if (s == NULL)
			s = in->author_domains[i];
		for (j = 0; j < n && strcmp(names[j], s) != 0; j++)
			;
		if (j < n)
			continue;
		if (n == BOUND_DMARC_AUTHOR_DOMAINS) {
			names[n] = s;
			*ret_more = true;
			break;
		}
		names[n++] = s;
	}
	*ret_n = n;
	return 0;
}

/* ---- discovery ---- */

static bool
needs_relaxed(const struct dmarc_discovery *d, bool dkim)
{
	size_t i;

	for (i = 0; i < d->author_count; i++) {
		const struct dmarc_record *r = &d->authors[i].record;

		if (r->status == DMARC_RECORD_OK &&
		    (dkim ? r->adkim : r->aspf) == DMARC_ALIGN_RELAXED)
			return true;
	}
	return false;
}

static bool
known_domain(const struct dmarc_discovery *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->author_count; i++)
		if (name_eq(d->authors[i].walk.domain, name))
			return true;
	for (i = 0; i < d->ident_count; i++)
		if (name_eq(d->idents[i].org.domain, name))
			return true;
	return false;
}

/* Whether identifier domain could share the organizational domain of
 * some author whose walk completed: only a name at or below that
 * organizational domain can (an organizational domain is the name itself
 * or one of its parents). The others need no tree walk of their own, so
 * a sender's slow or failing name servers for them cannot make the
 * message's DMARC result temperror. */
static bool
ident_may_align(const struct dmarc_discovery *d, const char *domain)
{
	const struct orgdomain_policy *w;
	size_t i;

	for (i = 0; i < d->author_count; i++) {
		w = &d->authors[i].walk;
		if (w->status != ORGDOMAIN_OK || w->org_domain == NULL ||
		    name_within(domain, w->org_domain))
			return true;
	}
	return false;
}

/* RFC 9989 section 4.10.2: a tree walk of its own for an authenticated
 * identifier; not needed when it is an author domain (whose walk gave
 * its organizational domain already), was walked before, or cannot
 * align with any author. */
static int
discover_ident(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, struct dmarc_discovery *d, const char *domain)
{
	int rc;

	if (domain == NULL || known_domain(d, domain) ||
	    !ident_may_align(d, domain) ||
	    d->ident_count == BOUND_DMARC_IDENTIFIERS)
		return 0;
	rc = orgdomain_find(o, r, a, domain, &d->idents[d->ident_count].org);
	if (rc < 0)
		return rc;
	d->queries += d->idents[d->ident_count++].org.queries;
	return 0;
}

static int
discover_author(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, struct dmarc_found *f, const char *domain)
{
	int rc;

	rc = orgdomain_policy(o, r, a, domain, &f->walk);
	if (rc < 0)
		return rc;
	if (f->walk.record == NULL) {
		record_defaults(&f->record);
		f->record.status = DMARC_RECORD_NOT_DMARC;
		f->record.why = "no DMARC record";
		return 0;
	}
	return dmarc_record_parse(
	    f->walk.record, f->walk.record_len, &f->record);
}

int
dmarc_discover_identifiers(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const struct dmarc_input *in, struct dmarc_discovery *d)
{
	size_t i;
	int rc;

	for (i = 0; needs_relaxed(d, true) && i < in->dkim_count; i++) {
		if (in->dkim[i].result != AUTH_PASS)
			continue;
		rc = discover_ident(o, r, a, d, in->dkim[i].domain);
		if (rc < 0)
			return rc;
	}
	if (in->spf != NULL && in->spf->result == AUTH_PASS &&
	    needs_relaxed(d, false))
		return discover_ident(o, r, a, d, in->spf->domain);
	return 0;
}

int
dmarc_discover(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const struct dmarc_input *in, struct dmarc_discovery **ret)
{
	int rc;

	rc = dmarc_discover_authors(o, r, a, in, ret);
	if (rc == 0)
		rc = dmarc_discover_identifiers(o, r, a, in, *ret);
	return rc;
}

int
dmarc_discover_authors(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const struct dmarc_input *in, struct dmarc_discovery **ret)
{
	const char *names[BOUND_DMARC_AUTHOR_DOMAINS + 1];
	struct dmarc_discovery *d;
	size_t i, n;
	int rc;

	d = arena_zalloc(a, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	d->method = orgdomain_get_method(o);
	rc = authors_distinct(a, in, names, &n, &d->authors_truncated);
	if (rc < 0)
		return rc;
	d->authors = arena_zalloc(a, (n > 0 ? n : 1) * sizeof(*d->authors));
	if (d->authors == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rc = discover_author(o, r, a, &d->authors[i], names[i]);
		if (rc < 0)
			return rc;
		d->author_count++;
		d->queries +=
		    d->authors[i].walk.queries +
		    (d->authors[i].walk.record != NULL &&
		        d->authors[i].walk.relation != ORGDOMAIN_SELF);
	}
	*ret = d;
	return 0;
}

/* ---- evaluation ---- */

enum align_state { ALIGN_NO = 0, ALIGN_YES, ALIGN_UNKNOWN };

static const char *
arena_fmt(struct arena *a, const char *fmt, const char *s1, const char *s2)
{
	char tmp[2 * BOUND_DOMAIN_LEN + 128];

	snprintf(tmp, sizeof(tmp), fmt, s1, s2 != NULL ? s2 : "");
	return arena_strdup(a, tmp);
}

/* The organizational domain discovered for name (an author domain's own
 * walk, or an identifier's), or NULL with *ret_tempfail. */
static const char *
org_of(const struct dmarc_discovery *d, const char *name, bool *ret_tempfail)
{
	size_t i;

	*ret_tempfail = false;
	for (i = 0; i < d->author_count; i++) {
		const struct orgdomain_policy *w = &d->authors[i].walk;

		if (name_eq(w->domain, name)) {
			*ret_tempfail = w->status == ORGDOMAIN_TEMPFAIL;
			return w->status == ORGDOMAIN_OK ? w->org_domain : NULL;
		}
	}
	for (i = 0; i < d->ident_count; i++) {
		const struct orgdomain_org *g = &d->idents[i].org;

		if (name_eq(g->domain, name)) {
			*ret_tempfail = g->status == ORGDOMAIN_TEMPFAIL;
			return g->status == ORGDOMAIN_OK ? g->org_domain : NULL;
		}
	}
	return NULL;
}

/* RFC 9989 sections 3.2.10, 4.4: strict = identical (case-insensitive),
 * relaxed = same organizational domain. */
static enum align_state
align(const struct dmarc_discovery *d, const struct dmarc_author *au,
    const char *id, enum dmarc_align mode)
{
	const char *org;
	bool tempfail;

	if (id == NULL)
		return ALIGN_NO;
	if (name_eq(id, au->domain))
		return ALIGN_YES;
	if (mode == DMARC_ALIGN_STRICT)
		return ALIGN_NO;
	/* only a name at or below the author's organizational domain can
	 * have it as its own; the others were not walked (ident_may_align) */
	if (au->org_domain != NULL && !name_within(id, au->org_domain))
		return ALIGN_NO;
	org = org_of(d, id, &tempfail);
	if (org == NULL)
		return tempfail ? ALIGN_UNKNOWN : ALIGN_NO;
	return name_eq(org, au->org_domain) ? ALIGN_YES : ALIGN_NO;
}

/* RFC 9989 section 4.10.1: p for the author domain itself, sp for an
 * existing subdomain, np for a non-existent one, falling back to sp and
 * then p. *ret_unsure: the existence test failed and np would differ. */
static void
select_policy(
    const struct dmarc_found *f, struct dmarc_author *au, bool *ret_unsure)
{
	const struct dmarc_record *r = &f->record;
	enum dmarc_policy sub = r->sp != DMARC_POLICY_UNSET ? r->sp : r->p;

	*ret_unsure = false;
	au->policy_tag = r->sp != DMARC_POLICY_UNSET ? "sp" : "p";
	au->requested = sub;
	switch (f->walk.relation) {
	case ORGDOMAIN_SELF:
		au->policy_tag = "p";
		au->requested = r->p;
		break;
	case ORGDOMAIN_NXSUBDOMAIN:
		if (r->np != DMARC_POLICY_UNSET) {
			au->policy_tag = "np";
			au->requested = r->np;
		}
		break;
	case ORGDOMAIN_SUBDOMAIN_UNKNOWN:
		*ret_unsure = r->np != DMARC_POLICY_UNSET && r->np != sub;
		break;
	case ORGDOMAIN_SUBDOMAIN:
		break;
	}
}

/* RFC 9989 sections 4.4.1, 4.4.2, 5.3.4-5.3.5: pass when any passing
 * DKIM d= or the passing SPF domain aligns. */
/* Whether an identifier aligns by its name alone: the same name
 * (strict), or within the author's organizational domain (relaxed). For
 * an identifier whose check did not complete (temperror) and one an ARC
 * sealer recorded, whose own organizational domains were not discovered
 * (only passing identifiers of the message are). */
static bool
could_align(
    const struct dmarc_author *au, const char *id, enum dmarc_align mode)
{
	if (id == NULL)
		return false;
	if (name_eq(id, au->domain))
		return true;
	if (mode == DMARC_ALIGN_STRICT || au->org_domain == NULL)
		return false;
	return name_within(id, au->org_domain);
}

/* RFC 9989 section 5.3.6: when a check an identifier needed did not
 * complete (a DKIM key or SPF lookup that failed temporarily) and nothing
 * else aligned, the message neither passes nor fails. */
static const char *
temp_identifier(const struct dmarc_input *in, const struct dmarc_author *au)
{
	const struct dmarc_record *r = &au->found->record;
	size_t i;

	for (i = 0; i < in->dkim_count; i++)
		if (in->dkim[i].result == AUTH_TEMPERROR &&
		    could_align(au, in->dkim[i].domain, r->adkim))
			return in->dkim[i].domain;
	if (in->spf != NULL && in->spf->result == AUTH_TEMPERROR &&
	    could_align(au, in->spf->domain, r->aspf))
		return in->spf->domain;
	return NULL;
}

static enum align_state
align_all(const struct dmarc_input *in, const struct dmarc_discovery *d,
    struct dmarc_author *au, const char **ret_unknown)
{
	const struct dmarc_record *r = &au->found->record;
	enum align_state st, any = ALIGN_NO;
	size_t i;

	*ret_unknown = NULL;
	for (i = 0; i < in->dkim_count; i++) {
		if (in->dkim[i].result != AUTH_PASS) /* not policy */
			continue;
		st = align(d, au, in->dkim[i].domain, r->adkim);
		if (st == ALIGN_YES && !au->dkim_aligned) {
			au->dkim_aligned = true;
			au->dkim_domain = in->dkim[i].domain;
		} else if (st == ALIGN_UNKNOWN) {
			*ret_unknown = in->dkim[i].domain;
		}
	}
	if (in->spf != NULL && in->spf->result == AUTH_PASS) {
		st = align(d, au, in->spf->domain, r->aspf);
		if (st == ALIGN_YES) {
			au->spf_aligned = true;
			au->spf_domain = in->spf->domain;
		} else if (st == ALIGN_UNKNOWN) {
			*ret_unknown = in->spf->domain;
		}
	}
	if (au->dkim_aligned || au->spf_aligned)
		any = ALIGN_YES;
	else if (*ret_unknown != NULL)
		any = ALIGN_UNKNOWN;
	return any;
}

static enum dmarc_disposition
policy_disp(enum dmarc_policy p)
{
	return p == DMARC_POLICY_REJECT       ? DMARC_DISP_REJECT
	       : p == DMARC_POLICY_QUARANTINE ? DMARC_DISP_QUARANTINE
	                                      : DMARC_DISP_NONE;
}

/* Whether claim c of a trusted sealer is an aligned pass for au. */
static bool
sealer_claim_aligns(const struct dmarc_options *o,
    const struct dmarc_author *au, const struct arc_claim *c)
{
	const struct dmarc_record *r = &au->found->record;
	bool aligned;
	size_t j;

	aligned = c->method == ARC_CLAIM_DMARC
	              ? name_eq(c->domain, au->domain)
	              : could_align(au, c->domain,
	                    c->method == ARC_CLAIM_DKIM ? r->adkim : r->aspf);
	for (j = 0; aligned && j < o->arc_sealer_count; j++)
		if (o->arc_sealers[j].family == 0 &&
		    forwarder_domain_match(o->arc_sealers[j].domain, c->sealer))
			return true;
	return false;
}

/* Whether a trusted sealer of a passing chain recorded an aligned pass
 * for au (RFC 9989 section 5.4 leaves ARC to local policy; RFC 8617
 * section 7.2); au->arc is the newest such record, a DMARC pass before a
 * DKIM or SPF one. */
static bool
trusted_sealer(const struct dmarc_input *in, const struct dmarc_options *o,
    struct dmarc_author *au)
{
	static const enum arc_claim_method order[] = {
	    ARC_CLAIM_DMARC, ARC_CLAIM_DKIM, ARC_CLAIM_SPF};
	size_t i, k;

	if (!in->arc_pass)
		return false;
	for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
		for (i = 0; i < in->arc_claim_count; i++)
			if (in->arc_claims[i].method == order[k] &&
			    sealer_claim_aligns(o, au, &in->arc_claims[i])) {
				au->arc = &in->arc_claims[i];
				return true;
			}
	return false;
}

/* The disposition of a failing message: the evaluated policy, then the
 * local overrides (RFC 9989 section 5.4; RFC 9990 override reasons). */
static void
fail_disposition(const struct dmarc_input *in, const struct dmarc_options *opt,
    struct dmarc_author *au)
{
	au->disposition = policy_disp(au->evaluated);
	if (au->evaluated != au->requested)
		au->overrides |= DMARC_OVERRIDE_POLICY_TEST_MODE;
	if (au->disposition != DMARC_DISP_NONE && trusted_forwarder(in, opt)) {
		au->disposition = DMARC_DISP_NONE;
		au->overrides |= DMARC_OVERRIDE_TRUSTED_FORWARDER;
	}
	if (au->disposition != DMARC_DISP_NONE && trusted_sealer(in, opt, au)) {
		au->disposition = DMARC_DISP_NONE;
		au->overrides |= DMARC_OVERRIDE_ARC_SEALER;
	}
	if (opt->max_policy != DMARC_POLICY_UNSET &&
	    au->disposition > policy_disp(opt->max_policy)) {
		au->disposition = policy_disp(opt->max_policy);
		au->overrides |= DMARC_OVERRIDE_LOCAL_POLICY;
	}
}

/* RFC 9989 section 4.7 t=y: one level below the policy requested. */
static enum dmarc_policy
test_mode(enum dmarc_policy p, bool testing)
{
	if (!testing || p <= DMARC_POLICY_NONE)
		return p;
	return p == DMARC_POLICY_REJECT ? DMARC_POLICY_QUARANTINE
	                                : DMARC_POLICY_NONE;
}

static int
eval_found(const struct dmarc_input *in, const struct dmarc_discovery *d,
    const struct dmarc_options *opt, struct arena *a, struct dmarc_author *au)
{
	const struct dmarc_found *f = au->found;
	const char *unknown;
	enum align_state st;
	bool unsure;

	au->policy_domain = f->walk.policy_domain;
	select_policy(f, au, &unsure);
	au->evaluated = test_mode(au->requested, f->record.testing);
	st = align_all(in, d, au, &unknown);
	if (st == ALIGN_YES) {
		au->result = AUTH_PASS;
		au->disposition = au->evaluated >= DMARC_POLICY_QUARANTINE
		                      ? DMARC_DISP_PASS
		                      : DMARC_DISP_NONE;
		au->reason = au->dkim_aligned
		                 ? arena_fmt(a, "aligned DKIM pass (d=%s)",
		                       au->dkim_domain, NULL)
		                 : arena_fmt(a, "aligned SPF pass (%s)",
		                       au->spf_domain, NULL);
	} else if (st == ALIGN_UNKNOWN || unsure) {
		/* RFC 9989 section 5.3.6: neither pass nor fail */
		au->result = AUTH_TEMPERROR;
		au->reason =
		    unsure ? "existence of the author domain unknown (DNS)"
		           : arena_fmt(a,
		                 "organizational domain of %s: DNS failure",
		                 unknown, NULL);
	} else if ((unknown = temp_identifier(in, au)) != NULL) {
		au->result = AUTH_TEMPERROR;
		au->reason = arena_fmt(a,
		    "DKIM or SPF check of %s did not "
		    "complete (DNS)",
		    unknown, NULL);
	} else {
		au->result = AUTH_FAIL;
		au->reason = "no aligned DKIM or SPF pass";
		fail_disposition(in, opt, au);
	}
	return au->reason == NULL ? -ENOMEM : 0;
}

static const struct dmarc_found *
found_for(const struct dmarc_discovery *d, const char *name)
{
	size_t i;

	for (i = 0; d != NULL && i < d->author_count; i++)
		if (strcmp(d->authors[i].walk.domain, name) == 0)
			return &d->authors[i];
	return NULL;
}

static int
eval_author(const struct dmarc_input *in, const struct dmarc_discovery *d,
    const struct dmarc_options *opt, struct arena *a, const char *name,
    struct dmarc_author *au)
{
	const struct dmarc_found *f = found_for(d, name);

	au->domain = name;
	au->found = f;
	au->result = AUTH_NONE;
	if (f == NULL) {
		au->result = AUTH_PERMERROR;
		au->reason = "author domain was not discovered";
		return 0;
	}
	au->method = f->walk.method;
	if (f->walk.status != ORGDOMAIN_OK) {
		au->result = f->walk.status == ORGDOMAIN_TEMPFAIL
		                 ? AUTH_TEMPERROR
		                 : AUTH_PERMERROR;
		au->reason = f->walk.why;
		return 0;
	}
	au->org_domain = f->walk.org_domain;
	if (f->walk.record == NULL) {
		/* section 4.10.1: no record, DMARC does not apply */
		au->reason = f->walk.discarded > 0 ? f->walk.why
		                                   : "no DMARC policy record";
		return 0;
	}
	if (f->record.status != DMARC_RECORD_OK) {
		au->policy_domain = f->walk.policy_domain;
		au->reason = f->record.why;
		return 0;
	}
	return eval_found(in, d, opt, a, au);
}

/* Strictness (RFC 9989 section 11.5: the most strict outcome applies):
 * disposition first, then the result. */
static int
disp_rank(enum dmarc_disposition d)
{
	return d == DMARC_DISP_PASS         ? 0
	       : d == DMARC_DISP_NONE       ? 1
	       : d == DMARC_DISP_QUARANTINE ? 2
	                                    : 3;
}

static int
result_rank(enum auth_result r)
{
	switch (r) {
	case AUTH_PASS:
		return 0;
	case AUTH_NONE:
		return 1;
	case AUTH_PERMERROR:
		return 2;
	case AUTH_TEMPERROR:
		return 3;
	default:
		return 4; /* fail */
	}
}

static bool
stricter(const struct dmarc_author *x, const struct dmarc_author *y)
{
	if (disp_rank(x->disposition) != disp_rank(y->disposition))
		return disp_rank(x->disposition) > disp_rank(y->disposition);
	return result_rank(x->result) > result_rank(y->result);
}

/* No author domain to evaluate: RFC 9989 section 5.3.1 (zero domains:
 * DMARC validation is not possible). */
static void
eval_no_author(const struct dmarc_input *in, struct dmarc_result *res)
{
	if (in->from_state == DMARC_FROM_UNPARSEABLE) {
		res->result = AUTH_PERMERROR;
		res->reason = in->from_why != NULL
		                  ? in->from_why
		                  : "From header field does not parse";
	} else {
		res->result = AUTH_NONE;
		res->reason = in->from_state == DMARC_FROM_ABSENT
		                  ? "no From header field"
		                  : "no domain in From";
	}
}

/* A From that is not a valid mailbox-list never passes (it may not show
 * a reader the domain that was authenticated): the pass becomes a fail
 * under the author's own policy. */
static void
eval_invalid_from(const struct dmarc_input *in, const struct dmarc_options *opt,
    struct arena *a, struct dmarc_author *au)
{
	if (au->result != AUTH_PASS)
		return;
	au->result = AUTH_FAIL;
	au->reason = arena_fmt(a, "From is not a valid mailbox-list: %s%s",
	    in->from_why != NULL ? in->from_why : "several From fields", "");
	au->disposition = DMARC_DISP_NONE;
	fail_disposition(in, opt, au);
}

/* The authors past BOUND_DMARC_AUTHOR_DOMAINS, not evaluated: any one of
 * them could publish p=reject, so together they are one author failing
 * under p=reject (RFC 9989 section 11.5 lets a receiver limit the work;
 * the limit must not lower the policy). */
static void
eval_omitted(const struct dmarc_input *in, const struct dmarc_options *opt,
    const char *first, struct dmarc_author *au)
{
	au->domain = first != NULL ? first : "";
	au->result = AUTH_FAIL;
	au->reason = "more than 8 author domains: the rest count as failing "
	             "under p=reject";
	au->requested = au->evaluated = DMARC_POLICY_REJECT;
	fail_disposition(in, opt, au);
}

int
dmarc_evaluate(const struct dmarc_input *in, const struct dmarc_discovery *d,
    const struct dmarc_options *opt, struct arena *a, struct dmarc_result **ret)
{
	const char *names[BOUND_DMARC_AUTHOR_DOMAINS + 1];
	struct dmarc_result *res;
	size_t i, n = 0;
	bool more = false;
	int rc;

	res = arena_zalloc(a, sizeof(*res));
	if (res == NULL)
		return -ENOMEM;
	if (in->from_state == DMARC_FROM_OK) {
		rc = authors_distinct(a, in, names, &n, &more);
		if (rc < 0)
			return rc;
	}
	res->authors = arena_zalloc(a, (n + 1) * sizeof(*res->authors));
	if (res->authors == NULL)
		return -ENOMEM;
	if (n == 0 && !more) {
		eval_no_author(in, res);
		*ret = res;
		return 0;
	}
	for (i = 0; i < n; i++) {
		rc = eval_author(in, d, opt, a, names[i], &res->authors[i]);
		if (rc < 0)
			return rc;
		if (in->from_invalid)
			eval_invalid_from(in, opt, a, &res->authors[i]);
		if (res->authors[i].reason == NULL)
			return -ENOMEM;
	}
	if (more)
		eval_omitted(in, opt, names[BOUND_DMARC_AUTHOR_DOMAINS],
		    &res->authors[n++]);
	for (i = 0; i < n; i++)
		if (res->decisive == NULL ||
		    stricter(&res->authors[i], res->decisive))
			res->decisive = &res->authors[i];
	res->author_count = n;
	res->result = res->decisive->result;
	res->reason = res->decisive->reason;
	res->disposition = res->decisive->disposition;
	res->overrides = res->decisive->overrides;
	if (in->from_invalid &&
	    result_rank(res->result) < result_rank(AUTH_PERMERROR)) {
		res->result = AUTH_PERMERROR;
		res->reason =
		    in->from_why != NULL ? in->from_why : "several From fields";
	}
	*ret = res;
	return 0;
}
