/*
 * fuzz_dkim_sig.c -- a DKIM-Signature value on arbitrary bytes through
 * dkim_verify_begin/finish, on a small message, with a resolver that
 * answers one RSA and one Ed25519 key (and NXDOMAIN otherwise).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/dkim_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Whether a kept tag string is short and made of allowed bytes only. */
static int
kept_ok(const char *s, size_t max, const char *allowed)
{
	size_t n;

	if (s == NULL)
		return 1;
	n = strlen(s);
	return n <= max && strspn(s, allowed) == n;
}

#define FZ_HOST "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static const char rsa_key[] =
    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5"
    "V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzw"
    "Q/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3"
    "G+2kryOTIKT+l/K4w3QIDAQAB";
static const char ed_key[] =
    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

static int
fz_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret)
{
	const char *txt = NULL;
	struct dns_rr rr;

	if (strncasecmp(name, "test._domainkey.", 16) == 0)
		txt = rsa_key;
	else if (strncasecmp(name, "brisbane._domainkey.", 20) == 0)
		txt = ed_key;
	else if (strncasecmp(name, "temp.", 5) == 0) {
		*ret =
		    dns_answer_new(DNS_TEMPFAIL, 0, false, "timeout", NULL, 0);
		return *ret == NULL ? -ENOMEM : 0;
	}
	if (txt == NULL) {
		*ret = dns_answer_new(DNS_NXDOMAIN, 0, false, "nx", NULL, 0);
		return *ret == NULL ? -ENOMEM : 0;
	}
	rr.pref = 0;
	rr.data = (const uint8_t *)txt;
	rr.len = strlen(txt);
	*ret = dns_answer_new(DNS_OK, 60, false, NULL, &rr, 1);
	return *ret == NULL ? -ENOMEM : 0;
}

static void
fz_free(struct dns_resolver *r)
{
	(void)r;
}

static const struct dns_ops fz_ops = {.query = fz_query, .free = fz_free};

static const char headers[] = "From: Joe SixPack <joe@football.example.com>\r\n"
                              "To: Suzie Q <suzie@shopping.example.net>\r\n"
                              "Subject: Is dinner ready?\r\n"
                              "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n";
static const char body[] = "Hi.\r\n\r\nWe lost the game.\r\n";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns_resolver r = {&fz_ops, NULL, 0};
	struct dkim_verify_options opt = {.resolver = &r};
	const struct dkim_verify_result *res;
	struct dkim_verify *v;
	struct arena *a = arena_new(4096);
	const char *why;
	struct msg m;
	size_t off, n, i;

	if (a == NULL)
		return 0;
	msg_init(&m, a);
	if (msg_parse(&m, headers, sizeof(headers) - 1, &off, &why) != 0 ||
	    msg_add_header(
	        &m, "DKIM-Signature", 14, (const char *)data, size) != 0)
		goto out;
	/* message content never fails the session: only ENOMEM/EIO */
	if ((i = (size_t)-dkim_verify_begin(a, &m, &opt, &v)) != 0) {
		if (i != ENOMEM && i != EIO)
			__builtin_trap();
		goto out;
	}
	if (dkim_verify_body(v, body, sizeof(body) - 1) != 0 ||
	    dkim_verify_finish(v, 1528637909, &res, &n) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (res[i].reason == NULL ||
		    (res[i].result == AUTH_PASS) != (res[i].reason[0] == '\0'))
			__builtin_trap();
		/* what a result keeps was validated and is bounded */
		if (!kept_ok(res[i].domain, 253, FZ_HOST "-_.") ||
		    !kept_ok(res[i].selector, 253, FZ_HOST "-_.") ||
		    !kept_ok(res[i].algorithm, 14, FZ_HOST "-") ||
		    !kept_ok(res[i].b_prefix, 8, FZ_HOST "+/") ||
		    !kept_ok(res[i].identity, 64 + 1 + 253,
		        FZ_HOST "-_.@!#$%&'*+/=?^`{|}~"))
			__builtin_trap();
	}
out:
	arena_free(a);
	return 0;
}
