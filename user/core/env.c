// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/env.h"
#include "http/httpreq.h"

static const char usage[] =
    "Usage: heaptrace [options] -p PID [-p PID...]\n"
    "       heaptrace [options] -- COMMAND [ARGS...]\n"
    "       heaptrace [options]     (every process on the host)\n"
    "       heaptrace print [-base OLD.pb.gz] FILE.pb.gz\n"
    "\n"
    "Watch the heap of running processes and write a pprof heap profile per\n"
    "process every interval, readable with `go tool pprof`.\n"
    "\n"
    "  -p, --pid PID            trace process PID (repeat for several)\n"
    "  -i, --interval DURATION  write profiles this often (default 30s)\n"
    "  -o, --output-dir DIR     write profiles into DIR (default .)\n"
    "  -r, --sample-rate BYTES  mean bytes between samples (default 524288;\n"
    "                           1 records every allocation)\n"
    "  -d, --duration DURATION  stop after DURATION, writing a final profile\n"
    "      --cgroup PATH        system-wide: only processes in this cgroup v2\n"
    "                           directory (/sys/fs/cgroup/...) and below\n"
    "      --comm NAME          system-wide: only processes named NAME\n"
    "      --follow-forks       also trace the processes traced ones fork\n"
    "      --max-processes N    processes traced at once (default 1024)\n"
    "      --http ADDR          serve /debug/pprof/ on ADDR (PORT, HOST:PORT or\n"
    "                           [IPV6]:PORT; a bare port is on 127.0.0.1)\n"
    "      --unwind METHOD      auto (default), fp (frame pointers, walked in the\n"
    "                           kernel) or dwarf (call frame information)\n"
    "      --stack-size BYTES   user stack copied per sample for dwarf (default 16k,\n"
    "                           at most 32k)\n"
    "      --ring-size BYTES    event buffer for dwarf (default 8m, 64m with -r 1)\n"
    "      --max-stacks N       distinct stacks kept (default 65536)\n"
    "      --max-live N         live sampled blocks tracked (default 1048576)\n"
    "      --max-threads N      threads inside an allocator at once (default 16384)\n"
    "      --max-call-rate N    safety valve: when a target's allocation calls\n"
    "                           exceed N per second (100k, 2M ...), take its\n"
    "                           probes off for the --cool-down period (default off)\n"
    "      --cool-down DURATION how long the valve keeps probes off (default 60s)\n"
    "      --alloc-only         probe allocations only, not free: half the traps;\n"
    "                           in-use sample types are written as zero\n"
    "      --list-probes        print where each allocator entry point of the\n"
    "                           targets would be probed, and why; then exit\n"
    "      --list-allocators    print which objects serve each -p target's\n"
    "                           allocations, and why; then exit\n"
    "      --probe-at-entry     probe each entry point's first instruction instead\n"
    "                           of the first one the kernel emulates (slower)\n"
    "  -v, --verbose            print libbpf's messages\n"
    "  -h, --help               print this help\n"
    "      --version            print the version\n"
    "\n"
    "DURATION is a number with a unit: 500ms, 30s, 5m, 1h.\n"
    "Profiles are named COMM.PID.YYYYMMDDTHHMMSSZ.heap.pb.gz.\n"
    "`heaptrace print` prints a profile as Go's legacy heap text (with -base, the\n"
    "difference NEW - OLD).\n";

enum {
	OPT_VERSION = 0x100,
	OPT_MAX_STACKS,
	OPT_MAX_LIVE,
	OPT_MAX_THREADS,
	OPT_UNWIND,
	OPT_STACK_SIZE,
	OPT_RING_SIZE,
	OPT_ALLOC_ONLY,
	OPT_LIST_PROBES,
	OPT_LIST_ALLOCATORS,
	OPT_PROBE_AT_ENTRY,
	OPT_FLOOR,
	OPT_NO_SESSION,
	OPT_HTTP,
	OPT_MAX_PROCESSES,
	OPT_FOLLOW_FORKS,
	OPT_CGROUP,
	OPT_COMM,
	OPT_MAX_CALL_RATE,
	OPT_COOL_DOWN,
};

static const struct option long_options[] = {
    {"pid", required_argument, NULL, 'p'},
    {"interval", required_argument, NULL, 'i'},
    {"output-dir", required_argument, NULL, 'o'},
    {"sample-rate", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'd'},
    {"max-stacks", required_argument, NULL, OPT_MAX_STACKS},
    {"max-live", required_argument, NULL, OPT_MAX_LIVE},
    {"max-threads", required_argument, NULL, OPT_MAX_THREADS},
    {"unwind", required_argument, NULL, OPT_UNWIND},
    {"stack-size", required_argument, NULL, OPT_STACK_SIZE},
    {"ring-size", required_argument, NULL, OPT_RING_SIZE},
    {"http", required_argument, NULL, OPT_HTTP},
    {"max-processes", required_argument, NULL, OPT_MAX_PROCESSES},
    {"follow-forks", no_argument, NULL, OPT_FOLLOW_FORKS},
    {"cgroup", required_argument, NULL, OPT_CGROUP},
    {"comm", required_argument, NULL, OPT_COMM},
    {"max-call-rate", required_argument, NULL, OPT_MAX_CALL_RATE},
    {"cool-down", required_argument, NULL, OPT_COOL_DOWN},
    {"alloc-only", no_argument, NULL, OPT_ALLOC_ONLY},
    {"list-probes", no_argument, NULL, OPT_LIST_PROBES},
    {"list-allocators", no_argument, NULL, OPT_LIST_ALLOCATORS},
    {"probe-at-entry", no_argument, NULL, OPT_PROBE_AT_ENTRY},
    {"floor", no_argument, NULL, OPT_FLOOR}, /* benchmark only: see docs/performance.md */
    /* tests and benchmark: uprobe + uretprobe pairs even where sessions work */
    {"no-session", no_argument, NULL, OPT_NO_SESSION},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {},
};

int env__parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
	    {"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9},
	};
	char *end;
	double v;
	size_t i;

	if (!s || !*s || isspace((unsigned char)*s) || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v <= 0)
		return -EINVAL;
	if (!*end) {
		v *= 1e9;
	} else {
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(end, units[i].unit))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		v *= units[i].ns;
	}
	if (v < 1 || v > 1e18)
		return -EINVAL;
	*ns = (uint64_t)v;
	return 0;
}

int env__parse_bytes(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	uint64_t mult = 1;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (tolower((unsigned char)*end)) {
	case 'k':
		mult = 1ull << 10;
		end++;
		break;
	case 'm':
		mult = 1ull << 20;
		end++;
		break;
	case 'g':
		mult = 1ull << 30;
		end++;
		break;
	}
	if (mult > 1 && (!strcasecmp(end, "ib") || !strcasecmp(end, "b")))
		end += strlen(end);
	if (*end || v == 0 || v > UINT64_MAX / mult)
		return -EINVAL;
	*bytes = v * mult;
	return 0;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char *end;
	long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > INT_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

static int parse_count(const char *s, uint32_t *out)
{
	uint64_t v;

	if (env__parse_bytes(s, &v) || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* A positive count per second: digits with an optional decimal k or M, then optionally "/s". */
static int parse_rate(const char *s, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p == 'k' || *p == 'K')
		mult = 1000, p++;
	else if (*p == 'm' || *p == 'M')
		mult = 1000000, p++;
	if (!strcmp(p, "/s"))
		p += 2;
	if (*p || !v || v > UINT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

static int add_pid(struct env *env, pid_t pid)
{
	pid_t *pids = realloc(env->pids, (env->nr_pids + 1) * sizeof(*pids));
	size_t i;

	if (!pids)
		return -ENOMEM;
	env->pids = pids;
	for (i = 0; i < env->nr_pids; i++)
		if (pids[i] == pid)
			return 0;
	pids[env->nr_pids++] = pid;
	return 0;
}

/* heaptrace print [-base OLD] FILE: no tracing, so none of the tracing options. */
static int parse_print(int argc, char **argv, struct env *env, char *err, size_t errlen)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs("Usage: heaptrace print [-base OLD.pb.gz] FILE.pb.gz\n\n"
			      "Prints a heap profile as Go's legacy text "
			      "(/debug/pprof/heap?debug=1);\n"
			      "with -base, the difference FILE - OLD, as go tool pprof -base.\n",
			      stdout);
			return ENV_EXIT;
		}
		if (!strcmp(a, "-base") || !strcmp(a, "--base")) {
			if (i + 1 >= argc) {
				snprintf(err, errlen,
					 "option '%s' needs a value: heaptrace print "
					 "-base OLD.pb.gz FILE.pb.gz",
					 a);
				return -EINVAL;
			}
			env->print_base = argv[++i];
		} else if (!strncmp(a, "-base=", 6) || !strncmp(a, "--base=", 7)) {
			env->print_base = strchr(a, '=') + 1;
		} else if (a[0] == '-' && a[1]) {
			snprintf(err, errlen,
				 "unknown option '%s' for print: see heaptrace print --help", a);
			return -EINVAL;
		} else if (env->print_file) {
			snprintf(err, errlen,
				 "print takes one profile, got '%s' and '%s': use -base "
				 "OLD for a difference",
				 env->print_file, a);
			return -EINVAL;
		} else {
			env->print_file = a;
		}
	}
	if (!env->print_file) {
		snprintf(err, errlen, "print needs a profile: heaptrace print FILE.pb.gz");
		return -EINVAL;
	}
	return ENV_PRINT;
}

int env__parse(int argc, char **argv, struct env *env, char *err, size_t errlen)
{
	pid_t pid;
	int opt;

	memset(env, 0, sizeof(*env));
	env->interval_ns = ENV_DEFAULT_INTERVAL_NS;
	env->sample_rate = ENV_DEFAULT_SAMPLE_RATE;
	env->output_dir = ".";
	env->max_stacks = 65536;
	env->max_live = 1048576;
	env->max_threads = 16384;
	env->unwind = ENV_UNWIND_AUTO;
	env->stack_copy_size = 16384;
	env->ring_size = 0; /* chosen from the sample rate: env__ring_size() */
	env->max_processes = 1024;
	env->cool_down_ns = ENV_DEFAULT_COOL_DOWN_NS;
	if (argc > 1 && !strcmp(argv[1], "print"))
		return parse_print(argc, argv, env, err, errlen);

	optind = 1;
	opterr = 0;
	/* '+' stops at the first non-option so the command's own options stay its own. */
	while ((opt = getopt_long(argc, argv, "+:p:i:o:r:d:vh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_pid(optarg, &pid)) {
				snprintf(err, errlen,
					 "invalid PID '%s': give a process ID such as -p 1234",
					 optarg);
				return -EINVAL;
			}
			if (add_pid(env, pid))
				return -ENOMEM;
			break;
		case 'i':
			if (env__parse_duration(optarg, &env->interval_ns)) {
				snprintf(err, errlen,
					 "invalid interval '%s': use a duration such as 500ms, 30s "
					 "or 5m",
					 optarg);
				return -EINVAL;
			}
			break;
		case 'd':
			if (env__parse_duration(optarg, &env->duration_ns)) {
				snprintf(err, errlen,
					 "invalid duration '%s': use a duration such as 500ms, 30s "
					 "or 5m",
					 optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			env->output_dir = optarg;
			break;
		case 'r':
			if (env__parse_bytes(optarg, &env->sample_rate)) {
				snprintf(err, errlen,
					 "invalid sample rate '%s': give a byte count of at least "
					 "1, such as 524288 or 512k",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_MAX_STACKS:
		case OPT_MAX_LIVE:
		case OPT_MAX_THREADS: {
			uint32_t *dst = opt == OPT_MAX_STACKS ? &env->max_stacks
					: opt == OPT_MAX_LIVE ? &env->max_live
							      : &env->max_threads;

			if (parse_count(optarg, dst)) {
				snprintf(err, errlen,
					 "invalid count '%s' for %s: give a positive number",
					 optarg, argv[optind - 1]);
				return -EINVAL;
			}
			break;
		}
		case OPT_MAX_PROCESSES:
			if (parse_count(optarg, &env->max_processes) ||
			    env->max_processes > 65536) {
				snprintf(
				    err, errlen,
				    "invalid count '%s' for --max-processes: give a number from 1 "
				    "to 65536",
				    optarg);
				return -EINVAL;
			}
			break;
		case OPT_MAX_CALL_RATE:
			if (parse_rate(optarg, &env->max_call_rate)) {
				snprintf(
				    err, errlen,
				    "invalid call rate '%s' for --max-call-rate: give calls per "
				    "second, such as 200000 or 200k",
				    optarg);
				return -EINVAL;
			}
			break;
		case OPT_COOL_DOWN:
			if (env__parse_duration(optarg, &env->cool_down_ns)) {
				snprintf(err, errlen,
					 "invalid duration '%s' for --cool-down: use a duration "
					 "such as 10s or 5m",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_FOLLOW_FORKS:
			env->follow_forks = true;
			break;
		case OPT_CGROUP:
			env->cgroup = optarg;
			break;
		case OPT_COMM:
			/* The kernel keeps 15 bytes of a name: a longer one could never match. */
			if (!*optarg || strlen(optarg) > 15) {
				snprintf(
				    err, errlen,
				    "invalid --comm '%s': give a process name of 1 to 15 bytes, as "
				    "/proc/PID/comm shows it",
				    optarg);
				return -EINVAL;
			}
			env->comm = optarg;
			break;
		case OPT_UNWIND:
			if (!strcmp(optarg, "auto")) {
				env->unwind = ENV_UNWIND_AUTO;
			} else if (!strcmp(optarg, "fp")) {
				env->unwind = ENV_UNWIND_FP;
			} else if (!strcmp(optarg, "dwarf")) {
				env->unwind = ENV_UNWIND_DWARF;
			} else {
				snprintf(err, errlen,
					 "invalid unwind method '%s': use auto, fp or dwarf",
					 optarg);
				return -EINVAL;
			}
			break;
		case OPT_STACK_SIZE: {
			uint64_t v;

			/* The kernel copies whole 8-byte words; 32 KiB bounds the event size. */
			if (env__parse_bytes(optarg, &v) || v < 64 || v > 32768 || v % 8) {
				snprintf(err, errlen,
					 "invalid stack size '%s': give a multiple of 8 bytes from "
					 "64 to 32k",
					 optarg);
				return -EINVAL;
			}
			env->stack_copy_size = (uint32_t)v;
			break;
		}
		case OPT_RING_SIZE: {
			uint64_t v;

			if (env__parse_bytes(optarg, &v) || v < 65536 || v > (1ull << 30) ||
			    (v & (v - 1))) {
				snprintf(
				    err, errlen,
				    "invalid ring size '%s': give a power of two from 64k to 1g",
				    optarg);
				return -EINVAL;
			}
			env->ring_size = (uint32_t)v;
			break;
		}
		case OPT_ALLOC_ONLY:
			env->alloc_only = true;
			break;
		case OPT_LIST_ALLOCATORS:
			env->list_allocators = true;
			break;
		case OPT_LIST_PROBES:
			env->list_probes = true;
			break;
		case OPT_PROBE_AT_ENTRY:
			env->probe_at_entry = true;
			break;
		case OPT_FLOOR:
			env->floor = true;
			break;
		case OPT_NO_SESSION:
			env->no_session = true;
			break;
		case OPT_HTTP: {
			char host[64], port[8];

			if (httpreq__parse_addr(optarg, host, sizeof(host), port, sizeof(port))) {
				snprintf(err, errlen,
					 "invalid --http address '%s': use PORT, HOST:PORT or "
					 "[IPV6]:PORT, such as 127.0.0.1:6060",
					 optarg);
				return -EINVAL;
			}
			env->http_addr = optarg;
			break;
		}
		case 'v':
			env->verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return ENV_EXIT;
		case OPT_VERSION:
			printf("heaptrace %s\n", HEAPTRACE_VERSION);
			return ENV_EXIT;
		case ':':
			snprintf(err, errlen, "option '%s' needs a value: see heaptrace --help",
				 argv[optind - 1]);
			return -EINVAL;
		default:
			snprintf(err, errlen, "unknown option '%s': see heaptrace --help",
				 argv[optind - 1]);
			return -EINVAL;
		}
	}

	if (optind < argc) {
		if (strcmp(argv[optind - 1], "--") != 0) {
			snprintf(err, errlen,
				 "unexpected argument '%s': put a command after '--', as in "
				 "heaptrace -- ./app",
				 argv[optind]);
			return -EINVAL;
		}
		env->command = &argv[optind];
	}
	if (env->command && env->nr_pids) {
		snprintf(
		    err, errlen,
		    "both -p and a command given: trace either running processes or a new command");
		return -EINVAL;
	}
	if ((env->cgroup || env->comm) && env->command) {
		snprintf(err, errlen,
			 "--cgroup and --comm select running processes: use them with -p or "
			 "alone (system-wide), not with a command");
		return -EINVAL;
	}
	/* Neither -p nor a command: every process (the listings need a target). */
	env->system_wide = !env->command && !env->nr_pids;
	if (env->system_wide && (env->list_allocators || env->list_probes)) {
		snprintf(err, errlen,
			 "nothing to list: give -p PID or a command after '--' (see heaptrace "
			 "--help)");
		return -EINVAL;
	}
	return ENV_RUN;
}

uint32_t env__ring_size(const struct env *env)
{
	if (env->ring_size)
		return env->ring_size;
	/*
	 * The consumer mapping of a ring buffer is resident in full (twice over
	 * for its data pages), so keep it small; recording every allocation
	 * sends an event per call and needs room for bursts.
	 */
	return env->sample_rate <= 1 ? 64u << 20 : 8u << 20;
}

void env__free(struct env *env)
{
	free(env->pids);
	env->pids = NULL;
	env->nr_pids = 0;
}
