/*
 * test_verdict.c -- verdict, the one path the milter and `verify` share,
 * on its own: a table of messages and SMTP facts against an in-process
 * zone (dns_zone), each with the verdict it must give. Covered: From
 * states (absent, unparseable, several fields, several addresses, a
 * shown domain), DKIM/SPF/DMARC combinations (aligned and not, pass and
 * fail, policies p/sp/t=y), the singleton-field rule (a passing signature
 * that leaves a second Subject uncovered is dkim=policy), header limits
 * (evaluated on what was kept; a From that cannot be kept), DNS failure
 * and the per-message DNS time budget, trusted forwarders (by address and
 * by signing domain). Signatures are made here with the test key of
 * tests/data/dkim, whose public record the zone publishes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/bounds.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/verdict.h"
#include "check.h"
#include "dkim_testutil.h"

#define NOW 1795435260 /* 2026-11-23 12:01 UTC */

static const char zone_text[] =
    "$TTL 300\n"
    "example.com. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "_dmarc.example.com. TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
    "_dmarc.quar.example. TXT \"v=DMARC1; p=quarantine\"\n"
    "_dmarc.none.example. TXT \"v=DMARC1; p=none\"\n"
    "_dmarc.testing.example. TXT \"v=DMARC1; p=reject; t=y\"\n"
    "_dmarc.other.example. TXT \"v=DMARC1; p=reject\"\n"
    "_dmarc.tempfail.example. TXT \"v=DMARC1; p=reject\"\n"
    ";@fault timeout _dmarc.tempfail.example TXT\n"
    "bounces.example.com. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "other.example. TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "slow.example. TXT \"v=spf1 -all\"\n";

/* ---- the resolver: the zone, and names under slow.example that take
 * longer than any budget (they honour deadlines, as dns_ldns does) ---- */

#define SLOW_MS 2000

static int
slow_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline, struct dns_answer **ret)
{
	struct dns_resolver *zone = r->ctx;
	size_t n = strlen(name), s = strlen("slow.example");
	uint64_t now = dns_clock_ms(), until;
	struct timespec ts;
	struct dns_answer *a;

	if (n < s || strcasecmp(name + n - s, "slow.example") != 0)
		return dns_query(zone, name, type, ret);
	until = deadline != 0 && deadline < now + SLOW_MS ? deadline
	                                                  : now + SLOW_MS;
	ts.tv_sec = (time_t)((until - now) / 1000);
	ts.tv_nsec = (long)((until - now) % 1000) * 1000000;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	if (until == now + SLOW_MS)
		return dns_query(zone, name, type, ret);
	if ((a = dns_answer_new(DNS_TEMPFAIL, 0, false, "deadline", NULL, 0)) ==
	    NULL)
		return -ENOMEM;
	a->unanswered = a->cut_short = true;
	*ret = a;
	return 0;
}

static void
slow_free(struct dns_resolver *r)
{
	dns_resolver_free(r->ctx);
	free(r);
}

static const struct dns_ops slow_ops = {
    .free = slow_free, .query_by = slow_query_by};

static struct dns_resolver *
resolver_new(void)
{
	struct dns_resolver *zone = dns_zone_new(), *r;
	char *why = NULL, record[4096], *rec;
	size_t len;

	if (dns_zone_load_mem(zone, "test_verdict", zone_text,
	        strlen(zone_text), &why) != 0) {
		fprintf(stderr, "FAIL: zone: %s\n", why);
		exit(1);
	}
	/* the test key's record, for every domain that signs here */
	rec = tu_read("test-rsa2048.record.txt", &len);
	if (rec == NULL)
		exit(1);
	while (len > 0 && (rec[len - 1] == '\n' || rec[len - 1] == '\r'))
		rec[--len] = '\0';
	snprintf(record, sizeof(record), "%s", rec);
	free(rec);
	{
		static const char *const signers[] = {
		    "example.com", "other.example", "fwd.example"};
		struct dns_rr rr = {0, strlen(record), (const uint8_t *)record};
		char name[128];
		size_t i;

		for (i = 0; i < sizeof(signers) / sizeof(signers[0]); i++) {
			snprintf(name, sizeof(name), "sel._domainkey.%s",
			    signers[i]);
			CHECK_INT_EQ(
			    dns_zone_add_rr(zone, name, DNS_T_TXT, &rr), 0);
		}
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	r->ops = &slow_ops;
	r->ctx = zone;
	atomic_init(&r->queries, 0);
	return r;
}

/* ---- the cases ---- */

#define NONE (-1) /* no DKIM signature / SPF not evaluated */

/* What a verdict must say. */
struct want {
	enum dmarc_from_state from_state;
	bool from_invalid;
	size_t n_from;
	int dkim; /* dkim[0].result, or NONE */
	int spf;  /* spf->result, or NONE */
	enum auth_result dmarc;
	enum dmarc_disposition disp;
	unsigned overrides;
	size_t n_spool; /* aggregate-report records */
	bool header_limit, budget_spent;
};

struct vcase {
	const char *name;
	const char *headers; /* LF line ends, without the empty line */
	const char *sign;    /* sign with d=sign, s=sel first; NULL: no */
	const char *added;   /* header fields put on top after signing */
	bool alter_body;     /* change the body after signing */
	const char *ip;      /* NULL: SPF not evaluated */
	const char *mail_from;
	const char *forwarder; /* a TrustedForwarders entry */
	unsigned budget_ms;    /* DNSTimeBudget, ms */
	size_t filler;         /* extra fields after the others */
	struct want want;
};

#define ALICE                                                                  \
	"From: alice@example.com\nTo: bob@example.net\nSubject: hello\n"       \
	"Date: Mon, 23 Nov 2026 12:00:00 +0000\nMessage-ID: <1@example.com>\n"
#define EVIL_IP "203.0.113.9"
#define GOOD_IP "192.0.2.25"
#define EVIL_FROM "<x@evil.example>"

static const struct vcase cases[] = {
    /* DKIM and SPF, aligned or not */
    {.name = "dkim aligned pass",
        .headers = ALICE,
        .sign = "example.com",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = AUTH_NONE,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS,
            .n_spool = 1}},
    {.name = "spf aligned pass",
        .headers = ALICE,
        .ip = GOOD_IP,
        .mail_from = "<bounce@example.com>",
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_PASS,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS,
            .n_spool = 1}},
    {.name = "spf relaxed: a subdomain of the From domain is aligned",
        .headers = ALICE,
        .ip = GOOD_IP,
        .mail_from = "<b@bounces.example.com>",
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_PASS,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS,
            .n_spool = 1}},
    {.name = "spf pass, not aligned",
        .headers = ALICE,
        .ip = GOOD_IP,
        .mail_from = "<b@other.example>",
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_PASS,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    {.name = "spf fail aligned",
        .headers = ALICE,
        .ip = EVIL_IP,
        .mail_from = "<bounce@example.com>",
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_FAIL,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    {.name = "nothing passes",
        .headers = ALICE,
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    {.name = "dkim pass, not aligned",
        .headers = ALICE,
        .sign = "other.example",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    {.name = "dkim fail: body changed",
        .headers = ALICE,
        .sign = "example.com",
        .alter_body = true,
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = AUTH_FAIL,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    {.name = "dkim aligned pass, spf fail",
        .headers = ALICE,
        .sign = "example.com",
        .ip = EVIL_IP,
        .mail_from = "<bounce@example.com>",
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = AUTH_FAIL,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS,
            .n_spool = 1}},
    /* (and no report record: a record needs the source address) */
    {.name = "no client address: no SPF, dkim decides",
        .headers = ALICE,
        .sign = "example.com",
        .mail_from = "<bounce@example.com>",
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = NONE,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS}},
    /* policies */
    {.name = "p=quarantine",
        .headers = "From: a@quar.example\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_QUARANTINE,
            .n_spool = 1}},
    {.name = "p=none",
        .headers = "From: a@none.example\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_NONE,
            .n_spool = 1}},
    {.name = "t=y: one step down, policy_test_mode",
        .headers = "From: a@testing.example\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_QUARANTINE,
            .overrides = DMARC_OVERRIDE_POLICY_TEST_MODE,
            .n_spool = 1}},
    {.name = "a subdomain takes sp=",
        .headers = "From: a@news.example.com\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_QUARANTINE,
            .n_spool = 1}},
    {.name = "no DMARC record",
        .headers = "From: a@nodmarc.example\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_NONE,
            .disp = DMARC_DISP_NONE}},
    {.name = "DNS failure on the policy",
        .headers = "From: a@tempfail.example\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_TEMPERROR,
            .disp = DMARC_DISP_NONE}},
    /* From states */
    {.name = "no From",
        .headers = "To: bob@example.net\nSubject: x\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.from_state = DMARC_FROM_ABSENT,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_NONE,
            .disp = DMARC_DISP_NONE}},
    {.name = "unparseable From",
        .headers = "From: alice@\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.from_state = DMARC_FROM_UNPARSEABLE,
            .from_invalid = true,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_PERMERROR,
            .disp = DMARC_DISP_NONE}},
    {.name = "two From fields: never a pass",
        .headers = ALICE,
        .sign = "example.com",
        .added = "From: a@quar.example\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.from_invalid = true,
            .n_from = 2,
            .dkim = AUTH_FAIL,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 2}},
    {.name = "two addresses: the strictest policy",
        .headers = "From: a@none.example, b@example.com\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 2,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 2}},
    {.name = "a shown domain counts as an author",
        .headers = "From: \"ceo@example.com\" <x@none.example>\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 2,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 2}},
    /* the singleton-field rule: the signature passes but leaves the
     * second Subject uncovered */
    {.name = "a second Subject uncovered: dkim=policy",
        .headers = ALICE,
        .sign = "example.com",
        .added = "Subject: pay now\n",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .want = {.n_from = 1,
            .dkim = AUTH_POLICY,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    /* header limits: evaluated on what was kept */
    {.name = "past BOUND_HEADER_COUNT: evaluated on what was kept",
        .headers = ALICE,
        .sign = "example.com",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .filler = BOUND_HEADER_COUNT + 50,
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = AUTH_NONE,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS,
            .n_spool = 1,
            .header_limit = true}},
    /* trusted forwarders */
    {.name = "trusted forwarder by address",
        .headers = ALICE,
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .forwarder = "203.0.113.0/24",
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_NONE,
            .overrides = DMARC_OVERRIDE_TRUSTED_FORWARDER,
            .n_spool = 1}},
    {.name = "trusted forwarder by its signature",
        .headers = ALICE,
        .sign = "fwd.example",
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .forwarder = "fwd.example",
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_NONE,
            .overrides = DMARC_OVERRIDE_TRUSTED_FORWARDER,
            .n_spool = 1}},
    {.name = "a forwarder that is not the client does not count",
        .headers = ALICE,
        .ip = EVIL_IP,
        .mail_from = EVIL_FROM,
        .forwarder = "198.51.100.0/24",
        .want = {.n_from = 1,
            .dkim = NONE,
            .spf = AUTH_NONE,
            .dmarc = AUTH_FAIL,
            .disp = DMARC_DISP_REJECT,
            .n_spool = 1}},
    /* the DNS time budget: the policy is found first, the slow SPF
     * lookup is cut, and DMARC is evaluated with what was learned */
    {.name = "DNS budget spent on SPF",
        .headers = ALICE,
        .sign = "example.com",
        .ip = EVIL_IP,
        .mail_from = "<x@a.slow.example>",
        .budget_ms = 200,
        .want = {.n_from = 1,
            .dkim = AUTH_PASS,
            .spf = AUTH_TEMPERROR,
            .dmarc = AUTH_PASS,
            .disp = DMARC_DISP_PASS,
            .n_spool = 1,
            .budget_spent = true}},
};

/* ---- running one ---- */

static struct dkim_privkey *key;

/* text -- the message of c as CRLF text (signed if asked), malloc'd */
static char *
text_of(const struct vcase *c, struct arena *a, size_t *ret_len)
{
	static const char body[] = "Hello.\r\n";
	struct buf t, h;
	struct dkim_signer sg;
	struct dkim_sign *s;
	const char *sig;
	struct msg m;
	size_t i, hl, body_off;
	char *crlf, *out;

	buf_init(&h, 8 * 1024 * 1024);
	buf_adds(&h, c->headers);
	for (i = 0; i < c->filler; i++)
		buf_addf(&h, "X-Filler: %zu\n", i);
	if ((crlf = tu_crlf(buf_cstr(&h), h.len, &hl)) == NULL)
		abort();
	buf_free(&h);
	buf_init(&t, 16 * 1024 * 1024);
	if (c->sign != NULL) {
		buf_add(&t, crlf, hl);
		buf_adds(&t, "\r\n");
		buf_adds(&t, body);
		msg_init(&m, a);
		CHECK_INT_EQ(msg_parse(&m, t.data, t.len, &body_off, &sig), 0);
		dkim_signer_init(&sg);
		sg.domain = c->sign;
		sg.selector = "sel";
		sg.key = key;
		sig = NULL;
		CHECK_INT_EQ(dkim_sign_begin(a, &m, &sg, 1, &s), 0);
		CHECK_INT_EQ(dkim_sign_body(s, body, strlen(body)), 0);
		CHECK_INT_EQ(dkim_sign_finish(s, NOW - 60, &sig), 0);
		buf_reset(&t);
		buf_adds(&t, "DKIM-Signature:");
		buf_adds(&t, sig != NULL ? sig : " (not signed)");
		buf_adds(&t, "\r\n");
	}
	if (c->added != NULL) {
		char *add = tu_crlf(c->added, strlen(c->added), &i);

		if (add == NULL)
			abort();
		buf_add(&t, add, i);
		free(add);
	}
	buf_add(&t, crlf, hl);
	buf_adds(&t, "\r\n");
	buf_adds(&t, c->alter_body ? "Hello!\r\n" : body);
	free(crlf);
	CHECK_INT_EQ(buf_error(&t), 0);
	*ret_len = t.len;
	out = buf_steal(&t, NULL);
	buf_free(&t);
	return out;
}

static const struct verdict *
evaluate(const struct vcase *c, struct dns_resolver *r,
    const struct orgdomain *org, struct arena *a)
{
	struct dmarc_forwarder fw;
	struct dmarc_options dopt;
	struct verdict_env env;
	struct verdict_session *s;
	const struct verdict *v = NULL;
	const char *why = NULL;
	size_t len, body;
	struct msg m;
	char *text;

	text = text_of(c, a, &len);
	memset(&env, 0, sizeof(env));
	env.resolver = r;
	env.now = NOW;
	env.authserv_id = "mx.example.net";
	env.client_ip = c->ip;
	env.helo = "mx.evil.example";
	env.mail_from = c->mail_from;
	env.receiver = "mx.example.net";
	env.org = org;
	env.dns_budget_ms = c->budget_ms;
	dmarc_options_init(&dopt);
	if (c->forwarder != NULL) {
		CHECK_INT_EQ(dmarc_forwarder_parse(c->forwarder, &fw), 0);
		dopt.forwarders = &fw;
		dopt.forwarder_count = 1;
	}
	env.dmarc = &dopt;
	msg_init(&m, a);
	CHECK_INT_EQ(msg_parse(&m, text, len, &body, &why), 0);
	CHECK_INT_EQ(verdict_begin(a, &m, &env, &s), 0);
	CHECK_INT_EQ(verdict_body(s, text + body, len - body), 0);
	CHECK_INT_EQ(verdict_finish(s, &v), 0);
	free(text);
	return v;
}

static int case_failures;

static void
check_case(const struct vcase *c, const struct verdict *v)
{
	const struct want *w = &c->want;
	int before = check_failures;

	CHECK(v != NULL);
	if (v == NULL)
		return;
	CHECK_INT_EQ(v->from_state, w->from_state);
	CHECK_INT_EQ(v->from_invalid, w->from_invalid);
	CHECK_INT_EQ(v->n_from, w->n_from);
	CHECK_INT_EQ(v->n_dkim > 0 ? (int)v->dkim[0].result : NONE, w->dkim);
	CHECK_INT_EQ(v->spf != NULL ? (int)v->spf->result : NONE, w->spf);
	CHECK(v->dmarc != NULL);
	if (v->dmarc != NULL) {
		CHECK_INT_EQ(v->dmarc->result, w->dmarc);
		CHECK_INT_EQ(v->dmarc->disposition, w->disp);
		CHECK_INT_EQ(v->dmarc->overrides, w->overrides);
	}
	CHECK_INT_EQ(v->n_spool, w->n_spool);
	CHECK_INT_EQ(v->header_limit != NULL, w->header_limit);
	CHECK_INT_EQ(v->header_dropped > 0, w->header_limit);
	CHECK(v->unevaluable == NULL);
	CHECK_INT_EQ(v->dns_budget_spent, w->budget_spent);
	CHECK(v->authres != NULL &&
	      strncmp(v->authres, " mx.example.net", 15) == 0);
	if (check_failures != before) {
		case_failures++;
		fprintf(stderr, "  in case \"%s\"\n", c->name);
	}
}

static void
test_table(struct dns_resolver *r, const struct orgdomain *org)
{
	struct arena *a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((a = arena_new(65536)) == NULL)
			abort();
		check_case(&cases[i], evaluate(&cases[i], r, org, a));
		arena_free(a);
	}
}

/* A From that no bound can keep: nothing is evaluated, and DMARC says
 * so (permerror), whatever else the message has. */
static void
test_unevaluable(struct dns_resolver *r, const struct orgdomain *org)
{
	struct vcase c = {
	    .name = "a From past every bound", .sign = "example.com"};
	const struct verdict *v;
	struct arena *a = arena_new(65536);
	struct buf h;

	buf_init(&h, 2 * BOUND_HEADER_RESERVE_BYTES);
	buf_adds(&h, ALICE);
	buf_adds(&h, "From: \"");
	while (h.len < BOUND_HEADER_RESERVE_BYTES + 1024)
		buf_adds(&h, "a long display name ");
	buf_adds(&h, "\" <b@example.com>\n");
	CHECK_INT_EQ(buf_error(&h), 0);
	c.headers = buf_cstr(&h);
	c.ip = EVIL_IP;
	c.mail_from = "<x@evil.example>";
	v = evaluate(&c, r, org, a);
	CHECK(v != NULL && v->unevaluable != NULL);
	CHECK(v != NULL && v->header_limit != NULL);
	CHECK(v != NULL && v->dmarc != NULL &&
	      v->dmarc->result == AUTH_PERMERROR);
	buf_free(&h);
	arena_free(a);
}

int
main(void)
{
	struct orgdomain_options oo = {.method = ORGDOMAIN_TREEWALK};
	struct orgdomain *org = NULL;
	struct dns_resolver *r;
	const char *why = NULL;

	key = tu_key("test-rsa2048.pkcs8.pem");
	r = resolver_new();
	CHECK_INT_EQ(orgdomain_new(&oo, &org, &why), 0);
	test_table(r, org);
	test_unevaluable(r, org);
	if (case_failures > 0)
		fprintf(stderr, "%d case(s) failed\n", case_failures);
	orgdomain_free(org);
	dns_resolver_free(r);
	dkim_privkey_unref(key);
	return check_summary("verdict");
}
