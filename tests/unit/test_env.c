// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* Command-line parsing (user/core/env.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
		{ "500ms", 500000000ull },  { "30s", 30000000000ull }, { "5m", 300000000000ull },
		{ "1h", 3600000000000ull }, { "2", 2000000000ull },    { "1.5s", 1500000000ull },
		{ "250us", 250000ull },
	};
	static const char *const bad[] = { "", "10x", "-1s", "0s", "s", "1 s", "abc", "1e30h" };
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
	ok(parse("heaptrace -p 1 -xv", &env, err) == -EINVAL && strstr(err, "unknown option '-x'"),
	   "an unknown short option in a group is named: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -vp", &env, err) == -EINVAL && strstr(err, "option '-p' needs a value"),
	   "a short option without its value, last in a group, is named: '%s'", err);
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

/* env__parse of `line` with stdout caught: returns what it printed (to free), or NULL. */
static char *parse_stdout(const char *line, int *ret)
{
	struct env env;
	char err[256], *text = NULL;
	FILE *f = tmpfile();
	int saved;
	long len;

	if (!f)
		return NULL;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	dup2(fileno(f), STDOUT_FILENO);
	*ret = parse(line, &env, err);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	env__free(&env);
	len = ftell(f);
	if (len >= 0 && (text = calloc(1, (size_t)len + 1))) {
		rewind(f);
		if (fread(text, 1, (size_t)len, f) != (size_t)len)
			text[0] = '\0';
	}
	fclose(f);
	return text;
}

static void test_help(void)
{
	static const char *const lines[] = {
		"Usage: heaptrace [options] -p PID [-p PID...]\n",
		"\n  -p, --pid PID            trace process PID (repeat for several)\n",
		"  -r, --sample-rate BYTES  mean bytes between samples (default 524288;\n"
		"                           1 records every allocation)\n",
		"      --cool-down DURATION how long the valve keeps probes off (default 60s)\n",
		"      --max-call-rate N    safety valve: when a target's allocation calls\n"
		"                           exceed N per second (100k, 2M ...), take its\n"
		"                           probes off for the --cool-down period (default off)\n",
		"  -h, --help               print this help\n"
		"      --version            print the version\n\nDURATION is",
	};
	char *text;
	size_t i;
	int ret = 0;

	text = parse_stdout("heaptrace -p 1 --help", &ret);
	ok(ret == ENV_EXIT && text, "--help exits");
	for (i = 0; text && i < sizeof(lines) / sizeof(lines[0]); i++)
		ok(strstr(text, lines[i]) != NULL, "--help has expected passage %zu, aligned", i);
	ok(text && !strstr(text, "--floor") && !strstr(text, "--no-session"),
	   "--help leaves out the benchmark options");
	free(text);
	text = parse_stdout("heaptrace -v --version", &ret);
	ok(ret == ENV_EXIT && text && !strncmp(text, "heaptrace ", 10) && strchr(text, '\n'),
	   "--version prints 'heaptrace VERSION'");
	free(text);
	text = parse_stdout("heaptrace --bogus --help", &ret);
	ok(ret == -EINVAL && text && !*text, "an error before --help: no help");
	free(text);
}

static void test_more_command_lines(void)
{
	struct env env;
	char err[256];

	ok(parse("heaptrace -p 1 --max-stacks 0", &env, err) == -EINVAL &&
	       !strcmp(err, "invalid count '0' for --max-stacks: give a positive number"),
	   "bad count names the option: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-live=5g", &env, err) == -EINVAL &&
	       strstr(err, "for --max-live:"),
	   "count above 32 bits: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-processes 65537", &env, err) == -EINVAL &&
	       strstr(err, "1 to 65536"),
	   "--max-processes bound: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-processes 65536 --max-threads 2k", &env, err) == ENV_RUN &&
	       env.max_processes == 65536 && env.max_threads == 2048,
	   "--max-processes 65536 --max-threads 2k");
	env__free(&env);
	ok(parse("heaptrace -p 1 --stack-size 100", &env, err) == -EINVAL &&
	       strstr(err, "multiple of 8"),
	   "stack size not a multiple of 8: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -vp 5 -p5 -p 6 --pid=5 --unwind=dwarf --http 6060 --floor --no-session",
		 &env, err) == ENV_RUN &&
	       env.verbose && env.nr_pids == 2 && env.pids[0] == 5 && env.pids[1] == 6 &&
	       env.unwind == ENV_UNWIND_DWARF && !strcmp(env.http_addr, "6060") && env.floor &&
	       env.no_session,
	   "grouped, attached and = spellings; each pid once");
	env__free(&env);
	ok(parse("heaptrace -p 1 --http a:b:c", &env, err) == -EINVAL && strstr(err, "--http"),
	   "bad --http address: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --alloc-only=1", &env, err) == -EINVAL &&
	       strstr(err, "unknown option '--alloc-only=1'"),
	   "a flag takes no value on the command line: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --cool", &env, err) == -EINVAL && strstr(err, "needs a value"),
	   "abbreviated option without its value: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --list-p", &env, err) == ENV_RUN && env.list_probes,
	   "unambiguous abbreviation");
	env__free(&env);
	ok(parse("heaptrace -p 1 --list", &env, err) == -EINVAL && strstr(err, "unknown option"),
	   "ambiguous abbreviation: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace print -base old.pb.gz new.pb.gz", &env, err) == ENV_PRINT &&
	       !strcmp(env.print_file, "new.pb.gz") && !strcmp(env.print_base, "old.pb.gz"),
	   "print -base OLD NEW");
	env__free(&env);
	ok(parse("heaptrace print", &env, err) == -EINVAL && strstr(err, "needs a profile"),
	   "print without a profile: '%s'", err);
	env__free(&env);
}

static void test_set_option(void)
{
	struct env env;
	char err[256];

	env__set_defaults(&env);
	ok(env.interval_ns == ENV_DEFAULT_INTERVAL_NS &&
	       env.sample_rate == ENV_DEFAULT_SAMPLE_RATE &&
	       env.cool_down_ns == ENV_DEFAULT_COOL_DOWN_NS && !strcmp(env.output_dir, ".") &&
	       env.max_stacks == 65536 && env.max_live == 1048576 && env.max_threads == 16384 &&
	       env.stack_copy_size == 16384 && env.ring_size == 0 && env.max_processes == 1024 &&
	       env.unwind == ENV_UNWIND_AUTO && !env.duration_ns && !env.max_call_rate &&
	       !env.pids && !env.alloc_only,
	   "env__set_defaults: every default");
	ok(env__set_option(&env, "sample-rate", "64k", err, sizeof(err)) == 0 &&
	       env.sample_rate == 65536,
	   "sample-rate = 64k");
	ok(env__set_option(&env, "interval", "5m", err, sizeof(err)) == 0 &&
	       env.interval_ns == 300000000000ull,
	   "interval = 5m");
	ok(env__set_option(&env, "unwind", "fp", err, sizeof(err)) == 0 &&
	       env.unwind == ENV_UNWIND_FP,
	   "unwind = fp");
	ok(env__set_option(&env, "comm", "nginx", err, sizeof(err)) == 0 &&
	       !strcmp(env.comm, "nginx"),
	   "comm = nginx");
	ok(env__set_option(&env, "pid", "42", err, sizeof(err)) == 0 &&
	       env__set_option(&env, "pid", "43", err, sizeof(err)) == 0 && env.nr_pids == 2 &&
	       env.pids[1] == 43,
	   "pid = 42, pid = 43: both traced");
	ok(env__set_option(&env, "alloc-only", "true", err, sizeof(err)) == 0 && env.alloc_only,
	   "alloc-only = true");
	ok(env__set_option(&env, "alloc-only", "false", err, sizeof(err)) == 0 && !env.alloc_only,
	   "alloc-only = false");
	ok(env__set_option(&env, "follow-forks", NULL, err, sizeof(err)) == 0 && env.follow_forks,
	   "follow-forks without a value sets it");
	ok(env__set_option(&env, "alloc-only", "maybe", err, sizeof(err)) == -EINVAL &&
	       strstr(err, "true or false"),
	   "alloc-only = maybe: '%s'", err);
	ok(env__set_option(&env, "ring-size", "100000", err, sizeof(err)) == -EINVAL &&
	       strstr(err, "power of two") && env.ring_size == 0,
	   "ring-size = 100000 rejected, unchanged: '%s'", err);
	ok(env__set_option(&env, "interval", NULL, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "needs a value"),
	   "interval without a value: '%s'", err);
	ok(env__set_option(&env, "sample", "1", err, sizeof(err)) == -EINVAL &&
	       strstr(err, "unknown option 'sample'"),
	   "no abbreviations: '%s'", err);
	ok(env__set_option(&env, "help", NULL, err, sizeof(err)) == -EINVAL &&
	       strstr(err, "not a setting"),
	   "help is refused: '%s'", err);
	ok(env__set_option(&env, "version", NULL, err, sizeof(err)) == -EINVAL,
	   "version is refused: '%s'", err);
	env__free(&env);
	ok(!env.pids && !env.nr_pids, "env__free empties the pid list");
}

/* --max-overhead: a share of one core, on by default; --max-call-rate overrides it. */
static void test_max_overhead(void)
{
	static const struct {
		const char *s;
		uint32_t ppm;
	} good[] = {
		{ "5%", 50000 },  { "5", 50000 },      { "0.5%", 5000 },
		{ "0.0001%", 1 }, { "100%", 1000000 }, { "12.25", 122500 },
		{ "0", 0 },	  { "off", 0 },	       { "0%", 0 },
	};
	static const char *const bad[] = { "200%", "100.01",  "abc", "-1", "",	  "5%%", "5 %",
					   "1e1",  "0.00001", ".5",  "5.", "inf", "0x10" };
	struct env env;
	char err[256];
	uint32_t ppm;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ok(env__parse_percent(good[i].s, &ppm) == 0 && ppm == good[i].ppm,
		   "percent '%s' = %u millionths", good[i].s, good[i].ppm);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(env__parse_percent(bad[i], &ppm) == -EINVAL, "percent '%s' rejected", bad[i]);
	ok(parse("heaptrace -p 1", &env, err) == ENV_RUN &&
	       env.max_overhead == ENV_DEFAULT_MAX_OVERHEAD_PPM && env.max_overhead == 50000 &&
	       !env__given(&env, "max-overhead") && !env__given(&env, "max-call-rate"),
	   "the valve is on by default: 5%% of a core, neither option given");
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-overhead off", &env, err) == ENV_RUN &&
	       env.max_overhead == 0 && env__given(&env, "max-overhead"),
	   "--max-overhead off");
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-overhead 5% --max-call-rate 1k", &env, err) == ENV_RUN &&
	       env.max_overhead == 50000 && env.max_call_rate == 1000 &&
	       env__given(&env, "max-overhead") && env__given(&env, "max-call-rate"),
	   "both given, the default value included: both are known to be given");
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-overhead 200%", &env, err) == -EINVAL &&
	       !strcmp(err, "invalid share '200%' for --max-overhead: give a percentage of one "
			    "core from 0 to 100, such as 5% or 0.5%, or off"),
	   "200%%: '%s'", err);
	env__free(&env);
	ok(parse("heaptrace -p 1 --max-overhead -1", &env, err) == -EINVAL &&
	       strstr(err, "'-1' for --max-overhead"),
	   "-1: '%s'", err);
	env__free(&env);
	env__set_defaults(&env);
	ok(env.max_overhead == 50000 && !env.given, "env__set_defaults: 5%%, nothing given");
	ok(env__set_option(&env, "max-overhead", "0.5%", err, sizeof(err)) == 0 &&
	       env.max_overhead == 5000 && env__given(&env, "max-overhead"),
	   "max-overhead = 0.5%%");
	ok(env__set_option(&env, "max-overhead", "abc", err, sizeof(err)) == -EINVAL &&
	       env.max_overhead == 5000,
	   "max-overhead = abc rejected, unchanged: '%s'", err);
	ok(!env__given(&env, "no-such-option"), "an unknown name was never given");
	env__free(&env);
}

int main(void)
{
	test_durations();
	test_bytes();
	test_command_lines();
	test_more_command_lines();
	test_help();
	test_set_option();
	test_max_overhead();
	return done_testing();
}
