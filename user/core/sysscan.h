/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sysscan.h - system-wide mode's probes: which allocator objects the
 * processes of the host use, each probed once for every process.
 *
 * A scan walks /proc. For each process whose set of executable mapped
 * files (by device and inode) has not been seen before, the allocator is
 * discovered and planned (allocator.h), and each planned object's sites
 * that are not attached yet are attached with pid -1, for every process
 * that maps the file (loader.h). Objects are told apart by the device and
 * inode of the file, so the libc most processes share is probed once, and
 * a container's own libc, or a new jemalloc, is probed when first seen.
 * An object's sites are the union of those its processes' plans gave (a
 * jemalloc process plans only glibc's reallocarray and pvalloc, a glibc one
 * every function of glibc).
 *
 * Which processes are then traced is the BPF side's business (trace_all):
 * this module only places probes. Memory: one record per distinct object
 * and per distinct set of mapped files, both bounded (SYSSCAN_MAX_*); past
 * the bound, new sets are planned again at each scan rather than
 * remembered. Errors are negative errno values; an object that cannot be
 * probed is reported once (a message naming it) and skipped.
 */
#ifndef HEAPTRACE_SYSSCAN_H
#define HEAPTRACE_SYSSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "collect/loader.h"

#define SYSSCAN_MAX_OBJECTS 4096
#define SYSSCAN_MAX_IMAGES  65536

struct sysscan;

/* A new, empty registry: `self` is never scanned. Returns 0 or -ENOMEM. */
int sysscan__new(struct loader *l, bool probe_at_entry, pid_t self, struct sysscan **out);

/*
 * Scans every process of /proc (see above). Returns the number of probes
 * attached by this scan (0 when nothing new was found) or a negative errno
 * when /proc cannot be read.
 */
int sysscan__scan(struct sysscan *ss);

/* Scans one process (a new process, or one that exec'ed); same result. */
int sysscan__scan_pid(struct sysscan *ss, pid_t pid);

/*
 * Forgets every object and image: the caller detached their probes (the
 * safety valve, loader__detach_probes with -1), and the next scan probes
 * them all again.
 */
void sysscan__forget(struct sysscan *ss);

/* Distinct objects probed so far, and the probes attached to them. */
size_t sysscan__nr_objects(const struct sysscan *ss);
size_t sysscan__nr_probes(const struct sysscan *ss);

/* sysscan__free(NULL) is a no-op; the probes stay the loader's. */
void sysscan__free(struct sysscan *ss);

#endif /* HEAPTRACE_SYSSCAN_H */
