// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * mallocbench.c - the cost of one malloc+free pair, the unit heaptrace's
 * overhead is paid in.
 *
 * Usage: mallocbench THREADS SIZE PAIRS [new]
 * Each of THREADS threads does PAIRS malloc(SIZE)/free pairs (with "new":
 * C++ operator new(SIZE)/operator delete pairs, libstdc++'s), all starting
 * together; prints "ns_per_pair N": the slowest thread's loop time divided
 * by PAIRS, i.e. what one pair costs a thread while all of them run. Each
 * thread times itself (the main thread may not run until they are done),
 * so neither thread creation nor heaptrace's start-up is counted.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libstdc++'s operator new(size_t) and operator delete(void *), by their mangled names. */
void *_Znwm(unsigned long n);
void _ZdlPv(void *p);

static size_t size;
static long pairs;
static int use_new;
static pthread_barrier_t start;
static double slowest_ns;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *loop(void *arg)
{
	double t0, t;
	long i;

	(void)arg;
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (i = 0; i < pairs; i++) {
		void *p = use_new ? _Znwm(size) : malloc(size);

		/* Keep the compiler from pairing malloc with free away. */
		__asm__ volatile("" : : "r"(p) : "memory");
		if (use_new)
			_ZdlPv(p);
		else
			free(p);
	}
	t = now_ns() - t0;
	pthread_mutex_lock(&lock);
	if (t > slowest_ns)
		slowest_ns = t;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t tids[64];
	int threads, i;

	if (argc < 4 || argc > 5 || (argc == 5 && strcmp(argv[4], "new"))) {
		fprintf(stderr, "usage: mallocbench THREADS SIZE PAIRS [new]\n");
		return 2;
	}
	use_new = argc == 5;
	threads = atoi(argv[1]);
	size = (size_t)atol(argv[2]);
	pairs = atol(argv[3]);
	if (threads < 1 || threads > 64 || pairs < 1)
		return 2;
	pthread_barrier_init(&start, NULL, (unsigned int)threads);
	for (i = 0; i < threads; i++)
		pthread_create(&tids[i], NULL, loop, NULL);
	for (i = 0; i < threads; i++)
		pthread_join(tids[i], NULL);
	printf("ns_per_pair %.1f\n", slowest_ns / (double)pairs);
	return 0;
}
