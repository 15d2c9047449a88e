/*
 * msg.h -- the message model: the header fields of one message, in order,
 * byte-exact as received.
 *
 * Each field keeps its raw name and its raw value (everything after the
 * colon: leading whitespace, folds, 8-bit bytes), because DKIM's "simple"
 * header canonicalization (RFC 6376 section 3.4.1) signs them unchanged.
 * The one change made on the way in: a bare LF inside a value (how MTAs
 * hand folded headers to milters) becomes CRLF, the wire form.
 *
 * The body is not stored: callers stream it into canon.h. msg_parse()
 * splits a whole message held in memory (CLI, tests) and says where the
 * body starts.
 *
 * Memory: all strings live in the arena given to msg_init() (borrowed;
 * it must outlive the msg). Counts are bounded by BOUND_HEADER_COUNT and
 * BOUND_HEADER_BYTES. Not thread-safe.
 */
#ifndef AUTHMILTER_MSG_H
#define AUTHMILTER_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/arena.h"

struct msg_header {
	const char *name;	/* arena-owned, NUL-terminated, as received */
	size_t name_len;
	const char *value;	/* arena-owned, NUL-terminated, after ':' */
	size_t value_len;
};

struct msg {
	struct arena *arena;		/* borrowed */
	struct msg_header *headers;	/* arena-owned, in received order */
	size_t count;
	size_t cap;
	size_t bytes;			/* names + values, for the bound */
};

/* msg_init -- an empty message whose data lives in arena a. */
void msg_init(struct msg *m, struct arena *a);

/* msg_add_header -- append one field. name must be non-empty printable
 * ASCII without ':' (RFC 5322 section 2.2: ftext); value may contain any
 * bytes (NUL included: it is length-carried). Bare LF in value becomes
 * CRLF.
 * @return 0; -EINVAL for a bad name; -E2BIG past BOUND_HEADER_COUNT or
 * BOUND_HEADER_BYTES or BOUND_HEADER_FIELD_BYTES; -ENOMEM. */
int msg_add_header(struct msg *m, const char *name, size_t name_len,
    const char *value, size_t value_len);

/* msg_parse -- split the header section of a whole message (LF or CRLF
 * line ends, mixed allowed) into fields. The header section ends at the
 * first empty line, or at the end of data (then the body is empty).
 * @return 0 and *ret_body_offset (first byte of the body); -EBADMSG with
 * *ret_why set (static string) when a line of the header section is
 * neither a field nor a continuation; the errors of msg_add_header(). */
int msg_parse(struct msg *m, const char *data, size_t len,
    size_t *ret_body_offset, const char **ret_why);

/* msg_header_is -- whether h's name equals name (ASCII case-insensitive) */
bool msg_header_is(const struct msg_header *h, const char *name,
    size_t name_len);

/* msg_find -- the next field named name at or after index *pos; on a hit
 * *pos is set past it, so a loop visits every instance in order.
 * @return the field (msg-owned) or NULL when there is none left. */
const struct msg_header *msg_find(const struct msg *m, const char *name,
    size_t *pos);

/* msg_count -- how many fields are named name. */
size_t msg_count(const struct msg *m, const char *name);

#endif
