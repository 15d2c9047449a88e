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

/* Each returns memory the caller frees with free(); never NULL: on
 * failure the process exits (status 71), or, inside xalloc_try(), the
 * thread returns from it. */
void *xmalloc(size_t size);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *ptr, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

/* xalloc_try -- run fn(arg) so that an x* allocator failing inside it (in
 * this thread) makes xalloc_try return -ENOMEM instead of ending the
 * process: startup code run again later, as a SIGHUP reload runs the
 * configuration loader while mail flows, and must fail like any other
 * reload. fn is left where the allocation failed: what it had allocated
 * by then is not freed (the memory of one failed load), so fn must not
 * hold a lock or a descriptor across an x* call. Calls nest.
 * @return what fn returned, or -ENOMEM. */
int xalloc_try(int (*fn)(void *), void *arg);

/* panic -- report a bug (an impossible state) and abort. Never compiled
 * out. */
_Noreturn void panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#endif
