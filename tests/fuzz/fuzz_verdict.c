/*
 * fuzz_verdict.c -- the whole verdict path on arbitrary bytes: a message
 * (header section and body) through msg_parse, verdict_begin/body/finish
 * and action_decide under the default policy, with an in-process zone
 * (example.com with the test-only demo keys and p=reject, reject.example
 * p=reject signing nothing, pass.example p=none whose SPF passes the
 * client). The envelope is fixed: client 198.51.100.9, MAIL FROM
 * <x@pass.example>.
 *
 * Invariants (abort on violation):
 *   - message content never makes evaluation fail (verdict and action
 *     return 0);
 *   - a From field that names reject.example after an at-sign ("@" or
 *     U+FF20) never ends in anything but reject: reject.example has no
 *     key and no SPF pass, so it can have no aligned pass;
 *   - a From that is not a valid mailbox-list never gives dmarc=pass.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authmilter/action.h"
#include "authmilter/arena.h"
#include "authmilter/config.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/orgdomain.h"
#include "authmilter/verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_zone[] =
    "$TTL 300\n"
    "; example.com: the test-only demo keys of keys/demo (public knowledge),\n"
    "; p=reject, SPF for 192.0.2.0/24\n"
    "demo-rsa._domainkey.example.com. IN TXT ( \"v=DKIM1; k=rsa; "
    "p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqTZ0Tx/"
    "1zI9kMhxgnYrsbcp7oXT+uPmn3pSRuun+D5wPJEpmzkXewrwiwrB3cSA39Fy284pAh6ED/"
    "mXTOTivqTG35qGIR/EEZGYF5JnlgGpe4ccjNVTJk3jX3zV/Z91RKrNJPWZ4rzcUFWM9Y4b5/"
    "DM0K2OwTCw7Fa+Bc6E7+q3cAX71hY/dIrWm9QCq\" "
    "\"lgkiApttA03BJpSb71qVr/"
    "zNglhL7SCnjuHkdOzrtJUCrmlLbnSJoVgl3D4T6DoAw1GLpWQx2etNOK7QKEk8OZIT7as7REMg"
    "7nJvVNX83IENBNMAF+ijLYeaYRlI0YTs0Ud+fz9vZtl+fS51NfjECMVO9QIDAQAB\" )\n"
    "demo-ed._domainkey.example.com. IN TXT \"v=DKIM1; k=ed25519; "
    "p=QtBk5TYObqLH4Q2cyTVylRKPQBl0yWwXxTdenuGpAqI=\"\n"
    "example.com. IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
    "_dmarc.example.com. IN TXT \"v=DMARC1; p=reject\"\n"
    "; reject.example: p=reject, signs nothing, sends from nowhere\n"
    "reject.example. IN TXT \"v=spf1 -all\"\n"
    "_dmarc.reject.example. IN TXT \"v=DMARC1; p=reject\"\n"
    "; quar.example: p=quarantine\n"
    "_dmarc.quar.example. IN TXT \"v=DMARC1; p=quarantine\"\n"
    "; pass.example: the fuzzer's MAIL FROM; SPF passes for its client\n"
    "pass.example. IN TXT \"v=spf1 ip4:198.51.100.0/24 -all\"\n"
    "_dmarc.pass.example. IN TXT \"v=DMARC1; p=none\"\n";

static struct dns_resolver *fuzz_dns;
static struct orgdomain *fuzz_org;
static struct action_policy fuzz_policy;
static struct dmarc_options fuzz_dmarc;

static void
fuzz_die(const char *what)
{
	fprintf(stderr, "fuzz_verdict: %s\n", what);
	abort();
}

static void
fuzz_setup(void)
{
	struct orgdomain_options oo = {ORGDOMAIN_TREEWALK, NULL};
	struct config *cfg = NULL;
	const char *why = NULL;
	char *zwhy = NULL;
	struct buf errors;

	if (fuzz_dns != NULL)
		return;
	fuzz_dns = dns_zone_new();
	if (fuzz_dns == NULL ||
	    dns_zone_load_mem(fuzz_dns, "fuzz_verdict", fuzz_zone,
	        sizeof(fuzz_zone) - 1, &zwhy) < 0)
		fuzz_die(zwhy != NULL ? zwhy : "zone");
	if (orgdomain_new(&oo, &fuzz_org, &why) < 0)
		fuzz_die(why != NULL ? why : "orgdomain");
	buf_init(&errors, 4096);
	if (config_load_mem("defaults", "", 0, &cfg, &errors) < 0)
		fuzz_die(buf_cstr(&errors));
	buf_free(&errors);
	action_policy_from_config(cfg, &fuzz_policy);
	action_dmarc_options(&fuzz_policy, &fuzz_dmarc);
	config_unref(cfg);
}

static bool
fuzz_domain_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Whether v names reject.example right after an at-sign, as a whole
 * name (not reject.examplex, not reject.example.net). */
static bool
fuzz_names_reject(const char *v, size_t n)
{
	static const char name[] = "reject.example";
	const size_t nl = sizeof(name) - 1;
	size_t i, k, e;

	for (i = 0; i < n; i++) {
		if (v[i] == '@')
			k = 1;
		else if (i + 3 <= n && memcmp(v + i, "\xef\xbc\xa0", 3) == 0)
			k = 3;
		else
			continue;
		if (i + k + nl > n || strncasecmp(v + i + k, name, nl) != 0)
			continue;
		e = i + k + nl;
		if (e < n && fuzz_domain_byte((unsigned char)v[e]))
			continue;
		if (e < n && v[e] == '.' && e + 1 < n &&
		    (fuzz_domain_byte((unsigned char)v[e + 1]) ||
		        (unsigned char)v[e + 1] >= 0x80))
			continue;
		return true;
	}
	return false;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *msgdata = (const char *)data, *why = NULL;
	const struct msg_header *h;
	struct verdict_session *s;
	const struct verdict *v;
	struct verdict_env env;
	struct action act;
	struct arena *a;
	size_t body, pos = 0;
	bool named = false;
	struct msg m;

	fuzz_setup();
	if ((a = arena_new(65536)) == NULL)
		return 0;
	msg_init(&m, a);
	if (msg_parse(&m, msgdata, size, &body, &why) < 0) {
		arena_free(a);
		return 0;
	}
	memset(&env, 0, sizeof(env));
	env.resolver = fuzz_dns;
	env.now = 1795435260;
	env.authserv_id = "mx.test.example";
	env.client_ip = "198.51.100.9";
	env.helo = "client.example";
	env.mail_from = "<x@pass.example>";
	env.receiver = "mx.test.example";
	env.org = fuzz_org;
	env.dmarc = &fuzz_dmarc;
	if (verdict_begin(a, &m, &env, &s) < 0 ||
	    verdict_body(s, msgdata + body, size - body) < 0 ||
	    verdict_finish(s, &v) < 0)
		fuzz_die("message content made the evaluation fail");
	if (action_decide(v, &fuzz_policy, false, a, &act) < 0)
		fuzz_die("action_decide failed");
	while ((h = msg_find(&m, "From", &pos)) != NULL)
		named = named || fuzz_names_reject(h->value, h->value_len);
	if (named && act.kind != ACTION_REJECT)
		fuzz_die("a From naming reject.example was not rejected");
	if (v->from_invalid && v->dmarc != NULL &&
	    v->dmarc->result == AUTH_PASS)
		fuzz_die("an invalid From passed DMARC");
	if (v->authres == NULL || (act.kind == ACTION_REJECT &&
	                              (act.code == NULL || act.text == NULL)))
		fuzz_die("incomplete verdict or action");
	arena_free(a);
	return 0;
}
