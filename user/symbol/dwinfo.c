// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * dwinfo.c - address to file:line with inlined frames, through libdw.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "symbol/dwinfo.h"
#include "util/vec.h"

/* Deeper inlining than this is truncated (outer frames are kept first). */
#define MAX_INLINE_DEPTH 64
/* Bound on the recursion through nested scopes and namespaces. */
#define MAX_NESTING 128

/* An address range of one subprogram (concrete, out-of-line instance). */
struct dw_func {
	uint64_t lo, hi;
	Dwarf_Off die;
};

/* A source file of a CU's line table, as returned: absolute when possible. */
struct dw_path {
	const char *path;
	bool owned;
};

struct dw_cu {
	Dwarf_Off die;
	bool indexed;
	struct dw_func *funcs; /* sorted by lo once indexed */
	size_t nr_funcs;
	struct dw_path *paths; /* by file index, filled on use */
	size_t nr_paths;
};

/* An address range of one compilation unit. */
struct dw_range {
	uint64_t lo, hi;
	size_t cu;
};

struct dwinfo {
	Dwarf *dw;
	bool ranges_built;
	struct dw_cu *cus;
	size_t nr_cus, cap_cus;
	struct dw_range *ranges;
	size_t nr_ranges;
};

int dwinfo__open(Elf *elf, struct dwinfo **out)
{
	struct dwinfo *d;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dw = dwarf_begin_elf(elf, DWARF_C_READ, NULL);
	if (!d->dw) {
		free(d);
		return -ENODATA;
	}
	*out = d;
	return 0;
}

void dwinfo__free(struct dwinfo *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr_cus; i++) {
		size_t j;

		for (j = 0; j < d->cus[i].nr_paths; j++) {
			if (d->cus[i].paths[j].owned)
				free((char *)d->cus[i].paths[j].path);
		}
		free(d->cus[i].paths);
		free(d->cus[i].funcs);
	}
	free(d->cus);
	free(d->ranges);
	dwarf_end(d->dw);
	free(d);
}

static int add_cu(struct dwinfo *d, Dwarf_Off die, size_t *idx)
{
	int err = VEC_RESERVE(d->cus, d->cap_cus, d->nr_cus + 1);

	if (err)
		return err;
	memset(&d->cus[d->nr_cus], 0, sizeof(*d->cus));
	d->cus[d->nr_cus].die = die;
	*idx = d->nr_cus++;
	return 0;
}

static int cmp_range(const void *a, const void *b)
{
	const struct dw_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Reads the address ranges of every compilation unit, once. */
static int build_cu_ranges(struct dwinfo *d)
{
	Dwarf_CU *cu = NULL, *next;
	size_t cap = 0;
	Dwarf_Half version;
	uint8_t unit_type;
	Dwarf_Die cudie;
	int err = 0;

	d->ranges_built = true;
	while (dwarf_get_units(d->dw, cu, &next, &version, &unit_type, &cudie, NULL) == 0) {
		Dwarf_Addr base, lo, hi;
		ptrdiff_t off = 0;
		size_t idx;

		cu = next;
		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial &&
		    unit_type != DW_UT_skeleton)
			continue;
		err = add_cu(d, dwarf_dieoffset(&cudie), &idx);
		if (err)
			break;
		while ((off = dwarf_ranges(&cudie, off, &base, &lo, &hi)) > 0) {
			if (lo >= hi)
				continue;
			err = VEC_RESERVE(d->ranges, cap, d->nr_ranges + 1);
			if (err)
				goto out;
			d->ranges[d->nr_ranges++] =
			    (struct dw_range){ .lo = lo, .hi = hi, .cu = idx };
		}
	}
out:
	if (d->nr_ranges > 1)
		qsort(d->ranges, d->nr_ranges, sizeof(*d->ranges), cmp_range);
	return err;
}

/* The CU containing addr, through our range table, else .debug_aranges. */
static struct dw_cu *find_cu(struct dwinfo *d, uint64_t addr)
{
	size_t lo = 0, hi, i, stop, idx;
	Dwarf_Die cudie;
	Dwarf_Off off;

	if (!d->ranges_built && build_cu_ranges(d))
		return NULL;
	hi = d->nr_ranges;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->ranges[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges rarely overlap; look back a little in case one does. */
	stop = lo > 4 ? lo - 4 : 0;
	for (i = lo; i > stop; i--) {
		if (addr < d->ranges[i - 1].hi)
			return &d->cus[d->ranges[i - 1].cu];
	}
	if (!dwarf_addrdie(d->dw, addr, &cudie))
		return NULL;
	off = dwarf_dieoffset(&cudie);
	for (i = 0; i < d->nr_cus; i++) {
		if (d->cus[i].die == off)
			return &d->cus[i];
	}
	if (add_cu(d, off, &idx))
		return NULL;
	return &d->cus[idx];
}

struct func_vec {
	struct dw_func *v;
	size_t nr, cap;
};

/* Collects subprograms with code, looking inside namespaces and classes. */
static int index_scope(Dwarf_Die *parent, struct func_vec *fv, int level)
{
	Dwarf_Die child;
	int err = 0;

	if (level > MAX_NESTING || dwarf_child(parent, &child))
		return 0;
	do {
		switch (dwarf_tag(&child)) {
		case DW_TAG_subprogram: {
			Dwarf_Addr base, lo, hi;
			ptrdiff_t off = 0;

			while ((off = dwarf_ranges(&child, off, &base, &lo, &hi)) > 0) {
				if (lo >= hi)
					continue;
				err = VEC_RESERVE(fv->v, fv->cap, fv->nr + 1);
				if (err)
					return err;
				fv->v[fv->nr++] = (struct dw_func){
					.lo = lo, .hi = hi, .die = dwarf_dieoffset(&child)
				};
			}
			break;
		}
		case DW_TAG_namespace:
		case DW_TAG_class_type:
		case DW_TAG_structure_type:
		case DW_TAG_union_type:
		case DW_TAG_module:
			err = index_scope(&child, fv, level + 1);
			if (err)
				return err;
			break;
		default:
			break;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static int cmp_func(const void *a, const void *b)
{
	const struct dw_func *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static const struct dw_func *find_func(struct dw_cu *cu, Dwarf_Die *cudie, uint64_t addr)
{
	size_t lo = 0, hi, i, stop;

	if (!cu->indexed) {
		struct func_vec fv = { 0 };

		cu->indexed = true;
		if (index_scope(cudie, &fv, 0)) {
			free(fv.v);
			return NULL;
		}
		if (fv.nr > 1)
			qsort(fv.v, fv.nr, sizeof(*fv.v), cmp_func);
		cu->funcs = fv.v;
		cu->nr_funcs = fv.nr;
	}
	hi = cu->nr_funcs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cu->funcs[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	stop = lo > 4 ? lo - 4 : 0;
	for (i = lo; i > stop; i--) {
		if (addr < cu->funcs[i - 1].hi)
			return &cu->funcs[i - 1];
	}
	return NULL;
}

static bool has_pc_attrs(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges);
}

/*
 * Walks down from `die` through the scopes containing addr, appending each
 * inlined subroutine to chain. A lexical block without any address is
 * transparent: its children are searched as if they were the parent's.
 * Returns whether some child scope contains addr.
 */
static bool descend(Dwarf_Die *die, uint64_t addr, Dwarf_Die *chain, int *depth, int level)
{
	Dwarf_Die child;

	if (level > MAX_NESTING || dwarf_child(die, &child))
		return false;
	do {
		int tag = dwarf_tag(&child);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_lexical_block &&
		    tag != DW_TAG_try_block && tag != DW_TAG_catch_block)
			continue;
		if (dwarf_haspc(&child, addr) > 0) {
			if (tag == DW_TAG_inlined_subroutine && *depth < MAX_INLINE_DEPTH)
				chain[(*depth)++] = child;
			descend(&child, addr, chain, depth, level + 1);
			return true;
		}
		if (tag == DW_TAG_lexical_block && !has_pc_attrs(&child) &&
		    descend(&child, addr, chain, depth, level + 1))
			return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

/*
 * A mangled linkage name (C++, Rust) is the qualified name, so it wins. A C
 * linkage name is only an assembler label (glibc's __GI_ aliases): the
 * source name is better there.
 */
static const char *die_name(Dwarf_Die *die)
{
	static const unsigned int linkage[] = { DW_AT_linkage_name, DW_AT_MIPS_linkage_name };
	Dwarf_Attribute attr;
	size_t i;

	for (i = 0; i < sizeof(linkage) / sizeof(linkage[0]); i++) {
		const char *name = dwarf_formstring(dwarf_attr_integrate(die, linkage[i], &attr));

		if (name && name[0] == '_' && (name[1] == 'Z' || name[1] == 'R'))
			return name;
	}
	return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

static int64_t die_decl_line(Dwarf_Die *die)
{
	int line;

	return dwarf_decl_line(die, &line) == 0 && line > 0 ? line : 0;
}

/*
 * File `idx` of the CU's line table. libdw leaves a file relative when its
 * directory entry is (GCC's DWARF 5 does that): prefix DW_AT_comp_dir so
 * every file reads as an absolute path.
 */
static const char *cu_file(struct dw_cu *cu, Dwarf_Die *cudie, Dwarf_Files *files, size_t nr,
			   size_t idx)
{
	const char *raw, *dir;
	Dwarf_Attribute attr;
	char *joined;

	if (idx >= nr)
		return NULL;
	if (!cu->paths) {
		cu->paths = calloc(nr, sizeof(*cu->paths));
		if (!cu->paths)
			return dwarf_filesrc(files, idx, NULL, NULL);
		cu->nr_paths = nr;
	}
	if (idx >= cu->nr_paths)
		return dwarf_filesrc(files, idx, NULL, NULL);
	if (cu->paths[idx].path)
		return cu->paths[idx].path;
	raw = dwarf_filesrc(files, idx, NULL, NULL);
	if (!raw)
		return NULL;
	cu->paths[idx].path = raw;
	dir = dwarf_formstring(dwarf_attr(cudie, DW_AT_comp_dir, &attr));
	if (raw[0] != '/' && dir && dir[0] && asprintf(&joined, "%s/%s", dir, raw) >= 0) {
		cu->paths[idx].path = joined;
		cu->paths[idx].owned = true;
	}
	return cu->paths[idx].path;
}

static void call_site(struct dw_cu *cu, Dwarf_Die *cudie, Dwarf_Die *inlined, Dwarf_Files *files,
		      size_t nr_files, const char **file, int64_t *line)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;

	*file = NULL;
	*line = 0;
	if (files && dwarf_formudata(dwarf_attr(inlined, DW_AT_call_file, &attr), &v) == 0)
		*file = cu_file(cu, cudie, files, nr_files, v);
	if (dwarf_formudata(dwarf_attr(inlined, DW_AT_call_line, &attr), &v) == 0)
		*line = (int64_t)v;
}

int dwinfo__resolve(struct dwinfo *d, uint64_t addr, struct dwinfo_frame *frames, int max)
{
	Dwarf_Die cudie, chain[MAX_INLINE_DEPTH];
	const struct dw_func *func;
	Dwarf_Files *files = NULL;
	const char *file = NULL;
	size_t nr_files = 0;
	struct dw_cu *cu;
	Dwarf_Line *row;
	int64_t line = 0;
	int depth = 0, n = 0, i;

	if (max <= 0)
		return 0;
	cu = find_cu(d, addr);
	if (!cu || !dwarf_offdie(d->dw, cu->die, &cudie))
		return 0;
	if (dwarf_getsrcfiles(&cudie, &files, &nr_files))
		files = NULL;
	row = dwarf_getsrc_die(&cudie, addr);
	if (row) {
		Dwarf_Files *row_files;
		size_t idx;
		int l = 0;

		if (files && !dwarf_line_file(row, &row_files, &idx) && row_files == files)
			file = cu_file(cu, &cudie, files, nr_files, idx);
		else
			file = dwarf_linesrc(row, NULL, NULL);
		if (dwarf_lineno(row, &l) == 0 && l > 0)
			line = l;
	}
	func = find_func(cu, &cudie, addr);
	if (func && dwarf_offdie(d->dw, func->die, &chain[0])) {
		depth = 1;
		descend(&chain[0], addr, chain, &depth, 0);
	}
	if (!depth) {
		if (!file && !line)
			return 0;
		frames[0] = (struct dwinfo_frame){ .file = file, .line = line };
		return 1;
	}
	for (i = depth - 1; i >= 0 && n < max; i--) {
		frames[n].name = die_name(&chain[i]);
		frames[n].file = file;
		frames[n].line = line;
		frames[n].start_line = die_decl_line(&chain[i]);
		n++;
		if (i > 0)
			call_site(cu, &cudie, &chain[i], files, nr_files, &file, &line);
	}
	return n;
}
