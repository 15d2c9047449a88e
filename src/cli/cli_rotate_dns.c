/*
 * cli_rotate_dns.c -- what `authmilter rotate` asks of DNS: whether
 * records are visible everywhere they must be before a step goes on,
 * and the UPDATEs that publish and retire them (see cli_rotate.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/config_rotate.h"
#include "authmilter/dkim_keymatch.h"
#include "cli_rotate.h"

/* The servers of one zone: NS names and their addresses. */
struct rot_servers {
	struct dns_update_zone zone;
	struct dns_update_server addr[BOUND_ROTATE_NS][BOUND_ROTATE_NS_ADDRS];
	size_t n_addr[BOUND_ROTATE_NS];
};

static enum rot_seen
rot_classify_key(
    const struct rot_record *rec, const struct dns_answer *a, struct buf *what)
{
	enum dkim_keymatch m;

	if (a->count > 1) {
		buf_addf(what,
		    "%zu TXT records (RFC 6376 section 3.6.2.2: "
		    "publish exactly one)",
		    a->count);
		return ROT_WRONG;
	}
	if (dkim_keymatch_record((const char *)a->rrs[0].data, a->rrs[0].len,
	        rec->key, &m, what) != 0) {
		buf_adds(what, "cannot compare the record with the key");
		return ROT_WRONG;
	}
	return m == DKIM_KEYMATCH_OK ? ROT_SEEN : ROT_WRONG;
}

/* One answer against what rec expects; what says what was seen. A
 * tempfail is the caller's (no answer). */
static enum rot_seen
rot_classify(
    const struct rot_record *rec, const struct dns_answer *a, struct buf *what)
{
	enum dkim_keymatch m = DKIM_KEYMATCH_UNUSABLE;
	bool present = a->status == DNS_OK;

	switch (rec->expect) {
	case ROT_EXPECT_KEY:
		if (!present) {
			buf_addf(what, "no record yet (%s)",
			    dns_status_name(a->status));
			return ROT_NOT_YET;
		}
		return rot_classify_key(rec, a, what);
	case ROT_EXPECT_ABSENT:
		if (!present)
			return ROT_SEEN;
		buf_adds(what, "the record is still there");
		return ROT_NOT_YET;
	case ROT_EXPECT_REVOKED:
		if (present && a->count == 1 &&
		    dkim_keymatch_record((const char *)a->rrs[0].data,
		        a->rrs[0].len, rec->key, &m, NULL) == 0 &&
		    m == DKIM_KEYMATCH_REVOKED)
			return ROT_SEEN;
		buf_adds(
		    what, present ? "not the revoked record yet" : "no record");
		return ROT_NOT_YET;
	case ROT_EXPECT_EXACT:
		if (present && a->count == 1 && a->rrs[0].len == rec->len &&
		    memcmp(a->rrs[0].data, rec->data, rec->len) == 0)
			return ROT_SEEN;
		buf_adds(what, present ? "another record" : "no record yet");
		return ROT_NOT_YET;
	}
	return ROT_WRONG;
}

/* The zone of name, its NS set and their addresses. */
static int
rot_servers(
    struct rot_run *r, const char *name, struct rot_servers *s, struct buf *why)
{
	size_t i;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = dns_update_find_zone(&r->res, name, &s->zone, why)) != 0)
		return rc;
	for (i = 0; i < s->zone.n_ns; i++) {
		rc = dns_update_addresses(&r->res, s->zone.ns[i],
		    r->cfg->rotate.auth_port, s->addr[i], BOUND_ROTATE_NS_ADDRS,
		    &s->n_addr[i], why);
		if (rc != 0)
			return rc;
		if (s->n_addr[i] == 0) {
			buf_addf(why, "%s (NS of %s) has no address",
			    s->zone.ns[i], s->zone.apex);
			return -ENOENT;
		}
	}
	return 0;
}

/* One record at one NS name: some address answers as expected and none
 * answers otherwise. */
static enum rot_seen
rot_at_ns(struct rot_run *r, const struct rot_servers *s, size_t ns,
    const struct rot_record *rec, struct buf *why)
{
	const struct dns_update_server *srv;
	struct dns_answer *a = NULL;
	enum rot_seen seen;
	struct buf what;
	size_t i, answered = 0;

	buf_init(&what, 1024);
	for (i = 0; i < s->n_addr[ns]; i++) {
		srv = &s->addr[ns][i];
		buf_reset(&what);
		if (dns_update_query_txt(srv, rec->name, r->timeout_ms, &a) !=
		    0) {
			buf_addf(
			    why, "%s: cannot ask %s", rec->name, srv->addr);
			buf_free(&what);
			return ROT_NOT_YET;
		}
		if (a->status == DNS_TEMPFAIL) {
			buf_reset(why);
			buf_addf(why, "%s (%s@%u) did not answer for %s: %s",
			    s->zone.ns[ns], srv->addr, srv->port, rec->name,
			    a->why);
			a = dns_answer_unref(a);
			continue;
		}
		seen = rot_classify(rec, a, &what);
		a = dns_answer_unref(a);
		if (seen != ROT_SEEN) {
			buf_reset(why);
			buf_addf(why, "%s (%s@%u) for %s: %s", s->zone.ns[ns],
			    srv->addr, srv->port, rec->name, buf_cstr(&what));
			buf_free(&what);
			return seen;
		}
		answered++;
	}
	buf_free(&what);
	return answered > 0 ? ROT_SEEN : ROT_NOT_YET;
}

/* "IP@PORT, ..." of the configured resolver, for messages. */
static void
rot_resolver_text(const struct rot_run *r, struct buf *out)
{
	size_t i;

	if (r->res.n_servers == 0)
		buf_adds(out, "of /etc/resolv.conf");
	for (i = 0; i < r->res.n_servers; i++)
		buf_addf(out, "%s%s@%u", i ? ", " : "", r->res.servers[i].addr,
		    r->res.servers[i].port);
}

/* Through the resolver: anything but the expected answer is a cache
 * still holding the old one (the authoritative servers agree already). */
static enum rot_seen
rot_at_resolver(struct rot_run *r, const struct rot_record *rec,
    uint32_t neg_wait, struct buf *why)
{
	struct dns_answer *a = NULL;
	enum rot_seen seen;
	struct buf what;

	if (dns_query(r->dns, rec->name, DNS_T_TXT, &a) != 0) {
		buf_addf(why, "%s: cannot ask the resolver", rec->name);
		return ROT_NOT_YET;
	}
	buf_init(&what, 1024);
	buf_reset(why);
	buf_adds(why, "resolver ");
	rot_resolver_text(r, why);
	if (a->status == DNS_TEMPFAIL) {
		buf_addf(why, " did not answer for %s: %s", rec->name, a->why);
		seen = ROT_NOT_YET;
	} else if ((seen = rot_classify(rec, a, &what)) != ROT_SEEN) {
		buf_addf(why, " still serves the old answer for %s: %s",
		    rec->name, buf_cstr(&what));
		if (a->status != DNS_OK)
			buf_addf(why,
			    " (cached negative answers expire "
			    "within %us)",
			    neg_wait);
		else
			buf_addf(why, " (cached up to %us)", a->ttl);
		seen = ROT_NOT_YET;
	}
	dns_answer_unref(a);
	buf_free(&what);
	return seen;
}

enum rot_seen
rot_visible(struct rot_run *r, const struct rot_record *recs, size_t n,
    bool resolver, uint32_t *ret_neg_wait, struct buf *why)
{
	struct rot_servers *s = calloc(1, sizeof(*s));
	enum rot_seen seen = ROT_SEEN;
	uint32_t neg;
	size_t i, ns, addrs = 0;

	if (s == NULL || n == 0) {
		free(s);
		buf_adds(why, "nothing to check");
		return n == 0 ? ROT_SEEN : ROT_NOT_YET;
	}
	if (rot_servers(r, recs[0].name, s, why) != 0) {
		free(s);
		return ROT_NOT_YET;
	}
	/* RFC 2308 section 5: a negative answer is cached for the smaller
	 * of the SOA's TTL and its MINIMUM field. The SOA came through the
	 * resolver, whose TTL has counted down: MINIMUM is the bound that
	 * is never short */
	neg = s->zone.soa_minimum;
	if (neg > BOUND_ROTATE_NEG_WAIT)
		neg = BOUND_ROTATE_NEG_WAIT;
	if (ret_neg_wait != NULL)
		*ret_neg_wait = neg;
	for (i = 0; i < n && seen == ROT_SEEN; i++)
		for (ns = 0; ns < s->zone.n_ns && seen == ROT_SEEN; ns++)
			seen = rot_at_ns(r, s, ns, &recs[i], why);
	for (i = 0; i < n && seen == ROT_SEEN && resolver; i++)
		seen = rot_at_resolver(r, &recs[i], neg, why);
	if (seen == ROT_SEEN) {
		for (ns = 0; ns < s->zone.n_ns; ns++)
			addrs += s->n_addr[ns];
		buf_reset(why);
		buf_addf(why,
		    "seen at the %zu name servers of %s (%zu "
		    "addresses)%s%s",
		    s->zone.n_ns, s->zone.apex, addrs,
		    s->zone.ns_truncated ? " (more NS records were not asked)"
		                         : "",
		    resolver ? " and through the resolver" : "");
	}
	free(s);
	return seen;
}

/* Where updates for the zone of name go: RotateUpdateServer, else the
 * addresses of the SOA MNAME (RFC 2136 section 4.3). */
static int
rot_primaries(struct rot_run *r, const char *name, struct dns_update_zone *z,
    struct dns_update_server *ret, size_t max, size_t *ret_n, struct buf *why)
{
	const struct config_nameserver *us = &r->cfg->rotate.update_server;
	int rc;

	if ((rc = dns_update_find_zone(&r->res, name, z, why)) != 0)
		return rc;
	if (us->addr != NULL) {
		snprintf(ret[0].addr, sizeof(ret[0].addr), "%s", us->addr);
		ret[0].port = us->port;
		*ret_n = 1;
		return 0;
	}
	rc = dns_update_addresses(
	    &r->res, z->mname, us->port, ret, max, ret_n, why);
	if (rc == 0 && *ret_n == 0) {
		buf_addf(why,
		    "the primary %s (SOA MNAME of %s) has no address: "
		    "set RotateUpdateServer",
		    z->mname, z->apex);
		rc = -ENOENT;
	}
	return rc;
}

int
rot_update(struct rot_run *r, const struct dns_update_change *changes, size_t n,
    struct buf *why)
{
	struct dns_update_server srv[BOUND_ROTATE_NS_ADDRS];
	struct dns_update_zone z;
	struct dns_tsig key;
	size_t i, ns = 0;
	int rc;

	if ((rc = rot_primaries(r, changes[0].name, &z, srv,
	         BOUND_ROTATE_NS_ADDRS, &ns, why)) != 0)
		return rc;
	if ((rc = config_rotate_tsig(r->cfg, &key, why)) != 0)
		return rc;
	/* the primary's addresses in turn, while it is not reached */
	for (i = 0, rc = -ETIMEDOUT; i < ns && rc == -ETIMEDOUT; i++) {
		buf_reset(why);
		rc = dns_update_send(
		    &srv[i], z.apex, &key, changes, n, r->timeout_ms, why);
	}
	dns_tsig_clear(&key);
	return rc;
}

int
rot_primary_txt(struct rot_run *r, const char *name, struct dns_answer **ret,
    struct buf *why)
{
	struct dns_update_server srv[BOUND_ROTATE_NS_ADDRS];
	struct dns_update_zone z;
	size_t ns = 0;
	int rc;

	if ((rc = rot_primaries(
	         r, name, &z, srv, BOUND_ROTATE_NS_ADDRS, &ns, why)) != 0)
		return rc;
	rc = dns_update_query_txt(&srv[0], name, r->timeout_ms, ret);
	if (rc != 0)
		buf_addf(why, "%s: cannot ask %s", name, srv[0].addr);
	return rc;
}
