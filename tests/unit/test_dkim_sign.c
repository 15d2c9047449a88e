/*
 * test_dkim_sign.c -- the byte-exact RFC 8463 b= values, header
 * selection and oversigning, folding, shared body streams, bad signer
 * configurations (the machinery shared with the verifier: test_dkim_sig.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/bounds.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/tags.h"
#include "check.h"
#include "dkim_testutil.h"

struct loaded {
	struct arena *a;
	struct msg m;
	char *data;       /* CRLF message */
	size_t len, body; /* body: offset of the body */
};

static int
load_msg(struct loaded *l, const char *file)
{
	const char *why;
	size_t n;
	char *lf = tu_read(file, &n);

	memset(l, 0, sizeof(*l));
	if (lf == NULL)
		return -1;
	l->data = tu_crlf(lf, n, &l->len);
	free(lf);
	l->a = arena_new(4096);
	msg_init(&l->m, l->a);
	return msg_parse(&l->m, l->data, l->len, &l->body, &why);
}

static void
unload(struct loaded *l)
{
	arena_free(l->a);
	free(l->data);
}

/* base64 text without whitespace, for comparing b= values. */
static void
strip_ws(char *out, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			out[o++] = s[i];
	out[o] = '\0';
}

/* RFC 8463 Appendix A.3: both signatures reproduced byte for byte from
 * the RFC keys and the RFC's own tag lists with b= emptied. */
static void
test_rfc8463_exact(void)
{
	struct dkim_privkey *ed = tu_key("rfc8463-A1-ed25519.seed.b64");
	struct dkim_privkey *rsa = tu_key("rfc8463-A1-rsa.private.pem");
	size_t pos = 0, done = 0;
	const struct msg_header *h;
	struct loaded l;

	CHECK(ed != NULL && rsa != NULL);
	CHECK_INT_EQ(load_msg(&l, "rfc8463-A3-signed.eml"), 0);
	while ((h = msg_find(&l.m, "DKIM-Signature", &pos)) != NULL) {
		const struct tag *tb, *tbh, *ta;
		const char *why, *b = NULL, *bh = NULL;
		char want_b[1024], want_bh[128], *tmpl;
		struct tag_list tl;
		size_t where, tlen;

		CHECK_INT_EQ(
		    tags_parse(h->value, h->value_len, &tl, &why, &where), 0);
		tb = tags_find(&tl, "b");
		tbh = tags_find(&tl, "bh");
		ta = tags_find(&tl, "a");
		CHECK(tb != NULL && tbh != NULL && ta != NULL);
		if (tb == NULL || tbh == NULL || ta == NULL)
			break;
		strip_ws(want_b, tb->value, tb->value_len);
		strip_ws(want_bh, tbh->value, tbh->value_len);
		/* the template: the field with the b= value cut out */
		tmpl = malloc(h->value_len + 1);
		tlen = (size_t)(tb->value - h->value);
		memcpy(tmpl, h->value, tlen);
		memcpy(tmpl + tlen, tb->value + tb->value_len,
		    h->value_len - tlen - tb->value_len);
		tlen += h->value_len - tlen - tb->value_len;
		CHECK_INT_EQ(
		    dkim_sign_template(l.a, &l.m,
		        tags_value_is(ta, "rsa-sha256") ? rsa : ed, tmpl, tlen,
		        l.data + l.body, l.len - l.body, &b, &bh),
		    0);
		CHECK_STR_EQ(bh, want_bh);
		CHECK_STR_EQ(b, want_b);
		/* the same template with the other key is refused (a=) */
		CHECK_INT_EQ(
		    dkim_sign_template(l.a, &l.m,
		        tags_value_is(ta, "rsa-sha256") ? ed : rsa, tmpl, tlen,
		        l.data + l.body, l.len - l.body, &b, &bh),
		    -EINVAL);
		/* and a template whose b= is not empty */
		CHECK_INT_EQ(dkim_sign_template(l.a, &l.m, ed, h->value,
		                 h->value_len, l.data, 0, &b, &bh),
		    -EINVAL);
		free(tmpl);
		done++;
	}
	CHECK_INT_EQ(done, 2);
	unload(&l);
	dkim_privkey_unref(ed);
	dkim_privkey_unref(rsa);
}

static const char sample[] = "From: Joe <joe@example.com>\r\n"
                             "To: Suzie <suzie@example.net>\r\n"
                             "Subject: dinner\r\n"
                             "Received: from x by y\r\n"
                             "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
                             "Message-ID: <1@example.com>\r\n"
                             "X-Mailer: test\r\n"
                             "\r\n"
                             "Hi.\r\n";

static int
load_sample(struct loaded *l, const char *text)
{
	const char *why;

	memset(l, 0, sizeof(*l));
	l->len = strlen(text);
	l->data = malloc(l->len + 1);
	memcpy(l->data, text, l->len + 1);
	l->a = arena_new(4096);
	msg_init(&l->m, l->a);
	return msg_parse(&l->m, l->data, l->len, &l->body, &why);
}

/* The h= list of a produced signature, whitespace removed. */
static void
h_of(const char *value, char *out, size_t max)
{
	struct tag_list tl;
	const struct tag *t;
	const char *why;
	size_t where;

	out[0] = '\0';
	if (tags_parse(value, strlen(value), &tl, &why, &where) != 0 ||
	    (t = tags_find(&tl, "h")) == NULL || t->value_len * 2 >= max)
		return;
	strip_ws(out, t->value, t->value_len);
}

static const char *
sign_sample(struct loaded *l, const struct dkim_signer *s, size_t n,
    const char **values)
{
	struct dkim_sign *ds = NULL;

	CHECK_INT_EQ(dkim_sign_begin(l->a, &l->m, s, n, &ds), 0);
	if (ds == NULL)
		return NULL;
	CHECK_INT_EQ(
	    dkim_sign_body(ds, l->data + l->body, l->len - l->body), 0);
	CHECK_INT_EQ(dkim_sign_finish(ds, 1700000000, values), 0);
	return values[0];
}

static void
test_header_selection(void)
{
	static const char *const mine[] = {
	    "subject", "X-Mailer", "To", "Subject", "X-Absent"};
	static const char *const over[] = {"Subject", "Reply-To"};
	struct dkim_privkey *k = tu_key("test-ed25519.pkcs8.pem");
	struct dkim_signer s;
	const char *v[1] = {NULL};
	struct loaded l;
	char h[1024];

	CHECK_INT_EQ(load_sample(&l, sample), 0);
	dkim_signer_init(&s);
	s.domain = "example.com";
	s.selector = "sel";
	s.key = k;
	/* default list: the present ones, From oversigned, no Received,
	 * no X-Mailer */
	if (sign_sample(&l, &s, 1, v) != NULL) {
		h_of(v[0], h, sizeof(h));
		CHECK_STR_EQ(h, "From:From:Subject:Date:To:Message-ID");
	}
	/* own list (duplicates once, case kept), more oversigned names */
	s.headers = mine;
	s.n_headers = 5;
	s.oversign = over;
	s.n_oversign = 2;
	if (sign_sample(&l, &s, 1, v) != NULL) {
		h_of(v[0], h, sizeof(h));
		CHECK_STR_EQ(h, "From:From:subject:subject:X-Mailer:To:"
		                "Reply-To");
	}
	unload(&l);
	dkim_privkey_unref(k);
}

/* v with each CRLF TAB fold turned back into the space it replaced. */
static void
unfold(const char *v, char *out, size_t max)
{
	size_t o = 0;

	for (; *v != '\0' && o + 1 < max; v++) {
		if (v[0] == '\r' && v[1] == '\n' && v[2] == '\t') {
			out[o++] = ' ';
			v += 2;
		} else
			out[o++] = *v;
	}
	out[o] = '\0';
}

/* Tags in order, lines folded at 78 with CRLF TAB, b= last. */
static void
test_format(void)
{
	static const char want[] = " v=1; a=rsa-sha256; c=relaxed/simple; "
	                           "d=example.com; i=joe@sub.example.com; "
	                           "s=sel; t=";
	char flat[2048];
	struct dkim_privkey *k = tu_key("test-rsa2048.pkcs8.pem");
	const char *v[1] = {NULL}, *p, *line;
	struct dkim_signer s;
	struct loaded l;

	CHECK_INT_EQ(load_sample(&l, sample), 0);
	dkim_signer_init(&s);
	s.domain = "example.com";
	s.selector = "sel";
	s.key = k;
	s.expire = 3600;
	s.identity = "joe@sub.example.com";
	if (sign_sample(&l, &s, 1, v) != NULL) {
		unfold(v[0], flat, sizeof(flat));
		CHECK(strncmp(flat, want, strlen(want)) == 0);
		CHECK(strstr(flat, "t=1700000000; x=1700003600; h=") != NULL);
		CHECK(strstr(v[0], "l=") == NULL);
		CHECK(strstr(v[0], " b=") != NULL &&
		      strchr(strstr(v[0], " b="), ';') == NULL);
		/* every line fits 78 columns ("DKIM-Signature:" first) */
		line = v[0];
		while ((p = strstr(line, "\r\n")) != NULL) {
			CHECK(
			    (size_t)(p - line) + (line == v[0] ? 15 : 7) <= 78);
			CHECK(p[2] == '\t');
			line = p + 2;
		}
		CHECK(strlen(line) + 7 <= 78);
		CHECK(strchr(v[0], '\n') != NULL);
	}
	unload(&l);
	dkim_privkey_unref(k);
}

/* Several signers, one body stream per distinct body canonicalization. */
static void
test_shared_bodies(void)
{
	struct dkim_privkey *rsa = tu_key("test-rsa2048.pkcs1.pem");
	struct dkim_privkey *ed = tu_key("test-ed25519.pkcs8.pem");
	struct dkim_signer s[3];
	struct dkim_sign *ds = NULL;
	const char *v[3] = {NULL, NULL, NULL};
	struct loaded l;

	CHECK_INT_EQ(load_sample(&l, sample), 0);
	dkim_signer_init(&s[0]);
	s[0].domain = "example.com";
	s[0].selector = "rsa";
	s[0].key = rsa;
	s[1] = s[0];
	s[1].selector = "ed";
	s[1].key = ed;
	s[2] = s[0];
	s[2].body_canon = CANON_RELAXED;
	CHECK_INT_EQ(dkim_sign_begin(l.a, &l.m, s, 2, &ds), 0);
	if (ds != NULL)
		CHECK_INT_EQ(dkim_sign_body_streams(ds), 1);
	CHECK_INT_EQ(dkim_sign_begin(l.a, &l.m, s, 3, &ds), 0);
	if (ds != NULL) {
		CHECK_INT_EQ(dkim_sign_body_streams(ds), 2);
		CHECK_INT_EQ(dkim_sign_body(ds, l.data + l.body, 2), 0);
		CHECK_INT_EQ(
		    dkim_sign_body(ds, l.data + l.body + 2, l.len - l.body - 2),
		    0);
		CHECK_INT_EQ(dkim_sign_finish(ds, 1, v), 0);
		CHECK(v[0] != NULL && strstr(v[0], "a=rsa-sha256") != NULL);
		CHECK(v[1] != NULL && strstr(v[1], "a=ed25519-sha256") != NULL);
		CHECK(
		    v[2] != NULL && strstr(v[2], "c=relaxed/relaxed") != NULL);
	}
	unload(&l);
	dkim_privkey_unref(rsa);
	dkim_privkey_unref(ed);
}

struct signer_case {
	const char *name;
	const char *domain, *selector, *identity;
	int want;
};

static const struct signer_case signer_cases[] = {
    {"good", "example.com", "sel", NULL, 0},
    {"good identity", "example.com", "s1.x", "@mail.example.com", 0},
    {"no domain", NULL, "sel", NULL, -EINVAL},
    {"no selector", "example.com", NULL, NULL, -EINVAL},
    {"bad domain", "exa;mple.com", "sel", NULL, -EINVAL},
    {"empty label", "example..com", "sel", NULL, -EINVAL},
    {"space in selector", "example.com", "s el", NULL, -EINVAL},
    {"identity outside d", "example.com", "sel", "joe@example.net", -EINVAL},
    {"identity suffix only", "example.com", "sel", "joe@badexample.com",
        -EINVAL},
    {"identity without @", "example.com", "sel", "example.com", -EINVAL},
};

static void
test_bad_signers(void)
{
	struct dkim_privkey *k = tu_key("test-ed25519.pkcs8.pem");
	struct dkim_sign *ds;
	struct dkim_signer s;
	struct loaded l;
	size_t i;

	CHECK_INT_EQ(load_sample(&l, sample), 0);
	for (i = 0; i < sizeof(signer_cases) / sizeof(signer_cases[0]); i++) {
		const struct signer_case *c = &signer_cases[i];

		dkim_signer_init(&s);
		s.domain = c->domain;
		s.selector = c->selector;
		s.identity = c->identity;
		s.key = k;
		CHECK_INT_EQ(dkim_sign_begin(l.a, &l.m, &s, 1, &ds), c->want);
	}
	dkim_signer_init(&s);
	s.domain = "example.com";
	s.selector = "sel";
	CHECK_INT_EQ(dkim_sign_begin(l.a, &l.m, &s, 1, &ds), -EINVAL);
	s.key = k;
	CHECK_INT_EQ(dkim_sign_begin(l.a, &l.m, &s, 0, &ds), -EINVAL);
	unload(&l);
	dkim_privkey_unref(k);
}

/* h= listing more than BOUND_SIGNED_HEADERS names is refused. */
static void
test_too_many_headers(void)
{
	struct dkim_privkey *k = tu_key("test-ed25519.pkcs8.pem");
	static const char *const rec[] = {"Received"};
	struct dkim_sign *ds;
	struct dkim_signer s;
	struct loaded l;
	size_t i;

	CHECK_INT_EQ(load_sample(&l, sample), 0);
	for (i = 0; i < BOUND_SIGNED_HEADERS; i++)
		msg_add_header(&l.m, "Received", 8, " x", 2);
	dkim_signer_init(&s);
	s.domain = "example.com";
	s.selector = "sel";
	s.key = k;
	s.headers = rec;
	s.n_headers = 1;
	CHECK_INT_EQ(dkim_sign_begin(l.a, &l.m, &s, 1, &ds), -E2BIG);
	unload(&l);
	dkim_privkey_unref(k);
}

int
main(void)
{
	test_rfc8463_exact();
	test_header_selection();
	test_format();
	test_shared_bodies();
	test_bad_signers();
	test_too_many_headers();
	return check_summary("dkim_sign");
}
