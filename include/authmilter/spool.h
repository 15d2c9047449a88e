/*
 * spool.h -- the aggregate-report spool: one JSON line per evaluated
 * message whose policy domain published a DMARC record, appended by the
 * milter (and `verify --spool`), read back by `authmilter report` and
 * `authmilter stats`.
 *
 * A record holds everything one RFC 9990 aggregate-report row needs, with
 * the JSON keys named after the report's XML elements:
 *
 *   {"version":1,"time":1700000000,"reporting_host":"mx1.example.net",
 *    "policy_published":{"domain":"example.com","discovery_method":
 *      "treewalk","p":"reject","sp":"reject","np":"reject","adkim":"r",
 *      "aspf":"r","fo":"0","testing":"n","rua":["mailto:d@example.com"]},
 *    "source_ip":"192.0.2.1","dmarc":"fail",
 *    "policy_evaluated":{"disposition":"reject","dkim":"fail",
 *      "spf":"fail","reason":[{"type":"local_policy","comment":"..."}]},
 *    "identifiers":{"header_from":"example.com","envelope_from":
 *      "example.com","envelope_to":"example.net"},
 *    "auth_results":{"dkim":[{"domain":"example.com","selector":"s1",
 *      "result":"fail","human_result":"..."}],"spf":{"domain":
 *      "example.com","scope":"mfrom","result":"fail"}}}
 *
 * Optional keys: discovery_method, sp, np, adkim, aspf, fo, testing, rua,
 * reason, envelope_from, envelope_to, human_result, comment, auth_results
 * dkim and spf. Unknown keys are ignored (a later writer may add some);
 * an incompatible change bumps "version", and a reader rejects versions it
 * does not know.
 *
 * Files: one per UTC day and reporting host, DIR/YYYY-MM-DD.HOST.jsonl
 * (HOST = the record's reporting_host, bytes outside [A-Za-z0-9.-] turned
 * into '_'), so several MTAs may share one spool directory and a report
 * run can tell complete days from the day still being written.
 *
 * Kinds: the spool holds more than one kind of record (enum spool_kind),
 * each in files of its own, told apart by a name prefix and covering a
 * period of their own: aggregate-report records by UTC day as above,
 * failure-report records by UTC minute, DIR/failure.YYYY-MM-DDTHH-MM.
 * HOST.jsonl. spool_name/spool_name_parse make and read the names of
 * every kind, spool_append_line appends a line of any kind with the
 * locking below, and spool_claim.h hands a consumer the files of its
 * kind. The record format above is the aggregate kind's.
 *
 * Appending (spool_append) opens the day's file with O_APPEND|O_CREAT|
 * O_CLOEXEC|O_NOFOLLOW (a symbolic link in the spool is refused, not
 * written through), takes an exclusive flock(2) on it, and writes the
 * line and its "\n" with one write() before closing it again. On Linux a
 * write() to a regular file opened with O_APPEND takes the inode lock for
 * the whole write, so the bytes of two writers never interleave; the
 * flock adds what that cannot: under it the writer looks at the file's
 * last byte, and when it is not "\n" (a record cut short by a full disk,
 * a quota, or a crash mid-write, in this process or another) the new
 * record starts with a "\n" of its own, so it never continues the
 * fragment. No other writer can leave a fragment between that look and
 * the write. A short write is continued under the lock (nothing can land
 * in between); if the rest fails too, the fragment is ended if possible,
 * and otherwise by the next append. The spool must be on a local file
 * system (NFS gives neither guarantee). Opening per record means a
 * rename of the file (a report run claiming it) never races with a
 * long-lived descriptor: at worst one write that opened the file just
 * before the rename lands in the claimed file, which is why report runs
 * leave a grace period after the day ends.
 *
 * Reading skips a torn record (an invalid line, a last line without
 * "\n") with a warning naming the file and line; a line holding a torn
 * record with a whole one glued after it (written by a writer without
 * the check above) gives the whole one. Every record whose spool_append
 * returned 0 is read back.
 *
 * Memory: a struct spool_record only borrows its strings and arrays.
 * spool_record_from_json() puts them in the caller's arena. No globals;
 * every function is thread-safe (struct spool_stats is updated with
 * atomic operations).
 */
#ifndef AUTHMILTER_SPOOL_H
#define AUTHMILTER_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "authmilter/arena.h"
#include "authmilter/authres.h"
#include "authmilter/bounds.h"
#include "authmilter/buf.h"

#define SPOOL_VERSION 1
#define SPOOL_SUFFIX ".jsonl"

/* Each enum has a 0 "unset" value where the XML element is optional, and
 * the RFC 9990 XML words as names (spool_*_name / the JSON values). */
enum spool_policy { /* DispositionType: p, sp, np */
	SPOOL_POLICY_UNSET = 0,
	SPOOL_POLICY_NONE,
	SPOOL_POLICY_QUARANTINE,
	SPOOL_POLICY_REJECT,
};

enum spool_align { /* AlignmentType: adkim, aspf */
	SPOOL_ALIGN_UNSET = 0,
	SPOOL_ALIGN_RELAXED, /* "r" */
	SPOOL_ALIGN_STRICT,  /* "s" */
};

enum spool_testing { /* TestingType: the t tag */
	SPOOL_TESTING_UNSET = 0,
	SPOOL_TESTING_N,
	SPOOL_TESTING_Y,
};

enum spool_discovery { /* DiscoveryType */
	SPOOL_DISCOVERY_UNSET = 0,
	SPOOL_DISCOVERY_TREEWALK,
	SPOOL_DISCOVERY_PSL,
};

enum spool_disposition { /* ActionDispositionType */
	SPOOL_DISP_NONE = 0,
	SPOOL_DISP_PASS, /* passed DMARC under an enforcing policy */
	SPOOL_DISP_QUARANTINE,
	SPOOL_DISP_REJECT,
};

enum spool_reason_type { /* PolicyOverrideType */
	SPOOL_REASON_LOCAL_POLICY = 0,
	SPOOL_REASON_MAILING_LIST,
	SPOOL_REASON_OTHER,
	SPOOL_REASON_POLICY_TEST_MODE,
	SPOOL_REASON_TRUSTED_FORWARDER,
};

enum spool_spf_scope {
	SPOOL_SCOPE_MFROM = 0,
	SPOOL_SCOPE_HELO, /* kept in the spool; RFC 9990 reports only
	                   * know "mfrom", so a report omits scope */
};

struct spool_policy_published {
	const char *domain; /* the policy domain (where the record was) */
	enum spool_discovery discovery_method;
	enum spool_policy p; /* required: never UNSET */
	enum spool_policy sp, np;
	enum spool_align adkim, aspf;
	const char *fo; /* NULL: not recorded */
	enum spool_testing testing;
	const char *const *rua; /* rua URIs as published, in order */
	size_t rua_count;       /* <= BOUND_SPOOL_RUA */
};

struct spool_dkim {
	const char *domain;       /* d= */
	const char *selector;     /* s= */
	enum auth_result result;  /* none pass fail policy neutral
	                           * temperror permerror */
	const char *human_result; /* NULL: none */
};

struct spool_spf {
	const char *domain; /* NULL: no SPF result in the record */
	enum spool_spf_scope scope;
	enum auth_result result;
	const char *human_result; /* NULL: none */
};

struct spool_reason {
	enum spool_reason_type type;
	const char *comment; /* NULL: none */
};

struct spool_record {
	int64_t time;               /* seconds since the epoch */
	const char *reporting_host; /* the MTA that evaluated it */
	struct spool_policy_published policy;
	const char *source_ip;  /* IPv4 or IPv6 text */
	enum auth_result dmarc; /* none pass fail temperror
	                         * permerror */
	enum spool_disposition disposition;
	bool dkim_aligned; /* policy_evaluated dkim: pass (true) */
	bool spf_aligned;  /* policy_evaluated spf: pass (true) */
	const struct spool_reason *reasons;
	size_t reason_count; /* <= BOUND_SPOOL_REASONS */
	const char *header_from;
	const char *envelope_from; /* NULL: unknown; "": null
	                            * reverse-path (RFC 5321 §4.5.5) */
	const char *envelope_to;   /* NULL: not recorded */
	const struct spool_dkim *dkim;
	size_t dkim_count; /* <= BOUND_SPOOL_DKIM */
	struct spool_spf spf;
};

/* Counters an appender keeps for its caller to log (atomic). */
struct spool_stats {
	unsigned long appended; /* records written */
	unsigned long failed;   /* records not written */
	int last_error;         /* -errno of the last failure, or 0 */
};

/* Counters of one or more spool_read_file() calls. */
struct spool_read_stats {
	unsigned long lines;   /* lines seen, torn ones included */
	unsigned long records; /* handed to the callback */
	unsigned long invalid; /* skipped: not a valid record */
	unsigned long torn;    /* skipped: last line without "\n", or a
	                        * torn record before a whole one on a line */
};

/* Names of the enum values, as the XML and the JSON spell them. */
const char *spool_policy_name(enum spool_policy v);
const char *spool_align_name(enum spool_align v);
const char *spool_testing_name(enum spool_testing v);
const char *spool_discovery_name(enum spool_discovery v);
const char *spool_disposition_name(enum spool_disposition v);
const char *spool_reason_type_name(enum spool_reason_type v);
const char *spool_spf_scope_name(enum spool_spf_scope v);

/* spool_record_check -- whether r can be written and read back: required
 * fields present, enum values in range, results allowed for their field,
 * counts within bounds, strings without control bytes and within
 * BOUND_DOMAIN_LEN / BOUND_SPOOL_TEXT, the policy domain a valid host
 * name, source_ip an IPv4/IPv6 address.
 * @return 0, or -EINVAL with *ret_why (static text naming the field). */
int spool_record_check(const struct spool_record *r, const char **ret_why);

/* spool_record_to_json -- append r as one JSON line (no "\n" inside, none
 * at the end) to out.
 * @return 0; -EINVAL with *ret_why when spool_record_check() refuses r or
 * a string is not UTF-8; -E2BIG when the line would pass
 * BOUND_SPOOL_RECORD_BYTES - 1; -ENOMEM. out is unchanged on error. */
int spool_record_to_json(
    const struct spool_record *r, struct buf *out, const char **ret_why);

/* spool_record_from_json -- parse one line (len bytes, without its "\n";
 * no NUL needed) strictly: valid JSON object, known version, required
 * fields present with the right types and values, then
 * spool_record_check().
 * @return 0 and *ret (strings and arrays in arena a); -EINVAL with *ret_why
 * (arena-owned or static text, e.g. "policy_published.p: \"maybe\" is not
 * none, quarantine or reject"); -E2BIG past BOUND_SPOOL_RECORD_BYTES;
 * -ENOMEM. */
int spool_record_from_json(const char *line, size_t len, struct arena *a,
    struct spool_record *ret, const char **ret_why);

/* What a spool file holds. */
enum spool_kind {
	SPOOL_AGGREGATE = 0, /* aggregate-report records (above), one file
	                      * per UTC day: "YYYY-MM-DD.HOST.jsonl" */
	SPOOL_FAILURE,       /* failure-report records, one file per UTC
	                      * minute: "failure.YYYY-MM-DDTHH-MM.HOST.jsonl" */
};

/* spool_kind_period -- the seconds one file of kind covers (86400 for
 * SPOOL_AGGREGATE, 60 for SPOOL_FAILURE); a file's period starts at a
 * multiple of it. */
long spool_kind_period(enum spool_kind kind);

/* spool_name -- append to out the file name (no directory) for records
 * of kind from host written at now.
 * @return 0, or -EINVAL (host empty or too long, time out of range). */
int spool_name(
    enum spool_kind kind, const char *host, time_t now, struct buf *out);

/* spool_name_parse -- whether name (no directory) is a spool file name
 * as spool_name makes them; if so, its kind and the start of its period
 * (UTC). A claimed name (".claimed." appended) is not. */
bool spool_name_parse(
    const char *name, enum spool_kind *ret_kind, time_t *ret_start);

/* spool_file_name, spool_file_day -- spool_name and spool_name_parse for
 * SPOOL_AGGREGATE: "YYYY-MM-DD.HOST.jsonl" and the start of its day. */
int spool_file_name(const char *host, time_t now, struct buf *out);
bool spool_file_day(const char *name, time_t *ret_day);

/* spool_append_line -- append line[0..len) (one record, serialised by
 * the caller; no "\n" in it) and a "\n" to DIR/spool_name(kind, host,
 * now), the way spool_append does (below); blocks on nothing but the
 * local write and other appenders. stats (may be NULL) counts the
 * outcome.
 * @return 0; -E2BIG past the kind's longest line (BOUND_SPOOL_RECORD_BYTES
 * with its "\n" for SPOOL_AGGREGATE, BOUND_FAILURE_RECORD_BYTES for
 * SPOOL_FAILURE); -EINVAL (a "\n" in line, a bad host, or the file is not
 * a regular file); -ENOMEM, or the -errno of open/write as for
 * spool_append. A failure never leaves a partial line that a later
 * record would continue. */
int spool_append_line(const char *dir, enum spool_kind kind, const char *host,
    time_t now, const char *line, size_t len, struct spool_stats *stats);

/* spool_append -- write r as one line to DIR/spool_file_name(host, now)
 * (host = r->reporting_host) with one O_APPEND write() under flock (see
 * above); blocks on nothing but the local write and other appenders.
 * stats (may be NULL) counts the outcome.
 * @return 0; -EINVAL (record refused: see spool_record_check; or the file
 * is not a regular file), -E2BIG, -ENOMEM, or the -errno of open/write
 * (-ENOENT, -EACCES, -ENOTDIR, -ELOOP for a symbolic link, -ENOSPC,
 * -EDQUOT, -EFBIG, -EIO...). A failure never leaves a partial line that
 * a later record would continue. */
int spool_append(const char *dir, const struct spool_record *r, time_t now,
    struct spool_stats *stats);

/* Callbacks of spool_read_file. Each record (arena-owned, valid during the
 * call only) comes with the file and its 1-based line number; a non-zero
 * return stops the reading and is returned by spool_read_file. warn (may
 * be NULL) hears of every skipped line. */
typedef int spool_record_fn(void *ctx, const struct spool_record *r,
    const char *path, unsigned long line);
typedef void spool_warn_fn(
    void *ctx, const char *path, unsigned long line, const char *why);

/* spool_read_file -- stream path (not a symbolic link) line by line:
 * memory stays bounded by BOUND_SPOOL_RECORD_BYTES whatever the file
 * size. Invalid lines and a last line without "\n" (a torn write) are
 * skipped, counted in stats (may be NULL) and reported to warn; a whole
 * record glued after a torn one is read; nothing else is lost.
 * @return 0, the callback's non-zero value, or -errno of open/read
 * (-ELOOP for a symbolic link). */
int spool_read_file(const char *path, spool_record_fn *fn, spool_warn_fn *warn,
    void *ctx, struct spool_read_stats *stats);

/* Callback of spool_read_lines: parse one line (len bytes, no "\n") of
 * the file's kind and, when it is a record, act on it. @return 0 (a
 * record, handled); -EINVAL or -E2BIG with *ret_why (not a record: the
 * reader skips it, or finds a whole record glued after a torn one and
 * calls fn again with that); any other value stops the reading and is
 * returned by spool_read_lines. */
typedef int spool_line_fn(void *ctx, const char *line, size_t len,
    const char *path, unsigned long lineno, const char **ret_why);

/* spool_read_lines -- spool_read_file for records of any kind: each line
 * (at most the kind's longest, see spool_append_line) goes to fn, with
 * the same handling of torn and invalid lines.
 * @return 0, fn's stopping value, or -errno of open/read. */
int spool_read_lines(const char *path, enum spool_kind kind, spool_line_fn *fn,
    spool_warn_fn *warn, void *ctx, struct spool_read_stats *stats);

#endif
