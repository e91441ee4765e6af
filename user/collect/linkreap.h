/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * linkreap.h - releases the probe links of processes that have ended, on a
 * thread of their own.
 *
 * Releasing a uprobe link makes the kernel wait for RCU grace periods
 * (about 50 ms per link here, nine links per process): done on the event
 * loop, the links of children that end 100 times a second kept the daemon
 * from attaching the next ones (12 of 300 followed). Threads of their own
 * release them in parallel. Only links whose release touches no state
 * shared with the loader's other work are handed over (plain uprobes and
 * uprobe sessions; libbpf's USDT links share its USDT manager and are
 * destroyed where they were made). A link of a process that ended can fire
 * no more, so its release may come late: it waits while links are being
 * made (a release holds locks an attach needs), up to a bound.
 */
#ifndef HEAPTRACE_LINKREAP_H
#define HEAPTRACE_LINKREAP_H

struct bpf_link;
struct link_reaper;

/* A reaper (its threads start with the first link handed over); NULL when out of memory. */
struct link_reaper *link_reaper__new(void);

/*
 * Hands over `link` (a libbpf link) or `fd` (a raw link descriptor; -1 with
 * a link). -EAGAIN when the queue is full (the caller releases it itself).
 */
int link_reaper__add(struct link_reaper *r, struct bpf_link *link, int fd);

/* Links are being made now: releases wait for a quiet moment. NULL is a no-op. */
void link_reaper__attaching(struct link_reaper *r);

/* Releases what is left, then stops the thread. NULL is a no-op. */
void link_reaper__free(struct link_reaper *r);

#endif
