/*
 * test_dkim_sig.c -- the signature machinery shared by the signer, the
 * verifier and ARC: tag values, h= selection, the header hash checked
 * against SHA-256 of hand-canonicalized text, shared body streams, and
 * the two ARC-shaped uses made and checked through the public interface
 * (a signature with h= under another field name and an i= instance; a
 * seal over a given list of fields with no h=).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"
#include "authmilter/dkim_sig.h"
#include "authmilter/tags.h"
#include "check.h"
#include "dkim_testutil.h"

struct h_case {
	const char *h;
	int want;
	size_t n;
};

static const struct h_case h_cases[] = {
    {"from", 0, 1}, {"from : to :\r\n subject", 0, 3}, {"from::to", -EINVAL, 0},
    {"from:", -EINVAL, 0}, {"", -EINVAL, 0}, {"fr om", -EINVAL, 0},
    {"a:b:c:d:e", -E2BIG, 0}, /* max 4 below */
};

static void
test_tag_values(void)
{
	struct dkim_hname names[4];
	enum canon_alg hc, bc;
	uint64_t u;
	size_t i, n;

	for (i = 0; i < sizeof(h_cases) / sizeof(h_cases[0]); i++) {
		n = 0;
		CHECK_INT_EQ(dkim_sig_split_h(h_cases[i].h,
		                 strlen(h_cases[i].h), names, 4, &n),
		    h_cases[i].want);
		if (h_cases[i].want == 0)
			CHECK_INT_EQ(n, h_cases[i].n);
	}
	CHECK_INT_EQ(dkim_sig_parse_canon("relaxed", 7, &hc, &bc), 0);
	CHECK(hc == CANON_RELAXED && bc == CANON_SIMPLE);
	CHECK_INT_EQ(dkim_sig_parse_canon("simple/relaxed", 14, &hc, &bc), 0);
	CHECK(hc == CANON_SIMPLE && bc == CANON_RELAXED);
	CHECK_INT_EQ(dkim_sig_parse_canon("relaxed/", 8, &hc, &bc), -EINVAL);
	CHECK_INT_EQ(dkim_sig_parse_canon("nofws", 5, &hc, &bc), -EINVAL);
	CHECK_INT_EQ(dkim_sig_parse_uint("1528637909", 10, &u), 0);
	CHECK_INT_EQ(u, 1528637909);
	CHECK_INT_EQ(dkim_sig_parse_uint("", 0, &u), -EINVAL);
	CHECK_INT_EQ(dkim_sig_parse_uint("12a", 3, &u), -EINVAL);
	CHECK_INT_EQ(dkim_sig_parse_uint("-1", 2, &u), -EINVAL);
	CHECK_INT_EQ(
	    dkim_sig_parse_uint("1234567890123456789", 19, &u), -EINVAL);
	CHECK(dkim_sig_name_problem("mail.example.com", 16) == NULL);
	CHECK(dkim_sig_name_problem("sel_2024-a", 10) == NULL);
	CHECK_STR_EQ(dkim_sig_name_problem("", 0), "empty");
	CHECK_STR_EQ(dkim_sig_name_problem("a..b", 4), "empty label");
	CHECK_STR_EQ(dkim_sig_name_problem("a.b.", 4), "empty label");
	CHECK_STR_EQ(dkim_sig_name_problem("a b", 3), "character not allowed");
}

/* A message of a few fields, parsed as the milter would keep them. */
struct smsg {
	struct arena *a;
	struct msg m;
};

static void
smsg_load(struct smsg *sm, const char *text)
{
	const char *why;
	size_t body;

	sm->a = arena_new(4096);
	msg_init(&sm->m, sm->a);
	CHECK_INT_EQ(msg_parse(&sm->m, text, strlen(text), &body, &why), 0);
}

static const char smsg_text[] = "Subject: first\r\n"
                                "From: A <a@example.com>\r\n"
                                "To:  b@example.org\r\n"
                                "Subject:  second  \r\n\tline\r\n"
                                "\r\n";

/* h= names take instances from the bottom up; a name with none left
 * selects nothing; select + hash_fields is hash_header. */
static void
test_select(void)
{
	const struct msg_header *f[8];
	uint8_t d1[DKIM_DIGEST_LEN], d2[DKIM_DIGEST_LEN];
	struct msg_header sig = {"X-Sig", 5, " a=1; b=QUJD", 12};
	static const char h[] = "from:Subject: subject :subject:to";
	struct smsg sm;
	size_t n;

	smsg_load(&sm, smsg_text);
	CHECK_INT_EQ(dkim_sig_select(&sm.m, h, strlen(h), f, 8, &n), 0);
	CHECK_INT_EQ(n, 4);
	if (n == 4) {
		CHECK(f[0] == &sm.m.headers[1]); /* From */
		CHECK(f[1] == &sm.m.headers[3]); /* the bottom Subject */
		CHECK(f[2] == &sm.m.headers[0]); /* the top one */
		CHECK(f[3] == &sm.m.headers[2]); /* To */
	}
	CHECK_INT_EQ(dkim_sig_select(&sm.m, h, strlen(h), f, 4, &n), -E2BIG);
	CHECK_INT_EQ(dkim_sig_select(&sm.m, "from:", 5, f, 8, &n), -EINVAL);
	CHECK_INT_EQ(dkim_sig_hash_header(&sm.m, CANON_RELAXED, h, strlen(h),
	                 &sig, sig.value + 8, 4, d1),
	    0);
	CHECK_INT_EQ(dkim_sig_select(&sm.m, h, strlen(h), f, 8, &n), 0);
	CHECK_INT_EQ(dkim_sig_hash_fields(
	                 CANON_RELAXED, f, n, &sig, sig.value + 8, 4, d2),
	    0);
	CHECK_MEM_EQ(d1, sizeof(d1), d2, sizeof(d2));
	arena_free(sm.a);
}

static void
sha256(const char *text, uint8_t *digest)
{
	unsigned len = 0;

	CHECK_INT_EQ(
	    EVP_Digest(text, strlen(text), digest, &len, EVP_sha256(), NULL),
	    1);
	CHECK_INT_EQ(len, DKIM_DIGEST_LEN);
}

/* The hash of given fields in a given order (an ARC-Seal's input),
 * against SHA-256 of the canonical text written out by hand (RFC 6376
 * section 3.4.1/3.4.2, section 3.7: b= value and its whitespace deleted,
 * no final CRLF). */
static const struct {
	enum canon_alg hc;
	size_t n;         /* of the two fields, in the order given */
	const char *text; /* what is hashed */
} hash_cases[] = {
    {CANON_RELAXED, 2,
        "subject:second line\r\n"
        "from:A <a@example.com>\r\n"
        "arc-seal:i=1; a=rsa-sha256; cv=none; d=example.org; s=sel; b="},
    {CANON_SIMPLE, 2,
        "Subject:  second  \r\n\tline\r\n"
        "From: A <a@example.com>\r\n"
        "ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.org; s=sel; b="},
    /* no fields at all: the seal alone */
    {CANON_RELAXED, 0,
        "arc-seal:i=1; a=rsa-sha256; cv=none; d=example.org; s=sel; b="},
};

static void
test_hash_fields(void)
{
	static const char seal[] = " i=1; a=rsa-sha256; cv=none; "
	                           "d=example.org; s=sel; b=QUJD\r\n\t RA== ";
	const struct msg_header *f[2];
	uint8_t got[DKIM_DIGEST_LEN], want[DKIM_DIGEST_LEN];
	struct msg_header sig = {"ARC-Seal", 8, seal, sizeof(seal) - 1};
	const char *b = strstr(seal, "QUJD");
	struct smsg sm;
	size_t i;

	smsg_load(&sm, smsg_text);
	/* the order given, not the message's */
	f[0] = &sm.m.headers[3];
	f[1] = &sm.m.headers[1];
	for (i = 0; i < sizeof(hash_cases) / sizeof(hash_cases[0]); i++) {
		CHECK_INT_EQ(dkim_sig_hash_fields(hash_cases[i].hc, f,
		                 hash_cases[i].n, &sig, b, 12, got),
		    0);
		sha256(hash_cases[i].text, want);
		CHECK_MEM_EQ(got, sizeof(got), want, sizeof(want));
	}
	arena_free(sm.a);
}

/* One stream per (canon, hash, l=) in a set, whoever asks; final is once
 * and repeatable; the digest is the one a lone stream gives. */
static void
test_bodies(void)
{
	static const char body[] = "Hello  \r\nworld\r\n\r\n\r\n";
	struct dkim_sig_body *r1, *r2, *s1, *l5;
	struct dkim_sig_bodies *set;
	struct canon_body *lone;
	uint8_t want[CANON_DIGEST_MAX];
	const uint8_t *got;
	struct arena *a = arena_new(4096);
	size_t len, wlen;

	CHECK_INT_EQ(dkim_sig_bodies_new(a, &set), 0);
	CHECK_INT_EQ(
	    dkim_sig_body_for(set, CANON_RELAXED, CANON_SHA256, -1, &r1), 0);
	CHECK_INT_EQ(
	    dkim_sig_body_for(set, CANON_SIMPLE, CANON_SHA256, -1, &s1), 0);
	/* a second user (ARC) asking for the same triple */
	CHECK_INT_EQ(
	    dkim_sig_body_for(set, CANON_RELAXED, CANON_SHA256, -1, &r2), 0);
	CHECK(r1 == r2 && r1 != s1);
	CHECK_INT_EQ(
	    dkim_sig_body_for(set, CANON_RELAXED, CANON_SHA256, 5, &l5), 0);
	CHECK(l5 != r1);
	CHECK_INT_EQ(dkim_sig_bodies_count(set), 3);
	CHECK_INT_EQ(dkim_sig_bodies_update(set, body, 7), 0);
	CHECK_INT_EQ(
	    dkim_sig_bodies_update(set, body + 7, strlen(body) - 7), 0);
	CHECK_INT_EQ(dkim_sig_bodies_final(set), 0);
	CHECK_INT_EQ(dkim_sig_bodies_final(set), 0); /* the second user */
	CHECK_INT_EQ(
	    canon_body_new(a, CANON_RELAXED, CANON_SHA256, -1, &lone), 0);
	CHECK_INT_EQ(canon_body_update(lone, body, strlen(body)), 0);
	CHECK_INT_EQ(canon_body_final(lone, want, &wlen), 0);
	got = dkim_sig_body_hash(r1, &len);
	CHECK_MEM_EQ(got, len, want, wlen);
	/* "Hello\r\nworld\r\n": 14 canonical bytes, 5 of them under l=5 */
	CHECK_INT_EQ(dkim_sig_body_length(r1), 14);
	CHECK_INT_EQ(dkim_sig_body_length(l5), 14);
	got = dkim_sig_body_hash(l5, &len);
	CHECK(len == wlen && memcmp(got, want, len) != 0);
	arena_free(a);
}

/* The public key that goes with k (caller unrefs), or NULL. */
static struct dkim_pubkey *
public_of(const struct dkim_privkey *k)
{
	struct dkim_pubkey *pk = NULL;
	struct buf rec;

	buf_init(&rec, 8192);
	CHECK_INT_EQ(dkim_privkey_record(k, &rec), 0);
	CHECK_INT_EQ(dkim_pubkey_parse(rec.data, rec.len, 0, &pk, NULL), 0);
	buf_free(&rec);
	return pk;
}

/* Every line of a folded field (name and colon included) fits in 78. */
static void
check_folded(const char *name, const char *v)
{
	size_t col = strlen(name) + 1;

	for (; *v != '\0'; v++) {
		if (v[0] == '\r' && v[1] == '\n') {
			CHECK(v[2] == '\t');
			col = 0;
			v++;
			continue;
		}
		col++;
		CHECK(col <= 78);
		if (col > 78)
			break;
	}
}

/* The b= of a received field (whole value) and the digest over it. */
static int
check_received(struct dkim_pubkey *pk, const struct msg *m,
    const struct msg_header *field, const struct msg_header *const *fields,
    size_t n)
{
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	const struct tag *tb, *th;
	struct tag_list tl;
	const char *why;
	size_t where, siglen;
	int r;

	if (tags_parse(field->value, field->value_len, &tl, &why, &where) != 0)
		return -EINVAL;
	tb = tags_find(&tl, "b");
	th = tags_find(&tl, "h");
	if (tb == NULL || b64_decode(tb->value, tb->value_len, B64_FWS, sig,
	                      sizeof(sig), &siglen) != 0)
		return -EINVAL;
	if (th != NULL)
		r = dkim_sig_hash_header(m, CANON_RELAXED, th->value,
		    th->value_len, field, tb->value, tb->value_len, digest);
	else
		r = dkim_sig_hash_fields(CANON_RELAXED, fields, n, field,
		    tb->value, tb->value_len, digest);
	if (r != 0)
		return r;
	return dkim_pubkey_verify(pk, DKIM_ALG_RSA_SHA256, digest, sig, siglen);
}

/* Tag name and value pairs, NULL-terminated. */
static const char *const ams_tags[] = {"i=", "1", "a=", "rsa-sha256",
    "c=", "relaxed/relaxed", "d=", "forwarder.example", "s=", "arc",
    "t=", "1700000000", NULL};
static const char *const as_tags[] = {"i=", "1", "a=", "rsa-sha256",
    "t=", "1700000000", "cv=", "none", "d=", "forwarder.example", "s=", "arc",
    NULL};

static void
write_tags(struct dkim_sig_writer *w, const char *const *pairs)
{
	for (; pairs[0] != NULL; pairs += 2)
		dkim_sig_write_tag(w, pairs[0], pairs[1]);
}

/* An ARC-Message-Signature and then an ARC-Seal over it, made with the
 * writer and checked from their text, the way ARC will use the module. */
static void
test_arc_shaped(void)
{
	struct dkim_privkey *k = tu_key("test-rsa2048.pkcs8.pem");
	struct dkim_pubkey *pk = k != NULL ? public_of(k) : NULL;
	struct msg_header field, ams, aar, as;
	const struct msg_header *set[3];
	uint8_t digest[DKIM_DIGEST_LEN];
	struct dkim_sig_writer w;
	struct buf v1, v2;
	struct smsg sm;
	char *h = NULL;

	CHECK(k != NULL && pk != NULL);
	if (pk == NULL) {
		dkim_privkey_unref(k);
		return;
	}
	smsg_load(&sm, smsg_text);
	buf_init(&v1, 32768);
	buf_init(&v2, 32768);
	/* the AMS: h= from the default list, the instance in i= */
	CHECK_INT_EQ(dkim_sig_build_h(sm.a, &sm.m, NULL, 0, NULL, 0, &h), 0);
	CHECK_STR_EQ(h, "From:From:Subject:Subject:To");
	dkim_sig_writer_init(&w, &v1, "ARC-Message-Signature");
	write_tags(&w, ams_tags);
	dkim_sig_write_h(&w, h);
	dkim_sig_write_tag(
	    &w, "bh=", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	dkim_sig_write_b(&w);
	dkim_sig_writer_field(&w, &field);
	CHECK_STR_EQ(field.name, "ARC-Message-Signature");
	CHECK_INT_EQ(dkim_sig_hash_header(&sm.m, CANON_RELAXED, h, strlen(h),
	                 &field, dkim_sig_writer_b(&w), 0, digest),
	    0);
	CHECK_INT_EQ(dkim_sig_write_signature(&w, k, digest), 0);
	check_folded("ARC-Message-Signature", buf_cstr(&v1));
	ams.name = "ARC-Message-Signature";
	ams.name_len = strlen(ams.name);
	ams.value = buf_cstr(&v1);
	ams.value_len = v1.len;
	CHECK_INT_EQ(check_received(pk, &sm.m, &ams, NULL, 0), 0);
	/* the AS over the AAR and the AMS, then itself */
	aar.name = "ARC-Authentication-Results";
	aar.name_len = strlen(aar.name);
	aar.value = " i=1; mx.forwarder.example; dkim=pass";
	aar.value_len = strlen(aar.value);
	set[0] = &aar;
	set[1] = &ams;
	dkim_sig_writer_init(&w, &v2, "ARC-Seal");
	write_tags(&w, as_tags);
	dkim_sig_write_b(&w);
	dkim_sig_writer_field(&w, &field);
	CHECK_INT_EQ(dkim_sig_hash_fields(CANON_RELAXED, set, 2, &field,
	                 dkim_sig_writer_b(&w), 0, digest),
	    0);
	CHECK_INT_EQ(dkim_sig_write_signature(&w, k, digest), 0);
	check_folded("ARC-Seal", buf_cstr(&v2));
	as.name = "ARC-Seal";
	as.name_len = 8;
	as.value = buf_cstr(&v2);
	as.value_len = v2.len;
	CHECK_INT_EQ(check_received(pk, &sm.m, &as, set, 2), 0);
	/* what each covers: a changed signed header breaks the AMS, the
	 * other order of the set breaks the AS */
	sm.m.headers[2].value = " c@example.org";
	CHECK_INT_EQ(check_received(pk, &sm.m, &ams, NULL, 0), -EBADMSG);
	set[0] = &ams;
	set[1] = &aar;
	CHECK_INT_EQ(check_received(pk, &sm.m, &as, set, 2), -EBADMSG);
	buf_free(&v1);
	buf_free(&v2);
	arena_free(sm.a);
	dkim_pubkey_unref(pk);
	dkim_privkey_unref(k);
}

/* dkim_sig_parse per kind: the reason of the first problem, or NULL. */
static const struct {
	enum dkim_sig_kind kind;
	const char *value;
	const char *why;
} parse_cases[] = {
    {DKIM_SIG_KIND_DKIM,
        "v=1; a=rsa-sha256; d=ex.org; s=s; h=From; bh=QUJD; b=QUJD", NULL},
    {DKIM_SIG_KIND_DKIM, "a=rsa-sha256; d=ex.org; s=s; h=From; bh=QUJD; b=QUJD",
        "missing v= tag"},
    /* a message signature has no v=, and one is ignored */
    {DKIM_SIG_KIND_MESSAGE,
        "i=1; a=rsa-sha256; d=ex.org; s=s; h=From; bh=QUJD; b=QUJD", NULL},
    {DKIM_SIG_KIND_MESSAGE,
        "v=2; a=rsa-sha256; d=ex.org; s=s; h=From; bh=QUJD; b=QUJD", NULL},
    {DKIM_SIG_KIND_MESSAGE, "a=rsa-sha256; d=ex.org; s=s; h=From; b=QUJD",
        "missing bh= tag"},
    {DKIM_SIG_KIND_MESSAGE,
        "a=rsa-sha256; d=ex.org; s=s; h=To; bh=QUJD; b=QUJD",
        "h= does not include From"},
    /* a seal: no h=, no bh= needed, c= l= x= not looked at */
    {DKIM_SIG_KIND_SEAL, "i=1; a=rsa-sha256; cv=none; d=ex.org; s=s; b=QUJD",
        NULL},
    {DKIM_SIG_KIND_SEAL,
        "i=1; a=rsa-sha256; d=ex.org; s=s; c=bogus; l=x; x=1; b=QUJD", NULL},
    {DKIM_SIG_KIND_SEAL, "i=1; a=rsa-sha256; d=ex.org; s=s; h=From; b=QUJD",
        "h= not allowed"},
    {DKIM_SIG_KIND_SEAL, "i=1; a=rsa-sha1; d=ex.org; s=s; b=QUJD",
        "rsa-sha1 not accepted (RFC 8301)"},
    {DKIM_SIG_KIND_SEAL,
        "i=1; a=rsa-sha256; d=ex.org; s=s; b=", "bad base64 in b="},
    {DKIM_SIG_KIND_SEAL, "i=1; none", "bad signature syntax"},
    {DKIM_SIG_KIND_SEAL, "i=1; i=2; a=rsa-sha256", "duplicate tag"},
    {DKIM_SIG_KIND_SEAL, "a=rsa-sha256; d=ex..org; s=s; b=QUJD",
        "bad d=: empty label"},
    {DKIM_SIG_KIND_SEAL, "a=rsa-sha256; d=ex.org; s=s; t=5; b=QUJD", NULL},
};

static void
test_parse(void)
{
	struct dkim_sig_parsed *p = malloc(sizeof(*p));
	struct arena *a = arena_new(4096);
	struct msg_header f = {"X-Sig", 5, NULL, 0};
	const char *why;
	size_t i;

	for (i = 0;
	     p != NULL && i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		f.value = parse_cases[i].value;
		f.value_len = strlen(f.value);
		CHECK_INT_EQ(
		    dkim_sig_parse(a, &f, parse_cases[i].kind, p, &why), 0);
		if (parse_cases[i].why == NULL) {
			CHECK(why == NULL);
			if (why != NULL)
				fprintf(stderr, "case %zu: %s\n", i, why);
			CHECK(p->b != NULL && p->domain != NULL);
		} else {
			CHECK_STR_EQ(why, parse_cases[i].why);
		}
	}
	/* what parsed before the problem is kept */
	f.value = "a=rsa-sha256; d=ex.org; s=s; h=To; bh=QUJD; b=QUJD";
	f.value_len = strlen(f.value);
	CHECK_INT_EQ(dkim_sig_parse(a, &f, DKIM_SIG_KIND_DKIM, p, &why), 0);
	CHECK_STR_EQ(why, "missing v= tag");
	CHECK_INT_EQ(dkim_sig_parse(a, &f, DKIM_SIG_KIND_MESSAGE, p, &why), 0);
	CHECK_STR_EQ(p->domain, "ex.org");
	CHECK_STR_EQ(p->algorithm, "rsa-sha256");
	CHECK_STR_EQ(p->b_prefix, "QUJD");
	CHECK(p->selector == NULL); /* s= comes after h= */
	free(p);
	arena_free(a);
}

/* The flat writer: tags in the order written, "; " between them, none
 * after the last, b= in its place and the signature put there; the seal
 * then parses and checks (dkim_sig_parse, dkim_sig_check). */
static void
test_flat_writer(void)
{
	struct dkim_privkey *k = tu_key("test-rsa2048.pkcs8.pem");
	struct dkim_pubkey *pk = k != NULL ? public_of(k) : NULL;
	struct dkim_sig_parsed *p = malloc(sizeof(*p));
	struct arena *a = arena_new(4096);
	const struct msg_header *set[1];
	struct msg_header field, aar;
	uint8_t digest[DKIM_DIGEST_LEN];
	struct dkim_sig_writer w;
	enum auth_result res;
	const char *why, *v;
	struct buf b;

	CHECK(pk != NULL && p != NULL);
	if (pk == NULL || p == NULL)
		goto out;
	buf_init(&b, 8192);
	dkim_sig_writer_flat(&w, &b, "ARC-Seal");
	dkim_sig_write_tag(&w, "a=", "rsa-sha256");
	dkim_sig_write_b(&w);
	dkim_sig_write_tag(&w, "cv=", "none");
	dkim_sig_write_tag(&w, "d=", "forwarder.example");
	dkim_sig_write_h(&w, "from:to");
	CHECK_STR_EQ(buf_cstr(&b), " a=rsa-sha256; b=; cv=none; "
	                           "d=forwarder.example; h=from:to");
	CHECK_STR_EQ(dkim_sig_writer_b(&w), "; cv=none; "
	                                    "d=forwarder.example; h=from:to");
	buf_reset(&b);
	dkim_sig_writer_flat(&w, &b, "ARC-Seal");
	dkim_sig_write_tag(&w, "a=", "rsa-sha256");
	dkim_sig_write_b(&w);
	dkim_sig_write_tag(&w, "cv=", "none");
	dkim_sig_write_tag(&w, "d=", "forwarder.example");
	dkim_sig_write_tag(&w, "i=", "1");
	dkim_sig_write_tag(&w, "s=", "arc");
	dkim_sig_writer_field(&w, &field);
	aar.name = "ARC-Authentication-Results";
	aar.name_len = strlen(aar.name);
	aar.value = " i=1; mx.forwarder.example; arc=none";
	aar.value_len = strlen(aar.value);
	set[0] = &aar;
	CHECK_INT_EQ(dkim_sig_hash_fields(CANON_RELAXED, set, 1, &field,
	                 dkim_sig_writer_b(&w), 0, digest),
	    0);
	CHECK_INT_EQ(dkim_sig_write_signature(&w, k, digest), 0);
	v = buf_cstr(&b);
	CHECK(strncmp(v, " a=rsa-sha256; b=", 17) == 0);
	CHECK(strstr(v, "=; cv=none; d=forwarder.example; i=1; s=arc") != NULL);
	CHECK(strchr(v, '\r') == NULL);
	dkim_sig_writer_field(&w, &field);
	CHECK_INT_EQ(dkim_sig_parse(a, &field, DKIM_SIG_KIND_SEAL, p, &why), 0);
	CHECK(why == NULL);
	CHECK_INT_EQ(p->sig_len, 256);
	CHECK_INT_EQ(dkim_sig_hash_fields(CANON_RELAXED, set, 1, &field,
	                 p->b->value, p->b->value_len, digest),
	    0);
	CHECK_INT_EQ(dkim_sig_check(p, pk, NULL, digest, &res, &why), 0);
	CHECK_INT_EQ(res, AUTH_PASS);
	digest[0] ^= 1;
	CHECK_INT_EQ(dkim_sig_check(p, pk, NULL, digest, &res, &why), 0);
	CHECK_INT_EQ(res, AUTH_FAIL);
	CHECK_STR_EQ(why, "signature mismatch");
	buf_free(&b);
out:
	free(p);
	arena_free(a);
	dkim_pubkey_unref(pk);
	dkim_privkey_unref(k);
}

int
main(void)
{
	test_tag_values();
	test_select();
	test_hash_fields();
	test_bodies();
	test_arc_shaped();
	test_parse();
	test_flat_writer();
	return check_summary("dkim_sig");
}
