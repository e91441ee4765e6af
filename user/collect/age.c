// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* age.c - see age.h. */
#include "collect/age.h"

/*
 * 10 s is there for short runs and tests; then the questions people ask of
 * a leak: older than a minute, ten minutes, an hour, six hours, a day.
 */
const uint64_t age_bucket_start_s[AGE_BUCKETS] = { 0, 10, 60, 600, 3600, 21600, 86400 };

unsigned age__bucket(uint64_t age_ns)
{
	uint64_t s = age_ns / 1000000000ull;
	unsigned i = AGE_BUCKETS - 1;

	while (i > 0 && s < age_bucket_start_s[i])
		i--;
	return i;
}
