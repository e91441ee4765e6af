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

#include "dump.h"
#include "loader.h"

struct target {
	pid_t pid;
	char comm[17];
	int pidfd;
	bool alive;
	struct dump_target dump; /* what a profile needs: maps, comm, start time */
	int64_t last_inuse_bytes;
	uint64_t dumps;
};

/*
 * Starts tracing `pid`: snapshot its maps, find its allocator objects and
 * attach the probes to them. For a command heaptrace started itself (which
 * has not exec'ed yet) the objects are the ones the dynamic linker would
 * load; `command_name` names it (NULL for a running process). Prints one error line naming the PID
 * on failure and returns a negative errno.
 */
int target__attach(struct target *t, pid_t pid, struct loader *l, const char *command_name);

/* Re-reads the process's maps and name (after exec or dlopen). */
int target__refresh_maps(struct target *t);

/* True once the process has exited. */
bool target__exited(struct target *t);

/* Releases what the target holds; the probes are the loader's to remove. */
void target__fini(struct target *t);

#endif /* HEAPTRACE_TARGET_H */
