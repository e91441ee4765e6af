// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * known.c - allocations a tracer can count exactly: each kind has a size
 * of its own (the table below, which tests/t1801-sampler-probes.sh
 * repeats), and every block is freed.
 *
 *   size  count  how
 *   1111   1000  malloc
 *   2222    500  calloc(2, 1111)
 *   3333    100  posix_memalign, alignment 8192 (page-aligned: the side table)
 *   4444     10  malloc, then realloc to 5555, then reallocarray to 6666
 *   5555     10  (moved from 4444: its free is 4444's)
 *   6666     10
 *    777     50  memalign(64)
 *
 * Usage: sampler-known [REPEAT]: does all of it REPEAT times (default 1).
 * sampler-known hold: allocates nothing, prints "ready" and waits for a
 * signal (a test reads its semaphores meanwhile).
 */
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static void once(void)
{
	static void *a[1000], *b[500], *c[100], *d[10], *e[50];
	int i;

	for (i = 0; i < 1000; i++)
		CHECK((a[i] = malloc(1111)) != NULL);
	for (i = 0; i < 500; i++)
		CHECK((b[i] = calloc(2, 1111)) != NULL);
	for (i = 0; i < 100; i++)
		CHECK(posix_memalign(&c[i], 8192, 3333) == 0);
	for (i = 0; i < 10; i++) {
		CHECK((d[i] = malloc(4444)) != NULL);
		memset(d[i], i, 4444);
		CHECK((d[i] = realloc(d[i], 5555)) != NULL);
		CHECK((d[i] = reallocarray(d[i], 6666, 1)) != NULL);
		CHECK(((unsigned char *)d[i])[4443] == i);
	}
	for (i = 0; i < 50; i++)
		CHECK((e[i] = memalign(64, 777)) != NULL);
	for (i = 0; i < 1000; i++)
		free(a[i]);
	for (i = 0; i < 500; i++)
		free(b[i]);
	for (i = 0; i < 100; i++)
		free(c[i]);
	for (i = 0; i < 10; i++)
		free(d[i]);
	for (i = 0; i < 50; i++)
		free(e[i]);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1, i;

	if (argc > 1 && !strcmp(argv[1], "hold")) {
		printf("ready\n");
		fflush(stdout);
		pause();
		return 0;
	}
	for (i = 0; i < n; i++)
		once();
	printf("known ok\n");
	return 0;
}
