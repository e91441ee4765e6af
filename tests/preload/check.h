/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * check.h - what the sampler's test programs check: a failed CHECK says
 * where and exits 1, so a test only has to look at the exit status.
 */
#ifndef HEAPTRACE_TESTS_PRELOAD_CHECK_H
#define HEAPTRACE_TESTS_PRELOAD_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

/* Fills n bytes with a pattern of seed; pattern_ok checks it back. */
static inline void fill(void *p, size_t n, unsigned seed)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 7);
}

static inline int pattern_ok(const void *p, size_t n, unsigned seed)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

static inline int aligned(const void *p, size_t a)
{
	return !((uintptr_t)p & (a - 1));
}

#endif /* HEAPTRACE_TESTS_PRELOAD_CHECK_H */
