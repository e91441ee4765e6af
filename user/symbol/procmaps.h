/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * procmaps.h - a snapshot of a process's file-backed executable mappings.
 *
 * Parsed from /proc/PID/maps. A snapshot stays valid after the process
 * exits, so its stacks can still be symbolized. Entries are sorted by start
 * address and do not overlap.
 */
#ifndef HEAPTRACE_PROCMAPS_H
#define HEAPTRACE_PROCMAPS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct procmap {
	uint64_t start;	 /* first address */
	uint64_t end;	 /* address just past the end */
	uint64_t offset; /* file offset mapped at start */
	uint32_t dev_major;
	uint32_t dev_minor;
	uint64_t inode;
	char perms[5]; /* "r-xp" */
	char *path;    /* as printed in maps: "/usr/lib/...", "[vdso]", "" */
};

struct procmaps {
	pid_t pid;
	size_t nr;
	struct procmap *maps;
};

/* Parses the text of a maps file. Keeps every line (not only executable ones). */
int procmaps__parse(const char *text, pid_t pid, struct procmaps **out);

/* Reads and parses /proc/PID/maps. -ENOENT/-ESRCH when the process is gone. */
int procmaps__load(pid_t pid, struct procmaps **out);

/* The mapping containing addr, or NULL. */
const struct procmap *procmaps__find(const struct procmaps *pm, uint64_t addr);

/*
 * The first mapping whose path's file name equals `name` or starts with
 * `name` followed by a '.' (so "libc.so.6" matches ".../libc.so.6" and
 * "libstdc++.so" matches ".../libstdc++.so.6"), or NULL.
 */
const struct procmap *procmaps__find_object(const struct procmaps *pm, const char *name);

/* Frees a snapshot; procmaps__free(NULL) is a no-op. */
void procmaps__free(struct procmaps *pm);

#endif /* HEAPTRACE_PROCMAPS_H */
