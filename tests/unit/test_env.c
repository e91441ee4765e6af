// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Command-line parsing (user/core/env.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/env.h"
#include "tap.h"

static int parse(const char *line, struct env *env, char *err)
{
	static char buf[1024];
	char *argv[32];
	int argc = 0;
	char *tok;

	snprintf(buf, sizeof(buf), "%s", line);
	for (tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	return env__parse(argc, argv, env, err, 256);
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		uint64_t ns;
	} good[] = {
	    {"500ms", 500000000ull},  {"30s", 30000000000ull}, {"5m", 300000000000ull},
	    {"1h", 3600000000000ull}, {"2", 2000000000ull},    {"1.5s", 1500000000ull},
	    {"250us", 250000ull},
	};
	static const char *const bad[] = {"", "10x", "-1s", "0s", "s", "1 s", "abc", "1e30h"};
	uint64_t ns;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(env__parse_duration(good[i].s, &ns) == 0 && ns == good[i].ns,
		   "duration '%s' = %llu ns", good[i].s, (unsigned long long)good[i].ns);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(env__parse_duration(bad[i], &ns) == -EINVAL, "duration '%s' is rejected",
		   bad[i]);
}

static void test_bytes(void)
{
	uint64_t b;

	ok(env__parse_bytes("524288", &b) == 0 && b == 524288, "plain byte count");
	ok(env__parse_bytes("512k", &b) == 0 && b == 524288, "512k");
	ok(env__parse_bytes("1MiB", &b) == 0 && b == 1048576, "1MiB");
	ok(env__parse_bytes("1", &b) == 0 && b == 1, "1");
	ok(env__parse_bytes("0", &b) == -EINVAL, "0 is rejected");
	ok(env__parse_bytes("abc", &b) == -EINVAL, "abc is rejected");
	ok(env__parse_bytes("-5", &b) == -EINVAL, "negative is rejected");
	ok(env__parse_bytes("12q", &b) == -EINVAL, "unknown suffix is rejected");
}

static void test_command_lines(void)
{
	struct env env;
	char err[256];

	ok(parse("heaptrace -p 12 -p 34 -i 500ms -o /tmp -r 1 -d 5s", &env, err) == ENV_RUN &&
	       env.nr_pids == 2 && env.pids[0] == 12 && env.pids[1] == 34 &&
	       env.interval_ns == 500000000ull && env.sample_rate == 1 &&
	       env.duration_ns == 5000000000ull && !strcmp(env.output_dir, "/tmp"),
	   "full -p command line");
	env__free(&env);

	ok(parse("heaptrace -p 12", &env, err) == ENV_RUN && env.interval_ns == 30000000000ull &&
	       env.sample_rate == 524288 && !strcmp(env.output_dir, "."),
	   "defaults: 30s, 524288, current directory");
	env__free(&env);

	ok(parse("heaptrace -r 1 -- ./app -p 3 --x", &env, err) == ENV_RUN && env.command &&
	       !strcmp(env.command[0], "./app") && !strcmp(env.command[1], "-p") &&
	       !strcmp(env.command[3], "--x") && !env.command[4] && env.nr_pids == 0,
	   "the command keeps its own options");
	env__free(&env);

	ok(parse("heaptrace", &env, err) == ENV_RUN && env.system_wide && !env.follow_forks &&
	       env.max_processes == 1024,
	   "no target: system-wide, 1024 processes at most");
	env__free(&env);
	ok(parse("heaptrace --comm redis-server --cgroup /sys/fs/cgroup/x --follow-forks "
		 "--max-processes 10",
		 &env, err) == ENV_RUN &&
	       env.system_wide && env.follow_forks && env.max_processes == 10 &&
	       !strcmp(env.comm, "redis-server") && !strcmp(env.cgroup, "/sys/fs/cgroup/x"),
	   "system-wide filters");
	env__free(&env);
	ok(parse("heaptrace --comm abcdefghijklmnopq", &env, err) == -EINVAL &&
	       strstr(err, "--comm"),
	   "a name longer than 15 bytes: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace --comm x -- ./app", &env, err) == -EINVAL && strstr(err, "command"),
	   "a filter with a command: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace --list-allocators", &env, err) == -EINVAL &&
	       strstr(err, "nothing to list"),
	   "a listing without a target: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p abc", &env, err) == -EINVAL && strstr(err, "invalid PID"),
	   "bad pid: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 -i 10x", &env, err) == -EINVAL && strstr(err, "invalid interval"),
	   "bad interval: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 -r 0", &env, err) == -EINVAL && strstr(err, "sample rate"),
	   "bad rate: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --bogus", &env, err) == -EINVAL && strstr(err, "unknown option"),
	   "unknown option: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 -- ./app", &env, err) == -EINVAL && strstr(err, "both"),
	   "-p and a command: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --unwind fp --stack-size 8k --ring-size 1m", &env, err) ==
		   ENV_RUN &&
	       env.unwind == ENV_UNWIND_FP && env.stack_copy_size == 8192 &&
	       env.ring_size == 1048576,
	   "--unwind fp --stack-size 8k --ring-size 1m");
	env__free(&env);
	ok(parse("heaptrace -p 1", &env, err) == ENV_RUN && env.unwind == ENV_UNWIND_AUTO &&
	       env.stack_copy_size == 16384,
	   "unwind defaults: auto, 16 KiB of stack");
	env__free(&env);
	ok(parse("heaptrace -p 1 --unwind lbr", &env, err) == -EINVAL && strstr(err, "unwind"),
	   "bad unwind method: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --stack-size 64k", &env, err) == -EINVAL &&
	       strstr(err, "stack size"),
	   "stack size above 32k: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --ring-size 100000", &env, err) == -EINVAL &&
	       strstr(err, "power of two"),
	   "ring size not a power of two: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 stray", &env, err) == -EINVAL && strstr(err, "unexpected"),
	   "stray argument: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p", &env, err) == -EINVAL && strstr(err, "needs a value"),
	   "missing value: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1", &env, err) == ENV_RUN && env.max_call_rate == 0 &&
	       env.cool_down_ns == 60000000000ull,
	   "safety valve off by default, 60 s cool-down");
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-call-rate 200k --cool-down 5s", &env, err) == ENV_RUN &&
	       env.max_call_rate == 200000 && env.cool_down_ns == 5000000000ull,
	   "--max-call-rate 200k --cool-down 5s");
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-call-rate 2M/s", &env, err) == ENV_RUN &&
	       env.max_call_rate == 2000000,
	   "--max-call-rate 2M/s");
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-call-rate 0", &env, err) == -EINVAL &&
	       strstr(err, "--max-call-rate"),
	   "rate 0 rejected: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-call-rate 1.5k", &env, err) == -EINVAL,
	   "fractions rejected: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --cool-down never", &env, err) == -EINVAL &&
	       strstr(err, "--cool-down"),
	   "bad cool-down: '%s'", err);
	env__free(&env);
}

int main(void)
{
	test_durations();
	test_bytes();
	test_command_lines();
	return done_testing();
}
