/*
 * test_span.c -- counted-string tests: equality, colon lists with FWS,
 * "is a subdomain of".
 */
#include <string.h>

#include "authmilter/span.h"
#include "check.h"

static void
test_eq(void)
{
	CHECK(span_eq("rsa-sha256", 10, "RSA-SHA256"));
	CHECK(span_eq("rsa-sha256xyz", 10, "rsa-sha256")); /* n counts */
	CHECK(!span_eq("rsa-sha256", 10, "rsa-sha2567"));
	CHECK(!span_eq("rsa", 3, "rsa-sha256"));
	CHECK(span_eq("", 0, ""));
	CHECK(!span_eq("a", 1, ""));
}

struct list_case {
	const char *v;
	size_t n; /* elements */
	const char *elems[4];
};

static const struct list_case list_cases[] = {
    {"", 1, {""}},
    {"sha256", 1, {"sha256"}},
    {"sha1 : sha256", 2, {"sha1", "sha256"}},
    {"from : to :\r\n subject", 3, {"from", "to", "subject"}},
    {"a::b", 3, {"a", "", "b"}},
    {":", 2, {"", ""}},
    {" \t y \t", 1, {"y"}},
    {"x y:z", 2, {"x y", "z"}},
};

static void
test_list(void)
{
	const char *e;
	size_t i, k, pos, len;

	for (i = 0; i < sizeof(list_cases) / sizeof(list_cases[0]); i++) {
		const struct list_case *c = &list_cases[i];

		pos = 0;
		for (k = 0; span_list_next(c->v, strlen(c->v), &pos, &e, &len);
		     k++) {
			CHECK(k < c->n);
			if (k >= c->n)
				break;
			CHECK_MEM_EQ(e, len, c->elems[k], strlen(c->elems[k]));
			/* the element lies inside the input */
			CHECK(e >= c->v && e + len <= c->v + strlen(c->v));
		}
		CHECK_INT_EQ(k, c->n);
	}
	CHECK(span_list_has("web:EMAIL", 9, "email"));
	CHECK(span_list_has("y:s", 3, "s"));
	CHECK(span_list_has("dns/txt", 7, "dns/txt"));
	CHECK(!span_list_has("sha1", 4, "sha256"));
	CHECK(!span_list_has("sha2567", 7, "sha256"));
	/* the length bounds the list, not the NUL */
	CHECK(!span_list_has("y:s", 1, "s"));
}

static void
test_domain(void)
{
	CHECK(span_in_domain("example.com", 11, "example.com"));
	CHECK(span_in_domain("Mail.Example.COM", 16, "example.com"));
	CHECK(!span_in_domain("badexample.com", 14, "example.com"));
	CHECK(!span_in_domain("example.com", 11, "mail.example.com"));
	CHECK(!span_in_domain("com", 3, "example.com"));
	CHECK(span_in_domain("a.example.com.evil", 13, "example.com"));
	CHECK(!span_in_domain("example.com.", 12, "example.com"));
}

int
main(void)
{
	test_eq();
	test_list();
	test_domain();
	return check_summary("span");
}
