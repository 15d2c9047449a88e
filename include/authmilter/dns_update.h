/*
 * dns_update.h -- what key rotation asks of DNS besides ordinary lookups:
 * the zone a name lives in (its SOA and NS set, through a recursive
 * resolver), the addresses of the zone's servers, one TXT question put
 * to one authoritative server without recursion, and RFC 2136 DNS UPDATE
 * signed with TSIG (RFC 8945) to the zone's primary.
 *
 * ldns builds, signs and sends every packet (ldns_update_pkt_new,
 * ldns_pkt_tsig_sign, ldns_resolver_send_pkt) and checks the TSIG of the
 * reply; nothing here writes DNS wire format by hand.
 *
 * Results: lookups return answers in the form of dns.h (status ok /
 * nxdomain / nodata / tempfail with a why); updates return 0 or a
 * negative errno that says what kind of failure it was, with a human
 * reason in a caller buffer.
 *
 * Threads: no shared state; every call makes and frees its own ldns
 * resolver. Blocking: each call waits at most timeout_ms per server
 * tried.
 */
#ifndef AUTHMILTER_DNS_UPDATE_H
#define AUTHMILTER_DNS_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/bounds.h"
#include "authmilter/buf.h"
#include "authmilter/dns.h"
#include "authmilter/dns_tsig.h"

/* One server: an IPv4 or IPv6 address (text) and a port. */
struct dns_update_server {
	char addr[48];
	unsigned port;
};

/* The recursive resolver(s) to ask: servers in order, or none for those
 * of /etc/resolv.conf. */
struct dns_update_resolver {
	const struct dns_update_server *servers;
	size_t n_servers;
	unsigned timeout_ms; /* per try; 0 = 5000 */
};

/* A zone as the resolver sees it. Names are lower-case, without the
 * final dot. */
struct dns_update_zone {
	char apex[BOUND_DOMAIN_LEN + 1];
	char mname[BOUND_DOMAIN_LEN + 1]; /* SOA MNAME: the primary
	                                   * (RFC 2136 section 4.3) */
	uint32_t soa_ttl, soa_minimum;    /* RFC 2308 section 5 */
	char ns[BOUND_ROTATE_NS][BOUND_DOMAIN_LEN + 1]; /* the NS set */
	size_t n_ns;
	bool ns_truncated; /* more than BOUND_ROTATE_NS were listed */
};

/* dns_update_find_zone -- the zone holding name (a valid domain): the
 * owner of the SOA record the resolver returns for name (in the answer
 * when name is the apex, else in the authority section of the negative
 * answer), then that zone's SOA fields and NS set.
 * @return 0 and *ret; -EAGAIN when the resolver did not answer usefully
 * (timeout, SERVFAIL...), -ENOENT when no SOA came back, -EINVAL for a
 * bad name, -ENOMEM; every failure appends a reason to why. */
int dns_update_find_zone(const struct dns_update_resolver *res,
    const char *name, struct dns_update_zone *ret, struct buf *why);

/* dns_update_addresses -- the A and AAAA addresses of host through the
 * resolver, at most max, each with port.
 * @return 0 and *ret_n (0 when the host has none); -EAGAIN, -EINVAL,
 * -ENOMEM with a reason in why. */
int dns_update_addresses(const struct dns_update_resolver *res,
    const char *host, unsigned port, struct dns_update_server *ret, size_t max,
    size_t *ret_n, struct buf *why);

/* dns_update_query_txt -- ask server (without RD: an authoritative
 * server's own data) for the TXT records of name. An answer without the
 * AA bit is DNS_TEMPFAIL ("not authoritative"), as are timeouts, SERVFAIL
 * and REFUSED. Records are joined as dns.h says.
 * @return 0 and *ret (dns_answer_unref); -EINVAL, -ENOMEM. */
int dns_update_query_txt(const struct dns_update_server *server,
    const char *name, unsigned timeout_ms, struct dns_answer **ret);

/* One change of an update. */
struct dns_update_change {
	const char *name; /* owner, a valid domain inside the zone */
	const char *txt;  /* the TXT data replacing the RRset (cut into
	                   * strings of 255 bytes), or NULL to delete
	                   * the TXT RRset */
	size_t txt_len;
	uint32_t ttl;
	bool only_if_absent; /* prerequisite: no TXT RRset at name
	                      * (RFC 2136 section 2.4.3) */
};

/* dns_update_send -- one UPDATE for zone (RFC 2136 section 2.3, class
 * IN) holding every change (each replacement is "delete the RRset, add
 * the record", section 2.5.2 and 2.5.1, so a rerun is harmless), signed
 * with key, sent over TCP to server; the reply's TSIG must verify.
 * @return 0 when the server applied it (NOERROR); with a reason in why:
 * -EEXIST a prerequisite failed (YXRRSET: a TXT RRset is there already);
 * -EACCES refused (REFUSED, NOTAUTH, a TSIG error such as BADKEY or
 * BADSIG, or a reply whose TSIG does not verify); -ETIMEDOUT no answer
 * (server down, unreachable); -EPROTO another RCODE (NOTZONE, SERVFAIL,
 * FORMERR...); -EINVAL, -ENOMEM. */
int dns_update_send(const struct dns_update_server *server, const char *zone,
    const struct dns_tsig *key, const struct dns_update_change *changes,
    size_t n, unsigned timeout_ms, struct buf *why);

#endif
