/*
 * report_arf.c -- the DMARC failure report mail (RFC 6591 ARF as RFC 9991
 * updates it) from one failure record. See report_arf.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/bounds.h"
#include "authmilter/dmarc.h"
#include "authmilter/report.h"
#include "authmilter/report_arf.h"

/* the longest SPF record put into SPF-DNS: keeps its line under the 998
 * bytes of RFC 5322 section 2.1.1 */
#define SPF_DNS_MAX 900

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* fields whose "x@y" are message identifiers, not addresses */
static const char *const id_fields[] = {
    "Message-ID",
    "In-Reply-To",
    "References",
    "Resent-Message-ID",
    "Content-ID",
};

/* plain -- printable ASCII without blanks: fits a header as it is */
static bool
plain(const char *s)
{
	if (s == NULL)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

void
report_arf_redact(
    const struct hash_key *key, const char *local, size_t n, char out[12])
{
	uint64_t h = hash_keyed(key, 0x72756621 /* "ruf!" */, local, n);
	size_t i;

	for (i = 0; i < 11; i++, h >>= 6)
		out[i] = b64url[h & 63];
	out[11] = '\0';
}

/* ---- redaction ---- */

static bool
atext(unsigned char c)
{
	/* RFC 5322 section 3.2.3 atext, and '.' of dot-atom */
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/* local_start -- where the local part that ends at s[at] ('@') starts;
 * at when there is none. */
static size_t
local_start(const char *s, size_t at)
{
	size_t i;

	if (at > 0 && s[at - 1] == '"') { /* quoted-string */
		for (i = at - 1; i > 0; i--)
			if (s[i - 1] == '"' && (i < 2 || s[i - 2] != '\\'))
				return i - 1;
		return at;
	}
	for (i = at; i > 0 && atext((unsigned char)s[i - 1]); i--)
		;
	while (i < at && s[i] == '.')
		i++;
	return i;
}

/* add_redacted -- s (n bytes) with the local part of each address
 * replaced by its token; as it is when key is NULL. */
static void
add_redacted(
    struct buf *out, const char *s, size_t n, const struct hash_key *key)
{
	char tok[12];
	size_t i, done = 0, start;

	for (i = 0; key != NULL && i < n; i++) {
		if (s[i] != '@' || i + 1 == n ||
		    !(isalnum((unsigned char)s[i + 1]) || s[i + 1] == '['))
			continue;
		if ((start = local_start(s, i)) == i || start < done)
			continue;
		buf_add(out, s + done, start - done);
		report_arf_redact(key, s + start, i - start, tok);
		buf_adds(out, tok);
		done = i;
	}
	buf_add(out, s + done, n - done);
}

/* ---- the copied message ---- */

/* field_name -- the length of an RFC 5322 field name ending in ':' at
 * the start of s, or 0. */
static size_t
field_name(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != ':'; i++)
		if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e)
			return 0;
	return i < n ? i : 0;
}

static bool
id_field(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < sizeof(id_fields) / sizeof(id_fields[0]); i++)
		if (strlen(id_fields[i]) == n &&
		    strncasecmp(s, id_fields[i], n) == 0)
			return true;
	return false;
}

/* next_line -- the line at *pos (LF or CRLF ends it) into line, with
 * NUL and control bytes but TAB dropped and a bare CR made a space (a
 * mail reader may take it for a line end: it must not start a field);
 * *pos past its end. */
static void
next_line(
    const uint8_t *p, size_t n, size_t *pos, struct buf *line, bool *eight_bit)
{
	size_t i = *pos;

	buf_reset(line);
	for (; i < n && p[i] != '\n'; i++) {
		if (p[i] == '\r' && i + 1 < n && p[i + 1] == '\n')
			continue;
		if (p[i] >= 0x80)
			*eight_bit = true;
		if (p[i] == '\r')
			buf_addc(line, ' ');
		else if (p[i] >= 0x20 || p[i] == '\t')
			buf_addc(line, (char)p[i]);
	}
	*pos = i < n ? i + 1 : i;
}

/* The header section: one field per "name:" line, every other line
 * folded into the field before it. */
static void
add_header_section(struct buf *out, const struct failure_record *r,
    const struct hash_key *key, bool *eight_bit)
{
	struct buf line;
	size_t pos = 0, name;
	bool exempt = false;

	buf_init(&line, BOUND_FAILURE_HEADER_BYTES + 1);
	while (pos < r->headers_len) {
		next_line(r->headers, r->headers_len, &pos, &line, eight_bit);
		if (line.len > 0 &&
		    (line.data[0] == ' ' || line.data[0] == '\t'))
			; /* a fold of the field before */
		else if ((name = field_name(line.data, line.len)) > 0)
			exempt = id_field(line.data, name);
		else
			buf_addc(out, ' '); /* made a fold: never a new
			                     * field, never the end of the
			                     * section */
		add_redacted(
		    out, buf_cstr(&line), line.len, exempt ? NULL : key);
		buf_addc(out, '\n');
	}
	buf_free(&line);
}

/* RFC 9991 section 6.3: "hxxp" for "http" in the copied body. */
static void
add_defanged(struct buf *out, const char *s, size_t n)
{
	size_t i, done = 0;

	for (i = 0; i + 4 <= n; i++)
		if (strncasecmp(s + i, "http", 4) == 0 && i + 4 < n &&
		    (s[i + 4] == ':' || ((s[i + 4] == 's' || s[i + 4] == 'S') &&
		                            i + 5 < n && s[i + 5] == ':'))) {
			buf_add(out, s + done, i + 1 - done);
			buf_add(out, "xx", 2);
			done = i + 3;
		}
	buf_add(out, s + done, n - done);
}

static void
add_body(struct buf *out, const struct failure_record *r, bool *eight_bit)
{
	struct buf line;
	size_t pos = 0;

	buf_init(&line, BOUND_FAILURE_BODY_BYTES + 1);
	while (pos < r->body_len) {
		next_line(r->body, r->body_len, &pos, &line, eight_bit);
		add_defanged(out, line.data != NULL ? line.data : "", line.len);
		buf_addc(out, '\n');
	}
	buf_free(&line);
}

/* ---- the report fields ---- */

static const struct failure_dkim *
reported_signature(const struct failure_record *r, bool signature_report)
{
	size_t i;

	/* RFC 9991 section 4: the DKIM failure of an aligned identifier */
	for (i = 0; i < r->dkim_count; i++)
		if (r->dkim[i].aligned && r->dkim[i].result != AUTH_PASS)
			return &r->dkim[i];
	for (i = 0; signature_report && i < r->dkim_count; i++)
		if (r->dkim[i].result != AUTH_PASS &&
		    r->dkim[i].result != AUTH_NONE)
			return &r->dkim[i];
	return NULL;
}

static void
add_address_field(struct buf *out, const char *field, const char *addr,
    const struct hash_key *key)
{
	buf_addf(out, "%s: <", field);
	add_redacted(out, addr, strlen(addr), key);
	buf_adds(out, ">\n");
}

/* add_authres -- our A-R value, its CRLF folds as LF; left out unless
 * it is printable ASCII with proper folds. */
static void
add_authres(struct buf *out, const char *v)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++) {
		if (v[i] == '\r' && v[i + 1] == '\n' &&
		    (v[i + 2] == '\t' || v[i + 2] == ' ')) {
			i++; /* a fold */
			continue;
		}
		if (v[i] != '\t' &&
		    ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e))
			return;
	}
	buf_adds(out, "Authentication-Results:");
	for (i = 0; v[i] != '\0'; i++)
		if (v[i] != '\r')
			buf_addc(out, v[i]);
	buf_addc(out, '\n');
}

static void
add_spf_dns(struct buf *out, const struct failure_record *r, const char *rec)
{
	size_t i;

	/* RFC 6591 section 3.2: the SPF record, RFC 9991 section 4: for an
	 * SPF failure of an aligned identifier */
	if (rec == NULL || r->spf.domain == NULL || !r->spf.aligned ||
	    r->spf.result == AUTH_PASS)
		return;
	buf_addf(out, "SPF-DNS: txt : %s : \"", r->spf.domain);
	for (i = 0; rec[i] != '\0' && i < SPF_DNS_MAX; i++) {
		if ((unsigned char)rec[i] < 0x20 ||
		    (unsigned char)rec[i] > 0x7e)
			continue;
		if (rec[i] == '"' || rec[i] == '\\')
			buf_addc(out, '\\');
		buf_addc(out, rec[i]);
	}
	buf_adds(out, "\"\n");
}

static const char *
auth_failure(const struct failure_record *r)
{
	unsigned t = failure_triggers(r);

	/* RFC 9991 section 4 item 3: "dmarc" when aligned identifiers
	 * failed; fo=d and fo=s alone ask for RFC 6591's own types */
	if (t & (DMARC_FO_0 | DMARC_FO_1))
		return "dmarc";
	if (t & DMARC_FO_D)
		return "signature";
	return (t & DMARC_FO_S) ? "spf" : "dmarc";
}

static void
add_feedback(
    struct buf *out, const struct report_arf *m, const struct hash_key *key)
{
	const struct failure_record *r = m->rec;
	const struct failure_dkim *d;
	const char *af = auth_failure(r);
	size_t i;

	buf_adds(out, "Content-Type: message/feedback-report\n"
	              "Content-Transfer-Encoding: 7bit\n\n");
	/* RFC 5965 section 3.1 required fields, RFC 6591 section 3.1 */
	buf_addf(out,
	    "Feedback-Type: auth-failure\nUser-Agent: %s\n"
	    "Version: 1\nAuth-Failure: %s\n",
	    m->user_agent, af);
	if (r->mail_from != NULL)
		add_address_field(out, "Original-Mail-From", r->mail_from, key);
	for (i = 0; i < r->rcpt_count; i++)
		add_address_field(out, "Original-Rcpt-To", r->rcpt[i], key);
	buf_adds(out, "Arrival-Date: ");
	report_date(out, (time_t)r->time);
	buf_addf(out, "\nReporting-MTA: dns; %s\n", r->reporting_host);
	if (r->source_ip != NULL)
		buf_addf(out, "Source-IP: %s\n", r->source_ip);
	buf_addf(out, "Reported-Domain: %s\n", r->author_domain);
	if (r->delivery_result != NULL)
		buf_addf(out, "Delivery-Result: %s\n", r->delivery_result);
	/* RFC 9991 section 4 item 2: the methods without an aligned pass */
	buf_addf(out, "Identity-Alignment: %s%s%s\n",
	    r->dkim_aligned ? "" : "dkim",
	    !r->dkim_aligned && !r->spf_aligned ? ", " : "",
	    r->spf_aligned ? (r->dkim_aligned ? "none" : "") : "spf");
	if ((d = reported_signature(r, strcmp(af, "signature") == 0)) != NULL) {
		buf_addf(out, "DKIM-Domain: %s\n", d->domain);
		if (d->identity != NULL) {
			buf_adds(out, "DKIM-Identity: ");
			add_redacted(
			    out, d->identity, strlen(d->identity), key);
			buf_addc(out, '\n');
		}
		if (d->selector != NULL)
			buf_addf(out, "DKIM-Selector: %s\n", d->selector);
	}
	add_spf_dns(out, r, m->spf_dns);
	if (r->authres != NULL)
		add_authres(out, r->authres);
	buf_addc(out, '\n');
}

static void
add_text(struct buf *out, const struct report_arf *m)
{
	const struct failure_record *r = m->rec;

	buf_adds(out, "Content-Type: text/plain; charset=us-ascii\n"
	              "Content-Transfer-Encoding: 7bit\n\n");
	buf_addf(out,
	    "This is a DMARC failure report (RFC 9991) from %s.\n\n"
	    "A message with the author domain %s was received from %s\non ",
	    r->reporting_host, r->author_domain,
	    r->source_ip != NULL ? r->source_ip : "a local client");
	report_date(out, (time_t)r->time);
	buf_addf(out,
	    " and failed DMARC: the policy of %s is %s,\n"
	    "and the message was %s.\n"
	    "DKIM: %s. SPF: %s.\n\n",
	    r->policy_domain, spool_policy_name(r->policy),
	    r->delivery_result == NULL ? "handled by local policy"
	    : strcmp(r->delivery_result, "reject") == 0 ? "rejected"
	    : strcmp(r->delivery_result, "policy") == 0 ? "held (quarantine)"
	                                                : "delivered",
	    r->dkim_aligned ? "an aligned signature passed"
	                    : "no aligned signature passed",
	    r->spf_aligned ? "the aligned domain passed" : "no aligned pass");
	if (m->redact)
		buf_adds(out,
		    "The local parts of addresses are replaced by "
		    "tokens (the same token for\nthe same local part).\n");
	if (r->headers_truncated)
		buf_adds(out, "Some header fields were left out (size "
		              "limits).\n");
	if (r->body != NULL && r->body_truncated)
		buf_addf(
		    out, "The body is cut after %zu bytes.\n", r->body_len);
	buf_addc(out, '\n');
}

static void
add_original(struct buf *out, const struct report_arf *m)
{
	const struct hash_key *key = m->redact ? m->redact_key : NULL;
	struct buf content;
	bool eight = false;

	buf_init(&content, BOUND_REPORT_MAIL_BYTES);
	add_header_section(&content, m->rec, key, &eight);
	if (m->rec->body != NULL) {
		buf_addc(&content, '\n');
		add_body(&content, m->rec, &eight);
	}
	/* RFC 9991 appendix A: text/rfc822-headers without the body */
	buf_addf(out, "Content-Type: %s\nContent-Transfer-Encoding: %s\n\n",
	    m->rec->body != NULL ? "message/rfc822" : "text/rfc822-headers",
	    eight ? "8bit" : "7bit");
	if (buf_error(&content) != 0)
		out->error = buf_error(&content);
	else
		buf_add(out, content.data, content.len);
	buf_addc(out, '\n'); /* the delimiter's line break is its own */
	buf_free(&content);
}

/* ---- the mail ---- */

/* boundary -- one that occurs in none of the parts (RFC 2046 section
 * 5.1.1). */
static void
choose_boundary(const struct report_arf *m, const struct buf *parts,
    size_t nparts, char *b, size_t size)
{
	unsigned try;
	size_t i, n;
	bool found;

	for (try = 0;; try++) {
		n = (size_t)snprintf(b, size, "=_authmilter_arf_%u_", try);
		/* RFC 2046 section 5.1.1: at most 70 characters */
		for (i = 0; m->message_id[i] != '\0' && n < 70 && n + 1 < size;
		     i++)
			if (isalnum((unsigned char)m->message_id[i]))
				b[n++] = m->message_id[i];
		b[n] = '\0';
		found = false;
		for (i = 0; i < nparts && !found; i++)
			found =
			    parts[i].data != NULL &&
			    memmem(parts[i].data, parts[i].len, b, n) != NULL;
		if (!found)
			return;
	}
}

static void
add_mail_headers(
    struct buf *out, const struct report_arf *m, const char *boundary)
{
	const struct failure_record *r = m->rec;
	const char *const *to = m->to_count > 0 ? m->to : m->bcc;
	size_t i, nto = m->to_count > 0 ? m->to_count : m->bcc_count;

	buf_addf(out, "From: %s\n", m->from);
	for (i = 0; i < nto; i++)
		buf_addf(out, "%s%s", i == 0 ? "To: " : ",\n ", to[i]);
	for (i = 0; m->to_count > 0 && i < m->bcc_count; i++)
		buf_addf(out, "%s%s", i == 0 ? "\nBcc: " : ",\n ", m->bcc[i]);
	buf_addf(out, "\nSubject: DMARC failure report for %s from %s\n",
	    r->author_domain,
	    r->source_ip != NULL ? r->source_ip : "a local client");
	buf_adds(out, "Date: ");
	report_date(out, m->date);
	buf_addf(out, "\nMessage-ID: <%s>\n", m->message_id);
	/* RFC 3834 section 5: no auto-replies to reports */
	buf_adds(out, "Auto-Submitted: auto-generated\nMIME-Version: 1.0\n");
	/* RFC 6522 section 3, RFC 5965 section 2 */
	buf_addf(out,
	    "Content-Type: multipart/report; "
	    "report-type=feedback-report;\n boundary=\"%s\"\n\n"
	    "This is a MIME-formatted DMARC failure report (RFC 9991).\n\n",
	    boundary);
}

static bool
arf_ok(const struct report_arf *m)
{
	const struct failure_record *r = m->rec;
	size_t i;

	if (r == NULL || !plain(m->from) || !plain(m->message_id) ||
	    !plain(m->user_agent) || (m->to_count == 0 && m->bcc_count == 0) ||
	    (m->redact && m->redact_key == NULL) || !plain(r->author_domain) ||
	    !plain(r->policy_domain) || !plain(r->reporting_host) ||
	    (r->source_ip != NULL && !plain(r->source_ip)))
		return false;
	for (i = 0; i < m->to_count; i++)
		if (!plain(m->to[i]))
			return false;
	for (i = 0; i < m->bcc_count; i++)
		if (!plain(m->bcc[i]))
			return false;
	for (i = 0; i < r->rcpt_count; i++)
		if (!plain(r->rcpt[i]))
			return false;
	return r->mail_from == NULL || r->mail_from[0] == '\0' ||
	       plain(r->mail_from);
}

int
report_arf_compose(const struct report_arf *m, struct buf *out)
{
	struct buf parts[3];
	char boundary[96];
	size_t before = out->len, i;
	int err = 0;

	if (!arf_ok(m))
		return -EINVAL;
	for (i = 0; i < 3; i++)
		buf_init(&parts[i], BOUND_REPORT_MAIL_BYTES);
	add_text(&parts[0], m);
	add_feedback(&parts[1], m, m->redact ? m->redact_key : NULL);
	add_original(&parts[2], m);
	for (i = 0; i < 3 && err == 0; i++)
		err = buf_error(&parts[i]);
	if (err == 0) {
		choose_boundary(m, parts, 3, boundary, sizeof(boundary));
		add_mail_headers(out, m, boundary);
		for (i = 0; i < 3; i++) {
			buf_addf(out, "--%s\n", boundary);
			buf_add(out, parts[i].data, parts[i].len);
		}
		buf_addf(out, "--%s--\n", boundary);
		err = buf_error(out);
		if (err == 0 && out->len - before > BOUND_REPORT_MAIL_BYTES)
			err = -ERANGE;
	}
	for (i = 0; i < 3; i++)
		buf_free(&parts[i]);
	if (err != 0)
		buf_truncate(out, before);
	return err;
}
