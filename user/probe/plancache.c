/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe/plancache.h"

/* A fork storm has one parent image; a few more cover a service's workers of several kinds. */
#define PLAN_CACHE_SLOTS 8

struct file_map {
	uint64_t start, end, offset, inode;
	uint32_t dev_major, dev_minor;
	char *path;
};

struct cached_plan {
	struct alloc_plan *plan; /* NULL: the slot is free */
	pid_t pid;		 /* whose /proc/PID/ its paths name */
	bool at_entry;
	struct file_map *maps;
	size_t nr_maps;
};

struct plan_cache {
	struct cached_plan slots[PLAN_CACHE_SLOTS];
	unsigned next; /* the slot the next plan goes into: the oldest */
};

static bool is_file_map(const struct procmap *m)
{
	return m->inode && m->path && m->path[0] == '/';
}

static bool same_map(const struct file_map *f, const struct procmap *m)
{
	return f->start == m->start && f->end == m->end && f->offset == m->offset &&
	       f->inode == m->inode && f->dev_major == m->dev_major &&
	       f->dev_minor == m->dev_minor && !strcmp(f->path, m->path);
}

/* Whether `pm`'s file mappings are `e`'s, in the same order. */
static bool same_files(const struct cached_plan *e, const struct procmaps *pm)
{
	size_t i, k = 0;

	for (i = 0; i < pm->nr; i++) {
		if (!is_file_map(&pm->maps[i]))
			continue;
		if (k == e->nr_maps || !same_map(&e->maps[k], &pm->maps[i]))
			return false;
		k++;
	}
	return k == e->nr_maps;
}

static void slot_clear(struct cached_plan *e)
{
	size_t i;

	allocator__plan_free(e->plan);
	for (i = 0; i < e->nr_maps; i++)
		free(e->maps[i].path);
	free(e->maps);
	memset(e, 0, sizeof(*e));
}

struct plan_cache *plancache__new(void)
{
	return calloc(1, sizeof(struct plan_cache));
}

void plancache__free(struct plan_cache *c)
{
	unsigned i;

	if (!c)
		return;
	for (i = 0; i < PLAN_CACHE_SLOTS; i++)
		slot_clear(&c->slots[i]);
	free(c);
}

/* `path` with a leading /proc/FROM/ turned into /proc/TO/; a copy either way. */
static char *repath(const char *path, pid_t from, pid_t to)
{
	char prefix[32], *out;
	size_t n;

	n = (size_t)snprintf(prefix, sizeof(prefix), "/proc/%d/", from);
	if (strncmp(path, prefix, n))
		return strdup(path);
	out = malloc(strlen(path) + 32);
	if (out)
		sprintf(out, "/proc/%d/%s", to, path + n);
	return out;
}

static int copy_object(const struct alloc_object_plan *src, pid_t from, pid_t to,
		       struct alloc_object_plan *dst)
{
	dst->allocator = src->allocator;
	dst->path = repath(src->path, from, to);
	dst->shown = strdup(src->shown);
	dst->sites = malloc((src->nr_sites ? src->nr_sites : 1) * sizeof(*dst->sites));
	if (!dst->path || !dst->shown || !dst->sites)
		return -ENOMEM;
	memcpy(dst->sites, src->sites, src->nr_sites * sizeof(*dst->sites));
	dst->nr_sites = src->nr_sites;
	return 0;
}

struct alloc_plan *plancache__copy(const struct alloc_plan *plan, pid_t from, pid_t to)
{
	struct alloc_plan *out = calloc(1, sizeof(*out));
	size_t i;

	if (!out)
		return NULL;
	out->allocator = plan->allocator;
	out->objects = calloc(plan->nr ? plan->nr : 1, sizeof(*out->objects));
	if (!out->objects)
		goto fail;
	for (i = 0; i < plan->nr; i++) {
		/* Counted first, so that a half-made copy frees what it holds. */
		out->nr++;
		if (copy_object(&plan->objects[i], from, to, &out->objects[i]))
			goto fail;
	}
	return out;
fail:
	allocator__plan_free(out);
	return NULL;
}

int plancache__find(struct plan_cache *c, pid_t pid, const struct procmaps *pm, bool at_entry,
		    struct alloc_plan **out)
{
	unsigned i;

	for (i = 0; i < PLAN_CACHE_SLOTS; i++) {
		const struct cached_plan *e = &c->slots[i];

		if (!e->plan || e->at_entry != at_entry || !same_files(e, pm))
			continue;
		*out = plancache__copy(e->plan, e->pid, pid);
		return *out ? 0 : -ENOMEM;
	}
	return -ENOENT;
}

int plancache__add(struct plan_cache *c, pid_t pid, const struct procmaps *pm, bool at_entry,
		   const struct alloc_plan *plan)
{
	struct cached_plan *e = &c->slots[c->next];
	size_t i, n = 0;

	slot_clear(e);
	for (i = 0; i < pm->nr; i++)
		n += is_file_map(&pm->maps[i]);
	e->maps = calloc(n ? n : 1, sizeof(*e->maps));
	if (!e->maps)
		return -ENOMEM;
	for (i = 0; i < pm->nr; i++) {
		const struct procmap *m = &pm->maps[i];
		struct file_map *f = &e->maps[e->nr_maps];

		if (!is_file_map(m))
			continue;
		*f = (struct file_map){ .start = m->start,
					.end = m->end,
					.offset = m->offset,
					.inode = m->inode,
					.dev_major = m->dev_major,
					.dev_minor = m->dev_minor,
					.path = strdup(m->path) };
		e->nr_maps++;
		if (!f->path)
			goto nomem;
	}
	e->plan = plancache__copy(plan, pid, pid);
	if (!e->plan)
		goto nomem;
	e->pid = pid;
	e->at_entry = at_entry;
	c->next = (c->next + 1) % PLAN_CACHE_SLOTS;
	return 0;
nomem:
	slot_clear(e);
	return -ENOMEM;
}
