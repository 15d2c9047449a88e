/*
 * bench_arc.c -- what ARC (RFC 8617) costs, in process, single-threaded:
 *
 *   verify-dkim   the milter's verify path (verdict: From, DKIM, SPF,
 *                 DMARC, the A-R) on a message with one DKIM signature
 *                 (relaxed/relaxed, as the big senders sign)
 *   verify-arc    the same on that message after two hops sealed it (a
 *                 two-set chain: both AS, the newest AMS and, for
 *                 oldest-pass, the older AMS are checked)
 *   sign          one DKIM signature (dkim_sign) of the message
 *   seal          one ARC set (arc_seal: AMS and AS, two signatures) on
 *                 the signed message
 *   rsa-sign      one RSA-2048 signature of a digest (dkim_privkey_sign),
 *                 the unit the two differences are compared with
 *
 * Keys and DNS as in the milter's steady state: the demo zone behind a
 * dns_cache and a dkim_key_cache, warm (keys cached). The message is
 * read from a file (bench_dkim --gen 2048 writes one). CPU time per
 * message (CLOCK_PROCESS_CPUTIME_ID), the best of five rounds; prints
 * figures, asserts nothing but that the chain it measures passes.
 *
 *	bench_arc KEYDIR MESSAGE [SECONDS]
 *	bench_arc --once verify-dkim|verify-arc|sign|seal KEYDIR MESSAGE
 *	        one operation after a warm-up one, inside bench_once() (for
 *	        valgrind --tool=callgrind --toggle-collect=bench_once)
 *
 * KEYDIR holds demo-rsa.private and demo.zone (keys/demo).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authmilter/arc.h"
#include "authmilter/arena.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_key_cache.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_sign.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/orgdomain.h"
#include "authmilter/verdict.h"

#define BENCH_NOW 1795435260

enum bench_op { OP_VERIFY, OP_SIGN, OP_SEAL, OP_RSA };

static struct dkim_privkey *key;
static struct verdict_env env;
static struct arc_seal_options seal_opt;

static double
cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
die(const char *what, int r)
{
	fprintf(stderr, "bench_arc: %s: %s\n", what, strerror(-r));
	exit(1);
}

/* The verify path, as the milter runs it; with seal, the new set's
 * fields into *ret (or NULL). */
static const struct verdict *
bench_verify(struct arena *a, const char *text, size_t len,
    const struct arc_seal_options *seal)
{
	const struct verdict *v = NULL;
	struct verdict_session *s;
	const char *why;
	struct msg m;
	size_t body;
	int r;

	env.arc_seal = seal;
	msg_init(&m, a);
	if ((r = msg_parse(&m, text, len, &body, &why)) != 0 ||
	    (r = verdict_begin(a, &m, &env, &s)) != 0 ||
	    (r = verdict_body(s, text + body, len - body)) != 0 ||
	    (r = verdict_finish(s, &v)) != 0)
		die("verdict", r);
	return v;
}

static void
bench_sign(struct arena *a, const char *text, size_t len, const char **ret)
{
	struct dkim_signer sg;
	struct dkim_sign *s;
	const char *why;
	struct msg m;
	size_t body;
	int r;

	dkim_signer_init(&sg);
	/* relaxed/relaxed, as the big senders sign: the ARC-Message-
	 * Signatures share the DKIM signature's body stream */
	sg.body_canon = CANON_RELAXED;
	sg.domain = "example.com";
	sg.selector = "demo-rsa";
	sg.key = key;
	msg_init(&m, a);
	if ((r = msg_parse(&m, text, len, &body, &why)) != 0 ||
	    (r = dkim_sign_begin(a, &m, &sg, 1, &s)) != 0 ||
	    (r = dkim_sign_body(s, text + body, len - body)) != 0 ||
	    (r = dkim_sign_finish(s, BENCH_NOW, ret)) != 0)
		die("sign", r);
}

/* One set sealed on text (no chain yet: cv=none), as the milter seals a
 * re-injected message. */
static void
bench_seal(
    struct arena *a, const char *text, size_t len, struct arc_sealed *ret)
{
	struct arc_chain chain;
	struct arc_seal *s;
	const char *why;
	struct msg m;
	size_t body;
	int r;

	msg_init(&m, a);
	if ((r = msg_parse(&m, text, len, &body, &why)) != 0 ||
	    (r = arc_parse(a, &m, &chain)) != 0 ||
	    (r = arc_seal_begin(a, &m, &seal_opt, &s)) != 0 ||
	    (r = arc_seal_body(s, text + body, len - body)) != 0 ||
	    (r = arc_seal_finish(s, &chain, AUTH_NONE,
	         "mx.forwarder.example;\r\n\tdkim=pass header.d=example.com",
	         BENCH_NOW, ret, &why)) != 0)
		die("seal", r);
	if (why != NULL) {
		fprintf(stderr, "bench_arc: not sealed: %s\n", why);
		exit(1);
	}
}

/* One operation; OP_RSA is one RSA-2048 signature of a digest
 * (dkim_privkey_sign), the unit the others are compared with. */
static void
bench_op(enum bench_op op, struct arena *a, const char *text, size_t len)
{
	uint8_t digest[DKIM_DIGEST_LEN] = {1}, sig[DKIM_SIG_MAX];
	struct arc_sealed set;
	const char *value;
	size_t siglen;

	if (op == OP_VERIFY)
		(void)bench_verify(a, text, len, NULL);
	else if (op == OP_SIGN)
		bench_sign(a, text, len, &value);
	else if (op == OP_SEAL)
		bench_seal(a, text, len, &set);
	else if (dkim_privkey_sign(key, digest, sig, &siglen) != 0)
		die("rsa", -EIO);
	arena_reset(a);
}

/* text with name: value fields on top (caller frees). */
static char *
prepend(const char *text, size_t len, const char *const *fields, size_t n,
    size_t *ret_len)
{
	struct buf b;
	size_t i;

	buf_init(&b, len + 65536);
	for (i = 0; i < n; i += 2)
		buf_addf(&b, "%s:%s\r\n", fields[i], fields[i + 1]);
	buf_add(&b, text, len);
	if (buf_error(&b) != 0)
		die("prepend", buf_error(&b));
	*ret_len = b.len;
	return buf_steal(&b, NULL);
}

/* A verified hop that seals: the message with its new set on top. */
static char *
hop(struct arena *a, const char *text, size_t len, const char *authserv,
    size_t *ret_len)
{
	const struct verdict *v;
	const char *f[6];
	char *out;

	env.authserv_id = authserv;
	v = bench_verify(a, text, len, &seal_opt);
	if (v->arc_sealed == NULL) {
		fprintf(stderr, "bench_arc: hop not sealed: %s\n",
		    v->arc_not_sealed);
		exit(1);
	}
	f[0] = "ARC-Seal";
	f[1] = v->arc_sealed->as;
	f[2] = "ARC-Message-Signature";
	f[3] = v->arc_sealed->ams;
	f[4] = "ARC-Authentication-Results";
	f[5] = v->arc_sealed->aar;
	out = prepend(text, len, f, 6, ret_len);
	arena_reset(a);
	return out;
}

static char *
read_file(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 ||
	    (data = malloc((size_t)n + 1)) == NULL ||
	    fread(data, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "bench_arc: cannot read %s\n", path);
		exit(2);
	}
	fclose(f);
	data[n] = '\0';
	*ret_len = (size_t)n;
	return data;
}

/* Keys, DNS (warm caches), the environment; the three messages: plain,
 * DKIM-signed, and signed with a two-set chain. */
struct bench_msgs {
	char *plain, *signed_, *chain;
	size_t plain_len, signed_len, chain_len;
};

static void
bench_setup(
    const char *dir, const char *path, struct arena *a, struct bench_msgs *ms)
{
	struct orgdomain_options oo = {.method = ORGDOMAIN_TREEWALK};
	struct dns_resolver *zone = dns_zone_new();
	const struct verdict *v;
	struct orgdomain *org;
	char file[4096], *zwhy = NULL;
	const char *why, *f[2], *sig;
	struct buf kwhy;
	int r;

	snprintf(file, sizeof(file), "%s/demo.zone", dir);
	if ((r = dns_zone_load(zone, file, &zwhy)) != 0) {
		fprintf(stderr, "bench_arc: %s\n", zwhy != NULL ? zwhy : file);
		exit(2);
	}
	snprintf(file, sizeof(file), "%s/demo-rsa.private", dir);
	buf_init(&kwhy, 1024);
	if (dkim_key_load_private(file, true, &key, &kwhy) != 0) {
		fprintf(stderr, "bench_arc: %s\n", buf_cstr(&kwhy));
		exit(2);
	}
	buf_free(&kwhy);
	if (orgdomain_new(&oo, &org, &why) != 0)
		die("orgdomain", -EINVAL);
	env.resolver = dns_cache_new(zone, 1000);
	env.key_cache = dkim_key_cache_new(100);
	env.now = BENCH_NOW;
	env.client_ip = "192.0.2.1";
	env.helo = "mail.example.com";
	env.mail_from = "<user@example.com>";
	env.receiver = "mx.bench.example";
	env.org = org;
	seal_opt.domain = "example.com";
	seal_opt.selector = "demo-rsa";
	seal_opt.key = key;
	ms->plain = read_file(path, &ms->plain_len);
	bench_sign(a, ms->plain, ms->plain_len, &sig);
	f[0] = "DKIM-Signature";
	f[1] = sig;
	ms->signed_ = prepend(ms->plain, ms->plain_len, f, 2, &ms->signed_len);
	arena_reset(a);
	/* two forwarders, each verifying and sealing */
	{
		size_t n1;
		char *one = hop(a, ms->signed_, ms->signed_len,
		    "mx1.forwarder.example", &n1);

		ms->chain =
		    hop(a, one, n1, "mx2.forwarder.example", &ms->chain_len);
		free(one);
	}
	env.authserv_id = "mx.bench.example";
	v = bench_verify(a, ms->chain, ms->chain_len, NULL);
	if (v->arc->status != AUTH_PASS || v->arc->count != 2 ||
	    v->dmarc == NULL || v->dmarc->result != AUTH_PASS) {
		fprintf(stderr, "bench_arc: the chain does not pass: %s\n",
		    v->arc->reason);
		exit(1);
	}
	arena_reset(a);
}

/* CPU ms per operation: the best of BENCH_ROUNDS rounds of secs /
 * BENCH_ROUNDS CPU seconds each (the machine is shared: the best round is
 * the one the other jobs disturbed least). */
#define BENCH_ROUNDS 5

static double
bench_cell(const char *name, enum bench_op op, struct arena *a,
    const char *text, size_t len, double secs)
{
	double t0, t, best = 0;
	unsigned long n, total = 0;
	int k;

	bench_op(op, a, text, len); /* warm-up */
	for (k = 0; k < BENCH_ROUNDS; k++) {
		n = 0;
		t0 = cpu_now();
		do {
			bench_op(op, a, text, len);
			n++;
			t = cpu_now() - t0;
		} while (t < secs / BENCH_ROUNDS);
		total += n;
		if (k == 0 || t * 1e3 / (double)n < best)
			best = t * 1e3 / (double)n;
	}
	printf("%-14s %10.4f cpu-ms/op %10.1f op/cpu-s %8lu ops\n", name, best,
	    1e3 / best, total);
	return best;
}

/* The operation callgrind counts: nothing else runs inside it. */
__attribute__((noinline)) void bench_once(
    enum bench_op op, struct arena *a, const char *text, size_t len);

__attribute__((noinline)) void
bench_once(enum bench_op op, struct arena *a, const char *text, size_t len)
{
	bench_op(op, a, text, len);
}

int
main(int argc, char **argv)
{
	struct arena *a = arena_new(65536);
	struct bench_msgs ms;
	double secs = 1.0, vd, va, sg, se, rsa;
	const char *what;
	enum bench_op op;
	const char *text;
	size_t len;

	if (argc == 5 && strcmp(argv[1], "--once") == 0) {
		what = argv[2];
		bench_setup(argv[3], argv[4], a, &ms);
		op = strcmp(what, "sign") == 0   ? OP_SIGN
		     : strcmp(what, "seal") == 0 ? OP_SEAL
		                                 : OP_VERIFY;
		text = strcmp(what, "verify-arc") == 0 ? ms.chain
		       : op == OP_SIGN                 ? ms.plain
		                                       : ms.signed_;
		len = strcmp(what, "verify-arc") == 0 ? ms.chain_len
		      : op == OP_SIGN                 ? ms.plain_len
		                                      : ms.signed_len;
		bench_op(op, a, text, len);
		bench_once(op, a, text, len);
		printf("one %s done\n", what);
		return 0;
	}
	if (argc != 3 && argc != 4) {
		fprintf(stderr,
		    "usage: bench_arc KEYDIR MESSAGE [SECONDS]\n"
		    "       bench_arc --once verify-dkim|verify-arc|sign|seal "
		    "KEYDIR MESSAGE\n");
		return 2;
	}
	if (argc == 4)
		secs = atof(argv[3]);
	bench_setup(argv[1], argv[2], a, &ms);
	printf("message %zu bytes; with DKIM-Signature %zu; with two ARC sets "
	       "%zu\n",
	    ms.plain_len, ms.signed_len, ms.chain_len);
	vd = bench_cell(
	    "verify-dkim", OP_VERIFY, a, ms.signed_, ms.signed_len, secs);
	va = bench_cell(
	    "verify-arc", OP_VERIFY, a, ms.chain, ms.chain_len, secs);
	sg = bench_cell("sign", OP_SIGN, a, ms.plain, ms.plain_len, secs);
	se = bench_cell("seal", OP_SEAL, a, ms.signed_, ms.signed_len, secs);
	rsa = bench_cell("rsa-sign", OP_RSA, a, NULL, 0, secs);
	printf("two-set chain validation adds %.4f cpu-ms/msg to the verify "
	       "path\n",
	    va - vd);
	printf("sealing costs %.4f cpu-ms more than signing (%.2f RSA-2048 "
	       "signatures)\n",
	    se - sg, (se - sg) / rsa);
	return 0;
}
