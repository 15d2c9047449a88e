/*
 * failure.h -- DMARC failure reports (RFC 9991), the part that runs while
 * the MTA waits: whether a message calls for a failure report, and the
 * failure record that says everything the report needs, as one JSON line
 * for the spool. Nothing is built or sent here: `authmilter report
 * --failures` reads the records back (failure_record_from_json) and turns
 * them into ARF mail (report_arf.h).
 *
 * When a record is written (failure_records): at most one per message,
 * for the decisive author domain of the verdict or else the first that
 * qualifies (a From naming many domains must not fan out into many
 * reports), when all of these hold for it:
 *   - DMARC failed (dmarc=fail; not temperror, not none) under a policy
 *     record of that domain;
 *   - the record has no psd=y (RFC 9991 section 2: report generators
 *     MUST NOT consider ruf in records with psd=y);
 *   - the published policy (p, sp or np as selected) is quarantine or
 *     reject, or FailureReportsOnNone allows none (opendmarc's rule);
 *   - the record has usable ruf URIs (RFC 9989 section 4.7: without ruf
 *     no failure reports) of which at least one is not one of our own
 *     domains or on NoReportsTo, or FailureReportsBcc is set (our own
 *     copy, opendmarc's FailureReportsBcc);
 *   - fo asks for it (failure_triggers; RFC 9989 section 4.7: fo is
 *     ignored without ruf, so a Bcc-only record takes fo=0);
 *   - the message is not itself a report (failure_is_report): a report
 *     about a report could loop between two reporters.
 *
 * The record (version 1) holds the time, the reporting host, the author
 * and policy domains, the policy, fo, ruf, the DMARC result and alignment,
 * what was done with the message (RFC 6591 Delivery-Result words), the
 * envelope (client IP, HELO, MAIL FROM, up to BOUND_FAILURE_RCPTS
 * recipients), every DKIM result with d=, s=, i= and whether d= aligns,
 * the SPF result and whether its domain aligns, our Authentication-Results
 * value, the header section as the recipient gets it (ours first, forged
 * ones that claim our authserv-id left out, at most
 * BOUND_FAILURE_HEADER_BYTES) in base64, and the body (only when
 * FailureReportsBodies is set, cut at that many bytes) in base64. Strings
 * from the message that are not printable ASCII are left out of the
 * record's plain fields (they stay in the header bytes).
 *
 * Memory: records and their strings live in the caller's arena.
 * Thread rules: none (pure functions over their inputs).
 */
#ifndef AUTHMILTER_FAILURE_H
#define AUTHMILTER_FAILURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/buf.h"
#include "authmilter/config.h"
#include "authmilter/msg.h"
#include "authmilter/spool.h"
#include "authmilter/verdict.h"

#define FAILURE_VERSION 1

struct failure_dkim {
	const char *domain;   /* d= */
	const char *selector; /* s= */
	const char *identity; /* i= (or "@d"), NULL when not printable */
	enum auth_result result;
	const char *reason; /* NULL: none */
	bool aligned;       /* d= aligns with the author domain */
};

struct failure_spf {
	const char *domain; /* NULL: SPF not evaluated */
	enum spool_spf_scope scope;
	enum auth_result result;
	bool aligned; /* the domain aligns with the author's */
};

struct failure_record {
	int64_t time; /* arrival, seconds since the epoch */
	const char *reporting_host;
	const char *author_domain; /* RFC5322.From domain: Reported-Domain */
	const char *policy_domain; /* where the record was found */
	enum spool_policy policy;  /* p, sp or np as published */
	unsigned fo;               /* DMARC_FO_* */
	const char *const *ruf;    /* mailto: URIs as published */
	size_t ruf_count;          /* <= BOUND_DMARC_URIS; 0: Bcc only */
	enum auth_result dmarc;
	const char *delivery_result; /* RFC 6591: delivered, spam, policy,
	                              * reject, other; NULL: unknown */
	bool dkim_aligned;           /* an aligned DKIM pass */
	bool spf_aligned;            /* an aligned SPF pass */
	const char *source_ip;       /* NULL: unknown (local submission) */
	const char *helo;            /* NULL: unknown */
	const char *mail_from;       /* bare address, "" null sender, NULL
	                              * unknown */
	const char *const *rcpt;     /* bare addresses */
	size_t rcpt_count;           /* <= BOUND_FAILURE_RCPTS */
	const struct failure_dkim *dkim;
	size_t dkim_count; /* <= BOUND_SPOOL_DKIM */
	struct failure_spf spf;
	const char *authres;    /* our A-R value, folded with CRLF */
	const uint8_t *headers; /* the header section, CRLF lines,
	                         * without the empty line */
	size_t headers_len;     /* <= BOUND_FAILURE_HEADER_BYTES */
	bool headers_truncated; /* fields were left out */
	const uint8_t *body;    /* NULL: no body kept */
	size_t body_len;        /* <= BOUND_FAILURE_BODY_BYTES */
	bool body_truncated;    /* the body went on past body_len */
	unsigned attempts;      /* sends tried that must be retried */
	bool admitted;          /* an earlier run counted it against the
	                         * rate limits (sent to some destinations,
	                         * the rest wait) */
};

/* What the milter (or verify) knows beyond the verdict. */
struct failure_envelope {
	int64_t now;
	const char *reporting_host;
	const char *authserv_id; /* to leave forged A-R fields out */
	const char *client_ip;   /* NULL: unknown */
	const char *helo;
	const char *mail_from;   /* as given: "<a@b>", "a@b", "<>" */
	const char *const *rcpt; /* as given */
	size_t rcpt_count;
	const char *delivery_result; /* failure_delivery_result() */
	const uint8_t *body;         /* the body kept so far, or NULL */
	size_t body_len;
	bool body_truncated; /* more body arrived than was kept */
};

/* The local options (authmilter.conf(5), FailureReports*). */
struct failure_options {
	bool on_none;     /* FailureReportsOnNone */
	bool bcc;         /* FailureReportsBcc is set */
	size_t body_max;  /* FailureReportsBodies; 0: no body */
	const char **own; /* our domains: never a destination */
	size_t own_count;
	const char *const *no_reports_to; /* NoReportsTo */
	size_t no_reports_to_count;
};

/* failure_options_from_config -- the options of cfg (FailureReports*,
 * NoReportsTo) with our own domains: Domain, the KeyTable's domains (but
 * "%"), and the domains of ReportEmail, FailureReportsSentBy and the
 * authserv-id. Borrows from cfg; the own list is heap memory.
 * @return 0, or -ENOMEM. */
int failure_options_from_config(
    const struct config *cfg, struct failure_options *ret);
/* failure_options_free -- release what failure_options_from_config made. */
void failure_options_free(struct failure_options *o);

/* failure_append -- the n records as lines of the spool's failure files
 * (spool_append_line, SPOOL_FAILURE) in dir.
 * @return 0, or the first failure (-EINVAL with *ret_why for a record
 * that cannot be written; -errno of the spool). */
int failure_append(const char *dir, const struct failure_record *recs, size_t n,
    time_t now, struct spool_stats *stats, const char **ret_why);

/* failure_triggers -- which fo options the facts of r fire (RFC 9989
 * section 4.7): DMARC_FO_0 when neither DKIM nor SPF gave an aligned
 * pass, DMARC_FO_1 when either did not, DMARC_FO_D when a DKIM signature
 * failed evaluation (fail, policy, neutral, permerror), DMARC_FO_S when
 * SPF failed (fail, softfail, permerror); masked with what r->fo (or,
 * without ruf, fo=0) asks for. @return the bits, 0: no report. */
unsigned failure_triggers(const struct failure_record *r);

/* failure_is_report -- whether m is itself a report: a multipart/report
 * (RFC 6522: ARF, DSN, MDN) or an RFC 9990 aggregate report ("Report
 * Domain:" Subject). @return true, with *ret_why (static), when it is. */
bool failure_is_report(const struct msg *m, const char **ret_why);

/* failure_own_destination -- whether the address (bare, lower-case host)
 * is one a report must not go to: its host is one of o->own or under one,
 * or it is on NoReportsTo (an entry "user@domain" is an address, else a
 * domain and its subdomains). */
bool failure_own_destination(
    const struct failure_options *o, const char *address);

/* failure_delivery_result -- the RFC 6591 Delivery-Result word for what
 * the milter did: reject and tempfail "reject" (the MTA refused it),
 * quarantine (hold) "policy", accept "delivered". */
const char *failure_delivery_result(bool reject, bool quarantine);

/* failure_records -- the record m (its header section), v and env call
 * for under o: at most one (see above).
 * @return 0 with *ret and *ret_n (arena-owned; 0 records with *ret_why,
 * static text, saying why none); -ENOMEM. */
int failure_records(const struct verdict *v, const struct msg *m,
    const struct failure_envelope *env, const struct failure_options *o,
    struct arena *a, struct failure_record **ret, size_t *ret_n,
    const char **ret_why);

/* failure_record_to_json -- r as one JSON line (no "\n") appended to out.
 * @return 0; -EINVAL with *ret_why (static) when r is not valid (see
 * failure_record_from_json); -E2BIG past BOUND_FAILURE_RECORD_BYTES - 1;
 * -ENOMEM. out is unchanged on error. */
int failure_record_to_json(
    const struct failure_record *r, struct buf *out, const char **ret_why);

/* failure_record_from_json -- parse one line (len bytes, no "\n") back,
 * strictly: a JSON object with "version" 1 and "kind" "failure", every
 * required field of the right type, enum words known, strings printable
 * ASCII within their bounds, domains valid, source_ip an address, counts
 * within the bounds, base64 that decodes.
 * @return 0 and *ret (in arena a); -EINVAL with *ret_why (static or
 * arena text naming the field); -E2BIG past BOUND_FAILURE_RECORD_BYTES;
 * -ENOMEM. */
int failure_record_from_json(const char *line, size_t len, struct arena *a,
    struct failure_record *ret, const char **ret_why);

#endif
