// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_leak - the leak analysis (output/leak.c) on synthetic series: a
 * steady leak, a full cache, a spike, churn, a cache that filled early, a
 * leak with sampling noise, and too few profiles.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/leak.h"
#include "tap.h"

#define MiB	(1024 * 1024)
#define NPOINTS 10
#define STEP_NS 3000000000ll /* profiles 3 s apart */

/* In-use and allocated bytes of each synthetic stack at profile i. */
static void values_at(const char *name, int i, int64_t *inuse, int64_t *alloc)
{
	*inuse = 0;
	*alloc = 0;
	if (!strcmp(name, "leak")) { /* 1 MiB per profile, never freed */
		*inuse = (int64_t)(i + 1) * MiB;
		*alloc = *inuse;
	} else if (!strcmp(name, "cache")) { /* 32 MiB held, 1 MiB replaced per profile */
		*inuse = 32ll * MiB;
		*alloc = (32ll + i) * MiB;
	} else if (!strcmp(name, "spike")) { /* 64 MiB seen once, then freed */
		*inuse = i == 5 ? 64ll * MiB : 0;
		*alloc = i >= 5 ? 64ll * MiB : 0;
	} else if (!strcmp(name, "churn")) { /* 10 MiB a profile allocated and freed */
		*inuse = i % 3 == 0 ? 8192 : 0;
		*alloc = (int64_t)i * 10 * MiB;
	} else if (!strcmp(name, "filled")) { /* a cache that filled in the first profiles */
		*inuse = (i < 3 ? i + 1 : 3) * 4ll * MiB;
		*alloc = *inuse;
	} else if (!strcmp(name, "noisy")) { /* a leak whose estimate wobbles */
		static const int64_t wobble[NPOINTS] = { 0, 3, -2, 1, 0, -1, 2, 0, -3, 1 };

		*inuse = (int64_t)(i + 1) * 512 * 1024 + wobble[i] * 100 * 1024;
		*alloc = *inuse;
	}
}

static const char *const names[] = { "leak", "cache", "spike", "churn", "filled", "noisy" };
#define NNAMES (sizeof(names) / sizeof(names[0]))

static struct leak_series *make_series(int npoints)
{
	struct leak_series *s = leak_series__new(42, "fixture");
	int i;
	size_t k;

	for (i = 0; s && i < npoints; i++) {
		if (leak_series__begin(s, 1000000000000ll + i * STEP_NS))
			return NULL;
		for (k = 0; k < NNAMES; k++) {
			int64_t inuse, alloc;
			char stack[64];

			values_at(names[k], i, &inuse, &alloc);
			snprintf(stack, sizeof(stack), "%s;main", names[k]);
			/* A stack absent from a profile (nothing allocated yet) holds 0 there. */
			if (!inuse && !alloc)
				continue;
			if (leak_series__add(s, names[k], names[k], stack, inuse, alloc))
				return NULL;
		}
	}
	return s;
}

static const struct leak_finding *find(const struct leak_report *r, const char *fn)
{
	size_t i;

	for (i = 0; i < r->nfindings; i++)
		if (!strcmp(r->findings[i].function, fn))
			return &r->findings[i];
	return NULL;
}

static enum leak_class class_of(const struct leak_report *r, const char *fn)
{
	const struct leak_finding *f = find(r, fn);

	return f ? f->cls : (enum leak_class) - 1;
}

static void test_classes(void)
{
	struct leak_series *s = make_series(NPOINTS);
	struct leak_report r;
	const struct leak_finding *f;
	char top[128];

	ok(s && leak_series__len(s) == NPOINTS, "a series of %d profiles", NPOINTS);
	ok(!leak__analyze(s, &r), "analysed");
	ok(r.nsuspects == 2, "two suspects (the leak and the noisy leak): %zu", r.nsuspects);
	ok(r.nsuspects && !strcmp(r.findings[0].function, "leak"),
	   "the fastest-growing suspect comes first");
	f = find(&r, "leak");
	ok(f && fabs(f->growth_bytes_per_s - MiB / 3.0) < 1, "leak: slope 1 MiB per 3 s (%.1f)",
	   f ? f->growth_bytes_per_s : 0);
	ok(f && f->r2 > 0.999 && f->steady == 1.0 && f->rises == NPOINTS - 1,
	   "leak: R² 1, every interval rising");
	ok(f && f->inuse_bytes == 10 * MiB && f->growth_bytes == 9 * MiB, "leak: 10 MiB, +9 MiB");
	/* Equal layers at t = 0..27 s, end 27 s: mean age 13.5 s + the first MiB's extra. */
	ok(f && fabs(f->mean_age_s - 13.5) < 0.01 && fabs(f->oldest_s - 27) < 0.01,
	   "leak: live bytes 13.5 s old on average, the oldest 27 s (%.2f, %.2f)",
	   f ? f->mean_age_s : 0, f ? f->oldest_s : 0);
	ok(class_of(&r, "noisy") == LEAK_GROWING, "a leak with sampling noise is a suspect");
	ok(class_of(&r, "cache") == LEAK_FLAT, "a full cache with turnover is flat");
	f = find(&r, "cache");
	ok(f && fabs(f->mean_age_s - 27) < 0.01, "cache: held since the first profile (%.1f s)",
	   f ? f->mean_age_s : 0);
	ok(class_of(&r, "spike") == LEAK_SPIKE, "memory that came and went is a spike");
	ok(class_of(&r, "churn") == LEAK_CHURN, "allocated and freed is churn");
	ok(class_of(&r, "filled") == LEAK_FLAT, "a cache that filled early and stopped is flat");
	leak_report__top(&r, top, sizeof(top));
	ok(!strcmp(top, "leak +341.3 KiB/s"), "the top suspect in one line: '%s'", top);
	leak_report__release(&r);
	leak_series__free(s);
}

static void test_too_few(void)
{
	struct leak_series *s = make_series(LEAK_MIN_POINTS - 1);
	struct leak_report r;

	ok(s && !leak__analyze(s, &r), "a short series is analysed");
	ok(r.nsuspects == 0 && class_of(&r, "leak") == LEAK_OTHER,
	   "%d profiles decide nothing: no suspect", LEAK_MIN_POINTS - 1);
	leak_report__release(&r);
	leak_series__free(s);
}

static void test_decimation(void)
{
	struct leak_series *s = leak_series__new(1, "long");
	struct leak_report r;
	int i;

	for (i = 0; s && i < 3 * LEAK_MAX_POINTS; i++) {
		leak_series__begin(s, (int64_t)i * 1000000000ll);
		leak_series__add(s, "k", "grow", "grow;main", (int64_t)(i + 1) * 4096,
				 (int64_t)(i + 1) * 4096);
	}
	ok(s && leak_series__len(s) <= LEAK_MAX_POINTS && leak_series__len(s) > LEAK_MAX_POINTS / 2,
	   "a long series keeps at most %d profiles (%zu)", LEAK_MAX_POINTS,
	   s ? leak_series__len(s) : 0);
	ok(s && !leak__analyze(s, &r) && r.nsuspects == 1 &&
	       fabs(r.findings[0].growth_bytes_per_s - 4096) < 1,
	   "and still finds the leak's slope, 4096 B/s");
	ok(s && r.span_s > 3 * LEAK_MAX_POINTS - 4, "over the whole span (%.0f s)", r.span_s);
	ok(s && leak_series__begin(s, 0) == -EINVAL, "a profile older than the last is refused");
	leak_report__release(&r);
	leak_series__free(s);
}

/* A full cache whose sampled estimate happens to drift up steadily, by a little. */
static void test_sampling_drift(void)
{
	struct leak_series *s = leak_series__new(7, "drift");
	struct leak_report r;
	int i;

	leak_series__set_rate(s, 524288);
	for (i = 0; i < NPOINTS; i++) {
		leak_series__begin(s, (int64_t)i * STEP_NS);
		leak_series__add(s, "c", "cache", "cache;main", 32ll * MiB + i * 256 * 1024,
				 (32ll + i) * MiB);
	}
	leak__analyze(s, &r);
	ok(r.nsuspects == 0 && r.nfindings == 1 && r.findings[0].cls == LEAK_FLAT,
	   "a 32 MiB cache drifting by 2.2 MiB at rate 512 KiB is within sampling noise: flat");
	leak_report__release(&r);
	leak_series__set_rate(s, 1);
	leak__analyze(s, &r);
	ok(r.nsuspects == 1, "the same drift counted exactly (rate 1) is growth");
	leak_report__release(&r);
	leak_series__free(s);
}

/* A daemon watched for long: flat for 48 profiles, then a leak over the last 12. */
static void test_late_leak(void)
{
	struct leak_series *s = leak_series__new(8, "late");
	struct leak_report r;
	int i;

	for (i = 0; i < 60; i++) {
		leak_series__begin(s, (int64_t)i * STEP_NS);
		leak_series__add(s, "late", "late", "late;main",
				 8ll * MiB + (i < 48 ? 0 : (i - 47) * 256 * 1024), 0);
		leak_series__add(s, "flat", "flat", "flat;main", 8ll * MiB, 0);
	}
	leak__analyze(s, &r);
	ok(r.nsuspects == 1 && !strcmp(r.findings[0].function, "late"),
	   "a leak that began late is found over the recent profiles");
	ok(r.nsuspects == 1 && r.findings[0].judged == LEAK_RECENT_POINTS &&
	       fabs(r.findings[0].growth_bytes_per_s / (256 * 1024 / 3.0) - 1) < 0.2,
	   "judged over the last %d profiles, near its recent rate (%.0f B/s)", LEAK_RECENT_POINTS,
	   r.nsuspects ? r.findings[0].growth_bytes_per_s : 0);
	ok(r.nfindings == 2 && r.findings[1].cls == LEAK_FLAT && r.findings[1].judged == 60,
	   "the flat stack is judged over the whole series");
	leak_report__release(&r);
	leak_series__free(s);
}

/* The age labels of the last profile: in-use by age, the oldest first. */
static void test_measured_age(void)
{
	struct leak_series *s = leak_series__new(9, "aged");
	struct leak_report r;
	const struct leak_report *rs[1] = { &r };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int i;

	for (i = 0; i < 5; i++) {
		leak_series__begin(s, (int64_t)i * STEP_NS);
		leak_series__add_aged(s, "a", "aged", "aged;main", 1000, 1000, 0);
		if (i >= 3)
			leak_series__add_aged(s, "a", "aged", "aged;main", 3000, 0, 10);
		leak_series__add_aged(s, "a", "aged", "aged;main", 500, 0, 10);
	}
	leak__analyze(s, &r);
	ok(r.nfindings == 1 && r.findings[0].n_ages == 2 && r.findings[0].age_s[0] == 10 &&
	       r.findings[0].age_bytes[0] == 3500 && r.findings[0].age_s[1] == 0 &&
	       r.findings[0].age_bytes[1] == 1000,
	   "in-use by age of the last profile only, labels of one bucket added up, oldest first");
	f = open_memstream(&buf, &len);
	leak_report__write_json(rs, 1, f);
	fclose(f);
	ok(buf && strstr(buf, "\"inuse_by_age\":[{\"age_s\":10,\"bytes\":3500},{\"age_s\":0,"
			      "\"bytes\":1000}]"),
	   "JSON: inuse_by_age");
	free(buf);
	leak_report__release(&r);
	leak_series__free(s);
}

/* Churn whose one sampled block was caught alive in one profile is churn, not a spike. */
static void test_churn_caught(void)
{
	struct leak_series *s = leak_series__new(10, "churn");
	struct leak_report r;
	int i;

	leak_series__set_rate(s, 16384);
	for (i = 0; i < NPOINTS; i++) {
		leak_series__begin(s, (int64_t)i * STEP_NS);
		leak_series__add(s, "c", "churn", "churn;main", i == 4 ? 16900 : 0,
				 (int64_t)i * 3 * MiB);
		leak_series__add(s, "s", "spike", "spike;main", i == 4 ? 64 * MiB : 0,
				 i >= 4 ? 64 * MiB : 0);
	}
	leak__analyze(s, &r);
	ok(class_of(&r, "churn") == LEAK_CHURN,
	   "one sampled 1 KiB block alive in one profile (16.9 KB at rate 16384): churn");
	ok(class_of(&r, "spike") == LEAK_SPIKE, "64 MiB alive in one profile: a spike");
	leak_report__release(&r);
	leak_series__free(s);
}

static void test_json(void)
{
	struct leak_series *s = make_series(NPOINTS);
	struct leak_report r;
	const struct leak_report *rs[1] = { &r };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	leak_series__add(s, "q", "we\"ird\\", "a\nb", 1, 1);
	leak__analyze(s, &r);
	ok(f && !leak_report__write_json(rs, 1, f), "JSON written");
	fclose(f);
	ok(buf &&
	       strstr(buf, "\"suspects\":[{\"pid\":42,\"comm\":\"fixture\",\"class\":\"growing\","
			   "\"function\":\"leak\",\"stack\":\"leak;main\",\"profiles_judged\":10,"
			   "\"inuse_bytes\":10485760"),
	   "suspects carry pid, comm, function, stack, inuse_bytes");
	ok(buf && strstr(buf, "\"growth_bytes_per_s\":349525.3"), "and growth_bytes_per_s");
	ok(buf && strstr(buf, "\"we\\\"ird\\\\\"") && strstr(buf, "\"a\\u000ab\""),
	   "strings are escaped");
	free(buf);
	leak_report__release(&r);
	leak_series__free(s);
}

int main(void)
{
	test_classes();
	test_too_few();
	test_decimation();
	test_sampling_drift();
	test_late_leak();
	test_measured_age();
	test_churn_caught();
	test_json();
	return done_testing();
}
