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

int sinks__write(struct sinks *s, const struct profile_output *out)
{
	size_t i;
	int err;

	for (i = 0; i < s->nr; i++) {
		err = s->items[i].ops->write(s->items[i].state, out);
		if (err)
			return err;
	}
	return 0;
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
