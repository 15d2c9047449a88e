/*
 * fuzz_arc.c -- a whole message on arbitrary bytes through the ARC set
 * parser and everything built on it: arc_verify (structure, the newest
 * AMS, every AS, oldest-pass), the passes sealers recorded, the AAR
 * payload of our Authentication-Results, and sealing a new set on top.
 * The resolver answers the ARC test suite's key (dummy._domainkey.
 * example.org, so the seed corpus reaches passing chains), a temporary
 * failure for names under temp., and NXDOMAIN otherwise.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/arc.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_sig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The ARC test suite's key (tests/data/arc, MIT licence, test-only). */
static const char suite_key[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5"
    "V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzw"
    "Q/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3"
    "G+2kryOTIKT+l/K4w3QIDAQAB";
static const char suite_private[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

static struct dkim_privkey *sealing_key;

static int
fz_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret)
{
	struct dns_rr rr;

	if (strncasecmp(name, "temp.", 5) == 0 ||
	    strstr(name, ".temp.") != NULL) {
		*ret =
		    dns_answer_new(DNS_TEMPFAIL, 0, false, "timeout", NULL, 0);
		return *ret == NULL ? -ENOMEM : 0;
	}
	if (strcasecmp(name, "dummy._domainkey.example.org") != 0) {
		*ret = dns_answer_new(DNS_NXDOMAIN, 0, false, "nx", NULL, 0);
		return *ret == NULL ? -ENOMEM : 0;
	}
	rr.pref = 0;
	rr.data = (const uint8_t *)suite_key;
	rr.len = strlen(suite_key);
	*ret = dns_answer_new(DNS_OK, 60, false, NULL, &rr, 1);
	return *ret == NULL ? -ENOMEM : 0;
}

static void
fz_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_ops fz_ops = {.query = fz_query, .free = fz_free};

/* What a result says must hold together. */
static void
check_result(const struct arc_result *r)
{
	unsigned i;

	if (r->reason == NULL || r->count > BOUND_ARC_SETS ||
	    r->failed_instance > BOUND_ARC_SETS)
		__builtin_trap();
	switch (r->status) {
	case AUTH_NONE:
		if (r->chain->n_fields != 0)
			__builtin_trap();
		break;
	case AUTH_PASS:
		if (r->reason[0] != '\0' || r->count == 0 ||
		    r->oldest_pass < 1 || r->oldest_pass > r->count ||
		    r->chain->problem != NULL)
			__builtin_trap();
		for (i = 0; i < r->count; i++)
			if (r->sets[i].as != AUTH_PASS)
				__builtin_trap();
		break;
	case AUTH_FAIL:
	case AUTH_TEMPERROR:
		if (r->reason[0] == '\0')
			__builtin_trap();
		break;
	default:
		__builtin_trap();
	}
}

/* Seal on top of what was validated, as the milter would. */
static void
fz_seal(const struct arc_result *res, struct arc_seal *s)
{
	struct arc_sealed set;
	const char *why;
	int r;

	r = arc_seal_finish(s, res->chain, res->status,
	    " mx.example.org;\r\n\tarc=none", 1700000000, &set, &why);
	if (r != 0 && r != -ENOMEM && r != -ERANGE)
		__builtin_trap();
	if (r == 0 && why == NULL &&
	    (set.instance != res->count + 1 || set.instance > BOUND_ARC_SETS ||
	        set.aar == NULL || set.ams == NULL || set.as == NULL))
		__builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_resolver dns = {&fz_ops, NULL, 0};
	struct arc_verify_options vo = {.resolver = &dns};
	struct arc_seal_options so = {0};
	struct dkim_sig_bodies *bodies;
	const struct arc_result *res;
	const struct arc_claim *claims;
	enum auth_result st;
	struct arc_verify *v;
	struct arc_seal *s = NULL;
	struct arena *a;
	const char *why, *payload;
	size_t off, n, i;
	struct msg m;
	int r;

	if (sealing_key == NULL &&
	    dkim_privkey_parse(suite_private, sizeof(suite_private) - 1,
	        &sealing_key, NULL) != 0)
		__builtin_trap();
	if ((a = arena_new(65536)) == NULL)
		return 0;
	msg_init(&m, a);
	if (msg_parse(&m, (const char *)data, size, &off, &why) != 0 ||
	    dkim_sig_bodies_new(a, &bodies) != 0)
		goto out;
	vo.bodies = bodies;
	so.domain = "example.org";
	so.selector = "dummy";
	so.key = sealing_key;
	so.bodies = bodies;
	so.format = size % 2 == 0 ? ARC_FORMAT_FOLDED : ARC_FORMAT_SORTED;
	/* message content never fails a session: only ENOMEM and EIO do */
	r = arc_verify_begin(a, &m, &vo, &v);
	if (r == 0)
		r = arc_seal_begin(a, &m, &so, &s);
	if (r != 0) {
		if (r != -ENOMEM && r != -EIO && r != -E2BIG)
			__builtin_trap();
		goto out;
	}
	if (dkim_sig_bodies_update(
	        bodies, (const char *)data + off, size - off) != 0 ||
	    arc_verify_finish(v, 1700000000, &res) != 0)
		goto out;
	check_result(res);
	if (arc_claims(a, res, &claims, &n) != 0)
		goto out;
	for (i = 0; i < n; i++)
		if (dkim_sig_name_problem(
		        claims[i].domain, strlen(claims[i].domain)) != NULL ||
		    claims[i].sealer == NULL || claims[i].instance < 1 ||
		    claims[i].instance > res->count)
			__builtin_trap();
	if (arc_authres_payload(
	        a, &m, "mx.example.org", so.format, &payload, &st) != 0)
		goto out;
	fz_seal(res, s);
out:
	arena_free(a);
	return 0;
}
