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
 *
 * A block stays ours after realloc resizes it in place (below), whether the
 * new size was sampled or not: the real allocator can then grow it as it
 * grows any block (mremap for a large one) instead of us copying it at
 * every step of a realloc chain. One that was not sampled carries the quiet
 * tag, secret ^ user ^ HT_QUIET: released like a sampled one, never
 * announced.
 */
#include <string.h>

#include "../sampler.h"
#include "../usdt.h"

/* 512 buckets of 8 slots, one cache line each: 4096 page-aligned sampled blocks at most. */
#define SIDE_BUCKETS 512
#define SIDE_WAYS    8

/* Flips the tag of a block that is ours but was not sampled. */
#define HT_QUIET 0x5155494554ULL

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

/* Marks user as ours: sampled (announced) or quiet. */
static void tag(uintptr_t user, uintptr_t base, int sampled)
{
	uint64_t *pre = (uint64_t *)user - 2;

	pre[0] = ht_config.secret ^ user ^ (sampled ? 0 : HT_QUIET);
	pre[1] = base;
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
	tag(user, base, 1);
	ht_live_add(1);
	fire_alloc((void *)user, size, ht_weight(size));
	return (void *)user;
}

/* Whether p is a block of ours (HT_BLOCK_SAMPLED or HT_BLOCK_QUIET), and its base if so. */
int ht_sampled_base(const void *p, void **base)
{
	uintptr_t u = (uintptr_t)p, off = u & (HT_PAGE - 1);
	uint64_t pre[2];

	if (off < HT_PREFIX && (off || !u || !side_has(u)))
		return HT_BLOCK_NONE;
	memcpy(pre, (const char *)p - HT_PREFIX, sizeof(pre));
	*base = (void *)(uintptr_t)pre[1];
	if (pre[0] == (ht_config.secret ^ u))
		return HT_BLOCK_SAMPLED;
	if (pre[0] == (ht_config.secret ^ u ^ HT_QUIET))
		return HT_BLOCK_QUIET;
	return HT_BLOCK_NONE;
}

/* Announces the release (of a sampled block) before its memory can be handed out again. */
static void forget(void *p, int kind)
{
	uintptr_t u = (uintptr_t)p;

	if (kind == HT_BLOCK_SAMPLED)
		fire_free(p);
	/* A block reused later must not look like ours. */
	__atomic_store_n((uint64_t *)p - 2, 0, __ATOMIC_RELAXED);
	if (!(u & (HT_PAGE - 1)))
		side_remove(u);
}

void ht_sampled_release(void *p, void *base, int kind)
{
	forget(p, kind);
	ht_live_add(-1);
	ht_real.free(base);
}

/*
 * realloc of a block of ours to size bytes (> 0); sample: whether the new
 * size was sampled. The real allocator resizes the whole block, prefix and
 * all, so the user bytes keep their offset from the base. The old block is
 * announced as freed, and its tag cleared, before the real realloc may
 * release it. The bytes move 16 further only when they would start a page
 * (about one resize in 256 of a small block, never for a large one: its
 * base sits 16 bytes into a page), so that a page-aligned block needs no
 * entry in the side table. NULL, the old block kept (quiet), when the real
 * allocator refuses.
 */
void *ht_sampled_resize(void *p, void *base, int kind, size_t size, int sample)
{
	uintptr_t u = (uintptr_t)p, user;
	size_t off = (size_t)(u - (uintptr_t)base);
	char *nbase;

	if (size > SIZE_MAX - off - HT_PREFIX)
		return NULL;
	if (kind == HT_BLOCK_SAMPLED)
		fire_free(p);
	__atomic_store_n((uint64_t *)p - 2, 0, __ATOMIC_RELAXED);
	nbase = ht_real.realloc(base, size + off + HT_PREFIX);
	if (!nbase) {
		tag(u, (uintptr_t)base, 0);
		return NULL;
	}
	if (!(u & (HT_PAGE - 1)))
		side_remove(u);
	user = (uintptr_t)nbase + off;
	if (!(user & (HT_PAGE - 1))) {
		memmove((void *)(user + HT_PREFIX), (void *)user, size);
		user += HT_PREFIX;
	}
	tag(user, (uintptr_t)nbase, sample);
	if (sample)
		fire_alloc((void *)user, size, ht_weight(size));
	return (void *)user;
}

size_t ht_sampled_usable(const void *p, void *base)
{
	return ht_real.usable(base) - (size_t)((const char *)p - (const char *)base);
}
