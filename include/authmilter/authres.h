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
 * milter can remove forged ones (RFC 8601 section 5).
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
void authres_method(struct buf *b, const char *method, enum auth_result r,
    const char *comment);
/* authres_prop -- add " ptype.property=value" to the current resinfo;
 * value is written as a quoted-string when it is not a plain token or
 * domain. */
void authres_prop(struct buf *b, const char *ptype, const char *property,
    const char *value);
/* authres_none -- the whole result is "; none" (RFC 8601 section 2.2:
 * nothing was evaluated). */
void authres_none(struct buf *b);

/* authres_is_ours -- whether the A-R header value (as received, after the
 * colon) names authserv_id (ASCII case-insensitive; comments and CFWS
 * around it skipped; an optional version after it). */
bool authres_is_ours(const char *value, size_t len, const char *authserv_id);

#endif
