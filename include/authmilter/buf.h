/*
 * buf.h -- bounded, length-carrying byte buffers for writers.
 *
 * A buf grows on demand up to a hard cap given at creation. Any append
 * that would pass the cap, or that fails to allocate, sets a sticky error
 * and is dropped; callers append freely and check buf_error() once at the
 * end. The contents are always NUL-terminated (the NUL is not counted in
 * len), so buf_cstr() is safe to hand to printf-style code.
 *
 * Memory: the buf owns its data (heap); buf_free() releases it. Not
 * thread-safe: one buf belongs to one thread at a time.
 */
#ifndef AUTHMILTER_BUF_H
#define AUTHMILTER_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;  /* owned; NULL until the first append */
	size_t len;  /* bytes used, not counting the NUL */
	size_t size; /* bytes allocated */
	size_t max;  /* hard cap on len */
	int error;   /* 0, or the first -errno (-ERANGE past max, -ENOMEM) */
};

/* buf_init -- make an empty buffer that may hold at most max bytes. */
void buf_init(struct buf *b, size_t max);
/* buf_free -- release the data; the buf may be initialised again. NULL is
 * a no-op. */
void buf_free(struct buf *b);
/* buf_reset -- empty the buffer and clear the error, keeping the memory. */
void buf_reset(struct buf *b);

/* Appends. On overflow or allocation failure they set b->error (sticky) and
 * leave the contents as they were. */
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addc(struct buf *b, char c);
void buf_adds(struct buf *b, const char *s);
void buf_addf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* buf_truncate -- drop bytes past len (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);

/* buf_cstr -- the contents as a C string (never NULL: "" when empty). */
const char *buf_cstr(const struct buf *b);

/* buf_error -- 0, or the first error any operation met (-ERANGE/-ENOMEM) */
static inline int
buf_error(const struct buf *b)
{
	return b->error;
}

/* buf_steal -- hand the data to the caller (who frees it with free()) and
 * leave the buf empty. Returns NULL if the buf is in error. */
char *buf_steal(struct buf *b, size_t *ret_len);

#endif
