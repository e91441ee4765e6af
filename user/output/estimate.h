/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * estimate.h - a sampled estimate as a person should read it: the value
 * with its uncertainty at the profile's rate. The status line, the
 * profiles' comment and `heaptrace print` say it the same way.
 */
#ifndef HEAPTRACE_ESTIMATE_H
#define HEAPTRACE_ESTIMATE_H

#include <stddef.h>
#include <stdint.h>

/*
 * "12.3 MiB ±0.4 MiB (±3%, 1100 samples)": bytes estimated from `samples`
 * sampled blocks at `rate`, with one standard error (unbias__rel_error).
 * At rate <= 1 the value is exact: "12.3 MiB (exact)"; with no samples,
 * "0 B (no samples)".
 */
void estimate__format(int64_t bytes, uint64_t samples, uint64_t rate, char *buf, size_t len);

#endif /* HEAPTRACE_ESTIMATE_H */
