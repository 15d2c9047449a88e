/*
 * cli_verify.c -- `authmilter verify`: evaluate messages offline through
 * the same core path as the milter (verdict.h), decide what the milter
 * would do with them (action.h) and print the Authentication-Results
 * header it would add and that action, or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/action.h"
#include "authmilter/arena.h"
#include "authmilter/config.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dns.h"
#include "authmilter/failure.h"
#include "authmilter/msg.h"
#include "authmilter/orgdomain.h"
#include "authmilter/spool.h"
#include "authmilter/verdict.h"
#include "cli.h"

/* Exit statuses of verify: the action (documented in --help, README and
 * authmilter(8)); CLI_EXIT_USAGE for errors. */
#define VERIFY_EXIT_ACCEPT CLI_EXIT_OK
#define VERIFY_EXIT_REJECT CLI_EXIT_FAIL
#define VERIFY_EXIT_TEMP 3
#define VERIFY_EXIT_QUARANTINE 4

struct verify_opts {
	bool json;
	bool local;             /* --local: a local submission */
	const char *unverified; /* why the milter would not verify
	                         * this client's mail, or NULL */
	const char *spool_dir;  /* NULL: no spool records */
	struct spool_stats spool_stats;
	bool failure_reports;        /* --failure-reports */
	struct failure_options fail; /* from --config */
	const char **rcpt;           /* --rcpt-to */
	size_t n_rcpt;
	struct action_policy policy;
	struct dmarc_options dmarc;
	struct verdict_env env;
};

static void
verify_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter verify [options] FILE...\n"
	    "\n"
	    "Evaluate each message as the milter would and print the "
	    "Authentication-Results\nheader it would add and what it would do "
	    "with the message (or, with --json,\none JSON object per line).\n"
	    "\n"
	    "  --config FILE             take the policy, DNS, DKIM and DMARC "
	    "options from the\n"
	    "                            milter's configuration file "
	    "(default: built-in defaults)\n"
	    "  --local                   the message was submitted locally "
	    "(sendmail, pickup):\n"
	    "                            RequiredFrom does not apply\n"
	    "  --zone FILE               answer DNS queries from this zone "
	    "file (repeatable)\n"
	    "  --nameserver IP[@PORT]    query this server (default: "
	    "/etc/resolv.conf)\n"
	    "  --dns-time-budget SECONDS DNS time for one message in all, "
	    "as DNSTimeBudget\n"
	    "                            (default %d)\n"
	    "  --authserv-id ID          authserv-id of the header (default: "
	    "the fully\n"
	    "                            qualified host name)\n"
	    "  --now EPOCH               evaluation time (for t= and x=)\n"
	    "  --min-key-bits N          smallest RSA key accepted (default "
	    "1024)\n"
	    "  --ip ADDR                 SMTP client address (SPF is "
	    "evaluated only with it)\n"
	    "  --helo NAME               HELO/EHLO name\n"
	    "  --mail-from ADDR          MAIL FROM (\"\" or \"<>\": the null "
	    "sender)\n"
	    "  --rcpt-domain DOMAIN      recipient domain, for report "
	    "records\n"
	    "  --org-domain treewalk|psl how DMARC finds organizational "
	    "domains (default treewalk)\n"
	    "  --psl FILE                public suffix list for --org-domain "
	    "psl\n"
	    "  --required-from           reject mail without a usable From "
	    "(the default)\n"
	    "  --no-required-from        do not (RequiredFrom no)\n"
	    "  --trusted-forwarder NET   IP range or domain whose mail is not "
	    "acted on (repeatable)\n"
	    "  --trusted-arc-sealer DOMAIN  ARC sealer (.DOMAIN: and its "
	    "subdomains) whose\n"
	    "                            recorded pass overrides a DMARC "
	    "failure (repeatable)\n"
	    "  --spool DIR               append the aggregate-report records "
	    "the milter would\n"
	    "  --failure-reports         with --spool: append the failure "
	    "records the milter\n"
	    "                            would with FailureReports yes\n"
	    "  --rcpt-to ADDR            an envelope recipient, for failure "
	    "records (repeatable)\n"
	    "  --json                    JSON output\n"
	    "\n"
	    "Each FILE is one message (an mbox is refused: split it into one "
	    "file per\nmessage first).\n"
	    "\n"
	    "Exit status: what the milter would do, the strictest over all "
	    "messages:\n0 accept, 1 reject, 4 quarantine, 3 tempfail; 2 usage, "
	    "I/O, message format\nor internal error.\n",
	    CONFIG_DNS_TIME_BUDGET);
}

static json_t *
verify_json_dkim(const struct dkim_verify_result *d)
{
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:i, s:b}",
	    "result", auth_result_name(d->result), "reason", d->reason,
	    "domain", d->domain, "selector", d->selector, "algorithm",
	    d->algorithm, "identity", d->identity, "key_bits",
	    (json_int_t)d->key_bits, "testing", d->testing);
}

static json_t *
verify_json_spf(const struct verdict *v)
{
	const struct spf_result *spf = v->spf;

	if (spf == NULL)
		return json_pack("{s:b, s:s}", "evaluated", 0, "reason",
		    v->spf_skipped != NULL ? v->spf_skipped : "");
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:i, "
	                 "s:i}",
	    "evaluated", 1, "result", auth_result_name(spf->result), "identity",
	    spf_identity_name(spf->identity), "sender", spf->sender, "domain",
	    spf->domain, "mechanism", spf->mechanism, "reason", spf->reason,
	    "explanation", spf->explanation, "lookups",
	    (json_int_t)spf->lookups, "queries", (json_int_t)spf->queries);
}

static json_t *
verify_json_author(const struct dmarc_author *au)
{
	const struct dmarc_record *rec =
	    au->found != NULL ? &au->found->record : NULL;
	json_t *o, *ov = json_array();
	unsigned bit;

	for (bit = 1; bit != 0 && bit <= au->overrides; bit <<= 1)
		if ((au->overrides & bit) && dmarc_override_name(bit) != NULL)
			json_array_append_new(
			    ov, json_string(dmarc_override_name(bit)));
	o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s, s:s, "
	              "s:s, s:b, s:b, s:s?, s:s?, s:o}",
	    "domain", au->domain, "result", auth_result_name(au->result),
	    "reason", au->reason, "policy_domain", au->policy_domain,
	    "org_domain", au->org_domain, "discovery_method",
	    orgdomain_method_name(au->method), "policy_tag", au->policy_tag,
	    "requested_policy", dmarc_policy_name(au->requested),
	    "evaluated_policy", dmarc_policy_name(au->evaluated), "disposition",
	    dmarc_disposition_name(au->disposition), "dkim_aligned",
	    au->dkim_aligned, "spf_aligned", au->spf_aligned,
	    "dkim_aligned_domain", au->dkim_domain, "spf_aligned_domain",
	    au->spf_domain, "overrides", ov);
	if (o != NULL && rec != NULL && rec->status == DMARC_RECORD_OK)
		json_object_set_new(o, "record",
		    json_stringn(
		        au->found->walk.record, au->found->walk.record_len));
	return o;
}

static json_t *
verify_json_dmarc(const struct verdict *v)
{
	const struct dmarc_result *dm = v->dmarc;
	json_t *authors;
	size_t i;

	if (dm == NULL)
		return json_null();
	authors = json_array();
	for (i = 0; i < dm->author_count; i++)
		json_array_append_new(
		    authors, verify_json_author(&dm->authors[i]));
	return json_pack("{s:s, s:s, s:s, s:o}", "result",
	    auth_result_name(dm->result), "reason", dm->reason, "disposition",
	    dmarc_disposition_name(dm->disposition), "authors", authors);
}

/* The ARC chain: status, reason, instances, oldest pass, each set's
 * sealer and what its signatures gave. */
static json_t *
verify_json_arc(const struct verdict *v)
{
	const struct arc_result *a = v->arc;
	json_t *sets = json_array();
	unsigned i;

	for (i = 0; i < a->count; i++)
		json_array_append_new(sets,
		    json_pack("{s:i, s:s?, s:s?, s:s?, "
		              "s:s, s:s?, s:s, s:s?}",
		        "instance", (int)a->sets[i].instance, "sealer",
		        a->sets[i].sealer, "selector", a->sets[i].selector,
		        "ams_domain", a->sets[i].ams_domain, "ams",
		        auth_result_name(a->sets[i].ams), "ams_reason",
		        a->sets[i].ams == AUTH_NONE ? NULL : a->sets[i].ams_why,
		        "seal", auth_result_name(a->sets[i].as), "seal_reason",
		        a->sets[i].as == AUTH_NONE ? NULL : a->sets[i].as_why));
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:o}", "status",
	    auth_result_name(a->status), "reason", a->reason, "instances",
	    (int)a->count, "oldest_pass", (int)a->oldest_pass,
	    "failed_instance", (int)a->failed_instance, "sets", sets);
}

/* The From facts: the author domains and what limited them. */
static json_t *
verify_json_from(const struct verdict *v)
{
	json_t *doms = json_array();
	size_t i;

	for (i = 0; i < v->n_from; i++)
		json_array_append_new(doms, json_string(v->from_domains[i]));
	return json_pack("{s:i, s:o, s:b, s:b, s:s?}", "fields",
	    (json_int_t)v->n_from_fields, "domains", doms, "more_domains",
	    v->from_more, "invalid", v->from_invalid, "why", v->from_why);
}

/* What the milter would do: the action and, for reject and tempfail, the
 * SMTP reply it gives. */
static json_t *
verify_json_action(const struct action *act)
{
	json_t *reply = json_null();

	if (act->code != NULL)
		reply = json_pack("{s:s, s:s, s:s}", "code", act->code,
		    "enhanced_code", act->xcode, "text", act->text);
	return json_pack("{s:s, s:s?, s:s?, s:o}", "action",
	    action_name(act->kind), "why", act->why, "quarantine",
	    act->kind == ACTION_QUARANTINE ? act->text : NULL, "reply", reply);
}

static void
verify_print_text(const char *path, const struct verdict *v,
    const struct action *act, bool several)
{
	const char *p;

	if (several)
		printf("%s:\n", path);
	printf("Authentication-Results:");
	for (p = v->authres; *p != '\0'; p++)
		if (*p != '\r')
			putchar(*p);
	putchar('\n');
	printf("Action: %s", action_name(act->kind));
	if (act->code != NULL)
		printf(" %s %s %s", act->code, act->xcode, act->text);
	else if (act->text != NULL)
		printf(" (%s)", act->text);
	if (act->why != NULL)
		printf(" [%s]", act->why);
	putchar('\n');
}

static void
verify_print(const char *path, const struct verdict *v,
    const struct action *act, bool json, bool several)
{
	json_t *o, *arr;
	size_t i;
	char *s;

	if (!json) {
		verify_print_text(path, v, act, several);
		return;
	}
	arr = json_array();
	for (i = 0; i < v->n_dkim; i++)
		json_array_append_new(arr, verify_json_dkim(&v->dkim[i]));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s?, s:i, "
	              "s:s?}",
	    "file", path, "authentication_results", v->authres, "dkim", arr,
	    "spf", verify_json_spf(v), "dmarc", verify_json_dmarc(v), "arc",
	    verify_json_arc(v), "from", verify_json_from(v), "action",
	    verify_json_action(act), "header_limit", v->header_limit,
	    "header_dropped", (json_int_t)v->header_dropped, "unevaluable",
	    v->unevaluable);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s != NULL)
		puts(s);
	free(s);
	json_decref(o);
}

/* The exit status of an action. */
static int
verify_status(const struct action *act)
{
	switch (act->kind) {
	case ACTION_REJECT:
		return VERIFY_EXIT_REJECT;
	case ACTION_QUARANTINE:
		return VERIFY_EXIT_QUARANTINE;
	case ACTION_TEMPFAIL:
		return VERIFY_EXIT_TEMP;
	case ACTION_ACCEPT:
		break;
	}
	return VERIFY_EXIT_ACCEPT;
}

/* Append the verdict's report records to the spool, as the milter does. */
static int
verify_spool(struct verify_opts *o, const char *path, const struct verdict *v)
{
	size_t i;
	int r;

	if (o->spool_dir == NULL)
		return 0;
	if (o->env.client_ip == NULL) {
		fprintf(stderr,
		    "authmilter verify: %s: no spool record "
		    "without --ip (reports are by source IP)\n",
		    path);
		return 0;
	}
	for (i = 0; i < v->n_spool; i++) {
		r = spool_append(o->spool_dir, &v->spool[i], (time_t)o->env.now,
		    &o->spool_stats);
		if (r < 0) {
			fprintf(stderr,
			    "authmilter verify: %s: spool %s: "
			    "%s\n",
			    path, o->spool_dir, strerror(-r));
			return r;
		}
	}
	return 0;
}

/* Append the failure records the milter would write with FailureReports
 * yes (failure.h); body is the message's body. */
static int
verify_failure(struct verify_opts *o, const char *path, const struct verdict *v,
    const struct msg *m, const char *body, size_t body_len,
    const struct action *act, struct arena *a)
{
	struct failure_envelope env;
	struct failure_record *recs;
	const char *why = NULL;
	size_t n = 0;
	int r;

	if (!o->failure_reports || o->spool_dir == NULL)
		return 0;
	memset(&env, 0, sizeof(env));
	env.now = o->env.now;
	env.reporting_host = o->env.receiver;
	env.authserv_id = o->env.authserv_id;
	env.client_ip = o->env.client_ip;
	env.helo = o->env.helo;
	env.mail_from = o->env.mail_from;
	env.rcpt = o->rcpt;
	env.rcpt_count = o->n_rcpt;
	env.delivery_result = failure_delivery_result(
	    act->kind == ACTION_REJECT || act->kind == ACTION_TEMPFAIL,
	    act->kind == ACTION_QUARANTINE);
	env.body = (const uint8_t *)body;
	env.body_len =
	    body_len < o->fail.body_max ? body_len : o->fail.body_max;
	env.body_truncated = body_len > env.body_len;
	r = failure_records(v, m, &env, &o->fail, a, &recs, &n, &why);
	if (r == 0 && n > 0)
		r = failure_append(
		    o->spool_dir, recs, n, (time_t)o->env.now, NULL, &why);
	if (r < 0)
		fprintf(stderr, "authmilter verify: %s: failure record: %s\n",
		    path, why != NULL ? why : strerror(-r));
	else if (n == 0 && !o->json)
		fprintf(stderr,
		    "authmilter verify: %s: no failure record: "
		    "%s\n",
		    path, why);
	return r;
}

/* RFC 4155: an mbox starts with a "From " separator line, and each
 * further message follows an empty line with another. A message's header
 * cannot start so ("From" then a space is no field name). @return the
 * number of messages in an mbox, 0 when data is not one. */
static size_t
verify_mbox_count(const char *data, size_t len)
{
	size_t n = 0, i;

	if (len < 5 || memcmp(data, "From ", 5) != 0)
		return 0;
	/* i: a line end; counted when the line before it is empty (LF or
	 * CRLF) and the next starts "From " */
	for (i = 1; i + 6 < len; i++)
		if (data[i] == '\n' && memcmp(data + i + 1, "From ", 5) == 0 &&
		    (data[i - 1] == '\n' ||
		        (data[i - 1] == '\r' && i > 1 && data[i - 2] == '\n')))
			n++;
	return n + 1;
}

static int
verify_file(
    struct verify_opts *o, const char *path, bool several, struct arena *a)
{
	struct verdict_session *s;
	const struct verdict *v;
	const char *why = NULL;
	size_t len = 0, body, n;
	struct action act;
	char *data = NULL;
	struct msg m;
	int r;

	r = cli_read_file(path, &data, &len);
	if (r < 0)
		return CLI_EXIT_USAGE;
	if ((n = verify_mbox_count(data, len)) > 0) {
		fprintf(stderr,
		    "authmilter verify: %s: an mbox of %zu "
		    "message%s (it starts with a \"From \" line), not one "
		    "message: split it into one file per message\n",
		    path, n, n == 1 ? "" : "s");
		free(data);
		return CLI_EXIT_USAGE;
	}
	msg_init(&m, a);
	r = msg_parse(&m, data, len, &body, &why);
	if (r < 0) {
		fprintf(stderr, "authmilter verify: %s: not a message: %s\n",
		    path, why != NULL ? why : strerror(-r));
		free(data);
		return CLI_EXIT_USAGE;
	}
	r = verdict_begin(a, &m, &o->env, &s);
	if (r == 0)
		r = verdict_body(s, data + body, len - body);
	if (r == 0)
		r = verdict_finish(s, &v);
	if (r == 0)
		r = action_decide(v, &o->policy, o->local, a, &act);
	if (r == 0 && o->unverified == NULL &&
	    verify_failure(o, path, v, &m, data + body, len - body, &act, a) <
	        0)
		r = 0; /* said on stderr; the verdict stands */
	if (r == 0 && o->unverified != NULL) {
		/* the milter accepts it unchanged; the verdict is shown all
		 * the same */
		memset(&act, 0, sizeof(act));
		act.why = o->unverified;
	}
	free(data);
	if (r < 0) {
		/* ours, not the message's: the milter would take
		 * OnInternalError's action */
		action_internal_error(&o->policy, &act);
		fprintf(stderr,
		    "authmilter verify: %s: evaluation failed: "
		    "%s (the milter would %s)\n",
		    path, strerror(-r), action_name(act.kind));
		return CLI_EXIT_USAGE;
	}
	verify_print(path, v, &act, o->json, several);
	if (verify_spool(o, path, v) < 0)
		return CLI_EXIT_USAGE;
	return verify_status(&act);
}

/* Build the resolver: zone files, or a stub resolver, behind a cache
 * (cli.h). */
struct dns_resolver *
cli_resolver(char **zones, size_t nzones, const char *nameserver)
{
	struct dns_ldns_options lo;
	struct dns_resolver *r = NULL;
	const char *why = NULL;
	char *zwhy = NULL;
	size_t i;

	if (nzones > 0) {
		r = dns_zone_new();
		for (i = 0; i < nzones; i++) {
			if (dns_zone_load(r, zones[i], &zwhy) < 0) {
				fprintf(stderr, "authmilter verify: %s\n",
				    zwhy != NULL ? zwhy : zones[i]);
				free(zwhy);
				dns_resolver_free(r);
				return NULL;
			}
		}
		return r;
	}
	memset(&lo, 0, sizeof(lo));
	lo.nameservers = nameserver;
	if (dns_ldns_new(&lo, &r, &why) < 0) {
		fprintf(stderr, "authmilter verify: resolver: %s\n",
		    why != NULL ? why : "cannot be set up");
		return NULL;
	}
	return dns_cache_new(r, 4096);
}

struct verify_args {
	char **zones;
	size_t nzones;
	const char *nameserver;
	struct orgdomain_options org;
	bool org_given;             /* --org-domain or --psl */
	struct dmarc_forwarder *fw; /* argc + 1 entries */
	size_t nfw;
	const char *config_path; /* --config */
	int required_from;       /* -1 as configured, 0 no, 1 yes */
	struct config *cfg;
	char *nameservers;               /* the config's, as one string */
	struct dmarc_forwarder *sealers; /* argc + the config's */
	size_t nsealers;
};

/*
 * The options, one function per group. Each takes the option c with its
 * argument arg. @return 0 when it took the option, 1 when c is not one
 * of its group, -EINVAL for a bad value (the caller names the option).
 */

/* DNS: where answers come from, and the time they may take */
static int
verify_opt_dns(
    int c, char *arg, struct verify_opts *o, struct verify_args *args)
{
	unsigned long n;
	char *end;

	switch (c) {
	case 'z':
		args->zones[args->nzones++] = arg;
		return 0;
	case 'n':
		args->nameserver = arg;
		return 0;
	case 'B':
		n = strtoul(arg, &end, 10);
		if (*end != '\0' || n < 1 || n > 3600)
			return -EINVAL;
		o->env.dns_budget_ms = (unsigned)n * 1000;
		return 0;
	}
	return 1;
}

/* the SMTP facts of the message, as the milter would see them */
static int
verify_opt_smtp(
    int c, char *arg, struct verify_opts *o, struct verify_args *args)
{
	struct spf_ip ip;

	switch (c) {
	case 'i':
		if (spf_ip_parse(arg, &ip) < 0)
			return -EINVAL;
		o->env.client_ip = arg;
		return 0;
	case 'H':
		o->env.helo = arg;
		return 0;
	case 'f':
		o->env.mail_from = arg;
		return 0;
	case 'r':
		o->env.envelope_to = arg;
		return 0;
	case 'L':
		o->local = true;
		return 0;
	case 'C':
		o->rcpt[o->n_rcpt++] = arg;
		return 0;
	}
	return 1;
}

/* the configuration, and what overrides it */
static int
verify_opt_policy(
    int c, char *arg, struct verify_opts *o, struct verify_args *args)
{
	switch (c) {
	case 'c':
		args->config_path = arg;
		return 0;
	case 'R':
	case 'X':
		args->required_from = c == 'R';
		return 0;
	case 'T':
		if (dmarc_forwarder_parse(arg, &args->fw[args->nfw]) < 0)
			return -EINVAL;
		args->nfw++;
		return 0;
	case 'a':
		if (dmarc_forwarder_parse(arg, &args->sealers[args->nsealers]) <
		        0 ||
		    args->sealers[args->nsealers].family != 0)
			return -EINVAL;
		args->nsealers++;
		return 0;
	case 'O':
		if (orgdomain_method_parse(arg, &args->org.method) < 0)
			return -EINVAL;
		args->org_given = true;
		return 0;
	case 'P':
		args->org.psl_path = arg;
		args->org_given = true;
		return 0;
	}
	return 1;
}

/* the evaluation itself: clock, key size, authserv-id; and the output */
static int
verify_opt_eval(
    int c, char *arg, struct verify_opts *o, struct verify_args *args)
{
	char *end;

	switch (c) {
	case 'N':
		o->env.now = strtoll(arg, &end, 10);
		return *end != '\0' || o->env.now < 0 ? -EINVAL : 0;
	case 'b':
		o->env.min_rsa_bits = (unsigned)strtoul(arg, &end, 10);
		return *end != '\0' || o->env.min_rsa_bits < 512 ? -EINVAL : 0;
	case 'A':
		o->env.authserv_id = arg;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	case 'S':
		o->spool_dir = arg;
		return 0;
	case 'F':
		o->failure_reports = true;
		return 0;
	}
	return 1;
}

static int (*const verify_opt_groups[])(
    int, char *, struct verify_opts *, struct verify_args *) = {
    verify_opt_dns,
    verify_opt_smtp,
    verify_opt_policy,
    verify_opt_eval,
};

/* Parse the options into o and args.
 * @return 0 to go on, 1 after --help, -1 on a usage error (printed). */
static int
verify_parse(
    int argc, char **argv, struct verify_opts *o, struct verify_args *args)
{
	static const struct option longopts[] = {
	    {"zone", required_argument, NULL, 'z'},
	    {"nameserver", required_argument, NULL, 'n'},
	    {"dns-time-budget", required_argument, NULL, 'B'},
	    {"authserv-id", required_argument, NULL, 'A'},
	    {"now", required_argument, NULL, 'N'},
	    {"min-key-bits", required_argument, NULL, 'b'},
	    {"json", no_argument, NULL, 'j'},
	    {"ip", required_argument, NULL, 'i'},
	    {"helo", required_argument, NULL, 'H'},
	    {"mail-from", required_argument, NULL, 'f'},
	    {"rcpt-domain", required_argument, NULL, 'r'},
	    {"org-domain", required_argument, NULL, 'O'},
	    {"psl", required_argument, NULL, 'P'},
	    {"required-from", no_argument, NULL, 'R'},
	    {"no-required-from", no_argument, NULL, 'X'},
	    {"config", required_argument, NULL, 'c'},
	    {"local", no_argument, NULL, 'L'},
	    {"trusted-forwarder", required_argument, NULL, 'T'},
	    {"trusted-arc-sealer", required_argument, NULL, 'a'},
	    {"spool", required_argument, NULL, 'S'},
	    {"failure-reports", no_argument, NULL, 'F'},
	    {"rcpt-to", required_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	size_t i;
	int c, r, idx = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		if (c == 'h') {
			verify_usage(stdout);
			return 1;
		}
		r = 1;
		for (i = 0; r == 1 && i < sizeof(verify_opt_groups) /
		                              sizeof(verify_opt_groups[0]);
		     i++)
			r = verify_opt_groups[i](c, optarg, o, args);
		if (r < 0) {
			fprintf(stderr,
			    "authmilter verify: --%s \"%s\": "
			    "invalid value (authmilter verify --help)\n",
			    longopts[idx].name, optarg);
			return -1;
		}
		if (r != 0) { /* getopt has said what was wrong */
			verify_usage(stderr);
			return -1;
		}
	}
	if (optind >= argc || (args->nzones > 0 && args->nameserver != NULL)) {
		verify_usage(stderr);
		return -1;
	}
	return 0;
}

/* How strict an exit status is: usage > reject > quarantine > tempfail
 * > accept. */
static int
verify_rank(int status)
{
	switch (status) {
	case CLI_EXIT_USAGE:
		return 4;
	case VERIFY_EXIT_REJECT:
		return 3;
	case VERIFY_EXIT_QUARANTINE:
		return 2;
	case VERIFY_EXIT_TEMP:
		return 1;
	default:
		return 0;
	}
}

/* Evaluate every file; the strictest status wins. */
static int
verify_files(struct verify_opts *o, int argc, char **argv)
{
	struct arena *a = arena_new(65536);
	int i, st, status = VERIFY_EXIT_ACCEPT;

	if (a == NULL)
		return CLI_EXIT_USAGE;
	for (i = optind; i < argc; i++) {
		st = verify_file(o, argv[i], argc - optind > 1, a);
		arena_reset(a);
		if (verify_rank(st) > verify_rank(status))
			status = st;
	}
	arena_free(a);
	return status;
}

/* The configuration: --config's file, or the built-in defaults (what
 * the milter runs with when its file says nothing). */
static int
verify_config(struct verify_args *args)
{
	struct buf errors, ns;
	const struct config *c;
	int r;

	buf_init(&errors, 65536);
	if (args->config_path != NULL)
		r = config_load(args->config_path, &args->cfg, &errors);
	else
		r = config_load_mem("(defaults)", "", 0, &args->cfg, &errors);
	if (r < 0) {
		fprintf(stderr,
		    "%sauthmilter verify: %s: cannot use the "
		    "configuration\n",
		    buf_cstr(&errors),
		    args->config_path != NULL ? args->config_path
		                              : "(defaults)");
		buf_free(&errors);
		return r;
	}
	buf_free(&errors);
	c = args->cfg;
	if (args->config_path == NULL || c->n_nameservers == 0)
		return 0;
	buf_init(&ns, 4096);
	if ((r = config_nameservers(c, &ns)) == 0)
		args->nameservers = buf_steal(&ns, NULL);
	buf_free(&ns);
	return r;
}

/* What the milter takes from the configuration, unless the command line
 * said otherwise: the action policy (RequiredFrom from --[no-]required-
 * from), the DMARC options with the trusted forwarders (--ip matched
 * against TrustedForwarders, as the milter matches its client, and every
 * --trusted-forwarder), and the DKIM and DMARC options of verdict_env. */
static void
verify_apply_config(struct verify_opts *o, struct verify_args *args)
{
	const struct config *c = args->cfg;
	bool given = args->config_path != NULL;
	const struct table_ip *cip = NULL;
	struct table_ip ip;

	action_policy_from_config(c, &o->policy);
	if (o->env.client_ip != NULL &&
	    table_ip_parse(o->env.client_ip, &ip) == 0)
		cip = &ip;
	/* as the milter: a submitting client (InternalHosts, a local
	 * submission) is never ignored */
	o->unverified = action_unverified(
	    c, cip, NULL, o->local || config_is_internal(c, cip, NULL));
	if (args->required_from >= 0)
		o->policy.required_from = args->required_from == 1;
	action_dmarc_options(&o->policy, &o->dmarc);
	if (action_forwarder(c, o->env.client_ip, NULL, &args->fw[args->nfw]))
		args->nfw++;
	o->dmarc.forwarders = args->fw;
	o->dmarc.forwarder_count = args->nfw;
	o->env.dmarc = &o->dmarc;
	/* AuthservID, or the milter's default (the fully qualified host
	 * name, authmilter.conf(5)) */
	if (o->env.authserv_id == NULL)
		o->env.authserv_id = c->authserv_id;
	o->env.receiver = c->authserv_id;
	o->env.max_signatures = c->max_signatures;
	if (o->env.min_rsa_bits == 0)
		o->env.min_rsa_bits = c->min_key_bits;
	o->env.allow_partial_body = c->body_length == CONFIG_BODY_LENGTH_ACCEPT;
	if (given && !args->org_given) {
		args->org.method = c->org_domain == CONFIG_ORGDOMAIN_PSL
		                       ? ORGDOMAIN_PSL
		                       : ORGDOMAIN_TREEWALK;
		args->org.psl_path = c->public_suffix_list;
	}
	if (args->nzones == 0 && args->nameserver == NULL)
		args->nameserver = args->nameservers;
	/* DNSTimeBudget, unless --dns-time-budget said otherwise */
	if (o->env.dns_budget_ms == 0)
		o->env.dns_budget_ms = c->dns_time_budget * 1000;
}

/* The trusted ARC sealers: every --trusted-arc-sealer and the
 * configuration's TrustedARCSealers, as the milter has them. */
static int
verify_arc_sealers(struct verify_opts *o, struct verify_args *args)
{
	size_t n = args->cfg->trusted_arc_sealers.n;
	struct dmarc_forwarder *all;
	const char *bad = NULL;
	int r;

	all = reallocarray(args->sealers, args->nsealers + n + 1, sizeof(*all));
	if (all == NULL)
		return -ENOMEM;
	args->sealers = all;
	if ((r = action_arc_sealers(args->cfg, all + args->nsealers, &bad)) <
	    0) {
		fprintf(stderr,
		    "authmilter verify: %s: TrustedARCSealers: "
		    "\"%s\": not a domain\n",
		    args->config_path, bad);
		return r;
	}
	args->nsealers += (size_t)r;
	o->dmarc.arc_sealers = all;
	o->dmarc.arc_sealer_count = args->nsealers;
	return 0;
}

int
cli_verify(int argc, char **argv)
{
	struct verify_args args;
	struct orgdomain *org = NULL;
	struct verify_opts o;
	const char *why = NULL;
	int r, status = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	memset(&args, 0, sizeof(args));
	args.required_from = -1;
	o.env.now = (int64_t)time(NULL);
	args.org.method = ORGDOMAIN_TREEWALK;
	args.zones = calloc((size_t)argc, sizeof(*args.zones));
	args.fw = calloc((size_t)argc + 1, sizeof(*args.fw));
	args.sealers = calloc((size_t)argc, sizeof(*args.sealers));
	o.rcpt = calloc((size_t)argc, sizeof(*o.rcpt));
	if (args.zones == NULL || args.fw == NULL || args.sealers == NULL ||
	    o.rcpt == NULL)
		goto out;
	r = verify_parse(argc, argv, &o, &args);
	if (r != 0) {
		status = r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	if (verify_config(&args) < 0)
		goto out;
	verify_apply_config(&o, &args);
	if (verify_arc_sealers(&o, &args) < 0)
		goto out;
	if (o.failure_reports &&
	    failure_options_from_config(args.cfg, &o.fail) < 0)
		goto out;
	if (o.env.envelope_to == NULL && o.n_rcpt > 0) {
		const char *at = strrchr(o.rcpt[0], '@');

		static char dom[BOUND_DOMAIN_LEN + 1];

		snprintf(dom, sizeof(dom), "%.*s",
		    at != NULL ? (int)strcspn(at + 1, ">") : 0,
		    at != NULL ? at + 1 : "");
		o.env.envelope_to = dom[0] != '\0' ? dom : NULL;
	}
	if (orgdomain_new(&args.org, &org, &why) < 0) {
		fprintf(stderr, "authmilter verify: public suffix list: %s\n",
		    why != NULL ? why : "cannot be loaded");
		goto out;
	}
	o.env.org = org;
	o.env.resolver = cli_resolver(args.zones, args.nzones, args.nameserver);
	if (o.env.resolver == NULL)
		goto out;
	o.env.key_cache = dkim_key_cache_new(1024);
	if (o.env.client_ip == NULL && !o.json)
		fprintf(stderr, "authmilter verify: SPF not evaluated "
		                "(no --ip)\n");
	status = verify_files(&o, argc, argv);
out:
	dns_resolver_free(o.env.resolver);
	dkim_key_cache_free(o.env.key_cache);
	orgdomain_free(org);
	config_unref(args.cfg);
	free(args.nameservers);
	free(args.zones);
	free(args.fw);
	free(args.sealers);
	free(o.rcpt);
	failure_options_free(&o.fail);
	return status;
}
