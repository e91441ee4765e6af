// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * snapshot.c - stacks and counters copied into flat arrays: frames of all
 * stacks back to back, and an open-addressing index over stack hashes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "collect/snapshot.h"
#include "util/vec.h"

struct snap_entry {
	struct ht_agg_val val;
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
	uint64_t h = hash_frames(frames, depth);
	size_t j;

	for (j = h & s->index_mask; s->index[j]; j = (j + 1) & s->index_mask) {
		const struct snap_entry *e = &s->entries[s->index[j] - 1];

		if (e->hash == h && e->depth == depth &&
		    !memcmp(s->frames + e->frame_pos, frames, depth * sizeof(*frames)))
			return &e->val;
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
