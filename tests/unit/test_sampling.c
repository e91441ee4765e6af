// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The BPF sampler's integer maths (bpf/sampling.h), checked against
 * floating point and against the Poisson process it must implement.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "sampling.h"
#include "tap.h"

/* xorshift64*: a fixed, fast generator so the statistics are reproducible. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng_u32(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static void test_log2(void)
{
	static const uint32_t xs[] = { 1, 2, 3, 5, 1000, 65535, 65536, 123456789, 0xffffffffu };
	double worst = 0;
	size_t i;

	for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double got = (double)ht_log2_q16(xs[i]) / 65536.0;
		double err = fabs(got - log2((double)xs[i]));

		if (err > worst)
			worst = err;
	}
	ok(worst < 2.0 / 65536.0, "log2 in Q16 is within 2 ulp of log2() (worst %.8f)", worst);
	ok(ht_log2_q16(0) == 0, "log2(0) is treated as log2(1)");
}

static void test_budget_mean(uint64_t rate)
{
	const int n = 400000;
	double sum = 0, sumsq = 0, mean, sd;
	int i;

	for (i = 0; i < n; i++) {
		double v = (double)ht_next_sample_budget(rng_u32(), rate);

		sum += v;
		sumsq += v * v;
	}
	mean = sum / n;
	sd = sqrt(sumsq / n - mean * mean);
	/* An exponential distribution has mean == standard deviation == rate. */
	ok(fabs(mean / (double)rate - 1) < 0.01, "rate %llu: mean budget %.0f within 1%%",
	   (unsigned long long)rate, mean);
	ok(fabs(sd / (double)rate - 1) < 0.02, "rate %llu: budget sd %.0f within 2%% (exponential)",
	   (unsigned long long)rate, sd);
}

/*
 * Runs the per-thread rule (size < budget: budget -= size; else sample and
 * redraw) over a stream of allocations and compares the sampled fraction
 * of each size with 1 - exp(-size/rate).
 */
static void test_sampling_probability(void)
{
	static const uint64_t sizes[] = { 64, 4096, 65536, 524288, 2097152 };
	const uint64_t rate = 524288;
	const int per_size = 60000;
	uint64_t budget = ht_next_sample_budget(rng_u32(), rate);
	int sampled[5] = { 0 }, i, k;

	for (i = 0; i < per_size; i++) {
		for (k = 0; k < 5; k++) {
			if (sizes[k] < budget) {
				budget -= sizes[k];
			} else {
				sampled[k]++;
				budget = ht_next_sample_budget(rng_u32(), rate);
			}
		}
	}
	for (k = 0; k < 5; k++) {
		double p = 1 - exp(-(double)sizes[k] / (double)rate);
		double got = (double)sampled[k] / per_size;
		/* Allow 5 standard errors, and a floor for tiny probabilities. */
		double tol = 5 * sqrt(p * (1 - p) / per_size) + 1e-4;

		ok(fabs(got - p) < tol, "size %llu sampled with p=%.5f, expected %.5f",
		   (unsigned long long)sizes[k], got, p);
	}
}

static void test_rate_one(void)
{
	ok(ht_next_sample_budget(12345, 1) == 0, "rate 1 gives a zero budget: every allocation");
	ok(ht_next_sample_budget(12345, 0) == 0, "rate 0 is treated as 1");
	ok(ht_next_sample_budget(0, 1000) > 0, "u == 0 gives the largest, not an infinite, budget");
}

int main(void)
{
	test_log2();
	test_budget_mean(524288);
	test_budget_mean(65536);
	test_budget_mean(4096);
	test_sampling_probability();
	test_rate_one();
	return done_testing();
}
