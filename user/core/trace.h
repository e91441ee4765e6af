/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * trace.h - the tracing mode: check the host, set up the tracer, trace
 * until the targets end, -d runs out or a signal comes.
 */
#ifndef HEAPTRACE_TRACE_H
#define HEAPTRACE_TRACE_H

#include "core/env.h"

/* Returns the process's exit status; prints its own errors. */
int trace__run(const struct env *env);

#endif /* HEAPTRACE_TRACE_H */
