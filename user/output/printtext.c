// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* printtext.c - see printtext.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "output/estimate.h"
#include "output/legacytext.h"
#include "output/printtext.h"
#include "output/unbias.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/vec.h"

#define MAX_FRAMES 16

/* One function's totals, in pprof's value order. */
struct fn_total {
	const char *name; /* the builder's string */
	int64_t flat[PPROF_NR_VALUES];
	int64_t cum[PPROF_NR_VALUES];
	int64_t flat_samples; /* sampled live blocks behind flat inuse */
	size_t last_sample;   /* the last sample counted in cum, + 1 */
};

struct totals {
	struct fn_total *fns;
	size_t nr, cap;
	struct htab index; /* size_t into fns */
	int64_t all[PPROF_NR_VALUES];
	int64_t inuse_samples;
};

static bool name_eq(const void *entry, const void *key, const void *ctx)
{
	const struct totals *t = ctx;

	return !strcmp(t->fns[*(const size_t *)entry].name, key);
}

static struct fn_total *fn_of(struct totals *t, const char *name)
{
	bool found;
	size_t *e = htab__insert(&t->index, hash_str(name), name, name_eq, &found);

	if (!e)
		return NULL;
	if (found)
		return &t->fns[*e];
	if (VEC_RESERVE(t->fns, t->cap, t->nr + 1)) {
		htab__remove(&t->index, e);
		return NULL;
	}
	*e = t->nr;
	t->fns[t->nr] = (struct fn_total){ .name = name };
	return &t->fns[t->nr++];
}

/*
 * The sampled live blocks a sample's in-use rests on: its samples label
 * where heaptrace wrote one, else recovered from the values (a Go
 * profile). In a difference (-base) the base's samples count negative, so
 * that the sum is what the net change rests on.
 */
static int64_t inuse_samples_of(const struct pprof_sample_view *sv, uint64_t rate)
{
	int64_t count, bytes;

	if (!sv->values[PPROF_INUSE_OBJECTS])
		return 0;
	if (sv->samples_label != PPROF_NO_LABEL)
		return sv->samples_label;
	legacytext__unscale(sv->values[PPROF_INUSE_OBJECTS], sv->values[PPROF_INUSE_SPACE],
			    sv->bytes_label, rate, &count, &bytes);
	return count;
}

static int add_sample(struct totals *t, const struct pprof_builder *b, size_t idx, uint64_t rate)
{
	struct pprof_frame frames[MAX_FRAMES];
	struct pprof_sample_view sv;
	size_t i, k;
	int j, nf;

	pprof__sample(b, idx, &sv);
	for (k = 0; k < PPROF_NR_VALUES; k++)
		t->all[k] += sv.values[k];
	t->inuse_samples += inuse_samples_of(&sv, rate);
	for (i = 0; i < sv.n; i++) {
		uint64_t addr;

		nf = pprof__location(b, sv.location_ids[i], &addr, frames, MAX_FRAMES);
		for (j = 0; j < nf; j++) {
			const char *name = frames[j].function ? frames[j].function : "?";
			struct fn_total *f = fn_of(t, name);

			if (!f)
				return -ENOMEM;
			if (i == 0 && j == 0) {
				for (k = 0; k < PPROF_NR_VALUES; k++)
					f->flat[k] += sv.values[k];
				f->flat_samples += inuse_samples_of(&sv, rate);
			}
			/* A recursive function counts once per stack in cum, as in pprof. */
			if (f->last_sample == idx + 1)
				continue;
			f->last_sample = idx + 1;
			for (k = 0; k < PPROF_NR_VALUES; k++)
				f->cum[k] += sv.values[k];
		}
	}
	return 0;
}

/* Largest flat in-use first, then largest cum, then by name: deterministic. */
static int by_flat(const void *a, const void *b)
{
	const struct fn_total *x = a, *y = b;

	if (x->flat[PPROF_INUSE_SPACE] != y->flat[PPROF_INUSE_SPACE])
		return x->flat[PPROF_INUSE_SPACE] > y->flat[PPROF_INUSE_SPACE] ? -1 : 1;
	if (x->cum[PPROF_INUSE_SPACE] != y->cum[PPROF_INUSE_SPACE])
		return x->cum[PPROF_INUSE_SPACE] > y->cum[PPROF_INUSE_SPACE] ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void write_header(FILE *out, const struct pprof_builder *b, const struct totals *t,
			 uint64_t rate)
{
	char est[96];
	size_t i;

	for (i = 0; i < pprof__nr_comments(b); i++)
		fprintf(out, "# %s\n", pprof__comment(b, i));
	fprintf(out, "sample rate: %" PRIu64 " bytes\n", rate);
	estimate__format(t->all[PPROF_INUSE_SPACE],
			 t->inuse_samples > 0 ? (uint64_t)t->inuse_samples : 0, rate, est,
			 sizeof(est));
	fprintf(out, "inuse_space:   %" PRId64 " bytes, %s\n", t->all[PPROF_INUSE_SPACE], est);
	fprintf(out, "inuse_objects: %" PRId64 "\n", t->all[PPROF_INUSE_OBJECTS]);
	fprintf(out, "alloc_space:   %" PRId64 " bytes\n", t->all[PPROF_ALLOC_SPACE]);
	fprintf(out, "alloc_objects: %" PRId64 "\n", t->all[PPROF_ALLOC_OBJECTS]);
	fputs("\nper function, unbiased (flat: allocated there; cum: there or below; "
	      "±: one standard error of flat inuse_space)\n",
	      out);
	fprintf(out, "%14s %6s %14s %14s %14s %14s  %s\n", "flat_inuse_B", "±", "cum_inuse_B",
		"flat_objects", "flat_alloc_B", "cum_alloc_B", "function");
}

int printtext__write(FILE *out, const struct pprof_builder *b)
{
	uint64_t rate = pprof__period(b) > 0 ? (uint64_t)pprof__period(b) : 1;
	struct totals t = {};
	size_t i;
	int err = 0;

	htab__init(&t.index, sizeof(size_t), &t);
	for (i = 0; i < pprof__nr_samples(b) && !err; i++)
		err = add_sample(&t, b, i, rate);
	if (err)
		goto cleanup;
	qsort(t.fns, t.nr, sizeof(*t.fns), by_flat);
	write_header(out, b, &t, rate);
	for (i = 0; i < t.nr; i++) {
		const struct fn_total *f = &t.fns[i];
		double rel =
		    unbias__rel_error(f->flat_samples > 0 ? (uint64_t)f->flat_samples : 0, rate);
		char pm[16];

		if (rel < 0)
			snprintf(pm, sizeof(pm), "-");
		else
			snprintf(pm, sizeof(pm), "%.0f%%", rel * 100);
		fprintf(out,
			"%14" PRId64 " %6s %14" PRId64 " %14" PRId64 " %14" PRId64 " %14" PRId64
			"  %s\n",
			f->flat[PPROF_INUSE_SPACE], pm, f->cum[PPROF_INUSE_SPACE],
			f->flat[PPROF_INUSE_OBJECTS], f->flat[PPROF_ALLOC_SPACE],
			f->cum[PPROF_ALLOC_SPACE], f->name);
	}
	if (fflush(out) || ferror(out))
		err = -EIO;
cleanup:
	htab__release(&t.index);
	free(t.fns);
	return err;
}
