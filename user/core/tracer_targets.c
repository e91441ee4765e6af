// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * tracer_targets.c - processes coming and going: targets a person named,
 * processes the BPF side adopted (system-wide, followed forks), execs, and
 * the system-wide sweep.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/filters.h"
#include "core/tracer_int.h"
#include "symbol/procmaps.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/vec.h"

/* Puts an opened target into the table; its pidfd wakes the loop when it exits. */
int tracer__add_target(struct tracer *tr, struct target *t)
{
	int err = targets__insert(&tr->targets, t);

	if (!err && t->pidfd >= 0)
		err = evloop__add_fd(tr->loop, t->pidfd, NULL, NULL);
	return err;
}

/*
 * What a new target needs once opened or attached: DWARF mode's unwinder
 * and counters, and its files opened while it lives (it may exit before its
 * first profile, and only its mount namespace may have them).
 */
static int ready_target(struct tracer *tr, struct target *t)
{
	int err = 0;

	if (tr->env->unwind != ENV_UNWIND_FP)
		err = target__enable_dwarf(t, tr->env->max_stacks, tr->max_live);
	if (!err)
		err = symbolizer__preload(tr->symbolizer, t->proc.pid, t->proc.maps);
	return err;
}

/*
 * Starts tracing a process a person named. "tracing pid" is said once its
 * files are open too: a target that exits right after that line is still
 * symbolized, once its mount namespace and /proc/PID/root are gone. The
 * probes go in first, so that a process whose allocator is not mapped yet
 * (just after an exec) costs no unwinder set-up each time it is tried.
 */
static int attach_target(struct tracer *tr, struct target *t, pid_t pid, bool fatal)
{
	/* A process a filter picked (filtered system-wide mode) is not named: no errors. */
	bool named = !tr->env->system_wide;
	int err = named ? target__open_named(t, pid, fatal) : target__open(t, pid);

	t->warn_only = !fatal;
	if (!err)
		err = target__probe(t, tr->loader, &tr->probe_opts, named);
	if (!err)
		err = ready_target(tr, t);
	if (!err) {
		target__announce(t, named);
		/* Once it is traced, what fails later (the valve's re-attach) leaves the run going. */
		t->warn_only = true;
	}
	return err;
}

/*
 * A named process (-p, the command, a -p target's new image) into the
 * table. On failure what the BPF side holds for it is forgotten when
 * `forget` is set. Returns 0, -ENOSPC when --max-processes are traced, or
 * the attach's error (already said).
 */
static int attach_new(struct tracer *tr, pid_t pid, bool forget)
{
	struct target *t = targets__new_slot(&tr->targets);
	int err;

	if (!t)
		return -ENOSPC;
	/* Without `forget`, a process the run cannot do without: -p, the command. */
	err = attach_target(tr, t, pid, !forget);
	if (err && forget) {
		targets__discard(t);
		loader__remove_target(tr->loader, pid);
		return err;
	}
	/* A named target that failed still ends the run with its final profile. */
	if (tracer__add_target(tr, t)) {
		targets__discard(t);
		return -ENOMEM;
	}
	return err;
}

int tracer__attach_all(struct tracer *tr, const pid_t *pids, size_t nr)
{
	size_t i;
	int err;

	for (i = 0; i < nr; i++) {
		err = attach_new(tr, pids[i], false);
		if (err == -ENOSPC)
			log_error("cannot trace pid %d: --max-processes %u are traced", pids[i],
				  tr->env->max_processes);
		if (err)
			return err;
	}
	return 0;
}

/*
 * A followed child of a -p target: attached as a named process, except
 * that one which ends first (children living a few milliseconds, forked by
 * the hundred) is not an error, only counted by its parent.
 */
static int attach_child(struct tracer *tr, struct target *t, pid_t pid)
{
	int err = target__open(t, pid);

	t->warn_only = true; /* nothing that fails for a child ends the run */
	if (!err)
		err = target__probe(t, tr->loader, &tr->probe_opts, false);
	if (!err)
		err = ready_target(tr, t);
	if (!err)
		target__announce(t, true);
	return err;
}

/*
 * A fork event's outcome, counted by the traced parent: every child is
 * followed or missed. A miss is nearly always a child that ended (or was
 * ending: its maps gone, its files closing) before its probes went in; -v
 * says each one's reason.
 */
static void count_child(struct tracer *tr, pid_t parent_pid, pid_t pid, bool ok)
{
	struct target *parent = targets__find(&tr->targets, parent_pid);

	if (!parent)
		return;
	if (ok) {
		parent->children_followed++;
		return;
	}
	parent->children_missed++;
	if (!parent->children_warned) {
		parent->children_warned = true;
		log_warn("pid %d (%s): child %d ended before its probes were attached: such "
			 "children are counted as missed (status line, profile comment), not said "
			 "again",
			 parent_pid, parent->proc.comm, pid);
	}
}

/*
 * A process the BPF side started tracing by itself (system-wide adoption,
 * a followed fork): give it a target. With `attach`, its per-PID probes
 * are attached here (a child of a -p target); otherwise the probes for
 * every process already cover it. Runs inside the ring-buffer callback, so
 * that the samples that follow the event find their target. Never writes
 * a profile (that would consume events from inside the callback). Returns
 * the new target, or NULL.
 */
static struct target *adopt_target(struct tracer *tr, pid_t pid, bool attach, pid_t parent)
{
	struct target *t, *old = targets__find(&tr->targets, pid);
	uint64_t start;
	int err;

	if (old) {
		/* The same process (a sweep racing an event), or a PID reused: the old one
		 * was frozen at its exit and is finished by its pidfd; count the new one
		 * once that is done (the sweep adopts it). */
		if (!procfs__start_time(pid, &start) && start != old->proc.start_time)
			log_debug("pid %d reused while its old process is being finished", pid);
		return NULL;
	}
	t = targets__new_slot(&tr->targets);
	if (!t) {
		tr->table_full++;
		return NULL;
	}
	/* Counters read for the profiles being written do not have this one yet. */
	loader__cache_aggs(tr->loader, false);
	if (attach && parent) {
		err = attach_child(tr, t, pid);
	} else if (attach) {
		err = attach_target(tr, t, pid, false);
	} else {
		err = target__open(t, pid);
		if (!err)
			err = ready_target(tr, t);
	}
	if (!err)
		err = tracer__add_target(tr, t);
	if (parent)
		count_child(tr, parent, pid, !err);
	if (err) {
		/* Gone already: forget what the BPF side holds for it, with the next purge. */
		targets__discard(t);
		loader__retire_target(tr->loader, pid);
		return NULL;
	}
	if (!attach) /* else attach_target said "tracing pid" */
		log_debug("tracing pid %d (%s)", pid, t->proc.comm);
	return t;
}

/*
 * DWARF mode: a child just adopted holds copies of its parent's live
 * sampled blocks. The ring buffer is in order, so the parent's store is
 * what it was at the fork.
 */
static void inherit_samples(struct tracer *tr, struct target *child, const struct ht_proc_event *ev)
{
	struct target *parent = targets__find(&tr->targets, (pid_t)ev->parent_tgid);

	if ((ev->flags & HT_FORK_INHERIT) && parent && child->proc.store && parent->proc.store)
		samples__inherit(child->proc.store, (uint32_t)child->proc.pid, parent->proc.store);
}

static void queue_exec(struct tracer *tr, pid_t pid)
{
	/* Without room the process stays frozen: its final profile comes at its exit. */
	if (!VEC_RESERVE(tr->execs, tr->cap_execs, tr->nr_execs + 1))
		tr->execs[tr->nr_execs++] = pid;
}

int tracer__handle_event(const void *data, size_t size, void *ctx)
{
	const struct ht_event_hdr *hdr = data;
	struct tracer *tr = ctx;
	struct target *t;

	switch (hdr->type) {
	case HT_EV_PROCESS:
		adopt_target(tr, (pid_t)hdr->tgid, false, 0);
		return 0;
	case HT_EV_FORK:
		t = adopt_target(tr, (pid_t)hdr->tgid, tr->per_pid,
				 size >= sizeof(struct ht_proc_event)
				     ? (pid_t)((const struct ht_proc_event *)data)->parent_tgid
				     : 0);
		if (t && size >= sizeof(struct ht_proc_event))
			inherit_samples(tr, t, data);
		return 0;
	case HT_EV_EXEC:
		queue_exec(tr, (pid_t)hdr->tgid);
		return 0;
	}
	t = targets__find(&tr->targets, (pid_t)hdr->tgid);
	if (t)
		process__handle_event(&t->proc, data, size);
	return 0;
}

/*
 * The command exec'ed a new image: the old image's profile is final (its
 * snapshot still symbolizes it); the new image is a new series, with its own
 * allocator found and probed afresh.
 */
int tracer__reattach(struct tracer *tr, size_t idx)
{
	pid_t pid = tr->targets.items[idx]->proc.pid;
	int err;

	/* Its last profile is the old image's: its name and maps, not the new one's. */
	tr->targets.items[idx]->proc.alive = false;
	tracer__finish(tr, idx, true);
	err = attach_new(tr, pid, false);
	if (err)
		tr->exit_code = 1;
	return err;
}

static void wait_for_image(struct tracer *tr, pid_t pid, bool attach)
{
	if (VEC_RESERVE(tr->pending, tr->cap_pending, tr->nr_pending + 1))
		return;
	tr->pending[tr->nr_pending++] = (struct pending_exec){
		.pid = pid, .since_ns = clock__mono_ns(), .last_nr_maps = SIZE_MAX, .attach = attach
	};
	evloop__arm(tr->loop, tr->timer_settle, clock__mono_ns() + EXEC_SETTLE_NS);
}

/*
 * An exec of a traced process (not the command, which ptrace stops at its
 * new entry point, see tracer__reattach): the old image's final profile,
 * then its new image waited for (pending_exec) and traced as a new series.
 */
static void handle_exec(struct tracer *tr, pid_t pid)
{
	ssize_t idx = targets__index(&tr->targets, pid);

	if (tr->command && pid == command__pid(tr->command))
		return;
	if (idx >= 0) {
		struct target *t = tr->targets.items[idx];

		t->proc.alive = false; /* symbolized from the old image's snapshot */
		log_lifecycle(tr, "pid %d (%s) exec'ed: its profile of that image is final",
			      t->proc.pid, t->proc.comm);
		tracer__finish(tr, (size_t)idx, true);
	} else {
		loader__remove_target(tr->loader, pid);
	}
	wait_for_image(tr, pid, tr->per_pid);
}

void tracer__handle_execs(struct tracer *tr)
{
	size_t i;

	/* Taken one by one: writing a profile consumes events, which may queue more. */
	for (i = 0; i < tr->nr_execs; i++)
		handle_exec(tr, tr->execs[i]);
	tr->nr_execs = 0;
}

/* One look at a new image; true when it is done with (traced, gone, or given up). */
static bool settle_one(struct tracer *tr, struct pending_exec *p, uint64_t now)
{
	struct procmaps *pm = NULL;
	bool done = false;
	int err;

	if (now - p->last_look_ns < EXEC_SETTLE_NS)
		return false;
	p->last_look_ns = now;
	if (procmaps__load(p->pid, &pm) || pm->nr == 0) {
		log_lifecycle(tr, "pid %d exited after its exec", p->pid);
		done = true;
	} else if (pm->nr != p->last_nr_maps) {
		p->last_nr_maps = pm->nr;
	} else if (!p->attach) {
		/* Held off by the valve: its reattach scans every process. */
		if (!tr->valve.detached)
			sysscan__scan_pid(tr->sysscan, p->pid);
		done = true;
	} else if (tr->filtered && !filters__wants(tr->env, p->pid)) {
		done = true; /* a traced process's new image the filters do not want */
	} else {
		err = attach_new(tr, p->pid, true);
		if (err == -ENOSPC)
			tr->table_full++;
		done = !err || err == -ENOSPC || now - p->since_ns > EXEC_GIVE_UP_NS;
		if (!done)
			p->last_nr_maps = SIZE_MAX;
	}
	procmaps__free(pm);
	return done;
}

/*
 * New images being loaded: once a process's maps have not changed for
 * EXEC_SETTLE_NS (the dynamic linker is done), its allocator is planned:
 * per-PID probes for a -p target, objects new to system-wide mode probed
 * for everyone (the BPF side then adopts it at its next call).
 */
void tracer__settle_pending(struct tracer *tr, uint64_t now)
{
	size_t i;

	for (i = tr->nr_pending; i-- > 0;)
		if (settle_one(tr, &tr->pending[i], now))
			tr->pending[i] = tr->pending[--tr->nr_pending];
	if (tr->nr_pending)
		evloop__arm(tr->loop, tr->timer_settle, now + EXEC_SETTLE_NS);
}

static bool is_pending(const struct tracer *tr, pid_t pid)
{
	size_t j;

	for (j = 0; j < tr->nr_pending; j++)
		if (tr->pending[j].pid == pid)
			return true;
	return false;
}

/*
 * System-wide, every interval: probe allocator objects new to the host, and
 * give a target to each process the BPF side traces without the daemon
 * knowing it (its new-process event was lost), or forget it when it is gone.
 */
void tracer__sweep_system(struct tracer *tr)
{
	pid_t *pids = NULL;
	size_t nr = 0, i;
	uint64_t start;
	/* While the safety valve holds the probes off, nothing is probed anew. */
	int err = tr->valve.detached ? 0 : sysscan__scan(tr->sysscan);

	if (err < 0)
		log_warn("cannot scan /proc for new allocators: %s", strerror(-err));
	if (loader__target_pids(tr->loader, &pids, &nr))
		return;
	for (i = 0; i < nr; i++) {
		if (is_pending(tr, pids[i]) || targets__find(&tr->targets, pids[i]))
			continue;
		if (procfs__start_time(pids[i], &start))
			loader__remove_target(tr->loader, pids[i]);
		else
			adopt_target(tr, pids[i], false, 0);
	}
	free(pids);
}

/*
 * Filtered system-wide mode, at start and every interval: each process the
 * filters want that is not traced yet (started before heaptrace, renamed,
 * moved into the cgroup) gets its probes. Returns how many processes are
 * traced, or a negative errno when /proc cannot be read.
 */
int tracer__sweep_filtered(struct tracer *tr)
{
	pid_t *pids = NULL;
	size_t nr = 0, i;
	int err = filters__scan(tr->env, getpid(), &pids, &nr);

	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		if (is_pending(tr, pids[i]) || targets__find(&tr->targets, pids[i]))
			continue;
		if (attach_new(tr, pids[i], true) == -ENOSPC)
			tr->table_full++;
	}
	free(pids);
	return (int)tr->targets.nr;
}
