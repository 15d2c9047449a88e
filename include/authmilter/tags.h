/*
 * tags.h -- tag=value lists (RFC 6376 section 3.2), the syntax shared by
 * DKIM-Signature header fields, DKIM key records and DMARC records.
 *
 *   tag-list  =  tag-spec *( ";" tag-spec ) [ ";" ]
 *   tag-spec  =  [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
 *   tag-name  =  ALPHA *ALNUMPUNC            (ALNUMPUNC: ALPHA DIGIT "_")
 *   tag-value =  [ tval *( 1*(WSP / FWS) tval ) ]
 *   tval      =  1*VALCHAR   (VALCHAR: %x21-3A / %x3C-7E)
 *
 * Whitespace around names and values is dropped; whitespace inside a value
 * is kept as received (callers that need base64 strip it themselves). A
 * duplicate tag name is an error (RFC 6376 section 3.2: "Tags with
 * duplicate names MUST NOT occur"); unknown tags are kept, and ignoring
 * them is the caller's choice (it is what the RFCs ask).
 *
 * Memory: the list borrows the parsed string: names and values point into
 * it and are not NUL-terminated. No allocation; thread-safe.
 */
#ifndef AUTHMILTER_TAGS_H
#define AUTHMILTER_TAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/bounds.h"

struct tag {
	const char *name; /* borrowed, not NUL-terminated */
	size_t name_len;
	const char *value; /* borrowed, trimmed, not NUL-terminated */
	size_t value_len;
};

struct tag_list {
	struct tag tags[BOUND_TAGS];
	size_t count;
};

/* tags_parse -- split s (len bytes) into *ret.
 * @return 0; or -EINVAL with *ret_why (static text: "duplicate tag",
 * "tag without '='", "invalid tag name", "invalid character in tag value",
 * "empty tag-spec") and *ret_where (byte offset of the problem); -E2BIG
 * past BOUND_TAGS (why "too many tags", where: the first tag too many).
 * An empty or all-whitespace s gives 0 tags. *ret is set only on success;
 * on error ret_why and ret_where are set. */
int tags_parse(const char *s, size_t len, struct tag_list *ret,
    const char **ret_why, size_t *ret_where);

/* tags_find -- the tag named name (case-sensitive, as RFC 6376 says), or
 * NULL. */
const struct tag *tags_find(const struct tag_list *l, const char *name);

/* tags_value_is -- whether t's value equals s (case-insensitive). */
bool tags_value_is(const struct tag *t, const char *s);

#endif
