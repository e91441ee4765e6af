// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* wrappers.c - see wrappers.h. */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "output/wrappers.h"
#include "util/vec.h"

/*
 * Functions whose only business is to call the allocator and check or
 * account its answer. Names of the form xmalloc are the GNU convention
 * (gnulib, binutils, git's xmalloc.c); the others are the wrappers of
 * widespread runtimes and libraries.
 */
const char *const wrapper_patterns[] = {
	/* GNU-style out-of-memory-checking wrappers */
	"xmalloc",
	"xcalloc",
	"xrealloc",
	"xreallocarray",
	"xzalloc",
	"xstrdup",
	"xstrndup",
	"xmemdup",
	"xnmalloc",
	"xnrealloc",
	"x2realloc",
	"x2nrealloc",
	"ximalloc",
	"xicalloc",
	/* redis, and programs that copied its zmalloc.c (not zmalloc_get_rss and such) */
	"zmalloc",
	"zmalloc_usable",
	"zmalloc_no_tcache",
	"zcalloc",
	"zcalloc_num",
	"zcalloc_usable",
	"zrealloc",
	"zrealloc_usable",
	"ztrymalloc*",
	"ztrycalloc*",
	"ztryrealloc*",
	"zstrdup",
	/* Rust's global allocator shims and alloc::alloc */
	"__rust_alloc",
	"__rust_alloc_zeroed",
	"__rust_realloc",
	"__rdl_alloc",
	"__rdl_alloc_zeroed",
	"__rdl_realloc",
	"alloc::alloc::*",
	"std::sys::*::alloc::*",
	/* CPython's allocator layers */
	"PyMem_*",
	"_PyMem_*",
	"PyObject_Malloc",
	"PyObject_Calloc",
	"PyObject_Realloc",
	"_PyObject_Malloc",
	"_PyObject_Calloc",
	"_PyObject_Realloc",
	"pymalloc_alloc",
	"_PyObject_MallocWithType",
	/* GLib */
	"g_malloc",
	"g_malloc0",
	"g_malloc_n",
	"g_malloc0_n",
	"g_realloc",
	"g_realloc_n",
	"g_try_malloc",
	"g_try_malloc0",
	"g_try_malloc_n",
	"g_try_malloc0_n",
	"g_try_realloc",
	"g_try_realloc_n",
	"g_memdup2",
	"g_strdup",
	"g_strndup",
	NULL,
};

struct wrappers {
	char **extra; /* the user's patterns, owned */
	size_t nr, cap;
	bool none;
};

static int add_extra(struct wrappers *w, const char *start, size_t len)
{
	char *p;

	if (!len)
		return -EINVAL;
	if (VEC_RESERVE(w->extra, w->cap, w->nr + 1))
		return -ENOMEM;
	p = strndup(start, len);
	if (!p)
		return -ENOMEM;
	w->extra[w->nr++] = p;
	return 0;
}

int wrappers__new(const char *extra, bool show_all, struct wrappers **out)
{
	struct wrappers *w = calloc(1, sizeof(*w));
	const char *s = extra, *comma;
	int err = 0;

	if (!w)
		return -ENOMEM;
	w->none = show_all;
	while (s && !err) {
		comma = strchr(s, ',');
		err = add_extra(w, s, comma ? (size_t)(comma - s) : strlen(s));
		s = comma ? comma + 1 : NULL;
	}
	if (err) {
		wrappers__free(w);
		return err;
	}
	*out = w;
	return 0;
}

bool wrappers__match(const struct wrappers *w, const char *function)
{
	size_t i;

	if (!w || w->none || !function)
		return false;
	for (i = 0; wrapper_patterns[i]; i++)
		if (!fnmatch(wrapper_patterns[i], function, 0))
			return true;
	for (i = 0; i < w->nr; i++)
		if (!fnmatch(w->extra[i], function, 0))
			return true;
	return false;
}

void wrappers__free(struct wrappers *w)
{
	size_t i;

	if (!w)
		return;
	for (i = 0; i < w->nr; i++)
		free(w->extra[i]);
	free(w->extra);
	free(w);
}
