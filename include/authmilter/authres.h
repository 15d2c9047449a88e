/*
 * authres.h -- authentication outcomes and the Authentication-Results
 * header (RFC 8601).
 *
 * enum auth_result is the one outcome type of DKIM, SPF and DMARC: the
 * RFC 8601 result words. An outcome is a value, not an error: a DKIM
 * signature that fails to verify is a successful evaluation with result
 * AUTH_FAIL and a reason.
 *
 * The writer builds the header value into a struct buf, one resinfo at a
 * time, folding between resinfos. The reader recognises existing
 * Authentication-Results headers that carry a given authserv-id so the
 * milter can remove forged ones (RFC 8601 section 5), and walks the
 * resinfos of a value (RFC 8601 section 2.2: separated by ';' outside
 * comments and quoted strings) to read a method, its result and a
 * property -- what ARC needs of the ARC-Authentication-Results it seals
 * or trusts (RFC 8617 section 4.1.1).
 *
 * Thread rules: none (pure functions over caller buffers).
 */
#ifndef AUTHMILTER_AUTHRES_H
#define AUTHMILTER_AUTHRES_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/buf.h"

enum auth_result {
	AUTH_NONE = 0,
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,
	AUTH_NEUTRAL,
	AUTH_POLICY,
	AUTH_TEMPERROR,
	AUTH_PERMERROR,
};

/* auth_result_name -- the RFC 8601 word ("pass", "temperror"...). */
const char *auth_result_name(enum auth_result r);

/* authres_begin -- start a header value: " authserv-id" (with a leading
 * space: the value follows "Authentication-Results:"). */
void authres_begin(struct buf *b, const char *authserv_id);
/* authres_method -- add ";\r\n\tmethod=result" (folded: each resinfo on
 * its own line; the milter turns CRLF into the MTA's LF), and " (comment)" when
 * comment is non-NULL and non-empty (comment text is sanitised: parentheses
 * and backslashes escaped, control bytes dropped). */
void authres_method(
    struct buf *b, const char *method, enum auth_result r, const char *comment);
/* authres_prop -- add " ptype.property=value" to the current resinfo;
 * value is written as a quoted-string when it is not a plain token or
 * domain. */
void authres_prop(
    struct buf *b, const char *ptype, const char *property, const char *value);
/* authres_none -- the whole result is "; none" (RFC 8601 section 2.2:
 * nothing was evaluated). */
void authres_none(struct buf *b);

/* authres_is_ours -- whether the A-R header value (as received, after the
 * colon) names authserv_id (ASCII case-insensitive; comments and CFWS
 * around it skipped; an optional version after it). */
bool authres_is_ours(const char *value, size_t len, const char *authserv_id);

/* ---- reading ---- */

/* A piece of a value (borrowed, not NUL-terminated). */
struct authres_span {
	const char *s;
	size_t len;
};

/* authres_skip_cfws -- the index of the first byte at or after i that is
 * not whitespace or inside a comment (RFC 5322 section 3.2.2, nested
 * comments and quoted-pairs included); len when there is none. */
size_t authres_skip_cfws(const char *v, size_t len, size_t i);

/* authres_next_resinfo -- the resinfos of the value v (after the colon),
 * one per call: *pos starts at 0, and the first call skips the
 * authserv-id and its version. A resinfo is the text up to the next ';'
 * outside comments and quoted strings, without the whitespace around it;
 * empty ones and the "none" of a value with no results are skipped.
 * @return true with *ret; false when there are no more. */
bool authres_next_resinfo(
    const char *v, size_t len, size_t *pos, struct authres_span *ret);

/* authres_resinfo_method -- the method (without a "/version") and the
 * result word of a resinfo (RFC 8601 section 2.2: method "=" result,
 * CFWS allowed around each part).
 * @return true with *ret_method and *ret_result; false when it is not
 * method=result. */
bool authres_resinfo_method(const char *r, size_t len,
    struct authres_span *ret_method, struct authres_span *ret_result);

/* authres_resinfo_prop -- the value of the property ptype.property
 * (ASCII case-insensitive) of a resinfo, the quotes of a quoted-string
 * removed (quoted-pairs are left as they are).
 * @return true with *ret; false when the resinfo has no such property. */
bool authres_resinfo_prop(const char *r, size_t len, const char *ptype,
    const char *property, struct authres_span *ret);

#endif
