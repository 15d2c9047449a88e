/*
 * test_tags.c -- tag=value lists (RFC 6376 section 3.2): good lists and
 * what they parse to, bad lists with their reason and offset.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "authmilter/buf.h"
#include "authmilter/tags.h"
#include "check.h"

/* A list rendered as "name=[value]" joined by spaces, for comparison. */
static void
render(const struct tag_list *l, struct buf *out)
{
	size_t i;

	buf_reset(out);
	for (i = 0; i < l->count; i++) {
		if (i > 0)
			buf_addc(out, ' ');
		buf_add(out, l->tags[i].name, l->tags[i].name_len);
		buf_adds(out, "=[");
		buf_add(out, l->tags[i].value, l->tags[i].value_len);
		buf_addc(out, ']');
	}
}

struct good_case {
	const char *name;
	const char *in;
	const char *want;
};

static const struct good_case good_cases[] = {
    {"one tag", "v=1", "v=[1]"},
    {"dkim key", "v=DKIM1; k=rsa; p=MIGf", "v=[DKIM1] k=[rsa] p=[MIGf]"},
    {"no spaces", "a=1;b=2;c=3", "a=[1] b=[2] c=[3]"},
    {"trailing semicolon", "a=1;", "a=[1]"},
    {"trailing semicolon and wsp", "a=1; \t", "a=[1]"},
    {"wsp everywhere", " \ta \t= \t1 \t; b=2 ", "a=[1] b=[2]"},
    {"fold before name", "a=1;\r\n\tb=2", "a=[1] b=[2]"},
    {"fold around '='", "a\r\n =\r\n 1", "a=[1]"},
    {"fold inside value kept", "b=abc\r\n def; c=x", "b=[abc\r\n def] c=[x]"},
    {"wsp inside value kept", "n=a  b\tc", "n=[a  b\tc]"},
    {"fold at end trimmed", "a=1\r\n ", "a=[1]"},
    {"two folds in a row", "a=\r\n \r\n\t1", "a=[1]"},
    {"empty value", "p=", "p=[]"},
    {"empty value then more", "p=; k=rsa", "p=[] k=[rsa]"},
    {"empty value with wsp", "p= \t ;k=x", "p=[] k=[x]"},
    {"value with '='", "b=ab==; bh=x=", "b=[ab==] bh=[x=]"},
    {"name with digit and _", "x_1=2; Ab9=z", "x_1=[2] Ab9=[z]"},
    {"case differs: not duplicate", "a=1; A=2", "a=[1] A=[2]"},
    {"dmarc", "v=DMARC1; p=reject; rua=mailto:d@example.com",
        "v=[DMARC1] p=[reject] rua=[mailto:d@example.com]"},
    {"value punctuation", "z=From:a|To:b=3Dc", "z=[From:a|To:b=3Dc]"},
    {"empty input", "", ""},
    {"whitespace input", " \t\r\n ", ""},
};

struct bad_case {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen(in) */
	int rc;
	const char *why;
	size_t where;
};

static const struct bad_case bad_cases[] = {
    {"duplicate", "a=1; b=2; a=3", 0, -EINVAL, "duplicate tag", 10},
    {"duplicate empty values", "p=;p=", 0, -EINVAL, "duplicate tag", 3},
    {"no '=' at end", "a=1; b", 0, -EINVAL, "tag without '='", 6},
    {"no '=' before ';'", "abc; d=1", 0, -EINVAL, "tag without '='", 3},
    {"no '=' after wsp", "a b=1", 0, -EINVAL, "tag without '='", 2},
    {"name starts with digit", "1a=x", 0, -EINVAL, "invalid tag name", 0},
    {"name with '-'", "a-b=x", 0, -EINVAL, "invalid tag name", 1},
    {"name starts with _", "x=1; _a=2", 0, -EINVAL, "invalid tag name", 5},
    {"empty name", "=1", 0, -EINVAL, "invalid tag name", 0},
    {"8-bit in name", "a\xc3\xa9=1", 0, -EINVAL, "invalid tag name", 1},
    {"8-bit in value", "a=caf\xc3\xa9", 0, -EINVAL,
        "invalid character in tag value", 5},
    {"NUL in value", "a=1\0002", 5, -EINVAL, "invalid character in tag value",
        3},
    {"NUL at start", "\0a=1", 4, -EINVAL, "invalid tag name", 0},
    {"control char in value", "a=1\x01", 0, -EINVAL,
        "invalid character in tag value", 3},
    {"DEL in value", "a=\x7f", 0, -EINVAL, "invalid character in tag value", 2},
    {"CRLF without WSP", "a=1\r\nb=2", 0, -EINVAL,
        "invalid character in tag value", 3},
    {"bare LF fold", "a=1\n b=2", 0, -EINVAL, "invalid character in tag value",
        3},
    {"lone CR", "a=1\r b=2", 0, -EINVAL, "invalid character in tag value", 3},
    {"trailing CRLF", "a=1;\r\n", 0, -EINVAL, "invalid tag name", 4},
    {"';;'", "a=1;;b=2", 0, -EINVAL, "empty tag-spec", 4},
    {"two trailing ';'", "a=1;;", 0, -EINVAL, "empty tag-spec", 4},
    {"'; ;'", "a=1; ; b=2", 0, -EINVAL, "empty tag-spec", 5},
    {"only ';'", ";", 0, -EINVAL, "empty tag-spec", 0},
    {"leading ';'", " ;a=1", 0, -EINVAL, "empty tag-spec", 1},
};

static void
test_good(void)
{
	struct tag_list l;
	struct buf out;
	size_t i, where;
	const char *why;

	buf_init(&out, 4096);
	for (i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		const struct good_case *g = &good_cases[i];
		int r = tags_parse(g->in, strlen(g->in), &l, &why, &where);

		if (r != 0)
			fprintf(stderr, "good case '%s'\n", g->name);
		CHECK_INT_EQ(r, 0);
		if (r != 0)
			continue;
		render(&l, &out);
		if (strcmp(buf_cstr(&out), g->want) != 0)
			fprintf(stderr, "good case '%s'\n", g->name);
		CHECK_STR_EQ(buf_cstr(&out), g->want);
	}
	buf_free(&out);
}

static void
test_bad(void)
{
	struct tag_list l;
	size_t i, where;
	const char *why;

	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *b = &bad_cases[i];
		size_t len = b->len ? b->len : strlen(b->in);
		int r;

		l.count = 12345;
		why = NULL;
		where = 999;
		r = tags_parse(b->in, len, &l, &why, &where);
		if (r != b->rc || why == NULL || strcmp(why, b->why) != 0 ||
		    where != b->where)
			fprintf(stderr, "bad case '%s'\n", b->name);
		CHECK_INT_EQ(r, b->rc);
		CHECK_STR_EQ(why, b->why);
		CHECK_INT_EQ(where, b->where);
		CHECK_INT_EQ(l.count, 12345); /* untouched on error */
	}
}

/* A list of n tags named t0, t1...: exactly BOUND_TAGS parse, one more is
 * -E2BIG at the first tag too many. */
static void
test_bound(void)
{
	struct tag_list l;
	struct buf in;
	size_t where, at = 0;
	const char *why;
	int i;

	buf_init(&in, 4096);
	for (i = 0; i < BOUND_TAGS; i++)
		buf_addf(&in, "t%d=%d;", i, i);
	CHECK_INT_EQ(tags_parse(in.data, in.len, &l, &why, &where), 0);
	CHECK_INT_EQ(l.count, BOUND_TAGS);
	CHECK(tags_find(&l, "t63") == &l.tags[63]);
	at = in.len;
	buf_adds(&in, " extra=1");
	CHECK_INT_EQ(tags_parse(in.data, in.len, &l, &why, &where), -E2BIG);
	CHECK_STR_EQ(why, "too many tags");
	CHECK_INT_EQ(where, at + 1);
	buf_free(&in);
}

static void
test_find(void)
{
	static const char rec[] = "v=DKIM1; k=Ed25519; t=y:s; p=";
	struct tag_list l;
	const struct tag *t;
	size_t where;
	const char *why;

	CHECK_INT_EQ(tags_parse(rec, strlen(rec), &l, &why, &where), 0);
	CHECK_INT_EQ(l.count, 4);
	t = tags_find(&l, "k");
	CHECK(t != NULL);
	if (t != NULL) {
		CHECK(tags_value_is(t, "ed25519"));
		CHECK(tags_value_is(t, "ED25519"));
		CHECK(!tags_value_is(t, "ed2551"));
		CHECK(!tags_value_is(t, "ed255199"));
	}
	CHECK(tags_find(&l, "K") == NULL); /* names are case-sensitive */
	CHECK(tags_find(&l, "x") == NULL);
	t = tags_find(&l, "p");
	CHECK(t != NULL && t->value_len == 0 && tags_value_is(t, ""));
	t = tags_find(&l, "t");
	CHECK(
	    t != NULL && t->value_len == 3 && memcmp(t->value, "y:s", 3) == 0);
}

int
main(void)
{
	test_good();
	test_bad();
	test_bound();
	test_find();
	return check_summary("tags");
}
