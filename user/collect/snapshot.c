// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * snapshot.c - stacks and counters copied into flat arrays: frames of all
 * stacks back to back, and an open-addressing index over stack hashes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snapshot.h"
#include "util/clock.h"
#include "util/vec.h"

struct snap_entry {
	struct ht_agg_val val;
	struct snapshot_ages ages;
	uint64_t hash;
	size_t frame_pos; /* index of frames[0] in s->frames */
	uint32_t depth;
};

struct heap_snapshot {
	struct snap_entry *entries;
	size_t len, cap;
	uint64_t *frames;
	size_t nframes, frames_cap;
	uint32_t *index; /* entry index + 1; 0 = empty */
	size_t index_mask;
	uint64_t now_ns; /* CLOCK_MONOTONIC when the live blocks were read */
	bool has_ages;
};

static uint64_t hash_frames(const uint64_t *frames, uint32_t depth)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ depth;
	uint32_t i;

	for (i = 0; i < depth; i++) {
		h ^= frames[i];
		h *= 0xff51afd7ed558ccdull;
		h ^= h >> 33;
	}
	return h;
}

static int add_entry(const struct ht_agg_val *v, const struct ht_stack *st, void *ctx)
{
	struct heap_snapshot *s = ctx;
	uint32_t depth;

	if (!st)
		return 0; /* counted as lost by the BPF side */
	depth = st->depth < HT_MAX_STACK_DEPTH ? st->depth : HT_MAX_STACK_DEPTH;
	if (VEC_RESERVE(s->entries, s->cap, s->len + 1) ||
	    VEC_RESERVE(s->frames, s->frames_cap, s->nframes + depth))
		return -ENOMEM;
	memcpy(s->frames + s->nframes, st->frames, depth * sizeof(*s->frames));
	s->entries[s->len++] = (struct snap_entry){
		.val = *v,
		.hash = hash_frames(s->frames + s->nframes, depth),
		.frame_pos = s->nframes,
		.depth = depth,
	};
	s->nframes += depth;
	return 0;
}

static int build_index(struct heap_snapshot *s)
{
	size_t cap = 16, i, j;

	while (cap < 2 * s->len)
		cap *= 2;
	s->index = calloc(cap, sizeof(*s->index));
	if (!s->index)
		return -ENOMEM;
	s->index_mask = cap - 1;
	for (i = 0; i < s->len; i++) {
		for (j = s->entries[i].hash & s->index_mask; s->index[j];
		     j = (j + 1) & s->index_mask)
			;
		s->index[j] = (uint32_t)i + 1;
	}
	return 0;
}

static struct snap_entry *find_entry(const struct heap_snapshot *s, const uint64_t *frames,
				     uint32_t depth);

static int add_live(const struct ht_stack *st, uint64_t size, uint64_t time_ns, void *ctx)
{
	struct heap_snapshot *s = ctx;
	uint32_t depth = st->depth < HT_MAX_STACK_DEPTH ? st->depth : HT_MAX_STACK_DEPTH;
	struct snap_entry *e = find_entry(s, (const uint64_t *)st->frames, depth);
	unsigned b;

	if (!e)
		return 0; /* a stack that appeared after the counters were read */
	b = age__bucket(s->now_ns > time_ns ? s->now_ns - time_ns : 0);
	e->ages.objects[b]++;
	e->ages.bytes[b] += size;
	return 0;
}

/*
 * Moves bucket counts v by d so that they add up to the counters: blocks
 * allocated while the live blocks were read (d < 0) are the youngest, so
 * they come out of the youngest buckets; blocks freed meanwhile (d > 0)
 * could be of any age and go into the youngest.
 */
static void balance(uint64_t v[AGE_BUCKETS], int64_t d)
{
	unsigned i;

	if (d >= 0) {
		v[0] += (uint64_t)d;
		return;
	}
	for (i = 0; i < AGE_BUCKETS && d < 0; i++) {
		uint64_t take = v[i] < (uint64_t)-d ? v[i] : (uint64_t)-d;

		v[i] -= take;
		d += (int64_t)take;
	}
}

static void balance_ages(struct snap_entry *e)
{
	int64_t dobj = (int64_t)snapshot__inuse_objects(&e->val);
	int64_t dbytes = (int64_t)snapshot__inuse_bytes(&e->val);
	unsigned i;

	for (i = 0; i < AGE_BUCKETS; i++) {
		dobj -= (int64_t)e->ages.objects[i];
		dbytes -= (int64_t)e->ages.bytes[i];
	}
	balance(e->ages.objects, dobj);
	balance(e->ages.bytes, dbytes);
}

static int take_ages(struct loader *l, pid_t pid, struct sample_store *store,
		     struct heap_snapshot *s)
{
	size_t i;
	int err;

	s->now_ns = clock__mono_ns();
	err = store ? samples__for_each_live(store, add_live, s)
		    : loader__for_each_live(l, pid, add_live, s);
	if (err)
		return err;
	for (i = 0; i < s->len; i++)
		balance_ages(&s->entries[i]);
	s->has_ages = true;
	return 0;
}

int snapshot__take(struct loader *l, pid_t pid, struct sample_store *store,
		   struct heap_snapshot **out)
{
	struct heap_snapshot *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	err = loader__for_each_agg(l, pid, add_entry, s);
	if (!err && store)
		err = samples__for_each(store, add_entry, s);
	if (!err)
		err = build_index(s);
	/* Without ages a profile is still right, only not split by age. */
	if (!err && take_ages(l, pid, store, s) == -ENOMEM)
		err = -ENOMEM;
	if (err) {
		snapshot__free(s);
		return err < 0 ? err : -EIO;
	}
	*out = s;
	return 0;
}

int snapshot__for_each(const struct heap_snapshot *s, snapshot_fn fn, void *ctx)
{
	size_t i;
	int ret;

	for (i = 0; i < s->len; i++) {
		const struct snap_entry *e = &s->entries[i];

		ret = fn(&e->val, s->frames + e->frame_pos, e->depth, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

const struct ht_agg_val *snapshot__find(const struct heap_snapshot *s, const uint64_t *frames,
					uint32_t depth)
{
	const struct snap_entry *e = find_entry(s, frames, depth);

	return e ? &e->val : NULL;
}

const struct snapshot_ages *snapshot__ages(const struct heap_snapshot *s, const uint64_t *frames,
					   uint32_t depth)
{
	const struct snap_entry *e = s->has_ages ? find_entry(s, frames, depth) : NULL;

	return e && snapshot__inuse_objects(&e->val) ? &e->ages : NULL;
}

static struct snap_entry *find_entry(const struct heap_snapshot *s, const uint64_t *frames,
				     uint32_t depth)
{
	uint64_t h = hash_frames(frames, depth);
	size_t j;

	for (j = h & s->index_mask; s->index[j]; j = (j + 1) & s->index_mask) {
		const struct snap_entry *e = &s->entries[s->index[j] - 1];

		if (e->hash == h && e->depth == depth &&
		    !memcmp(s->frames + e->frame_pos, frames, depth * sizeof(*frames)))
			return (struct snap_entry *)e;
	}
	return NULL;
}

size_t snapshot__len(const struct heap_snapshot *s)
{
	return s->len;
}

void snapshot__free(struct heap_snapshot *s)
{
	if (!s)
		return;
	free(s->entries);
	free(s->frames);
	free(s->index);
	free(s);
}
