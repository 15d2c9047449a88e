/*
 * verdict.h -- one message, end to end: the single path that the milter
 * and the CLI both use to evaluate a message, so `authmilter verify` gives
 * the verdict the milter would have given.
 *
 * Inputs are the message (header fields, then the body in chunks) and its
 * environment: the resolver, the SMTP facts (client IP, HELO, MAIL FROM),
 * the options, and `now` (time is an input, so vectors with t= and x= are
 * reproducible). The output is one struct verdict: every DKIM result, the
 * Authentication-Results header value built from them, and the reasons.
 *
 * Memory: the session and the verdict live in the arena given to
 * verdict_begin(); the msg, the environment and what it points to are
 * borrowed and must outlive the session. Not thread-safe: one session per
 * message per thread (the resolver is thread-safe).
 */
#ifndef AUTHMILTER_VERDICT_H
#define AUTHMILTER_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/dkim_verify.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"

struct verdict_env {
	struct dns_resolver *resolver;	/* borrowed; required */
	int64_t now;			/* Unix time */
	const char *authserv_id;	/* borrowed; A-R authserv-id */
	/* DKIM options */
	size_t max_signatures;		/* 0 = BOUND_DKIM_SIGNATURES */
	unsigned min_rsa_bits;		/* 0 = BOUND_RSA_MIN_BITS */
	bool allow_partial_body;	/* l= leaving bytes unsigned: pass */
};

struct verdict {
	const struct dkim_verify_result *dkim;	/* header order */
	size_t n_dkim;
	/* the Authentication-Results value (after the colon, starting with
	 * a space; resinfos folded with CRLF TAB) */
	const char *authres;
};

struct verdict_session;

/* verdict_begin -- start evaluating m (header fields complete). DNS
 * lookups for the keys happen here.
 * @return 0 and *ret (arena-owned); -EINVAL (no resolver or authserv-id);
 * -ENOMEM; -EIO. */
int verdict_begin(struct arena *a, const struct msg *m,
    const struct verdict_env *env, struct verdict_session **ret);

/* verdict_body -- feed len more raw body bytes. @return 0 or -EIO. */
int verdict_body(struct verdict_session *s, const char *chunk, size_t len);

/* verdict_finish -- decide. May be called once.
 * @return 0 and *ret (arena-owned); -ENOMEM; -EIO. */
int verdict_finish(struct verdict_session *s, const struct verdict **ret);

/* verdict_dkim_worst -- the exit-status view of a verdict: true when some
 * evaluated signature did not pass. */
bool verdict_dkim_failed(const struct verdict *v);

#endif
