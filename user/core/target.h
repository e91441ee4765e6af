/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * target.h - one traced process: its identity, its mapping snapshot, the
 * pidfd that tells when it exits, and its probes.
 */
#ifndef HEAPTRACE_TARGET_H
#define HEAPTRACE_TARGET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "output/dump.h"
#include "collect/loader.h"
#include "collect/samples.h"
#include "collect/unwind.h"
#include "collect/valve.h"

struct target {
	pid_t pid;
	uint64_t start_time; /* /proc/PID/stat starttime: with pid, names one process */
	char comm[17];
	char probed[640]; /* what target__probe attached, for target__announce */
	int pidfd;
	bool alive;
	struct dump_target dump; /* what a profile needs: maps, comm, start time */
	int64_t last_inuse_bytes;
	uint64_t dumps;
	/* DWARF mode: stacks unwound here, counters kept here. */
	struct unwinder *unwinder;
	struct sample_store *store;
	uint64_t unwind_failures; /* stacks that could not be unwound past their leaf */
	uint64_t last_refresh_ns;
	bool last_refresh_found; /* it covered the address it was made for */
	uint64_t last_samples;	 /* counters at the last profile written: skip idle ones */
	uint64_t last_frees;
	uint64_t events;      /* DWARF mode: events handled, which may lag the counters */
	uint64_t last_events; /* ... at the last profile written */
	/* --max-call-rate: the valve, and the calls counter at its last tick. */
	struct valve valve;
	uint64_t valve_calls;
};

/* Sizes of a DWARF-mode target's tables. */
struct target_limits {
	uint32_t max_stacks;
	uint32_t max_live;
};

/*
 * Opens `pid` as a target without probing it (probes that already cover it:
 * system-wide mode's, or a followed child's attached by the caller): its
 * name, start time, pidfd and maps snapshot. Prints nothing; returns
 * -ESRCH when the process is gone (or exiting), another negative errno
 * otherwise. target__fini() releases it either way.
 */
int target__open(struct target *t, pid_t pid);

/*
 * The start time of `pid` (field 22 of /proc/PID/stat, clock ticks since
 * boot): with the PID it names one process for its whole life. -ESRCH when
 * it is gone.
 */
int target__start_time(pid_t pid, uint64_t *out);

/*
 * target__open for a process a person named (-p, a command, after its
 * exec): prints one error line naming the PID when it is gone, and returns
 * -ESRCH. The caller then calls target__probe; a command heaptrace started
 * is opened once stopped at its entry point, its libraries loaded.
 */
int target__open_named(struct target *t, pid_t pid);

/*
 * Starts tracing an open target: discovers its allocator from its current
 * maps snapshot and attaches the probes to its entry points (each on its
 * own first instruction with `probe_at_entry`), again after the safety
 * valve took them off. Prints one error line naming the PID on failure and
 * returns a negative errno.
 */
int target__probe(struct target *t, struct loader *l, bool probe_at_entry);

/* Prints the "tracing pid" line: what the last target__probe attached. */
void target__announce(const struct target *t);

/* DWARF mode: sets up the unwinder and the counters of an attached target. */
int target__enable_dwarf(struct target *t, const struct target_limits *limits);

/* DWARF mode: handles one event of this target (struct ht_event_hdr first). */
void target__handle_event(struct target *t, const void *data, size_t size);

/* Re-reads the process's maps and name (after exec or dlopen). */
int target__refresh_maps(struct target *t);

/* True once the process has exited. */
bool target__exited(struct target *t);

/* Releases what the target holds; the probes are the loader's to remove. */
void target__fini(struct target *t);

#endif /* HEAPTRACE_TARGET_H */
