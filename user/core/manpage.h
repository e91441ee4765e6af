/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * manpage.h - heaptrace(8)'s OPTIONS section in roff, made from the option
 * table (env__option_doc()), so the manual lists exactly what --help does.
 * `heaptrace --help-man` prints it; the build puts it into dist/heaptrace.8.in.
 */
#ifndef HEAPTRACE_MANPAGE_H
#define HEAPTRACE_MANPAGE_H

#include <stdio.h>

/* Writes one .TP paragraph per documented option. Returns 0 or -EIO. */
int manpage__print_options(FILE *out);

#endif /* HEAPTRACE_MANPAGE_H */
