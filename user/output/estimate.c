// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* estimate.c - see estimate.h. */
#include <inttypes.h>
#include <stdio.h>

#include "output/estimate.h"
#include "output/statusline.h"
#include "output/unbias.h"

void estimate__format(int64_t bytes, uint64_t samples, uint64_t rate, char *buf, size_t len)
{
	double rel = unbias__rel_error(samples, rate);
	char value[32], err[32];

	statusline__format_bytes(bytes, value, sizeof(value));
	if (rel == 0) {
		snprintf(buf, len, "%s (exact)", value);
		return;
	}
	if (rel < 0) {
		snprintf(buf, len, "%s (no samples)", value);
		return;
	}
	statusline__format_bytes((int64_t)((double)(bytes < 0 ? -bytes : bytes) * rel), err,
				 sizeof(err));
	snprintf(buf, len, "%s ±%s (±%.0f%%, %" PRIu64 " samples)", value, err, rel * 100, samples);
}
