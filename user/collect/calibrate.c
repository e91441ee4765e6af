// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* calibrate.c - see calibrate.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "collect/calibrate.h"
#include "symbol/procmaps.h"
#include "util/clock.h"

/* Less than this per call with the probe on: it did not fire. */
#define CALIBRATE_MIN_TRAP_NS 20

#if defined(__x86_64__)
/*
 * The probed function, in assembly so that its first instruction is a push
 * whatever the compiler's flags (no endbr64, no frame set-up choices).
 */
void heaptrace_calibrate_target(void);
__asm__(".pushsection .text\n"
	".globl heaptrace_calibrate_target\n"
	".hidden heaptrace_calibrate_target\n"
	".type heaptrace_calibrate_target, @function\n"
	"heaptrace_calibrate_target:\n"
	"\tpush %rbp\n"
	"\tpop %rbp\n"
	"\tret\n"
	".size heaptrace_calibrate_target, .-heaptrace_calibrate_target\n"
	".popsection\n");

struct rounds {
	uint64_t ns[CALIBRATE_ROUNDS];
};

static int time_rounds(void *ctx)
{
	/* Through a volatile pointer: each call is made, none folded away. */
	void (*volatile fn)(void) = heaptrace_calibrate_target;
	struct rounds *r = ctx;
	uint64_t t0;
	int i, j;

	for (i = 0; i < CALIBRATE_ROUNDS; i++) {
		t0 = clock__mono_ns();
		for (j = 0; j < CALIBRATE_CALLS; j++)
			fn();
		r->ns[i] = clock__mono_ns() - t0;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The median: a round the scheduler cut into does not count. */
static uint64_t median(struct rounds *r)
{
	qsort(r->ns, CALIBRATE_ROUNDS, sizeof(r->ns[0]), cmp_u64);
	return r->ns[CALIBRATE_ROUNDS / 2];
}

int calibrate__trap_ns(struct loader *l, double *trap_ns)
{
	uint64_t addr = (uint64_t)(uintptr_t)heaptrace_calibrate_target;
	struct rounds base, probed;
	const struct procmap *m;
	struct procmaps *pm;
	uint64_t on, off;
	int err;

	err = procmaps__load(getpid(), &pm);
	if (err)
		return err;
	m = procmaps__find(pm, addr);
	if (!m || m->path[0] != '/') {
		err = -ENOENT;
		goto cleanup;
	}
	time_rounds(&base);
	err = loader__run_probed(l, m->path, addr - m->start + m->offset, time_rounds, &probed);
	if (err)
		goto cleanup;
	on = median(&probed);
	off = median(&base);
	if (on < off + (uint64_t)CALIBRATE_MIN_TRAP_NS * CALIBRATE_CALLS) {
		err = -EAGAIN;
		goto cleanup;
	}
	*trap_ns = (double)(on - off) / CALIBRATE_CALLS;
cleanup:
	procmaps__free(pm);
	return err;
}
#else
int calibrate__trap_ns(struct loader *l, double *trap_ns)
{
	(void)l;
	(void)trap_ns;
	return -EOPNOTSUPP;
}
#endif
