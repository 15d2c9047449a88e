/*
 * test_dkim_key.c -- the key modules: key records, good and bad
 * (dkim_pubkey), private keys in every form (dkim_privkey), key files and
 * their permissions and read errors (dkim_key: EINTR through a pipe and
 * signals, EIO from a terminal whose other side closed), pools of keys
 * that later loads take over (dkim_key_pool), the sign/verify
 * primitives, the algorithm table (dkim_alg). Base64 is test_b64.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/bounds.h"
#include "authmilter/dkim_alg.h"
#include "authmilter/dkim_key.h"
#include "authmilter/dkim_keygen.h"
#include "authmilter/dkim_privkey.h"
#include "authmilter/dkim_pubkey.h"
#include "check.h"
#include "dkim_testutil.h"

#define RFC8463_ED "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
#define RFC8463_RSA                                                            \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk"   \
	"08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8"    \
	"uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kr"    \
	"yOTIKT+l/K4w3QIDAQAB"
/* the same, with whitespace inside p= as a TXT record may have it */
#define RFC8463_RSA_SPACED                                                     \
	"MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk"   \
	"08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8"    \
	" uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kr"   \
	"\r\n\tyOTIKT+l/K4w3QIDAQAB"

struct record_case {
	const char *name;
	const char *record;
	unsigned min_bits;
	int want;        /* 0 or -EINVAL */
	const char *why; /* expected reason (prefix) when want != 0 */
	enum dkim_key_type type;
	unsigned bits;
	bool testing, strict;
};

static const struct record_case record_cases[] = {
    {"rfc8463 ed25519", "v=DKIM1; k=ed25519; p=" RFC8463_ED, 0, 0, NULL,
        DKIM_KEY_ED25519, 256, false, false},
    {"rfc8463 rsa", "v=DKIM1; k=rsa; p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA,
        1024, false, false},
    {"no v, no k", "p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA, 1024, false,
        false},
    {"whitespace in p", "v=DKIM1; p=" RFC8463_RSA_SPACED, 0, 0, NULL,
        DKIM_KEY_RSA, 1024, false, false},
    {"h=sha1:sha256", "h=sha1 : sha256; p=" RFC8463_RSA, 0, 0, NULL,
        DKIM_KEY_RSA, 1024, false, false},
    {"s=email:web", "s=web:email; p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA,
        1024, false, false},
    {"s=*", "s=*; p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA, 1024, false,
        false},
    {"t=y:s", "v=DKIM1; t=y:s; p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA, 1024,
        true, true},
    {"t=y", "t=y; p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA, 1024, true, false},
    {"t=unknown flag", "t=x; p=" RFC8463_RSA, 0, 0, NULL, DKIM_KEY_RSA, 1024,
        false, false},
    {"unknown tags ignored", "v=DKIM1; n=notes; zz=1; p=" RFC8463_RSA, 0, 0,
        NULL, DKIM_KEY_RSA, 1024, false, false},
    {"revoked", "v=DKIM1; k=rsa; p=", 0, -EINVAL, "key revoked", 0, 0, false,
        false},
    {"v= after p=", "p= ; v=", 0, -EINVAL, "v= not first", 0, 0, false, false},
    {"revoked alone", "p=", 0, -EINVAL, "key revoked", 0, 0, false, false},
    {"min bits parameter", "p=" RFC8463_RSA, 2048, -EINVAL,
        "key too small (1024 bits, minimum 2048)", 0, 0, false, false},
    {"unknown k", "v=DKIM1; k=dsa; p=" RFC8463_RSA, 0, -EINVAL,
        "unknown key type (k=dsa)", 0, 0, false, false},
    {"bad base64", "p=MIGf!!!!", 0, -EINVAL, "bad base64 in p=", 0, 0, false,
        false},
    {"base64 not padded",
        "p=QUJD"
        "QQ",
        0, -EINVAL, "bad base64 in p=", 0, 0, false, false},
    {"base64 with '-'", "p=QUJD-UJD", 0, -EINVAL, "bad base64 in p=", 0, 0,
        false, false},
    {"h=sha1 only", "h=sha1; p=" RFC8463_RSA, 0, -EINVAL,
        "h= does not allow sha256", 0, 0, false, false},
    {"s=web", "s=web; p=" RFC8463_RSA, 0, -EINVAL, "not for email (s=)", 0, 0,
        false, false},
    {"v not first", "k=rsa; v=DKIM1; p=" RFC8463_RSA, 0, -EINVAL,
        "v= not first", 0, 0, false, false},
    {"v=DKIM2", "v=DKIM2; p=" RFC8463_RSA, 0, -EINVAL, "v= not DKIM1", 0, 0,
        false, false},
    {"no p", "v=DKIM1; k=rsa", 0, -EINVAL, "no p= tag", 0, 0, false, false},
    {"empty record", "", 0, -EINVAL, "no p= tag", 0, 0, false, false},
    {"duplicate p", "p=" RFC8463_ED "; p=" RFC8463_ED, 0, -EINVAL,
        "bad key record syntax: duplicate tag", 0, 0, false, false},
    {"syntax", "v=DKIM1; =x", 0, -EINVAL, "bad key record syntax: ", 0, 0,
        false, false},
    {"8-bit byte", "v=DKIM1; n=caf\xc3\xa9; p=" RFC8463_RSA, 0, -EINVAL,
        "bad key record syntax: ", 0, 0, false, false},
    {"ed25519 short",
        "k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
        "AAAAAAAAAA==",
        0, -EINVAL, "bad Ed25519 key (length 31)", 0, 0, false, false},
    {"ed25519 given rsa", "k=ed25519; p=" RFC8463_RSA, 0, -EINVAL,
        "bad Ed25519 key (length 162)", 0, 0, false, false},
    {"rsa given ed25519", "k=rsa; p=" RFC8463_ED, 0, -EINVAL, "bad RSA key", 0,
        0, false, false},
    {"rsa garbage DER", "p=QUJDRA==", 0, -EINVAL, "bad RSA key", 0, 0, false,
        false},
    {"rsa DER with trailing byte", "p=" RFC8463_RSA "AA==", 0, -EINVAL,
        "bad RSA key", 0, 0, false, false},
};

static void
test_records(void)
{
	size_t i;

	for (i = 0; i < sizeof(record_cases) / sizeof(record_cases[0]); i++) {
		const struct record_case *c = &record_cases[i];
		struct dkim_pubkey *k = NULL;
		struct buf why;
		int r;

		buf_init(&why, 1024);
		r = dkim_pubkey_parse(
		    c->record, strlen(c->record), c->min_bits, &k, &why);
		CHECK_INT_EQ(r, c->want);
		if (r != c->want)
			fprintf(stderr, "  case \"%s\": %s\n", c->name,
			    buf_cstr(&why));
		if (r == 0 && c->want == 0) {
			CHECK_INT_EQ(k->type, c->type);
			CHECK_INT_EQ(k->bits, c->bits);
			CHECK_INT_EQ(k->testing, c->testing);
			CHECK_INT_EQ(k->strict, c->strict);
		}
		if (r != 0 && c->why != NULL) {
			CHECK(strncmp(buf_cstr(&why), c->why, strlen(c->why)) ==
			      0);
			if (strncmp(buf_cstr(&why), c->why, strlen(c->why)) !=
			    0)
				fprintf(stderr, "  case \"%s\": why \"%s\"\n",
				    c->name, buf_cstr(&why));
		}
		dkim_pubkey_unref(k);
		buf_free(&why);
	}
}

/* Records read from fixture files: a key too small, a bare RSAPublicKey. */
static void
test_record_files(void)
{
	struct dkim_pubkey *k = NULL, *k2;
	struct buf why;
	size_t len;
	char *rec;

	buf_init(&why, 1024);
	rec = tu_read("test-rsa512.record.txt", &len);
	CHECK(rec != NULL);
	if (rec != NULL) {
		CHECK_INT_EQ(dkim_pubkey_parse(rec, len, 0, &k, &why), -EINVAL);
		CHECK_STR_EQ(
		    buf_cstr(&why), "key too small (512 bits, minimum 1024)");
		/* a lower minimum is a parameter (RFC 8301 allows policy) */
		CHECK_INT_EQ(dkim_pubkey_parse(rec, len, 512, &k, NULL), 0);
		if (k != NULL)
			CHECK_INT_EQ(k->bits, 512);
		k = dkim_pubkey_unref(k);
	}
	free(rec);
	rec = tu_read("test-rsa2048-bare.record.txt", &len);
	CHECK(rec != NULL);
	if (rec != NULL) {
		CHECK_INT_EQ(dkim_pubkey_parse(rec, len, 0, &k, NULL), 0);
		if (k != NULL) {
			CHECK_INT_EQ(k->bits, 2048);
			CHECK_INT_EQ(k->type, DKIM_KEY_RSA);
			k2 = dkim_pubkey_ref(k);
			CHECK(k2 == k);
			dkim_pubkey_unref(k2);
		}
		dkim_pubkey_unref(k);
	}
	free(rec);
	buf_free(&why);
	CHECK(dkim_pubkey_unref(NULL) == NULL);
}

struct priv_case {
	const char *file;
	int want;
	enum dkim_key_type type;
	unsigned bits;
	const char *record; /* fixture file or literal record, or NULL */
	const char *why;    /* reason suffix when want != 0 */
};

static const struct priv_case priv_cases[] = {
    {"test-rsa2048.pkcs1.pem", 0, DKIM_KEY_RSA, 2048,
        "@test-rsa2048.record.txt", NULL},
    {"test-rsa2048.pkcs8.pem", 0, DKIM_KEY_RSA, 2048,
        "@test-rsa2048.record.txt", NULL},
    {"test-ed25519.pkcs8.pem", 0, DKIM_KEY_ED25519, 256, NULL, NULL},
    {"rfc8463-A1-ed25519.seed.b64", 0, DKIM_KEY_ED25519, 256,
        "v=DKIM1; k=ed25519; p=" RFC8463_ED, NULL},
    {"rfc8463-A1-rsa.private.pem", 0, DKIM_KEY_RSA, 1024,
        "v=DKIM1; k=rsa; p=" RFC8463_RSA, NULL},
    {"rfc6376-appendixC-rsa.private.pem", 0, DKIM_KEY_RSA, 1024, NULL, NULL},
    {"test-rsa512.pem", -EINVAL, 0, 0, NULL,
        "RSA key of 512 bits (allowed: 1024 to 8192)"},
    {"test-rsa2048.encrypted.pem", -EINVAL, 0, 0, NULL,
        "not a PEM private key or Ed25519 seed (or encrypted)"},
    {"test-ec256.pem", -EINVAL, 0, 0, NULL,
        "unsupported key type (not RSA or Ed25519)"},
    {"rfc8463.zone", -EINVAL, 0, 0, NULL,
        "not a PEM private key or Ed25519 seed (or encrypted)"},
    {"no-such-file.pem", -ENOENT, 0, 0, NULL, "No such file or directory"},
};

static char *
fixture_path(const char *name)
{
	const char *root = getenv("AUTHMILTER_SOURCE_ROOT");
	static char path[1024];

	snprintf(path, sizeof(path), "%s/tests/data/dkim/%s",
	    root != NULL ? root : "../..", name);
	return path;
}

static void
check_record(struct dkim_privkey *k, const char *want)
{
	struct buf rec;
	char *file = NULL;

	if (want[0] == '@')
		want = file = tu_read(want + 1, NULL);
	CHECK(want != NULL);
	buf_init(&rec, 8192);
	CHECK_INT_EQ(dkim_privkey_record(k, &rec), 0);
	if (want != NULL)
		CHECK_STR_EQ(buf_cstr(&rec), want);
	buf_free(&rec);
	free(file);
}

static void
test_private(void)
{
	size_t i;

	for (i = 0; i < sizeof(priv_cases) / sizeof(priv_cases[0]); i++) {
		const struct priv_case *c = &priv_cases[i];
		struct dkim_privkey *k = NULL;
		const char *path = fixture_path(c->file);
		struct buf why;
		int r;

		buf_init(&why, 2048);
		/* fixtures are committed world-readable: allow_unsafe */
		r = dkim_key_load_private(path, true, &k, &why);
		CHECK_INT_EQ(r, c->want);
		if (r != c->want)
			fprintf(stderr, "  %s: %s\n", c->file, buf_cstr(&why));
		if (r == 0) {
			CHECK_INT_EQ(dkim_privkey_type(k), c->type);
			CHECK_INT_EQ(dkim_privkey_bits(k), c->bits);
			CHECK_INT_EQ(dkim_privkey_alg(k),
			    c->type == DKIM_KEY_RSA ? DKIM_ALG_RSA_SHA256
			                            : DKIM_ALG_ED25519_SHA256);
			if (c->record != NULL)
				check_record(k, c->record);
		} else if (c->why != NULL) {
			/* "<path>: <reason>" */
			size_t pl = strlen(path);

			CHECK(strncmp(buf_cstr(&why), path, pl) == 0);
			CHECK(why.len >= pl + 2 &&
			      strcmp(buf_cstr(&why) + pl + 2, c->why) == 0);
			if (why.len < pl + 2 ||
			    strcmp(buf_cstr(&why) + pl + 2, c->why) != 0)
				fprintf(stderr, "  %s: why \"%s\"\n", c->file,
				    buf_cstr(&why));
		}
		dkim_privkey_unref(k);
		buf_free(&why);
	}
}

/* Bytes given in memory rather than a file. */
static void
test_private_memory(void)
{
	static const char garbage[] = "-----BEGIN RSA PRIVATE KEY-----\n"
	                              "QUJDRA==\n"
	                              "-----END RSA PRIVATE KEY-----\n";
	static const char truncated[] = "-----BEGIN PRIVATE KEY-----\n"
	                                "MC4CAQAwBQYDK2Vw\n";
	static const char seed31[] =
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n";
	struct dkim_privkey *k = NULL;
	struct buf why;

	buf_init(&why, 1024);
	CHECK_INT_EQ(
	    dkim_privkey_parse(garbage, strlen(garbage), &k, &why), -EINVAL);
	CHECK_STR_EQ(buf_cstr(&why),
	    "not a PEM private key or Ed25519 seed (or encrypted)");
	CHECK_INT_EQ(dkim_privkey_parse(truncated, strlen(truncated), &k, NULL),
	    -EINVAL);
	CHECK_INT_EQ(
	    dkim_privkey_parse(seed31, strlen(seed31), &k, NULL), -EINVAL);
	CHECK_INT_EQ(dkim_privkey_parse("", 0, &k, NULL), -EINVAL);
	CHECK(k == NULL);
	buf_free(&why);
	CHECK(dkim_privkey_unref(NULL) == NULL);
}

/* RequireSafeKeys: a key file others may read is refused by name. */
static void
test_permissions(void)
{
	char tmpl[] = "/tmp/test_dkim_key.XXXXXX";
	struct dkim_privkey *k = NULL;
	struct buf why;
	size_t len;
	char *pem = tu_read("test-ed25519.pkcs8.pem", &len);
	int fd = mkstemp(tmpl);

	CHECK(pem != NULL && fd >= 0);
	if (pem == NULL || fd < 0)
		return;
	CHECK_INT_EQ(write(fd, pem, len), (long long)len);
	close(fd);
	buf_init(&why, 1024);
	CHECK_INT_EQ(chmod(tmpl, 0600), 0);
	CHECK_INT_EQ(dkim_key_load_private(tmpl, false, &k, &why), 0);
	k = dkim_privkey_unref(k);
	CHECK_INT_EQ(chmod(tmpl, 0640), 0);
	CHECK_INT_EQ(dkim_key_load_private(tmpl, false, &k, &why), -EPERM);
	CHECK(strstr(buf_cstr(&why), tmpl) != NULL);
	CHECK(strstr(buf_cstr(&why), "mode 0640") != NULL);
	CHECK(k == NULL);
	CHECK_INT_EQ(chmod(tmpl, 0604), 0);
	CHECK_INT_EQ(dkim_key_load_private(tmpl, false, &k, NULL), -EPERM);
	CHECK_INT_EQ(dkim_key_load_private(tmpl, true, &k, NULL), 0);
	dkim_privkey_unref(k);
	unlink(tmpl);
	/* a directory is not a key */
	buf_reset(&why);
	CHECK_INT_EQ(dkim_key_load_private("/tmp", true, &k, &why), -EINVAL);
	CHECK_STR_EQ(buf_cstr(&why), "/tmp: not a regular file");
	buf_free(&why);
	free(pem);
}

/* ---- reading key files: EINTR is read again, EIO is a failure ---- */

static volatile sig_atomic_t signals_seen;

static void
on_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

struct feeder {
	pthread_t reader;
	int fd;
	const char *data;
	size_t len;
};

/* Interrupt the reader while it waits on the empty pipe, then write the
 * key in two parts with another signal between them, then close. */
static void *
feed(void *p)
{
	struct feeder *f = p;
	const struct timespec pause = {0, 5 * 1000 * 1000};
	int i;

	for (i = 0; i < 6; i++) {
		nanosleep(&pause, NULL);
		pthread_kill(f->reader, SIGUSR1);
	}
	if (write(f->fd, f->data, f->len / 2) < 0)
		perror("write");
	nanosleep(&pause, NULL);
	pthread_kill(f->reader, SIGUSR1);
	nanosleep(&pause, NULL);
	if (write(f->fd, f->data + f->len / 2, f->len - f->len / 2) < 0)
		perror("write");
	close(f->fd);
	return NULL;
}

static void
test_read_eintr(void)
{
	struct sigaction sa, old;
	struct feeder f;
	pthread_t t;
	char *pem = tu_read("test-ed25519.pkcs8.pem", &f.len), *data = NULL;
	size_t len = 0;
	int pfd[2];

	CHECK(pem != NULL);
	CHECK_INT_EQ(pipe(pfd), 0);
	if (pem == NULL)
		return;
	/* no SA_RESTART: a blocked read() returns EINTR */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	CHECK_INT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
	signals_seen = 0;
	f.reader = pthread_self();
	f.fd = pfd[1];
	f.data = pem;
	CHECK_INT_EQ(pthread_create(&t, NULL, feed, &f), 0);
	CHECK_INT_EQ(
	    dkim_key_read(pfd[0], "pipe", 65536, &data, &len, NULL), 0);
	pthread_join(t, NULL);
	/* pending signals merge when the reader is slow to run: at least
	 * one arrived */
	CHECK(signals_seen > 0);
	/* the whole key, not the part before an interruption */
	CHECK(data != NULL);
	if (data != NULL)
		CHECK_MEM_EQ(data, len, pem, f.len);
	sigaction(SIGUSR1, &old, NULL);
	close(pfd[0]);
	free(data);
	free(pem);
}

/* A terminal whose other side has gone away answers read() with EIO. */
static void
test_read_eio(void)
{
	char *data = NULL;
	size_t len = 0;
	struct buf why;
	int m, s;

	m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(m >= 0);
	if (m < 0)
		return;
	CHECK(grantpt(m) == 0 && unlockpt(m) == 0);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	if (s >= 0)
		close(s);
	buf_init(&why, 256);
	CHECK_INT_EQ(dkim_key_read(m, "/etc/authmilter/k.private", 65536, &data,
	                 &len, &why),
	    -EIO);
	CHECK_STR_EQ(buf_cstr(&why),
	    "/etc/authmilter/k.private: read failed: Input/output error");
	CHECK(data == NULL);
	close(m);
	buf_free(&why);
}

/* More than max bytes from a descriptor that fstat cannot size. */
static void
test_read_too_large(void)
{
	char *data = NULL;
	size_t len = 0;
	struct buf why;
	int pfd[2];

	CHECK_INT_EQ(pipe(pfd), 0);
	CHECK_INT_EQ(write(pfd[1], "0123456789abcdefg", 17), 17);
	close(pfd[1]);
	buf_init(&why, 256);
	CHECK_INT_EQ(dkim_key_read(pfd[0], "k", 16, &data, &len, &why), -EFBIG);
	CHECK_STR_EQ(buf_cstr(&why), "k: larger than 16 bytes, not a key");
	close(pfd[0]);
	/* exactly max is fine */
	CHECK_INT_EQ(pipe(pfd), 0);
	CHECK_INT_EQ(write(pfd[1], "0123456789abcdef", 16), 16);
	close(pfd[1]);
	CHECK_INT_EQ(dkim_key_read(pfd[0], "k", 16, &data, &len, NULL), 0);
	CHECK(
	    data != NULL && len == 16 && strcmp(data, "0123456789abcdef") == 0);
	close(pfd[0]);
	free(data);
	buf_free(&why);
}

/* Sign a digest with each key kind, verify it with the published form. */
/* ---- pools: a file whose bytes a pooled key came from is not parsed ---- */

#define POOL_KEYS 40

/* dir/kI.private: a new Ed25519 key, or (same >= 0) the bytes of
 * dir/kSAME.private. */
static void
pool_file(const char *dir, int i, int same)
{
	char path[128], data[4096];
	struct buf pem;
	ssize_t n;
	int fd;

	buf_init(&pem, sizeof(data));
	if (same >= 0) {
		snprintf(path, sizeof(path), "%s/k%d.private", dir, same);
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, data, sizeof(data)) : -1;
		CHECK(n > 0);
		if (n > 0)
			buf_add(&pem, data, (size_t)n);
		if (fd >= 0)
			close(fd);
	} else
		CHECK_INT_EQ(dkim_keygen_pem(DKIM_KEY_ED25519, 0, &pem), 0);
	snprintf(path, sizeof(path), "%s/k%d.private", dir, i);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, pem.data, pem.len) == (ssize_t)pem.len);
	if (fd >= 0)
		close(fd);
	buf_free(&pem);
}

/* Load dir/kI.private through pool. */
static struct dkim_privkey *
pool_load(const char *dir, int i, struct dkim_key_pool *pool)
{
	struct dkim_privkey *k = NULL;
	char path[128];

	snprintf(path, sizeof(path), "%s/k%d.private", dir, i);
	CHECK_INT_EQ(dkim_key_load_pooled(path, false, pool, &k, NULL), 0);
	return k;
}

static void
test_pool(void)
{
	char dir[] = "/tmp/test_dkim_key_pool.XXXXXX", cmd[64];
	struct dkim_privkey *first[POOL_KEYS + 1], *again[POOL_KEYS + 1];
	struct dkim_privkey *k, *k3, *k5;
	struct dkim_key_pool p1 = {0}, p2 = {0};
	size_t i;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	for (i = 0; i < POOL_KEYS; i++)
		pool_file(dir, (int)i, -1);
	pool_file(dir, POOL_KEYS, 7); /* the bytes of k7, another file */
	/* one load: every file parsed once, the pool kept in order */
	for (i = 0; i <= POOL_KEYS; i++)
		first[i] = pool_load(dir, (int)i, &p1);
	CHECK_INT_EQ(p1.parsed, POOL_KEYS);
	CHECK_INT_EQ(p1.kept, 1);
	CHECK_INT_EQ(p1.n, POOL_KEYS);
	CHECK(first[POOL_KEYS] == first[7]);
	CHECK(first[6] != first[7]);
	for (i = 1; i < p1.n; i++)
		CHECK(memcmp(dkim_privkey_source(p1.v[i - 1]),
		          dkim_privkey_source(p1.v[i]),
		          DKIM_PRIVKEY_SOURCE_LEN) < 0);
	/* the next load, through a pool of the first one's keys: the same
	 * keys, nothing parsed */
	CHECK_INT_EQ(dkim_key_pool_add(&p2, first, POOL_KEYS + 1), 0);
	for (i = 0; i <= POOL_KEYS; i++) {
		again[i] = pool_load(dir, (int)i, &p2);
		CHECK(again[i] == first[i]);
	}
	CHECK_INT_EQ(p2.kept, POOL_KEYS + 1);
	CHECK_INT_EQ(p2.parsed, 0);
	/* k3 gets another key, k5 one more byte: parsed, new keys */
	pool_file(dir, 3, -1);
	snprintf(cmd, sizeof(cmd), "echo >> %s/k5.private", dir);
	CHECK_INT_EQ(system(cmd), 0);
	/* (the pool borrows them: they stay until it goes) */
	k3 = pool_load(dir, 3, &p2);
	CHECK(k3 != NULL && k3 != first[3]);
	k5 = pool_load(dir, 5, &p2);
	CHECK(k5 != NULL && k5 != first[5]);
	CHECK_INT_EQ(p2.parsed, 2);
	/* a file gone is an error, as without a pool */
	snprintf(cmd, sizeof(cmd), "%s/k9.private", dir);
	CHECK_INT_EQ(unlink(cmd), 0);
	k = NULL;
	CHECK_INT_EQ(dkim_key_load_pooled(cmd, false, &p2, &k, NULL), -ENOENT);
	CHECK(k == NULL);
	CHECK_INT_EQ(p2.kept + p2.parsed, POOL_KEYS + 3);
	dkim_key_pool_free(&p1);
	dkim_key_pool_free(&p2);
	CHECK(p2.v == NULL && p2.n == 0);
	dkim_privkey_unref(k3);
	dkim_privkey_unref(k5);
	for (i = 0; i <= POOL_KEYS; i++) {
		dkim_privkey_unref(first[i]);
		dkim_privkey_unref(again[i]);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_INT_EQ(system(cmd), 0);
}

static void
test_sign_verify(void)
{
	static const char *files[] = {"test-rsa2048.pkcs8.pem",
	    "test-ed25519.pkcs8.pem", "rfc8463-A1-ed25519.seed.b64"};
	uint8_t digest[DKIM_DIGEST_LEN], sig[DKIM_SIG_MAX];
	size_t i, siglen;

	memset(digest, 0x5a, sizeof(digest));
	for (i = 0; i < 3; i++) {
		struct dkim_privkey *k = NULL;
		struct dkim_pubkey *pk = NULL;
		enum dkim_alg alg, other;
		struct buf rec;

		CHECK_INT_EQ(dkim_key_load_private(
		                 fixture_path(files[i]), true, &k, NULL),
		    0);
		if (k == NULL)
			continue;
		alg = dkim_privkey_alg(k);
		other = alg == DKIM_ALG_RSA_SHA256 ? DKIM_ALG_ED25519_SHA256
		                                   : DKIM_ALG_RSA_SHA256;
		buf_init(&rec, 8192);
		CHECK_INT_EQ(dkim_privkey_record(k, &rec), 0);
		CHECK_INT_EQ(
		    dkim_pubkey_parse(rec.data, rec.len, 0, &pk, NULL), 0);
		CHECK_INT_EQ(dkim_privkey_sign(k, digest, sig, &siglen), 0);
		CHECK_INT_EQ(siglen, alg == DKIM_ALG_RSA_SHA256 ? 256 : 64);
		if (pk != NULL) {
			CHECK_INT_EQ(
			    dkim_pubkey_verify(pk, alg, digest, sig, siglen),
			    0);
			CHECK_INT_EQ(
			    dkim_pubkey_verify(pk, other, digest, sig, siglen),
			    -EINVAL);
			sig[siglen / 2] ^= 1;
			CHECK_INT_EQ(
			    dkim_pubkey_verify(pk, alg, digest, sig, siglen),
			    -EBADMSG);
			CHECK_INT_EQ(dkim_pubkey_verify(
			                 pk, alg, digest, sig, siglen - 1),
			    -EBADMSG);
		}
		dkim_pubkey_unref(pk);
		dkim_privkey_unref(k);
		buf_free(&rec);
	}
}

static void
test_alg_names(void)
{
	enum dkim_alg a;

	CHECK_INT_EQ(dkim_alg_parse("rsa-sha256", 10, &a), 0);
	CHECK_INT_EQ(a, DKIM_ALG_RSA_SHA256);
	CHECK_INT_EQ(dkim_alg_parse("ED25519-SHA256", 14, &a), 0);
	CHECK_INT_EQ(a, DKIM_ALG_ED25519_SHA256);
	CHECK_INT_EQ(dkim_alg_parse("rsa-sha1", 8, &a), -EINVAL);
	CHECK_INT_EQ(dkim_alg_parse("rsa-sha2567", 11, &a), -EINVAL);
	CHECK_STR_EQ(dkim_alg_name(DKIM_ALG_ED25519_SHA256), "ed25519-sha256");
	CHECK_STR_EQ(dkim_key_type_name(DKIM_KEY_RSA), "rsa");
	CHECK_INT_EQ(
	    dkim_alg_key_type(DKIM_ALG_ED25519_SHA256), DKIM_KEY_ED25519);
}

int
main(void)
{
	test_records();
	test_record_files();
	test_private();
	test_private_memory();
	test_permissions();
	test_read_eintr();
	test_read_eio();
	test_read_too_large();
	test_pool();
	test_sign_verify();
	test_alg_names();
	return check_summary("dkim_key");
}
