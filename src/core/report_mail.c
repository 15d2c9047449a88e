/*
 * report_mail.c -- where a report goes (rua mailto: URIs, the RFC 9990
 * external-destination check, the suppression list) and the report mail
 * itself (RFC 5322 + MIME, the attachment in base64 lines: b64.h). See
 * report.h.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/report.h"
#include "authmilter/tags.h"

/* local-part + "@" + domain (RFC 5321 §4.5.3.1.1: local-part 64) */
#define ADDR_MAX (64 + 1 + BOUND_DOMAIN_LEN)

#define ATEXT                                                                  \
	"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"                 \
	"0123456789!#$%&'*+-/=?^_`{|}~"
#define LDH "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* addr_ok -- a dot-atom local part (RFC 5322 §3.4.1) and a host name. */
static bool
addr_ok(char *addr, char **ret_host)
{
	char *at = strchr(addr, '@'), *p;
	size_t local;

	if (at == NULL || strchr(at + 1, '@') != NULL)
		return false;
	local = (size_t)(at - addr);
	if (local == 0 || local > 64 || addr[0] == '.' || at[-1] == '.' ||
	    strstr(addr, "..") != NULL)
		return false;
	for (p = addr; p < at; p++)
		if (*p != '.' && strchr(ATEXT, *p) == NULL)
			return false;
	for (p = at + 1; *p != '\0'; p++) {
		if (strchr(LDH, *p) == NULL)
			return false;
		*p = (char)tolower((unsigned char)*p);
	}
	*ret_host = at + 1;
	return dns_name_valid(at + 1) && at[1] != '.';
}

/* RFC 9989 appendix C.4: a literal '!' in a DMARC URI can only start the
 * obsolete size suffix, since '!' in the URI itself MUST be encoded. */
char *
report_mailto_parse(struct arena *a, const char *uri, size_t len,
    char **ret_host, const char **ret_why)
{
	char addr[ADDR_MAX + 1], *copy;
	size_t i, n = 0;
	int hi, lo;

	while (len > 0 && (*uri == ' ' || *uri == '\t'))
		uri++, len--;
	while (len > 0 && (uri[len - 1] == ' ' || uri[len - 1] == '\t'))
		len--;
	if (len < 7 || strncasecmp(uri, "mailto:", 7) != 0) {
		*ret_why = "not a mailto: URI (no other scheme is defined)";
		return NULL;
	}
	for (i = 7; i < len && uri[i] != '?' && uri[i] != '!'; i++) {
		if (n == ADDR_MAX) {
			*ret_why = "address too long";
			return NULL;
		}
		if (uri[i] == '%' && i + 2 < len &&
		    (hi = hexval(uri[i + 1])) >= 0 &&
		    (lo = hexval(uri[i + 2])) >= 0) {
			addr[n++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			addr[n++] = uri[i];
	}
	addr[n] = '\0';
	if (memchr(addr, '\0', n) != NULL || !addr_ok(addr, ret_host)) {
		*ret_why = "not a valid mail address";
		return NULL;
	}
	if ((copy = arena_strdup(a, addr)) == NULL) {
		*ret_why = "out of memory";
		return NULL;
	}
	*ret_host = copy + (*ret_host - addr);
	return copy;
}

static bool
suppressed(
    const struct report_dest_options *o, const char *addr, const char *host)
{
	size_t i;

	for (i = 0; i < o->suppress_count; i++)
		if (strcasecmp(o->suppress[i],
		        strchr(o->suppress[i], '@') ? addr : host) == 0)
			return true;
	return false;
}

/* same_org -- whether the organizational domains of a and b are equal
 * (RFC 9990 section 4: only then is no check needed). */
static bool
same_org(const struct report_dest_options *o, const char *a, const char *b)
{
	struct buf oa, ob;
	bool same;

	if (o->orgdomain == NULL)
		return strcasecmp(a, b) == 0;
	buf_init(&oa, BOUND_DOMAIN_LEN + 1);
	buf_init(&ob, BOUND_DOMAIN_LEN + 1);
	same = o->orgdomain(o->orgdomain_ctx, a, &oa) == 0 &&
	       o->orgdomain(o->orgdomain_ctx, b, &ob) == 0 &&
	       buf_error(&oa) == 0 && buf_error(&ob) == 0 &&
	       strcasecmp(buf_cstr(&oa), buf_cstr(&ob)) == 0;
	buf_free(&oa);
	buf_free(&ob);
	return same;
}

/* confirms -- RFC 9990 section 4 step 6: a record whose first tag is
 * v=DMARC1; its rua tag into *ret_rua (NULL if none). */
static bool
confirms(const struct dns_rr *rr, const char *tag, struct tag_list *tl,
    const struct tag **ret_rua)
{
	const char *why;
	size_t where;

	if (tags_parse((const char *)rr->data, rr->len, tl, &why, &where) !=
	        0 ||
	    tl->count == 0 || tl->tags[0].name_len != 1 ||
	    tl->tags[0].name[0] != 'v' || tl->tags[0].value_len != 6 ||
	    memcmp(tl->tags[0].value, "DMARC1", 6) != 0)
		return false;
	*ret_rua = tags_find(tl, tag);
	return true;
}

struct dests {
	struct arena *a;
	struct report_dest *v;
	size_t n, cap;
};

static int
dests_add(struct dests *d, const char *uri, const char *addr, const char *why)
{
	size_t i;

	if (d->n == d->cap)
		return 0; /* sized for the worst case: cannot happen */
	for (i = 0; addr != NULL && i < d->n; i++)
		if (d->v[i].address != NULL &&
		    strcasecmp(d->v[i].address, addr) == 0) {
			addr = NULL;
			why = "duplicate of an earlier destination";
		}
	d->v[d->n++] = (struct report_dest){uri, addr, why, false};
	return 0;
}

/* adopt_override -- RFC 9990 section 4 step 9: the confirming record's
 * rua replaces the destination when every URI in it has the same host;
 * a URI with another host means no report to either. */
static int
adopt_override(struct dests *d, const struct report_dest_options *o,
    const char *uri, const char *host, const struct tag *rua,
    const char *why_ok)
{
	char addrs[BOUND_SPOOL_RUA][ADDR_MAX + 1];
	const char *p = rua->value, *end = rua->value + rua->value_len, *c;
	const char *why;
	size_t n = 0, i;
	char *addr, *h;

	for (; p < end && n < BOUND_SPOOL_RUA; p = c + 1) {
		if ((c = memchr(p, ',', (size_t)(end - p))) == NULL)
			c = end;
		if ((addr = report_mailto_parse(
		         d->a, p, (size_t)(c - p), &h, &why)) == NULL)
			continue; /* malformed: ignored */
		if (strcmp(h, host) != 0)
			return dests_add(d, uri, NULL,
			    "the authorization "
			    "record's rua names another host");
		if (suppressed(o, addr, h))
			continue;
		snprintf(addrs[n++], sizeof(addrs[0]), "%s", addr);
	}
	if (n == 0)
		return 1; /* nothing usable: keep the original */
	for (i = 0; i < n; i++)
		dests_add(d, uri, arena_strdup(d->a, addrs[i]), why_ok);
	return 0;
}

/* external -- verify a destination outside the policy domain's
 * organization (RFC 9990 section 4 steps 1-9). */
static int
external(struct dests *d, const struct report_dest_options *o,
    const char *policy_domain, const char *uri, const char *addr,
    const char *host)
{
	struct dns_answer *ans = NULL;
	const struct tag *rua = NULL;
	struct tag_list tl;
	struct buf name;
	const char *why;
	size_t i;
	int err;

	buf_init(&name, BOUND_DOMAIN_LEN + 1);
	buf_addf(&name, "%s._report._dmarc.%s", policy_domain, host);
	if (buf_error(&name) != 0 || !dns_name_valid(buf_cstr(&name))) {
		buf_free(&name); /* step 4 */
		return dests_add(d, uri, NULL, "authorization name too long");
	}
	if (o->dns == NULL)
		err = -EINVAL;
	else if ((err = dns_query(o->dns, buf_cstr(&name), DNS_T_TXT, &ans)) ==
	         -ENOMEM) {
		buf_free(&name);
		return err;
	}
	for (i = 0; err == 0 && ans->status == DNS_OK && i < ans->count; i++)
		if (confirms(&ans->rrs[i], o->tag != NULL ? o->tag : "rua", &tl,
		        &rua))
			break;
	if (o->dns == NULL)
		why = "no resolver for the external-destination check";
	else if (err != 0)
		why = "authorization name not valid";
	else if (ans->status == DNS_TEMPFAIL)
		why = "temporary DNS failure on the authorization record";
	else if (ans->status != DNS_OK || i == ans->count)
		why = "external destination not authorized (no v=DMARC1 "
		      "record at <policy-domain>._report._dmarc.<host>)";
	else
		why = NULL;
	if (why != NULL) {
		err = dests_add(d, uri, NULL, why);
		/* RFC 9990 section 4: not verified now, maybe next time */
		d->v[d->n - 1].temporary = err == 0 && o->dns != NULL &&
		                           ans != NULL &&
		                           ans->status == DNS_TEMPFAIL;
	} else if (rua == NULL || (err = adopt_override(d, o, uri, host, rua,
	                               "external, "
	                               "authorized; rua override")) == 1)
		err = dests_add(d, uri, addr, "external, authorized");
	dns_answer_unref(ans);
	buf_free(&name);
	return err;
}

int
report_destinations(const struct spool_policy_published *p,
    const struct report_dest_options *o, struct arena *a,
    struct report_dest **ret, size_t *ret_n)
{
	struct dests d = {a, NULL, 0, 0};
	const char *why;
	char *addr, *host;
	size_t i, n = p->rua_count;
	int err = 0;

	if (n > BOUND_SPOOL_RUA)
		n = BOUND_SPOOL_RUA; /* RFC 9990: the receiver's limit */
	d.cap = n * (BOUND_SPOOL_RUA + 1);
	if (n > 0 && (d.v = arena_zalloc(a, d.cap * sizeof(*d.v))) == NULL)
		return -ENOMEM;
	for (i = 0; err == 0 && i < n; i++) {
		addr = report_mailto_parse(
		    a, p->rua[i], strlen(p->rua[i]), &host, &why);
		if (addr == NULL) /* RFC 9990: malformed URIs ignored */
			err = dests_add(&d, p->rua[i], NULL, why);
		else if (suppressed(o, addr, host))
			err = dests_add(&d, p->rua[i], NULL,
			    "on the suppression list (NoReportsTo)");
		else if (same_org(o, p->domain, host))
			err = dests_add(
			    &d, p->rua[i], addr, "same organizational domain");
		else
			err = external(&d, o, p->domain, p->rua[i], addr, host);
	}
	if (err != 0)
		return err;
	*ret = d.v;
	*ret_n = d.n;
	return 0;
}

/* ---- the mail ---- */

/* hdr_ok -- text that may go into a header field as it is: printable
 * ASCII, no CR/LF (so nothing can add a field). */
static bool
hdr_ok(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return s != NULL;
}

void
report_date(struct buf *out, time_t t)
{
	static const char *const days[] = {
	    "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* RFC 5322 §3.3 date-time, independent of the locale */
	buf_addf(out, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
add_date(struct buf *out, const char *field, time_t t)
{
	buf_adds(out, field);
	report_date(out, t);
	buf_addc(out, '\n');
}

static void
add_headers(struct buf *out, const struct report_mail *m, const char *boundary)
{
	size_t i;

	buf_addf(out, "From: %s\n", m->from);
	for (i = 0; i < m->to_count; i++)
		buf_addf(out, "%s%s", i == 0 ? "To: " : ",\n ", m->to[i]);
	/* RFC 9990 "Email": dmarc-subject, folded as its example is */
	buf_addf(out,
	    "\nSubject: Report Domain: %s\n Submitter: %s\n"
	    " Report-ID: <%s>\n",
	    m->domain, m->submitter, m->report_id);
	add_date(out, "Date: ", m->date);
	buf_addf(out, "Message-ID: <%s>\n", m->report_id);
	/* RFC 3834 §5: no auto-replies to reports, no report loops */
	buf_adds(out, "Auto-Submitted: auto-generated\n");
	buf_adds(out, "MIME-Version: 1.0\n");
	buf_addf(out, "Content-Type: multipart/mixed;\n boundary=\"%s\"\n\n",
	    boundary);
	buf_adds(out, "This is a multi-part message in MIME format.\n\n");
}

static void
add_text_part(
    struct buf *out, const struct report_mail *m, const char *boundary)
{
	buf_addf(out,
	    "--%s\nContent-Type: text/plain; charset=us-ascii\n"
	    "Content-Transfer-Encoding: 7bit\n\n",
	    boundary);
	buf_addf(out,
	    "This is a DMARC aggregate report (RFC 9990) for %s\n"
	    "from %s.\n\n",
	    m->domain, m->submitter);
	add_date(out, "Period begins: ", (time_t)m->begin);
	add_date(out, "Period ends:   ", (time_t)m->end);
	buf_addf(out, "Report-ID: <%s>\n\n", m->report_id);
}

int
report_mail_compose(const struct report_mail *m, struct buf *out)
{
	char boundary[80];
	size_t before = out->len, i, n;
	int err;

	if (m->to_count == 0 || !hdr_ok(m->from) || !hdr_ok(m->domain) ||
	    !hdr_ok(m->submitter) || !hdr_ok(m->report_id) ||
	    !hdr_ok(m->file_name) || strchr(m->file_name, '"') != NULL)
		return -EINVAL;
	for (i = 0; i < m->to_count; i++)
		if (!hdr_ok(m->to[i]))
			return -EINVAL;
	/* RFC 2046 §5.1.1: a boundary that base64 and our text cannot
	 * contain ("=_" never occurs in base64) */
	n = (size_t)snprintf(boundary, sizeof(boundary), "=_dmarc_report_");
	for (i = 0; m->report_id[i] != '\0' && n < 60; i++)
		if (isalnum((unsigned char)m->report_id[i]))
			boundary[n++] = m->report_id[i];
	boundary[n] = '\0';

	add_headers(out, m, boundary);
	add_text_part(out, m, boundary);
	/* RFC 9990 "Email": application/gzip (RFC 6713) with the name */
	buf_addf(out,
	    "--%s\nContent-Type: application/gzip;\n name=\"%s\"\n"
	    "Content-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment;\n filename=\"%s\"\n\n",
	    boundary, m->file_name, m->file_name);
	b64_encode_lines(out, m->gz, m->gz_len);
	buf_addf(out, "\n--%s--\n", boundary);
	err = buf_error(out);
	if (err == 0 && out->len - before > BOUND_REPORT_MAIL_BYTES)
		err = -ERANGE;
	if (err != 0)
		buf_truncate(out, before);
	return err;
}
