// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * exercise.c - every function libheaptrace-sampler.so wraps, used the way
 * programs use them, each result checked: contents kept, alignment, usable
 * size at least what was asked. Threads freeing each other's blocks, a
 * fork whose child frees its parent's blocks, malloc in a signal handler,
 * a dlopened library that allocates.
 *
 * Usage: sampler-exercise DLO_PATH. Prints "exercise ok" and exits 0 when
 * every check passed, else says which one failed and exits 1.
 */
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

#define THREADS	   4
#define PER_THREAD 20000
#define LIVE	   1024

static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A block of n bytes that malloc_usable_size and the alignment agree with. */
static void check_block(void *p, size_t n, size_t align)
{
	CHECK(p != NULL);
	CHECK(aligned(p, align));
	CHECK(malloc_usable_size(p) >= n);
}

static void basic(void)
{
	size_t sizes[] = { 0, 1, 15, 16, 17, 100, 4080, 4096, 4097, 65536, 200000, 1 << 20 };
	/* volatile: the compiler would refuse the overflowing calls below. */
	volatile size_t huge = SIZE_MAX / 2;
	size_t i;
	void *p;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = malloc(sizes[i]);
		check_block(p, sizes[i], 16);
		fill(p, sizes[i], (unsigned)i);
		CHECK(pattern_ok(p, sizes[i], (unsigned)i));
		free(p);
		p = calloc(sizes[i] + 1, 3);
		check_block(p, (sizes[i] + 1) * 3, 16);
		for (size_t j = 0; j < (sizes[i] + 1) * 3; j++)
			CHECK(((unsigned char *)p)[j] == 0);
		free(p);
	}
	errno = 0;
	CHECK(calloc(huge, 3) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(reallocarray(NULL, huge, 3) == NULL && errno == ENOMEM);
	free(NULL);
	CHECK(malloc_usable_size(NULL) == 0);
}

/* Grows and shrinks one block: what both sizes share is kept. */
static void realloc_chain(void)
{
	size_t n = 10, next;
	char *p = realloc(NULL, n);
	int i;

	check_block(p, n, 16);
	fill(p, n, 3);
	for (i = 0; i < 200; i++) {
		next = i % 3 == 2 ? n / 2 + 1 : n * 2 + (rnd() % 1000);
		if (next > (4 << 20))
			next = 100;
		p = i & 1 ? realloc(p, next) : reallocarray(p, next, 1);
		check_block(p, next, 16);
		CHECK(pattern_ok(p, n < next ? n : next, 3));
		fill(p, next, 3);
		n = next;
	}
	/* realloc(p, 0) frees p and returns NULL, as glibc's does. */
	CHECK(realloc(p, 0) == NULL);
}

/* Bytes the real allocator holds in mmapped blocks: every sampled one must go back to it. */
static size_t mmapped(void)
{
	return mallinfo2().hblkhd;
}

static long minor_faults(void)
{
	struct rusage ru;

	CHECK(getrusage(RUSAGE_SELF, &ru) == 0);
	return ru.ru_minflt;
}

/*
 * Large blocks (sampled at any rate, and mmapped: glibc's threshold never
 * rises past 32 MiB) are really released. They are never written, so they
 * cost address space, not memory.
 */
static void released(void)
{
	size_t before = mmapped();
	void *p[8];
	int i;

	for (i = 0; i < 8; i++) {
		p[i] = malloc(48 << 20);
		CHECK(p[i] != NULL);
	}
	for (i = 0; i < 8; i++)
		free(p[i]);
	CHECK(mmapped() == before);
}

/*
 * A buffer grown by realloc from 256 KiB to 16 MiB, each new part written:
 * the real allocator grows it in place (mremap), sampled or not, so the
 * pages touched stay near the final size's, not the sum of every step's
 * (which a copy at each sampled step would touch: about nine times more).
 */
static void growing_chain(void)
{
	size_t n = 256 << 10, next, final = 16 << 20, before = mmapped();
	long faults = minor_faults();
	char *p = malloc(n);

	CHECK(p != NULL);
	memset(p, 7, n);
	while (n < final) {
		next = n + n / 8;
		p = realloc(p, next);
		CHECK(p != NULL);
		CHECK(p[0] == 7 && p[n - 1] == 7);
		memset(p + n, 7, next - n);
		n = next;
	}
	CHECK(minor_faults() - faults < (long)(2 * final / 4096));
	free(p);
	CHECK(mmapped() == before);
}

static void aligned_family(void)
{
	size_t a, n, pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	for (a = 16; a <= 65536; a *= 2) {
		for (n = 1; n < 3 * a; n += a / 2 + 7) {
			CHECK(posix_memalign(&p, a, n) == 0);
			check_block(p, n, a);
			fill(p, n, (unsigned)a);
			p = realloc(p, n + 100);
			check_block(p, n + 100, 16);
			CHECK(pattern_ok(p, n, (unsigned)a));
			free(p);
			p = aligned_alloc(a, n);
			check_block(p, n, a);
			fill(p, n, 1);
			CHECK(pattern_ok(p, n, 1));
			free(p);
			p = memalign(a, n);
			check_block(p, n, a);
			free(p);
		}
	}
	CHECK(posix_memalign(&p, 24, 100) == EINVAL);
	CHECK(posix_memalign(&p, 0, 100) == EINVAL);
	p = valloc(1000);
	check_block(p, 1000, pg);
	free(p);
	p = pvalloc(1000);
	check_block(p, pg, pg);
	fill(p, pg, 9);
	free(p);
}

/* Random mallocs, reallocs and frees over a live set, every block checked at its end. */
static void churn(void)
{
	static char *slot[LIVE];
	static size_t len[LIVE];
	int i, k;

	for (i = 0; i < 200000; i++) {
		k = (int)(rnd() % LIVE);
		if (slot[k]) {
			CHECK(pattern_ok(slot[k], len[k], (unsigned)k));
			if (rnd() & 1) {
				free(slot[k]);
				slot[k] = NULL;
				continue;
			}
			len[k] = rnd() % 3000;
			slot[k] = realloc(slot[k], len[k] ? len[k] : 1);
		} else {
			len[k] = rnd() % (rnd() & 15 ? 512 : 100000);
			slot[k] = rnd() & 1 ? malloc(len[k]) : calloc(1, len[k]);
		}
		check_block(slot[k], len[k], 16);
		fill(slot[k], len[k], (unsigned)k);
	}
	for (k = 0; k < LIVE; k++) {
		if (slot[k])
			CHECK(pattern_ok(slot[k], len[k], (unsigned)k));
		free(slot[k]);
		slot[k] = NULL;
	}
}

static char *blocks[THREADS][PER_THREAD];
static pthread_barrier_t barrier;

/* Each thread allocates its row, then frees the next thread's. */
static void *thread_main(void *arg)
{
	int me = (int)(intptr_t)arg, other = (me + 1) % THREADS, i;
	size_t n;

	for (i = 0; i < PER_THREAD; i++) {
		n = (size_t)(i * 37 + me) % 3000;
		blocks[me][i] = (i & 3) == 3 ? aligned_alloc(64, n + 1) : malloc(n + 1);
		CHECK(blocks[me][i] != NULL);
		fill(blocks[me][i], n + 1, (unsigned)(me + i));
	}
	pthread_barrier_wait(&barrier);
	for (i = 0; i < PER_THREAD; i++) {
		n = (size_t)(i * 37 + other) % 3000;
		CHECK(pattern_ok(blocks[other][i], n + 1, (unsigned)(other + i)));
		free(blocks[other][i]);
	}
	return NULL;
}

static void threads(void)
{
	pthread_t t[THREADS];
	int i;

	pthread_barrier_init(&barrier, NULL, THREADS);
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, thread_main, (void *)(intptr_t)i) == 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&barrier);
}

/* The child frees and reallocates what its parent allocated, then allocates its own. */
static void forked(void)
{
	char *p[100];
	int i, status;
	pid_t pid;

	for (i = 0; i < 100; i++) {
		p[i] = malloc((size_t)i * 50 + 1);
		fill(p[i], (size_t)i * 50 + 1, (unsigned)i);
	}
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		for (i = 0; i < 100; i++) {
			CHECK(pattern_ok(p[i], (size_t)i * 50 + 1, (unsigned)i));
			if (i & 1) {
				free(p[i]);
				continue;
			}
			p[i] = realloc(p[i], 9000);
			CHECK(pattern_ok(p[i], (size_t)i * 50 + 1, (unsigned)i));
			free(p[i]);
		}
		churn();
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "child: status 0x%x\n", status);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < 100; i++) {
		CHECK(pattern_ok(p[i], (size_t)i * 50 + 1, (unsigned)i));
		free(p[i]);
	}
}

static volatile sig_atomic_t handled, handler_bad;
static volatile int spin_stop;

static void on_usr1(int sig)
{
	char *p = malloc(300);
	void *q = NULL;

	(void)sig;
	if (!p || posix_memalign(&q, 4096, 5000)) {
		handler_bad = 1;
		return;
	}
	memset(p, 1, 300);
	memset(q, 2, 5000);
	free(p);
	free(q);
	handled++;
}

/* The signalled thread never calls the allocator itself. */
static void *spinner(void *arg)
{
	(void)arg;
	while (!spin_stop)
		__asm__ volatile("pause");
	return NULL;
}

static void signals(void)
{
	struct sigaction sa;
	pthread_t t;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	CHECK(pthread_create(&t, NULL, spinner, NULL) == 0);
	for (i = 0; i < 200; i++) {
		int before = handled;

		pthread_kill(t, SIGUSR1);
		while (handled == before && !handler_bad)
			usleep(100);
	}
	spin_stop = 1;
	pthread_join(t, NULL);
	CHECK(!handler_bad);
	CHECK(handled == 200);
}

static void dlopened(const char *path)
{
	char *(*make)(size_t);
	char *(*kept)(void);
	void *h = dlopen(path, RTLD_NOW);
	char *p, *q;
	int i;

	CHECK(h != NULL);
	make = (char *(*)(size_t))dlsym(h, "dlo_make");
	kept = (char *(*)(void))dlsym(h, "dlo_kept");
	CHECK(make && kept);
	q = kept();
	CHECK(q != NULL && q[0] == 0x5a && q[776] == 0x5a);
	for (i = 0; i < 1000; i++) {
		p = make((size_t)i + 1);
		CHECK(p != NULL && p[i] == 0x5a);
		check_block(p, (size_t)i + 1, 16);
		free(p);
	}
	dlclose(h);
	free(q);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	basic();
	realloc_chain();
	released();
	growing_chain();
	aligned_family();
	churn();
	threads();
	forked();
	signals();
	dlopened(argv[1]);
	printf("exercise ok\n");
	return 0;
}
