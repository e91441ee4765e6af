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

#include "allocator.h"
#include "log.h"
#include "target.h"

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

/* Attaches the probes of `kind` for an object at `path`; 0 probes is not an error here. */
static int attach_kind(struct target *t, struct loader *l, const char *path,
		       enum alloc_object_kind kind, int *total)
{
	const char *missing = NULL;
	int n;

	n = loader__attach_object(l, t->pid, path, kind, &missing);
	if (n == -ENOENT && missing) {
		log_error("allocator entry point '%s' not found in '%s' (pid %d): this allocator "
			  "is not supported yet",
			  missing, path, t->pid);
		return n;
	}
	if (n < 0) {
		if (n == -ESRCH || kill(t->pid, 0))
			log_error("pid %d (%s) exited while heaptrace attached to it", t->pid,
				  t->comm);
		else if (n == -EPERM || n == -EACCES)
			log_error("attaching uprobes to '%s' for pid %d was not permitted: run as "
				  "root",
				  path, t->pid);
		else
			log_error("cannot attach uprobes to '%s' for pid %d: %s (run with -v for "
				  "detail)",
				  path, t->pid, strerror(-n));
		return n;
	}
	*total += n;
	return 0;
}

/* The path of a mapped object as heaptrace can open it: through the target's root. */
static void object_path(pid_t pid, const struct procmap *m, char *buf, size_t len)
{
	snprintf(buf, len, "/proc/%d/root%s", pid, m->path);
}

int target__attach(struct target *t, pid_t pid, struct loader *l, const char *command_name)
{
	char libc_path[4096] = "", cxx_path[4096] = "";
	const struct procmap *m;
	struct timespec now;
	int err, probes = 0;

	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->pidfd = -1;
	t->alive = true;
	snprintf(t->comm, sizeof(t->comm), "%s", "?");
	if (command_name) {
		/* Until it execs, the child still carries heaptrace's name. */
		const char *base = strrchr(command_name, '/');

		snprintf(t->comm, sizeof(t->comm), "%s", base ? base + 1 : command_name);
	} else {
		read_comm(pid, t->comm, sizeof(t->comm));
	}
	clock_gettime(CLOCK_REALTIME, &now);
	t->dump.pid = pid;
	t->dump.comm = t->comm;
	t->dump.alive = true;
	t->dump.start_realtime_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;

	t->pidfd = pidfd_open_compat(pid);
	if (t->pidfd < 0) {
		log_error("no such process: pid %d: check the PID (ps -p %d)", pid, pid);
		return -ESRCH;
	}
	err = procmaps__load(pid, &t->dump.maps);
	if (err || t->dump.maps->nr == 0) {
		log_error("pid %d (%s) exited before heaptrace could attach to it", pid, t->comm);
		return -ESRCH;
	}

	if (command_name) {
		/* It has not exec'ed yet: probe what the dynamic linker will load. */
		char *p = allocator__resolve_default(ALLOC_OBJ_LIBC);

		if (p)
			snprintf(libc_path, sizeof(libc_path), "%s", p);
		free(p);
		p = allocator__resolve_default(ALLOC_OBJ_CXX_NEW);
		if (p)
			snprintf(cxx_path, sizeof(cxx_path), "%s", p);
		free(p);
	} else {
		m = allocator__find(t->dump.maps, ALLOC_OBJ_LIBC);
		if (m)
			object_path(pid, m, libc_path, sizeof(libc_path));
		m = allocator__find(t->dump.maps, ALLOC_OBJ_CXX_NEW);
		if (m)
			object_path(pid, m, cxx_path, sizeof(cxx_path));
	}
	if (!libc_path[0]) {
		log_error("allocator not found in pid %d (%s): it does not map %s (a static binary "
			  "or another allocator is not supported yet)",
			  pid, t->comm, allocator__object_name(ALLOC_OBJ_LIBC));
		return -ENOENT;
	}

	err = loader__add_target(l, pid);
	if (err) {
		log_error("cannot trace pid %d: %s", pid, strerror(-err));
		return err;
	}
	err = attach_kind(t, l, libc_path, ALLOC_OBJ_LIBC, &probes);
	if (!err && cxx_path[0])
		err = attach_kind(t, l, cxx_path, ALLOC_OBJ_CXX_NEW, &probes);
	if (err)
		return err;
	log_info("tracing pid %d (%s): %d probes on %s%s%s", pid, t->comm, probes, libc_path,
		 cxx_path[0] ? " and " : "", cxx_path);
	return 0;
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
 * re-read the maps, at most every 100 ms so that code outside any file
 * (a JIT) cannot make every sample re-read them.
 */
static bool refresh_for(struct target *t, uint64_t addr)
{
	uint64_t now;

	if (procmaps__find(t->dump.maps, addr) || !t->alive)
		return false;
	now = monotonic_ns();
	if (now - t->last_refresh_ns < 100000000ull)
		return false;
	t->last_refresh_ns = now;
	if (target__refresh_maps(t))
		return false;
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
