/*
 * test_arc.c -- ARC (RFC 8617): chains sealed and validated through the
 * core (i=1, sets on top, a changed header or body, oldest-pass, cv=fail
 * sealing and its scope, 50 sets and no 51st, 4096-bit keys), every kind
 * of bad input the parser must turn into a failed chain with its reason
 * (ARC-Seal: i=1; none, duplicate and missing instances, i=0, i=51, i=01,
 * a 64 KB field, an AAR without i=), temporary key failures, the AAR
 * payload built from our Authentication-Results, the passes sealers
 * recorded, and the sealing options refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/arc.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/dkim_verify.h"
#include "check.h"
#include "dkim_testutil.h"

#define NOW 1700000000
#define DOM "forwarder.example"

static const char base_msg[] =
    "Received: from mail.author.example by mx.forwarder.example\r\n"
    "From: Author <a@author.example>\r\n"
    "To: list@list.example\r\n"
    "Subject: hello\r\n"
    "Date: Thu, 14 Jan 2015 15:00:01 -0800\r\n"
    "Message-ID: <1@author.example>\r\n"
    "\r\n"
    "Hello,\r\n"
    "a message.\r\n";

static struct dkim_privkey *key2048, *key4096;
static struct dns_resolver *dns;

/* The key record of k into the fake zone at sel._domainkey.DOM. */
static void
publish(const struct dkim_privkey *k, const char *sel)
{
	char name[256];
	struct buf rec;

	buf_init(&rec, 8192);
	CHECK_INT_EQ(dkim_privkey_record(k, &rec), 0);
	snprintf(name, sizeof(name), "%s._domainkey." DOM, sel);
	tu_add(dns, name, DNS_OK, buf_cstr(&rec));
	buf_free(&rec);
}

/* A message text parsed: header into m, body located. */
struct tmsg {
	struct arena *a;
	struct msg m;
	const char *body;
	size_t body_len;
};

static int
tmsg_load(struct tmsg *t, const char *text)
{
	const char *why;
	size_t off;
	int r;

	t->a = arena_new(65536);
	msg_init(&t->m, t->a);
	r = msg_parse(&t->m, text, strlen(text), &off, &why);
	t->body = text + off;
	t->body_len = strlen(text) - off;
	return r;
}

/* Validate text; the result lives in *ret_a (caller frees). */
static const struct arc_result *
validate(const char *text, struct arena **ret_a)
{
	struct arc_verify_options o = {0};
	const struct arc_result *res = NULL;
	struct arc_verify *v;
	struct tmsg t;

	CHECK_INT_EQ(tmsg_load(&t, text), 0);
	*ret_a = t.a;
	o.resolver = dns;
	CHECK_INT_EQ(arc_verify_begin(t.a, &t.m, &o, &v), 0);
	CHECK_INT_EQ(arc_verify_body(v, t.body, t.body_len), 0);
	CHECK_INT_EQ(arc_verify_finish(v, NOW, &res), 0);
	return res;
}

/* The status of text's chain, and its reason into why (may be NULL). */
static enum auth_result
status_of(const char *text, char *why, size_t n, unsigned *ret_failed)
{
	const struct arc_result *r;
	enum auth_result st;
	struct arena *a;

	r = validate(text, &a);
	st = r != NULL ? r->status : AUTH_PERMERROR;
	if (why != NULL)
		snprintf(why, n, "%s", r != NULL ? r->reason : "");
	if (ret_failed != NULL)
		*ret_failed = r != NULL ? r->failed_instance : 0;
	arena_free(a);
	return st;
}

/* Seal text with k (selector sel) as a chain of status st; the new text
 * (caller frees), or NULL when not sealed (why in *ret_why). */
static char *
seal(const char *text, const struct dkim_privkey *k, const char *sel,
    enum auth_result st, const char **ret_why)
{
	struct arc_seal_options o = {0};
	struct arc_chain chain;
	struct arc_sealed set;
	struct arc_seal *s;
	const char *why = NULL;
	struct tmsg t;
	struct buf out;
	char *r = NULL;

	CHECK_INT_EQ(tmsg_load(&t, text), 0);
	o.domain = DOM;
	o.selector = sel;
	o.key = k;
	CHECK_INT_EQ(arc_parse(t.a, &t.m, &chain), 0);
	CHECK_INT_EQ(arc_seal_begin(t.a, &t.m, &o, &s), 0);
	CHECK_INT_EQ(arc_seal_body(s, t.body, t.body_len), 0);
	CHECK_INT_EQ(arc_seal_finish(s, &chain, st,
	                 " mx.forwarder.example;\r\n\tdkim=pass "
	                 "header.d=author.example;\r\n\tspf=pass "
	                 "smtp.mailfrom=bounce@list.example;\r\n\t"
	                 "dmarc=pass header.from=Author.Example.",
	                 NOW, &set, &why),
	    0);
	if (ret_why != NULL)
		*ret_why = why;
	if (why == NULL) {
		buf_init(&out, 1 << 20);
		buf_addf(&out,
		    "ARC-Seal:%s\r\nARC-Message-Signature:%s\r\n"
		    "ARC-Authentication-Results:%s\r\n%s",
		    set.as, set.ams, set.aar, text);
		CHECK_INT_EQ(buf_error(&out), 0);
		r = buf_steal(&out, NULL);
		buf_free(&out);
	}
	arena_free(t.a);
	return r;
}

/* text with the first "from" replaced by "to" (caller frees). */
static char *
edit(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	size_t n = strlen(text) + strlen(to) + 1;
	char *r = malloc(n);

	CHECK(p != NULL && r != NULL);
	if (p == NULL || r == NULL) {
		free(r);
		return strdup(text);
	}
	snprintf(r, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
	return r;
}

/* i=1, then i=2 on top; what each change breaks; oldest-pass. */
static void
test_chain(void)
{
	const struct arc_result *r;
	char *m1, *m2, *x, *b1, *b2, why[256];
	struct arena *a;
	unsigned failed;

	m1 = seal(base_msg, key2048, "arc", AUTH_NONE, NULL);
	CHECK(
	    m1 != NULL && strncmp(m1, "ARC-Seal: i=1; a=rsa-sha256;", 28) == 0);
	r = validate(m1, &a);
	CHECK_INT_EQ(r->status, AUTH_PASS);
	CHECK_INT_EQ(r->count, 1);
	CHECK_INT_EQ(r->oldest_pass, 1);
	CHECK_STR_EQ(r->sets[0].sealer, DOM);
	CHECK_STR_EQ(r->sets[0].selector, "arc");
	CHECK(strstr(m1, "cv=none") != NULL);
	arena_free(a);
	m2 = seal(m1, key2048, "arc", AUTH_PASS, NULL);
	CHECK(m2 != NULL && strstr(m2, "i=2") != NULL &&
	      strstr(m2, "cv=pass") != NULL);
	r = validate(m2, &a);
	CHECK_INT_EQ(r->status, AUTH_PASS);
	CHECK_INT_EQ(r->count, 2);
	CHECK_INT_EQ(r->oldest_pass, 1);
	arena_free(a);
	/* a signed header changed: the newest AMS fails */
	x = edit(m2, "Subject: hello", "Subject: hellO");
	CHECK_INT_EQ(status_of(x, why, sizeof(why), &failed), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=2: ARC-Message-Signature signature mismatch");
	CHECK_INT_EQ(failed, 2);
	free(x);
	/* one body byte */
	x = edit(m2, "a message.", "a messagE.");
	CHECK_INT_EQ(status_of(x, why, sizeof(why), &failed), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=2: ARC-Message-Signature body hash mismatch");
	free(x);
	/* an older set changed: its seal breaks */
	x = edit(m2, "i=1; mx.forwarder.example", "i=1; mx.forwarder.exampLe");
	CHECK_INT_EQ(status_of(x, why, sizeof(why), &failed), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=2: ARC-Seal signature mismatch");
	free(x);
	/* a seal with h= (section 4.1.3 has none) */
	x = edit(m1, "ARC-Seal: i=1; a=rsa-sha256;",
	    "ARC-Seal: i=1; h=from; a=rsa-sha256;");
	CHECK_INT_EQ(status_of(x, why, sizeof(why), &failed), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=1: ARC-Seal h= not allowed");
	free(x);
	/* the body changed between the sets (a list's footer): the chain
	 * passes, the oldest AMS that verifies is the newest */
	b1 = edit(m1, "a message.\r\n", "a message.\r\n-- the list\r\n");
	b2 = seal(b1, key2048, "arc", AUTH_PASS, NULL);
	r = validate(b2, &a);
	CHECK_INT_EQ(r->status, AUTH_PASS);
	CHECK_INT_EQ(r->oldest_pass, 2);
	CHECK_INT_EQ(r->sets[0].ams, AUTH_FAIL);
	CHECK_STR_EQ(r->sets[0].ams_why, "body hash mismatch");
	arena_free(a);
	free(b1);
	free(b2);
	free(m1);
	free(m2);
}

/* A failed chain sealed with cv=fail over the new set alone (section
 * 5.1.2), and nothing sealed on it afterwards (section 5.1 step 2). */
static void
test_fail_sealing(void)
{
	const struct msg_header *set[2];
	struct dkim_sig_parsed *p = malloc(sizeof(*p));
	uint8_t digest[DKIM_DIGEST_LEN];
	struct dkim_pubkey *pk = NULL;
	const char *why, *rwhy;
	enum auth_result res;
	char *m1, *bad, *m2, *m3;
	struct tmsg t;
	struct buf rec;

	m1 = seal(base_msg, key2048, "arc", AUTH_NONE, NULL);
	bad = edit(m1, "Subject: hello", "Subject: changed");
	CHECK_INT_EQ(status_of(bad, NULL, 0, NULL), AUTH_FAIL);
	m2 = seal(bad, key2048, "arc", AUTH_FAIL, NULL);
	CHECK(m2 != NULL && strstr(m2, "cv=fail") != NULL);
	CHECK_INT_EQ(status_of(m2, NULL, 0, NULL), AUTH_FAIL);
	m3 = seal(m2, key2048, "arc", AUTH_FAIL, &why);
	CHECK(m3 == NULL);
	CHECK_STR_EQ(why, "the newest ARC-Seal says cv=fail");
	/* the i=2 seal signs its own AAR and AMS only */
	CHECK_INT_EQ(tmsg_load(&t, m2), 0);
	buf_init(&rec, 8192);
	CHECK_INT_EQ(dkim_privkey_record(key2048, &rec), 0);
	CHECK_INT_EQ(dkim_pubkey_parse(rec.data, rec.len, 0, &pk, NULL), 0);
	set[0] = &t.m.headers[2]; /* the new AAR */
	set[1] = &t.m.headers[1]; /* the new AMS */
	CHECK(msg_header_is(set[0], "ARC-Authentication-Results", 26));
	CHECK_INT_EQ(
	    dkim_sig_parse(t.a, &t.m.headers[0], DKIM_SIG_KIND_SEAL, p, &rwhy),
	    0);
	CHECK(rwhy == NULL);
	CHECK_INT_EQ(dkim_sig_hash_fields(CANON_RELAXED, set, 2,
	                 &t.m.headers[0], p->b->value, p->b->value_len, digest),
	    0);
	CHECK(pk != NULL &&
	      dkim_sig_check(p, pk, NULL, digest, &res, &rwhy) == 0 &&
	      res == AUTH_PASS);
	dkim_pubkey_unref(pk);
	buf_free(&rec);
	arena_free(t.a);
	free(p);
	free(m1);
	free(bad);
	free(m2);
}

/* 50 sets validate; a 51st is not sealed; 4096-bit keys and b= values. */
static void
test_limits(void)
{
	const struct arc_result *r;
	char *m, *n;
	const char *why;
	struct arena *a;
	int i;

	m = seal(base_msg, key4096, "big", AUTH_NONE, NULL);
	CHECK(m != NULL);
	r = validate(m, &a);
	CHECK_INT_EQ(r->status, AUTH_PASS);
	arena_free(a);
	for (i = 2; m != NULL && i <= BOUND_ARC_SETS; i++) {
		n = seal(m, key2048, "arc", AUTH_PASS, NULL);
		free(m);
		m = n;
	}
	CHECK(m != NULL);
	if (m == NULL)
		return;
	r = validate(m, &a);
	CHECK_INT_EQ(r->status, AUTH_PASS);
	CHECK_INT_EQ(r->count, 50);
	CHECK_INT_EQ(r->oldest_pass, 1);
	arena_free(a);
	n = seal(m, key2048, "arc", AUTH_PASS, &why);
	CHECK(n == NULL);
	CHECK_STR_EQ(why, "50 ARC sets already");
	free(m);
}

/* Fields for hand-made chains: structurally plausible, not signed. */
#define AS1 "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=" DOM "; s=arc; b=QUJD\r\n"
#define AMS1                                                                   \
	"ARC-Message-Signature: i=1; a=rsa-sha256; c=relaxed/relaxed; "        \
	"d=" DOM "; s=arc; h=from:to; bh=QUJD; b=QUJD\r\n"
#define AAR1 "ARC-Authentication-Results: i=1; mx.example; arc=none\r\n"
#define AS2 "ARC-Seal: i=2; a=rsa-sha256; cv=pass; d=" DOM "; s=arc; b=QUJD\r\n"
#define AMS2                                                                   \
	"ARC-Message-Signature: i=2; a=rsa-sha256; c=relaxed/relaxed; "        \
	"d=" DOM "; s=arc; h=from:to; bh=QUJD; b=QUJD\r\n"
#define AAR2 "ARC-Authentication-Results: i=2; mx.example; arc=pass\r\n"
#define BODY "From: a@author.example\r\nTo: b@list.example\r\n\r\nbody\r\n"

static const struct {
	const char *name;
	const char *text;
	const char *why; /* the reason the chain fails */
	unsigned failed; /* its instance */
} bad_cases[] = {
    {"ARC-Seal: i=1; none", "ARC-Seal: i=1; none\r\n" AMS1 AAR1 BODY,
        "ARC-Seal: bad tag list", 0},
    {"duplicate AS", AS1 AS1 AMS1 AAR1 BODY, "i=1: more than one ARC-Seal", 1},
    {"duplicate AAR", AS1 AMS1 AAR1 AAR1 BODY,
        "i=1: more than one ARC-Authentication-Results", 1},
    {"missing AMS", AS1 AAR1 BODY, "i=1: no ARC-Message-Signature", 1},
    {"missing instance", AS2 AMS2 AAR2 BODY, "i=1: no ARC set", 1},
    {"gap",
        "ARC-Seal: i=3; a=rsa-sha256; cv=pass; d=" DOM "; s=arc; b=QUJD\r\n"
        "ARC-Message-Signature: i=3; a=rsa-sha256; d=" DOM
        "; s=arc; h=from; bh=QUJD; b=QUJD\r\n"
        "ARC-Authentication-Results: i=3; mx.example; arc=pass\r\n" AS1 AMS1
            AAR1 BODY,
        "i=2: no ARC set", 2},
    {"i=0",
        "ARC-Seal: i=0; a=rsa-sha256; cv=none; d=" DOM
        "; s=arc; b=QUJD\r\n" AMS1 AAR1 BODY,
        "ARC-Seal: i=0", 0},
    {"i=51", AS1 AMS1 AAR1 "ARC-Seal: i=51; cv=pass\r\n" BODY,
        "ARC-Seal: i= above 50", 0},
    {"i=01",
        "ARC-Seal: i=01; a=rsa-sha256; cv=none; d=" DOM
        "; s=arc; b=QUJD\r\n" AMS1 AAR1 BODY,
        "ARC-Seal: i= has a leading zero", 0},
    {"i=1x", AS1 "ARC-Message-Signature: i=1x; a=rsa-sha256\r\n" AAR1 BODY,
        "ARC-Message-Signature: i= is not a number", 0},
    {"AAR without i=",
        AS1 AMS1 "ARC-Authentication-Results: mx.example; arc=none\r\n" BODY,
        "ARC-Authentication-Results: no i=", 0},
    {"AAR i= without ';'",
        AS1 AMS1 "ARC-Authentication-Results: i=1 mx.example\r\n" BODY,
        "ARC-Authentication-Results: no ';' after i=", 0},
    {"AS without i=", "ARC-Seal: a=rsa-sha256; cv=none\r\n" AMS1 AAR1 BODY,
        "ARC-Seal: no i=", 0},
    {"cv=pass at i=1",
        "ARC-Seal: i=1; a=rsa-sha256; cv=pass; d=" DOM
        "; s=arc; b=QUJD\r\n" AMS1 AAR1 BODY,
        "i=1: ARC-Seal cv=pass, not none", 1},
    {"cv=none at i=2",
        "ARC-Seal: i=2; a=rsa-sha256; cv=none; d=" DOM
        "; s=arc; b=QUJD\r\n" AMS2 AAR2 AS1 AMS1 AAR1 BODY,
        "i=2: ARC-Seal cv=none, not pass", 2},
    {"no cv",
        "ARC-Seal: i=1; a=rsa-sha256; d=" DOM
        "; s=arc; b=QUJD\r\n" AMS1 AAR1 BODY,
        "i=1: ARC-Seal has no valid cv=", 1},
    {"cv=fail below",
        AS2 AMS2 AAR2 "ARC-Seal: i=1; a=rsa-sha256; cv=fail; d=" DOM
                      "; s=arc; b=QUJD\r\n" AMS1 AAR1 BODY,
        "i=1: ARC-Seal says cv=fail", 1},
    /* structurally sound, the signatures are not */
    {"AMS without h=",
        AS1 "ARC-Message-Signature: i=1; a=rsa-sha256; d=" DOM
            "; s=arc; bh=QUJD; b=QUJD\r\n" AAR1 BODY,
        "i=1: ARC-Message-Signature missing h= tag", 1},
    {"AMS signing ARC-Seal",
        AS1 "ARC-Message-Signature: i=1; a=rsa-sha256; d=" DOM
            "; s=arc; h=from:arc-seal; bh=QUJD; b=QUJD\r\n" AAR1 BODY,
        "i=1: ARC-Message-Signature h= lists ARC-Seal", 1},
    {"no key",
        "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=nokey.example"
        "; s=arc; b=QUJD\r\n"
        "ARC-Message-Signature: i=1; a=rsa-sha256; d=nokey.example"
        "; s=arc; h=from; bh=QUJD; b=QUJD\r\n" AAR1 BODY,
        "i=1: ARC-Message-Signature no key (NXDOMAIN)", 1},
};

static void
test_bad_input(void)
{
	char why[512];
	unsigned failed;
	size_t i;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		CHECK_INT_EQ(
		    status_of(bad_cases[i].text, why, sizeof(why), &failed),
		    AUTH_FAIL);
		if (strcmp(why, bad_cases[i].why) != 0)
			fprintf(stderr, "case \"%s\":\n", bad_cases[i].name);
		CHECK_STR_EQ(why, bad_cases[i].why);
		CHECK_INT_EQ(failed, bad_cases[i].failed);
	}
	CHECK_INT_EQ(status_of(BODY, why, sizeof(why), NULL), AUTH_NONE);
}

/* text with the first field named like prefix replaced by field (caller
 * frees): the rest of the message, continuation lines included, as it
 * was. */
static char *
replace_field(const char *text, const char *prefix, const char *field)
{
	const char *p = strstr(text, prefix), *e;
	struct buf b;
	char *r;

	CHECK(p != NULL);
	if (p == NULL)
		return strdup(text);
	for (e = strstr(p, "\r\n"); e != NULL && (e[2] == ' ' || e[2] == '\t');
	     e = strstr(e + 2, "\r\n"))
		;
	buf_init(&b, 1 << 20);
	buf_add(&b, text, (size_t)(p - text));
	buf_adds(&b, field);
	buf_adds(&b, e != NULL ? e : "");
	r = buf_steal(&b, NULL);
	buf_free(&b);
	return r;
}

/* A field of 64 KB: an ARC-Seal whose b= is that long, an AAR carrying
 * that much, an AMS listing that many names: each a failed chain, at the
 * instance and for the reason it has. */
static void
test_big_fields(void)
{
	size_t n = 64 * 1024, i;
	char *big = malloc(n + 1), *field = malloc(n + 4096), why[512];
	char *m, *x;

	m = seal(base_msg, key2048, "arc", AUTH_NONE, NULL);
	CHECK(big != NULL && field != NULL && m != NULL);
	if (big == NULL || field == NULL || m == NULL)
		goto out;
	for (i = 0; i < n; i++)
		big[i] = "QUJD"[i % 4];
	big[n] = '\0';
	snprintf(field, n + 4096,
	    "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=" DOM "; s=arc; b=%s",
	    big);
	x = replace_field(m, "ARC-Seal:", field);
	CHECK_INT_EQ(status_of(x, why, sizeof(why), NULL), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=1: ARC-Seal b= too long");
	free(x);
	for (i = 0; i < n; i++)
		big[i] = "xyz "[i % 4];
	snprintf(field, n + 4096,
	    "ARC-Authentication-Results: i=1; mx.example; x=%s", big);
	x = replace_field(m, "ARC-Authentication-Results:", field);
	CHECK_INT_EQ(status_of(x, why, sizeof(why), NULL), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=1: ARC-Seal signature mismatch");
	free(x);
	for (i = 0; i < n / 5; i++)
		memcpy(big + 5 * i, ":from", 5);
	big[5 * (n / 5)] = '\0';
	snprintf(field, n + 4096,
	    "ARC-Message-Signature: i=1; a=rsa-sha256; d=" DOM
	    "; s=arc; bh=QUJD; b=QUJD; h=from%s",
	    big);
	x = replace_field(m, "ARC-Message-Signature:", field);
	CHECK_INT_EQ(status_of(x, why, sizeof(why), NULL), AUTH_FAIL);
	CHECK_STR_EQ(why, "i=1: ARC-Message-Signature h= lists too many "
	                  "header fields");
	free(x);
out:
	free(m);
	free(big);
	free(field);
}

/* A key that cannot be fetched now: temperror, and not sealed. */
static void
test_temperror(void)
{
	static const char text[] =
	    "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=temp.example; s=arc; "
	    "b=QUJD\r\n" AMS1 AAR1 BODY;
	const struct arc_result *r;
	struct arena *a;
	const char *why;
	char *m, *x;

	m = seal(base_msg, key2048, "arc", AUTH_NONE, NULL);
	x = edit(m, "s=arc;", "s=down;"); /* the AS selector comes first */
	r = validate(x, &a);
	CHECK_INT_EQ(r->status, AUTH_TEMPERROR);
	CHECK(strstr(r->reason, "DNS failure") != NULL);
	arena_free(a);
	CHECK(seal(x, key2048, "arc", AUTH_TEMPERROR, &why) == NULL);
	CHECK_STR_EQ(why, "chain status unknown");
	CHECK(seal(x, key2048, "arc", AUTH_NONE, &why) == NULL);
	CHECK_STR_EQ(why, "cv=none with ARC sets present");
	CHECK_INT_EQ(status_of(text, NULL, 0, NULL), AUTH_FAIL);
	free(m);
	free(x);
}

/* Our Authentication-Results consolidated into an AAR payload, and the
 * chain status they recorded. */
static void
test_payload(void)
{
	static const char text[] =
	    "Authentication-Results: mx.example; arc=pass (i=1);\r\n"
	    "  spf=pass smtp.mailfrom=a@author.example\r\n"
	    "Authentication-Results: other.example; arc=fail\r\n"
	    "Authentication-Results: MX.example; dkim=pass (1024-bit key; ok) "
	    "header.d=author.example\r\n" BODY;
	enum auth_result st;
	const char *p;
	struct tmsg t;

	CHECK_INT_EQ(tmsg_load(&t, text), 0);
	CHECK_INT_EQ(arc_authres_payload(
	                 t.a, &t.m, "mx.example", ARC_FORMAT_SORTED, &p, &st),
	    0);
	CHECK_STR_EQ(p, "mx.example; arc=pass (i=1); spf=pass "
	                "smtp.mailfrom=a@author.example; dkim=pass (1024-bit "
	                "key; ok) header.d=author.example");
	CHECK_INT_EQ(st, AUTH_PASS);
	CHECK_INT_EQ(arc_authres_payload(
	                 t.a, &t.m, "mx.example", ARC_FORMAT_FOLDED, &p, &st),
	    0);
	CHECK_STR_EQ(p, "mx.example;\r\n\tarc=pass (i=1);\r\n\tspf=pass "
	                "smtp.mailfrom=a@author.example;\r\n\tdkim=pass "
	                "(1024-bit key; ok) header.d=author.example");
	CHECK_INT_EQ(arc_authres_payload(
	                 t.a, &t.m, "none.example", ARC_FORMAT_FOLDED, &p, &st),
	    0);
	CHECK(p == NULL);
	CHECK_INT_EQ(st, AUTH_NONE);
	arena_free(t.a);
	CHECK_INT_EQ(tmsg_load(&t, "Authentication-Results: mx.example; "
	                           "arc=pass; arc=fail\r\n" BODY),
	    0);
	CHECK_INT_EQ(arc_authres_payload(
	                 t.a, &t.m, "mx.example", ARC_FORMAT_SORTED, &p, &st),
	    0);
	CHECK_INT_EQ(st, AUTH_PERMERROR);
	arena_free(t.a);
}

/* The passes the AARs of a passing chain recorded, newest first. */
static void
test_claims(void)
{
	const struct arc_result *r;
	const struct arc_claim *c;
	struct arena *a;
	size_t n;
	char *m, *x;

	m = seal(base_msg, key2048, "arc", AUTH_NONE, NULL);
	r = validate(m, &a);
	CHECK_INT_EQ(arc_claims(a, r, &c, &n), 0);
	CHECK_INT_EQ(n, 3);
	if (n == 3) {
		CHECK_INT_EQ(c[0].method, ARC_CLAIM_DKIM);
		CHECK_STR_EQ(c[0].domain, "author.example");
		CHECK_INT_EQ(c[1].method, ARC_CLAIM_SPF);
		CHECK_STR_EQ(c[1].domain, "list.example");
		CHECK_INT_EQ(c[2].method, ARC_CLAIM_DMARC);
		CHECK_STR_EQ(c[2].domain, "author.example");
		CHECK_STR_EQ(c[2].sealer, DOM);
		CHECK_INT_EQ(c[2].instance, 1);
	}
	arena_free(a);
	/* a failed chain records nothing anybody may rely on */
	x = edit(m, "Subject: hello", "Subject: changed");
	r = validate(x, &a);
	CHECK_INT_EQ(arc_claims(a, r, &c, &n), 0);
	CHECK_INT_EQ(n, 0);
	arena_free(a);
	free(m);
	free(x);
}

/* The h= of an AMS value, unfolded (a static buffer). */
static const char *
h_of(const char *v)
{
	static char h[1024];
	const char *p = strstr(v, " h=");
	size_t n = 0;

	if (p == NULL)
		return "";
	for (p += 3; *p != '\0' && *p != ';' && n < sizeof(h) - 1; p++)
		if (*p != '\r' && *p != '\n' && *p != '\t' && *p != ' ')
			h[n++] = *p;
	h[n] = '\0';
	return h;
}

/* What arc_seal_begin refuses; the default AMS h=. */
static void
test_seal_options(void)
{
	static const char *const with_arc[] = {
	    "From", "ARC-Seal", "Authentication-Results", "Subject"};
	struct dkim_privkey *ed = tu_key("test-ed25519.pkcs8.pem");
	struct arc_seal_options o = {0};
	struct arc_chain chain;
	struct arc_sealed set;
	struct arc_seal *s;
	const char *why;
	struct tmsg t;

	CHECK_INT_EQ(
	    tmsg_load(&t, "DKIM-Signature: v=1\r\nSubject: s\r\n" BODY), 0);
	o.domain = DOM;
	o.selector = "arc";
	o.key = ed;
	CHECK_INT_EQ(arc_seal_begin(t.a, &t.m, &o, &s), -EINVAL);
	o.key = key2048;
	o.domain = "bad domain";
	CHECK_INT_EQ(arc_seal_begin(t.a, &t.m, &o, &s), -EINVAL);
	o.domain = DOM;
	o.h = "from:arc-authentication-results";
	CHECK_INT_EQ(arc_seal_begin(t.a, &t.m, &o, &s), -EINVAL);
	o.h = NULL;
	o.headers = with_arc;
	o.n_headers = 4;
	CHECK_INT_EQ(arc_seal_begin(t.a, &t.m, &o, &s), 0);
	CHECK_INT_EQ(arc_seal_body(s, t.body, t.body_len), 0);
	CHECK_INT_EQ(arc_parse(t.a, &t.m, &chain), 0);
	CHECK_INT_EQ(arc_seal_finish(s, &chain, AUTH_NONE, "mx.example; none",
	                 NOW, &set, &why),
	    0);
	CHECK_STR_EQ(h_of(set.ams), "From:From:Subject");
	CHECK_STR_EQ(set.aar, " i=1; mx.example; none");
	/* the default list includes the DKIM-Signature fields */
	o.headers = NULL;
	o.n_headers = 0;
	CHECK_INT_EQ(arc_seal_begin(t.a, &t.m, &o, &s), 0);
	CHECK_INT_EQ(arc_seal_body(s, t.body, t.body_len), 0);
	CHECK_INT_EQ(arc_seal_finish(s, &chain, AUTH_NONE, "mx.example; none",
	                 NOW, &set, &why),
	    0);
	CHECK_STR_EQ(h_of(set.ams), "From:From:Subject:To:DKIM-Signature");
	arena_free(t.a);
	dkim_privkey_unref(ed);
}

/* A header past the bounds (msg.h drops fields) is not sealed: what we
 * would sign is not the message. */
static void
test_seal_past_bounds(void)
{
	struct buf text;
	const char *why = NULL;
	char *sealed;
	size_t i;

	buf_init(&text, 1 << 20);
	for (i = 0; i <= BOUND_HEADER_COUNT; i++)
		buf_addf(&text, "X-Filler-%zu: %zu\r\n", i, i);
	buf_adds(&text, base_msg);
	CHECK_INT_EQ(buf_error(&text), 0);
	sealed = seal(buf_cstr(&text), key2048, "arc", AUTH_NONE, &why);
	CHECK(sealed == NULL);
	CHECK_STR_EQ(why != NULL ? why : "", "header past the bounds");
	free(sealed);
	buf_free(&text);
}

/* The AMS body streams are DKIM's: one stream per (canonicalization, l=)
 * however many DKIM signatures and ARC-Message-Signatures ask for it. */
static void
test_shared_bodies(void)
{
	struct dkim_verify_options dv = {0};
	struct arc_verify_options av = {0};
	struct dkim_sig_bodies *bodies;
	struct dkim_verify *d;
	struct arc_verify *v;
	static const char *const canons[] = {
	    "relaxed/relaxed", "relaxed/simple"};
	char *m, *text;
	struct tmsg t;
	size_t i, n;

	m = seal(base_msg, key2048, "arc", AUTH_NONE, NULL);
	m = m != NULL ? m : strdup(base_msg);
	for (i = 0; i < 2; i++) {
		n = strlen(m) + 256;
		text = malloc(n);
		snprintf(text, n,
		    "DKIM-Signature: v=1; a=rsa-sha256; c=%s; d=" DOM
		    "; s=arc; h=from; bh=QUJD; b=QUJD\r\n%s",
		    canons[i], m);
		CHECK_INT_EQ(tmsg_load(&t, text), 0);
		CHECK_INT_EQ(dkim_sig_bodies_new(t.a, &bodies), 0);
		dv.resolver = av.resolver = dns;
		dv.bodies = av.bodies = bodies;
		CHECK_INT_EQ(dkim_verify_begin(t.a, &t.m, &dv, &d), 0);
		CHECK_INT_EQ(arc_verify_begin(t.a, &t.m, &av, &v), 0);
		/* the AMS is relaxed/relaxed: shared with the first */
		CHECK_INT_EQ(dkim_sig_bodies_count(bodies), i + 1);
		arena_free(t.a);
		free(text);
	}
	free(m);
}

int
main(void)
{
	key2048 = tu_key("test-rsa2048.pkcs8.pem");
	key4096 = tu_key("test-rsa4096.pem");
	dns = tu_resolver();
	publish(key2048, "arc");
	publish(key4096, "big");
	tu_add(dns, "down._domainkey." DOM, DNS_TEMPFAIL, NULL);
	tu_add(dns, "arc._domainkey.temp.example", DNS_TEMPFAIL, NULL);
	test_chain();
	test_fail_sealing();
	test_limits();
	test_bad_input();
	test_big_fields();
	test_temperror();
	test_payload();
	test_claims();
	test_seal_options();
	test_seal_past_bounds();
	test_shared_bodies();
	dns_resolver_free(dns);
	dkim_privkey_unref(key2048);
	dkim_privkey_unref(key4096);
	return check_summary("arc");
}
