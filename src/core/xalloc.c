/*
 * xalloc.c -- allocation for startup code: exit with a message on failure,
 * or, inside xalloc_try(), return to it.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authmilter/xalloc.h"

/* The innermost xalloc_try() of this thread, or NULL. */
struct xalloc_frame {
	jmp_buf env;
	struct xalloc_frame *up;
};
static _Thread_local struct xalloc_frame *xalloc_top;

static _Noreturn void
xalloc_die(size_t size)
{
	if (xalloc_top != NULL)
		longjmp(xalloc_top->env, 1);
	fprintf(
	    stderr, "authmilter: out of memory allocating %zu bytes\n", size);
	exit(71); /* EX_OSERR */
}

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		xalloc_die(size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		xalloc_die(nmemb * size);
	return p;
}

void *
xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (p == NULL)
		xalloc_die(size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
xalloc_try(int (*fn)(void *), void *arg)
{
	struct xalloc_frame f;
	int r;

	f.up = xalloc_top;
	if (setjmp(f.env) != 0) {
		xalloc_top = f.up;
		return -ENOMEM;
	}
	xalloc_top = &f;
	r = fn(arg);
	xalloc_top = f.up;
	return r;
}

void
panic(const char *fmt, ...)
{
	va_list ap;

	fputs("authmilter: internal error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
