/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sink.h - where the periodic and final profiles of the traced processes go.
 *
 * A sink is a small object behind `struct sink_ops`: the file writer
 * (filesink.h), the status line (statusline.h), and whatever comes next
 * (retention, a push to a server) as one more file and one more
 * sinks__add() where core sets up the run. The HTTP endpoints answer on
 * request instead (http/serve.h) but build through the same
 * profile__build.
 *
 * Sinks get each profile in the order they were added, stop at the first
 * that fails, and must not keep pointers into a profile_output after
 * write returns. Errors are negative errno; a failing sink has said why.
 */
#ifndef HEAPTRACE_SINK_H
#define HEAPTRACE_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/process.h"
#include "output/profile.h"

struct pprof_builder;

/* One profile, as every sink sees it. */
struct profile_output {
	const struct process *proc;
	struct pprof_builder *profile; /* sinks may encode it, not change it */
	const struct profile_summary *sum;
	int64_t time_ns; /* CLOCK_REALTIME, the profile's time_nanos */
	bool final;	 /* the process's last profile of this image */
	bool peak;	 /* a high of its in-use between two periodic profiles (--peak) */
	/* While the safety valve has its probes off: why and until when; else NULL. */
	const char *probes_off;
	/* --follow-forks: its children followed and missed, or NULL. */
	const char *children;
	/* Killed by the OOM killer, or near its memory cgroup's limit: said so; else NULL. */
	const char *memcg_note;
	/* Set by sinks__write: profiles earlier sinks hold that wait for their disk. */
	uint64_t waiting;
	/* The top leak suspect in a few words (leakwatch.h), or NULL. */
	const char *leak_suspect;
};

struct sink_ops {
	const char *name;
	int (*write)(void *state, const struct profile_output *out);
	void (*free)(void *state); /* may be NULL */
	/* Profiles held, not yet where they go (may be NULL: none). */
	uint64_t (*waiting)(void *state);
	/*
	 * Puts what is held where it goes, giving up at CLOCK_MONOTONIC
	 * deadline_ns: 0, or -EIO when profiles were left unwritten (said).
	 * May be NULL.
	 */
	int (*flush)(void *state, uint64_t deadline_ns);
};

struct sinks;

/* NULL when out of memory. */
struct sinks *sinks__new(void);

/*
 * Adds a sink; `state` is its own (freed through ops->free, also when
 * adding fails). Returns 0 or -ENOMEM.
 */
int sinks__add(struct sinks *s, const struct sink_ops *ops, void *state);

/* Hands `out` to every sink in turn. Returns 0 or the first sink's error. */
int sinks__write(struct sinks *s, const struct profile_output *out);

/*
 * At the end of a run: every sink's flush, all by one deadline
 * (CLOCK_MONOTONIC). Returns 0 or -EIO when a sink left profiles unwritten.
 */
int sinks__flush(struct sinks *s, uint64_t deadline_ns);

/* sinks__free(NULL) is a no-op. */
void sinks__free(struct sinks *s);

#endif /* HEAPTRACE_SINK_H */
