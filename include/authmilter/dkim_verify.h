/*
 * dkim_verify.h -- verifying every DKIM-Signature of a message (RFC 6376
 * section 6; RFC 8463 for ed25519-sha256; RFC 8301 for the algorithm and
 * key size rules).
 *
 * dkim_verify_begin() finds the DKIM-Signature fields (the first
 * max_signatures of them; the rest are reported as result none, "not
 * evaluated (limit)"), parses each (section 3.5 / 6.1.1), computes its
 * header hash, and fetches each key record once per (selector, domain)
 * through dns.h (TXT at s._domainkey.d, section 3.6.2; the lookup is
 * dkim_key_cache_lookup()). The body goes in chunks through
 * dkim_verify_body(): one canon body stream per distinct (body
 * canonicalization, hash, l=) serves every signature sharing it, and the
 * set of streams (dkim_sig.h) may be shared with other users of the same
 * message (ARC's ARC-Message-Signatures): then the body is fed to the set
 * once, through dkim_verify_body() or dkim_sig_bodies_update(), not both.
 * dkim_verify_finish(now) gives one result per signature, in header order.
 *
 * Outcomes (RFC 8601 section 2.7.1 words), with the reason text:
 *   pass       everything checked
 *   fail       "body hash mismatch", "signature mismatch", "signature
 *              expired" (RFC 6376 section 6.1.1: PERMFAIL (signature
 *              expired); the signature is well-formed but no longer
 *              valid, so it is a failed verification, not an error)
 *   policy     "l= leaves N body bytes unsigned" (unless
 *              allow_partial_body): appended content is unauthenticated
 *   temperror  "DNS failure: ..." (section 6.1.2: TEMPFAIL (key
 *              unavailable))
 *   permerror  malformed signature ("missing b= tag", "duplicate tag",
 *              "v= not 1", "rsa-sha1 not accepted (RFC 8301)", "unknown
 *              algorithm", "bad c=", "bad base64 in b=", "b= too long"
 *              (more than a signature can be), "bad base64 in bh=", "bh=
 *              too long", "bad l=", "l= exceeds body length", "x= not after
 *              t=", "h= does not include From", "i= not within d=",
 *              "bad d=: ...", "bad s=: ...", "bad i=: ...", "unknown
 *              q=", "signed header too large" (a field signed in h= is
 *              larger than the header hash buffer)...), key problems ("no key"
 *              (NXDOMAIN/NODATA, section 6.1.2), "key revoked", "key too
 *              small (...)", "bad key record syntax: ...", "key type does
 *              not match a=", "t=s key with i= subdomain", and the other
 *              reasons of dkim_pubkey_parse())
 *   none       "not evaluated (limit)"
 *
 * Memory: the session, its results and their strings live in the arena
 * given to dkim_verify_begin(); the msg, the resolver and the key cache
 * are borrowed and must outlive the session. Not thread-safe: one session
 * per message per thread (the resolver and the key cache are
 * thread-safe and shared).
 */
#ifndef AUTHMILTER_DKIM_VERIFY_H
#define AUTHMILTER_DKIM_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/dns.h"
#include "authmilter/msg.h"

struct dkim_key_cache;
struct dkim_sig_bodies;

struct dkim_verify_options {
	struct dns_resolver *resolver;    /* borrowed; required */
	size_t max_signatures;            /* 0 = BOUND_DKIM_SIGNATURES */
	unsigned min_rsa_bits;            /* 0 = BOUND_RSA_MIN_BITS */
	bool allow_partial_body;          /* l= shorter than the body: pass
	                                   * instead of policy */
	struct dkim_key_cache *key_cache; /* borrowed; NULL: every key
	                                   * record is parsed again */
	struct dkim_sig_bodies *bodies;   /* borrowed: body streams shared
	                                   * with other signatures of the
	                                   * message (ARC); NULL: our own */
};

/* One signature's outcome. Strings are arena-owned and NUL-terminated;
 * tag strings are NULL when the tag was absent or did not validate (the
 * reason says which), so a non-NULL one is always safe to put in a
 * header or a record: domain and selector are at most 253 bytes of
 * letters, digits, '-', '_' and '.'; identity a local part of at most
 * BOUND_LOCAL_PART_LEN atext/'.' bytes, '@' and such a domain; algorithm
 * a known name; b_prefix base64 characters only. */
struct dkim_verify_result {
	enum auth_result result;
	const char *reason;    /* "" on pass */
	const char *domain;    /* d= */
	const char *selector;  /* s= */
	const char *identity;  /* i=, or "@" d= when absent */
	const char *algorithm; /* a= as written (for header.a) */
	const char *b_prefix;  /* first <= 8 base64 characters of b=
	                        * (header.b) */
	unsigned h_from;       /* times "from" is listed in h= (0 when h=
	                        * did not parse): a signature covers every
	                        * From field only if this is >= their count */
	unsigned key_bits;     /* 0 when no key was loaded */
	bool testing;          /* the key has t=y */
	size_t header_index;   /* index of the field in msg->headers */
};

struct dkim_verify;

/* dkim_verify_begin -- start verifying m (its header fields complete).
 * Key lookups happen here (the resolver is synchronous).
 * @return 0 and *ret (arena-owned); -EINVAL (no resolver); -ENOMEM;
 * -EIO (OpenSSL). A message without signatures is not an error: it has
 * zero results; nor is any message content: a signature that cannot be
 * evaluated is a permerror result. */
int dkim_verify_begin(struct arena *a, const struct msg *m,
    const struct dkim_verify_options *opt, struct dkim_verify **ret);

/* dkim_verify_body -- feed len more raw body bytes (any chunking) to the
 * session's set of body streams (opt->bodies when given).
 * @return 0 or -EIO. */
int dkim_verify_body(struct dkim_verify *v, const char *chunk, size_t len);

/* dkim_verify_finish -- finish the body and decide every signature; now
 * is the Unix time used for x=. May be called once.
 * @return 0 with *ret_results (arena-owned array, header order) and
 * *ret_count; -ENOMEM; -EIO. */
int dkim_verify_finish(struct dkim_verify *v, int64_t now,
    const struct dkim_verify_result **ret_results, size_t *ret_count);

/* dkim_verify_body_streams -- how many canon body streams the session's
 * set runs (one per distinct (canon, hash, l=); a shared set counts its
 * other users' streams too); for tests and statistics. */
size_t dkim_verify_body_streams(const struct dkim_verify *v);

#endif
