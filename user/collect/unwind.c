// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * unwind.c - DWARF CFI unwinding of copied user stacks with libdwfl.
 *
 * libdwfl is told about the process's executable file mappings once (one
 * module per loaded file, at its load bias) and is given a "process" whose
 * only thread is the sample being unwound: its registers come from the
 * sample and its memory is the copied stack. Nothing is read from the live
 * process, so a snapshot keeps working after the process exits.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdwfl.h>

#include "util/log.h"
#include "collect/unwind.h"
#include "util/procfs.h"
#include "util/vec.h"

#ifndef __x86_64__
#error "unwind.c knows only the x86_64 registers"
#endif

/* x86_64 DWARF register numbers (System V psABI). */
enum {
	DW_X86_64_RBX = 3,
	DW_X86_64_RBP = 6,
	DW_X86_64_RSP = 7,
	DW_X86_64_R12 = 12,
};

/* One file reported to libdwfl, remembered so a later snapshot can keep it. */
struct unw_module {
	char *path;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t inode;
	uint64_t map_bias; /* start - offset of the executable mapping it came from */
	Dwarf_Addr low;	   /* the module's address range, as libdwfl computed it */
	Dwarf_Addr high;
};

/* Remembers whether an address has CFI: call sites repeat from sample to sample. */
#define CFI_CACHE_SIZE 4096 /* 1 << 12: see has_cfi */

struct cfi_slot {
	uint64_t addr;
	bool has;
};

struct unw_table {
	struct unw_module *mods;
	size_t nr;
	size_t cap;
};

/*
 * The fast path: what CFI says at one code address, in the forms almost all
 * x86_64 code uses (CFA = a register + offset; the return address and the
 * callee-saved registers unchanged, undefined, or saved at CFA + offset).
 * Call sites repeat from sample to sample, so after the first sample through
 * a call site its frame costs a cache probe and a few loads; libdwfl (which
 * allocates per frame and per CFI lookup) only sees what these forms cannot
 * say. The cache is direct-mapped, allocated at the first unwind.
 */
#define RULE_CACHE_SIZE 2048 /* 1 << 11: see rule_for */

enum unw_reg { R_SP, R_BP, R_BX, R_R12, R_R13, R_R14, R_R15, NR_REGS };

enum rule_kind {
	RULE_NONE,    /* no CFI here: the walk ends at this frame */
	RULE_SIMPLE,  /* the fields below unwind it */
	RULE_LAST,    /* the return address is undefined: the outermost frame */
	RULE_COMPLEX, /* only libdwfl can unwind it */
};

#define SAVED_SAME  INT16_MAX /* the caller's value is this frame's */
#define SAVED_UNDEF INT16_MIN /* the caller's value is lost */

struct unw_rule {
	uint64_t addr; /* the code address looked up; 0: empty slot */
	int32_t cfa_off;
	int16_t ra_off;		/* the return address is at CFA + ra_off */
	int16_t saved[NR_REGS]; /* rbp, rbx, r12-r15 at CFA + saved[r] (R_SP unused) */
	uint8_t cfa_reg;	/* enum unw_reg */
	uint8_t kind;		/* enum rule_kind */
};

struct unwinder {
	pid_t pid;
	bool libdw_only; /* unwinder__use_libdw_only */
	struct unw_rule *rules;
	Dwfl *dwfl;
	bool attached; /* dwfl has the sample thread: a failed rebuild leaves it false */
	/* Names the architecture to dwfl_attach_state even when no module could be opened. */
	Elf *arch_elf;
	Elf64_Ehdr arch_ehdr;
	struct unw_table table;
	/* The sample being unwound, read by the thread callbacks. */
	const struct unwind_regs *regs;
	const unsigned char *stack;
	size_t stack_len;
	struct cfi_slot cfi_cache[CFI_CACHE_SIZE];
};

static void table_clear(struct unw_table *t)
{
	size_t i;

	for (i = 0; i < t->nr; i++)
		free(t->mods[i].path);
	free(t->mods);
	memset(t, 0, sizeof(*t));
}

static struct unw_module *table_add(struct unw_table *t)
{
	if (VEC_RESERVE(t->mods, t->cap, t->nr + 1))
		return NULL;
	memset(&t->mods[t->nr], 0, sizeof(t->mods[0]));
	return &t->mods[t->nr++];
}

/*
 * Opens the file behind mapping `m` of process `pid` (pid <= 0: the process
 * is gone), as procfs.h does: through /proc/PID/root first, so a process in
 * another mount namespace gets its own file, then /proc/PID/map_files (a
 * deleted file, while the process lives), then the host; the mapping's
 * inode wins. Returns the descriptor or a negative errno.
 */
static int open_mapped(pid_t pid, const struct procmap *m)
{
	return procfs__open_mapped(pid, m->path, m->start, m->end, m->inode, NULL);
}

/*
 * The load bias of the ELF file `fd` mapped by `m`: runtime address =
 * bias + p_vaddr. The kernel maps a PT_LOAD segment from file offset
 * p_offset rounded down to a page at bias + p_vaddr rounded down alike, and
 * p_vaddr and p_offset are congruent modulo the page size, so for any part
 * of that segment start - offset = bias + p_vaddr - p_offset.
 */
static int load_bias(int fd, const struct procmap *m, uint64_t *bias)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	GElf_Phdr ph, best = { 0 };
	bool found = false;
	GElf_Ehdr eh;
	size_t i, phnum;
	Elf *elf;
	int err = -ENOEXEC;

	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    eh.e_machine != EM_X86_64 || gelf_getclass(elf) != ELFCLASS64 ||
	    elf_getphdrnum(elf, &phnum))
		goto cleanup;
	for (i = 0; i < phnum; i++) {
		uint64_t first;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		first = ph.p_offset & ~(page - 1);
		/* A segment starting at this very offset wins over one that merely covers it. */
		if (first == m->offset) {
			best = ph;
			found = true;
			break;
		}
		if (!found && m->offset > first && m->offset < ph.p_offset + ph.p_filesz) {
			best = ph;
			found = true;
		}
	}
	if (!found)
		goto cleanup;
	*bias = m->start - m->offset - best.p_vaddr + best.p_offset;
	err = 0;
cleanup:
	elf_end(elf);
	return err;
}

/* Used only if libdwfl must reopen a module: the file is normally handed over at report time. */
static int find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
		    char **file_name, Elf **elfp)
{
	struct unwinder *u = *userdata;
	struct procmap m = { .path = (char *)modname };
	int fd;

	(void)mod;
	(void)base;
	*elfp = NULL;
	if (modname[0] != '/')
		return -1;
	fd = open_mapped(u ? u->pid : 0, &m);
	if (fd < 0)
		return -1;
	*file_name = strdup(modname);
	return fd;
}

/*
 * libdwfl looks for a module's debug file when .eh_frame has no CFI for an
 * address. Its standard search ends by asking the DEBUGINFOD_URLS servers,
 * synchronously: the event loop would wait on the network for as long as
 * DEBUGINFOD_TIMEOUT allows, per module. Where servers are set, only the
 * local build-id tree is searched here; the symbolizer's own fetcher
 * (symbol/dbgfetch.h) asks the servers off the loop.
 */
static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			  const char *file_name, const char *debuglink_file,
			  GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (urls && *urls)
		return dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name,
						    debuglink_file, debuglink_crc,
						    debuginfo_file_name);
	return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
					    debuglink_crc, debuginfo_file_name);
}

static const Dwfl_Callbacks dwfl_callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = find_debuginfo,
	.section_address = dwfl_offline_section_address,
};

/* The unwinder is a process with one thread, the current sample. */
static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	(void)dwfl;
	if (*thread_argp)
		return 0;
	*thread_argp = u;
	return u->pid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
	struct unwinder *u = arg;

	(void)dwfl;
	*thread_argp = u;
	return tid == u->pid;
}

/* Only the copied bytes exist: a read elsewhere ends the walk. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	struct unwinder *u = arg;
	uint64_t off;

	(void)dwfl;
	if (addr < u->regs->sp)
		return false;
	off = addr - u->regs->sp;
	if (u->stack_len < sizeof(*result) || off > u->stack_len - sizeof(*result))
		return false;
	memcpy(result, u->stack + off, sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	struct unwinder *u = arg;
	const struct unwind_regs *r = u->regs;
	Dwarf_Word bx = r->bx, bp_sp[2] = { r->bp, r->sp },
		   r12_15[4] = { r->r12, r->r13, r->r14, r->r15 };

	if (!dwfl_thread_state_registers(thread, DW_X86_64_RBX, 1, &bx) ||
	    !dwfl_thread_state_registers(thread, DW_X86_64_RBP, 2, bp_sp) ||
	    !dwfl_thread_state_registers(thread, DW_X86_64_R12, 4, r12_15))
		return false;
	/*
	 * ip is a return address, but libdwfl looks up the first frame's CFI
	 * at its pc unadjusted (it takes it for an interrupted instruction).
	 * ip - 1 lies in the call instruction, whose CFI row describes the
	 * same stack state and which stays in the caller's function even when
	 * the call is its last instruction. pcs[0] still reports ip.
	 */
	dwfl_thread_state_register_pc(thread, r->ip - 1);
	return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.get_thread = get_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

/* The module of `t` for this file that is loaded around `m`, or NULL. */
static struct unw_module *table_find(struct unw_table *t, const struct procmap *m)
{
	size_t i;

	for (i = 0; i < t->nr; i++) {
		struct unw_module *e = &t->mods[i];

		if (e->low <= m->start && m->start < e->high && !strcmp(e->path, m->path))
			return e;
	}
	return NULL;
}

/* The module of `old` that is the same load of the same file as `m`, or NULL. */
static struct unw_module *table_same(struct unw_table *old, const struct procmap *m)
{
	struct unw_module *e = table_find(old, m);

	if (e && e->dev_major == m->dev_major && e->dev_minor == m->dev_minor &&
	    e->inode == m->inode && e->map_bias == m->start - m->offset)
		return e;
	return NULL;
}

/* Opens and reports one file to libdwfl; -ENOENT/-ENOEXEC when it cannot be unwound through. */
static int report_file(struct unwinder *u, const struct procmap *m, struct unw_module *e)
{
	Dwfl_Module *mod;
	void **userdata;
	uint64_t bias;
	int fd, err;

	fd = open_mapped(u->pid, m);
	if (fd < 0)
		return fd;
	err = load_bias(fd, m, &bias);
	if (err) {
		close(fd);
		return err;
	}
	/* add_p_vaddr: base is the load bias itself (runtime = base + p_vaddr). */
	mod = dwfl_report_elf(u->dwfl, m->path, m->path, fd, bias, true);
	if (!mod) {
		close(fd);
		return -EEXIST;
	}
	if (!dwfl_module_info(mod, &userdata, &e->low, &e->high, NULL, NULL, NULL, NULL))
		return -EINVAL;
	*userdata = u;
	return 0;
}

/*
 * Reports the executable file mappings of `maps`. Modules of `old` (the
 * previous snapshot) that are the same load of the same file are kept with
 * their parsed CFI. Returns -EEXIST when a new file clashes with a kept
 * module (the caller then starts afresh), else 0 or -ENOMEM. Files that
 * cannot be opened or are not ELF are left out: unwinding stops there.
 */
static int report_maps(struct unwinder *u, const struct procmaps *maps, struct unw_table *old)
{
	struct unw_table t = { 0 };
	size_t i;
	int err = 0;

	dwfl_report_begin(u->dwfl);
	for (i = 0; i < maps->nr; i++) {
		const struct procmap *m = &maps->maps[i];
		struct unw_module *e, *prev;

		/* Only code needs CFI; data mappings of the same file belong to its module. */
		if (m->perms[2] != 'x' || m->path[0] != '/' || table_find(&t, m))
			continue;
		e = table_add(&t);
		if (!e) {
			err = -ENOMEM;
			goto cleanup;
		}
		e->path = strdup(m->path);
		if (!e->path) {
			t.nr--;
			err = -ENOMEM;
			goto cleanup;
		}
		e->dev_major = m->dev_major;
		e->dev_minor = m->dev_minor;
		e->inode = m->inode;
		e->map_bias = m->start - m->offset;
		prev = old ? table_same(old, m) : NULL;
		if (prev && dwfl_report_module(u->dwfl, m->path, prev->low, prev->high)) {
			e->low = prev->low;
			e->high = prev->high;
			continue;
		}
		err = report_file(u, m, e);
		if (err == -EEXIST && old)
			goto cleanup;
		if (err == -ENOMEM)
			goto cleanup;
		if (err) {
			log_debug("unwind: leaving out '%s' of process %d: %s", m->path,
				  (int)u->pid, err == -EEXIST ? dwfl_errmsg(-1) : strerror(-err));
			free(e->path);
			t.nr--;
			err = 0;
		}
	}
	if (dwfl_report_end(u->dwfl, NULL, NULL)) {
		err = -ENOMEM;
		goto cleanup;
	}
	table_clear(&u->table);
	u->table = t;
	return 0;
cleanup:
	dwfl_report_end(u->dwfl, NULL, NULL);
	table_clear(&t);
	/* Some old modules may be gone now: trust none of them next time. */
	table_clear(&u->table);
	return err;
}

/* A fresh Dwfl with the modules of `maps` and the sample thread attached. */
static int build(struct unwinder *u, const struct procmaps *maps)
{
	int err;

	if (u->dwfl)
		dwfl_end(u->dwfl);
	u->attached = false;
	memset(u->cfi_cache, 0, sizeof(u->cfi_cache));
	if (u->rules)
		memset(u->rules, 0, RULE_CACHE_SIZE * sizeof(*u->rules));
	table_clear(&u->table);
	u->dwfl = dwfl_begin(&dwfl_callbacks);
	if (!u->dwfl)
		return -ENOMEM;
	err = report_maps(u, maps, NULL);
	if (err)
		return err;
	if (!dwfl_attach_state(u->dwfl, u->arch_elf, u->pid, &thread_callbacks, u)) {
		log_debug("unwind: cannot attach to process %d: %s", (int)u->pid, dwfl_errmsg(-1));
		return -EINVAL;
	}
	u->attached = true;
	return 0;
}

int unwinder__new(pid_t pid, const struct procmaps *maps, struct unwinder **out)
{
	struct unwinder *u;
	int err;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->pid = pid;
	/* A bare ELF header is all ebl needs to pick the x86_64 backend. */
	memcpy(u->arch_ehdr.e_ident, ELFMAG, SELFMAG);
	u->arch_ehdr.e_ident[EI_CLASS] = ELFCLASS64;
	u->arch_ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
	u->arch_ehdr.e_ident[EI_VERSION] = EV_CURRENT;
	u->arch_ehdr.e_type = ET_CORE;
	u->arch_ehdr.e_machine = EM_X86_64;
	u->arch_ehdr.e_version = EV_CURRENT;
	u->arch_ehdr.e_ehsize = sizeof(u->arch_ehdr);
	u->arch_elf = elf_memory((char *)&u->arch_ehdr, sizeof(u->arch_ehdr));
	if (!u->arch_elf) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = build(u, maps);
	if (err)
		goto cleanup;
	*out = u;
	return 0;
cleanup:
	unwinder__free(u);
	return err;
}

int unwinder__set_maps(struct unwinder *u, const struct procmaps *maps)
{
	int err;

	if (!u->attached)
		return build(u, maps);
	/* Addresses may now belong to other files. */
	memset(u->cfi_cache, 0, sizeof(u->cfi_cache));
	if (u->rules)
		memset(u->rules, 0, RULE_CACHE_SIZE * sizeof(*u->rules));
	err = report_maps(u, maps, &u->table);
	/* A file replaced at the same place cannot sit next to its old module: start afresh. */
	if (err == -EEXIST)
		err = build(u, maps);
	return err;
}

static bool addr_has_cfi(Dwfl_Module *mod, Dwarf_Addr addr, bool eh)
{
	Dwarf_Frame *frame;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi = eh ? dwfl_module_eh_cfi(mod, &bias) : dwfl_module_dwarf_cfi(mod, &bias);

	if (!cfi || dwarf_cfi_addrframe(cfi, addr - bias, &frame))
		return false;
	free(frame);
	return true;
}

/*
 * Whether CFI covers `addr`. Where none does (no module, or code without
 * an FDE) libdwfl falls back to following rbp, which in code built without
 * frame pointers is an ordinary register: the frames it yields are noise.
 * (Where CFI exists but needs bytes outside the copy, libdwfl itself stops.)
 */
static bool has_cfi(struct unwinder *u, Dwarf_Addr addr)
{
	/* Fibonacci hashing: the top 12 bits of the product index the cache. */
	struct cfi_slot *c = &u->cfi_cache[(addr * 0x9e3779b97f4a7c15ull) >> 52];
	Dwfl_Module *mod;

	if (c->addr == addr && addr)
		return c->has;
	mod = dwfl_addrmodule(u->dwfl, addr);
	c->addr = addr;
	c->has = mod && (addr_has_cfi(mod, addr, true) || addr_has_cfi(mod, addr, false));
	return c->has;
}

/* The copied stack, for the fast path. */
struct walk_mem {
	uint64_t sp;
	const unsigned char *stack;
	size_t len;
};

struct walk {
	struct unwinder *u;
	uint64_t first_ip;
	uint64_t *pcs;
	int max;
	int n;
	bool truncated;
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(state, &pc, NULL))
		return DWARF_CB_ABORT;
	/* The first frame was given ip - 1 (see set_initial_registers). */
	if (w->n == 0)
		pc = w->first_ip;
	else if (pc == 0)
		return DWARF_CB_ABORT;
	/* Having unwound one frame more than fits is what tells a truncated stack. */
	if (w->n == w->max) {
		w->truncated = true;
		return DWARF_CB_ABORT;
	}
	w->pcs[w->n++] = pc;
	/* Every pc is a return address: its call instruction's CFI unwinds it. */
	if (!has_cfi(w->u, pc - 1))
		return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

/* The fast path's register for DWARF register `regno`, or NR_REGS. */
static enum unw_reg reg_of_dwarf(uint64_t regno)
{
	switch (regno) {
	case DW_X86_64_RSP:
		return R_SP;
	case DW_X86_64_RBP:
		return R_BP;
	case DW_X86_64_RBX:
		return R_BX;
	case DW_X86_64_R12:
	case DW_X86_64_R12 + 1:
	case DW_X86_64_R12 + 2:
	case DW_X86_64_R12 + 3:
		return (enum unw_reg)(R_R12 + (regno - DW_X86_64_R12));
	default:
		return NR_REGS;
	}
}

/*
 * Where `frame` says the caller's register `regno` is, as an offset from
 * the CFA (or SAVED_SAME, SAVED_UNDEF); false for any other rule. The forms
 * are libdw's documented encodings (dwarf_frame_register in libdw.h).
 */
static bool saved_at(Dwarf_Frame *frame, int regno, int16_t *off)
{
	Dwarf_Op mem[3], *ops;
	size_t nops;
	int64_t v;

	if (dwarf_frame_register(frame, regno, mem, &ops, &nops))
		return false;
	if (nops == 0) {
		*off = ops ? SAVED_UNDEF : SAVED_SAME;
		return true;
	}
	if (ops[0].atom != DW_OP_call_frame_cfa)
		return false;
	if (nops == 1) {
		*off = 0;
		return true;
	}
	if (nops != 2 || ops[1].atom != DW_OP_plus_uconst)
		return false;
	v = (int64_t)ops[1].number;
	if (v <= SAVED_UNDEF || v >= SAVED_SAME)
		return false;
	*off = (int16_t)v;
	return true;
}

/* Fills `r` for code address `addr` from the CFI libdwfl would use (.eh_frame first). */
static void make_rule(struct unwinder *u, uint64_t addr, struct unw_rule *r)
{
	static const int dwarf_regs[NR_REGS] = {
		[R_BP] = DW_X86_64_RBP,	     [R_BX] = DW_X86_64_RBX,
		[R_R12] = DW_X86_64_R12,     [R_R13] = DW_X86_64_R12 + 1,
		[R_R14] = DW_X86_64_R12 + 2, [R_R15] = DW_X86_64_R12 + 3
	};
	Dwfl_Module *mod = dwfl_addrmodule(u->dwfl, addr);
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr bias;
	Dwarf_CFI *cfi;
	Dwarf_Op *ops;
	size_t nops;
	bool signal;
	int i;

	memset(r, 0, sizeof(*r));
	r->addr = addr;
	r->kind = RULE_NONE;
	if (!mod)
		return;
	cfi = dwfl_module_eh_cfi(mod, &bias);
	if (!cfi || dwarf_cfi_addrframe(cfi, addr - bias, &frame)) {
		frame = NULL;
		cfi = dwfl_module_dwarf_cfi(mod, &bias);
		if (!cfi || dwarf_cfi_addrframe(cfi, addr - bias, &frame))
			return;
	}
	r->kind = RULE_COMPLEX;
	/* A signal frame's caller resumes at an exact pc: libdwfl knows that case. */
	if (dwarf_frame_info(frame, NULL, NULL, &signal) != 16 || signal)
		goto out;
	/* libdw gives a register + offset CFA as one DW_OP_bregx (or bregN). */
	if (dwarf_frame_cfa(frame, &ops, &nops) || nops != 1)
		goto out;
	if (ops[0].atom == DW_OP_bregx) {
		r->cfa_reg = (uint8_t)reg_of_dwarf(ops[0].number);
		if ((int64_t)ops[0].number2 < INT32_MIN || (int64_t)ops[0].number2 > INT32_MAX)
			goto out;
		r->cfa_off = (int32_t)(int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		r->cfa_reg = (uint8_t)reg_of_dwarf(ops[0].atom - DW_OP_breg0);
		if ((int64_t)ops[0].number < INT32_MIN || (int64_t)ops[0].number > INT32_MAX)
			goto out;
		r->cfa_off = (int32_t)(int64_t)ops[0].number;
	} else {
		goto out;
	}
	if (r->cfa_reg == NR_REGS || !saved_at(frame, 16, &r->ra_off) || r->ra_off == SAVED_SAME)
		goto out;
	for (i = R_BP; i < NR_REGS; i++)
		if (!saved_at(frame, dwarf_regs[i], &r->saved[i]))
			goto out;
	r->kind = r->ra_off == SAVED_UNDEF ? RULE_LAST : RULE_SIMPLE;
out:
	free(frame);
}

static const struct unw_rule *rule_for(struct unwinder *u, uint64_t addr)
{
	/* Fibonacci hashing: the top 11 bits of the product index the cache. */
	struct unw_rule *r = &u->rules[(addr * 0x9e3779b97f4a7c15ull) >> 53];

	if (r->addr != addr || !r->addr)
		make_rule(u, addr, r);
	return r;
}

static bool read_word(const struct walk_mem *m, uint64_t addr, uint64_t *out)
{
	if (addr < m->sp || m->len < 8 || addr - m->sp > m->len - 8)
		return false;
	memcpy(out, m->stack + (addr - m->sp), 8);
	return true;
}

/*
 * Unwinds with cached rules only: the same walk libdwfl makes (the first
 * frame's CFI at ip - 1, every later one's at its return address - 1, the
 * end at a frame without CFI, an undefined return address, a 0 pc or a
 * read outside the copy). -EAGAIN when a frame needs libdwfl.
 */
static int fast_walk(struct unwinder *u, const struct unwind_regs *regs, const void *stack,
		     size_t stack_len, uint64_t *pcs, int max, int *truncated)
{
	const struct walk_mem mem = { .sp = regs->sp, .stack = stack, .len = stack_len };
	uint64_t v[NR_REGS] = { regs->sp,  regs->bp,  regs->bx, regs->r12,
				regs->r13, regs->r14, regs->r15 };
	unsigned known = (1u << NR_REGS) - 1; /* which of v[] hold the caller's values */
	uint64_t pc = regs->ip, cfa, ra, nv[NR_REGS];
	const struct unw_rule *r;
	int n = 0, i;

	if (!u->rules) {
		u->rules = calloc(RULE_CACHE_SIZE, sizeof(*u->rules));
		if (!u->rules)
			return -EAGAIN;
	}
	pcs[n++] = pc;
	for (;;) {
		r = rule_for(u, pc - 1);
		if (r->kind == RULE_COMPLEX)
			return -EAGAIN;
		if (r->kind != RULE_SIMPLE || !(known & (1u << r->cfa_reg)))
			break;
		cfa = v[r->cfa_reg] + (uint64_t)(int64_t)r->cfa_off;
		if (!read_word(&mem, cfa + (uint64_t)(int64_t)r->ra_off, &ra) || ra == 0)
			break;
		for (i = R_BP; i < NR_REGS; i++) {
			if (r->saved[i] == SAVED_SAME)
				nv[i] = v[i];
			else if (r->saved[i] == SAVED_UNDEF ||
				 !read_word(&mem, cfa + (uint64_t)(int64_t)r->saved[i], &nv[i]))
				known &= ~(1u << i);
		}
		memcpy(&v[R_BP], &nv[R_BP], sizeof(v) - sizeof(v[0]));
		v[R_SP] = cfa;
		if (n == max) {
			*truncated = 1;
			break;
		}
		pcs[n++] = pc = ra;
	}
	return n;
}

void unwinder__use_libdw_only(struct unwinder *u, bool on)
{
	u->libdw_only = on;
}

int unwinder__unwind(struct unwinder *u, const struct unwind_regs *regs, const void *stack,
		     size_t stack_len, uint64_t *pcs, int max, int *truncated)
{
	struct walk w = { .u = u, .first_ip = regs->ip, .pcs = pcs, .max = max };
	int n;

	*truncated = 0;
	if (max < 1)
		return -EINVAL;
	if (!u->attached) {
		pcs[0] = regs->ip;
		return 1;
	}
	if (!u->libdw_only) {
		n = fast_walk(u, regs, stack, stack_len, pcs, max, truncated);
		if (n != -EAGAIN)
			return n;
		*truncated = 0;
	}
	u->regs = regs;
	u->stack = stack;
	u->stack_len = stack_len;
	/* Errors only end the walk: what was unwound so far is the answer. */
	dwfl_getthread_frames(u->dwfl, u->pid, frame_cb, &w);
	u->regs = NULL;
	u->stack = NULL;
	u->stack_len = 0;
	if (w.n == 0)
		pcs[w.n++] = regs->ip;
	*truncated = w.truncated;
	return w.n;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	if (u->dwfl)
		dwfl_end(u->dwfl);
	table_clear(&u->table);
	elf_end(u->arch_elf);
	free(u->rules);
	free(u);
}
