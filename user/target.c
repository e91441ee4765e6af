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

void target__fini(struct target *t)
{
	if (t->pidfd >= 0)
		close(t->pidfd);
	t->pidfd = -1;
	procmaps__free(t->dump.maps);
	t->dump.maps = NULL;
}
