/*
 * report_xml.c -- the RFC 9990 aggregate report as XML (libxml2
 * xmlTextWriter: escaping and well-formedness are the library's), gzip
 * (zlib) and the report file name. See report.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/xmlwriter.h>
#include <zlib.h>

#include "authmilter/report.h"

/* A writer with a sticky error, so the element sequence reads like the
 * schema instead of like error handling. */
struct xw {
	xmlTextWriterPtr w;
	int err;
};

static void
xw_check(struct xw *x, int rc)
{
	if (rc < 0 && x->err == 0)
		x->err = -ENOMEM;
}

static void
xw_start(struct xw *x, const char *name)
{
	if (x->err == 0)
		xw_check(
		    x, xmlTextWriterStartElement(x->w, (const xmlChar *)name));
}

static void
xw_end(struct xw *x)
{
	if (x->err == 0)
		xw_check(x, xmlTextWriterEndElement(x->w));
}

/* xw_elem -- <name>text</name>; nothing when text is NULL or "" unless
 * empty_ok (an empty envelope_from means a null reverse-path). */
static void
xw_elem(struct xw *x, const char *name, const char *text, bool empty_ok)
{
	if (x->err != 0 || text == NULL || (text[0] == '\0' && !empty_ok))
		return;
	xw_start(x, name);
	if (x->err == 0 && text[0] != '\0')
		xw_check(
		    x, xmlTextWriterWriteString(x->w, (const xmlChar *)text));
	xw_end(x);
}

static void
xw_int(struct xw *x, const char *name, long long v)
{
	char s[32];

	snprintf(s, sizeof(s), "%lld", v);
	xw_elem(x, name, s, false);
}

/* RFC 9990 "Report generator metadata" */
static void
write_metadata(struct xw *x, const struct report_meta *m, int64_t begin,
    int64_t end, const char *report_id)
{
	xw_start(x, "report_metadata");
	xw_elem(x, "org_name", m->org_name, false);
	xw_elem(x, "email", m->email, false);
	xw_elem(x, "extra_contact_info", m->extra_contact_info, false);
	xw_elem(x, "report_id", report_id, false);
	xw_start(x, "date_range"); /* seconds since the epoch, UTC */
	xw_int(x, "begin", begin);
	xw_int(x, "end", end);
	xw_end(x);
	xw_elem(x, "generator", m->generator, false);
	xw_end(x);
}

/* RFC 9990 "Contents of the policy_published element"; unset optional
 * tags omitted */
static void
write_policy(
    struct xw *x, const char *domain, const struct spool_policy_published *p)
{
	xw_start(x, "policy_published");
	xw_elem(x, "domain", domain, false);
	xw_elem(x, "discovery_method",
	    spool_discovery_name(p->discovery_method), false);
	xw_elem(x, "p", spool_policy_name(p->p), false);
	xw_elem(x, "sp", spool_policy_name(p->sp), false);
	xw_elem(x, "np", spool_policy_name(p->np), false);
	xw_elem(x, "fo", p->fo, false);
	xw_elem(x, "adkim", spool_align_name(p->adkim), false);
	xw_elem(x, "aspf", spool_align_name(p->aspf), false);
	xw_elem(x, "testing", spool_testing_name(p->testing), false);
	xw_end(x);
}

/* RFC 9990 "Contents of the row element" and "...policy_evaluated...":
 * disposition, dkim, spf, reason* in this order (an XSD sequence) */
static void
write_row(struct xw *x, const struct report_row *row)
{
	const struct spool_record *r = &row->rec;
	size_t i;

	xw_start(x, "row");
	xw_elem(x, "source_ip", r->source_ip, false);
	xw_int(x, "count", (long long)row->count);
	xw_start(x, "policy_evaluated");
	xw_elem(
	    x, "disposition", spool_disposition_name(r->disposition), false);
	xw_elem(x, "dkim", r->dkim_aligned ? "pass" : "fail", false);
	xw_elem(x, "spf", r->spf_aligned ? "pass" : "fail", false);
	for (i = 0; i < r->reason_count; i++) {
		xw_start(x, "reason");
		xw_elem(x, "type", spool_reason_type_name(r->reasons[i].type),
		    false);
		xw_elem(x, "comment", r->reasons[i].comment, false);
		xw_end(x);
	}
	xw_end(x);
	xw_end(x);
}

/* dkim_rank -- RFC 9990 "DKIM Signatures in Aggregate Reports" order: 0 passing
 * and strictly aligned (same domain), 1 passing and relaxed-aligned by name, 2
 * other passing, 3 the rest. Relaxed alignment proper needs organizational
 * domains; "one is a subdomain of the other" is the part of it a report
 * can see, and only the order depends on it. */
static int
dkim_rank(const struct spool_dkim *d, const char *from)
{
	size_t dl = strlen(d->domain), fl = strlen(from);

	if (d->result != AUTH_PASS)
		return 3;
	if (strcasecmp(d->domain, from) == 0)
		return 0;
	if ((dl < fl && from[fl - dl - 1] == '.' &&
	        strcasecmp(from + fl - dl, d->domain) == 0) ||
	    (fl < dl && d->domain[dl - fl - 1] == '.' &&
	        strcasecmp(d->domain + dl - fl, from) == 0))
		return 1;
	return 2;
}

static void
write_dkim(struct xw *x, const struct spool_dkim *d)
{
	xw_start(x, "dkim");
	xw_elem(x, "domain", d->domain, false);
	xw_elem(x, "selector", d->selector, false);
	xw_elem(x, "result", auth_result_name(d->result), false);
	xw_elem(x, "human_result", d->human_result, false);
	xw_end(x);
}

/* RFC 9990 "Contents of the auth_results element": every dkim, then
 * at most one spf */
static void
write_auth(struct xw *x, const struct spool_record *r)
{
	size_t i;
	int rank;

	xw_start(x, "auth_results");
	/* a stable order by rank: one pass per rank (at most 100 results) */
	for (rank = 0; rank < 4; rank++)
		for (i = 0; i < r->dkim_count; i++)
			if (dkim_rank(&r->dkim[i], r->header_from) == rank)
				write_dkim(x, &r->dkim[i]);
	if (r->spf.domain != NULL) {
		xw_start(x, "spf");
		xw_elem(x, "domain", r->spf.domain, false);
		/* RFC 9990 "Contents of the spf element": "mfrom" is the
		 * only valid scope; a HELO result is reported without */
		if (r->spf.scope == SPOOL_SCOPE_MFROM)
			xw_elem(x, "scope", "mfrom", false);
		xw_elem(x, "result", auth_result_name(r->spf.result), false);
		xw_elem(x, "human_result", r->spf.human_result, false);
		xw_end(x);
	}
	xw_end(x);
}

/* RFC 9990 "Contents of the record element": row, identifiers,
 * auth_results, in this order */
static void
write_record(struct xw *x, const struct report_row *row)
{
	const struct spool_record *r = &row->rec;

	xw_start(x, "record");
	write_row(x, row);
	xw_start(x, "identifiers");
	xw_elem(x, "header_from", r->header_from, false);
	/* RFC 9990 "identifiers": envelope_from MAY be present but
	 * empty (null reverse-path) */
	xw_elem(x, "envelope_from", r->envelope_from, true);
	xw_elem(x, "envelope_to", r->envelope_to, false);
	xw_end(x);
	write_auth(x, r);
	xw_end(x);
}

static void
write_feedback(struct xw *x, const struct report_domain *d,
    const struct report_meta *m, int64_t begin, int64_t end,
    const char *report_id)
{
	size_t i;

	xw_check(x, xmlTextWriterSetIndent(x->w, 1));
	xw_check(x, xmlTextWriterSetIndentString(x->w, (const xmlChar *)" "));
	xw_check(x, xmlTextWriterStartDocument(x->w, NULL, "UTF-8", NULL));
	if (x->err == 0)
		xw_check(x, xmlTextWriterStartElementNS(x->w, NULL,
		                (const xmlChar *)"feedback",
		                (const xmlChar *)REPORT_XMLNS));
	/* RFC 9990 "First Level Elements": version, report_metadata,
	 * policy_published, (extension), record+ in this order; version
	 * MUST be 1.0 */
	xw_elem(x, "version", "1.0", false);
	write_metadata(x, m, begin, end, report_id);
	write_policy(x, d->domain, &d->policy);
	for (i = 0; i < d->row_count; i++)
		write_record(x, d->rows[i]);
	xw_end(x);
	if (x->err == 0)
		xw_check(x, xmlTextWriterEndDocument(x->w));
}

int
report_xml(const struct report_domain *d, const struct report_meta *m,
    int64_t begin, int64_t end, const char *report_id, struct buf *out)
{
	struct xw x = {NULL, 0};
	xmlBufferPtr xb;
	int err;

	if (d->row_count == 0 || m->org_name == NULL || m->email == NULL ||
	    report_id == NULL || report_id[0] == '\0')
		return -EINVAL;
	if ((xb = xmlBufferCreate()) == NULL)
		return -ENOMEM;
	if ((x.w = xmlNewTextWriterMemory(xb, 0)) == NULL) {
		xmlBufferFree(xb);
		return -ENOMEM;
	}
	write_feedback(&x, d, m, begin, end, report_id);
	xmlFreeTextWriter(x.w); /* flushes into xb */
	err = x.err;
	if (err == 0) {
		buf_add(out, xmlBufferContent(xb), (size_t)xmlBufferLength(xb));
		err = buf_error(out);
	}
	xmlBufferFree(xb);
	return err;
}

int
report_gzip(const void *data, size_t len, struct buf *out)
{
	z_stream z;
	uLong bound;
	char *tmp;
	int rc;

	memset(&z, 0, sizeof(z));
	/* windowBits 15 + 16: a gzip (RFC 1952) wrapper, not zlib's */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
	        Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	bound = deflateBound(&z, (uLong)len);
	if ((tmp = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return -ENOMEM;
	}
	z.next_in = (Bytef *)(uintptr_t)data; /* zlib does not write it */
	z.avail_in = (uInt)len;
	z.next_out = (Bytef *)tmp;
	z.avail_out = (uInt)bound;
	rc = deflate(&z, Z_FINISH);
	if (rc == Z_STREAM_END)
		buf_add(out, tmp, z.total_out);
	deflateEnd(&z);
	free(tmp);
	if (rc != Z_STREAM_END)
		return -ENOMEM;
	return buf_error(out);
}

static bool
all_of(const char *s, const char *set)
{
	return s[0] != '\0' && strspn(s, set) == strlen(s);
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

int
report_file_name(const char *submitter, const char *domain, int64_t begin,
    int64_t end, const char *unique_id, struct buf *out)
{
	/* RFC 9990 "Email": receiver and policy-domain are domain-names,
	 * unique-id = 1*(ALPHA / DIGIT); none may carry a '!' or '/' */
	if (!all_of(submitter, ALNUM "-._") || !all_of(domain, ALNUM "-._") ||
	    !all_of(unique_id, ALNUM) || begin < 0 || end < begin)
		return -EINVAL;
	buf_addf(out, "%s!%s!%lld!%lld!%s.xml.gz", submitter, domain,
	    (long long)begin, (long long)end, unique_id);
	return buf_error(out);
}
