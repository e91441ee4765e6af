/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * targets.h - the table of traced processes: the one place a target is
 * looked up by PID.
 *
 * Targets are allocated one by one, so a pointer to one stays valid until
 * it is removed, however the table grows. Indexes are not stable across
 * targets__remove (the last target takes the removed one's place).
 */
#ifndef HEAPTRACE_TARGETS_H
#define HEAPTRACE_TARGETS_H

#include <stddef.h>
#include <sys/types.h>

#include "core/target.h"

struct targets {
	struct target **items;
	size_t nr, cap;
	size_t max; /* --max-processes */
};

/*
 * A new zeroed target (pidfd -1), not yet in the table: the caller opens
 * it, then targets__insert()s it or targets__discard()s it. NULL when
 * `max` targets are traced or memory ran out.
 */
struct target *targets__new_slot(struct targets *ts);
int targets__insert(struct targets *ts, struct target *t);
void targets__discard(struct target *t);

/* The target traced as `pid`, or NULL. */
struct target *targets__find(const struct targets *ts, pid_t pid);

/* The index of `pid`'s target, or -1. */
ssize_t targets__index(const struct targets *ts, pid_t pid);

/* Takes target `idx` out of the table, releases it and frees it. */
void targets__remove(struct targets *ts, size_t idx);

/* Removes every target; the table is empty and reusable after. */
void targets__clear(struct targets *ts);

#endif /* HEAPTRACE_TARGETS_H */
