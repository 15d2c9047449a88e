/*
 * dns_ldns.h -- private to the ldns-based backends (dns_ldns.c,
 * dns_zone.c): turning ldns records into the form of struct dns_rr, so a
 * zone file and a real server give byte-identical answers. Not installed;
 * only dns_* backends include ldns (DESIGN.md layers).
 */
#ifndef AUTHMILTER_DNS_LDNS_PRIV_H
#define AUTHMILTER_DNS_LDNS_PRIV_H

#include <ldns/ldns.h>

#include "authmilter/dns.h"

/* RR type numbers the backends look at besides enum dns_type. */
#define DNS_LDNS_T_CNAME 5
#define DNS_LDNS_T_SOA 6

/* dns_ldns_dname_key -- a wire-format name (rdf of type DNAME) as a
 * lookup key in out (cap bytes): lower-case labels joined with dots, no
 * final dot ("" for the root).
 * @return the length, or -1 for a malformed name, a NUL byte in a label,
 * or a name that does not fit. */
int dns_ldns_dname_key(const ldns_rdf *rdf, char *out, size_t cap);

/* dns_ldns_rr_data -- the data of rr (type A, AAAA, TXT, MX, PTR or
 * CNAME) written to buf (cap bytes) and described by *out (out->data
 * points into buf, NUL-terminated). TXT strings are joined.
 * @return 0, -E2BIG when the data does not fit buf or a TXT record is
 * over BOUND_TXT_BYTES, -EINVAL for malformed data or another type. */
int dns_ldns_rr_data(
    const ldns_rr *rr, uint8_t *buf, size_t cap, struct dns_rr *out);

#endif
