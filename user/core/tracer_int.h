/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * tracer_int.h - the tracer's state, shared by the files of core/ that
 * implement tracer.h (tracer.c: set-up; tracer_targets.c: processes coming
 * and going; tracer_dump.c: profiles and loss reports; tracer_valve.c: the
 * safety valve; tracer_usdt.c: USDT probes whose object was unloaded;
 * tracer_peak.c: --peak's profiles of a new high; tracer_loop.c: the event
 * loop's callbacks). Nothing outside core/tracer*.c includes it.
 */
#ifndef HEAPTRACE_TRACER_INT_H
#define HEAPTRACE_TRACER_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "collect/loader.h"
#include "collect/valve.h"
#include "core/command.h"
#include "core/env.h"
#include "core/sysscan.h"
#include "core/targets.h"
#include "http/http.h"
#include "http/serve.h"
#include "output/leakwatch.h"
#include "output/profile.h"
#include "output/sink.h"
#include "symbol/symbolize.h"
#include "util/evloop.h"

#define EXEC_SETTLE_NS	10000000ull   /* maps unchanged this long: the image is loaded */
#define EXEC_GIVE_UP_NS 5000000000ull /* no allocator by then: stop waiting */

/*
 * A process whose new image (after exec) is waited for: its libraries are
 * being loaded, so its allocator is planned once its maps stop changing.
 */
struct pending_exec {
	pid_t pid;
	uint64_t since_ns;
	uint64_t last_look_ns;
	size_t last_nr_maps;
	bool attach; /* per-PID probes to attach (-p, a followed child); else system-wide */
};

struct tracer {
	const struct env *env;
	struct loader *loader;
	struct symbolizer *symbolizer;
	struct targets targets;
	struct command *command; /* the child we started, or NULL */
	struct profile_opts popts;
	struct wrappers *wrappers; /* popts.wrappers, owned */
	struct sinks *sinks;
	struct leakwatch *leaks;    /* each target's series of profiles, for its leak suspects */
	struct http_server *http;   /* --http, or NULL */
	struct http_access *access; /* --http-allow */
	struct serve_ctx serve;
	struct sysscan *sysscan; /* system-wide mode's probes, or NULL */
	pid_t *execs;		 /* exec events waiting to be handled outside the ring callback */
	size_t nr_execs, cap_execs;
	struct pending_exec *pending;
	size_t nr_pending, cap_pending;
	struct ht_global_stats reported; /* host-wide losses already reported */
	uint64_t table_full;		 /* processes the daemon's table had no room for */
	uint64_t reported_table_full;
	struct valve valve; /* system-wide mode's safety valve (per target otherwise) */
	uint64_t
	    valve_rate; /* the valve's budget, allocation calls/s (0: off): tracer__setup_valve */
	uint32_t valve_ppm; /* --max-overhead's share behind it; 0: --max-call-rate gave it */
	uint32_t max_live;  /* a DWARF-mode target's sample store: live blocks and calls */
	/*
	 * Filtered system-wide mode (--comm, --cgroup without -p): each wanted
	 * process gets probes of its own, as with -p, so the others never trap.
	 */
	bool filtered;
	bool per_pid; /* probes are attached per process: -p, a command, or filtered */
	struct target_probe_opts probe_opts;
	struct evloop *loop;
	int timer_deadline, timer_valve, timer_dump, timer_settle, timer_usdt, timer_memcg,
	    timer_peak;
	uint64_t next_dump;
	sigset_t mask;
	int sigfd;
	int exit_code;
	bool write_failed;
	uint64_t flush_deadline_ns; /* CLOCK_MONOTONIC: the last profiles' time to reach the disk */
};

/*
 * A process's comings and goings: said for the processes a person named (-p,
 * a command, their children); system-wide, where they are the host's
 * every process, only with -v.
 */
#define log_lifecycle(tr, ...)                                                                     \
	do {                                                                                       \
		if ((tr)->env->system_wide)                                                        \
			log_debug(__VA_ARGS__);                                                    \
		else                                                                               \
			log_info(__VA_ARGS__);                                                     \
	} while (0)

/* tracer_targets.c */
int tracer__attach_all(struct tracer *tr, const pid_t *pids, size_t nr);
int tracer__handle_event(const void *data, size_t size, void *ctx);
int tracer__reattach(struct tracer *tr, size_t idx);
void tracer__handle_execs(struct tracer *tr);
void tracer__settle_pending(struct tracer *tr, uint64_t now);
void tracer__sweep_system(struct tracer *tr);
int tracer__sweep_filtered(struct tracer *tr);
int tracer__add_target(struct tracer *tr, struct target *t);

/* tracer_dump.c */
int tracer__dump(struct tracer *tr, size_t idx, bool final);
void tracer__finish(struct tracer *tr, size_t idx, bool exec);
void tracer__finish_exited(struct tracer *tr);
void tracer__dump_all(struct tracer *tr);
void tracer__report_global(struct tracer *tr);

/* tracer_valve.c */
void tracer__setup_valve(struct tracer *tr);
void tracer__check_valves(struct tracer *tr, uint64_t now);

/* tracer_memcg.c: every MEMCG_CHECK_NS, a profile of each target near its memory cgroup's limit. */
#define MEMCG_CHECK_NS 250000000ull
void tracer__check_memcgs(struct tracer *tr);
/* What its profile says of t's memory cgroup (an OOM kill, near its limit) into buf, or NULL. */
const char *tracer__memcg_note(struct tracer *tr, struct target *t, bool final, char *buf,
			       size_t len);
const char *tracer__probes_off(const struct tracer *tr, const struct target *t, char *buf,
			       size_t len);

/* tracer_usdt.c */
void tracer__check_usdt(struct tracer *tr);

/* tracer_peak.c: --peak */
#define PEAK_CHECK_NS 100000000ull /* how often a target's in-use is checked for a new high */
void tracer__check_peaks(struct tracer *tr);
/* Before a periodic profile of snapshot `now`: writes the high kept since the last, if above. */
int tracer__write_peak(struct tracer *tr, struct target *t, const struct heap_snapshot *now);

/* tracer_loop.c */
int tracer__setup_loop(struct tracer *tr);

#endif /* HEAPTRACE_TRACER_INT_H */
