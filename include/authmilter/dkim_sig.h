/*
 * dkim_sig.h -- DKIM-style signature fields: what a signature covers, how
 * that is hashed, and how the field is written and signed. The one home
 * of the machinery dkim_sign (making DKIM-Signatures), dkim_verify
 * (checking them) and ARC (RFC 8617: ARC-Message-Signature and ARC-Seal
 * are built the same way) share. RFC 6376 sections 3.5, 3.7, 5.4, 6.1.3.
 *
 *   Tag values that decide the hash: c= dkim_sig_parse_canon(), h=
 *   dkim_sig_split_h(), t= x= l= dkim_sig_parse_uint(), d= s= (and the
 *   domain of i=) dkim_sig_name_problem(); a= is dkim_alg.h.
 *
 *   Choosing the fields: dkim_sig_build_h() writes the h= of a signature
 *   we make (From first, oversigned names listed once more than they
 *   occur); dkim_sig_select() resolves an h= into the fields it covers
 *   (section 5.4.2: instances from the bottom up).
 *
 *   The header hash (section 3.7): dkim_sig_hash_fields() canonicalizes
 *   and hashes given fields in the given order, then the signature field
 *   itself with the value of its b= tag deleted and without its final
 *   CRLF; dkim_sig_hash_header() is dkim_sig_select() then that.
 *
 *   The body hash: a struct dkim_sig_bodies holds one canon body stream
 *   per distinct (body canonicalization, hash, l=) for one message, so a
 *   body is canonicalized and hashed once however many signatures -- DKIM
 *   ones being checked or made and ARC ones alike -- ask for it.
 *
 *   Parsing: dkim_sig_parse() checks the tags of a received signature
 *   field of a given kind (DKIM-Signature, a message signature without
 *   v=, a seal without h=) and dkim_sig_check() does the checks that need
 *   its key and body hash: one verifier's logic for all three.
 *
 *   Writing: a struct dkim_sig_writer appends "tag=value;" pieces folded
 *   at 78 columns with CRLF TAB, then an empty " b="; the caller hashes
 *   the field as it stands (dkim_sig_writer_field()), and
 *   dkim_sig_write_signature() signs that digest and appends the folded
 *   base64. The field hashed is the field written, byte for byte.
 *
 * How ARC is expressed with it (nothing here knows ARC's names):
 *
 *   ARC-Message-Signature (RFC 8617 section 4.1.2: a DKIM signature with
 *   another field name, i= the instance, no v=). Making one: h from
 *   dkim_sig_build_h(); a stream from dkim_sig_body_for() on the
 *   message's set; after dkim_sig_bodies_final(), bh= from
 *   dkim_sig_body_hash(); dkim_sig_writer_init(w, buf,
 *   "ARC-Message-Signature"), dkim_sig_write_tag() for i= a= c= d= s= t=,
 *   dkim_sig_write_h(), dkim_sig_write_tag() for bh=, dkim_sig_write_b();
 *   dkim_sig_writer_field() gives the field as it stands, whose
 *   dkim_sig_hash_header() digest (b= empty: b_value
 *   dkim_sig_writer_b(), length 0) dkim_sig_write_signature() signs. Checking
 * one: its tags through tags.h and the parsers above; dkim_sig_hash_header()
 * over the field as received (b_value/b_len: its b= tag); the body from the
 * same set; the key from dkim_key_cache_lookup(); dkim_pubkey_verify().
 *
 *   ARC-Seal (sections 4.1.3 and 5.1.1: no h=, relaxed header
 *   canonicalization; for instances 1..i in order, each set's
 *   ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal, the
 *   seal of instance i last with its b= value deleted). Making one: the
 *   writer as above for i= a= t= cv= d= s=, then dkim_sig_write_b();
 *   dkim_sig_writer_field() gives the seal; dkim_sig_hash_fields(
 *   CANON_RELAXED, fields, n, &seal, dkim_sig_writer_b(), 0, digest) over
 *   the caller's list of the other fields (those not yet in the message,
 *   the new ARC-Authentication-Results and ARC-Message-Signature, are
 *   struct msg_headers made from their text); dkim_sig_write_signature().
 *   Checking one: dkim_sig_hash_fields() over the received fields and the
 *   seal as received (b_value/b_len: its b= tag), dkim_pubkey_verify()
 *   with the looked-up key.
 *
 * Memory: functions here allocate only in the arena they are given (and
 * OpenSSL contexts they free before returning, or leave to an arena
 * cleanup); inputs are borrowed. Not thread-safe per set or writer: one
 * message, one thread.
 */
#ifndef AUTHMILTER_DKIM_SIG_H
#define AUTHMILTER_DKIM_SIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/buf.h"
#include "authmilter/canon.h"
#include "authmilter/dkim_alg.h"
#include "authmilter/msg.h"
#include "authmilter/tags.h"

struct dkim_privkey;
struct dkim_pubkey;
struct dkim_sig_body;

/* ---- tag values (RFC 6376 section 3.5) ---- */

/* One header name listed in h= (borrowed, not NUL-terminated). */
struct dkim_hname {
	const char *name;
	size_t len;
};

/* dkim_sig_split_h -- split an h= value (names separated by ':' with
 * optional FWS) into names (max entries).
 * @return 0 and *ret_n; -EINVAL for an empty name or a character outside
 * RFC 5322 ftext; -E2BIG for more than max names. */
int dkim_sig_split_h(const char *h, size_t len, struct dkim_hname *names,
    size_t max, size_t *ret_n);

/* dkim_sig_parse_canon -- a c= value: "h" or "h/b" (RFC 6376 section
 * 3.5: a missing body part means simple).
 * @return 0, *ret_header and *ret_body; -EINVAL. */
int dkim_sig_parse_canon(const char *s, size_t n, enum canon_alg *ret_header,
    enum canon_alg *ret_body);

/* dkim_sig_parse_uint -- a decimal tag value (t=, x=, l=: 1*12DIGIT in
 * RFC 6376 section 3.5; up to 18 digits accepted).
 * @return 0 and *ret; -EINVAL (empty, not digits, too long). */
int dkim_sig_parse_uint(const char *s, size_t n, uint64_t *ret);

/* dkim_sig_name_problem -- what is wrong with a d= or s= value (n bytes,
 * any bytes) as a name we may query, print and put in a header, or NULL:
 * labels of letters, digits, '-' and '_' of 1..63 bytes, at most 253
 * bytes, no final dot. @return NULL or a static reason ("empty", "longer
 * than 253 bytes", "empty label", "character not allowed", "label longer
 * than 63 bytes"). */
const char *dkim_sig_name_problem(const char *s, size_t n);

/* ---- parsing a signature field (RFC 6376 sections 3.5, 6.1.1) ---- */

/* The kinds of field that carry DKIM's tags. */
enum dkim_sig_kind {
	/* DKIM-Signature: v=1, a=, b=, bh=, d=, h=, s= required; c=, l=,
	 * q=, t=, x= optional; h= must list From */
	DKIM_SIG_KIND_DKIM = 0,
	/* a DKIM signature under another field name, without v= (RFC 8617
	 * section 4.1.2, ARC-Message-Signature); otherwise as DKIM */
	DKIM_SIG_KIND_MESSAGE,
	/* a signature over fields the caller lists, with no h= (RFC 8617
	 * section 4.1.3, ARC-Seal): a=, b=, d=, s= required, t= optional,
	 * h= refused; bh= c= l= q= x= are not its tags and are ignored */
	DKIM_SIG_KIND_SEAL,
};

/* What the tags of one signature field say. Tag names and values point
 * into the field (borrowed); the strings are arena-owned and NULL until
 * their tag validated, so a non-NULL one is safe to print: algorithm a
 * known name (or "rsa-sha1"), domain and selector names as
 * dkim_sig_name_problem() allows, b_prefix base64 characters only. */
struct dkim_sig_parsed {
	struct tag_list tags; /* every tag, known or not */
	const struct tag *b;  /* b= as received (for the header hash) */
	const struct tag *h;  /* h=; NULL for a seal */
	enum dkim_alg alg;
	enum canon_alg hc, bc; /* c=; simple/simple by default */
	int64_t limit;         /* l=, or -1 */
	uint64_t t, x;
	bool has_t, has_x;
	unsigned h_from;              /* times h= lists From */
	const char *algorithm;        /* a= as written */
	const char *domain;           /* d= */
	const char *selector;         /* s= */
	const char *b_prefix;         /* the first <= 8 base64 characters of b=
	                               * (RFC 6008 header.b) */
	uint8_t bh[CANON_DIGEST_MAX]; /* bh= decoded */
	size_t bh_len;
	uint8_t sig[DKIM_SIG_MAX]; /* b= decoded */
	size_t sig_len;
};

/* dkim_sig_parse -- the tags of field f as a signature of the given kind,
 * checked in the order v a b bh c d h l q s t x, then x= against t=. The
 * first problem stops the parse: the tags checked before it keep their
 * values in *ret, so a result can still name the d= of a signature whose
 * h= is bad. Tags that are not the kind's (i=, cv=, unknown ones) are
 * left in ret->tags for the caller.
 * @return 0 with *ret_why NULL (usable) or the permerror reason (static
 * or arena text: "missing b= tag", "duplicate tag", "bad signature
 * syntax", "v= not 1", "rsa-sha1 not accepted (RFC 8301)", "unknown
 * algorithm", "bad base64 in b=", "b= too long", "bad base64 in bh=",
 * "bh= too long", "bad c=", "bad d=: ...", "bad h=", "h= lists too many
 * header fields", "h= does not include From", "h= not allowed", "bad
 * l=", "unknown q=", "bad s=: ...", "bad t=", "bad x=", "x= not after
 * t="); -ENOMEM. */
int dkim_sig_parse(struct arena *a, const struct msg_header *f,
    enum dkim_sig_kind kind, struct dkim_sig_parsed *ret, const char **ret_why);

/* dkim_sig_parse_list -- dkim_sig_parse() of a field whose tag list tl
 * the caller parsed already (tags_parse() of its value: kept borrowed). */
int dkim_sig_parse_list(struct arena *a, const struct tag_list *tl,
    enum dkim_sig_kind kind, struct dkim_sig_parsed *ret, const char **ret_why);

/* dkim_sig_parse_names -- only a=, d= and s= of f, each kept when it
 * validates, whatever else is wrong (a signature that is named but not
 * evaluated). @return 0; -ENOMEM. */
int dkim_sig_parse_names(
    struct arena *a, const struct msg_header *f, struct dkim_sig_parsed *ret);

/* dkim_sig_check -- the checks of a parsed signature p that need its key
 * k (RFC 6376 section 6.1.3): the key type is the one a= names, l= is
 * within the body, bh= is the body hash of body (NULL for a seal, which
 * has no body), and b= signs digest (the header hash).
 * @return 0 with *ret AUTH_PASS (*ret_why ""), AUTH_FAIL ("body hash
 * mismatch", "signature mismatch") or AUTH_PERMERROR ("key type does not
 * match a=", "l= exceeds body length"); -ENOMEM; -EIO. */
int dkim_sig_check(const struct dkim_sig_parsed *p, const struct dkim_pubkey *k,
    const struct dkim_sig_body *body, const uint8_t *digest,
    enum auth_result *ret, const char **ret_why);

/* ---- the fields a signature covers (RFC 6376 section 5.4) ---- */

/* dkim_sig_default_headers -- the names RFC 6376 section 5.4.1 says
 * SHOULD be signed, plus those that say how to read the body;
 * NULL-terminated, static. */
const char *const *dkim_sig_default_headers(void);

/* dkim_sig_build_h -- the h= value of a signature over m: From first
 * (section 5.4: it MUST be signed), then names[0..n) in order (NULL: the
 * default list), then the oversign names not listed; each name as often
 * as m has it, once more when it is From or in oversign (so nobody can
 * add one unnoticed). Names are compared ASCII case-insensitively and
 * written as given.
 * @return 0 and *ret (arena-owned, NUL-terminated); -E2BIG past
 * BOUND_SIGNED_HEADERS names; -ENOMEM. */
int dkim_sig_build_h(struct arena *a, const struct msg *m,
    const char *const *names, size_t n, const char *const *oversign,
    size_t n_oversign, char **ret);

/* dkim_sig_select -- the fields of m that an h= value (the raw tag value)
 * covers, in h= order: each name takes the next instance from the bottom
 * of m (section 5.4.2); a name with none left contributes nothing, so
 * *ret_n may be smaller than the number of names.
 * @return 0, ret[0..*ret_n) (m's fields, borrowed); -EINVAL (an empty or
 * bad name); -E2BIG (more than max names). */
int dkim_sig_select(const struct msg *m, const char *h, size_t h_len,
    const struct msg_header **ret, size_t max, size_t *ret_n);

/* ---- the header hash (RFC 6376 section 3.7) ---- */

/* dkim_sig_hash_fields -- SHA-256 over fields[0..n) canonicalized with hc,
 * each with its CRLF, then the signature field sig canonicalized the same
 * way with the value of its b= tag and the whitespace around it up to the
 * next ';' deleted, without the final CRLF; into digest (DKIM_DIGEST_LEN
 * bytes). b_value/b_len locate the b= value inside sig->value (the tag
 * value as tags.h returns it; empty allowed: a field being made has an
 * empty b=, b_value dkim_sig_writer_b()).
 * @return 0; -ERANGE (a field too large for the canonicalization buffer:
 * message content); -ENOMEM; -EIO. */
int dkim_sig_hash_fields(enum canon_alg hc,
    const struct msg_header *const *fields, size_t n,
    const struct msg_header *sig, const char *b_value, size_t b_len,
    uint8_t *digest);

/* A running header hash: fields added one at a time, and a digest taken
 * at any point with a signature field last while the running state goes
 * on -- so signatures over growing lists of fields (ARC-Seals: each
 * covers the sets below it and its own) share the work. */
struct dkim_sig_hasher {
	enum canon_alg hc;
	void *md;     /* EVP_MD_CTX, owned */
	struct buf b; /* scratch */
	struct buf v;
};

/* dkim_sig_hasher_init -- an empty running hash canonicalizing with hc.
 * @return 0; -ENOMEM; -EIO. dkim_sig_hasher_free() it either way. */
int dkim_sig_hasher_init(struct dkim_sig_hasher *h, enum canon_alg hc);

/* dkim_sig_hasher_add -- add field f (canonicalized, with its CRLF).
 * @return 0; -ERANGE (too large to canonicalize); -ENOMEM; -EIO. */
int dkim_sig_hasher_add(struct dkim_sig_hasher *h, const struct msg_header *f);

/* dkim_sig_hasher_digest -- the digest of what was added followed by the
 * signature field sig as dkim_sig_hash_fields() hashes it (b= value
 * deleted, no final CRLF); h is unchanged.
 * @return 0; -ERANGE; -ENOMEM; -EIO. */
int dkim_sig_hasher_digest(struct dkim_sig_hasher *h,
    const struct msg_header *sig, const char *b_value, size_t b_len,
    uint8_t *digest);

/* dkim_sig_hasher_free -- release h's state. */
void dkim_sig_hasher_free(struct dkim_sig_hasher *h);

/* dkim_sig_hash_header -- dkim_sig_select(m, h) (up to
 * BOUND_SIGNED_HEADERS names), then dkim_sig_hash_fields(): the header
 * hash of a DKIM-Signature or an ARC-Message-Signature.
 * @return 0; the errors of both (-EINVAL, -E2BIG, -ERANGE, -ENOMEM,
 * -EIO). */
int dkim_sig_hash_header(const struct msg *m, enum canon_alg hc, const char *h,
    size_t h_len, const struct msg_header *sig, const char *b_value,
    size_t b_len, uint8_t *digest);

/* ---- body hashes, one stream per (canon, hash, l=) ---- */

struct dkim_sig_bodies; /* the streams of one message */
struct dkim_sig_body;   /* one stream */

/* dkim_sig_bodies_new -- an empty set in arena a (no free function).
 * @return 0 and *ret; -ENOMEM. */
int dkim_sig_bodies_new(struct arena *a, struct dkim_sig_bodies **ret);

/* dkim_sig_body_for -- the stream of s for (bc, hash, limit), made on
 * first use. limit: l= (bytes of canonical body hashed), or -1 for all.
 * Only before the first body byte (later is a bug: panic).
 * @return 0 and *ret (owned by the set); -ENOMEM; -EIO. */
int dkim_sig_body_for(struct dkim_sig_bodies *s, enum canon_alg bc,
    enum canon_hash hash, int64_t limit, struct dkim_sig_body **ret);

/* dkim_sig_bodies_update -- feed len more raw body bytes (any chunking,
 * LF or CRLF) to every stream. Feed each chunk once per set, however
 * many modules use it. @return 0 or -EIO. */
int dkim_sig_bodies_update(
    struct dkim_sig_bodies *s, const char *chunk, size_t len);

/* dkim_sig_bodies_final -- finish every stream (the body is complete).
 * Every user of a shared set may call it: only the first call works, the
 * later ones return its result. @return 0 or -EIO. */
int dkim_sig_bodies_final(struct dkim_sig_bodies *s);

/* dkim_sig_bodies_count -- how many streams s runs (for tests and
 * statistics). */
size_t dkim_sig_bodies_count(const struct dkim_sig_bodies *s);

/* dkim_sig_body_hash -- the digest of b (after dkim_sig_bodies_final;
 * before is a bug: panic), *ret_len bytes, owned by the set. */
const uint8_t *dkim_sig_body_hash(
    const struct dkim_sig_body *b, size_t *ret_len);

/* dkim_sig_body_length -- canonical body bytes seen by b, hashed or not
 * (complete after dkim_sig_bodies_final): an l= below it leaves content
 * unsigned, one above it is an error. */
uint64_t dkim_sig_body_length(const struct dkim_sig_body *b);

/* ---- writing and signing a field ---- */

/* A writer: appends to b, col is the column the next byte lands in (the
 * field name and its colon come first). Folded (the default): each tag
 * written as " tag=value;", folded with CRLF TAB before column 78, b=
 * last. Flat (dkim_sig_writer_flat()): no folding, "; " between tags
 * and none after the last, b= anywhere -- the form that makes a value
 * reproducible byte for byte when tags are written in a fixed order
 * (the ARC test suite's "standardized header format"). */
struct dkim_sig_writer {
	struct buf *b;    /* borrowed: the value being written */
	const char *name; /* borrowed: the field name */
	size_t col;
	bool flat;
	bool any;    /* a tag was written */
	size_t b_at; /* offset of the b= value in b, once written */
	bool has_b;
};

/* dkim_sig_writer_init -- write the value of field name (for example
 * "DKIM-Signature") into b, which receives everything after the colon,
 * folded. */
void dkim_sig_writer_init(
    struct dkim_sig_writer *w, struct buf *b, const char *name);

/* dkim_sig_writer_flat -- as dkim_sig_writer_init(), unfolded: " tag=value"
 * pieces joined by "; ". */
void dkim_sig_writer_flat(
    struct dkim_sig_writer *w, struct buf *b, const char *name);

/* dkim_sig_write_tag -- append " tag=value;" (tag with its '=', e.g.
 * "d="), after a CRLF TAB fold instead of the space when it would pass
 * column 78; flat: "; tag=value" (" tag=value" first). Errors are the
 * buf's sticky error. */
void dkim_sig_write_tag(
    struct dkim_sig_writer *w, const char *tag, const char *value);

/* dkim_sig_write_h -- append " h=name:name...;", folding after a ':' where
 * needed (RFC 6376 section 3.5 allows FWS there); flat as a tag. */
void dkim_sig_write_h(struct dkim_sig_writer *w, const char *h);

/* dkim_sig_write_b -- append an empty b=: folded, the last tag; flat, at
 * its place among the others. The value as written is then what the
 * header hash covers (dkim_sig_writer_field(), dkim_sig_writer_b()). */
void dkim_sig_write_b(struct dkim_sig_writer *w);

/* dkim_sig_writer_field -- the field as written so far (name borrowed
 * from the writer, value from the buf: valid until the next append), to
 * pass to dkim_sig_hash_header() or dkim_sig_hash_fields() with b_value
 * dkim_sig_writer_b() and b_len 0. */
void dkim_sig_writer_field(
    const struct dkim_sig_writer *w, struct msg_header *ret);

/* dkim_sig_writer_b -- where the empty b= value is in the value
 * dkim_sig_writer_field() gives (after dkim_sig_write_b(); before it is
 * a bug: panic). */
const char *dkim_sig_writer_b(const struct dkim_sig_writer *w);

/* dkim_sig_write_signature -- sign digest (DKIM_DIGEST_LEN bytes) with k
 * and put the base64 signature after "b=": folded, appended to fill each
 * line (FWS is allowed inside base64string); flat, unfolded at b='s
 * place.
 * @return 0; -EIO (OpenSSL failed); -ENOMEM; -ERANGE (the buf is full). */
int dkim_sig_write_signature(struct dkim_sig_writer *w,
    const struct dkim_privkey *k, const uint8_t *digest);

#endif
