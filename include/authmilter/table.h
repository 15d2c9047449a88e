/*
 * table.h -- the lookup tables postmasters bring from opendkim: KeyTable,
 * SigningTable (key/value tables) and InternalHosts, ExternalIgnoreList,
 * TrustedForwarders (host lists), in opendkim's formats, unchanged.
 *
 * Key/value tables sit behind one interface (struct table_ops) with one
 * backend per file, like Postfix's DICT:
 *   table_file.c    "file:/path" or a bare "/path": exact keys,
 *                   case-insensitive, indexed for O(log n) lookups;
 *   table_refile.c  "refile:/path": keys are wildcard patterns where '*'
 *                   matches any run of characters; every pattern is tried
 *                   in file order.
 * Both read opendkim's flat-file syntax (opendkim(8), DATA SETS): one
 * entry per line; '#' starts a comment anywhere on a line; blank lines are
 * ignored; the key runs to the first whitespace, the value is the rest of
 * the line with surrounding whitespace removed (it may be empty). There
 * are no continuation lines and no quoting.
 *
 * Host lists (table_cidr.c) hold IPv4/IPv6 addresses and CIDR prefixes
 * ("192.0.2.0/24", "2001:db8::/32", also "192.0.2.0/255.255.255.0"), host
 * names ("mx.example.com"), domain suffixes (".example.com" matches every
 * name below example.com), and with "refile:" host-name patterns with '*'.
 * An entry starting with '!' excludes what it names. A list comes from a
 * file ("file:", "refile:", a bare "/path") or is written inline as a
 * comma-separated list ("csl:a,b" or just "a,b"), as opendkim's data sets.
 * See table_hosts_match() for the matching rules.
 *
 * Errors while loading are appended to a struct buf, one line each, as
 * "path:line: reason\n"; loading goes on past a bad line so a postmaster
 * sees every problem at once.
 *
 * Memory: a table owns everything it returns; entries stay valid until
 * table_free(). Thread rules: loading is single-threaded; a loaded table is
 * immutable and may be read from any number of threads.
 */
#ifndef AUTHMILTER_TABLE_H
#define AUTHMILTER_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authmilter/bounds.h"
#include "authmilter/buf.h"

/* One line of a key/value table. */
struct table_entry {
	char *key;     /* as written (lower-cased); a pattern for refile */
	char *value;   /* rest of the line, trimmed; "" when none */
	unsigned line; /* 1-based line number in the file */
};

struct table;

/* The backend interface. index() builds what match() needs after the
 * lines are read (and may report bad lines). match() stores up to max
 * entries matching key (key_len bytes, compared case-insensitively), in
 * the order the backend defines, stops there and returns how many it
 * stored. */
struct table_ops {
	const char *type; /* "file", "refile" */
	bool patterns;    /* keys are wildcard patterns */
	int (*index)(struct table *t, struct buf *errors);
	size_t (*match)(const struct table *t, const char *key, size_t key_len,
	    const struct table_entry **ret, size_t max);
	void (*free_priv)(struct table *t);
};

struct table {
	const struct table_ops *ops;
	char *path;                  /* file name, for messages */
	struct table_entry *entries; /* in file order */
	size_t n_entries;
	void *priv; /* backend index */
};

extern const struct table_ops table_file_ops;
extern const struct table_ops table_refile_ops;

/* table_open -- load a key/value table.
 * spec: "file:/path", "refile:/path" or "/path" (a file table).
 * Problems are appended to errors as "path:line: reason\n" lines.
 * @return 0 and *ret_table (caller frees with table_free) when the file was
 * read with no bad line; -EINVAL for a bad spec or bad lines, -errno when
 * the file cannot be read (both with a line in errors). */
int table_open(const char *spec, struct table **ret_table, struct buf *errors);

/* table_free -- release a table. NULL is a no-op. @return NULL */
struct table *table_free(struct table *t);

/* table_lookup -- the first entry matching key (key_len bytes), or NULL.
 * For a file table that is the first line with that key; for a refile
 * table the first pattern in file order that matches the whole key. */
const struct table_entry *table_lookup(
    const struct table *t, const char *key, size_t key_len);

/* table_lookup_all -- the entries matching key, in table_lookup() order:
 * stores at most max of them in ret and returns how many it stored. */
size_t table_lookup_all(const struct table *t, const char *key, size_t key_len,
    const struct table_entry **ret, size_t max);

/* table_lookup_address -- the SigningTable lookup of an author address
 * local@domain (either part may be empty), as opendkim does it:
 * a refile table matches its patterns against "local@domain"; other
 * tables try, in this order, "local@domain", "domain", "local@.parent"
 * and ".parent" for every parent domain of domain (nearest first),
 * "local@*" and "*". Stores in ret the first matching entry when !all,
 * else (at most max) the matches of every form in turn.
 * @return how many were stored, 0 when nothing matched (or the address
 * does not
 * fit BOUND_TABLE_KEY_BYTES). */
size_t table_lookup_address(const struct table *t, const char *local,
    const char *domain, bool all, const struct table_entry **ret, size_t max);

/* table_glob -- whether pattern (pattern_len bytes) matches s (s_len bytes)
 * as a whole, case-insensitively, where '*' matches any run of bytes
 * (opendkim's refile wildcard; no other character is special). Runs in
 * O(pattern_len * s_len) at worst, with no recursion. */
bool table_glob(
    const char *pattern, size_t pattern_len, const char *s, size_t s_len);

/* ---- the line syntax, shared by the backends and config.c ---- */

/* A cursor over text in opendkim's line syntax. */
struct table_cursor {
	const char *p, *end; /* borrowed text */
	unsigned line;       /* number of the line last returned */
	char buf[BOUND_CONFIG_LINE_BYTES + 1];
};

/* table_cursor_init -- start at the first line of text (len bytes). */
void table_cursor_init(struct table_cursor *c, const char *text, size_t len);

/* table_next_line -- the next line that is not blank or a comment, split
 * into key (to the first whitespace) and value (the rest, trimmed, maybe
 * ""); both point into c->buf and stay valid until the next call.
 * @return 1 with *ret_key and *ret_value, 0 at the end, -EINVAL for a bad
 * line (too long, NUL byte) with *ret_why; c->line numbers the line. */
int table_next_line(struct table_cursor *c, char **ret_key, char **ret_value,
    const char **ret_why);

/* table_slurp -- read a whole file. @return 0 and *ret_text (NUL-
 * terminated, caller frees) and *ret_len, or -errno. */
int table_slurp(const char *path, char **ret_text, size_t *ret_len);

/* table_error -- append "where:line: message\n" to errors ("where:
 * message\n" when line is 0). */
void table_error(struct buf *errors, const char *where, unsigned line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* table_read_lines -- read path in opendkim's flat-file syntax into
 * t->entries. Bad lines (over BOUND_CONFIG_LINE_BYTES, NUL bytes) are
 * reported to errors and skipped. @return 0, -EINVAL after a bad line,
 * -errno when the file cannot be read. */
int table_read_lines(struct table *t, struct buf *errors);

/* ---- host lists (table_cidr.c) ---- */

/* An IP address in 16 bytes; IPv4 is kept IPv4-mapped (::ffff:a.b.c.d),
 * so an IPv4-mapped IPv6 client matches IPv4 entries. */
struct table_ip {
	uint8_t b[16];
};

struct table_hosts;

/* table_ip_parse -- an IPv4 or IPv6 address in text (s, NUL-terminated).
 * @return 0 and *ret_ip, or -EINVAL. */
int table_ip_parse(const char *s, struct table_ip *ret_ip);

/* table_ip_from_sockaddr -- the address of an AF_INET or AF_INET6
 * socket address (sa points to a struct sockaddr).
 * @return 0 and *ret_ip, or -EAFNOSUPPORT for another family. */
int table_ip_from_sockaddr(const void *sa, struct table_ip *ret_ip);

/* table_hosts_open -- load a host list. spec: "file:/path", "refile:/path"
 * (host-name entries may hold '*'), a bare "/path", "csl:a,b,..." or an
 * inline comma-separated list "a,b,...". where names the source of an
 * inline list in messages ("authmilter.conf:12"). Bad entries are
 * appended to errors as "path:line: reason\n" (or "where: reason\n").
 * @return 0 and *ret_hosts (free with table_hosts_free), -EINVAL after a
 * bad entry or spec, -errno when a file cannot be read. */
int table_hosts_open(const char *spec, const char *where,
    struct table_hosts **ret_hosts, struct buf *errors);

/* table_hosts_free -- NULL is a no-op. @return NULL */
struct table_hosts *table_hosts_free(struct table_hosts *h);

/* table_hosts_match -- whether a client is on the list, as opendkim's
 * peer lists decide (opendkim.conf(5), PeerList):
 *  - host name (hostname, may be NULL): the name itself, then each of its
 *    parent suffixes ".example.com", nearest first, case-insensitively;
 *    at the first of these the list names, a '!' entry means "not on the
 *    list by name", a plain entry "on the list". Then refile patterns
 *    are tried against the whole name: if a '!' pattern matches, the name
 *    is not on the list, else if another pattern matches, it is.
 *  - address (ip, may be NULL): the longest prefix on the list that
 *    contains ip decides; at equal length a '!' entry wins.
 * The client is on the list when either the name or the address says so.
 * Lookups are O(log n) per distinct prefix length used by the list. */
bool table_hosts_match(const struct table_hosts *h, const struct table_ip *ip,
    const char *hostname);

/* table_hosts_count -- number of entries (addresses, names, patterns). */
size_t table_hosts_count(const struct table_hosts *h);

#endif
