/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * usdt.h - statically defined probe sites in the stapsdt note format, for
 * x86-64, without <sys/sdt.h>.
 *
 * HT_USDT(provider, name, sem, args, ...) expands to one probe site: an
 * instruction that does nothing (a 5-byte nop, or a 1-byte one with
 * HT_SAMPLER_NOP1) plus a note in .note.stapsdt that tells a tracer where
 * the site is, where its semaphore is and where the arguments are:
 *
 *   namesz 8, descsz, type 3, "stapsdt\0",
 *   desc: pc (8 bytes), address of _.stapsdt.base (8 bytes),
 *         semaphore address (8 bytes), "provider\0", "name\0", "args\0"
 *
 * The addresses are link-time ones; a tracer relocates them by comparing
 * the note's base with where .stapsdt.base really is. args is a string
 * literal such as "8@%%rdi 8@%%rsi" (the %% because it is part of an
 * extended asm template); the operands that follow must put the values in
 * those very registers (constraints "D", "S", "d", ...).
 */
#ifndef HEAPTRACE_PRELOAD_USDT_H
#define HEAPTRACE_PRELOAD_USDT_H

/*
 * A 5-byte nop can be replaced by a call into a uprobe trampoline (Linux
 * 6.18+) instead of a trapping int3; the 1-byte form is kept for comparing.
 */
#ifdef HT_SAMPLER_NOP1
#define HT_USDT_NOP "nop"
#else
/* nopl 0x0(%rax,%rax,1), spelt out: gas would shorten the mnemonic to 4 bytes. */
#define HT_USDT_NOP ".byte 0x0f, 0x1f, 0x44, 0x00, 0x00"
#endif

#define HT_USDT_STR_(x) #x
#define HT_USDT_STR(x)	HT_USDT_STR_(x)

/*
 * The base section and symbol: one per object file (.ifndef), merged into
 * one per linked object by the comdat group.
 */
#define HT_USDT_BASE                                                                               \
	".ifndef _.stapsdt.base\n"                                                                 \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n"                    \
	".weak _.stapsdt.base\n"                                                                   \
	".hidden _.stapsdt.base\n"                                                                 \
	"_.stapsdt.base:\n"                                                                        \
	".space 1\n"                                                                               \
	".size _.stapsdt.base, 1\n"                                                                \
	".popsection\n"                                                                            \
	".endif\n"

#define HT_USDT(provider, name, sem, args, ...)                                                    \
	__asm__ __volatile__(                                                                      \
	    "990: " HT_USDT_NOP "\n"                                                               \
	    ".pushsection .note.stapsdt,\"\",\"note\"\n"                                           \
	    ".balign 4\n"                                                                          \
	    ".4byte 992f-991f, 994f-993f, 3\n"                                                     \
	    "991: .asciz \"stapsdt\"\n"                                                            \
	    "992: .balign 4\n"                                                                     \
	    "993: .8byte 990b\n"                                                                   \
	    ".8byte _.stapsdt.base\n"                                                              \
	    ".8byte " sem "\n"                                                                     \
	    ".asciz \"" HT_USDT_STR(provider) "\"\n"                                               \
					      ".asciz \"" HT_USDT_STR(                             \
						  name) "\"\n"                                     \
							".asciz \"" args "\"\n"                    \
							"994: .balign 4\n"                         \
							".popsection\n" HT_USDT_BASE               \
	    :                                                                                      \
	    : __VA_ARGS__)

#endif /* HEAPTRACE_PRELOAD_USDT_H */
