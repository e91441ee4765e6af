// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * sampler.c - the allocation API of libheaptrace-sampler.so.
 *
 * Each function first reads one word of the gate: the alloc semaphore for
 * those that allocate, the live count for those that only look at a block,
 * both for realloc. While it is 0, nothing is traced and nothing sampled
 * is alive, and the call goes straight to the real allocator. The rest of
 * each function is the slow path, out of line.
 */
#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "../sampler.h"

#define REAL(f) __atomic_load_n(&ht_real.f, __ATOMIC_RELAXED)
#define SLOW	__attribute__((noinline, cold))

/*
 * Takes the sampling decision for size bytes. When it says yes, this thread
 * is marked busy until end_sample(): allocations nested in ours (by the
 * real allocator, or by a signal handler) go straight through.
 */
static int begin_sample(size_t size)
{
	struct ht_thread *t = &ht_self;

	if (!__atomic_load_n(&ht_config.ready, __ATOMIC_ACQUIRE) || t->busy)
		return 0;
	t->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	if (ht_should_sample(size))
		return 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	t->busy = 0;
	return 0;
}

static void end_sample(void)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ht_self.busy = 0;
}

static void *sample_now(size_t size, size_t align, int zero)
{
	void *p = ht_sampled_alloc(size, align, zero);

	end_sample();
	return p;
}

static int is_pow2(size_t a)
{
	return a && !(a & (a - 1));
}

SLOW static void *malloc_slow(size_t n)
{
	if (!begin_sample(n))
		return REAL(malloc)(n);
	return sample_now(n, 0, 0);
}

HT_EXPORT void *malloc(size_t n)
{
	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(malloc)(n);
	return malloc_slow(n);
}

SLOW static void *calloc_slow(size_t n, size_t m)
{
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	if (!begin_sample(n * m))
		return REAL(calloc)(n, m);
	return sample_now(n * m, 0, 1);
}

HT_EXPORT void *calloc(size_t n, size_t m)
{
	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(calloc)(n, m);
	return calloc_slow(n, m);
}

/* Whose a block is: the real allocator's, ours (sampled or quiet: block.c), the bootstrap pool's. */
enum { NOT_OURS = HT_BLOCK_NONE, SAMPLED = HT_BLOCK_SAMPLED, QUIET = HT_BLOCK_QUIET, POOL };

static int classify(void *p, void **base)
{
	if (!p || !ht_live())
		return NOT_OURS;
	if (ht_bootstrap_owns(p))
		return POOL;
	return ht_sampled_base(p, base);
}

static void release(void *p, int kind, void *base)
{
	if (kind == SAMPLED || kind == QUIET)
		ht_sampled_release(p, base, kind);
	else if (kind == POOL)
		ht_bootstrap_release(p);
	else
		REAL(free)(p);
}

static size_t usable(void *p, int kind, void *base)
{
	if (kind == SAMPLED || kind == QUIET)
		return ht_sampled_usable(p, base);
	if (kind == POOL)
		return ht_bootstrap_size(p);
	return REAL(usable)(p);
}

SLOW static void free_slow(void *p)
{
	void *base = NULL;
	/* Apart: C leaves the order of a call's arguments open, and base must be read after. */
	int kind = classify(p, &base);

	release(p, kind, base);
}

HT_EXPORT void free(void *p)
{
	if (HT_LIKELY(!ht_live())) {
		REAL(free)(p);
		return;
	}
	free_slow(p);
}

/*
 * realloc is a new allocation of n bytes, sampled or not by the usual rule,
 * and the release of p (firing free if p was sampled). A block of ours is
 * resized in place by the real allocator (block.c), so that a realloc chain
 * that was sampled once does not turn into a copy at every step; one of the
 * real allocator's that becomes sampled moves into a new block (a copy,
 * once per sample). realloc(p, 0) frees p and returns NULL, as glibc's.
 */
SLOW static void *realloc_slow(void *p, size_t n)
{
	void *base = NULL, *q;
	int kind, sample;
	size_t old;

	if (!p)
		return malloc(n);
	kind = classify(p, &base);
	if (n == 0 && kind != NOT_OURS) {
		release(p, kind, base);
		return NULL;
	}
	if (n == 0)
		return REAL(realloc)(p, 0);
	sample = begin_sample(n);
	if (kind == SAMPLED || kind == QUIET) {
		q = ht_sampled_resize(p, base, kind, n, sample);
		if (sample)
			end_sample();
		return q;
	}
	if (kind == NOT_OURS && !sample)
		return REAL(realloc)(p, n);
	old = usable(p, kind, base);
	q = sample ? sample_now(n, 0, 0) : REAL(malloc)(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	release(p, kind, base);
	return q;
}

HT_EXPORT void *realloc(void *p, size_t n)
{
	if (HT_LIKELY(!ht_gate_word()))
		return REAL(realloc)(p, n);
	return realloc_slow(p, n);
}

HT_EXPORT void *reallocarray(void *p, size_t n, size_t m)
{
	if (HT_LIKELY(!ht_gate_word()))
		return REAL(reallocarray)(p, n, m);
	if (m && n > SIZE_MAX / m) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc_slow(p, n * m);
}

/* The aligned family: an alignment the real allocator would refuse or fix up goes to it. */
SLOW static void *aligned_slow(size_t align, size_t n)
{
	if (!is_pow2(align) || !begin_sample(n))
		return NULL;
	return sample_now(n, align, 0);
}

SLOW static int posix_memalign_slow(void **out, size_t align, size_t n)
{
	int saved = errno;
	void *p;

	if (align % sizeof(void *) || !(p = aligned_slow(align, n)))
		return REAL(posix_memalign)(out, align, n);
	*out = p;
	errno = saved;
	return 0;
}

HT_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(posix_memalign)(out, align, n);
	return posix_memalign_slow(out, align, n);
}

HT_EXPORT void *aligned_alloc(size_t align, size_t n)
{
	void *p;

	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(aligned_alloc)(align, n);
	p = aligned_slow(align, n);
	return p ? p : REAL(aligned_alloc)(align, n);
}

HT_EXPORT void *memalign(size_t align, size_t n)
{
	void *p;

	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(memalign)(align, n);
	p = aligned_slow(align, n);
	return p ? p : REAL(memalign)(align, n);
}

HT_EXPORT void *valloc(size_t n)
{
	void *p;

	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(valloc)(n);
	p = aligned_slow(ht_config.page, n);
	return p ? p : REAL(valloc)(n);
}

HT_EXPORT void *pvalloc(size_t n)
{
	size_t pg = ht_config.page, r;
	void *p;

	if (HT_LIKELY(!ht_alloc_sem()))
		return REAL(pvalloc)(n);
	r = n ? (n + pg - 1) & ~(pg - 1) : pg;
	p = r >= n ? aligned_slow(pg, r) : NULL;
	return p ? p : REAL(pvalloc)(n);
}

SLOW static size_t usable_slow(void *p)
{
	void *base = NULL;
	int kind = classify(p, &base);

	return p ? usable(p, kind, base) : 0;
}

HT_EXPORT size_t malloc_usable_size(void *p)
{
	if (HT_LIKELY(!ht_live()))
		return REAL(usable)(p);
	return usable_slow(p);
}
