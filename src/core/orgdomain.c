/*
 * orgdomain.c -- organizational domains and DMARC policy discovery: the
 * RFC 9989 DNS tree walk, and the Public Suffix List through libpsl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpsl.h>

#include "authmilter/orgdomain.h"
#include "authmilter/span.h"

/* RFC 9989 section 4.10: "no more than eight DNS queries". */
#define WALK_MAX_QUERIES 8
/* Section 4.10 step 4: names of 8 or more labels are cut to 7. */
#define WALK_CUT_LABELS 7

struct orgdomain {
	enum orgdomain_method method;
	psl_ctx_t *psl; /* psl method only; read-only once loaded */
};

/* One name of a walk at which exactly one DMARC record was found. */
struct walk_hit {
	const char *name; /* arena-owned */
	const char *txt;  /* arena-owned, NUL-terminated */
	size_t len;
	enum orgdomain_psd psd;
};

struct walk {
	enum orgdomain_status status;
	const char *why;
	struct walk_hit hits[WALK_MAX_QUERIES];
	size_t count;
	unsigned queries;
	unsigned discarded;
};

int
orgdomain_new(const struct orgdomain_options *opt, struct orgdomain **ret,
    const char **ret_why)
{
	struct orgdomain *o;

	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		*ret_why = "out of memory";
		return -ENOMEM;
	}
	o->method = opt->method;
	if (o->method == ORGDOMAIN_PSL) {
		if (opt->psl_path != NULL)
			o->psl = psl_load_file(opt->psl_path);
		else
			o->psl = psl_latest(ORGDOMAIN_PSL_DEFAULT);
		if (o->psl == NULL) {
			free(o);
			*ret_why = "cannot load the public suffix list";
			return -ENOENT;
		}
	}
	*ret = o;
	return 0;
}

struct orgdomain *
orgdomain_free(struct orgdomain *o)
{
	if (o == NULL)
		return NULL;
	psl_free(o->psl);
	free(o);
	return NULL;
}

enum orgdomain_method
orgdomain_get_method(const struct orgdomain *o)
{
	return o->method;
}

const char *
orgdomain_method_name(enum orgdomain_method m)
{
	return m == ORGDOMAIN_PSL ? "psl" : "treewalk";
}

int
orgdomain_method_parse(const char *s, enum orgdomain_method *ret)
{
	if (strcmp(s, "psl") == 0)
		*ret = ORGDOMAIN_PSL;
	else if (strcmp(s, "treewalk") == 0)
		*ret = ORGDOMAIN_TREEWALK;
	else
		return -EINVAL;
	return 0;
}

char *
orgdomain_name_norm(struct arena *a, const char *domain, int *ret_err)
{
	size_t len = strlen(domain), i;
	char *s;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	/* host names only: letters, digits, '-', '_' and dots; no quotes,
	 * brackets or '\' that would let two spellings align */
	if (strspn(domain, "abcdefghijklmnopqrstuvwxyz"
	                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") < len) {
		*ret_err = -EINVAL;
		return NULL;
	}
	s = arena_memdup(a, domain, len);
	if (s == NULL) {
		*ret_err = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
	if (!dns_name_valid(s)) {
		*ret_err = -EINVAL;
		return NULL;
	}
	return s;
}

static size_t
name_labels(const char *name)
{
	size_t n = 1;

	for (; *name != '\0'; name++)
		if (*name == '.')
			n++;
	return n;
}

/* The right-most k labels of name (k <= its label count). */
static const char *
name_suffix(const char *name, size_t k)
{
	size_t skip = name_labels(name) - k;

	while (skip-- > 0)
		name = strchr(name, '.') + 1;
	return name;
}

static const char *
arena_fmt2(struct arena *a, const char *fmt, const char *s1, const char *s2)
{
	char tmp[BOUND_DOMAIN_LEN + 256];

	snprintf(tmp, sizeof(tmp), fmt, s1, s2);
	return arena_strdup(a, tmp);
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool
orgdomain_tag_next(
    const char **cur, const char *end, struct tag *ret, const char **ret_why)
{
	struct tag_list l;
	const char *s, *e, *semi, *why = NULL;
	size_t where;

	while (*cur < end) {
		s = *cur;
		/* RFC 9989 section 4.8: dmarc-value excludes ';', so ';'
		 * always separates tags. */
		semi = memchr(s, ';', (size_t)(end - s));
		e = semi != NULL ? semi : end;
		*cur = semi != NULL ? semi + 1 : end;
		while (s < e && is_wsp(*s))
			s++;
		while (e > s && is_wsp(e[-1]))
			e--;
		if (s == e)
			continue;
		if (tags_parse(s, (size_t)(e - s), &l, &why, &where) == 0 &&
		    l.count == 1) {
			*ret = l.tags[0];
			return true;
		}
		memset(ret, 0, sizeof(*ret));
		ret->value = s;
		ret->value_len = (size_t)(e - s);
		*ret_why = why != NULL ? why : "not a tag-spec";
		return true;
	}
	return false;
}

bool
orgdomain_sniff(const char *txt, size_t len, enum orgdomain_psd *ret_psd)
{
	const char *cur = txt, *end = txt + len, *why;
	struct tag t;
	enum orgdomain_psd psd = ORGDOMAIN_PSD_U;
	unsigned seen = 0;

	*ret_psd = ORGDOMAIN_PSD_U;
	/* RFC 9989 section 4.7: v MUST be first, value "DMARC1" case
	 * sensitive. */
	if (len == 0 || !orgdomain_tag_next(&cur, end, &t, &why) ||
	    !span_eq(t.name, t.name_len, "v") || t.value_len != 6 ||
	    memcmp(t.value, "DMARC1", 6) != 0)
		return false;
	while (orgdomain_tag_next(&cur, end, &t, &why)) {
		if (!span_eq(t.name, t.name_len, "psd"))
			continue;
		seen++;
		if (tags_value_is(&t, "y"))
			psd = ORGDOMAIN_PSD_Y;
		else if (tags_value_is(&t, "n"))
			psd = ORGDOMAIN_PSD_N;
		else
			psd = ORGDOMAIN_PSD_U;
	}
	/* a psd given twice is discarded (section 4.8): default u */
	*ret_psd = seen == 1 ? psd : ORGDOMAIN_PSD_U;
	return true;
}

/* RFC 9989 section 4.10 steps 1-2 / 5-6: query _dmarc.<name>, keep the
 * DMARC records, drop them all when there are several. */
static int
walk_level(
    struct dns_resolver *r, struct arena *a, const char *name, struct walk *w)
{
	char q[BOUND_DOMAIN_LEN + 8];
	struct dns_answer *ans;
	const struct dns_rr *one = NULL;
	enum orgdomain_psd psd, one_psd = ORGDOMAIN_PSD_U;
	size_t i, n = 0;
	int rc;

	if ((size_t)snprintf(q, sizeof(q), "_dmarc.%s", name) >= sizeof(q) ||
	    !dns_name_valid(q))
		return 0; /* too long to exist: no record there */
	rc = dns_query(r, q, DNS_T_TXT, &ans);
	if (rc == -EINVAL)
		return 0;
	if (rc < 0)
		return rc;
	w->queries++;
	if (ans->status == DNS_TEMPFAIL) {
		w->status = ORGDOMAIN_TEMPFAIL;
		w->why = arena_fmt2(a, "TXT %s: %s", q, ans->why);
		dns_answer_unref(ans);
		return w->why == NULL ? -ENOMEM : 0;
	}
	for (i = 0; ans->status == DNS_OK && i < ans->count; i++) {
		if (orgdomain_sniff((const char *)ans->rrs[i].data,
		        ans->rrs[i].len, &psd)) {
			one = &ans->rrs[i];
			one_psd = psd;
			n++;
		}
	}
	rc = 0;
	if (n > 1) {
		w->discarded++;
		w->why = arena_fmt2(
		    a, "%s: %s", q, "several DMARC records, all discarded");
		rc = w->why == NULL ? -ENOMEM : 0;
	} else if (n == 1) {
		struct walk_hit *h = &w->hits[w->count];

		h->name = arena_strdup(a, name);
		h->txt = arena_memdup(a, one->data, one->len);
		h->len = one->len;
		h->psd = one_psd;
		if (h->name == NULL || h->txt == NULL)
			rc = -ENOMEM;
		w->count++;
	}
	dns_answer_unref(ans);
	return rc;
}

/* RFC 9989 section 4.10: the walk from start up to the root, stopping at
 * a record with psd=y or psd=n; at most 8 queries. */
static int
walk_run(
    struct dns_resolver *r, struct arena *a, const char *start, struct walk *w)
{
	const char *t = start;
	size_t n, before;
	int rc;

	memset(w, 0, sizeof(*w));
	w->why = "";
	for (;;) {
		before = w->count;
		rc = walk_level(r, a, t, w);
		if (rc < 0 || w->status != ORGDOMAIN_OK)
			return rc;
		if (w->count > before &&
		    w->hits[w->count - 1].psd != ORGDOMAIN_PSD_U)
			break; /* steps 2 and 6: psd=y/n, stop */
		n = name_labels(t);
		if (n <= 1)
			break;
		/* step 4: x >= 8 labels -> keep 7; else drop one */
		if (n > WALK_CUT_LABELS + 1)
			t = name_suffix(t, WALK_CUT_LABELS);
		else
			t = strchr(t, '.') + 1;
	}
	return 0;
}

/* RFC 9989 section 4.10.2: choose the organizational domain from the
 * records found, longest name first. The walk stopped at the first psd=y
 * or psd=n, so only its last hit can carry one. */
static const char *
walk_org(const struct walk *w, const char *start)
{
	const struct walk_hit *last;

	if (w->count == 0)
		return start; /* "the initial target domain" */
	last = &w->hits[w->count - 1];
	if (last->psd == ORGDOMAIN_PSD_N)
		return last->name; /* rule 1 */
	if (last->psd == ORGDOMAIN_PSD_Y && strcmp(last->name, start) != 0)
		return name_suffix(start, name_labels(last->name) + 1);
	return last->name; /* rule 3: fewest labels */
}

/* RFC 9989 section 4.10.1: the record of the author domain, else of its
 * organizational domain, else of its public suffix domain. */
static const struct walk_hit *
walk_policy(const struct walk *w, const char *start, const char *org)
{
	size_t i;

	if (w->count == 0)
		return NULL;
	if (strcmp(w->hits[0].name, start) == 0)
		return &w->hits[0];
	for (i = 0; i < w->count; i++)
		if (strcmp(w->hits[i].name, org) == 0)
			return &w->hits[i];
	if (w->hits[w->count - 1].psd == ORGDOMAIN_PSD_Y)
		return &w->hits[w->count - 1];
	return NULL;
}

static const char *
psl_org(const struct orgdomain *o, const char *name)
{
	const char *reg = psl_registrable_domain(o->psl, name);

	/* a public suffix itself, or unlisted: the name is its own org */
	return reg != NULL ? reg : name;
}

/* RFC 9989 appendix A.4: a name exists unless the answer is NXDOMAIN. */
static int
policy_relation(struct dns_resolver *r, struct orgdomain_policy *p)
{
	struct dns_answer *ans;
	int rc;

	if (strcmp(p->policy_domain, p->domain) == 0) {
		p->relation = ORGDOMAIN_SELF;
		return 0;
	}
	rc = dns_query(r, p->domain, DNS_T_A, &ans);
	if (rc < 0)
		return rc;
	if (ans->status == DNS_NXDOMAIN)
		p->relation = ORGDOMAIN_NXSUBDOMAIN;
	else if (ans->status == DNS_TEMPFAIL)
		p->relation = ORGDOMAIN_SUBDOMAIN_UNKNOWN;
	else
		p->relation = ORGDOMAIN_SUBDOMAIN;
	dns_answer_unref(ans);
	return 0;
}

static int
policy_psl(const struct orgdomain *o, struct dns_resolver *r, struct arena *a,
    struct walk *w, struct orgdomain_policy *p)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->why = "";
	p->org_domain = psl_org(o, p->domain);
	rc = walk_level(r, a, p->domain, w);
	if (rc == 0 && w->status == ORGDOMAIN_OK && w->count == 0 &&
	    strcmp(p->org_domain, p->domain) != 0)
		rc = walk_level(r, a, p->org_domain, w);
	return rc;
}

/* The normalised name, or (status INVALID) a copy of it as given, for
 * the reason. @return 0 or -ENOMEM. */
static int
name_or_invalid(struct arena *a, const char *domain, const char **ret_name,
    enum orgdomain_status *ret_status, const char **ret_why)
{
	int err = 0;

	*ret_name = orgdomain_name_norm(a, domain, &err);
	if (*ret_name != NULL)
		return 0;
	if (err == -ENOMEM)
		return err;
	*ret_status = ORGDOMAIN_INVALID;
	*ret_why = "not a valid domain name";
	*ret_name = arena_strdup(a, domain);
	return *ret_name == NULL ? -ENOMEM : 0;
}

int
orgdomain_policy(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const char *domain, struct orgdomain_policy *ret)
{
	struct orgdomain_policy p;
	const struct walk_hit *h;
	struct walk w;
	int rc;

	memset(&p, 0, sizeof(p));
	p.method = o->method;
	p.why = "";
	rc = name_or_invalid(a, domain, &p.domain, &p.status, &p.why);
	if (rc < 0 || p.status == ORGDOMAIN_INVALID) {
		if (rc == 0)
			*ret = p;
		return rc;
	}
	if (o->method == ORGDOMAIN_PSL) {
		rc = policy_psl(o, r, a, &w, &p);
	} else {
		rc = walk_run(r, a, p.domain, &w);
		p.org_domain = walk_org(&w, p.domain);
	}
	if (rc < 0)
		return rc;
	p.status = w.status;
	p.why = w.why;
	p.queries = w.queries;
	p.discarded = w.discarded;
	if (p.status == ORGDOMAIN_OK) {
		h = o->method == ORGDOMAIN_PSL
		        ? (w.count > 0 ? &w.hits[0] : NULL)
		        : walk_policy(&w, p.domain, p.org_domain);
		if (h != NULL) {
			p.record = h->txt;
			p.record_len = h->len;
			p.policy_domain = h->name;
			rc = policy_relation(r, &p);
			if (rc < 0)
				return rc;
		}
	} else {
		p.org_domain = NULL;
	}
	*ret = p;
	return 0;
}

int
orgdomain_find(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const char *domain, struct orgdomain_org *ret)
{
	struct orgdomain_org g;
	struct walk w;
	int rc;

	memset(&g, 0, sizeof(g));
	g.why = "";
	rc = name_or_invalid(a, domain, &g.domain, &g.status, &g.why);
	if (rc < 0)
		return rc;
	if (g.status == ORGDOMAIN_INVALID) {
		*ret = g;
		return 0;
	}
	if (o->method == ORGDOMAIN_PSL) {
		g.org_domain = psl_org(o, g.domain);
		*ret = g;
		return 0;
	}
	rc = walk_run(r, a, g.domain, &w);
	if (rc < 0)
		return rc;
	g.status = w.status;
	g.why = w.why;
	g.queries = w.queries;
	if (g.status == ORGDOMAIN_OK)
		g.org_domain = walk_org(&w, g.domain);
	*ret = g;
	return 0;
}
