/*
 * observe.h -- what the daemon counts for its metrics endpoint
 * (MetricsListen): the families of authmilter's metrics, with their names,
 * HELP texts and label values, and one call per thing that happens. The
 * session calls observe_message and friends at the end of each message,
 * the daemon observe_config and observe_reload; the resolver counts
 * through observe_dns(); metrics_http serves observe_metrics().
 *
 * Labels are bounded: paths, actions, result words and error classes
 * are fixed lists; the signing domain is one of the domains of the
 * KeyTable, of Domain or of RotateDomains (a "%" KeyTable entry signs as
 * the From domain and is counted as "%"); DMARC results are broken out
 * by domain only for the domains MetricsDomains lists.
 *
 * Every function accepts o == NULL (metrics off) and returns at once.
 * Thread rules: observe_new/observe_free at start and end; observe_config
 * and observe_reload from the daemon's main thread; the rest from any
 * thread, without locks (metrics.h).
 */
#ifndef AUTHMILTER_OBSERVE_H
#define AUTHMILTER_OBSERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/authres.h"
#include "authmilter/config.h"
#include "authmilter/dkim_alg.h"
#include "authmilter/dns.h"
#include "authmilter/metrics.h"
#include "authmilter/verdict.h"

enum observe_path {
	OBSERVE_PATH_NONE = 0, /* neither signed nor verified */
	OBSERVE_PATH_SIGN,
	OBSERVE_PATH_VERIFY,
};

/* The final action, in the order of action.h's enum action_kind. */
enum observe_action {
	OBSERVE_ACCEPT = 0,
	OBSERVE_QUARANTINE,
	OBSERVE_TEMPFAIL,
	OBSERVE_REJECT,
};

/* Authentication methods whose results are counted. */
enum observe_method {
	OBSERVE_DKIM = 0,
	OBSERVE_SPF,
	OBSERVE_DMARC,
	OBSERVE_ARC,
	OBSERVE_METHODS
};

struct observe;

/* observe_new -- the registry and every family (start-up; exits on
 * ENOMEM). @return the observer; free with observe_free. */
struct observe *observe_new(void);
/* observe_free -- NULL is a no-op. @return NULL */
struct observe *observe_free(struct observe *o);

/* observe_metrics -- the registry, for the listener. */
struct metrics *observe_metrics(struct observe *o);
/* observe_dns -- the DNS sink for the resolver (NULL when o is NULL). */
const struct dns_metrics *observe_dns(struct observe *o);

/* observe_config -- a configuration was loaded (start-up or reload): its
 * signing domains and MetricsDomains become label values (they are never
 * taken away: a counter stays once it was written), the keys and their
 * KeyMaxAge expiry become the key gauges, SpoolDir says where the report
 * state is read. */
void observe_config(struct observe *o, const struct config *cfg);

/* observe_reload -- a SIGHUP reload succeeded (ok) or failed. */
void observe_reload(struct observe *o, bool ok);

/* observe_message -- one message ended: its path, the action taken,
 * whether it took OnInternalError's path, its size (header and body
 * bytes as received) and the time the end of message took (us). */
void observe_message(struct observe *o, enum observe_path path,
    enum observe_action action, bool internal_error, uint64_t bytes,
    uint64_t eom_usec);

/* observe_signature -- one DKIM signature made as domain (d=). */
void observe_signature(
    struct observe *o, const char *domain, enum dkim_alg alg);

/* observe_auth -- one result of method. */
void observe_auth(
    struct observe *o, enum observe_method method, enum auth_result r);

/* observe_verdict -- the results of a verified message: DKIM (one per
 * signature; none when there was none), SPF (when evaluated), the ARC
 * chain's validation (none without one), DMARC and its overrides, the
 * MetricsDomains breakout, a spent DNS budget. */
void observe_verdict(struct observe *o, const struct verdict *v);

/* observe_spool -- one spool append ended with r (0 or -errno). */
void observe_spool(struct observe *o, int r);

/* observe_failure_records -- one append of n failure records ended with r
 * (0 or -errno). */
void observe_failure_records(struct observe *o, size_t n, int r);

#endif
