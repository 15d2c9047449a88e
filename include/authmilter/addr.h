/*
 * addr.h -- mail addresses: every address of a From header field (RFC 5322
 * section 3.4, with the obsolete forms of section 4.4, groups as RFC 6854
 * allows them in From, UTF-8 as RFC 6532 allows it) and the SMTP
 * reverse-path a milter is given for MAIL FROM (RFC 5321 section 4.1.2).
 *
 * This is the trust boundary DMARC's From checks stand on: the parser
 * returns every address the field holds, in order, or an error. It never
 * picks one address out of several, and it never reads an address out of
 * a display name (encoded words are decoded after the field's structure
 * is known, into the display name only). Callers treat any error as a
 * failure of the message (DMARC: never a pass). An encoded word inside an
 * addr-spec is an error (RFC 2047 section 5).
 *
 * What a reader is shown is a second question, answered by
 * addr_shown_domains(): mail clients differ from the grammar (they decode
 * encoded words where RFC 2047 forbids them, show display names and
 * comments that hold addresses, show the first address of several), so
 * every domain that any of them could show as the sender counts: each
 * "@domain" in the field as written and as a reader renders it
 * (the Composition Kills classes, USENIX Security 2020; CVE-2019-16378).
 *
 * Display names: RFC 2047 encoded words (B and Q) are decoded into bytes;
 * the charset is not converted. Domains: ASCII letters are lower-cased,
 * UTF-8 is kept as it is; labels hold letters, digits, '-', '_' or UTF-8,
 * no label is empty, a trailing dot is removed, at most 253 bytes.
 *
 * Memory: every returned pointer is arena-owned (the arena given by the
 * caller) and NUL-terminated; lengths are authoritative (a decoded display
 * name may hold any byte, NUL included). The input is borrowed and may be
 * freed after the call. Thread rules: none (pure functions; one arena per
 * thread).
 */
#ifndef AUTHMILTER_ADDR_H
#define AUTHMILTER_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/arena.h"

struct addr {
	const char *local; /* local-part: quotes removed, quoted-pairs
	                    * resolved, CFWS dropped */
	size_t local_len;
	const char *domain; /* ASCII lower-cased, no trailing dot; a
	                     * domain-literal keeps its brackets */
	size_t domain_len;
	const char *display; /* decoded display name, "" when none */
	size_t display_len;
	const char *spec; /* the addr-spec as written (local-part to
	                   * the end of the domain, CFWS inside kept) */
	size_t spec_len;
	bool local_quoted;   /* the local-part held a quoted-string */
	bool domain_literal; /* domain is "[...]" (RFC 5322 §3.4.1) */
};

struct addr_list {
	struct addr *addrs; /* arena-owned, in field order */
	size_t count;       /* 1..BOUND_FROM_ADDRESSES */
};

struct addr_path {
	bool null_sender;    /* "<>": mailbox is all empty */
	struct addr mailbox; /* display is always "" */
};

/* Why a parse failed: a static string and the byte offset in the value
 * where the problem was found. */
struct addr_error {
	const char *why;
	size_t offset;
};

/* addr_parse_from -- every address of a From field value.
 * @value: the bytes after the colon, as received (folds, 8-bit, NUL
 * allowed: they are length-carried); borrowed.
 * @a: the arena for the results.
 * @ret_list: on success, the addresses (group members included; group
 * names are not addresses).
 * @err: on -EBADMSG, the reason and offset (may be NULL).
 * @return 0; -EBADMSG when the value is not an address list or holds no
 * address or more than BOUND_FROM_ADDRESSES; -ENOMEM. */
int addr_parse_from(struct arena *a, const char *value, size_t len,
    struct addr_list *ret_list, struct addr_error *err);

/* addr_visit_fn -- one address of a field; a (and its strings) stays
 * valid until the arena is reset, a itself only during the call.
 * @return 0 to go on; a negative errno stops the parse and is returned. */
typedef int addr_visit_fn(void *ctx, const struct addr *a);

/* addr_parse_from_each -- as addr_parse_from, with no limit on the number
 * of addresses: fn sees each one as it is parsed (so the leading
 * addresses of a field that turns out not to parse have been seen).
 * @return 0; -EBADMSG (with err) when the value is not an address list or
 * holds no address; -ENOMEM; fn's error. */
int addr_parse_from_each(struct arena *a, const char *value, size_t len,
    addr_visit_fn *fn, void *ctx, struct addr_error *err);

/* addr_domain_fn -- one domain a reader may be shown: domain[0..len) is
 * NUL-terminated, as written (case, UTF-8 and look-alike characters
 * kept: the caller maps it, e.g. through IDNA), valid during the call.
 * @return 0 to go on; a negative errno stops the scan and is returned. */
typedef int addr_domain_fn(void *ctx, const char *domain, size_t len);

/* addr_shown_domains -- every domain a mail reader could show as part of
 * a sender address in a From field value, whether the value parses or
 * not: the run of domain characters (letters, digits, '-', '_', '.',
 * non-ASCII) after each "@" (or U+FF20, U+FE6B) and optional whitespace,
 * in the value as written and in the value as a reader renders it
 * (encoded words decoded wherever they stand, their charset converted to
 * UTF-8 with iconv, quoted-pair backslashes dropped). An empty label
 * ("..") ends a name: the parts on either side are given on their own.
 * A name must hold a dot or a non-ASCII byte; a run with non-ASCII bytes
 * is also given cut before the first of them ("bank.example" in
 * "bank.example’s"). Display names, group names, comments and
 * quoted local parts are all covered; the same domain may come several
 * times.
 * @return 0; -ENOMEM; fn's error. */
int addr_shown_domains(struct arena *a, const char *value, size_t len,
    addr_domain_fn *fn, void *ctx);

/* addr_parse_path -- the reverse-path of MAIL FROM as a milter gets it:
 * "<local@domain>", "<>" (null sender), the same without brackets, a
 * source route "<@a,@b:local@domain>" (the route is dropped); ESMTP
 * parameters already removed. Surrounding spaces are ignored; no comments
 * or folds (RFC 5321 has none).
 * @ret_path: on success, the mailbox or the null-sender flag.
 * @err: on -EBADMSG, the reason and offset (may be NULL).
 * @return 0; -EBADMSG; -ENOMEM. */
int addr_parse_path(struct arena *a, const char *value, size_t len,
    struct addr_path *ret_path, struct addr_error *err);

#endif
