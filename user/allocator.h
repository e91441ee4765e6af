/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * allocator.h - which objects serve a process's allocations, and which of
 * their symbols are allocator entry points.
 *
 * For now the C allocator is the libc.so.6 mapped by the process (glibc's
 * malloc), and C++'s operator new family lives in libstdc++.so.6 when the
 * process maps it. Entry points are probed on those objects' files.
 */
#ifndef HEAPTRACE_ALLOCATOR_H
#define HEAPTRACE_ALLOCATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "heaptrace.h"
#include "probeplace.h"
#include "procmaps.h"

/* One probed symbol. */
struct alloc_entry_point {
	const char *symbol;
	enum ht_entry entry;
	bool required; /* attach fails when the object lacks it */
};

enum alloc_object_kind {
	ALLOC_OBJ_LIBC,	   /* malloc, free and the C family */
	ALLOC_OBJ_CXX_NEW, /* operator new and new[] variants */
	ALLOC_OBJ_NR_KINDS,
};

/* The entry points to probe on an object of `kind`; *nr receives their count. */
const struct alloc_entry_point *allocator__entry_points(enum alloc_object_kind kind, size_t *nr);

/* The file name an object of `kind` is found by in a process's mappings. */
const char *allocator__object_name(enum alloc_object_kind kind);

/* The mapping of the object of `kind` in `pm`, or NULL when the process has none. */
const struct procmap *allocator__find(const struct procmaps *pm, enum alloc_object_kind kind);

/*
 * Path of the object of `kind` as the dynamic linker of this process would
 * load it; used for a command heaptrace starts itself, which has mapped
 * nothing yet. Returns a malloc'ed string or NULL when it cannot be found.
 */
char *allocator__resolve_default(enum alloc_object_kind kind);

/* Where one entry point of an object is probed. */
struct alloc_probe {
	const struct alloc_entry_point *ep;
	bool found;		 /* the object defines the symbol */
	struct probeplace place; /* the entry probe's site; return probes share it */
};

/*
 * Reads the object at `path` (an ELF file) and chooses the probe site of
 * each entry point of `kind` with probeplace__choose, or the symbol itself
 * for every one when `at_entry`. On success *out is a malloc'ed array of *nr
 * probes, in allocator__entry_points order, that the caller frees. Returns
 * 0 or a negative errno when the file cannot be read as ELF.
 */
int allocator__plan(const char *path, enum alloc_object_kind kind, bool at_entry,
		    struct alloc_probe **out, size_t *nr);

#endif /* HEAPTRACE_ALLOCATOR_H */
