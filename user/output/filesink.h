/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * filesink.h - the sink that writes each profile to a file of its own,
 * COMM.PID.TIME.heap.pb.gz (TIME in UTC, with milliseconds when profiles
 * come faster than one a second), atomically: a reader never sees half a
 * profile, and a profile already written is never replaced.
 *
 * The directory is opened once and checked (output/outdir.h). A name that
 * is taken (by an earlier profile in the same tick, or by a file someone
 * else put there) is never waited on: the profile gets COMM.PID.TIMEZ_N or
 * COMM.PID.TIMEZ_XXXXXXXX instead, and a name taken by someone else is said
 * once.
 *
 * Writing is off the caller's thread: write() encodes the profile and
 * queues it (at most FILESINK_QUEUE_MAX wait; the oldest but the one on its
 * way is dropped past that, and said), and a writer thread puts the queue
 * on disk through a helper process (output/diskproc.h), so that even a
 * hung filesystem never keeps heaptrace from ending. A write
 * that fails is said once per fault with its cause, keeps its place in the
 * queue and is tried again when the next profile comes (the next
 * interval); tracing goes on meanwhile. After each profile written, the
 * retention policy (output/retention.h) removes what it chooses.
 *
 * A process that has no sample yet gets no file unless write_empty (a
 * wrapper that exec'd, an idle command, leaves nothing).
 */
#ifndef HEAPTRACE_FILESINK_H
#define HEAPTRACE_FILESINK_H

#include <stdbool.h>
#include <stdint.h>

#include "output/retention.h"
#include "output/sink.h"

/* Profiles waiting for the disk at most; more drop the oldest. */
#define FILESINK_QUEUE_MAX 64

/* At the end, how long the last profiles may take to reach the disk. */
#define FILESINK_FLUSH_NS 800000000ull

struct filesink_opts {
	const char *dir;       /* kept, not copied */
	bool subsecond_names;  /* add milliseconds to file names */
	bool allow_unsafe_dir; /* --unsafe-output-dir: skip the directory's owner and mode checks */
	bool write_empty;      /* --write-empty: also profiles without a sample */
	struct retention_policy retention;
};

extern const struct sink_ops filesink_ops;

/*
 * Opens the directory, sweeps its stale temporary files and starts the
 * writer. On failure says why in one line and returns a negative errno.
 */
int filesink__open(const struct filesink_opts *o, void **state);

#endif /* HEAPTRACE_FILESINK_H */
