/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * unbias.h - estimate true totals from Poisson-sampled heap counters.
 *
 * An allocation of S bytes is sampled with probability 1 - exp(-S/rate).
 * As Go's runtime/pprof does for heap profiles, a stack's sampled count and
 * bytes are scaled by 1 / (1 - exp(-avg/rate)), avg = bytes / count: each
 * sampled object of average size stands for that many allocated objects.
 * With rate <= 1 every allocation is recorded and values are exact.
 */
#ifndef HEAPTRACE_UNBIAS_H
#define HEAPTRACE_UNBIAS_H

#include <stdint.h>

void unbias__scale(uint64_t count, uint64_t bytes, uint64_t rate, int64_t *est_count,
		   int64_t *est_bytes);

/*
 * The sample rate R an in-process sampler used, from one sample's `size`
 * and the weight it reported, weighted = size / (1 - exp(-size / R)):
 * R = -size / ln(1 - size / weighted). A weight no larger than the size
 * means every allocation was sampled: 1. Rounded to the nearest byte.
 */
uint64_t unbias__rate_of(uint64_t size, uint64_t weighted);

/*
 * The relative standard error of an estimate resting on `samples` sampled
 * blocks at `rate`: the number of samples in a window is Poisson, so about
 * 1/sqrt(samples). 0 when every allocation is recorded (rate <= 1), and -1
 * when nothing was sampled (nothing can be said).
 */
double unbias__rel_error(uint64_t samples, uint64_t rate);

#endif /* HEAPTRACE_UNBIAS_H */
