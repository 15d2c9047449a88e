/*
 * dns_update.c -- zones, authoritative questions and RFC 2136 UPDATE
 * over ldns (see dns_update.h).
 *
 * Every question is a fresh ldns resolver aimed at exactly the servers it
 * should reach: the configured recursive resolvers (or resolv.conf) with
 * RD set, or one authoritative server with RD clear. Answers are read
 * with the helpers the dns_ldns backend uses (dns_ldns.h), so a TXT record
 * seen here is byte for byte what the milter would see.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/dns_update.h"
#include "dns_ldns.h"

/* EDNS0 UDP payload size (as dns_ldns.c: the 2020 flag day value). */
#define UPDATE_EDNS_SIZE 1232
/* RFC 8945 section 5.2.3: a fudge of 300 seconds is recommended. */
#define UPDATE_TSIG_FUDGE 300
/* RFC 1035 section 3.3.14: a character-string holds at most 255 bytes. */
#define UPDATE_STRING_MAX 255
/* TSIG RDATA fields (RFC 8945 section 4.2) in ldns's order: algorithm,
 * time signed, fudge, MAC, original id, error, other data. */
#define UPDATE_TSIG_ERROR_RDF 5

static unsigned
update_timeout(unsigned ms)
{
	return ms > 0 ? ms : 5000;
}

/* A resolver for one server (addr@port) or, with server NULL, for those
 * of /etc/resolv.conf. @return NULL with a reason in why. */
static ldns_resolver *
update_resolver(const struct dns_update_server *server, bool recursive,
    unsigned timeout_ms, struct buf *why)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	ldns_resolver *res = NULL;
	uint8_t addr[16];
	ldns_rdf *rdf = NULL;

	if (server == NULL) {
		if (ldns_resolver_new_frm_file(&res, NULL) != LDNS_STATUS_OK ||
		    ldns_resolver_nameserver_count(res) == 0) {
			ldns_resolver_deep_free(res);
			buf_adds(why, "no nameserver in /etc/resolv.conf");
			return NULL;
		}
	} else {
		if (inet_pton(AF_INET, server->addr, addr) == 1)
			rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, addr);
		else if (inet_pton(AF_INET6, server->addr, addr) == 1)
			rdf =
			    ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, addr);
		else {
			buf_addf(
			    why, "\"%s\" is not an IP address", server->addr);
			return NULL;
		}
		res = ldns_resolver_new();
		if (rdf == NULL || res == NULL ||
		    ldns_resolver_push_nameserver(res, rdf) != LDNS_STATUS_OK) {
			ldns_rdf_deep_free(rdf);
			ldns_resolver_deep_free(res);
			buf_adds(why, "out of memory");
			return NULL;
		}
		ldns_rdf_deep_free(rdf);
		ldns_resolver_set_port(res, (uint16_t)server->port);
	}
	ldns_resolver_set_recursive(res, recursive);
	ldns_resolver_set_edns_udp_size(res, UPDATE_EDNS_SIZE);
	ldns_resolver_set_fallback(res, true); /* TCP on TC */
	ldns_resolver_set_defnames(res, false);
	ldns_resolver_set_dnsrch(res, false);
	ldns_resolver_set_random(res, false);
	ldns_resolver_set_timeout(res, tv);
	ldns_resolver_set_retry(res, 2);
	ldns_resolver_set_retrans(res, 0);
	return res;
}

/* name (valid, checked here) as a dname rdf; NULL on a bad name. */
static ldns_rdf *
update_dname(const char *name)
{
	if (!dns_name_valid(name) || strchr(name, ' ') != NULL)
		return NULL;
	return ldns_dname_new_frm_str(name);
}

/* A rdf's name as a lookup key ("" for the root). */
static bool
update_name_of(const ldns_rdf *rdf, char *out, size_t cap)
{
	return dns_ldns_dname_key(rdf, out, cap) >= 0;
}

static const char *
update_rcode_name(ldns_pkt_rcode rc)
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL",
	    "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
	    "NOTAUTH", "NOTZONE"};

	return (unsigned)rc < sizeof(names) / sizeof(*names) ? names[rc]
	                                                     : "unknown RCODE";
}

/* One question through the configured resolvers: each in turn until one
 * answers with NOERROR or NXDOMAIN. @return the packet (ldns_pkt_free),
 * or NULL with the last failure in why. */
static ldns_pkt *
update_ask(const struct dns_update_resolver *r, const ldns_rdf *qname,
    ldns_rr_type type, struct buf *why)
{
	size_t n = r->n_servers > 0 ? r->n_servers : 1, i;
	const struct dns_update_server *srv;
	ldns_resolver *res;
	ldns_pkt *pkt;
	ldns_status st;
	ldns_pkt_rcode rc;

	for (i = 0; i < n; i++) {
		srv = r->n_servers > 0 ? &r->servers[i] : NULL;
		buf_reset(why);
		res = update_resolver(
		    srv, true, update_timeout(r->timeout_ms), why);
		if (res == NULL)
			continue;
		pkt = NULL;
		st = ldns_resolver_send(
		    &pkt, res, qname, type, LDNS_RR_CLASS_IN, LDNS_RD);
		ldns_resolver_deep_free(res);
		if (st != LDNS_STATUS_OK || pkt == NULL) {
			ldns_pkt_free(pkt);
			buf_addf(why, "resolver %s: no answer (%s)",
			    srv ? srv->addr : "of /etc/resolv.conf",
			    ldns_get_errorstr_by_id(st));
			continue;
		}
		rc = ldns_pkt_get_rcode(pkt);
		if (rc == LDNS_RCODE_NOERROR || rc == LDNS_RCODE_NXDOMAIN)
			return pkt;
		buf_addf(why, "resolver %s: %s",
		    srv ? srv->addr : "of /etc/resolv.conf",
		    update_rcode_name(rc));
		ldns_pkt_free(pkt);
	}
	return NULL;
}

/* The first SOA record of a packet section. */
static const ldns_rr *
update_soa(const ldns_rr_list *list)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(list); i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(list, i)) ==
		        LDNS_RR_TYPE_SOA &&
		    ldns_rr_rd_count(ldns_rr_list_rr(list, i)) == 7)
			return ldns_rr_list_rr(list, i);
	return NULL;
}

/* The NS set of the apex into z. */
static int
update_ns_set(const struct dns_update_resolver *r, const ldns_rdf *apex,
    struct dns_update_zone *z, struct buf *why)
{
	const ldns_rr_list *ans;
	const ldns_rr *rr;
	ldns_pkt *pkt;
	size_t i;

	if ((pkt = update_ask(r, apex, LDNS_RR_TYPE_NS, why)) == NULL)
		return -EAGAIN;
	ans = ldns_pkt_answer(pkt);
	for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
		rr = ldns_rr_list_rr(ans, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    ldns_rr_rd_count(rr) != 1 ||
		    ldns_dname_compare(ldns_rr_owner(rr), apex) != 0)
			continue;
		if (z->n_ns == BOUND_ROTATE_NS) {
			z->ns_truncated = true;
			break;
		}
		if (update_name_of(
		        ldns_rr_rdf(rr, 0), z->ns[z->n_ns], sizeof(z->ns[0])))
			z->n_ns++;
	}
	ldns_pkt_free(pkt);
	if (z->n_ns == 0) {
		buf_addf(why, "zone %s: no NS records", z->apex);
		return -ENOENT;
	}
	return 0;
}

int
dns_update_find_zone(const struct dns_update_resolver *r, const char *name,
    struct dns_update_zone *ret, struct buf *why)
{
	ldns_rdf *qname = update_dname(name), *apex = NULL;
	const ldns_rr *soa;
	ldns_pkt *pkt;
	int rc = 0;

	if (qname == NULL) {
		buf_addf(why, "\"%s\" is not a domain name", name);
		return -EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	pkt = update_ask(r, qname, LDNS_RR_TYPE_SOA, why);
	ldns_rdf_deep_free(qname);
	if (pkt == NULL)
		return -EAGAIN;
	/* RFC 2308 section 3: a negative answer carries the zone's SOA in
	 * the authority section; at the apex the SOA is the answer */
	soa = update_soa(ldns_pkt_answer(pkt));
	if (soa == NULL)
		soa = update_soa(ldns_pkt_authority(pkt));
	if (soa == NULL) {
		buf_addf(why,
		    "%s: no SOA in the resolver's answer: cannot "
		    "tell which zone it is in",
		    name);
		rc = -ENOENT;
	} else if (!update_name_of(
	               ldns_rr_owner(soa), ret->apex, sizeof(ret->apex)) ||
	           !update_name_of(
	               ldns_rr_rdf(soa, 0), ret->mname, sizeof(ret->mname))) {
		buf_addf(why, "%s: malformed SOA", name);
		rc = -ENOENT;
	} else {
		ret->soa_ttl = ldns_rr_ttl(soa);
		ret->soa_minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
		apex = ldns_rdf_clone(ldns_rr_owner(soa));
	}
	ldns_pkt_free(pkt);
	if (rc == 0)
		rc = apex != NULL ? update_ns_set(r, apex, ret, why) : -ENOMEM;
	ldns_rdf_deep_free(apex);
	return rc;
}

int
dns_update_addresses(const struct dns_update_resolver *r, const char *host,
    unsigned port, struct dns_update_server *ret, size_t max, size_t *ret_n,
    struct buf *why)
{
	static const ldns_rr_type types[] = {LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA};
	ldns_rdf *qname = update_dname(host);
	const ldns_rr_list *ans;
	const ldns_rr *rr;
	ldns_pkt *pkt;
	size_t t, i, n = 0;
	int af;

	if (qname == NULL) {
		buf_addf(why, "\"%s\" is not a host name", host);
		return -EINVAL;
	}
	for (t = 0; t < 2; t++) {
		if ((pkt = update_ask(r, qname, types[t], why)) == NULL) {
			ldns_rdf_deep_free(qname);
			return -EAGAIN;
		}
		ans = ldns_pkt_answer(pkt);
		af = types[t] == LDNS_RR_TYPE_A ? AF_INET : AF_INET6;
		for (i = 0; i < ldns_rr_list_rr_count(ans) && n < max; i++) {
			rr = ldns_rr_list_rr(ans, i);
			if (ldns_rr_get_type(rr) != types[t] ||
			    ldns_rr_rd_count(rr) != 1 ||
			    ldns_rdf_size(ldns_rr_rdf(rr, 0)) !=
			        (af == AF_INET ? 4u : 16u))
				continue;
			if (inet_ntop(af, ldns_rdf_data(ldns_rr_rdf(rr, 0)),
			        ret[n].addr, sizeof(ret[n].addr)) == NULL)
				continue;
			ret[n++].port = port;
		}
		ldns_pkt_free(pkt);
	}
	ldns_rdf_deep_free(qname);
	*ret_n = n;
	return 0;
}

/* The TXT records of qname in a NOERROR answer, as a dns.h answer. */
static struct dns_answer *
update_txt_answer(const ldns_pkt *pkt, const ldns_rdf *qname)
{
	const ldns_rr_list *ans = ldns_pkt_answer(pkt);
	struct dns_rr rrs[BOUND_DNS_RECORDS];
	size_t i, k, n = 0, cap = 1, off = 0;
	uint32_t ttl = UINT32_MAX;
	struct dns_answer *a;
	const ldns_rr *rr;
	uint8_t *data;

	for (i = 0; i < ldns_rr_list_rr_count(ans); i++)
		for (k = 0, cap++;
		     k < ldns_rr_rd_count(ldns_rr_list_rr(ans, i)); k++)
			cap += ldns_rdf_size(
			    ldns_rr_rdf(ldns_rr_list_rr(ans, i), k));
	if ((data = malloc(cap)) == NULL)
		return NULL;
	for (i = 0; i < ldns_rr_list_rr_count(ans) && n < BOUND_DNS_RECORDS;
	     i++) {
		rr = ldns_rr_list_rr(ans, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT ||
		    ldns_dname_compare(ldns_rr_owner(rr), qname) != 0 ||
		    dns_ldns_rr_data(rr, data + off, cap - off, &rrs[n]) != 0)
			continue;
		off += rrs[n].len + 1;
		if (ldns_rr_ttl(rr) < ttl)
			ttl = ldns_rr_ttl(rr);
		n++;
	}
	a = n > 0 ? dns_answer_new(DNS_OK, ttl, false, NULL, rrs, n)
	          : dns_answer_new(
	                DNS_NODATA, 0, false, "no TXT record", NULL, 0);
	free(data);
	return a;
}

int
dns_update_query_txt(const struct dns_update_server *server, const char *name,
    unsigned timeout_ms, struct dns_answer **ret)
{
	ldns_rdf *qname = update_dname(name);
	struct dns_answer *a;
	ldns_resolver *res;
	ldns_pkt *pkt = NULL;
	ldns_pkt_rcode rc;
	ldns_status st;
	struct buf why;

	if (qname == NULL)
		return -EINVAL;
	buf_init(&why, 256);
	res = update_resolver(server, false, update_timeout(timeout_ms), &why);
	if (res == NULL) {
		a = dns_answer_new(
		    DNS_TEMPFAIL, 0, false, buf_cstr(&why), NULL, 0);
		goto out;
	}
	st = ldns_resolver_send(
	    &pkt, res, qname, LDNS_RR_TYPE_TXT, LDNS_RR_CLASS_IN, 0);
	ldns_resolver_deep_free(res);
	rc = pkt != NULL ? ldns_pkt_get_rcode(pkt) : LDNS_RCODE_SERVFAIL;
	if (st != LDNS_STATUS_OK || pkt == NULL)
		a = dns_answer_new(DNS_TEMPFAIL, 0, false,
		    "no answer (timeout or network error)", NULL, 0);
	else if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN)
		a = dns_answer_new(
		    DNS_TEMPFAIL, 0, false, update_rcode_name(rc), NULL, 0);
	else if (!ldns_pkt_aa(pkt))
		/* RFC 1035 section 4.1.1: only AA answers are the server's
		 * own data; anything else is a lame server or a cache */
		a = dns_answer_new(DNS_TEMPFAIL, 0, false,
		    "not authoritative (no AA bit): lame delegation?", NULL, 0);
	else if (rc == LDNS_RCODE_NXDOMAIN)
		a = dns_answer_new(DNS_NXDOMAIN, 0, false, "NXDOMAIN", NULL, 0);
	else
		a = update_txt_answer(pkt, qname);
out:
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(qname);
	buf_free(&why);
	if (a == NULL)
		return -ENOMEM;
	*ret = a;
	return 0;
}

/* ---- UPDATE ---- */

/* An RR of the update or prerequisite section without RDATA: class ANY
 * deletes an RRset (RFC 2136 section 2.5.2), class NONE in the
 * prerequisites says "RRset does not exist" (section 2.4.3). */
static ldns_rr *
update_empty_rr(const ldns_rdf *owner, ldns_rr_class cls)
{
	ldns_rr *rr = ldns_rr_new();

	if (rr == NULL)
		return NULL;
	ldns_rr_set_owner(rr, ldns_rdf_clone(owner));
	ldns_rr_set_type(rr, LDNS_RR_TYPE_TXT);
	ldns_rr_set_class(rr, cls);
	ldns_rr_set_ttl(rr, 0);
	if (ldns_rr_owner(rr) == NULL) {
		ldns_rr_free(rr);
		return NULL;
	}
	return rr;
}

/* A TXT record holding data cut into character-strings (RFC 1035
 * section 3.3.14). */
static ldns_rr *
update_txt_rr(const ldns_rdf *owner, const char *txt, size_t len, uint32_t ttl)
{
	uint8_t s[UPDATE_STRING_MAX + 1];
	ldns_rr *rr = update_empty_rr(owner, LDNS_RR_CLASS_IN);
	ldns_rdf *rdf;
	size_t n, off = 0;

	if (rr == NULL)
		return NULL;
	ldns_rr_set_ttl(rr, ttl);
	do {
		n = len - off < UPDATE_STRING_MAX ? len - off
		                                  : UPDATE_STRING_MAX;
		s[0] = (uint8_t)n;
		memcpy(s + 1, txt + off, n);
		rdf = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, n + 1, s);
		if (rdf == NULL || !ldns_rr_push_rdf(rr, rdf)) {
			ldns_rdf_deep_free(rdf);
			ldns_rr_free(rr);
			return NULL;
		}
		off += n;
	} while (off < len);
	return rr;
}

/* The prerequisite and update sections for the changes. */
static int
update_sections(const struct dns_update_change *ch, size_t n, ldns_rr_list *pre,
    ldns_rr_list *up, struct buf *why)
{
	ldns_rdf *owner;
	ldns_rr *del, *add, *cond;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((owner = update_dname(ch[i].name)) == NULL) {
			buf_addf(
			    why, "\"%s\" is not a domain name", ch[i].name);
			return -EINVAL;
		}
		del = update_empty_rr(owner, LDNS_RR_CLASS_ANY);
		add = ch[i].txt != NULL ? update_txt_rr(owner, ch[i].txt,
		                              ch[i].txt_len, ch[i].ttl)
		                        : NULL;
		cond = ch[i].only_if_absent
		           ? update_empty_rr(owner, LDNS_RR_CLASS_NONE)
		           : NULL;
		ldns_rdf_deep_free(owner);
		if (del == NULL || (ch[i].txt != NULL && add == NULL) ||
		    (ch[i].only_if_absent && cond == NULL)) {
			ldns_rr_free(del);
			ldns_rr_free(add);
			ldns_rr_free(cond);
			return -ENOMEM;
		}
		ldns_rr_list_push_rr(up, del);
		if (add != NULL)
			ldns_rr_list_push_rr(up, add);
		if (cond != NULL)
			ldns_rr_list_push_rr(pre, cond);
	}
	return 0;
}

/* The TSIG error of a reply (RFC 8945 section 5.3: BADSIG 16, BADKEY 17,
 * BADTIME 18, BADTRUNC 22), or 0. */
static unsigned
update_tsig_error(const ldns_pkt *reply)
{
	const ldns_rr *t = ldns_pkt_tsig(reply);
	const ldns_rdf *e;

	if (t == NULL || ldns_rr_rd_count(t) <= UPDATE_TSIG_ERROR_RDF)
		return 0;
	e = ldns_rr_rdf(t, UPDATE_TSIG_ERROR_RDF);
	return ldns_rdf_size(e) == 2 ? ldns_rdf2native_int16(e) : 0;
}

static const char *
update_tsig_error_name(unsigned e)
{
	switch (e) {
	case 16:
		return "BADSIG: the secret is not the server's";
	case 17:
		return "BADKEY: the server does not know this key name or "
		       "algorithm";
	case 18:
		return "BADTIME: the clocks differ by more than 5 minutes";
	default:
		return "TSIG error";
	}
}

/* What the reply says, as dns_update_send() returns it; verified: whether
 * its TSIG checked against our key. */
static int
update_result(const struct dns_update_server *server, const ldns_pkt *reply,
    bool verified, struct buf *why)
{
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(reply);
	unsigned te = update_tsig_error(reply);

	if (rc == LDNS_RCODE_NOTAUTH || rc == LDNS_RCODE_REFUSED || te != 0) {
		buf_addf(why, "%s@%u refused the update: %s%s%s", server->addr,
		    server->port, update_rcode_name(rc), te ? ", " : "",
		    te ? update_tsig_error_name(te)
		    : rc == LDNS_RCODE_REFUSED
		        ? " (its update policy does not allow this key here)"
		        : "");
		return -EACCES;
	}
	/* RFC 8945 section 5.3: a reply to a signed request is signed; one
	 * that is not, or whose MAC is wrong, did not come from the holder
	 * of the key */
	if (!verified) {
		buf_addf(why, "%s@%u: the reply is %s: not trusted",
		    server->addr, server->port,
		    ldns_pkt_tsig(reply) ? "signed with a TSIG that does not "
		                           "verify"
		                         : "not signed");
		return -EACCES;
	}
	if (rc == LDNS_RCODE_YXRRSET) {
		buf_addf(why, "%s@%u: a TXT record is there already (YXRRSET)",
		    server->addr, server->port);
		return -EEXIST;
	}
	if (rc != LDNS_RCODE_NOERROR) {
		buf_addf(why, "%s@%u answered %s", server->addr, server->port,
		    update_rcode_name(rc));
		return -EPROTO;
	}
	return 0;
}

/* Send the signed packet over TCP (RFC 2136 section 6.1 allows either;
 * TCP carries large records and needs no retransmission) and read the
 * reply. @return 0 and *ret_reply, *ret_verified; or -errno with why. */
static int
update_exchange(const struct dns_update_server *server,
    const struct dns_tsig *key, const ldns_pkt *pkt, unsigned timeout_ms,
    ldns_pkt **ret_reply, bool *ret_verified, struct buf *why)
{
	struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
	struct sockaddr_storage *ss = NULL;
	ldns_buffer *qb = ldns_buffer_new(LDNS_MIN_BUFLEN);
	ldns_rdf *addr = NULL;
	uint8_t *wire = NULL, raw[16];
	size_t sslen = 0, size = 0;
	int r = -ENOMEM;

	if (inet_pton(AF_INET, server->addr, raw) == 1)
		addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, raw);
	else if (inet_pton(AF_INET6, server->addr, raw) == 1)
		addr = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_AAAA, 16, raw);
	else {
		buf_addf(why, "\"%s\" is not an IP address", server->addr);
		r = -EINVAL;
		goto out;
	}
	if (qb == NULL || addr == NULL ||
	    ldns_pkt2buffer_wire(qb, pkt) != LDNS_STATUS_OK ||
	    (ss = ldns_rdf2native_sockaddr_storage(
	         addr, (uint16_t)server->port, &sslen)) == NULL)
		goto out;
	if (ldns_tcp_send(&wire, qb, ss, (socklen_t)sslen, tv, &size) !=
	        LDNS_STATUS_OK ||
	    wire == NULL || size == 0) {
		buf_addf(why,
		    "no answer from %s@%u: server down or "
		    "unreachable",
		    server->addr, server->port);
		r = -ETIMEDOUT;
		goto out;
	}
	if (ldns_wire2pkt(ret_reply, wire, size) != LDNS_STATUS_OK) {
		buf_addf(
		    why, "%s@%u: malformed reply", server->addr, server->port);
		r = -EPROTO;
		goto out;
	}
	*ret_verified = ldns_pkt_tsig(*ret_reply) != NULL &&
	                ldns_pkt_tsig_verify(*ret_reply, wire, size, key->name,
	                    key->secret, ldns_rr_rdf(ldns_pkt_tsig(pkt), 3));
	r = 0;
out:
	free(wire);
	free(ss);
	ldns_rdf_deep_free(addr);
	ldns_buffer_free(qb);
	return r;
}

int
dns_update_send(const struct dns_update_server *server, const char *zone,
    const struct dns_tsig *key, const struct dns_update_change *changes,
    size_t n, unsigned timeout_ms, struct buf *why)
{
	ldns_rr_list *pre = ldns_rr_list_new(), *up = ldns_rr_list_new();
	ldns_rdf *zrdf = update_dname(zone);
	ldns_pkt *pkt = NULL, *reply = NULL;
	bool verified = false;
	ldns_status st;
	int r;

	if (zrdf == NULL || pre == NULL || up == NULL) {
		r = zrdf == NULL ? -EINVAL : -ENOMEM;
		if (zrdf == NULL)
			buf_addf(why, "zone \"%s\" is not a domain name", zone);
		goto out;
	}
	if ((r = update_sections(changes, n, pre, up, why)) != 0)
		goto out;
	/* RFC 2136 section 2.3: the zone section names the zone, class IN */
	pkt = ldns_update_pkt_new(
	    ldns_rdf_clone(zrdf), LDNS_RR_CLASS_IN, pre, up, NULL);
	if (pkt == NULL) {
		r = -ENOMEM;
		goto out;
	}
	ldns_pkt_set_random_id(pkt);
	/* RFC 2136 section 2.2: the bits after the opcode are zero (ldns
	 * sets RD in the packet it starts from) */
	ldns_pkt_set_rd(pkt, false);
	st = ldns_pkt_tsig_sign(pkt, key->name, key->secret, UPDATE_TSIG_FUDGE,
	    key->algorithm, NULL);
	if (st != LDNS_STATUS_OK) {
		buf_addf(why, "cannot sign the update with key %s: %s",
		    key->name, ldns_get_errorstr_by_id(st));
		r = -EINVAL;
		goto out;
	}
	r = update_exchange(server, key, pkt, update_timeout(timeout_ms),
	    &reply, &verified, why);
	if (r == 0)
		r = update_result(server, reply, verified, why);
out:
	ldns_pkt_free(reply);
	ldns_pkt_free(pkt);
	ldns_rdf_deep_free(zrdf);
	ldns_rr_list_deep_free(pre);
	ldns_rr_list_deep_free(up);
	return r;
}
