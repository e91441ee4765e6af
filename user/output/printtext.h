/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * printtext.h - a heap profile for a person, as `heaptrace print` shows it:
 * the unbiased totals with their uncertainty at the profile's rate, then
 * one line per function, as `go tool pprof -top` counts them (flat: the
 * samples whose leaf, innermost inlined frame included, is the function;
 * cum: those with the function anywhere on the stack, once per stack).
 */
#ifndef HEAPTRACE_PRINTTEXT_H
#define HEAPTRACE_PRINTTEXT_H

#include <stdio.h>

#include "output/pprof.h"

/* Returns 0, -ENOMEM, or -EIO when writing failed. */
int printtext__write(FILE *out, const struct pprof_builder *b);

#endif /* HEAPTRACE_PRINTTEXT_H */
