/*
 * arc_suite.c -- the entry point the ARC signing suite (tests/data/arc)
 * drives: one message in, the chain validated and a new set sealed by the
 * core (arc.h) in the suite's standardized header format (tags sorted,
 * unfolded, "; " between them), printed for run_arc_suite.py to compare
 * byte for byte with the suite's expected values.
 *
 *   arc_suite -z ZONE -k KEY -d DOMAIN -s SELECTOR -a SRV-ID -t T
 *             -H SIG-HEADERS MESSAGE
 *
 * Output lines: "cv: STATUS (REASON)" (our validation of the chain),
 * "stamped: STATUS" (the arc= of the srv-id's Authentication-Results),
 * then "AAR: ", "AMS: ", "AS: " and the value, or "sealed: no (WHY)".
 * The AAR payload is the srv-id's Authentication-Results consolidated as
 * the suite says (arc_authres_payload), the cv= our own validation; the
 * body set is shared by the validation and the seal, as in the milter.
 * Exit status 0, or 2 on a usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authmilter/arc.h"
#include "authmilter/arena.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"

struct args {
	const char *zone, *key, *domain, *selector, *srv_id, *h, *file;
	long long t;
};

static int
usage(void)
{
	fprintf(stderr, "usage: arc_suite -z ZONE -k KEY -d DOMAIN -s SELECTOR "
	                "-a SRV-ID -t T -H SIG-HEADERS MESSAGE\n");
	return 2;
}

static char *
read_all(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 &&
	    (data = malloc((size_t)n + 1)) != NULL &&
	    fread(data, 1, (size_t)n, f) == (size_t)n) {
		data[n] = '\0';
		*ret_len = (size_t)n;
	} else {
		free(data);
		data = NULL;
	}
	fclose(f);
	return data;
}

/* A value as the suite writes it: without the space after the colon. */
static const char *
bare(const char *v)
{
	return *v == ' ' ? v + 1 : v;
}

static int
run(const struct args *ar, struct arena *a, struct dns_resolver *dns,
    struct dkim_privkey *key, const char *data, size_t len)
{
	struct arc_verify_options vo = {0};
	struct arc_seal_options so = {0};
	const struct arc_result *res;
	struct dkim_sig_bodies *bodies;
	enum auth_result stamped;
	struct arc_verify *v;
	struct arc_sealed set;
	struct arc_seal *s;
	const char *why, *payload;
	size_t body;
	struct msg m;
	int r;

	msg_init(&m, a);
	if ((r = msg_parse(&m, data, len, &body, &why)) != 0) {
		fprintf(stderr, "%s: %s\n", ar->file, why != NULL ? why : "");
		return r;
	}
	if ((r = dkim_sig_bodies_new(a, &bodies)) != 0)
		return r;
	vo.resolver = dns;
	vo.bodies = bodies;
	so.domain = ar->domain;
	so.selector = ar->selector;
	so.key = key;
	so.h = ar->h;
	so.format = ARC_FORMAT_SORTED;
	so.bodies = bodies;
	if ((r = arc_verify_begin(a, &m, &vo, &v)) != 0 ||
	    (r = arc_seal_begin(a, &m, &so, &s)) != 0 ||
	    (r = dkim_sig_bodies_update(bodies, data + body, len - body)) !=
	        0 ||
	    (r = arc_verify_finish(v, ar->t, &res)) != 0)
		return r;
	printf("cv: %s (%s)\n", auth_result_name(res->status), res->reason);
	r = arc_authres_payload(
	    a, &m, ar->srv_id, ARC_FORMAT_SORTED, &payload, &stamped);
	if (r != 0)
		return r;
	printf("stamped: %s\n", auth_result_name(stamped));
	if (payload == NULL) {
		printf("sealed: no (no Authentication-Results of %s)\n",
		    ar->srv_id);
		return 0;
	}
	r = arc_seal_finish(
	    s, arc_verify_chain(v), res->status, payload, ar->t, &set, &why);
	if (r != 0)
		return r;
	if (why != NULL) {
		printf("sealed: no (%s)\n", why);
		return 0;
	}
	printf("AAR: %s\nAMS: %s\nAS: %s\n", bare(set.aar), bare(set.ams),
	    bare(set.as));
	return 0;
}

int
main(int argc, char **argv)
{
	struct args ar = {0};
	struct dkim_privkey *key = NULL;
	struct dns_resolver *dns;
	struct arena *a;
	char *data, *zwhy = NULL;
	size_t len;
	int c, r;

	while ((c = getopt(argc, argv, "z:k:d:s:a:t:H:")) != -1) {
		switch (c) {
		case 'z':
			ar.zone = optarg;
			break;
		case 'k':
			ar.key = optarg;
			break;
		case 'd':
			ar.domain = optarg;
			break;
		case 's':
			ar.selector = optarg;
			break;
		case 'a':
			ar.srv_id = optarg;
			break;
		case 't':
			ar.t = atoll(optarg);
			break;
		case 'H':
			ar.h = optarg;
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1 || ar.zone == NULL || ar.key == NULL ||
	    ar.domain == NULL || ar.selector == NULL || ar.srv_id == NULL ||
	    ar.h == NULL)
		return usage();
	ar.file = argv[optind];
	dns = dns_zone_new();
	if (dns_zone_load(dns, ar.zone, &zwhy) != 0) {
		fprintf(stderr, "%s\n", zwhy != NULL ? zwhy : ar.zone);
		free(zwhy);
		dns_resolver_free(dns);
		return 2;
	}
	if (dkim_key_load_private(ar.key, true, &key, NULL) != 0 ||
	    (data = read_all(ar.file, &len)) == NULL) {
		fprintf(stderr, "cannot read %s or %s\n", ar.key, ar.file);
		dkim_privkey_unref(key);
		dns_resolver_free(dns);
		return 2;
	}
	a = arena_new(65536);
	r = run(&ar, a, dns, key, data, len);
	if (r != 0)
		fprintf(stderr, "%s: %s\n", ar.file, strerror(-r));
	arena_free(a);
	free(data);
	dkim_privkey_unref(key);
	dns_resolver_free(dns);
	return r == 0 ? 0 : 2;
}
