/*
 * dmarc.h -- DMARC (RFC 9989): policy records, identifier alignment and
 * the disposition of a message.
 *
 * Three steps:
 *   dmarc_record_parse()  one TXT record -> struct dmarc_record
 *                         (RFC 9989 sections 4.7, 4.8, 4.10.1)
 *   dmarc_discover()      the DNS work: for each author domain its policy
 *                         record and organizational domain, and the
 *                         organizational domain of each authenticated
 *                         identifier relaxed alignment needs (section
 *                         4.10.2), through orgdomain.h
 *   dmarc_evaluate()      a pure function of the input (author domains,
 *                         every DKIM result, the SPF result, the client
 *                         IP), the discovery and the local options: no
 *                         DNS, no clock, no dependence on the order in
 *                         which results arrived
 *
 * Record parsing. v=DMARC1 must be the first tag (else the record is not
 * DMARC and is ignored). Tag names and the keyword values are matched
 * case-insensitively; whitespace around ';', '=' and ',' is allowed.
 * Known tags: p sp np adkim aspf fo rua ruf psd t. Unknown tags are
 * ignored (section 4.7), which includes the tags RFC 9989 removed: pct,
 * rf and ri (appendix C.5.2; "historic" in the tag registry). A known tag
 * with a value that does not match its grammar is discarded in favour of
 * its default (section 4.8), and a note says so; a tag given twice is a
 * syntax error (RFC 6376 section 3.2, whose tag-list DMARC uses) and is
 * discarded the same way. Then section 4.10.1: a record whose p is absent
 * or not valid, or whose sp or np is not valid, is treated as "p=none"
 * (no sp, no np) when its rua has at least one syntactically valid URI,
 * and otherwise the message gets no DMARC processing (dmarc=none). (Section
 * 4.7 says a record without p is treated as p=none; 4.10.1 is the
 * procedure and adds the rua condition; we follow 4.10.1.)
 *
 * pct= and senders who still publish it. RFC 9989 removed pct (appendix
 * A.6): it is an unknown tag now and is ignored. A record such as
 * "v=DMARC1; p=reject; pct=0" is therefore a full-strength p=reject
 * policy: every failing message gets the reject disposition, not none and
 * not a sample. The RFC's replacement is t=y ("testing"), meant to act as
 * pct=0 did: with t=y the policy applied is one level below the one
 * published (reject -> quarantine, quarantine -> none), recorded with the
 * override reason policy_test_mode; t=n (the default) is pct=100.
 * Percentages between 1 and 99 have no equivalent: the full policy
 * applies. A domain owner who relied on pct=0 to test a stricter policy
 * must publish t=y (pct=0 may stay in the record for older receivers; it
 * changes nothing here).
 *
 * Reporting URIs: rua/ruf are comma-separated; each URI may carry the
 * obsolete "!size" suffix, which is dropped (appendix C.4). Only mailto:
 * URIs are kept (with a valid domain after '@'); other syntactically valid
 * URIs count as valid for the p=none rule above but are not kept; invalid
 * ones are skipped with a note. At most BOUND_DMARC_URIS are kept per
 * list, each at most BOUND_DMARC_URI_LEN bytes.
 *
 * Several author domains (several From headers, or several addresses in
 * one; RFC 9989 section 11.5): each distinct domain is evaluated and the
 * strictest outcome applies (disposition reject > quarantine > none >
 * pass; then result fail > temperror > permerror > none > pass). At most
 * BOUND_DMARC_AUTHOR_DOMAINS distinct domains are evaluated; any one of
 * the rest could publish p=reject, so they count as one more author that
 * fails under p=reject (the local cap and trusted forwarders still
 * apply): any number of author domains ends in the strictest policy
 * among them. No From (or no domain in it) is dmarc=none with a reason;
 * a From without a domain that does not parse is dmarc=permerror (what
 * is done with such mail is the caller's local policy, RequiredFrom).
 * A From that is not a valid RFC 5322 mailbox-list but names domains
 * (from_invalid) is evaluated for each of them and never passes: an
 * aligned pass becomes a fail under the author's policy, and with no
 * policy anywhere the result is permerror.
 *
 * Authentication-Results (RFC 8601, properties registered for method
 * dmarc by RFC 9989 section 9.1): header.from = the author domain, and
 * policy.dmarc = the evaluated policy ("none", "quarantine", "reject":
 * the record's p/sp/np after its own options, i.e. t=, were applied).
 * No other policy.* property is registered for dmarc (applied- and
 * evaluated-disposition are not); the applied disposition and the
 * override reasons belong in the A-R comment and in reports.
 *
 * Memory: parsed records borrow the TXT text; discoveries and results
 * live in the arena passed in. Thread rules: none beyond the arena's
 * (one message per thread); the orgdomain context and resolver are
 * thread-safe.
 */
#ifndef AUTHMILTER_DMARC_H
#define AUTHMILTER_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arc.h"
#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/orgdomain.h"

/* A Domain Owner Assessment Policy (p, sp, np) or an evaluated policy. */
enum dmarc_policy {
	DMARC_POLICY_UNSET = 0, /* tag absent (or discarded) */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

/* What is done with the message (RFC 9990 ActionDispositionType). */
enum dmarc_disposition {
	DMARC_DISP_NONE = 0, /* no action (also: DMARC does not apply) */
	DMARC_DISP_PASS,     /* passed DMARC under an enforcing policy */
	DMARC_DISP_QUARANTINE,
	DMARC_DISP_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED = 0,
	DMARC_ALIGN_STRICT,
};

/* fo= options, a bit set (RFC 9989 section 4.7). */
#define DMARC_FO_0 0x1u
#define DMARC_FO_1 0x2u
#define DMARC_FO_D 0x4u
#define DMARC_FO_S 0x8u

/* Override reasons, a bit set; each is reported as an RFC 9990
 * PolicyOverrideType (dmarc_override_name). */
#define DMARC_OVERRIDE_POLICY_TEST_MODE 0x1u
#define DMARC_OVERRIDE_TRUSTED_FORWARDER 0x2u
#define DMARC_OVERRIDE_LOCAL_POLICY 0x4u
/* a trusted ARC sealer recorded an aligned pass: RFC 9990 type
 * "trusted_forwarder" (failure anticipated by evidence linking the
 * message to a locally kept list of trusted forwarders) */
#define DMARC_OVERRIDE_ARC_SEALER 0x8u

enum dmarc_record_status {
	DMARC_RECORD_OK = 0,    /* a policy applies */
	DMARC_RECORD_NOT_DMARC, /* v=DMARC1 is not the first tag */
	DMARC_RECORD_NO_POLICY, /* p/sp/np not valid and no valid rua:
	                         * no DMARC processing (4.10.1) */
};

/* A span of the TXT text (borrowed, not NUL-terminated). */
struct dmarc_span {
	const char *s;
	size_t len;
};

struct dmarc_record {
	enum dmarc_record_status status;
	const char *why;      /* status reason (static) or "" */
	enum dmarc_policy p;  /* NONE when p_implied */
	enum dmarc_policy sp; /* UNSET when absent */
	enum dmarc_policy np; /* UNSET when absent */
	bool p_implied;       /* p/sp/np were not valid; p=none
	                       * because rua has a valid URI */
	enum dmarc_align adkim;
	enum dmarc_align aspf;
	unsigned fo;               /* DMARC_FO_* (default DMARC_FO_0) */
	struct dmarc_span fo_text; /* fo as published ("0:d"), or
	                            * {"0", 1} by default */
	enum orgdomain_psd psd;
	bool testing;     /* t=y */
	size_t rua_count; /* usable (mailto:) URIs kept */
	struct dmarc_span rua[BOUND_DMARC_URIS]; /* without "!size" */
	size_t ruf_count;
	struct dmarc_span ruf[BOUND_DMARC_URIS];
	size_t rua_valid;  /* syntactically valid rua URIs (any
	                    * scheme), for the p=none rule */
	size_t note_count; /* things ignored, for the logs */
	const char *notes[BOUND_DMARC_NOTES]; /* static text */
};

/* dmarc_record_parse -- parse TXT data txt (len bytes) into *ret, whose
 * spans point into txt (keep it alive). Outcomes are in ret->status.
 * @return 0 (always: a record that is not DMARC or has no policy is an
 * outcome); -EINVAL only when txt is NULL with len > 0. */
int dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *ret);

/* ---- inputs ---- */

enum dmarc_from_state {
	DMARC_FROM_OK = 0,      /* author_domains lists what From gave */
	DMARC_FROM_ABSENT,      /* no From header field */
	DMARC_FROM_UNPARSEABLE, /* a From header that does not parse */
};

enum dmarc_spf_scope {
	DMARC_SPF_MFROM = 0, /* the MAIL FROM domain */
	DMARC_SPF_HELO,      /* HELO: only when MAIL FROM was empty (RFC
	                      * 7208 section 2.4, RFC 9989 section 3.2.4) */
};

struct dmarc_dkim {
	const char *domain;      /* d= (borrowed) */
	const char *selector;    /* s= (borrowed; for reports) */
	enum auth_result result; /* only AUTH_PASS counts; AUTH_POLICY
	                          * (partial l=) does not */
};

struct dmarc_spf {
	const char *domain; /* the domain SPF checked (borrowed) */
	enum dmarc_spf_scope scope;
	enum auth_result result; /* only AUTH_PASS counts */
};

/* Everything dmarc_discover() and dmarc_evaluate() read about a message.
 * All pointers are borrowed. author_domains are the domains of every
 * address of every From header field, in any order, repeats allowed,
 * ASCII (A-labels: RFC 9989 section 5.3.1). */
struct dmarc_input {
	enum dmarc_from_state from_state;
	const char *from_why; /* why From did not parse, or NULL */
	bool from_invalid;    /* FROM_OK, but a From field is not a
	                       * valid mailbox-list (or there are
	                       * several): no author passes */
	const char *const *author_domains;
	size_t author_count;
	bool authors_more;             /* the message has more author domains
	                                * than author_domains lists */
	const struct dmarc_dkim *dkim; /* every DKIM result */
	size_t dkim_count;
	const struct dmarc_spf *spf; /* NULL: SPF not evaluated */
	const char *client_ip;       /* textual IPv4/IPv6, or NULL */
	/* ARC (RFC 8617): whether the chain passed, and what its sealers
	 * recorded (arc_claims(), newest set first) */
	bool arc_pass;
	const struct arc_claim *arc_claims;
	size_t arc_claim_count;
};

/* A trusted forwarder: an IP network, or a domain matched against the d=
 * of passing DKIM signatures (exactly, or any subdomain when written with
 * a leading dot: ".example.net"). */
struct dmarc_forwarder {
	int family; /* AF_INET, AF_INET6, or 0: domain */
	uint8_t net[16];
	unsigned prefix;
	char domain[BOUND_DOMAIN_LEN + 1]; /* lower-case */
};

/* dmarc_forwarder_parse -- "192.0.2.0/24", "2001:db8::/32", "192.0.2.1",
 * "example.net" or ".example.net" into *ret (config time).
 * @return 0, or -EINVAL. */
int dmarc_forwarder_parse(const char *s, struct dmarc_forwarder *ret);

/* Local policy (config). */
struct dmarc_options {
	/* Local cap on what a failing message gets: DMARC_POLICY_UNSET (the
	 * zero value) applies the evaluated policy as it is; QUARANTINE
	 * never rejects; NONE never acts. A cap that lowers the disposition
	 * records DMARC_OVERRIDE_LOCAL_POLICY. */
	enum dmarc_policy max_policy;
	const struct dmarc_forwarder *forwarders; /* borrowed */
	size_t forwarder_count;
	/* Trusted ARC sealers (the AS d=, exactly or as ".suffix"; IP
	 * entries are ignored): when DMARC fails, the chain passed and one
	 * of their AARs recorded an aligned pass for the author domain --
	 * dmarc=pass header.from the author domain, or dkim=pass / spf=pass
	 * for a domain that aligns as the record's adkim / aspf say -- the
	 * policy is not applied (RFC 9989 section 5.4: local policy) and
	 * DMARC_OVERRIDE_ARC_SEALER is recorded. */
	const struct dmarc_forwarder *arc_sealers; /* borrowed */
	size_t arc_sealer_count;
};

/* dmarc_options_init -- defaults (all zero): no cap, no forwarders. */
void dmarc_options_init(struct dmarc_options *opt);

/* ---- discovery ---- */

/* The policy found for one author domain. */
struct dmarc_found {
	struct orgdomain_policy walk; /* status, record text, policy and
	                               * org domain, relation, method,
	                               * queries */
	struct dmarc_record record;   /* parsed walk.record; status
	                               * NOT_DMARC when walk.record is
	                               * NULL */
};

/* The organizational domain of one authenticated identifier. */
struct dmarc_ident_org {
	struct orgdomain_org org;
};

struct dmarc_discovery {
	enum orgdomain_method method;
	size_t author_count;         /* distinct, at most
	                              * BOUND_DMARC_AUTHOR_DOMAINS */
	bool authors_truncated;      /* more distinct domains were given
	                              * (or in.authors_more) */
	struct dmarc_found *authors; /* arena-owned */
	size_t ident_count;
	struct dmarc_ident_org idents[BOUND_DMARC_IDENTIFIERS];
	unsigned queries; /* TXT + existence queries in all */
};

/* dmarc_discover -- the DNS part: dmarc_discover_authors, then
 * dmarc_discover_identifiers. DNS failures are recorded in the discovery
 * (they become temperror in evaluate).
 * @return 0 and *ret (arena-owned); -ENOMEM. */
int dmarc_discover(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const struct dmarc_input *in,
    struct dmarc_discovery **ret);

/* dmarc_discover_authors -- the first half, which reads only the author
 * domains of in: for each distinct one, orgdomain_policy(). Can run as
 * soon as From is parsed, so the policy is learned before the lookups a
 * sender controls (DKIM keys of any d=, SPF of the MAIL FROM domain).
 * @return 0 and *ret (arena-owned); -ENOMEM. */
int dmarc_discover_authors(const struct orgdomain *o, struct dns_resolver *r,
    struct arena *a, const struct dmarc_input *in,
    struct dmarc_discovery **ret);

/* dmarc_discover_identifiers -- the second half, added to d: for each
 * passing DKIM d= and a passing SPF domain that differ from every author
 * domain, that some author's record checks with relaxed alignment, and
 * that lie at or below that author's organizational domain (no other
 * name can align), orgdomain_find(). @return 0; -ENOMEM. */
int dmarc_discover_identifiers(const struct orgdomain *o,
    struct dns_resolver *r, struct arena *a, const struct dmarc_input *in,
    struct dmarc_discovery *d);

/* ---- evaluation ---- */

/* The outcome for one author domain. */
struct dmarc_author {
	const char *domain;      /* lower-case author domain */
	enum auth_result result; /* pass fail none temperror permerror */
	const char *reason;      /* arena or static text */
	const struct dmarc_found *found; /* NULL when not discovered */
	const char *policy_domain;       /* NULL when no record */
	const char *org_domain;          /* NULL unless discovery completed */
	enum orgdomain_method method;
	const char *policy_tag;             /* "p", "sp", "np" or NULL */
	enum dmarc_policy requested;        /* the record's p/sp/np selected */
	enum dmarc_policy evaluated;        /* after t=y: policy.dmarc */
	enum dmarc_disposition disposition; /* after local overrides */
	unsigned overrides;                 /* DMARC_OVERRIDE_* */
	bool dkim_aligned;                  /* a passing DKIM d= aligns */
	bool spf_aligned;                   /* the passing SPF domain aligns */
	const char *dkim_domain;            /* the first aligned d= (input
	                                     * order), or NULL */
	const char *spf_domain;      /* the aligned SPF domain, or NULL */
	const struct arc_claim *arc; /* with DMARC_OVERRIDE_ARC_SEALER:
	                              * the sealer's record that applied */
};

struct dmarc_result {
	enum auth_result result; /* the strictest over all authors */
	const char *reason;
	enum dmarc_disposition disposition;
	unsigned overrides; /* of the decisive author */
	size_t author_count;
	struct dmarc_author *authors;        /* arena-owned; may be empty; past
	                                      * BOUND_DMARC_AUTHOR_DOMAINS the
	                                      * last stands for the authors not
	                                      * evaluated (found NULL, domain the
	                                      * first of them) */
	const struct dmarc_author *decisive; /* the author whose outcome
	                                      * is the overall one, or NULL
	                                      * (no author evaluated) */
};

/* dmarc_evaluate -- the DMARC outcome of a message: pure (no DNS, no
 * time), from in, the discovery d that dmarc_discover(in) returned (NULL
 * is allowed when there is nothing to discover: no From, unparseable
 * From) and the local options opt.
 * @return 0 and *ret (arena-owned); -ENOMEM. */
int dmarc_evaluate(const struct dmarc_input *in,
    const struct dmarc_discovery *d, const struct dmarc_options *opt,
    struct arena *a, struct dmarc_result **ret);

/* ---- names ---- */

/* "none", "quarantine", "reject" (UNSET: "none") */
const char *dmarc_policy_name(enum dmarc_policy p);
/* "none", "pass", "quarantine", "reject" */
const char *dmarc_disposition_name(enum dmarc_disposition d);
/* the RFC 9990 name of one DMARC_OVERRIDE_* bit ("policy_test_mode",
 * "trusted_forwarder" (also for DMARC_OVERRIDE_ARC_SEALER),
 * "local_policy"), or NULL */
const char *dmarc_override_name(unsigned bit);

#endif
