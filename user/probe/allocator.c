// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "probe/allocator.h"
#include "probe/discover.h"

/* Whether a symbol table entry names `symbol`, with or without a version. */
static bool symbol_matches(const char *name, const char *symbol)
{
	size_t n = strlen(symbol);

	return !strncmp(name, symbol, n) && (name[n] == '\0' || name[n] == '@');
}

/*
 * The function at link-time address `value` in `elf`, preferably named
 * `symbol` (.symtab, then .dynsym): its size bounds the code the probe site
 * is chosen in.
 */
static bool find_function(Elf *elf, const char *symbol, uint64_t value, GElf_Sym *out)
{
	static const Elf64_Word types[] = { SHT_SYMTAB, SHT_DYNSYM };
	bool found_other = false;
	GElf_Sym other;
	size_t t, i;

	for (t = 0; t < 2; t++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			Elf_Data *data;

			if (!gelf_getshdr(scn, &sh) || sh.sh_type != types[t] || !sh.sh_entsize)
				continue;
			data = elf_getdata(scn, NULL);
			if (!data)
				continue;
			for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
				GElf_Sym sym;
				const char *name;

				if (!gelf_getsym(data, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
				    GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
				    sym.st_value != value || !sym.st_size)
					continue;
				name = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (name && symbol_matches(name, symbol)) {
					*out = sym;
					return true;
				}
				if (!found_other) {
					other = sym;
					found_other = true;
				}
			}
		}
	}
	/* An alias at the same address (tcmalloc's malloc is tc_malloc) has the same code. */
	if (found_other)
		*out = other;
	return found_other;
}

/* Reads the function's bytes from its executable section; NULL when unknown. */
static uint8_t *function_code(Elf *elf, int fd, const GElf_Sym *sym, size_t *len)
{
	Elf_Scn *scn = NULL;
	uint8_t *code;
	GElf_Shdr sh;

	*len = 0;
	if (!sym->st_size)
		return NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR))
			continue;
		if (sym->st_value < sh.sh_addr ||
		    sym->st_value + sym->st_size > sh.sh_addr + sh.sh_size)
			continue;
		code = malloc(sym->st_size);
		if (!code)
			return NULL;
		if (pread(fd, code, sym->st_size,
			  (off_t)(sh.sh_offset + (sym->st_value - sh.sh_addr))) !=
		    (ssize_t)sym->st_size) {
			free(code);
			return NULL;
		}
		*len = sym->st_size;
		return code;
	}
	return NULL;
}

unsigned int allocator__needs(enum ht_entry entry)
{
	/* By how many argument registers the program reads, from the first. */
	static const unsigned int args[] = {
		0,
		PROBEPLACE_ARG1,
		PROBEPLACE_ARG1 | PROBEPLACE_ARG2,
		PROBEPLACE_ARG1 | PROBEPLACE_ARG2 | PROBEPLACE_ARG3,
	};

	switch (entry) {
#define NEEDS_(ENTRY, prog, SIG, CLASS, always_track)                                              \
	case HT_##ENTRY: {                                                                         \
		_Static_assert(HT_SIG_NARGS_##SIG < sizeof(args) / sizeof(args[0]),                \
			       "probeplace.h names three argument registers");                     \
		return args[HT_SIG_NARGS_##SIG] |                                                  \
		       (HT_CLASS_ALLOCATES_##CLASS ? PROBEPLACE_STACK : 0);                        \
	}
		HT_ENTRY_PROGRAMS(NEEDS_)
#undef NEEDS_
	case HT_NR_ENTRIES:
		break;
	}
	/* Not a program of the table: keep every register it could read. */
	return args[3] | PROBEPLACE_STACK;
}

/*
 * Whether `o`'s operator new family forwards every request from its own
 * code to a probed malloc or aligned_alloc (or jumps to a sibling that
 * does): the C++ runtimes' own. An operator new defined elsewhere (in an
 * executable, a custom pool) may reach malloc through helpers, or not at
 * all: its calls keep a return run each (see HT_COOKIE_FORWARDER).
 */
static bool forwards_to_malloc(const struct discover_object *o)
{
	const char *base = strrchr(o->path, '/');

	base = base ? base + 1 : o->path;
	return o->allocator == DISCOVER_ALLOC_CXXRT &&
	       (!strncmp(base, "libstdc++.so", 12) || !strncmp(base, "libc++.so", 9));
}

/* Chooses the probe site of every entry point of one object. */
static int plan_object(const struct discover_object *o, bool at_entry, struct alloc_object_plan *op)
{
	Elf *elf = NULL;
	size_t i;
	int fd, err = 0;

	op->path = strdup(o->path);
	op->shown = strdup(o->map_path);
	op->allocator = discover__allocator_name(o->allocator);
	op->sites = calloc(o->nr_entries ? o->nr_entries : 1, sizeof(*op->sites));
	if (!op->path || !op->shown || !op->sites)
		return -ENOMEM;
	fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	for (i = 0; i < o->nr_entries; i++) {
		const struct discover_entry *e = &o->entries[i];
		const struct discover_kind_info *info = discover__kind_info(e->kind);
		struct alloc_site *site = &op->sites[op->nr_sites++];
		uint8_t *code = NULL;
		size_t len = 0;
		GElf_Sym sym;
		bool found;

		site->symbol = e->symbol;
		site->entry = info->entry;
		site->allocates = info->allocates;
		found = find_function(elf, e->symbol, e->value, &sym);
		if (found)
			code = function_code(elf, fd, &sym, &len);
		/* Still decoded at the entry, to show the instruction the probe sits on. */
		probeplace__choose(code, len, allocator__needs(site->entry), &site->place);
		if (at_entry) {
			site->place.offset = 0;
			site->place.emulated = site->place.entry_emulated;
			memcpy(site->place.insn, site->place.entry_insn, sizeof(site->place.insn));
			snprintf(site->place.reason, sizeof(site->place.reason),
				 "entry: --probe-at-entry");
		}
		site->file_offset = e->offset + site->place.offset;
		if (found && site->entry == HT_OPERATOR_NEW && forwards_to_malloc(o) &&
		    site->place.offset < sym.st_size && sym.st_size <= 0xffffffffu)
			site->cookie = HT_COOKIE(true, site->place.offset, sym.st_size);
		free(code);
	}
cleanup:
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}

int allocator__plan(pid_t pid, const struct procmaps *pm, bool at_entry, struct alloc_plan **out)
{
	const struct discover_object *malloc_obj;
	struct alloc_plan *plan;
	struct discover *d = NULL;
	size_t i, n;
	int err;

	plan = calloc(1, sizeof(*plan));
	if (!plan)
		return -ENOMEM;
	err = discover__run(pm, pid, &d);
	if (err)
		goto cleanup;
	malloc_obj = discover__serving(d, DISCOVER_SERVES_MALLOC);
	plan->allocator = discover__allocator_name(discover__allocator(d));
	if (!malloc_obj) {
		/* An unreadable file may be the allocator: no guess about a static binary. */
		err = discover__nr_unread(d) ? -EIO : -ENOENT;
		goto cleanup;
	}
	n = discover__nr_objects(d);
	plan->objects = calloc(n ? n : 1, sizeof(*plan->objects));
	if (!plan->objects) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		const struct discover_object *o = discover__object(d, i);

		if (!o->nr_entries)
			continue;
		err = plan_object(o, at_entry, &plan->objects[plan->nr++]);
		if (err)
			goto cleanup;
	}
	*out = plan;
	plan = NULL;
cleanup:
	discover__free(d);
	allocator__plan_free(plan);
	return err;
}

void allocator__plan_free(struct alloc_plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->nr; i++) {
		free(plan->objects[i].path);
		free(plan->objects[i].shown);
		free(plan->objects[i].sites);
	}
	free(plan->objects);
	free(plan);
}

void allocator__plan_write(const struct alloc_plan *plan, FILE *f)
{
	size_t i, j;

	for (i = 0; i < plan->nr; i++) {
		const struct alloc_object_plan *op = &plan->objects[i];

		for (j = 0; j < op->nr_sites; j++)
			fprintf(f, "%s\t%s\t+0x%x\t%s\t%s%s\n", op->shown, op->sites[j].symbol,
				op->sites[j].place.offset, op->sites[j].place.insn,
				op->sites[j].place.reason,
				op->sites[j].cookie & HT_COOKIE_FORWARDER
				    ? "; forwards to malloc: a return run only when sampled"
				    : "");
	}
}
