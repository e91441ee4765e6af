/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * filters.h - --comm and --cgroup as the daemon checks them: the cgroup
 * directory opened for the BPF filter, and a PID a person named checked
 * against both (a mistyped filter is said, not silently applied).
 */
#ifndef HEAPTRACE_FILTERS_H
#define HEAPTRACE_FILTERS_H

#include <stdbool.h>
#include <sys/types.h>

#include "core/env.h"

/* A cgroup v2 directory, opened for the BPF filter; -1 after its own error line. */
int filters__open_cgroup(const char *path);

/*
 * With -p, --comm and --cgroup do not widen anything: a given PID outside
 * them is refused, and they select the followed children the BPF side
 * picks (--follow-forks). Prints its own error.
 */
bool filters__match(const struct env *env, pid_t pid);

/* filters__match without a word: whether the filters want `pid` (now). */
bool filters__wants(const struct env *env, pid_t pid);

/*
 * Filtered system-wide mode: the PIDs of every process the filters want
 * now, but `self`, into a new array (*out, *nr; the caller frees it).
 * Returns 0 or a negative errno (/proc unreadable, no memory).
 */
int filters__scan(const struct env *env, pid_t self, pid_t **out, size_t *nr);

#endif /* HEAPTRACE_FILTERS_H */
