/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * target.h - one traced process as core sees it: what collect/ knows of its
 * memory (struct process), the pidfd that tells when it exits, what its
 * probes are, its safety valve and its profile bookkeeping.
 */
#ifndef HEAPTRACE_TARGET_H
#define HEAPTRACE_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/loader.h"
#include "collect/process.h"
#include "collect/snapshot.h"
#include "collect/valve.h"
#include "core/env.h"
#include "util/memcg.h"
#include "util/strbuf.h"

struct target {
	struct process proc;
	int pidfd;
	struct strbuf probed; /* what target__probe attached, for target__announce */
	struct strbuf note;   /* one more comment for its profiles (the valve's), or "" */
	uint64_t dumps;
	bool ring_warned; /* said once that its events overflowed the ring */
	/* --follow-forks: its children traced, and those that ended before their
	 * probes were attached (said once, then only counted). */
	uint64_t children_followed, children_missed;
	bool children_warned;
	uint64_t last_samples; /* counters at the last profile written: skip idle ones */
	uint64_t last_frees;
	uint64_t last_events; /* proc.events at the last profile written */
	/* --max-call-rate: the valve, and the calls counter at its last tick. */
	struct valve valve;
	uint64_t valve_calls;
	/* Its problems are warnings: the run goes on without it (a followed child, a later attach). */
	bool warn_only;
	/* Traced through USDT probes: the object that carries them, as mapped (else NULL). */
	char *usdt_object;
	uint64_t usdt_inode;
	/* Its memory cgroup (tracer_memcg.c), found at its first profile or check. */
	struct memcg memcg;
	bool memcg_tried, has_memcg;
	bool memcg_unlimited; /* no limit at the last check: looked at again at its next profile */
	bool near_limit;      /* usage at or over --oom-threshold: its profile was written */
	bool near_dump;	      /* the profile being written is that one */
	struct memcg_usage near_usage;
	/*
	 * --peak: the highest sampled in-use seen (raw bytes), and the snapshot
	 * of a new high since the last periodic profile (NULL: none) with its time.
	 */
	uint64_t peak_high;
	struct heap_snapshot *peak_snap;
	int64_t peak_time_ns;
};

/*
 * Opens `pid` as a target without probing it (probes that already cover it:
 * system-wide mode's, or a followed child's attached by the caller): its
 * process (name, start time, maps) and pidfd. Prints nothing; returns
 * -ESRCH when the process is gone (or exiting), another negative errno
 * otherwise. target__fini() releases it either way.
 */
int target__open(struct target *t, pid_t pid);

/*
 * target__open for a process a person named (-p, a command, after its
 * exec): prints one line naming the PID when it is gone (an error when
 * `fatal`, else a warning), and returns -ESRCH. The caller then calls target__probe; a command heaptrace started
 * is opened once stopped at its entry point, its libraries loaded.
 */
int target__open_named(struct target *t, pid_t pid, bool fatal);

/* How a target is probed (from the command line). */
struct plan_cache;

struct target_probe_opts {
	bool probe_at_entry;	  /* --probe-at-entry: each entry point's first instruction */
	int probes;		  /* --probes: enum env_probes */
	struct plan_cache *plans; /* plans to reuse (probe/plancache.h); NULL: none */
};

/*
 * Starts tracing an open target: with --probes auto or usdt, through the
 * otel_memory USDT probes of an in-process sampler where the process has
 * them (a sampler that cannot be attached falls back to uprobes, said in
 * one line); otherwise discovers its allocator from its current
 * maps snapshot and attaches the probes to its entry points (each on its
 * own first instruction with `probe_at_entry`), again after the safety
 * valve took them off. Prints one line naming the PID on failure (an error
 * for a process a person named, else a -v detail: a filter picked it) and
 * returns a negative errno.
 */
int target__probe(struct target *t, struct loader *l, const struct target_probe_opts *o,
		  bool named);

/* The "tracing pid" line: what the last target__probe attached (with -v only if not named). */
void target__announce(const struct target *t, bool named);

/*
 * Traced through the USDT probes of an object the process has unloaded
 * since (a dlclose'd library): then its probes see nothing more. Reads the
 * process's current maps, not its snapshot; false while the object is
 * mapped, when t is not traced through USDT probes, or when the process
 * is gone (its exit is handled as any other).
 */
bool target__usdt_unloaded(const struct target *t);

/* DWARF mode: sets up the unwinder and the counters; prints its own error. */
int target__enable_dwarf(struct target *t, uint32_t max_stacks, uint32_t max_live);

/* True once the process has exited. */
bool target__exited(struct target *t);

/* The valve's state, as the note its profiles carry. */
void target__describe_valve(struct target *t, const struct valve *v, uint64_t now_ns);

/* Releases what the target holds; the probes are the loader's to remove. */
void target__fini(struct target *t);

#endif /* HEAPTRACE_TARGET_H */
