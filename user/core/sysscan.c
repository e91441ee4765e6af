// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "probe/allocator.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/log.h"
#include "util/vec.h"
#include "symbol/procmaps.h"
#include "core/sysscan.h"

/* One attached site of an object: the same offset never gets a second probe. */
struct probed_site {
	uint64_t file_offset;
	enum ht_entry entry;
};

struct probed_object {
	dev_t dev;
	ino_t ino;
	struct probed_site *sites;
	size_t nr_sites, cap_sites;
	bool failed; /* an attach failed: said once, not retried */
};

struct sysscan {
	struct loader *loader;
	bool probe_at_entry;
	pid_t self;
	struct probed_object *objects;
	size_t nr_objects;
	struct htab object_index; /* (dev, ino) -> uint32_t index into objects; ctx: ss */
	size_t nr_probes;
	struct htab images; /* uint64_t hashes of the sets of mapped executable files planned */
};

static bool object_eq(const void *entry, const void *key, const void *ctx)
{
	const struct sysscan *ss = ctx;
	const struct probed_object *o = &ss->objects[*(const uint32_t *)entry];
	const struct stat *st = key;

	return o->dev == st->st_dev && o->ino == st->st_ino;
}

static bool image_eq(const void *entry, const void *key, const void *ctx)
{
	(void)ctx;
	return *(const uint64_t *)entry == *(const uint64_t *)key;
}

/*
 * The set of executable files a process maps, as one hash. Order-free (a
 * sum of per-file hashes), since address order changes with ASLR.
 */
static uint64_t image_hash(const struct procmaps *pm)
{
	uint64_t h = 0;
	size_t i;

	for (i = 0; i < pm->nr; i++) {
		const struct procmap *m = &pm->maps[i];

		if (!m->inode || m->perms[2] != 'x')
			continue;
		h += mix64(((uint64_t)m->dev_major << 40) ^ ((uint64_t)m->dev_minor << 20) ^
			   mix64(m->inode));
	}
	return h;
}

static bool image_seen(struct sysscan *ss, uint64_t h)
{
	return htab__find(&ss->images, mix64(h), &h, image_eq) != NULL;
}

/* Past the bound, or out of memory, the set is simply planned again next time. */
static void remember_image(struct sysscan *ss, uint64_t h)
{
	uint64_t *e;

	if (htab__count(&ss->images) >= SYSSCAN_MAX_IMAGES)
		return;
	e = htab__insert(&ss->images, mix64(h), &h, image_eq, NULL);
	if (e)
		*e = h;
}

static uint64_t object_hash(const struct stat *st)
{
	return mix64(mix64((uint64_t)st->st_dev) ^ (uint64_t)st->st_ino);
}

/* The record of the object at (dev, ino), new when first seen; NULL past the bound. */
static struct probed_object *find_object(struct sysscan *ss, const struct stat *st)
{
	struct probed_object *o;
	uint32_t *e;
	bool found;

	if (ss->nr_objects == SYSSCAN_MAX_OBJECTS) {
		e = htab__find(&ss->object_index, object_hash(st), st, object_eq);
		return e ? &ss->objects[*e] : NULL;
	}
	e = htab__insert(&ss->object_index, object_hash(st), st, object_eq, &found);
	if (!e)
		return NULL;
	if (found)
		return &ss->objects[*e];
	*e = (uint32_t)ss->nr_objects;
	o = &ss->objects[ss->nr_objects++];
	memset(o, 0, sizeof(*o));
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	return o;
}

static bool site_probed(const struct probed_object *o, const struct alloc_site *s)
{
	size_t i;

	for (i = 0; i < o->nr_sites; i++)
		if (o->sites[i].file_offset == s->file_offset && o->sites[i].entry == s->entry)
			return true;
	return false;
}

/* Attaches, for every process, the sites of one planned object not probed yet. */
static int probe_object(struct sysscan *ss, pid_t pid, const struct alloc_object_plan *op)
{
	struct probed_object *o;
	struct stat st;
	size_t i;
	int added = 0, n;

	if (stat(op->path, &st))
		return 0; /* the process went away: the object is seen again elsewhere */
	o = find_object(ss, &st);
	if (!o || o->failed)
		return 0;
	for (i = 0; i < op->nr_sites; i++) {
		const struct alloc_site *s = &op->sites[i];

		if (site_probed(o, s))
			continue;
		if (VEC_RESERVE(o->sites, o->cap_sites, o->nr_sites + 1))
			return -ENOMEM;
		n = loader__attach_sites(ss->loader, -1, op->path, s, 1, NULL);
		if (n < 0) {
			log_warn("cannot probe %s in '%s' (seen in pid %d) for every process: %s; "
				 "its processes are not traced (run with -v for detail)",
				 s->symbol, op->shown, pid, strerror(-n));
			o->failed = true;
			return added;
		}
		o->sites[o->nr_sites++] = (struct probed_site){ s->file_offset, s->entry };
		added += n;
	}
	if (added)
		log_info("probing '%s' (%s allocator, seen in pid %d) in every process: %d probes",
			 op->shown, op->allocator, pid, added);
	ss->nr_probes += (size_t)added;
	return added;
}

int sysscan__scan_pid(struct sysscan *ss, pid_t pid)
{
	struct alloc_plan *plan = NULL;
	struct procmaps *pm = NULL;
	int err, added = 0;
	uint64_t h;
	size_t i;

	if (pid == ss->self)
		return 0;
	/* Kernel threads and processes that are gone map nothing: nothing to probe. */
	if (procmaps__load(pid, &pm) || pm->nr == 0)
		goto cleanup;
	h = image_hash(pm);
	if (image_seen(ss, h))
		goto cleanup;
	err = allocator__plan(pid, pm, ss->probe_at_entry, &plan);
	if (err == -ESRCH)
		goto cleanup;
	/* No allocator (a stripped static binary): remembered, so it is not planned again. */
	remember_image(ss, h);
	if (err) {
		log_debug("pid %d: no allocator to probe: %s", pid, strerror(-err));
		goto cleanup;
	}
	for (i = 0; i < plan->nr; i++) {
		err = probe_object(ss, pid, &plan->objects[i]);
		if (err < 0) {
			added = err;
			goto cleanup;
		}
		added += err;
	}
cleanup:
	allocator__plan_free(plan);
	procmaps__free(pm);
	return added;
}

int sysscan__scan(struct sysscan *ss)
{
	struct dirent *de;
	int total = 0, n;
	DIR *d;

	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		char *end;
		long pid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		n = sysscan__scan_pid(ss, (pid_t)pid);
		if (n < 0) {
			total = n;
			break;
		}
		total += n;
	}
	closedir(d);
	return total;
}

int sysscan__new(struct loader *l, bool probe_at_entry, pid_t self, struct sysscan **out)
{
	struct sysscan *ss = calloc(1, sizeof(*ss));

	if (!ss)
		return -ENOMEM;
	ss->loader = l;
	ss->probe_at_entry = probe_at_entry;
	ss->self = self;
	htab__init(&ss->object_index, sizeof(uint32_t), ss);
	htab__init(&ss->images, sizeof(uint64_t), NULL);
	ss->objects = calloc(SYSSCAN_MAX_OBJECTS, sizeof(*ss->objects));
	if (!ss->objects) {
		sysscan__free(ss);
		return -ENOMEM;
	}
	*out = ss;
	return 0;
}

size_t sysscan__nr_objects(const struct sysscan *ss)
{
	size_t i, n = 0;

	for (i = 0; i < ss->nr_objects; i++)
		n += ss->objects[i].nr_sites > 0;
	return n;
}

size_t sysscan__nr_probes(const struct sysscan *ss)
{
	return ss->nr_probes;
}

void sysscan__forget(struct sysscan *ss)
{
	size_t i;

	for (i = 0; i < ss->nr_objects; i++)
		free(ss->objects[i].sites);
	ss->nr_objects = 0;
	htab__clear(&ss->object_index);
	htab__clear(&ss->images);
	ss->nr_probes = 0;
}

void sysscan__free(struct sysscan *ss)
{
	size_t i;

	if (!ss)
		return;
	for (i = 0; i < ss->nr_objects; i++)
		free(ss->objects[i].sites);
	free(ss->objects);
	htab__release(&ss->object_index);
	htab__release(&ss->images);
	free(ss);
}
