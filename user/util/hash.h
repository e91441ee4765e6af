/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * hash.h - the one integer mixer the daemon's hash tables and hashes share.
 */
#ifndef HEAPTRACE_HASH_H
#define HEAPTRACE_HASH_H

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

#endif /* HEAPTRACE_HASH_H */
