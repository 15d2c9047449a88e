/*
 * dns_budget.c -- one message's total time for DNS work (dns.h), in front
 * of the shared resolver.
 *
 * RFC 7208 section 4.6.4 lets a verifier limit the elapsed time of
 * check_host() and end in temperror past it; the same holds for the DKIM
 * key and DMARC policy lookups of the message. Without a total, a sender
 * who controls slow name servers can hold a message (and the MTA's
 * milter_content_timeout, and a thread) for the per-query timeout times
 * every lookup the records allow.
 *
 * Each query gets the deadline "now + budget left" (or an earlier one the
 * caller gave); what it took is added to the time spent. A query the
 * deadline cut short is answered with a why that names the budget, so
 * A-R comments and logs say why the check is temperror. Nothing here
 * knows DKIM, SPF or DMARC: the checks see a resolver like any other.
 */
#include <errno.h>
#include <stdio.h>

#include "authmilter/dns.h"

static int budget_query_by(struct dns_resolver *, const char *, enum dns_type,
    uint64_t, struct dns_answer **);
static void budget_free(struct dns_resolver *);

static const struct dns_ops budget_ops = {
    .free = budget_free,
    .query_by = budget_query_by,
};

void
dns_budget_init(
    struct dns_budget *b, struct dns_resolver *inner, unsigned budget_ms)
{
	b->resolver.ops = &budget_ops;
	b->resolver.ctx = b;
	atomic_init(&b->resolver.queries, 0);
	b->inner = inner;
	b->budget_ms = budget_ms;
	b->spent_ms = 0;
	b->ran_out = false;
	b->clock_ms = dns_clock_ms;
}

/* The answer for a query the budget cut short: this message's fact, not
 * the name's (unanswered: no cache keeps it). */
static struct dns_answer *
budget_spent(const struct dns_budget *b)
{
	struct dns_answer *a;
	char why[128];

	if (b->budget_ms % 1000 == 0)
		snprintf(why, sizeof(why),
		    "DNS time budget of this message "
		    "(%llu s) spent",
		    (unsigned long long)b->budget_ms / 1000);
	else
		snprintf(why, sizeof(why),
		    "DNS time budget of this message "
		    "(%llu ms) spent",
		    (unsigned long long)b->budget_ms);
	a = dns_answer_new(DNS_TEMPFAIL, 0, false, why, NULL, 0);
	if (a != NULL)
		a->unanswered = a->cut_short = true;
	return a;
}

static int
budget_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline_ms, struct dns_answer **ret_answer)
{
	struct dns_budget *b = r->ctx;
	uint64_t start = b->clock_ms(), end, mine;
	struct dns_answer *a = NULL;
	int rc;

	mine = start +
	       (b->spent_ms < b->budget_ms ? b->budget_ms - b->spent_ms : 0);
	if (mine == 0)
		mine = 1; /* 0 means "no deadline" */
	atomic_fetch_add(&r->queries, 1);
	/* an expired deadline still lets a cache answer what it has */
	rc = dns_query_by(b->inner, name, type,
	    deadline_ms != 0 && deadline_ms < mine ? deadline_ms : mine, &a);
	end = b->clock_ms();
	b->spent_ms += end > start ? end - start : 0;
	if (rc != 0)
		return rc;
	if (a->cut_short && (deadline_ms == 0 || mine <= deadline_ms)) {
		b->ran_out = true;
		dns_answer_unref(a);
		if ((a = budget_spent(b)) == NULL)
			return -ENOMEM;
	}
	*ret_answer = a;
	return 0;
}

/* The struct is the caller's; nothing is owned. */
static void
budget_free(struct dns_resolver *r)
{
	(void)r;
}
