/*
 * spool.c -- aggregate-report spool records: checking, JSON (jansson),
 * appending with one O_APPEND write, streaming reader. See spool.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "authmilter/bounds.h"
#include "authmilter/dns.h"
#include "authmilter/log.h"
#include "authmilter/spool.h"
#include "authmilter/xalloc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 9990 XSD simple types; index = enum value, NULL = unset. */
static const char *const policy_names[] = {
    NULL, "none", "quarantine", "reject"};
static const char *const align_names[] = {NULL, "r", "s"};
static const char *const testing_names[] = {NULL, "n", "y"};
static const char *const discovery_names[] = {NULL, "treewalk", "psl"};
static const char *const disposition_names[] = {
    "none", "pass", "quarantine", "reject"};
static const char *const reason_names[] = {"local_policy", "mailing_list",
    "other", "policy_test_mode", "trusted_forwarder"};
static const char *const scope_names[] = {"mfrom", "helo"};

/* Results each field may carry: RFC 9990 DKIMResultType (RFC 8601
 * §2.7.1, no softfail), SPFResultType (§2.7.2, all), and the DMARC words
 * of RFC 8601 §2.7.4 that an evaluation with a policy record can end in. */
#define RES(r) (1u << (r))
static const unsigned dkim_results =
    RES(AUTH_NONE) | RES(AUTH_PASS) | RES(AUTH_FAIL) | RES(AUTH_POLICY) |
    RES(AUTH_NEUTRAL) | RES(AUTH_TEMPERROR) | RES(AUTH_PERMERROR);
static const unsigned spf_results = 0xffu;
static const unsigned dmarc_results = RES(AUTH_NONE) | RES(AUTH_PASS) |
                                      RES(AUTH_FAIL) | RES(AUTH_TEMPERROR) |
                                      RES(AUTH_PERMERROR);

static const char *
name_of(const char *const *names, size_t n, unsigned v)
{
	return v < n && names[v] != NULL ? names[v] : "";
}

const char *
spool_policy_name(enum spool_policy v)
{
	return name_of(policy_names, NELEM(policy_names), v);
}

const char *
spool_align_name(enum spool_align v)
{
	return name_of(align_names, NELEM(align_names), v);
}

const char *
spool_testing_name(enum spool_testing v)
{
	return name_of(testing_names, NELEM(testing_names), v);
}

const char *
spool_discovery_name(enum spool_discovery v)
{
	return name_of(discovery_names, NELEM(discovery_names), v);
}

const char *
spool_disposition_name(enum spool_disposition v)
{
	return name_of(disposition_names, NELEM(disposition_names), v);
}

const char *
spool_reason_type_name(enum spool_reason_type v)
{
	return name_of(reason_names, NELEM(reason_names), v);
}

const char *
spool_spf_scope_name(enum spool_spf_scope v)
{
	return name_of(scope_names, NELEM(scope_names), v);
}

/* ---- checking ---- */

/* Strings are printable ASCII (domains in A-label form): nothing a JSON
 * line, an XML report or a log line has to be careful with. */
static bool
text_ok(const char *s, size_t max)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e ||
		    n >= max)
			return false;
	return true;
}

/* The policy domain names report files and Subject lines: a host name
 * (letters, digits, '-', '_' for the odd real name, dots between labels). */
static bool
policy_domain_ok(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.",
		        s[n]) == NULL)
			return false;
	return n > 0 && dns_name_valid(s);
}

static bool
ip_ok(const char *s)
{
	unsigned char a[16];

	return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

#define NEED(cond, why)                                                        \
	do {                                                                   \
		if (!(cond)) {                                                 \
			*ret_why = (why);                                      \
			return -EINVAL;                                        \
		}                                                              \
	} while (0)
#define DOMAIN_OK(s) ((s) != NULL && text_ok((s), BOUND_DOMAIN_LEN))
#define OPT_TEXT_OK(s) ((s) == NULL || text_ok((s), BOUND_SPOOL_TEXT))

static int
check_policy(const struct spool_policy_published *p, const char **ret_why)
{
	size_t i;

	NEED(p->domain != NULL && policy_domain_ok(p->domain),
	    "policy_published.domain: not a valid domain name");
	NEED((unsigned)p->discovery_method < NELEM(discovery_names),
	    "policy_published.discovery_method: out of range");
	NEED(p->p != SPOOL_POLICY_UNSET && (unsigned)p->p < NELEM(policy_names),
	    "policy_published.p: unset");
	NEED((unsigned)p->sp < NELEM(policy_names) &&
	         (unsigned)p->np < NELEM(policy_names),
	    "policy_published.sp/np: out of range");
	NEED((unsigned)p->adkim < NELEM(align_names) &&
	         (unsigned)p->aspf < NELEM(align_names),
	    "policy_published.adkim/aspf: out of range");
	NEED((unsigned)p->testing < NELEM(testing_names),
	    "policy_published.testing: out of range");
	NEED(p->fo == NULL || text_ok(p->fo, BOUND_SPOOL_TEXT),
	    "policy_published.fo: not printable ASCII or too long");
	NEED(p->rua_count <= BOUND_SPOOL_RUA &&
	         (p->rua_count == 0 || p->rua != NULL),
	    "policy_published.rua: too many URIs");
	for (i = 0; i < p->rua_count; i++)
		NEED(p->rua[i] != NULL && text_ok(p->rua[i], BOUND_SPOOL_TEXT),
		    "policy_published.rua: URI not printable ASCII");
	return 0;
}

static int
check_auth(const struct spool_record *r, const char **ret_why)
{
	const struct spool_dkim *d;
	size_t i;

	NEED(r->dkim_count <= BOUND_SPOOL_DKIM &&
	         (r->dkim_count == 0 || r->dkim != NULL),
	    "auth_results.dkim: too many results");
	for (i = 0; i < r->dkim_count; i++) {
		d = &r->dkim[i];
		NEED(DOMAIN_OK(d->domain) && DOMAIN_OK(d->selector),
		    "auth_results.dkim: bad domain or selector");
		NEED((unsigned)d->result < 8 && (dkim_results & RES(d->result)),
		    "auth_results.dkim.result: not a DKIM result");
		NEED(OPT_TEXT_OK(d->human_result),
		    "auth_results.dkim.human_result: bad text");
	}
	if (r->spf.domain == NULL)
		return 0;
	NEED(text_ok(r->spf.domain, BOUND_DOMAIN_LEN),
	    "auth_results.spf.domain: bad domain");
	NEED((unsigned)r->spf.scope < NELEM(scope_names),
	    "auth_results.spf.scope: out of range");
	NEED((unsigned)r->spf.result < 8 && (spf_results & RES(r->spf.result)),
	    "auth_results.spf.result: not an SPF result");
	NEED(OPT_TEXT_OK(r->spf.human_result),
	    "auth_results.spf.human_result: bad text");
	return 0;
}

int
spool_record_check(const struct spool_record *r, const char **ret_why)
{
	size_t i;
	int err;

	NEED(r->reporting_host != NULL && r->reporting_host[0] != '\0' &&
	         text_ok(r->reporting_host, BOUND_DOMAIN_LEN),
	    "reporting_host: missing or not a host name");
	NEED(r->time >= 0, "time: negative");
	if ((err = check_policy(&r->policy, ret_why)) != 0)
		return err;
	NEED(r->source_ip != NULL && ip_ok(r->source_ip),
	    "source_ip: not an IPv4 or IPv6 address");
	NEED((unsigned)r->dmarc < 8 && (dmarc_results & RES(r->dmarc)),
	    "dmarc: not a DMARC result");
	NEED((unsigned)r->disposition < NELEM(disposition_names),
	    "policy_evaluated.disposition: out of range");
	NEED(r->reason_count <= BOUND_SPOOL_REASONS &&
	         (r->reason_count == 0 || r->reasons != NULL),
	    "policy_evaluated.reason: too many reasons");
	for (i = 0; i < r->reason_count; i++) {
		NEED((unsigned)r->reasons[i].type < NELEM(reason_names),
		    "policy_evaluated.reason.type: out of range");
		NEED(OPT_TEXT_OK(r->reasons[i].comment),
		    "policy_evaluated.reason.comment: bad text");
	}
	NEED(DOMAIN_OK(r->header_from), "identifiers.header_from: missing");
	NEED(r->envelope_from == NULL || DOMAIN_OK(r->envelope_from),
	    "identifiers.envelope_from: bad domain");
	NEED(r->envelope_to == NULL || DOMAIN_OK(r->envelope_to),
	    "identifiers.envelope_to: bad domain");
	return check_auth(r, ret_why);
}

/* ---- writing JSON ---- */

/* set key to a string (skipped when s is NULL); false on ENOMEM */
static bool
put_str(json_t *o, const char *key, const char *s)
{
	return s == NULL || json_object_set_new(o, key, json_string(s)) == 0;
}

/* set key to an enum's name, skipped when the enum is unset */
static bool
put_name(json_t *o, const char *key, const char *name)
{
	return name[0] == '\0' || put_str(o, key, name);
}

static json_t *
policy_to_json(const struct spool_policy_published *p)
{
	json_t *o = json_object(), *rua = NULL;
	bool ok = o != NULL;
	size_t i;

	ok = ok && put_str(o, "domain", p->domain) &&
	     put_name(o, "discovery_method",
	         spool_discovery_name(p->discovery_method)) &&
	     put_name(o, "p", spool_policy_name(p->p)) &&
	     put_name(o, "sp", spool_policy_name(p->sp)) &&
	     put_name(o, "np", spool_policy_name(p->np)) &&
	     put_name(o, "adkim", spool_align_name(p->adkim)) &&
	     put_name(o, "aspf", spool_align_name(p->aspf)) &&
	     put_str(o, "fo", p->fo) &&
	     put_name(o, "testing", spool_testing_name(p->testing));
	if (ok && p->rua_count > 0) {
		ok = (rua = json_array()) != NULL &&
		     json_object_set_new(o, "rua", rua) == 0;
		for (i = 0; ok && i < p->rua_count; i++)
			ok = json_array_append_new(
			         rua, json_string(p->rua[i])) == 0;
	}
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *
evaluated_to_json(const struct spool_record *r)
{
	json_t *o = json_object(), *arr = NULL, *e;
	bool ok = o != NULL;
	size_t i;

	ok =
	    ok &&
	    put_str(o, "disposition", spool_disposition_name(r->disposition)) &&
	    put_str(o, "dkim", r->dkim_aligned ? "pass" : "fail") &&
	    put_str(o, "spf", r->spf_aligned ? "pass" : "fail");
	if (ok && r->reason_count > 0)
		ok = (arr = json_array()) != NULL &&
		     json_object_set_new(o, "reason", arr) == 0;
	for (i = 0; ok && i < r->reason_count; i++) {
		ok = (e = json_object()) != NULL &&
		     json_array_append_new(arr, e) == 0 &&
		     put_str(e, "type",
		         spool_reason_type_name(r->reasons[i].type)) &&
		     put_str(e, "comment", r->reasons[i].comment);
	}
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *
auth_to_json(const struct spool_record *r)
{
	json_t *o = json_object(), *arr = NULL, *e;
	const struct spool_dkim *d;
	bool ok = o != NULL;
	size_t i;

	if (ok && r->dkim_count > 0)
		ok = (arr = json_array()) != NULL &&
		     json_object_set_new(o, "dkim", arr) == 0;
	for (i = 0; ok && i < r->dkim_count; i++) {
		d = &r->dkim[i];
		ok = (e = json_object()) != NULL &&
		     json_array_append_new(arr, e) == 0 &&
		     put_str(e, "domain", d->domain) &&
		     put_str(e, "selector", d->selector) &&
		     put_str(e, "result", auth_result_name(d->result)) &&
		     put_str(e, "human_result", d->human_result);
	}
	if (ok && r->spf.domain != NULL)
		ok = (e = json_object()) != NULL &&
		     json_object_set_new(o, "spf", e) == 0 &&
		     put_str(e, "domain", r->spf.domain) &&
		     put_str(e, "scope", spool_spf_scope_name(r->spf.scope)) &&
		     put_str(e, "result", auth_result_name(r->spf.result)) &&
		     put_str(e, "human_result", r->spf.human_result);
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

static json_t *
record_to_json(const struct spool_record *r)
{
	json_t *o = json_object(), *ids;
	bool ok = o != NULL;

	ok = ok &&
	     json_object_set_new(o, "version", json_integer(SPOOL_VERSION)) ==
	         0 &&
	     json_object_set_new(o, "time", json_integer(r->time)) == 0 &&
	     put_str(o, "reporting_host", r->reporting_host) &&
	     json_object_set_new(
	         o, "policy_published", policy_to_json(&r->policy)) == 0 &&
	     put_str(o, "source_ip", r->source_ip) &&
	     put_str(o, "dmarc", auth_result_name(r->dmarc)) &&
	     json_object_set_new(o, "policy_evaluated", evaluated_to_json(r)) ==
	         0 &&
	     (ids = json_object()) != NULL &&
	     json_object_set_new(o, "identifiers", ids) == 0 &&
	     put_str(ids, "header_from", r->header_from) &&
	     put_str(ids, "envelope_from", r->envelope_from) &&
	     put_str(ids, "envelope_to", r->envelope_to) &&
	     json_object_set_new(o, "auth_results", auth_to_json(r)) == 0;
	if (!ok)
		json_decref(o);
	return ok ? o : NULL;
}

int
spool_record_to_json(
    const struct spool_record *r, struct buf *out, const char **ret_why)
{
	size_t len, before = out->len;
	int err, prev = out->error;
	json_t *o;
	char *s;

	if ((err = spool_record_check(r, ret_why)) != 0)
		return err;
	if ((o = record_to_json(r)) == NULL)
		return -ENOMEM;
	/* JSON_COMPACT: no newline anywhere; jansson escapes control bytes
	 * in strings (and the check refused them anyway). */
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return -ENOMEM;
	len = strlen(s);
	if (len >= BOUND_SPOOL_RECORD_BYTES) {
		free(s);
		*ret_why = "record longer than BOUND_SPOOL_RECORD_BYTES";
		return -E2BIG;
	}
	buf_add(out, s, len);
	free(s);
	if ((err = buf_error(out)) != 0) {
		buf_truncate(out, before);
		out->error = prev;
		return err;
	}
	return 0;
}

/* ---- reading JSON ---- */

struct jp {
	struct arena *a;
	const char *why; /* arena-owned or static */
};

/* jp_fail -- record "PATH: [VALUE ]WHAT" as the reason; -EINVAL. */
static int
jp_fail(struct jp *p, const char *path, const char *what, const char *val)
{
	struct buf b;
	size_t n;

	buf_init(&b, 256);
	buf_adds(&b, path);
	buf_adds(&b, ": ");
	if (val != NULL) {
		n = strlen(val);
		log_quote(&b, val, n > 64 ? 64 : n);
		buf_addc(&b, ' ');
	}
	buf_adds(&b, what);
	p->why = buf_error(&b) == 0 ? arena_strdup(p->a, buf_cstr(&b)) : NULL;
	if (p->why == NULL)
		p->why = what;
	buf_free(&b);
	return -EINVAL;
}

/* The JSON key is the last component of the path used in reasons. */
static const char *
key_of(const char *path)
{
	const char *k = strrchr(path, '.');

	return k != NULL ? k + 1 : path;
}

/* Whether JSON string v holds no NUL ("\u0000"): the record's strings are
 * C strings, and one cut at a NUL would pass the checks as another
 * value. */
static bool
jp_nul_free(const json_t *v)
{
	return strlen(json_string_value(v)) == json_string_length(v);
}

/* jp_get -- member of o named after path, of the given JSON type;
 * *ret = NULL when absent and not required. */
static int
jp_get(struct jp *p, const json_t *o, const char *path, json_type type,
    bool required, json_t **ret)
{
	static const char *const type_why[] = {
	    [JSON_OBJECT] = "is not an object",
	    [JSON_ARRAY] = "is not an array",
	    [JSON_STRING] = "is not a string",
	    [JSON_INTEGER] = "is not an integer",
	};
	json_t *v = json_object_get(o, key_of(path));

	*ret = NULL;
	if (v == NULL)
		return required ? jp_fail(p, path, "is missing", NULL) : 0;
	if (json_typeof(v) != type)
		return jp_fail(p, path, type_why[type], NULL);
	if (type == JSON_STRING && !jp_nul_free(v))
		return jp_fail(p, path, "contains a NUL byte", NULL);
	*ret = v;
	return 0;
}

static int
jp_str(struct jp *p, const json_t *o, const char *path, bool required,
    const char **ret)
{
	json_t *v;
	int err;

	*ret = NULL;
	if ((err = jp_get(p, o, path, JSON_STRING, required, &v)) != 0 ||
	    v == NULL)
		return err;
	*ret = arena_memdup(p->a, json_string_value(v), json_string_length(v));
	return *ret == NULL ? -ENOMEM : 0;
}

/* jp_enum -- a string member that must be one of names (index = value);
 * absent and not required: 0. */
static int
jp_enum(struct jp *p, const json_t *o, const char *path,
    const char *const *names, size_t n, bool required, unsigned *ret)
{
	const char *s;
	json_t *v;
	size_t i;
	int err;

	*ret = 0;
	if ((err = jp_get(p, o, path, JSON_STRING, required, &v)) != 0 ||
	    v == NULL)
		return err;
	s = json_string_value(v);
	for (i = 0; i < n; i++)
		if (names[i] != NULL && strcmp(names[i], s) == 0) {
			*ret = (unsigned)i;
			return 0;
		}
	return jp_fail(p, path, "is not a known value", s);
}

/* jp_result -- a required RFC 8601 result word from the allowed set. */
static int
jp_result(struct jp *p, const json_t *o, const char *path, unsigned allowed,
    enum auth_result *ret)
{
	const char *s;
	json_t *v;
	unsigned i;
	int err;

	if ((err = jp_get(p, o, path, JSON_STRING, true, &v)) != 0)
		return err;
	s = json_string_value(v);
	for (i = 0; i < 8; i++)
		if ((allowed & RES(i)) &&
		    strcmp(auth_result_name((enum auth_result)i), s) == 0) {
			*ret = (enum auth_result)i;
			return 0;
		}
	return jp_fail(p, path, "is not a result allowed here", s);
}

/* jp_bool_word -- "pass" (true) or "fail" (false). */
static int
jp_pass_fail(struct jp *p, const json_t *o, const char *path, bool *ret)
{
	static const char *const words[] = {"fail", "pass"};
	unsigned v;
	int err;

	if ((err = jp_enum(p, o, path, words, 2, true, &v)) != 0)
		return err;
	*ret = v == 1;
	return 0;
}

static int
parse_rua(struct jp *p, const json_t *pol, struct spool_policy_published *r)
{
	const char **rua;
	json_t *arr, *v;
	size_t i;
	int err;

	if ((err = jp_get(p, pol, "policy_published.rua", JSON_ARRAY, false,
	         &arr)) != 0 ||
	    arr == NULL)
		return err;
	if (json_array_size(arr) > BOUND_SPOOL_RUA)
		return jp_fail(
		    p, "policy_published.rua", "has too many URIs", NULL);
	rua = arena_zalloc(p->a, (json_array_size(arr) + 1) * sizeof(*rua));
	if (rua == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return jp_fail(p, "policy_published.rua[]",
			    "is not a string", NULL);
		if (!jp_nul_free(v))
			return jp_fail(p, "policy_published.rua[]",
			    "contains a NUL byte", NULL);
		if ((rua[i] = arena_strdup(p->a, json_string_value(v))) == NULL)
			return -ENOMEM;
	}
	r->rua = rua;
	r->rua_count = json_array_size(arr);
	return 0;
}

static int
parse_policy(struct jp *p, const json_t *root, struct spool_policy_published *r)
{
	unsigned v[8];
	json_t *o;
	int err;

	if ((err = jp_get(
	         p, root, "policy_published", JSON_OBJECT, true, &o)) != 0 ||
	    (err = jp_str(p, o, "policy_published.domain", true, &r->domain)) !=
	        0 ||
	    (err = jp_enum(p, o, "policy_published.discovery_method",
	         discovery_names, NELEM(discovery_names), false, &v[0])) != 0 ||
	    (err = jp_enum(p, o, "policy_published.p", policy_names,
	         NELEM(policy_names), true, &v[1])) != 0 ||
	    (err = jp_enum(p, o, "policy_published.sp", policy_names,
	         NELEM(policy_names), false, &v[2])) != 0 ||
	    (err = jp_enum(p, o, "policy_published.np", policy_names,
	         NELEM(policy_names), false, &v[3])) != 0 ||
	    (err = jp_enum(p, o, "policy_published.adkim", align_names,
	         NELEM(align_names), false, &v[4])) != 0 ||
	    (err = jp_enum(p, o, "policy_published.aspf", align_names,
	         NELEM(align_names), false, &v[5])) != 0 ||
	    (err = jp_enum(p, o, "policy_published.testing", testing_names,
	         NELEM(testing_names), false, &v[6])) != 0 ||
	    (err = jp_str(p, o, "policy_published.fo", false, &r->fo)) != 0)
		return err;
	r->discovery_method = (enum spool_discovery)v[0];
	r->p = (enum spool_policy)v[1];
	r->sp = (enum spool_policy)v[2];
	r->np = (enum spool_policy)v[3];
	r->adkim = (enum spool_align)v[4];
	r->aspf = (enum spool_align)v[5];
	r->testing = (enum spool_testing)v[6];
	return parse_rua(p, o, r);
}

static int
parse_reasons(struct jp *p, const json_t *ev, struct spool_record *r)
{
	struct spool_reason *reasons;
	json_t *arr, *e;
	unsigned type;
	size_t i;
	int err;

	if ((err = jp_get(p, ev, "policy_evaluated.reason", JSON_ARRAY, false,
	         &arr)) != 0 ||
	    arr == NULL)
		return err;
	if (json_array_size(arr) > BOUND_SPOOL_REASONS)
		return jp_fail(
		    p, "policy_evaluated.reason", "has too many reasons", NULL);
	reasons =
	    arena_zalloc(p->a, (json_array_size(arr) + 1) * sizeof(*reasons));
	if (reasons == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e))
			return jp_fail(p, "policy_evaluated.reason[]",
			    "is not an object", NULL);
		if ((err = jp_enum(p, e, "policy_evaluated.reason[].type",
		         reason_names, NELEM(reason_names), true, &type)) !=
		        0 ||
		    (err = jp_str(p, e, "policy_evaluated.reason[].comment",
		         false, &reasons[i].comment)) != 0)
			return err;
		reasons[i].type = (enum spool_reason_type)type;
	}
	r->reasons = reasons;
	r->reason_count = json_array_size(arr);
	return 0;
}

static int
parse_evaluated(struct jp *p, const json_t *root, struct spool_record *r)
{
	unsigned disp;
	json_t *o;
	int err;

	if ((err = jp_get(
	         p, root, "policy_evaluated", JSON_OBJECT, true, &o)) != 0 ||
	    (err = jp_enum(p, o, "policy_evaluated.disposition",
	         disposition_names, NELEM(disposition_names), true, &disp)) !=
	        0 ||
	    (err = jp_pass_fail(
	         p, o, "policy_evaluated.dkim", &r->dkim_aligned)) != 0 ||
	    (err = jp_pass_fail(
	         p, o, "policy_evaluated.spf", &r->spf_aligned)) != 0)
		return err;
	r->disposition = (enum spool_disposition)disp;
	return parse_reasons(p, o, r);
}

static int
parse_identifiers(struct jp *p, const json_t *root, struct spool_record *r)
{
	json_t *o;
	int err;

	if ((err = jp_get(p, root, "identifiers", JSON_OBJECT, true, &o)) !=
	        0 ||
	    (err = jp_str(p, o, "identifiers.header_from", true,
	         &r->header_from)) != 0 ||
	    (err = jp_str(p, o, "identifiers.envelope_from", false,
	         &r->envelope_from)) != 0)
		return err;
	return jp_str(p, o, "identifiers.envelope_to", false, &r->envelope_to);
}

static int
parse_dkim(struct jp *p, const json_t *auth, struct spool_record *r)
{
	struct spool_dkim *dkim;
	json_t *arr, *e;
	size_t i;
	int err;

	if ((err = jp_get(
	         p, auth, "auth_results.dkim", JSON_ARRAY, false, &arr)) != 0 ||
	    arr == NULL)
		return err;
	if (json_array_size(arr) > BOUND_SPOOL_DKIM)
		return jp_fail(
		    p, "auth_results.dkim", "has too many results", NULL);
	dkim = arena_zalloc(p->a, (json_array_size(arr) + 1) * sizeof(*dkim));
	if (dkim == NULL)
		return -ENOMEM;
	json_array_foreach(arr, i, e)
	{
		if (!json_is_object(e))
			return jp_fail(
			    p, "auth_results.dkim[]", "is not an object", NULL);
		if ((err = jp_str(p, e, "auth_results.dkim[].domain", true,
		         &dkim[i].domain)) != 0 ||
		    (err = jp_str(p, e, "auth_results.dkim[].selector", true,
		         &dkim[i].selector)) != 0 ||
		    (err = jp_result(p, e, "auth_results.dkim[].result",
		         dkim_results, &dkim[i].result)) != 0 ||
		    (err = jp_str(p, e, "auth_results.dkim[].human_result",
		         false, &dkim[i].human_result)) != 0)
			return err;
	}
	r->dkim = dkim;
	r->dkim_count = json_array_size(arr);
	return 0;
}

static int
parse_auth(struct jp *p, const json_t *root, struct spool_record *r)
{
	json_t *o, *spf;
	unsigned scope;
	int err;

	if ((err = jp_get(p, root, "auth_results", JSON_OBJECT, true, &o)) !=
	        0 ||
	    (err = parse_dkim(p, o, r)) != 0 ||
	    (err = jp_get(
	         p, o, "auth_results.spf", JSON_OBJECT, false, &spf)) != 0 ||
	    spf == NULL)
		return err;
	if ((err = jp_str(p, spf, "auth_results.spf.domain", true,
	         &r->spf.domain)) != 0 ||
	    (err = jp_enum(p, spf, "auth_results.spf.scope", scope_names,
	         NELEM(scope_names), false, &scope)) != 0 ||
	    (err = jp_result(p, spf, "auth_results.spf.result", spf_results,
	         &r->spf.result)) != 0)
		return err;
	r->spf.scope = (enum spool_spf_scope)scope;
	return jp_str(p, spf, "auth_results.spf.human_result", false,
	    &r->spf.human_result);
}

static int
parse_top(struct jp *p, const json_t *root, struct spool_record *r)
{
	json_t *v;
	int err;

	if ((err = jp_get(p, root, "version", JSON_INTEGER, true, &v)) != 0)
		return err;
	if (json_integer_value(v) != SPOOL_VERSION)
		return jp_fail(p, "version", "is not 1", NULL);
	if ((err = jp_get(p, root, "time", JSON_INTEGER, true, &v)) != 0)
		return err;
	r->time = json_integer_value(v);
	if ((err = jp_str(
	         p, root, "reporting_host", true, &r->reporting_host)) != 0 ||
	    (err = jp_str(p, root, "source_ip", true, &r->source_ip)) != 0 ||
	    (err = jp_result(p, root, "dmarc", dmarc_results, &r->dmarc)) !=
	        0 ||
	    (err = parse_policy(p, root, &r->policy)) != 0 ||
	    (err = parse_evaluated(p, root, r)) != 0 ||
	    (err = parse_identifiers(p, root, r)) != 0)
		return err;
	return parse_auth(p, root, r);
}

int
spool_record_from_json(const char *line, size_t len, struct arena *a,
    struct spool_record *ret, const char **ret_why)
{
	struct jp p = {.a = a, .why = NULL};
	struct spool_record r;
	json_error_t jerr;
	json_t *root;
	int err;

	if (len >= BOUND_SPOOL_RECORD_BYTES) {
		*ret_why = "line longer than BOUND_SPOOL_RECORD_BYTES";
		return -E2BIG;
	}
	root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		jp_fail(&p, "JSON", jerr.text, NULL);
		*ret_why = p.why;
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	if (!json_is_object(root))
		err = jp_fail(&p, "record", "is not a JSON object", NULL);
	else
		err = parse_top(&p, root, &r);
	json_decref(root);
	if (err == 0)
		err = spool_record_check(&r, &p.why);
	if (err != 0) {
		*ret_why = p.why != NULL ? p.why : "out of memory";
		return err;
	}
	*ret = r;
	return 0;
}

/* ---- files ---- */

/* Each kind: file names start with prefix, then the start of the file's
 * period as stamp (strftime, UTC) whose digits stand where pattern has
 * 'd', then ".HOST.jsonl". Kinds differ in prefix (none of them a date),
 * so no name is of two kinds. */
static const struct spool_kind_desc {
	const char *prefix, *stamp, *pattern;
	long period; /* seconds one file covers */
	size_t max;  /* longest line, "\n" included */
} kinds[] = {
    [SPOOL_AGGREGATE] = {"", "%Y-%m-%d", "dddd-dd-dd", 86400,
        BOUND_SPOOL_RECORD_BYTES},
    [SPOOL_FAILURE] = {"failure.", "%Y-%m-%dT%H-%M", "dddd-dd-ddTdd-dd", 60,
        BOUND_FAILURE_RECORD_BYTES},
};

static const struct spool_kind_desc *
kind_desc(enum spool_kind kind)
{
	if ((unsigned)kind >= NELEM(kinds))
		panic("spool: kind %u out of range", (unsigned)kind);
	return &kinds[kind];
}

long
spool_kind_period(enum spool_kind kind)
{
	return kind_desc(kind)->period;
}

int
spool_name(enum spool_kind kind, const char *host, time_t now, struct buf *out)
{
	const struct spool_kind_desc *k = kind_desc(kind);
	char stamp[32];
	struct tm tm;
	size_t i, before = out->len;

	if (host == NULL || host[0] == '\0' ||
	    strlen(host) > BOUND_DOMAIN_LEN || gmtime_r(&now, &tm) == NULL ||
	    tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1970 ||
	    strftime(stamp, sizeof(stamp), k->stamp, &tm) == 0)
		return -EINVAL;
	buf_adds(out, k->prefix);
	buf_adds(out, stamp);
	buf_addc(out, '.');
	/* the host goes into a file name: only harmless bytes, never '/' */
	for (i = 0; host[i] != '\0'; i++)
		buf_addc(out, strchr("abcdefghijklmnopqrstuvwxyz"
		                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.",
		                  host[i])
		                  ? host[i]
		                  : '_');
	buf_adds(out, SPOOL_SUFFIX);
	if (buf_error(out) != 0) {
		buf_truncate(out, before);
		return buf_error(out);
	}
	return 0;
}

/* stamp_start -- the time the stamp at s (of kind k) stands for */
static bool
stamp_start(const struct spool_kind_desc *k, const char *s, time_t *ret)
{
	size_t i, n = strlen(k->pattern);
	struct tm tm, check;
	const char *end;

	for (i = 0; i < n; i++)
		if (k->pattern[i] == 'd' ? s[i] < '0' || s[i] > '9'
		                         : s[i] != k->pattern[i])
			return false;
	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, k->stamp, &tm)) != s + n)
		return false;
	check = tm;
	*ret = timegm(&tm);
	/* no 2023-02-30: the date must not have been carried over */
	return *ret != (time_t)-1 && *ret >= 0 && tm.tm_mday == check.tm_mday &&
	       tm.tm_mon == check.tm_mon && tm.tm_year == check.tm_year;
}

bool
spool_name_parse(const char *name, enum spool_kind *ret_kind, time_t *ret_start)
{
	size_t n = strlen(name), slen = strlen(SPOOL_SUFFIX), plen, stamp;
	const struct spool_kind_desc *k;
	unsigned i;

	if (n < slen || strcmp(name + n - slen, SPOOL_SUFFIX) != 0)
		return false;
	for (i = 0; i < NELEM(kinds); i++) {
		k = &kinds[i];
		plen = strlen(k->prefix);
		stamp = strlen(k->pattern);
		/* PREFIX STAMP "." at least one host byte, not a '.' SUFFIX */
		if (n < plen + stamp + 2 + slen ||
		    strncmp(name, k->prefix, plen) != 0 ||
		    name[plen + stamp] != '.' ||
		    name[plen + stamp + 1] == '.' ||
		    !stamp_start(k, name + plen, ret_start))
			continue;
		*ret_kind = (enum spool_kind)i;
		return true;
	}
	return false;
}

int
spool_file_name(const char *host, time_t now, struct buf *out)
{
	return spool_name(SPOOL_AGGREGATE, host, now, out);
}

bool
spool_file_day(const char *name, time_t *ret_day)
{
	enum spool_kind kind;
	time_t start;

	if (!spool_name_parse(name, &kind, &start) || kind != SPOOL_AGGREGATE)
		return false;
	*ret_day = start;
	return true;
}

static void
count(unsigned long *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static int
append_fail(struct spool_stats *stats, int err)
{
	if (stats != NULL) {
		count(&stats->failed);
		__atomic_store_n(&stats->last_error, err, __ATOMIC_RELAXED);
	}
	return err;
}

/* write_all -- write len bytes at the end of fd (O_APPEND), going on
 * after a short write. *ret_done: the bytes written.
 * @return 0, or the -errno of the write that failed. */
static int
write_all(int fd, const char *p, size_t len, size_t *ret_done)
{
	ssize_t n;

	*ret_done = 0;
	while (*ret_done < len) {
		n = write(fd, p + *ret_done, len - *ret_done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		*ret_done += (size_t)n;
	}
	return 0;
}

/* Whether the regular file fd ends in a byte other than "\n": a record
 * cut short (a short write that could not be ended, or a crash in the
 * middle of a write) that the next record must not continue. */
static bool
ends_torn(int fd, const struct stat *st)
{
	char last;

	return st->st_size > 0 && pread(fd, &last, 1, st->st_size - 1) == 1 &&
	       last != '\n';
}

/* append_locked -- write line[0..len), which starts with a "\n" that is
 * only written when the file ends torn, under an exclusive flock(2) that
 * every appender takes: between the look at the last byte and the write
 * no other writer, thread or process, can leave a fragment. A short
 * write is continued (nobody can write in between); if the rest cannot
 * be written either, the fragment gets its "\n" if that can be written,
 * and otherwise the next append starts with one. */
static int
append_locked(int fd, const char *line, size_t len)
{
	struct stat st;
	size_t skip, done;
	int err;

	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL; /* a FIFO or device in the spool */
	skip = ends_torn(fd, &st) ? 0 : 1;
	err = write_all(fd, line + skip, len - skip, &done);
	if (err != 0 && done > 0 && write(fd, "\n", 1) != 1)
		log_debug("spool: a torn record is left for the next append "
		          "to end");
	return err;
}

int
spool_append_line(const char *dir, enum spool_kind kind, const char *host,
    time_t now, const char *line, size_t len, struct spool_stats *stats)
{
	struct buf path, rec;
	int fd, err;

	if (len + 1 > kind_desc(kind)->max)
		return append_fail(stats, -E2BIG);
	if (memchr(line, '\n', len) != NULL)
		return append_fail(stats, -EINVAL);
	buf_init(&path, 4096);
	buf_init(&rec, len + 2);
	buf_adds(&path, dir);
	buf_addc(&path, '/');
	buf_addc(&rec, '\n'); /* written only after a torn record */
	buf_add(&rec, line, len);
	buf_addc(&rec, '\n');
	if ((err = spool_name(kind, host, now, &path)) != 0 ||
	    (err = buf_error(&path)) != 0 || (err = buf_error(&rec)) != 0)
		goto out;
	/* O_RDWR: append_locked reads the last byte; O_NOFOLLOW: a symbolic
	 * link planted in the spool is not written through; O_NONBLOCK: nor
	 * does a FIFO hold the writer */
	fd = open(buf_cstr(&path),
	    O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK,
	    0640);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	err = append_locked(fd, rec.data, rec.len);
	if (close(fd) != 0 && err == 0)
		err = -errno; /* NFS-like delayed errors */
out:
	buf_free(&path);
	buf_free(&rec);
	if (err != 0)
		return append_fail(stats, err);
	if (stats != NULL)
		count(&stats->appended);
	return 0;
}

int
spool_append(const char *dir, const struct spool_record *r, time_t now,
    struct spool_stats *stats)
{
	struct buf line;
	const char *why;
	int err;

	buf_init(&line, BOUND_SPOOL_RECORD_BYTES);
	if ((err = spool_record_to_json(r, &line, &why)) == 0)
		err = spool_append_line(dir, SPOOL_AGGREGATE, r->reporting_host,
		    now, line.data, line.len, stats);
	else
		append_fail(stats, err);
	buf_free(&line);
	return err;
}

/* ---- reading files ---- */

struct reader {
	const char *path;
	spool_record_fn *fn;
	spool_line_fn *line_fn; /* instead of fn: records of another kind */
	size_t max;             /* longest line, "\n" included */
	spool_warn_fn *warn;
	void *ctx;
	struct spool_read_stats *stats;
	struct arena *arena;
	unsigned long line;
};

static void
skip(struct reader *rd, unsigned long *counter, const char *why)
{
	(*counter)++;
	if (rd->warn != NULL)
		rd->warn(rd->ctx, rd->path, rd->line, why);
}

/* The text every record line starts with (record_to_json puts "version"
 * first). Inside a JSON string a '"' is escaped, so this is never part of
 * a value; a record that held it as a nested object would not parse from
 * there to the end of the line. */
static const char record_start[] = "{\"version\":";

/* parse_line -- one line of the reader's kind: an aggregate record
 * into *ret, or (line_fn) handed to the caller's parser and handler.
 * @return 0; -EINVAL/-E2BIG (not a record) with *ret_why; -errno. */
static int
parse_line(struct reader *rd, const char *s, size_t len,
    struct spool_record *ret, const char **ret_why)
{
	if (rd->line_fn != NULL)
		return rd->line_fn(
		    rd->ctx, s, len, rd->path, rd->line, ret_why);
	return spool_record_from_json(s, len, rd->arena, ret, ret_why);
}

/* glued -- s[0..len) is not a record; if it is a torn record with a
 * whole one written after it on the same line (by a writer that did not
 * end the fragment: an older authmilter, or a file system without
 * flock), parse that one into *ret. @return 1 when found, 0 when not,
 * -ENOMEM. */
static int
glued(struct reader *rd, const char *s, size_t len, struct spool_record *ret)
{
	size_t n = sizeof(record_start) - 1;
	const char *p = s, *why;
	int err;

	while ((p = memmem(p + 1, len - (size_t)(p + 1 - s), record_start,
	            n)) != NULL) {
		arena_reset(rd->arena);
		err = parse_line(rd, p, len - (size_t)(p - s), ret, &why);
		if (err != -EINVAL && err != -E2BIG)
			return err == 0 ? 1 : err;
	}
	return 0;
}

static int
read_line(struct reader *rd, const char *s, size_t len)
{
	struct spool_record r;
	const char *why;
	char reason[256];
	int err;

	arena_reset(rd->arena);
	err = parse_line(rd, s, len, &r, &why);
	if (err != 0 && err != -EINVAL && err != -E2BIG)
		return err;
	if (err != 0) {
		/* the reason may live in the arena that glued() reuses */
		snprintf(reason, sizeof(reason), "%s", why);
		if (len == 0 || (err = glued(rd, s, len, &r)) == 0) {
			skip(rd, &rd->stats->invalid, reason);
			return 0;
		}
		if (err < 0)
			return err;
		skip(rd, &rd->stats->torn,
		    "a torn record with a whole one after it on the line: "
		    "the torn part is skipped");
	}
	rd->stats->records++;
	if (rd->line_fn != NULL)
		return 0; /* handled by line_fn */
	return rd->fn(rd->ctx, &r, rd->path, rd->line);
}

/* read_lines -- hand every complete line of data[0..*len) to read_line,
 * keep the incomplete rest at the start of data. */
static int
read_lines(struct reader *rd, char *data, size_t *len, bool *skipping)
{
	size_t start = 0;
	char *nl;
	int err = 0;

	while (err == 0 && (nl = memchr(data + start, '\n', *len - start))) {
		rd->line++;
		rd->stats->lines++;
		if (*skipping) {
			*skipping = false;
			skip(rd, &rd->stats->invalid,
			    "line longer than the longest record");
		} else
			err = read_line(
			    rd, data + start, (size_t)(nl - (data + start)));
		start = (size_t)(nl - data) + 1;
	}
	memmove(data, data + start, *len - start);
	*len -= start;
	return err;
}

static int
read_fd(struct reader *rd, int fd)
{
	size_t cap = rd->max, len = 0;
	bool skipping = false;
	char *data = malloc(cap);
	ssize_t n;
	int err = 0;

	if (data == NULL)
		return -ENOMEM;
	while (err == 0) {
		n = read(fd, data + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0) {
			if (len > 0 || skipping) {
				rd->line++;
				rd->stats->lines++;
				skip(rd, &rd->stats->torn,
				    "torn last line "
				    "(no final newline): skipped");
			}
			break;
		}
		len += (size_t)n;
		err = read_lines(rd, data, &len, &skipping);
		if (len == cap) { /* a line longer than any record */
			skipping = true;
			len = 0;
		}
	}
	free(data);
	return err;
}

static int
read_path(struct reader *rd)
{
	int fd, err;

	if ((fd = open(rd->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if ((rd->arena = arena_new(16384)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	err = read_fd(rd, fd);
	arena_free(rd->arena);
	close(fd);
	return err;
}

int
spool_read_file(const char *path, spool_record_fn *fn, spool_warn_fn *warn,
    void *ctx, struct spool_read_stats *stats)
{
	struct spool_read_stats local = {0};
	struct reader rd = {
	    .path = path,
	    .fn = fn,
	    .max = kind_desc(SPOOL_AGGREGATE)->max,
	    .warn = warn,
	    .ctx = ctx,
	    .stats = stats != NULL ? stats : &local,
	};

	return read_path(&rd);
}

int
spool_read_lines(const char *path, enum spool_kind kind, spool_line_fn *fn,
    spool_warn_fn *warn, void *ctx, struct spool_read_stats *stats)
{
	struct spool_read_stats local = {0};
	struct reader rd = {
	    .path = path,
	    .line_fn = fn,
	    .max = kind_desc(kind)->max,
	    .warn = warn,
	    .ctx = ctx,
	    .stats = stats != NULL ? stats : &local,
	};

	return read_path(&rd);
}
