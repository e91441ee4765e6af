/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * valve.h - the safety valve (--max-overhead, --max-call-rate): when a
 * target calls its allocator faster than the budget, its probes come off
 * for a cooling period instead of slowing the process down. The budget is
 * a call rate; --max-overhead gives it as a share of one core, which
 * valve__budget_rate turns into calls per second from what one call's
 * traps cost on this host.
 *
 * Pure bookkeeping, no I/O: the caller feeds the allocation calls seen since
 * the previous tick (the BPF side's per-process `calls` counter) about once a
 * second, and acts on the answer: detach the probes, or attach them again.
 * The rate is judged over each window of at least VALVE_WINDOW_NS, so a
 * burst shorter than that is averaged with what surrounds it.
 *
 * While detached nothing is seen: allocations are missing from the alloc_*
 * values, and blocks freed meanwhile still count as in use. valve__describe
 * says so in one line, for every profile written after the first detach.
 */
#ifndef HEAPTRACE_VALVE_H
#define HEAPTRACE_VALVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VALVE_WINDOW_NS 1000000000ull

enum valve_action {
	VALVE_KEEP,	/* nothing to do */
	VALVE_DETACH,	/* over budget: take the probes off now */
	VALVE_REATTACH, /* cooled down: put the probes back now */
};

struct valve {
	uint64_t max_rate; /* allocation calls per second; 0: the valve is off */
	/* Set after valve__init when max_rate came from --max-overhead: its share, for messages. */
	uint32_t overhead_ppm;
	uint64_t cool_ns;
	uint64_t window_start_ns;
	uint64_t window_calls;
	bool detached;
	uint64_t detached_since_ns;
	uint64_t detached_total_ns; /* of the periods already over */
	uint32_t detaches;
	uint64_t last_rate; /* calls per second of the window that tripped it */
	uint64_t peak_rate;
};

/* Starts a valve at `now_ns` (monotonic). max_rate 0 never trips. */
void valve__init(struct valve *v, uint64_t max_rate, uint64_t cool_ns, uint64_t now_ns);

/*
 * `calls` allocation calls were seen since the previous tick. Returns what
 * the caller must do now; the valve's state already reflects it.
 */
enum valve_action valve__tick(struct valve *v, uint64_t calls, uint64_t now_ns);

/* The caller could not take the action: forget it (the probes stay as they were). */
void valve__undo(struct valve *v, enum valve_action done, uint64_t now_ns);

/* Time spent detached until `now_ns`, the current period included. */
uint64_t valve__detached_ns(const struct valve *v, uint64_t now_ns);

/*
 * The calls per second that cost `overhead_ppm` millionths of one core when
 * one call costs `call_ns`: at least 1, or 0 (no budget) for a share of 0.
 */
uint64_t valve__budget_rate(uint32_t overhead_ppm, double call_ns);

/*
 * The budget in the terms it was given: "--max-overhead 5% (≈ 35000
 * calls/s on this host)" or "--max-call-rate 200000". Like snprintf.
 */
int valve__budget(const struct valve *v, char *buf, size_t len);

/*
 * While the probes are off, one phrase for the status line: "probes off
 * (allocation calls over the 5% budget: 2300000/s), back in 42 s"; else ""
 * (returns 0). Like snprintf.
 */
int valve__status(const struct valve *v, uint64_t now_ns, char *buf, size_t len);

/*
 * One line for the profile's comments, or "" (returns 0) when the valve
 * never tripped. Returns the length written, like snprintf.
 */
int valve__describe(const struct valve *v, uint64_t now_ns, char *buf, size_t len);

#endif /* HEAPTRACE_VALVE_H */
