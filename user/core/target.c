// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* target.c - see target.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/target.h"
#include "probe/allocator.h"
#include "probe/plancache.h"
#include "probe/usdt.h"
#include "util/log.h"
#include "util/procname.h"

/*
 * A problem with a process a person named is an error, or a warning when the
 * run goes on without it (t->warn_only); with one a filter picked, a detail.
 */
#define say_problem(t, named, ...)                                                                 \
	do {                                                                                       \
		if ((named) && !(t)->warn_only)                                                    \
			log_error(__VA_ARGS__);                                                    \
		else if (named)                                                                    \
			log_warn(__VA_ARGS__);                                                     \
		else                                                                               \
			log_debug(__VA_ARGS__);                                                    \
	} while (0)

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

int target__open(struct target *t, pid_t pid)
{
	memset(t, 0, sizeof(*t));
	t->pidfd = pidfd_open_compat(pid);
	/* The name first: the caller's messages use it even when the process is gone. */
	if (t->pidfd < 0) {
		process__open(&t->proc, pid);
		return -ESRCH;
	}
	return process__open(&t->proc, pid);
}

int target__open_named(struct target *t, pid_t pid, bool fatal)
{
	int err = target__open(t, pid);

	t->warn_only = !fatal;
	if (err && t->pidfd < 0) {
		say_problem(t, true, "no such process: pid %d: check the PID (ps -p %d)", pid, pid);
		return -ESRCH;
	}
	if (err) {
		say_problem(t, true, "pid %d (%s) exited before heaptrace could attach to it", pid,
			    t->proc.comm);
		return -ESRCH;
	}
	return 0;
}

/* Attaches the probes of one planned object; prints its own error. */
static int attach_object(struct target *t, struct loader *l, const struct alloc_object_plan *op,
			 int *total, bool named)
{
	const char *failed = NULL;
	pid_t pid = t->proc.pid;
	int n;

	n = loader__attach_sites(l, pid, op->path, op->sites, op->nr_sites, &failed);
	if (n >= 0) {
		*total += n;
		return 0;
	}
	if (n == -ESRCH || kill(pid, 0))
		say_problem(t, named, "pid %d (%s) exited while heaptrace attached to it", pid,
			    t->proc.comm);
	else if (n == -EPERM || n == -EACCES)
		say_problem(t, named,
			    "attaching uprobes to '%s' for pid %d was not permitted: run as root",
			    op->path, pid);
	else
		say_problem(t, named,
			    "cannot attach a uprobe to %s in '%s' for pid %d: %s (run with -v for "
			    "detail)",
			    failed ? failed : "?", op->path, pid, strerror(-n));
	return n;
}

/* Attaches every planned object and says in t->probed what went in. */
static int attach_plan(struct target *t, struct loader *l, const struct alloc_plan *plan,
		       bool named)
{
	struct strbuf objects = { 0 };
	int err = 0, probes = 0;
	size_t i;

	for (i = 0; i < plan->nr && !err; i++) {
		err = attach_object(t, l, &plan->objects[i], &probes, named);
		strbuf__addf(&objects, "%s%s", i ? ", " : "", plan->objects[i].shown);
	}
	if (!err) {
		strbuf__reset(&t->probed);
		err = strbuf__addf(&t->probed, "%s allocator, %d probes on %s", plan->allocator,
				   probes, strbuf__str(&objects));
		if (err)
			log_error("out of memory");
	}
	strbuf__release(&objects);
	return err;
}

/* Which file carries t's probes, by path and inode, to notice when it is unloaded. */
static void remember_usdt_object(struct target *t, const char *shown)
{
	size_t i;

	free(t->usdt_object);
	t->usdt_object = strdup(shown);
	t->usdt_inode = 0;
	for (i = 0; i < t->proc.maps->nr; i++)
		if (!strcmp(t->proc.maps->maps[i].path, shown))
			t->usdt_inode = t->proc.maps->maps[i].inode;
}

bool target__usdt_unloaded(const struct target *t)
{
	struct procmaps *now = NULL;
	bool mapped = false;
	size_t i;

	if (!t->proc.at_probe || !t->usdt_object || !t->proc.alive)
		return false;
	/* An exiting process shows no maps: that is an exit, not an unload. */
	if (procmaps__load(t->proc.pid, &now) || !now->nr) {
		procmaps__free(now);
		return false;
	}
	for (i = 0; i < now->nr && !mapped; i++)
		mapped = now->maps[i].inode == t->usdt_inode &&
			 !strcmp(now->maps[i].path, t->usdt_object);
	procmaps__free(now);
	return !mapped;
}

/* Attaches the USDT probes of `o` for t; says what went in, in t->probed. */
static int attach_usdt(struct target *t, struct loader *l, const struct usdt_object *o, bool named)
{
	pid_t pid = t->proc.pid;
	int n = loader__add_target(l, pid);

	if (!n)
		n = loader__attach_usdt(l, pid, o->path);
	if (n < 0) {
		/* Nothing half-attached stays: the allocator's entry points take over. */
		loader__detach_probes(l, pid);
		/* Not fatal: the allocator's entry points take over, so a warning. */
		if (named)
			log_warn(
			    "cannot attach the otel_memory USDT probes of '%s' for pid %d (%s): "
			    "%s: tracing its allocator's entry points instead",
			    o->shown, pid, t->proc.comm, strerror(-n));
		else
			log_debug("cannot attach the otel_memory USDT probes of '%s' for pid %d "
				  "(%s): %s: tracing its allocator's entry points instead",
				  o->shown, pid, t->proc.comm, strerror(-n));
		return n;
	}
	t->proc.at_probe = true;
	remember_usdt_object(t, o->shown);
	/* An emitter built into the program hides only its own frame, not the program's. */
	t->proc.hide_lo = o->is_exe ? 0 : o->text_start;
	t->proc.hide_hi = o->is_exe ? 0 : o->text_end;
	strbuf__reset(&t->probed);
	return strbuf__addf(&t->probed,
			    "in-process sampler (otel_memory USDT), %d probes on %s: only sampled "
			    "calls trap",
			    n, o->shown);
}

/*
 * The in-process sampler's probes, when the process carries them: 0 when
 * attached, -ENOENT when it has none (or they could not be attached: then
 * the caller probes the allocator instead), another negative errno.
 */
static int probe_usdt(struct target *t, struct loader *l, int probes, bool named)
{
	struct usdt_plan *plan = NULL;
	pid_t pid = t->proc.pid;
	int err = usdt__find(pid, t->proc.maps, &plan);

	if (err == -ENOENT && probes == ENV_PROBES_USDT)
		say_problem(
		    t, named,
		    "no otel_memory USDT probes in pid %d (%s): start it with the sampler "
		    "(heaptrace --preload -- COMMAND, or LD_PRELOAD=libheaptrace-sampler.so), "
		    "or use --probes uprobes",
		    pid, t->proc.comm);
	if (err)
		return err == -ENOENT && probes == ENV_PROBES_USDT ? -ENODEV : err;
	err = attach_usdt(t, l, &plan->objects[0], named);
	usdt__plan_free(plan);
	if (err < 0 && err != -ENOMEM)
		return probes == ENV_PROBES_USDT ? err : -ENOENT;
	return err;
}

int target__probe(struct target *t, struct loader *l, const struct target_probe_opts *o, bool named)
{
	struct alloc_plan *plan = NULL;
	pid_t pid = t->proc.pid;
	int err;

	t->proc.at_probe = false;
	/* The same files as a process planned before (a forked child's): no USDT probes, that plan. */
	if (o->plans && !plancache__find(o->plans, pid, t->proc.maps, o->probe_at_entry, &plan))
		goto attach;
	if (o->probes != ENV_PROBES_UPROBES) {
		err = probe_usdt(t, l, o->probes, named);
		if (err != -ENOENT)
			return err;
	}
	err = allocator__plan(pid, t->proc.maps, o->probe_at_entry, &plan);
	if (err == -ENOENT) {
		say_problem(t, named,
			    "allocator not found in pid %d (%s): no object it maps defines malloc "
			    "(a stripped static binary?): see heaptrace --list-allocators -p %d",
			    pid, t->proc.comm, pid);
		goto cleanup;
	}
	if (err == -EIO) {
		say_problem(
		    t, named,
		    "allocator not found in pid %d (%s): some of its mapped files could not "
		    "be opened, through /proc/%d/root or /proc/%d/map_files: see heaptrace "
		    "--list-allocators -p %d",
		    pid, t->proc.comm, pid, pid, pid);
		goto cleanup;
	}
	if (err) {
		say_problem(t, named, "cannot find the allocator of pid %d (%s): %s", pid,
			    t->proc.comm, strerror(-err));
		goto cleanup;
	}
	if (o->plans)
		plancache__add(o->plans, pid, t->proc.maps, o->probe_at_entry, plan); /* a hint */
attach:
	err = loader__add_target(l, pid);
	if (err) {
		say_problem(t, named, "cannot trace pid %d: %s", pid, strerror(-err));
		goto cleanup;
	}
	err = attach_plan(t, l, plan, named);
cleanup:
	allocator__plan_free(plan);
	return err;
}

void target__announce(const struct target *t, bool named)
{
	char name[320];

	procname__describe(t->proc.comm, t->proc.exe, name, sizeof(name));
	if (named)
		log_info("tracing pid %d (%s): %s", t->proc.pid, name, strbuf__str(&t->probed));
	else
		log_debug("tracing pid %d (%s): %s", t->proc.pid, name, strbuf__str(&t->probed));
}

bool target__exited(struct target *t)
{
	struct pollfd p = { .fd = t->pidfd, .events = POLLIN };

	if (!t->proc.alive)
		return true;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

int target__enable_dwarf(struct target *t, uint32_t max_stacks, uint32_t max_live)
{
	int err = process__enable_dwarf(&t->proc, max_stacks, max_live);

	if (err == -ENOMEM)
		log_error("out of memory");
	else if (err)
		say_problem(t, true, "cannot set up unwinding for pid %d (%s): %s", t->proc.pid,
			    t->proc.comm, strerror(-err));
	return err;
}

void target__describe_valve(struct target *t, const struct valve *v, uint64_t now_ns)
{
	int n = valve__describe(v, now_ns, NULL, 0);

	strbuf__reset(&t->note);
	if (n > 0 && !strbuf__grow(&t->note, (size_t)n)) {
		valve__describe(v, now_ns, t->note.buf, (size_t)n + 1);
		t->note.len = (size_t)n;
	}
}

void target__fini(struct target *t)
{
	process__fini(&t->proc);
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
	strbuf__release(&t->probed);
	strbuf__release(&t->note);
	free(t->usdt_object);
	t->usdt_object = NULL;
	snapshot__free(t->peak_snap);
	t->peak_snap = NULL;
}
