/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * memcg.h - the memory cgroup of a process: where it is, its limit and
 * usage, on cgroup v1 (the memory controller's own hierarchy, e.g.
 * /sys/fs/cgroup/memory) and v2 (the unified one, e.g. /sys/fs/cgroup or
 * /sys/fs/cgroup/unified). The controller is on one hierarchy at a time:
 * v1 when a v1 hierarchy carries it, else v2.
 */
#ifndef HEAPTRACE_MEMCG_H
#define HEAPTRACE_MEMCG_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

struct memcg {
	char dir[PATH_MAX]; /* the cgroup's directory */
	int version;	    /* 1 or 2 */
};

struct memcg_usage {
	uint64_t usage; /* bytes charged now */
	uint64_t limit; /* bytes; UINT64_MAX when unlimited */
	uint64_t peak;	/* the highest usage seen, 0 when the kernel does not say */
};

/* pid's memory cgroup. -ENOENT when none can be found (no memory controller mounted). */
int memcg__of(pid_t pid, struct memcg *out);

/* Its usage and limit now. -errno when its files cannot be read (the cgroup is gone). */
int memcg__read(const struct memcg *m, struct memcg_usage *out);

#endif /* HEAPTRACE_MEMCG_H */
