// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* filters.c - see filters.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/filters.h"
#include "util/log.h"
#include "util/procfs.h"
#include "util/vec.h"

int filters__open_cgroup(const char *path)
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

static bool comm_matches(const struct env *env, pid_t pid, bool say)
{
	char comm[64] = "";

	procfs__read_comm(pid, comm, sizeof(comm));
	if (!strcmp(comm, env->comm))
		return true;
	if (say)
		log_error("pid %d is named '%s', not '%s' (--comm): give matching processes", pid,
			  comm, env->comm);
	return false;
}

/* Whether pid's cgroup v2 path is `want` or below it. */
static bool in_cgroup(pid_t pid, const char *want)
{
	char path[64], buf[4096], root[PATH_MAX], full[2 * PATH_MAX + 8];
	size_t n = strlen(want);
	bool in = false;
	FILE *f;

	cgroup2_root(root, sizeof(root));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		char *p;

		if (strncmp(buf, "0::", 3))
			continue;
		buf[strcspn(buf, "\n")] = '\0';
		p = buf + 3;
		snprintf(full, sizeof(full), "%s%s", root, strcmp(p, "/") ? p : "");
		in = !strncmp(full, want, n) && (full[n] == '\0' || full[n] == '/');
	}
	if (f)
		fclose(f);
	return in;
}

static bool check(const struct env *env, pid_t pid, bool say)
{
	char want[PATH_MAX];

	if (env->comm && !comm_matches(env, pid, say))
		return false;
	if (!env->cgroup)
		return true;
	if (!realpath(env->cgroup, want))
		return say; /* filters__open_cgroup says what is wrong with it */
	if (in_cgroup(pid, want))
		return true;
	if (say)
		log_error("pid %d is not in the cgroup '%s' (--cgroup): give processes inside it",
			  pid, env->cgroup);
	return false;
}

bool filters__match(const struct env *env, pid_t pid)
{
	return check(env, pid, true);
}

bool filters__wants(const struct env *env, pid_t pid)
{
	return check(env, pid, false);
}

int filters__scan(const struct env *env, pid_t self, pid_t **out, size_t *nr)
{
	DIR *d = opendir("/proc");
	pid_t *pids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self || !filters__wants(env, (pid_t)pid))
			continue;
		if (VEC_RESERVE(pids, cap, n + 1)) {
			err = -ENOMEM;
			break;
		}
		pids[n++] = (pid_t)pid;
	}
	closedir(d);
	if (err) {
		free(pids);
		return err;
	}
	*out = pids;
	*nr = n;
	return 0;
}
