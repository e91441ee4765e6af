// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* targets.c - see targets.h. */
#include <errno.h>
#include <stdlib.h>

#include "core/targets.h"
#include "util/vec.h"

struct target *targets__new_slot(struct targets *ts)
{
	struct target *t;

	if (ts->nr >= ts->max)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (t)
		t->pidfd = -1;
	return t;
}

int targets__insert(struct targets *ts, struct target *t)
{
	if (VEC_RESERVE(ts->items, ts->cap, ts->nr + 1))
		return -ENOMEM;
	ts->items[ts->nr++] = t;
	return 0;
}

void targets__discard(struct target *t)
{
	if (!t)
		return;
	target__fini(t);
	free(t);
}

ssize_t targets__index(const struct targets *ts, pid_t pid)
{
	size_t i;

	for (i = 0; i < ts->nr; i++)
		if (ts->items[i]->proc.pid == pid)
			return (ssize_t)i;
	return -1;
}

struct target *targets__find(const struct targets *ts, pid_t pid)
{
	ssize_t i = targets__index(ts, pid);

	return i < 0 ? NULL : ts->items[i];
}

void targets__remove(struct targets *ts, size_t idx)
{
	targets__discard(ts->items[idx]);
	ts->items[idx] = ts->items[--ts->nr];
}

void targets__clear(struct targets *ts)
{
	while (ts->nr)
		targets__remove(ts, ts->nr - 1);
	free(ts->items);
	ts->items = NULL;
	ts->cap = 0;
}
