/*
 * failure_json.c -- the failure record as one JSON line (jansson) and
 * back, checked both ways. See failure.h for the fields.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authmilter/b64.h"
#include "authmilter/bounds.h"
#include "authmilter/dmarc.h"
#include "authmilter/dns.h"
#include "authmilter/failure.h"
#include "authmilter/spf.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const policy_words[] = {
    NULL, "none", "quarantine", "reject"};
static const char *const result_words[] = {"none", "pass", "fail", "softfail",
    "neutral", "policy", "temperror", "permerror"};
static const char *const scope_words[] = {"mfrom", "helo"};
static const char *const delivery_words[] = {
    "delivered", "spam", "policy", "reject", "other"};
/* fo options in the order of the DMARC_FO_* bits */
static const char *const fo_words[] = {"0", "1", "d", "s"};

/* ---- checks (both ways) ---- */

/* text: printable ASCII, spaces allowed or not, at most max bytes */
static bool
text_ok(const char *s, size_t max, bool spaces)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < (spaces ? 0x20 : 0x21) ||
		    (unsigned char)s[n] > 0x7e || n >= max)
			return false;
	return true;
}

static bool
domain_ok(const char *s)
{
	return s != NULL && s[0] != '\0' &&
	       text_ok(s, BOUND_DOMAIN_LEN, false) && dns_name_valid(s);
}

static bool
word_ok(const char *const *words, size_t n, const char *w)
{
	size_t i;

	for (i = 0; w != NULL && i < n; i++)
		if (words[i] != NULL && strcmp(words[i], w) == 0)
			return true;
	return false;
}

#define NEED(cond, why)                                                        \
	do {                                                                   \
		if (!(cond)) {                                                 \
			*ret_why = (why);                                      \
			return -EINVAL;                                        \
		}                                                              \
	} while (0)
#define OPT(s, max, sp) ((s) == NULL || text_ok((s), (max), (sp)))

static int
check_auth(const struct failure_record *r, const char **ret_why)
{
	const struct failure_dkim *d;
	size_t i;

	NEED(r->dkim_count <= BOUND_SPOOL_DKIM &&
	         (r->dkim_count == 0 || r->dkim != NULL),
	    "dkim: too many results");
	for (i = 0; i < r->dkim_count; i++) {
		d = &r->dkim[i];
		NEED(domain_ok(d->domain), "dkim[].domain: not a domain");
		NEED(OPT(d->selector, BOUND_DOMAIN_LEN, false),
		    "dkim[].selector: not printable");
		NEED(OPT(d->identity, BOUND_TABLE_KEY_BYTES, false),
		    "dkim[].identity: not printable");
		NEED((unsigned)d->result < NELEM(result_words),
		    "dkim[].result: out of range");
		NEED(OPT(d->reason, BOUND_SPOOL_TEXT, true),
		    "dkim[].reason: not printable");
	}
	if (r->spf.domain == NULL)
		return 0;
	NEED(domain_ok(r->spf.domain), "spf.domain: not a domain");
	NEED((unsigned)r->spf.scope < NELEM(scope_words) &&
	         (unsigned)r->spf.result < NELEM(result_words),
	    "spf: scope or result out of range");
	return 0;
}

static int
check_record(const struct failure_record *r, const char **ret_why)
{
	struct spf_ip ip;
	size_t i;

	NEED(r->reporting_host != NULL &&
	         text_ok(r->reporting_host, BOUND_DOMAIN_LEN, false) &&
	         r->reporting_host[0] != '\0',
	    "reporting_host: missing or bad");
	NEED(domain_ok(r->author_domain), "author_domain: not a domain");
	NEED(domain_ok(r->policy_domain), "policy_domain: not a domain");
	NEED(r->policy != SPOOL_POLICY_UNSET &&
	         (unsigned)r->policy < NELEM(policy_words),
	    "policy: out of range");
	NEED(r->fo < (1u << NELEM(fo_words)), "fo: out of range");
	NEED(r->ruf_count <= BOUND_DMARC_URIS &&
	         (r->ruf_count == 0 || r->ruf != NULL),
	    "ruf: too many URIs");
	for (i = 0; i < r->ruf_count; i++)
		NEED(r->ruf[i] != NULL &&
		         text_ok(r->ruf[i], BOUND_DMARC_URI_LEN, true),
		    "ruf[]: not printable or too long");
	NEED((unsigned)r->dmarc < NELEM(result_words), "dmarc: out of range");
	NEED(r->delivery_result == NULL ||
	         word_ok(
	             delivery_words, NELEM(delivery_words), r->delivery_result),
	    "delivery_result: not an RFC 6591 word");
	NEED(r->source_ip == NULL || spf_ip_parse(r->source_ip, &ip) == 0,
	    "source_ip: not an address");
	NEED(OPT(r->helo, BOUND_DOMAIN_LEN, false), "helo: not printable");
	NEED(OPT(r->mail_from, BOUND_TABLE_KEY_BYTES, false),
	    "mail_from: not printable");
	NEED(r->rcpt_count <= BOUND_FAILURE_RCPTS &&
	         (r->rcpt_count == 0 || r->rcpt != NULL),
	    "rcpt_to: too many");
	for (i = 0; i < r->rcpt_count; i++)
		NEED(r->rcpt[i] != NULL && r->rcpt[i][0] != '\0' &&
		         text_ok(r->rcpt[i], BOUND_TABLE_KEY_BYTES, false),
		    "rcpt_to[]: not printable");
	NEED(
	    r->authres == NULL || strlen(r->authres) < BOUND_SPOOL_RECORD_BYTES,
	    "authres: too long");
	NEED(r->headers_len <= BOUND_FAILURE_HEADER_BYTES &&
	         (r->headers_len == 0 || r->headers != NULL),
	    "headers: past BOUND_FAILURE_HEADER_BYTES");
	NEED(r->body_len <= BOUND_FAILURE_BODY_BYTES &&
	         (r->body_len == 0 || r->body != NULL),
	    "body: past BOUND_FAILURE_BODY_BYTES");
	NEED(r->attempts <= BOUND_FAILURE_ATTEMPTS, "attempts: out of range");
	return check_auth(r, ret_why);
}

/* ---- writing ---- */

static bool
put(json_t *o, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(o, key, v) == 0;
}

static bool
put_str(json_t *o, const char *key, const char *s)
{
	return s == NULL || put(o, key, json_string(s));
}

static bool
put_b64(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	struct buf b;
	bool ok;

	buf_init(&b, BOUND_FAILURE_RECORD_BYTES);
	b64_encode(&b, p, n);
	ok = buf_error(&b) == 0 && put(o, key, json_stringn(b.data, b.len));
	buf_free(&b);
	return ok;
}

static bool
put_strs(json_t *o, const char *key, const char *const *v, size_t n)
{
	json_t *arr = json_array();
	size_t i;

	if (!put(o, key, arr))
		return false;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(v[i])) != 0)
			return false;
	return true;
}

static bool
put_fo(json_t *o, unsigned fo)
{
	const char *v[NELEM(fo_words)];
	size_t i, n = 0;

	for (i = 0; i < NELEM(fo_words); i++)
		if (fo & (1u << i))
			v[n++] = fo_words[i];
	return put_strs(o, "fo", v, n);
}

static bool
put_auth(json_t *o, const struct failure_record *r)
{
	json_t *arr = json_array(), *e;
	size_t i;

	if (!put(o, "dkim", arr))
		return false;
	for (i = 0; i < r->dkim_count; i++) {
		const struct failure_dkim *d = &r->dkim[i];

		if ((e = json_object()) == NULL ||
		    json_array_append_new(arr, e) != 0 ||
		    !put_str(e, "domain", d->domain) ||
		    !put_str(e, "selector", d->selector) ||
		    !put_str(e, "identity", d->identity) ||
		    !put_str(e, "result", result_words[d->result]) ||
		    !put_str(e, "reason", d->reason) ||
		    !put(e, "aligned", json_boolean(d->aligned)))
			return false;
	}
	if (r->spf.domain == NULL)
		return true;
	return (e = json_object()) != NULL && put(o, "spf", e) &&
	       put_str(e, "domain", r->spf.domain) &&
	       put_str(e, "scope", scope_words[r->spf.scope]) &&
	       put_str(e, "result", result_words[r->spf.result]) &&
	       put(e, "aligned", json_boolean(r->spf.aligned));
}

/* "version" first: a reader can tell a record from a fragment */
static json_t *
to_json(const struct failure_record *r)
{
	json_t *o = json_object();
	bool ok;

	ok = o != NULL && put(o, "version", json_integer(FAILURE_VERSION)) &&
	     put_str(o, "kind", "failure") &&
	     put(o, "time", json_integer(r->time)) &&
	     put_str(o, "reporting_host", r->reporting_host) &&
	     put_str(o, "author_domain", r->author_domain) &&
	     put_str(o, "policy_domain", r->policy_domain) &&
	     put_str(o, "policy", policy_words[r->policy]) &&
	     put_fo(o, r->fo) && put_strs(o, "ruf", r->ruf, r->ruf_count) &&
	     put_str(o, "dmarc", result_words[r->dmarc]) &&
	     put_str(o, "delivery_result", r->delivery_result) &&
	     put(o, "dkim_aligned", json_boolean(r->dkim_aligned)) &&
	     put(o, "spf_aligned", json_boolean(r->spf_aligned)) &&
	     put_str(o, "source_ip", r->source_ip) &&
	     put_str(o, "helo", r->helo) &&
	     put_str(o, "mail_from", r->mail_from) &&
	     put_strs(o, "rcpt_to", r->rcpt, r->rcpt_count) && put_auth(o, r) &&
	     put_str(o, "authres", r->authres) &&
	     put_b64(o, "headers", r->headers, r->headers_len) &&
	     put(o, "headers_truncated", json_boolean(r->headers_truncated)) &&
	     (r->body == NULL || (put_b64(o, "body", r->body, r->body_len) &&
	                             put(o, "body_truncated",
	                                 json_boolean(r->body_truncated)))) &&
	     put(o, "attempts", json_integer(r->attempts)) &&
	     (!r->admitted || put(o, "admitted", json_true()));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
failure_record_to_json(
    const struct failure_record *r, struct buf *out, const char **ret_why)
{
	size_t before = out->len, n;
	json_t *o;
	char *s;
	int err;

	if ((err = check_record(r, ret_why)) != 0)
		return err;
	if ((o = to_json(r)) == NULL)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	if ((n = strlen(s)) >= BOUND_FAILURE_RECORD_BYTES)
		err = -E2BIG;
	else
		buf_add(out, s, n);
	free(s);
	if (err == 0 && (err = buf_error(out)) != 0)
		buf_truncate(out, before);
	return err;
}

/* ---- reading ---- */

struct jp {
	struct arena *a;
	const char *why;
};

static int
fail(struct jp *p, const char *key, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%.40s: %.200s", key, what);
	p->why = arena_strdup(p->a, msg);
	return p->why == NULL ? -ENOMEM : -EINVAL;
}

/* get -- o[key] of type t; NULL (and 0) when absent and optional */
static int
get(struct jp *p, const json_t *o, const char *key, json_type t, bool required,
    json_t **ret)
{
	*ret = json_object_get(o, key);
	if (*ret == NULL)
		return required ? fail(p, key, "missing") : 0;
	if (t == JSON_TRUE ? !json_is_boolean(*ret) : json_typeof(*ret) != t)
		return fail(p, key, "wrong type");
	return 0;
}

static int
get_str(struct jp *p, const json_t *o, const char *key, bool required,
    const char **ret)
{
	json_t *v;
	int err;

	*ret = NULL;
	if ((err = get(p, o, key, JSON_STRING, required, &v)) != 0 || v == NULL)
		return err;
	if (strlen(json_string_value(v)) != json_string_length(v))
		return fail(p, key, "holds a NUL byte");
	*ret = arena_strdup(p->a, json_string_value(v));
	return *ret == NULL ? -ENOMEM : 0;
}

static int
get_bool(struct jp *p, const json_t *o, const char *key, bool *ret)
{
	json_t *v;
	int err;

	if ((err = get(p, o, key, JSON_TRUE, false, &v)) != 0)
		return err;
	*ret = v != NULL && json_is_true(v);
	return 0;
}

static int
get_word(struct jp *p, const json_t *o, const char *key,
    const char *const *words, size_t n, bool required, unsigned *ret)
{
	const char *s;
	size_t i;
	int err;

	*ret = 0;
	if ((err = get_str(p, o, key, required, &s)) != 0 || s == NULL)
		return err;
	for (i = 0; i < n; i++)
		if (words[i] != NULL && strcmp(words[i], s) == 0) {
			*ret = (unsigned)i;
			return 0;
		}
	return fail(p, key, "not a known word");
}

static int
get_strs(struct jp *p, const json_t *o, const char *key, size_t max,
    const char ***ret, size_t *ret_n)
{
	json_t *arr, *e;
	const char **v;
	size_t i;
	int err;

	*ret = NULL;
	*ret_n = 0;
	if ((err = get(p, o, key, JSON_ARRAY, false, &arr)) != 0 || arr == NULL)
		return err;
	if (json_array_size(arr) > max)
		return fail(p, key, "too many entries");
	if ((v = arena_zalloc(p->a, (json_array_size(arr) + 1) * sizeof(*v))) ==
	    NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return fail(p, key, "an entry is not a string");
		if ((v[i] = arena_strdup(p->a, json_string_value(e))) == NULL)
			return -ENOMEM;
	}
	*ret = v;
	*ret_n = json_array_size(arr);
	return 0;
}

static int
get_b64(struct jp *p, const json_t *o, const char *key, size_t max,
    bool required, const uint8_t **ret, size_t *ret_len)
{
	json_t *v;
	uint8_t *out;
	size_t n;
	int err;

	*ret = NULL;
	*ret_len = 0;
	if ((err = get(p, o, key, JSON_STRING, required, &v)) != 0 || v == NULL)
		return err;
	n = json_string_length(v);
	if (n / 4 * 3 > max + 2)
		return fail(p, key, "too long");
	if ((out = arena_alloc(p->a, n / 4 * 3 + 1)) == NULL)
		return -ENOMEM;
	if (b64_decode(
	        json_string_value(v), n, 0, out, n / 4 * 3 + 1, ret_len) != 0 ||
	    *ret_len > max)
		return fail(p, key, "not base64 within its bound");
	*ret = out;
	return 0;
}

static int
get_fo(struct jp *p, const json_t *o, unsigned *ret)
{
	const char **v;
	size_t n, i, k;
	int err;

	*ret = 0;
	if ((err = get_strs(p, o, "fo", NELEM(fo_words), &v, &n)) != 0)
		return err;
	for (i = 0; i < n; i++) {
		for (k = 0; k < NELEM(fo_words); k++)
			if (strcmp(v[i], fo_words[k]) == 0)
				break;
		if (k == NELEM(fo_words))
			return fail(p, "fo", "not 0, 1, d or s");
		*ret |= 1u << k;
	}
	return 0;
}

static int
get_dkim(struct jp *p, const json_t *o, struct failure_record *r)
{
	struct failure_dkim *d;
	json_t *arr, *e;
	unsigned res;
	size_t i;
	int err;

	if ((err = get(p, o, "dkim", JSON_ARRAY, false, &arr)) != 0 ||
	    arr == NULL)
		return err;
	if (json_array_size(arr) > BOUND_SPOOL_DKIM)
		return fail(p, "dkim", "too many results");
	if ((d = arena_zalloc(p->a, (json_array_size(arr) + 1) * sizeof(*d))) ==
	    NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e))
			return fail(p, "dkim[]", "not an object");
		if ((err = get_str(p, e, "domain", true, &d[i].domain)) != 0 ||
		    (err = get_str(p, e, "selector", false, &d[i].selector)) !=
		        0 ||
		    (err = get_str(p, e, "identity", false, &d[i].identity)) !=
		        0 ||
		    (err = get_word(p, e, "result", result_words,
		         NELEM(result_words), true, &res)) != 0 ||
		    (err = get_str(p, e, "reason", false, &d[i].reason)) != 0 ||
		    (err = get_bool(p, e, "aligned", &d[i].aligned)) != 0)
			return err;
		d[i].result = (enum auth_result)res;
	}
	r->dkim = d;
	r->dkim_count = json_array_size(arr);
	return 0;
}

static int
get_spf(struct jp *p, const json_t *o, struct failure_record *r)
{
	unsigned scope, res;
	json_t *e;
	int err;

	if ((err = get(p, o, "spf", JSON_OBJECT, false, &e)) != 0 || e == NULL)
		return err;
	if ((err = get_str(p, e, "domain", true, &r->spf.domain)) != 0 ||
	    (err = get_word(p, e, "scope", scope_words, NELEM(scope_words),
	         true, &scope)) != 0 ||
	    (err = get_word(p, e, "result", result_words, NELEM(result_words),
	         true, &res)) != 0 ||
	    (err = get_bool(p, e, "aligned", &r->spf.aligned)) != 0)
		return err;
	r->spf.scope = (enum spool_spf_scope)scope;
	r->spf.result = (enum auth_result)res;
	return 0;
}

static int
get_top(struct jp *p, const json_t *o, struct failure_record *r)
{
	unsigned policy, dmarc;
	const char *kind, **ruf, **rcpt;
	json_t *v;
	int err;

	if ((err = get(p, o, "version", JSON_INTEGER, true, &v)) != 0)
		return err;
	if (json_integer_value(v) != FAILURE_VERSION)
		return fail(p, "version", "is not 1");
	if ((err = get_str(p, o, "kind", true, &kind)) != 0)
		return err;
	if (strcmp(kind, "failure") != 0)
		return fail(p, "kind", "is not \"failure\"");
	if ((err = get(p, o, "time", JSON_INTEGER, true, &v)) != 0)
		return err;
	r->time = json_integer_value(v);
	if ((err = get(p, o, "attempts", JSON_INTEGER, false, &v)) != 0)
		return err;
	if (v != NULL && (json_integer_value(v) < 0 ||
	                     json_integer_value(v) > BOUND_FAILURE_ATTEMPTS))
		return fail(p, "attempts", "out of range");
	r->attempts = v != NULL ? (unsigned)json_integer_value(v) : 0;
	if ((err = get_str(p, o, "reporting_host", true, &r->reporting_host)) !=
	        0 ||
	    (err = get_str(p, o, "author_domain", true, &r->author_domain)) !=
	        0 ||
	    (err = get_str(p, o, "policy_domain", true, &r->policy_domain)) !=
	        0 ||
	    (err = get_word(p, o, "policy", policy_words, NELEM(policy_words),
	         true, &policy)) != 0 ||
	    (err = get_fo(p, o, &r->fo)) != 0 ||
	    (err = get_strs(
	         p, o, "ruf", BOUND_DMARC_URIS, &ruf, &r->ruf_count)) != 0 ||
	    (err = get_word(p, o, "dmarc", result_words, NELEM(result_words),
	         true, &dmarc)) != 0 ||
	    (err = get_str(
	         p, o, "delivery_result", false, &r->delivery_result)) != 0 ||
	    (err = get_bool(p, o, "dkim_aligned", &r->dkim_aligned)) != 0 ||
	    (err = get_bool(p, o, "spf_aligned", &r->spf_aligned)) != 0 ||
	    (err = get_str(p, o, "source_ip", false, &r->source_ip)) != 0 ||
	    (err = get_str(p, o, "helo", false, &r->helo)) != 0 ||
	    (err = get_str(p, o, "mail_from", false, &r->mail_from)) != 0 ||
	    (err = get_strs(p, o, "rcpt_to", BOUND_FAILURE_RCPTS, &rcpt,
	         &r->rcpt_count)) != 0 ||
	    (err = get_dkim(p, o, r)) != 0 || (err = get_spf(p, o, r)) != 0 ||
	    (err = get_str(p, o, "authres", false, &r->authres)) != 0 ||
	    (err = get_b64(p, o, "headers", BOUND_FAILURE_HEADER_BYTES, true,
	         &r->headers, &r->headers_len)) != 0 ||
	    (err = get_bool(
	         p, o, "headers_truncated", &r->headers_truncated)) != 0 ||
	    (err = get_b64(p, o, "body", BOUND_FAILURE_BODY_BYTES, false,
	         &r->body, &r->body_len)) != 0 ||
	    (err = get_bool(p, o, "body_truncated", &r->body_truncated)) != 0 ||
	    (err = get_bool(p, o, "admitted", &r->admitted)) != 0)
		return err;
	r->ruf = ruf;
	r->rcpt = rcpt;
	r->policy = (enum spool_policy)policy;
	r->dmarc = (enum auth_result)dmarc;
	return 0;
}

int
failure_record_from_json(const char *line, size_t len, struct arena *a,
    struct failure_record *ret, const char **ret_why)
{
	struct jp p = {a, NULL};
	struct failure_record r;
	json_error_t jerr;
	json_t *root;
	int err;

	if (len >= BOUND_FAILURE_RECORD_BYTES) {
		*ret_why = "line longer than BOUND_FAILURE_RECORD_BYTES";
		return -E2BIG;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		err = fail(&p, "JSON", jerr.text);
		*ret_why = p.why != NULL ? p.why : "out of memory";
		return err;
	}
	memset(&r, 0, sizeof(r));
	err = json_is_object(root) ? get_top(&p, root, &r)
	                           : fail(&p, "record", "is not a JSON object");
	json_decref(root);
	if (err == 0)
		err = check_record(&r, &p.why);
	if (err != 0) {
		*ret_why = p.why != NULL ? p.why : "out of memory";
		return err;
	}
	*ret = r;
	return 0;
}
