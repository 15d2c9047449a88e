/*
 * dkim_key.c -- reading DKIM private key files (see dkim_key.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authmilter/dkim_key.h"

/* A private key file is a few KB; anything bigger is not a key. */
#define DKIM_KEY_FILE_MAX 65536

int
dkim_key_read(int fd, const char *name, size_t max, char **ret_data,
    size_t *ret_len, struct buf *why)
{
	size_t got = 0;
	ssize_t n;
	char *data;
	int r = 0;

	/* room for one byte more than max, to see that there is more; one
	 * buffer, never moved, so no copy of the key is left behind */
	if ((data = malloc(max + 1)) == NULL) {
		if (why != NULL)
			buf_addf(why, "%s: out of memory", name);
		return -ENOMEM;
	}
	while (r == 0) {
		if (got > max) {
			r = -EFBIG;
			if (why != NULL)
				buf_addf(why,
				    "%s: larger than %zu bytes, not a "
				    "key",
				    name, max);
			break;
		}
		n = read(fd, data + got, max + 1 - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0)
			break;
		else if (errno != EINTR) {
			/* EIO and the like: a failure, not a shorter key */
			r = -errno;
			if (why != NULL)
				buf_addf(why, "%s: read failed: %s", name,
				    strerror(-r));
		}
		/* EINTR: a signal came before any data; read again */
	}
	if (r != 0) {
		OPENSSL_cleanse(data, got);
		free(data);
		return r;
	}
	data[got] = '\0';
	*ret_data = data;
	*ret_len = got;
	return 0;
}

/* Open path and check what it is before reading it; reasons name it.
 * @return the descriptor, or -errno. */
static int
open_key_file(const char *path, bool allow_unsafe, struct buf *why)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || fstat(fd, &st) != 0) {
		r = -errno;
		if (why != NULL)
			buf_addf(why, "%s: %s", path, strerror(-r));
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DKIM_KEY_FILE_MAX) {
		if (why != NULL)
			buf_addf(why, "%s: %s", path,
			    S_ISREG(st.st_mode) ? "larger than 64 KB, not a "
			                          "key"
			                        : "not a regular file");
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	if (!allow_unsafe && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		if (why != NULL)
			buf_addf(why,
			    "%s: key file is accessible by group or "
			    "others (mode %04o); chmod 600 it",
			    path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	return fd;
}

int
dkim_key_read_file(const char *path, bool allow_unsafe, char **ret_data,
    size_t *ret_len, struct buf *why)
{
	int fd, r;

	if ((fd = open_key_file(path, allow_unsafe, why)) < 0)
		return fd;
	r = dkim_key_read(fd, path, DKIM_KEY_FILE_MAX, ret_data, ret_len, why);
	close(fd);
	return r;
}

static int
pool_cmp(const void *a, const void *b)
{
	const struct dkim_privkey *const *ka = a, *const *kb = b;

	return memcmp(dkim_privkey_source(*ka), dkim_privkey_source(*kb),
	    DKIM_PRIVKEY_SOURCE_LEN);
}

/* Where in pool the keys parsed from the bytes whose digest is source
 * are, or would go: the first index whose source is not below it. */
static size_t
pool_at(const struct dkim_key_pool *pool, const uint8_t *source)
{
	size_t lo = 0, hi = pool->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (memcmp(dkim_privkey_source(pool->v[mid]), source,
		        DKIM_PRIVKEY_SOURCE_LEN) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The key of pool parsed from the bytes whose digest is source, or
 * NULL. */
static struct dkim_privkey *
pool_find(const struct dkim_key_pool *pool, const uint8_t *source)
{
	size_t at = pool_at(pool, source);

	if (at < pool->n && memcmp(dkim_privkey_source(pool->v[at]), source,
	                        DKIM_PRIVKEY_SOURCE_LEN) == 0)
		return pool->v[at];
	return NULL;
}

int
dkim_key_pool_add(
    struct dkim_key_pool *pool, struct dkim_privkey *const *keys, size_t n)
{
	struct dkim_privkey **v;
	size_t cap, at;

	if (n == 0)
		return 0;
	if (pool->n + n > SIZE_MAX / 2 / sizeof(*v))
		return -ENOMEM;
	if (pool->n + n > pool->cap) {
		cap = pool->n + n < 16 ? 16 : 2 * (pool->n + n);
		if ((v = realloc(pool->v, cap * sizeof(*v))) == NULL)
			return -ENOMEM;
		pool->v = v;
		pool->cap = cap;
	}
	if (n > 1) {
		memcpy(pool->v + pool->n, keys, n * sizeof(*keys));
		pool->n += n;
		qsort(pool->v, pool->n, sizeof(*pool->v), pool_cmp);
		return 0;
	}
	/* one key (a load's): into its place */
	at = pool_at(pool, dkim_privkey_source(keys[0]));
	memmove(
	    pool->v + at + 1, pool->v + at, (pool->n - at) * sizeof(*pool->v));
	pool->v[at] = keys[0];
	pool->n++;
	return 0;
}

void
dkim_key_pool_free(struct dkim_key_pool *pool)
{
	free(pool->v);
	pool->v = NULL;
	pool->n = pool->cap = 0;
}

int
dkim_key_load_pooled(const char *path, bool allow_unsafe,
    struct dkim_key_pool *pool, struct dkim_privkey **ret, struct buf *why)
{
	uint8_t source[DKIM_PRIVKEY_SOURCE_LEN];
	struct dkim_privkey *old = NULL;
	struct buf inner;
	char *data = NULL;
	size_t len = 0;
	int r;

	r = dkim_key_read_file(path, allow_unsafe, &data, &len, why);
	if (r != 0)
		return r;
	/* (a digest that cannot be made only means parsing) */
	if (pool != NULL && dkim_privkey_digest(data, len, source) == 0)
		old = pool_find(pool, source);
	if (old != NULL) {
		/* the bytes the key was parsed from: the same key */
		*ret = dkim_privkey_ref(old);
		pool->kept++;
	} else {
		buf_init(&inner, 512);
		r = dkim_privkey_parse(data, len, ret, &inner);
		if (r != 0 && why != NULL)
			buf_addf(why, "%s: %s", path, buf_cstr(&inner));
		buf_free(&inner);
		if (r == 0 && pool != NULL) {
			pool->parsed++;
			/* without room, the same bytes are parsed again */
			(void)dkim_key_pool_add(pool, ret, 1);
		}
	}
	OPENSSL_cleanse(data, len);
	free(data);
	return r;
}

int
dkim_key_load_private(const char *path, bool allow_unsafe,
    struct dkim_privkey **ret, struct buf *why)
{
	return dkim_key_load_pooled(path, allow_unsafe, NULL, ret, why);
}
