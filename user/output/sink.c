// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* sink.c - see sink.h. */
#include <errno.h>
#include <stdlib.h>

#include "output/sink.h"
#include "util/vec.h"

struct sink {
	const struct sink_ops *ops;
	void *state;
};

struct sinks {
	struct sink *items;
	size_t nr, cap;
};

struct sinks *sinks__new(void)
{
	return calloc(1, sizeof(struct sinks));
}

int sinks__add(struct sinks *s, const struct sink_ops *ops, void *state)
{
	if (VEC_RESERVE(s->items, s->cap, s->nr + 1)) {
		if (ops->free)
			ops->free(state);
		return -ENOMEM;
	}
	s->items[s->nr++] = (struct sink){ ops, state };
	return 0;
}

/* What the sinks before `end` hold: a later sink (the status line) can say it. */
static uint64_t waiting_before(struct sinks *s, size_t end)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < end; i++)
		if (s->items[i].ops->waiting)
			n += s->items[i].ops->waiting(s->items[i].state);
	return n;
}

int sinks__write(struct sinks *s, const struct profile_output *out)
{
	struct profile_output o = *out;
	size_t i;
	int err;

	for (i = 0; i < s->nr; i++) {
		o.waiting = waiting_before(s, i);
		err = s->items[i].ops->write(s->items[i].state, &o);
		if (err)
			return err;
	}
	return 0;
}

int sinks__flush(struct sinks *s, uint64_t deadline_ns)
{
	size_t i;
	int err = 0;

	for (i = 0; s && i < s->nr; i++)
		if (s->items[i].ops->flush &&
		    s->items[i].ops->flush(s->items[i].state, deadline_ns))
			err = -EIO;
	return err;
}

void sinks__free(struct sinks *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr; i++)
		if (s->items[i].ops->free)
			s->items[i].ops->free(s->items[i].state);
	free(s->items);
	free(s);
}
