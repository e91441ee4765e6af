/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * unwind.h - unwind a user stack copied by BPF, with the binaries' call
 * frame information (.eh_frame, .debug_frame), through elfutils' libdwfl.
 *
 * One unwinder per process. It reports every file mapping of a maps
 * snapshot to libdwfl as a module (opening files as /proc/PID/root/PATH
 * while the process lives, else PATH), so it keeps working after the
 * process has exited. Per-module CFI is parsed once and cached by libdwfl;
 * unwinding a sample reads only the copied registers and stack bytes.
 *
 * Not thread-safe. Errors are negative errno values.
 */
#ifndef HEAPTRACE_UNWIND_H
#define HEAPTRACE_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "symbol/procmaps.h"

/* Registers at the start of the unwind (x86_64), already in the caller's frame. */
struct unwind_regs {
	uint64_t ip; /* a return address into the code that called the allocator */
	uint64_t sp; /* the caller's stack pointer after the return */
	uint64_t bp;
	uint64_t bx;
	uint64_t r12;
	uint64_t r13;
	uint64_t r14;
	uint64_t r15;
};

struct unwinder;

/* A new unwinder for `pid` using `maps` (not kept: modules are reported from it). */
int unwinder__new(pid_t pid, const struct procmaps *maps, struct unwinder **out);

/* Reports the modules of a fresher snapshot (after dlopen or exec). */
int unwinder__set_maps(struct unwinder *u, const struct procmaps *maps);

/*
 * Unwinds from `regs` over `stack` (stack_len bytes copied from address
 * regs->sp upwards). Writes at most `max` program counters to `pcs`:
 * pcs[0] = regs->ip, then each caller's return address. Returns the number
 * written (>= 1), and sets *truncated when the stack went on beyond `max`
 * frames. The walk ends at the outermost frame, at a frame without CFI, or
 * where it would read outside the copied bytes.
 */
int unwinder__unwind(struct unwinder *u, const struct unwind_regs *regs, const void *stack,
		     size_t stack_len, uint64_t *pcs, int max, int *truncated);

/*
 * Off by default: frames go through a cache of the common CFI rules, and
 * libdwfl unwinds only samples with a frame those rules cannot express.
 * On: every sample through libdwfl (tests compare the two walks with it).
 */
void unwinder__use_libdw_only(struct unwinder *u, bool on);

/* unwinder__free(NULL) is a no-op. */
void unwinder__free(struct unwinder *u);

#endif /* HEAPTRACE_UNWIND_H */
