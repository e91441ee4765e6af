// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * test_plancache.c - probe plans reused for processes with the same file
 * mappings: which processes match, and the /proc/PID/ paths of the copy.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "probe/plancache.h"
#include "tap.h"

static const char parent_maps[] =
    "55d0c6a00000-55d0c6a02000 r-xp 00000000 08:01 1311      /usr/bin/storm\n"
    "55d0c7000000-55d0c7021000 rw-p 00000000 00:00 0         [heap]\n"
    "7f1000100000-7f1000128000 r--p 00000000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7f1000128000-7f100029d000 r-xp 00028000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0         [stack]\n";

/* A forked child: the same files, its heap grown. */
static const char child_maps[] =
    "55d0c6a00000-55d0c6a02000 r-xp 00000000 08:01 1311      /usr/bin/storm\n"
    "55d0c7000000-55d0c7042000 rw-p 00000000 00:00 0         [heap]\n"
    "7f1000100000-7f1000128000 r--p 00000000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7f1000128000-7f100029d000 r-xp 00028000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7f1000300000-7f1000400000 rw-p 00000000 00:00 0 \n"
    "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0         [stack]\n";

/* Another process of the same program: its libc elsewhere (ASLR). */
static const char other_maps[] =
    "55d0c6a00000-55d0c6a02000 r-xp 00000000 08:01 1311      /usr/bin/storm\n"
    "7f2000100000-7f2000128000 r--p 00000000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7f2000128000-7f200029d000 r-xp 00028000 fd:02 2000      /usr/lib/libc.so.6\n";

/* The child after a dlopen: one file more. */
static const char dlopen_maps[] =
    "55d0c6a00000-55d0c6a02000 r-xp 00000000 08:01 1311      /usr/bin/storm\n"
    "7f1000100000-7f1000128000 r--p 00000000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7f1000128000-7f100029d000 r-xp 00028000 fd:02 2000      /usr/lib/libc.so.6\n"
    "7f1000500000-7f1000501000 r-xp 00000000 08:01 4000      /usr/lib/libjemalloc.so.2\n";

static struct alloc_plan *make_plan(void)
{
	struct alloc_plan *p = calloc(1, sizeof(*p));

	p->allocator = "glibc";
	p->nr = 2;
	p->objects = calloc(2, sizeof(*p->objects));
	p->objects[0].path = strdup("/proc/100/root/usr/lib/libc.so.6");
	p->objects[0].shown = strdup("/usr/lib/libc.so.6");
	p->objects[0].allocator = "glibc";
	p->objects[0].nr_sites = 2;
	p->objects[0].sites = calloc(2, sizeof(struct alloc_site));
	p->objects[0].sites[0] = (struct alloc_site){ .symbol = "malloc", .file_offset = 0x9a0e4 };
	p->objects[0].sites[1] = (struct alloc_site){ .symbol = "free", .file_offset = 0x9a700 };
	/* A path that names no /proc/PID/ is kept as it is. */
	p->objects[1].path = strdup("/usr/lib/libstdc++.so.6");
	p->objects[1].shown = strdup("/usr/lib/libstdc++.so.6");
	p->objects[1].sites = calloc(1, sizeof(struct alloc_site));
	return p;
}

static struct procmaps *parse(const char *text, pid_t pid)
{
	struct procmaps *pm = NULL;

	return procmaps__parse(text, pid, &pm) ? NULL : pm;
}

static void test_copy(void)
{
	struct alloc_plan *p = make_plan(), *c = plancache__copy(p, 100, 4321);

	ok(c && c->nr == 2, "a copy has every object");
	ok(c && !strcmp(c->objects[0].path, "/proc/4321/root/usr/lib/libc.so.6"),
	   "its /proc/PID/ paths name the new process (%s)", c ? c->objects[0].path : "-");
	ok(c && !strcmp(c->objects[1].path, "/usr/lib/libstdc++.so.6"), "other paths stay");
	ok(c && c->objects[0].nr_sites == 2 && c->objects[0].sites[0].file_offset == 0x9a0e4 &&
	       !strcmp(c->objects[0].sites[1].symbol, "free"),
	   "its sites are the plan's");
	/* /proc/10/ is not a prefix of /proc/100/. */
	allocator__plan_free(c);
	c = plancache__copy(p, 10, 11);
	ok(c && !strcmp(c->objects[0].path, "/proc/100/root/usr/lib/libc.so.6"),
	   "a PID that is only a prefix of another is not replaced");
	allocator__plan_free(c);
	allocator__plan_free(p);
}

static void test_find(void)
{
	struct plan_cache *c = plancache__new();
	struct procmaps *parent = parse(parent_maps, 100), *child = parse(child_maps, 101),
			*other = parse(other_maps, 102), *dl = parse(dlopen_maps, 101);
	struct alloc_plan *p = make_plan(), *hit = NULL;

	ok(c && parent && child && other && dl, "set up");
	ok(plancache__find(c, 101, child, false, &hit) == -ENOENT, "an empty cache has nothing");
	ok(plancache__add(c, 100, parent, false, p) == 0, "the parent's plan is kept");
	ok(plancache__find(c, 101, child, false, &hit) == 0 && hit &&
	       !strcmp(hit->objects[0].path, "/proc/101/root/usr/lib/libc.so.6"),
	   "a child with the same files gets it, with its own paths");
	allocator__plan_free(hit);
	hit = NULL;
	ok(plancache__find(c, 101, child, true, &hit) == -ENOENT,
	   "not for --probe-at-entry: another placement");
	ok(plancache__find(c, 102, other, false, &hit) == -ENOENT,
	   "not for files mapped elsewhere");
	ok(plancache__find(c, 101, dl, false, &hit) == -ENOENT, "not with one more file mapped");
	allocator__plan_free(p);
	procmaps__free(parent);
	procmaps__free(child);
	procmaps__free(other);
	procmaps__free(dl);
	plancache__free(c);
}

int main(void)
{
	test_copy();
	test_find();
	return done_testing();
}
