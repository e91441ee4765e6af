// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* The config file (user/core/config.c), on files of the test's own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/env.h"
#include "tap.h"

static char path[] = "/tmp/test_config.XXXXXX";

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* Loads `text` over defaults with the command line's bits `cli`; err gets the message. */
static int load(const char *text, struct env *env, uint64_t cli, char *err)
{
	env__set_defaults(env);
	env->given = cli;
	write_file(text, strlen(text));
	*err = '\0';
	return config__load(&env->config, env, path, true, cli, err, 512);
}

static void test_settings(void)
{
	struct env env;
	char err[512];
	int ret;

	ret = load("# a comment\n\n  interval = 2s  \nsample-rate=64k\noutput-dir = /var/x y\n"
		   "follow-forks\nalloc-only = yes\nalloc-only = no\npid = 10\npid = 20\n"
		   "unwind = fp\n\t# indented comment\nmax-overhead = off",
		   &env, 0, err);
	ok(ret == 0, "a good file loads (%s)", err);
	ok(env.interval_ns == 2000000000ull, "interval = 2s");
	ok(env.sample_rate == 65536, "sample-rate=64k, no blanks");
	ok(env.output_dir && !strcmp(env.output_dir, "/var/x y"), "a value keeps inner blanks");
	ok(env.follow_forks, "a bare flag sets it");
	ok(!env.alloc_only, "a later line wins");
	ok(env.nr_pids == 2 && env.pids[0] == 10 && env.pids[1] == 20, "each pid line adds one");
	ok(env.unwind == ENV_UNWIND_FP, "a choice");
	ok(env.max_overhead == 0, "the last line needs no newline");
	ok(env__given(&env, "interval") && env__given(&env, "follow-forks"),
	   "the file's settings count as given");
	env__free(&env);
	ok(env.config == NULL, "env__free frees the file's text");
}

static void test_command_line_wins(void)
{
	static const char text[] =
	    "interval = 1s\nsample-rate = 1\nfollow-forks = false\npid = 9\n";
	struct env cli;
	char err[512];
	char *argv[] = { "heaptrace", "-i", "7s", "--follow-forks", "--config", path,
			 "-p",	      "5",  NULL };

	/* The real order: the command line is parsed, then the file fills in the rest. */
	write_file(text, strlen(text));
	ok(env__parse(8, argv, &cli, err, sizeof(err)) == ENV_RUN, "parse with --config (%s)", err);
	ok(cli.interval_ns == 7000000000ull, "-i wins over the file's interval");
	ok(cli.follow_forks, "--follow-forks wins over the file's false");
	ok(cli.nr_pids == 1 && cli.pids[0] == 5, "-p wins over the file's pid lines");
	ok(cli.sample_rate == 1, "what the command line leaves comes from the file");
	env__free(&cli);
}

static void test_errors(void)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "interval = 1s\nbogus = 1\n",
		  ":2: unknown option 'bogus': see heaptrace --help" },
		{ "interval = 1 s\n", ":1: invalid interval '1 s'" },
		{ "[section]\n",
		  ":1: '[section]' is not a setting: write `long-option-name = value`" },
		{ "Interval = 1s\n", ":1: 'Interval' is not a setting" },
		{ "= 1s\n", ":1: '' is not a setting" },
		{ "interval =   \n", ":1: no value for 'interval': write `interval = VALUE`" },
		{ "interval\n", ":1: option 'interval' needs a value" },
		{ "help\n", ":1: 'help' is an action, not a setting" },
		{ "config = /x\n", ":1: a config file cannot name another" },
		{ "follow-forks = 2\n",
		  ":1: invalid value '2' for --follow-forks: use true or false" },
	};
	struct env env;
	char err[512], want[640];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(want, sizeof(want), "%s%s", path, cases[i].want);
		ok(load(cases[i].text, &env, 0, err) == -EINVAL &&
		       !strncmp(err, want, strlen(want)),
		   "error %zu: '%s'", i, err);
		ok(env.config != NULL, "error %zu: the text stays with env, for env__free", i);
		env__free(&env);
	}
	env__set_defaults(&env);
	write_file("a\0b\n", 4);
	ok(config__load(&env.config, &env, path, true, 0, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "holds a NUL byte"),
	   "a NUL byte: '%s'", err);
	ok(config__load(&env.config, &env, "/nonexistent/h.conf", false, 0, err, sizeof(err)) ==
		   0 &&
	       env.config == NULL,
	   "a missing default file is no error");
	ok(config__load(&env.config, &env, "/nonexistent/h.conf", true, 0, err, sizeof(err)) ==
		   -ENOENT &&
	       strstr(err, "--config /dev/null for none"),
	   "a missing --config file: '%s'", err);
	ok(config__load(&env.config, &env, "/dev/null", true, 0, err, sizeof(err)) == 0,
	   "/dev/null: an empty file");
	config__free(env.config);
	env.config = NULL;
	ok(config__load(&env.config, &env, "/", true, 0, err, sizeof(err)) == -EISDIR &&
	       strstr(err, "Is a directory"),
	   "a directory: '%s'", err);
	env__free(&env);
}

int main(void)
{
	int fd = mkstemp(path);

	if (fd < 0) {
		perror("mkstemp");
		return 1;
	}
	close(fd);
	test_settings();
	test_command_line_wins();
	test_errors();
	unlink(path);
	config__free(NULL);
	return done_testing();
}
