/*
 * dns_ldns.c -- the real stub resolver, over ldns.
 *
 * Queries go to the nameservers of the options ("IP[@PORT] ...", IPv4 or
 * IPv6; one port for all, ldns keeps a single port per resolver) or of
 * /etc/resolv.conf, with RD set (RFC 1035 section 4.1.1), EDNS0 and the
 * DO bit (RFC 3225) so a validating resolver can return AD, no search
 * list, and TCP when the UDP answer is truncated (RFC 1035 section
 * 4.2.1, RFC 7766). Mapping:
 *   NOERROR with records of the type for the name, following the CNAME
 *   chain in the answer section (RFC 1034 section 3.6.2)   -> DNS_OK
 *   NOERROR without                                        -> DNS_NODATA
 *   NXDOMAIN                                               -> DNS_NXDOMAIN
 *   SERVFAIL, REFUSED, other RCODEs, timeout, network error -> DNS_TEMPFAIL
 * Negative TTLs are min(SOA TTL, SOA MINIMUM) of the authority section
 * (RFC 2308 section 5), else LDNS_NEG_TTL.
 *
 * Bounds: at most BOUND_DNS_RECORDS records are kept. A TXT record whose
 * joined strings exceed BOUND_TXT_BYTES, or a malformed record, is
 * dropped from the answer; if nothing is left the answer is DNS_NODATA
 * with a why saying so (the data is unusable, and retrying would give
 * the same).
 *
 * Tries: each query is tried `retries` times, each try asking every
 * nameserver once (ldns's own retry count is 1), with the timeout of the
 * options cut to the caller's deadline when there is one. A query no
 * server answered is DNS_TEMPFAIL marked unanswered (not cached).
 *
 * State between queries: an ldns_resolver remembers, per nameserver, an
 * RTT, and ldns_send marks a server that timed out as unreachable
 * (LDNS_RESOLV_RTT_INF) and never asks it again: one lost answer would
 * end every later query of that object with "No (valid) nameservers
 * defined in the resolver", for the life of the process. So every try
 * starts from the same state (ldns_fresh): all servers reachable, UDP,
 * the timeout of that try. The objects are pooled, so this is per object
 * and per try, and needs no lock.
 *
 * Threads: ldns_resolver objects are not thread-safe, so the backend
 * keeps a pool of them under a mutex: a query takes an idle one (or makes
 * a new one) and gives it back; the lock is not held during the query.
 * The pool grows to the number of concurrent queries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/xalloc.h"
#include "dns_ldns.h"

/* Negative TTL when the server sent no SOA (RFC 2308 section 5 wants
 * one; 5 minutes is a common resolver default). */
#define LDNS_NEG_TTL 300
/* CNAME hops followed inside one answer, as in dns_zone.c. */
#define LDNS_CNAME_HOPS 8
/* EDNS0 UDP payload size: the DNS flag day 2020 value that avoids IP
 * fragmentation. */
#define LDNS_EDNS_SIZE 1232

struct ldns_ctx {
	pthread_mutex_t lock;
	ldns_resolver **idle; /* pool of idle resolvers */
	size_t nidle, capidle;
	char *nameservers; /* the option, or NULL: resolv.conf */
	unsigned timeout_ms, retries;
	char servers[256];                 /* "IP@PORT ..." for reasons */
	const struct dns_metrics *metrics; /* borrowed, or NULL */
};

static int backend_query_by(struct dns_resolver *, const char *, enum dns_type,
    uint64_t, struct dns_answer **);
static void backend_free(struct dns_resolver *);

static const struct dns_ops ldns_ops = {
    .free = backend_free,
    .query_by = backend_query_by,
};

/* ---- record data (shared with dns_zone.c) ---- */

int
dns_ldns_dname_key(const ldns_rdf *rdf, char *out, size_t cap)
{
	const uint8_t *d = ldns_rdf_data(rdf);
	size_t n = ldns_rdf_size(rdf), i = 0, o = 0, l;

	if (ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME || cap == 0)
		return -1;
	while (i < n && d[i] != 0) {
		l = d[i++];
		if (l > n - i || o + l + 2 > cap)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (; l > 0; l--, i++) {
			if (d[i] == 0)
				return -1;
			out[o++] =
			    (char)((d[i] >= 'A' && d[i] <= 'Z') ? d[i] + 32
			                                        : d[i]);
		}
	}
	out[o] = '\0';
	return (int)o;
}

/* RFC 1035 section 3.3.14: TXT-DATA is one or more <character-string>s;
 * RFC 7208 section 3.3 and RFC 6376 section 3.6.2.2 join them without
 * separators. */
static int
ldns_txt_join(const ldns_rr *rr, uint8_t *buf, size_t cap, size_t *ret_len)
{
	size_t i, o = 0, l;
	const ldns_rdf *s;

	for (i = 0; i < ldns_rr_rd_count(rr); i++) {
		s = ldns_rr_rdf(rr, i);
		if (ldns_rdf_size(s) < 1)
			return -EINVAL;
		l = ldns_rdf_size(s) - 1;
		if (l > BOUND_TXT_BYTES - o || l + 1 > cap - o)
			return -E2BIG;
		memcpy(buf + o, ldns_rdf_data(s) + 1, l);
		o += l;
	}
	buf[o] = '\0';
	*ret_len = o;
	return 0;
}

int
dns_ldns_rr_data(
    const ldns_rr *rr, uint8_t *buf, size_t cap, struct dns_rr *out)
{
	size_t n = ldns_rr_rd_count(rr), len;
	const ldns_rdf *d = n > 0 ? ldns_rr_rdf(rr, 0) : NULL;
	uint16_t type = (uint16_t)ldns_rr_get_type(rr), pref = 0;
	int rc;

	if (cap == 0)
		return -E2BIG;
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		len = type == DNS_T_A ? 4 : 16;
		if (d == NULL || ldns_rdf_size(d) != len)
			return -EINVAL;
		if (len + 1 > cap)
			return -E2BIG;
		memcpy(buf, ldns_rdf_data(d), len);
		buf[len] = '\0';
		break;
	case DNS_T_TXT:
		if ((rc = ldns_txt_join(rr, buf, cap, &len)) != 0)
			return rc;
		break;
	case DNS_T_MX:
		if (n < 2 || ldns_rdf_size(d) != 2)
			return -EINVAL;
		pref = ldns_rdf2native_int16(d);
		d = ldns_rr_rdf(rr, 1);
		/* FALLTHROUGH */
	case DNS_T_PTR:
	case DNS_LDNS_T_CNAME:
		if (d == NULL)
			return -EINVAL;
		if ((rc = dns_ldns_dname_key(d, (char *)buf, cap)) < 0)
			return ldns_rdf_size(d) + 1 > cap ? -E2BIG : -EINVAL;
		len = (size_t)rc;
		break;
	default:
		return -EINVAL;
	}
	out->pref = pref;
	out->len = len;
	out->data = buf;
	return 0;
}

/* ---- resolvers ---- */

/* Push the nameservers of "IP[@PORT] ..." (spaces, tabs or commas between
 * them). @return NULL or what is wrong. */
static const char *
ldns_push_servers(ldns_resolver *res, const char *spec)
{
	char *copy = xstrdup(spec), *save, *tok, *at;
	const char *err = NULL;
	long port = -1, p;
	uint8_t addr[16];
	ldns_rdf *rdf;

	for (tok = strtok_r(copy, " \t,", &save); tok != NULL && err == NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		p = 53;
		if ((at = strchr(tok, '@')) != NULL) {
			*at++ = '\0';
			p = strtol(at, &at, 10);
			if (*at != '\0' || p < 1 || p > 65535) {
				err = "bad nameserver port";
				break;
			}
		}
		if (port != -1 && p != port)
			err = "all nameservers must use the same port";
		port = p;
		if (inet_pton(AF_INET, tok, addr) == 1)
			rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, addr);
		else if (inet_pton(AF_INET6, tok, addr) == 1)
			rdf =
			    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, addr);
		else {
			err = "nameserver is not an IPv4 or IPv6 address";
			break;
		}
		if (rdf == NULL ||
		    ldns_resolver_push_nameserver(res, rdf) != LDNS_STATUS_OK)
			err = "out of memory";
		ldns_rdf_deep_free(rdf);
	}
	if (err == NULL && port == -1)
		err = "no nameserver given";
	if (err == NULL)
		ldns_resolver_set_port(res, (uint16_t)port);
	free(copy);
	return err;
}

/* A new ldns resolver set up from the options. @return NULL or what is
 * wrong (static text). */
static const char *
ldns_make(const struct ldns_ctx *c, ldns_resolver **ret)
{
	struct timeval tv = {
	    c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
	ldns_resolver *res = NULL;
	const char *err = NULL;

	if (c->nameservers == NULL) {
		if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK)
			return "cannot read nameservers from /etc/resolv.conf";
	} else if ((res = ldns_resolver_new()) == NULL)
		return "out of memory";
	else
		err = ldns_push_servers(res, c->nameservers);
	if (err == NULL && ldns_resolver_nameserver_count(res) == 0)
		err = "no nameserver";
	if (err != NULL) {
		ldns_resolver_deep_free(res);
		return err;
	}
	ldns_resolver_set_recursive(res, true); /* RD */
	ldns_resolver_set_dnssec(res, true);    /* EDNS0, DO bit */
	ldns_resolver_set_edns_udp_size(res, LDNS_EDNS_SIZE);
	ldns_resolver_set_fallback(res, true);  /* TCP on TC */
	ldns_resolver_set_defnames(res, false); /* no search list */
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_random(res, false);
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_retry(res, 1);   /* backend_query_by tries */
	ldns_resolver_set_retrans(res, 0); /* no sleep between tries */
	*ret = res;
	return NULL;
}

/* "IP@PORT ..." of res, for reasons. */
static void
ldns_servers_text(const ldns_resolver *res, char *out, size_t cap)
{
	ldns_rdf **ns = ldns_resolver_nameservers(res);
	size_t i, o = 0;
	char *s;

	out[0] = '\0';
	for (i = 0; i < ldns_resolver_nameserver_count(res) && o < cap; i++) {
		if ((s = ldns_rdf2str(ns[i])) == NULL)
			continue;
		o += (size_t)snprintf(out + o, cap - o, "%s%s@%u",
		    i > 0 ? " " : "", s, ldns_resolver_port(res));
		free(s);
	}
}

static ldns_resolver *
ldns_pool_take(struct ldns_ctx *c, const char **ret_err)
{
	ldns_resolver *res = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->nidle > 0)
		res = c->idle[--c->nidle];
	pthread_mutex_unlock(&c->lock);
	if (res == NULL)
		*ret_err = ldns_make(c, &res);
	return res;
}

static void
ldns_pool_put(struct ldns_ctx *c, ldns_resolver *res)
{
	ldns_resolver **grown;

	pthread_mutex_lock(&c->lock);
	if (c->nidle == c->capidle) {
		grown = realloc(c->idle, (c->capidle * 2 + 4) * sizeof(*grown));
		if (grown != NULL) {
			c->idle = grown;
			c->capidle = c->capidle * 2 + 4;
		}
	}
	if (c->nidle < c->capidle) {
		c->idle[c->nidle++] = res;
		res = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	ldns_resolver_deep_free(res); /* no room: let it go */
}

int
dns_ldns_new(const struct dns_ldns_options *opt, struct dns_resolver **ret,
    const char **ret_why)
{
	struct ldns_ctx *c = xcalloc(1, sizeof(*c));
	struct dns_resolver *r;
	ldns_resolver *res;
	const char *err;

	c->nameservers =
	    opt && opt->nameservers ? xstrdup(opt->nameservers) : NULL;
	c->timeout_ms = opt && opt->timeout_ms ? opt->timeout_ms : 5000;
	c->retries = opt && opt->retries ? opt->retries : 2;
	c->metrics = opt != NULL ? opt->metrics : NULL;
	if (c->retries > 255)
		c->retries = 255;
	if ((err = ldns_make(c, &res)) != NULL) {
		free(c->nameservers);
		free(c);
		*ret_why = err;
		return -EINVAL;
	}
	ldns_servers_text(res, c->servers, sizeof(c->servers));
	if (pthread_mutex_init(&c->lock, NULL) != 0)
		panic("pthread_mutex_init failed");
	ldns_pool_put(c, res);
	r = xcalloc(1, sizeof(*r));
	r->ops = &ldns_ops;
	r->ctx = c;
	atomic_init(&r->queries, 0);
	*ret = r;
	return 0;
}

static void
backend_free(struct dns_resolver *r)
{
	struct ldns_ctx *c = r->ctx;

	while (c->nidle > 0)
		ldns_resolver_deep_free(c->idle[--c->nidle]);
	free(c->idle);
	free(c->nameservers);
	pthread_mutex_destroy(&c->lock);
	free(c);
	free(r);
}

/* ---- answers ---- */

/* RFC 2308 section 5: min(SOA TTL, SOA MINIMUM) from the authority
 * section. */
static uint32_t
ldns_neg_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);
	const ldns_rr *rr;
	uint32_t min;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		rr = ldns_rr_list_rr(auth, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) < 7 ||
		    ldns_rdf_size(ldns_rr_rdf(rr, 6)) != 4)
			continue;
		min = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
		return min < ldns_rr_ttl(rr) ? min : ldns_rr_ttl(rr);
	}
	return LDNS_NEG_TTL;
}

/* The records of type for qname in the answer section, following CNAMEs
 * (RFC 1034 section 3.6.2); records of other names or types are ignored.
 * @return how many (at most BOUND_DNS_RECORDS) in sel, or -1 for a CNAME
 * chain that does not end. */
static int
ldns_select(const ldns_pkt *pkt, const ldns_rdf *qname, enum dns_type type,
    const ldns_rr **sel)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);
	const ldns_rdf *cur = qname;
	const ldns_rr *rr, *cname;
	size_t i;
	int n, hop;

	for (hop = 0; hop <= LDNS_CNAME_HOPS; hop++) {
		n = 0;
		cname = NULL;
		for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			rr = ldns_rr_list_rr(ans, i);
			if (ldns_dname_compare(ldns_rr_owner(rr), cur) != 0)
				continue;
			if (ldns_rr_get_type(rr) == (ldns_rr_type)type &&
			    n < BOUND_DNS_RECORDS)
				sel[n++] = rr;
			else if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			         ldns_rr_rd_count(rr) > 0)
				cname = rr;
		}
		if (n > 0 || cname == NULL)
			return n;
		cur = ldns_rr_rdf(cname, 0);
	}
	return -1;
}

/* Answer from a NOERROR packet. */
static struct dns_answer *
ldns_answer_ok(const ldns_pkt *pkt, const ldns_rdf *qname, enum dns_type type)
{
	const ldns_rr *sel[BOUND_DNS_RECORDS];
	struct dns_rr rrs[BOUND_DNS_RECORDS];
	struct dns_answer *a;
	uint32_t ttl = UINT32_MAX;
	size_t cap = 0, off = 0, i, k, count = 0;
	uint8_t *buf;
	int n = ldns_select(pkt, qname, type, sel);

	if (n < 0)
		return dns_answer_new(
		    DNS_TEMPFAIL, 0, false, "CNAME chain too long", NULL, 0);
	if (n == 0)
		return dns_answer_new(DNS_NODATA, ldns_neg_ttl(pkt),
		    ldns_pkt_ad(pkt), "no record of this type", NULL, 0);
	/* decoded data is never longer than the wire rdata (+ NUL) */
	for (i = 0; i < (size_t)n; i++)
		for (k = 0, cap++; k < ldns_rr_rd_count(sel[i]); k++)
			cap += ldns_rdf_size(ldns_rr_rdf(sel[i], k));
	if ((buf = malloc(cap)) == NULL)
		return NULL;
	for (i = 0; i < (size_t)n; i++) {
		if (dns_ldns_rr_data(
		        sel[i], buf + off, cap - off, &rrs[count]) != 0)
			continue; /* over the bounds or malformed: drop */
		off += rrs[count].len + 1;
		if (ldns_rr_ttl(sel[i]) < ttl)
			ttl = ldns_rr_ttl(sel[i]);
		count++;
	}
	if (count == 0)
		a = dns_answer_new(DNS_NODATA, ldns_neg_ttl(pkt),
		    ldns_pkt_ad(pkt),
		    "every record malformed or over "
		    "BOUND_TXT_BYTES",
		    NULL, 0);
	else
		a = dns_answer_new(
		    DNS_OK, ttl, ldns_pkt_ad(pkt), NULL, rrs, count);
	free(buf);
	return a;
}

/* A DNS_TEMPFAIL answer naming the servers; unanswered when no server
 * replied, cut_short when the caller's deadline ended the waiting. */
static struct dns_answer *
ldns_tempfail(
    const struct ldns_ctx *c, const char *what, bool unanswered, bool cut_short)
{
	struct dns_answer *a;
	char why[512];

	snprintf(why, sizeof(why), "%s: %s", c->servers, what);
	a = dns_answer_new(DNS_TEMPFAIL, 0, false, why, NULL, 0);
	if (a != NULL) {
		a->unanswered = unanswered || cut_short;
		a->cut_short = cut_short;
	}
	return a;
}

static struct dns_answer *
ldns_answer(const struct ldns_ctx *c, const ldns_pkt *pkt,
    const ldns_rdf *qname, enum dns_type type)
{
	switch (ldns_pkt_get_rcode(pkt)) {
	case LDNS_RCODE_NOERROR:
		return ldns_answer_ok(pkt, qname, type);
	case LDNS_RCODE_NXDOMAIN:
		return dns_answer_new(DNS_NXDOMAIN, ldns_neg_ttl(pkt),
		    ldns_pkt_ad(pkt), "NXDOMAIN", NULL, 0);
	case LDNS_RCODE_SERVFAIL:
		return ldns_tempfail(c, "SERVFAIL", false, false);
	case LDNS_RCODE_REFUSED:
		return ldns_tempfail(c, "REFUSED", false, false);
	default:
		return ldns_tempfail(c, "unexpected RCODE", false, false);
	}
}

/* The query name in wire form, built label by label from name (valid,
 * dns_query() checked it): no text parsing, so no escape ("\." or
 * "\DDD", RFC 1035 section 5.1) can change the name that is asked.
 * NULL on a bad name or ENOMEM. */
static ldns_rdf *
ldns_qname(const char *name)
{
	uint8_t wire[BOUND_DOMAIN_LEN + 1];
	size_t len = strlen(name), o = 0, start = 0, i;

	if (!dns_name_valid(name))
		return NULL;
	if (name[len - 1] == '.')
		len--;
	/* RFC 1035 section 3.1: length-prefixed labels, then the root */
	for (i = 0; i <= len; i++) {
		if (i < len && name[i] != '.')
			continue;
		wire[o++] = (uint8_t)(i - start);
		memcpy(wire + o, name + start, i - start);
		o += i - start;
		start = i + 1;
	}
	wire[o++] = 0;
	return ldns_dname_new_frm_data((uint16_t)o, wire);
}

/* Put res in the state every try starts from (see the top of the file):
 * every nameserver reachable, UDP first, this try's timeout. */
static void
ldns_fresh(ldns_resolver *res, unsigned timeout_ms)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	size_t i;

	for (i = 0; i < ldns_resolver_nameserver_count(res); i++)
		ldns_resolver_set_nameserver_rtt(res, i, LDNS_RESOLV_RTT_MIN);
	ldns_resolver_set_usevc(res, false);
	ldns_resolver_set_timeout(res, tv);
}

/* The timeout of the next try: the options' one, or less so that asking
 * every server once ends by the deadline (0: none). @return false when
 * there is no time left for a try. */
static bool
ldns_try_timeout(const struct ldns_ctx *c, const ldns_resolver *res,
    uint64_t deadline, unsigned *ret_ms, bool *ret_cut)
{
	uint64_t now, share;
	size_t n = ldns_resolver_nameserver_count(res);

	*ret_ms = c->timeout_ms;
	*ret_cut = false;
	if (deadline == 0)
		return true;
	now = dns_clock_ms();
	if (now >= deadline)
		return false;
	share = (deadline - now) / (n > 0 ? n : 1);
	if (share == 0)
		return false;
	if (share < c->timeout_ms) {
		*ret_ms = (unsigned)share;
		*ret_cut = true;
	}
	return true;
}

/* What the metrics call the end of a query: pkt is the reply (NULL: no
 * server replied), a the answer made of it. */
static enum dns_outcome
ldns_outcome(const ldns_pkt *pkt, const struct dns_answer *a)
{
	if (pkt == NULL)
		return a->unanswered ? DNS_OUTCOME_TIMEOUT : DNS_OUTCOME_ERROR;
	switch (ldns_pkt_get_rcode(pkt)) {
	case LDNS_RCODE_NOERROR:
		return a->status == DNS_OK       ? DNS_OUTCOME_ANSWER
		       : a->status == DNS_NODATA ? DNS_OUTCOME_NODATA
		                                 : DNS_OUTCOME_ERROR;
	case LDNS_RCODE_NXDOMAIN:
		return DNS_OUTCOME_NXDOMAIN;
	case LDNS_RCODE_SERVFAIL:
		return DNS_OUTCOME_SERVFAIL;
	default:
		return DNS_OUTCOME_ERROR;
	}
}

static int
backend_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline, struct dns_answer **ret_answer)
{
	struct ldns_ctx *c = r->ctx;
	ldns_status st = LDNS_STATUS_NETWORK_ERR;
	const char *err = NULL;
	ldns_resolver *res;
	ldns_pkt *pkt = NULL;
	struct dns_answer *a;
	bool cut = false;
	unsigned try, ms;
	uint64_t t0 = c->metrics != NULL ? dns_clock_us() : 0;
	ldns_rdf *qname = ldns_qname(name);

	if (qname == NULL)
		return -EINVAL;
	if ((res = ldns_pool_take(c, &err)) == NULL) {
		ldns_rdf_deep_free(qname);
		a = ldns_tempfail(c, err, true, false);
		goto out;
	}
	atomic_fetch_add(&r->queries, 1);
	for (try = 0; try < c->retries; try++) {
		if (!ldns_try_timeout(c, res, deadline, &ms, &cut)) {
			cut = true;
			break;
		}
		ldns_fresh(res, ms);
		st = ldns_resolver_send(&pkt, res, qname, (ldns_rr_type)type,
		    LDNS_RR_CLASS_IN, LDNS_RD);
		if (st == LDNS_STATUS_OK && pkt != NULL)
			break;
		ldns_pkt_free(pkt);
		pkt = NULL;
	}
	ldns_pool_put(c, res);
	if (pkt != NULL)
		a = ldns_answer(c, pkt, qname, type);
	else if (cut)
		a = ldns_tempfail(
		    c, "no answer before the deadline", true, true);
	else
		a = ldns_tempfail(c,
		    st == LDNS_STATUS_NETWORK_ERR ? "timeout or network error"
		                                  : ldns_get_errorstr_by_id(st),
		    true, false);
	if (a != NULL && c->metrics != NULL)
		dns_metrics_query(c->metrics, type, ldns_outcome(pkt, a),
		    dns_clock_us() - t0);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(qname);
out:
	if (a == NULL)
		return -ENOMEM;
	*ret_answer = a;
	return 0;
}
