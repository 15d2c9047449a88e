/*
 * dkim_sign.h -- building DKIM-Signature header fields (RFC 6376 section
 * 5; RFC 8463 for ed25519-sha256).
 *
 * A struct dkim_signer says who signs and how: d=, s=, the private key,
 * header and body canonicalization (default relaxed/simple), the header
 * names to sign (default: those of the RFC 6376 section 5.4.1 list that
 * are present, dkim_sig_default_headers()), and the names to oversign
 * (From always: a name listed there appears in h= once more than it
 * occurs in the message, so nobody can add one without breaking the
 * signature). t= is the `now` given to
 * dkim_sign_finish() (the core never reads the clock); x= is optional;
 * l= is never written.
 *
 * A signing session takes the header fields at dkim_sign_begin(), the body
 * in chunks through dkim_sign_body() -- fed once and shared: one canon
 * body stream per distinct body canonicalization among the signers -- and
 * produces one DKIM-Signature value per signer at dkim_sign_finish(). Tags
 * are written in the order v, a, c, d, i, s, t, x, h, bh, b, folded at 78
 * columns with CRLF TAB, b= last and folded too.
 *
 * Header selection, the header hash, the body streams and folding are
 * dkim_sig.h's, shared with the verifier and ARC.
 *
 * Memory: the session and its results live in the arena given to
 * dkim_sign_begin() (OpenSSL contexts are arena cleanups); the msg, the
 * signers and their keys are borrowed and must outlive the session. Not
 * thread-safe: one session per message per thread; keys may be shared.
 */
#ifndef AUTHMILTER_DKIM_SIGN_H
#define AUTHMILTER_DKIM_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/canon.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/msg.h"

struct dkim_signer {
	const char *domain;             /* d=, borrowed */
	const char *selector;           /* s=, borrowed */
	const struct dkim_privkey *key; /* borrowed; a= follows its type */
	enum canon_alg header_canon;    /* default CANON_RELAXED */
	enum canon_alg body_canon;      /* default CANON_SIMPLE */
	const char *const *headers;     /* names to sign; NULL = default */
	size_t n_headers;
	const char *const *oversign; /* extra names to oversign (From is
	                              * always oversigned); may be NULL */
	size_t n_oversign;
	uint64_t expire;      /* x= = t= + expire; 0 = no x= */
	const char *identity; /* i=, borrowed, or NULL */
};

/* dkim_signer_init -- zero s and set the defaults (relaxed/simple, the
 * default header list, From oversigned, no x=, no i=). */
void dkim_signer_init(struct dkim_signer *s);

struct dkim_sign;

/* dkim_sign_begin -- start signing message m (its header fields complete)
 * with n signers (1..BOUND_DKIM_SIGNATURES). Signers are copied; the
 * strings and keys they point to are borrowed.
 * @return 0 and *ret (arena-owned); -EINVAL when a signer is incomplete
 * or its d=/s=/i= is not a valid domain/selector/identity; -E2BIG when h=
 * would list more than BOUND_SIGNED_HEADERS names; -ENOMEM; -EIO. */
int dkim_sign_begin(struct arena *a, const struct msg *m,
    const struct dkim_signer *signers, size_t n, struct dkim_sign **ret);

/* dkim_sign_body -- feed len more raw body bytes (any chunking; LF or
 * CRLF line ends). @return 0 or -EIO. */
int dkim_sign_body(struct dkim_sign *s, const char *chunk, size_t len);

/* dkim_sign_finish -- finish the body and sign: ret_values[i] receives
 * the DKIM-Signature value for signers[i] (arena-owned, NUL-terminated):
 * everything after "DKIM-Signature:", starting with a space, folded with
 * CRLF TAB (a milter turns CRLF into LF). now is the Unix time for t=.
 * May be called once.
 * @return 0; -EIO (OpenSSL failed); -ENOMEM; -ERANGE (value too long). */
int dkim_sign_finish(struct dkim_sign *s, int64_t now, const char **ret_values);

/* dkim_sign_body_streams -- how many canon body streams the session runs
 * (one per distinct body canonicalization); for tests and statistics. */
size_t dkim_sign_body_streams(const struct dkim_sign *s);

/* dkim_sign_template -- sign m with a DKIM-Signature whose tags are
 * already written: tmpl is a complete value (as it would follow
 * "DKIM-Signature:") with an empty b= (a=, c=, h= and bh= are read from
 * it; l= is honoured). body/body_len is the whole raw body. For tests and
 * byte-exact vectors (RFC 8463 Appendix A): the result depends only on
 * these inputs.
 * @return 0 with *ret_b (base64 of the signature) and *ret_bh (base64 of
 * the body hash computed here), both arena-owned; -EINVAL (template
 * unparseable, b= not empty, a= does not match the key); the errors of
 * dkim_sig_hash_header(); -ENOMEM; -EIO. */
int dkim_sign_template(struct arena *a, const struct msg *m,
    const struct dkim_privkey *key, const char *tmpl, size_t tmpl_len,
    const char *body, size_t body_len, const char **ret_b, const char **ret_bh);

#endif
