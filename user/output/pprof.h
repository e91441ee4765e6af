/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pprof.h - build a pprof heap profile and write it gzipped, atomically
 * or into memory; read one back; subtract one from another.
 *
 * Implemented by output/pprof.c (building, encoding, viewing) and
 * output/pprof_read.c (reading, merging), the only modules that include the
 * protobuf-c code generated from proto/profile.proto: the reader must, to
 * unpack a file. They know nothing of BPF or symbolization: callers hand
 * them mappings, locations (with their inlined frames) and samples.
 *
 * The profile always has Go's heap layout, the one table below
 * (pprof_sample_types): sample types alloc_objects/count,
 * alloc_space/bytes, inuse_objects/count, inuse_space/bytes in that order,
 * period type space/bytes, and default sample type inuse_space.
 *
 * Ownership: every string passed in is copied (interned in the string
 * table); callers keep theirs. IDs returned are 1-based and stable within
 * one builder. Errors are negative errno values.
 */
#ifndef HEAPTRACE_PPROF_H
#define HEAPTRACE_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The index of each value of a sample, as Go's heap profile orders them. */
enum pprof_value {
	PPROF_ALLOC_OBJECTS,
	PPROF_ALLOC_SPACE,
	PPROF_INUSE_OBJECTS,
	PPROF_INUSE_SPACE,
};

#define PPROF_NR_VALUES 4 /* alloc_objects, alloc_space, inuse_objects, inuse_space */

/* The default sample type of a new builder, as Go's heap profile. */
#define PPROF_DEFAULT_VALUE PPROF_INUSE_SPACE

/* The period type of every profile: a sample stands for this many bytes. */
#define PPROF_PERIOD_TYPE "space"
#define PPROF_PERIOD_UNIT "bytes"

struct pprof_sample_type {
	const char *type; /* as pprof's -sample_index names it */
	const char *unit;
};

/*
 * The sample types, indexed by enum pprof_value: what the writer emits and
 * the reader requires (a file of another layout is refused with -EPROTO).
 */
extern const struct pprof_sample_type pprof_sample_types[PPROF_NR_VALUES];

struct pprof_builder;

struct pprof_mapping_info {
	uint64_t start;	      /* address where the mapping starts in the process */
	uint64_t limit;	      /* address just past its end */
	uint64_t offset;      /* file offset the start maps */
	const char *file;     /* path of the mapped object, or "" */
	const char *build_id; /* hex build id, or NULL/"" when unknown */
	/* Upper bounds: a location without a function (file, line) clears the flag. */
	bool has_functions; /* true when symbols were resolved */
	bool has_filenames;
	bool has_line_numbers;
	bool has_inline_frames;
};

/* One source-level frame of a location. */
struct pprof_frame {
	const char *function;	 /* demangled or raw name; NULL when unknown */
	const char *system_name; /* raw (mangled) name; NULL means same as function */
	const char *file;	 /* source file or NULL */
	int64_t start_line;	 /* line where the function starts, 0 when unknown */
	int64_t line;		 /* line of this frame, 0 when unknown */
};

/* A new, empty heap profile. Returns NULL when out of memory. */
struct pprof_builder *pprof__new(int64_t period, int64_t time_nanos, int64_t duration_nanos);

/*
 * Adds a mapping; returns its id (>= 1) or a negative errno. Mappings are
 * deduplicated by (start, limit, offset, file).
 */
int64_t pprof__add_mapping(struct pprof_builder *b, const struct pprof_mapping_info *m);

/*
 * Returns the id (>= 1) of the location at `address` in mapping
 * `mapping_id` (0 for none), creating it with `frames` the first time it is
 * seen (later calls with the same address and mapping ignore `frames`).
 * frames[0] is the innermost (inlined) frame, frames[n-1] the function that
 * holds the address, as pprof's Location.line orders them. Functions are
 * deduplicated by (name, system name, file, start line).
 */
int64_t pprof__add_location(struct pprof_builder *b, uint64_t address, uint64_t mapping_id,
			    const struct pprof_frame *frames, size_t nframes);

/*
 * The id of the location at `address` in mapping `mapping_id` if it was
 * added already, else 0: lets a caller skip symbolizing an address twice.
 */
int64_t pprof__find_location(const struct pprof_builder *b, uint64_t address, uint64_t mapping_id);

/*
 * Adds a sample. location_ids[0] is the leaf. values are, in order,
 * alloc_objects, alloc_space, inuse_objects, inuse_space. When
 * bytes_label > 0 a numeric label "bytes" (the average object size, as Go
 * writes it) is attached.
 */
int pprof__add_sample(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
		      const int64_t values[PPROF_NR_VALUES], int64_t bytes_label);

/*
 * As pprof__add_sample, also keeping the sampled counts before unbiasing
 * (`raw`, same order as values; NULL when unknown), which the legacy text
 * format prints. They are never written to the protobuf.
 */
int pprof__add_sample_raw(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
			  const int64_t values[PPROF_NR_VALUES], const int64_t raw[PPROF_NR_VALUES],
			  int64_t bytes_label);

/*
 * The labels of a sample beyond its average size. `samples`: how many
 * sampled blocks its values rest on (the raw count its estimate is scaled
 * from; its relative error is about 1/sqrt(samples)). `age`: the lower
 * bound, in seconds, of the age bucket its live blocks fall in, so that
 * pprof's -tagfocus=age=600: selects memory alive for 10 minutes or more.
 * PPROF_NO_LABEL leaves `samples` out, a negative value `age`.
 */
/* A samples label left out (a count may be negative: a difference's). */
#define PPROF_NO_LABEL INT64_MIN

struct pprof_labels {
	int64_t bytes; /* > 0, else no label */
	int64_t samples;
	int64_t age;
};

/* As pprof__add_sample_raw, with the labels of `l`. */
int pprof__add_sample_labeled(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
			      const int64_t values[PPROF_NR_VALUES],
			      const int64_t raw[PPROF_NR_VALUES], const struct pprof_labels *l);

/*
 * The sample type pprof shows by default: an enum pprof_value
 * (PPROF_DEFAULT_VALUE at creation). -EINVAL when out of range.
 */
int pprof__set_default_sample_type(struct pprof_builder *b, int index);

/* Adds a free-text comment to the profile. */
int pprof__add_comment(struct pprof_builder *b, const char *comment);

/*
 * Encodes and gzips the profile into `path`: written to a temporary file in
 * the same directory, fsync'ed, then renamed over `path`, so a reader never
 * sees a partial profile and an existing file is only replaced by a
 * complete one. On error (e.g. -ENOSPC) the temporary file is removed and
 * `path` is untouched.
 */
int pprof__write_gz(struct pprof_builder *b, const char *path);

/*
 * Encodes and gzips the profile into a new malloc'ed buffer (*out, the
 * caller frees it). -EFBIG when the result would exceed max_len bytes.
 */
int pprof__encode_gz(struct pprof_builder *b, size_t max_len, void **out, size_t *out_len);

/*
 * Reads a heap profile file (gzipped or not) into a new builder. -EBADMSG
 * when it is not a pprof protobuf, -EPROTO when its sample types are not
 * the Go heap layout above, -EFBIG beyond 64 MiB decoded, -E2BIG when
 * unpacking it would take more than 256 MiB (many tiny messages: see
 * PPROF_MAX_EXPANDED), or an errno of open/read. Samples read back have no
 * raw counts.
 */
int pprof__read_gz(const char *path, struct pprof_builder **out);

/*
 * Adds `sign` (1 or -1) times every sample of src into dst: a sample with
 * the same stack (same addresses in the same mappings) takes the values,
 * others are appended. With sign -1 this is `go tool pprof -base`'s
 * subtraction for profiles of one process run.
 */
int pprof__merge(struct pprof_builder *dst, const struct pprof_builder *src, int64_t sign);

/*
 * As pprof__merge, for only the values whose bit (1u << enum pprof_value)
 * is in mask; the others of src count as 0 (a push subtracts the previous
 * profile's alloc_* values and keeps the in-use ones).
 */
int pprof__merge_values(struct pprof_builder *dst, const struct pprof_builder *src, int64_t sign,
			unsigned mask);

/*
 * Shaping for servers with limits (output/pprof_shape.c). Drops samples
 * whose values are all 0 and raises negative values in `mask` to 0 (a
 * delta whose counters were reset). Returns the number of samples left.
 */
size_t pprof__prune_samples(struct pprof_builder *b, unsigned mask);

/*
 * Keeps the max - 1 samples of most alloc_space + inuse_space (max >= 2)
 * and folds the others into one sample whose only frame is the function
 * `name` (e.g. "[other]"), with their summed values. Sets *folded to the
 * number of samples folded (0 when there were at most max). Returns 0 or
 * a negative errno.
 */
int pprof__fold_samples(struct pprof_builder *b, size_t max, const char *name, size_t *folded);

/* Read access, for the legacy text format. Pointers live as long as the builder. */
struct pprof_sample_view {
	const uint64_t *location_ids; /* leaf first */
	size_t n;
	int64_t values[PPROF_NR_VALUES];
	int64_t raw[PPROF_NR_VALUES]; /* valid when has_raw */
	bool has_raw;
	int64_t bytes_label;
	int64_t samples_label; /* PPROF_NO_LABEL: none */
	int64_t age_label;     /* < 0: none */
};

int64_t pprof__period(const struct pprof_builder *b);
int64_t pprof__time_nanos(const struct pprof_builder *b); /* when it was taken, CLOCK_REALTIME */
size_t pprof__nr_samples(const struct pprof_builder *b);
int pprof__sample(const struct pprof_builder *b, size_t idx, struct pprof_sample_view *v);

/*
 * The address of location `id` and up to `max` of its frames (innermost
 * first). Returns the number of frames filled or -EINVAL.
 */
int pprof__location(const struct pprof_builder *b, uint64_t id, uint64_t *address,
		    struct pprof_frame *frames, size_t max);

size_t pprof__nr_comments(const struct pprof_builder *b);
const char *pprof__comment(const struct pprof_builder *b, size_t idx);

/* Frees the builder; pprof__free(NULL) is a no-op. */
void pprof__free(struct pprof_builder *b);

#endif /* HEAPTRACE_PPROF_H */
