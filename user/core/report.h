/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * report.h - `heaptrace report DIR|FILE...`: the leak analysis (output/leak.h)
 * of profiles already written. The files are grouped by process (the pid and
 * name of their first comment, else of their file name), each group read
 * in time order as one series, and the report written on stdout as text,
 * JSON (--json) or a self-contained HTML page (--html).
 */
#ifndef HEAPTRACE_REPORT_H
#define HEAPTRACE_REPORT_H

#include "core/env.h"

/* The mode's run function: 0, or 1 after saying why on stderr. */
int report__run(const struct env *env);

#endif /* HEAPTRACE_REPORT_H */
