// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/estimate.h"
#include "output/profile.h"
#include "output/statusline.h"
#include "output/wrappers.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/procname.h"
#include "output/pprof.h"
#include "collect/snapshot.h"
#include "output/unbias.h"

#define MAX_INLINE_FRAMES 16

struct build_ctx {
	struct pprof_builder *b;
	struct symbolizer *s;
	struct process *p;
	uint64_t rate;
	int64_t *mapping_ids;		 /* per snapshot entry; 0 = not added yet */
	const struct wrappers *wrappers; /* folded out of the leaf, or NULL */
	bool maps_reloaded;
	struct profile_summary *sum;
	const struct heap_snapshot *snap; /* the profile's data */
	const struct heap_snapshot *base; /* subtracted from it, or NULL */
	int64_t sign;			  /* -1 while adding the base's own stacks */
	int err;
};

uint64_t profile__lost(const struct ht_target *c)
{
	return c->lost_live_full + c->lost_stack_full + c->lost_agg_full + c->lost_inflight +
	       c->stack_errors + c->lost_events + c->lost_inherited + c->lost_signal;
}

/*
 * Re-reads the maps once per profile when an address falls outside the
 * snapshot (dlopen). Mappings already added keep their ids: pprof finds
 * them by id, and the new snapshot's entries start unnumbered.
 */
static int reload_maps(struct build_ctx *c)
{
	int64_t *ids;

	if (c->maps_reloaded || !c->p->alive)
		return -ENOENT;
	c->maps_reloaded = true;
	if (process__refresh_maps(c->p))
		return -ENOENT;
	ids = calloc(c->p->maps->nr ? c->p->maps->nr : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	free(c->mapping_ids);
	c->mapping_ids = ids;
	return 0;
}

static int64_t mapping_id(struct build_ctx *c, const struct procmap *m)
{
	size_t idx = (size_t)(m - c->p->maps->maps);
	struct sym_object_info info = {};
	struct pprof_mapping_info mi = {};
	bool opened;
	int64_t id;

	if (c->mapping_ids[idx])
		return c->mapping_ids[idx];
	opened = symbolizer__object(c->s, c->p->pid, m, &info) == 0;
	mi.start = m->start;
	mi.limit = m->end;
	mi.offset = m->offset;
	mi.file = m->path;
	mi.build_id = info.build_id;
	/* Whatever heaptrace could read of the object was used: its locations settle the flags. */
	mi.has_functions = opened;
	mi.has_filenames = opened && info.has_dwarf;
	mi.has_line_numbers = opened && info.has_dwarf;
	mi.has_inline_frames = info.has_dwarf;
	id = pprof__add_mapping(c->b, &mi);
	if (id > 0)
		c->mapping_ids[idx] = id;
	return id;
}

static int64_t location_id(struct build_ctx *c, uint64_t addr)
{
	struct sym_frame sf[MAX_INLINE_FRAMES];
	struct pprof_frame pf[MAX_INLINE_FRAMES];
	const struct procmap *m;
	int64_t mid;
	int n, i;

	if (addr == HT_FRAME_TRUNCATED) {
		/* Marks a stack cut at the depth limit: shown as a frame of its own. */
		pf[0] = (struct pprof_frame){ .function = "[truncated]" };
		return pprof__add_location(c->b, 0, 0, pf, 1);
	}
	m = procmaps__find(c->p->maps, addr);
	if (!m && reload_maps(c) == 0)
		m = procmaps__find(c->p->maps, addr);
	if (!m)
		return pprof__add_location(c->b, addr, 0, NULL, 0);
	mid = mapping_id(c, m);
	if (mid < 0)
		return mid;
	/* Symbolize each address once per profile: stacks share most frames. */
	if ((n = (int)pprof__find_location(c->b, addr, (uint64_t)mid)) > 0)
		return n;
	/* Every frame is a return address: the call is the instruction before it. */
	n = symbolizer__resolve(c->s, c->p->pid, m, addr - 1, sf, MAX_INLINE_FRAMES);
	if (n < 0)
		n = 0;
	for (i = 0; i < n; i++) {
		pf[i].function = sf[i].function;
		pf[i].system_name = sf[i].system_name;
		pf[i].file = sf[i].file;
		pf[i].start_line = sf[i].start_line;
		pf[i].line = sf[i].line;
	}
	/* A frame without a name tells pprof nothing; let it show the address. */
	if (n == 1 && !pf[0].function)
		n = 0;
	return pprof__add_location(c->b, addr, (uint64_t)mid, pf, (size_t)n);
}

/* The executable is mapped below its libraries, PIE or not: the lowest file mapping. */
static const struct procmap *main_binary(const struct procmaps *pm)
{
	size_t i;

	for (i = 0; i < pm->nr; i++)
		if (pm->maps[i].path && pm->maps[i].path[0] == '/')
			return &pm->maps[i];
	return NULL;
}

/* Scaled values and raw counts of one stack's counters, in pprof's order. */
static void stack_values(const struct ht_agg_val *v, uint64_t rate, int64_t values[PPROF_NR_VALUES],
			 int64_t raw[PPROF_NR_VALUES])
{
	uint64_t inuse_objects = snapshot__inuse_objects(v);
	uint64_t inuse_bytes = snapshot__inuse_bytes(v);

	unbias__scale(v->alloc_objects, v->alloc_bytes, rate, &values[PPROF_ALLOC_OBJECTS],
		      &values[PPROF_ALLOC_SPACE]);
	unbias__scale(inuse_objects, inuse_bytes, rate, &values[PPROF_INUSE_OBJECTS],
		      &values[PPROF_INUSE_SPACE]);
	raw[PPROF_ALLOC_OBJECTS] = (int64_t)v->alloc_objects;
	raw[PPROF_ALLOC_SPACE] = (int64_t)v->alloc_bytes;
	raw[PPROF_INUSE_OBJECTS] = (int64_t)inuse_objects;
	raw[PPROF_INUSE_SPACE] = (int64_t)inuse_bytes;
}

/*
 * The function the code at return address `addr` is in (frames inlined
 * into it at that address in sf[0..n-2], itself last); 0 when unknown.
 */
static int resolve_frames(struct build_ctx *c, uint64_t addr, struct sym_frame *sf)
{
	const struct procmap *m = procmaps__find(c->p->maps, addr);
	int n;

	if (!m)
		return 0;
	n = symbolizer__resolve(c->s, c->p->pid, m, addr - 1, sf, MAX_INLINE_FRAMES);
	return n > 0 ? n : 0;
}

/* Whether the code at return address `addr` is C++'s operator new (any of its forms). */
static bool in_operator_new(struct build_ctx *c, uint64_t addr)
{
	struct sym_frame sf[MAX_INLINE_FRAMES];
	int n = resolve_frames(c, addr, sf);

	/* The last frame is the function the address is in, the others inlined into it. */
	return n > 0 && sf[n - 1].function && !strncmp(sf[n - 1].function, "operator new", 12);
}

/*
 * Whether every function at return address `addr` is an allocation wrapper.
 * A wrapper inlined into the code that asked shares its location and stays.
 */
static bool in_wrapper(struct build_ctx *c, uint64_t addr)
{
	struct sym_frame sf[MAX_INLINE_FRAMES];
	int n = resolve_frames(c, addr, sf), i;

	for (i = 0; i < n; i++)
		if (!wrappers__match(c->wrappers, sf[i].function))
			return false;
	return n > 0;
}

/*
 * The first frame of the code that asked for memory. A stack taken at an
 * allocator's entry starts there already; one taken at a USDT probe of an
 * in-process sampler starts in the function holding the probe, then the
 * sampler's own code, then perhaps C++'s operator new, which called
 * malloc: those are the allocator's frames, hidden as the uprobe path
 * hides them (its probes are on operator new itself). Then allocation
 * wrappers (wrappers.h) are folded. The outermost frame always stays.
 */
static uint32_t first_frame(struct build_ctx *c, const uint64_t *frames, uint32_t depth)
{
	const struct process *p = c->p;
	uint32_t i = 0;

	if (p->at_probe && depth >= 2) {
		i = 1;
		while (i + 1 < depth && frames[i] >= p->hide_lo && frames[i] < p->hide_hi)
			i++;
		while (i + 1 < depth && in_operator_new(c, frames[i]))
			i++;
	}
	while (c->wrappers && i + 1 < depth && in_wrapper(c, frames[i]))
		i++;
	return i;
}

/* Adds one sample of the stack in locs and counts it in the summary. */
static int emit_sample(struct build_ctx *c, const uint64_t *locs, uint32_t n,
		       const int64_t values[PPROF_NR_VALUES], const int64_t raw[PPROF_NR_VALUES],
		       const struct pprof_labels *labels)
{
	int err = pprof__add_sample_labeled(c->b, locs, n, values, raw, labels);

	if (err)
		return err;
	c->sum->alloc_objects += values[PPROF_ALLOC_OBJECTS];
	c->sum->alloc_bytes += values[PPROF_ALLOC_SPACE];
	c->sum->inuse_objects += values[PPROF_INUSE_OBJECTS];
	c->sum->inuse_bytes += values[PPROF_INUSE_SPACE];
	if (raw[PPROF_INUSE_OBJECTS] > 0)
		c->sum->inuse_samples += (uint64_t)raw[PPROF_INUSE_OBJECTS];
	return 0;
}

/*
 * A stack's in-use in one sample per age bucket holding live blocks, each
 * labelled with the bucket and unbiased on its own (the bucket's average
 * block size). The stack's allocated values ride on its youngest bucket's
 * sample, so that a stack whose blocks are all of one age stays one
 * sample; -tagfocus on age is meant for the inuse sample types.
 */
static int emit_by_age(struct build_ctx *c, const uint64_t *locs, uint32_t n,
		       const struct ht_agg_val *v, const struct snapshot_ages *ages)
{
	int64_t values[PPROF_NR_VALUES], raw[PPROF_NR_VALUES];
	struct pprof_labels l;
	bool first = true;
	unsigned i;
	int err;

	for (i = 0; i < AGE_BUCKETS; i++) {
		if (!ages->objects[i])
			continue;
		memset(values, 0, sizeof(values));
		memset(raw, 0, sizeof(raw));
		if (first) {
			unbias__scale(v->alloc_objects, v->alloc_bytes, c->rate,
				      &values[PPROF_ALLOC_OBJECTS], &values[PPROF_ALLOC_SPACE]);
			raw[PPROF_ALLOC_OBJECTS] = (int64_t)v->alloc_objects;
			raw[PPROF_ALLOC_SPACE] = (int64_t)v->alloc_bytes;
			first = false;
		}
		unbias__scale(ages->objects[i], ages->bytes[i], c->rate,
			      &values[PPROF_INUSE_OBJECTS], &values[PPROF_INUSE_SPACE]);
		raw[PPROF_INUSE_OBJECTS] = (int64_t)ages->objects[i];
		raw[PPROF_INUSE_SPACE] = (int64_t)ages->bytes[i];
		l = (struct pprof_labels){ .bytes = (int64_t)(ages->bytes[i] / ages->objects[i]),
					   .samples = (int64_t)ages->objects[i],
					   .age = (int64_t)age_bucket_start_s[i] };
		err = emit_sample(c, locs, n, values, raw, &l);
		if (err)
			return err;
	}
	return 0;
}

static int add_stack(const struct ht_agg_val *v, const uint64_t *frames, uint32_t depth, void *ctx)
{
	struct build_ctx *c = ctx;
	uint64_t locs[HT_MAX_STACK_DEPTH];
	int64_t values[PPROF_NR_VALUES], raw[PPROF_NR_VALUES];
	const struct ht_agg_val *old = NULL;
	const struct snapshot_ages *ages = NULL;
	struct pprof_labels labels = { .age = -1 };
	bool zero = true;
	uint64_t n;
	uint32_t i, skip;
	int64_t id;

	if (c->sign < 0) {
		/* Second pass of a delta: only the base's stacks the newer snapshot lacks. */
		if (snapshot__find(c->snap, frames, depth))
			return 0;
	} else if (c->base) {
		old = snapshot__find(c->base, frames, depth);
	} else {
		/* A delta is not split by age: its blocks' buckets differ at its two ends. */
		ages = snapshot__ages(c->snap, frames, depth);
	}
	stack_values(v, c->rate, values, raw);
	for (i = 0; i < PPROF_NR_VALUES; i++) {
		values[i] *= c->sign;
		raw[i] *= c->sign;
	}
	if (old) {
		/* As net/http/pprof: the difference of the two unbiased profiles. */
		int64_t ov[PPROF_NR_VALUES], orw[PPROF_NR_VALUES];

		stack_values(old, c->rate, ov, orw);
		for (i = 0; i < PPROF_NR_VALUES; i++) {
			values[i] -= ov[i];
			raw[i] -= orw[i];
		}
	}
	for (i = 0; i < PPROF_NR_VALUES; i++)
		zero = zero && !values[i] && !raw[i];
	if (c->base && zero)
		return 0; /* nothing happened on this stack in the window */

	skip = first_frame(c, frames, depth);
	for (i = skip; i < depth; i++) {
		id = location_id(c, frames[i]);
		if (id < 0) {
			c->err = (int)id;
			return 1;
		}
		locs[i - skip] = (uint64_t)id;
	}
	c->sum->stacks++;
	if (ages) {
		c->err = emit_by_age(c, locs, depth - skip, v, ages);
		return c->err ? 1 : 0;
	}
	/* The average block size, inherited blocks (a forked child's) included. */
	n = v->alloc_objects + v->inherited_objects;
	labels.bytes = n ? (int64_t)((v->alloc_bytes + v->inherited_bytes) / n) : 0;
	/* What the values rest on: the live blocks, or with none the allocated ones. */
	labels.samples =
	    raw[PPROF_INUSE_OBJECTS] ? raw[PPROF_INUSE_OBJECTS] : raw[PPROF_ALLOC_OBJECTS];
	if (labels.samples < 0)
		labels.samples = -labels.samples; /* a delta's: how many blocks went */
	c->err = emit_sample(c, locs, depth - skip, values, raw, &labels);
	return c->err ? 1 : 0;
}

/* The process's resident anonymous memory now, else as last read; -1 when never read. */
static int64_t rss_anon(struct process *p)
{
	int64_t v;

	if (p->alive && procfs__status_bytes(p->pid, "RssAnon", &v) == 0) {
		p->rss_anon = (uint64_t)v;
		p->rss_known = true;
	}
	return p->rss_known ? (int64_t)p->rss_anon : -1;
}

/*
 * The in-use estimate with its uncertainty, beside what the kernel says is
 * resident: the two differ by what the allocator holds but the program
 * freed (retention, fragmentation), memory not from malloc (mmap, thread
 * stacks) and, the other way, blocks allocated but never touched.
 */
static int add_estimate_comment(struct build_ctx *c)
{
	char comment[256], est[96], rss[32];

	estimate__format(c->sum->inuse_bytes, c->sum->inuse_samples, c->rate, est, sizeof(est));
	if (c->sum->rss_anon < 0)
		snprintf(comment, sizeof(comment), "inuse estimate %s; RssAnon unknown", est);
	else {
		statusline__format_bytes(c->sum->rss_anon, rss, sizeof(rss));
		snprintf(comment, sizeof(comment),
			 "inuse estimate %s; RssAnon %s (resident anonymous memory: also "
			 "allocator retention and fragmentation, and memory not from malloc)",
			 est, rss);
	}
	return pprof__add_comment(c->b, comment);
}

static int add_comments(struct build_ctx *c, const struct profile_request *r)
{
	char comment[512], name[320];
	int err;

	snprintf(comment, sizeof(comment),
		 "heaptrace %s: pid %d (%s), sample rate %" PRIu64 ", %" PRIu64 " samples, %" PRIu64
		 " lost",
		 HEAPTRACE_VERSION, r->proc->pid,
		 procname__describe(r->proc->comm, r->proc->exe, name, sizeof(name)), c->rate,
		 c->sum->samples, c->sum->lost);
	if (r->proc->at_probe)
		strncat(comment, ", sampled in the process (otel_memory USDT)",
			sizeof(comment) - strlen(comment) - 1);
	err = pprof__add_comment(c->b, comment);
	if (!err && !r->base)
		err = add_estimate_comment(c);
	if (!err && r->note && r->note[0])
		err = pprof__add_comment(c->b, r->note);
	if (!err && r->children && r->children[0])
		err = pprof__add_comment(c->b, r->children);
	if (!err && r->memcg_note)
		err = pprof__add_comment(c->b, r->memcg_note);
	if (!err && r->opts->alloc_only)
		err = pprof__add_comment(c->b, "alloc-only: free is not traced (--alloc-only), so "
					       "the inuse sample types are zero");
	return err;
}

/* The rate a process's samples are unbiased for. */
static uint64_t sampling_rate(const struct profile_request *r)
{
	struct ht_target counters = {};

	/* Samples an in-process sampler chose are unbiased for its rate, told by their weights. */
	if (r->proc->at_probe && loader__target_stats(r->loader, r->proc->pid, &counters) == 0 &&
	    counters.usdt_size)
		return unbias__rate_of(counters.usdt_size, counters.usdt_weight);
	return r->opts->sample_rate;
}

/* The counters profile__build sums, of every stack. */
static void add_counters(struct profile_summary *sum, const struct profile_request *r)
{
	struct ht_target counters = {};

	if (loader__target_stats(r->loader, r->proc->pid, &counters) == 0) {
		sum->samples = counters.samples;
		sum->lost = profile__lost(&counters);
	}
	sum->lost += process__lost(r->proc);
}

struct totals_ctx {
	uint64_t rate;
	struct profile_summary *sum;
};

static int add_totals(const struct ht_agg_val *v, const uint64_t *frames, uint32_t depth, void *arg)
{
	struct totals_ctx *t = arg;
	int64_t values[PPROF_NR_VALUES], raw[PPROF_NR_VALUES];

	(void)frames;
	(void)depth;
	stack_values(v, t->rate, values, raw);
	t->sum->alloc_objects += values[PPROF_ALLOC_OBJECTS];
	t->sum->alloc_bytes += values[PPROF_ALLOC_SPACE];
	t->sum->inuse_objects += values[PPROF_INUSE_OBJECTS];
	t->sum->inuse_bytes += values[PPROF_INUSE_SPACE];
	t->sum->stacks++;
	return 0;
}

int profile__totals(const struct profile_request *r, struct profile_summary *sum)
{
	struct totals_ctx t = { .rate = sampling_rate(r), .sum = sum };
	int err;

	memset(sum, 0, sizeof(*sum));
	if (r->base)
		return -EINVAL;
	err = snapshot__for_each(r->snap, add_totals, &t);
	if (err < 0)
		return err;
	add_counters(sum, r);
	return 0;
}

int profile__build(const struct profile_request *r, struct profile_summary *sum,
		   struct pprof_builder **out)
{
	struct build_ctx c = { .s = r->symbolizer,
			       .p = r->proc,
			       .rate = r->opts->sample_rate,
			       .sum = sum,
			       .snap = r->snap,
			       .base = r->base,
			       .sign = 1,
			       .wrappers = r->opts->wrappers };
	int err;

	memset(sum, 0, sizeof(*sum));
	sum->rss_anon = rss_anon(r->proc);
	c.rate = sampling_rate(r);
	sum->rate = c.rate;
	c.b = pprof__new((int64_t)c.rate, r->time_ns, r->duration_ns);
	c.mapping_ids = calloc(c.p->maps->nr ? c.p->maps->nr : 1, sizeof(*c.mapping_ids));
	if (!c.b || !c.mapping_ids) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* pprof takes the first mapping for the main binary: put the executable first. */
	if (c.p->maps->nr) {
		const struct procmap *exe = main_binary(c.p->maps);

		if (exe && mapping_id(&c, exe) < 0) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	err = snapshot__for_each(r->snap, add_stack, &c);
	if (!err && !c.err && r->base) {
		c.sign = -1;
		err = snapshot__for_each(r->base, add_stack, &c);
	}
	if (err < 0 || c.err) {
		err = c.err ? c.err : err;
		goto cleanup;
	}
	add_counters(sum, r);
	err = add_comments(&c, r);
	if (!err && r->default_alloc)
		err = pprof__set_default_sample_type(c.b, PPROF_ALLOC_SPACE);
	if (err)
		goto cleanup;
	*out = c.b;
	c.b = NULL;
cleanup:
	free(c.mapping_ids);
	pprof__free(c.b);
	return err;
}

int profile__snapshot(struct loader *l, struct process *p, struct heap_snapshot **out)
{
	if (p->alive)
		process__refresh_maps(p);
	return snapshot__take(l, p->pid, p->store, out);
}
