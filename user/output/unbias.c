// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <math.h>

#include "output/unbias.h"

void unbias__scale(uint64_t count, uint64_t bytes, uint64_t rate, int64_t *est_count,
		   int64_t *est_bytes)
{
	double avg, scale;

	if (count == 0 || bytes == 0) {
		*est_count = 0;
		*est_bytes = 0;
		return;
	}
	if (rate <= 1) {
		*est_count = (int64_t)count;
		*est_bytes = (int64_t)bytes;
		return;
	}
	avg = (double)bytes / (double)count;
	/* -expm1(-x) is 1 - exp(-x) without cancellation for small x. */
	scale = 1.0 / -expm1(-avg / (double)rate);
	*est_count = (int64_t)((double)count * scale);
	*est_bytes = (int64_t)((double)bytes * scale);
}

uint64_t unbias__rate_of(uint64_t size, uint64_t weighted)
{
	double r;

	if (!size || weighted <= size)
		return 1;
	/* -log1p(-x) is -ln(1 - x) without cancellation for small x. */
	r = (double)size / -log1p(-(double)size / (double)weighted);
	return r < 1.5 ? 1 : (uint64_t)(r + 0.5);
}

double unbias__rel_error(uint64_t samples, uint64_t rate)
{
	if (rate <= 1)
		return 0;
	if (!samples)
		return -1;
	return 1.0 / sqrt((double)samples);
}
