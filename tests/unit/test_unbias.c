// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The Go heap-sample scaling (user/output/unbias.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tap.h"
#include "output/unbias.h"

int main(void)
{
	int64_t c, b;

	unbias__scale(10, 10000, 1, &c, &b);
	ok(c == 10 && b == 10000, "rate 1 is exact (%lld, %lld)", (long long)c, (long long)b);
	unbias__scale(0, 0, 524288, &c, &b);
	ok(c == 0 && b == 0, "nothing stays nothing");
	unbias__scale(3, 0, 524288, &c, &b);
	ok(c == 0 && b == 0, "zero bytes scale to zero, as Go does");

	/* One sampled 512 KiB object at rate 512 KiB: scale 1/(1-e^-1) = 1.58198. */
	unbias__scale(1, 524288, 524288, &c, &b);
	ok(c == 1 && b == (int64_t)(524288 / (1 - exp(-1.0))), "avg == rate: bytes %lld",
	   (long long)b);

	/* Small objects: one 64-byte sample stands for about rate/64 objects. */
	unbias__scale(1, 64, 524288, &c, &b);
	ok(llabs(c - 8192) <= 1 && llabs(b - 524288) <= 64, "64 B at 512 KiB: %lld objects, %lld B",
	   (long long)c, (long long)b);

	/* Huge objects are always sampled: scale tends to 1. */
	unbias__scale(2, 200 << 20, 524288, &c, &b);
	ok(c == 2 && b == 200 << 20, "huge objects are not scaled");
	return done_testing();
}
