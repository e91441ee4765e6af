// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <stdio.h>

#include "collect/valve.h"

void valve__init(struct valve *v, uint64_t max_rate, uint64_t cool_ns, uint64_t now_ns)
{
	*v = (struct valve){ .max_rate = max_rate, .cool_ns = cool_ns, .window_start_ns = now_ns };
}

static void start_window(struct valve *v, uint64_t now_ns)
{
	v->window_start_ns = now_ns;
	v->window_calls = 0;
}

enum valve_action valve__tick(struct valve *v, uint64_t calls, uint64_t now_ns)
{
	uint64_t elapsed, rate;

	if (!v->max_rate)
		return VALVE_KEEP;
	if (v->detached) {
		if (now_ns - v->detached_since_ns < v->cool_ns)
			return VALVE_KEEP;
		v->detached = false;
		v->detached_total_ns += now_ns - v->detached_since_ns;
		/* Calls counted before the probes came off belong to no window. */
		start_window(v, now_ns);
		return VALVE_REATTACH;
	}
	v->window_calls += calls;
	elapsed = now_ns - v->window_start_ns;
	if (elapsed < VALVE_WINDOW_NS)
		return VALVE_KEEP;
	/* In 128-bit: a call counter times 1e9 overflows 64 bits past 18 G calls. */
	rate = (uint64_t)((unsigned __int128)v->window_calls * 1000000000u / elapsed);
	start_window(v, now_ns);
	if (rate <= v->max_rate)
		return VALVE_KEEP;
	v->detached = true;
	v->detached_since_ns = now_ns;
	v->detaches++;
	v->last_rate = rate;
	if (rate > v->peak_rate)
		v->peak_rate = rate;
	return VALVE_DETACH;
}

void valve__undo(struct valve *v, enum valve_action done, uint64_t now_ns)
{
	if (done == VALVE_DETACH) {
		v->detached = false;
		v->detaches--;
	} else if (done == VALVE_REATTACH) {
		/* Still detached: cool down again before the next try. */
		v->detached = true;
		v->detached_since_ns = now_ns; /* the time so far is in detached_total_ns */
	}
	start_window(v, now_ns);
}

uint64_t valve__detached_ns(const struct valve *v, uint64_t now_ns)
{
	return v->detached_total_ns + (v->detached ? now_ns - v->detached_since_ns : 0);
}

int valve__describe(const struct valve *v, uint64_t now_ns, char *buf, size_t len)
{
	if (!v->detaches) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	return snprintf(
	    buf, len,
	    "max-call-rate: probes detached %u time%s, %.1f s in all%s: allocation calls "
	    "peaked at %llu/s (over --max-call-rate %llu/s); calls in those periods are "
	    "not counted and blocks freed then still count as in use",
	    v->detaches, v->detaches == 1 ? "" : "s", (double)valve__detached_ns(v, now_ns) / 1e9,
	    v->detached ? " (now detached)" : "", (unsigned long long)v->peak_rate,
	    (unsigned long long)v->max_rate);
}
