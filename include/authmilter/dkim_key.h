/*
 * dkim_key.h -- DKIM private key files: reading one safely and parsing it
 * (dkim_privkey.h).
 *
 * A key file must be a regular file of at most 64 KB; unless the caller
 * allows it (opendkim's RequireSafeKeys off), group and others may have
 * no access to it. Read errors are failures with a reason, never a
 * shorter key: an interrupted read() is retried, any other error (EIO...)
 * ends the load. Reasons name the file ("PATH: ...").
 *
 * Reloads: a configuration read again reads every key file again (the
 * checks above apply each time), but parsing a key (an RSA decode costs
 * about a millisecond) is needed only for a file whose bytes changed. A
 * pool holds the keys a previous load made and those the present load
 * has parsed; a load through the pool hashes the file's bytes and, when
 * a key of the pool was parsed from the same bytes (dkim_privkey_source),
 * takes that key instead of parsing them. A changed or new file is parsed
 * afresh, once however many times it is named.
 *
 * Memory: the file's bytes are cleansed and freed once parsed; the key is
 * the caller's (dkim_privkey_unref). Thread-safe (no shared state); a
 * pool is one loader's.
 */
#ifndef AUTHMILTER_DKIM_KEY_H
#define AUTHMILTER_DKIM_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "authmilter/buf.h"
#include "authmilter/dkim_privkey.h"

/* dkim_key_load_private -- read and parse the private key file at path.
 * Unless allow_unsafe, a file that group or others may read or write is
 * refused (RequireSafeKeys). Reasons name the file.
 * @return 0 and *ret (refcount 1); -EPERM (unsafe mode), -EINVAL (not a
 * usable key, or not a regular file), -errno of open/read (-ENOENT,
 * -EIO...), -EFBIG (over 64 KB); the reason is appended to why (may be
 * NULL). */
int dkim_key_load_private(const char *path, bool allow_unsafe,
    struct dkim_privkey **ret, struct buf *why);

/* The keys loads may take: borrowed (whoever fills the pool holds them
 * while loads use it, and so does whoever loads through it: each key a
 * load parses goes into the pool too), in the pool's own array
 * (dkim_key_pool_free), sorted by source digest; and what the loads
 * through it did. */
struct dkim_key_pool {
	struct dkim_privkey **v;
	size_t n, cap;
	size_t kept;   /* loads that took a key of the pool */
	size_t parsed; /* loads that parsed their file */
};

/* dkim_key_pool_add -- add the n keys (borrowed) to pool.
 * @return 0, or -ENOMEM (pool unchanged: loads then parse those keys'
 * files again). */
int dkim_key_pool_add(
    struct dkim_key_pool *pool, struct dkim_privkey *const *keys, size_t n);

/* dkim_key_pool_free -- free pool's array (not the keys); the counts
 * stay. */
void dkim_key_pool_free(struct dkim_key_pool *pool);

/* dkim_key_load_pooled -- as dkim_key_load_private; when the file's
 * bytes are those a key in pool (may be NULL: none) was parsed from, *ret
 * is that key with one more reference and pool->kept counts it, else the
 * parsed key, which pool->parsed counts and the pool takes in (when it
 * has room). Same checks, reasons and errors. */
int dkim_key_load_pooled(const char *path, bool allow_unsafe,
    struct dkim_key_pool *pool, struct dkim_privkey **ret, struct buf *why);

/* dkim_key_read -- read the open descriptor fd to its end into a buffer
 * (the key file reader; given a descriptor so that tests can hand it
 * pipes and terminals). An interrupted read() (EINTR) is read again.
 * name stands for the file in reasons.
 * @return 0, *ret_data (heap, NUL-terminated; the caller cleanses and
 * frees it) and *ret_len; -EFBIG past max bytes ("NAME: larger than MAX
 * bytes, not a key"); -errno of read(), -EIO for instance ("NAME: read
 * failed: Input/output error"); -ENOMEM ("NAME: out of memory"). Reasons
 * go to why (may be NULL). fd is not closed. */
int dkim_key_read(int fd, const char *name, size_t max, char **ret_data,
    size_t *ret_len, struct buf *why);

/* dkim_key_read_file -- read a secret file (a private key, a TSIG key)
 * under the rules of key files: a regular file of at most 64 KB that,
 * unless allow_unsafe, group and others cannot access. Reasons name the
 * file ("PATH: ...").
 * @return 0, *ret_data (heap, NUL-terminated; the caller cleanses and
 * frees it) and *ret_len; -EPERM (unsafe mode), -EINVAL (not a regular
 * file), -EFBIG, -errno of open/read; the reason is appended to why (may
 * be NULL). */
int dkim_key_read_file(const char *path, bool allow_unsafe, char **ret_data,
    size_t *ret_len, struct buf *why);

#endif
