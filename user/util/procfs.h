/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * procfs.h - the one place that reads a process's files under /proc: its
 * name, and the files it maps, seen as the process sees them.
 *
 * A mapped file is reached, in order: through /proc/PID/root (the
 * process's mount namespace), through /proc/PID/map_files/START-END (a
 * deleted or replaced file, a memfd: the mapping itself), then on the host.
 * pid <= 0 means the process is gone: only the host's path is tried.
 */
#ifndef HEAPTRACE_PROCFS_H
#define HEAPTRACE_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where procfs__open_mapped found a file. */
enum procfs_via {
	PROCFS_VIA_ROOT,      /* /proc/PID/root/PATH */
	PROCFS_VIA_MAP_FILES, /* /proc/PID/map_files/START-END */
	PROCFS_VIA_HOST,      /* PATH itself */
};

/*
 * The process's name (/proc/PID/comm, without its newline) into `comm`.
 * Returns 0, or a negative errno with `comm` untouched.
 */
int procfs__read_comm(pid_t pid, char *comm, size_t len);

/*
 * The user who owns `pid`: its real uid (/proc/PID/status, Uid), or 0 when
 * its effective uid differs (a setuid program belongs to root, not to whoever
 * ran it). Returns 0, -ESRCH when it is gone, or -EINVAL.
 */
int procfs__owner_uid(pid_t pid, uid_t *uid);

/*
 * A "Name:   N kB" line of /proc/PID/status (pid 0: heaptrace's own), in
 * bytes. Returns 0, -ENOENT when the line is absent (a kernel thread, a
 * process exiting), or the negative errno of opening the file.
 */
int procfs__status_bytes(pid_t pid, const char *name, int64_t *out);

/*
 * The process's cgroup v2 path ("/system.slice/x.service"), the "0::" line
 * of /proc/PID/cgroup. Returns 0, -ENOENT when it has none (no unified
 * hierarchy), or the negative errno of opening the file.
 */
int procfs__cgroup_path(pid_t pid, char *buf, size_t len);

/*
 * The start time of `pid` (field 22 of /proc/PID/stat, clock ticks since
 * boot): with the PID it names one process for its whole life. -ESRCH when
 * it is gone, -EINVAL when the file cannot be parsed.
 */
int procfs__start_time(pid_t pid, uint64_t *out);

/*
 * PATH as the process sees it: /proc/PID/root + path ("" gives the root
 * itself, where its debug files are looked for). Returns 0 or -ENAMETOOLONG.
 */
int procfs__root_path(pid_t pid, const char *path, char *buf, size_t len);

/*
 * The path through which a mapping of `path` at [start, end) is opened
 * while the process lives: map_files for a file the kernel marked
 * " (deleted)" or one its root + `path` does not lead to (a chroot'ed
 * process: the path already holds the chroot), the process's root
 * otherwise (end 0: a path the process named itself, always its root).
 * Returns 0 or -ENAMETOOLONG.
 */
int procfs__mapped_path(pid_t pid, const char *path, uint64_t start, uint64_t end, char *buf,
			size_t len);

/*
 * Opens (O_RDONLY | O_CLOEXEC) the file behind a mapping, trying the places
 * above in order. One whose inode is `inode` wins (inode 0: the first that
 * opens); another is kept only as a last resort (the PID may have been
 * reused, the file replaced). Returns the descriptor, with *via (when not
 * NULL) set, or a negative errno: the first error other than ENOENT and
 * ESRCH, else -ENOENT.
 */
int procfs__open_mapped(pid_t pid, const char *path, uint64_t start, uint64_t end, uint64_t inode,
			enum procfs_via *via);

#endif /* HEAPTRACE_PROCFS_H */
