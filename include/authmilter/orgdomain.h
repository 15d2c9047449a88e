/*
 * orgdomain.h -- organizational domains and DMARC policy discovery.
 *
 * Two methods, chosen by configuration (OrgDomain treewalk|psl):
 *
 *   treewalk  RFC 9989 section 4.10 (the default). TXT queries for
 *             _dmarc.<name>, starting at the name itself and walking up
 *             label by label; a name of 8 or more labels is first cut to
 *             its 7 right-most labels, so a walk makes at most 8 queries.
 *             At each name, TXT records not starting with v=DMARC1 are
 *             dropped and, if more than one remains, all are dropped
 *             (the name counts as having none). A record with psd=y or
 *             psd=n ends the walk. The organizational domain is chosen
 *             from the records found as section 4.10.2 says; the policy
 *             record is the one at the author domain, else at its
 *             organizational domain, else at its public suffix domain
 *             (section 4.10.1).
 *   psl       RFC 7489 section 3.2 through libpsl: the organizational
 *             domain is the registrable domain of the Public Suffix List
 *             (ICANN and private sections); the policy record is looked
 *             up at the author domain, then at the organizational domain.
 *
 * For np= (RFC 9989 section 4.7, 3.2.13, appendix A.4) the existence of
 * the author domain is tested when its policy record was found at a
 * parent: one A query; NXDOMAIN means it does not exist, any other
 * definite answer (records or NODATA) means it exists. This query is not
 * part of the walk's 8.
 *
 * Records are recognised here only as far as the walk needs (the v tag
 * first, the psd tag); dmarc.h parses them fully. orgdomain_tag_next() is
 * the one splitter of DMARC records, shared with dmarc.c.
 *
 * Memory: a struct orgdomain is built at startup and immutable (the PSL,
 * if loaded, is read-only): share it between threads freely. Results of
 * lookups live in the arena passed in (one per message). Every DNS query
 * goes through the dns_resolver given (normally the cache).
 */
#ifndef AUTHMILTER_ORGDOMAIN_H
#define AUTHMILTER_ORGDOMAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/arena.h"
#include "authmilter/dns.h"
#include "authmilter/tags.h"

/* Debian's publicsuffix package (packaging/install-deps.sh). */
#define ORGDOMAIN_PSL_DEFAULT "/usr/share/publicsuffix/public_suffix_list.dat"

enum orgdomain_method {
	ORGDOMAIN_TREEWALK = 0,
	ORGDOMAIN_PSL,
};

enum orgdomain_status {
	ORGDOMAIN_OK = 0,   /* the lookup completed (a record or not) */
	ORGDOMAIN_TEMPFAIL, /* a query needed did not complete */
	ORGDOMAIN_INVALID,  /* the domain is not a valid domain name */
};

/* Where the policy record was found, relative to the author domain. */
enum orgdomain_relation {
	ORGDOMAIN_SELF = 0,          /* at the author domain: p= applies */
	ORGDOMAIN_SUBDOMAIN,         /* at a parent, author exists: sp= */
	ORGDOMAIN_NXSUBDOMAIN,       /* at a parent, author NXDOMAIN: np= */
	ORGDOMAIN_SUBDOMAIN_UNKNOWN, /* at a parent, the existence query
	                              * failed (DNS tempfail) */
};

/* The psd tag as the walk reads it (RFC 9989 section 4.7). */
enum orgdomain_psd {
	ORGDOMAIN_PSD_U = 0, /* absent, "u" or not valid */
	ORGDOMAIN_PSD_Y,
	ORGDOMAIN_PSD_N,
};

struct orgdomain;

struct orgdomain_options {
	enum orgdomain_method method;
	/* psl only: a PSL file (text or DAFSA). NULL: the newest of
	 * ORGDOMAIN_PSL_DEFAULT and libpsl's built-in list (psl_latest);
	 * a path given is loaded as it is (psl_load_file). */
	const char *psl_path;
};

/* The outcome of policy discovery for one author domain. Strings are
 * lower-case, without the final dot, arena-owned. */
struct orgdomain_policy {
	enum orgdomain_status status;
	const char *why;    /* for TEMPFAIL/INVALID, and notes such
	                     * as discarded duplicate records; ""
	                     * when nothing to say; arena/static */
	const char *domain; /* the author domain asked for */
	const char *record; /* raw TXT (strings joined) of the
	                     * policy record, NUL-terminated; NULL
	                     * when none was found */
	size_t record_len;
	const char *policy_domain; /* where the record was found, or
	                            * NULL */
	const char *org_domain;    /* the author domain's organizational
	                            * domain (always set when OK) */
	enum orgdomain_relation relation;
	enum orgdomain_method method;
	unsigned queries;   /* TXT queries made (<= 8 treewalk) */
	unsigned discarded; /* names where several DMARC records
	                     * were found and all dropped */
};

/* The organizational domain of any domain (an authenticated identifier). */
struct orgdomain_org {
	enum orgdomain_status status;
	const char *why;        /* as above */
	const char *domain;     /* the domain asked for, lower-case */
	const char *org_domain; /* set when OK */
	unsigned queries;
};

/* orgdomain_new -- a discovery context (startup).
 * @return 0 and *ret (caller frees with orgdomain_free); -ENOENT when
 * the PSL could not be loaded, -ENOMEM; *ret_why (static text) says
 * what went wrong. */
int orgdomain_new(const struct orgdomain_options *opt, struct orgdomain **ret,
    const char **ret_why);
/* orgdomain_free -- release; NULL is a no-op. @return NULL */
struct orgdomain *orgdomain_free(struct orgdomain *o);
/* orgdomain_get_method -- the method o uses. */
enum orgdomain_method orgdomain_get_method(const struct orgdomain *o);
/* orgdomain_method_name -- "treewalk" or "psl" (RFC 9990
 * discovery_method values). */
const char *orgdomain_method_name(enum orgdomain_method m);
/* orgdomain_method_parse -- "treewalk" or "psl" (as written on a command
 * line) into *ret. @return 0, or -EINVAL for anything else */
int orgdomain_method_parse(const char *s, enum orgdomain_method *ret);

/* orgdomain_policy -- discover the DMARC policy record and the
 * organizational domain of author domain `domain` (ASCII; a final dot is
 * dropped; case ignored), through resolver r; strings into arena a.
 * DNS outcomes are in ret->status (TEMPFAIL when a TXT query failed
 * temporarily), not in the return value.
 * @return 0 and *ret filled; -ENOMEM. */
int orgdomain_policy(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const char *domain, struct orgdomain_policy *ret);

/* orgdomain_find -- the organizational domain of any domain, for relaxed
 * alignment (RFC 9989 section 4.10.2: its own tree walk, starting at the
 * domain itself; with psl, the registrable domain and no DNS).
 * @return 0 and *ret filled; -ENOMEM. */
int orgdomain_find(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const char *domain, struct orgdomain_org *ret);

/* orgdomain_tag_next -- the next tag of a DMARC record: *cur points into
 * [*cur, end); one ';'-separated tag-spec is split with tags_parse().
 * Empty tag-specs ("a=b;;c=d", a final ';') are skipped. A tag-spec that
 * is not name=value yields *ret with name_len 0 and *ret_why set, so the
 * caller can note it and go on (RFC 9989 section 4.8: syntax errors are
 * discarded, the rest of the record still counts). *cur advances past
 * the tag-spec.
 * @return true with *ret, false at the end of the record. */
bool orgdomain_tag_next(
    const char **cur, const char *end, struct tag *ret, const char **ret_why);

/* orgdomain_sniff -- whether TXT data txt (len bytes) is a DMARC record
 * for the walk: its first tag is v=DMARC1 (tag name case-insensitive,
 * value case-sensitive: RFC 9989 section 4.7). *ret_psd gets its psd tag
 * (ORGDOMAIN_PSD_U unless a single valid psd=y/psd=n). */
bool orgdomain_sniff(const char *txt, size_t len, enum orgdomain_psd *ret_psd);

/* orgdomain_name_norm -- copy domain into arena a lower-cased (ASCII),
 * without a final dot, if it is a valid name of printable ASCII
 * (dns_name_valid). @return the copy; NULL with *ret_err -EINVAL (not a
 * valid name) or -ENOMEM. */
char *orgdomain_name_norm(struct arena *a, const char *domain, int *ret_err);

#endif
