/*
 * metrics.c -- striped lock-free counters, gauges and histograms and the
 * Prometheus text exposition format. See metrics.h.
 *
 * Layout of a family: series s (label indices i, j: s = i * n2 + j) owns
 * cells [s * width, (s + 1) * width) of every stripe, where width is 1
 * for counters and gauges and n_bounds + 2 for a histogram (one cell per
 * bucket, non-cumulative, the last one past every bound, then the sum).
 * A stripe is rounded up to whole cache lines so two CPUs never write to
 * one line.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "authmilter/bounds.h"
#include "authmilter/metrics.h"
#include "authmilter/xalloc.h"

#define METRICS_LINE 64 /* bytes in a cache line */
#define METRICS_CELLS_PER_LINE (METRICS_LINE / sizeof(atomic_uint_least64_t))

struct metrics_dyn {
	pthread_mutex_t lock; /* writers of the table */
	char **names;         /* [cap]: set before published */
	atomic_int *slots;    /* [nslots]: index + 1, 0 = empty */
	size_t nslots;        /* power of two, >= 2 * cap */
	size_t cap;           /* values it may hold */
	atomic_size_t count;  /* values published */
};

struct metrics_family {
	struct metrics_family *next;
	enum metrics_type type;
	char *name, *help;
	size_t n_labels;
	char *label_names[2];
	char **values[2];        /* fixed values; values[0] NULL: dynamic */
	size_t n_values[2];      /* fixed count, or the dynamic capacity */
	struct metrics_dyn *dyn; /* the dynamic first label, or NULL */
	uint64_t *bounds;        /* histogram */
	size_t n_bounds;
	uint64_t scale;
	size_t width;  /* cells per series */
	size_t series; /* n_values[0] * n_values[1] */
	size_t stride; /* cells per stripe, whole cache lines */
	size_t stripes;
	atomic_uint_least64_t *cells; /* [stripes * stride], aligned */
};

struct metrics_collect {
	struct metrics_collect *next;
	void (*fn)(void *ctx, struct buf *out);
	void *ctx;
};

struct metrics {
	size_t stripes;
	struct metrics_family *first, **last;
	struct metrics_collect *collectors, **last_collector;
};

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	long n = sysconf(_SC_NPROCESSORS_CONF);

	m->stripes = n < 1 ? 1 : (size_t)n;
	if (m->stripes > BOUND_METRICS_STRIPES)
		m->stripes = BOUND_METRICS_STRIPES;
	m->last = &m->first;
	m->last_collector = &m->collectors;
	return m;
}

static void
metrics_family_free(struct metrics_family *f)
{
	size_t k, i;

	for (k = 0; k < f->n_labels; k++) {
		free(f->label_names[k]);
		for (i = 0; f->values[k] != NULL && i < f->n_values[k]; i++)
			free(f->values[k][i]);
		free(f->values[k]);
	}
	if (f->dyn != NULL) {
		for (i = 0; i < f->dyn->cap; i++)
			free(f->dyn->names[i]);
		free(f->dyn->names);
		free(f->dyn->slots);
		pthread_mutex_destroy(&f->dyn->lock);
		free(f->dyn);
	}
	free(f->bounds);
	free(f->cells);
	free(f->name);
	free(f->help);
	free(f);
}

struct metrics *
metrics_free(struct metrics *m)
{
	struct metrics_family *f, *nf;
	struct metrics_collect *c, *nc;

	if (m == NULL)
		return NULL;
	for (f = m->first; f != NULL; f = nf) {
		nf = f->next;
		metrics_family_free(f);
	}
	for (c = m->collectors; c != NULL; c = nc) {
		nc = c->next;
		free(c);
	}
	free(m);
	return NULL;
}

/* ---- registration ---- */

/* The data model's names: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label
 * [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__" (reserved). */
static bool
metrics_name_ok(const char *s, bool label)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || isdigit((unsigned char)s[0]))
		return false;
	if (label && strncmp(s, "__", 2) == 0)
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    (label || s[i] != ':'))
			return false;
	return true;
}

static void
metrics_cells(struct metrics *m, struct metrics_family *f)
{
	size_t per = f->series * f->width, bytes;

	f->stride = (per + METRICS_CELLS_PER_LINE - 1) /
	            METRICS_CELLS_PER_LINE * METRICS_CELLS_PER_LINE;
	f->stripes = f->type == METRICS_GAUGE ? 1 : m->stripes;
	bytes = f->stride * f->stripes * sizeof(*f->cells);
	f->cells = aligned_alloc(METRICS_LINE, bytes);
	if (f->cells == NULL)
		panic("metrics: out of memory");
	memset(f->cells, 0, bytes);
}

static struct metrics_family *
metrics_new_family(struct metrics *m, enum metrics_type type, const char *name,
    const char *help)
{
	struct metrics_family *f;

	if (!metrics_name_ok(name, false))
		panic("metrics: bad metric name \"%s\"", name);
	for (f = m->first; f != NULL; f = f->next)
		if (strcmp(f->name, name) == 0)
			panic("metrics: %s registered twice", name);
	f = xcalloc(1, sizeof(*f));
	f->type = type;
	f->name = xstrdup(name);
	f->help = xstrdup(help != NULL ? help : "");
	f->width = 1;
	f->series = 1;
	*m->last = f;
	m->last = &f->next;
	return f;
}

static struct metrics_dyn *
metrics_dyn_new(size_t cap)
{
	struct metrics_dyn *d = xcalloc(1, sizeof(*d));
	size_t i;

	if (cap == 0 || cap > BOUND_METRICS_DOMAINS)
		panic("metrics: dynamic label capacity %zu", cap);
	d->cap = cap;
	d->names = xcalloc(cap, sizeof(*d->names));
	for (d->nslots = 16; d->nslots < 2 * cap; d->nslots *= 2)
		;
	d->slots = xcalloc(d->nslots, sizeof(*d->slots));
	for (i = 0; i < d->nslots; i++)
		atomic_init(&d->slots[i], 0);
	atomic_init(&d->count, 0);
	if (pthread_mutex_init(&d->lock, NULL) != 0)
		panic("pthread_mutex_init failed");
	return d;
}

struct metrics_family *
metrics_family(struct metrics *m, enum metrics_type type, const char *name,
    const char *help, const struct metrics_label *labels, size_t n_labels)
{
	struct metrics_family *f;
	size_t k, i;

	if (type == METRICS_HISTOGRAM || n_labels > 2)
		panic("metrics: %s: histogram or more than 2 labels", name);
	f = metrics_new_family(m, type, name, help);
	f->n_labels = n_labels;
	for (k = 0; k < n_labels; k++) {
		const struct metrics_label *l = &labels[k];

		if (!metrics_name_ok(l->name, true) ||
		    strcmp(l->name, "le") == 0 || l->n == 0 ||
		    (l->values == NULL && k > 0))
			panic("metrics: %s: bad label", name);
		f->label_names[k] = xstrdup(l->name);
		f->n_values[k] = l->n;
		f->series *= l->n;
		if (l->values == NULL) {
			f->dyn = metrics_dyn_new(l->n);
			continue;
		}
		f->values[k] = xcalloc(l->n, sizeof(char *));
		for (i = 0; i < l->n; i++)
			f->values[k][i] = xstrdup(l->values[i]);
	}
	metrics_cells(m, f);
	return f;
}

struct metrics_family *
metrics_histogram(struct metrics *m, const char *name, const char *help,
    const uint64_t *bounds, size_t n_bounds, uint64_t scale)
{
	struct metrics_family *f;
	size_t i;

	if (n_bounds == 0 || scale == 0)
		panic("metrics: %s: no buckets", name);
	for (i = 0; i < n_bounds; i++)
		if (bounds[i] == 0 || (i > 0 && bounds[i] <= bounds[i - 1]))
			panic("metrics: %s: bounds not increasing", name);
	f = metrics_new_family(m, METRICS_HISTOGRAM, name, help);
	f->bounds = xcalloc(n_bounds, sizeof(*bounds));
	memcpy(f->bounds, bounds, n_bounds * sizeof(*bounds));
	f->n_bounds = n_bounds;
	f->scale = scale;
	f->width = n_bounds + 2;
	metrics_cells(m, f);
	return f;
}

void
metrics_collector(
    struct metrics *m, void (*fn)(void *ctx, struct buf *out), void *ctx)
{
	struct metrics_collect *c = xcalloc(1, sizeof(*c));

	c->fn = fn;
	c->ctx = ctx;
	*m->last_collector = c;
	m->last_collector = &c->next;
}

/* ---- dynamic label values ---- */

/* FNV-1a over the lower-cased bytes: the values are the operator's
 * (configuration), so no keyed hash is needed. */
static uint64_t
metrics_hash(const char *s)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++) {
		h ^= (uint64_t)(unsigned char)tolower((unsigned char)*s);
		h *= 1099511628211ULL;
	}
	return h;
}

int
metrics_value_find(const struct metrics_family *f, const char *v)
{
	struct metrics_dyn *d;
	size_t h, k;
	int slot;

	if (f == NULL || (d = f->dyn) == NULL || v == NULL)
		return -1;
	h = (size_t)metrics_hash(v) & (d->nslots - 1);
	for (k = 0; k < d->nslots; k++) {
		slot = atomic_load_explicit(
		    &d->slots[(h + k) & (d->nslots - 1)], memory_order_acquire);
		if (slot == 0)
			return -1;
		if (strcasecmp(d->names[slot - 1], v) == 0)
			return slot - 1;
	}
	return -1;
}

int
metrics_value_add(struct metrics_family *f, const char *v)
{
	struct metrics_dyn *d = f->dyn;
	size_t h, n, len;
	char *copy;
	int r;

	if (d == NULL)
		panic("metrics: %s has no dynamic label", f->name);
	len = strlen(v);
	if (len == 0 || len > BOUND_DOMAIN_LEN)
		return -EINVAL;
	pthread_mutex_lock(&d->lock);
	if ((r = metrics_value_find(f, v)) >= 0)
		goto out;
	n = atomic_load_explicit(&d->count, memory_order_relaxed);
	if (n == d->cap) {
		r = -ENOSPC;
		goto out;
	}
	if ((copy = strdup(v)) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (h = 0; h < len; h++)
		copy[h] = (char)tolower((unsigned char)copy[h]);
	d->names[n] = copy;
	h = (size_t)metrics_hash(v) & (d->nslots - 1);
	while (atomic_load_explicit(&d->slots[h], memory_order_relaxed) != 0)
		h = (h + 1) & (d->nslots - 1);
	/* the name is written before the slot that publishes it */
	atomic_store_explicit(&d->slots[h], (int)n + 1, memory_order_release);
	atomic_store_explicit(&d->count, n + 1, memory_order_release);
	r = (int)n;
out:
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* ---- updates ---- */

/* The stripe of the calling thread: the CPU it runs on (a thread moved
 * between the call and the add only shares a line for that once). */
static size_t
metrics_stripe(const struct metrics_family *f)
{
	int cpu;

	if (f->stripes == 1)
		return 0;
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : (size_t)cpu % f->stripes;
}

static size_t
metrics_series(const struct metrics_family *f, size_t i, size_t j)
{
	size_t n2 = f->n_labels > 1 ? f->n_values[1] : 1;

	if (i >= (f->n_labels > 0 ? f->n_values[0] : 1) || j >= n2)
		panic("metrics: %s: series (%zu, %zu) out of range", f->name, i,
		    j);
	return i * n2 + j;
}

void
metrics_add(struct metrics_family *f, size_t i, size_t j, uint64_t n)
{
	size_t cell;

	if (f == NULL)
		return;
	if (f->type != METRICS_COUNTER)
		panic("metrics: %s is not a counter", f->name);
	cell = metrics_stripe(f) * f->stride + metrics_series(f, i, j);
	atomic_fetch_add_explicit(&f->cells[cell], n, memory_order_relaxed);
}

void
metrics_set(struct metrics_family *f, size_t i, size_t j, int64_t v)
{
	if (f == NULL)
		return;
	if (f->type != METRICS_GAUGE)
		panic("metrics: %s is not a gauge", f->name);
	atomic_store_explicit(&f->cells[metrics_series(f, i, j)], (uint64_t)v,
	    memory_order_relaxed);
}

/* Cell c of a series summed over the stripes. */
static uint64_t
metrics_sum(const struct metrics_family *f, size_t c)
{
	uint64_t t = 0;
	size_t s;

	for (s = 0; s < f->stripes; s++)
		t += atomic_load_explicit(
		    &f->cells[s * f->stride + c], memory_order_relaxed);
	return t;
}

int64_t
metrics_get(const struct metrics_family *f, size_t i, size_t j)
{
	size_t s = metrics_series(f, i, j), b;
	uint64_t t = 0;

	if (f->type != METRICS_HISTOGRAM)
		return (int64_t)metrics_sum(f, s);
	for (b = 0; b <= f->n_bounds; b++) /* the count */
		t += metrics_sum(f, b);
	return (int64_t)t;
}

void
metrics_observe(struct metrics_family *f, uint64_t v)
{
	size_t lo = 0, hi, base;

	if (f == NULL)
		return;
	if (f->type != METRICS_HISTOGRAM)
		panic("metrics: %s is not a histogram", f->name);
	/* the first bucket whose bound is >= v (le: less or equal) */
	hi = f->n_bounds;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->bounds[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	base = metrics_stripe(f) * f->stride;
	atomic_fetch_add_explicit(
	    &f->cells[base + lo], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &f->cells[base + f->n_bounds + 1], v, memory_order_relaxed);
}

/* ---- exposition ---- */

/* The length of the valid UTF-8 sequence at s (RFC 3629 section 4), or
 * 0. */
static size_t
metrics_utf8(const unsigned char *s)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n, k;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0; /* overlong */
	else if (c == 0xed)
		hi = 0x9f; /* surrogates */
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f; /* past U+10FFFF */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (k = 2; k < n; k++)
		if (s[k] < 0x80 || s[k] > 0xbf)
			return 0;
	return n;
}

/* Whether s needs no escaping (printable ASCII without '\\' and '"'):
 * the common case, copied at once. */
static bool
metrics_plain(const char *s, size_t *ret_len)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++)
		if (*p < 0x20 || *p >= 0x7f || *p == '\\' || *p == '"')
			return false;
	*ret_len = (size_t)((const char *)p - s);
	return true;
}

void
metrics_escape(struct buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (metrics_plain(s, &n)) {
		buf_add(out, s, n);
		return;
	}

	while (*p != '\0') {
		if (*p == '\\' || *p == '"') {
			buf_addc(out, '\\');
			buf_addc(out, (char)*p++);
		} else if (*p == '\n') {
			buf_adds(out, "\\n");
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			buf_addc(out, '?');
			p++;
		} else if (*p < 0x80) {
			buf_addc(out, (char)*p++);
		} else if ((n = metrics_utf8(p)) > 0) {
			buf_add(out, p, n);
			p += n;
		} else {
			buf_addc(out, '?');
			p++;
		}
	}
}

void
metrics_write_head(
    struct buf *out, const char *name, const char *type, const char *help)
{
	const char *p;

	/* text format: in HELP only '\' and newline are escaped */
	buf_addf(out, "# HELP %s ", name);
	for (p = help; *p != '\0'; p++) {
		if (*p == '\\')
			buf_adds(out, "\\\\");
		else if (*p == '\n')
			buf_adds(out, "\\n");
		else
			buf_addc(out, *p);
	}
	buf_addf(out, "\n# TYPE %s %s\n", name, type);
}

static void
metrics_labels(struct buf *out, const char *const *names,
    const char *const *values, size_t n, const char *le)
{
	size_t k;

	if (n == 0 && le == NULL)
		return;
	buf_addc(out, '{');
	for (k = 0; k < n; k++) {
		if (k > 0)
			buf_addc(out, ',');
		buf_adds(out, names[k]);
		buf_add(out, "=\"", 2);
		metrics_escape(out, values[k]);
		buf_addc(out, '"');
	}
	if (le != NULL) {
		buf_adds(out, n > 0 ? ",le=\"" : "le=\"");
		buf_adds(out, le);
		buf_addc(out, '"');
	}
	buf_addc(out, '}');
}

/* " v\n", v in decimal (no printf: a scrape writes thousands). */
static void
metrics_u64(struct buf *out, uint64_t v, bool negative)
{
	char d[24];
	size_t i = sizeof(d);

	d[--i] = '\n';
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (negative)
		d[--i] = '-';
	d[--i] = ' ';
	buf_add(out, d + i, sizeof(d) - i);
}

static void
metrics_number(struct buf *out, double v)
{
	if (isnan(v))
		buf_adds(out, "NaN");
	else if (isinf(v))
		buf_adds(out, v > 0 ? "+Inf" : "-Inf");
	else if (v == (double)(int64_t)v && fabs(v) < 9.007199254740992e15)
		buf_addf(out, "%" PRId64, (int64_t)v);
	else
		buf_addf(out, "%.17g", v);
}

void
metrics_write_sample(struct buf *out, const char *name,
    const char *const *names, const char *const *values, size_t n, double value)
{
	buf_adds(out, name);
	metrics_labels(out, names, values, n, NULL);
	buf_addc(out, ' ');
	metrics_number(out, value);
	buf_addc(out, '\n');
}

/* v / scale as an exact decimal ("0.0005", "2.5", "10"). */
static void
metrics_scaled(char *out, size_t cap, uint64_t v, uint64_t scale)
{
	uint64_t frac = v % scale, s;
	size_t digits = 0, o;

	for (s = scale; s > 1; s /= 10)
		digits++;
	o = (size_t)snprintf(out, cap, "%" PRIu64, v / scale);
	if (frac == 0 || o >= cap)
		return;
	snprintf(out + o, cap - o, ".%0*" PRIu64, (int)digits, frac);
	o = strlen(out);
	while (o > 0 && out[o - 1] == '0')
		out[--o] = '\0';
}

/* The label values of series s of f. */
static void
metrics_series_values(
    const struct metrics_family *f, size_t s, const char **ret)
{
	size_t n2 = f->n_labels > 1 ? f->n_values[1] : 1;

	if (f->n_labels > 0)
		ret[0] = f->dyn != NULL ? f->dyn->names[s / n2]
		                        : f->values[0][s / n2];
	if (f->n_labels > 1)
		ret[1] = f->values[1][s % n2];
}

static void
metrics_write_histogram(const struct metrics_family *f, struct buf *out)
{
	char le[32], name[256];
	uint64_t cum = 0;
	size_t b;

	snprintf(name, sizeof(name), "%s_bucket", f->name);
	for (b = 0; b <= f->n_bounds; b++) {
		cum += metrics_sum(f, b);
		if (b < f->n_bounds)
			metrics_scaled(le, sizeof(le), f->bounds[b], f->scale);
		else
			snprintf(le, sizeof(le), "+Inf");
		buf_adds(out, name);
		metrics_labels(out, NULL, NULL, 0, le);
		metrics_u64(out, cum, false);
	}
	metrics_scaled(
	    le, sizeof(le), metrics_sum(f, f->n_bounds + 1), f->scale);
	buf_addf(out, "%s_sum %s\n", f->name, le);
	/* _count is the +Inf bucket, from the same reads */
	buf_addf(out, "%s_count %" PRIu64 "\n", f->name, cum);
}

static void
metrics_write_family(const struct metrics_family *f, struct buf *out)
{
	static const char *const types[] = {"counter", "gauge", "histogram"};
	const char *values[2];
	size_t s, n = f->series;
	uint64_t v;

	metrics_write_head(out, f->name, types[f->type], f->help);
	if (f->type == METRICS_HISTOGRAM) {
		metrics_write_histogram(f, out);
		return;
	}
	if (f->dyn != NULL)
		n = atomic_load_explicit(&f->dyn->count, memory_order_acquire) *
		    (f->n_labels > 1 ? f->n_values[1] : 1);
	for (s = 0; s < n; s++) {
		metrics_series_values(f, s, values);
		buf_adds(out, f->name);
		metrics_labels(out, (const char *const *)f->label_names, values,
		    f->n_labels, NULL);
		v = metrics_sum(f, s);
		if (f->type == METRICS_GAUGE && (int64_t)v < 0)
			metrics_u64(out, (uint64_t)0 - v, true);
		else
			metrics_u64(out, v, false);
	}
}

int
metrics_write(struct metrics *m, struct buf *out)
{
	const struct metrics_family *f;
	const struct metrics_collect *c;

	for (f = m->first; f != NULL; f = f->next)
		metrics_write_family(f, out);
	for (c = m->collectors; c != NULL; c = c->next)
		c->fn(c->ctx, out);
	return buf_error(out);
}

/* ---- MetricsListen ---- */

int
metrics_listen_parse(
    const char *spec, struct metrics_listen *ret, const char **ret_why)
{
	const char *colon, *host;
	unsigned char a[16];
	size_t hlen;
	char *end;
	long port;

	memset(ret, 0, sizeof(*ret));
	if (strncmp(spec, "unix:", 5) == 0)
		spec += 5;
	if (spec[0] == '/') {
		if (strlen(spec) >= sizeof(ret->path)) {
			*ret_why = "socket path too long";
			return -EINVAL;
		}
		ret->family = AF_UNIX;
		strcpy(ret->path, spec);
		return 0;
	}
	colon = strrchr(spec, ':');
	if (colon == NULL || colon == spec) {
		*ret_why = "want ADDRESS:PORT ([IPv6]:PORT) or a socket path";
		return -EINVAL;
	}
	host = spec;
	hlen = (size_t)(colon - spec);
	if (host[0] == '[') {
		if (hlen < 2 || host[hlen - 1] != ']') {
			*ret_why =
			    "an IPv6 address goes in brackets: [::1]:PORT";
			return -EINVAL;
		}
		host++;
		hlen -= 2;
		ret->family = AF_INET6;
	} else
		ret->family = AF_INET;
	if (hlen >= sizeof(ret->addr)) {
		*ret_why = "not a numeric IP address";
		return -EINVAL;
	}
	memcpy(ret->addr, host, hlen);
	ret->addr[hlen] = '\0';
	if (inet_pton(ret->family, ret->addr, a) != 1) {
		*ret_why = ret->family == AF_INET6
		               ? "not a numeric IPv6 address"
		               : "not a numeric IP address (IPv6 in brackets)";
		return -EINVAL;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || port < 1 ||
	    port > 65535) {
		*ret_why = "port must be 1 to 65535";
		return -EINVAL;
	}
	ret->port = (unsigned)port;
	return 0;
}
