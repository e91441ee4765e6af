// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * deepstacks.c - many distinct allocation stacks, for timing one dump.
 *
 * Usage: deepstacks BITS [PAUSE_US]
 * Allocates 2^BITS blocks of 64 bytes and keeps them. Block i is allocated
 * at the end of a chain of BITS calls, the k-th through left() or right()
 * as bit k of i says, so each block has a call path of its own: 2^BITS
 * distinct stacks (17 bits: 131072). Pauses PAUSE_US (default 10000) every
 * 1024 blocks so that a tracer recording every allocation (-r 1) keeps up
 * rather than drops events. Prints "done N" and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void **blocks;
static long nblocks;

static void walk(unsigned long path, int left_bits, long idx);

/* noinline and work after the call: no inlining, no tail calls, a frame each. */
__attribute__((noinline)) static void left(unsigned long path, int left_bits, long idx)
{
	walk(path >> 1, left_bits - 1, idx);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void right(unsigned long path, int left_bits, long idx)
{
	walk(path >> 1, left_bits - 1, idx);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void walk(unsigned long path, int left_bits, long idx)
{
	if (left_bits == 0) {
		blocks[idx] = malloc(64);
		__asm__ volatile("" ::: "memory");
		return;
	}
	if (path & 1)
		right(path, left_bits, idx);
	else
		left(path, left_bits, idx);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	int bits = argc >= 2 ? atoi(argv[1]) : 0;
	long pause_us = argc >= 3 ? atol(argv[2]) : 10000;
	long i;

	if (argc > 3 || bits < 1 || bits > 24 || pause_us < 0) {
		fprintf(stderr, "usage: deepstacks BITS (1 to 24) [PAUSE_US]\n");
		return 2;
	}
	nblocks = 1L << bits;
	blocks = calloc((size_t)nblocks, sizeof(*blocks));
	if (!blocks)
		return 1;
	for (i = 0; i < nblocks; i++) {
		walk((unsigned long)i, bits, i);
		if (i % 1024 == 1023)
			usleep((useconds_t)pause_us);
	}
	printf("done %ld\n", nblocks);
	return 0;
}
