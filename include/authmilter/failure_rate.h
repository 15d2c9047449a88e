/*
 * failure_rate.h -- the rate limit on DMARC failure reports (RFC 9991
 * section 2: report generators MUST rate-limit; section 7.1: flooding a
 * Domain Owner is a denial of service), kept across runs of `authmilter
 * report --failures` in a small state file under the spool.
 *
 * A limit is "COUNT/PERIOD": at most COUNT reports per key in a fixed
 * window of PERIOD seconds that starts with the first report after the
 * last window ended. Keys are "domain:POLICY-DOMAIN" and
 * "to:ADDRESS"; the caller asks (failure_rate_allows) before sending and
 * counts (failure_rate_take) only what was sent, so a failed send costs
 * nothing.
 *
 * The state file, text:
 *   authmilter-failure-rate 1
 *   KEY WINDOW-START COUNT
 *   ...
 * KEY is printable ASCII without blanks (at most 400 bytes),
 * WINDOW-START seconds since the epoch, COUNT the reports in that window.
 * A line that is not so is skipped and counted (the worst a damaged file
 * does is let one more report through per key); more than
 * BOUND_FAILURE_RATE_KEYS keys are not read. Saving writes a temporary
 * file in the same directory, fsyncs it and renames it over the old one,
 * so a reader sees the old state or the new, never half of one; windows
 * that ended long ago are dropped. Runs are serialised by an flock on
 * PATH.lock (failure_rate_lock).
 *
 * Memory: the table owns its keys. Not thread-safe (one run, one table).
 */
#ifndef AUTHMILTER_FAILURE_RATE_H
#define AUTHMILTER_FAILURE_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/buf.h"

#define FAILURE_RATE_KEY_MAX 400

struct failure_rate_limit {
	unsigned count;   /* >= 1 */
	unsigned seconds; /* >= 1 */
};

/* failure_rate_limit_parse -- "COUNT/PERIOD", PERIOD in seconds or with
 * a unit s, m, h, d, w ("1/10m", config_rotate_duration), at most 366
 * days. @return 0 and *ret; -EINVAL. */
int failure_rate_limit_parse(const char *s, struct failure_rate_limit *ret);

struct failure_rate;

/* failure_rate_new -- an empty table. @return it, or NULL (ENOMEM). */
struct failure_rate *failure_rate_new(void);
/* failure_rate_free -- NULL is a no-op. @return NULL */
struct failure_rate *failure_rate_free(struct failure_rate *t);

/* failure_rate_parse -- add the entries of a state file's text (len
 * bytes, any bytes) to t. *ret_bad counts the lines skipped and *ret_why
 * (static) says what was wrong with the first.
 * @return 0; -EINVAL when the first line is not the header (nothing is
 * read); -ENOMEM. */
int failure_rate_parse(struct failure_rate *t, const char *text, size_t len,
    unsigned long *ret_bad, const char **ret_why);

/* failure_rate_format -- t as a state file, without the windows that
 * ended before now - keep. @return 0, or out's error. */
int failure_rate_format(
    const struct failure_rate *t, int64_t now, int64_t keep, struct buf *out);

/* failure_rate_allows -- whether one more report for key fits limit l at
 * now. */
bool failure_rate_allows(const struct failure_rate *t, const char *key,
    const struct failure_rate_limit *l, int64_t now);

/* failure_rate_take -- count one report for key at now.
 * @return 0; -EINVAL (key empty, too long or not printable); -E2BIG past
 * BOUND_FAILURE_RATE_KEYS; -ENOMEM. */
int failure_rate_take(struct failure_rate *t, const char *key,
    const struct failure_rate_limit *l, int64_t now);

/* failure_rate_entries -- the number of keys (tests). */
size_t failure_rate_entries(const struct failure_rate *t);

/* failure_rate_lock -- take an exclusive flock on path + ".lock"
 * (created 0640, not through a symbolic link), blocking.
 * @return the descriptor to close when done, or -errno. */
int failure_rate_lock(const char *path);

/* failure_rate_load -- read path (not a symbolic link) into t; a missing
 * file is an empty state. *ret_bad and *ret_why as failure_rate_parse.
 * @return 0; -EINVAL (not a state file); -E2BIG (larger than the bound
 * allows); -ENOMEM; -errno of open/read. */
int failure_rate_load(struct failure_rate *t, const char *path,
    unsigned long *ret_bad, const char **ret_why);

/* failure_rate_save -- write t to path atomically (see above).
 * @return 0 or -errno. */
int failure_rate_save(
    const struct failure_rate *t, const char *path, int64_t now, int64_t keep);

#endif
