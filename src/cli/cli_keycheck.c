/*
 * cli_keycheck.c -- `authmilter keycheck`: fetch a published DKIM key
 * record (RFC 6376 section 3.6.2) and say, one line per finding, whether
 * verifiers can use it for mail signed with a given private key.
 *
 * Findings start with "ok:", "info:", "warning:" or "error:". The exit
 * status is 0 only when there was no error: the record is published once,
 * parses, is not revoked, is large enough, and (with -k) holds the public
 * half of the private key.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_keymatch.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/dns.h"
#include "authmilter/tags.h"
#include "cli.h"

/* Below this, a key works but is weak (RFC 8301 section 3.2 asks signers
 * for at least 1024 bits and recommends 2048). */
#define KEYCHECK_GOOD_RSA_BITS 2048

struct keycheck {
	const char *domain;
	const char *selector;
	const char *keyfile;
	const char *zone;
	struct buf nameservers;
	char name[600];
	unsigned errors;
	const char *prefix; /* "record N: " when several records */
};

static void
keycheck_usage(FILE *f)
{
	fprintf(f,
	    "usage: authmilter keycheck -d DOMAIN -s SELECTOR [-k KEYFILE]\n"
	    "                           [--zone FILE | --nameserver "
	    "IP[@PORT]]\n"
	    "\n"
	    "Fetch SELECTOR._domainkey.DOMAIN and check the key record: "
	    "syntax, key\n"
	    "size, flags, DNSSEC, and that it matches the private key "
	    "KEYFILE.\n"
	    "One line per finding: ok:, info:, warning: or error:.\n"
	    "\n"
	    "  -d, --domain DOMAIN        signing domain (d=)\n"
	    "  -s, --selector SELECTOR    selector (s=)\n"
	    "  -k, --key KEYFILE          the private key that signs with it\n"
	    "  -z, --zone FILE            answer from a zone file (offline)\n"
	    "  -n, --nameserver IP[@PORT] ask this server (repeatable; "
	    "default:\n"
	    "                             /etc/resolv.conf)\n"
	    "\n"
	    "Exit status: 0 usable for signing, 1 not usable, 2 usage or "
	    "I/O error.\n");
}

static void keycheck_say(struct keycheck *kc, const char *level,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
keycheck_say(struct keycheck *kc, const char *level, const char *fmt, ...)
{
	va_list ap;

	if (strcmp(level, "error") == 0)
		kc->errors++;
	printf("%s: %s", level, kc->prefix);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static int
keycheck_parse_args(int argc, char **argv, struct keycheck *kc)
{
	static const struct option longopts[] = {
	    {"domain", required_argument, NULL, 'd'},
	    {"selector", required_argument, NULL, 's'},
	    {"key", required_argument, NULL, 'k'},
	    {"zone", required_argument, NULL, 'z'},
	    {"nameserver", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	while ((c = getopt_long(argc, argv, "d:s:k:z:n:h", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'd':
			kc->domain = optarg;
			break;
		case 's':
			kc->selector = optarg;
			break;
		case 'k':
			kc->keyfile = optarg;
			break;
		case 'z':
			kc->zone = optarg;
			break;
		case 'n':
			if (kc->nameservers.len > 0)
				buf_addc(&kc->nameservers, ' ');
			buf_adds(&kc->nameservers, optarg);
			break;
		case 'h':
			keycheck_usage(stdout);
			return 1;
		default:
			keycheck_usage(stderr);
			return -1;
		}
	}
	if (optind != argc || kc->domain == NULL || kc->selector == NULL ||
	    (kc->zone != NULL && kc->nameservers.len > 0)) {
		keycheck_usage(stderr);
		return -1;
	}
	/* RFC 6376 section 3.6.2.1: the record's name */
	snprintf(kc->name, sizeof(kc->name), "%s._domainkey.%s", kc->selector,
	    kc->domain);
	if (strlen(kc->selector) + strlen(kc->domain) + 12 >=
	        sizeof(kc->name) ||
	    !dns_name_valid(kc->name)) {
		fprintf(stderr,
		    "authmilter keycheck: \"%s\" is not a valid "
		    "domain name (check -d and -s)\n",
		    kc->name);
		return -1;
	}
	return 0;
}

static struct dns_resolver *
keycheck_resolver(struct keycheck *kc)
{
	struct dns_ldns_options opt = {0};
	struct dns_resolver *r;
	const char *why = "";
	char *zwhy = NULL;

	if (kc->zone != NULL) {
		r = dns_zone_new();
		if (dns_zone_load(r, kc->zone, &zwhy) != 0) {
			fprintf(stderr, "authmilter keycheck: %s\n",
			    zwhy ? zwhy : kc->zone);
			free(zwhy);
			return dns_resolver_free(r);
		}
		return r;
	}
	opt.nameservers =
	    kc->nameservers.len ? buf_cstr(&kc->nameservers) : NULL;
	if (dns_ldns_new(&opt, &r, &why) != 0) {
		fprintf(stderr, "authmilter keycheck: resolver: %s\n", why);
		return NULL;
	}
	return r;
}

/* The answer itself: one finding for anything but exactly one record. */
static void
keycheck_answer(struct keycheck *kc, const struct dns_answer *a)
{
	switch (a->status) {
	case DNS_OK:
		break;
	case DNS_NXDOMAIN:
		keycheck_say(kc, "error",
		    "%s does not exist (NXDOMAIN): the "
		    "key is not published",
		    kc->name);
		return;
	case DNS_NODATA:
		keycheck_say(kc, "error",
		    "%s has no TXT record (NODATA): the "
		    "key is not published",
		    kc->name);
		return;
	case DNS_TEMPFAIL:
		keycheck_say(kc, "error",
		    "%s: DNS lookup failed (temporary: "
		    "%s): try again later",
		    kc->name, a->why);
		return;
	}
	keycheck_say(kc, "info", "%s: answer %s", kc->name,
	    a->ad ? "DNSSEC-validated (AD bit set)"
	          : "not DNSSEC-validated (no AD "
	            "bit)");
	if (a->count > 1)
		keycheck_say(kc, "error",
		    "%s has %zu TXT records: verifiers "
		    "may use any one of them (RFC 6376 section 3.6.2.2); "
		    "publish exactly one",
		    kc->name, a->count);
}

/* Tags the parsed key does not expose: h=, s= and t= as written. */
static void
keycheck_tags(struct keycheck *kc, const struct dns_rr *rr)
{
	const struct tag *h, *s;
	struct tag_list tl;
	const char *why;
	size_t where;

	if (tags_parse((const char *)rr->data, rr->len, &tl, &why, &where) != 0)
		return; /* dkim_pubkey_parse says why */
	/* RFC 6376 section 3.6.1: h= lists the hashes the key may sign;
	 * RFC 8301 section 3.1: sha1 must not be used */
	if ((h = tags_find(&tl, "h")) != NULL) {
		if (memmem(h->value, h->value_len, "sha1", 4) != NULL)
			keycheck_say(kc, "warning",
			    "h=%.*s also allows sha1, "
			    "which RFC 8301 forbids: publish h=sha256 or no "
			    "h=",
			    (int)h->value_len, h->value);
		else
			keycheck_say(
			    kc, "ok", "h=%.*s", (int)h->value_len, h->value);
	}
	if ((s = tags_find(&tl, "s")) != NULL)
		keycheck_say(kc, "ok", "s=%.*s (usable for email)",
		    (int)s->value_len, s->value);
}

/* The record's key: size and flags. @return the key or NULL. */
static struct dkim_pubkey *
keycheck_record(struct keycheck *kc, const struct dns_rr *rr)
{
	struct dkim_pubkey *k = NULL;
	struct buf why;

	buf_init(&why, 512);
	if (dkim_pubkey_parse((const char *)rr->data, rr->len, 0, &k, &why) !=
	    0) {
		keycheck_say(kc, "error", "record \"%.60s%s\": %s",
		    (const char *)rr->data, rr->len > 60 ? "..." : "",
		    why.len ? buf_cstr(&why) : "unusable");
		buf_free(&why);
		return NULL;
	}
	buf_free(&why);
	keycheck_say(kc, "ok", "record parses: k=%s, %u bits",
	    dkim_key_type_name(k->type), k->bits);
	if (k->type == DKIM_KEY_RSA && k->bits < KEYCHECK_GOOD_RSA_BITS)
		keycheck_say(kc, "warning",
		    "RSA key of %u bits: weak, use "
		    "%d bits or more (RFC 8301 section 3.2)",
		    k->bits, KEYCHECK_GOOD_RSA_BITS);
	keycheck_tags(kc, rr);
	/* RFC 6376 section 3.6.1: t=y means verifiers may treat signed mail
	 * as unsigned */
	if (k->testing)
		keycheck_say(kc, "warning",
		    "t=y: the domain is testing DKIM; "
		    "verifiers may ignore its signatures (remove t=y when "
		    "done)");
	if (k->strict)
		keycheck_say(kc, "info",
		    "t=s: i= must be in %s itself, not "
		    "a subdomain",
		    kc->domain);
	return k;
}

/* The private key: loads, is safe, and its public half is the record's. */
static void
keycheck_private(struct keycheck *kc, const struct dkim_pubkey *pub)
{
	struct dkim_privkey *priv = NULL;
	enum dkim_keymatch m;
	struct buf why;
	int r;

	buf_init(&why, 1024);
	r = dkim_key_load_private(kc->keyfile, false, &priv, &why);
	if (r == -EPERM) {
		keycheck_say(kc, "warning", "%s", buf_cstr(&why));
		buf_reset(&why);
		r = dkim_key_load_private(kc->keyfile, true, &priv, &why);
	}
	if (r != 0) {
		keycheck_say(
		    kc, "error", "%s", why.len ? buf_cstr(&why) : strerror(-r));
		goto out;
	}
	if (pub == NULL)
		goto out;
	if (dkim_keymatch_pubkey(pub, priv, &m, &why) != 0)
		keycheck_say(kc, "error", "%s: cannot derive its public key",
		    kc->keyfile);
	else if (m != DKIM_KEYMATCH_OK)
		keycheck_say(kc, "error",
		    "%s (%s): signatures made with "
		    "it will fail",
		    buf_cstr(&why), kc->keyfile);
	else
		keycheck_say(
		    kc, "ok", "the published key matches %s", kc->keyfile);
out:
	dkim_privkey_unref(priv);
	buf_free(&why);
}

static void
keycheck_run(struct keycheck *kc, struct dns_resolver *res)
{
	struct dns_answer *a = NULL;
	struct dkim_pubkey *pub;
	char prefix[32];
	size_t i;

	if (dns_query(res, kc->name, DNS_T_TXT, &a) != 0) {
		keycheck_say(kc, "error", "%s: cannot query it", kc->name);
		return;
	}
	keycheck_answer(kc, a);
	for (i = 0; i < a->count && a->status == DNS_OK; i++) {
		if (a->count > 1) {
			snprintf(prefix, sizeof(prefix), "record %zu: ", i + 1);
			kc->prefix = prefix;
		}
		pub = keycheck_record(kc, &a->rrs[i]);
		if (kc->keyfile != NULL)
			keycheck_private(kc, pub);
		dkim_pubkey_unref(pub);
	}
	kc->prefix = "";
	if (a->status != DNS_OK && kc->keyfile != NULL)
		keycheck_private(kc, NULL);
	if (kc->keyfile == NULL)
		keycheck_say(kc, "info",
		    "no -k: whether the record matches "
		    "the private key was not checked");
	dns_answer_unref(a);
}

int
cli_keycheck(int argc, char **argv)
{
	struct keycheck kc = {.prefix = ""};
	struct dns_resolver *res;
	int r;

	buf_init(&kc.nameservers, 4096);
	r = keycheck_parse_args(argc, argv, &kc);
	if (r != 0) {
		buf_free(&kc.nameservers);
		return r > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
	}
	if ((res = keycheck_resolver(&kc)) == NULL) {
		buf_free(&kc.nameservers);
		return CLI_EXIT_USAGE;
	}
	keycheck_run(&kc, res);
	dns_resolver_free(res);
	buf_free(&kc.nameservers);
	printf("%s: %s\n", kc.name,
	    kc.errors    ? "NOT usable for signing"
	    : kc.keyfile ? "usable for signing with this key"
	                 : "usable (key not compared)");
	return kc.errors ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}
