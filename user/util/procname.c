// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/* procname.c - see procname.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util/procname.h"

#define DELETED_SUFFIX " (deleted)"

const char *procname__describe(const char *comm, const char *exe, char *buf, size_t len)
{
	const char *base = strrchr(exe, '/');

	base = base ? base + 1 : exe;
	if (!*exe || !strncmp(base, comm, strlen(comm)))
		snprintf(buf, len, "%s", comm);
	else
		snprintf(buf, len, "%s, executable %s", comm, exe);
	return buf;
}

int procname__exe(pid_t pid, char *buf, size_t len)
{
	char path[64];
	size_t sl = strlen(DELETED_SUFFIX);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	/* A replaced executable still names the file it ran. */
	if ((size_t)n > sl && !strcmp(buf + n - sl, DELETED_SUFFIX))
		buf[n - sl] = '\0';
	return 0;
}
