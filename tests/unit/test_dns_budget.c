/*
 * test_dns_budget.c -- deadlines through the resolver layer: dns_budget
 * (one message's DNS time) and the cache in front of a backend that
 * takes time, on a fake millisecond clock.
 *
 * The backend here ("slow") costs a fixed number of fake milliseconds a
 * query and honours deadlines as dns_ldns does: a query that would end
 * past its deadline is cut there and answers DNS_TEMPFAIL, unanswered and
 * cut_short.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/dns.h"
#include "check.h"

static uint64_t fake_ms = 5000;

static uint64_t
fake_clock(void)
{
	return fake_ms;
}

struct slow {
	uint64_t cost_ms;
	unsigned calls;
};

static int
slow_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline, struct dns_answer **ret)
{
	struct slow *s = r->ctx;
	struct dns_rr rr = {0, strlen(name), (const uint8_t *)name};
	struct dns_answer *a;

	(void)type;
	s->calls++;
	atomic_fetch_add(&r->queries, 1);
	if (deadline != 0 && fake_ms + s->cost_ms > deadline) {
		if (deadline > fake_ms)
			fake_ms = deadline;
		a = dns_answer_new(DNS_TEMPFAIL, 0, false, "deadline", NULL, 0);
		if (a != NULL)
			a->unanswered = a->cut_short = true;
	} else {
		fake_ms += s->cost_ms;
		a = dns_answer_new(DNS_OK, 300, false, NULL, &rr, 1);
	}
	if (a == NULL)
		return -ENOMEM;
	*ret = a;
	return 0;
}

static void
slow_free(struct dns_resolver *r)
{
	free(r); /* the struct slow is the caller's */
}

static const struct dns_ops slow_ops = {
    .free = slow_free,
    .query_by = slow_query_by,
};

static struct dns_resolver *
slow_new(struct slow *s, uint64_t cost_ms)
{
	struct dns_resolver *r = calloc(1, sizeof(*r));

	s->cost_ms = cost_ms;
	s->calls = 0;
	if (r == NULL)
		abort();
	r->ops = &slow_ops;
	r->ctx = s;
	atomic_init(&r->queries, 0);
	return r;
}

/* Query name through r; check the status; return whether it was cut
 * short (and the why, in *ret_why, copied into why). */
static bool
ask(struct dns_resolver *r, const char *name, uint64_t deadline,
    enum dns_status want, char *why, size_t cap)
{
	struct dns_answer *a = NULL;
	bool cut = false;

	CHECK_INT_EQ(dns_query_by(r, name, DNS_T_TXT, deadline, &a), 0);
	if (a == NULL)
		return false;
	CHECK_INT_EQ(a->status, want);
	cut = a->cut_short;
	if (cut)
		CHECK(a->unanswered);
	if (why != NULL)
		snprintf(why, cap, "%s", a->why);
	dns_answer_unref(a);
	return cut;
}

/* The budget is spent by time in queries; the query that crosses it is
 * cut at the budget and says so; later queries get nothing new. */
static void
test_budget_spent(void)
{
	struct slow s;
	struct dns_resolver *r = slow_new(&s, 400);
	struct dns_budget b;
	char why[256];

	dns_budget_init(&b, r, 1000);
	b.clock_ms = fake_clock;
	CHECK(!ask(&b.resolver, "a.example", 0, DNS_OK, NULL, 0));
	CHECK(!ask(&b.resolver, "b.example", 0, DNS_OK, NULL, 0));
	CHECK_INT_EQ(b.spent_ms, 800);
	CHECK(!b.ran_out);
	/* 200 ms left: the 400 ms query is cut there */
	CHECK(ask(&b.resolver, "c.example", 0, DNS_TEMPFAIL, why, sizeof(why)));
	CHECK(strstr(why, "DNS time budget") != NULL);
	CHECK(strstr(why, "(1 s)") != NULL);
	CHECK_INT_EQ(b.spent_ms, 1000);
	CHECK(b.ran_out);
	/* nothing left: the backend is given a deadline already past */
	CHECK(ask(&b.resolver, "d.example", 0, DNS_TEMPFAIL, NULL, 0));
	CHECK_INT_EQ(b.spent_ms, 1000);
	CHECK_INT_EQ(s.calls, 4);
	CHECK_INT_EQ(dns_resolver_queries(&b.resolver), 4);
	/* nothing to free, and freeing does nothing */
	dns_resolver_free(&b.resolver);
	dns_resolver_free(r);
}

/* A caller's deadline earlier than the budget's is the caller's: the
 * budget neither claims the cut nor counts it as running out. */
static void
test_budget_caller_deadline(void)
{
	struct slow s;
	struct dns_resolver *r = slow_new(&s, 400);
	struct dns_budget b;
	char why[256];

	dns_budget_init(&b, r, 10000);
	b.clock_ms = fake_clock;
	CHECK(ask(&b.resolver, "a.example", fake_ms + 100, DNS_TEMPFAIL, why,
	    sizeof(why)));
	CHECK_STR_EQ(why, "deadline");
	CHECK(!b.ran_out);
	CHECK_INT_EQ(b.spent_ms, 100);
	/* a later deadline than the budget's: the budget's wins */
	dns_budget_init(&b, r, 300);
	b.clock_ms = fake_clock;
	CHECK(ask(&b.resolver, "b.example", fake_ms + 5000, DNS_TEMPFAIL, why,
	    sizeof(why)));
	CHECK(strstr(why, "(300 ms)") != NULL);
	CHECK(b.ran_out);
	dns_resolver_free(r);
}

/* Behind a cache: what the cache has costs nothing and still answers
 * once the budget is spent; a cut answer is not kept, so the next
 * message (a fresh budget) asks the backend again and gets the name. */
static void
test_budget_cache(void)
{
	struct slow s;
	struct dns_resolver *c = dns_cache_new(slow_new(&s, 400), 100);
	struct dns_budget b;

	dns_budget_init(&b, c, 1000);
	b.clock_ms = fake_clock;
	CHECK(!ask(&b.resolver, "a.example", 0, DNS_OK, NULL, 0));
	CHECK(!ask(&b.resolver, "b.example", 0, DNS_OK, NULL, 0));
	CHECK(ask(&b.resolver, "c.example", 0, DNS_TEMPFAIL, NULL, 0));
	CHECK(b.ran_out);
	CHECK_INT_EQ(s.calls, 3);
	/* cached: answered although the budget is spent */
	CHECK(!ask(&b.resolver, "a.example", 0, DNS_OK, NULL, 0));
	CHECK_INT_EQ(s.calls, 3);
	/* the next message */
	dns_budget_init(&b, c, 1000);
	b.clock_ms = fake_clock;
	CHECK(!ask(&b.resolver, "c.example", 0, DNS_OK, NULL, 0));
	CHECK_INT_EQ(s.calls, 4);
	CHECK(!b.ran_out);
	dns_resolver_free(c);
}

/* Backends without query_by (the zone store) answer at once: a deadline
 * does not change their answers. */
static void
test_deadline_no_wait(void)
{
	struct dns_resolver *z = dns_zone_new();
	struct dns_budget b;

	CHECK_INT_EQ(dns_zone_add(z, "z.example", DNS_T_TXT, "\"t\""), 0);
	dns_budget_init(&b, z, 1);
	b.clock_ms = fake_clock;
	b.spent_ms = 1; /* spent */
	CHECK(!ask(&b.resolver, "z.example", 0, DNS_OK, NULL, 0));
	CHECK(!ask(z, "z.example", fake_ms - 1, DNS_OK, NULL, 0));
	CHECK(!b.ran_out);
	dns_resolver_free(z);
}

int
main(void)
{
	test_budget_spent();
	test_budget_caller_deadline();
	test_budget_cache();
	test_deadline_no_wait();
	return check_summary("dns_budget");
}
