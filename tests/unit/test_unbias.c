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

	/* A sampler's rate, from the weight it reported for a sample (rounded as it sends it). */
	{
		static const uint64_t rates[] = { 2, 4096, 65536, 524288, 1 << 20 };
		static const uint64_t sizes[] = { 1, 16, 64, 1000 };
		size_t i, j;
		int good = 1;

		for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
			for (j = 0; j < sizeof(sizes) / sizeof(sizes[0]); j++) {
				double w = (double)sizes[j] / -expm1(-(double)sizes[j] / rates[i]);
				uint64_t r = unbias__rate_of(sizes[j], (uint64_t)(w + 0.5));

				if (sizes[j] * 8 < rates[i] &&
				    (double)llabs((long long)r - (long long)rates[i]) >
					0.001 * (double)rates[i]) {
					fprintf(stderr, "# rate %llu size %llu: got %llu\n",
						(unsigned long long)rates[i],
						(unsigned long long)sizes[j],
						(unsigned long long)r);
					good = 0;
				}
			}
		}
		ok(good, "the sampler's rate is found again from a small sample's weight (0.1 %%)");
	}
	ok(unbias__rate_of(64, 64) == 1, "weight == size: every allocation was sampled");
	ok(unbias__rate_of(0, 100) == 1, "a zero size says nothing: exact");
	return done_testing();
}
