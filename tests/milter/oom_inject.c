/*
 * oom_inject.c -- allocation failures on demand, for the reload_oom test.
 * Linked into a test build of authmilter (authmilter-oom, never
 * installed) with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,
 * --wrap=fopen64: every malloc, calloc, realloc and fopen our code and
 * libmilter make comes here first (the shared libraries' own do not;
 * fopen is fopen64 under _FILE_OFFSET_BITS=64).
 *
 * AUTHMILTER_OOM_CONF=PATH: each fopen() of PATH after the first (which
 * is the start) begins a reload, and arms a count in the thread that
 * opened it: its Nth allocation from there fails, once, with ENOMEM,
 * where N is the number of that reload (1 for the first, 2 for the
 * second...). When a reload comes and the previous one's count never
 * reached zero, that reload ran with no allocation failing: every
 * allocation of a reload has then been made to fail once, and nothing
 * is armed any more. Lines on stderr (the daemon's log under run -f)
 * tell the test what happened.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t nmemb, size_t size);
void *__real_realloc(void *ptr, size_t size);
FILE *__real_fopen64(const char *path, const char *mode);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t nmemb, size_t size);
void *__wrap_realloc(void *ptr, size_t size);
FILE *__wrap_fopen64(const char *path, const char *mode);

static _Thread_local long oom_countdown; /* 0: not armed */
static long oom_reloads;                 /* fopen()s of PATH after the first */
static int oom_done;

/* One line on stderr, without stdio's buffers (malloc). */
static void
oom_say(const char *what)
{
	char line[128];
	int len;

	len = snprintf(line, sizeof(line), "oom_inject: reload %ld: %s\n",
	    oom_reloads, what);
	if (len > 0 && write(2, line, (size_t)len) < 0)
		return;
}

/* Whether this allocation is the one to fail. */
static int
oom_now(void)
{
	if (oom_countdown <= 0 || --oom_countdown > 0)
		return 0;
	oom_say("this allocation fails");
	errno = ENOMEM;
	return 1;
}

void *
__wrap_malloc(size_t size)
{
	return oom_now() ? NULL : __real_malloc(size);
}

void *
__wrap_calloc(size_t nmemb, size_t size)
{
	return oom_now() ? NULL : __real_calloc(nmemb, size);
}

void *
__wrap_realloc(void *ptr, size_t size)
{
	return oom_now() ? NULL : __real_realloc(ptr, size);
}

FILE *
__wrap_fopen64(const char *path, const char *mode)
{
	static long opens;
	const char *conf = getenv("AUTHMILTER_OOM_CONF");

	if (!oom_done && conf != NULL && strcmp(path, conf) == 0 &&
	    opens++ > 0) {
		if (oom_reloads > 0 && oom_countdown > 0) {
			oom_say("the previous reload had fewer allocations: "
			        "done");
			oom_done = 1;
			oom_countdown = 0;
		} else {
			oom_reloads++;
			oom_countdown = oom_reloads;
		}
	}
	return __real_fopen64(path, mode);
}
