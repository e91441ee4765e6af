// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_probeplace.c - probe site choice on hand-written x86-64 code, and on
 * the allocator entry points of the libc this test runs on.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "allocator.h"
#include "probeplace.h"
#include "tap.h"

struct code_case {
	const char *name;
	const uint8_t *code;
	size_t len;
	uint32_t offset;    /* expected site */
	const char *reason; /* expected substring of the reason */
};

#define CODE(...) (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static const struct code_case cases[] = {
    {"push r12 first: emulated, stays", CODE(0x41, 0x54, 0xc3), 0, "first instruction is a push"},
    {"push rbx first", CODE(0x53, 0xc3), 0, "push"},
    {"test rdi,rdi; je: moves to the je", CODE(0x48, 0x85, 0xff, 0x74, 0x01, 0xc3, 0xc3), 3,
     "moved past 1 instruction"},
    {"endbr64; test; jne rel32: moves past both",
     CODE(0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x85, 0xff, 0x0f, 0x85, 0x00, 0x00, 0x00, 0x00, 0xc3), 7,
     "conditional jump"},
    {"cmp byte [rip], 0; push rbx: moves to the push",
     CODE(0x80, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x00, 0x53, 0xc3), 7, "to a push"},
    {"load into rax; test al; jne: moves past the load",
     CODE(0x48, 0x8b, 0x47, 0xf8, 0xa8, 0x02, 0x75, 0x01, 0xc3, 0xc3), 6, "2 instructions"},
    {"lea rax,[rip]; call rel32: moves to the call",
     CODE(0x48, 0x8d, 0x05, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0xc3), 7,
     "to a call"},
    {"mov rbx, rdi; je: writes rbx, stays", CODE(0x48, 0x89, 0xfb, 0x74, 0x01, 0xc3, 0xc3), 0,
     "writes rbx"},
    {"xor edi, edi: writes an argument's sub-register, stays",
     CODE(0x31, 0xff, 0x74, 0x01, 0xc3, 0xc3), 0, "writes edi"},
    {"mov rax, rsi; mul rdx (reallocarray): stays",
     CODE(0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2, 0x70, 0x01, 0xc3, 0xc3), 0, "'mul rdx'"},
    {"store to the stack: stays", CODE(0x48, 0x89, 0x7c, 0x24, 0xf8, 0x74, 0x01, 0xc3, 0xc3), 0,
     "writes memory"},
    {"sub rsp, 8: moves the stack pointer, stays",
     CODE(0x48, 0x83, 0xec, 0x08, 0x74, 0x01, 0xc3, 0xc3), 0, "writes rsp"},
    {"add to memory: stays", CODE(0x48, 0x01, 0x07, 0x74, 0x01, 0xc3, 0xc3), 0, "writes memory"},
    {"jmp back into the skipped code: stays", CODE(0x48, 0x85, 0xff, 0x74, 0x02, 0xeb, 0xfc, 0xc3),
     0, "branch at +0x5"},
    {"undecodable bytes later: stays", CODE(0x48, 0x85, 0xff, 0x74, 0x01, 0xc3, 0x06), 0,
     "cannot decode"},
    {"bnd jmp is not emulated: stays",
     CODE(0x48, 0x85, 0xff, 0xf2, 0xe9, 0x00, 0x00, 0x00, 0x00, 0xc3), 0, "branches"},
    {"jrcxz is not emulated: stays", CODE(0x48, 0x85, 0xff, 0xe3, 0x01, 0xc3, 0xc3), 0, "branches"},
    {"indirect jmp first: stays", CODE(0xff, 0xe0), 0, "single-stepped"},
    {"lock add into memory: stays", CODE(0xf0, 0x48, 0x01, 0x07, 0x74, 0x01, 0xc3, 0xc3), 0,
     "entry"},
    {"push with a 66 prefix is not emulated: stays", CODE(0x48, 0x85, 0xff, 0x66, 0x53, 0xc3), 0,
     "entry"},
};

static void test_cases(void)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct code_case *c = &cases[i];
		struct probeplace p;
		int err = probeplace__choose(c->code, c->len, &p);

		ok(err == 0 && p.offset == c->offset && strstr(p.reason, c->reason),
		   "%s: +0x%x '%s' (%s)", c->name, p.offset, p.insn, p.reason);
	}
}

static void test_no_code(void)
{
	struct probeplace p;

	ok(probeplace__choose(NULL, 0, &p) == 0 && p.offset == 0 && !p.emulated,
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
	static const char *const needed[] = {"malloc", "free", "calloc", "realloc"};
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

int main(void)
{
	test_cases();
	test_no_code();
	test_real_allocator();
	return done_testing();
}
