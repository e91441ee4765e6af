/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * filesink.h - the sink that writes each profile to a file of its own,
 * COMM.PID.TIME.heap.pb.gz (TIME in UTC, with milliseconds when profiles
 * come faster than one a second), atomically: a reader never sees half a
 * profile, and a profile already written is never replaced.
 */
#ifndef HEAPTRACE_FILESINK_H
#define HEAPTRACE_FILESINK_H

#include <stdbool.h>

#include "output/sink.h"

struct filesink_opts {
	const char *dir;      /* kept, not copied */
	bool subsecond_names; /* add milliseconds to file names */
};

extern const struct sink_ops filesink_ops;

/* The state for filesink_ops, or NULL when out of memory. */
void *filesink__new(const struct filesink_opts *o);

#endif /* HEAPTRACE_FILESINK_H */
