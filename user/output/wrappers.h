/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * wrappers.h - allocation wrappers, folded out of the leaf of every stack.
 *
 * Most programs call malloc through a function of their own (xmalloc,
 * redis's zmalloc, GLib's g_malloc, CPython's PyMem_Malloc, Rust's
 * __rust_alloc): left as the leaf, the wrapper takes all the flat value.
 * As Go's profiles hide runtime.malloc, a profile's stacks start at the
 * first frame that is not a wrapper, so the leaf is the code that asked.
 *
 * One table, wrapper_patterns[] (wrappers.c), holds the built-in patterns:
 * fnmatch(3) globs matched against a function's (demangled) name.
 * --fold-wrappers adds patterns, --show-wrappers folds nothing.
 */
#ifndef HEAPTRACE_WRAPPERS_H
#define HEAPTRACE_WRAPPERS_H

#include <stdbool.h>

struct wrappers;

/* The built-in patterns, NULL-terminated. */
extern const char *const wrapper_patterns[];

/*
 * The patterns to fold: the built-in ones plus `extra` (comma-separated
 * globs, or NULL); with show_all none at all. -EINVAL for an empty
 * pattern in extra, -ENOMEM.
 */
int wrappers__new(const char *extra, bool show_all, struct wrappers **out);

/* Whether `function` is a wrapper to fold. */
bool wrappers__match(const struct wrappers *w, const char *function);

/* wrappers__free(NULL) is a no-op. */
void wrappers__free(struct wrappers *w);

#endif /* HEAPTRACE_WRAPPERS_H */
