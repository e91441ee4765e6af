// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/legacytext.h"
#include "util/hash.h"
#include "util/htab.h"

#define MAX_FRAMES 16

struct record {
	size_t sample; /* index in the builder */
	int64_t v[4];  /* inuse objects, inuse bytes, alloc objects, alloc bytes */
	bool merged;   /* added into the record of an earlier sample of its stack */
};

static bool same_stack(const void *entry, const void *key, const void *ctx)
{
	const struct pprof_builder *b = ctx;
	struct pprof_sample_view x, y;

	pprof__sample(b, *(const size_t *)entry, &x);
	pprof__sample(b, *(const size_t *)key, &y);
	return x.n == y.n && !memcmp(x.location_ids, y.location_ids, x.n * sizeof(*x.location_ids));
}

/*
 * The text has no labels: a stack's samples of several age buckets are
 * one record, as its counters are one in the process.
 */
static int merge_stacks(const struct pprof_builder *b, struct record *recs, size_t n)
{
	struct htab first;
	size_t i, j;
	int err = 0;

	htab__init(&first, sizeof(size_t), b);
	for (i = 0; i < n && !err; i++) {
		struct pprof_sample_view sv;
		bool found;
		size_t *e;

		pprof__sample(b, i, &sv);
		e = htab__insert(&first, hash_u64s(0, sv.location_ids, sv.n), &i, same_stack,
				 &found);
		if (!e) {
			err = -ENOMEM;
		} else if (!found) {
			*e = i;
		} else {
			for (j = 0; j < 4; j++)
				recs[*e].v[j] += recs[i].v[j];
			recs[i].merged = true;
		}
	}
	htab__release(&first);
	return err;
}

void legacytext__unscale(int64_t count, int64_t bytes, int64_t avg_size, uint64_t rate,
			 int64_t *raw_count, int64_t *raw_bytes)
{
	double avg, keep;

	if (rate <= 1 || count == 0 || bytes == 0 || (count < 0) != (bytes < 0)) {
		*raw_count = count;
		*raw_bytes = bytes;
		return;
	}
	avg = avg_size > 0 ? (double)avg_size : (double)bytes / (double)count;
	keep = -expm1(-avg / (double)rate); /* the probability a block of avg bytes is sampled */
	*raw_bytes = llround((double)bytes * keep);
	/* The unbiased count was truncated; bytes over the true average size are not. */
	*raw_count =
	    avg_size > 0 ? llround((double)*raw_bytes / avg) : llround((double)count * keep);
}

/* Largest in-use first; ties in builder order, so the output is deterministic. */
static int by_inuse(const void *a, const void *b)
{
	const struct record *x = a, *y = b;

	if (x->v[1] != y->v[1])
		return x->v[1] > y->v[1] ? -1 : 1;
	return x->sample < y->sample ? -1 : x->sample > y->sample;
}

static void print_counts(FILE *out, const int64_t v[4])
{
	fprintf(out, "%" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64 "] @", v[0], v[1], v[2],
		v[3]);
}

int legacytext__write(FILE *out, const struct pprof_builder *b, const char *stats_title,
		      const struct legacy_stat *stats, size_t nstats)
{
	size_t n = pprof__nr_samples(b), i, j;
	uint64_t rate = pprof__period(b) > 0 ? (uint64_t)pprof__period(b) : 1;
	struct pprof_frame frames[MAX_FRAMES];
	int64_t total[4] = {};
	struct record *recs;
	int err = 0;

	recs = calloc(n ? n : 1, sizeof(*recs));
	if (!recs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct pprof_sample_view sv;
		int64_t raw[PPROF_NR_VALUES];

		pprof__sample(b, i, &sv);
		if (sv.has_raw) {
			for (j = 0; j < PPROF_NR_VALUES; j++)
				raw[j] = sv.raw[j];
		} else {
			legacytext__unscale(sv.values[PPROF_ALLOC_OBJECTS],
					    sv.values[PPROF_ALLOC_SPACE], sv.bytes_label, rate,
					    &raw[PPROF_ALLOC_OBJECTS], &raw[PPROF_ALLOC_SPACE]);
			legacytext__unscale(sv.values[PPROF_INUSE_OBJECTS],
					    sv.values[PPROF_INUSE_SPACE], sv.bytes_label, rate,
					    &raw[PPROF_INUSE_OBJECTS], &raw[PPROF_INUSE_SPACE]);
		}
		/* A record reads in-use first, then allocated: "inuse: bytes [alloc: bytes]". */
		recs[i].sample = i;
		recs[i].v[0] = raw[PPROF_INUSE_OBJECTS];
		recs[i].v[1] = raw[PPROF_INUSE_SPACE];
		recs[i].v[2] = raw[PPROF_ALLOC_OBJECTS];
		recs[i].v[3] = raw[PPROF_ALLOC_SPACE];
	}
	err = merge_stacks(b, recs, n);
	if (err) {
		free(recs);
		return err;
	}
	for (i = 0; i < n; i++) {
		if (recs[i].merged)
			continue;
		if (recs[i].v[1] == recs[i].v[3])
			recs[i].v[3]++;
		for (j = 0; j < 4; j++)
			total[j] += recs[i].v[j];
	}
	qsort(recs, n, sizeof(*recs), by_inuse);
	if (total[1] == total[3])
		total[3]++;

	/* Go's header names 2*rate, which is what pprof's parser expects. */
	fputs("heap profile: ", out);
	print_counts(out, total);
	fprintf(out, " heap/%" PRIu64 "\n", 2 * rate);
	for (i = 0; i < n; i++) {
		struct pprof_sample_view sv;

		if (recs[i].merged)
			continue;
		pprof__sample(b, recs[i].sample, &sv);
		print_counts(out, recs[i].v);
		for (j = 0; j < sv.n; j++) {
			uint64_t addr = 0;

			pprof__location(b, sv.location_ids[j], &addr, frames, 0);
			fprintf(out, " %#" PRIx64, addr);
		}
		fputc('\n', out);
		for (j = 0; j < sv.n; j++) {
			uint64_t addr = 0;
			int k,
			    nf = pprof__location(b, sv.location_ids[j], &addr, frames, MAX_FRAMES);

			if (nf <= 0)
				fprintf(out, "#\t%#" PRIx64 "\n", addr);
			for (k = 0; k < nf; k++)
				fprintf(out, "#\t%#" PRIx64 "\t%s\t%s:%" PRId64 "\n", addr,
					frames[k].function ? frames[k].function : "?",
					frames[k].file ? frames[k].file : "?", frames[k].line);
		}
		fputc('\n', out);
	}
	for (i = 0; i < pprof__nr_comments(b); i++)
		fprintf(out, "# %s\n", pprof__comment(b, i));
	if (stats_title) {
		fprintf(out, "\n# %s\n", stats_title);
		for (i = 0; i < nstats; i++)
			fprintf(out, "# %s = %" PRId64 "\n", stats[i].name, stats[i].value);
	}
	if (fflush(out) || ferror(out))
		err = -EIO;
	free(recs);
	return err;
}
