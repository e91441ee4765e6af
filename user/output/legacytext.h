/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * legacytext.h - Go's legacy text heap profile (/debug/pprof/heap?debug=1).
 *
 * Layout, as runtime/pprof writes it:
 *
 *   heap profile: <inuse objs>: <inuse bytes> [<alloc objs>: <alloc bytes>] @ heap/<2*rate>
 *   <inuse objs>: <inuse bytes> [<alloc objs>: <alloc bytes>] @ 0x<pc> 0x<pc> ...
 *   #	0x<pc>	<function>	<file>:<line>
 *   <blank line after each record>
 *   ...
 *   # <statistics title>
 *   # <Name> = <value>
 *
 * Record counts are the raw sampled counts (not unbiased): pprof scales
 * them itself from the rate in the header. Records are sorted by in-use
 * bytes, largest first; the header holds the sums of the records. When a
 * record's (or the header's) in-use bytes equal its alloc bytes, 1 is
 * added to the alloc bytes, as Go does, so old parsers do not take the
 * line for a two-column profile. One frame line is printed per inlined
 * frame; heaptrace does not know function entry addresses, so the
 * `+0xOFF` Go appends to a function name is left out.
 */
#ifndef HEAPTRACE_LEGACYTEXT_H
#define HEAPTRACE_LEGACYTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "output/pprof.h"

struct legacy_stat {
	const char *name;
	int64_t value;
};

/*
 * Writes profile b as legacy text to out: its records, its comments as
 * `# ...` lines, then when stats_title is not NULL a statistics section.
 * Samples without raw counts (profiles read from files) get them back by
 * inverting Go's unbiasing (legacytext__unscale). Returns 0, -EIO when
 * out failed, or another negative errno.
 */
int legacytext__write(FILE *out, const struct pprof_builder *b, const char *stats_title,
		      const struct legacy_stat *stats, size_t nstats);

/*
 * The raw sampled (count, bytes) behind unbiased values at `rate`: bytes *
 * (1 - exp(-avg / rate)), and that over avg for the count, where avg is the
 * sample's average object size (its `bytes` label; when 0, bytes / count).
 * Rounded. Unchanged at rate <= 1 and for pairs that are zero or of
 * different signs (a delta).
 */
void legacytext__unscale(int64_t count, int64_t bytes, int64_t avg_size, uint64_t rate,
			 int64_t *raw_count, int64_t *raw_bytes);

#endif /* HEAPTRACE_LEGACYTEXT_H */
