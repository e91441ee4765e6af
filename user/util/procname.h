/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * procname.h - one way to name a process in every message, profile and
 * listing: its comm, and its executable as mapped when that is another name.
 *
 * The kernel sets comm from the name the program was run by (a symlink's
 * own name: redis-server), while the mapping shows the file it resolves to
 * (redis-check-rdb), and a program may rename itself. Both are true; saying
 * only one of them in some places and only the other elsewhere is what
 * confuses. When the executable's file name starts with comm (the kernel
 * keeps 15 bytes of it) they agree and comm alone is said.
 */
#ifndef HEAPTRACE_PROCNAME_H
#define HEAPTRACE_PROCNAME_H

#include <stddef.h>
#include <sys/types.h>

/* "comm", or "comm, executable EXE"; exe may be "" (unknown). Returns buf. */
const char *procname__describe(const char *comm, const char *exe, char *buf, size_t len);

/* The executable of pid as mapped (the target of /proc/PID/exe). Returns 0 or -errno. */
int procname__exe(pid_t pid, char *buf, size_t len);

#endif /* HEAPTRACE_PROCNAME_H */
