/*
 * verdict.h -- one message, end to end: the single path that the milter
 * and the CLI both use to evaluate a message, so `authmilter verify` gives
 * the verdict the milter would have given.
 *
 * Inputs are the message (header fields, then the body in chunks) and its
 * environment: the resolver, the SMTP facts (client IP, HELO, MAIL FROM),
 * the options, and `now` (time is an input, so vectors with t= and x= are
 * reproducible). The work:
 *   begin   the author domains (A-labels) of every From field: each
 *           address's domain (addr_parse_from_each) and every domain a
 *           reader could be shown as the sender (addr_shown_domains:
 *           display names, comments, encoded words, fields that do not
 *           parse), so no From can hide the domain whose policy applies;
 *           discover their DMARC policies (dmarc_discover_authors: first,
 *           so the lookups a sender controls cannot delay the policy past
 *           the DNS time budget), start DKIM verification (key lookups),
 *           evaluate SPF for the MAIL FROM identity (postmaster@HELO for
 *           the null sender) when the client IP is known
 *           and parse the ARC chain (RFC 8617; arc.h)
 *   body    stream the body into the DKIM and ARC hashes (one set of
 *           body streams: a canonicalization is hashed once)
 *   finish  DKIM results; a passing signature that does not cover every
 *           instance of a field RFC 5322 section 3.6 allows once
 *           (msg_unique_fields) becomes dkim=policy, naming the field; the
 *           rest of DMARC discovery (identifiers,
 *           dmarc_discover_identifiers) and evaluation (dmarc_evaluate, a
 *           pure function of all results, trusted ARC sealers
 *           included), the ARC chain's validation, the
 *           Authentication-Results header value (arc= with RFC 8617
 *           section 10's smtp.remote-ip and header.oldest-pass), and,
 *           when env->arc_seal asks, a new ARC set whose AAR is that
 *           header (RFC 8617 section 5.1)
 * A message past the header bounds (msg.h) is evaluated on what was kept;
 * when a From field could not be kept nothing is evaluated and
 * verdict.unevaluable says why.
 * With env->dns_budget_ms, all DNS work of the message goes through one
 * dns_budget: past it, the checks still waiting end in temperror and
 * DMARC is evaluated with what was learned.
 * The output is one struct verdict, which the milter acts on, the CLI
 * prints, and the spool records.
 *
 * Memory: the session and the verdict live in the arena given to
 * verdict_begin(); the msg, the environment and what it points to are
 * borrowed and must outlive the session. Not thread-safe: one session per
 * message per thread (the resolver and the orgdomain context are
 * thread-safe).
 */
#ifndef AUTHMILTER_VERDICT_H
#define AUTHMILTER_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arc.h"
#include "authmilter/arena.h"
#include "authmilter/dkim_verify.h"
#include "authmilter/dmarc.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/orgdomain.h"
#include "authmilter/spf.h"
#include "authmilter/spool.h"

struct verdict_env {
	struct dns_resolver *resolver; /* borrowed; required */
	int64_t now;                   /* Unix time */
	const char *authserv_id;       /* borrowed; A-R authserv-id */
	/* SMTP facts; all may be NULL (unknown) */
	const char *client_ip;   /* textual IPv4/IPv6; NULL: SPF is
	                          * not evaluated */
	const char *helo;        /* HELO/EHLO argument */
	const char *mail_from;   /* reverse-path as given ("<a@b>",
	                          * "a@b", "<>" or "" for null) */
	const char *receiver;    /* our host name (SPF %{r}; the
	                          * spool's reporting host) */
	const char *envelope_to; /* domain of the first RCPT, or NULL */
	/* DKIM options */
	size_t max_signatures;            /* 0 = BOUND_DKIM_SIGNATURES */
	unsigned min_rsa_bits;            /* 0 = BOUND_RSA_MIN_BITS */
	bool allow_partial_body;          /* l= leaving bytes unsigned: pass */
	struct dkim_key_cache *key_cache; /* borrowed, shared; NULL:
	                                   * parse keys per message */
	unsigned dns_budget_ms;           /* DNS time for the whole message
	                                   * (dns_budget); 0 = no limit */
	/* DMARC: NULL org skips DMARC */
	const struct orgdomain *org;
	const struct dmarc_options *dmarc; /* NULL: defaults */
	/* ARC: the chain is validated on every message; with arc_seal a
	 * new set is sealed after the verdict (its bodies field is
	 * ignored: the message's set is used); NULL: not sealed */
	const struct arc_seal_options *arc_seal;
};

struct verdict {
	/* the header section past the bounds of msg.h (msg.limit): the
	 * first bound broken, or NULL; the fields not evaluated */
	const char *header_limit;
	size_t header_dropped;
	/* why nothing could be evaluated (a From field past every bound),
	 * or NULL; DMARC is then a permerror with this reason */
	const char *unevaluable;
	/* DKIM: every signature, header order */
	const struct dkim_verify_result *dkim;
	size_t n_dkim;
	/* SPF: NULL when not evaluated (no client IP), with the reason */
	const struct spf_result *spf;
	const char *spf_skipped;
	/* From: the author domains, the state */
	enum dmarc_from_state from_state;
	const char *from_why;            /* why a From is not valid, or NULL */
	bool from_invalid;               /* a From field is not a valid
	                                  * mailbox-list, or there are several
	                                  * From fields: DMARC never passes */
	size_t n_from_fields;            /* From header fields */
	const char *const *from_domains; /* distinct, lower-case
	                                  * A-labels: the addresses'
	                                  * first, then the shown ones */
	size_t n_from;                   /* at most
	                                  * BOUND_DMARC_AUTHOR_DOMAINS + 1 */
	bool from_more;                  /* more distinct domains than that */
	/* DMARC: NULL when not evaluated (no orgdomain context) */
	const struct dmarc_result *dmarc;
	const struct dmarc_discovery *discovery;
	/* aggregate-report records: one per author domain whose policy
	 * domain has a DMARC record (spool.h) */
	const struct spool_record *spool;
	size_t n_spool;
	/* the Authentication-Results value (after the colon, starting with
	 * a space; resinfos folded with CRLF TAB) */
	const char *authres;
	/* the DNS time budget ran out: some lookups were not made */
	bool dns_budget_spent;
	/* ARC: the chain's validation (status none when no ARC field) */
	const struct arc_result *arc;
	/* the new set when env->arc_seal asked for one, or NULL and why
	 * not (arc_seal_finish()) */
	const struct arc_sealed *arc_sealed;
	const char *arc_not_sealed;
};

struct verdict_session;

/* verdict_begin -- start evaluating m (header fields complete). DNS
 * lookups for the keys and SPF happen here.
 * @return 0 and *ret (arena-owned); -EINVAL (no resolver or authserv-id,
 * or a client_ip that is not an address); -ENOMEM; -EIO. */
int verdict_begin(struct arena *a, const struct msg *m,
    const struct verdict_env *env, struct verdict_session **ret);

/* verdict_body -- feed len more raw body bytes. @return 0 or -EIO. */
int verdict_body(struct verdict_session *s, const char *chunk, size_t len);

/* verdict_finish -- decide (DMARC lookups happen here). May be called
 * once. @return 0 and *ret (arena-owned); -ENOMEM; -EIO. */
int verdict_finish(struct verdict_session *s, const struct verdict **ret);

#endif
