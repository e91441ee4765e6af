// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* procfs.c - see procfs.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/procfs.h"

#define DELETED_SUFFIX " (deleted)"

int procfs__read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(comm, len, "%s", buf);
	return 0;
}

int procfs__owner_uid(pid_t pid, uid_t *uid)
{
	char path[64], line[256];
	unsigned long real, eff;
	int err = -EINVAL;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Uid:", 4)) {
			if (sscanf(line + 4, "%lu %lu", &real, &eff) == 2) {
				/* A setuid program is not its caller's to inspect. */
				*uid = real == eff ? (uid_t)real : 0;
				err = 0;
			}
			break;
		}
	}
	fclose(f);
	return err;
}

int procfs__status_bytes(pid_t pid, const char *name, int64_t *out)
{
	char path[64], line[256];
	size_t l = strlen(name);
	long long kb;
	int err = -ENOENT;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/status");
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, l) && line[l] == ':' &&
		    sscanf(line + l + 1, "%lld", &kb) == 1) {
			*out = (int64_t)kb * 1024;
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

int procfs__cgroup_path(pid_t pid, char *buf, size_t len)
{
	char path[64], line[4096];
	int err = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	/* v1 hierarchies' lines name their controllers; the unified one's is "0::PATH". */
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, len, "%s", line + 3);
			err = 0;
			break;
		}
	fclose(f);
	return err;
}

int procfs__start_time(pid_t pid, uint64_t *out)
{
	char path[64], buf[1024], *p;
	unsigned long long v;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
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

static bool is_deleted(const char *path)
{
	size_t n = strlen(path), k = sizeof(DELETED_SUFFIX) - 1;

	return n > k && !strcmp(path + n - k, DELETED_SUFFIX);
}

static int map_files_path(pid_t pid, uint64_t start, uint64_t end, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, start, end);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int procfs__root_path(pid_t pid, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "/proc/%d/root%s", (int)pid, path);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Whether `a` and `b` name one file. /proc/PID/maps prints a path as the
 * reader sees it: for a chroot'ed process it already holds the chroot
 * ("/srv/jail/bin/x"), and /proc/PID/root + that path names nothing (or
 * another file); in another mount namespace it is the namespace's own path.
 */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int procfs__mapped_path(pid_t pid, const char *path, uint64_t start, uint64_t end, char *buf,
			size_t len)
{
	char mapped[96];
	int err;

	if (is_deleted(path))
		return map_files_path(pid, start, end, buf, len);
	err = procfs__root_path(pid, path, buf, len);
	if (err || !end)
		return err;
	/* The mapping itself is the truth: keep the root path when it leads to the
	 * mapped file, or when it exists and the mapping cannot be reached (map_files
	 * needs CAP_SYS_ADMIN); else map_files, whose error then says why. */
	if (map_files_path(pid, start, end, mapped, sizeof(mapped)) || same_file(buf, mapped) ||
	    (access(mapped, F_OK) && !access(buf, F_OK)))
		return 0;
	return map_files_path(pid, start, end, buf, len);
}

/* Candidate `via` for the mapping, or -ENOENT where that place does not apply. */
static int candidate(enum procfs_via via, pid_t pid, const char *path, uint64_t start, uint64_t end,
		     char *buf, size_t len)
{
	switch (via) {
	case PROCFS_VIA_ROOT:
		return is_deleted(path) ? -ENOENT : procfs__root_path(pid, path, buf, len);
	case PROCFS_VIA_MAP_FILES:
		return map_files_path(pid, start, end, buf, len);
	case PROCFS_VIA_HOST:
		if (strlen(path) >= len)
			return -ENAMETOOLONG;
		snprintf(buf, len, "%s", path);
		return 0;
	}
	return -ENOENT;
}

int procfs__open_mapped(pid_t pid, const char *path, uint64_t start, uint64_t end, uint64_t inode,
			enum procfs_via *via)
{
	char buf[PATH_MAX + 64];
	int fallback = -1, err = -ENOENT;
	enum procfs_via v, fallback_via = PROCFS_VIA_HOST;

	for (v = pid > 0 ? PROCFS_VIA_ROOT : PROCFS_VIA_HOST; v <= PROCFS_VIA_HOST; v++) {
		struct stat st;
		int fd;

		if (candidate(v, pid, path, start, end, buf, sizeof(buf)))
			continue;
		fd = open(buf, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (err == -ENOENT && errno != ENOENT && errno != ESRCH)
				err = -errno;
			continue;
		}
		if (!inode || (!fstat(fd, &st) && (uint64_t)st.st_ino == inode)) {
			if (fallback >= 0)
				close(fallback);
			fallback = fd;
			fallback_via = v;
			break;
		}
		if (fallback < 0) {
			fallback = fd;
			fallback_via = v;
		} else {
			close(fd);
		}
	}
	if (fallback < 0)
		return err;
	if (via)
		*via = fallback_via;
	return fallback;
}
