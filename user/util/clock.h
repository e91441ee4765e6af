/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * clock.h - the daemon's one clock: nanoseconds of CLOCK_MONOTONIC (for
 * deadlines and durations) or CLOCK_REALTIME (for profile times and names).
 */
#ifndef HEAPTRACE_CLOCK_H
#define HEAPTRACE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock__ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock__mono_ns(void)
{
	return clock__ns(CLOCK_MONOTONIC);
}

static inline uint64_t clock__real_ns(void)
{
	return clock__ns(CLOCK_REALTIME);
}

#endif /* HEAPTRACE_CLOCK_H */
