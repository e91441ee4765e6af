// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_probeplace.c - probe site choice on hand-written x86-64 code, and on
 * the allocator entry points of the libc this test runs on.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/allocator.h"
#include "probe/probeplace.h"
#include "tap.h"

struct code_case {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint32_t offset;    /* expected site */
	const char *reason; /* expected substring of the reason */
	unsigned int needs; /* registers the program reads; 0: an allocating entry taking 3 args */
};

#define ALL_NEEDS (PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_ARG3 | PROBEPLACE_STACK)

/* Debian 12's libjemalloc.so.2 free, up to its first jump: its thread cache's address
 * computed in rax, rcx and rdx (fs-relative load included), then jne rel32. */
#define JEMALLOC_FREE_HEAD                                                                         \
	0x48, 0x89, 0xf8, 0x48, 0x8b, 0x15, 0x0e, 0x53, 0x0a, 0x00, 0x48, 0x89, 0xf9, 0x48, 0xc1,  \
	    0xe8, 0x1a, 0x48, 0x81, 0xe1, 0x00, 0x00, 0x00, 0xc0, 0x25, 0xf0, 0x00, 0x00, 0x00,    \
	    0x64, 0x48, 0x03, 0x04, 0x25, 0x00, 0x00, 0x00, 0x00, 0x48, 0x01, 0xd0, 0x48, 0x3b,    \
	    0x88, 0xb0, 0x01, 0x00, 0x00, 0x0f, 0x85, 0x8a, 0x00, 0x00, 0x00

#define CODE(...) (const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ })

static const struct code_case cases[] = {
	{ "push r12 first: emulated, stays", CODE(0x41, 0x54, 0xc3), 0,
	  "first instruction is a push", 0 },
	{ "push rbx first", CODE(0x53, 0xc3), 0, "push", 0 },
	{ "test rdi,rdi; je: moves to the je", CODE(0x48, 0x85, 0xff, 0x74, 0x01, 0xc3, 0xc3), 3,
	  "moved past 1 instruction", 0 },
	{ "endbr64; test; jne rel32: moves past both",
	  CODE(0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x0f, 0x85, 0x00, 0x00, 0x00, 0x00, 0xc3),
	  7, "conditional jump", 0 },
	{ "cmp byte [rip], 0; push rbx: moves to the push",
	  CODE(0x80, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x00, 0x53, 0xc3), 7, "to a push", 0 },
	{ "load into rax; test al; jne: moves past the load",
	  CODE(0x48, 0x8b, 0x47, 0xf8, 0xa8, 0x02, 0x75, 0x01, 0xc3, 0xc3), 6, "2 instructions",
	  0 },
	{ "lea rax,[rip]; call rel32: moves to the call",
	  CODE(0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xc3), 7,
	  "to a call", 0 },
	{ "mov rbx, rdi; je: writes rbx, stays", CODE(0x48, 0x89, 0xfb, 0x74, 0x01, 0xc3, 0xc3), 0,
	  "writes rbx", 0 },
	{ "xor edi, edi: writes an argument's sub-register, stays",
	  CODE(0x31, 0xff, 0x74, 0x01, 0xc3, 0xc3), 0, "writes edi", 0 },
	{ "mov rax, rsi; mul rdx (reallocarray): stays",
	  CODE(0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x70, 0x01, 0xc3, 0xc3), 0, "'mul rdx'", 0 },
	{ "store to the stack: stays", CODE(0x48, 0x89, 0x7c, 0x24, 0xf8, 0x74, 0x01, 0xc3, 0xc3),
	  0, "writes memory", 0 },
	{ "sub rsp, 8: moves the stack pointer, stays",
	  CODE(0x48, 0x83, 0xec, 0x08, 0x74, 0x01, 0xc3, 0xc3), 0, "writes rsp", 0 },
	{ "add to memory: stays", CODE(0x48, 0x01, 0x07, 0x74, 0x01, 0xc3, 0xc3), 0,
	  "writes memory", 0 },
	{ "jmp back into the skipped code: stays",
	  CODE(0x48, 0x85, 0xff, 0x74, 0x02, 0xeb, 0xfc, 0xc3), 0, "branch at +0x5", 0 },
	{ "undecodable bytes later: stays", CODE(0x48, 0x85, 0xff, 0x74, 0x01, 0xc3, 0x06), 0,
	  "cannot decode", 0 },
	{ "bnd jmp is not emulated: stays",
	  CODE(0x48, 0x85, 0xff, 0xf2, 0xe9, 0x00, 0x00, 0x00, 0x00, 0xc3), 0, "branches", 0 },
	{ "jrcxz is not emulated: stays", CODE(0x48, 0x85, 0xff, 0xe3, 0x01, 0xc3, 0xc3), 0,
	  "branches", 0 },
	{ "indirect jmp first: stays", CODE(0xff, 0xe0), 0, "single-stepped", 0 },
	{ "lock add into memory: stays", CODE(0xf0, 0x48, 0x01, 0x07, 0x74, 0x01, 0xc3, 0xc3), 0,
	  "entry", 0 },
	{ "push with a 66 prefix is not emulated: stays", CODE(0x48, 0x85, 0xff, 0x66, 0x53, 0xc3),
	  0, "entry", 0 },
	{ "shr rax, 26; je: a shift into a scratch register, moves",
	  CODE(0x48, 0xc1, 0xe8, 0x1a, 0x74, 0x01, 0xc3, 0xc3), 4, "(shr)", 0 },
	{ "free: rdx and rbx are scratch when only the pointer is read, moves",
	  CODE(0x48, 0x8b, 0x15, 0x00, 0x00, 0x00, 0x00, 0x48, 0x89, 0xfb, 0x74, 0x01, 0xc3, 0xc3),
	  10, "2 instructions", PROBEPLACE_ARG1 },
	{ "free: writing its pointer (rdi) still holds the probe back",
	  CODE(0x48, 0x31, 0xff, 0x74, 0x01, 0xc3, 0xc3), 0, "writes rdi", PROBEPLACE_ARG1 },
	{ "free: rsp still holds the probe back",
	  CODE(0x48, 0x83, 0xec, 0x08, 0x74, 0x01, 0xc3, 0xc3), 0, "writes rsp", PROBEPLACE_ARG1 },
	{ "jemalloc free: moves past 9 instructions to its jne at +0x30", CODE(JEMALLOC_FREE_HEAD),
	  0x30, "moved past 9 instructions", PROBEPLACE_ARG1 },
	{ "the same code as an allocating entry (rdx an argument): stays", CODE(JEMALLOC_FREE_HEAD),
	  0, "writes rdx", 0 },
};

static void test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct code_case *c = &cases[i];
		struct probeplace p;
		int err = probeplace__choose(c->code, c->len, c->needs ? c->needs : ALL_NEEDS, &p);

		ok(err == 0 && p.offset == c->offset && strstr(p.reason, c->reason),
		   "%s: +0x%x '%s' (%s)", c->name, p.offset, p.insn, p.reason);
	}
}

static void test_no_code(void)
{
	struct probeplace p;

	ok(probeplace__choose(NULL, 0, ALL_NEEDS, &p) == 0 && p.offset == 0 && !p.emulated,
	   "no code: stays on the entry (%s)", p.reason);
}

/* The allocator this test runs on: every moved site must be emulated and precede no store. */
static const struct alloc_site *find_site(const struct alloc_plan *plan, const char *symbol)
{
	size_t i, j;

	for (i = 0; i < plan->nr; i++)
		for (j = 0; j < plan->objects[i].nr_sites; j++)
			if (!strcmp(plan->objects[i].sites[j].symbol, symbol))
				return &plan->objects[i].sites[j];
	return NULL;
}

static void test_real_allocator(void)
{
	static const char *const needed[] = { "malloc", "free", "calloc", "realloc" };
	struct alloc_plan *plan = NULL, *at_entry = NULL;
	struct procmaps *pm = NULL;
	size_t i, j;

	if (!ok(procmaps__load(getpid(), &pm) == 0, "own maps read"))
		return;
	if (!ok(allocator__plan(getpid(), pm, false, &plan) == 0, "planned the probes of %s",
		plan ? plan->allocator : "this process"))
		goto cleanup;
	for (j = 0; j < sizeof(needed) / sizeof(needed[0]); j++) {
		const struct alloc_site *site = find_site(plan, needed[j]);

		if (!ok(site != NULL, "%s is planned", needed[j]))
			continue;
		printf("# %s+0x%x '%s': %s\n", needed[j], site->place.offset, site->place.insn,
		       site->place.reason);
		ok(site->place.offset == 0 || site->place.emulated,
		   "%s: a moved probe sits on an emulated instruction", needed[j]);
		/* glibc's free starts with test rdi,rdi; je: the probe belongs on the je. */
		if (!strcmp(needed[j], "free") && !strncmp(site->place.entry_insn, "test", 4))
			ok(site->place.offset > 0 && site->place.emulated &&
			       !strncmp(site->place.insn, "j", 1),
			   "free: moved off its single-stepped test to a jump");
	}
	if (ok(allocator__plan(getpid(), pm, true, &at_entry) == 0,
	       "planned the probes at the entries")) {
		bool all_zero = true;

		for (i = 0; i < at_entry->nr; i++)
			for (j = 0; j < at_entry->objects[i].nr_sites; j++)
				if (at_entry->objects[i].sites[j].place.offset)
					all_zero = false;
		ok(all_zero, "at_entry: every probe on its symbol");
	}
cleanup:
	allocator__plan_free(plan);
	allocator__plan_free(at_entry);
	procmaps__free(pm);
}

/*
 * What each entry program reads (allocator__needs, from the table): a free
 * its pointer only, an allocating one its arguments and the caller's stack.
 */
static void test_needs(void)
{
	static const struct {
		enum ht_entry entry;
		unsigned int needs;
	} want[] = {
		{ HT_FREE, PROBEPLACE_ARG1 },
		{ HT_MALLOC, PROBEPLACE_ARG1 | PROBEPLACE_STACK },
		{ HT_VALLOC, PROBEPLACE_ARG1 | PROBEPLACE_STACK },
		{ HT_PVALLOC, PROBEPLACE_ARG1 | PROBEPLACE_STACK },
		{ HT_OPERATOR_NEW, PROBEPLACE_ARG1 | PROBEPLACE_STACK },
		{ HT_CALLOC, PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_STACK },
		{ HT_REALLOC, PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_STACK },
		{ HT_MEMALIGN, PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_STACK },
		{ HT_RALLOCX, PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_STACK },
		{ HT_XALLOCX, PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_STACK },
		{ HT_REALLOCARRAY, ALL_NEEDS },
		{ HT_POSIX_MEMALIGN, ALL_NEEDS },
		/* mmap's address and length: a new pymalloc arena. */
		{ HT_PY_ARENA, PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_STACK },
	};
	size_t i, agree = 0;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (allocator__needs(want[i].entry) == want[i].needs)
			agree++;
		else
			printf("# entry %d: needs 0x%x, want 0x%x\n", (int)want[i].entry,
			       allocator__needs(want[i].entry), want[i].needs);
	}
	ok(agree == HT_NR_ENTRIES && i == HT_NR_ENTRIES,
	   "needs: %zu of %d entry programs keep the registers they read", agree, HT_NR_ENTRIES);
	ok(allocator__needs(HT_NR_ENTRIES) == ALL_NEEDS, "needs: an unknown entry keeps every one");
}

int main(void)
{
	test_cases();
	test_no_code();
	test_needs();
	test_real_allocator();
	return done_testing();
}
