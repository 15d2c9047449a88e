/*
 * test_dkim_key_cache.c -- the parsed-key cache: hits and misses by exact
 * record text and minimum bits (each miss is one parse), refused records
 * kept with their reason, CLOCK eviction at the bound, keys that outlive
 * their entry and the cache, expiry at the DNS TTL (on a fake clock),
 * the verifier's key lookup, the cache under dkim_verify, and 8 threads
 * verifying through one cache.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/dkim_key_cache.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/dkim_verify.h"
#include "check.h"
#include "dkim_testutil.h"

#define NOW 1700000000

/* The private key in the fixture file; exits when it cannot be had. */
static struct dkim_privkey *
key(const char *file)
{
	struct dkim_privkey *k = NULL;
	size_t len;
	char *pem = tu_read(file, &len);

	if (pem == NULL || dkim_privkey_parse(pem, len, &k, NULL) != 0) {
		fprintf(stderr, "cannot load key %s\n", file);
		exit(1);
	}
	free(pem);
	return k;
}

/* k's key record followed by extra (caller frees). */
static char *
record(const struct dkim_privkey *k, const char *extra)
{
	struct buf b;

	buf_init(&b, 4096);
	dkim_privkey_record(k, &b);
	buf_adds(&b, extra);
	return buf_steal(&b, NULL);
}

static struct dkim_key_cache_stats
stats(struct dkim_key_cache *c)
{
	struct dkim_key_cache_stats s;

	dkim_key_cache_stats(c, &s);
	return s;
}

/* One lookup of a record with the given TTL: rc, reason (refused) and
 * key bits (accepted) as expected; the key, when there is one, in
 * *ret_key (may be NULL: dropped). */
static void
lookup_ttl(struct dkim_key_cache *c, const char *rec, unsigned min_bits,
    uint32_t ttl, int want_rc, const char *want, struct dkim_pubkey **ret_key)
{
	struct dkim_pubkey *k = NULL;
	struct buf why;

	buf_init(&why, 512);
	CHECK_INT_EQ(
	    dkim_key_cache_parse(c, rec, strlen(rec), min_bits, ttl, &k, &why),
	    want_rc);
	if (want_rc == 0) {
		CHECK(k != NULL);
		CHECK_STR_EQ(buf_cstr(&why), "");
	} else {
		CHECK(k == NULL);
		CHECK_STR_EQ(buf_cstr(&why), want);
	}
	buf_free(&why);
	if (ret_key != NULL)
		*ret_key = k;
	else
		dkim_pubkey_unref(k);
}

/* lookup_ttl() with a TTL of an hour (nothing expires). */
static void
lookup(struct dkim_key_cache *c, const char *rec, unsigned min_bits,
    int want_rc, const char *want, struct dkim_pubkey **ret_key)
{
	lookup_ttl(c, rec, min_bits, 3600, want_rc, want, ret_key);
}

/* ---- hits and misses, one step at a time ---- */

struct step {
	const char *name;
	int rec; /* index into the records below */
	unsigned min_bits;
	int rc;
	const char *reason;
	unsigned long hits, misses; /* counters after the step */
};

/* clang-format off */
static const struct step steps[] = {
	{ "first rsa: parsed", 0, 0, 0, NULL, 0, 1 },
	{ "same record: hit", 0, 0, 0, NULL, 1, 1 },
	{ "explicit 1024 is the default: hit", 0, 1024, 0, NULL, 2, 1 },
	{ "other minimum: miss", 0, 2048, 0, NULL, 2, 2 },
	{ "other minimum again: hit", 0, 2048, 0, NULL, 3, 2 },
	{ "one more byte of text: miss", 1, 0, 0, NULL, 3, 3 },
	{ "revoked: parsed", 2, 0, -EINVAL, "key revoked", 3, 4 },
	{ "revoked again: kept reason", 2, 0, -EINVAL, "key revoked", 4, 4 },
	{ "too small: parsed", 3, 0, -EINVAL,
	  "key too small (512 bits, minimum 1024)", 4, 5 },
	{ "too small again: kept reason", 3, 0, -EINVAL,
	  "key too small (512 bits, minimum 1024)", 5, 5 },
	{ "too small, minimum 512: a usable key", 3, 512, 0, NULL, 5, 6 },
	{ "bad syntax: parsed", 4, 0, -EINVAL,
	  "bad key record syntax: tag without '='", 5, 7 },
	{ "bad syntax again: kept reason", 4, 0, -EINVAL,
	  "bad key record syntax: tag without '='", 6, 7 },
	{ "first rsa still there", 0, 0, 0, NULL, 7, 7 },
};
/* clang-format on */

static void
test_steps(void)
{
	struct dkim_privkey *rsa = key("test-rsa2048.pkcs8.pem");
	struct dkim_key_cache *c = dkim_key_cache_new(16);
	struct dkim_key_cache_stats s;
	char *small = tu_read("test-rsa512.record.txt", NULL);
	char *recs[5];
	size_t i;

	recs[0] = record(rsa, "");
	recs[1] = record(rsa, " ");
	recs[2] = strdup("v=DKIM1; k=rsa; p=");
	recs[3] = small;
	recs[4] = strdup("v=DKIM1; k");
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		const struct step *t = &steps[i];

		lookup(c, recs[t->rec], t->min_bits, t->rc, t->reason, NULL);
		s = stats(c);
		CHECK_INT_EQ(s.hits, t->hits);
		CHECK_INT_EQ(s.misses, t->misses);
		if (s.hits != t->hits || s.misses != t->misses)
			fprintf(stderr, "  step \"%s\"\n", t->name);
	}
	CHECK_INT_EQ(s.entries, 7);
	CHECK_INT_EQ(s.evictions, 0);
	/* a refused hit with no why buffer is still refused */
	{
		struct dkim_pubkey *k = NULL;

		CHECK_INT_EQ(dkim_key_cache_parse(c, recs[2], strlen(recs[2]),
		                 0, 3600, &k, NULL),
		    -EINVAL);
		CHECK(k == NULL);
	}
	/* no cache: a plain parse with the same outcomes */
	lookup(NULL, recs[0], 0, 0, NULL, NULL);
	lookup(NULL, recs[2], 0, -EINVAL, "key revoked", NULL);
	for (i = 0; i < 5; i++)
		free(recs[i]);
	dkim_key_cache_free(c);
	dkim_key_cache_free(NULL);
	dkim_privkey_unref(rsa);
}

/* A hit hands out the very key parsed on the miss, one more reference. */
static void
test_same_key(void)
{
	struct dkim_privkey *ed = key("test-ed25519.pkcs8.pem");
	struct dkim_key_cache *c = dkim_key_cache_new(4);
	struct dkim_pubkey *k1 = NULL, *k2 = NULL;
	char *rec = record(ed, "; t=y");

	lookup(c, rec, 0, 0, NULL, &k1);
	lookup(c, rec, 0, 0, NULL, &k2);
	CHECK(k1 != NULL && k1 == k2);
	if (k1 != NULL) {
		CHECK_INT_EQ(k1->type, DKIM_KEY_ED25519);
		CHECK(k1->testing);
	}
	dkim_pubkey_unref(k1);
	dkim_pubkey_unref(k2);
	free(rec);
	dkim_key_cache_free(c);
	dkim_privkey_unref(ed);
}

/* Whether k checks a signature made by priv (so it is alive and whole). */
static bool
key_works(const struct dkim_pubkey *k, const struct dkim_privkey *priv)
{
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	size_t len;

	memset(digest, 0x5a, sizeof(digest));
	return dkim_privkey_sign(priv, digest, sig, &len) == 0 &&
	       dkim_pubkey_verify(
	           k, dkim_privkey_alg(priv), digest, sig, len) == 0;
}

/* Bound 2: A and B fill it; a hit on A gives it a second chance, so C
 * evicts B. The key of B, held by the caller, outlives its entry; A's
 * outlives the cache. */
static void
test_eviction(void)
{
	struct dkim_privkey *rsa = key("test-rsa2048.pkcs8.pem");
	struct dkim_privkey *ed = key("test-ed25519.pkcs8.pem");
	struct dkim_key_cache *c = dkim_key_cache_new(2);
	struct dkim_pubkey *kb = NULL, *ka = NULL;
	struct dkim_key_cache_stats s;
	char *a = record(rsa, ""), *b = record(ed, ""), *cc = record(ed, " ");

	lookup(c, a, 0, 0, NULL, NULL);
	lookup(c, b, 0, 0, NULL, &kb);
	lookup(c, a, 0, 0, NULL, NULL); /* hit: A is used */
	s = stats(c);
	CHECK_INT_EQ(s.entries, 2);
	CHECK_INT_EQ(s.evictions, 0);
	lookup(c, cc, 0, 0, NULL, NULL); /* evicts B */
	s = stats(c);
	CHECK_INT_EQ(s.entries, 2);
	CHECK_INT_EQ(s.evictions, 1);
	CHECK(kb != NULL && key_works(kb, ed)); /* after its eviction */
	lookup(c, a, 0, 0, NULL, &ka);          /* still there */
	s = stats(c);
	CHECK_INT_EQ(s.hits, 2);
	CHECK_INT_EQ(s.misses, 3);
	lookup(c, b, 0, 0, NULL, NULL); /* gone: parsed again */
	s = stats(c);
	CHECK_INT_EQ(s.misses, 4);
	CHECK_INT_EQ(s.entries, 2);
	CHECK_INT_EQ(s.evictions, 2);
	dkim_pubkey_unref(kb);
	dkim_key_cache_free(c);
	CHECK(ka != NULL && key_works(ka, rsa)); /* after the cache */
	dkim_pubkey_unref(ka);
	free(a);
	free(b);
	free(cc);
	dkim_privkey_unref(rsa);
	dkim_privkey_unref(ed);
}

/* ---- expiry at the TTL ---- */

static uint64_t fake_now = 1000;

static uint64_t
fake_clock(void)
{
	return fake_now;
}

/* An entry lives the TTL it was stored with: a hit just before, a new
 * parse (a miss, one expiry) at it; a refused record the same. TTL 0
 * counts as 1 s, more than a day as a day. A key handed out before the
 * expiry still works after it. */
static void
test_ttl(void)
{
	struct dkim_privkey *rsa = key("test-rsa2048.pkcs8.pem");
	struct dkim_key_cache *c = dkim_key_cache_new(8);
	struct dkim_pubkey *held = NULL, *again = NULL;
	struct dkim_key_cache_stats s;
	char *a = record(rsa, ""), *zero = record(rsa, " "),
	     *long_ttl = record(rsa, "  ");
	const char *revoked = "v=DKIM1; k=rsa; p=";

	dkim_key_cache_set_clock(c, fake_clock);
	fake_now = 1000;
	lookup_ttl(c, a, 0, 300, 0, NULL, &held);
	lookup_ttl(c, revoked, 0, 60, -EINVAL, "key revoked", NULL);
	lookup_ttl(c, zero, 0, 0, 0, NULL, NULL);
	lookup_ttl(c, long_ttl, 0, 7 * 86400, 0, NULL, NULL);
	fake_now = 1000 + 59;
	lookup_ttl(c, a, 0, 300, 0, NULL, NULL);
	lookup_ttl(c, revoked, 0, 60, -EINVAL, "key revoked", NULL);
	lookup_ttl(c, zero, 0, 0, 0, NULL, NULL); /* 1 s: gone */
	s = stats(c);
	CHECK_INT_EQ(s.misses, 5);
	CHECK_INT_EQ(s.hits, 2);
	CHECK_INT_EQ(s.expired, 1);
	fake_now = 1000 + 60;
	lookup_ttl(c, revoked, 0, 60, -EINVAL, "key revoked", NULL);
	fake_now = 1000 + 299;
	lookup_ttl(c, a, 0, 300, 0, NULL, NULL);
	s = stats(c);
	CHECK_INT_EQ(s.misses, 6);
	CHECK_INT_EQ(s.hits, 3);
	CHECK_INT_EQ(s.expired, 2);
	fake_now = 1000 + 300;
	lookup_ttl(c, a, 0, 300, 0, NULL, &again); /* parsed again */
	s = stats(c);
	CHECK_INT_EQ(s.misses, 7);
	CHECK_INT_EQ(s.expired, 3);
	CHECK(held != NULL && again != NULL && held != again);
	CHECK(held != NULL && key_works(held, rsa));
	fake_now = 1000 + 86399;
	lookup_ttl(c, long_ttl, 0, 7 * 86400, 0, NULL, NULL);
	CHECK_INT_EQ(stats(c).hits, 4);
	fake_now = 1000 + 86400;
	lookup_ttl(c, long_ttl, 0, 7 * 86400, 0, NULL, NULL);
	s = stats(c);
	CHECK_INT_EQ(s.hits, 4);
	CHECK_INT_EQ(s.expired, 4);
	CHECK_INT_EQ(s.evictions, 0);
	dkim_pubkey_unref(held);
	dkim_pubkey_unref(again);
	dkim_key_cache_free(c);
	free(a);
	free(zero);
	free(long_ttl);
	dkim_privkey_unref(rsa);
}

/* A full cache makes room with an expired entry at once, although it was
 * hit (a live one would get a second chance and the next, not hit, would
 * go); through the verifier's lookup the TTL
 * is the DNS answer's (60 s from the test resolver). */
static void
test_ttl_eviction(void)
{
	struct dkim_privkey *rsa = key("test-rsa2048.pkcs8.pem");
	struct dkim_privkey *ed = key("test-ed25519.pkcs8.pem");
	struct dkim_key_cache *c = dkim_key_cache_new(2);
	struct dns_resolver *r = tu_resolver();
	struct dkim_key_lookup k;
	struct dkim_key_cache_stats s;
	struct arena *ar = arena_new(4096);
	char *a = record(rsa, ""), *b = record(ed, ""), *cc = record(ed, " ");

	dkim_key_cache_set_clock(c, fake_clock);
	fake_now = 5000;
	lookup_ttl(c, a, 0, 10, 0, NULL, NULL); /* first in the ring */
	lookup_ttl(c, b, 0, 3600, 0, NULL, NULL);
	fake_now = 5005;
	lookup_ttl(c, a, 0, 10, 0, NULL, NULL); /* hit: A is used */
	fake_now = 5010; /* A expired, B live and not hit */
	lookup_ttl(c, cc, 0, 3600, 0, NULL, NULL);
	s = stats(c);
	CHECK_INT_EQ(s.expired, 1);
	CHECK_INT_EQ(s.evictions, 0);
	lookup_ttl(c, b, 0, 3600, 0, NULL, NULL); /* still there */
	CHECK_INT_EQ(stats(c).hits, 2);

	/* the lookup: the answer's TTL */
	tu_add(r, "rsa._domainkey.example.com", DNS_OK, a);
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "rsa", "example.com", ar, &k), 0);
	CHECK_INT_EQ(k.result, AUTH_PASS);
	fake_now = 5010 + 59;
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "rsa", "example.com", ar, &k), 0);
	CHECK_INT_EQ(k.result, AUTH_PASS);
	s = stats(c);
	CHECK_INT_EQ(s.hits, 3);
	CHECK_INT_EQ(s.misses, 4);
	fake_now = 5010 + 60;
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "rsa", "example.com", ar, &k), 0);
	CHECK_INT_EQ(k.result, AUTH_PASS);
	CHECK(k.key != NULL && key_works(k.key, rsa));
	s = stats(c);
	CHECK_INT_EQ(s.misses, 5);
	CHECK_INT_EQ(s.expired, 2);
	arena_free(ar);
	dns_resolver_free(r);
	dkim_key_cache_free(c);
	free(a);
	free(b);
	free(cc);
	dkim_privkey_unref(rsa);
	dkim_privkey_unref(ed);
}

/* ---- through dkim_verify ---- */

static const char msg_text[] = "From: Joe <joe@example.com>\r\n"
                               "To: Sue <sue@example.org>\r\n"
                               "Subject: key cache\r\n"
                               "\r\n"
                               "Hello.\r\n";

/* msg_text with signatures by keys[i] under selectors[i] on top
 * (caller frees). */
static char *
signed_text(struct dkim_privkey **keys, const char **selectors, size_t n)
{
	struct dkim_signer s[4];
	const char *values[4];
	struct arena *a = arena_new(4096);
	struct dkim_sign *ds = NULL;
	struct msg m;
	struct buf out;
	const char *why;
	size_t body, i;

	msg_init(&m, a);
	buf_init(&out, 65536);
	for (i = 0; i < n; i++) {
		dkim_signer_init(&s[i]);
		s[i].domain = "example.com";
		s[i].selector = selectors[i];
		s[i].key = keys[i];
	}
	CHECK_INT_EQ(msg_parse(&m, msg_text, strlen(msg_text), &body, &why), 0);
	CHECK_INT_EQ(dkim_sign_begin(a, &m, s, n, &ds), 0);
	if (ds != NULL &&
	    dkim_sign_body(ds, msg_text + body, strlen(msg_text) - body) == 0 &&
	    dkim_sign_finish(ds, NOW, values) == 0)
		for (i = 0; i < n; i++)
			buf_addf(&out, "DKIM-Signature:%s\r\n", values[i]);
	buf_adds(&out, msg_text);
	arena_free(a);
	return buf_steal(&out, NULL);
}

/* Verify text through r and c; the first max results into res and
 * their t=y flags into testing (may be NULL). @return how many results
 * (0 when verifying failed). */
static size_t
verify_text(const char *text, struct dns_resolver *r, struct dkim_key_cache *c,
    enum auth_result *res, bool *testing, size_t max)
{
	struct dkim_verify_options o = {0};
	const struct dkim_verify_result *out = NULL;
	struct arena *a = arena_new(4096);
	struct dkim_verify *v = NULL;
	size_t body, n = 0, i;
	const char *why;
	struct msg m;

	o.resolver = r;
	o.key_cache = c;
	msg_init(&m, a);
	if (msg_parse(&m, text, strlen(text), &body, &why) == 0 &&
	    dkim_verify_begin(a, &m, &o, &v) == 0 &&
	    dkim_verify_body(v, text + body, strlen(text) - body) == 0 &&
	    dkim_verify_finish(v, NOW + 10, &out, &n) == 0)
		for (i = 0; i < n && i < max; i++) {
			res[i] = out[i].result;
			if (testing != NULL)
				testing[i] = out[i].testing;
		}
	arena_free(a);
	return n;
}

/* The verifier's lookup, by itself: each outcome with its reason, the
 * key held by the arena, a second lookup of the same record a hit. */
static void
test_lookup(void)
{
	struct dkim_privkey *rsa = key("test-rsa2048.pkcs8.pem");
	struct dkim_key_cache *c = dkim_key_cache_new(8);
	struct dns_resolver *r = tu_resolver();
	struct arena *a = arena_new(4096);
	struct dkim_key_lookup k;
	char long_sel[200], *rec = record(rsa, "");

	tu_add(r, "s._domainkey.example.com", DNS_OK, rec);
	tu_add(r, "bad._domainkey.example.com", DNS_OK, "v=DKIM1; p=");
	tu_add(r, "tmp._domainkey.example.com", DNS_TEMPFAIL, NULL);
	tu_add(r, "nod._domainkey.example.com", DNS_NODATA, NULL);
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "s", "example.com", a, &k), 0);
	CHECK_INT_EQ(k.result, AUTH_PASS);
	CHECK_STR_EQ(k.reason, "");
	CHECK(k.key != NULL && k.key->bits == 2048);
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "s", "example.com", a, &k), 0);
	CHECK_INT_EQ(stats(c).hits, 1);
	CHECK_INT_EQ(stats(c).misses, 1);
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "bad", "example.com", a, &k), 0);
	CHECK(k.key == NULL && k.result == AUTH_PERMERROR);
	CHECK_STR_EQ(k.reason, "key revoked");
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(NULL, r, 0, "tmp", "example.com", a, &k), 0);
	CHECK(k.key == NULL && k.result == AUTH_TEMPERROR);
	CHECK_STR_EQ(k.reason, "DNS failure: fake");
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "nod", "example.com", a, &k), 0);
	CHECK_STR_EQ(k.reason, "no key (NODATA)");
	CHECK_INT_EQ(
	    dkim_key_cache_lookup(c, r, 0, "none", "example.com", a, &k), 0);
	CHECK_STR_EQ(k.reason, "no key (NXDOMAIN)");
	memset(long_sel, 'a', sizeof(long_sel) - 1);
	long_sel[sizeof(long_sel) - 1] = '\0';
	CHECK_INT_EQ(dkim_key_cache_lookup(c, r, 0, long_sel,
	                 "example.example.example.com", a, &k),
	    0);
	CHECK_STR_EQ(k.reason, "bad key name (s= and d= too long)");
	/* the arena's cleanups drop the key references it holds */
	arena_free(a);
	free(rec);
	dns_resolver_free(r);
	dkim_key_cache_free(c);
	dkim_privkey_unref(rsa);
}

/* A second message with the same key record is a hit; a changed record
 * text is a miss and its content (t=y) is what the result shows; a
 * revoked record is refused from the cache with its reason. */
static void
test_verify(void)
{
	struct dkim_privkey *rsa = key("test-rsa2048.pkcs8.pem");
	struct dkim_privkey *keys[2] = {rsa, rsa};
	const char *sels[2] = {"k1", "gone"};
	struct dkim_key_cache *c = dkim_key_cache_new(8);
	struct dns_resolver *r1 = tu_resolver(), *r2 = tu_resolver();
	char *rec = record(rsa, ""), *rec_t = record(rsa, "; t=y");
	char *text = signed_text(keys, sels, 2);
	enum auth_result res[2];
	bool testing[2];
	struct dkim_key_cache_stats s;
	size_t round;

	tu_add(r1, "k1._domainkey.example.com", DNS_OK, rec);
	tu_add(r1, "gone._domainkey.example.com", DNS_OK, "v=DKIM1; p=");
	tu_add(r2, "k1._domainkey.example.com", DNS_OK, rec_t);
	tu_add(r2, "gone._domainkey.example.com", DNS_OK, "v=DKIM1; p=");
	for (round = 0; round < 2; round++) {
		CHECK_INT_EQ(verify_text(text, r1, c, res, testing, 2), 2);
		CHECK_INT_EQ(res[0], AUTH_PASS);
		CHECK(!testing[0]);
		CHECK_INT_EQ(res[1], AUTH_PERMERROR);
		s = stats(c);
		CHECK_INT_EQ(s.misses, 2); /* parsed once */
		CHECK_INT_EQ(s.hits, round * 2);
	}
	/* the domain changed its record: new text, new parse */
	CHECK_INT_EQ(verify_text(text, r2, c, res, testing, 2), 2);
	CHECK_INT_EQ(res[0], AUTH_PASS);
	CHECK(testing[0]);
	s = stats(c);
	CHECK_INT_EQ(s.misses, 3);
	CHECK_INT_EQ(s.hits, 3);
	/* no cache: no counters move */
	CHECK_INT_EQ(verify_text(text, r1, NULL, res, NULL, 2), 2);
	CHECK_INT_EQ(res[0], AUTH_PASS);
	CHECK_INT_EQ(stats(c).misses + stats(c).hits, 6);
	free(text);
	free(rec);
	free(rec_t);
	dns_resolver_free(r1);
	dns_resolver_free(r2);
	dkim_key_cache_free(c);
	dkim_privkey_unref(rsa);
}

/* The reason text of a refused key, through dkim_verify. */
static void
test_verify_reason(void)
{
	struct dkim_privkey *ed = key("test-ed25519.pkcs8.pem");
	const char *sel = "ed";
	struct dkim_key_cache *c = dkim_key_cache_new(8);
	struct dns_resolver *r = tu_resolver();
	char *text = signed_text(&ed, &sel, 1);
	const struct dkim_verify_result *out = NULL;
	struct dkim_verify_options o = {0};
	struct dkim_verify *v = NULL;
	size_t round, body, n = 0;
	const char *why;

	tu_add(r, "ed._domainkey.example.com", DNS_OK,
	    "v=DKIM1; k=ed25519; p=AAAA");
	o.resolver = r;
	o.key_cache = c;
	for (round = 0; round < 2; round++) {
		struct arena *a = arena_new(4096);
		struct msg m;

		msg_init(&m, a);
		CHECK_INT_EQ(msg_parse(&m, text, strlen(text), &body, &why), 0);
		CHECK_INT_EQ(dkim_verify_begin(a, &m, &o, &v), 0);
		CHECK_INT_EQ(dkim_verify_finish(v, NOW, &out, &n), 0);
		CHECK_INT_EQ(n, 1);
		if (n == 1) {
			CHECK_INT_EQ(out[0].result, AUTH_PERMERROR);
			CHECK_STR_EQ(
			    out[0].reason, "bad Ed25519 key (length 3)");
		}
		arena_free(a);
	}
	CHECK_INT_EQ(stats(c).hits, 1);
	CHECK_INT_EQ(stats(c).misses, 1);
	free(text);
	dns_resolver_free(r);
	dkim_key_cache_free(c);
	dkim_privkey_unref(ed);
}

/* ---- threads ---- */

#define THREADS 8
#define ROUNDS 40

struct worker {
	pthread_t tid;
	const char *text;
	const char *recs[3];
	struct dkim_key_cache *c;
	int bad; /* results that were not the expected ones */
};

static void *
worker_run(void *p)
{
	static const char *const names[3] = {"rsa._domainkey.example.com",
	    "ed._domainkey.example.com", "gone._domainkey.example.com"};
	static const enum auth_result want[3] = {
	    AUTH_PASS, AUTH_PASS, AUTH_PERMERROR};
	struct worker *w = p;
	struct dns_resolver *r = tu_resolver(); /* not shared: no lock */
	enum auth_result res[3];
	size_t i, k;

	for (k = 0; k < 3; k++)
		tu_add(r, names[k], DNS_OK, w->recs[k]);
	for (i = 0; i < ROUNDS; i++) {
		if (verify_text(w->text, r, w->c, res, NULL, 3) != 3) {
			w->bad++;
			continue;
		}
		for (k = 0; k < 3; k++)
			w->bad += res[k] != want[k];
	}
	dns_resolver_free(r);
	return NULL;
}

/* 8 threads verifying one message (rsa, ed25519, revoked key) through
 * one cache: roomy (nearly all hits) and of 2 entries (3 records, so
 * entries are evicted while other threads hold their keys). */
static void
test_threads(void)
{
	static const size_t sizes[2] = {16, 2};
	struct dkim_privkey *keys[3] = {
	    key("test-rsa2048.pkcs8.pem"), key("test-ed25519.pkcs8.pem"), NULL};
	const char *sels[3] = {"rsa", "ed", "gone"};
	struct worker w[THREADS];
	struct dkim_key_cache_stats s;
	char *recs[2], *text;
	size_t i, t;

	keys[2] = keys[0];
	recs[0] = record(keys[0], "");
	recs[1] = record(keys[1], "");
	text = signed_text(keys, sels, 3);
	for (i = 0; i < 2; i++) {
		struct dkim_key_cache *c = dkim_key_cache_new(sizes[i]);

		for (t = 0; t < THREADS; t++) {
			memset(&w[t], 0, sizeof(w[t]));
			w[t].text = text;
			w[t].recs[0] = recs[0];
			w[t].recs[1] = recs[1];
			w[t].recs[2] = "v=DKIM1; k=rsa; p=";
			w[t].c = c;
			CHECK_INT_EQ(
			    pthread_create(&w[t].tid, NULL, worker_run, &w[t]),
			    0);
		}
		for (t = 0; t < THREADS; t++) {
			pthread_join(w[t].tid, NULL);
			CHECK_INT_EQ(w[t].bad, 0);
		}
		s = stats(c);
		CHECK_INT_EQ(s.hits + s.misses, THREADS * ROUNDS * 3);
		CHECK(s.entries <= sizes[i]);
		if (sizes[i] >= 3) {
			/* at worst every thread misses each record once */
			CHECK(s.misses >= 3 && s.misses <= THREADS * 3);
			CHECK_INT_EQ(s.evictions, 0);
			CHECK_INT_EQ(s.entries, 3);
		} else
			/* a miss inserts unless another thread's
			 * insert of the same record came first */
			CHECK(s.evictions > 0 &&
			      s.evictions <= s.misses - s.entries);
		dkim_key_cache_free(c);
	}
	free(text);
	free(recs[0]);
	free(recs[1]);
	dkim_privkey_unref(keys[0]);
	dkim_privkey_unref(keys[1]);
}

int
main(void)
{
	test_steps();
	test_same_key();
	test_eviction();
	test_ttl();
	test_ttl_eviction();
	test_lookup();
	test_verify();
	test_verify_reason();
	test_threads();
	return check_summary("dkim_key_cache");
}
