/*
 * log.h -- logging with levels and one replaceable sink.
 *
 * Core modules log at LOG_LVL_DEBUG only; the edges (milter, CLI) decide
 * what reaches info and above. The sink is set once at startup (stderr by
 * default; the daemon switches to syslog); after that it is read-only, so
 * logging is thread-safe as long as the sink is.
 *
 * Strings that come from mail or DNS are quoted with log_quote() before
 * they reach a log line, so they cannot forge lines or hide in control
 * characters.
 */
#ifndef AUTHMILTER_LOG_H
#define AUTHMILTER_LOG_H

#include <stddef.h>

#include "authmilter/buf.h"

enum log_level {
	LOG_LVL_ERR = 0,
	LOG_LVL_WARNING,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

typedef void log_sink_fn(enum log_level level, const char *line);

/* log_setup -- install a sink (NULL: stderr) and the highest level that
 * is passed to it. Call before threads start. */
void log_setup(log_sink_fn *sink, enum log_level max_level);
/* log_enabled -- whether a line at this level would be written. */
int log_enabled(enum log_level level);
/* log_msg -- format and send one line (no newline needed). */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LVL_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_enabled(LOG_LVL_DEBUG))                                \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);                   \
	} while (0)

/* log_quote -- append s (n bytes) to b between double quotes, escaping
 * '"', '\\' and every byte outside printable ASCII as \xHH. */
void log_quote(struct buf *b, const char *s, size_t n);

/* log_level_parse -- "err", "warning", "notice", "info", "debug" (or a
 * digit 0-4). @return 0 and *ret_level, or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret_level);

#endif
