/*
 * failure_rate.c -- the failure-report rate limit and its state file.
 * See failure_rate.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "authmilter/bounds.h"
#include "authmilter/config_rotate.h"
#include "authmilter/failure_rate.h"

#define HEADER "authmilter-failure-rate 1"
/* a line: key, two numbers of at most 20 digits, blanks */
#define LINE_MAX_BYTES (FAILURE_RATE_KEY_MAX + 48)

struct entry {
	char *key;
	int64_t start;
	unsigned count;
};

struct failure_rate {
	struct entry *v;
	size_t n, cap;
};

int
failure_rate_limit_parse(const char *s, struct failure_rate_limit *ret)
{
	unsigned long count, period;
	unsigned secs;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	count = strtoul(s, &end, 10);
	if (errno != 0 || *end != '/' || count < 1 || count > 1000000 ||
	    end[1] < '0' || end[1] > '9')
		return -EINVAL;
	s = end + 1;
	/* seconds, or a duration with its unit as Rotate* options take it */
	if (s[strspn(s, "0123456789")] == '\0') {
		period = strtoul(s, &end, 10);
		if (errno != 0 || period > UINT_MAX)
			return -EINVAL;
		secs = (unsigned)period;
	} else if (config_rotate_duration(s, &secs) != NULL)
		return -EINVAL;
	if (secs < 1 || secs > 366 * 86400)
		return -EINVAL;
	ret->count = (unsigned)count;
	ret->seconds = secs;
	return 0;
}

struct failure_rate *
failure_rate_new(void)
{
	return calloc(1, sizeof(struct failure_rate));
}

struct failure_rate *
failure_rate_free(struct failure_rate *t)
{
	size_t i;

	if (t == NULL)
		return NULL;
	for (i = 0; i < t->n; i++)
		free(t->v[i].key);
	free(t->v);
	free(t);
	return NULL;
}

size_t
failure_rate_entries(const struct failure_rate *t)
{
	return t->n;
}

static bool
key_ok(const char *k, size_t n)
{
	size_t i;

	if (n == 0 || n > FAILURE_RATE_KEY_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)k[i] <= 0x20 || (unsigned char)k[i] > 0x7e)
			return false;
	return true;
}

static struct entry *
find(const struct failure_rate *t, const char *key)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].key, key) == 0)
			return &t->v[i];
	return NULL;
}

/* add -- a new entry (key n bytes). @return it, or NULL (errno set) */
static struct entry *
add(struct failure_rate *t, const char *key, size_t n)
{
	struct entry *v;

	if (t->n == BOUND_FAILURE_RATE_KEYS) {
		errno = E2BIG;
		return NULL;
	}
	if (t->n == t->cap) {
		v = realloc(t->v, (t->cap ? 2 * t->cap : 16) * sizeof(*v));
		if (v == NULL)
			return NULL;
		t->v = v;
		t->cap = t->cap ? 2 * t->cap : 16;
	}
	if ((t->v[t->n].key = strndup(key, n)) == NULL)
		return NULL;
	t->v[t->n].start = 0;
	t->v[t->n].count = 0;
	return &t->v[t->n++];
}

/* parse_line -- "KEY START COUNT" (s, n bytes). @return NULL or why */
static const char *
parse_line(struct failure_rate *t, const char *s, size_t n, int *err)
{
	char line[LINE_MAX_BYTES + 1], *sp1, *sp2, *end;
	long long start;
	unsigned long count;
	struct entry *e;

	if (n > LINE_MAX_BYTES)
		return "line too long";
	memcpy(line, s, n);
	line[n] = '\0';
	if (memchr(s, '\0', n) != NULL || (sp1 = strchr(line, ' ')) == NULL ||
	    (sp2 = strchr(sp1 + 1, ' ')) == NULL)
		return "not \"KEY START COUNT\"";
	if (!key_ok(line, (size_t)(sp1 - line)))
		return "key empty, too long or not printable";
	*sp1 = '\0';
	errno = 0;
	if (sp1[1] < '0' || sp1[1] > '9')
		return "start is not a number";
	start = strtoll(sp1 + 1, &end, 10);
	if (errno != 0 || end != sp2 || start < 0)
		return "start is not a number";
	if (sp2[1] < '0' || sp2[1] > '9')
		return "count is not a number";
	count = strtoul(sp2 + 1, &end, 10);
	if (errno != 0 || *end != '\0' || count > 1000000)
		return "count is not a number";
	if (find(t, line) != NULL)
		return "key given twice";
	if ((e = add(t, line, strlen(line))) == NULL) {
		if (errno == E2BIG)
			return "more keys than BOUND_FAILURE_RATE_KEYS";
		*err = -ENOMEM;
		return "out of memory";
	}
	e->start = start;
	e->count = (unsigned)count;
	return NULL;
}

int
failure_rate_parse(struct failure_rate *t, const char *text, size_t len,
    unsigned long *ret_bad, const char **ret_why)
{
	const char *p = text, *end = text + len, *nl, *why;
	size_t n;
	int err = 0;

	*ret_bad = 0;
	*ret_why = NULL;
	nl = memchr(p, '\n', len);
	n = nl != NULL ? (size_t)(nl - p) : len;
	if (n != strlen(HEADER) || memcmp(p, HEADER, n) != 0) {
		*ret_why = "not an authmilter-failure-rate 1 file";
		return -EINVAL;
	}
	for (p = nl != NULL ? nl + 1 : end; p < end && err == 0; p += n + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (nl == NULL)
			why = "last line without a newline";
		else
			why = parse_line(t, p, n, &err);
		if (why != NULL && err == 0) {
			if (*ret_bad == 0)
				*ret_why = why;
			(*ret_bad)++;
		}
	}
	return err;
}

int
failure_rate_format(
    const struct failure_rate *t, int64_t now, int64_t keep, struct buf *out)
{
	size_t i;

	buf_adds(out, HEADER "\n");
	for (i = 0; i < t->n; i++)
		if (t->v[i].start >= now - keep)
			buf_addf(out, "%s %lld %u\n", t->v[i].key,
			    (long long)t->v[i].start, t->v[i].count);
	return buf_error(out);
}

bool
failure_rate_allows(const struct failure_rate *t, const char *key,
    const struct failure_rate_limit *l, int64_t now)
{
	const struct entry *e = find(t, key);

	/* a window that ended, or one in the future (the clock went back),
	 * starts afresh */
	if (e == NULL || now >= e->start + l->seconds || now < e->start)
		return true;
	return e->count < l->count;
}

int
failure_rate_take(struct failure_rate *t, const char *key,
    const struct failure_rate_limit *l, int64_t now)
{
	struct entry *e;

	if (!key_ok(key, strlen(key)))
		return -EINVAL;
	if ((e = find(t, key)) == NULL &&
	    (e = add(t, key, strlen(key))) == NULL)
		return errno == E2BIG ? -E2BIG : -ENOMEM;
	if (e->count == 0 || now >= e->start + l->seconds || now < e->start) {
		e->start = now;
		e->count = 0;
	}
	e->count++;
	return 0;
}

/* ---- the file ---- */

static char *
suffixed(const char *path, const char *suffix)
{
	size_t n = strlen(path) + strlen(suffix) + 1;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s%s", path, suffix);
	return p;
}

int
failure_rate_lock(const char *path)
{
	char *lock = suffixed(path, ".lock");
	int fd;

	if (lock == NULL)
		return -ENOMEM;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	free(lock);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int err = -errno;

			close(fd);
			return err;
		}
	return fd;
}

int
failure_rate_load(struct failure_rate *t, const char *path,
    unsigned long *ret_bad, const char **ret_why)
{
	size_t max = (size_t)BOUND_FAILURE_RATE_KEYS * LINE_MAX_BYTES, len = 0;
	struct stat st;
	char *data;
	ssize_t n;
	int fd, err;

	*ret_bad = 0;
	*ret_why = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > max) {
		err = !S_ISREG(st.st_mode) ? -EINVAL : -E2BIG;
		close(fd);
		*ret_why = "not a regular file of a sane size";
		return err;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (len < (size_t)st.st_size &&
	       ((n = read(fd, data + len, (size_t)st.st_size - len)) > 0 ||
	           (n < 0 && errno == EINTR)))
		if (n > 0)
			len += (size_t)n;
	close(fd);
	err = failure_rate_parse(t, data, len, ret_bad, ret_why);
	free(data);
	return err;
}

int
failure_rate_save(
    const struct failure_rate *t, const char *path, int64_t now, int64_t keep)
{
	char *tmp = suffixed(path, ".tmp");
	struct buf b;
	size_t done = 0;
	ssize_t n;
	int fd = -1, err;

	buf_init(&b, (size_t)BOUND_FAILURE_RATE_KEYS * LINE_MAX_BYTES);
	if (tmp == NULL || (err = failure_rate_format(t, now, keep, &b)) != 0)
		goto out;
	unlink(tmp); /* a leftover of a run that died */
	if ((fd = open(tmp,
	         O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640)) <
	    0) {
		err = -errno;
		goto out;
	}
	while (done < b.len)
		if ((n = write(fd, b.data + done, b.len - done)) > 0)
			done += (size_t)n;
		else if (n < 0 && errno != EINTR)
			break;
	err = done < b.len ? -errno : 0;
	if (err == 0 && fsync(fd) != 0)
		err = -errno;
	if (close(fd) != 0 && err == 0)
		err = -errno;
	if (err == 0 && rename(tmp, path) != 0)
		err = -errno;
	if (err != 0)
		unlink(tmp);
out:
	buf_free(&b);
	free(tmp);
	return tmp == NULL ? -ENOMEM : err;
}
