/*
 * span.h -- tests on counted strings (a pointer and a length, not
 * NUL-terminated), the form in which tag values, tag names and header
 * names reach the parsers: ASCII case-insensitive equality with a word,
 * the colon-separated lists of RFC 6376 tag values, and "is this domain
 * that one or below it".
 *
 * Memory: nothing is allocated or kept; results point into the input.
 * Thread-safe.
 */
#ifndef AUTHMILTER_SPAN_H
#define AUTHMILTER_SPAN_H

#include <stdbool.h>
#include <stddef.h>

/* span_eq -- whether s (n bytes) equals the C string word, ASCII case
 * ignored. */
bool span_eq(const char *s, size_t n, const char *word);

/* span_list_next -- the next element of the ':'-separated list v (n
 * bytes), with FWS (SP, HTAB, CR, LF) around each element dropped, as RFC
 * 6376 section 3.2 allows in tag values ("h=from : to", section 3.6.1
 * "s=email:*"). Start with *pos = 0; each call moves *pos past one
 * element. Elements may be empty: "" is one empty element, "a::b" has
 * three.
 * @return true and the element (*ret borrowed from v, *ret_len bytes),
 * or false when none is left. */
bool span_list_next(
    const char *v, size_t n, size_t *pos, const char **ret, size_t *ret_len);

/* span_list_has -- whether an element of the ':'-separated list v (n
 * bytes) equals word (span_eq). */
bool span_list_has(const char *v, size_t n, const char *word);

/* span_in_domain -- whether the domain name (n bytes) is domain itself or
 * a subdomain of it (ends with "." domain), ASCII case ignored. Names are
 * compared as written: no final dot is dropped. */
bool span_in_domain(const char *name, size_t n, const char *domain);

#endif
