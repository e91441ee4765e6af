// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "probe/allocator.h"
#include "util/log.h"
#include "core/target.h"

static int pidfd_open_compat(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0)
		return;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

int target__refresh_maps(struct target *t)
{
	struct procmaps *fresh;
	int err;

	err = procmaps__load(t->pid, &fresh);
	if (err)
		return err;
	/* A process that is exiting shows an empty map: keep what it had. */
	if (fresh->nr == 0) {
		procmaps__free(fresh);
		return -ESRCH;
	}
	procmaps__free(t->dump.maps);
	t->dump.maps = fresh;
	read_comm(t->pid, t->comm, sizeof(t->comm));
	return 0;
}

/* Attaches the probes of one planned object; prints its own error. */
static int attach_object(struct target *t, struct loader *l, const struct alloc_object_plan *op,
			 int *total)
{
	const char *failed = NULL;
	int n;

	n = loader__attach_sites(l, t->pid, op->path, op->sites, op->nr_sites, &failed);
	if (n >= 0) {
		*total += n;
		return 0;
	}
	if (n == -ESRCH || kill(t->pid, 0))
		log_error("pid %d (%s) exited while heaptrace attached to it", t->pid, t->comm);
	else if (n == -EPERM || n == -EACCES)
		log_error("attaching uprobes to '%s' for pid %d was not permitted: run as root",
			  op->path, t->pid);
	else
		log_error("cannot attach a uprobe to %s in '%s' for pid %d: %s (run with -v for "
			  "detail)",
			  failed ? failed : "?", op->path, t->pid, strerror(-n));
	return n;
}

int target__start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	/* The name may hold spaces and parentheses: fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	/* After ')' come field 3 (state) ... field 22 (starttime): skip 19 fields. */
	for (i = 0; i < 19 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &v) != 1)
		return -EINVAL;
	*out = v;
	return 0;
}

int target__open(struct target *t, pid_t pid)
{
	struct timespec now;
	int err;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = -1;
	t->alive = true;
	snprintf(t->comm, sizeof(t->comm), "%s", "?");
	read_comm(pid, t->comm, sizeof(t->comm));
	clock_gettime(CLOCK_REALTIME, &now);
	t->dump.pid = pid;
	t->dump.comm = t->comm;
	t->dump.alive = true;
	t->dump.start_realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;

	t->pidfd = pidfd_open_compat(pid);
	if (t->pidfd < 0)
		return -ESRCH;
	err = target__start_time(pid, &t->start_time);
	if (err)
		return err;
	err = procmaps__load(pid, &t->dump.maps);
	if (err || t->dump.maps->nr == 0)
		return -ESRCH;
	return 0;
}

int target__open_named(struct target *t, pid_t pid)
{
	int err = target__open(t, pid);

	if (err && t->pidfd < 0) {
		log_error("no such process: pid %d: check the PID (ps -p %d)", pid, pid);
		return -ESRCH;
	}
	if (err) {
		log_error("pid %d (%s) exited before heaptrace could attach to it", pid, t->comm);
		return -ESRCH;
	}
	return 0;
}

int target__probe(struct target *t, struct loader *l, bool probe_at_entry)
{
	struct alloc_plan *plan = NULL;
	/* The rest of t->probed holds the allocator's name and the probe count. */
	char objects[sizeof(t->probed) - 64] = "";
	int err, probes = 0;
	pid_t pid = t->pid;
	size_t i;

	err = allocator__plan(pid, t->dump.maps, probe_at_entry, &plan);
	if (err == -ENOENT) {
		log_error("allocator not found in pid %d (%s): no object it maps defines malloc "
			  "(a stripped static binary?): see heaptrace --list-allocators -p %d",
			  pid, t->comm, pid);
		goto cleanup;
	}
	if (err) {
		log_error("cannot find the allocator of pid %d (%s): %s", pid, t->comm,
			  strerror(-err));
		goto cleanup;
	}

	err = loader__add_target(l, pid);
	if (err) {
		log_error("cannot trace pid %d: %s", pid, strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < plan->nr && !err; i++) {
		size_t len = strlen(objects);

		err = attach_object(t, l, &plan->objects[i], &probes);
		snprintf(objects + len, sizeof(objects) - len, "%s%s", i ? ", " : "",
			 plan->objects[i].shown);
	}
	if (!err)
		snprintf(t->probed, sizeof(t->probed), "%s allocator, %d probes on %s",
			 plan->allocator, probes, objects);
cleanup:
	allocator__plan_free(plan);
	return err;
}

void target__announce(const struct target *t)
{
	log_info("tracing pid %d (%s): %s", t->pid, t->comm, t->probed);
}

bool target__exited(struct target *t)
{
	struct pollfd p = {.fd = t->pidfd, .events = POLLIN};

	if (!t->alive)
		return true;
	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP));
}

int target__enable_dwarf(struct target *t, const struct target_limits *limits)
{
	int err;

	t->store = samples__new(limits->max_stacks, limits->max_live);
	if (!t->store)
		return -ENOMEM;
	t->dump.store = t->store;
	err = unwinder__new(t->pid, t->dump.maps, &t->unwinder);
	if (err)
		log_error("cannot set up unwinding for pid %d (%s): %s", t->pid, t->comm,
			  strerror(-err));
	return err;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * An address outside the snapshot means new code was mapped (exec, dlopen):
 * re-read the maps. After a re-read that did not cover its address (code
 * outside any file, a JIT), not again for 100 ms, so that such code cannot
 * make every sample re-read them; after one that did, at once (a program
 * starting up loads its libraries in quick succession).
 */
static bool refresh_for(struct target *t, uint64_t addr)
{
	uint64_t now;

	if (procmaps__find(t->dump.maps, addr) || !t->alive)
		return false;
	now = monotonic_ns();
	if (!t->last_refresh_found && now - t->last_refresh_ns < 100000000ull)
		return false;
	t->last_refresh_ns = now;
	t->last_refresh_found = false;
	if (target__refresh_maps(t))
		return false;
	t->last_refresh_found = procmaps__find(t->dump.maps, addr) != NULL;
	return unwinder__set_maps(t->unwinder, t->dump.maps) == 0;
}

static void handle_stack(struct target *t, const struct ht_stack_event *ev, size_t size)
{
	uint64_t pcs[HT_MAX_STACK_DEPTH];
	struct unwind_regs regs = {
	    .ip = ev->regs.ip,
	    .sp = ev->regs.sp,
	    .bp = ev->regs.bp,
	    .bx = ev->regs.bx,
	    .r12 = ev->regs.r12,
	    .r13 = ev->regs.r13,
	    .r14 = ev->regs.r14,
	    .r15 = ev->regs.r15,
	};
	size_t len = ev->stack_len;
	int n, truncated = 0;

	if (len > size - sizeof(*ev))
		len = size - sizeof(*ev);
	n = unwinder__unwind(t->unwinder, &regs, ev->stack, len, pcs, HT_MAX_STACK_DEPTH - 1,
			     &truncated);
	/* A stack that ends in unknown code may have run into a library mapped since. */
	if (n >= 1 && !truncated && refresh_for(t, pcs[n - 1]))
		n = unwinder__unwind(t->unwinder, &regs, ev->stack, len, pcs,
				     HT_MAX_STACK_DEPTH - 1, &truncated);
	if (n < 1) {
		/* The leaf is known without unwinding: keep at least that. */
		pcs[0] = ev->regs.ip;
		n = 1;
		t->unwind_failures++;
	}
	if (truncated)
		pcs[n++] = HT_FRAME_TRUNCATED;
	samples__add_stack(t->store, ev->hdr.tgid, ev->hdr.seq, pcs, (uint32_t)n);
}

void target__handle_event(struct target *t, const void *data, size_t size)
{
	const struct ht_event_hdr *hdr = data;

	if (!t->store)
		return;
	t->events++;
	switch (hdr->type) {
	case HT_EV_STACK:
		if (size >= sizeof(struct ht_stack_event) && t->unwinder)
			handle_stack(t, data, size);
		break;
	case HT_EV_ALLOC:
		if (size >= sizeof(struct ht_alloc_event)) {
			const struct ht_alloc_event *ev = data;

			samples__add_alloc(t->store, hdr->seq, ev->addr, ev->size);
		}
		break;
	case HT_EV_FREE:
		if (size >= sizeof(struct ht_free_event)) {
			const struct ht_free_event *ev = data;

			samples__add_free(t->store, hdr->seq, ev->size);
		}
		break;
	}
}

void target__fini(struct target *t)
{
	unwinder__free(t->unwinder);
	t->unwinder = NULL;
	samples__free(t->store);
	t->store = NULL;
	t->dump.store = NULL;
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
	procmaps__free(t->dump.maps);
	t->dump.maps = NULL;
}
