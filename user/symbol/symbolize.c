// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * symbolize.c - process addresses to source frames, with object, address
 * and name caches.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <demangle.h>

#include "symbol/dbgfetch.h"
#include "symbol/dwinfo.h"
#include "symbol/elfsym.h"
#include "util/hash.h"
#include "util/htab.h"
#include "util/log.h"
#include "util/procfs.h"
#include "symbol/symbolize.h"

/* Frames per address; deeper inlining is cut. */
#define MAX_FRAMES 64

#define DELETED_SUFFIX " (deleted)"

/* One binary: its ELF and DWARF stay open until the symbolizer is freed. */
struct sym_object {
	struct elfsym *elf; /* NULL when the file could not be opened */
	struct dwinfo *dw;
	bool dw_tried;
	int err;       /* why elf is NULL */
	bool fetching; /* its debug file is asked of debuginfod */
	unsigned gen;  /* bumped when a debug file arrives: older address entries are stale */
	struct sym_object *next;
};

/* (device, inode, path as in maps) -> object; several keys may share one object. */
struct obj_alias {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	char *path;
	struct sym_object *obj;
};

struct obj_key {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	const char *path;
};

/* Resolved frames of one link-time address of one object. */
struct addr_entry {
	const struct sym_object *obj;
	uint64_t vaddr;
	unsigned gen; /* the object's gen when resolved */
	int nr;
	struct sym_frame frames[];
};

struct addr_key {
	const struct sym_object *obj;
	uint64_t vaddr;
};

/* A raw name and its demangled form (the same pointer when not mangled). */
struct name_entry {
	char *demangled;
	char raw[];
};

/* Each cache is a table (htab.h) whose entries are pointers to what it holds. */
struct symbolizer {
	struct sym_object *objects;
	struct htab by_file;	 /* struct obj_alias * */
	struct htab by_build_id; /* struct sym_object * */
	struct htab addrs;	 /* struct addr_entry * */
	struct htab names;	 /* struct name_entry * */
	struct htab paths;	 /* char *, interned mapping paths */
	struct dbgfetch *fetch;	 /* debuginfod, or NULL */
};

/* The value a cache entry points to. */
static inline const void *val_of(const void *entry)
{
	return *(void *const *)entry;
}

static inline void *cache_find(const struct htab *h, uint64_t hash, const void *key, htab_eq_fn eq)
{
	void **e = htab__find(h, hash, key, eq);

	return e ? *e : NULL;
}

/* Adds `val`, absent (the caller looked it up), under `key`. Returns 0 or -ENOMEM. */
static inline int cache_add(struct htab *h, uint64_t hash, const void *key, htab_eq_fn eq,
			    void *val)
{
	void **e = htab__insert(h, hash, key, eq, NULL);

	if (!e)
		return -ENOMEM;
	*e = val;
	return 0;
}

/* Frees every value with free_fn (if any) and the table itself. */
static void cache_free(struct htab *h, void (*free_fn)(void *))
{
	size_t pos = 0;
	void **e;

	while (free_fn && (e = htab__next(h, &pos)))
		free_fn(*e);
	htab__release(h);
}

static uint64_t hash_obj_key(const struct obj_key *k)
{
	return mix64(hash_str(k->path) ^ mix64(k->inode) ^
		     ((uint64_t)k->dev_major << 32 | k->dev_minor));
}

static bool eq_alias(const void *entry, const void *key, const void *ctx)
{
	const struct obj_alias *a = val_of(entry);
	const struct obj_key *k = key;

	(void)ctx;
	return a->inode == k->inode && a->dev_major == k->dev_major &&
	       a->dev_minor == k->dev_minor && !strcmp(a->path, k->path);
}

static bool eq_build_id(const void *entry, const void *key, const void *ctx)
{
	const struct sym_object *o = val_of(entry);

	(void)ctx;
	return !strcmp(elfsym__build_id(o->elf), key);
}

static uint64_t hash_addr_key(const struct addr_key *k)
{
	return mix64((uint64_t)(uintptr_t)k->obj * 0x9e3779b97f4a7c15ULL ^ k->vaddr);
}

static bool eq_addr(const void *entry, const void *key, const void *ctx)
{
	const struct addr_entry *e = val_of(entry);
	const struct addr_key *k = key;

	(void)ctx;
	return e->obj == k->obj && e->vaddr == k->vaddr;
}

static bool eq_name(const void *entry, const void *key, const void *ctx)
{
	const struct name_entry *n = val_of(entry);

	(void)ctx;
	return !strcmp(n->raw, key);
}

static bool eq_path(const void *entry, const void *key, const void *ctx)
{
	(void)ctx;
	return !strcmp(val_of(entry), key);
}

static void free_alias(void *val)
{
	struct obj_alias *a = val;

	free(a->path);
	free(a);
}

static void free_name(void *val)
{
	struct name_entry *n = val;

	if (n->demangled != n->raw)
		free(n->demangled);
	free(n);
}

struct symbolizer *symbolizer__new(void)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	htab__init(&s->by_file, sizeof(void *), NULL);
	htab__init(&s->by_build_id, sizeof(void *), NULL);
	htab__init(&s->addrs, sizeof(void *), NULL);
	htab__init(&s->names, sizeof(void *), NULL);
	htab__init(&s->paths, sizeof(void *), NULL);
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	struct sym_object *o, *next;

	if (!s)
		return;
	/* First: its worker may still be fetching; nothing else is shared with it. */
	dbgfetch__free(s->fetch);
	cache_free(&s->addrs, free);
	cache_free(&s->names, free_name);
	cache_free(&s->paths, free);
	cache_free(&s->by_file, free_alias);
	cache_free(&s->by_build_id, NULL);
	for (o = s->objects; o; o = next) {
		next = o->next;
		dwinfo__free(o->dw);
		elfsym__free(o->elf);
		free(o);
	}
	free(s);
}

static bool is_mangled(const char *name)
{
	return (name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')) ||
	       (name[0] == '_' && name[1] == '_' && name[2] == 'Z');
}

/* The interned entry of a raw name, demangled on first sight. */
static struct name_entry *intern_name(struct symbolizer *s, const char *name)
{
	uint64_t hash = hash_str(name);
	struct name_entry *n = cache_find(&s->names, hash, name, eq_name);
	size_t len;

	if (n)
		return n;
	len = strlen(name);
	n = malloc(sizeof(*n) + len + 1);
	if (!n)
		return NULL;
	memcpy(n->raw, name, len + 1);
	n->demangled =
	    is_mangled(name) ? cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO) : NULL;
	if (!n->demangled)
		n->demangled = n->raw;
	if (cache_add(&s->names, hash, name, eq_name, n)) {
		free_name(n);
		return NULL;
	}
	return n;
}

int symbolizer__use_debuginfod(struct symbolizer *s, uint64_t budget_ns)
{
	if (s->fetch)
		return 0;
	return dbgfetch__new(budget_ns, &s->fetch);
}

const char *symbolizer__demangle(struct symbolizer *s, const char *name)
{
	struct name_entry *n = intern_name(s, name);

	return n ? n->demangled : NULL;
}

static const char *intern_path(struct symbolizer *s, const char *path)
{
	uint64_t hash = hash_str(path);
	char *p = cache_find(&s->paths, hash, path, eq_path);

	if (p)
		return p;
	p = strdup(path);
	if (!p)
		return NULL;
	if (cache_add(&s->paths, hash, path, eq_path, p)) {
		free(p);
		return NULL;
	}
	return p;
}

/* [vdso], [stack], [heap], anonymous memory: nothing to open. */
static bool is_special(const struct procmap *m)
{
	return m->path[0] != '/';
}

/*
 * Opens the file behind a mapping (procfs.h: through the process's root,
 * map_files, then the host) and says where its debug files are looked
 * for: in the namespace the object came from, "/proc/PID/root", unless it
 * was found on the host ("").
 */
static int open_mapped_file(pid_t pid, const struct procmap *m, const char *path, int *fd_out,
			    char *root, size_t root_size)
{
	enum procfs_via via;
	int fd = procfs__open_mapped(pid, path, m->start, m->end, m->inode, &via);

	if (fd < 0)
		return fd;
	root[0] = '\0';
	if (pid > 0 && via != PROCFS_VIA_HOST)
		procfs__root_path(pid, "", root, root_size);
	*fd_out = fd;
	return 0;
}

static int add_object(struct symbolizer *s, struct elfsym *elf, int err, struct sym_object **out)
{
	struct sym_object *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->elf = elf;
	o->err = err;
	/* Asked once per object; a failed request only means no names from a server. */
	if (s->fetch && elf && elfsym__wants_debug_file(elf))
		o->fetching = !dbgfetch__request(s->fetch, elfsym__build_id(elf));
	if (elf && elfsym__build_id(elf)[0] &&
	    cache_add(&s->by_build_id, hash_str(elfsym__build_id(elf)), elfsym__build_id(elf),
		      eq_build_id, o)) {
		free(o);
		return -ENOMEM;
	}
	o->next = s->objects;
	s->objects = o;
	*out = o;
	return 0;
}

/* The cached object of a file mapping, opened on first sight; never NULL on success. */
static int get_object(struct symbolizer *s, pid_t pid, const struct procmap *m,
		      struct sym_object **out)
{
	struct obj_key key = { m->dev_major, m->dev_minor, m->inode, m->path };
	uint64_t hash = hash_obj_key(&key);
	struct obj_alias *alias = cache_find(&s->by_file, hash, &key, eq_alias);
	struct sym_object *obj = NULL;
	struct elfsym *elf = NULL;
	char path[PATH_MAX], root[64];
	size_t len = strlen(m->path);
	int fd = -1, err, open_err;

	if (alias) {
		*out = alias->obj;
		return 0;
	}
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, m->path, len + 1);
	if (len > strlen(DELETED_SUFFIX) &&
	    !strcmp(path + len - strlen(DELETED_SUFFIX), DELETED_SUFFIX))
		path[len - strlen(DELETED_SUFFIX)] = '\0';

	open_err = open_mapped_file(pid, m, path, &fd, root, sizeof(root));
	if (!open_err)
		open_err = elfsym__open_fd(fd, root, path, &elf);
	if (open_err == -ENOMEM)
		return open_err;
	if (elf && elfsym__build_id(elf)[0]) {
		const char *bid = elfsym__build_id(elf);

		/* The same binary seen through another path, device or container. */
		obj = cache_find(&s->by_build_id, hash_str(bid), bid, eq_build_id);
		if (obj) {
			elfsym__free(elf);
			elf = NULL;
		}
	}
	if (!obj) {
		err = add_object(s, elf, open_err, &obj);
		if (err) {
			elfsym__free(elf);
			return err;
		}
	}
	/* Failures are cached too: one failed open per file, not one per address. */
	alias = calloc(1, sizeof(*alias));
	if (!alias)
		return -ENOMEM;
	alias->dev_major = m->dev_major;
	alias->dev_minor = m->dev_minor;
	alias->inode = m->inode;
	alias->obj = obj;
	alias->path = strdup(m->path);
	if (!alias->path || cache_add(&s->by_file, hash, &key, eq_alias, alias)) {
		free_alias(alias);
		return -ENOMEM;
	}
	*out = obj;
	return 0;
}

/*
 * Takes the object's debug file once debuginfod has delivered it; until
 * then (and if it never comes) the object is symbolized from what it has.
 */
static void adopt_fetched(struct symbolizer *s, struct sym_object *o)
{
	const char *path;
	int err;

	if (!o->fetching)
		return;
	err = dbgfetch__poll(s->fetch, elfsym__build_id(o->elf), &path);
	if (err == -EINPROGRESS)
		return;
	o->fetching = false;
	if (err)
		return;
	err = elfsym__add_debug_file(o->elf, path);
	if (err) {
		log_warn("debuginfod: '%s' is not a debug file of build id %s: not used", path,
			 elfsym__build_id(o->elf));
		return;
	}
	o->gen++;
	if (!o->dw)
		o->dw_tried = false;
}

static struct dwinfo *get_dwarf(struct sym_object *o)
{
	if (!o->dw_tried) {
		Elf *elf = elfsym__dwarf_elf(o->elf);

		o->dw_tried = true;
		if (elf)
			dwinfo__open(elf, &o->dw);
	}
	return o->dw;
}

int symbolizer__object(struct symbolizer *s, pid_t pid, const struct procmap *m,
		       struct sym_object_info *info)
{
	struct sym_object *o;
	uint64_t vaddr;
	int err;

	memset(info, 0, sizeof(*info));
	info->path = intern_path(s, m->path);
	if (!info->path)
		return -ENOMEM;
	info->build_id = "";
	/* Without an object, treat file offsets as addresses. */
	info->bias = m->start - m->offset;
	if (is_special(m))
		return -ENOENT;
	err = get_object(s, pid, m, &o);
	if (err)
		return err;
	if (!o->elf)
		return o->err;
	adopt_fetched(s, o);
	info->build_id = elfsym__build_id(o->elf);
	info->has_symbols = elfsym__has_symbols(o->elf);
	info->has_dwarf = get_dwarf(o) != NULL;
	if (!elfsym__offset_to_vaddr(o->elf, m->offset, &vaddr))
		info->bias = m->start - vaddr;
	return 0;
}

int symbolizer__preload(struct symbolizer *s, pid_t pid, const struct procmaps *pm)
{
	struct sym_object *o;
	size_t i;

	for (i = 0; i < pm->nr; i++) {
		const struct procmap *m = &pm->maps[i];

		/* Only code is ever looked up; data mappings of the same file share its object. */
		if (is_special(m) || m->perms[2] != 'x')
			continue;
		if (get_object(s, pid, m, &o) == -ENOMEM)
			return -ENOMEM;
	}
	return 0;
}

/* Turns the DWARF and ELF findings into a cached entry with interned names. */
static struct addr_entry *make_entry(struct symbolizer *s, struct sym_object *o, uint64_t vaddr)
{
	struct dwinfo_frame df[MAX_FRAMES];
	struct addr_entry *e;
	struct dwinfo *dw = get_dwarf(o);
	const char *sym = elfsym__lookup(o->elf, vaddr, NULL);
	int i, n = dw ? dwinfo__resolve(dw, vaddr, df, MAX_FRAMES) : 0;

	if (!n) {
		df[0] = (struct dwinfo_frame){ 0 };
		n = 1;
	}
	/* The containing function: DWARF's name, else the ELF symbol's. */
	if (!df[n - 1].name)
		df[n - 1].name = sym;
	e = malloc(sizeof(*e) + (size_t)n * sizeof(e->frames[0]));
	if (!e)
		return NULL;
	e->obj = o;
	e->vaddr = vaddr;
	e->gen = o->gen;
	e->nr = n;
	for (i = 0; i < n; i++) {
		struct sym_frame *f = &e->frames[i];

		*f = (struct sym_frame){ .file = df[i].file,
					 .line = df[i].line,
					 .start_line = df[i].start_line };
		if (df[i].name) {
			struct name_entry *name = intern_name(s, df[i].name);

			if (!name) {
				free(e);
				return NULL;
			}
			f->function = name->demangled;
			f->system_name = name->raw;
		}
	}
	return e;
}

int symbolizer__resolve(struct symbolizer *s, pid_t pid, const struct procmap *m, uint64_t addr,
			struct sym_frame *frames, int max)
{
	struct addr_key key;
	struct addr_entry *e;
	struct sym_object *o;
	void **slot;
	uint64_t vaddr, hash;
	int err;

	if (max <= 0 || addr < m->start || addr >= m->end)
		return -EINVAL;
	frames[0] = (struct sym_frame){ 0 };
	if (is_special(m))
		return 1;
	err = get_object(s, pid, m, &o);
	if (err)
		return err;
	if (!o->elf || elfsym__offset_to_vaddr(o->elf, addr - m->start + m->offset, &vaddr))
		return 1;

	adopt_fetched(s, o);
	key = (struct addr_key){ o, vaddr };
	hash = hash_addr_key(&key);
	slot = htab__find(&s->addrs, hash, &key, eq_addr);
	e = slot ? *slot : NULL;
	if (e && e->gen != o->gen) {
		/* Resolved before the debug file arrived: resolve again, in place. */
		struct addr_entry *fresh = make_entry(s, o, vaddr);

		if (!fresh)
			return -ENOMEM;
		free(e);
		e = *slot = fresh;
	}
	if (!e) {
		e = make_entry(s, o, vaddr);
		if (!e)
			return -ENOMEM;
		if (cache_add(&s->addrs, hash, &key, eq_addr, e)) {
			free(e);
			return -ENOMEM;
		}
	}
	if (max > e->nr)
		max = e->nr;
	memcpy(frames, e->frames, (size_t)max * sizeof(*frames));
	return max;
}
