/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pprof_impl.h - the builder's insides, shared by pprof.c (building,
 * encoding, viewing), pprof_read.c (reading, merging) and pprof_shape.c
 * (fitting a server's limits); no other file includes it.
 *
 * Everything is kept in flat, growable arrays (vec.h) indexed by hash
 * tables (htab.h) whose entries are uint32_t indices into them, so each add
 * is O(1) amortized even with hundreds of thousands of distinct stacks.
 * Mappings, functions and lines are stored as the protobuf-c structs
 * themselves, so that encoding points at them instead of copying: hence
 * this header includes the generated code.
 */
#ifndef HEAPTRACE_PPROF_IMPL_H
#define HEAPTRACE_PPROF_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.pb-c.h"
#include "output/pprof.h"
#include "util/htab.h"
#include "util/vec.h"

/* The numeric label of a sample: the average object size, as Go writes it. */
#define PPROF_LABEL_BYTES "bytes"
/* How many sampled blocks a sample's values rest on (see pprof.h). */
#define PPROF_LABEL_SAMPLES "samples"
/* The age bucket of a sample's live blocks: its lower bound, in seconds. */
#define PPROF_LABEL_AGE	     "age"
#define PPROF_LABEL_AGE_UNIT "seconds"
#define PPROF_MAX_LABELS     3 /* per sample: bytes, samples, age */

/* Ids are stored in 32 bits; a profile never gets near that. */
#define PPROF_MAX_ID (UINT32_MAX - 1)

struct pprof_loc {
	uint64_t address;
	uint64_t mapping_id;
	uint32_t nlines; /* its lines follow the previous location's in b->lines */
	size_t line_pos; /* index of its first line */
};

struct pprof_sample {
	int64_t values[PPROF_NR_VALUES];
	int64_t raw[PPROF_NR_VALUES]; /* sampled counts before unbiasing, when has_raw */
	bool has_raw;
	int64_t bytes_label;   /* 0: no label */
	int64_t samples_label; /* PPROF_NO_LABEL: no label */
	int64_t age_label;     /* < 0: no label */
	uint32_t nlocs;	       /* its ids follow the previous sample's in b->loc_ids */
	size_t loc_pos;	       /* index of its first id */
};

struct pprof_builder {
	int64_t period;
	int64_t time_nanos;
	int64_t duration_nanos;

	char **strings; /* strings[0] is "", as pprof requires */
	size_t nstrings, strings_cap;
	struct htab string_tab; /* uint32_t index into strings */

	Perftools__Profiles__Mapping *mappings; /* mappings[i].id == i + 1 */
	size_t nmappings, mappings_cap;
	struct htab mapping_tab;

	Perftools__Profiles__Function *functions; /* functions[i].id == i + 1 */
	size_t nfunctions, functions_cap;
	struct htab function_tab;

	struct pprof_loc *locs; /* location id i + 1 */
	size_t nlocs, locs_cap;
	struct htab loc_tab;

	Perftools__Profiles__Line *lines;
	size_t nlines, lines_cap;

	struct pprof_sample *samples;
	size_t nsamples, samples_cap;

	uint64_t *loc_ids;
	size_t nloc_ids, loc_ids_cap;

	int64_t *comments;
	size_t ncomments, comments_cap;

	/* String indices of the fixed heap-profile vocabulary (pprof_sample_types). */
	int64_t str_types[PPROF_NR_VALUES], str_units[PPROF_NR_VALUES];
	int64_t str_period_type, str_period_unit, str_label_bytes;
	int64_t str_label_samples, str_label_age, str_label_age_unit;
	int default_type; /* an enum pprof_value */
};

/* A string table entry's text; index 0 (an unset field) is NULL, as pprof reads it. */
static inline const char *pprof_str_or_null(const struct pprof_builder *b, int64_t idx)
{
	return idx ? b->strings[idx] : NULL;
}

#endif /* HEAPTRACE_PPROF_IMPL_H */
