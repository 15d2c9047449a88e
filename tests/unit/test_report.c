/*
 * test_report.c -- aggregation counts and rows, the report XML (parsed
 * back with libxml2), gzip, file names, destinations with the RFC 9990
 * external check (dns_zone), and the report mail.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "authmilter/arena.h"
#include "authmilter/report.h"
#include "check.h"

static struct spool_record
rec(const char *domain, const char *ip, enum auth_result dmarc, int64_t time)
{
	struct spool_record r = {
	    .time = time,
	    .reporting_host = "mx1.example.org",
	    .policy = {.domain = domain,
	        .p = SPOOL_POLICY_REJECT,
	        .discovery_method = SPOOL_DISCOVERY_TREEWALK},
	    .source_ip = ip,
	    .dmarc = dmarc,
	    .disposition =
	        dmarc == AUTH_PASS ? SPOOL_DISP_PASS : SPOOL_DISP_REJECT,
	    .dkim_aligned = dmarc == AUTH_PASS,
	    .header_from = domain,
	    .envelope_from = domain,
	};
	return r;
}

static const struct report_meta meta = {
    .org_name = "Example Org & <Friends>",
    .email = "dmarc-reports@example.org",
    .submitter = "example.org",
    .generator = "authmilter test",
};

static void
test_aggregation(void)
{
	struct report_agg *g = report_agg_new();
	const struct report_domain *d;
	struct spool_record r;
	static const struct spool_dkim sig = {
	    "example.com", "s1", AUTH_PASS, NULL};
	int i;

	CHECK(g != NULL);
	if (g == NULL)
		return;
	/* 10 identical, 5 from another IP, 3 with a DKIM result: 3 rows */
	for (i = 0; i < 10; i++) {
		r = rec("Example.COM", "192.0.2.1", AUTH_PASS, 1000 + i);
		CHECK_INT_EQ(report_agg_add(g, &r), 0);
	}
	for (i = 0; i < 5; i++) {
		r = rec("example.com", "192.0.2.2", AUTH_FAIL, 900 + i);
		CHECK_INT_EQ(report_agg_add(g, &r), 0);
	}
	for (i = 0; i < 3; i++) {
		r = rec("example.com", "192.0.2.1", AUTH_PASS, 2000);
		r.dkim = &sig;
		r.dkim_count = 1;
		r.policy.p = SPOOL_POLICY_QUARANTINE; /* the latest policy */
		CHECK_INT_EQ(report_agg_add(g, &r), 0);
	}
	/* an older record with yet another policy does not win */
	r = rec("example.com", "192.0.2.1", AUTH_PASS, 1);
	r.policy.p = SPOOL_POLICY_NONE;
	CHECK_INT_EQ(report_agg_add(g, &r), 0);
	r = rec("other.example", "2001:db8::1", AUTH_NONE, 5);
	CHECK_INT_EQ(report_agg_add(g, &r), 0);

	CHECK_INT_EQ(report_agg_finish(g), 2);
	/* header_from "Example.COM" and "example.com" are two rows */
	CHECK_INT_EQ(report_agg_rows(g), 5);
	d = report_agg_domain(g, 0);
	CHECK(d != NULL && report_agg_domain(g, 2) == NULL);
	if (d == NULL)
		return;
	CHECK_STR_EQ(d->domain, "example.com");
	CHECK_INT_EQ(d->messages, 19);
	CHECK_INT_EQ(d->dmarc_pass, 14);
	CHECK_INT_EQ(d->dmarc_fail, 5);
	CHECK_INT_EQ(d->first_time, 1);
	CHECK_INT_EQ(d->last_time, 2000);
	CHECK_INT_EQ(d->policy.p, SPOOL_POLICY_QUARANTINE);
	CHECK_INT_EQ(d->row_count, 4);
	if (d->row_count == 4) {
		/* sorted by IP, then key */
		CHECK_STR_EQ(d->rows[0]->rec.source_ip, "192.0.2.1");
		CHECK_STR_EQ(d->rows[2]->rec.source_ip, "192.0.2.1");
		CHECK_INT_EQ(
		    d->rows[0]->count + d->rows[1]->count + d->rows[2]->count,
		    14);
		CHECK_STR_EQ(d->rows[3]->rec.source_ip, "192.0.2.2");
		CHECK_INT_EQ(d->rows[3]->count, 5);
	}
	d = report_agg_domain(g, 1);
	CHECK(d != NULL && strcmp(d->domain, "other.example") == 0 &&
	      d->messages == 1 && d->dmarc_pass == 0 && d->dmarc_fail == 0);
	report_agg_free(g);
	CHECK(report_agg_free(NULL) == NULL);
}

/* xpath_num -- evaluate a number-valued XPath (prefix d: = the DMARC
 * namespace) on doc */
static double
xpath_num(xmlDocPtr doc, const char *expr)
{
	xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
	xmlXPathObjectPtr o;
	double v = -1;

	if (ctx == NULL)
		return v;
	xmlXPathRegisterNs(
	    ctx, (const xmlChar *)"d", (const xmlChar *)REPORT_XMLNS);
	o = xmlXPathEvalExpression((const xmlChar *)expr, ctx);
	if (o != NULL)
		v = xmlXPathCastToNumber(o);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(ctx);
	return v;
}

static void
test_xml(void)
{
	static const struct spool_dkim sigs[] = {
	    {"esp.example.net", "x", AUTH_FAIL, "bad <sig> & co"},
	    {"example.net", "y", AUTH_PASS, NULL},
	    {"mail.example.com", "z", AUTH_PASS, NULL},
	    {"example.com", "s1", AUTH_PASS, NULL},
	};
	static const struct spool_reason why[] = {
	    {SPOOL_REASON_MAILING_LIST, "list"},
	};
	struct report_agg *g = report_agg_new();
	const struct report_domain *d;
	struct spool_record r;
	struct buf xml, gz;
	xmlDocPtr doc;
	char out[4096];
	z_stream z;
	int i;

	buf_init(&xml, 1 << 24);
	buf_init(&gz, 1 << 24);
	for (i = 0; i < 7; i++) {
		r = rec("example.com", i < 4 ? "192.0.2.9" : "2001:db8::9",
		    AUTH_FAIL, 100);
		r.dkim = sigs;
		r.dkim_count = 4;
		r.reasons = why;
		r.reason_count = 1;
		r.envelope_from = i < 4 ? "" : "bounce.example.com";
		r.spf = (struct spool_spf){"bounce.example.com",
		    SPOOL_SCOPE_MFROM, AUTH_SOFTFAIL, NULL};
		CHECK_INT_EQ(report_agg_add(g, &r), 0);
	}
	report_agg_finish(g);
	d = report_agg_domain(g, 0);
	CHECK_INT_EQ(
	    report_xml(d, &meta, 86400, 172799, "abc@example.org", &xml), 0);
	doc = xmlReadMemory(
	    xml.data, (int)xml.len, "report.xml", NULL, XML_PARSE_NONET);
	CHECK(doc != NULL);
	if (doc != NULL) {
		CHECK(xpath_num(
		          doc, "sum(/d:feedback/d:record/d:row/d:count)") == 7);
		CHECK(xpath_num(doc, "count(/d:feedback/d:record)") == 2);
		CHECK(xpath_num(doc,
		          "count(/d:feedback/*[1][self::d:version])") == 1);
		CHECK(xpath_num(doc, "/d:feedback/d:report_metadata/"
		                     "d:date_range/d:end") == 172799);
		/* the strictly aligned passing signature comes first, the
		 * failing one last */
		CHECK(xpath_num(doc,
		          "count(/d:feedback/d:record[1]/"
		          "d:auth_results/d:dkim[1][d:selector='s1'])") == 1);
		CHECK(xpath_num(doc,
		          "count(/d:feedback/d:record[1]/"
		          "d:auth_results/d:dkim[2][d:selector='z'])") == 1);
		CHECK(xpath_num(doc,
		          "count(/d:feedback/d:record[1]/"
		          "d:auth_results/d:dkim[4][d:selector='x'])") == 1);
		/* an empty envelope_from is present and empty */
		CHECK(xpath_num(doc, "count(//d:identifiers/"
		                     "d:envelope_from[.=''])") == 1);
		CHECK(xpath_num(doc, "count(//d:policy_evaluated/d:reason/"
		                     "d:type[.='mailing_list'])") == 2);
		xmlFreeDoc(doc);
	}
	CHECK(strstr(buf_cstr(&xml), "Example Org &amp; &lt;Friends&gt;") !=
	      NULL);

	/* gzip, and back */
	CHECK_INT_EQ(report_gzip(xml.data, xml.len, &gz), 0);
	CHECK(gz.len > 10 && (unsigned char)gz.data[0] == 0x1f &&
	      (unsigned char)gz.data[1] == 0x8b);
	memset(&z, 0, sizeof(z));
	CHECK_INT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)gz.data;
	z.avail_in = (uInt)gz.len;
	z.next_out = (Bytef *)out;
	z.avail_out = sizeof(out);
	i = inflate(&z, Z_FINISH);
	CHECK(i == Z_STREAM_END || i == Z_BUF_ERROR);
	CHECK(z.total_out == (i == Z_STREAM_END ? xml.len : sizeof(out)));
	CHECK(memcmp(out, xml.data, z.total_out) == 0);
	inflateEnd(&z);

	/* no rows, no report */
	{
		struct report_domain empty = {.domain = "x.example"};

		empty.policy.p = SPOOL_POLICY_NONE;
		CHECK_INT_EQ(
		    report_xml(&empty, &meta, 0, 1, "id", &xml), -EINVAL);
	}
	buf_free(&xml);
	buf_free(&gz);
	report_agg_free(g);
}

static void
test_file_name(void)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK_INT_EQ(report_file_name("mail.receiver.example", "example.com",
	                 1013662812, 1013749130, "a1B2", &b),
	    0);
	CHECK_STR_EQ(buf_cstr(&b), "mail.receiver.example!example.com!"
	                           "1013662812!1013749130!a1B2.xml.gz");
	buf_reset(&b);
	CHECK_INT_EQ(
	    report_file_name("r.example", "a!b.example", 0, 1, "x", &b),
	    -EINVAL);
	CHECK_INT_EQ(
	    report_file_name("r.example", "a.example", 0, 1, "x-y", &b),
	    -EINVAL);
	CHECK_INT_EQ(
	    report_file_name("r/x", "a.example", 0, 1, "x", &b), -EINVAL);
	CHECK_INT_EQ(
	    report_file_name("r.example", "a.example", 5, 1, "x", &b), -EINVAL);
	buf_free(&b);
}

/* org domain for tests: the last two labels (enough for these names) */
static int
last_two_labels(void *ctx, const char *domain, struct buf *ret)
{
	const char *p = domain + strlen(domain);
	int dots = 0;

	while (p > domain && dots < 2)
		if (*--p == '.' && ++dots == 2)
			p++;
	buf_adds(ret, p);
	return buf_error(ret);
}

static void
test_destinations(void)
{
	static const struct {
		const char *uri;
		const char *address; /* NULL: dropped */
		const char *why;     /* substring */
	} cases[] = {
	    {"mailto:dmarc@example.com", "dmarc@example.com", "same"},
	    {"mailto:agg@reports.example.com!10m", "agg@reports.example.com",
	        "same"},
	    {"mailto:a%2Bb@Example.COM?subject=x", "a+b@example.com", "same"},
	    {"mailto:dmarc@example.com", NULL, "duplicate"},
	    {"https://example.com/report", NULL, "not a mailto"},
	    {"mailto:no-at-sign", NULL, "not a valid"},
	    {"mailto:x@ok.example.net", "x@ok.example.net", "authorized"},
	    {"mailto:x@multi.example.net", "x@multi.example.net", "authorized"},
	    {"mailto:x@nope.example.net", NULL, "not authorized"},
	    {"mailto:x@badv.example.net", NULL, "not authorized"},
	    {"mailto:x@over.example.net", "y@over.example.net", "override"},
	    {"mailto:x@evil.example.net", NULL, "another host"},
	    {"mailto:x@slow.example.net", NULL, "temporary"},
	    {"mailto:loop@example.org", NULL, "suppression"},
	    {"mailto:x@suppressed.example", NULL, "suppression"},
	};
	static const char *const suppress[] = {
	    "loop@example.org",
	    "suppressed.example",
	};
	const char *rua[sizeof(cases) / sizeof(cases[0])];
	struct spool_policy_published p = {
	    .domain = "example.com",
	    .p = SPOOL_POLICY_NONE,
	};
	struct dns_resolver *dns = dns_zone_new();
	struct report_dest_options o = {
	    .dns = dns,
	    .orgdomain = last_two_labels,
	    .suppress = suppress,
	    .suppress_count = 2,
	};
	struct arena *a = arena_new(4096);
	struct report_dest *d;
	size_t i, n, k;

	CHECK_INT_EQ(dns_zone_add(dns,
	                 "example.com._report._dmarc."
	                 "ok.example.net",
	                 DNS_T_TXT, "\"v=DMARC1\""),
	    0);
	/* several records: one that confirms is enough */
	CHECK_INT_EQ(dns_zone_add(dns,
	                 "example.com._report._dmarc."
	                 "multi.example.net",
	                 DNS_T_TXT, "\"v=spf1 -all\""),
	    0);
	CHECK_INT_EQ(dns_zone_add(dns,
	                 "example.com._report._dmarc."
	                 "multi.example.net",
	                 DNS_T_TXT, "\"v=DMARC1;\""),
	    0);
	CHECK_INT_EQ(dns_zone_add(dns,
	                 "example.com._report._dmarc."
	                 "badv.example.net",
	                 DNS_T_TXT, "\"p=none; v=DMARC1\""),
	    0);
	CHECK_INT_EQ(
	    dns_zone_add(dns,
	        "example.com._report._dmarc."
	        "over.example.net",
	        DNS_T_TXT, "\"v=DMARC1; rua=mailto:y@over.example.net\""),
	    0);
	CHECK_INT_EQ(
	    dns_zone_add(dns,
	        "example.com._report._dmarc."
	        "evil.example.net",
	        DNS_T_TXT, "\"v=DMARC1; rua=mailto:victim@victim.example\""),
	    0);
	CHECK_INT_EQ(dns_zone_add_fault(dns,
	                 "example.com._report._dmarc."
	                 "slow.example.net",
	                 DNS_T_TXT, "timeout"),
	    0);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		rua[i] = cases[i].uri;
	/* the receiver's limit: BOUND_SPOOL_RUA per call, so two calls */
	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k += n) {
		size_t m = sizeof(cases) / sizeof(cases[0]) - k;

		p.rua = rua + k;
		p.rua_count = m > BOUND_SPOOL_RUA ? BOUND_SPOOL_RUA : m;
		/* the duplicate case needs its original in the same call */
		if (k == 0)
			p.rua_count = 4;
		n = p.rua_count;
		CHECK_INT_EQ(report_destinations(&p, &o, a, &d, &m), 0);
		CHECK_INT_EQ(m, n);
		for (i = 0; i < m && i < n; i++) {
			const char *want = cases[k + i].address;

			CHECK_STR_EQ(d[i].uri, cases[k + i].uri);
			if ((want == NULL) != (d[i].address == NULL) ||
			    (want != NULL && strcmp(want, d[i].address) != 0) ||
			    strstr(d[i].why, cases[k + i].why) == NULL) {
				fprintf(stderr, "%s: got %s (%s)\n",
				    cases[k + i].uri,
				    d[i].address ? d[i].address : "dropped",
				    d[i].why);
				CHECK(0);
			}
		}
	}
	/* no resolver: external destinations are dropped */
	o.dns = NULL;
	p.rua = rua + 6;
	p.rua_count = 1;
	CHECK_INT_EQ(report_destinations(&p, &o, a, &d, &n), 0);
	CHECK(n == 1 && d[0].address == NULL);
	arena_free(a);
	dns_resolver_free(dns);
}

/* report_mailto_parse: the address of one rua URI, or why not. */
static const struct {
	const char *uri;
	const char *want; /* the address, or NULL: refused */
} mailto_cases[] = {
    {"mailto:dmarc@example.com", "dmarc@example.com"},
    {" MAILTO:Dmarc@Example.COM \t", "Dmarc@example.com"},
    {"mailto:dmarc@example.com!10m", "dmarc@example.com"},
    {"mailto:dmarc@example.com?subject=x", "dmarc@example.com"},
    {"mailto:d%61rc@example.com", "darc@example.com"},
    {"mailto:a.b@r_ua.example.com", "a.b@r_ua.example.com"}, {"mailto:", NULL},
    {"mailto:@example.com", NULL}, {"mailto:dmarc@", NULL},
    {"mailto:a@b@example.com", NULL},
    {"mailto:a%40b@example.com", NULL}, /* two '@' once decoded */
    {"mailto:a%00@example.com", NULL}, {"mailto:.a@example.com", NULL},
    {"mailto:a..b@example.com", NULL}, {"mailto:a b@example.com", NULL},
    {"mailto:a@exa mple.com", NULL}, {"mailto:a@.example.com", NULL},
    {"mailto:a@example..com", NULL}, {"https://example.com/report", NULL},
    {"mailto:a@xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
     "xxxxx.example",
        NULL}, /* a label of 65 */
};

static void
test_mailto(void)
{
	struct arena *a = arena_new(4096);
	const char *why;
	char *addr, *host;
	size_t i;

	for (i = 0; i < sizeof(mailto_cases) / sizeof(mailto_cases[0]); i++) {
		why = NULL;
		host = NULL;
		addr = report_mailto_parse(a, mailto_cases[i].uri,
		    strlen(mailto_cases[i].uri), &host, &why);
		if (mailto_cases[i].want == NULL) {
			if (addr != NULL)
				fprintf(stderr, "  \"%s\" accepted\n",
				    mailto_cases[i].uri);
			CHECK(addr == NULL && why != NULL);
			continue;
		}
		CHECK_STR_EQ(addr, mailto_cases[i].want);
		CHECK(addr != NULL && host == strchr(addr, '@') + 1);
	}
	arena_free(a);
}

static void
test_mail(void)
{
	static const char *const to[] = {"a@example.com", "b@example.net"};
	unsigned char gz[300], back[400];
	struct report_mail m = {
	    .from = "dmarc-reports@example.org",
	    .to = to,
	    .to_count = 2,
	    .domain = "example.com",
	    .submitter = "example.org",
	    .report_id = "f00d@example.org",
	    .file_name = "example.org!example.com!0!86399!f00d.xml.gz",
	    .begin = 0,
	    .end = 86399,
	    .date = 1700000000,
	    .gz = gz,
	    .gz_len = sizeof(gz),
	};
	struct buf b, b64;
	const char *p, *q;
	size_t i;
	int n;

	for (i = 0; i < sizeof(gz); i++)
		gz[i] = (unsigned char)(i * 7);
	buf_init(&b, BOUND_REPORT_MAIL_BYTES + 4096);
	buf_init(&b64, 4096);
	CHECK_INT_EQ(report_mail_compose(&m, &b), 0);
	p = buf_cstr(&b);
	CHECK(
	    strstr(p, "\nSubject: Report Domain: example.com\n Submitter: "
	              "example.org\n Report-ID: <f00d@example.org>\n") != NULL);
	CHECK(strncmp(p,
	          "From: dmarc-reports@example.org\nTo: a@example.com,"
	          "\n b@example.net\n",
	          63) == 0);
	CHECK(strstr(p, "\nDate: Tue, 14 Nov 2023 22:13:20 +0000\n") != NULL);
	CHECK(strstr(p, "\nMessage-ID: <f00d@example.org>\n") != NULL);
	CHECK(strstr(p, "Content-Type: application/gzip;\n name=\"example.org"
	                "!example.com!0!86399!f00d.xml.gz\"\n") != NULL);
	CHECK(strstr(p, "\r") == NULL);
	/* the attachment decodes to the bytes given */
	q = strstr(p, "Content-Transfer-Encoding: base64\n");
	q = q != NULL ? strstr(q, "\n\n") : NULL;
	CHECK(q != NULL);
	if (q != NULL) {
		for (q += 2; *q != '-' && *q != '\0'; q++)
			if (*q != '\n')
				buf_addc(&b64, *q);
		n = EVP_DecodeBlock(
		    back, (const unsigned char *)b64.data, (int)b64.len);
		/* EVP_DecodeBlock counts the padding as zero bytes */
		CHECK(n >= (int)sizeof(gz));
		CHECK(memcmp(back, gz, sizeof(gz)) == 0);
	}
	CHECK(strstr(p, "\n--=_dmarc_report_f00dexampleorg--\n") != NULL);

	buf_reset(&b);
	m.domain = "example.com\nBcc: x@evil.example";
	CHECK_INT_EQ(report_mail_compose(&m, &b), -EINVAL);
	m.domain = "example.com";
	m.to_count = 0;
	CHECK_INT_EQ(report_mail_compose(&m, &b), -EINVAL);
	CHECK_INT_EQ(b.len, 0);
	buf_free(&b);
	buf_free(&b64);
}

int
main(void)
{
	test_aggregation();
	test_xml();
	test_file_name();
	test_destinations();
	test_mailto();
	test_mail();
	xmlCleanupParser();
	return check_summary("report");
}
