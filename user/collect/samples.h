/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * samples.h - per-process counters of sampled allocations kept in the
 * daemon, for stacks unwound in userspace (DWARF mode).
 *
 * The BPF side names each sampled call by a sequence number and reports,
 * in order: its stack (unwound by the caller of samples__add_stack), how
 * the call ended (samples__add_alloc), and the free of its block
 * (samples__add_free). Stacks are interned: identical stacks share one set
 * of counters, exactly as the BPF aggregation does in frame-pointer mode.
 *
 * Memory is bounded: at most max_stacks distinct stacks and max_seqs
 * sampled calls pending or live; beyond, the event is dropped and counted
 * in samples__lost() (as is one the daemon has no memory for).
 */
#ifndef HEAPTRACE_SAMPLES_H
#define HEAPTRACE_SAMPLES_H

#include <stdint.h>

#include "heaptrace.h"
#include "collect/loader.h"

struct sample_store;

/* NULL when out of memory. */
struct sample_store *samples__new(uint32_t max_stacks, uint32_t max_seqs);

/*
 * The stack of sampled call `seq`: pcs[0] is the return address into the
 * code that called the allocator, outermost last (at most
 * HT_MAX_STACK_DEPTH). Returns 0 or -ENOSPC (dropped and counted).
 */
int samples__add_stack(struct sample_store *s, uint32_t tgid, uint64_t seq, const uint64_t *pcs,
		       uint32_t n);

/* Call `seq` returned `addr` (0: it failed) for `size` bytes. */
int samples__add_alloc(struct sample_store *s, uint64_t seq, uint64_t addr, uint64_t size);

/* The block of call `seq` (`size` bytes) was freed. */
int samples__add_free(struct sample_store *s, uint64_t seq, uint64_t size);

/*
 * A forked child (store `s`, process `tgid`) holds copies of the blocks live
 * in its parent's store: each becomes an inherited block of the child under
 * the same seq and stack (never an allocation of the child), so that the
 * child's free event for that seq finds it. Calls whose block has not been
 * returned yet are not copied. Returns 0, or the last error (-ENOSPC,
 * -ENOMEM) of blocks dropped and counted in samples__lost().
 */
int samples__inherit(struct sample_store *s, uint32_t tgid, const struct sample_store *parent);

/* Calls fn once per stack with its counters, like loader__for_each_agg. */
int samples__for_each(struct sample_store *s, loader_agg_fn fn, void *ctx);

/* Calls fn once per live block (inherited ones too), with its stack, size and time. */
int samples__for_each_live(const struct sample_store *s, loader_live_fn fn, void *ctx);

/* Events dropped here (tables full, or an end without a known start). */
uint64_t samples__lost(const struct sample_store *s);

/* samples__free(NULL) is a no-op. */
void samples__free(struct sample_store *s);

#endif /* HEAPTRACE_SAMPLES_H */
