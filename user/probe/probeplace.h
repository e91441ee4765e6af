/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * probeplace.h - where on a function to put its entry uprobe (x86-64).
 *
 * A uprobe costs far more when the kernel must single-step the probed
 * instruction out of line than when it emulates it (jmp, jcc, call rel32,
 * push of a register). So the probe moves from the function's first
 * instruction to the first emulated one, but only along straight-line code
 * and only past instructions whose effects the BPF programs cannot observe:
 * a whitelist (endbr64, nop, test, cmp, mov/movzx/movsx/movsxd/lea and
 * add/sub/and/or/xor/shl/shr/sar into a register) of instructions that
 * store nothing, do not branch, and write no register the entry point's
 * program reads: the arguments it takes (rdi, rsi, rdx: `needs`), rsp and
 * the word at [rsp] (the return address) always, and, where the program
 * takes a stack, rbp, rbx and r12-r15 (the frame-pointer walk, and the
 * caller's registers for DWARF unwinding). rsp is therefore the same at
 * the chosen site as at the entry, and both the entry programs and a
 * return probe at that site see what they would see at the entry. free
 * reads its pointer only and takes no stack, so scratch work on the other
 * argument registers (jemalloc's free computes its thread cache's address
 * in rdx) does not hold its probe back.
 *
 * Anything Capstone does not decode, or that is not on the whitelist,
 * keeps the probe on the entry. So does a direct branch inside the function
 * that lands between the entry (exclusive) and the chosen site (inclusive):
 * the probe would fire twice for one call.
 *
 * Pure: bytes in, decision out; no I/O. Uses Capstone.
 */
#ifndef HEAPTRACE_PROBEPLACE_H
#define HEAPTRACE_PROBEPLACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an entry point's program reads at its probe site (the `needs` of probeplace__choose). */
#define PROBEPLACE_ARG1	 0x1u /* rdi */
#define PROBEPLACE_ARG2	 0x2u /* rsi */
#define PROBEPLACE_ARG3	 0x4u /* rdx */
#define PROBEPLACE_STACK 0x8u /* rbp, rbx, r12-r15: it walks or copies the caller's stack */

/* The most instructions the probe moves past. */
#define PROBEPLACE_MAX_SKIP 16

struct probeplace {
	uint32_t offset;     /* bytes from the function's start to the probe site */
	bool emulated;	     /* the kernel emulates the instruction at the site */
	char insn[64];	     /* that instruction, Intel syntax; branch targets are offsets */
	char reason[256];    /* why this site, for --list-probes */
	char entry_insn[64]; /* the function's first instruction */
	bool entry_emulated; /* ... and whether the kernel emulates it */
};

/*
 * Chooses the entry probe site of the function whose code is `code[0..len)`
 * (its whole body, as its ELF symbol's size says), for a program that
 * reads `needs` (PROBEPLACE_* bits). Always fills *out: the
 * fallback is offset 0 with the reason it could not move. Returns 0, or
 * -ENOMEM / -EINVAL when Capstone cannot be set up (*out then says so too).
 */
int probeplace__choose(const uint8_t *code, size_t len, unsigned int needs, struct probeplace *out);

#endif /* HEAPTRACE_PROBEPLACE_H */
