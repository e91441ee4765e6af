// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/preflight.h"

#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT	  38
#define CAP_BPF_BIT	  39

/* Effective capabilities from /proc/self/status, 0 when unreadable. */
static uint64_t effective_caps(void)
{
	char line[256];
	uint64_t caps = 0;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &caps) == 1)
			break;
	fclose(f);
	return caps;
}

static bool privileged(void)
{
	uint64_t caps;

	if (geteuid() == 0)
		return true;
	caps = effective_caps();
	return ((caps >> CAP_BPF_BIT) & 1 && (caps >> CAP_PERFMON_BIT) & 1) ||
	       (caps >> CAP_SYS_ADMIN_BIT) & 1;
}

/*
 * The first look, before anything is loaded. Whether heaptrace may trust and
 * write the directory is checked on the descriptor it then holds
 * (output/outdir.c): a test file made here by path could be sent elsewhere.
 */
static int check_output_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (stat(dir, &st)) {
		snprintf(
		    err, errlen,
		    "output directory '%s' does not exist: create it (mkdir -p '%s') or choose "
		    "another with -o",
		    dir, dir);
		return -ENOENT;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen,
			 "output path '%s' is not a directory: give a directory with -o", dir);
		return -ENOTDIR;
	}
	return 0;
}

int preflight__check(const struct env *env, char *err, size_t errlen)
{
	size_t i;

	if (!privileged()) {
		snprintf(err, errlen,
			 "heaptrace needs root: run it with sudo (or grant CAP_BPF, CAP_PERFMON, "
			 "CAP_SYS_ADMIN, CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: "
			 "docs/reliability.md#privileges)");
		return -EPERM;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(err, errlen,
			 "this kernel has no BTF (/sys/kernel/btf/vmlinux is missing): heaptrace "
			 "needs a kernel built with CONFIG_DEBUG_INFO_BTF=y");
		return -ENOTSUP;
	}
	if (access("/sys/bus/event_source/devices/uprobe/type", R_OK)) {
		snprintf(
		    err, errlen,
		    "this kernel has no uprobe support: heaptrace needs CONFIG_UPROBE_EVENTS=y");
		return -ENOTSUP;
	}
	for (i = 0; i < env->nr_pids; i++) {
		pid_t pid = env->pids[i];

		if (pid == getpid()) {
			snprintf(err, errlen, "pid %d is heaptrace itself: give another process",
				 pid);
			return -EINVAL;
		}
		if (kill(pid, 0) && errno == ESRCH) {
			snprintf(err, errlen, "no such process: pid %d: check the PID (ps -p %d)",
				 pid, pid);
			return -ESRCH;
		}
	}
	return check_output_dir(env->output_dir, err, errlen);
}
