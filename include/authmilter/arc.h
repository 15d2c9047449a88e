/*
 * arc.h -- the Authenticated Received Chain (RFC 8617): the ARC sets of a
 * message by instance, the validation of the chain, and sealing a new set
 * on top of it.
 *
 * Parsing (arc_parse): every ARC-Authentication-Results (AAR),
 * ARC-Message-Signature (AMS) and ARC-Seal (AS) field is put under its
 * instance (section 4.2.1: i= from 1 to 50, written without leading zeros
 * -- "i=01" is refused, so two spellings cannot name one instance; the
 * AAR's i= is the first thing in its value, section 4.1.1), and the
 * structure is checked as section 5.2 steps 1-3 say: at most 50 sets,
 * instances 1..N without gaps, exactly one AAR, AMS and AS in each, cv=
 * none at i=1 and pass above it. A field whose instance cannot be read
 * (no i=, a tag list that does not parse, i=0, i=51) is a broken
 * structure too. The first problem found is the reason, with its
 * instance when it has one.
 *
 * Validation (arc_verify_begin, _body, _finish; section 5.2): no ARC field
 * is "none"; a newest AS saying cv=fail, or a broken structure, is
 * "fail"; then the newest AMS is verified as a DKIM signature (RFC 6376
 * section 6.1 through dkim_sig.h: tags, header hash, body hash, key from
 * dkim_key_cache_lookup()), then every AS from the newest down (relaxed
 * header canonicalization over the sets 1..i in order, AAR, AMS, AS each,
 * section 5.1.1). The first failure is the reason, with its instance.
 * "pass" also gives oldest-pass (section 5.2 step 5): the lowest instance
 * whose AMS verifies with every AMS above it. A key lookup that failed
 * temporarily makes the chain "temperror" (nothing is known; it is not
 * sealed as failed). Body hashes come from a struct dkim_sig_bodies,
 * which may be the one the message's DKIM signatures use, so a body is
 * hashed once per (canonicalization, l=).
 *
 * Sealing (arc_seal_begin, _body, _finish; section 5.1): the AAR is the
 * given Authentication-Results value with i=N+1 in front (section
 * 4.1.1); the AMS signs the message like a DKIM signature (section
 * 4.1.2: rsa-sha256, relaxed/relaxed, i= the instance, no v=; h= the
 * given names or the default list of dkim_sig_default_headers() plus
 * DKIM-Signature, never an ARC field or Authentication-Results, which
 * section 4.1.2 keeps out of it); the AS signs the sets 1..N and the new
 * one with cv= the chain's status -- or, for cv=fail, the new set alone
 * (section 5.1.2). Nothing is sealed on a chain whose newest AS already
 * says cv=fail (section 5.1 step 2), nor past i=50, nor when the status
 * is not known. Values are folded at 78 columns (the product's form) or
 * written flat with the tags sorted (the ARC test suite's standardized
 * form, which makes b= reproducible).
 *
 * Trusted sealers (arc_claims): what the AARs of a passing chain recorded
 * -- dkim=pass header.d, spf=pass smtp.mailfrom, dmarc=pass header.from
 * -- with the sealer (the AS d=) of each, as input for DMARC's local
 * policy (dmarc.h, RFC 9989 section 5.4 leaves honouring ARC to it).
 *
 * Memory: everything lives in the arena given; the msg, the resolver, the
 * key cache, the body set and the key are borrowed and must outlive the
 * session. Not thread-safe: one session per message per thread (the
 * resolver and the key cache are thread-safe and shared).
 */
#ifndef AUTHMILTER_ARC_H
#define AUTHMILTER_ARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"
#include "authmilter/tags.h"

struct dkim_key_cache;
struct dkim_privkey;
struct dkim_sig_bodies;

/* The cv= of an ARC-Seal (RFC 8617 section 4.1.3). */
enum arc_cv {
	ARC_CV_NONE = 0,
	ARC_CV_PASS,
	ARC_CV_FAIL,
	ARC_CV_INVALID, /* absent, or not one of the three */
};

/* One instance's fields (borrowed from the msg; NULL when missing). */
struct arc_set {
	unsigned instance;
	const struct msg_header *aar, *ams, *as;
	enum arc_cv cv;
	const char *sealer; /* the AS d= when it is a valid name, else NULL */
	const struct tag_list *ams_tags, *as_tags; /* their tags (arena) */
};

/* The sets of a message. */
struct arc_chain {
	unsigned count;            /* N: the highest instance read (0: none) */
	struct arc_set *sets;      /* sets[i - 1] is instance i, i = 1..count */
	size_t n_fields;           /* ARC fields in the message */
	const char *problem;       /* NULL, or why the structure is broken */
	unsigned problem_instance; /* the instance of the problem, or 0 */
	bool newest_cv_fail;       /* the AS of instance N says cv=fail */
};

/* arc_parse -- the ARC fields of m into *ret (arena-owned).
 * @return 0; -ENOMEM. Message content is never an error: a broken chain
 * has ret->problem set. */
int arc_parse(struct arena *a, const struct msg *m, struct arc_chain *ret);

/* ---- validation (RFC 8617 section 5.2) ---- */

struct arc_verify_options {
	struct dns_resolver *resolver;    /* borrowed; required */
	struct dkim_key_cache *key_cache; /* borrowed; may be NULL */
	unsigned min_rsa_bits;            /* 0 = BOUND_RSA_MIN_BITS */
	struct dkim_sig_bodies *bodies;   /* borrowed: shared body streams
	                                   * (fed by their owner); NULL: our
	                                   * own, fed by arc_verify_body() */
};

/* What one instance's signatures gave (AUTH_NONE: not checked). */
struct arc_set_result {
	unsigned instance;
	const char *sealer;     /* AS d=, or NULL */
	const char *selector;   /* AS s=, or NULL */
	const char *ams_domain; /* AMS d=, or NULL */
	enum auth_result ams, as;
	const char *ams_why, *as_why; /* "" on pass */
};

struct arc_result {
	enum auth_result status;  /* AUTH_NONE, AUTH_PASS, AUTH_FAIL,
	                           * AUTH_TEMPERROR */
	const char *reason;       /* "" on pass; why otherwise */
	unsigned failed_instance; /* the instance that failed, or 0 */
	unsigned count;           /* N */
	unsigned oldest_pass;     /* with pass: lowest instance whose AMS
	                           * and all newer ones verify; else 0 */
	const struct arc_set_result *sets; /* count entries, i - 1 */
	const struct arc_chain *chain;
};

struct arc_verify;

/* arc_verify_begin -- parse the chain of m (its header complete) and
 * prepare the checks (the body streams of its AMSs).
 * @return 0 and *ret (arena-owned); -EINVAL (no resolver); -ENOMEM;
 * -EIO. */
int arc_verify_begin(struct arena *a, const struct msg *m,
    const struct arc_verify_options *opt, struct arc_verify **ret);

/* arc_verify_body -- feed len more raw body bytes to our own body set
 * (not when opt->bodies was given: its owner feeds it).
 * @return 0 or -EIO. */
int arc_verify_body(struct arc_verify *v, const char *chunk, size_t len);

/* arc_verify_finish -- key lookups and checks; now is the Unix time for
 * x=. May be called once. @return 0 and *ret (arena-owned); -ENOMEM;
 * -EIO. */
int arc_verify_finish(
    struct arc_verify *v, int64_t now, const struct arc_result **ret);

/* arc_verify_chain -- the parsed chain (after arc_verify_begin). */
const struct arc_chain *arc_verify_chain(const struct arc_verify *v);

/* ---- sealing (RFC 8617 section 5.1) ---- */

enum arc_format {
	ARC_FORMAT_FOLDED = 0, /* tags in our order, folded at 78 */
	ARC_FORMAT_SORTED,     /* tags sorted, unfolded, "; " between them:
	                        * the ARC test suite's standardized form */
};

struct arc_seal_options {
	const char *domain;             /* d=, borrowed */
	const char *selector;           /* s=, borrowed */
	const struct dkim_privkey *key; /* borrowed; RSA (rsa-sha256 is the
	                                 * one algorithm RFC 8617 allows) */
	const char *const *headers;     /* AMS names; NULL = the default */
	size_t n_headers;
	const char *const *oversign; /* names to oversign (From always) */
	size_t n_oversign;
	const char *h; /* the AMS h= exactly (overrides
	                * headers and oversign); NULL */
	enum arc_format format;
	struct dkim_sig_bodies *bodies; /* borrowed, shared; NULL: our own,
	                                 * fed by arc_seal_body() */
};

/* The new set: values after the colon (arena-owned, starting with a
 * space; folded with CRLF TAB in the folded format). */
struct arc_sealed {
	unsigned instance;
	enum arc_cv cv;
	const char *aar, *ams, *as;
};

struct arc_seal;

/* arc_seal_begin -- prepare to seal m: the AMS h= and its body stream
 * (relaxed, SHA-256).
 * @return 0 and *ret (arena-owned); -EINVAL (an option missing or not
 * valid: domain, selector, an RSA key; an h= that names an ARC field);
 * -E2BIG (h= too long); -ENOMEM; -EIO. */
int arc_seal_begin(struct arena *a, const struct msg *m,
    const struct arc_seal_options *opt, struct arc_seal **ret);

/* arc_seal_body -- feed len more raw body bytes to our own body set.
 * @return 0 or -EIO. */
int arc_seal_body(struct arc_seal *s, const char *chunk, size_t len);

/* arc_seal_finish -- the new set on top of chain (arc_parse() of the same
 * message) with the chain validation status status (AUTH_NONE, AUTH_PASS
 * or AUTH_FAIL; anything else is not sealed), the AAR payload authres
 * (an Authentication-Results value: "authserv-id; resinfo; ...", leading
 * whitespace ignored) and t= now. May be called once.
 * @return 0 and *ret, or 0 with *ret_why (static text: "the newest
 * ARC-Seal says cv=fail", "50 ARC sets already", "chain status unknown",
 * "cv=none with ARC sets present") and nothing sealed; -EINVAL (no
 * authres); -ENOMEM; -EIO; -ERANGE (a value too long). */
int arc_seal_finish(struct arc_seal *s, const struct arc_chain *chain,
    enum auth_result status, const char *authres, int64_t now,
    struct arc_sealed *ret, const char **ret_why);

/* arc_cv_name -- "none", "pass", "fail" ("invalid" for ARC_CV_INVALID). */
const char *arc_cv_name(enum arc_cv cv);

/* ---- what the sealers recorded ---- */

/* The authserv-ids' Authentication-Results in a message, consolidated as
 * an AAR payload (the ARC test suite's rule): every A-R field whose
 * authserv-id is authserv_id, in message order, each resinfo kept, as
 * "authserv-id; r1; r2..." (folded: ";\r\n\t" between them). The arc=
 * result among them, if any, is the chain status they recorded.
 * @return 0 with *ret_payload (arena-owned; NULL when no field is ours)
 * and *ret_status (AUTH_NONE when no arc= result, AUTH_PASS, AUTH_FAIL,
 * or AUTH_PERMERROR when arc= appears more than once or says something
 * else); -ENOMEM; -ERANGE (too long). */
int arc_authres_payload(struct arena *a, const struct msg *m,
    const char *authserv_id, enum arc_format format, const char **ret_payload,
    enum auth_result *ret_status);

enum arc_claim_method {
	ARC_CLAIM_DKIM = 0, /* dkim=pass header.d (or header.i's domain) */
	ARC_CLAIM_SPF,      /* spf=pass smtp.mailfrom's domain */
	ARC_CLAIM_DMARC,    /* dmarc=pass header.from */
};

/* A pass one sealer's AAR recorded (strings arena-owned; domain a valid
 * name, lower-case, without a final dot). */
struct arc_claim {
	const char *sealer; /* the AS d= of the set */
	unsigned instance;
	enum arc_claim_method method;
	const char *domain;
};

/* arc_claims -- the passes recorded by the AARs of a chain whose status
 * is pass (none otherwise), newest set first, at most BOUND_ARC_CLAIMS.
 * @return 0 with *ret (arena-owned) and *ret_n; -ENOMEM. */
int arc_claims(struct arena *a, const struct arc_result *r,
    const struct arc_claim **ret, size_t *ret_n);

#endif
