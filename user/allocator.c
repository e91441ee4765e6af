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

#include "allocator.h"

static const struct alloc_entry_point libc_entries[] = {
    {"malloc", HT_MALLOC, true},
    {"free", HT_FREE, true},
    {"calloc", HT_CALLOC, false},
    {"realloc", HT_REALLOC, false},
    {"reallocarray", HT_REALLOCARRAY, false},
    {"posix_memalign", HT_POSIX_MEMALIGN, false},
    {"aligned_alloc", HT_ALIGNED_ALLOC, false},
    {"memalign", HT_MEMALIGN, false},
    {"valloc", HT_VALLOC, false},
    {"pvalloc", HT_PVALLOC, false},
};

/* Itanium C++ ABI names (x86_64: size_t is unsigned long, 'm'). */
static const struct alloc_entry_point cxx_entries[] = {
    {"_Znwm", HT_OPERATOR_NEW, false},
    {"_Znam", HT_OPERATOR_NEW, false},
    {"_ZnwmRKSt9nothrow_t", HT_OPERATOR_NEW, false},
    {"_ZnamRKSt9nothrow_t", HT_OPERATOR_NEW, false},
    {"_ZnwmSt11align_val_t", HT_OPERATOR_NEW, false},
    {"_ZnamSt11align_val_t", HT_OPERATOR_NEW, false},
    {"_ZnwmSt11align_val_tRKSt9nothrow_t", HT_OPERATOR_NEW, false},
    {"_ZnamSt11align_val_tRKSt9nothrow_t", HT_OPERATOR_NEW, false},
};

static const char *const object_names[ALLOC_OBJ_NR_KINDS] = {
    [ALLOC_OBJ_LIBC] = "libc.so.6",
    [ALLOC_OBJ_CXX_NEW] = "libstdc++.so.6",
};

const struct alloc_entry_point *allocator__entry_points(enum alloc_object_kind kind, size_t *nr)
{
	switch (kind) {
	case ALLOC_OBJ_LIBC:
		*nr = sizeof(libc_entries) / sizeof(libc_entries[0]);
		return libc_entries;
	case ALLOC_OBJ_CXX_NEW:
		*nr = sizeof(cxx_entries) / sizeof(cxx_entries[0]);
		return cxx_entries;
	default:
		*nr = 0;
		return NULL;
	}
}

const char *allocator__object_name(enum alloc_object_kind kind)
{
	return kind < ALLOC_OBJ_NR_KINDS ? object_names[kind] : NULL;
}

const struct procmap *allocator__find(const struct procmaps *pm, enum alloc_object_kind kind)
{
	const char *name = allocator__object_name(kind);

	return name ? procmaps__find_object(pm, name) : NULL;
}

char *allocator__resolve_default(enum alloc_object_kind kind)
{
	const char *name = allocator__object_name(kind);
	struct link_map *lm = NULL;
	char *path = NULL;
	void *handle;

	if (!name)
		return NULL;
	/* Ask the dynamic linker itself: it applies the same search rules the
	 * command will. The library stays loaded; it is one we link anyway or
	 * a system library whose constructors are harmless. */
	handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	if (!handle)
		return NULL;
	if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name && lm->l_name[0])
		path = strdup(lm->l_name);
	return path;
}

/* Whether a symbol table entry names `symbol`, with or without a version. */
static bool symbol_matches(const char *name, const char *symbol)
{
	size_t n = strlen(symbol);

	return !strncmp(name, symbol, n) && (name[n] == '\0' || name[n] == '@');
}

/* The defined function `symbol` in `elf`: as libbpf finds it, .symtab then .dynsym. */
static bool find_function(Elf *elf, const char *symbol, GElf_Sym *out)
{
	static const Elf64_Word types[] = {SHT_SYMTAB, SHT_DYNSYM};
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
				    GELF_ST_TYPE(sym.st_info) != STT_FUNC)
					continue;
				name = elf_strptr(elf, sh.sh_link, sym.st_name);
				if (name && symbol_matches(name, symbol)) {
					*out = sym;
					return true;
				}
			}
		}
	}
	return false;
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

int allocator__plan(const char *path, enum alloc_object_kind kind, bool at_entry,
		    struct alloc_probe **out, size_t *nr)
{
	const struct alloc_entry_point *eps;
	struct alloc_probe *probes = NULL;
	Elf *elf = NULL;
	size_t n, i;
	int fd, err = 0;

	eps = allocator__entry_points(kind, &n);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		err = -ENOEXEC;
		goto cleanup;
	}
	probes = calloc(n ? n : 1, sizeof(*probes));
	if (!probes) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < n; i++) {
		struct alloc_probe *p = &probes[i];
		uint8_t *code = NULL;
		size_t len = 0;
		GElf_Sym sym;

		p->ep = &eps[i];
		p->found = find_function(elf, eps[i].symbol, &sym);
		if (!p->found)
			continue;
		code = function_code(elf, fd, &sym, &len);
		if (at_entry) {
			/* Still decode, to show the instruction the probe sits on. */
			probeplace__choose(code, len, &p->place);
			p->place.offset = 0;
			p->place.emulated = p->place.entry_emulated;
			memcpy(p->place.insn, p->place.entry_insn, sizeof(p->place.insn));
			snprintf(p->place.reason, sizeof(p->place.reason),
				 "entry: --probe-at-entry");
		} else {
			probeplace__choose(code, len, &p->place);
		}
		free(code);
	}
	*out = probes;
	*nr = n;
	probes = NULL;
cleanup:
	free(probes);
	if (elf)
		elf_end(elf);
	close(fd);
	return err;
}
