/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * plancache.h - probe plans reused between processes that map the same
 * files at the same addresses.
 *
 * A forked child maps exactly what its parent mapped: discovering its
 * allocator again (every object's symbols read, every entry point
 * disassembled) took most of the daemon's time in a fork storm. A plan
 * depends on the process only through its file mappings (which objects,
 * where, in which order) and the /proc/PID/ prefix of the paths it opens,
 * so a process whose file mappings are those of a cached plan gets a copy
 * of it with its own prefix. Anonymous mappings (heap, stacks) are not
 * compared: they change all the time and no plan reads them. Only plans of
 * processes without USDT probes are kept (the caller looked for those
 * first), so a hit also answers "no USDT probes here".
 */
#ifndef HEAPTRACE_PLANCACHE_H
#define HEAPTRACE_PLANCACHE_H

#include <stdbool.h>
#include <sys/types.h>

#include "probe/allocator.h"
#include "symbol/procmaps.h"

struct plan_cache;

/* NULL when out of memory. */
struct plan_cache *plancache__new(void);

/* plancache__free(NULL) is a no-op. */
void plancache__free(struct plan_cache *c);

/*
 * A copy, for `pid`, of a cached plan made with `at_entry` for the same
 * file mappings as `pm`: 0 with *out set (the caller frees it), -ENOENT
 * when none is cached, -ENOMEM.
 */
int plancache__find(struct plan_cache *c, pid_t pid, const struct procmaps *pm, bool at_entry,
		    struct alloc_plan **out);

/* Keeps a copy of `plan`, made for `pid` (maps `pm`), evicting the oldest. 0 or -ENOMEM. */
int plancache__add(struct plan_cache *c, pid_t pid, const struct procmaps *pm, bool at_entry,
		   const struct alloc_plan *plan);

/* A copy of `plan` whose /proc/FROM/ paths say /proc/TO/ (pure, for the cache and its tests). */
struct alloc_plan *plancache__copy(const struct alloc_plan *plan, pid_t from, pid_t to);

#endif
