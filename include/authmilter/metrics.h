/*
 * metrics.h -- counters, gauges and histograms kept without locks on the
 * per-message path and written out in the Prometheus text exposition
 * format (version 0.0.4) when somebody asks.
 *
 * A registry (struct metrics) holds metric families, each one name with a
 * HELP text, a type and at most two labels. The label values are known
 * up front: a fixed list given at registration (every combination is
 * written from the start, at 0), or, for the first label only, a bounded
 * set of domains the daemon takes from its configuration
 * (metrics_value_add, at start-up and reload): a label is never made from
 * what a message says, so a scrape stays small whatever the mail is.
 *
 * Storage: every series of a family has one 64-bit cell per stripe; the
 * stripes are cache-line aligned, one per CPU (up to
 * BOUND_METRICS_STRIPES), and an update adds to the stripe of the CPU the
 * thread runs on (sched_getcpu(), one load through rseq) with a relaxed
 * atomic add: no lock, no allocation, no sharing of cache lines between
 * CPUs in the common case. A scrape sums the stripes. Striped atomics
 * rather than per-thread shards: libmilter starts and ends a thread per
 * connection, and shards would need registering and folding in when the
 * thread goes, on the mail path. Every cell only grows (counters,
 * histogram buckets and sums), so a sum read later is never smaller.
 * Gauges are one cell, set (not added) by the daemon outside the mail
 * path.
 *
 * Histograms keep integer observations in a unit the caller chooses
 * (microseconds, bytes) with fixed bucket bounds in that unit, and are
 * written in base units (seconds, bytes: the bound divided by the scale,
 * as exact decimals), with cumulative buckets ending in +Inf, _sum and
 * _count.
 *
 * Collectors are callbacks run at scrape time that write families of
 * their own through metrics_write_head and metrics_write_sample (state
 * read from files, per-key gauges that change with the configuration).
 *
 * Memory: the registry owns its families and copies every name, HELP
 * text and label value; families live as long as the registry. Thread
 * rules: register families before the registry is shared (start-up);
 * metrics_value_add may be called at any time (it locks the family);
 * metrics_add, metrics_observe, metrics_set, metrics_value_find and
 * metrics_write are thread-safe and lock-free. Every update function
 * accepts a NULL family and does nothing, so code that counts needs no
 * test for "metrics off".
 */
#ifndef AUTHMILTER_METRICS_H
#define AUTHMILTER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"

enum metrics_type {
	METRICS_COUNTER = 0,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
};

/* One label of a family. values NULL makes it a dynamic label (the
 * first label only): n is then how many values it may get. */
struct metrics_label {
	const char *name;
	const char *const *values; /* borrowed for the call; copied */
	size_t n;
};

struct metrics;
struct metrics_family;

/* metrics_new -- an empty registry (start-up: exits on ENOMEM). */
struct metrics *metrics_new(void);
/* metrics_free -- NULL is a no-op. @return NULL */
struct metrics *metrics_free(struct metrics *m);

/* metrics_family -- register a counter or gauge named name (the
 * Prometheus name: counters end in _total) with labels (at most 2).
 * A bad name, a repeated name or a bad label is a bug (panic).
 * @return the family, owned by m. */
struct metrics_family *metrics_family(struct metrics *m, enum metrics_type type,
    const char *name, const char *help, const struct metrics_label *labels,
    size_t n_labels);

/* metrics_histogram -- register a histogram without labels: n_bounds
 * upper bounds (strictly increasing, > 0) in units of 1/scale of the
 * base unit (scale 1000000 with microseconds gives seconds).
 * @return the family, owned by m. */
struct metrics_family *metrics_histogram(struct metrics *m, const char *name,
    const char *help, const uint64_t *bounds, size_t n_bounds, uint64_t scale);

/* metrics_value_add -- give the dynamic label of f the value v (kept;
 * case-insensitive, so "Example.COM" and "example.com" are one).
 * @return its index (also when it was there); -ENOSPC when the label is
 * full; -EINVAL for a value that is empty or longer than a domain. */
int metrics_value_add(struct metrics_family *f, const char *v);

/* metrics_value_find -- the index of v in the dynamic label of f, or -1
 * (also for f NULL). Lock-free: for the mail path. */
int metrics_value_find(const struct metrics_family *f, const char *v);

/* metrics_add -- add n to the series with label indices i (first label)
 * and j (second; 0 when the family has fewer labels) of a counter. An
 * index out of range is a bug (panic). */
void metrics_add(struct metrics_family *f, size_t i, size_t j, uint64_t n);

/* metrics_set -- set the series (i, j) of a gauge to v. */
void metrics_set(struct metrics_family *f, size_t i, size_t j, int64_t v);

/* metrics_get -- the current value of series (i, j), stripes summed (a
 * gauge: its value). For tests and the daemon's own checks. */
int64_t metrics_get(const struct metrics_family *f, size_t i, size_t j);

/* metrics_observe -- one observation v (in 1/scale units) into a
 * histogram. */
void metrics_observe(struct metrics_family *f, uint64_t v);

/* metrics_collector -- call fn(ctx, out) at the end of every
 * metrics_write; fn writes whole families (metrics_write_head, then its
 * samples) and must be thread-safe. ctx is borrowed. Start-up only. */
void metrics_collector(
    struct metrics *m, void (*fn)(void *ctx, struct buf *out), void *ctx);

/* metrics_write -- the exposition of every family, then the collectors,
 * appended to out. @return 0, or buf_error(out). */
int metrics_write(struct metrics *m, struct buf *out);

/* metrics_write_head -- "# HELP name help" (backslash and newline
 * escaped) and "# TYPE name type" ("counter", "gauge", "histogram"). */
void metrics_write_head(
    struct buf *out, const char *name, const char *type, const char *help);

/* metrics_write_sample -- one sample line: name, the labels (names[k] =
 * values[k] for k < n; values escaped), the value (integers exact; NaN
 * and infinities as Prometheus spells them). */
void metrics_write_sample(struct buf *out, const char *name,
    const char *const *names, const char *const *values, size_t n,
    double value);

/* metrics_escape -- a label value as the format wants it inside double
 * quotes: '\' -> "\\", '"' -> "\"", newline -> "\n"; other control
 * bytes and bytes that are not part of valid UTF-8 become '?' (the
 * format is UTF-8 and a bad byte would spoil the whole scrape). */
void metrics_escape(struct buf *out, const char *s);

/* Where the metrics listener listens (MetricsListen). */
struct metrics_listen {
	int family;     /* AF_INET, AF_INET6, AF_UNIX */
	char addr[46];  /* INET(6): numeric address */
	unsigned port;  /* INET(6): 1..65535 */
	char path[108]; /* UNIX: absolute socket path */
};

/* metrics_listen_parse -- "127.0.0.1:9101", "[::1]:9101" (numeric
 * addresses only: no DNS at start-up), "/run/authmilter/metrics.sock" or
 * "unix:/path".
 * @return 0 and *ret; -EINVAL with *ret_why (static text). */
int metrics_listen_parse(
    const char *spec, struct metrics_listen *ret, const char **ret_why);

#endif
