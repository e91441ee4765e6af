// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_memcg.c - dying and near-dying: a target's memory cgroup watched
 * for its limit (--oom-threshold), and the OOM killer's choice said in the
 * target's final profile and status line.
 *
 * The kernel charges a cgroup for all its processes' memory, heap or not,
 * and kills one of them at the limit. A profile taken there, while the
 * process lives, holds what grew; its final profile (written when the
 * process is gone, from the data already read) says that it was killed.
 */
#include <inttypes.h>
#include <stdio.h>

#include "core/tracer_int.h"
#include "output/statusline.h"
#include "util/log.h"

/* Below the threshold by this much (millionths of the limit) re-arms a target. */
#define MEMCG_REARM_PPM 20000u

static bool memcg_of(struct target *t)
{
	if (!t->memcg_tried && t->proc.alive) {
		t->memcg_tried = true;
		t->has_memcg = memcg__of(t->proc.pid, &t->memcg) == 0;
	}
	return t->has_memcg;
}

/* usage / limit in millionths; 0 for an unlimited cgroup. */
static uint64_t share_ppm(const struct memcg_usage *u)
{
	if (u->limit == UINT64_MAX || !u->limit)
		return 0;
	return (uint64_t)((double)u->usage * 1e6 / (double)u->limit);
}

void tracer__check_memcgs(struct tracer *tr)
{
	uint64_t threshold = tr->env->oom_threshold;
	bool consumed = false;
	size_t i;

	for (i = 0; i < tr->targets.nr && !tr->write_failed; i++) {
		struct target *t = tr->targets.items[i];
		struct memcg_usage u;
		uint64_t ppm;

		if (!memcg_of(t) || t->memcg_unlimited || memcg__read(&t->memcg, &u))
			continue;
		/* Most processes have no limit: system-wide, that is a read per interval each. */
		t->memcg_unlimited = u.limit == UINT64_MAX;
		ppm = share_ppm(&u);
		if (ppm + MEMCG_REARM_PPM < threshold)
			t->near_limit = false;
		if (!ppm || ppm < threshold || t->near_limit)
			continue;
		t->near_limit = true;
		t->near_usage = u;
		if (!consumed)
			loader__consume_events(tr->loader);
		consumed = true;
		t->near_dump = true;
		if (tracer__dump(tr, i, false))
			tr->exit_code = 1;
		t->near_dump = false;
	}
}

static void say_usage(const struct target *t, const struct memcg_usage *u, char *buf, size_t len)
{
	char usage[32], limit[32], peak[32];

	statusline__format_bytes((int64_t)u->usage, usage, sizeof(usage));
	if (u->limit == UINT64_MAX)
		snprintf(limit, sizeof(limit), "none");
	else
		statusline__format_bytes((int64_t)u->limit, limit, sizeof(limit));
	statusline__format_bytes((int64_t)u->peak, peak, sizeof(peak));
	snprintf(buf, len, "memory cgroup %s (cgroup v%d): limit %s, usage %s%s%s", t->memcg.dir,
		 t->memcg.version, limit, usage, u->peak ? ", peak " : "", u->peak ? peak : "");
}

const char *tracer__memcg_note(struct tracer *tr, struct target *t, bool final, char *buf,
			       size_t len)
{
	struct memcg_usage u = {};
	struct ht_target c;
	char what[PATH_MAX + 256];

	memcg_of(t);
	t->memcg_unlimited = false;
	if (final && !loader__target_stats(tr->loader, t->proc.pid, &c) && c.oom_victim_ns) {
		if (t->has_memcg && !memcg__read(&t->memcg, &u))
			say_usage(t, &u, what, sizeof(what));
		else
			snprintf(what, sizeof(what), "its memory cgroup unknown");
		snprintf(buf, len, "oom-killed: the kernel's OOM killer chose this process; %s",
			 what);
		return buf;
	}
	if (t->near_dump) {
		say_usage(t, &t->near_usage, what, sizeof(what));
		snprintf(buf, len,
			 "near-oom: %.0f%% of the memory cgroup's limit, over --oom-threshold "
			 "%.0f%%; %s",
			 (double)share_ppm(&t->near_usage) / 1e4,
			 (double)tr->env->oom_threshold / 1e4, what);
		return buf;
	}
	return NULL;
}
