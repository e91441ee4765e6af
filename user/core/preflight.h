/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * preflight.h - check, before loading anything, that this host and these
 * options can work, so each problem gets one clear line.
 */
#ifndef HEAPTRACE_PREFLIGHT_H
#define HEAPTRACE_PREFLIGHT_H

#include <stddef.h>

#include "core/env.h"

/*
 * Checks privileges, kernel support (BTF, uprobes), the output directory
 * and that every -p PID exists. Returns 0, or a negative errno with the
 * problem and its fix in err.
 */
int preflight__check(const struct env *env, char *err, size_t errlen);

#endif /* HEAPTRACE_PREFLIGHT_H */
