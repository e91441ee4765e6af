/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * snapshot.h - the raw counters of one process, per stack, at one moment.
 *
 * A snapshot copies what the BPF aggregation (frame-pointer mode) and the
 * daemon's sample store (DWARF mode) hold for a process: for each stack its
 * frames and its cumulative raw (unscaled) counters. Profiles are built from
 * a snapshot, and a delta profile from two: the later one minus the earlier
 * one, stack by stack (snapshot__find). Taking one costs a map walk and a
 * copy, no symbolization, so it can be held while a client waits.
 *
 * Stacks lost on the BPF side (no frames) are left out, as in every profile.
 * Errors are negative errno values.
 */
#ifndef HEAPTRACE_SNAPSHOT_H
#define HEAPTRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/age.h"
#include "collect/loader.h"
#include "collect/samples.h"

struct heap_snapshot;

/* Copies pid's counters from the loader and, when not NULL, from its sample store. */
int snapshot__take(struct loader *l, pid_t pid, struct sample_store *store,
		   struct heap_snapshot **out);

/* Calls fn per stack (frames[0] the leaf), stopping at and returning its first non-zero. */
typedef int (*snapshot_fn)(const struct ht_agg_val *val, const uint64_t *frames, uint32_t depth,
			   void *ctx);
int snapshot__for_each(const struct heap_snapshot *s, snapshot_fn fn, void *ctx);

/* The counters of exactly this stack, or NULL when the snapshot has none. */
const struct ht_agg_val *snapshot__find(const struct heap_snapshot *s, const uint64_t *frames,
					uint32_t depth);

/*
 * In use: allocated, less freed, plus the blocks inherited at fork (a forked
 * child's copies of its parent's live sampled blocks, see heaptrace.h).
 */
static inline uint64_t snapshot__inuse_objects(const struct ht_agg_val *v)
{
	return v->alloc_objects - v->free_objects + v->inherited_objects;
}

static inline uint64_t snapshot__inuse_bytes(const struct ht_agg_val *v)
{
	return v->alloc_bytes - v->free_bytes + v->inherited_bytes;
}

/*
 * The raw count and bytes of a stack's live blocks per age bucket (age.h),
 * their ages taken when the snapshot was. The buckets add up to the
 * stack's in-use counters: the live blocks are read after the counters, and
 * what changed in between is put into (or taken from) the youngest buckets.
 */
struct snapshot_ages {
	uint64_t objects[AGE_BUCKETS];
	uint64_t bytes[AGE_BUCKETS];
};

/* The ages of this stack's live blocks, or NULL (none live, or no ages known). */
const struct snapshot_ages *snapshot__ages(const struct heap_snapshot *s, const uint64_t *frames,
					   uint32_t depth);

/* Number of stacks. */
size_t snapshot__len(const struct heap_snapshot *s);

/* snapshot__free(NULL) is a no-op. */
void snapshot__free(struct heap_snapshot *s);

#endif /* HEAPTRACE_SNAPSHOT_H */
