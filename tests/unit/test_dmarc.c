/*
 * test_dmarc.c -- DMARC record parsing, the RFC 9989 tree walk and PSL
 * discovery (orgdomain), alignment, policy selection, overrides and the
 * From-header attack classes. DNS comes from tests/data/dmarc/walk.zone
 * through dns_zone, behind a wrapper that records the names queried.
 * Runs from the source root's tests/unit (meson workdir).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/dmarc.h"
#include "authmilter/orgdomain.h"
#include "check.h"

#define ZONE "../data/dmarc/walk.zone"
#define MAX_LOG 32

/* ---- a resolver that logs the names asked, in front of the zone ---- */

struct logger {
	struct dns_resolver *inner;
	size_t count;
	char names[MAX_LOG][BOUND_DOMAIN_LEN + 8];
};

static int
log_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret)
{
	struct logger *l = r->ctx;

	if (type == DNS_T_TXT && l->count < MAX_LOG)
		snprintf(l->names[l->count++], sizeof(l->names[0]), "%s", name);
	return dns_query(l->inner, name, type, ret);
}

static void
log_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_ops log_ops = {.query = log_query, .free = log_free};

static struct logger zlog;
static struct dns_resolver zres = {&log_ops, &zlog, 0};
static struct arena *ar;

static void
zone_open(void)
{
	char *why = NULL;
	int rc;

	check_fixture(ZONE);
	zlog.inner = dns_zone_new();
	rc = dns_zone_load(zlog.inner, ZONE, &why);
	if (rc != 0)
		fprintf(stderr, "zone: %s\n", why ? why : "?");
	CHECK_INT_EQ(rc, 0);
	free(why);
}

static struct orgdomain *
od_new(enum orgdomain_method m, const char *path)
{
	struct orgdomain_options opt = {m, path};
	struct orgdomain *o = NULL;
	const char *why = NULL;

	CHECK_INT_EQ(orgdomain_new(&opt, &o, &why), 0);
	return o;
}

/* ---- record parsing ---- */

struct rec_case {
	const char *name;
	const char *txt;
	enum dmarc_record_status status;
	enum dmarc_policy p, sp, np;
	bool p_implied;
	int adkim, aspf; /* enum dmarc_align */
	unsigned fo;
	bool testing;
	enum orgdomain_psd psd;
	size_t rua, ruf;
	const char *note; /* a note that must be there, or NULL */
};

#define U DMARC_POLICY_UNSET
#define NO DMARC_POLICY_NONE
#define QU DMARC_POLICY_QUARANTINE
#define RE DMARC_POLICY_REJECT
#define OK DMARC_RECORD_OK
#define ND DMARC_RECORD_NOT_DMARC
#define NP DMARC_RECORD_NO_POLICY
#define F0 DMARC_FO_0
#define PU ORGDOMAIN_PSD_U

static const struct rec_case rec_cases[] = {
    {"minimal", "v=DMARC1; p=none", OK, NO, U, U, false, 0, 0, F0, false, PU, 0,
        0, NULL},
    {"full",
        "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; "
        "aspf=s; fo=1:d:s; rua=mailto:a@example.com; "
        "ruf=mailto:f@example.com; psd=n; t=y",
        OK, RE, QU, RE, false, 1, 1, DMARC_FO_1 | DMARC_FO_D | DMARC_FO_S, true,
        ORGDOMAIN_PSD_N, 1, 1, NULL},
    {"case and space", "  V = DMARC1 ;P=Reject;  SP = NONE ; ADKIM=S ;", OK, RE,
        NO, U, false, 1, 0, F0, false, PU, 0, 0, NULL},
    {"folded",
        "v=DMARC1;\r\n\tp=quarantine;\r\n rua = mailto:x@ex.com "
        ", mailto:y@ex.com",
        OK, QU, U, U, false, 0, 0, F0, false, PU, 2, 0, NULL},
    {"trailing semicolons", "v=DMARC1; p=reject;;;", OK, RE, U, U, false, 0, 0,
        F0, false, PU, 0, 0, NULL},
    {"v not first", "p=reject; v=DMARC1", ND, U, U, U, false, 0, 0, F0, false,
        PU, 0, 0, NULL},
    {"v lower-case value", "v=dmarc1; p=reject", ND, U, U, U, false, 0, 0, F0,
        false, PU, 0, 0, NULL},
    {"v wrong version", "v=DMARC2; p=reject", ND, U, U, U, false, 0, 0, F0,
        false, PU, 0, 0, NULL},
    {"empty", "", ND, U, U, U, false, 0, 0, F0, false, PU, 0, 0, NULL},
    {"spf record", "v=spf1 -all", ND, U, U, U, false, 0, 0, F0, false, PU, 0, 0,
        NULL},
    {"no p, rua", "v=DMARC1; rua=mailto:r@example.com", OK, NO, U, U, true, 0,
        0, F0, false, PU, 1, 0, NULL},
    {"bad p, rua",
        "v=DMARC1; p=block; sp=reject; "
        "rua=mailto:r@example.com",
        OK, NO, U, U, true, 0, 0, F0, false, PU, 1, 0, "invalid p= value"},
    {"bad sp, rua", "v=DMARC1; p=reject; sp=x; rua=mailto:r@ex.com", OK, NO, U,
        U, true, 0, 0, F0, false, PU, 1, 0, NULL},
    {"no p, no rua", "v=DMARC1; sp=reject", NP, U, U, U, false, 0, 0, F0, false,
        PU, 0, 0, NULL},
    {"bad p, no rua", "v=DMARC1; p=bogus", NP, U, U, U, false, 0, 0, F0, false,
        PU, 0, 0, NULL},
    {"bad np, no rua", "v=DMARC1; p=reject; np=maybe", NP, U, U, U, false, 0, 0,
        F0, false, PU, 0, 0, NULL},
    {"no p, only https rua", "v=DMARC1; rua=https://r.example/x", OK, NO, U, U,
        true, 0, 0, F0, false, PU, 0, 0, "non-mailto reporting URI ignored"},
    {"no p, invalid rua", "v=DMARC1; rua=mailto:nobody", NP, U, U, U, false, 0,
        0, F0, false, PU, 0, 0, NULL},
    {"duplicate p", "v=DMARC1; p=none; p=reject", NP, U, U, U, false, 0, 0, F0,
        false, PU, 0, 0, "duplicate tag discarded"},
    {"duplicate p, rua",
        "v=DMARC1; p=none; p=reject; "
        "rua=mailto:a@b.example",
        OK, NO, U, U, true, 0, 0, F0, false, PU, 1, 0, NULL},
    {"duplicate adkim", "v=DMARC1; p=reject; adkim=s; adkim=s", OK, RE, U, U,
        false, 0, 0, F0, false, PU, 0, 0, "duplicate tag discarded"},
    {"pct ignored", "v=DMARC1; p=reject; pct=0", OK, RE, U, U, false, 0, 0, F0,
        false, PU, 0, 0,
        "pct= ignored (removed by RFC 9989; t=y replaces pct=0)"},
    {"pct 50 ignored", "v=DMARC1; p=quarantine; pct=50; t=n", OK, QU, U, U,
        false, 0, 0, F0, false, PU, 0, 0, NULL},
    {"rf ri ignored", "v=DMARC1; p=none; rf=afrf; ri=3600", OK, NO, U, U, false,
        0, 0, F0, false, PU, 0, 0, "ri= ignored (removed by RFC 9989)"},
    {"unknown tag", "v=DMARC1; p=none; foo=bar; x_y=1", OK, NO, U, U, false, 0,
        0, F0, false, PU, 0, 0, "unknown tag ignored"},
    {"malformed spec", "v=DMARC1; p=none; garbage; =x", OK, NO, U, U, false, 0,
        0, F0, false, PU, 0, 0, "malformed tag-spec ignored"},
    {"bad adkim default", "v=DMARC1; p=none; adkim=x; aspf=s", OK, NO, U, U,
        false, 0, 1, F0, false, PU, 0, 0, "invalid adkim= ignored (r)"},
    {"bad t default", "v=DMARC1; p=reject; t=yes", OK, RE, U, U, false, 0, 0,
        F0, false, PU, 0, 0, "invalid t= ignored (n)"},
    {"t=Y", "v=DMARC1; p=reject; t=Y", OK, RE, U, U, false, 0, 0, F0, true, PU,
        0, 0, NULL},
    {"psd y", "v=DMARC1; p=none; psd=y", OK, NO, U, U, false, 0, 0, F0, false,
        ORGDOMAIN_PSD_Y, 0, 0, NULL},
    {"psd bad", "v=DMARC1; p=none; psd=q", OK, NO, U, U, false, 0, 0, F0, false,
        PU, 0, 0, "invalid psd= ignored (u)"},
    {"fo d:0", "v=DMARC1; p=none; fo=d:0", OK, NO, U, U, false, 0, 0,
        DMARC_FO_D | DMARC_FO_0, false, PU, 0, 0, NULL},
    {"fo 0:1 invalid", "v=DMARC1; p=none; fo=0:1", OK, NO, U, U, false, 0, 0,
        F0, false, PU, 0, 0, "invalid fo= ignored (0)"},
    {"fo repeat invalid", "v=DMARC1; p=none; fo=d:d", OK, NO, U, U, false, 0, 0,
        F0, false, PU, 0, 0, NULL},
    {"fo empty invalid", "v=DMARC1; p=none; fo=", OK, NO, U, U, false, 0, 0, F0,
        false, PU, 0, 0, NULL},
    {"rua size suffix",
        "v=DMARC1; p=none; rua=mailto:a@ex.com!10m, "
        "mailto:b@ex.com!5",
        OK, NO, U, U, false, 0, 0, F0, false, PU, 2, 0, NULL},
    {"rua bad size", "v=DMARC1; p=none; rua=mailto:a@ex.com!x", OK, NO, U, U,
        false, 0, 0, F0, false, PU, 0, 0, "invalid reporting URI skipped"},
    {"rua mixed",
        "v=DMARC1; p=none; rua=mailto:a@ex.com,https://x.ex/,"
        "mailto:bad,,mailto:c@ex.com?subject=x",
        OK, NO, U, U, false, 0, 0, F0, false, PU, 2, 0,
        "invalid mailto URI skipped"},
    {"rua two @", "v=DMARC1; p=none; rua=mailto:a@b@ex.com", OK, NO, U, U,
        false, 0, 0, F0, false, PU, 0, 0, NULL},
    {"rua bad domain", "v=DMARC1; p=none; rua=mailto:a@ex..com", OK, NO, U, U,
        false, 0, 0, F0, false, PU, 0, 0, NULL},
    {"rua no scheme", "v=DMARC1; p=none; rua=a@ex.com", OK, NO, U, U, false, 0,
        0, F0, false, PU, 0, 0, NULL},
};

static bool
has_note(const struct dmarc_record *r, const char *note)
{
	size_t i;

	for (i = 0; i < r->note_count; i++)
		if (strcmp(r->notes[i], note) == 0)
			return true;
	return false;
}

static void
test_record_table(void)
{
	size_t i;

	for (i = 0; i < sizeof(rec_cases) / sizeof(rec_cases[0]); i++) {
		const struct rec_case *c = &rec_cases[i];
		struct dmarc_record r;
		int fails = check_failures;

		CHECK_INT_EQ(dmarc_record_parse(c->txt, strlen(c->txt), &r), 0);
		CHECK_INT_EQ(r.status, c->status);
		CHECK_INT_EQ(r.p, c->p);
		CHECK_INT_EQ(r.sp, c->sp);
		CHECK_INT_EQ(r.np, c->np);
		CHECK_INT_EQ(r.p_implied, c->p_implied);
		CHECK_INT_EQ(r.adkim, c->adkim);
		CHECK_INT_EQ(r.aspf, c->aspf);
		CHECK_INT_EQ(r.fo, c->fo);
		CHECK_INT_EQ(r.testing, c->testing);
		CHECK_INT_EQ(r.psd, c->psd);
		CHECK_INT_EQ(r.rua_count, c->rua);
		CHECK_INT_EQ(r.ruf_count, c->ruf);
		if (c->note != NULL)
			CHECK(has_note(&r, c->note));
		if (check_failures != fails)
			fprintf(stderr, "  in record case \"%s\"\n", c->name);
	}
}

static void
test_record_details(void)
{
	struct dmarc_record r;
	char big[4096];
	size_t n, i;
	const char *txt;

	/* the spans: "!size" dropped, ?query kept */
	txt = "v=DMARC1; p=none; rua=mailto:a@ex.com!10m, "
	      "MAILTO:b@ex.com?subject=r; fo=0:s";
	dmarc_record_parse(txt, strlen(txt), &r);
	CHECK_MEM_EQ(r.rua[0].s, r.rua[0].len, "mailto:a@ex.com", 15);
	CHECK_MEM_EQ(r.rua[1].s, r.rua[1].len, "MAILTO:b@ex.com?subject=r", 25);
	CHECK_MEM_EQ(r.fo_text.s, r.fo_text.len, "0:s", 3);
	CHECK_INT_EQ(r.rua_valid, 2);

	/* default fo text */
	dmarc_record_parse("v=DMARC1; p=none", 16, &r);
	CHECK_MEM_EQ(r.fo_text.s, r.fo_text.len, "0", 1);

	/* many URIs: capped, the rest noted */
	n = (size_t)snprintf(big, sizeof(big), "v=DMARC1; p=none; rua=");
	for (i = 0; i < BOUND_DMARC_URIS + 5; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "%smailto:r%zu@example.com", i ? "," : "", i);
	dmarc_record_parse(big, n, &r);
	CHECK_INT_EQ(r.rua_count, BOUND_DMARC_URIS);
	CHECK(has_note(&r, "too many reporting URIs, rest skipped"));

	/* an over-long URI is skipped */
	n = (size_t)snprintf(big, sizeof(big), "v=DMARC1; p=none; rua=mailto:");
	memset(big + n, 'a', BOUND_DMARC_URI_LEN);
	n += BOUND_DMARC_URI_LEN;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "@ex.com");
	dmarc_record_parse(big, n, &r);
	CHECK_INT_EQ(r.rua_count, 0);
	CHECK(has_note(&r, "reporting URI too long, skipped"));

	/* NUL and 8-bit bytes do not crash and do not count as tags */
	dmarc_record_parse("v=DMARC1; p=reject\0; p=none", 27, &r);
	CHECK_INT_EQ(r.status, DMARC_RECORD_OK);
	CHECK_INT_EQ(r.p, DMARC_POLICY_NONE);
	CHECK(has_note(&r, "malformed tag-spec ignored"));
	CHECK_INT_EQ(dmarc_record_parse(NULL, 0, &r), 0);
	CHECK_INT_EQ(r.status, DMARC_RECORD_NOT_DMARC);
	CHECK_INT_EQ(dmarc_record_parse(NULL, 3, &r), -EINVAL);

	/* sniff reads psd for the walk */
	{
		enum orgdomain_psd psd;

		CHECK(orgdomain_sniff("v=DMARC1; psd=y", 15, &psd));
		CHECK_INT_EQ(psd, ORGDOMAIN_PSD_Y);
		CHECK(orgdomain_sniff("v=DMARC1;psd=n;psd=n", 20, &psd));
		CHECK_INT_EQ(psd, ORGDOMAIN_PSD_U);
		CHECK(!orgdomain_sniff("v=DMARC1x; psd=y", 16, &psd));
	}
}

/* ---- discovery: tree walk ---- */

struct walk_case {
	const char *name;
	const char *domain;
	enum orgdomain_status status;
	const char *policy_domain; /* NULL: no record */
	const char *org;
	enum orgdomain_relation relation;
	unsigned queries;
	unsigned discarded;
	const char *first_q, *last_q; /* first and last TXT names asked */
};

static const struct walk_case walk_cases[] = {
    {"org itself", "example.com", ORGDOMAIN_OK, "example.com", "example.com",
        ORGDOMAIN_SELF, 2, 0, "_dmarc.example.com", "_dmarc.com"},
    {"upper case, final dot", "Example.COM.", ORGDOMAIN_OK, "example.com",
        "example.com", ORGDOMAIN_SELF, 2, 0, "_dmarc.example.com",
        "_dmarc.com"},
    {"existing subdomain", "mail.example.com", ORGDOMAIN_OK, "example.com",
        "example.com", ORGDOMAIN_SUBDOMAIN, 3, 0, "_dmarc.mail.example.com",
        "_dmarc.com"},
    {"non-existent subdomain", "nx.example.com", ORGDOMAIN_OK, "example.com",
        "example.com", ORGDOMAIN_NXSUBDOMAIN, 3, 0, "_dmarc.nx.example.com",
        "_dmarc.com"},
    {"own record below org", "signing.example.com", ORGDOMAIN_OK,
        "signing.example.com", "example.com", ORGDOMAIN_SELF, 3, 0,
        "_dmarc.signing.example.com", "_dmarc.com"},
    {"no record anywhere", "nodmarc.example", ORGDOMAIN_OK, NULL,
        "nodmarc.example", ORGDOMAIN_SELF, 2, 0, "_dmarc.nodmarc.example",
        "_dmarc.example"},
    {"13 labels: 8 queries", "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        ORGDOMAIN_OK, "example.com", "example.com", ORGDOMAIN_NXSUBDOMAIN, 8, 0,
        "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com", "_dmarc.com"},
    {"8 labels: 8 queries", "b.c.d.e.f.g.example.com", ORGDOMAIN_OK,
        "example.com", "example.com", ORGDOMAIN_NXSUBDOMAIN, 8, 0,
        "_dmarc.b.c.d.e.f.g.example.com", "_dmarc.com"},
    {"9 labels: 8 queries", "a.b.c.d.e.f.g.example.com", ORGDOMAIN_OK,
        "example.com", "example.com", ORGDOMAIN_NXSUBDOMAIN, 8, 0,
        "_dmarc.a.b.c.d.e.f.g.example.com", "_dmarc.com"},
    {"B.4.3 author", "giant.bank.example", ORGDOMAIN_OK, "giant.bank.example",
        "giant.bank.example", ORGDOMAIN_SELF, 2, 0, "_dmarc.giant.bank.example",
        "_dmarc.bank.example"},
    {"psd=y record used as PSD policy", "other.bank.example", ORGDOMAIN_OK,
        "bank.example", "other.bank.example", ORGDOMAIN_NXSUBDOMAIN, 2, 0,
        "_dmarc.other.bank.example", "_dmarc.bank.example"},
    {"psd=y at the start", "psdstart.example", ORGDOMAIN_OK, "psdstart.example",
        "psdstart.example", ORGDOMAIN_SELF, 1, 0, "_dmarc.psdstart.example",
        "_dmarc.psdstart.example"},
    {"psd=n stops below", "a.corp.example.org", ORGDOMAIN_OK,
        "corp.example.org", "corp.example.org", ORGDOMAIN_SUBDOMAIN, 2, 0,
        "_dmarc.a.corp.example.org", "_dmarc.corp.example.org"},
    {"without psd=n: fewest labels", "x.example.org", ORGDOMAIN_OK,
        "example.org", "example.org", ORGDOMAIN_SUBDOMAIN, 3, 0,
        "_dmarc.x.example.org", "_dmarc.org"},
    {"several records discarded", "dup.example.net", ORGDOMAIN_OK,
        "example.net", "example.net", ORGDOMAIN_SUBDOMAIN, 3, 1,
        "_dmarc.dup.example.net", "_dmarc.net"},
    {"one DMARC among other TXT", "mixed.example.net", ORGDOMAIN_OK,
        "mixed.example.net", "example.net", ORGDOMAIN_SELF, 3, 0,
        "_dmarc.mixed.example.net", "_dmarc.net"},
    {"tempfail midway", "deep.sub.example.edu", ORGDOMAIN_TEMPFAIL, NULL, NULL,
        ORGDOMAIN_SELF, 3, 0, "_dmarc.deep.sub.example.edu",
        "_dmarc.example.edu"},
    {"existence unknown", "unsure.example.info", ORGDOMAIN_OK, "example.info",
        "example.info", ORGDOMAIN_SUBDOMAIN_UNKNOWN, 3, 0,
        "_dmarc.unsure.example.info", "_dmarc.info"},
    {"not a domain", "bad..example.com", ORGDOMAIN_INVALID, NULL, NULL,
        ORGDOMAIN_SELF, 0, 0, NULL, NULL},
    {"8-bit domain", "b\xc3\xa4r.example", ORGDOMAIN_INVALID, NULL, NULL,
        ORGDOMAIN_SELF, 0, 0, NULL, NULL},
};

static void
check_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		CHECK(got == NULL);
	else
		CHECK_STR_EQ(got, want);
}

static void
test_walk_table(void)
{
	struct orgdomain *o = od_new(ORGDOMAIN_TREEWALK, NULL);
	size_t i;

	for (i = 0; o && i < sizeof(walk_cases) / sizeof(walk_cases[0]); i++) {
		const struct walk_case *c = &walk_cases[i];
		struct orgdomain_policy p;
		int fails = check_failures;

		zlog.count = 0;
		CHECK_INT_EQ(orgdomain_policy(o, &zres, ar, c->domain, &p), 0);
		CHECK_INT_EQ(p.status, c->status);
		CHECK_STR_EQ(orgdomain_method_name(p.method), "treewalk");
		check_str_or_null(p.policy_domain, c->policy_domain);
		check_str_or_null(p.org_domain, c->org);
		if (c->policy_domain != NULL)
			CHECK_INT_EQ(p.relation, c->relation);
		CHECK(p.record == NULL || c->policy_domain != NULL);
		CHECK_INT_EQ(p.queries, c->queries);
		CHECK_INT_EQ(zlog.count, c->queries);
		CHECK(p.queries <= 8);
		CHECK_INT_EQ(p.discarded, c->discarded);
		if (c->first_q != NULL && zlog.count > 0) {
			CHECK_STR_EQ(zlog.names[0], c->first_q);
			CHECK_STR_EQ(zlog.names[zlog.count - 1], c->last_q);
		}
		if (check_failures != fails)
			fprintf(stderr, "  in walk case \"%s\"\n", c->name);
	}
	orgdomain_free(o);
}

/* RFC 9989 section 4.10's example: the exact names asked. */
static void
test_walk_deep_names(void)
{
	static const char *want[] = {
	    "_dmarc.a.b.c.d.e.f.g.h.i.j.mail.example.com",
	    "_dmarc.g.h.i.j.mail.example.com",
	    "_dmarc.h.i.j.mail.example.com",
	    "_dmarc.i.j.mail.example.com",
	    "_dmarc.j.mail.example.com",
	    "_dmarc.mail.example.com",
	    "_dmarc.example.com",
	    "_dmarc.com",
	};
	struct orgdomain *o = od_new(ORGDOMAIN_TREEWALK, NULL);
	struct orgdomain_org g;
	size_t i;

	zlog.count = 0;
	CHECK_INT_EQ(orgdomain_find(o, &zres, ar,
	                 "a.b.c.d.e.f.g.h.i.j.mail.example.com", &g),
	    0);
	CHECK_INT_EQ(zlog.count, 8);
	for (i = 0; i < 8 && i < zlog.count; i++)
		CHECK_STR_EQ(zlog.names[i], want[i]);
	/* the psd=n record at e.f.g... is on a skipped name */
	CHECK_STR_EQ(g.org_domain, "example.com");
	orgdomain_free(o);
}

struct org_case {
	enum orgdomain_method method;
	const char *domain;
	enum orgdomain_status status;
	const char *org;
	unsigned queries;
};

static const struct org_case org_cases[] = {
    /* RFC 9989 appendix B.4.1 / B.4.3 */
    {ORGDOMAIN_TREEWALK, "signing.example.com", ORGDOMAIN_OK, "example.com", 3},
    {ORGDOMAIN_TREEWALK, "mail.giant.bank.example", ORGDOMAIN_OK,
        "giant.bank.example", 3},
    {ORGDOMAIN_TREEWALK, "mail.mega.bank.example", ORGDOMAIN_OK,
        "mega.bank.example", 3},
    {ORGDOMAIN_TREEWALK, "corp.example.org", ORGDOMAIN_OK, "corp.example.org",
        1},
    {ORGDOMAIN_TREEWALK, "a.b.nothing.test", ORGDOMAIN_OK, "a.b.nothing.test",
        4},
    {ORGDOMAIN_TREEWALK, "x.deep.sub.example.edu", ORGDOMAIN_TEMPFAIL, NULL, 4},
    {ORGDOMAIN_TREEWALK, "-", ORGDOMAIN_OK, "-", 1},
    {ORGDOMAIN_TREEWALK, "", ORGDOMAIN_INVALID, NULL, 0},
    /* PSL: ICANN multi-label suffixes and private suffixes */
    {ORGDOMAIN_PSL, "a.b.example.co.uk", ORGDOMAIN_OK, "example.co.uk", 0},
    {ORGDOMAIN_PSL, "co.uk", ORGDOMAIN_OK, "co.uk", 0},
    {ORGDOMAIN_PSL, "www.alice.blogspot.com", ORGDOMAIN_OK,
        "alice.blogspot.com", 0},
    {ORGDOMAIN_PSL, "foo.bar.github.io", ORGDOMAIN_OK, "bar.github.io", 0},
    {ORGDOMAIN_PSL, "Mail.Example.COM", ORGDOMAIN_OK, "example.com", 0},
    {ORGDOMAIN_PSL, "localhost", ORGDOMAIN_OK, "localhost", 0},
};

static void
test_org_table(void)
{
	struct orgdomain *tw = od_new(ORGDOMAIN_TREEWALK, NULL);
	struct orgdomain *psl = od_new(ORGDOMAIN_PSL, NULL);
	size_t i;

	for (i = 0; tw && psl && i < sizeof(org_cases) / sizeof(org_cases[0]);
	     i++) {
		const struct org_case *c = &org_cases[i];
		struct orgdomain_org g;
		int fails = check_failures;

		zlog.count = 0;
		CHECK_INT_EQ(
		    orgdomain_find(c->method == ORGDOMAIN_PSL ? psl : tw, &zres,
		        ar, c->domain, &g),
		    0);
		CHECK_INT_EQ(g.status, c->status);
		check_str_or_null(g.org_domain, c->org);
		CHECK_INT_EQ(g.queries, c->queries);
		CHECK_INT_EQ(zlog.count, c->queries);
		if (check_failures != fails)
			fprintf(stderr, "  in org case \"%s\"\n", c->domain);
	}
	orgdomain_free(tw);
	orgdomain_free(psl);
}

static void
test_psl_policy(void)
{
	struct orgdomain *o = od_new(
	    ORGDOMAIN_PSL, "/usr/share/publicsuffix/public_suffix_list.dat");
	struct orgdomain_options bad = {ORGDOMAIN_PSL, "/nonexistent/psl"};
	struct orgdomain *none = NULL;
	struct orgdomain_policy p;
	const char *why = NULL;

	CHECK_INT_EQ(orgdomain_new(&bad, &none, &why), -ENOENT);
	CHECK(none == NULL && why != NULL);
	if (o == NULL)
		return;
	CHECK_INT_EQ(orgdomain_get_method(o), ORGDOMAIN_PSL);
	/* From domain, then the registrable domain */
	zlog.count = 0;
	CHECK_INT_EQ(
	    orgdomain_policy(o, &zres, ar, "mail.example.co.uk", &p), 0);
	CHECK_INT_EQ(p.status, ORGDOMAIN_OK);
	CHECK_STR_EQ(orgdomain_method_name(p.method), "psl");
	CHECK_STR_EQ(p.policy_domain, "example.co.uk");
	CHECK_STR_EQ(p.org_domain, "example.co.uk");
	CHECK_INT_EQ(p.relation, ORGDOMAIN_SUBDOMAIN);
	CHECK_INT_EQ(p.queries, 2);
	/* the PSL ignores the co.uk PSD record (no tree walk) */
	CHECK_INT_EQ(orgdomain_policy(o, &zres, ar, "nodmarc.co.uk", &p), 0);
	CHECK(p.record == NULL);
	CHECK_STR_EQ(p.org_domain, "nodmarc.co.uk");
	CHECK_INT_EQ(p.queries, 1);
	/* a private suffix: blogspot.com's own record is not alice's */
	CHECK_INT_EQ(
	    orgdomain_policy(o, &zres, ar, "www.alice.blogspot.com", &p), 0);
	CHECK_STR_EQ(p.policy_domain, "alice.blogspot.com");
	CHECK_INT_EQ(orgdomain_policy(o, &zres, ar, "bob.blogspot.com", &p), 0);
	CHECK(p.record == NULL);
	/* while the tree walk climbs to blogspot.com */
	{
		struct orgdomain *tw = od_new(ORGDOMAIN_TREEWALK, NULL);

		CHECK_INT_EQ(
		    orgdomain_policy(tw, &zres, ar, "bob.blogspot.com", &p), 0);
		CHECK_STR_EQ(p.policy_domain, "blogspot.com");
		orgdomain_free(tw);
	}
	orgdomain_free(o);
}

/* ---- evaluation ---- */

#define O_INVALID 0x1 /* in.from_invalid */
#define O_FWD_IP 0x2
#define O_FWD_DOM 0x4
#define O_CAP_Q 0x8
#define O_PSL 0x10
#define O_MORE 0x20 /* in.authors_more */
#define O_ARC 0x40  /* trusted ARC sealers: .lists.example.net */

#define PASS AUTH_PASS
#define FAIL AUTH_FAIL

struct ev_case {
	const char *name;
	enum dmarc_from_state from;
	const char *authors[10];
	struct dmarc_dkim dkim[3];
	const char *spf; /* passing SPF domain, or NULL */
	enum dmarc_spf_scope scope;
	enum auth_result spf_result; /* 0 (none) means PASS when spf */
	const char *ip;
	unsigned opts;
	enum auth_result result;
	enum dmarc_disposition disp;
	unsigned overrides;
	const char *tag; /* policy_tag of the decisive author */
	enum dmarc_policy requested, evaluated;
	int dkim_al, spf_al;     /* -1: do not check */
	const char *decisive;    /* NULL: no author */
	bool arc_pass;           /* the ARC chain passed */
	struct arc_claim arc[2]; /* what its sealers recorded */
};

static const struct ev_case ev_cases[] = {
    {.name = "dkim same domain",
        .authors = {"example.com"},
        .dkim = {{"example.com", "s1", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "dkim relaxed: signing subdomain",
        .authors = {"example.com"},
        .dkim = {{"signing.example.com", "s", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "dkim relaxed: author subdomain",
        .authors = {"mail.example.com"},
        .dkim = {{"EXAMPLE.com.", "s", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "sp",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "mail.example.com"},
    {.name = "dkim of another org",
        .authors = {"example.com"},
        .dkim = {{"example.net", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "dkim policy (l=) does not count",
        .authors = {"example.com"},
        .dkim = {{"example.com", "s", AUTH_POLICY}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "dkim fail does not count",
        .authors = {"example.com"},
        .dkim = {{"example.com", "s", FAIL}, {"example.net", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "spf relaxed",
        .authors = {"example.com"},
        .spf = "bounce.mail.example.com",
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 1,
        .decisive = "example.com"},
    {.name = "spf helo (empty MAIL FROM)",
        .authors = {"example.com"},
        .spf = "mx.example.com",
        .scope = DMARC_SPF_HELO,
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 1,
        .decisive = "example.com"},
    {.name = "spf softfail",
        .authors = {"example.com"},
        .spf = "example.com",
        .spf_result = AUTH_SOFTFAIL,
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "spf other org",
        .authors = {"example.com"},
        .spf = "example.net",
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "strict dkim: subdomain fails",
        .authors = {"strict.example.com"},
        .dkim = {{"example.com", "s", PASS}},
        .spf = "mail.strict.example.com",
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "strict.example.com"},
    {.name = "strict dkim: exact passes",
        .authors = {"strict.example.com"},
        .dkim = {{"Strict.Example.com", "s", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "strict.example.com"},
    {.name = "strict spf: exact passes",
        .authors = {"strict.example.com"},
        .spf = "strict.example.com",
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 1,
        .decisive = "strict.example.com"},
    {.name = "sp for an existing subdomain",
        .authors = {"mail.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .tag = "sp",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "mail.example.com"},
    {.name = "np for a non-existent subdomain",
        .authors = {"nx.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "np",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "nx.example.com"},
    {.name = "np falls back to p",
        .authors = {"nx.example.net"},
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .tag = "p",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "nx.example.net"},
    {.name = "PSD record for a non-existent name",
        .authors = {"other.bank.example"},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "other.bank.example"},
    {.name = "t=y: reject -> quarantine",
        .authors = {"testing.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .overrides = DMARC_OVERRIDE_POLICY_TEST_MODE,
        .tag = "p",
        .requested = RE,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "testing.example.com"},
    {.name = "t=y: quarantine -> none",
        .authors = {"testq.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_POLICY_TEST_MODE,
        .tag = "p",
        .requested = QU,
        .evaluated = NO,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "testq.example.com"},
    {.name = "t=y pass: no override",
        .authors = {"testing.example.com"},
        .dkim = {{"testing.example.com", "s", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = QU,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "testing.example.com"},
    {.name = "pct=0 is full strength",
        .authors = {"pct.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "pct.example.com"},
    {.name = "p=none fails without action",
        .authors = {"nonep.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .tag = "p",
        .requested = NO,
        .evaluated = NO,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "nonep.example.com"},
    {.name = "p=none pass: disposition none",
        .authors = {"nonep.example.com"},
        .spf = "nonep.example.com",
        .result = PASS,
        .disp = DMARC_DISP_NONE,
        .tag = "p",
        .requested = NO,
        .evaluated = NO,
        .dkim_al = 0,
        .spf_al = 1,
        .decisive = "nonep.example.com"},
    {.name = "no record",
        .authors = {"nodmarc.example"},
        .dkim = {{"nodmarc.example", "s", PASS}},
        .result = AUTH_NONE,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1,
        .decisive = "nodmarc.example"},
    {.name = "no p, rua: p=none",
        .authors = {"ruaonly.example.com"},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .tag = "p",
        .requested = NO,
        .evaluated = NO,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "ruaonly.example.com"},
    {.name = "bad p, no rua: no DMARC",
        .authors = {"badp.example.com"},
        .result = AUTH_NONE,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1,
        .decisive = "badp.example.com"},
    {.name = "several records: parent policy",
        .authors = {"dup.example.net"},
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .tag = "p",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "dup.example.net"},
    {.name = "trusted forwarder by IP",
        .authors = {"example.com"},
        .ip = "192.0.2.77",
        .opts = O_FWD_IP,
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_TRUSTED_FORWARDER,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "trusted forwarder by IPv6",
        .authors = {"example.com"},
        .ip = "2001:db8:1::5",
        .opts = O_FWD_IP,
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_TRUSTED_FORWARDER,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "IP outside the forwarders",
        .authors = {"example.com"},
        .ip = "192.0.3.1",
        .opts = O_FWD_IP,
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "trusted forwarder by DKIM d=",
        .authors = {"example.com"},
        .dkim = {{"lists.example.net", "s", PASS}},
        .opts = O_FWD_DOM,
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_TRUSTED_FORWARDER,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "forwarder d= must pass",
        .authors = {"example.com"},
        .dkim = {{"lists.example.net", "s", FAIL}},
        .opts = O_FWD_DOM,
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    /* trusted ARC sealers (RFC 9989 section 5.4, local policy) */
    {.name = "trusted sealer recorded dmarc=pass",
        .authors = {"example.com"},
        .opts = O_ARC,
        .arc_pass = true,
        .arc = {{"lists.example.net", 1, ARC_CLAIM_DMARC, "example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_ARC_SEALER,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "without the sealer list nothing changes",
        .authors = {"example.com"},
        .arc_pass = true,
        .arc = {{"lists.example.net", 1, ARC_CLAIM_DMARC, "example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "sealer not in the list",
        .authors = {"example.com"},
        .opts = O_ARC,
        .arc_pass = true,
        .arc = {{"lists.example.org", 1, ARC_CLAIM_DMARC, "example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "chain did not pass",
        .authors = {"example.com"},
        .opts = O_ARC,
        .arc = {{"lists.example.net", 1, ARC_CLAIM_DMARC, "example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "sealer recorded dmarc=pass for another domain",
        .authors = {"example.com"},
        .opts = O_ARC,
        .arc_pass = true,
        .arc = {{"lists.example.net", 1, ARC_CLAIM_DMARC, "example.net"}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "sealer recorded an aligned dkim=pass (relaxed)",
        .authors = {"example.com"},
        .opts = O_ARC,
        .arc_pass = true,
        .arc = {{"a.lists.example.net", 2, ARC_CLAIM_SPF, "example.org"},
            {"a.lists.example.net", 2, ARC_CLAIM_DKIM, "mail.example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_ARC_SEALER,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "strict: sealer's dkim=pass of a subdomain",
        .authors = {"strict.example.com"},
        .opts = O_ARC,
        .arc_pass = true,
        .arc = {{"lists.example.net", 1, ARC_CLAIM_DKIM,
            "mail.strict.example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "strict.example.com"},
    {.name = "strict: sealer's spf=pass of the domain",
        .authors = {"strict.example.com"},
        .opts = O_ARC,
        .arc_pass = true,
        .arc = {{"lists.example.net", 1, ARC_CLAIM_SPF, "Strict.Example.com"}},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_ARC_SEALER,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "strict.example.com"},
    {.name = "local cap: quarantine",
        .authors = {"example.com"},
        .opts = O_CAP_Q,
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .overrides = DMARC_OVERRIDE_LOCAL_POLICY,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    /* From-header attack classes (RFC 9989 section 11.5) */
    {.name = "two authors: pass and reject",
        .authors = {"example.net", "example.com"},
        .dkim = {{"example.net", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "two authors, other order",
        .authors = {"example.com", "example.net"},
        .dkim = {{"example.net", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "both authors pass",
        .authors = {"example.com", "example.net"},
        .dkim = {{"example.net", "s", PASS}, {"example.com", "s", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .dkim_al = 1,
        .spf_al = 0,
        .requested = RE,
        .evaluated = RE,
        .decisive = "example.com"},
    {.name = "pass and no-record author: none",
        .authors = {"example.com", "nodmarc.example"},
        .dkim = {{"example.com", "s", PASS}},
        .result = AUTH_NONE,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1,
        .decisive = "nodmarc.example"},
    {.name = "same domain twice is one author",
        .authors = {"example.com", "EXAMPLE.COM."},
        .dkim = {{"example.com", "s", PASS}},
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "no From",
        .from = DMARC_FROM_ABSENT,
        .dkim = {{"example.com", "s", PASS}},
        .result = AUTH_NONE,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1},
    {.name = "From without a domain",
        .result = AUTH_NONE,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1},
    {.name = "unparseable From never passes",
        .from = DMARC_FROM_UNPARSEABLE,
        .authors = {"example.com"},
        .dkim = {{"example.com", "s", PASS}},
        .result = AUTH_PERMERROR,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1},
    /* a From that is not a valid mailbox-list never passes */
    {.name = "invalid From: the aligned pass fails under p=reject",
        .authors = {"example.com"},
        .opts = O_INVALID,
        .dkim = {{"example.com", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "invalid From, RejectFailures no: quarantine",
        .authors = {"example.com"},
        .opts = O_INVALID | O_CAP_Q,
        .dkim = {{"example.com", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .overrides = DMARC_OVERRIDE_LOCAL_POLICY,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "invalid From without a policy: permerror",
        .authors = {"nodmarc.example"},
        .opts = O_INVALID,
        .result = AUTH_PERMERROR,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1,
        .decisive = "nodmarc.example"},
    {.name = "invalid From, p=reject domain among others",
        .authors = {"nodmarc.example", "example.com"},
        .opts = O_INVALID,
        .dkim = {{"example.com", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "author not a domain",
        .authors = {"bad..example"},
        .result = AUTH_PERMERROR,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1,
        .decisive = "bad..example"},
    /* past BOUND_DMARC_AUTHOR_DOMAINS the rest fail under p=reject,
     * whatever the first ones publish */
    {.name = "too many authors: the rest fail under p=reject",
        .authors = {"a1.example", "a2.example", "a3.example", "a4.example",
            "a5.example", "a6.example", "a7.example", "a8.example",
            "a9.example"},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "a9.example"},
    {.name = "too many authors, RejectFailures no",
        .authors = {"a1.example", "a2.example", "a3.example", "a4.example",
            "a5.example", "a6.example", "a7.example", "a8.example",
            "example.com", "a10.example"},
        .opts = O_CAP_Q,
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .overrides = DMARC_OVERRIDE_LOCAL_POLICY,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "too many authors from a trusted forwarder",
        .authors = {"a1.example", "a2.example", "a3.example", "a4.example",
            "a5.example", "a6.example", "a7.example", "a8.example",
            "a9.example"},
        .ip = "192.0.2.55",
        .opts = O_FWD_IP,
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .overrides = DMARC_OVERRIDE_TRUSTED_FORWARDER,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "a9.example"},
    {.name = "more authors than the caller lists",
        .authors = {"example.com"},
        .opts = O_MORE,
        .dkim = {{"example.com", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = ""},
    /* DNS failures */
    {.name = "policy tempfail",
        .authors = {"deep.sub.example.edu"},
        .result = AUTH_TEMPERROR,
        .disp = DMARC_DISP_NONE,
        .dkim_al = -1,
        .spf_al = -1,
        .decisive = "deep.sub.example.edu"},
    /* a passing identifier outside the author's organizational domain
     * cannot align: it is not walked, so its sender's failing name
     * servers cannot turn the failure into temperror */
    {.name = "unrelated identifier, its walk would fail",
        .authors = {"example.com"},
        .dkim = {{"x.deep.sub.example.edu", "s", PASS}},
        .result = AUTH_FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.com"},
    {.name = "identifier org tempfail",
        .authors = {"example.biz"},
        .dkim = {{"x.y.example.biz", "s", PASS}},
        .result = AUTH_TEMPERROR,
        .disp = DMARC_DISP_NONE,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.biz"},
    {.name = "identifier tempfail, other passes",
        .authors = {"example.com"},
        .dkim = {{"x.deep.sub.example.edu", "s", PASS}},
        .spf = "example.com",
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 1,
        .decisive = "example.com"},
    {.name = "existence unknown, np differs",
        .authors = {"unsure.example.info"},
        .result = AUTH_TEMPERROR,
        .disp = DMARC_DISP_NONE,
        .tag = "p",
        .requested = NO,
        .evaluated = NO,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "unsure.example.info"},
    {.name = "existence unknown, no np",
        .authors = {"unsure2.flat.example.info"},
        .result = AUTH_FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "unsure2.flat.example.info"},
    /* RFC 9989 appendix B.4.3 */
    {.name = "B.4.3 spf aligned",
        .authors = {"giant.bank.example"},
        .dkim = {{"mail.mega.bank.example", "s", PASS}},
        .spf = "mail.giant.bank.example",
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 1,
        .decisive = "giant.bank.example"},
    {.name = "B.4.3 dkim not aligned",
        .authors = {"giant.bank.example"},
        .dkim = {{"mail.mega.bank.example", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .tag = "p",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "giant.bank.example"},
    {.name = "psd=n splits the org",
        .authors = {"x.example.org"},
        .dkim = {{"corp.example.org", "s", PASS}},
        .result = FAIL,
        .disp = DMARC_DISP_NONE,
        .tag = "p",
        .requested = NO,
        .evaluated = NO,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "x.example.org"},
    /* PSL mode */
    {.name = "psl relaxed",
        .authors = {"mail.example.co.uk"},
        .dkim = {{"example.co.uk", "s", PASS}},
        .opts = O_PSL,
        .result = PASS,
        .disp = DMARC_DISP_PASS,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 1,
        .spf_al = 0,
        .decisive = "mail.example.co.uk"},
    {.name = "psl: co.uk is not an org",
        .authors = {"example.co.uk"},
        .dkim = {{"other.co.uk", "s", PASS}},
        .spf = "co.uk",
        .opts = O_PSL,
        .result = FAIL,
        .disp = DMARC_DISP_REJECT,
        .tag = "p",
        .requested = RE,
        .evaluated = RE,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "example.co.uk"},
    {.name = "psl: private suffix",
        .authors = {"alice.blogspot.com"},
        .dkim = {{"bob.blogspot.com", "s", PASS}},
        .opts = O_PSL,
        .result = FAIL,
        .disp = DMARC_DISP_QUARANTINE,
        .tag = "p",
        .requested = QU,
        .evaluated = QU,
        .dkim_al = 0,
        .spf_al = 0,
        .decisive = "alice.blogspot.com"},
};

static struct dmarc_forwarder fwd[3], sealers[2];

static void
ev_input(const struct ev_case *c, struct dmarc_input *in, struct dmarc_spf *spf)
{
	size_t n;

	memset(in, 0, sizeof(*in));
	in->from_state = c->from;
	in->from_invalid = (c->opts & O_INVALID) != 0;
	in->from_why = in->from_invalid ? "missing '@' in address" : NULL;
	in->authors_more = (c->opts & O_MORE) != 0;
	for (n = 0; n < 10 && c->authors[n] != NULL; n++)
		;
	in->author_domains = c->authors;
	in->author_count = n;
	for (n = 0; n < 3 && c->dkim[n].domain != NULL; n++)
		;
	in->dkim = c->dkim;
	in->dkim_count = n;
	if (c->spf != NULL) {
		spf->domain = c->spf;
		spf->scope = c->scope;
		spf->result =
		    c->spf_result != AUTH_NONE ? c->spf_result : AUTH_PASS;
		in->spf = spf;
	}
	in->client_ip = c->ip;
	in->arc_pass = c->arc_pass;
	in->arc_claims = c->arc;
	for (n = 0; n < 2 && c->arc[n].sealer != NULL; n++)
		;
	in->arc_claim_count = n;
}

static void
ev_options(const struct ev_case *c, struct dmarc_options *opt)
{
	dmarc_options_init(opt);
	if (c->opts & O_CAP_Q)
		opt->max_policy = DMARC_POLICY_QUARANTINE;
	if (c->opts & O_FWD_IP) {
		opt->forwarders = fwd;
		opt->forwarder_count = 2;
	}
	if (c->opts & O_FWD_DOM) {
		opt->forwarders = fwd + 2;
		opt->forwarder_count = 1;
	}
	if (c->opts & O_ARC) {
		opt->arc_sealers = sealers;
		opt->arc_sealer_count = 2;
	}
}

static void
ev_check(const struct ev_case *c, const struct dmarc_result *res)
{
	const struct dmarc_author *d = res->decisive;

	CHECK_STR_EQ(
	    auth_result_name(res->result), auth_result_name(c->result));
	CHECK_STR_EQ(dmarc_disposition_name(res->disposition),
	    dmarc_disposition_name(c->disp));
	CHECK_INT_EQ(res->overrides, c->overrides);
	CHECK(res->reason != NULL && res->reason[0] != '\0');
	if (c->decisive == NULL) {
		CHECK(d == NULL);
		return;
	}
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK_STR_EQ(d->domain, c->decisive);
	check_str_or_null(d->policy_tag, c->tag);
	if (c->tag != NULL) {
		CHECK_INT_EQ(d->requested, c->requested);
		CHECK_INT_EQ(d->evaluated, c->evaluated);
	}
	if (c->dkim_al >= 0)
		CHECK_INT_EQ(d->dkim_aligned, c->dkim_al);
	if (c->spf_al >= 0)
		CHECK_INT_EQ(d->spf_aligned, c->spf_al);
	CHECK(d->dkim_aligned == (d->dkim_domain != NULL));
	CHECK(d->spf_aligned == (d->spf_domain != NULL));
	CHECK((d->arc != NULL) ==
	      ((c->overrides & DMARC_OVERRIDE_ARC_SEALER) != 0));
}

static void
test_evaluate_table(void)
{
	struct orgdomain *tw = od_new(ORGDOMAIN_TREEWALK, NULL);
	struct orgdomain *psl = od_new(ORGDOMAIN_PSL, NULL);
	size_t i;

	CHECK_INT_EQ(dmarc_forwarder_parse("192.0.2.0/24", &fwd[0]), 0);
	CHECK_INT_EQ(dmarc_forwarder_parse("2001:DB8:1::/48", &fwd[1]), 0);
	CHECK_INT_EQ(dmarc_forwarder_parse(".Example.NET", &fwd[2]), 0);
	/* an IP entry among the sealers matches nothing */
	CHECK_INT_EQ(dmarc_forwarder_parse("192.0.2.0/24", &sealers[0]), 0);
	CHECK_INT_EQ(
	    dmarc_forwarder_parse(".lists.example.net", &sealers[1]), 0);
	for (i = 0; tw && psl && i < sizeof(ev_cases) / sizeof(ev_cases[0]);
	     i++) {
		const struct ev_case *c = &ev_cases[i];
		struct dmarc_discovery *d = NULL;
		struct dmarc_result *res = NULL;
		struct dmarc_options opt;
		struct dmarc_input in;
		struct dmarc_spf spf;
		int fails = check_failures;

		ev_input(c, &in, &spf);
		ev_options(c, &opt);
		CHECK_INT_EQ(dmarc_discover(c->opts & O_PSL ? psl : tw, &zres,
		                 ar, &in, &d),
		    0);
		CHECK_INT_EQ(dmarc_evaluate(&in, d, &opt, ar, &res), 0);
		if (res != NULL)
			ev_check(c, res);
		if (check_failures != fails)
			fprintf(stderr, "  in evaluate case \"%s\" (%s)\n",
			    c->name, res && res->reason ? res->reason : "");
	}
	orgdomain_free(tw);
	orgdomain_free(psl);
}

/* The same facts in another order give the same outcome; evaluating
 * twice gives the same outcome; strict alignment needs no extra walk. */
static void
test_purity(void)
{
	static const struct dmarc_dkim fwd_order[] = {
	    {"example.net", "a", PASS},
	    {"example.com", "b", FAIL},
	    {"signing.example.com", "c", PASS},
	};
	static const struct dmarc_dkim rev_order[] = {
	    {"signing.example.com", "c", PASS},
	    {"example.com", "b", FAIL},
	    {"example.net", "a", PASS},
	};
	static const char *authors[] = {"example.com"};
	static const char *strict[] = {"strict.example.com"};
	struct orgdomain *o = od_new(ORGDOMAIN_TREEWALK, NULL);
	struct dmarc_input in = {0};
	struct dmarc_options opt;
	struct dmarc_discovery *d1 = NULL, *d2 = NULL;
	struct dmarc_result *r1 = NULL, *r2 = NULL, *r3 = NULL;

	if (o == NULL)
		return;
	dmarc_options_init(&opt);
	in.author_domains = authors;
	in.author_count = 1;
	in.dkim = fwd_order;
	in.dkim_count = 3;
	CHECK_INT_EQ(dmarc_discover(o, &zres, ar, &in, &d1), 0);
	CHECK_INT_EQ(dmarc_evaluate(&in, d1, &opt, ar, &r1), 0);
	CHECK_INT_EQ(dmarc_evaluate(&in, d1, &opt, ar, &r3), 0);
	in.dkim = rev_order;
	CHECK_INT_EQ(dmarc_discover(o, &zres, ar, &in, &d2), 0);
	CHECK_INT_EQ(dmarc_evaluate(&in, d2, &opt, ar, &r2), 0);
	if (r1 && r2 && r3) {
		CHECK_INT_EQ(r1->result, AUTH_PASS);
		CHECK_INT_EQ(r2->result, r1->result);
		CHECK_INT_EQ(r2->disposition, r1->disposition);
		CHECK_STR_EQ(r1->decisive->dkim_domain, "signing.example.com");
		CHECK_STR_EQ(r2->decisive->dkim_domain, "signing.example.com");
		CHECK_STR_EQ(r3->reason, r1->reason);
		CHECK_STR_EQ(r1->decisive->org_domain, "example.com");
		CHECK_STR_EQ(r1->decisive->policy_domain, "example.com");
		CHECK_STR_EQ(
		    orgdomain_method_name(r1->decisive->method), "treewalk");
	}
	/* signing.example.com walked once; example.net, outside the
	 * author's organizational domain, not at all */
	if (d1 != NULL) {
		CHECK_INT_EQ(d1->ident_count, 1);
		CHECK_INT_EQ(d1->author_count, 1);
		CHECK(d1->authors[0].record.rua_count == 1);
	}
	/* strict: no walk for identifiers */
	in.author_domains = strict;
	zlog.count = 0;
	CHECK_INT_EQ(dmarc_discover(o, &zres, ar, &in, &d1), 0);
	if (d1 != NULL) {
		CHECK_INT_EQ(d1->ident_count, 0);
		CHECK_INT_EQ(zlog.count, 3);
	}
	orgdomain_free(o);
}

static void
test_forwarders_and_names(void)
{
	static const char *bad[] = {"192.0.2.0/33", "192.0.2.300",
	    "2001:db8::/129", "1.2.3.4/", "1.2.3.4/x", "a..b", "", "::1/-1"};
	struct dmarc_forwarder f;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dmarc_forwarder_parse(bad[i], &f) != -EINVAL)
			fprintf(
			    stderr, "  forwarder \"%s\" accepted\n", bad[i]);
		CHECK_INT_EQ(dmarc_forwarder_parse(bad[i], &f), -EINVAL);
	}
	CHECK_INT_EQ(dmarc_forwarder_parse("10.1.2.3", &f), 0);
	CHECK_INT_EQ(f.prefix, 32);
	CHECK_INT_EQ(dmarc_forwarder_parse("Lists.Example.ORG", &f), 0);
	CHECK_STR_EQ(f.domain, "lists.example.org");
	CHECK_INT_EQ(f.family, 0);
	CHECK_STR_EQ(dmarc_policy_name(DMARC_POLICY_REJECT), "reject");
	CHECK_STR_EQ(dmarc_policy_name(DMARC_POLICY_UNSET), "none");
	CHECK_STR_EQ(dmarc_disposition_name(DMARC_DISP_PASS), "pass");
	CHECK_STR_EQ(dmarc_override_name(DMARC_OVERRIDE_POLICY_TEST_MODE),
	    "policy_test_mode");
	CHECK_STR_EQ(dmarc_override_name(DMARC_OVERRIDE_TRUSTED_FORWARDER),
	    "trusted_forwarder");
	CHECK_STR_EQ(
	    dmarc_override_name(DMARC_OVERRIDE_LOCAL_POLICY), "local_policy");
	CHECK(dmarc_override_name(0x100) == NULL);
	CHECK_STR_EQ(orgdomain_method_name(ORGDOMAIN_PSL), "psl");
}

/* orgdomain_name_norm keeps host names only: nothing that a resolver
 * would read as an escape or that could spell one domain two ways. */
static void
test_name_norm(void)
{
	static const struct {
		const char *in, *want; /* want NULL: -EINVAL */
	} cases[] = {
	    {"Mail.Example.COM.", "mail.example.com"},
	    {"_dmarc.a-b.example", "_dmarc.a-b.example"},
	    {"x\\.paypal.com", NULL},
	    {"a\\046b.paypal.com", NULL},
	    {"\"paypal.com\"", NULL},
	    {"<paypal.com>", NULL},
	    {"(x)paypal.com", NULL},
	    {"pay;pal.com", NULL},
	    {"pay pal.com", NULL},
	    {"b\xc3\xbc"
	     "cher.example",
	        NULL},
	    {"foo:bar/baz.example.com", NULL},
	    {"a..b", NULL},
	};
	const char *got;
	size_t i;
	int err;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = 0;
		got = orgdomain_name_norm(ar, cases[i].in, &err);
		if ((got == NULL) != (cases[i].want == NULL))
			fprintf(stderr, "  name \"%s\"\n", cases[i].in);
		if (cases[i].want == NULL) {
			CHECK(got == NULL);
			CHECK_INT_EQ(err, -EINVAL);
		} else {
			CHECK(got != NULL);
			if (got != NULL)
				CHECK_STR_EQ(got, cases[i].want);
		}
	}
}

/* the discovery method as a command line writes it; anything else,
 * also another case or a prefix, is refused and leaves *ret alone */
static void
test_method_parse(void)
{
	static const char *const bad[] = {
	    "", "PSL", "tree", "treewalk ", "psl\n", "walk", "pslx"};
	enum orgdomain_method m = ORGDOMAIN_PSL;
	size_t i;

	CHECK(orgdomain_method_parse("treewalk", &m) == 0);
	CHECK(m == ORGDOMAIN_TREEWALK);
	CHECK(orgdomain_method_parse("psl", &m) == 0);
	CHECK(m == ORGDOMAIN_PSL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(orgdomain_method_parse(bad[i], &m) == -EINVAL);
		CHECK(m == ORGDOMAIN_PSL);
	}
	CHECK_STR_EQ(orgdomain_method_name(ORGDOMAIN_PSL), "psl");
}

int
main(void)
{
	ar = arena_new(16384);
	zone_open();
	test_record_table();
	test_record_details();
	test_walk_table();
	test_walk_deep_names();
	test_org_table();
	test_psl_policy();
	test_evaluate_table();
	test_purity();
	test_forwarders_and_names();
	test_name_norm();
	test_method_parse();
	dns_resolver_free(zlog.inner);
	arena_free(ar);
	return check_summary("dmarc");
}
