// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * block.c - sampled blocks: how they are laid out, recognised and released,
 * and the two probe sites.
 *
 * A sampled block is a real block with room for a 16-byte prefix before
 * the pointer the program gets:
 *
 *   base ... [tag: secret ^ user][base] user ...
 *
 * On free(p), a p at least 16 bytes into its 4 KiB page has its prefix in
 * the same page, which is mapped since p is: reading it is safe for any
 * allocator's block, and the tag says whether it is ours. Sampled blocks
 * are placed so that they never start a page, except those aligned to a
 * page or more: those are listed in a small lock-free table, which a
 * page-aligned p is looked up in before anything before it is read.
 */
#include <string.h>

#include "../sampler.h"
#include "../usdt.h"

/* 512 buckets of 8 slots, one cache line each: 4096 page-aligned sampled blocks at most. */
#define SIDE_BUCKETS 512
#define SIDE_WAYS    8

union ht_gate ht_gate __attribute__((section(".probes"), aligned(8)));

static _Alignas(64) uintptr_t side[SIDE_BUCKETS][SIDE_WAYS];
static uint32_t side_count;

__attribute__((noinline, noclone)) static void fire_alloc(void *p, uint64_t size, uint64_t weight)
{
	HT_USDT(otel_memory, alloc, "ht_gate", "8@%%rdi 8@%%rsi 8@%%rdx", "D"(p), "S"(size),
		"d"(weight));
}

__attribute__((noinline, noclone)) static void fire_free(void *p)
{
	HT_USDT(otel_memory, free, "ht_gate+2", "8@%%rdi", "D"(p));
}

static uintptr_t *side_bucket(uintptr_t u)
{
	return side[((u >> 12) * 0x9e3779b97f4a7c15ULL) >> (64 - 9)];
}

static int side_insert(uintptr_t u)
{
	uintptr_t *b = side_bucket(u);
	int i;

	for (i = 0; i < SIDE_WAYS; i++) {
		uintptr_t empty = 0;

		if (__atomic_compare_exchange_n(&b[i], &empty, u, 0, __ATOMIC_RELAXED,
						__ATOMIC_RELAXED)) {
			__atomic_fetch_add(&side_count, 1, __ATOMIC_RELAXED);
			return 1;
		}
	}
	return 0;
}

static int side_has(uintptr_t u)
{
	uintptr_t *b;
	int i;

	if (!__atomic_load_n(&side_count, __ATOMIC_RELAXED))
		return 0;
	b = side_bucket(u);
	for (i = 0; i < SIDE_WAYS; i++)
		if (__atomic_load_n(&b[i], __ATOMIC_RELAXED) == u)
			return 1;
	return 0;
}

static void side_remove(uintptr_t u)
{
	uintptr_t *b = side_bucket(u);
	int i;

	for (i = 0; i < SIDE_WAYS; i++) {
		if (__atomic_load_n(&b[i], __ATOMIC_RELAXED) == u) {
			__atomic_store_n(&b[i], 0, __ATOMIC_RELAXED);
			__atomic_fetch_sub(&side_count, 1, __ATOMIC_RELAXED);
			return;
		}
	}
}

/* The unsampled block that a sampled request falls back to. */
static void *plain(size_t size, size_t align, int zero)
{
	if (align)
		return ht_real.memalign(align, size);
	return zero ? ht_real.calloc(1, size) : ht_real.malloc(size);
}

/*
 * Room before the user pointer: 16 bytes of prefix rounded up to the
 * alignment, and one more alignment step to leave a page start; a page or
 * more of alignment is always page-aligned and needs just the one step.
 */
static size_t pad_for(size_t a)
{
	return a >= HT_PAGE ? a : 2 * a + HT_PREFIX;
}

static uintptr_t place(uintptr_t base, size_t a)
{
	uintptr_t user = (base + HT_PREFIX + a - 1) & ~(uintptr_t)(a - 1);

	if (a < HT_PAGE && !(user & (HT_PAGE - 1)))
		user += a;
	return user;
}

/*
 * A sampled block of size bytes: align 0 for malloc's alignment (zero: as
 * calloc), else a power of two. Fires alloc once it is ready.
 */
void *ht_sampled_alloc(size_t size, size_t align, int zero)
{
	size_t a = align < 16 ? 16 : align;
	size_t pad = pad_for(a);
	uintptr_t base, user;
	uint64_t *pre;

	if (size > SIZE_MAX - pad)
		return plain(size, align, zero);
	if (!align)
		base =
		    (uintptr_t)(zero ? ht_real.calloc(1, size + pad) : ht_real.malloc(size + pad));
	else
		base = (uintptr_t)ht_real.memalign(a, size + pad);
	if (!base)
		return NULL;
	user = place(base, a);
	if (!(user & (HT_PAGE - 1)) && !side_insert(user)) {
		/* The table is full: this one goes unsampled. */
		ht_real.free((void *)base);
		return plain(size, align, zero);
	}
	pre = (uint64_t *)user - 2;
	pre[0] = ht_config.secret ^ user;
	pre[1] = base;
	ht_live_add(1);
	fire_alloc((void *)user, size, ht_weight(size));
	return (void *)user;
}

/* Whether p is a sampled block, and its base if so. */
int ht_sampled_base(const void *p, void **base)
{
	uintptr_t u = (uintptr_t)p, off = u & (HT_PAGE - 1);
	uint64_t pre[2];

	if (off < HT_PREFIX && (off || !u || !side_has(u)))
		return 0;
	memcpy(pre, (const char *)p - HT_PREFIX, sizeof(pre));
	if (pre[0] != (ht_config.secret ^ u))
		return 0;
	*base = (void *)(uintptr_t)pre[1];
	return 1;
}

/* Fires free before the block can be handed out again. */
void ht_sampled_release(void *p, void *base)
{
	uintptr_t u = (uintptr_t)p;

	fire_free(p);
	/* A block reused later must not look sampled. */
	__atomic_store_n((uint64_t *)p - 2, 0, __ATOMIC_RELAXED);
	if (!(u & (HT_PAGE - 1)))
		side_remove(u);
	ht_live_add(-1);
	ht_real.free(base);
}

size_t ht_sampled_usable(const void *p, void *base)
{
	return ht_real.usable(base) - (size_t)((const char *)p - (const char *)base);
}
