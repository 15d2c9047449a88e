/*
 * report.h -- RFC 9990 DMARC aggregate reports from spool records.
 *
 * Three steps, each usable alone:
 *
 * 1. Aggregation (report.c). report_agg_add() takes spool records one at a
 *    time and keeps one row per distinct (policy domain, source_ip,
 *    dmarc result, disposition, DKIM/SPF alignment, reasons, header_from,
 *    envelope_from, envelope_to, DKIM and SPF auth results) with a count,
 *    so memory grows with distinct rows, not with messages. Per policy
 *    domain it keeps the policy of the most recent record (RFC 9990
 *    "Changes in Policy During Reporting Period": a receiver SHOULD note
 *    the final configuration observed) and the times of the first and
 *    last record. Policy domains compare case-insensitively.
 *
 * 2. The report (report_xml.c): XML through libxml2's xmlTextWriter in
 *    the namespace urn:ietf:params:xml:ns:dmarc-2.0, elements in the order
 *    RFC 9990 section 3.1.1 and its XSD (appendix A) require; gzip through
 *    zlib; the file name of RFC 9990 "Email":
 *      receiver "!" policy-domain "!" begin "!" end "!" unique-id ".xml.gz"
 *
 * 3. Delivery (report_mail.c): the rua mailto: destinations after the RFC
 *    9990 section 4 external-destination check and a local suppression
 *    list, and the report mail (RFC 5322 + MIME: a text part and the gzip
 *    attachment in base64 lines, b64.h) with the RFC 9990
 *    Subject. Handing the mail to sendmail is the caller's job.
 *
 * Obsolete size limits: RFC 9989 appendix C.4 removed the "!size" suffix
 * of report URIs ("reporters should ignore the obs-dmarc-report-size"), so
 * a "!..." suffix is cut off and ignored.
 *
 * Memory: the aggregator owns everything it returns (valid until
 * report_agg_free); builders write into caller buffers; destinations live
 * in the caller's arena. Thread rules: one aggregator per thread; every
 * other function is reentrant.
 */
#ifndef AUTHMILTER_REPORT_H
#define AUTHMILTER_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"
#include "authmilter/dns.h"
#include "authmilter/spool.h"

#define REPORT_XMLNS "urn:ietf:params:xml:ns:dmarc-2.0"

/* One row of a report: the fields of the first record that had this key
 * (arena copies; time and reporting_host are those of that record and
 * mean nothing for the row) and how many records had it. */
struct report_row {
	struct spool_record rec;
	unsigned long count;
};

/* One policy domain of an aggregation. */
struct report_domain {
	const char *domain;                   /* lower case */
	struct spool_policy_published policy; /* of the latest record */
	int64_t first_time, last_time;        /* of its records */
	unsigned long messages;               /* records added */
	unsigned long dmarc_pass, dmarc_fail; /* by the record's dmarc */
	struct report_row **rows; /* sorted once report_agg_finish ran */
	size_t row_count;
};

struct report_agg;

/* report_agg_new -- an empty aggregation. @return it, or NULL on ENOMEM. */
struct report_agg *report_agg_new(void);
/* report_agg_free -- release it and everything it returned. NULL is a
 * no-op. @return NULL */
struct report_agg *report_agg_free(struct report_agg *g);

/* report_agg_add -- count one record (r is copied where needed; the
 * caller's record may go away after the call).
 * @return 0; -E2BIG when the row would pass BOUND_REPORT_ROWS; -ENOMEM. */
int report_agg_add(struct report_agg *g, const struct spool_record *r);

/* report_agg_finish -- sort the domains by name and each domain's rows
 * (by source IP, then the row key), so the same records always give the
 * same report bytes. @return the number of domains. */
size_t report_agg_finish(struct report_agg *g);
/* report_agg_domain -- the i-th domain after report_agg_finish (owned by
 * the aggregation), or NULL when i is out of range. */
const struct report_domain *report_agg_domain(
    const struct report_agg *g, size_t i);
/* report_agg_rows -- distinct rows over all domains so far. */
size_t report_agg_rows(const struct report_agg *g);

/* What a report says about its author. */
struct report_meta {
	const char *org_name;           /* required */
	const char *email;              /* required: contact, and the From */
	const char *extra_contact_info; /* NULL: none */
	const char *submitter;          /* the receiver's domain: file name,
	                                 * Subject; required */
	const char *generator;          /* NULL: none */
};

/* report_xml -- write the RFC 9990 report of domain d for the period
 * [begin, end] (seconds since the epoch, UTC) with report_id (an RFC 9990
 * ridfmt, no angle brackets) to out as UTF-8 XML. Each row lists its DKIM
 * results in the RFC 9990 "DKIM Signatures in Aggregate Reports" order:
 * passing and equal to header_from, passing and aligned by name (one is a
 * subdomain of the other), other passing ones, the rest.
 * @return 0; -EINVAL (d has no rows, meta incomplete); -ENOMEM;
 * -ERANGE when out's cap is reached. */
int report_xml(const struct report_domain *d, const struct report_meta *m,
    int64_t begin, int64_t end, const char *report_id, struct buf *out);

/* report_gzip -- gzip (RFC 1952) len bytes of data into out.
 * @return 0, -ENOMEM, -ERANGE (out's cap). */
int report_gzip(const void *data, size_t len, struct buf *out);

/* report_file_name -- "receiver!policy-domain!begin!end!unique-id.xml.gz"
 * (RFC 9990 "Email"; unique-id 1*(ALPHA / DIGIT)).
 * @return 0, or -EINVAL when a part does not fit the ABNF. */
int report_file_name(const char *submitter, const char *domain, int64_t begin,
    int64_t end, const char *unique_id, struct buf *out);

/* ---- destinations (report_mail.c) ---- */

/* The organizational domain of domain into ret_org (RFC 9989 §4.10); the
 * orgdomain module provides it, the caller wires it. @return 0 or -errno. */
typedef int report_orgdomain_fn(
    void *ctx, const char *domain, struct buf *ret_org);

/* report_mailto_parse -- the address of one rua URI: "mailto:" (RFC
 * 6068, any case) with surrounding WSP ignored, percent-escapes decoded,
 * "?hfields" dropped and the obsolete "!size" suffix ignored; the address
 * must be a dot-atom local part of at most 64 bytes, "@", and a host name
 * of letters, digits, '-', '_' and '.' (lower-cased).
 * @return the address (arena-owned, NUL-terminated) with *ret_host
 * pointing at its host part; NULL with *ret_why (static) when the URI is
 * not a usable destination or memory ran out. */
char *report_mailto_parse(struct arena *a, const char *uri, size_t len,
    char **ret_host, const char **ret_why);

struct report_dest {
	const char *uri;     /* as published */
	const char *address; /* where to send; NULL: dropped */
	const char *why;     /* why dropped, or how it was verified */
	bool temporary;      /* dropped for a temporary DNS failure of
	                      * the external check: try again later */
};

struct report_dest_options {
	struct dns_resolver *dns;       /* for the external check */
	report_orgdomain_fn *orgdomain; /* NULL: compare domains exactly,
	                                 * so every other domain is checked */
	void *orgdomain_ctx;
	const char *tag;             /* the tag of the authorization record
	                              * that may override the destination:
	                              * "rua" (NULL) or "ruf" (RFC 9991
	                              * section 4: ruf for rua) */
	const char *const *suppress; /* NoReportsTo: "user@domain"
	                              * (address) or "domain" entries */
	size_t suppress_count;
};

/* report_destinations -- evaluate the rua URIs of policy p in order (RFC
 * 9990 "Report Delivery"): mailto: only (others dropped: no other scheme
 * is defined); the obsolete "!size" suffix and "?headers" ignored; the
 * address percent-decoded and checked; addresses on the suppression list
 * dropped; an address whose organizational domain differs from the policy
 * domain's verified by the RFC 9990 section 4 TXT query
 * "<policy-domain>._report._dmarc.<destination-host>" (a record whose
 * first tag is v=DMARC1; its rua, if any, replaces the destination when
 * every URI in it has the same host, and drops it otherwise). A temporary
 * DNS failure drops the destination for this run (the why says so).
 * Duplicate addresses are kept once.
 * @return 0 and *ret (n entries, one per URI plus overrides, in arena a);
 * -ENOMEM. */
int report_destinations(const struct spool_policy_published *p,
    const struct report_dest_options *o, struct arena *a,
    struct report_dest **ret, size_t *ret_n);

/* The report mail's parts. */
struct report_mail {
	const char *from;      /* the reporter's address */
	const char *const *to; /* verified destinations */
	size_t to_count;
	const char *domain;    /* policy domain */
	const char *submitter; /* receiver domain */
	const char *report_id; /* ridfmt, without <> */
	const char *file_name; /* the attachment's name */
	int64_t begin, end;    /* for the text part */
	time_t date;           /* Date: header */
	const void *gz;        /* the gzip report */
	size_t gz_len;
};

/* report_mail_compose -- the whole mail (LF line ends, as `sendmail -t`
 * reads it): From, To, Subject "Report Domain: D Submitter: S
 * Report-ID: <ID>" (RFC 9990, folded), Date, Message-ID <ID>,
 * MIME-Version, multipart/mixed with a text/plain part and the report as
 * application/gzip (RFC 6713) base64 attachment named file_name.
 * @return 0; -EINVAL (no recipient, a header field would carry CR/LF or
 * non-ASCII); -ERANGE past BOUND_REPORT_MAIL_BYTES or out's cap;
 * -ENOMEM. */
int report_mail_compose(const struct report_mail *m, struct buf *out);

/* report_date -- t as an RFC 5322 section 3.3 date-time in UTC ("Mon, 07
 * Dec 2026 19:40:41 +0000"), independent of the locale, appended to out
 * (errors are out's sticky error). */
void report_date(struct buf *out, time_t t);

#endif
