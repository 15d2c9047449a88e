/*
 * check.h -- the unit-test harness: checks that count failures and name
 * the file and line, never abort, and a summary for main() to return.
 * A fixture the program cannot read ends it as a failed test that names
 * the file (check_fixture), before anything is tested without it.
 *
 *	int main(void) { test_x(); test_y(); return check_summary("buf"); }
 */
#ifndef AUTHMILTER_CHECK_H
#define AUTHMILTER_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                            \
	do {                                                                   \
		check_count++;                                                 \
		if (!(cond)) {                                                 \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
			    __LINE__, #cond);                                  \
		}                                                              \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                     \
	do {                                                                   \
		long long check_a_ = (long long)(a);                           \
		long long check_b_ = (long long)(b);                           \
		check_count++;                                                 \
		if (check_a_ != check_b_) {                                    \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n",      \
			    __FILE__, __LINE__, #a, check_a_, check_b_);       \
		}                                                              \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                     \
	do {                                                                   \
		const char *check_a_ = (a);                                    \
		const char *check_b_ = (b);                                    \
		check_count++;                                                 \
		if (check_a_ == NULL || check_b_ == NULL ||                    \
		    strcmp(check_a_, check_b_) != 0) {                         \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n",  \
			    __FILE__, __LINE__, #a,                            \
			    check_a_ ? check_a_ : "(null)",                    \
			    check_b_ ? check_b_ : "(null)");                   \
		}                                                              \
	} while (0)

#define CHECK_MEM_EQ(a, alen, b, blen)                                         \
	do {                                                                   \
		size_t check_al_ = (alen), check_bl_ = (blen);                 \
		check_count++;                                                 \
		if (check_al_ != check_bl_ ||                                  \
		    memcmp((a), (b), check_al_) != 0) {                        \
			check_failures++;                                      \
			fprintf(stderr,                                        \
			    "%s:%d: %s (%zu bytes) differs "                   \
			    "from %s (%zu bytes)\n",                           \
			    __FILE__, __LINE__, #a, check_al_, #b, check_bl_); \
		}                                                              \
	} while (0)

/* check_fixture -- path is an input the tests need: when it cannot be
 * read, say which and why, and exit 1 (a failed test) instead of testing
 * on without it. */
static inline void
check_fixture(const char *path)
{
	if (access(path, R_OK) != 0) {
		fprintf(stderr,
		    "FAIL: fixture %s: %s (the tests cannot run "
		    "without it)\n",
		    path, strerror(errno));
		exit(1);
	}
}

static inline int
check_summary(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
	return check_failures == 0 ? 0 : 1;
}

#endif
