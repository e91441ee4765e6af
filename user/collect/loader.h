/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * loader.h - the BPF side of heaptrace: load the programs, attach them to a
 * process's allocator, read and clear what they recorded.
 *
 * The only module that includes the BPF skeleton. Errors are negative errno
 * values; the loader prints nothing itself except libbpf's own messages
 * when verbose.
 */
#ifndef HEAPTRACE_LOADER_H
#define HEAPTRACE_LOADER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "probe/allocator.h"
#include "heaptrace.h"

struct loader;

struct loader_opts {
	uint64_t sample_rate;	  /* mean bytes between samples; 1 = every allocation */
	uint32_t max_targets;	  /* processes traced at once */
	uint32_t max_stacks;	  /* distinct stacks kept */
	uint32_t max_live;	  /* live sampled blocks tracked */
	uint32_t max_threads;	  /* threads inside an allocator call at once */
	enum ht_unwind unwind;	  /* frame pointers in the kernel, or DWARF in the daemon */
	uint32_t stack_copy_size; /* DWARF: bytes of user stack copied per sample */
	uint32_t ring_size;	  /* DWARF: events ring buffer bytes (a power of two) */
	bool verbose;		  /* print libbpf's messages */
	bool alloc_only;	  /* no free probes; sampled blocks count as freed at once */
	bool probe_at_entry;	  /* probe each symbol's first instruction (naive placement) */
	bool floor;		  /* attach empty programs at the same sites (benchmark floor) */
	bool no_session;	  /* uprobe + uretprobe pairs even where uprobe sessions work */
	/* System-wide mode and lifecycle (see loader__attach_sites with pid -1). */
	bool trace_all;	   /* an entry of a process not yet traced adopts it */
	bool watch_execs;  /* an exec into a process the filters want is an HT_EV_EXEC */
	bool follow_forks; /* children forked by a traced process are traced */
	pid_t self;	   /* never traced: heaptrace itself */
	int cgroup_fd;	   /* with filter_cgroup: a cgroup v2 directory, adopt its subtree only */
	bool filter_cgroup;
	const char *comm; /* adopt only processes of this name (NULL: any) */
};

/*
 * Opens and loads the BPF programs with `opts`. -EPERM when BPF is not
 * permitted, other negative errno values from libbpf otherwise.
 */
int loader__open(const struct loader_opts *opts, struct loader **out);

/*
 * Starts filtering for `pid`: its allocations are recorded once probes on
 * its allocator objects are attached. -ENOSPC when max_targets are traced.
 */
int loader__add_target(struct loader *l, pid_t pid);

/*
 * Whether the OOM killer's choices are seen (ht_target.oom_victim_ns): the
 * kernel's mark_victim tracepoint exists and takes the task.
 */
bool loader__sees_oom_kills(const struct loader *l);

/*
 * Attaches the probes of `nr` sites of the object at `path` (as this process
 * can open it) for process `pid`, or for every process with pid -1 (such
 * links stay until loader__free): the entry program of each site, and the
 * return program where the site allocates (none for frees, and no frees at
 * all with alloc_only). Returns the number of probes attached or a negative
 * errno; *failed (if not NULL) then names the site that failed.
 */
int loader__attach_sites(struct loader *l, pid_t pid, const char *path,
			 const struct alloc_site *sites, size_t nr, const char **failed);

/*
 * Host-wide counters (processes not traced for want of room, lifecycle
 * events lost). Returns 0 or a negative errno.
 */
/*
 * Attaches the in-process sampler's USDT probes (otel_memory:alloc, and
 * :free unless alloc-only) in the object at `path` for `pid` only; the
 * kernel counts their semaphores. Returns the number attached, or a
 * negative errno (-ENOENT: the object has no such probe).
 */
int loader__attach_usdt(struct loader *l, pid_t pid, const char *path);

int loader__global_stats(struct loader *l, struct ht_global_stats *out);

/*
 * The PIDs in the targets map (for a sweep of entries the daemon has no
 * target for: a lost new-process event). *out is the caller's to free.
 */
int loader__target_pids(struct loader *l, pid_t **out, size_t *nr);

/* Detaches `pid`'s probes and forgets everything recorded for it. */
int loader__remove_target(struct loader *l, pid_t pid);

/*
 * Like loader__remove_target for a process that has ended, many at once
 * (system-wide, where processes come and go by the thousand; a fork storm):
 * detaches `pid`'s probes (released on another thread: collect/linkreap.h)
 * and freezes its entry now; its data is deleted by the next loader__purge,
 * which walks each map once for every retired process. Until then the PID
 * is not traced anew (a new process given it waits for the purge).
 */
int loader__retire_target(struct loader *l, pid_t pid);
size_t loader__nr_retired(const struct loader *l);
void loader__purge(struct loader *l);

/*
 * With `on`, reads every (process, stack) counter once, so that the profiles
 * of many processes written together cost one walk of the map, not one
 * each; loader__for_each_agg then reads the copy until loader__cache_aggs
 * (l, false). Returns 0 or -ENOMEM.
 */
int loader__cache_aggs(struct loader *l, bool on);

/* Copies `pid`'s counters. -ENOENT when it is not traced. */
int loader__target_stats(struct loader *l, pid_t pid, struct ht_target *out);

/*
 * Calls fn once per stack recorded for `pid`, with the stack (NULL when it
 * was lost) and its counters. Stops early and returns fn's value when fn
 * returns non-zero.
 */
typedef int (*loader_agg_fn)(const struct ht_agg_val *val, const struct ht_stack *stack, void *ctx);
int loader__for_each_agg(struct loader *l, pid_t pid, loader_agg_fn fn, void *ctx);

/*
 * Calls fn once per live sampled block of `pid` (frame-pointer mode: the
 * BPF live map), with its stack, size and allocation time (CLOCK_MONOTONIC
 * ns); blocks whose stack was lost are skipped. Stops early and returns
 * fn's value when fn returns non-zero. Walks every process's live blocks:
 * one map read per block; -EOPNOTSUPP while loader__cache_aggs is on (a
 * round over several processes), where that would be a walk per process.
 */
typedef int (*loader_live_fn)(const struct ht_stack *stack, uint64_t size, uint64_t time_ns,
			      void *ctx);
int loader__for_each_live(struct loader *l, pid_t pid, loader_live_fn fn, void *ctx);

/*
 * Events (DWARF mode's samples, and in every mode the lifecycle events):
 * fn is called for each event record (struct ht_event_hdr first) by
 * loader__consume_events; fn must not call loader__consume_events. loader__events_fd gives a
 * descriptor that polls readable when events wait.
 */
typedef int (*loader_event_fn)(const void *data, size_t size, void *ctx);
int loader__set_event_handler(struct loader *l, loader_event_fn fn, void *ctx);
int loader__events_fd(const struct loader *l);
/*
 * Handles the waiting events, for at most LOADER_CONSUME_BUDGET_NS (the
 * rest wait for the next call); returns how many, or a negative errno.
 */
#define LOADER_CONSUME_BUDGET_NS 100000000ull
int loader__consume_events(struct loader *l);

/*
 * The same with a budget of its own: before a final profile (a process
 * that exited, or heaptrace stopping), whose events would otherwise be
 * dropped with it, a longer wait is worth it.
 */
#define LOADER_DRAIN_BUDGET_NS 2000000000ull
int loader__drain_events(struct loader *l, uint64_t budget_ns);

/*
 * How allocating sites are probed: 1 with one uprobe session each (the
 * return run armed only by calls that need it, see uprobe_session.h), else
 * with a uprobe and a uretprobe, and then 0 when --no-session asked for it
 * or the negative errno that made the session probe or load fail.
 */
int loader__session_status(const struct loader *l);

/*
 * Detaches every probe attached for `pid` (-1: those for every process),
 * keeping its data and its entry in the targets map: the safety valve's
 * cooling period. loader__attach_sites puts them back.
 */
void loader__detach_probes(struct loader *l, pid_t pid);

/*
 * Attaches the empty entry program (--floor's) at file offset `offset` of
 * `path` for this process alone and calls fn(ctx): what one trap costs,
 * timed by collect/calibrate.c. The probe stays until loader__free (the
 * code it is on is not run again). Returns fn's value, or a negative errno
 * when the probe could not be attached.
 */
int loader__run_probed(struct loader *l, const char *path, uint64_t offset, int (*fn)(void *ctx),
		       void *ctx);

/* Detaches everything and unloads; loader__free(NULL) is a no-op. */
void loader__free(struct loader *l);

#endif /* HEAPTRACE_LOADER_H */
