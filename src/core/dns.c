/*
 * dns.c -- the resolver interface: query dispatch, refcounted answers,
 * name checks. Backends live in dns_ldns.c, dns_zone.c, dns_cache.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/metrics.h"

/* An answer and its data in one allocation, with a reference count ahead
 * of the public part. */
struct dns_answer_box {
	atomic_uint refs;
	struct dns_answer pub;
	/* then: struct dns_rr[count], the rr data bytes, the why string */
};

#define DNS_BOX(a)                                                             \
	((struct dns_answer_box *)((char *)(a)-offsetof(                       \
	    struct dns_answer_box, pub)))

/* A byte allowed in a label of a name we query. DNS labels may hold any
 * octet (RFC 2181 section 11) and SPF domain-specs are macro-expanded
 * into names such as "foo:bar/baz.example.com" that must be asked as
 * they are (RFC 7208 section 7.1 test suite), so printable ASCII and
 * space pass. Refused: '\' (the text-to-wire step of resolvers reads
 * "\." and "\DDD" as escapes, RFC 1035 section 5.1, so one string could
 * be checked as one name and looked up as another), control bytes, and
 * 8-bit bytes (internationalized names are queried as A-labels, RFC 5890
 * section 2.3.2.1). Identities (DKIM d=, SPF domains, organizational
 * domains) are held to letters, digits, '-' and '_' by their modules. */
static bool
dns_name_char(char c)
{
	return c >= 0x20 && c <= 0x7e && c != '\\';
}

bool
dns_name_valid(const char *name)
{
	size_t len = strlen(name), label = 0, i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (!dns_name_char(name[i]) || ++label > BOUND_LABEL_LEN)
			return false;
	}
	return label > 0;
}

int
dns_name_key(const char *name, char *out, size_t cap)
{
	size_t len = strlen(name), i;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= cap)
		return -1;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[len] = '\0';
	return (int)len;
}

int
dns_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret_answer)
{
	if (!dns_name_valid(name))
		return -EINVAL;
	if (r->ops->query == NULL)
		return r->ops->query_by(r, name, type, 0, ret_answer);
	return r->ops->query(r, name, type, ret_answer);
}

int
dns_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline_ms, struct dns_answer **ret_answer)
{
	if (!dns_name_valid(name))
		return -EINVAL;
	if (r->ops->query_by == NULL ||
	    (deadline_ms == 0 && r->ops->query != NULL))
		return r->ops->query(r, name, type, ret_answer);
	return r->ops->query_by(r, name, type, deadline_ms, ret_answer);
}

uint64_t
dns_clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

unsigned long
dns_resolver_queries(struct dns_resolver *r)
{
	return atomic_load(&r->queries);
}

struct dns_resolver *
dns_resolver_free(struct dns_resolver *r)
{
	if (r == NULL)
		return NULL;
	r->ops->free(r);
	return NULL;
}

struct dns_answer *
dns_answer_new(enum dns_status status, uint32_t ttl, bool ad, const char *why,
    const struct dns_rr *rrs, size_t n)
{
	struct dns_answer_box *box;
	struct dns_rr *out;
	size_t size, data = 0, wlen, i;
	char *p;

	if (why == NULL)
		why = "";
	if (n > BOUND_DNS_RECORDS)
		n = BOUND_DNS_RECORDS;
	wlen = strlen(why) + 1;
	for (i = 0; i < n; i++) {
		if (rrs[i].len > BOUND_TXT_BYTES)
			return NULL;
		data += rrs[i].len + 1;
	}
	size = sizeof(*box) + n * sizeof(*out) + data + wlen;
	box = malloc(size);
	if (box == NULL)
		return NULL;
	atomic_init(&box->refs, 1);
	out = (struct dns_rr *)(box + 1);
	p = (char *)(out + n);
	for (i = 0; i < n; i++) {
		out[i].pref = rrs[i].pref;
		out[i].len = rrs[i].len;
		if (rrs[i].len > 0)
			memcpy(p, rrs[i].data, rrs[i].len);
		p[rrs[i].len] = '\0';
		out[i].data = (const uint8_t *)p;
		p += rrs[i].len + 1;
	}
	memcpy(p, why, wlen);
	box->pub.status = status;
	box->pub.ttl = ttl;
	box->pub.ad = ad;
	box->pub.count = n;
	box->pub.rrs = out;
	box->pub.why = p;
	box->pub.unanswered = false;
	box->pub.cut_short = false;
	return &box->pub;
}

struct dns_answer *
dns_answer_ref(struct dns_answer *a)
{
	if (a != NULL)
		atomic_fetch_add(&DNS_BOX(a)->refs, 1);
	return a;
}

struct dns_answer *
dns_answer_unref(struct dns_answer *a)
{
	if (a != NULL && atomic_fetch_sub(&DNS_BOX(a)->refs, 1) == 1)
		free(DNS_BOX(a));
	return NULL;
}

const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	}
	return "tempfail";
}

const char *
dns_type_name(enum dns_type t)
{
	switch (t) {
	case DNS_T_A:
		return "A";
	case DNS_T_PTR:
		return "PTR";
	case DNS_T_MX:
		return "MX";
	case DNS_T_TXT:
		return "TXT";
	case DNS_T_AAAA:
		return "AAAA";
	}
	return "?";
}

/* ---- metrics ---- */

/* Label values, in the order of enum dns_type's index below and enum
 * dns_outcome. */
static const char *const dns_metric_types[] = {"A", "AAAA", "MX", "PTR", "TXT"};
static const char *const dns_metric_outcomes[] = {
    "answer", "nxdomain", "nodata", "servfail", "timeout", "error"};

static size_t
dns_metric_type(enum dns_type t)
{
	switch (t) {
	case DNS_T_A:
		return 0;
	case DNS_T_AAAA:
		return 1;
	case DNS_T_MX:
		return 2;
	case DNS_T_PTR:
		return 3;
	case DNS_T_TXT:
		break;
	}
	return 4;
}

void
dns_metrics_register(struct metrics *m, struct dns_metrics *ret)
{
	/* from 100 us (a LAN resolver's cache) to the 10 s a query may
	 * wait with DNSTimeout 5 and two tries */
	static const uint64_t bounds[] = {100, 250, 500, 1000, 2500, 5000,
	    10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	    5000000, 10000000};
	static const char *const results[] = {"hit", "miss"};
	const struct metrics_label q[] = {
	    {"type", dns_metric_types, 5},
	    {"outcome", dns_metric_outcomes, DNS_OUTCOME_COUNT},
	};
	const struct metrics_label c = {"result", results, 2};

	ret->queries = metrics_family(m, METRICS_COUNTER,
	    "authmilter_dns_queries_total",
	    "DNS queries sent to the name servers, by type and outcome.", q, 2);
	ret->duration =
	    metrics_histogram(m, "authmilter_dns_query_duration_seconds",
	        "Time from sending a DNS query to its answer or to giving up.",
	        bounds, sizeof(bounds) / sizeof(bounds[0]), 1000000);
	ret->cache = metrics_family(m, METRICS_COUNTER,
	    "authmilter_dns_cache_lookups_total",
	    "DNS cache lookups, by hit or miss.", &c, 1);
}

void
dns_metrics_query(const struct dns_metrics *dm, enum dns_type t,
    enum dns_outcome o, uint64_t usec)
{
	if (dm == NULL)
		return;
	metrics_add(dm->queries, dns_metric_type(t), (size_t)o, 1);
	metrics_observe(dm->duration, usec);
}

uint64_t
dns_clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}
