/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * profile.h - the one place a process's heap profile is built: what the BPF
 * programs (and, in DWARF mode, the daemon's sample store) recorded, turned
 * into a pprof profile with every comment it carries.
 *
 * A profile is built from a snapshot of the counters (or the difference of
 * two: a delta), symbolized with the process's maps, unbiased for the
 * sample rate. Profiles are cumulative since tracing began, like Go's heap
 * profile. Where a profile goes (a file, an HTTP answer, the status line)
 * is the sinks' business (sink.h); the file sink and the HTTP handlers both
 * build through profile__build, so they carry the same comments.
 */
#ifndef HEAPTRACE_PROFILE_H
#define HEAPTRACE_PROFILE_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/loader.h"
#include "collect/process.h"
#include "collect/snapshot.h"
#include "symbol/symbolize.h"

struct pprof_builder;
struct wrappers;

/* What every profile of a run shares. */
struct profile_opts {
	uint64_t sample_rate;
	bool alloc_only; /* --alloc-only: each profile says that in-use is not tracked */
	const struct wrappers *wrappers; /* folded out of every stack's leaf; NULL: none */
};

struct profile_request {
	struct loader *loader;
	struct symbolizer *symbolizer;
	const struct profile_opts *opts;
	struct process *proc;	/* its maps may be re-read once, if an address is unknown */
	const char *note;	/* one more comment (the safety valve's), or NULL */
	const char *memcg_note; /* and one of its memory cgroup (OOM kill, near its limit) */
	const char *children;	/* --follow-forks: children followed and missed, or NULL */
	const struct heap_snapshot *snap;
	const struct heap_snapshot *base; /* subtracted from snap (a delta), or NULL */
	int64_t time_ns;		  /* the profile's time_nanos */
	int64_t duration_ns;
	bool default_alloc; /* alloc_space as the default sample type (/debug/pprof/allocs) */
};

/* Totals of one profile, unbiased, for the status line. */
struct profile_summary {
	int64_t inuse_objects;
	int64_t inuse_bytes;
	int64_t alloc_objects;
	int64_t alloc_bytes;
	uint64_t samples;
	uint64_t lost;
	uint64_t stacks;
	uint64_t inuse_samples; /* live sampled blocks the in-use estimate rests on */
	int64_t rss_anon;	/* the process's RssAnon in bytes, or -1 when unknown */
	uint64_t rate;		/* the rate the values were unbiased for */
};

/*
 * Builds the profile `r` describes. In a delta, in-use values may be
 * negative and stacks without change are left out. On success *out is a
 * new builder (the caller frees it) and *sum its totals. Returns 0 or a
 * negative errno.
 */
int profile__build(const struct profile_request *r, struct profile_summary *sum,
		   struct pprof_builder **out);

/*
 * The totals profile__build would give for `r` (a snapshot, no base), with
 * no profile built and nothing symbolized: what /metrics needs. Returns 0,
 * -EINVAL for a base, or a negative errno.
 */
int profile__totals(const struct profile_request *r, struct profile_summary *sum);

/*
 * A snapshot of the process's counters now, its maps re-read first while it
 * lives (libraries come and go). The caller has handled the events waiting
 * in the ring buffer. Returns 0 or a negative errno.
 */
int profile__snapshot(struct loader *l, struct process *p, struct heap_snapshot **out);

/* The lost-event total of a process's BPF counters. */
uint64_t profile__lost(const struct ht_target *c);

#endif /* HEAPTRACE_PROFILE_H */
