// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The safety valve's bookkeeping (user/collect/valve.c). */
#include <string.h>

#include "tap.h"
#include "collect/valve.h"

#define S 1000000000ull

int main(void)
{
	struct valve v;
	char line[512];

	valve__init(&v, 0, 10 * S, 0);
	ok(valve__tick(&v, 1000000000, 2 * S) == VALVE_KEEP, "max rate 0: never trips");
	ok(valve__describe(&v, 2 * S, line, sizeof(line)) == 0 && !line[0],
	   "never tripped: nothing to say");

	valve__init(&v, 1000, 10 * S, 0);
	ok(valve__tick(&v, 5000, S / 2) == VALVE_KEEP, "half a window is not judged");
	ok(valve__tick(&v, 0, S) == VALVE_DETACH, "5000 calls in 1 s over 1000/s: detach");
	ok(v.last_rate == 5000 && v.peak_rate == 5000, "rate %llu/s",
	   (unsigned long long)v.last_rate);
	ok(valve__tick(&v, 0, 5 * S) == VALVE_KEEP, "cooling: stays detached");
	ok(valve__detached_ns(&v, 5 * S) == 4 * S, "detached 4 s so far");
	valve__describe(&v, 5 * S, line, sizeof(line));
	ok(strstr(line, "1 time, 4.0 s in all (now detached)") != NULL, "line: %s", line);
	ok(valve__tick(&v, 0, 11 * S) == VALVE_REATTACH, "cooled down after 10 s: reattach");
	ok(valve__detached_ns(&v, 20 * S) == 10 * S, "10 s detached in all");

	/* At the budget exactly: kept. Calls before the reattach belong to no window. */
	ok(valve__tick(&v, 1000, 12 * S) == VALVE_KEEP, "1000/s at the budget: kept");
	ok(valve__tick(&v, 3000, 13 * S) == VALVE_DETACH, "3000/s: detach again");
	ok(v.detaches == 2 && v.peak_rate == 5000 && v.last_rate == 3000,
	   "two detaches, peak %llu kept", (unsigned long long)v.peak_rate);
	valve__describe(&v, 13 * S, line, sizeof(line));
	ok(strstr(line, "2 times, 10.0 s in all (now detached)") &&
	       strstr(line, "peaked at 5000/s (over --max-call-rate 1000/s)"),
	   "line: %s", line);

	/* A failed reattach cools down again; a failed detach is forgotten. */
	ok(valve__tick(&v, 0, 23 * S) == VALVE_REATTACH, "cooled down");
	valve__undo(&v, VALVE_REATTACH, 23 * S);
	ok(v.detached && valve__detached_ns(&v, 25 * S) == 22 * S,
	   "reattach undone: still detached, time goes on (%llu ns)",
	   (unsigned long long)valve__detached_ns(&v, 25 * S));
	ok(valve__tick(&v, 0, 30 * S) == VALVE_KEEP, "cooling again from the failed try");
	ok(valve__tick(&v, 0, 33 * S) == VALVE_REATTACH, "and back");
	ok(valve__tick(&v, 100000, 34 * S) == VALVE_DETACH, "over again");
	valve__undo(&v, VALVE_DETACH, 34 * S);
	ok(!v.detached && v.detaches == 2, "detach undone: attached, two detaches");

	/* --max-overhead: the budget from what one call costs, and how it is said. */
	ok(valve__budget_rate(50000, 1000.0) == 50000, "5%% at 1 us a call: 50000 calls/s");
	ok(valve__budget_rate(50000, 1400.0) == 35714, "5%% at 1.4 us a call: %llu calls/s",
	   (unsigned long long)valve__budget_rate(50000, 1400.0));
	ok(valve__budget_rate(5000, 1000.0) == 5000, "0.5%% at 1 us: 5000 calls/s");
	ok(valve__budget_rate(1000000, 1000.0) == 1000000, "a whole core at 1 us: 1M calls/s");
	ok(valve__budget_rate(0, 1000.0) == 0, "a share of 0: no budget (off)");
	ok(valve__budget_rate(1, 1e9) == 1, "at least one call a second");
	ok(valve__budget_rate(50000, 0) == UINT64_MAX, "calls that cost nothing never trip it");
	valve__init(&v, 35714, 60 * S, 0);
	v.overhead_ppm = 50000;
	valve__budget(&v, line, sizeof(line));
	ok(!strcmp(line, "--max-overhead 5% (\u2248 35714 calls/s on this host)"), "budget: %s",
	   line);
	ok(valve__status(&v, 0, line, sizeof(line)) == 0 && !line[0], "probes on: no status");
	ok(valve__tick(&v, 2300000, S) == VALVE_DETACH, "2300000/s over 35714/s: detach");
	valve__status(&v, 19 * S, line, sizeof(line));
	ok(!strcmp(line,
		   "probes off (allocation calls over the 5% budget: 2300000/s), back in 42 s"),
	   "status: %s", line);
	valve__status(&v, 70 * S, line, sizeof(line));
	ok(strstr(line, "back in 1 s") != NULL, "cooled down, not yet ticked: back in 1 s");
	valve__describe(&v, 3 * S, line, sizeof(line));
	ok(strstr(line, "max-overhead: probes detached 1 time, 2.0 s in all (now detached): ") ==
		   line &&
	       strstr(line, "peaked at 2300000/s (over --max-overhead 5%: \u2248 35714 calls/s on "
			    "this host); calls in those"),
	   "comment: %s", line);
	v.overhead_ppm = 5000;
	valve__status(&v, 2 * S, line, sizeof(line));
	ok(strstr(line, "over the 0.5% budget") != NULL, "0.5%%: %s", line);
	v.overhead_ppm = 0;
	valve__budget(&v, line, sizeof(line));
	ok(!strcmp(line, "--max-call-rate 35714"), "a rate given as such: %s", line);
	valve__status(&v, 2 * S, line, sizeof(line));
	ok(!strcmp(line, "probes off (allocation calls over --max-call-rate 35714: 2300000/s), "
			 "back in 59 s"),
	   "status: %s", line);

	/* A rate beyond 64-bit multiplication: 2^40 calls in 1 s. */
	valve__init(&v, 1, S, 0);
	ok(valve__tick(&v, 1ull << 40, S) == VALVE_DETACH && v.last_rate == 1ull << 40,
	   "huge counts do not overflow");
	return done_testing();
}
