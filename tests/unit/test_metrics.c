/*
 * test_metrics.c -- the metrics registry and its exposition: label and
 * HELP escaping, cumulative histogram buckets with +Inf, _sum and _count
 * in base units, counters that only grow (also under threads), dynamic
 * labels, and MetricsListen parsing.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "authmilter/metrics.h"
#include "check.h"

/* The exposition of m as a string the caller frees. */
static char *
scrape(struct metrics *m)
{
	struct buf b;
	char *s;

	buf_init(&b, 1 << 20);
	CHECK_INT_EQ(metrics_write(m, &b), 0);
	s = buf_steal(&b, NULL);
	buf_free(&b);
	return s != NULL ? s : strdup("");
}

/* Whether line (a whole line) is in text. */
static int
has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p++;
	}
	return 0;
}

#define CHECK_LINE(text, line)                                                 \
	do {                                                                   \
		check_count++;                                                 \
		if (!has_line((text), (line))) {                               \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: no line \"%s\" in:\n%s\n",     \
			    __FILE__, __LINE__, (line), (text));               \
		}                                                              \
	} while (0)

static void
test_counter_labels(void)
{
	static const char *const path[] = {"sign", "verify"};
	static const char *const action[] = {"accept", "reject"};
	const struct metrics_label l[] = {
	    {"path", path, 2}, {"action", action, 2}};
	struct metrics *m = metrics_new();
	struct metrics_family *f;
	char *t;

	f = metrics_family(
	    m, METRICS_COUNTER, "t_messages_total", "Messages.", l, 2);
	metrics_add(f, 1, 1, 3);
	metrics_add(f, 0, 0, 1);
	metrics_add(f, 1, 1, 2);
	metrics_add(NULL, 0, 0, 1); /* a NULL family: nothing */
	CHECK_INT_EQ(metrics_get(f, 1, 1), 5);
	t = scrape(m);
	CHECK_LINE(t, "# HELP t_messages_total Messages.");
	CHECK_LINE(t, "# TYPE t_messages_total counter");
	/* every combination is there from the start, at 0 */
	CHECK_LINE(t, "t_messages_total{path=\"sign\",action=\"accept\"} 1");
	CHECK_LINE(t, "t_messages_total{path=\"sign\",action=\"reject\"} 0");
	CHECK_LINE(t, "t_messages_total{path=\"verify\",action=\"accept\"} 0");
	CHECK_LINE(t, "t_messages_total{path=\"verify\",action=\"reject\"} 5");
	free(t);
	metrics_free(m);
}

static void
test_escaping(void)
{
	static const char *const v[] = {"a\\b", "say \"hi\"", "two\nlines",
	    "tab\there", "caf\xc3\xa9", "bad\xff\xc3x", "\xed\xa0\x80"};
	const struct metrics_label l = {"v", v, 7};
	struct metrics *m = metrics_new();
	const char *names[] = {"k"}, *values[] = {"x\"y\\z\n"};
	struct buf b;
	char *t;

	metrics_family(m, METRICS_GAUGE, "t_escape",
	    "Back\\slash and\nnewline \"kept\".", &l, 1);
	t = scrape(m);
	/* HELP: only backslash and newline are escaped */
	CHECK_LINE(t, "# HELP t_escape Back\\\\slash and\\nnewline "
	              "\"kept\".");
	CHECK_LINE(t, "t_escape{v=\"a\\\\b\"} 0");
	CHECK_LINE(t, "t_escape{v=\"say \\\"hi\\\"\"} 0");
	CHECK_LINE(t, "t_escape{v=\"two\\nlines\"} 0");
	/* control bytes and bad UTF-8 never reach the output */
	CHECK_LINE(t, "t_escape{v=\"tab?here\"} 0");
	CHECK_LINE(t, "t_escape{v=\"caf\xc3\xa9\"} 0");
	CHECK_LINE(t, "t_escape{v=\"bad??x\"} 0");
	CHECK_LINE(t, "t_escape{v=\"???\"} 0"); /* a UTF-16 surrogate */
	free(t);

	buf_init(&b, 4096);
	metrics_write_sample(&b, "t_x", names, values, 1, 1.5);
	metrics_write_sample(&b, "t_nan", NULL, NULL, 0, NAN);
	metrics_write_sample(&b, "t_inf", NULL, NULL, 0, -INFINITY);
	metrics_write_sample(&b, "t_big", NULL, NULL, 0, 1700000000.0);
	CHECK_STR_EQ(buf_cstr(&b), "t_x{k=\"x\\\"y\\\\z\\n\"} 1.5\n"
	                           "t_nan NaN\n"
	                           "t_inf -Inf\n"
	                           "t_big 1700000000\n");
	buf_free(&b);
	metrics_free(m);
}

static void
test_histogram(void)
{
	/* microseconds, written as seconds */
	static const uint64_t bounds[] = {500, 1000, 2500000};
	struct metrics *m = metrics_new();
	struct metrics_family *h;
	char *t;

	h = metrics_histogram(m, "t_seconds", "Time.", bounds, 3, 1000000);
	metrics_observe(h, 0);       /* le 0.0005 */
	metrics_observe(h, 500);     /* le 0.0005: bounds are inclusive */
	metrics_observe(h, 501);     /* le 0.001 */
	metrics_observe(h, 2000000); /* le 2.5 */
	metrics_observe(h, 9000000); /* only +Inf */
	metrics_observe(NULL, 1);
	t = scrape(m);
	CHECK_LINE(t, "# TYPE t_seconds histogram");
	CHECK_LINE(t, "t_seconds_bucket{le=\"0.0005\"} 2");
	CHECK_LINE(t, "t_seconds_bucket{le=\"0.001\"} 3");
	CHECK_LINE(t, "t_seconds_bucket{le=\"2.5\"} 4");
	CHECK_LINE(t, "t_seconds_bucket{le=\"+Inf\"} 5");
	CHECK_LINE(t, "t_seconds_sum 11.001001");
	CHECK_LINE(t, "t_seconds_count 5");
	/* +Inf last among the buckets, then _sum, then _count */
	CHECK(strstr(t, "le=\"+Inf\"") < strstr(t, "t_seconds_sum"));
	CHECK(strstr(t, "t_seconds_sum") < strstr(t, "t_seconds_count"));
	CHECK_INT_EQ(metrics_get(h, 0, 0), 5);
	free(t);
	metrics_free(m);
}

/* The value of the first sample line starting with prefix in text. */
static double
value_of(const char *text, const char *prefix)
{
	const char *p = strstr(text, prefix);

	return p != NULL ? strtod(p + strlen(prefix), NULL) : -1;
}

struct hammer {
	struct metrics_family *c, *h;
	int n;
};

static void *
hammer_run(void *arg)
{
	struct hammer *w = arg;
	int i;

	for (i = 0; i < w->n; i++) {
		metrics_add(w->c, 0, 0, 1);
		metrics_observe(w->h, (uint64_t)(i % 3000));
	}
	return NULL;
}

/* Counters only grow: scrapes taken while 4 threads count never go
 * down, and the end is exact. */
static void
test_monotonic(void)
{
	static const uint64_t bounds[] = {1000, 2000};
	struct metrics *m = metrics_new();
	struct hammer w;
	pthread_t th[4];
	double last = 0, lastc = 0, v, c;
	char *t;
	int i, ok = 1;

	w.c = metrics_family(m, METRICS_COUNTER, "t_total", "T.", NULL, 0);
	w.h = metrics_histogram(m, "t_h", "H.", bounds, 2, 1);
	w.n = 200000;
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, hammer_run, &w);
	for (i = 0; i < 50; i++) {
		t = scrape(m);
		v = value_of(t, "t_total ");
		c = value_of(t, "t_h_count ");
		if (v < last || c < lastc ||
		    value_of(t, "t_h_bucket{le=\"1000\"} ") >
		        value_of(t, "t_h_bucket{le=\"2000\"} ") ||
		    value_of(t, "t_h_bucket{le=\"2000\"} ") > c)
			ok = 0;
		last = v;
		lastc = c;
		free(t);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CHECK(ok);
	t = scrape(m);
	CHECK_LINE(t, "t_total 800000");
	CHECK_LINE(t, "t_h_count 800000");
	free(t);
	metrics_free(m);
}

static void
test_dynamic(void)
{
	static const char *const alg[] = {"rsa-sha256", "ed25519-sha256"};
	const struct metrics_label l[] = {{"domain", NULL, 3}, {"alg", alg, 2}};
	struct metrics *m = metrics_new();
	struct metrics_family *f;
	char *t;

	f = metrics_family(m, METRICS_COUNTER, "t_sig_total", "S.", l, 2);
	t = scrape(m); /* no values yet: no series */
	CHECK(strstr(t, "t_sig_total{") == NULL);
	free(t);
	CHECK_INT_EQ(metrics_value_add(f, "example.com"), 0);
	CHECK_INT_EQ(metrics_value_add(f, "Example.NET"), 1);
	CHECK_INT_EQ(metrics_value_add(f, "EXAMPLE.com"), 0); /* again */
	CHECK_INT_EQ(metrics_value_add(f, "%"), 2);
	CHECK_INT_EQ(metrics_value_add(f, "example.org"), -ENOSPC);
	CHECK_INT_EQ(metrics_value_add(f, ""), -EINVAL);
	CHECK_INT_EQ(metrics_value_find(f, "example.net"), 1);
	CHECK_INT_EQ(metrics_value_find(f, "example.org"), -1);
	CHECK_INT_EQ(metrics_value_find(NULL, "example.org"), -1);
	metrics_add(f, 1, 1, 7);
	t = scrape(m);
	CHECK_LINE(t, "t_sig_total{domain=\"example.net\",alg=\"ed25519-"
	              "sha256\"} 7");
	CHECK_LINE(t, "t_sig_total{domain=\"example.com\",alg=\"rsa-sha256\"}"
	              " 0");
	CHECK_LINE(t, "t_sig_total{domain=\"%\",alg=\"rsa-sha256\"} 0");
	free(t);
	metrics_free(m);
}

static void
collect(void *ctx, struct buf *out)
{
	const char *n[] = {"key"}, *v[] = {ctx};

	metrics_write_head(out, "t_key_expiry", "gauge", "Expiry.");
	metrics_write_sample(out, "t_key_expiry", n, v, 1, 1800000000);
}

static void
test_gauge_collector(void)
{
	struct metrics *m = metrics_new();
	struct metrics_family *g;
	char *t;

	g = metrics_family(m, METRICS_GAUGE, "t_up", "Up.", NULL, 0);
	metrics_collector(m, collect, "k1");
	metrics_set(g, 0, 0, 5);
	metrics_set(g, 0, 0, -2); /* a gauge goes down too */
	t = scrape(m);
	CHECK_LINE(t, "t_up -2");
	CHECK_LINE(t, "# TYPE t_key_expiry gauge");
	CHECK_LINE(t, "t_key_expiry{key=\"k1\"} 1800000000");
	CHECK(strstr(t, "t_up") < strstr(t, "t_key_expiry"));
	free(t);
	metrics_free(m);
}

static void
test_listen(void)
{
	static const struct {
		const char *spec;
		int family;
		const char *addr;
		unsigned port;
	} good[] = {
	    {"127.0.0.1:9101", AF_INET, "127.0.0.1", 9101},
	    {"0.0.0.0:1", AF_INET, "0.0.0.0", 1},
	    {"[::1]:65535", AF_INET6, "::1", 65535},
	    {"/run/authmilter/metrics.sock", AF_UNIX, NULL, 0},
	    {"unix:/tmp/m.sock", AF_UNIX, NULL, 0},
	};
	static const char *const bad[] = {
	    "9101",
	    ":9101",
	    "localhost:9101",
	    "127.0.0.1:",
	    "127.0.0.1:0",
	    "127.0.0.1:65536",
	    "127.0.0.1:9101x",
	    "::1:9101",
	    "[::1]9101",
	    "[127.0.0.1]:80",
	    "[::1:80",
	    "relative.sock",
	    "",
	    /* a path longer than sun_path */
	    ("unix:/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	};
	struct metrics_listen l;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		why = NULL;
		CHECK_INT_EQ(metrics_listen_parse(good[i].spec, &l, &why), 0);
		CHECK_INT_EQ(l.family, good[i].family);
		if (good[i].addr != NULL) {
			CHECK_STR_EQ(l.addr, good[i].addr);
			CHECK_INT_EQ(l.port, good[i].port);
		} else
			CHECK(l.path[0] == '/');
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		CHECK_INT_EQ(metrics_listen_parse(bad[i], &l, &why), -EINVAL);
		CHECK(why != NULL && why[0] != '\0');
	}
}

int
main(void)
{
	test_counter_labels();
	test_escaping();
	test_histogram();
	test_monotonic();
	test_dynamic();
	test_gauge_collector();
	test_listen();
	return check_summary("metrics");
}
