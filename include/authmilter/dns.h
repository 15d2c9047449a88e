/*
 * dns.h -- the resolver interface every lookup goes through.
 *
 * Typed queries (TXT, A, AAAA, MX, PTR) return one immutable, refcounted
 * answer: a status from the small set the RFCs tell apart (ok, nxdomain,
 * nodata, tempfail), a human reason ("why") for anything but ok, the
 * records, the smallest TTL and the AD bit. DKIM, SPF and DMARC map these
 * statuses to their own results (a key that is NXDOMAIN is a permerror, a
 * tempfail is a temperror).
 *
 * A resolver is a struct of function pointers with one backend per file,
 * the way Postfix's DICT is:
 *   dns_ldns.c   real stub resolver over ldns (UDP, TCP on truncation)
 *   dns_zone.c   RFC 1035 zone files (tests and `--zone` offline runs),
 *                with ";@fault" comment directives for what a zone file
 *                cannot express (timeouts, SERVFAIL)
 *   dns_cache.c  a thread-safe TTL cache in front of another resolver,
 *                negative answers included, bounded in entries
 *
 *   dns_budget.c one message's total time for DNS work, in front of the
 *                shared resolver (RFC 7208 section 4.6.4 asks for such a
 *                limit for SPF; it covers DKIM and DMARC too)
 *
 * Deadlines: dns_query_by() gives a query a point in time (dns_clock_ms)
 * after which nobody waits for it; the backends that wait on the network
 * shorten their tries to it, and an answer cut short is marked so no cache
 * keeps it (it says nothing about the name).
 *
 * Memory: answers are refcounted (dns_answer_ref/unref) because the cache
 * hands the same answer to many threads; nobody writes to an answer after
 * it is returned. dns_query() is thread-safe for every backend but
 * dns_budget, which belongs to one message.
 */
#ifndef AUTHMILTER_DNS_H
#define AUTHMILTER_DNS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dns_type {
	DNS_T_A = 1,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
};

enum dns_status {
	DNS_OK = 0,   /* one or more records */
	DNS_NXDOMAIN, /* the name does not exist (RCODE 3) */
	DNS_NODATA,   /* the name exists, no record of this type */
	DNS_TEMPFAIL, /* timeout, SERVFAIL, REFUSED, unreachable server */
};

/*
 * One record's data, by type:
 *   TXT   the character-strings concatenated without separators (RFC 6376
 *         section 3.6.2.2, RFC 7208 section 3.3); may contain any byte
 *   A     4 bytes, network order
 *   AAAA  16 bytes, network order
 *   MX    the exchange as a lower-case name without the final dot, NUL-
 *         terminated; pref holds the preference
 *   PTR   the target name, lower-case, no final dot, NUL-terminated
 * data is always followed by a NUL byte that len does not count.
 */
struct dns_rr {
	uint16_t pref;
	size_t len;
	const uint8_t *data;
};

struct dns_answer {
	enum dns_status status;
	uint32_t ttl; /* smallest TTL of the records (or SOA min) */
	bool ad;      /* the server set the AD bit (DNSSEC) */
	size_t count; /* records, at most BOUND_DNS_RECORDS */
	const struct dns_rr *rrs;
	const char *why; /* reason when status != DNS_OK, else "" */
	/* DNS_TEMPFAIL without a reply from any server (timeout, network
	 * error): nothing was learned about the name, so caches do not keep
	 * it and the next query asks again */
	bool unanswered;
	/* unanswered because the caller's deadline came first */
	bool cut_short;
};

struct dns_resolver;

struct dns_ops {
	/* Answer one query. 0 and *ret_answer (a reference the caller
	 * owns), or -ENOMEM/-EINVAL (name not a valid domain). DNS failures
	 * are not errors: they are answers with status DNS_TEMPFAIL. May be
	 * NULL when query_by is given: it is then called with deadline 0. */
	int (*query)(struct dns_resolver *r, const char *name,
	    enum dns_type type, struct dns_answer **ret_answer);
	/* Release the backend's state. */
	void (*free)(struct dns_resolver *r);
	/* Optional: query with a deadline (dns_clock_ms() time; 0 = none):
	 * the backend stops waiting by then and answers DNS_TEMPFAIL with
	 * unanswered and cut_short set. NULL for backends that never wait
	 * (their query is used). */
	int (*query_by)(struct dns_resolver *r, const char *name,
	    enum dns_type type, uint64_t deadline_ms,
	    struct dns_answer **ret_answer);
};

struct dns_resolver {
	const struct dns_ops *ops;
	void *ctx;            /* backend state */
	atomic_ulong queries; /* answered by this resolver itself
	                       * (for a cache: hits); read with
	                       * dns_resolver_queries() */
};

/* dns_resolver_queries -- how many queries r answered itself so far (a
 * backend: every query it resolved; a cache: its hits). Thread-safe. */
unsigned long dns_resolver_queries(struct dns_resolver *r);

/* dns_query -- look up name (a domain, with or without the final dot; case
 * is ignored) for records of type.
 * @return 0 and *ret_answer (caller unrefs), -EINVAL for a name that is
 * not a valid domain (empty label, label > 63, name > 253), -ENOMEM. */
int dns_query(struct dns_resolver *r, const char *name, enum dns_type type,
    struct dns_answer **ret_answer);

/* dns_query_by -- dns_query that waits no longer than deadline_ms
 * (dns_clock_ms() time; 0 = no deadline). A query the deadline cuts short
 * is answered DNS_TEMPFAIL with unanswered and cut_short set.
 * @return as dns_query. */
int dns_query_by(struct dns_resolver *r, const char *name, enum dns_type type,
    uint64_t deadline_ms, struct dns_answer **ret_answer);

/* dns_clock_ms -- the clock of deadlines: CLOCK_MONOTONIC in ms (never 0
 * on a running system). */
uint64_t dns_clock_ms(void);

/* dns_resolver_free -- release a resolver; NULL is a no-op. @return NULL */
struct dns_resolver *dns_resolver_free(struct dns_resolver *r);

/* dns_answer_new -- build an answer (for backends): status, ttl, ad, why
 * (copied; NULL for ""), and n records copied from rrs. One allocation,
 * refcount 1. @return the answer or NULL on ENOMEM. */
struct dns_answer *dns_answer_new(enum dns_status status, uint32_t ttl, bool ad,
    const char *why, const struct dns_rr *rrs, size_t n);
struct dns_answer *dns_answer_ref(struct dns_answer *a);
/* dns_answer_unref -- drop one reference; NULL is a no-op. @return NULL */
struct dns_answer *dns_answer_unref(struct dns_answer *a);

/* dns_status_name -- "ok", "nxdomain", "nodata", "tempfail" */
const char *dns_status_name(enum dns_status s);
/* dns_type_name -- "TXT", "A", ... */
const char *dns_type_name(enum dns_type t);

/* dns_name_valid -- whether name is a syntactically valid domain name for
 * a query (labels 1..63 bytes, total <= 253 without the final dot, no
 * empty label); labels hold printable ASCII or space, but no '\' (read
 * as an escape by resolvers), control bytes or 8-bit bytes (queries use
 * A-labels). Identity domains need stricter checks of their own. */
bool dns_name_valid(const char *name);

/* dns_name_key -- name as a lookup key in out (cap bytes): ASCII lower-
 * case, without the final dot. @return its length, or -1 if it does not
 * fit. */
int dns_name_key(const char *name, char *out, size_t cap);

/* ---- metrics ---- */

/* What became of a query sent to a server, as the metrics count it. */
enum dns_outcome {
	DNS_OUTCOME_ANSWER = 0, /* NOERROR with records (DNS_OK) */
	DNS_OUTCOME_NXDOMAIN,
	DNS_OUTCOME_NODATA,   /* NOERROR, no usable record */
	DNS_OUTCOME_SERVFAIL, /* RCODE 2 */
	DNS_OUTCOME_TIMEOUT,  /* no reply from any server in time */
	DNS_OUTCOME_ERROR,    /* REFUSED, another RCODE, a CNAME loop */
	DNS_OUTCOME_COUNT
};

struct metrics;
struct metrics_family;

/* Where resolvers count their work (metrics.h families), handed to the
 * backends by whoever owns the registry (the daemon); NULL everywhere
 * means nothing is counted. Borrowed: it outlives the resolvers. */
struct dns_metrics {
	struct metrics_family *queries;  /* {type, outcome} */
	struct metrics_family *duration; /* histogram, seconds */
	struct metrics_family *cache;    /* {result}: hit, miss */
};

/* dns_metrics_register -- the DNS families in m (start-up):
 * authmilter_dns_queries_total{type,outcome} (queries sent to a server,
 * one per query however many tries), authmilter_dns_query_duration_seconds
 * (the time until the answer or the give-up) and
 * authmilter_dns_cache_lookups_total{result="hit"|"miss"}. */
void dns_metrics_register(struct metrics *m, struct dns_metrics *ret);

/* dns_metrics_query -- count one query of type t ended as o after usec
 * microseconds. dm NULL: nothing. */
void dns_metrics_query(const struct dns_metrics *dm, enum dns_type t,
    enum dns_outcome o, uint64_t usec);

/* dns_clock_us -- CLOCK_MONOTONIC in microseconds. */
uint64_t dns_clock_us(void);

/* ---- backends ---- */

struct dns_ldns_options {
	const char *nameservers;           /* "IP[@PORT] IP[@PORT]..." or NULL:
	                                    * /etc/resolv.conf */
	unsigned timeout_ms;               /* per try; 0 = 5000 */
	unsigned retries;                  /* tries of each query; 0 = 2 */
	const struct dns_metrics *metrics; /* borrowed; NULL: not counted */
};
/* dns_ldns_new -- a stub resolver. Every query starts afresh: a server
 * that did not answer one query is asked again by the next (no state
 * carries over between queries). Honours deadlines (dns_query_by).
 * @return 0 and *ret, or -errno with *ret_why (static or thread-local
 * text) saying what was wrong. */
int dns_ldns_new(const struct dns_ldns_options *opt, struct dns_resolver **ret,
    const char **ret_why);

/* dns_zone_new -- an empty in-memory zone store (answers only what was
 * added; every other name is NXDOMAIN). Never NULL (exits on ENOMEM: it is
 * built at startup). */
struct dns_resolver *dns_zone_new(void);
/* dns_zone_load -- add every record of an RFC 1035 zone file (parsed by
 * ldns; $ORIGIN and $TTL honoured) and its ";@fault" directives:
 *   ;@fault timeout NAME TYPE     the query times out (DNS_TEMPFAIL)
 *   ;@fault servfail NAME TYPE    the server answers SERVFAIL
 * TYPE may be ANY. @return 0, or -errno with a "file:line: reason" message
 * in *ret_why (caller frees). */
int dns_zone_load(struct dns_resolver *r, const char *path, char **ret_why);
/* dns_zone_load_mem -- the same for zone text already in memory (len
 * bytes, any content); label names it in messages ("label:line: ..."). */
int dns_zone_load_mem(struct dns_resolver *r, const char *label,
    const char *text, size_t len, char **ret_why);
/* dns_zone_add -- add one record in presentation form, e.g.
 * ("example.com", DNS_T_TXT, "\"v=spf1 -all\"") or (.., DNS_T_MX,
 * "10 mx.example.com."). @return 0 or -EINVAL/-ENOMEM. */
int dns_zone_add(struct dns_resolver *r, const char *name, enum dns_type type,
    const char *rdata);
/* dns_zone_add_rr -- add one record with its data already in the form of
 * struct dns_rr (TXT strings joined, addresses in network order, names
 * without the final dot). @return 0 or -EINVAL/-ENOMEM. */
int dns_zone_add_rr(struct dns_resolver *r, const char *name,
    enum dns_type type, const struct dns_rr *rr);
/* dns_zone_add_fault -- make queries for (name, type) fail with status
 * DNS_TEMPFAIL and why (NULL: "timeout"). A why of "timeout" stands for a
 * query no server answered (the answer is marked unanswered, so a cache
 * does not keep it); any other is a server's failure reply. type 0 =
 * any. */
int dns_zone_add_fault(struct dns_resolver *r, const char *name,
    enum dns_type type, const char *why);

/* dns_cache_new -- a cache in front of backend (owned: freed with the
 * cache) holding at most max_entries answers for their TTL (negative
 * answers for the SOA minimum, capped; a server's failure reply such as
 * SERVFAIL for a few seconds; an unanswered query not at all).
 * Deadlines pass through to the backend. Thread-safe. */
struct dns_resolver *dns_cache_new(
    struct dns_resolver *backend, size_t max_entries);
/* counters of a cache resolver: hits and misses so far */
void dns_cache_stats(struct dns_resolver *cache, unsigned long *ret_hits,
    unsigned long *ret_misses);
/* dns_cache_set_metrics -- count hits and misses in dm (borrowed; NULL:
 * not counted). Call before the cache is shared between threads. */
void dns_cache_set_metrics(
    struct dns_resolver *cache, const struct dns_metrics *dm);
/* dns_cache_set_clock -- replace the cache's clock (monotonic seconds) by
 * now, so tests can make TTLs expire without sleeping; NULL restores the
 * real clock. Call before the cache is shared between threads. */
void dns_cache_set_clock(struct dns_resolver *cache, uint64_t (*now)(void));

/*
 * dns_budget -- one message's time for DNS work, in front of a shared
 * resolver. Every query through it gets the deadline "now + what is left
 * of the budget"; the time a query takes is what it costs (answers the
 * cache already has cost nothing, so they still come once the budget is
 * spent). What is counted is the time spent waiting for DNS, not the
 * time the message takes to arrive: a slow SMTP client does not eat the
 * budget. A query the budget cuts short answers DNS_TEMPFAIL with a why
 * naming the budget, so the check that asked ends in temperror and the
 * rest of the evaluation goes on with what was learned.
 *
 * The struct is the caller's (a message arena, the stack); hand
 * &b->resolver to the checks. One message, one thread: not thread-safe.
 * Nothing to free (dns_resolver_free on it does nothing).
 */
struct dns_budget {
	struct dns_resolver resolver; /* what the checks query */
	struct dns_resolver *inner;   /* borrowed: the shared resolver */
	uint64_t budget_ms;
	uint64_t spent_ms;          /* time spent in queries so far */
	bool ran_out;               /* a query was cut short by it */
	uint64_t (*clock_ms)(void); /* dns_clock_ms; tests replace it */
};

/* dns_budget_init -- b forwards to inner with budget_ms (> 0) of DNS time
 * in all. */
void dns_budget_init(
    struct dns_budget *b, struct dns_resolver *inner, unsigned budget_ms);

#endif
