/*
 * dkim_key.c -- reading DKIM private key files (see dkim_key.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "authmilter/dkim_key.h"

/* A private key file is a few KB; anything bigger is not a key. */
#define DKIM_KEY_FILE_MAX 65536

/* Read the whole file into a heap buffer; reasons name the file. */
static int
read_key_file(const char *path, bool allow_unsafe, char **ret_data,
    size_t *ret_len, struct buf *why)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *data = NULL;
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
	data = malloc((size_t)st.st_size + 1);
	if (data == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while (got < (size_t)st.st_size &&
	       (n = read(fd, data + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	close(fd);
	*ret_data = data;
	*ret_len = got;
	return 0;
}

int
dkim_key_load_private(const char *path, bool allow_unsafe,
    struct dkim_privkey **ret, struct buf *why)
{
	struct buf inner;
	char *data = NULL;
	size_t len = 0;
	int r;

	r = read_key_file(path, allow_unsafe, &data, &len, why);
	if (r != 0)
		return r;
	buf_init(&inner, 512);
	r = dkim_privkey_parse(data, len, ret, &inner);
	OPENSSL_cleanse(data, len);
	free(data);
	if (r != 0 && why != NULL)
		buf_addf(why, "%s: %s", path, buf_cstr(&inner));
	buf_free(&inner);
	return r;
}
