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

	/* A rate beyond 64-bit multiplication: 2^40 calls in 1 s. */
	valve__init(&v, 1, S, 0);
	ok(valve__tick(&v, 1ull << 40, S) == VALVE_DETACH && v.last_rate == 1ull << 40,
	   "huge counts do not overflow");
	return done_testing();
}
