// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_push.c - what a push makes of names, labels and profiles before
 * anything is sent: pushname.h's checks and fitting, and pprof_shape's
 * pruning and folding (totals kept, location ids still right).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "output/pprof.h"
#include "output/pushname.h"
#include "util/strbuf.h"
#include "tap.h"

static void test_valid_labels(void)
{
	static const char *const good[] = { "env=prod", "_x=1", "a1_B=v-1.2/x", "k=é" };
	static const char *const bad[] = {
		"env", "=v",	"1x=v",	 "__name__=x", "service_name=x", "a-b=v",
		"k=",  "k=a,b", "k={x}", "k=a b",      "k=a=b",		 "k=\"q\""
	};
	char big[2100 + 3];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(pushname__valid_label(good[i]), "label '%s' is valid", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(!pushname__valid_label(bad[i]), "label '%s' is refused", bad[i]);
	memcpy(big, "k=", 2);
	memset(big + 2, 'v', 2049);
	big[2 + 2049] = '\0';
	ok(!pushname__valid_label(big), "a value of 2049 bytes is refused");
	big[2 + 2048] = '\0';
	ok(pushname__valid_label(big), "a value of 2048 bytes is valid");
}

static void test_format(void)
{
	struct push_label labels[40];
	char keys[40][8];
	struct strbuf sb = { 0 };
	size_t dropped = 99, i, commas = 0;
	const char *s;

	labels[0] = (struct push_label){ "env", "prod" };
	labels[1] = (struct push_label){ "comm", "my server{1}" };
	labels[2] = (struct push_label){ "env", "again" };
	labels[3] = (struct push_label){ "9lives", "x" };
	labels[4] = (struct push_label){ "cgroup", "/system.slice/a,b=c.service" };
	labels[5] = (struct push_label){ "__name__", "x" };
	ok(!pushname__format(&sb, "my app/1", labels, 6, &dropped), "a name is made");
	s = strbuf__str(&sb);
	ok(!strcmp(s, "my_app_1{env=prod,comm=my_server_1_,_9lives=x,cgroup=/system.slice/"
		      "a_b_c.service}"),
	   "service and labels made to fit: %s", s);
	ok(dropped == 2, "the duplicate and the reserved key are left out (%zu)", dropped);

	for (i = 0; i < 40; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		labels[i] = (struct push_label){ keys[i], "v" };
	}
	strbuf__reset(&sb);
	ok(!pushname__format(&sb, "app", labels, 40, &dropped), "40 labels: a name is made");
	for (s = strbuf__str(&sb); *s; s++)
		commas += *s == ',';
	ok(commas + 1 == PUSHNAME_MAX_LABELS - 1, "29 labels kept, service_name the 30th (%zu)",
	   commas + 1);
	ok(dropped == 11, "11 left out, counted (%zu)", dropped);
	labels[0] = (struct push_label){ "comm", "caf\xc3" }; /* "café" cut inside the é */
	strbuf__reset(&sb);
	ok(!pushname__format(&sb, "app", labels, 1, NULL) &&
	       !strcmp(strbuf__str(&sb), "app{comm=caf\xef\xbf\xbd}"),
	   "a value cut inside a UTF-8 character ends in U+FFFD: %s", strbuf__str(&sb));
	strbuf__release(&sb);
}

/* One location per sample, each its own function, for folding. */
static struct pprof_builder *make_profile(size_t n)
{
	struct pprof_builder *b = pprof__new(1, 1, 0);
	size_t i;

	for (i = 0; i < n && b; i++) {
		char name[32];
		struct pprof_frame f = { .function = name };
		int64_t v[PPROF_NR_VALUES] = { 1, (int64_t)(i + 1), 1, (int64_t)(i + 1) };
		uint64_t loc;

		snprintf(name, sizeof(name), "f%zu", i);
		loc = (uint64_t)pprof__add_location(b, 0x1000 + i, 0, &f, 1);
		/* Zero-valued samples in between, which pruning removes. */
		if (pprof__add_sample(b, &loc, 1, v, 0))
			return NULL;
		if (i % 3 == 0) {
			int64_t zero[PPROF_NR_VALUES] = { 0 };

			pprof__add_sample(b, &loc, 1, zero, 0);
		}
	}
	return b;
}

static int64_t total(const struct pprof_builder *b, int idx)
{
	struct pprof_sample_view v;
	int64_t t = 0;
	size_t i;

	for (i = 0; i < pprof__nr_samples(b); i++)
		if (!pprof__sample(b, i, &v))
			t += v.values[idx];
	return t;
}

static void test_fold(void)
{
	struct pprof_builder *b = make_profile(100);
	struct pprof_sample_view v;
	struct pprof_frame f[2];
	uint64_t addr;
	size_t folded = 0, i, bad = 0;
	int64_t before = b ? total(b, PPROF_INUSE_SPACE) : 0;

	ok(b && pprof__nr_samples(b) == 134, "100 samples and 34 empty ones");
	ok(pprof__prune_samples(b, 0) == 100, "pruning leaves the 100 with values");
	ok(!pprof__fold_samples(b, 10, "[other]", &folded), "folding to 10 works");
	ok(folded == 91, "91 samples folded (%zu)", folded);
	ok(pprof__nr_samples(b) == 10, "10 samples left (%zu)", pprof__nr_samples(b));
	ok(total(b, PPROF_INUSE_SPACE) == before, "the in-use total is kept");
	ok(total(b, PPROF_ALLOC_OBJECTS) == 100, "the alloc_objects total is kept");
	/* Each kept sample still points at its own function: the heaviest, f91..f99. */
	for (i = 0; i + 1 < pprof__nr_samples(b); i++) {
		char want[32];

		pprof__sample(b, i, &v);
		snprintf(want, sizeof(want), "f%" PRId64, v.values[PPROF_INUSE_SPACE] - 1);
		if (v.n != 1 || pprof__location(b, v.location_ids[0], &addr, f, 2) != 1 ||
		    strcmp(f[0].function, want) || v.values[PPROF_INUSE_SPACE] < 92)
			bad++;
	}
	ok(!bad, "the kept samples are the 9 heaviest, each with its own location");
	pprof__sample(b, pprof__nr_samples(b) - 1, &v);
	ok(pprof__location(b, v.location_ids[0], &addr, f, 2) == 1 &&
	       !strcmp(f[0].function, "[other]"),
	   "the last sample is [other]");
	ok(v.values[PPROF_ALLOC_OBJECTS] == 91, "[other] counts the 91 folded objects");
	pprof__free(b);
}

/* The options are config keys too (env__set_option), as every entry of options[]. */
static void test_config_keys(void)
{
	char err[256] = "";
	struct env env;

	env__set_defaults(&env);
	ok(!env__set_option(&env, "push", "https://pyroscope:4040", err, sizeof(err)) &&
	       env.push_url && !strcmp(env.push_url, "https://pyroscope:4040"),
	   "push = URL sets the push URL");
	ok(!env__set_option(&env, "push-label", "env=prod", err, sizeof(err)) &&
	       !env__set_option(&env, "push-label", "team=heap", err, sizeof(err)) &&
	       env.nr_push_labels == 2 && !strcmp(env.push_labels[1], "team=heap"),
	   "push-label adds a label each time");
	ok(env.push_spool_size == 64ull << 20, "push-spool-size defaults to 64 MiB");
	ok(env__set_option(&env, "push", "pyroscope:4040", err, sizeof(err)) == -EINVAL &&
	       strstr(err, "invalid --push URL 'pyroscope:4040'"),
	   "a URL without a scheme is refused: %s", err);
	ok(env__set_option(&env, "push-label", "a-b=1", err, sizeof(err)) == -EINVAL &&
	       strstr(err, "invalid --push-label 'a-b=1'"),
	   "an invalid label is refused: %s", err);
	env__free(&env);
}

int main(void)
{
	test_config_keys();
	test_valid_labels();
	test_format();
	test_fold();
	return done_testing();
}
