/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * calibrate.h - what one uprobe trap costs on this host, for the safety
 * valve's --max-overhead (a share of a core turned into a call rate).
 *
 * Measured once at start-up in heaptrace's own process: the empty program
 * of --floor on a function of heaptrace whose first instruction is a push,
 * one the kernel emulates as at the sites heaptrace prefers, called
 * CALIBRATE_CALLS times with and without the probe, in CALIBRATE_ROUNDS
 * rounds each; the difference of the medians per call. A few milliseconds.
 */
#ifndef HEAPTRACE_CALIBRATE_H
#define HEAPTRACE_CALIBRATE_H

#include "collect/loader.h"

#define CALIBRATE_CALLS	 1000
#define CALIBRATE_ROUNDS 5

/*
 * What to assume when the measure fails: above the 0.49-0.53 us it gave on
 * this project's machine (2 vCPU KVM, Linux 6.18, 2026-12-01), so that a
 * guess errs towards a smaller budget.
 */
#define CALIBRATE_FALLBACK_TRAP_NS 700.0

/*
 * Times one trap. Returns 0 with *trap_ns set, or a negative errno: the probe
 * could not be attached (-EOPNOTSUPP off x86_64), or it did not seem to fire.
 */
int calibrate__trap_ns(struct loader *l, double *trap_ns);

#endif /* HEAPTRACE_CALIBRATE_H */
