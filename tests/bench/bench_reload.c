/*
 * bench_reload.c -- what a configuration reload costs with many private
 * keys: a KeyTable of N RSA keys (one file each, made here with the code
 * of `authmilter keygen`), loaded
 *
 *   - without a previous snapshot: every key file parsed, which is what
 *     every reload did before reloads took keys over (config_load);
 *   - after a snapshot of the same files (config_reload): every key taken
 *     over, the files still read and hashed;
 *   - after a snapshot, with one key file holding another key each time
 *     (key rotation): that one parsed, the others taken over.
 *
 *	bench_reload [N [ROUNDS [BITS]]]	(default 200 keys, 20 rounds,
 *						 2048 bits)
 *
 * Figures: milliseconds of wall clock and of process CPU per load
 * (mean over ROUNDS; each load includes freeing the snapshot it
 * replaces, as a reload does once its connections are done), and per
 * key. Printed, not asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authmilter/config.h"
#include "authmilter/dkim_keygen.h"

static char dir[] = "/tmp/bench_reload.XXXXXX";

static double
now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
put(const char *name, const char *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len) {
		perror(path);
		exit(1);
	}
	close(fd);
}

static void
new_key(unsigned bits, struct buf *pem)
{
	buf_reset(pem);
	if (dkim_keygen_pem(DKIM_KEY_RSA, bits, pem) != 0) {
		fprintf(stderr, "key generation failed\n");
		exit(1);
	}
}

/* The files: N keys, the KeyTable and SigningTable, the configuration. */
static void
make_files(size_t n, unsigned bits, struct buf *spare)
{
	struct buf kt, st, pem;
	char name[64];
	size_t i;

	buf_init(&kt, 1 << 20);
	buf_init(&st, 1 << 20);
	buf_init(&pem, 16384);
	for (i = 0; i < n; i++) {
		new_key(bits, &pem);
		snprintf(name, sizeof(name), "k%zu.private", i);
		put(name, pem.data, pem.len);
		buf_addf(&kt, "k%zu d%zu.example:sel:k%zu.private\n", i, i, i);
		buf_addf(&st, "d%zu.example k%zu\n", i, i);
	}
	new_key(bits, spare);
	put("KeyTable", kt.data, kt.len);
	put("SigningTable", st.data, st.len);
	buf_reset(&kt);
	buf_addf(&kt,
	    "KeyTable file:%s/KeyTable\nSigningTable file:%s/SigningTable\n",
	    dir, dir);
	put("authmilter.conf", kt.data, kt.len);
	buf_free(&kt);
	buf_free(&st);
	buf_free(&pem);
}

static struct config *
load(const char *conf, const struct config *prev)
{
	struct config *cfg = NULL;
	struct buf err;

	buf_init(&err, 1 << 16);
	if (config_reload(conf, prev, &cfg, &err) != 0) {
		fprintf(stderr, "%s", buf_cstr(&err));
		exit(1);
	}
	buf_free(&err);
	return cfg;
}

/* ROUNDS loads of conf, each after *cur when keep (else from nothing),
 * each replacing *cur; with swap, k0.private holds swap[0] and swap[1] in
 * turn (written before the clock starts). Prints one row. */
static void
measure(const char *what, const char *conf, struct config **cur, size_t rounds,
    size_t n, bool keep, const struct buf *const *swap)
{
	struct config *next;
	double w = 0, c = 0, w0, c0;
	size_t r;

	for (r = 0; r < rounds; r++) {
		if (swap != NULL)
			put("k0.private", swap[r % 2]->data, swap[r % 2]->len);
		w0 = now(CLOCK_MONOTONIC);
		c0 = now(CLOCK_PROCESS_CPUTIME_ID);
		next = load(conf, keep ? *cur : NULL);
		config_unref(*cur);
		w += now(CLOCK_MONOTONIC) - w0;
		c += now(CLOCK_PROCESS_CPUTIME_ID) - c0;
		*cur = next;
	}
	printf("%-44s %9.2f %9.2f %9.4f   %zu kept, %zu loaded\n", what,
	    w / (double)rounds, c / (double)rounds,
	    c / (double)rounds / (double)n, (*cur)->keys_kept,
	    (*cur)->keys_loaded);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
	size_t rounds = argc > 2 ? strtoul(argv[2], NULL, 10) : 20;
	unsigned bits = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 2048;
	struct buf spare, orig;
	const struct buf *swap[2] = {&spare, &orig};
	struct config *cur;
	char conf[128], cmd[160], b[16384];
	double t0;
	FILE *f;

	if (n == 0 || rounds == 0 || mkdtemp(dir) == NULL) {
		fprintf(stderr, "usage: bench_reload [N [ROUNDS [BITS]]]\n");
		return 2;
	}
	buf_init(&spare, 16384);
	buf_init(&orig, 16384);
	t0 = now(CLOCK_MONOTONIC);
	make_files(n, bits, &spare);
	snprintf(conf, sizeof(conf), "%s/authmilter.conf", dir);
	printf("%zu KeyTable entries, RSA-%u, one file each (made in %.1f s); "
	       "%zu rounds\n\n",
	    n, bits, (now(CLOCK_MONOTONIC) - t0) / 1e3, rounds);
	printf(
	    "%-44s %9s %9s %9s\n", "load", "wall-ms", "cpu-ms", "cpu-ms/key");

	cur = load(conf, NULL); /* warm-up: page cache, OpenSSL's tables */
	measure("no previous snapshot (every key parsed)", conf, &cur, rounds,
	    n, false, NULL);
	measure(
	    "reload, no key file changed", conf, &cur, rounds, n, true, NULL);
	/* k0.private alternates between two keys: one parsed a reload */
	snprintf(cmd, sizeof(cmd), "%s/k0.private", dir);
	if ((f = fopen(cmd, "rb")) != NULL) {
		buf_add(&orig, b, fread(b, 1, sizeof(b), f));
		fclose(f);
	}
	measure(
	    "reload, one key file changed", conf, &cur, rounds, n, true, swap);
	config_unref(cur);

	buf_free(&spare);
	buf_free(&orig);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
