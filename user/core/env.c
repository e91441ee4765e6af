// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * env.c - the command line. One table, options[], says everything about an
 * option: its spellings, what its value is, where it goes in struct env, its
 * bounds and default, and its --help text. getopt_long's arrays, the help,
 * the defaults and env__set_option() are all made from it.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/env.h"
#include "core/manpage.h"
#include "http/access.h"
#include "http/http.h"
#include "http/httpreq.h"
#include "output/pushname.h"
#include "util/strbuf.h"
#include "util/vec.h"

static const char usage_head[] =
    "Usage: heaptrace [options] -p PID [-p PID...]\n"
    "       heaptrace [options] -- COMMAND [ARGS...]\n"
    "       heaptrace [options]     (every process on the host)\n"
    "       heaptrace print [-legacy] [-base OLD.pb.gz] FILE.pb.gz\n"
    "       heaptrace report [--json | --html] DIR|FILE.pb.gz...\n"
    "\n"
    "Watch the heap of running processes and write a pprof heap profile per\n"
    "process every interval, readable with `go tool pprof`.\n"
    "\n";

static const char usage_tail[] =
    "\n"
    "DURATION is a number with a unit: 500ms, 30s, 5m, 1h.\n"
    "Profiles are named COMM.PID.YYYYMMDDTHHMMSSZ.heap.pb.gz.\n"
    "`heaptrace print` prints a profile's unbiased totals, with their uncertainty,\n"
    "and its functions (-legacy: Go's legacy heap text; -base: NEW - OLD).\n"
    "`heaptrace report` finds leak suspects in a series of profiles.\n";

/* The column where an option's help text starts in --help. */
#define USAGE_HELP_COLUMN 27

/* getopt_long's value for an option without a short name: past every character. */
#define OPT_LONG_ONLY 0x100

/* What an option's value is, and so how it is parsed and stored. */
enum opt_kind {
	OPT_FLAG,     /* no value on the command line: sets a bool */
	OPT_NUMBER,   /* env__parse_bytes (k, m, g allowed) into a uint32_t or uint64_t */
	OPT_DURATION, /* env__parse_duration into a uint64_t of nanoseconds */
	OPT_RATE,     /* parse_rate (calls per second) into a uint64_t */
	OPT_PERCENT,  /* env__parse_percent (millionths of a core) into a uint32_t */
	OPT_STRING,   /* kept by pointer in a const char * */
	OPT_CHOICE,   /* one of choices[], stored as its index in an int */
	OPT_CUSTOM,   /* apply() parses and stores */
};

struct env_option {
	const char *name; /* long name without "--"; also the config-file key */
	int short_name;	  /* 0 = long only */
	enum opt_kind kind;
	size_t offset, size; /* the field in struct env (FIELD()): numbers are 4 or 8 bytes */
	/*
	 * OPT_NUMBER: the value's bounds (0 = none beyond the field's width);
	 * OPT_STRING: its length's (max 0 = no limit).
	 */
	uint64_t min, max;
	uint64_t multiple;	    /* OPT_NUMBER: the value is a multiple of this (0 = any) */
	bool pow2;		    /* OPT_NUMBER: the value is a power of two */
	uint64_t def;		    /* default of a number, duration, rate, share or choice */
	const char *def_str;	    /* default of a string */
	const char *const *choices; /* OPT_CHOICE: the names, NULL-terminated */
	int (*apply)(struct env *env, const char *value); /* OPT_CUSTOM: 0, ENV_EXIT or -errno */
	bool cli_only;	     /* an action (--help), not a setting: env__set_option refuses it */
	const char *invalid; /* the error for a bad value: a format whose one %s is the value */
	const char *metavar; /* the value's name in --help; NULL = the option takes no value */
	const char *help;    /* --help text, '\n' between its lines; NULL = undocumented */
};

#define FIELD(f) .offset = offsetof(struct env, f), .size = sizeof(((struct env *)0)->f)

/* Indexed by enum env_unwind: the index is what is stored. */
static const char *const unwind_names[] = {
	[ENV_UNWIND_AUTO] = "auto",
	[ENV_UNWIND_FP] = "fp",
	[ENV_UNWIND_DWARF] = "dwarf",
	[ENV_UNWIND_DWARF + 1] = NULL,
};

/* Indexed by enum env_probes. */
static const char *const probes_names[] = {
	[ENV_PROBES_AUTO] = "auto",
	[ENV_PROBES_UPROBES] = "uprobes",
	[ENV_PROBES_USDT] = "usdt",
	[ENV_PROBES_USDT + 1] = NULL,
};

static int pid__apply(struct env *env, const char *value);
static int http__apply(struct env *env, const char *value);
static int push__apply(struct env *env, const char *value);
static int push_label__apply(struct env *env, const char *value);
static int http_allow__apply(struct env *env, const char *value);
static int fold__apply(struct env *env, const char *value);
static int help__apply(struct env *env, const char *value);
static int version__apply(struct env *env, const char *value);
static int help_man__apply(struct env *env, const char *value);

/* In --help order. */
static const struct env_option options[] = {
	{
	    .name = "pid",
	    .short_name = 'p',
	    .kind = OPT_CUSTOM,
	    .apply = pid__apply,
	    .invalid = "invalid PID '%s': give a process ID such as -p 1234",
	    .metavar = "PID",
	    .help = "trace process PID (repeat for several)",
	},
	{
	    .name = "interval",
	    .short_name = 'i',
	    .kind = OPT_DURATION,
	    FIELD(interval_ns),
	    .def = ENV_DEFAULT_INTERVAL_NS,
	    .invalid = "invalid interval '%s': use a duration such as 500ms, 30s or 5m",
	    .metavar = "DURATION",
	    .help = "write profiles this often (default 30s)",
	},
	{
	    .name = "output-dir",
	    .short_name = 'o',
	    .kind = OPT_STRING,
	    FIELD(output_dir),
	    .def_str = ".",
	    .metavar = "DIR",
	    .help = "write profiles into DIR (default .)",
	},
	{
	    .name = "unsafe-output-dir",
	    .kind = OPT_FLAG,
	    FIELD(unsafe_output_dir),
	    .help = "accept an output directory another user owns or\n"
		    "others may write to (refused by default)",
	},
	{
	    .name = "keep",
	    .kind = OPT_NUMBER,
	    FIELD(keep),
	    .invalid = "invalid count '%s' for --keep: give the number of newest profiles to keep "
		       "per process, such as 100",
	    .metavar = "N",
	    .help = "keep the N newest profiles of each process\n"
		    "(and its first); older ones are removed",
	},
	{
	    .name = "max-age",
	    .kind = OPT_DURATION,
	    FIELD(max_age_ns),
	    .invalid = "invalid duration '%s' for --max-age: use a duration such as 30m, 24h",
	    .metavar = "DURATION",
	    .help = "remove profiles heaptrace wrote once older than\n"
		    "DURATION (a live process's first and newest stay)",
	},
	{
	    .name = "max-disk",
	    .kind = OPT_NUMBER,
	    FIELD(max_disk),
	    .invalid = "invalid size '%s' for --max-disk: give a byte count such as 500m or 2g",
	    .metavar = "SIZE",
	    .help = "remove the oldest profiles heaptrace wrote while\n"
		    "they total more than SIZE bytes",
	},
	{
	    .name = "write-empty",
	    .kind = OPT_FLAG,
	    FIELD(write_empty),
	    .help = "also write profiles of processes without a sample\n"
		    "(skipped by default)",
	},
	{
	    .name = "sample-rate",
	    .short_name = 'r',
	    .kind = OPT_NUMBER,
	    FIELD(sample_rate),
	    .def = ENV_DEFAULT_SAMPLE_RATE,
	    .invalid = "invalid sample rate '%s': give a byte count of at least 1, such as 524288 "
		       "or 512k",
	    .metavar = "BYTES",
	    .help = "mean bytes between samples (default 524288;\n"
		    "1 records every allocation)",
	},
	{
	    .name = "duration",
	    .short_name = 'd',
	    .kind = OPT_DURATION,
	    FIELD(duration_ns),
	    .invalid = "invalid duration '%s': use a duration such as 500ms, 30s or 5m",
	    .metavar = "DURATION",
	    .help = "stop after DURATION, writing a final profile",
	},
	{
	    .name = "cgroup",
	    .kind = OPT_STRING,
	    FIELD(cgroup),
	    .metavar = "PATH",
	    .help = "system-wide: only processes in this cgroup v2\n"
		    "directory (/sys/fs/cgroup/...) and below",
	},
	{
	    .name = "comm",
	    .kind = OPT_STRING,
	    FIELD(comm),
	    /* The kernel keeps 15 bytes of a name: a longer one could never match. */
	    .min = 1,
	    .max = 15,
	    .invalid = "invalid --comm '%s': give a process name of 1 to 15 bytes, as "
		       "/proc/PID/comm shows it",
	    .metavar = "NAME",
	    .help = "system-wide: only processes named NAME",
	},
	{
	    .name = "follow-forks",
	    .kind = OPT_FLAG,
	    FIELD(follow_forks),
	    .help = "also trace the processes traced ones fork",
	},
	{
	    .name = "max-processes",
	    .kind = OPT_NUMBER,
	    FIELD(max_processes),
	    .max = 65536,
	    .def = 1024,
	    .invalid = "invalid count '%s' for --max-processes: give a number from 1 to 65536",
	    .metavar = "N",
	    .help = "processes traced at once (default 1024)",
	},
	{
	    .name = "http",
	    .kind = OPT_CUSTOM,
	    .apply = http__apply,
	    .invalid =
		"invalid --http address '%s': use PORT, HOST:PORT, [IPV6]:PORT or unix:PATH, "
		"such as 127.0.0.1:6060",
	    .metavar = "ADDR",
	    .help = "serve /debug/pprof/ and /metrics on ADDR (PORT, HOST:PORT or\n"
		    "[IPV6]:PORT; a bare port is on 127.0.0.1; unix:PATH\n"
		    "a Unix socket of mode 0600)",
	},
	{
	    .name = "http-allow",
	    .kind = OPT_CUSTOM,
	    .apply = http_allow__apply,
	    .invalid = "invalid --http-allow '%s': use owner, group:NAME or anyone",
	    .metavar = "WHO",
	    .help = "who may read a process's profiles over HTTP: owner\n"
		    "(default: root and its owner), group:NAME (and\n"
		    "that group's members) or anyone",
	},
	{
	    .name = "keep-privileges",
	    .kind = OPT_FLAG,
	    FIELD(keep_privileges),
	    .help = "keep every capability once attached (by default\n"
		    "heaptrace keeps only what tracing needs, sets\n"
		    "no_new_privs and a seccomp filter)",
	},
	{
	    .name = "unwind",
	    .kind = OPT_CHOICE,
	    FIELD(unwind),
	    .choices = unwind_names,
	    .def = ENV_UNWIND_AUTO,
	    .invalid = "invalid unwind method '%s': use auto, fp or dwarf",
	    .metavar = "METHOD",
	    .help = "auto (default), fp (frame pointers, walked in the\n"
		    "kernel) or dwarf (call frame information)",
	},
	{
	    .name = "stack-size",
	    .kind = OPT_NUMBER,
	    FIELD(stack_copy_size),
	    /* The kernel copies whole 8-byte words; 32 KiB bounds the event size. */
	    .min = 64,
	    .max = 32768,
	    .multiple = 8,
	    .def = 16384,
	    .invalid = "invalid stack size '%s': give a multiple of 8 bytes from 64 to 32k",
	    .metavar = "BYTES",
	    .help = "user stack copied per sample for dwarf (default 16k,\n"
		    "at most 32k)",
	},
	{
	    .name = "ring-size",
	    .kind = OPT_NUMBER,
	    FIELD(ring_size),
	    .min = 65536,
	    .max = 1ull << 30,
	    .pow2 = true,
	    /* 0: chosen from the sample rate, see env__ring_size() */
	    .invalid = "invalid ring size '%s': give a power of two from 64k to 1g",
	    .metavar = "BYTES",
	    .help = "event buffer for dwarf (default 8m, 64m with -r 1)",
	},
	{
	    .name = "max-stacks",
	    .kind = OPT_NUMBER,
	    FIELD(max_stacks),
	    .def = 65536,
	    .invalid = "invalid count '%s' for --max-stacks: give a positive number",
	    .metavar = "N",
	    .help = "distinct stacks kept (default 65536)",
	},
	{
	    .name = "max-live",
	    .kind = OPT_NUMBER,
	    FIELD(max_live),
	    .def = 1048576,
	    .invalid = "invalid count '%s' for --max-live: give a positive number",
	    .metavar = "N",
	    .help = "live sampled blocks tracked (default 1048576)",
	},
	{
	    .name = "max-threads",
	    .kind = OPT_NUMBER,
	    FIELD(max_threads),
	    .def = 16384,
	    .invalid = "invalid count '%s' for --max-threads: give a positive number",
	    .metavar = "N",
	    .help = "threads inside an allocator at once (default 16384)",
	},
	{
	    .name = "max-overhead",
	    .kind = OPT_PERCENT,
	    FIELD(max_overhead),
	    .def = ENV_DEFAULT_MAX_OVERHEAD_PPM,
	    .invalid = "invalid share '%s' for --max-overhead: give a percentage of one core from "
		       "0 to 100, such as 5%% or 0.5%%, or off",
	    .metavar = "PERCENT",
	    .help = "safety valve: when a target's probes cost it more\n"
		    "than PERCENT of one core (measured at start-up),\n"
		    "take them off for --cool-down (default 5%, or off)",
	},
	{
	    .name = "oom-threshold",
	    .kind = OPT_PERCENT,
	    FIELD(oom_threshold),
	    .def = ENV_DEFAULT_OOM_THRESHOLD_PPM,
	    .invalid = "invalid share '%s' for --oom-threshold: give a percentage of the memory "
		       "cgroup's limit from 0 to 100, such as 90%%, or off",
	    .metavar = "PERCENT",
	    .help = "write a profile when a target's memory cgroup\n"
		    "reaches PERCENT of its limit (default 90%, or off)",
	},
	{
	    .name = "max-call-rate",
	    .kind = OPT_RATE,
	    FIELD(max_call_rate),
	    /* 0: the safety valve is off */
	    .invalid = "invalid call rate '%s' for --max-call-rate: give calls per second, such as "
		       "200000 or 200k",
	    .metavar = "N",
	    .help = "safety valve: when a target's allocation calls\n"
		    "exceed N per second (100k, 2M ...), take its\n"
		    "probes off for the --cool-down period (default off)",
	},
	{
	    .name = "cool-down",
	    .kind = OPT_DURATION,
	    FIELD(cool_down_ns),
	    .def = ENV_DEFAULT_COOL_DOWN_NS,
	    .invalid = "invalid duration '%s' for --cool-down: use a duration such as 10s or 5m",
	    .metavar = "DURATION",
	    .help = "how long the valve keeps probes off (default 60s)",
	},
	{
	    .name = "push",
	    .kind = OPT_CUSTOM,
	    .apply = push__apply,
	    .invalid = "invalid --push URL '%s': give a Pyroscope server's http:// or https:// "
		       "URL, such as http://pyroscope:4040",
	    .metavar = "URL",
	    .help = "also send each profile to the Pyroscope server at\n"
		    "URL (POST URL/ingest), from a thread of its own",
	},
	{
	    .name = "push-name",
	    .kind = OPT_STRING,
	    .invalid = "invalid --push-name '%s': give an application name of 1 to 200 bytes, such "
		       "as myserver",
	    FIELD(push_name),
	    .min = 1,
	    .max = 200,
	    .metavar = "NAME",
	    .help = "--push: the application (service_name) the\n"
		    "profiles go under (default: the process's name)",
	},
	{
	    .name = "push-label",
	    .kind = OPT_CUSTOM,
	    .apply = push_label__apply,
	    .invalid = "invalid --push-label '%s': give KEY=VALUE with KEY of letters, digits and "
		       "'_' (not first a digit, not __ or service_name) and VALUE without {},= "
		       "(at most 2048 bytes), such as env=prod",
	    .metavar = "KEY=VALUE",
	    .help = "--push: add this label to every profile (repeat)",
	},
	{
	    .name = "push-token-file",
	    .kind = OPT_STRING,
	    .invalid = "invalid --push-token-file '%s': give the path of a file holding the token",
	    FIELD(push_token_file),
	    .min = 1,
	    .metavar = "FILE",
	    .help = "--push: send the token in FILE as a bearer token",
	},
	{
	    .name = "push-ca-file",
	    .kind = OPT_STRING,
	    .invalid =
		"invalid --push-ca-file '%s': give the path of a PEM file of CA certificates",
	    FIELD(push_ca_file),
	    .min = 1,
	    .metavar = "FILE",
	    .help = "--push: trust the CA certificates in FILE for https",
	},
	{
	    .name = "push-spool",
	    .kind = OPT_STRING,
	    .invalid = "invalid --push-spool '%s': give a directory for unsent profiles",
	    FIELD(push_spool),
	    .min = 1,
	    .metavar = "DIR",
	    .help = "--push: keep unsent profiles in DIR (default\n"
		    "OUTPUT_DIR/push-spool); sent when the server is back",
	},
	{
	    .name = "push-spool-size",
	    .kind = OPT_NUMBER,
	    FIELD(push_spool_size),
	    .min = 4096,
	    .def = ENV_DEFAULT_PUSH_SPOOL_SIZE,
	    .invalid = "invalid size '%s' for --push-spool-size: give bytes of at least 4k, such "
		       "as 64m",
	    .metavar = "BYTES",
	    .help = "--push: the spool's bound; past it the oldest\n"
		    "profiles go first (default 64m)",
	},
	{
	    .name = "debuginfod-timeout",
	    .kind = OPT_DURATION,
	    FIELD(debuginfod_timeout_ns),
	    .def = ENV_DEFAULT_DEBUGINFOD_TIMEOUT_NS,
	    .invalid = "invalid duration '%s' for --debuginfod-timeout: use a duration such as 10s "
		       "or 2m",
	    .metavar = "DURATION",
	    .help = "where DEBUGINFOD_URLS is set, give up fetching one\n"
		    "debug file after DURATION (default 30s); tracing\n"
		    "never waits for a fetch",
	},
	{
	    .name = "probes",
	    .kind = OPT_CHOICE,
	    FIELD(probes),
	    .choices = probes_names,
	    .def = ENV_PROBES_AUTO,
	    .invalid = "invalid --probes '%s': use auto, uprobes or usdt",
	    .metavar = "KIND",
	    .help = "auto (default: a process's otel_memory USDT probes\n"
		    "where it has them, else uprobes), uprobes or usdt",
	},
	{
	    .name = "preload",
	    .kind = OPT_FLAG,
	    FIELD(preload),
	    .help = "run the command with heaptrace's in-process sampler\n"
		    "(LD_PRELOAD, at -r): only sampled calls trap",
	},
	{
	    .name = "alloc-only",
	    .kind = OPT_FLAG,
	    FIELD(alloc_only),
	    .help = "probe allocations only, not free: half the traps;\n"
		    "in-use sample types are written as zero",
	},
	{
	    .name = "peak",
	    .kind = OPT_FLAG,
	    FIELD(peak),
	    .help = "also write a profile at each new high of the\n"
		    "sampled in-use, at most one per interval\n"
		    "(COMM.PID.TIME.peak.heap.pb.gz)",
	},
	{
	    .name = "fold-wrappers",
	    .kind = OPT_CUSTOM,
	    .apply = fold__apply,
	    .invalid = "invalid --fold-wrappers '%s': give comma-separated function name "
		       "globs, none empty, such as my_alloc*,pool_get",
	    .metavar = "GLOBS",
	    .help = "also fold these allocation wrappers out of each\n"
		    "stack's leaf (comma-separated globs)",
	},
	{
	    .name = "show-wrappers",
	    .kind = OPT_FLAG,
	    FIELD(show_wrappers),
	    .help = "keep allocation wrappers (xmalloc, zmalloc,\n"
		    "g_malloc, PyMem_*...) as the leaf of stacks",
	},
	{
	    .name = "list-probes",
	    .kind = OPT_FLAG,
	    FIELD(list_probes),
	    .help = "print where each allocator entry point of the\n"
		    "targets would be probed, and why; then exit",
	},
	{
	    .name = "list-allocators",
	    .kind = OPT_FLAG,
	    FIELD(list_allocators),
	    .help = "print which objects serve each -p target's\n"
		    "allocations, and why; then exit",
	},
	{
	    .name = "probe-at-entry",
	    .kind = OPT_FLAG,
	    FIELD(probe_at_entry),
	    .help = "probe each entry point's first instruction instead\n"
		    "of the first one the kernel emulates (slower)",
	},
	{
	    .name = "verbose",
	    .short_name = 'v',
	    .kind = OPT_FLAG,
	    FIELD(verbose),
	    .help = "print libbpf's messages",
	},
	{
	    .name = "config",
	    .kind = OPT_STRING,
	    FIELD(config_path),
	    .min = 1,
	    .invalid = "invalid --config '%s': give a file such as /etc/heaptrace/heaptrace.conf, "
		       "or /dev/null for none",
	    .metavar = "FILE",
	    .help = "read settings from FILE (default\n" CONFIG_DEFAULT_PATH " when it exists;\n"
		    "/dev/null for none); the command line wins",
	},
	{
	    .name = "help",
	    .short_name = 'h',
	    .kind = OPT_CUSTOM,
	    .apply = help__apply,
	    .cli_only = true,
	    .help = "print this help",
	},
	{
	    .name = "version",
	    .kind = OPT_CUSTOM,
	    .apply = version__apply,
	    .cli_only = true,
	    .help = "print the version",
	},
	/* Packaging, undocumented: the man page's OPTIONS section, from this table. */
	{ .name = "help-man", .kind = OPT_CUSTOM, .apply = help_man__apply, .cli_only = true },
	/* Benchmark only, undocumented: empty programs at the probe sites (docs/performance.md). */
	{ .name = "floor", .kind = OPT_FLAG, FIELD(floor) },
	/* Tests and benchmark, undocumented: uprobe + uretprobe pairs even where sessions work. */
	{ .name = "no-session", .kind = OPT_FLAG, FIELD(no_session) },
};

#define NR_OPTIONS (sizeof(options) / sizeof(options[0]))

/* env->given has a bit per option. */
_Static_assert(NR_OPTIONS <= 64, "struct env's `given` holds one bit per option");

int env__parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 },  { "us", 1e3 }, { "ms", 1e6 },
		{ "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
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

int env__parse_percent(const char *s, uint32_t *ppm)
{
	uint32_t v = 0, scale = 10000; /* millionths of a core per percent */
	const char *p = s;

	if (!s)
		return -EINVAL;
	if (!strcmp(s, "off")) {
		*ppm = 0;
		return 0;
	}
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	/* Digits by hand, not strtod: no signs, exponents, "inf" or hexadecimal. */
	for (; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (uint32_t)(*p - '0') * scale;
		if (v > 100 * scale)
			return -EINVAL;
	}
	if (*p == '.' && isdigit((unsigned char)p[1])) {
		for (p++; isdigit((unsigned char)*p); p++) {
			scale /= 10;
			if (!scale)
				return -EINVAL; /* beyond a millionth of a core */
			v += (uint32_t)(*p - '0') * scale;
		}
	}
	if (*p == '%')
		p++;
	if (*p || v > 1000000)
		return -EINVAL;
	*ppm = v;
	return 0;
}

/* A flag's value: none on the command line; true or false from env__set_option(). */
static int parse_flag(const char *s, bool *out)
{
	if (!s || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "1"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

static int parse_choice(const char *const *choices, const char *s, int *out)
{
	int i;

	for (i = 0; choices[i]; i++) {
		if (!strcmp(s, choices[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* -p: in order given, each once. */
static int pid__apply(struct env *env, const char *value)
{
	pid_t pid;
	size_t i;

	if (parse_pid(value, &pid))
		return -EINVAL;
	for (i = 0; i < env->nr_pids; i++)
		if (env->pids[i] == pid)
			return 0;
	if (VEC_RESERVE(env->pids, env->pids_cap, env->nr_pids + 1))
		return -ENOMEM;
	env->pids[env->nr_pids++] = pid;
	return 0;
}

/* Comma-separated globs; an empty one (",," or a trailing comma) is a mistake. */
static int fold__apply(struct env *env, const char *value)
{
	size_t n = strlen(value);

	if (!n || value[0] == ',' || value[n - 1] == ',' || strstr(value, ",,"))
		return -EINVAL;
	env->fold_wrappers = value;
	return 0;
}

static int http__apply(struct env *env, const char *value)
{
	char host[64], port[8];

	/* A Unix socket's path is checked when it is bound. */
	if (strncmp(value, HTTP_UNIX_PREFIX, HTTP_UNIX_PREFIX_LEN) &&
	    httpreq__parse_addr(value, host, sizeof(host), port, sizeof(port)))
		return -EINVAL;
	env->http_addr = value;
	return 0;
}

static int push__apply(struct env *env, const char *value)
{
	if (strncmp(value, "http://", 7) && strncmp(value, "https://", 8))
		return -EINVAL;
	if (!value[value[4] == 's' ? 8 : 7])
		return -EINVAL;
	env->push_url = value;
	return 0;
}

static int push_label__apply(struct env *env, const char *value)
{
	if (!pushname__valid_label(value))
		return -EINVAL;
	if (VEC_RESERVE(env->push_labels, env->push_labels_cap, env->nr_push_labels + 1))
		return -ENOMEM;
	env->push_labels[env->nr_push_labels++] = value;
	return 0;
}

static int http_allow__apply(struct env *env, const char *value)
{
	if (access__check_spec(value))
		return -EINVAL;
	env->http_allow = value;
	return 0;
}

/* One option's line(s) in --help: the spellings, then the help text from USAGE_HELP_COLUMN. */
static void usage__add_option(struct strbuf *sb, const struct env_option *opt)
{
	size_t start = sb->len, width, n;
	const char *line = opt->help;

	if (opt->short_name)
		strbuf__addf(sb, "  -%c, --%s", opt->short_name, opt->name);
	else
		strbuf__addf(sb, "      --%s", opt->name);
	if (opt->metavar)
		strbuf__addf(sb, " %s", opt->metavar);
	width = sb->len - start;
	strbuf__addf(sb, "%*s", width < USAGE_HELP_COLUMN ? (int)(USAGE_HELP_COLUMN - width) : 1,
		     "");
	for (;;) {
		n = strcspn(line, "\n");
		strbuf__addf(sb, "%.*s\n", (int)n, line);
		if (!line[n])
			break;
		line += n + 1;
		strbuf__addf(sb, "%*s", USAGE_HELP_COLUMN, "");
	}
}

static int help__apply(struct env *env, const char *value)
{
	struct strbuf sb = {};
	size_t i;

	(void)env;
	(void)value;
	strbuf__add(&sb, usage_head);
	for (i = 0; i < NR_OPTIONS; i++)
		if (options[i].help)
			usage__add_option(&sb, &options[i]);
	strbuf__add(&sb, usage_tail);
	if (!sb.failed)
		fputs(strbuf__str(&sb), stdout);
	strbuf__release(&sb);
	return sb.failed ? -ENOMEM : ENV_EXIT;
}

static int version__apply(struct env *env, const char *value)
{
	(void)env;
	(void)value;
	printf("heaptrace %s\n", HEAPTRACE_VERSION);
	return ENV_EXIT;
}

static int help_man__apply(struct env *env, const char *value)
{
	(void)env;
	(void)value;
	return manpage__print_options(stdout) ? -EIO : ENV_EXIT;
}

bool env__option_doc(size_t i, struct env_option_doc *doc)
{
	size_t n;

	/* The i-th documented option: the ones --help shows, in its order. */
	for (n = 0; n < NR_OPTIONS; n++) {
		if (!options[n].help)
			continue;
		if (i-- == 0) {
			*doc = (struct env_option_doc){
				.name = options[n].name,
				.short_name = options[n].short_name,
				.metavar = options[n].metavar,
				.help = options[n].help,
			};
			return true;
		}
	}
	return false;
}

/* Stores v in a uint32_t or uint64_t field, as wide as the table says. */
static void field__store_uint(void *field, size_t size, uint64_t v)
{
	if (size == sizeof(uint32_t))
		*(uint32_t *)field = (uint32_t)v;
	else
		*(uint64_t *)field = v;
}

/* Whether v is within opt's bounds and, for a 32-bit field, fits it. */
static bool option__fits(const struct env_option *opt, uint64_t v)
{
	uint64_t max = opt->size == sizeof(uint32_t) ? UINT32_MAX : UINT64_MAX;

	if (opt->max && opt->max < max)
		max = opt->max;
	if (v < opt->min || v > max)
		return false;
	if (opt->multiple && v % opt->multiple)
		return false;
	return !opt->pow2 || !(v & (v - 1));
}

/* Parses value as opt says and stores it in env. Returns 0, ENV_EXIT or -errno. */
static int option__store(const struct env_option *opt, struct env *env, const char *value)
{
	void *field = (char *)env + opt->offset;
	size_t len;
	uint64_t v;
	int err = -EINVAL;

	switch (opt->kind) {
	case OPT_FLAG:
		return parse_flag(value, field);
	case OPT_NUMBER:
		err = env__parse_bytes(value, &v);
		break;
	case OPT_DURATION:
		err = env__parse_duration(value, &v);
		break;
	case OPT_RATE:
		err = parse_rate(value, &v);
		break;
	case OPT_PERCENT: {
		uint32_t ppm;

		err = env__parse_percent(value, &ppm);
		v = ppm;
		break;
	}
	case OPT_STRING:
		len = strlen(value);
		if (len < opt->min || (opt->max && len > opt->max))
			return -EINVAL;
		*(const char **)field = value;
		return 0;
	case OPT_CHOICE:
		return parse_choice(opt->choices, value, field);
	case OPT_CUSTOM:
		return opt->apply(env, value);
	}
	if (err || !option__fits(opt, v))
		return -EINVAL;
	field__store_uint(field, opt->size, v);
	return 0;
}

/* option__store(), with the error for a bad value in err. */
static int option__apply(const struct env_option *opt, struct env *env, const char *value,
			 char *err, size_t errlen)
{
	int ret = option__store(opt, env, value);

	if (!ret)
		env->given |= 1ull << (opt - options);
	if (ret == -EINVAL && opt->invalid)
		snprintf(err, errlen, opt->invalid, value);
	else if (ret == -EINVAL)
		snprintf(err, errlen, "invalid value '%s' for --%s: %s", value, opt->name,
			 opt->kind == OPT_FLAG ? "use true or false" : "see heaptrace --help");
	else if (ret == -ENOMEM)
		snprintf(err, errlen, "out of memory reading the options: free some memory");
	return ret;
}

void env__set_defaults(struct env *env)
{
	const struct env_option *opt;
	void *field;

	memset(env, 0, sizeof(*env));
	for (opt = options; opt < options + NR_OPTIONS; opt++) {
		field = (char *)env + opt->offset;
		switch (opt->kind) {
		case OPT_NUMBER:
		case OPT_DURATION:
		case OPT_RATE:
		case OPT_PERCENT:
			field__store_uint(field, opt->size, opt->def);
			break;
		case OPT_STRING:
			*(const char **)field = opt->def_str;
			break;
		case OPT_CHOICE:
			*(int *)field = (int)opt->def;
			break;
		case OPT_FLAG:
		case OPT_CUSTOM:
			break; /* false, or nothing until given */
		}
	}
}

int env__set_option(struct env *env, const char *name, const char *value, char *err, size_t errlen)
{
	const struct env_option *opt;

	for (opt = options; opt < options + NR_OPTIONS; opt++)
		if (!strcmp(opt->name, name))
			break;
	if (opt == options + NR_OPTIONS) {
		snprintf(err, errlen, "unknown option '%s': see heaptrace --help", name);
		return -EINVAL;
	}
	if (opt->cli_only) {
		snprintf(err, errlen,
			 "'%s' is an action, not a setting: give --%s on the command line", name,
			 name);
		return -EINVAL;
	}
	if (opt->metavar && !value) {
		snprintf(err, errlen, "option '%s' needs a value: see heaptrace --help", name);
		return -EINVAL;
	}
	return option__apply(opt, env, value, err, errlen);
}

/*
 * getopt_long's '?' (unknown) or ':' (no value) for the argument `arg`. A
 * short option is named by itself: in a group ("-xv") `arg` may be the
 * argument before it.
 */
static void say_bad_option(int c, const char *arg, char *err, size_t errlen)
{
	char name[3] = { '-', (char)optopt, '\0' };
	const char *what = strncmp(arg, "--", 2) && optopt > ' ' && optopt < 127 ? name : arg;

	snprintf(err, errlen,
		 c == ':' ? "option '%s' needs a value: see heaptrace --help"
			  : "unknown option '%s': see heaptrace --help",
		 what);
}

/* getopt_long's arrays, made from options[]. */
struct getopt_spec {
	struct option *longopts; /* ends with a zeroed entry */
	size_t nr, cap;
	struct strbuf shortopts;
};

/* What getopt_long returns for options[i]. */
static int option__getopt_val(size_t i)
{
	return options[i].short_name ? options[i].short_name : OPT_LONG_ONLY + (int)i;
}

static int getopt_spec__build(struct getopt_spec *spec)
{
	const struct env_option *opt;
	size_t i;

	/*
	 * '+' stops at the first non-option so the command's own options stay its
	 * own; ':' tells a missing value (':') from an unknown option ('?').
	 */
	strbuf__add(&spec->shortopts, "+:");
	for (i = 0; i < NR_OPTIONS; i++) {
		opt = &options[i];
		if (VEC_RESERVE(spec->longopts, spec->cap, spec->nr + 2))
			return -ENOMEM;
		spec->longopts[spec->nr++] = (struct option){
			.name = opt->name,
			.has_arg = opt->metavar ? required_argument : no_argument,
			.val = option__getopt_val(i),
		};
		if (opt->short_name)
			strbuf__addf(&spec->shortopts, "%c%s", opt->short_name,
				     opt->metavar ? ":" : "");
	}
	spec->longopts[spec->nr] = (struct option){ 0 };
	return spec->shortopts.failed ? -ENOMEM : 0;
}

static const struct env_option *option__by_getopt_val(int val)
{
	size_t i;

	for (i = 0; i < NR_OPTIONS; i++)
		if (option__getopt_val(i) == val)
			return &options[i];
	return NULL;
}

/* After the options: nothing, or "--" and a command. */
static int command__parse(int argc, char **argv, struct env *env, char *err, size_t errlen)
{
	if (optind >= argc)
		return 0;
	if (strcmp(argv[optind - 1], "--") != 0) {
		snprintf(
		    err, errlen,
		    "unexpected argument '%s': put a command after '--', as in heaptrace -- ./app",
		    argv[optind]);
		return -EINVAL;
	}
	env->command = &argv[optind];
	return 0;
}

/* The checks between options, once all are in; sets system_wide. */
static int env__check(struct env *env, char *err, size_t errlen)
{
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
	if (env->preload && !env->command) {
		snprintf(err, errlen,
			 "--preload starts a command with the sampler: give the command after "
			 "'--' (a running process loads it only if started with it)");
		return -EINVAL;
	}
	if (env->preload && env->probes == ENV_PROBES_UPROBES) {
		snprintf(err, errlen,
			 "--preload with --probes uprobes: the sampler's probes would not be used; "
			 "drop one of them");
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

/*
 * After the command line: the config file (--config, else the default one
 * when it exists), for the options the command line did not give.
 */
static int env__load_config(struct env *env, char *err, size_t errlen)
{
	bool given = env__given(env, "config");

	return config__load(&env->config, env, given ? env->config_path : CONFIG_DEFAULT_PATH,
			    given, env->given, err, errlen);
}

/* heaptrace print [-base OLD] FILE: no tracing, so none of the tracing options. */
static int parse_print(int argc, char **argv, struct env *env, char *err, size_t errlen)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs("Usage: heaptrace print [-legacy] [-base OLD.pb.gz] FILE.pb.gz\n\n"
			      "Prints a heap profile's unbiased totals with their uncertainty, "
			      "then\n"
			      "one line per function as go tool pprof -top counts them;\n"
			      "-legacy: as Go's legacy text (/debug/pprof/heap?debug=1);\n"
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
		} else if (!strcmp(a, "-legacy") || !strcmp(a, "--legacy")) {
			env->print_legacy = true;
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

/* heaptrace report [--json|--html] DIR|FILE...: profiles already written, no tracing. */
static int parse_report(int argc, char **argv, struct env *env, char *err, size_t errlen)
{
	int i;

	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(
			    "Usage: heaptrace report [--json | --html] DIR|FILE.pb.gz...\n\n"
			    "Reads the heap profiles of DIR (or the files given), one series per\n"
			    "process, and says which stacks leak (their in-use grows steadily)\n"
			    "and which are large but flat, spikes or churn. --json for machines,\n"
			    "--html for a self-contained page with a chart of in-use over time.\n",
			    stdout);
			return ENV_EXIT;
		}
		if (!strcmp(a, "--json") || !strcmp(a, "--html")) {
			int f = a[2] == 'j' ? ENV_REPORT_JSON : ENV_REPORT_HTML;

			if (env->report_format && env->report_format != f) {
				snprintf(err, errlen,
					 "report takes --json or --html, not both: run it twice");
				return -EINVAL;
			}
			env->report_format = f;
		} else if (a[0] == '-' && a[1]) {
			snprintf(err, errlen,
				 "unknown option '%s' for report: see heaptrace report --help", a);
			return -EINVAL;
		} else {
			if (VEC_RESERVE(env->report_paths, env->report_paths_cap,
					(size_t)env->nr_report_paths + 1)) {
				snprintf(err, errlen, "out of memory reading the arguments");
				return -ENOMEM;
			}
			env->report_paths[env->nr_report_paths++] = argv[i];
		}
	}
	if (!env->nr_report_paths) {
		snprintf(err, errlen,
			 "report needs profiles: heaptrace report DIR, or the .heap.pb.gz files");
		return -EINVAL;
	}
	return ENV_REPORT;
}

int env__parse(int argc, char **argv, struct env *env, char *err, size_t errlen)
{
	struct getopt_spec spec = {};
	const struct env_option *opt;
	int ret, c;

	env__set_defaults(env);
	if (argc > 1 && !strcmp(argv[1], "print"))
		return parse_print(argc, argv, env, err, errlen);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return parse_report(argc, argv, env, err, errlen);
	ret = getopt_spec__build(&spec);
	if (ret) {
		snprintf(err, errlen, "out of memory reading the options: free some memory");
		goto cleanup;
	}
	/* 0, not 1: glibc then also forgets where a previous parse stopped inside "-vh". */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, strbuf__str(&spec.shortopts), spec.longopts, NULL)) !=
	       -1) {
		opt = option__by_getopt_val(c);
		if (!opt) {
			say_bad_option(c, argv[optind - 1], err, errlen);
			ret = -EINVAL;
			goto cleanup;
		}
		ret = option__apply(opt, env, optarg, err, errlen);
		if (ret)
			goto cleanup;
	}
	ret = env__load_config(env, err, errlen);
	if (ret)
		goto cleanup;
	ret = command__parse(argc, argv, env, err, errlen);
	if (!ret)
		ret = env__check(env, err, errlen);
cleanup:
	free(spec.longopts);
	strbuf__release(&spec.shortopts);
	return ret;
}

bool env__given(const struct env *env, const char *name)
{
	size_t i;

	for (i = 0; i < NR_OPTIONS; i++)
		if (!strcmp(options[i].name, name))
			return env->given & (1ull << i);
	return false;
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
	config__free(env->config);
	env->config = NULL;
	free(env->pids);
	free(env->report_paths);
	env->report_paths = NULL;
	free(env->push_labels);
	env->push_labels = NULL;
	env->nr_push_labels = 0;
	env->push_labels_cap = 0;
	env->pids = NULL;
	env->nr_pids = 0;
	env->pids_cap = 0;
}
