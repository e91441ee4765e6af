/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * sampling.h - Poisson sampling by bytes with integer maths only.
 *
 * Shared by the BPF programs (which cannot use floating point) and the unit
 * tests. Like Go's runtime and tcmalloc, each thread keeps a byte budget
 * drawn from an exponential distribution with mean `rate`; an allocation
 * that uses up the budget is sampled and a new budget is drawn. Sampling is
 * thereby memoryless: an allocation of S bytes is sampled with probability
 * 1 - exp(-S / rate), whatever came before it.
 *
 * The draw is -ln(U) * rate for U uniform in (0, 1], computed in Q16 fixed
 * point: -ln(U) = (32 - log2(u)) * ln 2 with u = U * 2^32.
 */
#ifndef HEAPTRACE_SAMPLING_H
#define HEAPTRACE_SAMPLING_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define HT_Q16_ONE (1u << 16)
#define HT_LN2_Q16 45426u /* ln(2) * 65536, rounded */

/* log2(x) in Q16 fixed point for x >= 1 (x == 0 is treated as 1). */
static __always_inline __u64 ht_log2_q16(__u32 x)
{
	__u32 msb = 0, v;
	__u64 m, frac = 0;
	int i;

	if (x == 0)
		x = 1;
	v = x;
	if (v >= 1u << 16) {
		v >>= 16;
		msb += 16;
	}
	if (v >= 1u << 8) {
		v >>= 8;
		msb += 8;
	}
	if (v >= 1u << 4) {
		v >>= 4;
		msb += 4;
	}
	if (v >= 1u << 2) {
		v >>= 2;
		msb += 2;
	}
	if (v >= 1u << 1)
		msb += 1;

	/* Mantissa in Q31, in [1, 2); each squaring yields one fraction bit. */
	m = (__u64)x << (31 - msb);
	for (i = 0; i < 16; i++) {
		m = (m * m) >> 31;
		if (m >= (1ull << 32)) {
			m >>= 1;
			frac |= 1ull << (15 - i);
		}
	}
	return ((__u64)msb << 16) | frac;
}

/*
 * Next byte budget for a uniform 32-bit random number `u` and mean `rate`.
 * A rate of 0 or 1 means every allocation is sampled, so the budget is 0.
 */
static __always_inline __u64 ht_next_sample_budget(__u32 u, __u64 rate)
{
	__u64 neg_log2_q16, neg_ln_q16;

	if (rate <= 1)
		return 0;
	/* u == 0 would be U == 0 (infinite budget): treat it as the largest draw. */
	neg_log2_q16 = (32ull << 16) - ht_log2_q16(u);
	neg_ln_q16 = (neg_log2_q16 * HT_LN2_Q16) >> 16;
	return (neg_ln_q16 * rate) >> 16;
}

#endif /* HEAPTRACE_SAMPLING_H */
