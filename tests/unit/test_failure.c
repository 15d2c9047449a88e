/*
 * test_failure.c -- DMARC failure reports: the fo= matrix, psd=y, report
 * loops, our own destinations, the failure record in JSON (and bad
 * lines), the rate limit and its state file (and bad files), redaction,
 * the ARF mail (fields, header injection), and the RFC 9990 section 4
 * check for ruf destinations (pass, fail, DNS error).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "authmilter/arena.h"
#include "authmilter/dmarc.h"
#include "authmilter/dns.h"
#include "authmilter/failure.h"
#include "authmilter/failure_rate.h"
#include "authmilter/msg.h"
#include "authmilter/report.h"
#include "authmilter/report_arf.h"
#include "check.h"

/* ---- a verdict by hand ---- */

struct fx {
	struct arena *a;
	struct msg m;
	struct verdict v;
	struct dmarc_result res;
	struct dmarc_author au;
	struct dmarc_found found;
	struct dkim_verify_result dkim;
	struct spf_result spf;
	struct failure_envelope env;
	struct failure_options o;
	const char *rcpt[2];
};

static void
fx_init(struct fx *f, const char *record, enum auth_result dkim,
    enum auth_result spf)
{
	memset(f, 0, sizeof(*f));
	f->a = arena_new(65536);
	msg_init(&f->m, f->a);
	msg_add_header(&f->m, "From", 4, " Sender <sender@example.com>", 28);
	msg_add_header(&f->m, "To", 2, " rcpt@example.net", 17);
	msg_add_header(&f->m, "Subject", 7, " hello", 6);
	dmarc_record_parse(record, strlen(record), &f->found.record);
	f->au.domain = "example.com";
	f->au.policy_domain = "example.com";
	f->au.org_domain = "example.com";
	f->au.found = &f->found;
	f->au.result = AUTH_FAIL;
	f->au.requested = f->found.record.p;
	f->res.authors = &f->au;
	f->res.author_count = 1;
	f->res.result = AUTH_FAIL;
	f->v.dmarc = &f->res;
	f->dkim.result = dkim;
	f->dkim.domain = "example.com";
	f->dkim.selector = "s1";
	f->dkim.identity = "@example.com";
	f->dkim.reason = "signature did not verify";
	f->v.dkim = &f->dkim;
	f->v.n_dkim = dkim == AUTH_NONE ? 0 : 1;
	f->spf.result = spf;
	f->spf.domain = "example.com";
	f->spf.identity = SPF_MFROM;
	f->v.spf = &f->spf;
	f->v.authres = " mx.example.net;\r\n\tdmarc=fail "
	               "header.from=example.com";
	f->env.now = 1700000000;
	f->env.reporting_host = "mx.example.net";
	f->env.authserv_id = "mx.example.net";
	f->env.client_ip = "192.0.2.1";
	f->env.helo = "client.example";
	f->env.mail_from = "<sender@example.com>";
	f->rcpt[0] = "<rcpt@example.net>";
	f->env.rcpt = f->rcpt;
	f->env.rcpt_count = 1;
	f->env.delivery_result = "reject";
}

static size_t
fx_records(struct fx *f, struct failure_record **ret, const char **why)
{
	size_t n = 99;

	*why = NULL;
	CHECK_INT_EQ(
	    failure_records(&f->v, &f->m, &f->env, &f->o, f->a, ret, &n, why),
	    0);
	return n;
}

/* ---- fo= (RFC 9989 section 4.7) ---- */

static void
test_triggers(void)
{
	static const struct {
		bool dkim_al, spf_al;
		enum auth_result dkim, spf;
		unsigned want; /* fired, before masking with fo */
	} cases[] = {
	    /* DMARC fails: neither aligned */
	    {false, false, AUTH_NONE, AUTH_NONE, DMARC_FO_0 | DMARC_FO_1},
	    {false, false, AUTH_FAIL, AUTH_FAIL,
	        DMARC_FO_0 | DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S},
	    {false, false, AUTH_PERMERROR, AUTH_SOFTFAIL,
	        DMARC_FO_0 | DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S},
	    {false, false, AUTH_TEMPERROR, AUTH_NEUTRAL,
	        DMARC_FO_0 | DMARC_FO_1},
	    /* DMARC passes through one of them: only 1 (and d/s) */
	    {true, false, AUTH_PASS, AUTH_FAIL, DMARC_FO_1 | DMARC_FO_S},
	    {false, true, AUTH_POLICY, AUTH_PASS, DMARC_FO_1 | DMARC_FO_D},
	    {true, true, AUTH_PASS, AUTH_PASS, 0},
	};
	static const unsigned fos[] = {DMARC_FO_0, DMARC_FO_1, DMARC_FO_D,
	    DMARC_FO_S, DMARC_FO_0 | DMARC_FO_D, DMARC_FO_1 | DMARC_FO_S};
	struct failure_dkim d = {
	    "example.com", "s1", NULL, AUTH_NONE, NULL, true};
	const char *ruf[] = {"mailto:f@example.com"};
	struct failure_record r;
	size_t i, k;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.dkim_aligned = cases[i].dkim_al;
		r.spf_aligned = cases[i].spf_al;
		d.result = cases[i].dkim;
		r.dkim = &d;
		r.dkim_count = cases[i].dkim == AUTH_NONE ? 0 : 1;
		r.spf.domain = "example.com";
		r.spf.result = cases[i].spf;
		r.ruf = ruf;
		r.ruf_count = 1;
		for (k = 0; k < sizeof(fos) / sizeof(fos[0]); k++) {
			r.fo = fos[k];
			CHECK_INT_EQ(
			    failure_triggers(&r), cases[i].want & fos[k]);
		}
		/* no ruf (a Bcc copy only): fo is ignored, 0 applies */
		r.ruf_count = 0;
		r.fo = DMARC_FO_D;
		CHECK_INT_EQ(failure_triggers(&r), cases[i].want & DMARC_FO_0);
	}
}

static void
test_fo_records(void)
{
	static const struct {
		const char *fo;
		enum auth_result dkim, spf;
		bool want;
	} cases[] = {
	    {"", AUTH_NONE, AUTH_NONE, true}, /* fo=0 default */
	    {"fo=0;", AUTH_FAIL, AUTH_PASS, true},
	    {"fo=1;", AUTH_NONE, AUTH_NONE, true},
	    {"fo=d;", AUTH_NONE, AUTH_FAIL, false},
	    {"fo=d;", AUTH_FAIL, AUTH_NONE, true},
	    {"fo=s;", AUTH_FAIL, AUTH_NEUTRAL, false},
	    {"fo=s;", AUTH_NONE, AUTH_SOFTFAIL, true},
	    {"fo=d:s;", AUTH_NONE, AUTH_PASS, false},
	    {"fo=d:s;", AUTH_NONE, AUTH_FAIL, true},
	};
	struct failure_record *r;
	const char *why;
	char rec[256];
	struct fx f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rec, sizeof(rec),
		    "v=DMARC1; p=reject; %s "
		    "ruf=mailto:f@example.com",
		    cases[i].fo);
		fx_init(&f, rec, cases[i].dkim, cases[i].spf);
		/* SPF passed for an unaligned domain: still no aligned pass */
		f.spf.domain = "other.example";
		CHECK_INT_EQ(fx_records(&f, &r, &why), cases[i].want);
		if (!cases[i].want)
			CHECK(why != NULL && strstr(why, "fo") != NULL);
		arena_free(f.a);
	}
}

/* ---- the other gates ---- */

static void
test_gates(void)
{
	struct failure_record *r;
	const char *why, *own[] = {"example.net"}, *nrt[] = {"f@example.com"};
	struct fx f;

	/* RFC 9991 section 2: never for psd=y */
	fx_init(&f, "v=DMARC1; p=reject; psd=y; ruf=mailto:f@example.com",
	    AUTH_FAIL, AUTH_FAIL);
	CHECK_INT_EQ(fx_records(&f, &r, &why), 0);
	CHECK(why != NULL && strstr(why, "psd=y") != NULL);
	arena_free(f.a);

	/* p=none only with FailureReportsOnNone */
	fx_init(&f, "v=DMARC1; p=none; ruf=mailto:f@example.com", AUTH_FAIL,
	    AUTH_FAIL);
	CHECK_INT_EQ(fx_records(&f, &r, &why), 0);
	f.o.on_none = true;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 1);
	arena_free(f.a);

	/* no ruf: nothing, unless a Bcc copy is asked for */
	fx_init(&f, "v=DMARC1; p=reject", AUTH_FAIL, AUTH_FAIL);
	CHECK_INT_EQ(fx_records(&f, &r, &why), 0);
	f.o.bcc = true;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 1);
	CHECK_INT_EQ(r[0].ruf_count, 0);
	arena_free(f.a);

	/* DMARC pass and temperror: no report */
	fx_init(&f, "v=DMARC1; p=reject; ruf=mailto:f@example.com", AUTH_PASS,
	    AUTH_FAIL);
	f.au.result = AUTH_PASS;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 0);
	f.au.result = AUTH_TEMPERROR;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 0);
	arena_free(f.a);

	/* our own domains and NoReportsTo are never destinations */
	fx_init(&f,
	    "v=DMARC1; p=reject; ruf=mailto:r@sub.example.net,"
	    "mailto:f@example.com",
	    AUTH_FAIL, AUTH_FAIL);
	f.o.own = own;
	f.o.own_count = 1;
	f.o.no_reports_to = nrt;
	f.o.no_reports_to_count = 1;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 0);
	CHECK(why != NULL && strstr(why, "ours") != NULL);
	f.o.no_reports_to_count = 0;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 1);
	CHECK(failure_own_destination(&f.o, "x@example.net"));
	CHECK(failure_own_destination(&f.o, "x@a.example.net"));
	CHECK(!failure_own_destination(&f.o, "x@notexample.net"));
	CHECK(failure_own_destination(&f.o, "no-at-sign"));
	arena_free(f.a);
}

/* a From naming two failing domains: one record, the decisive one's */
static void
test_one_per_message(void)
{
	struct dmarc_author two[2];
	struct failure_record *r;
	const char *why;
	struct fx f;

	fx_init(&f, "v=DMARC1; p=reject; ruf=mailto:f@example.com", AUTH_FAIL,
	    AUTH_FAIL);
	two[0] = f.au;
	two[1] = f.au;
	two[1].domain = "example.org";
	two[1].policy_domain = "example.org";
	two[1].org_domain = "example.org";
	f.res.authors = two;
	f.res.author_count = 2;
	f.res.decisive = &two[1];
	CHECK_INT_EQ(fx_records(&f, &r, &why), 1);
	CHECK_STR_EQ(r[0].policy_domain, "example.org");
	f.res.decisive = NULL;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 1);
	CHECK_STR_EQ(r[0].policy_domain, "example.com");
	arena_free(f.a);
}

/* report loops: a report is never reported */
static void
test_loops(void)
{
	static const struct {
		const char *name, *value;
		bool report;
	} cases[] = {
	    {"Content-Type",
	        " multipart/report; "
	        "report-type=feedback-report; boundary=x",
	        true},
	    {"Content-Type", " (c) MultiPart / Report ;x=y", true},
	    {"Content-Type", " multipart/reportx", false},
	    {"Content-Type", " multipart/mixed; boundary=report", false},
	    {"Subject",
	        " Report Domain: example.com Submitter: "
	        "mx.example Report-ID: <1@mx>",
	        true},
	    {"Subject", " Report\r\n Domain: example.com", true},
	    {"Subject", " Re: Report Domain: example.com", false},
	    {"Subject", " report domain: example.com", false},
	};
	struct failure_record *r;
	const char *why;
	struct fx f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fx_init(&f, "v=DMARC1; p=reject; ruf=mailto:f@example.com",
		    AUTH_FAIL, AUTH_FAIL);
		msg_add_header(&f.m, cases[i].name, strlen(cases[i].name),
		    cases[i].value, strlen(cases[i].value));
		CHECK_INT_EQ(fx_records(&f, &r, &why), !cases[i].report);
		CHECK_INT_EQ(failure_is_report(&f.m, &why), cases[i].report);
		arena_free(f.a);
	}
}

/* ---- the record in JSON ---- */

static void
test_record_json(void)
{
	struct failure_record *r, back;
	struct buf line;
	const char *why = NULL;
	struct arena *a = arena_new(65536);
	uint8_t body[] = "line one\r\nline two\r\n";
	struct fx f;

	fx_init(&f,
	    "v=DMARC1; p=quarantine; fo=1:d; "
	    "ruf=mailto:f@example.com,mailto:g@example.com",
	    AUTH_FAIL, AUTH_SOFTFAIL);
	/* a forged A-R with our authserv-id is left out of the copy */
	msg_add_header(&f.m, "Authentication-Results", 22,
	    " mx.example.net; dmarc=pass", 27);
	f.o.body_max = 12;
	f.env.body = body;
	f.env.body_len = sizeof(body) - 1;
	CHECK_INT_EQ(fx_records(&f, &r, &why), 1);
	buf_init(&line, BOUND_FAILURE_RECORD_BYTES);
	CHECK_INT_EQ(failure_record_to_json(&r[0], &line, &why), 0);
	CHECK(strncmp(buf_cstr(&line), "{\"version\":1,\"kind\":\"failure\"",
	          29) == 0);
	CHECK(memchr(line.data, '\n', line.len) == NULL);
	CHECK_INT_EQ(
	    failure_record_from_json(line.data, line.len, a, &back, &why), 0);
	CHECK_STR_EQ(back.author_domain, "example.com");
	CHECK_INT_EQ(back.policy, SPOOL_POLICY_QUARANTINE);
	CHECK_INT_EQ(back.fo, DMARC_FO_1 | DMARC_FO_D);
	CHECK_INT_EQ(back.ruf_count, 2);
	CHECK_STR_EQ(back.ruf[1], "mailto:g@example.com");
	CHECK_STR_EQ(back.mail_from, "sender@example.com");
	CHECK_INT_EQ(back.rcpt_count, 1);
	CHECK_STR_EQ(back.rcpt[0], "rcpt@example.net");
	CHECK_STR_EQ(back.source_ip, "192.0.2.1");
	CHECK_STR_EQ(back.delivery_result, "reject");
	CHECK_INT_EQ(back.dkim_count, 1);
	CHECK(back.dkim[0].aligned && back.dkim[0].result == AUTH_FAIL);
	CHECK(back.spf.aligned && back.spf.result == AUTH_SOFTFAIL);
	CHECK_INT_EQ(back.body_len, 12);
	CHECK(back.body_truncated && memcmp(back.body, body, 12) == 0);
	CHECK(back.headers_len == r[0].headers_len &&
	      memcmp(back.headers, r[0].headers, back.headers_len) == 0);
	CHECK(strncmp((const char *)back.headers,
	          "Authentication-Results: mx.example.net;\r\n\tdmarc=fail",
	          52) == 0);
	CHECK(memmem(back.headers, back.headers_len, "dmarc=pass", 10) == NULL);
	CHECK_INT_EQ(failure_triggers(&back), DMARC_FO_1 | DMARC_FO_D);
	buf_free(&line);
	arena_free(a);
	arena_free(f.a);
}

static const char good_line[] =
    "{\"version\":1,\"kind\":\"failure\","
    "\"time\":1,\"reporting_host\":\"mx.example.net\",\"author_domain\":"
    "\"example.com\",\"policy_domain\":\"example.com\",\"policy\":\"reject\","
    "\"fo\":[\"0\"],\"ruf\":[\"mailto:f@example.com\"],\"dmarc\":\"fail\","
    "\"headers\":\"RnJvbTogeA0K\"}";

static void
test_record_bad(void)
{
	static const struct {
		const char *from, *to; /* replace in good_line */
	} cases[] = {
	    {"{\"version\":1", "[{\"version\":1"},
	    {"\"version\":1", "\"version\":2"},
	    {"\"kind\":\"failure\"", "\"kind\":\"aggregate\""},
	    {"\"time\":1,", ""},
	    {"\"time\":1", "\"time\":\"1\""},
	    {"\"policy\":\"reject\"", "\"policy\":\"maybe\""},
	    {"\"fo\":[\"0\"]", "\"fo\":[\"x\"]"},
	    {"\"fo\":[\"0\"]", "\"fo\":[\"0\",\"1\",\"d\",\"s\",\"0\"]"},
	    {"\"author_domain\":\"example.com\"",
	        "\"author_domain\":\"exa mple.com\""},
	    {"\"policy_domain\":\"example.com\"", "\"policy_domain\":\"a..b\""},
	    {"\"reporting_host\":\"mx.example.net\"",
	        "\"reporting_host\":\"mx\\nBcc: x\""},
	    {"\"dmarc\":\"fail\"", "\"dmarc\":\"fail\",\"dmarc\":\"pass\""},
	    {"\"dmarc\":\"fail\"", "\"dmarc\":\"fail\",\"source_ip\":"
	                           "\"1.2.3\""},
	    {"\"dmarc\":\"fail\"", "\"dmarc\":\"fail\",\"rcpt_to\":"
	                           "[\"a b@c\"]"},
	    {"\"dmarc\":\"fail\"", "\"dmarc\":\"fail\",\"attempts\":99"},
	    {"\"dmarc\":\"fail\"", "\"dmarc\":\"fail\",\"delivery_result\":"
	                           "\"lost\""},
	    {"\"dmarc\":\"fail\"",
	        "\"dmarc\":\"fail\",\"dkim\":"
	        "[{\"domain\":\"a..b\",\"result\":\"fail\"}]"},
	    {"\"dmarc\":\"fail\"", "\"dmarc\":\"fail\",\"helo\":"
	                           "\"a\\u0000b\""},
	    {"RnJvbTogeA0K", "RnJvbTogeA0"},
	    {"RnJvbTogeA0K", "Rn Jv"},
	    {"\"headers\":\"RnJvbTogeA0K\"", "\"body\":\"eA==\""},
	};
	struct failure_record r;
	struct arena *a = arena_new(4096);
	const char *why;
	char line[2048], *p;
	size_t i;

	CHECK_INT_EQ(
	    failure_record_from_json(good_line, strlen(good_line), a, &r, &why),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p = strstr(good_line, cases[i].from);
		CHECK(p != NULL);
		if (p == NULL)
			continue;
		snprintf(line, sizeof(line), "%.*s%s%s", (int)(p - good_line),
		    good_line, cases[i].to, p + strlen(cases[i].from));
		why = NULL;
		CHECK_INT_EQ(
		    failure_record_from_json(line, strlen(line), a, &r, &why),
		    -EINVAL);
		CHECK(why != NULL && why[0] != '\0');
	}
	CHECK_INT_EQ(failure_record_from_json("", 0, a, &r, &why), -EINVAL);
	CHECK_INT_EQ(failure_record_from_json("{", 1, a, &r, &why), -EINVAL);
	CHECK_INT_EQ(failure_record_from_json(
	                 good_line, BOUND_FAILURE_RECORD_BYTES, a, &r, &why),
	    -E2BIG);
	arena_free(a);
}

/* ---- the rate limit ---- */

static void
test_rate_limit(void)
{
	struct failure_rate_limit l;
	struct failure_rate *t = failure_rate_new(), *u = failure_rate_new();
	unsigned long bad;
	const char *why;
	struct buf b;

	CHECK_INT_EQ(failure_rate_limit_parse("1/600", &l), 0);
	CHECK(l.count == 1 && l.seconds == 600);
	CHECK_INT_EQ(failure_rate_limit_parse("3/10m", &l), 0);
	CHECK(l.count == 3 && l.seconds == 600);
	CHECK_INT_EQ(failure_rate_limit_parse("2/1d", &l), 0);
	CHECK(l.seconds == 86400);
	CHECK_INT_EQ(failure_rate_limit_parse("1/2w", &l), 0);
	CHECK_INT_EQ(l.seconds, 14 * 86400);
	CHECK_INT_EQ(failure_rate_limit_parse("1/53w", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("0/600", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("1/0", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("1/", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("1/5x", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("1/5mm", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("-1/5", &l), -EINVAL);
	CHECK_INT_EQ(failure_rate_limit_parse("x", &l), -EINVAL);

	l.count = 2;
	l.seconds = 600;
	CHECK(failure_rate_allows(t, "domain:example.com", &l, 1000));
	CHECK_INT_EQ(failure_rate_take(t, "domain:example.com", &l, 1000), 0);
	CHECK(failure_rate_allows(t, "domain:example.com", &l, 1100));
	CHECK_INT_EQ(failure_rate_take(t, "domain:example.com", &l, 1100), 0);
	/* the third in the window is refused, other keys are not */
	CHECK(!failure_rate_allows(t, "domain:example.com", &l, 1599));
	CHECK(failure_rate_allows(t, "domain:example.org", &l, 1599));
	/* the window ends 600 s after it began */
	CHECK(failure_rate_allows(t, "domain:example.com", &l, 1600));
	/* a clock that went back starts afresh */
	CHECK(failure_rate_allows(t, "domain:example.com", &l, 10));
	CHECK_INT_EQ(failure_rate_take(t, "bad key", &l, 1), -EINVAL);
	CHECK_INT_EQ(failure_rate_take(t, "", &l, 1), -EINVAL);
	CHECK_INT_EQ(failure_rate_take(t, "to:x@example.net", &l, 5000), 0);

	/* the state file round-trips; old windows are dropped */
	buf_init(&b, 65536);
	CHECK_INT_EQ(failure_rate_format(t, 5000, 86400, &b), 0);
	CHECK_STR_EQ(buf_cstr(&b),
	    "authmilter-failure-rate 1\n"
	    "domain:example.com 1000 2\nto:x@example.net 5000 1\n");
	buf_reset(&b);
	CHECK_INT_EQ(failure_rate_format(t, 5000, 100, &b), 0);
	CHECK_STR_EQ(buf_cstr(&b), "authmilter-failure-rate 1\n"
	                           "to:x@example.net 5000 1\n");
	buf_reset(&b);
	CHECK_INT_EQ(failure_rate_format(t, 5000, 86400, &b), 0);
	CHECK_INT_EQ(failure_rate_parse(u, b.data, b.len, &bad, &why), 0);
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(failure_rate_entries(u), 2);
	CHECK(!failure_rate_allows(u, "domain:example.com", &l, 1200));
	buf_free(&b);
	failure_rate_free(t);
	failure_rate_free(u);
	CHECK(failure_rate_free(NULL) == NULL);
}

static void
test_rate_bad(void)
{
	static const struct {
		const char *text;
		int ret;
		unsigned long bad;
	} cases[] = {
	    {"", -EINVAL, 0},
	    {"authmilter-failure-rate 2\n", -EINVAL, 0},
	    {"k 1 1\n", -EINVAL, 0},
	    {"authmilter-failure-rate 1", 0, 0},
	    {"authmilter-failure-rate 1\nk 1 1\n", 0, 0},
	    {"authmilter-failure-rate 1\nk 1\n", 0, 1},
	    {"authmilter-failure-rate 1\nk x 1\n", 0, 1},
	    {"authmilter-failure-rate 1\nk 1 y\n", 0, 1},
	    {"authmilter-failure-rate 1\nk -1 1\n", 0, 1},
	    {"authmilter-failure-rate 1\nk 1 1 1\n", 0, 1},
	    {"authmilter-failure-rate 1\n\x01k 1 1\n", 0, 1},
	    {"authmilter-failure-rate 1\nk 1 1\nk 2 2\n", 0, 1},
	    {"authmilter-failure-rate 1\nk 1 1", 0, 1},
	    {"authmilter-failure-rate 1\n\n\n", 0, 2},
	    {"authmilter-failure-rate 1\nk 99999999999999999999999 1\n", 0, 1},
	};
	struct failure_rate *t;
	unsigned long bad;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = failure_rate_new();
		CHECK_INT_EQ(failure_rate_parse(t, cases[i].text,
		                 strlen(cases[i].text), &bad, &why),
		    cases[i].ret);
		if (cases[i].ret == 0)
			CHECK_INT_EQ(bad, cases[i].bad);
		CHECK(
		    cases[i].ret == 0 && bad == 0 ? why == NULL : why != NULL);
		failure_rate_free(t);
	}
}

static void
test_rate_file(void)
{
	char dir[] = "/tmp/test_failure.XXXXXX", path[256], link[256];
	struct failure_rate_limit l = {1, 600};
	struct failure_rate *t = failure_rate_new(), *u;
	unsigned long bad;
	const char *why;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/failure-rate", dir);
	snprintf(link, sizeof(link), "%s/link", dir);
	/* missing: empty */
	CHECK_INT_EQ(failure_rate_load(t, path, &bad, &why), 0);
	CHECK_INT_EQ(failure_rate_entries(t), 0);
	CHECK_INT_EQ(failure_rate_take(t, "domain:example.com", &l, 100), 0);
	CHECK_INT_EQ(failure_rate_save(t, path, 100, 86400), 0);
	u = failure_rate_new();
	CHECK_INT_EQ(failure_rate_load(u, path, &bad, &why), 0);
	CHECK(!failure_rate_allows(u, "domain:example.com", &l, 200));
	failure_rate_free(u);
	/* never through a symbolic link */
	CHECK_INT_EQ(symlink(path, link), 0);
	u = failure_rate_new();
	CHECK_INT_EQ(failure_rate_load(u, link, &bad, &why), -ELOOP);
	failure_rate_free(u);
	fd = failure_rate_lock(path);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	unlink(link);
	unlink(path);
	snprintf(link, sizeof(link), "%s/failure-rate.lock", dir);
	unlink(link);
	rmdir(dir);
	failure_rate_free(t);
}

/* ---- the ARF mail ---- */

static const struct hash_key key = {
    0x0123456789abcdefull, 0xfedcba9876543210ull};

static void
test_redact(void)
{
	char a[12], b[12], c[12];
	struct hash_key other = {1, 2};

	report_arf_redact(&key, "sender", 6, a);
	report_arf_redact(&key, "sender", 6, b);
	CHECK_STR_EQ(a, b);
	CHECK_INT_EQ(strlen(a), 11);
	CHECK(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	                "0123456789-_") == 11);
	report_arf_redact(&key, "sendes", 6, c);
	CHECK(strcmp(a, c) != 0);
	report_arf_redact(&other, "sender", 6, c);
	CHECK(strcmp(a, c) != 0);
}

/* a record whose copied header section tries to escape its part */
static void
compose(
    struct buf *out, bool redact, bool body, const char *headers, size_t hlen)
{
	struct failure_record *r;
	const char *why, *to[] = {"f@example.com"};
	struct report_arf m;
	struct fx f;

	fx_init(&f, "v=DMARC1; p=reject; ruf=mailto:f@example.com", AUTH_FAIL,
	    AUTH_FAIL);
	f.dkim.identity = "alice@example.com";
	if (body) {
		f.o.body_max = 100;
		f.env.body = (const uint8_t *)"see http://evil.example/x\r\n";
		f.env.body_len = 27;
	}
	fx_records(&f, &r, &why);
	if (headers != NULL) {
		r[0].headers = (const uint8_t *)headers;
		r[0].headers_len = hlen;
	}
	memset(&m, 0, sizeof(m));
	m.rec = &r[0];
	m.from = "dmarc-failures@mx.example.net";
	m.to = to;
	m.to_count = 1;
	m.user_agent = "authmilter/test";
	m.spf_dns = "v=spf1 ip4:198.51.100.0/24 \"-all";
	m.message_id = "abc123@mx.example.net";
	m.date = 1700000100;
	m.redact = redact;
	m.redact_key = &key;
	CHECK_INT_EQ(report_arf_compose(&m, out), 0);
	arena_free(f.a);
}

static void
test_arf(void)
{
	struct buf out;
	char tok[12], want[64];

	buf_init(&out, BOUND_REPORT_MAIL_BYTES);
	compose(&out, false, false, NULL, 0);
	CHECK(strstr(buf_cstr(&out),
	          "\nContent-Type: multipart/report; "
	          "report-type=feedback-report;\n boundary=\"") != NULL);
	CHECK(strncmp(buf_cstr(&out),
	          "From: dmarc-failures@mx.example.net\n"
	          "To: f@example.com\n",
	          54) == 0);
	CHECK(strstr(buf_cstr(&out), "\nContent-Type: message/feedback-report"
	                             "\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\nFeedback-Type: auth-failure\n"
	                             "User-Agent: authmilter/test\nVersion: "
	                             "1\nAuth-Failure: dmarc\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\nIdentity-Alignment: dkim, spf\n") !=
	      NULL);
	CHECK(strstr(buf_cstr(&out),
	          "\nDKIM-Domain: example.com\n"
	          "DKIM-Identity: alice@example.com\nDKIM-Selector: s1\n") !=
	      NULL);
	CHECK(strstr(buf_cstr(&out),
	          "\nSPF-DNS: txt : example.com : "
	          "\"v=spf1 ip4:198.51.100.0/24 \\\"-all\"\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\nSource-IP: 192.0.2.1\n") != NULL);
	CHECK(
	    strstr(buf_cstr(&out), "\nReported-Domain: example.com\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\nOriginal-Mail-From: "
	                             "<sender@example.com>\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\nOriginal-Rcpt-To: "
	                             "<rcpt@example.net>\n") != NULL);
	CHECK(strstr(buf_cstr(&out), "\nDelivery-Result: reject\n") != NULL);
	CHECK(strstr(buf_cstr(&out),
	          "\nAuthentication-Results: "
	          "mx.example.net;\n\tdmarc=fail header.from=example.com\n") !=
	      NULL);
	CHECK(strstr(buf_cstr(&out), "\nContent-Type: text/rfc822-headers\n") !=
	      NULL);
	CHECK(strstr(buf_cstr(&out), "\nFrom: Sender <sender@example.com>\n") !=
	      NULL);
	CHECK(strstr(buf_cstr(&out), "\nAuto-Submitted: auto-generated\n") !=
	      NULL);
	CHECK(strchr(buf_cstr(&out), '\r') == NULL);

	/* redacted: the same token everywhere for the same local part */
	buf_reset(&out);
	compose(&out, true, false, NULL, 0);
	report_arf_redact(&key, "sender", 6, tok);
	snprintf(
	    want, sizeof(want), "Original-Mail-From: <%s@example.com>", tok);
	CHECK(strstr(buf_cstr(&out), want) != NULL);
	snprintf(want, sizeof(want), "From: Sender <%s@example.com>", tok);
	CHECK(strstr(buf_cstr(&out), want) != NULL);
	CHECK(strstr(buf_cstr(&out), "sender@") == NULL);
	CHECK(strstr(buf_cstr(&out), "rcpt@") == NULL);
	CHECK(strstr(buf_cstr(&out), "alice@") == NULL);
	CHECK(strstr(buf_cstr(&out), "(RFC 9991) from mx.example.net") != NULL);

	/* the body when asked for: message/rfc822, URLs defanged */
	buf_reset(&out);
	compose(&out, false, true, NULL, 0);
	CHECK(
	    strstr(buf_cstr(&out), "\nContent-Type: message/rfc822\n") != NULL);
	CHECK(
	    strstr(buf_cstr(&out), "\n\nsee hxxp://evil.example/x\n") != NULL);
	buf_free(&out);
}

static void
test_arf_injection(void)
{
	/* a Subject and a From that try to end the header section, add a
	 * field to the report, and close the part with a guessed boundary */
	static const char h[] =
	    "Subject: hi\r\nBcc: victim@evil.example\r\n"
	    "\r\n--=_authmilter_arf_0_abc123mxexamplenet\r\n"
	    "Content-Type: text/html\r\n\r\n<b>x</b>\r\n"
	    "From: x\rTo: y\nX-A: \x01\x00z\r\n";
	struct buf out;
	const char *p, *part3, *line;

	buf_init(&out, BOUND_REPORT_MAIL_BYTES);
	compose(&out, false, false, h, sizeof(h) - 1);
	/* the guessed boundary is not the one used */
	CHECK(strstr(buf_cstr(&out), "boundary=\"=_authmilter_arf_0_") == NULL);
	CHECK(strstr(buf_cstr(&out), "boundary=\"=_authmilter_arf_1_") != NULL);
	part3 = strstr(buf_cstr(&out), "Content-Type: text/rfc822-headers\n"
	                               "Content-Transfer-Encoding: 7bit\n\n");
	CHECK(part3 != NULL);
	if (part3 == NULL) {
		buf_free(&out);
		return;
	}
	part3 = strstr(part3, "\n\n") + 2;
	/* every line of the copy is a field or a fold, none is empty,
	 * until the closing delimiter */
	for (line = part3; *line != '\0'; line = p + 1) {
		p = strchr(line, '\n');
		if (p == NULL)
			break;
		if (strncmp(line, "--=_authmilter_arf_1_", 21) == 0 ||
		    p == line)
			break;
		CHECK(line[0] == ' ' || line[0] == '\t' ||
		      strcspn(line, ":\n") < (size_t)(p - line));
	}
	CHECK(strncmp(line, "\n--=_authmilter_arf_1_", 22) == 0 ||
	      strncmp(line, "--=_authmilter_arf_1_", 21) == 0);
	CHECK(
	    strstr(part3, "Subject: hi\nBcc: victim@evil.example\n \n "
	                  "--=_authmilter_arf_0_abc123mxexamplenet\n") != NULL);
	CHECK(strstr(part3, "From: x To: y\nX-A: z\n") != NULL);
	/* nothing reached the report's own header section */
	CHECK(strstr(buf_cstr(&out), "\nBcc:") == NULL ||
	      strstr(buf_cstr(&out), "\nBcc:") > part3);
	buf_free(&out);
}

/* ---- RFC 9990 section 4 for ruf ---- */

static int
org_is_last_two(void *ctx, const char *domain, struct buf *ret)
{
	const char *p = domain + strlen(domain);
	int dots = 0;

	while (p > domain && !(p[-1] == '.' && ++dots == 2))
		p--;
	buf_adds(ret, p);
	return buf_error(ret);
}

static void
test_external(void)
{
	const char *ruf[] = {"mailto:a@example.com", "mailto:b@ok.example",
	    "mailto:c@no.example", "mailto:d@slow.example",
	    "mailto:e@over.example"};
	struct spool_policy_published p = {.domain = "example.com",
	    .p = SPOOL_POLICY_REJECT,
	    .rua = ruf,
	    .rua_count = 5};
	struct dns_resolver *dns = dns_zone_new();
	struct report_dest_options o = {
	    .dns = dns, .orgdomain = org_is_last_two, .tag = "ruf"};
	struct arena *a = arena_new(4096);
	struct report_dest *d;
	size_t n = 0;

	CHECK_INT_EQ(dns_zone_add(dns,
	                 "example.com._report._dmarc."
	                 "ok.example",
	                 DNS_T_TXT, "\"v=DMARC1\""),
	    0);
	/* the ruf tag overrides, not rua (RFC 9991 section 4) */
	CHECK_INT_EQ(dns_zone_add(dns,
	                 "example.com._report._dmarc."
	                 "over.example",
	                 DNS_T_TXT,
	                 "\"v=DMARC1; rua=mailto:x@over.example;"
	                 " ruf=mailto:y@over.example\""),
	    0);
	CHECK_INT_EQ(dns_zone_add_fault(dns,
	                 "example.com._report._dmarc."
	                 "slow.example",
	                 DNS_T_TXT, "timeout"),
	    0);
	CHECK_INT_EQ(report_destinations(&p, &o, a, &d, &n), 0);
	CHECK_INT_EQ(n, 5);
	if (n == 5) {
		CHECK_STR_EQ(d[0].address, "a@example.com");
		CHECK_STR_EQ(d[1].address, "b@ok.example");     /* pass */
		CHECK(d[2].address == NULL && !d[2].temporary); /* fail */
		CHECK(d[3].address == NULL && d[3].temporary);  /* DNS error */
		CHECK_STR_EQ(d[4].address, "y@over.example");
	}
	dns_resolver_free(dns);
	arena_free(a);
}

int
main(void)
{
	test_triggers();
	test_fo_records();
	test_gates();
	test_one_per_message();
	test_loops();
	test_record_json();
	test_record_bad();
	test_rate_limit();
	test_rate_bad();
	test_rate_file();
	test_redact();
	test_arf();
	test_arf_injection();
	test_external();
	return check_summary("failure");
}
