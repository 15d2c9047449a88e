/*
 * cli_verify.c -- `authmilter verify`: evaluate messages offline through
 * the same core path as the milter (verdict.h) and print the
 * Authentication-Results header it would add, or JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/arena.h"
#include "authmilter/config.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/orgdomain.h"
#include "authmilter/spool.h"
#include "authmilter/verdict.h"
#include "cli.h"

/* Exit statuses of verify, documented in --help and README. */
#define VERIFY_EXIT_TEMP 3

struct verify_opts {
	bool json;
	const char *spool_dir;		/* NULL: no spool records */
	struct spool_stats spool_stats;
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
	    "Authentication-Results\nheader it would add (or, with --json, one "
	    "JSON object per line).\n"
	    "\n"
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
	    "  --required-from           reject (disposition) mail without a "
	    "usable From\n"
	    "  --trusted-forwarder NET   IP range or domain whose mail is not "
	    "acted on (repeatable)\n"
	    "  --trusted-arc-sealer DOMAIN  ARC sealer (.DOMAIN: and its "
	    "subdomains) whose\n"
	    "                            recorded pass overrides a DMARC "
	    "failure (repeatable)\n"
	    "  --spool DIR               append the aggregate-report records "
	    "the milter would\n"
	    "  --json                    JSON output\n"
	    "\n"
	    "Each FILE is one message (an mbox is refused: split it into one "
	    "file per\nmessage first).\n"
	    "\n"
	    "Exit status: 0 every message evaluated and nothing failed; 1 a "
	    "DKIM signature\nor DMARC failed (fail, permerror, policy), or "
	    "the DMARC disposition is reject\nor quarantine; 3 a temporary "
	    "error (DNS) and no failure; 2 usage, I/O or\nmessage format "
	    "error.\n", CONFIG_DNS_TIME_BUDGET);
}

static json_t *
verify_json_dkim(const struct dkim_verify_result *d)
{
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:i, s:b}",
	    "result", auth_result_name(d->result),
	    "reason", d->reason,
	    "domain", d->domain,
	    "selector", d->selector,
	    "algorithm", d->algorithm,
	    "identity", d->identity,
	    "key_bits", (json_int_t)d->key_bits,
	    "testing", d->testing);
}

static json_t *
verify_json_spf(const struct verdict *v)
{
	const struct spf_result *spf = v->spf;

	if (spf == NULL)
		return json_pack("{s:b, s:s}", "evaluated", 0, "reason",
		    v->spf_skipped != NULL ? v->spf_skipped : "");
	return json_pack("{s:b, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:i, "
	    "s:i}", "evaluated", 1,
	    "result", auth_result_name(spf->result),
	    "identity", spf_identity_name(spf->identity),
	    "sender", spf->sender,
	    "domain", spf->domain,
	    "mechanism", spf->mechanism,
	    "reason", spf->reason,
	    "explanation", spf->explanation,
	    "lookups", (json_int_t)spf->lookups,
	    "queries", (json_int_t)spf->queries);
}

static json_t *
verify_json_author(const struct dmarc_author *au)
{
	const struct dmarc_record *rec = au->found != NULL ?
	    &au->found->record : NULL;
	json_t *o, *ov = json_array();
	unsigned bit;

	for (bit = 1; bit != 0 && bit <= au->overrides; bit <<= 1)
		if ((au->overrides & bit) && dmarc_override_name(bit) != NULL)
			json_array_append_new(ov,
			    json_string(dmarc_override_name(bit)));
	o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s, s:s, "
	    "s:s, s:b, s:b, s:s?, s:s?, s:o}",
	    "domain", au->domain,
	    "result", auth_result_name(au->result),
	    "reason", au->reason,
	    "policy_domain", au->policy_domain,
	    "org_domain", au->org_domain,
	    "discovery_method", orgdomain_method_name(au->method),
	    "policy_tag", au->policy_tag,
	    "requested_policy", dmarc_policy_name(au->requested),
	    "evaluated_policy", dmarc_policy_name(au->evaluated),
	    "disposition", dmarc_disposition_name(au->disposition),
	    "dkim_aligned", au->dkim_aligned,
	    "spf_aligned", au->spf_aligned,
	    "dkim_aligned_domain", au->dkim_domain,
	    "spf_aligned_domain", au->spf_domain,
	    "overrides", ov);
	if (o != NULL && rec != NULL && rec->status == DMARC_RECORD_OK)
		json_object_set_new(o, "record", json_stringn(
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
		json_array_append_new(authors,
		    verify_json_author(&dm->authors[i]));
	return json_pack("{s:s, s:s, s:s, s:o}",
	    "result", auth_result_name(dm->result),
	    "reason", dm->reason,
	    "disposition", dmarc_disposition_name(dm->disposition),
	    "authors", authors);
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
		json_array_append_new(sets, json_pack("{s:i, s:s?, s:s?, s:s?, "
		    "s:s, s:s?, s:s, s:s?}",
		    "instance", (int)a->sets[i].instance,
		    "sealer", a->sets[i].sealer,
		    "selector", a->sets[i].selector,
		    "ams_domain", a->sets[i].ams_domain,
		    "ams", auth_result_name(a->sets[i].ams),
		    "ams_reason", a->sets[i].ams == AUTH_NONE ? NULL :
		    a->sets[i].ams_why,
		    "seal", auth_result_name(a->sets[i].as),
		    "seal_reason", a->sets[i].as == AUTH_NONE ? NULL :
		    a->sets[i].as_why));
	return json_pack("{s:s, s:s, s:i, s:i, s:i, s:o}",
	    "status", auth_result_name(a->status),
	    "reason", a->reason,
	    "instances", (int)a->count,
	    "oldest_pass", (int)a->oldest_pass,
	    "failed_instance", (int)a->failed_instance,
	    "sets", sets);
}

static void
verify_print(const char *path, const struct verdict *v, bool json,
    bool several)
{
	json_t *o, *arr;
	const char *p;
	size_t i;
	char *s;

	if (!json) {
		if (several)
			printf("%s:\n", path);
		printf("Authentication-Results:");
		for (p = v->authres; *p != '\0'; p++)
			if (*p != '\r')
				putchar(*p);
		putchar('\n');
		return;
	}
	arr = json_array();
	for (i = 0; i < v->n_dkim; i++)
		json_array_append_new(arr, verify_json_dkim(&v->dkim[i]));
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "file", path,
	    "authentication_results", v->authres, "dkim", arr,
	    "spf", verify_json_spf(v), "dmarc", verify_json_dmarc(v),
	    "arc", verify_json_arc(v));
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s != NULL)
		puts(s);
	free(s);
	json_decref(o);
}

/* The exit status one verdict asks for. */
static int
verify_status(const struct verdict *v)
{
	bool temp = false;
	size_t i;

	for (i = 0; i <= v->n_dkim; i++) {
		enum auth_result r = i < v->n_dkim ? v->dkim[i].result :
		    v->dmarc != NULL ? v->dmarc->result : AUTH_NONE;

		switch (r) {
		case AUTH_FAIL:
		case AUTH_PERMERROR:
		case AUTH_POLICY:
			return CLI_EXIT_FAIL;
		case AUTH_TEMPERROR:
			temp = true;
			break;
		default:
			break;
		}
	}
	/* RequiredFrom rejects without a DMARC failure */
	if (v->dmarc != NULL && (v->dmarc->disposition == DMARC_DISP_REJECT ||
	    v->dmarc->disposition == DMARC_DISP_QUARANTINE))
		return CLI_EXIT_FAIL;
	return temp ? VERIFY_EXIT_TEMP : CLI_EXIT_OK;
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
		fprintf(stderr, "authmilter verify: %s: no spool record "
		    "without --ip (reports are by source IP)\n", path);
		return 0;
	}
	for (i = 0; i < v->n_spool; i++) {
		r = spool_append(o->spool_dir, &v->spool[i],
		    (time_t)o->env.now, &o->spool_stats);
		if (r < 0) {
			fprintf(stderr, "authmilter verify: %s: spool %s: "
			    "%s\n", path, o->spool_dir, strerror(-r));
			return r;
		}
	}
	return 0;
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
		    (data[i - 1] == '\n' || (data[i - 1] == '\r' && i > 1 &&
		    data[i - 2] == '\n')))
			n++;
	return n + 1;
}

static int
verify_file(struct verify_opts *o, const char *path, bool several,
    struct arena *a)
{
	struct verdict_session *s;
	const struct verdict *v;
	const char *why = NULL;
	size_t len = 0, body, n;
	char *data = NULL;
	struct msg m;
	int r;

	r = cli_read_file(path, &data, &len);
	if (r < 0)
		return CLI_EXIT_USAGE;
	if ((n = verify_mbox_count(data, len)) > 0) {
		fprintf(stderr, "authmilter verify: %s: an mbox of %zu "
		    "message%s (it starts with a \"From \" line), not one "
		    "message: split it into one file per message\n", path, n,
		    n == 1 ? "" : "s");
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
	free(data);
	if (r < 0) {
		fprintf(stderr, "authmilter verify: %s: evaluation failed: "
		    "%s\n", path, strerror(-r));
		return CLI_EXIT_USAGE;
	}
	verify_print(path, v, o->json, several);
	if (verify_spool(o, path, v) < 0)
		return CLI_EXIT_USAGE;
	return verify_status(v);
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
	struct dmarc_forwarder *fw;
	struct dmarc_forwarder *sealers;
};

/* Parse the options into o and args.
 * @return 0 to go on, 1 after --help, -1 on a usage error (printed). */
static int
verify_parse(int argc, char **argv, struct verify_opts *o,
    struct verify_args *args)
{
	static const struct option longopts[] = {
		{ "zone", required_argument, NULL, 'z' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "dns-time-budget", required_argument, NULL, 'B' },
		{ "authserv-id", required_argument, NULL, 'A' },
		{ "now", required_argument, NULL, 'N' },
		{ "min-key-bits", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "ip", required_argument, NULL, 'i' },
		{ "helo", required_argument, NULL, 'H' },
		{ "mail-from", required_argument, NULL, 'f' },
		{ "rcpt-domain", required_argument, NULL, 'r' },
		{ "org-domain", required_argument, NULL, 'O' },
		{ "psl", required_argument, NULL, 'P' },
		{ "required-from", no_argument, NULL, 'R' },
		{ "trusted-forwarder", required_argument, NULL, 'T' },
		{ "trusted-arc-sealer", required_argument, NULL, 'a' },
		{ "spool", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct spf_ip ip;
	unsigned long n;
	char *end;
	int c, idx = 0;

	while ((c = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
		switch (c) {
		case 'z':
			args->zones[args->nzones++] = optarg;
			break;
		case 'n':
			args->nameserver = optarg;
			break;
		case 'B':
			n = strtoul(optarg, &end, 10);
			if (*end != '\0' || n < 1 || n > 3600)
				goto bad;
			o->env.dns_budget_ms = (unsigned)n * 1000;
			break;
		case 'A':
			o->env.authserv_id = optarg;
			break;
		case 'N':
			o->env.now = strtoll(optarg, &end, 10);
			if (*end != '\0' || o->env.now < 0)
				goto bad;
			break;
		case 'b':
			o->env.min_rsa_bits = (unsigned)strtoul(optarg, &end,
			    10);
			if (*end != '\0' || o->env.min_rsa_bits < 512)
				goto bad;
			break;
		case 'j':
			o->json = true;
			break;
		case 'i':
			if (spf_ip_parse(optarg, &ip) < 0)
				goto bad;
			o->env.client_ip = optarg;
			break;
		case 'H':
			o->env.helo = optarg;
			break;
		case 'f':
			o->env.mail_from = optarg;
			break;
		case 'r':
			o->env.envelope_to = optarg;
			break;
		case 'O':
			if (strcmp(optarg, "psl") == 0)
				args->org.method = ORGDOMAIN_PSL;
			else if (strcmp(optarg, "treewalk") != 0)
				goto bad;
			break;
		case 'P':
			args->org.psl_path = optarg;
			break;
		case 'R':
			o->dmarc.require_from = true;
			break;
		case 'T':
			if (dmarc_forwarder_parse(optarg,
			    &args->fw[o->dmarc.forwarder_count]) < 0)
				goto bad;
			o->dmarc.forwarder_count++;
			break;
		case 'a':
			if (dmarc_forwarder_parse(optarg,
			    &args->sealers[o->dmarc.arc_sealer_count]) < 0 ||
			    args->sealers[o->dmarc.arc_sealer_count].family != 0)
				goto bad;
			o->dmarc.arc_sealer_count++;
			break;
		case 'S':
			o->spool_dir = optarg;
			break;
		case 'h':
			verify_usage(stdout);
			return 1;
		default:
			verify_usage(stderr);
			return -1;
		}
	}
	if (optind >= argc || (args->nzones > 0 && args->nameserver != NULL)) {
		verify_usage(stderr);
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "authmilter verify: --%s \"%s\": invalid value "
	    "(authmilter verify --help)\n", longopts[idx].name, optarg);
	return -1;
}

/* Evaluate every file; the worst status wins: usage > fail > temp > ok. */
static int
verify_files(struct verify_opts *o, int argc, char **argv)
{
	struct arena *a = arena_new(65536);
	int i, st, status = CLI_EXIT_OK;

	if (a == NULL)
		return CLI_EXIT_USAGE;
	for (i = optind; i < argc; i++) {
		st = verify_file(o, argv[i], argc - optind > 1, a);
		arena_reset(a);
		if (st == CLI_EXIT_USAGE || status == CLI_EXIT_USAGE)
			status = CLI_EXIT_USAGE;
		else if (st == CLI_EXIT_FAIL || status == CLI_EXIT_FAIL)
			status = CLI_EXIT_FAIL;
		else if (st == VERIFY_EXIT_TEMP)
			status = VERIFY_EXIT_TEMP;
	}
	arena_free(a);
	return status;
}

int
cli_verify(int argc, char **argv)
{
	struct verify_args args;
	struct orgdomain *org = NULL;
	struct verify_opts o;
	const char *why = NULL;
	char *host = NULL;
	int r, status = CLI_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	memset(&args, 0, sizeof(args));
	dmarc_options_init(&o.dmarc);
	o.env.now = (int64_t)time(NULL);
	o.env.dns_budget_ms = CONFIG_DNS_TIME_BUDGET * 1000;
	args.org.method = ORGDOMAIN_TREEWALK;
	args.zones = calloc((size_t)argc, sizeof(*args.zones));
	args.fw = calloc((size_t)argc, sizeof(*args.fw));
	args.sealers = calloc((size_t)argc, sizeof(*args.sealers));
	if (args.zones == NULL || args.fw == NULL || args.sealers == NULL)
		goto out;
	o.dmarc.forwarders = args.fw;
	o.dmarc.arc_sealers = args.sealers;
	r = verify_parse(argc, argv, &o, &args);
	if (r != 0) {
		status = r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	/* the milter's default (authmilter.conf(5), AuthservID) */
	host = config_default_authserv_id();
	if (o.env.authserv_id == NULL)
		o.env.authserv_id = host;
	o.env.receiver = host;
	o.env.dmarc = &o.dmarc;
	if (orgdomain_new(&args.org, &org, &why) < 0) {
		fprintf(stderr, "authmilter verify: public suffix list: %s\n",
		    why != NULL ? why : "cannot be loaded");
		goto out;
	}
	o.env.org = org;
	o.env.resolver = cli_resolver(args.zones, args.nzones,
	    args.nameserver);
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
	free(args.zones);
	free(args.fw);
	free(args.sealers);
	free(host);
	return status;
}
