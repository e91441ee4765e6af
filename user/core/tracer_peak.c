// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_peak.c - --peak: a profile of each new high of a target's sampled
 * in-use, at most one per interval, as heapprofd's dump_at_max keeps the
 * state at the high. Every PEAK_CHECK_NS each target's counters are copied
 * (a snapshot: a walk of its stacks, no symbolization) and summed; a sum
 * above every one seen before (checks and periodic profiles alike) keeps
 * its snapshot. At the next periodic profile, the kept snapshot is written
 * first, named COMM.PID.TIME.peak.heap.pb.gz with the time of the high,
 * unless the periodic profile itself holds as much: then it is the high,
 * and a second file would say nothing new.
 */
#include <errno.h>
#include <string.h>

#include "core/tracer_int.h"
#include "output/pprof.h"
#include "output/statusline.h"
#include "util/clock.h"
#include "util/log.h"

static int add_inuse(const struct ht_agg_val *v, const uint64_t *frames, uint32_t depth, void *ctx)
{
	(void)frames;
	(void)depth;
	*(uint64_t *)ctx += snapshot__inuse_bytes(v);
	return 0;
}

/* The raw sampled bytes in use: what the high is judged on (scale-free, no unbiasing). */
static uint64_t sampled_inuse(const struct heap_snapshot *s)
{
	uint64_t sum = 0;

	snapshot__for_each(s, add_inuse, &sum);
	return sum;
}

void tracer__check_peaks(struct tracer *tr)
{
	size_t i;

	for (i = 0; i < tr->targets.nr; i++) {
		struct target *t = tr->targets.items[i];
		struct heap_snapshot *snap = NULL;
		uint64_t sum;

		if (snapshot__take(tr->loader, t->proc.pid, t->proc.store, &snap))
			continue; /* the next check, or the periodic profile, will say more */
		sum = sampled_inuse(snap);
		if (sum > t->peak_high) {
			snapshot__free(t->peak_snap);
			t->peak_snap = snap;
			t->peak_high = sum;
			t->peak_time_ns = (int64_t)clock__real_ns();
		} else {
			snapshot__free(snap);
		}
	}
}

/* Builds the kept snapshot's profile and hands it to the sinks as a peak. */
static int write_peak(struct tracer *tr, struct target *t)
{
	struct profile_request r = {
		.loader = tr->loader,
		.symbolizer = tr->symbolizer,
		.opts = &tr->popts,
		.proc = &t->proc,
		.note = strbuf__str(&t->note),
		.snap = t->peak_snap,
		.time_ns = t->peak_time_ns,
		.duration_ns = t->peak_time_ns - (int64_t)t->proc.start_realtime_ns,
	};
	struct profile_summary sum;
	struct profile_output out = {
		.proc = &t->proc, .sum = &sum, .time_ns = t->peak_time_ns, .peak = true
	};
	char inuse[32];
	int err;

	err = profile__build(&r, &sum, &out.profile);
	if (!err)
		err = pprof__add_comment(
		    out.profile, "heaptrace peak: the highest sampled in-use of the process "
				 "so far, between two periodic profiles (--peak)");
	if (err) {
		/* Not fatal: the periodic profiles go on. */
		log_warn("cannot build the peak profile of pid %d (%s): %s", t->proc.pid,
			 t->proc.comm, strerror(-err));
		err = 0;
		goto cleanup;
	}
	err = sinks__write(tr->sinks, &out); /* a sink that fails has said why */
	if (err)
		goto cleanup;
	statusline__format_bytes(sum.inuse_bytes, inuse, sizeof(inuse));
	log_info("pid %d (%s): peak profile written: inuse %s, a new high between two profiles",
		 t->proc.pid, t->proc.comm, inuse);
cleanup:
	pprof__free(out.profile);
	return err;
}

int tracer__write_peak(struct tracer *tr, struct target *t, const struct heap_snapshot *now)
{
	uint64_t sum = sampled_inuse(now);
	int err = 0;

	if (t->peak_snap && t->peak_high > sum)
		err = write_peak(tr, t);
	if (sum > t->peak_high)
		t->peak_high = sum;
	snapshot__free(t->peak_snap);
	t->peak_snap = NULL;
	return err;
}
