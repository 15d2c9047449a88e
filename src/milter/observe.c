/*
 * observe.c -- authmilter's metrics: the families and the calls that
 * count into them. See observe.h; the names follow Prometheus' naming
 * conventions (authmilter_ prefix, _total counters, base units).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "authmilter/dkim_privkey.h"
#include "authmilter/log.h"
#include "authmilter/report_state.h"
#include "authmilter/xalloc.h"
#include "observe.h"

#ifndef AUTHMILTER_VERSION
#define AUTHMILTER_VERSION "unknown"
#endif

/* The signing-domain label of a "%" KeyTable entry (d= is the From
 * domain, which is not a bounded set). */
#define OBSERVE_ANY_DOMAIN "%"

/* A key as the key gauges show it. */
struct observe_key {
	char *name, *domain, *selector;
	int64_t expiry; /* Unix time, 0 = none */
};

struct observe {
	struct metrics *m;
	struct dns_metrics dns;
	struct metrics_family *messages, *errors, *eom, *size;
	struct metrics_family *signatures, *auth, *overrides, *dmarc_domain;
	struct metrics_family *budget, *spool_ok, *spool_fail;
	struct metrics_family *failure_ok, *failure_fail;
	struct metrics_family *reloads, *reload_ok, *reload_time;
	struct metrics_family *keys_loaded;
	pthread_mutex_t lock; /* guards keys and spool_dir */
	struct observe_key *keys;
	size_t n_keys;
	char *spool_dir;
};

static const char *const observe_paths[] = {"none", "sign", "verify"};
static const char *const observe_actions[] = {
    "accept", "quarantine", "tempfail", "reject"};
static const char *const observe_methods[] = {"dkim", "spf", "dmarc", "arc"};
/* enum auth_result order */
static const char *const observe_results[] = {"none", "pass", "fail",
    "softfail", "neutral", "policy", "temperror", "permerror"};
#define OBSERVE_RESULTS (sizeof(observe_results) / sizeof(observe_results[0]))
/* RFC 9990 PolicyOverrideType, as dmarc_override_name() names the
 * DMARC_OVERRIDE_* bits */
static const char *const observe_overrides[] = {
    "policy_test_mode", "trusted_forwarder", "local_policy"};
#define OBSERVE_OVERRIDES                                                      \
	(sizeof(observe_overrides) / sizeof(observe_overrides[0]))
static const char *const observe_algs[] = {"rsa-sha256", "ed25519-sha256"};
/* spool failures worth telling apart; the rest are "other" */
static const char *const observe_errnos[] = {
    "ENOSPC", "EDQUOT", "EIO", "EACCES", "EROFS", "other"};
static const char *const observe_reload_results[] = {"ok", "failed"};

static void observe_collect(void *ctx, struct buf *out);

static void
observe_families(struct observe *o)
{
	/* from 250 us (a signature or a cached verify) to the 30 s a
	 * message may spend on DNS (DNSTimeBudget) */
	static const uint64_t eom[] = {250, 500, 1000, 2500, 5000, 10000, 25000,
	    50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	    30000000};
	/* 1 KiB to 50 MiB (Postfix's message_size_limit is 10 MB) */
	static const uint64_t size[] = {1024, 4096, 16384, 65536, 262144,
	    1048576, 4194304, 10485760, 26214400, 52428800};
	const struct metrics_label msg[] = {
	    {"path", observe_paths, 3}, {"action", observe_actions, 4}};
	const struct metrics_label sig[] = {
	    {"domain", NULL, BOUND_METRICS_DOMAINS},
	    {"algorithm", observe_algs, 2}};
	const struct metrics_label auth[] = {
	    {"method", observe_methods, OBSERVE_METHODS},
	    {"result", observe_results, OBSERVE_RESULTS}};
	const struct metrics_label ovr = {
	    "reason", observe_overrides, OBSERVE_OVERRIDES};
	const struct metrics_label dom[] = {
	    {"domain", NULL, BOUND_METRICS_DOMAINS},
	    {"result", observe_results, OBSERVE_RESULTS}};
	const struct metrics_label err = {"error", observe_errnos, 6};
	const struct metrics_label rl = {"result", observe_reload_results, 2};
	const char *version = AUTHMILTER_VERSION;
	const char *ssl = dkim_privkey_library();
	const struct metrics_label build[] = {
	    {"version", &version, 1}, {"openssl", &ssl, 1}};
	struct metrics_family *f;

	o->messages = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_messages_total",
	    "Messages, by path (sign, verify, none) and final action.", msg, 2);
	o->errors = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_message_errors_total",
	    "Messages that ended in OnInternalError's action (memory, "
	    "OpenSSL).",
	    NULL, 0);
	o->eom = metrics_histogram(o->m, "authmilter_eom_duration_seconds",
	    "Time the MTA waits at the end of each message (signing or "
	    "verifying, DMARC, the reply).",
	    eom, sizeof(eom) / sizeof(eom[0]), 1000000);
	o->size = metrics_histogram(o->m, "authmilter_message_size_bytes",
	    "Size of each message, header and body as received.", size,
	    sizeof(size) / sizeof(size[0]), 1);
	o->signatures = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_signatures_total",
	    "DKIM signatures made, by signing domain (% for a KeyTable entry "
	    "of domain %) and algorithm.",
	    sig, 2);
	o->auth = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_auth_results_total",
	    "Authentication results of verified mail, by method and result "
	    "(DKIM: one per signature; ARC: the chain's).",
	    auth, 2);
	o->overrides = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_dmarc_overrides_total",
	    "DMARC policy overrides, by RFC 9990 reason.", &ovr, 1);
	o->dmarc_domain = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_dmarc_domain_results_total",
	    "DMARC results of the domains MetricsDomains lists.", dom, 2);
	o->budget = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_dns_budget_exhausted_total",
	    "Messages whose DNS time budget (DNSTimeBudget) ran out.", NULL, 0);
	dns_metrics_register(o->m, &o->dns);
	o->spool_ok = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_spool_appends_total",
	    "Aggregate-report records appended to the spool.", NULL, 0);
	o->spool_fail = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_spool_failures_total",
	    "Spool appends that failed, by error.", &err, 1);
	o->failure_ok = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_failure_records_total",
	    "Failure-report records appended to the spool.", NULL, 0);
	o->failure_fail = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_failure_record_failures_total",
	    "Failure-report record appends that failed, by error.", &err, 1);
	o->reloads = metrics_family(o->m, METRICS_COUNTER,
	    "authmilter_config_reloads_total",
	    "Configuration reloads (SIGHUP), by result.", &rl, 1);
	o->reload_ok = metrics_family(o->m, METRICS_GAUGE,
	    "authmilter_config_last_reload_successful",
	    "Whether the last configuration load succeeded (1) or the "
	    "previous configuration stays in use (0).",
	    NULL, 0);
	o->reload_time = metrics_family(o->m, METRICS_GAUGE,
	    "authmilter_config_last_reload_timestamp_seconds",
	    "When the configuration in use was loaded.", NULL, 0);
	o->keys_loaded =
	    metrics_family(o->m, METRICS_GAUGE, "authmilter_keys_loaded",
	        "Signing keys in the configuration in use.", NULL, 0);
	f = metrics_family(o->m, METRICS_GAUGE, "authmilter_start_time_seconds",
	    "When the daemon started, Unix time.", NULL, 0);
	metrics_set(f, 0, 0, (int64_t)time(NULL));
	f = metrics_family(o->m, METRICS_GAUGE, "authmilter_build_info",
	    "Always 1: the authmilter version and the OpenSSL it runs with.",
	    build, 2);
	metrics_set(f, 0, 0, 1);
	metrics_set(o->reload_ok, 0, 0, 1);
	metrics_set(o->reload_time, 0, 0, (int64_t)time(NULL));
	/* index 0 of the signing domains: "%" is always there */
	if (metrics_value_add(o->signatures, OBSERVE_ANY_DOMAIN) != 0)
		panic("observe: no room for the %% domain");
	metrics_collector(o->m, observe_collect, o);
}

struct observe *
observe_new(void)
{
	struct observe *o = xcalloc(1, sizeof(*o));

	if (pthread_mutex_init(&o->lock, NULL) != 0)
		panic("pthread_mutex_init failed");
	o->m = metrics_new();
	observe_families(o);
	return o;
}

static void
observe_keys_free(struct observe_key *k, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(k[i].name);
		free(k[i].domain);
		free(k[i].selector);
	}
	free(k);
}

struct observe *
observe_free(struct observe *o)
{
	if (o == NULL)
		return NULL;
	metrics_free(o->m);
	observe_keys_free(o->keys, o->n_keys);
	free(o->spool_dir);
	pthread_mutex_destroy(&o->lock);
	free(o);
	return NULL;
}

struct metrics *
observe_metrics(struct observe *o)
{
	return o != NULL ? o->m : NULL;
}

const struct dns_metrics *
observe_dns(struct observe *o)
{
	return o != NULL ? &o->dns : NULL;
}

/* ---- configuration ---- */

/* Add v to the dynamic label of f; a full label is said once a load. */
static void
observe_value(
    struct metrics_family *f, const char *v, const char *option, bool *warned)
{
	if (metrics_value_add(f, v) == -ENOSPC && !*warned) {
		log_warning("metrics: more than %d %s domains: the rest are "
		            "not broken out",
		    BOUND_METRICS_DOMAINS, option);
		*warned = true;
	}
}

void
observe_config(struct observe *o, const struct config *cfg)
{
	struct observe_key *keys;
	struct stat st;
	bool warned = false;
	char *spool;
	size_t i;

	if (o == NULL)
		return;
	for (i = 0; i < cfg->n_keys; i++)
		if (strcmp(cfg->keys[i].domain, OBSERVE_ANY_DOMAIN) != 0)
			observe_value(o->signatures, cfg->keys[i].domain,
			    "signing", &warned);
	for (i = 0; i < cfg->domains.n; i++)
		observe_value(
		    o->signatures, cfg->domains.v[i], "signing", &warned);
	/* key rotation signs its domains with keys of its own */
	for (i = 0; i < cfg->rotate.domains.n; i++)
		observe_value(o->signatures, cfg->rotate.domains.v[i],
		    "signing", &warned);
	warned = false;
	for (i = 0; i < cfg->metrics_domains.n; i++)
		observe_value(o->dmarc_domain, cfg->metrics_domains.v[i],
		    "MetricsDomains", &warned);
	keys = xcalloc(cfg->n_keys + 1, sizeof(*keys));
	for (i = 0; i < cfg->n_keys; i++) {
		keys[i].name = xstrdup(cfg->keys[i].name);
		keys[i].domain = xstrdup(cfg->keys[i].domain);
		keys[i].selector = xstrdup(cfg->keys[i].selector);
		/* KeyMaxAge: the key file's age counts from its last
		 * change, which is when a key is made or replaced */
		if (cfg->key_max_age > 0 && stat(cfg->keys[i].path, &st) == 0)
			keys[i].expiry = (int64_t)st.st_mtime +
			                 (int64_t)cfg->key_max_age * 86400;
	}
	spool = cfg->spool_dir != NULL ? xstrdup(cfg->spool_dir) : NULL;
	pthread_mutex_lock(&o->lock);
	observe_keys_free(o->keys, o->n_keys);
	o->keys = keys;
	o->n_keys = cfg->n_keys;
	free(o->spool_dir);
	o->spool_dir = spool;
	pthread_mutex_unlock(&o->lock);
	metrics_set(o->keys_loaded, 0, 0, (int64_t)cfg->n_keys);
}

void
observe_reload(struct observe *o, bool ok)
{
	if (o == NULL)
		return;
	metrics_add(o->reloads, ok ? 0 : 1, 0, 1);
	metrics_set(o->reload_ok, 0, 0, ok);
	if (ok)
		metrics_set(o->reload_time, 0, 0, (int64_t)time(NULL));
}

/* ---- messages ---- */

void
observe_message(struct observe *o, enum observe_path path,
    enum observe_action action, bool internal_error, uint64_t bytes,
    uint64_t eom_usec)
{
	if (o == NULL)
		return;
	metrics_add(o->messages, (size_t)path, (size_t)action, 1);
	if (internal_error)
		metrics_add(o->errors, 0, 0, 1);
	metrics_observe(o->eom, eom_usec);
	metrics_observe(o->size, bytes);
}

void
observe_signature(struct observe *o, const char *domain, enum dkim_alg alg)
{
	int i;

	if (o == NULL)
		return;
	/* d= as configured (a KeyTable domain, a Domain entry); a "%"
	 * KeyTable entry's d= is the From domain: "%" unless that is a
	 * configured domain too */
	i = metrics_value_find(o->signatures, domain);
	if (i < 0)
		i = 0;
	metrics_add(o->signatures, (size_t)i,
	    alg == DKIM_ALG_ED25519_SHA256 ? 1 : 0, 1);
}

void
observe_auth(struct observe *o, enum observe_method method, enum auth_result r)
{
	if (o == NULL || (size_t)r >= OBSERVE_RESULTS)
		return;
	metrics_add(o->auth, (size_t)method, (size_t)r, 1);
}

/* The MetricsDomains breakout: the author domain, or its policy domain
 * (the organizational domain that published the record) when only that
 * one is listed. */
static void
observe_dmarc_domain(struct observe *o, const struct dmarc_result *d)
{
	const struct dmarc_author *a = d->decisive;
	int i;

	if (a == NULL)
		return;
	i = metrics_value_find(o->dmarc_domain, a->domain);
	if (i < 0 && a->policy_domain != NULL)
		i = metrics_value_find(o->dmarc_domain, a->policy_domain);
	if (i >= 0)
		metrics_add(o->dmarc_domain, (size_t)i, (size_t)d->result, 1);
}

/* One count per RFC 9990 reason among the DMARC_OVERRIDE_* bits (a
 * trusted ARC sealer is a trusted_forwarder, as in the reports). */
static void
observe_overrides_add(struct observe *o, unsigned bits)
{
	unsigned bit, seen = 0;
	const char *name;
	size_t i;

	for (bit = 1; bit != 0 && bit <= bits; bit <<= 1) {
		if ((bits & bit) == 0 ||
		    (name = dmarc_override_name(bit)) == NULL)
			continue;
		for (i = 0; i < OBSERVE_OVERRIDES; i++)
			if (strcmp(observe_overrides[i], name) == 0 &&
			    (seen & (1u << i)) == 0) {
				seen |= 1u << i;
				metrics_add(o->overrides, i, 0, 1);
			}
	}
}

void
observe_verdict(struct observe *o, const struct verdict *v)
{
	size_t i;

	if (o == NULL || v == NULL)
		return;
	for (i = 0; i < v->n_dkim; i++)
		observe_auth(o, OBSERVE_DKIM, v->dkim[i].result);
	if (v->n_dkim == 0)
		observe_auth(o, OBSERVE_DKIM, AUTH_NONE);
	if (v->spf != NULL)
		observe_auth(o, OBSERVE_SPF, v->spf->result);
	/* the chain's validation: none when the message has no ARC set */
	if (v->arc != NULL)
		observe_auth(o, OBSERVE_ARC, v->arc->status);
	if (v->dmarc != NULL) {
		observe_auth(o, OBSERVE_DMARC, v->dmarc->result);
		observe_overrides_add(o, v->dmarc->overrides);
		observe_dmarc_domain(o, v->dmarc);
	}
	if (v->dns_budget_spent)
		metrics_add(o->budget, 0, 0, 1);
}

/* The observe_errnos index of a failed append's -errno r. */
static size_t
observe_errno_index(int r)
{
	switch (-r) {
	case ENOSPC:
		return 0;
	case EDQUOT:
		return 1;
	case EIO:
		return 2;
	case EACCES:
	case EPERM:
		return 3;
	case EROFS:
		return 4;
	default:
		return 5;
	}
}

void
observe_spool(struct observe *o, int r)
{
	if (o == NULL)
		return;
	if (r >= 0)
		metrics_add(o->spool_ok, 0, 0, 1);
	else
		metrics_add(o->spool_fail, observe_errno_index(r), 0, 1);
}

void
observe_failure_records(struct observe *o, size_t n, int r)
{
	if (o == NULL)
		return;
	if (r >= 0)
		metrics_add(o->failure_ok, 0, 0, n);
	else
		metrics_add(o->failure_fail, observe_errno_index(r), 0, 1);
}

/* ---- scrape time ---- */

static void
observe_collect_keys(struct observe *o, struct buf *out)
{
	static const char *const names[] = {"key", "domain", "selector"};
	const char *values[3];
	bool head = false;
	size_t i;

	for (i = 0; i < o->n_keys; i++) {
		if (o->keys[i].expiry == 0)
			continue;
		if (!head)
			metrics_write_head(out,
			    "authmilter_key_expiry_timestamp_seconds", "gauge",
			    "When each key file is due for replacement: its "
			    "last change plus KeyMaxAge.");
		head = true;
		values[0] = o->keys[i].name;
		values[1] = o->keys[i].domain;
		values[2] = o->keys[i].selector;
		metrics_write_sample(out,
		    "authmilter_key_expiry_timestamp_seconds", names, values, 3,
		    (double)o->keys[i].expiry);
	}
}

static void
observe_counter(struct buf *out, const char *name, const char *help,
    const char *label, const char *value, uint64_t v)
{
	metrics_write_head(out, name, "counter", help);
	metrics_write_sample(
	    out, name, &label, &value, label != NULL ? 1 : 0, (double)v);
}

/* `authmilter report`'s counters from SPOOLDIR/report-state: zero before
 * the first run; nothing but authmilter_report_state_ok 0 when the file
 * cannot be read. */
static void
observe_collect_report(struct observe *o, struct buf *out)
{
	struct report_state s;
	int r;

	if (o->spool_dir == NULL)
		return;
	r = report_state_read(o->spool_dir, &s);
	if (r == -ENOENT) {
		memset(&s, 0, sizeof(s));
		r = 0;
	}
	metrics_write_head(out, "authmilter_report_state_ok", "gauge",
	    "Whether SpoolDir/report-state (authmilter report's counters) "
	    "could be read.");
	metrics_write_sample(
	    out, "authmilter_report_state_ok", NULL, NULL, 0, r == 0);
	if (r < 0)
		return;
	metrics_write_head(out, "authmilter_report_runs_total", "counter",
	    "Runs of authmilter report, by result.");
	metrics_write_sample(out, "authmilter_report_runs_total",
	    (const char *[]){"result"}, (const char *[]){"ok"}, 1,
	    (double)(s.runs - (s.runs_failed <= s.runs ? s.runs_failed : 0)));
	metrics_write_sample(out, "authmilter_report_runs_total",
	    (const char *[]){"result"}, (const char *[]){"failed"}, 1,
	    (double)s.runs_failed);
	observe_counter(out, "authmilter_reports_sent_total",
	    "Aggregate reports mailed by authmilter report.", NULL, NULL,
	    s.reports_sent);
	observe_counter(out, "authmilter_report_failures_total",
	    "Aggregate reports that could not be made or mailed.", NULL, NULL,
	    s.reports_failed);
	metrics_write_head(out, "authmilter_report_last_run_timestamp_seconds",
	    "gauge", "When authmilter report last ran (0: never).");
	metrics_write_sample(out,
	    "authmilter_report_last_run_timestamp_seconds", NULL, NULL, 0,
	    (double)s.last_run);
	metrics_write_head(out,
	    "authmilter_report_last_success_timestamp_seconds", "gauge",
	    "When a run of authmilter report last succeeded (0: never).");
	metrics_write_sample(out,
	    "authmilter_report_last_success_timestamp_seconds", NULL, NULL, 0,
	    (double)s.last_success);
}

static void
observe_collect(void *ctx, struct buf *out)
{
	struct observe *o = ctx;

	pthread_mutex_lock(&o->lock);
	observe_collect_keys(o, out);
	observe_collect_report(o, out);
	pthread_mutex_unlock(&o->lock);
}
