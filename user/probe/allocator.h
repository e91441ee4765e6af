/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * allocator.h - where to probe a process's allocator.
 *
 * Takes what discovery (discover.h) found — the objects that serve the
 * process's malloc, free and operator new, and their entry points — and
 * turns each entry point into a probe site: which BPF entry program runs
 * there (by the entry point's arguments), whether it needs a return probe,
 * and at which file offset, the probe moved past the instructions it may
 * skip (probeplace.h) unless the naive placement is asked for.
 */
#ifndef HEAPTRACE_ALLOCATOR_H
#define HEAPTRACE_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "heaptrace.h"
#include "probe/probeplace.h"
#include "symbol/procmaps.h"

/* One probe site. */
struct alloc_site {
	const char *symbol;	 /* the entry point's name (static storage) */
	enum ht_entry entry;	 /* which BPF entry program runs there */
	bool allocates;		 /* it returns a block: a return probe too */
	uint64_t file_offset;	 /* where the probes attach: function + place.offset */
	struct probeplace place; /* the site within the function, and why */
	uint64_t cookie;	 /* what its BPF program is told: HT_COOKIE(), 0 for most */
};

/* The sites of one object, opened as `path`. */
struct alloc_object_plan {
	char *path;	       /* as heaptrace opens it: /proc/PID/root/... */
	char *shown;	       /* as the process's maps show it */
	const char *allocator; /* "glibc", "jemalloc", ... */
	struct alloc_site *sites;
	size_t nr_sites;
};

struct alloc_plan {
	const char *allocator; /* the kind serving malloc */
	struct alloc_object_plan *objects;
	size_t nr;
};

/*
 * Discovers the allocator of process `pid` (maps snapshot `pm`) and plans
 * its probe sites; with `at_entry` every probe stays on its symbol's first
 * instruction. Returns 0 and a plan to free with allocator__plan_free(),
 * -ENOENT when no object of the process defines malloc, -EIO when none
 * read does but some mapped file could not be opened (it may be the one),
 * -ESRCH when the process is gone, or another negative errno.
 */
int allocator__plan(pid_t pid, const struct procmaps *pm, bool at_entry, struct alloc_plan **out);

/* allocator__plan_free(NULL) is a no-op. */
void allocator__plan_free(struct alloc_plan *plan);

/*
 * The registers the entry program of `entry` reads at its probe site
 * (PROBEPLACE_* bits, the `needs` of probeplace__choose()): its argument
 * registers (bpf/entry_kinds.h), and for an allocating one the caller's
 * stack registers too. A free reads its pointer only and takes no stack.
 */
unsigned int allocator__needs(enum ht_entry entry);

/* --list-probes: one line per site: object, symbol, offset, instruction, reason. */
void allocator__plan_write(const struct alloc_plan *plan, FILE *f);

#endif /* HEAPTRACE_ALLOCATOR_H */
