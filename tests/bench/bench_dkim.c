/*
 * bench_dkim.c -- in-process DKIM sign and verify rate, single-threaded,
 * for generated 2 KB, 20 KB and 1 MB messages (13 header fields, body lines
 * of about 70 characters), rsa-sha256 (2048 bits) and ed25519-sha256, with
 * relaxed/simple canonicalization (the signer default). Each message goes
 * the way the milter takes it: msg_parse of the header section, then the
 * body in 64 KB chunks, then finish.
 *
 * Verify fetches the key through dns.h: "warm" asks a dns_cache in front
 * of a dns_zone holding keys/demo/demo.zone (a cache hit every message)
 * and keeps parsed keys in a dkim_key_cache (the milter's steady state),
 * "cold" asks the dns_zone directly with no cache and parses the key
 * record again per message; the cost of that parse alone is printed last.
 *
 * Rates are messages per CPU second (CLOCK_PROCESS_CPUTIME_ID), as
 * `openssl speed` counts. Prints figures; asserts nothing.
 *
 *	bench_dkim [--seconds S] KEYDIR        the table
 *	bench_dkim --once sign|verify|verify-cold rsa|ed KEYDIR
 *	                one 2 KB operation after a warm-up one, in
 *	                bench_once() (for callgrind --toggle-collect)
 *	bench_dkim --gen BYTES                 a message on stdout
 *
 * KEYDIR holds demo-rsa.private, demo-ed.private and demo.zone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/dkim_verify.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"

#define BENCH_CHUNK 65536
#define BENCH_NOW 1795435200

/* The warm resolver, and the key cache that goes with it. */
static struct dns_resolver *bench_warm;
static struct dkim_key_cache *bench_warm_keys;

struct bench_key {
	const char *label; /* as openssl speed names it */
	const char *file;
	const char *selector;
	struct dkim_privkey *key;
};

/* clang-format off */
static struct bench_key bench_keys[] = {
	{ "rsa2048", "demo-rsa.private", "demo-rsa", NULL },
	{ "ed25519", "demo-ed.private", "demo-ed", NULL },
};

static const size_t bench_sizes[] = { 2048, 20480, 1048576 };

static const char *const bench_words[] = {
	"the", "report", "meeting", "of", "and", "figures", "to", "next",
	"week", "a", "budget", "for", "team", "please", "review", "attached",
	"in", "quarter", "with", "server", "mail", "is", "on", "thanks",
	"schedule", "we", "customer", "will", "update", "that", "project",
	"delivery",
};
/* clang-format on */

static double
bench_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
bench_wall(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_headers(struct buf *b, size_t size)
{
	buf_addf(b,
	    "Received: from mail.example.org (mail.example.org "
	    "[192.0.2.10])\r\n\tby mx.example.com (Postfix) with ESMTPS id "
	    "4Xq7Lm2Zk9z1\r\n\tfor <alice@example.com>; Mon, 23 Nov 2026 "
	    "11:59:58 +0000 (UTC)\r\n");
	buf_addf(b,
	    "Received: from [198.51.100.7] (client.example.org "
	    "[198.51.100.7])\r\n\tby mail.example.org (Postfix) with ESMTPSA;"
	    " Mon, 23 Nov 2026 11:59:57 +0000\r\n");
	buf_addf(b,
	    "From: Alice Example <alice@example.com>\r\n"
	    "To: Bob Receiver <bob@example.net>, team@example.net\r\n"
	    "Cc: Carol <carol@example.org>\r\n"
	    "Reply-To: Alice Example <alice@example.com>\r\n"
	    "Subject: Quarterly figures and the plan for next week "
	    "(%zu bytes)\r\n"
	    "Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n"
	    "Message-ID: <bench-%zu.20261123120000@example.com>\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n"
	    "List-Id: Team discussion <team.example.net>\r\n\r\n",
	    size, size);
}

/* A message of about size bytes (at least), CRLF line ends. */
static char *
bench_message(size_t size, size_t *ret_len)
{
	unsigned seed = (unsigned)size;
	size_t col = 0, nw = sizeof(bench_words) / sizeof(bench_words[0]);
	struct buf b;

	buf_init(&b, size + 4096);
	bench_headers(&b, size);
	while (b.len < size) {
		const char *w;

		seed = seed * 1103515245u + 12345u;
		w = bench_words[(seed >> 16) % nw];
		if (col > 0 && col + strlen(w) + 1 > 70) {
			buf_adds(
			    &b, (seed >> 8) % 11 == 0 ? "\r\n\r\n" : "\r\n");
			col = 0;
		}
		if (col > 0)
			buf_addc(&b, ' '), col++;
		buf_adds(&b, w);
		col += strlen(w);
	}
	buf_adds(&b, "\r\n");
	if (buf_error(&b) != 0)
		exit(1);
	return buf_steal(&b, ret_len);
}

/* Parse the header section of text into m and say where the body is. */
static void
bench_parse(struct arena *a, struct msg *m, const char *text, size_t len,
    size_t *ret_body)
{
	const char *why = NULL;

	msg_init(m, a);
	if (msg_parse(m, text, len, ret_body, &why) != 0) {
		fprintf(stderr, "bench_dkim: msg_parse: %s\n",
		    why != NULL ? why : "failed");
		exit(1);
	}
}

/* One signature over text; *ret_value is arena-owned. */
static int
bench_sign(struct arena *a, const char *text, size_t len,
    const struct dkim_privkey *key, const char *selector,
    const char **ret_value)
{
	struct dkim_signer sg;
	struct dkim_sign *s;
	size_t at, k;
	struct msg m;
	int r;

	bench_parse(a, &m, text, len, &at);
	dkim_signer_init(&sg);
	sg.domain = "example.com";
	sg.selector = selector;
	sg.key = key;
	if ((r = dkim_sign_begin(a, &m, &sg, 1, &s)) != 0)
		return r;
	for (; at < len; at += k) {
		k = len - at < BENCH_CHUNK ? len - at : BENCH_CHUNK;
		if ((r = dkim_sign_body(s, text + at, k)) != 0)
			return r;
	}
	return dkim_sign_finish(s, BENCH_NOW, ret_value);
}

/* Verify text's signatures; 0 and *ret_result (the first one's). */
static int
bench_verify(struct arena *a, const char *text, size_t len,
    struct dns_resolver *res, enum auth_result *ret_result)
{
	struct dkim_verify_options opt = {.resolver = res,
	    .key_cache = res == bench_warm ? bench_warm_keys : NULL};
	const struct dkim_verify_result *out;
	struct dkim_verify *v;
	size_t at, k, n;
	struct msg m;
	int r;

	bench_parse(a, &m, text, len, &at);
	if ((r = dkim_verify_begin(a, &m, &opt, &v)) != 0)
		return r;
	for (; at < len; at += k) {
		k = len - at < BENCH_CHUNK ? len - at : BENCH_CHUNK;
		if ((r = dkim_verify_body(v, text + at, k)) != 0)
			return r;
	}
	if ((r = dkim_verify_finish(v, BENCH_NOW, &out, &n)) != 0)
		return r;
	*ret_result = n > 0 ? out[0].result : AUTH_NONE;
	return 0;
}

/* text with a DKIM-Signature by bk prepended (malloc'd). */
static char *
bench_signed(
    const char *text, size_t len, const struct bench_key *bk, size_t *ret_len)
{
	struct arena *a = arena_new(16384);
	const char *value;
	struct buf b;

	if (a == NULL ||
	    bench_sign(a, text, len, bk->key, bk->selector, &value) != 0) {
		fprintf(stderr, "bench_dkim: signing failed\n");
		exit(1);
	}
	buf_init(&b, len + strlen(value) + 64);
	buf_adds(&b, "DKIM-Signature:");
	buf_adds(&b, value);
	buf_adds(&b, "\r\n");
	buf_add(&b, text, len);
	arena_free(a);
	if (buf_error(&b) != 0)
		exit(1);
	return buf_steal(&b, ret_len);
}

enum bench_op {
	BENCH_SIGN,
	BENCH_VERIFY,
};

/* One operation on one message; exits on an error or a verify that does
 * not pass (the figures would mean nothing). */
static void
bench_op(enum bench_op op, struct arena *a, const char *text, size_t len,
    const struct bench_key *bk, struct dns_resolver *res)
{
	enum auth_result ar = AUTH_PASS;
	const char *value;
	int r;

	if (op == BENCH_SIGN)
		r = bench_sign(a, text, len, bk->key, bk->selector, &value);
	else
		r = bench_verify(a, text, len, res, &ar);
	if (r != 0 || ar != AUTH_PASS) {
		fprintf(stderr, "bench_dkim: %s %s failed: %s, %s\n",
		    op == BENCH_SIGN ? "sign" : "verify", bk->label,
		    strerror(-r), auth_result_name(ar));
		exit(1);
	}
	arena_reset(a);
}

/* Repeat op for at least secs of CPU time and print one table row. */
static void
bench_cell(const char *name, enum bench_op op, const char *text, size_t len,
    size_t size, const struct bench_key *bk, struct dns_resolver *res,
    double secs)
{
	struct arena *a = arena_new(16384);
	double c0, w0, cpu, wall;
	long n = 0;

	if (a == NULL)
		exit(1);
	bench_op(op, a, text, len, bk, res); /* warm-up */
	c0 = bench_cpu();
	w0 = bench_wall();
	do {
		bench_op(op, a, text, len, bk, res);
		n++;
	} while ((cpu = bench_cpu() - c0) < secs);
	wall = bench_wall() - w0;
	printf("%-12s %-8s %5zuK %10.1f %10.3f %10.3f %8ld\n", name, bk->label,
	    size / 1024, n / cpu, cpu / n * 1e3, wall / n * 1e3, n);
	arena_free(a);
}

/* The key record of bk, as the zone serves it, parsed for at least secs:
 * microseconds per dkim_pubkey_parse(). */
static void
bench_keyparse(
    const struct bench_key *bk, struct dns_resolver *zone, double secs)
{
	struct dns_answer *ans = NULL;
	struct dkim_pubkey *pk;
	struct buf why, name;
	double c0, cpu;
	long n = 0;

	buf_init(&name, 256);
	buf_addf(&name, "%s._domainkey.example.com", bk->selector);
	if (dns_query(zone, buf_cstr(&name), DNS_T_TXT, &ans) != 0 ||
	    ans->status != DNS_OK || ans->count == 0)
		exit(1);
	buf_init(&why, 512);
	c0 = bench_cpu();
	do {
		if (dkim_pubkey_parse((const char *)ans->rrs[0].data,
		        ans->rrs[0].len, 0, &pk, &why) != 0)
			exit(1);
		dkim_pubkey_unref(pk);
		n++;
	} while ((cpu = bench_cpu() - c0) < secs);
	printf("key record parse %-8s %8.2f us (%ld parses)\n", bk->label,
	    cpu / n * 1e6, n);
	buf_free(&why);
	buf_free(&name);
	dns_answer_unref(ans);
}

static void
bench_setup(const char *dir, struct dns_resolver **ret_zone)
{
	struct buf path, why;
	char *zwhy = NULL;
	size_t i;

	buf_init(&path, 4096);
	buf_init(&why, 512);
	for (i = 0; i < 2; i++) {
		buf_reset(&path);
		buf_addf(&path, "%s/%s", dir, bench_keys[i].file);
		if (dkim_key_load_private(
		        buf_cstr(&path), true, &bench_keys[i].key, &why) != 0) {
			fprintf(stderr, "bench_dkim: %s\n", buf_cstr(&why));
			exit(1);
		}
	}
	*ret_zone = dns_zone_new();
	buf_reset(&path);
	buf_addf(&path, "%s/demo.zone", dir);
	if (dns_zone_load(*ret_zone, buf_cstr(&path), &zwhy) != 0) {
		fprintf(stderr, "bench_dkim: %s\n", zwhy);
		exit(1);
	}
	buf_free(&path);
	buf_free(&why);
}

/* The operation callgrind counts: nothing else runs inside it. */
__attribute__((noinline)) void bench_once(enum bench_op op, struct arena *a,
    const char *text, size_t len, const struct bench_key *bk,
    struct dns_resolver *res);

__attribute__((noinline)) void
bench_once(enum bench_op op, struct arena *a, const char *text, size_t len,
    const struct bench_key *bk, struct dns_resolver *res)
{
	bench_op(op, a, text, len, bk, res);
}

static int
bench_once_main(const char *what, const char *alg, const char *dir)
{
	enum bench_op op =
	    strcmp(what, "sign") == 0 ? BENCH_SIGN : BENCH_VERIFY;
	const struct bench_key *bk = &bench_keys[alg[0] == 'e' ? 1 : 0];
	struct dns_resolver *zone, *cache, *res;
	struct arena *a = arena_new(16384);
	size_t plen, slen;
	char *plain, *sig;

	bench_setup(dir, &zone);
	cache = bench_warm = dns_cache_new(zone, 64);
	bench_warm_keys = dkim_key_cache_new(64);
	res = strcmp(what, "verify-cold") == 0 ? zone : cache;
	plain = bench_message(2048, &plen);
	sig = bench_signed(plain, plen, bk, &slen);
	if (op == BENCH_SIGN) {
		bench_op(op, a, plain, plen, bk, res);
		bench_once(op, a, plain, plen, bk, res);
	} else {
		bench_op(op, a, sig, slen, bk, res);
		bench_once(op, a, sig, slen, bk, res);
	}
	printf("one 2K %s %s done\n", what, bk->label);
	free(plain);
	free(sig);
	arena_free(a);
	dns_resolver_free(cache);
	dkim_key_cache_free(bench_warm_keys);
	return 0;
}

static void
bench_table(const char *dir, double secs)
{
	struct dns_resolver *zone, *cache;
	size_t i, k, plen, slen;
	unsigned long hits, misses;
	struct dkim_key_cache_stats ks;
	char *plain, *sig;

	bench_setup(dir, &zone);
	cache = bench_warm = dns_cache_new(zone, 64);
	bench_warm_keys = dkim_key_cache_new(64);
	printf("%-12s %-8s %6s %10s %10s %10s %8s\n", "op", "alg", "size",
	    "msg/cpu-s", "cpu-ms/msg", "wall-ms", "count");
	for (i = 0; i < sizeof(bench_sizes) / sizeof(bench_sizes[0]); i++) {
		plain = bench_message(bench_sizes[i], &plen);
		for (k = 0; k < 2; k++) {
			sig = bench_signed(plain, plen, &bench_keys[k], &slen);
			bench_cell("sign", BENCH_SIGN, plain, plen,
			    bench_sizes[i], &bench_keys[k], cache, secs);
			bench_cell("verify-warm", BENCH_VERIFY, sig, slen,
			    bench_sizes[i], &bench_keys[k], cache, secs);
			bench_cell("verify-cold", BENCH_VERIFY, sig, slen,
			    bench_sizes[i], &bench_keys[k], zone, secs);
			free(sig);
		}
		free(plain);
	}
	for (k = 0; k < 2; k++)
		bench_keyparse(&bench_keys[k], zone, secs / 2);
	dns_cache_stats(cache, &hits, &misses);
	printf("dns_cache: %lu hits, %lu misses\n", hits, misses);
	dkim_key_cache_stats(bench_warm_keys, &ks);
	printf("dkim_key_cache: %lu hits, %lu misses\n", ks.hits, ks.misses);
	dns_resolver_free(cache); /* frees the zone too */
	dkim_key_cache_free(bench_warm_keys);
}

int
main(int argc, char **argv)
{
	double secs = 1.0;
	size_t k, len;
	char *text;

	if (argc == 3 && strcmp(argv[1], "--gen") == 0) {
		text = bench_message(strtoul(argv[2], NULL, 10), &len);
		fwrite(text, 1, len, stdout);
		free(text);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "--once") == 0)
		return bench_once_main(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "--seconds") == 0)
		secs = atof(argv[2]);
	else if (argc != 2) {
		fprintf(stderr,
		    "usage: bench_dkim [--seconds S] KEYDIR\n"
		    "       bench_dkim --once sign|verify|verify-cold rsa|ed "
		    "KEYDIR\n"
		    "       bench_dkim --gen BYTES\n");
		return 2;
	}
	bench_table(argv[argc - 1], secs);
	for (k = 0; k < 2; k++)
		dkim_privkey_unref(bench_keys[k].key);
	return 0;
}
