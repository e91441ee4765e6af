// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "output/dump.h"
#include "util/log.h"
#include "output/pprof.h"
#include "collect/snapshot.h"
#include "output/unbias.h"

#define MAX_INLINE_FRAMES 16

struct dump_ctx {
	struct pprof_builder *b;
	struct symbolizer *s;
	struct dump_target *t;
	uint64_t rate;
	int64_t *mapping_ids; /* per snapshot entry; 0 = not added yet */
	bool maps_reloaded;
	struct dump_summary *sum;
	const struct heap_snapshot *snap; /* the profile's data */
	const struct heap_snapshot *base; /* subtracted from it, or NULL */
	int64_t sign;			  /* -1 while adding the base's own stacks */
	int err;
};

uint64_t dump__lost(const struct ht_target *c)
{
	return c->lost_live_full + c->lost_stack_full + c->lost_agg_full + c->lost_inflight +
	       c->stack_errors + c->lost_events + c->lost_inherited;
}

/* Re-reads the maps once per dump when an address falls outside the snapshot (dlopen). */
static int reload_maps(struct dump_ctx *c)
{
	struct procmaps *fresh;
	int64_t *ids;

	if (c->maps_reloaded || !c->t->alive)
		return -ENOENT;
	c->maps_reloaded = true;
	if (procmaps__load(c->t->pid, &fresh))
		return -ENOENT;
	ids = calloc(fresh->nr ? fresh->nr : 1, sizeof(*ids));
	if (!ids) {
		procmaps__free(fresh);
		return -ENOMEM;
	}
	procmaps__free(c->t->maps);
	c->t->maps = fresh;
	free(c->mapping_ids);
	c->mapping_ids = ids;
	return 0;
}

static int64_t mapping_id(struct dump_ctx *c, const struct procmap *m)
{
	size_t idx = (size_t)(m - c->t->maps->maps);
	struct sym_object_info info = {};
	struct pprof_mapping_info mi = {};
	int64_t id;

	if (c->mapping_ids[idx])
		return c->mapping_ids[idx];
	symbolizer__object(c->s, c->t->pid, m, &info);
	mi.start = m->start;
	mi.limit = m->end;
	mi.offset = m->offset;
	mi.file = m->path;
	mi.build_id = info.build_id;
	mi.has_functions = info.has_symbols;
	mi.has_filenames = info.has_dwarf;
	mi.has_line_numbers = info.has_dwarf;
	mi.has_inline_frames = info.has_dwarf;
	id = pprof__add_mapping(c->b, &mi);
	if (id > 0)
		c->mapping_ids[idx] = id;
	return id;
}

static int64_t location_id(struct dump_ctx *c, uint64_t addr)
{
	struct sym_frame sf[MAX_INLINE_FRAMES];
	struct pprof_frame pf[MAX_INLINE_FRAMES];
	const struct procmap *m;
	int64_t mid;
	int n, i;

	if (addr == HT_FRAME_TRUNCATED) {
		/* Marks a stack cut at the depth limit: shown as a frame of its own. */
		pf[0] = (struct pprof_frame){.function = "[truncated]"};
		return pprof__add_location(c->b, 0, 0, pf, 1);
	}
	m = procmaps__find(c->t->maps, addr);
	if (!m && reload_maps(c) == 0)
		m = procmaps__find(c->t->maps, addr);
	if (!m)
		return pprof__add_location(c->b, addr, 0, NULL, 0);
	mid = mapping_id(c, m);
	if (mid < 0)
		return mid;
	/* Symbolize each address once per profile: stacks share most frames. */
	if ((n = (int)pprof__find_location(c->b, addr, (uint64_t)mid)) > 0)
		return n;
	/* Every frame is a return address: the call is the instruction before it. */
	n = symbolizer__resolve(c->s, c->t->pid, m, addr - 1, sf, MAX_INLINE_FRAMES);
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

	unbias__scale(v->alloc_objects, v->alloc_bytes, rate, &values[0], &values[1]);
	unbias__scale(inuse_objects, inuse_bytes, rate, &values[2], &values[3]);
	raw[0] = (int64_t)v->alloc_objects;
	raw[1] = (int64_t)v->alloc_bytes;
	raw[2] = (int64_t)inuse_objects;
	raw[3] = (int64_t)inuse_bytes;
}

static int add_stack(const struct ht_agg_val *v, const uint64_t *frames, uint32_t depth, void *ctx)
{
	struct dump_ctx *c = ctx;
	uint64_t locs[HT_MAX_STACK_DEPTH];
	int64_t values[PPROF_NR_VALUES], raw[PPROF_NR_VALUES];
	const struct ht_agg_val *old = NULL;
	bool zero = true;
	uint64_t n;
	uint32_t i;
	int64_t id;

	if (c->sign < 0) {
		/* Second pass of a delta: only the base's stacks the newer snapshot lacks. */
		if (snapshot__find(c->snap, frames, depth))
			return 0;
	} else if (c->base) {
		old = snapshot__find(c->base, frames, depth);
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

	for (i = 0; i < depth; i++) {
		id = location_id(c, frames[i]);
		if (id < 0) {
			c->err = (int)id;
			return 1;
		}
		locs[i] = (uint64_t)id;
	}
	/* The average block size, inherited blocks (a forked child's) included. */
	n = v->alloc_objects + v->inherited_objects;
	c->err =
	    pprof__add_sample_raw(c->b, locs, depth, values, raw,
				  n ? (int64_t)((v->alloc_bytes + v->inherited_bytes) / n) : 0);
	if (c->err)
		return 1;
	c->sum->alloc_objects += values[0];
	c->sum->alloc_bytes += values[1];
	c->sum->inuse_objects += values[2];
	c->sum->inuse_bytes += values[3];
	c->sum->stacks++;
	return 0;
}

static void profile_path(const struct dump_opts *o, const struct dump_target *t,
			 const struct timespec *now, char *path, size_t len)
{
	char comm[64], stamp[32];
	struct tm tm;
	size_t i;

	/* The name must stay one path component and easy to glob. */
	snprintf(comm, sizeof(comm), "%s", t->comm && *t->comm ? t->comm : "unknown");
	for (i = 0; comm[i]; i++)
		if (comm[i] == '/' || comm[i] == ' ' || comm[i] == '.' ||
		    (unsigned char)comm[i] < 32)
			comm[i] = '_';
	gmtime_r(&now->tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
	if (o->subsecond_names)
		snprintf(path, len, "%s/%s.%d.%s.%03ldZ.heap.pb.gz", o->output_dir, comm, t->pid,
			 stamp, now->tv_nsec / 1000000);
	else
		snprintf(path, len, "%s/%s.%d.%sZ.heap.pb.gz", o->output_dir, comm, t->pid, stamp);
}

int dump__build(struct loader *l, struct symbolizer *s, uint64_t rate, struct dump_target *t,
		const struct heap_snapshot *snap, const struct heap_snapshot *base, int64_t time_ns,
		int64_t duration_ns, struct dump_summary *sum, struct pprof_builder **out)
{
	struct dump_ctx c = {
	    .s = s, .t = t, .rate = rate, .sum = sum, .snap = snap, .base = base, .sign = 1};
	struct ht_target counters = {};
	char comment[256];
	int err;

	memset(sum, 0, sizeof(*sum));
	c.b = pprof__new((int64_t)rate, time_ns, duration_ns);
	c.mapping_ids = calloc(t->maps->nr ? t->maps->nr : 1, sizeof(*c.mapping_ids));
	if (!c.b || !c.mapping_ids) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* pprof takes the first mapping for the main binary: put the executable first. */
	if (t->maps->nr) {
		const struct procmap *exe = main_binary(t->maps);

		if (exe && mapping_id(&c, exe) < 0) {
			err = -ENOMEM;
			goto cleanup;
		}
	}
	err = snapshot__for_each(snap, add_stack, &c);
	if (!err && !c.err && base) {
		c.sign = -1;
		err = snapshot__for_each(base, add_stack, &c);
	}
	if (err < 0 || c.err) {
		err = c.err ? c.err : err;
		goto cleanup;
	}
	if (loader__target_stats(l, t->pid, &counters) == 0) {
		sum->samples = counters.samples;
		sum->lost = dump__lost(&counters);
	}
	if (t->store)
		sum->lost += samples__lost(t->store);
	snprintf(comment, sizeof(comment),
		 "heaptrace %s: pid %d (%s), sample rate %" PRIu64 ", %" PRIu64 " samples, %" PRIu64
		 " lost",
		 HEAPTRACE_VERSION, t->pid, t->comm, rate, sum->samples, sum->lost);
	err = pprof__add_comment(c.b, comment);
	if (!err && t->note[0])
		err = pprof__add_comment(c.b, t->note);
	if (err)
		goto cleanup;
	*out = c.b;
	c.b = NULL;
cleanup:
	free(c.mapping_ids);
	pprof__free(c.b);
	return err;
}

int dump__write(struct loader *l, struct symbolizer *s, const struct dump_opts *o,
		struct dump_target *t, struct dump_summary *sum, char *path, size_t path_len)
{
	struct heap_snapshot *snap = NULL;
	struct pprof_builder *b = NULL;
	struct timespec now, t0, t1;
	int64_t now_ns;
	int err;

	memset(sum, 0, sizeof(*sum));
	clock_gettime(CLOCK_MONOTONIC, &t0); /* for -v: what one dump costs (bench/run.sh dump) */
	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	err = snapshot__take(l, t->pid, t->store, &snap);
	if (err)
		goto cleanup;
	err = dump__build(l, s, o->sample_rate, t, snap, NULL, now_ns,
			  now_ns - (int64_t)t->start_realtime_ns, sum, &b);
	if (err)
		goto cleanup;
	if (o->alloc_only) {
		err = pprof__add_comment(b, "alloc-only: free is not traced (--alloc-only), so the "
					    "inuse sample types are zero");
		if (err)
			goto cleanup;
	}
	profile_path(o, t, &now, path, path_len);
	/*
	 * Two dumps within one tick of the name's clock (a final dump right
	 * after a periodic one) would share a name: wait for the next tick
	 * rather than replace a profile someone may be diffing against.
	 */
	while (access(path, F_OK) == 0) {
		struct timespec tick = {0, o->subsecond_names ? 1000000 : 1000000000 - now.tv_nsec};

		nanosleep(&tick, NULL);
		clock_gettime(CLOCK_REALTIME, &now);
		profile_path(o, t, &now, path, path_len);
	}
	err = pprof__write_gz(b, path);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	log_debug("dump of pid %d: %" PRIu64 " stacks in %.3f s", t->pid, sum->stacks,
		  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
cleanup:
	pprof__free(b);
	snapshot__free(snap);
	return err;
}
