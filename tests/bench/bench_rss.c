/*
 * bench_rss.c -- verify one message file the way the milter sees it: the
 * header section first, then the body in 64 KB chunks through
 * verdict_body(), never holding the body whole. Prints the verdict's
 * DKIM results and the peak resident set size (getrusage ru_maxrss) after
 * setup and at the end, so bench_rss.sh can show that memory does not
 * grow with the body size.
 *
 *	bench_rss ZONEFILE NOW MESSAGE
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "authmilter/arena.h"
#include "authmilter/buf.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/verdict.h"

#define RSS_CHUNK 65536
#define RSS_HEADER_MAX (1024 * 1024)

static long
rss_peak_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Whether the header section in hdr is complete (an empty line seen). */
static bool
rss_header_done(const struct buf *hdr)
{
	const char *p = hdr->data;
	size_t i;

	for (i = 0; i + 1 < hdr->len; i++)
		if (p[i] == '\n' && (p[i + 1] == '\n' ||
		                        (p[i + 1] == '\r' && i + 2 < hdr->len &&
		                            p[i + 2] == '\n')))
			return true;
	return false;
}

/* Read chunks into hdr until the header section is complete, parse it
 * into m and start the session; the body bytes already read go to it. */
static int
rss_begin(FILE *f, struct arena *a, struct msg *m,
    const struct verdict_env *env, struct verdict_session **ret)
{
	static char chunk[RSS_CHUNK];
	const char *why = NULL;
	struct buf hdr;
	size_t n, body;
	int r;

	buf_init(&hdr, RSS_HEADER_MAX);
	do {
		n = fread(chunk, 1, sizeof(chunk), f);
		buf_add(&hdr, chunk, n);
	} while (n > 0 && buf_error(&hdr) == 0 && !rss_header_done(&hdr));
	if ((r = buf_error(&hdr)) != 0) {
		buf_free(&hdr);
		return r;
	}
	msg_init(m, a);
	r = msg_parse(m, buf_cstr(&hdr), hdr.len, &body, &why);
	if (r == 0)
		r = verdict_begin(a, m, env, ret);
	if (r == 0)
		r = verdict_body(*ret, hdr.data + body, hdr.len - body);
	buf_free(&hdr);
	return r;
}

static int
rss_verify(FILE *f, struct arena *a, const struct verdict_env *env,
    const struct verdict **ret)
{
	static char chunk[RSS_CHUNK];
	struct verdict_session *s;
	struct msg m;
	size_t n;
	int r;

	if ((r = rss_begin(f, a, &m, env, &s)) != 0)
		return r;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((r = verdict_body(s, chunk, n)) != 0)
			return r;
	if (ferror(f))
		return -EIO;
	return verdict_finish(s, ret);
}

int
main(int argc, char **argv)
{
	struct verdict_env env = {.authserv_id = "bench.example.net"};
	const struct verdict *v;
	struct arena *a;
	char *why = NULL;
	long setup_kb;
	size_t i;
	FILE *f;
	int r;

	if (argc != 4) {
		fprintf(stderr, "usage: bench_rss ZONEFILE NOW MESSAGE\n");
		return 2;
	}
	env.resolver = dns_zone_new();
	env.now = strtoll(argv[2], NULL, 10);
	if (dns_zone_load(env.resolver, argv[1], &why) != 0 ||
	    (a = arena_new(16384)) == NULL ||
	    (f = fopen(argv[3], "rb")) == NULL) {
		fprintf(stderr, "bench_rss: setup: %s\n",
		    why != NULL ? why : strerror(errno));
		return 2;
	}
	setup_kb = rss_peak_kb();
	r = rss_verify(f, a, &env, &v);
	fclose(f);
	if (r != 0) {
		fprintf(stderr, "bench_rss: %s: %s\n", argv[3], strerror(-r));
		return 1;
	}
	for (i = 0; i < v->n_dkim; i++)
		printf("dkim %s %s%s%s\n", v->dkim[i].algorithm,
		    auth_result_name(v->dkim[i].result),
		    v->dkim[i].reason[0] != '\0' ? ": " : "",
		    v->dkim[i].reason);
	printf("peak rss after setup %ld KB, after verify %ld KB, arena %zu "
	       "bytes\n",
	    setup_kb, rss_peak_kb(), arena_used(a));
	arena_free(a);
	dns_resolver_free(env.resolver);
	return 0;
}
