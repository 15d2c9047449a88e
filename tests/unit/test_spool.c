/*
 * test_spool.c -- the report spool: JSON round trip, strict parsing of bad
 * lines, file names, torn and invalid lines on reading, concurrent
 * appends from threads and processes, append errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authmilter/spool.h"
#include "check.h"

static const char *const full_rua[] = {
    "mailto:dmarc@example.com",
    "mailto:agg@reports.example.net",
};
static const struct spool_dkim full_dkim[] = {
    {"example.com", "s1", AUTH_PASS, NULL},
    {"esp.example.net", "k2", AUTH_FAIL, "body hash did not verify"},
};
static const struct spool_reason full_reasons[] = {
    {SPOOL_REASON_TRUSTED_FORWARDER, "forwarder 192.0.2.0/24"},
    {SPOOL_REASON_POLICY_TEST_MODE, NULL},
};

static struct spool_record
full_record(void)
{
	struct spool_record r = {
	    .time = 1700000000,
	    .reporting_host = "mx1.example.org",
	    .policy =
	        {
	            .domain = "example.com",
	            .discovery_method = SPOOL_DISCOVERY_PSL,
	            .p = SPOOL_POLICY_REJECT,
	            .sp = SPOOL_POLICY_QUARANTINE,
	            .np = SPOOL_POLICY_NONE,
	            .adkim = SPOOL_ALIGN_STRICT,
	            .aspf = SPOOL_ALIGN_RELAXED,
	            .fo = "1:d",
	            .testing = SPOOL_TESTING_Y,
	            .rua = full_rua,
	            .rua_count = 2,
	        },
	    .source_ip = "2001:db8::25",
	    .dmarc = AUTH_PASS,
	    .disposition = SPOOL_DISP_PASS,
	    .dkim_aligned = true,
	    .spf_aligned = false,
	    .reasons = full_reasons,
	    .reason_count = 2,
	    .header_from = "news.example.com",
	    .envelope_from = "",
	    .envelope_to = "example.org",
	    .dkim = full_dkim,
	    .dkim_count = 2,
	    .spf = {"mx.example.com", SPOOL_SCOPE_HELO, AUTH_SOFTFAIL,
	        "helo softfail"},
	};
	return r;
}

/* the smallest valid record: every optional field absent */
static struct spool_record
minimal_record(void)
{
	struct spool_record r = {
	    .time = 0,
	    .reporting_host = "h",
	    .policy = {.domain = "example.com", .p = SPOOL_POLICY_NONE},
	    .source_ip = "192.0.2.1",
	    .dmarc = AUTH_FAIL,
	    .header_from = "example.com",
	};
	return r;
}

static void
check_same(const struct spool_record *a, const struct spool_record *b)
{
	size_t i;

	CHECK_INT_EQ(a->time, b->time);
	CHECK_STR_EQ(a->reporting_host, b->reporting_host);
	CHECK_STR_EQ(a->policy.domain, b->policy.domain);
	CHECK_INT_EQ(a->policy.discovery_method, b->policy.discovery_method);
	CHECK_INT_EQ(a->policy.p, b->policy.p);
	CHECK_INT_EQ(a->policy.sp, b->policy.sp);
	CHECK_INT_EQ(a->policy.np, b->policy.np);
	CHECK_INT_EQ(a->policy.adkim, b->policy.adkim);
	CHECK_INT_EQ(a->policy.aspf, b->policy.aspf);
	CHECK_INT_EQ(a->policy.testing, b->policy.testing);
	CHECK((a->policy.fo == NULL) == (b->policy.fo == NULL));
	if (a->policy.fo != NULL && b->policy.fo != NULL)
		CHECK_STR_EQ(a->policy.fo, b->policy.fo);
	CHECK_INT_EQ(a->policy.rua_count, b->policy.rua_count);
	for (i = 0; i < a->policy.rua_count && i < b->policy.rua_count; i++)
		CHECK_STR_EQ(a->policy.rua[i], b->policy.rua[i]);
	CHECK_STR_EQ(a->source_ip, b->source_ip);
	CHECK_INT_EQ(a->dmarc, b->dmarc);
	CHECK_INT_EQ(a->disposition, b->disposition);
	CHECK_INT_EQ(a->dkim_aligned, b->dkim_aligned);
	CHECK_INT_EQ(a->spf_aligned, b->spf_aligned);
	CHECK_INT_EQ(a->reason_count, b->reason_count);
	for (i = 0; i < a->reason_count && i < b->reason_count; i++) {
		CHECK_INT_EQ(a->reasons[i].type, b->reasons[i].type);
		CHECK((a->reasons[i].comment == NULL) ==
		      (b->reasons[i].comment == NULL));
	}
	CHECK_STR_EQ(a->header_from, b->header_from);
	CHECK((a->envelope_from == NULL) == (b->envelope_from == NULL));
	CHECK((a->envelope_to == NULL) == (b->envelope_to == NULL));
	CHECK_INT_EQ(a->dkim_count, b->dkim_count);
	for (i = 0; i < a->dkim_count && i < b->dkim_count; i++) {
		CHECK_STR_EQ(a->dkim[i].domain, b->dkim[i].domain);
		CHECK_STR_EQ(a->dkim[i].selector, b->dkim[i].selector);
		CHECK_INT_EQ(a->dkim[i].result, b->dkim[i].result);
		CHECK((a->dkim[i].human_result == NULL) ==
		      (b->dkim[i].human_result == NULL));
	}
	CHECK((a->spf.domain == NULL) == (b->spf.domain == NULL));
	if (a->spf.domain != NULL && b->spf.domain != NULL) {
		CHECK_STR_EQ(a->spf.domain, b->spf.domain);
		CHECK_INT_EQ(a->spf.scope, b->spf.scope);
		CHECK_INT_EQ(a->spf.result, b->spf.result);
	}
}

static void
round_trip(const char *name, const struct spool_record *r)
{
	struct arena *a = arena_new(4096);
	struct spool_record back;
	struct buf j1, j2;
	const char *why = NULL;
	int err;

	buf_init(&j1, 1 << 20);
	buf_init(&j2, 1 << 20);
	err = spool_record_to_json(r, &j1, &why);
	CHECK_INT_EQ(err, 0);
	CHECK(strchr(buf_cstr(&j1), '\n') == NULL);
	err = spool_record_from_json(j1.data, j1.len, a, &back, &why);
	if (err != 0)
		fprintf(stderr, "%s: %s\n", name, why);
	CHECK_INT_EQ(err, 0);
	if (err == 0) {
		check_same(r, &back);
		CHECK_INT_EQ(spool_record_to_json(&back, &j2, &why), 0);
		CHECK_STR_EQ(buf_cstr(&j2), buf_cstr(&j1));
	}
	buf_free(&j1);
	buf_free(&j2);
	arena_free(a);
}

static void
test_round_trip(void)
{
	struct spool_record full = full_record(), min = minimal_record();
	struct spool_record v4 = full_record();

	v4.source_ip = "198.51.100.7";
	v4.envelope_from = NULL;
	round_trip("full", &full);
	round_trip("minimal", &min);
	round_trip("v4", &v4);
}

/* A valid line to start the bad cases from (keys as spool.h shows). */
#define GOOD_HEAD_BODY                                                         \
	"\"version\":1,\"time\":1700000000,"                                   \
	"\"reporting_host\":\"mx1\","
#define GOOD_HEAD "{" GOOD_HEAD_BODY
#define GOOD_POLICY                                                            \
	"\"policy_published\":{\"domain\":\"example.com\","                    \
	"\"p\":\"reject\"},"
#define GOOD_EVAL                                                              \
	"\"policy_evaluated\":{\"disposition\":\"reject\","                    \
	"\"dkim\":\"fail\",\"spf\":\"fail\"},"
#define GOOD_IDS "\"identifiers\":{\"header_from\":\"example.com\"},"
#define GOOD_IP "\"source_ip\":\"192.0.2.1\",\"dmarc\":\"fail\","
#define GOOD_AUTH "\"auth_results\":{}}"

static void
test_bad_lines(void)
{
	static const struct {
		const char *name;
		const char *line;
		const char *why; /* substring of the reason; NULL: ok */
	} cases[] = {
	    {"good", GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS GOOD_IP GOOD_AUTH,
	        NULL},
	    {"good with odd whitespace and unknown key",
	        " { \"x-future\" : [1, {\"a\":2}] ,\t" GOOD_HEAD_BODY
	            GOOD_POLICY GOOD_EVAL GOOD_IDS GOOD_IP GOOD_AUTH " ",
	        NULL},
	    {"empty", "", "JSON"},
	    {"not json", "hello", "JSON"},
	    {"array", "[1,2]", "not a JSON object"},
	    {"truncated", GOOD_HEAD GOOD_POLICY, "JSON"},
	    {"trailing garbage",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS GOOD_IP GOOD_AUTH "x",
	        "JSON"},
	    {"duplicate key", "{\"version\":1,\"version\":1}", "JSON"},
	    {"no version", "{\"time\":1}", "version: is missing"},
	    {"version 2", "{\"version\":2}", "version: is not 1"},
	    {"version string", "{\"version\":\"1\"}",
	        "version: is not an integer"},
	    {"time missing", "{\"version\":1}", "time: is missing"},
	    {"time float", "{\"version\":1,\"time\":1.5}",
	        "time: is not an integer"},
	    {"host missing", "{\"version\":1,\"time\":1}",
	        "reporting_host: is missing"},
	    {"p missing",
	        GOOD_HEAD GOOD_IP "\"policy_published\":"
	                          "{\"domain\":\"example.com\"}}",
	        "policy_published.p: is "
	        "missing"},
	    {"p unknown",
	        GOOD_HEAD GOOD_IP
	        "\"policy_published\":"
	        "{\"domain\":\"example.com\",\"p\":\"maybe\"}}",
	        "\"maybe\" is not a known value"},
	    {"p upper case",
	        GOOD_HEAD GOOD_IP
	        "\"policy_published\":"
	        "{\"domain\":\"example.com\",\"p\":\"REJECT\"}}",
	        "is not a known value"},
	    {"rua not array",
	        GOOD_HEAD GOOD_IP
	        "\"policy_published\":"
	        "{\"domain\":\"example.com\",\"p\":\"none\",\"rua\":\"x\"}}",
	        "policy_published.rua: is not an array"},
	    {"dmarc softfail",
	        GOOD_HEAD "\"source_ip\":\"192.0.2.1\","
	                  "\"dmarc\":\"softfail\"}",
	        "dmarc: \"softfail\" is not a "
	        "result allowed here"},
	    {"disposition missing",
	        GOOD_HEAD GOOD_POLICY GOOD_IP
	        "\"policy_evaluated\":{\"dkim\":\"pass\",\"spf\":\"pass\"}}",
	        "policy_evaluated.disposition: is missing"},
	    {"aligned not pass/fail",
	        GOOD_HEAD GOOD_POLICY GOOD_IP
	        "\"policy_evaluated\":{\"disposition\":\"none\","
	        "\"dkim\":\"yes\",\"spf\":\"pass\"}}",
	        "policy_evaluated.dkim: \"yes\""},
	    {"reason type",
	        GOOD_HEAD GOOD_POLICY GOOD_IP
	        "\"policy_evaluated\":{\"disposition\":\"none\",\"dkim\":"
	        "\"pass\",\"spf\":\"pass\",\"reason\":[{\"type\":\"x\"}]}}",
	        "policy_evaluated.reason[].type"},
	    {"header_from missing",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IP "\"identifiers\":{}}",
	        "identifiers.header_from: is "
	        "missing"},
	    {"auth_results missing",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS
	        "\"source_ip\":\"192.0.2.1\",\"dmarc\":\"fail\"}",
	        "auth_results: is missing"},
	    {"dkim softfail",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS GOOD_IP
	        "\"auth_results\":{\"dkim\":[{\"domain\":\"a\","
	        "\"selector\":\"s\",\"result\":\"softfail\"}]}}",
	        "auth_results.dkim[].result"},
	    {"dkim no selector",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS GOOD_IP
	        "\"auth_results\":{\"dkim\":[{\"domain\":\"a\","
	        "\"result\":\"pass\"}]}}",
	        "auth_results.dkim[].selector: is missing"},
	    {"spf scope",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS GOOD_IP
	        "\"auth_results\":{\"spf\":{\"domain\":\"a\",\"scope\":"
	        "\"pra\",\"result\":\"pass\"}}}",
	        "auth_results.spf.scope"},
	    {"bad ip",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IDS
	        "\"source_ip\":\"300.1.1.1\",\"dmarc\":\"fail\"," GOOD_AUTH,
	        "source_ip: not an IPv4"},
	    {"policy domain not a host",
	        GOOD_HEAD GOOD_EVAL GOOD_IDS GOOD_IP
	        "\"auth_results\":{},\"policy_published\":"
	        "{\"domain\":\"a/b!c\",\"p\":\"none\"}}",
	        "policy_published.domain: not a valid"},
	    {"control byte in field",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IP
	        "\"auth_results\":{},\"identifiers\":"
	        "{\"header_from\":\"a\\u0001b\"}}",
	        "identifiers.header_from"},
	    {"NUL in string",
	        GOOD_HEAD GOOD_POLICY GOOD_EVAL GOOD_IP
	        "\"auth_results\":{},\"identifiers\":"
	        "{\"header_from\":\"a\\u0000b\"}}",
	        "JSON"},
	    {"negative time",
	        "{\"version\":1,\"time\":-5,"
	        "\"reporting_host\":\"h\"," GOOD_POLICY GOOD_EVAL GOOD_IDS
	            GOOD_IP GOOD_AUTH,
	        "time: negative"},
	};
	struct arena *a = arena_new(4096);
	struct spool_record r;
	const char *why;
	size_t i;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why = NULL;
		err = spool_record_from_json(
		    cases[i].line, strlen(cases[i].line), a, &r, &why);
		if (cases[i].why == NULL) {
			if (err != 0)
				fprintf(stderr, "case %s: %s\n", cases[i].name,
				    why);
			CHECK_INT_EQ(err, 0);
			continue;
		}
		CHECK_INT_EQ(err, -EINVAL);
		CHECK(why != NULL);
		if (why == NULL || strstr(why, cases[i].why) == NULL) {
			fprintf(stderr, "case %s: reason \"%s\", want \"%s\"\n",
			    cases[i].name, why ? why : "(null)", cases[i].why);
			CHECK(0);
		}
		arena_reset(a);
	}
	arena_free(a);
}

static void
test_check_refuses(void)
{
	struct spool_record r;
	struct buf b;
	const char *why;

	buf_init(&b, 1 << 20);
	r = minimal_record();
	r.policy.p = SPOOL_POLICY_UNSET;
	CHECK_INT_EQ(spool_record_to_json(&r, &b, &why), -EINVAL);
	r = minimal_record();
	r.header_from = "a\nb";
	CHECK_INT_EQ(spool_record_to_json(&r, &b, &why), -EINVAL);
	r = minimal_record();
	r.dmarc = AUTH_SOFTFAIL;
	CHECK_INT_EQ(spool_record_to_json(&r, &b, &why), -EINVAL);
	r = minimal_record();
	r.reporting_host = "";
	CHECK_INT_EQ(spool_record_to_json(&r, &b, &why), -EINVAL);
	r = minimal_record();
	r.header_from = "\xc3\xa9xample.com"; /* U-label, not A-label */
	CHECK_INT_EQ(spool_record_to_json(&r, &b, &why), -EINVAL);
	CHECK_INT_EQ(b.len, 0);
	buf_free(&b);
}

static void
test_file_names(void)
{
	static const struct {
		const char *name;
		bool ok;
		time_t day;
	} cases[] = {
	    {"2023-11-14.mx1.example.org.jsonl", true, 1699920000},
	    {"1970-01-01.h.jsonl", true, 0},
	    {"2024-02-29.h.jsonl", true, 1709164800},
	    {"2023-02-29.h.jsonl", false, 0},
	    {"2023-11-14..jsonl", false, 0},
	    {"2023-11-14.jsonl", false, 0},
	    {"2023-11-14.h.jsonl.claimed.12", false, 0},
	    {"2023-1-14.h.jsonl", false, 0},
	    {"x023-11-14.h.jsonl", false, 0},
	    {"2023-13-01.h.jsonl", false, 0},
	};
	struct buf b;
	time_t day;
	size_t i;
	bool ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		day = -1;
		ok = spool_file_day(cases[i].name, &day);
		CHECK_INT_EQ(ok, cases[i].ok);
		if (ok && cases[i].ok)
			CHECK_INT_EQ(day, cases[i].day);
	}
	buf_init(&b, 4096);
	CHECK_INT_EQ(spool_file_name("mx1.example.org", 1700000000, &b), 0);
	CHECK_STR_EQ(buf_cstr(&b), "2023-11-14.mx1.example.org.jsonl");
	buf_reset(&b);
	CHECK_INT_EQ(spool_file_name("../x y", 86399, &b), 0);
	CHECK_STR_EQ(buf_cstr(&b), "1970-01-01..._x_y.jsonl");
	buf_reset(&b);
	CHECK_INT_EQ(spool_file_name("", 0, &b), -EINVAL);
	buf_free(&b);
}

/* The names of every kind, and a name of one kind is never one of
 * another. */
static void
test_kind_names(void)
{
	static const struct {
		const char *name;
		bool ok;
		enum spool_kind kind;
		time_t start;
	} cases[] = {
	    {"2023-11-14.mx1.jsonl", true, SPOOL_AGGREGATE, 1699920000},
	    {"failure.2023-11-14T22-13.mx1.jsonl", true, SPOOL_FAILURE,
	        1700000000 - 20},
	    {"failure.1970-01-01T00-00.h.jsonl", true, SPOOL_FAILURE, 0},
	    {"failure.2023-11-14.mx1.jsonl", false, 0, 0},
	    {"failure.2023-11-14T24-00.h.jsonl", false, 0, 0},
	    {"failure.2023-11-14T22-60.h.jsonl", false, 0, 0},
	    {"failure.2023-11-14T2-13.h.jsonl", false, 0, 0},
	    {"failure.2023-11-14T22-13..jsonl", false, 0, 0},
	    {"failure.2023-02-29T22-13.h.jsonl", false, 0, 0},
	    {"failure.2023-11-14T22-13.h.jsonl.claimed.1", false, 0, 0},
	    {"2023-11-14T22-13.h.jsonl", false, 0, 0},
	    {"aggregate.2023-11-14.h.jsonl", false, 0, 0},
	    {"2023- 1-14.h.jsonl", false, 0, 0},
	};
	enum spool_kind kind;
	struct buf b;
	time_t start;
	size_t i;
	bool ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok = spool_name_parse(cases[i].name, &kind, &start);
		CHECK_INT_EQ(ok, cases[i].ok);
		if (ok && cases[i].ok) {
			CHECK_INT_EQ(kind, cases[i].kind);
			CHECK_INT_EQ(start, cases[i].start);
		}
	}
	CHECK(!spool_file_day("failure.2023-11-14T22-13.mx1.jsonl", &start));
	CHECK_INT_EQ(spool_kind_period(SPOOL_AGGREGATE), 86400);
	CHECK_INT_EQ(spool_kind_period(SPOOL_FAILURE), 60);
	buf_init(&b, 4096);
	CHECK_INT_EQ(
	    spool_name(SPOOL_FAILURE, "mx1.example.org", 1700000000, &b), 0);
	CHECK_STR_EQ(
	    buf_cstr(&b), "failure.2023-11-14T22-13.mx1.example.org.jsonl");
	CHECK(spool_name_parse(buf_cstr(&b), &kind, &start));
	CHECK_INT_EQ(start, 1700000000 - 20);
	buf_reset(&b);
	CHECK_INT_EQ(spool_name(SPOOL_AGGREGATE, "mx1", 1700000000, &b), 0);
	CHECK_STR_EQ(buf_cstr(&b), "2023-11-14.mx1.jsonl");
	buf_reset(&b);
	CHECK_INT_EQ(spool_name(SPOOL_FAILURE, "", 1700000000, &b), -EINVAL);
	CHECK_INT_EQ(b.len, 0);
	buf_free(&b);
}

/* ---- files ---- */

static char tmpdir[256];

static void
make_tmpdir(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_spool.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(2);
	}
}

static void
write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f == NULL)
		return;
	fputs(data, f);
	fclose(f);
}

struct collect {
	unsigned long records;
	unsigned long warnings;
	unsigned long last_warn_line;
	unsigned long per_writer[16];
	unsigned long line_sum;
};

static int
collect_record(void *ctx, const struct spool_record *r, const char *path,
    unsigned long line)
{
	struct collect *c = ctx;

	c->records++;
	c->line_sum += line;
	/* writers put their number in the selector */
	if (r->dkim_count == 1 && r->dkim[0].selector[0] >= 'a' &&
	    r->dkim[0].selector[0] < 'a' + 16)
		c->per_writer[r->dkim[0].selector[0] - 'a']++;
	return 0;
}

static void
collect_warn(void *ctx, const char *path, unsigned long line, const char *why)
{
	struct collect *c = ctx;

	c->warnings++;
	c->last_warn_line = line;
}

static void
test_torn_and_invalid(void)
{
	struct spool_record r = full_record();
	struct spool_read_stats st = {0};
	struct collect c = {0};
	struct buf line, data;
	char path[512], *big;
	const char *why;
	int err, i;

	buf_init(&line, 1 << 20);
	buf_init(&data, 1 << 22);
	CHECK_INT_EQ(spool_record_to_json(&r, &line, &why), 0);
	/* lines 1-2 good, 3 invalid, 4 good, 5 too long, 6 good, 7 torn */
	for (i = 0; i < 2; i++) {
		buf_adds(&data, buf_cstr(&line));
		buf_addc(&data, '\n');
	}
	buf_adds(&data, "{\"version\":1}\n");
	buf_adds(&data, buf_cstr(&line));
	buf_addc(&data, '\n');
	big = malloc(200000);
	CHECK(big != NULL);
	if (big != NULL) {
		memset(big, 'x', 199999);
		big[199999] = '\0';
		buf_adds(&data, big);
		free(big);
	}
	buf_addc(&data, '\n');
	buf_adds(&data, buf_cstr(&line));
	buf_addc(&data, '\n');
	buf_add(&data, line.data, line.len / 2);
	CHECK_INT_EQ(buf_error(&data), 0);
	snprintf(path, sizeof(path), "%s/torn.jsonl", tmpdir);
	write_file(path, buf_cstr(&data));

	err = spool_read_file(path, collect_record, collect_warn, &c, &st);
	CHECK_INT_EQ(err, 0);
	CHECK_INT_EQ(c.records, 4);
	CHECK_INT_EQ(c.line_sum, 1 + 2 + 4 + 6);
	CHECK_INT_EQ(st.records, 4);
	CHECK_INT_EQ(st.invalid, 2);
	CHECK_INT_EQ(st.torn, 1);
	CHECK_INT_EQ(st.lines, 7);
	CHECK_INT_EQ(c.warnings, 3);
	CHECK_INT_EQ(c.last_warn_line, 7);

	/* a file ending in "\n" has no torn line */
	write_file(path, "");
	memset(&st, 0, sizeof(st));
	CHECK_INT_EQ(spool_read_file(path, collect_record, NULL, &c, &st), 0);
	CHECK_INT_EQ(st.lines, 0);
	CHECK_INT_EQ(st.torn, 0);
	snprintf(path, sizeof(path), "%s/missing.jsonl", tmpdir);
	CHECK_INT_EQ(
	    spool_read_file(path, collect_record, NULL, &c, NULL), -ENOENT);
	buf_free(&line);
	buf_free(&data);
}

#define PER_WRITER 500
#define THREADS 8
#define PROCS 4

struct writer {
	int id;
	const char *dir;
	int err;
};

/* writer_once -- append one record naming writer w (its selector) */
static int
writer_once(const struct writer *w, struct spool_stats *stats)
{
	struct spool_record r = full_record();
	struct spool_dkim d = {"example.com", NULL, AUTH_PASS,
	    "a fairly long human result so that lines are a few hundred "
	    "bytes and a torn or interleaved write would show"};
	char sel[8];

	snprintf(sel, sizeof(sel), "%c", 'a' + w->id);
	d.selector = sel;
	r.dkim = &d;
	r.dkim_count = 1;
	return spool_append(w->dir, &r, 1700000000, stats);
}

static void
writer_run(struct writer *w, struct spool_stats *stats)
{
	int i, err;

	for (i = 0; i < PER_WRITER; i++)
		if ((err = writer_once(w, stats)) != 0)
			w->err = err;
}

static struct spool_stats thread_stats;

static void *
writer_thread(void *arg)
{
	writer_run(arg, &thread_stats);
	return NULL;
}

static void
test_concurrent_appends(void)
{
	struct writer w[THREADS + PROCS];
	pthread_t th[THREADS];
	pid_t pids[PROCS];
	struct spool_read_stats st = {0};
	struct collect c = {0};
	char path[512];
	int i, status;

	for (i = 0; i < THREADS + PROCS; i++)
		w[i] = (struct writer){.id = i, .dir = tmpdir};
	for (i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			writer_run(&w[THREADS + i], NULL);
			_exit(w[THREADS + i].err == 0 ? 0 : 1);
		}
		CHECK(pids[i] > 0);
	}
	for (i = 0; i < THREADS; i++)
		CHECK_INT_EQ(
		    pthread_create(&th[i], NULL, writer_thread, &w[i]), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(w[i].err, 0);
	}
	for (i = 0; i < PROCS; i++) {
		CHECK_INT_EQ(waitpid(pids[i], &status, 0), pids[i]);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_INT_EQ(thread_stats.appended, THREADS * PER_WRITER);
	CHECK_INT_EQ(thread_stats.failed, 0);

	snprintf(
	    path, sizeof(path), "%s/2023-11-14.mx1.example.org.jsonl", tmpdir);
	CHECK_INT_EQ(
	    spool_read_file(path, collect_record, collect_warn, &c, &st), 0);
	CHECK_INT_EQ(c.records, (THREADS + PROCS) * PER_WRITER);
	CHECK_INT_EQ(st.invalid, 0);
	CHECK_INT_EQ(st.torn, 0);
	CHECK_INT_EQ(c.warnings, 0);
	for (i = 0; i < THREADS + PROCS; i++)
		CHECK_INT_EQ(c.per_writer[i], PER_WRITER);
}

static void
test_append_errors(void)
{
	struct spool_record r = full_record();
	struct spool_stats st = {0};
	char path[512], target[512];

	/* a "directory" that is a regular file: fails even for root */
	snprintf(path, sizeof(path), "%s/plainfile", tmpdir);
	write_file(path, "x");
	CHECK_INT_EQ(spool_append(path, &r, 1700000000, &st), -ENOTDIR);
	CHECK_INT_EQ(st.failed, 1);
	CHECK_INT_EQ(st.last_error, -ENOTDIR);
	snprintf(path, sizeof(path), "%s/no/such/dir", tmpdir);
	CHECK_INT_EQ(spool_append(path, &r, 1700000000, &st), -ENOENT);

	/* the day's file is a symbolic link (here to /dev/full): refused,
	 * not written through */
	snprintf(path, sizeof(path), "%s/full", tmpdir);
	CHECK_INT_EQ(mkdir(path, 0700), 0);
	snprintf(target, sizeof(target),
	    "%s/full/2023-11-14.mx1.example.org.jsonl", tmpdir);
	CHECK_INT_EQ(symlink("/dev/full", target), 0);
	CHECK_INT_EQ(spool_append(path, &r, 1700000000, &st), -ELOOP);
	CHECK_INT_EQ(st.failed, 3);
	CHECK_INT_EQ(st.last_error, -ELOOP);
	CHECK_INT_EQ(st.appended, 0);
	CHECK_INT_EQ(
	    spool_read_file(target, collect_record, NULL, NULL, NULL), -ELOOP);
	/* the next day's file is a normal one: the same spool works again */
	CHECK_INT_EQ(spool_append(path, &r, 1700000000 + 86400, &st), 0);
	CHECK_INT_EQ(st.appended, 1);

	/* a FIFO in the spool does not hold the writer */
	snprintf(target, sizeof(target),
	    "%s/full/2023-11-16.mx1.example.org.jsonl", tmpdir);
	CHECK_INT_EQ(mkfifo(target, 0600), 0);
	CHECK(spool_append(path, &r, 1700000000 + 2 * 86400, &st) < 0);

	/* a refused record is counted too */
	r.source_ip = "not an ip";
	CHECK_INT_EQ(spool_append(path, &r, 1700000000 + 86400, &st), -EINVAL);
	CHECK_INT_EQ(st.failed, 5);
}

/* The file size limit (RLIMIT_FSIZE) makes a real short write: a write()
 * that crosses it writes up to it and returns the count; the next one
 * fails with EFBIG (SIGXFSZ ignored). */
static void
set_fsize(rlim_t limit)
{
	struct rlimit rl;

	CHECK_INT_EQ(getrlimit(RLIMIT_FSIZE, &rl), 0);
	rl.rlim_cur = limit;
	CHECK_INT_EQ(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* A record cut short by a full disk: the append that made it fails, and
 * neither the rest of it nor its "\n" can be written; the next append
 * (the disk has room again) must not continue the fragment. 3 records
 * appended, the 2nd torn: the 1st and 3rd are read back. */
static void
test_short_write(void)
{
	struct spool_record r = full_record();
	struct spool_read_stats st = {0};
	struct spool_stats ws = {0};
	struct collect c = {0};
	char dir[400], path[512];
	off_t one;

	snprintf(dir, sizeof(dir), "%s/short", tmpdir);
	CHECK_INT_EQ(mkdir(dir, 0700), 0);
	snprintf(
	    path, sizeof(path), "%s/2023-11-14.mx1.example.org.jsonl", dir);
	signal(SIGXFSZ, SIG_IGN);
	CHECK_INT_EQ(spool_append(dir, &r, 1700000000, &ws), 0);
	one = file_size(path);
	CHECK(one > 100);
	set_fsize((rlim_t)(one + one / 2));
	CHECK_INT_EQ(spool_append(dir, &r, 1700000000, &ws), -EFBIG);
	set_fsize(RLIM_INFINITY);
	CHECK_INT_EQ(file_size(path), one + one / 2); /* a fragment, no "\n" */
	CHECK_INT_EQ(spool_append(dir, &r, 1700000000, &ws), 0);
	CHECK_INT_EQ(ws.appended, 2);
	CHECK_INT_EQ(ws.failed, 1);
	CHECK_INT_EQ(ws.last_error, -EFBIG);

	CHECK_INT_EQ(
	    spool_read_file(path, collect_record, collect_warn, &c, &st), 0);
	CHECK_INT_EQ(c.records, 2);
	CHECK_INT_EQ(c.line_sum, 1 + 3);
	CHECK_INT_EQ(st.lines, 3);
	CHECK_INT_EQ(st.invalid, 1); /* the fragment, alone on line 2 */
	CHECK_INT_EQ(st.torn, 0);
	CHECK_INT_EQ(c.warnings, 1);
	CHECK_INT_EQ(c.last_warn_line, 2);
}

/* What a writer without the tail check left (an older authmilter): a
 * fragment with the next record glued to it. The reader finds the whole
 * record after the fragment. */
static void
test_glued(void)
{
	struct spool_record r = full_record();
	struct spool_read_stats st = {0};
	struct collect c = {0};
	struct buf line, data;
	char path[512];
	const char *why;

	buf_init(&line, 1 << 20);
	buf_init(&data, 1 << 20);
	CHECK_INT_EQ(spool_record_to_json(&r, &line, &why), 0);
	buf_add(&data, line.data, line.len);
	buf_addc(&data, '\n');
	buf_add(&data, line.data, line.len / 3); /* torn ... */
	buf_add(&data, line.data, line.len);     /* ... then glued */
	buf_addc(&data, '\n');
	buf_add(&data, line.data, 1); /* only "{" */
	buf_add(&data, line.data, line.len);
	buf_addc(&data, '\n');
	/* a record start inside a torn record, then garbage: invalid */
	buf_add(&data, line.data, 20);
	buf_add(&data, line.data, 30);
	buf_addc(&data, '\n');
	buf_add(&data, line.data, line.len);
	buf_addc(&data, '\n');
	CHECK_INT_EQ(buf_error(&data), 0);
	snprintf(path, sizeof(path), "%s/glued.jsonl", tmpdir);
	write_file(path, buf_cstr(&data));

	CHECK_INT_EQ(
	    spool_read_file(path, collect_record, collect_warn, &c, &st), 0);
	CHECK_INT_EQ(st.lines, 5);
	CHECK_INT_EQ(c.records, 4);
	CHECK_INT_EQ(c.line_sum, 1 + 2 + 3 + 5);
	CHECK_INT_EQ(st.torn, 2);
	CHECK_INT_EQ(st.invalid, 1);
	CHECK_INT_EQ(c.warnings, 3);
	buf_free(&line);
	buf_free(&data);
}

/* Threads and a process appending at once, the process having torn a
 * record first: every append that returned 0 is read back, whoever wrote
 * after the fragment. */
static void
test_short_write_concurrent(void)
{
	struct writer w[THREADS + 1];
	struct spool_read_stats st = {0};
	struct collect c = {0};
	pthread_t th[THREADS];
	char dir[400], path[512];
	unsigned long child_ok = 0;
	int pipefd[2], i, status;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/shortc", tmpdir);
	CHECK_INT_EQ(mkdir(dir, 0700), 0);
	snprintf(
	    path, sizeof(path), "%s/2023-11-14.mx1.example.org.jsonl", dir);
	memset(&thread_stats, 0, sizeof(thread_stats));
	for (i = 0; i < THREADS + 1; i++)
		w[i] = (struct writer){.id = i, .dir = dir};
	CHECK_INT_EQ(pipe(pipefd), 0);
	pid = fork();
	if (pid == 0) {
		struct spool_stats cs = {0};
		off_t one;

		signal(SIGXFSZ, SIG_IGN);
		writer_once(&w[THREADS], &cs);
		one = file_size(path);
		/* a limit inside the 4th record: 3 appended, then torn */
		set_fsize((rlim_t)(3 * one + one / 2));
		while (cs.failed == 0)
			writer_once(&w[THREADS], &cs);
		set_fsize(RLIM_INFINITY);
		/* tell the parent, then append along with its threads */
		if (write(pipefd[1], &cs.appended, sizeof(cs.appended)) < 0)
			_exit(2);
		writer_run(&w[THREADS], &cs);
		if (write(pipefd[1], &cs.appended, sizeof(cs.appended)) < 0)
			_exit(2);
		_exit(w[THREADS].err == 0 && cs.appended == 3 + PER_WRITER ? 0
		                                                           : 1);
	}
	CHECK(pid > 0);
	close(pipefd[1]);
	CHECK_INT_EQ(
	    read(pipefd[0], &child_ok, sizeof(child_ok)), sizeof(child_ok));
	CHECK_INT_EQ(child_ok, 3);
	for (i = 0; i < THREADS; i++)
		CHECK_INT_EQ(
		    pthread_create(&th[i], NULL, writer_thread, &w[i]), 0);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		CHECK_INT_EQ(w[i].err, 0);
	}
	CHECK_INT_EQ(
	    read(pipefd[0], &child_ok, sizeof(child_ok)), sizeof(child_ok));
	close(pipefd[0]);
	CHECK_INT_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK_INT_EQ(thread_stats.appended, THREADS * PER_WRITER);

	CHECK_INT_EQ(
	    spool_read_file(path, collect_record, collect_warn, &c, &st), 0);
	for (i = 0; i < THREADS; i++)
		CHECK_INT_EQ(c.per_writer[i], PER_WRITER);
	CHECK_INT_EQ(c.per_writer[THREADS], child_ok);
	CHECK_INT_EQ(st.invalid + st.torn, 1); /* the one fragment */
	CHECK_INT_EQ(c.records, THREADS * PER_WRITER + child_ok);
}

/* spool_append_line: lines of another kind, in that kind's files, under
 * the same rules. */
static void
test_append_line(void)
{
	struct spool_stats st = {0};
	char path[512], *big;
	FILE *f;
	char got[256];
	size_t n;

	CHECK_INT_EQ(spool_append_line(tmpdir, SPOOL_FAILURE, "mx9", 1700000000,
	                 "{\"a\":1}", 7, &st),
	    0);
	CHECK_INT_EQ(spool_append_line(tmpdir, SPOOL_FAILURE, "mx9", 1700000010,
	                 "{\"a\":2}", 7, &st),
	    0);
	CHECK_INT_EQ(spool_append_line(tmpdir, SPOOL_FAILURE, "mx9", 1700000000,
	                 "x\ny", 3, &st),
	    -EINVAL);
	/* the failure kind's longest line: BOUND_FAILURE_RECORD_BYTES */
	big = calloc(1, BOUND_FAILURE_RECORD_BYTES);
	CHECK(big != NULL);
	if (big != NULL) {
		memset(big, 'x', BOUND_FAILURE_RECORD_BYTES - 1);
		CHECK_INT_EQ(
		    spool_append_line(tmpdir, SPOOL_FAILURE, "mx9", 1700000000,
		        big, BOUND_FAILURE_RECORD_BYTES, &st),
		    -E2BIG);
		free(big);
	}
	CHECK_INT_EQ(st.appended, 2);
	CHECK_INT_EQ(st.failed, 2);
	snprintf(path, sizeof(path), "%s/failure.2023-11-14T22-13.mx9.jsonl",
	    tmpdir);
	CHECK((f = fopen(path, "r")) != NULL);
	if (f != NULL) {
		n = fread(got, 1, sizeof(got) - 1, f);
		got[n] = '\0';
		fclose(f);
		CHECK_STR_EQ(got, "{\"a\":1}\n{\"a\":2}\n");
	}
}

int
main(void)
{
	char cmd[300];

	make_tmpdir();
	test_round_trip();
	test_bad_lines();
	test_check_refuses();
	test_file_names();
	test_kind_names();
	test_torn_and_invalid();
	test_concurrent_appends();
	test_append_errors();
	test_short_write();
	test_glued();
	test_short_write_concurrent();
	test_append_line();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return check_summary("spool");
}
