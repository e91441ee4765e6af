/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * pprof.h - build a pprof heap profile and write it gzipped, atomically.
 *
 * The only module that includes the protobuf-c code generated from
 * proto/profile.proto. It knows nothing of BPF or symbolization: callers
 * hand it mappings, locations (with their inlined frames) and samples.
 *
 * The profile always has Go's heap layout: sample types alloc_objects/count,
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

#define PPROF_NR_VALUES 4 /* alloc_objects, alloc_space, inuse_objects, inuse_space */

struct pprof_builder;

struct pprof_mapping_info {
	uint64_t start;	      /* address where the mapping starts in the process */
	uint64_t limit;	      /* address just past its end */
	uint64_t offset;      /* file offset the start maps */
	const char *file;     /* path of the mapped object, or "" */
	const char *build_id; /* hex build id, or NULL/"" when unknown */
	bool has_functions;   /* true when symbols were resolved */
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
 * Adds a sample. location_ids[0] is the leaf. values are, in order,
 * alloc_objects, alloc_space, inuse_objects, inuse_space. When
 * bytes_label > 0 a numeric label "bytes" (the average object size, as Go
 * writes it) is attached.
 */
int pprof__add_sample(struct pprof_builder *b, const uint64_t *location_ids, size_t n,
		      const int64_t values[PPROF_NR_VALUES], int64_t bytes_label);

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

/* Frees the builder; pprof__free(NULL) is a no-op. */
void pprof__free(struct pprof_builder *b);

#endif /* HEAPTRACE_PPROF_H */
