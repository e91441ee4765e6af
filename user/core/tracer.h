/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tracer.h - what heaptrace does with processes over time: the traced
 * processes' table, the BPF events, execs and forks, the system-wide
 * sweep, the safety valve, the loss reports, and the profiles written
 * every interval and at each process's end.
 *
 *	tracer__new(env, &tr);	 load the probes, open the outputs
 *	tracer__start(tr);	 the command, the PIDs, or every process
 *	tracer__run(tr);	 until the targets end, -d or a signal
 *	tracer__free(tr);	 final bookkeeping; returns the exit status
 *
 * Every function prints its own error, one line naming the object and the
 * fix. The tracer runs on the caller's one thread, in an evloop.
 */
#ifndef HEAPTRACE_TRACER_H
#define HEAPTRACE_TRACER_H

#include <stddef.h>
#include <sys/types.h>

#include "core/env.h"
#include "core/target.h"

struct tracer;

/* Checks nothing of the host (preflight does); `env` must outlive the tracer. */
int tracer__new(const struct env *env, struct tracer **out);

int tracer__start(struct tracer *tr);

/* Whether allocating sites are probed with uprobe session links (loader__session_status). */
bool tracer__uses_sessions(const struct tracer *tr);

/* The loop, then the final profiles of every target still traced. */
int tracer__run(struct tracer *tr);

/* The traced processes, for whoever serves them (the HTTP endpoints). */
size_t tracer__nr_targets(const struct tracer *tr);
struct target *tracer__target(const struct tracer *tr, size_t i);
struct target *tracer__find(const struct tracer *tr, pid_t pid);

/* Releases everything; returns the run's exit status (0 or 1). NULL is a no-op returning 1. */
int tracer__free(struct tracer *tr);

#endif /* HEAPTRACE_TRACER_H */
