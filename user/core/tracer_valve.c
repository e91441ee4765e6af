// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_valve.c - the safety valve (--max-overhead, --max-call-rate)
 * carried out: its budget set at start-up, probes taken off a target that
 * calls the allocator too often, put back after the cooling period, and
 * said on stderr, in the status line and in the profiles.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "collect/calibrate.h"
#include "core/tracer_int.h"
#include "util/clock.h"
#include "util/log.h"

/*
 * The traps one allocation call costs: its entry and its free (none with
 * --alloc-only), and its return probe where uprobe sessions are not used.
 */
static unsigned int traps_per_call(const struct tracer *tr)
{
	return 1 + !tr->env->alloc_only + (loader__session_status(tr->loader) <= 0);
}

/*
 * The budget: --max-call-rate as given, else --max-overhead's share of a
 * core over what one call's traps cost here (timed now, in this process).
 */
void tracer__setup_valve(struct tracer *tr)
{
	const struct env *env = tr->env;
	double trap_ns = CALIBRATE_FALLBACK_TRAP_NS;
	unsigned int traps = traps_per_call(tr);
	uint64_t t0;
	int err;

	if (env->max_call_rate) {
		tr->valve_rate = env->max_call_rate;
		if (env__given(env, "max-overhead"))
			log_warn("both --max-call-rate and --max-overhead given: the budget is "
				 "--max-call-rate %" PRIu64 "; give only one of them",
				 env->max_call_rate);
		return;
	}
	if (!env->max_overhead)
		return;
	t0 = clock__mono_ns();
	err = calibrate__trap_ns(tr->loader, &trap_ns);
	if (err)
		log_debug("safety valve: cannot time a uprobe trap here (%s): assuming %.2f us",
			  strerror(-err), trap_ns / 1e3);
	else
		log_debug("safety valve: one uprobe trap takes %.2f us here (measured in %.1f ms)",
			  trap_ns / 1e3, (double)(clock__mono_ns() - t0) / 1e6);
	tr->valve_ppm = env->max_overhead;
	tr->valve_rate = valve__budget_rate(tr->valve_ppm, trap_ns * traps);
	log_debug("safety valve: --max-overhead %g%% is %" PRIu64
		  " allocation calls/s per target (%u traps a call)",
		  tr->valve_ppm / 1e4, tr->valve_rate, traps);
}

/* A valve with the run's budget, from `now`. */
static void valve_start(const struct tracer *tr, struct valve *v, uint64_t now)
{
	valve__init(v, tr->valve_rate, tr->env->cool_down_ns, now);
	v->overhead_ppm = tr->valve_ppm;
}

/* The warning when a valve trips, naming the budget as it was given. */
static void say_detach(const struct valve *v, const char *what)
{
	char budget[96];

	if (!v->overhead_ppm) {
		log_warn("%s: %" PRIu64 " allocation calls/s exceed --max-call-rate %" PRIu64
			 ": probes off for %.0f s (the profiles say so)",
			 what, v->last_rate, v->max_rate, (double)v->cool_ns / 1e9);
		return;
	}
	valve__budget(v, budget, sizeof(budget));
	log_warn("%s: %" PRIu64 " allocation calls/s, over %s: probes off for %.0f s (the "
		 "profiles say so)",
		 what, v->last_rate, budget, (double)v->cool_ns / 1e9);
}

/* Puts a target's probes back after its cooling period; false when that failed. */
static bool valve_reattach(struct tracer *tr, struct target *t)
{
	if (tr->sysscan)
		return sysscan__scan(tr->sysscan) >= 0;
	/* Libraries may have come and gone while nothing was watched. */
	process__refresh_maps(&t->proc);
	return target__probe(t, tr->loader, &tr->probe_opts, !tr->env->system_wide) == 0;
}

/* Carries out what a valve decided, and says so on stderr. */
static void valve_act(struct tracer *tr, struct valve *v, enum valve_action a, struct target *t,
		      uint64_t now)
{
	pid_t pid = tr->sysscan ? -1 : t->proc.pid;
	char what[64];

	if (tr->sysscan)
		snprintf(what, sizeof(what), "all %zu traced processes", tr->targets.nr);
	else
		snprintf(what, sizeof(what), "pid %d (%s)", pid, t->proc.comm);
	if (a == VALVE_DETACH) {
		loader__detach_probes(tr->loader, pid);
		if (tr->sysscan)
			sysscan__forget(tr->sysscan);
		say_detach(v, what);
	} else if (a == VALVE_REATTACH) {
		if (!valve_reattach(tr, t)) {
			valve__undo(v, a, now);
			log_warn("%s: cannot put the probes back: next try in %.0f s", what,
				 (double)v->cool_ns / 1e9);
			return;
		}
		log_info("%s: probes back on after %.0f s", what, (double)v->cool_ns / 1e9);
	}
}

/* The allocation calls of t since its last look; a new target's window starts now. */
static uint64_t calls_since(struct tracer *tr, struct target *t, uint64_t now, bool *ok)
{
	struct ht_target c;
	uint64_t calls;

	*ok = !loader__target_stats(tr->loader, t->proc.pid, &c);
	if (!*ok)
		return 0;
	if (!t->valve.max_rate) {
		valve_start(tr, &t->valve, now);
		t->valve_calls = c.calls;
	}
	calls = c.calls - t->valve_calls;
	t->valve_calls = c.calls;
	return calls;
}

/*
 * About once a second: each target's allocation calls since the last look
 * judged against the budget. In system-wide mode the probes are shared by
 * every process, so one valve judges the busiest of them for all.
 */
void tracer__check_valves(struct tracer *tr, uint64_t now)
{
	uint64_t busiest = 0, calls;
	enum valve_action a;
	size_t i;
	bool ok;

	for (i = 0; i < tr->targets.nr; i++) {
		struct target *t = tr->targets.items[i];

		calls = calls_since(tr, t, now, &ok);
		if (!ok)
			continue;
		if (calls > busiest)
			busiest = calls;
		if (tr->sysscan)
			continue;
		a = valve__tick(&t->valve, calls, now);
		valve_act(tr, &t->valve, a, t, now);
		target__describe_valve(t, &t->valve, now);
	}
	if (!tr->sysscan)
		return;
	if (!tr->valve.max_rate)
		valve_start(tr, &tr->valve, now);
	/* Each process pays for its own traps: the busiest one is what the budget guards. */
	a = valve__tick(&tr->valve, busiest, now);
	valve_act(tr, &tr->valve, a, NULL, now);
	for (i = 0; i < tr->targets.nr; i++)
		target__describe_valve(tr->targets.items[i], &tr->valve, now);
}

/* While t's probes are off, why and until when (for its status line), in buf; else NULL. */
const char *tracer__probes_off(const struct tracer *tr, const struct target *t, char *buf,
			       size_t len)
{
	const struct valve *v = tr->sysscan ? &tr->valve : &t->valve;

	return valve__status(v, clock__mono_ns(), buf, len) > 0 ? buf : NULL;
}
