/*
 * xalloc.h -- startup allocation that exits on failure.
 *
 * Only for code that runs before mail flows (config, tables, keys, CLI
 * setup): there, out of memory is fatal and the message says so. Code on
 * the per-message path checks every allocation and returns -ENOMEM
 * instead, so the configured action applies.
 */
#ifndef AUTHMILTER_XALLOC_H
#define AUTHMILTER_XALLOC_H

#include <stddef.h>

/* Each returns memory the caller frees with free(); never NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* panic -- report a bug (an impossible state) and abort. Never compiled
 * out. */
_Noreturn void panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
