/*
 * cli_sign.c -- `authmilter sign`: print a message with a DKIM-Signature
 * added, signed the way the milter would sign it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/arena.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/msg.h"
#include "cli.h"

static void
sign_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter sign -d DOMAIN -s SELECTOR -k KEYFILE [options] "
	    "[FILE|-]\n"
	    "\n"
	    "Print FILE (default: standard input) with a DKIM-Signature header "
	    "added.\n"
	    "\n"
	    "  -d, --domain DOMAIN        signing domain (d=)\n"
	    "  -s, --selector SELECTOR    selector (s=)\n"
	    "  -k, --key KEYFILE          private key: PEM (RSA or Ed25519) or "
	    "base64 Ed25519 seed\n"
	    "  -a, --algorithm ALG        rsa-sha256 | ed25519-sha256 "
	    "(default: "
	    "follows the key)\n"
	    "  -c, --canon HDR/BODY       canonicalization (default "
	    "relaxed/simple)\n"
	    "      --oversign H1,H2       header names to oversign besides "
	    "From\n"
	    "      --headers H1,H2        header names to sign (default: RFC "
	    "6376 "
	    "5.4.1 list)\n"
	    "  -x, --expire SECONDS       add x= this many seconds after t=\n"
	    "      --now EPOCH            time for t= (default: now)\n"
	    "\n"
	    "Exit status: 0 signed, 2 usage, I/O or key error.\n");
}

static int
sign_parse_canon(const char *s, struct dkim_signer *sg)
{
	const char *slash = strchr(s, '/');

	if (slash == NULL) {
		/* RFC 6376 §3.5: a lone algorithm is the header one; the body
		 * is then simple */
		sg->body_canon = CANON_SIMPLE;
		return canon_alg_parse(s, strlen(s), &sg->header_canon);
	}
	if (canon_alg_parse(s, (size_t)(slash - s), &sg->header_canon) < 0 ||
	    canon_alg_parse(slash + 1, strlen(slash + 1), &sg->body_canon) < 0)
		return -EINVAL;
	return 0;
}

static int
sign_message(struct dkim_signer *sg, const char *path, int64_t now)
{
	struct arena *a = arena_new(65536);
	struct dkim_sign *s = NULL;
	const char *why = NULL, *value;
	size_t len = 0, body;
	char *data = NULL;
	struct msg m;
	bool lf;
	int r;

	if (a == NULL)
		return -ENOMEM;
	r = cli_read_file(path, &data, &len);
	if (r < 0)
		goto out;
	msg_init(&m, a);
	r = msg_parse(&m, data, len, &body, &why);
	if (r < 0) {
		fprintf(stderr, "authmilter sign: %s: not a message: %s\n",
		    path, why != NULL ? why : strerror(-r));
		goto out;
	}
	r = dkim_sign_begin(a, &m, sg, 1, &s);
	if (r == 0)
		r = dkim_sign_body(s, data + body, len - body);
	if (r == 0)
		r = dkim_sign_finish(s, now, &value);
	if (r < 0) {
		fprintf(stderr, "authmilter sign: %s: signing failed: %s\n",
		    path, strerror(-r));
		goto out;
	}
	/* keep the input's line ends: a LF-only file gets LF folds */
	lf = cli_lf_only(data, len);
	cli_print_field("DKIM-Signature", value, lf);
	fwrite(data, 1, len, stdout);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "authmilter sign: write error\n");
		r = -EIO;
	}
out:
	free(data);
	arena_free(a);
	return r;
}

struct sign_args {
	struct dkim_signer sg;
	const char *keyfile;
	const char *alg;
	int64_t now;
};

/* Parse the options into args (names lists in arena a).
 * @return 0 to go on, 1 after --help, -1 on a usage error (printed). */
static int
sign_parse(int argc, char **argv, struct arena *a, struct sign_args *args)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"selector", required_argument, NULL, 's'},
	    {"key", required_argument, NULL, 'k'},
	    {"algorithm", required_argument, NULL, 'a'},
	    {"canon", required_argument, NULL, 'c'},
	    {"expire", required_argument, NULL, 'x'},
	    {"oversign", required_argument, NULL, 'O'},
	    {"headers", required_argument, NULL, 'H'},
	    {"now", required_argument, NULL, 'N'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct dkim_signer *sg = &args->sg;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "d:s:k:a:c:x:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			sg->domain = optarg;
			break;
		case 's':
			sg->selector = optarg;
			break;
		case 'k':
			args->keyfile = optarg;
			break;
		case 'a':
			args->alg = optarg;
			break;
		case 'c':
			if (sign_parse_canon(optarg, sg) < 0)
				goto bad;
			break;
		case 'x':
			sg->expire = strtoull(optarg, &end, 10);
			if (*end != '\0' || sg->expire == 0)
				goto bad;
			break;
		case 'O':
			sg->oversign =
			    cli_split_names(a, optarg, &sg->n_oversign);
			break;
		case 'H':
			sg->headers =
			    cli_split_names(a, optarg, &sg->n_headers);
			break;
		case 'N':
			args->now = strtoll(optarg, &end, 10);
			if (*end != '\0' || args->now < 0)
				goto bad;
			break;
		case 'h':
			sign_usage(stdout);
			return 1;
		default:
			sign_usage(stderr);
			return -1;
		}
	}
	if (sg->domain != NULL && sg->selector != NULL &&
	    args->keyfile != NULL && argc - optind <= 1)
		return 0;
	sign_usage(stderr);
	return -1;
bad:
	fprintf(stderr,
	    "authmilter sign: \"%s\": invalid value "
	    "(authmilter sign --help)\n",
	    optarg);
	return -1;
}

int
cli_sign(int argc, char **argv)
{
	struct dkim_privkey *key = NULL;
	struct arena *a = arena_new(4096);
	struct sign_args args;
	enum dkim_alg want;
	struct buf why;
	int r, status = CLI_EXIT_USAGE;

	if (a == NULL)
		return CLI_EXIT_USAGE;
	memset(&args, 0, sizeof(args));
	dkim_signer_init(&args.sg);
	args.now = (int64_t)time(NULL);
	buf_init(&why, 1024);
	r = sign_parse(argc, argv, a, &args);
	if (r != 0) {
		status = r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
		goto out;
	}
	/* a command-line tool: the key file's mode is the caller's business
	 * (the daemon enforces RequireSafeKeys) */
	r = dkim_key_load_private(args.keyfile, true, &key, &why);
	if (r < 0) {
		fprintf(stderr, "authmilter sign: %s\n", buf_cstr(&why));
		goto out;
	}
	if (args.alg != NULL &&
	    (dkim_alg_parse(args.alg, strlen(args.alg), &want) < 0 ||
	        want != dkim_privkey_alg(key))) {
		fprintf(stderr,
		    "authmilter sign: -a \"%s\": the key %s is "
		    "for %s\n",
		    args.alg, args.keyfile,
		    dkim_alg_name(dkim_privkey_alg(key)));
		goto out;
	}
	args.sg.key = key;
	r = sign_message(
	    &args.sg, argc > optind ? argv[optind] : "-", args.now);
	status = r == 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
out:
	dkim_privkey_unref(key);
	buf_free(&why);
	arena_free(a);
	return status;
}
