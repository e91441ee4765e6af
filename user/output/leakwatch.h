/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * leakwatch.h - the live side of the leak analysis: one series (leak.h) per
 * traced process, fed each periodic profile the daemon builds.
 *
 * leakwatch__observe adds a profile to its process's series, analyses the
 * series and marks the profile: one comment per leak suspect (at most
 * LEAKWATCH_MAX_COMMENTS), "heaptrace leak suspect: FUNCTION ...", before
 * the sinks write it; the top suspect comes back for the status line. The
 * HTTP report (/debug/heaptrace/report) reads the same series. A process's
 * final profile ends its series (leakwatch__forget).
 *
 * Memory: per process, its stacks times at most LEAK_MAX_POINTS profiles
 * of two 64-bit values (for 1000 stacks, about 1 MiB).
 */
#ifndef HEAPTRACE_LEAKWATCH_H
#define HEAPTRACE_LEAKWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "collect/process.h"

#define LEAKWATCH_MAX_COMMENTS 5

struct pprof_builder;
struct leakwatch;

/* NULL when out of memory. */
struct leakwatch *leakwatch__new(void);

/*
 * Adds profile b of p to p's series and marks b's suspects; `top` gets
 * the top suspect in a few words ("grow_forever +1.0 MiB/s") or "".
 * Returns 0 or -ENOMEM (the profile is then unmarked, top "").
 */
int leakwatch__observe(struct leakwatch *w, const struct process *p, struct pprof_builder *b,
		       char *top, size_t len);

/* Ends p's series (its final profile is written). */
void leakwatch__forget(struct leakwatch *w, const struct process *p);

/* p's report as text or JSON (leak.h's formats). -ENOENT when p has no profile yet. */
int leakwatch__write(struct leakwatch *w, const struct process *p, bool json, FILE *f);

/* leakwatch__free(NULL) is a no-op. */
void leakwatch__free(struct leakwatch *w);

#endif /* HEAPTRACE_LEAKWATCH_H */
