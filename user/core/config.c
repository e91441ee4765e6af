// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * config.c - the configuration file (config.h): read it whole, split it in
 * lines in place, hand each `key = value` to env__set_option().
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/env.h"

/* A larger file is surely not a configuration file: refuse it rather than read it. */
#define CONFIG_MAX_BYTES (1u << 20)

struct config {
	char *text; /* the file, NUL-terminated; values in env point into it */
};

void config__free(struct config *cfg)
{
	if (!cfg)
		return;
	free(cfg->text);
	free(cfg);
}

/*
 * Reads the whole file into a NUL-terminated buffer of *lenp bytes, growing it
 * as it goes: the size stat() gives is 0 for a pipe (--config /dev/stdin).
 * Returns 0 or -errno (-EFBIG past CONFIG_MAX_BYTES).
 */
static int read_file(const char *path, char **text, size_t *lenp)
{
	size_t len = 0, cap = 4096, n;
	char *buf = NULL, *bigger;
	FILE *f;
	int err = 0;

	*text = NULL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	for (;;) {
		if (len == cap || !buf) {
			if (buf)
				cap *= 2;
			bigger = realloc(buf, cap + 1);
			if (!bigger) {
				err = -ENOMEM;
				goto cleanup;
			}
			buf = bigger;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > CONFIG_MAX_BYTES) {
			err = -EFBIG;
			goto cleanup;
		}
		if (n == 0)
			break;
	}
	if (ferror(f))
		err = errno ? -errno : -EIO; /* EISDIR for a directory */
cleanup:
	fclose(f);
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*text = buf;
	*lenp = len;
	return 0;
}

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A key is a long option name: lower-case letters, digits and '-'. */
static bool is_key(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && *s != '-')
			return false;
	return true;
}

/* Whether the command line gave the option `key` (its bit in cli_given). */
static bool given_on_command_line(uint64_t cli_given, const char *key)
{
	/* env__given() reads only `given`: a view of the command line's bits. */
	struct env view = { .given = cli_given };

	return env__given(&view, key);
}

/* One line (already without its '\n'). Returns 0 or -EINVAL with err set. */
static int apply_line(struct env *env, const char *path, unsigned lineno, char *line,
		      uint64_t cli_given, char *err, size_t errlen)
{
	char msg[384], *key, *value = NULL, *eq;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (eq) {
		*eq = '\0';
		value = trim(eq + 1);
	}
	key = trim(line);
	if (!is_key(key)) {
		snprintf(err, errlen,
			 "%s:%u: '%s' is not a setting: write `long-option-name = value` (or "
			 "start the line with '#' for a comment)",
			 path, lineno, key);
		return -EINVAL;
	}
	if (value && !*value) {
		snprintf(err, errlen,
			 "%s:%u: no value for '%s': write `%s = VALUE`, or remove the line", path,
			 lineno, key, key);
		return -EINVAL;
	}
	if (!strcmp(key, "config")) {
		snprintf(err, errlen,
			 "%s:%u: a config file cannot name another: give --config on the command "
			 "line",
			 path, lineno);
		return -EINVAL;
	}
	if (given_on_command_line(cli_given, key))
		return 0;
	if (env__set_option(env, key, value, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, msg);
		return -EINVAL;
	}
	return 0;
}

int config__load(struct config **out, struct env *env, const char *path, bool must_exist,
		 uint64_t cli_given, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	char *line, *next;
	unsigned lineno = 0;
	size_t len = 0;
	int ret;

	*out = NULL;
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory reading config file '%s': free some memory",
			 path);
		goto cleanup;
	}
	ret = read_file(path, &cfg->text, &len);
	if (ret == -ENOENT && !must_exist) {
		config__free(cfg);
		return 0;
	}
	if (ret == -EFBIG) {
		snprintf(err, errlen,
			 "config file '%s' is larger than %u bytes: give a heaptrace config file",
			 path, CONFIG_MAX_BYTES);
		goto cleanup;
	}
	if (ret) {
		snprintf(err, errlen,
			 "cannot read config file '%s': %s: give a readable file, or --config "
			 "/dev/null for none",
			 path, strerror(-ret));
		goto cleanup;
	}
	if (strlen(cfg->text) != len) {
		ret = -EINVAL;
		snprintf(err, errlen,
			 "config file '%s' holds a NUL byte: give a text file of `key = value` "
			 "lines",
			 path);
		goto cleanup;
	}
	/* From here on env may point into the text: it is the caller's, error or not. */
	*out = cfg;
	for (line = cfg->text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		ret = apply_line(env, path, lineno, line, cli_given, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
cleanup:
	config__free(cfg);
	return ret;
}
