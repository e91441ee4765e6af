/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * hash.h - the one integer mixer the daemon's hash tables and hashes share,
 * and the hashes of strings and of arrays of words built on it (the keys
 * htab.h is given).
 */
#ifndef HEAPTRACE_HASH_H
#define HEAPTRACE_HASH_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64's finalizer: cheap, and every input bit reaches the low bits tables mask. */
static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebULL;
	h ^= h >> 31;
	return h;
}

/* FNV-1a over the bytes, then mix64: FNV alone leaves the low bits weak. */
static inline uint64_t hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * 0x100000001b3ULL;
	return mix64(h);
}

/* A NUL-terminated string's hash_bytes(), without a strlen() pass. */
static inline uint64_t hash_str(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix64(h);
}

/* Order matters: the same words in another order hash differently. */
static inline uint64_t hash_u64s(uint64_t seed, const uint64_t *v, size_t n)
{
	uint64_t h = seed;
	size_t i;

	for (i = 0; i < n; i++)
		h = mix64(h ^ v[i]) + i;
	return h;
}

#endif /* HEAPTRACE_HASH_H */
