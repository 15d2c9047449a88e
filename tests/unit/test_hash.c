/*
 * test_hash.c -- the keyed hash (hash.h): SipHash-1-3 as OpenSSL computes
 * it (EVP_MAC "SIPHASH", c-rounds 1, d-rounds 3, 8-byte output) over
 * salt || data for every length that exercises the tail handling and many
 * keys; the process key differs from process to process and is stable
 * within one; salt and every byte change the hash.
 */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authmilter/hash.h"
#include "check.h"

/* OpenSSL's SipHash-1-3 of salt (8 little-endian bytes) || data. */
static uint64_t
ossl_siphash13(
    const struct hash_key *k, uint64_t salt, const uint8_t *data, size_t len)
{
	unsigned int c_rounds = 1, d_rounds = 3;
	size_t size = 8, outl = 0, i;
	uint8_t key[16], out[8], *msg = malloc(len + 8);
	OSSL_PARAM params[4];
	EVP_MAC_CTX *ctx;
	EVP_MAC *mac;
	uint64_t h = 0;

	if (msg == NULL)
		abort();
	for (i = 0; i < 8; i++) {
		key[i] = (uint8_t)(k->k0 >> (8 * i));
		key[8 + i] = (uint8_t)(k->k1 >> (8 * i));
		msg[i] = (uint8_t)(salt >> (8 * i));
	}
	if (len > 0)
		memcpy(msg + 8, data, len);
	params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
	params[1] =
	    OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_C_ROUNDS, &c_rounds);
	params[2] =
	    OSSL_PARAM_construct_uint(OSSL_MAC_PARAM_D_ROUNDS, &d_rounds);
	params[3] = OSSL_PARAM_construct_end();
	mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_SIPHASH, NULL);
	ctx = mac != NULL ? EVP_MAC_CTX_new(mac) : NULL;
	CHECK(ctx != NULL);
	if (ctx != NULL && EVP_MAC_init(ctx, key, sizeof(key), params) == 1 &&
	    EVP_MAC_update(ctx, msg, len + 8) == 1 &&
	    EVP_MAC_final(ctx, out, &outl, sizeof(out)) == 1 && outl == 8)
		for (i = 0; i < 8; i++)
			h |= (uint64_t)out[i] << (8 * i);
	else
		CHECK(!"OpenSSL SIPHASH failed");
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	free(msg);
	return h;
}

/* A small deterministic generator for keys and data (xorshift64). */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_against_openssl(void)
{
	uint8_t data[80];
	uint64_t seed = 0x9e3779b97f4a7c15ULL, salt;
	struct hash_key k;
	size_t len, i, round, bad = 0;

	for (round = 0; round < 40; round++) {
		k.k0 = rnd(&seed);
		k.k1 = rnd(&seed);
		salt = round % 3 == 0 ? 0 : rnd(&seed);
		for (len = 0; len <= sizeof(data); len++) {
			for (i = 0; i < len; i++)
				data[i] = (uint8_t)rnd(&seed);
			if (hash_keyed(&k, salt, data, len) !=
			    ossl_siphash13(&k, salt, data, len))
				bad++;
		}
	}
	CHECK_INT_EQ(bad, 0);
	/* the all-zero key and the key 00 01 .. 0f of the SipHash paper */
	k.k0 = k.k1 = 0;
	CHECK(hash_keyed(&k, 0, NULL, 0) == ossl_siphash13(&k, 0, NULL, 0));
	k.k0 = 0x0706050403020100ULL;
	k.k1 = 0x0f0e0d0c0b0a0908ULL;
	for (i = 0; i < 15; i++)
		data[i] = (uint8_t)i;
	CHECK(hash_keyed(&k, 0x0706050403020100ULL, data, 7) ==
	      ossl_siphash13(&k, 0x0706050403020100ULL, data, 7));
}

/* hash_str of "x" in a fresh process (a child that has not hashed). */
static uint64_t
child_hash(void)
{
	uint64_t h = 0;
	int fd[2], st;
	pid_t pid;

	if (pipe(fd) != 0)
		abort();
	pid = fork();
	if (pid == 0) {
		h = hash_str(0, "x");
		if (write(fd[1], &h, sizeof(h)) != (ssize_t)sizeof(h))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	CHECK(read(fd[0], &h, sizeof(h)) == (ssize_t)sizeof(h));
	close(fd[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0);
	return h;
}

/* Each process draws its own key: the same name hashes differently in
 * two processes (equal by chance once in 2^64). Runs before this process
 * hashes anything, so the children do not inherit a key. */
static void
test_process_key(void)
{
	uint64_t a = child_hash(), b = child_hash(), h;

	CHECK(a != 0 || b != 0);
	CHECK(a != b);
	h = hash_str(0, "x");
	CHECK(h != a && h != b);
	/* stable within the process, and the same as hash_bytes */
	CHECK(hash_str(0, "x") == h);
	CHECK(hash_bytes(0, "x", 1) == h);
	/* a child made after the first use shares the key */
	CHECK(child_hash() == h);
}

/* The salt and every byte take part. */
static void
test_inputs(void)
{
	char s[] = "mail.example.com";
	uint64_t h = hash_str(16, s);
	size_t i, same = 0;

	CHECK(hash_str(1, s) != h);
	CHECK(hash_str(16, "mail.example.co") != h);
	CHECK(hash_bytes(16, s, sizeof(s)) != h); /* with the NUL */
	for (i = 0; i < strlen(s); i++) {
		s[i] ^= 0x20;
		same += hash_str(16, s) == h;
		s[i] ^= 0x20;
	}
	CHECK_INT_EQ(same, 0);
	CHECK(hash_bytes(0, NULL, 0) == hash_str(0, ""));
}

/* hash_stable: the published fixed key, so the same in every process
 * (a child made before this process hashed anything too) and in every
 * version: the value for "x" is pinned (report ids are made of it; a new
 * value would rename every retried report). */
static void
test_stable(void)
{
	struct hash_key k = {HASH_STABLE_K0, HASH_STABLE_K1};
	uint64_t h = hash_stable(7, "x", 1);
	int fd[2], st;
	uint64_t c = 0;
	pid_t pid;

	CHECK(h == ossl_siphash13(&k, 7, (const uint8_t *)"x", 1));
	CHECK(h == 0x020ed7b0bc9c1626ULL);
	CHECK(hash_stable(7, "y", 1) != h && hash_stable(8, "x", 1) != h);
	CHECK(pipe(fd) == 0);
	if ((pid = fork()) == 0) {
		c = hash_stable(7, "x", 1);
		_exit(
		    write(fd[1], &c, sizeof(c)) == (ssize_t)sizeof(c) ? 0 : 1);
	}
	close(fd[1]);
	CHECK(read(fd[0], &c, sizeof(c)) == (ssize_t)sizeof(c));
	close(fd[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	      WEXITSTATUS(st) == 0);
	CHECK(c == h);
}

int
main(void)
{
	test_process_key();
	test_against_openssl();
	test_inputs();
	test_stable();
	return check_summary("hash");
}
