/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tap.h - a minimal TAP producer for unit tests run by prove.
 *
 * ok(cond, fmt, ...) prints one test line; done_testing() prints the plan
 * and returns the exit status (non-zero when any test failed).
 */
#ifndef HEAPTRACE_TAP_H
#define HEAPTRACE_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count;
static int tap_failed;

__attribute__((format(printf, 2, 3))) static inline int ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}

#endif /* HEAPTRACE_TAP_H */
