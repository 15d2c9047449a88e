/*
 * spf.c -- RFC 7208 check_host(): identities, record lookup and
 * selection, mechanism and modifier evaluation, the processing limits,
 * the explanation, and the Received-SPF header.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "authmilter/bounds.h"
#include "authmilter/log.h"
#include "authmilter/span.h"
#include "authmilter/spf.h"

/* The explanation when the domain publishes none (RFC 7208 section 6.2
 * leaves the default to the receiver). */
#define SPF_DEFAULT_EXP "%{d} does not designate %{c} as permitted sender"
/* Nesting of include and redirect; the lookup limit ends every chain
 * before this, so it is a backstop only. */
#define SPF_MAX_DEPTH (SPF_MAX_LOOKUPS + 2)

/* How one mechanism went. */
enum spf_match {
	SPF_NOMATCH = 0,
	SPF_MATCH,
	SPF_ERROR, /* ev->error says why; ev->error_result which */
};

struct spf_eval {
	const struct spf_request *req;
	struct arena *a;
	struct spf_macro_env env; /* domain set per expansion */
	unsigned lookups, voids, queries;
	enum auth_result error_result; /* temperror or permerror */
	const char *error;             /* the first error's reason */
	/* the PTR walk (RFC 7208 section 5.5), done once for ptr and %{p} */
	bool ptr_done, ptr_void;
	size_t nvalid;
	const char *valid[SPF_MAX_NAMES];
};

/* What check_host() returned, and the record behind a fail (for exp). */
struct spf_outcome {
	enum auth_result result;
	const char *mechanism;
	const struct spf_record *rec;
	const char *domain;
};

static int spf_check_host(
    struct spf_eval *, const char *, unsigned, struct spf_outcome *);

int
spf_ip_parse(const char *s, struct spf_ip *ret_ip)
{
	struct spf_ip ip;

	memset(&ip, 0, sizeof(ip));
	if (inet_pton(AF_INET, s, ip.addr) == 1)
		ip.family = AF_INET;
	else if (inet_pton(AF_INET6, s, ip.addr) == 1) {
		ip.family = AF_INET6;
		/* RFC 7208 section 5: IPv4-mapped IPv6 is IPv4 */
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)ip.addr)) {
			memmove(ip.addr, ip.addr + 12, 4);
			memset(ip.addr + 4, 0, 12);
			ip.family = AF_INET;
		}
	} else
		return -EINVAL;
	*ret_ip = ip;
	return 0;
}

const char *
spf_identity_name(enum spf_identity identity)
{
	return identity == SPF_HELO ? "helo" : "mailfrom";
}

/* Record the first error of the evaluation (later ones are consequences). */
static enum spf_match spf_error(struct spf_eval *ev, enum auth_result r,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum spf_match
spf_error(struct spf_eval *ev, enum auth_result r, const char *fmt, ...)
{
	char text[512];
	va_list ap;
	size_t i;

	if (ev->error == NULL) {
		va_start(ap, fmt);
		vsnprintf(text, sizeof(text), fmt, ap);
		va_end(ap);
		/* names and terms come from DNS: keep the reason printable */
		for (i = 0; text[i] != '\0'; i++)
			if ((unsigned char)text[i] < 0x20 ||
			    (unsigned char)text[i] > 0x7e)
				text[i] = '?';
		ev->error = arena_strdup(ev->a, text);
		if (ev->error == NULL)
			ev->error = "out of memory";
		ev->error_result = r;
	}
	return SPF_ERROR;
}

static void
spf_answer_release(void *p)
{
	dns_answer_unref(p);
}

/* One query. A name the resolver refuses as invalid does not exist.
 * @return 0 with *ret (released with the arena; status DNS_NODATA for an
 * empty DNS_OK), or -ENOMEM. */
static int
spf_query(struct spf_eval *ev, const char *name, enum dns_type type,
    const struct dns_answer **ret, enum dns_status *ret_status)
{
	struct dns_answer *ans;
	int error;

	error = dns_query(ev->req->dns, name, type, &ans);
	if (error == -EINVAL) {
		*ret = NULL;
		*ret_status = DNS_NXDOMAIN;
		return 0;
	}
	if (error != 0)
		return error;
	ev->queries++;
	if (arena_cleanup(ev->a, spf_answer_release, ans) != 0)
		return -ENOMEM;
	*ret = ans;
	*ret_status =
	    ans->status == DNS_OK && ans->count == 0 ? DNS_NODATA : ans->status;
	return 0;
}

/* RFC 7208 section 4.6.4: more than two void lookups is a permerror. */
static enum spf_match
spf_void(struct spf_eval *ev, const char *name)
{
	if (++ev->voids > SPF_MAX_VOID_LOOKUPS)
		return spf_error(ev, AUTH_PERMERROR,
		    "more than %d void lookups (at %s)", SPF_MAX_VOID_LOOKUPS,
		    name);
	return SPF_NOMATCH;
}

/* RFC 7208 section 4.6.4: at most 10 terms that query DNS. */
static enum spf_match
spf_count_lookup(struct spf_eval *ev, const char *t, size_t n)
{
	if (++ev->lookups > SPF_MAX_LOOKUPS)
		return spf_error(ev, AUTH_PERMERROR,
		    "more than %d DNS lookups (at \"%.*s\")", SPF_MAX_LOOKUPS,
		    (int)(n > 80 ? 80 : n), t);
	return SPF_NOMATCH;
}

/* RFC 7208 section 7.3: a domain name longer than 253 bytes loses labels
 * from the left; a final dot is dropped. */
static const char *
spf_trim_name(char *s, size_t len)
{
	if (len > 0 && s[len - 1] == '.')
		s[--len] = '\0';
	while (len > 253) {
		char *dot = memchr(s, '.', len);

		if (dot == NULL)
			return s; /* one long label: invalid anyway */
		len -= (size_t)(dot + 1 - s);
		s = dot + 1;
	}
	return s;
}

/* The target name of a term: spec expanded for domain, or domain itself.
 * *ret_name is NULL when the result is not a valid domain name (the name
 * cannot exist). @return SPF_NOMATCH (go on), SPF_ERROR (macro error:
 * permerror), or -ENOMEM. */
static int
spf_target(struct spf_eval *ev, const char *domain, const char *spec,
    size_t len, const char **ret_name)
{
	const char *why = NULL, *name;
	struct buf b;
	char *copy;
	int error;

	if (spec == NULL) {
		*ret_name = domain;
		return SPF_NOMATCH;
	}
	buf_init(&b, BOUND_SPF_MACRO_BYTES);
	ev->env.domain = domain;
	error =
	    spf_macro_expand(&ev->env, spec, len, SPF_MACRO_DOMAIN, &b, &why);
	if (error == -ENOMEM) {
		buf_free(&b);
		return -ENOMEM;
	}
	if (error != 0) {
		buf_free(&b);
		return spf_error(ev, AUTH_PERMERROR, "%s: %s in \"%.*s\"",
		    domain, why, (int)(len > 80 ? 80 : len), spec);
	}
	copy = arena_memdup(ev->a, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	if (copy == NULL)
		return -ENOMEM;
	name = spf_trim_name(copy, strlen(copy));
	*ret_name = dns_name_valid(name) ? name : NULL;
	return SPF_NOMATCH;
}

static bool
spf_prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

/* Whether one of the addresses of ans is within bits of the client. */
static bool
spf_answer_match(
    const struct spf_eval *ev, const struct dns_answer *ans, unsigned bits)
{
	size_t alen = ev->env.ip->family == AF_INET ? 4 : 16, i;

	for (i = 0; i < ans->count; i++)
		if (ans->rrs[i].len == alen &&
		    spf_prefix_match(ans->rrs[i].data, ev->env.ip->addr, bits))
			return true;
	return false;
}

static enum dns_type
spf_addr_type(const struct spf_eval *ev)
{
	return ev->env.ip->family == AF_INET ? DNS_T_A : DNS_T_AAAA;
}

/* Look up the addresses of name and compare. void: whether an empty
 * answer counts as a void lookup. @return a match value or -ENOMEM. */
static int
spf_addr_lookup(
    struct spf_eval *ev, const char *name, unsigned bits, bool count_void)
{
	const struct dns_answer *ans;
	enum dns_status st;
	int error;

	error = spf_query(ev, name, spf_addr_type(ev), &ans, &st);
	if (error != 0)
		return error;
	if (st == DNS_TEMPFAIL)
		return spf_error(ev, AUTH_TEMPERROR, "%s %s: %s", name,
		    dns_type_name(spf_addr_type(ev)), ans->why);
	if (st != DNS_OK)
		return count_void ? (int)spf_void(ev, name) : SPF_NOMATCH;
	return spf_answer_match(ev, ans, bits) ? SPF_MATCH : SPF_NOMATCH;
}

/* RFC 7208 section 5.4: the addresses of at most 10 MX hosts. */
static int
spf_mx(struct spf_eval *ev, const char *name, unsigned bits)
{
	const struct dns_answer *ans;
	enum dns_status st;
	size_t i;
	int error, m;

	error = spf_query(ev, name, DNS_T_MX, &ans, &st);
	if (error != 0)
		return error;
	if (st == DNS_TEMPFAIL)
		return spf_error(
		    ev, AUTH_TEMPERROR, "%s MX: %s", name, ans->why);
	if (st != DNS_OK)
		return spf_void(ev, name);
	/* RFC 7208 section 4.6.4: more than 10 MX records is a permerror */
	if (ans->count > SPF_MAX_NAMES)
		return spf_error(ev, AUTH_PERMERROR,
		    "%s has more than %d MX records", name, SPF_MAX_NAMES);
	for (i = 0; i < ans->count; i++) {
		const char *host = (const char *)ans->rrs[i].data;

		/* a null MX (RFC 7505) names no host */
		if (ans->rrs[i].len == 0 || strcmp(host, ".") == 0 ||
		    !dns_name_valid(host))
			continue;
		m = spf_addr_lookup(ev, host, bits, false);
		if (m != SPF_NOMATCH)
			return m;
	}
	return SPF_NOMATCH;
}

/* The reverse name of the client: in-addr.arpa or ip6.arpa. */
static void
spf_reverse_name(const struct spf_ip *ip, struct buf *b)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	if (ip->family == AF_INET) {
		buf_addf(b, "%u.%u.%u.%u.in-addr.arpa", ip->addr[3],
		    ip->addr[2], ip->addr[1], ip->addr[0]);
		return;
	}
	for (i = 15; i >= 0; i--)
		buf_addf(
		    b, "%c.%c.", hex[ip->addr[i] & 15], hex[ip->addr[i] >> 4]);
	buf_adds(b, "ip6.arpa");
}

/* RFC 7208 section 5.5: the PTR names of the client (the first 10) whose
 * addresses include the client. DNS errors only make names unusable. */
static int
spf_ptr_walk(struct spf_eval *ev)
{
	const struct dns_answer *ans, *fwd;
	enum dns_status st;
	struct buf b;
	size_t i;
	int error;

	if (ev->ptr_done)
		return 0;
	ev->ptr_done = true;
	buf_init(&b, BOUND_DOMAIN_LEN);
	spf_reverse_name(ev->env.ip, &b);
	error = spf_query(ev, buf_cstr(&b), DNS_T_PTR, &ans, &st);
	buf_free(&b);
	if (error != 0)
		return error;
	ev->ptr_void = st == DNS_NXDOMAIN || st == DNS_NODATA;
	if (st != DNS_OK)
		return 0;
	for (i = 0; i < ans->count && i < SPF_MAX_NAMES; i++) {
		const char *name = (const char *)ans->rrs[i].data;

		if (!dns_name_valid(name))
			continue;
		error = spf_query(ev, name, spf_addr_type(ev), &fwd, &st);
		if (error != 0)
			return error;
		if (st == DNS_OK &&
		    spf_answer_match(
		        ev, fwd, ev->env.ip->family == AF_INET ? 32 : 128))
			ev->valid[ev->nvalid++] = name;
	}
	return 0;
}

/* %{p} (RFC 7208 section 7.3): domain itself if validated, else a
 * validated subdomain of it, else any validated name, else "unknown". */
static const char *
spf_validated_name(void *ctx, const char *domain)
{
	struct spf_eval *ev = ctx;
	size_t i;

	if (spf_ptr_walk(ev) != 0)
		return NULL;
	for (i = 0; i < ev->nvalid; i++)
		if (strcasecmp(ev->valid[i], domain) == 0)
			return ev->valid[i];
	for (i = 0; i < ev->nvalid; i++)
		if (span_in_domain(ev->valid[i], strlen(ev->valid[i]), domain))
			return ev->valid[i];
	return ev->nvalid > 0 ? ev->valid[0] : "unknown";
}

static int
spf_ptr(struct spf_eval *ev, const char *target)
{
	int error = spf_ptr_walk(ev);
	size_t i;

	if (error != 0)
		return error;
	if (ev->ptr_void && spf_void(ev, "PTR of the client") != SPF_NOMATCH)
		return SPF_ERROR;
	for (i = 0; i < ev->nvalid; i++)
		if (span_in_domain(ev->valid[i], strlen(ev->valid[i]), target))
			return SPF_MATCH;
	return SPF_NOMATCH;
}

/* RFC 7208 section 5.2: include matches on pass; fail, softfail and
 * neutral do not match; temperror is temperror; permerror and none are
 * permerror. */
static int
spf_include(
    struct spf_eval *ev, const char *domain, const char *target, unsigned depth)
{
	struct spf_outcome sub;
	int error;

	if (target == NULL)
		return spf_error(ev, AUTH_PERMERROR,
		    "%s: include target is not a valid domain name", domain);
	error = spf_check_host(ev, target, depth + 1, &sub);
	if (error != 0)
		return error;
	switch (sub.result) {
	case AUTH_PASS:
		return SPF_MATCH;
	case AUTH_NONE:
		return spf_error(ev, AUTH_PERMERROR,
		    "%s: included domain %s has no SPF record", domain, target);
	case AUTH_TEMPERROR:
	case AUTH_PERMERROR:
		return SPF_ERROR;
	default:
		return SPF_NOMATCH;
	}
}

/* Evaluate one directive of domain's record. @return a match value or
 * -ENOMEM. */
static int
spf_term_eval(struct spf_eval *ev, const char *domain, const struct spf_term *t,
    unsigned depth)
{
	const struct spf_ip *ip = ev->env.ip;
	const char *target;
	int m;

	switch (t->mech) {
	case SPF_M_ALL:
		return SPF_MATCH;
	case SPF_M_IP4:
		return ip->family == AF_INET &&
		       spf_prefix_match(t->addr, ip->addr, t->cidr4);
	case SPF_M_IP6:
		return ip->family == AF_INET6 &&
		       spf_prefix_match(t->addr, ip->addr, t->cidr6);
	default:
		break;
	}
	if (spf_count_lookup(ev, t->text, t->text_len) != SPF_NOMATCH)
		return SPF_ERROR;
	m = spf_target(ev, domain, t->spec, t->spec_len, &target);
	if (m != SPF_NOMATCH)
		return m;
	if (target == NULL && t->mech != SPF_M_INCLUDE)
		return SPF_NOMATCH; /* an invalid name does not exist */
	switch (t->mech) {
	case SPF_M_INCLUDE:
		return spf_include(ev, domain, target, depth);
	case SPF_M_A:
		return spf_addr_lookup(ev, target,
		    ip->family == AF_INET ? t->cidr4 : t->cidr6, true);
	case SPF_M_MX:
		return spf_mx(
		    ev, target, ip->family == AF_INET ? t->cidr4 : t->cidr6);
	case SPF_M_PTR:
		return spf_ptr(ev, target);
	case SPF_M_EXISTS: {
		/* RFC 7208 section 5.7: always an A query */
		const struct dns_answer *ans;
		enum dns_status st;
		int error = spf_query(ev, target, DNS_T_A, &ans, &st);

		if (error != 0)
			return error;
		if (st == DNS_TEMPFAIL)
			return spf_error(
			    ev, AUTH_TEMPERROR, "%s A: %s", target, ans->why);
		return st == DNS_OK ? SPF_MATCH : (int)spf_void(ev, target);
	}
	default:
		return SPF_NOMATCH;
	}
}

/* RFC 7208 sections 4.4 and 4.5: the one SPF record of domain. *ret_rec
 * is NULL when there is none (out->result says none, temperror or
 * permerror). @return 0 or -ENOMEM. */
static int
spf_fetch(struct spf_eval *ev, const char *domain, struct spf_outcome *out,
    const struct spf_record **ret_rec)
{
	const struct dns_answer *ans;
	const struct dns_rr *found = NULL;
	struct spf_record *rec;
	enum dns_status st;
	const char *why;
	size_t i, n = 0;
	int error;

	*ret_rec = NULL;
	error = spf_query(ev, domain, DNS_T_TXT, &ans, &st);
	if (error != 0)
		return error;
	if (st == DNS_TEMPFAIL) {
		spf_error(ev, AUTH_TEMPERROR, "%s TXT: %s", domain, ans->why);
		out->result = AUTH_TEMPERROR;
		return 0;
	}
	for (i = 0; st == DNS_OK && i < ans->count; i++)
		if (spf_record_is_spf(ans->rrs[i].data, ans->rrs[i].len)) {
			found = &ans->rrs[i];
			n++;
		}
	if (n == 0) {
		out->result = AUTH_NONE;
		return 0;
	}
	if (n > 1) {
		/* RFC 7208 section 4.5: more than one record is permerror */
		spf_error(
		    ev, AUTH_PERMERROR, "%s has %zu SPF records", domain, n);
		out->result = AUTH_PERMERROR;
		return 0;
	}
	error = spf_record_parse(
	    ev->a, (const char *)found->data, found->len, &rec, &why);
	if (error == -ENOMEM)
		return error;
	if (error != 0) {
		spf_error(ev, AUTH_PERMERROR, "%s: %s", domain, why);
		out->result = AUTH_PERMERROR;
		return 0;
	}
	*ret_rec = rec;
	return 0;
}

/* RFC 7208 section 6.1: redirect= when no mechanism matched; a target
 * without a record is a permerror. */
static int
spf_redirect(struct spf_eval *ev, const char *domain,
    const struct spf_record *rec, unsigned depth, struct spf_outcome *out)
{
	const char *target = NULL;
	int m;

	m = spf_count_lookup(ev, "redirect", 8);
	if (m == SPF_NOMATCH)
		m = spf_target(
		    ev, domain, rec->redirect, rec->redirect_len, &target);
	if (m < 0)
		return m;
	if (m == SPF_NOMATCH && target == NULL)
		m = spf_error(ev, AUTH_PERMERROR,
		    "%s: redirect target is not a valid domain name", domain);
	if (m == SPF_ERROR) {
		out->result = ev->error_result;
		return 0;
	}
	m = spf_check_host(ev, target, depth + 1, out);
	if (m == 0 && out->result == AUTH_NONE) {
		spf_error(ev, AUTH_PERMERROR,
		    "%s: redirect target %s has no SPF record", domain, target);
		out->result = AUTH_PERMERROR;
	}
	return m;
}

/* check_host() (RFC 7208 section 4) on an already valid domain. */
static int
spf_check_host(struct spf_eval *ev, const char *domain, unsigned depth,
    struct spf_outcome *out)
{
	const struct spf_record *rec;
	const struct spf_term *t;
	size_t i;
	int m;

	memset(out, 0, sizeof(*out));
	out->domain = domain;
	if (depth > SPF_MAX_DEPTH) {
		spf_error(ev, AUTH_PERMERROR, "%s: nesting too deep", domain);
		out->result = AUTH_PERMERROR;
		return 0;
	}
	m = spf_fetch(ev, domain, out, &rec);
	if (m != 0 || rec == NULL)
		return m;
	out->rec = rec;
	/* RFC 7208 section 4.6.2: the first matching mechanism decides */
	for (i = 0; i < rec->nterms; i++) {
		t = &rec->terms[i];
		m = spf_term_eval(ev, domain, t, depth);
		if (m < 0)
			return m;
		if (m == SPF_ERROR) {
			out->result = ev->error_result;
			return 0;
		}
		if (m == SPF_MATCH) {
			out->result = t->qualifier;
			out->mechanism =
			    arena_memdup(ev->a, t->text, t->text_len);
			return out->mechanism == NULL ? -ENOMEM : 0;
		}
	}
	if (rec->redirect != NULL)
		return spf_redirect(ev, domain, rec, depth, out);
	/* RFC 7208 section 4.7: nothing matched, no redirect: neutral */
	out->result = AUTH_NEUTRAL;
	out->mechanism = "default";
	return 0;
}

/* Expand a macro-string for domain into an arena string. @return 0 with
 * *ret (NULL when the string does not expand: bad syntax or too long),
 * or -ENOMEM. */
static int
spf_expand(struct spf_eval *ev, const char *domain, const char *s, size_t len,
    enum spf_macro_kind kind, char **ret)
{
	const char *why;
	struct buf b;
	int error;

	*ret = NULL;
	buf_init(&b, BOUND_SPF_MACRO_BYTES);
	ev->env.domain = domain;
	error = spf_macro_expand(&ev->env, s, len, kind, &b, &why);
	if (error == 0)
		*ret = arena_memdup(ev->a, b.data != NULL ? b.data : "", b.len);
	buf_free(&b);
	if (error == -ENOMEM || (error == 0 && *ret == NULL))
		return -ENOMEM;
	return 0;
}

/* RFC 7208 section 6.2: the exp= text of the record that failed. Any
 * problem (macro, DNS, not exactly one TXT record, bad text) leaves
 * *ret NULL: the default explanation applies. Not counted against the
 * lookup limits. */
static int
spf_exp_text(struct spf_eval *ev, const struct spf_outcome *out, char **ret)
{
	const struct dns_answer *ans;
	enum dns_status st;
	const char *name;
	char *target;
	int error;

	*ret = NULL;
	error = spf_expand(ev, out->domain, out->rec->exp, out->rec->exp_len,
	    SPF_MACRO_DOMAIN, &target);
	if (error != 0 || target == NULL)
		return error;
	name = spf_trim_name(target, strlen(target));
	if (!dns_name_valid(name))
		return 0;
	error = spf_query(ev, name, DNS_T_TXT, &ans, &st);
	if (error != 0 || st != DNS_OK || ans->count != 1)
		return error;
	return spf_expand(ev, out->domain, (const char *)ans->rrs[0].data,
	    ans->rrs[0].len, SPF_MACRO_EXP, ret);
}

static int
spf_explain(
    struct spf_eval *ev, const struct spf_outcome *out, const char **ret)
{
	const char *def = ev->req->default_exp != NULL ? ev->req->default_exp
	                                               : SPF_DEFAULT_EXP;
	char *text = NULL;
	int error = 0;

	if (out->rec != NULL && out->rec->exp != NULL)
		error = spf_exp_text(ev, out, &text);
	if (error == 0 && text == NULL)
		error = spf_expand(
		    ev, out->domain, def, strlen(def), SPF_MACRO_EXP, &text);
	if (error != 0)
		return error;
	*ret = text != NULL ? text : def;
	return 0;
}

/* RFC 7208 sections 2.3, 2.4 and 4.3: the <sender> and <domain> of an
 * identity; a missing local-part is "postmaster". */
static int
spf_sender(
    struct spf_eval *ev, enum spf_identity identity, struct spf_result *res)
{
	const struct spf_request *req = ev->req;
	const char *helo = req->helo != NULL ? req->helo : "";
	const char *from = req->mail_from, *at;
	char *local = NULL, *sender;
	const char *domain;

	if (identity == SPF_HELO || from == NULL || from[0] == '\0') {
		domain = helo;
	} else if ((at = strrchr(from, '@')) == NULL) {
		domain = from;
	} else {
		domain = at + 1;
		if (at > from && (local = arena_memdup(ev->a, from,
		                      (size_t)(at - from))) == NULL)
			return -ENOMEM;
	}
	if (local == NULL)
		local = "postmaster";
	sender = arena_alloc(ev->a, strlen(local) + strlen(domain) + 2);
	if (sender == NULL)
		return -ENOMEM;
	strcpy(sender, local);
	strcat(sender, "@");
	strcat(sender, domain);
	ev->env.sender = res->sender = sender;
	ev->env.local = local;
	ev->env.sender_domain = res->domain = domain;
	ev->env.ip = &req->ip;
	ev->env.helo = helo;
	ev->env.receiver = req->receiver;
	ev->env.now = req->now;
	ev->env.validated_name = spf_validated_name;
	ev->env.ctx = ev;
	return 0;
}

/* RFC 7208 section 4.3: a malformed domain (bad label length, empty
 * label, a single label, a domain literal) gives none. The identity is a
 * host name: letters, digits, '-', '_' and dots, nothing that could make
 * two spellings of one domain (quotes, brackets, '\'). */
static bool
spf_domain_ok(const char *d)
{
	size_t len = strlen(d);

	if (len > 0 && d[len - 1] == '.')
		len--;
	if (!dns_name_valid(d) || memchr(d, '.', len) == NULL)
		return false;
	return strspn(d, "abcdefghijklmnopqrstuvwxyz"
	                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") >= len;
}

/* The reason of a result that is not an error. */
static const char *
spf_reason(struct spf_eval *ev, const struct spf_outcome *out)
{
	struct buf b;
	const char *s;

	buf_init(&b, 512);
	if (out->result == AUTH_NONE)
		buf_addf(&b, "no SPF record for %s", out->domain);
	else if (strcmp(out->mechanism, "default") == 0)
		buf_addf(&b, "no mechanism matched in %s (default neutral)",
		    out->domain);
	else {
		buf_adds(&b, "matched ");
		log_quote(&b, out->mechanism, strlen(out->mechanism));
		buf_addf(&b, " in %s", out->domain);
	}
	s = arena_strdup(ev->a, buf_cstr(&b));
	buf_free(&b);
	return s;
}

int
spf_check(const struct spf_request *req, enum spf_identity identity,
    struct arena *a, struct spf_result **ret_result)
{
	struct spf_outcome out;
	struct spf_result *res;
	struct spf_eval ev;
	int error;

	memset(&ev, 0, sizeof(ev));
	ev.req = req;
	ev.a = a;
	res = arena_zalloc(a, sizeof(*res));
	if (res == NULL || spf_sender(&ev, identity, res) != 0)
		return -ENOMEM;
	res->identity = identity;
	if (!spf_domain_ok(res->domain)) {
		res->result = AUTH_NONE;
		res->reason = res->domain[0] == '\0'
		                  ? "no domain to check"
		                  : "not a valid multi-label domain name";
	} else {
		error = spf_check_host(&ev, res->domain, 0, &out);
		if (error != 0)
			return error;
		res->result = out.result;
		res->mechanism = out.mechanism;
		if (out.result == AUTH_TEMPERROR ||
		    out.result == AUTH_PERMERROR)
			res->reason = ev.error != NULL ? ev.error : "error";
		else if ((res->reason = spf_reason(&ev, &out)) == NULL)
			return -ENOMEM;
		if (out.result == AUTH_FAIL &&
		    (error = spf_explain(&ev, &out, &res->explanation)) != 0)
			return error;
	}
	res->lookups = ev.lookups;
	res->void_lookups = ev.voids;
	res->queries = ev.queries;
	*ret_result = res;
	return 0;
}

/* RFC 5322 section 3.2.3: dot-atom-text, so the value needs no quotes. */
static bool
spf_dot_atom(const char *s)
{
	bool dot = true;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '.') {
			if (dot)
				return false;
			dot = true;
			continue;
		}
		if (c <= 0x20 || c >= 0x7f || strchr("()<>[]:;@\\,\".", c))
			return false;
		dot = false;
	}
	return !dot;
}

/* Text for a comment or quoted-string: printable ASCII only, with the
 * given specials escaped as quoted-pairs. */
static void
spf_text(struct buf *b, const char *s, const char *specials)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c > 0x7e)
			continue;
		if (strchr(specials, c) != NULL)
			buf_addc(b, '\\');
		buf_addc(b, (char)c);
	}
}

/* key=value; (RFC 7208 section 9.1: dot-atom or quoted-string) */
static void
spf_key_value(struct buf *b, const char *key, const char *value)
{
	buf_addf(b, " %s=", key);
	if (spf_dot_atom(value))
		buf_adds(b, value);
	else {
		buf_addc(b, '"');
		spf_text(b, value, "\"\\");
		buf_addc(b, '"');
	}
	buf_addc(b, ';');
}

/* The comment of RFC 7208 section 9.1, as in its examples. */
static void
spf_received_comment(struct buf *b, const struct spf_request *req,
    const struct spf_result *res, const char *ip)
{
	struct buf c;

	buf_init(&c, 1024);
	if (req->receiver != NULL)
		buf_addf(&c, "%s: ", req->receiver);
	switch (res->result) {
	case AUTH_PASS:
		buf_addf(&c, "domain of %s designates %s as permitted sender",
		    res->sender, ip);
		break;
	case AUTH_FAIL:
		buf_addf(&c,
		    "domain of %s does not designate %s as permitted "
		    "sender",
		    res->sender, ip);
		break;
	case AUTH_SOFTFAIL:
		buf_addf(&c,
		    "domain of transitioning %s does not designate "
		    "%s as permitted sender",
		    res->sender, ip);
		break;
	case AUTH_NEUTRAL:
		buf_addf(&c,
		    "%s is neither permitted nor denied by domain of "
		    "%s",
		    ip, res->sender);
		break;
	case AUTH_NONE:
		buf_addf(&c,
		    "domain of %s does not designate permitted "
		    "sender hosts",
		    res->sender);
		break;
	case AUTH_TEMPERROR:
		buf_addf(
		    &c, "error in processing during lookup of %s", res->sender);
		break;
	default:
		buf_addf(&c, "permanent error in processing domain of %s",
		    res->domain);
		break;
	}
	buf_adds(b, " (");
	spf_text(b, buf_cstr(&c), "()\\");
	buf_addc(b, ')');
	buf_free(&c);
}

void
spf_received(
    struct buf *b, const struct spf_request *req, const struct spf_result *res)
{
	char ip[INET6_ADDRSTRLEN];

	if (inet_ntop(req->ip.family, req->ip.addr, ip, sizeof(ip)) == NULL)
		strcpy(ip, "unknown");
	buf_adds(b, auth_result_name(res->result));
	spf_received_comment(b, req, res, ip);
	spf_key_value(b, "client-ip", ip);
	spf_key_value(
	    b, "envelope-from", req->mail_from != NULL ? req->mail_from : "");
	spf_key_value(b, "helo", req->helo != NULL ? req->helo : "");
	if (req->receiver != NULL)
		spf_key_value(b, "receiver", req->receiver);
	spf_key_value(b, "identity", spf_identity_name(res->identity));
	if (res->mechanism != NULL)
		spf_key_value(b, "mechanism", res->mechanism);
	if (res->result == AUTH_TEMPERROR || res->result == AUTH_PERMERROR)
		spf_key_value(b, "problem", res->reason);
	if (b->len > 0 && b->data[b->len - 1] == ';')
		buf_truncate(b, b->len - 1);
}
