/*
 * verdict.c -- one message end to end: DKIM verification and the
 * Authentication-Results header built from the results.
 */
#include <errno.h>
#include <string.h>

#include "authmilter/authres.h"
#include "authmilter/verdict.h"

/* An Authentication-Results value: one resinfo per DKIM signature
 * (RFC 8601 section 2.7.1) -- bounded by the signature limit, so 16 KB is
 * ample. */
#define VERDICT_AUTHRES_MAX 16384

struct verdict_session {
	struct arena *arena;
	const struct verdict_env *env;
	struct dkim_verify *dkim;
	struct verdict result;
	bool finished;
};

int
verdict_begin(struct arena *a, const struct msg *m,
    const struct verdict_env *env, struct verdict_session **ret)
{
	struct dkim_verify_options dopt;
	struct verdict_session *s;
	int r;

	if (env->resolver == NULL || env->authserv_id == NULL)
		return -EINVAL;
	s = arena_zalloc(a, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->arena = a;
	s->env = env;
	memset(&dopt, 0, sizeof(dopt));
	dopt.resolver = env->resolver;
	dopt.max_signatures = env->max_signatures;
	dopt.min_rsa_bits = env->min_rsa_bits;
	dopt.allow_partial_body = env->allow_partial_body;
	r = dkim_verify_begin(a, m, &dopt, &s->dkim);
	if (r < 0)
		return r;
	*ret = s;
	return 0;
}

int
verdict_body(struct verdict_session *s, const char *chunk, size_t len)
{
	return dkim_verify_body(s->dkim, chunk, len);
}

/* RFC 8601 section 2.7.1: dkim=RESULT header.d= header.s= header.a=
 * header.b= (the first characters of b=, to tell signatures apart). */
static void
verdict_authres_dkim(struct buf *b, const struct dkim_verify_result *d)
{
	authres_method(b, "dkim", d->result, d->reason);
	if (d->domain != NULL)
		authres_prop(b, "header", "d", d->domain);
	if (d->selector != NULL)
		authres_prop(b, "header", "s", d->selector);
	if (d->algorithm != NULL)
		authres_prop(b, "header", "a", d->algorithm);
	if (d->b_prefix != NULL && d->b_prefix[0] != '\0')
		authres_prop(b, "header", "b", d->b_prefix);
}

static int
verdict_authres(struct verdict_session *s)
{
	struct verdict *v = &s->result;
	struct buf b;
	size_t i;
	int r;

	buf_init(&b, VERDICT_AUTHRES_MAX);
	authres_begin(&b, s->env->authserv_id);
	if (v->n_dkim == 0)
		authres_method(&b, "dkim", AUTH_NONE, NULL);
	for (i = 0; i < v->n_dkim; i++)
		verdict_authres_dkim(&b, &v->dkim[i]);
	r = buf_error(&b);
	if (r == 0) {
		v->authres = arena_memdup(s->arena, b.data, b.len);
		if (v->authres == NULL)
			r = -ENOMEM;
	}
	buf_free(&b);
	return r;
}

int
verdict_finish(struct verdict_session *s, const struct verdict **ret)
{
	int r;

	if (s->finished)
		return -EINVAL;
	s->finished = true;
	r = dkim_verify_finish(s->dkim, s->env->now, &s->result.dkim,
	    &s->result.n_dkim);
	if (r < 0)
		return r;
	r = verdict_authres(s);
	if (r < 0)
		return r;
	*ret = &s->result;
	return 0;
}

bool
verdict_dkim_failed(const struct verdict *v)
{
	size_t i;

	for (i = 0; i < v->n_dkim; i++)
		if (v->dkim[i].result != AUTH_PASS &&
		    v->dkim[i].result != AUTH_NONE)
			return true;
	return false;
}
