// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_procmaps.c - parsing, lookup and object search of /proc/PID/maps.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "symbol/procmaps.h"
#include "tap.h"

/* Out of order on purpose (the [vdso] line comes first): the snapshot is sorted. */
static const char maps_text[] =
    "7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0                          [vdso]\n"
    "55d0c6a00000-55d0c6a02000 r--p 00000000 08:01 1311                       /usr/bin/cat\n"
    "55d0c6a02000-55d0c6a07000 r-xp 00002000 08:01 1311                       /usr/bin/cat\n"
    "55d0c7000000-55d0c7021000 rw-p 00000000 00:00 0                          [heap]\n"
    "7f1000000000-7f1000021000 rw-p 00000000 00:00 0 \n"
    "7f1000100000-7f1000128000 r--p 00000000 fd:02 2000 "
    "                      /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1000128000-7f100029d000 r-xp 00028000 fd:02 2000 "
    "                      /usr/lib/x86_64-linux-gnu/libc.so.6\n"
    "7f1000300000-7f1000400000 r-xp 00000000 08:01 3000 "
    "                      /usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30\n"
    "7f1000500000-7f1000501000 r-xp 00001000 08:01 4000 "
    "                      /opt/my app/lib  with spaces.so\n"
    "7f1000600000-7f1000601000 r-xp 00000000 00:05 5000 "
    "                      /memfd:jit (deleted)\n"
    "7f1000700000-7f1000701000 r-xp 00000000 08:01 6000 "
    "                      /tmp/libgone.so (deleted)\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n"
    "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";

static const char *path_at(const struct procmaps *pm, uint64_t addr)
{
	const struct procmap *m = procmaps__find(pm, addr);

	return m ? m->path : "(none)";
}

static void test_parse(void)
{
	struct procmaps *pm = NULL;
	const struct procmap *m;
	size_t i;
	int err;

	err = procmaps__parse(maps_text, 42, &pm);
	ok(err == 0 && pm, "parse returns 0 (err=%d)", err);
	if (!pm)
		return;
	ok(pm->pid == 42, "pid kept");
	ok(pm->nr == 13, "13 mappings (got %zu)", pm->nr);
	for (i = 1; i < pm->nr; i++) {
		if (pm->maps[i - 1].start >= pm->maps[i].start)
			break;
	}
	ok(i == pm->nr, "sorted by start");

	m = &pm->maps[1];
	ok(m->start == 0x55d0c6a02000 && m->end == 0x55d0c6a07000, "start and end of cat r-xp");
	ok(m->offset == 0x2000, "offset 0x2000 (got %#llx)", (unsigned long long)m->offset);
	ok(!strcmp(m->perms, "r-xp"), "perms r-xp (got '%s')", m->perms);
	ok(m->dev_major == 8 && m->dev_minor == 1 && m->inode == 1311, "device 08:01 inode 1311");
	ok(!strcmp(m->path, "/usr/bin/cat"), "path /usr/bin/cat");

	m = procmaps__find(pm, 0x7f1000128000);
	ok(m && m->dev_major == 0xfd && m->dev_minor == 2, "hex device fd:02");
	ok(!strcmp(path_at(pm, 0x7f1000500800), "/opt/my app/lib  with spaces.so"),
	   "path with spaces kept whole (got '%s')", path_at(pm, 0x7f1000500800));
	ok(!strcmp(path_at(pm, 0x7f1000000000), ""), "anonymous mapping has an empty path");
	ok(!strcmp(path_at(pm, 0x7ffd00100010), "[vdso]"), "[vdso]");
	ok(!strcmp(path_at(pm, 0x7f1000700000), "/tmp/libgone.so (deleted)"),
	   "deleted suffix kept");
	ok(!strcmp(path_at(pm, 0x7f1000600fff), "/memfd:jit (deleted)"), "memfd, last byte");
	m = procmaps__find(pm, 0xffffffffff600000);
	ok(m && !strcmp(m->perms, "--xp") && m->end == 0xffffffffff601000,
	   "64-bit addresses in [vsyscall]");

	ok(procmaps__find(pm, 0x55d0c6a07000 - 1) == &pm->maps[1], "last byte is inside");
	ok(procmaps__find(pm, 0x55d0c6a07000) == NULL, "end is exclusive (a gap follows)");
	ok(procmaps__find(pm, 0x1000) == NULL, "below the first mapping");
	ok(procmaps__find(pm, 0x7f1000128000) == &pm->maps[5], "start is inclusive");
	ok(procmaps__find(NULL, 0x1000) == NULL, "find(NULL)");

	m = procmaps__find_object(pm, "libc.so.6");
	ok(m && m->start == 0x7f1000100000, "libc.so.6: its first mapping");
	m = procmaps__find_object(pm, "libstdc++.so");
	ok(m && m->inode == 3000, "libstdc++.so matches libstdc++.so.6.0.30");
	ok(procmaps__find_object(pm, "libstd") == NULL, "a bare prefix does not match");
	ok(procmaps__find_object(pm, "libc.so.6.1") == NULL, "a longer name does not match");
	m = procmaps__find_object(pm, "cat");
	ok(m && m->perms[0] == 'r' && m->start == 0x55d0c6a00000, "cat");
	m = procmaps__find_object(pm, "libgone.so");
	ok(m && m->inode == 6000, "a deleted object is found by name");
	ok(procmaps__find_object(pm, "vdso") == NULL, "special mappings are not objects");
	m = procmaps__find_object(pm, "lib  with spaces.so");
	ok(m && m->inode == 4000, "file name with spaces");
	procmaps__free(pm);
}

static void test_errors(void)
{
	struct procmaps *pm = (struct procmaps *)1;
	int err;

	err = procmaps__parse("00400000-00452000 r-xp 00000000 08:02 173521 /a\nnot a line\n", 1,
			      &pm);
	ok(err == -EINVAL && pm == NULL, "a malformed line is -EINVAL (err=%d)", err);
	err = procmaps__parse("00400000 r-xp 00000000 08:02 1 /a\n", 1, &pm);
	ok(err == -EINVAL, "missing end is -EINVAL");
	err = procmaps__parse("00452000-00400000 r-xp 00000000 08:02 1 /a\n", 1, &pm);
	ok(err == -EINVAL, "end below start is -EINVAL");
	err = procmaps__parse("", 1, &pm);
	ok(err == 0 && pm && pm->nr == 0, "empty text: no mappings");
	procmaps__free(pm);
	procmaps__free(NULL);
	ok(1, "procmaps__free(NULL) is a no-op");
	err = procmaps__load(0x7ffffff0, &pm);
	ok(err == -ENOENT && pm == NULL, "a missing process is -ENOENT (err=%d)", err);
}

static void test_load_self(void)
{
	struct procmaps *pm = NULL;
	const struct procmap *m;
	int err;

	err = procmaps__load(getpid(), &pm);
	ok(err == 0 && pm && pm->nr > 5, "load own maps (err=%d)", err);
	if (!pm)
		return;
	m = procmaps__find(pm, (uint64_t)(uintptr_t)&test_load_self);
	ok(m && m->perms[2] == 'x' && strstr(m->path, "test_procmaps"),
	   "own code is in an executable mapping of test_procmaps (%s)", m ? m->path : "none");
	m = procmaps__find(pm, (uint64_t)(uintptr_t)&getpid);
	ok(m && strstr(m->path, "libc"), "getpid is in libc (%s)", m ? m->path : "none");
	ok(procmaps__find_object(pm, "libc.so.6") != NULL, "find_object libc.so.6 in self");
	procmaps__free(pm);
}

int main(void)
{
	test_parse();
	test_errors();
	test_load_self();
	return done_testing();
}
