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
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/verdict.h"
#include "cli.h"

/* Exit statuses of verify, documented in --help and README. */
#define VERIFY_EXIT_TEMP 3

struct verify_opts {
	bool json;
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
	    "  --authserv-id ID          authserv-id of the header (default: "
	    "host name)\n"
	    "  --now EPOCH               evaluation time (for t= and x=)\n"
	    "  --min-key-bits N          smallest RSA key accepted (default "
	    "1024)\n"
	    "  --json                    JSON output\n"
	    "\n"
	    "Exit status: 0 every message evaluated and nothing failed; 1 some "
	    "result was\nfail, permerror or policy; 3 a temporary error (DNS) "
	    "and no failure;\n2 usage, I/O or message format error.\n");
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
	o = json_pack("{s:s, s:s, s:o}", "file", path,
	    "authentication_results", v->authres, "dkim", arr);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	if (s != NULL)
		puts(s);
	free(s);
	json_decref(o);
}

/* Exit status contribution of one verdict. */
static int
verify_status(const struct verdict *v)
{
	bool temp = false;
	size_t i;

	for (i = 0; i < v->n_dkim; i++) {
		switch (v->dkim[i].result) {
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
	return temp ? VERIFY_EXIT_TEMP : CLI_EXIT_OK;
}

static int
verify_file(const struct verify_opts *o, const char *path, bool several,
    struct arena *a)
{
	struct verdict_session *s;
	const struct verdict *v;
	const char *why = NULL;
	size_t len = 0, body;
	char *data = NULL;
	struct msg m;
	int r;

	r = cli_read_file(path, &data, &len);
	if (r < 0)
		return CLI_EXIT_USAGE;
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
	return verify_status(v);
}

/* Build the resolver: zone files, or a stub resolver, behind a cache. */
static struct dns_resolver *
verify_resolver(char **zones, size_t nzones, const char *nameserver)
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

int
cli_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "zone", required_argument, NULL, 'z' },
		{ "nameserver", required_argument, NULL, 'n' },
		{ "authserv-id", required_argument, NULL, 'A' },
		{ "now", required_argument, NULL, 'N' },
		{ "min-key-bits", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *nameserver = NULL;
	struct verify_opts o;
	struct arena *a;
	char host[256], *end, **zones;
	size_t nzones = 0;
	int c, i, st, status = CLI_EXIT_OK;

	memset(&o, 0, sizeof(o));
	o.env.now = (int64_t)time(NULL);
	zones = calloc((size_t)argc, sizeof(*zones));
	if (zones == NULL)
		return CLI_EXIT_USAGE;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'z':
			zones[nzones++] = optarg;
			break;
		case 'n':
			nameserver = optarg;
			break;
		case 'A':
			o.env.authserv_id = optarg;
			break;
		case 'N':
			o.env.now = strtoll(optarg, &end, 10);
			if (*end != '\0' || o.env.now < 0) {
				fprintf(stderr, "authmilter verify: --now "
				    "\"%s\": want seconds since the epoch\n",
				    optarg);
				free(zones);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'b':
			o.env.min_rsa_bits = (unsigned)strtoul(optarg, &end,
			    10);
			if (*end != '\0' || o.env.min_rsa_bits < 512) {
				fprintf(stderr, "authmilter verify: "
				    "--min-key-bits \"%s\": want a number "
				    ">= 512\n", optarg);
				free(zones);
				return CLI_EXIT_USAGE;
			}
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			verify_usage(stdout);
			free(zones);
			return CLI_EXIT_OK;
		default:
			verify_usage(stderr);
			free(zones);
			return CLI_EXIT_USAGE;
		}
	}
	if (optind >= argc || (nzones > 0 && nameserver != NULL)) {
		verify_usage(stderr);
		free(zones);
		return CLI_EXIT_USAGE;
	}
	if (o.env.authserv_id == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		o.env.authserv_id = host;
	}
	o.env.resolver = verify_resolver(zones, nzones, nameserver);
	free(zones);
	a = arena_new(65536);
	if (o.env.resolver == NULL || a == NULL) {
		dns_resolver_free(o.env.resolver);
		arena_free(a);
		return CLI_EXIT_USAGE;
	}
	for (i = optind; i < argc; i++) {
		st = verify_file(&o, argv[i], argc - optind > 1, a);
		arena_reset(a);
		/* the worst status wins: usage > fail > temp > ok */
		if (st == CLI_EXIT_USAGE || status == CLI_EXIT_USAGE)
			status = CLI_EXIT_USAGE;
		else if (st == CLI_EXIT_FAIL || status == CLI_EXIT_FAIL)
			status = CLI_EXIT_FAIL;
		else if (st == VERIFY_EXIT_TEMP)
			status = VERIFY_EXIT_TEMP;
	}
	arena_free(a);
	dns_resolver_free(o.env.resolver);
	return status;
}
