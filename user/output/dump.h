/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * dump.h - turn what the BPF programs recorded for one process into a pprof
 * heap profile file.
 *
 * Reads the process's counters and stacks (a snapshot), symbolizes
 * the stacks with the process's mapping snapshot, unbiases the sampled
 * counts and writes COMM.PID.TIME.heap.pb.gz atomically into a directory,
 * or hands the profile built to the caller (the HTTP endpoints).
 * Profiles are cumulative since tracing began, like Go's heap profile.
 */
#ifndef HEAPTRACE_DUMP_H
#define HEAPTRACE_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/loader.h"
#include "symbol/procmaps.h"
#include "collect/samples.h"
#include "symbol/symbolize.h"

struct dump_target {
	pid_t pid;
	const char *comm;
	struct procmaps *maps;	    /* snapshot; may be replaced by a fresher one */
	bool alive;		    /* maps may be re-read when an address is unknown */
	uint64_t start_realtime_ns; /* when tracing began, for duration_nanos */
	struct sample_store *store; /* DWARF mode's counters, or NULL */
	char note[384]; /* one more comment for its profiles (the safety valve's), or "" */
};

/* Totals of one profile, unbiased, for the status line. */
struct dump_summary {
	int64_t inuse_objects;
	int64_t inuse_bytes;
	int64_t alloc_objects;
	int64_t alloc_bytes;
	uint64_t samples;
	uint64_t lost;
	uint64_t stacks;
};

struct dump_opts {
	const char *output_dir;
	uint64_t sample_rate;
	bool subsecond_names; /* add milliseconds to file names */
	bool alloc_only;      /* --alloc-only: say that in-use is not tracked */
};

struct heap_snapshot;
struct pprof_builder;

/*
 * Builds the profile of `t` from `snap` (minus `base` when not NULL: a
 * delta, in which in-use values may be negative and stacks without change
 * are left out), symbolized with t's maps, unbiased for `rate`, with the
 * comment naming the process and its counters. On success *out is a new
 * builder (the caller frees it) and *sum its totals. Returns 0 or a
 * negative errno.
 */
int dump__build(struct loader *l, struct symbolizer *s, uint64_t rate, struct dump_target *t,
		const struct heap_snapshot *snap, const struct heap_snapshot *base, int64_t time_ns,
		int64_t duration_ns, struct dump_summary *sum, struct pprof_builder **out);

/*
 * Writes one profile for `t`: a snapshot taken now, built by dump__build.
 * On success fills *sum and `path` (the file written). Returns 0 or a
 * negative errno (-ENOSPC, -EACCES ... from the write; the previous files
 * are never touched).
 */
int dump__write(struct loader *l, struct symbolizer *s, const struct dump_opts *o,
		struct dump_target *t, struct dump_summary *sum, char *path, size_t path_len);

/* The lost-event total of a target's counters. */
uint64_t dump__lost(const struct ht_target *c);

#endif /* HEAPTRACE_DUMP_H */
