// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * pprof_shape.c - fitting a profile into a server's limits: pruning empty
 * samples and folding the smallest stacks into one. Works on the builder's
 * insides (pprof_impl.h), like pprof.c and pprof_read.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output/pprof_impl.h"

/*
 * Moves the location ids of the first `nr` samples together again, in
 * sample order: each sample's ids must follow the previous one's
 * (pprof_impl.h), which dropping or reordering samples breaks.
 */
static void compact_loc_ids(struct pprof_builder *b, size_t nr)
{
	size_t i, pos = 0;

	for (i = 0; i < nr; i++) {
		struct pprof_sample *s = &b->samples[i];

		/* Kept samples keep their order, so ids only ever move down. */
		memmove(b->loc_ids + pos, b->loc_ids + s->loc_pos, s->nlocs * sizeof(*b->loc_ids));
		s->loc_pos = pos;
		pos += s->nlocs;
	}
	b->nloc_ids = pos;
}

size_t pprof__prune_samples(struct pprof_builder *b, unsigned mask)
{
	size_t i, kept = 0, k;

	for (i = 0; i < b->nsamples; i++) {
		struct pprof_sample *s = &b->samples[i];
		bool any = false;

		for (k = 0; k < PPROF_NR_VALUES; k++) {
			if (((mask >> k) & 1) && s->values[k] < 0)
				s->values[k] = 0;
			any = any || s->values[k] != 0;
		}
		if (any)
			b->samples[kept++] = *s;
	}
	b->nsamples = kept;
	compact_loc_ids(b, kept);
	return kept;
}

/* What a sample weighs when deciding which to keep. */
static int64_t weight(const struct pprof_sample *s)
{
	return s->values[PPROF_ALLOC_SPACE] + s->values[PPROF_INUSE_SPACE];
}

/* Heaviest first; equal weights by original position, so the result is stable. */
static int cmp_weight(const void *a, const void *b, void *ctx)
{
	const struct pprof_builder *p = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int64_t wx = weight(&p->samples[x]), wy = weight(&p->samples[y]);

	if (wx != wy)
		return wx > wy ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int cmp_index(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

int pprof__fold_samples(struct pprof_builder *b, size_t max, const char *name, size_t *folded)
{
	struct pprof_frame frame = { .function = name };
	int64_t other[PPROF_NR_VALUES] = { 0 };
	size_t i, k, keep, *order;
	uint64_t loc, addr;
	int64_t id;

	*folded = 0;
	if (max < 2)
		return -EINVAL;
	if (b->nsamples <= max)
		return 0;
	order = malloc(b->nsamples * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (i = 0; i < b->nsamples; i++)
		order[i] = i;
	qsort_r(order, b->nsamples, sizeof(*order), cmp_weight, b);
	keep = max - 1;
	for (i = keep; i < b->nsamples; i++)
		for (k = 0; k < PPROF_NR_VALUES; k++)
			other[k] += b->samples[order[i]].values[k];
	*folded = b->nsamples - keep;
	/* The kept samples in their original order: the profile reads as before, only shorter. */
	qsort(order, keep, sizeof(*order), cmp_index);
	for (i = 0; i < keep; i++)
		b->samples[i] = b->samples[order[i]];
	b->nsamples = keep;
	free(order);
	compact_loc_ids(b, keep);
	/* An address no location of the profile has: add_location would return that one. */
	for (addr = UINT64_MAX; pprof__find_location(b, addr, 0); addr--)
		;
	id = pprof__add_location(b, addr, 0, &frame, 1);
	if (id < 0)
		return (int)id;
	loc = (uint64_t)id;
	return pprof__add_sample(b, &loc, 1, other, 0);
}
