/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * log.h - heaptrace's messages on stderr, one line each, prefixed with
 * "heaptrace: ". Errors read "heaptrace: error: <problem>: <what to do>".
 */
#ifndef HEAPTRACE_LOG_H
#define HEAPTRACE_LOG_H

#include <stdbool.h>

extern bool log_verbose;

__attribute__((format(printf, 1, 2))) void log_error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void log_info(const char *fmt, ...);
/* Printed only with -v. */
__attribute__((format(printf, 1, 2))) void log_debug(const char *fmt, ...);

#endif /* HEAPTRACE_LOG_H */
