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

uint64_t valve__budget_rate(uint32_t overhead_ppm, double call_ns)
{
	/* A millionth of a core is 1000 ns of each second. */
	double rate = overhead_ppm * 1000.0 / call_ns;

	if (!overhead_ppm)
		return 0;
	if (!(call_ns > 0) || rate >= 1e18)
		return UINT64_MAX; /* calls that cost nothing: never over */
	return rate < 1 ? 1 : (uint64_t)rate;
}

/* A share of a core as a person writes it: 5, 0.5, 12.25 (percent). */
static double percent(uint32_t ppm)
{
	return ppm / 1e4;
}

int valve__budget(const struct valve *v, char *buf, size_t len)
{
	if (!v->overhead_ppm)
		return snprintf(buf, len, "--max-call-rate %llu", (unsigned long long)v->max_rate);
	return snprintf(buf, len, "--max-overhead %g%% (\u2248 %llu calls/s on this host)",
			percent(v->overhead_ppm), (unsigned long long)v->max_rate);
}

int valve__status(const struct valve *v, uint64_t now_ns, char *buf, size_t len)
{
	uint64_t off = now_ns - v->detached_since_ns, left_s = 1;
	char budget[64];

	if (!v->detached) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	/* Rounded up, and at least 1: the next tick puts them back. */
	if (off < v->cool_ns)
		left_s = (v->cool_ns - off + 999999999u) / 1000000000u;
	if (v->overhead_ppm)
		snprintf(budget, sizeof(budget), "the %g%% budget", percent(v->overhead_ppm));
	else
		snprintf(budget, sizeof(budget), "--max-call-rate %llu",
			 (unsigned long long)v->max_rate);
	return snprintf(buf, len, "probes off (allocation calls over %s: %llu/s), back in %llu s",
			budget, (unsigned long long)v->last_rate, (unsigned long long)left_s);
}

int valve__describe(const struct valve *v, uint64_t now_ns, char *buf, size_t len)
{
	char over[96];

	if (!v->detaches) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	/* The budget as it was given: a call rate, or a share of a core and the rate it made. */
	if (v->overhead_ppm)
		snprintf(over, sizeof(over),
			 "--max-overhead %g%%: \u2248 %llu calls/s on this host",
			 percent(v->overhead_ppm), (unsigned long long)v->max_rate);
	else
		snprintf(over, sizeof(over), "--max-call-rate %llu/s",
			 (unsigned long long)v->max_rate);
	return snprintf(buf, len,
			"%s: probes detached %u time%s, %.1f s in all%s: allocation calls "
			"peaked at %llu/s (over %s); calls in those periods are "
			"not counted and blocks freed then still count as in use",
			v->overhead_ppm ? "max-overhead" : "max-call-rate", v->detaches,
			v->detaches == 1 ? "" : "s", (double)valve__detached_ns(v, now_ns) / 1e9,
			v->detached ? " (now detached)" : "", (unsigned long long)v->peak_rate,
			over);
}
