/*
 * test_action.c -- the one enforcement decision: a table of verdicts
 * (built by hand: the facts action.h reads) and policies, each with the
 * action, reply and log words it must give; the internal-error actions;
 * the policy and DMARC options taken from a configuration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/action.h"
#include "authmilter/arena.h"
#include "check.h"

/* Verdict facts a case sets. */
#define V_UNEVAL 0x1    /* a From field could not be kept */
#define V_SPF_FAIL 0x2  /* SPF evaluated: fail */
#define V_NO_FROM 0x4   /* from_state ABSENT */
#define V_NO_DOMAIN 0x8 /* from_state UNPARSEABLE */
#define V_OMITTED                                                              \
	0x10            /* the decisive author stands for the authors          \
	                 * not evaluated */
#define V_NO_DMARC 0x20 /* DMARC not evaluated (no orgdomain context) */

/* Policy changes from the defaults (those of an empty config). */
#define P_SPF_REJECT 0x1
#define P_Q_HEADER 0x2
#define P_DNS_TEMPFAIL 0x4
#define P_NO_REQUIRED_FROM 0x8

struct action_case {
	const char *name;
	unsigned v;
	enum auth_result dmarc;
	enum dmarc_disposition disp;
	const char *policy_domain;
	unsigned p;
	bool local;
	enum action_kind want;
	const char *code, *xcode, *text, *why;
};

static const struct action_case action_cases[] = {
    {"pass", 0, AUTH_PASS, DMARC_DISP_PASS, "example.com", 0, false,
        ACTION_ACCEPT, NULL, NULL, NULL, NULL},
    {"no DMARC record", 0, AUTH_NONE, DMARC_DISP_NONE, NULL, 0, false,
        ACTION_ACCEPT, NULL, NULL, NULL, NULL},
    {"DMARC not evaluated", V_NO_DMARC, AUTH_NONE, DMARC_DISP_NONE, NULL, 0,
        false, ACTION_ACCEPT, NULL, NULL, NULL, NULL},
    {"reject", 0, AUTH_FAIL, DMARC_DISP_REJECT, "example.com", 0, false,
        ACTION_REJECT, "550", "5.7.1",
        "Message rejected by the DMARC policy of example.com", NULL},
    {"reject, odd bytes in the domain", 0, AUTH_FAIL, DMARC_DISP_REJECT,
        "ex%am\xc3\xa9.com", 0, false, ACTION_REJECT, "550", "5.7.1",
        "Message rejected by the DMARC policy of ex?am??.com", NULL},
    {"reject, local submission too", 0, AUTH_FAIL, DMARC_DISP_REJECT,
        "example.com", 0, true, ACTION_REJECT, "550", "5.7.1",
        "Message rejected by the DMARC policy of example.com", NULL},
    {"reject for the authors not evaluated", V_OMITTED, AUTH_FAIL,
        DMARC_DISP_REJECT, NULL, 0, false, ACTION_REJECT, "550", "5.7.1",
        "Message rejected by DMARC: too many From domains to evaluate", NULL},
    {"quarantine: hold", 0, AUTH_FAIL, DMARC_DISP_QUARANTINE, "example.com", 0,
        false, ACTION_QUARANTINE, NULL, NULL, "DMARC policy quarantine", NULL},
    {"quarantine: header only", 0, AUTH_FAIL, DMARC_DISP_QUARANTINE,
        "example.com", P_Q_HEADER, false, ACTION_ACCEPT, NULL, NULL, NULL,
        "Quarantine header"},
    {"temperror: accept", 0, AUTH_TEMPERROR, DMARC_DISP_NONE, "example.com", 0,
        false, ACTION_ACCEPT, NULL, NULL, NULL, "temperror"},
    {"temperror: OnDNSError tempfail", 0, AUTH_TEMPERROR, DMARC_DISP_NONE,
        "example.com", P_DNS_TEMPFAIL, false, ACTION_TEMPFAIL, "451", "4.7.5",
        "DNS lookup failed, try again later", NULL},
    {"SPF fail: DMARC decides", V_SPF_FAIL, AUTH_PASS, DMARC_DISP_PASS,
        "example.com", 0, false, ACTION_ACCEPT, NULL, NULL, NULL, NULL},
    {"SPF fail: SPFRejectFail", V_SPF_FAIL, AUTH_PASS, DMARC_DISP_PASS,
        "example.com", P_SPF_REJECT, false, ACTION_REJECT, "550", "5.7.23",
        "SPF check failed for the MAIL FROM domain", "SPF fail"},
    {"SPFRejectFail before DMARC reject", V_SPF_FAIL, AUTH_FAIL,
        DMARC_DISP_REJECT, "example.com", P_SPF_REJECT, false, ACTION_REJECT,
        "550", "5.7.23", "SPF check failed for the MAIL FROM domain",
        "SPF fail"},
    {"no From", V_NO_FROM, AUTH_NONE, DMARC_DISP_NONE, NULL, 0, false,
        ACTION_REJECT, "550", "5.7.1", "Message has no From header field",
        "RequiredFrom"},
    {"no domain in From", V_NO_DOMAIN, AUTH_PERMERROR, DMARC_DISP_NONE, NULL, 0,
        false, ACTION_REJECT, "550", "5.7.1",
        "Message has no domain in its From header field", "RequiredFrom"},
    {"no From, local submission", V_NO_FROM, AUTH_NONE, DMARC_DISP_NONE, NULL,
        0, true, ACTION_ACCEPT, NULL, NULL, NULL, NULL},
    {"no From, RequiredFrom no", V_NO_FROM, AUTH_NONE, DMARC_DISP_NONE, NULL,
        P_NO_REQUIRED_FROM, false, ACTION_ACCEPT, NULL, NULL, NULL, NULL},
    {"header too large: first of all", V_UNEVAL | V_SPF_FAIL, AUTH_PERMERROR,
        DMARC_DISP_NONE, NULL, P_SPF_REJECT, true, ACTION_REJECT, "552",
        "5.3.4",
        "Message header too large to evaluate: a From field larger than "
        "100 KiB",
        "header too large"},
};

static void
check_case(const struct action_case *c, const struct action *act)
{
	CHECK_STR_EQ(action_name(act->kind), action_name(c->want));
	if (c->code == NULL)
		CHECK(act->code == NULL && act->xcode == NULL);
	else {
		CHECK_STR_EQ(act->code, c->code);
		CHECK_STR_EQ(act->xcode, c->xcode);
	}
	if (c->text == NULL)
		CHECK(act->text == NULL);
	else
		CHECK_STR_EQ(act->text, c->text);
	if (c->why == NULL)
		CHECK(act->why == NULL);
	else
		CHECK_STR_EQ(act->why, c->why);
	if (act->text != NULL)
		CHECK(strchr(act->text, '%') == NULL);
}

static void
test_decide(const struct action_policy *defaults)
{
	struct arena *a = arena_new(4096);
	size_t i;

	for (i = 0; i < sizeof(action_cases) / sizeof(action_cases[0]); i++) {
		const struct action_case *c = &action_cases[i];
		struct dmarc_author au;
		struct dmarc_result dm;
		struct spf_result spf;
		struct verdict v;
		struct action_policy p = *defaults;
		struct action act;
		int fails = check_failures;

		memset(&v, 0, sizeof(v));
		memset(&dm, 0, sizeof(dm));
		memset(&au, 0, sizeof(au));
		memset(&spf, 0, sizeof(spf));
		v.from_state = c->v & V_NO_FROM     ? DMARC_FROM_ABSENT
		               : c->v & V_NO_DOMAIN ? DMARC_FROM_UNPARSEABLE
		                                    : DMARC_FROM_OK;
		if (c->v & V_UNEVAL)
			v.unevaluable = "a From field larger than 100 KiB";
		if (c->v & V_SPF_FAIL) {
			spf.result = AUTH_FAIL;
			v.spf = &spf;
		}
		au.domain = c->v & V_OMITTED ? "n9.example" : "example.com";
		au.policy_domain = c->policy_domain;
		au.result = c->dmarc;
		au.disposition = c->disp;
		dm.result = c->dmarc;
		dm.disposition = c->disp;
		dm.authors = &au;
		dm.author_count = 1;
		dm.decisive = &au;
		v.dmarc = c->v & V_NO_DMARC ? NULL : &dm;
		if (c->p & P_SPF_REJECT)
			p.spf_reject_fail = true;
		if (c->p & P_Q_HEADER)
			p.quarantine = CONFIG_QUARANTINE_HEADER;
		if (c->p & P_DNS_TEMPFAIL)
			p.on_dns_error = CONFIG_ACTION_TEMPFAIL;
		if (c->p & P_NO_REQUIRED_FROM)
			p.required_from = false;
		CHECK_INT_EQ(action_decide(&v, &p, c->local, a, &act), 0);
		check_case(c, &act);
		if (check_failures != fails)
			fprintf(stderr, "  case \"%s\"\n", c->name);
	}
	arena_free(a);
}

static void
test_internal_error(const struct action_policy *defaults)
{
	struct action_policy p = *defaults;
	struct action act;

	action_internal_error(&p, &act);
	CHECK_INT_EQ(act.kind, ACTION_ACCEPT);
	CHECK(act.code == NULL);
	CHECK_STR_EQ(act.why, "internal error");
	p.on_internal_error = CONFIG_ACTION_TEMPFAIL;
	action_internal_error(&p, &act);
	CHECK_INT_EQ(act.kind, ACTION_TEMPFAIL);
	CHECK_STR_EQ(act.code, "451");
	CHECK_STR_EQ(act.xcode, "4.3.0");
	p.on_internal_error = CONFIG_ACTION_REJECT;
	action_internal_error(&p, &act);
	CHECK_INT_EQ(act.kind, ACTION_REJECT);
	CHECK_STR_EQ(act.code, "550");
	CHECK_STR_EQ(act.xcode, "5.3.0");
}

/* The defaults are those of authmilter.conf(5); each option maps. */
static void
test_from_config(struct action_policy *ret_defaults)
{
	static const char text[] =
	    "RejectFailures no\nQuarantine header\nOnDNSError tempfail\n"
	    "OnInternalError reject\nSPFRejectFail yes\nRequiredFrom no\n";
	struct config *cfg = NULL;
	struct action_policy p;
	struct dmarc_options o;
	struct buf errors;

	buf_init(&errors, 4096);
	CHECK_INT_EQ(config_load_mem("empty", "", 0, &cfg, &errors), 0);
	if (cfg == NULL)
		abort();
	action_policy_from_config(cfg, ret_defaults);
	cfg = config_unref(cfg);
	CHECK(ret_defaults->reject_failures);
	CHECK(ret_defaults->required_from);
	CHECK(!ret_defaults->spf_reject_fail);
	CHECK_INT_EQ(ret_defaults->quarantine, CONFIG_QUARANTINE_HOLD);
	CHECK_INT_EQ(ret_defaults->on_dns_error, CONFIG_ACTION_ACCEPT);
	CHECK_INT_EQ(ret_defaults->on_internal_error, CONFIG_ACTION_ACCEPT);
	action_dmarc_options(ret_defaults, &o);
	CHECK_INT_EQ(o.max_policy, DMARC_POLICY_UNSET);
	CHECK_INT_EQ(o.forwarder_count, 0);

	CHECK_INT_EQ(
	    config_load_mem("set", text, sizeof(text) - 1, &cfg, &errors), 0);
	if (cfg == NULL)
		abort();
	action_policy_from_config(cfg, &p);
	config_unref(cfg);
	CHECK(!p.reject_failures);
	CHECK(!p.required_from);
	CHECK(p.spf_reject_fail);
	CHECK_INT_EQ(p.quarantine, CONFIG_QUARANTINE_HEADER);
	CHECK_INT_EQ(p.on_dns_error, CONFIG_ACTION_TEMPFAIL);
	CHECK_INT_EQ(p.on_internal_error, CONFIG_ACTION_REJECT);
	/* RejectFailures no: DMARC reject is capped at quarantine */
	action_dmarc_options(&p, &o);
	CHECK_INT_EQ(o.max_policy, DMARC_POLICY_QUARANTINE);
	buf_free(&errors);
}

/* TrustedARCSealers as DMARC trusted ARC sealers; an address is refused
 * when the file is read. */
static void
test_arc_sealers(void)
{
	static const char text[] =
	    "TrustedARCSealers google.com, .Lists.Example.NET\n";
	static const char addr[] = "TrustedARCSealers 192.0.2.1\n";
	struct dmarc_forwarder f[2];
	struct config *cfg = NULL;
	const char *bad = NULL;
	struct buf errors;

	buf_init(&errors, 4096);
	CHECK_INT_EQ(
	    config_load_mem("set", text, sizeof(text) - 1, &cfg, &errors), 0);
	if (cfg == NULL)
		abort();
	CHECK_INT_EQ(action_arc_sealers(cfg, f, &bad), 2);
	CHECK_INT_EQ(f[0].family, 0);
	CHECK_STR_EQ(f[0].domain, "google.com");
	CHECK_STR_EQ(f[1].domain, ".lists.example.net");
	config_unref(cfg);
	cfg = NULL;
	CHECK_INT_EQ(
	    config_load_mem("addr", addr, sizeof(addr) - 1, &cfg, &errors),
	    -EINVAL);
	CHECK(strstr(buf_cstr(&errors), "\"192.0.2.1\": not a domain") != NULL);
	config_unref(cfg);
	buf_free(&errors);
}

int
main(void)
{
	struct action_policy defaults;

	test_from_config(&defaults);
	test_decide(&defaults);
	test_internal_error(&defaults);
	test_arc_sealers();
	CHECK_STR_EQ(action_name(ACTION_QUARANTINE), "quarantine");
	return check_summary("action");
}
