/*
 * log.c -- levelled logging to one sink; quoting of untrusted strings.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "authmilter/log.h"

static log_sink_fn *log_sink;
static enum log_level log_max = LOG_LVL_INFO;

static void
log_stderr(enum log_level level, const char *line)
{
	static const char *const names[] = {
	    "error", "warning", "notice", "info", "debug"};

	fprintf(stderr, "authmilter: %s: %s\n", names[level], line);
}

void
log_setup(log_sink_fn *sink, enum log_level max_level)
{
	log_sink = sink;
	log_max = max_level;
}

int
log_enabled(enum log_level level)
{
	return level <= log_max;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	(log_sink != NULL ? log_sink : log_stderr)(level, line);
}

void
log_quote(struct buf *b, const char *s, size_t n)
{
	size_t i;

	buf_addc(b, '"');
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
		} else if (c < 0x20 || c >= 0x7f)
			buf_addf(b, "\\x%02x", c);
		else
			buf_addc(b, (char)c);
	}
	buf_addc(b, '"');
}

int
log_level_parse(const char *s, enum log_level *ret_level)
{
	static const char *const names[] = {
	    "err", "warning", "notice", "info", "debug"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i]) == 0 ||
		    (s[0] == (char)('0' + i) && s[1] == '\0')) {
			*ret_level = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "error") == 0) {
		*ret_level = LOG_LVL_ERR;
		return 0;
	}
	return -EINVAL;
}
