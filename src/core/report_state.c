/*
 * report_state.c -- the report command's counters for the metrics
 * endpoint, in SPOOLDIR/report-state. See report_state.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "authmilter/buf.h"
#include "authmilter/report_state.h"

static const struct {
	const char *name;
	size_t off;
} report_state_fields[] = {
    {"runs", offsetof(struct report_state, runs)},
    {"runs_failed", offsetof(struct report_state, runs_failed)},
    {"reports_sent", offsetof(struct report_state, reports_sent)},
    {"reports_failed", offsetof(struct report_state, reports_failed)},
    {"last_run", offsetof(struct report_state, last_run)},
    {"last_success", offsetof(struct report_state, last_success)},
};
#define REPORT_STATE_NFIELDS                                                   \
	(sizeof(report_state_fields) / sizeof(report_state_fields[0]))

/* "digits" of len bytes into *ret, without overflow. */
static int
report_state_number(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return 0;
}

int
report_state_parse(const char *text, size_t len, struct report_state *ret,
    const char **ret_why)
{
	const char *p = text, *end = text + len, *nl, *sp;
	uint64_t v;
	size_t i, nlen;

	memset(ret, 0, sizeof(*ret));
	if (len > BOUND_REPORT_STATE_BYTES) {
		*ret_why = "file too long";
		return -EINVAL;
	}
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			*ret_why = "last line without a newline";
			return -EINVAL;
		}
		sp = memchr(p, ' ', (size_t)(nl - p));
		if (sp == NULL || sp == p ||
		    report_state_number(sp + 1, (size_t)(nl - sp - 1), &v) <
		        0) {
			*ret_why = "a line is not \"name number\"";
			return -EINVAL;
		}
		nlen = (size_t)(sp - p);
		for (i = 0; i < REPORT_STATE_NFIELDS; i++)
			if (strlen(report_state_fields[i].name) == nlen &&
			    memcmp(report_state_fields[i].name, p, nlen) == 0)
				*(uint64_t *)((char *)ret +
				              report_state_fields[i].off) = v;
	}
	return 0;
}

static char *
report_state_path(const char *dir, const char *suffix)
{
	size_t n = strlen(dir) + sizeof(REPORT_STATE_FILE) + strlen(suffix) + 2;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s%s", dir, REPORT_STATE_FILE, suffix);
	return p;
}

int
report_state_read(const char *dir, struct report_state *ret)
{
	char text[BOUND_REPORT_STATE_BYTES + 1],
	    *path = report_state_path(dir, "");
	const char *why;
	size_t len = 0;
	ssize_t n;
	int fd;

	if (path == NULL)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(path);
	if (fd < 0)
		return -errno;
	while (len < sizeof(text) &&
	       (n = read(fd, text + len, sizeof(text) - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return (int)n;
		}
		len += (size_t)n;
	}
	close(fd);
	return report_state_parse(text, len, ret, &why);
}

int
report_state_add(const char *dir, const struct report_state *run)
{
	struct report_state cur;
	char *path = NULL, *tmp = NULL, suffix[32];
	struct buf b;
	size_t i;
	int dfd, fd = -1, r;
	uint64_t *c, v;

	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if (flock(dfd, LOCK_EX) < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	if (report_state_read(dir, &cur) < 0)
		memset(&cur, 0, sizeof(cur));
	for (i = 0; i < REPORT_STATE_NFIELDS; i++) {
		c = (uint64_t *)((char *)&cur + report_state_fields[i].off);
		v = *(const uint64_t *)((const char *)run +
		                        report_state_fields[i].off);
		if (strncmp(report_state_fields[i].name, "last_", 5) != 0)
			*c += v;
		else if (v != 0)
			*c = v;
	}
	buf_init(&b, BOUND_REPORT_STATE_BYTES);
	for (i = 0; i < REPORT_STATE_NFIELDS; i++)
		buf_addf(&b, "%s %" PRIu64 "\n", report_state_fields[i].name,
		    *(uint64_t *)((char *)&cur + report_state_fields[i].off));
	snprintf(suffix, sizeof(suffix), ".%ld", (long)getpid());
	path = report_state_path(dir, "");
	tmp = report_state_path(dir, suffix);
	r = buf_error(&b);
	if (r == 0 && (path == NULL || tmp == NULL))
		r = -ENOMEM;
	if (r == 0 &&
	    (fd = open(tmp,
	         O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640)) <
	        0)
		r = -errno;
	if (r == 0 && write(fd, b.data, b.len) != (ssize_t)b.len)
		r = -EIO;
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0 && tmp != NULL)
		unlink(tmp);
	buf_free(&b);
	free(path);
	free(tmp);
	close(dfd); /* and the lock with it */
	return r;
}
