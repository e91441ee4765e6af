// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* memcg.c - see memcg.h. */
#include <errno.h>
#include <mntent.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/memcg.h"
#include "util/procfs.h"

/* Where the hierarchy carrying the memory controller is mounted (v1), or v2's. */
static int mount_point(int version, char *buf, size_t len)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *m;
	int err = -ENOENT;

	if (!f)
		return -errno;
	while ((m = getmntent(f))) {
		bool v1 = !strcmp(m->mnt_type, "cgroup") && hasmntopt(m, "memory");
		bool v2 = !strcmp(m->mnt_type, "cgroup2");

		if ((version == 1 && v1) || (version == 2 && v2)) {
			snprintf(buf, len, "%s", m->mnt_dir);
			err = 0;
			break;
		}
	}
	endmntent(f);
	return err;
}

/* Whether a v1 line's controller list ("cpu,cpuacct") names the memory controller. */
static bool names_memory(const char *controllers)
{
	const char *p = strstr(controllers, "memory");

	return p && (p == controllers || p[-1] == ',') && (p[6] == ',' || p[6] == '\0');
}

/* The v1 memory path or the v2 path (procfs's one reader of it) in /proc/PID/cgroup. */
static int cgroup_path(pid_t pid, int version, char *buf, size_t len)
{
	char path[64], line[PATH_MAX + 64];
	int err = -ENOENT;
	FILE *f;

	if (version == 2)
		return procfs__cgroup_path(pid, buf, len);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *ctrl = strchr(line, ':'), *rel = ctrl ? strchr(ctrl + 1, ':') : NULL;

		if (!rel)
			continue;
		*rel++ = '\0';
		rel[strcspn(rel, "\n")] = '\0';
		if (names_memory(ctrl + 1)) {
			snprintf(buf, len, "%s", rel);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

static int try_version(pid_t pid, int version, struct memcg *out)
{
	char mnt[PATH_MAX], rel[PATH_MAX], probe[PATH_MAX + 32];
	int n;

	if (mount_point(version, mnt, sizeof(mnt)) || cgroup_path(pid, version, rel, sizeof(rel)))
		return -ENOENT;
	n = snprintf(out->dir, sizeof(out->dir), "%s%s", mnt, strcmp(rel, "/") ? rel : "");
	if (n < 0 || (size_t)n >= sizeof(out->dir))
		return -ENAMETOOLONG;
	out->version = version;
	/* v2 without the controller enabled there has no memory.current. */
	snprintf(probe, sizeof(probe), "%s/%s", out->dir,
		 version == 1 ? "memory.usage_in_bytes" : "memory.current");
	return access(probe, R_OK) ? -ENOENT : 0;
}

int memcg__of(pid_t pid, struct memcg *out)
{
	if (try_version(pid, 1, out) == 0)
		return 0;
	return try_version(pid, 2, out);
}

/* A file of one number, or "max" (v2's unlimited) as UINT64_MAX. */
static int read_u64(const struct memcg *m, const char *name, uint64_t *out)
{
	char path[PATH_MAX + 32], buf[64];
	unsigned long long v;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", m->dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		err = -EIO;
	else if (!strncmp(buf, "max", 3))
		*out = UINT64_MAX;
	else if (sscanf(buf, "%llu", &v) == 1)
		*out = v;
	else
		err = -EINVAL;
	fclose(f);
	return err;
}

int memcg__read(const struct memcg *m, struct memcg_usage *out)
{
	bool v1 = m->version == 1;
	int err;

	out->peak = 0;
	err = read_u64(m, v1 ? "memory.usage_in_bytes" : "memory.current", &out->usage);
	if (!err)
		err = read_u64(m, v1 ? "memory.limit_in_bytes" : "memory.max", &out->limit);
	if (err)
		return err;
	/* v1's "no limit" is the largest page-aligned value, not a word. */
	if (v1 && out->limit >= (UINT64_MAX >> 2))
		out->limit = UINT64_MAX;
	read_u64(m, v1 ? "memory.max_usage_in_bytes" : "memory.peak", &out->peak);
	return 0;
}
