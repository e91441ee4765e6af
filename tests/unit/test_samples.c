// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The daemon-side counters of DWARF-mode samples (user/collect/samples.c). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "collect/samples.h"
#include "tap.h"

struct totals {
	uint64_t stacks, alloc_objects, alloc_bytes, free_objects, free_bytes;
	uint64_t inherited_objects, inherited_bytes;
	uint32_t max_depth;
};

static int sum(const struct ht_agg_val *v, const struct ht_stack *st, void *ctx)
{
	struct totals *t = ctx;

	t->stacks++;
	t->alloc_objects += v->alloc_objects;
	t->alloc_bytes += v->alloc_bytes;
	t->free_objects += v->free_objects;
	t->free_bytes += v->free_bytes;
	t->inherited_objects += v->inherited_objects;
	t->inherited_bytes += v->inherited_bytes;
	if (st->depth > t->max_depth)
		t->max_depth = st->depth;
	return 0;
}

static struct totals totals_of(struct sample_store *s)
{
	struct totals t = { 0 };

	samples__for_each(s, sum, &t);
	return t;
}

static void test_lifecycle(void)
{
	struct sample_store *s = samples__new(16, 16);
	uint64_t a[] = { 0x1000, 0x2000, 0x3000 }, b[] = { 0x1000, 0x2000, 0x4000 };
	struct totals t;

	ok(s != NULL, "store created");
	ok(samples__add_stack(s, 7, 1, a, 3) == 0, "stack of seq 1");
	ok(samples__add_stack(s, 7, 2, a, 3) == 0, "same stack, seq 2");
	ok(samples__add_stack(s, 7, 3, b, 3) == 0, "another stack, seq 3");
	ok(samples__add_stack(s, 7, 4, b, 3) == 0, "seq 4: its call will fail");
	samples__add_alloc(s, 1, 0xa0, 100);
	samples__add_alloc(s, 2, 0xb0, 50);
	samples__add_alloc(s, 3, 0xc0, 7);
	samples__add_alloc(s, 4, 0, 9);
	t = totals_of(s);
	ok(t.stacks == 2, "identical stacks share counters: 2 stacks (%llu)",
	   (unsigned long long)t.stacks);
	ok(t.alloc_objects == 3 && t.alloc_bytes == 157, "a failed call counts nothing");
	ok(samples__add_free(s, 2, 50) == 0, "free of seq 2");
	ok(samples__add_free(s, 2, 50) == -ENOENT, "a second free of seq 2 is unknown");
	ok(samples__add_free(s, 4, 9) == -ENOENT, "the failed call's seq is gone");
	t = totals_of(s);
	ok(t.free_objects == 1 && t.free_bytes == 50, "in use = 2 objects, 107 bytes");
	ok(samples__lost(s) == 0, "nothing lost");
	samples__free(s);
}

static void test_limits(void)
{
	struct sample_store *s = samples__new(2, 3);
	uint64_t pcs[1];
	int i, dropped = 0;

	for (i = 0; i < 3; i++) {
		pcs[0] = 0x100 + (uint64_t)i;
		if (samples__add_stack(s, 1, (uint64_t)i + 1, pcs, 1))
			dropped++;
	}
	ok(dropped == 1 && samples__lost(s) == 1, "a third distinct stack is dropped and counted");
	pcs[0] = 0x100;
	ok(samples__add_stack(s, 1, 10, pcs, 1) == 0, "a known stack still fits");
	ok(samples__add_stack(s, 1, 11, pcs, 1) == -ENOSPC && samples__lost(s) == 2,
	   "more calls in flight than max_seqs are dropped and counted");
	ok(samples__add_alloc(s, 3, 0x1, 1) == -ENOENT, "the end of a dropped sample is ignored");
	samples__free(s);
	samples__free(NULL);
	ok(1, "samples__free(NULL) is a no-op");
}

/* Many interleaved inserts and deletes: the open-addressing table must stay consistent. */
static void test_churn(void)
{
	enum { N = 20000, LIVE = 500 };
	struct sample_store *s = samples__new(64, LIVE + 1);
	uint64_t pcs[2] = { 0x10, 0x20 }, seq;
	int bad = 0;
	struct totals t;

	for (seq = 1; seq <= N; seq++) {
		pcs[1] = 0x20 + seq % 50;
		if (samples__add_stack(s, 3, seq, pcs, 2) || samples__add_alloc(s, seq, seq, 8))
			bad++;
		if (seq > LIVE && samples__add_free(s, seq - LIVE, 8))
			bad++;
	}
	t = totals_of(s);
	ok(bad == 0, "20000 samples with 500 live at a time: no operation failed (%d)", bad);
	ok(t.alloc_objects == N && t.free_objects == N - LIVE,
	   "counts add up: %llu alloc, %llu freed", (unsigned long long)t.alloc_objects,
	   (unsigned long long)t.free_objects);
	ok(t.stacks == 50, "50 distinct stacks (%llu)", (unsigned long long)t.stacks);
	for (seq = N - LIVE + 1; seq <= N; seq++)
		if (samples__add_free(s, seq, 8))
			bad++;
	ok(bad == 0, "every live sample is still found after the churn");
	samples__free(s);
}

static void test_depth_cap(void)
{
	struct sample_store *s = samples__new(4, 4);
	uint64_t pcs[HT_MAX_STACK_DEPTH + 5] = { 0 };
	struct totals t;
	int i;

	for (i = 0; i < HT_MAX_STACK_DEPTH + 5; i++)
		pcs[i] = 0x1000 + (uint64_t)i;
	samples__add_stack(s, 1, 1, pcs, HT_MAX_STACK_DEPTH + 5);
	samples__add_alloc(s, 1, 0x1, 1);
	t = totals_of(s);
	ok(t.max_depth == HT_MAX_STACK_DEPTH, "stacks are capped at %d frames", HT_MAX_STACK_DEPTH);
	samples__free(s);
}

/* A forked child's copies of its parent's live samples (samples__inherit). */
static void test_inherit(void)
{
	struct sample_store *p = samples__new(16, 16), *c = samples__new(16, 16);
	struct sample_store *small = samples__new(16, 1);
	uint64_t a[] = { 0x1000, 0x2000 }, b[] = { 0x1000, 0x3000 };
	struct totals t;

	samples__add_stack(p, 7, 1, a, 2);
	samples__add_alloc(p, 1, 0xa0, 100); /* live: inherited */
	samples__add_stack(p, 7, 2, a, 2);   /* in flight at the fork: not inherited */
	samples__add_stack(p, 7, 3, b, 2);
	samples__add_alloc(p, 3, 0xb0, 7); /* live: inherited */
	samples__add_stack(p, 7, 4, b, 2);
	samples__add_alloc(p, 4, 0xc0, 9);
	samples__add_free(p, 4, 9); /* freed before the fork: not inherited */
	ok(samples__inherit(c, 8, p) == 0, "child inherits");
	ok(samples__inherit(small, 9, p) == -ENOSPC && samples__lost(small) == 1 &&
	       totals_of(small).inherited_objects == 1,
	   "a child whose table is full inherits what fits and counts the rest lost");
	t = totals_of(c);
	ok(t.stacks == 2 && t.inherited_objects == 2 && t.inherited_bytes == 107,
	   "the parent's 2 live blocks (107 bytes) on their 2 stacks are inherited (%llu, %llu)",
	   (unsigned long long)t.inherited_objects, (unsigned long long)t.inherited_bytes);
	ok(t.alloc_objects == 0 && t.alloc_bytes == 0 && t.free_objects == 0,
	   "inherited blocks are not the child's allocations");
	ok(samples__add_free(c, 3, 7) == 0, "the child frees an inherited block");
	ok(samples__add_free(c, 2, 0) == -ENOENT,
	   "a call in flight at the fork is not the child's");
	ok(samples__add_free(c, 4, 9) == -ENOENT,
	   "a block freed before the fork is not the child's");
	samples__add_stack(c, 8, 20, a, 2);
	samples__add_alloc(c, 20, 0xd0, 30);
	t = totals_of(c);
	ok(t.stacks == 2 && t.alloc_objects == 1 && t.alloc_bytes == 30,
	   "the child's own allocation on an inherited stack shares its counters");
	ok(t.inherited_objects - t.free_objects == 1 && t.inherited_bytes - t.free_bytes == 100,
	   "in use from the parent: 1 block, 100 bytes");
	t = totals_of(p);
	ok(t.alloc_objects == 3 && t.free_objects == 1 && t.inherited_objects == 0,
	   "the parent's store is unchanged");
	ok(samples__add_free(p, 3, 7) == 0, "the parent still frees its own block 3");
	ok(samples__lost(c) == 0, "nothing lost");
	samples__free(p);
	samples__free(c);
	samples__free(small);
}

int main(void)
{
	test_lifecycle();
	test_limits();
	test_churn();
	test_depth_cap();
	test_inherit();
	return done_testing();
}
