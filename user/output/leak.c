// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* leak.c - see leak.h. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "output/leak.h"
#include "output/pprof.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/strbuf.h"
#include "util/vec.h"

/*
 * The thresholds of the classes (docs/leaks.md). They are shares and
 * counts, not byte sizes, so that they hold at any sample rate.
 */
#define GROWING_MIN_R2	   0.8	/* a line explains most of the change */
#define GROWING_MIN_STEADY 0.6	/* in-use fell in at most two intervals in five */
#define GROWING_MIN_RISES  3	/* rose in three intervals at least: not one event */
#define GROWING_LATE_SHARE 0.25 /* the later half still rises at a quarter of the slope */
#define GROWING_KEEP_SHARE 0.9	/* ends near its high */
#define SPIKE_FACTOR	   2.0	/* the high is twice both ends */
#define CHURN_FACTOR	   4.0	/* allocated four times the high */
#define FLAT_KEEP_SHARE	   0.5	/* holds half its high at the end */
/*
 * A sampled estimate of B bytes rests on about B/rate samples, so its
 * noise is about sqrt(B * rate) bytes: growth below three times that may
 * be the sampling's own drift (a full cache whose blocks are replaced).
 */
#define GROWING_MIN_SIGMAS 3.0

struct leak_stack {
	char *key;
	char *function;
	char *stack;
	int64_t *inuse; /* per profile of the series */
	int64_t *alloc;
	/* In the current profile: in-use by age label (seconds), n_ages slots used. */
	size_t n_ages;
	int64_t age_s[LEAK_AGE_SLOTS];
	int64_t age_bytes[LEAK_AGE_SLOTS];
};

struct leak_series {
	int pid;
	char *comm;
	int64_t *times;
	int64_t *totals;
	size_t npoints, cap_points; /* every stack's arrays hold cap_points */
	struct leak_stack *stacks;
	size_t nstacks, cap_stacks;
	struct htab index; /* uint32_t index into stacks, by key */
	size_t not_followed;
	int64_t rate; /* the profiles' sample rate (period); <= 1: exact */
};

static const char *const class_names[] = {
	[LEAK_GROWING] = "growing", [LEAK_SPIKE] = "spike", [LEAK_CHURN] = "churn",
	[LEAK_FLAT] = "flat",	    [LEAK_OTHER] = "other",
};

const char *leak__class_name(enum leak_class c)
{
	return c <= LEAK_OTHER ? class_names[c] : "other";
}

struct leak_series *leak_series__new(int pid, const char *comm)
{
	struct leak_series *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->comm = strdup(comm ? comm : "");
	if (!s->comm) {
		free(s);
		return NULL;
	}
	htab__init(&s->index, sizeof(uint32_t), s);
	return s;
}

/* Every other profile from the first: the series keeps its span at half the resolution. */
static void decimate(struct leak_series *s)
{
	size_t i, j, n = 0;

	for (i = 0; i < s->npoints; i += 2)
		n++;
	for (j = 0; j < s->nstacks; j++) {
		struct leak_stack *st = &s->stacks[j];

		for (i = 0; i < n; i++) {
			st->inuse[i] = st->inuse[i * 2];
			st->alloc[i] = st->alloc[i * 2];
		}
	}
	for (i = 0; i < n; i++) {
		s->times[i] = s->times[i * 2];
		s->totals[i] = s->totals[i * 2];
	}
	s->npoints = n;
}

/* Room for one more profile in every array. */
static int grow_points(struct leak_series *s)
{
	size_t cap = s->cap_points ? s->cap_points * 2 : 8, i;
	int64_t *p;

	if (cap > LEAK_MAX_POINTS)
		cap = LEAK_MAX_POINTS;
	p = realloc(s->times, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->times = p;
	p = realloc(s->totals, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	s->totals = p;
	for (i = 0; i < s->nstacks; i++) {
		struct leak_stack *st = &s->stacks[i];

		p = realloc(st->inuse, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->inuse = p;
		p = realloc(st->alloc, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		st->alloc = p;
	}
	s->cap_points = cap;
	return 0;
}

int leak_series__begin(struct leak_series *s, int64_t time_ns)
{
	size_t i;
	int err;

	if (s->npoints && time_ns < s->times[s->npoints - 1])
		return -EINVAL;
	if (s->npoints == LEAK_MAX_POINTS)
		decimate(s);
	if (s->npoints == s->cap_points) {
		err = grow_points(s);
		if (err)
			return err;
	}
	s->times[s->npoints] = time_ns;
	s->totals[s->npoints] = 0;
	for (i = 0; i < s->nstacks; i++) {
		s->stacks[i].inuse[s->npoints] = 0;
		s->stacks[i].alloc[s->npoints] = 0;
		s->stacks[i].n_ages = 0;
	}
	s->npoints++;
	return 0;
}

static bool key_eq(const void *entry, const void *key, const void *ctx)
{
	const struct leak_series *s = ctx;

	return !strcmp(s->stacks[*(const uint32_t *)entry].key, key);
}

/* A new stack, 0 in every earlier profile (cumulative profiles: it had not allocated). */
static int new_stack(struct leak_series *s, const char *key, const char *function,
		     const char *stack, uint32_t *idx)
{
	struct leak_stack st = {
		.key = strdup(key),
		.function = strdup(function ? function : ""),
		.stack = strdup(stack ? stack : ""),
		.inuse = calloc(s->cap_points, sizeof(int64_t)),
		.alloc = calloc(s->cap_points, sizeof(int64_t)),
	};

	if (!st.key || !st.function || !st.stack || !st.inuse || !st.alloc ||
	    VEC_RESERVE(s->stacks, s->cap_stacks, s->nstacks + 1)) {
		free(st.key);
		free(st.function);
		free(st.stack);
		free(st.inuse);
		free(st.alloc);
		return -ENOMEM;
	}
	*idx = (uint32_t)s->nstacks;
	s->stacks[s->nstacks++] = st;
	return 0;
}

/* Adds bytes to the stack's age slot of age_s; ages past the slots are not kept. */
static void add_age(struct leak_stack *st, int64_t age_s, int64_t bytes)
{
	size_t i;

	for (i = 0; i < st->n_ages && st->age_s[i] != age_s; i++)
		;
	if (i == st->n_ages) {
		if (i == LEAK_AGE_SLOTS)
			return;
		st->age_s[st->n_ages] = age_s;
		st->age_bytes[st->n_ages++] = 0;
	}
	st->age_bytes[i] += bytes;
}

int leak_series__add(struct leak_series *s, const char *key, const char *function,
		     const char *stack, int64_t inuse_bytes, int64_t alloc_bytes)
{
	return leak_series__add_aged(s, key, function, stack, inuse_bytes, alloc_bytes, -1);
}

int leak_series__add_aged(struct leak_series *s, const char *key, const char *function,
			  const char *stack, int64_t inuse_bytes, int64_t alloc_bytes,
			  int64_t age_s)
{
	uint64_t h = hash_str(key);
	struct leak_stack *st;
	uint32_t *e, idx;
	bool found;
	int err;

	if (!s->npoints)
		return -EINVAL;
	s->totals[s->npoints - 1] += inuse_bytes;
	e = htab__find(&s->index, h, key, key_eq);
	if (e) {
		idx = *e;
	} else {
		if (s->nstacks >= LEAK_MAX_STACKS) {
			s->not_followed++;
			return 0;
		}
		err = new_stack(s, key, function, stack, &idx);
		if (err)
			return err;
		e = htab__insert(&s->index, h, key, key_eq, &found);
		if (!e) {
			s->nstacks--;
			free(s->stacks[idx].key);
			free(s->stacks[idx].function);
			free(s->stacks[idx].stack);
			free(s->stacks[idx].inuse);
			free(s->stacks[idx].alloc);
			return -ENOMEM;
		}
		*e = idx;
	}
	st = &s->stacks[idx];
	st->inuse[s->npoints - 1] += inuse_bytes;
	st->alloc[s->npoints - 1] += alloc_bytes;
	if (age_s >= 0 && inuse_bytes > 0)
		add_age(st, age_s, inuse_bytes);
	return 0;
}

/*
 * The stack for a person (function names, inlined frames included, leaf
 * first) and its leaf function, of one sample. The names are also the
 * stack's key: two call sites in one function are one stack, as a person
 * reading the report (and pprof's -top) sees them; a frame without a name
 * keeps its address.
 */
static int describe_sample(const struct pprof_builder *b, const struct pprof_sample_view *v,
			   struct strbuf *stack, struct strbuf *leaf)
{
	struct pprof_frame frames[16];
	uint64_t addr;
	size_t i;
	int n, j;

	for (i = 0; i < v->n; i++) {
		n = pprof__location(b, v->location_ids[i], &addr, frames, 16);
		if (n < 0)
			return n;
		for (j = 0; j < n; j++) {
			const char *fn = frames[j].function ? frames[j].function : NULL;

			if (fn)
				strbuf__addf(stack, "%s%s", stack->len ? ";" : "", fn);
			else
				strbuf__addf(stack, "%s0x%" PRIx64, stack->len ? ";" : "", addr);
			if (i == 0 && j == 0)
				strbuf__add(leaf, fn ? fn : "");
		}
		if (n == 0)
			strbuf__addf(stack, "%s0x%" PRIx64, stack->len ? ";" : "", addr);
	}
	return stack->failed || leaf->failed ? -ENOMEM : 0;
}

int leak_series__add_profile(struct leak_series *s, const struct pprof_builder *b)
{
	struct strbuf stack = {}, leaf = {};
	struct pprof_sample_view v;
	size_t i, n = pprof__nr_samples(b);
	int err;

	leak_series__set_rate(s, pprof__period(b));
	err = leak_series__begin(s, pprof__time_nanos(b));
	for (i = 0; i < n && !err; i++) {
		err = pprof__sample(b, i, &v);
		if (err)
			break;
		strbuf__reset(&stack);
		strbuf__reset(&leaf);
		err = describe_sample(b, &v, &stack, &leaf);
		if (!err)
			err = leak_series__add_aged(
			    s, strbuf__str(&stack), strbuf__str(&leaf), strbuf__str(&stack),
			    v.values[PPROF_INUSE_SPACE], v.values[PPROF_ALLOC_SPACE], v.age_label);
	}
	strbuf__release(&stack);
	strbuf__release(&leaf);
	return err;
}

void leak_series__set_rate(struct leak_series *s, int64_t rate)
{
	s->rate = rate;
}

size_t leak_series__len(const struct leak_series *s)
{
	return s->npoints;
}

int leak_series__pid(const struct leak_series *s)
{
	return s->pid;
}

const char *leak_series__comm(const struct leak_series *s)
{
	return s->comm;
}

void leak_series__free(struct leak_series *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nstacks; i++) {
		free(s->stacks[i].key);
		free(s->stacks[i].function);
		free(s->stacks[i].stack);
		free(s->stacks[i].inuse);
		free(s->stacks[i].alloc);
	}
	free(s->stacks);
	htab__release(&s->index);
	free(s->times);
	free(s->totals);
	free(s->comm);
	free(s);
}

/* ---- the analysis ---- */

/* Least squares of y over t (seconds from the first profile): slope and R². */
static void fit_line(const int64_t *t_ns, const int64_t *y, size_t n, double *slope, double *r2)
{
	double mt = 0, my = 0, stt = 0, sty = 0, syy = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		mt += (double)(t_ns[i] - t_ns[0]) / 1e9;
		my += (double)y[i];
	}
	mt /= (double)n;
	my /= (double)n;
	for (i = 0; i < n; i++) {
		double dt = (double)(t_ns[i] - t_ns[0]) / 1e9 - mt, dy = (double)y[i] - my;

		stt += dt * dt;
		sty += dt * dy;
		syy += dy * dy;
	}
	*slope = stt > 0 ? sty / stt : 0;
	*r2 = stt > 0 && syy > 0 ? (sty * sty) / (stt * syy) : 0;
}

/*
 * The age of the live bytes at the end, from the series: survived[i], the
 * least in-use from profile i on, is what survived from i to the end; its
 * rise over survived[i-1] was allocated at about time i.
 */
static void estimate_age(const int64_t *t_ns, const int64_t *y, size_t n, double *mean,
			 double *oldest)
{
	int64_t survived[LEAK_MAX_POINTS], below = 0;
	double weighted = 0, end = (double)t_ns[n - 1];
	size_t i;

	*mean = 0;
	*oldest = 0;
	if (y[n - 1] <= 0)
		return;
	survived[n - 1] = y[n - 1];
	for (i = n - 1; i-- > 0;)
		survived[i] = y[i] < survived[i + 1] ? y[i] : survived[i + 1];
	/* survived never falls with i: each rise is a layer that lived from t[i] to the end. */
	for (i = 0; i < n; i++) {
		int64_t layer = survived[i] - below;

		if (layer > 0) {
			double age = (end - (double)t_ns[i]) / 1e9;

			weighted += (double)layer * age;
			if (*oldest == 0)
				*oldest = age;
			below = survived[i];
		}
	}
	*mean = weighted / (double)y[n - 1];
}

/* Ends near its high: within a tenth of it, or within the sampling noise. */
static bool ends_near_high(const struct leak_finding *f, int64_t last, double noise)
{
	double below = (double)(f->peak_bytes - last);

	return below <= (1 - GROWING_KEEP_SHARE) * (double)f->peak_bytes ||
	       below <= GROWING_MIN_SIGMAS * noise;
}

/* y: the stack's in-use over the n profiles judged. */
static enum leak_class classify(const struct leak_finding *f, const int64_t *y, size_t n,
				double late_slope, int64_t rate)
{
	int64_t first = y[0], last = y[n - 1];
	int64_t ends = first > last ? first : last;
	double noise = rate > 1 && last > 0 ? sqrt((double)last * (double)rate) : 0;

	if (n < LEAK_MIN_POINTS)
		return LEAK_OTHER;
	if (f->growth_bytes > 0 && (double)f->growth_bytes >= GROWING_MIN_SIGMAS * noise &&
	    f->growth_bytes_per_s > 0 && f->r2 >= GROWING_MIN_R2 &&
	    f->steady >= GROWING_MIN_STEADY && f->rises >= GROWING_MIN_RISES &&
	    late_slope >= GROWING_LATE_SHARE * f->growth_bytes_per_s &&
	    ends_near_high(f, last, noise))
		return LEAK_GROWING;
	/*
	 * A high within the sampling noise of nothing is one block sampled
	 * while it lived (churn caught between its malloc and its free).
	 */
	if (f->peak_bytes > 0 && (double)f->peak_bytes >= SPIKE_FACTOR * (double)ends &&
	    (rate <= 1 || (double)f->peak_bytes >
			      GROWING_MIN_SIGMAS * sqrt((double)f->peak_bytes * (double)rate)))
		return LEAK_SPIKE;
	if (f->allocated_bytes > 0 &&
	    (double)f->allocated_bytes >= CHURN_FACTOR * (double)f->peak_bytes)
		return LEAK_CHURN;
	if (last > 0 && (double)last >= FLAT_KEEP_SHARE * (double)f->peak_bytes)
		return LEAK_FLAT;
	return LEAK_OTHER;
}

/* The stack's in-use by age in the last profile, the oldest first. */
static void copy_ages(const struct leak_stack *st, struct leak_finding *f)
{
	size_t i, j;

	f->n_ages = st->n_ages;
	for (i = 0; i < st->n_ages; i++) {
		f->age_s[i] = st->age_s[i];
		f->age_bytes[i] = st->age_bytes[i];
	}
	/* Insertion sort: at most LEAK_AGE_SLOTS entries. */
	for (i = 1; i < f->n_ages; i++)
		for (j = i; j > 0 && f->age_s[j] > f->age_s[j - 1]; j--) {
			int64_t a = f->age_s[j], b = f->age_bytes[j];

			f->age_s[j] = f->age_s[j - 1];
			f->age_bytes[j] = f->age_bytes[j - 1];
			f->age_s[j - 1] = a;
			f->age_bytes[j - 1] = b;
		}
}

/* The measures and class of a stack over the profiles [from, npoints) of the series. */
static void analyze_window(const struct leak_series *s, const struct leak_stack *st, size_t from,
			   struct leak_finding *f)
{
	size_t n = s->npoints - from, i, mid = n / 2, falls = 0;
	const int64_t *t = s->times + from, *y = st->inuse + from, *a = st->alloc + from;
	double late_slope = 0, r2;

	*f = (struct leak_finding){
		.function = st->function,
		.stack = st->stack,
		.inuse = st->inuse,
		.judged = n,
		.inuse_bytes = y[n - 1],
		.growth_bytes = y[n - 1] - y[0],
		.allocated_bytes = a[n - 1] - a[0],
	};
	for (i = 0; i < n; i++)
		if (y[i] > f->peak_bytes)
			f->peak_bytes = y[i];
	for (i = 1; i < n; i++) {
		if (y[i] > y[i - 1])
			f->rises++;
		else if (y[i] < y[i - 1])
			falls++;
	}
	f->steady = n > 1 ? 1.0 - (double)falls / (double)(n - 1) : 0;
	fit_line(t, y, n, &f->growth_bytes_per_s, &r2);
	f->r2 = r2;
	if (n > 1 && t[n - 1] > t[mid])
		late_slope = (double)(y[n - 1] - y[mid]) / ((double)(t[n - 1] - t[mid]) / 1e9);
	/* The age is of the level since the series began, whatever the window. */
	estimate_age(s->times, st->inuse, s->npoints, &f->mean_age_s, &f->oldest_s);
	copy_ages(st, f);
	f->cls = classify(f, y, n, late_slope, s->rate);
}

/*
 * The whole series, and when that finds no growth its last
 * LEAK_RECENT_POINTS profiles: a leak that began after a long flat stretch
 * (a daemon watched for hours) has a poor fit over the whole series.
 */
static void analyze_stack(const struct leak_series *s, const struct leak_stack *st,
			  struct leak_finding *f)
{
	struct leak_finding recent;

	analyze_window(s, st, 0, f);
	if (f->cls == LEAK_GROWING || s->npoints <= LEAK_RECENT_POINTS)
		return;
	analyze_window(s, st, s->npoints - LEAK_RECENT_POINTS, &recent);
	if (recent.cls == LEAK_GROWING)
		*f = recent;
}

/* Suspects first, the fastest growing first; then by class, the largest first. */
static int finding_cmp(const void *a, const void *b)
{
	const struct leak_finding *x = a, *y = b;

	if (x->cls != y->cls)
		return x->cls < y->cls ? -1 : 1;
	if (x->cls == LEAK_GROWING && x->growth_bytes_per_s != y->growth_bytes_per_s)
		return x->growth_bytes_per_s > y->growth_bytes_per_s ? -1 : 1;
	if (x->peak_bytes != y->peak_bytes)
		return x->peak_bytes > y->peak_bytes ? -1 : 1;
	if (x->allocated_bytes != y->allocated_bytes)
		return x->allocated_bytes > y->allocated_bytes ? -1 : 1;
	return strcmp(x->stack, y->stack);
}

int leak__analyze(const struct leak_series *s, struct leak_report *r)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	r->pid = s->pid;
	r->comm = s->comm;
	r->npoints = s->npoints;
	r->times_ns = s->times;
	r->totals = s->totals;
	r->stacks_not_followed = s->not_followed;
	if (!s->npoints)
		return 0;
	r->span_s = (double)(s->times[s->npoints - 1] - s->times[0]) / 1e9;
	r->findings = calloc(s->nstacks ? s->nstacks : 1, sizeof(*r->findings));
	if (!r->findings)
		return -ENOMEM;
	for (i = 0; i < s->nstacks; i++) {
		struct leak_finding f;

		analyze_stack(s, &s->stacks[i], &f);
		/* A stack that never held nor allocated anything in the window says nothing. */
		if (f.peak_bytes <= 0 && f.allocated_bytes <= 0)
			continue;
		r->findings[r->nfindings++] = f;
	}
	qsort(r->findings, r->nfindings, sizeof(*r->findings), finding_cmp);
	while (r->nsuspects < r->nfindings && r->findings[r->nsuspects].cls == LEAK_GROWING)
		r->nsuspects++;
	return 0;
}

void leak_report__release(struct leak_report *r)
{
	free(r->findings);
	memset(r, 0, sizeof(*r));
}

/* `bytes` for a person, as the status line writes them. */
static void format_bytes(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = fabs(bytes);
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%.0f B", bytes < 0 ? "-" : "", v);
	else
		snprintf(buf, len, "%s%.1f %s", bytes < 0 ? "-" : "", v, units[u]);
}

void leak_report__top(const struct leak_report *r, char *buf, size_t len)
{
	char rate[32];

	if (!len)
		return;
	buf[0] = '\0';
	if (!r->nsuspects)
		return;
	format_bytes(r->findings[0].growth_bytes_per_s, rate, sizeof(rate));
	snprintf(buf, len, "%s +%s/s", *r->findings[0].function ? r->findings[0].function : "?",
		 rate);
}

static void write_finding_text(const struct leak_report *r, const struct leak_finding *f, FILE *out)
{
	char inuse[32], peak[32], rate[32], alloc[32];

	format_bytes((double)f->inuse_bytes, inuse, sizeof(inuse));
	format_bytes((double)f->peak_bytes, peak, sizeof(peak));
	format_bytes(f->growth_bytes_per_s, rate, sizeof(rate));
	format_bytes((double)f->allocated_bytes, alloc, sizeof(alloc));
	fprintf(out,
		"  %-8s %s: in use %s (high %s), %s%s/s, R² %.2f, %.0f%% of intervals "
		"not falling, allocated %s, live bytes ~%.0f s old (oldest ~%.0f s)\n",
		leak__class_name(f->cls), *f->function ? f->function : "?", inuse, peak,
		f->growth_bytes_per_s >= 0 ? "+" : "", rate, f->r2, f->steady * 100, alloc,
		f->mean_age_s, f->oldest_s);
	if (f->judged < r->npoints)
		fprintf(out, "           judged over the last %zu profiles\n", f->judged);
	if (f->n_ages) {
		size_t i;

		fputs("           in use by age now:", out);
		for (i = 0; i < f->n_ages; i++) {
			format_bytes((double)f->age_bytes[i], inuse, sizeof(inuse));
			fprintf(out, "%s %s at least %lld s old", i ? "," : "", inuse,
				(long long)f->age_s[i]);
		}
		fputc('\n', out);
	}
	fprintf(out, "           stack: %s\n", f->stack);
}

int leak_report__write_text(const struct leak_report *r, FILE *f)
{
	size_t i;

	fprintf(f, "pid %d (%s): %zu profiles over %.0f s\n", r->pid, r->comm, r->npoints,
		r->span_s);
	if (r->npoints < LEAK_MIN_POINTS)
		fprintf(f, "  too few profiles to judge growth: %d are needed\n", LEAK_MIN_POINTS);
	if (!r->nsuspects)
		fputs("  no leak suspect: no stack's in-use grew steadily\n", f);
	else
		fprintf(f, "  %zu leak suspect%s:\n", r->nsuspects, r->nsuspects == 1 ? "" : "s");
	for (i = 0; i < r->nfindings; i++) {
		if (i == r->nsuspects && i)
			fputs("  not leaking:\n", f);
		write_finding_text(r, &r->findings[i], f);
	}
	if (r->stacks_not_followed)
		fprintf(f, "  %zu stacks not followed: more than %d stacks\n",
			r->stacks_not_followed, LEAK_MAX_STACKS);
	return ferror(f) ? -EIO : 0;
}

void leak__json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* JSON has no NaN nor infinity. */
static double json_number(double v)
{
	return isfinite(v) ? v : 0;
}

static void write_finding_json(const struct leak_report *r, const struct leak_finding *f, FILE *out)
{
	size_t i;

	fprintf(out, "{\"pid\":%d,\"comm\":", r->pid);
	leak__json_string(out, r->comm);
	fprintf(out, ",\"class\":\"%s\",\"function\":", leak__class_name(f->cls));
	leak__json_string(out, f->function);
	fputs(",\"stack\":", out);
	leak__json_string(out, f->stack);
	fprintf(out,
		",\"profiles_judged\":%zu,\"inuse_bytes\":%" PRId64 ",\"peak_bytes\":%" PRId64
		",\"growth_bytes\":%" PRId64 ",\"allocated_bytes\":%" PRId64
		",\"growth_bytes_per_s\":%.1f,\"r2\":%.4f,"
		"\"steady\":%.4f,\"rises\":%zu,\"mean_age_s\":%.1f,\"oldest_s\":%.1f,"
		"\"inuse_by_age\":[",
		f->judged, f->inuse_bytes, f->peak_bytes, f->growth_bytes, f->allocated_bytes,
		json_number(f->growth_bytes_per_s), json_number(f->r2), json_number(f->steady),
		f->rises, json_number(f->mean_age_s), json_number(f->oldest_s));
	for (i = 0; i < f->n_ages; i++)
		fprintf(out, "%s{\"age_s\":%" PRId64 ",\"bytes\":%" PRId64 "}", i ? "," : "",
			f->age_s[i], f->age_bytes[i]);
	fputs("]}", out);
}

static void write_process_json(const struct leak_report *r, FILE *f)
{
	size_t i;

	fprintf(f, "{\"pid\":%d,\"comm\":", r->pid);
	leak__json_string(f, r->comm);
	fprintf(f, ",\"profiles\":%zu,\"span_s\":%.1f,\"stacks_not_followed\":%zu,\"inuse\":[",
		r->npoints, r->span_s, r->stacks_not_followed);
	for (i = 0; i < r->npoints; i++)
		fprintf(f, "%s[%" PRId64 ",%" PRId64 "]", i ? "," : "", r->times_ns[i],
			r->totals[i]);
	fputs("],\"findings\":[", f);
	for (i = 0; i < r->nfindings; i++) {
		if (i)
			fputc(',', f);
		write_finding_json(r, &r->findings[i], f);
	}
	fputs("]}", f);
}

int leak_report__write_json(const struct leak_report *const *r, size_t n, FILE *f)
{
	size_t i, j;
	bool first = true;

	fputs("{\"processes\":[", f);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		write_process_json(r[i], f);
	}
	fputs("],\"suspects\":[", f);
	for (i = 0; i < n; i++)
		for (j = 0; j < r[i]->nsuspects; j++) {
			if (!first)
				fputc(',', f);
			first = false;
			write_finding_json(r[i], &r[i]->findings[j], f);
		}
	fputs("]}\n", f);
	return ferror(f) ? -EIO : 0;
}
