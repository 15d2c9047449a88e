/*
 * hash.h -- the keyed hash of every hash table that holds names or bytes
 * a sender chooses (DNS cache keys, key records, ...).
 *
 * Why keyed: with a fixed function such as FNV-1a anyone can compute
 * names that all land in one bucket; a flood of them turns each lookup of
 * the table into a walk of one long chain (the DNS cache went from 0.17
 * to 9.7 us per cached lookup). With a secret key drawn once per process
 * the bucket of a name cannot be predicted from outside.
 *
 * The function is SipHash-1-3 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012), 64-bit output: the keyed hash made for hash
 * tables and used for them by Python, Rust and the Linux kernel; the
 * 1-3 rounds are the variant its authors give for hash tables, where the
 * output is never shown to the attacker. OpenSSL 3 has SipHash, but only
 * behind EVP_MAC: a context allocation and a provider fetch per call,
 * several times the cost of a whole cached lookup, so the 40 lines here
 * are our own. tests/unit/test_hash.c checks them against OpenSSL's
 * SIPHASH (c-rounds 1, d-rounds 3) on many inputs.
 *
 * The key: 16 bytes from getrandom(2), drawn on first use by whichever
 * thread comes first (pthread_once), the same for the life of the
 * process and every thread in it; a child made by fork() after first use
 * shares it. Not for anything that must hash the same across processes
 * or runs (file names, report ids): that is hash_stable, the same
 * function under a fixed key, which only serves where nobody can choose
 * inputs to collide or where a collision costs nothing but a name.
 *
 * Thread-safe; no allocation; never fails (no random source at all is a
 * broken system: panic()).
 */
#ifndef AUTHMILTER_HASH_H
#define AUTHMILTER_HASH_H

#include <stddef.h>
#include <stdint.h>

struct hash_key {
	uint64_t k0, k1; /* the 16 key bytes, little-endian halves */
};

/* hash_bytes -- the hash of salt and the len bytes at data under the
 * process key. salt is hashed ahead of the bytes (as its 8 little-endian
 * bytes): a small value that belongs to the table key (a record type, a
 * parameter), or 0. data may be NULL when len is 0. */
uint64_t hash_bytes(uint64_t salt, const void *data, size_t len);

/* hash_str -- hash_bytes of the bytes of the NUL-terminated s. */
uint64_t hash_str(uint64_t salt, const char *s);

/* hash_stable -- the same function under a fixed key (HASH_STABLE_K0,
 * HASH_STABLE_K1 below: the key of the SipHash paper's test vectors): the
 * same value in every process, run and version. For names and ids that
 * must come out alike every time (a re-sent report keeps its file name);
 * never for a hash table whose keys a sender chooses. */
#define HASH_STABLE_K0 0x0706050403020100ULL
#define HASH_STABLE_K1 0x0f0e0d0c0b0a0908ULL
uint64_t hash_stable(uint64_t salt, const void *data, size_t len);

/* hash_keyed -- the same function under key k (tests, or tables that
 * must hash alike everywhere). */
uint64_t hash_keyed(
    const struct hash_key *k, uint64_t salt, const void *data, size_t len);

#endif
