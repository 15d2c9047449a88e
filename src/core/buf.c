/*
 * buf.c -- bounded, length-carrying byte buffers with a sticky error.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->size = 0;
	b->max = max;
	b->error = 0;
}

void
buf_free(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	buf_init(b, b->max);
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	b->error = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/* Make room for n more bytes plus the NUL; 0 or a -errno set as error. */
static int
buf_reserve(struct buf *b, size_t n)
{
	size_t need, size;
	char *p;

	if (b->error != 0)
		return b->error;
	if (n > b->max || b->len > b->max - n) {
		b->error = -ERANGE;
		return b->error;
	}
	need = b->len + n + 1;
	if (need <= b->size)
		return 0;
	size = b->size ? b->size : 64;
	while (size < need)
		size *= 2;
	p = realloc(b->data, size);
	if (p == NULL) {
		b->error = -ENOMEM;
		return b->error;
	}
	b->data = p;
	b->size = size;
	return 0;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) != 0)
		return;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_addc(struct buf *b, char c)
{
	buf_add(b, &c, 1);
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->error != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->error = -EINVAL;
		return;
	}
	if (buf_reserve(b, (size_t)n) != 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len >= b->len)
		return;
	b->len = len;
	b->data[len] = '\0';
}

const char *
buf_cstr(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}

char *
buf_steal(struct buf *b, size_t *ret_len)
{
	char *p;

	if (b->error != 0)
		return NULL;
	if (b->data == NULL && buf_reserve(b, 0) != 0)
		return NULL;
	if (b->len == 0)
		b->data[0] = '\0';
	p = b->data;
	if (ret_len != NULL)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->size = 0;
	return p;
}
