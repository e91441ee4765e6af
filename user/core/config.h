/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * config.h - the configuration file: the same settings as the command line,
 * one `long-option-name = value` a line.
 *
 * Syntax: blank lines and lines whose first non-blank character is '#' are
 * ignored; every other line is `key = value` (blanks around both are
 * dropped) or, for a flag, a bare `key`. The keys are the long option names
 * without "--"; values are parsed and checked exactly as on the command
 * line (env__set_option()). A key the command line gave is skipped: the
 * command line wins. Within the file, a later line wins over an earlier
 * one (and each `pid` line adds a target).
 *
 * Ownership: string values are kept by pointer in struct env, so the
 * struct config that holds the file's text must outlive env; env__free()
 * frees it (env->config).
 */
#ifndef HEAPTRACE_CONFIG_H
#define HEAPTRACE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct env;
struct config;

/* Read when it exists and no --config is given. */
#define CONFIG_DEFAULT_PATH "/etc/heaptrace/heaptrace.conf"

/*
 * Reads the file at path and applies each setting to env, skipping the
 * options whose bit is set in cli_given (what the command line gave, as in
 * env->given). A missing file is no error when !must_exist (the default
 * path). *out holds the file's text once it is read (NULL when none was),
 * also when a line is bad: env may then hold the settings of the lines
 * before it, which point into that text, so it is freed with env.
 * Returns 0, or -errno with one line in err naming the file and line, the
 * problem and the fix.
 */
int config__load(struct config **out, struct env *env, const char *path, bool must_exist,
		 uint64_t cli_given, char *err, size_t errlen);

/* Frees the file's text; config__free(NULL) is a no-op. */
void config__free(struct config *cfg);

#endif /* HEAPTRACE_CONFIG_H */
