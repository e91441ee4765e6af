// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * main.c - orchestration: check the host, load the probes, attach them to
 * each target, and write a profile per target every interval and when it
 * ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <limits.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/command.h"
#include "probe/discover.h"
#include "output/dump.h"
#include "core/env.h"
#include "http/http.h"
#include "output/legacytext.h"
#include "collect/loader.h"
#include "util/log.h"
#include "core/preflight.h"
#include "util/signals.h"
#include "output/pprof.h"
#include "symbol/procmaps.h"
#include "http/serve.h"
#include "symbol/symbolize.h"
#include "core/sysscan.h"
#include "core/target.h"
#include "collect/valve.h"

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

#define EXEC_SETTLE_NS	10000000ull   /* maps unchanged this long: the image is loaded */
#define EXEC_GIVE_UP_NS 5000000000ull /* no allocator by then: stop waiting */

struct heaptrace {
	struct env env;
	struct loader *loader;
	struct symbolizer *symbolizer;
	struct target *targets;
	size_t nr_targets;
	struct command *command; /* the child we started, or NULL */
	struct dump_opts dump_opts;
	struct target_limits limits;
	int exit_code;
	bool write_failed;
	struct http_server *http; /* --http, or NULL */
	struct serve_ctx serve;
	size_t cap_targets;
	struct sysscan *sysscan; /* system-wide mode's probes, or NULL */
	pid_t *execs;		 /* exec events waiting to be handled outside the ring callback */
	size_t nr_execs, cap_execs;
	struct pending_exec *pending;
	size_t nr_pending;
	struct ht_global_stats reported; /* host-wide losses already reported */
	uint64_t table_full;		 /* processes the daemon's table had no room for */
	uint64_t reported_table_full;
	struct valve valve; /* system-wide mode's safety valve (per target otherwise) */
};

static uint64_t now_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* With -v: what heaptrace itself cost, for the benchmark and the curious. */
static void report_own_cost(const char *when)
{
	struct rusage ru;

	if (!log_verbose || getrusage(RUSAGE_SELF, &ru))
		return;
	log_debug("own cost %s: %.3f s CPU (%.3f user, %.3f system), peak RSS %ld KiB", when,
		  (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		      (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
		  (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
		  (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
}

static void format_bytes(int64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)(bytes < 0 ? -bytes : bytes);
	const char *sign = bytes < 0 ? "-" : "";
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%s%" PRId64 " B", sign, bytes < 0 ? -bytes : bytes);
	else
		snprintf(buf, len, "%s%.1f %s", sign, v, units[u]);
}

/*
 * A process's comings and goings: said for the processes a person named (-p,
 * a command, their children); system-wide, where they are the host's
 * every process, only with -v.
 */
#define log_lifecycle(ht, ...)                                                                     \
	do {                                                                                       \
		if ((ht)->env.system_wide)                                                         \
			log_debug(__VA_ARGS__);                                                    \
		else                                                                               \
			log_info(__VA_ARGS__);                                                     \
	} while (0)

/*
 * What a new target needs once opened or attached: DWARF mode's unwinder
 * and counters, and its files opened while it lives (it may exit before its
 * first profile, and only its mount namespace may have them).
 */
static int ready_target(struct heaptrace *ht, struct target *t)
{
	int err = 0;

	if (ht->env.unwind != ENV_UNWIND_FP)
		err = target__enable_dwarf(t, &ht->limits);
	if (!err)
		err = symbolizer__preload(ht->symbolizer, t->pid, t->dump.maps);
	return err;
}

/*
 * Starts tracing a process a person named. "tracing pid" is said once its
 * files are open too: a target that exits right after that line is still
 * symbolized, once its mount namespace and /proc/PID/root are gone. The
 * probes go in first, so that a process whose allocator is not mapped yet
 * (just after an exec) costs no unwinder set-up each time it is tried.
 */
static int attach_target(struct heaptrace *ht, struct target *t, pid_t pid)
{
	int err = target__open_named(t, pid);

	if (!err)
		err = target__probe(t, ht->loader, ht->env.probe_at_entry);
	if (!err)
		err = ready_target(ht, t);
	if (!err)
		target__announce(t);
	return err;
}

/*
 * Writes a profile for target `idx` and prints its status line. In
 * system-wide mode a process whose counters did not move since its last
 * profile gets none: that profile still says everything. The caller has
 * handled the events waiting in the ring buffer (once for a whole round of
 * profiles: each pass over the ring may take its whole time budget).
 */
static int dump_target(struct heaptrace *ht, size_t idx)
{
	struct dump_summary sum;
	char path[4096], inuse[32], delta[32], alloc[32];
	struct ht_target c;
	struct target *t;
	int err;

	t = &ht->targets[idx];
	if (ht->env.system_wide && !loader__target_stats(ht->loader, t->pid, &c)) {
		if (c.samples == t->last_samples && c.frees_tracked == t->last_frees &&
		    t->events == t->last_events)
			return 0;
		t->last_samples = c.samples;
		t->last_frees = c.frees_tracked;
		t->last_events = t->events;
	}
	if (t->alive)
		target__refresh_maps(t);
	err = dump__write(ht->loader, ht->symbolizer, &ht->dump_opts, &t->dump, &sum, path,
			  sizeof(path));
	if (err) {
		ht->write_failed = true;
		log_error("cannot write the profile of pid %d (%s) into '%s': %s: free space or "
			  "choose another directory with -o",
			  t->pid, t->comm, ht->env.output_dir, strerror(-err));
		return err;
	}
	format_bytes(sum.inuse_bytes, inuse, sizeof(inuse));
	format_bytes(sum.inuse_bytes - t->last_inuse_bytes, delta, sizeof(delta));
	format_bytes(sum.alloc_bytes, alloc, sizeof(alloc));
	log_info("pid %d (%s): inuse %s (%s%s) in %" PRId64 " objects, allocated %s, %" PRIu64
		 " samples, %" PRIu64 " lost",
		 t->pid, t->comm, inuse, sum.inuse_bytes >= t->last_inuse_bytes ? "+" : "", delta,
		 sum.inuse_objects, alloc, sum.samples, sum.lost);
	log_debug("wrote %s", path);
	/* Calls nested in another (operator new's malloc) count once: tests check that here. */
	if (!loader__target_stats(ht->loader, t->pid, &c))
		log_debug("pid %d: %llu allocation calls seen, %llu tracked blocks freed", t->pid,
			  (unsigned long long)c.calls, (unsigned long long)c.frees_tracked);
	t->last_inuse_bytes = sum.inuse_bytes;
	t->dumps++;
	return 0;
}

/*
 * Final profile of a target, then forget it. After a failed write (a full
 * disk) no more are attempted: the error was said once, and the profiles
 * already written are what remains. The BPF data of a process that exited
 * is deleted in batches (loader__purge); after an exec at once, since the
 * same PID is traced again right away.
 */
static void finish_target(struct heaptrace *ht, size_t idx, bool exec)
{
	struct target *t;

	if (!ht->write_failed && dump_target(ht, idx))
		ht->exit_code = 1;
	t = &ht->targets[idx];
	if (exec)
		loader__remove_target(ht->loader, t->pid);
	else
		loader__retire_target(ht->loader, t->pid);
	target__fini(t);
	ht->targets[idx] = ht->targets[--ht->nr_targets];
	/* The profile's name points into its own target. */
	ht->targets[idx].dump.comm = ht->targets[idx].comm;
}

static ssize_t find_target(const struct heaptrace *ht, pid_t pid)
{
	size_t i;

	for (i = 0; i < ht->nr_targets; i++)
		if (ht->targets[i].pid == pid)
			return (ssize_t)i;
	return -1;
}

/* Room for one more target; NULL when --max-processes are traced. */
static struct target *new_target_slot(struct heaptrace *ht)
{
	struct target *nt;
	size_t cap;

	if (ht->nr_targets < ht->cap_targets)
		return &ht->targets[ht->nr_targets];
	if (ht->cap_targets >= ht->env.max_processes)
		return NULL;
	cap = ht->cap_targets ? 2 * ht->cap_targets : 16;
	if (cap > ht->env.max_processes)
		cap = ht->env.max_processes;
	nt = realloc(ht->targets, cap * sizeof(*nt));
	if (!nt)
		return NULL;
	ht->targets = nt;
	ht->cap_targets = cap;
	/* Moved: each profile's name points into its own target. */
	for (size_t i = 0; i < ht->nr_targets; i++)
		ht->targets[i].dump.comm = ht->targets[i].comm;
	return &ht->targets[ht->nr_targets];
}

/*
 * A process the BPF side started tracing by itself (system-wide adoption,
 * a followed fork): give it a target. With `attach`, its per-PID probes
 * are attached here (a child of a -p target); otherwise the probes for
 * every process already cover it. Runs inside the ring-buffer callback, so
 * that the samples that follow the event find their target. Never writes
 * a profile (that would consume events from inside the callback). True when
 * `pid` got a new target (the last of the table).
 */
static bool adopt_target(struct heaptrace *ht, pid_t pid, bool attach)
{
	struct target *t;
	uint64_t start;
	ssize_t old;
	int err;

	old = find_target(ht, pid);
	if (old >= 0) {
		/* The same process (a sweep racing an event), or a PID reused: the old one
		 * was frozen at its exit and is finished by its pidfd; count the new one
		 * once that is done (the sweep adopts it). */
		if (!target__start_time(pid, &start) && start != ht->targets[old].start_time)
			log_debug("pid %d reused while its old process is being finished", pid);
		return false;
	}
	t = new_target_slot(ht);
	if (!t) {
		ht->table_full++;
		return false;
	}
	/* Counters read for the profiles being written do not have this one yet. */
	loader__cache_aggs(ht->loader, false);
	if (attach) {
		err = attach_target(ht, t, pid);
	} else {
		err = target__open(t, pid);
		if (!err)
			err = ready_target(ht, t);
	}
	if (err) {
		/* Gone already: forget what the BPF side holds for it. */
		target__fini(t);
		loader__remove_target(ht->loader, pid);
		return false;
	}
	ht->nr_targets++;
	if (!attach) /* else attach_target said "tracing pid" */
		log_debug("tracing pid %d (%s)", pid, t->comm);
	return true;
}

/*
 * DWARF mode: the child just adopted (the last target) holds copies of its
 * parent's live sampled blocks. The ring buffer is in order, so the parent's
 * store is what it was at the fork.
 */
static void inherit_samples(struct heaptrace *ht, const struct ht_proc_event *ev)
{
	struct target *child = &ht->targets[ht->nr_targets - 1];
	ssize_t parent = find_target(ht, (pid_t)ev->parent_tgid);

	if ((ev->flags & HT_FORK_INHERIT) && parent >= 0 && child->store &&
	    ht->targets[parent].store)
		samples__inherit(child->store, (uint32_t)child->pid, ht->targets[parent].store);
}

static void queue_exec(struct heaptrace *ht, pid_t pid)
{
	if (ht->nr_execs == ht->cap_execs) {
		size_t cap = ht->cap_execs ? 2 * ht->cap_execs : 16;
		pid_t *n = realloc(ht->execs, cap * sizeof(*n));

		if (!n)
			return; /* the process stays frozen: its final profile comes at its exit */
		ht->execs = n;
		ht->cap_execs = cap;
	}
	ht->execs[ht->nr_execs++] = pid;
}

static int handle_event(const void *data, size_t size, void *ctx)
{
	const struct ht_event_hdr *hdr = data;
	struct heaptrace *ht = ctx;
	size_t i;

	switch (hdr->type) {
	case HT_EV_PROCESS:
		adopt_target(ht, (pid_t)hdr->tgid, false);
		return 0;
	case HT_EV_FORK:
		if (adopt_target(ht, (pid_t)hdr->tgid, !ht->env.system_wide) &&
		    size >= sizeof(struct ht_proc_event))
			inherit_samples(ht, data);
		return 0;
	case HT_EV_EXEC:
		queue_exec(ht, (pid_t)hdr->tgid);
		return 0;
	}
	for (i = 0; i < ht->nr_targets; i++) {
		if (ht->targets[i].pid == (pid_t)hdr->tgid) {
			target__handle_event(&ht->targets[i], data, size);
			break;
		}
	}
	return 0;
}

/*
 * The command exec'ed a new image: the old image's profile is final (its
 * snapshot still symbolizes it); the new image is a new series, with its own
 * allocator found and probed afresh.
 */
static int reattach_target(struct heaptrace *ht, size_t idx)
{
	struct target *t = &ht->targets[idx];
	pid_t pid = t->pid;
	int err;

	if (!ht->write_failed && dump_target(ht, idx))
		ht->exit_code = 1;
	t = &ht->targets[idx];
	loader__remove_target(ht->loader, pid);
	target__fini(t);
	err = attach_target(ht, t, pid);
	if (err)
		ht->exit_code = 1;
	return err;
}

static int attach_all(struct heaptrace *ht, const pid_t *pids, size_t nr)
{
	struct target *t;
	size_t i;
	int err;

	for (i = 0; i < nr; i++) {
		t = new_target_slot(ht);
		if (!t) {
			log_error("cannot trace pid %d: --max-processes %u are traced", pids[i],
				  ht->env.max_processes);
			return -ENOSPC;
		}
		err = attach_target(ht, t, pids[i]);
		ht->nr_targets++;
		if (err)
			return err;
	}
	return 0;
}

/*
 * An exec of a traced process (not the command, which ptrace stops at its
 * new entry point, see reattach_target): the old image's final profile,
 * then its new image waited for (pending_exec) and traced as a new series.
 */
static void handle_exec(struct heaptrace *ht, pid_t pid)
{
	struct pending_exec *np;
	ssize_t idx = find_target(ht, pid);
	bool attach = !ht->env.system_wide;

	if (ht->command && pid == command__pid(ht->command))
		return;
	if (idx >= 0) {
		ht->targets[idx].alive = false; /* symbolized from the old image's snapshot */
		log_lifecycle(ht, "pid %d (%s) exec'ed: its profile of that image is final",
			      ht->targets[idx].pid, ht->targets[idx].comm);
		finish_target(ht, (size_t)idx, true);
	} else {
		loader__remove_target(ht->loader, pid);
	}
	np = realloc(ht->pending, (ht->nr_pending + 1) * sizeof(*np));
	if (!np)
		return;
	ht->pending = np;
	np[ht->nr_pending++] = (struct pending_exec){
	    .pid = pid, .since_ns = now_monotonic_ns(), .last_nr_maps = SIZE_MAX, .attach = attach};
}

/*
 * New images being loaded: once a process's maps have not changed for
 * EXEC_SETTLE_NS (the dynamic linker is done), its allocator is planned:
 * per-PID probes for a -p target, objects new to system-wide mode probed
 * for everyone (the BPF side then adopts it at its next call).
 */
static void settle_pending(struct heaptrace *ht)
{
	uint64_t now = now_monotonic_ns();
	size_t i;

	for (i = ht->nr_pending; i-- > 0;) {
		struct pending_exec *p = &ht->pending[i];
		struct procmaps *pm = NULL;
		bool done = false;
		struct target *t;

		if (now - p->last_look_ns < EXEC_SETTLE_NS)
			continue;
		p->last_look_ns = now;
		if (procmaps__load(p->pid, &pm) || pm->nr == 0) {
			log_lifecycle(ht, "pid %d exited after its exec", p->pid);
			done = true;
		} else if (pm->nr != p->last_nr_maps) {
			p->last_nr_maps = pm->nr;
		} else if (!p->attach) {
			/* Held off by the valve: its reattach scans every process. */
			if (!ht->valve.detached)
				sysscan__scan_pid(ht->sysscan, p->pid);
			done = true;
		} else if ((t = new_target_slot(ht)) != NULL) {
			int err = attach_target(ht, t, p->pid);

			if (err) {
				target__fini(t);
				loader__remove_target(ht->loader, p->pid);
			} else {
				ht->nr_targets++;
			}
			done = !err || now - p->since_ns > EXEC_GIVE_UP_NS;
			if (!done)
				p->last_nr_maps = SIZE_MAX;
		} else {
			ht->table_full++;
			done = true;
		}
		procmaps__free(pm);
		if (done)
			ht->pending[i] = ht->pending[--ht->nr_pending];
	}
}

static void handle_execs(struct heaptrace *ht)
{
	size_t i;

	/* Taken one by one: writing a profile consumes events, which may queue more. */
	for (i = 0; i < ht->nr_execs; i++)
		handle_exec(ht, ht->execs[i]);
	ht->nr_execs = 0;
}

/*
 * System-wide, every interval: probe allocator objects new to the host, and
 * give a target to each process the BPF side traces without the daemon
 * knowing it (its new-process event was lost), or forget it when it is gone.
 */
static void sweep_system(struct heaptrace *ht)
{
	pid_t *pids = NULL;
	size_t nr = 0, i;
	uint64_t start;
	/* While the safety valve holds the probes off, nothing is probed anew. */
	int err = ht->valve.detached ? 0 : sysscan__scan(ht->sysscan);

	if (err < 0)
		log_error("cannot scan /proc for new allocators: %s", strerror(-err));
	if (loader__target_pids(ht->loader, &pids, &nr))
		return;
	for (i = 0; i < nr; i++) {
		bool pending = false;
		size_t j;

		for (j = 0; j < ht->nr_pending; j++)
			pending |= ht->pending[j].pid == pids[i];
		if (pending || find_target(ht, pids[i]) >= 0)
			continue;
		if (target__start_time(pids[i], &start))
			loader__remove_target(ht->loader, pids[i]);
		else
			adopt_target(ht, pids[i], false);
	}
	free(pids);
}

/* Puts a target's probes back after its cooling period; false when that failed. */
static bool valve_reattach(struct heaptrace *ht, struct target *t)
{
	if (ht->sysscan)
		return sysscan__scan(ht->sysscan) >= 0;
	/* Libraries may have come and gone while nothing was watched. */
	target__refresh_maps(t);
	return target__probe(t, ht->loader, ht->env.probe_at_entry) == 0;
}

/* Carries out what a valve decided, and says so on stderr. */
static void valve_act(struct heaptrace *ht, struct valve *v, enum valve_action a, struct target *t,
		      uint64_t now)
{
	pid_t pid = ht->sysscan ? -1 : t->pid;
	char what[64];

	if (ht->sysscan)
		snprintf(what, sizeof(what), "all %zu traced processes", ht->nr_targets);
	else
		snprintf(what, sizeof(what), "pid %d (%s)", pid, t->comm);
	if (a == VALVE_DETACH) {
		loader__detach_probes(ht->loader, pid);
		if (ht->sysscan)
			sysscan__forget(ht->sysscan);
		log_warn("%s: %" PRIu64 " allocation calls/s exceed --max-call-rate %" PRIu64
			 ": probes off for %.0f s (the profiles say so)",
			 what, v->last_rate, v->max_rate, (double)v->cool_ns / 1e9);
	} else if (a == VALVE_REATTACH) {
		if (!valve_reattach(ht, t)) {
			valve__undo(v, a, now);
			log_warn("%s: cannot put the probes back: next try in %.0f s", what,
				 (double)v->cool_ns / 1e9);
			return;
		}
		log_info("%s: probes back on after %.0f s", what, (double)v->cool_ns / 1e9);
	}
}

/*
 * The safety valve (--max-call-rate), about once a second: each target's
 * allocation calls since the last look judged against the budget. In
 * system-wide mode the probes are shared by every process, so one valve
 * judges the calls of all of them together.
 */
static void check_valves(struct heaptrace *ht, uint64_t now)
{
	uint64_t all = 0, calls;
	enum valve_action a;
	struct ht_target c;
	size_t i;

	for (i = 0; i < ht->nr_targets; i++) {
		struct target *t = &ht->targets[i];

		if (loader__target_stats(ht->loader, t->pid, &c))
			continue;
		if (!t->valve.max_rate) {
			/* A new target: its window starts now. */
			valve__init(&t->valve, ht->env.max_call_rate, ht->env.cool_down_ns, now);
			t->valve_calls = c.calls;
		}
		calls = c.calls - t->valve_calls;
		t->valve_calls = c.calls;
		all += calls;
		if (ht->sysscan)
			continue;
		a = valve__tick(&t->valve, calls, now);
		valve_act(ht, &t->valve, a, t, now);
		valve__describe(&t->valve, now, t->dump.note, sizeof(t->dump.note));
	}
	if (!ht->sysscan)
		return;
	if (!ht->valve.max_rate)
		valve__init(&ht->valve, ht->env.max_call_rate, ht->env.cool_down_ns, now);
	a = valve__tick(&ht->valve, all, now);
	valve_act(ht, &ht->valve, a, NULL, now);
	for (i = 0; i < ht->nr_targets; i++)
		valve__describe(&ht->valve, now, ht->targets[i].dump.note,
				sizeof(ht->targets[i].dump.note));
}

/* Losses no single process owns, said when they grow. */
static void report_global(struct heaptrace *ht)
{
	struct ht_global_stats g;

	if (loader__global_stats(ht->loader, &g))
		return;
	log_debug("host-wide: %llu processes refused (map full), %llu process events lost, %llu "
		  "calls of exited or exec'ed processes ignored",
		  (unsigned long long)g.targets_full, (unsigned long long)g.lost_proc_events,
		  (unsigned long long)g.dropped_frozen);
	if (g.targets_full + ht->table_full > ht->reported.targets_full + ht->reported_table_full)
		log_info("%" PRIu64 " processes not traced: --max-processes %u are traced",
			 (uint64_t)(g.targets_full + ht->table_full), ht->env.max_processes);
	if (g.lost_proc_events > ht->reported.lost_proc_events)
		log_info("%" PRIu64 " process events lost (ring buffer full): recovered at the "
			 "next interval",
			 (uint64_t)g.lost_proc_events);
	ht->reported = g;
	ht->reported_table_full = ht->table_full;
}

/* --list-probes: where each target's allocator would be probed, and why. */
static int list_probes(struct heaptrace *ht)
{
	const struct env *env = &ht->env;
	pid_t pid = 0;
	size_t i;
	int err = 0;

	if (env->command) {
		sigset_t none;

		/* The command runs to its entry point, is listed, then ended. */
		sigemptyset(&none);
		err = command__start(env->command, &none, &ht->command);
		if (!err)
			err = command__run(ht->command);
		if (err)
			return err;
		pid = command__pid(ht->command);
	}
	for (i = 0; i < (env->command ? 1 : env->nr_pids) && !err; i++) {
		struct alloc_plan *plan = NULL;
		struct procmaps *pm;

		if (!env->command)
			pid = env->pids[i];
		if (procmaps__load(pid, &pm)) {
			log_error("no such process: pid %d: check the PID (ps -p %d)", pid, pid);
			return -ESRCH;
		}
		err = allocator__plan(pid, pm, env->probe_at_entry, &plan);
		if (err == -ENOENT)
			log_error("allocator not found in pid %d: no object it maps defines malloc",
				  pid);
		else if (err)
			log_error("cannot plan the probes of pid %d: %s", pid, strerror(-err));
		else
			allocator__plan_write(plan, stdout);
		allocator__plan_free(plan);
		procmaps__free(pm);
	}
	return err;
}

/* --list-allocators: which objects serve each target's allocations, and why. */
static int list_allocators(const struct env *env)
{
	size_t i;
	int err = 0;

	for (i = 0; i < env->nr_pids && !err; i++)
		err = discover__print(stdout, env->pids[i]);
	return err;
}

/* heaptrace print [-base OLD] FILE: the profile as Go's legacy heap text on stdout. */
static int print_profile(const struct env *env)
{
	struct pprof_builder *b = NULL, *base = NULL;
	int err;

	err = pprof__read_gz(env->print_file, &b);
	if (err) {
		log_error(
		    "cannot read the profile '%s': %s: give a heap profile written by heaptrace "
		    "or Go",
		    env->print_file, err == -EPROTO ? "not a heap profile" : strerror(-err));
		goto cleanup;
	}
	if (env->print_base) {
		err = pprof__read_gz(env->print_base, &base);
		if (err) {
			log_error("cannot read the base profile '%s': %s: give a heap profile "
				  "written by heaptrace or Go",
				  env->print_base,
				  err == -EPROTO ? "not a heap profile" : strerror(-err));
			goto cleanup;
		}
		err = pprof__merge(b, base, -1);
		if (err) {
			log_error("cannot subtract '%s' from '%s': %s", env->print_base,
				  env->print_file, strerror(-err));
			goto cleanup;
		}
	}
	err = legacytext__write(stdout, b, NULL, NULL, 0);
	if (err)
		log_error("cannot write to stdout: %s", strerror(-err));
cleanup:
	pprof__free(base);
	pprof__free(b);
	return err;
}

/* --cgroup: a cgroup v2 directory, opened for the BPF filter; prints its own error. */
static int open_cgroup(const char *path)
{
	struct statfs sfs;
	int fd;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		log_error("cannot open the cgroup '%s': %s: give a cgroup v2 directory (under "
			  "/sys/fs/cgroup)",
			  path, strerror(errno));
		return -1;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC) {
		log_error("'%s' is not a cgroup v2 directory: give one under /sys/fs/cgroup", path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup, or .../unified on hybrid hosts. */
static void cgroup2_root(char *root, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/self/mounts", "r");

	snprintf(root, len, "/sys/fs/cgroup");
	while (f && fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(root, len, "%s", dir);
			break;
		}
	}
	if (f)
		fclose(f);
}

/*
 * With -p, --comm and --cgroup do not widen anything: a given PID outside
 * them is refused (a mistyped filter is said, not silently applied), and
 * they select the followed children the BPF side picks (--follow-forks).
 * Prints its own error.
 */
static bool process_matches(const struct env *env, pid_t pid)
{
	char path[64], buf[4096], want[PATH_MAX], root[PATH_MAX], *p;
	FILE *f;
	bool in = false;

	if (env->comm) {
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "r");
		buf[0] = '\0';
		if (f) {
			if (!fgets(buf, sizeof(buf), f))
				buf[0] = '\0';
			fclose(f);
		}
		buf[strcspn(buf, "\n")] = '\0';
		if (strcmp(buf, env->comm)) {
			log_error("pid %d is named '%s', not '%s' (--comm): give matching "
				  "processes",
				  pid, buf, env->comm);
			return false;
		}
	}
	if (!env->cgroup)
		return true;
	if (!realpath(env->cgroup, want))
		return true; /* open_cgroup says what is wrong with it */
	cgroup2_root(root, sizeof(root));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		char full[2 * PATH_MAX + 8];
		size_t n = strlen(want);

		if (strncmp(buf, "0::", 3))
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		p = buf + 3;
		snprintf(full, sizeof(full), "%s%s", root, strcmp(p, "/") ? p : "");
		in = !strncmp(full, want, n) && (full[n] == '\0' || full[n] == '/');
	}
	if (f)
		fclose(f);
	if (!in)
		log_error("pid %d is not in the cgroup '%s' (--cgroup): give processes inside it",
			  pid, env->cgroup);
	return in;
}

/* System-wide mode: probe every allocator object the host's processes use. */
static int start_system_wide(struct heaptrace *ht)
{
	int n, err;

	err = sysscan__new(ht->loader, ht->env.probe_at_entry, getpid(), &ht->sysscan);
	if (err) {
		log_error("out of memory");
		return err;
	}
	n = sysscan__scan(ht->sysscan);
	if (n < 0) {
		log_error("cannot read /proc: %s", strerror(-n));
		return n;
	}
	log_info("tracing every process%s%s%s%s: %zu probes on %zu allocator objects, at most %u "
		 "processes",
		 ht->env.comm ? " named " : "", ht->env.comm ? ht->env.comm : "",
		 ht->env.cgroup ? " in " : "", ht->env.cgroup ? ht->env.cgroup : "",
		 sysscan__nr_probes(ht->sysscan), sysscan__nr_objects(ht->sysscan),
		 ht->env.max_processes);
	return 0;
}

static int setup_signals(sigset_t *mask)
{
	int fd;

	sigemptyset(mask);
	sigaddset(mask, SIGINT);
	sigaddset(mask, SIGTERM);
	sigaddset(mask, SIGCHLD);
	sigaddset(mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, mask, NULL))
		return -errno;
	fd = signals__open(mask);
	return fd;
}

/*
 * Waits for the next event: a signal, a target's exit, or a deadline.
 * Returns true when heaptrace should stop.
 */
static bool run_loop(struct heaptrace *ht, int sigfd)
{
	uint64_t start = now_monotonic_ns();
	uint64_t next_dump = start + ht->env.interval_ns;
	uint64_t deadline = ht->env.duration_ns ? start + ht->env.duration_ns : UINT64_MAX;
	uint64_t next_valve = ht->env.max_call_rate ? start + VALVE_WINDOW_NS : UINT64_MAX;
	struct pollfd *pfds = NULL;
	bool stop = false;

	/* System-wide, heaptrace waits for processes; otherwise it ends with its targets. */
	while (!stop && (ht->nr_targets || ht->nr_pending || ht->env.system_wide)) {
		uint64_t now = now_monotonic_ns(),
			 wake = next_dump < deadline ? next_dump : deadline;

		if (next_valve < wake)
			wake = next_valve;
		int timeout = wake > now ? (int)((wake - now + 999999) / 1000000) : 0;

		/* Samples wake heaptrace in batches only (heaptrace.h): look at them anyway. */
		if (ht->env.unwind != ENV_UNWIND_FP && timeout > HT_EVENTS_POLL_MS)
			timeout = HT_EVENTS_POLL_MS;
		/* A new image being loaded is looked at every EXEC_SETTLE_NS. */
		if (ht->nr_pending && timeout > (int)(EXEC_SETTLE_NS / 1000000))
			timeout = (int)(EXEC_SETTLE_NS / 1000000);
		size_t i, n = 0, http_first;
		struct pollfd *np;
		int ret;

		np = realloc(pfds, (ht->nr_targets + 2 + HTTP_MAX_POLLFDS) * sizeof(*pfds));
		if (!np)
			break;
		pfds = np;
		pfds[n++] = (struct pollfd){.fd = sigfd, .events = POLLIN};
		/* A negative fd (frame-pointer mode: no events) is ignored by poll. */
		pfds[n++] = (struct pollfd){.fd = loader__events_fd(ht->loader), .events = POLLIN};
		for (i = 0; i < ht->nr_targets; i++)
			pfds[n++] = (struct pollfd){.fd = ht->targets[i].pidfd, .events = POLLIN};
		/* The server's sockets and time-outs share the one poll: no thread, no lock. */
		http_first = n;
		if (ht->http) {
			int ht_ms = http__timeout_ms(ht->http, now);

			n += http__pollfds(ht->http, pfds + n);
			if (ht_ms >= 0 && ht_ms < timeout)
				timeout = ht_ms;
		}
		ret = poll(pfds, n, timeout);
		if (ret < 0 && errno != EINTR)
			break;
		if (ht->http)
			http__process(ht->http, pfds + http_first, ret > 0 ? n - http_first : 0,
				      now_monotonic_ns());
		/* Without a wake-up too: samples wake heaptrace only in batches. Reading
		 * an empty ring costs no system call. */
		loader__consume_events(ht->loader);
		handle_execs(ht);
		if (ht->nr_pending)
			settle_pending(ht);

		if (ret > 0 && (pfds[0].revents & POLLIN)) {
			int sig = signals__read(sigfd);

			if (sig == SIGCHLD) {
				/* The command's exit stop: write its profile while its maps exist.
				 */
				enum command_state cs = ht->command
							    ? command__handle_child(ht->command)
							    : COMMAND_RUNNING;

				/* Stopped: what it reported so far is all its image will. */
				if (cs == COMMAND_EXITING || cs == COMMAND_EXECED)
					loader__drain_events(ht->loader, LOADER_DRAIN_BUDGET_NS);
				for (i = 0; i < ht->nr_targets && ht->command; i++)
					if (ht->targets[i].pid == command__pid(ht->command))
						break;
				if (cs == COMMAND_EXITING) {
					if (i < ht->nr_targets)
						finish_target(ht, i, false);
					command__release(ht->command);
				} else if (cs == COMMAND_EXECED) {
					if (i < ht->nr_targets && reattach_target(ht, i))
						stop = true;
					command__resume(ht->command);
				}
			} else if (sig > 0) {
				log_info("%s: writing final profiles", strsignal(sig));
				stop = true;
				break;
			}
		}
		/* Targets that exited: their maps snapshot still symbolizes them. */
		for (i = 0; i < ht->nr_targets && !target__exited(&ht->targets[i]); i++)
			;
		if (i < ht->nr_targets)
			/* Their last events, before they are forgotten. */
			loader__drain_events(ht->loader, LOADER_DRAIN_BUDGET_NS);
		for (i = ht->nr_targets; i-- > 0;) {
			if (!target__exited(&ht->targets[i]))
				continue;
			ht->targets[i].alive = false;
			ht->targets[i].dump.alive = false;
			log_lifecycle(ht, "pid %d (%s) exited", ht->targets[i].pid,
				      ht->targets[i].comm);
			finish_target(ht, i, false);
		}
		now = now_monotonic_ns();
		if (now >= deadline) {
			stop = true;
			break;
		}
		if (now >= next_valve) {
			check_valves(ht, now);
			next_valve = now + VALVE_WINDOW_NS;
		}
		/* Many exits at once (a build): their data goes in one walk of the maps. */
		if (loader__nr_retired(ht->loader) >= 256)
			loader__purge(ht->loader);
		if (now >= next_dump) {
			loader__purge(ht->loader);
			if (ht->sysscan)
				sweep_system(ht);
			loader__consume_events(ht->loader);
			loader__cache_aggs(ht->loader, ht->nr_targets > 1);
			for (i = 0; i < ht->nr_targets && !ht->write_failed; i++)
				if (dump_target(ht, i))
					ht->exit_code = 1;
			loader__cache_aggs(ht->loader, false);
			report_global(ht);
			if (ht->exit_code)
				stop = true;
			while (next_dump <= now)
				next_dump += ht->env.interval_ns;
		}
	}
	free(pfds);
	return stop;
}

int main(int argc, char **argv)
{
	struct heaptrace ht = {.exit_code = 0};
	struct loader_opts lopts = {};
	char err_msg[512];
	sigset_t mask;
	int sigfd = -1, err;
	size_t i;

	err = env__parse(argc, argv, &ht.env, err_msg, sizeof(err_msg));
	if (err == ENV_EXIT)
		return 0;
	if (err == ENV_PRINT)
		return print_profile(&ht.env) ? 1 : 0;
	if (err < 0) {
		log_error("%s", err_msg);
		return 2;
	}
	log_verbose = ht.env.verbose;
	if (ht.env.list_probes) {
		ht.exit_code = list_probes(&ht) ? 1 : 0;
		goto cleanup;
	}
	if (ht.env.list_allocators) {
		if (!ht.env.nr_pids) {
			log_error("--list-allocators needs -p PID: a process that is running");
			ht.exit_code = 2;
		} else {
			ht.exit_code = list_allocators(&ht.env) ? 1 : 0;
		}
		goto cleanup;
	}

	if (preflight__check(&ht.env, err_msg, sizeof(err_msg))) {
		log_error("%s", err_msg);
		ht.exit_code = 1;
		goto cleanup;
	}

	/* Before anything is attached: an address in use is a quick, clean failure. */
	if (ht.env.http_addr) {
		ht.serve = (struct serve_ctx){.targets = &ht.targets,
					      .nr_targets = &ht.nr_targets,
					      .sample_rate = ht.env.sample_rate};
		err = http__listen(ht.env.http_addr, serve__handle, &ht.serve, &ht.http, err_msg,
				   sizeof(err_msg));
		if (err) {
			log_error("%s", err_msg);
			ht.exit_code = 1;
			goto cleanup;
		}
	}

	lopts.sample_rate = ht.env.sample_rate;
	lopts.max_targets = ht.env.max_processes;
	lopts.trace_all = ht.env.system_wide;
	lopts.follow_forks = ht.env.follow_forks;
	lopts.self = getpid();
	lopts.comm = ht.env.comm;
	lopts.cgroup_fd = -1;
	if (ht.env.cgroup) {
		lopts.cgroup_fd = open_cgroup(ht.env.cgroup);
		if (lopts.cgroup_fd < 0) {
			ht.exit_code = 1;
			goto cleanup;
		}
		lopts.filter_cgroup = true;
	}
	for (i = 0; i < ht.env.nr_pids; i++) {
		if (!process_matches(&ht.env, ht.env.pids[i])) {
			ht.exit_code = 1;
			goto cleanup;
		}
	}
	lopts.max_stacks = ht.env.max_stacks;
	lopts.max_live = ht.env.max_live;
	lopts.max_threads = ht.env.max_threads;
	lopts.verbose = ht.env.verbose;
	lopts.unwind = ht.env.unwind == ENV_UNWIND_FP ? HT_UNWIND_FP : HT_UNWIND_DWARF;
	lopts.stack_copy_size = ht.env.stack_copy_size;
	lopts.ring_size = env__ring_size(&ht.env);
	lopts.alloc_only = ht.env.alloc_only;
	lopts.probe_at_entry = ht.env.probe_at_entry;
	lopts.floor = ht.env.floor;
	lopts.no_session = ht.env.no_session;
	err = loader__open(&lopts, &ht.loader);
	if (lopts.cgroup_fd >= 0)
		close(lopts.cgroup_fd); /* the BPF map holds the cgroup now */
	if (err) {
		if ((err == -EPERM || err == -EACCES) && geteuid() == 0)
			log_error(
			    "the kernel refused heaptrace's BPF programs (%s): check "
			    "kernel.unprivileged_bpf_disabled and lockdown; run with -v for the "
			    "verifier's log",
			    strerror(-err));
		else if (err == -EPERM || err == -EACCES)
			log_error("loading BPF programs was not permitted: run as root, or grant "
				  "CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE");
		else
			log_error(
			    "cannot load the BPF programs: %s: run with -v for libbpf's detail",
			    strerror(-err));
		ht.exit_code = 1;
		goto cleanup;
	}
	err = loader__session_status(ht.loader);
	if (err > 0)
		log_debug("probes: uprobe sessions (a return run only for calls that need one)");
	else
		log_debug("probes: uprobe + uretprobe pairs (uprobe sessions: %s)",
			  err ? strerror(-err) : "off, --no-session");
	ht.symbolizer = symbolizer__new();
	if (!ht.symbolizer) {
		log_error("out of memory");
		ht.exit_code = 1;
		goto cleanup;
	}
	ht.serve.loader = ht.loader;
	ht.serve.symbolizer = ht.symbolizer;

	/* DWARF samples, and in every mode the new-process, exec and fork events. */
	err = loader__set_event_handler(ht.loader, handle_event, &ht);
	if (err) {
		log_error("cannot read the BPF event buffer: %s", strerror(-err));
		ht.exit_code = 1;
		goto cleanup;
	}

	sigfd = setup_signals(&mask);
	if (sigfd < 0) {
		log_error("cannot set up signal handling: %s", strerror(-sigfd));
		ht.exit_code = 1;
		goto cleanup;
	}

	ht.limits.max_stacks = ht.env.max_stacks;
	/* Calls between their stack and their return are tracked too: one per thread at most. */
	ht.limits.max_live = ht.env.max_live + ht.env.max_threads;
	ht.dump_opts.output_dir = ht.env.output_dir;
	ht.dump_opts.sample_rate = ht.env.sample_rate;
	ht.dump_opts.subsecond_names = ht.env.interval_ns < 1000000000ull;
	ht.dump_opts.alloc_only = ht.env.alloc_only;

	if (ht.env.command) {
		pid_t pid;

		err = command__start(ht.env.command, &mask, &ht.command);
		if (err) {
			ht.exit_code = 1;
			goto cleanup;
		}
		pid = command__pid(ht.command);
		err = command__run(ht.command);
		if (!err)
			err = attach_all(&ht, &pid, 1);
		if (!err)
			command__resume(ht.command);
	} else if (ht.env.system_wide) {
		err = start_system_wide(&ht);
	} else {
		err = attach_all(&ht, ht.env.pids, ht.env.nr_pids);
	}
	if (err) {
		ht.exit_code = 1;
		goto cleanup;
	}

	if (ht.http)
		log_info("serving http://%s/debug/pprof/", http__address(ht.http));
	/* Start-up (load, discovery, attach) apart from tracing, for the benchmark. */
	report_own_cost("at start-up");
	run_loop(&ht, sigfd);
	loader__drain_events(ht.loader, LOADER_DRAIN_BUDGET_NS);
	for (i = ht.nr_targets; i-- > 0;)
		finish_target(&ht, i, false);
	if (ht.loader)
		report_global(&ht);
cleanup:
	report_own_cost("in all");
	http__free(ht.http);
	for (i = 0; i < ht.nr_targets; i++)
		target__fini(&ht.targets[i]);
	free(ht.targets);
	sysscan__free(ht.sysscan);
	free(ht.execs);
	free(ht.pending);
	if (ht.command) {
		int status = command__free(ht.command);

		/* A command that could not even start is an error of the run. */
		if (status == 127 && !ht.exit_code)
			ht.exit_code = 1;
	}
	symbolizer__free(ht.symbolizer);
	loader__free(ht.loader);
	if (sigfd >= 0)
		close(sigfd);
	env__free(&ht.env);
	return ht.exit_code;
}
