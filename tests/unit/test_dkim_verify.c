/*
 * test_dkim_verify.c -- the RFC vectors against their zone files, sign ->
 * verify round trips (both algorithms, all four canonicalizations),
 * oversigning, several signatures sharing body streams and key lookups,
 * a set of body streams shared with another user, DNS outcomes, key
 * problems, and the bad-signature table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/bounds.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/dkim_verify.h"
#include "check.h"
#include "dkim_testutil.h"

/* A message under test: text (CRLF), its parsed headers, its arena. */
struct vmsg {
	struct arena *a;
	struct msg m;
	char *text;
	size_t len, body;
};

/* Parse prefix + text (either may be NULL) as one message. */
static int
vmsg_load(struct vmsg *vm, const char *prefix, const char *text)
{
	size_t pl = prefix != NULL ? strlen(prefix) : 0;
	size_t tl = text != NULL ? strlen(text) : 0;
	const char *why;

	memset(vm, 0, sizeof(*vm));
	vm->text = malloc(pl + tl + 1);
	if (vm->text == NULL)
		abort();
	memcpy(vm->text, prefix != NULL ? prefix : "", pl);
	memcpy(vm->text + pl, text != NULL ? text : "", tl + 1);
	vm->len = pl + tl;
	vm->a = arena_new(4096);
	msg_init(&vm->m, vm->a);
	return msg_parse(&vm->m, vm->text, vm->len, &vm->body, &why);
}

static void
vmsg_free(struct vmsg *vm)
{
	arena_free(vm->a);
	free(vm->text);
}

/* Verify vm, feeding the body in chunks of chunk bytes (0: at once). */
static const struct dkim_verify_result *
verify(struct vmsg *vm, struct dns_resolver *r,
    const struct dkim_verify_options *o, int64_t now, size_t chunk,
    size_t *ret_n, struct dkim_verify **ret_v)
{
	struct dkim_verify_options def = {0};
	const struct dkim_verify_result *res = NULL;
	struct dkim_verify *v = NULL;
	size_t off = vm->body, n;

	if (o == NULL)
		o = &def;
	def = *o;
	def.resolver = r;
	*ret_n = 0;
	CHECK_INT_EQ(dkim_verify_begin(vm->a, &vm->m, &def, &v), 0);
	if (v == NULL)
		return NULL;
	while (off < vm->len) {
		n = chunk == 0 || vm->len - off < chunk ? vm->len - off : chunk;
		CHECK_INT_EQ(dkim_verify_body(v, vm->text + off, n), 0);
		off += n;
	}
	CHECK_INT_EQ(dkim_verify_finish(v, now, &res, ret_n), 0);
	if (ret_v != NULL)
		*ret_v = v;
	return res;
}

/* Publish k's record (then extra) at name in the fake resolver. */
static void
publish(struct dns_resolver *r, const char *name, struct dkim_privkey *k,
    const char *extra)
{
	struct buf rec;

	buf_init(&rec, 4096);
	dkim_privkey_record(k, &rec);
	buf_adds(&rec, extra != NULL ? extra : "");
	tu_add(r, name, DNS_OK, buf_cstr(&rec));
	buf_free(&rec);
}

/* Sign text with signers; returns the DKIM-Signature fields to put on
 * top (caller frees). */
static char *
sign_text(const char *text, const struct dkim_signer *s, size_t n, int64_t now)
{
	const char *values[BOUND_DKIM_SIGNATURES];
	struct dkim_sign *ds = NULL;
	struct buf out;
	struct vmsg vm;
	size_t i;
	char *p;

	CHECK_INT_EQ(vmsg_load(&vm, NULL, text), 0);
	buf_init(&out, 1 << 20);
	CHECK_INT_EQ(dkim_sign_begin(vm.a, &vm.m, s, n, &ds), 0);
	if (ds != NULL &&
	    dkim_sign_body(ds, vm.text + vm.body, vm.len - vm.body) == 0 &&
	    dkim_sign_finish(ds, now, values) == 0)
		for (i = 0; i < n; i++)
			buf_addf(&out, "DKIM-Signature:%s\r\n", values[i]);
	vmsg_free(&vm);
	p = buf_steal(&out, NULL);
	return p != NULL ? p : calloc(1, 1);
}

static void
signer(struct dkim_signer *s, const char *sel, struct dkim_privkey *k)
{
	dkim_signer_init(s);
	s->domain = "example.com";
	s->selector = sel;
	s->key = k;
}

/* ---- RFC vectors (tests/data/dkim, expected.yaml) ---- */

struct vector {
	const char *eml, *zone;
	size_t n;
	enum auth_result want[2];
	const char *reason; /* for a failing vector */
};

static const struct vector vectors[] = {
    {"rfc8463-A3-signed.eml", "rfc8463.zone", 2, {AUTH_PASS, AUTH_PASS}, NULL},
    {"rfc6376-A2-verifiable.eml", "rfc6376.zone", 1, {AUTH_PASS}, NULL},
    {"rfc6376-A2-as-printed.eml", "rfc6376.zone", 1, {AUTH_FAIL},
        "body hash mismatch"},
    {"rfc6376-A1-unsigned.eml", "rfc6376.zone", 0, {AUTH_NONE}, NULL},
};

static struct dns_resolver *
zone(const char *file)
{
	struct dns_resolver *r = dns_zone_new();
	char path[1024], *why = NULL;

	CHECK_INT_EQ(
	    dns_zone_load(r, tu_path(file, path, sizeof(path)), &why), 0);
	if (why != NULL)
		fprintf(stderr, "%s\n", why);
	free(why);
	return r;
}

/* The vector as a CRLF string (caller frees). */
static char *
vector_text(const char *file)
{
	size_t n, m;
	char *lf = tu_read(file, &n), *crlf;

	if (lf == NULL)
		return calloc(1, 1);
	crlf = tu_crlf(lf, n, &m);
	free(lf);
	return crlf;
}

static void
test_vectors(void)
{
	size_t i, j, n;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const struct vector *c = &vectors[i];
		struct dns_resolver *r = zone(c->zone);
		const struct dkim_verify_result *res;
		char *text = vector_text(c->eml);
		struct vmsg vm;

		CHECK_INT_EQ(vmsg_load(&vm, NULL, text), 0);
		res = verify(&vm, r, NULL, 1700000000, 7, &n, NULL);
		CHECK_INT_EQ(n, c->n);
		for (j = 0; res != NULL && j < n && j < c->n; j++) {
			CHECK_INT_EQ(res[j].result, c->want[j]);
			if (res[j].result != c->want[j])
				fprintf(stderr, "  %s #%zu: %s\n", c->eml, j,
				    res[j].reason);
			if (c->reason != NULL)
				CHECK_STR_EQ(res[j].reason, c->reason);
			CHECK_INT_EQ(res[j].key_bits,
			    res[j].algorithm[0] == 'e' ? 256 : 1024);
		}
		if (i == 0 && n == 2) {
			CHECK_STR_EQ(res[0].domain, "football.example.com");
			CHECK_STR_EQ(res[0].selector, "brisbane");
			CHECK_STR_EQ(res[0].algorithm, "ed25519-sha256");
			CHECK_STR_EQ(res[0].b_prefix, "/gCrinpc");
			CHECK_STR_EQ(res[0].identity, "@football.example.com");
			CHECK_STR_EQ(res[1].b_prefix, "F45dVWDf");
			CHECK_INT_EQ(res[1].header_index, 1);
		}
		vmsg_free(&vm);
		/* one body byte changed: every passing signature fails */
		if (c->want[0] == AUTH_PASS) {
			char *h = strstr(text, "\r\n\r\nHi.");

			CHECK(h != NULL);
			if (h != NULL)
				h[4] = 'h';
			CHECK_INT_EQ(vmsg_load(&vm, NULL, text), 0);
			res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
			for (j = 0; res != NULL && j < n; j++) {
				CHECK_INT_EQ(res[j].result, AUTH_FAIL);
				CHECK_STR_EQ(
				    res[j].reason, "body hash mismatch");
			}
			vmsg_free(&vm);
		}
		free(text);
		dns_resolver_free(r);
	}
}

/* ---- round trips ---- */

static const char rt_text[] = "Received: from a by b\r\n"
                              "From: Joe <joe@example.com>\r\n"
                              "To: Suzie <suzie@example.net>,\r\n"
                              "   Bob <bob@example.net>\r\n"
                              "Subject:   folded  \r\n"
                              "\tsubject line \r\n"
                              "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
                              "Message-ID: <1@example.com>\r\n"
                              "\r\n"
                              "Hi.  \r\n"
                              "\r\n"
                              "  trailing whitespace \t \r\n"
                              "8-bit: \xc3\xa9\r\n"
                              "\r\n"
                              "\r\n";

static void
test_round_trips(void)
{
	struct dkim_privkey *keys[2] = {
	    tu_key("test-rsa2048.pkcs8.pem"), tu_key("test-ed25519.pkcs8.pem")};
	struct dns_resolver *r = tu_resolver();
	size_t ki, c, n;

	publish(r, "rsa._domainkey.example.com", keys[0], NULL);
	publish(r, "ed._domainkey.example.com", keys[1], NULL);
	for (ki = 0; ki < 2; ki++) {
		for (c = 0; c < 4; c++) {
			const struct dkim_verify_result *res;
			struct dkim_signer s;
			struct vmsg vm;
			char *sig;

			signer(&s, ki == 0 ? "rsa" : "ed", keys[ki]);
			s.header_canon = c & 1 ? CANON_RELAXED : CANON_SIMPLE;
			s.body_canon = c & 2 ? CANON_RELAXED : CANON_SIMPLE;
			s.expire = 86400;
			sig = sign_text(rt_text, &s, 1, 1700000000);
			CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
			res = verify(&vm, r, NULL, 1700000100, c + 1, &n, NULL);
			CHECK_INT_EQ(n, 1);
			if (n == 1) {
				CHECK_INT_EQ(res[0].result, AUTH_PASS);
				if (res[0].result != AUTH_PASS)
					fprintf(stderr,
					    "  key %zu canon %zu:"
					    " %s\n",
					    ki, c, res[0].reason);
			}
			vmsg_free(&vm);
			/* one day later plus a second: expired */
			CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
			res = verify(&vm, r, NULL, 1700086401, 0, &n, NULL);
			if (n == 1) {
				CHECK_INT_EQ(res[0].result, AUTH_FAIL);
				CHECK_STR_EQ(
				    res[0].reason, "signature expired");
			}
			vmsg_free(&vm);
			free(sig);
		}
	}
	dns_resolver_free(r);
	dkim_privkey_unref(keys[0]);
	dkim_privkey_unref(keys[1]);
}

/* Adding a second From after signing breaks the signature (From is
 * oversigned); adding a Received does not. */
static void
test_oversign(void)
{
	struct dkim_privkey *k = tu_key("test-ed25519.pkcs8.pem");
	struct dns_resolver *r = tu_resolver();
	const struct dkim_verify_result *res;
	struct dkim_signer s;
	struct buf top;
	struct vmsg vm;
	char *sig;
	size_t n;

	publish(r, "ed._domainkey.example.com", k, NULL);
	signer(&s, "ed", k);
	sig = sign_text(rt_text, &s, 1, 1700000000);
	buf_init(&top, 1 << 16);
	buf_addf(&top, "%sFrom: Mallory <m@evil.example>\r\n", sig);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	CHECK_INT_EQ(n, 1);
	if (n == 1) {
		CHECK_INT_EQ(res[0].result, AUTH_FAIL);
		CHECK_STR_EQ(res[0].reason, "signature mismatch");
	}
	vmsg_free(&vm);
	buf_reset(&top);
	buf_addf(&top, "Received: from c by d\r\n%s", sig);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	if (n == 1)
		CHECK_INT_EQ(res[0].result, AUTH_PASS);
	vmsg_free(&vm);
	buf_free(&top);
	free(sig);
	dns_resolver_free(r);
	dkim_privkey_unref(k);
}

/* rsa + ed25519 with two selectors, plus a second rsa signature with
 * other canonicalizations: shared streams, one lookup per key. */
static void
test_several(void)
{
	struct dkim_privkey *rsa = tu_key("test-rsa2048.pkcs1.pem");
	struct dkim_privkey *ed = tu_key("test-ed25519.pkcs8.pem");
	struct dns_resolver *r = tu_resolver();
	const struct dkim_verify_result *res;
	struct dkim_verify *v = NULL;
	struct dkim_signer s[3];
	struct vmsg vm;
	size_t n, i;
	char *sig;

	publish(r, "rsa._domainkey.example.com", rsa, NULL);
	publish(r, "ed._domainkey.example.com", ed, NULL);
	signer(&s[0], "rsa", rsa);
	signer(&s[1], "ed", ed);
	sig = sign_text(rt_text, s, 2, 1700000000);
	CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 3, &n, &v);
	CHECK_INT_EQ(n, 2);
	for (i = 0; res != NULL && i < n; i++)
		CHECK_INT_EQ(res[i].result, AUTH_PASS);
	if (v != NULL)
		CHECK_INT_EQ(dkim_verify_body_streams(v), 1);
	CHECK_INT_EQ(r->queries, 2);
	vmsg_free(&vm);
	free(sig);
	/* the same rsa key once more, relaxed body: two streams, still one
	 * lookup per (s, d) */
	signer(&s[2], "rsa", rsa);
	s[2].body_canon = CANON_RELAXED;
	sig = sign_text(rt_text, s, 3, 1700000000);
	CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
	r->queries = 0;
	res = verify(&vm, r, NULL, 1700000000, 0, &n, &v);
	CHECK_INT_EQ(n, 3);
	for (i = 0; res != NULL && i < n; i++)
		CHECK_INT_EQ(res[i].result, AUTH_PASS);
	if (v != NULL)
		CHECK_INT_EQ(dkim_verify_body_streams(v), 2);
	CHECK_INT_EQ(r->queries, 2);
	vmsg_free(&vm);
	/* with a limit of 2, the third is named but not evaluated */
	CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
	{
		struct dkim_verify_options o = {.max_signatures = 2};

		res = verify(&vm, r, &o, 1700000000, 0, &n, NULL);
	}
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_INT_EQ(res[0].result, AUTH_PASS);
		CHECK_INT_EQ(res[2].result, AUTH_NONE);
		CHECK_STR_EQ(res[2].reason, "not evaluated (limit)");
		CHECK_STR_EQ(res[2].domain, "example.com");
		CHECK_STR_EQ(res[2].selector, "rsa");
	}
	vmsg_free(&vm);
	free(sig);
	dns_resolver_free(r);
	dkim_privkey_unref(rsa);
	dkim_privkey_unref(ed);
}

/* A set of body streams shared with another user of the message (ARC):
 * the verifier's relaxed signature uses the stream that user made, the
 * body is hashed once per (canon, hash, l=), and the other user reads
 * its digest after the verifier finished the set. */
static void
test_shared_set(void)
{
	struct dkim_privkey *rsa = tu_key("test-rsa2048.pkcs1.pem");
	struct dns_resolver *r = tu_resolver();
	struct dkim_verify_options o = {0};
	const struct dkim_verify_result *res;
	struct dkim_sig_body *arc;
	struct dkim_verify *v = NULL;
	struct dkim_signer s[2];
	const uint8_t *hash;
	struct vmsg vm;
	size_t n, i, len = 0;
	char *sig;

	CHECK(rsa != NULL);
	publish(r, "rsa._domainkey.example.com", rsa, NULL);
	signer(&s[0], "rsa", rsa);
	signer(&s[1], "rsa", rsa);
	s[1].body_canon = CANON_RELAXED;
	sig = sign_text(rt_text, s, 2, 1700000000);
	CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
	CHECK_INT_EQ(dkim_sig_bodies_new(vm.a, &o.bodies), 0);
	CHECK_INT_EQ(
	    dkim_sig_body_for(o.bodies, CANON_RELAXED, CANON_SHA256, -1, &arc),
	    0);
	res = verify(&vm, r, &o, 1700000000, 5, &n, &v);
	CHECK_INT_EQ(n, 2);
	for (i = 0; res != NULL && i < n; i++)
		CHECK_INT_EQ(res[i].result, AUTH_PASS);
	if (v != NULL)
		CHECK_INT_EQ(dkim_verify_body_streams(v), 2);
	CHECK_INT_EQ(dkim_sig_bodies_count(o.bodies), 2);
	CHECK_INT_EQ(dkim_sig_bodies_final(o.bodies), 0);
	hash = dkim_sig_body_hash(arc, &len);
	CHECK(hash != NULL && len == 32);
	vmsg_free(&vm);
	free(sig);
	dns_resolver_free(r);
	dkim_privkey_unref(rsa);
}

/* ---- key problems and DNS outcomes ---- */

struct key_case {
	const char *name;
	enum dns_status status;
	const char *record;   /* NULL: the signing key's own record */
	const char *suffix;   /* tags after the key's own record */
	const char *identity; /* i= to sign with */
	enum auth_result want;
	const char *reason;
	bool testing;
};

static const struct key_case key_cases[] = {
    {"good", DNS_OK, NULL, NULL, NULL, AUTH_PASS, "", false},
    {"testing", DNS_OK, NULL, "; t=y", NULL, AUTH_PASS, "", true},
    {"strict, i= = d=", DNS_OK, NULL, "; t=s", "@example.com", AUTH_PASS, "",
        false},
    {"strict, i= subdomain", DNS_OK, NULL, "; t=s", "joe@sub.example.com",
        AUTH_PERMERROR, "t=s key with i= subdomain", false},
    {"tempfail", DNS_TEMPFAIL, NULL, NULL, NULL, AUTH_TEMPERROR,
        "DNS failure: fake", false},
    {"nxdomain", DNS_NXDOMAIN, NULL, NULL, NULL, AUTH_PERMERROR,
        "no key (NXDOMAIN)", false},
    {"nodata", DNS_NODATA, NULL, NULL, NULL, AUTH_PERMERROR, "no key (NODATA)",
        false},
    {"revoked", DNS_OK, "v=DKIM1; p=", NULL, NULL, AUTH_PERMERROR,
        "key revoked", false},
    {"syntax", DNS_OK, "v=DKIM1; p", NULL, NULL, AUTH_PERMERROR,
        "bad key record syntax: tag without '='", false},
    {"wrong type", DNS_OK,
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        NULL, NULL, AUTH_PERMERROR, "key type does not match a=", false},
    {"other rsa key", DNS_OK, "@test-rsa2048.record.txt", NULL, NULL, AUTH_FAIL,
        "signature mismatch", false},
    {"too small", DNS_OK, "@test-rsa512.record.txt", NULL, NULL, AUTH_PERMERROR,
        "key too small (512 bits, minimum 1024)", false},
};

static void
test_keys(void)
{
	struct dkim_privkey *k = tu_key("rfc8463-A1-rsa.private.pem");
	size_t i, n;

	for (i = 0; i < sizeof(key_cases) / sizeof(key_cases[0]); i++) {
		const struct key_case *c = &key_cases[i];
		struct dns_resolver *r = tu_resolver();
		const struct dkim_verify_result *res;
		struct dkim_signer s;
		struct vmsg vm;
		char *sig, *file = NULL;

		if (c->record != NULL && c->record[0] == '@')
			file = tu_read(c->record + 1, NULL);
		if (c->status != DNS_OK)
			tu_add(
			    r, "sel._domainkey.example.com", c->status, NULL);
		else if (c->record != NULL)
			tu_add(r, "sel._domainkey.example.com", DNS_OK,
			    file != NULL ? file : c->record);
		else
			publish(r, "sel._domainkey.example.com", k, c->suffix);
		signer(&s, "sel", k);
		s.identity = c->identity;
		sig = sign_text(rt_text, &s, 1, 1700000000);
		CHECK_INT_EQ(vmsg_load(&vm, sig, rt_text), 0);
		res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
		CHECK_INT_EQ(n, 1);
		if (n == 1) {
			CHECK_INT_EQ(res[0].result, c->want);
			CHECK_STR_EQ(res[0].reason, c->reason);
			CHECK_INT_EQ(res[0].testing, c->testing);
			if (res[0].result != c->want)
				fprintf(stderr, "  case %s: %s\n", c->name,
				    res[0].reason);
		}
		vmsg_free(&vm);
		free(sig);
		free(file);
		dns_resolver_free(r);
	}
	dkim_privkey_unref(k);
}

/* ---- malformed signatures ---- */

#define BH "bh=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=; "
#define SIG_TAIL BH "b=QUJD"

struct sig_case {
	const char *name;
	const char *value; /* the DKIM-Signature value */
	enum auth_result want;
	const char *reason;
};

static const struct sig_case sig_cases[] = {
    {"well-formed, wrong hashes",
        " v=1; a=rsa-sha256; d=example.com; s=sel; h=from:to; " SIG_TAIL,
        AUTH_FAIL, "body hash mismatch"},
    {"missing v", " a=rsa-sha256; d=example.com; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "missing v= tag"},
    {"missing a", " v=1; d=example.com; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "missing a= tag"},
    {"missing b", " v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH,
        AUTH_PERMERROR, "missing b= tag"},
    {"missing bh",
        " v=1; a=rsa-sha256; d=example.com; s=sel; h=from; "
        "b=QUJD",
        AUTH_PERMERROR, "missing bh= tag"},
    {"missing d", " v=1; a=rsa-sha256; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "missing d= tag"},
    {"missing h", " v=1; a=rsa-sha256; d=example.com; s=sel; " SIG_TAIL,
        AUTH_PERMERROR, "missing h= tag"},
    {"missing s", " v=1; a=rsa-sha256; d=example.com; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "missing s= tag"},
    {"duplicate tag",
        " v=1; v=1; a=rsa-sha256; d=example.com; s=sel; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "duplicate tag"},
    {"syntax", " v=1; a=rsa-sha256; d", AUTH_PERMERROR, "bad signature syntax"},
    {"empty", "", AUTH_PERMERROR, "missing v= tag"},
    {"v=2", " v=2; a=rsa-sha256; d=example.com; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "v= not 1"},
    {"rsa-sha1", " v=1; a=rsa-sha1; d=example.com; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "rsa-sha1 not accepted (RFC 8301)"},
    {"unknown a", " v=1; a=dsa-sha256; d=example.com; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "unknown algorithm"},
    {"bad base64 b",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "h=from; " BH "b=QUJ!",
        AUTH_PERMERROR, "bad base64 in b="},
    {"empty b", " v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH "b=",
        AUTH_PERMERROR, "bad base64 in b="},
    {"bad base64 bh",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "h=from; bh=AAA; b=QUJD",
        AUTH_PERMERROR, "bad base64 in bh="},
    {"bad c",
        " v=1; a=rsa-sha256; c=nofws; d=example.com; s=sel; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad c="},
    {"bad body c",
        " v=1; a=rsa-sha256; c=simple/x; d=example.com; "
        "s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad c="},
    {"l not numeric",
        " v=1; a=rsa-sha256; l=1x; d=example.com; s=sel; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad l="},
    {"l past the body",
        " v=1; a=rsa-sha256; l=99999; d=example.com; "
        "s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "l= exceeds body length"},
    {"x before t",
        " v=1; a=rsa-sha256; d=example.com; s=sel; t=200; "
        "x=100; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "x= not after t="},
    {"x equal t",
        " v=1; a=rsa-sha256; d=example.com; s=sel; t=200; "
        "x=200; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "x= not after t="},
    {"bad t",
        " v=1; a=rsa-sha256; d=example.com; s=sel; t=soon; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad t="},
    {"h without from",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "h=to:subject; " SIG_TAIL,
        AUTH_PERMERROR, "h= does not include From"},
    {"h empty name",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "h=from::to; " SIG_TAIL,
        AUTH_PERMERROR, "bad h="},
    {"i outside d",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "i=joe@example.net; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "i= not within d="},
    {"i suffix",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "i=@badexample.com; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "i= not within d="},
    {"i without @",
        " v=1; a=rsa-sha256; d=example.com; s=sel; "
        "i=example.com; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad i=: no @"},
    {"d with empty label",
        " v=1; a=rsa-sha256; d=example..com; s=sel; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad d=: empty label"},
    {"d with space",
        " v=1; a=rsa-sha256; d=exa mple.com; s=sel; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad d=: character not allowed"},
    {"d empty", " v=1; a=rsa-sha256; d=; s=sel; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad d=: empty"},
    {"s empty", " v=1; a=rsa-sha256; d=example.com; s=; h=from; " SIG_TAIL,
        AUTH_PERMERROR, "bad s=: empty"},
    {"unknown q",
        " v=1; a=rsa-sha256; q=http; d=example.com; s=sel; "
        "h=from; " SIG_TAIL,
        AUTH_PERMERROR, "unknown q="},
    {"unknown tags ignored",
        " v=1; a=rsa-sha256; d=example.com; "
        "s=sel; zz=1; z=a|b; h=from; " SIG_TAIL,
        AUTH_FAIL, "body hash mismatch"},
    {"key name too long",
        " v=1; a=rsa-sha256; d=example.com; h=from; "
        "s=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; " SIG_TAIL,
        AUTH_PERMERROR, "bad key name (s= and d= too long)"},
};

static void
check_sig_case(struct dns_resolver *r, const char *name, const char *value,
    enum auth_result want, const char *reason)
{
	const struct dkim_verify_result *res;
	struct buf top;
	struct vmsg vm;
	size_t n;

	buf_init(&top, 1 << 16);
	buf_addf(&top, "DKIM-Signature:%s\r\n", value);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	CHECK_INT_EQ(n, 1);
	if (n == 1) {
		CHECK_INT_EQ(res[0].result, want);
		CHECK_STR_EQ(res[0].reason, reason);
		if (res[0].result != want || strcmp(res[0].reason, reason))
			fprintf(stderr, "  case \"%s\"\n", name);
	}
	vmsg_free(&vm);
	buf_free(&top);
}

static void
test_bad_signatures(void)
{
	struct dkim_privkey *k = tu_key("rfc8463-A1-rsa.private.pem");
	struct dns_resolver *r = tu_resolver();
	struct buf v;
	size_t i;

	publish(r, "sel._domainkey.example.com", k, NULL);
	for (i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++)
		check_sig_case(r, sig_cases[i].name, sig_cases[i].value,
		    sig_cases[i].want, sig_cases[i].reason);
	/* h= with more names than BOUND_SIGNED_HEADERS */
	buf_init(&v, 1 << 16);
	buf_adds(&v, " v=1; a=rsa-sha256; d=example.com; s=sel; h=from");
	for (i = 0; i < BOUND_SIGNED_HEADERS; i++)
		buf_adds(&v, ":to");
	buf_adds(&v, "; " SIG_TAIL);
	check_sig_case(r, "huge h=", buf_cstr(&v), AUTH_PERMERROR,
	    "h= lists too many header fields");
	/* b= and bh= that are base64 but longer than any signature or
	 * digest: too long, not bad base64 (issue 10); bad text in a long
	 * b= is still bad base64 */
	buf_reset(&v);
	buf_adds(
	    &v, " v=1; a=rsa-sha256; d=example.com; s=sel; h=from; " BH "b=");
	for (i = 0; i < DKIM_SIG_MAX / 3 + 1; i++)
		buf_adds(&v, "AAAA");
	check_sig_case(
	    r, "long b=", buf_cstr(&v), AUTH_PERMERROR, "b= too long");
	buf_adds(&v, "A!==");
	check_sig_case(
	    r, "long bad b=", buf_cstr(&v), AUTH_PERMERROR, "bad base64 in b=");
	buf_reset(&v);
	buf_adds(&v, " v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=");
	for (i = 0; i < 30; i++)
		buf_adds(&v, "AAAA");
	buf_adds(&v, "; b=QUJD");
	check_sig_case(
	    r, "long bh=", buf_cstr(&v), AUTH_PERMERROR, "bh= too long");
	buf_free(&v);
	/* no resolver is a caller error */
	{
		struct dkim_verify_options o = {0};
		struct dkim_verify *dv;
		struct vmsg vm;

		CHECK_INT_EQ(vmsg_load(&vm, NULL, rt_text), 0);
		CHECK_INT_EQ(dkim_verify_begin(vm.a, &vm.m, &o, &dv), -EINVAL);
		vmsg_free(&vm);
	}
	dns_resolver_free(r);
	dkim_privkey_unref(k);
}

/* ---- what a result keeps of hostile tag values ---- */

/* Each case: the reason and the tag strings the result keeps (NULL: not
 * kept). A value that does not validate never reaches a result. */
struct tagval_case {
	const char *name;
	const char *value;
	const char *reason;
	const char *domain, *selector, *algorithm, *identity, *b_prefix;
	unsigned h_from;
};

static const struct tagval_case tagval_cases[] = {
    {"tab in d",
        " v=1; a=rsa-sha256; d=exa\tmple.com; s=x; h=from; "
        "bh=AAAA; b=AAAA",
        "bad d=: character not allowed", NULL, NULL, "rsa-sha256", NULL, "AAAA",
        0},
    {"tab in s",
        " v=1; a=rsa-sha256; d=example.com; s=x\ty; h=from; "
        "bh=AAAA; b=AAAA",
        "bad s=: character not allowed", "example.com", NULL, "rsa-sha256",
        NULL, "AAAA", 1},
    {"escaped dot in d",
        " v=1; a=rsa-sha256; d=x\\.paypal.com; s=x; "
        "h=from; " SIG_TAIL,
        "bad d=: character not allowed", NULL, NULL, "rsa-sha256", NULL, "QUJD",
        0},
    {"decimal escape in s",
        " v=1; a=rsa-sha256; d=example.com; "
        "s=a\\046b; h=from; " SIG_TAIL,
        "bad s=: character not allowed", "example.com", NULL, "rsa-sha256",
        NULL, "QUJD", 1},
    {"quote in d", " v=1; a=rsa-sha256; d=a\"b.example; s=x; h=from; " SIG_TAIL,
        "bad d=: character not allowed", NULL, NULL, "rsa-sha256", NULL, "QUJD",
        0},
    {"angle and paren in d",
        " v=1; a=rsa-sha256; d=<a>(b).example; "
        "s=x; h=from; " SIG_TAIL,
        "bad d=: character not allowed", NULL, NULL, "rsa-sha256", NULL, "QUJD",
        0},
    {"8-bit d",
        " v=1; a=rsa-sha256; d=b\xc3\xbc"
        "cher.example; s=x; "
        "h=from; " SIG_TAIL,
        "bad signature syntax", NULL, NULL, NULL, NULL, NULL, 0},
    {"final dot in d",
        " v=1; a=rsa-sha256; d=example.com.; s=x; "
        "h=from; " SIG_TAIL,
        "bad d=: empty label", NULL, NULL, "rsa-sha256", NULL, "QUJD", 0},
    {"long label in d",
        " v=1; a=rsa-sha256; d=aaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com; "
        "s=x; h=from; " SIG_TAIL,
        "bad d=: label longer than 63 bytes", NULL, NULL, "rsa-sha256", NULL,
        "QUJD", 0},
    {"unknown a", " v=1; a=rsa-sha999; d=example.com; s=x; h=from; " SIG_TAIL,
        "unknown algorithm", NULL, NULL, NULL, NULL, NULL, 0},
    {"a with junk",
        " v=1; a=rsa-sha256\"<x>; d=example.com; s=x; "
        "h=from; " SIG_TAIL,
        "unknown algorithm", NULL, NULL, NULL, NULL, NULL, 0},
    {"rsa-sha1 named",
        " v=1; a=rsa-sha1; d=example.com; s=x; h=from; " SIG_TAIL,
        "rsa-sha1 not accepted (RFC 8301)", NULL, NULL, "rsa-sha1", NULL, NULL,
        0},
    {"junk in b",
        " v=1; a=rsa-sha256; d=example.com; s=x; h=from; " BH "b=QU\"<>JD",
        "bad base64 in b=", NULL, NULL, "rsa-sha256", NULL, "QU", 0},
    {"folded b",
        " v=1; a=rsa-sha256; d=example.com; s=x; h=from; " BH "b=Q U\r\n\tJD",
        "body hash mismatch", "example.com", "x", "rsa-sha256", "@example.com",
        "QUJD", 1},
    {"quote in i",
        " v=1; a=rsa-sha256; d=example.com; s=x; h=from; "
        "i=\"a\"@example.com; " SIG_TAIL,
        "bad i=: character not allowed", "example.com", "x", "rsa-sha256", NULL,
        "QUJD", 1},
    {"long local part in i",
        " v=1; a=rsa-sha256; d=example.com; s=x; "
        "h=from; i=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com; " SIG_TAIL,
        "bad i=: local part longer than 64 bytes", "example.com", "x",
        "rsa-sha256", NULL, "QUJD", 1},
    {"tab in i domain",
        " v=1; a=rsa-sha256; d=example.com; s=x; "
        "h=from; i=a@sub\t.example.com; " SIG_TAIL,
        "bad i=: character not allowed", "example.com", "x", "rsa-sha256", NULL,
        "QUJD", 1},
    {"good i",
        " v=1; a=rsa-sha256; d=example.com; s=x; h=from; "
        "i=joe.q=40x@sub.example.com; " SIG_TAIL,
        "body hash mismatch", "example.com", "x", "rsa-sha256",
        "joe.q=40x@sub.example.com", "QUJD", 1},
    {"from signed twice",
        " v=1; a=rsa-sha256; d=example.com; s=x; "
        "h=From:to:FROM:subject:from; " SIG_TAIL,
        "body hash mismatch", "example.com", "x", "rsa-sha256", "@example.com",
        "QUJD", 3},
    {"h without from",
        " v=1; a=rsa-sha256; d=example.com; s=x; "
        "h=to:from-x:xfrom; " SIG_TAIL,
        "h= does not include From", "example.com", NULL, "rsa-sha256", NULL,
        "QUJD", 0},
    {"h unparsed",
        " v=1; a=rsa-sha256; d=example.com; s=x; "
        "h=from::from; " SIG_TAIL,
        "bad h=", "example.com", NULL, "rsa-sha256", NULL, "QUJD", 0},
};

/* A string a result keeps: NULL, or want. */
static void
check_kept(
    const char *got, const char *want, const char *what, const char *name)
{
	if (want == NULL) {
		CHECK(got == NULL);
		if (got != NULL)
			fprintf(stderr, "  case \"%s\": %s kept\n", name, what);
		return;
	}
	CHECK(got != NULL);
	if (got != NULL)
		CHECK_STR_EQ(got, want);
}

static void
test_tag_values(void)
{
	struct dkim_privkey *k = tu_key("rfc8463-A1-rsa.private.pem");
	struct dns_resolver *r = tu_resolver();
	const struct dkim_verify_result *res;
	const struct tagval_case *c;
	struct buf top;
	struct vmsg vm;
	size_t i, n;

	publish(r, "x._domainkey.example.com", k, NULL);
	for (i = 0; i < sizeof(tagval_cases) / sizeof(tagval_cases[0]); i++) {
		c = &tagval_cases[i];
		buf_init(&top, 1 << 16);
		buf_addf(&top, "DKIM-Signature:%s\r\n", c->value);
		CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
		res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
		CHECK_INT_EQ(n, 1);
		if (n == 1) {
			CHECK_STR_EQ(res[0].reason, c->reason);
			check_kept(res[0].domain, c->domain, "d=", c->name);
			check_kept(res[0].selector, c->selector, "s=", c->name);
			check_kept(
			    res[0].algorithm, c->algorithm, "a=", c->name);
			check_kept(res[0].identity, c->identity, "i=", c->name);
			check_kept(res[0].b_prefix, c->b_prefix, "b=", c->name);
			CHECK_INT_EQ(res[0].h_from, c->h_from);
		}
		vmsg_free(&vm);
		buf_free(&top);
	}
	dns_resolver_free(r);
	dkim_privkey_unref(k);
}

/* Every string a result keeps is short, whatever the signature held. */
static void
check_short(const struct dkim_verify_result *res, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		CHECK(res[i].domain == NULL || strlen(res[i].domain) <= 253);
		CHECK(
		    res[i].selector == NULL || strlen(res[i].selector) <= 253);
		CHECK(
		    res[i].algorithm == NULL || strlen(res[i].algorithm) <= 14);
		CHECK(res[i].identity == NULL ||
		      strlen(res[i].identity) <= BOUND_LOCAL_PART_LEN + 254);
		CHECK(res[i].b_prefix == NULL || strlen(res[i].b_prefix) <= 8);
		CHECK(strlen(res[i].reason) <= 300);
	}
}

/* Huge d=/s= values and signatures past the limit keep nothing large. */
static void
test_long_values(void)
{
	struct dns_resolver *r = tu_resolver();
	const struct dkim_verify_result *res;
	struct buf top, big;
	struct vmsg vm;
	size_t i, n;

	buf_init(&big, 20001);
	for (i = 0; i < 20000; i++)
		buf_addc(&big, i % 64 == 63 ? '.' : 'a');
	/* one 20,000-byte d=, then one s= */
	buf_init(&top, 1 << 20);
	buf_addf(&top,
	    "DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=x; "
	    "h=from; %s\r\n",
	    buf_cstr(&big), SIG_TAIL);
	buf_addf(&top,
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; "
	    "s=%s; h=from; %s\r\n",
	    buf_cstr(&big), SIG_TAIL);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	CHECK_INT_EQ(n, 2);
	if (n == 2) {
		CHECK_STR_EQ(res[0].reason, "bad d=: longer than 253 bytes");
		CHECK(res[0].domain == NULL);
		CHECK_STR_EQ(res[1].reason, "bad s=: longer than 253 bytes");
		CHECK(res[1].selector == NULL);
		check_short(res, n);
	}
	vmsg_free(&vm);
	/* 40 such signatures: the 32 past the limit name no d= */
	buf_reset(&top);
	for (i = 0; i < 40; i++)
		buf_addf(&top,
		    "DKIM-Signature: v=1; a=rsa-sha256; d=%s; "
		    "s=x; h=from; %s\r\n",
		    buf_cstr(&big) + i, SIG_TAIL);
	CHECK_INT_EQ(buf_error(&top), 0);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	CHECK_INT_EQ(n, 40);
	if (n == 40) {
		CHECK_STR_EQ(res[39].reason, "not evaluated (limit)");
		for (i = 0; i < n; i++)
			CHECK(res[i].domain == NULL);
		CHECK_STR_EQ(res[39].selector, "x");
		check_short(res, n);
	}
	vmsg_free(&vm);
	/* 300 short ones (the limit is 8): the rest are named by their
	 * valid d=, s= and a=, and a tab in s= is not kept */
	buf_reset(&top);
	for (i = 0; i < 300; i++)
		buf_addf(&top,
		    "DKIM-Signature: v=1; a=%s; d=example.com; "
		    "s=%s%zu; h=from; %s\r\n",
		    i == 299 ? "x<y>" : "rsa-sha256", i == 298 ? "a\t" : "s", i,
		    SIG_TAIL);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	CHECK_INT_EQ(n, 300);
	if (n == 300) {
		CHECK_STR_EQ(res[100].reason, "not evaluated (limit)");
		CHECK_STR_EQ(res[100].domain, "example.com");
		CHECK_STR_EQ(res[100].selector, "s100");
		CHECK_STR_EQ(res[100].algorithm, "rsa-sha256");
		CHECK(res[298].selector == NULL);
		CHECK_STR_EQ(res[298].domain, "example.com");
		CHECK(res[299].algorithm == NULL);
		CHECK_STR_EQ(res[299].selector, "s299");
		check_short(res, n);
	}
	vmsg_free(&vm);
	buf_free(&top);
	buf_free(&big);
	dns_resolver_free(r);
}

/* A signed field too large to hash is that signature's permerror; the
 * message and its other signatures are still evaluated. */
static void
test_header_too_large(void)
{
	static const char sigs[] =
	    "DKIM-Signature: v=1; a=rsa-sha256; c=simple/simple; "
	    "d=example.com; s=x; h=from:x-big; " SIG_TAIL "\r\n"
	    "DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=x; "
	    "h=from; " SIG_TAIL "\r\n";
	static const size_t sizes[] = {40000, 60000, 76500, 102000, 102390};
	struct dkim_privkey *k = tu_key("rfc8463-A1-rsa.private.pem");
	struct dns_resolver *r = tu_resolver();
	const struct dkim_verify_result *res;
	struct msg_header *h;
	struct vmsg vm;
	size_t i, j, n;
	char *v;
	int rc;

	publish(r, "x._domainkey.example.com", k, NULL);
	/* through msg: any field it accepts can be hashed */
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		CHECK_INT_EQ(vmsg_load(&vm, sigs, rt_text), 0);
		v = malloc(sizes[i]);
		if (v == NULL)
			abort();
		for (j = 0; j < sizes[i]; j++)
			v[j] = j % 3 == 2 && i % 2 == 0 ? '\n' : 'b';
		rc = msg_add_header(&vm.m, "X-Big", 5, v, sizes[i]);
		CHECK_INT_EQ(rc, 0); /* kept or dropped: never an error */
		res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
		CHECK_INT_EQ(n, 2);
		if (n == 2) {
			CHECK_STR_EQ(res[0].reason, "body hash mismatch");
			CHECK_STR_EQ(res[1].reason, "body hash mismatch");
		}
		free(v);
		vmsg_free(&vm);
	}
	/* a field past every bound, built by hand */
	CHECK_INT_EQ(vmsg_load(&vm, sigs, rt_text), 0);
	h = arena_alloc(vm.a, (vm.m.count + 1) * sizeof(*h));
	v = arena_alloc(vm.a, 3 * BOUND_HEADER_FIELD_BYTES + 1);
	if (h == NULL || v == NULL)
		abort();
	memcpy(h, vm.m.headers, vm.m.count * sizeof(*h));
	memset(v, 'b', 3 * BOUND_HEADER_FIELD_BYTES);
	v[3 * BOUND_HEADER_FIELD_BYTES] = '\0';
	h[vm.m.count].name = "X-Big";
	h[vm.m.count].name_len = 5;
	h[vm.m.count].value = v;
	h[vm.m.count].value_len = 3 * BOUND_HEADER_FIELD_BYTES;
	vm.m.headers = h;
	vm.m.count++;
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	CHECK_INT_EQ(n, 2);
	if (n == 2) {
		CHECK_INT_EQ(res[0].result, AUTH_PERMERROR);
		CHECK_STR_EQ(res[0].reason, "signed header too large");
		CHECK_STR_EQ(res[0].domain, "example.com");
		CHECK_INT_EQ(res[1].result, AUTH_FAIL);
		CHECK_STR_EQ(res[1].reason, "body hash mismatch");
	}
	vmsg_free(&vm);
	dns_resolver_free(r);
	dkim_privkey_unref(k);
}

/* A signature with l= shorter than the body: policy by default, pass
 * when partial bodies are allowed. */
static void
test_length_limit(void)
{
	static const char tmpl[] = " v=1; a=rsa-sha256; c=relaxed/relaxed; "
	                           "d=example.com; s=sel; l=5; h=from:to; ";
	struct dkim_privkey *k = tu_key("rfc8463-A1-rsa.private.pem");
	struct dkim_verify_options allow = {.allow_partial_body = true};
	struct dns_resolver *r = tu_resolver();
	const struct dkim_verify_result *res;
	const char *b = NULL, *bh = NULL;
	struct buf t, top;
	struct vmsg vm;
	size_t n;

	publish(r, "sel._domainkey.example.com", k, NULL);
	CHECK_INT_EQ(vmsg_load(&vm, NULL, rt_text), 0);
	buf_init(&t, 4096);
	buf_addf(&t, "%sbh=; b=", tmpl);
	CHECK_INT_EQ(dkim_sign_template(vm.a, &vm.m, k, t.data, t.len,
	                 vm.text + vm.body, vm.len - vm.body, &b, &bh),
	    0);
	buf_reset(&t);
	buf_addf(&t, "%sbh=%s; b=", tmpl, bh != NULL ? bh : "");
	CHECK_INT_EQ(dkim_sign_template(vm.a, &vm.m, k, t.data, t.len,
	                 vm.text + vm.body, vm.len - vm.body, &b, &bh),
	    0);
	buf_init(&top, 8192);
	buf_addf(&top, "DKIM-Signature:%s%s\r\n", t.data, b != NULL ? b : "");
	vmsg_free(&vm);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, NULL, 1700000000, 0, &n, NULL);
	if (n == 1) {
		CHECK_INT_EQ(res[0].result, AUTH_POLICY);
		CHECK(strncmp(res[0].reason, "l= leaves ", 10) == 0);
		CHECK(strstr(res[0].reason, " body bytes unsigned") != NULL);
	}
	vmsg_free(&vm);
	CHECK_INT_EQ(vmsg_load(&vm, buf_cstr(&top), rt_text), 0);
	res = verify(&vm, r, &allow, 1700000000, 0, &n, NULL);
	if (n == 1)
		CHECK_INT_EQ(res[0].result, AUTH_PASS);
	vmsg_free(&vm);
	buf_free(&t);
	buf_free(&top);
	dns_resolver_free(r);
	dkim_privkey_unref(k);
}

int
main(void)
{
	test_vectors();
	test_round_trips();
	test_oversign();
	test_several();
	test_shared_set();
	test_keys();
	test_bad_signatures();
	test_length_limit();
	test_tag_values();
	test_long_values();
	test_header_too_large();
	return check_summary("dkim_verify");
}
