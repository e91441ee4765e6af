// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Unit tests of Go's legacy text heap format, from profiles built in memory. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/legacytext.h"
#include "output/pprof.h"
#include "tap.h"

static char *render(const struct pprof_builder *b, const struct legacy_stat *st, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (legacytext__write(f, b, st ? "test.Stats" : NULL, st, n))
		ok(0, "legacytext__write failed");
	fclose(f);
	return buf;
}

int main(void)
{
	struct pprof_frame leaf[2] = {
		{ .function = "inlined", .file = "/src/a.c", .line = 7 },
		{ .function = "leaf_fn", .file = "/src/a.c", .line = 12 },
	};
	struct pprof_frame caller = { .function = "main", .file = "/src/m.c", .line = 3 };
	struct legacy_stat stats[] = { { "VmRSS", 4096 }, { "Samples", 3 } };
	struct pprof_mapping_info mi = { .start = 0x1000, .limit = 0x9000, .file = "/bin/x" };
	int64_t v1[4] = { 4, 400, 1, 100 }, r1[4] = { 4, 400, 1, 100 };
	int64_t v2[4] = { 2, 2000, 2, 2000 }, r2[4] = { 2, 2000, 2, 2000 };
	int64_t rc, rb;
	struct pprof_builder *b, *c;
	uint64_t s1[2], s2[1];
	char *text;

	b = pprof__new(1, 0, 0);
	ok(pprof__add_mapping(b, &mi) == 1, "mapping");
	s1[0] = (uint64_t)pprof__add_location(b, 0x1234, 1, leaf, 2);
	s1[1] = (uint64_t)pprof__add_location(b, 0x5678, 1, &caller, 1);
	s2[0] = (uint64_t)pprof__add_location(b, 0x9999, 0, NULL, 0);
	ok(pprof__add_sample_raw(b, s1, 2, v1, r1, 100) == 0, "sample 1");
	ok(pprof__add_sample_raw(b, s2, 1, v2, r2, 1000) == 0, "sample 2");
	text = render(b, stats, 2);
	ok(!strcmp(text, "heap profile: 3: 2100 [6: 2401] @ heap/2\n"
			 "2: 2000 [2: 2001] @ 0x9999\n"
			 "#\t0x9999\n"
			 "\n"
			 "1: 100 [4: 400] @ 0x1234 0x5678\n"
			 "#\t0x1234\tinlined\t/src/a.c:7\n"
			 "#\t0x1234\tleaf_fn\t/src/a.c:12\n"
			 "#\t0x5678\tmain\t/src/m.c:3\n"
			 "\n"
			 "\n# test.Stats\n"
			 "# VmRSS = 4096\n"
			 "# Samples = 3\n"),
	   "exact text: sorted by in-use bytes, +1 where in-use equals alloc, inline frames, "
	   "stats");
	if (tap_failed)
		printf("# got:\n%s", text);
	free(text);

	/* Merge: subtracting a profile from itself leaves zero records. */
	c = pprof__new(1, 0, 0);
	ok(pprof__merge(c, b, 1) == 0 && pprof__merge(c, b, -1) == 0, "merge +b -b");
	text = render(c, NULL, 0);
	ok(!strncmp(text, "heap profile: 0: 0 [0: 2] @ heap/2\n0: 0 [0: 1] @", 47),
	   "b - b is all zeros (+1 rule per record)");
	free(text);
	pprof__free(c);
	pprof__free(b);

	/* Without raw counts (a file read back), the unbiasing is inverted. */
	legacytext__unscale(8192, 524288, 0, 524288, &rc, &rb);
	ok(rc == llround(8192 * -expm1(-64.0 / 524288)) &&
	       rb == llround(524288 * -expm1(-64.0 / 524288)),
	   "unscale 64-byte objects at 512k: %lld objects, %lld bytes", (long long)rc,
	   (long long)rb);
	legacytext__unscale(3, 300, 100, 1, &rc, &rb);
	ok(rc == 3 && rb == 300, "rate 1: unchanged");
	legacytext__unscale(-2, 500, 0, 4096, &rc, &rb);
	ok(rc == -2 && rb == 500, "mixed signs (a delta): unchanged");
	b = pprof__new(4096, 0, 0);
	s2[0] = (uint64_t)pprof__add_location(b, 0x10, 0, NULL, 0);
	{
		int64_t v[4] = { 0, 0, 0, 0 };
		int64_t raw_c, raw_b;

		/* 10 objects of 4096 bytes sampled at rate 4096: unbiased, then back. */
		double scale = 1 / -expm1(-1.0);

		v[0] = v[2] = (int64_t)(10 * scale);
		v[1] = v[3] = (int64_t)(40960 * scale);
		ok(pprof__add_sample(b, s2, 1, v, 4096) == 0, "unbiased sample");
		text = render(b, NULL, 0);
		legacytext__unscale(v[2], v[3], 4096, 4096, &raw_c, &raw_b);
		ok(raw_c == 10 && raw_b == 40960, "inverse gives the raw counts back (%lld, %lld)",
		   (long long)raw_c, (long long)raw_b);
		ok(!strncmp(text, "heap profile: 10: 40960 [10: 40961] @ heap/8192\n", 48),
		   "header of a file-read profile has the raw counts");
		free(text);
	}
	pprof__free(b);
	return done_testing();
}
