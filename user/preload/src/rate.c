// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * rate.c - which allocations are sampled, and what each one stands for.
 *
 * Sampling is a Poisson process over allocated bytes, per thread: each
 * thread has a budget of bytes drawn from an exponential distribution of
 * mean R; an allocation at least as large as what is left of the budget is
 * sampled and a new budget is drawn, a smaller one only spends it. An
 * allocation of n bytes is then sampled with probability 1 - exp(-n/R),
 * and n / (1 - exp(-n/R)) is its unbiased estimate of bytes.
 *
 * The few floating-point functions needed are here, so that the library
 * needs nothing but libc.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "../sampler.h"

#define DEFAULT_RATE 524288
#define LN2	     0.6931471805599453
#define INV_E	     0.36787944117144233

struct ht_config ht_config = { .rate = DEFAULT_RATE };
HT_TLS struct ht_thread ht_self;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t next_random(struct ht_thread *t)
{
	uint64_t x = t->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->rng = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/* ln(x) for a normal x > 0: exponent, then 2 atanh((m-1)/(m+1)) on the mantissa. */
static double ln(double x)
{
	union {
		double d;
		uint64_t u;
	} v = { .d = x };
	int e = (int)((v.u >> 52) & 0x7ff) - 1023;
	double m, z, z2, term, sum = 0;
	int k;

	v.u = (v.u & 0xfffffffffffffULL) | 0x3ff0000000000000ULL;
	m = v.d;
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	z = (m - 1) / (m + 1); /* |z| < 0.172: 12 terms are plenty */
	z2 = z * z;
	term = z;
	for (k = 1; k <= 23; k += 2) {
		sum += term / k;
		term *= z2;
	}
	return 2 * sum + e * LN2;
}

/* exp(-x) for 0 <= x: whole part by repeated 1/e, the rest by its series. */
static double exp_neg(double x)
{
	double r = 1, term = 1;
	int n, k;

	if (x > 745)
		return 0;
	n = (int)x;
	x -= n;
	for (k = 1; k <= 24; k++) {
		term *= -x / k;
		r += term;
	}
	while (n--)
		r *= INV_E;
	return r;
}

/* 1 - exp(-x) for x > 0, without the cancellation of a small x. */
static double one_minus_exp_neg(double x)
{
	double sum = 0, term = 1;
	int k;

	if (x >= 0.5)
		return 1 - exp_neg(x);
	for (k = 1; k <= 20; k++) {
		term *= x / k;
		sum += (k & 1) ? term : -term;
	}
	return sum;
}

static uint64_t draw_budget(struct ht_thread *t)
{
	/* u in (0, 1]: never ln(0). */
	double u = (double)((next_random(t) >> 11) + 1) * 0x1p-53;
	double b = -ln(u) * (double)ht_config.rate;

	if (b < 1)
		return 1;
	if (b > 0x1p62)
		return 1ULL << 62;
	return (uint64_t)b;
}

void ht_reseed_thread(void)
{
	struct ht_thread *t = &ht_self;
	struct timespec ts;
	uint64_t s;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s = (uint64_t)(uintptr_t)t ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec;
	s = splitmix64(s ^ splitmix64((uint64_t)gettid() ^ ht_config.secret));
	t->rng = s ? s : 1;
	t->left = draw_budget(t);
	t->seeded = 1;
}

int ht_should_sample(size_t size)
{
	struct ht_thread *t = &ht_self;

	if (ht_config.rate <= 1)
		return 1;
	if (HT_UNLIKELY(!t->seeded))
		ht_reseed_thread();
	if (size >= t->left) {
		t->left = draw_budget(t);
		return 1;
	}
	t->left -= size;
	return 0;
}

uint64_t ht_weight(size_t size)
{
	double w;

	if (ht_config.rate <= 1 || size == 0)
		return size;
	w = (double)size / one_minus_exp_neg((double)size / (double)ht_config.rate);
	if (w >= 0x1p64)
		return UINT64_MAX;
	return (uint64_t)(w + 0.5);
}

static void warn(const char *msg)
{
	static const char pre[] = "libheaptrace-sampler: ";
	ssize_t r;

	r = write(2, pre, sizeof(pre) - 1);
	r = write(2, msg, strlen(msg));
	(void)r;
}

/* HEAPTRACE_SAMPLE_RATE: decimal bytes. getenv only reads environ. */
static uint64_t read_rate(void)
{
	const char *s = getenv("HEAPTRACE_SAMPLE_RATE");
	uint64_t v = 0;

	if (!s || !*s)
		return DEFAULT_RATE;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) {
			warn("HEAPTRACE_SAMPLE_RATE is not a number of bytes: using 524288\n");
			return DEFAULT_RATE;
		}
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v;
}

/* The kernel's 16 random bytes: no system call, no allocation. */
static uint64_t make_secret(void)
{
	const uint64_t *r = (const uint64_t *)getauxval(AT_RANDOM);
	uint64_t s = splitmix64((uintptr_t)&ht_config);

	if (r)
		s = splitmix64(s ^ r[0]) ^ splitmix64(r[1] + 1);
	return s ? s : 0x5a5a5a5a5a5a5a5aULL;
}

/* A child must not repeat its parent's sampling decisions. */
static void after_fork_child(void)
{
	ht_self.seeded = 0;
}

__attribute__((constructor)) static void ht_init(void)
{
	ht_config.rate = read_rate();
	ht_config.secret = make_secret();
	ht_config.page = (size_t)sysconf(_SC_PAGESIZE);
	pthread_atfork(NULL, NULL, after_fork_child);
	__atomic_store_n(&ht_config.ready, 1, __ATOMIC_RELEASE);
}
