/*
 * hash.c -- SipHash-1-3 under a per-process random key (hash.h).
 *
 * The message hashed is the 8 little-endian bytes of salt followed by the
 * data, processed as SipHash does: 8-byte little-endian words, each mixed
 * in with c = 1 SipRound; a last word holding the remaining bytes and the
 * total length mod 256 in its top byte; then d = 3 SipRounds.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include "authmilter/hash.h"
#include "authmilter/xalloc.h"

/* SipHash's initialisation constants ("somepseudorandomlygeneratedbytes") */
#define SIP_C0 0x736f6d6570736575ULL
#define SIP_C1 0x646f72616e646f6dULL
#define SIP_C2 0x6c7967656e657261ULL
#define SIP_C3 0x7465646279746573ULL

struct sip {
	uint64_t v0, v1, v2, v3;
};

static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
/* The process key: written once under hash_once, read-only after. */
static struct hash_key hash_process_key;

static uint64_t
rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static void
sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13) ^ s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16) ^ s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21) ^ s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17) ^ s->v2;
	s->v2 = rotl(s->v2, 32);
}

/* One message word: c = 1 round. */
static void
sip_word(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	s->v0 ^= m;
}

static uint64_t
load_le(const uint8_t *p, size_t n)
{
	uint64_t w = 0;

	while (n-- > 0)
		w = (w << 8) | p[n];
	return w;
}

uint64_t
hash_keyed(
    const struct hash_key *k, uint64_t salt, const void *data, size_t len)
{
	const uint8_t *p = data;
	struct sip s = {
	    k->k0 ^ SIP_C0, k->k1 ^ SIP_C1, k->k0 ^ SIP_C2, k->k1 ^ SIP_C3};
	size_t left = len;

	sip_word(&s, salt);
	for (; left >= 8; left -= 8, p += 8)
		sip_word(&s, load_le(p, 8));
	/* the last word: the rest, and the length (salt included) mod 256
	 * in the top byte */
	sip_word(&s, (left > 0 ? load_le(p, left) : 0) |
	                 ((uint64_t)((len + 8) & 0xff) << 56));
	s.v2 ^= 0xff;
	sip_round(&s); /* d = 3 rounds */
	sip_round(&s);
	sip_round(&s);
	return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

static void
hash_seed(void)
{
	uint8_t key[16];
	size_t got = 0;
	ssize_t n;

	while (got < sizeof(key)) {
		n = getrandom(key + got, sizeof(key) - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			panic("hash: getrandom: %s",
			    n < 0 ? strerror(errno) : "no bytes");
		got += (size_t)n;
	}
	hash_process_key.k0 = load_le(key, 8);
	hash_process_key.k1 = load_le(key + 8, 8);
}

uint64_t
hash_bytes(uint64_t salt, const void *data, size_t len)
{
	pthread_once(&hash_once, hash_seed);
	return hash_keyed(&hash_process_key, salt, data, len);
}

uint64_t
hash_str(uint64_t salt, const char *s)
{
	return hash_bytes(salt, s, strlen(s));
}

uint64_t
hash_stable(uint64_t salt, const void *data, size_t len)
{
	static const struct hash_key stable = {HASH_STABLE_K0, HASH_STABLE_K1};

	return hash_keyed(&stable, salt, data, len);
}
