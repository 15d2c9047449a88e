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
 * Bounds (bounds.h). Fields are kept while the message stays within
 * BOUND_HEADER_COUNT fields, BOUND_HEADER_BYTES bytes and
 * BOUND_HEADER_FIELD_BYTES per field. Past them nothing fails: a limit
 * the message breaks is a fact about the message. From and
 * DKIM-Signature fields (what DMARC needs) are still kept, in a reserve
 * of BOUND_HEADER_RESERVE_BYTES; every other field is dropped and
 * counted, and the fields RFC 5322 section 3.6 allows at most once are
 * counted by name, so "how many Subject fields" stays true. A From that
 * cannot be kept makes the message one that cannot be evaluated
 * (msg.lost says why).
 *
 * Memory: all strings live in the arena given to msg_init() (borrowed;
 * it must outlive the msg). Not thread-safe.
 */
#ifndef AUTHMILTER_MSG_H
#define AUTHMILTER_MSG_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/arena.h"

struct msg_header {
	const char *name; /* arena-owned, NUL-terminated, as received */
	size_t name_len;
	const char *value; /* arena-owned, NUL-terminated, after ':' */
	size_t value_len;
};

/* RFC 5322 section 3.6, the table of section 3.6: the fields a message
 * carries at most once (From exactly once): from, sender, reply-to, to,
 * cc, bcc, message-id, in-reply-to, references, subject, orig-date
 * ("Date"), in this order. */
#define MSG_UNIQUE_FIELDS 11
extern const char *const msg_unique_fields[MSG_UNIQUE_FIELDS];

struct msg {
	struct arena *arena;        /* borrowed */
	struct msg_header *headers; /* arena-owned, in received order */
	size_t count;
	size_t cap;
	size_t bytes;         /* names + values kept within the
	                       * bounds */
	size_t reserve_bytes; /* kept past them (From, DKIM-
	                       * Signature) */
	size_t reserve_count;
	/* what the bounds cost; never an error */
	const char *limit; /* the first bound broken (static
	                    * text), or NULL */
	size_t dropped;    /* fields not kept */
	const char *lost;  /* a From field not kept (static
	                    * text): nothing can be evaluated */
	unsigned unique_dropped[MSG_UNIQUE_FIELDS]; /* per field of
	                                             * msg_unique_fields */
};

/* msg_init -- an empty message whose data lives in arena a. */
void msg_init(struct msg *m, struct arena *a);

/* msg_add_header -- append one field. name must be non-empty printable
 * ASCII without ':' (RFC 5322 section 2.2: ftext); value may contain any
 * bytes (NUL included: it is length-carried). Bare LF in value becomes
 * CRLF; the bounds hold for the stored length.
 * @return 0 (the field was kept, or dropped past the bounds: see the
 * header comment; m->limit, m->dropped and m->lost tell); -EINVAL for a
 * bad name (nothing is recorded); -ENOMEM. */
int msg_add_header(struct msg *m, const char *name, size_t name_len,
    const char *value, size_t value_len);

/* msg_parse -- split the header section of a whole message (LF or CRLF
 * line ends, mixed allowed) into fields. The header section ends at the
 * first empty line, or at the end of data (then the body is empty).
 * @return 0 and *ret_body_offset (first byte of the body); -EBADMSG with
 * *ret_why set (static string) when a line of the header section is
 * neither a field nor a continuation, or a field name is not valid;
 * -ENOMEM. */
int msg_parse(struct msg *m, const char *data, size_t len,
    size_t *ret_body_offset, const char **ret_why);

/* msg_header_is -- whether h's name equals name (ASCII case-insensitive) */
bool msg_header_is(
    const struct msg_header *h, const char *name, size_t name_len);

/* msg_find -- the next field named name at or after index *pos; on a hit
 * *pos is set past it, so a loop visits every instance in order.
 * @return the field (msg-owned) or NULL when there is none left. */
const struct msg_header *msg_find(
    const struct msg *m, const char *name, size_t *pos);

/* msg_count -- how many fields are named name. */
size_t msg_count(const struct msg *m, const char *name);

/* msg_unique_index -- the index of name (len bytes, ASCII
 * case-insensitive) in msg_unique_fields, or -1. */
int msg_unique_index(const char *name, size_t len);

/* msg_count_received -- how many fields named name the message carried:
 * those kept and, for the fields of msg_unique_fields, those dropped
 * past the bounds. */
size_t msg_count_received(const struct msg *m, const char *name);

#endif
