/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * env.h - the command line: the only code that sees argv.
 *
 * Every option is one entry of a table in env.c, which also gives its
 * default and its --help text; env__set_option() applies one by its long
 * name, the same way the command line does (for a config file of
 * `long-name = value` lines).
 */
#ifndef HEAPTRACE_ENV_H
#define HEAPTRACE_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ENV_DEFAULT_INTERVAL_NS		  (30ull * 1000000000ull)
#define ENV_DEFAULT_SAMPLE_RATE		  524288ull /* Go's MemProfileRate */
#define ENV_DEFAULT_COOL_DOWN_NS	  (60ull * 1000000000ull)
#define ENV_DEFAULT_DEBUGINFOD_TIMEOUT_NS (30ull * 1000000000ull)
#define ENV_DEFAULT_PUSH_SPOOL_SIZE	  (64ull << 20)
/* --max-overhead: the traps may cost a target 5% of one core (in millionths of a core). */
#define ENV_DEFAULT_MAX_OVERHEAD_PPM 50000u
/* --oom-threshold: a profile at 90 % of the memory cgroup's limit, before the kill. */
#define ENV_DEFAULT_OOM_THRESHOLD_PPM 900000u

struct env {
	pid_t *pids; /* -p, in order given, each once */
	size_t nr_pids;
	size_t pids_cap;      /* room allocated in pids */
	char **command;	      /* argv after "--", NULL-terminated, or NULL */
	uint64_t interval_ns; /* -i */
	uint64_t duration_ns; /* -d; 0 = until the targets exit or a signal */
	const char *output_dir;
	bool unsafe_output_dir; /* --unsafe-output-dir: skip its owner and mode checks */
	bool write_empty;	/* --write-empty: also profiles without a sample */
	uint32_t keep;		/* --keep: newest profiles kept per series; 0 = all */
	uint64_t max_age_ns;	/* --max-age: profiles older are removed; 0 = never */
	uint64_t max_disk;	/* --max-disk: bytes of this run's profiles; 0 = no bound */
	uint64_t sample_rate;
	uint32_t max_stacks;
	uint32_t max_live;
	uint32_t max_threads;
	int unwind;		  /* enum env_unwind */
	uint32_t stack_copy_size; /* --stack-size */
	uint32_t ring_size;	  /* --ring-size; 0 = by sample rate, see env__ring_size */
	bool verbose;
	bool alloc_only;	/* --alloc-only: no free probes */
	bool peak;		/* --peak: a profile at each new high of the sampled in-use */
	bool list_probes;	/* --list-probes: print the probe sites and exit */
	bool list_allocators;	/* --list-allocators: print the allocator objects and exit */
	bool probe_at_entry;	/* --probe-at-entry: naive placement, for comparison */
	bool floor;		/* --floor: empty programs at the probe sites (benchmark) */
	bool no_session;	/* --no-session: uprobe + uretprobe, not uprobe sessions */
	int probes;		/* --probes: enum env_probes */
	bool preload;		/* --preload: the command runs with the in-process sampler */
	const char *http_addr;	/* --http; NULL = no server */
	const char *http_allow; /* --http-allow; NULL = owner (access.h) */
	bool system_wide;	/* neither -p nor a command: every process */
	bool follow_forks;	/* --follow-forks: trace the children of traced processes */
	bool keep_privileges;	/* --keep-privileges: no drop after attach (privilege.h) */
	uint32_t max_processes; /* --max-processes: processes traced at once */
	const char *cgroup;	/* --cgroup: a cgroup v2 directory, or NULL */
	const char *comm;	/* --comm: a process name (at most 15 bytes), or NULL */
	uint32_t max_overhead;	/* --max-overhead: millionths of a core; 0 = off */
	uint64_t max_call_rate; /* --max-call-rate: allocation calls/s per target; 0 = off */
	uint64_t cool_down_ns;	/* --cool-down: probes off this long once over the rate */
	uint64_t debuginfod_timeout_ns; /* --debuginfod-timeout: one debug file's fetch */
	const char *push_url;		/* --push: a Pyroscope server's base URL, or NULL */
	const char *push_name;		/* --push-name: service_name; NULL = the process's comm */
	const char **push_labels;	/* --push-label KEY=VALUE, in order given */
	size_t nr_push_labels, push_labels_cap;
	const char *push_token_file; /* --push-token-file: bearer token, or NULL */
	const char *push_ca_file;    /* --push-ca-file: CA bundle for https, or NULL */
	const char *push_spool;	     /* --push-spool: NULL = OUTPUT_DIR/push-spool */
	uint64_t push_spool_size;    /* --push-spool-size: bytes the spool may hold */
	const char *print_file;	     /* heaptrace print FILE */
	const char *print_base;	     /* heaptrace print -base OLD FILE, or NULL */
	char **report_paths;	     /* heaptrace report DIR|FILE...: argv's strings */
	int nr_report_paths;
	size_t report_paths_cap;
	int report_format; /* enum env_report_format */
	uint64_t given;	   /* bit i: the i-th option was set, not left at its default */

	/* The config file (core/config.h). */
	const char *config_path; /* --config FILE, or NULL for the default one */
	struct config *config;	 /* its text, which string values point into */
	/* What the profiles make of the heap: print's form, wrappers, the memory cgroup. */
	bool print_legacy;	   /* heaptrace print -legacy: Go's legacy heap text */
	const char *fold_wrappers; /* --fold-wrappers: more globs to fold, or NULL */
	bool show_wrappers;	   /* --show-wrappers: fold no allocation wrapper */
	uint32_t oom_threshold;	   /* --oom-threshold: millionths of the memcg limit; 0 = off */
};

/* Where a process's allocations are seen (docs/design.md, "The in-process sampler"). */
enum env_probes {
	ENV_PROBES_AUTO = 0, /* its otel_memory USDT probes where it has them, else uprobes */
	ENV_PROBES_UPROBES,  /* uprobes on the allocator's entry points */
	ENV_PROBES_USDT,     /* its otel_memory USDT probes, or it is not traced */
};

enum env_unwind {
	ENV_UNWIND_AUTO = 0,
	ENV_UNWIND_FP,
	ENV_UNWIND_DWARF,
};

enum env_result {
	ENV_RUN = 0,	/* options parsed: trace */
	ENV_EXIT = 1,	/* --help or --version printed: exit 0 */
	ENV_PRINT = 2,	/* `heaptrace print`: print_file (and print_base) set */
	ENV_REPORT = 3, /* `heaptrace report`: report_paths and report_format set */
};

/* heaptrace report's output. */
enum env_report_format {
	ENV_REPORT_TEXT = 0,
	ENV_REPORT_JSON,
	ENV_REPORT_HTML,
};

/*
 * Parses argv into env. Returns ENV_RUN, ENV_EXIT, ENV_PRINT, ENV_REPORT, or a negative errno with
 * a one-line explanation (problem and fix) in err.
 */
int env__parse(int argc, char **argv, struct env *env, char *err, size_t errlen);

/*
 * Zeroes env and gives every option its default (what env__parse starts from).
 * Allocates nothing.
 */
void env__set_defaults(struct env *env);

/*
 * Sets the option whose long name (without "--", e.g. "sample-rate") is
 * `name` from `value`, parsed and checked as on the command line. A flag
 * takes NULL or "true"/"yes"/"1" to set it and "false"/"no"/"0" to clear
 * it; every other option needs a value. A string value is kept by pointer,
 * so it must outlive env. env holds defaults (env__set_defaults) or earlier
 * settings; a later setting replaces an earlier one, except that each pid
 * is added to the -p list. The checks between options (e.g. -p and a
 * command) are env__parse's, not made here. --help and --version are
 * actions, not settings, and are refused.
 * Returns 0, or -EINVAL (unknown name, missing or bad value) or -ENOMEM
 * with a one-line explanation (problem and fix) in err.
 */
int env__set_option(struct env *env, const char *name, const char *value, char *err, size_t errlen);

/* Whether the option of long name `name` was set (env__parse, env__set_option). */
bool env__given(const struct env *env, const char *name);

/* What the manual says of one option (--help's text: lines separated by '\n'). */
struct env_option_doc {
	const char *name;    /* long name without "--" */
	int short_name;	     /* 0 = none */
	const char *metavar; /* the value's name; NULL = no value */
	const char *help;
};

/* The i-th option --help documents, in its order, into doc; false past the last. */
bool env__option_doc(size_t i, struct env_option_doc *doc);

/* The events ring buffer size: --ring-size, else 64 MiB at -r 1 and 8 MiB otherwise. */
uint32_t env__ring_size(const struct env *env);

/* Frees what env__parse or env__set_option allocated. */
void env__free(struct env *env);

/*
 * Parses a duration: a positive number with a unit ns, us, ms, s, m or h
 * (e.g. "500ms", "30s", "5m", "1.5s"); a bare number means seconds.
 * Returns 0 or -EINVAL.
 */
int env__parse_duration(const char *s, uint64_t *ns);

/*
 * Parses a positive byte count with an optional binary suffix k, m or g
 * (case-insensitive, optionally followed by "iB" or "B"). Returns 0 or -EINVAL.
 */
int env__parse_bytes(const char *s, uint64_t *bytes);

/*
 * Parses a share of one core: a percentage from 0 to 100 with at most four
 * decimals and an optional '%' ("5%", "5", "0.5%"), or "off" (0), into
 * millionths of a core. Returns 0 or -EINVAL.
 */
int env__parse_percent(const char *s, uint32_t *ppm);

#endif /* HEAPTRACE_ENV_H */
