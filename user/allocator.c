// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

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
