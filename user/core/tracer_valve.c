// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_valve.c - the safety valve (--max-call-rate) carried out: probes
 * taken off a target that calls the allocator too often, put back after
 * the cooling period, and said on stderr and in the profiles.
 */
#include <inttypes.h>
#include <stdio.h>

#include "core/tracer_int.h"
#include "util/log.h"

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
		log_warn("%s: %" PRIu64 " allocation calls/s exceed --max-call-rate %" PRIu64
			 ": probes off for %.0f s (the profiles say so)",
			 what, v->last_rate, v->max_rate, (double)v->cool_ns / 1e9);
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
		valve__init(&t->valve, tr->env->max_call_rate, tr->env->cool_down_ns, now);
		t->valve_calls = c.calls;
	}
	calls = c.calls - t->valve_calls;
	t->valve_calls = c.calls;
	return calls;
}

/*
 * About once a second: each target's allocation calls since the last look
 * judged against the budget. In system-wide mode the probes are shared by
 * every process, so one valve judges the calls of all of them together.
 */
void tracer__check_valves(struct tracer *tr, uint64_t now)
{
	uint64_t all = 0, calls;
	enum valve_action a;
	size_t i;
	bool ok;

	for (i = 0; i < tr->targets.nr; i++) {
		struct target *t = tr->targets.items[i];

		calls = calls_since(tr, t, now, &ok);
		if (!ok)
			continue;
		all += calls;
		if (tr->sysscan)
			continue;
		a = valve__tick(&t->valve, calls, now);
		valve_act(tr, &t->valve, a, t, now);
		target__describe_valve(t, &t->valve, now);
	}
	if (!tr->sysscan)
		return;
	if (!tr->valve.max_rate)
		valve__init(&tr->valve, tr->env->max_call_rate, tr->env->cool_down_ns, now);
	a = valve__tick(&tr->valve, all, now);
	valve_act(tr, &tr->valve, a, NULL, now);
	for (i = 0; i < tr->targets.nr; i++)
		target__describe_valve(tr->targets.items[i], &tr->valve, now);
}
