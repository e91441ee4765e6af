/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * process.h - what the daemon knows of one traced process's memory: its
 * identity, its mapping snapshot and, in DWARF mode, its unwinder and the
 * counters of its samples.
 *
 * This is the one owner of a process's maps: they are re-read only here
 * (process__refresh_maps, process__refresh_for), and whoever builds a
 * profile or unwinds a stack reads them through `maps`. A process whose
 * `alive` is false (exited, or exec'ed into a new image) keeps its last
 * snapshot for good, so its final profile is still symbolized.
 *
 * Not thread-safe: the daemon has one thread. Errors are negative errno.
 */
#ifndef HEAPTRACE_PROCESS_H
#define HEAPTRACE_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "collect/samples.h"
#include "collect/unwind.h"
#include "symbol/procmaps.h"

#define PROCESS_COMM_LEN 17

struct process {
	pid_t pid;
	uint64_t start_time; /* /proc/PID/stat starttime: with pid, names one process */
	char comm[PROCESS_COMM_LEN];
	uid_t uid;     /* procfs__owner_uid, at open and each exec: who may read its profiles */
	char exe[256]; /* its executable as mapped ("" unknown): with comm, its name (procname.h) */
	bool alive;    /* false once exited or exec'ed: maps are final */
	uint64_t start_realtime_ns; /* when tracing began, for duration_nanos */
	struct procmaps *maps;	    /* never NULL once process__open succeeded */
	/* DWARF mode: stacks unwound here, counters kept here (else NULL). */
	struct unwinder *unwinder;
	struct sample_store *store;
	uint64_t unwind_failures; /* stacks that could not be unwound past their leaf */
	uint64_t events;	  /* DWARF-mode events handled, which may lag the counters */
	uint64_t last_refresh_ns;
	bool last_refresh_found; /* the last re-read covered the address it was made for */
	uint64_t maps_gen;	 /* bumped at each re-read of the maps */
	/*
	 * Traced through an in-process sampler's USDT probes: a stack starts at
	 * the probe site, so its first frame (the function holding the probe)
	 * and the frames in [hide_lo, hide_hi) after it (the sampler's code,
	 * when it is a library of its own) are not the code that asked.
	 */
	bool at_probe;
	uint64_t hide_lo, hide_hi;
	uint64_t unwinder_gen; /* maps_gen the unwinder last saw */
	/* RssAnon last read while it lived, for a final profile taken after its exit. */
	uint64_t rss_anon;
	bool rss_known;
};

/*
 * Opens `pid`: its name, start time and maps snapshot. Returns -ESRCH when
 * the process is gone or exiting (its maps are empty). process__fini()
 * releases what it holds either way.
 */
int process__open(struct process *p, pid_t pid);

/*
 * Re-reads the maps and the name (after exec or dlopen). A process that is
 * exiting shows no maps: the old snapshot stays and -ESRCH is returned.
 */
int process__refresh_maps(struct process *p);

/*
 * An address outside the snapshot means new code was mapped: re-reads the
 * maps unless `addr` is known, the process is gone, or a re-read that did
 * not find such an address happened less than 100 ms ago (code outside any
 * file, a JIT, must not make every lookup re-read them). In DWARF mode the
 * unwinder then learns the new maps (also those another caller re-read).
 * True when the unwinder or the caller has a fresher view than before.
 */
bool process__refresh_for(struct process *p, uint64_t addr);

/* DWARF mode: sets up the unwinder and the counters, sized by the limits. */
int process__enable_dwarf(struct process *p, uint32_t max_stacks, uint32_t max_live);

/* DWARF mode: handles one event of this process (struct ht_event_hdr first). */
void process__handle_event(struct process *p, const void *data, size_t size);

/* Events lost on the daemon's side (DWARF mode's tables full). */
uint64_t process__lost(const struct process *p);

/* Releases what the process holds; process__fini of a zeroed struct is a no-op. */
void process__fini(struct process *p);

#endif /* HEAPTRACE_PROCESS_H */
