/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * modes.h - what one run of heaptrace does, chosen from the parsed command
 * line by one table (as bpftool dispatches its subcommands): print a
 * profile, list a process's allocators or probe sites, or trace.
 */
#ifndef HEAPTRACE_MODES_H
#define HEAPTRACE_MODES_H

#include "core/env.h"

struct mode {
	const char *name;
	/* True when this run is this mode; `parsed` is env__parse's enum env_result. */
	bool (*selected)(const struct env *env, int parsed);
	/* Runs it; returns the process's exit status. Prints its own errors. */
	int (*run)(const struct env *env);
};

/* The first mode of the table whose selected() is true; the last, tracing, always is. */
const struct mode *modes__select(const struct env *env, int parsed);

#endif /* HEAPTRACE_MODES_H */
