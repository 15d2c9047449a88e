/*
 * cli_keygen.c -- `authmilter keygen`: make a DKIM key pair, the private
 * key as SELECTOR.private (PEM PKCS#8, mode 0600 from creation on) and the
 * DNS record to publish as SELECTOR.txt, in zone-file syntax with the
 * value split into strings of at most 255 bytes (RFC 1035 section 3.3.14,
 * RFC 6376 section 3.6.2.2), then print the KeyTable and SigningTable
 * lines that use it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_keygen.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dns.h"
#include "cli.h"

struct keygen_opts {
	const char *domain;
	const char *selector;
	const char *dir;
	enum dkim_key_type type;
	unsigned bits;
	bool bits_given; /* -b: refused with ed25519 */
	bool hash_sha256;
	bool testing;
	bool strict;
	bool force;
	char date_selector[16];
};

static void
keygen_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter keygen -d DOMAIN [-s SELECTOR] [options]\n"
	    "\n"
	    "Make a DKIM key pair: DIR/SELECTOR.private (PEM, mode 0600) and\n"
	    "DIR/SELECTOR.txt (the TXT record to publish), and print the\n"
	    "KeyTable and SigningTable lines that use them.\n"
	    "\n"
	    "  -d, --domain DOMAIN     signing domain (d=)\n"
	    "  -s, --selector SEL      selector (default: the month, YYYYMM, "
	    "UTC)\n"
	    "  -t, --type rsa|ed25519  key type (default rsa)\n"
	    "  -b, --bits BITS         RSA key size, 1024 to 4096 (default "
	    "2048)\n"
	    "  -D, --directory DIR     where to write the files (default .;"
	    " made\n"
	    "                          with mode 0700 if missing)\n"
	    "      --hash-sha256       publish h=sha256\n"
	    "      --testing           publish t=y (the domain is testing "
	    "DKIM)\n"
	    "      --strict            publish t=s (i= must be in d= itself)\n"
	    "      --force             overwrite existing files\n"
	    "\n"
	    "Exit status: 0 done, 1 a file exists (use --force), 2 usage or "
	    "I/O error.\n");
}

/*
 * The options, one function per group. Each takes the option c with its
 * argument arg. @return 0 when it took the option, 1 when c is not one
 * of its group, -1 for a bad value (said on stderr).
 */

/* the files: the names in them, where they go, whether to overwrite */
static int
keygen_opt_files(int c, const char *arg, struct keygen_opts *o)
{
	switch (c) {
	case 'd':
		o->domain = arg;
		return 0;
	case 's':
		o->selector = arg;
		return 0;
	case 'D':
		o->dir = arg;
		return 0;
	case 'f':
		o->force = true;
		return 0;
	}
	return 1;
}

/* the key: its type and size */
static int
keygen_opt_key(int c, const char *arg, struct keygen_opts *o)
{
	char *end;
	long n;

	switch (c) {
	case 't':
		if (strcmp(arg, "rsa") == 0)
			o->type = DKIM_KEY_RSA;
		else if (strcmp(arg, "ed25519") == 0)
			o->type = DKIM_KEY_ED25519;
		else {
			fprintf(stderr,
			    "authmilter keygen: -t \"%s\": want "
			    "rsa or ed25519\n",
			    arg);
			return -1;
		}
		return 0;
	case 'b':
		errno = 0;
		n = strtol(arg, &end, 10);
		if (*arg == '\0' || *end != '\0' || errno != 0 || n < 1024 ||
		    n > 4096) {
			fprintf(stderr,
			    "authmilter keygen: -b \"%s\": want "
			    "1024 to 4096\n",
			    arg);
			return -1;
		}
		o->bits = (unsigned)n;
		o->bits_given = true;
		return 0;
	}
	return 1;
}

/* the flags the record publishes */
static int
keygen_opt_record(int c, const char *arg, struct keygen_opts *o)
{
	switch (c) {
	case 'H':
		o->hash_sha256 = true;
		return 0;
	case 'T':
		o->testing = true;
		return 0;
	case 'S':
		o->strict = true;
		return 0;
	}
	return 1;
}

static int (*const keygen_opt_groups[])(
    int, const char *, struct keygen_opts *) = {
    keygen_opt_files,
    keygen_opt_key,
    keygen_opt_record,
};

static int
keygen_parse_args(int argc, char **argv, struct keygen_opts *o)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"selector", required_argument, NULL, 's'},
	    {"type", required_argument, NULL, 't'},
	    {"bits", required_argument, NULL, 'b'},
	    {"directory", required_argument, NULL, 'D'},
	    {"hash-sha256", no_argument, NULL, 'H'},
	    {"testing", no_argument, NULL, 'T'},
	    {"strict", no_argument, NULL, 'S'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	size_t i;
	int c, r;

	while ((c = getopt_long(argc, argv, "d:s:t:b:D:h", longopts, NULL)) !=
	       -1) {
		if (c == 'h') {
			keygen_usage(stdout);
			return 1;
		}
		r = 1;
		for (i = 0; r == 1 && i < sizeof(keygen_opt_groups) /
		                              sizeof(keygen_opt_groups[0]);
		     i++)
			r = keygen_opt_groups[i](c, optarg, o);
		if (r < 0)
			return -1;
		if (r != 0) { /* getopt has said what was wrong */
			keygen_usage(stderr);
			return -1;
		}
	}
	if (optind != argc || o->domain == NULL) {
		keygen_usage(stderr);
		return -1;
	}
	if (o->bits_given && o->type == DKIM_KEY_ED25519) {
		fprintf(stderr, "authmilter keygen: -b applies to RSA keys "
		                "only (Ed25519 keys have one size)\n");
		return -1;
	}
	return 0;
}

/* The selector when none is given: the month, so that monthly rotation
 * gives each key its own name. */
static int
keygen_default_selector(struct keygen_opts *o)
{
	time_t now = time(NULL);
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(o->date_selector, sizeof(o->date_selector), "%Y%m", &tm) ==
	        0)
		return -1;
	o->selector = o->date_selector;
	return 0;
}

static int
keygen_check_names(const struct keygen_opts *o)
{
	char name[600];

	if (strchr(o->selector, '/') != NULL || o->selector[0] == '.' ||
	    strlen(o->domain) + strlen(o->selector) + 13 > sizeof(name)) {
		fprintf(stderr, "authmilter keygen: bad selector \"%s\"\n",
		    o->selector);
		return -1;
	}
	snprintf(
	    name, sizeof(name), "%s._domainkey.%s", o->selector, o->domain);
	/* RFC 6376 section 3.6.2.1: the record lives at
	 * selector._domainkey.domain, which must be a valid name */
	if (!dns_name_valid(name) || strchr(o->domain, ' ') != NULL ||
	    strchr(o->selector, ' ') != NULL) {
		fprintf(stderr,
		    "authmilter keygen: \"%s\" is not a valid "
		    "domain name (check -d and -s)\n",
		    name);
		return -1;
	}
	return 0;
}

/* The record's text for the new key in pem: our flags, then p=. */
static int
keygen_record(
    const struct keygen_opts *o, const struct buf *pem, struct buf *rec)
{
	struct dkim_privkey *k = NULL;
	unsigned flags = 0;
	struct buf why;
	int r;

	buf_init(&why, 512);
	if (o->hash_sha256)
		flags |= DKIM_KEYGEN_H_SHA256;
	if (o->testing)
		flags |= DKIM_KEYGEN_TESTING;
	if (o->strict)
		flags |= DKIM_KEYGEN_STRICT;
	r = dkim_privkey_parse(pem->data, pem->len, &k, &why);
	if (r == 0)
		r = dkim_keygen_record(k, flags, rec);
	if (r != 0)
		fprintf(stderr,
		    "authmilter keygen: cannot make the record: "
		    "%s\n",
		    why.len ? buf_cstr(&why) : strerror(-r));
	dkim_privkey_unref(k);
	buf_free(&why);
	return r;
}

/* Create path with mode and write data (cli_write_new); never replaces
 * a file unless force. */
static int
keygen_write(const char *path, const struct buf *data, mode_t mode, bool force)
{
	struct buf why;
	int r;

	buf_init(&why, 4096 + 256);
	r = cli_write_new(path, data->data, data->len, mode, force, (uid_t)-1,
	    (gid_t)-1, &why);
	if (r != 0)
		fprintf(stderr, "authmilter keygen: %s\n", buf_cstr(&why));
	buf_free(&why);
	return r;
}

static void
keygen_print_tables(const struct keygen_opts *o, const char *keypath)
{
	char abs[PATH_MAX];
	const char *kp = realpath(keypath, abs) != NULL ? abs : keypath;

	printf("Add to the KeyTable:\n"
	       "  %s._domainkey.%s %s:%s:%s\n"
	       "Add to the SigningTable (refile: pattern; with a file: table "
	       "write the domain alone):\n"
	       "  *@%s %s._domainkey.%s\n",
	    o->selector, o->domain, o->domain, o->selector, kp, o->domain,
	    o->selector, o->domain);
}

static int
keygen_files(
    const struct keygen_opts *o, const struct buf *pem, const struct buf *zone)
{
	char keypath[PATH_MAX], txtpath[PATH_MAX];
	struct stat st;
	int r;

	if (snprintf(keypath, sizeof(keypath), "%s/%s.private", o->dir,
	        o->selector) >= (int)sizeof(keypath) ||
	    snprintf(txtpath, sizeof(txtpath), "%s/%s.txt", o->dir,
	        o->selector) >= (int)sizeof(txtpath)) {
		fprintf(stderr, "authmilter keygen: path too long\n");
		return CLI_EXIT_USAGE;
	}
	/* one directory per domain (keys/README.md): the last component is
	 * made if missing, private to its owner */
	if (stat(o->dir, &st) != 0 && errno == ENOENT) {
		if (mkdir(o->dir, 0700) != 0) {
			fprintf(stderr, "authmilter keygen: %s: %s\n", o->dir,
			    strerror(errno));
			return CLI_EXIT_USAGE;
		}
		printf("Made %s (mode 0700).\n", o->dir);
	}
	/* check both first, so a refusal leaves nothing half-written */
	if (!o->force &&
	    (lstat(keypath, &st) == 0 || lstat(txtpath, &st) == 0)) {
		fprintf(stderr,
		    "authmilter keygen: %s exists: refusing to "
		    "overwrite it (--force replaces it)\n",
		    lstat(keypath, &st) == 0 ? keypath : txtpath);
		return CLI_EXIT_FAIL;
	}
	if ((r = keygen_write(keypath, pem, 0600, o->force)) != 0)
		return r == -EEXIST ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	if ((r = keygen_write(txtpath, zone, 0644, o->force)) != 0)
		return r == -EEXIST ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
	printf("Wrote %s (private key, mode 0600) and %s (publish it in "
	       "DNS).\n",
	    keypath, txtpath);
	keygen_print_tables(o, keypath);
	return CLI_EXIT_OK;
}

int
cli_keygen(int argc, char **argv)
{
	struct keygen_opts o = {.dir = ".", .bits = 2048};
	struct buf pem, rec, zone;
	char comment[600];
	int r;

	if ((r = keygen_parse_args(argc, argv, &o)) != 0)
		return r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	if (o.selector == NULL && keygen_default_selector(&o) != 0)
		return CLI_EXIT_USAGE;
	if (keygen_check_names(&o) != 0)
		return CLI_EXIT_USAGE;
	if (o.type == DKIM_KEY_RSA && o.bits < 2048)
		fprintf(stderr,
		    "authmilter keygen: warning: %u-bit RSA keys "
		    "are weak; use 2048 bits or more\n",
		    o.bits);
	buf_init(&pem, 64 * 1024);
	buf_init(&rec, 8192);
	buf_init(&zone, 16384);
	r = dkim_keygen_pem(o.type, o.bits, &pem);
	if (r != 0)
		fprintf(stderr,
		    "authmilter keygen: key generation failed: "
		    "%s\n",
		    strerror(-r));
	if (r == 0)
		r = keygen_record(&o, &pem, &rec);
	if (r == 0) {
		snprintf(comment, sizeof(comment), "DKIM %s key %s for %s",
		    dkim_key_type_name(o.type), o.selector, o.domain);
		dkim_keygen_zone_text(
		    o.selector, o.domain, 0, rec.data, rec.len, comment, &zone);
		r = buf_error(&zone);
	}
	r = r != 0 ? CLI_EXIT_USAGE : keygen_files(&o, &pem, &zone);
	if (pem.data != NULL)
		OPENSSL_cleanse(pem.data, pem.len);
	buf_free(&pem);
	buf_free(&rec);
	buf_free(&zone);
	return r;
}
