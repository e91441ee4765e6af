// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * Age buckets (collect/age.c), wrapper globs (output/wrappers.c), the
 * uncertainty of an estimate (unbias__rel_error, output/estimate.c), the
 * samples and age labels through a write and a read (output/pprof*.c), and
 * what print and the legacy text make of a stack split by age
 * (output/printtext.c, output/legacytext.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "collect/age.h"
#include "output/estimate.h"
#include "output/legacytext.h"
#include "output/pprof.h"
#include "output/printtext.h"
#include "output/unbias.h"
#include "output/wrappers.h"

#define S 1000000000ull

static void test_age(void)
{
	ok(age__bucket(0) == 0 && age__bucket(9 * S) == 0, "under 10 s: bucket 0");
	ok(age__bucket(10 * S) == 1 && age__bucket(59 * S) == 1, "10 s to a minute: bucket 1");
	ok(age_bucket_start_s[age__bucket(600 * S)] == 600, "10 minutes: the 600 s bucket");
	ok(age_bucket_start_s[age__bucket(3599 * S)] == 600, "just under an hour: still 600 s");
	ok(age__bucket(400 * 86400 * S) == AGE_BUCKETS - 1, "a year: the last bucket");
}

static void test_wrappers(void)
{
	struct wrappers *w = NULL, *all = NULL, *mine = NULL;

	ok(wrappers__new(NULL, false, &w) == 0, "the built-in table");
	ok(wrappers__match(w, "xmalloc") && wrappers__match(w, "ztrymalloc_usable") &&
	       wrappers__match(w, "g_malloc0") && wrappers__match(w, "PyMem_RawMalloc") &&
	       wrappers__match(w, "alloc::alloc::alloc") && wrappers__match(w, "__rust_alloc"),
	   "xmalloc, ztrymalloc_usable, g_malloc0, PyMem_RawMalloc, alloc::alloc::alloc, "
	   "__rust_alloc are wrappers");
	ok(!wrappers__match(w, "main") && !wrappers__match(w, "zmalloc_get_rss") &&
	       !wrappers__match(w, "xmallocx") && !wrappers__match(w, NULL),
	   "main, zmalloc_get_rss, xmallocx and no name are not");
	ok(wrappers__new("pool_get,my_*", false, &mine) == 0 && wrappers__match(mine, "my_alloc") &&
	       wrappers__match(mine, "pool_get") && wrappers__match(mine, "xmalloc") &&
	       !wrappers__match(mine, "pool_put"),
	   "extra globs add to the table");
	ok(wrappers__new("a,,b", false, &all) == -EINVAL &&
	       wrappers__new(",", false, &all) == -EINVAL,
	   "an empty glob is refused");
	ok(wrappers__new(NULL, true, &all) == 0 && !wrappers__match(all, "xmalloc"),
	   "show-all folds nothing");
	wrappers__free(w);
	wrappers__free(mine);
	wrappers__free(all);
	wrappers__free(NULL);
}

static void test_estimate(void)
{
	char buf[128];

	ok(unbias__rel_error(100, 524288) > 0.0999 && unbias__rel_error(100, 524288) < 0.1001,
	   "100 samples: ±10%%");
	ok(unbias__rel_error(5, 1) == 0 && unbias__rel_error(0, 524288) < 0,
	   "rate 1 is exact; no samples, no estimate");
	estimate__format(100 << 20, 100, 524288, buf, sizeof(buf));
	ok(!strcmp(buf, "100.0 MiB ±10.0 MiB (±10%, 100 samples)"), "formatted: %s", buf);
	estimate__format(4096, 3, 1, buf, sizeof(buf));
	ok(!strcmp(buf, "4.0 KiB (exact)"), "formatted at -r 1: %s", buf);
}

/* One stack (two locations), its in-use in two age buckets. */
static struct pprof_builder *split_profile(void)
{
	struct pprof_frame leaf = { .function = "leak" }, root = { .function = "main" };
	struct pprof_builder *b = pprof__new(4096, 1, 1);
	int64_t young[4] = { 20, 40960, 10, 20480 }, old[4] = { 0, 0, 30, 61440 };
	int64_t raw_y[4] = { 20, 40960, 10, 20480 }, raw_o[4] = { 0, 0, 30, 61440 };
	struct pprof_labels ly = { .bytes = 2048, .samples = 10, .age = 0 };
	struct pprof_labels lo = { .bytes = 2048, .samples = 30, .age = 600 };
	uint64_t locs[2];

	locs[0] = (uint64_t)pprof__add_location(b, 0x1000, 0, &leaf, 1);
	locs[1] = (uint64_t)pprof__add_location(b, 0x2000, 0, &root, 1);
	if (pprof__add_sample_labeled(b, locs, 2, young, raw_y, &ly) ||
	    pprof__add_sample_labeled(b, locs, 2, old, raw_o, &lo)) {
		pprof__free(b);
		return NULL;
	}
	return b;
}

static char *read_all(FILE *f)
{
	static char buf[8192];
	size_t n;

	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return buf;
}

static void test_labels_roundtrip(void)
{
	char path[] = "/tmp/heaptrace-labels-XXXXXX";
	struct pprof_builder *b = split_profile(), *r = NULL, *d = NULL;
	struct pprof_sample_view v0, v1;
	int fd = mkstemp(path);
	FILE *f;

	if (fd >= 0)
		close(fd);
	ok(b && pprof__write_gz(b, path) == 0 && pprof__read_gz(path, &r) == 0,
	   "a profile with samples and age labels is written and read back");
	if (!r)
		return;
	pprof__sample(r, 0, &v0);
	pprof__sample(r, 1, &v1);
	ok(pprof__nr_samples(r) == 2 && v0.samples_label == 10 && v0.age_label == 0 &&
	       v1.samples_label == 30 && v1.age_label == 600 && v1.bytes_label == 2048,
	   "labels read back: samples 10 and 30, age 0 and 600, bytes 2048");
	ok(pprof__read_gz(path, &d) == 0 && pprof__merge(d, r, -1) == 0 &&
	       pprof__nr_samples(d) == 2,
	   "subtracting keeps the two age buckets of the stack apart");
	pprof__sample(d, 1, &v1);
	ok(v1.values[3] == 0 && v1.age_label == 600, "...and each goes to zero");

	f = tmpfile();
	ok(f && legacytext__write(f, b, NULL, NULL, 0) == 0, "legacy text of the split stack");
	if (f) {
		const char *t = read_all(f);

		ok(strstr(
		       t,
		       "heap profile: 40: 81920 [20: 40960] @ heap/8192\n40: 81920 [20: 40960] @ "
		       "0x1000 0x2000\n") != NULL,
		   "one record for the stack: its buckets added up");
		fclose(f);
	}
	f = tmpfile();
	ok(f && printtext__write(f, b) == 0, "print of the split stack");
	if (f) {
		const char *t = read_all(f);

		ok(strstr(t,
			  "inuse_space:   81920 bytes, 80.0 KiB ±12.6 KiB (±16%, 40 samples)\n") !=
		       NULL,
		   "print: the total with its uncertainty from the samples labels");
		ok(strstr(t, "         81920    16%          81920             40          40960 "
			     "         40960  leak\n") != NULL,
		   "print: leak's flat and cum, both buckets");
		fclose(f);
	}
	unlink(path);
	pprof__free(b);
	pprof__free(r);
	pprof__free(d);
}

int main(void)
{
	test_age();
	test_wrappers();
	test_estimate();
	test_labels_roundtrip();
	return done_testing();
}
