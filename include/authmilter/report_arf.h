/*
 * report_arf.h -- the DMARC failure report mail: RFC 6591 authentication
 * failure reporting in the Abuse Reporting Format (RFC 5965), as RFC 9991
 * section 4 updates it, built from one failure record (failure.h).
 *
 * The mail (LF line ends, as `sendmail -t` reads it):
 *   From (ours), To (the verified ruf destinations; Bcc: the local
 *   copies, or To when there is no ruf destination), a Subject naming the
 *   reported domain and the source IP, Date, Message-ID,
 *   Auto-Submitted: auto-generated (RFC 3834: no replies, no loops),
 *   multipart/report; report-type=feedback-report (RFC 6522) with
 *   1. text/plain: what happened, in words;
 *   2. message/feedback-report (RFC 5965 section 3.1, RFC 6591 section
 *      3.1): Feedback-Type auth-failure, User-Agent, Version 1,
 *      Auth-Failure (dmarc when fo 0 or 1 fired, else signature for fo=d
 *      or spf for fo=s), Original-Mail-From, Original-Rcpt-To,
 *      Arrival-Date, Reporting-MTA, Source-IP, Reported-Domain,
 *      Delivery-Result, Identity-Alignment (RFC 9991: REQUIRED),
 *      DKIM-Domain / DKIM-Identity / DKIM-Selector of an aligned
 *      signature that did not pass (RFC 9991: REQUIRED for DKIM failures
 *      of an aligned identifier), SPF-DNS for an aligned SPF domain that
 *      did not pass (given by the caller, who looks the record up), and
 *      our Authentication-Results;
 *   3. text/rfc822-headers: the header section; message/rfc822 with the
 *      body when the record has one (RFC 9991 appendix A).
 *
 * Nothing from the message reaches a header field of the report or a
 * line of the report that could end a part: the report's own fields hold
 * only our configuration and checked values (domains, IP addresses,
 * addresses without blanks or control bytes); in the copied header
 * section every line that does not start a field with an RFC 5322 field
 * name and does not start with a blank is folded into the field before it
 * (a leading space), an empty line becomes a blank one, NUL and other
 * control bytes but TAB are dropped, and the MIME boundary is chosen so
 * that it occurs nowhere in the content (RFC 2046 section 5.1.1).
 *
 * Redaction (RFC 9991 section 6.1, RFC 6590): with redact set, the local
 * part of every address in the copied header fields (but the message
 * identifier fields Message-ID, In-Reply-To, References,
 * Resent-Message-ID and Content-ID), in Original-Mail-From,
 * Original-Rcpt-To and DKIM-Identity is replaced by the same 11
 * characters for the same local part: a keyed hash (hash.h, SipHash under
 * the installation's secret), so a Domain Owner can still tell that two
 * reports are about one address without learning it. Display names,
 * Subject and the body are not redacted. Bodies (message/rfc822) have
 * "http" in URLs written "hxxp" (RFC 9991 section 6.3).
 *
 * Memory: writes into the caller's buf. Thread-safe.
 */
#ifndef AUTHMILTER_REPORT_ARF_H
#define AUTHMILTER_REPORT_ARF_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "authmilter/buf.h"
#include "authmilter/failure.h"
#include "authmilter/hash.h"

struct report_arf {
	const struct failure_record *rec;
	const char *from;      /* our address (FailureReportsSentBy) */
	const char *const *to; /* verified ruf addresses */
	size_t to_count;
	const char *const *bcc; /* FailureReportsBcc */
	size_t bcc_count;
	const char *user_agent; /* "authmilter/VERSION" */
	const char *spf_dns;    /* the SPF record of rec->spf.domain,
	                         * or NULL */
	const char *message_id; /* without <> */
	time_t date;
	bool redact;                       /* FailureReportsRedact */
	const struct hash_key *redact_key; /* required with redact */
};

/* report_arf_redact -- the token that stands for a local part (n bytes)
 * under key: 11 characters of the base64url alphabet. out gets 12 bytes
 * (NUL-terminated). */
void report_arf_redact(
    const struct hash_key *key, const char *local, size_t n, char out[12]);

/* report_arf_compose -- the whole report mail into out.
 * @return 0; -EINVAL (no recipient at all, from or message_id not a
 * plain value, an address with a blank or control byte, redact without a
 * key); -ERANGE past BOUND_REPORT_MAIL_BYTES or out's cap; -ENOMEM. out
 * is unchanged on error. */
int report_arf_compose(const struct report_arf *m, struct buf *out);

#endif
