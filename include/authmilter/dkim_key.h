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
 * Memory: the file's bytes are cleansed and freed once parsed; the key is
 * the caller's (dkim_privkey_unref). Thread-safe (no shared state).
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

/* dkim_key_read -- read the open descriptor fd to its end into a buffer
 * (the key file reader; given a descriptor so that tests can hand it
 * pipes and terminals). An interrupted read() (EINTR) is read again.
 * name stands for the file in reasons.
 * @return 0, *ret_data (heap, NUL-terminated; the caller cleanses and
 * frees it) and *ret_len; -EFBIG past max bytes ("NAME: larger than MAX
 * bytes, not a key"); -errno of read(), -EIO for instance ("NAME: read
 * failed: Input/output error"); -ENOMEM. Reasons go to why (may be
 * NULL). fd is not closed. */
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
