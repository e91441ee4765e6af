// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_dump.c - each target's profiles, built once and handed to the
 * sinks, its end, and the losses no single process owns.
 */
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "core/tracer_int.h"
#include "output/pprof.h"
#include "util/clock.h"
#include "util/log.h"

/* In system-wide mode a process whose counters did not move since its last profile gets none. */
static bool idle_since_last(struct tracer *tr, struct target *t)
{
	struct ht_target c;

	if (!tr->env->system_wide || loader__target_stats(tr->loader, t->proc.pid, &c))
		return false;
	if (c.samples == t->last_samples && c.frees_tracked == t->last_frees &&
	    t->proc.events == t->last_events)
		return true;
	t->last_samples = c.samples;
	t->last_frees = c.frees_tracked;
	t->last_events = t->proc.events;
	return false;
}

/*
 * Events lost to a full ring are counted in the status line; the first
 * time, also what to do about it, since only a restart with another
 * --ring-size (or a sparser --sample-rate) helps.
 */
static void warn_ring_overflow(struct tracer *tr, struct target *t, uint64_t lost)
{
	uint32_t size = env__ring_size(tr->env);

	if (!lost || t->ring_warned || tr->env->unwind == ENV_UNWIND_FP)
		return;
	t->ring_warned = true;
	log_warn("pid %d (%s): %" PRIu64 " events did not fit the %u MiB event ring (counted as "
		 "lost): give --ring-size %um, or a larger --sample-rate",
		 t->proc.pid, t->proc.comm, lost, size >> 20,
		 size >= (512u << 20) ? 1024u : (size >> 20) * 4);
}

/* Builds target t's profile now and hands it to the sinks. */
static int write_profile(struct tracer *tr, struct target *t, bool final,
			 struct profile_summary *sum)
{
	int64_t now = (int64_t)clock__real_ns();
	struct profile_request r = {
		.loader = tr->loader,
		.symbolizer = tr->symbolizer,
		.opts = &tr->popts,
		.proc = &t->proc,
		.note = strbuf__str(&t->note),
		.time_ns = now,
		.duration_ns = now - (int64_t)t->proc.start_realtime_ns,
	};
	struct heap_snapshot *snap = NULL;
	struct profile_output out = {
		.proc = &t->proc, .sum = sum, .time_ns = now, .final = final
	};
	char off[160], suspect[160] = "", memcg[PATH_MAX + 512], children[112];
	struct ht_target c;
	int err;

	r.memcg_note = out.memcg_note = tracer__memcg_note(tr, t, final, memcg, sizeof(memcg));

	/*
	 * Said once a child was forked, and from then on in every profile of the
	 * parent. The forks are the kernel's count, so a child whose event the
	 * daemon has not handled yet (it lags in a storm) is among the missed:
	 * followed + missed is always what the parent forked.
	 */
	if (tr->env->follow_forks && !loader__target_stats(tr->loader, t->proc.pid, &c) &&
	    c.forks) {
		uint64_t followed = t->children_followed < c.forks ? t->children_followed : c.forks;

		snprintf(children, sizeof(children),
			 "children: %" PRIu64 " followed, %" PRIu64
			 " missed (ended before their probes were attached)",
			 followed, (uint64_t)c.forks - followed);
		r.children = out.children = children;
		/* Misses the daemon never handled (events it had not read yet) are said here. */
		if (c.forks > followed && !t->children_warned) {
			t->children_warned = true;
			log_warn(
			    "pid %d (%s): a child ended before its probes were attached: such "
			    "children are counted as missed (status line, profile comment), not "
			    "said again",
			    t->proc.pid, t->proc.comm);
		}
	}
	err = profile__snapshot(tr->loader, &t->proc, &snap);
	/* The high since the last profile comes first, so that file names sort in time. */
	if (!err && tr->env->peak && tracer__write_peak(tr, t, snap))
		tr->write_failed = true;
	if (!err) {
		r.snap = snap;
		err = profile__build(&r, sum, &out.profile);
	}
	if (err) {
		log_error("cannot build the profile of pid %d (%s): %s", t->proc.pid, t->proc.comm,
			  strerror(-err));
		goto cleanup;
	}
	out.probes_off = tracer__probes_off(tr, t, off, sizeof(off));
	/* Before the sinks: the profile carries its suspects as comments. */
	if (leakwatch__observe(tr->leaks, &t->proc, out.profile, suspect, sizeof(suspect)))
		log_debug("pid %d: no leak analysis of this profile: out of memory", t->proc.pid);
	out.leak_suspect = suspect;
	err = sinks__write(tr->sinks, &out);
	if (final)
		leakwatch__forget(tr->leaks, &t->proc);
cleanup:
	pprof__free(out.profile);
	snapshot__free(snap);
	return err;
}

/*
 * Writes a profile for target `idx` (the sinks say the status line). The
 * caller has handled the events waiting in the ring buffer (once for a
 * whole round of profiles: each pass over the ring may take its whole time
 * budget).
 */
int tracer__dump(struct tracer *tr, size_t idx, bool final)
{
	struct target *t = tr->targets.items[idx];
	uint64_t t0 = clock__mono_ns();
	struct profile_summary sum;
	struct ht_target c;
	int err;

	if (idle_since_last(tr, t))
		return 0;
	err = write_profile(tr, t, final, &sum);
	if (err) {
		tr->write_failed = true;
		return err;
	}
	/* For -v: what one dump costs (bench/run.sh dump). */
	log_debug("dump of pid %d: %" PRIu64 " stacks in %.3f s", t->proc.pid, sum.stacks,
		  (double)(clock__mono_ns() - t0) / 1e9);
	/* Calls nested in another (operator new's malloc) count once: tests check that here. */
	if (!loader__target_stats(tr->loader, t->proc.pid, &c))
		log_debug("pid %d: %llu allocation calls seen, %llu tracked blocks freed",
			  t->proc.pid, (unsigned long long)c.calls,
			  (unsigned long long)c.frees_tracked);
	t->dumps++;
	if (!loader__target_stats(tr->loader, t->proc.pid, &c))
		warn_ring_overflow(tr, t, c.lost_events);
	return 0;
}

/*
 * Final profile of a target, then forget it. After a profile that could not
 * be built (out of memory) no more are attempted: the error was said once.
 * A disk that refuses profiles is no such failure: the file sink queues
 * them and says so (output/filesink.h). The BPF data of a process that exited
 * is deleted in batches (loader__purge); after an exec at once, since the
 * same PID is traced again right away.
 */
void tracer__finish(struct tracer *tr, size_t idx, bool exec)
{
	struct target *t = tr->targets.items[idx];
	pid_t pid = t->proc.pid;

	if (!tr->write_failed && tracer__dump(tr, idx, true))
		tr->exit_code = 1;
	if (exec)
		loader__remove_target(tr->loader, pid);
	else
		loader__retire_target(tr->loader, pid);
	if (t->pidfd >= 0)
		evloop__remove_fd(tr->loop, t->pidfd);
	targets__remove(&tr->targets, idx);
}

/* Targets that exited: their maps snapshot still symbolizes them. */
void tracer__finish_exited(struct tracer *tr)
{
	size_t i;

	for (i = 0; i < tr->targets.nr && !target__exited(tr->targets.items[i]); i++)
		;
	if (i == tr->targets.nr)
		return;
	/* Their last events, before they are forgotten. */
	loader__drain_events(tr->loader, LOADER_DRAIN_BUDGET_NS);
	for (i = tr->targets.nr; i-- > 0;) {
		struct target *t = tr->targets.items[i];

		if (!target__exited(t))
			continue;
		t->proc.alive = false;
		log_lifecycle(tr, "pid %d (%s) exited", t->proc.pid, t->proc.comm);
		tracer__finish(tr, i, false);
	}
}

/* Every interval: one pass over the ring, then a profile of every target. */
void tracer__dump_all(struct tracer *tr)
{
	size_t i;
	int err = 0;

	loader__purge(tr->loader);
	if (tr->sysscan)
		tracer__sweep_system(tr);
	else if (tr->filtered)
		err = tracer__sweep_filtered(tr);
	if (err < 0)
		log_warn("cannot scan /proc for processes the filters want: %s", strerror(-err));
	loader__consume_events(tr->loader);
	loader__cache_aggs(tr->loader, tr->targets.nr > 1);
	for (i = 0; i < tr->targets.nr && !tr->write_failed; i++)
		if (tracer__dump(tr, i, false))
			tr->exit_code = 1;
	loader__cache_aggs(tr->loader, false);
	/* Building profiles frees far more than it keeps: hand the freed pages
	 * back, or the allocator's arenas keep the peak of every dump resident. */
	malloc_trim(0);
	tracer__report_global(tr);
	if (tr->exit_code)
		evloop__stop(tr->loop);
}

/* Losses no single process owns, said when they grow. */
void tracer__report_global(struct tracer *tr)
{
	struct ht_global_stats g;

	if (loader__global_stats(tr->loader, &g))
		return;
	log_debug("host-wide: %llu processes refused (map full), %llu process events lost, %llu "
		  "calls of exited or exec'ed processes ignored",
		  (unsigned long long)g.targets_full, (unsigned long long)g.lost_proc_events,
		  (unsigned long long)g.dropped_frozen);
	if (g.targets_full + tr->table_full > tr->reported.targets_full + tr->reported_table_full)
		log_info("%" PRIu64 " processes not traced: --max-processes %u are traced",
			 (uint64_t)(g.targets_full + tr->table_full), tr->env->max_processes);
	if (g.lost_proc_events > tr->reported.lost_proc_events)
		log_info("%" PRIu64 " process events lost (ring buffer full): recovered at the "
			 "next interval",
			 (uint64_t)g.lost_proc_events);
	tr->reported = g;
	tr->reported_table_full = tr->table_full;
}
