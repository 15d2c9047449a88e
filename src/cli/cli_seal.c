/*
 * cli_seal.c -- `authmilter seal`: validate a message's ARC chain,
 * compute our Authentication-Results as the milter does (verdict.h), and
 * print the message with a new ARC set (RFC 8617) and that header on top.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/arc.h"
#include "authmilter/arena.h"
#include "authmilter/config.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/orgdomain.h"
#include "authmilter/spf.h"
#include "authmilter/verdict.h"
#include "cli.h"

static void
seal_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter seal -d DOMAIN -s SELECTOR -k KEYFILE "
	    "--authserv-id ID [options]\n"
	    "       [FILE|-]\n"
	    "\n"
	    "Validate the ARC chain of FILE (default: standard input), "
	    "evaluate it as the\nmilter would, and print it with a new ARC "
	    "set (ARC-Seal, ARC-Message-Signature,\nARC-Authentication-"
	    "Results: our Authentication-Results with i=N+1) and that\n"
	    "Authentication-Results header on top.\n"
	    "\n"
	    "  -d, --domain DOMAIN       sealing domain (d=)\n"
	    "  -s, --selector SELECTOR   selector (s=)\n"
	    "  -k, --key KEYFILE         RSA private key (PEM): RFC 8617 "
	    "seals with rsa-sha256\n"
	    "      --authserv-id ID      authserv-id of our "
	    "Authentication-Results\n"
	    "      --zone FILE           answer DNS queries from this zone "
	    "file (repeatable)\n"
	    "      --nameserver IP[@PORT] query this server (default: "
	    "/etc/resolv.conf)\n"
	    "      --now EPOCH           time for t= and the checks (default: "
	    "now)\n"
	    "      --ip ADDR             SMTP client address (SPF is "
	    "evaluated only with it)\n"
	    "      --helo NAME           HELO/EHLO name\n"
	    "      --mail-from ADDR      MAIL FROM (\"\" or \"<>\": the null "
	    "sender)\n"
	    "      --headers H1,H2       header names the ARC-Message-"
	    "Signature signs\n"
	    "                            (default: the DKIM signing list and "
	    "DKIM-Signature)\n"
	    "\n"
	    "Exit status: 0 sealed; 1 not sealed (the newest ARC-Seal says "
	    "cv=fail, 50 sets\nalready, or the chain status is unknown: the "
	    "message is printed with our\nAuthentication-Results only, the "
	    "reason on standard error); 2 usage, I/O or\nkey error.\n");
}

struct seal_args {
	struct verdict_env env;
	struct arc_seal_options so;
	char **zones;
	size_t nzones;
	const char *nameserver;
	const char *keyfile;
	char *headers; /* comma list, split in place */
};

/* @return 0 to go on, 1 after --help, -1 on a usage error (printed). */
static int
seal_parse(int argc, char **argv, struct seal_args *a)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"selector", required_argument, NULL, 's'},
	    {"key", required_argument, NULL, 'k'},
	    {"authserv-id", required_argument, NULL, 'A'},
	    {"zone", required_argument, NULL, 'z'},
	    {"nameserver", required_argument, NULL, 'n'},
	    {"now", required_argument, NULL, 'N'},
	    {"ip", required_argument, NULL, 'i'},
	    {"helo", required_argument, NULL, 'H'},
	    {"mail-from", required_argument, NULL, 'f'},
	    {"headers", required_argument, NULL, 'E'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct spf_ip ip;
	char *end;
	int c, idx = 0;

	while ((c = getopt_long(argc, argv, "d:s:k:h", longopts, &idx)) != -1) {
		switch (c) {
		case 'd':
			a->so.domain = optarg;
			break;
		case 's':
			a->so.selector = optarg;
			break;
		case 'k':
			a->keyfile = optarg;
			break;
		case 'A':
			a->env.authserv_id = optarg;
			break;
		case 'z':
			a->zones[a->nzones++] = optarg;
			break;
		case 'n':
			a->nameserver = optarg;
			break;
		case 'H':
			a->env.helo = optarg;
			break;
		case 'f':
			a->env.mail_from = optarg;
			break;
		case 'E':
			a->headers = optarg;
			break;
		case 'N':
			a->env.now = strtoll(optarg, &end, 10);
			if (*end != '\0' || a->env.now < 0)
				goto bad;
			break;
		case 'i':
			if (spf_ip_parse(optarg, &ip) < 0)
				goto bad;
			a->env.client_ip = optarg;
			break;
		case 'h':
			seal_usage(stdout);
			return 1;
		default:
			seal_usage(stderr);
			return -1;
		}
	}
	if (a->so.domain != NULL && a->so.selector != NULL &&
	    a->keyfile != NULL && a->env.authserv_id != NULL &&
	    argc - optind <= 1 && !(a->nzones > 0 && a->nameserver != NULL))
		return 0;
	seal_usage(stderr);
	return -1;
bad:
	fprintf(stderr,
	    "authmilter seal: --%s \"%s\": invalid value "
	    "(authmilter seal --help)\n",
	    longopts[idx].name, optarg);
	return -1;
}

/* Evaluate and seal one message, print it. @return the exit status. */
static int
seal_message(struct seal_args *a, const char *path)
{
	struct arena *ar = arena_new(65536);
	struct verdict_session *s;
	const struct verdict *v;
	const char *why = NULL;
	size_t len = 0, body;
	char *data = NULL;
	struct msg m;
	bool lf;
	int r, status = CLI_EXIT_USAGE;

	if (ar == NULL || cli_read_file(path, &data, &len) < 0)
		goto out;
	msg_init(&m, ar);
	if ((r = msg_parse(&m, data, len, &body, &why)) < 0) {
		fprintf(stderr, "authmilter seal: %s: not a message: %s\n",
		    path, why != NULL ? why : strerror(-r));
		goto out;
	}
	r = verdict_begin(ar, &m, &a->env, &s);
	if (r == 0)
		r = verdict_body(s, data + body, len - body);
	if (r == 0)
		r = verdict_finish(s, &v);
	if (r < 0) {
		fprintf(
		    stderr, "authmilter seal: %s: %s\n", path, strerror(-r));
		goto out;
	}
	/* the milter's order: the new set on top, then our A-R */
	lf = cli_lf_only(data, len);
	if (v->arc_sealed != NULL) {
		cli_print_field("ARC-Seal", v->arc_sealed->as, lf);
		cli_print_field(
		    "ARC-Message-Signature", v->arc_sealed->ams, lf);
		cli_print_field(
		    "ARC-Authentication-Results", v->arc_sealed->aar, lf);
		status = CLI_EXIT_OK;
	} else {
		fprintf(stderr, "authmilter seal: %s: not sealed: %s\n", path,
		    v->arc_not_sealed != NULL ? v->arc_not_sealed : "?");
		status = CLI_EXIT_FAIL;
	}
	cli_print_field("Authentication-Results", v->authres, lf);
	fwrite(data, 1, len, stdout);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "authmilter seal: write error\n");
		status = CLI_EXIT_USAGE;
	}
out:
	free(data);
	arena_free(ar);
	return status;
}

int
cli_seal(int argc, char **argv)
{
	struct orgdomain_options oo = {.method = ORGDOMAIN_TREEWALK};
	struct dkim_privkey *key = NULL;
	struct orgdomain *org = NULL;
	struct dmarc_options dmarc;
	struct seal_args a;
	struct arena *ar = arena_new(4096);
	const char *why = NULL;
	struct buf kwhy;
	int r, status = CLI_EXIT_USAGE;

	memset(&a, 0, sizeof(a));
	buf_init(&kwhy, 1024);
	dmarc_options_init(&dmarc);
	a.env.now = (int64_t)time(NULL);
	a.env.dns_budget_ms = CONFIG_DNS_TIME_BUDGET * 1000;
	if (ar == NULL ||
	    (a.zones = calloc((size_t)argc, sizeof(*a.zones))) == NULL)
		goto out;
	if ((r = seal_parse(argc, argv, &a)) != 0) {
		status = r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	/* a command-line tool: the key file's mode is the caller's business
	 * (the daemon enforces RequireSafeKeys) */
	if (dkim_key_load_private(a.keyfile, true, &key, &kwhy) < 0) {
		fprintf(stderr, "authmilter seal: %s\n", buf_cstr(&kwhy));
		goto out;
	}
	if (dkim_privkey_type(key) != DKIM_KEY_RSA) {
		fprintf(stderr,
		    "authmilter seal: %s: not an RSA key (RFC 8617 "
		    "seals with rsa-sha256 only)\n",
		    a.keyfile);
		goto out;
	}
	a.so.key = key;
	if (a.headers != NULL && (a.so.headers = cli_split_names(
	                              ar, a.headers, &a.so.n_headers)) == NULL)
		goto out;
	if (orgdomain_new(&oo, &org, &why) < 0) {
		fprintf(stderr, "authmilter seal: public suffix list: %s\n",
		    why != NULL ? why : "cannot be loaded");
		goto out;
	}
	a.env.org = org;
	a.env.dmarc = &dmarc;
	a.env.receiver = a.env.authserv_id;
	a.env.arc_seal = &a.so;
	a.env.resolver = cli_resolver(a.zones, a.nzones, a.nameserver);
	if (a.env.resolver == NULL)
		goto out;
	a.env.key_cache = dkim_key_cache_new(1024);
	status = seal_message(&a, argc > optind ? argv[optind] : "-");
out:
	dns_resolver_free(a.env.resolver);
	dkim_key_cache_free(a.env.key_cache);
	orgdomain_free(org);
	dkim_privkey_unref(key);
	arena_free(ar);
	free(a.zones);
	buf_free(&kwhy);
	return status;
}
